//! The error type shared by every credential.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A boxed error from a token source, such as an `azure_core::Error`.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a credential could not authorise a request.
///
/// Messages never contain a secret: they name variables, credential types and scopes, never
/// their values. The error is `Clone` because one failed token refresh is reported to every
/// caller that was waiting on it.
///
/// ```
/// use routewise_auth::AuthError;
///
/// let err = AuthError::invalid_header("api-key");
/// assert!(err.is_invalid_header());
/// assert!(!err.is_token_refresh());
/// assert_eq!(err.to_string(), "the api-key credential is not a valid HTTP header value");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential could be chosen from the environment.
    #[error("no credential configured; tried: {}", Tried(.tried))]
    #[non_exhaustive]
    MissingConfiguration {
        /// One line per source that was considered, saying why it did not apply.
        tried: Vec<String>,
    },
    /// A configuration variable holds a value that cannot be used.
    #[error("invalid credential configuration in {variable}: {reason}")]
    #[non_exhaustive]
    InvalidConfiguration {
        /// The variable (or option) at fault.
        variable: Cow<'static, str>,
        /// What is wrong with it.
        reason: Cow<'static, str>,
    },
    /// A chosen credential could not be constructed.
    #[error("could not create {credential}; tried: {}", Tried(.tried))]
    #[non_exhaustive]
    CredentialUnavailable {
        /// The credential type that failed to build.
        credential: Cow<'static, str>,
        /// The selection steps that led to it.
        tried: Vec<String>,
        /// The underlying error.
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// Fetching a new token failed. The next call tries again.
    #[error("token refresh through {credential} failed")]
    #[non_exhaustive]
    TokenRefresh {
        /// The credential (and, when chosen from the environment, how it was chosen).
        credential: Cow<'static, str>,
        /// The underlying error.
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// The credential value contains bytes that are not allowed in an HTTP header.
    #[error("the {header} credential is not a valid HTTP header value")]
    #[non_exhaustive]
    InvalidHeader {
        /// The header the value was meant for.
        header: &'static str,
    },
    /// The credential gave no token or key in time: a developer-tool subprocess or a managed
    /// identity endpoint that hangs (`azure_identity` bounds neither). The next call tries again.
    #[error("the credential gave no token or key within {after:?}")]
    #[non_exhaustive]
    Timeout {
        /// How long it was given.
        after: Duration,
    },
}

impl AuthError {
    /// No credential could be chosen; `tried` says what was considered and why it did not apply.
    pub fn missing_configuration(tried: Vec<String>) -> Self {
        Self::MissingConfiguration { tried }
    }

    /// A configuration value cannot be used.
    pub fn invalid_configuration(
        variable: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::InvalidConfiguration {
            variable: variable.into(),
            reason: reason.into(),
        }
    }

    /// A chosen credential could not be constructed.
    pub fn credential_unavailable(
        credential: impl Into<Cow<'static, str>>,
        tried: Vec<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::CredentialUnavailable {
            credential: credential.into(),
            tried,
            source: Arc::from(source.into()),
        }
    }

    /// A token refresh through `credential` failed with `source`.
    pub fn token_refresh(
        credential: impl Into<Cow<'static, str>>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::TokenRefresh {
            credential: credential.into(),
            source: Arc::from(source.into()),
        }
    }

    /// The value for `header` is not a valid HTTP header value.
    pub fn invalid_header(header: &'static str) -> Self {
        Self::InvalidHeader { header }
    }

    /// The credential gave no token or key within `after`.
    pub fn timeout(after: Duration) -> Self {
        Self::Timeout { after }
    }

    /// Whether no credential could be chosen from the environment.
    pub fn is_missing_configuration(&self) -> bool {
        matches!(self, Self::MissingConfiguration { .. })
    }

    /// Whether a configuration value was unusable.
    pub fn is_invalid_configuration(&self) -> bool {
        matches!(self, Self::InvalidConfiguration { .. })
    }

    /// Whether a chosen credential could not be constructed.
    pub fn is_credential_unavailable(&self) -> bool {
        matches!(self, Self::CredentialUnavailable { .. })
    }

    /// Whether a token refresh failed (worth retrying on a later call).
    pub fn is_token_refresh(&self) -> bool {
        matches!(self, Self::TokenRefresh { .. })
    }

    /// Whether the credential value cannot be sent as a header.
    pub fn is_invalid_header(&self) -> bool {
        matches!(self, Self::InvalidHeader { .. })
    }

    /// Whether the credential did not answer in time (worth retrying on a later call).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// The selection steps recorded by credential selection, empty for other errors.
    pub fn tried(&self) -> &[String] {
        match self {
            Self::MissingConfiguration { tried } | Self::CredentialUnavailable { tried, .. } => {
                tried
            }
            _ => &[],
        }
    }
}

/// Joins selection steps for an error message.
struct Tried<'a>(&'a [String]);

impl fmt::Display for Tried<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(step)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_match_exactly_one_variant() {
        let all = [
            AuthError::missing_configuration(vec!["a".into()]),
            AuthError::invalid_configuration("X", "bad"),
            AuthError::credential_unavailable("C", vec![], "boom"),
            AuthError::token_refresh("C", "boom"),
            AuthError::invalid_header("api-key"),
            AuthError::timeout(Duration::from_secs(30)),
        ];
        for err in &all {
            let hits = [
                err.is_missing_configuration(),
                err.is_invalid_configuration(),
                err.is_credential_unavailable(),
                err.is_token_refresh(),
                err.is_invalid_header(),
                err.is_timeout(),
            ];
            assert_eq!(hits.iter().filter(|h| **h).count(), 1, "{err:?}");
        }
    }

    #[test]
    fn messages_list_what_was_tried_and_keep_sources() {
        let err = AuthError::missing_configuration(vec!["first: no".into(), "second: no".into()]);
        assert_eq!(
            err.to_string(),
            "no credential configured; tried: first: no; second: no"
        );
        assert_eq!(err.tried().len(), 2);

        let err = AuthError::token_refresh("FakeCredential", "network down");
        assert_eq!(
            err.to_string(),
            "token refresh through FakeCredential failed"
        );
        assert_eq!(
            err.source().map(|s| s.to_string()).as_deref(),
            Some("network down")
        );
        let copy = err.clone();
        assert!(copy.is_token_refresh());
        assert!(copy.tried().is_empty());
    }
}
