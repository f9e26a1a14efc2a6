//! Streaming: event order and sequence numbers, byte-boundary splits, in-band failures with
//! their reason, truncation, idle timeouts, `[DONE]`, no retry after the first event, and
//! cancellation on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use routewise::{Client, ErrorKind, ResponseStream};
use routewise_testkit::fixtures::{self, split_frames};
use routewise_testkit::{MockFoundry, Script, SseFaultServer, StreamOutcome};
use routewise_transport::{ResponseBody, Transport, TransportError, body};
use routewise_types::{CreateResponse, ResponseStreamEvent};

use crate::support::collect;

fn request() -> CreateResponse {
    CreateResponse::new("gpt-4.1-nano", "Say hello.")
}

fn fault_client(server: &SseFaultServer) -> Client {
    crate::support::builder(&server.openai_base_url())
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// Serves `script` and opens a stream of [`request`] against it.
async fn open(script: Script) -> (SseFaultServer, Result<ResponseStream, routewise::Error>) {
    let server = SseFaultServer::start(script).await.unwrap();
    let stream = fault_client(&server).responses().stream(request()).await;
    (server, stream)
}

#[tokio::test]
async fn mock_foundry_stream_has_ordered_events_and_increasing_sequence_numbers() {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    let client = Client::builder()
        .project(&foundry.project_endpoint())
        .build()
        .unwrap();
    let mut stream = client.responses().stream(request()).await.unwrap();
    let (events, err) = collect(&mut stream).await;
    assert!(err.is_none(), "{err:?}");

    let types: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types.first(), Some(&"response.created"));
    assert_eq!(types.last(), Some(&"response.completed"));
    let position = |t: &str| {
        types
            .iter()
            .position(|x| *x == t)
            .unwrap_or_else(|| panic!("{t} missing from {types:?}"))
    };
    assert!(position("response.output_item.added") < position("response.content_part.added"));
    assert!(position("response.content_part.added") < position("response.output_text.delta"));
    assert!(position("response.output_text.delta") < position("response.output_text.done"));
    assert!(position("response.output_item.done") < position("response.completed"));
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e.sequence_number().expect("every event is numbered"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let deltas: String = events.iter().filter_map(|e| e.text_delta()).collect();
    assert_eq!(stream.accumulator().text(), deltas);
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_text(), deltas);
    assert_eq!(response.served_model(), "gpt-4.1-nano-2025-04-14");
    assert_eq!(
        response.decision().deployment.as_deref(),
        Some("gpt-4.1-nano")
    );
    assert!(response.request_id().is_some());
    let received = foundry.received().await;
    assert_eq!(received[0].json.as_ref().unwrap()["stream"], true);
    assert_eq!(received[0].header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn model_router_stream_reports_the_served_model() {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let stream = client
        .responses()
        .stream(CreateResponse::new("model-router", "Explain RAG."))
        .await
        .unwrap();
    let response = stream.final_response().await.unwrap();
    assert_ne!(response.served_model(), "model-router");
    assert_eq!(
        response.decision().served_model.as_deref(),
        Some(response.served_model())
    );
}

/// Answers every request with `body` split in two at a position that moves by one byte per call.
#[derive(Debug)]
struct SplitAt {
    body: &'static str,
    at: AtomicUsize,
}

#[async_trait]
impl Transport for SplitAt {
    async fn send(
        &self,
        _req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let at = self.at.fetch_add(1, Ordering::SeqCst).min(self.body.len());
        let (a, b) = self.body.as_bytes().split_at(at);
        let chunks = vec![
            Ok::<_, std::io::Error>(Bytes::from_static(a)),
            Ok(Bytes::from_static(b)),
        ];
        let mut res = http::Response::new(body::from_stream(futures_util::stream::iter(chunks)));
        res.headers_mut()
            .insert("content-type", "text/event-stream".parse().expect("header"));
        Ok(res)
    }
}

#[tokio::test]
async fn a_recorded_stream_split_at_every_byte_boundary_decodes_the_same() {
    let crlf: &'static str = Box::leak(
        fixtures::HELLO_STREAM
            .replace('\n', "\r\n")
            .into_boxed_str(),
    );
    for recorded in [fixtures::HELLO_STREAM, crlf] {
        let transport = Arc::new(SplitAt {
            body: recorded,
            at: AtomicUsize::new(0),
        });
        let client = Client::builder()
            .base_url("http://localhost/v1")
            .shared_transport(transport.clone())
            .build()
            .unwrap();
        let mut reference: Option<Vec<ResponseStreamEvent>> = None;
        for at in 0..=recorded.len() {
            let mut stream = client.responses().stream(request()).await.unwrap();
            let (events, err) = collect(&mut stream).await;
            assert!(err.is_none(), "split at {at}: {err:?}");
            match &reference {
                None => {
                    assert_eq!(events.len(), 10);
                    reference = Some(events);
                }
                Some(expected) => assert_eq!(&events, expected, "split at {at}"),
            }
        }
    }
}

#[tokio::test]
async fn in_band_failure_before_content_is_surfaced_with_its_reason() {
    let (server, stream) = open(Script::in_band_failure()).await;
    let err = stream.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamFailed);
    assert!(err.is_stream_failure());
    assert_eq!(err.code(), Some("server_error"));
    assert_eq!(err.message(), "The model failed to generate a response.");
    assert!(!err.is_content_filtered());
    assert_eq!(server.request_count(), 1);
    assert_eq!(
        server.wait_for_outcome(0).await,
        StreamOutcome::Completed,
        "read to EOF"
    );
}

