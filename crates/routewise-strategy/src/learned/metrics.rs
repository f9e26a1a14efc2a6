//! Routing metrics, computed as `routing-metrics.md` defines them.
//!
//! Two models (RouteLLM, `routellm/evals/benchmarks.py` and `evaluate.py`): the router's
//! scores are cut at the 11 deciles (`pd.qcut(scores, 10)` bin edges); at each threshold `t`
//! a prompt goes to the strong model iff its score is `>= t`, except at the last (the
//! maximum), where it must be `> t`, so the curve starts at share 0. That gives 11
//! (strong-call share, quality) points, sorted by share. Tied scores always go to the same
//! side. `APGR = (AUC − weak·Δx) / (strong·Δx − weak·Δx)` with the trapezoid `AUC` over the
//! share. `CPT(x)` is `np.interp(weak + x·(strong − weak), qualities, shares)`, reproduced
//! with numpy's own search ([`np_interp`]), so it agrees with the evaluator even where the
//! curve dips. The cost reduction at 95 % is `1 − (c + (1 − c)·p_w/p_s)` at the share `c`
//! found the same way for 95 % of strong quality.

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
                if it.score > t || (q < 10 && it.score == t) {
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

/// `numpy.interp(x, xp, fp)` for one `x`, with numpy's defaults (`left = fp[0]`,
/// `right = fp[last]`). It follows numpy's search step by step (a bisection that starts by
/// probing around index 1), so even an `xp` that is not increasing, which numpy does not
/// check, gives numpy's answer. NaN when `xp` is empty or the lengths differ.
pub fn np_interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if n == 0 || n != fp.len() || x.is_nan() {
        return f64::NAN;
    }
    if n == 1 {
        return fp[0];
    }
    let Some(j) = numpy_search(x, xp) else {
        return fp[0];
    };
    if j >= n {
        return fp[n - 1];
    }
    if j == n - 1 || xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut y = slope * (x - xp[j]) + fp[j];
    if y.is_nan() {
        y = slope * (x - xp[j + 1]) + fp[j + 1];
        if y.is_nan() && fp[j] == fp[j + 1] {
            y = fp[j];
        }
    }
    y
}

/// numpy's `binary_search_with_guess` with the first call's guess (0): the index `j` with
/// `arr[j] <= key < arr[j + 1]` on sorted data, `None` below `arr[0]`, `arr.len()` above the
/// last element.
fn numpy_search(key: f64, arr: &[f64]) -> Option<usize> {
    // numpy's window for "likely in cache" probes; it shapes the answer on unsorted data.
    const CACHE: usize = 8;
    let n = arr.len();
    if key > arr[n - 1] {
        return Some(n);
    }
    if key < arr[0] {
        return None;
    }
    if n <= 4 {
        let mut i = 1;
        while i < n && key >= arr[i] {
            i += 1;
        }
        return Some(i - 1);
    }
    let guess = 1usize;
    let (mut lo, mut hi) = (0usize, n);
    if key < arr[guess] {
        if key >= arr[guess - 1] {
            return Some(guess - 1);
        }
        hi = guess - 1;
    } else if key < arr[guess + 1] {
        return Some(guess);
    } else if key < arr[guess + 2] {
        return Some(guess + 1);
    } else {
        lo = guess + 2;
        if guess + CACHE + 1 < n && key < arr[guess + CACHE] {
            hi = guess + CACHE;
        }
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if key >= arr[mid] {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    // `lo` is 0 only when the probe above ruled out arr[0] as well: numpy returns -1 then.
    lo.checked_sub(1)
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
    let shares: Vec<f64> = curve.iter().map(|p| p.0).collect();
    let quality: Vec<f64> = curve.iter().map(|p| p.1).collect();
    let share_for = |target: f64| np_interp(target, &quality, &shares);
    let cpt = |x: f64| share_for(weak + x * (strong - weak));
    let c95 = share_for(0.95 * strong);
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
