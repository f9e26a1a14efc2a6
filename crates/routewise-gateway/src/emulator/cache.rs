//! Simulated prompt caching with Azure's rule: nothing below 1,024 identical prefix tokens, then
//! hits grow in 128-token steps, each prefix living for a TTL after its last use.
//!
//! The state is in-process (it simulates one deployment's cache). A cache shared across gateway
//! processes would belong in Redis; the emulator does not need one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::tokens::PromptFingerprint;

/// Prune expired entries once the map holds this many.
const PRUNE_AT: usize = 65_536;

#[derive(Debug)]
pub(crate) struct PromptCache {
    ttl: Duration,
    entries: Mutex<HashMap<u64, Instant>>,
}

impl PromptCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the cached-token count for this prompt and records its prefixes as cached.
    pub(crate) fn lookup_and_store(&self, fp: &PromptFingerprint) -> u32 {
        let checkpoints = fp.checkpoints();
        if checkpoints.is_empty() || self.ttl.is_zero() {
            return 0;
        }
        let now = Instant::now();
        let expiry = now + self.ttl;
        // A poisoned lock only means another request panicked mid-update; the map is still usable.
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut cached = 0;
        for &(len, hash) in checkpoints {
            match map.get(&hash) {
                Some(&until) if until > now => cached = len,
                _ => break,
            }
        }
        if map.len() >= PRUNE_AT {
            map.retain(|_, until| *until > now);
        }
        for &(_, hash) in checkpoints {
            map.insert(hash, expiry);
        }
        cached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> PromptFingerprint {
        let mut f = PromptFingerprint::new("");
        f.message("user", text);
        f
    }

    #[tokio::test(start_paused = true)]
    async fn second_identical_prompt_hits_in_128_steps_until_ttl() {
        let cache = PromptCache::new(Duration::from_secs(60));
        let prompt = "word ".repeat(2000);
        let f = fp(&prompt);
        assert_eq!(f.tokens(), 2003);
        assert_eq!(cache.lookup_and_store(&f), 0);
        assert_eq!(cache.lookup_and_store(&f), 1024 + 7 * 128);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(cache.lookup_and_store(&f), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn short_or_different_prompts_do_not_hit() {
        let cache = PromptCache::new(Duration::from_secs(60));
        let short = fp(&"word ".repeat(500));
        assert_eq!(cache.lookup_and_store(&short), 0);
        assert_eq!(cache.lookup_and_store(&short), 0);
        let long = "ipsa ".repeat(1500);
        cache.lookup_and_store(&fp(&long));
        assert_eq!(cache.lookup_and_store(&fp(&format!("x {long}"))), 0);
        // Same first 1,200 tokens, different tail: only whole shared steps count.
        let shared = "ipsa ".repeat(1200);
        assert_eq!(
            cache.lookup_and_store(&fp(&format!("{shared} {}", "tail ".repeat(300)))),
            1152
        );
    }
}
