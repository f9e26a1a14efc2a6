//! `AzureCredential` over a fake `TokenCredential` that counts calls.
#![cfg(feature = "azure")]

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::time::OffsetDateTime;
use http::HeaderMap;
use routewise_auth::{
    AzureCredential, COGNITIVE_SERVICES_SCOPE, Credential, FOUNDRY_SCOPE, SharedCredential,
};
use tokio::time::advance;

const SECRET_PREFIX: &str = "eyJ-very-secret-jwt-";

/// Answers with `eyJ-very-secret-jwt-<n>` tokens valid for an hour, after `delay`.
#[derive(Debug, Default)]
struct FakeEntra {
    calls: AtomicUsize,
    failing: AtomicBool,
    delay: Duration,
    scopes: Mutex<Vec<String>>,
}

impl FakeEntra {
    fn with_delay(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            ..Self::default()
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl TokenCredential for FakeEntra {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.scopes
            .lock()
            .unwrap()
            .extend(scopes.iter().map(|s| s.to_string()));
        tokio::time::sleep(self.delay).await;
        if self.failing.load(Ordering::SeqCst) {
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                "simulated Entra outage",
            ));
        }
        Ok(AccessToken::new(
            format!("{SECRET_PREFIX}{n}"),
            OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
        ))
    }
}

async fn authorize(credential: &dyn Credential) -> Result<HeaderMap, routewise_auth::AuthError> {
    let mut headers = HeaderMap::new();
    credential.authorize(&mut headers).await?;
    Ok(headers)
}

#[tokio::test(start_paused = true)]
async fn sends_a_sensitive_bearer_for_the_foundry_scope() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential = AzureCredential::new(fake.clone());
    assert_eq!(credential.scope(), FOUNDRY_SCOPE);
    let headers = authorize(&credential).await.unwrap();
    let value = &headers[http::header::AUTHORIZATION];
    assert_eq!(value, &format!("Bearer {SECRET_PREFIX}1"));
    assert!(value.is_sensitive());
    assert_eq!(credential.scheme(), "bearer");
    assert_eq!(*fake.scopes.lock().unwrap(), [FOUNDRY_SCOPE]);
}

#[tokio::test(start_paused = true)]
async fn scope_is_configurable() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential = AzureCredential::new(fake.clone()).with_scope(COGNITIVE_SERVICES_SCOPE);
    authorize(&credential).await.unwrap();
    assert_eq!(*fake.scopes.lock().unwrap(), [COGNITIVE_SERVICES_SCOPE]);
}

