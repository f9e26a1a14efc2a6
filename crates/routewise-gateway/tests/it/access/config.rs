//! `[[access.principals]]`, `data_zone` and router residency at start-up: what loads, and the
//! errors naming file, key and value (never a key's value).

use routewise_gateway::access::{LEGACY_PRINCIPAL, data_zone_of};
use routewise_gateway::config::{AccessControl, Role};
use routewise_gateway::{Config, ConfigError};

use super::{env, principal};

const DEPLOYMENTS: &str = r#"
[[deployments]]
name = "sweden"
upstream = { kind = "emulator" }
region = "swedencentral"
sku = "DataZoneStandard"

[[deployments]]
name = "virginia"
upstream = { kind = "emulator" }
region = "eastus2"
sku = "Standard"

[[deployments]]
name = "london"
upstream = { kind = "emulator" }
region = "uksouth"
sku = "DataZoneStandard"

[[routers]]
name = "model-router"
models = ["sweden", "virginia"]
"#;

fn load(toml: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str_with_env(toml, "routewise.toml", &env)
}

fn err(toml: &str) -> ConfigError {
    load(toml).expect_err("config should be rejected")
}

#[test]
fn principals_load_with_the_legacy_keys_as_an_admin_first() {
    let cfg = load(&format!(
        "[access]\napi_keys_env = [\"LEGACY_KEYS\"]\n{}{}{DEPLOYMENTS}",
        principal(
            "team-eu",
            "user",
            "deployments = [\"model-router\", \"sweden\"]\ndata_zones = [\" EU \"]"
        ),
        principal("audit", "reader", "tenant = \"team-eu\""),
    ))
    .unwrap();
    let AccessControl::Principals(p) = &cfg.access else {
        panic!("{:?}", cfg.access);
    };
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].name, LEGACY_PRINCIPAL);
    assert_eq!(p[0].role, Role::Admin);
    assert_eq!(p[0].keys.len(), 2);
    assert_eq!(p[1].name, "team-eu");
    assert_eq!(p[1].tenant, "team-eu", "its own tenant by default");
    assert_eq!(p[1].data_zones.as_deref(), Some(&["eu".to_owned()][..]));
    assert_eq!(p[2].tenant, "team-eu");
    let debug = format!("{cfg:?}");
    assert!(!debug.contains("-key"), "keys in Debug: {debug}");
    // Zones: derived from the region, none for regions outside the table.
    assert_eq!(
        cfg.deployment("sweden").unwrap().data_zone.as_deref(),
        Some("eu")
    );
    assert_eq!(
        cfg.deployment("virginia").unwrap().data_zone.as_deref(),
        Some("us")
    );
    assert_eq!(cfg.deployment("london").unwrap().data_zone, None);
    assert_eq!(data_zone_of("uksouth"), None);
}

#[test]
fn data_zones_can_be_written_and_routers_restricted_to_them() {
    let cfg = load(
        r#"
[[deployments]]
name = "on-prem"
upstream = { kind = "emulator" }
region = "frankfurt-dc1"
data_zone = "EU"

[[deployments]]
name = "virginia"
upstream = { kind = "emulator" }
region = "eastus2"
data_zone = "us"

[[deployments]]
name = "sweden"
upstream = { kind = "emulator" }
region = "Sweden Central"
sku = "datazonestandard"

[[routers]]
name = "eu-router"
data_zones = ["eu"]

[[routers]]
name = "sweden-router"
regions = ["swedencentral"]
models = ["sweden"]
"#,
    )
    .unwrap();
    assert_eq!(
        cfg.deployment("on-prem").unwrap().data_zone.as_deref(),
        Some("eu")
    );
    assert_eq!(cfg.routers[0].models, ["on-prem", "sweden"]);
    assert_eq!(
        cfg.routers[0].residency.data_zones.as_deref(),
        Some(&["eu".to_owned()][..])
    );
    assert_eq!(cfg.routers[1].models, ["sweden"]);
    assert!(routewise_gateway::Gateway::from_config(cfg).is_ok());
}

