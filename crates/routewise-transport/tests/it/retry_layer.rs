//! The retry layer against a scripted, recording fake transport, on tokio's paused clock.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use routewise_transport::retry::{Jitter, RetryCount};
use routewise_transport::sse::SseStream;
use routewise_transport::{
    ResponseBody, RetryLayer, RetryPolicy, TimeoutLayer, Transport, TransportError,
    TransportErrorKind, body,
};
use tokio::time::Instant;
use tower_layer::Layer;

enum Outcome {
    Status(u16, &'static [(&'static str, &'static str)]),
    Error(TransportErrorKind),
    /// 200 with a body that yields these chunks, then fails.
    BrokenStream(&'static [&'static str]),
}

/// Sends attempt records: when each attempt started, and what it carried.
struct Attempt {
    at: Instant,
    uri: http::Uri,
    header: Option<http::HeaderValue>,
    body: Bytes,
}

#[derive(Default)]
struct Fake {
    script: Mutex<VecDeque<Outcome>>,
    attempts: Mutex<Vec<Attempt>>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake").finish_non_exhaustive()
    }
}

impl Fake {
    fn new(script: impl IntoIterator<Item = Outcome>) -> Self {
        Self {
            script: Mutex::new(script.into_iter().collect()),
            ..Self::default()
        }
    }

    fn attempts(&self) -> usize {
        self.attempts.lock().unwrap().len()
    }
}

#[async_trait]
impl Transport for Fake {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        self.attempts.lock().unwrap().push(Attempt {
            at: Instant::now(),
            uri: req.uri().clone(),
            header: req.headers().get("x-custom").cloned(),
            body: req.body().clone(),
        });
        let next = self.script.lock().unwrap().pop_front();
        match next.expect("the fake ran out of scripted outcomes") {
            Outcome::Status(code, headers) => {
                let mut res = http::Response::builder().status(code);
                for (k, v) in headers {
                    res = res.header(*k, *v);
                }
                Ok(res.body(body::full(format!("status {code}"))).unwrap())
            }
            Outcome::Error(kind) => Err(TransportError::msg(kind, "scripted")),
            Outcome::BrokenStream(chunks) => {
                let items = chunks
                    .iter()
                    .map(|c| Ok(Bytes::from_static(c.as_bytes())))
                    .chain([Err(std::io::Error::other("connection reset"))]);
                Ok(http::Response::new(body::from_stream(
                    futures_util::stream::iter(items),
                )))
            }
        }
    }
}

fn exact_policy() -> RetryPolicy {
    RetryPolicy::default().with_jitter(Jitter::none())
}

fn request() -> http::Request<Bytes> {
    http::Request::post("https://example.test/openai/v1/responses")
        .header("x-custom", "kept")
        .body(Bytes::from_static(b"{\"model\":\"model-router\"}"))
        .unwrap()
}

fn retry_count(res: &http::Response<ResponseBody>) -> u32 {
    res.extensions().get::<RetryCount>().unwrap().0
}

