//! Gateway configuration: what it listens on, which deployments it serves and how it reaches them.
//!
//! Load a file with [`Config::from_file`] (what `routewise serve --config FILE` does) or a string
//! with [`Config::from_toml_str`]; both validate everything at start-up and fail with a
//! [`ConfigError`] that names the file, the key path and the problem. [`Config::default_pool`] is
//! the embedded emulator pool used when no file is given.
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//! max_body_bytes = 33554432
//!
//! [limits]                       # where rpm/tpm are counted (default: the [store] Redis)
//! redis_url_env = "ROUTEWISE_LIMITS_REDIS_URL"
//!
//! [background]                   # background responses (they need a [store])
//! lease_ttl_ms = 10000           # a replica silent this long is presumed gone
//! tick_ms = 200                  # lease refresh and remote cancel check; lease ≥ 3 × tick
//! max_stream_followers = 256     # concurrent `?stream=true` followers per replica; then 429
//! max_running = 1024             # background responses running at once per replica; then 429
//!
//! [access]                       # access control is on when keys are configured
//! api_keys_env = ["ROUTEWISE_API_KEY"]   # full access (the admin principal `api_keys_env`)
//!
//! [[access.principals]]          # keys with a role: user | reader | monitor | admin
//! name = "team-eu"
//! keys_env = "TEAM_EU_KEYS"
//! role = "user"
//! deployments = ["model-router", "gpt-4.1-nano"]   # optional allow-list (deployments and routers)
//! data_zones = ["eu"]                    # optional: served only in these data zones
//!
//! [upstreams.azure]
//! kind = "azure"                 # azure | openai | openai_compatible | emulator
//! endpoint = "https://my-resource.openai.azure.com"
//! api_key_env = "AZURE_OPENAI_API_KEY"   # or auth = "entra"
//!
//! [upstreams.emu]
//! kind = "emulator"
//! ttft_ms = 150
//! tokens_per_second = 120
//!
//! [[deployments]]
//! name = "gpt-4.1-nano"
//! model = "gpt-4.1-nano-2025-04-14"      # served model id (routing details, metrics; the emulator's response.model)
//! upstream = "azure"                     # or an inline table: { kind = "openai_compatible", base_url = "…" }
//! price = { input_per_1m = 0.10, output_per_1m = 0.40 }
//! region = "eastus2"
//! sku = "DataZoneStandard"               # so data zone "us" is derived (Global* types: no zone)
//!
//! [[deployments]]
//! name = "gpt-5-mini"
//! upstream = "emu"
//! emulator = { ttft_ms = 400 }           # per-deployment emulator overrides
//!
//! [[routers]]
//! name = "model-router"
//! mode = "balanced"                      # balanced | quality | cost
//! models = ["gpt-4.1-nano", "gpt-5-mini"]  # the subset is also the failover set
//! estimator = "trained"                  # trained (default) | heuristic | a `routewise train` artifact
//! rpm = 250                              # rate limits (any deployment or router); need Redis
//! tpm = 250000
//! content_filter = "strict"              # applies to everything routed through it
//! # data_zones = [...], regions = [...] # pool and failover only there; a model outside is an error
//!
//! [[content_filters]]
//! name = "strict"
//! apply_to = "both"                      # prompt | completion | both
//! blocklists = [{ name = "codenames", terms = ["Project Falcon"], patterns = ['\bPF-\d{4}\b'] }]
//! ```

mod access;
mod background;
mod defaults;
mod error;
mod filter;
mod limits;
mod load;
mod raw;
mod residency;
mod sku;
mod upstream_url;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use routewise_auth::Secret;
use routewise_strategy::{Deployment, RoutingMode};

pub use crate::access::Role;
pub use access::PrincipalConfig;
pub use background::BackgroundSettings;
pub use error::ConfigError;
pub use filter::{Blocklist, ContentFilterConfig, FilterScope};
pub use limits::{LimitsSettings, RateLimits};
pub use residency::Residency;
pub use sku::{DeploymentSku, UnknownSku};
pub(crate) use validate::{Problem, check_access, check_residency, check_upstream_urls};

