//! The built-in simulated deployment, in the spirit of Azurite.
//!
//! An emulated deployment answers any Responses request offline:
//! - **Deterministic text**: the same prompt to the same deployment gives the same answer,
//!   starting `[emulated <model>] ` and reusing the prompt's key terms ([`answer`]).
//! - **Real usage estimates** from a word-aware ~4 characters/token estimator ([`tokens`]).
//! - **Prompt caching** with Azure's rule: `cached_tokens` is 0 below 1,024 identical prefix
//!   tokens, then grows in 128-token steps, while the prefix was seen within the TTL ([`cache`]).
//! - **Timing**: time to first token, then `tokens_per_second` for the visible text, on tokio's
//!   clock so tests can pause time. A reasoning model's thinking is part of its time to first
//!   token (its `reasoning_tokens` are reported, not waited for).
//! - **Faults**: an error rate (500), a 429 rate with `retry-after-ms`, in-band stream failures
//!   (`error` then `response.failed` after HTTP 200, before the first delta or after N deltas),
//!   and stalls.
//! - **Structured output**: with `text.format` `json_schema` the answer is JSON that fits the
//!   schema (`$ref`s, `anyOf`, enums and bounds followed); with `json_object`, an object
//!   ([`structured`]).
//! - **Function calls** when `tool_choice` forces one (`required`, a named function,
//!   `allowed_tools` in mode `required`): a `function_call` item with arguments that fit the
//!   function's parameters, streamed as `response.function_call_arguments.*` events. After a
//!   `function_call_output` the answer is text again, so a tool loop ends.
//! - **Reasoning models** report `reasoning_tokens` and a reasoning output item (with an opaque
//!   `encrypted_content` when `include` asks for `reasoning.encrypted_content`).
//! - **Context windows**: an input longer than the deployment profile's `context_window` is
//!   Foundry's 400 `context_length_exceeded`.
//! - **Checks** the service makes beyond the schema (ranges, `metadata` limits, function tool
//!   names, `tool_choice` modes), refused with Foundry's 400 ([`validate`]).

mod answer;
mod cache;
mod events;
mod structured;
pub(crate) mod tokens;
mod validate;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::StatusCode;
use routewise_strategy::AttemptFailure;
use routewise_types::{CreateResponse, Input};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use self::cache::PromptCache;
use self::events::{Answer, Call, EventWriter};
use self::tokens::PromptFingerprint;
use crate::config::EmulatorSettings;
use crate::prompt::PromptParts;
use crate::upstream::{
    EventStream, SseEvent, Upstream, UpstreamReply, UpstreamRequest, status_failure,
};

/// One emulated deployment.
#[derive(Debug, Clone)]
pub(crate) struct Emulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    model: String,
    reasoning: bool,
    settings: EmulatorSettings,
    cache: PromptCache,
    /// Whether anything keeps its responses (the gateway's store); when not, answers say
    /// `store: false` instead of echoing a request's `store: true` that nothing honours.
    stored: bool,
    /// The model's context window in tokens, when its profile says; a longer input is
    /// Foundry's 400 `context_length_exceeded`.
    context_window: Option<u32>,
}

impl Emulator {
    pub(crate) fn new(
        model: impl Into<String>,
        reasoning: bool,
        settings: EmulatorSettings,
    ) -> Self {
        let cache = PromptCache::new(settings.cache_ttl);
        Self {
            inner: Arc::new(Inner {
                model: model.into(),
                reasoning,
                settings,
                cache,
                stored: true,
                context_window: None,
            }),
        }
    }

    /// Sets the context window that inputs must fit (default: none is enforced).
    pub(crate) fn with_context_window(mut self, tokens: Option<u32>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.context_window = tokens;
        }
        self
    }

    /// Says whether the gateway stores this deployment's responses (default: it does).
    pub(crate) fn with_store(mut self, stored: bool) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.stored = stored;
        }
        self
    }
}

