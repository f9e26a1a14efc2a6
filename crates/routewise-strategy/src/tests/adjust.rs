use routewise_types::{CreateResponse, RoutingMode};
use serde_json::json;

use super::{order, req};
use crate::{
    Adjustments, CapabilityProfile, Deployment, FOUNDRY_FEATURES_HEADER, MODEL_ROUTER_CONTROLS,
    ModelRouter, Pinned, PlannedAttempt, Pool, RouteContext, Strategy, default_pool,
};

fn with_sampling_and_penalties() -> CreateResponse {
    let mut r = req("hi").with_temperature(0.7).with_top_p(0.9);
    for (k, v) in [
        ("stop", json!(["\n"])),
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(0.5)),
        ("logit_bias", json!({"50256": -100})),
        ("logprobs", json!(true)),
        ("seed", json!(7)),
    ] {
        r.extra.insert(k.to_owned(), v);
    }
    r
}

#[test]
fn reasoning_model_drops_sampling_and_unsupported_params() {
    let o4 = Deployment::new("o4-mini")
        .with_profile(CapabilityProfile::uniform(0.8).with_reasoning_model(true));
    let mut r = with_sampling_and_penalties();
    PlannedAttempt::to(&o4).adjustments.apply(&mut r);
    assert_eq!(r.model.as_deref(), Some("o4-mini"));
    assert_eq!((r.temperature, r.top_p), (None, None));
    for gone in [
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
    ] {
        assert!(!r.extra.contains_key(gone), "{gone} should be dropped");
    }
    assert_eq!(
        r.extra.get("seed"),
        Some(&json!(7)),
        "unrelated extras stay"
    );
}

#[test]
fn non_reasoning_model_keeps_everything() {
    let mini = Deployment::new("gpt-4.1-mini").with_profile(CapabilityProfile::uniform(0.8));
    let mut r = with_sampling_and_penalties();
    let before = r.extra.clone();
    PlannedAttempt::to(&mini).adjustments.apply(&mut r);
    assert_eq!(r.model.as_deref(), Some("gpt-4.1-mini"));
    assert_eq!((r.temperature, r.top_p), (Some(0.7), Some(0.9)));
    assert_eq!(r.extra, before);
}

#[test]
fn unprofiled_names_are_guessed() {
    assert!(Adjustments::for_model("o3-mini").drops_sampling());
    assert!(Adjustments::for_model("gpt-5-mini").drops_sampling());
    assert!(Adjustments::for_model("grok-4-fast-reasoning").drops_sampling());
    assert!(!Adjustments::for_model("gpt-5-chat").drops_sampling());
    assert!(!Adjustments::for_model("gpt-4.1-nano").drops_sampling());
}

#[test]
fn pinned_uses_pool_profile_over_name_guess() {
    // A deployment named like a chat model but profiled as reasoning: the profile wins.
    let pool = Pool::new([Deployment::new("my-deploy")
        .with_model("o4-mini")
        .with_profile(CapabilityProfile::uniform(0.9).with_reasoning_model(true))]);
    let r = req("x");
    let plan = Pinned::new("my-deploy")
        .route(&RouteContext::new(&r, &pool))
        .unwrap();
    assert_eq!(order(&plan), ["my-deploy"]);
    assert!(plan.attempts[0].adjustments.drops_sampling());
    assert_eq!(plan.attempts[0].adjustments.model(), Some("my-deploy"));
    assert_eq!(plan.candidates.len(), 1);
}

#[test]
fn default_pool_flags_reasoning_models() {
    let pool = default_pool();
    let r = with_sampling_and_penalties();
    for (name, reasoning) in [
        ("gpt-4.1-nano", false),
        ("gpt-4.1-mini", false),
        ("gpt-5-mini", true),
        ("gpt-5.2", true),
        ("grok-4-fast-reasoning", true),
        ("DeepSeek-V3.2", false),
    ] {
        let plan = Pinned::new(name)
            .route(&RouteContext::new(&r, &pool))
            .unwrap();
        let mut sent = r.clone();
        plan.attempts[0].adjustments.apply(&mut sent);
        assert_eq!(sent.temperature.is_none(), reasoning, "{name}");
    }
}

#[test]
fn model_router_sends_router_name_and_leaves_params_to_the_server() {
    let r = with_sampling_and_penalties();
    let plan = ModelRouter::new()
        .route(&RouteContext::new(&r, &Pool::default()))
        .unwrap();
    let attempt = plan.primary().unwrap();
    assert!(
        attempt.adjustments.headers().is_empty(),
        "no preview header without controls"
    );
    let mut sent = r.clone();
    attempt.adjustments.apply(&mut sent);
    assert_eq!(sent.model.as_deref(), Some("model-router"));
    assert_eq!(sent.temperature, Some(0.7));
    assert_eq!(sent.extra, r.extra);
    assert!(sent.routing_config.is_none());
}

#[test]
fn model_router_controls_set_config_and_header() {
    let router = ModelRouter::deployment("my-router")
        .with_mode(RoutingMode::Quality)
        .with_models(["gpt-5.2"]);
    let r = req("hi");
    let plan = router
        .route(&RouteContext::new(&r, &Pool::default()))
        .unwrap();
    assert_eq!(plan.mode, Some(RoutingMode::Quality));
    let adj = &plan.attempts[0].adjustments;
    assert_eq!(adj.headers().len(), 1);
    assert_eq!(adj.headers()[0].0, FOUNDRY_FEATURES_HEADER);
    assert_eq!(adj.headers()[0].1, MODEL_ROUTER_CONTROLS);
    let mut sent = r.clone();
    adj.apply(&mut sent);
    assert_eq!(sent.model.as_deref(), Some("my-router"));
    let body = serde_json::to_value(&sent).unwrap();
    assert_eq!(
        body["routing_config"],
        json!({"mode": "quality", "models": ["gpt-5.2"]})
    );

    let header_only = ModelRouter::new().with_controls(true);
    let plan = header_only
        .route(&RouteContext::new(&r, &Pool::default()))
        .unwrap();
    assert_eq!(plan.attempts[0].adjustments.headers().len(), 1);
    assert!(plan.attempts[0].adjustments.routing_config().is_none());
}
