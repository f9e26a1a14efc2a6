//! Issue 4 against the test kit: each strategy's choice, failover order, cooldown and recovery,
//! the no-failover-after-first-delta rule, and the `RouteDecision` every response carries.

use std::time::Duration;

use futures_util::StreamExt;
use routewise::{Client, ErrorKind};
use routewise_strategy::{
    AttemptResult, DEFAULT_MODELS, FailureKind, Fallback, HeuristicEstimator, LocalRouter,
    LowestLatency, MockStrategy, ModelRouter, Pinned, PlannedAttempt, RoutePlan, ScoreKind,
    Weighted, default_pool,
};
use routewise_testkit::fixtures;
use routewise_testkit::{Deployment, ErrorReply, MockFoundry, Script, SseFaultServer};
use routewise_types::{CreateResponse, RoutingMode};

async fn foundry_with(deployments: &[&str]) -> MockFoundry {
    let foundry = MockFoundry::start().await;
    for d in deployments {
        foundry.add_deployment(Deployment::new(*d).served_as(format!("{d}-served")));
    }
    foundry
}

/// No transport retries, so each failure reaches the router at once.
fn client(foundry: &MockFoundry) -> Client {
    crate::support::builder(&foundry.openai_base_url())
        .max_retries(0)
        .build()
        .unwrap()
}

fn ask(text: &str) -> CreateResponse {
    CreateResponse::new("ignored-by-strategy", text)
}

fn failed_over(result: &AttemptResult) -> Option<(FailureKind, bool)> {
    match result {
        AttemptResult::Failed {
            kind, failed_over, ..
        } => Some((*kind, *failed_over)),
        _ => None,
    }
}

#[tokio::test]
async fn default_strategy_is_pinned_to_the_request_model() {
    let foundry = foundry_with(&["a", "b"]).await;
    let response = client(&foundry)
        .responses()
        .create(CreateResponse::new("b", "hi"))
        .await
        .unwrap();
    assert_eq!(response.served_model(), "b-served");
    let d = response.decision();
    assert_eq!(
        (d.strategy.as_str(), d.deployment.as_deref()),
        ("pinned", Some("b"))
    );
    assert_eq!(d.candidates.len(), 1);
    assert_eq!(d.candidates[0].deployment, "b");
}

#[tokio::test]
async fn pinned_overrides_the_request_model() {
    let foundry = foundry_with(&["a", "b"]).await;
    let pinned = client(&foundry).with_strategy(Pinned::new("a"));
    let response = crate::support::create(&pinned, "b", "hi").await.unwrap();
    assert_eq!(response.served_model(), "a-served");
    assert_eq!(response.decision().deployment.as_deref(), Some("a"));
    assert_eq!(foundry.requests_for_model("a").await.len(), 1);
    assert!(foundry.requests_for_model("b").await.is_empty());
}

#[tokio::test]
async fn pinned_reasoning_deployment_drops_sampling_parameters() {
    let foundry = foundry_with(&["gpt-5-mini", "gpt-4.1-mini"]).await;
    let base = client(&foundry);
    let req = ask("hi").with_temperature(0.2).with_top_p(0.9);
    base.with_strategy(Pinned::new("gpt-5-mini"))
        .responses()
        .create(req.clone())
        .await
        .unwrap();
    base.with_strategy(Pinned::new("gpt-4.1-mini"))
        .responses()
        .create(req)
        .await
        .unwrap();
    let reasoning = &foundry.requests_for_model("gpt-5-mini").await[0];
    let body = reasoning.json.as_ref().unwrap();
    assert!(
        body.get("temperature").is_none() && body.get("top_p").is_none(),
        "{body}"
    );
    let plain = &foundry.requests_for_model("gpt-4.1-mini").await[0];
    assert_eq!(plain.json.as_ref().unwrap()["temperature"], 0.2);
}

#[tokio::test]
async fn model_router_lets_the_server_choose() {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    let router = client(&foundry).with_strategy(ModelRouter::new().with_mode(RoutingMode::Cost));
    let response = router
        .responses()
        .create(ask("Explain RAG in one sentence."))
        .await
        .unwrap();
    let received = foundry.received().await;
    assert_eq!(received[0].json.as_ref().unwrap()["model"], "model-router");
    assert_eq!(
        received[0].json.as_ref().unwrap()["routing_config"]["mode"],
        "cost"
    );
    assert_eq!(
        received[0].header("foundry-features"),
        Some("ModelRouterControls=V1Preview")
    );
    assert_ne!(response.served_model(), "model-router");
    let d = response.decision();
    assert_eq!(d.deployment.as_deref(), Some("model-router"));
    assert_eq!(d.served_model.as_deref(), Some(response.served_model()));
}

