//! The deployments a strategy chooses between.

use std::sync::Arc;

/// USD price per one million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    /// USD per 1M input tokens.
    pub input_per_1m: f64,
    /// USD per 1M output tokens.
    pub output_per_1m: f64,
}

impl Price {
    /// A price from USD per 1M input and output tokens.
    pub const fn new(input_per_1m: f64, output_per_1m: f64) -> Self {
        Self {
            input_per_1m,
            output_per_1m,
        }
    }

    /// The cost in USD of `input` and `output` tokens.
    pub fn cost(&self, input: u64, output: u64) -> f64 {
        (input as f64 * self.input_per_1m + output as f64 * self.output_per_1m) / 1e6
    }
}

/// What a model is good at, on a 0..1 scale per skill, plus facts routing needs.
///
/// Profiles let an estimator trained on one set of models score another set:
/// the figures come from public benchmarks (see the crate's `profiles` docs).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CapabilityProfile {
    /// General knowledge and instruction following (MMLU-like), 0..1.
    pub general: f64,
    /// Multi-step reasoning, 0..1.
    pub reasoning: f64,
    /// Mathematics (GSM8K/MATH-like), 0..1.
    pub math: f64,
    /// Code generation (HumanEval/MBPP-like), 0..1.
    pub coding: f64,
    /// Largest context in tokens.
    pub context_window: u32,
    /// A reasoning model ignores `temperature` and `top_p`.
    pub reasoning_model: bool,
}

impl CapabilityProfile {
    /// A profile with every skill at `level` and a 128k context.
    pub fn uniform(level: f64) -> Self {
        Self {
            general: level,
            reasoning: level,
            math: level,
            coding: level,
            context_window: 128_000,
            reasoning_model: false,
        }
    }

    /// Sets the skills: general, reasoning, math, coding.
    pub fn with_skills(mut self, general: f64, reasoning: f64, math: f64, coding: f64) -> Self {
        self.general = general;
        self.reasoning = reasoning;
        self.math = math;
        self.coding = coding;
        self
    }

    /// Sets the context window in tokens.
    pub fn with_context_window(mut self, tokens: u32) -> Self {
        self.context_window = tokens;
        self
    }

    /// Marks the model as a reasoning model.
    pub fn with_reasoning_model(mut self, yes: bool) -> Self {
        self.reasoning_model = yes;
        self
    }
}

/// One deployment a request can be sent to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Deployment {
    /// The deployment name callers put in `model` (e.g. `gpt-4.1-mini`).
    pub name: String,
    /// The model id it serves: what routing details and metrics name, and what the emulator
    /// reports in `response.model` (a remote upstream's answer keeps its own `model`).
    pub model: String,
    /// Its price.
    pub price: Price,
    /// Region or data zone, for residency rules.
    pub region: Option<String>,
    /// Capability profile, when known.
    pub profile: Option<CapabilityProfile>,
}

impl Deployment {
    /// A deployment whose served model has the same name, with no price or profile.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            model: name.clone(),
            name,
            price: Price::default(),
            region: None,
            profile: None,
        }
    }

    /// Sets the served model id.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sets the price.
    pub fn with_price(mut self, price: Price) -> Self {
        self.price = price;
        self
    }

    /// Sets the region or data zone.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets the capability profile.
    pub fn with_profile(mut self, profile: CapabilityProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// True when the served model is a reasoning model (by profile, else by name).
    pub fn is_reasoning_model(&self) -> bool {
        match &self.profile {
            Some(p) => p.reasoning_model,
            None => looks_like_reasoning_model(&self.model),
        }
    }
}

/// Name-based guess used when a deployment has no profile: o-series, gpt-5 family
/// (but not `-chat`), and `*-reasoning` models.
pub fn looks_like_reasoning_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    let o_series = m.len() > 1 && m.starts_with('o') && m.as_bytes()[1].is_ascii_digit();
    let gpt5 = m.starts_with("gpt-5") && !m.contains("-chat");
    o_series || gpt5 || m.contains("reasoning") || m.contains("deepseek-r1")
}

/// The set of deployments a strategy routes over. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    deployments: Arc<[Deployment]>,
}

impl Pool {
    /// A pool of these deployments, in order.
    pub fn new(deployments: impl IntoIterator<Item = Deployment>) -> Self {
        Self {
            deployments: deployments.into_iter().collect(),
        }
    }

    /// All deployments.
    pub fn deployments(&self) -> &[Deployment] {
        &self.deployments
    }

    /// The deployment with this name.
    pub fn get(&self, name: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.name == name)
    }

    /// Number of deployments.
    pub fn len(&self) -> usize {
        self.deployments.len()
    }

    /// True when the pool has no deployment.
    pub fn is_empty(&self) -> bool {
        self.deployments.is_empty()
    }
}
