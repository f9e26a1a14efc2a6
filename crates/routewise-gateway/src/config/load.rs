//! From TOML text to a validated [`Config`].

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use routewise_auth::Secret;
use routewise_strategy::{CapabilityProfile, Deployment, Price, RoutingMode};
use serde::de::DeserializeOwned;

use super::raw::{
    RawAzure, RawConfig, RawDeployment, RawEmulator, RawLimits, RawOpenAi, RawStore,
    RawUpstreamKind,
};
use super::{
    AzureAuth, Config, ConfigError, DeploymentConfig, DeploymentSku, EmulatorSettings,
    EstimatorChoice, LimitsSettings, Problem, RateLimits, Residency, RouterConfig, ServerSettings,
    StoreSettings, UpstreamConfig,
};

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

const DEFAULT_ENTRA_SCOPE: &str = "https://ai.azure.com/.default";
const DEFAULT_OPENAI_BASE: &str = "https://api.openai.com/v1";

pub(super) fn load(text: &str, origin: &Path, env: Env<'_>) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::parse(text)
        .map_err(|e| ConfigError::syntax(origin, String::new(), one_line(&e.to_string())))?;
    let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        ConfigError::syntax(
            origin,
            path_string(e.path()),
            one_line(&e.inner().to_string()),
        )
    })?;
    Validator { origin, env }.config(raw)
}

/// toml's messages span several lines with a source excerpt; keep the first meaningful one
/// and the line/column so the error fits one log line.
fn one_line(msg: &str) -> String {
    let mut lines = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.starts_with('^'));
    let first = lines.next().unwrap_or_default().to_owned();
    let rest: Vec<&str> = lines
        .filter(|l| !l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect();
    if rest.is_empty() {
        first
    } else {
        format!("{first} {}", rest.join(" "))
    }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." { String::new() } else { s }
}

struct Validator<'a> {
    origin: &'a Path,
    env: Env<'a>,
}

