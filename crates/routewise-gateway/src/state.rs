//! Everything a request handler needs, built once at start-up from a [`Config`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use routewise_auth::{ApiKey, SharedCredential};
use routewise_strategy::{HeuristicEstimator, LocalRouter, Pool};
use routewise_transport::{ReqwestTransport, SharedTransport, TimeoutLayer};
use serde_json::json;
use tower::Layer;

use routewise_strategy::learned::TrainedEstimator;

use crate::access::{KeyTable, Principal, RouterGrant};
use crate::config::{
    AccessControl, AzureAuth, Config, DeploymentConfig, EstimatorChoice, RouterConfig,
    ServerSettings, UpstreamConfig,
};
use crate::emulator::Emulator;
use crate::limits::{LimitSpec, RateLimiter};
use crate::redis_conn::RedisConn;
use crate::store::ResponseStore;
use crate::telemetry::Metrics;
use crate::upstream::Upstream;
use crate::upstream::remote::HttpUpstream;

/// Why a gateway could not be built from a valid configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The HTTP client could not be created.
    #[error("cannot create the upstream HTTP client: {0}")]
    Transport(String),
    /// An upstream URL is unusable, or could carry a credential (user info, a query). The
    /// URL itself is never shown.
    #[error("{key}: {message}")]
    Url {
        /// The key at fault (`deployments[2].upstream.base_url`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A router's trained estimator could not be loaded.
    #[error("router {router}: cannot load the quality estimator: {message}")]
    Estimator {
        /// The router.
        router: String,
        /// What went wrong.
        message: String,
    },
    /// The response store's settings are unusable.
    #[error("store: {0}")]
    Store(String),
    /// Rate limits are configured but cannot be enforced (no usable Redis).
    #[error("limits: {0}")]
    Limits(String),
    /// The background settings break a rule the config file is held to (settings changed in
    /// code after loading; a file is checked at load).
    #[error("background.{key}: {message}")]
    Background {
        /// The `[background]` key at fault.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A deployment's data zone or a router's residency rule breaks a rule the config file is
    /// held to (a config built or changed in code; a file is checked at load).
    #[error("{key}: {message}")]
    Residency {
        /// The key at fault, as the file would spell it (`routers[1].models[0]`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The keys or principals break a rule the config file is held to (a config built or
    /// changed in code; a file is checked at load). Never shows a key.
    #[error("{key}: {message}")]
    Access {
        /// The key at fault, as the file would spell it (`access.principals[1].keys`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An Entra credential could not be created.
    #[error("deployment {deployment}: cannot create the Entra ID credential: {message}")]
    Credential {
        /// The deployment.
        deployment: String,
        /// What went wrong.
        message: String,
    },
}

impl BuildError {
    /// True when the HTTP client failed.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Transport(_))
    }

    /// True when an upstream URL is unusable.
    pub fn is_url(&self) -> bool {
        matches!(self, Self::Url { .. })
    }

    /// True when a router's estimator could not be loaded.
    pub fn is_estimator(&self) -> bool {
        matches!(self, Self::Estimator { .. })
    }

    /// True when rate limits have no usable Redis.
    pub fn is_limits(&self) -> bool {
        matches!(self, Self::Limits(_))
    }

    /// True when the background settings are out of bounds.
    pub fn is_background(&self) -> bool {
        matches!(self, Self::Background { .. })
    }

    /// True when a data zone or a router's residency rule is invalid.
    pub fn is_residency(&self) -> bool {
        matches!(self, Self::Residency { .. })
    }

    /// True when the keys or principals are invalid.
    pub fn is_access(&self) -> bool {
        matches!(self, Self::Access { .. })
    }

    /// True when a credential failed.
    pub fn is_credential(&self) -> bool {
        matches!(self, Self::Credential { .. })
    }
}

/// A deployment ready to serve.
#[derive(Debug)]
pub(crate) struct DeploymentEntry {
    pub config: DeploymentConfig,
    pub upstream: Arc<dyn Upstream>,
    /// Its rate-limit buckets, when it has `rpm` or `tpm`.
    pub limit: Option<LimitSpec>,
}

/// A router deployment ready to route.
#[derive(Debug)]
pub(crate) struct RouterEntry {
    /// Its place in [`AppState::routers`] (and in each principal's router grants).
    pub index: usize,
    pub config: RouterConfig,
    pub router: LocalRouter,
    /// The router deployment's own rate-limit buckets, when it has `rpm` or `tpm`.
    pub limit: Option<LimitSpec>,
}

/// What `model` resolved to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    Deployment(&'a Arc<DeploymentEntry>),
    Router(&'a RouterEntry),
}

impl Target<'_> {
    /// The deployment's or router's configured name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Deployment(d) => &d.config.deployment.name,
            Self::Router(r) => &r.config.name,
        }
    }
}

