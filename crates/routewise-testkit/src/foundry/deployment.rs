//! Scripted deployments: pinned models ([`Deployment`]) and `model-router`
//! style deployments ([`Router`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use routewise_types::Response;

use crate::ReceivedRequest;

use super::ErrorReply;

type TextFn = Arc<dyn Fn(&str) -> String + Send + Sync>;
type ChooseFn = Arc<dyn Fn(&ReceivedRequest) -> String + Send + Sync>;
type ResponseFn = Arc<dyn Fn(&ReceivedRequest) -> Response + Send + Sync>;

/// What a deployment answers with.
#[derive(Clone)]
pub(crate) enum Reply {
    /// `Mock answer from {served model}.`
    Default,
    Fixed(String),
    FromPrompt(TextFn),
    FunctionCall {
        name: String,
        arguments: String,
    },
    Custom(ResponseFn),
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("Default"),
            Self::Fixed(t) => f.debug_tuple("Fixed").field(t).finish(),
            Self::FromPrompt(_) => f.write_str("FromPrompt(<fn>)"),
            Self::Custom(_) => f.write_str("Custom(<fn>)"),
            Self::FunctionCall { name, arguments } => f
                .debug_struct("FunctionCall")
                .field("name", name)
                .field("arguments", arguments)
                .finish(),
        }
    }
}

/// A pinned deployment: requests with `"model": <name>` are answered by it.
///
/// By default the served model id equals the deployment name and the answer
/// is `"Mock answer from <served model>."`.
///
/// ```
/// use routewise_testkit::Deployment;
///
/// let d = Deployment::new("gpt-4o")
///     .served_as("gpt-4o-2024-08-06")
///     .reply_with(|prompt| format!("echo: {prompt}"));
/// assert_eq!(d.name(), "gpt-4o");
/// assert_eq!(d.served_model(), "gpt-4o-2024-08-06");
/// ```
#[derive(Debug, Clone)]
pub struct Deployment {
    name: String,
    served: String,
    pub(crate) reply: Reply,
    pub(crate) latency: Option<Duration>,
    pub(crate) failure: Option<ErrorReply>,
}

impl Deployment {
    /// A deployment named `name`, serving a model of the same id.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            served: name.clone(),
            name,
            reply: Reply::Default,
            latency: None,
            failure: None,
        }
    }

    /// Reports `model` in `response.model` instead of the deployment name
    /// (e.g. a dated id like `gpt-4.1-nano-2025-04-14`).
    pub fn served_as(mut self, model: impl Into<String>) -> Self {
        self.served = model.into();
        self
    }

    /// Answers every prompt with `text`.
    pub fn reply(mut self, text: impl Into<String>) -> Self {
        self.reply = Reply::Fixed(text.into());
        self
    }

    /// Answers with a text computed from the prompt (the `input` string or the
    /// last user message).
    pub fn reply_with<F>(mut self, f: F) -> Self
    where
        F: Fn(&str) -> String + Send + Sync + 'static,
    {
        self.reply = Reply::FromPrompt(Arc::new(f));
        self
    }

    /// Answers with one `function_call` output item instead of text.
    pub fn reply_function_call(
        mut self,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.reply = Reply::FunctionCall {
            name: name.into(),
            arguments: arguments.into(),
        };
        self
    }

    /// Answers with a whole typed response built from the request. The mock
    /// still assigns the response id, stores it and streams it on request;
    /// `response.model` is the one `f` sets (or the served model when empty).
    pub fn respond_with<F>(mut self, f: F) -> Self
    where
        F: Fn(&ReceivedRequest) -> Response + Send + Sync + 'static,
    {
        self.reply = Reply::Custom(Arc::new(f));
        self
    }

    /// Delays every answer by `latency` (whole-response delay).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Fails every call to this deployment with `error`.
    pub fn fail_with(mut self, error: ErrorReply) -> Self {
        self.failure = Some(error);
        self
    }

    /// The deployment name (what clients send as `model`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model id reported in `response.model`.
    pub fn served_model(&self) -> &str {
        &self.served
    }

    pub(crate) fn reply_text(&self, prompt: &str) -> String {
        match &self.reply {
            Reply::Default | Reply::FunctionCall { .. } | Reply::Custom(_) => {
                format!("Mock answer from {}.", self.served)
            }
            Reply::Fixed(t) => t.clone(),
            Reply::FromPrompt(f) => f(prompt),
        }
    }
}

/// A `model-router` style deployment: it picks one model of its pool per
/// request and reports the choice in `response.model`.
///
/// The default choice is a stable hash of the prompt text over the pool, so
/// the same prompt always lands on the same model. A pool model that is also
/// registered as a [`Deployment`] answers with that deployment's served id and
/// reply. Models marked [`unavailable`](Router::unavailable) fail over to the
/// next pool member, as the real router does on a retryable error, and the
/// `routing_trace` shows the failed attempts.
///
/// ```
/// use routewise_testkit::Router;
///
/// let r = Router::new("model-router", &["gpt-4.1-nano", "gpt-5-mini"])
///     .choose(|req| {
///         let long = req.input_text().is_some_and(|p| p.len() > 40);
///         if long { "gpt-5-mini" } else { "gpt-4.1-nano" }.to_owned()
///     })
///     .mode("quality");
/// assert_eq!(r.pool(), ["gpt-4.1-nano", "gpt-5-mini"]);
/// ```
#[derive(Clone)]
pub struct Router {
    name: String,
    pool: Vec<String>,
    chooser: Option<ChooseFn>,
    mode: String,
    unavailable: Vec<String>,
    pub(crate) latency: Option<Duration>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("name", &self.name)
            .field("pool", &self.pool)
            .field("custom_chooser", &self.chooser.is_some())
            .field("mode", &self.mode)
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

/// The outcome of one routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routed {
    pub model: String,
    pub failed: Vec<String>,
}

