//! `HeuristicEstimator`: the documented default quality estimator, from prompt features
//! and capability profiles.

use crate::estimator::{PromptView, QualityEstimator};
use crate::pool::{CapabilityProfile, Deployment};
use crate::profiles::known_model;

/// Characters per token, the usual rule of thumb for English text and code.
pub const CHARS_PER_TOKEN: f64 = 4.0;
/// Only the first this-many bytes of each text are scanned for cue words; length still counts all.
const SCAN_LIMIT: usize = 8 * 1024;

const CODE_CUES: [&str; 16] = [
    "```",
    "fn ",
    "def ",
    "class ",
    "import ",
    "#include",
    "return ",
    "console.log",
    "select ",
    "=>",
    "();",
    "function",
    "compile",
    "stack trace",
    "regex",
    "refactor",
];
const MATH_CUES: [&str; 14] = [
    "solve",
    "equation",
    "integral",
    "derivative",
    "prove",
    "probability",
    "calculate",
    "compute",
    "\\frac",
    "how many",
    "sum of",
    "theorem",
    "matrix",
    "modulo",
];
const REASONING_CUES: [&str; 12] = [
    "step by step",
    "why",
    "explain",
    "analy",
    "compare",
    "trade-off",
    "design",
    "plan",
    "justify",
    "evaluate",
    "pros and cons",
    "reason",
];
/// Asking for a short answer makes a prompt easier: any capable model can define a term in
/// one sentence, and the cheap ones do it as well as the frontier ones.
const BREVITY_CUES: [&str; 10] = [
    "one sentence",
    "a sentence",
    "one word",
    "one line",
    "briefly",
    "in short",
    "short answer",
    "tl;dr",
    "yes or no",
    "few words",
];

/// Cheap features of a prompt, each on a 0..1 scale except `tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct PromptFeatures {
    /// Estimated prompt tokens (instructions plus every user turn), at [`CHARS_PER_TOKEN`].
    pub tokens: f64,
    /// Length on a log scale: 0 for empty, 1 from about 8k tokens.
    pub length: f64,
    /// Code cues (fences, keywords, symbol density).
    pub code: f64,
    /// Mathematics cues (words, operators, digit density).
    pub math: f64,
    /// Multi-step reasoning cues ("step by step", "explain", "compare", ...).
    pub reasoning: f64,
    /// Conversation depth: 0 for a single turn, 1 from about six earlier items.
    pub multi_turn: f64,
    /// Tools offered: 0 for none, 1 from four tools.
    pub tools: f64,
    /// Requests for a short answer ("in one sentence", "briefly", ...).
    pub brevity: f64,
}

impl PromptFeatures {
    /// Extracts the features. Allocates one lowercase copy of at most 8 KiB of text.
    pub fn extract(prompt: &PromptView<'_>) -> Self {
        let chars: usize = prompt.instructions.map_or(0, str::len)
            + prompt.user_turns.iter().map(|t| t.len()).sum::<usize>();
        let tokens = chars as f64 / CHARS_PER_TOKEN;
        let length = ((1.0 + tokens).ln() / (1.0 + 8_000.0f64).ln()).min(1.0);

        let last = prompt.last_user();
        let scan = lowercase_prefix(last, SCAN_LIMIT);
        let hits = |cues: &[&str]| cues.iter().filter(|c| scan.contains(*c)).count() as f64;

        let (mut digits, mut operators, mut code_symbols) = (0usize, 0usize, 0usize);
        for b in scan.bytes() {
            match b {
                b'0'..=b'9' => digits += 1,
                b'+' | b'*' | b'/' | b'^' | b'=' | b'<' | b'>' => operators += 1,
                b'{' | b'}' | b';' | b'[' | b']' | b'_' => code_symbols += 1,
                _ => {}
            }
        }
        let len = scan.len().max(1) as f64;
        let fences = scan.matches("```").count() as f64;

        let code =
            (0.35 * fences + 0.15 * hits(&CODE_CUES) + 4.0 * code_symbols as f64 / len).min(1.0);
        let math = (0.25 * hits(&MATH_CUES) + 3.0 * (digits + operators) as f64 / len).min(1.0);
        let reasoning = (0.25 * hits(&REASONING_CUES)).min(1.0);
        let earlier_turns = prompt.user_turns.len().saturating_sub(1) + prompt.history_items;
        let multi_turn = (earlier_turns as f64 / 6.0).min(1.0);
        let tools = (prompt.tools.len() as f64 / 4.0).min(1.0);
        let brevity = hits(&BREVITY_CUES).min(1.0);
        Self {
            tokens,
            length,
            code,
            math,
            reasoning,
            multi_turn,
            tools,
            brevity,
        }
    }

