//! Foundry-style modes: pick the cheapest candidate within a band of the best predicted quality.

use serde::{Deserialize, Serialize};

/// The routing mode: how much predicted quality may be traded for cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The cheapest candidate within a narrow band of the best (the default).
    #[default]
    Balanced,
    /// The candidate with the best predicted quality, whatever it costs.
    Quality,
    /// The cheapest candidate within a wide band of the best.
    Cost,
}

impl Mode {
    /// All modes, in report order.
    pub const ALL: [Mode; 3] = [Mode::Balanced, Mode::Quality, Mode::Cost];

    /// The lower-case name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Balanced => "balanced",
            Mode::Quality => "quality",
            Mode::Cost => "cost",
        }
    }
}

/// Band widths, in predicted-quality points (absolute, 0..1) below the best candidate.
///
/// They are calibrated by training (see [`BandTargets`]); [`Bands::default`] is Foundry's
/// documented wording read as absolute points: 2 for Balanced, 6 for Cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    /// Band of Balanced mode.
    pub balanced: f64,
    /// Band of Cost mode.
    pub cost: f64,
    /// Quality mode keeps the candidate set's incumbent (its best single model in
    /// calibration) unless another candidate is predicted better by more than this margin
    /// (0 = plain argmax). Calibrated on held-out training predictions; see [`select_with`].
    #[serde(default)]
    pub quality_margin: f64,
    /// The band rule. `false`: the cheapest candidate within the band of the best
    /// prediction. `true`: the candidate with the best prediction minus
    /// `band × cost / (dearest candidate's cost)`, so a free model within the band beats
    /// the best-predicted dear one, but among cheap models the better-predicted one wins
    /// (the cheapest one may be much weaker). No candidate more than the band below the best
    /// can win under either rule. Calibration picks the rule (see [`calibrate`]).
    #[serde(default)]
    pub penalised: bool,
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            balanced: 0.02,
            cost: 0.06,
            quality_margin: 0.0,
            penalised: false,
        }
    }
}

impl Bands {
    /// The band width `mode` uses (0 for Quality).
    pub fn width(&self, mode: Mode) -> f64 {
        match mode {
            Mode::Balanced => self.balanced,
            Mode::Quality => 0.0,
            Mode::Cost => self.cost,
        }
    }
}

/// What calibration aims for: the share of Quality mode's realised quality each mode may
/// give up on held-out training predictions (RouteLLM calibrates its threshold to a target
/// strong-call share the same way: on a reference set, not per request).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BandTargets {
    /// Balanced may lose this fraction of Quality mode's mean quality (default 0.005).
    pub balanced_loss: f64,
    /// Cost may lose this fraction (default 0.02).
    pub cost_loss: f64,
}

impl Default for BandTargets {
    fn default() -> Self {
        Self {
            balanced_loss: 0.005,
            cost_loss: 0.02,
        }
    }
}

/// Bands calibrated for one candidate set (a pool of models seen together in training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolBands {
    /// The model ids of the set.
    pub models: Vec<String>,
    /// Its bands.
    pub bands: Bands,
    /// Calibration prompts behind them.
    pub items: usize,
    /// The set's best single model on the calibration prompts (Quality mode's incumbent).
    #[serde(default)]
    pub incumbent: Option<String>,
    /// How the kNN component is used for this set, chosen by the inner cross-validation
    /// (`None`: the index's global choice).
    #[serde(default)]
    pub knn: Option<super::knn::KnnChoice>,
}

/// The outcome of a selection: which candidate, and the band that admitted it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selection {
    /// Index of the chosen candidate.
    pub index: usize,
    /// The best predicted quality among the candidates.
    pub best: f64,
    /// The band width used (predicted-quality points).
    pub band: f64,
}

