//! `routewise eval`: fit on train files, route the test files, report metrics and baselines.
//!
//! Routing happens first and sees only each test prompt; labels are read afterwards to
//! score the decisions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use super::band::{Bands, Mode, select, select_with, select_within};
use super::data::Dataset;
use super::embed::EmbeddingChoice;
use super::error::LearnedError;
use super::estimator::TrainedEstimator;
use super::features::Features;
use super::metrics::{MultiModelMetrics, PairItem, TwoModelMetrics, hull_cost_at, two_model};
use super::train::{FitConfig, SplitMix, featurize_with, fit_on, mean_costs};
use super::vectors::{resolve_embedder, why_no_embeddings};

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
    let mut warnings = Vec::new();
    let seen: HashSet<&str> = train_idx.iter().map(|&i| ds.items[i].prompt()).collect();
    let repeated = test_idx
        .iter()
        .filter(|&&i| seen.contains(ds.items[i].prompt()))
        .count();
    if repeated > 0 {
        warnings.push(format!(
            "{repeated} of {} test prompts also occur in the training data: their figures \
             are not out of sample",
            test_idx.len()
        ));
    }
    // Each family's candidate set is the set of deployments it was sent to (the models the
    // test files name for it): configuration, fixed before any prompt is routed.
    let mut families: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in test_idx {
        families
            .entry(ds.items[i].family().to_owned())
            .or_default()
            .push(i);
    }
    let family_models: BTreeMap<String, Vec<usize>> = families
        .iter()
        .map(|(f, idx)| {
            let models = (0..ds.models.len())
                .filter(|&m| idx.iter().any(|&i| ds.items[i].scores[m].is_some()))
                .collect();
            (f.clone(), models)
        })
        .collect();
    // Routing: predictions from features only, before any test label is looked at.
    let heads: Vec<Option<usize>> = ds.models.iter().map(|m| est.head_index(m)).collect();
    let mut nb = Vec::new();
    let mut sims = Vec::new();
    let mut preds: HashMap<usize, Vec<Option<f64>>> = HashMap::with_capacity(test_idx.len());
    for (family, idx) in &families {
        let names: Vec<&str> = family_models[family]
            .iter()
            .map(|&m| ds.models[m].as_str())
            .collect();
        let knn = est.pool_for(&names).and_then(|p| p.knn);
        for &i in idx {
            est.neighbours(&feats[i], &mut nb);
            if let Some(k) = est.knn() {
                k.similarities(&feats[i].embedding, &nb, &mut sims);
            }
            let row = heads
                .iter()
                .map(|h| h.map(|h| est.predict_head_with(h, &feats[i], &nb, &sims, knn)))
                .collect();
            preds.insert(i, row);
        }
    }
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
        estimator: describe(&est, embedded, &cfg.fit.embeddings),
        ..EvalReport::default()
    };
    for (family, idx) in families {
        let models = &family_models[&family];
        let untrained: Vec<&str> = models
            .iter()
            .filter(|&&m| heads[m].is_none())
            .map(|&m| ds.models[m].as_str())
            .collect();
        if !untrained.is_empty() {
            warnings.push(format!(
                "family `{family}` skipped: no training item scores {}",
                untrained.join(", ")
            ));
            continue;
        }
        if models.len() < 2 {
            warnings.push(format!(
                "family `{family}` skipped: it has a single model, so there is nothing to route"
            ));
            continue;
        }
        let complete: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| {
                models
                    .iter()
                    .all(|&m| ds.items[i].scores[m].is_some() && ds.items[i].costs[m].is_some())
            })
            .collect();
        if complete.len() < idx.len() {
            warnings.push(format!(
                "family `{family}`: {} of {} items left out because a model's score or cost \
                 is missing",
                idx.len() - complete.len(),
                idx.len()
            ));
        }
        if complete.is_empty() {
            continue;
        }
        if !train_idx.iter().any(|&i| ds.items[i].family() == family) {
            warnings.push(format!(
                "family `{family}` has no training items: its baselines' train statistics \
                 come from all training items"
            ));
        }
        if models.len() == 2 {
            report
                .two_model
                .insert(family, ctx.two_model(models, &complete));
        } else {
            report
                .multi_model
                .insert(family, ctx.multi_model(models, &complete));
        }
    }
    report.warnings = warnings;
    if report.two_model.is_empty() && report.multi_model.is_empty() {
        let why = if report.warnings.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.warnings.join("; "))
        };
        return Err(LearnedError::Config(format!(
            "no test family has every model scored and trained (check model names){why}"
        )));
    }
    Ok(report)
}

