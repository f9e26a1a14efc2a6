//! Data zones: which Azure regions belong to Microsoft's `eu` and `us` data zones, and how the
//! zone and region names written in a config are compared.
//!
//! Foundry's `DataZoneStandard` deployments keep inference inside a Microsoft-defined data zone:
//! the United States, or the European Union, where "processing can occur within any EU member
//! nation". So the `eu` zone below lists only regions located in EU member states: the UK
//! (`uksouth`, `ukwest`), Switzerland and Norway are not EU members and have no zone here. A
//! deployment in one of them, or in any region this table does not know (the emulator's
//! `local` included), has no zone unless its config sets `data_zone`, and a principal or router
//! restricted to zones never reaches it: residency fails closed.
//!
//! A region's zone is only the deployment's when its deployment type keeps requests there
//! (see [`DeploymentSku`](crate::config::DeploymentSku)): a `GlobalStandard` deployment on a
//! Swedish resource may be processed anywhere. The regions known to be in *no* zone are listed
//! too ([`NO_ZONE`]), so a config that writes a zone for one of them is refused instead of
//! believed.

/// Azure regions (lowercase, as ARM names them) in the EU data zone: regions in EU member
/// states only.
const EU: &[&str] = &[
    "austriaeast",
    "belgiumcentral",
    "denmarkeast",
    "francecentral",
    "francesouth",
    "germanynorth",
    "germanywestcentral",
    "italynorth",
    "northeurope",
    "polandcentral",
    "spaincentral",
    "swedencentral",
    "swedensouth",
    "westeurope",
];

/// Azure regions in the US data zone (the public cloud; Azure Government's regions form a zone
/// of their own and are left out).
const US: &[&str] = &[
    "centralus",
    "eastus",
    "eastus2",
    "northcentralus",
    "southcentralus",
    "westcentralus",
    "westus",
    "westus2",
    "westus3",
];

/// Azure regions of the public cloud known to be in no Microsoft data zone (outside the EU and
/// the US): a `data_zone` written for a deployment in one of them contradicts the region.
/// Azure Government and sovereign clouds are left out (they are neither here nor in a zone
/// above), so a zone written for them is taken as written.
const NO_ZONE: &[&str] = &[
    "australiacentral",
    "australiacentral2",
    "australiaeast",
    "australiasoutheast",
    "brazilsouth",
    "brazilsoutheast",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "chilecentral",
    "eastasia",
    "indonesiacentral",
    "israelcentral",
    "japaneast",
    "japanwest",
    "jioindiacentral",
    "jioindiawest",
    "koreacentral",
    "koreasouth",
    "malaysiawest",
    "mexicocentral",
    "newzealandnorth",
    "norwayeast",
    "norwaywest",
    "qatarcentral",
    "southafricanorth",
    "southafricawest",
    "southeastasia",
    "southindia",
    "switzerlandnorth",
    "switzerlandwest",
    "uaecentral",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westindia",
];

/// What the built-in tables know of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegionZone {
    /// In this data zone.
    Zone(&'static str),
    /// A known region outside every data zone.
    NoZone,
    /// Not in the tables (on-premises names, the emulator's `local`, new regions).
    Unknown,
}

/// What the tables know of `region` (compared as [`normalize_region`] spells it).
pub(crate) fn region_zone(region: &str) -> RegionZone {
    let region = normalize_region(region);
    if let Some(zone) = data_zone_of(&region) {
        RegionZone::Zone(zone)
    } else if NO_ZONE.contains(&region.as_str()) {
        RegionZone::NoZone
    } else {
        RegionZone::Unknown
    }
}

/// The data zone (`"eu"` or `"us"`) of an Azure region, or `None` for a region in neither
/// (or unknown). Spaces, hyphens, underscores and case are ignored, so the display name
/// Azure sends in `x-ms-region` (`"East US 2"`) works as well as the ARM name (`eastus2`).
///
/// ```
/// use routewise_gateway::access::data_zone_of;
///
/// assert_eq!(data_zone_of("swedencentral"), Some("eu"));
/// assert_eq!(data_zone_of("East US 2"), Some("us"));
/// assert_eq!(data_zone_of("uksouth"), None, "the UK is not in the EU data zone");
/// assert_eq!(data_zone_of("local"), None);
/// ```
pub fn data_zone_of(region: &str) -> Option<&'static str> {
    let region = normalize_region(region);
    if EU.contains(&region.as_str()) {
        Some("eu")
    } else if US.contains(&region.as_str()) {
        Some("us")
    } else {
        None
    }
}

/// A region name as compared: lowercase, without spaces, hyphens or underscores.
pub(crate) fn normalize_region(region: &str) -> String {
    region
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A data-zone name as written in a config (`"EU"`, `" eu "`), lowercased; `None` when it is
/// empty or has characters other than ASCII letters, digits, `-` and `_` (zone names reach
/// logs and error messages, so they stay plain).
pub(crate) fn normalize_zone(zone: &str) -> Option<String> {
    let zone = zone.trim();
    let plain = !zone.is_empty()
        && zone.len() <= 32
        && zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| zone.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_both_zones_and_nothing_else() {
        for r in EU {
            assert_eq!(data_zone_of(r), Some("eu"), "{r}");
        }
        for r in US {
            assert_eq!(data_zone_of(r), Some("us"), "{r}");
        }
        for r in [
            "uksouth",
            "ukwest",
            "switzerlandnorth",
            "norwayeast",
            "japaneast",
            "",
        ] {
            assert_eq!(data_zone_of(r), None, "{r}");
        }
        for r in NO_ZONE {
            assert_eq!(data_zone_of(r), None, "{r} is in no zone");
            assert_eq!(region_zone(r), RegionZone::NoZone, "{r}");
            assert_eq!(normalize_region(r), *r, "{r} is written as compared");
        }
        assert_eq!(region_zone("UK South"), RegionZone::NoZone);
        assert_eq!(region_zone("Sweden Central"), RegionZone::Zone("eu"));
        assert_eq!(region_zone("frankfurt-dc1"), RegionZone::Unknown);
        assert_eq!(region_zone("local"), RegionZone::Unknown);
        assert_eq!(data_zone_of("North Central US"), Some("us"));
        assert_eq!(data_zone_of("west-europe"), Some("eu"));
    }

    #[test]
    fn zone_names_are_plain_and_lowercase() {
        assert_eq!(normalize_zone(" EU ").as_deref(), Some("eu"));
        assert_eq!(normalize_zone("us-gov").as_deref(), Some("us-gov"));
        for bad in ["", "  ", "e u", "e\nu", "zone\u{7f}", &"x".repeat(33)] {
            assert_eq!(normalize_zone(bad), None, "{bad:?}");
        }
    }
}