    /// How hard the prompt looks, 0..1: a floor of 0.1 plus weighted features, cut by 60%
    /// when the prompt asks for a short answer.
    pub fn difficulty(&self) -> f64 {
        let raw = 0.1
            + 0.25 * self.length
            + 0.25 * self.math
            + 0.2 * self.code
            + 0.25 * self.reasoning
            + 0.1 * self.multi_turn
            + 0.1 * self.tools;
        (raw * (1.0 - 0.6 * self.brevity)).clamp(0.0, 1.0)
    }

    /// How much each skill matters for this prompt: (general, reasoning, math, coding), summing to 1.
    pub fn skill_weights(&self) -> [f64; 4] {
        let w = [
            1.0,
            // "Explain X in one sentence" needs recall, not a chain of reasoning.
            0.8 * self.reasoning * (1.0 - 0.5 * self.brevity)
                + 0.3 * self.multi_turn
                + 0.4 * self.tools,
            1.5 * self.math,
            1.5 * self.code,
        ];
        let total: f64 = w.iter().sum();
        w.map(|x| x / total)
    }
}

fn lowercase_prefix(text: &str, limit: usize) -> String {
    let mut end = text.len().min(limit);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_ascii_lowercase()
}

/// The default estimator: prompt features × capability profiles, no training needed.
///
/// For each candidate, `skill` is its profile's skills weighted by what the prompt needs
/// ([`PromptFeatures::skill_weights`]) and the predicted quality is
/// `1 − difficulty × (1 − skill)`: on easy prompts every model scores near 1 (so a
/// cost-aware mode picks a cheap one), on hard prompts the skill gaps show in full.
/// A candidate whose context window cannot hold the prompt scores 0. Candidates without a
/// profile use the built-in one for their model ([`known_model`](crate::known_model)),
/// else a uniform 0.5.
///
/// ```
/// use routewise_strategy::{default_deployments, HeuristicEstimator, PromptView, QualityEstimator};
///
/// let pool = default_deployments();
/// let candidates: Vec<_> = pool.iter().collect();
/// let mut easy = Vec::new();
/// HeuristicEstimator::new().estimate(&PromptView::from_text("Say hello."), &candidates, &mut easy);
/// let mut hard = Vec::new();
/// let proof = PromptView::from_text("Prove step by step that the sum of the first n odd numbers is n^2, then solve x^2 - 5x + 6 = 0.");
/// HeuristicEstimator::new().estimate(&proof, &candidates, &mut hard);
/// let spread = |q: &[f64]| q.iter().cloned().fold(f64::MIN, f64::max) - q.iter().cloned().fold(f64::MAX, f64::min);
/// assert!(spread(&hard) > spread(&easy));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HeuristicEstimator;

impl HeuristicEstimator {
    /// The estimator.
    pub fn new() -> Self {
        Self
    }

    /// The predicted quality of one profile for prompts with these features.
    pub fn score(features: &PromptFeatures, profile: &CapabilityProfile) -> f64 {
        if features.tokens > f64::from(profile.context_window) {
            return 0.0;
        }
        let [g, r, m, c] = features.skill_weights();
        let skill =
            g * profile.general + r * profile.reasoning + m * profile.math + c * profile.coding;
        (1.0 - features.difficulty() * (1.0 - skill.clamp(0.0, 1.0))).clamp(0.0, 1.0)
    }
}

impl QualityEstimator for HeuristicEstimator {
    fn name(&self) -> &str {
        "heuristic"
    }

    fn estimate(&self, prompt: &PromptView<'_>, candidates: &[&Deployment], out: &mut Vec<f64>) {
        let features = PromptFeatures::extract(prompt);
        out.extend(candidates.iter().map(|d| match &d.profile {
            Some(p) => Self::score(&features, p),
            None => match known_model(&d.model) {
                Some((_, p)) => Self::score(&features, &p),
                None => Self::score(&features, &CapabilityProfile::uniform(0.5)),
            },
        }));
    }
}
