//! Header forms from the wire digest §5: `api-key: <key>` for Azure resources, and
//! `Authorization: Bearer <key or token>` for OpenAI, Azure `/openai/v1` and Entra.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use routewise_auth::{API_KEY_HEADER, ApiKey, AuthError, Credential, Secret, StaticBearer};

async fn authorize(credential: &dyn Credential) -> Result<HeaderMap, AuthError> {
    let mut headers = HeaderMap::new();
    credential.authorize(&mut headers).await?;
    Ok(headers)
}

#[tokio::test]
async fn api_key_header_form() {
    let headers = authorize(&ApiKey::new("azure-resource-key")).await.unwrap();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers["api-key"], "azure-resource-key");
    assert!(headers["api-key"].is_sensitive());
    assert!(headers.get(AUTHORIZATION).is_none());
    assert_eq!(ApiKey::new("k").header_name(), API_KEY_HEADER);
    assert_eq!(ApiKey::new("k").scheme(), "api-key");
}

#[tokio::test]
async fn api_key_as_bearer_form() {
    for credential in [
        ApiKey::bearer("sk-abc"),
        ApiKey::new("sk-abc").into_bearer(),
    ] {
        let headers = authorize(&credential).await.unwrap();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[AUTHORIZATION], "Bearer sk-abc");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(credential.scheme(), "bearer");
        assert_eq!(credential.key().expose(), "sk-abc");
    }
}

#[tokio::test]
async fn static_bearer_form_replaces_an_existing_header() {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, "Bearer stale".parse().unwrap());
    StaticBearer::new("fresh")
        .authorize(&mut headers)
        .await
        .unwrap();
    assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
    assert_eq!(headers[AUTHORIZATION], "Bearer fresh");
    assert!(headers[AUTHORIZATION].is_sensitive());
}

#[tokio::test]
async fn values_that_cannot_be_headers_are_typed_errors_without_the_secret() {
    let cases: [(&dyn Credential, &str); 3] = [
        (&ApiKey::new("bad\r\nkey"), "api-key"),
        (&ApiKey::bearer("bad\nkey"), "authorization"),
        (&StaticBearer::new("bad\0token"), "authorization"),
    ];
    for (credential, header) in cases {
        let err = authorize(credential).await.unwrap_err();
        assert!(err.is_invalid_header(), "{err:?}");
        assert!(err.to_string().contains(header));
        assert!(!format!("{err} {err:?}").contains("bad"));
    }
    assert!(
        ApiKey::new("bad\nkey")
            .validate()
            .unwrap_err()
            .is_invalid_header()
    );
    assert!(
        ApiKey::new("  ")
            .validate()
            .unwrap_err()
            .is_invalid_configuration()
    );
    assert!(ApiKey::new("good").validate().is_ok());
}

#[test]
fn debug_never_shows_keys_or_tokens() {
    let shown = [
        format!("{:?}", ApiKey::new("sekrit-1")),
        format!("{:#?}", ApiKey::bearer("sekrit-2")),
        format!("{:?}", StaticBearer::new("sekrit-3")),
        format!("{:?}", Secret::new("sekrit-4")),
        format!("{}", Secret::new("sekrit-5")),
        format!("{:?}", AuthError::invalid_header("api-key")),
    ];
    for text in shown {
        assert!(!text.contains("sekrit"), "{text}");
    }
    assert_eq!(
        format!("{:?}", ApiKey::bearer("x")),
        r#"ApiKey { header: "authorization", key: Secret(***) }"#
    );
}
