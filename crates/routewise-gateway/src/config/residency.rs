//! Data residency in the config: a deployment's `data_zone` (written, or derived from its
//! `region` when its `sku` keeps requests in the region's zone), and a router's `data_zones` /
//! `regions`, which bound its pool and so its failover set. The rules are checked by the
//! loader and again by `Gateway::from_config` ([`check_deployment_zone`], [`check_router`]),
//! since a config's fields can be changed in code.

use std::path::Path;

use super::{ConfigError, DeploymentConfig, DeploymentSku, Problem, RouterConfig};
use crate::access::{RegionZone, data_zone_of, normalize_region, normalize_zone, region_zone};

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

/// A deployment's data zone as the file gives it: `written` (normalized), else the zone of
/// `region` when its deployment type keeps requests in the region's zone (`sku`: a data-zone or
/// regional type), else none. Without `sku` nothing is derived: Azure's default type is
/// `GlobalStandard`, processed anywhere, so a region alone proves nothing (fail closed).
/// Whether the result agrees with the region and type is [`check_deployment_zone`]'s to say.
pub(super) fn deployment_zone(
    origin: &Path,
    key: &str,
    written: Option<&str>,
    region: Option<&str>,
    sku: Option<DeploymentSku>,
) -> Result<Option<String>, ConfigError> {
    let Some(written) = written else {
        let derived = match (sku, region) {
            (Some(sku), Some(region)) if sku.keeps_region_zone() => data_zone_of(region),
            _ => None,
        };
        return Ok(derived.map(str::to_owned));
    };
    normalize_zone(written).map(Some).ok_or_else(|| {
        ConfigError::invalid(
            origin,
            format!("{key}.data_zone"),
            format!("{written:?} is not a data zone name (letters, digits, - and _)"),
        )
    })
}

/// The rules a deployment's `data_zone` obeys however the config was made (`key` is its path,
/// `deployments[i]`): a normalized name; none on a `Global*` deployment (processed in any
/// region); and no zone that contradicts its region: another zone than the region's, or any
/// zone for a region known to be in none.
pub(crate) fn check_deployment_zone(key: &str, d: &DeploymentConfig) -> Result<(), Problem> {
    let Some(zone) = &d.data_zone else {
        return Ok(());
    };
    let at = || format!("{key}.data_zone");
    if normalize_zone(zone).as_deref() != Some(zone.as_str()) {
        return Err(Problem::new(
            at(),
            format!("{zone:?} is not a data zone name (lowercase letters, digits, - and _)"),
        ));
    }
    if let Some(sku) = d.sku.filter(|s| s.is_global()) {
        return Err(Problem::new(
            at(),
            format!(
                "deployment {:?} is a {sku} deployment, which Azure may process in any region, \
                 so it is in no data zone; remove data_zone, or deploy it as a DataZone* or \
                 regional (Standard, ProvisionedManaged) type and set sku",
                d.deployment.name
            ),
        ));
    }
    let Some(region) = d.deployment.region.as_deref() else {
        return Ok(());
    };
    match region_zone(region) {
        RegionZone::Zone(theirs) if theirs != zone => Err(Problem::new(
            at(),
            format!("{zone:?} contradicts region {region:?}, which is in data zone {theirs:?}"),
        )),
        RegionZone::NoZone => Err(Problem::new(
            at(),
            format!("{zone:?} contradicts region {region:?}, which is in no data zone"),
        )),
        _ => Ok(()),
    }
}

/// The rules router `r` obeys however the config was made (`key` is its path, `routers[i]`):
/// its residency lists are normalized and not empty, it routes to at least one deployment, and
/// every deployment it lists is known and satisfies its rule (its pool is also its failover
/// set, so one outside would let a request leave the rule).
pub(crate) fn check_router(
    key: &str,
    r: &RouterConfig,
    deployments: &[DeploymentConfig],
) -> Result<(), Problem> {
    let rule = &r.residency;
    if let Some(zones) = &rule.data_zones {
        if zones.is_empty() {
            return Err(Problem::new(
                format!("{key}.data_zones"),
                "must name at least one data zone (leave it out for any)",
            ));
        }
        for (i, z) in zones.iter().enumerate() {
            if normalize_zone(z).as_deref() != Some(z.as_str()) {
                return Err(Problem::new(
                    format!("{key}.data_zones[{i}]"),
                    format!("{z:?} is not a data zone name (lowercase letters, digits, - and _)"),
                ));
            }
        }
    }
    if let Some(regions) = &rule.regions {
        if regions.is_empty() {
            return Err(Problem::new(
                format!("{key}.regions"),
                "must name at least one region (leave it out for any)",
            ));
        }
        for (i, region) in regions.iter().enumerate() {
            let plain = !region.is_empty() && region.chars().all(|c| c.is_ascii_alphanumeric());
            if !plain || normalize_region(region) != *region {
                return Err(Problem::new(
                    format!("{key}.regions[{i}]"),
                    format!("{region:?} is not an Azure region name such as \"swedencentral\""),
                ));
            }
        }
    }
    let name = &r.name;
    if r.models.is_empty() {
        return Err(if rule.is_unrestricted() {
            Problem::new(
                format!("{key}.models"),
                format!("router {name:?} has no deployment to route to"),
            )
        } else {
            let field = if rule.data_zones.is_some() {
                "data_zones"
            } else {
                "regions"
            };
            Problem::new(
                format!("{key}.{field}"),
                format!(
                    "router {name:?} has no deployment in its {}; set a deployment's sku and \
                     region, or its data_zone",
                    rule.describe()
                ),
            )
        });
    }
    for (j, m) in r.models.iter().enumerate() {
        let Some(d) = deployments.iter().find(|d| d.deployment.name == *m) else {
            return Err(Problem::new(
                format!("{key}.models[{j}]"),
                format!("router {name:?} lists unknown deployment {m:?}"),
            ));
        };
        if !rule.admits(d) {
            return Err(Problem::new(
                format!("{key}.models[{j}]"),
                format!(
                    "router {name:?} lists deployment {m:?}, which is in {}, outside its {}",
                    place(d),
                    rule.describe()
                ),
            ));
        }
    }
    Ok(())
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

/// The pool of a router under `rule`: the models it lists (which [`check_router`] then holds
/// to the rule), or, without a list, every deployment that satisfies the rule.
pub(super) fn router_pool(
    rule: &Residency,
    listed: Option<&[String]>,
    deployments: &[DeploymentConfig],
) -> Vec<String> {
    match listed {
        Some(models) => models.to_vec(),
        None => deployments
            .iter()
            .filter(|d| rule.admits(d))
            .map(|d| d.deployment.name.clone())
            .collect(),
    }
}
