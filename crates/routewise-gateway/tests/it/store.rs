//! Stored responses over real HTTP and a real Redis: retrieve, delete, input items,
//! `previous_response_id` across deployments, streams, and a Redis that is down.

use crate::common::{FAST_EMULATOR, client, error_of, post, sse, start};
use routewise_gateway::config::StoreSettings;
use routewise_gateway::{Config, RunningGateway};
use routewise_testkit::RedisServer;
use serde_json::{Value, json};
use std::time::Duration;

fn config(redis_url: &str) -> String {
    format!(
        "{FAST_EMULATOR}
[store]
redis_url = \"{redis_url}\"

[[deployments]]
name = \"small\"
upstream = \"emu\"

[[deployments]]
name = \"large\"
upstream = \"emu\"
"
    )
}

async fn get(gw: &RunningGateway, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", gw.base_url()))
        .send()
        .await
        .expect("request sent")
}

/// The JSON answer to `GET {base_url}{path}`.
async fn get_value(gw: &RunningGateway, path: &str) -> Value {
    crate::common::get_json(format!("{}{path}", gw.base_url())).await
}

async fn delete(gw: &RunningGateway, path: &str) -> reqwest::Response {
    client()
        .delete(format!("{}{path}", gw.base_url()))
        .send()
        .await
        .expect("request sent")
}

