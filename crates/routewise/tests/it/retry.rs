//! The SDK retry rules through the whole client stack, with a mocked transport and paused
//! time (exact delays, no sleeping), plus one run against MockFoundry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::support::{MockTransport, json_response};
use routewise::{Client, ErrorKind};
use routewise_auth::MockCredential;
use routewise_testkit::{ErrorReply, MockFoundry};
use tokio::time::Instant;

const OK_BODY: &str = r#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o-2024-08-06","output":[]}"#;

/// A transport that fails the first `failures` sends with `status` and `headers`, then succeeds.
fn failing_then_ok(
    failures: usize,
    status: u16,
    headers: &'static [(&'static str, String)],
) -> (MockTransport, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut transport = MockTransport::new();
    transport.expect_send().returning(move |_req| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if n < failures {
            let mut res = json_response(
                status,
                r#"{"error":{"message":"busy","type":null,"param":null,"code":"busy"}}"#,
            );
            for (name, value) in headers {
                res.headers_mut()
                    .insert(*name, value.parse().expect("header"));
            }
            Ok(res)
        } else {
            Ok(json_response(200, OK_BODY))
        }
    });
    (transport, calls)
}

fn client(transport: MockTransport) -> Client {
    Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .transport(transport)
        .build()
        .unwrap()
}

async fn timed_create(
    client: &Client,
) -> (
    Result<routewise::RoutedResponse, routewise::Error>,
    Duration,
) {
    let start = Instant::now();
    let result = crate::support::create(client, "gpt-4o", "hi").await;
    (result, start.elapsed())
}

fn leak(headers: Vec<(&'static str, String)>) -> &'static [(&'static str, String)] {
    Box::leak(headers.into_boxed_slice())
}

#[tokio::test(start_paused = true)]
async fn each_retry_header_form_sets_the_delay() {
    let cases = [
        (
            vec![("retry-after-ms", "1500".to_owned())],
            Duration::from_millis(1500),
        ),
        (
            vec![("x-ms-retry-after-ms", "2500".to_owned())],
            Duration::from_millis(2500),
        ),
        (
            vec![("retry-after", "3".to_owned())],
            Duration::from_secs(3),
        ),
        // Precedence: retry-after-ms, then x-ms-retry-after-ms, then retry-after.
        (
            vec![
                ("retry-after", "9".to_owned()),
                ("x-ms-retry-after-ms", "4000".to_owned()),
                ("retry-after-ms", "700".to_owned()),
            ],
            Duration::from_millis(700),
        ),
        (
            vec![
                ("retry-after", "9".to_owned()),
                ("x-ms-retry-after-ms", "4000".to_owned()),
            ],
            Duration::from_secs(4),
        ),
    ];
    for (headers, expected) in cases {
        let (transport, calls) = failing_then_ok(1, 429, leak(headers.clone()));
        let (result, elapsed) = timed_create(&client(transport)).await;
        assert!(result.is_ok(), "{headers:?}: {result:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(elapsed, expected, "{headers:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date() {
    let at = SystemTime::now() + Duration::from_secs(5);
    let (transport, calls) = failing_then_ok(1, 503, leak(vec![("retry-after", httpdate_fmt(at))]));
    let (result, elapsed) = timed_create(&client(transport)).await;
    assert!(result.is_ok());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // HTTP-dates have whole seconds and are measured against the wall clock.
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed <= Duration::from_secs(6),
        "{elapsed:?}"
    );
}

fn httpdate_fmt(at: SystemTime) -> String {
    httpdate::fmt_http_date(at)
}

#[tokio::test(start_paused = true)]
async fn a_server_delay_over_120_s_is_not_waited_for() {
    let (transport, calls) = failing_then_ok(1, 429, leak(vec![("retry-after", "121".to_owned())]));
    let (result, elapsed) = timed_create(&client(transport)).await;
    let err = result.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.meta().retry_after, Some(Duration::from_secs(121)));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "gave up instead of waiting"
    );
    assert_eq!(elapsed, Duration::ZERO);

    let (transport, calls) =
        failing_then_ok(1, 429, leak(vec![("retry-after-ms", "120000".to_owned())]));
    let (result, elapsed) = timed_create(&client(transport)).await;
    assert!(result.is_ok(), "exactly 120 s is still honoured");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(elapsed, Duration::from_secs(120));
}

#[tokio::test(start_paused = true)]
async fn default_policy_two_retries_with_exponential_backoff() {
    let (transport, calls) = failing_then_ok(usize::MAX, 500, leak(Vec::new()));
    let (result, elapsed) = timed_create(&client(transport)).await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::InternalServer);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "1 attempt + 2 retries");
    // 0.5 s then 1 s, each minus up to 25 % jitter.
    assert!(
        elapsed >= Duration::from_millis(1125) && elapsed <= Duration::from_millis(1500),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retryable_statuses_and_x_should_retry() {
    for status in [408, 409, 429, 500, 502, 503, 504] {
        let (transport, calls) = failing_then_ok(1, status, leak(Vec::new()));
        assert!(timed_create(&client(transport)).await.0.is_ok(), "{status}");
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{status} is retried");
    }
    for status in [400, 401, 403, 404, 422] {
        let (transport, calls) = failing_then_ok(1, status, leak(Vec::new()));
        assert!(
            timed_create(&client(transport)).await.0.is_err(),
            "{status}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{status} is not retried");
    }
    let (transport, calls) =
        failing_then_ok(1, 503, leak(vec![("x-should-retry", "false".to_owned())]));
    let err = timed_create(&client(transport)).await.0.unwrap_err();
    assert!(!err.is_retryable());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "x-should-retry: false wins over 503"
    );
    let (transport, calls) =
        failing_then_ok(1, 400, leak(vec![("x-should-retry", "true".to_owned())]));
    assert!(timed_create(&client(transport)).await.0.is_ok());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "x-should-retry: true forces a retry of a 400"
    );
}

#[tokio::test(start_paused = true)]
async fn the_credential_is_asked_on_every_attempt() {
    let mut credential = MockCredential::new();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    credential
        .expect_authorize()
        .times(3)
        .returning(move |headers| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            headers.insert(
                "authorization",
                format!("Bearer token-{n}").parse().expect("header"),
            );
            Ok(())
        });
    credential.expect_scheme().return_const("bearer");
    credential.expect_refreshes().return_const(false);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut transport = MockTransport::new();
    let calls = AtomicUsize::new(0);
    transport.expect_send().times(3).returning(move |req| {
        log.lock()
            .unwrap()
            .push(req.headers()["authorization"].to_str().unwrap().to_owned());
        if calls.fetch_add(1, Ordering::SeqCst) < 2 {
            Ok(json_response(503, "{}"))
        } else {
            Ok(json_response(200, OK_BODY))
        }
    });
    let client = Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .credential(credential)
        .transport(transport)
        .build()
        .unwrap();
    crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["Bearer token-0", "Bearer token-1", "Bearer token-2"]
    );
}

