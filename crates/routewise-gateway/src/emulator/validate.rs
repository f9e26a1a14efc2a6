//! The request checks a Foundry deployment makes and the typed parse does not: value ranges
//! (`max_output_tokens` at least 16), `metadata` limits, function tools' names, `tool_choice`
//! modes and forced functions, a `json_schema` format's name and schema, message roles, and
//! the settings whose values the spec lists in full (reasoning effort, truncation, format type). An emulated deployment refuses what the
//! real one would, with OpenAI's 400, so a client tested offline does not pass here and fail in
//! production.

use serde_json::{Map, Value};

/// Why a request is refused: message, parameter path and OpenAI's code.
#[derive(Debug, PartialEq)]
pub(super) struct Refusal {
    pub message: String,
    pub param: String,
    pub code: &'static str,
}

fn refuse(param: impl Into<String>, code: &'static str, message: String) -> Refusal {
    Refusal {
        message,
        param: param.into(),
        code,
    }
}

/// OpenAI's limits on `metadata`.
const METADATA_PAIRS: usize = 16;
const METADATA_KEY_CHARS: usize = 64;
const METADATA_VALUE_CHARS: usize = 512;

/// The first thing wrong with `body`, if anything.
pub(super) fn check(body: &Map<String, Value>) -> Result<(), Refusal> {
    range(body, "temperature", 0.0, 2.0)?;
    min_output_tokens(body)?;
    range(body, "top_p", 0.0, 1.0)?;
    metadata(body)?;
    tools(body)?;
    tool_choice(body)?;
    text_format(body)?;
    closed_values(body)?;
    roles(body)
}

/// Settings whose values the spec lists in full (OpenAI's openapi.yaml: `ReasoningEffort`,
/// `truncation`, `TextResponseFormatConfiguration`). Open lists, such as tool types, are the
/// upstream's business and are not checked.
const CLOSED_VALUES: [(&[&str], &[&str]); 3] = [
    (
        &["reasoning", "effort"],
        &["none", "minimal", "low", "medium", "high", "xhigh", "max"],
    ),
    (
        &["text", "format", "type"],
        &["text", "json_object", "json_schema"],
    ),
    (&["truncation"], &["auto", "disabled"]),
];

