//! Deterministic, clearly-marked emulated answers that reuse the prompt's key terms.
//!
//! The text starts `[emulated <model>] ` and then one sentence built from the prompt's most
//! specific words (stop words and instruction verbs removed), picked from a few templates by a
//! hash of prompt and deployment. The same prompt to the same deployment always gets the same
//! answer; different deployments word it differently, as real models would.

use super::tokens::{fnv_start, fnv1a};

/// Words that carry no topic: articles, pronouns, and instruction verbs such as "explain".
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "briefly",
    "by",
    "can",
    "could",
    "describe",
    "do",
    "does",
    "explain",
    "for",
    "from",
    "give",
    "how",
    "i",
    "in",
    "is",
    "it",
    "its",
    "me",
    "my",
    "of",
    "on",
    "one",
    "or",
    "please",
    "sentence",
    "sentences",
    "short",
    "should",
    "summarize",
    "tell",
    "that",
    "the",
    "this",
    "to",
    "us",
    "using",
    "was",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "write",
    "you",
    "your",
    "word",
    "words",
    "simple",
    "terms",
];

const TEMPLATES: &[&str] = &[
    "In short, {topic} works by combining {a} with {b}, so the result stays grounded and specific.",
    "{Topic} is best understood as {a} guided by {b}; this emulated reply stands in for a real model's answer.",
    "It comes down to {topic}: {a} first, then {b}, which keeps the answer relevant to the question.",
    "Put simply, {topic} connects {a} and {b} to produce a focused, useful response.",
    "{Topic} means using {a} together with {b}, a common pattern in practice.",
];

/// The answer text for `prompt` from deployment `model`.
pub(crate) fn answer(model: &str, prompt: &str) -> String {
    let seed = fnv1a(fnv1a(fnv_start(), model.as_bytes()), prompt.as_bytes());
    let terms = key_terms(prompt);
    let topic = match terms.len() {
        0 => "your question".to_owned(),
        1 => terms[0].clone(),
        _ => format!("{} {}", terms[0], terms[1]),
    };
    let a = terms.get(2).cloned().unwrap_or_else(|| {
        pick(
            seed >> 8,
            &["careful analysis", "relevant context", "known facts"],
        )
        .to_owned()
    });
    let b = terms.get(3).cloned().unwrap_or_else(|| {
        pick(
            seed >> 16,
            &["clear reasoning", "concise wording", "the request's intent"],
        )
        .to_owned()
    });
    let template = pick(seed, TEMPLATES);
    let body = template
        .replace("{topic}", &topic)
        .replace("{Topic}", &capitalize(&topic))
        .replace("{a}", &a)
        .replace("{b}", &b);
    format!("[emulated {model}] {body}")
}

fn pick<'a>(seed: u64, options: &[&'a str]) -> &'a str {
    options[(seed % options.len() as u64) as usize]
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Words longer than this are blobs (base64, hashes, runs of one letter), not topics; echoing
/// one would make the answer, and its paced generation time, grow with the prompt.
const MAX_TERM_BYTES: usize = 40;

/// Up to four distinct topic words, in prompt order, lowercased unless they look like names.
fn key_terms(prompt: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(4);
    for raw in prompt.split_whitespace() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
        if word.len() < 3
            || word.len() > MAX_TERM_BYTES
            || STOP_WORDS.contains(&word.to_ascii_lowercase().as_str())
        {
            continue;
        }
        let keep_case = word.chars().skip(1).any(char::is_uppercase)
            || word.chars().any(|c| c.is_ascii_digit());
        let term = if keep_case {
            word.to_owned()
        } else {
            word.to_lowercase()
        };
        if !out.iter().any(|t| t.eq_ignore_ascii_case(&term)) {
            out.push(term);
            if out.len() == 4 {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_marked_and_on_topic() {
        let p = "Explain retrieval-augmented generation in one sentence.";
        let a = answer("gpt-5-mini", p);
        assert_eq!(a, answer("gpt-5-mini", p));
        assert!(a.starts_with("[emulated gpt-5-mini] "), "{a}");
        assert!(
            a.to_lowercase().contains("retrieval-augmented generation"),
            "{a}"
        );
    }

    #[test]
    fn empty_prompt_still_reads_well() {
        let a = answer("m", "");
        assert!(a.contains("your question"), "{a}");
    }

    #[test]
    fn key_terms_skip_stop_words_and_keep_names() {
        assert_eq!(
            key_terms("What is the capital of France, and why Paris?"),
            vec!["capital", "france", "paris"]
        );
        assert_eq!(
            key_terms("Compare GPT-5 with gRPC"),
            vec!["compare", "GPT-5", "gRPC"]
        );
    }

    #[test]
    fn a_blob_is_not_a_topic() {
        let blob = "x".repeat(10_000);
        let a = answer("m", &format!("Summarise {blob} briefly"));
        assert!(a.len() < 200, "{} bytes", a.len());
        assert!(a.contains("summarise"), "{a}");
    }
}
