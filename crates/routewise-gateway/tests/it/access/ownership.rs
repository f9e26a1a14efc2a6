//! Stored responses belong to a tenant: another tenant's principals get exactly the 404 of a
//! missing id (and `previous_response_id`'s 400), whatever they try; readers of the tenant and
//! admins see them.

use std::time::Duration;

use serde_json::{Value, json};

use super::{call, denied, key, principal, start};
use routewise_testkit::RedisServer;

fn config(redis: &str) -> String {
    format!(
        "{}{}{}{}
[store]
redis_url = \"{redis}\"

[[deployments]]
name = \"fast\"
upstream = {{ kind = \"emulator\", ttft_ms = 1, tokens_per_second = 1000000 }}

[[deployments]]
name = \"crawl\"
upstream = {{ kind = \"emulator\", ttft_ms = 10, tokens_per_second = 15 }}
",
        principal("alice", "user", ""),
        principal("bob", "user", ""),
        principal("alice-audit", "reader", "tenant = \"alice\""),
        principal("admin", "admin", ""),
    )
}

/// Status and body, with `id` replaced by `{id}` (so a foreign id's answer can be compared
/// with a missing one's).
async fn answer(resp: reqwest::Response, id: &str) -> (u16, String) {
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap().replace(id, "{id}"))
}

#[tokio::test]
async fn another_tenant_s_response_is_a_missing_one() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let (alice, bob) = (key("alice"), key("bob"));
    let created: Value = call(
        &gw,
        "POST",
        "/responses",
        Some(&alice),
        Some(&json!({"model": "fast", "input": "My secret is 42."})),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();
    let missing = "resp_0123456789abcdef";
    for (method, path) in [
        ("GET", "/responses/{id}"),
        ("GET", "/responses/{id}/input_items"),
        ("GET", "/responses/{id}?stream=true"),
        ("POST", "/responses/{id}/cancel"),
        ("DELETE", "/responses/{id}"),
    ] {
        let theirs = answer(
            call(&gw, method, &path.replace("{id}", id), Some(&bob), None).await,
            id,
        )
        .await;
        let none = answer(
            call(
                &gw,
                method,
                &path.replace("{id}", missing),
                Some(&bob),
                None,
            )
            .await,
            missing,
        )
        .await;
        assert_eq!(theirs.0, 404, "{method} {path}: {theirs:?}");
        assert_eq!(theirs, none, "{method} {path}");
    }
    // Chaining to it is the 400 of an unknown id.
    let chained =
        |prev: &str| json!({"model": "fast", "input": "And?", "previous_response_id": prev});
    let theirs = answer(
        call(&gw, "POST", "/responses", Some(&bob), Some(&chained(id))).await,
        id,
    )
    .await;
    let none = answer(
        call(
            &gw,
            "POST",
            "/responses",
            Some(&bob),
            Some(&chained(missing)),
        )
        .await,
        missing,
    )
    .await;
    assert_eq!(theirs.0, 400);
    assert_eq!(theirs, none);

    // The tenant's reader sees it, and may not delete it; admins see it; the owner chains to
    // it and deletes it.
    for k in [key("alice-audit"), key("admin"), alice.clone()] {
        let got = call(&gw, "GET", &format!("/responses/{id}"), Some(&k), None).await;
        assert_eq!(got.status(), 200, "{k}");
        let items = call(
            &gw,
            "GET",
            &format!("/responses/{id}/input_items"),
            Some(&k),
            None,
        )
        .await;
        assert_eq!(items.status(), 200, "{k}");
    }
    denied(
        call(
            &gw,
            "DELETE",
            &format!("/responses/{id}"),
            Some(&key("alice-audit")),
            None,
        )
        .await,
        "alice-audit",
    )
    .await;
    let next = call(&gw, "POST", "/responses", Some(&alice), Some(&chained(id))).await;
    assert_eq!(next.status(), 200);
    let deleted = call(
        &gw,
        "DELETE",
        &format!("/responses/{id}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(deleted.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn the_record_names_its_creator_and_tenant_and_background_runs_keep_them() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let record = |conn: &mut redis::Connection, id: &str| -> Value {
        let raw: String = redis::cmd("GET")
            .arg(format!("routewise:response:{id}"))
            .query(conn)
            .unwrap();
        serde_json::from_str(&raw).unwrap()
    };
    let queued: Value = call(
        &gw,
        "POST",
        "/responses",
        Some(&key("alice")),
        Some(&json!({"model": "crawl", "input": "Tell me a long story.", "background": true})),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = queued["id"].as_str().unwrap();
    let doc = record(&mut conn, id);
    assert_eq!(doc["principal"], "alice");
    assert_eq!(doc["tenant"], "alice");
    // Bob can neither see nor cancel it; alice cancels it, and the rewrite keeps the owner.
    let bob = call(
        &gw,
        "POST",
        &format!("/responses/{id}/cancel"),
        Some(&key("bob")),
        None,
    )
    .await;
    assert_eq!(bob.status(), 404);
    let cancelled = call(
        &gw,
        "POST",
        &format!("/responses/{id}/cancel"),
        Some(&key("alice")),
        None,
    )
    .await;
    assert_eq!(cancelled.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let doc = record(&mut conn, id);
        if doc["response"]["status"] == "cancelled" {
            assert_eq!(doc["tenant"], "alice");
            assert_eq!(doc["principal"], "alice");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{doc}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The audit key of alice's tenant reads what alice's key created.
    let read = call(
        &gw,
        "GET",
        &format!("/responses/{id}"),
        Some(&key("alice-audit")),
        None,
    )
    .await;
    assert_eq!(read.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn responses_stored_without_access_control_are_admin_only_later() {
    let redis = RedisServer::start();
    // First without access control: the record has no owner.
    let open = crate::common::start(&format!(
        "[store]\nredis_url = \"{}\"\n[[deployments]]\nname = \"fast\"\nupstream = {{ kind = \"emulator\", ttft_ms = 1 }}\n",
        redis.url()
    ))
    .await;
    let created: Value = crate::common::post(&open, &json!({"model": "fast", "input": "x"}))
        .await
        .json()
        .await
        .unwrap();
    open.shutdown().await;
    let id = created["id"].as_str().unwrap();
    let gw = start(&config(&redis.url())).await;
    let path = format!("/responses/{id}");
    assert_eq!(
        call(&gw, "GET", &path, Some(&key("alice")), None)
            .await
            .status(),
        404
    );
    assert_eq!(
        call(&gw, "GET", &path, Some(&key("admin")), None)
            .await
            .status(),
        200
    );
    gw.shutdown().await;
}
