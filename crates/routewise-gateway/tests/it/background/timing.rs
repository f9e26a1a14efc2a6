//! `lease_ttl_ms` and `tick_ms`: a run's lease in Redis lives as configured and is refreshed
//! at the configured tick.

use serde_json::json;

use super::{connect, gateway_with_background, poll, status, submit};
use crate::common::output_text;
use routewise_testkit::RedisServer;

#[tokio::test]
async fn a_run_keeps_a_lease_shorter_than_the_default_tick_by_refreshing_at_its_own() {
    let redis = RedisServer::start();
    // Refreshed every 200 ms (the default tick), a 190 ms lease would lapse between
    // refreshes and the run would stop, reported failed; at 30 ms it is kept.
    let gw = gateway_with_background(&redis, "lease_ttl_ms = 190\ntick_ms = 30").await;
    let queued = submit(
        &gw,
        json!({"model": "crawl", "input": "Name three primes.", "background": true}),
    )
    .await;
    let id = queued["id"].as_str().unwrap();
    poll(&gw, id, |r| status(r) == "in_progress").await;
    let pttl: i64 = redis::cmd("PTTL")
        .arg(format!("routewise:bg:lease:{id}"))
        .query(&mut connect(&redis))
        .unwrap();
    assert!((1..=190).contains(&pttl), "lease PTTL {pttl} ms");

    let done = poll(&gw, id, |r| status(r) != "in_progress").await;
    assert_eq!(status(&done), "completed", "{done}");
    assert!(output_text(&done).starts_with("[emulated crawl]"), "{done}");
    gw.shutdown().await;
}
