//! Property tests: typed values survive serialise → parse unchanged, and documents with injected
//! unknown fields, unknown union members and explicit `null`s survive parse → serialise as equal JSON.

use proptest::prelude::*;
use routewise_types::*;
use serde_json::{Map, Value, json};

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn id(prefix: &'static str) -> impl Strategy<Value = String> {
    "[a-z0-9]{1,10}".prop_map(move |s| format!("{prefix}_{s}"))
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..2.0f64,
        any::<f64>().prop_filter("finite", |f| f.is_finite())
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

fn json_any() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn open<T: From<String> + std::fmt::Debug>(
    known: &'static [&'static str],
) -> impl Strategy<Value = T> {
    prop_oneof![
        prop::sample::select(known).prop_map(|s| T::from(s.to_owned())),
        "[a-z_]{1,10}".prop_map(T::from),
    ]
}

fn usage() -> impl Strategy<Value = Usage> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(|(i, o, cached, write, details)| {
            let mut u = Usage::new(i.into(), o.into());
            if details {
                u = u
                    .with_cached_tokens(cached.into())
                    .with_reasoning_tokens(cached.into());
                if let Some(d) = u.input_tokens_details.as_mut() {
                    d.cache_write_tokens = write.map(u64::from);
                }
            } else {
                u.input_tokens_details = None;
                u.output_tokens_details = None;
            }
            u
        })
}

fn output_content() -> impl Strategy<Value = OutputContent> {
    prop_oneof![
        text().prop_map(|t| OutputContent::OutputText(OutputText::new(t))),
        text().prop_map(|t| OutputContent::Refusal(Refusal {
            refusal: t,
            ..Default::default()
        })),
        text().prop_map(|t| OutputContent::ReasoningText(ReasoningText {
            text: t,
            ..Default::default()
        })),
    ]
}

