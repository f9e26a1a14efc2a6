//! Tracing spans named after the OpenTelemetry gen_ai semantic conventions.
//!
//! One span per call. Only ids, model names, counts and timings are recorded: never headers,
//! bodies, prompts or credentials.

use std::time::Duration;

use tracing::Span;
use tracing::field::Empty;

use crate::endpoint::{Endpoint, EndpointKind};
use crate::error::Error;
use crate::meta::ResponseMeta;
use crate::request::Operation;

/// Opens the span for one call.
pub(crate) fn call_span(
    op: Operation<'_>,
    endpoint: &Endpoint,
    request_model: Option<&str>,
) -> Span {
    let provider = match endpoint.kind() {
        EndpointKind::Project | EndpointKind::AzureResource => "azure.ai.openai",
        EndpointKind::OpenAi => "openai",
        EndpointKind::Custom => "openai_compatible",
    };
    // `chat` is the gen_ai operation for a model call; other operations keep their own name.
    let operation = match op {
        Operation::Create { .. } => "chat",
        other => other.name(),
    };
    tracing::info_span!(
        "gen_ai.call",
        otel.name = op.name(),
        gen_ai.operation.name = operation,
        gen_ai.provider.name = provider,
        gen_ai.request.model = request_model,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        server.address = endpoint.base_url(),
        http.response.status_code = Empty,
        routewise.deployment = Empty,
        routewise.strategy = Empty,
        routewise.attempts = Empty,
        routewise.latency_ms = Empty,
        routewise.request_id = Empty,
        error.type = Empty,
    )
}

/// What a finished call reports onto its span.
#[derive(Debug, Default)]
pub(crate) struct CallRecord<'a> {
    pub(crate) response_model: Option<&'a str>,
    pub(crate) response_id: Option<&'a str>,
    pub(crate) input_tokens: Option<u64>,
    pub(crate) output_tokens: Option<u64>,
    pub(crate) deployment: Option<&'a str>,
    pub(crate) strategy: Option<&'a str>,
    pub(crate) attempts: Option<usize>,
}

/// Records a successful call.
pub(crate) fn record_success(
    span: &Span,
    rec: &CallRecord<'_>,
    meta: &ResponseMeta,
    latency: Duration,
) {
    if let Some(v) = rec.response_model {
        span.record("gen_ai.response.model", v);
    }
    if let Some(v) = rec.response_id {
        span.record("gen_ai.response.id", v);
    }
    if let Some(v) = rec.input_tokens {
        span.record("gen_ai.usage.input_tokens", v);
    }
    if let Some(v) = rec.output_tokens {
        span.record("gen_ai.usage.output_tokens", v);
    }
    if let Some(v) = rec.deployment {
        span.record("routewise.deployment", v);
    }
    if let Some(v) = rec.strategy {
        span.record("routewise.strategy", v);
    }
    if let Some(v) = rec.attempts {
        span.record("routewise.attempts", v as u64);
    }
    record_common(span, meta, latency);
    tracing::debug!(parent: span, latency_ms = latency.as_millis() as u64, "call succeeded");
}

/// Records a failed call.
pub(crate) fn record_failure(span: &Span, err: &Error, latency: Duration) {
    span.record("error.type", tracing::field::debug(err.kind()));
    if let Some(status) = err.status() {
        span.record("http.response.status_code", status.as_u16());
    }
    record_common(span, err.meta(), latency);
    tracing::debug!(parent: span, error = %err, "call failed");
}

fn record_common(span: &Span, meta: &ResponseMeta, latency: Duration) {
    span.record("routewise.latency_ms", latency.as_millis() as u64);
    if let Some(id) = meta.best_request_id() {
        span.record("routewise.request_id", id);
    }
}
