//! [`MockFoundry`]: a wiremock server that speaks the Responses API on the
//! resource (`/openai/v1/responses`) and project
//! (`/api/projects/{p}/openai/v1/responses`) URL shapes.

mod deployment;
mod error_reply;
mod handler;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

pub use deployment::{Deployment, Router};
pub use error_reply::ErrorReply;

use crate::ReceivedRequest;
use handler::{Handler, Queued, Shared, State, lock};

/// Project name used by [`MockFoundry::project_endpoint`].
pub const DEFAULT_PROJECT: &str = "proj-test";

/// The deployments [`MockFoundry::with_seed_deployments`] registers: four
/// pinned deployments as `(deployment name, served model id)`, all of which
/// are also the `model-router` pool.
pub const SEED_DEPLOYMENTS: [(&str, &str); 4] = [
    ("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"),
    ("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
    ("gpt-5-mini", "gpt-5-mini-2025-08-07"),
    ("gpt-4o", "gpt-4o-2024-08-06"),
];

/// A mock Azure AI Foundry endpoint for the Responses API.
///
/// Start it, script deployments, point a client at
/// [`project_endpoint`](Self::project_endpoint),
/// [`resource_endpoint`](Self::resource_endpoint) or
/// [`openai_base_url`](Self::openai_base_url), then assert on
/// [`received`](Self::received) requests.
///
/// What it answers:
/// * `POST .../openai/v1/responses`: a completed Response (or an SSE stream
///   when the body has `"stream": true`) from the deployment named by
///   `model`; `404 DeploymentNotFound` for an unknown name; `400` for a body
///   that is not JSON or has no `model`; `400` for an `api-version` other
///   than `v1`/`preview`.
/// * `GET/DELETE .../responses/{id}`, `POST .../responses/{id}/cancel`,
///   `GET .../responses/{id}/input_items` for stored responses, paged like the service
///   (`order` newest first by default, `after`, `limit` 1-100; 400 on bad values).
/// * every answer carries `x-request-id`, `apim-request-id` and
///   `x-ms-region`, and echoes `x-ms-client-request-id`; successful answers
///   also carry healthy `x-ratelimit-*` headers, while errors carry exactly
///   the headers their [`ErrorReply`] sets.
///
/// Scripting is done through `&self`, so a started server can be changed
/// between calls. Mocks registered on [`server`](Self::server) take
/// precedence over the built-in behaviour.
///
/// ```no_run
/// use routewise_testkit::{ErrorReply, MockFoundry};
///
/// # async fn demo() {
/// let foundry = MockFoundry::start().await;
/// foundry
///     .deployment("gpt-5-mini")
///     .router("model-router", &["gpt-4.1-nano", "gpt-5-mini"])
///     .fail_next(2, ErrorReply::service_unavailable());
///
/// // ... run the code under test against foundry.project_endpoint() ...
///
/// foundry.assert_bearer("test-token").await;
/// assert_eq!(foundry.requests_for_model("model-router").await.len(), 3);
/// # }
/// ```
pub struct MockFoundry {
    server: MockServer,
    state: Shared,
}

impl fmt::Debug for MockFoundry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockFoundry")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl MockFoundry {
    /// Starts a server on a random local port with no deployments.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state: Shared = Arc::new(Mutex::new(State::default()));
        Mock::given(any())
            .respond_with(Handler {
                state: state.clone(),
            })
            // Lowest priority: user-registered mocks on `server()` win.
            .with_priority(u8::MAX)
            .named("MockFoundry Responses API")
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The underlying wiremock server, to mount extra mocks.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The resource endpoint (`https://<res>.openai.azure.com` shape): the
    /// server root.
    pub fn resource_endpoint(&self) -> String {
        self.server.uri()
    }

    /// The project endpoint `{uri}/api/projects/{DEFAULT_PROJECT}`.
    pub fn project_endpoint(&self) -> String {
        self.project_endpoint_for(DEFAULT_PROJECT)
    }

    /// The project endpoint for any project name.
    pub fn project_endpoint_for(&self, project: &str) -> String {
        format!("{}/api/projects/{project}", self.server.uri())
    }

    /// The v1 base URL on the resource: `{uri}/openai/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/openai/v1", self.server.uri())
    }

    /// `{uri}/openai/v1/responses`.
    pub fn responses_url(&self) -> String {
        format!("{}/responses", self.openai_base_url())
    }

    /// Adds a pinned deployment with default behaviour (served id = name).
    pub fn deployment(&self, name: &str) -> &Self {
        self.add_deployment(Deployment::new(name))
    }

    /// Adds or replaces a scripted deployment.
    pub fn add_deployment(&self, deployment: Deployment) -> &Self {
        lock(&self.state)
            .deployments
            .insert(deployment.name().to_owned(), deployment);
        self
    }

    /// Adds a router deployment choosing among `pool` (stable hash of the
    /// prompt).
    pub fn router(&self, name: &str, pool: &[&str]) -> &Self {
        self.add_router(Router::new(name, pool))
    }

    /// Adds or replaces a scripted router deployment.
    pub fn add_router(&self, router: Router) -> &Self {
        lock(&self.state)
            .routers
            .insert(router.name().to_owned(), router);
        self
    }

    /// Registers the four [`SEED_DEPLOYMENTS`] (with dated served ids) and a
    /// `model-router` over them: the seed sample's setup.
    pub fn with_seed_deployments(&self) -> &Self {
        for (name, served) in SEED_DEPLOYMENTS {
            self.add_deployment(Deployment::new(name).served_as(served));
        }
        let pool: Vec<&str> = SEED_DEPLOYMENTS.iter().map(|(n, _)| *n).collect();
        self.router("model-router", &pool)
    }

    /// The next `n` create calls (any deployment) fail with `error`, then
    /// normal answers resume. Queues add up in order.
    pub fn fail_next(&self, n: usize, error: ErrorReply) -> &Self {
        self.queue(None, n, error)
    }

    /// The next `n` create calls to `deployment` fail with `error`.
    pub fn fail_next_for(&self, deployment: &str, n: usize, error: ErrorReply) -> &Self {
        self.queue(Some(deployment.to_owned()), n, error)
    }

    fn queue(&self, deployment: Option<String>, n: usize, reply: ErrorReply) -> &Self {
        let mut state = lock(&self.state);
        for _ in 0..n {
            state.queued.push_back(Queued {
                deployment: deployment.clone(),
                reply: reply.clone(),
            });
        }
        self
    }

    /// Blocks prompts containing `term`: non-streaming calls get
    /// `400 content_filter` with `innererror.content_filter_result`,
    /// streaming calls get the 200 three-frame stream (`response.created`,
    /// `response.failed`, `error` with `content_policy_violation`).
    pub fn block_prompts_containing(&self, term: &str) -> &Self {
        lock(&self.state).blocked_terms.push(term.to_owned());
        self
    }

    /// Answers 401 unless the request has `api-key: <key>`.
    pub fn require_api_key(&self, key: &str) -> &Self {
        lock(&self.state).required_auth = Some(("api-key".to_owned(), key.to_owned()));
        self
    }

    /// Answers 401 unless the request has `Authorization: Bearer <token>`.
    pub fn require_bearer(&self, token: &str) -> &Self {
        lock(&self.state).required_auth =
            Some(("authorization".to_owned(), format!("Bearer {token}")));
        self
    }

    /// Sets the `x-ms-region` header value (default `Sweden Central`).
    pub fn region(&self, region: &str) -> &Self {
        lock(&self.state).region = region.to_owned();
        self
    }

    /// A stored response by id (responses are stored unless `"store": false`).
    pub fn stored_response(&self, id: &str) -> Option<Value> {
        lock(&self.state).stored_response(id)
    }

    /// Every request received so far, in arrival order.
    pub async fn received(&self) -> Vec<ReceivedRequest> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| ReceivedRequest::new(r.method, r.url.path(), r.url.query(), r.headers, r.body))
            .collect()
    }

    /// Received requests whose body named `model` (a deployment name).
    pub async fn requests_for_model(&self, model: &str) -> Vec<ReceivedRequest> {
        self.received()
            .await
            .into_iter()
            .filter(|r| r.model() == Some(model))
            .collect()
    }

    /// Asserts that at least one request arrived and that every request
    /// carried header `name` with value `expected`.
    ///
    /// # Panics
    /// On the first request that does not match (the message names the
    /// request but never prints the expected or actual credential).
    pub async fn assert_auth_header(&self, name: &str, expected: &str) {
        let received = self.received().await;
        assert!(!received.is_empty(), "MockFoundry received no requests");
        for (i, r) in received.iter().enumerate() {
            let got = r.header(name);
            assert!(
                got == Some(expected),
                "request #{i} ({} {}) has {} `{name}` header, not the expected value",
                r.method,
                r.path,
                if got.is_some() { "a different" } else { "no" },
            );
        }
    }

    /// Asserts every request sent `api-key: <key>`.
    ///
    /// # Panics
    /// See [`assert_auth_header`](Self::assert_auth_header).
    pub async fn assert_api_key(&self, key: &str) {
        self.assert_auth_header("api-key", key).await;
    }

    /// Asserts every request sent `Authorization: Bearer <token>`.
    ///
    /// # Panics
    /// See [`assert_auth_header`](Self::assert_auth_header).
    pub async fn assert_bearer(&self, token: &str) {
        self.assert_auth_header("authorization", &format!("Bearer {token}"))
            .await;
    }
}
