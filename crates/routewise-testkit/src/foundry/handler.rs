//! The catch-all wiremock responder that speaks the Responses API.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use routewise_types::PageBounds;
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::ErrorReply;
use super::deployment::{Deployment, Reply, Router};
use crate::ReceivedRequest;
use crate::fixtures::ResponseFixture;

/// Header that opts into the router's `model_selection_details`.
const FEATURES_HEADER: &str = "foundry-features";
const ROUTER_CONTROLS: &str = "ModelRouterControls=V1Preview";

/// An error queued by `fail_next`; `deployment: None` matches any request.
#[derive(Debug)]
pub(crate) struct Queued {
    pub deployment: Option<String>,
    pub reply: ErrorReply,
}

/// A stored response, for retrieve/delete/cancel/input_items.
#[derive(Debug)]
struct Stored {
    response: Value,
    input_items: Vec<Value>,
}

/// Everything the test scripts and the responder shares.
#[derive(Debug)]
pub(crate) struct State {
    pub deployments: HashMap<String, Deployment>,
    pub routers: HashMap<String, Router>,
    pub queued: VecDeque<Queued>,
    pub blocked_terms: Vec<String>,
    pub required_auth: Option<(String, String)>,
    pub region: String,
    stored: HashMap<String, Stored>,
    counter: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            deployments: HashMap::new(),
            routers: HashMap::new(),
            queued: VecDeque::new(),
            blocked_terms: Vec::new(),
            required_auth: None,
            region: "Sweden Central".to_owned(),
            stored: HashMap::new(),
            counter: 0,
        }
    }
}

impl State {
    pub(crate) fn stored_response(&self, id: &str) -> Option<Value> {
        self.stored.get(id).map(|s| s.response.clone())
    }
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    // A panicking test thread must not wedge every later request.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The wiremock [`Respond`] implementation behind `MockFoundry`.
pub(crate) struct Handler {
    pub state: Shared,
}

/// Where a request is going, after stripping the base path.
enum Route<'a> {
    Create,
    Get(&'a str),
    Delete(&'a str),
    Cancel(&'a str),
    InputItems(&'a str),
    Unknown,
}

fn route<'a>(method: &Method, path: &'a str) -> Route<'a> {
    let path = match path.strip_prefix("/api/projects/") {
        Some(rest) => match rest.split_once('/') {
            Some((project, _)) if !project.is_empty() => &rest[project.len()..],
            _ => return Route::Unknown,
        },
        None => path,
    };
    let Some(rest) = path
        .strip_prefix("/openai/v1/responses")
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        return Route::Unknown;
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').skip(1).collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", []) => Route::Create,
        ("GET", [id]) => Route::Get(id),
        ("DELETE", [id]) => Route::Delete(id),
        ("POST", [id, "cancel"]) => Route::Cancel(id),
        ("GET", [id, "input_items"]) => Route::InputItems(id),
        _ => Route::Unknown,
    }
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let received = ReceivedRequest::new(
            request.method.clone(),
            request.url.path(),
            request.url.query(),
            request.headers.clone(),
            request.body.clone(),
        );
        let mut state = lock(&self.state);
        state.counter += 1;
        let n = state.counter;
        let (template, delay) = handle(&mut state, &received, n);
        let template = decorate(template, &state.region, &received, n);
        match delay {
            Some(d) => template.set_delay(d),
            None => template,
        }
    }
}

/// Adds the diagnostic and rate-limit headers Azure sends on every answer.
fn decorate(
    mut t: ResponseTemplate,
    region: &str,
    req: &ReceivedRequest,
    n: u64,
) -> ResponseTemplate {
    t = t
        .insert_header("x-request-id", request_id("req", n).as_str())
        .insert_header("apim-request-id", request_id("apim", n).as_str())
        .insert_header("x-ms-region", region);
    if let Some(client_id) = req.header("x-ms-client-request-id") {
        t = t.insert_header("x-ms-client-request-id", client_id);
    }
    t
}

