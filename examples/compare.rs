//! The seed's program: one prompt to `model-router` and to pinned deployments, and a table of
//! which model answered, how fast, and what it said.
//!
//! ```text
//! cargo run --example compare -- [--prompt "…"] [--deployments model-router,gpt-5-mini] [--timeout 60]
//! ```
//!
//! With `PROJECT_ENDPOINT` set (a Foundry project endpoint,
//! `https://<resource>.services.ai.azure.com/api/projects/<project>`), it calls that endpoint
//! with the credential `routewise::auth::from_env()` chooses. Without it, it starts the embedded
//! routewise gateway in-process on a free loopback port, whose emulator pool answers offline.

use std::time::{Duration, Instant};

use clap::Parser;
use routewise::auth::{Credential, StaticBearer};
use routewise::types::CreateResponse;
use routewise::{Client, ProjectClient};
use routewise_gateway::{Gateway, RunningGateway};

/// The seed's deployments: model-router first, then four pinned models.
const SEED_DEPLOYMENTS: &str =
    "model-router,gpt-5.2,grok-4-fast-reasoning,gpt-5-mini,Deepseek-V3.2";
const SEED_PROMPT: &str = "Explain retrieval-augmented generation in one sentence.";

/// Compare model-router with pinned deployments on one prompt.
#[derive(Debug, Parser)]
struct Args {
    /// The prompt every deployment answers.
    #[arg(long, default_value = SEED_PROMPT)]
    prompt: String,
    /// Comma-separated deployment names, in table order.
    #[arg(long, default_value = SEED_DEPLOYMENTS, value_delimiter = ',')]
    deployments: Vec<String>,
    /// Seconds to wait for each answer's first byte (the SDK's own default, 600, is meant
    /// for long reasoning calls, not for a demo).
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (client, local) = connect(Duration::from_secs(args.timeout)).await?;

    println!(
        "{:<22} {:<22} {:>8}  Response",
        "Deployment", "Responded", "Latency"
    );
    println!("{}", "-".repeat(100));
    let mut failures = 0;
    for name in &args.deployments {
        let start = Instant::now();
        let result = client
            .responses()
            .create(CreateResponse::new(name.as_str(), args.prompt.as_str()))
            .await;
        let elapsed = start.elapsed().as_secs_f64();
        match result {
            Ok(response) => {
                let text = response.output_text();
                let served = match response.served_model() {
                    "" => "-",
                    model => model,
                };
                println!(
                    "{name:<22} {served:<22} {elapsed:>7.2}s  {}",
                    first_chars(&text, 60)
                );
            }
            Err(err) => {
                failures += 1;
                // The whole chain: "Connect: connect error" alone hides the DNS failure.
                let credential_failed = err.is_auth();
                let report = format!("{:#}", anyhow::Error::from(err));
                println!("{name:<22} {:<22} {elapsed:>7.2}s  error: {report}", "-");
                if credential_failed {
                    // Every other row would wait for the same credential and fail the same way.
                    println!("(stopping: the credential failed, see the error above)");
                    break;
                }
            }
        }
    }

    if let Some(gateway) = local {
        gateway.shutdown().await;
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} deployments failed",
            args.deployments.len()
        );
    }
    Ok(())
}

/// A client for `PROJECT_ENDPOINT`, or for an embedded gateway when it is not set.
async fn connect(timeout: Duration) -> anyhow::Result<(Client, Option<RunningGateway>)> {
    if let Ok(endpoint) = std::env::var("PROJECT_ENDPOINT") {
        if endpoint.trim().is_empty() {
            anyhow::bail!(
                "PROJECT_ENDPOINT is set but empty: unset it to use the embedded gateway, or set \
                 it to https://<resource>.services.ai.azure.com/api/projects/<project>"
            );
        }
        // The endpoint is checked before a credential is looked for, so a typo in it is
        // reported as such rather than as a missing credential.
        ProjectClient::new(&endpoint, StaticBearer::new("endpoint-check"))?;
        let credential = <dyn Credential>::from_env()?;
        let project = ProjectClient::with_shared_credential(&endpoint, credential)?;
        eprintln!("Calling {endpoint}\n");
        let client = project
            .openai_client_builder()
            .response_header_timeout(timeout)
            .build()?;
        return Ok((client, None));
    }
    let gateway = Gateway::default_pool().bind("127.0.0.1:0".parse()?).await?;
    eprintln!(
        "PROJECT_ENDPOINT is not set: started the embedded routewise gateway at {} \
         (emulator pool, offline; answers are emulated).\n\
         Set PROJECT_ENDPOINT to a Foundry project endpoint to call real models.\n",
        gateway.endpoint()
    );
    // The embedded gateway accepts any bearer token on loopback, like Foundry accepts Entra ID.
    let endpoint = format!("{}/api/projects/local", gateway.endpoint());
    let project = ProjectClient::new(&endpoint, StaticBearer::new("local-emulator"))?;
    Ok((project.openai_client()?, Some(gateway)))
}

/// The first `n` characters of `text` (not bytes: answers may hold any script).
fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}
