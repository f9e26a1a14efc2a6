//! Requests built with our constructors, covering every request shape we model.

use routewise_types::{
    CreateResponse, FunctionCall, FunctionCallOutput, FunctionTool, ImageDetail, InputContent,
    InputFile, InputImage, InputItem, InputMessage, ItemReference, OutputItem, OutputMessage,
    Reasoning, ReasoningEffort, TextConfig, TextFormat, TextFormatJsonObject, ToolChoice,
    ToolChoiceAllowedTools, ToolChoiceMode, Truncation, Verbosity,
};
use serde_json::json;

/// Named requests, serialised.
pub(crate) fn built() -> Vec<(&'static str, serde_json::Value)> {
    let weather = FunctionTool::new("get_weather")
        .with_description("Get the weather for a location")
        .with_parameters(json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}))
        .with_strict(true);
    let image = InputImage {
        detail: Some(ImageDetail::Auto),
        ..InputImage::url("data:image/png;base64,iVBORw0KGgo=")
    };
    let file = InputFile {
        filename: Some("report.pdf".into()),
        file_data: Some("data:application/pdf;base64,JVBERi0=".into()),
        ..InputFile::default()
    };
    let replay_message: InputItem =
        OutputItem::Message(OutputMessage::text("msg_1", "It is sunny.")).into();
    let replay_call: InputItem = OutputItem::FunctionCall(FunctionCall {
        id: Some("fc_1".into()),
        ..FunctionCall::new("call_1", "get_weather", r#"{"location":"Paris"}"#)
    })
    .into();
    let requests = vec![
        ("text input", CreateResponse::new("model-router", "Explain retrieval-augmented generation in one sentence.")),
        (
            "typed and easy messages with parts",
            CreateResponse::default()
                .with_model("gpt-4.1-nano")
                .with_input_item(InputItem::EasyMessage(InputMessage::developer("Be brief.")))
                .with_input_item(InputMessage::user(vec![
                    InputContent::text("What is in these?"),
                    InputContent::InputImage(image),
                    InputContent::InputFile(file),
                ])),
        ),
        (
            "function tools, replayed output and function_call_output",
            CreateResponse::new("gpt-4o", "What is the weather in Paris?")
                .with_tool(weather.clone())
                .with_tool_choice(ToolChoiceMode::Required)
                .with_input_item(replay_message)
                .with_input_item(replay_call)
                .with_input_item(FunctionCallOutput::new("call_1", r#"{"temperature":"21C"}"#)),
        ),
        (
            "chaining and item reference",
            CreateResponse::default()
                .with_model("gpt-4o")
                .with_previous_response_id("resp_123")
                .with_input_item(InputItem::ItemReference(ItemReference { id: "msg_0".into(), ..Default::default() })),
        ),
        (
            "tool_choice function",
            CreateResponse::new("gpt-4o", "x").with_tool(weather.clone()).with_tool_choice(ToolChoice::function("get_weather")),
        ),
        (
            "tool_choice allowed_tools",
            CreateResponse::new("gpt-4o", "x").with_tool(weather).with_tool_choice(ToolChoice::AllowedTools(
                ToolChoiceAllowedTools {
                    mode: Some(ToolChoiceMode::Auto),
                    tools: vec![json!({"type": "function", "name": "get_weather"})],
                    ..Default::default()
                },
            )),
        ),
        (
            "json_schema text format, reasoning, sampling, limits",
            CreateResponse::new("o4-mini", "Give me a JSON answer.")
                .with_text(TextConfig {
                    verbosity: Some(Verbosity::Low),
                    ..TextConfig::json_schema("answer", json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}))
                })
                .with_reasoning(Reasoning::effort(ReasoningEffort::High))
                .with_temperature(0.2)
                .with_top_p(0.9)
                .with_max_output_tokens(512)
                .with_include("reasoning.encrypted_content")
                .with_store(false)
                .with_truncation(Truncation::Auto),
        ),
        (
            "json_object format, metadata, cache key, stream",
            CreateResponse::new("gpt-4.1", "List three colours as JSON.")
                .with_text(TextConfig { format: Some(TextFormat::JsonObject(TextFormatJsonObject::default())), ..Default::default() })
                .with_metadata("tenant", "acme")
                .with_prompt_cache_key("tenant-acme")
                .with_instructions("Answer in JSON.")
                .with_stream(true),
        ),
    ];
    requests
        .into_iter()
        .map(|(name, request)| (name, serde_json::to_value(&request).unwrap_or_default()))
        .collect()
}
