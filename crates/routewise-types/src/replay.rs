//! A whole response told as the stream of events that would have carried it: for a server
//! that answers `stream: true` with JSON (it ignores `stream`), so that a stream consumer still
//! sees the deltas, and the terminal event carries the response unchanged.
//!
//! The order is the Responses API's: `response.created`, `response.in_progress`, then for each
//! output item `output_item.added`, its content (a message's parts and their text as one
//! delta, a function call's arguments as one delta), `output_item.done`, and the terminal event
//! its status calls for. Numbered from 0. Items and parts of other types arrive whole.

use serde_json::{Map, Value, json};

/// Numbers events as they are written.
#[derive(Default)]
struct Writer {
    events: Vec<Value>,
}

impl Writer {
    fn push(&mut self, ty: &str, payload: Value) {
        let mut map = Map::new();
        map.insert("type".into(), Value::from(ty));
        map.insert("sequence_number".into(), Value::from(self.events.len()));
        if let Value::Object(fields) = payload {
            map.extend(fields);
        }
        self.events.push(Value::Object(map));
    }
}

/// The stream events (JSON objects with `type` and `sequence_number`) that tell `response`,
/// or `None` when it is not a JSON object.
///
/// ```
/// use serde_json::json;
/// let response = json!({"id": "resp_1", "object": "response", "status": "completed",
///     "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
///                 "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}]});
/// let events = routewise_types::replay(&response).unwrap();
/// assert_eq!(events[0]["type"], "response.created");
/// assert_eq!(events[4]["delta"], "Hi");
/// assert_eq!(events.last().unwrap()["response"], response);
/// ```
pub fn replay(response: &Value) -> Option<Vec<Value>> {
    let map = response.as_object()?;
    let output = match map.get("output") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => &[],
    };
    let mut opening = map.clone();
    opening.insert("status".into(), json!("in_progress"));
    opening.insert("output".into(), json!([]));
    for key in ["usage", "error", "incomplete_details", "completed_at"] {
        if opening.contains_key(key) {
            opening.insert(key.into(), Value::Null);
        }
    }
    let mut w = Writer::default();
    w.push("response.created", json!({"response": opening}));
    w.push("response.in_progress", json!({"response": opening}));
    for (index, item) in output.iter().enumerate() {
        match item.get("type").and_then(Value::as_str) {
            Some("message") => message(&mut w, index, item),
            Some("function_call") => function_call(&mut w, index, item),
            _ => {
                w.push(
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
                w.push(
                    "response.output_item.done",
                    json!({"output_index": index, "item": item}),
                );
            }
        }
    }
    let terminal = match map.get("status").and_then(Value::as_str) {
        Some("incomplete") => "response.incomplete",
        Some("failed") => "response.failed",
        _ => "response.completed",
    };
    w.push(terminal, json!({"response": response}));
    Some(w.events)
}

/// `v` with `key` set to `to`.
fn with(v: &Value, key: &str, to: Value) -> Value {
    let mut out = v.clone();
    if let Value::Object(m) = &mut out {
        m.insert(key.into(), to);
    }
    out
}

/// An output item as `output_item.added` shows it: in progress, `key` still empty.
fn opened(item: &Value, key: &str, empty: Value) -> Value {
    with(&with(item, "status", json!("in_progress")), key, empty)
}

