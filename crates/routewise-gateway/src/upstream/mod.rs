//! Where a deployment's requests go: the emulator or an HTTP provider.
//!
//! Every upstream answers a prepared request with either a whole JSON response or a stream of
//! SSE events, or fails with an `AttemptFailure` that says whether another deployment may be
//! tried (the failover rule).

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::future::BoxFuture;
use http::{HeaderMap, StatusCode};
use routewise_strategy::AttemptFailure;
use routewise_types::CreateResponse;
use serde_json::Value;

pub(crate) use liveness::{Idle, Liveness, next_event};

/// A request ready for one deployment: `model` already names the upstream model and parameters
/// are adjusted for it.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamRequest {
    pub body: Box<CreateResponse>,
    /// Touched whenever a streamed answer's bytes arrive (keep-alive comments included).
    pub liveness: Liveness,
}

/// One server-sent event: its `type` and its JSON `data`, kept as bytes so pass-through never
/// re-serializes.
#[derive(Debug, Clone)]
pub(crate) struct SseEvent {
    pub ty: String,
    pub data: Bytes,
}

/// Events of one streamed response, in order.
pub(crate) type EventStream = Pin<Box<dyn Stream<Item = Result<SseEvent, AttemptFailure>> + Send>>;

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

/// An upstream's own error body, kept as the failure's source so the final answer can pass
/// it through verbatim (content-filter details included).
#[derive(Debug, Clone)]
pub(crate) struct UpstreamErrorBody {
    pub status: StatusCode,
    pub body: Bytes,
    /// The answer's `x-ratelimit-*` headers, passed on with it.
    pub rate_limits: HeaderMap,
}

impl fmt::Display for UpstreamErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "upstream answered {} ({} bytes)",
            self.status,
            self.body.len()
        )
    }
}

impl std::error::Error for UpstreamErrorBody {}

/// The events a stream sent before it failed in-band, kept as the failure's source so that,
/// when no other deployment is tried, the client sees exactly what the upstream sent.
#[derive(Debug, Clone)]
pub(crate) struct InBandFailure {
    pub events: Vec<SseEvent>,
}

impl fmt::Display for InBandFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stream failed in-band after {} events",
            self.events.len()
        )
    }
}

impl std::error::Error for InBandFailure {}

/// A failure from an upstream HTTP status, with its body and the `x-ratelimit-*` headers of
/// `headers` as source.
pub(crate) fn status_failure(
    status: StatusCode,
    body: Bytes,
    retry_after: Option<Duration>,
    headers: &HeaderMap,
) -> AttemptFailure {
    let (code, message) = error_fields(&body);
    let message = message.unwrap_or_else(|| format!("upstream answered {status}"));
    let content_filter = matches!(
        code.as_deref(),
        Some("content_filter" | "content_policy_violation")
    );
    let mut f = if content_filter {
        AttemptFailure::content_filter(message)
    } else {
        AttemptFailure::status(status.as_u16(), message)
    };
    if let Some(code) = code {
        f = f.with_code(code);
    }
    if let Some(delay) = retry_after {
        f = f.with_retry_after(delay);
    }
    let mut rate_limits = HeaderMap::new();
    for (name, value) in headers {
        if name.as_str().starts_with("x-ratelimit-") {
            rate_limits.append(name.clone(), value.clone());
        }
    }
    f.with_source(UpstreamErrorBody {
        status,
        body,
        rate_limits,
    })
}

/// `code` and `message` from an OpenAI/Azure error body (`{"error": {...}}`) or a flat one.
pub(crate) fn error_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let e = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
    let code = e.get("code").and_then(|c| {
        c.as_str()
            .map(str::to_owned)
            .or_else(|| c.as_u64().map(|n| n.to_string()))
    });
    (
        code,
        e.get("message").and_then(Value::as_str).map(str::to_owned),
    )
}

/// A deployment's way of answering.
pub(crate) trait Upstream: Send + Sync + fmt::Debug {
    /// Sends one attempt.
    fn send(&self, req: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, AttemptFailure>>;
}
mod liveness;
pub(crate) mod remote;
mod scrub;
mod synthetic;
