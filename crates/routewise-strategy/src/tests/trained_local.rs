//! `LocalRouter` over the shipped trained estimator and the default pool: calibrated bands
//! and the decisions each mode makes on easy and hard prompts.

use std::sync::{Arc, LazyLock};

use routewise_types::RoutingMode;

use super::req;
use crate::learned::TrainedEstimator;
use crate::{
    Bands, Deployment, LocalRouter, Pool, PromptView, QualityEstimator, RouteContext, RoutePlan,
    Strategy, default_pool,
};

static TRAINED: LazyLock<Arc<TrainedEstimator>> =
    LazyLock::new(|| Arc::new(TrainedEstimator::default_artifact().expect("shipped artifact")));

const TWO_PLUS_TWO: &str = "What is 2+2?";
const SEED: &str = "Explain retrieval-augmented generation in one sentence.";
const PROOF: &str = "Prove step by step that for every integer n >= 1 the sum of the first n \
    cubes equals (n(n+1)/2)^2, then find all integer solutions of x^2 - 5y^2 = 1 with x < 100 \
    and justify each step.";
const CODING: &str = "Write a program in Python that implements a thread-safe LRU cache class \
    with TTL eviction and an HTTP API, with unit tests. Explain the design step by step.\n\
    ```python\nclass Cache:\n    def get(self, key):\n        return None\n```";

/// The cheap end of the default pool: under $0.0003 per request by the default cost model.
const CHEAP: [&str; 2] = ["gpt-4.1-nano", "DeepSeek-V3.2"];
/// Reasoning models with the strongest maths, reasoning and coding profiles.
const STRONG: [&str; 3] = ["gpt-5-mini", "grok-4-fast-reasoning", "gpt-5.2"];

fn plan(mode: RoutingMode, text: &str) -> RoutePlan {
    LocalRouter::trained(Arc::clone(&TRAINED))
        .with_mode(mode)
        .route(&RouteContext::new(&req(text), &default_pool()))
        .unwrap()
}

fn pick(mode: RoutingMode, text: &str) -> String {
    plan(mode, text).primary().unwrap().deployment.clone()
}

fn cost_of(plan: &RoutePlan, name: &str) -> f64 {
    plan.candidates
        .iter()
        .find(|c| c.deployment == name)
        .and_then(|c| c.cost_estimate)
        .unwrap()
}

#[test]
fn trained_router_uses_the_bands_calibrated_for_the_candidate_set() {
    let pool = default_pool();
    let models: Vec<&str> = pool
        .deployments()
        .iter()
        .map(|d| d.model.as_str())
        .collect();
    let calibrated = TRAINED.bands_for(&models);
    let router = LocalRouter::trained(Arc::clone(&TRAINED));
    let cands: Vec<&Deployment> = pool.deployments().iter().collect();
    let bands = router.bands_for(&cands);
    assert_eq!(
        (bands.balanced, bands.cost),
        (calibrated.balanced, calibrated.cost)
    );
    // The estimator itself offers them, so the generic constructor gets them too.
    let generic = LocalRouter::with_shared_estimator(Arc::clone(&TRAINED) as _).bands_for(&cands);
    assert_eq!(generic, bands);
    assert!(!bands.relative, "training calibrates absolute points");
    assert_eq!(
        plan(RoutingMode::Balanced, SEED).band,
        Some(calibrated.balanced)
    );
    assert_eq!(plan(RoutingMode::Cost, SEED).band, Some(calibrated.cost));
    assert_eq!(plan(RoutingMode::Quality, SEED).band, Some(0.0));
    assert_eq!(router.estimator().name(), "trained");
}

#[test]
fn explicit_bands_win_over_calibrated_ones() {
    let wide = Bands::new(0.5, 0.9).unwrap();
    let router = LocalRouter::trained(Arc::clone(&TRAINED)).with_bands(wide);
    let plan = router
        .route(&RouteContext::new(&req(PROOF), &default_pool()))
        .unwrap();
    assert_eq!(plan.band, Some(0.5));
    // Half the best quality admits everyone, so the cheapest model wins.
    assert_eq!(plan.primary().unwrap().deployment, "gpt-4.1-nano");
}

