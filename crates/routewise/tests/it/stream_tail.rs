//! What follows a terminal event: once `response.completed` arrived, a connection reset or a
//! body cut mid-frame before EOF ends the stream like EOF does. The response is complete, the
//! caller gets it, and the deployment is not reported as failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use routewise::{Client, ErrorKind};
use routewise_strategy::{MockStrategy, PlannedAttempt, RoutePlan};
use routewise_testkit::fixtures::{self, split_frames};
use routewise_transport::{ResponseBody, Transport, TransportError, body};
use routewise_types::CreateResponse;

/// How the body goes on after the frames.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// The connection is reset.
    Reset,
    /// Half a frame, then a clean EOF.
    Truncated,
}

/// Answers with a 200 SSE body of `frames`, then `tail`.
#[derive(Debug)]
struct Frames {
    frames: Vec<String>,
    tail: Tail,
}

#[async_trait]
impl Transport for Frames {
    async fn send(
        &self,
        _req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let mut chunks: Vec<Result<Bytes, std::io::Error>> = self
            .frames
            .iter()
            .map(|f| Ok(Bytes::from(f.clone())))
            .collect();
        chunks.push(match self.tail {
            Tail::Reset => Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )),
            Tail::Truncated => Ok(Bytes::from_static(b"event: error\ndata: {\"type\":")),
        });
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(body::from_stream(futures_util::stream::iter(chunks)))
            .expect("response"))
    }
}

/// A strategy that routes to one deployment and counts the failures it is told of.
fn counting_strategy(failures: Arc<AtomicUsize>) -> MockStrategy {
    let mut strategy = MockStrategy::new();
    strategy.expect_name().return_const("counting".to_owned());
    strategy
        .expect_route()
        .returning(|_| Ok(RoutePlan::new(vec![PlannedAttempt::named("gpt-4.1-nano")])));
    strategy.expect_observe().returning(move |outcome| {
        if !outcome.is_success() {
            failures.fetch_add(1, Ordering::SeqCst);
        }
    });
    strategy
}

fn client(frames: &[&str], tail: Tail, failures: Arc<AtomicUsize>) -> Client {
    Client::builder()
        .base_url("http://127.0.0.1:9/v1")
        .transport(Frames {
            frames: frames.iter().map(|f| (*f).to_owned()).collect(),
            tail,
        })
        .max_retries(0)
        .strategy(counting_strategy(failures))
        .build()
        .unwrap()
}

fn request() -> CreateResponse {
    CreateResponse::new("gpt-4.1-nano", "hi")
}

#[tokio::test]
async fn a_reset_or_truncation_after_completed_ends_the_stream_cleanly() {
    let hello = split_frames(fixtures::HELLO_STREAM);
    let (created, delta, completed) = (hello[0], hello[4], hello[9]);
    for tail in [Tail::Reset, Tail::Truncated] {
        let failures = Arc::new(AtomicUsize::new(0));
        let client = client(&[created, delta, completed], tail, failures.clone());

        let mut stream = client.responses().stream(request()).await.unwrap();
        let mut types = Vec::new();
        while let Some(item) = stream.next().await {
            types.push(
                item.map(|e| e.event_type().to_owned())
                    .map_err(|e| e.kind()),
            );
        }
        assert_eq!(
            types,
            [
                Ok("response.created".to_owned()),
                Ok("response.output_text.delta".to_owned()),
                Ok("response.completed".to_owned()),
            ],
            "{tail:?}"
        );
        assert_eq!(
            failures.load(Ordering::SeqCst),
            0,
            "{tail:?}: no failure reported"
        );

        let stream = client.responses().stream(request()).await.unwrap();
        let response = stream.final_response().await.unwrap();
        assert_eq!(response.output_text(), "Hello!", "{tail:?}");
        assert_eq!(
            failures.load(Ordering::SeqCst),
            0,
            "{tail:?}: no failure reported"
        );
    }
}

#[tokio::test]
async fn a_reset_before_the_terminal_event_is_still_an_error() {
    let hello = split_frames(fixtures::HELLO_STREAM);
    let failures = Arc::new(AtomicUsize::new(0));
    let client = client(&[hello[0], hello[4]], Tail::Reset, failures.clone());
    let stream = client.responses().stream(request()).await.unwrap();
    let err = stream.final_response().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(failures.load(Ordering::SeqCst), 1, "the strategy is told");
}
