//! Reading a request body: media type, size and time limits, and the two budgets that keep a
//! replica's memory bounded however many clients upload at once.
//!
//! - **Bodies being read** ([`BodyMemory`]): a body that reaches [`LARGE_BODY`] counts its bytes
//!   from then until it is parsed, against eight `max_body_bytes` per replica. One that would
//!   go over is refused at once with 503 `server_busy`: nothing waits on this budget, so uploads
//!   can never hold parts of it while waiting for each other. Smaller bodies are not counted, so
//!   large uploads can never shut ordinary requests out.
//! - **Large requests** (`AppState::large_bodies`): a body of [`LARGE_BODY`] or more is parsed
//!   on the blocking pool and takes a share of four `max_body_bytes`, whole, once it has
//!   arrived, since its parsed form takes many times its JSON. It waits for room, holding no
//!   share while it waits, for at most `body_read_timeout`. The share goes with the parsed
//!   request: to the JSON answer, the end of the stream, or the end of the background run.
//!   A body is also weighed ([`Weight`]: bytes plus [`VALUE_COST`] per JSON value), since 3
//!   bytes of `{}` become hundreds once parsed: a short body that weighs [`HEAVY`] or more
//!   takes a share of its weight too, and one that could never fit the budget gets 413.
//!   Ordinary requests weigh far less, so they never wait for large ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::header;
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::error::{GatewayError, clipped};
use crate::state::AppState;

/// Bodies at least this large are parsed on the blocking pool and take a share of the
/// large-body budget: parsing 30 MB takes a quarter of a second, which must not stall the other
/// connections on the same worker thread.
pub(super) const LARGE_BODY: usize = 256 * 1024;

/// What one JSON value is charged when a body is weighed ([`Weight`]): about what a small value
/// costs once parsed and handled. Measured peak memory per input item: about 500 bytes for
/// `{}` (one value: the 224-byte typed item, twice over while its `Vec` grows, plus the stored
/// and upstream copies) and 2,500 to 3,500 bytes for `{"role":"user","content":"x"}` with a
/// store (three values), against 3 and 30 bytes of JSON. Long strings are weighed at their
/// length but take three to four times it while handled (the upstream body and the stored
/// copy), so the budget bounds memory within that factor, not exactly.
pub(super) const VALUE_COST: usize = 1024;

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
    let max_values = value_limit(state);
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

/// A body weighed by what parsing and handling it takes: its bytes plus [`VALUE_COST`] per
/// JSON value, so a body of many tiny values (`[{},{},…]`, hundreds of times its size once
/// parsed) counts for what it will take, not its length. The values are counted as the commas
/// and openings outside strings ([`ValueCounter`]), frame by frame as the body is read: far
/// cheaper than the parse it guards, and no second pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Weight {
    /// About how many JSON values the body holds ([`ValueCounter`]).
    pub values: usize,
    /// Bytes plus [`VALUE_COST`] per value.
    pub cost: usize,
}

/// A body that weighs this much takes a share of the large-body budget even when it is short:
/// about 2,000 values. Below it a short body is ordinary traffic (an agent request with tools
/// and a long history holds a few hundred values), and what it can hold is bounded by
/// `max_connections` times this.
pub(super) const HEAVY: usize = 2 << 20;

impl Weight {
    /// The weight of `len` bytes holding `values` JSON values.
    fn of(len: usize, values: usize) -> Self {
        Self {
            values,
            cost: len.saturating_add(values.saturating_mul(VALUE_COST)),
        }
    }
}

/// Weighs `json` whole (see [`Weight`]).
#[cfg(test)]
fn weigh(json: &[u8]) -> Weight {
    Weight::of(json.len(), count_values(json))
}

impl Weight {
    /// Whether the body takes a share of the large-body budget: long ones (parsed off the
    /// worker threads) and heavy ones.
    pub(super) fn takes_share(&self, len: usize) -> bool {
        len >= LARGE_BODY || self.cost >= HEAVY
    }
}

/// Counts about how many values a JSON text holds (an object member counts once), fed in
/// pieces as the body arrives, so weighing needs no second pass over a large body: the
/// top-level value, plus one per comma and one per non-empty array or object, outside strings.
/// A container of `k` elements has `k − 1` commas, so each element is counted once.
#[derive(Debug, Clone, Copy)]
pub(super) struct ValueCounter {
    count: usize,
    in_string: bool,
    escaped: bool,
    // Just after `[` or `{`: the next significant byte says whether the container is empty.
    opened: bool,
}

impl ValueCounter {
    pub(super) fn new() -> Self {
        Self {
            count: 1,
            in_string: false,
            escaped: false,
            opened: false,
        }
    }

    /// Counts the next piece; a string or escape cut between pieces is carried over.
    pub(super) fn feed(&mut self, json: &[u8]) {
        for &b in json {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            if self.opened && !b.is_ascii_whitespace() {
                self.opened = false;
                if b != b']' && b != b'}' {
                    self.count += 1;
                }
            }
            match b {
                b'"' => self.in_string = true,
                b',' => self.count += 1,
                b'[' | b'{' => self.opened = true,
                _ => {}
            }
        }
    }

