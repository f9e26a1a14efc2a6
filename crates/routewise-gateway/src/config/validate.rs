//! The rules a [`Config`] obeys however it was made. The loader applies each one as it builds
//! the part it governs (and reports a [`ConfigError`](super::ConfigError) naming the file);
//! `Gateway::from_config` applies them all again, because a `Config`'s fields are public and a
//! config built or changed in code never went through the loader. One function per concern,
//! shared by both, so the two can never disagree.

use super::{Config, UpstreamConfig, access, residency, upstream_url};

/// A broken rule: the key to blame, spelled as in the file (`routers[1].models[0]`,
/// `access.principals[2].data_zones[0]`), and what is wrong (never a key's value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Data residency: every deployment's `data_zone` ([`residency::check_deployment_zone`]) and
/// every router's rule and pool ([`residency::check_router`]).
pub(crate) fn check_residency(config: &Config) -> Result<(), Problem> {
    for (i, d) in config.deployments.iter().enumerate() {
        residency::check_deployment_zone(&format!("deployments[{i}]"), d)?;
    }
    for (i, r) in config.routers.iter().enumerate() {
        residency::check_router(&format!("routers[{i}]"), r, &config.deployments)?;
    }
    Ok(())
}

/// Access control: keys and principals ([`access::check_access`]).
pub(crate) fn check_access(config: &Config) -> Result<(), Problem> {
    access::check_access(&config.access, &config.deployments, &config.routers)
}

/// Upstream URLs: http(s) with a host, and nothing that could carry a credential
/// ([`upstream_url::url_problem`]).
pub(crate) fn check_upstream_urls(config: &Config) -> Result<(), Problem> {
    for (i, d) in config.deployments.iter().enumerate() {
        let (field, url) = match &d.upstream {
            UpstreamConfig::Azure { endpoint, .. } => ("endpoint", endpoint),
            UpstreamConfig::OpenAi { base_url, .. }
            | UpstreamConfig::OpenAiCompatible { base_url, .. } => ("base_url", base_url),
            UpstreamConfig::Emulator(_) => continue,
        };
        if let Some(why) = upstream_url::url_problem(url) {
            return Err(Problem::new(
                format!("deployments[{i}].upstream.{field}"),
                why,
            ));
        }
    }
    Ok(())
}
