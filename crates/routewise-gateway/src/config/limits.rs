//! Per-deployment rate limits (`rpm`, `tpm`) and where they are counted (`[limits]`).

use routewise_auth::Secret;

/// A deployment's (or router deployment's) quota, as Foundry enforces it: requests and
/// tokens per minute. `None` means no such limit.
///
/// ```
/// use routewise_gateway::config::RateLimits;
///
/// let limits = RateLimits::new(Some(600), Some(100_000));
/// assert!(limits.is_limited());
/// // 600 RPM is enforced as a burst of 10 requests per second.
/// assert_eq!(limits.request_burst(), Some(10));
/// assert!(!RateLimits::default().is_limited());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute (prompt estimate plus `max_output_tokens`, charged at admission).
    pub tpm: Option<u64>,
}

impl RateLimits {
    /// Requests per second window: RPM is enforced over 1 s, as Azure does for small windows.
    pub const REQUEST_WINDOW_SECS: u32 = 1;

    /// Limits with these values.
    pub fn new(rpm: Option<u32>, tpm: Option<u64>) -> Self {
        Self { rpm, tpm }
    }

    /// True when either limit is set.
    pub fn is_limited(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some()
    }

    /// How many requests may arrive at once: `rpm / 60` per 1 s window, rounded up, at least
    /// one (a 30 RPM deployment takes one request, then one every 2 s).
    pub fn request_burst(&self) -> Option<u32> {
        self.rpm.map(|rpm| {
            rpm.saturating_mul(Self::REQUEST_WINDOW_SECS)
                .div_ceil(60)
                .max(1)
        })
    }
}

/// Where rate limits are counted: a Redis shared by every gateway replica, so that all of them
/// enforce one quota. Without a `[limits]` table the limits use the `[store]` Redis.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitsSettings {
    /// `redis://[user:password@]host:port[/db]`; a secret, since it may carry a password.
    pub redis_url: Secret,
    /// Prefix of every key the limiter writes (default `routewise:`).
    pub key_prefix: String,
}

impl LimitsSettings {
    /// Limits counted in the Redis at `redis_url`, with the default key prefix.
    pub fn new(redis_url: impl Into<String>) -> Self {
        Self {
            redis_url: Secret::new(redis_url.into()),
            key_prefix: "routewise:".into(),
        }
    }
}

impl std::fmt::Debug for LimitsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password; `Secret` redacts it.
        f.debug_struct("LimitsSettings")
            .field("redis_url", &self.redis_url)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}