#[derive(Debug)]
struct Offers(Option<Bands>);

impl QualityEstimator for Offers {
    fn name(&self) -> &str {
        "offers"
    }
    fn estimate(&self, _: &PromptView<'_>, candidates: &[&Deployment], out: &mut Vec<f64>) {
        out.extend(
            candidates
                .iter()
                .map(|d| if d.name == "cheap" { 0.80 } else { 0.90 }),
        );
    }
    fn calibrated_bands(&self, _: &[&Deployment]) -> Option<Bands> {
        self.0
    }
}

#[test]
fn any_estimator_may_offer_bands_and_invalid_ones_fall_back_to_defaults() {
    let pool = Pool::new([
        super::priced("cheap", 0.1, 0.4, 0.5),
        super::priced("dear", 5.0, 20.0, 0.9),
    ]);
    let route = |offer: Option<Bands>| {
        LocalRouter::new(Offers(offer))
            .route(&RouteContext::new(&req("x"), &pool))
            .unwrap()
    };
    let wide = Bands::new(0.2, 0.3).unwrap().absolute();
    let p = route(Some(wide));
    assert_eq!(
        (p.band, p.primary().unwrap().deployment.as_str()),
        (Some(0.2), "cheap")
    );
    let broken = Bands {
        balanced: f64::NAN,
        cost: 2.0,
        relative: false,
    };
    for offer in [None, Some(broken)] {
        let p = route(offer);
        assert_eq!(p.band, Some(Bands::default().balanced));
        assert_eq!(p.primary().unwrap().deployment, "dear");
    }
}

#[test]
fn balanced_sends_easy_prompts_to_cheap_models() {
    assert_eq!(pick(RoutingMode::Balanced, TWO_PLUS_TWO), "gpt-4.1-nano");
    let seed = pick(RoutingMode::Balanced, SEED);
    assert!(CHEAP.contains(&seed.as_str()), "seed prompt went to {seed}");
}

#[test]
fn balanced_sends_proofs_and_coding_tasks_to_strong_models() {
    for text in [PROOF, CODING] {
        let p = plan(RoutingMode::Balanced, text);
        let chosen = &p.primary().unwrap().deployment;
        assert!(STRONG.contains(&chosen.as_str()), "{chosen} for {text:.40}");
        // The strong pick costs more than the easy prompts' picks: the router pays for it.
        assert!(cost_of(&p, chosen) > 2.0 * cost_of(&p, "gpt-4.1-nano"));
    }
}

#[test]
fn quality_takes_the_best_prediction_everywhere() {
    for text in [TWO_PLUS_TWO, SEED, PROOF, CODING] {
        let p = plan(RoutingMode::Quality, text);
        let best = p
            .candidates
            .iter()
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .unwrap();
        assert_eq!(p.primary().unwrap().deployment, best.deployment);
        assert_eq!(best.deployment, "gpt-5.2", "{text:.40}");
    }
}

#[test]
fn cost_takes_the_cheapest_candidate_in_its_wider_band() {
    assert_eq!(pick(RoutingMode::Cost, TWO_PLUS_TWO), "gpt-4.1-nano");
    for text in [TWO_PLUS_TWO, SEED, PROOF, CODING] {
        let cost = plan(RoutingMode::Cost, text);
        let balanced = plan(RoutingMode::Balanced, text);
        let chosen = &cost.primary().unwrap().deployment;
        let cheapest_in_band = cost
            .candidates
            .iter()
            .filter(|c| c.eligible)
            .min_by(|a, b| {
                a.cost_estimate
                    .unwrap()
                    .total_cmp(&b.cost_estimate.unwrap())
            })
            .unwrap();
        assert_eq!(chosen, &cheapest_in_band.deployment);
        let b = &balanced.primary().unwrap().deployment;
        assert!(
            cost_of(&cost, chosen) <= cost_of(&balanced, b),
            "{text:.40}"
        );
    }
}
