//! `Fallback`: an ordered list of deployments (or an inner strategy's plan) with cooldown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
use crate::strategy::{AttemptOutcome, RouteContext, RouteError, SharedStrategy, Strategy};

/// Consecutive deployment faults before a deployment cools down.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
/// How long a tripped deployment stays at the back of the plan.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(30);

/// `i64::MIN` marks "not cooling"; other values are nanoseconds from the strategy's epoch.
const NOT_COOLING: i64 = i64::MIN;

/// Per-deployment health: lock-free counters read on every route.
#[derive(Debug)]
struct Health {
    consecutive_faults: AtomicU32,
    cooling_until: AtomicI64,
}

impl Health {
    fn new() -> Self {
        Self {
            consecutive_faults: AtomicU32::new(0),
            cooling_until: AtomicI64::new(NOT_COOLING),
        }
    }
}

#[derive(Debug)]
enum Source {
    List(Vec<String>),
    Inner(SharedStrategy),
}

/// Tries deployments in order, moving the ones that keep failing to the back for a while.
///
/// After `failure_threshold` consecutive deployment faults (connect errors, timeouts, 408,
/// 429, 5xx, 404, in-band stream failures) a deployment *cools down*: for `cooldown` it is
/// planned after every healthy one, never dropped, so a request still has somewhere to go
/// when everything is cooling. When the cooldown ends the deployment returns to its place on
/// probation: one success clears its record, one more fault sends it back to cooling.
/// Request faults (400, 401, content filters) say nothing about health and are not counted.
///
/// Over an inner strategy (`Fallback::over`) the inner plan's order is kept and the inner
/// strategy still receives every outcome.
///
/// ```
/// use std::time::{Duration, Instant};
/// use routewise_strategy::{AttemptFailure, AttemptOutcome, Fallback, Pool, RouteContext, Strategy};
/// use routewise_types::CreateResponse;
///
/// let fb = Fallback::new(["east", "west"]).with_failure_threshold(1).with_cooldown(Duration::from_secs(10));
/// let (req, pool, t0) = (CreateResponse::default(), Pool::default(), Instant::now());
/// let busy = AttemptFailure::status(503, "busy");
/// fb.observe(&AttemptOutcome::failure("east", t0, Duration::from_millis(5), &busy));
/// let order = |at| fb.route(&RouteContext::new(&req, &pool).at(at)).unwrap().deployments().map(str::to_owned).collect::<Vec<_>>();
/// assert_eq!(order(t0), ["west", "east"]);
/// assert_eq!(order(t0 + Duration::from_secs(11)), ["east", "west"]);
/// ```
#[derive(Debug)]
pub struct Fallback {
    name: String,
    source: Source,
    failure_threshold: u32,
    cooldown: Duration,
    epoch: Instant,
    health: RwLock<HashMap<String, Arc<Health>>>,
}

impl Fallback {
    /// Tries these deployments in this order.
    pub fn new<I, S>(deployments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list: Vec<String> = deployments.into_iter().map(Into::into).collect();
        let health = list
            .iter()
            .map(|d| (d.clone(), Arc::new(Health::new())))
            .collect();
        Self::build("fallback".to_owned(), Source::List(list), health)
    }

    /// Follows the inner strategy's plan, reordered by health.
    pub fn over(inner: SharedStrategy) -> Self {
        let name = format!("fallback({})", inner.name());
        Self::build(name, Source::Inner(inner), HashMap::new())
    }

    fn build(name: String, source: Source, health: HashMap<String, Arc<Health>>) -> Self {
        Self {
            name,
            source,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            cooldown: DEFAULT_COOLDOWN,
            epoch: Instant::now(),
            health: RwLock::new(health),
        }
    }

    /// Consecutive faults before cooldown (at least 1).
    pub fn with_failure_threshold(mut self, faults: u32) -> Self {
        self.failure_threshold = faults.max(1);
        self
    }

    /// Cooldown length.
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// True when `deployment` is cooling down at `now`.
    pub fn is_cooling(&self, deployment: &str, now: Instant) -> bool {
        let map = self.health.read().unwrap_or_else(|e| e.into_inner());
        map.get(deployment).is_some_and(|h| self.cooling(h, now))
    }

