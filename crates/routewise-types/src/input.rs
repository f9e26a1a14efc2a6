//! The request `input`: a string or a list of items.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::common::{ItemStatus, Role};
use crate::content::InputContent;
use crate::output::{FunctionCall, ReasoningItem};
use crate::tagged::{Replay, TaggedUnion, UnionVisitor};
use crate::wire::{self, WireObject, WireVisit, wire_struct};

/// The request `input` (and the `instructions` a response echoes): a plain string, shorthand
/// for one user message, or a list of items.
///
/// ```
/// use routewise_types::Input;
/// let input: Input = "Hello".into();
/// assert_eq!(serde_json::to_string(&input).unwrap(), r#""Hello""#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A string.
    Text(String),
    /// A list of items.
    Items(Vec<InputItem>),
}

impl Default for Input {
    fn default() -> Self {
        Self::Items(Vec::new())
    }
}

impl From<&str> for Input {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for Input {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<Vec<InputItem>> for Input {
    fn from(value: Vec<InputItem>) -> Self {
        Self::Items(value)
    }
}

impl Serialize for Input {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Items(items) => items.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InputVisitor;
        impl<'de> Visitor<'de> for InputVisitor {
            type Value = Input;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of input items")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Input, E> {
                Ok(Input::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Input, E> {
                Ok(Input::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Input, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element::<InputItem>()? {
                    items.push(item);
                }
                Ok(Input::Items(items))
            }
        }
        deserializer.deserialize_any(InputVisitor)
    }
}

/// Message content: a string or a list of parts.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageContent {
    /// A string.
    Text(String),
    /// A list of parts.
    Parts(Vec<InputContent>),
}

impl Default for MessageContent {
    fn default() -> Self {
        Self::Parts(Vec::new())
    }
}

impl From<&str> for MessageContent {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}

impl From<String> for MessageContent {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}

impl From<Vec<InputContent>> for MessageContent {
    fn from(value: Vec<InputContent>) -> Self {
        Self::Parts(value)
    }
}

impl Serialize for MessageContent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Parts(parts) => parts.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = MessageContent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of content parts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MessageContent, E> {
                Ok(MessageContent::Text(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageContent, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(part) = seq.next_element::<InputContent>()? {
                    parts.push(part);
                }
                Ok(MessageContent::Parts(parts))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

wire_struct! {
    /// A message sent as input. The same shape serves the "easy" form (no `type`, see
    /// [`InputItem::EasyMessage`]) and the typed form (`"type":"message"`, [`InputItem::Message`]),
    /// including assistant messages replayed from an earlier response.
    ///
    /// ```
    /// use routewise_types::{InputItem, InputMessage};
    /// let item = InputItem::Message(InputMessage::user("Hi"));
    /// assert_eq!(
    ///     serde_json::to_string(&item).unwrap(),
    ///     r#"{"type":"message","role":"user","content":"Hi"}"#
    /// );
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct InputMessage {
        /// The item id, for replayed output messages.
        pub id: Option<String>,
        /// Who wrote it.
        pub role: Role,
        /// The content.
        pub content: MessageContent,
        /// Item status, for replayed output messages.
        pub status: Option<ItemStatus>,
        /// Output message phase, for replayed output messages.
        pub phase: Option<String>,
    }
}

impl InputMessage {
    /// A message with the given role and text content.
    pub fn new(role: Role, content: impl Into<MessageContent>) -> Self {
        Self {
            role,
            content: content.into(),
            ..Self::default()
        }
    }

    /// A user message.
    pub fn user(content: impl Into<MessageContent>) -> Self {
        Self::new(Role::User, content)
    }

    /// A system message.
    pub fn system(content: impl Into<MessageContent>) -> Self {
        Self::new(Role::System, content)
    }

    /// A developer message.
    pub fn developer(content: impl Into<MessageContent>) -> Self {
        Self::new(Role::Developer, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<MessageContent>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// A function result: a string, or a list of content parts.
pub type FunctionOutput = MessageContent;

wire_struct! {
    /// `{"type":"function_call_output"}`: the result of a function call, sent back to the model.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct FunctionCallOutput tag "function_call_output" {
        /// The item id, if it has one.
        pub id: Option<String>,
        /// The `call_id` of the function call this answers.
        pub call_id: String,
        /// The result.
        pub output: FunctionOutput,
        /// Item status.
        pub status: Option<ItemStatus>,
    }
}

impl FunctionCallOutput {
    /// A text result for `call_id`.
    pub fn new(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Self {
            call_id: call_id.into(),
            output: MessageContent::Text(output.into()),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// `{"type":"item_reference"}`: an earlier item, by id.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ItemReference tag "item_reference" {
        /// The referenced item.
        pub id: String,
    }
}

/// One item of the request `input`.
///
/// Dispatch is on `type`; an object without `type` but with a `role` is an easy message. Anything
/// else (other tool outputs, new item kinds) is kept verbatim in [`InputItem::Unknown`].
///
/// ```
/// use routewise_types::InputItem;
/// let item: InputItem = serde_json::from_str(r#"{"role":"user","content":"Hi"}"#).unwrap();
/// assert!(matches!(item, InputItem::EasyMessage(_)));
/// assert_eq!(serde_json::to_string(&item).unwrap(), r#"{"role":"user","content":"Hi"}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum InputItem {
    /// A message without a `type` field.
    EasyMessage(InputMessage),
    /// `{"type":"message"}`.
    Message(InputMessage),
    /// `{"type":"function_call_output"}`.
    FunctionCallOutput(FunctionCallOutput),
    /// A `function_call` replayed from an earlier response.
    FunctionCall(FunctionCall),
    /// A `reasoning` item replayed from an earlier response.
    Reasoning(ReasoningItem),
    /// `{"type":"item_reference"}`.
    ItemReference(ItemReference),
    /// Any other item, kept as received.
    Unknown(Value),
}

impl InputItem {
    /// A typed user message with text content.
    pub fn user(text: impl Into<String>) -> Self {
        Self::Message(InputMessage::user(text.into()))
    }

    /// The item's own `id`, if it has one. An `item_reference`'s `id` names the item it
    /// points to, not itself, so it has none here; nor has the short form of a reference, an
    /// object with neither `type` nor `role` (`{"id": "msg_1"}`), which the spec allows.
    ///
    /// ```
    /// use routewise_types::InputItem;
    /// let item: InputItem = serde_json::from_str(
    ///     r#"{"type":"message","id":"msg_1","role":"user","content":"hi"}"#,
    /// ).unwrap();
    /// assert_eq!(item.id(), Some("msg_1"));
    /// assert_eq!(InputItem::user("hi").id(), None);
    /// let reference: InputItem = serde_json::from_str(r#"{"id":"msg_1"}"#).unwrap();
    /// assert_eq!(reference.id(), None);
    /// ```
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::EasyMessage(m) | Self::Message(m) => m.id.as_deref(),
            Self::FunctionCallOutput(o) => o.id.as_deref(),
            Self::FunctionCall(c) => c.id.as_deref(),
            Self::Reasoning(r) => Some(&r.id),
            Self::ItemReference(_) => None,
            Self::Unknown(value) if value.get("type").is_none() && value.get("role").is_none() => {
                None
            }
            Self::Unknown(value) => value.get("id").and_then(Value::as_str),
        }
    }

    /// The wire `type` (`""` for easy messages and untyped unknown items).
    pub fn type_name(&self) -> &str {
        match self {
            Self::EasyMessage(_) => "",
            Self::Message(_) => "message",
            Self::FunctionCallOutput(_) => "function_call_output",
            Self::FunctionCall(_) => "function_call",
            Self::Reasoning(_) => "reasoning",
            Self::ItemReference(_) => "item_reference",
            Self::Unknown(value) => wire::type_of(value).unwrap_or(""),
        }
    }
}

impl From<InputMessage> for InputItem {
    fn from(value: InputMessage) -> Self {
        Self::Message(value)
    }
}

impl From<FunctionCallOutput> for InputItem {
    fn from(value: FunctionCallOutput) -> Self {
        Self::FunctionCallOutput(value)
    }
}

impl From<crate::OutputItem> for InputItem {
    /// Replays an output item as input (manual chaining: `input += response.output`).
    fn from(value: crate::OutputItem) -> Self {
        use crate::{OutputContent, OutputItem};
        match value {
            OutputItem::Message(message) => {
                let parts = message
                    .content
                    .into_iter()
                    .map(|part| match part {
                        OutputContent::OutputText(text) => InputContent::OutputText(text),
                        OutputContent::Refusal(refusal) => InputContent::Refusal(refusal),
                        other => {
                            InputContent::Unknown(serde_json::to_value(other).unwrap_or_default())
                        }
                    })
                    .collect();
                Self::Message(InputMessage {
                    id: Some(message.id),
                    role: message.role,
                    content: MessageContent::Parts(parts),
                    status: message.status,
                    phase: message.phase,
                    extra: message.extra,
                    missing: crate::MissingFields::default(),
                })
            }
            OutputItem::FunctionCall(call) => Self::FunctionCall(call),
            OutputItem::Reasoning(reasoning) => Self::Reasoning(reasoning),
            other => Self::Unknown(serde_json::to_value(other).unwrap_or_default()),
        }
    }
}

fn serialize_tagged<S: Serializer, T: WireObject>(
    serializer: S,
    tag: &str,
    inner: &T,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap as _;
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("type", tag)?;
    inner.serialize_fields(&mut map)?;
    map.end()
}

impl Serialize for InputItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::EasyMessage(message) => message.serialize(serializer),
            Self::Message(message) => serialize_tagged(serializer, "message", message),
            Self::FunctionCallOutput(output) => output.serialize(serializer),
            Self::FunctionCall(call) => call.serialize(serializer),
            Self::Reasoning(reasoning) => reasoning.serialize(serializer),
            Self::ItemReference(reference) => reference.serialize(serializer),
            Self::Unknown(value) => value.serialize(serializer),
        }
    }
}

impl TaggedUnion for InputItem {
    fn is_known(tag: &str) -> bool {
        matches!(
            tag,
            "message" | "function_call_output" | "function_call" | "reasoning" | "item_reference"
        )
    }

