//! Errors the gateway answers itself, always in the OpenAI/Azure shape
//! `{"error": {"message", "type", "param", "code"}}` with the matching HTTP status.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::limits::{RateLimitKind, RateLimitStatus, retry_after_secs, write_retry_after};
use crate::telemetry::ErrorCode;

/// Azure's wording for a deployment that does not exist.
const DEPLOYMENT_NOT_FOUND: &str = "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.";
/// Azure's wording for a missing or wrong key.
const ACCESS_DENIED: &str = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";
/// OpenAI's code for a body it will not read as JSON.
const UNSUPPORTED_CONTENT_TYPE: &str = "unsupported_content_type";

/// A request the gateway rejects or could not serve.
///
/// ```
/// use routewise_gateway::GatewayError;
///
/// let err = GatewayError::deployment_not_found("gpt-9");
/// assert!(err.is_deployment_not_found());
/// assert_eq!(err.status().as_u16(), 404);
/// assert_eq!(err.body()["error"]["code"], "DeploymentNotFound");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GatewayError {
    /// 400: the body is not valid JSON, has a wrong type, lacks a required field, or carries
    /// invalid router controls.
    InvalidRequest {
        /// What is wrong.
        message: String,
        /// The offending parameter path, when known.
        param: Option<String>,
        /// OpenAI's error code (`invalid_type`, `missing_required_parameter`, ...).
        code: &'static str,
    },
    /// 415: the body's `Content-Type` is not JSON, or its `Content-Encoding` is one the
    /// gateway does not decode.
    UnsupportedMediaType {
        /// What was sent and what is accepted.
        message: String,
    },
    /// 413: the body exceeds the configured limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 413: the body holds so many JSON values that parsing it would take more memory than
    /// the replica's large-body budget (its size alone is within `max_body_bytes`).
    TooManyValues {
        /// How many values were counted when the body was refused: just past `limit`, since
        /// the rest of the body is not read.
        values: usize,
        /// The most a body may hold.
        limit: usize,
    },
    /// 431: the request head (request line and headers) exceeds the configured size or
    /// header count.
    HeadersTooLarge {
        /// The size limit in bytes.
        limit: usize,
        /// The header-count limit.
        max_headers: usize,
    },
    /// 404: `model` names no deployment or router.
    DeploymentNotFound {
        /// The name asked for.
        name: String,
    },
    /// 401: access control is on and the key is missing or wrong.
    Unauthorized,
    /// 403 `PermissionDenied`: the key is valid, but its principal may not do this (its role,
    /// its data zones, or the zones of the conversation it continues refuse it; a name outside
    /// its allowed deployments is a [`DeploymentNotFound`](Self::DeploymentNotFound) instead,
    /// as for an unknown name). The message names the rule, never the key.
    PermissionDenied {
        /// What was refused and why, worded after Azure's `PermissionDenied` message.
        message: String,
        /// The parameter at fault (`model`, `routing_config.models[1]`), when one is.
        param: Option<String>,
    },
    /// 404: no such route.
    RouteNotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 408: the client did not send its body in time.
    RequestTimeout,
    /// The upstream's own error, passed through with its status.
    Upstream {
        /// The upstream's status.
        status: StatusCode,
        /// The upstream's body.
        body: Bytes,
        /// Headers passed on with it: the retry delay the upstream asked for (`retry-after`
        /// in whole seconds rounded up, `retry-after-ms`) and its `x-ratelimit-*` headers.
        /// Boxed, so that every `Result` carrying this error stays small.
        headers: Box<http::HeaderMap>,
    },
    /// 502/504: no upstream produced an answer (connection failure, timeout, stream cut).
    BadGateway {
        /// 502 or 504.
        status: StatusCode,
        /// What happened.
        message: String,
    },
    /// 404: no stored response has this id (or the gateway stores none).
    ResponseNotFound {
        /// The id asked for.
        id: String,
        /// False when the gateway has no response store configured.
        store_configured: bool,
    },
    /// 503: the response store (Redis) could not be reached.
    StoreUnavailable {
        /// What happened (never the store's URL).
        message: String,
    },
    /// 429: a deployment's configured rate limit (`rpm` or `tpm`) is used up; the answer
    /// carries `retry-after`, `retry-after-ms` and the `x-ratelimit-*` headers.
    RateLimited {
        /// The deployment (or router deployment) whose quota is used up.
        deployment: String,
        /// Which quota refused the request.
        kind: RateLimitKind,
        /// That quota's per-minute limit.
        limit: u64,
        /// When the request would be admitted.
        retry_after: std::time::Duration,
        /// The deployment's quota, for the `x-ratelimit-*` headers.
        status: RateLimitStatus,
    },
    /// 429 `rate_limit_exceeded`: this replica already serves as many followers of background
    /// streams (`GET .../responses/{id}?stream=true`) as `max_stream_followers` allows; the
    /// answer carries `retry-after` and `retry-after-ms`.
    TooManyStreams {
        /// The configured cap.
        limit: usize,
        /// When a retry may find a free place (followers leave at unpredictable times, so
        /// this is a short, fixed back-off).
        retry_after: std::time::Duration,
    },
    /// 429 `rate_limit_exceeded`: this replica already runs as many background responses as
    /// `max_running` allows; the answer carries `retry-after` and `retry-after-ms`, and
    /// nothing was stored.
    TooManyBackgroundRuns {
        /// The configured cap.
        limit: usize,
        /// When a retry may find a free place (a short, fixed back-off: runs end at times
        /// nobody can predict).
        retry_after: std::time::Duration,
    },
    /// 503 `server_busy`: large request bodies use up one of this replica's budgets for them:
    /// eight times `max_body_bytes` being read (refused at once), or four times being parsed
    /// and handled (after waiting `body_read_timeout`); the answer carries `retry-after`.
    Busy {
        /// When a retry may find room.
        retry_after: std::time::Duration,
    },
    /// 500: a bug; the request was isolated and the server keeps running.
    Internal {
        /// What happened.
        message: String,
    },
    /// 400 `content_filter`: the prompt matched custom blocklists of the deployment's (or
    /// router's) content filter; the body is Azure's, with
    /// `innererror.content_filter_result.custom_blocklists`.
    ContentFiltered {
        /// The blocklists that matched (never the matched text).
        blocklists: Vec<String>,
    },
}

