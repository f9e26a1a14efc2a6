//! The transport error: an opaque struct with a kind and a source chain.

use std::error::Error as StdError;
use std::fmt;

/// A boxed, thread-safe error, the error type of every [`ResponseBody`](crate::ResponseBody).
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// What went wrong while sending a request or reading its response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established (DNS, TCP, TLS, refused).
    Connect,
    /// A timeout elapsed: connect, response headers or idle between body chunks.
    Timeout,
    /// The connection failed after it was established, before the response headers arrived.
    Io,
    /// Reading the response body failed after the headers were handed back.
    Body,
    /// Anything else: an invalid request, a builder failure, an unknown error.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect error",
            Self::Timeout => "timed out",
            Self::Io => "i/o error",
            Self::Body => "response body error",
            Self::Other => "transport error",
        })
    }
}

/// An error from a [`Transport`](crate::Transport), or from a response body it produced.
///
/// Opaque on purpose: match on [`kind()`](Self::kind) or use the `is_*()` predicates, and walk
/// [`source()`](std::error::Error::source) for the underlying cause.
///
/// ```
/// use routewise_transport::{TransportError, TransportErrorKind};
///
/// let err = TransportError::timeout("response headers did not arrive within 30s");
/// assert!(err.is_timeout());
/// assert_eq!(err.kind(), TransportErrorKind::Timeout);
/// ```
pub struct TransportError {
    kind: TransportErrorKind,
    source: Option<BoxError>,
    message: Option<Box<str>>,
}

impl TransportError {
    /// An error of `kind` caused by `source`.
    pub fn new(kind: TransportErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
            message: None,
        }
    }

    /// An error of `kind` with a message and no underlying cause.
    pub fn msg(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            source: None,
            message: Some(message.into().into_boxed_str()),
        }
    }

    /// A [`TransportErrorKind::Timeout`] error with a message.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::msg(TransportErrorKind::Timeout, message)
    }

    /// Classifies an error read from a response body.
    ///
    /// A [`TransportError`] inside the box (what this crate's transports and layers produce) is
    /// returned as is, so a body idle timeout stays a timeout; anything else becomes
    /// [`TransportErrorKind::Body`].
    pub fn from_body_error(err: BoxError) -> Self {
        match err.downcast::<TransportError>() {
            Ok(err) => *err,
            Err(other) => Self::new(TransportErrorKind::Body, other),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The connection could not be established.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }

    /// A timeout elapsed.
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }

    /// The connection failed before the response headers arrived.
    pub fn is_io(&self) -> bool {
        self.kind == TransportErrorKind::Io
    }

    /// Reading the response body failed.
    pub fn is_body(&self) -> bool {
        self.kind == TransportErrorKind::Body
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransportError");
        d.field("kind", &self.kind);
        if let Some(message) = &self.message {
            d.field("message", message);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => write!(f, "{}: {message}", self.kind),
            None => fmt::Display::fmt(&self.kind, f),
        }
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_keep_their_transport_kind() {
        let boxed: BoxError = Box::new(TransportError::timeout("idle"));
        assert!(TransportError::from_body_error(boxed).is_timeout());
        let other: BoxError = "connection reset".into();
        let err = TransportError::from_body_error(other);
        assert!(err.is_body());
        assert_eq!(
            err.source().map(|s| s.to_string()).as_deref(),
            Some("connection reset")
        );
    }

    #[test]
    fn display_includes_the_message() {
        let err = TransportError::msg(TransportErrorKind::Other, "bad uri");
        assert_eq!(err.to_string(), "transport error: bad uri");
    }
}
