//! The trained estimator: per-model logistic heads over hashed prompt features, plus a
//! profile mapping for models without a head.

use std::cell::RefCell;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::band::{Bands, Mode, PoolBands, Selection, select_with};
use super::embed::{EmbedderHandle, embed_text};
use super::error::LearnedError;
use super::features::{FeatureConfig, Features};
use super::knn::{KnnChoice, KnnIndex};
use super::profiles::{ReferencePair, Skills, builtin};
use crate::{Deployment, PromptView, QualityEstimator};

/// One per-model logistic head: `P(correct) = sigmoid(bias + w · x)`.
#[derive(Clone, PartialEq)]
pub struct Head {
    /// The model id this head scores (matched against `Deployment::model`).
    pub model: String,
    /// Intercept.
    pub bias: f32,
    /// Dense weights over the hashed feature space.
    pub weights: Vec<f32>,
}

// A head holds 2^18 weights; `Debug` shows their count, not a megabyte of numbers.
impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("model", &self.model)
            .field("bias", &self.bias)
            .field("weights", &format_args!("[{} weights]", self.weights.len()))
            .finish()
    }
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
    pub(crate) pool_bands: Vec<PoolBands>,
    pub(crate) knn: Option<KnnIndex>,
    pub(crate) embedder: Option<EmbedderHandle>,
    pub(crate) meta: ArtifactMeta,
}

