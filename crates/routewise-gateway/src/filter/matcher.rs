//! A filter's blocklists compiled once into regexes, and the streaming scanner that holds back
//! just enough text to catch a term split across deltas.
//!
//! Terms become case-insensitive literals with word boundaries on their word-character ends
//! (`\b` is only meaningful next to a word character, so `c++` gets one at its start only);
//! every whitespace character in a term matches any one whitespace character, so a term's
//! match is exactly as long as the term. Patterns are regexes as written (case-sensitive
//! unless they say `(?i)`); a stream can only catch pattern matches up to `max_match_chars`
//! characters long, so longer ones are matched on their first `max_match_chars` characters
//! at best.

use regex::Regex;

use crate::config::Blocklist;

/// Every blocklist of one filter, compiled.
#[derive(Debug)]
pub(crate) struct Matcher {
    /// Every term and pattern of every blocklist, for the common no-match case.
    any: Regex,
    /// Each blocklist alone (name, regex), consulted only after `any` matched.
    lists: Vec<(String, Regex)>,
    /// The longest match a stream must be able to see whole, in characters.
    window: usize,
}

/// Why a blocklist could not be compiled: the key (relative to the filter) and the problem.
pub(crate) type CompileError = (String, String);

impl Matcher {
    pub(crate) fn compile(
        lists: &[Blocklist],
        max_match_chars: usize,
    ) -> Result<Self, CompileError> {
        let mut window = 1;
        let mut all = Vec::with_capacity(lists.len());
        let mut compiled = Vec::with_capacity(lists.len());
        for (i, list) in lists.iter().enumerate() {
            let mut alternatives = Vec::with_capacity(list.terms.len() + list.patterns.len());
            for (j, term) in list.terms.iter().enumerate() {
                let term = term.trim();
                if term.is_empty() {
                    return Err((
                        format!("blocklists[{i}].terms[{j}]"),
                        "must not be empty".into(),
                    ));
                }
                window = window.max(term.chars().count());
                alternatives.push(term_regex(term));
            }
            for (j, pattern) in list.patterns.iter().enumerate() {
                let key = format!("blocklists[{i}].patterns[{j}]");
                let re = Regex::new(pattern).map_err(|e| (key.clone(), one_line(&e)))?;
                if re.is_match("") {
                    return Err((
                        key,
                        "matches the empty string, so it would block everything".into(),
                    ));
                }
                window = window.max(max_match_chars);
                alternatives.push(format!("(?:{pattern})"));
            }
            let joined = alternatives.join("|");
            let re = Regex::new(&joined).map_err(|e| (format!("blocklists[{i}]"), one_line(&e)))?;
            compiled.push((list.name.clone(), re));
            all.push(joined);
        }
        let any =
            Regex::new(&all.join("|")).map_err(|e| ("blocklists".to_owned(), one_line(&e)))?;
        Ok(Self {
            any,
            lists: compiled,
            window,
        })
    }

    /// Characters a stream holds back: the longest term, or `max_match_chars` with patterns.
    pub(crate) fn window(&self) -> usize {
        self.window
    }

    /// True when anything matches `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.first(text, 0, true).is_some()
    }

    /// Adds the index of every blocklist with a (non-empty) match in `text` to `hits`.
    pub(crate) fn collect_hits(&self, text: &str, hits: &mut Vec<usize>) {
        if !self.is_match(text) {
            return;
        }
        for (i, (_, re)) in self.lists.iter().enumerate() {
            if !hits.contains(&i) && first_non_empty(re, text, 0, true).is_some() {
                hits.push(i);
            }
        }
    }

    /// The name of blocklist `i`.
    pub(crate) fn list_name(&self, i: usize) -> &str {
        &self.lists[i].0
    }

    /// The first non-empty match at or after `from`; with `complete` false, a match that
    /// ends at the end of `text` is only tentative (the next character may undo a word
    /// boundary) and is reported through `Found::Tentative`.
    fn first(&self, text: &str, from: usize, complete: bool) -> Option<Found> {
        first_non_empty(&self.any, text, from, complete)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A match that stands whatever text follows.
    Confirmed,
    /// A match ending at the end of the text so far (more text may undo or extend it).
    Tentative,
}

fn first_non_empty(re: &Regex, text: &str, mut from: usize, complete: bool) -> Option<Found> {
    while from <= text.len() {
        let m = re.find_at(text, from)?;
        if m.is_empty() {
            // Validation rejects patterns matching "", but `\b` alone can still match nothing.
            from = m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        if complete || m.end() < text.len() {
            return Some(Found::Confirmed);
        }
        return Some(Found::Tentative);
    }
    None
}

fn term_regex(term: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(term.len() + 16);
    out.push_str("(?i:");
    if term.chars().next().is_some_and(is_word) {
        out.push_str(r"\b");
    }
    let mut utf8 = [0u8; 4];
    for c in term.chars() {
        if c.is_whitespace() {
            out.push_str(r"\s");
        } else {
            out.push_str(&regex::escape(c.encode_utf8(&mut utf8)));
        }
    }
    if term.chars().next_back().is_some_and(is_word) {
        out.push_str(r"\b");
    }
    out.push(')');
    out
}

fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
        .collect();
    format!("invalid regex: {}", lines.join(" "))
}

