//! `DELETE /responses/{id}` of any stored response. A background response still running is
//! stopped too: deleting only its record would leave the run calling the upstream for an
//! answer nobody can ever read.

use serde_json::{Value, json};

use super::Stop;
use crate::access::Caller;
use crate::error::GatewayError;
use crate::state::AppState;

/// Deletes stored response `id` (its record and, for a background stream, its event log); a
/// running background response also gets the cross-replica cancel flag in the same
/// transaction, and its task is stopped at once when it runs here. The answer is OpenAI's
/// deletion object, or the 404 a `GET` gives (also for another tenant's response).
pub(crate) async fn delete(
    state: &AppState,
    id: String,
    caller: &Caller,
) -> Result<Value, GatewayError> {
    let Some(store) = &state.store else {
        return Err(state.response_not_found(id));
    };
    // A record that became terminal since this read gets a flag nobody reads (it expires); a
    // terminal one never runs again, so the answer cannot be stale the other way.
    let Some(head) = store
        .head(&id)
        .await?
        .filter(|h| caller.may_see(h.tenant.as_deref()))
    else {
        return Err(state.response_not_found(id));
    };
    let running = head.running;
    if !store.delete(&id, running).await? {
        // Deleted by someone else between the two round trips.
        return Err(state.response_not_found(id));
    }
    if running {
        // The record is gone, so the run's cancelled report is refused; stopping it here
        // saves a tick of upstream work (elsewhere the flag stops it at its next tick).
        state.background.stop(&id, Stop::Cancelled);
    }
    Ok(json!({"id": id, "object": "response.deleted", "deleted": true}))
}