impl Upstream for Emulator {
    fn send(&self, req: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, AttemptFailure>> {
        let inner = Arc::clone(&self.inner);
        async move { inner.respond(req).await }.boxed()
    }
}

/// More input than this (items, or bytes of text) is read on the blocking pool.
const LARGE_INPUT: usize = 4096;

fn is_large(req: &CreateResponse) -> bool {
    match &req.input {
        Some(Input::Items(items)) => items.len() > LARGE_INPUT,
        Some(Input::Text(text)) => text.len() > LARGE_INPUT * 64,
        _ => false,
    }
}

impl Inner {
    /// The request as the JSON object an upstream receives, and the answer to it.
    fn read(&self, req: &CreateResponse) -> (Map<String, Value>, Answer) {
        let body = match serde_json::to_value(req) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let answer = self.answer(&body);
        (body, answer)
    }

    async fn respond(
        self: Arc<Self>,
        req: UpstreamRequest,
    ) -> Result<UpstreamReply, AttemptFailure> {
        let s = &self.settings;
        if roll(s.stall_rate) {
            tokio::time::sleep(s.stall).await;
        }
        if roll(s.rate_limit_rate) {
            return Err(self.rate_limited());
        }
        if roll(s.error_rate) {
            return Err(emulated_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The emulated deployment failed (error_rate).",
                None,
            ));
        }
        let stream = req.body.is_stream();
        // A large request is read as JSON on the blocking pool, as a real upstream would read
        // it on its own machine: the round trip must not stall the gateway's worker thread.
        let (body, answer) = if is_large(&req.body) {
            let me = Arc::clone(&self);
            // The request is dropped there too: freeing a million items takes time as well.
            tokio::task::spawn_blocking(move || me.read(&req.body))
                .await
                .map_err(|_| {
                    emulated_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "The emulated deployment failed reading the request.",
                        None,
                    )
                })?
        } else {
            self.read(&req.body)
        };
        if let Err(r) = validate::check(&body) {
            return Err(refused(&r));
        }
        if let Some(window) = self.context_window
            && answer.input_tokens > window
        {
            return Err(refused(&validate::Refusal {
                message: format!(
                    "Your input exceeds the context window of this model ({window} tokens; the \
                     input has about {}). Please adjust your input and try again.",
                    answer.input_tokens
                ),
                param: "input".to_owned(),
                code: "context_length_exceeded",
            }));
        }
        let mut body = body;
        if !self.stored {
            body.insert("store".to_owned(), Value::Bool(false));
        }
        if !stream {
            tokio::time::sleep(
                s.ttft + self.generation_time(answer.output_tokens - answer.reasoning_tokens),
            )
            .await;
            let status = if answer.truncated {
                "incomplete"
            } else {
                "completed"
            };
            let out = serde_json::to_vec(&answer.response(&body, status, None)).unwrap_or_default();
            return Ok(UpstreamReply::Json(Bytes::from(out)));
        }
        let fail = roll(s.stream_failure_rate);
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(self.clone().stream(answer, body, fail, tx));
        let events: EventStream = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|ev| (ev, rx))
        }));
        Ok(UpstreamReply::Stream(events))
    }

    /// Plays the stream in real (or paused) time; stops early if the receiver goes away.
    async fn stream(
        self: Arc<Self>,
        answer: Answer,
        request: Map<String, Value>,
        fail: bool,
        tx: mpsc::Sender<Result<SseEvent, AttemptFailure>>,
    ) {
        let mut w = EventWriter::default();
        let send_all = async |events: Vec<SseEvent>| {
            for ev in events {
                if tx.send(Ok(ev)).await.is_err() {
                    return false;
                }
            }
            true
        };
        if !send_all(w.created(&answer, &request).into()).await {
            return;
        }
        let fail_at = fail.then_some(self.settings.fail_after_deltas as usize);
        if fail_at == Some(0) {
            tokio::time::sleep(self.settings.ttft / 2).await;
            send_all(
                w.failure(
                    &answer,
                    &request,
                    "The emulated stream failed before its first delta.",
                )
                .into(),
            )
            .await;
            return;
        }
        if !send_all(w.opening(&answer)).await {
            return;
        }
        tokio::time::sleep(self.settings.ttft).await;
        for (i, chunk) in chunks(&answer.text).enumerate() {
            if fail_at == Some(i) {
                send_all(
                    w.failure(&answer, &request, "The emulated stream failed mid-answer.")
                        .into(),
                )
                .await;
                return;
            }
            if i > 0 {
                tokio::time::sleep(self.generation_time(tokens::estimate(chunk).max(1))).await;
            }
            if !send_all(vec![w.delta(&answer, chunk)]).await {
                return;
            }
        }
        send_all(w.closing(&answer, &request)).await;
    }

    fn generation_time(&self, tokens: u32) -> Duration {
        let tps = self.settings.tokens_per_second;
        if tps.is_finite() && tps > 0.0 {
            Duration::from_secs_f64(f64::from(tokens) / tps)
        } else {
            Duration::ZERO
        }
    }

    fn answer(&self, body: &Map<String, Value>) -> Answer {
        let parts = PromptParts::from_body(body);
        let mut fp = PromptFingerprint::new(
            body.get("prompt_cache_key")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        if let Some(tools) = parts.tools {
            fp.text(&tools.to_string());
        }
        // A structured-output schema is part of the cached prefix too (the prompt-caching
        // guide lists tools and schemas with the messages).
        if let Some(format) = body.get("text").and_then(|t| t.get("format")) {
            fp.text(&format.to_string());
        }
        if let Some(instructions) = parts.instructions {
            fp.message("system", instructions);
        }
        for (role, text) in &parts.messages {
            fp.message(role, text);
        }
        let cached_tokens = self.cache.lookup_and_store(&fp);
        let mut text = answer::answer(&self.model, parts.last_user());
        let call = structured::forced_call(body).map(|(name, schema)| {
            text = structured::arguments(schema, &text);
            Call {
                call_id: new_id("call"),
                name: name.to_owned(),
            }
        });
        if call.is_none()
            && let Some(json) = structured::answer(body, &text)
        {
            text = json;
        }
        let seed = tokens::fnv1a(tokens::fnv_start(), text.as_bytes());
        let mut reasoning_tokens = if self.reasoning {
            self.reasoning_budget(body, seed)
        } else {
            0
        };
        let mut answer_tokens = tokens::estimate(&text);
        let mut truncated = false;
        if let Some(max) = body
            .get("max_output_tokens")
            .and_then(Value::as_u64)
            .map(|m| u32::try_from(m).unwrap_or(u32::MAX))
            && reasoning_tokens + answer_tokens > max
        {
            truncated = true;
            reasoning_tokens = reasoning_tokens.min(max);
            text = truncate_to_tokens(&text, max - reasoning_tokens);
            answer_tokens = tokens::estimate(&text);
        }
        Answer {
            response_id: new_id("resp"),
            message_id: new_id(if call.is_some() { "fc" } else { "msg" }),
            reasoning_id: self.reasoning.then(|| new_id("rs")),
            model: self.model.clone(),
            created_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            text,
            input_tokens: fp.tokens(),
            cached_tokens,
            output_tokens: answer_tokens + reasoning_tokens,
            reasoning_tokens,
            truncated,
            encrypted_reasoning: body
                .get("include")
                .and_then(Value::as_array)
                .is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content")),
            call,
        }
    }

    /// 64-320 tokens chosen by the answer's hash, scaled by `reasoning.effort`.
    fn reasoning_budget(&self, body: &Map<String, Value>, seed: u64) -> u32 {
        let base = 64 * (1 + (seed % 5) as u32);
        match body
            .get("reasoning")
            .and_then(|r| r.get("effort"))
            .and_then(Value::as_str)
        {
            Some("none" | "minimal") => 0,
            Some("low") => base / 2,
            Some("high" | "xhigh" | "max") => base * 2,
            _ => base,
        }
    }

    fn rate_limited(&self) -> AttemptFailure {
        let secs = self.settings.retry_after.as_secs_f64().ceil().max(1.0);
        let message = format!(
            "Requests to the Responses API have exceeded the emulated rate limit of deployment {}. Please retry after {secs} seconds.",
            self.model
        );
        emulated_error(
            StatusCode::TOO_MANY_REQUESTS,
            "429",
            &message,
            Some(self.settings.retry_after),
        )
    }
}