/// Incremental scan of one text part as it streams.
///
/// Text is released only once no match of at most `window` characters can still start in
/// it: the last `window` characters stay held back, never more. A tentative match that
/// started earlier (a greedy pattern over a long run, e.g. `\d{4,}` over many digits) is not
/// held whole: that would stall the stream and rescan the run at every delta, and matches
/// longer than `max_match_chars` are only caught on their first `max_match_chars` characters.
/// The buffer keeps the held-back text plus one character of context, so each delta costs
/// O(delta + window).
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    buf: String,
    /// Bytes of `buf` already released.
    sent: usize,
    /// Bytes at the front of `buf` to drop before the next append.
    cut: usize,
    /// True once `buf[0]` is context only (text before it was dropped), so matches may not
    /// start there and `^`/`\A` cannot match at a false text start.
    trimmed: bool,
}

/// A scan found a blocklist term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hit {
    /// Indices of the blocklists that matched.
    pub lists: Vec<usize>,
}

impl Scanner {
    /// Appends `delta`; returns the text that may now be sent, or the hit.
    pub(crate) fn push(&mut self, m: &Matcher, delta: &str) -> Result<&str, Hit> {
        self.compact();
        self.buf.push_str(delta);
        self.scan(m, false)
    }

    /// The part ended: scans what is held back and releases all of it, or reports the hit.
    /// A new part needs a new scanner.
    pub(crate) fn finish(&mut self, m: &Matcher) -> Result<&str, Hit> {
        self.compact();
        self.scan(m, true)
    }

    fn compact(&mut self) {
        if self.cut > 0 {
            self.buf.drain(..self.cut);
            self.sent -= self.cut;
            self.cut = 0;
            self.trimmed = true;
        }
    }

    fn scan(&mut self, m: &Matcher, complete: bool) -> Result<&str, Hit> {
        let from = if self.trimmed {
            self.buf.chars().next().map_or(0, char::len_utf8)
        } else {
            0
        };
        if let Some(Found::Confirmed) = m.first(&self.buf, from, complete) {
            let mut lists = Vec::with_capacity(1);
            for (i, (_, re)) in m.lists.iter().enumerate() {
                if first_non_empty(re, &self.buf, from, true).is_some() {
                    lists.push(i);
                }
            }
            return Err(Hit { lists });
        }
        let hold_from = if complete {
            self.buf.len()
        } else {
            nth_char_from_end(&self.buf, m.window)
        };
        let start = self.sent;
        self.sent = self.sent.max(hold_from);
        // Everything before the last released character can go: future matches start at or
        // after `sent`, and one character before it is enough context for `\b`.
        self.cut = self.buf[..self.sent]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i);
        Ok(&self.buf[start..self.sent])
    }
}

