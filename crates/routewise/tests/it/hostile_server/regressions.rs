//! Minimal reproductions of what the hostile-server cases found, kept as regression tests. Each
//! doc says what went wrong before the fix.

use futures_util::StreamExt;
use routewise_testkit::{Script, SseFaultServer};
use routewise_types::OutputItem;
use serde_json::json;

use super::{client, request};

/// The error `create` ends with against a server that plays `script`.
async fn create_error(script: Script) -> routewise::Error {
    let server = SseFaultServer::start(script).await.unwrap();
    client(&server.openai_base_url())
        .responses()
        .create(request())
        .await
        .unwrap_err()
}

/// An error body past the 64 KiB limit is dropped whole, so a proxy's long HTML page or an
/// error that echoes a long input leaves only "HTTP 400 Bad Request": no message, no code,
/// no snippet. The first bytes were read and are worth keeping.
#[tokio::test]
async fn an_error_body_past_the_limit_keeps_the_servers_message() {
    let body = json!({"error": {"message": "too long", "code": "string_above_max_length",
        "detail": "x".repeat(70_000)}});
    let err = create_error(
        Script::status(400)
            .header("content-type", "application/json")
            .frame(body.to_string()),
    )
    .await;
    assert!(
        err.message() == "too long" || err.body_snippet().is_some_and(|s| s.contains("too long")),
        "{err}"
    );
}

/// The snippet is cut to 260 bytes before it is trimmed, so a text body that starts with that
/// much whitespace (a templated proxy page) keeps nothing: "HTTP 504 Gateway Timeout" only.
#[tokio::test]
async fn an_error_page_after_leading_whitespace_keeps_a_snippet() {
    let page = format!("{}upstream request timeout", "\n".repeat(300));
    let err = create_error(
        Script::status(504)
            .header("content-type", "text/plain")
            .frame(page),
    )
    .await;
    assert!(
        err.body_snippet()
            .is_some_and(|s| s.contains("upstream request timeout")),
        "{err}"
    );
}

/// A 200 JSON answer to a stream request (an upstream or proxy that ignores `stream: true`, or
/// one that reports an error with 200) ends as "event stream ended mid-event (67 bytes…)": the
/// body's words are nowhere in the error, unlike `create`'s decode errors, which keep a snippet.
#[tokio::test]
async fn a_json_answer_to_a_stream_request_keeps_the_servers_message() {
    let server = SseFaultServer::start(
        Script::status(200)
            .header("content-type", "application/json")
            .frame(r#"{"error":{"message":"quota exhausted","code":"insufficient_quota"}}"#),
    )
    .await
    .unwrap();
    let err = client(&server.openai_base_url())
        .responses()
        .stream(request())
        .await
        .unwrap_err();
    assert!(
        err.message().contains("quota exhausted")
            || err
                .body_snippet()
                .is_some_and(|s| s.contains("quota exhausted")),
        "{err}"
    );
}

/// A server that ignores `stream: true` and answers with the whole response: the caller still
/// gets a stream, replayed from it (the deltas carry the text, the terminal event the response).
#[tokio::test]
async fn a_json_response_to_a_stream_request_is_replayed_as_its_events() {
    let server = SseFaultServer::start(
        Script::status(200)
            .header("content-type", "application/json")
            .frame(routewise_testkit::fixtures::RESPONSE_JSON),
    )
    .await
    .unwrap();
    let expected: routewise_types::Response =
        serde_json::from_str(routewise_testkit::fixtures::RESPONSE_JSON).unwrap();
    let mut stream = client(&server.openai_base_url())
        .responses()
        .stream(request())
        .await
        .unwrap();
    let mut streamed = String::new();
    while let Some(event) = stream.next().await {
        if let routewise_types::ResponseStreamEvent::OutputTextDelta(d) = event.unwrap() {
            streamed.push_str(&d.delta);
        }
    }
    assert!(!streamed.is_empty());
    assert_eq!(streamed, expected.output_text());
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.id, expected.id);
    assert_eq!(response.output_text(), expected.output_text());
}

/// Output and content indices are each clamped to 4096, but not their product: one
/// `output_item.added` plus one delta at `content_index` 4096 per item makes the accumulator
/// create 4097 empty parts per item. A 1.3 MB stream of 4097 such pairs costs 2.5 GB and
/// ~11 s in a debug build; this one (128 pairs, 40 KB) builds over half a million parts.
#[tokio::test]
async fn hostile_indices_cost_memory_in_proportion_to_the_stream() {
    const ITEMS: u64 = 128;
    let mut events = vec![json!({"type": "response.created", "sequence_number": 0,
        "response": {"id": "r", "object": "response", "created_at": 1, "output": []}})];
    for i in 0..ITEMS {
        events.push(
            json!({"type": "response.output_item.added", "output_index": i,
            "item": {"type": "message", "id": "m", "role": "assistant", "content": []}}),
        );
        events.push(json!({"type": "response.output_text.delta", "item_id": "m",
            "output_index": i, "content_index": 4096, "delta": "x"}));
    }
    // An empty terminal output makes `final_response` hand over the rebuilt items.
    events.push(json!({"type": "response.completed",
        "response": {"id": "r", "object": "response", "created_at": 1, "output": []}}));
    let body = routewise_testkit::fixtures::sse_body(&events);
    let server = SseFaultServer::start(Script::sse().frame(body))
        .await
        .unwrap();
    let mut stream = client(&server.openai_base_url())
        .responses()
        .stream(request())
        .await
        .unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    let response = stream.final_response().await.unwrap();
    let parts: usize = response
        .output
        .iter()
        .map(|item| match item {
            OutputItem::Message(m) => m.content.len(),
            _ => 0,
        })
        .sum();
    assert!(
        parts <= 4 * events.len(),
        "{} events made {parts} content parts",
        events.len()
    );
}
