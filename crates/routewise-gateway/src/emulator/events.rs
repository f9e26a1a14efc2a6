//! The emulator's wire output: the Response object and the standard stream event sequence.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::upstream::SseEvent;

/// Everything that varies between two emulated answers.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub response_id: String,
    pub message_id: String,
    pub reasoning_id: Option<String>,
    pub model: String,
    pub created_at: u64,
    pub text: String,
    pub input_tokens: u32,
    pub cached_tokens: u32,
    pub output_tokens: u32,
    pub reasoning_tokens: u32,
    /// Set when `max_output_tokens` cut the answer short.
    pub truncated: bool,
    /// The request's `include` asked for `reasoning.encrypted_content`: the reasoning item
    /// carries an opaque blob, as a stateless multi-turn client needs.
    pub encrypted_reasoning: bool,
    /// A function call answered instead of a message; `text` is then its `arguments`, and
    /// `message_id` the call item's id.
    pub call: Option<Call>,
}

/// The function an emulated answer calls.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub call_id: String,
    pub name: String,
}

impl Answer {
    pub(crate) fn usage(&self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        })
    }

    fn output_text_part(&self, text: &str) -> Value {
        json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    }

    fn message_item(&self, status: &str, text: Option<&str>) -> Value {
        let content = match text {
            Some(t) => vec![self.output_text_part(t)],
            None => Vec::new(),
        };
        json!({"id": self.message_id, "type": "message", "status": status, "role": "assistant", "content": content})
    }

    fn call_item(&self, call: &Call, status: &str, arguments: &str) -> Value {
        json!({"id": self.message_id, "type": "function_call", "status": status, "call_id": call.call_id, "name": call.name, "arguments": arguments})
    }

    /// The answer's last output item: the message, or the function call.
    fn final_item(&self, status: &str, text: Option<&str>) -> Value {
        match &self.call {
            Some(call) => self.call_item(call, status, text.unwrap_or("")),
            None => self.message_item(status, text),
        }
    }

    fn reasoning_item(&self) -> Option<Value> {
        self.reasoning_id.as_ref().map(|id| {
            let mut item = json!({"id": id, "type": "reasoning", "summary": []});
            if self.encrypted_reasoning {
                item["encrypted_content"] = Value::String(format!("emulated-{id}"));
            }
            item
        })
    }

    fn message_index(&self) -> usize {
        usize::from(self.reasoning_id.is_some())
    }

    /// The Response object in a given state. `request` supplies the echoed settings.
    pub(crate) fn response(
        &self,
        request: &Map<String, Value>,
        status: &str,
        error: Option<Value>,
    ) -> Value {
        let finished = status != "in_progress";
        let mut output = Vec::new();
        if finished && status != "failed" {
            output.extend(self.reasoning_item());
            output.push(self.final_item(
                if self.truncated {
                    "incomplete"
                } else {
                    "completed"
                },
                Some(&self.text),
            ));
        }
        let echo = |key: &str, default: Value| request.get(key).cloned().unwrap_or(default);
        let mut r = json!({
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": false,
            "error": error,
            "incomplete_details": if status == "incomplete" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
            "instructions": echo("instructions", Value::Null),
            "max_output_tokens": echo("max_output_tokens", Value::Null),
            "max_tool_calls": echo("max_tool_calls", Value::Null),
            "model": self.model,
            "output": output,
            "parallel_tool_calls": echo("parallel_tool_calls", Value::Bool(true)),
            "previous_response_id": echo("previous_response_id", Value::Null),
            "prompt_cache_key": echo("prompt_cache_key", Value::Null),
            "reasoning": echo("reasoning", if self.reasoning_id.is_some() { json!({"effort": "medium", "summary": null}) } else { json!({"effort": null, "summary": null}) }),
            "safety_identifier": echo("safety_identifier", Value::Null),
            "service_tier": "default",
            "store": echo("store", Value::Bool(true)),
            "temperature": echo("temperature", json!(1.0)),
            "text": echo("text", json!({"format": {"type": "text"}, "verbosity": "medium"})),
            "tool_choice": echo("tool_choice", json!("auto")),
            "tools": echo("tools", json!([])),
            "top_p": echo("top_p", json!(1.0)),
            "truncation": echo("truncation", json!("disabled")),
            "usage": if finished { self.usage() } else { Value::Null },
            "user": echo("user", Value::Null),
            "metadata": echo("metadata", json!({})),
            "content_filters": [],
        });
        if finished {
            r["completed_at"] = json!(self.created_at);
        }
        r
    }
}

