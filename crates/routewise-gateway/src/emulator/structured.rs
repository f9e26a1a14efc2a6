//! Structured output: when a request asks for `text.format` `json_schema` (or `json_object`),
//! the emulated answer is JSON that fits the schema, so `responses.parse` and typed clients
//! work offline. A function call that `tool_choice` forces gets arguments the same way.
//! Values are deterministic and plain: the first `enum` value, the minimum of a number, one
//! array item, a short string built from the prose answer.

use serde_json::{Map, Value, json};

/// How deep nested schemas (and `$ref` cycles) are followed before a value is cut to `null`.
const MAX_DEPTH: usize = 12;
/// The most values one generated answer holds. Depth alone does not bound it: a schema of a
/// few hundred bytes whose properties each point back to the root (`{"$ref": "#"}`) branches
/// at every level, and eight arrays deep is 8^12 items.
const MAX_NODES: usize = 10_000;

/// The JSON text that answers `body`'s `text.format`, or `None` for plain text. `prose` is
/// what the emulator would have said, used for string values.
pub(super) fn answer(body: &Map<String, Value>, prose: &str) -> Option<String> {
    let format = body.get("text")?.get("format")?;
    let value = match format.get("type")?.as_str()? {
        "json_schema" => fitting(format.get("schema").unwrap_or(&Value::Null), prose),
        "json_object" => json!({"answer": prose}),
        _ => return None,
    };
    Some(value.to_string())
}

/// The function `body` makes the model call, with its parameters schema: `tool_choice`
/// `required` (the first function tool), a named function, or `allowed_tools` in mode
/// `required`. Never right after a function's output came back: the model then answers it in
/// text, so a tool loop ends.
pub(super) fn forced_call(body: &Map<String, Value>) -> Option<(&str, &Value)> {
    let last_input = body
        .get("input")
        .and_then(Value::as_array)
        .and_then(|i| i.last());
    if last_input
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str)
        == Some("function_call_output")
    {
        return None;
    }
    let functions: Vec<(&str, &Value)> = body
        .get("tools")?
        .as_array()?
        .iter()
        .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
        .filter_map(|t| {
            Some((
                t.get("name")?.as_str()?,
                t.get("parameters").unwrap_or(&Value::Null),
            ))
        })
        .collect();
    let named = |name: &str| functions.iter().copied().find(|(n, _)| *n == name);
    let choice = body.get("tool_choice")?;
    match choice.get("type").and_then(Value::as_str) {
        Some("function") => named(choice.get("name")?.as_str()?),
        Some("allowed_tools") if choice.get("mode").and_then(Value::as_str) == Some("required") => {
            choice
                .get("tools")?
                .as_array()?
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .find_map(named)
        }
        _ if choice.as_str() == Some("required") => functions.first().copied(),
        _ => None,
    }
}

/// Arguments for a call to a function with this parameters schema, as JSON text.
pub(super) fn arguments(schema: &Value, prose: &str) -> String {
    fitting(schema, prose).to_string()
}

/// A value that fits `schema`, its `$ref`s resolved against `schema` itself.
fn fitting(schema: &Value, prose: &str) -> Value {
    Generator {
        root: schema,
        prose,
        made: std::cell::Cell::new(0),
    }
    .value(schema, "", 0)
}

struct Generator<'a> {
    root: &'a Value,
    prose: &'a str,
    /// Values made so far, against [`MAX_NODES`].
    made: std::cell::Cell<usize>,
}

impl Generator<'_> {
    fn value(&self, schema: &Value, name: &str, depth: usize) -> Value {
        if depth > MAX_DEPTH || self.made.get() >= MAX_NODES {
            return Value::Null;
        }
        self.made.set(self.made.get() + 1);
        let Some(s) = schema.as_object() else {
            return Value::Null;
        };
        if let Some(target) = s.get("$ref").and_then(Value::as_str) {
            return match self.resolve(target) {
                Some(t) => self.value(t, name, depth + 1),
                None => Value::Null,
            };
        }
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(first) = s
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(options) = s.get(key).and_then(Value::as_array) {
                // The first option that is not `null`: an Optional field gets a value.
                let pick = options
                    .iter()
                    .find(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                    .or(options.first());
                return pick.map_or(Value::Null, |o| self.value(o, name, depth + 1));
            }
        }
        let ty = match s.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if s.contains_key("properties") => "object",
            _ if s.contains_key("items") => "array",
            _ => "string",
        };
        match ty {
            "object" => {
                let mut out = Map::new();
                if let Some(props) = s.get("properties").and_then(Value::as_object) {
                    for (k, p) in props {
                        out.insert(k.clone(), self.value(p, k, depth + 1));
                    }
                }
                Value::Object(out)
            }
            "array" => {
                let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(1);
                let max = s
                    .get("maxItems")
                    .and_then(Value::as_u64)
                    .unwrap_or(u64::MAX);
                let n = min.max(1).min(max).min(8);
                let item = s.get("items").unwrap_or(&Value::Null);
                Value::Array((0..n).map(|_| self.value(item, name, depth + 1)).collect())
            }
            "integer" => json!(bounded(s, 1.0).round() as i64),
            "number" => json!(bounded(s, 1.0)),
            "boolean" => Value::Bool(true),
            "null" => Value::Null,
            _ => Value::String(self.string(s, name)),
        }
    }

    /// `#/$defs/X` or `#/definitions/X` (any JSON pointer into the root schema).
    fn resolve(&self, target: &str) -> Option<&Value> {
        let pointer = target.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(pointer)
    }

    fn string(&self, s: &Map<String, Value>, name: &str) -> String {
        let fixed = match s.get("format").and_then(Value::as_str) {
            Some("date-time") => Some("2026-01-01T00:00:00Z"),
            Some("date") => Some("2026-01-01"),
            Some("time") => Some("00:00:00Z"),
            Some("email") => Some("user@example.com"),
            Some("uri" | "url") => Some("https://example.com/"),
            Some("uuid") => Some("00000000-0000-4000-8000-000000000000"),
            _ => None,
        };
        let mut out = fixed.map_or_else(
            || {
                let words: Vec<&str> = self.prose.split_whitespace().take(6).collect();
                if name.is_empty() {
                    words.join(" ")
                } else {
                    format!("{name}: {}", words.join(" "))
                }
            },
            str::to_owned,
        );
        let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = s
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        while out.chars().count() < min {
            out.push('.');
        }
        if let Some(max) = max
            && out.chars().count() > max
        {
            out = out.chars().take(max).collect();
        }
        out
    }
}

