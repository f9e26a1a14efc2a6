//! The futures of `client.responses()` live as long as the client, not as the temporary
//! `Responses` handle: they can be stored, collected and joined. Most of what this file checks
//! is that it compiles (E0716/E0515 otherwise).

use futures_util::future::join_all;
use routewise::{Client, Error, RoutedResponse};
use routewise_testkit::MockFoundry;
use routewise_types::CreateResponse;

async fn client() -> (MockFoundry, Client) {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    (foundry, client)
}

fn stored(text: &str) -> CreateResponse {
    CreateResponse::new("gpt-4.1-nano", text).with_store(true)
}

#[tokio::test]
async fn a_create_future_can_be_stored_before_it_is_awaited() {
    let (_foundry, client) = client().await;
    let create = client.responses().create(stored("one"));
    let stream = client.responses().stream(stored("two"));
    let created: RoutedResponse = create.await.unwrap();
    let streamed = stream.await.unwrap().final_response().await.unwrap();
    assert_ne!(created.id, streamed.id);
}

#[tokio::test]
async fn retrieve_futures_over_borrowed_ids_can_be_joined() {
    let (_foundry, client) = client().await;
    let creates: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|text| client.responses().create(stored(text)))
        .collect();
    let ids: Vec<String> = join_all(creates)
        .await
        .into_iter()
        .map(|r| r.map(|r| r.id.clone()))
        .collect::<Result<_, Error>>()
        .unwrap();

    let retrieved = join_all(ids.iter().map(|id| client.responses().retrieve(id))).await;
    let got: Vec<String> = retrieved.into_iter().map(|r| r.unwrap().id).collect();
    assert_eq!(got, ids);

    let items = join_all(ids.iter().map(|id| client.responses().input_items(id))).await;
    assert!(
        items
            .iter()
            .all(|page| page.as_ref().is_ok_and(|p| !p.data.is_empty()))
    );

    let deleted = join_all(ids.iter().map(|id| client.responses().delete(id))).await;
    assert!(deleted.iter().all(|d| d.as_ref().is_ok_and(|d| d.deleted)));
}
