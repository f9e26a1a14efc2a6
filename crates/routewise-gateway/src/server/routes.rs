//! The HTTP routes: Responses, models, health and readiness.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderValue, Request, StatusCode, header};

use super::body::{ReadBody, read_body};
use super::layers::{AccessLayer, CatchPanicLayer, HeaderLimitLayer, RequestId, RequestIdLayer};
use super::stored;
use super::unread_body::UnreadBodyLayer;
use crate::access::{Caller, CreateOp, ListModelsOp, MetricsOp, Permit};
use crate::background;
use crate::budget::{Hold, sized};
use crate::dispatch::{Holdings, Reply, dispatch};
use crate::error::GatewayError;
use crate::request::parse_body;
use crate::sse;
use crate::state::AppState;
use crate::telemetry::{self, Access, AccessLogLayer, Arrival, ErrorCode, Logged, Route};

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
    // A large request's share of the large-body budget: its parsed form is what fills memory,
    // so the share goes with it, to the JSON answer, the stream's end or the background run's.
    let mut budget = Hold::default();
    let parsed = async {
        // Weighed and held to the value limit as it arrived, so nothing is counted twice.
        let ReadBody {
            bytes,
            held,
            weight,
        } = read_body(&state, &parts.headers, body).await?;
        // A share for what the parse will take; a short, heavy body is parsed here (its parse
        // is quick) but still holds one.
        let share = if weight.takes_share(bytes.len()) {
            Some(state.large_bodies.share(weight.cost).await?)
        } else {
            None
        };
        // The share and the count go with the parse: off the worker threads it runs on if
        // the client leaves, and the memory it takes is what they bound. The raw bytes' count
        // ends with the parse.
        let (parsed, share) = sized(bytes.len(), move || {
            let parsed = parse_body(&bytes);
            drop((bytes, held));
            (parsed, share)
        })
        .await?;
        budget = Hold::new(share, weight.cost);
        parsed
    }
    .await;
    let mut held = Holdings {
        quota: None,
        budget,
    };
    let result = match parsed {
        Ok(request) if request.background == Some(true) => {
            let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
            let submit = background::submit(
                &state,
                request,
                &parts.headers,
                request_id,
                access,
                caller,
                held.budget,
            );
            return Box::pin(submit).await;
        }
        Ok(request) => {
            // Boxed: axum moves this handler's future twice per request, and dispatch's state
            // (about 6 KB) need not move with it.
            Box::pin(dispatch(
                &state,
                Box::new(request),
                &parts.headers,
                &mut held,
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
            let budget = std::mem::take(&mut held.budget).into_permit();
            let mut resp = Response::new(sse::body(reply, idle, access, budget));
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
    if let Some(quota) = held.quota {
        quota.write_headers(resp.headers_mut());
    }
    // A JSON or error answer's record is emitted here, as `access` goes out of scope.
    resp.extensions_mut().insert(Logged);
    resp
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
    connection_gauges(
        &mut text,
        state.connections.open(),
        state.connections.limit(),
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

/// `routewise_connections_open` (connections this process serves now) and
/// `routewise_connections_max` (`max_connections`): equal means new clients are waiting.
fn connection_gauges(out: &mut String, open: usize, max: usize) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "# HELP routewise_connections_open Connections this process is serving.\n\
         # TYPE routewise_connections_open gauge\n\
         routewise_connections_open {open}\n\
         # HELP routewise_connections_max Connections this process serves at most (max_connections).\n\
         # TYPE routewise_connections_max gauge\n\
         routewise_connections_max {max}\n"
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
