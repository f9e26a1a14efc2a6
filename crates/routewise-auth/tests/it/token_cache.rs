//! `TokenCache` timing and concurrency rules, driven with paused tokio time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use routewise_auth::{AuthError, CachedToken, TokenCache};
use tokio::time::{Instant, advance, sleep};

const MINUTE: Duration = Duration::from_secs(60);

/// A token source that counts fetches, takes `delay` to answer and fails while `failing` is set.
#[derive(Default)]
struct Source {
    calls: AtomicUsize,
    failing: std::sync::atomic::AtomicBool,
    delay: Duration,
    lifetime: Duration,
}

impl Source {
    fn new(lifetime: Duration, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            lifetime,
            delay,
            ..Self::default()
        })
    }

    async fn fetch(&self) -> Result<CachedToken, AuthError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        sleep(self.delay).await;
        if self.failing.load(Ordering::SeqCst) {
            return Err(AuthError::token_refresh("Source", "simulated outage"));
        }
        CachedToken::bearer(&format!("token-{n}"), Instant::now() + self.lifetime)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn fresh_token_is_reused_and_refreshed_ahead_of_expiry() {
    let source = Source::new(60 * MINUTE, Duration::ZERO);
    let cache = TokenCache::new();

    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-1"
    );
    advance(54 * MINUTE).await;
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-1"
    );
    assert_eq!(
        source.calls(),
        1,
        "a token 6 minutes from expiry is still fresh"
    );

    // 4 minutes before expiry: inside the default 5-minute skew, so refreshed early.
    advance(2 * MINUTE).await;
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-2"
    );
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn custom_skew_moves_the_refresh_point() {
    let source = Source::new(60 * MINUTE, Duration::ZERO);
    let cache = TokenCache::with_refresh_skew(MINUTE);
    cache.get_or_refresh(|| source.fetch()).await.unwrap();
    advance(58 * MINUTE + Duration::from_secs(30)).await;
    cache.get_or_refresh(|| source.fetch()).await.unwrap();
    assert_eq!(source.calls(), 1);
    advance(MINUTE).await;
    cache.get_or_refresh(|| source.fetch()).await.unwrap();
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn short_lived_tokens_are_not_refreshed_on_every_call() {
    // Lifetime below the skew: refresh at half-life instead of immediately.
    let source = Source::new(2 * MINUTE, Duration::ZERO);
    let cache = TokenCache::new();
    for _ in 0..10 {
        cache.get_or_refresh(|| source.fetch()).await.unwrap();
    }
    assert_eq!(source.calls(), 1);
    advance(MINUTE + Duration::from_secs(1)).await;
    cache.get_or_refresh(|| source.fetch()).await.unwrap();
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn hundred_concurrent_callers_make_one_request() {
    let source = Source::new(60 * MINUTE, Duration::from_millis(200));
    let cache = Arc::new(TokenCache::new());
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (source, cache) = (source.clone(), cache.clone());
            tokio::spawn(async move { cache.get_or_refresh(|| source.fetch()).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "Bearer token-1");
    }
    assert_eq!(source.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_a_failure_and_the_next_call_retries() {
    let source = Source::new(60 * MINUTE, Duration::from_millis(200));
    source.set_failing(true);
    let cache = Arc::new(TokenCache::new());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (source, cache) = (source.clone(), cache.clone());
            tokio::spawn(async move { cache.get_or_refresh(|| source.fetch()).await })
        })
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(err.is_token_refresh(), "{err:?}");
    }
    assert_eq!(source.calls(), 1, "waiters share the one failed refresh");

    // Still failing: a new call tries again rather than replaying a cached error.
    assert!(
        cache
            .get_or_refresh(|| source.fetch())
            .await
            .unwrap_err()
            .is_token_refresh()
    );
    assert_eq!(source.calls(), 2);

    source.set_failing(false);
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-3"
    );
    assert_eq!(source.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn expiring_token_survives_a_failed_refresh_but_expired_one_does_not() {
    let source = Source::new(10 * MINUTE, Duration::ZERO);
    let cache = TokenCache::new();
    cache.get_or_refresh(|| source.fetch()).await.unwrap();

    // Inside the refresh window but not expired: the refresh fails, the old token is used.
    advance(6 * MINUTE).await;
    source.set_failing(true);
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-1"
    );
    // ...and the next call tries again.
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-1"
    );
    assert_eq!(source.calls(), 3);

    // Expired: the failure surfaces.
    advance(5 * MINUTE).await;
    let err = cache.get_or_refresh(|| source.fetch()).await.unwrap_err();
    assert!(err.is_token_refresh());

    source.set_failing(false);
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-5"
    );
}