fn output_item() -> impl Strategy<Value = OutputItem> {
    prop_oneof![
        (
            id("msg"),
            prop::collection::vec(output_content(), 0..3),
            open::<ItemStatus>(&["completed", "in_progress"])
        )
            .prop_map(|(id, content, status)| OutputItem::Message(OutputMessage {
                id,
                content,
                status: Some(status),
                ..Default::default()
            })),
        (id("call"), text(), text(), proptest::option::of(id("fc"))).prop_map(
            |(call, name, args, fc)| {
                OutputItem::FunctionCall(FunctionCall {
                    id: fc,
                    ..FunctionCall::new(call, name, args)
                })
            }
        ),
        (
            id("rs"),
            prop::collection::vec(text(), 0..3),
            proptest::option::of(text())
        )
            .prop_map(|(id, summary, enc)| {
                OutputItem::Reasoning(ReasoningItem {
                    id,
                    summary: summary
                        .into_iter()
                        .map(|t| {
                            SummaryPart::SummaryText(SummaryText {
                                text: t,
                                ..Default::default()
                            })
                        })
                        .collect(),
                    encrypted_content: enc,
                    ..Default::default()
                })
            }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    (
        id("resp"),
        text(),
        prop::collection::vec(output_item(), 0..4),
        proptest::option::of(usage()),
        open::<ResponseStatus>(&[
            "completed",
            "failed",
            "in_progress",
            "incomplete",
            "queued",
            "cancelled",
        ]),
        proptest::option::of(finite()),
        any::<u32>(),
        proptest::option::of(open::<RoutingMode>(&["balanced", "quality", "cost"])),
    )
        .prop_map(
            |(id, model, output, usage, status, temperature, created, mode)| {
                let mut r = Response::new(id, model)
                    .with_status(status)
                    .with_created_at(Timestamp::from_secs(created.into()));
                r.output = output;
                r.usage = usage;
                r.temperature = temperature;
                if let Some(mode) = mode {
                    r.model_selection_details = Some(ModelSelectionDetails {
                        model_router_details: Some(ModelRouterDetails {
                            mode: Some(mode),
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
                r
            },
        )
}

fn input_item() -> impl Strategy<Value = InputItem> {
    prop_oneof![
        text().prop_map(|t| InputItem::EasyMessage(InputMessage::user(t))),
        (text(), text()).prop_map(|(a, b)| InputItem::Message(InputMessage::developer(vec![
            InputContent::text(a),
            InputContent::InputImage(InputImage::url(b)),
        ]))),
        (id("call"), text())
            .prop_map(|(c, o)| InputItem::FunctionCallOutput(FunctionCallOutput::new(c, o))),
        output_item().prop_map(InputItem::from),
        id("msg").prop_map(|id| InputItem::ItemReference(ItemReference {
            id,
            ..Default::default()
        })),
    ]
}

fn request() -> impl Strategy<Value = CreateResponse> {
    (
        text(),
        prop_oneof![
            text().prop_map(Input::Text),
            prop::collection::vec(input_item(), 0..4).prop_map(Input::Items)
        ],
        proptest::option::of(finite()),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
        prop::collection::vec(text(), 0..3),
        proptest::option::of(open::<ReasoningEffort>(&["low", "medium", "high", "xhigh"])),
        proptest::option::of(open::<RoutingMode>(&["balanced", "quality", "cost"])),
        prop_oneof![
            Just(None),
            open::<ToolChoiceMode>(&["auto", "none", "required"])
                .prop_map(|m| Some(ToolChoice::Mode(m))),
            text().prop_map(|n| Some(ToolChoice::function(n))),
        ],
    )
        .prop_map(
            |(model, input, temperature, max, stream, tools, effort, mode, choice)| {
                let mut req = CreateResponse::default()
                    .with_model(model)
                    .with_input(input)
                    .with_stream(stream);
                req.temperature = temperature;
                req.max_output_tokens = max.map(u64::from);
                for name in tools {
                    req = req.with_tool(
                        FunctionTool::new(name).with_parameters(json!({"type": "object"})),
                    );
                }
                req.reasoning = effort.map(Reasoning::effort);
                if let Some(mode) = mode {
                    req = req.with_routing_mode(mode);
                }
                req.tool_choice = choice;
                req
            },
        )
}

fn event() -> impl Strategy<Value = ResponseStreamEvent> {
    (
        any::<u32>().prop_map(u64::from),
        any::<u16>().prop_map(u64::from),
        text(),
    )
        .prop_flat_map(|(seq, idx, s)| {
            prop_oneof![
                response().prop_map(move |r| ResponseStreamEvent::created(seq, r)),
                response().prop_map(move |r| ResponseStreamEvent::completed(seq, r)),
                response().prop_map(move |r| ResponseStreamEvent::failed(seq, r)),
                output_item()
                    .prop_map(move |i| ResponseStreamEvent::output_item_added(seq, idx, i)),
                output_content().prop_map(move |p| ResponseStreamEvent::content_part_done(
                    seq, "msg_1", idx, 0, p
                )),
                Just(ResponseStreamEvent::output_text_delta(
                    seq,
                    "msg_1",
                    idx,
                    0,
                    s.clone()
                )),
                Just(ResponseStreamEvent::output_text_done(
                    seq,
                    "msg_1",
                    idx,
                    0,
                    s.clone()
                )),
                Just(ResponseStreamEvent::function_call_arguments_delta(
                    seq,
                    "fc_1",
                    idx,
                    s.clone()
                )),
                Just(ResponseStreamEvent::function_call_arguments_done(
                    seq,
                    "fc_1",
                    idx,
                    "f",
                    s.clone()
                )),
                Just(ResponseStreamEvent::error_flat(
                    seq,
                    "server_error",
                    s.clone()
                )),
                Just(ResponseStreamEvent::error_nested(
                    Some(seq),
                    ErrorResponse::new("content_policy_violation", s.clone())
                        .with_type("invalid_request_error")
                        .error
                )),
            ]
        })
}

/// What to do to a document before parsing it.
#[derive(Clone, Debug)]
struct Mutation {
    /// Unknown fields added to objects (picked by position).
    fields: Vec<(usize, String, Value)>,
    /// Objects replaced by union members of an unknown type.
    unknown_members: Vec<(usize, Value)>,
    /// Existing keys set to an explicit `null`.
    nulls: Vec<usize>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), "x_[a-z]{1,8}", json_any()), 0..6),
        prop::collection::vec((any::<usize>(), json_any()), 0..2),
        prop::collection::vec(any::<usize>(), 0..3),
    )
        .prop_map(|(fields, unknown_members, nulls)| Mutation {
            fields,
            unknown_members,
            nulls,
        })
}

fn objects_mut(value: &mut Value, out: &mut Vec<*mut Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            out.push(map as *mut _);
            for v in map.values_mut() {
                objects_mut(v, out);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| objects_mut(v, out)),
        _ => {}
    }
}

/// Applies `m` to `doc`. Each step re-walks the document, so no reference outlives a change.
fn apply(doc: &mut Value, m: &Mutation) {
    fn nth_object(doc: &mut Value, n: usize) -> Option<&mut Map<String, Value>> {
        fn walk<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Map<String, Value>> {
            match v {
                Value::Object(map) => {
                    if *n == 0 {
                        return Some(map);
                    }
                    *n -= 1;
                    map.values_mut().find_map(|v| walk(v, n))
                }
                Value::Array(items) => items.iter_mut().find_map(|v| walk(v, n)),
                _ => None,
            }
        }
        let mut count = Vec::new();
        objects_mut(doc, &mut count);
        let mut n = n % count.len().max(1);
        walk(doc, &mut n)
    }
    for (pos, key, value) in &m.fields {
        if let Some(map) = nth_object(doc, *pos) {
            map.insert(key.clone(), value.clone());
        }
    }
    for (pos, extra) in &m.unknown_members {
        // Only members of unions (objects with a string `type`) are swapped for unknown kinds.
        if let Some(map) = nth_object(doc, *pos)
            && map.get("type").is_some_and(Value::is_string)
        {
            map.insert("type".into(), json!("future.kind.v9"));
            map.insert("payload".into(), extra.clone());
        }
    }
    for pos in &m.nulls {
        if let Some(map) = nth_object(doc, *pos)
            && !map.is_empty()
        {
            let key = map.keys().nth(pos % map.len()).cloned().unwrap_or_default();
            map.insert(key, Value::Null);
        }
    }
}

fn assert_lossless<T>(mut doc: Value, m: &Mutation) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    apply(&mut doc, m);
    let typed: T =
        parse_value(doc.clone()).map_err(|e| TestCaseError::fail(format!("{e}\n in: {doc}")))?;
    let back = serde_json::to_value(&typed).unwrap();
    prop_assert!(
        crate::common::json_equivalent(&doc, &back),
        "\n in: {doc}\nout: {back}"
    );
    Ok(())
}

fn typed_round_trip<T>(x: &T) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let bytes = serde_json::to_vec(x).unwrap();
    let back: T = parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, x);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn requests_round_trip(req in request()) {
        typed_round_trip(&req)?;
    }

    #[test]
    fn responses_round_trip(resp in response()) {
        typed_round_trip(&resp)?;
    }

    #[test]
    fn events_round_trip(ev in event()) {
        typed_round_trip(&ev)?;
    }

    #[test]
    fn errors_round_trip(code in "[a-z_]{1,20}", msg in text(), status in proptest::option::of(100u16..600)) {
        let mut body = ErrorResponse::new(code, msg).with_param("input");
        body.error.status = status;
        typed_round_trip(&body)?;
    }

    #[test]
    fn requests_keep_unknown_data(req in request(), m in mutation()) {
        assert_lossless::<CreateResponse>(serde_json::to_value(&req).unwrap(), &m)?;
    }

    #[test]
    fn responses_keep_unknown_data(resp in response(), m in mutation()) {
        assert_lossless::<Response>(serde_json::to_value(&resp).unwrap(), &m)?;
    }

    #[test]
    fn events_keep_unknown_data(ev in event(), m in mutation()) {
        assert_lossless::<ResponseStreamEvent>(serde_json::to_value(&ev).unwrap(), &m)?;
    }

    #[test]
    fn unknown_event_types_are_kept_verbatim(ty in "response\\.[a-z_.]{1,20}", payload in json_any(), seq in any::<u32>()) {
        let doc = json!({"type": ty, "sequence_number": seq, "payload": payload});
        let ev: ResponseStreamEvent = parse_value(doc.clone()).unwrap();
        if let ResponseStreamEvent::Unknown(_) = &ev {
            prop_assert_eq!(ev.sequence_number(), Some(u64::from(seq)));
        }
        prop_assert!(crate::common::json_equivalent(&doc, &serde_json::to_value(&ev).unwrap()));
    }
}
