//! Unit tests for the strategies, the policy and the executor (mockall for strategies and estimators).

mod adjust;
mod executor;
mod fallback;
mod latency;
mod local_router;
mod policy;
mod request_view;
mod trained_local;
mod weighted;

use std::time::{Duration, Instant};

use routewise_types::CreateResponse;

use crate::{
    AttemptFailure, AttemptOutcome, CapabilityProfile, Deployment, Pool, Price, RoutePlan,
};

/// A pool of plain deployments named `d0..dn`.
fn plain_pool(n: usize) -> Pool {
    Pool::new((0..n).map(|i| Deployment::new(format!("d{i}"))))
}

/// A deployment with a price and uniform skill.
fn priced(name: &str, input: f64, output: f64, skill: f64) -> Deployment {
    Deployment::new(name)
        .with_price(Price::new(input, output))
        .with_profile(CapabilityProfile::uniform(skill))
}

fn req(text: &str) -> CreateResponse {
    CreateResponse::new("unset", text)
}

fn order(plan: &RoutePlan) -> Vec<String> {
    plan.deployments().map(str::to_owned).collect()
}

fn ok_outcome(deployment: &str, at: Instant, ms: u64) -> AttemptOutcome<'_> {
    AttemptOutcome::success(deployment, at, Duration::from_millis(ms))
}

fn failed_outcome<'a>(
    deployment: &'a str,
    at: Instant,
    failure: &'a AttemptFailure,
) -> AttemptOutcome<'a> {
    AttemptOutcome::failure(deployment, at, Duration::from_millis(10), failure)
}
