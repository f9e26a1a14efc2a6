//! `RetryLayer`: applies a [`RetryPolicy`] around any transport.

use async_trait::async_trait;
use bytes::Bytes;

use super::{RetryDecision, RetryInput, RetryPolicy};
use crate::{ResponseBody, Transport, TransportError};

/// Wraps a transport in [`Retry`] with a [`RetryPolicy`].
///
/// The decision is made on the status and headers (or the connection error) only. Once a
/// response is handed back its body belongs to the caller and is never retried, so a stream
/// whose first event reached the caller cannot be replayed behind its back; a stream that fails
/// later is the caller's to handle.
///
/// ```
/// use routewise_transport::{RetryLayer, RetryPolicy, TimeoutLayer};
/// use tower_layer::Layer;
/// # #[derive(Debug)] struct MyTransport;
/// # #[async_trait::async_trait]
/// # impl routewise_transport::Transport for MyTransport {
/// #     async fn send(&self, _: http::Request<bytes::Bytes>)
/// #         -> Result<http::Response<routewise_transport::ResponseBody>, routewise_transport::TransportError>
/// #     { Ok(http::Response::new(routewise_transport::body::empty())) }
/// # }
///
/// let transport = RetryLayer::new(RetryPolicy::default().with_max_retries(3))
///     .layer(TimeoutLayer::new().layer(MyTransport));
/// # let _ = transport;
/// ```
#[derive(Debug, Clone, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// A layer applying `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self { policy }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl<T> tower_layer::Layer<T> for RetryLayer {
    type Service = Retry<T>;

    fn layer(&self, inner: T) -> Retry<T> {
        Retry {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// A transport that retries per its [`RetryPolicy`], replaying the request body and sleeping
/// with tokio between attempts.
///
/// The returned response carries a [`RetryCount`] extension.
#[derive(Debug, Clone)]
pub struct Retry<T> {
    inner: T,
    policy: RetryPolicy,
}

impl<T> Retry<T> {
    /// The wrapped transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

/// How many retries preceded a response, as an `http::Response` extension set by [`Retry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryCount(pub u32);

#[async_trait]
impl<T: Transport> Transport for Retry<T> {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let mut retries = 0;
        loop {
            // The last permitted attempt takes the request itself: no clone of the headers.
            let attempt = if retries >= self.policy.max_retries {
                return self
                    .inner
                    .send(req)
                    .await
                    .map(|res| with_count(res, retries));
            } else {
                req.clone()
            };
            let result = self.inner.send(attempt).await;
            let decision = match &result {
                Ok(res) => self
                    .policy
                    .decide(retries, RetryInput::response(res.status(), res.headers())),
                Err(err) => self.policy.decide(retries, RetryInput::error(err.kind())),
            };
            let RetryDecision::Retry { delay } = decision else {
                return result.map(|res| with_count(res, retries));
            };
            match &result {
                Ok(res) => {
                    tracing::debug!(status = res.status().as_u16(), ?delay, retries, "retrying")
                }
                Err(err) => tracing::debug!(error.kind = %err.kind(), ?delay, retries, "retrying"),
            }
            // Dropping the response closes its body before we wait.
            drop(result);
            tokio::time::sleep(delay).await;
            retries += 1;
        }
    }
}

fn with_count(mut res: http::Response<ResponseBody>, retries: u32) -> http::Response<ResponseBody> {
    res.extensions_mut().insert(RetryCount(retries));
    res
}
