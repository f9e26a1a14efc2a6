//! `Weighted`: weighted random choice, seedable.

use crate::config::ConfigError;
use crate::plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
use crate::rng::AtomicRng;
use crate::strategy::{RouteContext, RouteError, Strategy};

/// Picks a deployment at random in proportion to its weight; the others follow by weight,
/// heaviest first, as failovers. A weight of zero keeps a deployment as a failover only.
///
/// ```
/// use routewise_strategy::{Pool, RouteContext, Strategy, Weighted};
/// use routewise_types::CreateResponse;
///
/// let w = Weighted::new([("blue", 9.0), ("green", 1.0)]).unwrap().with_seed(42);
/// let (req, pool) = (CreateResponse::default(), Pool::default());
/// let blue = (0..1000)
///     .filter(|_| w.route(&RouteContext::new(&req, &pool)).unwrap().attempts[0].deployment == "blue")
///     .count();
/// assert!((850..950).contains(&blue));
/// ```
#[derive(Debug)]
pub struct Weighted {
    /// Sorted by weight, heaviest first.
    entries: Vec<(String, f64)>,
    /// Cumulative weights, aligned with `entries`.
    cumulative: Vec<f64>,
    rng: AtomicRng,
}

impl Weighted {
    /// Deployments with weights (non-negative, finite, not all zero).
    pub fn new<I, S>(weights: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (S, f64)>,
        S: Into<String>,
    {
        let mut entries: Vec<(String, f64)> =
            weights.into_iter().map(|(d, w)| (d.into(), w)).collect();
        if entries.is_empty() {
            return Err(ConfigError::Empty);
        }
        if let Some((d, w)) = entries.iter().find(|(_, w)| !w.is_finite() || *w < 0.0) {
            return Err(ConfigError::InvalidWeight {
                deployment: d.clone(),
                weight: *w,
            });
        }
        if entries.iter().all(|(_, w)| *w == 0.0) {
            return Err(ConfigError::InvalidWeight {
                deployment: entries[0].0.clone(),
                weight: 0.0,
            });
        }
        entries.sort_by(|a, b| b.1.total_cmp(&a.1));
        let cumulative = entries
            .iter()
            .scan(0.0, |acc, (_, w)| {
                *acc += w;
                Some(*acc)
            })
            .collect();
        Ok(Self {
            entries,
            cumulative,
            rng: AtomicRng::from_entropy(),
        })
    }

    /// Seeds the random source (for reproducible tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = AtomicRng::seeded(seed);
        self
    }

    fn pick(&self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = self.rng.next_f64() * total;
        // First entry whose cumulative weight exceeds x; zero-weight entries are never picked.
        let i = self.cumulative.partition_point(|c| *c <= x);
        i.min(self.entries.len() - 1)
    }
}

impl Strategy for Weighted {
    fn name(&self) -> &str {
        "weighted"
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let pick = self.pick();
        let order = std::iter::once(pick).chain((0..self.entries.len()).filter(|i| *i != pick));
        let attempts = order
            .map(|i| {
                let name = &self.entries[i].0;
                match ctx.pool.get(name) {
                    Some(d) => PlannedAttempt::to(d),
                    None => PlannedAttempt::named(name.clone()),
                }
            })
            .collect();
        let candidates = self
            .entries
            .iter()
            .map(|(d, w)| CandidateScore::new(d.clone(), *w))
            .collect();
        Ok(RoutePlan::new(attempts).with_candidates(ScoreKind::Weight, candidates))
    }
}
