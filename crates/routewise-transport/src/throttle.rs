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
//! Every later request waits until then before it is sent. The quiet period:
//!
//! * lasts at most [`ThrottleLayer::max_wait`] from the answer that asked for it: a server that
//!   asks for a day is not taken at its word; after `max_wait` the next request goes out and
//!   the server's answer to it decides;
//! * moves forward when a later answer asks for more, never back;
//! * ends early when a request sent while it was in force succeeds without asking for quiet
//!   (a `2xx` with quota left, or with no rate-limit headers at all): the server is serving
//!   again. A success to a request sent *before* the quiet period began ends nothing, since it
//!   says nothing about the server after the answer that asked for quiet.
//!
//! It is per process: a pacer for one client, not a shared quota (the server enforces that).

use std::sync::{Arc, Mutex, PoisonError};
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

    /// Caps how long a quiet period lasts after the answer that asked for it, and so how long
    /// a request waits for it to end (default [`DEFAULT_MAX_WAIT`]). A longer ask (`retry-after:
    /// 86400`, say) is held to this; then the next request is sent, and the server's answer to
    /// it (another 429, or a success that ends the quiet) reaches the caller.
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

/// The server's quiet period, shared by every request of one [`Throttle`].
#[derive(Debug)]
struct Gate {
    base: Instant,
    // A lock rather than atomics: the deadline and the count of asks must change together, or
    // a late success could end a quiet period asked for after it was sent. Never held across
    // an await.
    quiet: Mutex<Quiet>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Quiet {
    /// Until when, as microseconds after `Gate::base`.
    until_us: u64,
    /// How many answers asked for quiet so far. A request notes it when it is sent; if it is
    /// unchanged when the answer arrives, the current quiet period predates the request.
    asks: u64,
}

impl Gate {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            quiet: Mutex::new(Quiet::default()),
        }
    }

    fn quiet(&self) -> std::sync::MutexGuard<'_, Quiet> {
        // A panic elsewhere cannot leave a `Quiet` half-written: both fields are plain values.
        self.quiet.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn offset(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_micros()).unwrap_or(u64::MAX)
    }

    fn remaining(&self, now: Instant) -> Duration {
        let until = self.quiet().until_us;
        Duration::from_micros(until.saturating_sub(self.offset(now)))
    }

    /// The number of asks so far, noted by a request as it is sent.
    fn asks(&self) -> u64 {
        self.quiet().asks
    }

    /// Moves the deadline to `now + wait` unless it is already later.
    fn hold(&self, now: Instant, wait: Duration) {
        let wait = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let until = self.offset(now).saturating_add(wait);
        let mut quiet = self.quiet();
        quiet.until_us = quiet.until_us.max(until);
        quiet.asks += 1;
    }

    /// Ends the quiet period after a success to a request sent when `asks_at_send` asks had
    /// been made, unless some answer asked for quiet since.
    fn release(&self, asks_at_send: u64) {
        let mut quiet = self.quiet();
        if quiet.asks == asks_at_send {
            quiet.until_us = 0;
        }
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
        let asks_at_send = self.gate.asks();
        let res = self.inner.send(req).await?;
        match asked_wait(&res) {
            Some(asked) => {
                if asked > self.max_wait {
                    tracing::debug!(
                        asked_ms = asked.as_millis() as u64,
                        max_wait_ms = self.max_wait.as_millis() as u64,
                        "the server asked for more quiet than max_wait; holding to max_wait"
                    );
                }
                self.gate.hold(Instant::now(), asked.min(self.max_wait));
            }
            None if res.status().is_success() => self.gate.release(asks_at_send),
            None => {}
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower_layer::Layer;

    use super::*;
    use crate::body;

    const ZERO: Duration = Duration::ZERO;

    /// Answers each request with the next scripted status and headers (then 200s), after the
    /// next scripted delay (then none), and records when each request arrived.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: Vec<(u16, Vec<(&'static str, &'static str)>)>,
        delays: Vec<Duration>,
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
            if let Some(delay) = self.delays.get(n).filter(|d| !d.is_zero()) {
                tokio::time::sleep(*delay).await;
            }
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
        let ms = Duration::from_millis;
        let t = ThrottleLayer::new()
            .max_wait(Duration::from_secs(3))
            .layer(Scripted {
                answers: vec![
                    (429, vec![("retry-after", "2")]),
                    (503, vec![("retry-after-ms", "10")]),
                    (429, vec![("retry-after", "600")]),
                ],
                delays: vec![ms(100), ms(200)],
                ..Scripted::default()
            });
        // Both go out at once; the 10 ms asked at 0.2 s do not shorten the 2 s asked at 0.1 s.
        assert_eq!(tokio::join!(send(&t), send(&t)), (429, 503));
        assert_eq!(t.pending_wait(), ms(1900));
        send(&t).await;
        assert_eq!(
            t.pending_wait(),
            Duration::from_secs(3),
            "600 s held to max_wait"
        );
        send(&t).await;
        let g = gaps(&t);
        assert_eq!(
            g,
            vec![ZERO, ms(2100), ms(3000)],
            "each wait capped at max_wait"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_day_long_retry_after_is_held_to_max_wait_and_later_requests_flow() {
        let t = ThrottleLayer::new()
            .max_wait(Duration::from_secs(60))
            .layer(Scripted {
                answers: vec![(503, vec![("retry-after", "86400")])],
                ..Scripted::default()
            });
        assert_eq!(send(&t).await, 503);
        assert_eq!(
            t.pending_wait(),
            Duration::from_secs(60),
            "capped at max_wait"
        );
        for _ in 0..3 {
            assert_eq!(send(&t).await, 200);
        }
        assert_eq!(
            gaps(&t),
            vec![Duration::from_secs(60), Duration::ZERO, Duration::ZERO],
            "one wait of max_wait, then the server's successes decide"
        );
        assert!(t.pending_wait().is_zero());
    }

    fn delayed(
        answers: Vec<(u16, Vec<(&'static str, &'static str)>)>,
        delays: Vec<Duration>,
    ) -> Throttle<Scripted> {
        ThrottleLayer::new().layer(Scripted {
            answers,
            delays,
            ..Scripted::default()
        })
    }

    async fn send_after(t: &Throttle<Scripted>, delay: Duration) -> u16 {
        tokio::time::sleep(delay).await;
        send(t).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_sent_before_the_quiet_period_does_not_end_it() {
        let ms = Duration::from_millis;
        // Both go out at t=0. The 429 arrives at 0.1 s; the 200 with quota left at 1 s, but it
        // was sent before the 429, so it says nothing about the server after it.
        let t = delayed(
            vec![
                (429, vec![("retry-after", "10")]),
                (200, vec![("x-ratelimit-remaining-requests", "9")]),
            ],
            vec![ms(100), ms(1000)],
        );
        assert_eq!(tokio::join!(send(&t), send(&t)), (429, 200));
        assert_eq!(t.pending_wait(), ms(9100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_sent_under_the_quiet_period_ends_it() {
        let ms = Duration::from_millis;
        // 0 and 1 go out at t=0; 0's 429 asks for quiet until 10.1 s, and 2 (at 0.2 s) waits
        // for it. 1's 429 at 5 s extends the quiet to 45 s. 2 goes out at 10.1 s, under that
        // newer quiet period, and is served: the server has quota again, so the quiet ends.
        let t = delayed(
            vec![
                (429, vec![("retry-after", "10")]),
                (429, vec![("retry-after", "40")]),
                (200, vec![("x-ratelimit-remaining-requests", "9")]),
                (200, vec![]),
            ],
            vec![ms(100), ms(5000)],
        );
        let statuses = tokio::join!(send(&t), send(&t), send_after(&t, ms(200)));
        assert_eq!(statuses, (429, 429, 200));
        assert!(t.pending_wait().is_zero(), "{:?}", t.pending_wait());
        let before = Instant::now();
        assert_eq!(send(&t).await, 200);
        assert_eq!(before.elapsed(), Duration::ZERO);

        // A plain success without rate-limit headers is as good a proof.
        let t = delayed(
            vec![
                (429, vec![("retry-after", "10")]),
                (429, vec![("retry-after", "40")]),
            ],
            vec![ms(100), ms(5000)],
        );
        let statuses = tokio::join!(send(&t), send(&t), send_after(&t, ms(200)));
        assert_eq!(statuses, (429, 429, 200));
        assert!(t.pending_wait().is_zero(), "{:?}", t.pending_wait());
    }
}
