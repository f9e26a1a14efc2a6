//! Routing strategies for routewise: which deployment serves a request.
//!
//! A [`Strategy`] turns a request and a [`Pool`] of deployments into a [`RoutePlan`]: an
//! ordered list of [`PlannedAttempt`]s, each naming a deployment and the [`Adjustments`] the
//! request needs for it (the `model` value, parameters a reasoning model rejects, router
//! controls). [`execute`] walks the plan, fails over only when the shared
//! [`FailoverPolicy`] allows it, feeds every [`AttemptOutcome`] back to
//! [`Strategy::observe`], and returns the value with its [`RouteDecision`].
//!
//! Built-in strategies: [`ModelRouter`] (server-side), [`Pinned`], [`Fallback`] (ordered, with
//! cooldown; also over another strategy), [`LowestLatency`] (EWMA + power-of-two-choices),
//! [`Weighted`] and [`LocalRouter`] (client-side Balanced/Quality/Cost over a
//! [`QualityEstimator`], by default the [`HeuristicEstimator`]).
//!
//! Routing itself does no IO and needs no async runtime. The only IO is in [`learned`], and only
//! when asked: reading training data, loading and saving artifacts, the embedding cache.

mod adjust;
mod clock;
mod config;
mod decision;
mod estimator;
mod execute;
mod failure;
mod heuristic;
pub mod learned;
mod plan;
mod pool;
mod profiles;
mod request_view;
mod rng;
mod strategies;
mod strategy;
#[cfg(test)]
mod tests;

pub use adjust::{Adjustments, FOUNDRY_FEATURES_HEADER, MODEL_ROUTER_CONTROLS};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ConfigError;
pub use decision::{AttemptRecord, AttemptResult, RouteDecision};
pub use estimator::{PromptView, QualityEstimator};
pub use execute::{AttemptSuccess, ExecError, Routed, execute, execute_with};
pub use failure::{AttemptFailure, FailoverPolicy, FailureKind};
pub use heuristic::{CHARS_PER_TOKEN, HeuristicEstimator, PromptFeatures};
pub use plan::{CandidateScore, PlannedAttempt, RoutePlan, ScoreKind};
pub use pool::{CapabilityProfile, Deployment, Pool, Price, looks_like_reasoning_model};
pub use profiles::{
    DEFAULT_MODELS, default_deployments, default_pool, known_deployment, known_model,
};
/// The wire types this crate's API takes ([`RouteContext`] holds a `CreateResponse`),
/// re-exported so a strategy can be written with this one dependency.
pub use routewise_types as types;
pub use routewise_types::RoutingMode;
pub use strategies::fallback::{DEFAULT_COOLDOWN, DEFAULT_FAILURE_THRESHOLD, Fallback};
pub use strategies::latency::{DEFAULT_ALPHA, DEFAULT_FAILURE_PENALTY, LowestLatency};
pub use strategies::local::{Bands, CostModel, LocalRouter};
pub use strategies::model_router::{MODEL_ROUTER, ModelRouter};
pub use strategies::pinned::Pinned;
pub use strategies::weighted::Weighted;
#[cfg(any(test, feature = "mock"))]
pub use strategy::MockStrategy;
pub use strategy::{AttemptOutcome, RouteContext, RouteError, SharedStrategy, Strategy};
