//! Per-deployment rate limits over real HTTP and a real Redis: RPM and TPM refusals with
//! Azure's 429 shape and headers, the estimate charged, replicas sharing one quota, refill,
//! router pools and the router skipping a throttled deployment, streams, a Redis that is
//! down, and configuration errors.

use std::time::{Duration, Instant};

use crate::common::{FAST_EMULATOR, error_of, post, post_with, sse, start};
use routewise_gateway::config::LimitsSettings;
use routewise_gateway::{Config, Gateway};
use routewise_testkit::RedisServer;
use serde_json::{Value, json};

const HEADERS: [&str; 6] = [
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
];

/// A config with a `[store]` on `redis` and `deployments` (TOML `[[deployments]]` bodies).
fn config(redis: &str, extra: &str) -> String {
    format!("{FAST_EMULATOR}\n[store]\nredis_url = \"{redis}\"\n{extra}")
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

fn number(resp: &reqwest::Response, name: &str) -> u64 {
    header(resp, name)
        .unwrap_or_else(|| panic!("{name} is missing"))
        .parse()
        .unwrap()
}

/// `20ms`, `1s`, `1.5s` (all this module's limits reset within a minute).
fn reset_ms(resp: &reqwest::Response, name: &str) -> f64 {
    let v = header(resp, name).unwrap_or_else(|| panic!("{name} is missing"));
    match v.strip_suffix("ms") {
        Some(ms) => ms.parse().unwrap(),
        None => v.strip_suffix('s').unwrap().parse::<f64>().unwrap() * 1000.0,
    }
}

fn ask(model: &str) -> Value {
    json!({"model": model, "input": "Say hi."})
}

#[tokio::test]
async fn rpm_exceeded_answers_azure_s_429_with_every_header() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 60\ntpm = 100000\n",
    ))
    .await;
    let ok = post(&gw, &ask("small")).await;
    assert_eq!(ok.status(), 200);
    for h in HEADERS {
        assert!(ok.headers().contains_key(h), "{h} on a success");
    }
    assert_eq!(number(&ok, "x-ratelimit-limit-requests"), 60);
    assert_eq!(
        number(&ok, "x-ratelimit-remaining-requests"),
        0,
        "60 RPM = 1 per second"
    );
    assert!(!ok.headers().contains_key("retry-after"));

    let refused = post(&gw, &ask("small")).await;
    for h in HEADERS {
        assert!(refused.headers().contains_key(h), "{h} on a 429");
    }
    let after_ms = number(&refused, "retry-after-ms");
    let after_s = number(&refused, "retry-after");
    let reset = reset_ms(&refused, "x-ratelimit-reset-requests");
    assert!((1..=1000).contains(&after_ms), "{after_ms}");
    assert_eq!(
        after_s,
        after_ms.div_ceil(1000),
        "whole seconds, rounded up"
    );
    assert!(
        (reset - after_ms as f64).abs() <= 1.0,
        "with a burst of one, the reset is the wait: {reset} vs {after_ms}"
    );
    assert_eq!(number(&refused, "x-ratelimit-remaining-requests"), 0);
    let err = error_of(refused, 429).await;
    assert_eq!(err["code"], "429");
    assert_eq!(err["type"], "requests");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.starts_with("Requests to the Responses API under deployment small have exceeded the request rate limit of 60 requests per minute. Please retry after 1 second"),
        "{message}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn tpm_is_charged_with_the_prompt_estimate_plus_max_output_tokens() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"small\"\nupstream = \"emu\"\ntpm = 1000\n",
    ))
    .await;
    // "one two six ten": 4 tokens plus 3 of message framing, plus 100 of output.
    let body =
        |max: u64| json!({"model": "small", "input": "one two six ten", "max_output_tokens": max});
    let first = post(&gw, &body(100)).await;
    assert_eq!(first.status(), 200);
    assert_eq!(number(&first, "x-ratelimit-limit-tokens"), 1000);
    assert_eq!(number(&first, "x-ratelimit-remaining-tokens"), 1000 - 107);
    assert!(
        !first.headers().contains_key("x-ratelimit-limit-requests"),
        "no rpm, no request headers"
    );
    let second = post(&gw, &body(800)).await;
    assert_eq!(second.status(), 200);
    let left = number(&second, "x-ratelimit-remaining-tokens");
    // The bucket refills at 1000/60 tokens a second between the two calls.
    assert!((86..=100).contains(&left), "{left}");
    let refused = post(&gw, &body(200)).await;
    let wait = number(&refused, "retry-after-ms");
    // About (207 - left) / (1000/60 per s) seconds.
    assert!((6_000..=8_000).contains(&wait), "{wait}");
    let err = error_of(refused, 429).await;
    assert_eq!(err["type"], "tokens");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("exceeded the token rate limit of 1000 tokens per minute"),
        "{err}"
    );
    // Larger than the whole bucket: never admissible, so a 400 the client will not retry.
    let err = error_of(post(&gw, &body(5000)).await, 400).await;
    assert_eq!(err["code"], "tokens_exceed_rate_limit");
    assert_eq!(err["param"], "max_output_tokens");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("can never be admitted")
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn two_gateways_on_one_redis_share_one_quota() {
    let redis = RedisServer::start();
    let toml = config(
        &redis.url(),
        "[[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 120\n",
    );
    let (a, b) = (start(&toml).await, start(&toml).await);
    // 120 RPM: two per second, shared.
    assert_eq!(post(&a, &ask("small")).await.status(), 200);
    assert_eq!(post(&b, &ask("small")).await.status(), 200);
    error_of(post(&a, &ask("small")).await, 429).await;
    error_of(post(&b, &ask("small")).await, 429).await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn the_quota_refills_after_the_advertised_wait() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 240\n",
    ))
    .await;
    // 240 RPM: a burst of 4 per second, one more every 250 ms. On a loaded machine the burst
    // may take long enough for a slot to come back, so send until the first refusal.
    let mut admitted = 0;
    let refused = loop {
        let r = post(&gw, &ask("small")).await;
        if r.status() != 200 {
            break r;
        }
        admitted += 1;
        assert!(admitted < 40, "240 RPM never refused a request");
    };
    assert!(
        admitted >= 4,
        "refused before the burst of 4 was used: {admitted}"
    );
    assert_eq!(refused.status(), 429);
    let wait = number(&refused, "retry-after-ms");
    assert!(wait <= 250, "{wait}");
    tokio::time::sleep(Duration::from_millis(wait + 20)).await;
    let again = post(&gw, &ask("small")).await;
    assert_eq!(
        again.status(),
        200,
        "admitted once the advertised wait is over"
    );
    // Only what refilled since the refusal is back (one slot, two if this machine was slow).
    assert!(number(&again, "x-ratelimit-remaining-requests") <= 1);
    gw.shutdown().await;
}

