//! Entra ID tokens from any `azure_identity` credential, cached by our own [`TokenCache`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::time::OffsetDateTime;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use tokio::time::Instant;

use crate::{AuthError, CachedToken, Credential, TokenCache};

/// The Foundry data-plane scope, used by `get_openai_client()` and project endpoints.
pub const FOUNDRY_SCOPE: &str = "https://ai.azure.com/.default";

/// The older Cognitive Services scope, still accepted by Azure OpenAI resource endpoints.
pub const COGNITIVE_SERVICES_SCOPE: &str = "https://cognitiveservices.azure.com/.default";

/// Adapts an `azure_identity` [`TokenCredential`] into a [`Credential`] that sends
/// `Authorization: Bearer <Entra token>`.
///
/// Tokens are requested for one scope ([`FOUNDRY_SCOPE`] unless [`with_scope`](Self::with_scope)
/// says otherwise) and kept in a [`TokenCache`]: refreshed 5 minutes before expiry by default,
/// one refresh at a time however many requests are in flight. The cache matters because the
/// developer-tool credentials (`az`, `azd`) start a subprocess on every `get_token` call.
/// Refreshes are logged through `tracing` (scope and lifetime, never the token).
///
/// ```
/// use routewise_auth::{AzureCredential, COGNITIVE_SERVICES_SCOPE};
/// use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
/// use azure_core::time::{Duration, OffsetDateTime};
/// use std::sync::Arc;
///
/// // Any TokenCredential works: ManagedIdentityCredential, WorkloadIdentityCredential, ...
/// #[derive(Debug)]
/// struct Fixed;
///
/// #[async_trait::async_trait]
/// impl TokenCredential for Fixed {
///     async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
///         Ok(AccessToken::new("jwt", OffsetDateTime::now_utc() + Duration::hours(1)))
///     }
/// }
///
/// let credential = AzureCredential::new(Arc::new(Fixed)).with_scope(COGNITIVE_SERVICES_SCOPE);
/// assert_eq!(credential.scope(), COGNITIVE_SERVICES_SCOPE);
/// ```
pub struct AzureCredential {
    inner: Arc<dyn TokenCredential>,
    scope: Cow<'static, str>,
    cache: TokenCache,
    /// Names the credential in logs and errors, including how `from_env` chose it.
    label: Cow<'static, str>,
}

impl AzureCredential {
    /// Wraps `inner`, requesting tokens for [`FOUNDRY_SCOPE`].
    pub fn new(inner: Arc<dyn TokenCredential>) -> Self {
        Self {
            inner,
            scope: Cow::Borrowed(FOUNDRY_SCOPE),
            cache: TokenCache::new(),
            label: Cow::Borrowed("TokenCredential"),
        }
    }

    /// Requests tokens for `scope` instead (e.g. [`COGNITIVE_SERVICES_SCOPE`]).
    /// Any token cached for the previous scope is dropped.
    pub fn with_scope(mut self, scope: impl Into<Cow<'static, str>>) -> Self {
        self.scope = scope.into();
        self.cache = TokenCache::with_refresh_skew(self.cache.refresh_skew());
        self
    }

    /// Refreshes tokens `skew` before they expire instead of 5 minutes.
    pub fn with_refresh_skew(mut self, skew: Duration) -> Self {
        self.cache = TokenCache::with_refresh_skew(skew);
        self
    }

    /// The scope tokens are requested for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Drops the cached token, so the next call fetches a new one (e.g. after a 401).
    pub fn invalidate(&self) {
        self.cache.invalidate();
    }

    pub(crate) fn with_label(mut self, label: impl Into<Cow<'static, str>>) -> Self {
        self.label = label.into();
        self
    }

    async fn fetch(&self) -> Result<CachedToken, AuthError> {
        let started = Instant::now();
        let token = self
            .inner
            .get_token(&[&self.scope], None)
            .await
            .map_err(|err| {
                tracing::warn!(credential = %self.label, scope = %self.scope, error = %err, "Entra token refresh failed");
                AuthError::token_refresh(self.label.clone(), err)
            })?;
        let remaining = token.expires_on - OffsetDateTime::now_utc();
        let lifetime = Duration::try_from(remaining).unwrap_or(Duration::ZERO);
        tracing::info!(
            credential = %self.label,
            scope = %self.scope,
            expires_in_s = lifetime.as_secs(),
            took_ms = started.elapsed().as_millis() as u64,
            "Entra token refreshed"
        );
        CachedToken::bearer(token.token.secret(), Instant::now() + lifetime)
    }
}

impl fmt::Debug for AzureCredential {
    /// Shows the label and scope but not the inner credential, whose `Debug` we do not control.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureCredential")
            .field("credential", &self.label)
            .field("scope", &self.scope)
            .field("cache", &self.cache)
            .finish()
    }
}

#[async_trait]
impl Credential for AzureCredential {
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        let value = self.cache.get_or_refresh(|| self.fetch()).await?;
        headers.insert(AUTHORIZATION, value);
        Ok(())
    }

    /// A 401 means the cached token was revoked or is wrong for the resource: drop it.
    async fn on_unauthorized(&self) {
        tracing::info!(credential = %self.label, scope = %self.scope, "401 Unauthorized: dropping the cached Entra token");
        self.invalidate();
    }

    /// Entra tokens are cached and can be fetched again.
    fn refreshes(&self) -> bool {
        true
    }

    /// Drops the refused token unless a fresh one replaced it already. Entra tokens can be
    /// refreshed, so a re-sent request may succeed: always `true`.
    async fn on_refused(&self, sent: &HeaderMap) -> bool {
        let dropped = sent
            .get(AUTHORIZATION)
            .is_some_and(|refused| self.cache.invalidate_refused(refused));
        tracing::info!(
            credential = %self.label,
            scope = %self.scope,
            dropped,
            "401 Unauthorized: the refused Entra token is no longer cached"
        );
        true
    }
}
