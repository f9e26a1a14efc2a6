//! Training: per-model logistic heads fitted with AdaGrad, then band calibration on
//! out-of-fold predictions.

use std::path::PathBuf;
use std::time::Instant;

use super::band::{BandTargets, Bands, PoolBands, best_single, calibrate};
use super::cv::grouped_folds;
use super::data::{Dataset, Item};
use super::embed::{EmbedderHandle, EmbeddingChoice};
use super::error::LearnedError;
use super::estimator::{ArtifactMeta, Head, TrainedEstimator};
use super::features::{FeatureConfig, Features};
use super::knn::{KnnChoice, KnnIndex, trust_ramp, weighted_mean};
use super::profiles::{ReferencePair, builtin};
use super::vectors::{embed_dataset, resolve_embedder};
use crate::PromptView;

/// Hyper-parameters of a fit. The defaults are what the shipped artifact uses.
#[derive(Debug, Clone, PartialEq)]
pub struct FitConfig {
    /// Feature extraction.
    pub features: FeatureConfig,
    /// Passes over the data.
    pub epochs: usize,
    /// AdaGrad base learning rate.
    pub learning_rate: f64,
    /// L2 penalty per update on the touched weights.
    pub l2: f64,
    /// Shuffling seed.
    pub seed: u64,
    /// What band calibration aims for.
    pub targets: BandTargets,
    /// Folds for the out-of-fold predictions calibration uses (0 or 1 = keep default bands).
    pub calibration_folds: usize,
    /// Strong and weak model ids of the reference pair; `None` picks the heads with built-in
    /// profiles that differ most in general skill.
    pub reference: Option<(String, String)>,
    /// Sentence embeddings for the kNN component (default: MiniLM when available).
    pub embeddings: EmbeddingChoice,
    /// The kNN component's search grid.
    pub knn: KnnConfig,
    /// How far each head evens out the task families it learns from: an item of a family
    /// with `n` training items is weighted `n^-family_balance` (0 = every item alike,
    /// 1 = every family alike). The family (the part of `task` before `/`) is read at
    /// training time only.
    pub family_balance: f64,
}

/// The grid the kNN component's `k` and blend weight are chosen from, by inner
/// cross-validation on the training data only (the calibration folds).
#[derive(Debug, Clone, PartialEq)]
pub struct KnnConfig {
    /// Candidate neighbour counts.
    pub k_grid: Vec<usize>,
    /// Candidate weights of the kNN estimate in the blend (0 = heads only).
    pub blend_grid: Vec<f32>,
    /// Candidate similarity temperatures (0 = uniform neighbour weights).
    pub temperature_grid: Vec<f32>,
    /// Also try each choice gated by the trust ramp ([`KnnChoice::gated`]).
    pub try_gate: bool,
}

impl Default for KnnConfig {
    fn default() -> Self {
        Self {
            k_grid: vec![10, 20, 40, 70, 100, 150, 250],
            blend_grid: vec![0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0],
            temperature_grid: vec![0.0, 0.02, 0.05, 0.1, 0.2],
            try_gate: true,
        }
    }
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            features: FeatureConfig::default(),
            epochs: 6,
            learning_rate: 0.03,
            l2: 1e-5,
            seed: 20_261_125,
            targets: BandTargets::default(),
            calibration_folds: 3,
            reference: None,
            embeddings: EmbeddingChoice::Auto,
            knn: KnnConfig::default(),
            family_balance: 0.5,
        }
    }
}

/// What `routewise train` asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainConfig {
    /// JSONL files or directories of them.
    pub data: Vec<PathBuf>,
    /// Where to write the artifact (`None` = do not write).
    pub out: Option<PathBuf>,
    /// Hyper-parameters.
    pub fit: FitConfig,
}

/// The result of [`train`].
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// The fitted estimator.
    pub estimator: TrainedEstimator,
    /// Training items.
    pub items: usize,
    /// Models with a head.
    pub models: Vec<String>,
    /// Wall-clock seconds spent loading, fitting and calibrating.
    pub seconds: f64,
    /// Size of the written artifact in bytes.
    pub artifact_bytes: usize,
}

