//! Start-up validation: every problem names the file, the key path and what is wrong.

use std::time::Duration;

use routewise_gateway::config::{
    AccessControl, AzureAuth, BackgroundSettings, Role, UpstreamConfig,
};
use routewise_gateway::{Config, ConfigError};

fn env(var: &str) -> Option<String> {
    match var {
        "AZ_KEY" => Some("az-secret".into()),
        "GW_KEYS" => Some("a,b".into()),
        "REDIS_WITH_PW" => Some("redis://:hunter2@127.0.0.1:6379/0".into()),
        _ => None,
    }
}

fn load(toml: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str_with_env(toml, "routewise.toml", &env)
}

fn err(toml: &str) -> ConfigError {
    load(toml).expect_err("config should be rejected")
}

#[test]
fn a_full_config_loads() {
    let cfg = load(
        r#"
[server]
listen = "127.0.0.1:9000"
max_body_bytes = 1000000
header_read_timeout_ms = 500

[access]
api_keys_env = ["GW_KEYS"]

[upstreams.az]
kind = "azure"
endpoint = "https://res.openai.azure.com/"
api_key_env = "AZ_KEY"

[upstreams.entra]
kind = "azure"
endpoint = "https://res.services.ai.azure.com/api/projects/p"
auth = "entra"

[upstreams.emu]
kind = "emulator"
ttft_ms = 100
error_rate = 0.1

[[deployments]]
name = "gpt-4.1-nano"
model = "gpt-4.1-nano-2025-04-14"
upstream = "az"
price = { input_per_1m = 0.1, output_per_1m = 0.4 }
region = "eastus2"

[[deployments]]
name = "entra-one"
upstream = "entra"

[[deployments]]
name = "local"
upstream = { kind = "openai_compatible", base_url = "http://127.0.0.1:8000/v1" }

[[deployments]]
name = "emu-fast"
upstream = "emu"
emulator = { ttft_ms = 5 }
profile = { general = 0.8, reasoning = 0.5, math = 0.4, coding = 0.6, context_window = 128000 }

[[routers]]
name = "model-router"
mode = "cost"
models = ["gpt-4.1-nano", "emu-fast"]
"#,
    )
    .unwrap();
    assert_eq!(cfg.server.listen.port(), 9000);
    assert_eq!(cfg.server.header_read_timeout, Duration::from_millis(500));
    assert!(matches!(&cfg.access, AccessControl::Keys(k) if k.len() == 2));
    let nano = cfg.deployment("gpt-4.1-nano").unwrap();
    assert_eq!(nano.deployment.model, "gpt-4.1-nano-2025-04-14");
    assert_eq!(
        nano.upstream_model, "gpt-4.1-nano",
        "Azure routes by deployment name"
    );
    match &nano.upstream {
        UpstreamConfig::Azure {
            endpoint,
            auth: AzureAuth::ApiKey(key),
        } => {
            assert_eq!(endpoint, "https://res.openai.azure.com");
            assert_eq!(key.expose(), "az-secret");
            assert!(
                !format!("{cfg:?}").contains("az-secret"),
                "secrets must not appear in Debug"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        cfg.deployment("entra-one").unwrap().upstream,
        UpstreamConfig::Azure {
            auth: AzureAuth::Entra { .. },
            ..
        }
    ));
    match &cfg.deployment("emu-fast").unwrap().upstream {
        UpstreamConfig::Emulator(e) => {
            assert_eq!(e.ttft, Duration::from_millis(5), "deployment override");
            assert_eq!(e.error_rate, 0.1, "inherited from the upstream");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cfg.routers[0].models, ["gpt-4.1-nano", "emu-fast"]);
}

#[test]
fn errors_name_file_key_and_problem() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[server]\nlisten = \"nowhere\"",
            "server.listen",
            "not a socket address",
        ),
        ("[server]\nlisten = 8080", "server.listen", "invalid type"),
        (
            "[server]\nmax_connections = 0",
            "server.max_connections",
            "greater than 0",
        ),
        (
            "[server]\nmax_connections = 1000001",
            "server.max_connections",
            "1000001 is more than 1000000",
        ),
        ("[sever]\nlisten = \"x\"", "sever", "unknown field `sever`"),
        (
            "[[deployments]]\nname = \"a\"\nupstream = \"missing\"",
            "deployments[0].upstream",
            "unknown upstream \"missing\"",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"carrier-pigeon\" }",
            "deployments[0].upstream.kind",
            "unknown upstream kind",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\", ttft = 5 }",
            "deployments[0].upstream.ttft",
            "unknown field `ttft`",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\", error_rate = 1.5 }",
            "deployments[0].upstream.error_rate",
            "between 0 and 1",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"azure\", endpoint = \"https://x\", api_key_env = \"NOPE\" }",
            "deployments[0].upstream.api_key_env",
            "NOPE is not set",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"openai_compatible\" }",
            "deployments[0].upstream.base_url",
            "missing",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"openai_compatible\", base_url = \"ftp://x\" }",
            "deployments[0].upstream.base_url",
            "must use http or https",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\nprice = { input_per_1m = -1, output_per_1m = 1 }",
            "deployments[0].price.input_per_1m",
            "non-negative",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }",
            "deployments[1].name",
            "duplicate",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n[[routers]]\nname = \"r\"\nmode = \"fast\"",
            "routers[0].mode",
            "unknown mode",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n[[routers]]\nname = \"r\"\nmodels = [\"a\", \"zz\"]",
            "routers[0].models[1]",
            "unknown deployment \"zz\"",
        ),
        (
            "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n[[routers]]\nname = \"a\"",
            "routers[0].name",
            "already a deployment",
        ),
        (
            "[server]\naccess_control = true\n[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }",
            "server.access_control",
            "no key is configured",
        ),
        (
            "[access]\napi_keys_env = [\"UNSET\"]\n[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }",
            "access.api_keys_env[0]",
            "UNSET is not set",
        ),
        ("", "deployments", "no deployment defined"),
        ("[[deployments]\nname = 1", "", "TOML parse error"),
    ];
    for (toml, key, needle) in cases {
        let e = err(toml);
        assert_eq!(&e.key_path, key, "{toml}\n=> {e}");
        assert!(e.to_string().starts_with("routewise.toml: "), "{e}");
        assert!(
            e.message.contains(needle),
            "{toml}\n=> {e}\n(expected {needle:?})"
        );
        assert!(!e.message.contains('\n'), "one line: {e}");
    }
    assert!(err("[[deployments]\n").is_syntax());
    assert!(err("[[deployments]]\nname = \"a\"\nupstream = \"missing\"").is_invalid());
    assert!(err("[[deployments]]\nname = \"a\"\nupstream = { kind = \"openai\" , api_key_env = \"NOPE\" }").is_missing_env());
}

