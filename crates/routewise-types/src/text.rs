//! `text` (output format) and `reasoning` settings.

use serde_json::Value;

use crate::wire::{open_enum, wire_enum, wire_struct};

wire_struct! {
    /// `{"type":"text"}`: plain text output.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct TextFormatText tag "text" {}
}

wire_struct! {
    /// `{"type":"json_object"}`: any JSON object.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct TextFormatJsonObject tag "json_object" {}
}

wire_struct! {
    /// `{"type":"json_schema"}`: structured output, in the **flat** Responses shape.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct JsonSchemaFormat tag "json_schema" {
        /// Schema name.
        pub name: String,
        /// The JSON Schema.
        pub schema: Value,
        /// What the format is for.
        pub description: Option<String>,
        /// Enforce the schema strictly.
        pub strict: Option<bool>,
    }
}

wire_enum! {
    /// `text.format`.
    pub enum TextFormat {
        /// Plain text.
        "text" => Text(TextFormatText),
        /// A JSON object.
        "json_object" => JsonObject(TextFormatJsonObject),
        /// A JSON Schema.
        "json_schema" => JsonSchema(JsonSchemaFormat),
    }
}

open_enum! {
    /// `text.verbosity`.
    pub enum Verbosity {
        /// Short.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// Long.
        High = "high",
    }
}

wire_struct! {
    /// `text`: output format and verbosity.
    ///
    /// ```
    /// use routewise_types::{TextConfig, TextFormat, JsonSchemaFormat};
    /// let text = TextConfig::json_schema("answer", serde_json::json!({"type": "object"}));
    /// assert!(matches!(text.format, Some(TextFormat::JsonSchema(_))));
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct TextConfig {
        /// The format.
        pub format: Option<TextFormat>,
        /// The verbosity.
        pub verbosity: Option<Verbosity>,
    }
}

impl TextConfig {
    /// Structured output with a strict JSON Schema.
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        Self {
            format: Some(TextFormat::JsonSchema(JsonSchemaFormat {
                name: name.into(),
                schema,
                strict: Some(true),
                ..JsonSchemaFormat::default()
            })),
            ..Self::default()
        }
    }
}

open_enum! {
    /// `reasoning.effort`. The set keeps growing, so unknown values are kept.
    pub enum ReasoningEffort {
        /// No reasoning.
        None = "none",
        /// Minimal.
        Minimal = "minimal",
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Extra high.
        XHigh = "xhigh",
        /// Maximum.
        Max = "max",
    }
}

open_enum! {
    /// `reasoning.summary`.
    pub enum ReasoningSummary {
        /// Let the model choose.
        Auto = "auto",
        /// Concise.
        Concise = "concise",
        /// Detailed.
        Detailed = "detailed",
    }
}

wire_struct! {
    /// `reasoning`: settings for reasoning models.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Reasoning {
        /// How hard to think.
        pub effort: Option<ReasoningEffort>,
        /// Summary detail.
        pub summary: Option<ReasoningSummary>,
        /// Deprecated spelling of `summary`.
        pub generate_summary: Option<ReasoningSummary>,
        /// Reasoning context setting (newer models).
        pub context: Option<Value>,
        /// Reasoning mode (newer models).
        pub mode: Option<Value>,
    }
}

impl Reasoning {
    /// Reasoning settings with just an effort.
    pub fn effort(effort: ReasoningEffort) -> Self {
        Self {
            effort: Some(effort),
            ..Self::default()
        }
    }
}
