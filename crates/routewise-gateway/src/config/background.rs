//! `[background]`: the lease timing of background runs and the cap on followers of their
//! streams.

use std::path::Path;
use std::time::Duration;

use super::ConfigError;
use super::raw::RawBackground;

/// How background responses (`background: true`) are run and followed. It takes effect only
/// with a response store (`[store]` or `serve --redis-url`), so the table is accepted without
/// one.
///
/// ```
/// use std::time::Duration;
/// use routewise_gateway::config::BackgroundSettings;
///
/// let defaults = BackgroundSettings::default();
/// assert_eq!(defaults.lease_ttl, Duration::from_secs(10));
/// assert_eq!(defaults.tick, Duration::from_millis(200));
/// assert_eq!(defaults.max_stream_followers, 256);
/// assert_eq!(defaults.max_running, 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackgroundSettings {
    /// How long a run's lease outlives its last refresh (`lease_ttl_ms`, default 10 s): a
    /// replica silent this long is presumed gone, and its response is reported `failed`.
    pub lease_ttl: Duration,
    /// How often a run refreshes its lease and looks for a cancel or delete taken by another
    /// replica (`tick_ms`, default 200 ms): one Redis round trip per running response.
    pub tick: Duration,
    /// Most `GET /responses/{id}?stream=true` followers this replica serves at once
    /// (`max_stream_followers`, default 256); each holds a Redis connection of its own, and
    /// one more is refused with a 429.
    pub max_stream_followers: usize,
    /// Most background responses this replica runs at once (`max_running`, default 1024);
    /// each holds an upstream call, its parsed request and a lease refresh every `tick`, and
    /// one more is refused with a 429 before anything is stored (but after routing and
    /// validation, so a request that can never succeed gets its real error).
    pub max_running: usize,
}

impl BackgroundSettings {
    /// The fewest lease refreshes per lease lifetime (`lease_ttl ≥ 3 × tick`): a run survives
    /// a slow or lost refresh instead of being reported dead by the next reader.
    pub const MIN_TICKS_PER_LEASE: u32 = 3;
    /// The longest lease accepted (a day): beyond it an orphaned response would stay
    /// `in_progress` for longer than anyone waits, and Redis expiries stay in range.
    pub const MAX_LEASE_TTL: Duration = Duration::from_secs(24 * 3600);
    /// The highest follower cap accepted: each follower holds a socket, so more than this is
    /// a typo, not a plan.
    pub const MAX_STREAM_FOLLOWERS: usize = 1_000_000;
    /// The highest `max_running` accepted, for the same reason.
    pub const MAX_RUNNING: usize = 1_000_000;
}

impl Default for BackgroundSettings {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(10),
            tick: Duration::from_millis(200),
            max_stream_followers: 256,
            max_running: 1024,
        }
    }
}

impl BackgroundSettings {
    /// The first rule these settings break, as the `[background]` key to blame and what is
    /// wrong. `tick_set_alone` blames `tick_ms` for a lease/tick mismatch (the file left the
    /// lease at its default); otherwise `lease_ttl_ms` is blamed.
    pub(crate) fn problem(&self, tick_set_alone: bool) -> Option<(&'static str, String)> {
        let (lease, tick) = (self.lease_ttl.as_millis(), self.tick.as_millis());
        if self.tick.is_zero() {
            return Some(("tick_ms", "must be greater than 0".into()));
        }
        if self.lease_ttl.is_zero() {
            return Some(("lease_ttl_ms", "must be greater than 0".into()));
        }
        if self.lease_ttl > Self::MAX_LEASE_TTL {
            let max = Self::MAX_LEASE_TTL.as_millis();
            return Some((
                "lease_ttl_ms",
                format!("{lease} is more than {max} (a day)"),
            ));
        }
        let ticks = Self::MIN_TICKS_PER_LEASE;
        if self
            .tick
            .checked_mul(ticks)
            .is_none_or(|least| self.lease_ttl < least)
        {
            let why = format!(
                "a run refreshes its lease at least {ticks} times per lifetime, so that one slow refresh does not get a live run reported dead"
            );
            return Some(if tick_set_alone {
                (
                    "tick_ms",
                    format!(
                        "{tick} is too long for lease_ttl_ms = {lease}: {why}, so tick_ms may be at most {}",
                        lease / u128::from(ticks)
                    ),
                )
            } else {
                (
                    "lease_ttl_ms",
                    format!(
                        "{lease} is too short for tick_ms = {tick}: {why}, so lease_ttl_ms must be at least {}",
                        tick.saturating_mul(u128::from(ticks))
                    ),
                )
            });
        }
        let caps = [
            (
                "max_stream_followers",
                self.max_stream_followers,
                Self::MAX_STREAM_FOLLOWERS,
            ),
            ("max_running", self.max_running, Self::MAX_RUNNING),
        ];
        caps.into_iter().find_map(|(key, n, max)| match n {
            0 => Some((key, "must be greater than 0".into())),
            n if n > max => Some((key, format!("{n} is more than {max}"))),
            _ => None,
        })
    }
}

/// Validates `[background]`; absent keys keep their defaults.
pub(super) fn background(
    origin: &Path,
    raw: &RawBackground,
) -> Result<BackgroundSettings, ConfigError> {
    let mut out = BackgroundSettings::default();
    if let Some(ms) = raw.tick_ms {
        out.tick = Duration::from_millis(ms);
    }
    if let Some(ms) = raw.lease_ttl_ms {
        out.lease_ttl = Duration::from_millis(ms);
    }
    if let Some(n) = raw.max_stream_followers {
        // Past usize (32-bit targets only) is past the cap anyway.
        out.max_stream_followers = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = raw.max_running {
        out.max_running = usize::try_from(n).unwrap_or(usize::MAX);
    }
    match out.problem(raw.lease_ttl_ms.is_none()) {
        None => Ok(out),
        Some((key, message)) => Err(ConfigError::invalid(
            origin,
            format!("background.{key}"),
            message,
        )),
    }
}
