//! API keys, sent as `api-key: <key>` or as `Authorization: Bearer <key>`.

use std::fmt;

use async_trait::async_trait;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::credential::sensitive_value;
use crate::{AuthError, Credential, Secret};

/// The header Azure OpenAI and Foundry resources read an API key from.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("api-key");

/// An API key.
///
/// [`ApiKey::new`] sends `api-key: <key>`, the Azure form. [`ApiKey::bearer`] sends
/// `Authorization: Bearer <key>`, which OpenAI requires and Azure `/openai/v1` endpoints also
/// accept. The header value is built once and marked sensitive; a key that cannot be a header
/// value (e.g. it contains a newline) makes [`authorize`](Credential::authorize) fail with
/// [`AuthError::InvalidHeader`].
///
/// ```
/// use routewise_auth::{ApiKey, Credential};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut headers = http::HeaderMap::new();
/// ApiKey::new("azure-key").authorize(&mut headers).await?;
/// assert_eq!(headers["api-key"], "azure-key");
///
/// let mut headers = http::HeaderMap::new();
/// ApiKey::bearer("sk-openai").authorize(&mut headers).await?;
/// assert_eq!(headers["authorization"], "Bearer sk-openai");
/// assert!(headers["authorization"].is_sensitive());
///
/// assert_eq!(format!("{:?}", ApiKey::new("azure-key")), r#"ApiKey { header: "api-key", key: Secret(***) }"#);
/// # Ok::<(), routewise_auth::AuthError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct ApiKey {
    key: Secret,
    form: Form,
    value: Result<HeaderValue, AuthError>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    ApiKeyHeader,
    Bearer,
}

impl ApiKey {
    /// A key sent as `api-key: <key>` (Azure OpenAI and Foundry resources).
    pub fn new(key: impl Into<Secret>) -> Self {
        Self::with_form(key.into(), Form::ApiKeyHeader)
    }

    /// A key sent as `Authorization: Bearer <key>` (OpenAI, and Azure `/openai/v1`).
    pub fn bearer(key: impl Into<Secret>) -> Self {
        Self::with_form(key.into(), Form::Bearer)
    }

    /// The same key, sent as `Authorization: Bearer <key>` instead.
    pub fn into_bearer(self) -> Self {
        Self::with_form(self.key, Form::Bearer)
    }

    /// The header this key is sent in.
    pub fn header_name(&self) -> HeaderName {
        match self.form {
            Form::ApiKeyHeader => API_KEY_HEADER,
            Form::Bearer => AUTHORIZATION,
        }
    }

    /// The key itself.
    pub fn key(&self) -> &Secret {
        &self.key
    }

    /// Checks that the key can be sent as a header, so configuration errors show up at startup.
    pub fn validate(&self) -> Result<(), AuthError> {
        if self.key.is_blank() {
            return Err(AuthError::invalid_configuration(
                self.header_label(),
                "the API key is empty",
            ));
        }
        self.value.as_ref().map(drop).map_err(Clone::clone)
    }

    fn with_form(key: Secret, form: Form) -> Self {
        let value = match form {
            Form::ApiKeyHeader => sensitive_value(&[key.expose()], "api-key"),
            Form::Bearer => sensitive_value(&["Bearer ", key.expose()], "authorization"),
        };
        Self { key, form, value }
    }

    fn header_label(&self) -> &'static str {
        match self.form {
            Form::ApiKeyHeader => "api-key",
            Form::Bearer => "authorization",
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("header", &self.header_label())
            .field("key", &self.key)
            .finish()
    }
}

#[async_trait]
impl Credential for ApiKey {
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), AuthError> {
        let value = self.value.as_ref().map_err(Clone::clone)?;
        headers.insert(self.header_name(), value.clone());
        Ok(())
    }

    fn scheme(&self) -> &'static str {
        match self.form {
            Form::ApiKeyHeader => "api-key",
            Form::Bearer => "bearer",
        }
    }
}