/// Loads the data, fits, calibrates and (if asked) writes the artifact.
///
/// # Errors
/// Data errors (with file and line) and I/O failures writing the artifact.
pub fn train(cfg: &TrainConfig) -> Result<TrainSummary, LearnedError> {
    let start = Instant::now();
    let ds = Dataset::load(&cfg.data)?;
    let mut estimator = fit(&ds, &cfg.fit)?;
    if estimator.knn.is_some() {
        estimator.meta.note = format!("{} {}", estimator.meta.note, estimator.describe())
            .trim()
            .to_owned();
    }
    estimator.meta.trained_on = cfg
        .data
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |f| f.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let bytes = estimator.to_bytes();
    if let Some(out) = &cfg.out {
        std::fs::write(out, &bytes).map_err(|e| LearnedError::Io {
            path: out.clone(),
            source: e,
        })?;
    }
    Ok(TrainSummary {
        items: ds.items.len(),
        models: estimator.heads.iter().map(|h| h.model.clone()).collect(),
        estimator,
        seconds: start.elapsed().as_secs_f64(),
        artifact_bytes: bytes.len(),
    })
}

/// Features of every item, in order (what the router would see: the prompt only).
pub fn featurize_all(ds: &Dataset, cfg: &FeatureConfig) -> Vec<Features> {
    ds.items
        .iter()
        .map(|item| {
            let mut f = Features::default();
            cfg.extract(&view_of(item), &mut f);
            f
        })
        .collect()
}

/// The [`PromptView`] of an item: its prompt and nothing else (never its task, and never a
/// later turn, which does not exist yet when the conversation is routed).
pub fn view_of(item: &Item) -> PromptView<'_> {
    PromptView {
        user_turns: vec![item.prompt()],
        ..PromptView::default()
    }
}

/// Fits and calibrates on a whole dataset.
///
/// # Errors
/// [`LearnedError::Config`] when no model has a scored item.
pub fn fit(ds: &Dataset, cfg: &FitConfig) -> Result<TrainedEstimator, LearnedError> {
    let embedder = resolve_embedder(&cfg.embeddings)?;
    let feats = featurize_with(ds, &cfg.features, embedder.as_ref());
    let all: Vec<usize> = (0..ds.items.len()).collect();
    let est = fit_on(ds, &feats, &all, cfg)?;
    Ok(match embedder {
        Some(e) if est.knn.is_some() => est.with_embedder(e),
        _ => est,
    })
}

/// [`featurize_all`] plus each item's embedding when an embedder is given.
pub fn featurize_with(
    ds: &Dataset,
    cfg: &FeatureConfig,
    embedder: Option<&EmbedderHandle>,
) -> Vec<Features> {
    let mut feats = featurize_all(ds, cfg);
    if let Some(e) = embedder {
        for (f, v) in feats.iter_mut().zip(embed_dataset(ds, e)) {
            f.embedding = v;
        }
    }
    feats
}

/// Fits on the items at `train_idx`, with `feats` precomputed for the whole dataset.
///
/// # Errors
/// As [`fit`].
pub fn fit_on(
    ds: &Dataset,
    feats: &[Features],
    train_idx: &[usize],
    cfg: &FitConfig,
) -> Result<TrainedEstimator, LearnedError> {
    let heads = fit_heads(ds, feats, train_idx, cfg);
    if heads.is_empty() {
        return Err(LearnedError::Config(
            "no model has a scored training item".into(),
        ));
    }
    let reference = pick_reference(&heads, cfg);
    let mut est = TrainedEstimator::new(
        cfg.features.clone(),
        heads,
        reference,
        Bands::default(),
        ArtifactMeta {
            items: train_idx.len(),
            ..ArtifactMeta::default()
        },
    );
    if cfg.calibration_folds >= 2 {
        let oof = out_of_fold(ds, feats, train_idx, cfg);
        let tuned = oof.tune(ds, &cfg.knn);
        let g = tuned.global;
        if g.blend > 0.0 || tuned.pools.values().any(|c| c.blend > 0.0) {
            est.knn = Some(
                build_knn(ds, feats, train_idx, g.k, g.blend)
                    .with_temperature(g.temperature)
                    .with_trust(oof.trust[0], oof.trust[1])
                    .with_gate(g.gated),
            );
        }
        let (global, pools) = oof.calibrate(ds, &tuned, cfg);
        est.bands = global;
        est.pool_bands = pools;
    }
    Ok(est)
}

