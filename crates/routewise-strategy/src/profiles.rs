//! Prices and capability profiles for the default pool, copied into the code so a fresh
//! clone needs no data files.
//!
//! # Prices (USD per 1M tokens, input / output; public list prices, standard tier, no caching)
//! | model | price | source |
//! |---|---|---|
//! | gpt-4.1-nano | 0.10 / 0.40 | OpenAI pricing; RouterArena `model_cost/cost.json` (@4714a9ad) |
//! | gpt-4.1-mini | 0.40 / 1.60 | OpenAI pricing; RouterArena `model_cost/cost.json` (@4714a9ad) |
//! | gpt-5-mini | 0.25 / 2.00 | OpenAI pricing; RouterArena `model_cost/cost.json` (@4714a9ad) |
//! | gpt-5.2 | 1.75 / 14.00 | OpenAI pricing page (gpt-5.2, Dec 2025) |
//! | grok-4-fast-reasoning | 0.20 / 0.50 | xAI models & pricing page (≤128k context tier) |
//! | DeepSeek-V3.2 | 0.28 / 0.42 | DeepSeek API "Models & Pricing" (cache-miss input) |
//!
//! Azure's own meters can differ per region and SKU; override with [`Deployment::with_price`].
//!
//! # Capability profiles
//! Skills are on a 0..1 scale, rounded to 0.05, read from publicly reported scores:
//! `general` ≈ MMLU / MMLU-Pro, `reasoning` ≈ GPQA-Diamond, `math` ≈ MATH / AIME-2025,
//! `coding` ≈ HumanEval / LiveCodeBench, as published by the vendors (OpenAI GPT-4.1 and
//! GPT-5 announcements, xAI Grok 4 Fast model card, DeepSeek-V3.2 report) and Artificial
//! Analysis. They are coarse priors, not measurements. The default pool's deployments carry
//! them as their [`CapabilityProfile`]s, so both estimators route that pool by them: the
//! [`HeuristicEstimator`](crate::HeuristicEstimator) directly, and the trained estimator by
//! mapping its per-prompt predictions onto them (a deployment's own profile wins over the
//! trained estimator's table of cited figures, `learned::profiles::KNOWN_PROFILES`, which
//! serves deployments configured without one). Coding and maths here follow harder
//! benchmarks' order than HumanEval and MATH, which are saturated near the top: nano is the
//! pool's weakest coder.

use crate::pool::{CapabilityProfile, Deployment, Pool, Price};

/// One row of the built-in table.
struct Known {
    name: &'static str,
    price: Price,
    skills: [f64; 4],
    context_window: u32,
    reasoning_model: bool,
}

const KNOWN: [Known; 6] = [
    Known {
        name: "gpt-4.1-nano",
        price: Price::new(0.10, 0.40),
        skills: [0.80, 0.50, 0.55, 0.65],
        context_window: 1_047_576,
        reasoning_model: false,
    },
    Known {
        name: "gpt-4.1-mini",
        price: Price::new(0.40, 1.60),
        skills: [0.85, 0.65, 0.75, 0.80],
        context_window: 1_047_576,
        reasoning_model: false,
    },
    Known {
        name: "gpt-5-mini",
        price: Price::new(0.25, 2.00),
        skills: [0.90, 0.80, 0.90, 0.85],
        context_window: 400_000,
        reasoning_model: true,
    },
    Known {
        name: "gpt-5.2",
        price: Price::new(1.75, 14.00),
        skills: [0.95, 0.90, 0.95, 0.95],
        context_window: 400_000,
        reasoning_model: true,
    },
    Known {
        name: "grok-4-fast-reasoning",
        price: Price::new(0.20, 0.50),
        skills: [0.85, 0.85, 0.90, 0.80],
        context_window: 2_000_000,
        reasoning_model: true,
    },
    // Reported V3.2 scores are thinking-mode; Foundry serves it non-thinking by default, so
    // reasoning and maths are discounted by one step.
    Known {
        name: "DeepSeek-V3.2",
        price: Price::new(0.28, 0.42),
        skills: [0.85, 0.75, 0.85, 0.80],
        context_window: 128_000,
        reasoning_model: false,
    },
];

/// The model names of the default pool.
pub const DEFAULT_MODELS: [&str; 6] = [
    "gpt-4.1-nano",
    "gpt-4.1-mini",
    "gpt-5-mini",
    "gpt-5.2",
    "grok-4-fast-reasoning",
    "DeepSeek-V3.2",
];

/// The built-in price and profile for a model (case-insensitive name), if known.
///
/// ```
/// use routewise_strategy::known_model;
///
/// let (price, profile) = known_model("gpt-4.1-nano").unwrap();
/// assert_eq!((price.input_per_1m, price.output_per_1m), (0.10, 0.40));
/// assert!(!profile.reasoning_model);
/// assert!(known_model("gpt-5-mini").unwrap().1.reasoning_model);
/// ```
pub fn known_model(model: &str) -> Option<(Price, CapabilityProfile)> {
    KNOWN
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(model))
        .map(|k| {
            let [general, reasoning, math, coding] = k.skills;
            let profile = CapabilityProfile::uniform(0.0)
                .with_skills(general, reasoning, math, coding)
                .with_context_window(k.context_window)
                .with_reasoning_model(k.reasoning_model);
            (k.price, profile)
        })
}

/// A deployment of a known model named after it, with its price and profile.
pub fn known_deployment(model: &str) -> Option<Deployment> {
    let (price, profile) = known_model(model)?;
    let name = KNOWN
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(model))
        .map_or(model, |k| k.name);
    Some(
        Deployment::new(name)
            .with_price(price)
            .with_profile(profile),
    )
}

/// The default pool's deployments, each named after its model.
pub fn default_deployments() -> Vec<Deployment> {
    DEFAULT_MODELS
        .iter()
        .filter_map(|m| known_deployment(m))
        .collect()
}

/// The default pool (see [`default_deployments`]).
///
/// ```
/// let pool = routewise_strategy::default_pool();
/// assert_eq!(pool.len(), 6);
/// assert!(pool.get("gpt-5.2").unwrap().is_reasoning_model());
/// ```
pub fn default_pool() -> Pool {
    Pool::new(default_deployments())
}
