//! A `Config`'s fields are public, so a config built or changed in code never passed the
//! loader: `Gateway::from_config` holds it to the same residency and access rules, with the
//! same functions, and names the key as the file would (never a key's value).

use routewise_auth::Secret;
use routewise_gateway::config::{AccessControl, PrincipalConfig, Role};
use routewise_gateway::{BuildError, Config, Gateway};

use super::env;

const BASE: &str = r#"
[[deployments]]
name = "sweden"
upstream = { kind = "emulator" }
region = "swedencentral"
sku = "DataZoneStandard"

[[deployments]]
name = "virginia"
upstream = { kind = "emulator" }
region = "eastus2"
sku = "DataZoneStandard"

[[routers]]
name = "eu-router"
data_zones = ["eu"]
"#;

fn base() -> Config {
    Config::from_toml_str_with_env(BASE, "routewise.toml", &env).unwrap()
}

fn build_error(cfg: Config) -> BuildError {
    Gateway::from_config(cfg).expect_err("the build must refuse it")
}

fn key(s: &str) -> Secret {
    Secret::new(s)
}

#[test]
fn router_residency_is_checked_when_built_in_code() {
    assert!(Gateway::from_config(base()).is_ok());
    let mut cfg = base();
    cfg.routers[0].models.push("virginia".into());
    let e = build_error(cfg);
    assert!(e.is_residency(), "{e}");
    assert_eq!(
        e.to_string(),
        "routers[0].models[1]: router \"eu-router\" lists deployment \"virginia\", which is in \
         data zone \"us\" (region \"eastus2\"), outside its data_zones [eu]"
    );
    let mut cfg = base();
    cfg.routers[0].residency.data_zones = Some(vec!["EU".into()]);
    let e = build_error(cfg);
    assert!(
        e.to_string()
            .starts_with("routers[0].data_zones[0]: \"EU\" is not a data zone name"),
        "{e}"
    );
    let mut cfg = base();
    cfg.routers[0].models.clear();
    let e = build_error(cfg);
    assert!(
        e.to_string()
            .starts_with("routers[0].data_zones: router \"eu-router\" has no deployment"),
        "{e}"
    );
    let mut cfg = base();
    cfg.deployments[1].data_zone = Some("eu".into());
    let e = build_error(cfg);
    assert!(
        e.to_string().starts_with(
            "deployments[1].data_zone: \"eu\" contradicts region \"eastus2\", which is in data zone \"us\""
        ),
        "{e}"
    );
}

#[test]
fn principals_are_checked_when_built_in_code() {
    let with = |principals: Vec<PrincipalConfig>| {
        let mut cfg = base();
        cfg.access = AccessControl::Principals(principals);
        cfg
    };
    let ok = with(vec![
        PrincipalConfig::new("a", Role::User, vec![key("secret-a")]),
        PrincipalConfig::new("b", Role::Admin, vec![key("secret-b")]),
    ]);
    assert!(Gateway::from_config(ok).is_ok());

    let mut zoned = PrincipalConfig::new("z", Role::User, vec![key("secret-z")]);
    zoned.data_zones = Some(vec![" EU".into()]);
    let mut listed = PrincipalConfig::new("l", Role::User, vec![key("secret-l")]);
    listed.deployments = Some(vec!["gpt-9".into()]);
    let cases: Vec<(Config, &str, &str)> = vec![
        (
            with(vec![
                PrincipalConfig::new("a", Role::User, vec![key("secret-a")]),
                PrincipalConfig::new("b", Role::Admin, vec![key("secret-b"), key("secret-a")]),
            ]),
            "access.principals[1].keys",
            "a key of principal \"b\" is also a key of principal \"a\"; each key must belong to one principal",
        ),
        (
            with(vec![PrincipalConfig::new("a", Role::User, vec![])]),
            "access.principals[0].keys",
            "the keys of principal \"a\" holds no key",
        ),
        (
            with(vec![PrincipalConfig::new("a", Role::User, vec![key("  ")])]),
            "access.principals[0].keys",
            "holds an empty or blank key",
        ),
        (
            with(vec![
                PrincipalConfig::new("a", Role::User, vec![key("secret-a")]),
                PrincipalConfig::new("a", Role::User, vec![key("secret-c")]),
            ]),
            "access.principals[1].name",
            "duplicate principal name \"a\"",
        ),
        (
            with(vec![zoned]),
            "access.principals[0].data_zones[0]",
            "\" EU\" is not a data zone name",
        ),
        (
            with(vec![listed]),
            "access.principals[0].deployments[0]",
            "unknown deployment or router \"gpt-9\"",
        ),
        (
            with(vec![PrincipalConfig::new(
                "a b",
                Role::User,
                vec![key("secret-a")],
            )]),
            "access.principals[0].name",
            "is not a principal name",
        ),
        (with(Vec::new()), "access.principals", "lists no principal"),
        (
            {
                let mut cfg = base();
                cfg.access = AccessControl::Keys(Vec::new());
                cfg
            },
            "access.api_keys_env",
            "lists no key",
        ),
    ];
    for (cfg, key_path, message) in cases {
        let e = build_error(cfg);
        assert!(e.is_access(), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{key_path}: ")) && text.contains(message),
            "{key_path}: {text}"
        );
        assert!(!text.contains("secret-"), "a key in {text}");
    }
}
