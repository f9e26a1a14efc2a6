//! [`Permit`]: the handler argument that proves the caller's role allows the handler's
//! operation. Each handler names its operation in its signature, so the check sits with the
//! route it guards (no second routing table to keep in step with the router).

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::Extensions;
use http::request::Parts;

use super::deny;
use super::principal::Caller;
use super::role::Action;
use crate::error::GatewayError;
use crate::state::AppState;

/// An operation a handler performs, as a type (see [`Permit`]).
pub(crate) trait Operation {
    /// The operation.
    const ACTION: Action;
}

macro_rules! operations {
    ($($name:ident => $action:ident),* $(,)?) => {
        $(
            #[doc = concat!("The `", stringify!($action), "` operation, as a type.")]
            #[derive(Debug)]
            pub(crate) struct $name;
            impl Operation for $name {
                const ACTION: Action = Action::$action;
            }
        )*
    };
}

operations! {
    CreateOp => Create,
    RetrieveOp => Retrieve,
    InputItemsOp => InputItems,
    DeleteOp => Delete,
    CancelOp => Cancel,
    ListModelsOp => ListModels,
    MetricsOp => Metrics,
}

/// Extracted by a handler of operation `O`: the caller, whose role allows `O`; otherwise the
/// request is answered 403 before the handler runs.
#[derive(Debug)]
pub(crate) struct Permit<O>(pub Caller, pub PhantomData<O>);

/// The request's caller: what the access layer attached, or anonymous when access control is
/// off. Missing while access control is on is a wiring bug, refused (fail closed).
fn caller_of(extensions: &Extensions, state: &AppState) -> Result<Caller, GatewayError> {
    match extensions.get::<Caller>() {
        Some(caller) => Ok(caller.clone()),
        None if state.access().is_off() => Ok(Caller::Anonymous),
        None => Err(deny::unresolved()),
    }
}

impl<O: Operation> FromRequestParts<Arc<AppState>> for Permit<O> {
    type Rejection = GatewayError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = caller_of(&parts.extensions, state)?;
        caller.require(O::ACTION)?;
        Ok(Self(caller, PhantomData))
    }
}
