//! A `401 Unauthorized` through the client: the refused token is dropped, and a credential
//! whose token can be refreshed (Entra) gets the request re-sent exactly once with a fresh
//! one. Keys are never re-sent: the server would refuse the same key again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::{MockTransport, json_response};
use routewise::Client;
use routewise_auth::{ApiKey, Credential};

const OK_BODY: &str = r#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o-2024-08-06","output":[]}"#;
const REFUSED: &str = r#"{"error":{"code":"401","message":"revoked"}}"#;

/// A transport that answers 401 to the first `refusals` requests, then 200, and logs the
/// credential header (`header`) each request carried.
fn refusing(refusals: usize, header: &'static str) -> (MockTransport, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let calls = AtomicUsize::new(0);
    let mut transport = MockTransport::new();
    transport.expect_send().returning(move |req| {
        log.lock()
            .unwrap()
            .push(req.headers()[header].to_str().unwrap().to_owned());
        Ok(if calls.fetch_add(1, Ordering::SeqCst) < refusals {
            json_response(401, REFUSED)
        } else {
            json_response(200, OK_BODY)
        })
    });
    (transport, seen)
}

fn client(transport: MockTransport, credential: impl Credential + 'static) -> Client {
    Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .credential(credential)
        .transport(transport)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_refused_key_is_not_sent_again() {
    let (transport, seen) = refusing(usize::MAX, "api-key");
    let client = client(transport, ApiKey::new("wrong"));
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(*seen.lock().unwrap(), ["wrong"]);
}

#[cfg(feature = "azure")]
mod entra {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use routewise_auth::AzureCredential;
    use routewise_auth::azure_sdk::azure_core::{
        self,
        credentials::{AccessToken, TokenCredential, TokenRequestOptions},
        time::OffsetDateTime,
    };

    use super::{client, refusing};

    /// Hands out `jwt-<n>` tokens valid for an hour and counts requests.
    #[derive(Debug, Default)]
    struct CountingEntra {
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for CountingEntra {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("jwt-{n}"),
                OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1),
            ))
        }
    }

    #[tokio::test]
    async fn a_revoked_entra_token_is_replaced_and_the_request_resent_once() {
        let entra = Arc::new(CountingEntra::default());
        let (transport, seen) = refusing(1, "authorization");
        let client = client(transport, AzureCredential::new(entra.clone()));
        for _ in 0..2 {
            crate::support::create(&client, "gpt-4o", "hi")
                .await
                .unwrap();
        }
        assert_eq!(
            *seen.lock().unwrap(),
            ["Bearer jwt-0", "Bearer jwt-1", "Bearer jwt-1"],
            "re-sent with a fresh token, which is then cached"
        );
        assert_eq!(entra.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_401_to_the_fresh_token_is_returned_not_retried_again() {
        let entra = Arc::new(CountingEntra::default());
        let (transport, seen) = refusing(usize::MAX, "authorization");
        let client = client(transport, AzureCredential::new(entra.clone()));
        let err = crate::support::create(&client, "gpt-4o", "hi")
            .await
            .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
        assert_eq!(err.message(), "revoked");
        assert_eq!(*seen.lock().unwrap(), ["Bearer jwt-0", "Bearer jwt-1"]);
        // The second refusal dropped jwt-1 too: the next call starts with a new token.
        let _ = crate::support::create(&client, "gpt-4o", "hi").await;
        assert_eq!(seen.lock().unwrap()[2], "Bearer jwt-2");
    }
}
