//! `max_stream_followers`: a replica follows at most that many background streams at once
//! (`GET /responses/{id}?stream=true`); one more gets a 429 at once, and a follower that
//! leaves or finishes gives its place back.

use std::time::{Duration, Instant};

use routewise_gateway::RunningGateway;

use super::{Events, cancel, gateway_with_background, get, metric, streaming_until_first_delta};
use crate::common::error_of;
use routewise_testkit::RedisServer;

async fn followers(gw: &RunningGateway) -> f64 {
    metric(gw, "routewise_background_stream_followers", &[]).await
}

/// Opens a follower of `url`, retrying while the cap refuses it (5 s at most): the place of
/// a follower that left is given back once the gateway notices the departure.
async fn follow_when_free(gw: &RunningGateway, url: &str) -> Events {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let resp = get(gw, url).await;
        if resp.status() == 200 {
            return Events::new(resp);
        }
        assert_eq!(resp.status(), 429);
        assert!(
            Instant::now() < deadline,
            "no follower place was given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_follower_past_the_cap_gets_a_429_and_a_leaving_follower_frees_its_place() {
    let redis = RedisServer::start();
    let gw = gateway_with_background(&redis, "max_stream_followers = 1").await;
    // The creator's own stream is not a follower: it holds no Redis connection.
    let (_live, id) =
        streaming_until_first_delta(&gw, "crawl", "Explain the history of the printing press.")
            .await;
    let url = format!("/responses/{id}?stream=true");
    let mut first = Events::new(get(&gw, &url).await);
    first.next().await.expect("the replay starts");
    assert_eq!(followers(&gw).await, 1.0);

    for refused_url in [url.clone(), format!("{url}&starting_after=2")] {
        let refused = get(&gw, &refused_url).await;
        assert_eq!(refused.headers()["retry-after"], "1");
        assert_eq!(refused.headers()["retry-after-ms"], "1000");
        let err = error_of(refused, 429).await;
        assert_eq!(err["code"], "rate_limit_exceeded");
        assert_eq!(err["type"], "requests");
        assert!(
            err["message"].as_str().unwrap().contains("at most 1"),
            "{err}"
        );
    }

    // The follower's client goes away mid-stream: its place comes back.
    drop(first);
    let second = follow_when_free(&gw, &url).await;
    assert_eq!(followers(&gw).await, 1.0);

    // A follower whose stream ends gives its place back too.
    assert_eq!(cancel(&gw, &id).await.status(), 200);
    let rest = second.rest().await;
    assert_eq!(rest.last().unwrap().0, "response.failed");
    let deadline = Instant::now() + Duration::from_secs(2);
    while followers(&gw).await > 0.0 {
        assert!(
            Instant::now() < deadline,
            "the ended follower kept its place"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let replay = follow_when_free(&gw, &url).await.rest().await;
    assert_eq!(replay.last().unwrap().0, "response.failed");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_follower_that_gets_an_error_answer_gives_its_place_back() {
    // Redis is down: each follower within the cap gets the store's 503, and the place is
    // free again for the next one (a 429 here would mean a leaked place).
    let down = routewise_testkit::redis::DeadRedis::new();
    let url = down.url();
    let gw = crate::common::start(&format!(
        "{}\n[background]\nmax_stream_followers = 1\n",
        super::config(&url, "")
    ))
    .await;
    for _ in 0..2 {
        let err = error_of(get(&gw, "/responses/resp_x?stream=true").await, 503).await;
        assert_eq!(err["code"], "store_unavailable");
    }
    assert_eq!(followers(&gw).await, 0.0);
    gw.shutdown().await;
}
