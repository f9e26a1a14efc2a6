//! A foreground response is stored under the upstream's id, and two upstreams may hand out the
//! same id (servers that count, or one restarted). Another tenant's record is never replaced:
//! the first stays, the second is not stored, and the tenant of the first keeps its response.
//! Within one tenant (or without principals) the newest response wins, so an id never names an
//! older, unrelated response while the client was told it is stored.

use routewise_testkit::{Deployment, MockFoundry};
use serde_json::{Value, json};
use tracing::Level;

use super::{call, key, principal, start};
use crate::common::logs::capture_text;
use routewise_testkit::RedisServer;

/// Deployment `one` on upstream `a`, `two` on `b` (two servers that count alike), a store at
/// `redis`, and the tables `principals` (none: access control off).
fn two_upstreams(principals: &str, redis: &str, a: &MockFoundry, b: &MockFoundry) -> String {
    format!(
        "{principals}
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
        redis,
        a.resource_endpoint(),
        b.resource_endpoint(),
    )
}

#[tokio::test]
async fn an_id_two_upstreams_both_return_never_replaces_another_tenants_record() {
    let (capture, _guard) = capture_text(Level::WARN);
    let redis = RedisServer::start();
    let (a, b) = (MockFoundry::start().await, MockFoundry::start().await);
    a.add_deployment(Deployment::new("one").reply("Alice's secret answer."));
    b.add_deployment(Deployment::new("two").reply("Bob's answer."));
    let principals = principal("alice", "user", "") + &principal("bob", "user", "");
    let gw = start(&two_upstreams(&principals, &redis.url(), &a, &b)).await;
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
        log.matches("already stored for another tenant (two upstreams' ids collided)")
            .count(),
        2,
        "{log}"
    );
    for id in [&id, &alice_streamed] {
        assert!(!log.contains(id.as_str()), "no id in the log: {log}");
    }
    gw.shutdown().await;
}

/// Creates a response on `model` as `who` (anonymous when `None`) and reads it back by id.
async fn create_then_get(
    gw: &routewise_gateway::RunningGateway,
    who: Option<&str>,
    model: &str,
) -> (String, String) {
    let key = who.map(key);
    let body = json!({"model": model, "input": "x"});
    let created: Value = call(gw, "POST", "/responses", key.as_deref(), Some(&body))
        .await
        .json()
        .await
        .unwrap();
    if who.is_some() {
        assert_eq!(created["store"], true, "{created}");
    }
    let id = created["id"].as_str().unwrap().to_owned();
    let got = call(gw, "GET", &format!("/responses/{id}"), key.as_deref(), None).await;
    assert_eq!(got.status(), 200, "{id}");
    let got: Value = got.json().await.unwrap();
    (id, crate::common::output_text(&got))
}

#[tokio::test]
async fn a_tenants_own_colliding_id_names_its_newest_response() {
    let (capture, _guard) = capture_text(Level::WARN);
    let redis = RedisServer::start();
    let (a, b) = (MockFoundry::start().await, MockFoundry::start().await);
    a.add_deployment(Deployment::new("one").reply("The older answer."));
    b.add_deployment(Deployment::new("two").reply("The newer answer."));
    // Two principals of one tenant: the second's answer replaces the first's.
    let principals =
        principal("alice", "user", "") + &principal("alice-bot", "user", "tenant = \"alice\"");
    let gw = start(&two_upstreams(&principals, &redis.url(), &a, &b)).await;
    let (first, text) = create_then_get(&gw, Some("alice"), "one").await;
    assert_eq!(text, "The older answer.");
    let (second, text) = create_then_get(&gw, Some("alice-bot"), "two").await;
    assert_eq!(second, first, "the two upstreams count alike");
    assert_eq!(text, "The newer answer.", "the newest response wins");
    let (_, text) = create_then_get(&gw, Some("alice"), "one").await;
    assert_eq!(text, "The older answer.", "and again");
    assert!(
        !capture.text().contains("already stored"),
        "{}",
        capture.text()
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn without_principals_the_newest_response_wins() {
    let redis = RedisServer::start();
    let (a, b) = (MockFoundry::start().await, MockFoundry::start().await);
    a.add_deployment(Deployment::new("one").reply("The older answer."));
    b.add_deployment(Deployment::new("two").reply("The newer answer."));
    let gw = start(&two_upstreams("", &redis.url(), &a, &b)).await;
    let (first, _) = create_then_get(&gw, None, "one").await;
    let (second, text) = create_then_get(&gw, None, "two").await;
    assert_eq!(second, first, "the two upstreams count alike");
    assert_eq!(text, "The newer answer.");
    gw.shutdown().await;
}
