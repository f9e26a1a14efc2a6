//! A cosine nearest-neighbour estimate over sentence embeddings of the training prompts.
//!
//! Each training prompt keeps its embedding (int8 with a per-vector scale: a quarter of
//! `f32`, and cosine error far below neighbour-rank noise) and its observed score per model.
//! A prompt's kNN estimate for a model is the mean score of its `k` most similar training
//! prompts, shrunk towards the model's base rate by [`PRIOR_WEIGHT`] pseudo-neighbours.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

/// Pseudo-neighbours at the model's base rate added to every estimate (shrinkage).
pub const PRIOR_WEIGHT: f64 = 2.0;

/// The kNN index stored in an artifact.
#[derive(Clone, PartialEq)]
pub struct KnnIndex {
    pub(crate) dim: usize,
    /// `n × dim` quantised vectors.
    pub(crate) vectors: Vec<i8>,
    /// Per-vector dequantisation scale.
    pub(crate) scales: Vec<f32>,
    /// Model ids, in the column order of `scores`.
    pub(crate) models: Vec<String>,
    /// `n × models` observed scores; NaN where a model was not scored.
    pub(crate) scores: Vec<f32>,
    /// Per-model base rate over the index.
    pub(crate) priors: Vec<f32>,
    /// Neighbours per estimate.
    pub(crate) k: usize,
    /// Weight of the kNN estimate in the blend with the heads (0..1).
    pub(crate) blend: f32,
    /// Similarity temperature of the neighbour weights (0 = every neighbour counts once).
    pub(crate) temperature: f32,
    /// The trust ramp of a gated choice ([`KnnChoice::gated`]): the nearest neighbour's
    /// similarity below which the kNN gets no weight, and from which it gets all of it.
    pub(crate) trust: [f32; 2],
    /// Whether the global choice is gated by the trust ramp.
    pub(crate) gated: bool,
}

// Megabytes of vectors and scores would flood any log line or panic message that shows a
// router, so `Debug` summarises them.
impl std::fmt::Debug for KnnIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnnIndex")
            .field("dim", &self.dim)
            .field("vectors", &self.scales.len())
            .field("models", &self.models)
            .field("k", &self.k)
            .field("blend", &self.blend)
            .field("temperature", &self.temperature)
            .field("trust", &self.trust)
            .field("gated", &self.gated)
            .finish_non_exhaustive()
    }
}

/// How the kNN component is used: neighbours, blend weight against the heads, and the
/// temperature of the similarity weights (chosen by inner cross-validation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnnChoice {
    /// Neighbours per estimate.
    pub k: usize,
    /// Weight of the kNN estimate in the blend (0..1).
    pub blend: f32,
    /// Neighbour `j` weighs `exp((sim_j − sim_1) / temperature)` against the most similar
    /// one; 0 weighs all `k` equally.
    #[serde(default)]
    pub temperature: f32,
    /// Scales the blend weight by how near the nearest neighbour is ([`KnnIndex::trust`]):
    /// a prompt unlike anything in the index is routed by the heads alone.
    #[serde(default)]
    pub gated: bool,
}

/// Per-thread scratch: the quantised query and (similarity, row) pairs.
type Scratch = (Vec<i8>, Vec<(f32, u32)>);

