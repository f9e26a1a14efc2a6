//! Frames that are not typed Responses events: an OpenAI-style `{"error":{...}}` frame without
//! a `type` (the official SDKs raise on any truthy top-level `error`), and non-JSON data frames
//! from proxies (`data: ping`), which are skipped.

use std::time::Duration;

use futures_util::StreamExt;
use routewise::{Client, ErrorKind};
use routewise_strategy::{AttemptResult, FailureKind, Fallback};
use routewise_testkit::fixtures::{self, split_frames};
use routewise_testkit::{Script, SseFaultServer};
use routewise_types::{CreateResponse, ResponseStreamEvent};

use crate::support::collect;

/// The frame the OpenAI SDKs turn into an `APIError`: no `type`, a top-level `error` object.
const UNTYPED_ERROR: &str = "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"code\":\"server_error\",\"param\":\"input\"}}\n\n";

fn request() -> CreateResponse {
    CreateResponse::new("gpt-4.1-nano", "Say hello.")
}

fn client(server: &SseFaultServer) -> Client {
    crate::support::builder(&server.openai_base_url())
        .max_retries(0)
        .idle_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// The first `n` frames of the hello stream, then `tail`, with an `x-request-id`.
fn hello_then(n: usize, tail: &[&str]) -> Script {
    let mut script = Script::sse().header("x-request-id", "req-untyped");
    for frame in split_frames(fixtures::HELLO_STREAM).into_iter().take(n) {
        script = script.frame(frame.to_owned());
    }
    for frame in tail {
        script = script.frame((*frame).to_owned());
    }
    script
}

fn assert_untyped_failure(err: &routewise::Error) {
    assert_eq!(err.kind(), ErrorKind::StreamFailed, "{err}");
    assert_eq!(err.code(), Some("server_error"));
    assert_eq!(
        err.message(),
        "The server had an error while processing your request."
    );
    assert_eq!(err.param(), Some("input"));
    assert_eq!(err.request_id(), Some("req-untyped"));
}

#[tokio::test]
async fn an_untyped_error_frame_after_content_is_an_error_not_an_event() {
    let server = SseFaultServer::start(hello_then(6, &[UNTYPED_ERROR]))
        .await
        .unwrap();
    let mut stream = client(&server).responses().stream(request()).await.unwrap();
    let (events, err) = collect(&mut stream).await;
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, ResponseStreamEvent::Unknown(_))),
        "the error frame reached the caller as an event: {events:?}"
    );
    assert_untyped_failure(&err.expect("the error frame fails the stream"));
    assert!(stream.next().await.is_none(), "nothing after the error");
}

#[tokio::test]
async fn an_untyped_error_frame_before_content_fails_over() {
    let server = SseFaultServer::start_sequence([
        hello_then(1, &[UNTYPED_ERROR]),
        Script::from_sse_body(fixtures::HELLO_STREAM),
    ])
    .await
    .unwrap();
    let client = client(&server).with_strategy(Fallback::new(["a", "b"]));
    let stream = client.responses().stream(request()).await.unwrap();
    let d = stream.decision().clone();
    assert_eq!(d.deployment.as_deref(), Some("b"));
    match &d.attempts[0].result {
        AttemptResult::Failed {
            kind, failed_over, ..
        } => assert_eq!((*kind, *failed_over), (FailureKind::Stream, true)),
        other => panic!("the first attempt did not fail: {other:?}"),
    }
    assert_eq!(
        stream.final_response().await.unwrap().output_text(),
        "Hello!"
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn an_untyped_error_frame_as_the_only_frame_keeps_its_reason() {
    let server = SseFaultServer::start(hello_then(0, &[UNTYPED_ERROR]))
        .await
        .unwrap();
    let err = client(&server)
        .responses()
        .stream(request())
        .await
        .unwrap_err();
    assert_untyped_failure(&err);
}

#[tokio::test]
async fn a_non_json_data_frame_is_skipped() {
    let ping = "event: ping\ndata: ping\n\n";
    let frames = split_frames(fixtures::HELLO_STREAM);
    let mut script = Script::sse();
    for (i, frame) in frames.iter().enumerate() {
        script = script.frame((*frame).to_owned());
        if i == 0 || i == 5 {
            script = script.frame(ping);
        }
    }
    let server = SseFaultServer::start(script).await.unwrap();
    let stream = client(&server).responses().stream(request()).await.unwrap();
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_text(), "Hello!");
}

#[tokio::test]
async fn a_malformed_json_object_still_fails_after_content() {
    let server = SseFaultServer::start(hello_then(6, &["data: {\"type\": oops}\n\n"]))
        .await
        .unwrap();
    let mut stream = client(&server).responses().stream(request()).await.unwrap();
    let (_, err) = collect(&mut stream).await;
    assert_eq!(
        err.expect("a broken object is an error").kind(),
        ErrorKind::Decode
    );
}
