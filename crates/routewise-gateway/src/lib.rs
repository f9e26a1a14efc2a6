//! A self-hosted, Foundry-compatible Responses endpoint with model-router, failover and an
//! offline emulator: the library behind `routewise serve`.
//!
//! # Embedding
//!
//! Tests, examples and other programs run the gateway in-process:
//!
//! ```no_run
//! use routewise_gateway::{Config, Gateway};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // 1. The embedded pool (model-router over six emulated deployments), on a free port.
//! let running = Gateway::default_pool().bind("127.0.0.1:0".parse()?).await?;
//! // OpenAI clients take `running.base_url()` (http://127.0.0.1:PORT/openai/v1);
//! // Foundry project clients take `running.endpoint()` plus `/api/projects/<any>`.
//! running.shutdown().await; // drains in-flight requests and streams
//!
//! // 2. A config file (or `Config::from_toml_str`), then the same.
//! let gw = Gateway::from_config(Config::from_file("routewise.toml")?)?;
//! let router: axum::Router = gw.router(); // or mount the routes in your own axum app
//! # let _ = router;
//! # Ok(()) }
//! ```
//!
//! # Wire behaviour
//!
//! * Routes: `POST /openai/v1/responses`, `/v1/responses`,
//!   `/api/projects/{project}/openai/v1/responses` and Azure's dated
//!   `/openai/responses?api-version=...`; `GET` the same with `/models`; `GET /healthz`,
//!   `/readyz` (503 while draining).
//! * With a `[store]` (Redis), responses are stored: `GET`/`DELETE .../responses/{id}`,
//!   `GET .../responses/{id}/input_items`, and `previous_response_id` replayed to any deployment.
//! * `background: true` (needs a store): answered at once with a `queued` response under the
//!   gateway's own id, then run by a task through the same pipeline; `GET` shows its state,
//!   `POST .../responses/{id}/cancel` stops it (from any replica), `DELETE` stops it too and
//!   removes it, and a background stream can be resumed with
//!   `GET .../responses/{id}?stream=true&starting_after=N` (events kept in a Redis Stream; at
//!   most `max_stream_followers` followers per replica, then a 429 with `retry-after`). A run
//!   whose replica died is reported `failed` once its lease (`lease_ttl_ms`, refreshed every
//!   `tick_ms`) runs out.
//! * Deployments and router deployments may have `rpm` and `tpm` quotas, shared by every
//!   replica through Redis (one atomic GCRA script per request on Redis's clock): over quota is
//!   a 429 in Azure's shape with `retry-after`, `retry-after-ms` and `x-ratelimit-*` headers
//!   (also sent on every answer of a limited deployment); a request larger than a whole TPM
//!   bucket is a 400; a Redis outage fails open.
//! * Access control (`[access]`): keys of `api_keys_env` have full access; keys of
//!   `[[access.principals]]` belong to a principal with a role (`user`, `reader`, `monitor`,
//!   `admin`, after Foundry's built-in roles), an optional allow-list of deployments and
//!   routers, and optional data zones. A route the role does not allow, a deployment outside
//!   the zones, is a 403 `PermissionDenied` naming the principal and the rule, before any
//!   store, quota or upstream; a name outside the allow-list is the 404 of an unknown one; a
//!   router is restricted to the deployments the principal may use (candidates and failover).
//!   Stored responses belong to the creating principal's tenant: other tenants get the 404 of a
//!   missing id. State the upstream keeps (conversations, item references, stored prompts,
//!   and responses when the gateway has no store) is refused to non-admins. See [`access`].
//! * Data residency: a deployment's `data_zone` (written, or derived from its Azure `region`
//!   when its `sku` keeps requests in the region's zone); routers with `data_zones` or
//!   `regions` route and fail over only inside them; follow-ups inherit the zones their
//!   conversation was served in.
//! * `model` names a deployment (pinned, no failover) or a router such as `model-router`
//!   (the `LocalRouter` with the shipped trained quality estimator and its calibrated bands, or
//!   the heuristic one by config; the subset is the failover set).
//!   `response.model` is the served model.
//! * Failover on connect errors, timeouts, 404/408/429/5xx and in-band stream failures before
//!   the first delta; never after content reached the client.
//! * Content filters (`[[content_filters]]`, custom blocklists of terms and regex patterns) on
//!   deployments and router deployments: a blocked prompt is Azure's 400 `content_filter` (a
//!   stream: `response.created`, `response.failed`, `error`), before any upstream call; a
//!   blocked answer ends `incomplete` with `incomplete_details.reason: "content_filter"`, a
//!   stream stopping before the matched text; filtered answers carry `content_filters`.
//! * With `Foundry-Features: ModelRouterControls=V1Preview`, `routing_config` is honoured
//!   (invalid → 400 before any upstream call) and router responses carry
//!   `model_selection_details`.
//! * Errors are always `{"error": {"message", "type", "param", "code", "status"}}`: 400 for bad
//!   JSON / wrong types (with the parameter path) / missing `model` or `input` / invalid UTF-8,
//!   404 `DeploymentNotFound`, 413 over `max_body_bytes` (at once when `Content-Length` says
//!   so), 415 `unsupported_content_type` for a non-JSON `Content-Type` or any
//!   `Content-Encoding` (a missing `Content-Type` is read as JSON), 401 with access control (403
//!   `PermissionDenied` for a valid key not permitted), 500 if a handler panics (the server
//!   keeps serving).
//! * Every response has `x-request-id` and `apim-request-id`; `x-ms-client-request-id` is
//!   echoed. Accepted sockets get `TCP_NODELAY`; request heads must arrive within
//!   `header_read_timeout`.
//! * Every request yields one `routewise::access` event when its answer is complete (a
//!   stream's end or its client leaving included): request id, principal, status, error code, requested
//!   and served model, deployment, router and mode, latency, time to first token, usage,
//!   attempts and the rate-limit outcome, with OpenTelemetry `gen_ai.*` names (see
//!   [`telemetry`]). `GET /metrics` serves Prometheus counters and histograms, behind the
//!   same access control as the API (roles `monitor` and `admin`).

pub mod access;
mod background;
mod banner;
mod budget;
pub mod cli;
pub mod config;
mod dispatch;
mod emulator;
mod error;
mod filter;
mod finish;
mod limits;
mod prompt;
mod redis_conn;
mod request;
mod server;
mod sse;
mod state;
mod store;
pub mod telemetry;
mod upstream;

pub use banner::banner;
pub use config::{Config, ConfigError};
pub use error::GatewayError;
pub use limits::{BucketStatus, RateLimitKind, RateLimitStatus};
pub use server::layers;
pub use server::{Gateway, RunningGateway};
pub use state::BuildError;
