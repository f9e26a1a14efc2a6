//! Parsing with errors that name the JSON path.

use std::fmt;

use serde::de::DeserializeOwned;

/// Longest message kept in a [`ParseError`], in bytes.
const MAX_MESSAGE: usize = 512;

/// What kind of problem a [`ParseError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Not valid JSON (including invalid UTF-8 and too-deep nesting).
    Syntax,
    /// Valid JSON of the wrong shape (wrong type, missing value, ...).
    Data,
    /// The input ended early.
    Eof,
}

/// A document did not parse; says where and why.
///
/// ```
/// let err = routewise_types::parse_str::<routewise_types::Usage>(r#"{"input_tokens":"many"}"#).unwrap_err();
/// assert_eq!(err.path(), "input_tokens");
/// assert!(err.is_data());
/// assert!(err.to_string().starts_with("input_tokens: invalid type"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    path: String,
    message: String,
    kind: ParseErrorKind,
    line: usize,
    column: usize,
}

impl ParseError {
    /// The JSON path of the offending value, e.g. `output[0].content[0].text` (`.` for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The message without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// Line of the input where it was detected (1-based; 0 if unknown).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Column of the input where it was detected (1-based; 0 if unknown).
    pub fn column(&self) -> usize {
        self.column
    }

    /// The input was not valid JSON.
    pub fn is_syntax(&self) -> bool {
        self.kind == ParseErrorKind::Syntax
    }

    /// The JSON had the wrong shape.
    pub fn is_data(&self) -> bool {
        self.kind == ParseErrorKind::Data
    }

    /// The input ended early.
    pub fn is_eof(&self) -> bool {
        self.kind == ParseErrorKind::Eof
    }

    fn from_path_error(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let outer = err.path().to_string();
        Self::from_json_error(&outer, err.into_inner())
    }

    fn from_json_error(outer: &str, inner: serde_json::Error) -> Self {
        let kind = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                ParseErrorKind::Syntax
            }
            serde_json::error::Category::Data => ParseErrorKind::Data,
            serde_json::error::Category::Eof => ParseErrorKind::Eof,
        };
        let (line, column) = (inner.line(), inner.column());
        let mut message = inner.to_string();
        // serde_json appends the position to the message; we report it separately.
        if line > 0 {
            let suffix = format!(" at line {line} column {column}");
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_owned();
            }
        }
        let (path, mut message) = crate::wire::join_path(outer, &message);
        // serde quotes the offending value; a 10 MB string must not become a 10 MB error.
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        Self {
            path,
            message,
            kind,
            line,
            column,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if self.line > 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Parses JSON bytes into `T`, naming the JSON path on failure.
///
/// ```
/// use routewise_types::{parse, Response};
/// let resp: Response = parse(br#"{"id":"resp_1","object":"response","created_at":1741369938.0,"output":[]}"#).unwrap();
/// assert_eq!(resp.id, "resp_1");
/// ```
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    // Tracking the path costs on every value, so only a failed parse pays for it: the input is
    // read again, with tracking, to name where it failed.
    serde_json::from_slice(bytes).map_err(|first| {
        parse_tracked::<T>(bytes)
            .err()
            .unwrap_or_else(|| ParseError::from_json_error(".", first))
    })
}

fn parse_tracked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(ParseError::from_path_error)?;
    de.end().map_err(|e| ParseError::from_json_error(".", e))?;
    Ok(value)
}

/// Parses a JSON string into `T`, naming the JSON path on failure.
pub fn parse_str<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    parse(text.as_bytes())
}

/// Parses an already-decoded JSON value into `T`, naming the JSON path on failure.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize(value).map_err(ParseError::from_path_error)
}
