//! Prompt features: hashed word and character n-grams plus hand-written cues.
//!
//! Everything is hashed into one space of `2^bits` slots with FNV-1a (stable across
//! platforms and releases, unlike `std`'s hasher), so an artifact is just weights.

use serde::{Deserialize, Serialize};

use super::embed::tail;
use super::question::for_each_question_line;
use crate::PromptView;

/// How prompts are turned into features. Stored in the artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// The feature space has `2^bits` slots.
    pub bits: u8,
    /// Word n-grams up to this order (1 = unigrams, 2 = + bigrams).
    pub word_ngrams: u8,
    /// Character n-gram length (0 = none).
    pub char_ngram: u8,
    /// Add the code/maths/extraction/length/turn cues.
    pub cues: bool,
    /// Text bytes hashed per prompt; longer prompts keep the head and the tail.
    pub max_bytes: usize,
    /// Also hash the question segment of the newest user turn (its last paragraph, without
    /// lines a few-shot template repeats) in a namespace of its own, normalised apart from
    /// the whole prompt, when the turn has several paragraphs (a few-shot head). Off in artifacts written before it existed.
    #[serde(default)]
    pub question: bool,
    /// Add number-count, sentence-count and question-length cues (word-problem
    /// difficulty). Off in artifacts written before it existed.
    #[serde(default)]
    pub count_cues: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            bits: 18,
            word_ngrams: 2,
            char_ngram: 4,
            cues: true,
            max_bytes: 6144,
            question: false,
            count_cues: false,
        }
    }
}

/// Coarse task signals read off a prompt, each 0..1. They weight capability-profile
/// skills for models that have no trained head.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TaskSignals {
    /// Code cues (fences, keywords, "write a function").
    pub code: f64,
    /// Maths cues (numbers, operators, "how many").
    pub math: f64,
    /// Multi-step reasoning cues ("explain", "prove", "step by step").
    pub reasoning: f64,
    /// Extraction cues ("extract", JSON, tables, long passages).
    pub extraction: f64,
}

/// A sparse feature vector (sorted, deduplicated slot indices).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Slot indices, ascending.
    pub idx: Vec<u32>,
    /// Values, parallel to `idx`.
    pub val: Vec<f32>,
    /// The task signals of the prompt.
    pub signals: TaskSignals,
    /// The prompt's sentence embedding (empty when no embedder runs).
    pub embedding: Vec<f32>,
    scratch: Vec<u32>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const NS_WORD: u64 = 1;
const NS_BIGRAM: u64 = 2;
const NS_CHAR: u64 = 3;
const NS_CUE: u64 = 4;
const NS_Q_WORD: u64 = 5;
const NS_Q_BIGRAM: u64 = 6;

fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn mix(a: u64, b: u64) -> u64 {
    let mut h = a ^ b.rotate_left(23).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    h.wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

impl FeatureConfig {
    fn slot(&self, h: u64) -> u32 {
        (h & ((1u64 << self.bits) - 1)) as u32
    }

    /// Fills `out` with the features of `view`, reusing its buffers.
    pub fn extract(&self, view: &PromptView<'_>, out: &mut Features) {
        out.idx.clear();
        out.val.clear();
        out.scratch.clear();
        let mut c = CueCounts::default();
        // The newest turns first, within a budget: the cost of a decision must not grow with
        // the size of the request (a million turns, or one of 30 MB). Every training prompt
        // fits the budget whole, so the features it was fitted on are unchanged.
        let mut budget = self.max_bytes * BUDGET_SEGMENTS;
        let segments = view
            .instructions
            .into_iter()
            .chain(view.user_turns.iter().rev().take(MAX_TURNS).copied());
        for text in segments {
            if budget == 0 {
                break;
            }
            let t = cap(text, self.max_bytes.min(budget));
            budget -= t.0.len() + t.1.len();
            self.hash_words(t.0, &mut out.scratch, &mut c);
            self.hash_words(t.1, &mut out.scratch, &mut c);
            self.hash_chars(t.0, &mut out.scratch);
            self.hash_chars(t.1, &mut out.scratch);
            c.bytes += text.len();
            c.scanned += t.0.len() + t.1.len();
            c.scan(t.0);
            c.scan(t.1);
        }
        push_normalised(out);
        if (self.question || self.count_cues)
            && let Some(last) = view.user_turns.last()
        {
            let mut qc = CueCounts::default();
            let ns = (NS_Q_WORD, NS_Q_BIGRAM);
            let scratch = &mut out.scratch;
            scratch.clear();
            let mut q_bytes = 0;
            let split = for_each_question_line(tail(last, self.max_bytes), |l| {
                if self.question {
                    self.hash_words_in(l, ns, scratch, &mut qc);
                }
                q_bytes += l.len();
            });
            c.question_bytes = if split { q_bytes } else { last.len() };
            if self.question {
                push_normalised(out);
            }
        }
        out.signals = c.signals();
        if self.cues {
            self.push_cues(view, &c, out);
        }
        sort_merge(out);
    }

    fn hash_words(&self, text: &str, acc: &mut Vec<u32>, c: &mut CueCounts) {
        self.hash_words_in(text, (NS_WORD, NS_BIGRAM), acc, c);
    }

    fn hash_words_in(&self, text: &str, ns: (u64, u64), acc: &mut Vec<u32>, c: &mut CueCounts) {
        let mut prev: Option<u64> = None;
        let mut word = [0u8; 32];
        let mut len = 0usize;
        let flush = |word: &[u8], prev: &mut Option<u64>, acc: &mut Vec<u32>| {
            let h = fnv(ns.0, word);
            acc.push(self.slot(h));
            if self.word_ngrams >= 2
                && let Some(p) = *prev
            {
                acc.push(self.slot(mix(p ^ ns.1, h)));
            }
            *prev = Some(h);
        };
        for &b in text.as_bytes() {
            if b.is_ascii_alphanumeric() || b >= 0x80 {
                // Digits collapse to one shape: the numbers themselves carry no routing signal.
                let b = if b.is_ascii_digit() {
                    b'0'
                } else {
                    b.to_ascii_lowercase()
                };
                if len < word.len() {
                    word[len] = b;
                    len += 1;
                }
            } else {
                if len > 0 {
                    flush(&word[..len], &mut prev, acc);
                    c.words += 1;
                    len = 0;
                }
                if !b.is_ascii_whitespace() {
                    // Punctuation is a token of its own ("?", "=", "{").
                    flush(&[b], &mut prev, acc);
                }
            }
        }
        if len > 0 {
            flush(&word[..len], &mut prev, acc);
            c.words += 1;
        }
    }

    fn hash_chars(&self, text: &str, acc: &mut Vec<u32>) {
        let n = usize::from(self.char_ngram);
        if n == 0 {
            return;
        }
        let mut win = [0u8; 16];
        let n = n.min(win.len());
        let mut filled = 0usize;
        let mut last_space = true;
        for &b in text.as_bytes() {
            let b = if b.is_ascii_whitespace() {
                if last_space {
                    continue;
                }
                last_space = true;
                b' '
            } else {
                last_space = false;
                if b.is_ascii_digit() {
                    b'0'
                } else {
                    b.to_ascii_lowercase()
                }
            };
            win.copy_within(1..n, 0);
            win[n - 1] = b;
            filled += 1;
            if filled >= n {
                acc.push(self.slot(fnv(NS_CHAR, &win[..n])));
            }
        }
    }

    fn push_cues(&self, view: &PromptView<'_>, c: &CueCounts, out: &mut Features) {
        let s = out.signals;
        let words = c.words as f64;
        let mut cue = |name: &str, v: f64| {
            if v != 0.0 {
                out.idx.push(self.slot(fnv(NS_CUE, name.as_bytes())));
                out.val.push(v as f32);
            }
        };
        cue("len_log", (1.0 + c.bytes as f64).ln() / 10.0);
        let bucket = (1.0 + words).log2().floor() as usize;
        cue(LEN_BUCKETS[bucket.min(LEN_BUCKETS.len() - 1)], 1.0);
        cue(
            "turns",
            ((view.user_turns.len().max(1) - 1) as f64).min(4.0) / 4.0,
        );
        cue("history", (view.history_items as f64).min(8.0) / 8.0);
        cue("tools", (view.tools.len() as f64).min(8.0) / 8.0);
        cue(
            "instructions",
            f64::from(u8::from(view.instructions.is_some_and(|i| !i.is_empty()))),
        );
        cue("code", s.code);
        cue("math", s.math);
        cue("reasoning", s.reasoning);
        cue("extraction", s.extraction);
        cue("choices", (c.choice_lines as f64).min(6.0) / 6.0);
        cue("questions", (c.question_marks as f64).min(5.0) / 5.0);
        cue("digit_frac", c.digits as f64 / c.scanned.max(1) as f64);
        cue("newline_frac", (c.newlines as f64 / (words + 1.0)).min(1.0));
        if self.count_cues {
            // Word problems get harder with more quantities and more steps.
            cue("numbers", (c.numbers as f64).min(16.0) / 16.0);
            cue("sentences", (c.sentences as f64).min(12.0) / 12.0);
            cue("q_len_log", (1.0 + c.question_bytes as f64).ln() / 10.0);
        }
    }
}

/// Appends `out.scratch` (hashed slots, any order) to `out` as sublinear term frequencies,
/// L2-normalised as one block so long prompts do not dominate.
fn push_normalised(out: &mut Features) {
    out.scratch.sort_unstable();
    let from = out.val.len();
    let mut norm = 0.0f32;
    let mut i = 0;
    while i < out.scratch.len() {
        let s = out.scratch[i];
        let mut j = i;
        while j < out.scratch.len() && out.scratch[j] == s {
            j += 1;
        }
        let v = 1.0 + ((j - i) as f32).ln();
        norm += v * v;
        out.idx.push(s);
        out.val.push(v);
        i = j;
    }
    if norm > 0.0 {
        let inv = norm.sqrt().recip();
        out.val[from..].iter_mut().for_each(|v| *v *= inv);
    }
}

const LEN_BUCKETS: [&str; 12] = [
    "lb0", "lb1", "lb2", "lb3", "lb4", "lb5", "lb6", "lb7", "lb8", "lb9", "lb10", "lb11",
];

fn sort_merge(out: &mut Features) {
    let mut pairs: Vec<(u32, f32)> = out
        .idx
        .iter()
        .copied()
        .zip(out.val.iter().copied())
        .collect();
    pairs.sort_unstable_by_key(|p| p.0);
    out.idx.clear();
    out.val.clear();
    for (i, v) in pairs {
        if out.idx.last() == Some(&i) {
            if let Some(last) = out.val.last_mut() {
                *last += v;
            }
        } else {
            out.idx.push(i);
            out.val.push(v);
        }
    }
}

/// Most user turns featurised (the newest).
const MAX_TURNS: usize = 16;

/// The featurised text of one prompt is at most this many times `max_bytes`.
const BUDGET_SEGMENTS: usize = 2;

/// The head and tail of `text` within `max` bytes, split on char boundaries.
fn cap(text: &str, max: usize) -> (&str, &str) {
    if text.len() <= max {
        return (text, "");
    }
    let mut head = max / 3;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - (max - head);
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    (&text[..head], &text[tail..])
}

#[derive(Debug, Default)]
struct CueCounts {
    /// The full length of the featurised segments, including what their caps left out.
    bytes: usize,
    /// The part of it the counts below come from.
    scanned: usize,
    words: usize,
    digits: usize,
    newlines: usize,
    question_marks: usize,
    choice_lines: usize,
    code: usize,
    math_ops: usize,
    math_words: usize,
    reasoning: usize,
    extraction: usize,
    numbers: usize,
    sentences: usize,
    question_bytes: usize,
}

const CODE_MARKERS: [&str; 14] = [
    "```",
    "def ",
    "return ",
    "function",
    "class ",
    "import ",
    "#include",
    "=>",
    "();",
    "python",
    "javascript",
    "sql",
    "write a program",
    "write a function",
];
const MATH_WORDS: [&str; 10] = [
    "how many",
    "how much",
    "calculate",
    "solve",
    "equation",
    "total",
    "percent",
    "probability",
    "integer",
    "sum of",
];
const REASONING_WORDS: [&str; 8] = [
    "why",
    "explain",
    "prove",
    "step by step",
    "reason",
    "justify",
    "deduce",
    "logic",
];
const EXTRACTION_WORDS: [&str; 8] = [
    "extract",
    "json",
    "table",
    "summar",
    "passage",
    "following text",
    "format",
    "list all",
];

impl CueCounts {
    /// Counts the cues of `text`; the caller counts its bytes (the text may be a capped part).
    fn scan(&mut self, text: &str) {
        let lower = text.to_ascii_lowercase();
        for line in lower.lines() {
            let l = line.trim_start().as_bytes();
            let choice = l.len() >= 2
                && (l[0].is_ascii_alphabetic() && (l[1] == b'.' || l[1] == b')'))
                && l[0].is_ascii_lowercase()
                && l[0] <= b'e';
            self.choice_lines += usize::from(choice || l.starts_with(b"("));
            self.newlines += 1;
        }
        let mut prev = b' ';
        for b in lower.bytes() {
            let was = prev;
            prev = b;
            match b {
                b'0'..=b'9' => {
                    self.digits += 1;
                    self.numbers +=
                        usize::from(!was.is_ascii_digit() && was != b'.' && was != b',');
                }
                b' ' | b'\n' if matches!(was, b'.' | b'!') => self.sentences += 1,
                b'?' => {
                    self.question_marks += 1;
                    self.sentences += 1;
                }
                b'+' | b'*' | b'/' | b'=' | b'^' | b'%' | b'$' => self.math_ops += 1,
                b'{' | b'}' | b';' => self.code += 1,
                _ => {}
            }
        }
        let count = |words: &[&str]| {
            words
                .iter()
                .map(|w| lower.matches(w).count())
                .sum::<usize>()
        };
        self.code += 3 * count(&CODE_MARKERS);
        self.math_words += count(&MATH_WORDS);
        self.reasoning += count(&REASONING_WORDS);
        self.extraction += count(&EXTRACTION_WORDS);
    }

    fn signals(&self) -> TaskSignals {
        let sat = |x: f64, half: f64| x / (x + half);
        let numbers_per_word = self.digits as f64 / (self.words as f64 + 1.0);
        TaskSignals {
            code: sat(self.code as f64, 6.0),
            math: sat(
                self.math_ops as f64 + 2.0 * self.math_words as f64 + 4.0 * numbers_per_word,
                4.0,
            ),
            reasoning: sat(self.reasoning as f64, 2.0),
            extraction: sat(self.extraction as f64, 2.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_sorted_unique_and_normalised() {
        let cfg = FeatureConfig::default();
        let mut f = Features::default();
        cfg.extract(
            &PromptView::from_text("def add(a, b): return a + b  # add add add"),
            &mut f,
        );
        assert!(f.idx.windows(2).all(|w| w[0] < w[1]));
        assert!(
            f.signals.code >= 0.5 && f.signals.code > f.signals.extraction,
            "{:?}",
            f.signals
        );
        assert!(f.idx.iter().all(|&i| i < 1 << cfg.bits));
    }

    #[test]
    fn a_huge_request_is_read_only_within_the_budget() {
        let cfg = FeatureConfig::default();
        let features = |view: &PromptView<'_>| {
            let mut f = Features::default();
            cfg.extract(view, &mut f);
            f
        };
        // A million turns cost what their newest MAX_TURNS do.
        let turns: Vec<String> = (0..1_000_000)
            .map(|i| format!("turn {i} says 2+2"))
            .collect();
        let all = PromptView {
            user_turns: turns.iter().map(String::as_str).collect(),
            ..PromptView::default()
        };
        let newest = PromptView {
            user_turns: all.user_turns[all.user_turns.len() - MAX_TURNS..].to_vec(),
            ..PromptView::default()
        };
        assert_eq!(features(&all), features(&newest));
        // In one 8 MB turn, only the capped head and tail are read: the middle can be anything.
        let (head, tail) = (
            "Solve x^2 = 4 and explain. ".repeat(200),
            "Which root is larger? ".repeat(250),
        );
        let middle = |fill: &str| fill.repeat((8 << 20) / fill.len());
        let a = format!("{head}{}{tail}", middle("a"));
        let b = format!("{head}{}{tail}", middle("9"));
        assert_eq!(a.len(), b.len());
        assert_eq!(
            features(&PromptView::from_text(&a)),
            features(&PromptView::from_text(&b))
        );
        // A prompt within the cap is read whole, as every training prompt is.
        let short = "Q: how many legs do 3 spiders have?";
        let changed = "Q: how many legs do 4 spiders have?";
        assert_ne!(
            features(&PromptView::from_text(short)).val,
            features(&PromptView::from_text(&format!("{short}{changed}"))).val
        );
    }

    #[test]
    fn question_segment_and_count_cues_add_features_only_when_on() {
        let few_shot = "Q: one plus one?\nAnswer:\nB\n\nQ: how many legs do three spiders and two \
                        ants have in total?\nAnswer:";
        let view = PromptView::from_text(few_shot);
        let (mut plain, mut with_q, mut with_c) = (
            Features::default(),
            Features::default(),
            Features::default(),
        );
        FeatureConfig::default().extract(&view, &mut plain);
        let q = FeatureConfig {
            question: true,
            ..FeatureConfig::default()
        };
        q.extract(&view, &mut with_q);
        assert!(with_q.idx.len() > plain.idx.len(), "question n-grams added");
        assert!(with_q.idx.windows(2).all(|w| w[0] < w[1]));
        // A one-paragraph prompt is its own question: nothing is added.
        let one = PromptView::from_text("How many legs do 3 spiders have?");
        q.extract(&one, &mut with_q);
        FeatureConfig::default().extract(&one, &mut plain);
        assert_eq!(with_q.idx, plain.idx);
        let c = FeatureConfig {
            count_cues: true,
            ..FeatureConfig::default()
        };
        c.extract(&one, &mut with_c);
        assert_eq!(
            with_c.idx.len(),
            plain.idx.len() + 3,
            "numbers, sentences, length"
        );
    }

    #[test]
    fn cap_keeps_head_and_tail_on_char_boundaries() {
        let s = "é".repeat(100);
        let (h, t) = cap(&s, 51);
        assert!(h.len() + t.len() <= 51);
        assert!(!h.is_empty() && !t.is_empty());
    }
}
