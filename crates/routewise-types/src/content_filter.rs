//! Azure content-filter annotations, on responses (`content_filters`) and on errors
//! (`innererror.content_filter_result`).

use serde_json::Value;

use crate::wire::{open_enum, wire_struct};

open_enum! {
    /// Severity of a harm category.
    pub enum Severity {
        /// Safe.
        Safe = "safe",
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
    }
}

wire_struct! {
    /// A severity-graded category (`hate`, `sexual`, `violence`, `self_harm`).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct SeverityResult {
        /// Whether the content was blocked for this category.
        pub filtered: bool,
        /// The severity.
        pub severity: Option<Severity>,
    }
}

wire_struct! {
    /// A detected/not-detected category (`jailbreak`, `profanity`, ...).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct DetectionResult {
        /// Whether the content was blocked for this category.
        pub filtered: bool,
        /// Whether it was detected.
        pub detected: Option<bool>,
    }
}

wire_struct! {
    /// `protected_material_code`, which may cite the source.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ProtectedMaterialCodeResult {
        /// Whether the content was blocked.
        pub filtered: bool,
        /// Whether it was detected.
        pub detected: Option<bool>,
        /// `{URL, license}` of the matched code.
        pub citation: Option<Value>,
    }
}

wire_struct! {
    /// An error the filter itself hit.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ContentFilterError {
        /// Error code.
        pub code: Option<String>,
        /// Message.
        pub message: Option<String>,
    }
}

wire_struct! {
    /// Per-category results.
    ///
    /// ```
    /// use routewise_types::ContentFilterResults;
    /// let r: ContentFilterResults = serde_json::from_str(
    ///     r#"{"self_harm":{"filtered":true,"severity":"medium"},"jailbreak":{"filtered":false,"detected":false}}"#).unwrap();
    /// assert_eq!(r.filtered_categories(), vec!["self_harm"]);
    /// ```
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ContentFilterResults {
        /// Hate.
        pub hate: Option<SeverityResult>,
        /// Sexual.
        pub sexual: Option<SeverityResult>,
        /// Violence.
        pub violence: Option<SeverityResult>,
        /// Self-harm.
        pub self_harm: Option<SeverityResult>,
        /// Jailbreak attempt.
        pub jailbreak: Option<DetectionResult>,
        /// Task adherence.
        pub task_adherence: Option<DetectionResult>,
        /// Indirect attack.
        pub indirect_attack: Option<DetectionResult>,
        /// Protected text.
        pub protected_material_text: Option<DetectionResult>,
        /// Profanity.
        pub profanity: Option<DetectionResult>,
        /// Protected code.
        pub protected_material_code: Option<ProtectedMaterialCodeResult>,
        /// Custom blocklist results.
        pub custom_blocklists: Option<Value>,
        /// Custom topic results.
        pub custom_topics: Option<Value>,
        /// PII results.
        pub personally_identifiable_information: Option<Value>,
        /// An error of the filter itself.
        pub error: Option<ContentFilterError>,
    }
}

impl ContentFilterResults {
    /// Names of the known categories that were filtered.
    pub fn filtered_categories(&self) -> Vec<&'static str> {
        let severity = [
            ("hate", &self.hate),
            ("sexual", &self.sexual),
            ("violence", &self.violence),
            ("self_harm", &self.self_harm),
        ];
        let detection = [
            ("jailbreak", &self.jailbreak),
            ("task_adherence", &self.task_adherence),
            ("indirect_attack", &self.indirect_attack),
            ("protected_material_text", &self.protected_material_text),
            ("profanity", &self.profanity),
        ];
        let mut out: Vec<&'static str> = severity
            .into_iter()
            .filter(|(_, r)| r.as_ref().is_some_and(|r| r.filtered))
            .map(|(name, _)| name)
            .collect();
        out.extend(
            detection
                .into_iter()
                .filter(|(_, r)| r.as_ref().is_some_and(|r| r.filtered))
                .map(|(name, _)| name),
        );
        if self
            .protected_material_code
            .as_ref()
            .is_some_and(|r| r.filtered)
        {
            out.push("protected_material_code");
        }
        out
    }
}

wire_struct! {
    /// Where in the text a filter result applies.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ContentFilterOffsets {
        /// Start offset.
        pub start_offset: Option<i64>,
        /// End offset.
        pub end_offset: Option<i64>,
        /// Check offset.
        pub check_offset: Option<i64>,
    }
}

wire_struct! {
    /// One element of the Azure `content_filters` array on a response.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ContentFilter {
        /// Whether the content was blocked.
        pub blocked: Option<bool>,
        /// `prompt` or `completion`.
        pub source_type: Option<String>,
        /// Per-category results.
        pub content_filter_results: Option<ContentFilterResults>,
        /// Offsets.
        pub content_filter_offsets: Option<ContentFilterOffsets>,
    }
}
