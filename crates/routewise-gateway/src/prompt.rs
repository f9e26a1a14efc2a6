//! What a request says, as plain text: for the emulator's answers and token counts.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// The text parts of a Responses request, borrowed from its JSON.
#[derive(Debug, Default)]
pub(crate) struct PromptParts<'a> {
    pub instructions: Option<&'a str>,
    /// `(role, text)` per input message, in order.
    pub messages: Vec<(&'a str, Cow<'a, str>)>,
    /// Tool definitions as given, for token counting and the cache prefix.
    pub tools: Option<&'a Value>,
}

impl<'a> PromptParts<'a> {
    pub(crate) fn from_body(body: &'a Map<String, Value>) -> Self {
        let mut out = PromptParts {
            instructions: body.get("instructions").and_then(Value::as_str),
            ..Self::default()
        };
        match body.get("input") {
            Some(Value::String(s)) => out.messages.push(("user", Cow::Borrowed(s))),
            Some(Value::Array(items)) => {
                for item in items {
                    match (
                        item.get("role").and_then(Value::as_str),
                        item.get("content"),
                    ) {
                        (Some(role), Some(content)) => {
                            out.messages.push((role, content_text(content)))
                        }
                        _ => {
                            if let Some(s) = item.get("output").and_then(Value::as_str) {
                                out.messages.push(("tool", Cow::Borrowed(s)));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        out.tools = body.get("tools").filter(|t| t.is_array());
        out
    }

    /// The last user message, or "".
    pub(crate) fn last_user(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|(r, _)| *r == "user")
            .map(|(_, t)| t.as_ref())
            .unwrap_or("")
    }
}

fn content_text(content: &Value) -> Cow<'_, str> {
    match content {
        Value::String(s) => Cow::Borrowed(s),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| {
                    p.get("text")
                        .or_else(|| p.get("refusal"))
                        .and_then(Value::as_str)
                })
                .collect();
            match texts.as_slice() {
                [] => Cow::Borrowed(""),
                [one] => Cow::Borrowed(one),
                many => Cow::Owned(many.join("\n")),
            }
        }
        _ => Cow::Borrowed(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_and_item_inputs() {
        let body = json!({"instructions": "Be brief.", "input": "Hi there"});
        let p = PromptParts::from_body(body.as_object().unwrap());
        assert_eq!(p.instructions, Some("Be brief."));
        assert_eq!(p.last_user(), "Hi there");

        let body = json!({"input": [
            {"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "c"}]},
            {"type": "function_call_output", "call_id": "call_1", "output": "42"},
            {"role": "user", "content": "d"}
        ], "tools": [{"type": "function", "name": "get_weather"}]});
        let p = PromptParts::from_body(body.as_object().unwrap());
        let texts: Vec<&str> = p.messages.iter().map(|(_, t)| t.as_ref()).collect();
        assert_eq!(texts, vec!["a\nb", "c", "42", "d"]);
        assert_eq!(p.last_user(), "d");
        assert!(p.tools.is_some());
    }
}
