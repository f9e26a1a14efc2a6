//! Start-up configuration errors that name the file, the key and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// A configuration problem found while loading or validating `routewise.toml`.
///
/// The `Display` form is `FILE: KEY.PATH: what is wrong`, for example
/// `routewise.toml: deployments[1].upstream: unknown upstream "emu2" (defined: emu)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The file (or a label such as `<embedded default pool>`).
    pub origin: PathBuf,
    /// Dotted key path inside the document; empty for whole-file problems.
    pub key_path: String,
    /// What is wrong.
    pub message: String,
    kind: ConfigErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConfigErrorKind {
    Io,
    Syntax,
    Invalid,
    MissingEnv,
}

impl ConfigError {
    pub(crate) fn io(origin: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Self::new(origin, "", err.to_string(), ConfigErrorKind::Io)
    }

    pub(crate) fn syntax(origin: impl Into<PathBuf>, key_path: String, message: String) -> Self {
        Self::new(origin, key_path, message, ConfigErrorKind::Syntax)
    }

    pub(crate) fn invalid(
        origin: impl Into<PathBuf>,
        key_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(origin, key_path, message, ConfigErrorKind::Invalid)
    }

    pub(crate) fn missing_env(
        origin: impl Into<PathBuf>,
        key_path: impl Into<String>,
        var: &str,
    ) -> Self {
        Self::new(
            origin,
            key_path,
            format!("environment variable {var} is not set (or is empty)"),
            ConfigErrorKind::MissingEnv,
        )
    }

    fn new(
        origin: impl Into<PathBuf>,
        key_path: impl Into<String>,
        message: impl Into<String>,
        kind: ConfigErrorKind,
    ) -> Self {
        Self {
            origin: origin.into(),
            key_path: key_path.into(),
            message: message.into(),
            kind,
        }
    }

    /// The file could not be read.
    pub fn is_io(&self) -> bool {
        self.kind == ConfigErrorKind::Io
    }

    /// The file is not valid TOML or a value has the wrong type or an unknown key.
    pub fn is_syntax(&self) -> bool {
        self.kind == ConfigErrorKind::Syntax
    }

    /// The document parsed but a value breaks a rule (unknown reference, out of range…).
    pub fn is_invalid(&self) -> bool {
        self.kind == ConfigErrorKind::Invalid
    }

    /// A secret's environment variable is missing.
    pub fn is_missing_env(&self) -> bool {
        self.kind == ConfigErrorKind::MissingEnv
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.origin.display())?;
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
