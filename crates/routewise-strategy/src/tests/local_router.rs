use std::sync::Arc;

use routewise_types::RoutingMode;

use super::{order, priced, req};
use crate::{
    Bands, CostModel, Deployment, HeuristicEstimator, LocalRouter, Pool, PromptView,
    QualityEstimator, RouteContext, ScoreKind, Strategy, default_pool,
};

mockall::mock! {
    Estimator {}
    impl std::fmt::Debug for Estimator {
        fn fmt<'a>(&self, f: &mut std::fmt::Formatter<'a>) -> std::fmt::Result;
    }
    impl QualityEstimator for Estimator {
        fn name(&self) -> &str;
        fn estimate<'p, 'c>(&self, prompt: &PromptView<'p>, candidates: &[&'c Deployment], out: &mut Vec<f64>);
    }
}

/// Four candidates, priced so that cost order is cheap < mid < pricey < top.
fn pool4() -> Pool {
    Pool::new([
        priced("top", 5.0, 20.0, 0.9),
        priced("cheap", 0.1, 0.4, 0.5),
        priced("mid", 0.4, 1.6, 0.7),
        priced("pricey", 2.0, 8.0, 0.8),
    ])
}

/// An estimator returning fixed qualities per candidate name.
fn fixed(scores: &'static [(&'static str, f64)]) -> MockEstimator {
    let mut est = MockEstimator::new();
    est.expect_name().return_const("fixed".to_owned());
    est.expect_estimate().returning(move |_, cands, out| {
        out.extend(cands.iter().map(|d| {
            scores
                .iter()
                .find(|(n, _)| *n == d.name)
                .map_or(0.0, |(_, q)| *q)
        }));
    });
    est
}

const SCORES: &[(&str, f64)] = &[
    ("top", 0.90),
    ("pricey", 0.885),
    ("mid", 0.86),
    ("cheap", 0.80),
];

fn route(router: &LocalRouter, pool: &Pool) -> crate::RoutePlan {
    router
        .route(&RouteContext::new(&req("hello"), pool))
        .unwrap()
}

#[test]
fn quality_takes_the_best() {
    let plan = route(
        &LocalRouter::new(fixed(SCORES)).with_mode(RoutingMode::Quality),
        &pool4(),
    );
    assert_eq!(order(&plan), ["top", "pricey", "mid", "cheap"]);
    assert_eq!(plan.mode, Some(RoutingMode::Quality));
    assert_eq!(plan.band, Some(0.0));
}

#[test]
fn balanced_takes_cheapest_in_narrow_band() {
    // Band 2% relative: threshold 0.882 → top and pricey are in band; pricey is cheaper.
    let plan = route(&LocalRouter::new(fixed(SCORES)), &pool4());
    assert_eq!(order(&plan), ["pricey", "top", "mid", "cheap"]);
    assert_eq!(plan.score_kind, ScoreKind::Quality);
    let eligible: Vec<_> = plan
        .candidates
        .iter()
        .filter(|c| c.eligible)
        .map(|c| c.deployment.as_str())
        .collect();
    assert_eq!(eligible, ["pricey", "top"]);
    assert!(plan.candidates.iter().all(|c| c.cost_estimate.is_some()));
}

#[test]
fn cost_takes_cheapest_in_wide_band() {
    // Band 6% relative: threshold 0.846 → mid joins; cheap (0.80) stays out.
    let plan = route(
        &LocalRouter::new(fixed(SCORES)).with_mode(RoutingMode::Cost),
        &pool4(),
    );
    assert_eq!(order(&plan), ["mid", "top", "pricey", "cheap"]);
}

#[test]
fn bands_are_configurable_relative_or_absolute() {
    let wide = Bands::new(0.2, 0.3).unwrap();
    let plan = route(&LocalRouter::new(fixed(SCORES)).with_bands(wide), &pool4());
    assert_eq!(order(&plan)[0], "cheap");
    // Absolute 0.02: threshold 0.88 → same as relative here; absolute 0.05 lets mid in.
    let abs = Bands::new(0.05, 0.1).unwrap().absolute();
    let plan = route(&LocalRouter::new(fixed(SCORES)).with_bands(abs), &pool4());
    assert_eq!(order(&plan)[0], "mid");
    assert!(Bands::new(1.5, 0.1).unwrap_err().is_out_of_range());
    assert!(Bands::new(0.01, -0.1).is_err());
}

#[test]
fn subset_restricts_and_orders_failover() {
    let router = LocalRouter::new(fixed(SCORES)).with_subset(["cheap", "mid", "not-in-pool"]);
    let plan = route(&router, &pool4());
    assert_eq!(order(&plan), ["mid", "cheap"], "mid is best, alone in band");
    let router = LocalRouter::new(fixed(SCORES)).with_subset(["nowhere"]);
    let err = router
        .route(&RouteContext::new(&req("x"), &pool4()))
        .unwrap_err();
    assert!(err.is_no_candidates());
}

