//! `LocalRouter`: the client-side model router (Balanced / Quality / Cost over a subset).

use std::sync::Arc;

use routewise_types::RoutingMode;

use crate::config::ConfigError;
use crate::estimator::{PromptView, QualityEstimator};
use crate::heuristic::CHARS_PER_TOKEN;
use crate::learned::TrainedEstimator;
use crate::plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
use crate::pool::Deployment;
use crate::strategy::{RouteContext, RouteError, Strategy};

/// Quality bands per mode: how far below the best predicted quality a cheaper model may be.
///
/// Defaults follow Foundry's documented examples, taking the upper end of each range:
/// Balanced "1% to 2%" → 0.02, Cost "5% to 6%" → 0.06. Foundry does not say whether the
/// band is relative or absolute, so both readings are available; relative is the default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bands {
    /// Balanced-mode band.
    pub balanced: f64,
    /// Cost-mode band.
    pub cost: f64,
    /// True: a candidate is in band when `q ≥ best × (1 − band)`; false: when `q ≥ best − band`.
    pub relative: bool,
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            balanced: 0.02,
            cost: 0.06,
            relative: true,
        }
    }
}

impl Bands {
    /// Bands with these widths (each in 0..1), relative.
    pub fn new(balanced: f64, cost: f64) -> Result<Self, ConfigError> {
        for (setting, value) in [("balanced band", balanced), ("cost band", cost)] {
            if !(0.0..1.0).contains(&value) {
                return Err(ConfigError::OutOfRange { setting, value });
            }
        }
        Ok(Self {
            balanced,
            cost,
            relative: true,
        })
    }

    /// Switches to absolute bands.
    pub fn absolute(mut self) -> Self {
        self.relative = false;
        self
    }

    /// The band for a mode; unknown modes use Balanced's, as Foundry defaults to Balanced.
    pub fn for_mode(&self, mode: &RoutingMode) -> f64 {
        match mode {
            RoutingMode::Quality => 0.0,
            RoutingMode::Cost => self.cost,
            _ => self.balanced,
        }
    }

    fn is_valid(&self) -> bool {
        (0.0..1.0).contains(&self.balanced) && (0.0..1.0).contains(&self.cost)
    }

    fn threshold(&self, best: f64, band: f64) -> f64 {
        if self.relative {
            best * (1.0 - band)
        } else {
            best - band
        }
    }
}

/// How the router estimates a request's cost per candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    /// Expected visible output tokens per request.
    pub output_tokens: f64,
    /// Output multiplier for reasoning models, whose hidden reasoning tokens bill as output.
    pub reasoning_multiplier: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            output_tokens: 500.0,
            reasoning_multiplier: 3.0,
        }
    }
}

/// The client-side model router: predicts each candidate's quality for the prompt, then
/// picks by mode, as Foundry's `model-router` does.
///
/// - **Quality**: the best predicted quality (ties: the cheaper).
/// - **Balanced**: the cheapest candidate within a narrow band of the best quality.
/// - **Cost**: the same with a wider band.
///
/// The subset restricts candidates (deployments absent from the pool are skipped) and is
/// the failover set: the plan is the pick, then the other candidates by predicted quality.
///
/// The bands are, in order of precedence: those set with [`LocalRouter::with_bands`], those
/// the estimator calibrated for the candidate set
/// ([`QualityEstimator::calibrated_bands`]; [`LocalRouter::trained`] offers a trained
/// estimator's), else [`Bands::default`].
///
/// ```
/// use routewise_strategy::{default_pool, HeuristicEstimator, LocalRouter, RouteContext, Strategy};
/// use routewise_types::{CreateResponse, RoutingMode};
///
/// let pool = default_pool();
/// let router = LocalRouter::new(HeuristicEstimator::new()).with_mode(RoutingMode::Quality);
/// let req = CreateResponse::new("auto", "Prove that there are infinitely many primes, step by step.");
/// let plan = router.route(&RouteContext::new(&req, &pool)).unwrap();
/// assert_eq!(plan.primary().unwrap().deployment, "gpt-5.2");
/// assert_eq!(plan.attempts.len(), pool.len());
/// ```
#[derive(Debug, Clone)]
pub struct LocalRouter {
    name: String,
    mode: RoutingMode,
    subset: Option<Vec<String>>,
    estimator: Arc<dyn QualityEstimator>,
    /// Explicit bands; `None` defers to the estimator's calibration.
    bands: Option<Bands>,
    cost: CostModel,
}

impl LocalRouter {
    /// A Balanced router over the whole pool.
    pub fn new(estimator: impl QualityEstimator + 'static) -> Self {
        Self::with_shared_estimator(Arc::new(estimator))
    }

    /// A Balanced router with a shared estimator.
    pub fn with_shared_estimator(estimator: Arc<dyn QualityEstimator>) -> Self {
        let mode = RoutingMode::Balanced;
        Self {
            name: name_for(&mode),
            mode,
            subset: None,
            estimator,
            bands: None,
            cost: CostModel::default(),
        }
    }

