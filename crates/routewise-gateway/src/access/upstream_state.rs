//! Requests that name state the upstream keeps: upstream-stored responses
//! (`previous_response_id` without the gateway's store), conversations (`conversation`), items
//! (`input` items of type `item_reference`) and stored prompts (`prompt`).
//!
//! Every tenant reaches the upstream under the gateway's one credential, so whatever the
//! upstream stores is shared by all of them: an id one tenant learns (or guesses: some servers
//! count) would let it read another's conversation. The gateway cannot keep those objects to a
//! tenant, so with `[[access.principals]]` (a multi-tenant gateway):
//!
//! * `previous_response_id` needs the gateway's store (which records each response's tenant);
//!   without one it is refused for everyone, rather than passed to the upstream;
//! * `conversation`, `item_reference` items and `prompt` are refused for every principal but
//!   `admin` (an admin sees every tenant anyway), including item references inside a stored
//!   conversation a follow-up replays.
//!
//! Each refusal is a 400 `unsupported_parameter` naming the parameter, before the store, the
//! content filter, the rate limits and any upstream. With legacy keys only, or access control
//! off, there is one tenant and nothing here applies.

use routewise_types::{CreateResponse, Input, InputItem};
use serde_json::Value;

use super::principal::Caller;
use crate::error::GatewayError;

/// What an OpenAI client gets for a parameter the server does not support here.
const CODE: &str = "unsupported_parameter";

/// Checks `req` as sent: `multi_tenant` when principals are configured, `has_store` when the
/// gateway stores responses.
///
/// # Errors
/// The 400 naming the first parameter that names upstream state the caller may not use.
pub(crate) fn check_request(
    req: &CreateResponse,
    caller: &Caller,
    multi_tenant: bool,
    has_store: bool,
) -> Result<(), GatewayError> {
    if !multi_tenant {
        return Ok(());
    }
    if !has_store && req.previous_response_id.is_some() {
        return Err(GatewayError::invalid(
            "'previous_response_id' is not available on this gateway: with role-based access \
             ([[access.principals]]) conversation state must be kept in the gateway's store, \
             which keeps each response to its tenant, and this gateway has no [store]. Send the \
             earlier turns in 'input' instead.",
            Some("previous_response_id".into()),
            CODE,
        ));
    }
    let Some(p) = caller.principal().filter(|_| caller.is_tenant_bound()) else {
        return Ok(());
    };
    let why = "kept by the upstream under the gateway's own credential, shared by every tenant, \
               so the gateway cannot keep them to yours";
    if req.conversation.is_some() {
        return Err(GatewayError::invalid(
            format!(
                "The principal `{}` may not use 'conversation': conversations are {why}. Send \
                 the earlier turns in 'input' instead.",
                p.name
            ),
            Some("conversation".into()),
            CODE,
        ));
    }
    if req.prompt.is_some() {
        return Err(GatewayError::invalid(
            format!(
                "The principal `{}` may not use 'prompt': stored prompt templates are {why}. \
                 Send the instructions and input instead.",
                p.name
            ),
            Some("prompt".into()),
            CODE,
        ));
    }
    if let Some(i) = first_reference(req.input.as_ref(), 0) {
        return Err(GatewayError::invalid(
            format!(
                "The principal `{}` may not use item references ('input[{i}]' is an \
                 item_reference): the items they name are {why}. Send the item itself instead.",
                p.name
            ),
            Some(format!("input[{i}]")),
            CODE,
        ));
    }
    Ok(())
}

/// Checks the first `replayed` items of `req`'s input, the stored conversation a follow-up
/// continues: an item reference in it (stored by an admin of the tenant) would reach the
/// upstream just as one sent now.
///
/// # Errors
/// The 400 naming `previous_response_id`.
pub(crate) fn check_replayed(
    req: &CreateResponse,
    replayed: usize,
    caller: &Caller,
    multi_tenant: bool,
) -> Result<(), GatewayError> {
    if !multi_tenant || replayed == 0 || !caller.is_tenant_bound() {
        return Ok(());
    }
    let Some(p) = caller.principal() else {
        return Ok(());
    };
    match first_reference(req.input.as_ref(), replayed) {
        Some(i) if i < replayed => Err(GatewayError::invalid(
            format!(
                "The principal `{}` may not continue this conversation: it holds an \
                 item_reference, which names an item kept by the upstream under the gateway's \
                 own credential (only admin principals may use them).",
                p.name
            ),
            Some("previous_response_id".into()),
            CODE,
        )),
        _ => Ok(()),
    }
}

/// The index of the first item reference among `input`'s items (within the first `limit`
/// when it is not 0).
fn first_reference(input: Option<&Input>, limit: usize) -> Option<usize> {
    let Some(Input::Items(items)) = input else {
        return None;
    };
    let n = if limit == 0 { items.len() } else { limit };
    items.iter().take(n).position(is_reference)
}

/// True for an `item_reference`: typed so, or OpenAI's untyped form `{"id": "..."}` (its
/// `type` is optional), which parses as an unknown item without `type` or `role`.
fn is_reference(item: &InputItem) -> bool {
    match item {
        InputItem::ItemReference(_) => true,
        InputItem::Unknown(Value::Object(map)) => {
            map.get("type").is_none_or(Value::is_null)
                && !map.contains_key("role")
                && map.contains_key("id")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(items: Value) -> Input {
        serde_json::from_value(items).unwrap()
    }

    #[test]
    fn references_are_found_typed_or_not() {
        let typed = input(serde_json::json!([
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "user", "content": "hi", "id": "msg_1"},
            {"type": "item_reference", "id": "msg_0"},
        ]));
        assert_eq!(first_reference(Some(&typed), 0), Some(2));
        assert_eq!(first_reference(Some(&typed), 2), None, "only the first two");
        let untyped = input(serde_json::json!([{"id": "msg_0"}]));
        assert_eq!(first_reference(Some(&untyped), 0), Some(0));
        let other = input(serde_json::json!([{"type": "custom_thing", "id": "x"}]));
        assert_eq!(first_reference(Some(&other), 0), None);
        assert_eq!(first_reference(Some(&Input::Text("hi".into())), 0), None);
    }
}
