//! Building the Entra credential that `from_env` chose.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_identity::{
    AzureCliCredential, AzureDeveloperCliCredential, DeveloperToolsCredential,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use crate::env::ROUTEWISE_SCOPE;
use crate::{AuthError, AzureCredential, CredentialKind, FOUNDRY_SCOPE, SharedCredential};

pub(crate) fn build(
    kind: CredentialKind,
    tried: Vec<String>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<SharedCredential, AuthError> {
    let (name, built): (&'static str, azure_core::Result<Arc<dyn TokenCredential>>) = match kind {
        CredentialKind::WorkloadIdentity => (
            "WorkloadIdentityCredential",
            // Pass the variables explicitly so `from_env_with` sees the same values we checked.
            WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                client_id: var("AZURE_CLIENT_ID"),
                tenant_id: var("AZURE_TENANT_ID"),
                token_file_path: var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
                ..Default::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        CredentialKind::ManagedIdentity => (
            "ManagedIdentityCredential",
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: var("AZURE_CLIENT_ID").map(UserAssignedId::ClientId),
                ..Default::default()
            }))
            .map(|c| c as Arc<dyn TokenCredential>),
        ),
        CredentialKind::AzureCli => (
            "AzureCliCredential",
            AzureCliCredential::new(None).map(|c| c as Arc<dyn TokenCredential>),
        ),
        CredentialKind::AzureDeveloperCli => (
            "AzureDeveloperCliCredential",
            AzureDeveloperCliCredential::new(None).map(|c| c as Arc<dyn TokenCredential>),
        ),
        // `select` never returns ApiKey as an Entra kind; developer tools is the catch-all.
        CredentialKind::ApiKey | CredentialKind::DeveloperTools => (
            "DeveloperToolsCredential",
            DeveloperToolsCredential::new(None).map(|c| c as Arc<dyn TokenCredential>),
        ),
    };
    let inner = built.map_err(|err| AuthError::credential_unavailable(name, tried.clone(), err))?;
    let scope: Cow<'static, str> =
        var(ROUTEWISE_SCOPE).map_or(Cow::Borrowed(FOUNDRY_SCOPE), Cow::Owned);
    let label = format!("{name} (from_env: {})", tried.join("; "));
    tracing::debug!(credential = name, scope = %scope, "credential chosen from the environment");
    Ok(Arc::new(
        AzureCredential::new(inner)
            .with_scope(scope)
            .with_label(label),
    ))
}
