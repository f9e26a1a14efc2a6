//! Capability profiles for models without a trained head, and the reference pair they are
//! mapped through.
//!
//! Skills are public benchmark accuracies as fractions: `general` = MMLU, `reasoning` =
//! GPQA Diamond, `math` = MATH, `coding` = HumanEval. Sources and caveats are in
//! `assets/MODEL_CARD.md`; figures marked there as estimates are not vendor-reported. A
//! deployment's own [`CapabilityProfile`] (the default pool's come from
//! [`known_model`](crate::known_model)) wins over this table.
//!
//! [`ReferencePair::score`] maps the two trained heads' per-prompt predictions and the
//! prompt's [`TaskSignals`] onto any profile:
//! - the heads' gap between the strong and weak reference sets how far apart candidates are
//!   (none: a cheap model is as good as a frontier one, so Balanced picks it);
//! - code cues, and maths and reasoning cues together, add each candidate's benchmark
//!   error in that specialty, because the heads were never trained on code or proofs.
//!
//! With the shipped artifact and the default pool, Balanced sends "What is 2+2?" to
//! gpt-4.1-nano and a one-sentence definition to a cheap model, while a multi-step proof or a
//! coding task goes to a reasoning model (the decisions are tested in `src/tests/`).

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

/// Limits on the per-prompt discrimination (logit per skill point) of the mapping. The floor
/// only keeps the curve increasing: when the heads see no gap between the reference models
/// on a prompt, the candidates stay close too (the heads are the per-prompt evidence).
const MIN_DISCRIMINATION: f64 = 0.5;
const MAX_DISCRIMINATION: f64 = 40.0;
/// Logits per point of benchmark error in the specialty a prompt calls for
/// ([`Skills::specialist_error`]). At P = 0.5 the sigmoid's slope is 1/4, so on a prompt whose
/// cues fully call for the specialty, candidates move apart by their benchmark gap, point
/// for point; nearer the ceiling they move less.
const SPECIALIST_LOGITS: f64 = 4.0;

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Skills {
    /// The benchmark error rate a prompt with these signals exposes: the coding error
    /// (1 − HumanEval) weighted by the code cues, plus the multi-step maths error
    /// (1 − mean of MATH and GPQA) weighted by the geometric mean of the maths and reasoning
    /// cues.
    ///
    /// Maths needs both cues because bare arithmetic and grade-school word problems are
    /// saturated across current models (every default-pool model is reported above 90 % on
    /// GSM8K), while proofs and competition problems are where MATH and GPQA spread them.
    pub fn specialist_error(&self, s: &TaskSignals) -> f64 {
        let proof = (s.math * s.reasoning).max(0.0).sqrt();
        s.code * (1.0 - self.coding) + proof * (1.0 - 0.5 * (self.math + self.reasoning))
    }
}

