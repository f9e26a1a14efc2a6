//! The stored-response routes: `GET` (also as a resumed stream) and `DELETE
//! .../responses/{id}`, `GET .../responses/{id}/input_items` and
//! `POST .../responses/{id}/cancel`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use super::routes::json;
use crate::access::{Caller, CancelOp, DeleteOp, InputItemsOp, Permit, RetrieveOp};
use crate::background;
use crate::error::GatewayError;
use crate::state::AppState;
use serde_json::value::RawValue;
use tokio::sync::OwnedSemaphorePermit;

use crate::budget::{Weight, sized};
use crate::store::{ItemsPage, Stored, page, parse_items};

/// The `{id}` of a route that may also carry `{project}`.
///
/// axum's own `Path` rejection is a plain-text body; a percent-encoded id that is not UTF-8
/// (`/responses/%ff`) must get the OpenAI error shape like every other bad input.
pub(super) struct ResponseId(String);

impl<S: Send + Sync> FromRequestParts<S> for ResponseId {
    type Rejection = GatewayError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                GatewayError::invalid(
                    format!("The path is not valid: {}", e.body_text()),
                    Some("response_id".into()),
                    "invalid_value",
                )
            })?;
        Ok(Self(
            params
                .into_iter()
                .find_map(|(k, v)| (k == "id").then_some(v))
                .unwrap_or_default(),
        ))
    }
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
    ResponseId(id): ResponseId,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = query_pairs(query.as_deref());
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    // Any case: query strings are written by hand as often as by SDKs.
    let stream = value("stream");
    if stream.is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        return background::replay(&state, id, value("starting_after"), &caller).await;
    }
    if let Some(other) = stream
        && !(other.is_empty() || other == "0" || other.eq_ignore_ascii_case("false"))
    {
        return GatewayError::invalid(
            format!(
                "Invalid value for 'stream': expected a boolean, but got '{}'.",
                crate::error::clipped(other, 64)
            ),
            Some("stream".to_owned()),
            "invalid_value",
        )
        .into_response();
    }
    match stored(&state, id, &caller).await {
        Ok(s) => json(StatusCode::OK, s.response.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<DeleteOp>,
    ResponseId(id): ResponseId,
) -> Response {
    match background::delete(&state, id, &caller).await {
        Ok(body) => json(StatusCode::OK, body.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn list_items(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<InputItemsOp>,
    ResponseId(id): ResponseId,
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
    let result = match stored(&state, id, &caller).await {
        // Only the items are kept while a share is waited for: the rest of the record is
        // dropped here.
        Ok(s) => items(&state, s.input_items)
            .await
            .and_then(|(items, _share)| {
                page(&items, &request).map_err(|(message, param)| {
                    GatewayError::invalid(message, Some(param.into()), "invalid_value")
                })
            }),
        Err(e) => Err(e),
    };
    match result {
        Ok(body) => json(StatusCode::OK, body.to_string()),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn cancel(
    State(state): State<Arc<AppState>>,
    Permit(caller, _): Permit<CancelOp>,
    ResponseId(id): ResponseId,
) -> Response {
    match background::cancel(&state, id, &caller).await {
        Ok(response) => json(StatusCode::OK, response.to_string()),
        Err(e) => e.into_response(),
    }
}

/// The input items of `stored`, parsed. Lists that weigh as much as a large or heavy request
/// body take a share of the large-body budget, held until the page is answered: many readers
/// of a response with thousands of items then wait (or get 503) instead of filling memory.
/// Nothing else is held while waiting, so no request waits on the budget twice. Long lists are
/// weighed and parsed off the worker threads.
async fn items(
    state: &AppState,
    raw: Box<RawValue>,
) -> Result<(Vec<serde_json::Value>, Option<OwnedSemaphorePermit>), GatewayError> {
    let len = raw.get().len();
    let (weight, raw) = sized(len, move || (Weight::of_texts(&[raw.get()]), raw)).await?;
    let share = if weight.takes_share(len) {
        Some(state.large_bodies.share(weight.cost).await?)
    } else {
        None
    };
    let items = sized(len, move || parse_items(&raw)).await??;
    Ok((items, share))
}
