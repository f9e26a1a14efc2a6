//! Why an attempt failed, and the shared rule for when to try the next deployment.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The class of an attempt failure.
///
/// Transports classify their errors into one of these; the [`FailoverPolicy`] decides from the
/// class (plus whether content was already delivered) whether another deployment may be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The connection could not be established (DNS, TCP, TLS).
    Connect,
    /// The request or the stream timed out.
    Timeout,
    /// The server answered with this non-success HTTP status.
    Status(u16),
    /// The request or the answer was blocked by a content filter.
    ContentFilter,
    /// A `200` stream failed in-band (an `error`/`response.failed` event, or the body ended early).
    Stream,
    /// Anything else (a decode error, a local error).
    Other,
}

impl FailureKind {
    /// The HTTP status, when the failure is a status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status(s) => Some(*s),
            _ => None,
        }
    }

    /// True for connect errors.
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect)
    }

    /// True for timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// True for `429 Too Many Requests`.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// True for `5xx` statuses.
    pub fn is_server_error(&self) -> bool {
        matches!(self.status(), Some(500..=599))
    }

    /// True for `404`: on a deployment path it means the deployment does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True for `4xx` statuses.
    pub fn is_client_error(&self) -> bool {
        matches!(self.status(), Some(400..=499))
    }

    /// True for content-filter blocks.
    pub fn is_content_filter(&self) -> bool {
        matches!(self, Self::ContentFilter)
    }

    /// True for in-band stream failures.
    pub fn is_stream(&self) -> bool {
        matches!(self, Self::Stream)
    }

    /// True when the failure says something about the deployment's health rather than the
    /// request: connect errors, timeouts, 408, 429, 5xx, 404 and in-band stream failures.
    /// Cooldown counts these; the failover policy uses them too.
    pub fn is_deployment_fault(&self) -> bool {
        match self {
            Self::Connect | Self::Timeout | Self::Stream => true,
            Self::Status(s) => matches!(s, 404 | 408 | 429 | 500..=599),
            Self::ContentFilter | Self::Other => false,
        }
    }

    /// A short stable label, used in [`RouteDecision`](crate::RouteDecision)s.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::Status(_) => "status",
            Self::ContentFilter => "content_filter",
            Self::Stream => "stream",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "HTTP {s}"),
            other => f.write_str(other.label()),
        }
    }
}

/// One failed attempt, as the executor and the strategies see it.
///
/// The message must not contain secrets; the original error, if any, rides along as
/// [`source`](StdError::source) so the caller can recover it by downcasting.
///
/// ```
/// use routewise_strategy::{AttemptFailure, FailoverPolicy};
///
/// let policy = FailoverPolicy::default();
/// assert!(policy.should_failover(&AttemptFailure::status(503, "busy")));
/// assert!(!policy.should_failover(&AttemptFailure::status(400, "bad request")));
/// // The same in-band failure fails over only while nothing reached the caller.
/// assert!(policy.should_failover(&AttemptFailure::stream("reset")));
/// assert!(!policy.should_failover(&AttemptFailure::stream("reset").after_content()));
/// ```
#[derive(Clone)]
pub struct AttemptFailure {
    kind: FailureKind,
    message: String,
    code: Option<String>,
    content_delivered: bool,
    retry_after: Option<Duration>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl AttemptFailure {
    /// A failure of this kind with a human-readable message.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
            content_delivered: false,
            retry_after: None,
            source: None,
        }
    }

    /// A connect error.
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Connect, message)
    }

    /// A timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Timeout, message)
    }

    /// A non-success HTTP status.
    pub fn status(status: u16, message: impl Into<String>) -> Self {
        Self::new(FailureKind::Status(status), message)
    }

    /// A content-filter block.
    pub fn content_filter(message: impl Into<String>) -> Self {
        Self::new(FailureKind::ContentFilter, message)
    }

    /// An in-band stream failure before any content delta reached the caller.
    /// Chain [`after_content`](Self::after_content) when content was already delivered.
    pub fn stream(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Stream, message)
    }

    /// Any other failure.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Other, message)
    }

    /// Marks that content had already reached the caller: no failover is allowed.
    pub fn after_content(mut self) -> Self {
        self.content_delivered = true;
        self
    }

    /// Sets the service's error code (e.g. `DeploymentNotFound`, `content_filter`).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the delay the service asked for (`Retry-After`).
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Attaches the original error.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// The failure class.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The service's error code, if known.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The HTTP status, when the failure is a status.
    pub fn http_status(&self) -> Option<u16> {
        self.kind.status()
    }

    /// The delay the service asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The original error, if attached.
    pub fn source_error(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// True when content had already reached the caller.
    pub fn is_content_delivered(&self) -> bool {
        self.content_delivered
    }

    /// True for connect errors.
    pub fn is_connect(&self) -> bool {
        self.kind.is_connect()
    }

    /// True for timeouts.
    pub fn is_timeout(&self) -> bool {
        self.kind.is_timeout()
    }

    /// True for `429`.
    pub fn is_rate_limited(&self) -> bool {
        self.kind.is_rate_limited()
    }

    /// True for `5xx`.
    pub fn is_server_error(&self) -> bool {
        self.kind.is_server_error()
    }

    /// True for `404`.
    pub fn is_not_found(&self) -> bool {
        self.kind.is_not_found()
    }

    /// True for content-filter blocks, whether classified as such or signalled by the
    /// `content_filter` error code on another status.
    pub fn is_content_filter(&self) -> bool {
        self.kind.is_content_filter()
            || self
                .code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("content_filter"))
    }

    /// True for in-band stream failures.
    pub fn is_stream(&self) -> bool {
        self.kind.is_stream()
    }

    /// True when the failure reflects the deployment's health (see
    /// [`FailureKind::is_deployment_fault`]); content-filter codes never do.
    pub fn is_deployment_fault(&self) -> bool {
        self.kind.is_deployment_fault() && !self.is_content_filter()
    }
}

impl fmt::Debug for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptFailure")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("code", &self.code)
            .field("content_delivered", &self.content_delivered)
            .field("retry_after", &self.retry_after)
            .field("has_source", &self.source.is_some())
            .finish()
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl StdError for AttemptFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// The one rule for "may the next deployment be tried?", shared by the client and the gateway.
///
/// Fails over on connect errors, timeouts, 408, 429, 5xx, 404 (missing deployment) and a `200`
/// stream that fails in-band before its first content delta. Never after content reached the
/// caller, never on other 4xx (400, 401, 403, ...) and never on content-filter blocks: another
/// deployment would refuse the same request for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverPolicy {
    max_attempts: usize,
}

impl Default for FailoverPolicy {
    fn default() -> Self {
        Self {
            max_attempts: usize::MAX,
        }
    }
}

impl FailoverPolicy {
    /// The default policy: every planned attempt may be used.
    pub fn new() -> Self {
        Self::default()
    }

    /// Caps the attempts per request (at least one).
    pub fn with_max_attempts(mut self, max: usize) -> Self {
        self.max_attempts = max.max(1);
        self
    }

    /// The attempt cap.
    pub fn max_attempts(&self) -> usize {
        self.max_attempts
    }

    /// True when another deployment may be tried after this failure.
    pub fn should_failover(&self, failure: &AttemptFailure) -> bool {
        !failure.is_content_delivered() && failure.is_deployment_fault()
    }
}
