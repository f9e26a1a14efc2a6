//! The access record: one per request, emitted once as a `routewise::access` event when the
//! answer is complete (a stream's last event, a client gone mid-stream, an error answer) and
//! counted in the metrics at the same moment.
//!
//! The record is a drop guard: whoever holds it last (the `create` handler for a JSON or
//! error answer, the stream body for a stream) emits it by dropping it, so a cancelled
//! handler or a client that disconnects still yields exactly one event.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method};
use routewise_strategy::RoutingMode;

use super::metrics::{Metrics, RequestSample};
use super::usage::Seen;
use crate::access::Principal;

/// The `tracing` target of access events: `RUST_LOG=routewise::access=info` shows them.
pub const ACCESS_TARGET: &str = "routewise::access";

/// When the request reached the gateway: a request extension set by the access-log layer so
/// latency counts from the same instant whoever emits the record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival(pub Instant);

/// Marks a response whose handler emits its own access record (the layer stays quiet).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Logged;

/// The error code of an error answer, for the access-log layer (set by `GatewayError`).
#[derive(Debug, Clone)]
pub(crate) struct ErrorCode(pub Cow<'static, str>);

/// Which operation a request was: the `routewise.route` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Create,
    /// The run of a background response, after its submission was answered.
    Background,
    Cancel,
    Retrieve,
    Delete,
    InputItems,
    Models,
    Health,
    Ready,
    Metrics,
    Other,
}

impl Route {
    /// Classifies by method and path (mirrors the router's routes, without capturing).
    pub(crate) fn of(method: &Method, path: &str) -> Self {
        let path = path.strip_suffix('/').unwrap_or(path);
        match path {
            "/healthz" => return Self::Health,
            "/readyz" => return Self::Ready,
            "/metrics" => return Self::Metrics,
            _ => {}
        }
        if path.ends_with("/responses") && method == Method::POST {
            Self::Create
        } else if path.contains("/responses/") && path.ends_with("/cancel") {
            Self::Cancel
        } else if path.ends_with("/input_items") {
            Self::InputItems
        } else if path.contains("/responses/") {
            if method == Method::DELETE {
                Self::Delete
            } else {
                Self::Retrieve
            }
        } else if path.ends_with("/models") {
            Self::Models
        } else {
            Self::Other
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Create => "responses.create",
            Self::Background => "responses.background",
            Self::Cancel => "responses.cancel",
            Self::Retrieve => "responses.retrieve",
            Self::Delete => "responses.delete",
            Self::InputItems => "responses.input_items",
            Self::Models => "models",
            Self::Health => "healthz",
            Self::Ready => "readyz",
            Self::Metrics => "metrics",
            Self::Other => "other",
        }
    }

    /// Probes and scrapes come every few seconds: logged at DEBUG, not INFO.
    fn is_chatter(self) -> bool {
        matches!(self, Self::Health | Self::Ready | Self::Metrics)
    }
}

/// What the gateway's rate limits did with the request: `routewise.rate_limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum RateLimitOutcome {
    /// Nothing it touched has a limit (or no limiter is configured).
    #[default]
    NotLimited,
    /// Checked and charged.
    Admitted,
    /// Refused: a 429, or a 400 for a request larger than a whole token bucket.
    Refused,
    /// Redis could not be asked: served unchecked (fail open).
    Unchecked,
}

impl RateLimitOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::NotLimited => "none",
            Self::Admitted => "admitted",
            Self::Refused => "refused",
            Self::Unchecked => "unchecked",
        }
    }
}

/// How the answer ended: `routewise.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The response completed.
    Completed,
    /// `status: incomplete` (max tokens, content filter on output).
    Incomplete,
    /// `status: failed`, or a stream that ended with an `error` event from the upstream.
    Failed,
    /// An error answer (4xx/5xx status).
    Error,
    /// The gateway ended a stream with its own `error` event (upstream cut, idle, or ended
    /// before its final event).
    StreamError,
    /// The client went away before the answer was complete.
    ClientDisconnected,
    /// A background response was cancelled (`POST /responses/{id}/cancel`).
    Cancelled,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Incomplete => "incomplete",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::StreamError => "stream_error",
            Self::ClientDisconnected => "client_disconnected",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One request's access record.
#[derive(Debug)]
pub(crate) struct Access {
    metrics: Arc<Metrics>,
    started: Instant,
    request_id: Option<HeaderValue>,
    method: Method,
    route: Route,
    /// Emit when dropped without [`Access::dismiss`].
    armed: bool,
    /// A background submission: its run's record counts the request in the metrics.
    pub counted_by_run: bool,
    /// The caller's principal (its name is logged, never its key); `None` when access
    /// control is off or the request was refused before a key was accepted.
    pub principal: Option<Arc<Principal>>,
    /// `model` as the client sent it (truncated).
    pub requested: Option<String>,
    /// The resolved deployment or router (metrics target index).
    pub target: Option<usize>,
    /// True when `target` is a router.
    pub routed: bool,
    /// The router's mode, for routed requests.
    pub mode: Option<RoutingMode>,
    /// The deployment that served (metrics deployment index).
    pub deployment: Option<usize>,
    pub stream: bool,
    /// The HTTP status sent; `None` until the answer's head is known.
    pub status: Option<u16>,
    pub error_code: Option<Cow<'static, str>>,
    /// Attempts sent upstream (planned deployments skipped for quota excluded).
    pub attempts: u32,
    pub rate_limit: RateLimitOutcome,
    /// What the answer itself said (id, model, status, usage, error code).
    pub seen: Seen,
    /// Streams: time to the first bytes of the body and to the first content delta.
    pub first_byte: Option<Duration>,
    pub first_token: Option<Duration>,
    pub outcome: Option<Outcome>,
}

