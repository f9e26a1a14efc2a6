//! The retry decision: which outcomes to retry and how long to wait.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use super::Jitter;
use super::headers::parse_retry_after_at;
use crate::TransportErrorKind;

/// When to retry a request, matching the official OpenAI SDKs.
///
/// - Retry on 408, 409, 429 and 5xx, and on connect, timeout and I/O errors (the connection
///   failed before a response arrived).
/// - `x-should-retry: true` / `false` on an error response overrides the status rule.
/// - Wait what the server asks for (see [`parse_retry_after`](super::parse_retry_after)); if it
///   asks for more than `max_retry_after` (120 s), give up instead.
/// - Otherwise back off exponentially from `initial_backoff` (0.5 s) to `max_backoff` (8 s), minus
///   up to 25 % [`Jitter`].
/// - At most `max_retries` (2) retries.
///
/// ```
/// use std::time::Duration;
/// use routewise_transport::retry::{Jitter, RetryDecision, RetryInput, RetryPolicy};
///
/// let policy = RetryPolicy::default().with_jitter(Jitter::none());
/// let headers = http::HeaderMap::new();
/// let decision = policy.decide(0, RetryInput::response(http::StatusCode::TOO_MANY_REQUESTS, &headers));
/// assert_eq!(decision, RetryDecision::Retry { delay: Duration::from_millis(500) });
/// assert!(!policy.decide(0, RetryInput::response(http::StatusCode::BAD_REQUEST, &headers)).is_retry());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2; 0 disables retrying).
    pub max_retries: u32,
    /// The first backoff delay (default 0.5 s), doubled on each retry.
    pub initial_backoff: Duration,
    /// The backoff ceiling (default 8 s).
    pub max_backoff: Duration,
    /// The longest server-requested delay to honour (default 120 s); longer means give up.
    pub max_retry_after: Duration,
    /// Randomness taken off backoff delays (not off server-requested ones).
    pub jitter: Jitter,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(120),
            jitter: Jitter::default(),
        }
    }
}

/// The outcome of one attempt, as the retry policy sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum RetryInput<'a> {
    /// The response headers arrived.
    Response {
        /// The status code.
        status: StatusCode,
        /// The response headers.
        headers: &'a HeaderMap,
    },
    /// The attempt failed without a response.
    Error(TransportErrorKind),
}

impl<'a> RetryInput<'a> {
    /// A response with `status` and `headers`.
    pub fn response(status: StatusCode, headers: &'a HeaderMap) -> Self {
        Self::Response { status, headers }
    }

    /// A transport error of `kind`.
    pub fn error(kind: TransportErrorKind) -> Self {
        Self::Error(kind)
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Send the request again after `delay`.
    Retry {
        /// How long to wait first.
        delay: Duration,
    },
    /// Hand the outcome back to the caller.
    DoNotRetry {
        /// Why.
        reason: NoRetryReason,
    },
}

impl RetryDecision {
    /// Whether to retry.
    pub fn is_retry(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }

    /// The delay before the retry, if retrying.
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Self::Retry { delay } => Some(*delay),
            Self::DoNotRetry { .. } => None,
        }
    }
}

