//! From request bytes to a checked `CreateResponse`, or the precise 400 explaining why not.

use http::HeaderMap;
use routewise_strategy::{FOUNDRY_FEATURES_HEADER, MODEL_ROUTER_CONTROLS, RoutingMode};
use routewise_types::{CreateResponse, RoutingConfig};

use crate::error::{GatewayError, clipped};

/// The most characters of a caller's key or value an error repeats.
const ECHO: usize = 64;

const ROUTING_CONFIG_KEYS: [&str; 4] = ["mode", "models", "require_parameters", "session_affinity"];
const SESSION_AFFINITY_KEYS: [&str; 3] = ["strategy", "mode", "session_id"];
const AFFINITY_STRATEGIES: [&str; 3] = ["adaptive", "sticky", "none"];

/// Parses and checks a `POST /responses` body.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<CreateResponse, GatewayError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(GatewayError::invalid(
            format!(
                "The request body is not valid UTF-8 (invalid byte at offset {}).",
                e.valid_up_to()
            ),
            None,
            "invalid_encoding",
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(GatewayError::invalid(
            "The request body is empty; send a JSON object.",
            None,
            "invalid_json",
        ));
    }
    let req: CreateResponse = routewise_types::parse(bytes).map_err(|e| {
        if e.is_data() {
            let param = normalize_path(e.path());
            let message = match &param {
                Some(p) => format!("Invalid value for '{p}': {}.", e.message()),
                None => format!("Invalid request body: {}.", e.message()),
            };
            GatewayError::invalid(message, param, "invalid_type")
        } else {
            GatewayError::invalid(
                format!(
                    "We could not parse the JSON body of your request: {} (line {}, column {}).",
                    e.message(),
                    e.line(),
                    e.column()
                ),
                None,
                "invalid_json",
            )
        }
    })?;
    match req.model.as_deref() {
        None => return Err(missing("model")),
        Some(m) if m.trim().is_empty() => {
            return Err(GatewayError::invalid(
                "Invalid value for 'model': it must not be empty.",
                Some("model".into()),
                "invalid_value",
            ));
        }
        Some(_) => {}
    }
    let has_context =
        req.prompt.is_some() || req.conversation.is_some() || req.previous_response_id.is_some();
    if req.input.is_none() && !has_context {
        return Err(missing("input"));
    }
    check_unique_item_ids(&req)?;
    Ok(req)
}

/// Refuses two input items with the same `id`, as OpenAI does: the stored items are paged
/// by id, and a repeated one would send a client following `last_id` round in a circle.
fn check_unique_item_ids(req: &CreateResponse) -> Result<(), GatewayError> {
    let Some(routewise_types::Input::Items(items)) = &req.input else {
        return Ok(());
    };
    let mut ids = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| item.id().map(|id| (i, id)))
        .peekable();
    // Most requests carry no ids at all: nothing to allocate for them.
    if ids.peek().is_none() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    for (i, id) in ids {
        if !seen.insert(id) {
            return Err(GatewayError::invalid(
                format!(
                    "Duplicate item found with id '{}'. Remove the duplicate item from your \
                     input and try again.",
                    clipped(id, ECHO)
                ),
                Some(format!("input[{i}].id")),
                "invalid_value",
            ));
        }
    }
    Ok(())
}

fn missing(param: &str) -> GatewayError {
    GatewayError::invalid(
        format!("Missing required parameter: '{param}'."),
        Some(param.into()),
        "missing_required_parameter",
    )
}

/// `input[0].content` style, or `None` for the document root.
fn normalize_path(path: &str) -> Option<String> {
    let p = path.trim_start_matches('.');
    (!p.is_empty() && p != "?").then(|| p.to_owned())
}

/// True when the caller opted into Foundry's router controls.
pub(crate) fn router_controls_enabled(headers: &HeaderMap) -> bool {
    headers.get_all(FOUNDRY_FEATURES_HEADER).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split([',', ';'])
                .any(|f| f.trim().eq_ignore_ascii_case(MODEL_ROUTER_CONTROLS))
        })
    })
}

/// Per-request routing controls after validation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Controls {
    pub mode: Option<RoutingMode>,
    pub models: Option<Vec<String>>,
}