#[derive(Debug)]
pub(crate) struct AppState {
    pub config: Config,
    pub pool: Pool,
    pub deployments: HashMap<String, Arc<DeploymentEntry>>,
    pub routers: Vec<RouterEntry>,
    pub models_body: Bytes,
    /// Every key and its principal; `None` when access control is off.
    pub keys: Option<Arc<KeyTable>>,
    pub draining: AtomicBool,
    /// Stored responses (Redis), when the config has a `[store]`.
    pub store: Option<Arc<ResponseStore>>,
    /// Shared rate limits (Redis), when any deployment or router has one.
    pub limiter: Option<RateLimiter>,
    /// Counters and histograms for `GET /metrics`, preallocated per deployment and router.
    pub metrics: Arc<Metrics>,
    /// Background responses running in this process (their stop switches; state is in Redis).
    pub background: crate::background::Registry,
    /// Places for followers of background streams (`max_stream_followers`).
    pub followers: crate::background::Followers,
    /// The budget of large request bodies and stored responses parsed and handled at once
    /// (see `budget`).
    pub large_bodies: Arc<crate::budget::LargeBudget>,
    /// The request body bytes this replica holds, capped (see `server::body`).
    pub body_memory: Arc<crate::server::BodyMemory>,
    /// Connection slots (`max_connections`): the accept loop takes one per connection.
    pub connections: crate::server::ConnectionSlots,
}

impl AppState {
    /// The 404 for a stored response that is missing here: also what another tenant's response
    /// gets, so the two cannot be told apart; it says how to enable a store when there is none.
    pub(crate) fn response_not_found(&self, id: String) -> crate::error::GatewayError {
        crate::error::GatewayError::ResponseNotFound {
            id,
            store_configured: self.store.is_some(),
        }
    }

    pub(crate) fn build(config: Config) -> Result<Self, BuildError> {
        // First, so no URL that could carry a credential reaches an upstream's `Debug`.
        crate::config::check_upstream_urls(&config).map_err(|p| BuildError::Url {
            key: p.key,
            message: p.message,
        })?;
        let needs_http = config
            .deployments
            .iter()
            .any(|d| !matches!(d.upstream, UpstreamConfig::Emulator(_)));
        let transport: Option<SharedTransport> = if needs_http {
            let base = ReqwestTransport::builder()
                .build()
                .map_err(|e| BuildError::Transport(e.to_string()))?;
            let timed = TimeoutLayer::new()
                .response_header_timeout(config.server.upstream_timeout)
                .idle_timeout(config.server.upstream_timeout)
                .layer(base);
            Some(Arc::new(timed))
        } else {
            None
        };
        let prefix = limits_prefix(&config);
        let mut deployments = HashMap::with_capacity(config.deployments.len());
        for d in &config.deployments {
            let upstream = build_upstream(d, transport.as_ref(), config.store.is_some())?;
            deployments.insert(
                d.deployment.name.clone(),
                Arc::new(DeploymentEntry {
                    config: d.clone(),
                    upstream,
                    limit: LimitSpec::new(&d.deployment.name, d.limits, prefix),
                }),
            );
        }
        let mut routers = Vec::with_capacity(config.routers.len());
        for r in &config.routers {
            let base = base_router(&r.estimator).map_err(|message| BuildError::Estimator {
                router: r.name.clone(),
                message,
            })?;
            routers.push(base);
        }
        if let Some(settings) = &config.store {
            RedisConn::new(&settings.redis_url).map_err(BuildError::Store)?;
        }
        if let Some(settings) = &config.limits {
            RedisConn::new(&settings.redis_url).map_err(BuildError::Limits)?;
        }
        // A file was checked at load; settings changed in code since get the same rules, so
        // a zero tick cannot spin a run against Redis.
        if let Some((key, message)) = config.background.problem(false) {
            return Err(BuildError::Background { key, message });
        }
        // Likewise residency and access: a router whose pool leaves its zones, a principal
        // with no key or a key shared with another would otherwise be served as built.
        crate::config::check_residency(&config).map_err(|p| BuildError::Residency {
            key: p.key,
            message: p.message,
        })?;
        crate::config::check_access(&config).map_err(|p| BuildError::Access {
            key: p.key,
            message: p.message,
        })?;
        if has_limits(&config) && config.limits.is_none() && config.store.is_none() {
            return Err(BuildError::Limits(
                "rate limits are configured but no Redis is: add a [limits] or [store] table"
                    .into(),
            ));
        }
        Ok(Self::assemble(config, deployments, routers))
    }