#[test]
fn an_upstream_url_that_could_carry_a_secret_is_refused_without_repeating_it() {
    let upstreams = [
        (
            "{ kind = \"openai_compatible\", base_url = \"https://app:SECRETPW@h.example/v1\" }",
            "deployments[0].upstream.base_url",
            "user info",
        ),
        (
            "{ kind = \"openai_compatible\", base_url = \"https://h.example/v1?api-key=SECRETQ\" }",
            "deployments[0].upstream.base_url",
            "query",
        ),
        (
            "{ kind = \"azure\", auth = \"entra\", endpoint = \"https://h.example#SECRETF\" }",
            "deployments[0].upstream.endpoint",
            "fragment",
        ),
    ];
    for (upstream, key, needle) in upstreams {
        let e = load(&format!(
            "[[deployments]]\nname = \"a\"\nupstream = {upstream}"
        ))
        .expect_err("refused");
        assert_eq!(e.key_path, key, "{e}");
        assert!(e.message.contains(needle), "{e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
    }
    // A config built or changed in code is held to the same rule when the gateway is built.
    let mut cfg = load(
        "[[deployments]]\nname = \"a\"\nupstream = { kind = \"openai_compatible\", base_url = \"http://127.0.0.1:9/v1\" }",
    )
    .unwrap();
    match &mut cfg.deployments[0].upstream {
        UpstreamConfig::OpenAiCompatible { base_url, .. } => {
            *base_url = "http://u:SECRETPW@127.0.0.1:9/v1".into();
        }
        other => panic!("{other:?}"),
    }
    let e = routewise_gateway::Gateway::from_config(cfg).expect_err("refused");
    assert!(e.is_url(), "{e}");
    assert!(
        e.to_string()
            .starts_with("deployments[0].upstream.base_url: has user info"),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("SECRET"), "{e:?}");
}

#[test]
fn a_redis_password_in_the_file_is_refused_without_repeating_it() {
    for table in ["store", "limits"] {
        let e = err(&format!(
            "[{table}]\nredis_url = \"redis://:hunter2@127.0.0.1:6379/0\"\n[[deployments]]\nname = \"a\"\nupstream = {{ kind = \"emulator\" }}"
        ));
        assert_eq!(e.key_path, format!("{table}.redis_url"), "{e}");
        assert!(e.message.contains(&format!("{table}.redis_url_env")), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        // The same URL from the environment is how a password is given.
        let cfg = load(&format!(
            "[{table}]\nredis_url_env = \"REDIS_WITH_PW\"\n[[deployments]]\nname = \"a\"\nupstream = {{ kind = \"emulator\" }}"
        ))
        .unwrap();
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
    // A user name alone is no secret.
    assert!(load("[store]\nredis_url = \"redis://app@127.0.0.1:6379/0\"\n[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }").is_ok());
}

#[tokio::test]
async fn a_non_loopback_address_needs_keys_or_an_explicit_opt_out() {
    let open = "0.0.0.0:0".parse().unwrap();
    let base = "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n";
    let cfg = load(base).unwrap();
    assert!(
        cfg.exposure_error("127.0.0.1:8080".parse().unwrap())
            .is_none()
    );
    assert!(cfg.exposure_error("[::1]:8080".parse().unwrap()).is_none());
    let why = cfg.exposure_error(open).expect("refused");
    assert!(why.contains("access_control = false"), "{why}");
    let e = routewise_gateway::Gateway::from_config(cfg)
        .unwrap()
        .bind(open)
        .await
        .expect_err("bind must refuse");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    // Keys, or saying so on purpose, allow it.
    let keyed = load(&format!("[access]\napi_keys_env = [\"GW_KEYS\"]\n{base}")).unwrap();
    assert!(keyed.exposure_error(open).is_none());
    let opted = load(&format!("[server]\naccess_control = false\n{base}")).unwrap();
    assert!(opted.server.open_access);
    assert!(opted.exposure_error(open).is_none());
    let running = routewise_gateway::Gateway::from_config(opted)
        .unwrap()
        .bind(open)
        .await
        .unwrap();
    running.shutdown().await;
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = Config::from_file("/definitely/not/here.toml").unwrap_err();
    assert!(e.is_io());
    assert!(
        e.to_string().starts_with("/definitely/not/here.toml: "),
        "{e}"
    );
}

#[test]
fn the_bench_config_shape_loads() {
    // What `cargo xtask bench gateway` writes.
    let cfg = load(
        "[server]\naccess_control = false\n\n[[deployments]]\nname = \"mock-model\"\nmodel = \"mock-model\"\nupstream = { kind = \"openai_compatible\", base_url = \"http://127.0.0.1:8090/v1\" }\n",
    )
    .unwrap();
    assert!(cfg.access.is_off());
    assert_eq!(cfg.routers[0].name, "model-router");
}

#[test]
fn router_estimators_are_chosen_by_name_or_artifact_path() {
    let base = "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n[[routers]]\nname = \"r\"\n";
    use routewise_gateway::config::EstimatorChoice;
    for (line, want) in [
        ("", EstimatorChoice::Trained),
        ("estimator = \"trained\"", EstimatorChoice::Trained),
        ("estimator = \"heuristic\"", EstimatorChoice::Heuristic),
    ] {
        let cfg = load(&format!("{base}{line}")).unwrap();
        assert_eq!(cfg.routers[0].estimator, want, "{line:?}");
        assert!(routewise_gateway::Gateway::from_config(cfg).is_ok());
    }
    // Without [[routers]], and in the embedded pool, model-router is trained too.
    let implicit =
        load("[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n").unwrap();
    assert_eq!(implicit.routers[0].estimator, EstimatorChoice::Trained);
    assert_eq!(
        Config::default_pool().routers[0].estimator,
        EstimatorChoice::Trained
    );
    let e = err(&format!("{base}estimator = \"no/such/artifact.bin\""));
    assert_eq!(e.key_path, "routers[0].estimator");
}

#[test]
fn the_example_config_in_the_crate_loads() {
    let text = include_str!("../../routewise.example.toml");
    let cfg = Config::from_toml_str_with_env(text, "routewise.example.toml", &|var| match var {
        "AZURE_OPENAI_API_KEY" | "OPENAI_API_KEY" => Some("k".into()),
        // Every key belongs to one principal, so each variable holds its own.
        "ROUTEWISE_API_KEYS" | "TEAM_EU_KEYS" | "TEAM_EU_AUDIT_KEYS" | "PROMETHEUS_KEYS" => {
            Some(format!("{var}-key"))
        }
        "ROUTEWISE_REDIS_URL" => Some("redis://127.0.0.1:6379/0".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(cfg.store.as_ref().map(|s| s.ttl.as_secs()), Some(2_592_000));
    assert_eq!(cfg.deployments.len(), 5);
    assert_eq!(cfg.routers[0].models.len(), 3);
    assert_eq!(
        cfg.routers[1].models,
        ["gpt-4.1-mini-eu"],
        "its data zone's"
    );
    let names: Vec<(String, Role)> = cfg
        .access
        .principals()
        .into_iter()
        .map(|p| (p.name, p.role))
        .collect();
    assert_eq!(
        names,
        [
            ("api_keys_env".to_owned(), Role::Admin),
            ("team-eu".to_owned(), Role::User),
            ("team-eu-audit".to_owned(), Role::Reader),
            ("prometheus".to_owned(), Role::Monitor),
        ]
    );
    assert_eq!(
        cfg.deployment("gpt-4.1-nano").unwrap().data_zone.as_deref(),
        Some("us")
    );
    assert_eq!(cfg.deployments[0].limits.rpm, Some(600));
    assert_eq!(cfg.deployments[0].limits.request_burst(), Some(10));
    assert_eq!(cfg.routers[0].limits.tpm, Some(250_000));
    assert!(cfg.limits.is_none(), "the limits use the [store] Redis");
    assert_eq!(
        cfg.background,
        BackgroundSettings::default(),
        "the example shows the defaults"
    );
}

const ONE_DEPLOYMENT: &str = "[[deployments]]\nname = \"a\"\nupstream = { kind = \"emulator\" }\n";

#[test]
fn background_settings_default_and_load() {
    let defaults = load(ONE_DEPLOYMENT).unwrap().background;
    assert_eq!(defaults.lease_ttl, Duration::from_secs(10));
    assert_eq!(defaults.tick, Duration::from_millis(200));
    assert_eq!(defaults.max_stream_followers, 256);
    assert_eq!(defaults.max_running, 1024);
    assert_eq!(Config::default_pool().background, defaults);

    let cfg = load(&format!(
        "[background]\nlease_ttl_ms = 3000\ntick_ms = 1000\nmax_stream_followers = 8\nmax_running = 3\n{ONE_DEPLOYMENT}"
    ))
    .unwrap();
    assert_eq!(cfg.background.lease_ttl, Duration::from_secs(3), "3 ticks");
    assert_eq!(cfg.background.tick, Duration::from_secs(1));
    assert_eq!(cfg.background.max_stream_followers, 8);
    assert_eq!(cfg.background.max_running, 3);
    // A lone key keeps the others' defaults; no [store] is needed (`serve --redis-url`
    // may add one).
    let cfg = load(&format!("[background]\ntick_ms = 50\n{ONE_DEPLOYMENT}")).unwrap();
    assert_eq!(cfg.background.tick, Duration::from_millis(50));
    assert_eq!(cfg.background.lease_ttl, Duration::from_secs(10));
}

#[test]
fn background_settings_are_validated() {
    let cases: &[(&str, &str, &str)] = &[
        ("tick_ms = 0", "background.tick_ms", "greater than 0"),
        (
            "lease_ttl_ms = 0",
            "background.lease_ttl_ms",
            "greater than 0",
        ),
        (
            "lease_ttl_ms = 500",
            "background.lease_ttl_ms",
            "500 is too short for tick_ms = 200",
        ),
        (
            "lease_ttl_ms = 599\ntick_ms = 200",
            "background.lease_ttl_ms",
            "at least 600",
        ),
        (
            "tick_ms = 5000",
            "background.tick_ms",
            "5000 is too long for lease_ttl_ms = 10000",
        ),
        ("tick_ms = 3334", "background.tick_ms", "at most 3333"),
        (
            "tick_ms = 18446744073709551615",
            "background.tick_ms",
            "too long",
        ),
        (
            "lease_ttl_ms = 86400001",
            "background.lease_ttl_ms",
            "more than 86400000",
        ),
        (
            "max_stream_followers = 0",
            "background.max_stream_followers",
            "greater than 0",
        ),
        (
            "max_stream_followers = 1000001",
            "background.max_stream_followers",
            "more than 1000000",
        ),
        (
            "max_running = 0",
            "background.max_running",
            "greater than 0",
        ),
        (
            "max_running = 1000001",
            "background.max_running",
            "more than 1000000",
        ),
        ("tick_ms = -1", "background.tick_ms", "invalid value"),
        ("tick_ms = 0.5", "background.tick_ms", "invalid type"),
        ("tick = 100", "background.tick", "unknown field `tick`"),
    ];
    for (keys, key, needle) in cases {
        let toml = format!("[background]\n{keys}\n{ONE_DEPLOYMENT}");
        let e = err(&toml);
        assert_eq!(&e.key_path, key, "{keys}\n=> {e}");
        assert!(
            e.message.contains(needle),
            "{keys}\n=> {e}\n(expected {needle:?})"
        );
        assert!(!e.message.contains('\n'), "one line: {e}");
    }
    assert!(err(&format!("[background]\ntick_ms = 0\n{ONE_DEPLOYMENT}")).is_invalid());
    assert!(err(&format!("[background]\ntick = 1\n{ONE_DEPLOYMENT}")).is_syntax());

    // Settings changed in code after loading are held to the same rules when the gateway is
    // built (a zero tick would spin a run against Redis).
    for (tick, lease, followers, key) in [
        (Duration::ZERO, Duration::from_secs(10), 256, "tick_ms"),
        (
            Duration::from_secs(1),
            Duration::from_secs(2),
            256,
            "lease_ttl_ms",
        ),
        (
            Duration::from_millis(200),
            Duration::from_secs(10),
            0,
            "max_stream_followers",
        ),
    ] {
        let mut cfg = load(ONE_DEPLOYMENT).unwrap();
        cfg.background.tick = tick;
        cfg.background.lease_ttl = lease;
        cfg.background.max_stream_followers = followers;
        let e = routewise_gateway::Gateway::from_config(cfg).expect_err("refused");
        assert!(e.is_background(), "{e}");
        assert!(
            e.to_string().starts_with(&format!("background.{key}: ")),
            "{e}"
        );
    }
}

#[test]
fn a_gateway_s_debug_output_is_a_summary_not_its_router_weights() {
    // A gateway in a log line or a panic message used to print 5.4 MB of estimator weights.
    let shown = format!("{:?}", routewise_gateway::Gateway::default_pool());
    assert!(shown.len() < 64_000, "Debug is {} bytes", shown.len());
    assert!(shown.contains("weights]"), "the heads are summarised");
}