fn emulated_error(
    status: StatusCode,
    code: &str,
    message: &str,
    retry_after: Option<Duration>,
) -> AttemptFailure {
    let kind = if status.is_server_error() {
        "server_error"
    } else {
        "requests"
    };
    failure(
        status,
        json!({"message": message, "type": kind, "param": null, "code": code}),
        retry_after,
    )
}

/// A 400 as Foundry words it, for a request [`validate::check`] refuses.
fn refused(r: &validate::Refusal) -> AttemptFailure {
    let error = json!({"message": r.message, "type": "invalid_request_error", "param": r.param, "code": r.code});
    failure(StatusCode::BAD_REQUEST, error, None)
}

/// The upstream failure an emulated deployment answers with: `{"error": error}` at `status`.
fn failure(status: StatusCode, error: Value, retry_after: Option<Duration>) -> AttemptFailure {
    let body = json!({ "error": error });
    status_failure(
        status,
        Bytes::from(body.to_string()),
        retry_after,
        &http::HeaderMap::new(),
    )
}

/// True with probability `p`.
fn roll(p: f64) -> bool {
    p > 0.0 && (p >= 1.0 || rand::random::<f64>() < p)
}

fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}_{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// Word-sized deltas, each carrying its leading space, so concatenation gives the text back.
fn chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let start = rest.len() - rest.trim_start().len();
        let end = rest[start..].find(' ').map_or(rest.len(), |i| start + i);
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

fn truncate_to_tokens(text: &str, max: u32) -> String {
    let mut out = String::new();
    for chunk in chunks(text) {
        let candidate = format!("{out}{chunk}");
        if tokens::estimate(&candidate) > max {
            break;
        }
        out = candidate;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn req(mut body: Value, stream: bool) -> UpstreamRequest {
        body["stream"] = json!(stream);
        UpstreamRequest {
            body: Box::new(routewise_types::parse_value(body).unwrap()),
            liveness: crate::upstream::Liveness::default(),
        }
    }

    fn instant() -> EmulatorSettings {
        EmulatorSettings {
            ttft: Duration::from_millis(100),
            tokens_per_second: 50.0,
            ..EmulatorSettings::default()
        }
    }

    #[test]
    fn chunks_rebuild_the_text() {
        let t = "[emulated x] Hello  there, world.";
        assert_eq!(chunks(t).collect::<String>(), t);
        assert_eq!(chunks(t).count(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn non_stream_answer_honours_ttft_and_reports_usage() {
        let emu = Emulator::new("gpt-4.1-nano", false, instant());
        let start = tokio::time::Instant::now();
        let UpstreamReply::Json(body) = emu
            .send(req(
                json!({"model": "gpt-4.1-nano", "input": "Explain RAG briefly."}),
                false,
            ))
            .await
            .unwrap()
        else {
            panic!("expected JSON")
        };
        assert!(start.elapsed() >= Duration::from_millis(100));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["model"], "gpt-4.1-nano");
        assert_eq!(v["status"], "completed");
        let text = v["output"][0]["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("[emulated gpt-4.1-nano] "));
        assert_eq!(v["usage"]["output_tokens"], tokens::estimate(text));
        assert_eq!(
            v["usage"]["input_tokens"],
            tokens::estimate("Explain RAG briefly.") + tokens::MESSAGE_OVERHEAD
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reasoning_is_reported_but_only_visible_text_is_paced() {
        let emu = Emulator::new("gpt-5.2", true, instant());
        let start = tokio::time::Instant::now();
        let UpstreamReply::Json(body) = emu
            .send(req(
                json!({"input": "Explain retrieval-augmented generation."}),
                false,
            ))
            .await
            .unwrap()
        else {
            panic!("expected JSON")
        };
        let v: Value = serde_json::from_slice(&body).unwrap();
        let usage = &v["usage"];
        let reasoning = usage["output_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap();
        let visible = usage["output_tokens"].as_u64().unwrap() - reasoning;
        assert!(reasoning >= 64);
        // 100 ms time to first token, then the visible tokens at 50 tokens/s.
        let expected = Duration::from_millis(100) + Duration::from_secs_f64(visible as f64 / 50.0);
        let elapsed = start.elapsed();
        assert!(
            elapsed >= expected && elapsed < expected + Duration::from_millis(5),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stream_has_the_standard_sequence() {
        let emu = Emulator::new("gpt-5-mini", true, instant());
        let UpstreamReply::Stream(mut s) = emu
            .send(req(json!({"input": "Explain RAG."}), true))
            .await
            .unwrap()
        else {
            panic!()
        };
        let mut types = Vec::new();
        let mut text = String::new();
        let mut seq = 0;
        while let Some(ev) = s.next().await {
            let ev = ev.unwrap();
            let v: Value = serde_json::from_slice(&ev.data).unwrap();
            assert_eq!(v["type"], ev.ty.as_str());
            assert_eq!(v["sequence_number"], seq);
            seq += 1;
            if ev.ty == "response.output_text.delta" {
                text.push_str(v["delta"].as_str().unwrap());
            }
            if ev.ty == "response.completed" {
                assert!(
                    v["response"]["usage"]["output_tokens_details"]["reasoning_tokens"]
                        .as_u64()
                        .unwrap()
                        > 0
                );
                assert_eq!(
                    v["response"]["output"][1]["content"][0]["text"],
                    text.as_str()
                );
            }
            types.push(ev.ty);
        }
        assert_eq!(
            &types[..4],
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.output_item.done"
            ]
        );
        assert_eq!(types.last().unwrap(), "response.completed");
        assert!(text.starts_with("[emulated gpt-5-mini] "));
    }

    #[tokio::test(start_paused = true)]
    async fn faults_are_injected() {
        let emu = Emulator::new(
            "m",
            false,
            EmulatorSettings {
                rate_limit_rate: 1.0,
                retry_after: Duration::from_millis(250),
                ..instant()
            },
        );
        let err = emu
            .send(req(json!({"input": "x"}), false))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(429));
        assert_eq!(err.retry_after(), Some(Duration::from_millis(250)));
        assert!(err.is_deployment_fault());

        let emu = Emulator::new(
            "m",
            false,
            EmulatorSettings {
                stream_failure_rate: 1.0,
                ..instant()
            },
        );
        let UpstreamReply::Stream(s) = emu.send(req(json!({"input": "x"}), true)).await.unwrap()
        else {
            panic!()
        };
        let types: Vec<String> = s.map(|e| e.unwrap().ty).collect().await;
        assert_eq!(
            types,
            [
                "response.created",
                "response.in_progress",
                "error",
                "response.failed"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn max_output_tokens_truncates() {
        let emu = Emulator::new("m", false, instant());
        let UpstreamReply::Json(body) = emu
            .send(req(
                json!({"input": "Explain retrieval-augmented generation.", "max_output_tokens": 16}),
                false,
            ))
            .await
            .unwrap()
        else {
            panic!()
        };
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], "incomplete");
        assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
        assert!(v["usage"]["output_tokens"].as_u64().unwrap() <= 16);
    }
}
