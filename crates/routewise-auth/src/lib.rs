//! Credentials for routewise: API keys, bearer tokens and Entra ID through `azure_identity`,
//! with a single-flight token cache.
//!
//! Every scheme implements the object-safe [`Credential`] trait, which sets one header on an
//! outgoing request. Clients hold a [`SharedCredential`] and call it once per attempt.
//!
//! | type | header |
//! |---|---|
//! | [`ApiKey::new`] | `api-key: <key>` (Azure OpenAI / Foundry resources) |
//! | [`ApiKey::bearer`] | `Authorization: Bearer <key>` (OpenAI, Azure `/openai/v1`) |
//! | [`StaticBearer`] | `Authorization: Bearer <token>`, never refreshed |
//! | `AzureCredential` (feature `azure`) | `Authorization: Bearer <Entra token>`, cached and refreshed ahead of expiry |
//!
//! [`from_env`] picks one of these from environment variables in a documented order.
//! Secrets are held in [`Secret`], header values are marked sensitive, and neither `Debug`
//! output nor `tracing` events contain them.
//!
//! This crate does not depend on any HTTP client; it only fills an [`http::HeaderMap`].
//!
//! # Features
//! * `azure` (default): `AzureCredential` and the Entra rules of [`from_env`], through
//!   `azure_identity`.
//! * `mock`: a `mockall` mock, `MockCredential`, for other crates' tests.

mod api_key;
#[cfg(feature = "azure")]
mod azure;
mod bearer;
mod credential;
#[cfg(feature = "azure")]
mod entra_env;
mod env;
mod error;
mod kind;
mod secret;
mod token_cache;

pub use api_key::{API_KEY_HEADER, ApiKey};
#[cfg(feature = "azure")]
pub use azure::{AzureCredential, COGNITIVE_SERVICES_SCOPE, FOUNDRY_SCOPE};
pub use bearer::StaticBearer;
#[cfg(any(test, feature = "mock"))]
pub use credential::MockCredential;
pub use credential::{Credential, SharedCredential, authorize_within};
pub use env::{
    AZURE_AI_API_KEY, AZURE_CREDENTIAL_KIND, AZURE_OPENAI_API_KEY, OPENAI_API_KEY,
    ROUTEWISE_CREDENTIAL, ROUTEWISE_SCOPE, from_env, from_env_with,
};
pub use error::{AuthError, BoxError};
pub use kind::CredentialKind;
pub use secret::Secret;
pub use token_cache::{CachedToken, DEFAULT_REFRESH_SKEW, TokenCache};

/// `azure_core` and `azure_identity`, re-exported so users build credentials against the
/// same versions this crate adapts.
#[cfg(feature = "azure")]
pub mod azure_sdk {
    pub use azure_core;
    pub use azure_identity;
}