#[tokio::test]
async fn fallback_fails_over_in_order_on_retryable_failures() {
    let foundry = foundry_with(&["first", "second", "third"]).await;
    foundry.fail_next_for("first", 1, ErrorReply::service_unavailable());
    foundry.fail_next_for(
        "second",
        1,
        ErrorReply::rate_limited(Duration::from_millis(1)),
    );
    let fallback = client(&foundry).with_strategy(Fallback::new(["first", "second", "third"]));
    let response = fallback.responses().create(ask("hi")).await.unwrap();
    assert_eq!(response.served_model(), "third-served");
    let d = response.decision();
    assert_eq!(d.strategy, "fallback");
    let tried: Vec<&str> = d.attempts.iter().map(|a| a.deployment.as_str()).collect();
    assert_eq!(tried, ["first", "second", "third"]);
    assert_eq!(
        failed_over(&d.attempts[0].result),
        Some((FailureKind::Status(503), true))
    );
    assert_eq!(
        failed_over(&d.attempts[1].result),
        Some((FailureKind::Status(429), true))
    );
    assert!(d.attempts[2].result.is_ok());
    assert_eq!(d.deployment.as_deref(), Some("third"));
}

#[tokio::test]
async fn fallback_fails_over_on_a_missing_deployment_but_not_on_request_errors() {
    let foundry = foundry_with(&["second"]).await;
    let fallback = client(&foundry).with_strategy(Fallback::new(["missing", "second"]));
    let response = fallback.responses().create(ask("hi")).await.unwrap();
    assert_eq!(
        failed_over(&response.decision().attempts[0].result),
        Some((FailureKind::Status(404), true))
    );

    for reply in [
        ErrorReply::context_length_exceeded(),
        ErrorReply::unauthorized(),
        ErrorReply::content_filter(),
    ] {
        let foundry = foundry_with(&["first", "second"]).await;
        foundry.fail_next_for("first", 1, reply.clone());
        let fallback = client(&foundry).with_strategy(Fallback::new(["first", "second"]));
        let err = fallback.responses().create(ask("hi")).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(reply.status()));
        let d = err.route_decision().unwrap();
        assert_eq!(d.attempts.len(), 1, "no failover on {}", reply.status());
        assert!(foundry.requests_for_model("second").await.is_empty());
    }
}

