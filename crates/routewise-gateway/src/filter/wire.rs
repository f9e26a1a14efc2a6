//! Azure's wire shapes for a content-filter verdict: the `content_filters` annotations on a
//! response, the 400 error body of a blocked prompt, and the three frames of a blocked stream.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::upstream::SseEvent;

/// Azure's message for a blocked prompt (the testkit's recorded body carries the same).
pub(crate) const PROMPT_FILTERED_MESSAGE: &str = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.";

/// `{"custom_blocklists": {"filtered", "details": [{"id", "filtered": true}]}}`: only the
/// blocklists that matched are listed, and no harm category is reported because the gateway
/// evaluates none (claiming `"severity": "safe"` would be a guess).
pub(crate) fn results(hits: &[&str]) -> Value {
    let details: Vec<Value> = hits
        .iter()
        .map(|id| json!({"id": id, "filtered": true}))
        .collect();
    json!({"custom_blocklists": {"filtered": !hits.is_empty(), "details": details}})
}

/// One element of a response's `content_filters`.
pub(crate) fn annotation(source_type: &str, hits: &[&str]) -> Value {
    json!({
        "blocked": !hits.is_empty(),
        "source_type": source_type,
        "content_filter_results": results(hits),
    })
}

/// Appends `entries` to `response.content_filters` (an Azure upstream's own entries stay).
pub(crate) fn annotate(
    response: &mut Map<String, Value>,
    entries: impl IntoIterator<Item = Value>,
) {
    let slot = response
        .entry("content_filters")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    if let Value::Array(list) = slot {
        list.extend(entries);
    }
}

/// The 400 body of a blocked prompt, Azure's `innererror` included.
pub(crate) fn prompt_error_body(hits: &[String]) -> Value {
    let names: Vec<&str> = hits.iter().map(String::as_str).collect();
    json!({"error": {
        "message": PROMPT_FILTERED_MESSAGE,
        "type": null,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": results(&names),
        },
    }})
}

/// What Azure streams for a blocked prompt: `response.created`, `response.failed` with
/// `error: null`, then an `error` frame whose nested error has code `content_policy_violation`.
pub(crate) fn prompt_blocked_stream(model: &str, hits: &[String]) -> Vec<SseEvent> {
    let names: Vec<&str> = hits.iter().map(String::as_str).collect();
    let created_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let id = format!(
        "resp_{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let response = |status: &str, filters: Value| {
        json!({
            "id": id, "object": "response", "created_at": created_at, "status": status,
            "error": null, "incomplete_details": null, "instructions": null, "model": model,
            "output": [], "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            "usage": null, "content_filters": filters,
        })
    };
    let failed = response("failed", json!([annotation("prompt", &names)]));
    vec![
        event(
            "response.created",
            json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", Value::Null)}),
        ),
        event(
            "response.failed",
            json!({"type": "response.failed", "sequence_number": 1, "response": failed}),
        ),
        event(
            "error",
            json!({"type": "error", "sequence_number": 2, "error": {
                "type": "invalid_request_error",
                "code": "content_policy_violation",
                "message": PROMPT_FILTERED_MESSAGE,
                "param": "prompt",
            }}),
        ),
    ]
}

pub(crate) fn event(ty: &str, data: Value) -> SseEvent {
    SseEvent {
        ty: ty.to_owned(),
        data: Bytes::from(data.to_string()),
    }
}
