//! The request body of `POST /responses`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::input::{Input, InputItem};
use crate::routing::RoutingConfig;
use crate::text::{Reasoning, TextConfig};
use crate::tools::{Tool, ToolChoice};
use crate::wire::{WireVisit, open_enum, wire_struct};

open_enum! {
    /// `truncation`.
    pub enum Truncation {
        /// Drop items from the middle of the conversation when it is too long.
        Auto = "auto",
        /// Fail with 400 when it is too long (the default).
        Disabled = "disabled",
    }
}

open_enum! {
    /// `service_tier`.
    pub enum ServiceTier {
        /// Let the service choose.
        Auto = "auto",
        /// Standard.
        Default = "default",
        /// Flex processing.
        Flex = "flex",
        /// Scale tier.
        Scale = "scale",
        /// Priority processing.
        Priority = "priority",
    }
}

wire_struct! {
    /// `stream_options`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct StreamOptions {
        /// Add random `obfuscation` padding to delta events (on by default).
        pub include_obfuscation: Option<bool>,
    }
}

wire_struct! {
    /// `prompt`: a reusable prompt template.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct PromptRef {
        /// Template id.
        pub id: String,
        /// Template version.
        pub version: Option<String>,
        /// Template variables.
        pub variables: Option<Map<String, Value>>,
    }
}

wire_struct! {
    /// `{"id": ...}` form of `conversation`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ConversationRef {
        /// Conversation id.
        pub id: String,
    }
}

/// `conversation`: an id string or an object with an id.
#[derive(Clone, Debug, PartialEq)]
pub enum Conversation {
    /// A conversation id.
    Id(String),
    /// `{"id": ...}`.
    Object(ConversationRef),
}

impl Conversation {
    /// The conversation id in either form.
    pub fn id(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::Object(object) => &object.id,
        }
    }
}