#[tokio::test]
async fn fallback_exhausted_returns_the_last_failure_with_every_attempt() {
    let foundry = foundry_with(&["a", "b"]).await;
    foundry.fail_next_for("a", 1, ErrorReply::internal_server_error());
    foundry.fail_next_for("b", 1, ErrorReply::service_unavailable());
    let err = client(&foundry)
        .with_strategy(Fallback::new(["a", "b"]))
        .responses()
        .create(ask("hi"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    let d = err.route_decision().unwrap();
    assert_eq!(d.attempts.len(), 2);
    assert_eq!(d.deployment, None);
}

#[tokio::test]
async fn cooldown_moves_a_failing_deployment_back_and_recovers() {
    let foundry = foundry_with(&["east", "west"]).await;
    let fallback = Fallback::new(["east", "west"])
        .with_failure_threshold(1)
        .with_cooldown(Duration::from_secs(1));
    let client = client(&foundry).with_strategy(fallback);
    foundry.fail_next_for("east", 1, ErrorReply::service_unavailable());

    let first = client.responses().create(ask("1")).await.unwrap();
    assert_eq!(first.decision().deployment.as_deref(), Some("west"));
    // East is cooling: planned last, so west serves without east being asked.
    let second = client.responses().create(ask("2")).await.unwrap();
    assert_eq!(second.decision().attempts.len(), 1);
    assert_eq!(second.decision().deployment.as_deref(), Some("west"));
    assert_eq!(foundry.requests_for_model("east").await.len(), 1);

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let third = client.responses().create(ask("3")).await.unwrap();
    assert_eq!(
        third.decision().deployment.as_deref(),
        Some("east"),
        "recovered after the cooldown"
    );
}

#[tokio::test]
async fn lowest_latency_learns_the_fast_deployment() {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(Deployment::new("slow").latency(Duration::from_millis(60)));
    foundry.add_deployment(Deployment::new("fast"));
    let pool =
        routewise_strategy::Pool::new(["slow", "fast"].map(routewise_strategy::Deployment::new));
    let client = client(&foundry)
        .with_pool(pool)
        .with_strategy(LowestLatency::new().with_seed(7));
    let mut served = Vec::new();
    for i in 0..8 {
        let response = client
            .responses()
            .create(ask(&i.to_string()))
            .await
            .unwrap();
        assert_eq!(response.decision().score_kind, ScoreKind::LatencyMs);
        served.push(response.decision().deployment.clone().unwrap());
    }
    assert!(
        served.contains(&"slow".to_owned()),
        "each deployment is probed: {served:?}"
    );
    assert!(
        served[4..].iter().all(|d| d == "fast"),
        "then the fast one wins: {served:?}"
    );
}

#[tokio::test]
async fn weighted_choice_is_seeded_and_follows_weights() {
    let foundry = foundry_with(&["heavy", "light"]).await;
    let weighted = Weighted::new([("heavy", 9.0), ("light", 1.0)])
        .unwrap()
        .with_seed(42);
    let client = client(&foundry).with_strategy(weighted);
    let mut heavy = 0;
    for i in 0..40 {
        let response = client
            .responses()
            .create(ask(&i.to_string()))
            .await
            .unwrap();
        assert_eq!(response.decision().score_kind, ScoreKind::Weight);
        heavy += usize::from(response.decision().deployment.as_deref() == Some("heavy"));
    }
    assert!(
        (28..40).contains(&heavy),
        "{heavy} of 40 went to the 90% deployment"
    );
}

#[tokio::test]
async fn local_router_picks_by_mode_and_explains_its_scores() {
    let foundry = foundry_with(&DEFAULT_MODELS).await;
    let base = client(&foundry).with_pool(default_pool());
    let prompt = ask(
        "Prove that there are infinitely many primes, step by step, then write a Rust function.",
    );
    let mut picks = Vec::new();
    for mode in [
        RoutingMode::Quality,
        RoutingMode::Balanced,
        RoutingMode::Cost,
    ] {
        let router =
            base.with_strategy(LocalRouter::new(HeuristicEstimator::new()).with_mode(mode.clone()));
        let response = router.responses().create(prompt.clone()).await.unwrap();
        let d = response.decision();
        assert_eq!(d.score_kind, ScoreKind::Quality);
        assert_eq!(d.mode.as_ref(), Some(&mode));
        assert_eq!(d.candidates.len(), DEFAULT_MODELS.len());
        let pick = d.deployment.clone().unwrap();
        assert_eq!(response.served_model(), format!("{pick}-served"));
        picks.push((
            pick,
            d.candidates
                .iter()
                .find(|c| c.deployment == *d.deployment.as_ref().unwrap())
                .unwrap()
                .score,
        ));
    }
    let best = picks[0].1;
    assert!(
        picks.iter().all(|(_, q)| *q <= best + 1e-9),
        "Quality takes the best predicted quality: {picks:?}"
    );
    let price = |name: &str| {
        routewise_strategy::known_model(name)
            .unwrap()
            .0
            .input_per_1m
    };
    assert!(
        price(&picks[2].0) <= price(&picks[0].0),
        "Cost is never dearer than Quality: {picks:?}"
    );
}

#[tokio::test]
async fn a_custom_strategy_sees_every_outcome() {
    let foundry = foundry_with(&["y"]).await;
    let mut strategy = MockStrategy::new();
    strategy.expect_name().return_const("custom".to_owned());
    strategy.expect_route().returning(|_| {
        Ok(RoutePlan::new(vec![
            PlannedAttempt::named("x"),
            PlannedAttempt::named("y"),
        ]))
    });
    let mut seq = mockall::Sequence::new();
    strategy
        .expect_observe()
        .withf(|o| o.deployment == "x" && !o.is_success())
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    strategy
        .expect_observe()
        .withf(|o| o.deployment == "y" && o.is_success() && o.served_model == Some("y-served"))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    let response = client(&foundry)
        .with_strategy(strategy)
        .responses()
        .create(ask("hi"))
        .await
        .unwrap();
    assert_eq!(response.decision().strategy, "custom");
    assert_eq!(response.decision().attempts.len(), 2);
}

#[tokio::test]
async fn with_strategy_shares_the_client() {
    let foundry = foundry_with(&["a"]).await;
    let base = client(&foundry);
    let derived = base.with_strategy(Pinned::new("a"));
    assert_eq!(derived.endpoint(), base.endpoint());
    assert_eq!(base.strategy().name(), "pinned");
    assert!(format!("{derived:?}").contains("pinned"));
}

fn stream_client(server: &SseFaultServer) -> Client {
    crate::support::builder(&server.openai_base_url())
        .max_retries(0)
        .idle_timeout(Duration::from_millis(200))
        .build()
        .unwrap()
}

#[tokio::test]
async fn stream_fails_over_on_an_in_band_failure_before_content() {
    let server = SseFaultServer::start_sequence([
        Script::in_band_failure(),
        Script::from_sse_body(fixtures::HELLO_STREAM),
    ])
    .await
    .unwrap();
    let client = stream_client(&server).with_strategy(Fallback::new(["a", "b"]));
    let stream = client.responses().stream(ask("hi")).await.unwrap();
    let d = stream.decision().clone();
    assert_eq!(d.attempts.len(), 2);
    assert_eq!(
        failed_over(&d.attempts[0].result),
        Some((FailureKind::Stream, true))
    );
    assert_eq!(d.deployment.as_deref(), Some("b"));
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_text(), "Hello!");
    assert_eq!(
        response.decision().served_model.as_deref(),
        Some("gpt-4.1-nano-2025-04-14")
    );
    let models: Vec<_> = server
        .received()
        .iter()
        .map(|r| r.model().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(models, ["a", "b"]);
}

#[tokio::test]
async fn stream_fails_over_when_the_preamble_stalls() {
    let server = SseFaultServer::start_sequence([
        Script::from_sse_body(fixtures::HELLO_STREAM).stall_after_frames(1),
        Script::from_sse_body(fixtures::HELLO_STREAM),
    ])
    .await
    .unwrap();
    let client = stream_client(&server).with_strategy(Fallback::new(["a", "b"]));
    let stream = client.responses().stream(ask("hi")).await.unwrap();
    assert_eq!(
        failed_over(&stream.decision().attempts[0].result),
        Some((FailureKind::Timeout, true))
    );
    assert_eq!(
        stream.final_response().await.unwrap().output_text(),
        "Hello!"
    );
}

#[tokio::test]
async fn a_content_filtered_stream_does_not_fail_over() {
    let server = SseFaultServer::start_sequence([
        Script::content_filtered(),
        Script::from_sse_body(fixtures::HELLO_STREAM),
    ])
    .await
    .unwrap();
    let client = stream_client(&server).with_strategy(Fallback::new(["a", "b"]));
    let err = client.responses().stream(ask("hi")).await.unwrap_err();
    assert!(err.is_content_filtered());
    assert_eq!(err.route_decision().unwrap().attempts.len(), 1);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn no_failover_after_the_first_delta() {
    let server = SseFaultServer::start_sequence([
        Script::from_sse_body(fixtures::HELLO_STREAM).drop_after_frames(6),
        Script::from_sse_body(fixtures::HELLO_STREAM),
    ])
    .await
    .unwrap();
    let client = stream_client(&server).with_strategy(Fallback::new(["a", "b"]));
    let mut stream = client.responses().stream(ask("hi")).await.unwrap();
    let mut text = String::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => text.push_str(event.text_delta().unwrap_or_default()),
            Err(err) => error = Some(err),
        }
    }
    let err = error.expect("the broken stream surfaces an error");
    assert!(
        matches!(err.kind(), ErrorKind::Transport | ErrorKind::StreamProtocol),
        "{err:?}"
    );
    assert_eq!(text, "Hello!", "content delivered once, no restart");
    assert_eq!(
        server.request_count(),
        1,
        "the second deployment was never asked"
    );
    let d = err.route_decision().unwrap();
    assert_eq!(d.deployment.as_deref(), Some("a"));
    assert_eq!(d.attempts.len(), 1);
}