/// A UUID-shaped, deterministic request id.
fn request_id(kind: &str, n: u64) -> String {
    let tag = kind
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{tag:08x}-0000-4000-8000-{n:012x}")
}

fn handle(
    state: &mut State,
    req: &ReceivedRequest,
    n: u64,
) -> (ResponseTemplate, Option<Duration>) {
    if let Some(version) = req.query_param("api-version")
        && !matches!(version, "v1" | "preview")
    {
        let e = ErrorReply::azure(400, "BadRequest", "API version not supported");
        return (e.to_template(), None);
    }
    if let Some((name, expected)) = &state.required_auth
        && req.header(name) != Some(expected.as_str())
    {
        return (ErrorReply::unauthorized().to_template(), None);
    }
    match route(&req.method, &req.path) {
        Route::Create => create(state, req, n),
        Route::Get(id) => (stored_or_404(state, id, |s| s.response.clone()), None),
        Route::Delete(id) => {
            let t = match state.stored.remove(id) {
                Some(_) => json_template(
                    200,
                    &json!({"id": id, "object": "response", "deleted": true}),
                ),
                None => response_not_found(id),
            };
            (t, None)
        }
        Route::Cancel(id) => {
            let t = match state.stored.get_mut(id) {
                Some(s) if s.response["background"] == json!(true) => {
                    s.response["status"] = json!("cancelled");
                    json_template(200, &s.response)
                }
                Some(_) => ErrorReply::openai(
                    400,
                    "invalid_request_error",
                    "invalid_request_error",
                    "Cannot cancel a synchronous response.",
                )
                .to_template(),
                None => response_not_found(id),
            };
            (t, None)
        }
        Route::InputItems(id) => (
            match state.stored.get(id) {
                Some(s) => input_items_page(&s.input_items, req),
                None => response_not_found(id),
            },
            None,
        ),
        Route::Unknown => (
            ErrorReply::azure(404, "404", "Resource not found").to_template(),
            None,
        ),
    }
}

/// One page of input items as the service pages them: `order` (`desc` by default), `after`
/// (an item id), Azure's `before` (an item id: the page just before it), `limit` (1 to 100,
/// default 20). Bad parameters get the service's 400.
fn input_items_page(items: &[Value], req: &ReceivedRequest) -> ResponseTemplate {
    let bad = |param: &str, message: String| {
        ErrorReply::openai(400, "invalid_request_error", "invalid_value", &message)
            .param(param)
            .to_template()
    };
    let limit = match req.query_param("limit") {
        None => 20,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return bad(
                    "limit",
                    format!("Invalid 'limit': expected an integer from 1 to 100, got '{v}'."),
                );
            }
        },
    };
    let ordered: Vec<&Value> = match req.query_param("order") {
        None | Some("desc") => items.iter().rev().collect(),
        Some("asc") => items.iter().collect(),
        Some(other) => {
            return bad(
                "order",
                format!("Invalid 'order': expected 'asc' or 'desc', got '{other}'."),
            );
        }
    };
    // `Err` names the parameter whose id is unknown.
    let cursor = |param: &'static str| match req.query_param(param) {
        // An empty cursor is the first page, as the gateway reads it.
        None | Some("") => Ok(None),
        Some(id) => ordered
            .iter()
            .position(|i| i.get("id") == Some(&json!(id)))
            .map(Some)
            .ok_or((param, id)),
    };
    let (after, before) = match (cursor("after"), cursor("before")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err((param, id)), _) | (_, Err((param, id))) => {
            return bad(
                param,
                format!("Invalid '{param}': no input item with id '{id}'."),
            );
        }
    };
    let PageBounds { range, has_more } = PageBounds::of(ordered.len(), after, before, limit);
    let page = &ordered[range];
    json_template(
        200,
        &json!({
            "object": "list",
            "data": page,
            "first_id": page.first().and_then(|i| i.get("id")).cloned(),
            "last_id": page.last().and_then(|i| i.get("id")).cloned(),
            "has_more": has_more,
        }),
    )
}

