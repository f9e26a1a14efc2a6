//! The HTTP routes: Responses, models, health and readiness.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio::time::Instant;

use super::layers::{AccessLayer, CatchPanicLayer, HeaderLimitLayer, RequestId, RequestIdLayer};
use super::stored;
use super::unread_body::UnreadBodyLayer;
use crate::access::{Caller, CreateOp, ListModelsOp, MetricsOp, Permit};
use crate::background;
use crate::dispatch::{Reply, dispatch};
use crate::error::{GatewayError, clipped};
use crate::request::parse_body;
use crate::sse;
use crate::state::AppState;
use crate::telemetry::{self, Access, AccessLogLayer, Arrival, ErrorCode, Logged, Route};

/// An oversized body is read and discarded up to this many bytes before answering 413, so the
/// client gets the answer instead of a reset connection.
const DRAIN_CAP: u64 = 256 << 20;

/// Draining stops when the client sends nothing for this long: a client still uploading is
/// blocked on its write and keeps sending, while one that stalled (or declared a length it
/// never sends) is waiting for an answer, which it then gets at once.
const DRAIN_IDLE: Duration = Duration::from_secs(1);

/// Where the Responses API is mounted: OpenAI's path, the bare `/v1`, a Foundry project's, and
/// Azure's dated API (`/openai/responses?api-version=2025-04-01-preview`, what `AzureOpenAI`
/// clients call), kept as a fallback. `api-version` is not checked on any of them.
const API_ROOTS: [&str; 4] = [
    "/openai/v1",
    "/v1",
    "/api/projects/{project}/openai/v1",
    "/openai",
];

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let access = state
        .keys
        .as_ref()
        .map(|t| AccessLayer::from_table(Arc::clone(t)));
    let head_limit = HeaderLimitLayer::new(
        state.settings().max_header_bytes,
        state.settings().max_headers,
    );
    let access_log = AccessLogLayer::new(Arc::clone(&state.metrics));
    let mut app = Router::new();
    for root in API_ROOTS {
        app = app
            .route(&format!("{root}/responses"), post(create))
            .route(
                &format!("{root}/responses/{{id}}"),
                get(stored::retrieve).delete(stored::delete),
            )
            .route(
                &format!("{root}/responses/{{id}}/input_items"),
                get(stored::list_items),
            )
            .route(
                &format!("{root}/responses/{{id}}/cancel"),
                post(stored::cancel),
            )
            .route(&format!("{root}/models"), get(models))
            .route(&format!("{root}/models/{{id}}"), get(model));
    }
    // One stack, applied once: axum boxes and clones each `Router::layer` per request, so five
    // separate layers cost five boxed clones where one stack costs one. The first layer listed
    // is the outermost.
    let stack = tower::ServiceBuilder::new()
        .layer(UnreadBodyLayer)
        .layer(RequestIdLayer)
        .layer(access_log)
        .layer(head_limit)
        .layer(CatchPanicLayer)
        .option_layer(access);
    app.route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { GatewayError::RouteNotFound })
        .method_not_allowed_fallback(|| async { GatewayError::MethodNotAllowed })
        .with_state(state)
        .layer(stack)
}

