//! Background responses over real HTTP and a real Redis: queued → completed, router
//! background runs, the store requirement, cancel (here, twice, finished, foreground, from
//! another replica), resumable streams, orphaned runs, shutdown and a Redis that is down.
//! Deletes, the running-run and stream-follower caps and the configured lease timing have
//! modules of their own, which share the helpers here.

mod cap;
mod delete;
mod followers;
mod timing;

use std::time::{Duration, Instant};

use crate::common::{client, error_of, output_text, parse_sse, post, start};
use routewise_gateway::RunningGateway;
use routewise_testkit::RedisServer;
use serde_json::{Value, json};

/// `fast` answers in milliseconds; `slow` streams about 60 tokens/s (a few hundred ms per
/// answer); `crawl` takes seconds, so a cancel lands mid-answer.
fn config(redis_url: &str, server: &str) -> String {
    format!(
        "[server]
{server}

[store]
redis_url = \"{redis_url}\"

[[deployments]]
name = \"fast\"
upstream = {{ kind = \"emulator\", ttft_ms = 1, tokens_per_second = 1000000 }}

[[deployments]]
name = \"slow\"
upstream = {{ kind = \"emulator\", ttft_ms = 10, tokens_per_second = 60 }}

[[deployments]]
name = \"crawl\"
upstream = {{ kind = \"emulator\", ttft_ms = 10, tokens_per_second = 15 }}
"
    )
}

async fn gateway(redis: &RedisServer) -> RunningGateway {
    start(&config(&redis.url(), "")).await
}

/// A gateway like [`gateway`]'s, with these `[background]` keys.
async fn gateway_with_background(redis: &RedisServer, background: &str) -> RunningGateway {
    start(&format!(
        "{}\n[background]\n{background}\n",
        config(&redis.url(), "")
    ))
    .await
}

async fn submit(gw: &RunningGateway, body: Value) -> Value {
    let resp = post(gw, &body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn get(gw: &RunningGateway, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", gw.base_url()))
        .send()
        .await
        .expect("request sent")
}

async fn retrieve(gw: &RunningGateway, id: &str) -> Value {
    let resp = get(gw, &format!("/responses/{id}")).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn cancel(gw: &RunningGateway, id: &str) -> reqwest::Response {
    client()
        .post(format!("{}/responses/{id}/cancel", gw.base_url()))
        .send()
        .await
        .expect("request sent")
}

/// Polls `GET /responses/{id}` every 10 ms until `done` holds (5 s at most).
async fn poll(gw: &RunningGateway, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = retrieve(gw, id).await;
        if done(&r) {
            return r;
        }
        assert!(Instant::now() < deadline, "still {}: {r}", r["status"]);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn status(r: &Value) -> &str {
    r["status"].as_str().unwrap_or_default()
}

use crate::common::metric;

/// Waits until this process runs no background task (2 s at most); how long it took.
async fn idle(gw: &RunningGateway) -> Duration {
    let started = Instant::now();
    while metric(gw, "routewise_background_running", &[]).await > 0.0 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a background task is still running"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// Reads a live SSE body event by event.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    fn new(resp: reqwest::Response) -> Self {
        assert_eq!(resp.status(), 200);
        Self {
            resp,
            buf: String::new(),
        }
    }

    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                return parse_sse(&block).pop();
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.resp.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()?;
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn rest(mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Some(ev) = self.next().await {
            out.push(ev);
        }
        out
    }
}

/// Starts a streamed background response and reads it up to its first text delta; returns
/// the live stream and the response id.
async fn streaming_until_first_delta(
    gw: &RunningGateway,
    model: &str,
    input: &str,
) -> (Events, String) {
    let body = json!({"model": model, "input": input, "background": true, "stream": true});
    let mut live = Events::new(post(gw, &body).await);
    let (_, created) = live.next().await.unwrap();
    let id = created["response"]["id"].as_str().unwrap().to_owned();
    let mut seen = vec![live.next().await.unwrap()];
    while deltas(&seen).is_empty() {
        seen.push(live.next().await.unwrap());
    }
    (live, id)
}

/// A plain connection to the test's Redis, to play another replica behind the gateway's back.
fn connect(redis: &RedisServer) -> redis::Connection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// True when `key` exists in the test's Redis.
fn redis_has(redis: &RedisServer, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query(&mut connect(redis))
        .unwrap()
}

fn seqs(events: &[(String, Value)]) -> Vec<u64> {
    events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().expect("a sequence number"))
        .collect()
}

fn deltas(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(t, _)| t == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_background_response_is_queued_then_completes() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "slow", "input": "Name three primes.", "background": true, "metadata": {"job": "7"}}),
    )
    .await;
    let id = queued["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("resp_"), "{id}");
    assert_eq!(queued["object"], "response");
    assert_eq!(status(&queued), "queued");
    assert_eq!(queued["background"], true);
    assert_eq!(queued["model"], "slow");
    assert_eq!(queued["output"], json!([]));
    assert_eq!(queued["usage"], Value::Null);
    assert_eq!(queued["metadata"], json!({"job": "7"}));

    // Right away, GET knows it (queued or already running), under the same id.
    let early = retrieve(&gw, &id).await;
    assert!(
        matches!(status(&early), "queued" | "in_progress"),
        "{early}"
    );

    let done = poll(&gw, &id, |r| status(r) == "completed").await;
    assert_eq!(done["id"], id);
    assert_eq!(done["background"], true);
    assert!(output_text(&done).starts_with("[emulated slow]"), "{done}");
    assert!(done["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(done["metadata"], json!({"job": "7"}));
    let items: Value = get(&gw, &format!("/responses/{id}/input_items"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(items["data"][0]["content"][0]["text"], "Name three primes.");

    // The run is counted once, with its tokens, against the deployment that served it.
    idle(&gw).await;
    let requests = metric(&gw, "routewise_requests_total", &["deployment=\"slow\""]).await;
    assert_eq!(requests, 1.0);
    let tokens = metric(&gw, "routewise_tokens_total", &["deployment=\"slow\""]).await;
    assert!(tokens > 0.0);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_follow_up_to_an_unfinished_background_response_is_refused_until_it_completes() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "crawl", "input": "Name three primes.", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap().to_owned();
    let follow_up = json!({"model": "fast", "input": "And two more?", "previous_response_id": id});
    // Before, this was answered from the first turn's input alone: the answer still being
    // written was silently missing from the conversation.
    let err = error_of(post(&gw, &follow_up).await, 400).await;
    assert_eq!(err["code"], "previous_response_not_completed", "{err}");
    assert_eq!(err["param"], "previous_response_id", "{err}");
    assert!(err["message"].as_str().unwrap().contains(&id), "{err}");
    poll(&gw, &id, |r| status(r) == "completed").await;
    let resp = post(&gw, &follow_up).await;
    assert_eq!(resp.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_routed_background_response_reports_the_served_model() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "model-router", "input": "What is 2 + 2?", "background": true}),
    )
    .await;
    assert_eq!(queued["model"], "model-router");
    let id = queued["id"].as_str().unwrap();
    let done = poll(&gw, id, |r| status(r) == "completed").await;
    let served = done["model"].as_str().unwrap();
    assert!(
        ["fast", "slow", "crawl"].contains(&served),
        "served by {served}"
    );
    assert_eq!(done["id"], id);
    gw.shutdown().await;
}

#[tokio::test]
async fn background_needs_a_store_and_store_not_false() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let resp = post(
        &gw,
        &json!({"model": "fast", "input": "hi", "background": true, "store": false}),
    )
    .await;
    let err = error_of(resp, 400).await;
    assert_eq!(err["param"], "background");
    assert_eq!(err["code"], "unsupported_parameter");
    assert_eq!(
        err["message"],
        "Background responses require store to be enabled."
    );
    gw.shutdown().await;

    let bare = start(
        "[[deployments]]\nname = \"fast\"\nupstream = { kind = \"emulator\", ttft_ms = 1 }\n",
    )
    .await;
    let resp = post(
        &bare,
        &json!({"model": "fast", "input": "hi", "background": true}),
    )
    .await;
    let err = error_of(resp, 400).await;
    assert_eq!(err["param"], "background");
    assert!(err["message"].as_str().unwrap().contains("[store]"));
    bare.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_a_running_response_and_is_idempotent() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "crawl", "input": "Explain the history of the printing press.", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    poll(&gw, id, |r| status(r) == "in_progress").await;
    assert_eq!(metric(&gw, "routewise_background_running", &[]).await, 1.0);

    let resp = cancel(&gw, id).await;
    assert_eq!(resp.status(), 200);
    let cancelled: Value = resp.json().await.unwrap();
    assert_eq!(status(&cancelled), "cancelled");
    assert_eq!(cancelled["id"], id);
    assert_eq!(cancelled["output"], json!([]));
    // The run (and with it the upstream call, seconds from done) stops at once.
    let took = idle(&gw).await;
    assert!(
        took < Duration::from_secs(1),
        "the run took {took:?} to stop"
    );

    let again = cancel(&gw, id).await;
    assert_eq!(again.status(), 200);
    assert_eq!(status(&again.json::<Value>().await.unwrap()), "cancelled");
    assert_eq!(status(&retrieve(&gw, id).await), "cancelled");
    let runs = metric(&gw, "routewise_requests_total", &["deployment=\"crawl\""]).await;
    assert_eq!(runs, 1.0);
    gw.shutdown().await;
}

#[tokio::test]
async fn finished_foreground_and_unknown_responses_cannot_be_cancelled() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "fast", "input": "hi", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    let done = poll(&gw, id, |r| status(r) == "completed").await;
    let err = error_of(cancel(&gw, id).await, 400).await;
    assert_eq!(err["message"], "Cannot cancel a completed response.");
    assert_eq!(
        retrieve(&gw, id).await,
        done,
        "a refused cancel changes nothing"
    );

    let foreground = submit(&gw, json!({"model": "fast", "input": "hi"})).await;
    let fid = foreground["id"].as_str().unwrap();
    // Every API root has the route.
    let resp = client()
        .post(format!(
            "{}/api/projects/p/openai/v1/responses/{fid}/cancel",
            gw.endpoint()
        ))
        .send()
        .await
        .unwrap();
    let err = error_of(resp, 400).await;
    assert_eq!(err["message"], "Cannot cancel a synchronous response.");
    let resp = client()
        .post(format!("{}/v1/responses/resp_nope/cancel", gw.endpoint()))
        .send()
        .await
        .unwrap();
    let err = error_of(resp, 404).await;
    assert_eq!(err["code"], "response_not_found");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_cancel_taken_by_another_replica_stops_the_run() {
    let redis = RedisServer::start();
    let a = gateway(&redis).await;
    let b = gateway(&redis).await;
    let queued = submit(
        &a,
        json!({"model": "crawl", "input": "Explain the history of the printing press.", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    poll(&b, id, |r| status(r) == "in_progress").await;
    let resp = cancel(&b, id).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(status(&resp.json::<Value>().await.unwrap()), "cancelled");
    // Replica A sees the flag at its next lease tick and stops its upstream call.
    let took = idle(&a).await;
    assert!(
        took < Duration::from_secs(1),
        "the run took {took:?} to stop"
    );
    assert_eq!(status(&retrieve(&a, id).await), "cancelled");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_background_stream_resumes_where_the_client_left_and_runs_without_it() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let resp = post(
        &gw,
        &json!({"model": "slow", "input": "Describe the water cycle.", "background": true, "stream": true}),
    )
    .await;
    let mut live = Events::new(resp);
    let (ty, created) = live.next().await.unwrap();
    assert_eq!(ty, "response.created");
    assert_eq!(created["sequence_number"], 0);
    assert_eq!(status(&created["response"]), "queued");
    let id = created["response"]["id"].as_str().unwrap().to_owned();
    let mut first = vec![(ty, created)];
    while deltas(&first).split_whitespace().count() < 3 {
        first.push(live.next().await.unwrap());
    }
    assert_eq!(first[1].0, "response.queued");
    drop(live); // the client goes away mid-answer
    let last = *seqs(&first).last().unwrap();
    assert_eq!(seqs(&first), (0..=last).collect::<Vec<_>>());

    // A new connection picks up exactly after the last event seen, follows the live
    // remainder and ends with the terminal event.
    let resumed = Events::new(
        get(
            &gw,
            &format!("/responses/{id}?stream=true&starting_after={last}"),
        )
        .await,
    )
    .rest()
    .await;
    assert_eq!(
        seqs(&resumed),
        (last + 1..=last + resumed.len() as u64).collect::<Vec<_>>()
    );
    let (end, terminal) = resumed.last().unwrap();
    assert_eq!(end, "response.completed");
    assert_eq!(terminal["response"]["id"], id);

    // The run finished without its client, and the stored answer is the streamed one.
    let done = poll(&gw, &id, |r| status(r) == "completed").await;
    let text = format!("{}{}", deltas(&first), deltas(&resumed));
    assert_eq!(output_text(&done), text);

    // Replaying from the start gives the same events, in order.
    let all = Events::new(get(&gw, &format!("/responses/{id}?stream=true")).await)
        .rest()
        .await;
    let seen: Vec<&str> = first
        .iter()
        .chain(&resumed)
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(
        all.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        seen
    );
    // Past the end: nothing more to send.
    let past = Events::new(
        get(
            &gw,
            &format!("/responses/{id}?stream=true&starting_after={}", last + 1000),
        )
        .await,
    )
    .rest()
    .await;
    assert!(past.is_empty(), "{past:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn only_background_streams_can_be_replayed() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let foreground = submit(&gw, json!({"model": "fast", "input": "hi"})).await;
    let fid = foreground["id"].as_str().unwrap();
    let err = error_of(
        get(&gw, &format!("/responses/{fid}?stream=true")).await,
        400,
    )
    .await;
    assert_eq!(
        err["message"],
        "This response cannot be streamed because it was not created with background=true."
    );
    assert_eq!(err["param"], "stream");
    let queued = submit(
        &gw,
        json!({"model": "fast", "input": "hi", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    poll(&gw, id, |r| status(r) == "completed").await;
    let err = error_of(get(&gw, &format!("/responses/{id}?stream=true")).await, 400).await;
    assert!(err["message"].as_str().unwrap().contains("stream=true"));
    let err = error_of(
        get(
            &gw,
            &format!("/responses/{id}?stream=true&starting_after=x"),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "starting_after");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_response_whose_gateway_died_is_reported_failed() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    // What a replica that died mid-run leaves behind: a running record and no lease.
    let id = "resp_0123456789abcdef0123456789abcdef0123456789abcdef";
    let record = json!({
        "response": {"id": id, "object": "response", "status": "in_progress", "background": true,
                      "model": "slow", "output": [], "usage": null, "error": null},
        "input_items": [],
    });
    let mut conn = connect(&redis);
    redis::cmd("SET")
        .arg(format!("routewise:response:{id}"))
        .arg(record.to_string())
        .query::<()>(&mut conn)
        .unwrap();

    let got = retrieve(&gw, id).await;
    assert_eq!(status(&got), "failed");
    assert_eq!(got["error"]["code"], "server_error");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stopped")
    );
    let raw: String = redis::cmd("GET")
        .arg(format!("routewise:response:{id}"))
        .query(&mut conn)
        .unwrap();
    let stored: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(stored["response"]["status"], "failed", "persisted");
    let err = error_of(cancel(&gw, id).await, 400).await;
    assert_eq!(err["message"], "Cannot cancel a failed response.");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_follow_up_finds_an_orphaned_run_failed_not_still_running() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    // A replica died mid-run; nobody has read the response since, so it still says running.
    let id = "resp_fedcba9876543210fedcba9876543210fedcba9876543210";
    let record = json!({
        "response": {"id": id, "object": "response", "status": "in_progress", "background": true,
                      "model": "slow", "output": [], "usage": null, "error": null},
        "input_items": [],
    });
    redis::cmd("SET")
        .arg(format!("routewise:response:{id}"))
        .arg(record.to_string())
        .query::<()>(&mut connect(&redis))
        .unwrap();
    // Refusing it as "still in progress" would refuse it for good: it will never finish.
    let resp = post(
        &gw,
        &json!({"model": "fast", "input": "Again?", "previous_response_id": id}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(status(&retrieve(&gw, id).await), "failed");
    gw.shutdown().await;
}

#[tokio::test]
async fn shutdown_marks_unfinished_background_responses_failed() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url(), "shutdown_grace_ms = 100")).await;
    let other = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "crawl", "input": "Explain the history of the printing press.", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    poll(&gw, id, |r| status(r) == "in_progress").await;
    gw.shutdown().await;
    let got = retrieve(&other, id).await;
    assert_eq!(status(&got), "failed");
    assert!(
        got["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shut down"),
        "{got}"
    );
    other.shutdown().await;
}

#[tokio::test]
async fn redis_down_at_submission_is_a_503() {
    let down = routewise_testkit::redis::DeadRedis::new();
    let url = down.url();
    let gw = start(&config(&url, "")).await;
    let resp = post(
        &gw,
        &json!({"model": "fast", "input": "hi", "background": true}),
    )
    .await;
    let err = error_of(resp, 503).await;
    assert_eq!(err["code"], "store_unavailable");
    idle(&gw).await;
    gw.shutdown().await;
}

/// Rewrites the stored record of `id` as a canceller on a replica whose flag the run has not
/// seen yet leaves it: `cancelled`, no output.
fn mark_cancelled_behind_the_runs_back(redis: &RedisServer, id: &str) {
    let mut conn = connect(redis);
    let key = format!("routewise:response:{id}");
    let raw: String = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
    let mut doc: Value = serde_json::from_str(&raw).unwrap();
    doc["response"]["status"] = json!("cancelled");
    doc["response"]["output"] = json!([]);
    redis::cmd("SET")
        .arg(&key)
        .arg(doc.to_string())
        .query::<()>(&mut conn)
        .unwrap();
}

#[tokio::test]
async fn a_cancel_stored_before_a_late_answer_wins_on_the_stream_too() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let (live, id) = streaming_until_first_delta(&gw, "slow", "Describe the water cycle.").await;
    // The cancel is stored; the run has not heard of it and its upstream answers in full.
    mark_cancelled_behind_the_runs_back(&redis, &id);
    let rest = live.rest().await;
    let (end, terminal) = rest.last().unwrap();
    assert_eq!(end, "response.failed", "{terminal}");
    assert_eq!(status(&terminal["response"]), "cancelled");
    assert_eq!(terminal["response"]["id"], id);

    idle(&gw).await;
    assert_eq!(status(&retrieve(&gw, &id).await), "cancelled");
    let replay = Events::new(get(&gw, &format!("/responses/{id}?stream=true")).await)
        .rest()
        .await;
    let (end, terminal) = replay.last().unwrap();
    assert_eq!(end, "response.failed");
    assert_eq!(status(&terminal["response"]), "cancelled");
    assert_eq!(
        replay
            .iter()
            .filter(|(t, _)| t == "response.completed")
            .count(),
        0
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn starting_after_past_any_sequence_number_is_a_400_and_the_largest_one_ends_the_replay() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let resp = post(
        &gw,
        &json!({"model": "fast", "input": "hi", "background": true, "stream": true}),
    )
    .await;
    let events = Events::new(resp).rest().await;
    let id = events[0].1["response"]["id"].as_str().unwrap().to_owned();
    for huge in [u64::MAX.to_string(), (i64::MAX as u64 + 1).to_string()] {
        let url = format!("/responses/{id}?stream=true&starting_after={huge}");
        let err = error_of(get(&gw, &url).await, 400).await;
        assert_eq!(err["param"], "starting_after", "{huge}");
    }
    let url = format!("/responses/{id}?stream=true&starting_after={}", i64::MAX);
    let past = tokio::time::timeout(
        Duration::from_secs(10),
        Events::new(get(&gw, &url).await).rest(),
    )
    .await
    .expect("the replay ends");
    assert!(past.is_empty(), "{past:?}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_run_whose_lease_is_gone_stops_and_leaves_the_failure_report() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let (live, id) =
        streaming_until_first_delta(&gw, "crawl", "Explain the history of the printing press.")
            .await;
    // What another replica does once the lease expired: it reports the response failed,
    // and the lease is gone.
    let mut conn = connect(&redis);
    let key = format!("routewise:response:{id}");
    let raw: String = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
    let mut doc: Value = serde_json::from_str(&raw).unwrap();
    doc["response"]["status"] = json!("failed");
    doc["response"]["error"] = json!({"code": "server_error", "message": "reported elsewhere"});
    redis::cmd("SET")
        .arg(&key)
        .arg(doc.to_string())
        .query::<()>(&mut conn)
        .unwrap();
    redis::cmd("DEL")
        .arg(format!("routewise:bg:lease:{id}"))
        .query::<()>(&mut conn)
        .unwrap();

    // The run (seconds from done) stops at its next tick, without taking the lease back.
    let took = idle(&gw).await;
    assert!(
        took < Duration::from_secs(1),
        "the run took {took:?} to stop"
    );
    let rest = live.rest().await;
    let (end, terminal) = rest.last().unwrap();
    assert_eq!(end, "response.failed");
    assert_eq!(
        terminal["response"]["error"]["message"],
        "reported elsewhere"
    );
    let got = retrieve(&gw, &id).await;
    assert_eq!(status(&got), "failed");
    assert_eq!(got["error"]["message"], "reported elsewhere");
    let lease: bool = redis::cmd("EXISTS")
        .arg(format!("routewise:bg:lease:{id}"))
        .query(&mut conn)
        .unwrap();
    assert!(!lease);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_failed_log_append_stops_the_log_so_a_replay_has_no_gap() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let (mut live, id) =
        streaming_until_first_delta(&gw, "slow", "Describe the water cycle.").await;
    // Appends fail for a while (the key holds a string), then would succeed again.
    let mut conn = connect(&redis);
    let key = format!("routewise:bg:events:{id}");
    let aside = format!("{key}:aside");
    redis::pipe()
        .atomic()
        .cmd("RENAME")
        .arg(&key)
        .arg(&aside)
        .cmd("SET")
        .arg(&key)
        .arg("not a stream")
        .query::<()>(&mut conn)
        .unwrap();
    // Three more events arrive while appends fail.
    for _ in 0..3 {
        live.next().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    redis::pipe()
        .atomic()
        .cmd("DEL")
        .arg(&key)
        .cmd("RENAME")
        .arg(&aside)
        .arg(&key)
        .query::<()>(&mut conn)
        .unwrap();
    let rest = live.rest().await;
    assert_eq!(rest.last().unwrap().0, "response.completed");
    idle(&gw).await;

    let replay = Events::new(get(&gw, &format!("/responses/{id}?stream=true")).await)
        .rest()
        .await;
    assert_eq!(
        seqs(&replay),
        (0..replay.len() as u64).collect::<Vec<_>>(),
        "no gap"
    );
    let (end, terminal) = replay.last().unwrap();
    assert_eq!(end, "response.completed");
    assert_eq!(terminal["response"]["id"], id);
    gw.shutdown().await;
}

/// Makes every write to `redis` fail (out of memory) or work again.
fn refuse_writes(redis: &RedisServer, refuse: bool) {
    let mut conn = connect(redis);
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(if refuse { "1" } else { "0" })
        .query::<()>(&mut conn)
        .unwrap();
}

#[tokio::test]
async fn a_final_save_redis_refused_once_is_retried() {
    let (captured, _guard) = crate::common::logs::capture_text(tracing::Level::WARN);
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let queued = submit(
        &gw,
        json!({"model": "slow", "input": "Describe the water cycle.", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap().to_owned();
    poll(&gw, &id, |r| status(r) == "in_progress").await;
    refuse_writes(&redis, true);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !captured.text().contains("retrying once") {
        assert!(Instant::now() < deadline, "no retry:\n{}", captured.text());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    refuse_writes(&redis, false);
    let done = poll(&gw, &id, |r| status(r) != "in_progress").await;
    assert_eq!(status(&done), "completed", "{done}");
    assert!(output_text(&done).starts_with("[emulated slow]"), "{done}");
    gw.shutdown().await;
}
