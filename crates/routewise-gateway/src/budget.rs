//! What parsed JSON a replica holds at once: request bodies, the conversations follow-ups
//! replay and the input items a listing parses are weighed by what parsing them takes
//! ([`Weight`]), and large or heavy ones take a share of one budget per replica
//! ([`LargeBudget`]) for as long as their parsed form lives.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::GatewayError;

/// Bodies at least this large are parsed on the blocking pool and take a share of the
/// large-body budget: parsing 30 MB takes a quarter of a second, which must not stall the other
/// connections on the same worker thread.
pub(crate) const LARGE_BODY: usize = 256 * 1024;

/// What one JSON value is charged when a body is weighed ([`Weight`]): about what a small value
/// costs once parsed and handled. Measured peak memory per input item: about 500 bytes for
/// `{}` (one value: the 224-byte typed item, twice over while its `Vec` grows, plus the stored
/// and upstream copies) and 2,500 to 3,500 bytes for `{"role":"user","content":"x"}` with a
/// store (three values), against 3 and 30 bytes of JSON. Long strings are weighed at their
/// length but take three to four times it while handled (the upstream body and the stored
/// copy), so the budget bounds memory within that factor, not exactly.
pub(crate) const VALUE_COST: usize = 1024;

/// A body weighed by what parsing and handling it takes: its bytes plus [`VALUE_COST`] per
/// JSON value, so a body of many tiny values (`[{},{},…]`, hundreds of times its size once
/// parsed) counts for what it will take, not its length. The values are counted as the commas
/// and openings outside strings ([`ValueCounter`]), frame by frame as the body is read: far
/// cheaper than the parse it guards, and no second pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Weight {
    /// About how many JSON values the body holds ([`ValueCounter`]).
    pub values: usize,
    /// Bytes plus [`VALUE_COST`] per value.
    pub cost: usize,
}

/// A body that weighs this much takes a share of the large-body budget even when it is short:
/// about 2,000 values. Below it a short body is ordinary traffic (an agent request with tools
/// and a long history holds a few hundred values), and what it can hold is bounded by
/// `max_connections` times this.
pub(crate) const HEAVY: usize = 2 << 20;

impl Weight {
    /// The weight of JSON `texts` taken together.
    pub(crate) fn of_texts(texts: &[&str]) -> Self {
        let mut counter = ValueCounter::new();
        for text in texts {
            counter.feed(text.as_bytes());
        }
        Self::of(texts.iter().map(|t| t.len()).sum(), counter.values())
    }

    /// The weight of `len` bytes holding `values` JSON values.
    pub(crate) fn of(len: usize, values: usize) -> Self {
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
    pub(crate) fn takes_share(&self, len: usize) -> bool {
        len >= LARGE_BODY || self.cost >= HEAVY
    }
}

/// Counts about how many values a JSON text holds (an object member counts once), fed in
/// pieces as the body arrives, so weighing needs no second pass over a large body: the
/// top-level value, plus one per comma and one per non-empty array or object, outside strings.
/// A container of `k` elements has `k − 1` commas, so each element is counted once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueCounter {
    count: usize,
    in_string: bool,
    escaped: bool,
    // Just after `[` or `{`: the next significant byte says whether the container is empty.
    opened: bool,
}

impl ValueCounter {
    /// A counter that has seen nothing yet.
    pub(crate) fn new() -> Self {
        Self {
            count: 1,
            in_string: false,
            escaped: false,
            opened: false,
        }
    }

