//! Content filtering with custom blocklists, as Foundry applies a deployment's content filter
//! around every call: the prompt is checked before any upstream call, the answer on its way
//! out, JSON or streamed.
//!
//! A filter is attached with `content_filter = "<name>"` to a deployment or a router
//! deployment. A routed request is filtered by the router's filter only (Foundry sets the
//! filter on the router deployment and it applies to everything passing through it); a pinned
//! request by its deployment's. Deployments without a filter skip this module entirely.
//!
//! * Prompt hit, JSON request: `400` with Azure's body (`code: content_filter`,
//!   `innererror.content_filter_result.custom_blocklists`).
//! * Prompt hit, stream request: what Azure streams, a `200` with `response.created`,
//!   `response.failed` and a trailing `error` frame (`content_policy_violation`).
//! * Completion hit: `status: "incomplete"`, `incomplete_details.reason: "content_filter"`,
//!   and a `content_filters` entry with `blocked: true` (`completion.rs`, `stream.rs`).
//! * Clean answers carry `content_filters` entries with `blocked: false`.
//!
//! Logs name the filter and the blocklists that matched, never the matched text or the
//! prompt.

mod completion;
mod matcher;
mod prompt;
mod stream;
mod wire;

use std::sync::Arc;

use bytes::Bytes;
use routewise_types::CreateResponse;

pub(crate) use matcher::Matcher;
pub(crate) use wire::prompt_error_body;

use crate::config::ContentFilterConfig;
use crate::dispatch::{Reply, StreamReply};
use crate::error::GatewayError;
use crate::state::{AppState, Target};
use crate::upstream::{EventStream, SseEvent};

/// The prompt check's outcome.
#[derive(Debug)]
pub(crate) enum Screened {
    /// Go on; the answer is filtered by this filter, if any.
    Pass(Option<ContentFilterConfig>),
    /// Blocked: answer this instead (a 400, or Azure's three-frame stream).
    Blocked(Result<Reply, GatewayError>),
}

/// Checks `req` against the target's filter, before any upstream call.
pub(crate) fn screen_prompt(
    state: &AppState,
    target: Target<'_>,
    req: &CreateResponse,
) -> Screened {
    let name = match target {
        Target::Deployment(d) => d.config.content_filter.as_deref(),
        Target::Router(r) => r.config.content_filter.as_deref(),
    };
    let Some(name) = name else {
        return Screened::Pass(None);
    };
    let Some(filter) = state
        .config
        .content_filters
        .iter()
        .find(|f| f.name() == name)
    else {
        // Loading rejects unknown names; a config edited in code afterwards fails closed.
        return Screened::Blocked(Err(GatewayError::Internal {
            message: format!("content filter {name:?} is not defined"),
        }));
    };
    if !filter.scope().checks_prompt() {
        return Screened::Pass(Some(filter.clone()));
    }
    let hits = prompt::hits(filter.matcher(), req);
    if hits.is_empty() {
        return Screened::Pass(Some(filter.clone()));
    }
    let names: Vec<String> = hits
        .iter()
        .map(|&i| filter.matcher().list_name(i).to_owned())
        .collect();
    tracing::info!(
        filter = filter.name(),
        blocklists = ?names,
        source = "prompt",
        "request blocked by a content filter"
    );
    Screened::Blocked(if req.is_stream() {
        let model = req.model.as_deref().unwrap_or_default();
        Ok(Reply::Stream(StreamReply {
            head: wire::prompt_blocked_stream(model, &names),
            rest: None,
            finish: Arc::default(),
            liveness: crate::upstream::Liveness::default(),
        }))
    } else {
        Err(GatewayError::ContentFiltered { blocklists: names })
    })
}

/// A JSON answer checked and annotated; untouched without a filter.
pub(crate) fn completion_json(filter: Option<&ContentFilterConfig>, body: Bytes) -> Bytes {
    match filter {
        Some(f) => completion::json(f, body),
        None => body,
    }
}

/// A stream checked as it flows; untouched without a filter.
pub(crate) fn completion_stream(
    filter: Option<ContentFilterConfig>,
    head: Vec<SseEvent>,
    rest: EventStream,
) -> (Vec<SseEvent>, Option<EventStream>) {
    match filter {
        Some(f) => stream::wrap(stream::Stage::new(f), head, rest),
        None => (head, Some(rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_filter_answers_pass_untouched() {
        let body = Bytes::from_static(br#"{"id": "r",  "output": []}"#);
        let out = completion_json(None, body.clone());
        // The same buffer: nothing parsed, nothing re-encoded.
        assert_eq!(out.as_ptr(), body.as_ptr());
        let head = vec![wire::event("response.created", serde_json::json!({}))];
        let rest: EventStream = Box::pin(futures_util::stream::empty());
        let (head, rest) = completion_stream(None, head, rest);
        assert_eq!(head.len(), 1);
        assert!(rest.is_some());
    }
}
