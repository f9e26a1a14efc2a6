//! `[access]`: the legacy `api_keys_env` keys and the `[[access.principals]]` with roles,
//! checked against the deployments and routers they name. The checks a built config must pass
//! too ([`check_access`]) are shared with `Gateway::from_config`.

use std::path::Path;

use routewise_auth::Secret;

use super::raw::{RawConfig, RawPrincipal};
use super::residency::zones;
use super::{AccessControl, ConfigError, DeploymentConfig, Problem, RouterConfig};
use crate::access::{LEGACY_PRINCIPAL, Role, normalize_zone};

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

/// One variable's keys: set, not blank, split at commas, and at least one key. A value of
/// only commas and spaces is refused rather than read as no key: for the legacy keys, no key
/// would turn access control off (fail open). Messages name the variable, never its value.
fn read_keys(
    origin: &Path,
    env: Env<'_>,
    key: &str,
    var: &str,
) -> Result<Vec<Secret>, ConfigError> {
    let value = env(var)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ConfigError::missing_env(origin, key, var))?;
    let keys: Vec<Secret> = value
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(Secret::new)
        .collect();
    if keys.is_empty() {
        return Err(ConfigError::invalid(
            origin,
            key,
            format!(
                "environment variable {var} holds no key (only commas and spaces); give one key \
                 or a comma-separated list"
            ),
        ));
    }
    Ok(keys)
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
        principals.push(principal(
            origin,
            env,
            &format!("access.principals[{i}]"),
            p,
        )?);
    }
    let entries = principals
        .iter()
        .zip(&raw.access.principals)
        .enumerate()
        .map(|(i, (pc, rp))| Entry {
            path: format!("access.principals[{i}]"),
            var: Some(rp.keys_env.as_str()),
            principal: pc,
        });
    check_principals(entries, &legacy, deployments, routers)
        .map_err(|p| ConfigError::invalid(origin, p.key, p.message))?;
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

/// One `[[access.principals]]` entry as written: its names (the legacy principal's is
/// reserved), role, keys and zones parsed. What it must satisfy besides is
/// [`check_principals`]'s, shared with configs built in code.
fn principal(
    origin: &Path,
    env: Env<'_>,
    key: &str,
    p: &RawPrincipal,
) -> Result<PrincipalConfig, ConfigError> {
    let tenant = p.tenant.clone().unwrap_or_else(|| p.name.clone());
    for (field, name) in [("name", &p.name), ("tenant", &tenant)] {
        let at = format!("{key}.{field}");
        check_name(&at, name).map_err(|e| ConfigError::invalid(origin, e.key, e.message))?;
        if *name == LEGACY_PRINCIPAL {
            return Err(ConfigError::invalid(
                origin,
                at,
                format!("{name:?} is reserved for the keys of access.api_keys_env"),
            ));
        }
    }
    let role: Role = p.role.parse().map_err(|e: crate::access::UnknownRole| {
        ConfigError::invalid(origin, format!("{key}.role"), e.to_string())
    })?;
    let keys = read_keys(origin, env, &format!("{key}.keys_env"), &p.keys_env)?;
    let data_zones = zones(
        origin,
        &format!("{key}.data_zones"),
        p.data_zones.as_deref(),
    )?;
    Ok(PrincipalConfig {
        name: p.name.clone(),
        tenant,
        role,
        keys,
        deployments: p.deployments.clone(),
        data_zones,
    })
}

/// A principal to check, with where it is (`access.principals[i]`) and, when it came from a
/// file, the variable its keys came from (messages name the variable, never a key).
pub(crate) struct Entry<'a> {
    pub path: String,
    pub var: Option<&'a str>,
    pub principal: &'a PrincipalConfig,
}

impl Entry<'_> {
    /// The key a problem with its keys is reported at.
    fn keys_key(&self) -> String {
        match self.var {
            Some(_) => format!("{}.keys_env", self.path),
            None => format!("{}.keys", self.path),
        }
    }

    /// Its keys, as messages name them.
    fn keys_named(&self) -> String {
        match self.var {
            Some(var) => format!("environment variable {var}"),
            None => format!("the keys of principal {:?}", self.principal.name),
        }
    }
}

/// Who may call the gateway, however the config was made: legacy keys that are there, and
/// principals as [`check_principals`] requires them.
pub(crate) fn check_access(
    access: &AccessControl,
    deployments: &[DeploymentConfig],
    routers: &[RouterConfig],
) -> Result<(), Problem> {
    match access {
        AccessControl::Off => Ok(()),
        AccessControl::Keys(keys) => {
            if keys.is_empty() {
                return Err(Problem::new(
                    "access.api_keys_env",
                    "access control is on but lists no key; use AccessControl::Off for none",
                ));
            }
            if keys.iter().any(|k| k.expose().trim().is_empty()) {
                return Err(Problem::new(
                    "access.api_keys_env",
                    "one of the keys is empty or blank",
                ));
            }
            Ok(())
        }
        AccessControl::Principals(list) => {
            if list.is_empty() {
                return Err(Problem::new(
                    "access.principals",
                    "access control is on but lists no principal; use AccessControl::Off for none",
                ));
            }
            let entries = list.iter().enumerate().map(|(i, p)| Entry {
                path: format!("access.principals[{i}]"),
                var: None,
                principal: p,
            });
            check_principals(entries, &[], deployments, routers)
        }
    }
}

