//! Routing metrics, computed as `routing-metrics.md` defines them.
//!
//! Two models (RouteLLM, `routellm/evals/evaluate.py`): the router's scores are cut at the
//! 11 deciles (`pd.qcut(scores, 10)` bin edges); at each threshold `t` a prompt goes to the
//! strong model iff its score is `>= t`, giving 11 (strong-call share, quality) points.
//! `APGR = (AUC − weak·Δx) / (strong·Δx − weak·Δx)` with the trapezoid `AUC` over the share.
//! `CPT(x)` is the share at which the curve first reaches `weak + x·(strong − weak)`
//! (the evaluator's `np.interp`, which agrees whenever the curve rises). The cost reduction
//! at 95 % is `1 − (c + (1 − c)·p_w/p_s)` at the share `c` reaching 95 % of strong quality.

use serde::Serialize;

/// The RouteLLM metrics of one two-model router. Shares and reductions are fractions 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct TwoModelMetrics {
    /// Average performance gap recovered.
    pub apgr: f64,
    /// Strong-call share needed for 50 % of the gap.
    pub cpt50: f64,
    /// Strong-call share needed for 80 % of the gap.
    pub cpt80: f64,
    /// Cost cut versus always-strong at 95 % of strong quality.
    pub cost_reduction_at_95: f64,
}

impl TwoModelMetrics {
    /// Element-wise mean.
    pub fn mean(all: &[TwoModelMetrics]) -> TwoModelMetrics {
        let sum = |f: fn(&TwoModelMetrics) -> f64| nan_mean(all.iter().map(f));
        TwoModelMetrics {
            apgr: sum(|m| m.apgr),
            cpt50: sum(|m| m.cpt50),
            cpt80: sum(|m| m.cpt80),
            cost_reduction_at_95: sum(|m| m.cost_reduction_at_95),
        }
    }
}

/// One prompt of a two-model evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairItem {
    /// Router score: higher means "send to the strong model".
    pub score: f64,
    /// Realised quality of the strong model.
    pub strong: f64,
    /// Realised quality of the weak model.
    pub weak: f64,
}

/// The (strong share, mean quality) curve at the 11 decile thresholds, sorted by share.
pub fn threshold_curve(items: &[PairItem]) -> Vec<(f64, f64)> {
    let n = items.len();
    if n == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<f64> = items.iter().map(|i| i.score).collect();
    sorted.sort_by(f64::total_cmp);
    let mut pts: Vec<(f64, f64)> = (0..=10)
        .map(|q| {
            let t = quantile(&sorted, f64::from(q) / 10.0);
            let mut calls = 0usize;
            let mut total = 0.0;
            for it in items {
                if it.score >= t {
                    calls += 1;
                    total += it.strong;
                } else {
                    total += it.weak;
                }
            }
            (calls as f64 / n as f64, total / n as f64)
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// Linear-interpolated quantile of sorted data (numpy's default, used by `pd.qcut`).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The smallest share on the curve at which quality reaches `target` (NaN if never).
pub fn share_for_quality(curve: &[(f64, f64)], target: f64) -> f64 {
    let Some(&(x0, y0)) = curve.first() else {
        return f64::NAN;
    };
    if y0 >= target {
        return x0;
    }
    for w in curve.windows(2) {
        let ((xa, ya), (xb, yb)) = (w[0], w[1]);
        if ya < target && yb >= target {
            return xa + (xb - xa) * (target - ya) / (yb - ya);
        }
    }
    f64::NAN
}

/// The RouteLLM metrics of a two-model router on `items`; `cost_ratio` is `p_w / p_s`.
pub fn two_model(items: &[PairItem], cost_ratio: f64) -> TwoModelMetrics {
    let n = items.len().max(1) as f64;
    let strong = items.iter().map(|i| i.strong).sum::<f64>() / n;
    let weak = items.iter().map(|i| i.weak).sum::<f64>() / n;
    let curve = threshold_curve(items);
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else {
        return TwoModelMetrics::default();
    };
    let dx = last.0 - first.0;
    let auc: f64 = curve
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    let apgr = if dx > 0.0 && strong != weak {
        (auc - weak * dx) / ((strong - weak) * dx)
    } else {
        f64::NAN
    };
    let cpt = |x: f64| share_for_quality(&curve, weak + x * (strong - weak));
    let c95 = share_for_quality(&curve, 0.95 * strong);
    TwoModelMetrics {
        apgr,
        cpt50: cpt(0.5),
        cpt80: cpt(0.8),
        cost_reduction_at_95: 1.0 - (c95 + (1.0 - c95) * cost_ratio),
    }
}

/// Accuracy and cost of an N-model policy, absolute and relative to the best single model.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct MultiModelMetrics {
    /// Mean realised quality.
    pub accuracy: f64,
    /// Mean realised USD per query.
    pub cost_per_query: f64,
    /// `accuracy` / the best single model's accuracy.
    pub accuracy_vs_best_single: f64,
    /// `cost_per_query` / the best single model's cost per query.
    pub cost_vs_best_single: f64,
}

impl MultiModelMetrics {
    /// Metrics of realised (quality, cost) pairs against the best single model's figures.
    pub fn of(picks: &[(f64, f64)], best_accuracy: f64, best_cost: f64) -> Self {
        let n = picks.len().max(1) as f64;
        let accuracy = picks.iter().map(|p| p.0).sum::<f64>() / n;
        let cost_per_query = picks.iter().map(|p| p.1).sum::<f64>() / n;
        Self {
            accuracy,
            cost_per_query,
            accuracy_vs_best_single: accuracy / best_accuracy,
            cost_vs_best_single: cost_per_query / best_cost,
        }
    }

    /// Element-wise mean.
    pub fn mean(all: &[MultiModelMetrics]) -> MultiModelMetrics {
        let sum = |f: fn(&MultiModelMetrics) -> f64| nan_mean(all.iter().map(f));
        MultiModelMetrics {
            accuracy: sum(|m| m.accuracy),
            cost_per_query: sum(|m| m.cost_per_query),
            accuracy_vs_best_single: sum(|m| m.accuracy_vs_best_single),
            cost_vs_best_single: sum(|m| m.cost_vs_best_single),
        }
    }
}

/// The lowest cost at which the non-decreasing convex hull of `(cost, accuracy)` points
/// (RouterBench's AIQ hull) reaches `accuracy`; `None` when it never does.
pub fn hull_cost_at(points: &[(f64, f64)], accuracy: f64) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0.is_finite()).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    // Upper hull, keeping only points that raise accuracy.
    let mut hull: Vec<(f64, f64)> = Vec::new();
    for p in pts {
        if hull.last().is_some_and(|l| p.1 <= l.1) {
            continue;
        }
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            let cross = (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
            if cross >= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    let first = *hull.first()?;
    if first.1 >= accuracy {
        return Some(first.0);
    }
    hull.windows(2).find(|w| w[1].1 >= accuracy).map(|w| {
        let ((xa, ya), (xb, yb)) = (w[0], w[1]);
        xa + (xb - xa) * (accuracy - ya) / (yb - ya)
    })
}

/// The mean of the non-NaN values (NaN when there is none).
pub fn nan_mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}
