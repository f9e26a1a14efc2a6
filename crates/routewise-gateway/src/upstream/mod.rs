//! Where a deployment's requests go: the emulator or an HTTP provider.
//!
//! Every upstream answers a prepared request with either a whole JSON response or a stream of
//! SSE events, or fails with an [`UpstreamFailure`] that says whether another deployment may be
//! tried (the failover rule).

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::future::BoxFuture;
use http::StatusCode;
use serde_json::{Map, Value};

/// A request ready for one deployment: `model` already names the upstream model and parameters
/// are adjusted for it.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamRequest {
    pub body: Map<String, Value>,
    pub stream: bool,
}

/// One server-sent event: its `type` and its JSON `data`, kept as bytes so pass-through never
/// re-serializes.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub ty: String,
    pub data: Bytes,
}

/// Events of one streamed response, in order.
pub(crate) type EventStream = Pin<Box<dyn Stream<Item = Result<SseEvent, UpstreamFailure>> + Send>>;

/// A successful start: a whole JSON body or a stream.
pub(crate) enum UpstreamReply {
    Json(Bytes),
    Stream(EventStream),
}

impl fmt::Debug for UpstreamReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(b) => write!(f, "Json({} bytes)", b.len()),
            Self::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Why an attempt failed, with what the client should see if no other deployment is tried.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamFailure {
    /// Status to report (the upstream's, or 502/504 for transport problems).
    pub status: StatusCode,
    /// Error `code`, when known.
    pub code: Option<String>,
    /// Human-readable reason.
    pub message: String,
    /// The upstream's own error body, passed through when it is the final answer.
    pub body: Option<Bytes>,
    /// `retry-after-ms` advice from the upstream.
    pub retry_after: Option<Duration>,
    /// True when another deployment may be tried.
    pub retryable: bool,
}

impl UpstreamFailure {
    /// A failure classified by status: 408, 409, 429 and 5xx are retryable (the OpenAI SDK's rule).
    pub(crate) fn from_status(
        status: StatusCode,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            body: None,
            retry_after: None,
            retryable: is_retryable_status(status),
        }
    }

    /// An error reported inside a 200 stream. Retryable unless the code says the request itself
    /// is at fault (content filter, invalid prompt…).
    pub(crate) fn in_band(code: Option<String>, message: impl Into<String>) -> Self {
        let retryable = code.as_deref().is_none_or(is_retryable_code);
        let status = if retryable {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            code,
            message: message.into(),
            body: None,
            retry_after: None,
            retryable,
        }
    }
}

/// 408, 409, 429 and every 5xx.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
}

/// Error codes that another deployment could plausibly serve.
fn is_retryable_code(code: &str) -> bool {
    !matches!(
        code,
        "content_filter"
            | "content_policy_violation"
            | "invalid_prompt"
            | "invalid_request_error"
            | "context_length_exceeded"
            | "bio_policy"
    )
}

/// A deployment's way of answering.
pub(crate) trait Upstream: Send + Sync + fmt::Debug {
    /// Sends one attempt.
    fn send(&self, req: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, UpstreamFailure>>;
}
