//! Every error-status mapping, Azure error extras, and bad bodies against MockFoundry.

use routewise::ErrorKind;
use routewise_testkit::{ErrorReply, MockFoundry};

async fn client_failing_with(reply: ErrorReply) -> (MockFoundry, routewise::Client) {
    let foundry = MockFoundry::start().await;
    foundry
        .deployment("gpt-4o")
        .region("East US 2")
        .fail_next(1, reply);
    let client = crate::support::builder(&foundry.openai_base_url())
        .max_retries(0)
        .build()
        .unwrap();
    (foundry, client)
}

#[tokio::test]
async fn status_codes_map_like_the_openai_sdk() {
    let cases = [
        (400, ErrorKind::BadRequest),
        (401, ErrorKind::Authentication),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (408, ErrorKind::Status),
        (409, ErrorKind::Conflict),
        (422, ErrorKind::UnprocessableEntity),
        (429, ErrorKind::RateLimit),
        (500, ErrorKind::InternalServer),
        (502, ErrorKind::InternalServer),
        (503, ErrorKind::InternalServer),
        (504, ErrorKind::InternalServer),
    ];
    for (status, kind) in cases {
        let reply = ErrorReply::azure(status, "SomeCode", "something went wrong").param("input");
        let (_foundry, client) = client_failing_with(reply).await;
        let err = crate::support::create(&client, "gpt-4o", "hi")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(err.code(), Some("SomeCode"));
        assert_eq!(err.message(), "something went wrong");
        assert_eq!(err.param(), Some("input"));
        assert!(err.request_id().is_some(), "{status}: x-request-id carried");
        assert!(
            err.apim_request_id().is_some(),
            "{status}: apim-request-id carried"
        );
        assert_eq!(err.region(), Some("East US 2"));
        let retryable = matches!(status, 408 | 409 | 429 | 500..);
        assert_eq!(err.is_retryable(), retryable, "{status}");
        assert_eq!(err.is_rate_limited(), status == 429);
        assert_eq!(err.is_not_found(), status == 404);
        assert_eq!(err.is_auth(), matches!(status, 401 | 403));
        // The route decision explains the single attempt.
        let decision = err.route_decision().expect("decision attached");
        assert_eq!(decision.attempts.len(), 1);
        assert!(!decision.attempts[0].result.is_ok());
    }
}

#[tokio::test]
async fn rate_limit_headers_are_parsed() {
    let (_foundry, client) =
        client_failing_with(ErrorReply::rate_limited(std::time::Duration::from_secs(7))).await;
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    let meta = err.meta();
    assert_eq!(meta.rate_limit.remaining_requests, Some(0));
    assert_eq!(meta.rate_limit.remaining_tokens, Some(0));
    assert_eq!(meta.retry_after, Some(std::time::Duration::from_secs(7)));
}

#[tokio::test]
async fn success_carries_rate_limit_headers_too() {
    let foundry = MockFoundry::start().await;
    foundry.deployment("gpt-4o");
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let response = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap();
    assert!(response.meta().rate_limit.remaining_requests.is_some());
    assert!(response.meta().region.is_some());
}

#[tokio::test]
async fn content_filter_block_is_typed_and_final() {
    let foundry = MockFoundry::start().await;
    foundry
        .deployment("gpt-4o")
        .block_prompts_containing("forbidden");
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let err = crate::support::create(&client, "gpt-4o", "something forbidden")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(err.is_content_filtered(), "{err}");
    assert!(!err.is_retryable());
    let details = err.content_filter().expect("details");
    assert_eq!(
        details.code.as_deref(),
        Some("ResponsibleAIPolicyViolation")
    );
    assert!(
        !details
            .results
            .as_ref()
            .expect("results")
            .filtered_categories()
            .is_empty()
    );
    assert_eq!(foundry.received().await.len(), 1, "never retried");
}

#[tokio::test]
async fn html_502_from_a_proxy_is_a_typed_error_with_a_snippet() {
    let (foundry, client) = client_failing_with(ErrorReply::bad_gateway_html()).await;
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InternalServer);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    let snippet = err.body_snippet().expect("snippet of the HTML page");
    assert!(snippet.to_ascii_lowercase().contains("<html"), "{snippet}");
    assert!(err.message().contains("non-JSON"), "{}", err.message());
    assert!(err.is_retryable());
    drop(foundry);
}

#[tokio::test]
async fn non_json_error_bodies_never_panic() {
    for (content_type, body) in [
        (
            "text/plain",
            &b"upstream connect error or disconnect/reset before headers"[..],
        ),
        ("application/json", &b"{\"error\": "[..]),
        ("application/json", &b"[]"[..]),
        ("application/octet-stream", &[0xff, 0xfe, 0x00, 0x80][..]),
        ("application/json", &b""[..]),
    ] {
        let (_foundry, client) =
            client_failing_with(ErrorReply::raw(500, content_type, body.to_vec())).await;
        let err = crate::support::create(&client, "gpt-4o", "hi")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InternalServer, "{content_type}");
        assert!(!err.message().is_empty());
    }
}

