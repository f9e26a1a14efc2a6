//! The events the gateway writes into a stream it ends itself (an upstream that broke, went
//! idle or stopped before its final event): an `error` event, then a `response.failed`, both
//! numbered after the last event sent, as every event of a stream must be.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::upstream::SseEvent;

/// What a stream has sent so far, as much as continuing it needs. Notes are cheap (no
/// parsing): the last event's data and the latest response object are kept as the shared
/// bytes they were sent as, and read only if the gateway has to add events.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    count: u64,
    last: Option<Bytes>,
    /// The data of the latest `response.created`, `.queued` or `.in_progress` event.
    response: Option<Bytes>,
    /// A `response.completed`, `.incomplete` or `.failed` went out.
    pub(crate) terminal: bool,
    /// An `error` event went out.
    pub(crate) error: bool,
}

#[derive(Deserialize)]
struct Numbered {
    #[serde(default)]
    sequence_number: Option<u64>,
}

#[derive(Deserialize)]
struct Carrying {
    #[serde(default)]
    response: Option<Map<String, Value>>,
}

impl Sent {
    /// Notes an event as it goes out, with the data it was sent with. The data is moved in, not
    /// cloned: cloning a fresh `Bytes` allocates, and this runs for every streamed event.
    pub(crate) fn note(&mut self, ty: &str, data: Bytes) {
        self.count += 1;
        match ty {
            "error" => self.error = true,
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.terminal = true;
            }
            "response.created" | "response.queued" | "response.in_progress" => {
                self.response = Some(data.clone());
            }
            _ => {}
        }
        self.last = Some(data);
    }

    /// The next event's number: one past the last event's own, or (when it had none) the
    /// count of events sent, which is the next number of a stream numbered from 0.
    pub(crate) fn next_seq(&self) -> u64 {
        self.last
            .as_deref()
            .and_then(|d| serde_json::from_slice::<Numbered>(d).ok())
            .and_then(|n| n.sequence_number)
            .map_or(self.count, |n| n.saturating_add(1))
    }

    /// The response object the stream announced last (its id, model and settings), the base
    /// of the `response.failed` the gateway sends; a bare response object when none came.
    fn base(&self) -> Value {
        let announced = self
            .response
            .as_deref()
            .and_then(|d| serde_json::from_slice::<Carrying>(d).ok())
            .and_then(|c| c.response);
        Value::Object(announced.unwrap_or_else(|| {
            let mut bare = Map::new();
            bare.insert("object".into(), json!("response"));
            bare.insert("output".into(), json!([]));
            bare
        }))
    }

    /// The gateway's `error` event, in the spec's flat shape, numbered next.
    pub(crate) fn error_event(&self, code: &str, message: &str) -> SseEvent {
        error_event(self.next_seq(), code, message)
    }

    /// `response.failed` for the announced response with `error: {code, message}`, numbered
    /// next.
    pub(crate) fn failed_event(&self, code: &str, message: &str) -> SseEvent {
        let response = crate::background::failed_response(&self.base(), code, message);
        let data = json!({
            "type": "response.failed",
            "sequence_number": self.next_seq(),
            "response": response,
        });
        SseEvent {
            ty: "response.failed".into(),
            data: Bytes::from(data.to_string()),
        }
    }
}

/// An `error` event numbered `seq`, in the spec's flat shape.
pub(crate) fn error_event(seq: u64, code: &str, message: &str) -> SseEvent {
    let data = json!({
        "type": "error",
        "sequence_number": seq,
        "code": code,
        "message": message,
        "param": null,
    });
    SseEvent {
        ty: "error".into(),
        data: Bytes::from(data.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(sent: &mut Sent, ty: &str, data: Value) {
        sent.note(ty, Bytes::from(data.to_string()));
    }

    #[test]
    fn numbers_follow_the_last_event_sent() {
        let mut sent = Sent::default();
        assert_eq!(sent.next_seq(), 0);
        note(
            &mut sent,
            "response.created",
            json!({"sequence_number": 0, "response": {"id": "r", "model": "m", "status": "in_progress"}}),
        );
        note(
            &mut sent,
            "response.output_text.delta",
            json!({"sequence_number": 7, "delta": "x"}),
        );
        assert_eq!(sent.next_seq(), 8);
        let error: Value =
            serde_json::from_slice(&sent.error_event("timeout", "idle").data).unwrap();
        assert_eq!(
            error,
            json!({"type": "error", "sequence_number": 8, "code": "timeout", "message": "idle", "param": null})
        );
        let failed = sent.failed_event("timeout", "idle");
        let failed: Value = serde_json::from_slice(&failed.data).unwrap();
        assert_eq!(failed["response"]["id"], "r");
        assert_eq!(failed["response"]["model"], "m");
        assert_eq!(failed["response"]["status"], "failed");
        assert_eq!(failed["response"]["error"]["code"], "timeout");
        // Events without numbers: the count stands in.
        let mut plain = Sent::default();
        note(
            &mut plain,
            "response.output_text.delta",
            json!({"delta": "x"}),
        );
        assert_eq!(plain.next_seq(), 1);
        assert!(!plain.terminal && !plain.error);
    }

    #[test]
    fn without_an_announced_response_the_failure_is_a_bare_one() {
        let failed = Sent::default().failed_event("server_error", "gone");
        let failed: Value = serde_json::from_slice(&failed.data).unwrap();
        assert_eq!(failed["response"]["object"], "response");
        assert_eq!(failed["response"]["status"], "failed");
    }
}
