//! `routewise eval`: fit on train files, route the test files, report metrics and baselines.
//!
//! Routing happens first and sees only each test prompt's turns; labels are read afterwards
//! to score the decisions.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::band::{Bands, Mode, select, select_with, select_within};
use super::data::Dataset;
use super::error::LearnedError;
use super::estimator::TrainedEstimator;
use super::features::Features;
use super::metrics::{MultiModelMetrics, PairItem, TwoModelMetrics, hull_cost_at, two_model};
use super::train::{FitConfig, SplitMix, featurize_with, fit_on, mean_costs};
use super::vectors::resolve_embedder;

pub use super::report::{EvalReport, MultiModelFamily, TwoModelFamily};

/// What `routewise eval` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Training JSONL files or directories.
    pub train: Vec<PathBuf>,
    /// Test JSONL files or directories.
    pub test: Vec<PathBuf>,
    /// Hyper-parameters of the fit.
    pub fit: FitConfig,
    /// Modes reported for N-model families (`--mode all` = all three).
    pub modes: Vec<Mode>,
    /// Seeds the random baseline is averaged over.
    pub random_seeds: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            train: Vec::new(),
            test: Vec::new(),
            fit: FitConfig::default(),
            modes: Mode::ALL.to_vec(),
            random_seeds: 100,
        }
    }
}

/// Loads train and test, fits on train only, and evaluates on test.
///
/// # Errors
/// Data errors naming file and line; [`LearnedError::Config`] when nothing can be evaluated.
pub fn run(cfg: &EvalConfig) -> Result<EvalReport, LearnedError> {
    let train = Dataset::load(&cfg.train)?;
    let test = Dataset::load(&cfg.test)?;
    let (ds, n_train) = merge(train, test);
    let embedder = resolve_embedder(&cfg.fit.embeddings)?;
    // Each prompt is embedded from its own text only; no label is read here.
    let feats = featurize_with(&ds, &cfg.fit.features, embedder.as_ref());
    let train_idx: Vec<usize> = (0..n_train).collect();
    let test_idx: Vec<usize> = (n_train..ds.items.len()).collect();
    evaluate_split(&ds, &feats, &train_idx, &test_idx, cfg)
}

/// Appends `b`'s items to `a`, remapping model indices; returns the merged set and `a`'s length.
pub fn merge(mut a: Dataset, b: Dataset) -> (Dataset, usize) {
    let n = a.items.len();
    let map: Vec<usize> = b
        .models
        .iter()
        .map(|m| {
            a.model_index(m).unwrap_or_else(|| {
                a.models.push(m.clone());
                a.models.len() - 1
            })
        })
        .collect();
    let width = a.models.len();
    for item in &mut a.items {
        item.scores.resize(width, None);
        item.costs.resize(width, None);
    }
    for mut item in b.items {
        let mut scores = vec![None; width];
        let mut costs = vec![None; width];
        for (j, &m) in map.iter().enumerate() {
            scores[m] = item.scores.get(j).copied().flatten();
            costs[m] = item.costs.get(j).copied().flatten();
        }
        item.scores = scores;
        item.costs = costs;
        a.items.push(item);
    }
    (a, n)
}

