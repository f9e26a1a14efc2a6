//! One background run: the task that takes a request through `dispatch` after its submission
//! was answered, keeps its lease, writes its states and (for streams) its events, and stops
//! when cancelled or shut down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use routewise_strategy::RoutingMode;
use routewise_types::CreateResponse;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::object::{self, Sequencer, is_terminal_event};
use super::{ORPHANED, Registered, Registry, RunCap, RunPlace, SHUT_DOWN, Stop};
use crate::access::Caller;
use crate::budget::Hold;
use crate::dispatch::{Holdings, Reply, StreamReply, dispatch};
use crate::error::GatewayError;
use crate::finish::Finish;
use crate::limits::RateLimitStatus;
use crate::sse::{ENDED_EARLY, WENT_IDLE};
use crate::state::AppState;
use crate::store::{Guard, Lease, LoggedEvent, ResponseStore, Save};
use crate::telemetry::{Access, Outcome, RateLimitOutcome};
use crate::upstream::{Idle, next_event};

/// What the submission learns from its run: queued (answer 200 now) or refused before any
/// upstream call (answer that error, as a foreground request would get it).
pub(crate) enum Submitted {
    Queued {
        response: Value,
        quota: Option<RateLimitStatus>,
        seen: Resolved,
    },
    Refused {
        error: GatewayError,
        quota: Option<RateLimitStatus>,
        access: Box<Access>,
    },
    /// Answered before admission, as a foreground request would be (a prompt the content
    /// filter blocked on a stream: Azure's three-frame `200`).
    Answered {
        reply: Reply,
        quota: Option<RateLimitStatus>,
        access: Box<Access>,
    },
}

/// What routing resolved, for the submission's access record.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub requested: Option<String>,
    pub target: Option<usize>,
    pub routed: bool,
    pub mode: Option<RoutingMode>,
    pub rate_limit: RateLimitOutcome,
}

impl Resolved {
    fn of(access: &Access) -> Self {
        Self {
            requested: access.requested.clone(),
            target: access.target,
            routed: access.routed,
            mode: access.mode.clone(),
            rate_limit: access.rate_limit,
        }
    }

    /// Copies this into the submission's record.
    pub(crate) fn apply(self, access: &mut Access) {
        access.requested = self.requested;
        access.target = self.target;
        access.routed = self.routed;
        access.mode = self.mode;
        access.rate_limit = self.rate_limit;
    }
}

/// A background run's handle on its own state, shared by `dispatch` (which calls
/// [`Start::admitted`] once the request passed its checks) and the task.
pub(crate) struct Start {
    /// The gateway's id for the response.
    pub(crate) id: String,
    stream: bool,
    store: Arc<ResponseStore>,
    /// The lease's lifetime and refresh period (`[background]`).
    lease_ttl: Duration,
    tick: Duration,
    /// `max_running`, and this run's place under it once reserved (kept until the run ends).
    cap: Arc<RunCap>,
    place: Mutex<Option<RunPlace>>,
    reply: Mutex<Option<oneshot::Sender<Submitted>>>,
    admitted: AtomicBool,
    /// The last state written (`in_progress` once admitted): the base of a `failed` or
    /// `cancelled` report.
    snapshot: Mutex<Option<Value>>,
    save: Mutex<Option<Save>>,
    seq: Mutex<Sequencer>,
    terminal_sent: AtomicBool,
    live: Mutex<Option<mpsc::Sender<Bytes>>>,
    log: Mutex<Option<mpsc::Sender<LoggedEvent>>>,
}

/// Frames buffered for a live client: one that reads slower than the upstream writes is cut
/// off when this fills (it resumes with `starting_after`) rather than held in memory whole.
pub(crate) const LIVE_CAPACITY: usize = 1024;
/// Events buffered for the log writer: when Redis falls this far behind, logging stops (the
/// log stays a clean prefix; a replay ends with the record's terminal event).
pub(crate) const LOG_CAPACITY: usize = 4096;
/// How long a run waits before its one retry of a final save Redis refused.
const STORE_RETRY_PAUSE: Duration = Duration::from_millis(250);
/// `error.message` of a run whose answer could not be stored.
const NOT_STORED: &str =
    "The background response finished, but the gateway could not store its result.";

