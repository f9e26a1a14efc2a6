//! Routing strategies for routewise: which deployment serves a request.

mod estimator;
mod pool;

pub use estimator::{PromptView, QualityEstimator};
pub use pool::{CapabilityProfile, Deployment, Pool, Price, looks_like_reasoning_model};
