//! The client's error type: one opaque [`Error`] with a [`ErrorKind`] and `is_*()` predicates.

use std::error::Error as StdError;
use std::fmt;

use std::sync::Arc;

use http::StatusCode;
use routewise_auth::AuthError;
use routewise_strategy::RouteDecision;
use routewise_transport::sse::SseError;
use routewise_transport::{TransportError, TransportErrorKind};
use routewise_types::{ContentFilterResults, is_content_filter_block};
use serde_json::Value;

use crate::auth_layer::auth_error_in;
use crate::endpoint::EndpointError;
use crate::meta::ResponseMeta;
use crate::root_cause::root_cause;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;
type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// How many bytes of an unparseable body an error keeps for diagnostics.
const SNIPPET_LEN: usize = 256;

/// What went wrong, broadly. Status kinds follow the OpenAI SDK's exception map (digest §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// HTTP 400: invalid payload, context too long, unsupported parameter, or a content-filter block.
    BadRequest,
    /// HTTP 401: bad key, expired token or wrong token audience.
    Authentication,
    /// HTTP 403: network rule, private endpoint, or a suspended resource.
    PermissionDenied,
    /// HTTP 404: wrong URL, deployment name or API version.
    NotFound,
    /// HTTP 409.
    Conflict,
    /// HTTP 422.
    UnprocessableEntity,
    /// HTTP 429: rate limit or capacity.
    RateLimit,
    /// HTTP 5xx.
    InternalServer,
    /// Any other non-success HTTP status, including a redirect (3xx), which is never followed.
    Status,
    /// The credential could not produce a token or key (or did not within the token timeout).
    Credential,
    /// The connection could not be established.
    Connect,
    /// A connect, response-header or stream-idle timeout fired.
    Timeout,
    /// The connection failed after it was established (reset, truncated body).
    Transport,
    /// A success body was not the JSON expected.
    Decode,
    /// A 200 stream reported a failure in-band (`response.failed` or an `error` frame).
    StreamFailed,
    /// A stream broke the protocol: sequence numbers went backwards, or it ended without a terminal event.
    StreamProtocol,
    /// The endpoint, an id or another argument was invalid before anything was sent.
    InvalidInput,
    /// The routing strategy produced no usable plan.
    Route,
}

impl ErrorKind {
    /// The kind the OpenAI SDK maps an HTTP status to.
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest,
            401 => Self::Authentication,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            409 => Self::Conflict,
            422 => Self::UnprocessableEntity,
            429 => Self::RateLimit,
            500.. => Self::InternalServer,
            _ => Self::Status,
        }
    }
}

/// Content-filter details from an Azure `innererror` or an in-band stream failure.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ContentFilterDetails {
    /// The inner code, e.g. `ResponsibleAIPolicyViolation` or `content_policy_violation`.
    pub code: Option<String>,
    /// The per-category results (`hate`, `self_harm`, `jailbreak`…).
    pub results: Option<ContentFilterResults>,
}

