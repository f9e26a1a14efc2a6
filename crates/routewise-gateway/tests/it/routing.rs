//! Router deployments over the shipped trained estimator: the decisions on the default pool,
//! what `model_selection_details` reports, and the heuristic alternative.

use routewise_gateway::{Config, RunningGateway};
use serde_json::{Value, json};

use crate::common::{FAST_EMULATOR, bind, post_with, start};

const CONTROLS: [(&str, &str); 1] = [("Foundry-Features", "ModelRouterControls=V1Preview")];
const PROOF: &str = "Prove step by step that for every integer n >= 1 the sum of the first n \
    cubes equals (n(n+1)/2)^2, then find all integer solutions of x^2 - 5y^2 = 1 with x < 100 \
    and justify each step.";

async fn default_pool() -> RunningGateway {
    bind(Config::default_pool().scale_emulator_latency(0.0)).await
}

async fn route(gw: &RunningGateway, input: &str, routing: Option<Value>) -> Value {
    let mut body = json!({"model": "model-router", "input": input});
    if let Some(r) = routing {
        body["routing_config"] = r;
    }
    let resp = post_with(gw, &body, &CONTROLS).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn details(body: &Value) -> &Value {
    &body["model_selection_details"]["model_router_details"]
}

#[tokio::test]
async fn the_default_router_uses_the_trained_estimator_and_its_calibrated_bands() {
    let gw = default_pool().await;
    let body = route(&gw, "What is 2+2?", None).await;
    assert_eq!(body["model"], "gpt-4.1-nano");
    let d = details(&body);
    assert_eq!(d["mode"], "balanced");
    // The shipped artifact's bands for a pool it never saw are its global ones (absolute points).
    let trained = routewise_strategy::learned::TrainedEstimator::default_artifact().unwrap();
    assert_eq!(d["band"].as_f64(), Some(trained.bands().balanced));
    let candidates = d["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 6);
    for c in candidates {
        let q = c["predicted_quality"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&q), "{c}");
        assert!(c["estimated_cost_usd"].as_f64().unwrap() > 0.0, "{c}");
    }
    // The pick heads the list and is in band; gpt-5.2 is predicted best, but out of band.
    assert_eq!(candidates[0]["model"], "gpt-4.1-nano");
    assert_eq!(candidates[0]["in_band"], true);
    let best = candidates
        .iter()
        .max_by(|a, b| {
            let q = |c: &Value| c["predicted_quality"].as_f64().unwrap();
            q(a).total_cmp(&q(b))
        })
        .unwrap();
    assert_eq!(best["model"], "gpt-5.2");
    gw.shutdown().await;
}

#[tokio::test]
async fn hard_prompts_go_to_strong_models_and_modes_change_the_pick() {
    let gw = default_pool().await;
    let balanced = route(&gw, PROOF, None).await;
    let served = balanced["model"].as_str().unwrap();
    assert!(
        ["gpt-5-mini", "grok-4-fast-reasoning", "gpt-5.2"].contains(&served),
        "{served}"
    );
    let quality = route(&gw, PROOF, Some(json!({"mode": "quality"}))).await;
    assert_eq!(quality["model"], "gpt-5.2");
    assert_eq!(details(&quality)["band"].as_f64(), Some(0.0));
    let cost = route(&gw, "What is 2+2?", Some(json!({"mode": "cost"}))).await;
    assert_eq!(cost["model"], "gpt-4.1-nano");
    // Foundry spells the modes with a capital; any case is the same mode.
    let quality = route(&gw, PROOF, Some(json!({"mode": "Quality"}))).await;
    assert_eq!(quality["model"], "gpt-5.2");
    let cost = route(&gw, "What is 2+2?", Some(json!({"mode": "COST"}))).await;
    assert_eq!(cost["model"], "gpt-4.1-nano");
    gw.shutdown().await;
}

#[tokio::test]
async fn the_heuristic_estimator_is_a_config_choice() {
    let gw = start(&format!(
        r#"{FAST_EMULATOR}
[[deployments]]
name = "small"
upstream = "emu"
price = {{ input_per_1m = 0.1, output_per_1m = 0.4 }}
profile = {{ general = 0.85, reasoning = 0.8, math = 0.8, coding = 0.8 }}

[[deployments]]
name = "large"
upstream = "emu"
price = {{ input_per_1m = 2.0, output_per_1m = 8.0 }}
profile = {{ general = 0.95, reasoning = 0.95, math = 0.95, coding = 0.95 }}

[[routers]]
name = "model-router"
estimator = "heuristic"
"#
    ))
    .await;
    let body = route(&gw, "Say hello.", None).await;
    // Foundry's documented 2 % Balanced band, not a trained calibration.
    assert_eq!(details(&body)["band"].as_f64(), Some(0.02));
    assert_eq!(body["model"], "small");
    let body = route(&gw, PROOF, Some(json!({"mode": "quality"}))).await;
    assert_eq!(body["model"], "large");
    gw.shutdown().await;
}