#[tokio::test]
async fn a_credential_failure_sends_nothing() {
    let mut credential = MockCredential::new();
    credential.expect_authorize().returning(|_| {
        Err(routewise_auth::AuthError::missing_configuration(vec![
            "AZURE_OPENAI_API_KEY: not set".into(),
        ]))
    });
    credential.expect_scheme().return_const("bearer");
    let mut transport = MockTransport::new();
    transport.expect_send().never();
    let client = Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .credential(credential)
        .transport(transport)
        .build()
        .unwrap();
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credential);
    assert!(err.is_auth());
    assert!(err.message().contains("AZURE_OPENAI_API_KEY"), "{err}");
}

#[tokio::test]
async fn retries_against_mock_foundry_with_rate_limit_headers() {
    let foundry = MockFoundry::start().await;
    foundry
        .deployment("gpt-4o")
        .fail_next(2, ErrorReply::rate_limited(Duration::from_millis(30)));
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    let response = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(60),
        "waited retry-after-ms twice"
    );
    assert_eq!(response.served_model(), "gpt-4o");
    assert_eq!(foundry.received().await.len(), 3);
    // Transport-level retries are invisible to the router: one attempt in the decision.
    assert_eq!(response.decision().attempts.len(), 1);
}

#[tokio::test]
async fn failover_attempts_that_change_nothing_send_one_shared_body() {
    use routewise_strategy::{Adjustments, MockStrategy, PlannedAttempt, RoutePlan};
    let mut strategy = MockStrategy::new();
    strategy.expect_name().return_const("same-body".to_owned());
    strategy.expect_observe().return_const(());
    strategy.expect_route().returning(|_| {
        Ok(RoutePlan::new(vec![
            PlannedAttempt::with_adjustments("a", Adjustments::none()),
            PlannedAttempt::with_adjustments("b", Adjustments::none().with_header("x-a", "1")),
        ]))
    });
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = bodies.clone();
    let mut transport = MockTransport::new();
    transport.expect_send().times(2).returning(move |req| {
        let mut log = log.lock().unwrap();
        log.push(req.body().clone());
        Ok(if log.len() == 1 {
            json_response(503, "{}")
        } else {
            json_response(200, OK_BODY)
        })
    });
    let client = Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .transport(transport)
        .strategy(strategy)
        .max_retries(0)
        .build()
        .unwrap();
    let big = "A".repeat(1 << 20);
    crate::support::create(&client, "gpt-4o", &big)
        .await
        .unwrap();
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(
        bodies[0].as_ptr(),
        bodies[1].as_ptr(),
        "the request is serialised once, not per attempt"
    );
}

#[test]
fn plain_http_to_a_remote_host_needs_an_explicit_opt_in() {
    let err = Client::builder()
        .base_url("http://10.1.2.3:8000/v1")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("allow_insecure_http"), "{err}");
    let client = Client::builder()
        .base_url("http://10.1.2.3:8000/v1")
        .allow_insecure_http(true)
        .build()
        .unwrap();
    assert_eq!(client.endpoint().base_url(), "http://10.1.2.3:8000/v1");
    assert!(
        Client::builder()
            .base_url("http://localhost:8000/v1")
            .build()
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn a_throttled_client_holds_later_calls_until_the_server_quiet_period_ends() {
    let headers = leak(vec![("retry-after-ms", "2000".to_owned())]);
    for (throttled, wait) in [(true, Duration::from_secs(2)), (false, Duration::ZERO)] {
        let (transport, calls) = failing_then_ok(1, 429, headers);
        let mut builder = Client::builder()
            .base_url("https://res.openai.azure.com/openai/v1")
            .transport(transport)
            .max_retries(0);
        if throttled {
            builder = builder.throttle(routewise::transport::ThrottleLayer::new());
        }
        let client = builder.build().unwrap();
        let (first, _) = timed_create(&client).await;
        assert_eq!(first.unwrap_err().status().map(|s| s.as_u16()), Some(429));
        let (second, took) = timed_create(&client).await;
        assert!(second.is_ok());
        assert_eq!(took, wait, "throttled: {throttled}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