impl std::fmt::Debug for Start {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Start")
            .field("id", &self.id)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Start {
    pub(crate) fn new(
        id: String,
        stream: bool,
        store: Arc<ResponseStore>,
        runs: &Registry,
        reply: oneshot::Sender<Submitted>,
        live: Option<mpsc::Sender<Bytes>>,
        log: Option<mpsc::Sender<LoggedEvent>>,
    ) -> Self {
        let seq = Sequencer::new(&id);
        Self {
            id,
            stream,
            store,
            lease_ttl: runs.timing().lease_ttl,
            tick: runs.timing().tick,
            cap: runs.cap(),
            place: Mutex::new(None),
            reply: Mutex::new(Some(reply)),
            admitted: AtomicBool::new(false),
            snapshot: Mutex::new(None),
            save: Mutex::new(None),
            seq: Mutex::new(seq),
            terminal_sent: AtomicBool::new(false),
            live: Mutex::new(live),
            log: Mutex::new(log),
        }
    }

    fn is_admitted(&self) -> bool {
        self.admitted.load(Ordering::Acquire)
    }

    /// Takes this run's place under `max_running`, or the 429 that refuses it. `dispatch`
    /// calls it once the request can be served (routing, validation and access passed) and
    /// before rate limits are charged; the place is kept until the run ends.
    pub(crate) fn reserve(&self) -> Result<(), GatewayError> {
        let mut place = lock(&self.place);
        if place.is_none() {
            *place = Some(self.cap.take()?);
        }
        Ok(())
    }

    /// Called by `dispatch` once the request passed the content filter and the rate limits:
    /// takes the lease, stores the `queued` response (a failure here fails the submission with
    /// 503, so no job is silently lost), answers the submission, then records `in_progress`
    /// and strips `background` from what the upstream will see.
    pub(crate) async fn admitted(
        &self,
        req: &mut CreateResponse,
        finish: &Finish,
        quota: &Option<RateLimitStatus>,
        access: &Access,
    ) -> Result<(), GatewayError> {
        // Reserved by `dispatch` before the rate limits; taken here if it was not.
        self.reserve()?;
        let save = finish.save.clone().ok_or_else(|| GatewayError::Internal {
            message: "a background response has nowhere to be stored".into(),
        })?;
        self.store.take_lease(&self.id, self.lease_ttl).await?;
        let mut queued = object::queued(&self.id, req, now_secs());
        if let Value::Object(map) = &mut queued {
            finish.stamp(map);
        }
        let created = match save.put(&self.id, &queued, Guard::Create).await {
            Ok(true) => Ok(()),
            // The id is the gateway's own and random: taken, it is a bug, never overwritten.
            Ok(false) => Err(GatewayError::Internal {
                message: "a background response's new id was already in use".into(),
            }),
            Err(e) => Err(e),
        };
        if let Err(e) = created {
            let _ = self.store.release_lease(&self.id).await;
            return Err(e);
        }
        *lock(&self.snapshot) = Some(queued.clone());
        *lock(&self.save) = Some(save.clone());
        self.admitted.store(true, Ordering::Release);
        if self.stream {
            let opening = lock(&self.seq).opening(&queued);
            for ev in opening {
                self.emit(ev);
            }
        }
        if let Some(tx) = lock(&self.reply).take() {
            // The submitter may have gone (client disconnected): the run goes on regardless.
            let _ = tx.send(Submitted::Queued {
                response: queued.clone(),
                quota: *quota,
                seen: Resolved::of(access),
            });
        }
        let mut progress = queued;
        progress["status"] = Value::from("in_progress");
        if let Err(e) = save.put(&self.id, &progress, Guard::Update).await {
            tracing::warn!(response_id = %self.id, error = %e, "could not record in_progress");
        }
        *lock(&self.snapshot) = Some(progress);
        req.background = None;
        Ok(())
    }

    /// Sends `ev` to the live client (if still there) and the event log; nothing after the
    /// first terminal event. Neither ever waits: a client or a log writer that falls a whole
    /// buffer behind (or left) is let go, and the run goes on.
    fn emit(&self, ev: LoggedEvent) {
        if self.terminal_sent.load(Ordering::Acquire) {
            return;
        }
        if is_terminal_event(&ev.ty) {
            self.terminal_sent.store(true, Ordering::Release);
        }
        {
            let mut live = lock(&self.live);
            if let Some(tx) = live.as_ref() {
                let mut buf = BytesMut::with_capacity(ev.data.len() + ev.ty.len() + 16);
                crate::sse::encode(&mut buf, &ev.ty, &ev.data);
                if let Err(e) = tx.try_send(buf.freeze()) {
                    if matches!(e, mpsc::error::TrySendError::Full(_)) {
                        tracing::info!(response_id = %self.id, "a background stream's client fell behind; its stream ends here (it can resume)");
                    }
                    *live = None;
                }
            }
        }
        let mut log = lock(&self.log);
        if let Some(tx) = log.as_ref()
            && let Err(e) = tx.try_send(ev)
        {
            if matches!(e, mpsc::error::TrySendError::Full(_)) {
                tracing::warn!(response_id = %self.id, "background events not logged past this point (the log writer fell behind); a resumed stream ends with the stored outcome");
            }
            *log = None;
        }
    }

    /// Ends the live stream and the event log (the writer flushes what it has).
    fn close(&self) {
        lock(&self.live).take();
        lock(&self.log).take();
    }

    /// Stores a terminal response unless one is stored already; emits its terminal event.
    async fn conclude(&self, response: Value) {
        let ty = object::terminal_type(object::status_of(&response).unwrap_or("failed"));
        let ev = lock(&self.seq).own(ty, &response);
        let ev = self.settle(ev).await;
        if self.stream {
            self.emit(ev);
        }
    }

    /// Stores the response `terminal` carries and returns the event to send: `terminal`
    /// itself, or, when the record says otherwise (see [`Self::store_final`]), the record's
    /// terminal event under the same sequence number: the live stream and the log must say
    /// what the record says.
    async fn settle(&self, terminal: LoggedEvent) -> LoggedEvent {
        let response = match serde_json::from_slice::<Value>(&terminal.data) {
            Ok(Value::Object(mut map)) => map.remove("response").filter(Value::is_object),
            _ => None,
        };
        let Some(response) = response else {
            tracing::error!(response_id = %self.id, "the upstream's final event carries no response; not stored");
            return terminal;
        };
        match self.store_final(&response).await {
            None => terminal,
            Some(outcome) => {
                let ty = object::terminal_type(object::status_of(&outcome).unwrap_or("failed"));
                object::lifecycle(ty, terminal.seq, &outcome)
            }
        }
    }

    /// Stores a terminal response through the guarded update; `None` when it was stored (or
    /// nothing better is known), else the outcome the record holds instead: a cancel or a
    /// failure report stored first, or, when the store refused the write twice, a `failed`
    /// report saying so (a clear reason instead of the orphan path's "the gateway stopped").
    async fn store_final(&self, response: &Value) -> Option<Value> {
        let save = lock(&self.save).clone()?;
        let mut result = save.put(&self.id, response, Guard::Update).await;
        if let Err(e) = &result {
            tracing::warn!(response_id = %self.id, error = %e, "the background response's final state was not stored; retrying once");
            tokio::time::sleep(STORE_RETRY_PAUSE).await;
            result = save.put(&self.id, response, Guard::Update).await;
        }
        let e = match result {
            Ok(true) => return None,
            Ok(false) => return self.stored_terminal().await,
            Err(e) => e,
        };
        tracing::error!(response_id = %self.id, error = %e, "the background response's final state was not stored");
        if object::status_of(response) == Some("failed") {
            // Already a failure report: another one would fail alike.
            return None;
        }
        // Without the output: what could not be stored may be what failed.
        let base = lock(&self.snapshot).clone().unwrap_or(Value::Null);
        let failed = object::failed(&base, "server_error", NOT_STORED);
        match save.put(&self.id, &failed, Guard::Update).await {
            Ok(true) => Some(failed),
            Ok(false) => self.stored_terminal().await,
            // The orphan path reports it once the lease is gone.
            Err(_) => None,
        }
    }

    /// The stored record, when it is terminal.
    async fn stored_terminal(&self) -> Option<Value> {
        match self.store.get(&self.id).await {
            Ok(Some(current))
                if object::status_of(&current.response).is_some_and(super::is_terminal_status) =>
            {
                Some(current.response)
            }
            // Deleted meanwhile (or unreadable): the answer is all there is to send.
            _ => None,
        }
    }

    /// Reports the run failed with `code` and `message`.
    async fn fail(&self, code: &str, message: &str) {
        let base = lock(&self.snapshot).clone().unwrap_or(Value::Null);
        self.conclude(object::failed(&base, code, message)).await;
    }

    /// Ends a cancelled run (the canceller already stored `cancelled`).
    async fn cancelled(&self) {
        let base = lock(&self.snapshot).clone().unwrap_or(Value::Null);
        self.conclude(object::cancelled(&base)).await;
    }

    /// Answers the submission with `error` (the run never reached an upstream).
    fn refuse(&self, error: GatewayError, quota: Option<RateLimitStatus>, access: Access) {
        self.hand_over(Submitted::Refused {
            error,
            quota,
            access: Box::new(access),
        });
    }

    /// Hands the submission what it answers with, the run's access record included: it
    /// becomes the request's one record (none when the submitter has gone, which logs its
    /// own).
    fn hand_over(&self, submitted: Submitted) {
        let Some(tx) = lock(&self.reply).take() else {
            return;
        };
        if let Err(Submitted::Refused { mut access, .. } | Submitted::Answered { mut access, .. }) =
            tx.send(submitted)
        {
            access.dismiss();
        }
    }
}

/// How the work ended.
enum Ended {
    /// `Some` for an answer given before admission, to send as it is.
    Done(Result<Option<Reply>, GatewayError>),
    Stopped(Stop),
}

/// Everything a run owns.
pub(crate) struct Task {
    pub state: Arc<AppState>,
    pub req: CreateResponse,
    pub headers: HeaderMap,
    pub start: Start,
    pub access: Access,
    /// Who submitted it: the run is checked and stored as theirs.
    pub caller: Caller,
    pub stop: watch::Receiver<Option<Stop>>,
    pub registered: Registered,
    pub writer: Option<JoinHandle<()>>,
    /// A large request's share of the large-body budget, held for the whole run: the run
    /// keeps the parsed request (and a follow-up's replayed conversation, which grows it).
    pub budget: Hold,
}

/// The background run, from admission to its terminal state.
pub(crate) async fn run(task: Task) {
    let Task {
        state,
        req,
        headers,
        start,
        mut access,
        caller,
        mut stop,
        registered,
        writer,
        budget,
    } = task;
    let idle = state.settings().upstream_timeout;
    // Held to the end of the run, whatever dispatch adds to it.
    let mut held = Holdings {
        quota: None,
        budget,
    };
    let ended = {
        let work = async {
            let reply = dispatch(
                &state,
                Box::new(req),
                &headers,
                &mut held,
                &mut access,
                &caller,
                Some(&start),
            )
            .await;
            match reply {
                // Nothing was stored or queued: the submission answers with this.
                Ok(reply) if !start.is_admitted() => Ok(Some(reply)),
                Ok(Reply::Json(body)) => {
                    access.status = Some(200);
                    match serde_json::from_slice::<Value>(&body) {
                        Ok(response @ Value::Object(_)) => {
                            start.store_final(&response).await;
                        }
                        _ => {
                            start
                                .fail(
                                    "server_error",
                                    "The upstream's answer was not a response object.",
                                )
                                .await;
                        }
                    }
                    Ok(None)
                }
                Ok(Reply::Stream(reply)) => {
                    access.status = Some(200);
                    consume(&start, reply, idle, &mut access).await;
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        tokio::pin!(work);
        let keeper = keep_lease(&start);
        tokio::pin!(keeper);
        tokio::select! {
            result = &mut work => Ended::Done(result),
            why = stop.wait_for(Option::is_some) => match why {
                Ok(why) => Ended::Stopped(why.unwrap_or(Stop::Shutdown)),
                Err(_) => Ended::Stopped(Stop::Shutdown),
            },
            why = &mut keeper => Ended::Stopped(why),
        }
    };
    match ended {
        Ended::Done(Ok(None)) => {}
        Ended::Done(Ok(Some(reply))) => {
            start.hand_over(Submitted::Answered {
                reply,
                quota: held.quota,
                access: Box::new(access),
            });
            return;
        }
        Ended::Done(Err(e)) if !start.is_admitted() => {
            start.refuse(e, held.quota, access);
            return;
        }
        Ended::Done(Err(e)) => {
            access.status = Some(e.status().as_u16());
            access.error_code = Some(e.code());
            let body = e.body();
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("The upstream call failed.");
            let code = if e.status().is_client_error() {
                e.code()
            } else {
                "server_error".into()
            };
            start.fail(&code, message).await;
        }
        Ended::Stopped(_) if !start.is_admitted() => {
            start.refuse(
                GatewayError::StoreUnavailable {
                    message: "The gateway is shutting down.".into(),
                },
                held.quota,
                access,
            );
            return;
        }
        Ended::Stopped(Stop::Cancelled) => {
            access.status.get_or_insert(200);
            access.outcome = Some(Outcome::Cancelled);
            start.cancelled().await;
        }
        Ended::Stopped(Stop::LeaseLost) => {
            access.status.get_or_insert(200);
            access.outcome = Some(Outcome::Failed);
            access.error_code = Some("lease_lost".into());
            // Usually refused: the orphan report is already stored, and is what is sent.
            start.fail("server_error", ORPHANED).await;
        }
        Ended::Stopped(Stop::Shutdown) => {
            access.status.get_or_insert(200);
            access.outcome = Some(Outcome::Failed);
            access.error_code = Some("gateway_shutdown".into());
            start.fail("server_error", SHUT_DOWN).await;
        }
    }
    start.close();
    if let Err(e) = start.store.release_lease(&start.id).await {
        tracing::debug!(response_id = %start.id, error = %e, "lease not released; it expires");
    }
    drop(start);
    if let Some(writer) = writer {
        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    }
    // The run's access record is emitted here, then the registry forgets the task.
    drop(access);
    drop(registered);
}

/// Refreshes the lease every tick once admitted; returns when another replica asked for a
/// cancel (or deleted the response), or when the lease is lost (gone, or not refreshed for a
/// whole lease lifetime): another replica may have reported the response failed, and nothing
/// may replace that.
async fn keep_lease(start: &Start) -> Stop {
    let mut failing_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::time::sleep(start.tick).await;
        if !start.is_admitted() {
            continue;
        }
        match start.store.refresh_lease(&start.id, start.lease_ttl).await {
            Ok(Lease::Held) => failing_since = None,
            Ok(Lease::Cancelled) => return Stop::Cancelled,
            Ok(Lease::Lost) => {
                tracing::warn!(response_id = %start.id, "a background run lost its lease; stopping it");
                return Stop::LeaseLost;
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(|| {
                    tracing::warn!(response_id = %start.id, error = %e, "could not refresh a background lease");
                    tokio::time::Instant::now()
                });
                if since.elapsed() >= start.lease_ttl {
                    tracing::warn!(response_id = %start.id, "a background lease went unrefreshed for its whole lifetime; stopping the run");
                    return Stop::LeaseLost;
                }
            }
        }
    }
}

/// Plays a committed stream into the live client and the event log, storing the terminal
/// response; a broken or idle upstream (no event and no byte for `idle`) ends it `failed`.
async fn consume(start: &Start, reply: StreamReply, idle: Duration, access: &mut Access) {
    let StreamReply {
        head,
        rest,
        finish,
        liveness,
    } = reply;
    for ev in head {
        if forward(start, &finish, &ev, access).await {
            return;
        }
    }
    let Some(mut rest) = rest else {
        start.fail("server_error", ENDED_EARLY).await;
        return;
    };
    loop {
        match next_event(&mut rest, idle, &liveness).await {
            Ok(Some(Ok(ev))) => {
                if forward(start, &finish, &ev, access).await {
                    return;
                }
            }
            Ok(Some(Err(failure))) => {
                access.outcome = Some(Outcome::StreamError);
                let code = if failure.is_timeout() {
                    "timeout"
                } else {
                    "server_error"
                };
                start.fail(code, failure.message()).await;
                return;
            }
            Ok(None) => {
                access.outcome = Some(Outcome::StreamError);
                start.fail("server_error", ENDED_EARLY).await;
                return;
            }
            Err(Idle) => {
                access.outcome = Some(Outcome::StreamError);
                start.fail("timeout", WENT_IDLE).await;
                return;
            }
        }
    }
}

/// One upstream event through `Finish` and the sequencer; true at the terminal event.
async fn forward(
    start: &Start,
    finish: &Finish,
    ev: &crate::upstream::SseEvent,
    access: &mut Access,
) -> bool {
    if access.first_token.is_none() && ev.ty.ends_with(".delta") {
        access.first_token = Some(access.elapsed());
    }
    let shaped = finish.event(ev, &mut access.seen).await;
    let data = shaped.as_ref().unwrap_or(&ev.data);
    let Some(logged) = lock(&start.seq).upstream(&ev.ty, data) else {
        return false;
    };
    if !is_terminal_event(&ev.ty) {
        start.emit(logged);
        return false;
    }
    let logged = start.settle(logged).await;
    start.emit(logged);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreSettings;
    use crate::redis_conn::RedisConn;

    /// A start whose store is never reached (nothing here talks to Redis).
    fn start(
        live: mpsc::Sender<Bytes>,
        log: mpsc::Sender<LoggedEvent>,
    ) -> (Start, oneshot::Receiver<Submitted>) {
        let settings = StoreSettings::new("redis://127.0.0.1:1/0");
        let redis = Arc::new(RedisConn::new(&settings.redis_url).unwrap());
        let store = Arc::new(ResponseStore::new(&settings, redis));
        let (tx, rx) = oneshot::channel();
        let timing = crate::config::BackgroundSettings::default();
        let start = Start::new(
            "resp_x".into(),
            true,
            store,
            &crate::background::Registry::new(&timing),
            tx,
            Some(live),
            Some(log),
        );
        (start, rx)
    }

    fn delta(seq: u64) -> LoggedEvent {
        object::lifecycle("response.output_text.delta", seq, &Value::Null)
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_cut_off_and_the_log_goes_on() {
        let (live_tx, mut live_rx) = mpsc::channel(4);
        let (log_tx, mut log_rx) = mpsc::channel(64);
        let (start, _reply) = start(live_tx, log_tx);
        for seq in 0..10 {
            start.emit(delta(seq));
        }
        start.close();
        let mut frames = 0;
        while live_rx.recv().await.is_some() {
            frames += 1;
        }
        assert_eq!(frames, 4, "the buffer, then the end of the live stream");
        let mut logged = Vec::new();
        while let Some(ev) = log_rx.recv().await {
            logged.push(ev.seq);
        }
        assert_eq!(logged, (0..10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_log_writer_that_falls_behind_keeps_a_clean_prefix() {
        let (live_tx, mut live_rx) = mpsc::channel(64);
        let (log_tx, mut log_rx) = mpsc::channel(3);
        let (start, _reply) = start(live_tx, log_tx);
        for seq in 0..5 {
            start.emit(delta(seq));
        }
        // Room again, but logging stopped for good: no gap can follow.
        assert_eq!(log_rx.recv().await.map(|e| e.seq), Some(0));
        for seq in 5..8 {
            start.emit(delta(seq));
        }
        start.close();
        let mut logged = vec![0];
        while let Some(ev) = log_rx.recv().await {
            logged.push(ev.seq);
        }
        assert_eq!(logged, [0, 1, 2]);
        let mut frames = 0;
        while live_rx.recv().await.is_some() {
            frames += 1;
        }
        assert_eq!(frames, 8, "the live client got everything");
    }
}
