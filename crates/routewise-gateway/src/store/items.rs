//! Input items as `GET /responses/{id}/input_items` lists them, and their paging.

use routewise_types::{Input, PageBounds};
use serde_json::{Value, json};

use crate::error::clipped;

/// The most characters of a query value an error repeats.
const ECHO: usize = 64;

/// This request's input as a list of items, each with an `id` (`msg_…` when the client sent
/// none), as OpenAI lists them: a string becomes one user message with `input_text` content.
pub(crate) fn input_items(input: Option<&Input>) -> Vec<Value> {
    let value = input.and_then(|i| serde_json::to_value(i).ok());
    let list = match value {
        Some(Value::String(text)) => vec![json!({
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        })],
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    list.into_iter().map(with_id).collect()
}

fn with_id(item: Value) -> Value {
    let Value::Object(mut map) = item else {
        return item;
    };
    if !map.contains_key("type") && map.contains_key("role") {
        map.insert("type".into(), "message".into());
    }
    if let Some(Value::String(text)) = map.get("content") {
        let kind = match map.get("role").and_then(Value::as_str) {
            Some("assistant") => "output_text",
            _ => "input_text",
        };
        let text = text.clone();
        map.insert("content".into(), json!([{"type": kind, "text": text}]));
    }
    if !map.contains_key("id") {
        let prefix = match map.get("type").and_then(Value::as_str) {
            Some("message") | None => "msg",
            Some(_) => "item",
        };
        map.insert("id".into(), new_id(prefix).into());
    }
    Value::Object(map)
}

/// `prefix_` and 48 random hex digits, the shape of OpenAI's ids.
pub(crate) fn new_id(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let (a, b, c): (u64, u64, u64) = (rng.random(), rng.random(), rng.random());
    format!("{prefix}_{a:016x}{b:016x}{c:016x}")
}

/// The paging parameters of `input_items`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemsPage {
    /// Start after the item with this id.
    pub after: Option<String>,
    /// End before the item with this id (Azure's `before`: the page just before it).
    pub before: Option<String>,
    /// Items per page, 1..=100 (default 20).
    pub limit: usize,
    /// Newest first (`desc`, the default) or oldest first.
    pub descending: bool,
}

impl ItemsPage {
    /// Parses `after`, `limit` and `order` from a query string's pairs; the error names the
    /// parameter.
    pub(crate) fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, (String, &'static str)> {
        let mut page = Self {
            after: None,
            before: None,
            limit: 20,
            descending: true,
        };
        for (key, text) in pairs {
            match key {
                // An empty cursor (`?after=`, a form or SDK that writes every parameter) is
                // the first page, as if it were absent.
                "after" => page.after = (!text.is_empty()).then(|| text.to_owned()),
                "before" => page.before = (!text.is_empty()).then(|| text.to_owned()),
                "limit" => match text.parse::<usize>() {
                    Ok(n) if (1..=100).contains(&n) => page.limit = n,
                    _ => {
                        return Err((
                            format!(
                                "Invalid 'limit': {:?}. Expected an integer from 1 to 100.",
                                clipped(text, ECHO)
                            ),
                            "limit",
                        ));
                    }
                },
                "order" => match text {
                    "asc" => page.descending = false,
                    "desc" => page.descending = true,
                    _ => {
                        return Err((
                            format!(
                                "Invalid 'order': {:?}. Expected 'asc' or 'desc'.",
                                clipped(text, ECHO)
                            ),
                            "order",
                        ));
                    }
                },
                // OpenAI accepts `include[]` here; the stored items are already whole.
                _ => {}
            }
        }
        Ok(page)
    }
}

