//! `responses().retrieve_stream(id, starting_after)`: the request it sends, resuming after
//! an event (and dropping events a server repeats), errors, and a JSON answer.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use routewise::{Client, ErrorKind};
use routewise_testkit::fixtures::{ResponseFixture, sse_body};
use routewise_transport::{ResponseBody, Transport, TransportError, body};
use serde_json::Value;

/// Answers every request with one canned status, content type and body, and records the
/// requests' URIs and `Accept` headers.
#[derive(Debug)]
struct Canned {
    status: u16,
    content_type: &'static str,
    body: String,
    seen: Mutex<Vec<(String, String)>>,
}

impl Canned {
    fn new(status: u16, content_type: &'static str, body: String) -> Arc<Self> {
        Arc::new(Self {
            status,
            content_type,
            body,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait]
impl Transport for Canned {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let accept = req
            .headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.seen
            .lock()
            .unwrap()
            .push((req.uri().to_string(), accept));
        let mut res = http::Response::new(body::full(self.body.clone()));
        *res.status_mut() = http::StatusCode::from_u16(self.status).unwrap();
        res.headers_mut()
            .insert("content-type", self.content_type.parse().unwrap());
        Ok(res)
    }
}

fn canned_client(transport: Arc<Canned>) -> Client {
    Client::builder()
        .base_url("http://localhost/openai/v1")
        .shared_transport(transport)
        .max_retries(0)
        .build()
        .unwrap()
}

/// The final response of `retrieve_stream(id, after)` against `canned`.
async fn finished(
    canned: Arc<Canned>,
    id: &str,
    after: Option<u64>,
) -> Result<routewise::RoutedResponse, routewise::Error> {
    canned_client(canned)
        .responses()
        .retrieve_stream(id, after)
        .await?
        .final_response()
        .await
}

fn fixture() -> ResponseFixture {
    ResponseFixture::new("resp_bg1", "gpt-4.1-nano-2025-04-14").text("Hello from the background.")
}

#[tokio::test]
async fn resuming_asks_for_the_events_after_n_and_yields_only_those() {
    let events = fixture().stream_events();
    // The server honours starting_after = 2: it sends events 3.. only.
    let rest: Vec<&Value> = events.iter().skip(3).collect();
    let canned = Canned::new(200, "text/event-stream", sse_body(&rest));
    let client = canned_client(Arc::clone(&canned));
    let stream = client
        .responses()
        .retrieve_stream("resp_bg1", Some(2))
        .await
        .unwrap();
    assert!(stream.decision().deployment.is_none(), "nothing was routed");
    let response = stream.final_response().await.unwrap();
    assert_eq!(response.output_text(), "Hello from the background.");
    assert_eq!(
        canned.seen(),
        [(
            "http://localhost/openai/v1/responses/resp_bg1?stream=true&starting_after=2".into(),
            "text/event-stream".into()
        )]
    );
}

#[tokio::test]
async fn events_a_server_repeats_are_dropped_not_yielded_twice() {
    // A server that ignores starting_after and replays from the start: the caller, who saw
    // events 0..=3, gets 4.. only, and the stream is not taken for a reset.
    let events = fixture().stream_events();
    let canned = Canned::new(200, "text/event-stream", sse_body(&events));
    let mut stream = canned_client(canned)
        .responses()
        .retrieve_stream("resp_bg1", Some(3))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    while let Some(event) = stream.next().await {
        seqs.push(event.unwrap().sequence_number().unwrap());
    }
    let last = events.len() as u64 - 1;
    assert_eq!(seqs, (4..=last).collect::<Vec<_>>());
}

#[tokio::test]
async fn from_the_start_every_event_comes_and_a_reset_is_still_caught() {
    let events = fixture().stream_events();
    let canned = Canned::new(200, "text/event-stream", sse_body(&events));
    let response = finished(Arc::clone(&canned), "resp_bg1", None)
        .await
        .unwrap();
    assert_eq!(response.output_text(), "Hello from the background.");
    assert_eq!(
        canned.seen()[0].0,
        "http://localhost/openai/v1/responses/resp_bg1?stream=true"
    );
    // Past the resume point, numbers must still increase.
    let mut replayed = events.clone();
    replayed.extend(events.iter().skip(4).cloned());
    let canned = Canned::new(200, "text/event-stream", sse_body(&replayed));
    let err = finished(canned, "resp_bg1", Some(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamProtocol, "{err}");
}

#[tokio::test]
async fn errors_and_bad_ids_are_errors() {
    let body = r#"{"error":{"message":"Only background responses can be streamed.","type":"invalid_request_error","param":"stream","code":"invalid_value"}}"#;
    let canned = Canned::new(400, "application/json", body.into());
    let err = canned_client(Arc::clone(&canned))
        .responses()
        .retrieve_stream("resp_fg", Some(0))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(err.code(), Some("invalid_value"));
    let err = canned_client(Arc::clone(&canned))
        .responses()
        .retrieve_stream("../etc/passwd", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(canned.seen().len(), 1, "a bad id is refused before sending");
}

#[tokio::test]
async fn a_whole_json_response_is_replayed_past_the_resume_point() {
    // A server that answers the stream request with the stored response as JSON.
    let json = fixture().to_json().to_string();
    let canned = Canned::new(200, "application/json", json);
    let mut stream = canned_client(canned)
        .responses()
        .retrieve_stream("resp_bg1", Some(1))
        .await
        .unwrap();
    let mut first = None;
    while let Some(event) = stream.next().await {
        first.get_or_insert(event.unwrap().sequence_number().unwrap());
    }
    assert_eq!(first, Some(2), "events 0 and 1 were already seen");
}

#[tokio::test]
async fn resuming_after_the_last_event_is_an_empty_stream_not_an_error() {
    // The gateway answers a reader already past the terminal event with no events at all.
    let canned = Canned::new(200, "text/event-stream", String::new());
    let last = fixture().stream_events().len() as u64 - 1;
    let mut stream = canned_client(canned)
        .responses()
        .retrieve_stream("resp_bg1", Some(last))
        .await
        .unwrap();
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn a_cancelled_background_response_says_so() {
    // What the gateway replays for a cancelled run: `response.failed` whose response is
    // `cancelled`, with no error object.
    let mut events = fixture().stream_events();
    let last = events.len() - 1;
    events[last]["type"] = "response.failed".into();
    events[last]["response"]["status"] = "cancelled".into();
    events[last]["response"]["error"] = Value::Null;
    let canned = Canned::new(200, "text/event-stream", sse_body(&events));
    let err = finished(canned, "resp_bg1", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StreamFailed);
    assert_eq!(err.code(), Some("cancelled"), "{err}");
    assert!(err.message().contains("was cancelled"), "{err}");
}
