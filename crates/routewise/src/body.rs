//! The JSON body of a create call: serialised once, patched per attempt.

use bytes::Bytes;
use routewise_strategy::Adjustments;
use routewise_types::CreateResponse;
use serde::Serialize;

use crate::error::{Error, ErrorKind};

/// A request body shared by every planned attempt of one call.
///
/// The bulky fields (`input`, which may hold base64 images, `instructions`, `tools`) are
/// serialised once, up front. An attempt whose adjustments leave the body unchanged sends the
/// same bytes (a reference-counted [`Bytes`]); one that changes it copies and adjusts only the
/// small rest of the request and splices the bulky JSON back in. Key order may differ from a
/// direct serialisation; JSON objects are unordered.
pub(crate) struct RequestBody {
    /// The request without its bulky fields; what adjustments are applied to.
    light: Box<CreateResponse>,
    light_json: Vec<u8>,
    /// `"input":…,"instructions":…` without braces; empty if there are none.
    bulky: Vec<u8>,
    plain: Bytes,
}

impl RequestBody {
    /// Serialises `request`, keeping its bulky fields apart.
    pub(crate) fn new(mut request: Box<CreateResponse>) -> Result<Self, Error> {
        let mut bulky = Vec::new();
        if let Some(input) = request.input.take() {
            push_field(&mut bulky, "input", &input)?;
            request.extra.remove("input");
        }
        if let Some(instructions) = request.instructions.take() {
            push_field(&mut bulky, "instructions", &instructions)?;
            request.extra.remove("instructions");
        }
        if let Some(tools) = request.tools.take() {
            push_field(&mut bulky, "tools", &tools)?;
            request.extra.remove("tools");
        }
        let light_json = serde_json::to_vec(&request).map_err(unserialisable)?;
        let plain = Bytes::from(splice(&light_json, &bulky));
        Ok(Self {
            light: request,
            light_json,
            bulky,
            plain,
        })
    }

    /// The body for an attempt with `adjustments`.
    pub(crate) fn for_attempt(&self, adjustments: &Adjustments) -> Result<Bytes, Error> {
        let touches_body = adjustments.model().is_some()
            || adjustments.drops_sampling()
            || adjustments.drops_reasoning_unsupported()
            || adjustments.routing_config().is_some();
        if !touches_body {
            return Ok(self.plain.clone());
        }
        let mut adjusted = self.light.clone();
        adjustments.apply(&mut adjusted);
        let json = serde_json::to_vec(&adjusted).map_err(unserialisable)?;
        if json == self.light_json {
            return Ok(self.plain.clone());
        }
        Ok(Bytes::from(splice(&json, &self.bulky)))
    }
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) -> Result<(), Error> {
    if !out.is_empty() {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, name).map_err(unserialisable)?;
    out.push(b':');
    serde_json::to_writer(&mut *out, value).map_err(unserialisable)
}

/// `{` bulky `,` rest-of-object: `object` is a serialised JSON object (`{…}`).
fn splice(object: &[u8], bulky: &[u8]) -> Vec<u8> {
    if bulky.is_empty() {
        return object.to_vec();
    }
    let inner = &object[1..object.len() - 1];
    let mut out = Vec::with_capacity(bulky.len() + object.len() + 1);
    out.push(b'{');
    out.extend_from_slice(bulky);
    if !inner.is_empty() {
        out.push(b',');
        out.extend_from_slice(inner);
    }
    out.push(b'}');
    out
}

fn unserialisable(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::InvalidInput, "the request cannot be serialised").with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use routewise_strategy::Deployment;
    use routewise_types::{FunctionTool, RoutingConfig, RoutingMode};
    use serde_json::{Value, json};

    fn request() -> CreateResponse {
        let mut request = CreateResponse::new("model-router", "data:image/png;base64,AAAA")
            .with_instructions("Be brief.")
            .with_tool(FunctionTool::new("lookup"));
        request.temperature = Some(0.2);
        request.top_p = Some(0.9);
        request.extra.insert("stop".into(), json!(["\n"]));
        request.extra.insert("frequency_penalty".into(), json!(0.5));
        request
    }

    /// What the body was before: the whole request cloned, adjusted and serialised.
    fn reference(request: &CreateResponse, adjustments: &Adjustments) -> Value {
        let mut adjusted = request.clone();
        adjustments.apply(&mut adjusted);
        serde_json::to_value(&adjusted).unwrap()
    }

    #[test]
    fn every_adjustment_yields_the_same_json_as_clone_and_apply() {
        let cases = [
            Adjustments::none(),
            Adjustments::none().with_header("x-a", "b"),
            Adjustments::for_model("gpt-4.1-mini"),
            Adjustments::for_model("o4-mini"),
            Adjustments::for_deployment(&Deployment::new("gpt-5").with_model("gpt-5")),
            Adjustments::none().with_routing_config(RoutingConfig {
                mode: Some(RoutingMode::Cost),
                ..RoutingConfig::default()
            }),
            Adjustments::for_model("model-router"),
            Adjustments::none().with_drop_reasoning_unsupported(true),
        ];
        for request in [
            request(),
            CreateResponse::default(),
            CreateResponse {
                model: Some("m".into()),
                ..CreateResponse::default()
            },
        ] {
            let body = RequestBody::new(Box::new(request.clone())).unwrap();
            for adjustments in &cases {
                let bytes = body.for_attempt(adjustments).unwrap();
                let sent: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(sent, reference(&request, adjustments), "{adjustments:?}");
            }
        }
    }

    #[test]
    fn attempts_that_change_nothing_share_one_serialisation() {
        let body = RequestBody::new(Box::new(request())).unwrap();
        let first = body.for_attempt(&Adjustments::none()).unwrap();
        let header_only = body
            .for_attempt(&Adjustments::none().with_header("x-a", "b"))
            .unwrap();
        let same_model = body
            .for_attempt(&Adjustments::for_model("model-router"))
            .unwrap();
        assert_eq!(first.as_ptr(), header_only.as_ptr());
        assert_eq!(first.as_ptr(), same_model.as_ptr());
        let other = body
            .for_attempt(&Adjustments::for_model("gpt-4.1"))
            .unwrap();
        assert_ne!(first.as_ptr(), other.as_ptr());
    }

    #[test]
    fn an_explicit_null_of_a_bulky_field_is_not_sent_twice() {
        let mut request = request();
        request.extra.insert("input".into(), Value::Null);
        let body = RequestBody::new(Box::new(request)).unwrap();
        let bytes = body
            .for_attempt(&Adjustments::for_model("gpt-4.1"))
            .unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(text.matches("\"input\"").count(), 1, "{text}");
    }
}
