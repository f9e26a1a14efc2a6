//! [`Principal`]: one configured caller, with everything its requests are checked against
//! computed at start-up; and [`Caller`], who a request comes from.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use routewise_strategy::LocalRouter;

use super::deny;
use super::role::{Action, Role};
use crate::config::{DeploymentConfig, PrincipalConfig};
use crate::error::GatewayError;
use crate::state::RouterEntry;

/// What a principal gets of one router deployment.
#[derive(Debug)]
pub(crate) enum RouterGrant {
    /// The router is not in its allow-list.
    Denied,
    /// Every deployment of the router may serve it: the shared router is used as it is.
    Whole,
    /// Only `models` may serve it: the router restricted to them, built once (the subset is
    /// also the failover set, so failover stays inside it).
    Restricted {
        models: Vec<String>,
        router: LocalRouter,
    },
    /// The router is allowed, but none of its deployments may serve it.
    Empty,
}

/// A configured caller, as its requests are checked: by role, by the deployments it may
/// name and be served by, and by whose stored responses it may see.
#[derive(Debug)]
pub(crate) struct Principal {
    /// Shown in logs and 403s (never the key).
    pub name: String,
    /// Whose stored responses it creates and sees.
    pub tenant: String,
    pub role: Role,
    /// Deployments and routers it may put in `model`; `None`: all.
    allowed: Option<HashSet<String>>,
    /// Data zones its requests may be served in; `None`: anywhere.
    zones: Option<Vec<String>>,
    /// Deployments that may serve it (allowed and in its zones); `None`: all.
    servable: Option<HashSet<String>>,
    /// Per router, by [`RouterEntry::index`].
    routers: Vec<RouterGrant>,
    /// `GET /models` as it sees it; `None`: everything (the shared body).
    pub models_body: Option<Bytes>,
}

impl Principal {
    /// A principal with `role` and no restriction on deployments or zones (the legacy
    /// `api_keys_env` keys, and [`AccessLayer::new`](crate::layers::AccessLayer::new)).
    pub(crate) fn unrestricted(name: &str, role: Role) -> Self {
        Self {
            name: name.to_owned(),
            tenant: name.to_owned(),
            role,
            allowed: None,
            zones: None,
            servable: None,
            routers: Vec::new(),
            models_body: None,
        }
    }

    /// `cfg` over the configured deployments and built routers: which deployments may serve
    /// it, and what it gets of each router. Its `/models` body is set by the caller.
    pub(crate) fn build(
        cfg: &PrincipalConfig,
        deployments: &[DeploymentConfig],
        routers: &[RouterEntry],
    ) -> Self {
        let allowed: Option<HashSet<String>> = cfg
            .deployments
            .as_ref()
            .map(|d| d.iter().cloned().collect());
        let zones = cfg.data_zones.clone();
        let mut p = Self {
            allowed,
            zones,
            ..Self::unrestricted(&cfg.name, cfg.role)
        };
        p.tenant.clone_from(&cfg.tenant);
        if p.allowed.is_some() || p.zones.is_some() {
            p.servable = Some(
                deployments
                    .iter()
                    .filter(|d| p.sees(&d.deployment.name) && p.in_zones(d))
                    .map(|d| d.deployment.name.clone())
                    .collect(),
            );
        }
        p.routers = routers.iter().map(|r| p.grant_for(r)).collect();
        p
    }

    fn grant_for(&self, r: &RouterEntry) -> RouterGrant {
        if !self.sees(&r.config.name) {
            return RouterGrant::Denied;
        }
        let models: Vec<String> = r
            .config
            .models
            .iter()
            .filter(|m| self.may_serve(m))
            .cloned()
            .collect();
        if models.len() == r.config.models.len() {
            RouterGrant::Whole
        } else if models.is_empty() {
            RouterGrant::Empty
        } else {
            RouterGrant::Restricted {
                router: r.router.clone().with_subset(models.iter().cloned()),
                models,
            }
        }
    }

    /// True when its allow-list or its data zones restrict it.
    pub(crate) fn is_restricted(&self) -> bool {
        self.allowed.is_some() || self.zones.is_some()
    }

    /// True when its allow-list admits `name` in `model`: the deployments and routers it may
    /// know of. Any other name is answered as an unknown one (an existence oracle otherwise).
    pub(crate) fn sees(&self, name: &str) -> bool {
        self.allowed.as_ref().is_none_or(|a| a.contains(name))
    }

    /// True when deployment `d` is in its data zones (a deployment without a zone never is).
    fn in_zones(&self, d: &DeploymentConfig) -> bool {
        match (&self.zones, &d.data_zone) {
            (None, _) => true,
            (Some(zones), Some(zone)) => zones.contains(zone),
            (Some(_), None) => false,
        }
    }

    /// Its data zones, when restricted.
    pub(crate) fn zones(&self) -> Option<&[String]> {
        self.zones.as_deref()
    }

    /// True when deployment `name` may serve its requests.
    pub(crate) fn may_serve(&self, name: &str) -> bool {
        self.servable.as_ref().is_none_or(|s| s.contains(name))
    }

    /// What it gets of router `index`.
    pub(crate) fn grant(&self, index: usize) -> &RouterGrant {
        match self.routers.get(index) {
            Some(g) => g,
            // Only an unrestricted principal has no per-router table.
            None if self.allowed.is_none() && self.zones.is_none() => &RouterGrant::Whole,
            None => &RouterGrant::Denied,
        }
    }

