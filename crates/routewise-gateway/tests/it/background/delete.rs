//! `DELETE` of a background response: a running one is stopped (here at once, or on another
//! replica at its next tick), its upstream call is dropped, and nothing of it comes back;
//! a finished stream loses its event log with its record.

use std::time::Duration;

use routewise_gateway::RunningGateway;
use routewise_testkit::{Script, SseFaultServer, fixtures};
use serde_json::{Value, json};

use super::{Events, gateway, get, idle, redis_has, retrieve, status, streaming_until_first_delta};
use crate::common::{client, error_of, post, start};
use routewise_testkit::RedisServer;

/// An upstream that streams up to its first text delta, then goes quiet: a run on it lasts
/// until something stops it.
async fn stalled_upstream() -> SseFaultServer {
    SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM).stall_after_frames(5))
        .await
        .expect("fault server starts")
}

/// Deployment `stalled` on `upstream`, with short ticks and leases so that "nothing comes
/// back after a lease" takes a fraction of a second.
fn stalled_config(redis: &RedisServer, upstream: &SseFaultServer) -> String {
    format!(
        "[store]
redis_url = \"{}\"

[background]
tick_ms = 20
lease_ttl_ms = 200

[[deployments]]
name = \"stalled\"
upstream = {{ kind = \"openai_compatible\", base_url = \"{}\" }}
",
        redis.url(),
        upstream.openai_base_url()
    )
}

async fn delete(gw: &RunningGateway, id: &str) -> reqwest::Response {
    client()
        .delete(format!("{}/responses/{id}", gw.base_url()))
        .send()
        .await
        .expect("request sent")
}

/// Asserts OpenAI's deletion object for `id`.
async fn deleted(resp: reqwest::Response, id: &str) {
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": id, "object": "response.deleted", "deleted": true})
    );
}

/// Waits (2 s at most) for the upstream call of request `index` to end, and asserts that the
/// gateway hung up on it rather than the upstream finishing it.
async fn upstream_dropped(upstream: &SseFaultServer, index: usize) {
    let outcome = tokio::time::timeout(Duration::from_secs(2), upstream.wait_for_outcome(index))
        .await
        .expect("the upstream call ends within 2 s");
    assert!(outcome.is_abandoned(), "{outcome:?}");
}

/// Asserts that nothing of `id` is stored or served, on every gateway given.
async fn gone(redis: &RedisServer, gateways: &[&RunningGateway], id: &str) {
    for gw in gateways {
        let err = error_of(get(gw, &format!("/responses/{id}")).await, 404).await;
        assert_eq!(err["code"], "response_not_found");
        error_of(get(gw, &format!("/responses/{id}?stream=true")).await, 404).await;
    }
    for key in ["response", "bg:events", "bg:lease"] {
        assert!(
            !redis_has(redis, &format!("routewise:{key}:{id}")),
            "{key} of {id} is still in Redis"
        );
    }
}

#[tokio::test]
async fn deleting_a_running_background_response_stops_the_run_and_drops_the_upstream_call() {
    let redis = RedisServer::start();
    let upstream = stalled_upstream().await;
    let gw = start(&stalled_config(&redis, &upstream)).await;
    let (live, id) = streaming_until_first_delta(&gw, "stalled", "Tell me a story.").await;
    assert_eq!(status(&retrieve(&gw, &id).await), "in_progress");
    assert_eq!(upstream.outcome(0), None, "the upstream call is open");
    let mut follower = Events::new(get(&gw, &format!("/responses/{id}?stream=true")).await);
    follower.next().await.expect("the follower's replay starts");

    deleted(delete(&gw, &id).await, &id).await;
    upstream_dropped(&upstream, 0).await;
    idle(&gw).await;
    // The creator's stream ends (saying the run was cancelled) instead of hanging.
    let rest = live.rest().await;
    let (end, terminal) = rest.last().expect("a terminal event");
    assert_eq!(end, "response.failed");
    assert_eq!(status(&terminal["response"]), "cancelled");
    // A follower is told the response is gone, not left with a bare end of stream.
    let rest = follower.rest().await;
    let (end, error) = rest.last().expect("an event");
    assert_eq!(end, "error", "{rest:?}");
    assert_eq!(error["code"], "response_not_found", "{error}");

    gone(&redis, &[&gw], &id).await;
    // Many ticks and a whole lease later, nothing has come back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    gone(&redis, &[&gw], &id).await;
    error_of(delete(&gw, &id).await, 404).await;
    assert_eq!(upstream.request_count(), 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_delete_taken_by_another_replica_stops_the_run_at_its_next_tick() {
    let redis = RedisServer::start();
    let upstream = stalled_upstream().await;
    let config = stalled_config(&redis, &upstream);
    let a = start(&config).await;
    let b = start(&config).await;
    let (live, id) = streaming_until_first_delta(&a, "stalled", "Tell me a story.").await;
    assert_eq!(status(&retrieve(&b, &id).await), "in_progress");

    deleted(delete(&b, &id).await, &id).await;
    // Replica A sees the flag at its next lease tick and hangs up on its upstream.
    upstream_dropped(&upstream, 0).await;
    idle(&a).await;
    live.rest().await;

    gone(&redis, &[&a, &b], &id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    gone(&redis, &[&a, &b], &id).await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn deleting_a_finished_background_stream_removes_its_event_log() {
    let redis = RedisServer::start();
    let gw = gateway(&redis).await;
    let body = json!({"model": "fast", "input": "hi", "background": true, "stream": true});
    let events = Events::new(post(&gw, &body).await).rest().await;
    let id = events[0].1["response"]["id"].as_str().unwrap().to_owned();
    idle(&gw).await;
    assert_eq!(status(&retrieve(&gw, &id).await), "completed");
    assert!(redis_has(&redis, &format!("routewise:bg:events:{id}")));

    deleted(delete(&gw, &id).await, &id).await;
    gone(&redis, &[&gw], &id).await;
    assert!(
        !redis_has(&redis, &format!("routewise:bg:cancel:{id}")),
        "a finished response needs no cancel flag"
    );
    gw.shutdown().await;
}
