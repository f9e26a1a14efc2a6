//! Diagnostic headers every response and error carries.

use http::HeaderMap;
use std::time::Duration;

use routewise_transport::{RateLimitInfo, parse_retry_after};

/// The diagnostic and quota headers of one HTTP response (digest §4).
///
/// Every field is optional: servers, proxies and mocks send different subsets.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// `x-request-id`, what OpenAI support asks for.
    pub request_id: Option<String>,
    /// `apim-request-id`, what Azure support asks for.
    pub apim_request_id: Option<String>,
    /// `x-ms-client-request-id` echoed back.
    pub client_request_id: Option<String>,
    /// `x-ms-region`, the region that served the call.
    pub region: Option<String>,
    /// `x-should-retry`, the server's own verdict on retrying.
    pub should_retry: Option<bool>,
    /// The parsed `x-ratelimit-*` headers.
    pub rate_limit: RateLimitInfo,
    /// The delay the server asked for: `retry-after-ms`, `x-ms-retry-after-ms` or `retry-after`.
    pub retry_after: Option<Duration>,
}

impl ResponseMeta {
    /// Reads the headers it knows from `headers`; unknown or malformed values are skipped.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let should_retry = match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
            Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        };
        Self {
            request_id: text("x-request-id"),
            apim_request_id: text("apim-request-id"),
            client_request_id: text("x-ms-client-request-id"),
            region: text("x-ms-region"),
            should_retry,
            rate_limit: RateLimitInfo::from_headers(headers),
            retry_after: parse_retry_after(headers),
        }
    }

    /// The best id to quote to support: `x-request-id`, else `apim-request-id`.
    pub fn best_request_id(&self) -> Option<&str> {
        self.request_id
            .as_deref()
            .or(self.apim_request_id.as_deref())
    }
}
