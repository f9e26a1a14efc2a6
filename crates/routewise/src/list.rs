//! Small result objects of the id-based operations.

use routewise_types::InputItem;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GET /responses/{id}/input_items`: `{"object":"list","data":[…],"first_id","last_id","has_more"}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputItemList {
    /// The items, in the order given (unknown item types kept verbatim).
    #[serde(default)]
    pub data: Vec<InputItem>,
    /// The first item's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_id: Option<String>,
    /// The last item's id (pass it as `after` for the next page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
    /// Whether more items follow.
    #[serde(default)]
    pub has_more: bool,
    /// Other fields (`object`, future additions), kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `DELETE /responses/{id}`: `{"id","object":"response.deleted","deleted":true}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedResponse {
    /// The deleted response's id.
    pub id: String,
    /// Whether it was deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Other fields (`object`, future additions), kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Paging and options for [`Responses::input_items_page`](crate::Responses::input_items_page):
/// the `after`, `limit`, `order` and `include` query parameters.
///
/// ```
/// use routewise::{InputItemsQuery, ListOrder};
/// let q = InputItemsQuery::new().after("msg_1").limit(50).order(ListOrder::Asc);
/// assert_eq!(q.to_query(), "after=msg_1&limit=50&order=asc");
/// // Azure's `before` pages back: the page just before `msg_9`.
/// assert_eq!(InputItemsQuery::new().before("msg_9").to_query(), "before=msg_9");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputItemsQuery {
    /// Items after this id (the previous page's `last_id`).
    pub after: Option<String>,
    /// Items before this id, the page just before it (Azure's `before`; OpenAI's API
    /// documents only `after`).
    pub before: Option<String>,
    /// Page size; the service accepts 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// Oldest or newest first.
    pub order: Option<ListOrder>,
    /// Extra fields to include, e.g. `message.input_image.image_url`.
    pub include: Vec<String>,
}

/// The order of a listed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListOrder {
    /// Oldest first.
    Asc,
    /// Newest first (the service's default).
    Desc,
}

impl InputItemsQuery {
    /// No parameters: the service's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items after `id`.
    pub fn after(mut self, id: impl Into<String>) -> Self {
        self.after = Some(id.into());
        self
    }

    /// The page just before `id`.
    pub fn before(mut self, id: impl Into<String>) -> Self {
        self.before = Some(id.into());
        self
    }

    /// At most `n` items per page.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// The order of the page.
    pub fn order(mut self, order: ListOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// One more `include` value.
    pub fn include(mut self, field: impl Into<String>) -> Self {
        self.include.push(field.into());
        self
    }

    /// The URL-encoded query string, without the leading `?` (empty when nothing is set).
    pub fn to_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(after) = &self.after {
            q.append_pair("after", after);
        }
        if let Some(before) = &self.before {
            q.append_pair("before", before);
        }
        if let Some(limit) = self.limit {
            q.append_pair("limit", &limit.to_string());
        }
        if let Some(order) = self.order {
            q.append_pair(
                "order",
                match order {
                    ListOrder::Asc => "asc",
                    ListOrder::Desc => "desc",
                },
            );
        }
        for field in &self.include {
            q.append_pair("include[]", field);
        }
        q.finish()
    }
}