    fn cooling(&self, health: &Health, now: Instant) -> bool {
        let until = health.cooling_until.load(Ordering::Acquire);
        until != NOT_COOLING && self.nanos(now) < until
    }

    /// Signed nanoseconds from the epoch, so instants before construction still order correctly.
    fn nanos(&self, t: Instant) -> i64 {
        let clamp = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX - 1);
        match t.checked_duration_since(self.epoch) {
            Some(after) => clamp(after),
            None => -clamp(self.epoch.duration_since(t)),
        }
    }

    fn health_of(&self, deployment: &str) -> Arc<Health> {
        if let Some(h) = self
            .health
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(deployment)
        {
            return Arc::clone(h);
        }
        let mut map = self.health.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            map.entry(deployment.to_owned())
                .or_insert_with(|| Arc::new(Health::new())),
        )
    }
}

impl Strategy for Fallback {
    fn name(&self) -> &str {
        &self.name
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let mut plan = match &self.source {
            Source::List(list) => {
                let attempts = list
                    .iter()
                    .map(|name| match ctx.pool.get(name) {
                        Some(d) => PlannedAttempt::to(d),
                        None => PlannedAttempt::named(name.clone()),
                    })
                    .collect();
                RoutePlan::new(attempts)
            }
            Source::Inner(inner) => inner
                .route(ctx)
                .map_err(|e| RouteError::Inner(Box::new(e)))?,
        };
        if plan.attempts.is_empty() {
            return Err(RouteError::NoCandidates {
                strategy: self.name.clone(),
            });
        }

        let map = self.health.read().unwrap_or_else(|e| e.into_inner());
        let cooling: Vec<bool> = plan
            .attempts
            .iter()
            .map(|a| {
                map.get(&a.deployment)
                    .is_some_and(|h| self.cooling(h, ctx.now))
            })
            .collect();
        drop(map);

        let mut cold: Vec<String> = Vec::new();
        if cooling.iter().any(|c| *c) {
            // Stable partition: healthy ones keep their order, cooling ones go last in theirs.
            let attempts = std::mem::take(&mut plan.attempts);
            let (healthy, cooling_attempts): (Vec<_>, Vec<_>) =
                attempts.into_iter().zip(cooling).partition(|(_, c)| !*c);
            cold = cooling_attempts
                .iter()
                .map(|(a, _)| a.deployment.clone())
                .collect();
            plan.attempts = healthy
                .into_iter()
                .chain(cooling_attempts)
                .map(|(a, _)| a)
                .collect();
        }
        let is_cold = |name: &str| cold.iter().any(|c| c == name);

        if let Source::List(list) = &self.source {
            let n = list.len() as f64;
            let candidates = list
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    CandidateScore::new(d.clone(), 1.0 - i as f64 / n).with_eligible(!is_cold(d))
                })
                .collect();
            plan = plan.with_candidates(ScoreKind::Rank, candidates);
        } else {
            for c in &mut plan.candidates {
                if is_cold(&c.deployment) {
                    c.eligible = false;
                }
            }
        }
        Ok(plan)
    }

    fn observe(&self, outcome: &AttemptOutcome<'_>) {
        if let Source::Inner(inner) = &self.source {
            inner.observe(outcome);
        }
        match outcome.result {
            Ok(()) => {
                let map = self.health.read().unwrap_or_else(|e| e.into_inner());
                if let Some(h) = map.get(outcome.deployment) {
                    h.consecutive_faults.store(0, Ordering::Release);
                    h.cooling_until.store(NOT_COOLING, Ordering::Release);
                }
            }
            Err(failure) if failure.is_deployment_fault() => {
                let h = self.health_of(outcome.deployment);
                let faults = h
                    .consecutive_faults
                    .fetch_add(1, Ordering::AcqRel)
                    .saturating_add(1);
                if faults >= self.failure_threshold {
                    let until = self
                        .nanos(outcome.at)
                        .saturating_add(self.nanos_of(self.cooldown));
                    h.cooling_until.store(until, Ordering::Release);
                }
            }
            Err(_) => {}
        }
    }
}

impl Fallback {
    fn nanos_of(&self, d: Duration) -> i64 {
        i64::try_from(d.as_nanos()).unwrap_or(i64::MAX / 2)
    }
}