fn closed_values(body: &Map<String, Value>) -> Result<(), Refusal> {
    for (path, allowed) in CLOSED_VALUES {
        let mut at = body.get(path[0]);
        for key in &path[1..] {
            at = at.and_then(|v| v.get(key));
        }
        let Some(Value::String(value)) = at else {
            continue;
        };
        if !allowed.contains(&value.as_str()) {
            let listed: Vec<String> = allowed.iter().map(|v| format!("'{v}'")).collect();
            return Err(refuse(
                path.join("."),
                "invalid_value",
                format!(
                    "Invalid value: '{}'. Supported values are: {}.",
                    crate::error::clipped(value, 64),
                    listed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Message roles in `input`: the four the spec's `EasyInputMessage` allows. An item with
/// no `type` is such a message, so it needs a `role`, unless it is the short form of an item
/// reference (`{"id": …}`); `{}` is no item at all.
fn roles(body: &Map<String, Value>) -> Result<(), Refusal> {
    let Some(Value::Array(items)) = body.get("input") else {
        return Ok(());
    };
    for (i, item) in items.iter().enumerate() {
        let Value::Object(fields) = item else {
            return Err(refuse(
                format!("input[{i}]"),
                "invalid_type",
                format!(
                    "Invalid type for 'input[{i}]': expected an object, but got {} instead.",
                    type_name(item)
                ),
            ));
        };
        if !fields.contains_key("type")
            && !fields.contains_key("role")
            && !fields.contains_key("id")
        {
            return Err(refuse(
                format!("input[{i}].role"),
                "missing_required_parameter",
                format!("Missing required parameter: 'input[{i}].role'."),
            ));
        }
        let is_message = item
            .get("type")
            .is_none_or(|t| t.as_str() == Some("message"));
        let Some(Value::String(role)) = item.get("role") else {
            continue;
        };
        if is_message && !matches!(role.as_str(), "user" | "assistant" | "system" | "developer") {
            return Err(refuse(
                format!("input[{i}].role"),
                "invalid_value",
                format!(
                    "Invalid value: '{}'. Supported values are: 'user', 'assistant', 'system', \
                     and 'developer'.",
                    crate::error::clipped(role, 64)
                ),
            ));
        }
    }
    Ok(())
}

fn text_format(body: &Map<String, Value>) -> Result<(), Refusal> {
    let Some(format) = body.get("text").and_then(|t| t.get("format")) else {
        return Ok(());
    };
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return Ok(());
    }
    for key in ["name", "schema"] {
        if format.get(key).is_none_or(Value::is_null) {
            let param = format!("text.format.{key}");
            return Err(refuse(
                param.clone(),
                "missing_required_parameter",
                format!("Missing required parameter: '{param}'."),
            ));
        }
    }
    match format.get("schema") {
        Some(schema) if !schema.is_object() => Err(refuse(
            "text.format.schema",
            "invalid_type",
            format!(
                "Invalid type for 'text.format.schema': expected an object, but got {} instead.",
                type_name(schema)
            ),
        )),
        _ => Ok(()),
    }
}

fn range(body: &Map<String, Value>, key: &str, min: f64, max: f64) -> Result<(), Refusal> {
    let Some(v) = body.get(key).and_then(Value::as_f64) else {
        return Ok(());
    };
    if v > max {
        return Err(refuse(
            key,
            "decimal_above_max_value",
            format!(
                "Invalid '{key}': decimal above maximum value. Expected a value <= {max}, but got {v} instead."
            ),
        ));
    }
    if v < min {
        return Err(refuse(
            key,
            "decimal_below_min_value",
            format!(
                "Invalid '{key}': decimal below minimum value. Expected a value >= {min}, but got {v} instead."
            ),
        ));
    }
    Ok(())
}

/// OpenAI's floor for `max_output_tokens`.
const MIN_OUTPUT_TOKENS: i64 = 16;

fn min_output_tokens(body: &Map<String, Value>) -> Result<(), Refusal> {
    match body.get("max_output_tokens").and_then(Value::as_i64) {
        Some(v) if v < MIN_OUTPUT_TOKENS => Err(refuse(
            "max_output_tokens",
            "integer_below_min_value",
            format!(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= \
                 {MIN_OUTPUT_TOKENS}, but got {v} instead."
            ),
        )),
        _ => Ok(()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn metadata(body: &Map<String, Value>) -> Result<(), Refusal> {
    let Some(Value::Object(meta)) = body.get("metadata") else {
        return Ok(());
    };
    if meta.len() > METADATA_PAIRS {
        return Err(refuse(
            "metadata",
            "object_above_max_properties",
            format!(
                "Invalid 'metadata': too many properties. Expected an object with at most \
                 {METADATA_PAIRS} properties, but got an object with {} properties instead.",
                meta.len()
            ),
        ));
    }
    for (k, v) in meta {
        let key = crate::error::clipped(k, METADATA_KEY_CHARS);
        let param = format!("metadata.{key}");
        if k.chars().count() > METADATA_KEY_CHARS {
            return Err(refuse(
                "metadata",
                "string_above_max_length",
                format!(
                    "Invalid 'metadata': key too long. Expected keys of at most \
                     {METADATA_KEY_CHARS} characters, but got '{key}' instead."
                ),
            ));
        }
        match v {
            Value::String(s) if s.chars().count() > METADATA_VALUE_CHARS => {
                return Err(refuse(
                    param.clone(),
                    "string_above_max_length",
                    format!(
                        "Invalid '{param}': string too long. Expected a string with maximum \
                         length {METADATA_VALUE_CHARS}, but got a string with length {} instead.",
                        s.chars().count()
                    ),
                ));
            }
            Value::String(_) => {}
            other => {
                return Err(refuse(
                    param.clone(),
                    "invalid_type",
                    format!(
                        "Invalid type for '{param}': expected a string, but got {} instead.",
                        type_name(other)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn tools(body: &Map<String, Value>) -> Result<(), Refusal> {
    let Some(Value::Array(tools)) = body.get("tools") else {
        return Ok(());
    };
    for (i, tool) in tools.iter().enumerate() {
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            continue;
        }
        if !tool.get("name").is_some_and(Value::is_string) {
            let param = format!("tools[{i}].name");
            return Err(refuse(
                param.clone(),
                "missing_required_parameter",
                format!("Missing required parameter: '{param}'."),
            ));
        }
        if let Some(p) = tool.get("parameters")
            && !p.is_object()
            && !p.is_null()
        {
            let param = format!("tools[{i}].parameters");
            return Err(refuse(
                param.clone(),
                "invalid_type",
                format!(
                    "Invalid type for '{param}': expected an object, but got {} instead.",
                    type_name(p)
                ),
            ));
        }
    }
    Ok(())
}

fn tool_choice(body: &Map<String, Value>) -> Result<(), Refusal> {
    // A forced function must be one of the request's function tools.
    if let Some(choice) = body.get("tool_choice")
        && choice.get("type").and_then(Value::as_str) == Some("function")
        && let Some(name) = choice.get("name").and_then(Value::as_str)
    {
        let declared = body
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|tools| {
                tools.iter().any(|t| {
                    t.get("type").and_then(Value::as_str) == Some("function")
                        && t.get("name").and_then(Value::as_str) == Some(name)
                })
            });
        if !declared {
            return Err(refuse(
                "tool_choice",
                "invalid_value",
                format!(
                    "Tool choice 'function' with name '{}' is not one of the request's tools.",
                    crate::error::clipped(name, 64)
                ),
            ));
        }
    }
    match body.get("tool_choice") {
        Some(Value::String(mode)) if !matches!(mode.as_str(), "none" | "auto" | "required") => {
            Err(refuse(
                "tool_choice",
                "invalid_value",
                format!(
                    "Invalid value: '{}'. Supported values are: 'none', 'auto', and 'required'.",
                    crate::error::clipped(mode, 64)
                ),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_json(v: Value) -> Result<(), Refusal> {
        check(v.as_object().unwrap())
    }

    #[test]
    fn what_foundry_refuses_is_refused_with_its_param_and_code() {
        let long = "v".repeat(513);
        let many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        for (body, param, code) in [
            (
                json!({"temperature": 2.5}),
                "temperature",
                "decimal_above_max_value",
            ),
            (
                json!({"temperature": -1}),
                "temperature",
                "decimal_below_min_value",
            ),
            (json!({"top_p": 5}), "top_p", "decimal_above_max_value"),
            (
                json!({"max_output_tokens": 8}),
                "max_output_tokens",
                "integer_below_min_value",
            ),
            (
                json!({"metadata": {"a": {"b": 1}}}),
                "metadata.a",
                "invalid_type",
            ),
            (
                json!({"metadata": {"a": null}}),
                "metadata.a",
                "invalid_type",
            ),
            (
                json!({"metadata": {"a": long}}),
                "metadata.a",
                "string_above_max_length",
            ),
            (
                json!({"metadata": many}),
                "metadata",
                "object_above_max_properties",
            ),
            (
                json!({"metadata": {"k".repeat(65): "v"}}),
                "metadata",
                "string_above_max_length",
            ),
            (
                json!({"tools": [{"type": "function"}]}),
                "tools[0].name",
                "missing_required_parameter",
            ),
            (
                json!({"tools": [{"type": "web_search"}, {"type": "function", "name": "f", "parameters": "{}"}]}),
                "tools[1].parameters",
                "invalid_type",
            ),
            (
                json!({"tool_choice": "bogus"}),
                "tool_choice",
                "invalid_value",
            ),
            (
                json!({"text": {"format": {"type": "json_schema", "schema": {}}}}),
                "text.format.name",
                "missing_required_parameter",
            ),
            (
                json!({"text": {"format": {"type": "json_schema", "name": "n", "schema": 5}}}),
                "text.format.schema",
                "invalid_type",
            ),
            (
                json!({"text": {"format": {"type": "xml"}}}),
                "text.format.type",
                "invalid_value",
            ),
            (
                json!({"reasoning": {"effort": "extreme"}}),
                "reasoning.effort",
                "invalid_value",
            ),
            (
                json!({"truncation": "sideways"}),
                "truncation",
                "invalid_value",
            ),
            (
                json!({"input": [{"role": "user", "content": "hi"}, {"role": "wizard", "content": "x"}]}),
                "input[1].role",
                "invalid_value",
            ),
            (
                json!({"input": [{"role": "user", "content": "hi"}, {}]}),
                "input[1].role",
                "missing_required_parameter",
            ),
            (json!({"input": [7]}), "input[0]", "invalid_type"),
            (
                json!({"tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "g"}}),
                "tool_choice",
                "invalid_value",
            ),
        ] {
            let r = check_json(body.clone()).expect_err(&body.to_string());
            assert_eq!((r.param.as_str(), r.code), (param, code), "{body}");
            assert!(!r.message.is_empty());
        }
    }

    #[test]
    fn valid_and_unknown_shapes_pass() {
        for body in [
            json!({"temperature": 0, "top_p": 1, "metadata": {"a": "b"}}),
            json!({"temperature": 2, "tool_choice": "required"}),
            json!({"tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]}),
            // Tool types and tool_choice objects it does not know are the upstream's business.
            json!({"tools": [{"type": "future_tool"}, {"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "f"}}),
            json!({"tool_choice": {"type": "future_choice", "name": "g"}}),
            json!({"reasoning": {"effort": "xhigh"}, "truncation": "auto", "text": {"format": {"type": "json_object"}}}),
            json!({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}, {"type": "message", "role": "developer", "content": "x"}]}),
            // The short form of an item reference.
            json!({"input": [{"id": "msg_1"}, {"role": "user", "content": "x"}]}),
            json!({}),
        ] {
            assert_eq!(check_json(body.clone()), Ok(()), "{body}");
        }
    }
}
