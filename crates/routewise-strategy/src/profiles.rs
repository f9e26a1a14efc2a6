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
//! One table serves every estimator:
//! [`learned::profiles::KNOWN_PROFILES`](crate::learned::profiles::KNOWN_PROFILES), whose
//! figures are public benchmark accuracies (`general` = MMLU, `reasoning` = GPQA Diamond,
//! `math` = MATH, `coding` = HumanEval), each cited, or marked as an estimate, in the router's
//! model card (`assets/MODEL_CARD.md`). The [`HeuristicEstimator`](crate::HeuristicEstimator)
//! reads them as priors. The trained estimator maps its per-prompt predictions onto them for
//! models it has no head for, which is every default-pool model.

use crate::learned::profiles::builtin_profile;
use crate::pool::{CapabilityProfile, Deployment, Pool, Price};

/// One row of the price table. Skills, context windows and the reasoning flag come from the
/// one capability table, [`KNOWN_PROFILES`](crate::learned::profiles::KNOWN_PROFILES), so the
/// heuristic and the trained estimator see the same figures.
struct Known {
    name: &'static str,
    price: Price,
}

const KNOWN: [Known; 6] = [
    Known {
        name: "gpt-4.1-nano",
        price: Price::new(0.10, 0.40),
    },
    Known {
        name: "gpt-4.1-mini",
        price: Price::new(0.40, 1.60),
    },
    Known {
        name: "gpt-5-mini",
        price: Price::new(0.25, 2.00),
    },
    Known {
        name: "gpt-5.2",
        price: Price::new(1.75, 14.00),
    },
    Known {
        name: "grok-4-fast-reasoning",
        price: Price::new(0.20, 0.50),
    },
    Known {
        name: "DeepSeek-V3.2",
        price: Price::new(0.28, 0.42),
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
        .and_then(|k| Some((k.price, builtin_profile(k.name)?)))
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