fn stored_or_404(state: &State, id: &str, f: impl Fn(&Stored) -> Value) -> ResponseTemplate {
    match state.stored.get(id) {
        Some(s) => json_template(200, &f(s)),
        None => response_not_found(id),
    }
}

fn response_not_found(id: &str) -> ResponseTemplate {
    ErrorReply::openai(
        404,
        "invalid_request_error",
        "response_not_found",
        &format!("Response with id '{id}' not found."),
    )
    .param("response_id")
    .to_template()
}

fn json_template(status: u16, body: &Value) -> ResponseTemplate {
    with_rate_limits(
        ResponseTemplate::new(status).set_body_raw(body.to_string(), "application/json"),
    )
}

/// Healthy `x-ratelimit-*` values for successful answers. Error answers carry
/// only the headers their [`ErrorReply`] sets, so a scripted 429 is never
/// contradicted by a second, healthy copy of the same header.
fn with_rate_limits(t: ResponseTemplate) -> ResponseTemplate {
    t.insert_header("x-ratelimit-limit-requests", "100")
        .insert_header("x-ratelimit-remaining-requests", "99")
        .insert_header("x-ratelimit-limit-tokens", "100000")
        .insert_header("x-ratelimit-remaining-tokens", "99000")
}

fn create(
    state: &mut State,
    req: &ReceivedRequest,
    n: u64,
) -> (ResponseTemplate, Option<Duration>) {
    let Some(body) = req.json.as_ref().filter(|b| b.is_object()) else {
        let e = ErrorReply::openai(
            400,
            "invalid_request_error",
            "invalid_json",
            "We could not parse the JSON body of your request.",
        );
        return (e.to_template(), None);
    };
    let Some(model) = req.model() else {
        let e = ErrorReply::openai(
            400,
            "invalid_request_error",
            "missing_required_parameter",
            "Missing required parameter: 'model'.",
        )
        .param("model");
        return (e.to_template(), None);
    };
    if let Some(i) = state
        .queued
        .iter()
        .position(|q| q.deployment.as_deref().is_none_or(|d| d == model))
        && let Some(q) = state.queued.remove(i)
    {
        return (q.reply.to_template(), None);
    }

    let prompt = req.input_text().unwrap_or_default();
    let (deployment, latency, selection) = if let Some(d) = state.deployments.get(model) {
        if let Some(e) = &d.failure {
            return (e.to_template(), d.latency);
        }
        (d.clone(), d.latency, None)
    } else if let Some(r) = state.routers.get(model) {
        let Some(routed) = r.route(req) else {
            let e = ErrorReply::azure(
                503,
                "NoAvailableModel",
                "No model in the routing pool is available.",
            );
            return (e.to_template(), r.latency);
        };
        let target = state
            .deployments
            .get(&routed.model)
            .cloned()
            .unwrap_or_else(|| Deployment::new(routed.model.clone()));
        let wants_details = req
            .header(FEATURES_HEADER)
            .is_some_and(|h| h.split(',').any(|f| f.trim() == ROUTER_CONTROLS));
        let details =
            wants_details.then(|| selection_details(r, &routed.failed, target.served_model()));
        (target, r.latency, details)
    } else {
        return (ErrorReply::deployment_not_found().to_template(), None);
    };

    let id = format!("resp_mock{n:06}");
    let fixture = ResponseFixture::new(&id, deployment.served_model())
        .created_at(unix_now())
        .echo_request(body);
    if state
        .blocked_terms
        .iter()
        .any(|t| prompt.contains(t.as_str()))
    {
        let t = if req.is_stream() {
            sse_template(crate::fixtures::sse_body(
                fixture.content_filtered_stream_events(),
            ))
        } else {
            ErrorReply::content_filter().to_template()
        };
        return (t, latency);
    }

    let mut fixture = match &deployment.reply {
        Reply::FunctionCall { name, arguments } => fixture
            .function_call(format!("call_mock{n:06}"), name, arguments)
            .usage(input_tokens(&prompt, body), estimate_tokens(arguments)),
        Reply::Custom(f) => {
            let custom = ResponseFixture::from_response(&f(req)).with_id(&id);
            if custom.model().is_empty() {
                custom.with_model(deployment.served_model())
            } else {
                custom
            }
        }
        _ => {
            let text = deployment.reply_text(&prompt);
            let output_tokens = estimate_tokens(&text);
            fixture
                .text(text)
                .usage(input_tokens(&prompt, body), output_tokens)
        }
    };
    if let Some(details) = selection {
        fixture = fixture.field("model_selection_details", details);
    }

    if body.get("store") != Some(&json!(false)) {
        state.stored.insert(
            id.clone(),
            Stored {
                response: fixture.to_json(),
                input_items: input_items(body.get("input"), n),
            },
        );
    }
    let t = if req.is_stream() {
        sse_template(fixture.sse())
    } else {
        json_template(200, &fixture.to_json())
    };
    (t, latency)
}

