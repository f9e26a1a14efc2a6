//! The `Strategy` trait: given a request and a pool, which deployments to try, in which order.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use routewise_types::CreateResponse;

use crate::failure::AttemptFailure;
use crate::plan::RoutePlan;
use crate::pool::Pool;

/// What a strategy sees when it routes one request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RouteContext<'a> {
    /// The request as the caller built it.
    pub request: &'a CreateResponse,
    /// The deployments known to the caller.
    pub pool: &'a Pool,
    /// The routing instant; cooldowns compare against it, so tests can move time without sleeping.
    pub now: Instant,
}

impl<'a> RouteContext<'a> {
    /// A context at the current instant.
    pub fn new(request: &'a CreateResponse, pool: &'a Pool) -> Self {
        Self {
            request,
            pool,
            now: Instant::now(),
        }
    }

    /// The same context at another instant.
    pub fn at(mut self, now: Instant) -> Self {
        self.now = now;
        self
    }
}

/// The outcome of one attempt, fed back to [`Strategy::observe`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct AttemptOutcome<'a> {
    /// The deployment tried.
    pub deployment: &'a str,
    /// When the attempt ended.
    pub at: Instant,
    /// Time from sending to the attempt's end (for streams: to the first content delta).
    pub latency: Duration,
    /// Time to the first output token, when known.
    pub time_to_first_token: Option<Duration>,
    /// Input tokens, when known.
    pub input_tokens: Option<u64>,
    /// Output tokens, when known.
    pub output_tokens: Option<u64>,
    /// The model the service reports having used, when known.
    pub served_model: Option<&'a str>,
    /// Success, or the failure.
    pub result: Result<(), &'a AttemptFailure>,
}

impl<'a> AttemptOutcome<'a> {
    /// A successful attempt.
    pub fn success(deployment: &'a str, at: Instant, latency: Duration) -> Self {
        Self {
            deployment,
            at,
            latency,
            time_to_first_token: None,
            input_tokens: None,
            output_tokens: None,
            served_model: None,
            result: Ok(()),
        }
    }

    /// A failed attempt.
    pub fn failure(
        deployment: &'a str,
        at: Instant,
        latency: Duration,
        failure: &'a AttemptFailure,
    ) -> Self {
        Self {
            result: Err(failure),
            ..Self::success(deployment, at, latency)
        }
    }

    /// Sets token counts.
    pub fn with_tokens(mut self, input: Option<u64>, output: Option<u64>) -> Self {
        self.input_tokens = input;
        self.output_tokens = output;
        self
    }

    /// Sets the time to first token.
    pub fn with_time_to_first_token(mut self, ttft: Option<Duration>) -> Self {
        self.time_to_first_token = ttft;
        self
    }

    /// Sets the served model.
    pub fn with_served_model(mut self, model: Option<&'a str>) -> Self {
        self.served_model = model;
        self
    }

    /// True for a successful attempt.
    pub fn is_success(&self) -> bool {
        self.result.is_ok()
    }
}

/// Why a strategy could not produce a plan.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// No deployment is eligible (empty pool, or a subset naming none of the pool's deployments).
    #[error("strategy {strategy} has no candidate deployment")]
    NoCandidates {
        /// The strategy's name.
        strategy: String,
    },
    /// The quality estimator returned an unusable answer.
    #[error("quality estimator {estimator} failed: {reason}")]
    Estimator {
        /// The estimator's name.
        estimator: String,
        /// What was wrong.
        reason: String,
    },
    /// An inner strategy failed.
    #[error("inner strategy failed: {0}")]
    Inner(Box<RouteError>),
}

impl RouteError {
    /// True when there was no candidate to route to.
    pub fn is_no_candidates(&self) -> bool {
        match self {
            Self::NoCandidates { .. } => true,
            Self::Inner(inner) => inner.is_no_candidates(),
            _ => false,
        }
    }

    /// True when the quality estimator failed.
    pub fn is_estimator(&self) -> bool {
        match self {
            Self::Estimator { .. } => true,
            Self::Inner(inner) => inner.is_estimator(),
            _ => false,
        }
    }
}

/// Chooses the deployments for a request. Object-safe, synchronous and cheap: it runs on
/// every request, must not block, and learns only through [`observe`](Strategy::observe).
///
/// A custom strategy takes a few lines:
///
/// ```
/// use routewise_strategy::{PlannedAttempt, Pool, RouteContext, RouteError, RoutePlan, Strategy};
/// use routewise_types::CreateResponse;
///
/// /// Long prompts go to the big model, the rest to the small one.
/// #[derive(Debug)]
/// struct BySize;
///
/// impl Strategy for BySize {
///     fn name(&self) -> &str { "by-size" }
///     fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
///         let long = serde_json::to_string(&ctx.request.input).map_or(0, |s| s.len()) > 2_000;
///         let pick = if long { "gpt-5.2" } else { "gpt-4.1-mini" };
///         Ok(RoutePlan::single(PlannedAttempt::named(pick)))
///     }
/// }
///
/// let plan = BySize.route(&RouteContext::new(&CreateResponse::default(), &Pool::default())).unwrap();
/// assert_eq!(plan.primary().unwrap().deployment, "gpt-4.1-mini");
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Strategy: Send + Sync + fmt::Debug {
    /// A short name for traces and [`RouteDecision`](crate::RouteDecision)s.
    fn name(&self) -> &str;

    /// The ordered plan for this request: the first attempt is primary, the rest are failovers.
    fn route<'a>(&self, ctx: &RouteContext<'a>) -> Result<RoutePlan, RouteError>;

    /// Feedback for each attempt made; stateful strategies learn from it.
    fn observe<'a>(&self, outcome: &AttemptOutcome<'a>) {
        let _ = outcome;
    }
}

/// A strategy shared between clients and tasks.
pub type SharedStrategy = Arc<dyn Strategy>;

impl<S: Strategy + ?Sized> Strategy for Arc<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        (**self).route(ctx)
    }
    fn observe(&self, outcome: &AttemptOutcome<'_>) {
        (**self).observe(outcome)
    }
}

impl<S: Strategy + ?Sized> Strategy for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        (**self).route(ctx)
    }
    fn observe(&self, outcome: &AttemptOutcome<'_>) {
        (**self).observe(outcome)
    }
}