/// One page of `items` as an OpenAI list object, or what is wrong and the parameter at fault.
///
/// Where the page falls is [`PageBounds::of`]'s rule, shared with the test kit's mock.
pub(crate) fn page(items: &[Value], p: &ItemsPage) -> Result<Value, (String, &'static str)> {
    let ordered: Vec<&Value> = if p.descending {
        items.iter().rev().collect()
    } else {
        items.iter().collect()
    };
    let find = |id: &str, param: &'static str| {
        ordered
            .iter()
            .position(|v| v.get("id").and_then(Value::as_str) == Some(id))
            .ok_or_else(|| {
                (
                    format!(
                        "No input item with id {:?} in this response.",
                        clipped(id, ECHO)
                    ),
                    param,
                )
            })
    };
    let after = p.after.as_deref().map(|id| find(id, "after")).transpose()?;
    let before = p
        .before
        .as_deref()
        .map(|id| find(id, "before"))
        .transpose()?;
    let PageBounds { range, has_more } = PageBounds::of(ordered.len(), after, before, p.limit);
    let data = &ordered[range];
    let data: Vec<Value> = data.iter().map(|v| (*v).clone()).collect();
    let id_of = |v: Option<&Value>| v.and_then(|v| v.get("id")).cloned().unwrap_or(Value::Null);
    Ok(json!({
        "object": "list",
        "first_id": id_of(data.first()),
        "last_id": id_of(data.last()),
        "has_more": has_more,
        "data": data,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &Value) -> Vec<&str> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn a_string_input_is_one_user_message_with_an_id() {
        let items = input_items(Some(&Input::Text("hi".into())));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["type"], "message");
        assert_eq!(items[0]["role"], "user");
        assert_eq!(items[0]["content"][0]["type"], "input_text");
        assert!(items[0]["id"].as_str().unwrap().starts_with("msg_"));
    }

    #[test]
    fn list_items_keep_their_ids_and_gain_a_type() {
        let input: Input = serde_json::from_value(json!([
            {"role": "assistant", "content": "earlier"},
            {"type": "message", "id": "msg_keep", "role": "user",
             "content": [{"type": "input_text", "text": "now"}]}
        ]))
        .unwrap();
        let items = input_items(Some(&input));
        assert_eq!(items[0]["type"], "message");
        assert_eq!(items[0]["content"][0]["type"], "output_text");
        assert_eq!(items[1]["id"], "msg_keep");
    }

    #[test]
    fn pages_follow_order_after_and_limit() {
        let items: Vec<Value> = (1..=5).map(|i| json!({"id": format!("i{i}")})).collect();
        let all = |q: &[(&str, &str)]| ItemsPage::parse(q.iter().copied()).unwrap();
        let p = page(&items, &all(&[])).unwrap();
        assert_eq!(ids(&p), ["i5", "i4", "i3", "i2", "i1"]);
        assert_eq!(p["has_more"], false);
        let p = page(&items, &all(&[("order", "asc"), ("limit", "2")])).unwrap();
        assert_eq!(ids(&p), ["i1", "i2"]);
        assert_eq!(
            (p["first_id"].as_str(), p["has_more"].as_bool()),
            (Some("i1"), Some(true))
        );
        let p = page(
            &items,
            &all(&[("order", "asc"), ("after", "i2"), ("limit", "2")]),
        )
        .unwrap();
        assert_eq!(ids(&p), ["i3", "i4"]);
        assert_eq!(
            page(&items, &all(&[("after", "nope")])).unwrap_err().1,
            "after"
        );
        assert!(ItemsPage::parse([("limit", "x")]).is_err());
        // An empty cursor is no cursor.
        let p = page(
            &items,
            &all(&[("after", ""), ("before", ""), ("limit", "2")]),
        )
        .unwrap();
        assert_eq!(ids(&p), ["i5", "i4"]);
    }

    #[test]
    fn before_pages_back_from_a_cursor_in_either_order() {
        let items: Vec<Value> = (1..=5).map(|i| json!({"id": format!("i{i}")})).collect();
        let all = |q: &[(&str, &str)]| ItemsPage::parse(q.iter().copied()).unwrap();
        // The page just before i4, oldest first: i2, i3, with i1 still further back.
        let p = page(
            &items,
            &all(&[("order", "asc"), ("before", "i4"), ("limit", "2")]),
        )
        .unwrap();
        assert_eq!(ids(&p), ["i2", "i3"]);
        assert_eq!(p["has_more"], true);
        // Newest first, before i2: i5, i4, i3 (nothing further back).
        let p = page(&items, &all(&[("before", "i2")])).unwrap();
        assert_eq!(ids(&p), ["i5", "i4", "i3"]);
        assert_eq!(p["has_more"], false);
        // Both cursors: the items strictly between them, paged forward.
        let p = page(
            &items,
            &all(&[
                ("order", "asc"),
                ("after", "i1"),
                ("before", "i5"),
                ("limit", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(ids(&p), ["i2", "i3"]);
        assert_eq!(p["has_more"], true);
        // Crossed cursors make an empty page, not a panic.
        let p = page(
            &items,
            &all(&[("order", "asc"), ("after", "i4"), ("before", "i2")]),
        )
        .unwrap();
        assert_eq!(ids(&p), Vec::<&str>::new());
        assert_eq!(p["first_id"], Value::Null);
        assert_eq!(
            page(&items, &all(&[("before", "nope")])).unwrap_err().1,
            "before"
        );
    }

    #[test]
    fn bad_paging_values_name_their_parameter() {
        for (key, text) in [("limit", "0"), ("limit", "101"), ("order", "up")] {
            let (message, param) = ItemsPage::parse([(key, text)]).unwrap_err();
            assert_eq!(param, key);
            assert!(message.contains(text), "{message}");
        }
    }
}
