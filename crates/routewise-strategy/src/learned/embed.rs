//! Sentence embeddings for the estimator's nearest-neighbour component.
//!
//! [`TextEmbedder`] is what the estimator calls; it exists in every build so that artifacts
//! with a kNN index load anywhere (without an embedder they route on the heads alone).
//! With the `embeddings` feature, [`MiniLm`](super::MiniLm) implements it with
//! all-MiniLM-L6-v2 run by candle.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::question::question_text;
use crate::PromptView;

/// Turns text into an L2-normalised vector.
pub trait TextEmbedder: Send + Sync + fmt::Debug {
    /// A short name for reports ("all-MiniLM-L6-v2").
    fn name(&self) -> &str;

    /// The vector length.
    fn dim(&self) -> usize;

    /// Identifies the embedding function (model and text cap) for caches; `None` (the
    /// default) means "do not cache on disk".
    fn fingerprint(&self) -> Option<String> {
        None
    }

    /// Writes the embedding of `text` into `out` (cleared first); `false` on failure, in
    /// which case the caller routes without it.
    fn embed_into(&self, text: &str, out: &mut Vec<f32>) -> bool;

    /// Embeds many texts (training); the default calls [`TextEmbedder::embed_into`] per text.
    /// A failed text gets an empty vector.
    fn embed_all(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        texts
            .iter()
            .map(|t| {
                let mut v = Vec::new();
                if !self.embed_into(t, &mut v) {
                    v.clear();
                }
                v
            })
            .collect()
    }
}

/// A shared embedder: cheap to clone; two handles are equal when they share the embedder.
#[derive(Clone)]
pub struct EmbedderHandle(pub Arc<dyn TextEmbedder>);

impl EmbedderHandle {
    /// Wraps an embedder.
    pub fn new(e: impl TextEmbedder + 'static) -> Self {
        Self(Arc::new(e))
    }
}

impl fmt::Debug for EmbedderHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmbedderHandle")
            .field(&self.0.name())
            .finish()
    }
}

impl PartialEq for EmbedderHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Which embedder training and evaluation use.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum EmbeddingChoice {
    /// MiniLM when this build has the `embeddings` feature and the weights are found
    /// ([`minilm_dir`]); otherwise none.
    #[default]
    Auto,
    /// No embeddings: heads only.
    Off,
    /// MiniLM from this directory (an error when it cannot be loaded).
    Dir(PathBuf),
    /// A given embedder.
    With(EmbedderHandle),
}

/// Where the MiniLM files are looked for: `$ROUTEWISE_MINILM_DIR`, else `target/minilm`
/// under the current directory, else under this crate's workspace (where
/// `scripts/fetch-minilm.sh` puts them). `None` when no candidate holds `model.safetensors`.
pub fn minilm_dir() -> Option<PathBuf> {
    let env = std::env::var_os("ROUTEWISE_MINILM_DIR").map(PathBuf::from);
    let candidates = env.into_iter().chain([
        PathBuf::from("target/minilm"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/minilm"),
    ]);
    candidates
        .into_iter()
        .find(|d| d.join("model.safetensors").is_file())
}

/// The text of a prompt that is embedded: the user turns, newest last. Instructions are left
/// out (a deployment's fixed system prompt would drown the per-request signal). A single
/// turn with a few-shot head is cut to its question: the last paragraph, without the lines
/// the template repeats in every example (the embedder keeps only ~60 word pieces, which
/// must not go to the shared examples or the answer-format boilerplate).
///
/// Only the last [`EMBED_WINDOW`] bytes are looked at, whatever the request's size: the
/// embedder keeps far fewer, and the cost of a decision must not grow with the request.
pub fn embed_text<'a>(view: &PromptView<'a>, buf: &'a mut String) -> &'a str {
    if view.user_turns.len() == 1 {
        return question_text(tail(view.user_turns[0], EMBED_WINDOW), buf);
    }
    buf.clear();
    let mut left = EMBED_WINDOW;
    let newest = view
        .user_turns
        .iter()
        .rev()
        .take_while(|t| {
            let more = left > 0;
            left = left.saturating_sub(t.len() + 1);
            more
        })
        .count();
    let turns = &view.user_turns[view.user_turns.len() - newest..];
    for (i, t) in turns.iter().enumerate() {
        if i > 0 {
            buf.push('\n');
        }
        // Only the oldest turn kept can overflow the window.
        buf.push_str(if i == 0 { tail(t, EMBED_WINDOW) } else { t });
    }
    tail(buf.as_str(), EMBED_WINDOW)
}

/// The most bytes of a prompt [`embed_text`] reads: far more than the embedder's token cap
/// needs, and more than any training prompt has, so no training text is cut.
pub const EMBED_WINDOW: usize = 64 * 1024;

/// The last `max` bytes of `text` on a char boundary: few-shot prompts put the question last.
pub(crate) fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut at = text.len() - max;
    while !text.is_char_boundary(at) {
        at += 1;
    }
    &text[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_char_boundaries() {
        let s = "aé".repeat(10);
        let t = tail(&s, 5);
        assert!(t.len() <= 5 && s.ends_with(t));
        assert_eq!(tail("abc", 10), "abc");
    }

    #[test]
    fn embed_text_reads_only_the_newest_window() {
        let mut buf = String::new();
        let turns: Vec<String> = (0..200_000).map(|i| format!("turn {i}")).collect();
        let v = PromptView {
            user_turns: turns.iter().map(String::as_str).collect(),
            ..PromptView::default()
        };
        let text = embed_text(&v, &mut buf);
        assert!(text.len() <= EMBED_WINDOW, "{}", text.len());
        assert!(text.ends_with("turn 199998\nturn 199999"));
        let huge = "x".repeat(10 << 20) + " the question?";
        let one = PromptView::from_text(&huge);
        let text = embed_text(&one, &mut buf);
        assert!(text.len() <= EMBED_WINDOW && text.ends_with("the question?"));
    }

    #[test]
    fn embed_text_joins_turns() {
        let mut buf = String::new();
        let v = PromptView {
            user_turns: vec!["a", "b"],
            ..PromptView::default()
        };
        assert_eq!(embed_text(&v, &mut buf), "a\nb");
        let v = PromptView::from_text(
            "Q: one?\nAnswer:\nA\n\nQ: which planet is the largest one in our solar system today?\nAnswer:",
        );
        assert_eq!(
            embed_text(&v, &mut buf),
            "Q: which planet is the largest one in our solar system today?"
        );
    }
}
