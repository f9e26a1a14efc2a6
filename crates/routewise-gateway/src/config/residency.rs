//! Data residency in the config: a deployment's `data_zone` (written, or derived from its
//! `region`), and a router's `data_zones` / `regions`, which bound its pool and so its
//! failover set.

use std::path::Path;

use super::{ConfigError, DeploymentConfig};
use crate::access::{data_zone_of, normalize_region, normalize_zone};

/// A router's residency rule: its pool may hold only deployments in one of `data_zones` (when
/// set) and in one of `regions` (when set); with both, a deployment must satisfy both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Residency {
    /// Data zones (lowercase), or `None` for any.
    pub data_zones: Option<Vec<String>>,
    /// Regions (lowercase, without spaces or hyphens), or `None` for any.
    pub regions: Option<Vec<String>>,
}

impl Residency {
    /// True when no rule applies.
    pub fn is_unrestricted(&self) -> bool {
        self.data_zones.is_none() && self.regions.is_none()
    }

    /// True when deployment `d` satisfies the rule (a deployment without a zone or region
    /// never satisfies a rule on it: residency fails closed).
    pub fn admits(&self, d: &DeploymentConfig) -> bool {
        let zone_ok = self.data_zones.as_ref().is_none_or(|zones| {
            d.data_zone
                .as_ref()
                .is_some_and(|z| zones.iter().any(|w| w == z))
        });
        let region_ok = self.regions.as_ref().is_none_or(|regions| {
            d.deployment.region.as_deref().is_some_and(|r| {
                let r = normalize_region(r);
                regions.contains(&r)
            })
        });
        zone_ok && region_ok
    }

    /// The rule as a message fragment: `data_zones [eu]`, `regions [swedencentral]`, or both.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(z) = &self.data_zones {
            parts.push(format!("data_zones [{}]", z.join(", ")));
        }
        if let Some(r) = &self.regions {
            parts.push(format!("regions [{}]", r.join(", ")));
        }
        parts.join(" and ")
    }
}

/// Where deployment `d` is, for messages: `data zone "us" (region "eastus2")`.
pub(super) fn place(d: &DeploymentConfig) -> String {
    let zone = match &d.data_zone {
        Some(z) => format!("data zone {z:?}"),
        None => "no data zone".to_owned(),
    };
    match &d.deployment.region {
        Some(r) => format!("{zone} (region {r:?})"),
        None => format!("{zone} (no region)"),
    }
}

/// A deployment's data zone: `written` (checked against the zone its region implies), else
/// the zone of `region` from the built-in table, else none.
pub(super) fn deployment_zone(
    origin: &Path,
    key: &str,
    written: Option<&str>,
    region: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    let derived = region.and_then(data_zone_of);
    let Some(written) = written else {
        return Ok(derived.map(str::to_owned));
    };
    let zone = normalize_zone(written).ok_or_else(|| {
        ConfigError::invalid(
            origin,
            format!("{key}.data_zone"),
            format!("{written:?} is not a data zone name (letters, digits, - and _)"),
        )
    })?;
    match derived {
        Some(d) if d != zone => Err(ConfigError::invalid(
            origin,
            format!("{key}.data_zone"),
            format!(
                "{written:?} contradicts region {:?}, which is in data zone {d:?}",
                region.unwrap_or_default()
            ),
        )),
        _ => Ok(Some(zone)),
    }
}

/// A list of zone names as written (`key` is its key path): normalized, at least one.
pub(super) fn zones(
    origin: &Path,
    key: &str,
    written: Option<&[String]>,
) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(written) = written else {
        return Ok(None);
    };
    if written.is_empty() {
        return Err(ConfigError::invalid(
            origin,
            key,
            "must name at least one data zone (leave it out for any)",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(written.len());
    for (i, z) in written.iter().enumerate() {
        let zone = normalize_zone(z).ok_or_else(|| {
            ConfigError::invalid(
                origin,
                format!("{key}[{i}]"),
                format!("{z:?} is not a data zone name (letters, digits, - and _)"),
            )
        })?;
        if !out.contains(&zone) {
            out.push(zone);
        }
    }
    Ok(Some(out))
}

/// A router's `data_zones` and `regions` as written under `key` (`routers[i]`).
pub(super) fn router_rule(
    origin: &Path,
    key: &str,
    data_zones: Option<&[String]>,
    regions: Option<&[String]>,
) -> Result<Residency, ConfigError> {
    let data_zones = zones(origin, &format!("{key}.data_zones"), data_zones)?;
    let regions = match regions {
        None => None,
        Some([]) => {
            return Err(ConfigError::invalid(
                origin,
                format!("{key}.regions"),
                "must name at least one region (leave it out for any)",
            ));
        }
        Some(list) => {
            let mut out: Vec<String> = Vec::with_capacity(list.len());
            for (i, r) in list.iter().enumerate() {
                let region = normalize_region(r.trim());
                if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(ConfigError::invalid(
                        origin,
                        format!("{key}.regions[{i}]"),
                        format!("{r:?} is not an Azure region name such as \"swedencentral\""),
                    ));
                }
                if !out.contains(&region) {
                    out.push(region);
                }
            }
            Some(out)
        }
    };
    Ok(Residency {
        data_zones,
        regions,
    })
}

/// The pool of router `name` (at `key`) under `rule`: every model it lists must satisfy the
/// rule (a config error naming the router and the model otherwise); without a list, every
/// deployment that satisfies it, of which there must be one.
pub(super) fn router_pool(
    origin: &Path,
    key: &str,
    name: &str,
    rule: &Residency,
    listed: Option<&[String]>,
    deployments: &[DeploymentConfig],
) -> Result<Vec<String>, ConfigError> {
    let find = |n: &str| deployments.iter().find(|d| d.deployment.name == n);
    match listed {
        Some(models) => {
            for (j, m) in models.iter().enumerate() {
                if let Some(d) = find(m)
                    && !rule.admits(d)
                {
                    return Err(ConfigError::invalid(
                        origin,
                        format!("{key}.models[{j}]"),
                        format!(
                            "router {name:?} lists deployment {m:?}, which is in {}, outside its {}",
                            place(d),
                            rule.describe()
                        ),
                    ));
                }
            }
            Ok(models.to_vec())
        }
        None => {
            let pool: Vec<String> = deployments
                .iter()
                .filter(|d| rule.admits(d))
                .map(|d| d.deployment.name.clone())
                .collect();
            if pool.is_empty() {
                let field = if rule.data_zones.is_some() {
                    "data_zones"
                } else {
                    "regions"
                };
                return Err(ConfigError::invalid(
                    origin,
                    format!("{key}.{field}"),
                    format!(
                        "router {name:?} has no deployment in its {}; set a deployment's \
                         region or data_zone",
                        rule.describe()
                    ),
                ));
            }
            Ok(pool)
        }
    }
}
