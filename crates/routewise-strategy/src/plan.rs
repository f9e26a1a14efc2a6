//! What a strategy returns: an ordered list of attempts and the candidates it weighed.

use routewise_types::RoutingMode;
use serde::{Deserialize, Serialize};

use crate::adjust::Adjustments;
use crate::pool::Deployment;

/// One attempt of a plan: where to send the request and how to change it first.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAttempt {
    /// The deployment name, as used for health tracking and in [`RouteDecision`](crate::RouteDecision)s.
    pub deployment: String,
    /// The request changes for this attempt (model value, dropped parameters, headers).
    pub adjustments: Adjustments,
}

impl PlannedAttempt {
    /// An attempt on a known deployment, with the adjustments its model needs.
    pub fn to(deployment: &Deployment) -> Self {
        Self {
            deployment: deployment.name.clone(),
            adjustments: Adjustments::for_deployment(deployment),
        }
    }

    /// An attempt on a deployment known only by name; reasoning models are guessed from it.
    pub fn named(name: impl Into<String>) -> Self {
        let deployment = name.into();
        let adjustments = Adjustments::for_model(&deployment);
        Self {
            deployment,
            adjustments,
        }
    }

    /// An attempt with explicit adjustments.
    pub fn with_adjustments(deployment: impl Into<String>, adjustments: Adjustments) -> Self {
        Self {
            deployment: deployment.into(),
            adjustments,
        }
    }
}

/// What a [`CandidateScore::score`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScoreKind {
    /// Position in a fixed order (1.0 for the first, lower for later).
    #[default]
    Rank,
    /// Predicted quality, 0..1 (local router).
    Quality,
    /// Smoothed latency in milliseconds (lower is better).
    LatencyMs,
    /// Configured weight (weighted random).
    Weight,
}

/// One candidate a strategy considered, with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    /// The deployment name.
    pub deployment: String,
    /// The strategy's score; its meaning is given by the plan's [`ScoreKind`].
    pub score: f64,
    /// Estimated cost in USD for this request, when the strategy computed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_estimate: Option<f64>,
    /// False when the candidate was ranked last (outside the quality band, cooling down).
    pub eligible: bool,
}

impl CandidateScore {
    /// An eligible candidate with a score and no cost estimate.
    pub fn new(deployment: impl Into<String>, score: f64) -> Self {
        Self {
            deployment: deployment.into(),
            score,
            cost_estimate: None,
            eligible: true,
        }
    }

    /// Sets the cost estimate.
    pub fn with_cost(mut self, usd: f64) -> Self {
        self.cost_estimate = Some(usd);
        self
    }

    /// Sets eligibility.
    pub fn with_eligible(mut self, eligible: bool) -> Self {
        self.eligible = eligible;
        self
    }
}

/// A strategy's answer: the attempts to make, in order, and why.
///
/// ```
/// use routewise_strategy::{PlannedAttempt, RoutePlan};
///
/// let plan = RoutePlan::new(vec![PlannedAttempt::named("gpt-4.1-mini"), PlannedAttempt::named("gpt-5-mini")]);
/// assert_eq!(plan.deployments().collect::<Vec<_>>(), ["gpt-4.1-mini", "gpt-5-mini"]);
/// // The reasoning model's attempt drops sampling parameters; the other keeps them.
/// assert!(!plan.attempts[0].adjustments.drops_sampling());
/// assert!(plan.attempts[1].adjustments.drops_sampling());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RoutePlan {
    /// The attempts, primary first; later ones are failovers.
    pub attempts: Vec<PlannedAttempt>,
    /// The candidates considered, in the strategy's ranking order.
    pub candidates: Vec<CandidateScore>,
    /// What the candidate scores measure.
    pub score_kind: ScoreKind,
    /// The routing mode, when the strategy has one.
    pub mode: Option<RoutingMode>,
    /// The quality band used, when the strategy has one.
    pub band: Option<f64>,
}

impl RoutePlan {
    /// A plan of these attempts with no candidate detail.
    pub fn new(attempts: Vec<PlannedAttempt>) -> Self {
        Self {
            attempts,
            ..Self::default()
        }
    }

    /// A plan of one attempt.
    pub fn single(attempt: PlannedAttempt) -> Self {
        Self::new(vec![attempt])
    }

    /// Sets the candidates and what their scores measure.
    pub fn with_candidates(mut self, kind: ScoreKind, candidates: Vec<CandidateScore>) -> Self {
        self.score_kind = kind;
        self.candidates = candidates;
        self
    }

    /// Sets the routing mode and band.
    pub fn with_mode(mut self, mode: RoutingMode, band: Option<f64>) -> Self {
        self.mode = Some(mode);
        self.band = band;
        self
    }

    /// The primary attempt.
    pub fn primary(&self) -> Option<&PlannedAttempt> {
        self.attempts.first()
    }

    /// The deployment names, in attempt order.
    pub fn deployments(&self) -> impl Iterator<Item = &str> {
        self.attempts.iter().map(|a| a.deployment.as_str())
    }

    /// True when the plan has no attempt.
    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
    }
}
