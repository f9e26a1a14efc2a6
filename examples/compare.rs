//! The seed's program: one prompt to `model-router` and to pinned deployments, and a table of
//! which model answered, how fast, and what it said.
//!
//! ```text
//! cargo run --example compare [-- --prompt "…"] [-- --deployments model-router,gpt-5-mini]
//! ```
//!
//! With `PROJECT_ENDPOINT` set (a Foundry project endpoint,
//! `https://<resource>.services.ai.azure.com/api/projects/<project>`), it calls that endpoint
//! with the credential `routewise_auth::from_env()` chooses. Without it, it starts the embedded
//! routewise gateway in-process on a free loopback port, whose emulator pool answers offline.

use std::time::Instant;

use clap::Parser;
use routewise::{Client, ProjectClient};
use routewise_auth::{Credential, StaticBearer};
use routewise_gateway::{Gateway, RunningGateway};
use routewise_types::CreateResponse;

/// The seed's deployments: model-router first, then four pinned models.
const SEED_DEPLOYMENTS: &str =
    "model-router,gpt-5.2,grok-4-fast-reasoning,gpt-5-mini,Deepseek-V3.2";
const SEED_PROMPT: &str = "Explain retrieval-augmented generation in one sentence.";

/// Compare model-router with pinned deployments on one prompt.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// The prompt every deployment answers.
    #[arg(long, default_value = SEED_PROMPT)]
    prompt: String,
    /// Comma-separated deployment names, in table order.
    #[arg(long, default_value = SEED_DEPLOYMENTS, value_delimiter = ',')]
    deployments: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (client, local) = connect().await?;

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
                println!(
                    "{name:<22} {:<22} {elapsed:>7.2}s  {}",
                    response.served_model(),
                    first_chars(&text, 60)
                );
            }
            Err(err) => {
                failures += 1;
                println!("{name:<22} {:<22} {elapsed:>7.2}s  error: {err}", "-");
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
async fn connect() -> anyhow::Result<(Client, Option<RunningGateway>)> {
    if let Ok(endpoint) = std::env::var("PROJECT_ENDPOINT") {
        let credential = <dyn Credential>::from_env()?;
        let project = ProjectClient::with_shared_credential(&endpoint, credential)?;
        eprintln!("Calling {endpoint}\n");
        return Ok((project.openai_client()?, None));
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
