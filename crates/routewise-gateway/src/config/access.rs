//! `[access]`: the legacy `api_keys_env` keys and the `[[access.principals]]` with roles,
//! checked against the deployments and routers they name.

use std::path::Path;

use routewise_auth::Secret;

use super::raw::{RawConfig, RawPrincipal};
use super::residency::zones;
use super::{AccessControl, ConfigError, DeploymentConfig, RouterConfig};
use crate::access::{LEGACY_PRINCIPAL, Role};

/// Longest principal or tenant name.
const MAX_NAME: usize = 64;

/// One `[[access.principals]]` entry: a named set of keys with a role, optionally limited to
/// some deployments and data zones.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrincipalConfig {
    /// Shown in logs and 403 messages (never a key).
    pub name: String,
    /// Whose stored responses it creates and sees (default: `name`).
    pub tenant: String,
    /// What it may do.
    pub role: Role,
    /// Its keys (`Secret`s: redacted in `Debug`).
    pub keys: Vec<Secret>,
    /// Deployments and routers it may name in `model`; `None` for all.
    pub deployments: Option<Vec<String>>,
    /// Data zones its requests may be served in (lowercase); `None` for any.
    pub data_zones: Option<Vec<String>>,
}

impl PrincipalConfig {
    /// A principal with these keys and role, unrestricted, its own tenant.
    pub fn new(name: impl Into<String>, role: Role, keys: Vec<Secret>) -> Self {
        let name = name.into();
        Self {
            tenant: name.clone(),
            name,
            role,
            keys,
            deployments: None,
            data_zones: None,
        }
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The keys of every variable in `access.api_keys_env` (checked first, as before principals
/// existed, so an unset variable is reported as it always was).
pub(super) fn legacy_keys(
    origin: &Path,
    env: Env<'_>,
    raw: &RawConfig,
) -> Result<Vec<Secret>, ConfigError> {
    let mut keys = Vec::new();
    for (i, var) in raw.access.api_keys_env.iter().enumerate() {
        keys.extend(read_keys(
            origin,
            env,
            &format!("access.api_keys_env[{i}]"),
            var,
        )?);
    }
    Ok(keys)
}

/// One variable's keys: set, not blank, split at commas.
fn read_keys(
    origin: &Path,
    env: Env<'_>,
    key: &str,
    var: &str,
) -> Result<Vec<Secret>, ConfigError> {
    let value = env(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError::missing_env(origin, key, var))?;
    Ok(value
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(Secret::new)
        .collect())
}

/// The whole `[access]` table, given the legacy keys, the deployments and the routers.
pub(super) fn access(
    origin: &Path,
    env: Env<'_>,
    raw: &RawConfig,
    legacy: Vec<Secret>,
    deployments: &[DeploymentConfig],
    routers: &[RouterConfig],
) -> Result<AccessControl, ConfigError> {
    let mut principals: Vec<PrincipalConfig> = Vec::with_capacity(raw.access.principals.len());
    for (i, p) in raw.access.principals.iter().enumerate() {
        let key = format!("access.principals[{i}]");
        let pc = principal(origin, env, &key, p, deployments, routers)?;
        if principals.iter().any(|o| o.name == pc.name) {
            return Err(ConfigError::invalid(
                origin,
                format!("{key}.name"),
                format!("duplicate principal name {:?}", pc.name),
            ));
        }
        // A key must name one principal, or the role a request gets would depend on order.
        // The message names the variable and the other principal, never the key.
        let taken = |k: &Secret| {
            if legacy.contains(k) {
                return Some(LEGACY_PRINCIPAL);
            }
            principals
                .iter()
                .find(|o| o.keys.contains(k))
                .map(|o| o.name.as_str())
        };
        if let Some(other) = pc.keys.iter().find_map(taken) {
            return Err(ConfigError::invalid(
                origin,
                format!("{key}.keys_env"),
                format!(
                    "a key in {} is also a key of principal {other:?}; each key must belong to \
                     one principal",
                    p.keys_env
                ),
            ));
        }
        principals.push(pc);
    }
    let any_key = !legacy.is_empty() || !principals.is_empty();
    match raw.server.access_control {
        Some(true) if !any_key => {
            return Err(ConfigError::invalid(
                origin,
                "server.access_control",
                "is true but no key is configured; set access.api_keys_env = [\"VAR\"] or add \
                 [[access.principals]]",
            ));
        }
        Some(false) if any_key => {
            let what = if legacy.is_empty() {
                "[[access.principals]] lists keys"
            } else {
                "access.api_keys_env lists keys"
            };
            return Err(ConfigError::invalid(
                origin,
                "server.access_control",
                format!("is false but {what}; remove one of the two"),
            ));
        }
        _ => {}
    }
    Ok(match (legacy.is_empty(), principals.is_empty()) {
        (true, true) => AccessControl::Off,
        (false, true) => AccessControl::Keys(legacy),
        (true, false) => AccessControl::Principals(principals),
        (false, false) => {
            let mut all = Vec::with_capacity(principals.len() + 1);
            all.push(PrincipalConfig::new(LEGACY_PRINCIPAL, Role::Admin, legacy));
            all.extend(principals);
            AccessControl::Principals(all)
        }
    })
}

/// A name shown in logs, 403s and stored records: plain characters only, so nothing a config
/// says can forge a log field.
fn check_name(origin: &Path, key: &str, name: &str) -> Result<(), ConfigError> {
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !plain {
        return Err(ConfigError::invalid(
            origin,
            key,
            format!(
                "{name:?} is not a principal name: 1 to {MAX_NAME} ASCII letters, digits, \
                 '-', '_', '.' or '@'"
            ),
        ));
    }
    if name == LEGACY_PRINCIPAL {
        return Err(ConfigError::invalid(
            origin,
            key,
            format!("{name:?} is reserved for the keys of access.api_keys_env"),
        ));
    }
    Ok(())
}

fn principal(
    origin: &Path,
    env: Env<'_>,
    key: &str,
    p: &RawPrincipal,
    deployments: &[DeploymentConfig],
    routers: &[RouterConfig],
) -> Result<PrincipalConfig, ConfigError> {
    check_name(origin, &format!("{key}.name"), &p.name)?;
    let tenant = p.tenant.clone().unwrap_or_else(|| p.name.clone());
    check_name(origin, &format!("{key}.tenant"), &tenant)?;
    let role: Role = p.role.parse().map_err(|e: crate::access::UnknownRole| {
        ConfigError::invalid(origin, format!("{key}.role"), e.to_string())
    })?;
    let keys = read_keys(origin, env, &format!("{key}.keys_env"), &p.keys_env)?;
    let data_zones = zones(
        origin,
        &format!("{key}.data_zones"),
        p.data_zones.as_deref(),
    )?;
    let listed = |name: &str| {
        p.deployments
            .as_ref()
            .is_none_or(|d| d.iter().any(|n| n == name))
    };
    let in_zones = |d: &DeploymentConfig| {
        data_zones.as_ref().is_none_or(|zones| {
            d.data_zone
                .as_ref()
                .is_some_and(|z| zones.iter().any(|w| w == z))
        })
    };
    if let Some(names) = &p.deployments {
        for (j, name) in names.iter().enumerate() {
            let dkey = format!("{key}.deployments[{j}]");
            if deployments.iter().any(|d| d.deployment.name == *name) {
                continue;
            }
            let Some(r) = routers.iter().find(|r| r.name == *name) else {
                let defined: Vec<&str> = deployments
                    .iter()
                    .map(|d| d.deployment.name.as_str())
                    .chain(routers.iter().map(|r| r.name.as_str()))
                    .collect();
                return Err(ConfigError::invalid(
                    origin,
                    dkey,
                    format!(
                        "unknown deployment or router {name:?} (defined: {})",
                        defined.join(", ")
                    ),
                ));
            };
            // A router listed for a principal that may use none of its deployments would
            // refuse every request: say so now.
            let usable = r.models.iter().any(|m| {
                listed(m)
                    && deployments
                        .iter()
                        .find(|d| d.deployment.name == *m)
                        .is_some_and(in_zones)
            });
            if !usable {
                let zones = match &data_zones {
                    Some(z) => format!(" in data zones [{}]", z.join(", ")),
                    None => String::new(),
                };
                return Err(ConfigError::invalid(
                    origin,
                    dkey,
                    format!(
                        "principal {:?} may use router {name:?} but none of its deployments ({}){zones}; \
                         list some of them in deployments",
                        p.name,
                        r.models.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(PrincipalConfig {
        name: p.name.clone(),
        tenant,
        role,
        keys,
        deployments: p.deployments.clone(),
        data_zones,
    })
}
