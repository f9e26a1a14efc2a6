//! The question of a prompt: its last paragraph(s), without the template lines that a
//! few-shot prompt repeats in every example.
//!
//! Five-shot prompts (RouterBench's ARC and Winogrande) share a long head of worked
//! examples; what differs between two such prompts is the final question. Both the hashed
//! n-grams and the embedding therefore look at this segment separately, so the shared head
//! does not drown the per-item signal. A prompt with no blank line is its own question.

/// A final paragraph shorter than this (bytes) takes the one before it too ("Answer:").
const MIN_QUESTION_BYTES: usize = 64;

/// Question lines compared against the head for template repeats.
const MAX_CHECKED_LINES: usize = 16;

/// The byte offset where the question segment of `text` starts.
fn question_start(text: &str) -> usize {
    let mut start = text.len();
    let body = text.trim_end();
    let mut end = body.len();
    while end > 0 {
        let at = body[..end].rfind("\n\n").map_or(0, |p| p + 2);
        start = at;
        if body[at..].trim().len() >= MIN_QUESTION_BYTES || at == 0 {
            break;
        }
        end = at.saturating_sub(2);
    }
    start.min(text.len())
}

/// When `text` has a head before its question segment (several paragraphs), calls `f` on
/// each line of the question that does not also occur (trimmed, whole) in the head: lines
/// a few-shot template repeats in every example carry no per-item signal (when every line
/// is such a repeat, all are kept) and returns true. A single-paragraph prompt is its own
/// question: `f` is not called and the result is false.
pub(crate) fn for_each_question_line(text: &str, mut f: impl FnMut(&str)) -> bool {
    let start = question_start(text);
    let (head, question) = text.split_at(start);
    if head.trim().is_empty() {
        return false;
    }
    // Only the first lines are checked, which bounds the work on huge prompts.
    let repeated = |(n, line): &(usize, &str)| {
        let l = line.trim();
        *n < MAX_CHECKED_LINES && head.lines().any(|h| h.trim() == l)
    };
    let lines = || {
        question
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
    };
    if lines().all(|l| repeated(&l)) {
        lines().for_each(|(_, l)| f(l));
    } else {
        lines().filter(|l| !repeated(l)).for_each(|(_, l)| f(l));
    }
    true
}

/// The question segment of `text` as one string (lines joined by `\n`) in `buf`, or `text`
/// itself when it has no shared head.
pub(crate) fn question_text<'a>(text: &'a str, buf: &'a mut String) -> &'a str {
    buf.clear();
    let split = for_each_question_line(text, |l| {
        if !buf.is_empty() {
            buf.push('\n');
        }
        buf.push_str(l.trim());
    });
    if split { buf.as_str() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_shot_prompt_keeps_the_last_question_without_template_lines() {
        let p = "Q: two plus two?\nPrint one letter.\nAnswer:\nB\n\n\
                 Q: what colour is the sky on a clear day at noon?\nA) red\nB) blue\n\
                 Print one letter.\nAnswer:";
        let mut buf = String::new();
        let q = question_text(p, &mut buf);
        assert_eq!(
            q,
            "Q: what colour is the sky on a clear day at noon?\nA) red\nB) blue"
        );
    }

    #[test]
    fn short_last_paragraph_takes_the_previous_one() {
        let p = "Example one.\n\nA question that is long enough to count as the question itself.\n\nAnswer:";
        let mut buf = String::new();
        let q = question_text(p, &mut buf);
        assert!(q.starts_with("A question") && q.ends_with("Answer:"), "{q}");
    }

    #[test]
    fn single_paragraph_is_its_own_question() {
        let mut buf = String::new();
        assert_eq!(
            question_text("What is 2+2?\nAnswer:", &mut buf),
            "What is 2+2?\nAnswer:"
        );
        assert_eq!(question_text("", &mut buf), "");
    }
}