    /// The infallible path for emulator-only configs (the embedded pool).
    pub(crate) fn build_emulated(mut config: Config) -> Self {
        config
            .deployments
            .retain(|d| matches!(d.upstream, UpstreamConfig::Emulator(_)));
        let prefix = limits_prefix(&config);
        let deployments = config
            .deployments
            .iter()
            .map(|d| {
                (
                    d.deployment.name.clone(),
                    Arc::new(DeploymentEntry {
                        config: d.clone(),
                        upstream: emulator(d, config.store.is_some()),
                        limit: LimitSpec::new(&d.deployment.name, d.limits, prefix),
                    }),
                )
            })
            .collect();
        let routers = config
            .routers
            .iter()
            .map(|r| {
                base_router(&r.estimator).unwrap_or_else(|e| {
                    tracing::warn!(router = %r.name, error = %e, "using the heuristic estimator");
                    LocalRouter::new(HeuristicEstimator::new())
                })
            })
            .collect();
        Self::assemble(config, deployments, routers)
    }

    fn assemble(
        config: Config,
        deployments: HashMap<String, Arc<DeploymentEntry>>,
        bases: Vec<LocalRouter>,
    ) -> Self {
        let prefix = limits_prefix(&config);
        let routers: Vec<RouterEntry> = config
            .routers
            .iter()
            .zip(bases)
            .enumerate()
            .map(|(index, (r, base))| RouterEntry {
                index,
                config: r.clone(),
                router: base
                    .with_mode(r.mode.clone())
                    .with_subset(r.models.iter().cloned()),
                limit: LimitSpec::new(&r.name, r.limits, prefix),
            })
            .collect();
        let pool = Pool::new(config.deployments.iter().map(|d| d.deployment.clone()));
        let models_body = models_list(&config, None);
        let keys = key_table(&config, &routers);
        let store_redis = config.store.as_ref().and_then(|settings| {
            RedisConn::new(&settings.redis_url)
                .inspect_err(|e| tracing::warn!(error = %e, "responses will not be stored"))
                .ok()
                .map(Arc::new)
        });
        let large_bodies = Arc::new(crate::budget::LargeBudget::new(
            config.server.max_body_bytes,
            config.server.body_read_timeout,
        ));
        let store = config
            .store
            .as_ref()
            .zip(store_redis.clone())
            .map(|(settings, redis)| {
                Arc::new(
                    ResponseStore::new(settings, redis)
                        .with_max_conversation(config.server.max_body_bytes),
                )
            });
        // The limiter has a connection of its own even on the store's server: a large stored
        // response on a shared connection would hold every rate-limit check up behind it.
        let limits_url = match (&config.limits, &config.store) {
            (Some(l), _) => Some(&l.redis_url),
            (None, Some(s)) => Some(&s.redis_url),
            (None, None) => None,
        };
        let limiter = limits_url
            .filter(|_| has_limits(&config))
            .and_then(|url| {
                RedisConn::new(url)
                    .inspect_err(|e| tracing::warn!(error = %e, "rate limits are not enforced"))
                    .ok()
                    .map(Arc::new)
            })
            .map(RateLimiter::new);
        let metrics = Arc::new(Metrics::new(&config));
        let followers = crate::background::Followers::new(config.background.max_stream_followers);
        let background = crate::background::Registry::new(&config.background);
        let body_memory = Arc::new(crate::server::BodyMemory::new(config.server.max_body_bytes));
        let connections = crate::server::ConnectionSlots::new(config.server.max_connections);
        Self {
            body_memory,
            store,
            limiter,
            metrics,
            config,
            pool,
            deployments,
            routers,
            models_body,
            keys,
            draining: AtomicBool::new(false),
            background,
            followers,
            large_bodies,
            connections,
        }
    }

