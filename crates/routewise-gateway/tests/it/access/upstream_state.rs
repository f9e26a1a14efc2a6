//! State the upstream keeps is shared by every tenant (they all reach it under the gateway's
//! one credential), so a multi-tenant gateway keeps conversations out of it: no
//! `previous_response_id` without the gateway's store, no `conversation`, `item_reference` or
//! `prompt` for non-admin principals, and responses the gateway stores are not also stored
//! upstream.

use std::time::Duration;

use routewise_testkit::{Deployment, MockFoundry};
use serde_json::{Value, json};

use super::{LEGACY, call, key, on_foundry, principal, start};
use crate::common::{error_of, parse_sse};
use routewise_testkit::RedisServer;

/// `alice` and `bob` (users, tenants of their own), `ops` (an admin of alice's tenant), all on
/// one upstream under one key; with a `[store]` when `redis` is given.
fn config(foundry: &MockFoundry, redis: Option<&str>) -> String {
    let access = [
        principal("alice", "user", ""),
        principal("bob", "user", ""),
        principal("ops", "admin", "tenant = \"alice\""),
    ]
    .concat();
    on_foundry(&access, redis, foundry, &["shared"])
}

/// The same deployment behind the legacy keys only: one tenant.
fn single_tenant(foundry: &MockFoundry, redis: Option<&str>) -> String {
    on_foundry(LEGACY, redis, foundry, &["shared"])
}

async fn foundry() -> MockFoundry {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(Deployment::new("shared").reply("From the upstream."));
    foundry
}

async fn create(
    gw: &routewise_gateway::RunningGateway,
    who: &str,
    body: Value,
) -> reqwest::Response {
    call(gw, "POST", "/responses", Some(&key(who)), Some(&body)).await
}

/// The bodies the upstream received, in order.
async fn sent(foundry: &MockFoundry) -> Vec<Value> {
    foundry
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.json)
        .collect()
}

