//! Reading a request body: media type, size and time limits, and the replica's budget of
//! large bodies.
//!
//! The budget is taken while the body is read, not after: a body held in memory costs the
//! same whether it is still arriving or already parsed, and forty clients each uploading
//! 30 MiB and then stalling would otherwise hold 1.2 GB until `body_read_timeout`. A body
//! counts only what has arrived, so a client that declares a large length and sends nothing
//! holds nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::header;
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::{GatewayError, clipped};
use crate::state::AppState;

/// Bodies at least this large count against the replica's large-body budget and are parsed
/// on the blocking pool: parsing 30 MB takes a quarter of a second, which must not stall the
/// other connections on the same worker thread.
pub(super) const LARGE_BODY: usize = 256 * 1024;

/// The budget is taken in steps of at least this many KiB, so a 30 MiB upload asks the
/// semaphore about thirty times, not once per frame.
const BUDGET_STEP_KIB: u32 = 1024;

/// An oversized body is read and discarded up to this many bytes before answering 413, so the
/// client gets the answer instead of a reset connection.
const DRAIN_CAP: u64 = 256 << 20;

/// Draining stops when the client sends nothing for this long: a client still uploading is
/// blocked on its write and keeps sending, while one that stalled (or declared a length it
/// never sends) is waiting for an answer, which it then gets at once.
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// A body read whole, with its share of the large-body budget (`None` under [`LARGE_BODY`]).
/// The share is held until the answer is made: a large request's parsed form is what fills
/// memory.
pub(super) struct ReadBody {
    pub bytes: Bytes,
    pub budget: Option<OwnedSemaphorePermit>,
}

/// Reads the body within the size and time limits and the large-body budget. Waiting longer
/// than `body_read_timeout` for budget is a 503 `server_busy`.
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
            drain(body, deadline).await;
        }
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    // `declared <= limit` here. Memory past LARGE_BODY is reserved only as the budget allows.
    let declared = declared.map(|l| l as usize);
    let mut buf = BytesMut::with_capacity(declared.map_or(1024, |l| l.min(LARGE_BODY)));
    let mut budget = Budget::new(&state.large_bodies, limit, declared);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(GatewayError::RequestTimeout),
            Ok(None) => {
                return Ok(ReadBody {
                    bytes: buf.freeze(),
                    budget: budget.held,
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
                let len = buf.len() + data.len();
                if len > limit {
                    drain(body, deadline).await;
                    return Err(GatewayError::PayloadTooLarge { limit });
                }
                if len >= LARGE_BODY {
                    let covered = budget.cover(len, deadline).await?;
                    if let Some(total) = declared {
                        buf.reserve(total.min(covered).saturating_sub(buf.len()));
                    }
                }
                buf.extend_from_slice(&data);
            }
        }
    }
}

/// One body's share of the replica's large-body semaphore (KiB), grown as the body arrives.
struct Budget<'a> {
    semaphore: &'a Arc<Semaphore>,
    /// The most this body can need: its declared length or `max_body_bytes`, and never more
    /// than the whole budget (so a body larger than it waits for all of it, not forever).
    most_kib: u32,
    held: Option<OwnedSemaphorePermit>,
    held_kib: u32,
}

impl<'a> Budget<'a> {
    fn new(semaphore: &'a Arc<Semaphore>, max_body_bytes: usize, declared: Option<usize>) -> Self {
        let whole = crate::state::large_body_budget_kib(max_body_bytes);
        let most = declared.unwrap_or(max_body_bytes).div_ceil(1024).min(whole);
        Self {
            semaphore,
            most_kib: u32::try_from(most).unwrap_or(u32::MAX),
            held: None,
            held_kib: 0,
        }
    }

    /// Holds budget for `len` bytes, waiting until `deadline`; returns the bytes covered.
    async fn cover(&mut self, len: usize, deadline: Instant) -> Result<usize, GatewayError> {
        let want = u32::try_from(len.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.most_kib);
        if want > self.held_kib {
            let step = (want - self.held_kib)
                .max(BUDGET_STEP_KIB)
                .min(self.most_kib - self.held_kib);
            let acquire = Arc::clone(self.semaphore).acquire_many_owned(step);
            let Ok(Ok(permit)) = tokio::time::timeout_at(deadline, acquire).await else {
                return Err(GatewayError::Busy {
                    retry_after: Duration::from_secs(1),
                });
            };
            match &mut self.held {
                Some(held) => held.merge(permit),
                None => self.held = Some(permit),
            }
            self.held_kib += step;
        }
        Ok(self.held_kib as usize * 1024)
    }
}

/// Refuses, before the body is read, a `Content-Type` that is not JSON and a
/// `Content-Encoding` the gateway does not decode. A missing `Content-Type` is read as JSON,
/// as clients that omit it mean; `charset` and other parameters are ignored.
fn check_media_type(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    for coding in headers.get_all(header::CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes());
        if coding
            .split(',')
            .any(|c| !c.trim().is_empty() && !c.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(GatewayError::UnsupportedMediaType {
                message: format!(
                    "Unsupported content encoding: '{}'. Send the body uncompressed.",
                    clipped(&coding, 100)
                ),
            });
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

/// Discards the rest of a body (up to [`DRAIN_CAP`], the deadline, and [`DRAIN_IDLE`] between
/// frames).
async fn drain(mut body: Body, deadline: Instant) {
    let mut seen = 0u64;
    loop {
        let next = deadline.min(Instant::now() + DRAIN_IDLE);
        let Ok(Some(Ok(frame))) = tokio::time::timeout_at(next, body.frame()).await else {
            break;
        };
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > DRAIN_CAP {
            break;
        }
    }
}