async fn create(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<CreateOp>,
    req: Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let mut access = Access::new(
        Arc::clone(&state.metrics),
        parts
            .extensions
            .get::<Arrival>()
            .map_or_else(std::time::Instant::now, |a| a.0),
        parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        parts.method.clone(),
        Route::Create,
    );
    access.principal = caller.principal().cloned();
    let mut quota = None;
    // Held until the answer is made: a large request's parsed form is what fills memory.
    let mut _budget = None;
    let parsed = async {
        let bytes = read_body(&state, &parts.headers, body).await?;
        if bytes.len() < LARGE_BODY {
            return parse_body(&bytes);
        }
        _budget = Some(large_body_permit(&state, bytes.len()).await?);
        tokio::task::spawn_blocking(move || parse_body(&bytes))
            .await
            .unwrap_or_else(|e| {
                Err(GatewayError::Internal {
                    message: format!("parsing the request body failed: {e}"),
                })
            })
    }
    .await;
    let result = match parsed {
        Ok(request) if request.background == Some(true) => {
            let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
            let submit =
                background::submit(&state, request, &parts.headers, request_id, access, caller);
            return Box::pin(submit).await;
        }
        Ok(request) => {
            // Boxed: axum moves this handler's future twice per request, and dispatch's state
            // (about 6 KB) need not move with it.
            Box::pin(dispatch(
                &state,
                Box::new(request),
                &parts.headers,
                &mut quota,
                &mut access,
                &caller,
                None,
            ))
            .await
        }
        Err(e) => Err(e),
    };
    let mut resp = match result {
        Ok(Reply::Json(body)) => {
            access.status = Some(200);
            json(StatusCode::OK, body)
        }
        Ok(Reply::Stream(reply)) => {
            access.status = Some(200);
            // The stream body owns the record from here and emits it when it ends.
            let idle = state.settings().upstream_timeout;
            let mut resp = Response::new(sse::body(reply, idle, access));
            sse::event_stream_headers(resp.headers_mut());
            resp
        }
        Err(e) => {
            let resp = e.into_response();
            access.status = Some(resp.status().as_u16());
            access.error_code = resp.extensions().get::<ErrorCode>().map(|c| c.0.clone());
            resp
        }
    };
    if let Some(quota) = quota {
        quota.write_headers(resp.headers_mut());
    }
    // A JSON or error answer's record is emitted here, as `access` goes out of scope.
    resp.extensions_mut().insert(Logged);
    resp
}

/// Bodies at least this large are parsed on the blocking pool, and count against the
/// replica's large-body budget: parsing 30 MB takes a quarter of a second, which must not
/// stall the other connections on the same worker thread.
const LARGE_BODY: usize = 256 * 1024;

/// A share of the large-body budget for `len` bytes, waited for at most `body_read_timeout`.
async fn large_body_permit(
    state: &AppState,
    len: usize,
) -> Result<tokio::sync::OwnedSemaphorePermit, GatewayError> {
    let budget = &state.large_bodies;
    // A body larger than the whole budget (a lowered max_body_bytes) waits for all of it.
    let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX);
    let whole = crate::state::large_body_budget_kib(state.settings().max_body_bytes);
    let kib = kib.min(u32::try_from(whole).unwrap_or(u32::MAX));
    let wait = state.settings().body_read_timeout;
    match tokio::time::timeout(wait, Arc::clone(budget).acquire_many_owned(kib)).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(GatewayError::Busy {
            retry_after: Duration::from_secs(1),
        }),
    }
}