    /// Counts the next piece; a string or escape cut between pieces is carried over.
    pub(crate) fn feed(&mut self, json: &[u8]) {
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
    pub(crate) fn values(&self) -> usize {
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
/// may by twice at most. A body is refused as soon as its count passes this.
pub(crate) fn value_limit(max_body_bytes: usize) -> usize {
    (max_body_bytes.saturating_mul(2) / VALUE_COST).max(MIN_VALUES)
}

/// The most one request can weigh: `max_body_bytes` of bytes holding [`value_limit`] values.
#[cfg(test)]
fn max_weight(max_body_bytes: usize) -> usize {
    Weight::of(max_body_bytes, value_limit(max_body_bytes)).cost
}

/// How many `max_body_bytes` of weight a replica parses and handles at once. A parsed request
/// takes about 18 times its JSON in memory (30 MB of tiny input items held 550 MB), so
/// without a budget a few dozen such requests would exhaust the machine.
const LARGE_BODY_BUDGET: usize = 4;

/// The large-body budget: large or heavy request bodies and the conversations follow-ups replay
/// (from parsing to the answer, the end of the stream or of the background run, through a
/// [`Hold`]) and stored input items being listed take a share of their weight, whole, and wait
/// for room at most `wait`.
#[derive(Debug)]
pub(crate) struct LargeBudget {
    permits: Arc<Semaphore>,
    whole_kib: u32,
    wait: Duration,
}

impl LargeBudget {
    /// Four `max_body_bytes`.
    pub(crate) fn new(max_body_bytes: usize, wait: Duration) -> Self {
        let bytes = LARGE_BODY_BUDGET.saturating_mul(max_body_bytes);
        let whole_kib = u32::try_from((bytes / 1024).max(1)).unwrap_or(u32::MAX);
        // A semaphore holds at most `Semaphore::MAX_PERMITS`.
        let whole_kib = whole_kib.min(u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX));
        Self {
            permits: Arc::new(Semaphore::new(whole_kib as usize)),
            whole_kib,
            wait,
        }
    }

    /// A share for `weight` bytes, taken whole (so nothing holds part of the budget while
    /// waiting for more), or 503 `server_busy` after waiting `wait` for room.
    ///
    /// No share is more than three quarters of the budget, so one request never shuts
    /// everyone else out. At the defaults none weighs that much ([`value_limit`] values in
    /// `max_body_bytes` weigh three `max_body_bytes`); with a `max_body_bytes` under 4 MiB the
    /// floor of [`MIN_VALUES`] values can weigh more, and such a request then holds more memory
    /// than its share, a few MiB at most.
    pub(crate) async fn share(&self, weight: usize) -> Result<OwnedSemaphorePermit, GatewayError> {
        let kib = u32::try_from(self.kib_for(weight)).unwrap_or(u32::MAX);
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_many_owned(kib))
            .await
        {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(GatewayError::Busy {
                retry_after: Duration::from_secs(1),
            }),
        }
    }

    /// The permits (KiB) a share for `weight` takes: at least one, at most three quarters of
    /// the budget.
    fn kib_for(&self, weight: usize) -> usize {
        weight
            .div_ceil(1024)
            .min(self.whole_kib as usize / 4 * 3)
            .max(1)
    }

    /// The whole budget in bytes.
    #[cfg(test)]
    pub(crate) fn whole(&self) -> usize {
        self.whole_kib as usize * 1024
    }
}

/// Runs `f` where its input's size says: here when `len` is under [`LARGE_BODY`], on the
/// blocking pool otherwise, so that parsing or counting a large JSON text never stalls the
/// other connections of a worker thread.
pub(crate) async fn sized<T: Send + 'static>(
    len: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, GatewayError> {
    if len < LARGE_BODY {
        return Ok(f());
    }
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| GatewayError::Internal {
            message: format!("a blocking task failed: {e}"),
        })
}

/// What one request holds of the [`LargeBudget`]: its share, if it took one, and the weight
/// that share covers. A follow-up [`grow`](Self::grow)s it by its replayed conversation.
#[derive(Debug, Default)]
pub(crate) struct Hold {
    permit: Option<OwnedSemaphorePermit>,
    weight: usize,
}

impl Hold {
    /// A hold of `permit` for a body of `weight`.
    pub(crate) fn new(permit: Option<OwnedSemaphorePermit>, weight: usize) -> Self {
        Self { permit, weight }
    }

