//! One lazily opened, shared Redis connection: what the response store, or the rate limiter,
//! talks through. Each has its own, even on the same server, so that a large stored response
//! never holds a rate-limit check up behind it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use routewise_auth::Secret;
use tokio::sync::OnceCell;

/// The longest a connection attempt, or a reply, may take before the call fails.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// After a connection failure, calls fail at once for this long. Without it every request
/// would wait out a dead or hung server in turn (they queue behind one connection attempt),
/// and a request that stores its answer would take seconds. While the outage lasts, each
/// failed probe doubles the pause, up to [`MAX_DOWN_FOR`].
pub(crate) const DOWN_FOR: Duration = Duration::from_secs(1);

/// The longest pause between probes of a server that keeps failing.
const MAX_DOWN_FOR: Duration = Duration::from_secs(30);

/// The detail of the error a call gets during a pause.
const PAUSED: &str = "not retried during the pause after a failure";

/// A Redis server, connected on first use.
pub(crate) struct RedisConn {
    client: redis::Client,
    conn: OnceCell<redis::aio::ConnectionManager>,
    epoch: Instant,
    /// Milliseconds after `epoch` before which the server is taken as down.
    down_until_ms: AtomicU64,
    /// The length of the current (or last) pause, in milliseconds.
    down_for_ms: AtomicU64,
    /// Milliseconds after `epoch` of the last answered call (0: none yet).
    answered_ms: AtomicU64,
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the URL, which may carry a password.
        f.debug_struct("RedisConn").finish_non_exhaustive()
    }
}

