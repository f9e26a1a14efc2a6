//! `input_items` paging against MockFoundry, which pages like the service: newest first by
//! default, `after` / `limit` / `order`, 400 on bad parameters.

use routewise::{ErrorKind, InputItemsQuery, ListOrder};
use routewise_testkit::MockFoundry;
use routewise_types::{CreateResponse, InputItem};

/// The texts of the five stored user messages, in the order they were sent.
const TEXTS: [&str; 5] = ["one", "two", "three", "four", "five"];

async fn stored() -> (MockFoundry, routewise::Client, String) {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments();
    let client = crate::support::builder(&foundry.openai_base_url())
        .build()
        .unwrap();
    let items: Vec<InputItem> = TEXTS.iter().map(|t| InputItem::user(*t)).collect();
    let created = client
        .responses()
        .create(
            CreateResponse::new("gpt-4.1-nano", "")
                .with_input(items)
                .with_store(true),
        )
        .await
        .unwrap();
    let id = created.id.clone();
    (foundry, client, id)
}

fn texts(items: &[InputItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            let v = serde_json::to_value(i).unwrap();
            v["content"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| v["content"][0]["text"].as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn default_page_is_newest_first() {
    let (_foundry, client, id) = stored().await;
    let page = client.responses().input_items(&id).await.unwrap();
    assert_eq!(texts(&page.data), ["five", "four", "three", "two", "one"]);
    assert!(!page.has_more);
}

#[tokio::test]
async fn pages_follow_last_id_until_has_more_is_false() {
    let (foundry, client, id) = stored().await;
    let query = InputItemsQuery::new().limit(2).order(ListOrder::Asc);
    let first = client
        .responses()
        .input_items_page(&id, &query)
        .await
        .unwrap();
    assert_eq!(texts(&first.data), ["one", "two"]);
    assert!(first.has_more);
    let second = client
        .responses()
        .input_items_page(&id, &query.clone().after(first.last_id.unwrap()))
        .await
        .unwrap();
    assert_eq!(texts(&second.data), ["three", "four"]);
    assert!(second.has_more);

    let all = client
        .responses()
        .input_items_all(&id, InputItemsQuery::new().limit(2).order(ListOrder::Asc))
        .await
        .unwrap();
    assert_eq!(texts(&all), TEXTS);
    let sent = foundry.received().await;
    let last = sent.last().unwrap();
    assert_eq!(last.query_param("limit"), Some("2"));
    assert_eq!(last.query_param("order"), Some("asc"));
    assert!(last.query_param("after").is_some());
}

#[tokio::test]
async fn bad_paging_parameters_come_back_as_typed_400s() {
    let (_foundry, client, id) = stored().await;
    let err = client
        .responses()
        .input_items_page(&id, &InputItemsQuery::new().limit(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.param(), Some("limit"));
    let err = client
        .responses()
        .input_items_page(&id, &InputItemsQuery::new().after("msg_nope&limit=1"))
        .await
        .unwrap_err();
    assert_eq!(err.param(), Some("after"), "{err}");
    assert!(err.message().contains("msg_nope&limit=1"), "{err}");
}

#[tokio::test]
async fn all_items_before_a_cursor_are_paged_back_and_none_lost() {
    let (_foundry, client, id) = stored().await;
    let asc = client
        .responses()
        .input_items_all(&id, InputItemsQuery::new().order(ListOrder::Asc))
        .await
        .unwrap();
    let fifth = serde_json::to_value(&asc[4]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // One per page, oldest first, everything before "five": four pages back.
    let query = InputItemsQuery::new()
        .before(fifth.clone())
        .limit(1)
        .order(ListOrder::Asc);
    let before = client
        .responses()
        .input_items_all(&id, query)
        .await
        .unwrap();
    assert_eq!(texts(&before), ["one", "two", "three", "four"]);
    let newest_first = InputItemsQuery::new().before(fifth).limit(3);
    let page = client
        .responses()
        .input_items_page(&id, &newest_first)
        .await
        .unwrap();
    // Newest first, "five" comes first: nothing is before it.
    assert!(page.data.is_empty() && !page.has_more);
}

#[tokio::test]
async fn cursors_that_cycle_end_in_an_error_not_an_endless_loop() {
    use crate::support::scripted::{Reply, ScriptedServer};
    // A server whose order is unstable: after `a` it points to `b`, after `b` back to `a`,
    // always claiming more. Only a repeat on the very next page used to be caught.
    let page = |id: &str| {
        Reply::json(
            200,
            format!(
                r#"{{"object":"list","data":[{{"type":"message","id":"{id}","role":"user","content":"x"}}],"first_id":"{id}","last_id":"{id}","has_more":true}}"#
            ),
        )
    };
    let server = ScriptedServer::start(move |seen| {
        if seen.path.contains("after=a") {
            page("b")
        } else {
            page("a")
        }
    })
    .await;
    let client = crate::support::builder(&server.uri()).build().unwrap();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client
            .responses()
            .input_items_all("resp_1", InputItemsQuery::new()),
    )
    .await
    .expect("the paging ends")
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert!(err.message().contains("no new cursor"), "{err}");
}
