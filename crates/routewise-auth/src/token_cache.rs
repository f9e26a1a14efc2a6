//! A single-flight cache for expiring tokens.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use http::HeaderValue;
use tokio::time::Instant;

use crate::AuthError;
use crate::credential::sensitive_value;

/// How long before expiry a token is refreshed by default.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(5 * 60);

/// A token as fetched from its source: the ready-made header value and when it expires.
#[derive(Clone)]
pub struct CachedToken {
    value: HeaderValue,
    expires_at: Instant,
}

impl CachedToken {
    /// A token whose header value is `value` (marked sensitive here), valid until `expires_at`.
    pub fn new(mut value: HeaderValue, expires_at: Instant) -> Self {
        value.set_sensitive(true);
        Self { value, expires_at }
    }

    /// A bearer token: the header value is `Bearer <token>`.
    pub fn bearer(token: &str, expires_at: Instant) -> Result<Self, AuthError> {
        Ok(Self {
            value: sensitive_value(&["Bearer ", token], "authorization")?,
            expires_at,
        })
    }

    /// When the token stops being valid.
    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken")
            .field("value", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A cached token plus the moment it should be replaced.
#[derive(Clone)]
struct Slot {
    token: CachedToken,
    refresh_at: Instant,
}

/// What the last completed refresh left behind, for callers that waited on it.
struct Outcome {
    generation: u64,
    error: Option<AuthError>,
}

/// Caches one expiring token and refreshes it ahead of expiry, one refresh at a time.
///
/// * **Hot path.** While the token is fresh, [`get_or_refresh`](Self::get_or_refresh) takes a
///   short uncontended read lock and clones the header value; it never awaits.
/// * **Ahead of expiry.** A token is refreshed once it is within the refresh skew of expiring
///   (default [`DEFAULT_REFRESH_SKEW`], capped at half the token's lifetime so short-lived
///   tokens are not refreshed on every call). During that window a caller that finds a refresh
///   already running keeps using the still-valid token instead of waiting, and if the refresh
///   fails the still-valid token is used and the next call tries again.
/// * **Single flight.** When there is no valid token, concurrent callers wait on the one
///   refresh in progress and share its result, success or failure, so a burst of callers
///   makes exactly one token request.
/// * **Failures.** A failed refresh is returned as the [`AuthError`] the fetch produced, and is
///   not cached: the next call (one that did not wait on the failed refresh) fetches again.
///   If the refreshing caller is cancelled, a waiting caller takes over the refresh.
///
/// Times come from [`tokio::time::Instant`], so tests can drive expiry with paused time.
///
/// ```
/// use routewise_auth::{CachedToken, TokenCache};
/// use std::time::Duration;
/// use tokio::time::Instant;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache = TokenCache::new();
/// let fetch = || async { CachedToken::bearer("t1", Instant::now() + Duration::from_secs(3600)) };
/// let value = cache.get_or_refresh(fetch).await?;
/// assert_eq!(value, "Bearer t1");
/// // Fresh: the second fetch is never called.
/// let value = cache.get_or_refresh(|| async { unreachable!("cached") }).await?;
/// assert_eq!(value, "Bearer t1");
/// # Ok::<(), routewise_auth::AuthError>(())
/// # }).unwrap();
/// ```
pub struct TokenCache {
    slot: RwLock<Option<Slot>>,
    refresh: tokio::sync::Mutex<Outcome>,
    /// Mirrors `Outcome::generation` so a caller can note it before queueing on the mutex.
    generation: AtomicU64,
    skew: Duration,
}

impl TokenCache {
    /// An empty cache with the default refresh skew (5 minutes).
    pub fn new() -> Self {
        Self::with_refresh_skew(DEFAULT_REFRESH_SKEW)
    }

    /// An empty cache that refreshes tokens `skew` before they expire.
    pub fn with_refresh_skew(skew: Duration) -> Self {
        Self {
            slot: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(Outcome {
                generation: 0,
                error: None,
            }),
            generation: AtomicU64::new(0),
            skew,
        }
    }

    /// How long before expiry tokens are refreshed.
    pub fn refresh_skew(&self) -> Duration {
        self.skew
    }

    /// Drops the cached token, so the next call fetches a new one.
    ///
    /// After a 401, prefer [`invalidate_refused`](Self::invalidate_refused): this drops
    /// whatever is cached, even a token fetched after the refused one was sent.
    pub fn invalidate(&self) {
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Drops the cached token if it is still `refused` (the header value a server answered
    /// 401 to), and says whether it did. Requests sent with the same token answer 401 one
    /// after another; only the first of them should cost a refresh, so a refusal of a token
    /// that was already replaced leaves its replacement alone.
    pub fn invalidate_refused(&self, refused: &HeaderValue) -> bool {
        let mut slot = self.slot.write().unwrap_or_else(PoisonError::into_inner);
        let is_refused = slot
            .as_ref()
            .is_some_and(|current| current.token.value == *refused);
        if is_refused {
            *slot = None;
        }
        is_refused
    }

    /// Returns the cached header value, calling `fetch` first if the token is missing or due
    /// for refresh. See the type docs for the concurrency rules.
    pub async fn get_or_refresh<F, Fut>(&self, fetch: F) -> Result<HeaderValue, AuthError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken, AuthError>>,
    {
        let now = Instant::now();
        let current = self.snapshot();
        if let Some(slot) = &current
            && now < slot.refresh_at
        {
            return Ok(slot.token.value.clone());
        }

        let seen = self.generation.load(Ordering::Acquire);
        let still_valid = current
            .filter(|slot| now < slot.token.expires_at)
            .map(|slot| slot.token.value);
        let mut outcome = match &still_valid {
            // Someone is already refreshing and our token still works: don't wait for them.
            Some(value) => match self.refresh.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(value.clone()),
            },
            None => self.refresh.lock().await,
        };

        // A refresh may have finished between our snapshot and taking the lock.
        let now = Instant::now();
        if let Some(slot) = self.snapshot()
            && now < slot.refresh_at
        {
            return Ok(slot.token.value);
        }
        if outcome.generation != seen
            && still_valid.is_none()
            && let Some(err) = &outcome.error
        {
            return Err(err.clone());
        }

        let result = fetch().await;
        outcome.generation += 1;
        self.generation.store(outcome.generation, Ordering::Release);
        match result {
            Ok(token) => {
                let now = Instant::now();
                if token.expires_at <= now {
                    let err = AuthError::token_refresh(
                        "token source",
                        "the token source returned a token that has already expired",
                    );
                    outcome.error = Some(err.clone());
                    return still_valid.ok_or(err);
                }
                let lifetime = token.expires_at - now;
                let refresh_at = token.expires_at - self.skew.min(lifetime / 2);
                let value = token.value.clone();
                *self.slot.write().unwrap_or_else(PoisonError::into_inner) =
                    Some(Slot { token, refresh_at });
                outcome.error = None;
                Ok(value)
            }
            Err(err) => {
                outcome.error = Some(err.clone());
                match still_valid {
                    Some(value) => {
                        tracing::warn!(error = %err, "token refresh failed; using the current token until it expires");
                        Ok(value)
                    }
                    None => Err(err),
                }
            }
        }
    }

    fn snapshot(&self) -> Option<Slot> {
        self.slot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expires_at = self.snapshot().map(|slot| slot.token.expires_at);
        f.debug_struct("TokenCache")
            .field("refresh_skew", &self.skew)
            .field("cached_until", &expires_at)
            .finish()
    }
}