/// An error from the routewise client.
///
/// Opaque on purpose: match on [`Error::kind`] or use the `is_*()` predicates, which stay
/// stable as new cases are added.
///
/// ```
/// use routewise::{Error, ErrorKind};
/// use http::StatusCode;
///
/// let body = br#"{"error":{"message":"slow down","type":null,"param":null,"code":"rate_limit_exceeded"}}"#;
/// let err = Error::from_http(StatusCode::TOO_MANY_REQUESTS, &http::HeaderMap::new(), body);
/// assert_eq!(err.kind(), ErrorKind::RateLimit);
/// assert!(err.is_rate_limited() && err.is_retryable());
/// assert_eq!(err.code(), Some("rate_limit_exceeded"));
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    status: Option<StatusCode>,
    message: String,
    code: Option<String>,
    param: Option<String>,
    error_type: Option<String>,
    content_filter: Option<ContentFilterDetails>,
    meta: ResponseMeta,
    snippet: Option<String>,
    decision: Option<Box<RouteDecision>>,
    source: Option<SharedError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                status: None,
                message: message.into(),
                code: None,
                param: None,
                error_type: None,
                content_filter: None,
                meta: ResponseMeta::default(),
                snippet: None,
                decision: None,
                source: None,
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner_mut().source = Some(Arc::from(source.into()));
        self
    }

    pub(crate) fn with_meta(mut self, meta: ResponseMeta) -> Self {
        self.inner_mut().meta = meta;
        self
    }

    pub(crate) fn with_decision(mut self, decision: RouteDecision) -> Self {
        self.inner_mut().decision = Some(Box::new(decision));
        self
    }

    pub(crate) fn with_snippet(mut self, body: &[u8]) -> Self {
        self.inner_mut().snippet = snippet(body);
        self
    }

    /// Builds the error for a non-success HTTP response from its status, headers and body.
    ///
    /// Reads the OpenAI/Azure envelope `{"error":{message,type,param,code,innererror?}}`, the flat
    /// `{message,code}` form, or keeps a snippet of a non-JSON body (an HTML 502 from a proxy).
    pub fn from_http(status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> Self {
        let meta = ResponseMeta::from_headers(headers);
        let mut err = Self::new(ErrorKind::from_status(status), String::new()).with_meta(meta);
        let inner = err.inner_mut();
        inner.status = Some(status);
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => inner.fill_from_body(&value),
            Err(_) => inner.snippet = snippet(body),
        }
        if status.is_redirection() {
            // Whatever the body says, the caller needs to know why a 3xx reached them: the
            // transport does not follow redirects, since one could take the credential and the
            // prompt to another host.
            inner.message = format!(
                "HTTP {status}: the server redirected the request, and redirects are not followed; \
                 check the endpoint URL (the Responses API never redirects)"
            );
        }
        if inner.message.is_empty() {
            inner.message = match &inner.snippet {
                Some(s) => format!("HTTP {status} with a non-JSON body: {s}"),
                None => format!("HTTP {status}"),
            };
        }
        err
    }

    /// Builds the error for an in-band stream failure (`response.failed` and/or an `error` frame).
    pub(crate) fn in_band(code: Option<&str>, message: &str, param: Option<&str>) -> Self {
        let message = if message.is_empty() {
            "the response failed in-band without a reason"
        } else {
            message
        };
        let mut err = Self::new(ErrorKind::StreamFailed, message);
        let inner = err.inner_mut();
        inner.code = code.map(str::to_owned);
        inner.param = param.map(str::to_owned);
        if is_content_filter_block(code, None, false) {
            inner.content_filter = Some(ContentFilterDetails {
                code: inner.code.clone(),
                results: None,
            });
        }
        err
    }

    /// The kind of the transport error underneath (connect, timeout, I/O before the headers,
    /// body), when the error came from the transport.
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        self.transport_error().map(TransportError::kind)
    }

    fn transport_error(&self) -> Option<&TransportError> {
        self.inner
            .source
            .as_deref()?
            .downcast_ref::<TransportError>()
    }

    /// The credential's error underneath, if the credential failed.
    fn auth_error(&self) -> Option<&AuthError> {
        auth_error_in(self.transport_error()?)
    }

    /// What went wrong, broadly.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The error `code` (an open set: `rate_limit_exceeded`, `content_filter`, `DeploymentNotFound`…).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The request parameter the error is about.
    pub fn param(&self) -> Option<&str> {
        self.inner.param.as_deref()
    }

    /// The error `type`, when the server sent one.
    pub fn error_type(&self) -> Option<&str> {
        self.inner.error_type.as_deref()
    }

    /// Content-filter details, when the request or the output was blocked.
    pub fn content_filter(&self) -> Option<&ContentFilterDetails> {
        self.inner.content_filter.as_ref()
    }

    /// The diagnostic and rate-limit headers of the failed response.
    pub fn meta(&self) -> &ResponseMeta {
        &self.inner.meta
    }

    /// `x-request-id`, falling back to `apim-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.meta.best_request_id()
    }

    /// `apim-request-id`.
    pub fn apim_request_id(&self) -> Option<&str> {
        self.inner.meta.apim_request_id.as_deref()
    }

    /// `x-ms-region`.
    pub fn region(&self) -> Option<&str> {
        self.inner.meta.region.as_deref()
    }

    /// What the router considered and tried before this error, when the call was routed.
    pub fn route_decision(&self) -> Option<&RouteDecision> {
        self.inner.decision.as_deref()
    }

    /// The start of a body that was not the JSON expected (an HTML proxy page, say).
    pub fn body_snippet(&self) -> Option<&str> {
        self.inner.snippet.as_deref()
    }

    /// HTTP 429.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.kind == ErrorKind::RateLimit
    }

    /// Blocked by a content filter (a 400 `content_filter`, or a stream killed for policy
    /// reasons), by the rule of [`routewise_types::is_content_filter_block`].
    pub fn is_content_filtered(&self) -> bool {
        self.inner.content_filter.is_some() || is_content_filter_block(self.code(), None, false)
    }

    /// HTTP 404 (often a wrong deployment name).
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::NotFound
    }

    /// HTTP 401/403 or a credential failure.
    pub fn is_auth(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Authentication | ErrorKind::PermissionDenied | ErrorKind::Credential
        )
    }

    /// A timeout fired: connect, response headers, stream idle, or the credential's token
    /// timeout (that one is also [`is_auth`](Self::is_auth), of kind [`ErrorKind::Credential`]).
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
            || self.auth_error().is_some_and(AuthError::is_timeout)
    }

    /// The connection could not be established.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == ErrorKind::Connect
    }

    /// A 200 stream failed in-band.
    pub fn is_stream_failure(&self) -> bool {
        self.inner.kind == ErrorKind::StreamFailed
    }

    /// Whether the SDK rules allow another attempt: 408, 409, 429, 5xx, connect errors and
    /// timeouts, unless the server said `x-should-retry: false` or a content filter blocked it.
    pub fn is_retryable(&self) -> bool {
        if self.is_content_filtered() {
            return false;
        }
        if let Some(verdict) = self.inner.meta.should_retry {
            return verdict;
        }
        match self.inner.kind {
            ErrorKind::Connect
            | ErrorKind::Timeout
            | ErrorKind::RateLimit
            | ErrorKind::InternalServer => true,
            ErrorKind::Conflict => true,
            // The connection broke before a response: as retryable as a connect error.
            ErrorKind::Transport => self.transport_kind() == Some(TransportErrorKind::Io),
            _ => self.inner.status == Some(StatusCode::REQUEST_TIMEOUT),
        }
    }
}