/// A kNN index over the embedded items of `idx`.
fn build_knn(ds: &Dataset, feats: &[Features], idx: &[usize], k: usize, blend: f32) -> KnnIndex {
    let with: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| !feats[i].embedding.is_empty())
        .collect();
    let vectors: Vec<&[f32]> = with
        .iter()
        .map(|&i| feats[i].embedding.as_slice())
        .collect();
    let scores: Vec<Vec<Option<f64>>> = with.iter().map(|&i| ds.items[i].scores.clone()).collect();
    KnnIndex::build(ds.models.clone(), &vectors, &scores, k, blend)
}

fn pick_reference(heads: &[Head], cfg: &FitConfig) -> Option<ReferencePair> {
    let with_profile: Vec<(&str, super::profiles::Skills)> = heads
        .iter()
        .filter_map(|h| builtin(&h.model).map(|k| (h.model.as_str(), k.skills)))
        .collect();
    let (strong, weak) = match &cfg.reference {
        Some((s, w)) => {
            let find = |m: &str| with_profile.iter().find(|(n, _)| *n == m).copied();
            (find(s)?, find(w)?)
        }
        None => {
            let by = |a: &&(&str, super::profiles::Skills),
                      b: &&(&str, super::profiles::Skills)| {
                a.1.general.total_cmp(&b.1.general)
            };
            let s = *with_profile.iter().max_by(by)?;
            let w = *with_profile.iter().min_by(by)?;
            (s, w)
        }
    };
    (strong.0 != weak.0).then(|| ReferencePair {
        strong: strong.0.to_owned(),
        weak: weak.0.to_owned(),
        strong_skills: strong.1,
        weak_skills: weak.1,
    })
}

/// Mean training cost per model (the cost estimate the modes order candidates by).
pub fn mean_costs(ds: &Dataset, idx: &[usize]) -> Vec<f64> {
    let mut sum = vec![0.0; ds.models.len()];
    let mut n = vec![0usize; ds.models.len()];
    for &i in idx {
        for (m, c) in ds.items[i].costs.iter().enumerate() {
            if let Some(c) = c {
                sum[m] += c;
                n[m] += 1;
            }
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, &n)| if n > 0 { s / n as f64 } else { f64::INFINITY })
        .collect()
}

/// Out-of-fold predictions on the training items: head predictions per model and, when
/// items are embedded, their nearest training neighbours (ranked) from the other folds.
struct OutOfFold {
    /// (item, head prediction per dataset model, neighbour item ids, their similarities).
    rows: Vec<OofRow>,
    /// Base rate per dataset model on the training items (the kNN prior).
    priors: Vec<f64>,
    costs: Vec<f64>,
    /// The trust ramp of gated choices: the 10th and 50th percentiles of the rows'
    /// nearest-neighbour similarity. A prompt whose nearest training prompt is as close as a
    /// typical training prompt's gets the full kNN weight; one less similar than nine in ten
    /// gets none.
    trust: [f32; 2],
}

fn out_of_fold(
    ds: &Dataset,
    feats: &[Features],
    train_idx: &[usize],
    cfg: &FitConfig,
) -> OutOfFold {
    let sub = ds.subset(train_idx);
    let folds = grouped_folds(&sub, cfg.calibration_folds, cfg.seed ^ 0x5eed);
    let inner = FitConfig {
        calibration_folds: 0,
        ..cfg.clone()
    };
    let k_max = cfg.knn.k_grid.iter().copied().max().unwrap_or(0);
    let embedded = train_idx.iter().any(|&i| !feats[i].embedding.is_empty()) && k_max > 0;
    let mut rows = Vec::new();
    for k in 0..cfg.calibration_folds {
        let fit_idx: Vec<usize> = (0..sub.items.len())
            .filter(|&j| folds[j] != k)
            .map(|j| train_idx[j])
            .collect();
        let heads = fit_heads(ds, feats, &fit_idx, &inner);
        let cols: Vec<Option<usize>> = ds
            .models
            .iter()
            .map(|m| heads.iter().position(|h| &h.model == m))
            .collect();
        let with: Vec<usize> = fit_idx
            .iter()
            .copied()
            .filter(|&i| !feats[i].embedding.is_empty())
            .collect();
        let index = embedded.then(|| build_knn(ds, feats, &fit_idx, k_max, 1.0));
        let mut nb = Vec::new();
        let mut sims = Vec::new();
        for j in (0..sub.items.len()).filter(|&j| folds[j] == k) {
            let i = train_idx[j];
            let preds = cols
                .iter()
                .map(|c| c.map(|c| heads[c].predict(&feats[i])))
                .collect();
            nb.clear();
            sims.clear();
            if let Some(index) = &index {
                index.neighbours(&feats[i].embedding, k_max, &mut nb);
                index.similarities(&feats[i].embedding, &nb, &mut sims);
            }
            rows.push((
                i,
                preds,
                nb.iter().map(|&r| with[r as usize]).collect(),
                sims.clone(),
            ));
        }
    }
    let mut sum = vec![0.0; ds.models.len()];
    let mut n = vec![0usize; ds.models.len()];
    for &i in train_idx {
        for (m, s) in ds.items[i].scores.iter().enumerate() {
            if let Some(s) = s {
                sum[m] += s;
                n[m] += 1;
            }
        }
    }
    let mut tops: Vec<f32> = rows.iter().filter_map(|r| r.3.first().copied()).collect();
    tops.sort_by(f32::total_cmp);
    let at = |q: f64| {
        tops.get(((tops.len() as f64 - 1.0) * q).round() as usize)
            .copied()
    };
    let trust = match (at(0.1), at(0.5)) {
        (Some(lo), Some(hi)) => [lo, hi],
        _ => [0.0, 0.0],
    };
    OutOfFold {
        trust,
        rows,
        priors: sum
            .iter()
            .zip(&n)
            .map(|(s, &n)| if n > 0 { s / n as f64 } else { 0.5 })
            .collect(),
        costs: mean_costs(ds, train_idx),
    }
}

