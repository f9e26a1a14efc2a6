//! Shaping an answer on its way out, in one pass per JSON body or `response.*` event: stamping
//! `model_selection_details` and the resolved `previous_response_id` on the response object, and
//! storing the finished response.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::store::Save;
use crate::telemetry::Seen;
use crate::upstream::SseEvent;

/// What is done to one request's answer. The default does nothing, and then no body or
/// event is parsed.
#[derive(Debug, Default)]
pub(crate) struct Finish {
    /// `model_selection_details`, when the caller asked for router details.
    pub details: Option<Value>,
    /// `previous_response_id` as the client sent it (the gateway resolved it, so the upstream
    /// never saw it).
    pub previous: Option<String>,
    /// Where the finished response is stored, if it is.
    pub save: Option<Save>,
    /// A background response's own id: the upstream's id is replaced by it wherever it
    /// appears, and `background` is set.
    pub background: Option<String>,
    /// The `store` the client is told, when the gateway told the upstream `store: false` (a
    /// multi-tenant gateway keeps conversations out of the upstream's shared storage): `true`
    /// when the gateway stores the response itself, `false` when nothing does (no `[store]`).
    pub store: Option<bool>,
}

/// True for the `response.*` lifecycle events, which carry the whole response object.
fn is_lifecycle(ty: &str) -> bool {
    matches!(
        ty,
        "response.created"
            | "response.in_progress"
            | "response.completed"
            | "response.incomplete"
            | "response.failed"
    )
}

/// True for the lifecycle events that end a response (the one that gets stored).
fn is_terminal(ty: &str) -> bool {
    matches!(
        ty,
        "response.completed" | "response.incomplete" | "response.failed"
    )
}

impl Finish {
    /// True when the answer passes through untouched.
    pub(crate) fn is_noop(&self) -> bool {
        self.details.is_none()
            && self.previous.is_none()
            && self.save.is_none()
            && self.background.is_none()
            && self.store.is_none()
    }

    fn stamps(&self) -> bool {
        self.details.is_some()
            || self.previous.is_some()
            || self.background.is_some()
            || self.store.is_some()
    }

    /// Adds the gateway's fields to a response object.
    pub(crate) fn stamp(&self, response: &mut Map<String, Value>) {
        if let Some(ours) = &self.background {
            if let Some(Value::String(theirs)) = response.get("id").cloned()
                && theirs != *ours
            {
                for v in response.values_mut() {
                    replace_string(v, &theirs, ours);
                }
            }
            response.insert("id".into(), Value::String(ours.clone()));
            response.insert("background".into(), Value::Bool(true));
        }
        if let Some(d) = &self.details {
            response.insert("model_selection_details".into(), d.clone());
        }
        if let Some(p) = &self.previous {
            response.insert("previous_response_id".into(), Value::String(p.clone()));
        }
        if let Some(store) = self.store {
            response.insert("store".into(), Value::Bool(store));
        }
    }

