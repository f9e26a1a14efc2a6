//! Tools and `tool_choice`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::tagged::{TaggedUnion, visit_union};
use crate::wire::{WireVisit, open_enum, wire_enum, wire_struct};

wire_struct! {
    /// `{"type":"function"}`: a function tool, in the flat Responses shape (not nested under `function`).
    ///
    /// ```
    /// use routewise_types::FunctionTool;
    /// let tool = FunctionTool::new("get_weather")
    ///     .with_description("Get the weather for a location")
    ///     .with_parameters(serde_json::json!({"type": "object"}));
    /// assert_eq!(serde_json::to_value(&tool).unwrap()["type"], "function");
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct FunctionTool tag "function" {
        /// The function name.
        pub name: String,
        /// What it does.
        pub description: Option<String>,
        /// JSON Schema of the arguments.
        pub parameters: Option<Value>,
        /// Enforce the schema strictly.
        pub strict: Option<bool>,
    }
}

impl FunctionTool {
    /// A function tool with just a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the JSON Schema of the arguments.
    pub fn with_parameters(mut self, parameters: Value) -> Self {
        self.parameters = Some(parameters);
        self
    }

    /// Sets `strict`.
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }
}

wire_enum! {
    /// A tool the model may use. Built-in tools (`web_search`, `file_search`, `mcp`,
    /// `code_interpreter`, ...) pass through verbatim as `Unknown`.
    pub enum Tool {
        /// A function tool.
        "function" => Function(FunctionTool),
    }
}

impl From<FunctionTool> for Tool {
    fn from(value: FunctionTool) -> Self {
        Self::Function(value)
    }
}

open_enum! {
    /// The string form of `tool_choice`, also the `mode` of `allowed_tools`.
    pub enum ToolChoiceMode {
        /// Never call a tool.
        None = "none",
        /// The model decides (the default).
        Auto = "auto",
        /// Call at least one tool.
        Required = "required",
    }
}

wire_struct! {
    /// `{"type":"function","name":...}`: force a specific function.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ToolChoiceFunction tag "function" {
        /// The function to call.
        pub name: String,
    }
}

wire_struct! {
    /// `{"type":"allowed_tools"}`: restrict the model to a subset of tools.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ToolChoiceAllowedTools tag "allowed_tools" {
        /// `auto` or `required`.
        pub mode: Option<ToolChoiceMode>,
        /// Tool definitions (e.g. `{"type":"function","name":"x"}`).
        pub tools: Vec<Value>,
    }
}

/// `tool_choice`: a mode string, a specific function, allowed tools, or (kept verbatim) any other
/// object such as a hosted-tool choice.
///
/// ```
/// use routewise_types::{ToolChoice, ToolChoiceMode};
/// let auto: ToolChoice = serde_json::from_str(r#""auto""#).unwrap();
/// assert_eq!(auto, ToolChoice::Mode(ToolChoiceMode::Auto));
/// let f = ToolChoice::function("get_weather");
/// assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"type":"function","name":"get_weather"}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ToolChoice {
    /// `"none"`, `"auto"`, `"required"` (or a future string).
    Mode(ToolChoiceMode),
    /// `{"type":"function","name"}`.
    Function(ToolChoiceFunction),
    /// `{"type":"allowed_tools","mode","tools"}`.
    AllowedTools(ToolChoiceAllowedTools),
    /// Any other object, kept as received.
    Unknown(Value),
}

impl ToolChoice {
    /// Forces the named function.
    pub fn function(name: impl Into<String>) -> Self {
        Self::Function(ToolChoiceFunction {
            name: name.into(),
            ..ToolChoiceFunction::default()
        })
    }
}

impl From<ToolChoiceMode> for ToolChoice {
    fn from(value: ToolChoiceMode) -> Self {
        Self::Mode(value)
    }
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Mode(mode) => mode.serialize(serializer),
            Self::Function(function) => function.serialize(serializer),
            Self::AllowedTools(allowed) => allowed.serialize(serializer),
            Self::Unknown(value) => value.serialize(serializer),
        }
    }
}

impl TaggedUnion for ToolChoice {
    fn is_known(tag: &str) -> bool {
        matches!(tag, "function" | "allowed_tools")
    }

    fn visit_variant<'de, A: MapAccess<'de>>(tag: &str, access: A) -> Result<Self, A::Error> {
        match tag {
            "function" => ToolChoiceFunction::visit_fields(access).map(Self::Function),
            "allowed_tools" => ToolChoiceAllowedTools::visit_fields(access).map(Self::AllowedTools),
            other => Err(de::Error::unknown_variant(
                other,
                &["function", "allowed_tools"],
            )),
        }
    }

    fn unknown(value: Value) -> Self {
        Self::Unknown(value)
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor;
        impl<'de> Visitor<'de> for ChoiceVisitor {
            type Value = ToolChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tool_choice string or object")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ToolChoice, E> {
                Ok(ToolChoice::Mode(ToolChoiceMode::from(v)))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ToolChoice, E> {
                Ok(ToolChoice::Mode(ToolChoiceMode::from(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<ToolChoice, A::Error> {
                visit_union(access)
            }
        }
        deserializer.deserialize_any(ChoiceVisitor)
    }
}