thread_local! {
    static SCRATCH: RefCell<(Features, Vec<u32>, String, Vec<f32>)> =
        RefCell::new((Features::default(), Vec::new(), String::new(), Vec::new()));
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
            pool_bands: Vec::new(),
            knn: None,
            embedder: None,
            meta,
        }
    }

    /// Adds a kNN index over training-prompt embeddings, blended with the heads. It is
    /// used only when an embedder is attached ([`TrainedEstimator::with_embedder`]).
    pub fn with_knn(mut self, knn: KnnIndex) -> Self {
        self.knn = Some(knn);
        self
    }

    /// Attaches the embedder the kNN index was built with.
    pub fn with_embedder(mut self, embedder: EmbedderHandle) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Drops the embedder: routing falls back to the heads alone.
    pub fn without_embedder(mut self) -> Self {
        self.embedder = None;
        self
    }

    /// The kNN index, if the artifact has one.
    pub fn knn(&self) -> Option<&KnnIndex> {
        self.knn.as_ref()
    }

    /// The attached embedder, if any.
    pub fn embedder(&self) -> Option<&EmbedderHandle> {
        self.embedder.as_ref()
    }

    /// True when routing uses the kNN component (an index and a matching embedder).
    pub fn uses_knn(&self) -> bool {
        matches!((&self.knn, &self.embedder), (Some(k), Some(e)) if k.dim() == e.0.dim() && !k.is_empty())
    }

    /// A one-line description of what routes: heads only, or heads blended with a kNN.
    pub fn describe(&self) -> String {
        let heads = format!(
            "{} logistic heads over hashed n-grams + cues",
            self.heads.len()
        );
        match (&self.knn, &self.embedder) {
            (Some(k), Some(e)) if self.uses_knn() => format!(
                "{heads}, blended with a kNN over {} {} embeddings ({})",
                k.len(),
                e.0.name(),
                self.knn_summary()
            ),
            (Some(_), _) => format!(
                "{heads} (the artifact's kNN index is unused: no embedder; build with the \
                 `embeddings` feature and fetch MiniLM)"
            ),
            _ => heads,
        }
    }

    /// The kNN choices (global, then per candidate set) in words: weight, `k`, temperature.
    pub fn knn_summary(&self) -> String {
        let Some(k) = &self.knn else {
            return "no kNN".into();
        };
        let one = |c: KnnChoice| {
            format!(
                "{:.0} % weight{}, k {}, temperature {}",
                100.0 * c.blend,
                if c.gated {
                    " (gated by similarity)"
                } else {
                    ""
                },
                c.k,
                c.temperature
            )
        };
        let mut out = format!("global: {}", one(k.choice()));
        for p in &self.pool_bands {
            if let Some(c) = p.knn {
                out.push_str(&format!("; {}-model set: {}", p.models.len(), one(c)));
            }
        }
        out
    }

    /// Per-candidate-set bands calibrated in training.
    pub fn pool_bands(&self) -> &[PoolBands] {
        &self.pool_bands
    }

    /// Replaces the per-candidate-set bands.
    pub fn with_pool_bands(mut self, pools: Vec<PoolBands>) -> Self {
        self.pool_bands = pools;
        self
    }

    /// The bands for this candidate set: those calibrated for exactly these models (in any
    /// order, matched case-insensitively) when training saw the set, else the global ones.
    /// The candidate set is known at routing time, so this uses nothing a request lacks.
    pub fn bands_for(&self, models: &[&str]) -> Bands {
        self.pool_for(models).map_or(self.bands, |p| p.bands)
    }

    /// The calibrated candidate set that is exactly `models` (any order, case-insensitive).
    pub fn pool_for(&self, models: &[&str]) -> Option<&PoolBands> {
        self.pool_matching(models.iter().copied())
    }

    /// [`pool_for`](Self::pool_for) over any re-iterable list of names, so the per-request
    /// path needs no list of its own.
    fn pool_matching<'m, I>(&self, models: I) -> Option<&PoolBands>
    where
        I: ExactSizeIterator<Item = &'m str> + Clone,
    {
        self.pool_bands.iter().find(|p| {
            p.models.len() == models.len()
                && models
                    .clone()
                    .all(|m| p.models.iter().any(|x| x.eq_ignore_ascii_case(m)))
        })
    }

    /// The index in `models` of the calibrated incumbent of that candidate set (its best
    /// single model in training), which Quality mode keeps unless clearly beaten.
    pub fn incumbent_for(&self, models: &[&str]) -> Option<usize> {
        let name = self.pool_for(models)?.incumbent.as_deref()?;
        models.iter().position(|m| m.eq_ignore_ascii_case(name))
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

    /// The prediction of head `h`, blended with the kNN estimate when `neighbours` (of
    /// `f.embedding`) are given and the index has the head's model.
    pub fn predict_head(&self, h: usize, f: &Features, neighbours: &[u32]) -> f64 {
        let mut sims = Vec::new();
        if let Some(k) = &self.knn
            && (k.temperature > 0.0 || k.gated)
        {
            k.similarities(&f.embedding, neighbours, &mut sims);
        }
        self.predict_head_with(h, f, neighbours, &sims, None)
    }

    /// [`TrainedEstimator::predict_head`] with the neighbours' similarities (`sims`, from
    /// [`KnnIndex::similarities`]; may be empty when the choice neither weighs by similarity
    /// nor is gated) and a kNN
    /// choice (a candidate set's own, [`PoolBands::knn`]; `None` = the index's global one).
    pub fn predict_head_with(
        &self,
        h: usize,
        f: &Features,
        neighbours: &[u32],
        sims: &[f32],
        knn: Option<KnnChoice>,
    ) -> f64 {
        let p = self.heads[h].predict(f);
        match &self.knn {
            Some(k) if !neighbours.is_empty() => match k.column(&self.heads[h].model) {
                Some(m) => {
                    let c = knn.unwrap_or_else(|| k.choice());
                    let mut w = f64::from(c.blend.clamp(0.0, 1.0));
                    if c.gated {
                        // Without the nearest similarity there is nothing to trust.
                        w *= sims.first().map_or(0.0, |&top| k.trust(top));
                    }
                    if w == 0.0 {
                        return p;
                    }
                    let e = k.estimate_weighted(neighbours, sims, c.k, m, c.temperature);
                    (1.0 - w) * p + w * e
                }
                None => p,
            },
            _ => p,
        }
    }

    /// The kNN choice calibrated for exactly these candidates, if any.
    fn knn_for(&self, candidates: &[&Deployment]) -> Option<KnnChoice> {
        self.pool_bands
            .iter()
            .find(|p| {
                p.models.len() == candidates.len()
                    && candidates
                        .iter()
                        .all(|d| p.models.iter().any(|x| x.eq_ignore_ascii_case(&d.model)))
            })
            .and_then(|p| p.knn)
    }

    /// True when some kNN choice reads neighbour similarities (to weigh them, or to gate).
    fn weighs_similarity(&self) -> bool {
        let reads = |c: KnnChoice| c.temperature > 0.0 || c.gated;
        self.knn.as_ref().is_some_and(|k| reads(k.choice()))
            || self.pool_bands.iter().any(|p| p.knn.is_some_and(reads))
    }

    /// Fills `neighbours` from `f.embedding` when the kNN component is active.
    pub fn neighbours(&self, f: &Features, neighbours: &mut Vec<u32>) {
        neighbours.clear();
        if let Some(k) = &self.knn
            && !f.embedding.is_empty()
        {
            // Enough neighbours for the global choice and every candidate set's own.
            let most = self
                .pool_bands
                .iter()
                .filter_map(|p| p.knn.map(|c| c.k))
                .fold(k.k(), usize::max);
            k.neighbours(&f.embedding, most, neighbours);
        }
    }

    /// Scores each candidate on already-extracted features (and `f.embedding`, if set).
    pub fn estimate_features(&self, f: &Features, candidates: &[&Deployment], out: &mut Vec<f64>) {
        let mut nb = Vec::new();
        self.neighbours(f, &mut nb);
        self.estimate_with(f, &nb, &mut Vec::new(), candidates, out);
    }

    fn estimate_with(
        &self,
        f: &Features,
        nb: &[u32],
        sims: &mut Vec<f32>,
        candidates: &[&Deployment],
        out: &mut Vec<f64>,
    ) {
        let mut reference: Option<(f64, f64)> = None;
        let knn = if nb.is_empty() {
            None
        } else {
            self.knn_for(candidates)
        };
        sims.clear();
        if !nb.is_empty()
            && self.weighs_similarity()
            && let Some(k) = &self.knn
        {
            k.similarities(&f.embedding, nb, sims);
        }
        let sims = sims.as_slice();
        for d in candidates {
            if let Some(h) = self
                .head_index(&d.model)
                .or_else(|| self.head_index(&d.name))
            {
                out.push(self.predict_head_with(h, f, nb, sims, knn));
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
                    .map_or(0.5, |i| self.predict_head_with(i, f, nb, sims, knn));
                let pw = self
                    .head_index(&pair.weak)
                    .map_or(0.5, |i| self.predict_head_with(i, f, nb, sims, knn));
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

    /// Extracts features and, when the kNN component is active, the prompt's embedding.
    pub fn featurize_full(&self, prompt: &PromptView<'_>, out: &mut Features, buf: &mut String) {
        self.featurize(prompt, out);
        out.embedding.clear();
        if self.uses_knn()
            && let Some(e) = &self.embedder
            && !e.0.embed_into(embed_text(prompt, buf), &mut out.embedding)
        {
            out.embedding.clear();
        }
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
        let models: Vec<&str> = candidates.iter().map(|d| d.model.as_str()).collect();
        select_with(
            scores,
            costs,
            mode,
            &self.bands_for(&models),
            self.incumbent_for(&models),
        )
    }
}

impl QualityEstimator for TrainedEstimator {
    fn name(&self) -> &str {
        &self.name
    }

    fn calibrated_bands(&self, candidates: &[&Deployment]) -> Option<crate::Bands> {
        let b = self
            .pool_matching(candidates.iter().map(|d| d.model.as_str()))
            .map_or(self.bands, |p| p.bands);
        // Training calibrates widths in absolute predicted-quality points.
        Some(crate::Bands {
            balanced: b.balanced,
            cost: b.cost,
            relative: false,
        })
    }

    fn estimate(&self, prompt: &PromptView<'_>, candidates: &[&Deployment], out: &mut Vec<f64>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut guard) => {
                let (f, nb, buf, sims) = &mut *guard;
                self.featurize_full(prompt, f, buf);
                self.neighbours(f, nb);
                self.estimate_with(f, nb, sims, candidates, out);
            }
            Err(_) => {
                let mut f = Features::default();
                self.featurize_full(prompt, &mut f, &mut String::new());
                self.estimate_features(&f, candidates, out);
            }
        });
    }
}