#[test]
fn access_and_residency_errors_name_file_key_and_problem() {
    let p = |extra: &str| format!("{}{DEPLOYMENTS}", principal("team", "user", extra));
    let cases: Vec<(String, &str, &str)> = vec![
        (
            principal("team", "owner", "") + DEPLOYMENTS,
            "access.principals[0].role",
            "unknown role \"owner\" (expected user, reader, monitor or admin)",
        ),
        (
            p("deployments = [\"sweden\", \"gpt-9\"]"),
            "access.principals[0].deployments[1]",
            "unknown deployment or router \"gpt-9\"",
        ),
        (
            p("deployments = [\"model-router\", \"london\"]"),
            "access.principals[0].deployments[0]",
            "may use router \"model-router\" but none of its deployments (sweden, virginia)",
        ),
        (
            p("deployments = [\"model-router\", \"sweden\"]\ndata_zones = [\"us\"]"),
            "access.principals[0].deployments[0]",
            "none of its deployments (sweden, virginia) in data zones [us]",
        ),
        (
            p("data_zones = []"),
            "access.principals[0].data_zones",
            "at least one data zone",
        ),
        (
            p("data_zones = [\"e u\"]"),
            "access.principals[0].data_zones[0]",
            "\"e u\" is not a data zone name",
        ),
        (
            p("tenant = \"api_keys_env\""),
            "access.principals[0].tenant",
            "reserved for the keys of access.api_keys_env",
        ),
        (
            format!("{}{DEPLOYMENTS}", principal("api_keys_env", "user", "")),
            "access.principals[0].name",
            "reserved",
        ),
        (
            "[[access.principals]]\nname = \"team eu\"\nkeys_env = \"TEAM_KEYS\"\nrole = \"user\"\n"
                .to_owned()
                + DEPLOYMENTS,
            "access.principals[0].name",
            "\"team eu\" is not a principal name",
        ),
        (
            format!("{}{}{DEPLOYMENTS}", principal("team", "user", ""), principal("team", "admin", "")),
            "access.principals[1].name",
            "duplicate principal name \"team\"",
        ),
        (
            "[[access.principals]]\nname = \"team\"\nkeys_env = \"UNSET_VAR\"\nrole = \"user\"\n"
                .to_owned()
                + DEPLOYMENTS,
            "access.principals[0].keys_env",
            "UNSET_VAR is not set",
        ),
        (
            p("colour = \"blue\""),
            "access.principals[0].colour",
            "unknown field `colour`",
        ),
        (
            format!("[server]\naccess_control = false\n{}", p("")),
            "server.access_control",
            "is false but [[access.principals]] lists keys",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\nregion = \"eastus2\"\ndata_zone = \"eu\"\n"
                .to_owned(),
            "deployments[0].data_zone",
            "\"eu\" contradicts region \"eastus2\", which is in data zone \"us\"",
        ),
        (
            DEPLOYMENTS.to_owned() + "[[routers]]\nname = \"eu-router\"\ndata_zones = [\"eu\"]\nmodels = [\"sweden\", \"virginia\"]\n",
            "routers[1].models[1]",
            "router \"eu-router\" lists deployment \"virginia\", which is in data zone \"us\" (region \"eastus2\"), outside its data_zones [eu]",
        ),
        (
            DEPLOYMENTS.to_owned() + "[[routers]]\nname = \"apac\"\ndata_zones = [\"apac\"]\n",
            "routers[1].data_zones",
            "router \"apac\" has no deployment in its data_zones [apac]",
        ),
        (
            DEPLOYMENTS.to_owned() + "[[routers]]\nname = \"r\"\nregions = [\"uk south!\"]\n",
            "routers[1].regions[0]",
            "is not an Azure region name",
        ),
    ];
    for (toml, key, message) in cases {
        let e = err(&toml);
        assert_eq!(e.key_path, key, "{e}");
        assert!(e.message.contains(message), "{key}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("routewise.toml: {key}: ")),
            "{e}"
        );
    }
}

#[test]
fn a_key_shared_by_two_principals_is_refused_without_showing_it() {
    let shared = |var: &str| match var {
        "A_KEYS" => Some("same-secret, a-only".to_owned()),
        "B_KEYS" => Some("same-secret".to_owned()),
        "LEGACY_KEYS" => Some("a-only".to_owned()),
        _ => None,
    };
    let toml = format!(
        "[[access.principals]]\nname = \"a\"\nkeys_env = \"A_KEYS\"\nrole = \"user\"\n\
         [[access.principals]]\nname = \"b\"\nkeys_env = \"B_KEYS\"\nrole = \"admin\"\n{DEPLOYMENTS}"
    );
    let e = Config::from_toml_str_with_env(&toml, "routewise.toml", &shared).unwrap_err();
    assert_eq!(e.key_path, "access.principals[1].keys_env");
    assert!(
        e.message
            .contains("a key in B_KEYS is also a key of principal \"a\""),
        "{e}"
    );
    assert!(!e.to_string().contains("same-secret"), "{e}");
    // Shared with the legacy keys, likewise.
    let toml = format!(
        "[access]\napi_keys_env = [\"LEGACY_KEYS\"]\n[[access.principals]]\nname = \"a\"\nkeys_env = \"A_KEYS\"\nrole = \"user\"\n{DEPLOYMENTS}"
    );
    let e = Config::from_toml_str_with_env(&toml, "routewise.toml", &shared).unwrap_err();
    assert!(e.message.contains("principal \"api_keys_env\""), "{e}");
    assert!(!e.to_string().contains("a-only"), "{e}");
}

#[test]
fn the_interop_configs_still_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    let mut loaded = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        Config::from_toml_str_with_env(&text, &path, &|var| {
            Some(if var.ends_with("REDIS_URL") {
                "redis://127.0.0.1:6379/0".to_owned()
            } else {
                format!("{var}-value")
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
        loaded += 1;
    }
    assert!(loaded > 0, "no config in {}", dir.display());
}