impl RedisConn {
    /// A handle on `url`; nothing is connected until the first call. The error never repeats
    /// the URL.
    pub(crate) fn new(url: &Secret) -> Result<Self, String> {
        let client = redis::Client::open(url.expose())
            .map_err(|_| "the Redis URL is not a valid redis:// URL".to_owned())?;
        Ok(Self {
            client,
            conn: OnceCell::new(),
            epoch: Instant::now(),
            down_until_ms: AtomicU64::new(0),
            down_for_ms: AtomicU64::new(0),
            answered_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// True while a recent connection failure says not to try.
    pub(crate) fn is_down(&self) -> bool {
        self.now_ms() < self.down_until_ms.load(Ordering::Relaxed)
    }

    /// Notes a failed call: a connection failure (refused, dropped, timed out) makes calls
    /// fail at once for a pause, [`DOWN_FOR`] at first and twice the last one when the probe
    /// after a pause fails too. A server's error reply to a command says the server is up.
    pub(crate) fn observe(&self, e: &redis::RedisError) {
        let lost = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal();
        // A call refused during the pause never reached Redis: it is no probe.
        if !lost || e.detail() == Some(PAUSED) {
            return;
        }
        // The connection manager's own reply timeout is IO_TIMEOUT.
        if e.is_timeout() && self.answered_within(IO_TIMEOUT) {
            return;
        }
        let now = self.now_ms();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let until = self.down_until_ms.load(Ordering::Relaxed);
        if now < until {
            // Calls already in flight when the pause began say nothing new.
            return;
        }
        let last = self.down_for_ms.load(Ordering::Relaxed);
        // A probe fails within a connection timeout or two of the pause's end when the
        // outage goes on; a failure long after is a new outage.
        let ongoing = last > 0 && now - until <= 2 * ms(IO_TIMEOUT) + ms(DOWN_FOR);
        let pause = if ongoing {
            last.saturating_mul(2).min(ms(MAX_DOWN_FOR))
        } else {
            ms(DOWN_FOR)
        };
        // Of probes failing together, one starts the pause; the others find it started.
        if self
            .down_until_ms
            .compare_exchange(
                until,
                now.saturating_add(pause),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            self.down_for_ms.store(pause, Ordering::Relaxed);
        }
    }

    /// Notes a call Redis answered: the outage, if there was one, is over, and the next
    /// failure starts with the shortest pause.
    pub(crate) fn ok(&self) {
        // At least 1, since 0 means "never answered".
        self.answered_ms
            .store(self.now_ms().max(1), Ordering::Relaxed);
        if self.down_for_ms.load(Ordering::Relaxed) != 0 {
            self.down_for_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Notes a call that got no reply within `waited`, its own time limit. When other calls
    /// were answered meanwhile, the server is busy or a long reply was ahead of this one on
    /// the connection (a large stored response): this call fails alone and nothing is paused.
    /// Otherwise it is a lost connection, as [`observe`](Self::observe) takes it.
    pub(crate) fn observe_timeout(&self, waited: Duration) {
        if !self.answered_within(waited) {
            self.observe(&redis::RedisError::from((
                redis::ErrorKind::Io,
                "no reply in time",
            )));
        }
    }

    /// True when a call was answered in the last `span`.
    fn answered_within(&self, span: Duration) -> bool {
        let answered = self.answered_ms.load(Ordering::Relaxed);
        let span = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
        answered > 0 && self.now_ms().saturating_sub(answered) <= span
    }

    fn refuse_while_down(&self) -> Result<(), redis::RedisError> {
        if self.is_down() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis failed moments ago",
                PAUSED.to_owned(),
            )));
        }
        Ok(())
    }

    /// The shared connection, opened on first use. Bounded: a dead Redis fails the call, never
    /// hangs it, and for [`DOWN_FOR`] after a failure calls fail without trying.
    pub(crate) async fn get(&self) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
        self.refuse_while_down()?;
        let got = self
            .conn
            .get_or_try_init(|| async {
                // Callers that queued behind a failed attempt must not each try again.
                self.refuse_while_down()?;
                let cfg = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(IO_TIMEOUT))
                    .set_response_timeout(Some(IO_TIMEOUT))
                    .set_number_of_retries(2);
                // The manager retries a failed first connection; the wait stays one timeout.
                tokio::time::timeout(
                    IO_TIMEOUT,
                    self.client.get_connection_manager_with_config(cfg),
                )
                .await
                .unwrap_or_else(|_| {
                    Err(redis::RedisError::from((
                        redis::ErrorKind::Io,
                        "connecting to Redis timed out",
                    )))
                })
            })
            .await
            .cloned();
        if let Err(e) = &got {
            self.observe(e);
        }
        got
    }

    /// A connection of its own, for a command that blocks the connection it runs on (`XREAD
    /// BLOCK`): on the shared one it would stall every other caller. Replies may take up to
    /// `block` longer than usual.
    pub(crate) async fn dedicated(
        &self,
        block: Duration,
    ) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
        self.refuse_while_down()?;
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT + block));
        let got = self
            .client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await;
        if let Err(e) = &got {
            self.observe(e);
        }
        got
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> redis::RedisError {
        redis::RedisError::from((redis::ErrorKind::Io, "refused"))
    }

    #[test]
    fn a_timeout_while_other_calls_are_answered_is_load_not_an_outage() {
        // Ten seconds into its life, so that "300 ms ago" is a time it had.
        let c = RedisConn {
            epoch: Instant::now().checked_sub(Duration::from_secs(10)).unwrap(),
            ..RedisConn::new(&Secret::new("redis://127.0.0.1:1/0")).unwrap()
        };
        // Nothing answered yet: a timeout is all there is to go on, so it pauses.
        c.observe_timeout(IO_TIMEOUT);
        assert!(c.is_down());
        c.down_until_ms.store(0, Ordering::Relaxed);
        c.down_for_ms.store(0, Ordering::Relaxed);
        // Another call was just answered: the server is up and busy.
        c.ok();
        c.observe_timeout(IO_TIMEOUT);
        assert!(!c.is_down());
        // A short limit looks back only as far as it waited: an answer 300 ms ago says
        // nothing about a 250 ms wait.
        c.answered_ms.store(c.now_ms() - 300, Ordering::Relaxed);
        c.observe_timeout(Duration::from_millis(250));
        assert!(c.is_down());
        c.down_until_ms.store(0, Ordering::Relaxed);
        c.down_for_ms.store(0, Ordering::Relaxed);
        c.ok();
        // A refused or dropped connection is an outage however recent the last answer.
        c.observe(&io());
        assert!(c.is_down());
        // And so is a timeout once the last answer is older than a timeout.
        let stale = RedisConn::new(&Secret::new("redis://127.0.0.1:1/0")).unwrap();
        stale.ok();
        stale.answered_ms.store(1, Ordering::Relaxed);
        let stale = RedisConn {
            epoch: Instant::now().checked_sub(Duration::from_secs(10)).unwrap(),
            ..stale
        };
        stale.observe_timeout(IO_TIMEOUT);
        assert!(stale.is_down());
    }

    #[test]
    fn failed_probes_lengthen_the_pause_and_replies_do_not_start_one() {
        let c = RedisConn::new(&Secret::new("redis://127.0.0.1:1/0")).unwrap();
        c.observe(&redis::RedisError::from((
            redis::ErrorKind::Parse,
            "a reply, so the server is up",
        )));
        assert!(!c.is_down());
        c.observe(&io());
        assert!(c.is_down());
        assert_eq!(c.down_for_ms.load(Ordering::Relaxed), 1_000);
        // A call that was in flight when the pause began fails too: nothing changes.
        c.observe(&io());
        assert_eq!(c.down_for_ms.load(Ordering::Relaxed), 1_000);
        // A call refused by the pause itself is no probe, even once the pause is over.
        let refused = c.refuse_while_down().unwrap_err();
        c.down_until_ms.store(c.now_ms(), Ordering::Relaxed);
        c.observe(&refused);
        assert_eq!(c.down_for_ms.load(Ordering::Relaxed), 1_000);
        c.down_until_ms.store(c.now_ms() + 1_000, Ordering::Relaxed);
        // The probe after the pause fails: twice as long, up to the cap.
        for want in [2_000, 4_000, 8_000, 16_000, 30_000, 30_000] {
            c.down_until_ms.store(c.now_ms(), Ordering::Relaxed);
            c.observe(&io());
            assert_eq!(c.down_for_ms.load(Ordering::Relaxed), want);
        }
        // A failure long after the last pause is a new outage: here the last 30 s pause
        // ended a minute ago.
        let c2 = RedisConn {
            epoch: Instant::now().checked_sub(Duration::from_secs(60)).unwrap(),
            ..RedisConn::new(&Secret::new("redis://127.0.0.1:1/0")).unwrap()
        };
        c2.down_for_ms.store(30_000, Ordering::Relaxed);
        c2.observe(&io());
        assert_eq!(c2.down_for_ms.load(Ordering::Relaxed), 1_000);
        // An answered call ends the outage: the next failure starts short again.
        c.ok();
        c.down_until_ms.store(c.now_ms(), Ordering::Relaxed);
        c.observe(&io());
        assert_eq!(c.down_for_ms.load(Ordering::Relaxed), 1_000);
    }
}
