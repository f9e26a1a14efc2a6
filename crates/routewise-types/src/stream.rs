//! Server-sent events of a streamed response. Dispatch is on the JSON `type`, never on `event:`.

use serde_json::Value;

use crate::api_error::{ApiError, ErrorCode};
use crate::content::{Annotation, OutputContent, SummaryPart};
use crate::output::OutputItem;
use crate::response::Response;
use crate::wire::{wire_enum, wire_struct};

wire_struct! {
    /// `response.created|in_progress|queued|completed|incomplete|failed`: a response snapshot.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ResponseEvent {
        /// The response so far (final for terminal events).
        pub response: Response,
        /// Position in the stream (the spec's own examples sometimes omit it).
        pub sequence_number: Option<u64>,
    }
}

wire_struct! {
    /// `response.output_item.added|done`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct OutputItemEvent {
        /// Index in `output`.
        pub output_index: u64,
        /// The item.
        pub item: OutputItem,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

impl Default for OutputItemEvent {
    fn default() -> Self {
        Self {
            output_index: 0,
            item: OutputItem::Unknown(Value::Object(serde_json::Map::new())),
            sequence_number: None,
            extra: serde_json::Map::new(),
            missing: crate::MissingFields::default(),
        }
    }
}

wire_struct! {
    /// `response.content_part.added|done`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ContentPartEvent {
        /// The message item.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// Index in the item's `content`.
        pub content_index: u64,
        /// The part.
        pub part: OutputContent,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

impl Default for ContentPartEvent {
    fn default() -> Self {
        Self {
            item_id: String::new(),
            output_index: 0,
            content_index: 0,
            part: OutputContent::Unknown(Value::Object(serde_json::Map::new())),
            sequence_number: None,
            extra: serde_json::Map::new(),
            missing: crate::MissingFields::default(),
        }
    }
}

wire_struct! {
    /// A text increment: `response.output_text.delta`, `response.refusal.delta`,
    /// `response.function_call_arguments.delta`, `response.reasoning_summary_text.delta`,
    /// `response.reasoning_text.delta`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct DeltaEvent {
        /// The item being produced.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// Index in the item's `content` (text, refusal and reasoning text).
        pub content_index: Option<u64>,
        /// Index in the reasoning summary.
        pub summary_index: Option<u64>,
        /// The increment.
        pub delta: String,
        /// Token log probabilities.
        pub logprobs: Option<Vec<Value>>,
        /// Random padding against length side channels.
        pub obfuscation: Option<String>,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

wire_struct! {
    /// A finished text: `response.output_text.done`, `response.reasoning_summary_text.done`,
    /// `response.reasoning_text.done`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct TextDoneEvent {
        /// The item.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// Index in the item's `content`.
        pub content_index: Option<u64>,
        /// Index in the reasoning summary.
        pub summary_index: Option<u64>,
        /// The full text.
        pub text: String,
        /// Token log probabilities.
        pub logprobs: Option<Vec<Value>>,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

wire_struct! {
    /// `response.refusal.done`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct RefusalDoneEvent {
        /// The item.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// Index in the item's `content`.
        pub content_index: u64,
        /// The full refusal.
        pub refusal: String,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

wire_struct! {
    /// `response.function_call_arguments.done`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct FunctionCallArgumentsDoneEvent {
        /// The `fc_…` item.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// The full argument string.
        pub arguments: String,
        /// The function name.
        pub name: Option<String>,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

wire_struct! {
    /// `response.reasoning_summary_part.added|done`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct ReasoningSummaryPartEvent {
        /// The reasoning item.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// Index in the summary.
        pub summary_index: u64,
        /// The part.
        pub part: SummaryPart,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

impl Default for ReasoningSummaryPartEvent {
    fn default() -> Self {
        Self {
            item_id: String::new(),
            output_index: 0,
            summary_index: 0,
            part: SummaryPart::Unknown(Value::Object(serde_json::Map::new())),
            sequence_number: None,
            extra: serde_json::Map::new(),
            missing: crate::MissingFields::default(),
        }
    }
}

wire_struct! {
    /// `response.output_text.annotation.added`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct AnnotationAddedEvent {
        /// The message item.
        pub item_id: String,
        /// Index in `output`.
        pub output_index: u64,
        /// Index in the item's `content`.
        pub content_index: u64,
        /// Index of the annotation.
        pub annotation_index: Option<u64>,
        /// The annotation.
        pub annotation: Option<Annotation>,
        /// Position in the stream.
        pub sequence_number: Option<u64>,
    }
}

wire_struct! {
    /// `error`, in both shapes seen on the wire: flat (`code`, `message`, `param` at the top, as
    /// specified) and nested (`{"error": {...}}`, as Azure and OpenAI send in practice).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ErrorEvent {
        /// Flat shape: the code.
        pub code: Option<ErrorCode>,
        /// Flat shape: the message.
        pub message: Option<String>,
        /// Flat shape: the parameter.
        pub param: Option<String>,
        /// Nested shape: the error object.
        pub error: Option<ApiError>,
        /// Position in the stream (absent in some upstream frames).
        pub sequence_number: Option<u64>,
    }
}

impl ErrorEvent {
    /// The message in either shape.
    pub fn message(&self) -> &str {
        self.message
            .as_deref()
            .or(self.error.as_ref().map(|e| e.message.as_str()))
            .unwrap_or("")
    }

    /// The code in either shape.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.code
            .as_ref()
            .or(self.error.as_ref().and_then(|e| e.code.as_ref()))
    }
}

wire_enum! {
    /// One streamed event. Every type of the Responses streaming table is a typed variant;
    /// anything else (tool-progress events, future events) is kept verbatim in `Unknown`.
    ///
    /// ```
    /// use routewise_types::ResponseStreamEvent;
    /// let ev: ResponseStreamEvent = routewise_types::parse_str(
    ///     r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hel","logprobs":[]}"#,
    /// ).unwrap();
    /// assert_eq!(ev.text_delta(), Some("Hel"));
    /// assert_eq!(ev.sequence_number(), Some(4));
    /// let built = ResponseStreamEvent::output_text_delta(4, "msg_1", 0, 0, "Hel");
    /// assert_eq!(built.event_type(), "response.output_text.delta");
    /// ```
    // Lifecycle and `error` events are boxed: inline, their `Response` (2.7 KB) and nested Azure
    // error (6.3 KB) made every event that size, and parsing a small delta copied it several
    // times. A field still moves out of the box directly (`let r = e.response;`).
    pub enum ResponseStreamEvent {
        /// The response was created.
        "response.created" => Created(Box<ResponseEvent>),
        /// The response is running.
        "response.in_progress" => InProgress(Box<ResponseEvent>),
        /// The response is queued.
        "response.queued" => Queued(Box<ResponseEvent>),
        /// Terminal: completed.
        "response.completed" => Completed(Box<ResponseEvent>),
        /// Terminal: incomplete.
        "response.incomplete" => Incomplete(Box<ResponseEvent>),
        /// Terminal: failed.
        "response.failed" => Failed(Box<ResponseEvent>),
        /// An output item started.
        "response.output_item.added" => OutputItemAdded(OutputItemEvent),
        /// An output item finished.
        "response.output_item.done" => OutputItemDone(OutputItemEvent),
        /// A content part started.
        "response.content_part.added" => ContentPartAdded(ContentPartEvent),
        /// A content part finished.
        "response.content_part.done" => ContentPartDone(ContentPartEvent),
        /// Output text increment.
        "response.output_text.delta" => OutputTextDelta(DeltaEvent),
        /// Output text finished.
        "response.output_text.done" => OutputTextDone(TextDoneEvent),
        /// An annotation was added to output text.
        "response.output_text.annotation.added" => OutputTextAnnotationAdded(AnnotationAddedEvent),
        /// Refusal increment.
        "response.refusal.delta" => RefusalDelta(DeltaEvent),
        /// Refusal finished.
        "response.refusal.done" => RefusalDone(RefusalDoneEvent),
        /// Function-call argument increment.
        "response.function_call_arguments.delta" => FunctionCallArgumentsDelta(DeltaEvent),
        /// Function-call arguments finished.
        "response.function_call_arguments.done" => FunctionCallArgumentsDone(FunctionCallArgumentsDoneEvent),
        /// Reasoning summary part started.
        "response.reasoning_summary_part.added" => ReasoningSummaryPartAdded(ReasoningSummaryPartEvent),
        /// Reasoning summary part finished.
        "response.reasoning_summary_part.done" => ReasoningSummaryPartDone(ReasoningSummaryPartEvent),
        /// Reasoning summary increment.
        "response.reasoning_summary_text.delta" => ReasoningSummaryTextDelta(DeltaEvent),
        /// Reasoning summary finished.
        "response.reasoning_summary_text.done" => ReasoningSummaryTextDone(TextDoneEvent),
        /// Reasoning text increment.
        "response.reasoning_text.delta" => ReasoningTextDelta(DeltaEvent),
        /// Reasoning text finished.
        "response.reasoning_text.done" => ReasoningTextDone(TextDoneEvent),
        /// An error (flat or nested shape).
        "error" => Error(Box<ErrorEvent>),
    }
}

impl ResponseStreamEvent {
    /// The `type` of this event.
    pub fn event_type(&self) -> &str {
        self.type_name()
    }

    /// The `sequence_number`, if the event carries one.
    pub fn sequence_number(&self) -> Option<u64> {
        match self {
            Self::Created(e)
            | Self::InProgress(e)
            | Self::Queued(e)
            | Self::Completed(e)
            | Self::Incomplete(e)
            | Self::Failed(e) => e.sequence_number,
            Self::OutputItemAdded(e) | Self::OutputItemDone(e) => e.sequence_number,
            Self::ContentPartAdded(e) | Self::ContentPartDone(e) => e.sequence_number,
            Self::OutputTextDelta(e)
            | Self::RefusalDelta(e)
            | Self::FunctionCallArgumentsDelta(e)
            | Self::ReasoningSummaryTextDelta(e)
            | Self::ReasoningTextDelta(e) => e.sequence_number,
            Self::OutputTextDone(e)
            | Self::ReasoningSummaryTextDone(e)
            | Self::ReasoningTextDone(e) => e.sequence_number,
            Self::OutputTextAnnotationAdded(e) => e.sequence_number,
            Self::RefusalDone(e) => e.sequence_number,
            Self::FunctionCallArgumentsDone(e) => e.sequence_number,
            Self::ReasoningSummaryPartAdded(e) | Self::ReasoningSummaryPartDone(e) => {
                e.sequence_number
            }
            Self::Error(e) => e.sequence_number,
            Self::Unknown(value) => value.get("sequence_number").and_then(Value::as_u64),
        }
    }

    /// Whether this event ends the response: `response.completed|incomplete|failed` or `error`.
    /// (A client should still read to EOF: Azure sends an `error` after `response.failed`.)
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed(_) | Self::Incomplete(_) | Self::Failed(_) | Self::Error(_)
        )
    }

    /// The response snapshot carried by lifecycle events.
    pub fn response(&self) -> Option<&Response> {
        match self {
            Self::Created(e)
            | Self::InProgress(e)
            | Self::Queued(e)
            | Self::Completed(e)
            | Self::Incomplete(e)
            | Self::Failed(e) => Some(&e.response),
            _ => None,
        }
    }

    /// The increment of a `response.output_text.delta`.
    pub fn text_delta(&self) -> Option<&str> {
        match self {
            Self::OutputTextDelta(e) => Some(&e.delta),
            _ => None,
        }
    }

    /// The error of an `error` event.
    pub fn error(&self) -> Option<&ErrorEvent> {
        match self {
            Self::Error(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// `response.created` for `response`.
    pub fn created(sequence_number: u64, response: Response) -> Self {
        Self::Created(Box::new(ResponseEvent {
            response,
            sequence_number: Some(sequence_number),
            ..ResponseEvent::default()
        }))
    }

    /// `response.in_progress` for `response`.
    pub fn in_progress(sequence_number: u64, response: Response) -> Self {
        Self::InProgress(Box::new(ResponseEvent {
            response,
            sequence_number: Some(sequence_number),
            ..ResponseEvent::default()
        }))
    }

    /// `response.completed` for `response`.
    pub fn completed(sequence_number: u64, response: Response) -> Self {
        Self::Completed(Box::new(ResponseEvent {
            response,
            sequence_number: Some(sequence_number),
            ..ResponseEvent::default()
        }))
    }

    /// `response.incomplete` for `response`.
    pub fn incomplete(sequence_number: u64, response: Response) -> Self {
        Self::Incomplete(Box::new(ResponseEvent {
            response,
            sequence_number: Some(sequence_number),
            ..ResponseEvent::default()
        }))
    }

    /// `response.failed` for `response`.
    pub fn failed(sequence_number: u64, response: Response) -> Self {
        Self::Failed(Box::new(ResponseEvent {
            response,
            sequence_number: Some(sequence_number),
            ..ResponseEvent::default()
        }))
    }

    /// `response.output_item.added`.
    pub fn output_item_added(sequence_number: u64, output_index: u64, item: OutputItem) -> Self {
        Self::OutputItemAdded(OutputItemEvent {
            output_index,
            item,
            sequence_number: Some(sequence_number),
            ..OutputItemEvent::default()
        })
    }

    /// `response.output_item.done`.
    pub fn output_item_done(sequence_number: u64, output_index: u64, item: OutputItem) -> Self {
        Self::OutputItemDone(OutputItemEvent {
            output_index,
            item,
            sequence_number: Some(sequence_number),
            ..OutputItemEvent::default()
        })
    }

    /// `response.content_part.added`.
    pub fn content_part_added(
        sequence_number: u64,
        item_id: impl Into<String>,
        output_index: u64,
        content_index: u64,
        part: OutputContent,
    ) -> Self {
        Self::ContentPartAdded(ContentPartEvent {
            item_id: item_id.into(),
            output_index,
            content_index,
            part,
            sequence_number: Some(sequence_number),
            ..ContentPartEvent::default()
        })
    }

    /// `response.content_part.done`.
    pub fn content_part_done(
        sequence_number: u64,
        item_id: impl Into<String>,
        output_index: u64,
        content_index: u64,
        part: OutputContent,
    ) -> Self {
        Self::ContentPartDone(ContentPartEvent {
            item_id: item_id.into(),
            output_index,
            content_index,
            part,
            sequence_number: Some(sequence_number),
            ..ContentPartEvent::default()
        })
    }

    /// `response.output_text.delta` (with empty `logprobs`).
    pub fn output_text_delta(
        sequence_number: u64,
        item_id: impl Into<String>,
        output_index: u64,
        content_index: u64,
        delta: impl Into<String>,
    ) -> Self {
        Self::OutputTextDelta(DeltaEvent {
            item_id: item_id.into(),
            output_index,
            content_index: Some(content_index),
            delta: delta.into(),
            logprobs: Some(Vec::new()),
            sequence_number: Some(sequence_number),
            ..DeltaEvent::default()
        })
    }

    /// `response.output_text.done` (with empty `logprobs`).
    pub fn output_text_done(
        sequence_number: u64,
        item_id: impl Into<String>,
        output_index: u64,
        content_index: u64,
        text: impl Into<String>,
    ) -> Self {
        Self::OutputTextDone(TextDoneEvent {
            item_id: item_id.into(),
            output_index,
            content_index: Some(content_index),
            text: text.into(),
            logprobs: Some(Vec::new()),
            sequence_number: Some(sequence_number),
            ..TextDoneEvent::default()
        })
    }

    /// `response.function_call_arguments.delta`.
    pub fn function_call_arguments_delta(
        sequence_number: u64,
        item_id: impl Into<String>,
        output_index: u64,
        delta: impl Into<String>,
    ) -> Self {
        Self::FunctionCallArgumentsDelta(DeltaEvent {
            item_id: item_id.into(),
            output_index,
            delta: delta.into(),
            sequence_number: Some(sequence_number),
            ..DeltaEvent::default()
        })
    }

    /// `response.function_call_arguments.done`.
    pub fn function_call_arguments_done(
        sequence_number: u64,
        item_id: impl Into<String>,
        output_index: u64,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Self::FunctionCallArgumentsDone(FunctionCallArgumentsDoneEvent {
            item_id: item_id.into(),
            output_index,
            arguments: arguments.into(),
            name: Some(name.into()),
            sequence_number: Some(sequence_number),
            ..FunctionCallArgumentsDoneEvent::default()
        })
    }

    /// A flat-shape `error` event, as the spec defines it.
    pub fn error_flat(
        sequence_number: u64,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Error(Box::new(ErrorEvent {
            code: Some(ErrorCode::from(code.into())),
            message: Some(message.into()),
            sequence_number: Some(sequence_number),
            ..ErrorEvent::default()
        }))
    }

    /// A nested-shape `error` event (`{"type":"error","error":{...}}`), as upstreams send it.
    pub fn error_nested(sequence_number: Option<u64>, error: ApiError) -> Self {
        Self::Error(Box::new(ErrorEvent {
            error: Some(error),
            sequence_number,
            ..ErrorEvent::default()
        }))
    }
}
