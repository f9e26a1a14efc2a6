//! Responses API wire types for routewise: requests, responses, items, stream events and errors.
//! No IO.
//!
//! # Forward compatibility
//!
//! Servers add fields, items and events all the time; these types never break on them and never
//! drop them:
//!
//! * every object keeps fields it does not know in `extra`, and writes them back;
//! * every tagged union (`output[]` items, content parts, tools, `tool_choice`, stream events)
//!   has an `Unknown(serde_json::Value)` variant holding the member verbatim;
//! * string enums (statuses, error codes, reasoning effort, roles, ...) are open: unknown values
//!   land in `Other(String)`; error codes also accept numbers (`ErrorCode::Numeric`), written
//!   back as numbers;
//! * a required field missing from a parsed document is remembered in `missing` and stays
//!   missing when serialised (unless you set it);
//! * **absent vs `null`**: an optional field reads as `None` either way, and an explicit `null` is
//!   parked in `extra` under the field's name, so it is written back as `null`. Setting the field
//!   to `Some(..)` takes precedence over the parked `null`.
//!
//! Parsing a document and serialising it again gives an equal JSON value. (Numbers are compared
//! as numbers: a `1` read into an `f64` field such as `temperature` is written as `1.0`.
//! `created_at` keeps its exact form.)
//!
//! ```
//! use routewise_types::{parse, CreateResponse, Response};
//! let req = CreateResponse::new("model-router", "Explain retrieval-augmented generation in one sentence.");
//! let body = serde_json::to_vec(&req).unwrap();
//! let raw = br#"{"id":"resp_1","object":"response","created_at":1741369938.0,"status":"completed",
//!   "model":"gpt-4.1-nano","output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed",
//!   "content":[{"type":"output_text","text":"Hi","annotations":[]}]},{"type":"web_search_call","id":"ws_1"}],
//!   "error":null,"brand_new_field":{"x":1}}"#;
//! let resp: Response = parse(raw).unwrap();
//! assert_eq!(resp.output_text(), "Hi");
//! let back = serde_json::to_value(&resp).unwrap();
//! assert_eq!(back, serde_json::from_slice::<serde_json::Value>(raw).unwrap());
//! # let _ = body;
//! ```

mod api_error;
mod common;
mod content;
mod content_filter;
mod input;
mod output;
mod paging;
mod parse;
mod replay;
mod request;
mod response;
mod routing;
mod stream;
mod tagged;
mod text;
mod tools;
mod usage;
mod wire;

pub use api_error::{ApiError, ErrorCode, ErrorResponse, InnerError, is_content_filter_block};
pub use common::{ItemStatus, Role, Timestamp};
pub use content::{
    Annotation, ContainerFileCitation, FileCitation, FilePath, ImageDetail, InputContent,
    InputFile, InputImage, InputText, OutputContent, OutputText, ReasoningText, Refusal,
    SummaryPart, SummaryText, UrlCitation,
};
pub use content_filter::{
    ContentFilter, ContentFilterError, ContentFilterOffsets, ContentFilterResults, DetectionResult,
    ProtectedMaterialCodeResult, Severity, SeverityResult,
};
pub use input::{
    FunctionCallOutput, FunctionOutput, Input, InputItem, InputMessage, ItemReference,
    MessageContent,
};
pub use output::{FunctionCall, OutputItem, OutputMessage, ReasoningContent, ReasoningItem};
pub use paging::PageBounds;
pub use parse::{ParseError, ParseErrorKind, parse, parse_str, parse_value};
pub use replay::replay;
pub use request::{
    Conversation, ConversationRef, CreateResponse, PromptRef, ServiceTier, StreamOptions,
    Truncation,
};
pub use response::{IncompleteDetails, IncompleteReason, Response, ResponseError, ResponseStatus};
pub use routing::{
    AttemptResult, ModelRouterDetails, ModelSelectionDetails, RoutingAttempt, RoutingConfig,
    RoutingMode, RoutingTrace, SessionAffinity, SessionAffinityDetails,
};
pub use stream::{
    AnnotationAddedEvent, ContentPartEvent, DeltaEvent, ErrorEvent, FunctionCallArgumentsDoneEvent,
    OutputItemEvent, ReasoningSummaryPartEvent, RefusalDoneEvent, ResponseEvent,
    ResponseStreamEvent, TextDoneEvent,
};
pub use text::{
    JsonSchemaFormat, Reasoning, ReasoningEffort, ReasoningSummary, TextConfig, TextFormat,
    TextFormatJsonObject, TextFormatText, Verbosity,
};
pub use tools::{
    FunctionTool, Tool, ToolChoice, ToolChoiceAllowedTools, ToolChoiceFunction, ToolChoiceMode,
};
pub use usage::{InputTokensDetails, OutputTokensDetails, Usage};
pub use wire::MissingFields;