#[tokio::test(start_paused = true)]
async fn refreshes_ahead_of_expiry() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential = AzureCredential::new(fake.clone());
    authorize(&credential).await.unwrap();
    advance(Duration::from_secs(54 * 60)).await;
    authorize(&credential).await.unwrap();
    assert_eq!(fake.calls(), 1, "fresh token reused");
    advance(Duration::from_secs(2 * 60)).await;
    let headers = authorize(&credential).await.unwrap();
    assert_eq!(fake.calls(), 2, "refreshed 4 minutes before expiry");
    assert_eq!(
        headers[http::header::AUTHORIZATION],
        format!("Bearer {SECRET_PREFIX}2")
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_skew_is_configurable() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential =
        AzureCredential::new(fake.clone()).with_refresh_skew(Duration::from_secs(30 * 60));
    authorize(&credential).await.unwrap();
    advance(Duration::from_secs(31 * 60)).await;
    authorize(&credential).await.unwrap();
    assert_eq!(fake.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_callers_make_exactly_one_token_request() {
    let fake = FakeEntra::with_delay(Duration::from_millis(50));
    let credential: SharedCredential = Arc::new(AzureCredential::new(fake.clone()));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let credential = credential.clone();
            tokio::spawn(async move { authorize(&*credential).await })
        })
        .collect();
    for task in tasks {
        let headers = task.await.unwrap().unwrap();
        assert_eq!(
            headers[http::header::AUTHORIZATION],
            format!("Bearer {SECRET_PREFIX}1")
        );
    }
    assert_eq!(fake.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn failed_refresh_is_typed_and_the_next_call_retries() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    fake.failing.store(true, Ordering::SeqCst);
    let credential = AzureCredential::new(fake.clone());

    let err = authorize(&credential).await.unwrap_err();
    assert!(err.is_token_refresh(), "{err:?}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("simulated Entra outage"), "{source}");

    fake.failing.store(false, Ordering::SeqCst);
    let headers = authorize(&credential).await.unwrap();
    assert_eq!(
        headers[http::header::AUTHORIZATION],
        format!("Bearer {SECRET_PREFIX}2")
    );
    assert_eq!(fake.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn invalidate_drops_the_cached_token() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential = AzureCredential::new(fake.clone());
    authorize(&credential).await.unwrap();
    credential.invalidate();
    authorize(&credential).await.unwrap();
    assert_eq!(fake.calls(), 2);
}

/// A `tracing` writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn secrets_stay_out_of_debug_and_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    share_callsite_interest();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential = AzureCredential::new(fake.clone());
    let headers = authorize(&credential).await.unwrap();
    tracing::info!(?headers, ?credential, "request authorised");

    fake.failing.store(true, Ordering::SeqCst);
    credential.invalidate();
    let err = authorize(&credential).await.unwrap_err();
    tracing::error!(error = %err, debug = ?err, "auth failed");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Entra token refreshed"), "{logs}");
    assert!(logs.contains(FOUNDRY_SCOPE), "{logs}");
    assert!(logs.contains("Entra token refresh failed"), "{logs}");
    assert!(!logs.contains(SECRET_PREFIX), "{logs}");

    for shown in [
        format!("{credential:?}"),
        format!("{err:?}"),
        err.to_string(),
    ] {
        assert!(!shown.contains(SECRET_PREFIX), "{shown}");
    }
}

#[tokio::test(start_paused = true)]
async fn on_unauthorized_drops_the_cached_token_even_through_a_shared_handle() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential: SharedCredential = Arc::new(AzureCredential::new(fake.clone()));
    let first = authorize(&*credential).await.unwrap();
    authorize(&*credential).await.unwrap();
    assert_eq!(fake.calls(), 1, "a valid token is served from the cache");
    credential.on_unauthorized().await;
    let second = authorize(&*credential).await.unwrap();
    assert_eq!(fake.calls(), 2, "a 401 forces a fresh token");
    assert_ne!(first["authorization"], second["authorization"]);
}

/// Makes a thread-scoped subscriber see every callsite, even in a binary whose other tests
/// run without one.
///
/// tracing caches each callsite's interest process-wide; while only one dispatcher exists it
/// asks the *calling thread's* default, so a callsite first hit by a concurrent test (no
/// subscriber) stays disabled for ours. A second, process-lifetime dispatcher makes tracing
/// combine the interest of every live dispatcher instead.
fn share_callsite_interest() {
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
}

/// Two requests went out with the same token and both were refused: the first refusal costs a
/// refresh, the late second one must not throw away the token that refresh fetched.
#[tokio::test(start_paused = true)]
async fn a_late_401_does_not_evict_a_freshly_fetched_token() {
    let fake = FakeEntra::with_delay(Duration::ZERO);
    let credential: SharedCredential = Arc::new(AzureCredential::new(fake.clone()));
    let refused = authorize(&*credential).await.unwrap();

    assert!(
        credential.on_refused(&refused).await,
        "Entra tokens refresh"
    );
    let fresh = authorize(&*credential).await.unwrap();
    assert_eq!(fake.calls(), 2);
    assert_ne!(fresh["authorization"], refused["authorization"]);

    assert!(credential.on_refused(&refused).await);
    let still = authorize(&*credential).await.unwrap();
    assert_eq!(fake.calls(), 2, "the late 401 cost no refresh");
    assert_eq!(still["authorization"], fresh["authorization"]);

    assert!(credential.on_refused(&fresh).await);
    authorize(&*credential).await.unwrap();
    assert_eq!(fake.calls(), 3, "a refusal of the current token drops it");
}