impl GatewayError {
    /// A 400 with a parameter path.
    pub fn invalid(message: impl Into<String>, param: Option<String>, code: &'static str) -> Self {
        Self::InvalidRequest {
            message: message.into(),
            param,
            code,
        }
    }

    /// A 404 `DeploymentNotFound`.
    pub fn deployment_not_found(name: impl Into<String>) -> Self {
        Self::DeploymentNotFound { name: name.into() }
    }

    /// True for a 400 the gateway produced.
    pub fn is_invalid_request(&self) -> bool {
        matches!(self, Self::InvalidRequest { .. })
    }

    /// True for 415.
    pub fn is_unsupported_media_type(&self) -> bool {
        matches!(self, Self::UnsupportedMediaType { .. })
    }

    /// True for 413: a body over `max_body_bytes`, or one with too many JSON values.
    pub fn is_payload_too_large(&self) -> bool {
        matches!(
            self,
            Self::PayloadTooLarge { .. } | Self::TooManyValues { .. }
        )
    }

    /// True for a 413 refusing a body for its number of JSON values, not its size.
    pub fn is_too_many_values(&self) -> bool {
        matches!(self, Self::TooManyValues { .. })
    }

    /// True for 431.
    pub fn is_headers_too_large(&self) -> bool {
        matches!(self, Self::HeadersTooLarge { .. })
    }

    /// True for an unknown deployment.
    pub fn is_deployment_not_found(&self) -> bool {
        matches!(self, Self::DeploymentNotFound { .. })
    }