    fn visit_variant<'de, A: MapAccess<'de>>(tag: &str, access: A) -> Result<Self, A::Error> {
        match tag {
            "message" => InputMessage::visit_fields(access).map(Self::Message),
            "function_call_output" => {
                FunctionCallOutput::visit_fields(access).map(Self::FunctionCallOutput)
            }
            "function_call" => FunctionCall::visit_fields(access).map(Self::FunctionCall),
            "reasoning" => ReasoningItem::visit_fields(access).map(Self::Reasoning),
            "item_reference" => ItemReference::visit_fields(access).map(Self::ItemReference),
            other => Err(de::Error::unknown_variant(other, &["message"])),
        }
    }

    fn unknown(value: Value) -> Self {
        Self::Unknown(value)
    }

    /// No `type` but a `role`: an easy message. (Its fields were buffered looking for a `type`.)
    fn untagged<'de, A: MapAccess<'de>>(fields: Map<String, Value>) -> Result<Self, A::Error> {
        if fields.contains_key("role") {
            InputMessage::visit_fields(Replay::<A>::buffered(fields)).map(Self::EasyMessage)
        } else {
            Ok(Self::Unknown(Value::Object(fields)))
        }
    }
}

impl<'de> Deserialize<'de> for InputItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UnionVisitor::<Self>::new("an input item object"))
    }
}
