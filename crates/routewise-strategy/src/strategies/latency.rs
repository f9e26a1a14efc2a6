//! `LowestLatency`: EWMA of observed latency, power-of-two-choices among the fastest.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
use crate::rng::AtomicRng;
use crate::strategy::{AttemptOutcome, RouteContext, RouteError, Strategy};

/// Default EWMA smoothing factor: each new sample moves the average 30% of the way.
pub const DEFAULT_ALPHA: f64 = 0.3;
/// Latency charged for a deployment fault, so failing deployments look slow.
pub const DEFAULT_FAILURE_PENALTY: Duration = Duration::from_secs(5);

/// Bits of an f64 NaN: "no sample yet".
const UNOBSERVED: u64 = 0x7FF8_0000_0000_0000;

#[derive(Debug)]
struct LatencyStat {
    ewma_ms: AtomicU64,
}

impl LatencyStat {
    fn new() -> Self {
        Self {
            ewma_ms: AtomicU64::new(UNOBSERVED),
        }
    }

    fn get(&self) -> Option<f64> {
        let v = f64::from_bits(self.ewma_ms.load(Ordering::Relaxed));
        (!v.is_nan()).then_some(v)
    }

    fn record(&self, sample_ms: f64, alpha: f64) {
        self.ewma_ms
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |bits| {
                let old = f64::from_bits(bits);
                let new = if old.is_nan() {
                    sample_ms
                } else {
                    old + alpha * (sample_ms - old)
                };
                Some(new.to_bits())
            })
            .ok();
    }
}

/// Routes to the deployment with the lowest smoothed latency, spreading load between the
/// fastest few with power-of-two-choices.
///
/// Each route samples two distinct candidates at random from the `top_k` fastest (by EWMA of
/// observed latency) and puts the faster of the two first; the rest follow by latency, as
/// failovers. Sampling two rather than always taking the best keeps every client from
/// herding onto one deployment at once. Unobserved deployments count as 0 ms so that each is
/// probed once. Deployment faults are recorded as `failure_penalty` (or the real latency if
/// longer); request faults (400, content filter) are ignored. State is one atomic per
/// deployment, so concurrent routes and observations never block each other.
///
/// ```
/// use std::time::{Duration, Instant};
/// use routewise_strategy::{AttemptOutcome, Deployment, LowestLatency, Pool, RouteContext, Strategy};
/// use routewise_types::CreateResponse;
///
/// let pool = Pool::new(["a", "b", "c"].map(Deployment::new));
/// let ll = LowestLatency::new().with_top_k(2).with_seed(1);
/// for (name, ms) in [("a", 300), ("b", 40), ("c", 90)] {
///     ll.observe(&AttemptOutcome::success(name, Instant::now(), Duration::from_millis(ms)));
/// }
/// let plan = ll.route(&RouteContext::new(&CreateResponse::default(), &pool)).unwrap();
/// assert_eq!(plan.deployments().collect::<Vec<_>>(), ["b", "c", "a"]);
/// ```
#[derive(Debug)]
pub struct LowestLatency {
    subset: Option<Vec<String>>,
    alpha: f64,
    top_k: Option<usize>,
    failure_penalty: Duration,
    rng: AtomicRng,
    stats: RwLock<HashMap<String, Arc<LatencyStat>>>,
}

impl Default for LowestLatency {
    fn default() -> Self {
        Self::new()
    }
}

impl LowestLatency {
    /// Routes over the whole pool with default settings.
    pub fn new() -> Self {
        Self {
            subset: None,
            alpha: DEFAULT_ALPHA,
            top_k: None,
            failure_penalty: DEFAULT_FAILURE_PENALTY,
            rng: AtomicRng::from_entropy(),
            stats: RwLock::new(HashMap::new()),
        }
    }

    /// Restricts candidates to these deployments.
    pub fn with_subset<I, S>(mut self, deployments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subset = Some(deployments.into_iter().map(Into::into).collect());
        self
    }

    /// EWMA smoothing factor, clamped to (0, 1].
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = if alpha.is_finite() {
            alpha.clamp(f64::MIN_POSITIVE, 1.0)
        } else {
            DEFAULT_ALPHA
        };
        self
    }

    /// Sample from the `k` fastest (at least 1). Default: the faster half, but at least 2.
    pub fn with_top_k(mut self, k: usize) -> Self {
        self.top_k = Some(k.max(1));
        self
    }

    /// Latency charged for a deployment fault.
    pub fn with_failure_penalty(mut self, penalty: Duration) -> Self {
        self.failure_penalty = penalty;
        self
    }

    /// Seeds the random source (for reproducible tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = AtomicRng::seeded(seed);
        self
    }

    /// The smoothed latency of a deployment, if observed.
    pub fn ewma(&self, deployment: &str) -> Option<Duration> {
        let stats = self.stats.read().unwrap_or_else(|e| e.into_inner());
        stats
            .get(deployment)
            .and_then(|s| s.get())
            .map(|ms| Duration::from_secs_f64(ms / 1e3))
    }

    fn stat(&self, deployment: &str) -> Arc<LatencyStat> {
        if let Some(s) = self
            .stats
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(deployment)
        {
            return Arc::clone(s);
        }
        let mut stats = self.stats.write().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            stats
                .entry(deployment.to_owned())
                .or_insert_with(|| Arc::new(LatencyStat::new())),
        )
    }
}

impl Strategy for LowestLatency {
    fn name(&self) -> &str {
        "lowest-latency"
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let names: Vec<&str> = match &self.subset {
            Some(subset) => subset.iter().map(String::as_str).collect(),
            None => ctx
                .pool
                .deployments()
                .iter()
                .map(|d| d.name.as_str())
                .collect(),
        };
        if names.is_empty() {
            return Err(RouteError::NoCandidates {
                strategy: self.name().to_owned(),
            });
        }

        let mut scored: Vec<(&str, f64)> = {
            let stats = self.stats.read().unwrap_or_else(|e| e.into_inner());
            names
                .iter()
                .map(|n| (*n, stats.get(*n).and_then(|s| s.get()).unwrap_or(0.0)))
                .collect()
        };
        scored.sort_by(|a, b| a.1.total_cmp(&b.1));

        let n = scored.len();
        let k = self.top_k.unwrap_or_else(|| n.div_ceil(2).max(2)).min(n);
        if k >= 2 {
            let i = self.rng.below(k);
            let j = (i + 1 + self.rng.below(k - 1)) % k;
            let pick = if scored[j].1 < scored[i].1 || (scored[j].1 == scored[i].1 && j < i) {
                j
            } else {
                i
            };
            // Rotate the pick to the front; the others keep their latency order.
            scored[..=pick].rotate_right(1);
        }

        let attempts = scored
            .iter()
            .map(|(name, _)| match ctx.pool.get(name) {
                Some(d) => PlannedAttempt::to(d),
                None => PlannedAttempt::named(*name),
            })
            .collect();
        let candidates = scored
            .iter()
            .map(|(name, ms)| CandidateScore::new(*name, *ms))
            .collect();
        Ok(RoutePlan::new(attempts).with_candidates(ScoreKind::LatencyMs, candidates))
    }

    fn observe(&self, outcome: &AttemptOutcome<'_>) {
        let sample = match outcome.result {
            Ok(()) => outcome.latency,
            Err(f) if f.is_deployment_fault() => outcome.latency.max(self.failure_penalty),
            Err(_) => return,
        };
        self.stat(outcome.deployment)
            .record(sample.as_secs_f64() * 1e3, self.alpha);
    }
}
