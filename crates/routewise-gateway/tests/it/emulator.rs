//! The embedded pool and emulated deployments over real HTTP: served models, deterministic
//! answers, prompt-cache accounting, stream shape, models and health routes.

use crate::common::{
    FAST_EMULATOR, bind, client, get_json, output_text, post, sse, start, streamed_text,
};
use routewise_gateway::Config;
use serde_json::{Value, json};

const SEED_DEPLOYMENTS: [&str; 6] = [
    "gpt-4.1-nano",
    "gpt-4.1-mini",
    "gpt-5-mini",
    "gpt-5.2",
    "grok-4-fast-reasoning",
    "Deepseek-V3.2",
];

fn one_fast() -> String {
    format!("{FAST_EMULATOR}\n[[deployments]]\nname = \"gpt-5-mini\"\nupstream = \"emu\"\n")
}

#[tokio::test]
async fn the_default_pool_routes_model_router_and_reports_the_served_model() {
    let cfg = Config::default_pool().scale_emulator_latency(0.0);
    let gw = bind(cfg).await;
    let prompt = "Explain retrieval-augmented generation in one sentence.";
    let body: Value = post(&gw, &json!({"model": "model-router", "input": prompt}))
        .await
        .json()
        .await
        .unwrap();
    let served = body["model"].as_str().unwrap().to_owned();
    assert!(SEED_DEPLOYMENTS.contains(&served.as_str()), "{served}");
    let text = output_text(&body);
    assert!(text.starts_with(&format!("[emulated {served}] ")), "{text}");
    assert!(
        text.to_lowercase().contains("retrieval-augmented"),
        "{text}"
    );
    for name in SEED_DEPLOYMENTS {
        let body: Value = post(&gw, &json!({"model": name, "input": prompt}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(body["model"], name);
        assert_eq!(body["status"], "completed");
    }
    gw.shutdown().await;
}

#[tokio::test]
async fn answers_are_deterministic_per_prompt_and_deployment() {
    let gw = start(&one_fast()).await;
    let ask = |input: &'static str| {
        let gw = &gw;
        async move {
            let body: Value = post(gw, &json!({"model": "gpt-5-mini", "input": input}))
                .await
                .json()
                .await
                .unwrap();
            output_text(&body)
        }
    };
    let a = ask("What is the capital of France?").await;
    assert_eq!(a, ask("What is the capital of France?").await);
    assert_ne!(a, ask("How do vaccines train the immune system?").await);
    assert!(a.contains("capital") || a.contains("france"), "{a}");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_repeated_2000_token_prompt_reports_cached_tokens_in_128_steps() {
    let gw = start(&one_fast()).await;
    // "word" is one token by the emulator's estimator, so this prompt is 2,000 tokens + 3 framing.
    let prompt = "word ".repeat(2000);
    let usage = |body: &Value| body["usage"].clone();
    let first: Value = post(&gw, &json!({"model": "gpt-5-mini", "input": prompt}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage(&first)["input_tokens"], 2003);
    assert_eq!(usage(&first)["input_tokens_details"]["cached_tokens"], 0);
    let second: Value = post(&gw, &json!({"model": "gpt-5-mini", "input": prompt}))
        .await
        .json()
        .await
        .unwrap();
    let cached = usage(&second)["input_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap();
    assert_eq!(cached, 1024 + 7 * 128);
    // A different first token breaks the prefix; a short prompt never caches.
    let third: Value = post(
        &gw,
        &json!({"model": "gpt-5-mini", "input": format!("Hello {prompt}")}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(usage(&third)["input_tokens_details"]["cached_tokens"], 0);
    let short = "word ".repeat(500);
    post(&gw, &json!({"model": "gpt-5-mini", "input": short})).await;
    let again: Value = post(&gw, &json!({"model": "gpt-5-mini", "input": short}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage(&again)["input_tokens_details"]["cached_tokens"], 0);
    // A structured-output schema belongs to the prefix: adding one is a miss.
    let schema =
        json!({"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}});
    let with_schema: Value = post(
        &gw,
        &json!({"model": "gpt-5-mini", "input": prompt, "text": schema}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        usage(&with_schema)["input_tokens_details"]["cached_tokens"],
        0
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn streams_have_the_standard_sequence_and_match_the_plain_answer() {
    let gw = start(&one_fast()).await;
    let input = "Summarize the water cycle.";
    let plain: Value = post(&gw, &json!({"model": "gpt-5-mini", "input": input}))
        .await
        .json()
        .await
        .unwrap();
    let events = sse(post(
        &gw,
        &json!({"model": "gpt-5-mini", "input": input, "stream": true}),
    )
    .await)
    .await;
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(kinds[0], "response.created");
    assert_eq!(kinds[1], "response.in_progress");
    assert_eq!(*kinds.last().unwrap(), "response.completed");
    for (i, (event, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], event.as_str());
        assert_eq!(data["sequence_number"], i as u64);
    }
    assert_eq!(streamed_text(&events), output_text(&plain));
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(
        completed["usage"]["output_tokens"],
        plain["usage"]["output_tokens"]
    );
    assert_eq!(completed["model"], "gpt-5-mini");
    gw.shutdown().await;
}

#[tokio::test]
async fn project_and_v1_routes_models_and_probes() {
    let gw = start(&one_fast()).await;
    let c = client();
    let base = gw.endpoint();
    for path in [
        "/api/projects/my-proj/openai/v1/responses",
        "/v1/responses",
        "/openai/v1/responses?api-version=v1",
    ] {
        let resp = c
            .post(format!("{base}{path}"))
            .json(&json!({"model": "gpt-5-mini", "input": "hi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    for path in [
        "/openai/v1/models",
        "/v1/models",
        "/api/projects/p/openai/v1/models",
    ] {
        let list = get_json(format!("{base}{path}")).await;
        let ids: Vec<&str> = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["model-router", "gpt-5-mini"], "{path}");
        let one = get_json(format!("{base}{path}/model-router")).await;
        assert_eq!(one["kind"], "router", "{path}");
        let missing = c.get(format!("{base}{path}/nope")).send().await.unwrap();
        let err = crate::common::error_of(missing, 404).await;
        assert_eq!(err["code"], "DeploymentNotFound");
        let garbled = c.get(format!("{base}{path}/%ff%fe")).send().await.unwrap();
        crate::common::error_of(garbled, 400).await;
    }
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn a_forced_tool_call_is_a_function_call_and_its_output_gets_text() {
    // gpt-5-mini is a reasoning model: the call follows its reasoning item.
    let gw = start(&one_fast()).await;
    let tools = json!([{
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    }]);
    let ask = json!({"model": "gpt-5-mini", "input": "Weather in Paris?", "tools": tools, "tool_choice": "required"});
    let body: Value = post(&gw, &ask).await.json().await.unwrap();
    let call = body["output"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(call["type"], "function_call", "{body}");
    assert_eq!(call["name"], "get_weather");
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert!(args["city"].is_string(), "{args}");

    // Streamed: the arguments arrive as deltas that add up to the done event's.
    let mut streamed = ask.clone();
    streamed["stream"] = json!(true);
    let events = sse(post(&gw, &streamed).await).await;
    let deltas: String = events
        .iter()
        .filter(|(t, _)| t == "response.function_call_arguments.delta")
        .map(|(_, e)| e["delta"].as_str().unwrap().to_owned())
        .collect();
    let done = events
        .iter()
        .find(|(t, _)| t == "response.function_call_arguments.done")
        .expect("arguments done");
    assert_eq!(deltas, done.1["arguments"].as_str().unwrap());
    assert!(
        !events
            .iter()
            .any(|(t, _)| t == "response.output_text.delta")
    );
    let last = &events.last().unwrap().1["response"]["output"];
    assert_eq!(
        last.as_array().unwrap().last().unwrap()["type"],
        "function_call"
    );

    // The function's output goes back: the loop ends in text.
    let follow = json!({"model": "gpt-5-mini", "tools": tools, "tool_choice": "required", "input": [
        {"role": "user", "content": "Weather in Paris?"},
        call,
        {"type": "function_call_output", "call_id": call["call_id"], "output": "{\"temp\": 21}"}
    ]});
    let body: Value = post(&gw, &follow).await.json().await.unwrap();
    assert!(
        output_text(&body).starts_with("[emulated gpt-5-mini] "),
        "{body}"
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn reasoning_items_carry_encrypted_content_when_included() {
    let gw = start(&one_fast()).await;
    let reasoning = |body: &Value| {
        body["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == "reasoning")
            .cloned()
            .unwrap()
    };
    let ask = json!({"model": "gpt-5-mini", "input": "hi", "store": false,
                     "include": ["reasoning.encrypted_content"]});
    let body: Value = post(&gw, &ask).await.json().await.unwrap();
    assert!(reasoning(&body)["encrypted_content"].is_string(), "{body}");
    let plain: Value = post(&gw, &json!({"model": "gpt-5-mini", "input": "hi"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(reasoning(&plain).get("encrypted_content").is_none());
    gw.shutdown().await;
}

#[tokio::test]
async fn an_input_over_the_context_window_is_refused_as_foundry_does() {
    // The default pool's profiles: Deepseek-V3.2 holds 128k tokens, gpt-4.1-nano about 1M.
    let gw = bind(Config::default_pool()).await;
    let long = "word ".repeat(200_000);
    let err = crate::common::error_of(
        post(&gw, &json!({"model": "Deepseek-V3.2", "input": long})).await,
        400,
    )
    .await;
    assert_eq!(err["code"], "context_length_exceeded", "{err}");
    assert_eq!(err["param"], "input");
    let fits = post(&gw, &json!({"model": "gpt-4.1-nano", "input": long})).await;
    assert_eq!(fits.status(), 200);
    gw.shutdown().await;
}