#[tokio::test(start_paused = true)]
async fn retries_then_succeeds_replaying_the_request() {
    let fake = Fake::new([
        Outcome::Status(503, &[]),
        Outcome::Status(429, &[("retry-after-ms", "1500")]),
        Outcome::Status(200, &[]),
    ]);
    let retry = RetryLayer::new(exact_policy()).layer(&fake);
    let start = Instant::now();
    let res = retry.send(request()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(retry_count(&res), 2);

    let attempts = fake.attempts.lock().unwrap();
    assert_eq!(attempts.len(), 3);
    let offsets: Vec<_> = attempts.iter().map(|a| a.at - start).collect();
    // 0.5 s of backoff after the 503, then the 1.5 s the 429 asked for.
    assert_eq!(
        offsets,
        [
            Duration::ZERO,
            Duration::from_millis(500),
            Duration::from_millis(2000)
        ]
    );
    for a in attempts.iter() {
        assert_eq!(a.uri, "https://example.test/openai/v1/responses");
        assert_eq!(a.header.as_ref().unwrap(), "kept");
        assert_eq!(&a.body[..], b"{\"model\":\"model-router\"}");
    }
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_retries_and_returns_the_last_response() {
    let fake = Fake::new((0..4).map(|_| Outcome::Status(500, &[])));
    let retry = RetryLayer::new(exact_policy()).layer(&fake);
    let start = Instant::now();
    let res = retry.send(request()).await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(retry_count(&res), 2);
    assert_eq!(fake.attempts(), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    assert_eq!(
        &body::collect(res.into_body()).await.unwrap()[..],
        b"status 500"
    );
}

#[tokio::test(start_paused = true)]
async fn configurable_retry_count() {
    let fake = Fake::new((0..6).map(|_| Outcome::Error(TransportErrorKind::Connect)));
    let retry = RetryLayer::new(exact_policy().with_max_retries(4)).layer(&fake);
    assert!(retry.send(request()).await.unwrap_err().is_connect());
    assert_eq!(fake.attempts(), 5);
}

#[tokio::test(start_paused = true)]
async fn does_not_retry_client_errors_or_declined_or_too_long_waits() {
    for outcome in [
        Outcome::Status(400, &[]),
        Outcome::Status(401, &[]),
        Outcome::Status(503, &[("x-should-retry", "false")]),
        Outcome::Status(429, &[("retry-after", "121")]),
        Outcome::Error(TransportErrorKind::Other),
    ] {
        let fake = Fake::new([outcome]);
        let retry = RetryLayer::new(exact_policy()).layer(&fake);
        let start = Instant::now();
        let _ = retry.send(request()).await;
        assert_eq!(fake.attempts(), 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

#[tokio::test(start_paused = true)]
async fn retries_connect_and_timeout_errors() {
    let fake = Fake::new([
        Outcome::Error(TransportErrorKind::Connect),
        Outcome::Error(TransportErrorKind::Timeout),
        Outcome::Status(200, &[]),
    ]);
    let res = RetryLayer::new(exact_policy())
        .layer(&fake)
        .send(request())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(fake.attempts(), 3);
}

#[tokio::test(start_paused = true)]
async fn never_retries_once_a_stream_reached_the_caller() {
    let fake = Fake::new([Outcome::BrokenStream(&[
        "event: response.created\ndata: {\"type\":\"response.created\"}\n\n",
        "event: response.output_text.delta\ndata: {\"ty",
    ])]);
    let retry = RetryLayer::new(exact_policy()).layer(&fake);
    let res = retry.send(request()).await.unwrap();
    let mut events = SseStream::new(res.into_body());
    assert_eq!(
        events.next().await.unwrap().unwrap().event.as_deref(),
        Some("response.created")
    );
    let err = events.next().await.unwrap().unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    assert!(events.next().await.is_none());
    assert_eq!(fake.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_cancels_pending_retries() {
    let fake = std::sync::Arc::new(Fake::new((0..3).map(|_| Outcome::Status(503, &[]))));
    let retry = RetryLayer::new(exact_policy()).layer(fake.clone());
    let task = tokio::spawn(async move { retry.send(request()).await.map(|_| ()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.attempts(), 1);
}

#[derive(Debug)]
struct Hanging;

#[async_trait]
impl Transport for Hanging {
    async fn send(
        &self,
        _req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let never = std::future::pending::<Infallible>().await;
        match never {}
    }
}

#[tokio::test(start_paused = true)]
async fn layers_compose_directly_and_through_a_service_builder() {
    let timeout = TimeoutLayer::new().response_header_timeout(Duration::from_secs(10));
    let start = Instant::now();
    let stacked = RetryLayer::new(exact_policy()).layer(timeout.layer(Hanging));
    assert!(stacked.send(request()).await.unwrap_err().is_timeout());
    // Three attempts of 10 s, with 0.5 s and 1 s of backoff between them.
    assert_eq!(start.elapsed(), Duration::from_millis(31_500));

    let built = tower::ServiceBuilder::new()
        .layer(RetryLayer::new(exact_policy().with_max_retries(0)))
        .layer(timeout)
        .service(Hanging);
    let shared: routewise_transport::SharedTransport = std::sync::Arc::new(built);
    assert!(shared.send(request()).await.unwrap_err().is_timeout());
}
