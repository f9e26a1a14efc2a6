//! Shared helpers for the integration tests.

#![allow(dead_code, unreachable_pub)]

pub mod scripted;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use routewise::{Client, ClientBuilder, Error, RoutedResponse};
use routewise_transport::{ResponseBody, RetryPolicy, Transport, TransportError, retry::Jitter};
use routewise_types::CreateResponse;

mockall::mock! {
    /// A mocked transport.
    #[derive(Debug)]
    pub Transport {}

    #[async_trait]
    impl Transport for Transport {
        async fn send(&self, req: http::Request<Bytes>) -> Result<http::Response<ResponseBody>, TransportError>;
    }
}

/// A retry policy with millisecond backoff and no jitter, so retry tests stay fast and exact.
pub fn fast_retries(max: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(max)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(20))
        .with_jitter(Jitter::none())
}

/// A builder for `base` with fast retries and short timeouts.
pub fn builder(base: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base)
        .retry_policy(fast_retries(2))
        .response_header_timeout(Duration::from_secs(10))
        .idle_timeout(Duration::from_secs(10))
}

/// `client.responses().create(...)` of one text input.
pub async fn create(client: &Client, model: &str, input: &str) -> Result<RoutedResponse, Error> {
    client
        .responses()
        .create(CreateResponse::new(model, input))
        .await
}

/// A JSON response for a mocked transport.
pub fn json_response(status: u16, body: &str) -> http::Response<ResponseBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(routewise_transport::body::full(body.to_owned()))
        .expect("valid response")
}

/// Makes a thread-scoped subscriber see every callsite, even in a binary whose other tests
/// run without one.
///
/// tracing caches each callsite's interest process-wide; while only one dispatcher exists it
/// asks the *calling thread's* default, so a callsite first hit by a concurrent test (no
/// subscriber) stays disabled for ours. A second, process-lifetime dispatcher makes tracing
/// combine the interest of every live dispatcher instead.
pub fn share_callsite_interest() {
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

/// Every event of `stream` until it ends, and the error that ended it, if any.
pub async fn collect(
    stream: &mut routewise::ResponseStream,
) -> (Vec<routewise_types::ResponseStreamEvent>, Option<Error>) {
    use futures_util::StreamExt;
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(err) => return (events, Some(err)),
        }
    }
    (events, None)
}
