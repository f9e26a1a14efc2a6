//! Response-header and idle-body timeouts as a layer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::time::{Instant, Sleep};

use crate::{BoxError, ResponseBody, Transport, TransportError};

/// Adds timeouts to a transport: how long to wait for the response headers, and how long the
/// response body may stay silent between two chunks (for SSE: between two events, keep-alive
/// comments included).
///
/// Both fail with a [`TransportErrorKind::Timeout`](crate::TransportErrorKind::Timeout) error; the
/// idle one arrives as the body's error. Connect timeouts are set on the connectors themselves.
///
/// ```
/// use std::time::Duration;
/// use routewise_transport::TimeoutLayer;
///
/// let layer = TimeoutLayer::new()
///     .response_header_timeout(Duration::from_secs(60))
///     .idle_timeout(Duration::from_secs(30));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeoutLayer {
    response_header: Option<Duration>,
    idle: Option<Duration>,
}

impl TimeoutLayer {
    /// A layer with no timeout set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails a request whose response headers do not arrive within `timeout`.
    pub fn response_header_timeout(mut self, timeout: Duration) -> Self {
        self.response_header = Some(timeout);
        self
    }

    /// Fails a response body that yields nothing for `timeout`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = Some(timeout);
        self
    }
}

impl<T> tower_layer::Layer<T> for TimeoutLayer {
    type Service = Timeout<T>;

    fn layer(&self, inner: T) -> Timeout<T> {
        Timeout {
            inner,
            config: *self,
        }
    }
}

/// A transport with the timeouts of a [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<T> {
    inner: T,
    config: TimeoutLayer,
}

impl<T> Timeout<T> {
    /// The wrapped transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

#[async_trait]
impl<T: Transport> Transport for Timeout<T> {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let res = match self.config.response_header {
            Some(limit) => tokio::time::timeout(limit, self.inner.send(req))
                .await
                .map_err(|_| {
                    TransportError::timeout(format!("no response headers within {limit:?}"))
                })??,
            None => self.inner.send(req).await?,
        };
        Ok(match self.config.idle {
            Some(idle) => res.map(|body| IdleTimeoutBody::new(body, idle).boxed_unsync()),
            None => res,
        })
    }
}

pin_project_lite::pin_project! {
    /// Fails with a timeout once the inner body stays silent for `idle`.
    struct IdleTimeoutBody {
        inner: ResponseBody,
        #[pin]
        sleep: Sleep,
        idle: Duration,
        timed_out: bool,
    }
}

impl IdleTimeoutBody {
    fn new(inner: ResponseBody, idle: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(idle),
            idle,
            timed_out: false,
        }
    }
}

impl Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.timed_out {
            return Poll::Ready(None);
        }
        match Pin::new(this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.sleep
                    .as_mut()
                    .reset(deadline(Instant::now(), *this.idle));
                Poll::Ready(frame)
            }
            Poll::Pending => match this.sleep.poll(cx) {
                Poll::Ready(()) => {
                    *this.timed_out = true;
                    let err = TransportError::timeout(format!(
                        "response body idle for more than {:?}",
                        this.idle
                    ));
                    Poll::Ready(Some(Err(Box::new(err))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `from + after`, or a deadline decades away when that overflows: a caller who passes
/// `Duration::MAX` means "no limit", and `Instant + Duration` panics on overflow.
///
/// ```
/// use std::time::Duration;
/// let now = tokio::time::Instant::now();
/// assert!(routewise_transport::deadline(now, Duration::MAX) > now);
/// ```
pub fn deadline(from: Instant, after: Duration) -> Instant {
    from.checked_add(after)
        .unwrap_or_else(|| from + Duration::from_secs(30 * 365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body;
    use tower_layer::Layer;

    #[derive(Debug)]
    struct Scripted {
        header_delay: Duration,
        chunk_gaps: Vec<Duration>,
    }

    #[async_trait]
    impl Transport for Scripted {
        async fn send(
            &self,
            _req: http::Request<Bytes>,
        ) -> Result<http::Response<ResponseBody>, TransportError> {
            tokio::time::sleep(self.header_delay).await;
            let gaps = self.chunk_gaps.clone();
            let chunks = futures_util::stream::unfold(gaps.into_iter(), |mut gaps| async move {
                let gap = gaps.next()?;
                tokio::time::sleep(gap).await;
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), gaps))
            });
            Ok(http::Response::new(body::from_stream(chunks)))
        }
    }

    fn request() -> http::Request<Bytes> {
        http::Request::new(Bytes::new())
    }

    #[tokio::test(start_paused = true)]
    async fn slow_headers_time_out() {
        let layer = TimeoutLayer::new().response_header_timeout(Duration::from_secs(5));
        let slow = layer.layer(Scripted {
            header_delay: Duration::from_secs(6),
            chunk_gaps: vec![],
        });
        assert!(slow.send(request()).await.unwrap_err().is_timeout());
        let fast = layer.layer(Scripted {
            header_delay: Duration::from_secs(4),
            chunk_gaps: vec![],
        });
        assert!(fast.send(request()).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timer_restarts_on_every_chunk() {
        let layer = TimeoutLayer::new().idle_timeout(Duration::from_secs(10));
        let secs = Duration::from_secs;
        let steady = layer.layer(Scripted {
            header_delay: Duration::ZERO,
            chunk_gaps: vec![secs(9), secs(9), secs(9)],
        });
        let res = steady.send(request()).await.unwrap();
        assert_eq!(&body::collect(res.into_body()).await.unwrap()[..], b"xxx");

        let stalls = layer.layer(Scripted {
            header_delay: Duration::ZERO,
            chunk_gaps: vec![secs(9), secs(11)],
        });
        let res = stalls.send(request()).await.unwrap();
        let err = body::collect(res.into_body()).await.unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
    }

    /// `Duration::MAX` means "no limit" to a caller; `Instant + Duration::MAX` would overflow.
    #[tokio::test(start_paused = true)]
    async fn huge_timeouts_mean_no_limit_instead_of_a_panic() {
        let layer = TimeoutLayer::new()
            .response_header_timeout(Duration::MAX)
            .idle_timeout(Duration::MAX);
        let secs = Duration::from_secs;
        let slow = layer.layer(Scripted {
            header_delay: secs(3600),
            chunk_gaps: vec![secs(1), secs(86_400), secs(1)],
        });
        let res = slow.send(request()).await.unwrap();
        assert_eq!(&body::collect(res.into_body()).await.unwrap()[..], b"xxx");
    }
}
