//! `from_env_with`: the documented selection order and the error that lists what was tried.

use std::collections::HashMap;

use http::HeaderMap;
use routewise_auth::{SharedCredential, from_env_with};

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

async fn headers_of(credential: &SharedCredential) -> HeaderMap {
    let mut headers = HeaderMap::new();
    credential.authorize(&mut headers).await.unwrap();
    headers
}

#[tokio::test]
async fn api_keys_come_first_in_documented_order() {
    let all = [
        ("AZURE_OPENAI_API_KEY", "aoai"),
        ("AZURE_AI_API_KEY", "foundry"),
        ("OPENAI_API_KEY", "openai"),
        ("ROUTEWISE_CREDENTIAL", "managed_identity"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ("AZURE_CLIENT_ID", "c"),
        ("AZURE_TENANT_ID", "t"),
        ("IDENTITY_ENDPOINT", "http://localhost"),
    ];
    let headers = headers_of(&from_env_with(vars(&all)).unwrap()).await;
    assert_eq!(headers["api-key"], "aoai");

    let headers = headers_of(&from_env_with(vars(&all[1..])).unwrap()).await;
    assert_eq!(headers["api-key"], "foundry");

    let credential = from_env_with(vars(&all[2..])).unwrap();
    assert_eq!(credential.scheme(), "bearer");
    assert_eq!(
        headers_of(&credential).await["authorization"],
        "Bearer openai"
    );
}

#[test]
fn blank_keys_count_as_unset_and_bad_keys_name_their_variable() {
    let credential = from_env_with(vars(&[
        ("AZURE_OPENAI_API_KEY", "  "),
        ("OPENAI_API_KEY", "sk"),
    ]))
    .unwrap();
    assert_eq!(credential.scheme(), "bearer");

    let err = from_env_with(vars(&[("AZURE_AI_API_KEY", "line\nbreak")])).unwrap_err();
    assert!(err.is_invalid_configuration(), "{err:?}");
    assert!(err.to_string().contains("AZURE_AI_API_KEY"));
    assert!(!err.to_string().contains("line"));
}

#[test]
fn nothing_configured_lists_every_rule_tried() {
    let err = from_env_with(vars(&[("PATH", "/definitely/not/a/dir")])).unwrap_err();
    assert!(err.is_missing_configuration(), "{err:?}");
    let tried = err.tried().join("\n");
    for expected in [
        "AZURE_OPENAI_API_KEY",
        "OPENAI_API_KEY",
        "workload identity",
        "AZURE_FEDERATED_TOKEN_FILE",
        "managed identity",
        "IDENTITY_ENDPOINT",
        "developer tools",
    ] {
        assert!(
            tried.contains(expected),
            "missing {expected:?} in:\n{tried}"
        );
    }
    assert_eq!(err.tried().len(), 4);
    assert!(
        err.to_string()
            .starts_with("no credential configured; tried: API key")
    );
}

#[test]
fn unknown_explicit_kind_is_an_invalid_configuration() {
    for variable in ["ROUTEWISE_CREDENTIAL", "AZURE_CREDENTIAL_KIND"] {
        let err = from_env_with(vars(&[(variable, "kerberos")])).unwrap_err();
        assert!(err.is_invalid_configuration(), "{err:?}");
        assert!(err.to_string().contains(variable), "{err}");
        assert!(err.to_string().contains("workload_identity"), "{err}");
    }
}

#[test]
fn explicit_kinds_report_what_they_lack() {
    let err = from_env_with(vars(&[("ROUTEWISE_CREDENTIAL", "api-key")])).unwrap_err();
    assert!(err.is_missing_configuration());
    assert!(
        err.tried()
            .last()
            .unwrap()
            .contains("chosen by ROUTEWISE_CREDENTIAL")
    );

    let err = from_env_with(vars(&[
        ("AZURE_CREDENTIAL_KIND", "workloadidentity"),
        ("AZURE_CLIENT_ID", "c"),
    ]))
    .unwrap_err();
    let last = err.tried().last().unwrap();
    assert!(
        last.contains("AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID not set"),
        "{last}"
    );
}

/// A temporary directory, removed on drop.
#[cfg(feature = "azure")]
struct TempDir(std::path::PathBuf);

#[cfg(feature = "azure")]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A directory holding empty files named like the developer tools, for PATH lookups.
#[cfg(feature = "azure")]
fn fake_bin(tools: &[&str]) -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "routewise-auth-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for tool in tools {
        let name = if cfg!(windows) {
            format!("{tool}.exe")
        } else {
            tool.to_string()
        };
        std::fs::write(dir.join(name), b"").unwrap();
    }
    TempDir(dir)
}

