//! A deployment's data zone follows from its region only when its Azure deployment type
//! (`sku`) keeps requests there: `GlobalStandard` (Azure's default) may be processed anywhere.
//! Without `sku` nothing is derived (fail closed); a written zone must not contradict the
//! region or the type.

use routewise_gateway::config::DeploymentSku;
use routewise_gateway::{Config, ConfigError, Gateway};
use serde_json::{Value, json};

use super::{call, env, key, principal, start};

fn load(toml: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str_with_env(toml, "routewise.toml", &env)
}

fn one(extra: &str) -> String {
    format!("[[deployments]]\nname = \"d\"\nupstream = {{ kind = \"emulator\" }}\n{extra}\n")
}

fn zone_of(extra: &str) -> Option<String> {
    load(&one(extra))
        .unwrap_or_else(|e| panic!("{extra}: {e}"))
        .deployments[0]
        .data_zone
        .clone()
}

#[test]
fn only_data_zone_and_regional_types_take_their_region_s_zone() {
    for sku in [
        "DataZoneStandard",
        "DataZoneProvisionedManaged",
        "DataZoneBatch",
        "Standard",
        "ProvisionedManaged",
        "datazonestandard",
        "STANDARD",
    ] {
        assert_eq!(
            zone_of(&format!("region = \"swedencentral\"\nsku = \"{sku}\"")).as_deref(),
            Some("eu"),
            "{sku}"
        );
    }
    for sku in ["GlobalStandard", "GlobalProvisionedManaged", "GlobalBatch"] {
        assert_eq!(
            zone_of(&format!("region = \"swedencentral\"\nsku = \"{sku}\"")),
            None,
            "{sku} may be processed in any region"
        );
    }
    // No sku: nothing derived (Azure's default is GlobalStandard) unless the zone is written.
    assert_eq!(zone_of("region = \"swedencentral\""), None);
    assert_eq!(
        zone_of("region = \"swedencentral\"\ndata_zone = \"eu\"").as_deref(),
        Some("eu")
    );
    // A data-zone type in a region outside every zone, or unknown to the tables: none.
    assert_eq!(
        zone_of("region = \"uksouth\"\nsku = \"DataZoneStandard\""),
        None
    );
    assert_eq!(zone_of("region = \"local\"\nsku = \"Standard\""), None);
    let cfg = load(&one("region = \"eastus2\"\nsku = \"DataZoneStandard\"")).unwrap();
    assert_eq!(
        cfg.deployments[0].sku,
        Some(DeploymentSku::DataZoneStandard)
    );
}

#[test]
fn unknown_types_and_contradicting_zones_are_config_errors() {
    let cases = [
        (
            "region = \"swedencentral\"\nsku = \"Premium\"",
            "deployments[0].sku",
            "unknown deployment type \"Premium\" (expected one of GlobalStandard, \
             GlobalProvisionedManaged, GlobalBatch, DataZoneStandard, \
             DataZoneProvisionedManaged, DataZoneBatch, Standard, ProvisionedManaged)",
        ),
        (
            "region = \"swedencentral\"\nsku = \"GlobalStandard\"\ndata_zone = \"eu\"",
            "deployments[0].data_zone",
            "deployment \"d\" is a GlobalStandard deployment, which Azure may process in any \
             region, so it is in no data zone",
        ),
        (
            "sku = \"globalbatch\"\ndata_zone = \"eu\"",
            "deployments[0].data_zone",
            "is a GlobalBatch deployment",
        ),
        (
            "region = \"eastus2\"\nsku = \"DataZoneStandard\"\ndata_zone = \"eu\"",
            "deployments[0].data_zone",
            "\"eu\" contradicts region \"eastus2\", which is in data zone \"us\"",
        ),
    ];
    for (extra, key, message) in cases {
        let e = load(&one(extra)).expect_err(extra);
        assert_eq!(e.key_path, key, "{e}");
        assert!(e.message.contains(message), "{extra}: {e}");
    }
}

#[test]
fn a_zone_written_for_a_region_outside_every_zone_is_refused() {
    for region in [
        "uksouth",
        "ukwest",
        "switzerlandnorth",
        "switzerlandwest",
        "norwayeast",
        "norwaywest",
        "UK South",
        "japaneast",
        "canadacentral",
    ] {
        for sku in ["", "sku = \"Standard\"\n"] {
            let e = load(&one(&format!(
                "region = \"{region}\"\n{sku}data_zone = \"eu\""
            )))
            .expect_err(region);
            assert_eq!(e.key_path, "deployments[0].data_zone", "{e}");
            assert!(
                e.message.contains(&format!(
                    "\"eu\" contradicts region \"{region}\", which is in no data zone"
                )),
                "{e}"
            );
        }
    }
    // A region the tables do not know (on premises) takes the zone written for it.
    assert_eq!(
        zone_of("region = \"frankfurt-dc1\"\ndata_zone = \"eu\"").as_deref(),
        Some("eu")
    );
}

#[tokio::test]
async fn a_global_deployment_on_an_eu_resource_never_serves_an_eu_principal() {
    let gw = start(&format!(
        "{}
[[deployments]]
name = \"sweden-global\"
upstream = {{ kind = \"emulator\", ttft_ms = 1, tokens_per_second = 1000000 }}
region = \"swedencentral\"
sku = \"GlobalStandard\"

[[deployments]]
name = \"sweden-zoned\"
upstream = {{ kind = \"emulator\", ttft_ms = 1, tokens_per_second = 1000000 }}
region = \"swedencentral\"
sku = \"DataZoneStandard\"
",
        principal("team-eu", "user", "data_zones = [\"eu\"]"),
    ))
    .await;
    let ask = |model: &str| json!({"model": model, "input": "x"});
    let resp = call(
        &gw,
        "POST",
        "/responses",
        Some(&key("team-eu")),
        Some(&ask("sweden-global")),
    )
    .await;
    let err = super::denied(resp, "team-eu").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("has no data zone"),
        "{err}"
    );
    let resp = call(
        &gw,
        "POST",
        "/responses",
        Some(&key("team-eu")),
        Some(&ask("model-router")),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "sweden-zoned");
    let models: Value = call(&gw, "GET", "/models", Some(&key("team-eu")), None)
        .await
        .json()
        .await
        .unwrap();
    let zoned = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "sweden-zoned")
        .cloned()
        .unwrap();
    assert_eq!(zoned["sku"], "DataZoneStandard");
    assert_eq!(zoned["data_zone"], "eu");
    gw.shutdown().await;
}

#[test]
fn a_zone_set_in_code_on_a_global_deployment_fails_the_build() {
    let mut cfg = load(&one("region = \"swedencentral\"\nsku = \"GlobalStandard\"")).unwrap();
    cfg.deployments[0].data_zone = Some("eu".into());
    let e = Gateway::from_config(cfg).unwrap_err();
    assert!(e.is_residency(), "{e}");
    assert!(
        e.to_string()
            .starts_with("deployments[0].data_zone: deployment \"d\" is a GlobalStandard"),
        "{e}"
    );
}
