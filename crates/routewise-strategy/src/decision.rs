//! `RouteDecision`: what was considered and tried for one request, for logs and callers.

use std::time::Duration;

use routewise_types::{ModelSelectionDetails, Response};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::failure::{AttemptFailure, FailureKind};
use crate::plan::{CandidateScore, RoutePlan, ScoreKind};
use routewise_types::RoutingMode;

/// How one attempt ended, in a serialisable form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AttemptResult {
    /// The attempt succeeded.
    Ok,
    /// The attempt failed.
    Failed {
        /// The failure class.
        kind: FailureKind,
        /// The service's error code, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// The failure message.
        message: String,
        /// Whether the next planned deployment was tried after it.
        failed_over: bool,
    },
}

impl AttemptResult {
    /// True for a successful attempt.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }

    /// The failure class, for a failed attempt.
    pub fn failure_kind(&self) -> Option<FailureKind> {
        match self {
            Self::Failed { kind, .. } => Some(*kind),
            Self::Ok => None,
        }
    }

    pub(crate) fn failed(failure: &AttemptFailure, failed_over: bool) -> Self {
        Self::Failed {
            kind: failure.kind(),
            code: failure.code().map(str::to_owned),
            message: failure.message().to_owned(),
            failed_over,
        }
    }
}

/// One attempt made for a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The deployment tried.
    pub deployment: String,
    /// How it ended.
    pub result: AttemptResult,
    /// How long it took, serialised as fractional milliseconds (`latency_ms`).
    #[serde(
        rename = "latency_ms",
        serialize_with = "ser_ms",
        deserialize_with = "de_ms"
    )]
    pub latency: Duration,
}

/// The explanation of one routed request: strategy, candidates with scores, attempts with
/// outcomes, and which deployment and model finally served it.
///
/// ```
/// use routewise_strategy::{PlannedAttempt, RouteDecision, RoutePlan};
///
/// let decision = RouteDecision::from_plan("pinned", &RoutePlan::single(PlannedAttempt::named("gpt-4.1-mini")));
/// let json = serde_json::to_value(&decision).unwrap();
/// assert_eq!(json["strategy"], "pinned");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteDecision {
    /// The strategy's name.
    pub strategy: String,
    /// The routing mode, when the strategy has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<RoutingMode>,
    /// The quality band, when the strategy has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<f64>,
    /// What the candidate scores measure.
    pub score_kind: ScoreKind,
    /// The candidates considered, in ranking order.
    pub candidates: Vec<CandidateScore>,
    /// The attempts made, in order.
    pub attempts: Vec<AttemptRecord>,
    /// The deployment that served the request, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// The model that answered (`response.model`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    /// The server-side router's own report (`model_selection_details`), if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_routing: Option<ModelSelectionDetails>,
}

impl RouteDecision {
    /// A decision with the plan's candidates and no attempts yet.
    pub fn from_plan(strategy: impl Into<String>, plan: &RoutePlan) -> Self {
        Self {
            strategy: strategy.into(),
            mode: plan.mode.clone(),
            band: plan.band,
            score_kind: plan.score_kind,
            candidates: plan.candidates.clone(),
            ..Self::default()
        }
    }

    /// Records the served model and the server-side router's report from a response.
    pub fn record_response(&mut self, response: &Response) {
        if let Some(model) = &response.model {
            self.served_model = Some(model.clone());
        }
        if let Some(details) = &response.model_selection_details {
            self.server_routing = Some(details.clone());
        }
    }

    /// The failed attempts.
    pub fn failures(&self) -> impl Iterator<Item = &AttemptRecord> {
        self.attempts.iter().filter(|a| !a.result.is_ok())
    }
}

fn ser_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

fn de_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let ms = f64::deserialize(d)?;
    Duration::try_from_secs_f64(ms / 1e3).map_err(serde::de::Error::custom)
}
