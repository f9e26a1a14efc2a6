//! A foreground response is stored under the upstream's id, and two upstreams may hand out the
//! same id (servers that count): the first record stays, the second is not stored, and the
//! tenant of the first keeps its response.

use routewise_testkit::{Deployment, MockFoundry};
use serde_json::{Value, json};
use tracing::Level;

use super::{call, key, principal, start};
use crate::common::logs::capture_text;
use crate::common::redis::RedisServer;

#[tokio::test]
async fn an_id_two_upstreams_both_return_never_replaces_the_first_record() {
    let (capture, _guard) = capture_text(Level::WARN);
    let redis = RedisServer::start();
    let (a, b) = (MockFoundry::start().await, MockFoundry::start().await);
    a.add_deployment(Deployment::new("one").reply("Alice's secret answer."));
    b.add_deployment(Deployment::new("two").reply("Bob's answer."));
    let gw = start(&format!(
        "{}{}
[store]
redis_url = \"{}\"

[upstreams.a]
kind = \"azure\"
endpoint = \"{}\"
api_key_env = \"UPSTREAM_KEY\"

[upstreams.b]
kind = \"azure\"
endpoint = \"{}\"
api_key_env = \"UPSTREAM_KEY\"

[[deployments]]
name = \"one\"
upstream = \"a\"

[[deployments]]
name = \"two\"
upstream = \"b\"
",
        principal("alice", "user", ""),
        principal("bob", "user", ""),
        redis.url(),
        a.resource_endpoint(),
        b.resource_endpoint(),
    ))
    .await;
    let create = |who: &'static str, model: &'static str, stream: bool| {
        let gw = &gw;
        async move {
            let body = json!({"model": model, "input": "x", "stream": stream});
            call(gw, "POST", "/responses", Some(&key(who)), Some(&body)).await
        }
    };
    let alice: Value = create("alice", "one", false).await.json().await.unwrap();
    let id = alice["id"].as_str().unwrap().to_owned();
    // Bob is answered in full (the client gets its answer), under the same id.
    let bob: Value = create("bob", "two", false).await.json().await.unwrap();
    assert_eq!(bob["id"], id.as_str(), "the two upstreams count alike");
    assert_eq!(crate::common::output_text(&bob), "Bob's answer.");
    // Streamed: the terminal event's response is not stored over the first either.
    let streamed = |who: &'static str, model: &'static str| {
        let create = &create;
        async move {
            let events = crate::common::sse(create(who, model, true).await).await;
            let (_, done) = events
                .iter()
                .find(|(e, _)| e == "response.completed")
                .cloned()
                .unwrap_or_else(|| panic!("{events:?}"));
            done["response"]["id"].as_str().unwrap().to_owned()
        }
    };
    let alice_streamed = streamed("alice", "one").await;
    assert_eq!(streamed("bob", "two").await, alice_streamed);

    for (id, text) in [
        (&id, "Alice's secret answer."),
        (&alice_streamed, "Alice's secret answer."),
    ] {
        let get = |who: &'static str| {
            let gw = &gw;
            async move {
                call(
                    gw,
                    "GET",
                    &format!("/responses/{id}"),
                    Some(&key(who)),
                    None,
                )
                .await
            }
        };
        let kept = get("alice").await;
        assert_eq!(kept.status(), 200, "{id}");
        let kept: Value = kept.json().await.unwrap();
        assert_eq!(crate::common::output_text(&kept), text);
        assert_eq!(
            get("bob").await.status(),
            404,
            "bob's answer was not stored"
        );
    }
    let log = capture.text();
    assert_eq!(
        log.matches("already stored (two upstreams' ids collided)")
            .count(),
        2,
        "{log}"
    );
    for id in [&id, &alice_streamed] {
        assert!(!log.contains(id.as_str()), "no id in the log: {log}");
    }
    gw.shutdown().await;
}
