//! Data residency: routers and principals restricted to data zones route and fail over only
//! inside them, report the restriction, and refuse what lies outside.

use serde_json::{Value, json};

use super::{CONTROLS, attempts, call_with, candidates, denied, key, principal, start};
use crate::common::FAST_EMULATOR;

/// Two EU deployments (`eu-primary` stronger, failing when `failing` says so), a stronger US
/// one, and one without a zone; a router limited to the EU zone and one over everything.
fn config(eu_backup_fails: bool) -> String {
    let backup_fault = if eu_backup_fails {
        "emulator = { error_rate = 1.0 }"
    } else {
        ""
    };
    format!(
        "{FAST_EMULATOR}
{}{}{}
[[deployments]]
name = \"eu-primary\"
upstream = \"emu\"
region = \"swedencentral\"
sku = \"DataZoneStandard\"
emulator = {{ error_rate = 1.0 }}
profile = {{ general = 0.8, reasoning = 0.8, math = 0.8, coding = 0.8 }}

[[deployments]]
name = \"eu-backup\"
upstream = \"emu\"
region = \"West Europe\"
sku = \"DataZoneStandard\"
{backup_fault}
profile = {{ general = 0.6, reasoning = 0.6, math = 0.6, coding = 0.6 }}

[[deployments]]
name = \"us-best\"
upstream = \"emu\"
region = \"eastus2\"
sku = \"DataZoneStandard\"
profile = {{ general = 0.95, reasoning = 0.95, math = 0.95, coding = 0.95 }}

[[deployments]]
name = \"local\"
upstream = \"emu\"
profile = {{ general = 0.7, reasoning = 0.7, math = 0.7, coding = 0.7 }}

[[routers]]
name = \"router-eu\"
mode = \"quality\"
estimator = \"heuristic\"
data_zones = [\"eu\"]

[[routers]]
name = \"model-router\"
mode = \"quality\"
estimator = \"heuristic\"
",
        principal("anyone", "user", ""),
        principal("team-eu", "user", "data_zones = [\"eu\"]"),
        principal("team-apac", "user", "data_zones = [\"apac\"]"),
    )
}

async fn routed(
    gw: &routewise_gateway::RunningGateway,
    who: &str,
    body: Value,
) -> reqwest::Response {
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

fn ask(model: &str) -> Value {
    json!({"model": model, "input": "Prove that there are infinitely many primes."})
}

#[tokio::test]
async fn a_zoned_router_fails_over_only_inside_its_zone() {
    let gw = start(&config(false)).await;
    let resp = routed(&gw, "anyone", ask("router-eu")).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    // `us-best` is stronger than both, but outside the zone: never a candidate.
    assert_eq!(candidates(&body), ["eu-backup", "eu-primary"]);
    assert_eq!(
        attempts(&body),
        [
            ("eu-primary".to_owned(), 500),
            ("eu-backup".to_owned(), 200)
        ]
    );
    assert_eq!(body["model"], "eu-backup");
    assert_eq!(
        body["model_selection_details"]["model_router_details"]["data_residency"],
        json!({"data_zones": ["eu"]})
    );
    // The unrestricted router reports no residency rule.
    let body: Value = routed(&gw, "anyone", ask("model-router"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["model"], "us-best");
    assert!(
        body["model_selection_details"]["model_router_details"]
            .get("data_residency")
            .is_none()
    );
    gw.shutdown().await;

    // Every in-zone deployment failing: the request fails rather than leave the zone.
    let gw = start(&config(true)).await;
    let resp = routed(&gw, "anyone", ask("router-eu")).await;
    assert_eq!(resp.status(), 500, "{:?}", resp.text().await);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_principal_s_zones_bound_pinned_and_routed_requests() {
    let gw = start(&config(false)).await;
    // Pinned outside its zone: a 403 naming the rule; a deployment without a zone likewise.
    let err = denied(routed(&gw, "team-eu", ask("us-best")).await, "team-eu").await;
    assert_eq!(err["param"], "model");
    assert_eq!(
        err["message"],
        "Data residency: the principal `team-eu` may only be served in data zones [eu], and \
         deployment `us-best` is in data zone `us` (region eastus2)."
    );
    let err = denied(routed(&gw, "team-eu", ask("local")).await, "team-eu").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("has no data zone"),
        "{err}"
    );
    // Routed through the router over everything: only its EU deployments, failover included.
    let body: Value = routed(&gw, "team-eu", ask("model-router"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(candidates(&body), ["eu-backup", "eu-primary"]);
    assert_eq!(body["model"], "eu-backup");
    assert_eq!(
        body["model_selection_details"]["model_router_details"]["data_residency"],
        json!({"data_zones": ["eu"]})
    );
    // A routing_config subset entry outside its zones is refused.
    let subset = json!({"model": "model-router", "input": "x",
                        "routing_config": {"models": ["eu-backup", "us-best"]}});
    let err = denied(routed(&gw, "team-eu", subset).await, "team-eu").await;
    assert_eq!(err["param"], "routing_config.models[1]");
    // No deployment in its zones: a 403 (the request is valid; this principal may not have it
    // served), naming the router.
    let err = denied(
        routed(&gw, "team-apac", ask("model-router")).await,
        "team-apac",
    )
    .await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("lacks access to every deployment of router `model-router`"),
        "{err}"
    );
    gw.shutdown().await;
}