#[tokio::test]
async fn a_router_s_own_pool_limits_router_requests_only() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"small\"\nupstream = \"emu\"\n\
         [[deployments]]\nname = \"large\"\nupstream = \"emu\"\n\
         [[routers]]\nname = \"model-router\"\nmodels = [\"small\", \"large\"]\nrpm = 60\ntpm = 50000\n",
    ))
    .await;
    let ok = post(&gw, &ask("model-router")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(number(&ok, "x-ratelimit-limit-requests"), 60);
    assert_eq!(number(&ok, "x-ratelimit-limit-tokens"), 50_000);
    let err = error_of(post(&gw, &ask("model-router")).await, 429).await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("under deployment model-router"),
        "{err}"
    );
    // The deployments themselves have no limits: served, and no quota headers.
    for _ in 0..3 {
        let direct = post(&gw, &ask("small")).await;
        assert_eq!(direct.status(), 200);
        for h in HEADERS {
            assert!(
                !direct.headers().contains_key(h),
                "{h} on an unlimited deployment"
            );
        }
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn the_router_skips_a_throttled_deployment_then_refuses_when_all_are() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"alpha\"\nupstream = \"emu\"\nrpm = 60\n\
         [[deployments]]\nname = \"beta\"\nupstream = \"emu\"\nrpm = 60\n\
         [[routers]]\nname = \"model-router\"\nmodels = [\"alpha\", \"beta\"]\n",
    ))
    .await;
    let controls = [("Foundry-Features", "ModelRouterControls=V1Preview")];
    let first: Value = post_with(&gw, &ask("model-router"), &controls)
        .await
        .json()
        .await
        .unwrap();
    let second = post_with(&gw, &ask("model-router"), &controls).await;
    assert_eq!(second.status(), 200);
    assert_eq!(
        number(&second, "x-ratelimit-limit-requests"),
        60,
        "a router without limits reports the serving deployment's"
    );
    let second: Value = second.json().await.unwrap();
    assert_ne!(
        first["model"], second["model"],
        "the same prompt routes to the same first choice, which is now out of quota"
    );
    let attempts =
        &second["model_selection_details"]["model_router_details"]["routing_trace"][0]["attempts"];
    assert_eq!(attempts[0]["result"]["status"], 429, "{attempts}");
    assert_eq!(attempts[1]["result"]["status"], 200, "{attempts}");
    let err = error_of(post(&gw, &ask("model-router")).await, 429).await;
    assert_eq!(err["type"], "requests");
    gw.shutdown().await;
}

