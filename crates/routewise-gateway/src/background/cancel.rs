//! `POST /responses/{id}/cancel`, with the answers OpenAI and Foundry give: a queued or
//! running background response becomes `cancelled` (idempotently); a finished one is a 400
//! naming its status; a foreground response is a 400 "Cannot cancel a synchronous response.";
//! an unknown id is the 404 a `GET` gives.

use serde_json::Value;

use super::object::{self, is_background, status_of};
use super::{Stop, reconcile};
use crate::access::Caller;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::store::{Guard, StoredRef};

fn refused(message: &str) -> GatewayError {
    GatewayError::invalid(message, Some("response_id".into()), "invalid_request_error")
}

/// Cancels background response `id`; its answer (the response) or the error to send (another
/// tenant's response is the 404 of a missing one).
pub(crate) async fn cancel(
    state: &AppState,
    id: String,
    caller: &Caller,
) -> Result<Value, GatewayError> {
    let Some(store) = &state.store else {
        return Err(state.response_not_found(id));
    };
    // A write can lose a race with the run finishing; the second read sees why.
    for _ in 0..3 {
        let Some(stored) = store
            .get(&id)
            .await?
            .filter(|s| caller.may_see(s.tenant.as_deref()))
        else {
            return Err(state.response_not_found(id));
        };
        if !is_background(&stored.response) {
            return Err(refused("Cannot cancel a synchronous response."));
        }
        let stored = reconcile(store, &id, stored).await?;
        match status_of(&stored.response) {
            Some("cancelled") => return Ok(stored.response),
            Some("completed") => return Err(refused("Cannot cancel a completed response.")),
            Some("failed") => return Err(refused("Cannot cancel a failed response.")),
            Some("incomplete") => {
                return Err(refused("Cannot cancel a response in terminal state."));
            }
            _ => {}
        }
        let cancelled = object::cancelled(&stored.response);
        let doc = StoredRef::rewrite(&stored, &cancelled);
        if store.put_guarded(&id, &doc, Guard::Update).await? {
            // The record says cancelled whatever happens next; now stop the run, here at once
            // or on its replica at its next lease tick.
            if !state.background.stop(&id, Stop::Cancelled)
                && let Err(e) = store.flag_cancel(&id).await
            {
                tracing::warn!(response_id = %id, error = %e, "cancel recorded but not signalled; the run's answer will not replace it");
            }
            return Ok(cancelled);
        }
    }
    Err(GatewayError::Internal {
        message: format!("the response '{id}' kept changing while being cancelled"),
    })
}