/// The rules principals obey however the config was made, in order: plain names, at least one
/// key and no blank one, normalized data zones, an allow-list of known deployments and routers
/// (and no router it may use none of), then names unique and every key belonging to one
/// principal (also among `legacy`, the `api_keys_env` keys), or the role a request gets would
/// depend on order.
pub(crate) fn check_principals<'a>(
    entries: impl IntoIterator<Item = Entry<'a>>,
    legacy: &[Secret],
    deployments: &[DeploymentConfig],
    routers: &[RouterConfig],
) -> Result<(), Problem> {
    let mut seen: Vec<Entry<'a>> = Vec::new();
    for e in entries {
        let p = e.principal;
        check_name(&format!("{}.name", e.path), &p.name)?;
        check_name(&format!("{}.tenant", e.path), &p.tenant)?;
        if p.keys.is_empty() {
            return Err(Problem::new(
                e.keys_key(),
                format!("{} holds no key", e.keys_named()),
            ));
        }
        if p.keys.iter().any(|k| k.expose().trim().is_empty()) {
            return Err(Problem::new(
                e.keys_key(),
                format!("{} holds an empty or blank key", e.keys_named()),
            ));
        }
        check_zones(&format!("{}.data_zones", e.path), p.data_zones.as_deref())?;
        check_allow_list(&e, deployments, routers)?;
        if seen.iter().any(|o| o.principal.name == p.name) {
            return Err(Problem::new(
                format!("{}.name", e.path),
                format!("duplicate principal name {:?}", p.name),
            ));
        }
        let taken = |k: &Secret| {
            if legacy.contains(k) {
                return Some(LEGACY_PRINCIPAL);
            }
            seen.iter()
                .find(|o| o.principal.keys.contains(k))
                .map(|o| o.principal.name.as_str())
        };
        if let Some(other) = p.keys.iter().find_map(taken) {
            let which = match e.var {
                Some(var) => format!("a key in {var}"),
                None => format!("a key of principal {:?}", p.name),
            };
            return Err(Problem::new(
                e.keys_key(),
                format!(
                    "{which} is also a key of principal {other:?}; each key must belong to one \
                     principal"
                ),
            ));
        }
        seen.push(e);
    }
    Ok(())
}

/// A name shown in logs, 403s and stored records: plain characters only, so nothing a config
/// says can forge a log field.
fn check_name(key: &str, name: &str) -> Result<(), Problem> {
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if plain {
        return Ok(());
    }
    Err(Problem::new(
        key,
        format!(
            "{name:?} is not a principal name: 1 to {MAX_NAME} ASCII letters, digits, \
             '-', '_', '.' or '@'"
        ),
    ))
}

/// A principal's data zones: none (any), or at least one, each as compared (lowercase).
fn check_zones(key: &str, zones: Option<&[String]>) -> Result<(), Problem> {
    let Some(zones) = zones else {
        return Ok(());
    };
    if zones.is_empty() {
        return Err(Problem::new(
            key,
            "must name at least one data zone (leave it out for any)",
        ));
    }
    for (i, z) in zones.iter().enumerate() {
        if normalize_zone(z).as_deref() != Some(z.as_str()) {
            return Err(Problem::new(
                format!("{key}[{i}]"),
                format!("{z:?} is not a data zone name (lowercase letters, digits, - and _)"),
            ));
        }
    }
    Ok(())
}

/// A principal's allow-list names only known deployments and routers, and no router of which
/// it may use no deployment (it would refuse every request: say so now).
fn check_allow_list(
    e: &Entry<'_>,
    deployments: &[DeploymentConfig],
    routers: &[RouterConfig],
) -> Result<(), Problem> {
    let p = e.principal;
    let Some(names) = &p.deployments else {
        return Ok(());
    };
    let listed = |name: &str| names.iter().any(|n| n == name);
    let in_zones = |d: &DeploymentConfig| {
        p.data_zones.as_ref().is_none_or(|zones| {
            d.data_zone
                .as_ref()
                .is_some_and(|z| zones.iter().any(|w| w == z))
        })
    };
    for (j, name) in names.iter().enumerate() {
        let key = format!("{}.deployments[{j}]", e.path);
        if deployments.iter().any(|d| d.deployment.name == *name) {
            continue;
        }
        let Some(r) = routers.iter().find(|r| r.name == *name) else {
            let defined: Vec<&str> = deployments
                .iter()
                .map(|d| d.deployment.name.as_str())
                .chain(routers.iter().map(|r| r.name.as_str()))
                .collect();
            return Err(Problem::new(
                key,
                format!(
                    "unknown deployment or router {name:?} (defined: {})",
                    defined.join(", ")
                ),
            ));
        };
        let usable = r.models.iter().any(|m| {
            listed(m)
                && deployments
                    .iter()
                    .find(|d| d.deployment.name == *m)
                    .is_some_and(in_zones)
        });
        if !usable {
            let zones = match &p.data_zones {
                Some(z) => format!(" in data zones [{}]", z.join(", ")),
                None => String::new(),
            };
            return Err(Problem::new(
                key,
                format!(
                    "principal {:?} may use router {name:?} but none of its deployments ({}){zones}; \
                     list some of them in deployments",
                    p.name,
                    r.models.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