fn selection_details(router: &Router, failed: &[String], served: &str) -> Value {
    let mut attempts: Vec<Value> = failed
        .iter()
        .map(|m| {
            json!({"model": m, "result": {"status": 404, "error": {"code": "NotFound", "message": "The request failed with status code 404."}}})
        })
        .collect();
    attempts.push(json!({"model": served, "result": {"status": 200}}));
    json!({"model_router_details": {
        "mode": router.routing_mode(),
        "routing_trace": [{"latency_ms": 19, "attempts": attempts}],
    }})
}

fn sse_template(body: String) -> ResponseTemplate {
    with_rate_limits(ResponseTemplate::new(200))
        .set_body_raw(body, "text/event-stream")
        .insert_header("cache-control", "no-cache")
}

fn input_tokens(prompt: &str, body: &Value) -> u64 {
    let instructions = body
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or_default();
    estimate_tokens(prompt) + estimate_tokens(instructions)
}

/// Roughly four characters per token, so usage grows with the prompt.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The request's `input` as the item list `GET .../input_items` returns.
fn input_items(input: Option<&Value>, n: u64) -> Vec<Value> {
    let items: Vec<Value> = match input {
        Some(Value::String(s)) => vec![json!({
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": s}],
        })],
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            if item.get("id").is_none() && item.is_object() {
                item["id"] = json!(format!("msg_in{n:06}_{i}"));
            }
            if item.get("type").is_none() && item.is_object() {
                item["type"] = json!("message");
            }
            item
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_resource_and_project_shapes() {
        let post = Method::POST;
        assert!(matches!(
            route(&post, "/openai/v1/responses"),
            Route::Create
        ));
        assert!(matches!(
            route(&post, "/api/projects/p/openai/v1/responses"),
            Route::Create
        ));
        assert!(matches!(
            route(&post, "/api/projects//openai/v1/responses"),
            Route::Unknown
        ));
        assert!(matches!(
            route(&Method::GET, "/openai/v1/responses/r1"),
            Route::Get("r1")
        ));
        assert!(matches!(
            route(&Method::DELETE, "/api/projects/p/openai/v1/responses/r1"),
            Route::Delete("r1")
        ));
        assert!(matches!(
            route(&post, "/openai/v1/responses/r1/cancel"),
            Route::Cancel("r1")
        ));
        assert!(matches!(
            route(&Method::GET, "/openai/v1/responses/r1/input_items"),
            Route::InputItems("r1")
        ));
        assert!(matches!(
            route(&post, "/openai/v1/chat/completions"),
            Route::Unknown
        ));
        assert!(matches!(
            route(&post, "/openai/v1/responsesX"),
            Route::Unknown
        ));
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let a = request_id("req", 1);
        assert_eq!(a.len(), 36);
        assert_ne!(a, request_id("apim", 1));
        assert_ne!(a, request_id("req", 2));
    }

    #[test]
    fn input_items_get_ids_and_types() {
        let items = input_items(Some(&json!("hi")), 7);
        assert_eq!(items[0]["id"], "msg_in000007_0");
        assert_eq!(items[0]["content"][0]["text"], "hi");
        let items = input_items(Some(&json!([{"role": "user", "content": "x"}])), 1);
        assert_eq!(items[0]["type"], "message");
    }
}
