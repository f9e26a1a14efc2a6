//! Content filters (`[[content_filters]]`): named sets of custom blocklists, attached to
//! deployments and router deployments with `content_filter = "<name>"`, as Foundry attaches
//! a content filter to a deployment.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::ConfigError;
use crate::filter::Matcher;

/// Which side of a call a content filter checks.
///
/// ```
/// use routewise_gateway::config::FilterScope;
///
/// let scope = FilterScope::parse("completion").unwrap();
/// assert!(scope.checks_completion() && !scope.checks_prompt());
/// assert_eq!(FilterScope::default(), FilterScope::Both);
/// assert!(FilterScope::parse("answers").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FilterScope {
    /// The request only (instructions, input, replayed earlier turns).
    Prompt,
    /// The answer only.
    Completion,
    /// Both (the default).
    #[default]
    Both,
}

impl FilterScope {
    /// Parses `prompt`, `completion` or `both`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "prompt" => Some(Self::Prompt),
            "completion" => Some(Self::Completion),
            "both" => Some(Self::Both),
            _ => None,
        }
    }

    /// The value as written in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prompt => "prompt",
            Self::Completion => "completion",
            Self::Both => "both",
        }
    }

    /// True when requests are checked.
    pub fn checks_prompt(self) -> bool {
        matches!(self, Self::Prompt | Self::Both)
    }

    /// True when answers are checked.
    pub fn checks_completion(self) -> bool {
        matches!(self, Self::Completion | Self::Both)
    }
}

/// One custom blocklist: terms (case-insensitive whole words or phrases) and regex patterns.
///
/// Its `Debug` form shows counts only, so logging a configuration never prints a term.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Blocklist {
    /// Reported as `id` in `custom_blocklists.details`.
    pub name: String,
    /// Words or phrases; each whitespace character matches any one whitespace character.
    pub terms: Vec<String>,
    /// Regexes (Rust `regex` syntax), case-sensitive unless they say `(?i)`.
    pub patterns: Vec<String>,
}

impl Blocklist {
    /// An empty blocklist named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Adds a term.
    pub fn with_term(mut self, term: impl Into<String>) -> Self {
        self.terms.push(term.into());
        self
    }

    /// Adds a regex pattern.
    pub fn with_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.patterns.push(pattern.into());
        self
    }
}

impl fmt::Debug for Blocklist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocklist")
            .field("name", &self.name)
            .field("terms", &self.terms.len())
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

/// A validated content filter, its blocklists compiled once into one matcher. Cloning is
/// cheap (shared).
///
/// ```
/// use routewise_gateway::config::{Blocklist, ContentFilterConfig, FilterScope};
///
/// let filter = ContentFilterConfig::new(
///     "strict",
///     FilterScope::Both,
///     vec![Blocklist::new("codenames").with_term("Project Falcon").with_pattern(r"\bPF-\d{4}\b")],
/// )
/// .unwrap();
/// assert_eq!(filter.matching_blocklists("what is project falcon?"), ["codenames"]);
/// assert_eq!(filter.matching_blocklists("ticket PF-1234"), ["codenames"]);
/// assert!(filter.matching_blocklists("falconry").is_empty());
///
/// let err = ContentFilterConfig::new("f", FilterScope::Both, vec![Blocklist::new("l").with_pattern("(")]);
/// assert_eq!(err.unwrap_err().key_path, "blocklists[0].patterns[0]");
/// ```
#[derive(Clone)]
pub struct ContentFilterConfig(Arc<Inner>);

struct Inner {
    name: String,
    scope: FilterScope,
    blocklists: Vec<Blocklist>,
    max_match_chars: usize,
    matcher: Matcher,
}

impl ContentFilterConfig {
    /// The longest pattern match a stream is guaranteed to see whole, unless set with
    /// [`ContentFilterConfig::with_max_match_chars`] (`max_match_chars` in TOML).
    pub const DEFAULT_MAX_MATCH_CHARS: usize = 64;

    /// Validates and compiles a filter; errors name the key relative to the filter
    /// (`blocklists[1].patterns[0]`).
    pub fn new(
        name: impl Into<String>,
        scope: FilterScope,
        blocklists: Vec<Blocklist>,
    ) -> Result<Self, ConfigError> {
        let name = name.into();
        Self::build(
            name.clone(),
            scope,
            blocklists,
            Self::DEFAULT_MAX_MATCH_CHARS,
        )
        .map_err(|(key, msg)| ConfigError::invalid(format!("<content filter {name:?}>"), key, msg))
    }

    /// The same filter with another pattern window (at least 1).
    pub fn with_max_match_chars(self, chars: usize) -> Result<Self, ConfigError> {
        let name = self.0.name.clone();
        Self::build(name.clone(), self.0.scope, self.0.blocklists.clone(), chars).map_err(
            |(key, msg)| ConfigError::invalid(format!("<content filter {name:?}>"), key, msg),
        )
    }

