//! A transport-neutral record of one HTTP request seen by a test server.

use std::fmt;

use http::{HeaderMap, Method};
use serde_json::Value;

/// Header names whose values are credentials; `Debug` output masks them.
const SECRET_HEADERS: &[&str] = &["authorization", "api-key", "ocp-apim-subscription-key"];

/// One request received by [`MockFoundry`](crate::MockFoundry) or
/// [`SseFaultServer`](crate::SseFaultServer), in arrival order.
///
/// `Debug` masks the values of `authorization` and `api-key` so that a failing
/// assertion never prints a credential.
#[derive(Clone)]
pub struct ReceivedRequest {
    /// HTTP method.
    pub method: Method,
    /// Path without the query, e.g. `/api/projects/p1/openai/v1/responses`.
    pub path: String,
    /// Query pairs in the order they were sent, percent-decoded.
    pub query: Vec<(String, String)>,
    /// All request headers.
    pub headers: HeaderMap,
    /// Raw request body.
    pub body: Vec<u8>,
    /// The body parsed as JSON, or `None` when it is empty or not JSON.
    pub json: Option<Value>,
}

impl ReceivedRequest {
    /// Builds a record from its parts; the body is parsed as JSON when possible.
    pub fn new(
        method: Method,
        path: impl Into<String>,
        raw_query: Option<&str>,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Self {
        let query = raw_query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let json = serde_json::from_slice(&body).ok();
        Self {
            method,
            path: path.into(),
            query,
            headers,
            body,
            json,
        }
    }

    /// The first value of header `name` (case-insensitive), if it is valid text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `model` field of a JSON body (the deployment name on Azure).
    pub fn model(&self) -> Option<&str> {
        self.json.as_ref()?.get("model")?.as_str()
    }

    /// Whether the JSON body asked for a streamed answer (`"stream": true`).
    pub fn is_stream(&self) -> bool {
        self.json
            .as_ref()
            .and_then(|j| j.get("stream"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The project name when the path has the project shape
    /// `/api/projects/{project}/openai/v1/...`.
    pub fn project(&self) -> Option<&str> {
        let rest = self.path.strip_prefix("/api/projects/")?;
        let (project, tail) = rest.split_once('/')?;
        tail.starts_with("openai/").then_some(project)
    }

    /// The prompt text: the `input` string, or the text of the last user
    /// message when `input` is an item array.
    pub fn input_text(&self) -> Option<String> {
        prompt_text(self.json.as_ref()?.get("input")?)
    }

    /// The body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Extracts prompt text from a Responses `input` value.
pub(crate) fn prompt_text(input: &Value) -> Option<String> {
    match input {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items
            .iter()
            .rev()
            .find(|item| {
                item.get("role").and_then(Value::as_str) == Some("user")
                    || item.get("type").and_then(Value::as_str) == Some("function_call_output")
            })
            .and_then(item_text),
        _ => None,
    }
}

fn item_text(item: &Value) -> Option<String> {
    if let Some(out) = item.get("output") {
        return out
            .as_str()
            .map(str::to_owned)
            .or_else(|| Some(out.to_string()));
    }
    match item.get("content")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let text: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect();
            Some(text.join(" "))
        }
        _ => None,
    }
}

impl fmt::Debug for ReceivedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a HeaderMap);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut map = f.debug_map();
                for (name, value) in self.0 {
                    if SECRET_HEADERS.contains(&name.as_str()) {
                        map.entry(&name.as_str(), &"<redacted>");
                    } else {
                        map.entry(&name.as_str(), &value);
                    }
                }
                map.finish()
            }
        }
        f.debug_struct("ReceivedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &Headers(&self.headers))
            .field("body", &self.body_text())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn request(path: &str, body: &str) -> ReceivedRequest {
        let mut headers = HeaderMap::new();
        headers.insert("api-key", HeaderValue::from_static("sk-very-secret"));
        headers.insert("x-trace", HeaderValue::from_static("visible"));
        ReceivedRequest::new(
            Method::POST,
            path,
            Some("api-version=v1&x=a%20b"),
            headers,
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn debug_masks_credentials() {
        let r = request("/openai/v1/responses", "{}");
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("sk-very-secret"), "{dbg}");
        assert!(
            dbg.contains("<redacted>") && dbg.contains("visible"),
            "{dbg}"
        );
    }

    #[test]
    fn parses_query_project_model_and_prompt() {
        let r = request(
            "/api/projects/proj-1/openai/v1/responses",
            r#"{"model":"model-router","stream":true,"input":[
                {"role":"user","content":"first"},
                {"role":"assistant","content":"x"},
                {"type":"message","role":"user","content":[{"type":"input_text","text":"last one"}]}]}"#,
        );
        assert_eq!(r.query_param("api-version"), Some("v1"));
        assert_eq!(r.query_param("x"), Some("a b"));
        assert_eq!(r.project(), Some("proj-1"));
        assert_eq!(r.model(), Some("model-router"));
        assert!(r.is_stream());
        assert_eq!(r.input_text().as_deref(), Some("last one"));
        assert_eq!(request("/openai/v1/responses", "").project(), None);
    }

    #[test]
    fn non_json_body_is_kept_raw() {
        let r = request("/x", "<html>");
        assert!(r.json.is_none());
        assert_eq!(r.body_text(), "<html>");
        assert_eq!(r.model(), None);
    }
}