    /// True for 401.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Unauthorized)
    }

    /// True for a 403: an authenticated caller not permitted to do this.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::PermissionDenied { .. })
    }

    /// True for an upstream error passed through.
    pub fn is_upstream(&self) -> bool {
        matches!(self, Self::Upstream { .. } | Self::BadGateway { .. })
    }

    /// True for an unknown (or unstored) response id.
    pub fn is_response_not_found(&self) -> bool {
        matches!(self, Self::ResponseNotFound { .. })
    }

    /// True when the response store could not be reached.
    pub fn is_store_unavailable(&self) -> bool {
        matches!(self, Self::StoreUnavailable { .. })
    }

    /// True for a 429 from the gateway's own rate limits.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Self::RateLimited { .. })
    }

    /// True for a stream follower refused by `max_stream_followers`.
    pub fn is_too_many_streams(&self) -> bool {
        matches!(self, Self::TooManyStreams { .. })
    }

    /// True for a background submission refused by `max_running`.
    pub fn is_too_many_background_runs(&self) -> bool {
        matches!(self, Self::TooManyBackgroundRuns { .. })
    }

    /// True for a large body refused because the large-body budget stayed full.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Busy { .. })
    }

    /// True for 500.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Internal { .. })
    }

    /// True for a prompt blocked by a content filter.
    pub fn is_content_filtered(&self) -> bool {
        matches!(self, Self::ContentFiltered { .. })
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest { .. } | Self::ContentFiltered { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } | Self::TooManyValues { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::DeploymentNotFound { .. }
            | Self::RouteNotFound
            | Self::ResponseNotFound { .. } => StatusCode::NOT_FOUND,
            Self::StoreUnavailable { .. } | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. }
            | Self::TooManyStreams { .. }
            | Self::TooManyBackgroundRuns { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied { .. } => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            // A redirect or an informational status is no answer a client can act on: the
            // upstream misbehaved, which is a 502.
            Self::Upstream { status, .. }
                if !status.is_client_error() && !status.is_server_error() =>
            {
                StatusCode::BAD_GATEWAY
            }
            Self::Upstream { status, .. } | Self::BadGateway { status, .. } => *status,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error code the body carries (`code`), for logs: an upstream's own code when its
    /// body has one.
    pub(crate) fn code(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::InvalidRequest { code, .. } => code,
            Self::PayloadTooLarge { .. } | Self::TooManyValues { .. } => "request_too_large",
            Self::UnsupportedMediaType { .. } => UNSUPPORTED_CONTENT_TYPE,
            Self::HeadersTooLarge { .. } => "request_header_fields_too_large",
            Self::DeploymentNotFound { .. } => "DeploymentNotFound",
            Self::Unauthorized => "401",
            Self::PermissionDenied { .. } => "PermissionDenied",
            Self::RouteNotFound => "404",
            Self::MethodNotAllowed => "405",
            Self::RequestTimeout => "request_timeout",
            Self::Upstream { body, .. } => {
                return crate::upstream::error_fields(body)
                    .0
                    .map_or(Cow::Borrowed("upstream_error"), |c| {
                        Cow::Owned(c.chars().filter(|c| !c.is_control()).take(64).collect())
                    });
            }
            Self::BadGateway { status, .. } if *status == StatusCode::GATEWAY_TIMEOUT => "Timeout",
            Self::BadGateway { .. } => "upstream_error",
            Self::ResponseNotFound { .. } => "response_not_found",
            Self::StoreUnavailable { .. } => "store_unavailable",
            Self::RateLimited { .. } => "429",
            Self::TooManyStreams { .. } | Self::TooManyBackgroundRuns { .. } => {
                "rate_limit_exceeded"
            }
            Self::Busy { .. } => "server_busy",
            Self::Internal { .. } => "server_error",
            Self::ContentFiltered { .. } => "content_filter",
        })
    }

    /// The JSON error body.
    pub fn body(&self) -> Value {
        let status = self.status().as_u16();
        let (message, kind, param, code): (String, &str, Option<&str>, &str) = match self {
            Self::ContentFiltered { blocklists } => {
                return crate::filter::prompt_error_body(blocklists);
            }
            Self::InvalidRequest {
                message,
                param,
                code,
            } => (
                message.clone(),
                "invalid_request_error",
                param.as_deref(),
                code,
            ),
            Self::PayloadTooLarge { limit } => (
                format!("The request body exceeds the limit of {limit} bytes."),
                "invalid_request_error",
                None,
                "request_too_large",
            ),
            Self::TooManyValues { values, limit } => (
                format!(
                    "The request body holds more than {limit} JSON values (refused at about \
                     {values}); at most {limit} are accepted, since each takes memory to parse. \
                     Send fewer, larger items."
                ),
                "invalid_request_error",
                None,
                "request_too_large",
            ),
            Self::UnsupportedMediaType { message } => (
                message.clone(),
                "invalid_request_error",
                None,
                UNSUPPORTED_CONTENT_TYPE,
            ),
            Self::HeadersTooLarge { limit, max_headers } => (
                format!(
                    "The request headers exceed the limit of {limit} bytes or {max_headers} headers."
                ),
                "invalid_request_error",
                None,
                "request_header_fields_too_large",
            ),
            Self::DeploymentNotFound { name } => (
                format!(
                    "{DEPLOYMENT_NOT_FOUND} (deployment: {:?})",
                    clipped(name, 256)
                ),
                "invalid_request_error",
                Some("model"),
                "DeploymentNotFound",
            ),
            Self::Unauthorized => (
                ACCESS_DENIED.to_owned(),
                "invalid_request_error",
                None,
                "401",
            ),
            // Azure's body is `{"error": {"code": "PermissionDenied", "message": ...}}`; the
            // gateway's other fields are added as on every error it makes (the OpenAI SDKs map
            // a 403 to PermissionDeniedError by status, whatever `type` says).
            Self::PermissionDenied { message, param } => (
                message.clone(),
                "invalid_request_error",
                param.as_deref(),
                "PermissionDenied",
            ),
            Self::RouteNotFound => (
                "Resource not found".to_owned(),
                "invalid_request_error",
                None,
                "404",
            ),
            Self::MethodNotAllowed => (
                "The method is not allowed for this resource.".to_owned(),
                "invalid_request_error",
                None,
                "405",
            ),
            Self::RequestTimeout => (
                "The request body was not received in time.".to_owned(),
                "invalid_request_error",
                None,
                "request_timeout",
            ),
            Self::Upstream {
                body, status: up, ..
            } => {
                if let Some((v, _)) = upstream_error_body(*up, body) {
                    return v;
                }
                (
                    upstream_message(*up, body),
                    error_type(*up),
                    None,
                    "upstream_error",
                )
            }
            Self::BadGateway { message, .. } => {
                let code = if status == 504 {
                    "Timeout"
                } else {
                    "upstream_error"
                };
                (message.clone(), "server_error", None, code)
            }
            Self::ResponseNotFound {
                id,
                store_configured,
            } => (
                if *store_configured {
                    format!("Response with id '{}' not found.", clipped(id, 256))
                } else {
                    format!(
                        "Response with id '{}' not found: this gateway stores no responses \
                         (add a [store] table with a Redis URL to its config).",
                        clipped(id, 256)
                    )
                },
                "invalid_request_error",
                None,
                "response_not_found",
            ),
            Self::StoreUnavailable { message } => {
                (message.clone(), "server_error", None, "store_unavailable")
            }
            Self::RateLimited {
                deployment,
                kind,
                limit,
                retry_after,
                ..
            } => {
                let what = match kind {
                    RateLimitKind::Tokens => "token rate limit",
                    _ => "request rate limit",
                };
                let secs = retry_after_secs(*retry_after);
                (
                    format!(
                        "Requests to the Responses API under deployment {deployment} have exceeded \
                         the {what} of {limit} {} per minute. Please retry after {secs} second{}.",
                        kind.as_str(),
                        if secs == 1 { "" } else { "s" }
                    ),
                    kind.as_str(),
                    None,
                    "429",
                )
            }
            Self::Busy { retry_after } => (
                format!(
                    "The gateway is busy with other large requests; this request's body is \
                     large too (in bytes or in JSON values). Please retry after {} second(s).",
                    retry_after_secs(*retry_after)
                ),
                "server_error",
                None,
                "server_busy",
            ),
            Self::TooManyStreams { limit, retry_after } => {
                let secs = retry_after_secs(*retry_after);
                (
                    format!(
                        "Too many streams are following background responses on this gateway \
                         (at most {limit} at once). Please retry after {secs} second{}.",
                        if secs == 1 { "" } else { "s" }
                    ),
                    // OpenAI's 429s name the limited quantity in `type` and say
                    // `rate_limit_exceeded` in `code`.
                    "requests",
                    None,
                    "rate_limit_exceeded",
                )
            }
            Self::TooManyBackgroundRuns { limit, retry_after } => {
                let secs = retry_after_secs(*retry_after);
                (
                    format!(
                        "Too many background responses are running on this gateway (at most \
                         {limit} at once). Please retry after {secs} second{}.",
                        if secs == 1 { "" } else { "s" }
                    ),
                    "requests",
                    Some("background"),
                    "rate_limit_exceeded",
                )
            }
            Self::Internal { message } => (message.clone(), "server_error", None, "server_error"),
        };
        json!({"error": {"message": message, "type": kind, "param": param, "code": code, "status": status}})
    }
}

