//! Content parts: what goes inside messages, in both directions.

use serde_json::Value;

use crate::wire::{wire_enum, wire_struct};

wire_struct! {
    /// `{"type":"output_text"}`: text the model produced.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct OutputText tag "output_text" {
        /// The text.
        pub text: String,
        /// Citations and file references inside the text.
        pub annotations: Option<Vec<Annotation>>,
        /// Token log probabilities, when `include` asked for them.
        pub logprobs: Option<Vec<Value>>,
    }
}

impl OutputText {
    /// A text part with empty `annotations` and `logprobs`, as the API sends it.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            annotations: Some(Vec::new()),
            logprobs: Some(Vec::new()),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// `{"type":"refusal"}`: the model declined.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Refusal tag "refusal" {
        /// The refusal explanation.
        pub refusal: String,
    }
}

wire_struct! {
    /// `{"type":"reasoning_text"}`: raw reasoning text (reasoning items and content-part events).
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ReasoningText tag "reasoning_text" {
        /// The reasoning text.
        pub text: String,
    }
}

wire_struct! {
    /// `{"type":"summary_text"}`: one part of a reasoning summary.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct SummaryText tag "summary_text" {
        /// The summary text.
        pub text: String,
    }
}

wire_enum! {
    /// A content part of an output message (or of a `response.content_part.*` event).
    ///
    /// ```
    /// use routewise_types::OutputContent;
    /// let part: OutputContent = serde_json::from_str(r#"{"type":"output_text","text":"hi","annotations":[]}"#).unwrap();
    /// assert!(matches!(&part, OutputContent::OutputText(t) if t.text == "hi"));
    /// let odd: OutputContent = serde_json::from_str(r#"{"type":"hologram","depth":3}"#).unwrap();
    /// assert_eq!(odd.type_name(), "hologram");
    /// ```
    pub enum OutputContent {
        /// Generated text.
        "output_text" => OutputText(OutputText),
        /// A refusal.
        "refusal" => Refusal(Refusal),
        /// Reasoning text.
        "reasoning_text" => ReasoningText(ReasoningText),
    }
}

wire_enum! {
    /// A part of a reasoning summary.
    pub enum SummaryPart {
        /// Summary text.
        "summary_text" => SummaryText(SummaryText),
    }
}

wire_struct! {
    /// `{"type":"url_citation"}`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct UrlCitation tag "url_citation" {
        /// The cited URL.
        pub url: Option<String>,
        /// The page title.
        pub title: Option<String>,
        /// First character of the citation in the text.
        pub start_index: Option<u64>,
        /// Character after the citation in the text.
        pub end_index: Option<u64>,
    }
}

wire_struct! {
    /// `{"type":"file_citation"}`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct FileCitation tag "file_citation" {
        /// The cited file.
        pub file_id: Option<String>,
        /// Its name.
        pub filename: Option<String>,
        /// Position in the text.
        pub index: Option<u64>,
    }
}

wire_struct! {
    /// `{"type":"container_file_citation"}`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct ContainerFileCitation tag "container_file_citation" {
        /// The container.
        pub container_id: Option<String>,
        /// The cited file.
        pub file_id: Option<String>,
        /// Its name.
        pub filename: Option<String>,
        /// First character of the citation in the text.
        pub start_index: Option<u64>,
        /// Character after the citation in the text.
        pub end_index: Option<u64>,
    }
}

wire_struct! {
    /// `{"type":"file_path"}`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct FilePath tag "file_path" {
        /// The file.
        pub file_id: Option<String>,
        /// Position in the text.
        pub index: Option<u64>,
    }
}

wire_enum! {
    /// An annotation on generated text.
    pub enum Annotation {
        /// A web citation.
        "url_citation" => UrlCitation(UrlCitation),
        /// A file citation.
        "file_citation" => FileCitation(FileCitation),
        /// A citation of a file in a container.
        "container_file_citation" => ContainerFileCitation(ContainerFileCitation),
        /// A path to a generated file.
        "file_path" => FilePath(FilePath),
    }
}

wire_struct! {
    /// `{"type":"input_text"}`.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct InputText tag "input_text" {
        /// The text.
        pub text: String,
    }
}

crate::wire::open_enum! {
    /// How closely the model looks at an image.
    pub enum ImageDetail {
        /// Low resolution.
        Low = "low",
        /// High resolution.
        High = "high",
        /// Let the model choose (the documented default).
        Auto = "auto",
        /// Original resolution.
        Original = "original",
    }
}

wire_struct! {
    /// `{"type":"input_image"}`: an image by URL, data URL or file id.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct InputImage tag "input_image" {
        /// `https://…` or `data:image/…;base64,…`.
        pub image_url: Option<String>,
        /// An uploaded file.
        pub file_id: Option<String>,
        /// Resolution hint.
        pub detail: Option<ImageDetail>,
    }
}

impl InputImage {
    /// An image by URL (or data URL).
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            image_url: Some(url.into()),
            ..Self::default()
        }
    }
}

wire_struct! {
    /// `{"type":"input_file"}`: a file by id, inline data or URL.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct InputFile tag "input_file" {
        /// An uploaded file.
        pub file_id: Option<String>,
        /// `data:application/pdf;base64,…`.
        pub file_data: Option<String>,
        /// The file name.
        pub filename: Option<String>,
        /// A URL to fetch the file from.
        pub file_url: Option<String>,
    }
}

wire_enum! {
    /// A content part inside an input message; assistant turns replayed as input carry output parts.
    ///
    /// ```
    /// use routewise_types::{InputContent, InputText};
    /// let part = InputContent::InputText(InputText { text: "hi".into(), ..Default::default() });
    /// assert_eq!(serde_json::to_string(&part).unwrap(), r#"{"type":"input_text","text":"hi"}"#);
    /// ```
    pub enum InputContent {
        /// Text.
        "input_text" => InputText(InputText),
        /// An image.
        "input_image" => InputImage(InputImage),
        /// A file.
        "input_file" => InputFile(InputFile),
        /// Generated text from a replayed assistant message.
        "output_text" => OutputText(OutputText),
        /// A refusal from a replayed assistant message.
        "refusal" => Refusal(Refusal),
    }
}

impl InputContent {
    /// An `input_text` part.
    pub fn text(text: impl Into<String>) -> Self {
        Self::InputText(InputText {
            text: text.into(),
            ..InputText::default()
        })
    }
}
