//! SseFaultServer driven by a plain HTTP client.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use routewise_testkit::fixtures::{self, event_types, split_frames};
use routewise_testkit::{ErrorReply, Script, SseFaultServer, StreamOutcome};
use serde_json::json;

/// Reads a body chunk by chunk: the bytes, each chunk's arrival time, and
/// whether the body ended with an error instead of a clean end.
async fn read_all(mut r: reqwest::Response) -> (Vec<u8>, Vec<Instant>, bool) {
    let mut bytes = Vec::new();
    let mut arrivals = Vec::new();
    loop {
        match r.chunk().await {
            Ok(Some(chunk)) => {
                arrivals.push(Instant::now());
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return (bytes, arrivals, false),
            Err(_) => return (bytes, arrivals, true),
        }
    }
}

async fn post(url: &str) -> reqwest::Response {
    Client::new()
        .post(url)
        .json(&json!({"model": "gpt-5-mini", "input": "hi", "stream": true}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn per_frame_delays_are_observable() {
    let delay = Duration::from_millis(60);
    let server = SseFaultServer::start(
        Script::from_sse_body(fixtures::HELLO_STREAM)
            .drop_after_frames(3)
            .frame_delay(delay),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let (_, arrivals, _) = read_all(post(&server.responses_url()).await).await;
    assert!(
        arrivals.len() >= 3,
        "each delayed frame should arrive as its own chunk"
    );
    assert!(started.elapsed() >= delay * 3);
    let spread = *arrivals.last().unwrap() - arrivals[0];
    assert!(
        spread >= delay * 2 - Duration::from_millis(10),
        "{spread:?}"
    );
}

#[tokio::test]
async fn full_stream_completes_and_matches_the_fixture() {
    let server = SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM))
        .await
        .unwrap();
    let r = post(&server.responses_url()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let (bytes, _, errored) = read_all(r).await;
    assert!(!errored);
    assert_eq!(String::from_utf8(bytes).unwrap(), fixtures::HELLO_STREAM);
    assert_eq!(server.wait_for_outcome(0).await, StreamOutcome::Completed);
}

#[tokio::test]
async fn drop_mid_stream_yields_a_truncated_body() {
    let server =
        SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM).drop_after_frames(4))
            .await
            .unwrap();
    let (bytes, _, errored) = read_all(post(&server.responses_url()).await).await;
    assert!(
        errored,
        "a dropped chunked body must not look like a clean end"
    );
    let expected: String = split_frames(fixtures::HELLO_STREAM)[..4].concat();
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
    assert!(server.wait_for_outcome(0).await.is_dropped());
}

#[tokio::test]
async fn drop_mid_frame_cuts_a_frame_in_half() {
    let server =
        SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM).drop_mid_frame(2))
            .await
            .unwrap();
    let (bytes, _, errored) = read_all(post(&server.responses_url()).await).await;
    assert!(errored);
    let text = String::from_utf8(bytes).unwrap();
    let frames = split_frames(fixtures::HELLO_STREAM);
    let whole: String = frames[..2].concat();
    assert!(text.starts_with(&whole) && text.len() > whole.len());
    assert!(text.len() < whole.len() + frames[2].len());
    assert_eq!(
        event_types(&text).len(),
        2,
        "the partial frame is not a complete event"
    );
}

#[tokio::test]
async fn in_band_failure_frames_arrive_in_order() {
    let server = SseFaultServer::start(Script::in_band_failure())
        .await
        .unwrap();
    let r = post(&server.responses_url()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert_eq!(
        event_types(&text),
        [
            "response.created",
            "response.in_progress",
            "response.failed",
            "error"
        ]
    );
    let events = fixtures::parse_sse_data(&text);
    assert_eq!(events[2]["response"]["error"]["code"], "server_error");
    assert_eq!(events[3]["error"]["code"], "server_error");
}

#[tokio::test]
async fn stall_sends_headers_then_nothing() {
    let server =
        SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM).stall_after_frames(1))
            .await
            .unwrap();
    let mut r = post(&server.responses_url()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let first = r.chunk().await.unwrap().unwrap();
    assert_eq!(
        &first[..],
        split_frames(fixtures::HELLO_STREAM)[0].as_bytes()
    );
    let next = tokio::time::timeout(Duration::from_millis(150), r.chunk()).await;
    assert!(next.is_err(), "a stalled stream must not yield more data");
    assert_eq!(server.outcome(0), None);
}

#[tokio::test]
async fn client_going_away_is_recorded_as_abandoned() {
    let slow = Script::from_sse_body(&fixtures::HELLO_STREAM.repeat(5))
        .frame_delay(Duration::from_millis(15));
    let server = SseFaultServer::start(slow).await.unwrap();
    let mut r = post(&server.responses_url()).await;
    r.chunk().await.unwrap().unwrap();
    drop(r);
    let outcome = tokio::time::timeout(Duration::from_secs(5), server.wait_for_outcome(0))
        .await
        .unwrap();
    assert!(outcome.is_abandoned(), "{outcome:?}");
}

#[tokio::test]
async fn request_k_gets_script_k_and_requests_are_captured() {
    let server = SseFaultServer::start_sequence([
        Script::error(&ErrorReply::service_unavailable().header("retry-after-ms", "5")),
        Script::error(&ErrorReply::bad_gateway_html()),
        Script::from_sse_body(fixtures::HELLO_STREAM),
    ])
    .await
    .unwrap();
    let first = Client::new()
        .post(format!("{}?api-version=v1", server.responses_url()))
        .header("api-key", "secret-key")
        .json(&json!({"model": "model-router", "input": "first", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(first.headers()["retry-after-ms"], "5");
    assert_eq!(
        first.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "ServiceUnavailable"
    );

    let second = post(&server.responses_url()).await;
    assert_eq!(second.status(), StatusCode::BAD_GATEWAY);
    assert!(second.text().await.unwrap().contains("<html>"));
    for _ in 0..2 {
        let r = post(&server.responses_url()).await;
        assert_eq!(r.status(), StatusCode::OK, "the last script repeats");
        assert_eq!(event_types(&r.text().await.unwrap()).len(), 10);
    }

    let received = server.received();
    assert_eq!(received.len(), 4);
    assert_eq!(server.request_count(), 4);
    let r0 = &received[0];
    assert_eq!(r0.path, "/openai/v1/responses");
    assert_eq!(r0.query_param("api-version"), Some("v1"));
    assert_eq!(r0.header("api-key"), Some("secret-key"));
    assert_eq!(r0.model(), Some("model-router"));
    assert_eq!(r0.input_text().as_deref(), Some("first"));
    assert!(r0.is_stream());
}

#[tokio::test]
async fn empty_script_list_is_rejected() {
    let err = SseFaultServer::start_sequence(Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn shuts_down_on_drop() {
    let server = SseFaultServer::start(Script::sse().stall()).await.unwrap();
    let addr = server.addr();
    let mut stalled = post(&server.responses_url()).await;
    drop(server);
    // The open stream is closed by the shutdown rather than left hanging.
    let end = tokio::time::timeout(Duration::from_secs(5), stalled.chunk())
        .await
        .unwrap();
    assert!(!matches!(end, Ok(Some(_))));
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "listener still accepting after drop"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