/// An upstream's error body that clients can read: `{"error": {"message": "...", ...}}`, with
/// `type`, `param` and `code` added (as `null`, the type from the status) where the upstream
/// left them out; `true` when something was added. Anything else is replaced by the gateway's
/// own error, which says what the upstream sent.
fn upstream_error_body(status: StatusCode, body: &[u8]) -> Option<(Value, bool)> {
    let mut v = serde_json::from_slice::<Value>(body).ok()?;
    let error = v.get_mut("error")?.as_object_mut()?;
    error.get("message")?.as_str()?;
    let mut added = false;
    for key in ["type", "param", "code"] {
        if !error.contains_key(key) {
            let value = if key == "type" {
                Value::from(error_type(status))
            } else {
                Value::Null
            };
            error.insert(key.to_owned(), value);
            added = true;
        }
    }
    Some((v, added))
}

/// The OpenAI error `type` for an upstream status the upstream did not describe.
pub(crate) fn error_type(status: StatusCode) -> &'static str {
    if status.is_client_error() {
        "invalid_request_error"
    } else {
        "server_error"
    }
}

/// The message for an upstream error whose body is no OpenAI/Azure error: its status and the
/// start of its body (an HTML page, a proxy's text), which is all a caller has to go on.
fn upstream_message(status: StatusCode, body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        format!(
            "The upstream deployment answered HTTP {} with no error message.",
            status.as_u16()
        )
    } else {
        format!(
            "The upstream deployment answered HTTP {}: {text}",
            status.as_u16()
        )
    }
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.body();
        let message = body["error"]["message"].as_str().unwrap_or("error");
        write!(f, "{}: {message}", self.status())
    }
}

