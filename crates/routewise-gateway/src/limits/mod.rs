//! Per-deployment rate limits (RPM and TPM), shared by every replica through Redis.
//!
//! Each limited deployment (or router deployment) has two GCRA buckets in Redis, keyed
//! `{prefix}ratelimit:{name}:requests` and `…:tokens`, each holding a theoretical arrival time
//! on the Redis server's clock (`TIME`), so replicas with skewed clocks agree. One Lua script
//! (`gcra.lua`, sent with EVALSHA, loaded on NOSCRIPT) checks and charges every bucket a
//! request touches in one round trip:
//!
//! * **requests**: `rpm / 60` per 1 s window, rounded up (at least 1), refilled continuously,
//!   so a burst is bounded to one second's share as Azure enforces it (600 RPM is 10 per
//!   second);
//! * **tokens**: a bucket of `tpm` refilled over a minute, charged at admission with the
//!   request's estimate (prompt plus `max_output_tokens`, see [`estimate`]).
//!
//! A refused request charges nothing; an admitted one stays charged whatever happens next
//! (Azure counts failed requests too). A request larger than a whole token bucket could never
//! pass and gets a 400 instead of a 429 the client would retry forever.
//!
//! Redis down or slow fails open: the request is served, the wait is bounded by
//! [`ROUND_TRIP`], and after a failure Redis is not asked at all for the pause the limiter's
//! connection keeps (1 s, doubling while the outage lasts, see `redis_conn.rs`; a check that
//! times out while others are answered starts none); a warning (never the URL) is logged at
//! most once per [`WARN_EVERY`].

mod estimate;
mod gate;
mod status;

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub(crate) use estimate::request_tokens;
pub(crate) use gate::{Gate, Pass, admit_pinned, admit_routed};
pub use status::{BucketStatus, RateLimitKind, RateLimitStatus};
pub(crate) use status::{retry_after_secs, write_retry_after};

use crate::config::RateLimits;
use crate::error::GatewayError;
use crate::redis_conn::RedisConn;

/// The longest admission waits for Redis before serving the request unchecked.
pub(crate) const ROUND_TRIP: Duration = Duration::from_millis(250);
/// At most one "Redis unavailable" warning per this period.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

static SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("gcra.lua")));

/// One limited deployment's buckets, computed once at start-up.
#[derive(Debug)]
pub(crate) struct LimitSpec {
    /// The deployment or router name (what error messages name).
    pub name: String,
    /// Its configured limits.
    pub limits: RateLimits,
    keys: [String; 2],
    /// Request interval and tolerance, token interval and tolerance, in microseconds
    /// (0 interval: no such limit).
    params: [f64; 4],
}

impl LimitSpec {
    /// The buckets for `name`, or `None` when it has no limit.
    pub(crate) fn new(name: &str, limits: RateLimits, prefix: &str) -> Option<Self> {
        if !limits.is_limited() {
            return None;
        }
        const MINUTE_US: f64 = 60_000_000.0;
        let (ri, rtau) = match (limits.rpm, limits.request_burst()) {
            (Some(rpm), Some(burst)) => {
                let interval = MINUTE_US / f64::from(rpm);
                (interval, interval * f64::from(burst))
            }
            _ => (0.0, 0.0),
        };
        let (ti, ttau) = match limits.tpm {
            Some(tpm) => (MINUTE_US / tpm as f64, MINUTE_US),
            None => (0.0, 0.0),
        };
        Some(Self {
            name: name.to_owned(),
            limits,
            keys: [
                format!("{prefix}ratelimit:{name}:requests"),
                format!("{prefix}ratelimit:{name}:tokens"),
            ],
            params: [ri, rtau, ti, ttau],
        })
    }

    /// True when a request estimated at `tokens` is larger than the whole token bucket.
    pub(crate) fn never_fits(&self, tokens: u64) -> bool {
        self.limits.tpm.is_some_and(|tpm| tokens > tpm)
    }

    /// The 400 for a request that can never fit in this deployment's token bucket.
    pub(crate) fn too_large(&self, tokens: u64, max_output: Option<u64>) -> GatewayError {
        let tpm = self.limits.tpm.unwrap_or_default();
        GatewayError::invalid(
            format!(
                "This request is estimated at {tokens} tokens (prompt plus max_output_tokens), more \
                 than the whole token rate limit of {tpm} tokens per minute of deployment {}; it \
                 can never be admitted. Shorten the input or lower max_output_tokens.",
                self.name
            ),
            Some(
                if max_output.is_some() {
                    "max_output_tokens"
                } else {
                    "input"
                }
                .into(),
            ),
            "tokens_exceed_rate_limit",
        )
    }