impl OutOfFold {
    /// The blended prediction of model `m` for row `r`.
    fn predict(&self, ds: &Dataset, r: usize, m: usize, c: KnnChoice) -> Option<f64> {
        let (_, preds, nb, sims) = &self.rows[r];
        let p = preds[m]?;
        if c.blend <= 0.0 || nb.is_empty() {
            return Some(p);
        }
        let scores = nb
            .iter()
            .take(c.k)
            .map(|&j| ds.items[j].scores[m].unwrap_or(f64::NAN));
        let e = weighted_mean(self.priors[m], scores, sims, c.temperature);
        let mut w = f64::from(c.blend);
        if c.gated {
            w *= sims.first().map_or(0.0, |&top| trust_ramp(self.trust, top));
        }
        Some((1.0 - w) * p + w * e)
    }

    /// The models scored (with a prediction) on row `r`: its candidate set.
    fn key(&self, ds: &Dataset, r: usize) -> Vec<usize> {
        let (i, preds, _, _) = &self.rows[r];
        (0..ds.models.len())
            .filter(|&m| preds[m].is_some() && ds.items[*i].scores[m].is_some())
            .collect()
    }

    /// Rows per candidate set, for sets of two or more models.
    fn pools(&self, ds: &Dataset) -> std::collections::BTreeMap<Vec<usize>, Vec<usize>> {
        let mut pools: std::collections::BTreeMap<Vec<usize>, Vec<usize>> =
            std::collections::BTreeMap::new();
        for r in 0..self.rows.len() {
            let key = self.key(ds, r);
            if key.len() >= 2 {
                pools.entry(key).or_default().push(r);
            }
        }
        pools
    }