/// What routed, for the report ("which estimator ran").
fn describe(est: &TrainedEstimator, embedded: bool, choice: &EmbeddingChoice) -> String {
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
            "{} logistic heads over hashed n-grams + cues (no embeddings: {})",
            est.heads().len(),
            why_no_embeddings(choice).unwrap_or("the embedder failed on every prompt")
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

    /// Train mean score of each model per task, per family (`family/*`) and over all training
    /// items (`*`): a task or family the training files lack falls back to the wider mean.
    fn task_means(&self, models: &[usize]) -> HashMap<String, Vec<f64>> {
        let mut acc: HashMap<String, (Vec<f64>, Vec<usize>)> = HashMap::new();
        for &i in self.train_idx {
            let item = &self.ds.items[i];
            for key in [
                item.task.clone(),
                format!("{}/*", item.family()),
                "*".to_owned(),
            ] {
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
            .or_else(|| means.get("*"))
    }

    fn two_model(&self, models: &[usize], idx: &[usize]) -> TwoModelFamily {
        let (s, w) = if self.costs[models[0]] >= self.costs[models[1]] {
            (models[0], models[1])
        } else {
            (models[1], models[0])
        };
        let sum = |m: usize| idx.iter().map(|&i| self.cost(i, m)).sum::<f64>();
        let ratio = if sum(s) > 0.0 { sum(w) / sum(s) } else { 1.0 };
        // No tie-break: as in RouteLLM's evaluator, tied scores go to the same side.
        let items = |score: &dyn Fn(usize) -> f64| -> Vec<PairItem> {
            idx.iter()
                .map(|&i| PairItem {
                    score: score(i),
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
        let mean = |m: usize| idx.iter().map(|&i| self.score(i, m)).sum::<f64>() / idx.len() as f64;
        baselines.insert(
            "always_weak".to_owned(),
            constant_weak(mean(s), mean(w), ratio),
        );
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
        // Of equally accurate models the cheaper is the best single: the one a user would pick.
        let best = *models
            .iter()
            .max_by(|&&a, &&b| {
                test_mean(a, &|i, m| self.score(i, m))
                    .total_cmp(&test_mean(b, &|i, m| self.score(i, m)))
                    .then_with(|| {
                        test_mean(b, &|i, m| self.cost(i, m))
                            .total_cmp(&test_mean(a, &|i, m| self.cost(i, m)))
                    })
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
        let mut hull_points = Vec::new();
        for mode in Mode::ALL {
            let picks = route(mode, bands.width(mode));
            let m = MultiModelMetrics::of(&picks, best_acc, best_cost);
            hull_points.push((m.cost_per_query, m.accuracy));
            if self.cfg.modes.contains(&mode) {
                modes.insert(mode.as_str().to_owned(), m);
            }
        }
        // The hull spans every mode's operating point and the Cost rule's bands 0..0.30.
        hull_points.extend((0..=30).map(|k| {
            let picks = route(Mode::Cost, f64::from(k) * 0.01);
            let n = picks.len() as f64;
            (
                picks.iter().map(|p| p.1).sum::<f64>() / n,
                picks.iter().map(|p| p.0).sum::<f64>() / n,
            )
        }));
        let saving = hull_cost_at(&hull_points, best_acc).map(|c| 1.0 - c / best_cost);
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
        // A family the training files lack falls back to every training item that scores
        // all these models, so "strong" and the length median still come from train.
        let family = idx.first().map_or("", |&i| self.ds.items[i].family());
        let scores_all = |i: usize| models.iter().all(|&m| self.ds.items[i].scores[m].is_some());
        let in_family: Vec<usize> = self
            .train_idx
            .iter()
            .copied()
            .filter(|&i| self.ds.items[i].family() == family && scores_all(i))
            .collect();
        let fam_train: Vec<usize> = if in_family.is_empty() {
            self.train_idx
                .iter()
                .copied()
                .filter(|&i| scores_all(i))
                .collect()
        } else {
            in_family
        };
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

/// Always-weak: PGR 0. It reaches a share of the gap, or 95 % of strong quality, only when
/// the weak model is that good on its own; then it needs no strong call at all.
fn constant_weak(strong: f64, weak: f64, cost_ratio: f64) -> TwoModelMetrics {
    let share_for = |target: f64| if weak >= target { 0.0 } else { f64::NAN };
    TwoModelMetrics {
        apgr: 0.0,
        cpt50: share_for(weak + 0.5 * (strong - weak)),
        cpt80: share_for(weak + 0.8 * (strong - weak)),
        cost_reduction_at_95: 1.0 - cost_ratio - share_for(0.95 * strong),
    }
}
