//! Roles and the operations they allow, modelled on Foundry's built-in roles.

use std::fmt;

/// What a principal may do, modelled on Foundry's (Azure RBAC) built-in roles.
///
/// | role | Foundry analogue | may |
/// |---|---|---|
/// | `user` | Azure AI User / Cognitive Services OpenAI User | create responses on its allowed deployments; retrieve, delete and cancel stored responses and list their input items; list models |
/// | `reader` | Reader, on the data plane | list models; retrieve stored responses and list their input items (no create, delete or cancel) |
/// | `monitor` | Monitoring Reader | `GET /metrics` and list models, nothing else |
/// | `admin` | Owner / Azure AI Account Owner | everything, `/metrics` included, and every principal's stored responses |
///
/// `user` may not read `/metrics`: the exposition shows every deployment's traffic and token
/// counts, all tenants' together, which a tenant's application has no business reading (on
/// Azure too, calling a model and reading its metrics are separate roles). `/healthz` and
/// `/readyz` need no key at all. The keys of `[access] api_keys_env` act as `admin`.
///
/// ```
/// use routewise_gateway::access::Role;
///
/// let role: Role = "reader".parse().unwrap();
/// assert_eq!(role, Role::Reader);
/// assert_eq!(role.to_string(), "reader");
/// assert!("owner".parse::<Role>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Calls the Responses API and manages stored responses.
    User,
    /// Reads stored responses and the model list.
    Reader,
    /// Reads `/metrics` and the model list.
    Monitor,
    /// Everything.
    Admin,
}

impl Role {
    /// Every role, in order of the table above.
    pub const ALL: [Role; 4] = [Role::User, Role::Reader, Role::Monitor, Role::Admin];

    /// The name used in configs, logs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Reader => "reader",
            Self::Monitor => "monitor",
            Self::Admin => "admin",
        }
    }

    /// True when this role may perform `action`.
    pub(crate) fn permits(self, action: Action) -> bool {
        use Action::*;
        match self {
            Self::Admin => true,
            Self::User => !matches!(action, Metrics),
            Self::Reader => matches!(action, Retrieve | InputItems | ListModels),
            Self::Monitor => matches!(action, Metrics | ListModels),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown role name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role {:?} (expected user, reader, monitor or admin)",
            self.0
        )
    }
}

impl std::error::Error for UnknownRole {}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    /// Role names are matched exactly (lowercase), as written in the config.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// One operation of the gateway's API, as roles see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `POST .../responses`
    Create,
    /// `GET .../responses/{id}` (also `?stream=true`)
    Retrieve,
    /// `GET .../responses/{id}/input_items`
    InputItems,
    /// `DELETE .../responses/{id}`
    Delete,
    /// `POST .../responses/{id}/cancel`
    Cancel,
    /// `GET .../models`
    ListModels,
    /// `GET /metrics`
    Metrics,
}

impl Action {
    /// The operation as Azure's `PermissionDenied` messages name it: method and path
    /// template, never the path as sent (no ids or project names echoed).
    pub(crate) fn operation(self) -> &'static str {
        match self {
            Self::Create => "POST /openai/v1/responses",
            Self::Retrieve => "GET /openai/v1/responses/{response_id}",
            Self::InputItems => "GET /openai/v1/responses/{response_id}/input_items",
            Self::Delete => "DELETE /openai/v1/responses/{response_id}",
            Self::Cancel => "POST /openai/v1/responses/{response_id}/cancel",
            Self::ListModels => "GET /openai/v1/models",
            Self::Metrics => "GET /metrics",
        }
    }

    /// The roles allowed to perform it, for error messages.
    pub(crate) fn roles(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| r.permits(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        use Action::*;
        let all = [
            Create, Retrieve, InputItems, Delete, Cancel, ListModels, Metrics,
        ];
        let allowed =
            |role: Role| -> Vec<Action> { all.into_iter().filter(|a| role.permits(*a)).collect() };
        assert_eq!(allowed(Role::Admin), all);
        assert_eq!(
            allowed(Role::User),
            [Create, Retrieve, InputItems, Delete, Cancel, ListModels]
        );
        assert_eq!(allowed(Role::Reader), [Retrieve, InputItems, ListModels]);
        assert_eq!(allowed(Role::Monitor), [ListModels, Metrics]);
        let roles: Vec<Role> = Metrics.roles().collect();
        assert_eq!(roles, [Role::Monitor, Role::Admin]);
    }

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "Admin".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("expected user, reader"), "{err}");
    }
}
