//! The innermost cause of an error chain, as a message may show it: with any URL in it
//! redacted, since a cause from an HTTP stack may quote the request URL (and so a signed
//! query or user info) verbatim.

use std::error::Error as StdError;

use crate::endpoint::redact_endpoint;

/// The text of the last error in `err`'s source chain, redacted; `None` when `err` has no
/// source or the cause says nothing.
pub(crate) fn root_cause(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut cause = err.source()?;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = redact_urls(&cause.to_string());
    (!text.trim().is_empty()).then_some(text)
}

/// `text` with each `http://` or `https://` URL replaced by its redacted form.
fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = find_url(rest) {
        out.push_str(&rest[..start]);
        let url = &rest[start..];
        // A URL ends where prose resumes: whitespace, or the bracket or quote around it.
        let end = url
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '>' | '"' | '\'' | ','))
            .unwrap_or(url.len());
        out.push_str(&redact_endpoint(&url[..end]));
        rest = &url[end..];
    }
    out.push_str(rest);
    out
}

fn find_url(text: &str) -> Option<usize> {
    match (text.find("http://"), text.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn the_innermost_cause_is_named_with_urls_redacted() {
        let chain = Layer(
            "outer",
            Some(Box::new(Layer(
                "middle",
                Some(Box::new(Layer(
                    "refused by (https://user:pw@host.example/v1?sig=s3cret) and http://x.example/a#frag",
                    None,
                ))),
            ))),
        );
        let cause = root_cause(&chain).unwrap();
        assert!(
            !cause.contains("pw") && !cause.contains("s3cret"),
            "{cause}"
        );
        assert!(!cause.contains("frag"), "{cause}");
        assert!(
            cause.starts_with("refused by (https://host.example/v1?***)"),
            "{cause}"
        );
        assert!(cause.ends_with("http://x.example/a#***"), "{cause}");
    }

    #[test]
    fn no_source_no_cause() {
        assert_eq!(root_cause(&Layer("alone", None)), None);
        let blank = Layer("outer", Some(Box::new(Layer(" ", None))));
        assert_eq!(root_cause(&blank), None);
    }
}