    /// The kNN choice of the grid with the lowest squared error of the predictions'
    /// deviations from the prompt's mean (what routing between models needs) over `rows`.
    fn tune_rows(&self, ds: &Dataset, grid: &KnnConfig, rows: &[usize]) -> KnnChoice {
        let embedded = rows.iter().any(|&r| !self.rows[r].2.is_empty());
        let default = KnnChoice {
            k: grid.k_grid.first().copied().unwrap_or(1),
            blend: 0.0,
            temperature: 0.0,
            gated: false,
        };
        if !embedded {
            return default;
        }
        let mut best = (f64::INFINITY, default);
        let mut p = Vec::new();
        let mut y = Vec::new();
        let temps: &[f32] = if grid.temperature_grid.is_empty() {
            &[0.0]
        } else {
            &grid.temperature_grid
        };
        let gates: &[bool] = if grid.try_gate {
            &[false, true]
        } else {
            &[false]
        };
        let combos = grid.k_grid.iter().flat_map(|&k| {
            grid.blend_grid.iter().flat_map(move |&blend| {
                temps.iter().flat_map(move |&temperature| {
                    gates.iter().map(move |&gated| KnnChoice {
                        k,
                        blend,
                        temperature,
                        gated,
                    })
                })
            })
        });
        for c in combos {
            let mut loss = 0.0;
            for &r in rows {
                let i = self.rows[r].0;
                p.clear();
                y.clear();
                for m in 0..ds.models.len() {
                    if let (Some(pm), Some(ym)) = (self.predict(ds, r, m, c), ds.items[i].scores[m])
                    {
                        p.push(pm);
                        y.push(ym);
                    }
                }
                if p.is_empty() {
                    continue;
                }
                let n = p.len() as f64;
                let (pm, ym) = (p.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
                // Routing ranks models against each other on a prompt, so the loss is
                // on deviations from the prompt's mean (the gap between models).
                for (a, b) in p.iter().zip(&y) {
                    loss += ((a - pm) - (b - ym)).powi(2);
                }
            }
            if loss < best.0 {
                best = (loss, c);
            }
        }
        best.1
    }

    /// The global kNN choice over every row, and one per candidate set seen on at least
    /// [`MIN_POOL_ITEMS`] rows: a pair of models and an 11-model pool need not share one.
    fn tune(&self, ds: &Dataset, grid: &KnnConfig) -> Tuned {
        let all: Vec<usize> = (0..self.rows.len()).collect();
        let global = self.tune_rows(ds, grid, &all);
        let pools = self
            .pools(ds)
            .into_iter()
            .filter(|(_, rows)| rows.len() >= MIN_POOL_ITEMS)
            .map(|(key, rows)| {
                let choice = self.tune_rows(ds, grid, &rows);
                (key, choice)
            })
            .collect();
        Tuned { global, pools }
    }

    /// Global bands over every row, and bands per candidate set seen on at least
    /// [`MIN_POOL_ITEMS`] rows (each set predicted with its own kNN choice).
    fn calibrate(&self, ds: &Dataset, tuned: &Tuned, cfg: &FitConfig) -> (Bands, Vec<PoolBands>) {
        let cands_of = |r: usize, c: KnnChoice| -> Candidates {
            let i = self.rows[r].0;
            (0..ds.models.len())
                .filter_map(|m| {
                    let p = self.predict(ds, r, m, c)?;
                    let s = ds.items[i].scores[m]?;
                    Some((p, s, self.costs[m]))
                })
                .collect()
        };
        let all: Vec<Candidates> = (0..self.rows.len())
            .map(|r| cands_of(r, tuned.global))
            .filter(|c| c.len() >= 2)
            .collect();
        let pools = self
            .pools(ds)
            .into_iter()
            .filter(|(_, rows)| rows.len() >= MIN_POOL_ITEMS)
            .map(|(key, rows)| {
                let choice = tuned.pools.get(&key).copied().unwrap_or(tuned.global);
                let items: Vec<Candidates> = rows.iter().map(|&r| cands_of(r, choice)).collect();
                PoolBands {
                    models: key.iter().map(|&m| ds.models[m].clone()).collect(),
                    bands: calibrate(&items, &cfg.targets),
                    items: items.len(),
                    incumbent: best_single(&items).map(|j| ds.models[key[j]].clone()),
                    knn: (choice.blend > 0.0 || tuned.global.blend > 0.0).then_some(choice),
                }
            })
            .collect();
        (calibrate(&all, &cfg.targets), pools)
    }
}

/// The kNN choices of the inner cross-validation: global and per candidate set.
struct Tuned {
    global: KnnChoice,
    pools: std::collections::BTreeMap<Vec<usize>, KnnChoice>,
}

/// One out-of-fold row: item, head prediction per dataset model, neighbour item ids (most
/// similar first) and their similarities.
type OofRow = (usize, Vec<Option<f64>>, Vec<usize>, Vec<f32>);

/// `(predicted, realised, cost)` of each candidate scored on one prompt.
type Candidates = Vec<(f64, f64, f64)>;

/// Fewest calibration prompts for a candidate set to get bands of its own.
pub const MIN_POOL_ITEMS: usize = 100;

/// Fits one logistic head per model that has scored items among `idx`.
pub fn fit_heads(ds: &Dataset, feats: &[Features], idx: &[usize], cfg: &FitConfig) -> Vec<Head> {
    let dim = 1usize << cfg.features.bits;
    let mut heads = Vec::new();
    for (m, model) in ds.models.iter().enumerate() {
        let mut rows: Vec<(usize, f64, f64)> = idx
            .iter()
            .filter_map(|&i| ds.items[i].scores[m].map(|s| (i, s, 1.0)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        if cfg.family_balance > 0.0 {
            balance_families(ds, &mut rows, cfg.family_balance);
        }
        heads.push(fit_head(model, &rows, feats, dim, cfg));
    }
    heads
}

/// Sets each row's weight to `n^-exponent` for its family's row count `n`, scaled so the
/// weights average 1 (the learning rate keeps its meaning).
fn balance_families(ds: &Dataset, rows: &mut [(usize, f64, f64)], exponent: f64) {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in rows.iter() {
        *counts.entry(ds.items[r.0].family()).or_default() += 1;
    }
    for r in rows.iter_mut() {
        r.2 = (counts[ds.items[r.0].family()] as f64).powf(-exponent);
    }
    let mean = rows.iter().map(|r| r.2).sum::<f64>() / rows.len() as f64;
    for r in rows.iter_mut() {
        r.2 /= mean;
    }
}

fn fit_head(
    model: &str,
    rows: &[(usize, f64, f64)],
    feats: &[Features],
    dim: usize,
    cfg: &FitConfig,
) -> Head {
    let mean = rows.iter().map(|r| r.1 * r.2).sum::<f64>() / rows.iter().map(|r| r.2).sum::<f64>();
    let mean = mean.clamp(1e-3, 1.0 - 1e-3);
    // Start at the base rate so regularisation shrinks towards it, not towards 0.5.
    let mut bias = (mean / (1.0 - mean)).ln();
    let mut w = vec![0.0f64; dim];
    let mut g2 = vec![1e-8f64; dim];
    let mut g2_bias = 1e-8f64;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut rng = SplitMix(cfg.seed ^ fnv_str(model));
    let lr = cfg.learning_rate;
    for _ in 0..cfg.epochs {
        rng.shuffle(&mut order);
        for &r in &order {
            let (i, y, weight) = rows[r];
            let f = &feats[i];
            let mut z = bias;
            for (&k, &v) in f.idx.iter().zip(&f.val) {
                z += w[k as usize] * f64::from(v);
            }
            let p = 1.0 / (1.0 + (-z).exp());
            let g = (p - y) * weight;
            g2_bias += g * g;
            bias -= lr * g / g2_bias.sqrt();
            for (&k, &v) in f.idx.iter().zip(&f.val) {
                let k = k as usize;
                let gk = g * f64::from(v) + cfg.l2 * w[k];
                g2[k] += gk * gk;
                w[k] -= lr * gk / g2[k].sqrt();
            }
        }
    }
    Head {
        model: model.to_owned(),
        bias: bias as f32,
        weights: w.into_iter().map(|x| x as f32).collect(),
    }
}

fn fnv_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A small deterministic generator (SplitMix64): reproducible across platforms and crate
/// versions, which `rand`'s `StdRng` does not promise.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_families() -> Dataset {
        let line = |id: usize, task: &str| {
            format!(
                r#"{{"id":"{id}","task":"{task}","prompt":"p{id}","scores":{{"m":1}},"costs_usd":{{"m":0.1}}}}"#
            )
        };
        let text: Vec<String> = (0..9)
            .map(|i| line(i, if i < 8 { "big/x" } else { "small" }))
            .collect();
        Dataset::from_jsonl("two.jsonl", &text.join("\n")).unwrap()
    }

    fn weights(exponent: f64) -> Vec<f64> {
        let ds = two_families();
        let mut rows: Vec<(usize, f64, f64)> = (0..9).map(|i| (i, 1.0, 1.0)).collect();
        balance_families(&ds, &mut rows, exponent);
        rows.iter().map(|r| r.2).collect()
    }

    #[test]
    fn family_balance_evens_out_families_and_keeps_the_mean_weight() {
        for exponent in [0.0, 0.5, 1.0] {
            let w = weights(exponent);
            assert!((w.iter().sum::<f64>() / 9.0 - 1.0).abs() < 1e-12);
            // Eight items of one family against one of the other: 8^exponent to 1 per item.
            assert!((w[8] / w[0] - 8f64.powf(exponent)).abs() < 1e-9, "{w:?}");
        }
        let w = weights(1.0);
        assert!(
            (w[..8].iter().sum::<f64>() - w[8]).abs() < 1e-9,
            "whole families weigh alike"
        );
    }
}
