//! [`ErrorReply`]: an error answer in the Azure shape, with headers.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::fixtures;

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// An HTTP error answer: status, body (Azure error JSON or raw) and headers.
///
/// JSON bodies use the envelope `{"error": {"code", "message", ...}}`.
///
/// ```
/// use std::time::Duration;
/// use routewise_testkit::ErrorReply;
///
/// let e = ErrorReply::rate_limited(Duration::from_millis(1500));
/// assert_eq!(e.status(), 429);
/// assert_eq!(e.header_value("retry-after-ms"), Some("1500"));
/// assert_eq!(e.header_value("retry-after"), Some("2"));
///
/// // Only one header form, to test each one on its own:
/// let e = ErrorReply::too_many_requests().retry_after_date(std::time::SystemTime::UNIX_EPOCH);
/// assert_eq!(e.header_value("retry-after"), Some("Thu, 01 Jan 1970 00:00:00 GMT"));
/// assert_eq!(e.header_value("retry-after-ms"), None);
/// ```
#[derive(Debug, Clone)]
pub struct ErrorReply {
    status: u16,
    body: Body,
    headers: Vec<(String, String)>,
}

impl ErrorReply {
    /// `{"error": {"code": code, "message": message}}` with `status`.
    pub fn azure(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            body: Body::Json(json!({"error": {"code": code, "message": message}})),
            headers: Vec::new(),
        }
    }

    /// The OpenAI shape: `{"error": {"message", "type", "param": null, "code"}}`.
    pub fn openai(status: u16, kind: &str, code: &str, message: &str) -> Self {
        Self {
            status,
            body: Body::Json(
                json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
            ),
            headers: Vec::new(),
        }
    }

    /// Any body with its content type, e.g. an HTML page or plain text.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: Body::Raw {
                content_type: content_type.to_owned(),
                bytes: body.into(),
            },
            headers: Vec::new(),
        }
    }

    /// 404 `DeploymentNotFound`, as Azure answers for an unknown deployment.
    pub fn deployment_not_found() -> Self {
        Self::from_static_json(404, fixtures::DEPLOYMENT_NOT_FOUND_BODY)
    }

    /// 429 with every retry-delay header form set to `retry_after`
    /// (`retry-after-ms`, `x-ms-retry-after-ms`, `retry-after` in whole
    /// seconds rounded up) plus exhausted `x-ratelimit-*` headers.
    pub fn rate_limited(retry_after: Duration) -> Self {
        let secs = retry_after.as_millis().div_ceil(1000);
        let message = format!(
            "Requests to the Responses_Create Operation under Azure OpenAI API version v1 have exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after {secs} seconds."
        );
        Self::azure(429, "429", &message)
            .retry_after_ms(retry_after.as_millis() as f64)
            .x_ms_retry_after_ms(retry_after.as_millis() as f64)
            .header("retry-after", secs.to_string())
            .rate_limit_headers(0, 0)
    }

    /// 429 with no retry-delay header at all (the client falls back to its
    /// own backoff).
    pub fn too_many_requests() -> Self {
        Self::from_static_json(429, fixtures::RATE_LIMIT_BODY)
    }

    /// 400 `content_filter` with `innererror.content_filter_result`.
    pub fn content_filter() -> Self {
        Self::from_static_json(400, fixtures::CONTENT_FILTER_ERROR_BODY)
    }

    /// 400 `context_length_exceeded`.
    pub fn context_length_exceeded() -> Self {
        Self::from_static_json(400, fixtures::CONTEXT_LENGTH_BODY)
    }

    /// 401 for a bad key or token.
    pub fn unauthorized() -> Self {
        Self::from_static_json(401, fixtures::UNAUTHORIZED_BODY)
    }

    /// 500 `server_error`.
    pub fn internal_server_error() -> Self {
        Self::from_static_json(500, fixtures::SERVER_ERROR_BODY)
    }

    /// 502 with the HTML page a proxy returns (not JSON).
    pub fn bad_gateway_html() -> Self {
        Self::raw(502, "text/html", fixtures::HTML_502_PAGE)
    }

    /// 503 `ServiceUnavailable`.
    pub fn service_unavailable() -> Self {
        Self::azure(
            503,
            "ServiceUnavailable",
            "The service is temporarily unable to process your request. Please try again later.",
        )
    }

    fn from_static_json(status: u16, body: &str) -> Self {
        let body = serde_json::from_str(body)
            .map(Body::Json)
            .unwrap_or_else(|_| Body::Raw {
                content_type: "application/json".to_owned(),
                bytes: body.as_bytes().to_vec(),
            });
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// Sets `error.param` on a JSON body.
    pub fn param(mut self, param: &str) -> Self {
        self.set_error_field("param", json!(param));
        self
    }

    /// Sets `error.type` on a JSON body.
    pub fn error_type(mut self, kind: &str) -> Self {
        self.set_error_field("type", json!(kind));
        self
    }

    /// Sets `error.innererror` on a JSON body.
    pub fn inner_error(mut self, inner: Value) -> Self {
        self.set_error_field("innererror", inner);
        self
    }

    fn set_error_field(&mut self, key: &str, value: Value) {
        if let Body::Json(v) = &mut self.body
            && let Some(error) = v.get_mut("error").and_then(Value::as_object_mut)
        {
            error.insert(key.to_owned(), value);
        }
    }

    /// Adds a response header (replacing an earlier one of the same name).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    /// Removes a header set earlier, e.g. to test one retry form alone.
    pub fn without_header(mut self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    /// `retry-after-ms: <ms>` (float milliseconds allowed).
    pub fn retry_after_ms(self, ms: f64) -> Self {
        self.header("retry-after-ms", fmt_number(ms))
    }

    /// `x-ms-retry-after-ms: <ms>`.
    pub fn x_ms_retry_after_ms(self, ms: f64) -> Self {
        self.header("x-ms-retry-after-ms", fmt_number(ms))
    }

    /// `retry-after: <seconds>` (float seconds allowed).
    pub fn retry_after_secs(self, secs: f64) -> Self {
        self.header("retry-after", fmt_number(secs))
    }

    /// `retry-after: <HTTP-date>`.
    pub fn retry_after_date(self, at: SystemTime) -> Self {
        self.header("retry-after", httpdate::fmt_http_date(at))
    }

    /// `x-should-retry: true|false`.
    pub fn should_retry(self, retry: bool) -> Self {
        self.header("x-should-retry", retry.to_string())
    }

    /// Sets the `x-ratelimit-*` headers with the given remaining counts
    /// against limits of 100 requests and 100,000 tokens.
    pub fn rate_limit_headers(self, remaining_requests: u64, remaining_tokens: u64) -> Self {
        self.header("x-ratelimit-limit-requests", "100")
            .header("x-ratelimit-limit-tokens", "100000")
            .header(
                "x-ratelimit-remaining-requests",
                remaining_requests.to_string(),
            )
            .header("x-ratelimit-remaining-tokens", remaining_tokens.to_string())
            .header("x-ratelimit-reset-requests", "1s")
            .header("x-ratelimit-reset-tokens", "6s")
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The value of a header set on this reply.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All headers set on this reply, lower-case names.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The JSON body, or `None` for a raw body.
    pub fn json(&self) -> Option<&Value> {
        match &self.body {
            Body::Json(v) => Some(v),
            Body::Raw { .. } => None,
        }
    }

    /// The body's content type.
    pub fn content_type(&self) -> &str {
        match &self.body {
            Body::Json(_) => "application/json",
            Body::Raw { content_type, .. } => content_type,
        }
    }

    /// The body bytes as sent.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Json(v) => v.to_string().into_bytes(),
            Body::Raw { bytes, .. } => bytes.clone(),
        }
    }

    pub(crate) fn to_template(&self) -> ResponseTemplate {
        let mut t =
            ResponseTemplate::new(self.status).set_body_raw(self.body_bytes(), self.content_type());
        for (name, value) in &self.headers {
            t = t.insert_header(name.as_str(), value.as_str());
        }
        t
    }
}

fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_shape_and_builders() {
        let e = ErrorReply::azure(418, "Teapot", "short and stout")
            .param("input")
            .error_type("x");
        let body = e.json().unwrap();
        assert_eq!(body["error"]["code"], "Teapot");
        assert_eq!(body["error"]["param"], "input");
        assert_eq!(body["error"]["type"], "x");
        assert_eq!(e.content_type(), "application/json");
    }

    #[test]
    fn rate_limited_sets_every_header_form() {
        let e = ErrorReply::rate_limited(Duration::from_millis(250));
        assert_eq!(e.header_value("retry-after-ms"), Some("250"));
        assert_eq!(e.header_value("x-ms-retry-after-ms"), Some("250"));
        assert_eq!(e.header_value("retry-after"), Some("1"));
        assert_eq!(e.header_value("x-ratelimit-remaining-requests"), Some("0"));
        let only = e
            .without_header("retry-after-ms")
            .without_header("x-ms-retry-after-ms");
        assert_eq!(only.header_value("retry-after-ms"), None);
        assert_eq!(only.header_value("Retry-After"), Some("1"));
        assert_eq!(ErrorReply::too_many_requests().headers(), &[]);
        assert_eq!(
            ErrorReply::too_many_requests()
                .retry_after_ms(12.5)
                .header_value("retry-after-ms"),
            Some("12.5")
        );
    }

    #[test]
    fn raw_bodies_stay_raw() {
        let e = ErrorReply::bad_gateway_html();
        assert!(e.json().is_none());
        assert_eq!(e.content_type(), "text/html");
        assert!(
            String::from_utf8(e.body_bytes())
                .unwrap()
                .contains("502 Bad Gateway")
        );
        // Field setters leave a raw body untouched.
        assert_eq!(e.clone().param("x").body_bytes(), e.body_bytes());
    }
}