/// Fits on `train_idx` and evaluates on `test_idx` of one dataset (features precomputed).
///
/// # Errors
/// [`LearnedError::Config`] when training fails or no test family can be evaluated.
pub fn evaluate_split(
    ds: &Dataset,
    feats: &[Features],
    train_idx: &[usize],
    test_idx: &[usize],
    cfg: &EvalConfig,
) -> Result<EvalReport, LearnedError> {
    let est = fit_on(ds, feats, train_idx, &cfg.fit)?;
    // Routing: predictions from features only, before any test label is looked at.
    let heads: Vec<Option<usize>> = ds.models.iter().map(|m| est.head_index(m)).collect();
    let mut nb = Vec::new();
    let mut sims = Vec::new();
    let preds: HashMap<usize, Vec<Option<f64>>> = test_idx
        .iter()
        .map(|&i| {
            est.neighbours(&feats[i], &mut nb);
            // The candidate set is the deployment's (the models this prompt was sent to),
            // which picks its calibrated kNN choice; no score is read.
            let names: Vec<&str> = (0..ds.models.len())
                .filter(|&m| ds.items[i].scores[m].is_some())
                .map(|m| ds.models[m].as_str())
                .collect();
            let knn = est.pool_for(&names).and_then(|p| p.knn);
            if let Some(k) = est.knn() {
                k.similarities(&feats[i].embedding, &nb, &mut sims);
            }
            (
                i,
                heads
                    .iter()
                    .map(|h| h.map(|h| est.predict_head_with(h, &feats[i], &nb, &sims, knn)))
                    .collect(),
            )
        })
        .collect();
    let embedded = test_idx.iter().any(|&i| !feats[i].embedding.is_empty());
    let ctx = Ctx {
        ds,
        train_idx,
        est: &est,
        preds: &preds,
        cfg,
        costs: mean_costs(ds, train_idx),
    };
    let mut report = EvalReport {
        train_items: train_idx.len(),
        test_items: test_idx.len(),
        bands: est.bands(),
        estimator: describe(&est, embedded),
        ..EvalReport::default()
    };
    let mut families: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in test_idx {
        families
            .entry(ds.items[i].family().to_owned())
            .or_default()
            .push(i);
    }
    for (family, idx) in families {
        let models: Vec<usize> = (0..ds.models.len())
            .filter(|&m| idx.iter().any(|&i| ds.items[i].scores[m].is_some()))
            .collect();
        let complete: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| {
                models
                    .iter()
                    .all(|&m| ds.items[i].scores[m].is_some() && ds.items[i].costs[m].is_some())
            })
            .collect();
        if complete.is_empty() || models.iter().any(|&m| heads[m].is_none()) {
            continue;
        }
        if models.len() == 2 {
            report
                .two_model
                .insert(family, ctx.two_model(&models, &complete));
        } else if models.len() > 2 {
            report
                .multi_model
                .insert(family, ctx.multi_model(&models, &complete));
        }
    }
    if report.two_model.is_empty() && report.multi_model.is_empty() {
        return Err(LearnedError::Config(
            "no test family has every model scored and trained (check model names)".into(),
        ));
    }
    Ok(report)
}

/// What routed, for the report ("which estimator ran").
fn describe(est: &TrainedEstimator, embedded: bool) -> String {
    match est.knn() {
        Some(k) if embedded => format!(
            "{} logistic heads over hashed n-grams + cues, blended with a kNN over {} \
             all-MiniLM-L6-v2 embeddings ({})",
            est.heads().len(),
            k.len(),
            est.knn_summary()
        ),
        _ if embedded => format!(
            "{} logistic heads over hashed n-grams + cues (embeddings computed, but the \
             inner CV gave the kNN weight 0)",
            est.heads().len()
        ),
        _ => format!(
            "{} logistic heads over hashed n-grams + cues (no embeddings)",
            est.heads().len()
        ),
    }
}

struct Ctx<'a> {
    ds: &'a Dataset,
    train_idx: &'a [usize],
    est: &'a TrainedEstimator,
    preds: &'a HashMap<usize, Vec<Option<f64>>>,
    cfg: &'a EvalConfig,
    costs: Vec<f64>,
}

