//! The runtime-agnostic executor: walks a plan, fails over by the shared policy, feeds
//! `observe`, and records the `RouteDecision`.

use std::future::Future;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::decision::{AttemptRecord, AttemptResult, RouteDecision};
use crate::failure::{AttemptFailure, FailoverPolicy};
use crate::plan::{PlannedAttempt, RoutePlan};
use crate::strategy::{AttemptOutcome, Strategy};

/// A successful attempt's value plus what the strategy should learn from it.
#[derive(Debug, Clone)]
pub struct AttemptSuccess<T> {
    /// The value handed to the caller (a response, or a stream that already yielded content).
    pub value: T,
    /// The model the service reports having used.
    pub served_model: Option<String>,
    /// Time to the first output token, when known.
    pub time_to_first_token: Option<Duration>,
    /// Input tokens, when known.
    pub input_tokens: Option<u64>,
    /// Output tokens, when known.
    pub output_tokens: Option<u64>,
}

impl<T> AttemptSuccess<T> {
    /// A success carrying `value` and nothing else.
    pub fn new(value: T) -> Self {
        Self {
            value,
            served_model: None,
            time_to_first_token: None,
            input_tokens: None,
            output_tokens: None,
        }
    }

    /// Sets the served model.
    pub fn with_served_model(mut self, model: impl Into<String>) -> Self {
        self.served_model = Some(model.into());
        self
    }

    /// Sets the time to first token.
    pub fn with_time_to_first_token(mut self, ttft: Duration) -> Self {
        self.time_to_first_token = Some(ttft);
        self
    }

    /// Sets token usage.
    pub fn with_usage(mut self, input: u64, output: u64) -> Self {
        self.input_tokens = Some(input);
        self.output_tokens = Some(output);
        self
    }
}

/// A routed success: the value and the decision that produced it.
#[derive(Debug, Clone)]
pub struct Routed<T> {
    /// The successful attempt's value.
    pub value: T,
    /// What was considered and tried.
    pub decision: RouteDecision,
}

/// Why execution produced no success. Every variant carries the [`RouteDecision`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecError {
    /// The plan had no attempt.
    #[error("the route plan has no attempt")]
    EmptyPlan {
        /// The (attempt-less) decision.
        decision: Box<RouteDecision>,
    },
    /// An attempt failed in a way that forbids failover (4xx, content filter, content already delivered).
    #[error("attempt failed without failover: {failure}")]
    Final {
        /// The failure.
        #[source]
        failure: AttemptFailure,
        /// The decision so far.
        decision: Box<RouteDecision>,
    },
    /// Every allowed attempt failed with a retryable failure; this is the last one.
    #[error("all attempts failed; last: {failure}")]
    Exhausted {
        /// The last failure.
        #[source]
        failure: AttemptFailure,
        /// The decision.
        decision: Box<RouteDecision>,
    },
}

impl ExecError {
    /// The decision: candidates and every attempt made.
    pub fn decision(&self) -> &RouteDecision {
        match self {
            Self::EmptyPlan { decision }
            | Self::Final { decision, .. }
            | Self::Exhausted { decision, .. } => decision,
        }
    }

    /// The last attempt's failure, if an attempt was made.
    pub fn failure(&self) -> Option<&AttemptFailure> {
        match self {
            Self::EmptyPlan { .. } => None,
            Self::Final { failure, .. } | Self::Exhausted { failure, .. } => Some(failure),
        }
    }

    /// Splits into the last failure and the decision.
    pub fn into_parts(self) -> (Option<AttemptFailure>, RouteDecision) {
        match self {
            Self::EmptyPlan { decision } => (None, *decision),
            Self::Final { failure, decision } | Self::Exhausted { failure, decision } => {
                (Some(failure), *decision)
            }
        }
    }

    /// True when the plan was empty.
    pub fn is_empty_plan(&self) -> bool {
        matches!(self, Self::EmptyPlan { .. })
    }

    /// True when a non-retryable failure stopped execution.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Final { .. })
    }

    /// True when every allowed attempt failed with a retryable failure.
    pub fn is_exhausted(&self) -> bool {
        matches!(self, Self::Exhausted { .. })
    }
}

