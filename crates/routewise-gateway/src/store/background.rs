//! The Redis side of background responses: guarded writes of the response record, the run's
//! lease, the cross-replica cancel flag and the event log a stream is resumed from.
//!
//! Keys (under the store's prefix): `response:{id}` (the record, as for every stored
//! response), `bg:lease:{id}` (refreshed by the replica running it; gone = that replica
//! stopped), `bg:cancel:{id}` (set by whichever replica took the cancel) and
//! `bg:events:{id}` (a Redis Stream; entry id `{sequence_number + 1}-0`, so `starting_after=N`
//! is the exclusive range start `(N+1)-0`).

use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use serde::Deserialize;

use super::{ResponseStore, StoredRef};
use crate::error::GatewayError;

/// Most events kept per response (approximate trim): far above any real answer, a bound on a
/// runaway one.
const MAX_EVENTS: u64 = 100_000;

/// With `ARGV[3] == "0"` (the first write), writes the record only if none exists. Later
/// (`"1"`), only if it still exists (a response deleted mid-run stays deleted) and is not
/// terminal (a cancel or an expired lease won). With `KEYS[2]` given, only while that lease key
/// is absent (the runner is gone).
const GUARDED_PUT: &str = r"
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local cur = redis.call('GET', KEYS[1])
if cur then
  if ARGV[3] == '0' then return 0 end
  local ok, doc = pcall(cjson.decode, cur)
  if ok and type(doc) == 'table' and type(doc.response) == 'table' then
    local s = doc.response.status
    if s == 'completed' or s == 'failed' or s == 'incomplete' or s == 'cancelled' then
      return 0
    end
  end
elseif ARGV[3] == '1' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
";

/// Appends events to the log (`KEYS[2]`) only while the record (`KEYS[1]`) exists, so a run's
/// trailing events cannot recreate the log of a response deleted under it. `ARGV[1]` is the
/// approximate length cap, `ARGV[2]` the lifetime, then one `(entry id, type, data)` triple per
/// event. Returns 0 when the record is gone. A failing append ends the batch but still sets
/// the lifetime, so a log never outlives its record for want of an expiry.
const GUARDED_APPEND: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local failed
for i = 3, #ARGV, 3 do
  local r = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], ARGV[i], 't', ARGV[i + 1], 'd', ARGV[i + 2])
  if type(r) == 'table' and r.err then
    failed = r
    break
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
if failed then return failed end
return 1
";

/// [`GUARDED_APPEND`], hashed once: it runs for every batch of every background stream.
static APPEND: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GUARDED_APPEND));

/// Just enough of a stored record to tell whether its run is still going; every other
/// field is skipped unparsed.
#[derive(Deserialize)]
struct Head {
    response: HeadResponse,
    #[serde(default)]
    tenant: Option<String>,
}

/// What [`ResponseStore::head`] tells of a stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordHead {
    /// A background response still running (queued or in progress).
    pub running: bool,
    /// Whose it is (`None`: no owner, or a record too damaged to tell).
    pub tenant: Option<String>,
}

#[derive(Deserialize)]
struct HeadResponse {
    #[serde(default)]
    background: Option<bool>,
    #[serde(default)]
    status: Option<String>,
}

/// One event read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoggedEvent {
    pub seq: u64,
    pub ty: String,
    pub data: Bytes,
}

/// What a lease refresh found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lease {
    /// Still ours, extended.
    Held,
    /// Still ours, and a cancel was asked for.
    Cancelled,
    /// Gone (expired, or removed after an orphan report): the run must stop.
    Lost,
}

/// Which records a guarded write may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// The first write: only while no record has the id.
    Create,
    /// Later writes: the record must still exist and not be terminal.
    Update,
    /// Marking a response whose runner is gone: like `Update`, and only while no lease exists.
    Orphaned,
}

/// The entry id of sequence number `seq` (Redis refuses `0-0`); `None` past the last one.
fn entry_id(seq: u64) -> Option<String> {
    Some(format!("{}-0", seq.checked_add(1)?))
}

/// The sequence number of entry id `id`.
fn seq_of(id: &str) -> Option<u64> {
    id.split_once('-')?.0.parse::<u64>().ok()?.checked_sub(1)
}

/// `[[id, [field, value, ...]], ...]` as logged events (malformed entries skipped).
fn parse_entries(entries: Vec<(String, Vec<Vec<u8>>)>) -> Vec<LoggedEvent> {
    entries
        .into_iter()
        .filter_map(|(id, fields)| {
            let seq = seq_of(&id)?;
            let mut ty = None;
            let mut data = None;
            for pair in fields.chunks_exact(2) {
                match pair[0].as_slice() {
                    b"t" => ty = String::from_utf8(pair[1].clone()).ok(),
                    b"d" => data = Some(Bytes::from(pair[1].clone())),
                    _ => {}
                }
            }
            Some(LoggedEvent {
                seq,
                ty: ty?,
                data: data?,
            })
        })
        .collect()
}