    /// The 403 for deployment `d` (which it sees) in the parameter `param` names when `d` is
    /// outside its data zones, or `Ok` (the parameter is only spelled out for a refusal).
    fn check_zones(
        &self,
        d: &DeploymentConfig,
        param: impl FnOnce() -> String,
    ) -> Result<(), GatewayError> {
        if self.in_zones(d) {
            Ok(())
        } else {
            Err(deny::outside_zones(self, d, param()))
        }
    }
}

/// Who a request comes from: resolved once by the access layer and carried in the request's
/// extensions (and the response's, for the access log).
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// Access control is off: anyone may do anything, and stored responses have no owner.
    Anonymous,
    /// A key's principal.
    Principal(Arc<Principal>),
}

/// Who owns a stored response: recorded with it when it is created. It borrows the principal
/// itself (an `Arc`), so recording it allocates nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Owner(Option<Arc<Principal>>);

impl Owner {
    /// The creating principal's name (for audit); `None` with access control off.
    pub(crate) fn principal(&self) -> Option<&str> {
        self.0.as_deref().map(|p| p.name.as_str())
    }

    /// Whose response it is: only principals of this tenant (and admins) see it.
    pub(crate) fn tenant(&self) -> Option<&str> {
        self.0.as_deref().map(|p| p.tenant.as_str())
    }
}

/// What a router request may use: the router (the shared one, or one restricted to the
/// principal's deployments) and its candidate subset.
#[derive(Debug)]
pub(crate) struct RouterAccess<'a> {
    pub router: &'a LocalRouter,
    pub models: &'a [String],
}

impl Caller {
    /// The principal, unless access control is off.
    pub(crate) fn principal(&self) -> Option<&Arc<Principal>> {
        match self {
            Self::Principal(p) => Some(p),
            Self::Anonymous => None,
        }
    }

    /// `Ok` when the caller's role allows `action`, else the 403.
    pub(crate) fn require(&self, action: Action) -> Result<(), GatewayError> {
        match self {
            Self::Principal(p) if !p.role.permits(action) => Err(deny::role(p, action)),
            _ => Ok(()),
        }
    }

    /// True when the caller may see a stored response of `tenant` (admins and anonymous
    /// callers see all; a response without an owner only they).
    pub(crate) fn may_see(&self, tenant: Option<&str>) -> bool {
        match self {
            Self::Anonymous => true,
            Self::Principal(p) => p.role == Role::Admin || tenant == Some(p.tenant.as_str()),
        }
    }

    /// The owner to record on a response this caller creates.
    pub(crate) fn owner(&self) -> Owner {
        Owner(self.principal().cloned())
    }

    /// True for a principal whose role is not `admin`: the callers kept to their tenant.
    pub(crate) fn is_tenant_bound(&self) -> bool {
        self.principal().is_some_and(|p| p.role != Role::Admin)
    }

    /// True when the caller may know of deployment or router `name` (its allow-list admits
    /// it). Callers that may not are answered as for an unknown name.
    pub(crate) fn sees(&self, name: &str) -> bool {
        self.principal().is_none_or(|p| p.sees(name))
    }

    /// The caller's data zones, when it is restricted to some.
    pub(crate) fn zones(&self) -> Option<&[String]> {
        self.principal().and_then(|p| p.zones())
    }

    /// True when deployment `name` may serve this caller: the last check before every
    /// attempt, so no failover can leave what the caller may use.
    pub(crate) fn may_serve(&self, name: &str) -> bool {
        self.principal().is_none_or(|p| p.may_serve(name))
    }

    /// The 403 for a deployment named in `model` (one the caller [sees](Self::sees)) outside
    /// the caller's data zones, or `Ok`.
    pub(crate) fn check_pinned(&self, d: &DeploymentConfig) -> Result<(), GatewayError> {
        match self.principal() {
            Some(p) => p.check_zones(d, || "model".to_owned()),
            None => Ok(()),
        }
    }

    /// The 403 for entry `index` of `routing_config.models` (a deployment the caller sees)
    /// outside the caller's data zones, or `Ok`.
    pub(crate) fn check_subset_entry(
        &self,
        index: usize,
        d: &DeploymentConfig,
    ) -> Result<(), GatewayError> {
        match self.principal() {
            Some(p) => p.check_zones(d, || format!("routing_config.models[{index}]")),
            None => Ok(()),
        }
    }

    /// What this caller may use of router `r` (asked for as `requested`): the 404 of an
    /// unknown name when its allow-list leaves the router out, the 403 when none of the
    /// router's deployments may serve it.
    pub(crate) fn router<'a>(
        &'a self,
        r: &'a RouterEntry,
        requested: &str,
    ) -> Result<RouterAccess<'a>, GatewayError> {
        let whole = RouterAccess {
            router: &r.router,
            models: &r.config.models,
        };
        let Some(p) = self.principal() else {
            return Ok(whole);
        };
        match p.grant(r.index) {
            RouterGrant::Whole => Ok(whole),
            RouterGrant::Restricted { models, router } => Ok(RouterAccess { router, models }),
            RouterGrant::Denied => Err(GatewayError::deployment_not_found(requested)),
            RouterGrant::Empty => Err(deny::empty_router(p, &r.config.name, &r.config.models)),
        }
    }
}
