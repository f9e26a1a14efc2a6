//! Parse into our types, serialise again, compare.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use routewise_types::{CreateResponse, ErrorResponse, InputItem, Response, ResponseStreamEvent};

use super::Target;

/// What a successful round trip produced.
pub(crate) struct Outcome {
    /// The re-serialised document.
    pub value: Value,
    /// For stream events: the event type, if it parsed into a typed (not `Unknown`) variant.
    pub typed_event: Option<String>,
}

/// Parses `value` as `target`, serialises it and checks the result is an equivalent document.
pub(crate) fn check(target: Target, value: &Value) -> Result<Outcome, String> {
    match target {
        Target::Request => round_trip::<CreateResponse>(value).map(plain),
        Target::Response => round_trip::<Response>(value).map(plain),
        Target::Error => round_trip::<ErrorResponse>(value).map(plain),
        Target::Event => {
            let (typed, value) = round_trip::<ResponseStreamEvent>(value)?;
            let typed_event = (!matches!(typed, ResponseStreamEvent::Unknown(_)))
                .then(|| typed.event_type().to_owned());
            Ok(Outcome { value, typed_event })
        }
        Target::ItemList => {
            let data = value
                .get("data")
                .and_then(Value::as_array)
                .ok_or("list has no `data` array")?;
            for (i, item) in data.iter().enumerate() {
                round_trip::<InputItem>(item).map_err(|e| format!("data[{i}]: {e}"))?;
            }
            Ok(Outcome {
                value: value.clone(),
                typed_event: None,
            })
        }
    }
}

fn plain<T>((_, value): (T, Value)) -> Outcome {
    Outcome {
        value,
        typed_event: None,
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<(T, Value), String> {
    let typed: T =
        routewise_types::parse_value(value.clone()).map_err(|e| format!("parse: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("serialise: {e}"))?;
    match first_difference(value, &back, "") {
        None => Ok((typed, back)),
        Some(diff) => Err(format!("round trip changed the document at {diff}")),
    }
}

/// The path of the first difference between two documents, comparing numbers by value
/// (`1` equals `1.0`, as in JSON itself); `None` if they are equivalent.
pub(crate) fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let same = x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q);
            (!same).then(|| format!("{path}: {x} became {y}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items became {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            if let Some(key) = x.keys().find(|k| !y.contains_key(*k)) {
                return Some(format!("{path}.{key}: dropped"));
            }
            if let Some(key) = y.keys().find(|k| !x.contains_key(*k)) {
                return Some(format!("{path}.{key}: added ({})", y[key]));
            }
            x.iter()
                .find_map(|(k, v)| first_difference(v, &y[k], &format!("{path}.{k}")))
        }
        _ => (a != b).then(|| format!("{path}: {a} became {b}")),
    }
}
