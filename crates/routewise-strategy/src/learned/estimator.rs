//! The trained estimator: per-model logistic heads over hashed prompt features, plus a
//! profile mapping for models without a head.

use std::cell::RefCell;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::band::{Bands, Mode, Selection, select};
use super::error::LearnedError;
use super::features::{FeatureConfig, Features};
use super::profiles::{ReferencePair, Skills, builtin};
use crate::{Deployment, PromptView, QualityEstimator};

/// One per-model logistic head: `P(correct) = sigmoid(bias + w · x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The model id this head scores (matched against `Deployment::model`).
    pub model: String,
    /// Intercept.
    pub bias: f32,
    /// Dense weights over the hashed feature space.
    pub weights: Vec<f32>,
}

impl Head {
    /// The predicted probability of a correct answer for these features.
    pub fn predict(&self, f: &Features) -> f64 {
        let mut z = self.bias;
        for (&i, &v) in f.idx.iter().zip(&f.val) {
            z += self.weights.get(i as usize).copied().unwrap_or(0.0) * v;
        }
        1.0 / (1.0 + (-f64::from(z)).exp())
    }
}

/// Facts about how an artifact was made, shown in reports and the model card.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    /// Data files it was trained on (file names only).
    pub trained_on: Vec<String>,
    /// Number of training items.
    pub items: usize,
    /// Free-form note (licence of the data, tool version).
    pub note: String,
}

/// A trained [`QualityEstimator`].
///
/// ```
/// use routewise_strategy::learned::TrainedEstimator;
/// use routewise_strategy::{Deployment, PromptView, QualityEstimator};
/// let est = TrainedEstimator::default_artifact().unwrap();
/// let pool = [Deployment::new("gpt-4.1-nano"), Deployment::new("gpt-5.2")];
/// let cands: Vec<&Deployment> = pool.iter().collect();
/// let mut out = Vec::new();
/// est.estimate(&PromptView::from_text("Prove that sqrt(2) is irrational."), &cands, &mut out);
/// assert_eq!(out.len(), 2);
/// assert!(out[1] > out[0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedEstimator {
    pub(crate) name: String,
    pub(crate) features: FeatureConfig,
    pub(crate) heads: Vec<Head>,
    pub(crate) reference: Option<ReferencePair>,
    pub(crate) bands: Bands,
    pub(crate) meta: ArtifactMeta,
}

thread_local! {
    static SCRATCH: RefCell<Features> = RefCell::new(Features::default());
}

/// The artifact shipped with the crate (trained on the Apache-2.0 RouteLLM files).
static DEFAULT_ARTIFACT: &[u8] = include_bytes!("../../assets/default-router.rwqe");

impl TrainedEstimator {
    /// Builds an estimator from its parts (training does this).
    pub fn new(
        features: FeatureConfig,
        heads: Vec<Head>,
        reference: Option<ReferencePair>,
        bands: Bands,
        meta: ArtifactMeta,
    ) -> Self {
        Self {
            name: "trained".into(),
            features,
            heads,
            reference,
            bands,
            meta,
        }
    }

    /// Loads the artifact shipped with the crate.
    ///
    /// # Errors
    /// Only if the embedded artifact is corrupt (a build defect).
    pub fn default_artifact() -> Result<Self, LearnedError> {
        Self::from_bytes(DEFAULT_ARTIFACT)
    }

    /// Loads an artifact file written by [`TrainedEstimator::save`].
    ///
    /// # Errors
    /// I/O failures and malformed artifacts.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, LearnedError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| LearnedError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Writes the artifact to `path`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), LearnedError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_bytes()).map_err(|e| LearnedError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Sets the name reported by [`QualityEstimator::name`].
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Replaces the calibrated bands.
    pub fn with_bands(mut self, bands: Bands) -> Self {
        self.bands = bands;
        self
    }

    /// The calibrated band widths.
    pub fn bands(&self) -> Bands {
        self.bands
    }

    /// The feature configuration.
    pub fn feature_config(&self) -> &FeatureConfig {
        &self.features
    }

    /// The trained heads.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The reference pair used for models without a head.
    pub fn reference(&self) -> Option<&ReferencePair> {
        self.reference.as_ref()
    }

    /// How the artifact was made.
    pub fn meta(&self) -> &ArtifactMeta {
        &self.meta
    }

    /// The index of the head for `model` (exact, then case-insensitive).
    pub fn head_index(&self, model: &str) -> Option<usize> {
        self.heads
            .iter()
            .position(|h| h.model == model)
            .or_else(|| {
                self.heads
                    .iter()
                    .position(|h| h.model.eq_ignore_ascii_case(model))
            })
    }

    /// Extracts the features of a prompt into `out`.
    pub fn featurize(&self, prompt: &PromptView<'_>, out: &mut Features) {
        self.features.extract(prompt, out);
    }

    /// Scores each candidate on already-extracted features.
    pub fn estimate_features(&self, f: &Features, candidates: &[&Deployment], out: &mut Vec<f64>) {
        let mut reference: Option<(f64, f64)> = None;
        for d in candidates {
            if let Some(h) = self
                .head_index(&d.model)
                .or_else(|| self.head_index(&d.name))
            {
                out.push(self.heads[h].predict(f));
                continue;
            }
            let skills = d.profile.as_ref().map(Skills::of).or_else(|| {
                builtin(&d.model)
                    .or_else(|| builtin(&d.name))
                    .map(|k| k.skills)
            });
            let (Some(pair), Some(skills)) = (&self.reference, skills) else {
                // Nothing known about the model: it scores as the mean of the heads.
                out.push(self.mean_head(f));
                continue;
            };
            let (ps, pw) = *reference.get_or_insert_with(|| {
                let ps = self
                    .head_index(&pair.strong)
                    .map_or(0.5, |i| self.heads[i].predict(f));
                let pw = self
                    .head_index(&pair.weak)
                    .map_or(0.5, |i| self.heads[i].predict(f));
                (ps, pw)
            });
            out.push(pair.score(ps, pw, &f.signals, &skills));
        }
    }

    fn mean_head(&self, f: &Features) -> f64 {
        if self.heads.is_empty() {
            return 0.5;
        }
        self.heads.iter().map(|h| h.predict(f)).sum::<f64>() / self.heads.len() as f64
    }

    /// Scores candidates and picks one for `mode` with the calibrated bands.
    /// `costs` is the expected cost of each candidate (any unit; only the order matters).
    pub fn route(
        &self,
        prompt: &PromptView<'_>,
        candidates: &[&Deployment],
        costs: &[f64],
        mode: Mode,
        scores: &mut Vec<f64>,
    ) -> Option<Selection> {
        scores.clear();
        self.estimate(prompt, candidates, scores);
        select(scores, costs, mode, &self.bands)
    }
}

impl QualityEstimator for TrainedEstimator {
    fn name(&self) -> &str {
        &self.name
    }

    fn estimate(&self, prompt: &PromptView<'_>, candidates: &[&Deployment], out: &mut Vec<f64>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut f) => {
                self.featurize(prompt, &mut f);
                self.estimate_features(&f, candidates, out);
            }
            Err(_) => {
                let mut f = Features::default();
                self.featurize(prompt, &mut f);
                self.estimate_features(&f, candidates, out);
            }
        });
    }
}
