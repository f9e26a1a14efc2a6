//! Each role's routes: what it may call, and the 403 it gets for the rest; the legacy keys.

use serde_json::{Value, json};

use super::{call, denied, key, principal, start};
use crate::common::FAST_EMULATOR;
use routewise_testkit::RedisServer;

/// Every role, a store, and the legacy keys; `reader` reads `user`'s responses.
fn config(redis: &str) -> String {
    format!(
        "{FAST_EMULATOR}
[access]
api_keys_env = [\"LEGACY_KEYS\"]

{}{}{}{}
[store]
redis_url = \"{redis}\"

[[deployments]]
name = \"small\"
upstream = \"emu\"
",
        principal("user", "user", ""),
        principal("reader", "reader", "tenant = \"user\""),
        principal("monitor", "monitor", ""),
        principal("admin", "admin", ""),
    )
}

/// One operation: method and path, `{id}` standing for a stored response's id.
const ROUTES: [(&str, &str, &str); 7] = [
    ("create", "POST", "/responses"),
    ("retrieve", "GET", "/responses/{id}"),
    ("input_items", "GET", "/responses/{id}/input_items"),
    ("cancel", "POST", "/responses/{id}/cancel"),
    ("models", "GET", "/models"),
    ("metrics", "GET", "/metrics"),
    ("delete", "DELETE", "/responses/{id}"),
];

/// What each role may call, in [`ROUTES`] order.
const TABLE: [(&str, [bool; 7]); 5] = [
    ("user", [true, true, true, true, true, false, true]),
    ("reader", [false, true, true, false, true, false, false]),
    ("monitor", [false, false, false, false, true, true, false]),
    ("admin", [true, true, true, true, true, true, true]),
    // The legacy api_keys_env keys act as admin.
    ("legacy", [true, true, true, true, true, true, true]),
];

#[tokio::test]
async fn each_role_reaches_its_routes_and_gets_403_on_the_others() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let ask = json!({"model": "small", "input": "Say hi."});
    for (role, allowed) in TABLE {
        let k = if role == "legacy" {
            "legacy-key-2".to_owned()
        } else {
            key(role)
        };
        // A response of `user`'s (the tenant `reader` reads) for the routes that need one.
        let created: Value = call(&gw, "POST", "/responses", Some(&key("user")), Some(&ask))
            .await
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap();
        for ((op, method, path), ok) in ROUTES.into_iter().zip(allowed) {
            let path = path.replace("{id}", id);
            let body = (method == "POST" && op == "create").then_some(&ask);
            let resp = call(&gw, method, &path, Some(&k), body).await;
            let status = resp.status().as_u16();
            if ok {
                // Allowed: whatever the operation answers (cancel of a foreground response
                // is OpenAI's 400), but never 401 or 403.
                assert!(
                    !matches!(status, 401 | 403),
                    "{role} {op}: {status} {}",
                    resp.text().await.unwrap()
                );
            } else {
                let name = if role == "legacy" {
                    "api_keys_env"
                } else {
                    role
                };
                let err = denied(resp, name).await;
                let message = err["message"].as_str().unwrap();
                assert!(
                    message.contains(&format!("it has {role}")),
                    "{role} {op}: {message}"
                );
            }
        }
    }
    // Without a key: 401 as before; probes stay open.
    assert_eq!(call(&gw, "GET", "/models", None, None).await.status(), 401);
    let wrong = call(&gw, "GET", "/models", Some("nobody-key"), None).await;
    assert_eq!(wrong.status(), 401);
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(call(&gw, "GET", probe, None, None).await.status(), 200);
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn a_403_is_azure_s_permission_denied_in_the_openai_shape() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let resp = call(
        &gw,
        "POST",
        "/responses",
        Some(&key("reader")),
        Some(&json!({"model": "small", "input": "x"})),
    )
    .await;
    let err = denied(resp, "reader").await;
    assert_eq!(
        err["message"],
        "The principal `reader` lacks the required role (user or admin; it has reader) to \
         perform `POST /openai/v1/responses` operation."
    );
    assert_eq!(err["type"], "invalid_request_error");
    assert!(err["param"].is_null());
    // The Foundry project path is refused the same way, and names the operation's template,
    // never the path as sent.
    let resp = call(
        &gw,
        "GET",
        "/api/projects/secret-project/openai/v1/responses/resp_123",
        Some(&key("monitor")),
        None,
    )
    .await;
    let err = denied(resp, "monitor").await;
    let message = err["message"].as_str().unwrap();
    assert!(
        message.ends_with("to perform `GET /openai/v1/responses/{response_id}` operation."),
        "{message}"
    );
    assert!(!message.contains("secret-project") && !message.contains("resp_123"));
    // A user may not read the metrics: they show every tenant's traffic.
    let err = denied(
        call(&gw, "GET", "/metrics", Some(&key("user")), None).await,
        "user",
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("(monitor or admin; it has user)")
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn legacy_keys_alone_keep_full_access_as_before() {
    // No principals: every api_keys_env key may do everything, /metrics included.
    let toml = format!(
        "{FAST_EMULATOR}\n[access]\napi_keys_env = [\"LEGACY_KEYS\"]\n[[deployments]]\nname = \"small\"\nupstream = \"emu\"\n"
    );
    let cfg = super::load(&toml);
    assert!(matches!(
        &cfg.access,
        routewise_gateway::config::AccessControl::Keys(k) if k.len() == 2
    ));
    let gw = start(&toml).await;
    let ask = json!({"model": "small", "input": "x"});
    for k in ["legacy-key-1", "legacy-key-2"] {
        let resp = call(&gw, "POST", "/responses", Some(k), Some(&ask)).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            call(&gw, "GET", "/metrics", Some(k), None).await.status(),
            200
        );
        let models: Value = call(&gw, "GET", "/models", Some(k), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(models["data"].as_array().unwrap().len(), 2, "{models}");
    }
    assert_eq!(
        call(&gw, "POST", "/responses", None, Some(&ask))
            .await
            .status(),
        401
    );
    gw.shutdown().await;
}
