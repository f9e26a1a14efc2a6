use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{failed_outcome, ok_outcome, order, plain_pool, req};
use crate::{AttemptFailure, LowestLatency, RouteContext, ScoreKind, Strategy};

fn ms(d: Option<Duration>) -> f64 {
    d.unwrap().as_secs_f64() * 1e3
}

#[test]
fn ewma_smooths_samples() {
    let ll = LowestLatency::new().with_alpha(0.5);
    let t = Instant::now();
    assert!(ll.ewma("d0").is_none());
    ll.observe(&ok_outcome("d0", t, 100));
    assert!(
        (ms(ll.ewma("d0")) - 100.0).abs() < 1e-6,
        "first sample seeds the average"
    );
    ll.observe(&ok_outcome("d0", t, 200));
    assert!((ms(ll.ewma("d0")) - 150.0).abs() < 1e-6);
    ll.observe(&ok_outcome("d0", t, 50));
    assert!((ms(ll.ewma("d0")) - 100.0).abs() < 1e-6);
}

#[test]
fn faults_are_penalised_and_request_faults_ignored() {
    let ll = LowestLatency::new()
        .with_alpha(1.0)
        .with_failure_penalty(Duration::from_secs(2));
    let t = Instant::now();
    ll.observe(&ok_outcome("d0", t, 100));
    ll.observe(&failed_outcome(
        "d0",
        t,
        &AttemptFailure::status(400, "bad"),
    ));
    assert!((ms(ll.ewma("d0")) - 100.0).abs() < 1e-6);
    ll.observe(&failed_outcome(
        "d0",
        t,
        &AttemptFailure::status(503, "busy"),
    ));
    assert!((ms(ll.ewma("d0")) - 2_000.0).abs() < 1e-6);
}

#[test]
fn p2c_picks_the_faster_of_two_within_top_k() {
    let pool = plain_pool(6);
    let ll = LowestLatency::new().with_top_k(3).with_seed(11);
    let t = Instant::now();
    for (i, latency) in [50, 10, 40, 500, 20, 900].into_iter().enumerate() {
        ll.observe(&ok_outcome(&format!("d{i}"), t, latency));
    }
    // Fastest three: d1 (10), d4 (20), d2 (40). P2C over them never picks d2 (it always loses).
    let r = req("x");
    let mut firsts: HashMap<String, usize> = HashMap::new();
    for _ in 0..3_000 {
        let plan = ll.route(&RouteContext::new(&r, &pool)).unwrap();
        let o = order(&plan);
        assert_eq!(o.len(), 6);
        *firsts.entry(o[0].clone()).or_default() += 1;
        // The failover tail keeps latency order.
        let tail: Vec<_> = o[1..]
            .iter()
            .filter(|d| *d != "d1" && *d != "d4")
            .cloned()
            .collect();
        assert_eq!(tail, ["d2", "d0", "d3", "d5"]);
        assert_eq!(plan.score_kind, ScoreKind::LatencyMs);
    }
    assert_eq!(firsts.len(), 2, "{firsts:?}");
    // d1 wins every pair it is in (2 of 3 pairs), d4 wins the pair {d4, d2}.
    let d1 = firsts["d1"] as f64 / 3_000.0;
    assert!((d1 - 2.0 / 3.0).abs() < 0.04, "{d1}");
}

#[test]
fn unobserved_deployments_are_probed_first() {
    let pool = plain_pool(3);
    let ll = LowestLatency::new().with_top_k(1);
    ll.observe(&ok_outcome("d0", Instant::now(), 10));
    ll.observe(&ok_outcome("d1", Instant::now(), 20));
    let plan = ll.route(&RouteContext::new(&req("x"), &pool)).unwrap();
    assert_eq!(order(&plan), ["d2", "d0", "d1"]);
}

#[test]
fn subset_restricts_and_empty_is_an_error() {
    let pool = plain_pool(4);
    let ll = LowestLatency::new().with_subset(["d3", "d1"]);
    let plan = ll.route(&RouteContext::new(&req("x"), &pool)).unwrap();
    let mut o = order(&plan);
    o.sort();
    assert_eq!(o, ["d1", "d3"]);
    let err = LowestLatency::new()
        .route(&RouteContext::new(&req("x"), &plain_pool(0)))
        .unwrap_err();
    assert!(err.is_no_candidates());
}

#[test]
fn concurrent_observe_and_route_do_not_block() {
    let pool = plain_pool(20);
    let ll = std::sync::Arc::new(LowestLatency::new());
    std::thread::scope(|s| {
        for t in 0..4 {
            let ll = &ll;
            let pool = &pool;
            s.spawn(move || {
                let r = req("x");
                for i in 0..500 {
                    let name = format!("d{}", (i + t) % 20);
                    ll.observe(&ok_outcome(&name, Instant::now(), 10 + (i % 7) as u64));
                    assert_eq!(
                        ll.route(&RouteContext::new(&r, pool))
                            .unwrap()
                            .attempts
                            .len(),
                        20
                    );
                }
            });
        }
    });
    assert!((0..20).all(|i| ll.ewma(&format!("d{i}")).is_some()));
}
