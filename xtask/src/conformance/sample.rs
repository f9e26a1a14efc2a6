//! Schema-derived samples: a JSON instance generated from a schema, cycling through the branches
//! of every `oneOf`/`anyOf` (and the values of every `enum`) across successive samples.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use super::spec::Spec;

/// How deep a sample may nest before optional parts are left out.
const MAX_DEPTH: usize = 40;

/// Generates samples and remembers which union branches they covered.
pub(crate) struct Sampler<'a> {
    spec: &'a Spec,
    /// Round-robin position of each union or enum node, keyed by the node's address in the spec.
    next: HashMap<*const Value, usize>,
    /// Union nodes seen so far: branch count and the branches that produced a sample.
    unions: HashMap<*const Value, (usize, HashSet<usize>)>,
}

impl<'a> Sampler<'a> {
    pub(crate) fn new(spec: &'a Spec) -> Self {
        Self {
            spec,
            next: HashMap::new(),
            unions: HashMap::new(),
        }
    }

    /// Union branches covered so far, and the total.
    pub(crate) fn coverage(&self) -> (usize, usize) {
        self.unions
            .values()
            .fold((0, 0), |(seen, total), (len, hit)| {
                (seen + hit.len(), total + len)
            })
    }

    /// Samples of `schema` until every union reached is covered (or `cap` samples), deduplicated.
    pub(crate) fn samples(&mut self, schema: &'a Value, cap: usize) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..cap {
            let before = self.unions.len();
            let Some(sample) = self.generate(schema, 0, &mut Vec::new()) else {
                break;
            };
            if seen.insert(sample.to_string()) {
                out.push(sample);
            }
            let fully_covered = self.unions.values().all(|(len, hit)| hit.len() >= *len);
            if self.unions.len() == before && fully_covered {
                break;
            }
        }
        out
    }

    fn pick(&mut self, node: &Value, len: usize) -> usize {
        let slot = self.next.entry(node as *const Value).or_insert(0);
        let index = *slot % len;
        *slot += 1;
        index
    }

    fn generate(
        &mut self,
        schema: &'a Value,
        depth: usize,
        stack: &mut Vec<&'a str>,
    ) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let Some(obj) = schema.as_object() else {
            // `true` (or any non-object) schema: anything goes.
            return Some(json!({}));
        };
        if let Some(name) = Spec::ref_name(schema) {
            if stack.contains(&name) {
                return None;
            }
            let target = self.spec.schema(name)?;
            stack.push(name);
            let out = self.generate(target, depth + 1, stack);
            stack.pop();
            return out;
        }
        if let Some(value) = obj.get("const") {
            return Some(value.clone());
        }
        if let Some(Value::Array(values)) = obj.get("enum") {
            let live: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
            if live.is_empty() {
                return Some(Value::Null);
            }
            let index = self.pick(schema, live.len());
            return Some(live[index].clone());
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = obj.get(key) {
                return self.union(schema, branches, depth, stack);
            }
        }
        if let Some(Value::Array(parts)) = obj.get("allOf") {
            let mut merged = Map::new();
            for part in parts {
                match self.generate(part, depth + 1, stack)? {
                    Value::Object(map) => merged.extend(map),
                    other => return Some(other),
                }
            }
            if let Some(Value::Object(own)) = self.object(obj, depth, stack) {
                merged.extend(own);
            }
            return Some(Value::Object(merged));
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null"),
            _ => None,
        };
        match ty {
            Some("object") => self.object(obj, depth, stack),
            None if obj.contains_key("properties") => self.object(obj, depth, stack),
            Some("array") => {
                let item = obj
                    .get("items")
                    .and_then(|items| self.generate(items, depth + 1, stack));
                Some(Value::Array(item.into_iter().collect()))
            }
            Some("string") => Some(Value::String(string_sample(obj))),
            Some("integer") => Some(integer_sample(obj)),
            Some("number") => Some(number_sample(obj)),
            Some("boolean") => Some(Value::Bool(true)),
            Some("null") => Some(Value::Null),
            _ => Some(json!({})),
        }
    }

    fn union(
        &mut self,
        node: &'a Value,
        branches: &'a [Value],
        depth: usize,
        stack: &mut Vec<&'a str>,
    ) -> Option<Value> {
        let live: Vec<&'a Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
        if live.is_empty() {
            return Some(Value::Null);
        }
        let key = node as *const Value;
        self.unions
            .entry(key)
            .or_insert_with(|| (live.len(), HashSet::new()));
        let start = self.pick(node, live.len());
        for offset in 0..live.len() {
            let index = (start + offset) % live.len();
            if let Some(value) = self.generate(live[index], depth + 1, stack) {
                if let Some((_, hit)) = self.unions.get_mut(&key) {
                    hit.insert(index);
                }
                return Some(value);
            }
        }
        None
    }

    fn object(
        &mut self,
        obj: &'a Map<String, Value>,
        depth: usize,
        stack: &mut Vec<&'a str>,
    ) -> Option<Value> {
        let mut out = Map::new();
        if let Some(Value::Object(props)) = obj.get("properties") {
            for (name, prop) in props {
                if let Some(value) = self.generate(prop, depth + 1, stack) {
                    out.insert(name.clone(), value);
                }
            }
        } else if let Some(extra @ Value::Object(_)) = obj.get("additionalProperties")
            && let Some(value) = self.generate(extra, depth + 1, stack)
        {
            out.insert("key".to_owned(), value);
        }
        Some(Value::Object(out))
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn string_sample(obj: &Map<String, Value>) -> String {
    match obj.get("format").and_then(Value::as_str) {
        Some("uri" | "url") => "https://example.com/resource".to_owned(),
        Some("date-time") => "2026-01-01T00:00:00Z".to_owned(),
        _ => "sample".to_owned(),
    }
}

fn integer_sample(obj: &Map<String, Value>) -> Value {
    let min = obj.get("minimum").and_then(Value::as_i64);
    let max = obj.get("maximum").and_then(Value::as_i64);
    let value = match (min, max) {
        (Some(min), _) => min.max(1).min(max.unwrap_or(i64::MAX)),
        (None, Some(max)) => max.min(1),
        (None, None) => 1,
    };
    json!(value)
}

fn number_sample(obj: &Map<String, Value>) -> Value {
    let min = obj.get("minimum").and_then(Value::as_f64);
    let max = obj.get("maximum").and_then(Value::as_f64);
    let value = match (min, max) {
        (Some(min), Some(max)) => (min + max) / 2.0,
        (Some(min), None) => min + 0.5,
        (None, Some(max)) => max - 0.5,
        (None, None) => 0.5,
    };
    json!(value)
}
