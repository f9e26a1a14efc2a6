//! An upstream that answers `stream: true` with a whole JSON response: the client still gets
//! a stream, made from that response.

use routewise_testkit::fixtures::RESPONSE_JSON;
use routewise_testkit::{Script, SseFaultServer};
use serde_json::{Value, json};

use crate::common::{output_text, post, sse, start, streamed_text};

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_streamed() {
    let upstream = SseFaultServer::start(
        Script::status(200)
            .header("content-type", "application/json")
            .frame(RESPONSE_JSON),
    )
    .await
    .unwrap();
    let gw = start(&format!(
        "[[deployments]]\nname = \"nano\"\n\
         upstream = {{ kind = \"openai_compatible\", base_url = \"{}\" }}\n",
        upstream.openai_base_url()
    ))
    .await;
    let events = sse(post(
        &gw,
        &json!({"model": "nano", "input": "hi", "stream": true}),
    )
    .await)
    .await;
    let whole: Value = serde_json::from_str(RESPONSE_JSON).unwrap();
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"response.created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"response.completed"), "{kinds:?}");
    for (ty, data) in &events {
        assert_eq!(data["type"], *ty);
    }
    let seqs: Vec<u64> = events
        .iter()
        .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
    let created = &events[0].1["response"];
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output"], json!([]));
    assert_eq!(created["id"], whole["id"]);
    // Each output item is added then done, in order; message text arrives as a delta.
    let done: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e == "response.output_item.done")
        .map(|(_, d)| &d["item"])
        .collect();
    assert_eq!(done.len(), 3);
    for (i, item) in done.iter().enumerate() {
        assert_eq!(**item, whole["output"][i]);
    }
    assert_eq!(streamed_text(&events), output_text(&whole));
    assert_eq!(events.last().unwrap().1["response"], whole);
    gw.shutdown().await;
}
