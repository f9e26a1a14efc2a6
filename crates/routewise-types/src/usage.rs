//! Token usage.

use crate::wire::wire_struct;

wire_struct! {
    /// `usage.input_tokens_details`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct InputTokensDetails {
        /// Tokens served from the prompt cache.
        pub cached_tokens: u64,
        /// Tokens written to the prompt cache (newer servers only).
        pub cache_write_tokens: Option<u64>,
    }
}

wire_struct! {
    /// `usage.output_tokens_details`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct OutputTokensDetails {
        /// Tokens spent reasoning.
        pub reasoning_tokens: u64,
    }
}

wire_struct! {
    /// `usage`: token counts of a response.
    ///
    /// ```
    /// use routewise_types::Usage;
    /// let u = Usage::new(20, 11).with_cached_tokens(8);
    /// assert_eq!(u.total_tokens, 31);
    /// assert_eq!(u.cached_tokens(), 8);
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Usage {
        /// Input tokens.
        pub input_tokens: u64,
        /// Input breakdown; some servers omit it.
        pub input_tokens_details: Option<InputTokensDetails>,
        /// Output tokens, reasoning included.
        pub output_tokens: u64,
        /// Output breakdown; some servers omit it.
        pub output_tokens_details: Option<OutputTokensDetails>,
        /// Input plus output.
        pub total_tokens: u64,
    }
}

impl Usage {
    /// Usage with the given counts, a computed total and zeroed details objects.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            total_tokens: input_tokens.saturating_add(output_tokens),
            input_tokens_details: Some(InputTokensDetails::default()),
            output_tokens_details: Some(OutputTokensDetails::default()),
            ..Self::default()
        }
    }

    /// Sets `input_tokens_details.cached_tokens`.
    pub fn with_cached_tokens(mut self, cached: u64) -> Self {
        self.input_tokens_details
            .get_or_insert_with(InputTokensDetails::default)
            .cached_tokens = cached;
        self
    }

    /// Sets `output_tokens_details.reasoning_tokens`.
    pub fn with_reasoning_tokens(mut self, reasoning: u64) -> Self {
        self.output_tokens_details
            .get_or_insert_with(OutputTokensDetails::default)
            .reasoning_tokens = reasoning;
        self
    }

    /// Cached input tokens (0 when not reported).
    pub fn cached_tokens(&self) -> u64 {
        self.input_tokens_details
            .as_ref()
            .map_or(0, |d| d.cached_tokens)
    }

    /// Reasoning tokens (0 when not reported).
    pub fn reasoning_tokens(&self) -> u64 {
        self.output_tokens_details
            .as_ref()
            .map_or(0, |d| d.reasoning_tokens)
    }
}
