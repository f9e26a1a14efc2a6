//! Role-based access and data residency over real HTTP: each role's routes, the deployment
//! allow-list (pinned, routed, `routing_config` subsets), the 403 body, refusals that charge
//! nothing and reach nothing, stored-response ownership, residency in routing and failover,
//! config errors, the legacy keys, and the logs. The modules share the helpers here.

mod allow_list;
mod built;
mod chained;
mod collisions;
mod config;
mod keys;
mod logs;
mod ownership;
mod refusals;
mod residency;
mod roles;
mod sku;
mod stateless;
mod upstream_state;

use routewise_gateway::{Config, RunningGateway};
use routewise_testkit::MockFoundry;
use serde_json::Value;

use crate::common::client;

/// `Foundry-Features: ModelRouterControls=V1Preview`: router controls and details.
pub const CONTROLS: (&str, &str) = ("Foundry-Features", "ModelRouterControls=V1Preview");

/// The legacy keys only (one admin principal): a single-tenant gateway.
pub const LEGACY: &str = "[access]\napi_keys_env = [\"LEGACY_KEYS\"]\n";

/// `access` (principal tables or the legacy keys), a `[store]` when `redis` is given, and
/// `deployments` on one Azure-shaped `foundry` upstream reached with `UPSTREAM_KEY`.
pub fn on_foundry(
    access: &str,
    redis: Option<&str>,
    foundry: &MockFoundry,
    deployments: &[&str],
) -> String {
    let store = redis
        .map(|url| format!("[store]\nredis_url = \"{url}\"\n"))
        .unwrap_or_default();
    let mut toml = format!(
        "{access}{store}\n[upstreams.foundry]\nkind = \"azure\"\nendpoint = \"{}\"\n\
         api_key_env = \"UPSTREAM_KEY\"\n",
        foundry.resource_endpoint()
    );
    for d in deployments {
        toml.push_str(&format!(
            "\n[[deployments]]\nname = \"{d}\"\nupstream = \"foundry\"\n"
        ));
    }
    toml
}

/// The test environment: `NAME_KEYS` holds the one key `name-key` (so every principal has a key
/// of its own), `LEGACY_KEYS` two legacy keys, `UPSTREAM_KEY` an upstream's key.
pub fn env(var: &str) -> Option<String> {
    match var {
        "LEGACY_KEYS" => Some("legacy-key-1, legacy-key-2".into()),
        "UPSTREAM_KEY" => Some("upstream-secret".into()),
        _ => var
            .strip_suffix("_KEYS")
            .map(|name| format!("{}-key", name.to_ascii_lowercase().replace('_', "-"))),
    }
}

/// Loads `toml` with [`env`].
pub fn load(toml: &str) -> Config {
    Config::from_toml_str_with_env(toml, "access.toml", &env).expect("valid test config")
}

/// A gateway for `toml` (with [`env`]) on a free loopback port.
pub async fn start(toml: &str) -> RunningGateway {
    crate::common::bind(load(toml)).await
}

/// A principal table: `name`, `role`, then any further keys (`deployments = [...]`).
pub fn principal(name: &str, role: &str, extra: &str) -> String {
    let var = format!("{}_KEYS", name.to_ascii_uppercase().replace('-', "_"));
    format!(
        "[[access.principals]]\nname = \"{name}\"\nkeys_env = \"{var}\"\nrole = \"{role}\"\n{extra}\n"
    )
}

/// The key of principal `name` under [`env`].
pub fn key(name: &str) -> String {
    format!("{name}-key")
}

/// `METHOD {base_url}{path}` with `key` as `api-key` (none when `None`) and an optional JSON
/// body; `path` starting with `/` but not `/openai` or `/api` is taken from the endpoint root.
pub async fn call(
    gw: &RunningGateway,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    call_with(gw, method, path, key, body, &[]).await
}

/// [`call`] with extra headers.
pub async fn call_with(
    gw: &RunningGateway,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let root = ["/metrics", "/healthz", "/readyz", "/api/"]
        .iter()
        .any(|p| path.starts_with(p));
    let url = if root {
        format!("{}{path}", gw.endpoint())
    } else {
        format!("{}{path}", gw.base_url())
    };
    let mut req = client().request(method.parse().unwrap(), url);
    if let Some(key) = key {
        req = req.header("api-key", key);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.expect("request sent")
}

/// Asserts a 403 in Azure's `PermissionDenied` shape that names `principal` and none of the
/// test keys; returns the `error` object.
pub async fn denied(resp: reqwest::Response, principal: &str) -> Value {
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().contains_key("x-request-id"));
    assert!(resp.headers().contains_key("apim-request-id"));
    assert_eq!(resp.headers()["content-type"], "application/json");
    let text = resp.text().await.unwrap();
    assert!(!text.contains("-key"), "a key in a 403: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let err = body["error"].clone();
    assert_eq!(err["code"], "PermissionDenied", "{body}");
    assert_eq!(err["status"], 403, "{body}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`{principal}`")),
        "names the principal: {message}"
    );
    err
}

/// The router trace's `(model, status)` pairs.
pub fn attempts(body: &Value) -> Vec<(String, u64)> {
    body["model_selection_details"]["model_router_details"]["routing_trace"][0]["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("no routing trace in {body}"))
        .iter()
        .map(|a| {
            (
                a["model"].as_str().unwrap().to_owned(),
                a["result"]["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The router details' candidate models.
pub fn candidates(body: &Value) -> Vec<String> {
    let mut c: Vec<String> = body["model_selection_details"]["model_router_details"]["candidates"]
        .as_array()
        .unwrap_or_else(|| panic!("no candidates in {body}"))
        .iter()
        .map(|c| c["model"].as_str().unwrap().to_owned())
        .collect();
    c.sort();
    c
}
