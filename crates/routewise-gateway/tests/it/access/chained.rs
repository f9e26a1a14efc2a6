//! A stored response records the data zones it was served under, and a follow-up
//! (`previous_response_id`) inherits them, whoever sends it: the replayed conversation never
//! leaves the zones it was kept in.

use serde_json::{Value, json};

use super::{CONTROLS, call_with, key, principal, start};
use routewise_testkit::RedisServer;

/// `eu` and the stronger `us`; a router over both (quality: `us` wins when it may) and one kept
/// in the EU. One tenant, `acme`: `team-eu` (EU only), `team-any`, `team-us` (US only), and an
/// admin.
fn config(redis: &str) -> String {
    format!(
        "{}{}{}{}
[store]
redis_url = \"{redis}\"

[upstreams.emu]
kind = \"emulator\"
ttft_ms = 1
tokens_per_second = 1000000

[[deployments]]
name = \"eu\"
upstream = \"emu\"
region = \"swedencentral\"
sku = \"DataZoneStandard\"
profile = {{ general = 0.6, reasoning = 0.6, math = 0.6, coding = 0.6 }}

[[deployments]]
name = \"us\"
upstream = \"emu\"
region = \"eastus2\"
sku = \"DataZoneStandard\"
profile = {{ general = 0.95, reasoning = 0.95, math = 0.95, coding = 0.95 }}

[[routers]]
name = \"model-router\"
mode = \"quality\"
estimator = \"heuristic\"

[[routers]]
name = \"router-eu\"
mode = \"quality\"
estimator = \"heuristic\"
data_zones = [\"eu\"]
",
        principal(
            "team-eu",
            "user",
            "data_zones = [\"eu\"]\ntenant = \"acme\""
        ),
        principal("team-any", "user", "tenant = \"acme\""),
        principal(
            "team-us",
            "user",
            "data_zones = [\"us\"]\ntenant = \"acme\""
        ),
        principal("admin", "admin", ""),
    )
}

async fn ask(
    gw: &routewise_gateway::RunningGateway,
    who: &str,
    model: &str,
    previous: Option<&str>,
) -> reqwest::Response {
    let mut body = json!({"model": model, "input": "Prove that there are infinitely many primes."});
    if let Some(p) = previous {
        body["previous_response_id"] = json!(p);
    }
    call_with(
        gw,
        "POST",
        "/responses",
        Some(&key(who)),
        Some(&body),
        &[CONTROLS],
    )
    .await
}

/// Asserts a 403 `PermissionDenied` (the conversation's rule, which names no principal);
/// returns the `error` object.
async fn refused(resp: reqwest::Response) -> Value {
    let err = crate::common::error_of(resp, 403).await;
    assert_eq!(err["code"], "PermissionDenied", "{err}");
    err
}

async fn served(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn record(redis: &RedisServer, id: &str) -> Value {
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let raw: String = redis::cmd("GET")
        .arg(format!("routewise:response:{id}"))
        .query(&mut conn)
        .unwrap();
    serde_json::from_str(&raw).unwrap()
}

#[tokio::test]
async fn follow_ups_inherit_the_zones_their_conversation_was_served_in() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    // Unrestricted, the router picks `us`; for team-eu it is kept in the EU, and says so.
    let first = served(ask(&gw, "team-eu", "model-router", None).await).await;
    assert_eq!(first["model"], "eu");
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(record(&redis, &id)["zones"], json!(["eu"]));

    // Another principal of the tenant, and an admin, may not take it out of the EU.
    for who in ["team-any", "admin"] {
        let err = refused(ask(&gw, who, "us", Some(&id)).await).await;
        assert_eq!(err["param"], "model");
        assert_eq!(
            err["message"],
            "Data residency: the conversation this request continues (previous_response_id) was \
             served only in data zones [eu], and deployment `us` is in data zone `us` (region \
             eastus2)."
        );
    }
    // Routed, it stays in the EU (for a caller the router would otherwise serve from `us`),
    // and the restriction is reported and recorded again.
    let next = served(ask(&gw, "team-any", "model-router", Some(&id)).await).await;
    assert_eq!(next["model"], "eu");
    assert_eq!(
        next["model_selection_details"]["model_router_details"]["data_residency"],
        json!({"data_zones": ["eu"]})
    );
    let next_id = next["id"].as_str().unwrap().to_owned();
    assert_eq!(record(&redis, &next_id)["zones"], json!(["eu"]));
    // ... so the chain's next link inherits it in turn.
    let err = refused(ask(&gw, "admin", "us", Some(&next_id)).await).await;
    assert!(
        err["message"].as_str().unwrap().contains("data zones [eu]"),
        "{err}"
    );
    // A routing_config subset entry outside it is refused by name.
    let subset = json!({"model": "model-router", "input": "x", "previous_response_id": id,
                        "routing_config": {"models": ["eu", "us"]}});
    let err = refused(
        call_with(
            &gw,
            "POST",
            "/responses",
            Some(&key("team-any")),
            Some(&subset),
            &[CONTROLS],
        )
        .await,
    )
    .await;
    assert_eq!(err["param"], "routing_config.models[1]");
    // Nothing left where caller and conversation may both be served: a 403 naming no
    // deployment.
    let err = refused(ask(&gw, "team-us", "model-router", Some(&id)).await).await;
    assert_eq!(
        err["message"],
        "Data residency: the conversation this request continues (previous_response_id) was \
         served only in data zones [eu], and router `model-router` has no deployment there that \
         this request may use."
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_zoned_router_s_answers_carry_its_zones_and_unrestricted_ones_none() {
    let redis = RedisServer::start();
    let gw = start(&config(&redis.url())).await;
    let kept = served(ask(&gw, "team-any", "router-eu", None).await).await;
    let id = kept["id"].as_str().unwrap();
    assert_eq!(record(&redis, id)["zones"], json!(["eu"]));
    refused(ask(&gw, "admin", "us", Some(id)).await).await;

    let free = served(ask(&gw, "team-any", "model-router", None).await).await;
    assert_eq!(free["model"], "us");
    let id = free["id"].as_str().unwrap();
    assert!(record(&redis, id).get("zones").is_none());
    let next = served(ask(&gw, "admin", "us", Some(id)).await).await;
    assert_eq!(next["model"], "us");
    gw.shutdown().await;
}
