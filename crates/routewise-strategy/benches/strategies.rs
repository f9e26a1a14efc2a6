//! Route-decision cost of each built-in strategy on a pool of 20 deployments.
//!
//! `cargo bench -p routewise-strategy --bench strategies`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use routewise_strategy::{
    AttemptOutcome, CapabilityProfile, Deployment, Fallback, HeuristicEstimator, LocalRouter,
    LowestLatency, ModelRouter, Pinned, Pool, Price, RouteContext, RoutingMode, Strategy, Weighted,
    default_deployments,
};
use routewise_types::CreateResponse;

/// 20 deployments: the six default models plus 14 synthetic ones with varied prices and skills.
fn pool20() -> Pool {
    let mut deployments = default_deployments();
    for i in 0..(20 - deployments.len()) {
        let skill = 0.5 + 0.03 * i as f64;
        deployments.push(
            Deployment::new(format!("synthetic-{i:02}"))
                .with_price(Price::new(0.1 + 0.2 * i as f64, 0.4 + 0.8 * i as f64))
                .with_profile(CapabilityProfile::uniform(skill).with_reasoning_model(i % 3 == 0)),
        );
    }
    Pool::new(deployments)
}

fn bench(c: &mut Criterion) {
    let pool = pool20();
    let names: Vec<String> = pool.deployments().iter().map(|d| d.name.clone()).collect();
    let request = CreateResponse::new(
        "unset",
        "Write a Rust function that parses an ISO-8601 date, then explain step by step how you \
         validated leap years. Include tests.",
    )
    .with_temperature(0.2);

    let latency = LowestLatency::new().with_seed(7);
    let fallback = Fallback::new(names.clone());
    let t0 = Instant::now();
    for (i, n) in names.iter().enumerate() {
        latency.observe(&AttemptOutcome::success(
            n,
            t0,
            Duration::from_millis(20 + 7 * i as u64),
        ));
    }
    let busy = routewise_strategy::AttemptFailure::status(503, "busy");
    for _ in 0..3 {
        fallback.observe(&AttemptOutcome::failure(
            &names[0],
            t0,
            Duration::from_millis(5),
            &busy,
        ));
    }

    let strategies: Vec<(&str, Arc<dyn Strategy>)> = vec![
        ("pinned", Arc::new(Pinned::new("gpt-4.1-mini"))),
        (
            "model-router",
            Arc::new(
                ModelRouter::new()
                    .with_mode(RoutingMode::Balanced)
                    .with_models(names[..6].to_vec()),
            ),
        ),
        ("fallback(20, one cooling)", Arc::new(fallback)),
        ("lowest-latency", Arc::new(latency)),
        (
            "weighted",
            Arc::new(
                Weighted::new(names.iter().map(|n| (n.clone(), 1.0)))
                    .unwrap()
                    .with_seed(3),
            ),
        ),
        (
            "local-router(balanced, heuristic)",
            Arc::new(LocalRouter::new(HeuristicEstimator::new())),
        ),
        (
            "fallback(local-router)",
            Arc::new(Fallback::over(Arc::new(
                LocalRouter::new(HeuristicEstimator::new()).with_mode(RoutingMode::Cost),
            ))),
        ),
    ];

    let mut group = c.benchmark_group("route/20-deployments");
    for (name, strategy) in &strategies {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let ctx = RouteContext::new(black_box(&request), black_box(&pool)).at(t0);
                black_box(strategy.route(&ctx).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
