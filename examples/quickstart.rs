//! Quickstart: the seed's call, `responses.create` then streaming, through a Foundry project.
//!
//! ```text
//! PROJECT_ENDPOINT=https://<resource>.services.ai.azure.com/api/projects/<project> \
//!     cargo run --example quickstart [-- <model or deployment, default model-router>]
//! ```
//!
//! The credential comes from the environment (`routewise::auth::from_env`): an API key in
//! `AZURE_OPENAI_API_KEY`, or Entra ID through workload identity, managed identity or the
//! Azure CLI / azd login. Without `PROJECT_ENDPOINT` the example starts the routewise gateway's
//! offline emulator in-process and runs against it, so it works with no Azure account.

use std::io::Write;

use futures_util::StreamExt;
use routewise::ProjectClient;
use routewise::auth::{Credential, StaticBearer};
use routewise::types::CreateResponse;
use routewise_gateway::Gateway;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let model = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "model-router".to_owned());
    if model.starts_with('-') {
        // Not a deployment name: `-- --help` or a mistyped flag.
        println!("usage: cargo run --example quickstart [-- <model or deployment>]");
        return Ok(());
    }
    let (project, emulator) = match std::env::var("PROJECT_ENDPOINT") {
        Ok(endpoint) => (
            ProjectClient::with_shared_credential(&endpoint, <dyn Credential>::from_env()?)?,
            None,
        ),
        Err(_) => {
            eprintln!("PROJECT_ENDPOINT is not set; running against the local gateway emulator.");
            eprintln!(
                "To call Foundry: PROJECT_ENDPOINT=https://<res>.services.ai.azure.com/api/projects/<project> \
                 cargo run --example quickstart (credential from AZURE_OPENAI_API_KEY or an Entra login)\n"
            );
            let running = Gateway::default_pool().bind("127.0.0.1:0".parse()?).await?;
            let endpoint = format!("{}/api/projects/quickstart", running.endpoint());
            (
                ProjectClient::new(&endpoint, StaticBearer::new("local-emulator"))?,
                Some(running),
            )
        }
    };
    let client = project.openai_client()?;

    // 1. The seed: one call, then the served model and the text.
    let response = client
        .responses()
        .create(CreateResponse::new(
            model.as_str(),
            "Explain RAG in one sentence.",
        ))
        .await?;
    println!("[{}] {}", response.served_model(), response.output_text());
    println!("route: {}\n", serde_json::to_string(response.decision())?);

    // 2. The same through a stream: print deltas as they arrive, then the final response.
    let request = CreateResponse::new(model.as_str(), "Name three uses of vector databases.");
    let mut stream = client.responses().stream(request).await?;
    while let Some(event) = stream.next().await {
        if let Some(delta) = event?.text_delta() {
            print!("{delta}");
            std::io::stdout().flush()?;
        }
    }
    let streamed = stream.final_response().await?;
    let usage = streamed.usage().map(|u| (u.input_tokens, u.output_tokens));
    println!(
        "\n[{}] tokens (in, out): {usage:?}",
        streamed.served_model()
    );

    if let Some(running) = emulator {
        running.shutdown().await;
    }
    Ok(())
}