/// Picks the cheapest candidate whose score is within `bands.width(mode)` of the best;
/// ties on cost go to the higher score. `None` when there is no candidate or the slices
/// differ in length. NaN scores never win.
///
/// ```
/// use routewise_strategy::learned::{select, Bands, Mode};
/// let scores = [0.90, 0.89, 0.70];
/// let costs = [10.0, 1.0, 0.1];
/// assert_eq!(select(&scores, &costs, Mode::Quality, &Bands::default()).unwrap().index, 0);
/// assert_eq!(select(&scores, &costs, Mode::Balanced, &Bands::default()).unwrap().index, 1);
/// ```
pub fn select(scores: &[f64], costs: &[f64], mode: Mode, bands: &Bands) -> Option<Selection> {
    let band = bands.width(mode);
    if bands.penalised && band > 0.0 {
        select_penalised(scores, costs, band)
    } else {
        select_within(scores, costs, band)
    }
}

/// The candidate maximising `score − band × cost / max cost` (see [`Bands::penalised`]).
pub fn select_penalised(scores: &[f64], costs: &[f64], band: f64) -> Option<Selection> {
    if scores.len() != costs.len() {
        return None;
    }
    let best = scores
        .iter()
        .copied()
        .filter(|s| !s.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    let dear = costs
        .iter()
        .copied()
        .filter(|c| c.is_finite())
        .fold(0.0f64, f64::max);
    if !best.is_finite() {
        return None;
    }
    let band = band.max(0.0);
    let scale = if dear > 0.0 { band / dear } else { 0.0 };
    let mut pick: Option<(usize, f64)> = None;
    for (i, (&s, &c)) in scores.iter().zip(costs).enumerate() {
        if s.is_nan() {
            continue;
        }
        let u = s - scale * c.clamp(0.0, dear);
        if pick.is_none_or(|(_, v)| u > v) {
            pick = Some((i, u));
        }
    }
    pick.map(|(index, _)| Selection { index, best, band })
}

/// [`select`] that, in Quality mode, keeps `incumbent` (an index into `scores`) unless
/// another candidate's prediction beats it by more than `bands.quality_margin`. Per-prompt
/// predictions are noisy; a model that is best on average should only be overruled by a
/// clear margin. The other modes ignore the incumbent.
///
/// ```
/// use routewise_strategy::learned::{select_with, Bands, Mode};
/// let b = Bands { quality_margin: 0.05, ..Bands::default() };
/// let (scores, costs) = ([0.80, 0.83], [10.0, 1.0]);
/// assert_eq!(select_with(&scores, &costs, Mode::Quality, &b, Some(0)).unwrap().index, 0);
/// assert_eq!(select_with(&scores, &costs, Mode::Quality, &b, None).unwrap().index, 1);
/// ```
pub fn select_with(
    scores: &[f64],
    costs: &[f64],
    mode: Mode,
    bands: &Bands,
    incumbent: Option<usize>,
) -> Option<Selection> {
    let sel = select(scores, costs, mode, bands)?;
    match incumbent {
        Some(j) if mode == Mode::Quality && j < scores.len() && !scores[j].is_nan() => {
            if sel.best > scores[j] + bands.quality_margin.max(0.0) {
                Some(sel)
            } else {
                Some(Selection { index: j, ..sel })
            }
        }
        _ => Some(sel),
    }
}

/// The index of the candidate with the best mean realised quality over `items` (each prompt
/// with the same candidates in the same order), or `None` when they differ.
pub fn best_single(items: &[Vec<(f64, f64, f64)>]) -> Option<usize> {
    let width = items.first().map_or(0, Vec::len);
    if width == 0 || items.iter().any(|c| c.len() != width) {
        return None;
    }
    (0..width).max_by(|&a, &b| {
        let mean = |m: usize| items.iter().map(|c| c[m].1).sum::<f64>();
        mean(a).total_cmp(&mean(b)).then(b.cmp(&a))
    })
}

/// Quality margins tried by calibration (predicted-quality points).
const MARGIN_GRID: [f64; 9] = [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 1.0];

/// [`select`] with an explicit band width.
pub fn select_within(scores: &[f64], costs: &[f64], band: f64) -> Option<Selection> {
    if scores.len() != costs.len() {
        return None;
    }
    let best = scores
        .iter()
        .copied()
        .filter(|s| !s.is_nan())
        .fold(f64::NEG_INFINITY, f64::max);
    if !best.is_finite() {
        return None;
    }
    let floor = best - band.max(0.0);
    let mut pick: Option<usize> = None;
    for (i, (&s, &c)) in scores.iter().zip(costs).enumerate() {
        if s.is_nan() || s < floor - 1e-12 {
            continue;
        }
        pick = match pick {
            Some(j) if costs[j] < c || (costs[j] == c && scores[j] >= s) => Some(j),
            _ => Some(i),
        };
    }
    pick.map(|index| Selection {
        index,
        best,
        band: band.max(0.0),
    })
}

/// Calibrates band widths on held-out predictions: for each mode, the widest band from a
/// fixed grid whose realised mean quality stays within the target loss of the anchor.
///
/// The anchor is the better of Quality mode's realised quality and the best single
/// model's (known when every prompt has the same candidates in the same order, as in one
/// pool); so a Cost band with loss 0.02 keeps 98 % of the best single model's quality.
///
/// `items` holds, per prompt, `(predicted, realised, cost)` for the candidates scored on it.
pub fn calibrate(items: &[Vec<(f64, f64, f64)>], targets: &BandTargets) -> Bands {
    let n = items.len().max(1) as f64;
    // Realised (mean quality, mean cost) of a band under one of the two rules.
    let realised = |band: f64, penalised: bool| {
        let b = Bands {
            balanced: band,
            cost: band,
            quality_margin: 0.0,
            penalised,
        };
        let (mut q, mut c) = (0.0, 0.0);
        let mut preds = Vec::new();
        let mut costs = Vec::new();
        for cands in items {
            preds.clear();
            costs.clear();
            preds.extend(cands.iter().map(|c| c.0));
            costs.extend(cands.iter().map(|c| c.2));
            if let Some(sel) = select(&preds, &costs, Mode::Cost, &b) {
                q += cands[sel.index].1;
                c += cands[sel.index].2;
            }
        }
        (q / n, c / n)
    };
    let incumbent = best_single(items);
    // Quality mode's margin, by the one-standard-error rule: find the margin with the best
    // realised quality, then take the widest margin (the closest to always keeping the
    // incumbent) whose quality is within one standard error of that best gain over the
    // incumbent. A gain smaller than its own noise on the calibration set is not one to
    // bet unseen prompts on.
    let mut quality_margin = 0.0;
    let mut quality = realised(0.0, false).0;
    if let Some(j) = incumbent {
        let mut preds = Vec::new();
        let mut costs = Vec::new();
        let per_item: Vec<Vec<f64>> = MARGIN_GRID
            .iter()
            .map(|&margin| {
                let b = Bands {
                    quality_margin: margin,
                    ..Bands::default()
                };
                items
                    .iter()
                    .map(|c| {
                        preds.clear();
                        costs.clear();
                        preds.extend(c.iter().map(|x| x.0));
                        costs.extend(c.iter().map(|x| x.2));
                        select_with(&preds, &costs, Mode::Quality, &b, Some(j))
                            .map_or(0.0, |s| c[s.index].1)
                    })
                    .collect()
            })
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / n;
        let single: Vec<f64> = items.iter().map(|c| c[j].1).collect();
        let best = (0..MARGIN_GRID.len())
            .max_by(|&a, &b| mean(&per_item[a]).total_cmp(&mean(&per_item[b])))
            .unwrap_or(0);
        let diffs: Vec<f64> = per_item[best]
            .iter()
            .zip(&single)
            .map(|(a, b)| a - b)
            .collect();
        let d = mean(&diffs);
        let se =
            (diffs.iter().map(|x| (x - d).powi(2)).sum::<f64>() / (n * (n - 1.0).max(1.0))).sqrt();
        let floor = mean(&per_item[best]) - se;
        quality_margin = (0..MARGIN_GRID.len())
            .filter(|&m| mean(&per_item[m]) >= floor - 1e-12)
            .map(|m| MARGIN_GRID[m])
            .fold(0.0, f64::max);
        let chosen = MARGIN_GRID
            .iter()
            .position(|&m| m == quality_margin)
            .map_or(f64::NEG_INFINITY, |m| mean(&per_item[m]));
        quality = chosen.max(mean(&single));
    }
    // The widest band (and its realised cost) that keeps the target share of `quality`.
    let widest = |loss: f64, penalised: bool| {
        let mut chosen = (0.0, realised(0.0, penalised).1);
        for step in 1..=60 {
            let band = f64::from(step) * 0.005;
            let (q, c) = realised(band, penalised);
            if q >= quality * (1.0 - loss) {
                chosen = (band, c);
            } else {
                break;
            }
        }
        chosen
    };
    // The rule is chosen on Cost mode: whichever reaches its target more cheaply.
    let (plain, pen) = (
        widest(targets.cost_loss, false),
        widest(targets.cost_loss, true),
    );
    let penalised = pen.1 < plain.1;
    Bands {
        balanced: widest(targets.balanced_loss, penalised).0,
        cost: if penalised { pen.0 } else { plain.0 },
        quality_margin,
        penalised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_takes_best_and_bands_take_cheapest_inside() {
        let s = [0.5, 0.8, 0.78, 0.74];
        let c = [0.1, 5.0, 1.0, 0.5];
        let b = Bands {
            balanced: 0.03,
            cost: 0.07,
            ..Bands::default()
        };
        assert_eq!(select(&s, &c, Mode::Quality, &b).unwrap().index, 1);
        assert_eq!(select(&s, &c, Mode::Balanced, &b).unwrap().index, 2);
        assert_eq!(select(&s, &c, Mode::Cost, &b).unwrap().index, 3);
        assert!(select(&[], &[], Mode::Cost, &b).is_none());
        assert!(select(&[0.1], &[], Mode::Cost, &b).is_none());
    }

    #[test]
    fn penalised_rule_prefers_the_better_cheap_model() {
        // Both cheap models are inside the band; the cheapest is much weaker.
        let s = [0.90, 0.88, 0.80];
        let c = [10.0, 0.5, 0.1];
        assert_eq!(select_within(&s, &c, 0.1).unwrap().index, 2);
        assert_eq!(select_penalised(&s, &c, 0.1).unwrap().index, 1);
        // Nothing beats the best prediction when the band is zero.
        assert_eq!(select_penalised(&s, &c, 0.0).unwrap().index, 0);
        assert!(select_penalised(&[f64::NAN], &[1.0], 0.1).is_none());
    }

    #[test]
    fn quality_margin_keeps_an_incumbent_that_predictions_cannot_beat() {
        // Model 0 is right on every prompt; model 1 is predicted a little better but is
        // right only half the time: calibration must learn to keep model 0.
        let items: Vec<Vec<(f64, f64, f64)>> = (0..20)
            .map(|i| {
                vec![
                    (0.80, 1.0, 1.0),
                    (0.82, if i % 2 == 0 { 1.0 } else { 0.0 }, 0.5),
                ]
            })
            .collect();
        assert_eq!(best_single(&items), Some(0));
        let b = calibrate(&items, &BandTargets::default());
        assert!(b.quality_margin >= 0.02, "{b:?}");
        let pick = select_with(&[0.80, 0.82], &[1.0, 0.5], Mode::Quality, &b, Some(0));
        assert_eq!(pick.unwrap().index, 0);
        // Predictions that clearly tell the two apart earn a margin below their gap.
        let items: Vec<Vec<(f64, f64, f64)>> = (0..40)
            .map(|i| {
                let even = i % 2 == 0;
                let (p0, p1) = if even { (0.9, 0.1) } else { (0.1, 0.9) };
                vec![
                    (p0, f64::from(u8::from(even)), 1.0),
                    (p1, f64::from(u8::from(!even)), 0.5),
                ]
            })
            .collect();
        let b = calibrate(&items, &BandTargets::default());
        assert!(b.quality_margin < 0.8, "{b:?}");
    }

    #[test]
    fn calibration_widens_until_the_loss_target() {
        // Cheap model loses 0.1 real quality on half the items; predictions see 0.03 gap.
        let items: Vec<Vec<(f64, f64, f64)>> = (0..10)
            .map(|i| {
                vec![
                    (0.9, 1.0, 1.0),
                    (0.87, if i % 2 == 0 { 0.9 } else { 1.0 }, 0.1),
                ]
            })
            .collect();
        let b = calibrate(
            &items,
            &BandTargets {
                balanced_loss: 0.01,
                cost_loss: 0.06,
            },
        );
        assert_eq!(b.balanced, 0.025);
        assert!(b.cost >= 0.03);
    }
}