    pub(crate) fn settings(&self) -> &ServerSettings {
        &self.config.server
    }

    pub(crate) fn access(&self) -> &AccessControl {
        &self.config.access
    }

    /// True with `[[access.principals]]`: callers of several tenants share the upstreams'
    /// credentials, so state the upstreams keep must not be reachable through the gateway.
    pub(crate) fn is_multi_tenant(&self) -> bool {
        matches!(self.config.access, AccessControl::Principals(_))
    }

    /// Resolves `model`: exact name, then case-insensitive, then `auto` as the first router.
    pub(crate) fn target(&self, name: &str) -> Option<Target<'_>> {
        if let Some(d) = self.deployments.get(name) {
            return Some(Target::Deployment(d));
        }
        if let Some(r) = self.routers.iter().find(|r| r.config.name == name) {
            return Some(Target::Router(r));
        }
        if let Some(d) = self
            .deployments
            .values()
            .find(|d| d.config.deployment.name.eq_ignore_ascii_case(name))
        {
            return Some(Target::Deployment(d));
        }
        if let Some(r) = self
            .routers
            .iter()
            .find(|r| r.config.name.eq_ignore_ascii_case(name))
        {
            return Some(Target::Router(r));
        }
        if name == "auto" {
            return self.routers.first().map(Target::Router);
        }
        None
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// True when any deployment or router has a rate limit.
fn has_limits(config: &Config) -> bool {
    config.deployments.iter().any(|d| d.limits.is_limited())
        || config.routers.iter().any(|r| r.limits.is_limited())
}

/// The key prefix of the rate-limit buckets: `[limits]`'s, else `[store]`'s.
fn limits_prefix(config: &Config) -> &str {
    match (&config.limits, &config.store) {
        (Some(l), _) => &l.key_prefix,
        (None, Some(s)) => &s.key_prefix,
        (None, None) => "routewise:",
    }
}

/// A Balanced router over every deployment with the chosen estimator; a trained one brings
/// the bands it calibrated.
fn base_router(choice: &EstimatorChoice) -> Result<LocalRouter, String> {
    Ok(match choice {
        EstimatorChoice::Trained => {
            LocalRouter::trained(TrainedEstimator::default_artifact().map_err(|e| e.to_string())?)
        }
        EstimatorChoice::Artifact(path) => {
            LocalRouter::trained(TrainedEstimator::load(path).map_err(|e| e.to_string())?)
        }
        _ => LocalRouter::new(HeuristicEstimator::new()),
    })
}

fn build_upstream(
    d: &DeploymentConfig,
    transport: Option<&SharedTransport>,
    stored: bool,
) -> Result<Arc<dyn Upstream>, BuildError> {
    let name = &d.deployment.name;
    let url_err = || BuildError::Url {
        key: format!("deployment {name}"),
        message: "its upstream URL is not a valid request URI".into(),
    };
    let http = |url: String,
                credential: Option<SharedCredential>|
     -> Result<Arc<dyn Upstream>, BuildError> {
        let uri: http::Uri = url.parse().map_err(|_| url_err())?;
        let transport = transport
            .cloned()
            .ok_or_else(|| BuildError::Transport("no HTTP transport".into()))?;
        Ok(Arc::new(HttpUpstream::new(uri, transport, credential)))
    };
    match &d.upstream {
        UpstreamConfig::Emulator(_) => Ok(emulator(d, stored)),
        UpstreamConfig::OpenAi { base_url, api_key }
        | UpstreamConfig::OpenAiCompatible { base_url, api_key } => {
            let cred = api_key
                .as_ref()
                .map(|k| Arc::new(ApiKey::bearer(k.clone())) as SharedCredential);
            http(format!("{base_url}/responses"), cred)
        }
        UpstreamConfig::Azure { endpoint, auth } => {
            let base = if endpoint.ends_with("/openai/v1") {
                endpoint.clone()
            } else {
                format!("{endpoint}/openai/v1")
            };
            let cred: SharedCredential = match auth {
                AzureAuth::ApiKey(key) => Arc::new(ApiKey::new(key.clone())),
                AzureAuth::Entra { scope } => {
                    entra(scope).map_err(|message| BuildError::Credential {
                        deployment: name.clone(),
                        message,
                    })?
                }
            };
            http(format!("{base}/responses"), Some(cred))
        }
    }
}

/// An emulated deployment; `stored` says whether the gateway keeps responses (the emulator
/// keeps none, so without a store its answers say `store: false`).
fn emulator(d: &DeploymentConfig, stored: bool) -> Arc<dyn Upstream> {
    let settings = match &d.upstream {
        UpstreamConfig::Emulator(s) => s.clone(),
        _ => Default::default(),
    };
    Arc::new(
        Emulator::new(
            d.deployment.model.clone(),
            d.deployment.is_reasoning_model(),
            settings,
        )
        .with_store(stored)
        .with_context_window(d.deployment.profile.as_ref().map(|p| p.context_window)),
    )
}

/// An Entra credential chosen by `routewise-auth`'s environment rules, with API-key variables
/// hidden (the config asked for Entra) and the configured scope.
fn entra(scope: &str) -> Result<SharedCredential, String> {
    let cred = routewise_auth::from_env_with(|name| match name {
        routewise_auth::AZURE_OPENAI_API_KEY
        | routewise_auth::AZURE_AI_API_KEY
        | routewise_auth::OPENAI_API_KEY => None,
        routewise_auth::ROUTEWISE_SCOPE => Some(scope.to_owned()),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())?;
    Ok(cred)
}

/// Every principal with its keys, each principal's view of the routers computed once, and a
/// `/models` body of its own when it is restricted; `None` when access control is off.
fn key_table(config: &Config, routers: &[RouterEntry]) -> Option<Arc<KeyTable>> {
    if config.access.is_off() {
        return None;
    }
    let mut entries = Vec::new();
    for pc in config.access.principals() {
        let mut p = Principal::build(&pc, &config.deployments, routers);
        if p.is_restricted() {
            p.models_body = Some(models_list(config, Some(&p)));
        }
        let p = Arc::new(p);
        entries.extend(pc.keys.into_iter().map(|k| (k, Arc::clone(&p))));
    }
    Some(Arc::new(KeyTable::new(entries)))
}

/// `GET /models`: routers first, then deployments, with what a caller needs to pick one; as
/// `view` sees them when given (only what it may use, routers with the subset it gets).
fn models_list(config: &Config, view: Option<&Principal>) -> Bytes {
    let mut data = Vec::new();
    for (i, r) in config.routers.iter().enumerate() {
        let models = match view.map(|p| p.grant(i)) {
            None | Some(RouterGrant::Whole) => &r.models,
            Some(RouterGrant::Restricted { models, .. }) => models,
            Some(RouterGrant::Denied | RouterGrant::Empty) => continue,
        };
        let mut entry = json!({
            "id": r.name, "object": "model", "created": 0, "owned_by": "routewise",
            "kind": "router", "mode": r.mode.as_str(), "models": models,
        });
        if let Some(zones) = &r.residency.data_zones {
            entry["data_zones"] = json!(zones);
        }
        if let Some(regions) = &r.residency.regions {
            entry["regions"] = json!(regions);
        }
        data.push(entry);
    }
    for d in &config.deployments {
        let dep = &d.deployment;
        if view.is_some_and(|p| !p.may_serve(&dep.name)) {
            continue;
        }
        data.push(json!({
            "id": dep.name, "object": "model", "created": 0, "owned_by": "routewise",
            "kind": "deployment", "served_model": dep.model, "upstream": d.upstream.kind(),
            "region": dep.region, "sku": d.sku.map(|s| s.as_str()), "data_zone": d.data_zone,
            "price": {"input_per_1m": dep.price.input_per_1m, "output_per_1m": dep.price.output_per_1m},
        }));
    }
    Bytes::from(json!({"object": "list", "data": data}).to_string())
}