thread_local! {
    static SIMS: RefCell<Scratch> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Quantises `v` to int8 into `out`, returning the scale.
pub(crate) fn quantise(v: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    out.extend(
        v.iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    // Chunks of 16 with i32 lanes let the compiler vectorise the loop.
    let mut acc = [0i32; 16];
    let mut ca = a.chunks_exact(16);
    let mut cb = b.chunks_exact(16);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..16 {
            acc[l] += i32::from(x[l]) * i32::from(y[l]);
        }
    }
    let rest: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    acc.iter().sum::<i32>() + rest
}

impl KnnIndex {
    /// Builds an index from L2-normalised `vectors` and per-model `scores` rows.
    /// Rows with an empty vector are skipped.
    pub fn build(
        models: Vec<String>,
        vectors: &[&[f32]],
        scores: &[Vec<Option<f64>>],
        k: usize,
        blend: f32,
    ) -> Self {
        let dim = vectors.iter().map(|v| v.len()).max().unwrap_or(0);
        let mut q = Vec::new();
        let mut scales = Vec::new();
        let mut s = Vec::new();
        let mut sum = vec![0.0f64; models.len()];
        let mut n = vec![0usize; models.len()];
        for (v, row) in vectors.iter().zip(scores) {
            if v.len() != dim || dim == 0 {
                continue;
            }
            scales.push(quantise(v, &mut q));
            for (m, x) in row.iter().enumerate().take(models.len()) {
                s.push(x.map_or(f32::NAN, |x| x as f32));
                if let Some(x) = x {
                    sum[m] += x;
                    n[m] += 1;
                }
            }
        }
        let priors = sum
            .iter()
            .zip(&n)
            .map(|(s, &n)| if n > 0 { (s / n as f64) as f32 } else { 0.5 })
            .collect();
        Self {
            dim,
            vectors: q,
            scales,
            models,
            scores: s,
            priors,
            k: k.max(1),
            blend: blend.clamp(0.0, 1.0),
            temperature: 0.0,
            trust: [0.0, 0.0],
            gated: false,
        }
    }

    /// Sets the trust ramp of gated choices: no kNN weight when the nearest neighbour's
    /// similarity is at most `low`, full weight from `high` (training takes both from the
    /// out-of-fold distribution of that similarity).
    pub fn with_trust(mut self, low: f32, high: f32) -> Self {
        self.trust = [low, high];
        self
    }

    /// Sets whether the global choice is gated by the trust ramp.
    pub fn with_gate(mut self, gated: bool) -> Self {
        self.gated = gated;
        self
    }

    /// The share of a gated choice's blend weight given to a prompt whose nearest neighbour
    /// has similarity `top`: 0 at or below the ramp's low end, 1 from its high end.
    pub fn trust(&self, top: f32) -> f64 {
        trust_ramp(self.trust, top)
    }

    /// Sets the similarity temperature of the global choice (0 = uniform weights).
    pub fn with_temperature(mut self, t: f32) -> Self {
        self.temperature = t.max(0.0);
        self
    }

    /// The index's global choice of `k`, blend and temperature.
    pub fn choice(&self) -> KnnChoice {
        KnnChoice {
            k: self.k,
            blend: self.blend,
            temperature: self.temperature,
            gated: self.gated,
        }
    }

    /// The cosine similarity of `query` to each row in `neighbours`, into `out` (cleared).
    pub fn similarities(&self, query: &[f32], neighbours: &[u32], out: &mut Vec<f32>) {
        out.clear();
        if query.len() != self.dim {
            return;
        }
        out.extend(neighbours.iter().map(|&j| {
            let j = j as usize;
            let row = &self.vectors[j * self.dim..(j + 1) * self.dim];
            let dot: f32 = row.iter().zip(query).map(|(&a, &b)| f32::from(a) * b).sum();
            dot * self.scales[j]
        }));
    }

    /// Indexed prompts.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// The embedding length the index expects.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Neighbours per estimate.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Weight of the kNN estimate against the heads.
    pub fn blend(&self) -> f32 {
        self.blend
    }

    /// The model columns.
    pub fn models(&self) -> &[String] {
        &self.models
    }

    /// Column of `model` (exact, then case-insensitive).
    pub fn column(&self, model: &str) -> Option<usize> {
        self.models.iter().position(|m| m == model).or_else(|| {
            self.models
                .iter()
                .position(|m| m.eq_ignore_ascii_case(model))
        })
    }

    /// Pushes the indices of the `k` most similar rows onto `out`, most similar first.
    pub fn neighbours(&self, query: &[f32], k: usize, out: &mut Vec<u32>) {
        if query.len() != self.dim || self.is_empty() {
            return;
        }
        SIMS.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (qv, sims) = &mut *guard;
            qv.clear();
            quantise(query, qv);
            sims.clear();
            sims.extend(
                self.vectors
                    .chunks_exact(self.dim)
                    .zip(&self.scales)
                    .enumerate()
                    .map(|(i, (v, &s))| (dot_i8(qv, v) as f32 * s, i as u32)),
            );
            let k = k.min(sims.len());
            if k == 0 {
                return;
            }
            let by = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if k < sims.len() {
                sims.select_nth_unstable_by(k - 1, by);
            }
            let top = &mut sims[..k];
            top.sort_unstable_by(by);
            out.extend(top.iter().map(|p| p.1));
        });
    }

    /// The kNN estimate of column `m` from the first `k` of `neighbours`.
    pub fn estimate(&self, neighbours: &[u32], k: usize, m: usize) -> f64 {
        self.estimate_weighted(neighbours, &[], k, m, 0.0)
    }

    /// [`KnnIndex::estimate`] with similarity weights (see [`KnnChoice::temperature`]);
    /// `sims` parallel to `neighbours` (uniform weights when empty or `temperature` is 0).
    pub fn estimate_weighted(
        &self,
        neighbours: &[u32],
        sims: &[f32],
        k: usize,
        m: usize,
        temperature: f32,
    ) -> f64 {
        let w = self.models.len();
        let scores = neighbours
            .iter()
            .take(k)
            .map(|&j| self.scores[j as usize * w + m]);
        weighted_mean(
            f64::from(self.priors[m]),
            scores.map(f64::from),
            sims,
            temperature,
        )
    }
}

