//! Routing metrics against hand-computed cases.

use routewise_strategy::learned::SplitMix;
use routewise_strategy::learned::metrics::{
    MultiModelMetrics, PairItem, hull_cost_at, np_interp, threshold_curve, two_model,
};

fn item(score: f64, strong: f64, weak: f64) -> PairItem {
    PairItem {
        score,
        strong,
        weak,
    }
}

/// Ten items; the strong model is right on all, the weak on none. Every item gains the same,
/// so any ranking recovers the gap linearly in the strong share: APGR = 0.5.
#[test]
fn uniform_gain_gives_linear_curve_and_apgr_one_half() {
    let items: Vec<PairItem> = (0..10).map(|i| item(f64::from(i), 1.0, 0.0)).collect();
    let curve = threshold_curve(&items);
    assert_eq!(curve.len(), 11);
    // Thresholds at the deciles of 0..9. The last (9, the maximum) is strict, as in
    // RouteLLM's `benchmarks.py`, so the curve starts at share 0: 0, 0.1, ..., 1.
    for (k, &(share, quality)) in curve.iter().enumerate() {
        assert!((share - k as f64 / 10.0).abs() < 1e-12, "{curve:?}");
        assert!((quality - share).abs() < 1e-12, "{curve:?}");
    }
    let m = two_model(&items, 0.01);
    // Area under accuracy = share over [0, 1] is 0.5; APGR = (0.5 − 0) / (1 − 0) = 0.5.
    assert!((m.apgr - 0.5).abs() < 1e-9, "{m:?}");
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
    // strong = 1.0, weak = 0.8; curve: share 0 → 0.8, 0.1 → 0.9, 0.2 → 1.0, then flat.
    // 50 % of the gap (0.9) is reached at share 0.1.
    assert!((m.cpt50 - 0.1).abs() < 1e-9, "{m:?}");
    // 80 % (0.96) at 0.1 + 0.1·(0.06/0.1) = 0.16.
    assert!((m.cpt80 - 0.16).abs() < 1e-9, "{m:?}");
    // Area: [0,0.1] 0.085, [0.1,0.2] 0.095, [0.2,1] 0.8 → 0.98 over Δx 1:
    // APGR = (0.98 − 0.8) / (1 − 0.8) = 0.9.
    assert!((m.apgr - 0.9).abs() < 1e-9, "{m:?}");
}

/// Tied scores go to the same side at every threshold (no tie-breaking): a router that
/// scores every prompt alike is all-weak or all-strong, and its APGR is exactly 0.5.
#[test]
fn tied_scores_are_routed_together() {
    let items: Vec<PairItem> = (0..10)
        .map(|i| item(0.3, f64::from(u8::from(i < 6)), f64::from(u8::from(i < 2))))
        .collect();
    let curve = threshold_curve(&items);
    assert!(
        curve.iter().all(|&(share, _)| share == 0.0 || share == 1.0),
        "{curve:?}"
    );
    assert!((curve[0].1 - 0.2).abs() < 1e-12 && (curve[10].1 - 0.6).abs() < 1e-12);
    assert!((two_model(&items, 0.0).apgr - 0.5).abs() < 1e-12);
}

fn random_labels(rng: &mut SplitMix, n: usize) -> Vec<(f64, f64)> {
    (0..n)
        .map(|_| {
            (
                f64::from(u8::from(rng.next_f64() < 0.8)),
                f64::from(u8::from(rng.next_f64() < 0.6)),
            )
        })
        .collect()
}

fn mean_random_apgr(rng: &mut SplitMix, labels: &[(f64, f64)], runs: u32) -> f64 {
    let mut total = 0.0;
    for _ in 0..runs {
        let items: Vec<PairItem> = labels
            .iter()
            .map(|&(s, w)| item(rng.next_f64(), s, w))
            .collect();
        total += two_model(&items, 0.01).apgr;
    }
    total / f64::from(runs)
}

#[test]
fn random_router_apgr_is_about_one_half_over_many_seeds() {
    let mut rng = SplitMix(7);
    let labels = random_labels(&mut rng, 2000);
    let mean = mean_random_apgr(&mut rng, &labels, 200);
    assert!((mean - 0.5).abs() < 0.02, "random APGR {mean}");
}

/// On a small set (MT-Bench has 43 prompts) a curve that started at share 1/n instead of 0
/// would lift a random router by about 1/(2n) ≈ 0.012; the expectation is exactly 0.5.
#[test]
fn random_router_apgr_is_unbiased_on_a_small_set() {
    let mut rng = SplitMix(11);
    let labels = random_labels(&mut rng, 43);
    let mean = mean_random_apgr(&mut rng, &labels, 4000);
    assert!((mean - 0.5).abs() < 0.007, "random APGR {mean} on 43 items");
}

