//! [`ThrottleLayer`]: paces every request through one transport by the server's own throttling
//! signals, so that concurrent callers stop sending once the server said "wait".
//!
//! [`RetryLayer`](crate::RetryLayer) makes *one* request wait before its retry. With many
//! requests in flight that is not enough: each of them meets its own 429 before backing off.
//! This layer remembers, for the whole transport, until when the server asked for quiet:
//!
//! * a `429` or `503` with `retry-after-ms`, `x-ms-retry-after-ms` or `retry-after`;
//! * an answer whose `x-ratelimit-remaining-requests` (or `-tokens`) is `0`, until its
//!   `x-ratelimit-reset-requests` (or `-tokens`).
//!
//! Every later request waits until then (at most [`ThrottleLayer::max_wait`]) before it is
//! sent. The deadline only moves forward, is one atomic, and is per process: a pacer for one
//! client, not a shared quota (the server enforces that).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;

use crate::retry::{RateLimitInfo, parse_retry_after};
use crate::{ResponseBody, Transport, TransportError};

/// The default cap on one wait: a server asking for longer is better answered by the caller.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(60);

/// Wraps a transport in a [`Throttle`] that honours the server's throttling signals for every
/// request it sends.
///
/// Put it inside [`RetryLayer`](crate::RetryLayer) so that retries wait too:
///
/// ```
/// use std::time::Duration;
/// use routewise_transport::{RetryLayer, RetryPolicy, ThrottleLayer, Transport};
/// use tower_layer::Layer;
///
/// # #[derive(Debug)] struct Canned;
/// # #[async_trait::async_trait]
/// # impl Transport for Canned {
/// #     async fn send(&self, _: http::Request<bytes::Bytes>)
/// #         -> Result<http::Response<routewise_transport::ResponseBody>, routewise_transport::TransportError> {
/// #         Ok(http::Response::new(routewise_transport::body::full("{}")))
/// #     }
/// # }
/// let transport = RetryLayer::new(RetryPolicy::default())
///     .layer(ThrottleLayer::new().max_wait(Duration::from_secs(30)).layer(Canned));
/// # let _ = transport;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLayer {
    max_wait: Duration,
}

impl Default for ThrottleLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ThrottleLayer {
    /// A throttle whose waits are capped at [`DEFAULT_MAX_WAIT`].
    pub fn new() -> Self {
        Self {
            max_wait: DEFAULT_MAX_WAIT,
        }
    }

    /// Caps how long one request waits for the server's quiet period to end; the request is
    /// then sent anyway, and the server's answer (a 429, most likely) reaches the caller.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
}

impl<T> tower_layer::Layer<T> for ThrottleLayer {
    type Service = Throttle<T>;

    fn layer(&self, inner: T) -> Self::Service {
        Throttle {
            inner,
            max_wait: self.max_wait,
            gate: Arc::new(Gate::new()),
        }
    }
}

/// The transport made by [`ThrottleLayer`].
#[derive(Debug)]
pub struct Throttle<T> {
    inner: T,
    max_wait: Duration,
    gate: Arc<Gate>,
}

impl<T> Throttle<T> {
    /// The wrapped transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// How long a request sent now would wait (zero when the server asked for nothing).
    pub fn pending_wait(&self) -> Duration {
        self.gate.remaining(Instant::now())
    }
}

/// Until when the server asked for quiet, as microseconds after `base`.
#[derive(Debug)]
struct Gate {
    base: Instant,
    until_us: AtomicU64,
}

impl Gate {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            until_us: AtomicU64::new(0),
        }
    }

    fn offset(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_micros()).unwrap_or(u64::MAX)
    }

    fn remaining(&self, now: Instant) -> Duration {
        let until = self.until_us.load(Ordering::Relaxed);
        Duration::from_micros(until.saturating_sub(self.offset(now)))
    }

    /// Moves the deadline to `now + wait` unless it is already later.
    fn hold(&self, now: Instant, wait: Duration) {
        let wait = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let until = self.offset(now).saturating_add(wait);
        self.until_us.fetch_max(until, Ordering::Relaxed);
    }
}

