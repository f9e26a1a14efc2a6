//! The artifact format: `RWQE`, a version, a JSON header, then each head's weights
//! quantised to `i16` with a per-head scale (half the size of `f32`, error < 1e-4 of the
//! largest weight, far below what the routing decision can notice).
//!
//! Version 2 adds per-candidate-set bands to the header and, optionally, a kNN index after
//! the heads: `n × dim` int8 vectors, `n` f32 scales, and `n × models` u16 scores
//! (`u16::MAX` = not scored). Version 1 files still load.

use serde::{Deserialize, Serialize};

use super::band::{Bands, PoolBands};
use super::error::LearnedError;
use super::estimator::{ArtifactMeta, Head, TrainedEstimator};
use super::features::FeatureConfig;
use super::knn::KnnIndex;
use super::profiles::ReferencePair;

const MAGIC: &[u8; 4] = b"RWQE";
const VERSION: u32 = 2;
const MISSING: u16 = u16::MAX;
const SCORE_SCALE: f32 = (u16::MAX - 1) as f32;

#[derive(Serialize, Deserialize)]
struct KnnHeader {
    dim: usize,
    n: usize,
    models: Vec<String>,
    priors: Vec<f32>,
    k: usize,
    blend: f32,
    #[serde(default)]
    temperature: f32,
    #[serde(default)]
    trust: [f32; 2],
    #[serde(default)]
    gated: bool,
}

#[derive(Serialize, Deserialize)]
struct Header {
    name: String,
    features: FeatureConfig,
    heads: Vec<HeadHeader>,
    reference: Option<ReferencePair>,
    bands: Bands,
    #[serde(default)]
    pool_bands: Vec<PoolBands>,
    #[serde(default)]
    knn: Option<KnnHeader>,
    meta: ArtifactMeta,
}

#[derive(Serialize, Deserialize)]
struct HeadHeader {
    model: String,
    bias: f32,
    scale: f32,
}

fn bad(msg: impl Into<String>) -> LearnedError {
    LearnedError::Artifact(msg.into())
}

impl TrainedEstimator {
    /// Serialises the estimator to the artifact format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let dim = 1usize << self.features.bits;
        let heads = self
            .heads
            .iter()
            .map(|h| {
                let max = h.weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
                HeadHeader {
                    model: h.model.clone(),
                    bias: h.bias,
                    scale: max / f32::from(i16::MAX),
                }
            })
            .collect::<Vec<_>>();
        let header = Header {
            name: self.name.clone(),
            features: self.features.clone(),
            heads,
            reference: self.reference.clone(),
            bands: self.bands,
            pool_bands: self.pool_bands.clone(),
            knn: self.knn.as_ref().map(|k| KnnHeader {
                dim: k.dim,
                n: k.len(),
                models: k.models.clone(),
                priors: k.priors.clone(),
                k: k.k,
                blend: k.blend,
                temperature: k.temperature,
                trust: k.trust,
                gated: k.gated,
            }),
            meta: self.meta.clone(),
        };
        let json = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(12 + json.len() + self.heads.len() * dim * 2);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for (h, hh) in self.heads.iter().zip(&header.heads) {
            let inv = if hh.scale > 0.0 {
                hh.scale.recip()
            } else {
                0.0
            };
            for i in 0..dim {
                let w = h.weights.get(i).copied().unwrap_or(0.0);
                let q = (w * inv)
                    .round()
                    .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
                out.extend_from_slice(&q.to_le_bytes());
            }
        }
        if let Some(k) = &self.knn {
            out.extend(k.vectors.iter().map(|&v| v as u8));
            for s in &k.scales {
                out.extend_from_slice(&s.to_le_bytes());
            }
            for &s in &k.scores {
                let q = if s.is_nan() {
                    MISSING
                } else {
                    (s.clamp(0.0, 1.0) * SCORE_SCALE).round() as u16
                };
                out.extend_from_slice(&q.to_le_bytes());
            }
        }
        out
    }

    /// Parses an artifact produced by [`TrainedEstimator::to_bytes`].
    ///
    /// # Errors
    /// [`LearnedError::Artifact`] for a wrong magic, version, header or length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LearnedError> {
        if bytes.len() < 12 || &bytes[..4] != MAGIC {
            return Err(bad("not a routewise estimator (bad magic)"));
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(4);
        if version != VERSION && version != 1 {
            return Err(bad(format!(
                "version {version}, this build reads {VERSION}"
            )));
        }
        let hlen = word(8) as usize;
        let body = bytes
            .get(12..12 + hlen)
            .ok_or_else(|| bad("truncated header"))?;
        let header: Header =
            serde_json::from_slice(body).map_err(|e| bad(format!("header: {e}")))?;
        if !(8..=24).contains(&header.features.bits) {
            return Err(bad(format!(
                "feature bits {} out of 8..=24",
                header.features.bits
            )));
        }
        let dim = 1usize << header.features.bits;
        let body = &bytes[12 + hlen..];
        let head_bytes = header.heads.len() * dim * 2;
        let knn_bytes = header
            .knn
            .as_ref()
            .map_or(0, |k| k.n.saturating_mul(k.dim + 4 + 2 * k.models.len()));
        if body.len() != head_bytes.saturating_add(knn_bytes) {
            return Err(bad(format!(
                "expected {} weight bytes for {} heads and {} kNN bytes, found {}",
                head_bytes,
                header.heads.len(),
                knn_bytes,
                body.len()
            )));
        }
        let (weights, rest) = body.split_at(head_bytes);
        let knn = header.knn.map(|k| {
            let (vectors, rest) = rest.split_at(k.n * k.dim);
            let (scales, scores) = rest.split_at(k.n * 4);
            KnnIndex {
                dim: k.dim,
                vectors: vectors.iter().map(|&b| b as i8).collect(),
                scales: scales
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                scores: scores
                    .chunks_exact(2)
                    .map(|b| match u16::from_le_bytes([b[0], b[1]]) {
                        MISSING => f32::NAN,
                        q => f32::from(q) / SCORE_SCALE,
                    })
                    .collect(),
                priors: k.priors,
                models: k.models,
                k: k.k,
                blend: k.blend,
                temperature: k.temperature,
                trust: k.trust,
                gated: k.gated,
            }
        });
        if let Some(k) = &knn
            && (k.priors.len() != k.models.len() || k.dim == 0)
        {
            return Err(bad("kNN header: priors do not match models, or dim 0"));
        }
        let heads = header
            .heads
            .into_iter()
            .zip(weights.chunks_exact(dim * 2))
            .map(|(hh, raw)| Head {
                model: hh.model,
                bias: hh.bias,
                weights: raw
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * hh.scale)
                    .collect(),
            })
            .collect();
        let est = TrainedEstimator::new(
            header.features,
            heads,
            header.reference,
            header.bands,
            header.meta,
        )
        .with_name(header.name)
        .with_pool_bands(header.pool_bands);
        Ok(match knn {
            Some(k) => {
                // An artifact with a kNN routes with it whenever this build can embed.
                let e = super::vectors::resolve_embedder(&super::EmbeddingChoice::Auto)
                    .ok()
                    .flatten()
                    .filter(|e| e.0.dim() == k.dim);
                let est = est.with_knn(k);
                match e {
                    Some(e) => est.with_embedder(e),
                    None => est,
                }
            }
            None => est,
        })
    }
}
