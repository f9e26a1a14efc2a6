//! Backoff jitter with a lock-free, seedable random source.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How much randomness to take off each backoff delay.
///
/// A delay `d` becomes `d * (1 - fraction * u)` with `u` uniform in `[0, 1)`, as the OpenAI SDKs
/// do with a fraction of 0.25. The random source is a SplitMix64 sequence behind an atomic, so
/// concurrent requests share it without locking; seed it for reproducible tests. Clones share
/// the sequence.
///
/// ```
/// use routewise_transport::retry::Jitter;
///
/// let a = Jitter::seeded(0.25, 7);
/// let b = Jitter::seeded(0.25, 7);
/// assert_eq!(a.sample(), b.sample());
/// assert_eq!(Jitter::none().fraction(), 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct Jitter {
    fraction: f64,
    state: Arc<AtomicU64>,
}

/// The OpenAI SDKs' jitter: up to 25 % off.
const DEFAULT_FRACTION: f64 = 0.25;
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl Default for Jitter {
    fn default() -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self::seeded(DEFAULT_FRACTION, seed)
    }
}

impl Jitter {
    /// No jitter: delays are exact.
    pub fn none() -> Self {
        Self::seeded(0.0, 0)
    }

    /// Takes up to `fraction` (clamped to `0..=1`) off each delay, drawing from a sequence
    /// seeded with `seed`.
    pub fn seeded(fraction: f64, seed: u64) -> Self {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        Self {
            fraction,
            state: Arc::new(AtomicU64::new(seed)),
        }
    }

    /// The configured fraction.
    pub fn fraction(&self) -> f64 {
        self.fraction
    }

    /// The next uniform sample in `[0, 1)`.
    pub fn sample(&self) -> f64 {
        let mut z = self
            .state
            .fetch_add(GOLDEN_GAMMA, Ordering::Relaxed)
            .wrapping_add(GOLDEN_GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}
