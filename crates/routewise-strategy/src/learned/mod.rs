//! A trained quality estimator for local routing, Foundry-style modes, and the training and
//! evaluation library behind `routewise train` and `routewise eval`.
//!
//! * [`TrainedEstimator`]: per-model logistic heads over hashed word/character n-grams and
//!   code/maths/extraction/length/turn cues; models without a head are scored through their
//!   [`CapabilityProfile`](crate::CapabilityProfile) and a reference pair of heads
//!   ([`ReferencePair::score`]).
//! * Optionally (feature `embeddings`, weights from `scripts/fetch-minilm.sh`), a cosine
//!   [`KnnIndex`] over all-MiniLM-L6-v2 embeddings of the training prompts, blended into the
//!   heads; without an embedder the same artifact routes on the heads alone.
//! * [`select`]: the cheapest candidate within a calibrated band of the best prediction;
//!   [`TrainedEstimator::bands_for`] gives the bands calibrated for a candidate set.
//! * [`train()`], [`eval::run`], [`cv::cross_validate`]: the offline tooling.
//!
//! The router only ever sees a [`PromptView`](crate::PromptView): a dataset's `task` label is
//! used for reports, baselines and, at training time only, to weigh task families evenly
//! ([`FitConfig::family_balance`]), never for routing.

mod artifact;
mod band;
pub mod cv;
mod data;
mod embed;
mod error;
mod estimator;
pub mod eval;
mod features;
mod knn;
pub mod metrics;
#[cfg(feature = "embeddings")]
mod minilm;
pub mod profiles;
mod question;
mod report;
mod train;
mod vectors;

pub use band::{
    BandTargets, Bands, Mode, PoolBands, Selection, best_single, calibrate, select,
    select_penalised, select_with, select_within,
};
pub use data::{Dataset, Item};
pub use embed::{
    EMBED_WINDOW, EmbedderHandle, EmbeddingChoice, TextEmbedder, embed_text, minilm_dir,
};
pub use error::LearnedError;
pub use estimator::{ArtifactMeta, Head, TrainedEstimator};
pub use features::{FeatureConfig, Features, TaskSignals};
pub use knn::{KnnChoice, KnnIndex};
#[cfg(feature = "embeddings")]
pub use minilm::{DEFAULT_MAX_TOKENS, MiniLm};
pub use profiles::{ReferencePair, Skills};
pub use train::{
    FitConfig, KnnConfig, MIN_POOL_ITEMS, SplitMix, TrainConfig, TrainSummary, featurize_all,
    featurize_with, fit, fit_heads, fit_on, mean_costs, train, view_of,
};
pub use vectors::{embed_dataset, resolve_embedder, why_no_embeddings};
