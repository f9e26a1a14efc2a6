//! Per-attempt request changes: the `model` value, parameters a model rejects, routing controls, headers.

use std::borrow::Cow;

use routewise_types::{CreateResponse, RoutingConfig};

use crate::pool::{Deployment, looks_like_reasoning_model};

/// The header that turns on Foundry's per-request router controls.
pub const FOUNDRY_FEATURES_HEADER: &str = "Foundry-Features";
/// The value of [`FOUNDRY_FEATURES_HEADER`] for model-router controls.
pub const MODEL_ROUTER_CONTROLS: &str = "ModelRouterControls=V1Preview";

/// Parameters a reasoning model ignores or rejects, when they arrive through `extra`.
///
/// Foundry's router drops `stop`, `presence_penalty`, `frequency_penalty`, `logit_bias` and
/// `logprobs` for o-series models; OpenAI's reasoning-model guide lists the same set (plus
/// `top_logprobs`) as unsupported for every reasoning model, so a client-side router drops
/// them for all of them rather than earn a 400.
const REASONING_UNSUPPORTED: [&str; 6] = [
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
];

/// The changes one attempt makes to the request before it is sent.
///
/// ```
/// use routewise_strategy::{Adjustments, Deployment, CapabilityProfile};
/// use routewise_types::CreateResponse;
///
/// let o4 = Deployment::new("o4-mini").with_profile(CapabilityProfile::uniform(0.8).with_reasoning_model(true));
/// let mut req = CreateResponse::default();
/// req.temperature = Some(0.2);
/// req.top_p = Some(0.9);
/// Adjustments::for_deployment(&o4).apply(&mut req);
/// assert_eq!(req.model.as_deref(), Some("o4-mini"));
/// assert_eq!((req.temperature, req.top_p), (None, None));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Adjustments {
    model: Option<String>,
    drop_sampling: bool,
    drop_reasoning_unsupported: bool,
    routing_config: Option<RoutingConfig>,
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Adjustments {
    /// No changes at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Send to this deployment, dropping what its model does not accept.
    pub fn for_deployment(deployment: &Deployment) -> Self {
        Self::to_model(deployment.name.clone(), deployment.is_reasoning_model())
    }

    /// Send to a deployment known only by name; whether it is a reasoning model is guessed.
    pub fn for_model(name: &str) -> Self {
        Self::to_model(name.to_owned(), looks_like_reasoning_model(name))
    }

    fn to_model(model: String, reasoning: bool) -> Self {
        Self {
            model: Some(model),
            drop_sampling: reasoning,
            drop_reasoning_unsupported: reasoning,
            ..Self::default()
        }
    }

    /// Sets the `model` value to send.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Drop (or keep) `temperature` and `top_p`.
    pub fn with_drop_sampling(mut self, drop: bool) -> Self {
        self.drop_sampling = drop;
        self
    }

    /// Drop (or keep) the penalty/stop/logprob parameters reasoning models reject.
    pub fn with_drop_reasoning_unsupported(mut self, drop: bool) -> Self {
        self.drop_reasoning_unsupported = drop;
        self
    }

    /// Sets `routing_config` on the request.
    pub fn with_routing_config(mut self, config: RoutingConfig) -> Self {
        self.routing_config = Some(config);
        self
    }

    /// Adds a header to send with this attempt.
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `model` value this attempt sends, if it sets one.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// True when `temperature` and `top_p` are dropped.
    pub fn drops_sampling(&self) -> bool {
        self.drop_sampling
    }

    /// True when the parameters reasoning models reject are dropped.
    pub fn drops_reasoning_unsupported(&self) -> bool {
        self.drop_reasoning_unsupported
    }

    /// The `routing_config` this attempt sets, if any.
    pub fn routing_config(&self) -> Option<&RoutingConfig> {
        self.routing_config.as_ref()
    }

    /// Extra headers for this attempt, as (name, value) pairs.
    pub fn headers(&self) -> &[(Cow<'static, str>, Cow<'static, str>)] {
        &self.headers
    }

    /// Applies the changes to a request.
    pub fn apply(&self, request: &mut CreateResponse) {
        if let Some(model) = &self.model {
            request.model = Some(model.clone());
        }
        if self.drop_sampling {
            request.temperature = None;
            request.top_p = None;
        }
        if self.drop_reasoning_unsupported {
            for key in REASONING_UNSUPPORTED {
                request.extra.remove(key);
            }
        }
        if let Some(config) = &self.routing_config {
            request.routing_config = Some(config.clone());
        }
    }
}
