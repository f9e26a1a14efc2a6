//! Choosing a credential from environment variables, in a documented order.
//!
//! `azure_identity` 1.x has no `DefaultAzureCredential` on purpose; this is the explicit,
//! predictable replacement. See [`from_env`] for the order and the variables.

use std::path::Path;
use std::sync::Arc;

use crate::{ApiKey, AuthError, Credential, CredentialKind, Secret, SharedCredential};

/// Azure OpenAI resource key, sent as `api-key`.
pub const AZURE_OPENAI_API_KEY: &str = "AZURE_OPENAI_API_KEY";
/// Foundry (AI Services) resource key, sent as `api-key`.
pub const AZURE_AI_API_KEY: &str = "AZURE_AI_API_KEY";
/// OpenAI key, sent as `Authorization: Bearer`.
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
/// Names exactly one [`CredentialKind`] to use when no API key is set.
pub const ROUTEWISE_CREDENTIAL: &str = "ROUTEWISE_CREDENTIAL";
/// Read like [`ROUTEWISE_CREDENTIAL`] when that is unset (the `azure_identity` examples' name).
pub const AZURE_CREDENTIAL_KIND: &str = "AZURE_CREDENTIAL_KIND";
/// Overrides the Entra scope (default `FOUNDRY_SCOPE`, feature `azure`).
pub const ROUTEWISE_SCOPE: &str = "ROUTEWISE_SCOPE";

const API_KEYS: [(&str, bool); 3] = [
    (AZURE_OPENAI_API_KEY, false),
    (AZURE_AI_API_KEY, false),
    (OPENAI_API_KEY, true),
];
const WORKLOAD_VARS: [&str; 3] = [
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
];
const MANAGED_VARS: [&str; 2] = ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"];

impl dyn Credential {
    /// Chooses a credential from the process environment; see [`from_env`].
    pub fn from_env() -> Result<SharedCredential, AuthError> {
        from_env()
    }
}

/// Chooses a credential from the process environment.
///
/// The first rule that applies wins:
///
/// 1. **API key**: `AZURE_OPENAI_API_KEY`, then `AZURE_AI_API_KEY` (both sent as
///    `api-key: <key>`), then `OPENAI_API_KEY` (sent as `Authorization: Bearer <key>`).
/// 2. **Explicit kind**: if `ROUTEWISE_CREDENTIAL` (or else `AZURE_CREDENTIAL_KIND`) names a
///    [`CredentialKind`], exactly that kind is built, with no fallback.
/// 3. **Workload identity** when `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and
///    `AZURE_TENANT_ID` are all set (AKS).
/// 4. **Managed identity** when `IDENTITY_ENDPOINT` or `MSI_ENDPOINT` is set (App Service,
///    Functions, Container Apps); `AZURE_CLIENT_ID` selects a user-assigned identity. A VM
///    using IMDS sets neither, so choose it with `ROUTEWISE_CREDENTIAL=managed_identity`.
/// 5. **Developer tools** (`az`, then `azd`) when either is found on `PATH`.
///
/// Entra credentials (feature `azure`) request `FOUNDRY_SCOPE` unless `ROUTEWISE_SCOPE`
/// names another, and are cached by `AzureCredential`. Rules 2–5 need
/// the default `azure` feature. When nothing applies, the error is
/// [`AuthError::MissingConfiguration`], listing each rule and why it did not apply.
pub fn from_env() -> Result<SharedCredential, AuthError> {
    from_env_with(|name| std::env::var(name).ok())
}

/// [`from_env`], reading variables through `vars` instead of the process environment.
///
/// ```
/// use routewise_auth::from_env_with;
///
/// let credential = from_env_with(|name| match name {
///     "OPENAI_API_KEY" => Some("sk-test".to_owned()),
///     _ => None,
/// })?;
/// assert_eq!(credential.scheme(), "bearer");
///
/// let err = from_env_with(|_| None).unwrap_err();
/// assert!(err.is_missing_configuration());
/// assert!(err.to_string().contains("AZURE_OPENAI_API_KEY"));
/// # Ok::<(), routewise_auth::AuthError>(())
/// ```
pub fn from_env_with(vars: impl Fn(&str) -> Option<String>) -> Result<SharedCredential, AuthError> {
    let var = |name: &str| vars(name).filter(|v| !v.trim().is_empty());
    build(select(&var)?, &var)
}

/// What the environment asks for, before anything is constructed.
#[derive(Debug)]
enum Choice {
    ApiKey {
        variable: &'static str,
        key: Secret,
        bearer: bool,
    },
    #[cfg(feature = "azure")]
    Entra {
        kind: CredentialKind,
        /// The selection steps, kept for error messages.
        tried: Vec<String>,
    },
}