    /// The values counted so far.
    pub(super) fn values(&self) -> usize {
        self.count
    }
}

/// About how many values `json` holds ([`ValueCounter`] over the whole text).
#[cfg(test)]
fn count_values(json: &[u8]) -> usize {
    let mut counter = ValueCounter::new();
    counter.feed(json);
    counter.values()
}

/// The fewest JSON values a body may hold whatever `max_body_bytes` is: a small byte limit
/// must not refuse an ordinary request with a long history.
const MIN_VALUES: usize = 8 * 1024;

/// The most JSON values a body may hold: `2 × max_body_bytes / VALUE_COST` (65,536 at the
/// defaults, never fewer than [`MIN_VALUES`]), so what its values weigh may pass what its bytes
/// may by twice at most. So at the defaults no body weighs more than three `max_body_bytes`,
/// three quarters of the large-body budget, and one request held by a long background run or
/// an unread stream cannot take the whole budget from everyone else. A body is refused as soon
/// as its count passes this, before the rest of it is read.
fn value_limit(state: &AppState) -> usize {
    (state.settings().max_body_bytes.saturating_mul(2) / VALUE_COST).max(MIN_VALUES)
}

/// A share of the large-body budget for `len` bytes, taken whole (so no body holds part of it
/// while waiting for more) and waited for at most `body_read_timeout`.
pub(super) async fn large_body_permit(
    state: &AppState,
    len: usize,
) -> Result<OwnedSemaphorePermit, GatewayError> {
    let budget = &state.large_bodies;
    // A body larger than the whole budget (a lowered max_body_bytes) waits for all of it.
    let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX);
    let whole = crate::state::large_body_budget_kib(state.settings().max_body_bytes);
    let kib = kib.min(u32::try_from(whole).unwrap_or(u32::MAX));
    let wait = state.settings().body_read_timeout;
    match tokio::time::timeout(wait, Arc::clone(budget).acquire_many_owned(kib)).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(GatewayError::Busy {
            retry_after: Duration::from_secs(1),
        }),
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

#[cfg(test)]
mod tests {
    use super::{HEAVY, VALUE_COST, ValueCounter, count_values, weigh};

    #[test]
    fn values_are_counted_outside_strings_only() {
        assert_eq!(count_values(b"{}"), 1);
        assert_eq!(count_values(b"[{}, {} ,{ }]"), 4);
        assert_eq!(count_values(b"[[1,2],[3]]"), 6);
        assert_eq!(count_values(br#"{"a":1,"b":[1,2,3]}"#), 6);
        // Commas, brackets and escaped quotes inside strings are text, not structure.
        assert_eq!(count_values(br#"{"t":"a, [b], {c}, \"d, e\""}"#), 2);
        assert_eq!(count_values(br#"["\\", ","]"#), 3);
        assert_eq!(count_values(b""), 1);
    }

    #[test]
    fn pieces_cut_anywhere_count_as_the_whole() {
        // Escaped quotes and backslashes, so a cut can fall between `\` and what it escapes.
        let json =
            br#"{"input":[{"role":"user","content":"a, \"b\" [c] \\"},{},[1,"\"",{}]],"n":[]}"#;
        assert_eq!(count_values(json), 11);
        let whole = count_values(json);
        for cut in 0..=json.len() {
            let mut counter = ValueCounter::new();
            counter.feed(&json[..cut]);
            counter.feed(&json[cut..]);
            assert_eq!(counter.values(), whole, "cut at {cut}");
        }
        // One byte at a time carries a backslash's escape over the boundary too.
        let mut counter = ValueCounter::new();
        json.iter()
            .for_each(|b| counter.feed(std::slice::from_ref(b)));
        assert_eq!(counter.values(), whole);
    }

    #[test]
    fn tiny_values_weigh_far_more_than_their_bytes() {
        let text = format!(r#"{{"input":"{}"}}"#, "x".repeat(100_000));
        let w = weigh(text.as_bytes());
        assert!(w.cost < text.len() + 4 * VALUE_COST);
        assert!(!w.takes_share(text.len()));
        let items = format!(r#"{{"input":[{}]}}"#, vec!["{}"; 10_000].join(","));
        let w = weigh(items.as_bytes());
        assert!(w.cost > 10_000 * VALUE_COST);
        assert!(items.len() < 40_000 && w.takes_share(items.len()));
        // An agent request's few hundred values stay ordinary traffic.
        let agent = format!(
            r#"{{"input":[{}]}}"#,
            vec![r#"{"role":"user","content":"a question of some length"}"#; 200].join(",")
        );
        let w = weigh(agent.as_bytes());
        assert!(w.cost < HEAVY && !w.takes_share(agent.len()), "{w:?}");
    }
}
