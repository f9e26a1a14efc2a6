//! What the access log and the metrics read from an answer: the response's id, served model,
//! status, error code and `usage`.
//!
//! Only a JSON body or a terminal stream event (`response.completed`, `.incomplete`,
//! `.failed`) and `error` events are read. When nothing else parsed the bytes, a targeted
//! deserialisation reads just these fields (strings borrowed from the input unless escaped;
//! everything else skipped by serde without building values); when `Finish` already parsed
//! the response into a `Value`, the fields are taken from it instead of parsing twice.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Token counts from a response's `usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tokens {
    pub input: u64,
    pub output: u64,
    /// `input_tokens_details.cached_tokens`, when reported.
    pub cached: Option<u64>,
    /// `output_tokens_details.reasoning_tokens`, when reported.
    pub reasoning: Option<u64>,
}

/// What was read from an answer so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// `response.id`.
    pub response_id: Option<String>,
    /// `response.model`: the model that actually answered.
    pub model: Option<String>,
    /// `response.status` (`completed`, `incomplete`, `failed`, ...).
    pub status: Option<String>,
    pub tokens: Option<Tokens>,
    /// `response.error.code`, or the code of an `error` event.
    pub error_code: Option<String>,
}

#[derive(Deserialize)]
struct Summary<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

/// An error object's code: a string or a number, as providers send it.
#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    code: Option<Value>,
}

#[derive(Deserialize)]
struct Terminal<'a> {
    #[serde(borrow)]
    response: Summary<'a>,
}

/// `{"type":"error","code":...}` (the spec) or `{"type":"error","error":{"code":...}}` (seen
/// from Azure and OpenAI).
#[derive(Deserialize)]
struct ErrorEvent {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    error: Option<WireError>,
}

/// True for the events whose response is final.
pub(crate) fn is_terminal(ty: &str) -> bool {
    matches!(
        ty,
        "response.completed" | "response.incomplete" | "response.failed"
    )
}

/// Codes are logged, so they are kept short and on one line.
fn code_text(v: Option<Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(s.chars().filter(|c| !c.is_control()).take(64).collect())
}

impl Tokens {
    fn from_wire(u: WireUsage) -> Option<Self> {
        if u.input_tokens.is_none() && u.output_tokens.is_none() {
            return None;
        }
        Some(Self {
            input: u.input_tokens.unwrap_or(0),
            output: u.output_tokens.unwrap_or(0),
            cached: u.input_tokens_details.and_then(|d| d.cached_tokens),
            reasoning: u.output_tokens_details.and_then(|d| d.reasoning_tokens),
        })
    }

    fn from_value(u: &Value) -> Option<Self> {
        let n = |v: Option<&Value>| v.and_then(Value::as_u64);
        let input = n(u.get("input_tokens"));
        let output = n(u.get("output_tokens"));
        if input.is_none() && output.is_none() {
            return None;
        }
        Some(Self {
            input: input.unwrap_or(0),
            output: output.unwrap_or(0),
            cached: n(u.pointer("/input_tokens_details/cached_tokens")),
            reasoning: n(u.pointer("/output_tokens_details/reasoning_tokens")),
        })
    }
}

impl Seen {
    fn take(&mut self, s: Summary<'_>) {
        self.response_id = s.id.map(Cow::into_owned).or(self.response_id.take());
        self.model = s.model.map(Cow::into_owned).or(self.model.take());
        self.status = s.status.map(Cow::into_owned).or(self.status.take());
        if let Some(t) = s.usage.and_then(Tokens::from_wire) {
            self.tokens = Some(t);
        }
        if let Some(code) = code_text(s.error.and_then(|e| e.code)) {
            self.error_code = Some(code);
        }
    }

