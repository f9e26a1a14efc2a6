//! `ProjectClient`: the Foundry project entry point of the seed.

use std::sync::Arc;

use routewise_auth::{Credential, SharedCredential};

use crate::client::{Client, ClientBuilder};
use crate::endpoint::Endpoint;
use crate::error::Error;

/// A Foundry project, as `azure-ai-projects`' `AIProjectClient`.
///
/// [`openai_client`](Self::openai_client) gives a [`Client`] for `{project}/openai/v1`, as
/// `get_openai_client()` does in azure-ai-projects 2.x. Pair it with an Entra credential for the
/// `https://ai.azure.com/.default` scope ([`FOUNDRY_SCOPE`](crate::FOUNDRY_SCOPE), the default of
/// `routewise_auth::AzureCredential`); project samples use Entra rather than keys.
///
/// ```
/// use routewise::ProjectClient;
/// use routewise_auth::StaticBearer;
///
/// let project = ProjectClient::new(
///     "https://my-res.services.ai.azure.com/api/projects/my-project",
///     StaticBearer::new("token"),
/// )?;
/// let client = project.openai_client()?;
/// assert_eq!(
///     client.endpoint().base_url(),
///     "https://my-res.services.ai.azure.com/api/projects/my-project/openai/v1"
/// );
/// # Ok::<(), routewise::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProjectClient {
    endpoint: Endpoint,
    credential: SharedCredential,
}

impl ProjectClient {
    /// A client for the project at `endpoint`
    /// (`https://<res>.services.ai.azure.com/api/projects/<project>`).
    pub fn new(endpoint: &str, credential: impl Credential + 'static) -> Result<Self, Error> {
        Self::with_shared_credential(endpoint, Arc::new(credential))
    }

    /// [`new`](Self::new) with a credential that is already shared, e.g. from
    /// `<dyn Credential>::from_env()`.
    pub fn with_shared_credential(
        endpoint: &str,
        credential: SharedCredential,
    ) -> Result<Self, Error> {
        Ok(Self {
            endpoint: Endpoint::project(endpoint)?,
            credential,
        })
    }

    /// The project's OpenAI-compatible base (`{project}/openai/v1`).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A Responses client with the default settings.
    pub fn openai_client(&self) -> Result<Client, Error> {
        self.openai_client_builder().build()
    }

    /// A builder preset with the project's endpoint and credential, to adjust retries,
    /// timeouts, transport or strategy before building.
    pub fn openai_client_builder(&self) -> ClientBuilder {
        Client::builder()
            .endpoint(self.endpoint.clone())
            .shared_credential(self.credential.clone())
    }
}
