//! The HTTP routes: Responses, models, health and readiness.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::BodyExt;
use tokio::time::Instant;

use super::layers::{AccessLayer, CatchPanicLayer, HeaderLimitLayer, RequestIdLayer};
use crate::config::AccessControl;
use crate::dispatch::{Reply, dispatch};
use crate::error::GatewayError;
use crate::request::parse_body;
use crate::sse;
use crate::state::AppState;
use crate::store::{ItemsPage, Stored, page};
use serde_json::{Value, json};

/// An oversized body is read and discarded up to this many bytes before answering 413, so the
/// client gets the answer instead of a reset connection.
const DRAIN_CAP: u64 = 256 << 20;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let access = match state.access() {
        AccessControl::Keys(keys) => Some(AccessLayer::new(keys.iter().cloned())),
        _ => None,
    };
    let head_limit = HeaderLimitLayer::new(
        state.settings().max_header_bytes,
        state.settings().max_headers,
    );
    let mut app = Router::new()
        .route("/openai/v1/responses", post(create))
        .route("/v1/responses", post(create))
        .route("/api/projects/{project}/openai/v1/responses", post(create))
        .route(
            "/openai/v1/responses/{id}",
            get(retrieve).delete(delete_response),
        )
        .route("/v1/responses/{id}", get(retrieve).delete(delete_response))
        .route(
            "/api/projects/{project}/openai/v1/responses/{id}",
            get(retrieve_in_project).delete(delete_in_project),
        )
        .route("/openai/v1/responses/{id}/input_items", get(list_items))
        .route("/v1/responses/{id}/input_items", get(list_items))
        .route(
            "/api/projects/{project}/openai/v1/responses/{id}/input_items",
            get(list_items_in_project),
        )
        .route("/openai/v1/models", get(models))
        .route("/v1/models", get(models))
        .route("/api/projects/{project}/openai/v1/models", get(models))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(|| async { GatewayError::RouteNotFound })
        .method_not_allowed_fallback(|| async { GatewayError::MethodNotAllowed })
        .with_state(state);
    if let Some(access) = access {
        app = app.layer(access);
    }
    app.layer(CatchPanicLayer)
        .layer(head_limit)
        .layer(RequestIdLayer)
}

async fn create(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read_body(&state, &parts.headers, body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let request = match parse_body(&bytes) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    drop(bytes);
    match dispatch(&state, request, &parts.headers).await {
        Ok(Reply::Json(body)) => {
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Ok(Reply::Stream(reply)) => {
            let mut resp = Response::new(sse::body(reply, state.settings().upstream_timeout));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert("x-accel-buffering", HeaderValue::from_static("no"));
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Reads the body within the size and time limits.
async fn read_body(
    state: &AppState,
    headers: &http::HeaderMap,
    mut body: Body,
) -> Result<Bytes, GatewayError> {
    let limit = state.settings().max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let deadline = Instant::now() + state.settings().body_read_timeout;
    if let Some(len) = declared
        && len > limit as u64
    {
        if len <= DRAIN_CAP {
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

/// Discards the rest of a body (up to [`DRAIN_CAP`] and the deadline).
async fn drain(mut body: Body, deadline: Instant) {
    let mut seen = 0u64;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await {
        seen += frame.data_ref().map_or(0, |d| d.len() as u64);
        if seen > DRAIN_CAP {
            break;
        }
    }
}

/// The stored response `id`, or the 404 that explains why there is none.
async fn stored(state: &AppState, id: &str) -> Result<Stored, GatewayError> {
    let not_found = |store_configured| GatewayError::ResponseNotFound {
        id: id.to_owned(),
        store_configured,
    };
    let store = state.store.as_ref().ok_or_else(|| not_found(false))?;
    store.get(id).await?.ok_or_else(|| not_found(true))
}

fn json_ok(body: &Value) -> Response {
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn retrieve(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match stored(&state, &id).await {
        Ok(s) => json_ok(&s.response),
        Err(e) => e.into_response(),
    }
}

async fn retrieve_in_project(
    state: State<Arc<AppState>>,
    Path((_project, id)): Path<(String, String)>,
) -> Response {
    retrieve(state, Path(id)).await
}

async fn delete_response(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let result = match &state.store {
        None => Err(GatewayError::ResponseNotFound {
            id: id.clone(),
            store_configured: false,
        }),
        Some(store) => store.delete(&id).await.and_then(|deleted| {
            if deleted {
                Ok(())
            } else {
                Err(GatewayError::ResponseNotFound {
                    id: id.clone(),
                    store_configured: true,
                })
            }
        }),
    };
    match result {
        Ok(()) => json_ok(&json!({"id": id, "object": "response.deleted", "deleted": true})),
        Err(e) => e.into_response(),
    }
}

async fn delete_in_project(
    state: State<Arc<AppState>>,
    Path((_project, id)): Path<(String, String)>,
) -> Response {
    delete_response(state, Path(id)).await
}

async fn list_items(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let request = match ItemsPage::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(p) => p,
        Err((message, param)) => {
            return GatewayError::invalid(message, Some(param.into()), "invalid_value")
                .into_response();
        }
    };
    let result = stored(&state, &id).await.and_then(|s| {
        page(&s.input_items, &request).map_err(|message| {
            GatewayError::invalid(message, Some("after".into()), "invalid_value")
        })
    });
    match result {
        Ok(body) => json_ok(&body),
        Err(e) => e.into_response(),
    }
}

async fn list_items_in_project(
    state: State<Arc<AppState>>,
    Path((_project, id)): Path<(String, String)>,
    query: RawQuery,
) -> Response {
    list_items(state, Path(id), query).await
}

async fn models(State(state): State<Arc<AppState>>) -> Response {
    let mut resp = (StatusCode::OK, state.models_body.clone()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn healthz() -> Response {
    json_status(StatusCode::OK, r#"{"status":"ok"}"#)
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.is_draining() {
        json_status(StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"draining"}"#)
    } else {
        json_status(StatusCode::OK, r#"{"status":"ready"}"#)
    }
}

fn json_status(status: StatusCode, body: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
