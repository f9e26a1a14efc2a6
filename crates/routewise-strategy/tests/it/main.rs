//! Integration tests for `routewise-strategy`, linked as one binary: one link and one
//! copy on disk instead of one per file (the CI disk budget is finite).

mod learned_data;
mod learned_estimator;
mod learned_metrics;
mod learned_minilm;
mod learned_shared_cv;
