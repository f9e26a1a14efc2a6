//! Deterministic corruption of bodies: a tiny seeded PRNG, byte-level damage and JSON-aware
//! damage. A fixed seed keeps every run identical, so a failing case can be replayed by name.

use serde_json::{Value, json};

/// xorshift64: enough randomness to spread mutations, no dependency, same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Byte sequences that are not UTF-8: a lone continuation byte, an overlong NUL, an encoded
/// surrogate, a code point past U+10FFFF, a truncated two-byte sequence, bytes never valid.
const INVALID_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc3",
    b"\xff\xfe",
];

/// Tokens that derail a JSON or SSE parser where they land.
const TOKENS: &[&str] = &[
    "null",
    "1e999",
    "-",
    "\"\\ud800\"",
    "\\u0000",
    ",",
    "]",
    "}",
    "{",
    "[",
    "\"",
    "\\",
    ":",
    "\n",
    "\r",
    "\r\n",
    "\n\n",
    "\u{0}",
    "🦀",
    "data: ",
    "[DONE]",
];

/// Damages `bytes` one to three times; returns a label of what was done.
pub fn bytes(rng: &mut Rng, bytes: &mut Vec<u8>) -> String {
    let rounds = 1 + rng.below(3);
    (0..rounds)
        .map(|_| byte_once(rng, bytes))
        .collect::<Vec<_>>()
        .join("+")
}

fn byte_once(rng: &mut Rng, bytes: &mut Vec<u8>) -> &'static str {
    let len = bytes.len();
    let at = rng.below(len + 1);
    match rng.below(7) {
        0 => {
            bytes.truncate(at);
            "truncate"
        }
        1 => {
            let end = (at + 1 + rng.below(64)).min(len);
            bytes.drain(at.min(end)..end);
            "delete"
        }
        2 => {
            let bad = rng.pick(INVALID_UTF8);
            bytes.splice(at..at, bad.iter().copied());
            "invalid-utf8"
        }
        3 => {
            let token = rng.pick(TOKENS);
            bytes.splice(at..at, token.bytes());
            "token"
        }
        4 if at < len => {
            bytes[at] = rng.next() as u8;
            "overwrite"
        }
        5 => {
            let end = (at + rng.below(256)).min(len);
            let copy = bytes[at..end].to_vec();
            bytes.splice(at..at, copy);
            "duplicate"
        }
        _ => {
            let noise: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            bytes.splice(at..at, noise);
            "noise"
        }
    }
}

/// Values of the wrong type or the wrong size for wherever they land.
fn hostile_value(rng: &mut Rng, huge: bool) -> (Value, &'static str) {
    match rng.below(16) {
        0 => (Value::Null, "null"),
        1 => (json!(true), "bool"),
        2 => (json!(-1), "negative"),
        3 => (json!(1.5), "fraction"),
        4 => (json!(u64::MAX), "u64-max"),
        5 => (json!(-1e308), "huge-float"),
        6 => (json!(""), "empty-string"),
        7 => (json!("\u{0}🦀\u{202e}"), "odd-string"),
        8 => (json!([]), "empty-array"),
        9 => (json!({}), "empty-object"),
        10 => (json!([null, 1, "x", {}]), "mixed-array"),
        11 => (json!({"type": 5}), "numeric-type"),
        12 => (json!({"type": "something.new", "x": [1]}), "unknown-type"),
        13 => (nested(100), "nested-100"),
        14 => (nested(400), "nested-400"),
        _ if huge => (json!("x".repeat(256 * 1024)), "huge-string"),
        _ => (json!("x".repeat(4 * 1024)), "long-string"),
    }
}

/// Arrays and objects `depth` levels deep: past serde_json's recursion limit at 400.
pub fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(0), |inner, i| {
        if i % 2 == 0 {
            json!([inner])
        } else {
            json!({ "a": inner })
        }
    })
}

/// Replaces, removes or retypes one node of `value`; returns a label of what was done.
/// `huge` allows values large enough to pass the client's error-body limit.
pub fn json(rng: &mut Rng, value: &mut Value, huge: bool) -> String {
    let mut pointers = Vec::new();
    collect_pointers(value, String::new(), &mut pointers);
    let pointer = rng.pick(&pointers).clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", ""));
    let op = rng.below(4);
    if op == 0 && !pointer.is_empty() {
        remove(value, parent, key);
        return format!("remove {pointer}");
    }
    let Some(node) = value.pointer_mut(&pointer) else {
        return "none".to_owned();
    };
    if op == 1 {
        // An object or array where a string was, and the reverse: the classic type confusion.
        *node = Value::String(node.to_string());
        return format!("stringify {pointer}");
    }
    let (replacement, label) = hostile_value(rng, huge);
    *node = replacement;
    format!("{label} at {pointer:?}")
}

fn remove(value: &mut Value, parent: &str, key: &str) {
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

fn collect_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                collect_pointers(v, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}
