//! `max_running`: a replica runs at most that many background responses at once; one more
//! is refused with a 429 before anything is stored (but only once it could otherwise be
//! served), and a run that ends gives its place back.

use serde_json::json;

use super::{cancel, connect, gateway_with_background, idle, metric, poll, status, submit};
use crate::common::{error_of, post};
use routewise_testkit::RedisServer;

/// Every key in the test's Redis.
fn keys(redis: &RedisServer) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut connect(redis))
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_run_past_the_cap_gets_a_429_and_stores_nothing() {
    let redis = RedisServer::start();
    let gw = gateway_with_background(&redis, "max_running = 1").await;
    let body = json!({
        "model": "crawl", "background": true, "max_output_tokens": 400,
        "input": "Explain the history of the printing press.",
    });
    let first = submit(&gw, body.clone()).await;
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(metric(&gw, "routewise_background_running", &[]).await, 1.0);
    let stored = keys(&redis);

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    for refused_body in [body, streamed] {
        let refused = post(&gw, &refused_body).await;
        assert_eq!(refused.headers()["retry-after"], "1");
        assert_eq!(refused.headers()["retry-after-ms"], "1000");
        let err = error_of(refused, 429).await;
        assert_eq!(err["code"], "rate_limit_exceeded");
        assert_eq!(err["type"], "requests");
        assert_eq!(err["param"], "background");
        assert!(
            err["message"].as_str().unwrap().contains("at most 1"),
            "{err}"
        );
    }
    assert_eq!(keys(&redis), stored, "a refused submission left a trace");

    // A request that could never be served gets its real error, not a 429 to retry.
    let unknown = post(
        &gw,
        &json!({"model": "nope", "background": true, "input": "hi"}),
    )
    .await;
    error_of(unknown, 404).await;
    let orphan = json!({
        "model": "fast", "background": true, "input": "hi",
        "previous_response_id": "resp_missing",
    });
    let err = error_of(post(&gw, &orphan).await, 400).await;
    assert_eq!(err["param"], "previous_response_id", "{err}");

    // Foreground requests are not counted.
    let foreground = post(
        &gw,
        &json!({"model": "fast", "input": "hi", "store": false}),
    )
    .await;
    assert_eq!(foreground.status(), 200);

    // The run ends (cancelled): its place comes back.
    assert_eq!(cancel(&gw, &id).await.status(), 200);
    idle(&gw).await;
    let second = submit(
        &gw,
        json!({"model": "fast", "background": true, "input": "hi"}),
    )
    .await;
    let done = poll(&gw, second["id"].as_str().unwrap(), |r| {
        status(r) == "completed"
    })
    .await;
    assert_eq!(status(&done), "completed");
    gw.shutdown().await;
}
