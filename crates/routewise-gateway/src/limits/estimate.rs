//! The token estimate a request is charged at admission, as Azure charges TPM: the prompt's
//! estimated tokens plus `max_output_tokens`.
//!
//! The prompt side uses the emulator's word-aware estimator (about four characters per token,
//! three tokens of framing per message), walking the typed request without copying or
//! re-encoding it. Images and files count a flat [`ATTACHMENT_TOKENS`]; their real cost depends
//! on detail and pages the gateway does not decode. Without `max_output_tokens` only the prompt
//! is charged: the gateway never charges after the fact.

use routewise_types::{CreateResponse, Input, InputContent, InputItem, MessageContent, Tool};
use serde_json::Value;

use crate::emulator::tokens::{MESSAGE_OVERHEAD, estimate};

/// Flat charge for an image or file part (OpenAI's low-detail image cost).
pub(crate) const ATTACHMENT_TOKENS: u64 = 85;

/// Estimated prompt tokens of `req` (instructions, input, tool definitions).
pub(crate) fn prompt_tokens(req: &CreateResponse) -> u64 {
    let mut n = 0u64;
    if let Some(i) = &req.instructions {
        n += u64::from(MESSAGE_OVERHEAD + estimate(i));
    }
    match &req.input {
        Some(Input::Text(text)) => n += u64::from(MESSAGE_OVERHEAD + estimate(text)),
        Some(Input::Items(items)) => n += items.iter().map(item_tokens).sum::<u64>(),
        None => {}
    }
    if let Some(tools) = &req.tools {
        n += tools.iter().map(tool_tokens).sum::<u64>();
    }
    n
}

/// What admission charges against a token bucket: the prompt plus `max_output_tokens`.
pub(crate) fn request_tokens(req: &CreateResponse) -> u64 {
    prompt_tokens(req).saturating_add(req.max_output_tokens.unwrap_or(0))
}

fn item_tokens(item: &InputItem) -> u64 {
    let overhead = u64::from(MESSAGE_OVERHEAD);
    overhead
        + match item {
            InputItem::EasyMessage(m) | InputItem::Message(m) => content_tokens(&m.content),
            InputItem::FunctionCall(c) => {
                u64::from(estimate(&c.name)) + u64::from(estimate(&c.arguments))
            }
            InputItem::FunctionCallOutput(o) => content_tokens(&o.output),
            _ => 0,
        }
}

fn content_tokens(content: &MessageContent) -> u64 {
    match content {
        MessageContent::Text(text) => u64::from(estimate(text)),
        MessageContent::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                InputContent::InputText(t) => u64::from(estimate(&t.text)),
                InputContent::OutputText(t) => u64::from(estimate(&t.text)),
                InputContent::Refusal(r) => u64::from(estimate(&r.refusal)),
                InputContent::InputImage(_) | InputContent::InputFile(_) => ATTACHMENT_TOKENS,
                _ => 0,
            })
            .sum(),
    }
}

fn tool_tokens(tool: &Tool) -> u64 {
    let overhead = u64::from(MESSAGE_OVERHEAD);
    match tool {
        Tool::Function(f) => {
            overhead
                + u64::from(estimate(&f.name))
                + f.description
                    .as_deref()
                    .map_or(0, |d| u64::from(estimate(d)))
                + f.parameters.as_ref().map_or(0, schema_tokens)
        }
        _ => overhead,
    }
}

/// Keys and string values of a JSON schema, one estimate each, without encoding it.
fn schema_tokens(v: &Value) -> u64 {
    match v {
        Value::String(s) => u64::from(estimate(s)),
        Value::Array(a) => a.iter().map(schema_tokens).sum(),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| u64::from(estimate(k)) + schema_tokens(v))
            .sum(),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> CreateResponse {
        routewise_types::parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_string_input_is_one_message() {
        let req = parse(serde_json::json!({"model": "m", "input": "one two six ten"}));
        assert_eq!(prompt_tokens(&req), 4 + 3);
        assert_eq!(
            request_tokens(&req),
            7,
            "no max_output_tokens: the prompt only"
        );
    }

    #[test]
    fn everything_the_upstream_reads_is_counted() {
        let req = parse(serde_json::json!({
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": [
                    {"type": "input_text", "text": "Describe"},
                    {"type": "input_image", "image_url": "https://x/y.png"}
                ]},
                {"type": "function_call", "call_id": "c", "name": "get", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c", "output": "sunny"}
            ],
            "tools": [{"type": "function", "name": "get", "description": "Weather now",
                       "parameters": {"type": "object"}}],
            "max_output_tokens": 100
        }));
        // Words of n characters count ceil(n/4): instructions 3+3, message 3+2+85 (an image
        // is flat), call 3+1+1, output 3+2, tool 3+1+3 and its schema's "type"/"object" 1+2.
        let prompt = 6 + 90 + 5 + 5 + 10;
        assert_eq!(prompt_tokens(&req), prompt);
        assert_eq!(request_tokens(&req), prompt + 100);
    }
}