#[tokio::test]
async fn one_round_trip_charges_the_router_pool_and_the_deployment_it_admits() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"alpha\"\nupstream = \"emu\"\nrpm = 60\n\
         [[deployments]]\nname = \"beta\"\nupstream = \"emu\"\nrpm = 60\n\
         [[routers]]\nname = \"model-router\"\nmodels = [\"alpha\", \"beta\"]\nrpm = 600\n",
    ))
    .await;
    let controls = [("Foundry-Features", "ModelRouterControls=V1Preview")];
    let first = post_with(&gw, &ask("model-router"), &controls).await;
    assert_eq!(
        number(&first, "x-ratelimit-limit-requests"),
        600,
        "the router's own pool is reported"
    );
    let first: Value = first.json().await.unwrap();
    let second = post_with(&gw, &ask("model-router"), &controls).await;
    assert_eq!(second.status(), 200);
    assert_eq!(number(&second, "x-ratelimit-remaining-requests"), 8);
    let second: Value = second.json().await.unwrap();
    let attempts =
        &second["model_selection_details"]["model_router_details"]["routing_trace"][0]["attempts"];
    assert_eq!(attempts[0]["result"]["status"], 429, "{attempts}");
    // The deployment admitted second was charged once (a second charge would double its wait).
    let served = second["model"].as_str().unwrap();
    assert_ne!(first["model"], served);
    let direct = post(&gw, &ask(served)).await;
    assert!(number(&direct, "retry-after-ms") <= 1000);
    // Both deployments out of quota: the router refuses, naming one of them, not itself.
    let err = error_of(post(&gw, &ask("model-router")).await, 429).await;
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("deployment alpha") || message.contains("deployment beta"),
        "{message}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn streamed_requests_are_limited_too() {
    let redis = RedisServer::start();
    let gw = start(&config(
        &redis.url(),
        "[[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 60\ntpm = 100000\n",
    ))
    .await;
    let body = json!({"model": "small", "input": "Say hi.", "stream": true});
    let ok = post(&gw, &body).await;
    for h in HEADERS {
        assert!(ok.headers().contains_key(h), "{h} on a stream");
    }
    let events = sse(ok).await;
    assert!(events.iter().any(|(e, _)| e == "response.completed"));
    let refused = post(&gw, &body).await;
    assert!(refused.headers().contains_key("retry-after-ms"));
    let err = error_of(refused, 429).await;
    assert_eq!(err["code"], "429");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_redis_outage_fails_open_within_bounded_time() {
    let down = routewise_testkit::redis::DeadRedis::new();
    let url = down.url();
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[limits]\nredis_url = \"{url}\"\n\
         [[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 1\n"
    ))
    .await;
    let started = Instant::now();
    for i in 0..5 {
        let resp = post(&gw, &ask("small")).await;
        assert_eq!(resp.status(), 200, "request {i} is served unchecked");
        assert!(!resp.headers().contains_key("x-ratelimit-limit-requests"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded waits: {:?}",
        started.elapsed()
    );
    gw.shutdown().await;
}

#[test]
fn limits_are_checked_at_start_up() {
    let load = |toml: &str| {
        Config::from_toml_str_with_env(toml, "t.toml", &|var| {
            (var == "LIMITS_URL").then(|| "redis://:hunter2@127.0.0.1:6379/0".to_owned())
        })
    };
    let dep = |extra: &str| {
        format!(
            "[[deployments]]\nname = \"small\"\nupstream = {{ kind = \"emulator\" }}\n{extra}\n"
        )
    };
    // Without any Redis, a limit is refused and the message names the deployment.
    let err = load(&dep("rpm = 10")).unwrap_err();
    assert!(err.is_invalid());
    assert_eq!(err.key_path, "deployments[0].rpm");
    assert!(
        err.message.contains("\"small\"") && err.message.contains("Redis"),
        "{err}"
    );
    let err = load(&format!(
        "{}[[routers]]\nname = \"model-router\"\ntpm = 5000\n",
        dep("")
    ))
    .unwrap_err();
    assert_eq!(err.key_path, "routers[0].tpm");
    assert!(err.message.contains("\"model-router\""), "{err}");
    // Values: positive integers, each error naming its key.
    for (bad, key) in [
        ("rpm = 0", "deployments[0].rpm"),
        ("tpm = 0", "deployments[0].tpm"),
        ("rpm = -5", "deployments[0].rpm"),
        ("tpm = 1.5", "deployments[0].tpm"),
        ("rpm = \"ten\"", "deployments[0].rpm"),
        ("rpm = 5000000000", "deployments[0].rpm"),
    ] {
        let err = load(&format!(
            "[store]\nredis_url = \"redis://127.0.0.1\"\n{}",
            dep(bad)
        ))
        .expect_err(bad);
        assert!(err.to_string().contains(key), "{bad}: {err}");
    }
    // [limits] is enough on its own, takes its URL from the environment, and never prints it.
    let cfg = load(&format!(
        "[limits]\nredis_url_env = \"LIMITS_URL\"\nkey_prefix = \"rw:\"\n{}",
        dep("rpm = 10\ntpm = 20000")
    ))
    .unwrap();
    assert_eq!(cfg.deployments[0].limits.rpm, Some(10));
    assert_eq!(cfg.deployments[0].limits.tpm, Some(20_000));
    assert_eq!(cfg.limits.as_ref().unwrap().key_prefix, "rw:");
    assert!(
        cfg.store.is_none(),
        "limits do not turn on stored responses"
    );
    assert!(!format!("{cfg:?}").contains("hunter2"));
    assert!(!format!("{:?}", LimitsSettings::new("redis://:pw@h")).contains("pw@"));
    for (bad, key) in [
        ("[limits]\nredis_url = \"http://x\"", "limits.redis_url"),
        (
            "[limits]\nredis_url_env = \"UNSET_VAR\"",
            "limits.redis_url_env",
        ),
        ("[limits]", "limits"),
        (
            "[limits]\nredis_url = \"redis://a\"\nttl_secs = 5",
            "limits",
        ),
    ] {
        let err = load(&format!("{bad}\n{}", dep(""))).expect_err(bad);
        assert!(err.to_string().contains(key), "{bad}: {err}");
    }
}

#[test]
fn a_config_whose_redis_was_removed_does_not_build() {
    let mut cfg = Config::from_toml_str(
        "[store]\nredis_url = \"redis://127.0.0.1\"\n\
         [[deployments]]\nname = \"small\"\nupstream = { kind = \"emulator\" }\nrpm = 5\n",
        "t.toml",
    )
    .unwrap();
    cfg.store = None;
    let err = Gateway::from_config(cfg).unwrap_err();
    assert!(err.is_limits(), "{err}");
}

#[tokio::test]
async fn a_silent_redis_costs_one_bounded_wait_and_one_warning_without_the_url() {
    // The kernel completes connections to a listener that never accepts: Redis that hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (captured, _guard) = crate::common::logs::capture_text(tracing::Level::WARN);
    // The password comes from the environment, where secrets belong (the file refuses one).
    let url = format!("redis://:hunter2@127.0.0.1:{port}/0");
    let env = move |var: &str| (var == "LIMITS_URL").then(|| url.clone());
    let gw = crate::common::start_with_env(
        &format!(
            "{FAST_EMULATOR}\n[limits]\nredis_url_env = \"LIMITS_URL\"\n\
             [[deployments]]\nname = \"small\"\nupstream = \"emu\"\nrpm = 1\n"
        ),
        &env,
    )
    .await;
    let started = Instant::now();
    for i in 0..5 {
        let resp = post(&gw, &ask("small")).await;
        assert_eq!(resp.status(), 200, "request {i} is served unchecked");
    }
    let took = started.elapsed();
    // One wait of 250 ms (Redis was asked), then Redis is not asked for a second.
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(900),
        "{took:?}"
    );
    gw.shutdown().await;
    let logs = captured.text();
    assert_eq!(
        logs.matches("rate limits are not enforced").count(),
        1,
        "one warning, not one per request: {logs}"
    );
    assert!(
        !logs.contains("hunter2") && !logs.contains("redis://"),
        "{logs}"
    );
    drop(silent);
}
