//! The `Credential` trait that every authorisation scheme implements.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue};

use crate::AuthError;

/// Authorises an outgoing request by setting one header.
///
/// The trait is object-safe: clients hold a [`SharedCredential`] and call
/// [`authorize`](Credential::authorize) once per attempt, so a token that expires between
/// retries is refreshed. Implementations may await a token refresh; a cached, valid token is
/// returned without waiting on anything.
///
/// ```
/// use routewise_auth::{ApiKey, Credential, SharedCredential};
/// use std::sync::Arc;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let credential: SharedCredential = Arc::new(ApiKey::new("my-key"));
/// let mut headers = http::HeaderMap::new();
/// credential.authorize(&mut headers).await?;
/// assert_eq!(headers["api-key"], "my-key");
/// assert_eq!(credential.scheme(), "api-key");
/// # Ok::<(), routewise_auth::AuthError>(())
/// # }).unwrap();
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Credential: Send + Sync + fmt::Debug {
    /// Sets the authorisation header on `headers`, replacing any previous value.
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), AuthError>;

    /// A short name for the scheme, for logs and metrics: `"api-key"` or `"bearer"`.
    fn scheme(&self) -> &'static str {
        "bearer"
    }

    /// Told that the server answered `401 Unauthorized` to a request this credential
    /// authorised, so a cached token can be dropped and the next
    /// [`authorize`](Credential::authorize) fetches a fresh one.
    ///
    /// Prefer [`on_refused`](Credential::on_refused), which is told *which* token was refused:
    /// without it, a 401 that arrives late also drops a token fetched since.
    ///
    /// The default does nothing: static keys and tokens have nothing to refresh.
    async fn on_unauthorized(&self) {}

    /// Told that the server answered `401 Unauthorized` to a request sent with `sent` (that
    /// request's headers, as [`authorize`](Credential::authorize) left them).
    ///
    /// A credential with a cached token drops it if it is still the one refused, and keeps
    /// one fetched since. Returns `true` when the credential's token can be refreshed, so
    /// re-authorising and re-sending the request once may succeed; `false` when a new attempt
    /// would send the same refused secret (keys, static tokens).
    ///
    /// The default calls [`on_unauthorized`](Credential::on_unauthorized) and returns `false`.
    ///
    /// routewise's callers keep what they sent, and so call this, only when
    /// [`refreshes`](Credential::refreshes) is true; otherwise a 401 goes to
    /// [`on_unauthorized`](Credential::on_unauthorized). A credential that caches tokens
    /// overrides `refreshes` as well as this.
    async fn on_refused(&self, sent: &HeaderMap) -> bool {
        let _ = sent;
        self.on_unauthorized().await;
        false
    }

    /// True when a refused secret can be replaced by a fresh one (a cached token), so a
    /// caller should keep what it sent to report it to [`on_refused`](Credential::on_refused)
    /// and re-send. The default, for keys and static tokens, is `false`: callers then keep
    /// nothing, and a 401 is reported through [`on_unauthorized`](Credential::on_unauthorized).
    fn refreshes(&self) -> bool {
        false
    }
}

/// A credential shared between clients, strategies and tasks.
pub type SharedCredential = Arc<dyn Credential>;

#[async_trait]
impl<C: Credential + ?Sized> Credential for Arc<C> {
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        (**self).authorize(headers).await
    }

    fn scheme(&self) -> &'static str {
        (**self).scheme()
    }

    async fn on_unauthorized(&self) {
        (**self).on_unauthorized().await;
    }

    async fn on_refused(&self, sent: &HeaderMap) -> bool {
        (**self).on_refused(sent).await
    }

    fn refreshes(&self) -> bool {
        (**self).refreshes()
    }
}

/// [`Credential::authorize`] bounded by `limit`: a credential that has not answered by then
/// fails with [`AuthError::Timeout`] (its future is dropped, which cancels it).
///
/// A credential can hang: `azure_identity` puts no timeout on the `az`/`azd` subprocesses or
/// on the managed identity endpoint. Callers that must not hang with it use this.
///
/// ```
/// use std::time::Duration;
/// use routewise_auth::{ApiKey, authorize_within};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mut headers = http::HeaderMap::new();
/// authorize_within(&ApiKey::new("k"), &mut headers, Duration::from_secs(30)).await?;
/// assert_eq!(headers["api-key"], "k");
/// # Ok::<(), routewise_auth::AuthError>(())
/// # }).unwrap();
/// ```
pub async fn authorize_within(
    credential: &(impl Credential + ?Sized),
    headers: &mut HeaderMap,
    limit: Duration,
) -> Result<(), AuthError> {
    tokio::time::timeout(limit, credential.authorize(headers))
        .await
        .unwrap_or(Err(AuthError::timeout(limit)))
}

/// Builds a header value that `http` and its users treat as sensitive (never logged by `Debug`).
pub(crate) fn sensitive_value(
    parts: &[&str],
    header: &'static str,
) -> Result<HeaderValue, AuthError> {
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        bytes.extend_from_slice(part.as_bytes());
    }
    let mut value =
        HeaderValue::from_maybe_shared(bytes).map_err(|_| AuthError::invalid_header(header))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;

    #[tokio::test]
    async fn mock_credential_and_arc_forwarding() {
        let mut mock = MockCredential::new();
        mock.expect_authorize().times(2).returning(|headers| {
            headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer mocked"));
            Ok(())
        });
        mock.expect_scheme().return_const("bearer");
        mock.expect_on_unauthorized().times(1).return_const(());
        mock.expect_on_refused().times(1).return_const(true);
        let shared: SharedCredential = Arc::new(mock);
        let forwarded = Arc::new(shared.clone());

        let mut headers = HeaderMap::new();
        shared.authorize(&mut headers).await.unwrap();
        forwarded.authorize(&mut headers).await.unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer mocked");
        assert_eq!(forwarded.scheme(), "bearer");
        forwarded.on_unauthorized().await;
        assert!(forwarded.on_refused(&headers).await);
    }

    #[tokio::test]
    async fn on_unauthorized_defaults_to_nothing() {
        let key = crate::ApiKey::new("k");
        key.on_unauthorized().await;
        let mut headers = HeaderMap::new();
        key.authorize(&mut headers).await.unwrap();
        assert_eq!(headers["api-key"], "k");
        assert!(
            !key.on_refused(&headers).await,
            "a key cannot be refreshed: re-sending it would be refused again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn authorize_within_bounds_a_credential_that_never_answers() {
        #[derive(Debug)]
        struct NeverAnswers;
        #[async_trait]
        impl Credential for NeverAnswers {
            async fn authorize(&self, _headers: &mut HeaderMap) -> Result<(), AuthError> {
                std::future::pending().await
            }
        }
        let started = tokio::time::Instant::now();
        let mut headers = HeaderMap::new();
        let err = authorize_within(&NeverAnswers, &mut headers, Duration::from_secs(7))
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(7));
        assert_eq!(
            err.to_string(),
            "the credential gave no token or key within 7s"
        );
    }

    #[test]
    fn sensitive_value_joins_parts_and_rejects_control_bytes() {
        let value = sensitive_value(&["Bearer ", "abc"], "authorization").unwrap();
        assert_eq!(value, "Bearer abc");
        assert!(value.is_sensitive());
        let err = sensitive_value(&["a\nb"], "api-key").unwrap_err();
        assert!(err.is_invalid_header());
    }
}
