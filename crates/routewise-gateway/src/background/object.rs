//! The response objects and stream events the gateway writes itself for a background
//! response: `queued` at submission, `cancelled`, `failed`, and the renumbering of the
//! upstream's events behind the gateway's own `response.created` and `response.queued`.

use bytes::Bytes;
use routewise_types::CreateResponse;
use serde_json::{Map, Value, json};

use crate::store::LoggedEvent;

/// Statuses after which a response never changes.
pub(crate) fn is_terminal_status(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "incomplete" | "cancelled")
}

/// The status of a response object, if it has one.
pub(crate) fn status_of(response: &Value) -> Option<&str> {
    response.get("status").and_then(Value::as_str)
}

/// True when the response was created with `background: true`.
pub(crate) fn is_background(response: &Value) -> bool {
    response.get("background").and_then(Value::as_bool) == Some(true)
}

/// A fresh response id in OpenAI's shape (`resp_` and 48 hex digits).
pub(crate) fn new_response_id() -> String {
    let bytes: [u8; 24] = rand::random();
    let mut id = String::with_capacity(53);
    id.push_str("resp_");
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// The response object a background request answers with at once: status `queued`, the
/// request's settings echoed, no output and no usage yet.
pub(crate) fn queued(id: &str, req: &CreateResponse, created_at: u64) -> Value {
    let body = match serde_json::to_value(req) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let echo = |key: &str, default: Value| body.get(key).cloned().unwrap_or(default);
    json!({
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": "queued",
        "background": true,
        "completed_at": null,
        "error": null,
        "incomplete_details": null,
        "instructions": echo("instructions", Value::Null),
        "max_output_tokens": echo("max_output_tokens", Value::Null),
        "max_tool_calls": echo("max_tool_calls", Value::Null),
        "model": echo("model", Value::Null),
        "output": [],
        "parallel_tool_calls": echo("parallel_tool_calls", Value::Bool(true)),
        "previous_response_id": echo("previous_response_id", Value::Null),
        "prompt_cache_key": echo("prompt_cache_key", Value::Null),
        "reasoning": echo("reasoning", json!({"effort": null, "summary": null})),
        "safety_identifier": echo("safety_identifier", Value::Null),
        "service_tier": echo("service_tier", json!("auto")),
        "store": true,
        "temperature": echo("temperature", json!(1.0)),
        "text": echo("text", json!({"format": {"type": "text"}})),
        "tool_choice": echo("tool_choice", json!("auto")),
        "tools": echo("tools", json!([])),
        "top_p": echo("top_p", json!(1.0)),
        "truncation": echo("truncation", json!("disabled")),
        "usage": null,
        "user": echo("user", Value::Null),
        "metadata": echo("metadata", json!({})),
    })
}

/// `from` with another status, and the fields that status defines reset.
fn with_status(from: &Value, status: &str) -> Value {
    let mut v = from.clone();
    if let Value::Object(map) = &mut v {
        map.insert("status".into(), json!(status));
        map.insert("completed_at".into(), Value::Null);
        map.insert("error".into(), Value::Null);
        map.insert("incomplete_details".into(), Value::Null);
    }
    v
}

/// A cancelled response: no output, no error (as OpenAI and Foundry report it).
pub(crate) fn cancelled(from: &Value) -> Value {
    let mut v = with_status(from, "cancelled");
    v["output"] = json!([]);
    v
}

/// A failed response with `error: {code, message}`; output so far is kept.
pub(crate) fn failed(from: &Value, code: &str, message: &str) -> Value {
    let mut v = with_status(from, "failed");
    v["error"] = json!({"code": code, "message": message});
    v
}

/// A lifecycle event carrying `response`.
pub(crate) fn lifecycle(ty: &str, seq: u64, response: &Value) -> LoggedEvent {
    let data = json!({"type": ty, "sequence_number": seq, "response": response});
    LoggedEvent {
        seq,
        ty: ty.to_owned(),
        data: Bytes::from(data.to_string()),
    }
}

/// The terminal event for a response in `status`: cancelled responses end with
/// `response.failed` (the SDKs have no `response.cancelled` stream event).
pub(crate) fn terminal_type(status: &str) -> &'static str {
    match status {
        "completed" => "response.completed",
        "incomplete" => "response.incomplete",
        _ => "response.failed",
    }
}

/// True for the events after which a stream has nothing more to say.
pub(crate) fn is_terminal_event(ty: &str) -> bool {
    matches!(
        ty,
        "response.completed" | "response.incomplete" | "response.failed"
    )
}

/// Numbers the events of one background stream: the gateway's own `response.created`
/// (`queued`) and `response.queued` take 0 and 1, the upstream's `response.created` is
/// dropped (the client already has one), and every other upstream event gets the next number,
/// with its `response` (if any) under the gateway's id and `background: true`.
#[derive(Debug)]
pub(crate) struct Sequencer {
    id: String,
    next: u64,
}

