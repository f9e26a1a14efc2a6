use std::collections::HashMap;

use super::{order, plain_pool, req};
use crate::{ConfigError, RouteContext, ScoreKind, Strategy, Weighted};

#[test]
fn seeded_distribution_follows_weights() {
    let w = Weighted::new([("a", 6.0), ("b", 3.0), ("c", 1.0)])
        .unwrap()
        .with_seed(2024);
    let (r, pool) = (req("x"), plain_pool(0));
    let mut counts: HashMap<String, usize> = HashMap::new();
    let n = 20_000;
    for _ in 0..n {
        let plan = w.route(&RouteContext::new(&r, &pool)).unwrap();
        *counts
            .entry(plan.attempts[0].deployment.clone())
            .or_default() += 1;
    }
    for (name, expected) in [("a", 0.6), ("b", 0.3), ("c", 0.1)] {
        let share = counts[name] as f64 / n as f64;
        assert!(
            (share - expected).abs() < 0.015,
            "{name}: {share} vs {expected}"
        );
    }
}

#[test]
fn same_seed_same_sequence() {
    let mk = || {
        Weighted::new([("a", 1.0), ("b", 1.0), ("c", 1.0)])
            .unwrap()
            .with_seed(9)
    };
    let (r, pool) = (req("x"), plain_pool(0));
    let (w1, w2) = (mk(), mk());
    let seq = |w: &Weighted| -> Vec<String> {
        (0..50)
            .map(|_| {
                w.route(&RouteContext::new(&r, &pool)).unwrap().attempts[0]
                    .deployment
                    .clone()
            })
            .collect()
    };
    assert_eq!(seq(&w1), seq(&w2));
}

#[test]
fn rest_of_plan_is_by_weight_and_zero_weight_is_failover_only() {
    let w = Weighted::new([("zero", 0.0), ("heavy", 5.0), ("light", 1.0)])
        .unwrap()
        .with_seed(1);
    let (r, pool) = (req("x"), plain_pool(0));
    for _ in 0..2_000 {
        let plan = w.route(&RouteContext::new(&r, &pool)).unwrap();
        let o = order(&plan);
        assert_ne!(o[0], "zero");
        assert_eq!(o.len(), 3);
        assert_eq!(o[2], "zero");
        assert_eq!(plan.score_kind, ScoreKind::Weight);
    }
}

#[test]
fn bad_configs_are_typed_errors() {
    assert!(
        Weighted::new(Vec::<(String, f64)>::new())
            .unwrap_err()
            .is_empty()
    );
    assert!(
        Weighted::new([("a", -1.0)])
            .unwrap_err()
            .is_invalid_weight()
    );
    assert!(
        Weighted::new([("a", f64::NAN)])
            .unwrap_err()
            .is_invalid_weight()
    );
    assert!(
        Weighted::new([("a", f64::INFINITY)])
            .unwrap_err()
            .is_invalid_weight()
    );
    assert_eq!(
        Weighted::new([("a", 0.0), ("b", 0.0)]).unwrap_err(),
        ConfigError::InvalidWeight {
            deployment: "a".into(),
            weight: 0.0
        }
    );
}