impl ReferencePair {
    /// Scores a model of `skills` on a prompt for which the strong and weak heads predict
    /// `p_strong` and `p_weak`.
    ///
    /// Two parts:
    /// 1. **The heads' evidence.** Per prompt this fits a two-parameter item-response model,
    ///    `P(correct) = sigmoid(a · (skill − d))`, through the two reference points (skill
    ///    measured with the prompt's task-signal weights), then reads it at the candidate's
    ///    skill. The discrimination `a` is kept positive, so a more capable profile never
    ///    scores lower, and bounded, so extrapolation stays tame. A prompt on which the heads
    ///    predict a large gap spreads the candidates apart; one with no gap (the weak
    ///    reference does as well as the strong) pulls them together, so a cheap model is in
    ///    band.
    /// 2. **The specialty the cues call for.** The heads were trained on exam questions and
    ///    grade-school maths, so code and proofs are out of their domain. A candidate's logit
    ///    drops by 4 per point of [`Skills::specialist_error`] in excess of the strong
    ///    reference's (a model better than the reference gains), so on a clear coding task or
    ///    multi-step proof the benchmark gaps between candidates show.
    ///
    /// For the strong reference's own skills the score is `p_strong`.
    ///
    /// ```
    /// use routewise_strategy::learned::{ReferencePair, Skills, TaskSignals};
    /// let skills = |g, r, m, c| Skills { general: g, reasoning: r, math: m, coding: c };
    /// let pair = ReferencePair {
    ///     strong: "gpt-4-1106-preview".into(),
    ///     weak: "mixtral".into(),
    ///     strong_skills: skills(0.85, 0.43, 0.64, 0.84),
    ///     weak_skills: skills(0.71, 0.29, 0.28, 0.40),
    /// };
    /// let (cheap, frontier) = (skills(0.80, 0.50, 0.55, 0.65), skills(0.95, 0.90, 0.95, 0.95));
    /// let chat = TaskSignals::default();
    /// let proof = TaskSignals { math: 0.8, reasoning: 0.6, ..TaskSignals::default() };
    /// let gap = |p_s, p_w, s: &TaskSignals| pair.score(p_s, p_w, s, &frontier) - pair.score(p_s, p_w, s, &cheap);
    /// // Heads that see no gap keep the candidates close; a proof spreads them apart.
    /// assert!(gap(0.55, 0.53, &chat) < 0.05);
    /// assert!(gap(0.55, 0.53, &proof) > 0.2);
    /// ```
    pub fn score(&self, p_strong: f64, p_weak: f64, signals: &TaskSignals, skills: &Skills) -> f64 {
        let ss = self.strong_skills.weighted(signals);
        let sw = self.weak_skills.weighted(signals);
        let (ls, lw) = (logit(p_strong), logit(p_weak));
        let span = (ss - sw).max(1e-3);
        let a = ((ls - lw) / span).clamp(MIN_DISCRIMINATION, MAX_DISCRIMINATION);
        // Anchored at the strong reference, which is where the heads are most reliable on
        // the prompts the mapping serves (candidates are near or above it).
        let s = skills.weighted(signals);
        let specialty = SPECIALIST_LOGITS
            * (skills.specialist_error(signals) - self.strong_skills.specialist_error(signals));
        sigmoid(ls + a * (s - ss) - specialty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> ReferencePair {
        let s = |m: &str| builtin(m).unwrap().skills;
        ReferencePair {
            strong: "gpt-4-1106-preview".into(),
            weak: "mistralai/mixtral-8x7b-instruct-v0.1".into(),
            strong_skills: s("gpt-4-1106-preview"),
            weak_skills: s("mistralai/mixtral-8x7b-instruct-v0.1"),
        }
    }

    #[test]
    fn reference_skills_reproduce_the_heads_and_stronger_never_scores_lower() {
        let p = pair();
        let signals = [
            TaskSignals::default(),
            TaskSignals {
                code: 0.7,
                ..TaskSignals::default()
            },
            TaskSignals {
                math: 0.8,
                reasoning: 0.6,
                ..TaskSignals::default()
            },
        ];
        for s in &signals {
            for (ps, pw) in [(0.9, 0.6), (0.4, 0.45), (0.55, 0.5)] {
                assert!((p.score(ps, pw, s, &p.strong_skills) - ps).abs() < 1e-9);
                let mut last = 0.0;
                for step in 0..=10 {
                    let x = 0.5 + 0.05 * f64::from(step);
                    let q = p.score(
                        ps,
                        pw,
                        s,
                        &Skills {
                            general: x,
                            reasoning: x,
                            math: x,
                            coding: x,
                        },
                    );
                    assert!((0.0..=1.0).contains(&q) && q >= last, "{s:?} {ps} {pw}");
                    last = q;
                }
            }
        }
    }

    #[test]
    fn specialist_error_needs_maths_and_reasoning_together() {
        let nano = builtin("gpt-4.1-nano").unwrap().skills;
        let arithmetic = TaskSignals {
            math: 0.4,
            ..TaskSignals::default()
        };
        assert_eq!(nano.specialist_error(&arithmetic), 0.0);
        let proof = TaskSignals {
            math: 0.8,
            reasoning: 0.6,
            ..TaskSignals::default()
        };
        let frontier = builtin("gpt-5.2").unwrap().skills;
        assert!(nano.specialist_error(&proof) > 2.0 * frontier.specialist_error(&proof));
    }
}
