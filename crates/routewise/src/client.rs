//! `Client` and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use routewise_auth::{Credential, SharedCredential};
use routewise_strategy::{FailoverPolicy, Pool, SharedStrategy, Strategy};
use routewise_transport::{
    ReqwestTransport, RetryLayer, RetryPolicy, SharedTransport, ThrottleLayer, TimeoutLayer,
    Transport,
};
use tower_layer::Layer;

use crate::auth_layer::AuthLayer;
use crate::endpoint::{Endpoint, EndpointOptions, redact_endpoint};
use crate::error::{Error, ErrorKind};
use crate::responses::Responses;
use crate::routing::AsRequested;
use crate::secret_header::is_credential_header;
use crate::stream::StreamTiming;

/// Connect timeout of the default transport, as the OpenAI SDK.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for response headers: the OpenAI SDK's 600 s request timeout.
pub const DEFAULT_RESPONSE_HEADER_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a response body may stay silent between two chunks, and a stream between two
/// complete events (SSE keep-alive comments do not count as events).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a stream waits for EOF after a `response.failed`, `error` or terminal frame
/// before it surfaces the outcome.
pub const DEFAULT_STREAM_FAILURE_GRACE: Duration = Duration::from_secs(2);
/// How long one attempt waits for the credential's token or key. Generous for a developer
/// tool (`az account get-access-token` can take seconds) or a managed identity endpoint, but
/// bounded: `azure_identity` puts no timeout on either.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// What every clone and every [`Client::with_strategy`] derivative shares: the endpoint, the
/// layered transport (and so the connection pool) and the default headers.
pub(crate) struct Shared {
    pub(crate) endpoint: Endpoint,
    pub(crate) transport: SharedTransport,
    pub(crate) default_headers: HeaderMap,
    pub(crate) stream_timing: StreamTiming,
}

/// How requests are routed; swapped by [`Client::with_strategy`].
#[derive(Clone)]
pub(crate) struct Routing {
    pub(crate) strategy: SharedStrategy,
    pub(crate) pool: Pool,
    pub(crate) failover: FailoverPolicy,
}

/// A Responses API client for one base URL. Cheap to clone; clones share the connection pool.
///
/// Build one with [`Client::builder`], or from a Foundry project with
/// [`ProjectClient::openai_client`](crate::ProjectClient::openai_client).
///
/// ```
/// use routewise::Client;
/// use routewise_auth::ApiKey;
/// use routewise_strategy::Fallback;
///
/// let client = Client::builder()
///     .azure_resource("https://my-resource.openai.azure.com")
///     .credential(ApiKey::new("key"))
///     .max_retries(3)
///     .build()?;
/// assert_eq!(client.endpoint().base_url(), "https://my-resource.openai.azure.com/openai/v1");
/// // Same pool, another routing strategy.
/// let failover = client.with_strategy(Fallback::new(["gpt-4.1", "gpt-4.1-mini"]));
/// assert_eq!(failover.strategy().name(), "fallback");
/// # Ok::<(), routewise::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    pub(crate) routing: Arc<Routing>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Default headers may carry secrets: only their names are shown.
        let header_names: Vec<&str> = self
            .shared
            .default_headers
            .keys()
            .map(HeaderName::as_str)
            .collect();
        f.debug_struct("Client")
            .field("endpoint", &self.shared.endpoint)
            .field("strategy", &self.routing.strategy.name())
            .field("pool", &self.routing.pool.len())
            .field("default_headers", &header_names)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The Responses API operations.
    pub fn responses(&self) -> Responses<'_> {
        Responses::new(self)
    }

    /// A client that shares this one's connection pool and settings but routes with `strategy`.
    pub fn with_strategy(&self, strategy: impl Strategy + 'static) -> Client {
        self.with_shared_strategy(Arc::new(strategy))
    }

    /// [`with_strategy`](Self::with_strategy) for a strategy that is already shared.
    pub fn with_shared_strategy(&self, strategy: SharedStrategy) -> Client {
        let routing = Routing {
            strategy,
            ..(*self.routing).clone()
        };
        Client {
            shared: self.shared.clone(),
            routing: Arc::new(routing),
        }
    }

    /// A client that shares this one's connection pool but routes over `pool`.
    pub fn with_pool(&self, pool: Pool) -> Client {
        let routing = Routing {
            pool,
            ..(*self.routing).clone()
        };
        Client {
            shared: self.shared.clone(),
            routing: Arc::new(routing),
        }
    }

    /// A client that shares this one's connection pool but fails over by `policy`.
    pub fn with_failover_policy(&self, policy: FailoverPolicy) -> Client {
        let routing = Routing {
            failover: policy,
            ..(*self.routing).clone()
        };
        Client {
            shared: self.shared.clone(),
            routing: Arc::new(routing),
        }
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.shared.endpoint
    }

    /// The routing strategy.
    pub fn strategy(&self) -> &SharedStrategy {
        &self.routing.strategy
    }

    /// The deployments the strategy routes over.
    pub fn pool(&self) -> &Pool {
        &self.routing.pool
    }
}

