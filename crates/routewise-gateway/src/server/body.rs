//! Reading a request body: media type, size and time limits, and the two budgets that keep a
//! replica's memory bounded however many clients upload at once.
//!
//! - **Bodies being read** ([`BodyMemory`]): a body that reaches [`LARGE_BODY`] counts its bytes
//!   from then until it is parsed, against eight `max_body_bytes` per replica. One that would
//!   go over is refused at once with 503 `server_busy`: nothing waits on this budget, so uploads
//!   can never hold parts of it while waiting for each other. Smaller bodies are not counted, so
//!   large uploads can never shut ordinary requests out.
//! - **Large requests** ([`LargeBudget`](crate::budget::LargeBudget)): a body of
//!   [`LARGE_BODY`] or more is parsed on the blocking pool and takes a share of the replica's
//!   large-body budget, whole, once it has arrived, since its parsed form takes many times its
//!   JSON. The share goes with the parsed request: to the JSON answer, the end of the stream,
//!   or the end of the background run. A body is weighed as it arrives ([`Weight`]: bytes plus
//!   a cost per JSON value), since 3 bytes of `{}` become hundreds once parsed: a short body
//!   that weighs [`HEAVY`](crate::budget::HEAVY) or more takes a share of its weight too, and
//!   one with more values than [`value_limit`] gets 413. Ordinary requests weigh far less, so
//!   they never wait for large ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::header;
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::budget::{LARGE_BODY, ValueCounter, Weight, value_limit};
use crate::error::{GatewayError, clipped};
use crate::state::AppState;

/// How many `max_body_bytes` of large bodies one replica reads at once.
const HELD_BODIES: usize = 8;

/// An oversized body is read and discarded up to this many bytes before answering 413, so the
/// client gets the answer instead of a reset connection.
const DRAIN_CAP: u64 = 256 << 20;

/// Draining stops when the client sends nothing for this long: a client still uploading is
/// blocked on its write and keeps sending, while one that stalled (or declared a length it
/// never sends) is waiting for an answer, which it then gets at once.
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// The bytes of large bodies a replica is reading or parsing, against a cap of
/// [`HELD_BODIES`] × `max_body_bytes`.
#[derive(Debug)]
pub(crate) struct BodyMemory {
    held: AtomicUsize,
    cap: usize,
}

impl BodyMemory {
    pub(crate) fn new(max_body_bytes: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            cap: HELD_BODIES.saturating_mul(max_body_bytes),
        }
    }
}

/// One body's bytes in [`BodyMemory`], given back when dropped (once it is parsed). It owns
/// its handle on the count, so it can go with the bytes to the blocking pool: a parse goes on
/// after its client has left, and so must the count.
#[derive(Default)]
pub(super) struct Held {
    memory: Option<Arc<BodyMemory>>,
    bytes: usize,
}

