//! `Pinned`: always the same deployment.

use crate::plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
use crate::strategy::{RouteContext, RouteError, Strategy};

/// Always routes to one deployment: the deterministic choice.
///
/// When the pool knows the deployment, its profile decides the parameter adjustments;
/// otherwise they are guessed from the name.
///
/// ```
/// use routewise_strategy::{Pinned, Pool, RouteContext, Strategy};
/// use routewise_types::CreateResponse;
///
/// let plan = Pinned::new("gpt-4.1-mini").route(&RouteContext::new(&CreateResponse::default(), &Pool::default())).unwrap();
/// assert_eq!(plan.deployments().collect::<Vec<_>>(), ["gpt-4.1-mini"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    deployment: String,
}

impl Pinned {
    /// Pins this deployment.
    pub fn new(deployment: impl Into<String>) -> Self {
        Self {
            deployment: deployment.into(),
        }
    }

    /// The pinned deployment.
    pub fn deployment(&self) -> &str {
        &self.deployment
    }
}

impl Strategy for Pinned {
    fn name(&self) -> &str {
        "pinned"
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let attempt = match ctx.pool.get(&self.deployment) {
            Some(d) => PlannedAttempt::to(d),
            None => PlannedAttempt::named(self.deployment.clone()),
        };
        Ok(RoutePlan::single(attempt).with_candidates(
            ScoreKind::Rank,
            vec![CandidateScore::new(self.deployment.clone(), 1.0)],
        ))
    }
}
