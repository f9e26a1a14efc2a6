//! Loading the OpenAPI documents and resolving their schemas.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

/// The Azure extract references `OpenAI.*` schemas it does not contain. Those with a same-named
/// schema in the OpenAI document resolve to it; these five have a different name there.
const AZURE_ALIASES: &[(&str, &str)] = &[
    ("ImplicitUserMessage", "EasyInputMessage"),
    ("Includable", "IncludeEnum"),
    ("ItemParam", "InputItem"),
    (
        "ResponseTextFormatConfiguration",
        "TextResponseFormatConfiguration",
    ),
    ("ToolChoiceObject", "ToolChoiceParam"),
];

const SCHEMA_PREFIX: &str = "#/components/schemas/";

/// Both documents, with the Azure schemas merged into the OpenAI component map.
pub(crate) struct Spec {
    /// The OpenAI document.
    pub openai: Value,
    /// Every component schema: OpenAI's, plus the Azure ones with their refs rewritten.
    pub schemas: Map<String, Value>,
    /// `info.version` of the OpenAI document.
    pub openai_version: String,
    /// Whether the Azure extract was found.
    pub has_azure: bool,
}

impl Spec {
    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let yaml_path = dir.join("openai-openapi.yaml");
        let text = std::fs::read_to_string(&yaml_path)
            .with_context(|| format!("reading {}", yaml_path.display()))?;
        let YamlJson(openai) = serde_yaml_ng::from_str(&text)
            .with_context(|| format!("parsing {}", yaml_path.display()))?;
        let mut schemas = openai
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .cloned()
            .context("the OpenAI document has no components.schemas")?;
        let openai_version = openai
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();

        let azure_path = dir.join("azure-openai-v1.responses-subset.json");
        let has_azure = azure_path.is_file();
        if has_azure {
            let text = std::fs::read_to_string(&azure_path)
                .with_context(|| format!("reading {}", azure_path.display()))?;
            let azure: Value = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", azure_path.display()))?;
            let azure_schemas = azure
                .pointer("/components/schemas")
                .and_then(Value::as_object)
                .context("the Azure extract has no components.schemas")?;
            for (name, schema) in azure_schemas {
                let mut schema = schema.clone();
                rewrite_azure_refs(&mut schema);
                schemas.insert(name.clone(), schema);
            }
        }
        Ok(Self {
            openai,
            schemas,
            openai_version,
            has_azure,
        })
    }

    /// A component schema by name.
    pub(crate) fn schema(&self, name: &str) -> Option<&Value> {
        self.schemas.get(name)
    }

    /// The name of the component a schema node refers to, if it is a plain `$ref`.
    pub(crate) fn ref_name(schema: &Value) -> Option<&str> {
        schema.get("$ref")?.as_str()?.strip_prefix(SCHEMA_PREFIX)
    }

    /// A JSON Schema document rooted at component `name`, for the validator.
    ///
    /// Every `oneOf` becomes `anyOf`: the document writes its unions as `oneOf` even where the
    /// members overlap (a typed message matches both `EasyInputMessage` and `InputMessage`), so
    /// under strict `oneOf` semantics even its own examples are invalid.
    pub(crate) fn validation_document(&self, name: &str) -> Value {
        let mut schemas = Value::Object(self.schemas.clone());
        one_of_as_any_of(&mut schemas);
        serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("{SCHEMA_PREFIX}{name}"),
            "components": { "schemas": schemas },
        })
    }
}

fn one_of_as_any_of(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(branches) = map.remove("oneOf") {
                map.insert("anyOf".to_owned(), branches);
            }
            map.values_mut().for_each(one_of_as_any_of);
        }
        Value::Array(items) => items.iter_mut().for_each(one_of_as_any_of),
        _ => {}
    }
}

fn rewrite_azure_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(name) = reference
                    .strip_prefix(SCHEMA_PREFIX)
                    .and_then(|n| n.strip_prefix("OpenAI."))
            {
                let target = AZURE_ALIASES
                    .iter()
                    .find(|(azure, _)| *azure == name)
                    .map_or(name, |(_, openai)| openai);
                *reference = format!("{SCHEMA_PREFIX}{target}");
            }
            map.values_mut().for_each(rewrite_azure_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_azure_refs),
        _ => {}
    }
}

/// A JSON value read from YAML. Not `serde_json::Value` directly because the document has
/// integers outside the 64-bit range (`minimum: -9223372036854776000`), which become floats here,
/// and YAML allows non-string keys (`200:`), which become their text.
struct YamlJson(Value);

impl<'de> serde::Deserialize<'de> for YamlJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(YamlJsonVisitor).map(YamlJson)
    }
}

struct YamlJsonVisitor;

impl<'de> serde::de::Visitor<'de> for YamlJsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::from(v as f64))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::from(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(YamlJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(YamlJson(key)) = map.next_key()? {
            let key = match key {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let YamlJson(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}
