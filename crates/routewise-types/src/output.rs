//! Items in `response.output`.

use serde_json::Value;

use crate::common::{ItemStatus, Role};
use crate::content::{OutputContent, OutputText, ReasoningText, SummaryPart};
use crate::wire::{wire_enum, wire_struct};

wire_struct! {
    /// `{"type":"message"}`: an assistant message.
    ///
    /// ```
    /// use routewise_types::OutputMessage;
    /// let msg = OutputMessage::text("msg_1", "Hello!");
    /// assert_eq!(msg.text_content(), "Hello!");
    /// ```
    #[derive(Clone, Debug, PartialEq)]
    pub struct OutputMessage tag "message" {
        /// `msg_…`.
        pub id: String,
        /// Always `assistant` for output.
        pub role: Role,
        /// `in_progress`, `completed` or `incomplete`.
        pub status: Option<ItemStatus>,
        /// Optional message phase.
        pub phase: Option<String>,
        /// Text and refusal parts.
        pub content: Vec<OutputContent>,
    }
}

impl Default for OutputMessage {
    fn default() -> Self {
        Self {
            id: String::new(),
            role: Role::Assistant,
            status: None,
            phase: None,
            content: Vec::new(),
            extra: serde_json::Map::new(),
            missing: crate::MissingFields::default(),
        }
    }
}

impl OutputMessage {
    /// A completed assistant message with one `output_text` part.
    pub fn text(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            status: Some(ItemStatus::Completed),
            content: vec![OutputContent::OutputText(OutputText::new(text))],
            ..Self::default()
        }
    }

    /// The concatenated `output_text` parts of this message.
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let OutputContent::OutputText(text) = part {
                out.push_str(&text.text);
            }
        }
        out
    }
}

wire_struct! {
    /// `{"type":"function_call"}`: the model asks for a function to be called.
    ///
    /// ```
    /// use routewise_types::FunctionCall;
    /// let call = FunctionCall::new("call_1", "get_weather", r#"{"location":"Paris"}"#);
    /// let args: serde_json::Value = call.parse_arguments().unwrap();
    /// assert_eq!(args["location"], "Paris");
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct FunctionCall tag "function_call" {
        /// `fc_…` item id.
        pub id: Option<String>,
        /// `call_…`: quote it in the [`crate::FunctionCallOutput`].
        pub call_id: String,
        /// The function name.
        pub name: String,
        /// The arguments, as a JSON **string**.
        pub arguments: String,
        /// Item status.
        pub status: Option<ItemStatus>,
        /// Optional namespace of the function.
        pub namespace: Option<String>,
    }
}

impl FunctionCall {
    /// A function call with the given call id, name and JSON argument string.
    pub fn new(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self {
            call_id: call_id.into(),
            name: name.into(),
            arguments: arguments.into(),
            ..Self::default()
        }
    }

    /// Parses `arguments` as JSON.
    pub fn parse_arguments<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::ParseError> {
        crate::parse_str(&self.arguments)
    }
}

wire_enum! {
    /// A part of a reasoning item's `content`.
    pub enum ReasoningContent {
        /// Reasoning text.
        "reasoning_text" => ReasoningText(ReasoningText),
    }
}

wire_struct! {
    /// `{"type":"reasoning"}`: the model's reasoning (summary, and encrypted content when stateless).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ReasoningItem tag "reasoning" {
        /// `rs_…`.
        pub id: String,
        /// Summary parts.
        pub summary: Vec<SummaryPart>,
        /// Raw reasoning parts, when the model exposes them.
        pub content: Option<Vec<ReasoningContent>>,
        /// Opaque reasoning state for `store: false` chains.
        pub encrypted_content: Option<String>,
        /// Item status.
        pub status: Option<ItemStatus>,
    }
}

wire_enum! {
    /// One item of `response.output`. Tool-call items we do not model are kept in `Unknown`.
    ///
    /// ```
    /// use routewise_types::OutputItem;
    /// let item: OutputItem = serde_json::from_str(
    ///     r#"{"type":"mcp_call","id":"mcp_1","server_label":"x"}"#).unwrap();
    /// assert_eq!(item.type_name(), "mcp_call");
    /// assert_eq!(serde_json::to_string(&item).unwrap(), r#"{"type":"mcp_call","id":"mcp_1","server_label":"x"}"#);
    /// ```
    pub enum OutputItem {
        /// An assistant message.
        "message" => Message(OutputMessage),
        /// A function call.
        "function_call" => FunctionCall(FunctionCall),
        /// Reasoning.
        "reasoning" => Reasoning(ReasoningItem),
    }
}

impl OutputItem {
    /// The item id, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Message(message) => Some(&message.id),
            Self::FunctionCall(call) => call.id.as_deref(),
            Self::Reasoning(reasoning) => Some(&reasoning.id),
            Self::Unknown(value) => value.get("id").and_then(Value::as_str),
        }
    }
}

impl From<OutputMessage> for OutputItem {
    fn from(value: OutputMessage) -> Self {
        Self::Message(value)
    }
}

impl From<FunctionCall> for OutputItem {
    fn from(value: FunctionCall) -> Self {
        Self::FunctionCall(value)
    }
}
