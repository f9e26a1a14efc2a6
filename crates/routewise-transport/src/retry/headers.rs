//! Throttling headers: `retry-after` in its three forms and `x-ratelimit-*`.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The delay the server asks for, read from the first of these that parses:
///
/// 1. `retry-after-ms`: milliseconds, floats allowed (OpenAI, Azure);
/// 2. `x-ms-retry-after-ms`: milliseconds (Azure);
/// 3. `retry-after`: seconds (floats allowed) or an HTTP-date.
///
/// Negative, non-numeric and malformed values are skipped. A value too large to represent is
/// returned as [`Duration::MAX`] so that a cap still rejects it.
///
/// ```
/// use std::time::Duration;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("retry-after", "2".parse().unwrap());
/// headers.insert("retry-after-ms", "1500.5".parse().unwrap());
/// assert_eq!(
///     routewise_transport::parse_retry_after(&headers),
///     Some(Duration::from_micros(1_500_500))
/// );
/// ```
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    parse_retry_after_at(headers, SystemTime::now())
}

/// [`parse_retry_after`] with an explicit "now" for the HTTP-date form. A date in the past gives
/// [`Duration::ZERO`].
pub fn parse_retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    header_str(headers, "retry-after-ms")
        .and_then(|v| parse_float_duration(v, 1e-3))
        .or_else(|| {
            header_str(headers, "x-ms-retry-after-ms").and_then(|v| parse_float_duration(v, 1e-3))
        })
        .or_else(|| {
            let value = header_str(headers, "retry-after")?;
            parse_float_duration(value, 1.0).or_else(|| {
                let at = httpdate::parse_http_date(value).ok()?;
                Some(at.duration_since(now).unwrap_or(Duration::ZERO))
            })
        })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// Parses a non-negative decimal number of `unit` seconds.
fn parse_float_duration(value: &str, unit: f64) -> Option<Duration> {
    // `f64::from_str` also takes "inf" and "NaN"; only plain decimals are valid here.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let secs = value.parse::<f64>().ok()? * unit;
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// The `x-ratelimit-*` headers of a response. Every field is optional: servers send some, all or
/// none of them, and `-1` placeholders count as absent.
///
/// ```
/// use std::time::Duration;
/// use routewise_transport::RateLimitInfo;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-ratelimit-remaining-requests", "99".parse().unwrap());
/// headers.insert("x-ratelimit-remaining-tokens", "-1".parse().unwrap());
/// headers.insert("x-ratelimit-reset-tokens", "6m0s".parse().unwrap());
/// let info = RateLimitInfo::from_headers(&headers);
/// assert_eq!(info.remaining_requests, Some(99));
/// assert_eq!(info.remaining_tokens, None);
/// assert_eq!(info.reset_tokens, Some(Duration::from_secs(360)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// `x-ratelimit-limit-requests`.
    pub limit_requests: Option<u64>,
    /// `x-ratelimit-limit-tokens`.
    pub limit_tokens: Option<u64>,
    /// `x-ratelimit-remaining-requests`.
    pub remaining_requests: Option<u64>,
    /// `x-ratelimit-remaining-tokens`.
    pub remaining_tokens: Option<u64>,
    /// `x-ratelimit-reset-requests`: `1s`, `6m0s`, `20ms` or plain seconds.
    pub reset_requests: Option<Duration>,
    /// `x-ratelimit-reset-tokens`, same forms.
    pub reset_tokens: Option<Duration>,
}

impl RateLimitInfo {
    /// Reads the headers; missing or malformed ones are `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let count = |name| header_str(headers, name).and_then(|v| v.parse::<u64>().ok());
        let reset = |name| header_str(headers, name).and_then(parse_reset);
        Self {
            limit_requests: count("x-ratelimit-limit-requests"),
            limit_tokens: count("x-ratelimit-limit-tokens"),
            remaining_requests: count("x-ratelimit-remaining-requests"),
            remaining_tokens: count("x-ratelimit-remaining-tokens"),
            reset_requests: reset("x-ratelimit-reset-requests"),
            reset_tokens: reset("x-ratelimit-reset-tokens"),
        }
    }

    /// No rate-limit header was present.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Parses a reset period: plain seconds (`"12"`, `"0.5"`) or a Go-style duration