#[tokio::test]
async fn azure_content_filter_three_frames_read_past_response_failed() {
    let (_server, stream) = open(Script::content_filtered()).await;
    let err = stream.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamFailed);
    assert_eq!(
        err.code(),
        Some("content_policy_violation"),
        "the reason comes from the trailing error frame"
    );
    assert!(err.is_content_filtered());
    assert!(!err.is_retryable());
    assert!(err.message().contains("content management policy"), "{err}");
}

#[tokio::test]
async fn a_numeric_code_in_an_error_frame_is_a_stream_failure_with_that_code() {
    let frame = "event: error\ndata: {\"type\":\"error\",\"sequence_number\":0,\"code\":429,\"message\":\"Too many requests.\",\"param\":null}\n\n";
    let (_server, stream) = open(Script::sse().frame(frame.to_owned())).await;
    let err = stream.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamFailed, "{err}");
    assert_eq!(err.code(), Some("429"));
    assert_eq!(err.message(), "Too many requests.");
}

#[tokio::test]
async fn openai_order_error_then_failed() {
    let (_server, stream) = open(Script::from_sse_body(fixtures::ERROR_THEN_FAILED_STREAM)).await;
    let err = stream.unwrap_err();
    assert_eq!(err.code(), Some("server_error"));
    assert_eq!(
        err.message(),
        "An error occurred while processing your request."
    );
}

/// The first `n` frames of the hello stream, then `tail` frames.
fn hello_then(n: usize, tail: &[&str]) -> Script {
    let frames = split_frames(fixtures::HELLO_STREAM);
    let mut script = Script::sse();
    for frame in frames.into_iter().take(n) {
        script = script.frame(frame.to_owned());
    }
    for frame in tail {
        script = script.frame((*frame).to_owned());
    }
    script
}

#[tokio::test]
async fn in_band_failure_after_content_ends_the_stream_with_the_reason() {
    let failed = "event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":6,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"failed\",\"model\":\"gpt-4.1-nano-2025-04-14\",\"output\":[],\"error\":null}}\n\n";
    let error = "event: error\ndata: {\"type\":\"error\",\"sequence_number\":7,\"error\":{\"type\":\"server_error\",\"code\":\"server_error\",\"message\":\"Upstream model crashed.\",\"param\":null}}\n\n";
    let (server, stream) = open(hello_then(6, &[failed, error])).await;
    let mut stream = stream.unwrap();
    let (events, err) = collect(&mut stream).await;
    let err = err.expect("the failure is surfaced");
    assert_eq!(
        events
            .iter()
            .filter_map(|e| e.text_delta())
            .collect::<String>(),
        "Hello!"
    );
    assert_eq!(err.kind(), ErrorKind::StreamFailed);
    assert_eq!(err.message(), "Upstream model crashed.");
    assert_eq!(
        err.route_decision().and_then(|d| d.deployment.as_deref()),
        Some("gpt-4.1-nano")
    );
    assert!(stream.next().await.is_none(), "nothing after the error");
    assert_eq!(server.request_count(), 1, "never retried after content");
}