/// Runs `plan` with the default [`FailoverPolicy`] and the system clock. See [`execute_with`].
pub async fn execute<T, F, Fut>(
    strategy: &dyn Strategy,
    plan: RoutePlan,
    attempt: F,
) -> Result<Routed<T>, ExecError>
where
    F: FnMut(&PlannedAttempt) -> Fut,
    Fut: Future<Output = Result<AttemptSuccess<T>, AttemptFailure>>,
{
    execute_with(
        strategy,
        plan,
        &FailoverPolicy::default(),
        &SystemClock,
        attempt,
    )
    .await
}

/// Walks `plan` in order, calling `attempt` for each planned attempt until one succeeds.
///
/// After a failure it moves on only when `policy` allows it (never after content reached the
/// caller). Every attempt's outcome goes to [`Strategy::observe`] and into the returned
/// [`RouteDecision`]. It never sleeps: backoff between deployments is not needed because each
/// attempt targets a different one, and cooldowns are time-based strategy state.
///
/// ```
/// use routewise_strategy::{execute, AttemptFailure, AttemptSuccess, Fallback, RouteContext, Pool, Strategy};
/// use routewise_types::CreateResponse;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let fallback = Fallback::new(["primary", "secondary"]);
/// let req = CreateResponse::default();
/// let plan = fallback.route(&RouteContext::new(&req, &Pool::default())).unwrap();
/// let routed = execute(&fallback, plan, |a| {
///     let name = a.deployment.clone();
///     async move {
///         if name == "primary" { Err(AttemptFailure::status(503, "busy")) } else { Ok(AttemptSuccess::new(name)) }
///     }
/// })
/// .await
/// .unwrap();
/// assert_eq!(routed.value, "secondary");
/// assert_eq!(routed.decision.attempts.len(), 2);
/// # });
/// ```
pub async fn execute_with<T, F, Fut>(
    strategy: &dyn Strategy,
    mut plan: RoutePlan,
    policy: &FailoverPolicy,
    clock: &dyn Clock,
    mut attempt: F,
) -> Result<Routed<T>, ExecError>
where
    F: FnMut(&PlannedAttempt) -> Fut,
    Fut: Future<Output = Result<AttemptSuccess<T>, AttemptFailure>>,
{
    let candidates = std::mem::take(&mut plan.candidates);
    let mut decision = RouteDecision::from_plan(strategy.name(), &plan);
    decision.candidates = candidates;
    let allowed = plan.attempts.len().min(policy.max_attempts());
    decision.attempts.reserve(allowed);
    let mut last_failure = None;

    for (index, planned) in plan.attempts.iter().take(allowed).enumerate() {
        let started = clock.now();
        let result = attempt(planned).await;
        let ended = clock.now();
        let latency = ended.saturating_duration_since(started);
        match result {
            Ok(success) => {
                let outcome = AttemptOutcome::success(&planned.deployment, ended, latency)
                    .with_tokens(success.input_tokens, success.output_tokens)
                    .with_time_to_first_token(success.time_to_first_token)
                    .with_served_model(success.served_model.as_deref());
                strategy.observe(&outcome);
                decision.attempts.push(AttemptRecord {
                    deployment: planned.deployment.clone(),
                    result: AttemptResult::Ok,
                    latency,
                });
                decision.deployment = Some(planned.deployment.clone());
                decision.served_model = success.served_model;
                return Ok(Routed {
                    value: success.value,
                    decision,
                });
            }
            Err(failure) => {
                strategy.observe(&AttemptOutcome::failure(
                    &planned.deployment,
                    ended,
                    latency,
                    &failure,
                ));
                let may_failover = policy.should_failover(&failure);
                let has_next = index + 1 < allowed;
                decision.attempts.push(AttemptRecord {
                    deployment: planned.deployment.clone(),
                    result: AttemptResult::failed(&failure, may_failover && has_next),
                    latency,
                });
                if !may_failover {
                    return Err(ExecError::Final {
                        failure,
                        decision: Box::new(decision),
                    });
                }
                last_failure = Some(failure);
            }
        }
    }

    Err(match last_failure {
        Some(failure) => ExecError::Exhausted {
            failure,
            decision: Box::new(decision),
        },
        None => ExecError::EmptyPlan {
            decision: Box::new(decision),
        },
    })
}
