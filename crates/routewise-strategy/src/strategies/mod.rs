//! The built-in strategies.

pub(crate) mod fallback;
pub(crate) mod latency;
pub(crate) mod local;
pub(crate) mod model_router;
pub(crate) mod pinned;
pub(crate) mod weighted;
