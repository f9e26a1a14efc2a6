//! Foundry model-router extensions: the preview `routing_config` request object and the
//! `model_selection_details` response object.

use serde_json::Number;

use crate::response::ResponseError;
use crate::wire::{open_enum, wire_struct};

open_enum! {
    /// Router mode. Serialised lowercase, as the router traces report it.
    ///
    /// ```
    /// use routewise_types::RoutingMode;
    /// assert_eq!(serde_json::to_string(&RoutingMode::Cost).unwrap(), r#""cost""#);
    /// let m: RoutingMode = serde_json::from_str(r#""latency""#).unwrap();
    /// assert_eq!(m, RoutingMode::Other("latency".into()));
    /// ```
    pub enum RoutingMode {
        /// Cheapest model within a narrow quality band of the best (the default).
        Balanced = "balanced",
        /// The best model for the prompt, ignoring cost.
        Quality = "quality",
        /// Cheapest model within a wider quality band.
        Cost = "cost",
    }
}

wire_struct! {
    /// `routing_config.session_affinity`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct SessionAffinity {
        /// `adaptive` (default), `sticky` or `none`.
        pub strategy: Option<String>,
        /// Spelling seen in a public sample instead of `strategy`.
        pub mode: Option<String>,
        /// Your conversation id.
        pub session_id: Option<String>,
    }
}

wire_struct! {
    /// The preview per-request router controls (`routing_config`), honoured only with the
    /// `Foundry-Features: ModelRouterControls=V1Preview` header.
    ///
    /// ```
    /// use routewise_types::{RoutingConfig, RoutingMode};
    /// let cfg = RoutingConfig { mode: Some(RoutingMode::Quality), ..Default::default() };
    /// assert_eq!(serde_json::to_string(&cfg).unwrap(), r#"{"mode":"quality"}"#);
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct RoutingConfig {
        /// Routing mode.
        pub mode: Option<RoutingMode>,
        /// Allowed models (the subset, also the failover set).
        pub models: Option<Vec<String>>,
        /// Only route to models that support every request parameter.
        pub require_parameters: Option<bool>,
        /// Session affinity.
        pub session_affinity: Option<SessionAffinity>,
    }
}

wire_struct! {
    /// The outcome of one routing attempt.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct AttemptResult {
        /// HTTP status of the attempt.
        pub status: Option<u16>,
        /// The error, if it failed.
        pub error: Option<ResponseError>,
    }
}

wire_struct! {
    /// One model the router tried.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct RoutingAttempt {
        /// The model tried.
        pub model: String,
        /// What happened.
        pub result: Option<AttemptResult>,
    }
}

wire_struct! {
    /// One routing decision with its attempts.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct RoutingTrace {
        /// Router overhead in milliseconds, as sent.
        pub latency_ms: Option<Number>,
        /// Attempts in order; a failover shows as several.
        pub attempts: Option<Vec<RoutingAttempt>>,
    }
}

wire_struct! {
    /// `session_affinity` in the selection details.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct SessionAffinityDetails {
        /// Affinity mode.
        pub mode: Option<String>,
        /// Where the session id came from.
        pub source: Option<String>,
        /// `initialize`, `retain` or `switch`.
        pub decision: Option<String>,
    }
}

wire_struct! {
    /// `model_selection_details.model_router_details`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ModelRouterDetails {
        /// The mode used.
        pub mode: Option<RoutingMode>,
        /// The routing trace.
        pub routing_trace: Option<Vec<RoutingTrace>>,
        /// Session affinity outcome.
        pub session_affinity: Option<SessionAffinityDetails>,
    }
}

wire_struct! {
    /// The preview `model_selection_details` object on a response.
    ///
    /// ```
    /// use routewise_types::ModelSelectionDetails;
    /// let d: ModelSelectionDetails = serde_json::from_str(r#"{"model_router_details":{"mode":"balanced",
    ///   "routing_trace":[{"latency_ms":19,"attempts":[{"model":"gpt-5-mini","result":{"status":200}}]}]}}"#).unwrap();
    /// assert_eq!(d.attempts().last().unwrap().model, "gpt-5-mini");
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ModelSelectionDetails {
        /// Router details.
        pub model_router_details: Option<ModelRouterDetails>,
    }
}

impl ModelSelectionDetails {
    /// The routing mode, if reported.
    pub fn mode(&self) -> Option<&RoutingMode> {
        self.model_router_details.as_ref()?.mode.as_ref()
    }

    /// Every attempt of every trace, in order.
    pub fn attempts(&self) -> Vec<&RoutingAttempt> {
        self.model_router_details
            .iter()
            .flat_map(|d| d.routing_trace.iter().flatten())
            .flat_map(|t| t.attempts.iter().flatten())
            .collect()
    }
}