impl Validator<'_> {
    fn invalid(&self, key: impl Into<String>, msg: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.origin, key, msg)
    }

    /// A rule shared with configs built in code, broken by this file.
    fn problem(&self, p: Problem) -> ConfigError {
        ConfigError::invalid(self.origin, p.key, p.message)
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let server = self.server(&raw)?;
        let legacy_keys = super::access::legacy_keys(self.origin, self.env, &raw)?;
        let named = self.named_upstreams(&raw.upstreams)?;
        let filters = super::filter::filters(self.origin, &raw.content_filters)?;
        let mut deployments = Vec::with_capacity(raw.deployments.len());
        let mut names = HashSet::new();
        for (i, d) in raw.deployments.iter().enumerate() {
            let key = format!("deployments[{i}]");
            let mut dc = self.deployment(&key, d, &named)?;
            dc.content_filter =
                super::filter::reference(self.origin, &filters, &key, d.content_filter.as_deref())?;
            if !names.insert(dc.deployment.name.clone()) {
                return Err(self.invalid(
                    format!("{key}.name"),
                    format!("duplicate deployment name {:?}", dc.deployment.name),
                ));
            }
            deployments.push(dc);
        }
        if deployments.is_empty() {
            return Err(self.invalid(
                "deployments",
                "no deployment defined; add at least one [[deployments]] table",
            ));
        }
        let routers = match &raw.routers {
            None => vec![RouterConfig {
                name: "model-router".into(),
                mode: RoutingMode::Balanced,
                models: deployments
                    .iter()
                    .map(|d| d.deployment.name.clone())
                    .collect(),
                estimator: EstimatorChoice::default(),
                limits: RateLimits::default(),
                content_filter: None,
                residency: Residency::default(),
            }],
            Some(list) => {
                let mut out: Vec<RouterConfig> = Vec::with_capacity(list.len());
                for (i, r) in list.iter().enumerate() {
                    let key = format!("routers[{i}]");
                    if r.name.trim().is_empty() {
                        return Err(self.invalid(format!("{key}.name"), "must not be empty"));
                    }
                    if names.contains(&r.name) || out.iter().any(|o| o.name == r.name) {
                        return Err(self.invalid(
                            format!("{key}.name"),
                            format!("{:?} is already a deployment or router name", r.name),
                        ));
                    }
                    let mode = match &r.mode {
                        None => RoutingMode::Balanced,
                        Some(m) => super::parse_mode(m).ok_or_else(|| {
                            self.invalid(
                                format!("{key}.mode"),
                                format!("unknown mode {m:?} (expected balanced, quality or cost)"),
                            )
                        })?,
                    };
                    // An empty or missing subset falls back to every deployment (in the
                    // router's data zones and regions), as on Foundry.
                    let listed = match &r.models {
                        Some(m) if !m.is_empty() => {
                            for (j, name) in m.iter().enumerate() {
                                if !names.contains(name) {
                                    return Err(self.invalid(
                                        format!("{key}.models[{j}]"),
                                        format!(
                                            "unknown deployment {name:?} (defined: {})",
                                            list_names(&deployments)
                                        ),
                                    ));
                                }
                            }
                            Some(m.as_slice())
                        }
                        _ => None,
                    };
                    let residency = super::residency::router_rule(
                        self.origin,
                        &key,
                        r.data_zones.as_deref(),
                        r.regions.as_deref(),
                    )?;
                    let models = super::residency::router_pool(&residency, listed, &deployments);
                    let estimator = match r.estimator.as_deref() {
                        None => EstimatorChoice::default(),
                        Some("heuristic") => EstimatorChoice::Heuristic,
                        Some("trained") => EstimatorChoice::Trained,
                        Some(path) => {
                            let base = self.origin.parent().unwrap_or(Path::new("."));
                            let path = base.join(path);
                            if !path.is_file() {
                                return Err(self.invalid(
                                    format!("{key}.estimator"),
                                    format!(
                                        "{} is neither \"heuristic\", \"trained\" nor an artifact file",
                                        path.display()
                                    ),
                                ));
                            }
                            EstimatorChoice::Artifact(path)
                        }
                    };
                    let limits = self.rate_limits(&key, r.rpm, r.tpm)?;
                    let router = RouterConfig {
                        name: r.name.clone(),
                        mode,
                        models,
                        estimator,
                        limits,
                        content_filter: super::filter::reference(
                            self.origin,
                            &filters,
                            &key,
                            r.content_filter.as_deref(),
                        )?,
                        residency,
                    };
                    super::residency::check_router(&key, &router, &deployments)
                        .map_err(|p| self.problem(p))?;
                    out.push(router);
                }
                out
            }
        };
        let access = super::access::access(
            self.origin,
            self.env,
            &raw,
            legacy_keys,
            &deployments,
            &routers,
        )?;
        let store = raw.store.as_ref().map(|s| self.store(s)).transpose()?;
        let background = super::background::background(self.origin, &raw.background)?;
        let limits = raw.limits.as_ref().map(|l| self.limits(l)).transpose()?;
        if store.is_none() && limits.is_none() {
            self.limits_need_redis(&deployments, &routers)?;
        }
        Ok(Config {
            origin: self.origin.to_path_buf(),
            server,
            access,
            deployments,
            routers,
            store,
            limits,
            content_filters: filters,
            background,
        })
    }

    /// `rpm` and `tpm` of one deployment or router: positive integers (the types are checked
    /// by serde, so `1.5` and `-1` fail there with the key's path).
    fn rate_limits(
        &self,
        key: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
    ) -> Result<RateLimits, ConfigError> {
        let rpm = match rpm {
            Some(0) => return Err(self.invalid(format!("{key}.rpm"), "must be greater than 0")),
            Some(v) => Some(u32::try_from(v).map_err(|_| {
                self.invalid(
                    format!("{key}.rpm"),
                    format!("{v} is more than {}", u32::MAX),
                )
            })?),
            None => None,
        };
        if tpm == Some(0) {
            return Err(self.invalid(format!("{key}.tpm"), "must be greater than 0"));
        }
        Ok(RateLimits::new(rpm, tpm))
    }

    /// Rate limits are shared by every replica, so they live in Redis: a limit without one is
    /// refused at start-up rather than silently enforced per process.
    fn limits_need_redis(
        &self,
        deployments: &[DeploymentConfig],
        routers: &[RouterConfig],
    ) -> Result<(), ConfigError> {
        let limited = deployments
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("deployments[{i}]"), &d.deployment.name, d.limits))
            .chain(
                routers
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("routers[{i}]"), &r.name, r.limits)),
            )
            .find(|(_, _, l)| l.is_limited());
        match limited {
            None => Ok(()),
            Some((key, name, limits)) => {
                let field = if limits.rpm.is_some() { "rpm" } else { "tpm" };
                Err(self.invalid(
                    format!("{key}.{field}"),
                    format!(
                        "{name:?} has a rate limit, which needs Redis (shared by every replica): \
                         add a [limits] or [store] table with redis_url or redis_url_env"
                    ),
                ))
            }
        }
    }

    fn limits(&self, l: &RawLimits) -> Result<LimitsSettings, ConfigError> {
        let url = self.redis_url(
            "limits",
            l.redis_url_env.as_deref(),
            l.redis_url.as_ref().map(|u| u.0.as_str()),
        )?;
        let mut out = LimitsSettings::new(url);
        if let Some(prefix) = &l.key_prefix {
            out.key_prefix.clone_from(prefix);
        }
        Ok(out)
    }

    /// The Redis URL of the `table` (`store` or `limits`), from the file or the environment.
    fn redis_url(
        &self,
        table: &str,
        var: Option<&str>,
        url: Option<&str>,
    ) -> Result<String, ConfigError> {
        let url = match (var, url) {
            (Some(_), Some(_)) => {
                return Err(self.invalid(
                    format!("{table}.redis_url"),
                    "give either redis_url or redis_url_env, not both",
                ));
            }
            (Some(var), None) => (self.env)(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    ConfigError::missing_env(self.origin, format!("{table}.redis_url_env"), var)
                })?,
            (None, Some(url)) => url.to_owned(),
            (None, None) => {
                return Err(self.invalid(
                    table,
                    "needs redis_url = \"redis://127.0.0.1:6379\" or redis_url_env = \"VAR\"",
                ));
            }
        };
        let key = if var.is_some() {
            format!("{table}.redis_url_env")
        } else {
            format!("{table}.redis_url")
        };
        // Checked here so a typo fails start-up; the message never repeats the URL (it may
        // carry a password).
        if !(url.starts_with("redis://") || url.starts_with("rediss://"))
            || redis::Client::open(url.as_str()).is_err()
        {
            return Err(self.invalid(
                key,
                "is not a redis:// URL such as redis://127.0.0.1:6379/0",
            ));
        }
        if var.is_none()
            && redis::Client::open(url.as_str()).is_ok_and(|c| {
                c.get_connection_info()
                    .redis_settings()
                    .password()
                    .is_some()
            })
        {
            return Err(self.invalid(
                key,
                format!(
                    "carries a password, and secrets never go in the file; put the URL in an \
                     environment variable and name it in {table}.redis_url_env"
                ),
            ));
        }
        Ok(url)
    }

    fn store(&self, s: &RawStore) -> Result<StoreSettings, ConfigError> {
        let url = self.redis_url(
            "store",
            s.redis_url_env.as_deref(),
            s.redis_url.as_ref().map(|u| u.0.as_str()),
        )?;
        let mut out = StoreSettings::new(url);
        if let Some(ttl) = s.ttl_secs {
            if ttl == 0 {
                return Err(self.invalid("store.ttl_secs", "must be greater than 0"));
            }
            out.ttl = Duration::from_secs(ttl);
        }
        if let Some(prefix) = &s.key_prefix {
            out.key_prefix.clone_from(prefix);
        }
        Ok(out)
    }

    fn server(&self, raw: &RawConfig) -> Result<ServerSettings, ConfigError> {
        let s = &raw.server;
        let mut out = ServerSettings {
            open_access: s.access_control == Some(false),
            ..ServerSettings::default()
        };
        if let Some(listen) = &s.listen {
            out.listen = listen.parse::<SocketAddr>().map_err(|_| {
                self.invalid(
                    "server.listen",
                    format!("{listen:?} is not a socket address such as 127.0.0.1:8080"),
                )
            })?;
        }
        let positive = |key: &str, v: Option<u64>| -> Result<Option<u64>, ConfigError> {
            match v {
                Some(0) => Err(self.invalid(format!("server.{key}"), "must be greater than 0")),
                other => Ok(other),
            }
        };
        if let Some(v) = positive("max_body_bytes", s.max_body_bytes)? {
            out.max_body_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = positive("max_header_bytes", s.max_header_bytes)? {
            if v < 8192 {
                return Err(self.invalid("server.max_header_bytes", "must be at least 8192"));
            }
            out.max_header_bytes = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = positive("max_headers", s.max_headers)? {
            out.max_headers = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = positive("max_connections", s.max_connections)? {
            let max = ServerSettings::MAX_CONNECTIONS;
            out.max_connections =
                usize::try_from(v)
                    .ok()
                    .filter(|&v| v <= max)
                    .ok_or_else(|| {
                        self.invalid("server.max_connections", format!("{v} is more than {max}"))
                    })?;
        }
        let ms = |v: Option<u64>| v.map(Duration::from_millis);
        out.header_read_timeout = ms(positive(
            "header_read_timeout_ms",
            s.header_read_timeout_ms,
        )?)
        .unwrap_or(out.header_read_timeout);
        out.body_read_timeout = ms(positive("body_read_timeout_ms", s.body_read_timeout_ms)?)
            .unwrap_or(out.body_read_timeout);
        out.write_timeout =
            ms(positive("write_timeout_ms", s.write_timeout_ms)?).unwrap_or(out.write_timeout);
        out.upstream_timeout = ms(positive("upstream_timeout_ms", s.upstream_timeout_ms)?)
            .unwrap_or(out.upstream_timeout);
        out.shutdown_grace = ms(s.shutdown_grace_ms).unwrap_or(out.shutdown_grace);
        Ok(out)
    }

    fn named_upstreams(
        &self,
        raw: &BTreeMap<String, toml::Value>,
    ) -> Result<BTreeMap<String, (UpstreamConfig, RawEmulator)>, ConfigError> {
        raw.iter()
            .map(|(name, value)| {
                Ok((
                    name.clone(),
                    self.upstream(&format!("upstreams.{name}"), value)?,
                ))
            })
            .collect()
    }

    /// Returns the upstream plus, for emulators, its raw knobs so deployments can override some.
    fn upstream(
        &self,
        key: &str,
        value: &toml::Value,
    ) -> Result<(UpstreamConfig, RawEmulator), ConfigError> {
        let kind: RawUpstreamKind = self.sub(key, value)?;
        match kind.kind.as_str() {
            "azure" => {
                let a: RawAzure = self.sub(key, value)?;
                let endpoint = self.url(&format!("{key}.endpoint"), &a.endpoint)?;
                let auth = match (a.auth.as_deref(), &a.api_key_env) {
                    (Some("entra"), None) => AzureAuth::Entra { scope: a.scope.unwrap_or_else(|| DEFAULT_ENTRA_SCOPE.into()) },
                    (Some("entra"), Some(_)) => {
                        return Err(self.invalid(format!("{key}.api_key_env"), "not used with auth = \"entra\"; remove it"));
                    }
                    (None | Some("api_key"), Some(var)) => {
                        if a.scope.is_some() {
                            return Err(self.invalid(format!("{key}.scope"), "only used with auth = \"entra\""));
                        }
                        AzureAuth::ApiKey(self.secret(&format!("{key}.api_key_env"), var)?)
                    }
                    (None | Some("api_key"), None) => {
                        return Err(self.invalid(
                            format!("{key}.api_key_env"),
                            "missing: name the environment variable holding the key, or set auth = \"entra\"",
                        ));
                    }
                    (Some(other), _) => {
                        return Err(self.invalid(format!("{key}.auth"), format!("unknown auth {other:?} (expected api_key or entra)")));
                    }
                };
                Ok((UpstreamConfig::Azure { endpoint, auth }, RawEmulator::default()))
            }
            "openai" | "openai_compatible" => {
                let o: RawOpenAi = self.sub(key, value)?;
                let api_key = match &o.api_key_env {
                    Some(var) => Some(self.secret(&format!("{key}.api_key_env"), var)?),
                    None => None,
                };
                if kind.kind == "openai" {
                    if api_key.is_none() {
                        return Err(self.invalid(format!("{key}.api_key_env"), "missing: kind \"openai\" needs a key (e.g. OPENAI_API_KEY)"));
                    }
                    let base_url = self.url(&format!("{key}.base_url"), o.base_url.as_deref().unwrap_or(DEFAULT_OPENAI_BASE))?;
                    Ok((UpstreamConfig::OpenAi { base_url, api_key }, RawEmulator::default()))
                } else {
                    let base = o.base_url.as_deref().ok_or_else(|| {
                        self.invalid(format!("{key}.base_url"), "missing: kind \"openai_compatible\" needs base_url (e.g. http://127.0.0.1:8000/v1)")
                    })?;
                    let base_url = self.url(&format!("{key}.base_url"), base)?;
                    Ok((UpstreamConfig::OpenAiCompatible { base_url, api_key }, RawEmulator::default()))
                }
            }
            "emulator" => {
                let e: RawEmulator = self.sub(key, value)?;
                let settings = self.emulator(key, &e)?;
                Ok((UpstreamConfig::Emulator(settings), e))
            }
            other => Err(self.invalid(
                format!("{key}.kind"),
                format!("unknown upstream kind {other:?} (expected azure, openai, openai_compatible or emulator)"),
            )),
        }
    }

    fn emulator(&self, key: &str, e: &RawEmulator) -> Result<EmulatorSettings, ConfigError> {
        let mut s = EmulatorSettings::default();
        let rate = |name: &str, v: Option<f64>, dflt: f64| -> Result<f64, ConfigError> {
            match v {
                None => Ok(dflt),
                Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
                Some(r) => Err(self.invalid(
                    format!("{key}.{name}"),
                    format!("{r} is not a fraction between 0 and 1"),
                )),
            }
        };
        s.error_rate = rate("error_rate", e.error_rate, s.error_rate)?;
        s.rate_limit_rate = rate("rate_limit_rate", e.rate_limit_rate, s.rate_limit_rate)?;
        s.stream_failure_rate = rate(
            "stream_failure_rate",
            e.stream_failure_rate,
            s.stream_failure_rate,
        )?;
        s.stall_rate = rate("stall_rate", e.stall_rate, s.stall_rate)?;
        if let Some(tps) = e.tokens_per_second {
            if tps.is_nan() || tps <= 0.0 {
                return Err(
                    self.invalid(format!("{key}.tokens_per_second"), "must be greater than 0")
                );
            }
            s.tokens_per_second = tps;
        }
        if let Some(v) = e.ttft_ms {
            s.ttft = Duration::from_millis(v);
        }
        if let Some(v) = e.retry_after_ms {
            s.retry_after = Duration::from_millis(v);
        }
        if let Some(v) = e.fail_after_deltas {
            s.fail_after_deltas = v;
        }
        if let Some(v) = e.stall_ms {
            s.stall = Duration::from_millis(v);
        }
        if let Some(v) = e.cache_ttl_secs {
            s.cache_ttl = Duration::from_secs(v);
        }
        Ok(s)
    }

    fn deployment(
        &self,
        key: &str,
        d: &RawDeployment,
        named: &BTreeMap<String, (UpstreamConfig, RawEmulator)>,
    ) -> Result<DeploymentConfig, ConfigError> {
        if d.name.trim().is_empty() {
            return Err(self.invalid(format!("{key}.name"), "must not be empty"));
        }
        let ukey = format!("{key}.upstream");
        let (mut upstream, base_emu) = match &d.upstream {
            toml::Value::String(name) => named.get(name).cloned().ok_or_else(|| {
                let defined: Vec<&str> = named.keys().map(String::as_str).collect();
                self.invalid(
                    &ukey,
                    format!(
                        "unknown upstream {name:?} (defined: {})",
                        if defined.is_empty() {
                            "none".into()
                        } else {
                            defined.join(", ")
                        }
                    ),
                )
            })?,
            table @ toml::Value::Table(_) => self.upstream(&ukey, table)?,
            _ => {
                return Err(ConfigError::syntax(
                    self.origin,
                    ukey,
                    "expected an upstream name or an inline table".into(),
                ));
            }
        };
        if let Some(over) = &d.emulator {
            let ekey = format!("{key}.emulator");
            if over.kind.is_some() {
                return Err(self.invalid(
                    format!("{ekey}.kind"),
                    "not allowed here; the kind comes from the upstream",
                ));
            }
            match &mut upstream {
                UpstreamConfig::Emulator(settings) => {
                    *settings = self.emulator(&ekey, &base_emu.merged(over))?
                }
                other => {
                    if !over.is_empty() {
                        return Err(self.invalid(
                            ekey,
                            format!("only applies to emulator upstreams, not {:?}", other.kind()),
                        ));
                    }
                }
            }
        }
        let model = d.model.clone().unwrap_or_else(|| d.name.clone());
        let mut deployment = Deployment::new(d.name.clone()).with_model(model.clone());
        if let Some(p) = &d.price {
            for (field, v) in [
                ("input_per_1m", p.input_per_1m),
                ("output_per_1m", p.output_per_1m),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(self.invalid(
                        format!("{key}.price.{field}"),
                        format!("{v} is not a non-negative price"),
                    ));
                }
            }
            deployment = deployment.with_price(Price::new(p.input_per_1m, p.output_per_1m));
        }
        if let Some(r) = &d.region {
            deployment = deployment.with_region(r.clone());
        }
        let sku = d
            .sku
            .as_deref()
            .map(|s| {
                s.parse::<DeploymentSku>()
                    .map_err(|e| self.invalid(format!("{key}.sku"), e.to_string()))
            })
            .transpose()?;
        let data_zone = super::residency::deployment_zone(
            self.origin,
            key,
            d.data_zone.as_deref(),
            d.region.as_deref(),
            sku,
        )?;
        if let Some(p) = &d.profile {
            for (field, v) in [
                ("general", p.general),
                ("reasoning", p.reasoning),
                ("math", p.math),
                ("coding", p.coding),
            ] {
                if !(0.0..=1.0).contains(&v) {
                    return Err(self.invalid(
                        format!("{key}.profile.{field}"),
                        format!("{v} is not a score between 0 and 1"),
                    ));
                }
            }
            let mut profile = CapabilityProfile::uniform(0.0).with_skills(
                p.general,
                p.reasoning,
                p.math,
                p.coding,
            );
            if let Some(cw) = p.context_window {
                profile = profile.with_context_window(cw);
            }
            profile = profile.with_reasoning_model(
                p.reasoning_model
                    .unwrap_or_else(|| routewise_strategy::looks_like_reasoning_model(&model)),
            );
            deployment = deployment.with_profile(profile);
        }
        // Azure routes by its own deployment name; other providers by model id.
        let upstream_model = d.upstream_model.clone().unwrap_or_else(|| match upstream {
            UpstreamConfig::Azure { .. } => d.name.clone(),
            _ => model.clone(),
        });
        let limits = self.rate_limits(key, d.rpm, d.tpm)?;
        let out = DeploymentConfig {
            deployment,
            upstream,
            upstream_model,
            limits,
            content_filter: None,
            sku,
            data_zone,
        };
        super::residency::check_deployment_zone(key, &out).map_err(|p| self.problem(p))?;
        Ok(out)
    }

    fn sub<T: DeserializeOwned>(&self, key: &str, value: &toml::Value) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let inner = path_string(e.path());
            let path = if inner.is_empty() {
                key.to_owned()
            } else {
                format!("{key}.{inner}")
            };
            ConfigError::syntax(self.origin, path, one_line(&e.inner().to_string()))
        })
    }

    fn url(&self, key: &str, value: &str) -> Result<String, ConfigError> {
        match super::upstream_url::url_problem(value) {
            None => Ok(value.trim().trim_end_matches('/').to_owned()),
            Some(why) => Err(self.invalid(key, why)),
        }
    }

    fn secret(&self, key: &str, var: &str) -> Result<Secret, ConfigError> {
        (self.env)(var)
            .filter(|v| !v.trim().is_empty())
            .map(Secret::new)
            .ok_or_else(|| ConfigError::missing_env(self.origin, key, var))
    }
}

fn list_names(deployments: &[DeploymentConfig]) -> String {
    deployments
        .iter()
        .map(|d| d.deployment.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