impl Inner {
    fn fill_from_body(&mut self, body: &Value) {
        match body.get("error") {
            Some(obj @ Value::Object(_)) => self.fill_from_error_object(obj),
            Some(Value::String(message)) => self.message = message.clone(),
            _ if body.get("message").is_some() => self.fill_from_error_object(body),
            _ => self.snippet = snippet(body.to_string().as_bytes()),
        }
    }

    fn fill_from_error_object(&mut self, obj: &Value) {
        let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
        self.message = text("message").unwrap_or_default();
        self.code = text("code").or_else(|| {
            obj.get("code")
                .filter(|c| c.is_number())
                .map(Value::to_string)
        });
        self.param = text("param");
        self.error_type = text("type");
        let inner = obj.get("innererror").or_else(|| obj.get("inner_error"));
        let inner_code = inner.and_then(|i| i.get("code")).and_then(Value::as_str);
        let results = inner
            .and_then(|i| {
                i.get("content_filter_result")
                    .or_else(|| i.get("content_filter_results"))
            })
            .filter(|r| r.is_object());
        // The same rule as the wire types: an `innererror` alone (Azure sends one with
        // `ServerOverloaded` on a 503) is no block, and must not stop a retry or a failover.
        if is_content_filter_block(self.code.as_deref(), inner_code, results.is_some()) {
            self.content_filter = Some(ContentFilterDetails {
                code: inner_code.map(str::to_owned).or_else(|| self.code.clone()),
                // Lenient: a results object we cannot read is dropped, the rest of the error stays.
                results: results.and_then(|r| serde_json::from_value(r.clone()).ok()),
            });
        }
    }
}

