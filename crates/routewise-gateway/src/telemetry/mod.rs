//! Per-request observability: one structured access event per request (target
//! [`ACCESS_TARGET`], OpenTelemetry `gen_ai.*` field names where they exist), Prometheus
//! metrics on `GET /metrics`, and the logging set-up of `routewise serve`.
//!
//! # Access events
//!
//! Emitted at INFO when the answer is complete: for a stream, when its last event was sent,
//! the client went away, or it failed in-band. Fields (absent when unknown):
//!
//! | field | meaning |
//! |---|---|
//! | `routewise.request_id` | the `x-request-id` / `apim-request-id` sent back |
//! | `routewise.principal` | the caller's principal name (never its key); absent with access control off or before a key was accepted |
//! | `http.request.method`, `routewise.route` | method and operation (`responses.create`, `responses.retrieve`, `responses.cancel`, `models`, ...; `responses.background` for the run of a background response, logged apart from its submission) |
//! | `http.response.status_code`, `error.type` | status sent, and the error code of an error answer or in-band failure |
//! | `routewise.outcome` | `completed`, `incomplete`, `failed`, `error`, `stream_error`, `client_disconnected`, `cancelled` |
//! | `gen_ai.request.model` | `model` as sent (a deployment or router name) |
//! | `gen_ai.response.model`, `gen_ai.response.id` | the model that answered (`response.model`), the response id |
//! | `routewise.deployment`, `routewise.router`, `routewise.router.mode` | the deployment that served; the router and its mode when routed |
//! | `routewise.stream` | whether the answer was streamed |
//! | `routewise.latency_ms`, `routewise.ttfb_ms`, `routewise.ttft_ms` | to the end of the answer; streams: to its first bytes and its first content delta |
//! | `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens`, `routewise.usage.reasoning_tokens` | from the answer's `usage` |
//! | `routewise.attempts` | upstream attempts sent (failover included) |
//! | `routewise.rate_limit` | `none`, `admitted`, `refused`, `unchecked` (Redis down, served) |
//!
//! Never logged: prompts, outputs, headers, keys, URLs. `/healthz`, `/readyz` and `/metrics`
//! requests are logged at DEBUG.
//!
//! # Metrics
//!
//! `routewise_requests_total{deployment,model,status_class}`,
//! `routewise_tokens_total{deployment,model,kind}`,
//! `routewise_upstream_attempts_total{deployment,outcome}`,
//! `routewise_rate_limited_total{deployment}`, and the histograms
//! `routewise_request_duration_seconds{deployment}` and
//! `routewise_time_to_first_token_seconds{deployment}` (streams), and the gauge
//! `routewise_background_running` (background responses this process runs) and the gauge
//! `routewise_background_stream_followers` (streams following them here, capped by
//! `max_stream_followers`), and the gauges `routewise_connections_open` and
//! `routewise_connections_max` (`max_connections`). `/metrics` needs the role `monitor` or `admin` when access control
//! is on. A background
//! request is counted once, by its run. `deployment` is the
//! deployment or router named in `model` (`unknown` when none was resolved), `model` the
//! model that served it (`none` for a router request no deployment served).

mod access;
mod exposition;
mod histogram;
mod layer;
mod log;
mod metrics;
mod usage;

pub use access::ACCESS_TARGET;
pub use log::{DEFAULT_FILTER, JsonLines, LogFormat, init_logging};

pub(crate) use access::{Access, Arrival, ErrorCode, Logged, Outcome, RateLimitOutcome, Route};
pub(crate) use exposition::CONTENT_TYPE;
pub(crate) use layer::AccessLogLayer;
pub(crate) use metrics::{AttemptOutcome, Metrics};
pub(crate) use usage::Seen;