impl Held {
    /// Counts `n` more bytes in `memory`; `false`, counting nothing, when its cap would be
    /// passed.
    fn grow(&mut self, memory: &Arc<BodyMemory>, n: usize) -> bool {
        let cap = memory.cap;
        let taken = memory
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                h.checked_add(n).filter(|t| *t <= cap)
            })
            .is_ok();
        if taken {
            self.memory.get_or_insert_with(|| Arc::clone(memory));
            self.bytes += n;
        }
        taken
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(memory) = &self.memory {
            memory.held.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

/// A body read whole, its count in [`BodyMemory`] (none under [`LARGE_BODY`]), to be kept
/// until it is parsed, and its [`Weight`], counted as it arrived.
pub(super) struct ReadBody {
    pub bytes: Bytes,
    pub held: Held,
    pub weight: Weight,
}

/// Reads the body within the size and time limits, the replica's [`BodyMemory`] cap and the
/// [`value_limit`], weighing it on the way.
pub(super) async fn read_body(
    state: &AppState,
    headers: &http::HeaderMap,
    mut body: Body,
) -> Result<ReadBody, GatewayError> {
    check_media_type(headers)?;
    let limit = state.settings().max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let deadline = Instant::now() + state.settings().body_read_timeout;
    if let Some(len) = declared
        && len > limit as u64
    {
        // A client that asked `Expect: 100-continue` has sent nothing yet; reading would make
        // hyper invite the upload about to be refused.
        let waits_for_continue = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if len <= DRAIN_CAP && !waits_for_continue {
            drain(body, deadline, DRAIN_CAP).await;
        }
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    // Grown as bytes arrive: a declared length alone reserves at most LARGE_BODY.
    let mut buf = BytesMut::with_capacity(declared.map_or(1024, |l| (l as usize).min(LARGE_BODY)));
    let mut held = Held::default();
    let mut counter = ValueCounter::new();
    let max_values = value_limit(limit);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(GatewayError::RequestTimeout),
            Ok(None) => {
                let weight = Weight::of(buf.len(), counter.values());
                return Ok(ReadBody {
                    bytes: buf.freeze(),
                    held,
                    weight,
                });
            }
            Ok(Some(Err(e))) => {
                return Err(GatewayError::invalid(
                    format!("The request body could not be read: {e}"),
                    None,
                    "invalid_body",
                ));
            }
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                // Either way the client may still be sending: what it sent is dropped first,
                // then the rest drained, so it reads the answer instead of a reset.
                let len = buf.len() + data.len();
                // Counted from LARGE_BODY on, all of it at once when the body gets there.
                let count = match (len >= LARGE_BODY, held.bytes) {
                    (false, _) => 0,
                    (true, 0) => len,
                    (true, _) => data.len(),
                };
                let refusal = if len > limit {
                    Some(GatewayError::PayloadTooLarge { limit })
                } else if count > 0 && !held.grow(&state.body_memory, count) {
                    Some(GatewayError::Busy {
                        retry_after: Duration::from_secs(1),
                    })
                } else {
                    // A frame is at most hyper's read buffer, so counting it here is a short
                    // step, not a stall of this worker thread.
                    counter.feed(&data);
                    (counter.values() > max_values).then_some(GatewayError::TooManyValues {
                        values: counter.values(),
                        limit: max_values,
                    })
                };
                if let Some(refusal) = refusal {
                    drop((buf, held));
                    // A body that is not refused for its size cannot lawfully exceed it.
                    let cap = if matches!(refusal, GatewayError::PayloadTooLarge { .. }) {
                        DRAIN_CAP
                    } else {
                        limit as u64
                    };
                    drain(body, deadline, cap).await;
                    return Err(refusal);
                }
                buf.extend_from_slice(&data);
            }
        }
    }
}

/// Refuses, before the body is read, a `Content-Type` that is not JSON and a
/// `Content-Encoding` or `Transfer-Encoding` the gateway does not decode. A missing
/// `Content-Type` is read as JSON, as clients that omit it mean; `charset` and other
/// parameters are ignored.
fn check_media_type(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    // hyper undoes `chunked` only: a body compressed in transfer (`gzip, chunked`) would reach
    // the parser still compressed, and get a confusing 400 instead of this.
    for (name, what, allowed) in [
        (
            header::CONTENT_ENCODING,
            "content encoding",
            &["identity"][..],
        ),
        (
            header::TRANSFER_ENCODING,
            "transfer coding",
            &["identity", "chunked"][..],
        ),
    ] {
        for coding in headers.get_all(&name) {
            let coding = String::from_utf8_lossy(coding.as_bytes());
            if coding
                .split(',')
                .map(str::trim)
                .any(|c| !c.is_empty() && !allowed.iter().any(|a| c.eq_ignore_ascii_case(a)))
            {
                return Err(GatewayError::UnsupportedMediaType {
                    message: format!(
                        "Unsupported {what}: '{}'. Send the body uncompressed.",
                        clipped(&coding, 100)
                    ),
                });
            }
        }
    }
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = String::from_utf8_lossy(ct.as_bytes());
    // Compared without lowering a copy: this runs on every request.
    let essence = ct.split(';').next().unwrap_or("").trim().as_bytes();
    let starts = |p: &[u8]| essence.len() >= p.len() && essence[..p.len()].eq_ignore_ascii_case(p);
    let ends = |p: &[u8]| {
        essence.len() >= p.len() && essence[essence.len() - p.len()..].eq_ignore_ascii_case(p)
    };
    if essence.eq_ignore_ascii_case(b"application/json")
        || (starts(b"application/") && ends(b"+json"))
    {
        return Ok(());
    }
    Err(GatewayError::UnsupportedMediaType {
        message: format!(
            "Unsupported content type: '{}'. This API method only accepts 'application/json' \
             requests.",
            clipped(&ct, 100)
        ),
    })
}

/// Discards the rest of a body (up to `cap` bytes, the deadline, and [`DRAIN_IDLE`] between
/// frames).
async fn drain(mut body: Body, deadline: Instant, cap: u64) {
    let mut seen = 0u64;
    loop {
        let next = deadline.min(Instant::now() + DRAIN_IDLE);
        let Ok(Some(Ok(frame))) = tokio::time::timeout_at(next, body.frame()).await else {
            break;
        };
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > cap {
            break;
        }
    }
}