/// A validated gateway configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where the file came from (for messages).
    pub origin: PathBuf,
    /// Listener and limits.
    pub server: ServerSettings,
    /// Who may call the gateway.
    pub access: AccessControl,
    /// Deployments callers can name in `model`, in file order.
    pub deployments: Vec<DeploymentConfig>,
    /// Router deployments (`model-router` by default).
    pub routers: Vec<RouterConfig>,
    /// Where responses are stored for retrieval and `previous_response_id`; `None` keeps
    /// none (the default pool, and any file without a `[store]` table).
    pub store: Option<StoreSettings>,
    /// Where rate limits are counted when it is not the store's Redis (`[limits]`).
    pub limits: Option<LimitsSettings>,
    /// Named content filters (`[[content_filters]]`), referenced by `content_filter`.
    pub content_filters: Vec<ContentFilterConfig>,
    /// Lease timing and the stream-follower cap of background responses (`[background]`).
    pub background: BackgroundSettings,
}

impl Config {
    /// Why the gateway must not listen on `addr` with this configuration, if it must not: a
    /// non-loopback address with access control off, unless `open_access` says so on purpose.
    pub fn exposure_error(&self, addr: SocketAddr) -> Option<String> {
        (self.access.is_off() && !addr.ip().is_loopback() && !self.server.open_access).then(|| {
            format!(
                "{addr} is not a loopback address and access control is off; add keys \
                 ([access] api_keys_env or [[access.principals]]), or set \
                 [server] access_control = false to serve without keys on purpose"
            )
        })
    }

    /// Reads and validates a TOML file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and validates TOML text; `origin` labels errors.
    ///
    /// ```
    /// use routewise_gateway::Config;
    ///
    /// let cfg = Config::from_toml_str(
    ///     r#"
    ///     [[deployments]]
    ///     name = "local"
    ///     upstream = { kind = "emulator", ttft_ms = 5 }
    ///     "#,
    ///     "inline.toml",
    /// )
    /// .unwrap();
    /// assert_eq!(cfg.deployments[0].deployment.name, "local");
    /// assert_eq!(cfg.routers[0].name, "model-router");
    ///
    /// let err = Config::from_toml_str("[[deployments]]\nname = 3", "bad.toml").unwrap_err();
    /// assert!(err.to_string().starts_with("bad.toml: deployments"));
    /// ```
    pub fn from_toml_str(text: &str, origin: impl AsRef<Path>) -> Result<Self, ConfigError> {
        load::load(text, origin.as_ref(), &|var| std::env::var(var).ok())
    }

    /// Like [`Config::from_toml_str`], reading secrets through `env` instead of the process
    /// environment (handy in tests).
    pub fn from_toml_str_with_env(
        text: &str,
        origin: impl AsRef<Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        load::load(text, origin.as_ref(), env)
    }

    /// The embedded default pool: `model-router` (balanced) over six emulated deployments
    /// (gpt-4.1-nano, gpt-4.1-mini, gpt-5-mini, gpt-5.2, grok-4-fast-reasoning, Deepseek-V3.2)
    /// with list prices, loopback listener and access control off.
    pub fn default_pool() -> Self {
        defaults::default_pool()
    }

    /// The deployment with this name.
    pub fn deployment(&self, name: &str) -> Option<&DeploymentConfig> {
        self.deployments.iter().find(|d| d.deployment.name == name)
    }

    /// Scales every emulated deployment's time to first token and generation time by `factor`
    /// (e.g. `0.0` for instant answers in tests).
    pub fn scale_emulator_latency(mut self, factor: f64) -> Self {
        for d in &mut self.deployments {
            if let UpstreamConfig::Emulator(e) = &mut d.upstream {
                e.ttft = e.ttft.mul_f64(factor.max(0.0));
                e.tokens_per_second = if factor <= 0.0 {
                    f64::INFINITY
                } else {
                    e.tokens_per_second / factor
                };
            }
        }
        self
    }
}

/// Listener address, limits and timeouts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerSettings {
    /// Address to listen on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// Largest accepted request body; larger gets 413.
    pub max_body_bytes: usize,
    /// Largest accepted request head (request line + headers).
    pub max_header_bytes: usize,
    /// Most headers accepted in one request.
    pub max_headers: usize,
    /// Most connections served at once (`max_connections`, default 1024). Beyond it the
    /// listener stops accepting, so new clients wait in the kernel's backlog until one ends.
    /// It bounds what small uploads in progress, which no body budget counts, can hold:
    /// each is at most 256 KiB for at most `body_read_timeout`. A value set in code outside
    /// `1..=`[`Self::MAX_CONNECTIONS`] is clamped into it.
    pub max_connections: usize,
    /// A client must send its whole request head within this time (slow-loris guard).
    pub header_read_timeout: Duration,
    /// A client must send its whole body within this time.
    pub body_read_timeout: Duration,
    /// A client that takes none of what the gateway writes for this long (an answer, a stream
    /// it stopped reading) is cut off, so it cannot hold the request's memory and upstream
    /// call for as long as it keeps the connection open.
    pub write_timeout: Duration,
    /// Time allowed for an upstream to answer (headers, or the first event of a stream).
    pub upstream_timeout: Duration,
    /// How long shutdown waits for in-flight requests and streams.
    pub shutdown_grace: Duration,
    /// True when the file says `access_control = false`: the operator accepts serving without
    /// keys on a non-loopback address (say, behind a proxy that authenticates). Without it,
    /// [`Gateway::bind`](crate::Gateway::bind) refuses such an address while access control is
    /// off, because anyone reaching the port could spend the upstreams' credentials.
    pub open_access: bool,
}

