//! Which header names carry credentials, so their values are marked sensitive (and `http`'s
//! `Debug`, and whatever logs through it, shows them as `Sensitive`).

use http::HeaderName;

/// True for names that carry a credential: the auth headers routewise knows, and any name that
/// looks like one (`*-key`, `*token*`, `*secret*`, `*authorization*` such as Azure's
/// `x-ms-authorization-auxiliary`, `*cookie*`, `*password*`, `*credential*`, `*signature*`).
/// Over-marking costs nothing: a sensitive value is still sent, it is only kept out of `Debug`
/// output and HPACK tables.
pub(crate) fn is_credential_header(name: &HeaderName) -> bool {
    // `HeaderName`s are lower case.
    let name = name.as_str();
    matches!(
        name,
        "authorization"
            | "proxy-authorization"
            | "api-key"
            | "ocp-apim-subscription-key"
            | "cookie"
    ) || name.ends_with("-key")
        || [
            "token",
            "secret",
            "authorization",
            "cookie",
            "password",
            "credential",
            "signature",
        ]
        .iter()
        .any(|part| name.contains(part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_are_recognised_and_others_are_not() {
        for name in [
            "Authorization",
            "api-key",
            "Ocp-Apim-Subscription-Key",
            "x-api-key",
            "x-goog-api-key",
            "x-ms-token-aad-id-token",
            "x-client-secret",
            "Proxy-Authorization",
            "x-ms-authorization-auxiliary",
            "set-cookie",
            "x-upstream-password",
            "x-amz-signature",
        ] {
            let name = HeaderName::try_from(name).unwrap();
            assert!(is_credential_header(&name), "{name}");
        }
        for name in [
            "x-ms-client-request-id",
            "foundry-features",
            "user-agent",
            "keyword",
        ] {
            let name = HeaderName::try_from(name).unwrap();
            assert!(!is_credential_header(&name), "{name}");
        }
    }
}
