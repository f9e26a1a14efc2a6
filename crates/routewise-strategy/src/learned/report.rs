//! The evaluation report: typed figures, a readable table and the documented JSON layout.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::band::Bands;
use super::metrics::{MultiModelMetrics, TwoModelMetrics, nan_mean};

/// A two-model task family (RouteLLM metrics).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TwoModelFamily {
    /// The expensive model.
    pub strong: String,
    /// The cheap model.
    pub weak: String,
    /// Evaluated items.
    pub items: usize,
    /// Our router.
    pub router: TwoModelMetrics,
    /// Baselines by name.
    pub baselines: BTreeMap<String, TwoModelMetrics>,
}

/// A family with more than two models (per-mode accuracy and cost).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MultiModelFamily {
    /// Evaluated items (those on which every model is scored).
    pub items: usize,
    /// The candidate models.
    pub models: Vec<String>,
    /// The most accurate single model on the test items.
    pub best_single: String,
    /// The bands the modes used for this candidate set.
    pub bands: Bands,
    /// Cost saving at the best single model's accuracy on the router's cost/accuracy hull
    /// (band swept 0..0.30); `None` when the hull never reaches it. In a mean over folds a
    /// fold without one counts as 0, and the mean is `None` only when no fold has one.
    pub cost_saving_at_best_single: Option<f64>,
    /// Our router per mode.
    pub modes: BTreeMap<String, MultiModelMetrics>,
    /// Baselines by name.
    pub baselines: BTreeMap<String, MultiModelMetrics>,
}

/// Everything `routewise eval` reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalReport {
    /// Training items.
    pub train_items: usize,
    /// Test items.
    pub test_items: usize,
    /// The calibrated (global) bands used by the modes.
    pub bands: Bands,
    /// Which estimator routed (heads only, or heads blended with a MiniLM kNN).
    pub estimator: String,
    /// Two-model families by name.
    pub two_model: BTreeMap<String, TwoModelFamily>,
    /// N-model families by name.
    pub multi_model: BTreeMap<String, MultiModelFamily>,
    /// What the evaluation left out or could not trust (skipped families, dropped items,
    /// test prompts also found in train), in plain words.
    pub warnings: Vec<String>,
}

fn num(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

fn two_json(m: &TwoModelMetrics) -> Value {
    json!({
        "apgr": num(m.apgr),
        "cpt50": num(m.cpt50),
        "cpt80": num(m.cpt80),
        "cost_reduction_at_95": num(m.cost_reduction_at_95),
    })
}

fn multi_json(m: &MultiModelMetrics) -> Value {
    json!({
        "accuracy": num(m.accuracy),
        "cost_per_query": num(m.cost_per_query),
        "accuracy_vs_best_single": num(m.accuracy_vs_best_single),
        "cost_vs_best_single": num(m.cost_vs_best_single),
    })
}

fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", 100.0 * x)
    } else {
        "-".into()
    }
}

fn fixed(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "-".into()
    }
}

impl EvalReport {
    /// The JSON object documented in the README: `two_model.<family>.router|baselines.<name>`
    /// and `multi_model.<family>.modes.<mode>|baselines.<name>`; fractions in 0..1,
    /// undefined figures as `null`.
    pub fn to_json(&self) -> Value {
        let mut two = Map::new();
        for (f, fam) in &self.two_model {
            let baselines: Map<String, Value> = fam
                .baselines
                .iter()
                .map(|(k, v)| (k.clone(), two_json(v)))
                .collect();
            two.insert(
                f.clone(),
                json!({
                    "strong": fam.strong, "weak": fam.weak, "items": fam.items,
                    "router": two_json(&fam.router), "baselines": baselines,
                }),
            );
        }
        let mut multi = Map::new();
        for (f, fam) in &self.multi_model {
            let modes: Map<String, Value> = fam
                .modes
                .iter()
                .map(|(k, v)| (k.clone(), multi_json(v)))
                .collect();
            let baselines: Map<String, Value> = fam
                .baselines
                .iter()
                .map(|(k, v)| (k.clone(), multi_json(v)))
                .collect();
            multi.insert(
                f.clone(),
                json!({
                    "items": fam.items, "models": fam.models, "best_single": fam.best_single,
                    "bands": {"balanced": fam.bands.balanced, "cost": fam.bands.cost, "quality_margin": fam.bands.quality_margin, "penalised": fam.bands.penalised},
                    "cost_saving_at_best_single": fam.cost_saving_at_best_single.map_or(Value::Null, num),
                    "modes": modes, "baselines": baselines,
                }),
            );
        }
        json!({
            "estimator": self.estimator,
            "train_items": self.train_items,
            "test_items": self.test_items,
            "bands": {"balanced": self.bands.balanced, "cost": self.bands.cost, "quality_margin": self.bands.quality_margin},
            "two_model": two,
            "multi_model": multi,
            "warnings": self.warnings,
        })
    }

