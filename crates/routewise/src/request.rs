//! Building the HTTP requests for each Responses operation.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use http::{Method, Request};

use crate::endpoint::Endpoint;
use crate::error::{Error, ErrorKind};
use crate::list::InputItemsQuery;

/// The `User-Agent` every request carries unless default headers override it.
pub(crate) const DEFAULT_USER_AGENT: &str = concat!("routewise/", env!("CARGO_PKG_VERSION"));

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// One Responses API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation<'a> {
    Create {
        stream: bool,
    },
    Retrieve(&'a str),
    /// `GET /responses/{id}?stream=true`, optionally `&starting_after=N`.
    RetrieveStream(&'a str, Option<u64>),
    Delete(&'a str),
    Cancel(&'a str),
    InputItems(&'a str, Option<&'a InputItemsQuery>),
}

impl Operation<'_> {
    /// The OpenTelemetry `gen_ai.operation.name`-style label for spans.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Create { stream: false } => "responses.create",
            Self::Create { stream: true } => "responses.stream",
            Self::Retrieve(_) => "responses.retrieve",
            Self::RetrieveStream(..) => "responses.retrieve_stream",
            Self::Delete(_) => "responses.delete",
            Self::Cancel(_) => "responses.cancel",
            Self::InputItems(..) => "responses.input_items",
        }
    }
}

/// Builds the request for `op` against `endpoint`, with `defaults` applied first.
pub(crate) fn build(
    endpoint: &Endpoint,
    defaults: &HeaderMap,
    op: Operation<'_>,
    body: Bytes,
) -> Result<Request<Bytes>, Error> {
    let (method, uri) = match op {
        Operation::Create { .. } => (Method::POST, endpoint.join("responses")),
        Operation::Retrieve(id) => (
            Method::GET,
            endpoint.join(&format!("responses/{}", check_id(id)?)),
        ),
        Operation::RetrieveStream(id, after) => {
            let mut uri = endpoint.join(&format!("responses/{}?stream=true", check_id(id)?));
            if let Some(n) = after {
                uri.push_str("&starting_after=");
                uri.push_str(&n.to_string());
            }
            (Method::GET, uri)
        }
        Operation::Delete(id) => (
            Method::DELETE,
            endpoint.join(&format!("responses/{}", check_id(id)?)),
        ),
        Operation::Cancel(id) => (
            Method::POST,
            endpoint.join(&format!("responses/{}/cancel", check_id(id)?)),
        ),
        Operation::InputItems(id, query) => {
            let mut uri = endpoint.join(&format!("responses/{}/input_items", check_id(id)?));
            let query = query.map(InputItemsQuery::to_query).unwrap_or_default();
            if !query.is_empty() {
                uri.push('?');
                uri.push_str(&query);
            }
            (Method::GET, uri)
        }
    };
    let mut req = Request::builder()
        .method(method)
        .uri(&uri)
        .body(body)
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot build a request for {uri}"),
            )
            .with_source(e)
        })?;
    let headers = req.headers_mut();
    headers.insert(USER_AGENT, HeaderValue::from_static(DEFAULT_USER_AGENT));
    // A default replaces what the request would set under that name, but all of its own
    // values are kept: a header may legitimately repeat.
    for name in defaults.keys() {
        headers.remove(name);
    }
    for (name, value) in defaults {
        headers.append(name.clone(), value.clone());
    }
    let streaming = matches!(
        op,
        Operation::Create { stream: true } | Operation::RetrieveStream(..)
    );
    headers.insert(ACCEPT, if streaming { EVENT_STREAM } else { JSON });
    if matches!(op, Operation::Create { .. }) {
        headers.insert(CONTENT_TYPE, JSON);
    }
    Ok(req)
}

/// Ids go into the path verbatim, so only the characters real ids use are allowed
/// (`resp_…`: ASCII letters, digits, `_` and `-`).
fn check_id(id: &str) -> Result<&str, Error> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("invalid response id {id:?}: expected ASCII letters, digits, `_` or `-`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint::project("https://r.services.ai.azure.com/api/projects/p").unwrap()
    }

    #[test]
    fn paths_per_operation() {
        let base = "https://r.services.ai.azure.com/api/projects/p/openai/v1";
        let cases = [
            (Operation::Create { stream: false }, "POST", "/responses"),
            (Operation::Retrieve("resp_1"), "GET", "/responses/resp_1"),
            (
                Operation::RetrieveStream("resp_1", None),
                "GET",
                "/responses/resp_1?stream=true",
            ),
            (
                Operation::RetrieveStream("resp_1", Some(7)),
                "GET",
                "/responses/resp_1?stream=true&starting_after=7",
            ),
            (Operation::Delete("resp_1"), "DELETE", "/responses/resp_1"),
            (
                Operation::Cancel("resp_1"),
                "POST",
                "/responses/resp_1/cancel",
            ),
            (
                Operation::InputItems("resp_1", None),
                "GET",
                "/responses/resp_1/input_items",
            ),
        ];
        for (op, method, path) in cases {
            let req = build(&endpoint(), &HeaderMap::new(), op, Bytes::new()).unwrap();
            assert_eq!(req.method().as_str(), method);
            assert_eq!(req.uri().to_string(), format!("{base}{path}"));
        }
    }

    #[test]
    fn headers_and_defaults() {
        let mut defaults = HeaderMap::new();
        defaults.insert("x-ms-client-request-id", HeaderValue::from_static("abc"));
        defaults.insert(USER_AGENT, HeaderValue::from_static("my-app"));
        let req = build(
            &endpoint(),
            &defaults,
            Operation::Create { stream: true },
            Bytes::from_static(b"{}"),
        )
        .unwrap();
        assert_eq!(req.headers()[ACCEPT], "text/event-stream");
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(req.headers()[USER_AGENT], "my-app");
        assert_eq!(req.headers()["x-ms-client-request-id"], "abc");
        let get = build(
            &endpoint(),
            &HeaderMap::new(),
            Operation::Retrieve("r"),
            Bytes::new(),
        )
        .unwrap();
        assert!(get.headers().get(CONTENT_TYPE).is_none());
        assert!(
            get.headers()[USER_AGENT]
                .to_str()
                .unwrap()
                .starts_with("routewise/")
        );
    }

    #[test]
    fn repeated_default_headers_are_all_sent() {
        let mut defaults = HeaderMap::new();
        defaults.append("x-feature", HeaderValue::from_static("a"));
        defaults.append("x-feature", HeaderValue::from_static("b"));
        defaults.append(USER_AGENT, HeaderValue::from_static("app/1"));
        defaults.append(USER_AGENT, HeaderValue::from_static("lib/2"));
        let req = build(
            &endpoint(),
            &defaults,
            Operation::Retrieve("r"),
            Bytes::new(),
        )
        .unwrap();
        let values = |name| -> Vec<&str> {
            req.headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect()
        };
        assert_eq!(values("x-feature"), ["a", "b"]);
        assert_eq!(
            values("user-agent"),
            ["app/1", "lib/2"],
            "the built-in one is replaced"
        );
    }

    #[test]
    fn bad_ids_are_rejected_before_sending() {
        for bad in [
            "",
            "../admin",
            "a/b",
            "a?b=c",
            "a#b",
            "résumé",
            &"x".repeat(300),
        ] {
            let err = build(
                &endpoint(),
                &HeaderMap::new(),
                Operation::Retrieve(bad),
                Bytes::new(),
            )
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        }
    }
}