async fn create(gw: &RunningGateway, body: Value) -> Value {
    let resp = post(gw, &body).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_stored_response_can_be_retrieved_listed_and_deleted() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let created = create(
        &gw,
        json!({"model": "model-router", "input": "Name three primes."}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["store"], true, "kept, and it says so");

    let got: Value = get_value(&gw, &format!("/responses/{id}")).await;
    assert_eq!(
        got, created,
        "retrieval returns the response as it was sent"
    );
    // The Foundry project path reaches the same store.
    let in_project = client()
        .get(format!(
            "{}/api/projects/p1/openai/v1/responses/{id}",
            gw.endpoint()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(in_project.status(), 200);

    let items: Value = get_value(&gw, &format!("/responses/{id}/input_items")).await;
    assert_eq!(items["object"], "list");
    assert_eq!(items["has_more"], false);
    let data = items["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["role"], "user");
    assert_eq!(data[0]["content"][0]["text"], "Name three primes.");
    assert_eq!(items["first_id"], data[0]["id"]);

    let deleted: Value = delete(&gw, &format!("/responses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        deleted,
        json!({"id": id, "object": "response.deleted", "deleted": true})
    );
    let err = error_of(get(&gw, &format!("/responses/{id}")).await, 404).await;
    assert_eq!(err["code"], "response_not_found");
    error_of(delete(&gw, &format!("/responses/{id}")).await, 404).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn without_a_store_an_answer_does_not_claim_to_be_stored() {
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[[deployments]]\nname = \"fast\"\nupstream = \"emu\"\n"
    ))
    .await;
    for stream in [false, true] {
        let body = json!({"model": "fast", "input": "hi", "store": true, "stream": stream});
        let resp = post(&gw, &body).await;
        assert_eq!(resp.status(), 200);
        let response = if stream {
            let events = sse(resp).await;
            events.last().unwrap().1["response"].clone()
        } else {
            resp.json::<Value>().await.unwrap()
        };
        assert_eq!(response["store"], false, "stream {stream}: {response}");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn store_false_is_not_kept() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let created = create(
        &gw,
        json!({"model": "small", "input": "hi", "store": false}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    error_of(get(&gw, &format!("/responses/{id}")).await, 404).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn previous_response_id_carries_the_conversation_to_another_deployment() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let first = create(
        &gw,
        json!({"model": "small", "input": "My name is Ada Lovelace."}),
    )
    .await;
    let first_id = first["id"].as_str().unwrap();
    let follow_up = "What is my name?";
    // The follow-up goes to a different deployment, which never saw the first turn.
    let second = create(
        &gw,
        json!({"model": "large", "input": follow_up, "previous_response_id": first_id}),
    )
    .await;
    assert_eq!(second["previous_response_id"], first_id);
    let alone = create(
        &gw,
        json!({"model": "large", "input": follow_up, "store": false}),
    )
    .await;
    let tokens = |r: &Value| r["usage"]["input_tokens"].as_u64().unwrap();
    assert!(
        tokens(&second) > tokens(&alone) + 5,
        "the upstream saw the earlier turn and its answer: {} vs {}",
        tokens(&second),
        tokens(&alone)
    );
    // input_items lists this request's own input only.
    let second_id = second["id"].as_str().unwrap();
    let items: Value = get_value(&gw, &format!("/responses/{second_id}/input_items")).await;
    assert_eq!(items["data"].as_array().unwrap().len(), 1);
    // A third turn chains through both.
    let third = create(
        &gw,
        json!({"model": "small", "input": "And my surname?", "previous_response_id": second_id}),
    )
    .await;
    assert!(tokens(&third) > tokens(&second));

    let err = error_of(
        post(
            &gw,
            &json!({"model": "small", "input": "x", "previous_response_id": "resp_nope"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(err["param"], "previous_response_id");
    assert_eq!(err["code"], "previous_response_not_found");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_streamed_response_is_stored_before_the_stream_ends() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let first = create(&gw, json!({"model": "small", "input": "Remember: blue."})).await;
    let events = sse(post(
        &gw,
        &json!({"model": "model-router", "input": "Which colour?", "stream": true,
                    "previous_response_id": first["id"]}),
    )
    .await)
    .await;
    let (_, done) = events
        .iter()
        .find(|(e, _)| e == "response.completed")
        .expect("a completed event");
    assert_eq!(done["response"]["previous_response_id"], first["id"]);
    let created = &events
        .iter()
        .find(|(e, _)| e == "response.created")
        .unwrap()
        .1;
    assert_eq!(created["response"]["previous_response_id"], first["id"]);
    let id = done["response"]["id"].as_str().unwrap();
    let got: Value = get_value(&gw, &format!("/responses/{id}")).await;
    assert_eq!(got, done["response"]);
    assert_eq!(got["status"], "completed");
    gw.shutdown().await;
}

#[tokio::test]
async fn input_items_pages_and_rejects_bad_parameters() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let input = json!([
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "three"}
    ]);
    let created = create(&gw, json!({"model": "small", "input": input})).await;
    let id = created["id"].as_str().unwrap();
    let page: Value = get_value(
        &gw,
        &format!("/responses/{id}/input_items?order=asc&limit=2"),
    )
    .await;
    let texts: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["one", "two"]);
    assert_eq!(page["has_more"], true);
    let after = page["last_id"].as_str().unwrap();
    let rest: Value = get_value(
        &gw,
        &format!("/responses/{id}/input_items?order=asc&after={after}"),
    )
    .await;
    assert_eq!(rest["data"][0]["content"][0]["text"], "three");
    assert_eq!(rest["has_more"], false);
    // Azure's `before` pages back from a cursor: the page just before "three", oldest first.
    let three = rest["data"][0]["id"].as_str().unwrap();
    let back: Value = get_value(
        &gw,
        &format!("/responses/{id}/input_items?order=asc&limit=1&before={three}"),
    )
    .await;
    assert_eq!(back["data"][0]["content"][0]["text"], "two");
    assert_eq!(back["has_more"], true);
    let newest: Value = get_value(&gw, &format!("/responses/{id}/input_items?limit=1")).await;
    assert_eq!(
        newest["data"][0]["content"][0]["text"], "three",
        "desc by default"
    );
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("order=up", "order"),
        ("after=msg_unknown", "after"),
        ("before=msg_unknown", "before"),
    ] {
        let err = error_of(
            get(&gw, &format!("/responses/{id}/input_items?{query}")).await,
            400,
        )
        .await;
        assert_eq!(err["param"], param, "{query}");
    }
    error_of(get(&gw, "/responses/resp_missing/input_items").await, 404).await;
    // Query values and ids are quoted clipped, not whole.
    let long = "9".repeat(20_000);
    for query in [
        format!("after={long}"),
        format!("before={long}"),
        format!("limit={long}"),
        format!("order={long}"),
    ] {
        let resp = get(&gw, &format!("/responses/{id}/input_items?{query}")).await;
        assert_eq!(resp.status(), 400);
        let text = resp.text().await.unwrap();
        assert!(text.len() < 1_000, "{} bytes for {:.8}", text.len(), query);
    }
    let follow_up =
        json!({"model": "small", "input": "hi", "previous_response_id": "r".repeat(1_000_000)});
    let resp = post(&gw, &follow_up).await;
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.len() < 1_000, "{} bytes", text.len());
    assert!(text.contains("previous_response_not_found"), "{text}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_redis_outage_costs_retrieval_not_answers() {
    let down = routewise_testkit::redis::DeadRedis::new();
    let url = down.url();
    let gw = start(&config(&url)).await;
    let started = std::time::Instant::now();
    let created = create(&gw, json!({"model": "small", "input": "still answered"})).await;
    // Not stored, so the client is not told it was.
    assert_eq!(created["store"], false, "{created}");
    let id = created["id"].as_str().unwrap();
    let err = error_of(get(&gw, &format!("/responses/{id}")).await, 503).await;
    assert_eq!(err["code"], "store_unavailable");
    assert!(
        !err["message"].as_str().unwrap().contains("redis://"),
        "{err}"
    );
    let err = error_of(
        post(
            &gw,
            &json!({"model": "small", "input": "x", "previous_response_id": id}),
        )
        .await,
        503,
    )
    .await;
    assert_eq!(err["type"], "server_error");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "bounded waits, no hang"
    );
    gw.shutdown().await;
}

/// A Redis that accepts connections and never answers: the requests that would store their
/// answers must not queue behind one connection attempt after another (each took 6.5 s, so
/// six took 39 s). The first attempt fails after one timeout; the rest fail at once.
#[tokio::test]
async fn a_hung_redis_delays_answers_by_one_timeout_at_most() {
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}/0", hung.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = hung.accept().await {
            open.push(sock);
        }
    });
    let gw = start(&config(&url)).await;
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..6).map(|i| {
        let gw = &gw;
        async move { create(gw, json!({"model": "small", "input": format!("hi {i}")})).await }
    }))
    .await;
    for a in &answers {
        assert_eq!(a["status"], "completed", "{a}");
        assert_eq!(a["store"], false, "{a}");
    }
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(8), "{waited:?}");
    held.abort();
    gw.shutdown().await;
}

