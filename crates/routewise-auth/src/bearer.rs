//! A fixed bearer token.

use std::fmt;

use async_trait::async_trait;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

use crate::credential::sensitive_value;
use crate::{AuthError, Credential, Secret};

/// A bearer token that never changes, sent as `Authorization: Bearer <token>`.
///
/// Use it for tokens obtained out of band (e.g. `az account get-access-token`) and for tests.
/// It is never refreshed; use `AzureCredential` (feature `azure`) for tokens that expire.
///
/// ```
/// use routewise_auth::{Credential, StaticBearer};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let token = StaticBearer::new("eyJ0eXAi");
/// let mut headers = http::HeaderMap::new();
/// token.authorize(&mut headers).await?;
/// assert_eq!(headers["authorization"], "Bearer eyJ0eXAi");
/// assert_eq!(format!("{token:?}"), "StaticBearer { token: Secret(***) }");
/// # Ok::<(), routewise_auth::AuthError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct StaticBearer {
    token: Secret,
    value: Result<HeaderValue, AuthError>,
}

impl StaticBearer {
    /// Wraps a bearer token.
    pub fn new(token: impl Into<Secret>) -> Self {
        let token = token.into();
        let value = sensitive_value(&["Bearer ", token.expose()], "authorization");
        Self { token, value }
    }

    /// The token itself.
    pub fn token(&self) -> &Secret {
        &self.token
    }
}

impl fmt::Debug for StaticBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticBearer")
            .field("token", &self.token)
            .finish()
    }
}

#[async_trait]
impl Credential for StaticBearer {
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        let value = self.value.as_ref().map_err(Clone::clone)?;
        headers.insert(AUTHORIZATION, value.clone());
        Ok(())
    }
}
