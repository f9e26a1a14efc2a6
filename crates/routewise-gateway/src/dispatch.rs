//! One request's journey: resolve `model`, plan the attempts, run them with failover, and
//! shape the answer (served model, `model_selection_details`).
//!
//! Failover follows `routewise_strategy::FailoverPolicy`: connect errors, timeouts, 404, 408,
//! 429 and 5xx move on to the next planned deployment, and so does a `200` stream that fails
//! in-band before its first delta. To make that last case safe, a stream's *preamble*
//! (`response.created`, `response.in_progress`, `*.added`, ...) is held back until the first
//! delta (or a terminal event) arrives; from then on events pass straight through and a later
//! failure reaches the client as the upstream sent it, never as a failover. A plan with a single
//! attempt (a pinned deployment) has nothing to fail over to, so its stream is not held at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, StatusCode};
use routewise_strategy::{
    AttemptFailure, AttemptResult, AttemptSuccess, FailureKind, LocalRouter, Pinned,
    PlannedAttempt, RouteContext, RouteDecision, RoutePlan, Strategy, execute,
};
use routewise_types::CreateResponse;
use serde_json::{Value, json};

use crate::access::{Caller, RouterAccess, ZoneRule, outside_inherited, router_outside_inherited};
use crate::background::Start;
use crate::budget::Hold;
use crate::error::GatewayError;
use crate::finish::Finish;
use crate::limits::{Gate, Pass, RateLimitStatus, admit_pinned, admit_routed, write_retry_after};
use crate::request::{Controls, router_controls_enabled, validate_controls};
use crate::state::{AppState, DeploymentEntry, RouterEntry, Target};
use crate::store::prepare;
use crate::telemetry::{Access, AttemptOutcome, RateLimitOutcome};
use crate::upstream::{
    EventStream, InBandFailure, Liveness, SseEvent, UpstreamErrorBody, UpstreamReply,
    UpstreamRequest,
};

/// Most preamble events held back before a stream is committed anyway.
const MAX_PREAMBLE_EVENTS: usize = 64;
/// Most preamble bytes held back before a stream is committed anyway.
const MAX_PREAMBLE_BYTES: usize = 1 << 20;
/// After an in-band failure, how many more events are read looking for the reason.
const MAX_TRAILING_EVENTS: usize = 8;
/// ... and for how long; also how long a stream is read after its final event, for a
/// trailing `error` frame.
pub(crate) const TRAILING_WAIT: Duration = Duration::from_secs(2);

/// What the client gets.
#[derive(Debug)]
pub(crate) enum Reply {
    Json(Bytes),
    Stream(StreamReply),
}

/// A committed stream: events already received, the live remainder, and what to do to its
/// `response.*` events (stamp details and `previous_response_id`, store the final response).
pub(crate) struct StreamReply {
    pub head: Vec<SseEvent>,
    pub rest: Option<EventStream>,
    pub finish: Arc<Finish>,
    /// When the upstream last sent bytes (keep-alive comments included), for the idle timer.
    pub liveness: Liveness,
}

impl std::fmt::Debug for StreamReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReply")
            .field("head", &self.head.len())
            .field("live", &self.rest.is_some())
            .finish()
    }
}

/// One successful attempt, before shaping.
enum Attempted {
    Json(Bytes),
    Stream {
        head: Vec<SseEvent>,
        rest: EventStream,
    },
}

/// How a request will be planned, once its permissions and router controls are checked.
enum Planned<'a> {
    Pinned(&'a Arc<DeploymentEntry>),
    Routed {
        entry: &'a RouterEntry,
        /// The router the caller may use (restricted to its deployments and zones).
        allowed: RouterAccess<'a>,
        controls: Option<Controls>,
    },
}

