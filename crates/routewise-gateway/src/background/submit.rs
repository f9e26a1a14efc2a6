//! `POST /responses` with `background: true`: checks, starts the run, and answers with the
//! `queued` response (or, for `stream: true`, with the run's live events).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use routewise_types::CreateResponse;
use tokio::sync::{mpsc, oneshot};

use super::object::new_response_id;
use super::run::{LIVE_CAPACITY, LOG_CAPACITY, Start, Submitted, Task, run};
use crate::access::Caller;
use crate::budget::Hold;
use crate::dispatch::Reply;
use crate::error::GatewayError;
use crate::limits::RateLimitStatus;
use crate::state::AppState;
use crate::store::{LoggedEvent, ResponseStore};
use crate::telemetry::{Access, ErrorCode, Logged, Outcome, Route};

/// Foundry's wording (`unsupported_parameter` on `background`) for a background request
/// that could not be stored.
const NEEDS_STORE: &str = "Background responses require store to be enabled.";

/// Serves a background submission from `caller`; `access` is the submission's record.
pub(crate) async fn submit(
    state: &Arc<AppState>,
    req: CreateResponse,
    headers: &HeaderMap,
    request_id: Option<HeaderValue>,
    mut access: Access,
    caller: Caller,
    budget: Hold,
) -> Response {
    access.set_requested(req.model.as_deref().unwrap_or_default());
    access.stream = req.is_stream();
    let store = match (&state.store, req.store) {
        (Some(_), Some(false)) => {
            return refusal(
                GatewayError::invalid(
                    NEEDS_STORE,
                    Some("background".into()),
                    "unsupported_parameter",
                ),
                None,
                access,
            );
        }
        (None, _) => {
            let message = format!(
                "{NEEDS_STORE} This gateway stores no responses (add a [store] table with a Redis URL to its config)."
            );
            return refusal(
                GatewayError::invalid(message, Some("background".into()), "unsupported_parameter"),
                None,
                access,
            );
        }
        (Some(store), _) => Arc::clone(store),
    };
    let id = new_response_id();
    let stream = req.is_stream();
    let (reply_tx, reply_rx) = oneshot::channel();
    let (live_tx, live_rx) = if stream {
        let (tx, rx) = mpsc::channel(LIVE_CAPACITY);
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    let (log_tx, writer) = if stream {
        let (tx, rx) = mpsc::channel(LOG_CAPACITY);
        let writer = tokio::spawn(write_log(Arc::clone(&store), id.clone(), rx));
        (Some(tx), Some(writer))
    } else {
        (None, None)
    };
    let start = Start::new(
        id.clone(),
        stream,
        store,
        &state.background,
        reply_tx,
        live_tx,
        log_tx,
    );
    let (stop, registered) = state.background.insert(state, &id);
    let mut run_access = Access::new(
        Arc::clone(&state.metrics),
        Instant::now(),
        request_id,
        Method::POST,
        Route::Background,
    );
    run_access.principal = caller.principal().cloned();
    tokio::spawn(run(Task {
        state: Arc::clone(state),
        req,
        headers: headers.clone(),
        start,
        access: run_access,
        caller,
        stop,
        registered,
        writer,
        budget,
    }));
    match reply_rx.await {
        Ok(Submitted::Queued {
            response,
            quota,
            seen,
        }) => {
            seen.apply(&mut access);
            access.counted_by_run = true;
            access.status = Some(200);
            access.seen.response_id = Some(id);
            let mut resp = match live_rx {
                Some(rx) => live(rx, access),
                None => {
                    let mut resp = (StatusCode::OK, response.to_string()).into_response();
                    resp.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    resp
                }
            };
            if let Some(q) = quota {
                q.write_headers(resp.headers_mut());
            }
            resp.extensions_mut().insert(Logged);
            resp
        }
        Ok(Submitted::Refused {
            error,
            quota,
            access: theirs,
        }) => {
            // The run's record knows what routing and the limits did: it becomes this
            // request's one record.
            access.dismiss();
            let mut theirs = *theirs;
            theirs.set_route(Route::Create);
            refusal(error, quota, theirs)
        }
        Ok(Submitted::Answered {
            reply,
            quota,
            access: theirs,
        }) => {
            access.dismiss();
            let mut theirs = *theirs;
            theirs.set_route(Route::Create);
            answer(state, reply, quota, theirs)
        }
        Err(_) => refusal(
            GatewayError::Internal {
                message: "the background run ended before it was queued".into(),
            },
            None,
            access,
        ),
    }
}

/// An answer given before admission, sent as a foreground request's would be; `access` is
/// emitted when a JSON answer goes out or the stream ends.
fn answer(
    state: &AppState,
    reply: Reply,
    quota: Option<RateLimitStatus>,
    mut access: Access,
) -> Response {
    access.status = Some(200);
    let mut resp = match reply {
        Reply::Json(body) => {
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        Reply::Stream(reply) => {
            let idle = state.settings().upstream_timeout;
            let mut resp = Response::new(crate::sse::body(reply, idle, access, None));
            crate::sse::event_stream_headers(resp.headers_mut());
            resp
        }
    };
    if let Some(q) = quota {
        q.write_headers(resp.headers_mut());
    }
    resp.extensions_mut().insert(Logged);
    resp
}

/// An error answer, recorded in `access` (emitted as it goes out of scope).
fn refusal(error: GatewayError, quota: Option<RateLimitStatus>, mut access: Access) -> Response {
    let mut resp = error.into_response();
    access.status = Some(resp.status().as_u16());
    access.error_code = resp.extensions().get::<ErrorCode>().map(|c| c.0.clone());
    if let Some(q) = quota {
        q.write_headers(resp.headers_mut());
    }
    resp.extensions_mut().insert(Logged);
    resp
}

/// The submission's event stream: what the run emits, as it emits it. The client leaving
/// ends only this body, never the run.
fn live(rx: mpsc::Receiver<Bytes>, mut access: Access) -> Response {
    access.outcome = Some(Outcome::ClientDisconnected);
    let frames = futures_util::stream::unfold((rx, access), |(mut rx, mut access)| async move {
        match rx.recv().await {
            Some(frame) => {
                if access.first_byte.is_none() {
                    access.first_byte = Some(access.elapsed());
                }
                Some((Ok::<_, Infallible>(frame), (rx, access)))
            }
            None => {
                // Ended with the run: the outcome is the status sent.
                access.outcome.take();
                None
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(frames));
    crate::sse::event_stream_headers(resp.headers_mut());
    resp
}

/// Appends a run's events to its Redis log, batching whatever arrived meanwhile into one
/// round trip. A Redis failure loses replay, never the live stream: logging stops at the
/// first failed append, so the log stays a clean prefix (a replay then ends with the stored
/// outcome) rather than skipping events a later append would follow. Logging also stops once
/// the response is deleted.
async fn write_log(store: Arc<ResponseStore>, id: String, mut rx: mpsc::Receiver<LoggedEvent>) {
    let mut batch = Vec::with_capacity(64);
    while rx.recv_many(&mut batch, 256).await > 0 {
        match store.append_events(&id, &batch).await {
            Ok(true) => {}
            Ok(false) => {
                // Deleted: a log written now would outlive the response nobody can reach.
                tracing::debug!(response_id = %id, "background response deleted; its events are no longer logged");
                return;
            }
            Err(e) => {
                tracing::warn!(response_id = %id, error = %e, "background events not logged from here on; a resumed stream ends with the stored outcome");
                return;
            }
        }
        batch.clear();
    }
}
