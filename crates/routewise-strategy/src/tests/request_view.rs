use routewise_types::{CreateResponse, FunctionCallOutput, FunctionTool, InputMessage};

use crate::PromptView;

#[test]
fn string_input_is_one_user_turn() {
    let req = CreateResponse::new("m", "hello").with_instructions("be brief");
    let view = PromptView::from_request(&req);
    assert_eq!(view.user_turns, ["hello"]);
    assert_eq!(view.instructions, Some("be brief"));
    assert_eq!(view.history_items, 0);
    assert!(view.tools.is_empty());
}

#[test]
fn items_split_into_turns_history_and_tools() {
    let req = CreateResponse::default()
        .with_input_item(InputMessage::system("you are terse"))
        .with_input_item(InputMessage::user("first question"))
        .with_input_item(InputMessage::assistant("first answer"))
        .with_input_item(FunctionCallOutput::new("call_1", "42"))
        .with_input_item(InputMessage::user("second question"))
        .with_tool(FunctionTool::new("get_weather"));
    let view = PromptView::from_request(&req);
    assert_eq!(view.instructions, Some("you are terse"));
    assert_eq!(view.user_turns, ["first question", "second question"]);
    assert_eq!(view.last_user(), "second question");
    assert_eq!(view.history_items, 2);
    assert_eq!(view.tools, ["get_weather"]);
}

#[test]
fn empty_request_gives_empty_view() {
    let req = CreateResponse::default();
    let view = PromptView::from_request(&req);
    assert_eq!(view, PromptView::default());
    assert_eq!(view.last_user(), "");
}
