//! Stream timing: the grace period after a failure or terminal frame, the event-level idle
//! timeout that keep-alive comments do not reset, and `final_response` after a yielded error.
//! All on paused time, so the minutes these bugs cost are measured without waiting for them.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use routewise::{Client, ErrorKind};
use routewise_testkit::fixtures::{self, split_frames};
use routewise_transport::{ResponseBody, Transport, TransportError, body};
use routewise_types::CreateResponse;
use tokio::time::Instant;

/// Answers every request with a 200 SSE body: each chunk after its delay, then silence with the
/// connection held open (a body that never ends).
#[derive(Debug, Clone)]
struct Hanging(Vec<(Duration, String)>);

#[async_trait]
impl Transport for Hanging {
    async fn send(
        &self,
        _req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let chunks = futures_util::stream::iter(self.0.clone())
            .then(|(delay, chunk)| async move {
                tokio::time::sleep(delay).await;
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            })
            .chain(futures_util::stream::pending());
        Ok(http::Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(body::from_stream(chunks))
            .expect("response"))
    }
}

fn client(chunks: Vec<(Duration, String)>) -> Client {
    Client::builder()
        .base_url("http://127.0.0.1:9/v1")
        .transport(Hanging(chunks))
        .max_retries(0)
        .build()
        .unwrap()
}

fn now(frames: &[&str]) -> Vec<(Duration, String)> {
    frames
        .iter()
        .map(|f| (Duration::ZERO, (*f).to_owned()))
        .collect()
}

fn request() -> CreateResponse {
    CreateResponse::new("gpt-4.1-nano", "hi")
}

#[tokio::test(start_paused = true)]
async fn a_failed_stream_that_stays_open_fails_after_the_grace_not_the_idle_timeout() {
    let frames = split_frames(fixtures::IN_BAND_FAILURE_STREAM);
    // created, in_progress, response.failed; the trailing `error` frame never comes.
    let started = Instant::now();
    let err = client(now(&frames[..3]))
        .responses()
        .stream(request())
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::StreamFailed, "{err}");
    assert!(err.message().contains("failed to generate"), "{err}");
    assert!(
        waited >= routewise::DEFAULT_STREAM_FAILURE_GRACE && waited < Duration::from_secs(10),
        "surfaced after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_azure_error_frame_inside_the_grace_is_merged_and_ends_the_wait() {
    let frames = split_frames(fixtures::CONTENT_FILTERED_STREAM);
    let mut chunks = now(&frames[..2]);
    chunks.push((Duration::from_millis(1500), frames[2].to_owned()));
    let started = Instant::now();
    let err = client(chunks)
        .responses()
        .stream(request())
        .await
        .unwrap_err();
    assert!(err.is_content_filtered(), "{err}");
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(1500),
        "no wait after both frames"
    );
}

#[tokio::test(start_paused = true)]
async fn the_grace_is_configurable() {
    let frames = split_frames(fixtures::IN_BAND_FAILURE_STREAM);
    let client = Client::builder()
        .base_url("http://127.0.0.1:9/v1")
        .transport(Hanging(now(&frames[..3])))
        .max_retries(0)
        .stream_failure_grace(Duration::from_millis(100))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.responses().stream(request()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamFailed);
    assert_eq!(started.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_completed_stream_that_stays_open_ends_after_the_grace() {
    let frames = split_frames(fixtures::HELLO_STREAM);
    let started = Instant::now();
    let stream = client(now(&frames))
        .responses()
        .stream(request())
        .await
        .unwrap();
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_text(), "Hello!");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comments_do_not_reset_the_event_idle_timeout() {
    let frames = split_frames(fixtures::HELLO_STREAM);
    let mut chunks = now(&frames[..5]);
    // A server that only pings: a comment every second, for far longer than the idle timeout.
    chunks.extend((0..120).map(|_| (Duration::from_secs(1), ": keep-alive\n\n".to_owned())));
    let client = Client::builder()
        .base_url("http://127.0.0.1:9/v1")
        .transport(Hanging(chunks))
        .max_retries(0)
        .idle_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut stream = client.responses().stream(request()).await.unwrap();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Some(err),
                None => return None,
            }
        }
    })
    .await
    .expect("the event idle timeout fires before the test's own");
    let err = outcome.expect("the stream fails");
    assert!(err.is_timeout(), "{err}");
    assert!(
        started.elapsed() <= Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn final_response_after_a_yielded_error_returns_that_error() {
    let frames = split_frames(fixtures::HELLO_STREAM);
    let failure = split_frames(fixtures::IN_BAND_FAILURE_STREAM);
    // Content first (the stream commits), then an in-band failure with its reason.
    let failed = failure[2].replace("\"sequence_number\":2", "\"sequence_number\":20");
    let error = failure[3].replace("\"sequence_number\":3", "\"sequence_number\":21");
    let mut chunks = now(&frames[..5]);
    chunks.push((Duration::ZERO, failed));
    chunks.push((Duration::ZERO, error));
    let mut stream = client(chunks).responses().stream(request()).await.unwrap();
    let mut yielded = None;
    while let Some(item) = stream.next().await {
        if let Err(err) = item {
            yielded = Some(err);
        }
    }
    let yielded = yielded.expect("the stream yields the failure");
    let err = stream.final_response().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamFailed, "{err}");
    assert_eq!(err.message(), yielded.message());
}

/// Every timeout set to `Duration::MAX` ("no limit") works end to end, on the default
/// transport: neither the transport's idle timer nor the stream reader overflows an `Instant`.
#[tokio::test]
async fn timeouts_of_duration_max_mean_no_limit() {
    let foundry = routewise_testkit::MockFoundry::start().await;
    foundry.with_seed_deployments();
    let client = Client::builder()
        .base_url(&foundry.openai_base_url())
        .credential(routewise_auth::ApiKey::new("k"))
        .connect_timeout(Duration::MAX)
        .response_header_timeout(Duration::MAX)
        .idle_timeout(Duration::MAX)
        .token_timeout(Duration::MAX)
        .stream_failure_grace(Duration::MAX)
        .build()
        .unwrap();
    let created = client.responses().create(request()).await.unwrap();
    assert!(!created.output_text().is_empty());
    let streamed = client.responses().stream(request()).await.unwrap();
    assert!(
        !streamed
            .final_response()
            .await
            .unwrap()
            .output_text()
            .is_empty()
    );
}
