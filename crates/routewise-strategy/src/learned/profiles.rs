//! Capability profiles for models without a trained head, and the reference pair they are
//! mapped through.
//!
//! Skills are public benchmark accuracies as fractions: `general` = MMLU, `reasoning` =
//! GPQA Diamond, `math` = MATH, `coding` = HumanEval. Sources and caveats are in
//! `assets/MODEL_CARD.md`; figures marked there as estimates are not vendor-reported.

use serde::{Deserialize, Serialize};

use super::features::TaskSignals;
use crate::CapabilityProfile;

/// The four skills of a [`CapabilityProfile`], serialisable for artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Skills {
    /// MMLU accuracy.
    pub general: f64,
    /// GPQA Diamond accuracy.
    pub reasoning: f64,
    /// MATH accuracy.
    pub math: f64,
    /// HumanEval pass@1.
    pub coding: f64,
}

impl Skills {
    /// The skills of a capability profile.
    pub fn of(p: &CapabilityProfile) -> Self {
        Self {
            general: p.general,
            reasoning: p.reasoning,
            math: p.math,
            coding: p.coding,
        }
    }

    /// The skill a prompt with these signals calls for: a signal-weighted mean in which
    /// general knowledge always keeps weight 1.
    pub fn weighted(&self, s: &TaskSignals) -> f64 {
        let reasoning = s.reasoning + 0.5 * s.extraction;
        let total = 1.0 + reasoning + s.math + s.code;
        (self.general + reasoning * self.reasoning + s.math * self.math + s.code * self.coding)
            / total
    }
}

/// A row of the built-in profile table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownProfile {
    /// Model id (lower-case prefix match on the deployment's `model`).
    pub model: &'static str,
    /// Its skills.
    pub skills: Skills,
    /// Context window in tokens.
    pub context_window: u32,
    /// Whether it is a reasoning model.
    pub reasoning_model: bool,
}

const fn known(
    model: &'static str,
    general: f64,
    reasoning: f64,
    math: f64,
    coding: f64,
    context_window: u32,
    reasoning_model: bool,
) -> KnownProfile {
    KnownProfile {
        model,
        skills: Skills {
            general,
            reasoning,
            math,
            coding,
        },
        context_window,
        reasoning_model,
    }
}

/// Built-in profiles: the reference pair of the RouteLLM data and the default pool.
/// Longer ids come first so that prefix matching picks the most specific row.
pub const KNOWN_PROFILES: &[KnownProfile] = &[
    known(
        "gpt-4-1106-preview",
        0.847,
        0.425,
        0.643,
        0.837,
        128_000,
        false,
    ),
    known(
        "mistralai/mixtral-8x7b-instruct-v0.1",
        0.706,
        0.290,
        0.284,
        0.402,
        32_000,
        false,
    ),
    known("gpt-4.1-nano", 0.801, 0.503, 0.700, 0.850, 1_047_576, false),
    known("gpt-4.1-mini", 0.875, 0.650, 0.850, 0.900, 1_047_576, false),
    known("gpt-4.1", 0.902, 0.663, 0.880, 0.920, 1_047_576, false),
    known("gpt-5-mini", 0.900, 0.823, 0.950, 0.930, 400_000, true),
    known("gpt-5.2", 0.930, 0.924, 0.980, 0.960, 400_000, true),
    known("gpt-5", 0.925, 0.857, 0.970, 0.950, 400_000, true),
    known(
        "grok-4-fast-reasoning",
        0.900,
        0.857,
        0.950,
        0.920,
        2_000_000,
        true,
    ),
    known("deepseek-v3.2", 0.890, 0.824, 0.950, 0.920, 128_000, false),
];

/// The built-in profile for `model` (case-insensitive prefix match), if any.
pub fn builtin(model: &str) -> Option<&'static KnownProfile> {
    let lower = model.to_ascii_lowercase();
    let bare = lower.rsplit('/').next().unwrap_or(&lower);
    KNOWN_PROFILES
        .iter()
        .filter(|k| lower.starts_with(k.model) || bare.starts_with(k.model))
        .max_by_key(|k| k.model.len())
}

/// The built-in profile as a [`CapabilityProfile`].
pub fn builtin_profile(model: &str) -> Option<CapabilityProfile> {
    builtin(model).map(|k| {
        CapabilityProfile::uniform(0.0)
            .with_skills(
                k.skills.general,
                k.skills.reasoning,
                k.skills.math,
                k.skills.coding,
            )
            .with_context_window(k.context_window)
            .with_reasoning_model(k.reasoning_model)
    })
}

/// The pair of trained heads through which profiles are scored, with their skills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePair {
    /// Model id of the strong head.
    pub strong: String,
    /// Model id of the weak head.
    pub weak: String,
    /// Skills of the strong model.
    pub strong_skills: Skills,
    /// Skills of the weak model.
    pub weak_skills: Skills,
}

/// Limits on the per-prompt discrimination (logit per skill point) of the mapping.
const MIN_DISCRIMINATION: f64 = 2.0;
const MAX_DISCRIMINATION: f64 = 40.0;

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl ReferencePair {
    /// Scores a model of `skills` on a prompt for which the strong and weak heads predict
    /// `p_strong` and `p_weak`.
    ///
    /// Per prompt this fits a two-parameter item-response model,
    /// `P(correct) = sigmoid(a · (skill − d))`, through the two reference points
    /// (skill measured with the prompt's task-signal weights), then reads it at the
    /// candidate's skill. The discrimination `a` is kept positive, so a more capable
    /// profile never scores lower, and bounded, so extrapolation stays tame. A hard prompt
    /// (large predicted gap) spreads the candidates apart; an easy one pulls them together.
    pub fn score(&self, p_strong: f64, p_weak: f64, signals: &TaskSignals, skills: &Skills) -> f64 {
        let ss = self.strong_skills.weighted(signals);
        let sw = self.weak_skills.weighted(signals);
        let (ls, lw) = (logit(p_strong), logit(p_weak));
        let span = (ss - sw).max(1e-3);
        let a = ((ls - lw) / span).clamp(MIN_DISCRIMINATION, MAX_DISCRIMINATION);
        let mid_skill = 0.5 * (ss + sw);
        let mid_logit = 0.5 * (ls + lw);
        let s = skills.weighted(signals);
        sigmoid(mid_logit + a * (s - mid_skill))
    }
}
