//! Routing metrics against hand-computed cases.

use routewise_strategy::learned::SplitMix;
use routewise_strategy::learned::metrics::{
    MultiModelMetrics, PairItem, hull_cost_at, share_for_quality, threshold_curve, two_model,
};

fn item(score: f64, strong: f64, weak: f64) -> PairItem {
    PairItem {
        score,
        strong,
        weak,
    }
}

/// Ten items; the strong model is right on all, the weak on none. A router that ranks them
/// perfectly (all gain) recovers the gap linearly in the strong share: APGR = 0.5 at the
/// decile points because every item gains the same.
#[test]
fn uniform_gain_gives_linear_curve_and_apgr_one_half() {
    let items: Vec<PairItem> = (0..10).map(|i| item(f64::from(i), 1.0, 0.0)).collect();
    let curve = threshold_curve(&items);
    assert_eq!(curve.len(), 11);
    // Thresholds at the deciles of 0..9: shares 0.1, 0.1 (q=1.0 hits the max), ... up to 1.0.
    assert!((curve.last().unwrap().0 - 1.0).abs() < 1e-12);
    assert!((curve.first().unwrap().0 - 0.1).abs() < 1e-12);
    let m = two_model(&items, 0.01);
    // Accuracy equals the share, so the area over [0.1, 1] is (1 − 0.01)/2 = 0.495;
    // APGR = (0.495 − 0) / (1·0.9 − 0) = 0.55.
    assert!((m.apgr - 0.55).abs() < 1e-9, "{m:?}");
    assert!((m.cpt50 - 0.5).abs() < 1e-9);
    assert!((m.cpt80 - 0.8).abs() < 1e-9);
    // 95 % of strong quality needs 95 % of calls: cost 0.95 + 0.05·0.01 → cut 0.0495.
    assert!((m.cost_reduction_at_95 - 0.0495).abs() < 1e-9);
}

/// Gain concentrated on the top-scored 20 %: the curve saturates early.
#[test]
fn a_good_router_recovers_the_gap_with_few_strong_calls() {
    // 10 items, two (scores 8, 9) gain 1; the rest are right with both models.
    let items: Vec<PairItem> = (0..10)
        .map(|i| {
            if i >= 8 {
                item(f64::from(i), 1.0, 0.0)
            } else {
                item(f64::from(i), 1.0, 1.0)
            }
        })
        .collect();
    let m = two_model(&items, 0.0);
    // strong = 1.0, weak = 0.8; curve: share 0.1 → 0.9, share 0.2 → 1.0, then flat.
    // 50 % of the gap (0.9) is reached at share 0.1.
    assert!((m.cpt50 - 0.1).abs() < 1e-9, "{m:?}");
    // 80 % (0.96) at 0.1 + 0.1·(0.06/0.1) = 0.16.
    assert!((m.cpt80 - 0.16).abs() < 1e-9, "{m:?}");
    // Area: [0.1,0.2] (0.9+1)/2·0.1 = 0.095, [0.2,1] 0.8 → 0.895 over Δx 0.9:
    // APGR = (0.895 − 0.72) / (0.9 − 0.72) = 0.9722…
    assert!((m.apgr - 0.175 / 0.18).abs() < 1e-9, "{m:?}");
}

#[test]
fn random_router_apgr_is_about_one_half_over_many_seeds() {
    let mut rng = SplitMix(7);
    let labels: Vec<(f64, f64)> = (0..2000)
        .map(|_| {
            (
                f64::from(u8::from(rng.next_f64() < 0.8)),
                f64::from(u8::from(rng.next_f64() < 0.6)),
            )
        })
        .collect();
    let runs = 200;
    let mut total = 0.0;
    for _ in 0..runs {
        let items: Vec<PairItem> = labels
            .iter()
            .map(|&(s, w)| item(rng.next_f64(), s, w))
            .collect();
        total += two_model(&items, 0.01).apgr;
    }
    let mean = total / f64::from(runs);
    assert!((mean - 0.5).abs() < 0.02, "random APGR {mean}");
}

#[test]
fn unreachable_targets_are_nan() {
    let curve = [(0.0, 0.5), (1.0, 0.7)];
    assert!(share_for_quality(&curve, 0.9).is_nan());
    assert!((share_for_quality(&curve, 0.6) - 0.5).abs() < 1e-12);
    assert!(share_for_quality(&[], 0.1).is_nan());
}

#[test]
fn multi_model_metrics_are_relative_to_best_single() {
    let m = MultiModelMetrics::of(&[(1.0, 2.0), (0.0, 0.0)], 0.8, 4.0);
    assert!((m.accuracy - 0.5).abs() < 1e-12);
    assert!((m.cost_per_query - 1.0).abs() < 1e-12);
    assert!((m.accuracy_vs_best_single - 0.625).abs() < 1e-12);
    assert!((m.cost_vs_best_single - 0.25).abs() < 1e-12);
}

#[test]
fn hull_cost_interpolates_between_efficient_points() {
    // (3, 0.6) lies below the hull of (1, 0.5) and (5, 0.9): it is ignored.
    let pts = [(1.0, 0.5), (3.0, 0.6), (5.0, 0.9)];
    assert!((hull_cost_at(&pts, 0.7).unwrap() - 3.0).abs() < 1e-12);
    assert_eq!(hull_cost_at(&pts, 0.4), Some(1.0));
    assert_eq!(hull_cost_at(&pts, 0.95), None);
}
