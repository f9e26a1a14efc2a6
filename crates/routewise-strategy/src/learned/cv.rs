//! Cross-validation: k folds grouped by prompt text and stratified by task, and
//! leave-one-family-out.

use std::collections::HashMap;

use super::data::Dataset;
use super::error::LearnedError;
use super::eval::{EvalConfig, EvalReport, evaluate_split};
use super::train::{SplitMix, featurize_with};
use super::vectors::resolve_embedder;

/// A fold id per item. Items with identical turns share a group and so a fold (no prompt is
/// on both sides); within each task, groups are shuffled with `seed` and dealt round-robin.
pub fn grouped_folds(ds: &Dataset, k: usize, seed: u64) -> Vec<usize> {
    let k = k.max(1);
    let mut group_of: HashMap<&[String], usize> = HashMap::new();
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, item) in ds.items.iter().enumerate() {
        let g = *group_of.entry(item.turns.as_slice()).or_insert_with(|| {
            groups.push((item.task.as_str(), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(i);
    }
    let mut by_task: HashMap<&str, Vec<usize>> = HashMap::new();
    for (g, (task, _)) in groups.iter().enumerate() {
        by_task.entry(task).or_default().push(g);
    }
    let mut tasks: Vec<&str> = by_task.keys().copied().collect();
    tasks.sort_unstable();
    let mut rng = SplitMix(seed);
    let mut fold = vec![0; ds.items.len()];
    let mut next = 0usize;
    for t in tasks {
        let gs = by_task.get_mut(t).map(std::mem::take).unwrap_or_default();
        let mut gs = gs;
        rng.shuffle(&mut gs);
        for g in gs {
            for &i in &groups[g].1 {
                fold[i] = next % k;
            }
            next += 1;
        }
    }
    fold
}

/// The result of a cross-validation: each fold's report and their mean.
#[derive(Debug, Clone)]
pub struct CvReport {
    /// Per-fold reports.
    pub folds: Vec<EvalReport>,
    /// The mean over folds.
    pub mean: EvalReport,
}

/// `k`-fold grouped cross-validation over `ds` (fit on k−1 folds, evaluate on the rest).
///
/// # Errors
/// Training or evaluation errors of a fold.
pub fn cross_validate(
    ds: &Dataset,
    k: usize,
    seed: u64,
    cfg: &EvalConfig,
) -> Result<CvReport, LearnedError> {
    if k < 2 {
        return Err(LearnedError::Config(
            "cross-validation needs at least 2 folds".into(),
        ));
    }
    let embedder = resolve_embedder(&cfg.fit.embeddings)?;
    let feats = featurize_with(ds, &cfg.fit.features, embedder.as_ref());
    let folds = grouped_folds(ds, k, seed);
    let mut reports = Vec::with_capacity(k);
    for f in 0..k {
        let train: Vec<usize> = (0..ds.items.len()).filter(|&i| folds[i] != f).collect();
        let test: Vec<usize> = (0..ds.items.len()).filter(|&i| folds[i] == f).collect();
        reports.push(evaluate_split(ds, &feats, &train, &test, cfg)?);
    }
    Ok(CvReport {
        mean: EvalReport::mean(&reports),
        folds: reports,
    })
}

/// Trains on every family except `family` and evaluates on `family` alone (out of domain).
///
/// # Errors
/// [`LearnedError::Config`] when the family is absent; training or evaluation errors.
pub fn leave_one_family_out(
    ds: &Dataset,
    family: &str,
    cfg: &EvalConfig,
) -> Result<EvalReport, LearnedError> {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..ds.items.len()).partition(|&i| ds.items[i].family() == family);
    if test.is_empty() {
        return Err(LearnedError::Config(format!(
            "no item of family `{family}`"
        )));
    }
    // No prompt may be on both sides.
    let held: std::collections::HashSet<&[String]> =
        test.iter().map(|&i| ds.items[i].turns.as_slice()).collect();
    let train: Vec<usize> = train
        .into_iter()
        .filter(|&i| !held.contains(ds.items[i].turns.as_slice()))
        .collect();
    let embedder = resolve_embedder(&cfg.fit.embeddings)?;
    let feats = featurize_with(ds, &cfg.fit.features, embedder.as_ref());
    evaluate_split(ds, &feats, &train, &test, cfg)
}