impl Serialize for Conversation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Id(id) => serializer.serialize_str(id),
            Self::Object(object) => object.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ConversationVisitor;
        impl<'de> Visitor<'de> for ConversationVisitor {
            type Value = Conversation;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a conversation id or object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Conversation, E> {
                Ok(Conversation::Id(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Conversation, E> {
                Ok(Conversation::Id(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Conversation, A::Error> {
                ConversationRef::visit_fields(access).map(Conversation::Object)
            }
        }
        deserializer.deserialize_any(ConversationVisitor)
    }
}

wire_struct! {
    /// The body of `POST /responses`.
    ///
    /// Every field is optional at the type level, as in the official SDK; Azure requires `model`
    /// (the deployment name, e.g. `"model-router"`).
    ///
    /// ```
    /// use routewise_types::{CreateResponse, FunctionTool, RoutingMode};
    /// let req = CreateResponse::new("model-router", "Explain retrieval-augmented generation in one sentence.")
    ///     .with_instructions("Be brief.")
    ///     .with_tool(FunctionTool::new("lookup"))
    ///     .with_routing_mode(RoutingMode::Cost)
    ///     .with_stream(true);
    /// assert!(req.is_stream());
    /// let json = serde_json::to_value(&req).unwrap();
    /// assert_eq!(json["model"], "model-router");
    /// assert_eq!(json["routing_config"]["mode"], "cost");
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct CreateResponse {
        /// Deployment (Azure) or model name.
        pub model: Option<String>,
        /// The input: a string or items.
        pub input: Option<Input>,
        /// System/developer instructions (not carried over by `previous_response_id`).
        pub instructions: Option<String>,
        /// Chain to a stored response.
        pub previous_response_id: Option<String>,
        /// Conversations API id; exclusive with `previous_response_id`.
        pub conversation: Option<Conversation>,
        /// Tools the model may call.
        pub tools: Option<Vec<Tool>>,
        /// Which tool to call.
        pub tool_choice: Option<ToolChoice>,
        /// Allow several tool calls at once (default `true`).
        pub parallel_tool_calls: Option<bool>,
        /// Sampling temperature, 0–2.
        pub temperature: Option<f64>,
        /// Nucleus sampling.
        pub top_p: Option<f64>,
        /// Output cap, reasoning tokens included.
        pub max_output_tokens: Option<u64>,
        /// Cap on built-in tool calls.
        pub max_tool_calls: Option<u64>,
        /// `true` streams server-sent events.
        pub stream: Option<bool>,
        /// Streaming options.
        pub stream_options: Option<StreamOptions>,
        /// Persist the response for retrieval and chaining.
        pub store: Option<bool>,
        /// Run asynchronously.
        pub background: Option<bool>,
        /// Up to 16 string pairs.
        pub metadata: Option<Map<String, Value>>,
        /// Reasoning settings.
        pub reasoning: Option<Reasoning>,
        /// Output format and verbosity.
        pub text: Option<TextConfig>,
        /// `auto` or `disabled`.
        pub truncation: Option<Truncation>,
        /// Extra output to include, e.g. `reasoning.encrypted_content`.
        pub include: Option<Vec<String>>,
        /// Deprecated end-user id.
        pub user: Option<String>,
        /// Stable hashed end-user id.
        pub safety_identifier: Option<String>,
        /// Steers prompt-cache routing.
        pub prompt_cache_key: Option<String>,
        /// `in_memory` / `in-memory` / `24h`.
        pub prompt_cache_retention: Option<String>,
        /// Prompt cache options of the newest models.
        pub prompt_cache_options: Option<Value>,
        /// Log probabilities per token, 0–20.
        pub top_logprobs: Option<u32>,
        /// Processing tier.
        pub service_tier: Option<ServiceTier>,
        /// Prompt template.
        pub prompt: Option<PromptRef>,
        /// Moderation settings.
        pub moderation: Option<Value>,
        /// Context management settings.
        pub context_management: Option<Value>,
        /// Foundry preview per-request router controls.
        pub routing_config: Option<RoutingConfig>,
    }
}

impl CreateResponse {
    /// A request for `model` with a text input: the common case in one line.
    pub fn new(model: impl Into<String>, input: impl Into<String>) -> Self {
        Self {
            model: Some(model.into()),
            input: Some(Input::Text(input.into())),
            ..Self::default()
        }
    }

    /// Whether this request asks for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// Sets `model`.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets `input`.
    pub fn with_input(mut self, input: impl Into<Input>) -> Self {
        self.input = Some(input.into());
        self
    }

    /// Appends an input item, turning a text input into an equivalent user message first.
    pub fn with_input_item(mut self, item: impl Into<InputItem>) -> Self {
        let items = match self.input.take() {
            None => Vec::new(),
            Some(Input::Items(items)) => items,
            Some(Input::Text(text)) => {
                vec![InputItem::EasyMessage(crate::InputMessage::user(text))]
            }
        };
        let mut items = items;
        items.push(item.into());
        self.input = Some(Input::Items(items));
        self
    }

    /// Sets `instructions`.
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Sets `previous_response_id`.
    pub fn with_previous_response_id(mut self, id: impl Into<String>) -> Self {
        self.previous_response_id = Some(id.into());
        self
    }

    /// Appends a tool.
    pub fn with_tool(mut self, tool: impl Into<Tool>) -> Self {
        self.tools.get_or_insert_with(Vec::new).push(tool.into());
        self
    }

    /// Sets `tool_choice`.
    pub fn with_tool_choice(mut self, choice: impl Into<ToolChoice>) -> Self {
        self.tool_choice = Some(choice.into());
        self
    }

    /// Sets `temperature`.
    pub fn with_temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets `top_p`.
    pub fn with_top_p(mut self, top_p: f64) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets `max_output_tokens`.
    pub fn with_max_output_tokens(mut self, max: u64) -> Self {
        self.max_output_tokens = Some(max);
        self
    }

    /// Sets `stream`.
    pub fn with_stream(mut self, stream: bool) -> Self {
        self.stream = Some(stream);
        self
    }

    /// Sets `store`.
    pub fn with_store(mut self, store: bool) -> Self {
        self.store = Some(store);
        self
    }

    /// Adds a metadata pair.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata
            .get_or_insert_with(Map::new)
            .insert(key.into(), Value::String(value.into()));
        self
    }

    /// Sets `reasoning`.
    pub fn with_reasoning(mut self, reasoning: Reasoning) -> Self {
        self.reasoning = Some(reasoning);
        self
    }

    /// Sets `text`.
    pub fn with_text(mut self, text: TextConfig) -> Self {
        self.text = Some(text);
        self
    }

    /// Adds an `include` entry.
    pub fn with_include(mut self, include: impl Into<String>) -> Self {
        self.include
            .get_or_insert_with(Vec::new)
            .push(include.into());
        self
    }

    /// Sets `truncation`.
    pub fn with_truncation(mut self, truncation: Truncation) -> Self {
        self.truncation = Some(truncation);
        self
    }

    /// Sets `prompt_cache_key`.
    pub fn with_prompt_cache_key(mut self, key: impl Into<String>) -> Self {
        self.prompt_cache_key = Some(key.into());
        self
    }

    /// Sets `routing_config`.
    pub fn with_routing_config(mut self, config: RoutingConfig) -> Self {
        self.routing_config = Some(config);
        self
    }

    /// Sets `routing_config.mode`, keeping the rest of the routing config.
    pub fn with_routing_mode(mut self, mode: crate::RoutingMode) -> Self {
        self.routing_config
            .get_or_insert_with(RoutingConfig::default)
            .mode = Some(mode);
        self
    }
}