fn select(var: &dyn Fn(&str) -> Option<String>) -> Result<Choice, AuthError> {
    let mut tried = Vec::new();
    for (variable, bearer) in API_KEYS {
        if let Some(key) = var(variable) {
            return Ok(Choice::ApiKey {
                variable,
                key: Secret::from(key),
                bearer,
            });
        }
    }
    tried.push(format!(
        "API key: none of {} is set",
        API_KEYS.map(|(name, _)| name).join(", ")
    ));

    if let Some((variable, value)) = [ROUTEWISE_CREDENTIAL, AZURE_CREDENTIAL_KIND]
        .into_iter()
        .find_map(|name| var(name).map(|value| (name, value)))
    {
        let kind: CredentialKind = value.parse().map_err(|_| {
            AuthError::invalid_configuration(
                variable,
                format!(
                    "unknown credential kind; expected one of {}",
                    CredentialKind::ALL.map(CredentialKind::as_str).join(", ")
                ),
            )
        })?;
        let reason = format!("{kind}: chosen by {variable}");
        match kind {
            // Rule 1 already looked for a key, so an explicit API-key choice has none.
            CredentialKind::ApiKey => {
                tried.push(format!(
                    "{reason}, but none of {} is set",
                    API_KEYS.map(|(name, _)| name).join(", ")
                ));
                return Err(AuthError::missing_configuration(tried));
            }
            CredentialKind::WorkloadIdentity => {
                let unset = unset(var, &WORKLOAD_VARS);
                if !unset.is_empty() {
                    tried.push(format!("{reason}, but {} not set", unset.join(", ")));
                    return Err(AuthError::missing_configuration(tried));
                }
            }
            _ => {}
        }
        tried.push(reason);
        return entra(kind, tried);
    }

    let unset = unset(var, &WORKLOAD_VARS);
    if unset.is_empty() {
        tried.push(format!(
            "workload identity: {} are set",
            WORKLOAD_VARS.join(", ")
        ));
        return entra(CredentialKind::WorkloadIdentity, tried);
    }
    tried.push(format!(
        "workload identity: needs {}; {} not set",
        WORKLOAD_VARS.join(", "),
        unset.join(", ")
    ));

    if let Some(name) = MANAGED_VARS.into_iter().find(|n| var(n).is_some()) {
        tried.push(format!("managed identity: {name} is set"));
        return entra(CredentialKind::ManagedIdentity, tried);
    }
    tried.push(format!(
        "managed identity: neither {} is set (on a VM, set {ROUTEWISE_CREDENTIAL}=managed_identity)",
        MANAGED_VARS.join(" nor ")
    ));

    let path = var("PATH").unwrap_or_default();
    if let Some(tool) = ["az", "azd"].into_iter().find(|t| on_path(&path, t)) {
        tried.push(format!("developer tools: `{tool}` found on PATH"));
        return entra(CredentialKind::DeveloperTools, tried);
    }
    tried.push("developer tools: neither `az` nor `azd` found on PATH".to_owned());
    Err(AuthError::missing_configuration(tried))
}

#[cfg(feature = "azure")]
fn entra(kind: CredentialKind, tried: Vec<String>) -> Result<Choice, AuthError> {
    Ok(Choice::Entra { kind, tried })
}

#[cfg(not(feature = "azure"))]
fn entra(kind: CredentialKind, mut tried: Vec<String>) -> Result<Choice, AuthError> {
    tried.push(format!(
        "{kind}: routewise-auth was built without the `azure` feature"
    ));
    Err(AuthError::missing_configuration(tried))
}

fn unset<'a>(var: &dyn Fn(&str) -> Option<String>, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|name| var(name).is_none())
        .collect()
}

fn on_path(path: &str, tool: &str) -> bool {
    let names: &[String] = &if cfg!(windows) {
        vec![format!("{tool}.cmd"), format!("{tool}.exe")]
    } else {
        vec![tool.to_owned()]
    };
    std::env::split_paths(path).any(|dir| {
        names
            .iter()
            .any(|name| Path::new(&dir).join(name).is_file())
    })
}

#[cfg_attr(not(feature = "azure"), allow(unused_variables))]
fn build(
    choice: Choice,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<SharedCredential, AuthError> {
    match choice {
        Choice::ApiKey {
            variable,
            key,
            bearer,
        } => {
            let credential = if bearer {
                ApiKey::bearer(key)
            } else {
                ApiKey::new(key)
            };
            credential.validate().map_err(|_| {
                AuthError::invalid_configuration(
                    variable,
                    "the value is not a valid HTTP header value",
                )
            })?;
            tracing::debug!(
                variable,
                scheme = credential.scheme(),
                "credential chosen from the environment: API key"
            );
            Ok(Arc::new(credential))
        }
        #[cfg(feature = "azure")]
        Choice::Entra { kind, tried } => crate::entra_env::build(kind, tried, var),
    }
}
