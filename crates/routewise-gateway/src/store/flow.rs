//! Where the response store meets a `POST /responses`: resolving `previous_response_id` before
//! routing, and saving the answer after it.

use std::sync::Arc;

use bytes::Bytes;
use routewise_types::{CreateResponse, Input};
use serde_json::Value;

use super::{ResponseStore, StoredRef, input_items};
use crate::error::GatewayError;

/// What happens to one request's answer: the id it chains to (echoed on the response) and,
/// when it is stored, where and with which items.
#[derive(Debug, Default)]
pub(crate) struct Afterwards {
    /// `previous_response_id` as the client sent it, resolved by the gateway.
    pub previous: Option<String>,
    save: Option<Save>,
}

#[derive(Debug)]
struct Save {
    store: Arc<ResponseStore>,
    input_items: Vec<Value>,
    earlier: Vec<Value>,
}

impl Afterwards {
    /// True when nothing needs doing to the answer.
    pub(crate) fn is_noop(&self) -> bool {
        self.previous.is_none() && self.save.is_none()
    }

    /// Stamps `previous_response_id` on a response object.
    pub(crate) fn stamp(&self, response: &mut serde_json::Map<String, Value>) {
        if let Some(p) = &self.previous {
            response.insert("previous_response_id".into(), Value::String(p.clone()));
        }
    }

    /// Stores a finished response object (if this request is stored). A store failure is
    /// logged, not returned: the client already has its answer.
    pub(crate) async fn save(&self, response: &Value) {
        let Some(save) = &self.save else { return };
        let Some(id) = response.get("id").and_then(Value::as_str) else {
            tracing::warn!("the upstream's response has no id; it was not stored");
            return;
        };
        let stored = StoredRef {
            response,
            input_items: &save.input_items,
            earlier: &save.earlier,
        };
        if let Err(e) = save.store.put(id, &stored).await {
            tracing::error!(response_id = id, error = %e, "the response was not stored");
        }
    }

    /// A JSON answer with `previous_response_id` stamped and the response stored.
    pub(crate) async fn finish_json(&self, body: Bytes) -> Bytes {
        if self.is_noop() {
            return body;
        }
        let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        let body = if self.previous.is_some() {
            self.stamp(&mut map);
            Bytes::from(serde_json::to_vec(&map).unwrap_or_else(|_| body.to_vec()))
        } else {
            body
        };
        self.save(&Value::Object(map)).await;
        body
    }
}

/// Before routing: with a store, replaces `previous_response_id` by the stored chain (its
/// earlier turns, input and output, then this request's input), so any deployment can answer the follow-up;
/// and plans the save. Without a store the request is left as it is (an upstream that stores
/// responses itself may know the id).
///
/// # Errors
/// 400 when the previous response is unknown; 503 when the store cannot be reached.
pub(crate) async fn prepare(
    store: Option<&Arc<ResponseStore>>,
    req: &mut CreateResponse,
) -> Result<Afterwards, GatewayError> {
    let Some(store) = store else {
        return Ok(Afterwards::default());
    };
    let own = input_items(req.input.as_ref());
    let mut out = Afterwards::default();
    let earlier = match req.previous_response_id.take() {
        None => Vec::new(),
        Some(id) => {
            let prev = store.get(&id).await?.ok_or_else(|| {
                GatewayError::invalid(
                    format!("Previous response with id '{id}' not found."),
                    Some("previous_response_id".into()),
                    "previous_response_not_found",
                )
            })?;
            let mut earlier = prev.earlier;
            earlier.extend(prev.input_items);
            if let Some(Value::Array(output)) = prev.response.get("output") {
                // Reasoning items are only meaningful to the upstream that made them (and
                // are refused by others without their encrypted content).
                earlier.extend(
                    output
                        .iter()
                        .filter(|i| i.get("type").and_then(Value::as_str) != Some("reasoning"))
                        .cloned(),
                );
            }
            let replay: Vec<Value> = earlier.iter().chain(&own).cloned().collect();
            let input: Input = serde_json::from_value(Value::Array(replay)).map_err(|e| {
                GatewayError::Internal {
                    message: format!("the stored conversation {id:?} could not be replayed: {e}"),
                }
            })?;
            req.input = Some(input);
            out.previous = Some(id);
            earlier
        }
    };
    if req.store != Some(false) {
        out.save = Some(Save {
            store: Arc::clone(store),
            input_items: own,
            earlier,
        });
    }
    Ok(out)
}
