//! The seed's call path against MockFoundry: project client, model-router and pinned
//! deployments, URL shapes and auth header forms (digest §5), and the id-based operations.

use routewise::{Client, EndpointKind, ProjectClient};
use routewise_auth::{ApiKey, StaticBearer};
use routewise_testkit::{DEFAULT_PROJECT, MockFoundry, SEED_DEPLOYMENTS};
use routewise_types::CreateResponse;

const PROMPT: &str = "Explain RAG in one sentence.";

async fn seeded() -> MockFoundry {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    foundry
}

#[tokio::test]
async fn seed_call_through_model_router_reports_the_served_model() {
    let foundry = seeded().await;
    let project = ProjectClient::new(
        &foundry.project_endpoint(),
        StaticBearer::new("entra-token"),
    )
    .unwrap();
    let client = project.openai_client().unwrap();

    let response = crate::support::create(&client, "model-router", PROMPT)
        .await
        .unwrap();

    let served: Vec<&str> = SEED_DEPLOYMENTS.iter().map(|(_, served)| *served).collect();
    assert!(
        served.contains(&response.served_model()),
        "router reported {}",
        response.served_model()
    );
    assert!(!response.output_text().is_empty());
    let decision = response.decision();
    assert_eq!(decision.strategy, "pinned");
    assert_eq!(decision.deployment.as_deref(), Some("model-router"));
    assert_eq!(
        decision.served_model.as_deref(),
        Some(response.served_model())
    );
    assert_eq!(decision.attempts.len(), 1);
    assert!(response.request_id().is_some(), "x-request-id is surfaced");

    // On the wire: the project path, a bearer token, the seed's body.
    let received = foundry.received().await;
    assert_eq!(received.len(), 1);
    let req = &received[0];
    assert_eq!(
        req.path,
        format!("/api/projects/{DEFAULT_PROJECT}/openai/v1/responses")
    );
    assert_eq!(req.project(), Some(DEFAULT_PROJECT));
    assert_eq!(
        req.query_param("api-version"),
        None,
        "the v1 project route needs no api-version"
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.json.as_ref().unwrap()["model"], "model-router");
    assert_eq!(req.json.as_ref().unwrap()["input"], PROMPT);
    foundry.assert_bearer("entra-token").await;
}

#[tokio::test]
async fn four_pinned_deployments_each_report_their_served_model() {
    let foundry = seeded().await;
    let client = ProjectClient::new(&foundry.project_endpoint(), StaticBearer::new("t"))
        .unwrap()
        .openai_client()
        .unwrap();
    for (deployment, served) in SEED_DEPLOYMENTS {
        let response = crate::support::create(&client, deployment, PROMPT)
            .await
            .unwrap();
        // `model` goes in as the deployment name and comes back as the served model.
        assert_eq!(response.served_model(), served, "{deployment}");
        assert_eq!(response.decision().deployment.as_deref(), Some(deployment));
        assert_eq!(response.decision().served_model.as_deref(), Some(served));
        assert_eq!(foundry.requests_for_model(deployment).await.len(), 1);
    }
}

#[tokio::test]
async fn resource_endpoint_with_api_key_header() {
    let foundry = seeded().await;
    foundry.require_api_key("azure-key");
    let client = Client::builder()
        .azure_resource(&foundry.resource_endpoint())
        .credential(ApiKey::new("azure-key"))
        .build()
        .unwrap();
    assert_eq!(client.endpoint().kind(), EndpointKind::AzureResource);
    let response = crate::support::create(&client, "gpt-4o", PROMPT)
        .await
        .unwrap();
    assert_eq!(response.served_model(), "gpt-4o-2024-08-06");
    let received = foundry.received().await;
    assert_eq!(received[0].path, "/openai/v1/responses");
    assert_eq!(received[0].header("authorization"), None);
    foundry.assert_api_key("azure-key").await;
}

#[tokio::test]
async fn openai_style_base_url_with_key_as_bearer() {
    let foundry = seeded().await;
    foundry.require_bearer("sk-test");
    let client = Client::builder()
        .base_url(&foundry.openai_base_url())
        .credential(ApiKey::bearer("sk-test"))
        .build()
        .unwrap();
    let response = crate::support::create(&client, "gpt-4.1-mini", PROMPT)
        .await
        .unwrap();
    assert_eq!(response.served_model(), "gpt-4.1-mini-2025-04-14");
    let received = foundry.received().await;
    assert_eq!(received[0].path, "/openai/v1/responses");
    assert_eq!(received[0].header("api-key"), None);
    foundry.assert_bearer("sk-test").await;
}

