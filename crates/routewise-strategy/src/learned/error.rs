//! Errors of the learned router: data loading, artifacts, training and evaluation.

use std::path::PathBuf;

/// Why a dataset, artifact, training or evaluation step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnedError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not valid JSON or a field has the wrong type.
    #[error("{path}:{line}: invalid record: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the parser said.
        message: String,
    },
    /// A required field is absent.
    #[error("{path}:{line}: missing field `{field}`")]
    MissingField {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The field name.
        field: &'static str,
    },
    /// A score is outside 0..1, or a cost is negative or not finite.
    #[error("{path}:{line}: {what} for `{model}` is {value}, expected {expected}")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// `score` or `cost`.
        what: &'static str,
        /// The model key.
        model: String,
        /// The offending value.
        value: f64,
        /// The accepted range.
        expected: &'static str,
    },
    /// A data file holds no record, or a directory holds no `.jsonl` file.
    #[error("{path}: {reason}")]
    Empty {
        /// The file or directory.
        path: PathBuf,
        /// What was expected.
        reason: &'static str,
    },
    /// A model artifact is malformed or of an unknown version.
    #[error("invalid model artifact: {0}")]
    Artifact(String),
    /// Training or evaluation was asked for something the data cannot give.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl LearnedError {
    /// True for I/O failures.
    pub fn is_io(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
    /// True for malformed JSON lines or mistyped fields.
    pub fn is_parse(&self) -> bool {
        matches!(self, Self::Parse { .. })
    }
    /// True when a required field is absent.
    pub fn is_missing_field(&self) -> bool {
        matches!(self, Self::MissingField { .. })
    }
    /// True for scores or costs out of range.
    pub fn is_out_of_range(&self) -> bool {
        matches!(self, Self::OutOfRange { .. })
    }
    /// True for empty files or directories.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty { .. })
    }
    /// True for malformed artifacts.
    pub fn is_artifact(&self) -> bool {
        matches!(self, Self::Artifact(_))
    }
    /// True for impossible training or evaluation requests.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config(_))
    }

    /// The 1-based line a data error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Parse { line, .. }
            | Self::MissingField { line, .. }
            | Self::OutOfRange { line, .. } => Some(*line),
            _ => None,
        }
    }
}
