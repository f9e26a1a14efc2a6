//! The routing glue: the default strategy, and the response type that carries its decision.

use std::ops::Deref;

use routewise_strategy::{
    CandidateScore, PlannedAttempt, RouteContext, RouteDecision, RouteError, RoutePlan, ScoreKind,
    Strategy,
};
use routewise_types::Response;

use crate::meta::ResponseMeta;

/// The default strategy: send the request to the deployment its `model` names, as the seed does.
///
/// It behaves like [`Pinned`](routewise_strategy::Pinned) pinned to whatever the request says,
/// so `"model-router"` goes to the server-side router and a deployment name goes to that
/// deployment. A request without `model` (an agent call, say) is sent unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsRequested;

/// The deployment label used for a request that names no model.
const NO_MODEL: &str = "(request)";

impl Strategy for AsRequested {
    fn name(&self) -> &str {
        "pinned"
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let Some(model) = ctx.request.model.as_deref() else {
            let attempt = PlannedAttempt::with_adjustments(NO_MODEL, Default::default());
            return Ok(RoutePlan::single(attempt));
        };
        let attempt = match ctx.pool.get(model) {
            Some(d) => PlannedAttempt::to(d),
            None => PlannedAttempt::named(model),
        };
        Ok(RoutePlan::single(attempt)
            .with_candidates(ScoreKind::Rank, vec![CandidateScore::new(model, 1.0)]))
    }
}

/// A [`Response`] plus how it was routed and the headers it came with.
///
/// Derefs to the [`Response`], so `routed.model` is still the model that served the call and
/// `routed.output_text()` works as on a plain response.
///
/// ```
/// use routewise::RoutedResponse;
/// use routewise_types::Response;
///
/// let routed = RoutedResponse::new(Response::new("resp_1", "gpt-4.1-nano"), Default::default(), Default::default());
/// assert_eq!(routed.model.as_deref(), Some("gpt-4.1-nano"));
/// assert_eq!(routed.decision().attempts.len(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct RoutedResponse {
    response: Response,
    decision: RouteDecision,
    meta: ResponseMeta,
}

impl RoutedResponse {
    /// Bundles a response with its decision and headers.
    pub fn new(response: Response, decision: RouteDecision, meta: ResponseMeta) -> Self {
        Self {
            response,
            decision,
            meta,
        }
    }

    /// The response.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// What the strategy considered and tried, and which deployment served the call.
    pub fn decision(&self) -> &RouteDecision {
        &self.decision
    }

    /// The diagnostic and rate-limit headers of the serving attempt.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// `x-request-id`, falling back to `apim-request-id`.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.best_request_id()
    }

    /// Splits into the response and the decision.
    pub fn into_parts(self) -> (Response, RouteDecision) {
        (self.response, self.decision)
    }

    /// The response alone.
    pub fn into_response(self) -> Response {
        self.response
    }
}

impl Deref for RoutedResponse {
    type Target = Response;

    fn deref(&self) -> &Response {
        &self.response
    }
}

impl AsRef<Response> for RoutedResponse {
    fn as_ref(&self) -> &Response {
        &self.response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use routewise_strategy::{Deployment, Pool};
    use routewise_types::CreateResponse;

    #[test]
    fn as_requested_routes_to_the_request_model() {
        let pool = Pool::default();
        let req = CreateResponse::new("gpt-4.1-mini", "hi").with_temperature(0.5);
        let plan = AsRequested.route(&RouteContext::new(&req, &pool)).unwrap();
        assert_eq!(plan.deployments().collect::<Vec<_>>(), ["gpt-4.1-mini"]);
        assert_eq!(plan.candidates[0].deployment, "gpt-4.1-mini");

        // A reasoning deployment known to the pool gets its adjustments, as with `Pinned`.
        let pool = Pool::new([Deployment::new("o4-mini")]);
        let req = CreateResponse::new("o4-mini", "hi").with_temperature(0.5);
        let plan = AsRequested.route(&RouteContext::new(&req, &pool)).unwrap();
        let mut adjusted = req.clone();
        plan.attempts[0].adjustments.apply(&mut adjusted);
        assert_eq!(adjusted.temperature, None);

        // No model (an agent call): sent unchanged.
        let req = CreateResponse::default();
        let plan = AsRequested.route(&RouteContext::new(&req, &pool)).unwrap();
        let mut adjusted = req.clone();
        plan.attempts[0].adjustments.apply(&mut adjusted);
        assert_eq!(adjusted, req);
    }
}