/// The endpoint as given to the builder; strings are checked in [`ClientBuilder::build`], once
/// every option (such as [`ClientBuilder::allow_insecure_http`]) is known.
enum EndpointSpec {
    Ready(Endpoint),
    Project(String),
    AzureResource(String),
    BaseUrl(String),
}

impl fmt::Debug for EndpointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Unchecked strings may carry a secret (user info, a signed query): shown redacted.
        let (name, raw) = match self {
            Self::Ready(endpoint) => return f.debug_tuple("Ready").field(endpoint).finish(),
            Self::Project(s) => ("Project", s),
            Self::AzureResource(s) => ("AzureResource", s),
            Self::BaseUrl(s) => ("BaseUrl", s),
        };
        f.debug_tuple(name).field(&redact_endpoint(raw)).finish()
    }
}

impl EndpointSpec {
    fn resolve(self, options: EndpointOptions) -> Result<Endpoint, crate::EndpointError> {
        match self {
            Self::Ready(endpoint) => Ok(endpoint),
            Self::Project(s) => options.project(&s),
            Self::AzureResource(s) => options.azure_resource(&s),
            Self::BaseUrl(s) => options.base_url_of(&s),
        }
    }
}

/// Builds a [`Client`].
///
/// The transport stack is, from the outside in: retry → throttle (opt-in) → auth → timeouts →
/// transport. Auth sits inside retry so every attempt asks the credential (a token that expired
/// meanwhile is refreshed); timeouts apply per attempt. Obtaining the credential has its own
/// bound, [`token_timeout`](Self::token_timeout), since it happens before the request is sent.
#[derive(Default)]
pub struct ClientBuilder {
    endpoint: Option<EndpointSpec>,
    credential: Option<SharedCredential>,
    transport: Option<SharedTransport>,
    retry: Option<RetryPolicy>,
    throttle: Option<ThrottleLayer>,
    connect_timeout: Option<Duration>,
    response_header_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    token_timeout: Option<Duration>,
    stream_failure_grace: Option<Duration>,
    allow_insecure_http: bool,
    default_headers: HeaderMap,
    header_error: Option<String>,
    strategy: Option<SharedStrategy>,
    pool: Pool,
    failover: FailoverPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("credential", &self.credential)
            .field("custom_transport", &self.transport.is_some())
            .field("retry", &self.retry)
            .field("throttle", &self.throttle)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Sends requests to `endpoint`.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(EndpointSpec::Ready(endpoint));
        self
    }

    /// An Azure OpenAI or Foundry resource (`https://<res>.openai.azure.com`); requests go to
    /// `{resource}/openai/v1`. An invalid URL is reported by [`build`](Self::build).
    pub fn azure_resource(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(EndpointSpec::AzureResource(endpoint.to_owned()));
        self
    }

    /// A Foundry project (`https://<res>.services.ai.azure.com/api/projects/<project>`);
    /// requests go to `{project}/openai/v1`.
    pub fn project(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(EndpointSpec::Project(endpoint.to_owned()));
        self
    }

    /// The public OpenAI API (`https://api.openai.com/v1`).
    pub fn openai(mut self) -> Self {
        self.endpoint = Some(EndpointSpec::Ready(Endpoint::openai()));
        self
    }

    /// Any base URL, used as given: a gateway, a proxy, a mock server.
    pub fn base_url(mut self, base: &str) -> Self {
        self.endpoint = Some(EndpointSpec::BaseUrl(base.to_owned()));
        self
    }

    /// Accepts a plain `http` endpoint on a non-loopback host (default `false`: `http` only to
    /// `127.0.0.0/8`, `::1` or `localhost`), e.g. a gateway on a private network. The credential
    /// and the prompts then cross that network in cleartext. Applies to the endpoint strings
    /// given to [`project`](Self::project), [`azure_resource`](Self::azure_resource) and
    /// [`base_url`](Self::base_url); an [`Endpoint`] passed to [`endpoint`](Self::endpoint)
    /// was already checked (see [`EndpointOptions`]).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Authorises every attempt with `credential`. Without one, no auth header is sent.
    pub fn credential(self, credential: impl Credential + 'static) -> Self {
        self.shared_credential(Arc::new(credential))
    }

    /// [`credential`](Self::credential) for one that is already shared (e.g. from
    /// `<dyn Credential>::from_env()`).
    pub fn shared_credential(mut self, credential: SharedCredential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// Sends through `transport` instead of the default pooled reqwest client. The
    /// connect timeout is then the transport's business.
    pub fn transport(self, transport: impl Transport + 'static) -> Self {
        self.shared_transport(Arc::new(transport))
    }

    /// [`transport`](Self::transport) for one that is already shared.
    pub fn shared_transport(mut self, transport: SharedTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The retry policy (default: the OpenAI SDK's, 2 retries).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Holds every request of this client back while the server's last answer asked for
    /// quiet: a 429's `retry-after`, or an exhausted `x-ratelimit-remaining-*` until its reset
    /// ([`ThrottleLayer`]). Off by default; worth it when many tasks share one client, so they
    /// stop sending together instead of each meeting its own 429.
    ///
    /// ```
    /// use std::time::Duration;
    /// use routewise::Client;
    /// use routewise::transport::ThrottleLayer;
    /// let client = Client::builder()
    ///     .azure_resource("https://my-resource.openai.azure.com")
    ///     .throttle(ThrottleLayer::new().max_wait(Duration::from_secs(30)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn throttle(mut self, throttle: ThrottleLayer) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Sets the number of retries of the current retry policy (0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry = Some(self.retry.unwrap_or_default().with_max_retries(retries));
        self
    }

    /// Connect timeout of the default transport (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long to wait for response headers (default 600 s).
    pub fn response_header_timeout(mut self, timeout: Duration) -> Self {
        self.response_header_timeout = Some(timeout);
        self
    }

    /// How long a response may stay silent (default 300 s), enforced twice: by the transport
    /// between two body chunks, and by the stream reader between two complete SSE events. A
    /// server that only sends keep-alive comments therefore still times out with
    /// [`ErrorKind::Timeout`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// How long one attempt waits for the credential to produce its token or key (default
    /// [`DEFAULT_TOKEN_TIMEOUT`]). A credential that has not answered by then (an `az`
    /// subprocess or a managed identity endpoint that hangs) fails the call with
    /// [`ErrorKind::Credential`], for which [`Error::is_auth`] and [`Error::is_timeout`] are
    /// both true; nothing is sent, and the call is not retried.
    pub fn token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = Some(timeout);
        self
    }

    /// How long a stream waits for the connection to close after a `response.failed`, `error`
    /// or terminal frame (default [`DEFAULT_STREAM_FAILURE_GRACE`]). A trailing `error` frame
    /// that arrives within it is merged into the failure (Azure sends the reason after
    /// `response.failed`); after it the failure is surfaced, so failover is not held up by a
    /// server that keeps the connection open.
    pub fn stream_failure_grace(mut self, grace: Duration) -> Self {
        self.stream_failure_grace = Some(grace);
        self
    }

    /// Adds a header to every request (e.g. `x-ms-client-request-id`, a feature header).
    /// An invalid name or value is reported by [`build`](Self::build).
    ///
    /// Values of credential-like names (`authorization`, `api-key`,
    /// `ocp-apim-subscription-key`, any `*-key`, `*token*` or `*secret*`) are marked
    /// sensitive, as the credential's own header is.
    pub fn default_header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(mut value)) => {
                value.set_sensitive(is_credential_header(&name));
                self.default_headers.append(name, value);
            }
            _ => self.header_error = Some(format!("invalid default header `{name}`")),
        }
        self
    }

    /// Routes with `strategy` (default: the deployment the request's `model` names).
    pub fn strategy(mut self, strategy: impl Strategy + 'static) -> Self {
        self.strategy = Some(Arc::new(strategy));
        self
    }

    /// The deployments strategies route over (prices, profiles); default empty.
    pub fn pool(mut self, pool: Pool) -> Self {
        self.pool = pool;
        self
    }

    /// The failover rule (default: [`FailoverPolicy::default`]).
    pub fn failover_policy(mut self, policy: FailoverPolicy) -> Self {
        self.failover = policy;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let options = EndpointOptions::new().allow_insecure_http(self.allow_insecure_http);
        let endpoint = self
            .endpoint
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    "no endpoint: call azure_resource, project, openai or base_url",
                )
            })?
            .resolve(options)?;
        if let Some(message) = self.header_error {
            return Err(Error::new(ErrorKind::InvalidInput, message));
        }
        let base: SharedTransport = match self.transport {
            Some(t) => t,
            None => Arc::new(
                ReqwestTransport::builder()
                    .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                    .build()?,
            ),
        };
        let timeouts = TimeoutLayer::new()
            .response_header_timeout(
                self.response_header_timeout
                    .unwrap_or(DEFAULT_RESPONSE_HEADER_TIMEOUT),
            )
            .idle_timeout(self.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT));
        let mut transport: SharedTransport = Arc::new(timeouts.layer(base));
        if let Some(credential) = self.credential {
            let auth = AuthLayer::new(credential)
                .token_timeout(self.token_timeout.unwrap_or(DEFAULT_TOKEN_TIMEOUT));
            transport = Arc::new(auth.layer(transport));
        }
        // Inside the retry layer, so that retries wait for the server's quiet period too.
        if let Some(throttle) = self.throttle {
            transport = Arc::new(throttle.layer(transport));
        }
        let transport: SharedTransport =
            Arc::new(RetryLayer::new(self.retry.unwrap_or_default()).layer(transport));
        let idle = self.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
        let shared = Shared {
            endpoint,
            transport,
            default_headers: self.default_headers,
            stream_timing: StreamTiming {
                idle,
                grace: self
                    .stream_failure_grace
                    .unwrap_or(DEFAULT_STREAM_FAILURE_GRACE),
            },
        };
        let routing = Routing {
            strategy: self.strategy.unwrap_or_else(|| Arc::new(AsRequested)),
            pool: self.pool,
            failover: self.failover,
        };
        Ok(Client {
            shared: Arc::new(shared),
            routing: Arc::new(routing),
        })
    }
}
