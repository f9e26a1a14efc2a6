//! The response object (`"object": "response"`).

use serde_json::{Map, Value};

use crate::api_error::ErrorCode;
use crate::common::Timestamp;
use crate::content_filter::ContentFilter;
use crate::input::Input;
use crate::output::{FunctionCall, OutputItem, OutputMessage};
use crate::request::{Conversation, PromptRef, ServiceTier, Truncation};
use crate::routing::ModelSelectionDetails;
use crate::text::{Reasoning, TextConfig};
use crate::tools::{Tool, ToolChoice, ToolChoiceMode};
use crate::usage::Usage;
use crate::wire::{open_enum, wire_struct};

open_enum! {
    /// `status` of a response.
    pub enum ResponseStatus {
        /// Done.
        Completed = "completed",
        /// Failed; see `error`.
        Failed = "failed",
        /// Running.
        InProgress = "in_progress",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Waiting to run (background).
        Queued = "queued",
        /// Stopped early; see `incomplete_details`.
        Incomplete = "incomplete",
    }
}

wire_struct! {
    /// `error` of a failed response, and the error of a routing attempt.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ResponseError {
        /// Error code.
        pub code: Option<ErrorCode>,
        /// Message.
        pub message: Option<String>,
    }
}

open_enum! {
    /// `incomplete_details.reason`.
    pub enum IncompleteReason {
        /// Hit `max_output_tokens`.
        MaxOutputTokens = "max_output_tokens",
        /// Output blocked by the content filter.
        ContentFilter = "content_filter",
    }
}

wire_struct! {
    /// `incomplete_details`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct IncompleteDetails {
        /// Why the response stopped.
        pub reason: Option<IncompleteReason>,
    }
}

wire_struct! {
    /// A model response.
    ///
    /// Absent and `null` fields both read as `None`; which one arrived is remembered (the `null`
    /// sits in `extra`), so the response serialises back exactly as received.
    ///
    /// ```
    /// use routewise_types::{Response, Usage};
    /// let resp = Response::new("resp_1", "gpt-4.1-nano-2025-04-14")
    ///     .with_output_text("msg_1", "Hello!")
    ///     .with_usage(Usage::new(9, 3));
    /// assert_eq!(resp.output_text(), "Hello!");
    /// assert_eq!(resp.served_model(), "gpt-4.1-nano-2025-04-14");
    /// let back: Response = routewise_types::parse(&serde_json::to_vec(&resp).unwrap()).unwrap();
    /// assert_eq!(back, resp);
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Response {
        /// `resp_…`.
        pub id: String,
        /// Always `"response"`.
        pub object: Option<String>,
        /// Creation time; integer or float, kept as sent.
        pub created_at: Option<Timestamp>,
        /// Completion time, once completed.
        pub completed_at: Option<Timestamp>,
        /// Status.
        pub status: Option<ResponseStatus>,
        /// Run in the background.
        pub background: Option<bool>,
        /// Error of a failed response.
        pub error: Option<ResponseError>,
        /// Why the response is incomplete.
        pub incomplete_details: Option<IncompleteDetails>,
        /// Echoed instructions: a string or items.
        pub instructions: Option<Input>,
        /// Echoed metadata.
        pub metadata: Option<Map<String, Value>>,
        /// The model that actually served the call (not the deployment name).
        pub model: Option<String>,
        /// Output items.
        pub output: Vec<OutputItem>,
        /// SDK convenience some servers still send; prefer [`Response::output_text`].
        pub output_text: Option<String>,
        /// Echoed setting.
        pub parallel_tool_calls: Option<bool>,
        /// Echoed setting.
        pub previous_response_id: Option<String>,
        /// Echoed conversation.
        pub conversation: Option<Conversation>,
        /// Echoed prompt template.
        pub prompt: Option<PromptRef>,
        /// Echoed setting.
        pub prompt_cache_key: Option<String>,
        /// Echoed setting.
        pub prompt_cache_retention: Option<String>,
        /// Echoed setting.
        pub prompt_cache_options: Option<Value>,
        /// Echoed setting.
        pub reasoning: Option<Reasoning>,
        /// Echoed setting.
        pub safety_identifier: Option<String>,
        /// The tier actually used.
        pub service_tier: Option<ServiceTier>,
        /// Echoed setting.
        pub store: Option<bool>,
        /// Echoed setting.
        pub temperature: Option<f64>,
        /// Echoed setting.
        pub top_p: Option<f64>,
        /// Echoed setting.
        pub top_logprobs: Option<u32>,
        /// Echoed setting.
        pub text: Option<TextConfig>,
        /// Echoed setting.
        pub tool_choice: Option<ToolChoice>,
        /// Echoed tools.
        pub tools: Option<Vec<Tool>>,
        /// Echoed setting.
        pub truncation: Option<Truncation>,
        /// Echoed setting.
        pub max_output_tokens: Option<u64>,
        /// Echoed setting.
        pub max_tool_calls: Option<u64>,
        /// Echoed setting.
        pub moderation: Option<Value>,
        /// Deprecated end-user id.
        pub user: Option<String>,
        /// Token usage.
        pub usage: Option<Usage>,
        /// Azure content-filter results.
        pub content_filters: Option<Vec<ContentFilter>>,
        /// Foundry preview router details.
        pub model_selection_details: Option<ModelSelectionDetails>,
    }
}

