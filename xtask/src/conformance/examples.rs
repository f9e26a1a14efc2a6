//! The examples the OpenAI document gives for the Responses endpoints.

use serde_json::Value;

use super::Target;
use super::spec::Spec;

/// What one Responses operation takes and returns, as far as our types model it.
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    /// e.g. `POST /responses?beta=true`.
    pub label: String,
    /// Schema of the JSON request body, if the operation has one we model.
    pub request: Option<String>,
    /// Schema of the JSON 200 body and what it parses into, if we model it.
    pub response: Option<(String, Target)>,
    /// Schema of the `text/event-stream` body, if any.
    pub stream: Option<String>,
    /// The operation object.
    pub op: Value,
}

/// One example document, already decoded.
pub(crate) struct Example {
    /// Where it came from, for messages.
    pub origin: String,
    /// What it should parse into.
    pub target: Target,
    /// The document.
    pub value: Value,
}

/// The Responses operations of the OpenAI document, and those we do not model (with a reason).
pub(crate) fn operations(spec: &Spec) -> (Vec<Operation>, Vec<String>) {
    let mut ops = Vec::new();
    let mut skipped = Vec::new();
    let Some(paths) = spec.openai.get("paths").and_then(Value::as_object) else {
        return (ops, skipped);
    };
    for (path, item) in paths {
        if !path.starts_with("/responses") {
            continue;
        }
        let bare = path.split('?').next().unwrap_or(path);
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let Some(op_obj) = op.as_object() else {
                continue;
            };
            if !op_obj.contains_key("responses") {
                continue;
            }
            let label = format!("{} {path}", method.to_uppercase());
            let json_200 = schema_name(op, "/responses/200/content/application~1json/schema");
            let sse_200 = schema_name(op, "/responses/200/content/text~1event-stream/schema");
            let request_body = schema_name(op, "/requestBody/content/application~1json/schema");
            let response_target = match (method.as_str(), bare) {
                ("post", "/responses")
                | ("get", "/responses/{response_id}")
                | ("post", "/responses/{response_id}/cancel") => Some(Target::Response),
                ("get", "/responses/{response_id}/input_items") => Some(Target::ItemList),
                _ => None,
            };
            let request = (method == "post" && bare == "/responses")
                .then_some(request_body)
                .flatten();
            if response_target.is_none() {
                skipped.push(format!(
                    "{label} (returns {}: not a wire type we model)",
                    json_200.as_deref().unwrap_or("?")
                ));
                continue;
            }
            ops.push(Operation {
                label,
                request,
                response: json_200.zip(response_target),
                stream: sse_200,
                op: op.clone(),
            });
        }
    }
    (ops, skipped)
}

fn schema_name(op: &Value, pointer: &str) -> Option<String> {
    op.pointer(pointer)
        .and_then(Spec::ref_name)
        .map(str::to_owned)
}

/// Every example of the operations, decoded. Examples that are not JSON are returned as errors.
pub(crate) fn collect(ops: &[Operation]) -> (Vec<Example>, Vec<String>) {
    let mut out = Vec::new();
    let mut broken = Vec::new();
    for op in ops {
        let list = match op.op.pointer("/x-oaiMeta/examples") {
            Some(Value::Array(list)) => list.clone(),
            Some(single @ Value::Object(_)) => vec![single.clone()],
            _ => Vec::new(),
        };
        for (i, example) in list.iter().enumerate() {
            let title = example
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("example");
            let origin = format!("{} [{i}: {title}]", op.label);
            if op.request.is_some()
                && let Some(curl) = example.pointer("/request/curl").and_then(Value::as_str)
                && let Some(body) = curl_body(curl)
            {
                match serde_json::from_str(body) {
                    Ok(value) => out.push(Example {
                        origin: format!("{origin} request"),
                        target: Target::Request,
                        value,
                    }),
                    Err(e) => broken.push(format!("{origin} request body is not JSON: {e}")),
                }
            }
            let Some(text) = example.get("response").and_then(Value::as_str) else {
                continue;
            };
            let trimmed = text.trim_start();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                let Some((_, target)) = &op.response else {
                    continue;
                };
                match serde_json::from_str(trimmed) {
                    Ok(value) => out.push(Example {
                        origin: format!("{origin} response"),
                        target: *target,
                        value,
                    }),
                    Err(e) => broken.push(format!("{origin} response is not JSON: {e}")),
                }
            } else if trimmed.starts_with("event:") || trimmed.starts_with("data:") {
                for (n, data) in sse_data(text).into_iter().enumerate() {
                    match serde_json::from_str(&data) {
                        Ok(value) => out.push(Example {
                            origin: format!("{origin} frame {n}"),
                            target: Target::Event,
                            value,
                        }),
                        Err(e) => broken.push(format!("{origin} frame {n} is not JSON: {e}")),
                    }
                }
            }
        }
    }
    (out, broken)
}

/// The `x-oaiMeta.example` of every member of a stream-event union.
pub(crate) fn event_schema_examples(spec: &Spec, union: &str) -> (Vec<Example>, Vec<String>) {
    let mut out = Vec::new();
    let mut broken = Vec::new();
    for member in union_members(spec, union) {
        let Some(schema) = spec.schema(&member) else {
            continue;
        };
        let Some(text) = schema.pointer("/x-oaiMeta/example").and_then(Value::as_str) else {
            continue;
        };
        match serde_json::from_str(text) {
            Ok(value) => out.push(Example {
                origin: format!("schema {member} example"),
                target: Target::Event,
                value,
            }),
            Err(e) => broken.push(format!("schema {member} example is not JSON: {e}")),
        }
    }
    (out, broken)
}

/// Names of the members of a `oneOf`/`anyOf` union schema.
pub(crate) fn union_members(spec: &Spec, union: &str) -> Vec<String> {
    let Some(schema) = spec.schema(union) else {
        return Vec::new();
    };
    ["oneOf", "anyOf"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Spec::ref_name)
        .map(str::to_owned)
        .collect()
}

/// The JSON body of a `curl ... -d '{...}'` command line.
fn curl_body(curl: &str) -> Option<&str> {
    let start = curl.find("-d '")? + 4;
    let end = curl.rfind('\'')?;
    (end > start).then(|| curl[start..end].trim())
}

/// The `data:` payloads of an SSE text, one per frame.
fn sse_data(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|frame| {
            let lines: Vec<&str> = frame
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("data:")
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                })
                .collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        })
        .filter(|data| data.trim() != "[DONE]")
        .collect()
}