    /// Adds `more` weight (a replayed conversation) to the hold. Room for it alone is tried
    /// first, without waiting; when there is none, the share held is given back before one
    /// share for both is waited for, so the request never waits holding part of the budget
    /// (two requests each holding a share and waiting for more would starve each other).
    pub(crate) async fn grow(
        &mut self,
        budget: &LargeBudget,
        more: usize,
    ) -> Result<(), GatewayError> {
        let total = self.weight.saturating_add(more);
        let held = self.permit.as_ref().map_or(0, |p| p.num_permits());
        let want = budget.kib_for(total);
        if want > held {
            let extra = u32::try_from(want - held).unwrap_or(u32::MAX);
            match Arc::clone(&budget.permits).try_acquire_many_owned(extra) {
                Ok(permit) => match &mut self.permit {
                    Some(mine) => mine.merge(permit),
                    None => self.permit = Some(permit),
                },
                Err(_) => {
                    self.permit = None;
                    self.permit = Some(budget.share(total).await?);
                }
            }
        }
        self.weight = total;
        Ok(())
    }

    /// The share, to hand to whatever keeps the parsed request (a stream, a run).
    pub(crate) fn into_permit(self) -> Option<OwnedSemaphorePermit> {
        self.permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn texts_weigh_together_what_their_values_and_bytes_do() {
        let w = Weight::of_texts(&["[{},{}]", "[1,2,3]"]);
        // The first document and its two objects, then the second's three numbers.
        assert_eq!((w.values, w.cost), (6, 14 + 6 * VALUE_COST));
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

    #[tokio::test]
    async fn no_share_takes_the_whole_budget_however_small_the_limit() {
        for max_body in [64 * 1024, 1 << 20, 2 << 20] {
            let budget = LargeBudget::new(max_body, Duration::from_millis(20));
            assert!(max_weight(max_body) > budget.whole(), "{max_body}");
            let heaviest = budget.share(max_weight(max_body)).await.unwrap();
            // A quarter is left for everyone else.
            let rest = budget.share(budget.whole() / 4).await.unwrap();
            assert!(budget.share(1024).await.unwrap_err().is_busy());
            drop((heaviest, rest));
        }
        // At the defaults the heaviest request is three quarters exactly.
        assert_eq!(
            max_weight(32 << 20) * 4,
            LargeBudget::new(32 << 20, Duration::ZERO).whole() * 3
        );
    }

    #[tokio::test]
    async fn a_share_waits_for_room_then_gives_up_with_503() {
        let budget = LargeBudget::new(1 << 20, Duration::from_millis(50));
        let most = budget.share(usize::MAX).await.unwrap();
        assert!(
            budget
                .share(budget.whole() / 4 + 1024)
                .await
                .unwrap_err()
                .is_busy()
        );
        drop(most);
        assert!(budget.share(10 << 10).await.is_ok());
    }

    #[tokio::test]
    async fn a_hold_grows_in_place_or_gives_back_before_it_waits() {
        let budget = LargeBudget::new(1 << 20, Duration::from_millis(50));
        // 1 MiB budget x 4 = 4 MiB. A body of 1 MiB grows by 1 MiB in place.
        let mut hold = Hold::new(Some(budget.share(1 << 20).await.unwrap()), 1 << 20);
        hold.grow(&budget, 1 << 20).await.unwrap();
        assert_eq!(budget.permits.available_permits(), 2048);
        // Another request takes most of the rest; growing by 1.5 MiB more cannot be done in
        // place, so the 2 MiB held is given back and 3 MiB (the cap) waited for: here it
        // times out, and the hold is left empty rather than half-held.
        let other = budget.share(1536 << 10).await.unwrap();
        assert!(hold.grow(&budget, 1536 << 10).await.unwrap_err().is_busy());
        assert_eq!(budget.permits.available_permits(), 4096 - 1536);
        drop(other);
        // With room, a hold with no share yet takes one.
        let mut light = Hold::new(None, 1000);
        light.grow(&budget, 600 << 10).await.unwrap();
        assert!(light.into_permit().is_some_and(|p| p.num_permits() == 601));
    }
}