/// Reads the body within the size and time limits.
async fn read_body(
    state: &AppState,
    headers: &http::HeaderMap,
    mut body: Body,
) -> Result<Bytes, GatewayError> {
    check_media_type(headers)?;
    let limit = state.settings().max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let deadline = Instant::now() + state.settings().body_read_timeout;
    if let Some(len) = declared
        && len > limit as u64
    {
        // A client that asked `Expect: 100-continue` has sent nothing yet; reading would make
        // hyper invite the upload about to be refused.
        let waits_for_continue = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if len <= DRAIN_CAP && !waits_for_continue {
            drain(body, deadline).await;
        }
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    let mut buf = BytesMut::with_capacity(declared.map_or(1024, |l| l as usize));
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(GatewayError::RequestTimeout),
            Ok(None) => return Ok(buf.freeze()),
            Ok(Some(Err(e))) => {
                return Err(GatewayError::invalid(
                    format!("The request body could not be read: {e}"),
                    None,
                    "invalid_body",
                ));
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if buf.len() + data.len() > limit {
                        drain(body, deadline).await;
                        return Err(GatewayError::PayloadTooLarge { limit });
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Refuses, before the body is read, a `Content-Type` that is not JSON and a
/// `Content-Encoding` the gateway does not decode. A missing `Content-Type` is read as JSON,
/// as clients that omit it mean; `charset` and other parameters are ignored.
fn check_media_type(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    for coding in headers.get_all(header::CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes());
        if coding
            .split(',')
            .any(|c| !c.trim().is_empty() && !c.trim().eq_ignore_ascii_case("identity"))
        {
            return Err(GatewayError::UnsupportedMediaType {
                message: format!(
                    "Unsupported content encoding: '{}'. Send the body uncompressed.",
                    clipped(&coding, 100)
                ),
            });
        }
    }
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = String::from_utf8_lossy(ct.as_bytes());
    // Compared without lowering a copy: this runs on every request.
    let essence = ct.split(';').next().unwrap_or("").trim().as_bytes();
    let starts = |p: &[u8]| essence.len() >= p.len() && essence[..p.len()].eq_ignore_ascii_case(p);
    let ends = |p: &[u8]| {
        essence.len() >= p.len() && essence[essence.len() - p.len()..].eq_ignore_ascii_case(p)
    };
    if essence.eq_ignore_ascii_case(b"application/json")
        || (starts(b"application/") && ends(b"+json"))
    {
        return Ok(());
    }
    Err(GatewayError::UnsupportedMediaType {
        message: format!(
            "Unsupported content type: '{}'. This API method only accepts 'application/json' \
             requests.",
            clipped(&ct, 100)
        ),
    })
}

/// Discards the rest of a body (up to [`DRAIN_CAP`], the deadline, and [`DRAIN_IDLE`] between
/// frames).
async fn drain(mut body: Body, deadline: Instant) {
    let mut seen = 0u64;
    loop {
        let next = deadline.min(Instant::now() + DRAIN_IDLE);
        let Ok(Some(Ok(frame))) = tokio::time::timeout_at(next, body.frame()).await else {
            break;
        };
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > DRAIN_CAP {
            break;
        }
    }
}

/// One model of [`models`] (`client.models.retrieve`); a name this caller may not use is
/// answered like an unknown one.
async fn model(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<ListModelsOp>,
    // A map: the Foundry project prefix has a `{project}` segment of its own.
    params: Result<
        axum::extract::Path<std::collections::HashMap<String, String>>,
        axum::extract::rejection::PathRejection,
    >,
) -> Response {
    let Some(id) = params.ok().and_then(|p| p.0.get("id").cloned()) else {
        return GatewayError::invalid(
            "The model id in the path is not valid UTF-8.",
            Some("model".to_owned()),
            "invalid_value",
        )
        .into_response();
    };
    let body = match &caller {
        Caller::Principal(p) => p.models_body.as_ref(),
        Caller::Anonymous => None,
    };
    let list: serde_json::Value =
        serde_json::from_slice(body.unwrap_or(&state.models_body)).unwrap_or_default();
    let found = list["data"]
        .as_array()
        .and_then(|d| d.iter().find(|m| m["id"] == id.as_str()));
    match found {
        Some(m) => json(StatusCode::OK, m.to_string()),
        None => GatewayError::deployment_not_found(id).into_response(),
    }
}

/// The models this caller may use (everything, unless its principal is restricted).
async fn models(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<ListModelsOp>,
) -> Response {
    let body = match &caller {
        Caller::Principal(p) => p.models_body.as_ref(),
        Caller::Anonymous => None,
    };
    json(StatusCode::OK, body.unwrap_or(&state.models_body).clone())
}

/// The Prometheus exposition; behind access control like the API (roles `monitor` and
/// `admin`), since it names the deployments and shows every tenant's traffic.
async fn metrics(State(state): State<Arc<AppState>>, _: Permit<MetricsOp>) -> Response {
    let mut text = state.metrics.render();
    background_gauges(
        &mut text,
        state.background.running(),
        state.followers.active(),
    );
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(telemetry::CONTENT_TYPE),
    );
    resp
}

/// `routewise_background_running` (background responses this process is running now) and
/// `routewise_background_stream_followers` (streams following them now, against
/// `max_stream_followers`).
fn background_gauges(out: &mut String, running: usize, followers: usize) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "# HELP routewise_background_running Background responses this process is running.\n\
         # TYPE routewise_background_running gauge\n\
         routewise_background_running {running}\n\
         # HELP routewise_background_stream_followers Streams following background responses on this process.\n\
         # TYPE routewise_background_stream_followers gauge\n\
         routewise_background_stream_followers {followers}\n"
    );
}

async fn healthz() -> Response {
    json(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.is_draining() {
        json(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"draining"}"#)
    } else {
        json(StatusCode::OK, r#"{"status":"ready"}"#)
    }
}

/// A JSON response with its content type.
pub(super) fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = (status, body.into()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