/// The byte offset where the last `n` characters of `s` begin (0 if it is shorter).
fn nth_char_from_end(s: &str, n: usize) -> usize {
    if n == 0 {
        return s.len();
    }
    s.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(terms: &[&str], patterns: &[&str]) -> Matcher {
        let mut list = Blocklist::new("list");
        list.terms = terms.iter().map(|t| (*t).to_owned()).collect();
        list.patterns = patterns.iter().map(|p| (*p).to_owned()).collect();
        Matcher::compile(&[list], 16).unwrap()
    }

    /// Streams `parts` through a scanner: the released text, or the hit.
    fn stream(m: &Matcher, parts: &[&str]) -> Result<String, String> {
        let mut s = Scanner::default();
        let mut out = String::new();
        for p in parts {
            match s.push(m, p) {
                Ok(t) => out.push_str(t),
                Err(_) => return Err(out),
            }
        }
        match s.finish(m) {
            Ok(t) => out.push_str(t),
            Err(_) => return Err(out),
        }
        Ok(out)
    }

    #[test]
    fn a_greedy_pattern_over_a_long_run_holds_back_only_the_window() {
        let m = matcher(&[], &[r"\d{4,}"]);
        assert_eq!(m.window(), 16);
        let mut s = Scanner::default();
        let mut released = 0;
        let mut pushed = 0;
        for _ in 0..2_000 {
            let out = s.push(&m, "1234567").expect("tentative, not yet a hit");
            released += out.chars().count();
            pushed += 7;
            assert!(
                pushed - released <= m.window(),
                "held {}",
                pushed - released
            );
            assert!(s.buf.len() <= m.window() + 8, "buffer {}", s.buf.len());
        }
        assert!(released > pushed - m.window() - 1);
        // The run ends: the match stands, and the stream is blocked.
        assert!(s.push(&m, " done").is_err());
    }

    #[test]
    fn terms_are_case_insensitive_whole_words() {
        let m = matcher(&["forbidden", "top secret", "c++"], &[]);
        assert!(m.is_match("This is FORBIDDEN."));
        assert!(m.is_match("a Top\nSecret plan"));
        assert!(m.is_match("I like c++!"));
        assert!(!m.is_match("unforbiddenly"));
        assert!(!m.is_match("forbiddens"));
        assert!(!m.is_match("top  secret"), "one whitespace per whitespace");
        assert!(!m.is_match("nothing here"));
    }

    #[test]
    fn patterns_are_regexes() {
        let m = matcher(&[], &[r"\b\d{3}-\d{4}\b", r"(?i)proj(ect)?-x"]);
        assert!(m.is_match("call 555-1234 now"));
        assert!(m.is_match("PROJECT-X"));
        assert!(!m.is_match("5551234"));
    }

    #[test]
    fn bad_patterns_and_terms_are_rejected_with_their_key() {
        let mut list = Blocklist::new("l");
        list.patterns = vec!["ok".into(), "(unclosed".into()];
        let (key, msg) = Matcher::compile(&[list], 16).unwrap_err();
        assert_eq!(key, "blocklists[0].patterns[1]");
        assert!(msg.starts_with("invalid regex"), "{msg}");
        let mut list = Blocklist::new("l");
        list.patterns = vec!["x*".into()];
        assert_eq!(
            Matcher::compile(&[list], 16).unwrap_err().0,
            "blocklists[0].patterns[0]"
        );
        let mut list = Blocklist::new("l");
        list.terms = vec!["a".into(), "  ".into()];
        assert_eq!(
            Matcher::compile(&[list], 16).unwrap_err().0,
            "blocklists[0].terms[1]"
        );
    }

    #[test]
    fn a_term_split_anywhere_is_caught_and_never_released() {
        let m = matcher(&["forbidden"], &[]);
        let text = "The answer is: forbidden knowledge, sadly.";
        for cut in 1..text.len() {
            let (a, b) = text.split_at(cut);
            let released = stream(&m, &[a, b]).unwrap_err();
            assert!(
                !released.to_lowercase().contains("forb"),
                "{cut}: {released}"
            );
            assert!(text.starts_with(&released));
        }
        // One character at a time, too.
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let parts: Vec<&str> = chars.iter().map(String::as_str).collect();
        assert!(stream(&m, &parts).is_err());
    }

    #[test]
    fn clean_text_is_released_whole_and_in_order() {
        let m = matcher(&["forbidden", "hell"], &[]);
        let parts = [
            "Hel",
            "lo!",
            " It is for",
            "bidding",
            " weather, ",
            "héllo wörld",
        ];
        assert_eq!(stream(&m, &parts).unwrap(), parts.concat());
        // The held-back tail is at most the window.
        let mut s = Scanner::default();
        let out = s.push(&m, "a fairly long first delta").unwrap().to_owned();
        // The window is the longest term, "forbidden": nine characters stay held back.
        assert_eq!(out, "a fairly long fi");
        assert_eq!(s.push(&m, "!").unwrap(), "r");
    }

    #[test]
    fn a_boundary_decided_by_the_next_delta_is_respected() {
        let m = matcher(&["hell"], &[]);
        // "hell" then "o": not the term.
        assert_eq!(stream(&m, &["say hell", "o"]).unwrap(), "say hello");
        // "hell" then " ": the term.
        assert!(stream(&m, &["say hell", " no"]).is_err());
        // "hell" at the very end: the term.
        assert!(stream(&m, &["say hell"]).is_err());
    }

    #[test]
    fn anchors_do_not_match_where_the_buffer_was_trimmed() {
        let m = matcher(&[], &[r"^secret"]);
        let long = "x".repeat(40);
        assert_eq!(
            stream(&m, &[&long, "secret"]).unwrap(),
            format!("{long}secret")
        );
        assert!(stream(&m, &["secret", &long]).is_err());
    }

    #[test]
    fn hits_name_their_blocklists() {
        let mut a = Blocklist::new("a");
        a.terms = vec!["alpha".into()];
        let mut b = Blocklist::new("b");
        b.terms = vec!["beta".into()];
        let m = Matcher::compile(&[a, b], 16).unwrap();
        let mut hits = Vec::new();
        m.collect_hits("beta and alpha", &mut hits);
        hits.sort_unstable();
        assert_eq!(hits, [0, 1]);
        assert_eq!(m.list_name(1), "b");
        let mut s = Scanner::default();
        assert_eq!(s.push(&m, "only beta ").unwrap_err().lists, [1]);
    }
}