impl ServerSettings {
    /// The highest `max_connections` accepted: each connection is a socket, so more than this
    /// is a typo, not a plan.
    pub const MAX_CONNECTIONS: usize = 1_000_000;
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 32 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            upstream_timeout: Duration::from_secs(600),
            shutdown_grace: Duration::from_secs(30),
            open_access: false,
        }
    }
}

/// The response store: a Redis server shared by every gateway process.
///
/// Stored responses must outlive one process and be visible to all replicas behind a load
/// balancer, so they live in Redis, never in gateway memory.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreSettings {
    /// `redis://[user:password@]host:port[/db]`; a secret, since it may carry a password.
    pub redis_url: Secret,
    /// How long a stored response lives (default 30 days, as OpenAI keeps them).
    pub ttl: Duration,
    /// Prefix of every key the gateway writes (default `routewise:`).
    pub key_prefix: String,
}

impl StoreSettings {
    /// A store at `redis_url` with the default lifetime and key prefix.
    pub fn new(redis_url: impl Into<String>) -> Self {
        Self {
            redis_url: Secret::new(redis_url.into()),
            ttl: Duration::from_secs(30 * 24 * 3600),
            key_prefix: "routewise:".into(),
        }
    }
}

impl std::fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password; `Secret` redacts it.
        f.debug_struct("StoreSettings")
            .field("redis_url", &self.redis_url)
            .field("ttl", &self.ttl)
            .field("key_prefix", &self.key_prefix)
            .finish()
    }
}

/// Who may call the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessControl {
    /// Any caller, with or without a key (the default pool; loopback only).
    Off,
    /// Callers must present one of these keys as `api-key: K` or `Authorization: Bearer K`;
    /// every key has full access (`[access] api_keys_env` alone: the principal
    /// [`LEGACY_PRINCIPAL`](crate::access::LEGACY_PRINCIPAL), role `admin`).
    Keys(Vec<Secret>),
    /// `[[access.principals]]`: each key belongs to a principal with a role and optional
    /// deployment and data-zone restrictions. Keys of `api_keys_env`, when there are any too,
    /// come first, as the `admin` principal [`LEGACY_PRINCIPAL`](crate::access::LEGACY_PRINCIPAL).
    Principals(Vec<PrincipalConfig>),
}

impl AccessControl {
    /// True when any caller is accepted.
    pub fn is_off(&self) -> bool {
        matches!(self, Self::Off)
    }

    /// Every principal, the legacy keys as one `admin` principal; empty when access control
    /// is off.
    pub fn principals(&self) -> Vec<PrincipalConfig> {
        match self {
            Self::Off => Vec::new(),
            Self::Keys(keys) => vec![PrincipalConfig::new(
                crate::access::LEGACY_PRINCIPAL,
                Role::Admin,
                keys.clone(),
            )],
            Self::Principals(p) => p.clone(),
        }
    }
}

/// One servable deployment: its routing facts plus how to reach it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeploymentConfig {
    /// Name, served model, price, region and profile.
    pub deployment: Deployment,
    /// How the gateway reaches it.
    pub upstream: UpstreamConfig,
    /// The `model` value sent upstream (the Azure deployment name or the provider's model id).
    pub upstream_model: String,
    /// Requests and tokens per minute (none by default).
    pub limits: RateLimits,
    /// The content filter checking pinned requests to it (routed requests use the router's).
    pub content_filter: Option<String>,
    /// Its Azure deployment type (`sku`), which says whether Azure keeps its requests in its
    /// region's data zone; `None` when the config does not say.
    pub sku: Option<DeploymentSku>,
    /// Its data zone (`eu`, `us`, ...): `data_zone` in the config, else derived from its
    /// region ([`data_zone_of`](crate::access::data_zone_of)) when its `sku` is a data-zone or
    /// regional type; `None` otherwise (no `sku` derives nothing: Azure's default type,
    /// `GlobalStandard`, may be processed in any region).
    pub data_zone: Option<String>,
}