#[cfg(feature = "azure")]
mod entra {
    use super::*;
    use routewise_auth::AuthError;

    fn chosen(credential: &SharedCredential) -> String {
        format!("{credential:?}")
    }

    #[test]
    fn workload_identity_when_its_three_variables_are_set() {
        let dir = fake_bin(&[]);
        let token_file = dir.0.join("federated-token");
        std::fs::write(&token_file, "federated-assertion").unwrap();
        let credential = from_env_with(vars(&[
            ("AZURE_FEDERATED_TOKEN_FILE", token_file.to_str().unwrap()),
            ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"),
            ("AZURE_TENANT_ID", "00000000-0000-0000-0000-000000000002"),
            ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
        ]))
        .unwrap();
        let shown = chosen(&credential);
        assert!(shown.contains("WorkloadIdentityCredential"), "{shown}");
        assert!(shown.contains("https://ai.azure.com/.default"), "{shown}");
        assert!(!shown.contains("federated-assertion"), "{shown}");
    }

    #[test]
    fn managed_identity_when_an_identity_endpoint_is_set() {
        let credential = from_env_with(vars(&[
            ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000001"),
            ("MSI_ENDPOINT", "http://localhost:50342/oauth2/token"),
        ]));
        // azure_identity 1.0 supports App Service and IMDS; the result depends on the real
        // environment it inspects, but the choice (and the trail) is ours.
        match credential {
            Ok(credential) => assert!(chosen(&credential).contains("ManagedIdentityCredential")),
            Err(err) => {
                assert!(err.is_credential_unavailable(), "{err:?}");
                assert!(err.to_string().contains("ManagedIdentityCredential"));
                assert!(err.tried().last().unwrap().contains("MSI_ENDPOINT is set"));
            }
        }
    }

    #[test]
    fn explicit_managed_identity_skips_detection() {
        let credential = from_env_with(vars(&[("ROUTEWISE_CREDENTIAL", "managed_identity")]));
        match credential {
            Ok(credential) => {
                let shown = chosen(&credential);
                assert!(shown.contains("ManagedIdentityCredential"), "{shown}");
                assert!(shown.contains("chosen by ROUTEWISE_CREDENTIAL"), "{shown}");
            }
            Err(err) => assert!(err.is_credential_unavailable(), "{err:?}"),
        }
    }

    #[test]
    fn developer_tools_when_az_or_azd_is_on_path() {
        for tool in ["az", "azd"] {
            let dir = fake_bin(&[tool]);
            let credential = from_env_with(vars(&[("PATH", dir.0.to_str().unwrap())])).unwrap();
            let shown = chosen(&credential);
            assert!(shown.contains("DeveloperToolsCredential"), "{shown}");
            assert!(
                shown.contains(&format!("`{tool}` found on PATH")),
                "{shown}"
            );
            assert!(shown.contains("managed identity: neither"), "{shown}");
        }
    }

    #[test]
    fn scope_can_be_overridden() {
        let credential = from_env_with(vars(&[
            ("ROUTEWISE_CREDENTIAL", "azure_cli"),
            (
                "ROUTEWISE_SCOPE",
                "https://cognitiveservices.azure.com/.default",
            ),
        ]))
        .unwrap();
        let shown = chosen(&credential);
        assert!(shown.contains("AzureCliCredential"), "{shown}");
        assert!(shown.contains("cognitiveservices"), "{shown}");
    }

    #[test]
    fn explicit_azd_is_honoured_even_without_path() {
        let credential = from_env_with(vars(&[("AZURE_CREDENTIAL_KIND", "azd")])).unwrap();
        assert!(chosen(&credential).contains("AzureDeveloperCliCredential"));
    }

    #[test]
    fn inherent_from_env_on_dyn_credential_exists() {
        // Reads the real environment; only check it returns a typed result either way.
        let result: Result<SharedCredential, AuthError> =
            <dyn routewise_auth::Credential>::from_env();
        if let Err(err) = result {
            assert!(
                err.is_missing_configuration()
                    || err.is_invalid_configuration()
                    || err.is_credential_unavailable()
            );
        }
    }
}
