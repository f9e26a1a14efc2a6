//! What a limited deployment's quota looks like after admission, and its `x-ratelimit-*`,
//! `retry-after` and `retry-after-ms` headers.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

/// `x-ratelimit-limit-requests`: the deployment's requests per minute.
pub const LIMIT_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-limit-requests");
/// `x-ratelimit-limit-tokens`: the deployment's tokens per minute.
pub const LIMIT_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-limit-tokens");
/// `x-ratelimit-remaining-requests`: requests that would be admitted right now.
pub const REMAINING_REQUESTS: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining-requests");
/// `x-ratelimit-remaining-tokens`: tokens that would be admitted right now.
pub const REMAINING_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-remaining-tokens");
/// `x-ratelimit-reset-requests`: time until the request bucket is full again.
pub const RESET_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-reset-requests");
/// `x-ratelimit-reset-tokens`: time until the token bucket is full again.
pub const RESET_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-reset-tokens");
/// `retry-after-ms`: Azure's precise retry delay on a 429.
pub const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");

/// Which quota refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitKind {
    /// Requests per minute.
    Requests,
    /// Tokens per minute.
    Tokens,
}

impl RateLimitKind {
    /// `requests` or `tokens` (the error body's `type`, as OpenAI names it).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
        }
    }
}

/// One bucket's state: its per-minute limit, what is left now, and when it is full again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketStatus {
    /// The configured per-minute limit.
    pub limit: u64,
    /// Units (requests or tokens) that would be admitted right now.
    pub remaining: u64,
    /// Time until the bucket is full again.
    pub reset: Duration,
}

/// A limited deployment's quota after admission: the `x-ratelimit-*` headers it answers with.
///
/// ```
/// use std::time::Duration;
/// use routewise_gateway::{BucketStatus, RateLimitStatus};
///
/// let status = RateLimitStatus::new(
///     Some(BucketStatus::new(600, 9, Duration::from_millis(100))),
///     None,
/// );
/// let mut headers = http::HeaderMap::new();
/// status.write_headers(&mut headers);
/// assert_eq!(headers["x-ratelimit-limit-requests"], "600");
/// assert_eq!(headers["x-ratelimit-remaining-requests"], "9");
/// assert_eq!(headers["x-ratelimit-reset-requests"], "100ms");
/// assert!(!headers.contains_key("x-ratelimit-limit-tokens"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitStatus {
    /// The request bucket, when the deployment has an `rpm`.
    pub requests: Option<BucketStatus>,
    /// The token bucket, when the deployment has a `tpm`.
    pub tokens: Option<BucketStatus>,
}

impl BucketStatus {
    /// A bucket with `limit` per minute, `remaining` now, full again after `reset`.
    pub fn new(limit: u64, remaining: u64, reset: Duration) -> Self {
        Self {
            limit,
            remaining,
            reset,
        }
    }
}

impl RateLimitStatus {
    /// The status of these buckets.
    pub fn new(requests: Option<BucketStatus>, tokens: Option<BucketStatus>) -> Self {
        Self { requests, tokens }
    }

    /// Sets `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for each bucket there is,
    /// except a bucket the answer already reports: an upstream's own 429 or 503, passed
    /// through, keeps its figures, which are the ones that explain the refusal (ours would say
    /// requests remain while its `retry-after` says wait).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let pairs = [
            (
                &self.requests,
                LIMIT_REQUESTS,
                REMAINING_REQUESTS,
                RESET_REQUESTS,
            ),
            (&self.tokens, LIMIT_TOKENS, REMAINING_TOKENS, RESET_TOKENS),
        ];
        for (bucket, limit, remaining, reset) in pairs {
            if [&limit, &remaining, &reset]
                .iter()
                .any(|h| headers.contains_key(*h))
            {
                continue;
            }
            if let Some(b) = bucket {
                headers.insert(limit, HeaderValue::from(b.limit));
                headers.insert(remaining, HeaderValue::from(b.remaining));
                if let Ok(v) = HeaderValue::from_str(&format_reset(b.reset)) {
                    headers.insert(reset, v);
                }
            }
        }
    }
}

/// A wait in whole milliseconds, rounded up, at least 1.
pub(crate) fn retry_after_ms(wait: Duration) -> u64 {
    u64::try_from(wait.as_micros().div_ceil(1000).max(1)).unwrap_or(u64::MAX)
}

/// A wait in whole seconds, rounded up, at least 1 (what `retry-after` and the message say).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    retry_after_ms(wait).div_ceil(1000)
}

/// `retry-after` (whole seconds, rounded up, at least 1) and `retry-after-ms` (rounded up).
pub(crate) fn write_retry_after(headers: &mut HeaderMap, wait: Duration) {
    headers.insert(
        http::header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(wait)),
    );
    headers.insert(RETRY_AFTER_MS, HeaderValue::from(retry_after_ms(wait)));
}

/// OpenAI's reset format: `20ms`, `1.5s`, `6m0s`, `1h2m3s` (what `routewise-transport` and
/// the OpenAI SDKs parse).
pub(crate) fn format_reset(d: Duration) -> String {
    let ms = d.as_micros().div_ceil(1000);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let total_secs = ms / 1000;
    let frac = ms % 1000;
    let (h, m, s) = (total_secs / 3600, total_secs / 60 % 60, total_secs % 60);
    let mut out = String::with_capacity(12);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if frac == 0 {
        out.push_str(&format!("{s}s"));
    } else {
        let f = format!("{frac:03}");
        out.push_str(&format!("{s}.{}s", f.trim_end_matches('0')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_read_like_openai_s() {
        assert_eq!(format_reset(Duration::ZERO), "0ms");
        assert_eq!(format_reset(Duration::from_micros(1)), "1ms");
        assert_eq!(format_reset(Duration::from_millis(20)), "20ms");
        assert_eq!(format_reset(Duration::from_millis(1000)), "1s");
        assert_eq!(format_reset(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_reset(Duration::from_millis(59_999)), "59.999s");
        assert_eq!(format_reset(Duration::from_secs(360)), "6m0s");
        assert_eq!(format_reset(Duration::from_millis(3_723_500)), "1h2m3.5s");
    }

    #[test]
    fn retry_after_rounds_up() {
        let mut h = HeaderMap::new();
        write_retry_after(&mut h, Duration::from_micros(1_200_001));
        assert_eq!(h["retry-after"], "2");
        assert_eq!(h["retry-after-ms"], "1201");
        write_retry_after(&mut h, Duration::ZERO);
        assert_eq!(h["retry-after"], "1");
        assert_eq!(h["retry-after-ms"], "1");
    }

    #[test]
    fn both_buckets_give_six_headers() {
        let b = BucketStatus::new(60, 0, Duration::from_secs(1));
        let mut h = HeaderMap::new();
        RateLimitStatus::new(Some(b), Some(BucketStatus::new(1000, 10, Duration::ZERO)))
            .write_headers(&mut h);
        assert_eq!(h.len(), 6);
        assert_eq!(h["x-ratelimit-reset-requests"], "1s");
        assert_eq!(h["x-ratelimit-remaining-tokens"], "10");
    }
}
