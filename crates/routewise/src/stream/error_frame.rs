//! The OpenAI-style error frame without a `type`: `data: {"error":{"message":…,"code":…}}`.
//!
//! It is no Responses event, so the wire types keep it as `Unknown`; but the official SDKs raise
//! an API error for any frame with a truthy top-level `error` (digest §3, SDK error rule), and
//! a stream must never hand it on as content.

use serde_json::Value;

/// What an untyped error frame says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct UntypedError {
    pub(crate) code: Option<String>,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
}

/// Reads `frame` as an untyped error frame: a JSON object with no `type` (or a null one) and a
/// truthy `error`. `None` for anything else, which stays an ordinary (unknown) event.
pub(crate) fn untyped_error(frame: &Value) -> Option<UntypedError> {
    let object = frame.as_object()?;
    if object.get("type").is_some_and(|t| !t.is_null()) {
        return None;
    }
    let error = object.get("error").filter(|e| is_truthy(e))?;
    Some(match error {
        Value::Object(fields) => {
            let text = |key: &str| fields.get(key).and_then(Value::as_str).map(str::to_owned);
            UntypedError {
                // Codes are an open set and some servers send numbers (kept as their digits).
                code: text("code").or_else(|| {
                    fields
                        .get("code")
                        .filter(|c| c.is_number())
                        .map(Value::to_string)
                }),
                message: text("message").unwrap_or_default(),
                param: text("param"),
            }
        }
        Value::String(message) => UntypedError {
            message: message.clone(),
            ..UntypedError::default()
        },
        _ => UntypedError::default(),
    })
}

/// Python's truthiness, which is what the SDK rule tests.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_error_object_without_type_is_read_field_by_field() {
        let frame = json!({"error": {"message": "boom", "code": "server_error", "param": "input"}});
        assert_eq!(
            untyped_error(&frame),
            Some(UntypedError {
                code: Some("server_error".into()),
                message: "boom".into(),
                param: Some("input".into()),
            })
        );
        let numeric = json!({"type": null, "error": {"message": "slow", "code": 429}});
        assert_eq!(
            untyped_error(&numeric).and_then(|e| e.code),
            Some("429".into())
        );
        let text = json!({"error": "plain"});
        assert_eq!(
            untyped_error(&text).map(|e| e.message),
            Some("plain".into())
        );
    }

    #[test]
    fn typed_frames_and_falsy_errors_are_not_error_frames() {
        for frame in [
            json!({"type": "response.mcp_call.failed", "error": {"message": "m"}}),
            json!({"error": null}),
            json!({"error": {}}),
            json!({"error": ""}),
            json!({"error": false}),
            json!({"something": "else"}),
            json!("error"),
        ] {
            assert_eq!(untyped_error(&frame), None, "{frame}");
        }
    }
}