    /// A JSON answer, stamped and stored (a background run's by the run); parsed once, re-encoded only when stamped. `seen`
    /// gets its model and usage either way (a targeted read when nothing else parses it).
    pub(crate) async fn json(&self, body: Bytes, seen: &mut Seen) -> Bytes {
        if self.is_noop() {
            seen.read_body(&body);
            return body;
        }
        let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&body) else {
            return body;
        };
        let out = if self.stamps() {
            self.stamp(&mut map);
            serde_json::to_vec(&map).map_or(body, Bytes::from)
        } else {
            body
        };
        // After stamping: a background response is known by the gateway's id.
        seen.read_value(&map);
        // A background run stores its answer itself (guarded, retried once).
        if let (Some(save), None) = (&self.save, &self.background) {
            let mut v = Value::Object(map);
            if !save.save(&v).await {
                // The client must not count on retrieving what was not stored: retrieval
                // through the gateway reads its own store. (Without principals the upstream
                // was sent the client's `store` and may keep a copy of its own; the README
                // says so.)
                v["store"] = Value::Bool(false);
                return serde_json::to_vec(&v).map_or(out, Bytes::from);
            }
        }
        out
    }

    /// The data to send for `ev` instead of its own, or `None` to send it as it is. A
    /// terminal event's response is stored before this returns, so a retrieval right after
    /// the stream ends finds it (a background run stores it itself, guarded). `seen` gets
    /// what a terminal or `error` event says (a targeted read when nothing else parses the
    /// event).
    pub(crate) async fn event(&self, ev: &SseEvent, seen: &mut Seen) -> Option<Bytes> {
        if self.is_noop() || !is_lifecycle(&ev.ty) {
            seen.read_event(&ev.ty, &ev.data);
            return None;
        }
        let mut v: Value = serde_json::from_slice(&ev.data).ok()?;
        let response = v.get_mut("response")?.as_object_mut()?;
        self.stamp(response);
        if is_terminal(&ev.ty) {
            seen.read_value(response);
        }
        // A background run stores its terminal response itself, through the guarded update
        // whose refusal (a cancel won) changes what it sends.
        if let (Some(save), true, None) = (&self.save, is_terminal(&ev.ty), &self.background)
            && !save.save(&v["response"]).await
        {
            v["response"]["store"] = Value::Bool(false);
            return serde_json::to_vec(&v).ok().map(Bytes::from);
        }
        if !self.stamps() {
            return None;
        }
        serde_json::to_vec(&v).ok().map(Bytes::from)
    }
}

/// Replaces every string equal to `from` inside `v` by `to`.
fn replace_string(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_string(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|i| replace_string(i, from, to)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(ty: &str, data: Value) -> SseEvent {
        SseEvent {
            ty: ty.into(),
            data: Bytes::from(data.to_string()),
        }
    }

    #[tokio::test]
    async fn lifecycle_events_and_json_bodies_are_stamped() {
        let d = json!({"mode": "balanced"});
        let finish = Finish {
            details: Some(d.clone()),
            previous: Some("resp_0".into()),
            save: None,
            background: None,
            store: Some(true),
        };
        let created = ev(
            "response.created",
            json!({"type": "response.created", "response": {"id": "r"}}),
        );
        let out: Value =
            serde_json::from_slice(&finish.event(&created, &mut Seen::default()).await.unwrap())
                .unwrap();
        assert_eq!(out["response"]["model_selection_details"], d);
        assert_eq!(out["response"]["previous_response_id"], "resp_0");
        let delta = ev("response.output_text.delta", json!({"delta": "x"}));
        assert!(finish.event(&delta, &mut Seen::default()).await.is_none());
        let body: Value = serde_json::from_slice(
            &finish
                .json(
                    Bytes::from_static(br#"{"id":"r","output":[]}"#),
                    &mut Seen::default(),
                )
                .await,
        )
        .unwrap();
        assert_eq!(body["model_selection_details"], d);
        assert_eq!(body["previous_response_id"], "resp_0");
        assert_eq!(body["store"], true);
        assert_eq!(out["response"]["store"], true);
    }

    #[tokio::test]
    async fn background_responses_take_the_gateway_id_everywhere() {
        let finish = Finish {
            background: Some("resp_ours".into()),
            ..Finish::default()
        };
        let body = Bytes::from(
            json!({"id": "up_1", "background": false, "output": [{"response_id": "up_1", "text": "up_1 stays"}]})
                .to_string(),
        );
        let out: Value =
            serde_json::from_slice(&finish.json(body, &mut Seen::default()).await).unwrap();
        assert_eq!(out["id"], "resp_ours");
        assert_eq!(out["background"], true);
        assert_eq!(out["output"][0]["response_id"], "resp_ours");
        assert_eq!(out["output"][0]["text"], "up_1 stays");
    }

    #[tokio::test]
    async fn nothing_to_do_leaves_bytes_alone() {
        let finish = Finish::default();
        let raw = Bytes::from_static(b"{\"id\": \"r\",  \"x\": 1}");
        let mut seen = Seen::default();
        assert_eq!(finish.json(raw.clone(), &mut seen).await, raw);
        assert_eq!(seen.response_id.as_deref(), Some("r"));
        let created = ev("response.created", json!({"response": {"id": "r"}}));
        assert!(finish.event(&created, &mut Seen::default()).await.is_none());
    }
}