impl Response {
    /// A completed, empty response as a server would send it, created now.
    ///
    /// `error`, `incomplete_details` and `instructions` are explicit `null`s, as the API sends them.
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Self {
        let mut extra = Map::new();
        for key in ["error", "incomplete_details", "instructions"] {
            extra.insert(key.to_owned(), Value::Null);
        }
        Self {
            id: id.into(),
            object: Some("response".to_owned()),
            created_at: Some(Timestamp::now()),
            status: Some(ResponseStatus::Completed),
            model: Some(model.into()),
            parallel_tool_calls: Some(true),
            tool_choice: Some(ToolChoice::Mode(ToolChoiceMode::Auto)),
            tools: Some(Vec::new()),
            extra,
            ..Self::default()
        }
    }

    /// Sets `status`.
    pub fn with_status(mut self, status: ResponseStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets `created_at`.
    pub fn with_created_at(mut self, created_at: Timestamp) -> Self {
        self.created_at = Some(created_at);
        self
    }

    /// Appends a completed assistant message with one text part.
    pub fn with_output_text(
        mut self,
        message_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        self.output
            .push(OutputItem::Message(OutputMessage::text(message_id, text)));
        self
    }

    /// Appends an output item.
    pub fn with_output_item(mut self, item: impl Into<OutputItem>) -> Self {
        self.output.push(item.into());
        self
    }

    /// Sets `usage`.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Sets `error` (and status `failed`).
    pub fn with_error(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.extra.shift_remove("error");
        self.status = Some(ResponseStatus::Failed);
        self.error = Some(ResponseError {
            code: Some(ErrorCode::from(code.into())),
            message: Some(message.into()),
            ..ResponseError::default()
        });
        self
    }

    /// Sets `incomplete_details.reason` (and status `incomplete`).
    pub fn with_incomplete(mut self, reason: IncompleteReason) -> Self {
        self.extra.shift_remove("incomplete_details");
        self.status = Some(ResponseStatus::Incomplete);
        self.incomplete_details = Some(IncompleteDetails {
            reason: Some(reason),
            ..IncompleteDetails::default()
        });
        self
    }

    /// Sets `model_selection_details`.
    pub fn with_model_selection_details(mut self, details: ModelSelectionDetails) -> Self {
        self.model_selection_details = Some(details);
        self
    }

    /// The text of the response, computed as the official Python SDK does: every `output_text`
    /// part of every `message` item, joined with no separator (`""` if there are none). Refusals
    /// and reasoning are skipped, and a wire `output_text` field is ignored.
    pub fn output_text(&self) -> String {
        let mut out = String::new();
        for item in &self.output {
            if let OutputItem::Message(message) = item {
                for part in &message.content {
                    if let crate::OutputContent::OutputText(text) = part {
                        out.push_str(&text.text);
                    }
                }
            }
        }
        out
    }

    /// The function calls in `output`, in order.
    pub fn function_calls(&self) -> Vec<&FunctionCall> {
        self.output
            .iter()
            .filter_map(|item| match item {
                OutputItem::FunctionCall(call) => Some(call),
                _ => None,
            })
            .collect()
    }

    /// The model that served the call (`""` if the server did not say).
    pub fn served_model(&self) -> &str {
        self.model.as_deref().unwrap_or("")
    }

    /// Token usage, if reported.
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Whether the status is terminal (`completed`, `failed`, `cancelled`, `incomplete`).
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status,
            Some(
                ResponseStatus::Completed
                    | ResponseStatus::Failed
                    | ResponseStatus::Cancelled
                    | ResponseStatus::Incomplete
            )
        )
    }
}
