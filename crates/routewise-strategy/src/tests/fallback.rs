use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{failed_outcome, ok_outcome, order, plain_pool, req};
use crate::{
    AttemptFailure, Fallback, MockStrategy, PlannedAttempt, Pool, RouteContext, RoutePlan, Strategy,
};

fn route_at(fb: &Fallback, now: Instant) -> Vec<String> {
    let (r, pool) = (req("x"), plain_pool(3));
    order(&fb.route(&RouteContext::new(&r, &pool).at(now)).unwrap())
}

#[test]
fn tries_in_configured_order() {
    let fb = Fallback::new(["d2", "d0", "d1"]);
    let t0 = Instant::now();
    assert_eq!(route_at(&fb, t0), ["d2", "d0", "d1"]);
    let plan = fb
        .route(&RouteContext::new(&req("x"), &plain_pool(3)))
        .unwrap();
    assert_eq!(plan.candidates.len(), 3);
    assert!(plan.candidates.iter().all(|c| c.eligible));
    assert!(plan.candidates[0].score > plan.candidates[2].score);
}

#[test]
fn cools_down_after_threshold_and_recovers_after_cooldown() {
    let fb = Fallback::new(["a", "b", "c"])
        .with_failure_threshold(2)
        .with_cooldown(Duration::from_secs(30));
    let t0 = Instant::now();
    let busy = AttemptFailure::status(503, "busy");

    fb.observe(&failed_outcome("a", t0, &busy));
    assert_eq!(
        route_at(&fb, t0),
        ["a", "b", "c"],
        "one fault is below the threshold"
    );
    fb.observe(&failed_outcome("a", t0, &busy));
    assert!(fb.is_cooling("a", t0));
    assert_eq!(
        route_at(&fb, t0 + Duration::from_secs(29)),
        ["b", "c", "a"],
        "cooling goes last, not dropped"
    );

    let later = t0 + Duration::from_secs(31);
    assert!(!fb.is_cooling("a", later));
    assert_eq!(
        route_at(&fb, later),
        ["a", "b", "c"],
        "back in place after the cooldown"
    );

    // On probation: one more fault re-trips immediately.
    fb.observe(&failed_outcome("a", later, &busy));
    assert_eq!(route_at(&fb, later), ["b", "c", "a"]);

    // A success clears the record entirely.
    let after = later + Duration::from_secs(31);
    fb.observe(&ok_outcome("a", after, 20));
    fb.observe(&failed_outcome("a", after, &busy));
    assert_eq!(
        route_at(&fb, after),
        ["a", "b", "c"],
        "count restarted from zero"
    );
}

#[test]
fn success_resets_consecutive_faults() {
    let fb = Fallback::new(["a", "b"]).with_failure_threshold(2);
    let t0 = Instant::now();
    let timeout = AttemptFailure::timeout("slow");
    fb.observe(&failed_outcome("a", t0, &timeout));
    fb.observe(&ok_outcome("a", t0, 10));
    fb.observe(&failed_outcome("a", t0, &timeout));
    assert!(!fb.is_cooling("a", t0));
}

#[test]
fn request_faults_do_not_count() {
    let fb = Fallback::new(["a", "b"]).with_failure_threshold(1);
    let t0 = Instant::now();
    for f in [
        AttemptFailure::status(400, "bad"),
        AttemptFailure::status(401, "auth"),
        AttemptFailure::content_filter("blocked"),
    ] {
        fb.observe(&failed_outcome("a", t0, &f));
    }
    assert_eq!(route_at(&fb, t0), ["a", "b"]);
}

#[test]
fn all_cooling_keeps_everything_in_order() {
    let fb = Fallback::new(["a", "b", "c"]).with_failure_threshold(1);
    let t0 = Instant::now();
    let down = AttemptFailure::connect("refused");
    for d in ["a", "b", "c"] {
        fb.observe(&failed_outcome(d, t0, &down));
    }
    assert_eq!(route_at(&fb, t0), ["a", "b", "c"]);
    let plan = fb
        .route(&RouteContext::new(&req("x"), &plain_pool(3)).at(t0))
        .unwrap();
    assert!(plan.candidates.iter().all(|c| !c.eligible));
}

#[test]
fn empty_list_is_no_candidates() {
    let fb = Fallback::new(Vec::<String>::new());
    let err = fb
        .route(&RouteContext::new(&req("x"), &Pool::default()))
        .unwrap_err();
    assert!(err.is_no_candidates());
}

#[test]
fn over_inner_reorders_and_forwards_observations() {
    let mut inner = MockStrategy::new();
    inner.expect_name().return_const("inner".to_owned());
    inner.expect_route().returning(|_| {
        Ok(RoutePlan::new(
            ["x", "y", "z"].map(PlannedAttempt::named).to_vec(),
        ))
    });
    inner
        .expect_observe()
        .withf(|o| o.deployment == "x" && !o.is_success())
        .times(1)
        .return_const(());
    let fb = Fallback::over(Arc::new(inner)).with_failure_threshold(1);
    assert_eq!(fb.name(), "fallback(inner)");

    let t0 = Instant::now();
    fb.observe(&failed_outcome(
        "x",
        t0,
        &AttemptFailure::status(502, "bad gateway"),
    ));
    let r = req("x");
    let pool = Pool::default();
    let plan = fb.route(&RouteContext::new(&r, &pool).at(t0)).unwrap();
    assert_eq!(order(&plan), ["y", "z", "x"]);
}

#[test]
fn over_inner_propagates_route_errors() {
    let mut inner = MockStrategy::new();
    inner.expect_name().return_const("inner".to_owned());
    inner.expect_route().returning(|_| {
        Err(crate::RouteError::NoCandidates {
            strategy: "inner".into(),
        })
    });
    let fb = Fallback::over(Arc::new(inner));
    let err = fb
        .route(&RouteContext::new(&req("x"), &Pool::default()))
        .unwrap_err();
    assert!(matches!(err, crate::RouteError::Inner(_)));
    assert!(err.is_no_candidates());
}