/// Builds numbered events; `sequence_number` starts at 0 and grows by one per event.
#[derive(Debug, Default)]
pub(crate) struct EventWriter {
    seq: u64,
}

impl EventWriter {
    pub(crate) fn event(&mut self, ty: &str, mut payload: Value) -> SseEvent {
        if let Value::Object(map) = &mut payload {
            // Keep `type` and `sequence_number` first, as OpenAI does, for readable traces.
            let mut out = Map::with_capacity(map.len() + 2);
            out.insert("type".into(), Value::String(ty.to_owned()));
            out.insert("sequence_number".into(), Value::from(self.seq));
            out.append(map);
            payload = Value::Object(out);
        }
        self.seq += 1;
        SseEvent {
            ty: ty.to_owned(),
            data: Bytes::from(serde_json::to_vec(&payload).unwrap_or_default()),
        }
    }

    pub(crate) fn created(&mut self, a: &Answer, req: &Map<String, Value>) -> [SseEvent; 2] {
        let r = a.response(req, "in_progress", None);
        [
            self.event("response.created", json!({"response": r})),
            self.event("response.in_progress", json!({"response": r})),
        ]
    }

    /// Reasoning item (if any), then the message item and its empty text part.
    pub(crate) fn opening(&mut self, a: &Answer) -> Vec<SseEvent> {
        let mut out = Vec::with_capacity(4);
        if let Some(item) = a.reasoning_item() {
            out.push(self.event(
                "response.output_item.added",
                json!({"output_index": 0, "item": item}),
            ));
            out.push(self.event(
                "response.output_item.done",
                json!({"output_index": 0, "item": item}),
            ));
        }
        let idx = a.message_index();
        out.push(self.event(
            "response.output_item.added",
            json!({"output_index": idx, "item": a.final_item("in_progress", None)}),
        ));
        if a.call.is_none() {
            out.push(self.event(
                "response.content_part.added",
                json!({"item_id": a.message_id, "output_index": idx, "content_index": 0, "part": a.output_text_part("")}),
            ));
        }
        out
    }

    pub(crate) fn delta(&mut self, a: &Answer, delta: &str) -> SseEvent {
        if a.call.is_some() {
            return self.event(
                "response.function_call_arguments.delta",
                json!({"item_id": a.message_id, "output_index": a.message_index(), "delta": delta}),
            );
        }
        self.event(
            "response.output_text.delta",
            json!({"item_id": a.message_id, "output_index": a.message_index(), "content_index": 0, "delta": delta, "logprobs": []}),
        )
    }

    /// Text done, part done, item done, and the terminal `response.completed` (or `.incomplete`).
    pub(crate) fn closing(&mut self, a: &Answer, req: &Map<String, Value>) -> Vec<SseEvent> {
        let idx = a.message_index();
        let status = if a.truncated {
            "incomplete"
        } else {
            "completed"
        };
        if let Some(call) = &a.call {
            return vec![
                self.event(
                    "response.function_call_arguments.done",
                    json!({"item_id": a.message_id, "output_index": idx, "name": call.name, "arguments": a.text}),
                ),
                self.event("response.output_item.done", json!({"output_index": idx, "item": a.call_item(call, status, &a.text)})),
                self.event(&format!("response.{status}"), json!({"response": a.response(req, status, None)})),
            ];
        }
        vec![
            self.event(
                "response.output_text.done",
                json!({"item_id": a.message_id, "output_index": idx, "content_index": 0, "text": a.text, "logprobs": []}),
            ),
            self.event(
                "response.content_part.done",
                json!({"item_id": a.message_id, "output_index": idx, "content_index": 0, "part": a.output_text_part(&a.text)}),
            ),
            self.event("response.output_item.done", json!({"output_index": idx, "item": a.message_item(status, Some(&a.text))})),
            self.event(&format!("response.{status}"), json!({"response": a.response(req, status, None)})),
        ]
    }

    /// An in-band failure: OpenAI's order, `error` then `response.failed`.
    pub(crate) fn failure(
        &mut self,
        a: &Answer,
        req: &Map<String, Value>,
        message: &str,
    ) -> [SseEvent; 2] {
        let err = json!({"code": "server_error", "message": message});
        [
            self.event(
                "error",
                json!({"code": "server_error", "message": message, "param": null}),
            ),
            self.event(
                "response.failed",
                json!({"response": a.response(req, "failed", Some(err))}),
            ),
        ]
    }
}