    /// A Balanced router over a trained estimator, using the bands it calibrated for each
    /// candidate set ([`TrainedEstimator::bands_for`], absolute predicted-quality points).
    ///
    /// ```
    /// use routewise_strategy::learned::TrainedEstimator;
    /// use routewise_strategy::{default_pool, LocalRouter, RouteContext, RoutingMode, Strategy};
    /// use routewise_types::CreateResponse;
    ///
    /// let pool = default_pool();
    /// let router = LocalRouter::trained(TrainedEstimator::default_artifact().unwrap());
    /// let req = CreateResponse::new("auto", "What is 2+2?");
    /// let plan = router.route(&RouteContext::new(&req, &pool)).unwrap();
    /// assert_eq!(plan.primary().unwrap().deployment, "gpt-4.1-nano");
    /// let strongest = router.with_mode(RoutingMode::Quality).route(&RouteContext::new(&req, &pool)).unwrap();
    /// assert_eq!(strongest.primary().unwrap().deployment, "gpt-5.2");
    /// ```
    pub fn trained(estimator: impl Into<Arc<TrainedEstimator>>) -> Self {
        Self::with_shared_estimator(estimator.into())
    }

    /// Sets the mode.
    pub fn with_mode(mut self, mode: RoutingMode) -> Self {
        self.name = name_for(&mode);
        self.mode = mode;
        self
    }

    /// Restricts candidates to these deployments (also the failover set).
    pub fn with_subset<I, S>(mut self, deployments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subset = Some(deployments.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the quality bands, overriding any the estimator calibrated.
    pub fn with_bands(mut self, bands: Bands) -> Self {
        self.bands = Some(bands);
        self
    }

    /// Sets the cost model.
    pub fn with_cost_model(mut self, cost: CostModel) -> Self {
        self.cost = cost;
        self
    }

    /// The mode.
    pub fn mode(&self) -> &RoutingMode {
        &self.mode
    }

    /// The estimator ranking the candidates.
    pub fn estimator(&self) -> &Arc<dyn QualityEstimator> {
        &self.estimator
    }

    /// The bands this router uses for these candidates (see the type's docs for precedence).
    pub fn bands_for(&self, candidates: &[&Deployment]) -> Bands {
        self.bands
            .or_else(|| {
                self.estimator
                    .calibrated_bands(candidates)
                    .filter(Bands::is_valid)
            })
            .unwrap_or_default()
    }

    fn candidates<'p>(&self, ctx: &RouteContext<'p>) -> Vec<&'p Deployment> {
        match &self.subset {
            Some(subset) => subset.iter().filter_map(|n| ctx.pool.get(n)).collect(),
            None => ctx.pool.deployments().iter().collect(),
        }
    }

    fn cost_of(&self, d: &Deployment, input_tokens: f64) -> f64 {
        let output = self.cost.output_tokens
            * if d.is_reasoning_model() {
                self.cost.reasoning_multiplier
            } else {
                1.0
            };
        (input_tokens * d.price.input_per_1m + output * d.price.output_per_1m) / 1e6
    }
}

fn name_for(mode: &RoutingMode) -> String {
    format!("local-router({})", mode.as_str())
}

impl Strategy for LocalRouter {
    fn name(&self) -> &str {
        &self.name
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let candidates = self.candidates(ctx);
        if candidates.is_empty() {
            return Err(RouteError::NoCandidates {
                strategy: self.name.clone(),
            });
        }
        let view = PromptView::from_request(ctx.request);
        let mut quality = Vec::with_capacity(candidates.len());
        self.estimator.estimate(&view, &candidates, &mut quality);
        if quality.len() != candidates.len() {
            return Err(RouteError::Estimator {
                estimator: self.estimator.name().to_owned(),
                reason: format!(
                    "{} scores for {} candidates",
                    quality.len(),
                    candidates.len()
                ),
            });
        }
        if let Some(bad) = quality.iter().find(|q| !q.is_finite()) {
            return Err(RouteError::Estimator {
                estimator: self.estimator.name().to_owned(),
                reason: format!("non-finite score {bad}"),
            });
        }

        let chars: usize = view.instructions.map_or(0, str::len)
            + view.user_turns.iter().map(|t| t.len()).sum::<usize>();
        let input_tokens = chars as f64 / CHARS_PER_TOKEN;
        let cost: Vec<f64> = candidates
            .iter()
            .map(|d| self.cost_of(d, input_tokens))
            .collect();

        let bands = self.bands_for(&candidates);
        let best = quality.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let band = bands.for_mode(&self.mode);
        // A tiny tolerance keeps float noise from pushing the best model itself out of band.
        let threshold = bands.threshold(best, band) - 1e-12;
        let in_band = |i: usize| quality[i] >= threshold;

        // Rank by quality (ties: cheaper, then subset order) for the failover tail.
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| {
            quality[b]
                .total_cmp(&quality[a])
                .then(cost[a].total_cmp(&cost[b]))
        });
        let pick = match self.mode {
            RoutingMode::Quality => order[0],
            _ => (0..candidates.len())
                .filter(|&i| in_band(i))
                .min_by(|&a, &b| {
                    cost[a]
                        .total_cmp(&cost[b])
                        .then(quality[b].total_cmp(&quality[a]))
                })
                .unwrap_or(order[0]),
        };
        if let Some(pos) = order.iter().position(|&i| i == pick) {
            order[..=pos].rotate_right(1);
        }

        let attempts = order
            .iter()
            .map(|&i| PlannedAttempt::to(candidates[i]))
            .collect();
        let scores = order
            .iter()
            .map(|&i| {
                CandidateScore::new(candidates[i].name.clone(), quality[i])
                    .with_cost(cost[i])
                    .with_eligible(in_band(i))
            })
            .collect();
        Ok(RoutePlan::new(attempts)
            .with_candidates(ScoreKind::Quality, scores)
            .with_mode(self.mode.clone(), Some(band)))
    }
}
