//! Test kit for code that calls the Responses API through Azure AI Foundry:
//! a mock Foundry on [wiremock], a scripted fault server for streams, and
//! fixtures. It depends on `routewise-types` only, so it works for any HTTP
//! client, not just `routewise`.
//!
//! Add it to the `[dev-dependencies]` of your crate and run it from your
//! normal `cargo test` (or `cargo xtask test`) suite; every server binds
//! `127.0.0.1:0`, so tests run in parallel.
//!
//! # What is in the kit
//!
//! | piece | use it for |
//! |---|---|
//! | [`MockFoundry`] | deployments, `model-router` choices, Azure-shape errors, 429s with rate-limit headers, content filtering, streamed and plain answers, request assertions |
//! | [`SseFaultServer`] + [`Script`] | what wiremock cannot do: frames with per-frame delays, connections dropped mid-stream (or mid-frame), stalls after the headers, per-request scripts |
//! | [`fixtures`] | static SSE streams and JSON bodies, [`ResponseFixture`](fixtures::ResponseFixture), [`sse_body`](fixtures::sse_body) |
//! | [`ErrorReply`] | one error answer (status, body, headers), usable by both servers |
//! | [`ReceivedRequest`] | what either server saw: method, path, query, headers, parsed body |
//! | [`RedisServer`] | a throwaway `redis-server` on a free loopback port, for code that keeps state in Redis |
//!
//! # A test against `MockFoundry`
//!
//! Point the client under test at [`MockFoundry::project_endpoint`] (the
//! `https://<res>.services.ai.azure.com/api/projects/<p>` shape),
//! [`MockFoundry::resource_endpoint`] or [`MockFoundry::openai_base_url`].
//! Here a plain HTTP client plays the part of the code under test:
//!
//! ```
//! use routewise_testkit::{Deployment, ErrorReply, MockFoundry};
//! use serde_json::{json, Value};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let foundry = MockFoundry::start().await;
//! foundry
//!     .add_deployment(Deployment::new("gpt-4.1-nano").served_as("gpt-4.1-nano-2025-04-14"))
//!     .router("model-router", &["gpt-4.1-nano"])
//!     .fail_next(1, ErrorReply::service_unavailable());
//!
//! let url = format!("{}/openai/v1/responses", foundry.project_endpoint());
//! let call = || {
//!     reqwest::Client::new()
//!         .post(&url)
//!         .bearer_auth("test-token")
//!         .json(&json!({"model": "model-router", "input": "Explain RAG in one sentence."}))
//!         .send()
//! };
//! assert_eq!(call().await?.status(), 503); // the scripted failure
//! let body: Value = call().await?.json().await?;
//! assert_eq!(body["model"], "gpt-4.1-nano-2025-04-14"); // the router's choice
//!
//! foundry.assert_bearer("test-token").await;
//! assert_eq!(foundry.requests_for_model("model-router").await.len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # A stream that breaks
//!
//! ```no_run
//! use std::time::Duration;
//! use routewise_testkit::{fixtures, Script, SseFaultServer};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let server = SseFaultServer::start_sequence([
//!     // First request: four frames, 50 ms apart, then the connection drops.
//!     Script::from_sse_body(fixtures::HELLO_STREAM)
//!         .frame_delay(Duration::from_millis(50))
//!         .drop_after_frames(4),
//!     // Every later request: HTTP 200 that fails in-band.
//!     Script::in_band_failure(),
//! ])
//! .await?;
//! // ... configure the client with server.openai_base_url() and assert that
//! // it reports a truncated stream, then the failure reason ...
//! assert!(server.wait_for_outcome(0).await.is_dropped());
//! # Ok(())
//! # }
//! ```

mod foundry;
mod received;
pub mod redis;
mod sse_server;

pub mod fixtures;

pub use foundry::{DEFAULT_PROJECT, Deployment, ErrorReply, MockFoundry, Router, SEED_DEPLOYMENTS};
pub use received::ReceivedRequest;
pub use redis::RedisServer;
pub use sse_server::{Script, SseFaultServer, StreamOutcome};
