//! The dated Azure OpenAI routes (`/openai/responses?api-version=2025-04-01-preview`, what
//! `AzureOpenAI(azure_endpoint=..., api_version=...)` calls): the same API as `/openai/v1`,
//! behind the same keys.

use serde_json::{Value, json};

use crate::common::{FAST_EMULATOR, client, error_of, get_json, start, start_with_env};

const VERSION: &str = "api-version=2025-04-01-preview";

#[tokio::test]
async fn the_dated_azure_routes_serve_the_same_api() {
    let gw = start(&format!(
        "{FAST_EMULATOR}\n[[deployments]]\nname = \"gpt-5-mini\"\nupstream = \"emu\"\n"
    ))
    .await;
    let base = gw.endpoint();
    let c = client();
    let resp = c
        .post(format!("{base}/openai/responses?{VERSION}"))
        .json(&json!({"model": "gpt-5-mini", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["model"], "gpt-5-mini");

    let list = get_json(format!("{base}/openai/models?{VERSION}")).await;
    assert!(
        list["data"].as_array().is_some_and(|d| !d.is_empty()),
        "{list}"
    );

    // The retrieval route exists (this gateway has no store: the id is unknown, not the route).
    let resp = c
        .get(format!("{base}/openai/responses/resp_1?{VERSION}"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp, 404).await["code"], "response_not_found");
    gw.shutdown().await;
}

#[tokio::test]
async fn the_dated_azure_routes_need_the_same_keys() {
    let toml = format!(
        "{FAST_EMULATOR}\n[access]\napi_keys_env = [\"KEYS\"]\n\n\
         [[deployments]]\nname = \"gpt-5-mini\"\nupstream = \"emu\"\n"
    );
    let gw = start_with_env(&toml, &|v| (v == "KEYS").then(|| "right-key".to_owned())).await;
    let url = format!("{}/openai/responses?{VERSION}", gw.endpoint());
    let body = json!({"model": "gpt-5-mini", "input": "hi"});
    let resp = client().post(&url).json(&body).send().await.unwrap();
    error_of(resp, 401).await;
    let resp = client()
        .post(&url)
        .header("api-key", "right-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    gw.shutdown().await;
}
