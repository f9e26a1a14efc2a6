//! A credential that never answers (an `az` subprocess or IMDS call that hangs) cannot hang a
//! call: obtaining the credential is bounded by the token timeout.

use std::time::Duration;

use async_trait::async_trait;
use routewise::{Client, ErrorKind};
use routewise_auth::{AuthError, Credential};
use tokio::time::Instant;

use crate::support::MockTransport;

/// A credential whose `authorize` never returns.
#[derive(Debug)]
struct NeverAnswers;

#[async_trait]
impl Credential for NeverAnswers {
    async fn authorize(&self, _headers: &mut http::HeaderMap) -> Result<(), AuthError> {
        std::future::pending().await
    }
}

/// Far beyond any token timeout: reaching it means the call hung.
const HUNG: Duration = Duration::from_secs(3600);

fn client() -> routewise::ClientBuilder {
    let mut transport = MockTransport::new();
    transport.expect_send().never();
    Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .credential(NeverAnswers)
        .transport(transport)
}

#[tokio::test(start_paused = true)]
async fn a_credential_that_never_answers_fails_after_the_default_token_timeout() {
    let client = client().build().unwrap();
    let started = Instant::now();
    let err = tokio::time::timeout(HUNG, client.responses().retrieve("resp_1"))
        .await
        .expect("retrieve hung on the credential")
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(30), "{err}");
    assert_eq!(err.kind(), ErrorKind::Credential, "{err}");
    assert!(err.is_auth() && err.is_timeout(), "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert!(err.message().contains("30"), "{err}");

    let err = tokio::time::timeout(HUNG, crate::support::create(&client, "gpt-4o", "hi"))
        .await
        .expect("create hung on the credential")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credential, "{err}");
}

#[tokio::test(start_paused = true)]
async fn the_token_timeout_is_configurable() {
    let client = client()
        .token_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = tokio::time::timeout(HUNG, crate::support::create(&client, "gpt-4o", "hi"))
        .await
        .expect("create hung on the credential")
        .unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(2), "{err}");
    assert!(err.is_auth() && err.is_timeout(), "{err}");
}
