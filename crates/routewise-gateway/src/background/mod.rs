//! Background responses (`background: true`): answered at once with a `queued` response,
//! then run by a task of their own through the normal pipeline (routing, failover, limits,
//! content filter, `Finish`), their state kept in Redis so any replica can report, resume or
//! cancel them.
//!
//! * **State**: the stored record (`queued` → `in_progress` → terminal) under the gateway's
//!   own `resp_…` id; every write after the first is guarded (a Lua script) so that nothing
//!   replaces a terminal record: a cancel or a failure report always wins over a late answer.
//! * **Lease**: the running task refreshes `bg:lease:{id}` every `tick` with a `lease_ttl`
//!   lifetime (`[background]`, default 200 ms and 10 s), only while it exists: a run whose
//!   lease is gone (or unrefreshed for a whole lifetime) stops. A `GET` or cancel that finds a
//!   non-terminal response without a lease reports it `failed` (`server_error`) and persists
//!   that: the replica running it stopped.
//! * **Cancel**: the replica that takes `POST /cancel` writes `cancelled` (guarded) and sets
//!   `bg:cancel:{id}`; the running task stops at once when it runs here (the registry below),
//!   or at its next tick on another replica. Stopping drops the upstream call.
//! * **Delete**: `DELETE` of a response still running sets the same cancel flag and removes the
//!   record and its event log in one transaction, then stops the task if it runs here; a run
//!   elsewhere stops at its next tick. Its late writes find no record and are refused, so
//!   nothing reappears.
//! * **Streams**: every event is appended to the Redis Stream `bg:events:{id}` (same lifetime
//!   as the record, and only while the record exists), so
//!   `GET /responses/{id}?stream=true&starting_after=N` replays what followed `N` and then
//!   follows live events. The client that created it may leave: the run goes on. Followers
//!   hold a Redis connection each, so a replica serves at most `max_stream_followers` at once
//!   and refuses more with a 429.
//! * **Cap**: a replica runs at most `max_running` background responses at once. One more
//!   is refused with a 429 once routing, validation and access checks have passed (so a
//!   request that can never succeed gets its real 4xx) and before rate limits are charged or
//!   its record is written, so a burst of submissions cannot start upstream calls without
//!   bound. (The parsed requests of submissions still being checked are bounded by
//!   `max_connections`, as any request's are.)
//! * **Shutdown**: graceful shutdown waits for running tasks within the shutdown grace, then
//!   stops the rest and marks them `failed`.

mod cancel;
mod delete;
mod followers;
mod object;
mod replay;
mod run;
mod submit;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::BackgroundSettings;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::store::{Guard, ResponseStore, Stored, StoredRef};

pub(crate) use cancel::cancel;
pub(crate) use delete::delete;
pub(crate) use followers::Followers;
pub(crate) use object::failed as failed_response;
pub(crate) use object::{is_background, is_terminal_status, status_of};
pub(crate) use replay::replay;
pub(crate) use run::Start;
pub(crate) use submit::submit;

/// What `error.message` says when the replica running a response stopped.
pub(crate) const ORPHANED: &str =
    "The gateway running this background response stopped before it finished.";
/// ... and when this gateway shut down first.
pub(crate) const SHUT_DOWN: &str =
    "The gateway shut down before this background response finished.";

/// Why a running task is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `POST /responses/{id}/cancel` (the record already says `cancelled`), or `DELETE` of
    /// the response (the record is gone, so the run's report is refused).
    Cancelled,
    /// Graceful shutdown ran out of time: the task reports the response failed.
    Shutdown,
    /// The run's lease is gone: another replica may have reported the response failed.
    LeaseLost,
}

/// The background tasks running in this process: how a local cancel reaches its task, and
/// what shutdown waits for. The state itself is in Redis; this only holds stop switches.
#[derive(Debug)]
pub(crate) struct Registry {
    running: Mutex<HashMap<String, watch::Sender<Option<Stop>>>>,
    count: watch::Sender<usize>,
    cap: Arc<RunCap>,
    /// The lease timing new runs get (`[background]`).
    timing: BackgroundSettings,
}

/// The back-off a submission refused by `max_running` is told (`retry-after`): a run ends
/// whenever its upstream answers, which cannot be predicted, so a short fixed wait that the
/// OpenAI clients' own retries honour.
const RETRY_AFTER: Duration = Duration::from_secs(1);

impl Registry {
    /// An empty registry whose runs get `settings`' lease timing and are admitted at most
    /// `max_running` at once.
    pub(crate) fn new(settings: &BackgroundSettings) -> Self {
        Self {
            running: Mutex::new(HashMap::new()),
            count: watch::Sender::new(0),
            cap: Arc::new(RunCap {
                admitted: AtomicUsize::new(0),
                limit: settings.max_running,
            }),
            timing: *settings,
        }
    }

