//! Routing metrics, computed as `routing-metrics.md` defines them.
//!
//! Two models (RouteLLM, `routellm/evals/benchmarks.py` and `evaluate.py`): the router's
//! scores are cut at the 11 deciles (`pd.qcut(scores, 10)` bin edges, computed with numpy's
//! own arithmetic, `decile_edges`); at each threshold `t`
//! a prompt goes to the strong model iff its score is `>= t`, except at the last (the
//! maximum), where it must be `> t`, so the curve starts at share 0. That gives 11
//! (strong-call share, quality) points, sorted by share. Tied scores always go to the same
//! side. `APGR = (AUC − weak·Δx) / (strong·Δx − weak·Δx)` with the trapezoid `AUC` over the
//! share. Everything is computed in the evaluator's percent units and returned as
//! fractions. `CPT(x)` is `np.interp(x·(strong − weak) + weak, qualities, shares)`, reproduced
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

/// The (strong share, mean quality) curve at the 11 decile thresholds, sorted by share, as
/// fractions.
pub fn threshold_curve(items: &[PairItem]) -> Vec<(f64, f64)> {
    curve_percent(items)
        .into_iter()
        .map(|(share, quality)| (share / 100.0, quality / 100.0))
        .collect()
}

/// The curve in the evaluator's own units, percent: `benchmarks.py` yields
/// `sum(results) / len(results) * 100` and `evaluate.py` takes `count / total * 100` as the
/// strong share. The units matter where a CPT target lands exactly on a flat stretch of the
/// curve: one rounding decides which end `np.interp` returns.
fn curve_percent(items: &[PairItem]) -> Vec<(f64, f64)> {
    let n = items.len();
    if n == 0 {
        return Vec::new();
    }
    let mut sorted: Vec<f64> = items.iter().map(|i| i.score).collect();
    sorted.sort_by(f64::total_cmp);
    let mut pts: Vec<(f64, f64)> = decile_edges(&sorted)
        .iter()
        .enumerate()
        .map(|(q, &t)| {
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
            (calls as f64 / n as f64 * 100.0, total / n as f64 * 100.0)
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts
}

/// The 11 bin edges of `pd.qcut(scores, 10)`, step by step as pandas and numpy compute
/// them: `np.linspace(0, 1, 11)` (so `7 × 0.1 = 0.7000000000000001`), times 100 for
/// `np.percentile`, which divides by 100 again. The round trip leaves some edges a hair
/// above the decile, and that decides which side an item lying exactly on it goes.
fn decile_edges(sorted: &[f64]) -> [f64; 11] {
    std::array::from_fn(|k| {
        let q = if k == 10 {
            1.0
        } else {
            k as f64 * 0.1 * 100.0 / 100.0
        };
        numpy_quantile(sorted, q)
    })
}

/// numpy's default (`linear`) quantile of sorted, non-empty data, with its own lerp: from
/// the upper neighbour when the fraction is at least one half.
fn numpy_quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let virtual_index = last as f64 * q;
    if virtual_index >= last as f64 {
        return sorted[last];
    }
    if virtual_index < 0.0 {
        return sorted[0];
    }
    let lo = virtual_index.floor();
    let gamma = virtual_index - lo;
    let (a, b) = (sorted[lo as usize], sorted[lo as usize + 1]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// `np.trapz(y, x)`: `add.reduce(diff(x) * (y[1:] + y[:-1]) / 2.0)`, summed in numpy's
/// pairwise order.
fn numpy_trapz(y: &[f64], x: &[f64]) -> f64 {
    let terms: Vec<f64> = x
        .windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0)
        .collect();
    numpy_sum(&terms)
}

/// `np.add.reduce` of a short contiguous array: a plain loop under 8 elements, else eight
/// running sums combined pairwise, then the remainder (numpy's `pairwise_sum` below its
/// 128-element block).
fn numpy_sum(a: &[f64]) -> f64 {
    if a.len() < 8 {
        return a.iter().fold(0.0, |s, v| s + v);
    }
    let mut r = [0.0; 8];
    r.copy_from_slice(&a[..8]);
    let whole = a.len() - a.len() % 8;
    for chunk in a[8..whole].chunks_exact(8) {
        for (acc, v) in r.iter_mut().zip(chunk) {
            *acc += v;
        }
    }
    let head = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    a[whole..].iter().fold(head, |s, v| s + v)
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
/// Computed in percent, as the evaluator does, and returned as fractions.
pub fn two_model(items: &[PairItem], cost_ratio: f64) -> TwoModelMetrics {
    let n = items.len().max(1) as f64;
    let strong = items.iter().map(|i| i.strong).sum::<f64>() / n * 100.0;
    let weak = items.iter().map(|i| i.weak).sum::<f64>() / n * 100.0;
    let curve = curve_percent(items);
    if curve.is_empty() {
        return TwoModelMetrics::default();
    }
    let shares: Vec<f64> = curve.iter().map(|p| p.0).collect();
    let quality: Vec<f64> = curve.iter().map(|p| p.1).collect();
    let x: Vec<f64> = shares.iter().map(|s| s / 100.0).collect();
    let auc = numpy_trapz(&quality, &x);
    let flat = |v: f64| numpy_trapz(&vec![v; x.len()], &x);
    let (weak_auc, strong_auc) = (flat(weak), flat(strong));
    let apgr = if strong_auc != weak_auc {
        (auc - weak_auc) / (strong_auc - weak_auc)
    } else {
        f64::NAN
    };
    let share_for = |target: f64| np_interp(target, &quality, &shares) / 100.0;
    let cpt = |x: f64| share_for(x * (strong - weak) + weak);
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
