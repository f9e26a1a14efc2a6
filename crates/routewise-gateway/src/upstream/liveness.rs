//! When an upstream stream last showed signs of life, and waiting for its next event with that
//! in mind.
//!
//! SSE keep-alive comments (`: ping`) never become events, so an idle timer that only counts
//! events would cut off an upstream that is busy (a long reasoning phase) but says so only in
//! comments. The HTTP upstream touches a [`Liveness`] for every chunk of body it receives;
//! [`next_event`] extends its deadline by that.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use routewise_strategy::AttemptFailure;
use tokio::time::Instant;

use super::{EventStream, SseEvent};

/// The last time bytes arrived from an upstream, shared between the body that receives them
/// and whoever waits for events. Cheap to clone; one per request.
#[derive(Debug, Clone)]
pub(crate) struct Liveness(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    since: Instant,
    /// Nanoseconds after `since` of the last touch, plus one (0: never touched).
    last: AtomicU64,
}

impl Default for Liveness {
    fn default() -> Self {
        Self(Arc::new(Inner {
            since: Instant::now(),
            last: AtomicU64::new(0),
        }))
    }
}

impl Liveness {
    /// Notes that bytes arrived now.
    pub(crate) fn touch(&self) {
        let nanos = u64::try_from(self.0.since.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        self.0.last.fetch_max(nanos + 1, Ordering::Relaxed);
    }

    /// When bytes last arrived, if ever.
    fn last(&self) -> Option<Instant> {
        match self.0.last.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.0.since + Duration::from_nanos(n - 1)),
        }
    }
}

/// The upstream stayed silent (no event, no byte) for the whole idle timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Idle;

/// The next item of `rest`, or [`Idle`] once neither an event nor (per `live`) any byte came
/// for `idle`.
pub(crate) async fn next_event(
    rest: &mut EventStream,
    idle: Duration,
    live: &Liveness,
) -> Result<Option<Result<SseEvent, AttemptFailure>>, Idle> {
    let mut deadline = Instant::now() + idle;
    loop {
        // `next()` holds no state of its own: dropping it on a timeout loses nothing.
        match tokio::time::timeout_at(deadline, rest.next()).await {
            Ok(item) => return Ok(item),
            Err(_) => match live.last().map(|at| at + idle) {
                Some(later) if later > Instant::now() => deadline = later,
                _ => return Err(Idle),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn silent() -> EventStream {
        Box::pin(futures_util::stream::pending())
    }

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_and_bytes_extend_the_wait() {
        let live = Liveness::default();
        let mut rest = silent();
        let started = Instant::now();
        assert_eq!(
            next_event(&mut rest, Duration::from_secs(1), &live)
                .await
                .err(),
            Some(Idle)
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1));

        // Bytes 0.8 s into the wait: it ends 1 s after them.
        let toucher = live.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            toucher.touch();
        });
        let started = Instant::now();
        assert!(
            next_event(&mut rest, Duration::from_secs(1), &live)
                .await
                .is_err()
        );
        assert_eq!(started.elapsed(), Duration::from_millis(1800));
    }
}