/// Redis freezes after the gateway connected: the first answer waits one timeout for its
/// save, and the answers after it, within the pause that follows, do not wait at all (each
/// used to wait its own timeout).
#[tokio::test]
async fn a_frozen_redis_costs_one_timeout_not_one_per_answer() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let stored = create(&gw, json!({"model": "small", "input": "before"})).await;
    assert_eq!(stored["store"], true, "{stored}");
    redis.freeze(true);
    let started = std::time::Instant::now();
    for i in 0..4 {
        let a = create(
            &gw,
            json!({"model": "small", "input": format!("during {i}")}),
        )
        .await;
        assert_eq!(a["store"], false, "{a}");
    }
    let waited = started.elapsed();
    redis.freeze(false);
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    gw.shutdown().await;
}

/// Redis dies after the gateway connected, and a server that accepts connections but never
/// answers takes its port: the connection manager's reconnect (three attempts of 2 s) must
/// not hold an answer; each waits one 2 s bound at most.
#[tokio::test]
async fn a_reconnect_to_a_hung_redis_holds_an_answer_one_timeout_at_most() {
    let redis = RedisServer::start();
    let port = redis.port();
    let gw = start(&config(&redis.url())).await;
    let stored = create(&gw, json!({"model": "small", "input": "before"})).await;
    assert_eq!(stored["store"], true, "{stored}");
    drop(redis);
    let hung = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = hung.accept().await {
            open.push(sock);
        }
    });
    for i in 0..2 {
        let started = std::time::Instant::now();
        let a = create(
            &gw,
            json!({"model": "small", "input": format!("after {i}")}),
        )
        .await;
        let waited = started.elapsed();
        assert_eq!(a["store"], false, "{a}");
        assert!(
            waited < std::time::Duration::from_millis(3_500),
            "answer {i}: {waited:?}"
        );
        // Past the pause, so the next save meets the manager's reconnect.
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    }
    held.abort();
    gw.shutdown().await;
}

#[tokio::test]
async fn without_a_store_retrieval_says_how_to_enable_it() {
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[[deployments]]\nname = \"small\"\nupstream = \"emu\"\n"
    ))
    .await;
    let err = error_of(get(&gw, "/responses/resp_1").await, 404).await;
    assert!(
        err["message"].as_str().unwrap().contains("[store]"),
        "{err}"
    );
    error_of(delete(&gw, "/responses/resp_1").await, 404).await;
    gw.shutdown().await;
}

