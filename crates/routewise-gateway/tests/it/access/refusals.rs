//! A refused request charges no quota, reaches no upstream and stores nothing, whichever rule
//! refused it (role, allow-list, data zone), foreground or background.

use routewise_testkit::{Deployment, MockFoundry};
use serde_json::{Value, json};

use super::{call, denied, key, principal, start};
use routewise_testkit::RedisServer;

/// `limited` (a counting upstream, 60 RPM: one request per second) in `eastus2`.
fn config(redis: &str, foundry: &MockFoundry) -> String {
    format!(
        "{}{}{}{}
[store]
redis_url = \"{redis}\"

[upstreams.foundry]
kind = \"azure\"
endpoint = \"{}\"
api_key_env = \"UPSTREAM_KEY\"

[[deployments]]
name = \"limited\"
upstream = \"foundry\"
region = \"eastus2\"
sku = \"DataZoneStandard\"
rpm = 60

[[deployments]]
name = \"other\"
upstream = {{ kind = \"emulator\", ttft_ms = 1, tokens_per_second = 1000000 }}
",
        principal("insider", "user", ""),
        principal("outsider", "user", "deployments = [\"other\"]"),
        principal("eu-only", "user", "data_zones = [\"eu\"]"),
        principal("reader", "reader", ""),
        foundry.resource_endpoint(),
    )
}

fn redis_keys(redis: &RedisServer) -> Vec<String> {
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("KEYS").arg("*").query(&mut conn).unwrap()
}

#[tokio::test]
async fn refused_requests_charge_nothing_reach_nothing_and_store_nothing() {
    let redis = RedisServer::start();
    let foundry = MockFoundry::start().await;
    foundry.add_deployment(Deployment::new("limited").reply("From Foundry."));
    let gw = start(&config(&redis.url(), &foundry)).await;
    let ask = json!({"model": "limited", "input": "x"});
    let background = json!({"model": "limited", "input": "x", "background": true});
    let stream = json!({"model": "limited", "input": "x", "stream": true});
    for _ in 0..3 {
        for body in [&ask, &background, &stream] {
            // Outside its allow-list: the 404 of an unknown name, refused just as early.
            let hidden = call(
                &gw,
                "POST",
                "/responses",
                Some(&key("outsider")),
                Some(body),
            )
            .await;
            crate::common::error_of(hidden, 404).await;
            let err = denied(
                call(&gw, "POST", "/responses", Some(&key("eu-only")), Some(body)).await,
                "eu-only",
            )
            .await;
            assert!(
                err["message"]
                    .as_str()
                    .unwrap()
                    .contains("is in data zone `us` (region eastus2)"),
                "{err}"
            );
            denied(
                call(&gw, "POST", "/responses", Some(&key("reader")), Some(body)).await,
                "reader",
            )
            .await;
        }
    }
    assert!(foundry.received().await.is_empty(), "no upstream call");
    assert_eq!(
        redis_keys(&redis),
        Vec::<String>::new(),
        "no charge, no record"
    );

    // The quota is whole: the first permitted request is admitted with the full burst.
    let ok = call(&gw, "POST", "/responses", Some(&key("insider")), Some(&ask)).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-ratelimit-remaining-requests"], "0");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(foundry.received().await.len(), 1);
    let keys = redis_keys(&redis);
    let record = format!("routewise:response:{}", body["id"].as_str().unwrap());
    assert!(keys.contains(&record), "{keys:?}");
    gw.shutdown().await;
}
