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
/// `type` is optional), which parses as an unknown item without `type` or `role`, or (with
/// `"role": null`, which is no role either) as an easy message whose role was missing.
fn is_reference(item: &InputItem) -> bool {
    match item {
        InputItem::ItemReference(_) => true,
        InputItem::Unknown(Value::Object(map)) => {
            map.get("type").is_none_or(Value::is_null)
                && map.get("role").is_none_or(Value::is_null)
                && map.contains_key("id")
        }
        // A parsed message remembers its missing fields (a null one among them, kept as
        // null) and writes them back as received: a role it writes as nothing or null was
        // not given.
        InputItem::EasyMessage(m) if m.id.is_some() && !m.missing.is_empty() => {
            serde_json::to_value(m).is_ok_and(|v| v.get("role").is_none_or(Value::is_null))
        }
        _ => false,
    }
}

/// The `include` entry that has the upstream return a reasoning item's state encrypted in the
/// answer, so the item can be sent back without the upstream storing anything.
pub(crate) const ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// For a request the upstream is told not to store (`store: false`), sent to a reasoning model:
/// asks for [`ENCRYPTED_REASONING`] (kept once; the client's own entries are kept too), so
/// the reasoning items of the answer carry their state and a client that sends them back as
/// input (`input = previous.output + [message]`) is understood statelessly.
pub(crate) fn include_encrypted_reasoning(req: &mut CreateResponse) {
    let include = req.include.get_or_insert_with(Vec::new);
    if !include.iter().any(|i| i == ENCRYPTED_REASONING) {
        include.push(ENCRYPTED_REASONING.to_owned());
    }
}

/// For a request the upstream is told not to store: drops the `reasoning` input items that
/// carry no `encrypted_content` (the client's own and those of replayed earlier turns). Such
/// an item names state only an upstream that stored it can find, and one told `store: false`
/// refuses the whole request ("Item with id 'rs_…' not found"); the reasoning is lost either
/// way. Items with their encrypted content are kept.
pub(crate) fn drop_bare_reasoning(req: &mut CreateResponse) {
    if let Some(Input::Items(items)) = &mut req.input {
        items.retain(|i| !is_bare_reasoning(i));
    }
}

/// True for a `reasoning` item without (or with an empty) `encrypted_content`.
fn is_bare_reasoning(item: &InputItem) -> bool {
    match item {
        InputItem::Reasoning(r) => r.encrypted_content.as_deref().is_none_or(str::is_empty),
        InputItem::Unknown(Value::Object(map)) => {
            map.get("type").and_then(Value::as_str) == Some("reasoning")
                && map
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
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
        // A null role is no role: still a reference, however it parses.
        let null_role = input(serde_json::json!([
            {"role": "user", "content": "hi"},
            {"id": "msg_x", "role": null},
        ]));
        assert_eq!(first_reference(Some(&null_role), 0), Some(1));
        let null_both = input(serde_json::json!([{"id": "msg_x", "role": null, "type": null}]));
        assert_eq!(first_reference(Some(&null_both), 0), Some(0));
        // A replayed easy message with an id and a role is not.
        let with_role =
            input(serde_json::json!([{"id": "msg_x", "role": "assistant", "content": "ok"}]));
        assert_eq!(first_reference(Some(&with_role), 0), None);
        assert_eq!(first_reference(Some(&Input::Text("hi".into())), 0), None);
    }

    #[test]
    fn only_reasoning_items_without_their_state_are_dropped() {
        let mut req: CreateResponse = serde_json::from_value(serde_json::json!({
            "input": [
                {"role": "user", "content": "hi"},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": null},
                {"type": "reasoning", "id": "rs_3", "summary": [], "encrypted_content": "gAAA"},
                {"type": "reasoning", "id": "rs_4"},
                {"type": "message", "role": "assistant", "content": "ok", "id": "msg_1"},
            ],
            "include": ["message.output_text.logprobs"],
        }))
        .unwrap();
        drop_bare_reasoning(&mut req);
        let sent = serde_json::to_value(&req).unwrap();
        let ids: Vec<&str> = sent["input"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert_eq!(ids, ["rs_3", "msg_1"], "{sent}");
        assert_eq!(sent["input"][1]["encrypted_content"], "gAAA");
        include_encrypted_reasoning(&mut req);
        include_encrypted_reasoning(&mut req);
        assert_eq!(
            req.include.as_deref().unwrap(),
            ["message.output_text.logprobs", ENCRYPTED_REASONING]
        );
    }
}