/// Why a [`RetryDecision`] is not to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoRetryReason {
    /// The outcome is a success, or an error that retrying will not fix.
    NotRetryable,
    /// The server sent `x-should-retry: false`.
    ServerDeclined,
    /// `max_retries` retries were already made.
    RetriesExhausted,
    /// The server asked to wait longer than `max_retry_after`.
    RetryAfterTooLong(Duration),
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets [`max_retries`](Self::max_retries).
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the backoff range.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// Sets the [`Jitter`] (e.g. a seeded one in tests).
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Decides what to do after `retries_so_far` retries (0 after the first attempt) ended with
    /// `outcome`. Draws one jitter sample when it backs off.
    pub fn decide(&self, retries_so_far: u32, outcome: RetryInput<'_>) -> RetryDecision {
        self.decide_at(retries_so_far, outcome, SystemTime::now())
    }

    /// [`decide`](Self::decide) with an explicit "now" for `retry-after` HTTP-dates.
    pub fn decide_at(
        &self,
        retries_so_far: u32,
        outcome: RetryInput<'_>,
        now: SystemTime,
    ) -> RetryDecision {
        let stop = |reason| RetryDecision::DoNotRetry { reason };
        let headers = match outcome {
            RetryInput::Response { status, headers } => {
                if status.as_u16() < 400 {
                    return stop(NoRetryReason::NotRetryable);
                }
                match should_retry_header(headers) {
                    Some(false) => return stop(NoRetryReason::ServerDeclined),
                    Some(true) => {}
                    None if is_retryable_status(status) => {}
                    None => return stop(NoRetryReason::NotRetryable),
                }
                Some(headers)
            }
            RetryInput::Error(kind) => {
                let retryable = matches!(
                    kind,
                    TransportErrorKind::Connect
                        | TransportErrorKind::Timeout
                        | TransportErrorKind::Io
                );
                if !retryable {
                    return stop(NoRetryReason::NotRetryable);
                }
                None
            }
        };
        if retries_so_far >= self.max_retries {
            return stop(NoRetryReason::RetriesExhausted);
        }
        if let Some(asked) = headers.and_then(|h| parse_retry_after_at(h, now)) {
            if asked > self.max_retry_after {
                return stop(NoRetryReason::RetryAfterTooLong(asked));
            }
            // Like the SDKs, a zero (or past) request falls back to our own backoff.
            if !asked.is_zero() {
                return RetryDecision::Retry { delay: asked };
            }
        }
        RetryDecision::Retry {
            delay: self.backoff(retries_so_far),
        }
    }

    /// The jittered backoff before retry number `retries_so_far + 1`.
    fn backoff(&self, retries_so_far: u32) -> Duration {
        let factor = 2f64.powi(retries_so_far.min(64) as i32);
        let base = self.initial_backoff.as_secs_f64() * factor;
        let capped = base.min(self.max_backoff.as_secs_f64());
        let jittered = capped * (1.0 - self.jitter.fraction() * self.jitter.sample());
        Duration::try_from_secs_f64(jittered).unwrap_or(self.max_backoff)
    }
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get("x-should-retry")?.to_str().ok()?.trim();
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> RetryPolicy {
        RetryPolicy::default().with_jitter(Jitter::none())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    fn status(code: u16, pairs: &[(&'static str, &str)]) -> RetryDecision {
        let h = headers(pairs);
        exact().decide(
            0,
            RetryInput::response(StatusCode::from_u16(code).unwrap(), &h),
        )
    }

    const HALF: RetryDecision = RetryDecision::Retry {
        delay: Duration::from_millis(500),
    };

    #[test]
    fn status_table() {
        for code in [408, 409, 429, 500, 502, 503, 504, 599] {
            assert_eq!(status(code, &[]), HALF, "{code}");
        }
        for code in [200, 201, 204, 301, 304, 400, 401, 403, 404, 413, 422] {
            assert!(!status(code, &[]).is_retry(), "{code}");
        }
    }

    #[test]
    fn x_should_retry_overrides_the_status() {
        assert_eq!(status(400, &[("x-should-retry", "true")]), HALF);
        let declined = RetryDecision::DoNotRetry {
            reason: NoRetryReason::ServerDeclined,
        };
        assert_eq!(status(503, &[("x-should-retry", "false")]), declined);
        assert_eq!(status(429, &[("x-should-retry", "FALSE")]), declined);
        assert_eq!(status(429, &[("x-should-retry", "maybe")]), HALF);
        // Success is never retried, whatever the header says.
        assert!(!status(200, &[("x-should-retry", "true")]).is_retry());
    }

    #[test]
    fn server_requested_delay_in_each_header_form() {
        let ms = Duration::from_millis;
        let retry = |delay| RetryDecision::Retry { delay };
        assert_eq!(
            status(429, &[("retry-after-ms", "1234.5")]),
            retry(Duration::from_micros(1_234_500))
        );
        assert_eq!(
            status(429, &[("x-ms-retry-after-ms", "700")]),
            retry(ms(700))
        );
        assert_eq!(status(503, &[("retry-after", "7")]), retry(ms(7000)));
        assert_eq!(status(503, &[("retry-after", "0.25")]), retry(ms(250)));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let h = headers(&[(
            "retry-after",
            &httpdate::fmt_http_date(now + Duration::from_secs(20)),
        )]);
        let d = exact().decide_at(
            0,
            RetryInput::response(StatusCode::TOO_MANY_REQUESTS, &h),
            now,
        );
        assert_eq!(d, retry(ms(20_000)));
        // A zero request falls back to the backoff.
        assert_eq!(status(429, &[("retry-after", "0")]), HALF);
        // The requested delay is honoured even on a header-forced retry.
        assert_eq!(
            status(400, &[("x-should-retry", "true"), ("retry-after-ms", "10")]),
            retry(ms(10))
        );
    }

    #[test]
    fn requests_over_the_120s_cap_are_not_retried() {
        assert_eq!(
            status(429, &[("retry-after", "120")]).delay(),
            Some(Duration::from_secs(120))
        );
        for pairs in [
            &[("retry-after", "121")][..],
            &[("retry-after-ms", "120001")],
            &[("x-ms-retry-after-ms", "3600000")],
            &[("retry-after", "120.5")],
        ] {
            let d = status(429, pairs);
            assert!(
                matches!(
                    d,
                    RetryDecision::DoNotRetry {
                        reason: NoRetryReason::RetryAfterTooLong(_)
                    }
                ),
                "{pairs:?} gave {d:?}"
            );
        }
        let far = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        assert!(!status(429, &[("retry-after", &far)]).is_retry());
    }

    #[test]
    fn transport_errors() {
        let p = exact();
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Io,
        ] {
            assert_eq!(p.decide(0, RetryInput::error(kind)), HALF, "{kind:?}");
        }
        for kind in [TransportErrorKind::Body, TransportErrorKind::Other] {
            assert!(!p.decide(0, RetryInput::error(kind)).is_retry(), "{kind:?}");
        }
    }

    #[test]
    fn retries_are_bounded() {
        let h = HeaderMap::new();
        let p = exact();
        let unavailable = RetryInput::response(StatusCode::SERVICE_UNAVAILABLE, &h);
        assert!(p.decide(1, unavailable).is_retry());
        let exhausted = RetryDecision::DoNotRetry {
            reason: NoRetryReason::RetriesExhausted,
        };
        assert_eq!(p.decide(2, unavailable), exhausted);
        assert_eq!(RetryPolicy::never().decide(0, unavailable), exhausted);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = exact().with_max_retries(100);
        let h = HeaderMap::new();
        let input = RetryInput::response(StatusCode::INTERNAL_SERVER_ERROR, &h);
        let delays: Vec<_> = (0..7)
            .map(|n| p.decide(n, input).delay().unwrap().as_millis())
            .collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(p.decide(99, input).delay(), Some(Duration::from_secs(8)));
    }

    #[test]
    fn jittered_backoff_stays_within_bounds_and_is_reproducible() {
        let seeded = || {
            RetryPolicy::default()
                .with_max_retries(10)
                .with_jitter(Jitter::seeded(0.25, 42))
        };
        let (a, b) = (seeded(), seeded());
        let h = HeaderMap::new();
        let input = RetryInput::response(StatusCode::TOO_MANY_REQUESTS, &h);
        let mut distinct = std::collections::HashSet::new();
        for round in 0..200 {
            let n = round % 6;
            let base = (0.5 * 2f64.powi(n as i32)).min(8.0);
            let da = a.decide(n, input).delay().unwrap();
            assert_eq!(Some(da), b.decide(n, input).delay());
            let secs = da.as_secs_f64();
            assert!(
                secs > base * 0.75 - 1e-9 && secs <= base,
                "{n}: {secs} vs {base}"
            );
            distinct.insert(da);
        }
        assert!(
            distinct.len() > 100,
            "jitter should vary: {}",
            distinct.len()
        );
    }
}
