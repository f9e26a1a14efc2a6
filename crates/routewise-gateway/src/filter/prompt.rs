//! The prompt side: every text a request carries to the model, checked before any upstream
//! call.

use routewise_types::{
    CreateResponse, Input, InputContent, InputItem, MessageContent, TextFormat, Tool,
};
use serde_json::Value;

use super::matcher::Matcher;

/// Indices of the blocklists matching any text of `req`: `instructions`; every message's
/// text parts (replayed assistant turns from `previous_response_id` included, since the
/// store has put them into `input` by now); function calls' arguments and outputs; the
/// tools (names, descriptions, parameter schemas) and the structured-output format, which
/// the model reads too; and the strings of any item or part of a kind this gateway does not
/// know (a `{"type": "text"}` part, say), since an upstream may still show them to the
/// model. Empty when clean.
pub(crate) fn hits(m: &Matcher, req: &CreateResponse) -> Vec<usize> {
    let mut hits = Vec::new();
    let mut check = |text: &str| m.collect_hits(text, &mut hits);
    if let Some(instructions) = &req.instructions {
        check(instructions);
    }
    match &req.input {
        Some(Input::Text(text)) => check(text),
        Some(Input::Items(items)) => {
            for item in items {
                match item {
                    InputItem::EasyMessage(msg) | InputItem::Message(msg) => {
                        content(&msg.content, &mut check);
                    }
                    InputItem::FunctionCallOutput(out) => content(&out.output, &mut check),
                    InputItem::FunctionCall(call) => check(&call.arguments),
                    InputItem::Unknown(v) => strings(v, &mut check),
                    _ => {}
                }
            }
        }
        None => {}
    }
    for tool in req.tools.iter().flatten() {
        match tool {
            Tool::Function(f) => {
                check(&f.name);
                if let Some(d) = &f.description {
                    check(d);
                }
                if let Some(p) = &f.parameters {
                    strings(p, &mut check);
                }
                // Fields this gateway does not know may still reach the model.
                f.extra.values().for_each(|v| strings(v, &mut check));
            }
            Tool::Unknown(v) => strings(v, &mut check),
        }
    }
    match req.text.as_ref().and_then(|t| t.format.as_ref()) {
        Some(TextFormat::JsonSchema(f)) => {
            check(&f.name);
            if let Some(d) = &f.description {
                check(d);
            }
            strings(&f.schema, &mut check);
            f.extra.values().for_each(|v| strings(v, &mut check));
        }
        Some(TextFormat::Unknown(v)) => strings(v, &mut check),
        _ => {}
    }
    hits
}

fn content(c: &MessageContent, check: &mut impl FnMut(&str)) {
    match c {
        MessageContent::Text(text) => check(text),
        MessageContent::Parts(parts) => {
            for part in parts {
                match part {
                    InputContent::InputText(p) => check(&p.text),
                    InputContent::OutputText(p) => check(&p.text),
                    InputContent::Refusal(p) => check(&p.refusal),
                    InputContent::Unknown(v) => strings(v, check),
                    _ => {}
                }
            }
        }
    }
}

/// Every string inside `v`, keys included: a schema's property names are read by the model
/// as much as its descriptions.
fn strings(v: &Value, check: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => check(s),
        Value::Array(items) => items.iter().for_each(|i| strings(i, check)),
        Value::Object(map) => map.iter().for_each(|(k, i)| {
            check(k);
            strings(i, check);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Blocklist;

    #[test]
    fn every_text_of_the_request_is_checked() {
        let m = Matcher::compile(&[Blocklist::new("l").with_term("falcon")], 16).unwrap();
        let clean: CreateResponse =
            routewise_types::parse(br#"{"model": "m", "input": "falconry is fine"}"#).unwrap();
        assert!(hits(&m, &clean).is_empty());
        for body in [
            r#"{"model": "m", "instructions": "Falcon!", "input": "x"}"#,
            r#"{"model": "m", "input": "a falcon"}"#,
            r#"{"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "FALCON"}]}]}"#,
            r#"{"model": "m", "input": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "the falcon"}]}, {"role": "user", "content": "go on"}]}"#,
            r#"{"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": "falcon"}]}"#,
            r#"{"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"q\": \"falcon\"}"}]}"#,
            r#"{"model": "m", "input": [{"role": "user", "content": [{"type": "text", "text": "falcon"}]}]}"#,
            r#"{"model": "m", "input": [{"type": "future_item", "note": "falcon"}]}"#,
            r#"{"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "description": "ask the falcon"}]}"#,
            r#"{"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {"q": {"type": "string", "description": "a falcon"}}}}]}"#,
            r#"{"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "s", "description": "falcon facts", "schema": {"type": "object"}}}}"#,
            r#"{"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object", "properties": {"falcon": {"type": "string"}}}}}}"#,
            r#"{"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {"falcon": {"type": "string"}}}}]}"#,
            r#"{"model": "m", "input": "x", "tools": [{"type": "web_search_preview", "note": "falcon"}]}"#,
            r#"{"model": "m", "input": "x", "tools": [{"type": "function", "name": "f", "examples": ["falcon"]}]}"#,
        ] {
            let req: CreateResponse = routewise_types::parse(body.as_bytes()).unwrap();
            assert_eq!(hits(&m, &req), [0], "{body}");
        }
    }
}
