//! A routing strategy of your own, in a few lines: prompts that carry code go to a pinned
//! reasoning deployment with a cheaper fallback; everything else goes to the server-side
//! `model-router`. The client executes the plan with failover and reports a `RouteDecision`.
//!
//! ```text
//! cargo run --example custom_strategy
//! ```
//!
//! Runs offline against the embedded gateway's emulator pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use routewise::ProjectClient;
use routewise::auth::StaticBearer;
use routewise::strategy::{
    AttemptOutcome, PlannedAttempt, RouteContext, RouteError, RoutePlan, Strategy,
};
use routewise::types::CreateResponse;
use routewise_gateway::Gateway;

/// Code goes to `gpt-5-mini` (then `gpt-4.1-mini` if it fails); the rest to `model-router`.
#[derive(Debug, Default)]
struct CodeAware {
    /// Failed attempts seen by `observe`; shared so `main` can read it after the client
    /// took the strategy.
    failures: Arc<AtomicU64>,
}

impl Strategy for CodeAware {
    fn name(&self) -> &str {
        "code-aware"
    }

    fn route(&self, ctx: &RouteContext<'_>) -> Result<RoutePlan, RouteError> {
        let prompt = serde_json::to_string(&ctx.request.input).unwrap_or_default();
        let has_code = prompt.contains("```") || prompt.contains("fn ") || prompt.contains("def ");
        Ok(if has_code {
            RoutePlan::new(vec![
                PlannedAttempt::named("gpt-5-mini"),
                PlannedAttempt::named("gpt-4.1-mini"),
            ])
        } else {
            RoutePlan::single(PlannedAttempt::named("model-router"))
        })
    }

    fn observe(&self, outcome: &AttemptOutcome<'_>) {
        if outcome.result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let gateway = Gateway::default_pool().bind("127.0.0.1:0".parse()?).await?;
    let endpoint = format!("{}/api/projects/local", gateway.endpoint());
    let project = ProjectClient::new(&endpoint, StaticBearer::new("local-emulator"))?;
    // Same connection pool, different routing: only the strategy changes.
    let strategy = CodeAware::default();
    let failures = Arc::clone(&strategy.failures);
    let client = project.openai_client()?.with_strategy(strategy);

    for prompt in [
        "Explain retrieval-augmented generation in one sentence.",
        "Why does this not compile?\n```rust\nfn main() { let x: u8 = 300; }\n```",
    ] {
        // The model named here is only a default: the strategy decides.
        let response = client
            .responses()
            .create(CreateResponse::new("model-router", prompt))
            .await?;
        let decision = response.decision();
        println!(
            "{:<12} -> {:<14} served by {:<14} attempts: {}",
            decision.strategy,
            decision.deployment.as_deref().unwrap_or("-"),
            response.served_model(),
            decision.attempts.len()
        );
    }

    println!(
        "failed attempts observed by the strategy: {}",
        failures.load(Ordering::Relaxed)
    );
    gateway.shutdown().await;
    Ok(())
}
