//! Who may call the gateway, what they may do, and where their requests may be served: keys,
//! principals with roles, deployment allow-lists, data residency and stored-response ownership.
//!
//! # Principals and roles
//!
//! With `[access]` configured, every request except `/healthz` and `/readyz` must present a
//! key (`api-key: K` or `Authorization: Bearer K`); without one, or with a wrong one, it gets
//! the 401 it always got. Each key belongs to one principal, resolved once per request by
//! [`AccessLayer`](crate::layers::AccessLayer) and attached to the request:
//!
//! ```toml
//! [access]
//! api_keys_env = ["ROUTEWISE_API_KEYS"]   # legacy keys: one principal `api_keys_env`, role admin
//!
//! [[access.principals]]
//! name = "team-eu"                  # in logs and 403s, never the key
//! keys_env = "TEAM_EU_KEYS"         # one key or a comma-separated list
//! role = "user"                     # user | reader | monitor | admin (see Role)
//! deployments = ["model-router", "gpt-4.1-nano"]   # optional allow-list; default: all
//! data_zones = ["eu"]               # optional: served only in these zones
//! # tenant = "team-eu"              # whose stored responses it creates and sees (default: name)
//! ```
//!
//! [`Role`] decides the routes: a route the role does not allow is a 403 `PermissionDenied`
//! before its handler runs (so before any body is read). Then, for `POST /responses`:
//!
//! * **Allow-list.** `model` must be in `deployments` (a deployment or a router name), and a
//!   deployment serves the principal only if it is listed. A name it leaves out gets exactly
//!   the 404 `DeploymentNotFound` of a name that does not exist (a 403 would confirm that it
//!   exists). A listed router routes among those of its deployments that are listed too (the
//!   router is restricted to them, and so is its failover); when none is, the request is a 403
//!   (and a config error, when the router is listed explicitly). A `routing_config.models`
//!   entry the principal may not name is the 400 of one outside the router's subset, and that
//!   message lists only what the principal may use: no answer names a hidden deployment.
//! * **Data zones.** A principal with `data_zones` is served only by deployments in those
//!   zones: a pinned deployment (or `routing_config.models` entry) elsewhere is a 403 naming
//!   the residency rule; a router is restricted to the intersection of its pool and the zones,
//!   and an empty intersection is a 403 too (the request is valid; this principal may not have
//!   it served, so it is a permission, not a 400).
//! * **Upstream state** (with principals: see `upstream_state.rs`). `previous_response_id`
//!   needs the gateway's store; `conversation`, `item_reference` input items and `prompt` are
//!   for admins only (400 naming the parameter), since the upstream keeps them under the
//!   gateway's one credential, shared by every tenant. Every request goes upstream with
//!   `store: false`: the client is told `store: true` when the gateway stores the answer,
//!   `store: false` when it has no `[store]`. Reasoning items without `encrypted_content`
//!   (which only an upstream that stored them could resolve) are dropped from the input, and a
//!   reasoning model is asked for `reasoning.encrypted_content`.
//! * A refused request is refused before the store, the content filter and the rate limits:
//!   it charges no quota, reaches no upstream and stores nothing.
//!
//! Every attempt (the first and each failover) is checked once more against what the caller
//! may use, so a failover can never leave the allow-list or the zones.
//!
//! # Stored responses
//!
//! A stored response records its creator (`principal`) and its `tenant`. `user` and `reader`
//! principals see only their tenant's responses: another tenant's, or one stored with access
//! control off, is the same 404 as a missing one (a multi-tenant gateway must not reveal that
//! an id exists), for `GET`, `DELETE`, cancel, `input_items`, stream resumption and
//! `previous_response_id` (a 400 "not found", as for an unknown id). Admins see everything.
//!
//! # Data residency
//!
//! A deployment's `data_zone` is set in its config or derived from its `region` with
//! [`data_zone_of`], only when its `sku` (Azure's deployment type) is a data-zone or regional
//! one: `Global*` deployments may be processed anywhere and have no zone, and without `sku`
//! nothing is derived (fail closed). A written zone that contradicts a known region (another
//! zone, or a region in none, such as `uksouth`) is a config error. Routers may set
//! `data_zones` and/or `regions`: their pool, and so their failover set, is restricted to
//! deployments in them, and a router listing a deployment outside them is a config error.
//!
//! A stored response records the zones it was served under (the router's, the principal's
//! and its conversation's, intersected: see `zone_rule.rs`); a follow-up inherits them,
//! whoever sends it.
//!
//! # Keys
//!
//! The key lookup is a keyed-hash map followed by a constant-time comparison (see `keys.rs`
//! for why); nothing on the request path allocates beyond the principal's `Arc` and its place
//! in the request extensions, and no lock is taken.

mod deny;
mod keys;
mod permit;
mod principal;
mod role;
mod upstream_state;
mod zone_rule;
mod zones;

pub use role::{Role, UnknownRole};
pub use zones::data_zone_of;

pub(crate) use keys::KeyTable;
pub(crate) use permit::{
    CancelOp, CreateOp, DeleteOp, InputItemsOp, ListModelsOp, MetricsOp, Permit, RetrieveOp,
};
pub(crate) use principal::{Caller, Owner, Principal, RouterAccess, RouterGrant};
pub(crate) use upstream_state::{
    check_replayed, check_request, drop_bare_reasoning, include_encrypted_reasoning,
};
pub(crate) use zone_rule::{ZoneRule, outside_inherited, router_outside_inherited};
pub(crate) use zones::{RegionZone, normalize_region, normalize_zone, region_zone};

/// The principal name of the legacy `[access] api_keys_env` keys (role `admin`); reserved, so
/// no `[[access.principals]]` entry may take it.
pub const LEGACY_PRINCIPAL: &str = "api_keys_env";