impl Router {
    /// A router deployment `name` choosing among `pool`.
    pub fn new(name: impl Into<String>, pool: &[&str]) -> Self {
        Self {
            name: name.into(),
            pool: pool.iter().map(|m| (*m).to_owned()).collect(),
            chooser: None,
            mode: "balanced".to_owned(),
            unavailable: Vec::new(),
            latency: None,
        }
    }

    /// Replaces the default hash-based choice with `f`, which returns the
    /// model to route to (normally a pool member).
    pub fn choose<F>(mut self, f: F) -> Self
    where
        F: Fn(&ReceivedRequest) -> String + Send + Sync + 'static,
    {
        self.chooser = Some(Arc::new(f));
        self
    }

    /// Sets the routing mode reported in `model_selection_details`
    /// (`balanced` by default).
    pub fn mode(mut self, mode: impl Into<String>) -> Self {
        self.mode = mode.into();
        self
    }

    /// Marks `model` as failing with 404: when chosen, the router fails over
    /// to the next available pool member.
    pub fn unavailable(mut self, model: impl Into<String>) -> Self {
        self.unavailable.push(model.into());
        self
    }

    /// Delays every answer by `latency`.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// The router deployment name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The models this router may choose.
    pub fn pool(&self) -> &[String] {
        &self.pool
    }

    /// The routing mode.
    pub fn routing_mode(&self) -> &str {
        &self.mode
    }

    /// Chooses a model for `request`, applying failover. `None` when the pool
    /// is empty or every candidate is unavailable.
    pub(crate) fn route(&self, request: &ReceivedRequest) -> Option<Routed> {
        let first = match &self.chooser {
            Some(f) => f(request),
            None => {
                let prompt = request.input_text().unwrap_or_default();
                let index = fnv1a(prompt.as_bytes()) % self.pool.len().max(1) as u64;
                self.pool.get(index as usize)?.clone()
            }
        };
        let start = self.pool.iter().position(|m| *m == first);
        let candidates = std::iter::once(first.clone()).chain(
            start
                .into_iter()
                .flat_map(|s| (1..self.pool.len()).map(move |k| (s + k) % self.pool.len()))
                .map(|i| self.pool[i].clone()),
        );
        let mut failed = Vec::new();
        for model in candidates {
            if self.unavailable.contains(&model) {
                failed.push(model);
            } else {
                return Some(Routed { model, failed });
            }
        }
        None
    }
}

/// FNV-1a: a tiny stable hash, so default routing is reproducible across runs
/// and platforms (std's `DefaultHasher` makes no such promise).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    fn req(prompt: &str) -> ReceivedRequest {
        let body = serde_json::json!({"model": "model-router", "input": prompt}).to_string();
        ReceivedRequest::new(
            Method::POST,
            "/openai/v1/responses",
            None,
            HeaderMap::new(),
            body.into_bytes(),
        )
    }

    #[test]
    fn default_choice_is_stable_and_in_pool() {
        let r = Router::new("model-router", &["a", "b", "c"]);
        for p in ["x", "hello", "explain RAG", ""] {
            let first = r.route(&req(p)).unwrap();
            assert!(r.pool().contains(&first.model));
            assert_eq!(r.route(&req(p)).unwrap(), first);
        }
        let spread: std::collections::HashSet<_> = (0..32)
            .map(|i| r.route(&req(&format!("prompt {i}"))).unwrap().model)
            .collect();
        assert_eq!(spread.len(), 3, "hash should spread prompts over the pool");
    }

    #[test]
    fn unavailable_models_fail_over_in_pool_order() {
        let r = Router::new("model-router", &["a", "b", "c"])
            .choose(|_| "b".to_owned())
            .unavailable("b")
            .unavailable("c");
        assert_eq!(
            r.route(&req("p")),
            Some(Routed {
                model: "a".into(),
                failed: vec!["b".into(), "c".into()]
            })
        );
        let all_down = Router::new("r", &["a"]).unavailable("a");
        assert_eq!(all_down.route(&req("p")), None);
        assert_eq!(Router::new("r", &[]).route(&req("p")), None);
    }

    #[test]
    fn deployment_reply_variants() {
        let d = Deployment::new("gpt-5-mini").served_as("gpt-5-mini-2025-08-07");
        assert_eq!(
            d.reply_text("hi"),
            "Mock answer from gpt-5-mini-2025-08-07."
        );
        assert_eq!(d.clone().reply("fixed").reply_text("hi"), "fixed");
        assert_eq!(d.reply_with(|p| p.to_uppercase()).reply_text("hi"), "HI");
    }
}
