//! Routing and failover over emulated and `routewise-testkit` upstreams: failover on errors and
//! on in-band stream failures before the first delta, never after it; the routing trace.

use std::time::Duration;

use crate::common::{
    FAST_EMULATOR, bind, error_of, output_text, parse_sse, post, post_with, sse, start,
    streamed_text, two_deployments,
};
use routewise_gateway::Config;
use routewise_testkit::{Deployment, ErrorReply, MockFoundry, Script, SseFaultServer, fixtures};
use serde_json::{Value, json};

const CONTROLS: [(&str, &str); 1] = [("Foundry-Features", "ModelRouterControls=V1Preview")];

fn attempts(body: &Value) -> Vec<(String, u64)> {
    body["model_selection_details"]["model_router_details"]["routing_trace"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["model"].as_str().unwrap().to_owned(),
                a["result"]["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_healthy_primary_serves_and_the_trace_shows_one_attempt() {
    let gw = start(&two_deployments("\"emu\"", "")).await;
    let resp = post_with(
        &gw,
        &json!({"model": "model-router", "input": "Explain RAG."}),
        &CONTROLS,
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "primary-model");
    assert!(output_text(&body).starts_with("[emulated primary-model]"));
    let details = &body["model_selection_details"]["model_router_details"];
    assert_eq!(details["mode"], "quality");
    assert_eq!(details["candidates"].as_array().unwrap().len(), 2);
    assert!(
        details["candidates"][0]["predicted_quality"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(attempts(&body), [("primary-model".to_owned(), 200)]);
    // Without the header: no details.
    let body: Value = post(
        &gw,
        &json!({"model": "model-router", "input": "Explain RAG."}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(body.get("model_selection_details").is_none());
    gw.shutdown().await;
}

#[tokio::test]
async fn a_429_fails_over_to_the_next_model_in_the_subset() {
    let gw = start(&two_deployments(
        "\"emu\"",
        "emulator = { rate_limit_rate = 1.0, retry_after_ms = 10 }",
    ))
    .await;
    let body: Value = post_with(
        &gw,
        &json!({"model": "model-router", "input": "Explain RAG."}),
        &CONTROLS,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["model"], "backup-model");
    assert_eq!(
        attempts(&body),
        [
            ("primary-model".to_owned(), 429),
            ("backup-model".to_owned(), 200)
        ]
    );
    // A pinned deployment never fails over: the 429 reaches the caller, Azure-shaped.
    let resp = post(&gw, &json!({"model": "primary", "input": "x"})).await;
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/json"
    );
    let err = error_of(resp, 429).await;
    assert_eq!(err["code"], "429");
    gw.shutdown().await;
}

#[tokio::test]
async fn an_in_band_failure_before_the_first_delta_fails_over() {
    let gw = start(&two_deployments(
        "\"emu\"",
        "emulator = { stream_failure_rate = 1.0, fail_after_deltas = 0 }",
    ))
    .await;
    let body = json!({"model": "model-router", "input": "Explain RAG.", "stream": true});
    let events = sse(post_with(&gw, &body, &CONTROLS).await).await;
    assert!(
        events
            .iter()
            .all(|(e, _)| e != "error" && e != "response.failed"),
        "{events:?}"
    );
    assert!(streamed_text(&events).starts_with("[emulated backup-model]"));
    // The failed attempt's preamble was held back: sequence numbers start at 0 and never reset.
    let seqs: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let (_, completed) = events.last().unwrap();
    assert_eq!(completed["response"]["model"], "backup-model");
    let trace = attempts(&completed["response"]);
    assert_eq!(
        trace,
        [
            ("primary-model".to_owned(), 200),
            ("backup-model".to_owned(), 200)
        ]
    );
    let first = &completed["response"]["model_selection_details"]["model_router_details"]["routing_trace"]
        [0]["attempts"][0];
    assert_eq!(first["result"]["error"]["code"], "server_error");
    gw.shutdown().await;
}

#[tokio::test]
async fn no_failover_after_the_first_delta() {
    let gw = start(&two_deployments(
        "\"emu\"",
        "emulator = { stream_failure_rate = 1.0, fail_after_deltas = 2 }",
    ))
    .await;
    let body = json!({"model": "model-router", "input": "Explain RAG.", "stream": true});
    let events = sse(post(&gw, &body).await).await;
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "response.output_text.delta")
            .count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(&kinds[kinds.len() - 2..], ["error", "response.failed"]);
    assert!(streamed_text(&events).starts_with("[emulated"));
    assert!(!streamed_text(&events).contains("backup-model"));
    gw.shutdown().await;
}

#[tokio::test]
async fn testkit_fault_server_in_band_failure_and_dropped_preamble_fail_over() {
    for script in [
        Script::in_band_failure(),
        Script::from_sse_body(fixtures::HELLO_STREAM).drop_after_frames(2),
    ] {
        let faulty = SseFaultServer::start(script).await.unwrap();
        let upstream = format!(
            "{{ kind = \"openai_compatible\", base_url = \"{}\" }}",
            faulty.openai_base_url()
        );
        let gw = start(&two_deployments(&upstream, "")).await;
        let body = json!({"model": "model-router", "input": "Explain RAG.", "stream": true});
        let events = sse(post_with(&gw, &body, &CONTROLS).await).await;
        assert!(
            streamed_text(&events).starts_with("[emulated backup-model]"),
            "{events:?}"
        );
        assert_eq!(faulty.request_count(), 1);
        // The upstream saw the upstream model id and no router controls.
        let sent = faulty.received()[0].json.clone().unwrap();
        assert_eq!(sent["model"], "primary-model");
        assert!(sent.get("routing_config").is_none());
        gw.shutdown().await;
    }
}

#[tokio::test]
async fn testkit_fault_server_drop_after_the_first_delta_is_not_failed_over() {
    let faulty = SseFaultServer::start(
        Script::from_sse_body(fixtures::HELLO_STREAM)
            .frame_delay(Duration::from_millis(5))
            .drop_after_frames(5),
    )
    .await
    .unwrap();
    let upstream = format!(
        "{{ kind = \"openai_compatible\", base_url = \"{}\" }}",
        faulty.openai_base_url()
    );
    let gw = start(&two_deployments(&upstream, "")).await;
    let resp = post(
        &gw,
        &json!({"model": "model-router", "input": "x", "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let events = parse_sse(&resp.text().await.unwrap());
    assert_eq!(streamed_text(&events), "Hel");
    // The gateway's `error`, then the `response.failed` that ends the response.
    let n = events.len();
    let kinds: Vec<&str> = events[n - 2..].iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(kinds, ["error", "response.failed"], "{events:?}");
    assert_eq!(events[n - 2].1["code"], "server_error");
    assert_eq!(events[n - 1].1["response"]["status"], "failed");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_healthy_fault_server_stream_passes_through_event_by_event() {
    let upstream = SseFaultServer::start(Script::from_sse_body(fixtures::HELLO_STREAM))
        .await
        .unwrap();
    let gw = start(&format!(
        "[[deployments]]\nname = \"nano\"\nmodel = \"gpt-4.1-nano-2025-04-14\"\nupstream = {{ kind = \"openai_compatible\", base_url = \"{}\" }}\n",
        upstream.openai_base_url()
    ))
    .await;
    let events = sse(post(
        &gw,
        &json!({"model": "nano", "input": "hi", "stream": true}),
    )
    .await)
    .await;
    let expected = parse_sse(fixtures::HELLO_STREAM);
    assert_eq!(events, expected);
    gw.shutdown().await;
}

fn foundry_config(foundry: &MockFoundry) -> Config {
    let toml = format!(
        r#"
{FAST_EMULATOR}
[upstreams.foundry]
kind = "azure"
endpoint = "{}"
api_key_env = "TEST_FOUNDRY_KEY"

[[deployments]]
name = "gpt-4.1-nano"
model = "gpt-4.1-nano-2025-04-14"
upstream = "foundry"
profile = {{ general = 0.9, reasoning = 0.9, math = 0.9, coding = 0.9 }}

[[deployments]]
name = "gpt-5-mini"
upstream = "foundry"
profile = {{ general = 0.6, reasoning = 0.6, math = 0.6, coding = 0.6, reasoning_model = true }}

[[deployments]]
name = "backup"
upstream = "emu"
profile = {{ general = 0.5, reasoning = 0.5, math = 0.5, coding = 0.5 }}

[[routers]]
name = "model-router"
mode = "quality"
models = ["gpt-4.1-nano", "backup"]
"#,
        foundry.resource_endpoint()
    );
    Config::from_toml_str_with_env(&toml, "foundry.toml", &|v| {
        (v == "TEST_FOUNDRY_KEY").then(|| "sekrit".to_owned())
    })
    .unwrap()
}

#[tokio::test]
async fn mock_foundry_upstream_failover_passthrough_and_reasoning_adjustments() {
    let foundry = MockFoundry::start().await;
    foundry
        .add_deployment(
            Deployment::new("gpt-4.1-nano")
                .served_as("gpt-4.1-nano-2025-04-14")
                .reply("From Foundry."),
        )
        .add_deployment(
            Deployment::new("gpt-5-mini")
                .served_as("gpt-5-mini-2025-08-07")
                .reply("Reasoned."),
        )
        .fail_next_for("gpt-4.1-nano", 1, ErrorReply::service_unavailable());
    let gw = bind(foundry_config(&foundry)).await;

    // First call: Foundry answers 503, the router fails over to the emulator.
    let body: Value = post_with(
        &gw,
        &json!({"model": "model-router", "input": "x"}),
        &CONTROLS,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["model"], "backup");
    assert_eq!(
        attempts(&body)[0],
        ("gpt-4.1-nano-2025-04-14".to_owned(), 503)
    );
    // Second call: Foundry serves and reports its served model.
    let body: Value = post(&gw, &json!({"model": "model-router", "input": "x"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["model"], "gpt-4.1-nano-2025-04-14");
    assert_eq!(output_text(&body), "From Foundry.");
    foundry.assert_api_key("sekrit").await;

    // A reasoning deployment drops sampling parameters before the call.
    let resp = post(
        &gw,
        &json!({"model": "gpt-5-mini", "input": "x", "temperature": 0.2, "top_p": 0.5}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let sent = foundry.requests_for_model("gpt-5-mini").await;
    let sent = sent.last().unwrap().json.clone().unwrap();
    assert!(
        sent.get("temperature").is_none() && sent.get("top_p").is_none(),
        "{sent}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn mock_foundry_content_filter_is_passed_through_not_failed_over() {
    let foundry = MockFoundry::start().await;
    foundry
        .add_deployment(Deployment::new("gpt-4.1-nano").served_as("gpt-4.1-nano-2025-04-14"))
        .block_prompts_containing("forbidden");
    let gw = bind(foundry_config(&foundry)).await;
    let resp = post(
        &gw,
        &json!({"model": "model-router", "input": "something forbidden"}),
    )
    .await;
    let err = error_of(resp, 400).await;
    assert_eq!(err["code"], "content_filter");
    assert_eq!(err["innererror"]["code"], "ResponsibleAIPolicyViolation");
    gw.shutdown().await;
}

#[tokio::test]
async fn routing_config_narrows_the_subset_and_auto_uses_the_router() {
    let gw = start(&two_deployments("\"emu\"", "")).await;
    let body = json!({"model": "model-router", "input": "x", "routing_config": {"models": ["backup"], "mode": "cost"}});
    let body: Value = post_with(&gw, &body, &CONTROLS).await.json().await.unwrap();
    assert_eq!(body["model"], "backup-model");
    assert_eq!(
        body["model_selection_details"]["model_router_details"]["mode"],
        "cost"
    );
    let body: Value = post(&gw, &json!({"model": "auto", "input": "x"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["model"], "primary-model");
    gw.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_upstream_fails_over_and_a_pinned_one_gets_502() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstream =
        format!("{{ kind = \"openai_compatible\", base_url = \"http://127.0.0.1:{port}/v1\" }}");
    let gw = start(&two_deployments(&upstream, "")).await;
    let body: Value = post(&gw, &json!({"model": "model-router", "input": "x"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["model"], "backup-model");
    let err = error_of(
        post(&gw, &json!({"model": "primary", "input": "x"})).await,
        502,
    )
    .await;
    assert_eq!(err["type"], "server_error");
    gw.shutdown().await;
}