impl Sequencer {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            next: 0,
        }
    }

    /// The gateway's opening events for a queued response.
    pub(crate) fn opening(&mut self, queued: &Value) -> [LoggedEvent; 2] {
        let created = lifecycle("response.created", self.take(), queued);
        let q = lifecycle("response.queued", self.take(), queued);
        [created, q]
    }

    /// A lifecycle event written by the gateway (a synthesized terminal).
    pub(crate) fn own(&mut self, ty: &str, response: &Value) -> LoggedEvent {
        let seq = self.take();
        lifecycle(ty, seq, response)
    }

    /// An upstream event renumbered, or `None` for one the client must not see twice.
    pub(crate) fn upstream(&mut self, ty: &str, data: &[u8]) -> Option<LoggedEvent> {
        if ty == "response.created" {
            return None;
        }
        let seq = self.take();
        let data = match serde_json::from_slice::<Value>(data) {
            Ok(Value::Object(mut map)) => {
                map.insert("sequence_number".into(), Value::from(seq));
                if let Some(Value::Object(r)) = map.get_mut("response") {
                    r.insert("id".into(), Value::String(self.id.clone()));
                    r.insert("background".into(), Value::Bool(true));
                }
                serde_json::to_vec(&map).map_or_else(|_| Bytes::copy_from_slice(data), Bytes::from)
            }
            // Not JSON: passed on as it came (nothing to renumber).
            _ => Bytes::copy_from_slice(data),
        };
        Some(LoggedEvent {
            seq,
            ty: ty.to_owned(),
            data,
        })
    }

    fn take(&mut self) -> u64 {
        let n = self.next;
        self.next += 1;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CreateResponse {
        serde_json::from_value(json!({
            "model": "model-router", "input": "hi", "background": true,
            "instructions": "be brief", "metadata": {"k": "v"}, "temperature": 0.5
        }))
        .unwrap()
    }

    #[test]
    fn queued_echoes_the_request_without_output_or_usage() {
        let q = queued("resp_1", &request(), 42);
        assert_eq!(q["id"], "resp_1");
        assert_eq!(q["status"], "queued");
        assert_eq!(q["background"], true);
        assert_eq!(q["model"], "model-router");
        assert_eq!(q["output"], json!([]));
        assert_eq!(q["usage"], Value::Null);
        assert_eq!(q["instructions"], "be brief");
        assert_eq!(q["metadata"], json!({"k": "v"}));
        assert_eq!(q["temperature"], 0.5);
        assert_eq!(q["created_at"], 42);
    }

    #[test]
    fn cancelled_and_failed_reset_what_their_status_defines() {
        let mut done = queued("resp_1", &request(), 1);
        done["status"] = json!("in_progress");
        done["output"] = json!([{"type": "message"}]);
        let c = cancelled(&done);
        assert_eq!(c["status"], "cancelled");
        assert_eq!(c["output"], json!([]));
        assert_eq!(c["error"], Value::Null);
        let f = failed(&done, "server_error", "gone");
        assert_eq!(f["status"], "failed");
        assert_eq!(
            f["error"],
            json!({"code": "server_error", "message": "gone"})
        );
        assert_eq!(f["output"], done["output"]);
        assert!(is_terminal_status("cancelled") && !is_terminal_status("queued"));
        assert_eq!(terminal_type("cancelled"), "response.failed");
    }

    #[test]
    fn ids_look_like_openai_ids() {
        let id = new_response_id();
        assert!(id.starts_with("resp_") && id.len() == 53, "{id}");
        assert_ne!(id, new_response_id());
    }

    #[test]
    fn the_sequencer_numbers_upstream_events_after_the_gateway_opening() {
        let mut s = Sequencer::new("resp_ours");
        let q = queued("resp_ours", &request(), 1);
        let [created, queued_ev] = s.opening(&q);
        assert_eq!((created.seq, queued_ev.seq), (0, 1));
        assert_eq!(created.ty, "response.created");
        let upstream_created =
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "up"}});
        assert!(
            s.upstream("response.created", upstream_created.to_string().as_bytes())
                .is_none()
        );
        let prog =
            json!({"type": "response.in_progress", "sequence_number": 1, "response": {"id": "up"}});
        let ev = s
            .upstream("response.in_progress", prog.to_string().as_bytes())
            .unwrap();
        let v: Value = serde_json::from_slice(&ev.data).unwrap();
        assert_eq!(ev.seq, 2);
        assert_eq!(v["sequence_number"], 2);
        assert_eq!(v["response"]["id"], "resp_ours");
        assert_eq!(v["response"]["background"], true);
        let delta = s
            .upstream(
                "response.output_text.delta",
                br#"{"delta":"x","sequence_number":7}"#,
            )
            .unwrap();
        assert_eq!(delta.seq, 3);
        assert_eq!(s.own("response.completed", &q).seq, 4);
    }
}
