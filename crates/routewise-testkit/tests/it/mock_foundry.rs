//! MockFoundry driven by a plain HTTP client.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use routewise_testkit::fixtures::{event_types, parse_sse_data};
use routewise_testkit::{Deployment, ErrorReply, MockFoundry, Router, SEED_DEPLOYMENTS};
use serde_json::{Value, json};

async fn post(url: &str, body: Value) -> reqwest::Response {
    Client::new().post(url).json(&body).send().await.unwrap()
}

fn responses(endpoint: &str) -> String {
    format!("{endpoint}/openai/v1/responses")
}

#[tokio::test]
async fn seed_call_reports_served_model_on_both_url_shapes() {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    for endpoint in [foundry.project_endpoint(), foundry.resource_endpoint()] {
        let r = post(
            &responses(&endpoint),
            json!({"model": "model-router", "input": "Explain RAG in one sentence."}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        let served = body["model"].as_str().unwrap();
        assert!(
            SEED_DEPLOYMENTS.iter().any(|(_, s)| *s == served),
            "{served}"
        );
        assert_eq!(
            body["output"][0]["content"][0]["text"],
            format!("Mock answer from {served}.")
        );
        assert_eq!(body["status"], "completed");
        assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    }
    for (name, served) in SEED_DEPLOYMENTS {
        let body: Value = post(
            &foundry.responses_url(),
            json!({"model": name, "input": "hi"}),
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(body["model"], served);
    }
    let received = foundry.received().await;
    assert_eq!(received.len(), 6);
    assert_eq!(
        received[0].project(),
        Some(routewise_testkit::DEFAULT_PROJECT)
    );
    assert_eq!(received[1].project(), None);
    assert_eq!(foundry.requests_for_model("gpt-4o").await.len(), 1);
}

#[tokio::test]
async fn router_choice_fn_and_selection_details() {
    let foundry = MockFoundry::start().await;
    foundry
        .add_deployment(
            Deployment::new("gpt-5-mini")
                .served_as("gpt-5-mini-2025-08-07")
                .reply("deep answer"),
        )
        .add_router(
            Router::new("model-router", &["grok-4", "gpt-5-mini", "gpt-4.1-nano"])
                .choose(|req| {
                    let hard = req.input_text().is_some_and(|p| p.contains("prove"));
                    if hard { "grok-4" } else { "gpt-4.1-nano" }.to_owned()
                })
                .unavailable("grok-4")
                .mode("quality"),
        );

    let easy: Value = post(
        &foundry.responses_url(),
        json!({"model": "model-router", "input": "hi"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(easy["model"], "gpt-4.1-nano");
    assert!(
        easy.get("model_selection_details").is_none(),
        "details need the preview header"
    );

    let hard = Client::new()
        .post(foundry.responses_url())
        .header("Foundry-Features", "ModelRouterControls=V1Preview")
        .json(&json!({"model": "model-router", "input": "prove it"}))
        .send()
        .await
        .unwrap();
    let hard: Value = hard.json().await.unwrap();
    // grok-4 is down, so the router fails over to the next pool member.
    assert_eq!(hard["model"], "gpt-5-mini-2025-08-07");
    assert_eq!(hard["output"][0]["content"][0]["text"], "deep answer");
    let details = &hard["model_selection_details"]["model_router_details"];
    assert_eq!(details["mode"], "quality");
    let attempts = details["routing_trace"][0]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["model"], "grok-4");
    assert_eq!(attempts[0]["result"]["status"], 404);
    assert_eq!(attempts[1]["result"]["status"], 200);
}

#[tokio::test]
async fn unknown_deployment_is_a_404_in_the_azure_shape() {
    let foundry = MockFoundry::start().await;
    let r = post(
        &foundry.responses_url(),
        json!({"model": "nope", "input": "hi"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().contains_key("x-request-id"));
    assert!(r.headers().contains_key("apim-request-id"));
    assert_eq!(r.headers()["x-ms-region"], "Sweden Central");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );

    let r = post(
        &format!("{}/openai/v1/chat/completions", foundry.uri()),
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_requests_are_400s() {
    let foundry = MockFoundry::start().await;
    foundry.deployment("gpt-5-mini");
    let r = Client::new()
        .post(foundry.responses_url())
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post(&foundry.responses_url(), json!({"input": "hi"})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "model");
    let url = format!("{}?api-version=2024-01-01", foundry.responses_url());
    assert_eq!(
        post(&url, json!({"model": "gpt-5-mini"})).await.status(),
        StatusCode::BAD_REQUEST
    );
    let url = format!("{}?api-version=preview", foundry.responses_url());
    assert_eq!(
        post(&url, json!({"model": "gpt-5-mini"})).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        foundry.received().await[3].query_param("api-version"),
        Some("preview")
    );
}

#[tokio::test]
async fn scripted_429_then_503_then_success() {
    let foundry = MockFoundry::start().await;
    foundry
        .deployment("gpt-5-mini")
        .fail_next(1, ErrorReply::rate_limited(Duration::from_millis(1500)))
        .fail_next_for("gpt-5-mini", 2, ErrorReply::service_unavailable())
        .fail_next_for("other", 1, ErrorReply::internal_server_error());
    let body = json!({"model": "gpt-5-mini", "input": "hi"});

    let r = post(&foundry.responses_url(), body.clone()).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = r.headers();
    assert_eq!(h["retry-after-ms"], "1500");
    assert_eq!(h["x-ms-retry-after-ms"], "1500");
    assert_eq!(h["retry-after"], "2");
    assert_eq!(h["x-ratelimit-remaining-requests"], "0");
    assert_eq!(h["x-ratelimit-remaining-tokens"], "0");
    assert_eq!(
        h.get_all("x-ratelimit-remaining-requests").iter().count(),
        1,
        "no contradicting duplicate"
    );
    assert!(h.contains_key("x-request-id"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "429");

    for _ in 0..2 {
        assert_eq!(
            post(&foundry.responses_url(), body.clone()).await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let ok = post(&foundry.responses_url(), body).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-ratelimit-remaining-requests"], "99");
}

#[tokio::test]
async fn content_filter_blocks_both_modes() {
    let foundry = MockFoundry::start().await;
    foundry
        .deployment("gpt-5-mini")
        .block_prompts_containing("forbidden");

    let r = post(
        &foundry.responses_url(),
        json!({"model": "gpt-5-mini", "input": "a forbidden thing"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_filter");
    assert_eq!(
        body["error"]["innererror"]["content_filter_result"]["self_harm"]["filtered"],
        true
    );

    let r = post(
        &foundry.responses_url(),
        json!({"model": "gpt-5-mini", "input": "a forbidden thing", "stream": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert_eq!(
        event_types(&text),
        ["response.created", "response.failed", "error"]
    );
    assert_eq!(
        parse_sse_data(&text)[2]["error"]["code"],
        "content_policy_violation"
    );
}

#[tokio::test]
async fn streaming_body_parses_into_ordered_events() {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(
        Deployment::new("gpt-4o")
            .served_as("gpt-4o-2024-08-06")
            .reply_with(|p| format!("You said {p}")),
    );
    let r = post(&foundry.project_endpoint_for("other"), json!({})).await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "project endpoint root is not the API"
    );

    let r = post(
        &responses(&foundry.project_endpoint()),
        json!({"model": "gpt-4o", "input": "three little words", "stream": true}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let events = parse_sse_data(&r.text().await.unwrap());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["sequence_number"], json!(i));
    }
    assert_eq!(events[0]["type"], "response.created");
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect();
    assert_eq!(text, "You said three little words");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.completed");
    assert_eq!(last["response"]["model"], "gpt-4o-2024-08-06");
}

#[tokio::test]
async fn function_call_reply_and_stored_response_lifecycle() {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(
        Deployment::new("tools").reply_function_call("get_weather", r#"{"location":"Paris"}"#),
    );
    let created: Value = post(
        &foundry.responses_url(),
        json!({"model": "tools", "input": "weather?", "instructions": "be brief"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["output"][0]["type"], "function_call");
    assert_eq!(created["output"][0]["name"], "get_weather");
    assert_eq!(created["instructions"], "be brief");
    let id = created["id"].as_str().unwrap();
    let url = format!("{}/{id}", foundry.responses_url());
    let client = Client::new();

    let fetched: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched, created);
    let items: Value = client
        .get(format!("{url}/input_items"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(items["object"], "list");
    assert_eq!(items["data"][0]["content"][0]["text"], "weather?");
    let cancel = client.post(format!("{url}/cancel")).send().await.unwrap();
    assert_eq!(
        cancel.status(),
        StatusCode::BAD_REQUEST,
        "a synchronous response cannot be cancelled"
    );
    let deleted: Value = client
        .delete(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let unstored: Value = post(
        &foundry.responses_url(),
        json!({"model": "tools", "input": "x", "store": false}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        foundry
            .stored_response(unstored["id"].as_str().unwrap())
            .is_none()
    );
}

#[tokio::test]
async fn request_capture_and_auth_assertions() {
    let foundry = MockFoundry::start().await;
    foundry
        .deployment("gpt-5-mini")
        .require_api_key("k-123")
        .region("East US 2");
    let client = Client::new();
    let denied = client
        .post(foundry.responses_url())
        .header("api-key", "wrong")
        .json(&json!({"model": "gpt-5-mini", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let ok = client
        .post(format!("{}?api-version=v1", foundry.responses_url()))
        .header("api-key", "k-123")
        .header("x-ms-client-request-id", "client-1")
        .json(&json!({"model": "gpt-5-mini", "input": [{"role": "user", "content": "typed"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-ms-region"], "East US 2");
    assert_eq!(ok.headers()["x-ms-client-request-id"], "client-1");

    let received = foundry.received().await;
    let last = received.last().unwrap();
    assert_eq!(last.method, http::Method::POST);
    assert_eq!(last.path, "/openai/v1/responses");
    assert_eq!(last.query_param("api-version"), Some("v1"));
    assert_eq!(last.input_text().as_deref(), Some("typed"));
    assert_eq!(last.header("content-type"), Some("application/json"));
    assert!(
        !format!("{last:?}").contains("k-123"),
        "Debug must mask the key"
    );

    let missing = std::panic::AssertUnwindSafe(foundry.assert_api_key("k-123"));
    let result = futures_util::FutureExt::catch_unwind(missing).await;
    assert!(result.is_err(), "the first request used a wrong key");
}

#[tokio::test]
async fn bearer_assertion_and_latency() {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(Deployment::new("slow").latency(Duration::from_millis(120)));
    let started = std::time::Instant::now();
    let r = Client::new()
        .post(foundry.responses_url())
        .bearer_auth("tok")
        .json(&json!({"model": "slow", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(120));
    foundry.assert_bearer("tok").await;
    foundry
        .assert_auth_header("authorization", "Bearer tok")
        .await;
}

#[tokio::test]
async fn user_mocks_take_precedence() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    let foundry = MockFoundry::start().await;
    Mock::given(method("GET"))
        .and(path("/openai/v1/models"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
        )
        .mount(foundry.server())
        .await;
    let r = Client::new()
        .get(format!("{}/models", foundry.openai_base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