/// The first [`SNIPPET_LEN`] bytes of `body`'s text, cut on a character boundary. Leading
/// whitespace goes first, so a page that starts with blank lines still shows its text.
fn snippet(body: &[u8]) -> Option<String> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let body = &body[start..];
    let text = String::from_utf8_lossy(&body[..body.len().min(SNIPPET_LEN + 4)]);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(SNIPPET_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("message", &i.message);
        if let Some(status) = i.status {
            d.field("status", &status.as_u16());
        }
        if let Some(code) = &i.code {
            d.field("code", code);
        }
        if let Some(param) = &i.param {
            d.field("param", param);
        }
        if let Some(id) = self.request_id() {
            d.field("request_id", &id);
        }
        if let Some(source) = &i.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        match i.status {
            Some(status) => write!(f, "{:?} (HTTP {})", i.kind, status.as_u16())?,
            None => write!(f, "{:?}", i.kind)?,
        }
        if let Some(code) = &i.code {
            write!(f, " [{code}]")?;
        }
        write!(f, ": {}", i.message)?;
        if let Some(id) = self.request_id() {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        let source = self.inner.source.as_deref()?;
        // A message copied from its source would print twice in a report of the chain
        // (`anyhow`'s "Caused by:"); the chain goes on with what that source wraps instead.
        if self.inner.message.ends_with(&source.to_string()) {
            source.source()
        } else {
            Some(source)
        }
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        Self::new(ErrorKind::InvalidInput, e.to_string()).with_source(e)
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        if let Some(auth) = auth_error_in(&e) {
            let message = format!("the credential could not authorise the request: {auth}");
            return Self::new(ErrorKind::Credential, message).with_source(e);
        }
        let kind = match e.kind() {
            TransportErrorKind::Connect => ErrorKind::Connect,
            TransportErrorKind::Timeout => ErrorKind::Timeout,
            _ => ErrorKind::Transport,
        };
        // The transport's own text is only its kind ("connect error"); the innermost cause
        // says what happened (refused, DNS, TLS), and is what a printed error needs.
        let message = match root_cause(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
        Self::new(kind, message).with_source(e)
    }
}

impl From<SseError> for Error {
    fn from(e: SseError) -> Self {
        match e {
            SseError::Transport(t) => t.into(),
            other => Self::new(ErrorKind::StreamProtocol, other.to_string()).with_source(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn err(status: u16, body: &str) -> Error {
        Error::from_http(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn status_map_matches_the_sdk() {
        let cases = [
            (400, ErrorKind::BadRequest, false),
            (401, ErrorKind::Authentication, false),
            (403, ErrorKind::PermissionDenied, false),
            (404, ErrorKind::NotFound, false),
            (408, ErrorKind::Status, true),
            (409, ErrorKind::Conflict, true),
            (422, ErrorKind::UnprocessableEntity, false),
            (429, ErrorKind::RateLimit, true),
            (418, ErrorKind::Status, false),
            (500, ErrorKind::InternalServer, true),
            (502, ErrorKind::InternalServer, true),
            (503, ErrorKind::InternalServer, true),
        ];
        for (status, kind, retryable) in cases {
            let e = err(status, "{}");
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.is_retryable(), retryable, "{status}");
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
        }
    }

    #[test]
    fn azure_content_filter_body() {
        let body = r#"{"error":{"message":"filtered","type":null,"param":"prompt","code":"content_filter","status":400,
            "innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"self_harm":{"filtered":true,"severity":"medium"}}}}}"#;
        let e = err(400, body);
        assert!(e.is_content_filtered());
        assert!(!e.is_retryable());
        assert_eq!(e.param(), Some("prompt"));
        let cf = e.content_filter().unwrap();
        assert_eq!(cf.code.as_deref(), Some("ResponsibleAIPolicyViolation"));
        let results = cf.results.as_ref().unwrap();
        assert_eq!(results.filtered_categories(), ["self_harm"]);
    }

    #[test]
    fn only_filter_shapes_of_innererror_are_content_filter_blocks() {
        let overloaded = err(
            503,
            r#"{"error":{"code":"ServiceUnavailable","message":"busy","innererror":{"code":"ServerOverloaded"}}}"#,
        );
        assert!(!overloaded.is_content_filtered());
        assert!(overloaded.content_filter().is_none());
        assert!(overloaded.is_retryable());
        for body in [
            r#"{"error":{"code":"BadRequest","message":"m","innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#,
            r#"{"error":{"code":"BadRequest","message":"m","inner_error":{"content_filter_results":{}}}}"#,
            r#"{"error":{"code":"content_filter","message":"m","innererror":{"code":"Other"}}}"#,
            r#"{"error":{"code":"content_policy_violation","message":"m"}}"#,
        ] {
            let blocked = err(400, body);
            assert!(blocked.is_content_filtered(), "{body}");
            assert!(blocked.content_filter().is_some(), "{body}");
            assert!(!blocked.is_retryable(), "{body}");
        }
        // Whatever the parse, the client and the wire types agree.
        let typed: routewise_types::ErrorResponse = routewise_types::parse_str(
            r#"{"error":{"code":"ServiceUnavailable","message":"busy","innererror":{"code":"ServerOverloaded"}}}"#,
        )
        .unwrap();
        assert_eq!(
            typed.error.is_content_filter(),
            overloaded.is_content_filtered()
        );
    }

    #[test]
    fn a_redirect_is_a_status_error_that_says_so() {
        let mut h = HeaderMap::new();
        h.insert("location", "https://elsewhere.example/v1".parse().unwrap());
        let e = Error::from_http(StatusCode::TEMPORARY_REDIRECT, &h, b"");
        assert_eq!(e.kind(), ErrorKind::Status);
        assert_eq!(e.status(), Some(StatusCode::TEMPORARY_REDIRECT));
        assert!(e.message().contains("redirect"), "{e}");
        assert!(!e.message().contains("elsewhere"), "{e}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn html_and_empty_bodies_keep_a_snippet() {
        let html = format!(
            "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
            "é".repeat(400)
        );
        let e = err(502, &html);
        assert_eq!(e.kind(), ErrorKind::InternalServer);
        let s = e.body_snippet().unwrap();
        assert!(s.starts_with("<html>") && s.len() <= SNIPPET_LEN);
        assert!(e.message().contains("502 Bad Gateway"), "{}", e.message());
        let e = err(500, "");
        assert_eq!(e.message(), "HTTP 500 Internal Server Error");
        assert!(err(400, r#"{"error":"plain string"}"#).message() == "plain string");
        assert_eq!(
            err(400, r#"{"message":"flat","code":"x"}"#).code(),
            Some("x")
        );
        assert_eq!(err(400, "[1,2]").body_snippet(), Some("[1,2]"));
    }

    #[test]
    fn headers_are_carried() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", "req-1".parse().unwrap());
        h.insert("apim-request-id", "apim-1".parse().unwrap());
        h.insert("x-ms-region", "Sweden Central".parse().unwrap());
        h.insert("x-should-retry", "false".parse().unwrap());
        let e = Error::from_http(StatusCode::SERVICE_UNAVAILABLE, &h, b"{}");
        assert_eq!(e.request_id(), Some("req-1"));
        assert_eq!(e.apim_request_id(), Some("apim-1"));
        assert_eq!(e.region(), Some("Sweden Central"));
        assert!(!e.is_retryable(), "x-should-retry: false wins");
        assert!(e.to_string().contains("req-1"));
    }
}
