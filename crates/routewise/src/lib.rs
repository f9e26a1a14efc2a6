//! The routewise client: [`ProjectClient`] and [`Client`] for the Responses API with automatic
//! (`model-router`) or pinned model routing.
//!
//! The seed's program, in Rust:
//!
//! ```no_run
//! use routewise::ProjectClient;
//! use routewise::auth::Credential;
//! use routewise::types::CreateResponse;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let project = ProjectClient::with_shared_credential(
//!     "https://my-res.services.ai.azure.com/api/projects/my-project",
//!     <dyn Credential>::from_env()?,
//! )?;
//! let client = project.openai_client()?;
//! let response = client.responses().create(CreateResponse::new("model-router", "Explain RAG in one sentence.")).await?;
//! // `model` is the model that served the call, not the deployment asked for.
//! println!("{}: {}", response.served_model(), response.output_text());
//! # Ok(()) }
//! ```
//!
//! - **Construction.** [`ProjectClient`] (`{project}/openai/v1`) or [`Client::builder`] for an
//!   Azure resource, OpenAI or any base URL. Endpoints are validated by [`Endpoint`].
//! - **Calls.** [`Responses`]: `create`, `stream`, `retrieve`, `delete`, `cancel`, `input_items`.
//! - **Routing.** Every create/stream is planned by a `routewise_strategy::Strategy` (by default
//!   the deployment the request names) and executed with failover; the result carries its
//!   `RouteDecision` ([`RoutedResponse`], [`ResponseStream::decision`]).
//! - **Layers.** Retry and timeouts from `routewise-transport`, auth as [`AuthLayer`]; any
//!   `Transport` can sit underneath.
//! - **Errors.** One opaque [`Error`] with [`ErrorKind`], the server's code/message/param, the
//!   diagnostic headers ([`ResponseMeta`]) and `is_*()` predicates.
//! - **Tracing.** One span per call named after the OpenTelemetry gen_ai conventions
//!   (`gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.*`, latency, request id);
//!   never headers, bodies or secrets.
//!
//! # Features
//! * `azure` (default): Entra ID credentials through `azure_identity`
//!   (`routewise::auth::AzureCredential`, the Entra rules of `from_env`). Apps that only use
//!   API keys or static tokens can set `default-features = false` and drop the Azure SDK.
//! * `hyper`: the hyper-util connector of `routewise-transport`.

mod auth_layer;
mod body;
mod client;
mod endpoint;
mod error;
mod exchange;
mod list;
mod meta;
mod project;
mod request;
mod responses;
mod root_cause;
mod routing;
mod secret_header;
mod stream;
mod telemetry;

pub use auth_layer::{AuthLayer, Authorized};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_RESPONSE_HEADER_TIMEOUT, DEFAULT_STREAM_FAILURE_GRACE, DEFAULT_TOKEN_TIMEOUT,
};
pub use endpoint::{
    Endpoint, EndpointError, EndpointKind, EndpointOptions, FOUNDRY_SCOPE, OPENAI_BASE_URL,
};
pub use error::{ContentFilterDetails, Error, ErrorKind};
pub use list::{DeletedResponse, InputItemList, InputItemsQuery, ListOrder};
pub use meta::ResponseMeta;
pub use project::ProjectClient;
pub use responses::Responses;
pub use routing::{AsRequested, RoutedResponse};
pub use stream::{ResponseStream, StreamAccumulator};

/// The crates the client is built from, re-exported so users need one dependency.
pub use routewise_auth as auth;
pub use routewise_strategy as strategy;
pub use routewise_transport as transport;
pub use routewise_types as types;
