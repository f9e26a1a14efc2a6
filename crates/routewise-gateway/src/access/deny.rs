//! The 403 answers, worded after Azure's `PermissionDenied`: "The principal `X` lacks the
//! required data action `A` to perform `GET /path/{template}` operation." They name the
//! principal (never its key), the rule that refused, and operations by their path template,
//! so nothing the client sent is echoed.

use super::principal::Principal;
use super::role::Action;
use crate::config::DeploymentConfig;
use crate::error::GatewayError;

/// The principal's role does not allow `action`.
pub(crate) fn role(p: &Principal, action: Action) -> GatewayError {
    let roles: Vec<&str> = action.roles().map(|r| r.as_str()).collect();
    GatewayError::PermissionDenied {
        message: format!(
            "The principal `{}` lacks the required role ({}; it has {}) to perform `{}` operation.",
            p.name,
            roles.join(" or "),
            p.role,
            action.operation()
        ),
        param: None,
    }
}

/// Where deployment `d` is served, as the residency 403s say it.
pub(crate) fn placement(d: &DeploymentConfig) -> String {
    let region = d.deployment.region.as_deref().unwrap_or("none");
    match &d.data_zone {
        Some(zone) => format!("is in data zone `{zone}` (region {region})"),
        None => format!("has no data zone (region {region})"),
    }
}

/// Deployment `d` is outside the principal's data zones.
pub(crate) fn outside_zones(p: &Principal, d: &DeploymentConfig, param: String) -> GatewayError {
    let zones = p.zones().unwrap_or_default().join(", ");
    let place = placement(d);
    GatewayError::PermissionDenied {
        message: format!(
            "Data residency: the principal `{}` may only be served in data zones [{zones}], and \
             deployment `{}` {place}.",
            p.name, d.deployment.name
        ),
        param: Some(param),
    }
}

/// Router `router` is allowed, but none of its deployments (`models`) may serve the
/// principal. Only the deployments its allow-list admits are named: the others it may not
/// know of.
pub(crate) fn empty_router(p: &Principal, router: &str, models: &[String]) -> GatewayError {
    let zones = match p.zones() {
        Some(z) => format!(" and data zones [{}]", z.join(", ")),
        None => String::new(),
    };
    let seen: Vec<&str> = models
        .iter()
        .filter(|m| p.sees(m))
        .map(String::as_str)
        .collect();
    let listed = if seen.is_empty() {
        String::new()
    } else {
        format!(" ({})", seen.join(", "))
    };
    GatewayError::PermissionDenied {
        message: format!(
            "The principal `{}` lacks access to every deployment of router `{router}`{listed}: \
             its allowed deployments{zones} leave none to route to.",
            p.name,
        ),
        param: Some("model".into()),
    }
}

/// A request reached a handler without the principal the access layer attaches: a wiring
/// bug, refused rather than served as if access control were off.
pub(crate) fn unresolved() -> GatewayError {
    GatewayError::Internal {
        message: "The request's principal was not resolved; it was refused.".into(),
    }
}