#[tokio::test]
async fn a_success_body_that_is_not_a_response_is_a_decode_error() {
    let server = crate::support::scripted::ScriptedServer::start(|_| {
        crate::support::scripted::Reply::json(
            200,
            r#"{"id":"resp_1","object":"response","output":"not-a-list"}"#,
        )
    })
    .await;
    let client = crate::support::builder(&server.uri()).build().unwrap();
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(
        err.message().contains("output"),
        "the JSON path is named: {err}"
    );
    assert!(err.body_snippet().unwrap().contains("not-a-list"));
}

#[tokio::test]
async fn unknown_deployment_is_not_found() {
    let foundry = MockFoundry::start().await;
    foundry.deployment("gpt-4o");
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let err = crate::support::create(&client, "gpt-9", "hi")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.code(), Some("DeploymentNotFound"));
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = crate::support::builder(&format!("http://{addr}/openai/v1"))
        .max_retries(0)
        .build()
        .unwrap();
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_retryable());
    // It says why: "connect error" alone does not tell a refused port from a DNS failure or
    // a TLS problem. The transport error stays in the chain for downcasting.
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert_eq!(
        err.transport_kind(),
        Some(routewise::transport::TransportErrorKind::Connect)
    );
    let mut chain = Vec::new();
    let mut cur = std::error::Error::source(&err);
    while let Some(e) = cur {
        chain.push(e);
        cur = e.source();
    }
    assert!(
        chain[0]
            .downcast_ref::<routewise::transport::TransportError>()
            .is_some(),
        "{chain:?}"
    );
    let root = chain.last().unwrap().to_string();
    assert!(
        err.message().ends_with(&root) && err.message() != "connect error",
        "{err} does not name {root}"
    );
    assert!(err.to_string().contains(&root), "{err}");
}

#[tokio::test]
async fn response_header_timeout_is_a_timeout_error() {
    let server = crate::support::scripted::ScriptedServer::start(|_| {
        crate::support::scripted::Reply::Hang(std::time::Duration::from_secs(5))
    })
    .await;
    let client = crate::support::builder(&server.uri())
        .max_retries(0)
        .response_header_timeout(std::time::Duration::from_millis(100))
        .build()
        .unwrap();
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn an_azure_innererror_that_is_not_a_filter_stays_retryable_and_fails_over() {
    let foundry = MockFoundry::start().await;
    for d in ["first", "second"] {
        foundry
            .add_deployment(routewise_testkit::Deployment::new(d).served_as(format!("{d}-served")));
    }
    let overloaded = ErrorReply::azure(503, "ServiceUnavailable", "busy")
        .inner_error(serde_json::json!({"code": "ServerOverloaded"}));
    foundry.fail_next_for("first", 1, overloaded.clone());
    let client = crate::support::builder(&foundry.openai_base_url())
        .max_retries(0)
        .build()
        .unwrap();

    let err = crate::support::create(&client, "first", "hi")
        .await
        .unwrap_err();
    assert!(!err.is_content_filtered(), "{err}");
    assert!(err.content_filter().is_none());
    assert!(err.is_retryable());

    foundry.fail_next_for("first", 1, overloaded);
    let fallback = client.with_strategy(routewise_strategy::Fallback::new(["first", "second"]));
    let response = crate::support::create(&fallback, "ignored", "hi")
        .await
        .unwrap();
    assert_eq!(response.served_model(), "second-served", "failed over");
}

#[tokio::test]
async fn an_azure_innererror_with_filter_results_is_a_block_whatever_its_code() {
    let reply = ErrorReply::azure(400, "BadRequest", "blocked").inner_error(serde_json::json!({
        "code": "SomethingNew",
        "content_filter_results": {"violence": {"filtered": true, "severity": "high"}}
    }));
    let (_foundry, client) = client_failing_with(reply).await;
    let err = crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap_err();
    assert!(err.is_content_filtered(), "{err}");
    assert!(!err.is_retryable());
    let details = err.content_filter().expect("details");
    assert_eq!(details.code.as_deref(), Some("SomethingNew"));
    assert_eq!(
        details.results.as_ref().map(|r| r.filtered_categories()),
        Some(vec!["violence"])
    );
}

/// An error whose message is its source's text must not print that text twice when a
/// report walks the chain (`anyhow`'s "Caused by:"): the chain skips to what the source wraps.
#[test]
fn a_message_copied_from_its_source_is_not_repeated_in_the_chain() {
    let err = routewise::ProjectClient::new("nourl", routewise_auth::StaticBearer::new("t"))
        .expect_err("a relative URL is refused");
    let text = err.to_string();
    assert!(text.contains("not an absolute URL"), "{text}");
    let mut chain = Vec::new();
    let mut cur = std::error::Error::source(&err);
    while let Some(e) = cur {
        chain.push(e.to_string());
        cur = e.source();
    }
    assert!(
        chain.iter().all(|c| !text.ends_with(c.as_str())),
        "{text} repeated in {chain:?}"
    );
}
