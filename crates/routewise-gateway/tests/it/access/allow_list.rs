//! The deployment allow-list: pinned deployments, routers restricted to the listed
//! deployments (candidates and failover), `routing_config.models` subsets, and `/models`.

use serde_json::{Value, json};

use super::{CONTROLS, attempts, call, call_with, candidates, key, principal, start};
use crate::common::FAST_EMULATOR;

/// `best` is the strongest (a quality router picks it first); `team` may use `model-router`,
/// `good` and `fair` only. `failing` answers 500 always, `backup` is fine.
fn config() -> String {
    format!(
        "{FAST_EMULATOR}
{}{}
[[deployments]]
name = \"best\"
upstream = \"emu\"
profile = {{ general = 0.95, reasoning = 0.95, math = 0.95, coding = 0.95 }}

[[deployments]]
name = \"good\"
upstream = \"emu\"
emulator = {{ error_rate = 1.0 }}
profile = {{ general = 0.8, reasoning = 0.8, math = 0.8, coding = 0.8 }}

[[deployments]]
name = \"fair\"
upstream = \"emu\"
profile = {{ general = 0.5, reasoning = 0.5, math = 0.5, coding = 0.5 }}

[[routers]]
name = \"model-router\"
mode = \"quality\"
estimator = \"heuristic\"
models = [\"best\", \"good\", \"fair\"]

[[routers]]
name = \"best-router\"
mode = \"quality\"
estimator = \"heuristic\"
models = [\"best\"]
",
        principal(
            "team",
            "user",
            "deployments = [\"model-router\", \"good\", \"fair\"]"
        ),
        principal("admin", "admin", ""),
    )
}

fn ask(model: &str) -> Value {
    json!({"model": model, "input": "Prove that there are infinitely many primes."})
}

/// Status and body of an answer, with `name` replaced by `{name}` (so the answers for two
/// names can be compared).
async fn answer(resp: reqwest::Response, name: &str) -> (u16, String) {
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap().replace(name, "{name}"))
}

#[tokio::test]
async fn names_outside_the_allow_list_are_answered_as_unknown_ones() {
    let gw = start(&config()).await;
    let team = key("team");
    let ok = call(&gw, "POST", "/responses", Some(&team), Some(&ask("fair"))).await;
    assert_eq!(ok.status(), 200);
    // A deployment or router the principal may not use is exactly the 404 of a name that
    // does not exist: a 403 naming it would confirm that it exists.
    let unknown = answer(
        call(&gw, "POST", "/responses", Some(&team), Some(&ask("gpt-9"))).await,
        "gpt-9",
    )
    .await;
    assert_eq!(unknown.0, 404);
    assert!(unknown.1.contains("DeploymentNotFound"), "{unknown:?}");
    for hidden in ["best", "best-router", "BEST"] {
        let theirs = answer(
            call(&gw, "POST", "/responses", Some(&team), Some(&ask(hidden))).await,
            hidden,
        )
        .await;
        assert_eq!(theirs, unknown, "{hidden}");
    }
    // Streamed and background requests alike (this gateway has no store: a background
    // request is refused for that first, hidden name or not).
    for extra in [json!({"stream": true}), json!({"background": true})] {
        let with = |model: &str| {
            let mut body = ask(model);
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        let theirs = answer(
            call(&gw, "POST", "/responses", Some(&team), Some(&with("best"))).await,
            "best",
        )
        .await;
        let none = answer(
            call(&gw, "POST", "/responses", Some(&team), Some(&with("gpt-9"))).await,
            "gpt-9",
        )
        .await;
        assert_eq!(theirs, none, "{extra}");
    }
    // Admins have no list.
    let admin = call(
        &gw,
        "POST",
        "/responses",
        Some(&key("admin")),
        Some(&ask("best")),
    )
    .await;
    assert_eq!(admin.status(), 200);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_router_routes_and_fails_over_among_the_listed_deployments_only() {
    let gw = start(&config()).await;
    let resp = call_with(
        &gw,
        "POST",
        "/responses",
        Some(&key("team")),
        Some(&ask("model-router")),
        &[CONTROLS],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    // `best` would win; the team's router never considers it. `good` fails: the failover
    // goes to `fair`, never to `best`.
    assert_eq!(candidates(&body), ["fair", "good"]);
    assert_eq!(
        attempts(&body),
        [("good".to_owned(), 500), ("fair".to_owned(), 200)]
    );
    assert_eq!(body["model"], "fair");
    // The admin's router is the whole one.
    let body: Value = call_with(
        &gw,
        "POST",
        "/responses",
        Some(&key("admin")),
        Some(&ask("model-router")),
        &[CONTROLS],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(candidates(&body), ["best", "fair", "good"]);
    assert_eq!(body["model"], "best");
    gw.shutdown().await;
}

#[tokio::test]
async fn routing_config_subsets_are_checked_against_what_the_principal_may_use() {
    let gw = start(&config()).await;
    let team = key("team");
    let with_models = |models: Value| json!({"model": "model-router", "input": "x", "routing_config": {"models": models}});
    let refused = |models: Value| {
        let gw = &gw;
        let team = &team;
        async move {
            let resp = call_with(
                gw,
                "POST",
                "/responses",
                Some(team),
                Some(&with_models(models)),
                &[CONTROLS],
            )
            .await;
            crate::common::error_of(resp, 400).await
        }
    };
    // A deployment hidden from the principal is refused as one that is not in the subset at
    // all, and the message lists only what the principal may use.
    let hidden = refused(json!(["fair", "best"])).await;
    let unknown = refused(json!(["fair", "nope"])).await;
    assert_eq!(hidden["param"], "routing_config.models[1]");
    assert_eq!(
        hidden["message"],
        "Model 'best' is not in this router's model subset (good, fair)."
    );
    assert_eq!(
        hidden["message"].as_str().unwrap().replace("best", "nope"),
        unknown["message"]
    );
    assert_eq!(hidden["code"], unknown["code"]);
    // An allowed subset is honoured; a mode alone keeps the principal's restriction.
    let body: Value = call_with(
        &gw,
        "POST",
        "/responses",
        Some(&team),
        Some(&with_models(json!(["fair"]))),
        &[CONTROLS],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["model"], "fair");
    assert_eq!(candidates(&body), ["fair"]);
    let body: Value = call_with(
        &gw,
        "POST",
        "/responses",
        Some(&team),
        Some(&json!({"model": "model-router", "input": "x", "routing_config": {"mode": "cost"}})),
        &[CONTROLS],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(candidates(&body), ["fair", "good"]);
    gw.shutdown().await;
}

#[tokio::test]
async fn models_lists_what_the_principal_may_use() {
    let gw = start(&config()).await;
    let list = |k: String| {
        let gw = &gw;
        async move {
            let v: Value = call(gw, "GET", "/models", Some(&k), None)
                .await
                .json()
                .await
                .unwrap();
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["id"].as_str().unwrap().to_owned(), m["models"].clone()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(key("team")).await,
        [
            ("model-router".to_owned(), json!(["good", "fair"])),
            ("good".to_owned(), Value::Null),
            ("fair".to_owned(), Value::Null),
        ]
    );
    assert_eq!(list(key("admin")).await.len(), 5);
    // Retrieving one model follows the same view: outside it, a name is unknown.
    let one = call(&gw, "GET", "/models/good", Some(&key("team")), None).await;
    assert_eq!(one.status(), 200);
    assert_eq!(one.json::<Value>().await.unwrap()["id"], "good");
    let hidden = call(&gw, "GET", "/models/best", Some(&key("team")), None).await;
    assert_eq!(hidden.status(), 404);
    let seen = call(&gw, "GET", "/models/best", Some(&key("admin")), None).await;
    assert_eq!(seen.status(), 200);
    gw.shutdown().await;
}
