//! Where the response store meets a `POST /responses`: resolving `previous_response_id` before
//! routing, and saving the answer after it.

use std::sync::Arc;

use routewise_types::{CreateResponse, Input};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Guard, Items, ResponseStore, StoredRef, input_items, parse_items};
use crate::access::{Caller, Owner};
use crate::budget::{Hold, LargeBudget, Weight, sized, value_limit};
use crate::error::GatewayError;

/// Longer than any response id (ours are 53 characters, OpenAI's and Azure's under 100).
const MAX_ID_LEN: usize = 256;

/// Where and with which items a finished response is stored.
#[derive(Debug, Clone)]
pub(crate) struct Save {
    store: Arc<ResponseStore>,
    input_items: Vec<Value>,
    earlier: Vec<Value>,
    /// Who created it: recorded with every write, so ownership survives each rewrite.
    owner: Owner,
    /// The data zones it is served under, once routing knows them ([`Save::restrict`]).
    zones: Option<Vec<String>>,
    /// A multi-tenant gateway: a first save never replaces another tenant's record.
    guard_tenant: bool,
}

impl Save {
    /// The record of `response`.
    fn doc<'a>(&'a self, response: &'a Value) -> StoredRef<'a> {
        StoredRef {
            response,
            input_items: Items::Parsed(&self.input_items),
            earlier: Items::Parsed(&self.earlier),
            principal: self.owner.principal(),
            tenant: self.owner.tenant(),
            zones: self.zones.as_deref(),
        }
    }

    /// Records that the response is served only in `zones` (`None`: unrestricted), so a
    /// follow-up inherits the restriction.
    pub(crate) fn restrict(&mut self, zones: Option<Vec<String>>) {
        self.zones = zones;
    }

    /// Stores `response` under `id` as `guard` allows; false when refused.
    pub(crate) async fn put(
        &self,
        id: &str,
        response: &Value,
        guard: Guard,
    ) -> Result<bool, GatewayError> {
        self.store.put_guarded(id, &self.doc(response), guard).await
    }

    /// Stores a finished foreground response object under the upstream's id, replacing a
    /// record already there unless (on a multi-tenant gateway) it is another tenant's: see
    /// [`ResponseStore::save_first`]. A background run stores its own, guarded, through
    /// [`Save::put`]. A store failure is logged, not returned: the client already has its
    /// answer, and is told `store: false` instead (true is returned when it was stored).
    pub(crate) async fn save(&self, response: &Value) -> bool {
        let Some(id) = response.get("id").and_then(Value::as_str) else {
            tracing::warn!("the upstream's response has no id; it was not stored");
            return false;
        };
        let doc = self.doc(response);
        match self.store.save_first(id, &doc, self.guard_tenant).await {
            Ok(stored) => {
                // Not stored: the record there is another tenant's. It is kept, and neither
                // its id nor anything of it is logged.
                if !stored {
                    tracing::warn!(
                        "an upstream returned a response id that is already stored for another \
                         tenant (two upstreams' ids collided); the stored response was kept and \
                         this one was not stored"
                    );
                }
                stored
            }
            Err(e) => {
                tracing::error!(response_id = id, error = %e, "the response was not stored");
                false
            }
        }
    }
}

/// What [`prepare`] resolved: the id the request chains to, and how its answer is stored.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// `previous_response_id` as the client sent it, now replayed by the gateway.
    pub previous: Option<String>,
    /// Where the answer is stored, unless the request said `store: false`.
    pub save: Option<Save>,
    /// How many items at the head of the input are the replayed conversation.
    pub replayed: usize,
    /// The data zones the previous response was served under, which the follow-up inherits.
    pub inherited: Option<Vec<String>>,
}

