//! The prompt side: every text a request carries to the model, checked before any upstream
//! call.

use routewise_types::{CreateResponse, Input, InputContent, InputItem, MessageContent};

use super::matcher::Matcher;

/// Indices of the blocklists matching any text of `req`: `instructions`, every message's
/// text parts (replayed assistant turns from `previous_response_id` included, since the
/// store has put them into `input` by now) and function-call outputs. Empty when clean.
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
                    _ => {}
                }
            }
        }
        None => {}
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
                    _ => {}
                }
            }
        }
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
        ] {
            let req: CreateResponse = routewise_types::parse(body.as_bytes()).unwrap();
            assert_eq!(hits(&m, &req), [0], "{body}");
        }
    }
}
