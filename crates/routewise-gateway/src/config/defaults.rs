//! The embedded default pool: what `routewise serve` serves with no config file.
//!
//! Prices are USD per 1M input/output tokens:
//! - gpt-4.1-nano 0.10/0.40, gpt-4.1-mini 0.40/1.60, gpt-5-mini 0.25/2.00: RouterArena's cost
//!   table (`data/prices/routerarena-cost.json` in the shared research data), which matches
//!   OpenAI's list prices.
//! - gpt-5.2 1.75/14.00: OpenAI's API pricing page for GPT-5.2 (Dec 2025).
//! - grok-4-fast-reasoning 0.20/0.50: xAI's model page (prompts under 128k tokens).
//! - Deepseek-V3.2 0.28/0.42: DeepSeek's API pricing page (cache-miss input), V3.2 (Sep 2025).
//!
//! Capability profiles are rough 0..1 readings of the vendors' published benchmark tables
//! (MMLU-class for `general`, GPQA for `reasoning`, AIME for `math`, SWE-bench/HumanEval-class for
//! `coding`); they only steer the emulated pool's router. Emulated latencies are chosen so the
//! seed's compare table looks like the real one (0.4-1.2 s per short answer).

use std::time::Duration;

use routewise_strategy::{CapabilityProfile, Deployment, Price};

use super::{
    AccessControl, Config, DeploymentConfig, EmulatorSettings, RouterConfig, RouterMode,
    ServerSettings, UpstreamConfig,
};

struct Entry {
    name: &'static str,
    price: (f64, f64),
    skills: (f64, f64, f64, f64),
    context_window: u32,
    reasoning: bool,
    ttft_ms: u64,
    tokens_per_second: f64,
}

const POOL: [Entry; 6] = [
    Entry {
        name: "gpt-4.1-nano",
        price: (0.10, 0.40),
        skills: (0.80, 0.50, 0.30, 0.55),
        context_window: 1_047_576,
        reasoning: false,
        ttft_ms: 250,
        tokens_per_second: 180.0,
    },
    Entry {
        name: "gpt-4.1-mini",
        price: (0.40, 1.60),
        skills: (0.87, 0.65, 0.50, 0.70),
        context_window: 1_047_576,
        reasoning: false,
        ttft_ms: 300,
        tokens_per_second: 120.0,
    },
    Entry {
        name: "gpt-5-mini",
        price: (0.25, 2.00),
        skills: (0.90, 0.82, 0.91, 0.80),
        context_window: 400_000,
        reasoning: true,
        ttft_ms: 450,
        tokens_per_second: 110.0,
    },
    Entry {
        name: "gpt-5.2",
        price: (1.75, 14.00),
        skills: (0.93, 0.92, 0.98, 0.85),
        context_window: 400_000,
        reasoning: true,
        ttft_ms: 550,
        tokens_per_second: 90.0,
    },
    Entry {
        name: "grok-4-fast-reasoning",
        price: (0.20, 0.50),
        skills: (0.88, 0.85, 0.92, 0.75),
        context_window: 2_000_000,
        reasoning: true,
        ttft_ms: 400,
        tokens_per_second: 150.0,
    },
    Entry {
        name: "Deepseek-V3.2",
        price: (0.28, 0.42),
        skills: (0.88, 0.82, 0.93, 0.73),
        context_window: 128_000,
        reasoning: false,
        ttft_ms: 800,
        tokens_per_second: 45.0,
    },
];

pub(super) fn default_pool() -> Config {
    let deployments: Vec<DeploymentConfig> = POOL
        .iter()
        .map(|e| {
            let (g, r, m, c) = e.skills;
            let profile = CapabilityProfile::uniform(0.0)
                .with_skills(g, r, m, c)
                .with_context_window(e.context_window)
                .with_reasoning_model(e.reasoning);
            let deployment = Deployment::new(e.name)
                .with_price(Price::new(e.price.0, e.price.1))
                .with_region("local")
                .with_profile(profile);
            let emulator = EmulatorSettings {
                ttft: Duration::from_millis(e.ttft_ms),
                tokens_per_second: e.tokens_per_second,
                ..EmulatorSettings::default()
            };
            DeploymentConfig {
                deployment,
                upstream: UpstreamConfig::Emulator(emulator),
                upstream_model: e.name.to_owned(),
            }
        })
        .collect();
    let router = RouterConfig {
        name: "model-router".into(),
        mode: RouterMode::Balanced,
        models: deployments
            .iter()
            .map(|d| d.deployment.name.clone())
            .collect(),
    };
    Config {
        origin: "<embedded default pool>".into(),
        server: ServerSettings::default(),
        access: AccessControl::Off,
        deployments,
        routers: vec![router],
    }
}
