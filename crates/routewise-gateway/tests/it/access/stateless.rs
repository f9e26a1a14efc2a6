//! What a multi-tenant gateway sends an upstream it tells `store: false` (it stores answers
//! itself, or nothing may): reasoning items that name upstream state (no `encrypted_content`)
//! stay behind, the client's own and replayed ones alike, and a reasoning model is asked for
//! its encrypted reasoning (`include`), so multi-turn reasoning works statelessly. Without
//! principals nothing changes. Without a `[store]`, the answer says `store: false`.

use routewise_testkit::{Deployment, MockFoundry};
use serde_json::{Value, json};

use super::{LEGACY, call, key, on_foundry, principal, start};
use crate::common::parse_sse;
use routewise_testkit::RedisServer;

const ENCRYPTED: &str = "reasoning.encrypted_content";

/// `alice` (a user) or the legacy keys only (`principals: false`), a store when `redis` is
/// given, and two deployments on one upstream: `o4-mini` (a reasoning model, by its name) and
/// `shared` (not one).
fn config(foundry: &MockFoundry, principals: bool, redis: Option<&str>) -> String {
    let access = if principals {
        principal("alice", "user", "")
    } else {
        LEGACY.to_owned()
    };
    on_foundry(&access, redis, foundry, &["o4-mini", "shared"])
}

async fn foundry() -> MockFoundry {
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(Deployment::new("o4-mini").reply("Thought about it."));
    foundry.add_deployment(Deployment::new("shared").reply("From the upstream."));
    foundry
}

/// The official client's multi-turn pattern: the previous output (a reasoning item without
/// its state, one with it, the message) and a new message.
fn turn(model: &str) -> Value {
    json!({
        "model": model,
        "include": ["message.output_text.logprobs"],
        "input": [
            {"role": "user", "content": "Think of a number."},
            {"type": "reasoning", "id": "rs_bare", "summary": []},
            {"type": "reasoning", "id": "rs_sealed", "summary": [], "encrypted_content": "gAAAAsealed"},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Done.", "annotations": []}]},
            {"role": "user", "content": "Now double it."},
        ],
    })
}

/// The ids of `body`'s input items.
fn ids(body: &Value) -> Vec<&str> {
    body["input"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect()
}

async fn last_sent(foundry: &MockFoundry) -> Value {
    foundry
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.json)
        .last()
        .expect("a request reached the upstream")
}