/// (`"1h2m3.5s"`, `"20ms"`).
fn parse_reset(value: &str) -> Option<Duration> {
    if let Some(d) = parse_float_duration(value, 1.0) {
        return Some(d);
    }
    const UNITS: [(&str, f64); 7] = [
        ("ms", 1e-3),
        ("us", 1e-6),
        ("\u{b5}s", 1e-6),
        ("ns", 1e-9),
        ("h", 3600.0),
        ("m", 60.0),
        ("s", 1.0),
    ];
    if value.is_empty() {
        return None;
    }
    let mut rest = value;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[unit.len()..];
        total += number * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn retry_after_forms_and_precedence() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let at = |pairs: &[(&'static str, &str)]| parse_retry_after_at(&headers(pairs), now);
        assert_eq!(
            at(&[("retry-after-ms", "250")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            at(&[("retry-after-ms", "0.5")]),
            Some(Duration::from_micros(500))
        );
        assert_eq!(
            at(&[("x-ms-retry-after-ms", "1200")]),
            Some(Duration::from_millis(1200))
        );
        assert_eq!(at(&[("retry-after", "3")]), Some(Duration::from_secs(3)));
        assert_eq!(
            at(&[("retry-after", "1.5")]),
            Some(Duration::from_millis(1500))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(at(&[("retry-after", &date)]), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(at(&[("retry-after", &past)]), Some(Duration::ZERO));

        let all = [
            ("retry-after", "9"),
            ("x-ms-retry-after-ms", "2000"),
            ("retry-after-ms", "100"),
        ];
        assert_eq!(at(&all), Some(Duration::from_millis(100)));
        assert_eq!(at(&all[..2]), Some(Duration::from_secs(2)));
        // A malformed higher-priority header falls through to the next one.
        assert_eq!(
            at(&[("retry-after-ms", "soon"), ("retry-after", "4")]),
            Some(Duration::from_secs(4))
        );
    }

    #[test]
    fn malformed_retry_after_is_ignored() {
        for bad in ["", "-1", "abc", "NaN", "inf", "1e3", "Thu, 99 Foo"] {
            assert_eq!(
                parse_retry_after(&headers(&[("retry-after", bad)])),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(parse_retry_after(&HeaderMap::new()), None);
        let huge = "9".repeat(400);
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &huge)])),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn rate_limit_headers_tolerate_absence_and_placeholders() {
        assert!(RateLimitInfo::from_headers(&HeaderMap::new()).is_empty());
        let info = RateLimitInfo::from_headers(&headers(&[
            ("x-ratelimit-limit-requests", "600"),
            ("x-ratelimit-limit-tokens", "-1"),
            ("x-ratelimit-remaining-requests", "599"),
            ("x-ratelimit-remaining-tokens", "149984"),
            ("x-ratelimit-reset-requests", "1h2m3.5s"),
            ("x-ratelimit-reset-tokens", "20ms"),
        ]));
        assert_eq!(info.limit_requests, Some(600));
        assert_eq!(info.limit_tokens, None);
        assert_eq!(info.remaining_requests, Some(599));
        assert_eq!(info.remaining_tokens, Some(149_984));
        assert_eq!(info.reset_requests, Some(Duration::from_millis(3_723_500)));
        assert_eq!(info.reset_tokens, Some(Duration::from_millis(20)));
        assert!(!info.is_empty());
    }

    #[test]
    fn reset_periods() {
        assert_eq!(parse_reset("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_reset("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("1m30s"), Some(Duration::from_secs(90)));
        for bad in ["", "s", "5x", "-1", "1h-2m", "ms"] {
            assert_eq!(parse_reset(bad), None, "{bad:?}");
        }
    }
}
