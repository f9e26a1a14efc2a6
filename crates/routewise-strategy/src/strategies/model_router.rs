//! `ModelRouter`: the server-side `model-router` deployment does the routing.

use routewise_types::{RoutingConfig, RoutingMode};

use crate::adjust::{Adjustments, FOUNDRY_FEATURES_HEADER, MODEL_ROUTER_CONTROLS};
use crate::plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
use crate::strategy::{RouteContext, RouteError, Strategy};

/// The default router deployment name.
pub const MODEL_ROUTER: &str = "model-router";

/// Lets Foundry's model router choose: sends `model: "model-router"` (or a named router
/// deployment, or `auto`) and leaves parameter handling to the server, which drops
/// `temperature`/`top_p` itself when it picks a reasoning model.
///
/// Setting a mode or a model subset turns on the preview per-request controls: the request
/// carries `routing_config` and the `Foundry-Features: ModelRouterControls=V1Preview` header
/// (without the header the service ignores `routing_config`). The header alone
/// ([`with_controls`](Self::with_controls)) asks for `model_selection_details` and session
/// affinity. Read the server's choice back with
/// [`RouteDecision::record_response`](crate::RouteDecision::record_response).
///
/// ```
/// use routewise_strategy::{ModelRouter, Pool, RouteContext, Strategy};
/// use routewise_types::{CreateResponse, RoutingMode};
///
/// let router = ModelRouter::new().with_mode(RoutingMode::Cost).with_models(["gpt-4.1-mini", "gpt-5-mini"]);
/// let mut req = CreateResponse::new("ignored", "Hi").with_temperature(0.3);
/// let plan = router.route(&RouteContext::new(&req, &Pool::default())).unwrap();
/// let attempt = plan.primary().unwrap();
/// attempt.adjustments.apply(&mut req);
/// assert_eq!(req.model.as_deref(), Some("model-router"));
/// assert_eq!(req.temperature, Some(0.3));
/// assert_eq!(req.routing_config.unwrap().models.unwrap().len(), 2);
/// assert_eq!(attempt.adjustments.headers()[0].1, "ModelRouterControls=V1Preview");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRouter {
    deployment: String,
    mode: Option<RoutingMode>,
    models: Option<Vec<String>>,
    controls: bool,
}

impl Default for ModelRouter {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelRouter {
    /// Routes through the `model-router` deployment.
    pub fn new() -> Self {
        Self::deployment(MODEL_ROUTER)
    }

    /// Routes through a router deployment with another name (or `auto`).
    pub fn deployment(name: impl Into<String>) -> Self {
        Self {
            deployment: name.into(),
            mode: None,
            models: None,
            controls: false,
        }
    }

    /// Requests a routing mode per request (turns on the preview controls).
    pub fn with_mode(mut self, mode: RoutingMode) -> Self {
        self.mode = Some(mode);
        self.controls = true;
        self
    }

    /// Restricts the router to these models per request (turns on the preview controls).
    pub fn with_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.models = Some(models.into_iter().map(Into::into).collect());
        self.controls = true;
        self
    }

    /// Sends the preview-controls header even without a mode or subset.
    pub fn with_controls(mut self, on: bool) -> Self {
        self.controls = on;
        self
    }

    /// The router deployment name.
    pub fn deployment_name(&self) -> &str {
        &self.deployment
    }

    fn adjustments(&self) -> Adjustments {
        let mut adj = Adjustments::none().with_model(self.deployment.clone());
        if self.controls {
            adj = adj.with_header(FOUNDRY_FEATURES_HEADER, MODEL_ROUTER_CONTROLS);
        }
        if self.mode.is_some() || self.models.is_some() {
            adj = adj.with_routing_config(RoutingConfig {
                mode: self.mode.clone(),
                models: self.models.clone(),
                ..RoutingConfig::default()
            });
        }
        adj
    }
}

impl Strategy for ModelRouter {
    fn name(&self) -> &str {
        "model-router"
    }

    fn route(&self, _ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let attempt = PlannedAttempt::with_adjustments(self.deployment.clone(), self.adjustments());
        let mut plan = RoutePlan::single(attempt).with_candidates(
            ScoreKind::Rank,
            vec![CandidateScore::new(self.deployment.clone(), 1.0)],
        );
        plan.mode = self.mode.clone();
        Ok(plan)
    }
}