async fn create(gw: &routewise_gateway::RunningGateway, who: &str, body: &Value) -> Value {
    let resp = call(gw, "POST", "/responses", Some(who), Some(body)).await;
    assert_eq!(resp.status(), 200, "{body}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn reasoning_items_without_their_state_stay_behind_and_reasoning_models_return_it() {
    let redis = RedisServer::start();
    let foundry = foundry().await;
    let gw = start(&config(&foundry, true, Some(&redis.url()))).await;
    let alice = key("alice");

    // A reasoning deployment: the bare item is left out, the sealed one kept, and the
    // encrypted reasoning asked for beside the client's own `include`.
    let first = create(&gw, &alice, &turn("o4-mini")).await;
    assert_eq!(first["store"], true, "{first}");
    let sent = last_sent(&foundry).await;
    assert_eq!(sent["store"], false, "{sent}");
    assert_eq!(ids(&sent), ["rs_sealed", "msg_1"], "{sent}");
    assert_eq!(sent["input"][1]["encrypted_content"], "gAAAAsealed");
    assert_eq!(
        sent["include"],
        json!(["message.output_text.logprobs", ENCRYPTED])
    );
    // Asked for already: not twice.
    let mut asked = turn("o4-mini");
    asked["include"] = json!([ENCRYPTED]);
    create(&gw, &alice, &asked).await;
    assert_eq!(last_sent(&foundry).await["include"], json!([ENCRYPTED]));

    // Not a reasoning deployment: the same items stay behind, `include` is the client's.
    create(&gw, &alice, &turn("shared")).await;
    let sent = last_sent(&foundry).await;
    assert_eq!(ids(&sent), ["rs_sealed", "msg_1"], "{sent}");
    assert_eq!(sent["include"], json!(["message.output_text.logprobs"]));
    let mut plain = json!({"model": "shared", "input": "hi"});
    create(&gw, &alice, &plain).await;
    assert!(last_sent(&foundry).await.get("include").is_none());

    // A follow-up replays the first turn's input without its bare reasoning item (the
    // gateway's record keeps what the client sent).
    plain["model"] = json!("o4-mini");
    plain["previous_response_id"] = first["id"].clone();
    let second = create(&gw, &alice, &plain).await;
    assert_eq!(second["previous_response_id"], first["id"]);
    let sent = last_sent(&foundry).await;
    assert_eq!(sent["store"], false, "{sent}");
    assert!(sent.get("previous_response_id").is_none(), "{sent}");
    let replayed = ids(&sent);
    assert!(!replayed.contains(&"rs_bare"), "{sent}");
    assert!(replayed.contains(&"rs_sealed"), "{sent}");
    assert!(
        sent["input"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["type"] != "reasoning" || i["encrypted_content"].is_string()),
        "{sent}"
    );
    assert_eq!(sent["include"], json!([ENCRYPTED]));
    gw.shutdown().await;
}

#[tokio::test]
async fn without_principals_what_is_sent_upstream_is_unchanged() {
    let redis = RedisServer::start();
    let foundry = foundry().await;
    let gw = start(&config(&foundry, false, Some(&redis.url()))).await;
    let first = create(&gw, "legacy-key-1", &turn("o4-mini")).await;
    let sent = last_sent(&foundry).await;
    assert!(sent.get("store").is_none(), "{sent}");
    assert_eq!(ids(&sent), ["rs_bare", "rs_sealed", "msg_1"], "{sent}");
    assert_eq!(sent["include"], json!(["message.output_text.logprobs"]));
    // A follow-up replays the stored input as it came.
    let follow_up = json!({"model": "o4-mini", "input": "And?",
                           "previous_response_id": first["id"]});
    create(&gw, "legacy-key-1", &follow_up).await;
    let sent = last_sent(&foundry).await;
    assert!(ids(&sent).contains(&"rs_bare"), "{sent}");
    assert!(sent.get("include").is_none(), "{sent}");
    gw.shutdown().await;
}

#[tokio::test]
async fn without_a_store_nothing_is_stored_upstream_and_the_answer_says_so() {
    let foundry = foundry().await;
    let gw = start(&config(&foundry, true, None)).await;
    let alice = key("alice");
    let body = create(&gw, &alice, &turn("o4-mini")).await;
    assert_eq!(body["store"], false, "{body}");
    let id = body["id"].as_str().unwrap();
    assert!(foundry.stored_response(id).is_none(), "kept upstream");
    let sent = last_sent(&foundry).await;
    assert_eq!(sent["store"], false, "{sent}");
    assert_eq!(ids(&sent), ["rs_sealed", "msg_1"], "{sent}");
    assert_eq!(
        sent["include"],
        json!(["message.output_text.logprobs", ENCRYPTED])
    );
    // Streamed: every response object says store: false.
    let mut streamed = json!({"model": "shared", "input": "hi", "stream": true});
    let resp = call(&gw, "POST", "/responses", Some(&alice), Some(&streamed)).await;
    let events = parse_sse(&resp.text().await.unwrap());
    let lifecycle: Vec<&Value> = events
        .iter()
        .filter(|(e, _)| e.starts_with("response.") && !e.contains(".output"))
        .map(|(_, d)| &d["response"])
        .filter(|r| r.is_object())
        .collect();
    assert!(lifecycle.len() >= 2, "{events:?}");
    assert!(
        lifecycle.iter().all(|r| r["store"] == false),
        "{lifecycle:?}"
    );
    assert_eq!(last_sent(&foundry).await["store"], false);
    // A client's own store: true changes nothing: nothing could read it back.
    streamed["stream"] = json!(false);
    streamed["store"] = json!(true);
    let body = create(&gw, &alice, &streamed).await;
    assert_eq!(body["store"], false, "{body}");
    assert_eq!(last_sent(&foundry).await["store"], false);
    gw.shutdown().await;

    // Without principals (and without a store) the upstream keeps its default.
    let gw = start(&config(&foundry, false, None)).await;
    create(
        &gw,
        "legacy-key-1",
        &json!({"model": "shared", "input": "hi"}),
    )
    .await;
    assert!(last_sent(&foundry).await.get("store").is_none());
    gw.shutdown().await;
}
