//! Small values shared by requests, responses and items.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Number;

use crate::wire::open_enum;

/// A unix timestamp in seconds, as sent on the wire.
///
/// The Azure spec says integer, the Python SDK says float, and doc samples print `1741369938.0`,
/// so any JSON number is accepted and written back exactly as it was received. A string (one of
/// the OpenAI spec's own examples has `"2021-01-01T00:00:00Z"`) is kept verbatim too.
///
/// ```
/// use routewise_types::Timestamp;
/// let t: Timestamp = serde_json::from_str("1741369938.0").unwrap();
/// assert_eq!(t.as_secs(), Some(1741369938));
/// assert_eq!(serde_json::to_string(&t).unwrap(), "1741369938.0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Repr {
    Number(Number),
    Text(String),
}

impl Timestamp {
    /// A timestamp of whole seconds.
    pub fn from_secs(secs: u64) -> Self {
        Self(Repr::Number(Number::from(secs)))
    }

    /// The current time, in whole seconds.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self::from_secs(secs)
    }

    /// Whole seconds, truncating any fraction; `None` for negative, non-finite or textual values.
    pub fn as_secs(&self) -> Option<u64> {
        let Repr::Number(n) = &self.0 else {
            return None;
        };
        n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        })
    }

    /// The value as a float; `None` for a textual timestamp.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.0 {
            Repr::Number(n) => n.as_f64(),
            Repr::Text(_) => None,
        }
    }

    /// The number exactly as received, unless the server sent a string.
    pub fn as_number(&self) -> Option<&Number> {
        match &self.0 {
            Repr::Number(n) => Some(n),
            Repr::Text(_) => None,
        }
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Self::from_secs(0)
    }
}

impl From<Number> for Timestamp {
    fn from(value: Number) -> Self {
        Self(Repr::Number(value))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Number(n) => n.fmt(f),
            Repr::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Number(n) => n.serialize(serializer),
            Repr::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl<'de> Visitor<'de> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a unix timestamp (number) or a date string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp(Repr::Number(v.into())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(Repr::Number(v.into())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Number::from_f64(v)
                    .map(|n| Timestamp(Repr::Number(n)))
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Ok(Timestamp(Repr::Text(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Timestamp, E> {
                Ok(Timestamp(Repr::Text(v)))
            }
        }
        deserializer.deserialize_any(TimestampVisitor)
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