/// What a request holds while it is served, and hands on with its answer.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    /// The rate-limit status to report in the answer's `x-ratelimit-*` headers (limited
    /// deployments only), whatever the outcome.
    pub quota: Option<RateLimitStatus>,
    /// Its share of the large-body budget: the body's, grown by a follow-up's replayed
    /// conversation. It goes with the parsed request to the answer, stream or run.
    pub budget: Hold,
}

/// Serves one request from `caller`; `held` receives the rate-limit status and the budget
/// share the answer keeps ([`Holdings`]). A
/// background run passes its `bg` handle: once the request passed the filter and the limits,
/// [`Start::admitted`] stores it `queued` and answers the submission before any upstream call.
///
/// The request is boxed, here and down to the upstream: a `CreateResponse` is about 2 KB, and
/// every future that held one by value (dispatch, run, each attempt) carried its own copy,
/// which made the handler's future 22 KB to move around.
pub(crate) async fn dispatch(
    state: &AppState,
    mut req: Box<CreateResponse>,
    headers: &HeaderMap,
    held: &mut Holdings,
    access: &mut Access,
    caller: &Caller,
    bg: Option<&Start>,
) -> Result<Reply, GatewayError> {
    let Holdings {
        quota,
        budget: hold,
    } = held;
    // An unknown model is the first thing to report, before any store round trip. A name the
    // caller's allow-list leaves out gets exactly the same 404: a 403 would confirm it exists.
    let name = req.model.as_deref().unwrap_or_default();
    access.set_requested(name);
    access.stream = req.is_stream();
    let target = state
        .target(name)
        .filter(|t| caller.sees(t.name()))
        .ok_or_else(|| GatewayError::deployment_not_found(name))?;
    let metrics = &state.metrics;
    match target {
        Target::Deployment(d) => access.target = metrics.deployment(&d.config.deployment.name),
        Target::Router(r) => {
            access.target = metrics.router(&r.config.name);
            access.routed = true;
            access.mode = Some(r.config.mode.clone());
        }
    }
    // What the caller may use, and the router controls (pure checks): a refusal here comes
    // before the store, the content filter, the rate limits and any upstream.
    let controls_on = router_controls_enabled(headers);
    let planned = match target {
        Target::Deployment(d) => {
            caller.check_pinned(&d.config)?;
            if let (true, Some(cfg)) = (controls_on, &req.routing_config) {
                let own = &d.config.deployment.name;
                validate_controls(cfg, |m| own == m, std::slice::from_ref(own))?;
            }
            Planned::Pinned(d)
        }
        Target::Router(r) => {
            let allowed = caller.router(r, name)?;
            let controls = match (controls_on, &req.routing_config) {
                (true, Some(cfg)) => {
                    let member = |m: &str| caller.sees(m) && r.config.models.iter().any(|x| x == m);
                    Some(validate_controls(cfg, member, allowed.models)?)
                }
                _ => None,
            };
            let subset = controls.as_ref().and_then(|c| c.models.as_deref());
            for (i, m) in subset.unwrap_or_default().iter().enumerate() {
                if let Some(d) = state.deployments.get(m) {
                    caller.check_subset_entry(i, &d.config)?;
                }
            }
            Planned::Routed {
                entry: r,
                allowed,
                controls,
            }
        }
    };
    let multi_tenant = state.is_multi_tenant();
    crate::access::check_request(&req, caller, multi_tenant, state.store.is_some())?;
    let mut prepared = prepare(
        state.store.as_ref(),
        &mut req,
        caller,
        multi_tenant,
        (&state.large_bodies, hold),
    )
    .await?;
    crate::access::check_replayed(&req, prepared.replayed, caller, multi_tenant)?;
    // The zones it may be served in: the router's, the caller's, and those of the
    // conversation it continues, which the answer records in turn.
    let inherited = prepared.inherited.take();
    let mut rule = ZoneRule::default();
    if let Planned::Routed { entry, .. } = &planned {
        rule.narrow(entry.config.residency.data_zones.as_deref());
    }
    rule.narrow(caller.zones());
    rule.narrow(inherited.as_deref());
    if let Some(h) = inherited.as_deref() {
        // The caller's zones and the router's were checked above: only the conversation's
        // can refuse what remains.
        match &planned {
            Planned::Pinned(d) if !rule.admits(&d.config) => {
                return Err(outside_inherited(h, &d.config, "model".into()));
            }
            Planned::Routed {
                controls: Some(c), ..
            } => {
                for (i, m) in c.models.as_deref().unwrap_or_default().iter().enumerate() {
                    if let Some(d) = state.deployments.get(m)
                        && !rule.admits(&d.config)
                    {
                        return Err(outside_inherited(
                            h,
                            &d.config,
                            format!("routing_config.models[{i}]"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    // A multi-tenant gateway keeps answers out of the upstream's storage, shared by every
    // tenant and outside the gateway's lifetime rules: those it stores itself (the client is
    // told `store: true`, since the gateway does store it), and every answer when it has no
    // store (nothing could read them back: the client is told `store: false`).
    let upstream_unstored = multi_tenant && (prepared.save.is_some() || state.store.is_none());
    let told_store = upstream_unstored.then_some(prepared.save.is_some());
    if upstream_unstored {
        // Reasoning items the upstream would have to look up cannot be found there; the
        // client's own, and any replayed from earlier turns, go only with their state.
        crate::access::drop_bare_reasoning(&mut req);
    }
    if let Some(save) = &mut prepared.save {
        save.restrict(rule.zones().map(<[String]>::to_vec));
    }
    // The content filter sees replayed earlier turns too, and blocks before any upstream call.
    let filter = match crate::filter::screen_prompt(state, target, &req) {
        crate::filter::Screened::Pass(filter) => filter,
        crate::filter::Screened::Blocked(reply) => return reply,
    };
    let finish = Finish {
        details: None,
        previous: prepared.previous,
        save: prepared.save,
        background: bg.map(|b| b.id.clone()),
        store: told_store,
    };
    match planned {
        Planned::Pinned(d) => {
            if let Some(bg) = bg {
                bg.reserve()?;
            }
            access.rate_limit = admitted(state, access, admit_pinned(state, d, &req, quota).await)?;
            if let Some(bg) = bg {
                bg.admitted(&mut req, &finish, quota, access).await?;
            }
            let plan = RoutePlan::single(PlannedAttempt::to(&d.config.deployment));
            let strategy = Pinned::new(d.config.deployment.name.clone());
            let ctx = RunContext {
                details: None,
                gate: None,
                served_quota: None,
                filter,
                caller,
                rule: &rule,
                upstream_unstored,
            };
            run(state, &strategy, plan, req, finish, ctx, access).await
        }
        Planned::Routed {
            entry: r,
            allowed,
            controls,
        } => {
            let started = Instant::now();
            let (mode, listed) = match controls {
                Some(c) => (c.mode, c.models),
                None => (None, None),
            };
            let base: &[String] = listed.as_deref().unwrap_or(allowed.models);
            // The conversation's zones may leave some of them out (the router's and the
            // caller's shaped `allowed` already).
            let kept: Option<Vec<String>> = match inherited.as_deref() {
                None => None,
                Some(h) => {
                    let kept: Vec<String> = base
                        .iter()
                        .filter(|m| {
                            state
                                .deployments
                                .get(*m)
                                .is_some_and(|d| rule.admits(&d.config))
                        })
                        .cloned()
                        .collect();
                    if kept.is_empty() {
                        return Err(router_outside_inherited(h, &r.config.name));
                    }
                    (kept.len() < base.len()).then_some(kept)
                }
            };
            let custom: Option<LocalRouter> =
                (mode.is_some() || listed.is_some() || kept.is_some()).then(|| {
                    let mode = mode.unwrap_or_else(|| r.config.mode.clone());
                    let models = kept.as_deref().unwrap_or(base);
                    allowed
                        .router
                        .clone()
                        .with_mode(mode)
                        .with_subset(models.iter().cloned())
                });
            let router = custom.as_ref().unwrap_or(allowed.router);
            access.mode = Some(router.mode().clone());
            let plan = router
                .route(&RouteContext::new(&req, &state.pool))
                .map_err(|e| GatewayError::Internal {
                    message: format!("routing failed: {e}"),
                })?;
            let details = controls_on.then(|| Details {
                routing: started.elapsed(),
                residency: residency_note(r, &rule),
            });
            if let Some(bg) = bg {
                bg.reserve()?;
            }
            let mut limited = RateLimitOutcome::NotLimited;
            let admission = admit_routed(state, r, &plan, &req, quota, &mut limited).await;
            let gate = admitted(state, access, admission)?;
            access.rate_limit = limited;
            if let Some(bg) = bg {
                bg.admitted(&mut req, &finish, quota, access).await?;
            }
            // A router without limits of its own reports the quota of the deployment that
            // serves (what a failover check returns).
            let report_served = r.limit.is_none();
            let run_quota = if report_served {
                Some(&mut *quota)
            } else {
                None
            };
            let ctx = RunContext {
                details,
                gate,
                served_quota: run_quota,
                filter,
                caller,
                rule: &rule,
                upstream_unstored,
            };
            run(state, router, plan, req, finish, ctx, access).await
        }
    }
}

/// The data-residency restriction a routed request ran under, for
/// `model_selection_details`: the zones of `rule` (the router's, the caller's and its
/// conversation's, intersected) and the router's regions; `None` when nothing restricts it.
fn residency_note(r: &RouterEntry, rule: &ZoneRule) -> Option<Value> {
    let zones = rule.zones();
    let regions = r.config.residency.regions.as_ref();
    if zones.is_none() && regions.is_none() {
        return None;
    }
    let mut note = serde_json::Map::new();
    if let Some(zones) = zones {
        note.insert("data_zones".into(), json!(zones));
    }
    if let Some(regions) = regions {
        note.insert("regions".into(), json!(regions));
    }
    Some(Value::Object(note))
}

/// Notes a refusal by the rate limits (counted against the deployment or router whose
/// quota it was) and passes admission's result on.
fn admitted<T>(
    state: &AppState,
    access: &mut Access,
    result: Result<T, GatewayError>,
) -> Result<T, GatewayError> {
    if let Err(e) = &result {
        access.rate_limit = RateLimitOutcome::Refused;
        if let GatewayError::RateLimited { deployment, .. } = e
            && let Some(t) = state.metrics.target(deployment)
        {
            state.metrics.rate_limited(t);
        }
    }
    result
}

/// What `model_selection_details` reports besides the decision: the routing time and the
/// data-residency restriction, if any.
struct Details {
    routing: Duration,
    residency: Option<Value>,
}

/// What [`run`] needs besides the plan: `details` asks for `model_selection_details`; `gate`
/// holds admission's decision for limited deployments; `served_quota`, when given, receives
/// the quota of a deployment checked on failover; `filter` checks the answer on its way out;
/// `caller` and the zone `rule` are checked once more before each attempt;
/// `upstream_unstored` sends `store: false` upstream (the gateway stores the answer itself, or
/// nothing may), asking a reasoning model for its encrypted reasoning.
struct RunContext<'a, 'q> {
    details: Option<Details>,
    gate: Option<Gate<'a>>,
    served_quota: Option<&'q mut Option<RateLimitStatus>>,
    filter: Option<crate::config::ContentFilterConfig>,
    caller: &'q Caller,
    rule: &'q ZoneRule,
    upstream_unstored: bool,
}

/// Marks attempt `index` as skipped for the gateway's own quota (plans are short; an attempt
/// past the 64th is simply not marked).
fn mark_skipped(skipped: &AtomicU64, index: usize) {
    if index < 64 {
        skipped.fetch_or(1 << index, Ordering::Relaxed);
    }
}

/// Counts each recorded attempt and notes the serving deployment and routing mode.
fn record_attempts(state: &AppState, decision: &RouteDecision, skipped: u64, access: &mut Access) {
    let metrics = &state.metrics;
    let mut sent = 0;
    for (i, a) in decision.attempts.iter().enumerate() {
        let local = i < 64 && skipped & (1 << i) != 0;
        let Some(dep) = metrics.deployment(&a.deployment) else {
            continue;
        };
        metrics.attempt(dep, AttemptOutcome::of(&a.result, local));
        if local {
            metrics.rate_limited(dep);
        } else {
            sent += 1;
        }
    }
    access.attempts = sent;
    access.deployment = decision
        .deployment
        .as_deref()
        .and_then(|d| metrics.deployment(d));
    if access.routed
        && let Some(mode) = &decision.mode
    {
        access.mode = Some(mode.clone());
    }
}

/// Runs the plan and shapes the answer with `finish`, noting attempts, the serving deployment
/// and the answer's usage in `access`.
async fn run(
    state: &AppState,
    strategy: &dyn Strategy,
    plan: RoutePlan,
    req: Box<CreateResponse>,
    mut finish: Finish,
    ctx: RunContext<'_, '_>,
    access: &mut Access,
) -> Result<Reply, GatewayError> {
    let RunContext {
        details,
        gate,
        served_quota,
        filter,
        caller,
        rule,
        upstream_unstored,
    } = ctx;
    let stream = req.is_stream();
    // With nothing to fail over to, holding the preamble back would only delay the client.
    let hold_preamble = plan.attempts.len() > 1;
    let timeout = state.settings().upstream_timeout;
    let gate = gate.as_ref();
    let skipped = AtomicU64::new(0);
    let skipped = &skipped;
    let mut index = 0;
    // One per request: only the committed attempt's stream is read after `execute`.
    let liveness = Liveness::default();
    let result = execute(strategy, plan, |planned| {
        // Routing already kept to what the caller may use; this makes sure no attempt, and
        // so no failover, leaves its allowed deployments and data zones, nor the zones of the
        // conversation it continues. The refusal names no deployment: it may be one the
        // caller may not know of.
        let entry = state.deployments.get(&planned.deployment).cloned();
        let in_zones = entry.as_ref().is_none_or(|e| rule.admits(&e.config));
        let refused = (!caller.may_serve(&planned.deployment) || !in_zones).then(|| {
            let e = GatewayError::PermissionDenied {
                message: "The deployment planned for this attempt may not serve this request \
                          (the caller's allowed deployments or its data zones); the request was \
                          not sent."
                    .into(),
                param: Some("model".into()),
            };
            AttemptFailure::status(403, e.to_string())
                .with_code("PermissionDenied")
                .with_source(e)
        });
        let pass = match (&refused, gate) {
            (None, Some(g)) => g.before(index, entry.as_deref()),
            _ => Pass::Go,
        };
        let this = index;
        if matches!(pass, Pass::Skip(_)) {
            mark_skipped(skipped, this);
        }
        index += 1;
        let mut body = Box::new((*req).clone());
        planned.adjustments.apply(&mut body);
        // The same signal that drops a reasoning model's sampling parameters: its reasoning
        // items come back with their state, to be sent back without the upstream keeping it.
        if upstream_unstored && planned.adjustments.drops_sampling() {
            crate::access::include_encrypted_reasoning(&mut body);
        }
        let live = liveness.clone();
        async move {
            if let Some(refused) = refused {
                return Err(refused);
            }
            let entry = entry
                .ok_or_else(|| AttemptFailure::status(404, "the deployment is not in the pool"))?;
            let checked = match (pass, gate) {
                (Pass::Skip(failure), _) => return Err(failure),
                (Pass::Check, Some(g)) => g
                    .check(&entry)
                    .await
                    .inspect_err(|_| mark_skipped(skipped, this))?,
                _ => None,
            };
            body.model = Some(entry.config.upstream_model.clone());
            if upstream_unstored {
                body.store = Some(false);
            }
            // Router controls are for the gateway; upstreams may reject the unknown field.
            body.routing_config = None;
            body.extra.remove("routing_config");
            let served = entry.config.deployment.model.clone();
            let started = Instant::now();
            let sent = attempt(&entry, body, live, hold_preamble);
            match tokio::time::timeout(timeout, sent).await {
                Ok(Ok(value)) => Ok(AttemptSuccess::new((value, checked))
                    .with_served_model(served)
                    .with_time_to_first_token(started.elapsed())),
                Ok(Err(failure)) => Err(failure),
                Err(_) => Err(AttemptFailure::timeout(format!(
                    "no answer within {} ms",
                    timeout.as_millis()
                ))),
            }
        }
    })
    .await;
    let skipped = skipped.load(Ordering::Relaxed);
    match &result {
        Ok(routed) => record_attempts(state, &routed.decision, skipped, access),
        Err(err) => record_attempts(state, err.decision(), skipped, access),
    }
    match result {
        Ok(routed) => {
            finish.details = details.map(|d| selection_details(state, &routed.decision, d));
            let (value, checked) = routed.value;
            if let (Some(q), Some(status)) = (served_quota, checked) {
                *q = Some(status);
            }
            Ok(match value {
                Attempted::Json(body) => {
                    let body = crate::filter::completion_json(filter.as_ref(), body);
                    Reply::Json(finish.json(body, &mut access.seen).await)
                }
                Attempted::Stream { head, rest } => {
                    let (head, rest) = crate::filter::completion_stream(filter, head, rest);
                    Reply::Stream(StreamReply {
                        head,
                        rest,
                        finish: Arc::new(finish),
                        liveness,
                    })
                }
            })
        }
        Err(err) => {
            let (failure, decision) = err.into_parts();
            let failure = failure.ok_or_else(|| GatewayError::Internal {
                message: "the route plan was empty".into(),
            })?;
            // A replayed in-band failure is shaped like any answer.
            finish.details = details.map(|d| selection_details(state, &decision, d));
            final_failure(failure, stream, finish, liveness)
        }
    }
}

async fn attempt(
    entry: &DeploymentEntry,
    body: Box<CreateResponse>,
    liveness: Liveness,
    hold_preamble: bool,
) -> Result<Attempted, AttemptFailure> {
    match entry
        .upstream
        .send(UpstreamRequest { body, liveness })
        .await?
    {
        UpstreamReply::Json(b) => Ok(Attempted::Json(b)),
        UpstreamReply::Stream(s) if hold_preamble => preamble(s).await,
        UpstreamReply::Stream(rest) => Ok(Attempted::Stream {
            head: Vec::new(),
            rest,
        }),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Class {
    Preamble,
    Commit,
    Failure,
}

fn classify(ty: &str) -> Class {
    match ty {
        "error" | "response.failed" => Class::Failure,
        "response.completed" | "response.incomplete" => Class::Commit,
        t if t.ends_with(".delta") => Class::Commit,
        _ => Class::Preamble,
    }
}

/// Reads until the first delta, holding events back; fails (for failover) if the stream
/// breaks or reports an error first.
async fn preamble(mut s: EventStream) -> Result<Attempted, AttemptFailure> {
    let mut head = Vec::with_capacity(8);
    let mut bytes = 0;
    loop {
        match s.next().await {
            None => {
                return Err(AttemptFailure::stream(
                    "the upstream stream ended before its first delta",
                )
                .with_source(InBandFailure { events: head }));
            }
            Some(Err(f)) => return Err(f.with_source(InBandFailure { events: head })),
            Some(Ok(ev)) => match classify(&ev.ty) {
                Class::Commit => {
                    head.push(ev);
                    return Ok(Attempted::Stream { head, rest: s });
                }
                Class::Failure => {
                    head.push(ev);
                    let deadline = tokio::time::Instant::now() + TRAILING_WAIT;
                    for _ in 0..MAX_TRAILING_EVENTS {
                        match tokio::time::timeout_at(deadline, s.next()).await {
                            Ok(Some(Ok(ev))) => head.push(ev),
                            _ => break,
                        }
                    }
                    return Err(in_band_failure(&head).with_source(InBandFailure { events: head }));
                }
                Class::Preamble => {
                    bytes += ev.data.len();
                    head.push(ev);
                    if head.len() >= MAX_PREAMBLE_EVENTS || bytes >= MAX_PREAMBLE_BYTES {
                        return Ok(Attempted::Stream { head, rest: s });
                    }
                }
            },
        }
    }
}

/// The reason an in-band failure gives: the last `error` frame wins (Azure sends it after
/// `response.failed`), else `response.failed`'s `response.error`.
fn in_band_failure(events: &[SseEvent]) -> AttemptFailure {
    let mut code: Option<String> = None;
    let mut message: Option<String> = None;
    for ev in events.iter().filter(|e| classify(&e.ty) == Class::Failure) {
        let Ok(v) = serde_json::from_slice::<Value>(&ev.data) else {
            continue;
        };
        let err = if ev.ty == "error" {
            v.get("error").filter(|e| e.is_object()).unwrap_or(&v)
        } else {
            v.pointer("/response/error").unwrap_or(&Value::Null)
        };
        let c = err.get("code").and_then(Value::as_str).map(str::to_owned);
        let m = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if c.is_some() || m.is_some() {
            (code, message) = (c.or(code), m.or(message));
        }
    }
    let message =
        message.unwrap_or_else(|| "the upstream stream failed before its first delta".into());
    let f = match code.as_deref() {
        Some("content_filter" | "content_policy_violation") => {
            AttemptFailure::content_filter(message)
        }
        _ => AttemptFailure::stream(message),
    };
    match code {
        Some(c) => f.with_code(c),
        None => f,
    }
}

/// What the client sees when no attempt succeeded: the last failure, with its retry delay;
/// a replayed stream is shaped by `finish` like any answer.
fn final_failure(
    failure: AttemptFailure,
    stream: bool,
    finish: Finish,
    liveness: Liveness,
) -> Result<Reply, GatewayError> {
    let source = failure.source_error();
    if let Some(inband) = source.and_then(|s| s.downcast_ref::<InBandFailure>())
        && stream
        && !inband.events.is_empty()
    {
        // Replay exactly what the last upstream sent: a 200 stream ending in its error.
        return Ok(Reply::Stream(StreamReply {
            head: inband.events.clone(),
            rest: None,
            finish: Arc::new(finish),
            liveness,
        }));
    }
    // A 429 or 503 passed on keeps the delay its upstream asked for.
    let mut headers = HeaderMap::new();
    if let Some(wait) = failure.retry_after() {
        write_retry_after(&mut headers, wait);
    }
    if let Some(own) = source
        .and_then(|s| s.downcast_ref::<GatewayError>())
        .filter(|e| e.is_rate_limited() || e.is_permission_denied())
    {
        return Err(own.clone());
    }
    if let Some(up) = source.and_then(|s| s.downcast_ref::<UpstreamErrorBody>()) {
        for (name, value) in &up.rate_limits {
            headers.append(name.clone(), value.clone());
        }
        return Err(GatewayError::Upstream {
            status: up.status,
            body: up.body.clone(),
            headers: Box::new(headers),
        });
    }
    let message = failure.message().to_owned();
    Err(match failure.kind() {
        FailureKind::Timeout => GatewayError::BadGateway {
            status: StatusCode::GATEWAY_TIMEOUT,
            message,
        },
        FailureKind::ContentFilter => GatewayError::invalid(message, None, "content_filter"),
        FailureKind::Status(s) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY);
            let code = failure.code().unwrap_or("upstream_error");
            let kind = crate::error::error_type(status);
            let body = json!({"error": {"message": message, "type": kind, "param": null, "code": code, "status": s}});
            GatewayError::Upstream {
                status,
                body: Bytes::from(body.to_string()),
                headers: Box::new(headers),
            }
        }
        _ => GatewayError::BadGateway {
            status: StatusCode::BAD_GATEWAY,
            message,
        },
    })
}

/// Foundry's preview `model_selection_details`, plus the local router's per-candidate
/// predictions (`candidates`), quality band and, when one applied, the data-residency
/// restriction (`data_residency`: `data_zones`, `regions`).
fn selection_details(state: &AppState, decision: &RouteDecision, details: Details) -> Value {
    let Details { routing, residency } = details;
    let served = |dep: &str| {
        state
            .deployments
            .get(dep)
            .map_or_else(|| dep.to_owned(), |d| d.config.deployment.model.clone())
    };
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let candidates: Vec<Value> = decision
        .candidates
        .iter()
        .map(|c| {
            json!({
                "model": served(&c.deployment),
                "predicted_quality": (c.score * 1e4).round() / 1e4,
                "estimated_cost_usd": c.cost_estimate,
                "in_band": c.eligible,
            })
        })
        .collect();
    let attempts: Vec<Value> = decision
        .attempts
        .iter()
        .map(|a| {
            let result = match &a.result {
                AttemptResult::Failed { kind, code, message, .. } => json!({
                    "status": status_of(*kind),
                    "error": {"code": code.clone().unwrap_or_else(|| kind.label().to_owned()), "message": message},
                }),
                _ => json!({"status": 200}),
            };
            json!({"model": served(&a.deployment), "latency_ms": ms(a.latency), "result": result})
        })
        .collect();
    let mut details = json!({
        "mode": decision.mode.as_ref().map(|m| m.as_str()),
        "band": decision.band,
        "candidates": candidates,
        "routing_trace": [{"latency_ms": ms(routing), "attempts": attempts}],
    });
    if let Some(residency) = residency {
        details["data_residency"] = residency;
    }
    json!({"model_router_details": details})
}

fn status_of(kind: FailureKind) -> u16 {
    match kind {
        FailureKind::Status(s) => s,
        FailureKind::Timeout => 504,
        FailureKind::ContentFilter => 400,
        // In-band failures arrive on a 200 stream.
        FailureKind::Stream => 200,
        _ => 502,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ty: &str, data: Value) -> SseEvent {
        SseEvent {
            ty: ty.into(),
            data: Bytes::from(data.to_string()),
        }
    }

    #[test]
    fn classification() {
        assert_eq!(classify("response.created"), Class::Preamble);
        assert_eq!(classify("response.output_item.added"), Class::Preamble);
        assert_eq!(classify("response.output_text.delta"), Class::Commit);
        assert_eq!(
            classify("response.function_call_arguments.delta"),
            Class::Commit
        );
        assert_eq!(classify("response.completed"), Class::Commit);
        assert_eq!(classify("error"), Class::Failure);
        assert_eq!(classify("response.failed"), Class::Failure);
    }

    #[test]
    fn trailing_error_frame_gives_the_reason() {
        let events = [
            ev(
                "response.failed",
                json!({"type": "response.failed", "response": {"error": null}}),
            ),
            ev(
                "error",
                json!({"type": "error", "error": {"code": "content_policy_violation", "message": "blocked"}}),
            ),
        ];
        let f = in_band_failure(&events);
        assert!(f.is_content_filter());
        assert_eq!(f.code(), Some("content_policy_violation"));
        let events = [ev(
            "error",
            json!({"type": "error", "code": "server_error", "message": "boom"}),
        )];
        let f = in_band_failure(&events);
        assert!(f.is_stream() && f.is_deployment_fault());
        assert_eq!(f.message(), "boom");
    }
}