impl std::error::Error for GatewayError {}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            // An upstream's JSON error goes through byte for byte unless a key clients read
            // was missing.
            Self::Upstream { body, status, .. } => match upstream_error_body(*status, body) {
                Some((_, false)) => body.clone(),
                Some((v, true)) => Bytes::from(v.to_string()),
                None => Bytes::from(self.body().to_string()),
            },
            _ => Bytes::from(self.body().to_string()),
        };
        let mut resp = (status, body).into_response();
        resp.extensions_mut().insert(ErrorCode(self.code()));
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if matches!(
            self,
            Self::PayloadTooLarge { .. } | Self::HeadersTooLarge { .. } | Self::RequestTimeout
        ) {
            // The rest of the body may still be in flight; don't reuse the connection.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Self::RateLimited {
            retry_after,
            status,
            ..
        } = &self
        {
            status.write_headers(headers);
            write_retry_after(headers, *retry_after);
        }
        if let Self::TooManyStreams { retry_after, .. }
        | Self::TooManyBackgroundRuns { retry_after, .. }
        | Self::Busy { retry_after } = &self
        {
            write_retry_after(headers, *retry_after);
        }
        if let Self::Upstream { headers: up, .. } = &self {
            for (name, value) in up.iter() {
                headers.append(name.clone(), value.clone());
            }
        }
        resp
    }
}

/// Caller-supplied text as an error message repeats it: without control characters and at
/// most `max` characters (then `…`), so a megabyte-long `model` does not come back whole.
pub(crate) fn clipped(s: &str, max: usize) -> Cow<'_, str> {
    let clean = !s.chars().any(char::is_control);
    match s.char_indices().nth(max) {
        None if clean => Cow::Borrowed(s),
        cut => {
            let end = cut.map_or(s.len(), |(at, _)| at);
            let mut out: String = s[..end].chars().filter(|c| !c.is_control()).collect();
            if cut.is_some() {
                out.push('…');
            }
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use bytes::Bytes;
    use http::StatusCode;
    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    use super::{GatewayError, clipped};

    async fn answer(status: u16, body: &'static str) -> (StatusCode, Bytes) {
        let e = GatewayError::Upstream {
            status: StatusCode::from_u16(status).unwrap(),
            body: Bytes::from_static(body.as_bytes()),
            headers: Box::default(),
        };
        let resp = e.into_response();
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    }

    #[tokio::test]
    async fn an_upstream_error_gets_the_keys_clients_read() {
        // Whole: byte for byte.
        let whole =
            r#"{"error":{"message":"no","type":"invalid_request_error","param":null,"code":"x"}}"#;
        assert_eq!(answer(400, whole).await.1, whole.as_bytes());
        // Missing type/param/code: added, the rest kept (unknown keys included).
        let (status, body) = answer(429, r#"{"error":{"message":"slow down","extra":1}}"#).await;
        assert_eq!(status, 429);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"error": {"message": "slow down", "extra": 1, "type": "invalid_request_error", "param": null, "code": null}})
        );
        // Not JSON: the gateway's own error, typed by the status class.
        let (status, body) = answer(400, "<html>bad</html>").await;
        assert_eq!(status, 400);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert_eq!(v["error"]["code"], "upstream_error", "{v}");
        let v: Value = serde_json::from_slice(&answer(502, "oops").await.1).unwrap();
        assert_eq!(v["error"]["type"], "server_error", "{v}");
    }

    #[test]
    fn clipped_text_drops_control_characters_and_marks_the_cut() {
        assert!(matches!(
            clipped("gpt-4.1", 8),
            std::borrow::Cow::Borrowed("gpt-4.1")
        ));
        assert_eq!(clipped("a\r\nb\u{1b}[31m", 20), "ab[31m");
        assert_eq!(clipped("ééééé", 3), "ééé…");
        assert_eq!(clipped(&"m".repeat(10_000), 256).chars().count(), 257);
    }
}