/// The trust ramp `[low, high]` read at similarity `top` (1 when the ramp is empty).
pub(crate) fn trust_ramp([low, high]: [f32; 2], top: f32) -> f64 {
    if high <= low {
        return 1.0;
    }
    f64::from(((top - low) / (high - low)).clamp(0.0, 1.0))
}

/// The shrunk, optionally similarity-weighted mean of neighbour `scores` (NaN = unscored):
/// [`PRIOR_WEIGHT`] pseudo-neighbours at `prior`, neighbour `j` weighted
/// `exp((sims[j] − sims[0]) / temperature)` (1 when `temperature` is 0 or `sims` is short).
pub(crate) fn weighted_mean(
    prior: f64,
    scores: impl Iterator<Item = f64>,
    sims: &[f32],
    temperature: f32,
) -> f64 {
    let mut sum = PRIOR_WEIGHT * prior;
    let mut n = PRIOR_WEIGHT;
    let top = sims.first().copied().unwrap_or(0.0);
    for (j, s) in scores.enumerate() {
        if s.is_nan() {
            continue;
        }
        let w = match sims.get(j) {
            Some(&x) if temperature > 0.0 => f64::from((x - top) / temperature).exp(),
            _ => 1.0,
        };
        sum += w * s;
        n += w;
    }
    sum / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rows_drive_the_estimate() {
        let a = [1.0f32, 0.0, 0.0];
        let b = [0.0f32, 1.0, 0.0];
        let c = [0.8f32, 0.6, 0.0];
        let idx = KnnIndex::build(
            vec!["m".into()],
            &[&a, &b, &c],
            &[vec![Some(1.0)], vec![Some(0.0)], vec![None]],
            1,
            0.5,
        );
        let mut nb = Vec::new();
        idx.neighbours(&[0.9, 0.1, 0.0], 2, &mut nb);
        assert_eq!(nb, vec![0, 2]);
        // One real neighbour (1.0) plus two pseudo-neighbours at the prior 0.5.
        assert!((idx.estimate(&nb, 2, 0) - 2.0 / 3.0).abs() < 1e-6);
        nb.clear();
        idx.neighbours(&[0.0, 1.0], 2, &mut nb);
        assert!(nb.is_empty(), "wrong dimension is ignored");
    }

    #[test]
    fn similarity_weights_favour_the_closest_rows() {
        let a = [1.0f32, 0.0];
        let b = [0.6f32, 0.8];
        let idx = KnnIndex::build(
            vec!["m".into()],
            &[&a, &b],
            &[vec![Some(1.0)], vec![Some(0.0)]],
            2,
            1.0,
        );
        let mut nb = Vec::new();
        idx.neighbours(&[1.0, 0.0], 2, &mut nb);
        let mut sims = Vec::new();
        idx.similarities(&[1.0, 0.0], &nb, &mut sims);
        assert!(
            (sims[0] - 1.0).abs() < 0.01 && (sims[1] - 0.6).abs() < 0.01,
            "{sims:?}"
        );
        let uniform = idx.estimate(&nb, 2, 0);
        let sharp = idx.estimate_weighted(&nb, &sims, 2, 0, 0.05);
        assert!((uniform - 0.5).abs() < 1e-6);
        assert!(sharp > 0.6 && sharp < 2.0 / 3.0 + 1e-6, "{sharp}");
    }

    #[test]
    fn trust_ramps_from_low_to_high_similarity() {
        let ramp = [0.4, 0.6];
        assert_eq!(trust_ramp(ramp, 0.3), 0.0);
        assert_eq!(trust_ramp(ramp, 0.4), 0.0);
        assert!((trust_ramp(ramp, 0.5) - 0.5).abs() < 1e-6);
        assert_eq!(trust_ramp(ramp, 0.9), 1.0);
        // An empty ramp (an index trained before gating existed) trusts every prompt.
        assert_eq!(trust_ramp([0.0, 0.0], -1.0), 1.0);
    }

    #[test]
    fn int8_dot_matches_float_cosine() {
        let v: Vec<f32> = (0..40)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 20.0)
            .collect();
        let mut q = Vec::new();
        let s = quantise(&v, &mut q);
        let exact: f32 = v.iter().map(|x| x * x).sum();
        let approx = dot_i8(&q, &q) as f32 * s * s;
        assert!((exact - approx).abs() / exact < 0.01);
    }
}