#[test]
fn store_config_is_checked_and_its_url_never_printed() {
    let with = |store: &str| {
        Config::from_toml_str_with_env(
            &format!(
                "{store}\n[[deployments]]\nname = \"a\"\nupstream = {{ kind = \"emulator\" }}\n"
            ),
            "t.toml",
            &|var| (var == "REDIS_URL").then(|| "redis://:hunter2@127.0.0.1:6379/0".to_owned()),
        )
    };
    let cfg = with("[store]\nredis_url_env = \"REDIS_URL\"\nttl_secs = 60").unwrap();
    let store = cfg.store.as_ref().unwrap();
    assert_eq!(store.ttl.as_secs(), 60);
    assert_eq!(store.key_prefix, "routewise:");
    assert!(
        !format!("{cfg:?}").contains("hunter2"),
        "the URL's password is redacted"
    );
    for (bad, key) in [
        ("[store]", "store"),
        ("[store]\nredis_url = \"http://x\"", "store.redis_url"),
        (
            "[store]\nredis_url_env = \"UNSET_VAR\"",
            "store.redis_url_env",
        ),
        (
            "[store]\nredis_url = \"redis://a\"\nredis_url_env = \"REDIS_URL\"",
            "store.redis_url",
        ),
        (
            "[store]\nredis_url = \"redis://a\"\nttl_secs = 0",
            "store.ttl_secs",
        ),
        ("[store]\nredis_url = \"redis://a\"\ncolour = 1", "store"),
    ] {
        let err = with(bad).expect_err(bad).to_string();
        assert!(err.contains(key), "{bad}: {err}");
    }
    assert_eq!(
        StoreSettings::new("redis://127.0.0.1").ttl.as_secs(),
        30 * 24 * 3600
    );
}

/// The 400 a follow-up to `previous` gets for a conversation too long to continue.
async fn refused_follow_up(gw: &RunningGateway, previous: &Value) -> Value {
    let follow_up =
        json!({"model": "small", "input": "and?", "previous_response_id": previous["id"]});
    let err = error_of(post(gw, &follow_up).await, 400).await;
    assert_eq!(err["code"], "context_length_exceeded", "{err}");
    assert_eq!(err["param"], "previous_response_id", "{err}");
    err
}

/// A gateway with a store whose requests may carry at most 64 KiB.
fn small_config(redis_url: &str) -> String {
    format!("[server]\nmax_body_bytes = 65536\n{}", config(redis_url))
}