#[tokio::test]
async fn a_stream_dropped_mid_way_is_an_error_and_is_not_retried() {
    for script in [
        Script::from_sse_body(fixtures::HELLO_STREAM).drop_after_frames(6),
        Script::from_sse_body(fixtures::HELLO_STREAM).drop_mid_frame(6),
    ] {
        let (server, stream) = open(script).await;
        let mut stream = stream.unwrap();
        let (events, err) = collect(&mut stream).await;
        let err = err.expect("truncation is an error");
        assert!(
            matches!(err.kind(), ErrorKind::Transport | ErrorKind::StreamProtocol),
            "{err:?}"
        );
        assert!(
            events.iter().any(|e| e.text_delta().is_some()),
            "content was delivered first"
        );
        assert_eq!(
            server.request_count(),
            1,
            "no retry after the first streamed event"
        );
    }
}

#[tokio::test]
async fn a_stream_that_ends_cleanly_without_a_terminal_event_is_truncated() {
    let (_server, stream) = open(hello_then(6, &[])).await;
    let mut stream = stream.unwrap();
    let (_, err) = collect(&mut stream).await;
    let err = err.expect("truncated");
    assert_eq!(err.kind(), ErrorKind::StreamProtocol);
    assert!(err.message().contains("truncated"), "{err}");
}

#[tokio::test]
async fn a_silent_stream_times_out() {
    let server =
        SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM).stall_after_frames(6))
            .await
            .unwrap();
    let client = crate::support::builder(&server.openai_base_url())
        .idle_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut stream = client.responses().stream(request()).await.unwrap();
    let (_, err) = collect(&mut stream).await;
    assert!(err.expect("idle timeout").is_timeout());
}

#[tokio::test]
async fn done_marker_is_tolerated_and_trailing_error_is_surfaced() {
    let done = "data: [DONE]\n\n";
    let (_server, stream) = open(hello_then(10, &[done])).await;
    let stream = stream.unwrap();
    assert_eq!(
        stream.final_response().await.unwrap().output_text(),
        "Hello!"
    );

    let trailing = "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"late failure\",\"param\":null}\n\n";
    let (_server, stream) = open(hello_then(10, &[trailing])).await;
    let stream = stream.unwrap();
    let err = stream.final_response().await.unwrap_err();
    assert_eq!(
        err.message(),
        "late failure",
        "read to EOF after response.completed"
    );
}

#[tokio::test]
async fn sequence_number_reset_is_a_protocol_error() {
    let frames = split_frames(fixtures::HELLO_STREAM);
    let replayed = frames[4].to_owned();
    let (_server, stream) = open(hello_then(6, &[&replayed])).await;
    let mut stream = stream.unwrap();
    let (_, err) = collect(&mut stream).await;
    let err = err.expect("reset detected");
    assert_eq!(err.kind(), ErrorKind::StreamProtocol);
    assert!(err.message().contains("sequence_number"), "{err}");
}

#[tokio::test]
async fn garbage_frame_is_a_decode_error() {
    let (_server, stream) = open(hello_then(2, &["data: {not json\n\n"])).await;
    let err = stream.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn dropping_the_stream_cancels_the_request() {
    let script =
        Script::from_sse_body(fixtures::HELLO_STREAM).frame_delay(Duration::from_millis(100));
    let (server, stream) = open(script).await;
    let mut stream = stream.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.event_type(), "response.created");
    drop(stream);
    let outcome = tokio::time::timeout(Duration::from_secs(5), server.wait_for_outcome(0))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        StreamOutcome::Abandoned,
        "the server saw the client go away"
    );
}

#[tokio::test]
async fn http_errors_on_stream_are_typed() {
    let server = SseFaultServer::start(Script::error(
        &routewise_testkit::ErrorReply::bad_gateway_html(),
    ))
    .await
    .unwrap();
    let client = crate::support::builder(&server.openai_base_url())
        .max_retries(0)
        .build()
        .unwrap();
    let err = client.responses().stream(request()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert!(err.body_snippet().is_some());
}
