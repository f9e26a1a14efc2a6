//! The serde machinery shared by every wire type.
//!
//! Three macros generate the (de)serialisers instead of `#[derive]`, because derive cannot give us
//! all of: unknown fields kept (`#[serde(flatten)]` would do that but hides the JSON path from
//! `serde_path_to_error`), explicit `null`s kept apart from absent fields, and tagged unions with a
//! catch-all variant that keeps the raw JSON.
//!
//! * [`wire_struct!`] — an object with named fields plus `extra`. A known field that arrives as
//!   `null` stays at its default and the `null` is parked in `extra`, so it re-serialises as received.
//! * [`wire_enum!`] — a union tagged by `type`, with `Unknown(Value)` for tags we do not know.
//! * [`open_enum!`] — a string enum with `Other(String)` for values we do not know (optionally
//!   also accepting numbers, kept as text and written back as numbers).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::{Map, Value};

/// A map key that borrows from the input when it can.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl<'de> Key<'de> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0.into_owned()
    }

    pub(crate) fn into_cow(self) -> Cow<'de, str> {
        self.0
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// How a field type behaves when serialising: `None` is left out, a required field never is.
pub(crate) trait WireField {
    fn is_absent(&self) -> bool {
        false
    }
}

impl<T> WireField for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T> WireField for Vec<T> {}

macro_rules! required_field {
    ($($t:ty),*) => { $(impl WireField for $t {})* };
}

required_field!(
    String,
    u64,
    u32,
    bool,
    serde_json::Value,
    crate::Timestamp,
    crate::Role,
    crate::Input,
    crate::MessageContent,
    crate::ApiError,
    crate::Response,
    crate::OutputItem,
    crate::OutputContent,
    crate::SummaryPart
);

/// Required fields that were missing (or `null`) in a parsed document.
///
/// Remembered so that the value serialises back without them, as received. A field you set to a
/// non-default value is written regardless. Values you build yourself have none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MissingFields(u64);

impl MissingFields {
    /// Whether every required field was present.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Forgets the missing fields, so every required field is written.
    pub fn clear(&mut self) {
        self.0 = 0;
    }

    pub(crate) fn insert(&mut self, index: u32) {
        self.0 |= 1 << index;
    }

    pub(crate) fn contains(&self, index: u32) -> bool {
        self.0 & (1 << index) != 0
    }
}

/// Writes the fields of an object into a map that someone else opened; lets a tagged union put
/// its `type` first and then the variant's fields, with no intermediate `Value`.
pub(crate) trait WireObject {
    /// The `type` this object writes when serialised on its own, if it has a fixed one.
    const TAG: Option<&'static str>;
    fn serialize_fields<M: serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
}

/// Reads the fields of an object from a map someone else opened; lets a tagged union hand over
/// the rest of a member's map once it has read the `type`.
pub(crate) trait WireVisit: Sized {
    fn visit_fields<'de, A: de::MapAccess<'de>>(access: A) -> Result<Self, A::Error>;
}

impl<T: WireObject> WireObject for Box<T> {
    const TAG: Option<&'static str> = T::TAG;
    fn serialize_fields<M: serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        T::serialize_fields(self, map)
    }
}

impl<T: WireVisit> WireVisit for Box<T> {
    fn visit_fields<'de, A: de::MapAccess<'de>>(access: A) -> Result<Self, A::Error> {
        T::visit_fields(access).map(Box::new)
    }
}

/// Prefix of a nested error message that carries the path inside a buffered value.
const NESTED_PREFIX: &str = "at `";
const NESTED_SUFFIX: &str = "`: ";

/// An error raised inside a buffered value, at `key` then `inner_path` within it: the path goes
/// into the message (the outer `serde_path_to_error` cannot see it) so that
/// [`crate::ParseError`] can name the full path.
pub(crate) fn nested_error<E: de::Error>(key: &str, inner_path: &str, message: &str) -> E {
    let (path, message) = join_path(&concat_path(key, inner_path), message);
    E::custom(format_args!(
        "{NESTED_PREFIX}{path}{NESTED_SUFFIX}{message}"
    ))
}

/// Splits a message produced by [`nested`] back into its path and the message proper.
pub(crate) fn split_nested(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix(NESTED_PREFIX)?;
    let end = rest.find(NESTED_SUFFIX)?;
    Some((&rest[..end], &rest[end + NESTED_SUFFIX.len()..]))
}

/// Joins an outer path with the path that may be embedded at the start of `message`.
pub(crate) fn join_path(outer: &str, message: &str) -> (String, String) {
    match split_nested(message) {
        Some((inner, rest)) => (concat_path(outer, inner), rest.to_owned()),
        None => (outer.to_owned(), message.to_owned()),
    }
}

