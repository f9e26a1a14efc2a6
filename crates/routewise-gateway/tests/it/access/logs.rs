//! The access log names the principal of every request (never a key), and no log line carries
//! a key.

use serde_json::json;

use super::{call, key, principal, start};
use crate::common::FAST_EMULATOR;
use crate::common::logs::capture_json;

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn access_events_name_the_principal_and_no_line_holds_a_key() {
    let (capture, _guard) = capture_json();
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[access]\napi_keys_env = [\"LEGACY_KEYS\"]\n{}{}{}\n[[deployments]]\nname = \"small\"\nupstream = \"emu\"\n",
        principal("alice", "user", "deployments = [\"small\"]"),
        principal("reader", "reader", ""),
        principal("monitor", "monitor", ""),
    ))
    .await;
    let ask = json!({"model": "small", "input": "x"});
    let stream = json!({"model": "small", "input": "x", "stream": true});
    let cases = [
        (
            "POST",
            "/responses",
            Some(key("alice")),
            Some(&ask),
            200,
            Some("alice"),
        ),
        (
            "POST",
            "/responses",
            Some(key("alice")),
            Some(&stream),
            200,
            Some("alice"),
        ),
        (
            "POST",
            "/responses",
            Some(key("reader")),
            Some(&ask),
            403,
            Some("reader"),
        ),
        (
            "GET",
            "/metrics",
            Some(key("monitor")),
            None,
            200,
            Some("monitor"),
        ),
        (
            "GET",
            "/metrics",
            Some(key("alice")),
            None,
            403,
            Some("alice"),
        ),
        (
            "GET",
            "/models",
            Some("legacy-key-1".into()),
            None,
            200,
            Some("api_keys_env"),
        ),
        (
            "POST",
            "/responses",
            Some("not-a-key".into()),
            Some(&ask),
            401,
            None,
        ),
    ];
    for (method, path, k, body, status, who) in cases {
        let resp = call(&gw, method, path, k.as_deref(), body).await;
        assert_eq!(resp.status().as_u16(), status, "{method} {path} {who:?}");
        let id = request_id(&resp);
        let _ = resp.bytes().await;
        let ev = capture.event_for(&id).await;
        assert_eq!(ev["http.response.status_code"], status, "{ev}");
        match who {
            Some(name) => assert_eq!(ev["routewise.principal"], name, "{ev}"),
            None => assert!(ev.get("routewise.principal").is_none(), "{ev}"),
        }
        if status == 403 {
            assert_eq!(ev["error.type"], "PermissionDenied", "{ev}");
        }
    }
    gw.shutdown().await;
    let text = capture.text();
    for secret in [
        "alice-key",
        "reader-key",
        "monitor-key",
        "legacy-key",
        "not-a-key",
    ] {
        assert!(!text.contains(secret), "{secret} in the logs:\n{text}");
    }
}
