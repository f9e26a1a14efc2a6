//! Errors while decoding an SSE stream.

use crate::TransportError;

/// An error while decoding a server-sent event stream.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// One event (its buffered line plus its `data`) grew past the decoder's limit.
    #[error("server-sent event exceeds the {limit} byte limit")]
    EventTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The stream ended in the middle of an event (no blank line after its last field).
    #[error("event stream ended mid-event ({pending_bytes} bytes of an unfinished event)")]
    Truncated {
        /// Bytes of the unfinished event that were discarded.
        pending_bytes: usize,
    },
    /// Reading the underlying body failed (connection reset, idle timeout, ...).
    #[error("reading the event stream failed")]
    Transport(#[source] TransportError),
}

impl SseError {
    /// The stream ended mid-event.
    pub fn is_truncated(&self) -> bool {
        matches!(self, Self::Truncated { .. })
    }

    /// An event exceeded the size limit.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::EventTooLarge { .. })
    }

    /// The underlying body failed.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport(_))
    }

    /// The underlying body hit a timeout (e.g. the idle timeout of a
    /// [`TimeoutLayer`](crate::TimeoutLayer)).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_timeout())
    }

    /// The transport error, if the body failed.
    pub fn as_transport(&self) -> Option<&TransportError> {
        match self {
            Self::Transport(e) => Some(e),
            _ => None,
        }
    }
}