fn concat_path(outer: &str, inner: &str) -> String {
    match (outer, inner) {
        (".", _) | ("", _) => inner.to_owned(),
        (_, ".") | (_, "") => outer.to_owned(),
        (_, i) if i.starts_with('[') => format!("{outer}{inner}"),
        _ => format!("{outer}.{inner}"),
    }
}

/// The `type` of a JSON object, if it has a string one.
pub(crate) fn type_of(value: &Value) -> Option<&str> {
    value.get("type").and_then(Value::as_str)
}

/// Parks an explicit `null` for a known field in `extra`.
pub(crate) fn park_null(extra: &mut Map<String, Value>, key: String) {
    extra.insert(key, Value::Null);
}

macro_rules! wire_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $wire:literal) => {
        $wire
    };
}

/// Defines a wire object: the struct (fields as written plus `extra`), `Serialize`, `Deserialize`.
///
/// `struct Name tag "x" { ... }` gives the object a fixed `type` that it writes first and ignores
/// when reading (the enclosing union has already dispatched on it).
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(tag $tag:literal)? {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident $(as $wire:literal)? : $fty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $fty,
            )*
            /// Fields this version does not know, and explicit `null`s of known fields, kept verbatim.
            pub extra: serde_json::Map<String, serde_json::Value>,
            /// Required fields the parsed document did not have; they stay out when serialising.
            pub missing: $crate::wire::MissingFields,
        }


        impl $crate::wire::WireObject for $name {
            const TAG: Option<&'static str> = $crate::wire::wire_struct!(@tag $($tag)?);

            fn serialize_fields<M: serde::ser::SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                #[allow(non_camel_case_types, dead_code)]
                enum FieldIndex { $($field),* }
                $(
                    if $crate::wire::wire_struct!(@emits self, $name, $field, FieldIndex) {
                        map.serialize_entry($crate::wire::wire_name!($field $(, $wire)?), &self.$field)?;
                    }
                )*
                for (key, value) in &self.extra {
                    #[allow(unreachable_patterns)]
                    let shadowed = match key.as_str() {
                        $( $crate::wire::wire_name!($field $(, $wire)?) => $crate::wire::wire_struct!(@emits self, $name, $field, FieldIndex), )*
                        _ => <Self as $crate::wire::WireObject>::TAG.is_some() && key == "type",
                    };
                    if !shadowed {
                        map.serialize_entry(key, value)?;
                    }
                }
                Ok(())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                if let Some(tag) = <Self as $crate::wire::WireObject>::TAG {
                    map.serialize_entry("type", tag)?;
                }
                $crate::wire::WireObject::serialize_fields(self, &mut map)?;
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a `", stringify!($name), "` object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, access: A) -> Result<$name, A::Error> {
                        <$name as $crate::wire::WireVisit>::visit_fields(access)
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }

        impl $crate::wire::WireVisit for $name {
            fn visit_fields<'de, A: serde::de::MapAccess<'de>>(mut access: A) -> Result<Self, A::Error> {
                        #[allow(non_camel_case_types, dead_code)]
                        enum FieldIndex { $($field),* }
                        #[allow(unused_imports)]
                        use $crate::wire::WireField as _;
                        let mut out = <$name as Default>::default();
                        #[allow(unused_mut, unused_variables)]
                        let mut seen = $crate::wire::MissingFields::default();
                        while let Some(key) = access.next_key::<$crate::wire::Key<'de>>()? {
                            #[allow(unreachable_patterns)]
                            match key.as_str() {
                                $(
                                    $crate::wire::wire_name!($field $(, $wire)?) => {
                                        match access.next_value::<Option<$fty>>()? {
                                            Some(value) => {
                                                out.$field = value;
                                                seen.insert(FieldIndex::$field as u32);
                                            }
                                            None => $crate::wire::park_null(&mut out.extra, key.into_string()),
                                        }
                                    }
                                )*
                                "type" if <$name as $crate::wire::WireObject>::TAG.is_some() => {
                                    access.next_value::<serde::de::IgnoredAny>()?;
                                }
                                _ => {
                                    let value = access.next_value::<serde_json::Value>()?;
                                    out.extra.insert(key.into_string(), value);
                                }
                            }
                        }
                        $(
                            if !seen.contains(FieldIndex::$field as u32) && !out.$field.is_absent() {
                                out.missing.insert(FieldIndex::$field as u32);
                            }
                        )*
                        Ok(out)
            }
        }
    };
    // A field is written unless it is `None`, or it was missing from the parsed document and
    // still holds its default.
    (@emits $self:ident, $name:ident, $field:ident, $index:ident) => {
        !$crate::wire::WireField::is_absent(&$self.$field)
            && !($self.missing.contains($index::$field as u32)
                && $self.$field == <$name as Default>::default().$field)
    };
    (@tag $tag:literal) => { Some($tag) };
    (@tag) => { None };
}