fn message(w: &mut Writer, index: usize, item: &Value) {
    let id = item.get("id").cloned().unwrap_or(Value::Null);
    w.push(
        "response.output_item.added",
        json!({"output_index": index, "item": opened(item, "content", json!([]))}),
    );
    let parts = match item.get("content") {
        Some(Value::Array(parts)) => parts.as_slice(),
        _ => &[],
    };
    for (content_index, part) in parts.iter().enumerate() {
        // Every event of a part names where it belongs.
        let at = |fields: Value| {
            let mut v =
                json!({"item_id": id, "output_index": index, "content_index": content_index});
            if let (Value::Object(m), Value::Object(f)) = (&mut v, fields) {
                m.extend(f);
            }
            v
        };
        match part.get("type").and_then(Value::as_str) {
            Some("output_text") => {
                let text = part.get("text").cloned().unwrap_or(json!(""));
                let logprobs = part.get("logprobs").cloned().unwrap_or(json!([]));
                let empty = with(part, "text", json!(""));
                w.push("response.content_part.added", at(json!({"part": empty})));
                w.push(
                    "response.output_text.delta",
                    at(json!({"delta": text, "logprobs": logprobs})),
                );
                w.push(
                    "response.output_text.done",
                    at(json!({"text": text, "logprobs": logprobs})),
                );
            }
            Some("refusal") => {
                let refusal = part.get("refusal").cloned().unwrap_or(json!(""));
                let empty = with(part, "refusal", json!(""));
                w.push("response.content_part.added", at(json!({"part": empty})));
                w.push("response.refusal.delta", at(json!({"delta": refusal})));
                w.push("response.refusal.done", at(json!({"refusal": refusal})));
            }
            // A part type without deltas arrives whole.
            _ => w.push("response.content_part.added", at(json!({"part": part}))),
        }
        w.push("response.content_part.done", at(json!({"part": part})));
    }
    w.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item}),
    );
}

fn function_call(w: &mut Writer, index: usize, item: &Value) {
    let id = item.get("id").cloned().unwrap_or(Value::Null);
    let arguments = item.get("arguments").cloned().unwrap_or(json!(""));
    w.push(
        "response.output_item.added",
        json!({"output_index": index, "item": opened(item, "arguments", json!(""))}),
    );
    w.push(
        "response.function_call_arguments.delta",
        json!({"item_id": id, "output_index": index, "delta": arguments}),
    );
    w.push(
        "response.function_call_arguments.done",
        json!({"item_id": id, "output_index": index, "arguments": arguments, "name": item.get("name")}),
    );
    w.push(
        "response.output_item.done",
        json!({"output_index": index, "item": item}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(events: &[Value]) -> Vec<(String, Value)> {
        events
            .iter()
            .map(|e| (e["type"].as_str().unwrap().to_owned(), e.clone()))
            .collect()
    }

    #[test]
    fn a_response_becomes_its_event_sequence() {
        let response = json!({
            "id": "r", "object": "response", "status": "incomplete", "usage": {"input_tokens": 1},
            "output": [
                {"id": "m", "type": "message", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Hi", "annotations": []},
                             {"type": "refusal", "refusal": "No"}]},
                {"id": "f", "type": "function_call", "status": "completed", "call_id": "c",
                 "name": "go", "arguments": "{}"}
            ]
        });
        let events = parsed(&replay(&response).unwrap());
        let kinds: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.content_part.added",
                "response.refusal.delta",
                "response.refusal.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.incomplete",
            ]
        );
        for (i, (ty, v)) in events.iter().enumerate() {
            assert_eq!(v["type"], *ty);
            assert_eq!(v["sequence_number"], i);
        }
        let created = &events[0].1["response"];
        assert_eq!(created["status"], "in_progress");
        assert_eq!(created["output"], json!([]));
        assert_eq!(created["usage"], Value::Null);
        assert_eq!(events[2].1["item"]["content"], json!([]));
        assert_eq!(
            events[3].1["part"],
            json!({"type": "output_text", "text": "", "annotations": []})
        );
        assert_eq!(events[4].1["delta"], "Hi");
        assert_eq!(events[4].1["item_id"], "m");
        assert_eq!(events[8].1["content_index"], 1);
        assert_eq!(events[12].1["item"]["arguments"], "");
        assert_eq!(events[14].1["name"], "go");
        assert_eq!(events[16].1["response"], response);
    }

    #[test]
    fn anything_else_is_not_a_response() {
        assert!(replay(&json!([1, 2])).is_none());
        assert!(replay(&json!("text")).is_none());
    }
}