    fn status(&self, snap: &[i64]) -> RateLimitStatus {
        let bucket = |limit: Option<u64>, remaining: i64, reset_us: i64| {
            limit.filter(|_| remaining >= 0).map(|limit| {
                BucketStatus::new(
                    limit,
                    remaining.unsigned_abs(),
                    Duration::from_micros(reset_us.max(0).unsigned_abs()),
                )
            })
        };
        RateLimitStatus::new(
            bucket(self.limits.rpm.map(u64::from), snap[0], snap[1]),
            bucket(self.limits.tpm, snap[2], snap[3]),
        )
    }
}

/// What admission decided.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Admitted: `chosen` is the index of the candidate charged (none when the request goes
    /// to an unlimited one), `status` the quota to report.
    Admitted {
        chosen: Option<usize>,
        status: Option<RateLimitStatus>,
    },
    /// Redis could not be asked: admitted unchecked.
    Open,
    /// Out of quota: the 429 to answer.
    Refused(GatewayError),
}

/// Talks to the Redis that holds every replica's buckets.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    redis: Arc<RedisConn>,
    epoch: Instant,
    /// Milliseconds since `epoch` before which no further warning is logged.
    quiet_until_ms: AtomicU64,
    /// Failures not logged since the last warning.
    unlogged: AtomicU64,
}

impl RateLimiter {
    pub(crate) fn new(redis: Arc<RedisConn>) -> Self {
        Self {
            redis,
            epoch: Instant::now(),
            quiet_until_ms: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Checks and charges, in one round trip, `required` (the deployment named in `model`,
    /// if limited) and the first of `candidates` (limited deployments in plan order, each
    /// with its plan index) that has quota; `fallback` says an unlimited candidate follows
    /// them. `tokens` is the request's estimate.
    pub(crate) async fn admit(
        &self,
        required: Option<&LimitSpec>,
        candidates: &[(usize, &LimitSpec)],
        fallback: bool,
        tokens: u64,
    ) -> Verdict {
        if self.redis.is_down() {
            return Verdict::Open;
        }
        let groups = || {
            required
                .into_iter()
                .chain(candidates.iter().map(|(_, s)| *s))
        };
        let mut call = SCRIPT.prepare_invoke();
        for g in groups() {
            call.key(&g.keys[0]).key(&g.keys[1]);
        }
        call.arg(u8::from(required.is_some()))
            .arg(u8::from(fallback))
            .arg(tokens);
        for g in groups() {
            call.arg(&g.params[..]);
        }
        let reply = tokio::time::timeout(ROUND_TRIP, async {
            let mut conn = self.redis.get().await?;
            call.invoke_async::<Vec<i64>>(&mut conn).await
        })
        .await;
        let reply = match reply {
            Ok(Ok(v)) if v.len() == 9 => {
                self.redis.ok();
                v
            }
            Ok(Ok(_)) => return self.failed("the rate-limit script answered an unexpected shape"),
            Ok(Err(e)) => {
                self.redis.observe(&e);
                return self.failed(e.category());
            }
            Err(_) => {
                // Slower than a request may wait: as good as down for the moment, unless
                // other checks were answered while this one waited.
                self.redis.observe_timeout(ROUND_TRIP);
                return self.failed("timed out");
            }
        };
        // The script numbers groups from 1: `required` first, then the candidates.
        let group = |n: i64| {
            usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| groups().nth(i))
        };
        if reply[0] == 1 {
            let chosen = usize::try_from(reply[1])
                .ok()
                .and_then(|c| c.checked_sub(1 + usize::from(required.is_some())));
            let reported = match required {
                Some(r) => Some(r),
                None => chosen.and_then(|c| candidates.get(c)).map(|(_, s)| *s),
            };
            return Verdict::Admitted {
                chosen,
                status: reported.map(|g| g.status(&reply[5..])),
            };
        }
        let Some(g) = group(reply[2]) else {
            return self.failed("the rate-limit script named no deployment");
        };
        let kind = if reply[3] == 2 {
            RateLimitKind::Tokens
        } else {
            RateLimitKind::Requests
        };
        let limit = match kind {
            RateLimitKind::Tokens => g.limits.tpm.unwrap_or_default(),
            _ => g.limits.rpm.map_or(0, u64::from),
        };
        Verdict::Refused(GatewayError::RateLimited {
            deployment: g.name.clone(),
            kind,
            limit,
            retry_after: Duration::from_micros(reply[4].max(0).unsigned_abs()),
            status: g.status(&reply[5..]),
        })
    }

    /// Fails open, warning at most once per [`WARN_EVERY`]. A connection failure has already
    /// paused Redis calls (`RedisConn::observe`).
    fn failed(&self, why: &str) -> Verdict {
        let now = self.now_ms();
        let quiet = self.quiet_until_ms.load(Ordering::Relaxed);
        let every = u64::try_from(WARN_EVERY.as_millis()).unwrap_or(u64::MAX);
        if now >= quiet
            && self
                .quiet_until_ms
                .compare_exchange(quiet, now + every, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let unlogged = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::warn!(
                error = why,
                unlogged_failures = unlogged,
                "rate limits are not enforced: Redis is unavailable; serving requests unchecked"
            );
        } else {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Open
    }
}
