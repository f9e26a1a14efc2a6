//! The stored-response routes: `GET` (also as a resumed stream) and `DELETE
//! .../responses/{id}`, `GET .../responses/{id}/input_items` and
//! `POST .../responses/{id}/cancel`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::routes::json;
use crate::access::{Caller, CancelOp, DeleteOp, InputItemsOp, Permit, RetrieveOp};
use crate::background;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::store::{ItemsPage, Stored, page};

/// The `{id}` of a route that may also carry `{project}`.
fn id_of(params: Vec<(String, String)>) -> String {
    params
        .into_iter()
        .find_map(|(k, v)| (k == "id").then_some(v))
        .unwrap_or_default()
}

fn not_found(state: &AppState, id: String) -> GatewayError {
    state.response_not_found(id)
}

/// The stored response `id` as it stands (a background response whose gateway stopped is
/// reported failed), or the 404 that says why there is none; another tenant's response is
/// that same 404.
async fn stored(state: &AppState, id: String, caller: &Caller) -> Result<Stored, GatewayError> {
    let Some(store) = &state.store else {
        return Err(not_found(state, id));
    };
    let found = store
        .get(&id)
        .await?
        .filter(|s| caller.may_see(s.tenant.as_deref()))
        .ok_or_else(|| not_found(state, id.clone()))?;
    background::reconcile(store, &id, found).await
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(super) async fn retrieve(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<RetrieveOp>,
    Path(params): Path<Vec<(String, String)>>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    if matches!(value("stream"), Some("true" | "1" | "True")) {
        return background::replay(&state, id_of(params), value("starting_after"), &caller).await;
    }
    match stored(&state, id_of(params), &caller).await {
        Ok(s) => json(StatusCode::OK, s.response.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<DeleteOp>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    match background::delete(&state, id_of(params), &caller).await {
        Ok(body) => json(StatusCode::OK, body.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn list_items(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<InputItemsOp>,
    Path(params): Path<Vec<(String, String)>>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let request = match ItemsPage::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(p) => p,
        Err((message, param)) => {
            return GatewayError::invalid(message, Some(param.into()), "invalid_value")
                .into_response();
        }
    };
    let result = stored(&state, id_of(params), &caller).await.and_then(|s| {
        page(&s.input_items, &request).map_err(|message| {
            GatewayError::invalid(message, Some("after".into()), "invalid_value")
        })
    });
    match result {
        Ok(body) => json(StatusCode::OK, body.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn cancel(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<CancelOp>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    match background::cancel(&state, id_of(params), &caller).await {
        Ok(response) => json(StatusCode::OK, response.to_string()),
        Err(e) => e.into_response(),
    }
}