/// `default` moved into `[minimum, maximum]` (exclusive bounds nudged inside by 1).
fn bounded(s: &Map<String, Value>, default: f64) -> f64 {
    let get = |k: &str| s.get(k).and_then(Value::as_f64);
    let mut v = default;
    if let Some(min) = get("minimum") {
        v = v.max(min);
    }
    if let Some(min) = get("exclusiveMinimum") {
        v = v.max(min + 1.0);
    }
    if let Some(max) = get("maximum") {
        v = v.min(max);
    }
    if let Some(max) = get("exclusiveMaximum") {
        v = v.min(max - 1.0);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_for(format: Value) -> Option<Value> {
        let body = json!({"text": {"format": format}});
        answer(
            body.as_object().unwrap(),
            "Retrieval augmented generation grounds answers",
        )
        .map(|t| serde_json::from_str(&t).unwrap())
    }

    #[test]
    fn a_pydantic_schema_with_defs_refs_and_optionals_gets_a_fitting_value() {
        // What `responses.parse(text_format=Person)` sends for a nested, optional model.
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 18},
                "email": {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
                "role": {"enum": ["admin", "user"]},
                "address": {"$ref": "#/$defs/Address"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "score": {"type": ["number", "null"], "exclusiveMaximum": 1},
                "active": {"type": "boolean"}
            },
            "required": ["name", "age", "email", "role", "address", "tags", "score", "active"],
            "additionalProperties": false,
            "$defs": {"Address": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}}}}
        });
        let v =
            gen_for(json!({"type": "json_schema", "name": "person", "schema": schema})).unwrap();
        assert!(v["name"].as_str().unwrap().starts_with("name: Retrieval"));
        assert_eq!(v["age"], 18);
        assert_eq!(v["email"], "user@example.com");
        assert_eq!(v["role"], "admin");
        assert_eq!(v["address"]["city"].as_str().unwrap().chars().count(), 12);
        assert_eq!(v["tags"].as_array().unwrap().len(), 1);
        assert_eq!(v["score"], 0.0);
        assert_eq!(v["active"], true);
    }

    #[test]
    fn a_call_is_forced_only_by_tool_choice_and_never_right_after_its_output() {
        let tools = json!([
            {"type": "web_search"},
            {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}},
            {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
        ]);
        let call = |extra: Value| {
            let mut body = json!({"input": "hi", "tools": tools});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            forced_call(body.as_object().unwrap()).map(|(n, _)| n.to_owned())
        };
        assert_eq!(
            call(json!({"tool_choice": "required"})).as_deref(),
            Some("get_time")
        );
        assert_eq!(
            call(json!({"tool_choice": {"type": "function", "name": "get_weather"}})).as_deref(),
            Some("get_weather")
        );
        assert_eq!(
            call(json!({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]}})).as_deref(),
            Some("get_weather")
        );
        assert_eq!(call(json!({"tool_choice": "auto"})), None);
        assert_eq!(call(json!({})), None);
        assert_eq!(
            call(
                json!({"tool_choice": "required", "input": [{"type": "function_call_output", "call_id": "c", "output": "12:00"}]})
            ),
            None
        );
        let args: Value = serde_json::from_str(&arguments(
            &json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            "Paris",
        ))
        .unwrap();
        assert_eq!(args["city"], "city: Paris");
    }

    #[test]
    fn a_schema_that_branches_back_to_its_root_makes_a_bounded_value() {
        // 300 bytes of schema; before the cap its value had 8^12 leaves and took gigabytes.
        let props: Map<String, Value> = (0..8)
            .map(|i| (format!("p{i}"), json!({"$ref": "#"})))
            .collect();
        let schema = json!({"type": "object", "properties": props});
        let started = std::time::Instant::now();
        let text = arguments(&schema, "prose");
        assert!(text.len() < 1_000_000, "{} bytes", text.len());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let arrays = json!({"type": "array", "minItems": 8, "items": {"$ref": "#"}});
        assert!(arguments(&arrays, "prose").len() < 1_000_000);
    }

    #[test]
    fn json_object_and_cycles_and_plain_text() {
        assert_eq!(
            gen_for(json!({"type": "json_object"})).unwrap()["answer"],
            "Retrieval augmented generation grounds answers"
        );
        // A self-referencing schema ends in null instead of recursing forever.
        let tree = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
        let v = gen_for(json!({"type": "json_schema", "name": "t", "schema": tree})).unwrap();
        assert!(v.pointer("/child/child/child").is_some());
        assert!(gen_for(json!({"type": "text"})).is_none());
    }
}