/// Defines a union tagged by `type`, each known tag mapping to a variant holding a wire object,
/// plus `Unknown(Value)` that keeps any other member verbatim.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $tag:literal => $variant:ident($vty:ty)
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant($vty),
            )*
            /// A member whose `type` this version does not know, kept as received.
            Unknown(serde_json::Value),
        }

        impl $name {
            /// The wire `type` of this member (for `Unknown`, whatever string `type` it carried, else `""`).
            pub fn type_name(&self) -> &str {
                match self {
                    $( Self::$variant(_) => $tag, )*
                    Self::Unknown(value) => $crate::wire::type_of(value).unwrap_or(""),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                match self {
                    $(
                        Self::$variant(inner) => {
                            let mut map = serializer.serialize_map(None)?;
                            map.serialize_entry("type", $tag)?;
                            $crate::wire::WireObject::serialize_fields(inner, &mut map)?;
                            map.end()
                        }
                    )*
                    Self::Unknown(value) => value.serialize(serializer),
                }
            }
        }

        impl $crate::tagged::TaggedUnion for $name {
            fn is_known(tag: &str) -> bool {
                matches!(tag, $($tag)|*)
            }

            fn visit_variant<'de, A: serde::de::MapAccess<'de>>(tag: &str, access: A) -> Result<Self, A::Error> {
                match tag {
                    $( $tag => <$vty as $crate::wire::WireVisit>::visit_fields(access).map(Self::$variant), )*
                    other => Err(<A::Error as serde::de::Error>::unknown_variant(other, &[$($tag),*])),
                }
            }

            fn unknown(value: serde_json::Value) -> Self {
                Self::Unknown(value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_map($crate::tagged::UnionVisitor::<Self>::new(
                    concat!("a `", stringify!($name), "` object with a `type`"),
                ))
            }
        }
    };
}

/// Defines an open string enum: known values as variants, anything else as `Other(String)`.
///
/// An optional `numbers as Variant;` after the variants also accepts JSON numbers, kept as
/// their text in that variant and written back as numbers (servers send `"code": 429` as well
/// as `"code": "429"`, and the two must not be confused when re-serialised).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $wire:literal
            ),* $(,)?
        }
        $(
            $(#[$nmeta:meta])*
            numbers as $numeric:ident;
        )?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant,
            )*
            /// A value this version does not know, kept as received.
            Other(String),
            $(
                $(#[$nmeta])*
                $numeric(String),
            )?
        }

        impl $name {
            /// The wire spelling (a number's decimal text for a numeric value).
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Other(other) => other,
                    $( Self::$numeric(text) => text, )?
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $( $wire => Self::$variant, )*
                    _ => Self::Other(value),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $(
                    if let Self::$numeric(text) = self {
                        return $crate::wire::serialize_number_text(text, serializer);
                    }
                )?
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct StrVisitor;
                impl<'de> serde::de::Visitor<'de> for StrVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($crate::wire::open_enum!(@expecting $($numeric)?))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<$name, E> {
                        Ok($name::from(v))
                    }
                    $(
                        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<$name, E> {
                            Ok($name::$numeric(v.to_string()))
                        }
                        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<$name, E> {
                            Ok($name::$numeric(v.to_string()))
                        }
                        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<$name, E> {
                            Ok($name::$numeric($crate::wire::float_text(v)))
                        }
                    )?
                }
                // `any`, not `str`: the visitor itself decides which JSON types it accepts.
                deserializer.deserialize_any(StrVisitor)
            }
        }
    };
    (@expecting $numeric:ident) => { "a string or a number" };
    (@expecting) => { "a string" };
}

/// Writes a number kept as text back as a JSON number; text that is not a number (only
/// possible for a value built by hand) is written as a string rather than lost.
pub(crate) fn serialize_number_text<S: serde::Serializer>(
    text: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize as _;
    match text.parse::<serde_json::Number>() {
        Ok(number) => number.serialize(serializer),
        Err(_) => serializer.serialize_str(text),
    }
}

/// A float's text as `serde_json` writes it, so that it parses back to the same value.
pub(crate) fn float_text(value: f64) -> String {
    serde_json::Number::from_f64(value).map_or_else(|| value.to_string(), |n| n.to_string())
}

pub(crate) use {open_enum, wire_enum, wire_name, wire_struct};
