//! Where rate limits meet a request: admission before the first attempt, and the check of
//! each later attempt.
//!
//! A pinned deployment is checked and charged once, before its only attempt. A router request
//! is admitted in one round trip against the router's own quota and, in plan order, the
//! planned deployments that have limits of their own: the first one with quota is charged,
//! those before it are skipped as out of quota (recorded as 429 attempts, as Foundry's router
//! moves past a throttled deployment), and the request is refused only when the router's pool
//! is used up or every candidate is. A failover to another limited deployment after an
//! upstream failure checks that deployment alone, in its own round trip (the rare path).

use routewise_strategy::{AttemptFailure, RoutePlan};
use routewise_types::CreateResponse;

use super::{LimitSpec, RateLimitStatus, RateLimiter, Verdict, request_tokens};
use crate::error::GatewayError;
use crate::state::{AppState, DeploymentEntry, RouterEntry};
use crate::telemetry::RateLimitOutcome;

/// Admission's decision for one request's planned attempts.
#[derive(Debug)]
pub(crate) struct Gate<'a> {
    limiter: &'a RateLimiter,
    tokens: u64,
    /// Attempts before this index were refused at admission.
    first_allowed: usize,
    /// The attempt admission already charged.
    charged: Option<usize>,
}

/// What to do before one attempt.
#[derive(Debug)]
pub(crate) enum Pass {
    /// Go ahead: charged at admission, or not limited.
    Go,
    /// Out of quota: skip to the next candidate.
    Skip(AttemptFailure),
    /// A limited deployment reached by failover: check it first.
    Check,
}

impl<'a> Gate<'a> {
    /// The decision for attempt `index` to `entry`.
    pub(crate) fn before(&self, index: usize, entry: Option<&DeploymentEntry>) -> Pass {
        let Some(spec) = entry.and_then(|e| e.limit.as_ref()) else {
            return Pass::Go;
        };
        if index < self.first_allowed || spec.never_fits(self.tokens) {
            return Pass::Skip(out_of_quota(spec, None));
        }
        if self.charged == Some(index) {
            Pass::Go
        } else {
            Pass::Check
        }
    }

    /// Checks and charges `entry`'s own quota (a failover target); its status on success.
    pub(crate) async fn check(
        &self,
        entry: &DeploymentEntry,
    ) -> Result<Option<RateLimitStatus>, AttemptFailure> {
        let Some(spec) = entry.limit.as_ref() else {
            return Ok(None);
        };
        match self
            .limiter
            .admit(Some(spec), &[], false, self.tokens)
            .await
        {
            Verdict::Admitted { status, .. } => Ok(status),
            Verdict::Open => Ok(None),
            Verdict::Refused(e) => Err(out_of_quota(spec, Some(e))),
        }
    }
}

/// A skipped attempt, as the failover policy sees it: a 429 from that deployment.
fn out_of_quota(spec: &LimitSpec, refusal: Option<GatewayError>) -> AttemptFailure {
    let f = AttemptFailure::status(
        429,
        format!("deployment {} is out of its rate limit", spec.name),
    )
    .with_code("429");
    match refusal {
        Some(e) => f.with_source(e),
        None => f,
    }
}

/// Admits a request to a pinned deployment; `status` gets its quota. Says whether the
/// request was checked.
///
/// # Errors
/// 429 when out of quota; 400 when the request can never fit its token bucket.
pub(crate) async fn admit_pinned(
    state: &AppState,
    entry: &DeploymentEntry,
    req: &CreateResponse,
    status: &mut Option<RateLimitStatus>,
) -> Result<RateLimitOutcome, GatewayError> {
    let (Some(limiter), Some(spec)) = (&state.limiter, &entry.limit) else {
        return Ok(RateLimitOutcome::NotLimited);
    };
    let tokens = request_tokens(req);
    if spec.never_fits(tokens) {
        return Err(spec.too_large(tokens, req.max_output_tokens));
    }
    match limiter.admit(Some(spec), &[], false, tokens).await {
        Verdict::Admitted { status: s, .. } => {
            *status = s;
            Ok(RateLimitOutcome::Admitted)
        }
        Verdict::Open => Ok(RateLimitOutcome::Unchecked),
        Verdict::Refused(e) => Err(e),
    }
}

/// Admits a routed request against the router's quota and its planned deployments';
/// `status` gets the router's quota (or, for a router without limits, the charged
/// deployment's). `None` when nothing is limited (no Redis call was made) or Redis could not
/// be asked. `outcome` says which.
///
/// # Errors
/// 429 when the router's pool, or every candidate, is out of quota; 400 when the request can
/// never fit.
pub(crate) async fn admit_routed<'a>(
    state: &'a AppState,
    router: &RouterEntry,
    plan: &RoutePlan,
    req: &CreateResponse,
    status: &mut Option<RateLimitStatus>,
    outcome: &mut RateLimitOutcome,
) -> Result<Option<Gate<'a>>, GatewayError> {
    let Some(limiter) = &state.limiter else {
        return Ok(None);
    };
    let limit_of = |name: &str| state.deployments.get(name).and_then(|e| e.limit.as_ref());
    // The limited deployments the plan starts with, up to the first unlimited one.
    let prefix = plan
        .attempts
        .iter()
        .take_while(|a| limit_of(&a.deployment).is_some())
        .count();
    let fallback = prefix < plan.attempts.len();
    if router.limit.is_none() && prefix == 0 {
        return Ok(None);
    }
    let tokens = request_tokens(req);
    if let Some(spec) = router.limit.as_ref().filter(|s| s.never_fits(tokens)) {
        return Err(spec.too_large(tokens, req.max_output_tokens));
    }
    let mut candidates: Vec<(usize, &LimitSpec)> = Vec::with_capacity(prefix);
    for (i, a) in plan.attempts[..prefix].iter().enumerate() {
        if let Some(spec) = limit_of(&a.deployment).filter(|s| !s.never_fits(tokens)) {
            candidates.push((i, spec));
        }
    }
    if candidates.is_empty()
        && !fallback
        && let Some(spec) = plan.attempts.first().and_then(|a| limit_of(&a.deployment))
    {
        return Err(spec.too_large(tokens, req.max_output_tokens));
    }
    match limiter
        .admit(router.limit.as_ref(), &candidates, fallback, tokens)
        .await
    {
        Verdict::Open => {
            *outcome = RateLimitOutcome::Unchecked;
            Ok(None)
        }
        Verdict::Refused(e) => Err(e),
        Verdict::Admitted { chosen, status: s } => {
            *status = s;
            *outcome = RateLimitOutcome::Admitted;
            let charged = chosen.and_then(|c| candidates.get(c)).map(|(i, _)| *i);
            Ok(Some(Gate {
                limiter,
                tokens,
                first_allowed: charged.unwrap_or(prefix),
                charged,
            }))
        }
    }
}