#[tokio::test]
async fn without_a_store_previous_response_id_is_refused_not_passed_upstream() {
    let foundry = foundry().await;
    let gw = start(&config(&foundry, None)).await;
    // Nothing could read alice's answer back, so the upstream does not keep it either.
    let first: Value = create(
        &gw,
        "alice",
        json!({"model": "shared", "input": "My PIN is 1234."}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = first["id"].as_str().unwrap();
    assert_eq!(first["store"], false, "{first}");
    assert!(foundry.stored_response(id).is_none());
    // Bob may not continue it, nor may alice or an admin: the gateway cannot tell whose it is.
    for who in ["bob", "alice", "ops"] {
        let resp = create(
            &gw,
            who,
            json!({"model": "shared", "input": "What is my PIN?", "previous_response_id": id}),
        )
        .await;
        let err = error_of(resp, 400).await;
        assert_eq!(err["param"], "previous_response_id", "{who}: {err}");
        assert_eq!(err["code"], "unsupported_parameter");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("[[access.principals]]") && message.contains("no [store]"),
            "{message}"
        );
    }
    assert_eq!(sent(&foundry).await.len(), 1, "only alice's first request");
    gw.shutdown().await;

    // With one tenant (legacy keys only), the upstream stores the answer and a follow-up
    // still goes upstream unchanged.
    let gw = crate::access::start(&single_tenant(&foundry, None)).await;
    let ask = json!({"model": "shared", "input": "My PIN is 1234."});
    let first: Value = call(&gw, "POST", "/responses", Some("legacy-key-1"), Some(&ask))
        .await
        .json()
        .await
        .unwrap();
    let id = first["id"].as_str().unwrap();
    assert!(foundry.stored_response(id).is_some());
    let resp = call(
        &gw,
        "POST",
        "/responses",
        Some("legacy-key-1"),
        Some(&json!({"model": "shared", "input": "And?", "previous_response_id": id})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(sent(&foundry).await[2]["previous_response_id"], id);
    gw.shutdown().await;
}

#[tokio::test]
async fn conversations_item_references_and_stored_prompts_are_admin_only() {
    let redis = RedisServer::start();
    let foundry = foundry().await;
    let gw = start(&config(&foundry, Some(&redis.url()))).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"model": "shared", "input": "hi", "conversation": "conv_alice"}),
            "conversation",
        ),
        (
            json!({"model": "shared", "input": "hi", "conversation": {"id": "conv_alice"}}),
            "conversation",
        ),
        (
            json!({"model": "shared", "prompt": {"id": "pmpt_alice", "version": "2"}}),
            "prompt",
        ),
        (
            json!({"model": "shared", "input": [
                {"role": "user", "content": "hi"},
                {"type": "message", "role": "user", "content": "again"},
                {"type": "item_reference", "id": "msg_alice"},
            ]}),
            "input[2]",
        ),
        (
            // OpenAI's item reference may leave out its type.
            json!({"model": "shared", "input": [{"id": "msg_alice"}]}),
            "input[0]",
        ),
        (
            // A null role is no role: still an item reference.
            json!({"model": "shared", "input": [
                {"role": "user", "content": "hi"},
                {"id": "msg_alice", "role": null},
            ]}),
            "input[1]",
        ),
    ];
    for (body, param) in &cases {
        for stream in [false, true] {
            let mut body = body.clone();
            body["stream"] = json!(stream);
            let err = error_of(create(&gw, "bob", body).await, 400).await;
            assert_eq!(err["param"], *param, "{err}");
            assert_eq!(err["code"], "unsupported_parameter");
            let message = err["message"].as_str().unwrap();
            assert!(
                message.contains("`bob`") && message.contains("shared by every tenant"),
                "{message}"
            );
        }
    }
    assert!(
        sent(&foundry).await.is_empty(),
        "nothing reached the upstream"
    );
    // An admin may use them: they reach the upstream unchanged.
    for (body, _) in &cases {
        let resp = create(&gw, "ops", body.clone()).await;
        assert_eq!(resp.status(), 200, "{body}");
    }
    let bodies = sent(&foundry).await;
    assert_eq!(bodies[0]["conversation"], "conv_alice");
    assert_eq!(bodies[2]["prompt"]["id"], "pmpt_alice");
    assert_eq!(
        bodies[3]["input"][2],
        json!({"type": "item_reference", "id": "msg_alice"})
    );

    // An item reference an admin stored in alice's tenant is not replayed to alice either.
    let stored: Value = create(
        &gw,
        "ops",
        json!({"model": "shared", "input": [{"type": "item_reference", "id": "msg_upstream"}]}),
    )
    .await
    .json()
    .await
    .unwrap();
    let before = sent(&foundry).await.len();
    let follow_up = json!({"model": "shared", "input": "And?",
                           "previous_response_id": stored["id"]});
    let err = error_of(create(&gw, "alice", follow_up.clone()).await, 400).await;
    assert_eq!(err["param"], "previous_response_id", "{err}");
    assert_eq!(sent(&foundry).await.len(), before);
    assert_eq!(create(&gw, "ops", follow_up).await.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn responses_the_gateway_stores_are_not_stored_upstream_too() {
    let redis = RedisServer::start();
    let foundry = foundry().await;
    let gw = start(&config(&foundry, Some(&redis.url()))).await;
    let ask = json!({"model": "shared", "input": "hi"});

    // JSON: the upstream is told store: false; the client is told store: true (the gateway
    // stores it), and so is a retrieval.
    let body: Value = create(&gw, "alice", ask.clone())
        .await
        .json()
        .await
        .unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body["store"], true, "{body}");
    assert_eq!(sent(&foundry).await[0]["store"], false);
    assert!(foundry.stored_response(&id).is_none(), "kept upstream");
    let got: Value = call(
        &gw,
        "GET",
        &format!("/responses/{id}"),
        Some(&key("alice")),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(got["store"], true, "{got}");

    // A stream: every response.* event says store: true.
    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let resp = create(&gw, "alice", streamed).await;
    let events = parse_sse(&resp.text().await.unwrap());
    let lifecycle: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e.starts_with("response.") && !e.contains(".output"))
        .map(|(_, d)| &d["response"])
        .filter(|r| r.is_object())
        .collect();
    assert!(lifecycle.len() >= 2, "{events:?}");
    assert!(
        lifecycle.iter().all(|r| r["store"] == true),
        "{lifecycle:?}"
    );
    assert_eq!(sent(&foundry).await[1]["store"], false);

    // A background run: the upstream call is store: false, the stored record store: true.
    let mut background = ask.clone();
    background["background"] = json!(true);
    let queued: Value = create(&gw, "alice", background).await.json().await.unwrap();
    let bg = queued["id"].as_str().unwrap().to_owned();
    assert_eq!(queued["store"], true);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let done = loop {
        let r: Value = call(
            &gw,
            "GET",
            &format!("/responses/{bg}"),
            Some(&key("alice")),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        if r["status"] == "completed" {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "{r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["store"], true, "{done}");
    assert_eq!(sent(&foundry).await[2]["store"], false);

    // A request that says store: false is passed on as it is, and answered as the upstream
    // answers it.
    let mut unstored = ask.clone();
    unstored["store"] = json!(false);
    let body: Value = create(&gw, "alice", unstored).await.json().await.unwrap();
    assert_ne!(body["store"], true, "{body}");
    assert_eq!(sent(&foundry).await[3]["store"], false);
    gw.shutdown().await;

    // With one tenant (no principals), the request goes upstream as it came.
    let gw = crate::access::start(&single_tenant(&foundry, Some(&redis.url()))).await;
    let resp = call(&gw, "POST", "/responses", Some("legacy-key-1"), Some(&ask)).await;
    assert_eq!(resp.status(), 200);
    let last = sent(&foundry).await.pop().unwrap();
    assert!(last.get("store").is_none(), "{last}");
    gw.shutdown().await;
}