/// The quiet period a response asks for, if any.
fn asked_wait(res: &http::Response<ResponseBody>) -> Option<Duration> {
    let headers = res.headers();
    let status = res.status().as_u16();
    if matches!(status, 429 | 503)
        && let Some(wait) = parse_retry_after(headers)
    {
        return Some(wait);
    }
    let info = RateLimitInfo::from_headers(headers);
    let exhausted =
        |remaining: Option<u64>, reset: Option<Duration>| reset.filter(|_| remaining == Some(0));
    match (
        exhausted(info.remaining_requests, info.reset_requests),
        exhausted(info.remaining_tokens, info.reset_tokens),
    ) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[async_trait]
impl<T: Transport> Transport for Throttle<T> {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let wait = self.gate.remaining(Instant::now()).min(self.max_wait);
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "throttled by the server's last answer"
            );
            tokio::time::sleep(wait).await;
        }
        let res = self.inner.send(req).await?;
        if let Some(wait) = asked_wait(&res) {
            self.gate.hold(Instant::now(), wait);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tower_layer::Layer;

    use super::*;
    use crate::body;

    /// Answers each request with the next scripted status and headers (then 200s), and
    /// records when each request arrived.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: Vec<(u16, Vec<(&'static str, &'static str)>)>,
        sent: AtomicUsize,
        arrivals: std::sync::Mutex<Vec<Instant>>,
    }

    #[async_trait]
    impl Transport for Scripted {
        async fn send(
            &self,
            _req: http::Request<Bytes>,
        ) -> Result<http::Response<ResponseBody>, TransportError> {
            self.arrivals.lock().unwrap().push(Instant::now());
            let n = self.sent.fetch_add(1, Ordering::Relaxed);
            let (status, headers) = self.answers.get(n).cloned().unwrap_or((200, Vec::new()));
            let mut res = http::Response::new(body::full("{}"));
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
            for (k, v) in headers {
                res.headers_mut().insert(k, v.parse().unwrap());
            }
            Ok(res)
        }
    }

    fn throttle(answers: Vec<(u16, Vec<(&'static str, &'static str)>)>) -> Throttle<Scripted> {
        ThrottleLayer::new().layer(Scripted {
            answers,
            ..Scripted::default()
        })
    }

    async fn send(t: &Throttle<Scripted>) -> u16 {
        t.send(http::Request::new(Bytes::new()))
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    fn gaps(t: &Throttle<Scripted>) -> Vec<Duration> {
        let at = t.get_ref().arrivals.lock().unwrap();
        at.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_holds_back_the_next_requests_for_its_retry_after() {
        let t = throttle(vec![(429, vec![("retry-after-ms", "1500")])]);
        assert_eq!(send(&t).await, 429, "the 429 itself reaches the caller");
        assert_eq!(t.pending_wait(), Duration::from_millis(1500));
        // Three callers at once: none is sent before the quiet period ends.
        let (a, b, c) = tokio::join!(send(&t), send(&t), send(&t));
        assert_eq!((a, b, c), (200, 200, 200));
        let g = gaps(&t);
        assert!(g[0] >= Duration::from_millis(1500), "{g:?}");
        assert!(g[1..].iter().all(|g| g.is_zero()), "{g:?}");
        assert!(t.pending_wait().is_zero());
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_quota_on_a_success_waits_for_its_reset() {
        let t = throttle(vec![(
            200,
            vec![
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", "2s"),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", "500ms"),
            ],
        )]);
        send(&t).await;
        send(&t).await;
        assert!(
            gaps(&t)[0] >= Duration::from_secs(2),
            "the longer reset wins"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_asked_means_no_wait_and_placeholders_are_ignored() {
        let t = throttle(vec![
            (
                200,
                vec![
                    ("x-ratelimit-remaining-requests", "5"),
                    ("x-ratelimit-reset-requests", "9s"),
                ],
            ),
            (
                200,
                vec![
                    ("x-ratelimit-remaining-requests", "-1"),
                    ("x-ratelimit-reset-requests", "9s"),
                ],
            ),
            (500, vec![("retry-after", "7")]),
        ]);
        for _ in 0..4 {
            send(&t).await;
        }
        assert!(gaps(&t).iter().all(|g| g.is_zero()), "{:?}", gaps(&t));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_are_capped_and_the_deadline_never_moves_back() {
        let t = ThrottleLayer::new()
            .max_wait(Duration::from_secs(3))
            .layer(Scripted {
                answers: vec![
                    (429, vec![("retry-after", "600")]),
                    (503, vec![("retry-after-ms", "10")]),
                ],
                ..Scripted::default()
            });
        send(&t).await;
        send(&t).await;
        // The 10 ms of the 503 did not shorten the 600 s asked before it.
        assert!(t.pending_wait() > Duration::from_secs(590));
        send(&t).await;
        let g = gaps(&t);
        assert_eq!(
            g,
            vec![Duration::from_secs(3), Duration::from_secs(3)],
            "capped at max_wait"
        );
    }
}
