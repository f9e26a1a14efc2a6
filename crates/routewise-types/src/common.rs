//! Small values shared by requests, responses and items.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Number;

use crate::wire::open_enum;

/// A unix timestamp in seconds, as sent on the wire.
///
/// The Azure spec says integer, the Python SDK says float, and doc samples print `1741369938.0`,
/// so any JSON number is accepted and written back exactly as it was received.
///
/// ```
/// use routewise_types::Timestamp;
/// let t: Timestamp = serde_json::from_str("1741369938.0").unwrap();
/// assert_eq!(t.as_secs(), Some(1741369938));
/// assert_eq!(serde_json::to_string(&t).unwrap(), "1741369938.0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp(Number);

impl Timestamp {
    /// A timestamp of whole seconds.
    pub fn from_secs(secs: u64) -> Self {
        Self(Number::from(secs))
    }

    /// The current time, in whole seconds.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::from_secs(secs)
    }

    /// Whole seconds, truncating any fraction; `None` for negative or non-finite values.
    pub fn as_secs(&self) -> Option<u64> {
        self.0.as_u64().or_else(|| {
            self.0
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        })
    }

    /// The value as a float.
    pub fn as_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or(0.0)
    }

    /// The number exactly as received.
    pub fn as_number(&self) -> &Number {
        &self.0
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Self::from_secs(0)
    }
}

impl From<Number> for Timestamp {
    fn from(value: Number) -> Self {
        Self(value)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Number::deserialize(deserializer).map(Self)
    }
}

open_enum! {
    /// Who authored a message.
    #[derive(Default)]
    pub enum Role {
        /// The end user.
        #[default]
        User = "user",
        /// The model.
        Assistant = "assistant",
        /// System instructions.
        System = "system",
        /// Developer instructions.
        Developer = "developer",
    }
}

open_enum! {
    /// Progress of an item (message, function call, reasoning, ...).
    pub enum ItemStatus {
        /// Still being produced.
        InProgress = "in_progress",
        /// Finished.
        Completed = "completed",
        /// Stopped early.
        Incomplete = "incomplete",
    }
}
