//! The artifact format: `RWQE`, a version, a JSON header, then each head's weights
//! quantised to `i16` with a per-head scale (half the size of `f32`, error < 1e-4 of the
//! largest weight, far below what the routing decision can notice).

use serde::{Deserialize, Serialize};

use super::band::Bands;
use super::error::LearnedError;
use super::estimator::{ArtifactMeta, Head, TrainedEstimator};
use super::features::FeatureConfig;
use super::profiles::ReferencePair;

const MAGIC: &[u8; 4] = b"RWQE";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    name: String,
    features: FeatureConfig,
    heads: Vec<HeadHeader>,
    reference: Option<ReferencePair>,
    bands: Bands,
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
        if version != VERSION {
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
        let weights = &bytes[12 + hlen..];
        if weights.len() != header.heads.len() * dim * 2 {
            return Err(bad(format!(
                "expected {} weight bytes for {} heads, found {}",
                header.heads.len() * dim * 2,
                header.heads.len(),
                weights.len()
            )));
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
        Ok(TrainedEstimator::new(
            header.features,
            heads,
            header.reference,
            header.bands,
            header.meta,
        )
        .with_name(header.name))
    }
}