/// Reference values printed by numpy 2 (`np.interp(x, xp, fp)`), including an `xp` that is
/// not increasing: RouteLLM's curves can dip, and numpy does not check.
#[test]
fn np_interp_matches_numpy() {
    let xp = [0.5, 0.7, 0.6, 0.8, 0.9, 0.85, 1.0];
    let fp = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    for (x, want) in [
        (0.65, 0.075_000_000_000_000_02),
        (0.87, 0.513_333_333_333_333_3),
        (0.62, 0.060_000_000_000_000_01),
    ] {
        let got = np_interp(x, &xp, &fp);
        assert!(
            (got - want).abs() < 1e-15,
            "np.interp({x}) = {want}, got {got}"
        );
    }
    // A curve that reaches 0.9 at share 0.4, dips, and reaches it again at 0.6: numpy's
    // bisection lands on the second crossing.
    let quality = [0.8, 0.82, 0.85, 0.88, 0.9, 0.87, 0.9, 0.93, 0.95, 0.97, 1.0];
    let shares: Vec<f64> = (0..=10).map(|k| f64::from(k) / 10.0).collect();
    assert!((np_interp(0.9, &quality, &shares) - 0.6).abs() < 1e-12);
    // Outside the range numpy clamps to the end values; no data is NaN.
    assert_eq!(np_interp(0.1, &[0.5, 0.7], &[0.0, 1.0]), 0.0);
    assert_eq!(np_interp(0.9, &[0.5, 0.7], &[0.0, 1.0]), 1.0);
    assert!((np_interp(0.6, &[0.5, 0.7], &[0.0, 1.0]) - 0.5).abs() < 1e-12);
    assert!(np_interp(0.1, &[], &[]).is_nan());
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

fn pairs(scores: &[f64], strong: &[f64], weak: &[f64]) -> Vec<PairItem> {
    scores
        .iter()
        .zip(strong)
        .zip(weak)
        .map(|((&s, &st), &wk)| item(s, st, wk))
        .collect()
}

/// pandas' decile edges are not exactly the deciles: `np.linspace(0, 1, 11)` holds
/// `0.7000000000000001`, so with 11 distinct scores the 8th edge lies a hair above the 8th
/// score, and that item goes to the weak model. Expected values from numpy 2.4
/// (`np.percentile(x, np.linspace(0, 1, 11) * 100)` as `pd.qcut` calls it, then the
/// evaluator's steps in percent).
#[test]
fn decile_edges_follow_pandas_arithmetic() {
    let scores: Vec<f64> = (1..=11).map(f64::from).collect();
    let strong = [1., 0., 1., 0., 0., 0., 1., 0., 0., 0., 0.];
    let weak = [1., 0., 0., 0., 0., 0., 0., 0., 0., 0., 0.];
    let m = two_model(&pairs(&scores, &strong, &weak), 0.01);
    assert!((m.apgr - 0.386_363_636_363_636_5).abs() < 1e-12, "{m:?}");
    assert!((m.cpt50 - 0.545_454_545_454_545_3).abs() < 1e-12, "{m:?}");
    assert!((m.cpt80 - 0.781_818_181_818_181_9).abs() < 1e-12, "{m:?}");
    assert!((m.cost_reduction_at_95 - 0.193_5).abs() < 1e-12, "{m:?}");
}

/// The CPT target `0.5 · (s − w) + w` computed in percent is 49.99999999999999, which
/// lands just below a flat stretch of the curve at exactly 50 %: `np.interp` then answers
/// with its left end. In fractions it would be 0.5 exactly and take the right end.
#[test]
fn cpt_is_read_in_percent_as_the_evaluator_does() {
    let scores = [385., 62., 242., 393., 79., 69.];
    let strong = [1., 1., 0., 1., 1., 0.];
    let weak = [1., 0., 0., 1., 0., 0.];
    let m = two_model(&pairs(&scores, &strong, &weak), 0.01);
    assert!((m.apgr - 0.25).abs() < 1e-12, "{m:?}");
    assert!((m.cpt50 - 0.666_666_666_666_666_5).abs() < 1e-12, "{m:?}");
    assert!((m.cpt80 - 0.933_333_333_333_333_5).abs() < 1e-12, "{m:?}");
    assert!((m.cost_reduction_at_95 - 0.033).abs() < 1e-12, "{m:?}");
}
