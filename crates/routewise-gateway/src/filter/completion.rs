//! The completion side of a JSON answer: its output text checked whole, and the answer
//! annotated (or cut short) the way Azure reports an output-side block.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::wire::annotation;
use crate::config::ContentFilterConfig;

/// `body` annotated with `content_filters` entries; with a hit, Azure's output-side block:
/// `status: "incomplete"`, `incomplete_details.reason: "content_filter"`, the offending
/// message kept with `status: "incomplete"` and no content, later output items dropped.
pub(crate) fn json(filter: &ContentFilterConfig, body: Bytes) -> Bytes {
    let Ok(Value::Object(mut response)) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let mut entries = Vec::with_capacity(2);
    if filter.scope().checks_prompt() {
        entries.push(annotation("prompt", &[]));
    }
    if filter.scope().checks_completion() {
        let hits = block_output(filter, &mut response);
        let names: Vec<&str> = hits
            .iter()
            .map(|&i| filter.matcher().list_name(i))
            .collect();
        if !names.is_empty() {
            tracing::info!(
                filter = filter.name(),
                blocklists = ?names,
                source = "completion",
                "answer blocked by a content filter"
            );
        }
        entries.push(annotation("completion", &names));
    }
    super::wire::annotate(&mut response, entries);
    serde_json::to_vec(&response).map_or(body, Bytes::from)
}

/// Scans every message's `output_text` and `refusal` parts and every function call's
/// arguments; the first item with a hit is emptied (a message loses its content, a call its
/// arguments, so nothing half-filtered can be run) and the response marked incomplete.
/// Returns the matching blocklists.
fn block_output(filter: &ContentFilterConfig, response: &mut Map<String, Value>) -> Vec<usize> {
    let mut hits = Vec::new();
    let Some(Value::Array(output)) = response.get_mut("output") else {
        return hits;
    };
    let mut blocked_at = None;
    for (k, item) in output.iter().enumerate() {
        for_each_text(item, |text| filter.matcher().collect_hits(text, &mut hits));
        if !hits.is_empty() {
            blocked_at = Some(k);
            break;
        }
    }
    let Some(k) = blocked_at else {
        return hits;
    };
    // The model's output stops where the filter stopped it, as in a stream.
    output.truncate(k + 1);
    if let Some(item) = output[k].as_object_mut() {
        item.insert("status".into(), json!("incomplete"));
        if item.contains_key("arguments") {
            item.insert("arguments".into(), json!(""));
        } else {
            item.insert("content".into(), json!([]));
        }
    }
    response.insert("status".into(), json!("incomplete"));
    response.insert(
        "incomplete_details".into(),
        json!({"reason": "content_filter"}),
    );
    response.remove("completed_at");
    // The SDK convenience field, if an upstream sent it, would repeat the text.
    if response.contains_key("output_text") {
        response.insert("output_text".into(), json!(""));
    }
    hits
}

