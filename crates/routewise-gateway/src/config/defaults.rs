//! The embedded default pool: what `routewise serve` serves with no config file.
//!
//! Prices and capability profiles come from `routewise_strategy::known_model`, which documents
//! its sources (OpenAI, xAI and DeepSeek list prices; RouterArena's cost table). Emulated
//! latencies are chosen so the seed's compare table looks like the real one (0.4-1.2 s per short
//! answer). Deployment names follow the seed page, including its `Deepseek-V3.2` spelling.

use std::time::Duration;

use routewise_strategy::{Deployment, RoutingMode, known_model};

use super::{
    AccessControl, BackgroundSettings, Config, DeploymentConfig, EmulatorSettings, EstimatorChoice,
    RateLimits, Residency, RouterConfig, ServerSettings, UpstreamConfig,
};

/// `(deployment name, time to first token in ms, tokens per second)`.
const POOL: [(&str, u64, f64); 6] = [
    ("gpt-4.1-nano", 250, 180.0),
    ("gpt-4.1-mini", 300, 120.0),
    ("gpt-5-mini", 450, 110.0),
    ("gpt-5.2", 550, 90.0),
    ("grok-4-fast-reasoning", 400, 150.0),
    ("Deepseek-V3.2", 600, 60.0),
];

pub(super) fn default_pool() -> Config {
    let deployments: Vec<DeploymentConfig> = POOL
        .iter()
        .map(|&(name, ttft_ms, tokens_per_second)| {
            let mut deployment = Deployment::new(name).with_region("local");
            if let Some((price, profile)) = known_model(name) {
                deployment = deployment.with_price(price).with_profile(profile);
            }
            let emulator = EmulatorSettings {
                ttft: Duration::from_millis(ttft_ms),
                tokens_per_second,
                ..EmulatorSettings::default()
            };
            DeploymentConfig {
                deployment,
                upstream: UpstreamConfig::Emulator(emulator),
                upstream_model: name.to_owned(),
                limits: RateLimits::default(),
                content_filter: None,
                // Emulated: no Azure deployment type, and region `local` is in no data zone.
                sku: None,
                data_zone: None,
            }
        })
        .collect();
    let router = RouterConfig {
        name: "model-router".into(),
        mode: RoutingMode::Balanced,
        models: deployments
            .iter()
            .map(|d| d.deployment.name.clone())
            .collect(),
        estimator: EstimatorChoice::Trained,
        limits: RateLimits::default(),
        content_filter: None,
        residency: Residency::default(),
    };
    Config {
        origin: "<embedded default pool>".into(),
        server: ServerSettings::default(),
        access: AccessControl::Off,
        deployments,
        routers: vec![router],
        store: None,
        limits: None,
        content_filters: Vec::new(),
        background: BackgroundSettings::default(),
    }
}