impl Ctx<'_> {
    fn pred(&self, i: usize, m: usize) -> f64 {
        self.preds.get(&i).and_then(|p| p[m]).unwrap_or(f64::NAN)
    }

    fn score(&self, i: usize, m: usize) -> f64 {
        self.ds.items[i].scores[m].unwrap_or(0.0)
    }

    fn cost(&self, i: usize, m: usize) -> f64 {
        self.ds.items[i].costs[m].unwrap_or(0.0)
    }

    /// Train mean score of each model per task, and per family as a fallback.
    fn task_means(&self, models: &[usize]) -> HashMap<String, Vec<f64>> {
        let mut acc: HashMap<String, (Vec<f64>, Vec<usize>)> = HashMap::new();
        for &i in self.train_idx {
            let item = &self.ds.items[i];
            for key in [item.task.clone(), format!("{}/*", item.family())] {
                let e = acc
                    .entry(key)
                    .or_insert_with(|| (vec![0.0; models.len()], vec![0; models.len()]));
                for (k, &m) in models.iter().enumerate() {
                    if let Some(s) = item.scores[m] {
                        e.0[k] += s;
                        e.1[k] += 1;
                    }
                }
            }
        }
        acc.into_iter()
            .filter(|(_, (_, n))| n.iter().all(|&n| n > 0))
            .map(|(k, (s, n))| (k, s.iter().zip(&n).map(|(s, &n)| s / n as f64).collect()))
            .collect()
    }

    fn task_row<'m>(&self, means: &'m HashMap<String, Vec<f64>>, i: usize) -> Option<&'m Vec<f64>> {
        let item = &self.ds.items[i];
        means
            .get(&item.task)
            .or_else(|| means.get(&format!("{}/*", item.family())))
    }

    fn two_model(&self, models: &[usize], idx: &[usize]) -> TwoModelFamily {
        let (s, w) = if self.costs[models[0]] >= self.costs[models[1]] {
            (models[0], models[1])
        } else {
            (models[1], models[0])
        };
        let sum = |m: usize| idx.iter().map(|&i| self.cost(i, m)).sum::<f64>();
        let ratio = if sum(s) > 0.0 { sum(w) / sum(s) } else { 1.0 };
        let mut jitter = SplitMix(0x7135);
        let mut items = |score: &dyn Fn(usize) -> f64| -> Vec<PairItem> {
            idx.iter()
                .map(|&i| PairItem {
                    // A tiny random tie-break: tied scores are routed in random order.
                    score: score(i) + 1e-9 * jitter.next_f64(),
                    strong: self.score(i, s),
                    weak: self.score(i, w),
                })
                .collect()
        };
        let router = two_model(&items(&|i| self.pred(i, s) - self.pred(i, w)), ratio);
        let mut baselines = BTreeMap::new();
        let mut rng = SplitMix(0xa11ce);
        let random: Vec<TwoModelMetrics> = (0..self.cfg.random_seeds.max(1))
            .map(|_| {
                let its: Vec<PairItem> = idx
                    .iter()
                    .map(|&i| PairItem {
                        score: rng.next_f64(),
                        strong: self.score(i, s),
                        weak: self.score(i, w),
                    })
                    .collect();
                two_model(&its, ratio)
            })
            .collect();
        baselines.insert("random".to_owned(), TwoModelMetrics::mean(&random));
        baselines.insert("always_strong".to_owned(), constant_strong());
        baselines.insert("always_weak".to_owned(), constant_weak());
        let chars = |i: usize| self.ds.items[i].prompt_chars() as f64;
        baselines.insert("prompt_length".to_owned(), two_model(&items(&chars), ratio));
        let means = self.task_means(&[s, w]);
        let task = |i: usize| self.task_row(&means, i).map_or(0.0, |r| r[0] - r[1]);
        baselines.insert("task_level".to_owned(), two_model(&items(&task), ratio));
        let oracle = |i: usize| self.score(i, s) - self.score(i, w);
        baselines.insert("oracle".to_owned(), two_model(&items(&oracle), ratio));
        TwoModelFamily {
            strong: self.ds.models[s].clone(),
            weak: self.ds.models[w].clone(),
            items: idx.len(),
            router,
            baselines,
        }
    }

    fn multi_model(&self, models: &[usize], idx: &[usize]) -> MultiModelFamily {
        let test_mean = |m: usize, f: &dyn Fn(usize, usize) -> f64| {
            idx.iter().map(|&i| f(i, m)).sum::<f64>() / idx.len() as f64
        };
        let best = *models
            .iter()
            .max_by(|&&a, &&b| {
                test_mean(a, &|i, m| self.score(i, m))
                    .total_cmp(&test_mean(b, &|i, m| self.score(i, m)))
            })
            .unwrap_or(&models[0]);
        let best_acc = test_mean(best, &|i, m| self.score(i, m));
        let best_cost = test_mean(best, &|i, m| self.cost(i, m));
        let est_costs: Vec<f64> = models.iter().map(|&m| self.costs[m]).collect();
        let mut preds = Vec::with_capacity(models.len());
        let names: Vec<&str> = models.iter().map(|&m| self.ds.models[m].as_str()).collect();
        let bands = self.est.bands_for(&names);
        let incumbent = self.est.incumbent_for(&names);
        let mut route = |mode: Mode, band: f64| -> Vec<(f64, f64)> {
            let b = Bands {
                balanced: band,
                cost: band,
                ..bands
            };
            idx.iter()
                .map(|&i| {
                    preds.clear();
                    preds.extend(models.iter().map(|&m| self.pred(i, m)));
                    let k =
                        select_with(&preds, &est_costs, mode, &b, incumbent).map_or(0, |s| s.index);
                    (self.score(i, models[k]), self.cost(i, models[k]))
                })
                .collect()
        };
        let mut modes = BTreeMap::new();
        for &mode in &self.cfg.modes {
            let picks = route(mode, bands.width(mode));
            modes.insert(
                mode.as_str().to_owned(),
                MultiModelMetrics::of(&picks, best_acc, best_cost),
            );
        }
        let sweep: Vec<(f64, f64)> = (0..=30)
            .map(|k| {
                let picks = route(Mode::Cost, f64::from(k) * 0.01);
                let n = picks.len() as f64;
                (
                    picks.iter().map(|p| p.1).sum::<f64>() / n,
                    picks.iter().map(|p| p.0).sum::<f64>() / n,
                )
            })
            .collect();
        let saving = hull_cost_at(&sweep, best_acc).map(|c| 1.0 - c / best_cost);
        let baselines = self.multi_baselines(models, idx, best_acc, best_cost);
        MultiModelFamily {
            bands,
            items: idx.len(),
            models: models.iter().map(|&m| self.ds.models[m].clone()).collect(),
            best_single: self.ds.models[best].clone(),
            cost_saving_at_best_single: saving,
            modes,
            baselines,
        }
    }

    fn multi_baselines(
        &self,
        models: &[usize],
        idx: &[usize],
        best_acc: f64,
        best_cost: f64,
    ) -> BTreeMap<String, MultiModelMetrics> {
        let of = |picks: &[(f64, f64)]| MultiModelMetrics::of(picks, best_acc, best_cost);
        let pick = |i: usize, m: usize| (self.score(i, m), self.cost(i, m));
        let mut out = BTreeMap::new();
        let mut rng = SplitMix(0xb0b);
        let random: Vec<MultiModelMetrics> = (0..self.cfg.random_seeds.max(1))
            .map(|_| {
                let picks: Vec<(f64, f64)> = idx
                    .iter()
                    .map(|&i| pick(i, models[(rng.next_u64() % models.len() as u64) as usize]))
                    .collect();
                of(&picks)
            })
            .collect();
        out.insert("random".to_owned(), MultiModelMetrics::mean(&random));
        // Strong = most accurate on train within the family; weak = cheapest on train.
        let family = idx.first().map_or("", |&i| self.ds.items[i].family());
        let fam_train: Vec<usize> = self
            .train_idx
            .iter()
            .copied()
            .filter(|&i| self.ds.items[i].family() == family)
            .collect();
        let train_acc = |m: usize| {
            let v: Vec<f64> = fam_train
                .iter()
                .filter_map(|&i| self.ds.items[i].scores[m])
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let strong = *models
            .iter()
            .max_by(|&&a, &&b| train_acc(a).total_cmp(&train_acc(b)))
            .unwrap_or(&models[0]);
        let weak = *models
            .iter()
            .min_by(|&&a, &&b| self.costs[a].total_cmp(&self.costs[b]))
            .unwrap_or(&models[0]);
        let always = |m: usize| idx.iter().map(|&i| pick(i, m)).collect::<Vec<_>>();
        out.insert("always_strong".to_owned(), of(&always(strong)));
        out.insert("always_weak".to_owned(), of(&always(weak)));
        let mut lens: Vec<usize> = fam_train
            .iter()
            .map(|&i| self.ds.items[i].prompt_chars())
            .collect();
        lens.sort_unstable();
        let median = lens.get(lens.len() / 2).copied().unwrap_or(0);
        let by_len: Vec<(f64, f64)> = idx
            .iter()
            .map(|&i| {
                pick(
                    i,
                    if self.ds.items[i].prompt_chars() >= median {
                        strong
                    } else {
                        weak
                    },
                )
            })
            .collect();
        out.insert("prompt_length".to_owned(), of(&by_len));
        let means = self.task_means(models);
        let costs: Vec<f64> = models.iter().map(|&m| self.costs[m]).collect();
        for (name, band) in [("task_level", 0.06), ("task_level_quality", 0.0)] {
            let picks: Vec<(f64, f64)> = idx
                .iter()
                .map(|&i| {
                    let k = self
                        .task_row(&means, i)
                        .and_then(|row| select_within(row, &costs, band))
                        .map_or(0, |s| s.index);
                    pick(i, models[k])
                })
                .collect();
            out.insert(name.to_owned(), of(&picks));
        }
        let oracle: Vec<(f64, f64)> = idx
            .iter()
            .map(|&i| {
                let scores: Vec<f64> = models.iter().map(|&m| self.score(i, m)).collect();
                let costs: Vec<f64> = models.iter().map(|&m| self.cost(i, m)).collect();
                let k = select(&scores, &costs, Mode::Quality, &Bands::default())
                    .map_or(0, |s| s.index);
                pick(i, models[k])
            })
            .collect();
        out.insert("oracle".to_owned(), of(&oracle));
        out
    }
}

/// Always-strong is a single point of the curve: PGR 1 at a strong share of 1, no saving.
fn constant_strong() -> TwoModelMetrics {
    TwoModelMetrics {
        apgr: 1.0,
        cpt50: 1.0,
        cpt80: 1.0,
        cost_reduction_at_95: 0.0,
    }
}

/// Always-weak: PGR 0 and it never reaches any share of the gap.
fn constant_weak() -> TwoModelMetrics {
    TwoModelMetrics {
        apgr: 0.0,
        cpt50: f64::NAN,
        cpt80: f64::NAN,
        cost_reduction_at_95: f64::NAN,
    }
}
