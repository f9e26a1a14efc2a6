//! A deployment's Azure deployment type (`sku`), which says where Azure may process its
//! requests, and so whether its region implies a data zone.

use std::fmt;

/// Azure's deployment type of a deployment (`sku` in the config; Azure calls it the SKU name
/// of the deployment). It decides where Azure may process a request:
///
/// | sku | processed | data zone derived from `region` |
/// |---|---|---|
/// | `GlobalStandard`, `GlobalProvisionedManaged`, `GlobalBatch` | in any Azure region | none (and writing one is an error) |
/// | `DataZoneStandard`, `DataZoneProvisionedManaged`, `DataZoneBatch` | within the region's data zone | the region's |
/// | `Standard`, `ProvisionedManaged` | in the resource's region | the region's |
///
/// `GlobalStandard` is Azure's default, which is why a region alone never implies a zone: a
/// deployment without `sku` gets a zone only when its config writes `data_zone` (residency
/// fails closed).
///
/// ```
/// use routewise_gateway::config::DeploymentSku;
///
/// let sku: DeploymentSku = "datazonestandard".parse().unwrap();
/// assert_eq!(sku, DeploymentSku::DataZoneStandard);
/// assert_eq!(sku.to_string(), "DataZoneStandard");
/// assert!(sku.keeps_region_zone());
/// assert!(!DeploymentSku::GlobalStandard.keeps_region_zone());
/// assert!("Premium".parse::<DeploymentSku>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeploymentSku {
    /// Global pay-as-you-go: processed in any Azure region.
    GlobalStandard,
    /// Global provisioned throughput: processed in any Azure region.
    GlobalProvisionedManaged,
    /// Global batch: processed in any Azure region.
    GlobalBatch,
    /// Data-zone pay-as-you-go: processed within the region's data zone.
    DataZoneStandard,
    /// Data-zone provisioned throughput: processed within the region's data zone.
    DataZoneProvisionedManaged,
    /// Data-zone batch: processed within the region's data zone.
    DataZoneBatch,
    /// Regional pay-as-you-go: processed in the resource's region.
    Standard,
    /// Regional provisioned throughput: processed in the resource's region.
    ProvisionedManaged,
}

impl DeploymentSku {
    /// Every deployment type, as Azure spells them.
    pub const ALL: [DeploymentSku; 8] = [
        Self::GlobalStandard,
        Self::GlobalProvisionedManaged,
        Self::GlobalBatch,
        Self::DataZoneStandard,
        Self::DataZoneProvisionedManaged,
        Self::DataZoneBatch,
        Self::Standard,
        Self::ProvisionedManaged,
    ];

    /// Azure's name of the deployment type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GlobalStandard => "GlobalStandard",
            Self::GlobalProvisionedManaged => "GlobalProvisionedManaged",
            Self::GlobalBatch => "GlobalBatch",
            Self::DataZoneStandard => "DataZoneStandard",
            Self::DataZoneProvisionedManaged => "DataZoneProvisionedManaged",
            Self::DataZoneBatch => "DataZoneBatch",
            Self::Standard => "Standard",
            Self::ProvisionedManaged => "ProvisionedManaged",
        }
    }

    /// True for the `Global*` types, which Azure may process in any region.
    pub fn is_global(self) -> bool {
        matches!(
            self,
            Self::GlobalStandard | Self::GlobalProvisionedManaged | Self::GlobalBatch
        )
    }

    /// True when requests stay within the data zone of the deployment's region (the data-zone
    /// and regional types), so the region's zone is the deployment's.
    pub fn keeps_region_zone(self) -> bool {
        !self.is_global()
    }
}

impl fmt::Display for DeploymentSku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown deployment type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSku(pub String);

impl fmt::Display for UnknownSku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = DeploymentSku::ALL.iter().map(|s| s.as_str()).collect();
        write!(
            f,
            "unknown deployment type {:?} (expected one of {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownSku {}

impl std::str::FromStr for DeploymentSku {
    type Err = UnknownSku;

    /// Case-insensitive, as Azure's CLI and portal accept them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|sku| sku.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownSku(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for sku in DeploymentSku::ALL {
            assert_eq!(sku.as_str().parse::<DeploymentSku>(), Ok(sku));
            assert_eq!(
                sku.as_str().to_uppercase().parse::<DeploymentSku>(),
                Ok(sku)
            );
        }
        let err = "Premium".parse::<DeploymentSku>().unwrap_err().to_string();
        assert!(err.contains("\"Premium\""), "{err}");
        for sku in DeploymentSku::ALL {
            assert!(err.contains(sku.as_str()), "{err}");
        }
    }

    #[test]
    fn only_global_types_leave_the_region_s_zone() {
        let global: Vec<DeploymentSku> = DeploymentSku::ALL
            .into_iter()
            .filter(|s| !s.keeps_region_zone())
            .collect();
        assert_eq!(
            global,
            [
                DeploymentSku::GlobalStandard,
                DeploymentSku::GlobalProvisionedManaged,
                DeploymentSku::GlobalBatch
            ]
        );
    }
}