/// Before routing: with a store, replaces `previous_response_id` by the stored chain (its
/// earlier turns, input and output, then this request's input), so any deployment can answer the follow-up;
/// and plans the save, owned by `caller` (`multi_tenant`: kept from other tenants' records). Without a store the request is left as it is (an
/// upstream that stores responses itself may know the id).
///
/// A follow-up's replayed conversation is weighed like a body, and a heavy one grows the
/// request's `hold` on the large-body `budget`: it lives as long as the request does.
///
/// # Errors
/// 400 when the previous response is unknown, or another tenant's (the same answer, so its
/// existence is not revealed), or still queued or in progress, or too long to continue
/// (`context_length_exceeded`); 503 when the store cannot be reached or the budget has no
/// room for the conversation.
pub(crate) async fn prepare(
    store: Option<&Arc<ResponseStore>>,
    req: &mut CreateResponse,
    caller: &Caller,
    multi_tenant: bool,
    (budget, hold): (&LargeBudget, &mut Hold),
) -> Result<Prepared, GatewayError> {
    let Some(store) = store else {
        return Ok(Prepared::default());
    };
    let mut own = input_items(req.input.as_ref());
    let mut out = Prepared::default();
    let earlier = match req.previous_response_id.take() {
        None => Vec::new(),
        Some(id) => {
            let not_found = || {
                GatewayError::invalid(
                    format!(
                        "Previous response with id '{}' not found.",
                        crate::error::clipped(&id, 64)
                    ),
                    Some("previous_response_id".into()),
                    "previous_response_not_found",
                )
            };
            // No id of ours is this long: not worth a Redis round trip with a huge key.
            if id.len() > MAX_ID_LEN {
                return Err(not_found());
            }
            let prev = store
                .get(&id)
                .await?
                .filter(|p| caller.may_see(p.tenant.as_deref()))
                .ok_or_else(not_found)?;
            // Each follow-up stores the whole conversation again, so without a bound a chain
            // of small requests grows its records (and what every later turn reads, parses
            // and sends upstream) without end. No model's context holds max_body_bytes anyway.
            if prev.record_len > store.max_conversation() {
                return Err(too_long(
                    &id,
                    format!("{} bytes", prev.record_len),
                    format!("the {} bytes", store.max_conversation()),
                ));
            }
            // A run whose gateway died is marked failed here, as a GET would, so its follow-ups
            // are not refused as "still running" for good.
            let prev = crate::background::reconcile(store, &id, prev).await?;
            // A background response still running has no output yet: continuing from it would
            // silently drop its answer from the conversation.
            if let Some(status @ ("queued" | "in_progress")) =
                prev.response.get("status").and_then(Value::as_str)
            {
                return Err(GatewayError::invalid(
                    format!(
                        "Previous response with id '{id}' is still {status}. Wait until it \
                         completes (GET /responses/{id}) before continuing from it."
                    ),
                    Some("previous_response_id".into()),
                    "previous_response_not_completed",
                ));
            }
            let output: Vec<Value> = match prev.response.get("output") {
                // Reasoning items are only meaningful to the upstream that made them (and
                // are refused by others without their encrypted content).
                Some(Value::Array(output)) => output
                    .iter()
                    .filter(|i| i.get("type").and_then(Value::as_str) != Some("reasoning"))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            let raw = (prev.earlier, prev.input_items);
            let raw = weigh_conversation(
                &id,
                raw,
                prev.record_len,
                store.max_conversation(),
                budget,
                hold,
            )
            .await?;
            let (earlier, given_back, input) =
                replay(&id, raw, output, own, prev.record_len).await?;
            own = given_back;
            req.input = Some(input);
            out.previous = Some(id);
            out.replayed = earlier.len();
            out.inherited = prev.zones;
            earlier
        }
    };
    if req.store != Some(false) {
        out.save = Some(Save {
            store: Arc::clone(store),
            input_items: own,
            earlier,
            owner: caller.owner(),
            zones: None,
            guard_tenant: multi_tenant,
        });
    }
    Ok(out)
}

/// How many requests' worth of JSON values a stored conversation may hold. Stored items are
/// kept in their full form (`{"type":"message","role":…,"content":[{"type":"input_text",…}]}`),
/// about three times the values of the short form a client may send, so a follow-up to one
/// large request is still served.
const CONVERSATION_VALUES: usize = 4;

/// The 400 for a conversation too long to continue: it `holds` more than `limit` allows.
fn too_long(id: &str, holds: String, limit: String) -> GatewayError {
    GatewayError::invalid(
        format!(
            "The conversation behind previous_response_id '{}' holds {holds}, more than {limit} \
             a conversation may hold (set by max_body_bytes). Start a new conversation, or send \
             a shortened history as input.",
            crate::error::clipped(id, 64),
        ),
        Some("previous_response_id".into()),
        "context_length_exceeded",
    )
}

/// A stored conversation's two raw item arrays: its earlier turns and its own input.
type RawConversation = (Box<RawValue>, Box<RawValue>);

/// Refuses a conversation holding more than [`CONVERSATION_VALUES`] times the JSON values one
/// request may ([`value_limit`] of `max_body_bytes`): a chain of follow-ups of many small items
/// would otherwise grow without end while staying under `max_body_bytes`. A heavy one grows
/// `hold` by its weight, since the request keeps it parsed for as long as it runs. Counted off
/// the worker threads when the record is large.
async fn weigh_conversation(
    id: &str,
    raw: RawConversation,
    record_len: usize,
    max_body_bytes: usize,
    budget: &LargeBudget,
    hold: &mut Hold,
) -> Result<RawConversation, GatewayError> {
    let (weight, raw) = sized(record_len, move || {
        (Weight::of_texts(&[raw.0.get(), raw.1.get()]), raw)
    })
    .await?;
    let values = weight.values;
    let limit = value_limit(max_body_bytes).saturating_mul(CONVERSATION_VALUES);
    if values > limit {
        return Err(too_long(
            id,
            format!("about {values} JSON values"),
            format!("the {limit} values"),
        ));
    }
    let len = raw.0.get().len() + raw.1.get().len();
    if weight.takes_share(len) {
        hold.grow(budget, weight.cost).await?;
    }
    Ok(raw)
}

/// The conversation to replay: the earlier turns, the previous input and `output`, parsed (to
/// be stored again with the answer), `own` given back, and the request's input with `own`
/// appended. Built off the
/// worker threads when the record is large: parsing and copying thousands of items takes tens
/// of milliseconds.
async fn replay(
    id: &str,
    (earlier, items): RawConversation,
    output: Vec<Value>,
    own: Vec<Value>,
    record_len: usize,
) -> Result<(Vec<Value>, Vec<Value>, Input), GatewayError> {
    let owned_id = id.to_owned();
    sized(record_len, move || {
        let mut all = parse_items(&earlier)?;
        drop(earlier);
        all.extend(parse_items(&items)?);
        drop(items);
        all.extend(output);
        let replayed: Vec<Value> = all.iter().chain(&own).cloned().collect();
        let input: Input =
            serde_json::from_value(Value::Array(replayed)).map_err(|e| GatewayError::Internal {
                message: format!("the stored conversation {owned_id:?} could not be replayed: {e}"),
            })?;
        Ok((all, own, input))
    })
    .await?
}