#[tokio::test]
async fn wrong_key_is_an_authentication_error() {
    let foundry = seeded().await;
    foundry.require_api_key("right");
    let client = crate::support::builder(&foundry.openai_base_url())
        .credential(ApiKey::new("wrong"))
        .build()
        .unwrap();
    let err = crate::support::create(&client, "gpt-4o", PROMPT)
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(!err.is_retryable());
    assert_eq!(foundry.received().await.len(), 1, "401 is not retried");
}

#[test]
fn url_shapes_match_the_digest() {
    let project = ProjectClient::new(
        "https://res.services.ai.azure.com/api/projects/_project",
        StaticBearer::new("t"),
    )
    .unwrap()
    .openai_client()
    .unwrap();
    assert_eq!(
        project.endpoint().base_url(),
        "https://res.services.ai.azure.com/api/projects/_project/openai/v1"
    );
    let resource = Client::builder()
        .azure_resource("https://res.openai.azure.com/")
        .build()
        .unwrap();
    assert_eq!(
        resource.endpoint().base_url(),
        "https://res.openai.azure.com/openai/v1"
    );
    let services = Client::builder()
        .azure_resource("https://res.services.ai.azure.com")
        .build()
        .unwrap();
    assert_eq!(
        services.endpoint().base_url(),
        "https://res.services.ai.azure.com/openai/v1"
    );
    let openai = Client::builder().openai().build().unwrap();
    assert_eq!(openai.endpoint().base_url(), "https://api.openai.com/v1");
    assert_eq!(openai.endpoint().kind(), EndpointKind::OpenAi);
}

#[test]
fn invalid_endpoints_are_typed_errors() {
    for bad in [
        "",
        "not a url",
        "ftp://res.services.ai.azure.com/api/projects/p",
        "https://res.services.ai.azure.com",
        "https://res.services.ai.azure.com/api/projects/p/openai/v1",
        "https://user:pw@res.services.ai.azure.com/api/projects/p",
        "https://res.services.ai.azure.com/api/projects/p?api-version=v1",
    ] {
        let err = ProjectClient::new(bad, StaticBearer::new("t")).unwrap_err();
        assert_eq!(
            err.kind(),
            routewise::ErrorKind::InvalidInput,
            "{bad}: {err}"
        );
        assert!(
            !err.to_string().contains("pw@"),
            "credentials never echoed: {err}"
        );
    }
    let err = Client::builder().build().unwrap_err();
    assert_eq!(err.kind(), routewise::ErrorKind::InvalidInput);
    let err = Client::builder()
        .azure_resource("https://res.openai.azure.com/openai/deployments/x")
        .build()
        .unwrap_err();
    assert!(err.message().contains("resource endpoint"), "{err}");
    let err = Client::builder()
        .openai()
        .default_header("bad header", "v")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), routewise::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn retrieve_input_items_cancel_delete() {
    let foundry = seeded().await;
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let created = client
        .responses()
        .create(CreateResponse::new("gpt-4.1-nano", PROMPT).with_store(true))
        .await
        .unwrap();

    let fetched = client.responses().retrieve(&created.id).await.unwrap();
    assert_eq!(fetched.id, created.id);
    assert_eq!(fetched.output_text(), created.output_text());

    let items = client.responses().input_items(&created.id).await.unwrap();
    assert!(!items.data.is_empty());

    // Only background responses can be cancelled; the server's 400 comes back typed.
    let err = client.responses().cancel(&created.id).await.unwrap_err();
    assert_eq!(err.kind(), routewise::ErrorKind::BadRequest);
    assert!(err.message().contains("cancel"), "{err}");

    let deleted = client.responses().delete(&created.id).await.unwrap();
    assert!(deleted.deleted);
    assert_eq!(deleted.id, created.id);

    let err = client.responses().retrieve(&created.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = client
        .responses()
        .retrieve("../../secrets")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), routewise::ErrorKind::InvalidInput);
}

#[test]
fn calls_and_streams_are_send_so_they_can_be_spawned() {
    fn send<T: Send>(_: &T) {}
    let client = Client::builder().openai().build().unwrap();
    let responses = client.responses();
    send(&responses.create(CreateResponse::new("m", "x")));
    send(&responses.stream(CreateResponse::new("m", "x")));
    send(&responses.retrieve("resp_1"));
    send(&responses.input_items("resp_1"));
    fn stream_is_send<T: Send + Unpin>() {}
    stream_is_send::<routewise::ResponseStream>();
    fn sync<T: Send + Sync + Clone>() {}
    sync::<Client>();
    sync::<routewise::Error>();
}
