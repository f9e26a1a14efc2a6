//! Redirects are never followed: a 3xx could carry the credential (the `api-key` header, which
//! reqwest does not strip across origins) and the prompt (307/308 re-send the body) to another
//! host. The caller gets a clear status error instead.

use routewise::ErrorKind;
use routewise_auth::ApiKey;
use routewise_testkit::{ErrorReply, MockFoundry};

const KEY: &str = "SUPERSECRET-KEY";

#[tokio::test]
async fn a_307_to_another_origin_is_an_error_and_nothing_reaches_the_target() {
    let elsewhere = MockFoundry::start().await;
    elsewhere.deployment("gpt-4o");
    for status in [301, 302, 303, 307, 308] {
        let foundry = MockFoundry::start().await;
        foundry.deployment("gpt-4o").fail_next(
            1,
            ErrorReply::raw(status, "text/plain", "").header("location", elsewhere.responses_url()),
        );
        let client = crate::support::builder(&foundry.openai_base_url())
            .credential(ApiKey::new(KEY))
            .build()
            .unwrap();
        let err = crate::support::create(&client, "gpt-4o", "a private prompt")
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err}");
        assert_eq!(err.kind(), ErrorKind::Status, "{err}");
        assert!(err.message().contains("redirect"), "{err}");
        assert!(!err.is_retryable(), "{err}");
        assert_eq!(foundry.received().await.len(), 1, "{status}: not retried");
    }
    assert!(
        elsewhere.received().await.is_empty(),
        "the redirect target saw a request (and the key)"
    );
}
