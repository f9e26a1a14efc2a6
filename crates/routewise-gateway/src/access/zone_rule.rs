//! [`ZoneRule`]: the data zones one request may be served in, from everything that restricts
//! it: the caller's zones, the router's, and those its conversation was served under.
//!
//! A stored response records the rule it was served under, and a follow-up
//! (`previous_response_id`) inherits it: the earlier turns are replayed to whichever deployment
//! answers, so without this a conversation held in the EU for one principal could be sent to a
//! US deployment by another principal of the tenant (or an admin), and its answer would carry
//! the restriction no more. Rules only narrow: each one is intersected with the others.

use crate::config::DeploymentConfig;
use crate::error::GatewayError;

/// The zones a request may be served in; unrestricted when nothing restricts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ZoneRule {
    zones: Option<Vec<String>>,
}

impl ZoneRule {
    /// Narrows the rule to `zones` as well (nothing changes for `None`).
    pub(crate) fn narrow(&mut self, zones: Option<&[String]>) {
        let Some(zones) = zones else {
            return;
        };
        self.zones = Some(match self.zones.take() {
            None => zones.to_vec(),
            Some(mut current) => {
                current.retain(|z| zones.contains(z));
                current
            }
        });
    }

    /// The zones, when restricted (an empty list: nowhere).
    pub(crate) fn zones(&self) -> Option<&[String]> {
        self.zones.as_deref()
    }

    /// True when deployment `d` may serve under the rule (one without a zone never does
    /// under a restriction: residency fails closed).
    pub(crate) fn admits(&self, d: &DeploymentConfig) -> bool {
        self.admits_zone(d.data_zone.as_deref())
    }

    /// True when a deployment in `zone` may serve under the rule.
    pub(crate) fn admits_zone(&self, zone: Option<&str>) -> bool {
        match (&self.zones, zone) {
            (None, _) => true,
            (Some(zones), Some(z)) => zones.iter().any(|w| w == z),
            (Some(_), None) => false,
        }
    }
}

/// How a refusal names the conversation's own restriction.
const CONVERSATION: &str = "the conversation this request continues (previous_response_id) was \
                            served only in data zones";

/// The 403 for deployment `d` (named in `param`) outside the zones `inherited` from the
/// conversation a follow-up continues.
pub(crate) fn outside_inherited(
    inherited: &[String],
    d: &DeploymentConfig,
    param: String,
) -> GatewayError {
    let place = super::deny::placement(d);
    GatewayError::PermissionDenied {
        message: format!(
            "Data residency: {CONVERSATION} [{}], and deployment `{}` {place}.",
            inherited.join(", "),
            d.deployment.name
        ),
        param: Some(param),
    }
}

/// The 403 for router `router` when none of the deployments this request may use is in the
/// zones `inherited` from its conversation (none is named: some may be hidden from the
/// caller).
pub(crate) fn router_outside_inherited(inherited: &[String], router: &str) -> GatewayError {
    GatewayError::PermissionDenied {
        message: format!(
            "Data residency: {CONVERSATION} [{}], and router `{router}` has no deployment there \
             that this request may use.",
            inherited.join(", ")
        ),
        param: Some("model".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones(z: &[&str]) -> Vec<String> {
        z.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn rules_only_narrow() {
        let mut rule = ZoneRule::default();
        assert!(rule.admits_zone(None), "unrestricted");
        rule.narrow(None);
        assert_eq!(rule.zones(), None);
        rule.narrow(Some(&zones(&["eu", "us"])));
        assert!(rule.admits_zone(Some("us")) && !rule.admits_zone(None));
        rule.narrow(Some(&zones(&["eu", "apac"])));
        assert_eq!(rule.zones(), Some(&zones(&["eu"])[..]));
        rule.narrow(Some(&zones(&["us"])));
        assert_eq!(
            rule.zones(),
            Some(&[][..]),
            "an empty intersection stays empty"
        );
        assert!(!rule.admits_zone(Some("eu")));
    }
}