    fn build(
        name: String,
        scope: FilterScope,
        blocklists: Vec<Blocklist>,
        max_match_chars: usize,
    ) -> Result<Self, (String, String)> {
        if name.trim().is_empty() {
            return Err(("name".into(), "must not be empty".into()));
        }
        if max_match_chars == 0 {
            return Err(("max_match_chars".into(), "must be greater than 0".into()));
        }
        if blocklists.is_empty() {
            return Err((
                "blocklists".into(),
                "is empty; add at least one { name, terms, patterns } blocklist".into(),
            ));
        }
        for (i, list) in blocklists.iter().enumerate() {
            if list.name.trim().is_empty() {
                return Err((format!("blocklists[{i}].name"), "must not be empty".into()));
            }
            if blocklists[..i].iter().any(|l| l.name == list.name) {
                return Err((
                    format!("blocklists[{i}].name"),
                    format!("duplicate blocklist name {:?}", list.name),
                ));
            }
            if list.terms.is_empty() && list.patterns.is_empty() {
                return Err((
                    format!("blocklists[{i}]"),
                    format!("blocklist {:?} has no terms and no patterns", list.name),
                ));
            }
        }
        let matcher = Matcher::compile(&blocklists, max_match_chars)?;
        Ok(Self(Arc::new(Inner {
            name,
            scope,
            blocklists,
            max_match_chars,
            matcher,
        })))
    }

    /// The name deployments refer to.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Which side of a call it checks.
    pub fn scope(&self) -> FilterScope {
        self.0.scope
    }

    /// Its blocklists, in file order.
    pub fn blocklists(&self) -> &[Blocklist] {
        &self.0.blocklists
    }

    /// The longest pattern match a stream is guaranteed to catch whole.
    pub fn max_match_chars(&self) -> usize {
        self.0.max_match_chars
    }

    /// How many trailing characters a filtered stream holds back: the longest term, or
    /// `max_match_chars` when there are patterns.
    pub fn stream_window(&self) -> usize {
        self.0.matcher.window()
    }

    /// The names of the blocklists with a match in `text`.
    pub fn matching_blocklists(&self, text: &str) -> Vec<&str> {
        let mut hits = Vec::new();
        self.0.matcher.collect_hits(text, &mut hits);
        hits.sort_unstable();
        hits.into_iter()
            .map(|i| self.0.matcher.list_name(i))
            .collect()
    }

    pub(crate) fn matcher(&self) -> &Matcher {
        &self.0.matcher
    }
}

impl PartialEq for ContentFilterConfig {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
            && self.0.scope == other.0.scope
            && self.0.blocklists == other.0.blocklists
            && self.0.max_match_chars == other.0.max_match_chars
    }
}

impl fmt::Debug for ContentFilterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContentFilterConfig")
            .field("name", &self.0.name)
            .field("scope", &self.0.scope)
            .field("blocklists", &self.0.blocklists)
            .field("max_match_chars", &self.0.max_match_chars)
            .finish()
    }
}

/// `[[content_filters]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContentFilter {
    pub name: String,
    #[serde(default)]
    pub blocklists: Vec<RawBlocklist>,
    /// `prompt`, `completion` or `both` (default).
    pub apply_to: Option<String>,
    pub max_match_chars: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBlocklist {
    pub name: String,
    #[serde(default)]
    pub terms: Vec<String>,
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// Validates and compiles every `[[content_filters]]` table.
pub(super) fn filters(
    origin: &Path,
    raw: &[RawContentFilter],
) -> Result<Vec<ContentFilterConfig>, ConfigError> {
    let mut out: Vec<ContentFilterConfig> = Vec::with_capacity(raw.len());
    for (i, f) in raw.iter().enumerate() {
        let key = format!("content_filters[{i}]");
        let invalid = |sub: &str, msg: String| {
            let path = if sub.is_empty() {
                key.clone()
            } else {
                format!("{key}.{sub}")
            };
            ConfigError::invalid(origin, path, msg)
        };
        if out.iter().any(|o| o.name() == f.name) {
            return Err(invalid(
                "name",
                format!("duplicate content filter name {:?}", f.name),
            ));
        }
        let scope = match f.apply_to.as_deref() {
            None => FilterScope::default(),
            Some(s) => FilterScope::parse(s).ok_or_else(|| {
                invalid(
                    "apply_to",
                    format!("unknown value {s:?} (expected prompt, completion or both)"),
                )
            })?,
        };
        let max_match_chars = match f.max_match_chars {
            None => ContentFilterConfig::DEFAULT_MAX_MATCH_CHARS,
            Some(v) => usize::try_from(v).unwrap_or(usize::MAX),
        };
        let lists = f
            .blocklists
            .iter()
            .map(|b| Blocklist {
                name: b.name.clone(),
                terms: b.terms.clone(),
                patterns: b.patterns.clone(),
            })
            .collect();
        let filter = ContentFilterConfig::build(f.name.clone(), scope, lists, max_match_chars)
            .map_err(|(sub, msg)| invalid(&sub, msg))?;
        out.push(filter);
    }
    Ok(out)
}

/// Checks a deployment's or router's `content_filter` against the defined filters.
pub(super) fn reference(
    origin: &Path,
    filters: &[ContentFilterConfig],
    key: &str,
    name: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    let Some(name) = name else {
        return Ok(None);
    };
    if filters.iter().any(|f| f.name() == name) {
        return Ok(Some(name.to_owned()));
    }
    let defined: Vec<&str> = filters.iter().map(ContentFilterConfig::name).collect();
    Err(ConfigError::invalid(
        origin,
        format!("{key}.content_filter"),
        format!(
            "unknown content filter {name:?} (defined: {})",
            if defined.is_empty() {
                "none; add a [[content_filters]] table".to_owned()
            } else {
                defined.join(", ")
            }
        ),
    ))
}