/// How to reach a deployment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UpstreamConfig {
    /// Azure OpenAI or Foundry: `{endpoint}/openai/v1/responses`.
    Azure {
        /// Resource or project endpoint.
        endpoint: String,
        /// API key or Entra ID.
        auth: AzureAuth,
    },
    /// api.openai.com (or a base URL override).
    OpenAi {
        /// Base URL ending in `/v1`.
        base_url: String,
        /// Bearer key.
        api_key: Option<Secret>,
    },
    /// Any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, LiteLLM…).
    OpenAiCompatible {
        /// Base URL; `/responses` is appended.
        base_url: String,
        /// Optional bearer key.
        api_key: Option<Secret>,
    },
    /// The built-in simulated deployment.
    Emulator(EmulatorSettings),
}

impl UpstreamConfig {
    /// The kind as written in TOML.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Azure { .. } => "azure",
            Self::OpenAi { .. } => "openai",
            Self::OpenAiCompatible { .. } => "openai_compatible",
            Self::Emulator(_) => "emulator",
        }
    }
}

/// How to authenticate to Azure.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AzureAuth {
    /// `api-key` header.
    ApiKey(Secret),
    /// Entra ID bearer tokens for this scope, through `routewise-auth`.
    Entra {
        /// Token scope, default `https://ai.azure.com/.default`.
        scope: String,
    },
}

/// Behaviour of an emulated deployment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EmulatorSettings {
    /// Time to first token.
    pub ttft: Duration,
    /// Generation speed after the first token.
    pub tokens_per_second: f64,
    /// Fraction of requests answered `500 server_error`.
    pub error_rate: f64,
    /// Fraction of requests answered `429` with `retry-after-ms`.
    pub rate_limit_rate: f64,
    /// The `retry-after-ms` value on emulated 429s.
    pub retry_after: Duration,
    /// Fraction of streams that fail in-band after HTTP 200.
    pub stream_failure_rate: f64,
    /// Where an in-band failure happens: after this many text deltas (0 = before the first).
    pub fail_after_deltas: u32,
    /// Fraction of requests that stall for `stall` before answering.
    pub stall_rate: f64,
    /// Stall length.
    pub stall: Duration,
    /// How long a prompt prefix stays cached.
    pub cache_ttl: Duration,
}

impl Default for EmulatorSettings {
    fn default() -> Self {
        Self {
            ttft: Duration::from_millis(200),
            tokens_per_second: 100.0,
            error_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after: Duration::from_millis(1000),
            stream_failure_rate: 0.0,
            fail_after_deltas: 0,
            stall_rate: 0.0,
            stall: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(300),
        }
    }
}

/// A router deployment such as `model-router`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterConfig {
    /// The name callers put in `model`.
    pub name: String,
    /// Routing mode.
    pub mode: RoutingMode,
    /// The model subset (deployment names), also the failover set.
    pub models: Vec<String>,
    /// Which quality estimator ranks the candidates.
    pub estimator: EstimatorChoice,
    /// The router deployment's own quota (Foundry gives a router its own TPM pool).
    pub limits: RateLimits,
    /// The content filter applied to everything routed through it.
    pub content_filter: Option<String>,
    /// Which deployments its pool may hold (`data_zones`, `regions`); `models` satisfies it.
    pub residency: Residency,
}

/// The quality estimator behind a router deployment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EstimatorChoice {
    /// `routewise_strategy::HeuristicEstimator`: prompt features against capability profiles,
    /// with Foundry's documented bands (2 % / 6 % relative).
    Heuristic,
    /// The trained estimator shipped with `routewise-strategy` (the default), with the bands
    /// calibrated in training.
    #[default]
    Trained,
    /// A trained artifact written by `routewise train --out FILE`.
    Artifact(PathBuf),
}

/// Parses a routing mode (`balanced`, `quality` or `cost`, any case).
pub(crate) fn parse_mode(s: &str) -> Option<RoutingMode> {
    match s.to_ascii_lowercase().as_str() {
        "balanced" => Some(RoutingMode::Balanced),
        "quality" => Some(RoutingMode::Quality),
        "cost" => Some(RoutingMode::Cost),
        _ => None,
    }
}
