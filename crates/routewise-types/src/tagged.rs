//! Reading a union tagged by `type` in one pass over the input.
//!
//! The member's map is read key by key. Once `type` is seen, a known tag hands the rest of the
//! map straight to the variant's reader: nothing is buffered and an error deep inside still has
//! its full JSON path (the variant reads through the same `MapAccess`, which
//! `serde_path_to_error` tracks). Only keys that come *before* `type` are buffered as `Value`s
//! and replayed to the variant; servers put `type` first, so that is the rare case. A member
//! whose tag is unknown (or that has no string `type`) is collected into a `Value` as received.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::wire::{Key, nested_error};

/// A union tagged by `type`, read by [`visit_union`].
pub(crate) trait TaggedUnion: Sized {
    /// Whether `tag` names a variant this union reads itself.
    fn is_known(tag: &str) -> bool;

    /// Reads the variant for a known `tag` from the rest of the member (without `type`).
    fn visit_variant<'de, A: MapAccess<'de>>(tag: &str, access: A) -> Result<Self, A::Error>;

    /// Wraps a member kept as received.
    fn unknown(value: Value) -> Self;

    /// A member without any `type` key; `fields` holds all of it.
    fn untagged<'de, A: MapAccess<'de>>(fields: Map<String, Value>) -> Result<Self, A::Error> {
        Ok(Self::unknown(Value::Object(fields)))
    }
}

/// Reads a member of `U` from its map.
pub(crate) fn visit_union<'de, U, A>(mut access: A) -> Result<U, A::Error>
where
    U: TaggedUnion,
    A: MapAccess<'de>,
{
    let mut before = Map::new();
    while let Some(key) = access.next_key::<Key<'de>>()? {
        if key.as_str() != "type" {
            let value = access.next_value::<Value>()?;
            before.insert(key.into_string(), value);
            continue;
        }
        let tag = match access.next_value::<Tag<'de>>()? {
            Tag::Str(tag) if U::is_known(&tag) => {
                return U::visit_variant(&tag, Replay::new(before, access));
            }
            Tag::Str(tag) => Value::String(tag.into_owned()),
            Tag::Other(other) => other,
        };
        before.insert(key.into_string(), tag);
        while let Some(key) = access.next_key::<Key<'de>>()? {
            let value = access.next_value::<Value>()?;
            before.insert(key.into_string(), value);
        }
        return Ok(U::unknown(Value::Object(before)));
    }
    U::untagged::<A>(before)
}

/// The [`Visitor`] of a union that must be a JSON object.
pub(crate) struct UnionVisitor<U> {
    expecting: &'static str,
    union: PhantomData<U>,
}

impl<U> UnionVisitor<U> {
    pub(crate) fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            union: PhantomData,
        }
    }
}

impl<'de, U: TaggedUnion> Visitor<'de> for UnionVisitor<U> {
    type Value = U;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<U, A::Error> {
        visit_union(access)
    }
}

/// The value of a `type` key: a string, borrowed from the input when it can be, or anything
/// else (kept so that the member can be returned verbatim).
enum Tag<'de> {
    Str(Cow<'de, str>),
    Other(Value),
}

impl<'de> Deserialize<'de> for Tag<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TagVisitor)
    }
}

struct TagVisitor;

impl<'de> Visitor<'de> for TagVisitor {
    type Value = Tag<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Tag<'de>, E> {
        Ok(Tag::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag<'de>, E> {
        Ok(Tag::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Tag<'de>, E> {
        Ok(Tag::Str(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tag<'de>, E> {
        Ok(Tag::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tag<'de>, E> {
        Ok(Tag::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tag<'de>, E> {
        Ok(Tag::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tag<'de>, E> {
        Ok(Tag::Other(Value::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Tag<'de>, E> {
        Ok(Tag::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Tag<'de>, E> {
        Ok(Tag::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tag<'de>, D::Error> {
        Value::deserialize(deserializer).map(Tag::Other)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Tag<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Tag::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Tag<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Tag::Other)
    }
}

/// The rest of a member's map after its `type`: first the entries buffered before `type`, then
/// the live entries. A repeated `type` is skipped (the first one chose the variant).
pub(crate) struct Replay<A> {
    buffered: serde_json::map::IntoIter,
    /// The buffered entry whose key was just returned, waiting for `next_value`.
    pending: Option<(String, Value)>,
    /// `None` once the live map has ended.
    live: Option<A>,
}

impl<A> Replay<A> {
    fn new(buffered: Map<String, Value>, live: A) -> Self {
        Self {
            buffered: buffered.into_iter(),
            pending: None,
            live: Some(live),
        }
    }

    /// Replays `buffered` only.
    pub(crate) fn buffered(buffered: Map<String, Value>) -> Self {
        Self {
            buffered: buffered.into_iter(),
            pending: None,
            live: None,
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((key, value)) = self.buffered.next() {
            let out = seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(
                key.as_str(),
            ));
            self.pending = Some((key, value));
            return out.map(Some);
        }
        let Some(live) = self.live.as_mut() else {
            return Ok(None);
        };
        loop {
            let Some(key) = live.next_key::<Key<'de>>()? else {
                self.live = None;
                return Ok(None);
            };
            if key.as_str() == "type" {
                live.next_value::<de::IgnoredAny>()?;
                continue;
            }
            return match key.into_cow() {
                Cow::Borrowed(key) => {
                    seed.deserialize(BorrowedStrDeserializer::<A::Error>::new(key))
                }
                Cow::Owned(key) => {
                    seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(key))
                }
            }
            .map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if let Some((key, value)) = self.pending.take() {
            return deserialize_buffered(seed, value, &key);
        }
        match self.live.as_mut() {
            Some(live) => live.next_value_seed(seed),
            None => Err(de::Error::custom(
                "value requested after the end of the map",
            )),
        }
    }
}

/// Reads a buffered entry, keeping the path inside it (which `serde_path_to_error` cannot see)
/// in the error message, for [`crate::ParseError`] to join with the outer path.
fn deserialize_buffered<'de, V, E>(seed: V, value: Value, key: &str) -> Result<V::Value, E>
where
    V: DeserializeSeed<'de>,
    E: de::Error,
{
    let mut track = serde_path_to_error::Track::new();
    seed.deserialize(serde_path_to_error::Deserializer::new(value, &mut track))
        .map_err(|err| nested_error(key, &track.path().to_string(), &err.to_string()))
}