    /// The lease timing new runs get.
    pub(crate) fn timing(&self) -> &BackgroundSettings {
        &self.timing
    }
}

/// `max_running`: how many runs this replica has admitted (passed routing, validation and
/// access checks, about to be queued) and not yet ended. A place is taken only once a
/// submission can otherwise be served, so a request that can never succeed gets its real
/// 4xx, never a 429 to retry, and takes no place from one that can.
#[derive(Debug)]
pub(crate) struct RunCap {
    admitted: AtomicUsize,
    limit: usize,
}

/// One admitted run's place under [`RunCap`], given back when the run ends (dropped).
#[derive(Debug)]
pub(crate) struct RunPlace(Arc<RunCap>);

impl RunCap {
    /// A place for one more run, or the 429 that refuses it.
    pub(crate) fn take(self: &Arc<Self>) -> Result<RunPlace, GatewayError> {
        self.admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .map(|_| RunPlace(Arc::clone(self)))
            .map_err(|_| GatewayError::TooManyBackgroundRuns {
                limit: self.limit,
                retry_after: RETRY_AFTER,
            })
    }
}

impl Drop for RunPlace {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Removes a task from the [`Registry`] when its run ends, however it ends.
#[derive(Debug)]
pub(crate) struct Registered {
    state: Arc<AppState>,
    id: String,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.state.background.remove(&self.id);
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Option<Stop>>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single calls).
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers task `id`; its stop switch is the receiver.
    fn insert(
        &self,
        state: &Arc<AppState>,
        id: &str,
    ) -> (watch::Receiver<Option<Stop>>, Registered) {
        let (tx, rx) = watch::channel(None);
        let n = {
            let mut map = self.lock();
            map.insert(id.to_owned(), tx);
            map.len()
        };
        self.count.send_replace(n);
        (
            rx,
            Registered {
                state: Arc::clone(state),
                id: id.to_owned(),
            },
        )
    }

    /// The `max_running` cap, for a new run's [`Start`] to take its place from.
    pub(crate) fn cap(&self) -> Arc<RunCap> {
        Arc::clone(&self.cap)
    }

    fn remove(&self, id: &str) {
        let n = {
            let mut map = self.lock();
            map.remove(id);
            map.len()
        };
        self.count.send_replace(n);
    }

    /// Stops task `id` if it runs here; false when it does not.
    pub(crate) fn stop(&self, id: &str, why: Stop) -> bool {
        self.lock().get(id).is_some_and(|tx| {
            tx.send_replace(Some(why));
            true
        })
    }

    /// How many background tasks run in this process.
    pub(crate) fn running(&self) -> usize {
        *self.count.borrow()
    }

    /// Waits until no task runs, or until `deadline`; true when none is left.
    pub(crate) async fn idle_by(&self, deadline: tokio::time::Instant) -> bool {
        let mut rx = self.count.subscribe();
        tokio::time::timeout_at(deadline, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Graceful shutdown: waits for running tasks until `deadline`, then stops the rest (they
    /// report their responses failed) and waits a little for them to say so.
    pub(crate) async fn drain(&self, deadline: tokio::time::Instant) {
        if self.idle_by(deadline).await {
            return;
        }
        let stopped: Vec<String> = {
            let map = self.lock();
            map.iter()
                .map(|(id, tx)| {
                    tx.send_replace(Some(Stop::Shutdown));
                    id.clone()
                })
                .collect()
        };
        tracing::warn!(
            count = stopped.len(),
            "shutdown grace elapsed with background responses running; marking them failed"
        );
        // Their failure reports are bounded Redis writes.
        let _ = self
            .idle_by(tokio::time::Instant::now() + Duration::from_secs(5))
            .await;
    }
}

/// A stored response as it stands: a background response that is neither finished nor
/// leased (its replica stopped) is marked `failed` first, and that is persisted.
pub(crate) async fn reconcile(
    store: &ResponseStore,
    id: &str,
    stored: Stored,
) -> Result<Stored, GatewayError> {
    let running = is_background(&stored.response)
        && status_of(&stored.response).is_some_and(|s| !is_terminal_status(s));
    if !running || store.lease_held(id).await? {
        return Ok(stored);
    }
    let failed = object::failed(&stored.response, "server_error", ORPHANED);
    let doc = StoredRef::rewrite(&stored, &failed);
    if store.put_guarded(id, &doc, Guard::Orphaned).await? {
        tracing::warn!(
            response_id = id,
            "a background response lost its gateway; marked failed"
        );
        return Ok(Stored {
            response: failed,
            ..stored
        });
    }
    // Someone else finished it (or took the lease) meanwhile: report what is there now.
    Ok(store.get(id).await?.unwrap_or(stored))
}
