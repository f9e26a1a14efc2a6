//! Building a [`PromptView`] from a Responses request.

use routewise_types::{
    CreateResponse, Input, InputContent, InputItem, InputMessage, MessageContent, Role, Tool,
};

use crate::estimator::PromptView;

impl<'a> PromptView<'a> {
    /// What a router may see of `request`, borrowed from it (no text is copied).
    ///
    /// - `instructions`: the request's `instructions`, else the first system/developer message.
    /// - `user_turns`: every text part of every user message, oldest first (a string `input`
    ///   is one turn).
    /// - `history_items`: assistant messages, function calls and outputs, reasoning items and
    ///   item references, plus one for a `previous_response_id` or `conversation`, whose
    ///   content the server will prepend.
    /// - `tools`: function names, or the `type` of built-in tools.
    ///
    /// ```
    /// use routewise_strategy::PromptView;
    /// use routewise_types::CreateResponse;
    ///
    /// let req = CreateResponse::new("model-router", "What is 2 + 2?").with_previous_response_id("resp_1");
    /// let view = PromptView::from_request(&req);
    /// assert_eq!(view.last_user(), "What is 2 + 2?");
    /// assert_eq!(view.history_items, 1);
    /// ```
    pub fn from_request(request: &'a CreateResponse) -> PromptView<'a> {
        let mut view = PromptView {
            instructions: request.instructions.as_deref(),
            history_items: usize::from(
                request.previous_response_id.is_some() || request.conversation.is_some(),
            ),
            ..PromptView::default()
        };
        match &request.input {
            Some(Input::Text(text)) => view.user_turns.push(text),
            Some(Input::Items(items)) => {
                for item in items {
                    match item {
                        InputItem::EasyMessage(m) | InputItem::Message(m) => view.add_message(m),
                        InputItem::Unknown(_) => {}
                        _ => view.history_items += 1,
                    }
                }
            }
            None => {}
        }
        if let Some(tools) = &request.tools {
            view.tools = tools
                .iter()
                .map(|t| match t {
                    Tool::Function(f) => f.name.as_str(),
                    other => other.type_name(),
                })
                .collect();
        }
        view
    }

    fn add_message(&mut self, message: &'a InputMessage) {
        match message.role {
            Role::User => match &message.content {
                MessageContent::Text(text) => self.user_turns.push(text),
                MessageContent::Parts(parts) => {
                    self.user_turns.extend(parts.iter().filter_map(|p| match p {
                        InputContent::InputText(t) => Some(t.text.as_str()),
                        _ => None,
                    }))
                }
            },
            Role::System | Role::Developer => {
                if self.instructions.is_none() {
                    self.instructions = first_text(&message.content);
                }
            }
            _ => self.history_items += 1,
        }
    }
}

fn first_text(content: &MessageContent) -> Option<&str> {
    match content {
        MessageContent::Text(text) => Some(text),
        MessageContent::Parts(parts) => parts.iter().find_map(|p| match p {
            InputContent::InputText(t) => Some(t.text.as_str()),
            _ => None,
        }),
    }
}