#[tokio::test(start_paused = true)]
async fn callers_keep_a_valid_token_while_another_refreshes() {
    let source = Source::new(10 * MINUTE, Duration::from_secs(5));
    let cache = Arc::new(TokenCache::new());
    cache.get_or_refresh(|| source.fetch()).await.unwrap();
    advance(6 * MINUTE).await;

    let refresher = {
        let (source, cache) = (source.clone(), cache.clone());
        tokio::spawn(async move { cache.get_or_refresh(|| source.fetch()).await })
    };
    tokio::task::yield_now().await;
    // The refresh is in flight; this caller returns at once with the still-valid token.
    let started = Instant::now();
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-1"
    );
    assert_eq!(started.elapsed(), Duration::ZERO);

    assert_eq!(refresher.await.unwrap().unwrap(), "Bearer token-2");
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_refresh_is_taken_over_by_a_waiter() {
    let source = Source::new(60 * MINUTE, Duration::from_secs(1));
    let cache = Arc::new(TokenCache::new());
    let first = {
        let (source, cache) = (source.clone(), cache.clone());
        tokio::spawn(async move { cache.get_or_refresh(|| source.fetch()).await })
    };
    tokio::task::yield_now().await;
    let second = {
        let (source, cache) = (source.clone(), cache.clone());
        tokio::spawn(async move { cache.get_or_refresh(|| source.fetch()).await })
    };
    tokio::task::yield_now().await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert_eq!(second.await.unwrap().unwrap(), "Bearer token-2");
    assert_eq!(source.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn invalidate_forces_a_refetch_and_expired_sources_are_rejected() {
    let source = Source::new(60 * MINUTE, Duration::ZERO);
    let cache = TokenCache::new();
    cache.get_or_refresh(|| source.fetch()).await.unwrap();
    cache.invalidate();
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-2"
    );

    let stale = TokenCache::new();
    let err = stale
        .get_or_refresh(|| async { CachedToken::bearer("old", Instant::now()) })
        .await
        .unwrap_err();
    assert!(err.is_token_refresh());
}

#[tokio::test]
async fn invalid_token_bytes_are_a_typed_error() {
    let err = CachedToken::bearer("line\nbreak", Instant::now()).unwrap_err();
    assert!(err.is_invalid_header());
    assert!(!err.to_string().contains("line"));
}

#[test]
fn debug_never_shows_the_token() {
    let token = CachedToken::bearer("super-secret", Instant::now()).unwrap();
    assert!(!format!("{token:?}").contains("super-secret"));
    let cache = TokenCache::new();
    assert!(format!("{cache:?}").contains("refresh_skew"));
}

#[tokio::test(start_paused = true)]
async fn a_late_refusal_of_a_replaced_token_keeps_the_fresh_one() {
    let source = Source::new(60 * MINUTE, Duration::ZERO);
    let cache = TokenCache::new();
    let first = cache.get_or_refresh(|| source.fetch()).await.unwrap();
    assert!(
        cache.invalidate_refused(&first),
        "the refused token is dropped"
    );
    let second = cache.get_or_refresh(|| source.fetch()).await.unwrap();
    assert_eq!(second, "Bearer token-2");

    // A second request sent with token-1 is refused after token-2 was fetched.
    assert!(!cache.invalidate_refused(&first));
    assert_eq!(
        cache.get_or_refresh(|| source.fetch()).await.unwrap(),
        "Bearer token-2"
    );
    assert_eq!(source.calls(), 2, "no refresh for the late refusal");
}