#[tokio::test]
async fn a_conversation_longer_than_a_request_may_be_is_not_continued() {
    // Each follow-up stores the whole conversation again. Before, 30 small follow-ups grew a
    // record to 31 MB with max_body_bytes at 1 MiB; now a conversation longer than a request
    // may be gets a 400 the client can act on, and its records stay bounded.
    let redis = RedisServer::start();
    let gw = start(&small_config(&redis.url())).await;
    let turn = "x".repeat(33_000);
    let first = create(&gw, json!({"model": "small", "input": turn})).await;
    let second = create(
        &gw,
        json!({"model": "small", "input": turn, "previous_response_id": first["id"]}),
    )
    .await;
    // The second record holds both turns (66 KB and the answers): past 64 KiB.
    let err = refused_follow_up(&gw, &second).await;
    assert!(
        err["message"].as_str().unwrap().contains("max_body_bytes"),
        "{err}"
    );
    // The conversation itself is still there to read.
    let id = second["id"].as_str().unwrap();
    assert_eq!(get(&gw, &format!("/responses/{id}")).await.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_large_stored_response_is_read_whole_and_paged() {
    // Records of 256 KiB or more are parsed off the worker threads (their items kept raw), and
    // listing their items weighs them first: the answers are the same as for a small one.
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let items: Vec<Value> = (0..3_000)
        .map(|i| json!({"role": "user", "content": format!("item {i} {}", "y".repeat(80))}))
        .collect();
    let created = create(&gw, json!({"model": "small", "input": items})).await;
    assert_eq!(created["store"], true, "{}", created["store"]);
    let id = created["id"].as_str().unwrap();
    let reads = (0..8).map(|_| async {
        let resp = get(&gw, &format!("/responses/{id}")).await;
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.unwrap()
    });
    for read in futures_util::future::join_all(reads).await {
        assert_eq!(read["id"], created["id"]);
        assert_eq!(read["output"], created["output"]);
    }
    let page: Value = get_value(
        &gw,
        &format!("/responses/{id}/input_items?order=asc&limit=2"),
    )
    .await;
    assert_eq!(
        page["data"][1]["content"][0]["text"]
            .as_str()
            .map(|t| t.starts_with("item 1 ")),
        Some(true),
        "{page}"
    );
    assert_eq!(page["has_more"], true);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_large_follow_up_to_a_large_conversation_is_served_on_an_idle_gateway() {
    // A review found a request holding its body's budget share while waiting for a second
    // share for the stored record: with max_body_bytes at 1 MiB, a 290 KB follow-up to a
    // 290 KB turn got 503 after the read timeout, on a gateway doing nothing else.
    let redis = RedisServer::start();
    let gw = start(&format!(
        "[server]\nmax_body_bytes = 1048576\nbody_read_timeout_ms = 2000\n{}",
        config(&redis.url())
    ))
    .await;
    let turn = "x".repeat(290 * 1024);
    let first = create(&gw, json!({"model": "small", "input": turn})).await;
    let second = create(
        &gw,
        json!({"model": "small", "input": turn, "previous_response_id": first["id"]}),
    )
    .await;
    let id = second["id"].as_str().unwrap();
    assert_eq!(get(&gw, &format!("/responses/{id}")).await.status(), 200);
    let items = get(&gw, &format!("/responses/{id}/input_items")).await;
    assert_eq!(items.status(), 200);
    // Read, so that shutdown does not wait on an unread 580 KB answer.
    let page: Value = items.json().await.unwrap();
    // Its own input only, as the service lists it: the earlier turn is not repeated.
    assert_eq!(
        page["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        page["has_more"]
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_conversation_of_more_values_than_a_request_may_hold_is_not_continued() {
    // Each request may hold 65,536 JSON values at the defaults; a chain of follow-ups used to
    // grow one conversation past that (and past what any request may make the gateway
    // parse) while staying far under max_body_bytes.
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let items: Vec<Value> = (0..20_000)
        .map(|_| json!({"role": "user", "content": "x"}))
        .collect();
    let first = create(&gw, json!({"model": "small", "input": items})).await;
    let resp = post(
        &gw,
        &json!({"model": "small", "input": items, "previous_response_id": first["id"]}),
    )
    .await;
    let status = resp.status();
    let second: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{second}");
    let err = refused_follow_up(&gw, &second).await;
    assert!(
        err["message"].as_str().unwrap().contains("JSON values"),
        "{err}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_follow_up_s_replayed_conversation_takes_its_share_of_the_budget() {
    // A review measured 40 follow-ups of five bytes each to a 540 KB conversation adding
    // 711 MiB of memory that the budget never saw. Now the replayed conversation is weighed
    // like a body: with the budget (4 x 1 MiB) held by four running background requests, such
    // a follow-up waits for room and gets 503 after the read timeout, and is served once they
    // are done.
    let redis = RedisServer::start();
    let gw = start(&format!(
        "[server]\nmax_body_bytes = 1048576\nbody_read_timeout_ms = 300\n{FAST_EMULATOR}\
         [upstreams.slow]\nkind = \"emulator\"\nttft_ms = 2500\n\
         [store]\nredis_url = \"{}\"\n\
         [[deployments]]\nname = \"small\"\nupstream = \"emu\"\n\
         [[deployments]]\nname = \"slow\"\nupstream = \"slow\"\n",
        redis.url()
    ))
    .await;
    let conversation = create(
        &gw,
        json!({"model": "small", "input": "y".repeat(600 * 1024)}),
    )
    .await;
    let follow_up =
        json!({"model": "small", "input": "and?", "previous_response_id": conversation["id"]});
    // Served while the budget is free.
    assert_eq!(post(&gw, &follow_up).await.status(), 200);
    let big = json!({"model": "slow", "input": "x".repeat(1000 * 1024), "background": true});
    let mut runs = Vec::new();
    for _ in 0..4 {
        let queued = create(&gw, big.clone()).await;
        runs.push(queued["id"].as_str().unwrap().to_owned());
    }
    let err = error_of(post(&gw, &follow_up).await, 503).await;
    assert_eq!(err["code"], "server_busy", "{err}");
    // Once the runs are done, their shares are back.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for id in &runs {
        loop {
            let run: Value = get_value(&gw, &format!("/responses/{id}")).await;
            if run["status"] == "completed" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{run}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(post(&gw, &follow_up).await.status(), 200);
    gw.shutdown().await;
}
