//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// JSON equality that compares numbers by value (`1` equals `1.0`), as JSON itself does.
pub fn json_equivalent(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equivalent(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equivalent(v, w)))
        }
        _ => a == b,
    }
}

/// Parses `raw` as `T`, serialises it again and checks the JSON is equivalent; returns the value.
pub fn round_trip<T: DeserializeOwned + Serialize>(raw: &str) -> T {
    let typed: T =
        routewise_types::parse_str(raw).unwrap_or_else(|e| panic!("parse failed: {e}\n{raw}"));
    let original: Value = serde_json::from_str(raw).expect("fixture is JSON");
    let back = serde_json::to_value(&typed).expect("serialises");
    assert!(
        json_equivalent(&original, &back),
        "round trip changed the document\n original: {original}\n     back: {back}"
    );
    typed
}

/// The `data:` payloads of an SSE text, one per frame (multi-line data joined with `\n`).
pub fn sse_data(text: &str) -> Vec<String> {
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
        .collect()
}

/// Reads a fixture from `tests/fixtures`.
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
