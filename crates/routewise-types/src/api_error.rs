//! The error body: `{"error": {...}}`, OpenAI shape with Azure's additions.

use crate::content_filter::ContentFilterResults;
use crate::wire::{open_enum, wire_struct};

open_enum! {
    /// An error code. Open: servers add codes all the time.
    pub enum ErrorCode {
        /// Server error.
        ServerError = "server_error",
        /// Rate limited.
        RateLimitExceeded = "rate_limit_exceeded",
        /// The prompt was rejected.
        InvalidPrompt = "invalid_prompt",
        /// Azure content filter.
        ContentFilter = "content_filter",
        /// Content policy violation (seen in streams).
        ContentPolicyViolation = "content_policy_violation",
        /// Context too long.
        ContextLengthExceeded = "context_length_exceeded",
        /// A parameter is not supported by the model.
        UnsupportedParameter = "unsupported_parameter",
        /// A parameter value is invalid.
        InvalidValue = "invalid_value",
        /// Vector store timeout.
        VectorStoreTimeout = "vector_store_timeout",
        /// Invalid image.
        InvalidImage = "invalid_image",
        /// Deployment not found (Azure).
        DeploymentNotFound = "DeploymentNotFound",
        /// Generic not-found (Azure).
        NotFound = "NotFound",
    }
    /// A numeric code (`"code": 429`), as its decimal text; written back as a JSON number.
    /// Text that is not a number (only possible when built by hand) is written as a string.
    numbers as Numeric;
}

wire_struct! {
    /// Azure `innererror` (also spelled `inner_error` in the v1 spec).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct InnerError {
        /// e.g. `ResponsibleAIPolicyViolation`.
        pub code: Option<String>,
        /// Content-filter results (singular spelling, as Azure sends it).
        pub content_filter_result: Option<ContentFilterResults>,
        /// Plural spelling used by some Azure bodies.
        pub content_filter_results: Option<ContentFilterResults>,
        /// Revised prompt (image generation).
        pub revised_prompt: Option<String>,
    }
}

impl InnerError {
    /// The content-filter results under either spelling.
    pub fn filter_results(&self) -> Option<&ContentFilterResults> {
        self.content_filter_result
            .as_ref()
            .or(self.content_filter_results.as_ref())
    }
}

wire_struct! {
    /// The object inside `{"error": ...}`, and the nested `error` of a stream error event.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ApiError {
        /// Human-readable message.
        pub message: String,
        /// Error type, e.g. `invalid_request_error`.
        pub r#type as "type": Option<String>,
        /// The offending parameter.
        pub param: Option<String>,
        /// Machine-readable code.
        pub code: Option<ErrorCode>,
        /// HTTP status (Azure).
        pub status: Option<u16>,
        /// Azure inner error.
        pub innererror: Option<InnerError>,
        /// Azure inner error, v1-spec spelling.
        pub inner_error: Option<InnerError>,
    }
}

impl ApiError {
    /// The inner error under either spelling.
    pub fn inner(&self) -> Option<&InnerError> {
        self.innererror.as_ref().or(self.inner_error.as_ref())
    }

    /// Whether this is a content-filter block, by [`is_content_filter_block`].
    pub fn is_content_filter(&self) -> bool {
        let inner = self.inner();
        is_content_filter_block(
            self.code.as_ref().map(ErrorCode::as_str),
            inner.and_then(|i| i.code.as_deref()),
            inner.is_some_and(|i| i.filter_results().is_some()),
        )
    }
}

/// The inner code Azure gives a content-filter block.
const AZURE_FILTER_INNER_CODE: &str = "ResponsibleAIPolicyViolation";

/// Whether an error is a content-filter block: the one rule for every error shape, so that
/// clients, gateways and these types cannot disagree.
///
/// * `code`, the error's own code, is a filter code: `content_filter`,
///   `content_policy_violation` (OpenAI, and Azure streams) or `ResponsibleAIPolicyViolation`;
/// * or `inner_code`, Azure's `innererror.code`, is `ResponsibleAIPolicyViolation`;
/// * or the inner error carries `content_filter_result(s)` (`has_filter_results`).
///
/// Any other `innererror` (Azure sends one with `ServerOverloaded` on a 503, say) is not a block.
///
/// ```
/// use routewise_types::is_content_filter_block;
///
/// assert!(is_content_filter_block(Some("content_filter"), None, false));
/// assert!(is_content_filter_block(Some("BadRequest"), Some("ResponsibleAIPolicyViolation"), false));
/// assert!(is_content_filter_block(None, None, true));
/// assert!(!is_content_filter_block(Some("ServiceUnavailable"), Some("ServerOverloaded"), false));
/// ```
pub fn is_content_filter_block(
    code: Option<&str>,
    inner_code: Option<&str>,
    has_filter_results: bool,
) -> bool {
    let filter_code = |code: Option<&str>| {
        matches!(
            code,
            Some("content_filter" | "content_policy_violation" | AZURE_FILTER_INNER_CODE)
        )
    };
    filter_code(code) || inner_code == Some(AZURE_FILTER_INNER_CODE) || has_filter_results
}

wire_struct! {
    /// An error response body.
    ///
    /// ```
    /// use routewise_types::{ErrorCode, ErrorResponse};
    /// let body = ErrorResponse::new("rate_limit_exceeded", "Slow down").with_status(429);
    /// assert_eq!(
    ///     serde_json::to_string(&body).unwrap(),
    ///     r#"{"error":{"message":"Slow down","code":"rate_limit_exceeded","status":429}}"#
    /// );
    /// assert_eq!(body.error.code, Some(ErrorCode::RateLimitExceeded));
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ErrorResponse {
        /// The error.
        pub error: ApiError,
    }
}

impl ErrorResponse {
    /// An error with a code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ApiError {
                message: message.into(),
                code: Some(ErrorCode::from(code.into())),
                ..ApiError::default()
            },
            ..Self::default()
        }
    }

    /// Sets `error.type`.
    pub fn with_type(mut self, kind: impl Into<String>) -> Self {
        self.error.r#type = Some(kind.into());
        self
    }

    /// Sets `error.param`.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.error.param = Some(param.into());
        self
    }

    /// Sets `error.status`.
    pub fn with_status(mut self, status: u16) -> Self {
        self.error.status = Some(status);
        self
    }

    /// Sets `error.innererror`.
    pub fn with_inner(mut self, inner: InnerError) -> Self {
        self.error.innererror = Some(inner);
        self
    }
}
