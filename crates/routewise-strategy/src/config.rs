//! Configuration errors shared by the strategies' constructors.

/// Why a strategy could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No deployment was given.
    #[error("no deployment configured")]
    Empty,
    /// A weight was negative, infinite or NaN, or all weights were zero.
    #[error("invalid weight {weight} for {deployment}")]
    InvalidWeight {
        /// The deployment.
        deployment: String,
        /// The weight given.
        weight: f64,
    },
    /// A numeric setting was out of range.
    #[error("invalid {setting}: {value}")]
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// The value given.
        value: f64,
    },
}

impl ConfigError {
    /// True when nothing was configured.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// True for a bad weight.
    pub fn is_invalid_weight(&self) -> bool {
        matches!(self, Self::InvalidWeight { .. })
    }

    /// True for an out-of-range setting.
    pub fn is_out_of_range(&self) -> bool {
        matches!(self, Self::OutOfRange { .. })
    }
}
