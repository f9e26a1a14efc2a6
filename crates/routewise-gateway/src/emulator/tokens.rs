//! The emulator's token estimator and prompt fingerprints.
//!
//! Estimator: text is split on whitespace into words; a word of `n` characters counts
//! `ceil(n / 4)` tokens (at least 1), so short words are one token and long ones about four
//! characters per token, like BPE tokenizers on English. Each message adds 3 tokens of framing
//! (role and separators), as OpenAI's chat format does. The estimate is within ~15% of
//! `o200k_base` on ordinary English prose, which is what usage figures need.
//!
//! The same pseudo-tokens (4-character slices of words) feed a rolling FNV-1a hash, sampled at the
//! prompt-cache checkpoints (1,024 tokens, then every 128), so two prompts that share a prefix of
//! pseudo-tokens share those fingerprints.

/// Tokens added per message for role and separators.
pub(crate) const MESSAGE_OVERHEAD: u32 = 3;
/// Azure caches nothing below this many identical prefix tokens.
pub(crate) const CACHE_MIN_TOKENS: u32 = 1024;
/// Above the minimum, cache hits grow in steps of this many tokens.
pub(crate) const CACHE_STEP_TOKENS: u32 = 128;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over bytes, continuing from `state`. Stable across Rust versions, unlike `DefaultHasher`.
pub(crate) fn fnv1a(state: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(state, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// A fresh FNV-1a state.
pub(crate) fn fnv_start() -> u64 {
    FNV_OFFSET
}

/// Estimated tokens in `text` (no message framing).
pub(crate) fn estimate(text: &str) -> u32 {
    text.split_whitespace().map(word_tokens).sum()
}

fn word_tokens(word: &str) -> u32 {
    let n = word.chars().count() as u32;
    n.div_ceil(4).max(1)
}

/// Counts pseudo-tokens and records the prefix hash at every cache checkpoint.
#[derive(Debug, Clone)]
pub(crate) struct PromptFingerprint {
    tokens: u32,
    hash: u64,
    checkpoints: Vec<(u32, u64)>,
}

impl PromptFingerprint {
    /// Starts a fingerprint; `salt` separates caches (e.g. a `prompt_cache_key`).
    pub(crate) fn new(salt: &str) -> Self {
        Self {
            tokens: 0,
            hash: fnv1a(fnv_start(), salt.as_bytes()),
            checkpoints: Vec::new(),
        }
    }

    /// Adds one message: framing tokens plus its text.
    pub(crate) fn message(&mut self, role: &str, text: &str) {
        self.token(role.as_bytes());
        for _ in 1..MESSAGE_OVERHEAD {
            self.token(b"\x1e");
        }
        self.text(text);
    }

    /// Adds free text (tool definitions, for example).
    pub(crate) fn text(&mut self, text: &str) {
        for word in text.split_whitespace() {
            let bytes = word.as_bytes();
            let mut start = 0;
            for (n, (i, _)) in word.char_indices().skip(1).enumerate() {
                if (n + 1) % 4 == 0 {
                    self.token(&bytes[start..i]);
                    start = i;
                }
            }
            self.token(&bytes[start..]);
        }
    }

    fn token(&mut self, piece: &[u8]) {
        // The separator byte keeps "ab"+"c" distinct from "a"+"bc".
        self.hash = fnv1a(fnv1a(self.hash, piece), &[0x1f]);
        self.tokens += 1;
        let t = self.tokens;
        if t >= CACHE_MIN_TOKENS && (t - CACHE_MIN_TOKENS).is_multiple_of(CACHE_STEP_TOKENS) {
            self.checkpoints.push((t, self.hash));
        }
    }

    /// Total tokens so far.
    pub(crate) fn tokens(&self) -> u32 {
        self.tokens
    }

    /// `(prefix length, prefix hash)` at 1,024, 1,152, 1,280… tokens, ascending.
    pub(crate) fn checkpoints(&self) -> &[(u32, u64)] {
        &self.checkpoints
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_word_aware() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("a an the"), 3);
        // "retrieval-augmented" is 19 chars -> 5 tokens; "generation." 11 -> 3.
        assert_eq!(estimate("retrieval-augmented generation."), 8);
    }

    #[test]
    fn fingerprint_counts_match_estimate_plus_framing() {
        let text = "Explain retrieval-augmented generation in one sentence.";
        let mut fp = PromptFingerprint::new("");
        fp.message("user", text);
        assert_eq!(fp.tokens(), estimate(text) + MESSAGE_OVERHEAD);
    }

    #[test]
    fn checkpoints_every_128_after_1024() {
        let mut fp = PromptFingerprint::new("");
        fp.text(&"word ".repeat(1300));
        let lens: Vec<u32> = fp.checkpoints().iter().map(|c| c.0).collect();
        assert_eq!(lens, vec![1024, 1152, 1280]);
    }

    #[test]
    fn shared_prefix_shares_checkpoints_and_a_change_breaks_them() {
        let base = "alpha beta gamma delta ".repeat(300);
        let mut a = PromptFingerprint::new("");
        a.text(&base);
        let mut b = PromptFingerprint::new("");
        b.text(&format!("{base} and more words here"));
        assert_eq!(a.checkpoints(), &b.checkpoints()[..a.checkpoints().len()]);
        let mut c = PromptFingerprint::new("");
        c.text(&format!("X{base}"));
        assert_ne!(a.checkpoints()[0], c.checkpoints()[0]);
    }
}
