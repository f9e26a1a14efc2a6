//! The per-replica cap on followers of background streams (`max_stream_followers`).
//!
//! Every `GET /responses/{id}?stream=true` holds a dedicated Redis connection for its blocking
//! reads for as long as it follows, so without a cap a crowd of followers (or one client
//! reconnecting in a loop) would open connections without bound. A follower past the cap is
//! refused at once with a 429, never queued: a queued follower would hold the client's
//! connection with nothing to say.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::GatewayError;

/// The back-off a refused follower is told (`retry-after`): a place frees whenever any stream
/// ends, which cannot be predicted, so a short fixed wait that the OpenAI clients' own
/// retries honour.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The places for followers on this replica.
#[derive(Debug)]
pub(crate) struct Followers {
    places: Arc<Semaphore>,
    limit: usize,
}

/// One follower's place, given back when dropped: when its stream ends or its client leaves
/// (the response body, which owns it, is dropped either way).
pub(crate) type Place = OwnedSemaphorePermit;

impl Followers {
    /// Room for `limit` followers at once (config validation keeps it within what a
    /// semaphore holds; anything larger is clamped rather than panicking).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.min(Semaphore::MAX_PERMITS);
        Self {
            places: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A place for one more follower, or the 429 that refuses it.
    pub(crate) fn admit(&self) -> Result<Place, GatewayError> {
        // The semaphore is never closed, so the only failure is "no place left".
        Arc::clone(&self.places)
            .try_acquire_owned()
            .map_err(|_| GatewayError::TooManyStreams {
                limit: self.limit,
                retry_after: RETRY_AFTER,
            })
    }

    /// How many followers this replica serves now.
    pub(crate) fn active(&self) -> usize {
        self.limit.saturating_sub(self.places.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_refuses_with_a_429_and_a_leaving_follower_frees_its_place() {
        let followers = Followers::new(2);
        let first = followers.admit().unwrap();
        let _second = followers.admit().unwrap();
        assert_eq!(followers.active(), 2);
        let refused = followers.admit().unwrap_err();
        assert!(refused.is_too_many_streams());
        assert_eq!(refused.status().as_u16(), 429);
        let body = refused.body();
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert_eq!(body["error"]["type"], "requests");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("at most 2"),
            "{body}"
        );
        drop(first);
        assert_eq!(followers.active(), 1);
        assert!(followers.admit().is_ok());
    }

    #[test]
    fn a_refusal_carries_retry_after_headers() {
        use axum::response::IntoResponse;
        let followers = Followers::new(1);
        let _held = followers.admit().unwrap();
        let resp = followers.admit().unwrap_err().into_response();
        assert_eq!(resp.status().as_u16(), 429);
        assert_eq!(resp.headers()["retry-after"], "1");
        assert_eq!(resp.headers()["retry-after-ms"], "1000");
    }
}
