//! A whole JSON response told as the stream of events that would have carried it, for an
//! upstream that answers `stream: true` with JSON (a server that ignores `stream`):
//! [`routewise_types::replay`], each event framed for the gateway's stream pipeline.

use bytes::Bytes;
use serde_json::Value;

use super::SseEvent;

/// The events telling `body`, or `None` when it is not a response object.
pub(crate) fn events(body: &[u8]) -> Option<Vec<SseEvent>> {
    let response: Value = serde_json::from_slice(body).ok()?;
    let events = routewise_types::replay(&response)?;
    Some(
        events
            .into_iter()
            .map(|event| SseEvent {
                ty: event["type"].as_str().unwrap_or("message").to_owned(),
                data: serde_json::to_vec(&event).map_or_else(|_| Bytes::new(), Bytes::from),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_type_and_their_json() {
        let body = br#"{"id": "r", "object": "response", "status": "completed", "output": []}"#;
        let events = events(body).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.ty.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.completed"
            ]
        );
        let last: Value = serde_json::from_slice(&events[2].data).unwrap();
        assert_eq!(last["sequence_number"], 2);
        assert_eq!(last["response"]["id"], "r");
    }

    #[test]
    fn anything_else_is_not_a_response() {
        assert!(events(b"[1, 2]").is_none());
        assert!(events(b"not json").is_none());
    }
}
