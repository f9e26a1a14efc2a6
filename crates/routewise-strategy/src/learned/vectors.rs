//! Resolving the embedder a run uses, and embedding whole datasets (with a disk cache, so
//! repeated evaluations of the same files embed once).

use std::path::PathBuf;
#[cfg(feature = "embeddings")]
use std::sync::OnceLock;

use super::data::Dataset;
use super::embed::{EmbedderHandle, EmbeddingChoice, embed_text};
use super::error::LearnedError;
use super::train::view_of;

/// The embedder `choice` names, loaded. `Auto` loads MiniLM once per process when this
/// build has the `embeddings` feature and [`minilm_dir`](super::minilm_dir) finds the
/// weights; otherwise it yields `None` and routing uses the heads alone.
///
/// # Errors
/// `Dir` when the weights cannot be loaded or the feature is not built.
pub fn resolve_embedder(choice: &EmbeddingChoice) -> Result<Option<EmbedderHandle>, LearnedError> {
    match choice {
        EmbeddingChoice::Off => Ok(None),
        EmbeddingChoice::With(h) => Ok(Some(h.clone())),
        EmbeddingChoice::Dir(dir) => load_dir(dir).map(Some),
        EmbeddingChoice::Auto => Ok(auto()),
    }
}

/// Why `choice` runs without embeddings, in words for a report; `None` when it embeds (or
/// may: an explicit embedder or directory).
pub fn why_no_embeddings(choice: &EmbeddingChoice) -> Option<&'static str> {
    match choice {
        EmbeddingChoice::Off => Some("embeddings turned off"),
        EmbeddingChoice::Auto if !cfg!(feature = "embeddings") => {
            Some("this build lacks the `embeddings` feature; `cargo xtask eval` builds with it")
        }
        EmbeddingChoice::Auto if super::minilm_dir().is_none() => Some(
            "MiniLM weights not found; fetch them with \
             crates/routewise-strategy/scripts/fetch-minilm.sh or set ROUTEWISE_MINILM_DIR",
        ),
        _ => None,
    }
}

#[cfg(feature = "embeddings")]
fn load_dir(dir: &std::path::Path) -> Result<EmbedderHandle, LearnedError> {
    super::MiniLm::load(dir).map(EmbedderHandle::new)
}

#[cfg(not(feature = "embeddings"))]
fn load_dir(dir: &std::path::Path) -> Result<EmbedderHandle, LearnedError> {
    Err(LearnedError::Config(format!(
        "embeddings requested from {} but routewise-strategy was built without the \
         `embeddings` feature",
        dir.display()
    )))
}

#[cfg(feature = "embeddings")]
fn auto() -> Option<EmbedderHandle> {
    static AUTO: OnceLock<Option<EmbedderHandle>> = OnceLock::new();
    AUTO.get_or_init(|| super::minilm_dir().and_then(|d| load_dir(&d).ok()))
        .clone()
}

#[cfg(not(feature = "embeddings"))]
fn auto() -> Option<EmbedderHandle> {
    None
}

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Where cached embeddings of a dataset live: `$ROUTEWISE_EMBED_CACHE`, else
/// `cache/` next to the MiniLM weights. `None` disables caching.
fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("ROUTEWISE_EMBED_CACHE")
        .map(PathBuf::from)
        .or_else(|| super::minilm_dir().map(|d| d.join("cache")))
}

/// Datasets smaller than this are embedded without the disk cache.
const CACHE_MIN_ITEMS: usize = 200;

/// The embedding of every item's prompt, in order (an empty vector where it failed).
pub fn embed_dataset(ds: &Dataset, e: &EmbedderHandle) -> Vec<Vec<f32>> {
    let mut bufs: Vec<String> = vec![String::new(); ds.items.len()];
    let views: Vec<_> = ds.items.iter().map(view_of).collect();
    let texts: Vec<&str> = views
        .iter()
        .zip(bufs.iter_mut())
        .map(|(v, b)| embed_text(v, b))
        .collect();
    let dim = e.0.dim();
    let path =
        e.0.fingerprint()
            .filter(|_| ds.items.len() >= CACHE_MIN_ITEMS)
            .and_then(|fp| {
                let key = texts
                    .iter()
                    .fold(fnv(0xcbf2_9ce4_8422_2325, fp.as_bytes()), |h, t| {
                        fnv(fnv(h, t.as_bytes()), &[0xff])
                    });
                cache_dir().map(|d| d.join(format!("{key:016x}.f32")))
            });
    if let Some(p) = &path
        && let Ok(bytes) = std::fs::read(p)
        && bytes.len() == texts.len() * dim * 4
    {
        return bytes
            .chunks_exact(dim * 4)
            .map(|row| {
                row.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect();
    }
    let out = e.0.embed_all(&texts);
    if let Some(p) = &path
        && out.iter().all(|v| v.len() == dim)
    {
        let bytes: Vec<u8> = out.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        // The cache is an optimisation: failing to write it only costs time next run.
        let _ = p
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(Result::ok)
            .map(|()| std::fs::write(p, bytes));
    }
    out
}
