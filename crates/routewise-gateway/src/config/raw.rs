//! The TOML document as written, before validation. Every table denies unknown keys so a typo
//! fails start-up instead of being silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub access: RawAccess,
    /// Named upstreams; each value is checked against [`RawUpstream`] with its own key path.
    #[serde(default)]
    pub upstreams: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub deployments: Vec<RawDeployment>,
    /// `None` means "give me the default `model-router`"; `Some([])` means no router.
    pub routers: Option<Vec<RawRouter>>,
    /// Stored responses (`GET /responses/{id}`, `previous_response_id`) in Redis.
    pub store: Option<RawStore>,
    /// Where rate limits are counted (default: the `[store]` Redis).
    pub limits: Option<RawLimits>,
    /// Lease timing and the stream-follower cap of background responses.
    #[serde(default)]
    pub background: RawBackground,
    /// Named blocklist filters, referenced by `content_filter`.
    #[serde(default)]
    pub content_filters: Vec<super::filter::RawContentFilter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    /// As in `[store]`: an environment variable holding a `redis://` URL.
    pub redis_url_env: Option<String>,
    /// As in `[store]`: a `redis://` URL without a password.
    pub redis_url: Option<FileUrl>,
    pub key_prefix: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    /// The name of an environment variable holding a `redis://` URL (it may carry a password).
    pub redis_url_env: Option<String>,
    /// A `redis://` URL written in the file (no password here; use `redis_url_env` for one).
    pub redis_url: Option<FileUrl>,
    pub ttl_secs: Option<u64>,
    pub key_prefix: Option<String>,
}

/// A Redis URL written in the file. Its `Debug` shows only that it is set: validation refuses
/// one with a password, but the raw table exists before validation runs.
#[derive(Deserialize)]
#[serde(transparent)]
pub(super) struct FileUrl(pub String);

impl std::fmt::Debug for FileUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackground {
    pub lease_ttl_ms: Option<u64>,
    pub tick_ms: Option<u64>,
    pub max_stream_followers: Option<u64>,
    pub max_running: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub listen: Option<String>,
    pub access_control: Option<bool>,
    pub max_body_bytes: Option<u64>,
    pub max_header_bytes: Option<u64>,
    pub max_headers: Option<u64>,
    pub max_connections: Option<u64>,
    pub header_read_timeout_ms: Option<u64>,
    pub body_read_timeout_ms: Option<u64>,
    pub write_timeout_ms: Option<u64>,
    pub upstream_timeout_ms: Option<u64>,
    pub shutdown_grace_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccess {
    /// Names of environment variables, each holding one key or a comma-separated list.
    #[serde(default)]
    pub api_keys_env: Vec<String>,
    /// Principals with roles (`[[access.principals]]`).
    #[serde(default)]
    pub principals: Vec<RawPrincipal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrincipal {
    pub name: String,
    /// An environment variable holding one key or a comma-separated list.
    pub keys_env: String,
    pub role: String,
    /// Deployments and routers it may name in `model` (default: all).
    pub deployments: Option<Vec<String>>,
    /// Data zones its requests may be served in (default: any).
    pub data_zones: Option<Vec<String>>,
    /// Whose stored responses it creates and sees (default: its name).
    pub tenant: Option<String>,
}

/// Read first, to pick the kind-specific shape below.
#[derive(Debug, Deserialize)]
pub(super) struct RawUpstreamKind {
    pub kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAzure {
    #[allow(dead_code)]
    pub kind: String,
    pub endpoint: String,
    pub auth: Option<String>,
    pub api_key_env: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOpenAi {
    #[allow(dead_code)]
    pub kind: String,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmulator {
    /// Only meaningful (and only allowed) on an upstream table.
    pub kind: Option<String>,
    pub ttft_ms: Option<u64>,
    pub tokens_per_second: Option<f64>,
    pub error_rate: Option<f64>,
    pub rate_limit_rate: Option<f64>,
    pub retry_after_ms: Option<u64>,
    pub stream_failure_rate: Option<f64>,
    pub fail_after_deltas: Option<u32>,
    pub stall_rate: Option<f64>,
    pub stall_ms: Option<u64>,
    pub cache_ttl_secs: Option<u64>,
}

impl RawEmulator {
    pub fn is_empty(&self) -> bool {
        self.ttft_ms.is_none()
            && self.tokens_per_second.is_none()
            && self.error_rate.is_none()
            && self.rate_limit_rate.is_none()
            && self.retry_after_ms.is_none()
            && self.stream_failure_rate.is_none()
            && self.fail_after_deltas.is_none()
            && self.stall_rate.is_none()
            && self.stall_ms.is_none()
            && self.cache_ttl_secs.is_none()
    }

    /// Fields set in `over` win.
    pub fn merged(&self, over: &RawEmulator) -> RawEmulator {
        RawEmulator {
            kind: None,
            ttft_ms: over.ttft_ms.or(self.ttft_ms),
            tokens_per_second: over.tokens_per_second.or(self.tokens_per_second),
            error_rate: over.error_rate.or(self.error_rate),
            rate_limit_rate: over.rate_limit_rate.or(self.rate_limit_rate),
            retry_after_ms: over.retry_after_ms.or(self.retry_after_ms),
            stream_failure_rate: over.stream_failure_rate.or(self.stream_failure_rate),
            fail_after_deltas: over.fail_after_deltas.or(self.fail_after_deltas),
            stall_rate: over.stall_rate.or(self.stall_rate),
            stall_ms: over.stall_ms.or(self.stall_ms),
            cache_ttl_secs: over.cache_ttl_secs.or(self.cache_ttl_secs),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeployment {
    pub name: String,
    pub model: Option<String>,
    /// A string naming an `[upstreams.X]` table, or an inline upstream table.
    pub upstream: toml::Value,
    pub upstream_model: Option<String>,
    pub price: Option<RawPrice>,
    pub region: Option<String>,
    /// Azure's deployment type (`GlobalStandard`, `DataZoneStandard`, `Standard`, ...).
    pub sku: Option<String>,
    /// The data zone (`eu`, `us`, ...); derived from `region` when absent and `sku` keeps
    /// requests in the region's zone.
    pub data_zone: Option<String>,
    pub profile: Option<RawProfile>,
    pub emulator: Option<RawEmulator>,
    /// Requests per minute (enforced over 1 s windows).
    pub rpm: Option<u64>,
    /// Tokens per minute, charged at admission from an estimate.
    pub tpm: Option<u64>,
    /// A `[[content_filters]]` name.
    pub content_filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrice {
    pub input_per_1m: f64,
    pub output_per_1m: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProfile {
    pub general: f64,
    pub reasoning: f64,
    pub math: f64,
    pub coding: f64,
    pub context_window: Option<u32>,
    pub reasoning_model: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouter {
    pub name: String,
    pub mode: Option<String>,
    pub models: Option<Vec<String>>,
    pub estimator: Option<String>,
    /// The router deployment's own request pool.
    pub rpm: Option<u64>,
    /// The router deployment's own token pool.
    pub tpm: Option<u64>,
    /// A `[[content_filters]]` name, applied to everything routed through it.
    pub content_filter: Option<String>,
    /// Only deployments in these data zones may be in its pool (and failover set).
    pub data_zones: Option<Vec<String>>,
    /// Only deployments in these regions may be in its pool (and failover set).
    pub regions: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_url_never_shows_in_debug() {
        let store: super::RawStore =
            toml::from_str("redis_url = \"redis://:hunter2@127.0.0.1:6379/0\"").unwrap();
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