#[test]
fn estimator_sees_the_prompt_and_candidates() {
    let mut est = MockEstimator::new();
    est.expect_name().return_const("spy".to_owned());
    est.expect_estimate()
        .withf(|p, c, out| p.last_user() == "hello" && c.len() == 4 && out.is_empty())
        .times(1)
        .returning(|_, c, out| out.extend(std::iter::repeat_n(0.5, c.len())));
    let plan = route(&LocalRouter::new(est), &pool4());
    // All tied: the cheapest wins.
    assert_eq!(order(&plan)[0], "cheap");
}

#[test]
fn bad_estimates_are_typed_errors() {
    let mut short = MockEstimator::new();
    short.expect_name().return_const("short".to_owned());
    short.expect_estimate().returning(|_, _, out| out.push(0.5));
    let err = LocalRouter::new(short)
        .route(&RouteContext::new(&req("x"), &pool4()))
        .unwrap_err();
    assert!(err.is_estimator());

    let mut nan = MockEstimator::new();
    nan.expect_name().return_const("nan".to_owned());
    nan.expect_estimate()
        .returning(|_, c, out| out.extend(std::iter::repeat_n(f64::NAN, c.len())));
    let err = LocalRouter::new(nan)
        .route(&RouteContext::new(&req("x"), &pool4()))
        .unwrap_err();
    assert!(err.is_estimator());
}

#[test]
fn reasoning_output_multiplier_changes_costs() {
    let pool = Pool::new([
        priced("chat", 1.0, 2.0, 0.8),
        Deployment::new("thinker")
            .with_price(crate::Price::new(1.0, 1.5))
            .with_profile(crate::CapabilityProfile::uniform(0.8).with_reasoning_model(true)),
    ]);
    let tied: &'static [(&'static str, f64)] = &[("chat", 0.9), ("thinker", 0.9)];
    let plan = route(&LocalRouter::new(fixed(tied)), &pool);
    assert_eq!(
        order(&plan)[0],
        "chat",
        "3x hidden reasoning output makes thinker dearer"
    );
    let flat = CostModel {
        reasoning_multiplier: 1.0,
        ..CostModel::default()
    };
    let plan = route(&LocalRouter::new(fixed(tied)).with_cost_model(flat), &pool);
    assert_eq!(order(&plan)[0], "thinker");
}

#[test]
fn heuristic_on_default_pool_separates_easy_and_hard_prompts() {
    let pool = default_pool();
    let est: Arc<dyn QualityEstimator> = Arc::new(HeuristicEstimator::new());
    let pick = |mode: RoutingMode, text: &str| {
        let router = LocalRouter::with_shared_estimator(Arc::clone(&est)).with_mode(mode);
        router
            .route(&RouteContext::new(&req(text), &pool))
            .unwrap()
            .attempts[0]
            .deployment
            .clone()
    };
    let easy = "Say hello to my friend.";
    let hard = "Prove step by step that for every integer n > 1 the sum 1 + 2 + ... + n = n(n+1)/2, \
                then solve the equation x^3 - 6x^2 + 11x - 6 = 0 and explain why each root is valid.";
    assert_eq!(pick(RoutingMode::Quality, hard), "gpt-5.2");
    let cost_easy = pick(RoutingMode::Cost, easy);
    let price = |name: &str| pool.get(name).unwrap().price.output_per_1m;
    assert!(
        price(&cost_easy) <= 0.5,
        "Cost mode on an easy prompt picks a cheap model, got {cost_easy}"
    );
    let balanced_hard = pick(RoutingMode::Balanced, hard);
    assert_ne!(
        balanced_hard, "gpt-4.1-nano",
        "a hard prompt does not go to the weakest model"
    );
}

#[test]
fn names_carry_the_mode() {
    assert_eq!(
        LocalRouter::new(HeuristicEstimator::new()).name(),
        "local-router(balanced)"
    );
    assert_eq!(
        LocalRouter::new(HeuristicEstimator::new())
            .with_mode(RoutingMode::Cost)
            .name(),
        "local-router(cost)"
    );
}

#[test]
fn a_request_for_a_short_answer_goes_to_the_cheapest_model_in_balanced_mode() {
    let pool = default_pool();
    let router = LocalRouter::new(HeuristicEstimator::new()).with_mode(RoutingMode::Balanced);
    let pick = |text: &str| {
        router
            .route(&RouteContext::new(&req(text), &pool))
            .unwrap()
            .attempts[0]
            .deployment
            .clone()
    };
    // The seed's prompt: a definition in one sentence is easy for every model in the pool.
    assert_eq!(
        pick("Explain retrieval-augmented generation in one sentence."),
        "gpt-4.1-nano"
    );
    // Without the brevity cue the same topic asks for more, and the band excludes nano.
    assert_ne!(
        pick(
            "Explain retrieval-augmented generation step by step, compare it with fine-tuning and justify when to use each."
        ),
        "gpt-4.1-nano"
    );
}