    /// Reads a whole JSON response body.
    pub(crate) fn read_body(&mut self, body: &[u8]) {
        if let Ok(s) = serde_json::from_slice::<Summary<'_>>(body) {
            self.take(s);
        }
    }

    /// Reads one stream event's data, if it is one that matters (terminal or `error`).
    pub(crate) fn read_event(&mut self, ty: &str, data: &[u8]) {
        if is_terminal(ty) {
            if let Ok(t) = serde_json::from_slice::<Terminal<'_>>(data) {
                self.take(t.response);
            }
        } else if ty == "error"
            && let Ok(e) = serde_json::from_slice::<ErrorEvent>(data)
        {
            let nested = e.error.and_then(|e| e.code);
            if let Some(code) = code_text(e.code.or(nested)) {
                self.error_code = Some(code);
            }
        }
    }

    /// Reads a response object someone else already parsed.
    pub(crate) fn read_value(&mut self, response: &Map<String, Value>) {
        let s = |k: &str| response.get(k).and_then(Value::as_str).map(str::to_owned);
        self.response_id = s("id").or(self.response_id.take());
        self.model = s("model").or(self.model.take());
        self.status = s("status").or(self.status.take());
        if let Some(t) = response.get("usage").and_then(Tokens::from_value) {
            self.tokens = Some(t);
        }
        let code = response.get("error").and_then(|e| e.get("code")).cloned();
        if let Some(code) = code_text(code) {
            self.error_code = Some(code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn completed() -> Value {
        json!({
            "id": "resp_1", "object": "response", "status": "completed",
            "model": "gpt-4.1-nano-2025-04-14",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "a \"quoted\" answer"}]}],
            "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4},
                      "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 1}, "total_tokens": 12},
            "error": null
        })
    }

    fn expected() -> Seen {
        Seen {
            response_id: Some("resp_1".into()),
            model: Some("gpt-4.1-nano-2025-04-14".into()),
            status: Some("completed".into()),
            tokens: Some(Tokens {
                input: 9,
                output: 3,
                cached: Some(4),
                reasoning: Some(1),
            }),
            error_code: None,
        }
    }

    #[test]
    fn a_body_a_terminal_event_and_a_parsed_value_agree() {
        let mut body = Seen::default();
        body.read_body(completed().to_string().as_bytes());
        assert_eq!(body, expected());
        let ev =
            json!({"type": "response.completed", "sequence_number": 9, "response": completed()});
        let mut event = Seen::default();
        event.read_event("response.completed", ev.to_string().as_bytes());
        assert_eq!(event, expected());
        let mut value = Seen::default();
        value.read_value(completed().as_object().unwrap());
        assert_eq!(value, expected());
    }

    #[test]
    fn only_terminal_and_error_events_are_read() {
        let mut seen = Seen::default();
        let created = json!({"type": "response.created", "response": {"id": "r", "model": "m", "usage": null}});
        seen.read_event("response.created", created.to_string().as_bytes());
        assert_eq!(seen, Seen::default());
        seen.read_event(
            "error",
            br#"{"type":"error","error":{"type":"invalid_request_error","code":"content_policy_violation","message":"no"}}"#,
        );
        assert_eq!(seen.error_code.as_deref(), Some("content_policy_violation"));
        seen.read_event(
            "error",
            br#"{"type":"error","code":429,"message":"slow down"}"#,
        );
        assert_eq!(seen.error_code.as_deref(), Some("429"));
        let failed = json!({"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error", "message": "x"}, "usage": null}});
        seen.read_event("response.failed", failed.to_string().as_bytes());
        assert_eq!(seen.error_code.as_deref(), Some("server_error"));
        assert_eq!(seen.status.as_deref(), Some("failed"));
        assert_eq!(seen.tokens, None);
    }

    #[test]
    fn missing_partial_or_malformed_usage_is_tolerated() {
        let mut seen = Seen::default();
        seen.read_body(br#"{"model":"m","usage":{"input_tokens":5,"output_tokens":2}}"#);
        assert_eq!(
            seen.tokens,
            Some(Tokens {
                input: 5,
                output: 2,
                cached: None,
                reasoning: None
            })
        );
        let mut seen = Seen::default();
        seen.read_body(br#"{"model":"m","usage":{"total_tokens":5}}"#);
        assert_eq!((seen.model.as_deref(), seen.tokens), (Some("m"), None));
        let mut seen = Seen::default();
        seen.read_body(b"not json");
        seen.read_body(br#"{"usage": "many"}"#);
        assert_eq!(seen, Seen::default());
        let mut seen = Seen::default();
        seen.read_body(br#"{"model":"m\u00e9","error":{"code":"bad\ncode"}}"#);
        assert_eq!(seen.model.as_deref(), Some("mé"));
        assert_eq!(seen.error_code.as_deref(), Some("badcode"));
    }
}