/// Checks `routing_config`; any problem is a 400 before any upstream call. Each
/// `models` entry must be one `member` accepts (in the router's subset, and one the caller may
/// know of); a refusal lists `shown`, what the caller may use, so a deployment hidden from it
/// is refused exactly as an unknown one and never named.
pub(crate) fn validate_controls(
    cfg: &RoutingConfig,
    member: impl Fn(&str) -> bool,
    shown: &[String],
) -> Result<Controls, GatewayError> {
    let bad = |param: &str, message: String| {
        GatewayError::invalid(
            message,
            Some(format!("routing_config.{param}")),
            "invalid_value",
        )
    };
    for key in cfg.extra.keys() {
        if !ROUTING_CONFIG_KEYS.contains(&key.as_str()) {
            let key = clipped(key, ECHO);
            return Err(GatewayError::invalid(
                format!("Unknown parameter: 'routing_config.{key}'."),
                Some(format!("routing_config.{key}")),
                "unknown_parameter",
            ));
        }
    }
    let mode = match &cfg.mode {
        None => None,
        Some(m @ (RoutingMode::Balanced | RoutingMode::Quality | RoutingMode::Cost)) => {
            Some(m.clone())
        }
        // Foundry's portal and docs spell the modes `Balanced`, `Quality`, `Cost`; the config
        // file takes any case, and so does the wire.
        Some(other) if other.as_str().eq_ignore_ascii_case("balanced") => {
            Some(RoutingMode::Balanced)
        }
        Some(other) if other.as_str().eq_ignore_ascii_case("quality") => Some(RoutingMode::Quality),
        Some(other) if other.as_str().eq_ignore_ascii_case("cost") => Some(RoutingMode::Cost),
        Some(other) => {
            return Err(bad(
                "mode",
                format!(
                    "Invalid routing mode '{}'; expected balanced, quality or cost.",
                    clipped(other.as_str(), ECHO)
                ),
            ));
        }
    };
    let models = match &cfg.models {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(bad(
                "models",
                "routing_config.models must name at least one model.".into(),
            ));
        }
        Some(list) => {
            for (i, m) in list.iter().enumerate() {
                if !member(m) {
                    return Err(bad(
                        &format!("models[{i}]"),
                        format!(
                            "Model '{}' is not in this router's model subset ({}).",
                            clipped(m, ECHO),
                            shown.join(", ")
                        ),
                    ));
                }
            }
            Some(list.clone())
        }
    };
    if let Some(affinity) = &cfg.session_affinity {
        for key in affinity.extra.keys() {
            if !SESSION_AFFINITY_KEYS.contains(&key.as_str()) {
                let key = clipped(key, ECHO);
                return Err(GatewayError::invalid(
                    format!("Unknown parameter: 'routing_config.session_affinity.{key}'."),
                    Some(format!("routing_config.session_affinity.{key}")),
                    "unknown_parameter",
                ));
            }
        }
        for (field, value) in [("strategy", &affinity.strategy), ("mode", &affinity.mode)] {
            if let Some(v) = value
                && !AFFINITY_STRATEGIES.contains(&v.as_str())
            {
                return Err(bad(
                    &format!("session_affinity.{field}"),
                    format!(
                        "Invalid session affinity '{}'; expected adaptive, sticky or none.",
                        clipped(v, ECHO)
                    ),
                ));
            }
        }
    }
    Ok(Controls { mode, models })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &[u8]) -> GatewayError {
        parse_body(body).unwrap_err()
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        let e = err(b"{\"model\": \"m\", \"input\": ");
        assert!(
            matches!(
                &e,
                GatewayError::InvalidRequest {
                    code: "invalid_json",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = err(br#"{"model": "m", "input": "x", "temperature": "hot"}"#);
        assert!(
            matches!(&e, GatewayError::InvalidRequest { param: Some(p), code: "invalid_type", .. } if p == "temperature"),
            "{e:?}"
        );
        let e = err(br#"{"input": "x"}"#);
        assert!(matches!(&e, GatewayError::InvalidRequest { param: Some(p), .. } if p == "model"));
        let e = err(br#"{"model": "m"}"#);
        assert!(matches!(&e, GatewayError::InvalidRequest { param: Some(p), .. } if p == "input"));
        let e = err(b"{\"model\": \"\xff\"}");
        assert!(matches!(
            &e,
            GatewayError::InvalidRequest {
                code: "invalid_encoding",
                ..
            }
        ));
        let e = err(b"  ");
        assert!(e.is_invalid_request());
        assert!(parse_body(br#"{"model": "m", "previous_response_id": "resp_1"}"#).is_ok());
    }

    #[test]
    fn controls_are_checked_against_the_subset() {
        let subset = vec!["a".to_owned(), "b".to_owned()];
        let cfg: RoutingConfig =
            routewise_types::parse(br#"{"mode": "cost", "models": ["b"]}"#).unwrap();
        let member = |m: &str| subset.iter().any(|s| s == m);
        let c = validate_controls(&cfg, member, &subset).unwrap();
        assert_eq!(c.mode, Some(RoutingMode::Cost));
        assert_eq!(c.models.unwrap(), ["b"]);
        for bad in [
            r#"{"mode": "fastest"}"#,
            r#"{"models": []}"#,
            r#"{"models": ["c"]}"#,
            r#"{"colour": "red"}"#,
            r#"{"session_affinity": {"strategy": "glue"}}"#,
        ] {
            let cfg: RoutingConfig = routewise_types::parse(bad.as_bytes()).unwrap();
            let e = validate_controls(&cfg, member, &subset).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn feature_header_is_detected() {
        let mut h = HeaderMap::new();
        assert!(!router_controls_enabled(&h));
        h.insert(
            "foundry-features",
            "Other=1, ModelRouterControls=V1Preview".parse().unwrap(),
        );
        assert!(router_controls_enabled(&h));
    }
}