/// Longest requested model name kept in the log.
const MAX_REQUESTED: usize = 128;

impl Access {
    pub(crate) fn new(
        metrics: Arc<Metrics>,
        started: Instant,
        request_id: Option<HeaderValue>,
        method: Method,
        route: Route,
    ) -> Self {
        Self {
            metrics,
            started,
            request_id,
            method,
            route,
            armed: true,
            counted_by_run: false,
            principal: None,
            requested: None,
            target: None,
            routed: false,
            mode: None,
            deployment: None,
            stream: false,
            status: None,
            error_code: None,
            attempts: 0,
            rate_limit: RateLimitOutcome::NotLimited,
            seen: Seen::default(),
            first_byte: None,
            first_token: None,
            outcome: None,
        }
    }

    /// Time since the request arrived.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records the `model` asked for, cut to a loggable length on one line.
    pub(crate) fn set_requested(&mut self, model: &str) {
        self.requested = Some(
            model
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_REQUESTED)
                .collect(),
        );
    }

    /// Makes this the record of another operation (a background run's refusal becomes its
    /// submission's record).
    pub(crate) fn set_route(&mut self, route: Route) {
        self.route = route;
    }

    /// Don't emit on drop: someone else logs this request.
    pub(crate) fn dismiss(&mut self) {
        self.armed = false;
    }

    /// Emits now (once).
    pub(crate) fn emit(&mut self) {
        self.armed = false;
        let latency = self.started.elapsed();
        let status = self.status.unwrap_or(499);
        let outcome = self.outcome.unwrap_or(match self.status {
            None => Outcome::ClientDisconnected,
            Some(s) if s >= 400 => Outcome::Error,
            Some(_) => match self.seen.status.as_deref() {
                Some("incomplete") => Outcome::Incomplete,
                Some("failed") => Outcome::Failed,
                _ => Outcome::Completed,
            },
        });
        let error_code = self
            .error_code
            .as_deref()
            .or(self.seen.error_code.as_deref());
        let m = &self.metrics;
        let counted = match self.route {
            Route::Create => !self.counted_by_run,
            Route::Background => true,
            _ => false,
        };
        if counted {
            m.record(&RequestSample {
                target: self.target.unwrap_or_else(|| m.unknown()),
                deployment: self.deployment,
                status,
                duration: latency,
                ttft: self.first_token.filter(|_| self.stream),
                tokens: self.seen.tokens,
            });
        }
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        let tokens = self.seen.tokens;
        let deployment = self.deployment.map(|d| m.target_name(d));
        let served_model = self
            .seen
            .model
            .as_deref()
            .or_else(|| self.deployment.map(|d| m.deployment_model(d)));
        let router = self
            .target
            .filter(|_| self.routed)
            .map(|t| m.target_name(t));
        macro_rules! access_event {
            ($level:expr) => {
                tracing::event!(
                    target: "routewise::access",
                    $level,
                    routewise.request_id = self.request_id.as_ref().and_then(|v| v.to_str().ok()),
                    routewise.principal = self.principal.as_ref().map(|p| p.name.as_str()),
                    http.request.method = self.method.as_str(),
                    routewise.route = self.route.label(),
                    http.response.status_code = status,
                    "error.type" = error_code,
                    routewise.outcome = outcome.label(),
                    gen_ai.operation.name = matches!(self.route, Route::Create | Route::Background).then_some("chat"),
                    gen_ai.request.model = self.requested.as_deref(),
                    gen_ai.response.model = served_model,
                    gen_ai.response.id = self.seen.response_id.as_deref(),
                    routewise.deployment = deployment,
                    routewise.router = router,
                    routewise.router.mode = self.mode.as_ref().map(|mode| mode.as_str()),
                    routewise.stream = self.stream,
                    routewise.latency_ms = ms(latency),
                    routewise.ttfb_ms = self.first_byte.map(ms),
                    routewise.ttft_ms = self.first_token.map(ms),
                    gen_ai.usage.input_tokens = tokens.map(|t| t.input),
                    gen_ai.usage.output_tokens = tokens.map(|t| t.output),
                    gen_ai.usage.cache_read.input_tokens = tokens.and_then(|t| t.cached),
                    routewise.usage.reasoning_tokens = tokens.and_then(|t| t.reasoning),
                    routewise.attempts = self.attempts,
                    routewise.rate_limit = self.rate_limit.label(),
                    "access"
                )
            };
        }
        if self.route.is_chatter() {
            access_event!(tracing::Level::DEBUG);
        } else {
            access_event!(tracing::Level::INFO);
        }
    }
}

impl Drop for Access {
    fn drop(&mut self) {
        // A panicking handler is answered (and logged) by the layers above it.
        if self.armed && !std::thread::panicking() {
            self.emit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified_by_method_and_path() {
        let cases = [
            (Method::POST, "/openai/v1/responses", Route::Create),
            (
                Method::POST,
                "/api/projects/p/openai/v1/responses/",
                Route::Create,
            ),
            (Method::GET, "/v1/responses/resp_1", Route::Retrieve),
            (Method::DELETE, "/v1/responses/resp_1", Route::Delete),
            (
                Method::GET,
                "/openai/v1/responses/resp_1/input_items",
                Route::InputItems,
            ),
            (Method::GET, "/openai/v1/models", Route::Models),
            (
                Method::POST,
                "/openai/v1/responses/resp_1/cancel",
                Route::Cancel,
            ),
            (Method::GET, "/metrics", Route::Metrics),
            (Method::GET, "/healthz", Route::Health),
            (Method::GET, "/openai/v1/responses", Route::Other),
            (Method::GET, "/nope", Route::Other),
        ];
        for (method, path, want) in cases {
            assert_eq!(Route::of(&method, path), want, "{method} {path}");
        }
    }
}