impl ResponseStore {
    fn lease_key(&self, id: &str) -> String {
        format!("{}bg:lease:{id}", self.prefix)
    }

    fn cancel_key(&self, id: &str) -> String {
        format!("{}bg:cancel:{id}", self.prefix)
    }

    fn events_key(&self, id: &str) -> String {
        format!("{}bg:events:{id}", self.prefix)
    }

    /// Saves `stored` under `id` as `guard` allows; false when the write was refused.
    pub(crate) async fn put_guarded(
        &self,
        id: &str,
        stored: &StoredRef<'_>,
        guard: Guard,
    ) -> Result<bool, GatewayError> {
        let json = serde_json::to_vec(stored).map_err(|e| GatewayError::Internal {
            message: format!("could not encode the stored response: {e}"),
        })?;
        let mut conn = self.conn().await?;
        let script = redis::Script::new(GUARDED_PUT);
        let mut inv = script.key(self.key(id));
        if guard == Guard::Orphaned {
            inv.key(self.lease_key(id));
        }
        let wrote: i64 = inv
            .arg(json)
            .arg(self.ttl_secs)
            .arg(if guard == Guard::Create { "0" } else { "1" })
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(wrote == 1)
    }

    /// Takes the lease on `id` for `ttl` (the run starts).
    pub(crate) async fn take_lease(&self, id: &str, ttl: Duration) -> Result<(), GatewayError> {
        let mut conn = self.conn().await?;
        redis::cmd("SET")
            .arg(self.lease_key(id))
            .arg(1)
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Extends the lease on `id` to `ttl` if it still exists, and says whether a cancel was
    /// asked for (one round trip). A lease that is gone is never taken again: it expired, and
    /// another replica may already have reported the response failed.
    pub(crate) async fn refresh_lease(
        &self,
        id: &str,
        ttl: Duration,
    ) -> Result<Lease, GatewayError> {
        let mut conn = self.conn().await?;
        let (kept, cancelled): (Option<String>, bool) = redis::pipe()
            .cmd("SET")
            .arg(self.lease_key(id))
            .arg(1)
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .arg("XX")
            .cmd("EXISTS")
            .arg(self.cancel_key(id))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(match (kept, cancelled) {
            (None, _) => Lease::Lost,
            (Some(_), true) => Lease::Cancelled,
            (Some(_), false) => Lease::Held,
        })
    }

    /// Drops the lease on `id` (the run is over).
    pub(crate) async fn release_lease(&self, id: &str) -> Result<(), GatewayError> {
        let mut conn = self.conn().await?;
        redis::cmd("DEL")
            .arg(self.lease_key(id))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// True while some replica holds the lease on `id`.
    pub(crate) async fn lease_held(&self, id: &str) -> Result<bool, GatewayError> {
        let mut conn = self.conn().await?;
        redis::cmd("EXISTS")
            .arg(self.lease_key(id))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Asks whichever replica runs `id` to stop it.
    pub(crate) async fn flag_cancel(&self, id: &str) -> Result<(), GatewayError> {
        let mut conn = self.conn().await?;
        redis::cmd("SET")
            .arg(self.cancel_key(id))
            .arg(1)
            .arg("EX")
            .arg(self.ttl_secs.min(24 * 3600))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Appends events to `id`'s log (one round trip), which lives as long as a stored
    /// response; false, appending nothing, once the response is deleted.
    pub(crate) async fn append_events(
        &self,
        id: &str,
        events: &[LoggedEvent],
    ) -> Result<bool, GatewayError> {
        if events.is_empty() {
            return Ok(true);
        }
        let mut inv = APPEND.key(self.key(id));
        inv.key(self.events_key(id))
            .arg(MAX_EVENTS)
            .arg(self.ttl_secs);
        for ev in events {
            inv.arg(entry_id(ev.seq).ok_or_else(|| GatewayError::Internal {
                message: format!("sequence number {} cannot be logged", ev.seq),
            })?)
            .arg(ev.ty.as_str())
            .arg(ev.data.as_ref());
        }
        let mut conn = self.conn().await?;
        let appended: i64 = inv
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(appended == 1)
    }

    /// Whether `id` is a background response still running (queued or in progress), and
    /// whose it is; `None` when nothing is stored under `id`. A record too damaged to tell is
    /// not running (so it can still be deleted) and has no owner (so only admins may).
    pub(crate) async fn head(&self, id: &str) -> Result<Option<RecordHead>, GatewayError> {
        let raw = self.raw(id).await?;
        Ok(
            raw.map(|bytes| match serde_json::from_slice::<Head>(&bytes) {
                Ok(head) => RecordHead {
                    running: head.response.background == Some(true)
                        && head
                            .response
                            .status
                            .is_some_and(|s| !crate::background::is_terminal_status(&s)),
                    tenant: head.tenant,
                },
                Err(_) => RecordHead {
                    running: false,
                    tenant: None,
                },
            }),
        )
    }

    /// Deletes `id`'s record and event log in one transaction; with `running`, also sets the
    /// cancel flag in it, so whichever replica runs `id` stops at its next tick. False when
    /// there was no record.
    pub(crate) async fn delete(&self, id: &str, running: bool) -> Result<bool, GatewayError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        if running {
            pipe.cmd("SET")
                .arg(self.cancel_key(id))
                .arg(1)
                .arg("EX")
                .arg(self.ttl_secs.min(24 * 3600))
                .ignore();
        }
        pipe.cmd("DEL").arg(self.key(id));
        pipe.cmd("DEL").arg(self.events_key(id)).ignore();
        let mut conn = self.conn().await?;
        let (deleted,): (u64,) = pipe
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(deleted > 0)
    }

    /// True when `id` has an event log (it was created with `stream: true` and has not
    /// expired).
    pub(crate) async fn has_events(&self, id: &str) -> Result<bool, GatewayError> {
        let mut conn = self.conn().await?;
        redis::cmd("EXISTS")
            .arg(self.events_key(id))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Up to `count` logged events with `sequence_number > after` (all with `None`), in order.
    pub(crate) async fn events_after(
        &self,
        id: &str,
        after: Option<u64>,
        count: usize,
    ) -> Result<Vec<LoggedEvent>, GatewayError> {
        let start = match after {
            None => "-".to_owned(),
            Some(n) => match entry_id(n) {
                Some(entry) => format!("({entry}"),
                // Nothing can follow the last sequence number.
                None => return Ok(Vec::new()),
            },
        };
        let mut conn = self.conn().await?;
        let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
            .arg(self.events_key(id))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(parse_entries(entries))
    }

    /// The last event logged for `id`, if any.
    pub(crate) async fn last_event(&self, id: &str) -> Result<Option<LoggedEvent>, GatewayError> {
        let mut conn = self.conn().await?;
        let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XREVRANGE")
            .arg(self.events_key(id))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(parse_entries(entries).pop())
    }

    /// A connection for [`Self::wait_events`].
    pub(crate) async fn follower(
        &self,
        block: Duration,
    ) -> Result<MultiplexedConnection, GatewayError> {
        self.redis
            .dedicated(block)
            .await
            .map_err(|e| self.unavailable(e))
    }

    /// Waits up to `block` for events after `after` on a dedicated connection; empty when
    /// none came.
    pub(crate) async fn wait_events(
        &self,
        conn: &mut MultiplexedConnection,
        id: &str,
        after: Option<u64>,
        block: Duration,
    ) -> Result<Vec<LoggedEvent>, GatewayError> {
        let from = match after {
            None => "0-0".to_owned(),
            Some(n) => match entry_id(n) {
                Some(entry) => entry,
                None => return Ok(Vec::new()),
            },
        };
        type Reply = Option<Vec<(String, Vec<(String, Vec<Vec<u8>>)>)>>;
        let reply: Reply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(256)
            .arg("BLOCK")
            .arg(block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(self.events_key(id))
            .arg(from)
            .query_async(conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(reply
            .into_iter()
            .flatten()
            .flat_map(|(_, entries)| parse_entries(entries))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_map_sequence_numbers_both_ways() {
        assert_eq!(entry_id(0).as_deref(), Some("1-0"));
        assert_eq!(seq_of("1-0"), Some(0));
        assert_eq!(seq_of(&entry_id(41).unwrap()), Some(41));
        assert_eq!(entry_id(u64::MAX), None, "no overflow");
        assert_eq!(seq_of("0-0"), None);
        assert_eq!(seq_of("junk"), None);
    }

    #[test]
    fn entries_parse_and_skip_malformed_ones() {
        let entries = vec![
            (
                "3-0".to_owned(),
                vec![b"t".to_vec(), b"x".to_vec(), b"d".to_vec(), b"{}".to_vec()],
            ),
            ("4-0".to_owned(), vec![b"t".to_vec()]),
        ];
        let parsed = parse_entries(entries);
        assert_eq!(
            parsed,
            vec![LoggedEvent {
                seq: 2,
                ty: "x".into(),
                data: Bytes::from_static(b"{}")
            }]
        );
    }
}
