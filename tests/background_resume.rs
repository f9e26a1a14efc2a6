//! End to end: the routewise client against the routewise gateway (with a throwaway Redis).
//! A background stream is read partway, its connection dropped, and the rest fetched with
//! `responses().retrieve_stream(id, Some(last_seen))`: no event is lost or repeated, and the
//! run finished server-side while nobody was connected.
//!
//! Needs `redis-server` (`.ci/setup` installs it); without it the test fails and says so.

use futures_util::StreamExt;
use routewise::Client;
use routewise::types::CreateResponse;
use routewise_gateway::{Config, Gateway};
use routewise_testkit::RedisServer;

#[tokio::test]
async fn a_dropped_background_stream_resumes_after_the_last_event_seen() {
    let redis = RedisServer::start();
    let toml = format!(
        "[store]\nredis_url = \"{}\"\n\
         [[deployments]]\nname = \"steady\"\n\
         upstream = {{ kind = \"emulator\", ttft_ms = 5, tokens_per_second = 200 }}\n",
        redis.url()
    );
    let config = Config::from_toml_str(&toml, "resume.toml").expect("config loads");
    let gateway = Gateway::from_config(config)
        .expect("gateway builds")
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("binds");
    let client = Client::builder()
        .base_url(&gateway.base_url())
        .build()
        .expect("client builds");

    let mut request = CreateResponse::new("steady", "Explain retrieval-augmented generation.");
    request.background = Some(true);
    let mut live = client
        .responses()
        .stream(request)
        .await
        .expect("stream opens");
    let (mut id, mut last_seen, mut before) = (None, None, String::new());
    let mut deltas_seen = 0;
    while let Some(event) = live.next().await {
        let event = event.expect("a live event");
        if let Some(response) = event.response() {
            id.get_or_insert_with(|| response.id.clone());
        }
        last_seen = event.sequence_number().or(last_seen);
        if let Some(delta) = event.text_delta() {
            before.push_str(delta);
            deltas_seen += 1;
            if deltas_seen == 3 {
                break;
            }
        }
    }
    drop(live);
    let (id, last_seen) = (
        id.expect("the response id"),
        last_seen.expect("numbered events"),
    );

    let mut rest = client
        .responses()
        .retrieve_stream(&id, Some(last_seen))
        .await
        .expect("the stream resumes");
    let mut after = String::new();
    let mut first_resumed = None;
    while let Some(event) = rest.next().await {
        let event = event.expect("a resumed event");
        first_resumed.get_or_insert(event.sequence_number().expect("numbered"));
        if let Some(delta) = event.text_delta() {
            after.push_str(delta);
        }
    }
    assert_eq!(
        first_resumed,
        Some(last_seen + 1),
        "nothing lost, nothing repeated"
    );
    let retrieved = client.responses().retrieve(&id).await.expect("retrieved");
    assert_eq!(
        retrieved.status,
        Some(routewise::types::ResponseStatus::Completed)
    );
    assert_eq!(format!("{before}{after}"), retrieved.output_text());
    assert!(!after.is_empty(), "the rest came after the resume point");
    gateway.shutdown().await;
}
