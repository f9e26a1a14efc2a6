//! Names for the kinds of credential `from_env` can choose.

use std::fmt;
use std::str::FromStr;

use crate::AuthError;

/// A kind of credential, as named in `ROUTEWISE_CREDENTIAL` or `AZURE_CREDENTIAL_KIND`.
///
/// Parsing ignores case, spaces, `-` and `_`, so `managed_identity`, `ManagedIdentity` and
/// `managed-identity` are the same kind; `AZURE_CREDENTIAL_KIND` values used by the
/// `azure_identity` examples (`azurecli`, `managedidentity`, `workloadidentity`) parse too.
///
/// ```
/// use routewise_auth::CredentialKind;
///
/// assert_eq!("Managed-Identity".parse::<CredentialKind>()?, CredentialKind::ManagedIdentity);
/// assert_eq!("azd".parse::<CredentialKind>()?, CredentialKind::AzureDeveloperCli);
/// assert_eq!(CredentialKind::WorkloadIdentity.to_string(), "workload_identity");
/// assert!("kerberos".parse::<CredentialKind>().unwrap_err().is_invalid_configuration());
/// # Ok::<(), routewise_auth::AuthError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An API key from `AZURE_OPENAI_API_KEY`, `AZURE_AI_API_KEY` or `OPENAI_API_KEY`.
    ApiKey,
    /// AKS workload identity (`WorkloadIdentityCredential`).
    WorkloadIdentity,
    /// App Service or VM (IMDS) managed identity (`ManagedIdentityCredential`).
    ManagedIdentity,
    /// The Azure CLI, then the Azure Developer CLI (`DeveloperToolsCredential`).
    DeveloperTools,
    /// The Azure CLI only (`AzureCliCredential`).
    AzureCli,
    /// The Azure Developer CLI only (`AzureDeveloperCliCredential`).
    AzureDeveloperCli,
}

impl CredentialKind {
    /// Every kind, in the order they are documented.
    pub const ALL: [CredentialKind; 6] = [
        Self::ApiKey,
        Self::WorkloadIdentity,
        Self::ManagedIdentity,
        Self::DeveloperTools,
        Self::AzureCli,
        Self::AzureDeveloperCli,
    ];

    /// The canonical spelling, as accepted by `ROUTEWISE_CREDENTIAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::WorkloadIdentity => "workload_identity",
            Self::ManagedIdentity => "managed_identity",
            Self::DeveloperTools => "developer_tools",
            Self::AzureCli => "azure_cli",
            Self::AzureDeveloperCli => "azure_developer_cli",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CredentialKind {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalized: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Ok(match normalized.as_str() {
            "apikey" => Self::ApiKey,
            "workloadidentity" => Self::WorkloadIdentity,
            "managedidentity" => Self::ManagedIdentity,
            "developertools" | "devtools" => Self::DeveloperTools,
            "azurecli" | "az" => Self::AzureCli,
            "azuredevelopercli" | "azd" => Self::AzureDeveloperCli,
            _ => {
                return Err(AuthError::invalid_configuration(
                    "ROUTEWISE_CREDENTIAL",
                    "unknown credential kind; expected one of api_key, workload_identity, \
                     managed_identity, developer_tools, azure_cli, azure_developer_cli",
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_round_trip() {
        for kind in CredentialKind::ALL {
            assert_eq!(kind.as_str().parse::<CredentialKind>().unwrap(), kind);
        }
    }

    #[test]
    fn azure_example_spellings_parse() {
        assert_eq!(
            "azurecli".parse::<CredentialKind>().unwrap(),
            CredentialKind::AzureCli
        );
        assert_eq!(
            "Workload Identity".parse::<CredentialKind>().unwrap(),
            CredentialKind::WorkloadIdentity
        );
        assert_eq!(
            "DevTools".parse::<CredentialKind>().unwrap(),
            CredentialKind::DeveloperTools
        );
    }

    #[test]
    fn unknown_kind_is_a_typed_error() {
        let err = "".parse::<CredentialKind>().unwrap_err();
        assert!(err.is_invalid_configuration());
        assert!(err.to_string().contains("managed_identity"));
    }
}