    /// A readable plain-text table.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        if !self.estimator.is_empty() {
            let _ = writeln!(s, "estimator: {}", self.estimator);
        }
        let _ = writeln!(
            s,
            "train items {}, test items {}; bands: balanced {:.3}, cost {:.3}",
            self.train_items, self.test_items, self.bands.balanced, self.bands.cost
        );
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        for (f, fam) in &self.two_model {
            let _ = writeln!(
                s,
                "\n{f} ({} items): {} vs {}",
                fam.items, fam.strong, fam.weak
            );
            let _ = writeln!(
                s,
                "  {:<20} {:>7} {:>7} {:>7} {:>12}",
                "router", "APGR", "CPT50", "CPT80", "cut@95%"
            );
            let row = |s: &mut String, name: &str, m: &TwoModelMetrics| {
                let _ = writeln!(
                    s,
                    "  {:<20} {:>7} {:>7} {:>7} {:>12}",
                    name,
                    fixed(m.apgr),
                    pct(m.cpt50),
                    pct(m.cpt80),
                    pct(m.cost_reduction_at_95)
                );
            };
            row(&mut s, "ours", &fam.router);
            for (n, m) in &fam.baselines {
                row(&mut s, n, m);
            }
        }
        for (f, fam) in &self.multi_model {
            let _ = writeln!(
                s,
                "\n{f} ({} items, {} models; best single {}; cost saving at its accuracy {})",
                fam.items,
                fam.models.len(),
                fam.best_single,
                fam.cost_saving_at_best_single
                    .map_or_else(|| "-".into(), pct)
            );
            let _ = writeln!(
                s,
                "  bands for this model set: balanced {:.3}, cost {:.3}, quality margin {:.3}, rule {}",
                fam.bands.balanced,
                fam.bands.cost,
                fam.bands.quality_margin,
                if fam.bands.penalised {
                    "cost-penalised"
                } else {
                    "cheapest in band"
                }
            );
            let _ = writeln!(
                s,
                "  {:<20} {:>8} {:>12} {:>9} {:>9}",
                "policy", "acc", "$/query", "acc/best", "$/best"
            );
            let row = |s: &mut String, name: &str, m: &MultiModelMetrics| {
                let _ = writeln!(
                    s,
                    "  {:<20} {:>8} {:>12.7} {:>9} {:>9}",
                    name,
                    fixed(m.accuracy),
                    m.cost_per_query,
                    pct(m.accuracy_vs_best_single),
                    pct(m.cost_vs_best_single)
                );
            };
            for (n, m) in &fam.modes {
                row(&mut s, &format!("ours/{n}"), m);
            }
            for (n, m) in &fam.baselines {
                row(&mut s, n, m);
            }
        }
        s
    }

    /// The element-wise mean of several reports (cross-validation folds), family by family.
    pub fn mean(reports: &[EvalReport]) -> EvalReport {
        let mut out = EvalReport {
            train_items: reports.iter().map(|r| r.train_items).sum::<usize>()
                / reports.len().max(1),
            test_items: reports.iter().map(|r| r.test_items).sum(),
            estimator: reports
                .first()
                .map(|r| r.estimator.clone())
                .unwrap_or_default(),
            bands: Bands {
                balanced: nan_mean(reports.iter().map(|r| r.bands.balanced)),
                cost: nan_mean(reports.iter().map(|r| r.bands.cost)),
                quality_margin: nan_mean(reports.iter().map(|r| r.bands.quality_margin)),
                penalised: reports.iter().any(|r| r.bands.penalised),
            },
            ..EvalReport::default()
        };
        for w in reports.iter().flat_map(|r| &r.warnings) {
            if !out.warnings.contains(w) {
                out.warnings.push(w.clone());
            }
        }
        for r in reports {
            for (f, fam) in &r.two_model {
                out.two_model.entry(f.clone()).or_insert_with(|| {
                    let all: Vec<&TwoModelFamily> =
                        reports.iter().filter_map(|r| r.two_model.get(f)).collect();
                    let avg = |get: &dyn Fn(&TwoModelFamily) -> Option<TwoModelMetrics>| {
                        TwoModelMetrics::mean(
                            &all.iter().filter_map(|x| get(x)).collect::<Vec<_>>(),
                        )
                    };
                    TwoModelFamily {
                        strong: fam.strong.clone(),
                        weak: fam.weak.clone(),
                        items: all.iter().map(|x| x.items).sum(),
                        router: avg(&|x| Some(x.router)),
                        baselines: fam
                            .baselines
                            .keys()
                            .map(|k| (k.clone(), avg(&|x| x.baselines.get(k).copied())))
                            .collect(),
                    }
                });
            }
            for (f, fam) in &r.multi_model {
                out.multi_model.entry(f.clone()).or_insert_with(|| {
                    let all: Vec<&MultiModelFamily> = reports
                        .iter()
                        .filter_map(|r| r.multi_model.get(f))
                        .collect();
                    let avg = |get: &dyn Fn(&MultiModelFamily) -> Option<MultiModelMetrics>| {
                        MultiModelMetrics::mean(
                            &all.iter().filter_map(|x| get(x)).collect::<Vec<_>>(),
                        )
                    };
                    // A fold whose hull never reaches the best single model's accuracy saves
                    // nothing there (only that model gets it): it counts as 0, not as absent,
                    // which would flatter the mean. All folds absent stays absent.
                    let saving = if all.iter().any(|x| x.cost_saving_at_best_single.is_some()) {
                        nan_mean(
                            all.iter()
                                .map(|x| x.cost_saving_at_best_single.unwrap_or(0.0)),
                        )
                    } else {
                        f64::NAN
                    };
                    MultiModelFamily {
                        bands: Bands {
                            balanced: nan_mean(all.iter().map(|x| x.bands.balanced)),
                            cost: nan_mean(all.iter().map(|x| x.bands.cost)),
                            quality_margin: nan_mean(all.iter().map(|x| x.bands.quality_margin)),
                            penalised: all.iter().filter(|x| x.bands.penalised).count() * 2
                                > all.len(),
                        },
                        items: all.iter().map(|x| x.items).sum(),
                        models: fam.models.clone(),
                        best_single: fam.best_single.clone(),
                        cost_saving_at_best_single: saving.is_finite().then_some(saving),
                        modes: fam
                            .modes
                            .keys()
                            .map(|k| (k.clone(), avg(&|x| x.modes.get(k).copied())))
                            .collect(),
                        baselines: fam
                            .baselines
                            .keys()
                            .map(|k| (k.clone(), avg(&|x| x.baselines.get(k).copied())))
                            .collect(),
                    }
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(saving: Option<f64>) -> EvalReport {
        let mut r = EvalReport::default();
        r.multi_model.insert(
            "rb".into(),
            MultiModelFamily {
                cost_saving_at_best_single: saving,
                ..MultiModelFamily::default()
            },
        );
        r
    }

    #[test]
    fn a_fold_whose_hull_misses_the_best_single_counts_as_no_saving() {
        let saving = |folds: &[EvalReport]| {
            EvalReport::mean(folds).multi_model["rb"].cost_saving_at_best_single
        };
        assert_eq!(saving(&[fold(Some(0.2)), fold(None)]), Some(0.1));
        assert_eq!(
            saving(&[fold(Some(0.2)), fold(Some(0.4))]),
            Some(0.30000000000000004)
        );
        assert_eq!(saving(&[fold(None), fold(None)]), None);
    }
}