/// Calls `f` on each text of an output item the filter reads: a message's `output_text` and
/// `refusal` parts, a function call's arguments.
pub(super) fn for_each_text(item: &Value, mut f: impl FnMut(&str)) {
    match item.get("type").and_then(Value::as_str) {
        Some("message") => item
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| match p.get("type").and_then(Value::as_str) {
                Some("output_text") => p.get("text"),
                Some("refusal") => p.get("refusal"),
                _ => None,
            })
            .filter_map(Value::as_str)
            .for_each(f),
        Some("function_call") => {
            if let Some(args) = item.get("arguments").and_then(Value::as_str) {
                f(args);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Blocklist, FilterScope};

    fn filter(scope: FilterScope) -> ContentFilterConfig {
        ContentFilterConfig::new(
            "f",
            scope,
            vec![Blocklist::new("words").with_term("falcon")],
        )
        .unwrap()
    }

    fn body(text: &str) -> Bytes {
        Bytes::from(
            json!({"id": "r", "object": "response", "status": "completed", "completed_at": 1,
                   "incomplete_details": null, "content_filters": [],
                   "output": [
                       {"type": "reasoning", "id": "rs", "summary": []},
                       {"type": "message", "id": "m", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]},
                       {"type": "function_call", "id": "fc", "call_id": "c", "name": "f", "arguments": "{}"}]})
            .to_string(),
        )
    }

    #[test]
    fn refusals_and_call_arguments_are_checked_too() {
        let refusal = Bytes::from(
            json!({"id": "r", "object": "response", "status": "completed", "output": [
                {"type": "message", "id": "m", "status": "completed", "role": "assistant",
                 "content": [{"type": "refusal", "refusal": "no falcon talk"}]}]})
            .to_string(),
        );
        let out: Value =
            serde_json::from_slice(&json(&filter(FilterScope::Both), refusal)).unwrap();
        assert_eq!(out["status"], "incomplete");
        assert_eq!(out["output"][0]["content"], json!([]));
        let call = Bytes::from(
            json!({"id": "r", "object": "response", "status": "completed", "output": [
                {"type": "function_call", "id": "fc", "call_id": "c", "name": "f",
                 "arguments": "{\"about\": \"falcon\"}", "status": "completed"},
                {"type": "message", "id": "m", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "later", "annotations": []}]}]})
            .to_string(),
        );
        let out: Value = serde_json::from_slice(&json(&filter(FilterScope::Both), call)).unwrap();
        assert_eq!(out["status"], "incomplete");
        let output = out["output"].as_array().unwrap();
        assert_eq!(output.len(), 1, "{out}");
        assert_eq!(output[0]["status"], "incomplete");
        assert_eq!(output[0]["arguments"], "");
        assert_eq!(output[0]["call_id"], "c");
    }

    #[test]
    fn a_hit_empties_the_message_and_marks_the_response_incomplete() {
        let out: Value =
            serde_json::from_slice(&json(&filter(FilterScope::Both), body("a Falcon flies")))
                .unwrap();
        assert_eq!(out["status"], "incomplete");
        assert_eq!(out["incomplete_details"]["reason"], "content_filter");
        assert!(out.get("completed_at").is_none());
        let output = out["output"].as_array().unwrap();
        assert_eq!(output.len(), 2, "{out}");
        assert_eq!(output[1]["status"], "incomplete");
        assert_eq!(output[1]["content"], json!([]));
        assert!(!out.to_string().to_lowercase().contains("falcon"));
        let filters = out["content_filters"].as_array().unwrap();
        assert_eq!(filters[0]["source_type"], "prompt");
        assert_eq!(filters[0]["blocked"], false);
        assert_eq!(filters[1]["source_type"], "completion");
        assert_eq!(filters[1]["blocked"], true);
        assert_eq!(
            filters[1]["content_filter_results"]["custom_blocklists"],
            json!({"filtered": true, "details": [{"id": "words", "filtered": true}]})
        );
    }

    #[test]
    fn clean_answers_are_annotated_per_scope() {
        let out: Value =
            serde_json::from_slice(&json(&filter(FilterScope::Both), body("falconry"))).unwrap();
        assert_eq!(out["status"], "completed");
        assert_eq!(out["output"].as_array().unwrap().len(), 3);
        let filters = out["content_filters"].as_array().unwrap();
        assert_eq!(filters.len(), 2);
        assert!(filters.iter().all(|f| f["blocked"] == false));
        assert_eq!(
            filters[1]["content_filter_results"]["custom_blocklists"],
            json!({"filtered": false, "details": []})
        );
        let out: Value =
            serde_json::from_slice(&json(&filter(FilterScope::Prompt), body("a falcon"))).unwrap();
        assert_eq!(
            out["status"], "completed",
            "a prompt-only filter leaves answers alone"
        );
        assert_eq!(out["content_filters"].as_array().unwrap().len(), 1);
    }
}
