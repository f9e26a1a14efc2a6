//! The quality estimator: the judgement at the heart of a local model router.

use std::fmt;

use crate::pool::Deployment;

/// What a router may see of a request: only what the request itself carries.
///
/// Built from a `CreateResponse` by [`PromptView::from_request`](crate::PromptView::from_request)
/// or by hand from plain strings (training and evaluation do that).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptView<'a> {
    /// System or developer instructions.
    pub instructions: Option<&'a str>,
    /// User turns, oldest first; the last is the one being answered.
    pub user_turns: Vec<&'a str>,
    /// Number of earlier assistant turns or replayed output items.
    pub history_items: usize,
    /// Names of the tools offered.
    pub tools: Vec<&'a str>,
}

impl<'a> PromptView<'a> {
    /// A single-turn prompt with no instructions or tools.
    pub fn from_text(text: &'a str) -> Self {
        Self {
            user_turns: vec![text],
            ..Self::default()
        }
    }

    /// The last user turn, or "" when there is none.
    pub fn last_user(&self) -> &'a str {
        self.user_turns.last().copied().unwrap_or("")
    }
}

/// Predicts, for one prompt, the expected quality (0..1) of each candidate deployment.
///
/// Implementations must be cheap (they run on every routed request) and must only use what
/// [`PromptView`] carries. Writes one score per candidate, in order, into `out`
/// (which the caller clears).
pub trait QualityEstimator: Send + Sync + fmt::Debug {
    /// A short name for traces and `RouteDecision`s.
    fn name(&self) -> &str;

    /// Pushes one predicted quality per candidate onto `out`.
    fn estimate(&self, prompt: &PromptView<'_>, candidates: &[&Deployment], out: &mut Vec<f64>);

    /// Quality bands calibrated for this candidate set, when the estimator was calibrated
    /// (a trained one is); [`LocalRouter`](crate::LocalRouter) uses them unless bands were
    /// set explicitly. The candidate set is part of the deployment, not of the request.
    fn calibrated_bands(&self, candidates: &[&Deployment]) -> Option<crate::Bands> {
        let _ = candidates;
        None
    }
}
