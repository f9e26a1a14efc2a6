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
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            balanced: 0.02,
            cost: 0.06,
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
    select_within(scores, costs, bands.width(mode))
}

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
    let realised = |band: f64| {
        let mut total = 0.0;
        let mut preds = Vec::new();
        let mut costs = Vec::new();
        for cands in items {
            preds.clear();
            costs.clear();
            preds.extend(cands.iter().map(|c| c.0));
            costs.extend(cands.iter().map(|c| c.2));
            if let Some(sel) = select_within(&preds, &costs, band) {
                total += cands[sel.index].1;
            }
        }
        total / items.len().max(1) as f64
    };
    let mut anchor = realised(0.0);
    let width = items.first().map_or(0, Vec::len);
    if width > 0 && items.iter().all(|c| c.len() == width) {
        for m in 0..width {
            let single = items.iter().map(|c| c[m].1).sum::<f64>() / items.len() as f64;
            anchor = anchor.max(single);
        }
    }
    let quality = anchor;
    let widest = |loss: f64| {
        let mut chosen = 0.0;
        for step in 1..=60 {
            let band = f64::from(step) * 0.005;
            if realised(band) >= quality * (1.0 - loss) {
                chosen = band;
            } else {
                break;
            }
        }
        chosen
    };
    Bands {
        balanced: widest(targets.balanced_loss),
        cost: widest(targets.cost_loss),
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
        };
        assert_eq!(select(&s, &c, Mode::Quality, &b).unwrap().index, 1);
        assert_eq!(select(&s, &c, Mode::Balanced, &b).unwrap().index, 2);
        assert_eq!(select(&s, &c, Mode::Cost, &b).unwrap().index, 3);
        assert!(select(&[], &[], Mode::Cost, &b).is_none());
        assert!(select(&[0.1], &[], Mode::Cost, &b).is_none());
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
