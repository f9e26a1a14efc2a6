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
