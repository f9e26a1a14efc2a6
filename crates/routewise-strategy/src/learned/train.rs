//! Training: per-model logistic heads fitted with AdaGrad, then band calibration on
//! out-of-fold predictions.

use std::path::PathBuf;
use std::time::Instant;

use super::band::{BandTargets, Bands, calibrate};
use super::cv::grouped_folds;
use super::data::{Dataset, Item};
use super::error::LearnedError;
use super::estimator::{ArtifactMeta, Head, TrainedEstimator};
use super::features::{FeatureConfig, Features};
use super::profiles::{ReferencePair, builtin};
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

/// Features of every item, in order (what the router would see: turns only).
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

/// The [`PromptView`] of an item: its user turns and nothing else (never its task).
pub fn view_of(item: &Item) -> PromptView<'_> {
    PromptView {
        user_turns: item.turns.iter().map(String::as_str).collect(),
        ..PromptView::default()
    }
}

/// Fits and calibrates on a whole dataset.
///
/// # Errors
/// [`LearnedError::Config`] when no model has a scored item.
pub fn fit(ds: &Dataset, cfg: &FitConfig) -> Result<TrainedEstimator, LearnedError> {
    let feats = featurize_all(ds, &cfg.features);
    let all: Vec<usize> = (0..ds.items.len()).collect();
    fit_on(ds, &feats, &all, cfg)
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
        est.bands = calibrate_bands(ds, feats, train_idx, cfg);
    }
    Ok(est)
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

fn calibrate_bands(
    ds: &Dataset,
    feats: &[Features],
    train_idx: &[usize],
    cfg: &FitConfig,
) -> Bands {
    let sub = ds.subset(train_idx);
    let folds = grouped_folds(&sub, cfg.calibration_folds, cfg.seed ^ 0x5eed);
    let costs = mean_costs(ds, train_idx);
    let inner = FitConfig {
        calibration_folds: 0,
        ..cfg.clone()
    };
    let mut items = Vec::new();
    for k in 0..cfg.calibration_folds {
        let fit_idx: Vec<usize> = (0..sub.items.len())
            .filter(|&j| folds[j] != k)
            .map(|j| train_idx[j])
            .collect();
        let heads = fit_heads(ds, feats, &fit_idx, &inner);
        for j in (0..sub.items.len()).filter(|&j| folds[j] == k) {
            let i = train_idx[j];
            let cands: Vec<(f64, f64, f64)> = heads
                .iter()
                .filter_map(|h| {
                    let m = ds.model_index(&h.model)?;
                    let s = ds.items[i].scores[m]?;
                    Some((h.predict(&feats[i]), s, costs[m]))
                })
                .collect();
            if cands.len() >= 2 {
                items.push(cands);
            }
        }
    }
    calibrate(&items, &cfg.targets)
}

/// Fits one logistic head per model that has scored items among `idx`.
pub fn fit_heads(ds: &Dataset, feats: &[Features], idx: &[usize], cfg: &FitConfig) -> Vec<Head> {
    let dim = 1usize << cfg.features.bits;
    let mut heads = Vec::new();
    for (m, model) in ds.models.iter().enumerate() {
        let rows: Vec<(usize, f64)> = idx
            .iter()
            .filter_map(|&i| ds.items[i].scores[m].map(|s| (i, s)))
            .collect();
        if rows.is_empty() {
            continue;
        }
        heads.push(fit_head(model, &rows, feats, dim, cfg));
    }
    heads
}

fn fit_head(
    model: &str,
    rows: &[(usize, f64)],
    feats: &[Features],
    dim: usize,
    cfg: &FitConfig,
) -> Head {
    let mean = rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64;
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
            let (i, y) = rows[r];
            let f = &feats[i];
            let mut z = bias;
            for (&k, &v) in f.idx.iter().zip(&f.val) {
                z += w[k as usize] * f64::from(v);
            }
            let p = 1.0 / (1.0 + (-z).exp());
            let g = p - y;
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
