//! The routing dataset: JSON Lines of prompts with per-model scores and costs.
//!
//! Format (one object per line): `id`, `task`, `prompt`, optional `turns` (all user turns),
//! `scores {model: 0..1}`, `costs_usd {model: usd}`. Other fields are ignored.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::LearnedError;

/// One prompt with the observed quality and cost of each model that answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable id.
    pub id: String,
    /// Task label (`mmlu/<subject>`, `gsm8k`, ...). For training and reports only:
    /// routing never sees it.
    pub task: String,
    /// User turns, oldest first (just the prompt when the record has no `turns`). The first
    /// is the `prompt`, the only one routing sees (as RouteLLM routes MT-Bench on turn 1);
    /// the rest serve to group identical conversations.
    pub turns: Vec<String>,
    /// Score per model index of the owning [`Dataset`]; `None` when not scored.
    pub scores: Vec<Option<f64>>,
    /// USD cost per model index; `None` when unknown.
    pub costs: Vec<Option<f64>>,
}

impl Item {
    /// The task family: the part of `task` before the first `/`.
    pub fn family(&self) -> &str {
        self.task.split('/').next().unwrap_or(&self.task)
    }

    /// The first user turn (the `prompt` field).
    pub fn prompt(&self) -> &str {
        self.turns.first().map(String::as_str).unwrap_or("")
    }

    /// Characters of the prompt: the input of the prompt-length baseline. Later turns are
    /// not counted: they are not known when the conversation is routed.
    pub fn prompt_chars(&self) -> usize {
        self.prompt().chars().count()
    }
}

/// Items loaded from one or more JSONL files, with models interned to indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Model keys, in order of first appearance.
    pub models: Vec<String>,
    /// The items.
    pub items: Vec<Item>,
}

#[derive(Deserialize)]
struct RawItem {
    id: Option<String>,
    task: Option<String>,
    prompt: Option<String>,
    turns: Option<Vec<String>>,
    scores: Option<ModelMap>,
    costs_usd: Option<ModelMap>,
}

/// A `{model: number}` object that refuses a model named twice: JSON allows it, but one of
/// the two figures would be dropped without a word.
struct ModelMap(BTreeMap<String, f64>);

impl<'de> Deserialize<'de> for ModelMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ModelMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of model names to numbers")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<ModelMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = a.next_entry::<String, f64>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format_args!(
                            "model `{}` is named twice",
                            k.chars().take(80).collect::<String>()
                        )));
                    }
                    out.insert(k, v);
                }
                Ok(ModelMap(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Dataset {
    /// Loads every `.jsonl` file named, descending into directories (sorted, non-recursive).
    ///
    /// # Errors
    /// [`LearnedError`] naming the file and line of the first bad record, or an empty file.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Self, LearnedError> {
        let mut files = Vec::new();
        for p in paths {
            collect_files(p.as_ref(), &mut files)?;
        }
        // A file named twice (directly, or also through its directory) is read once: its
        // items counted twice would weigh double in training and in every metric.
        let mut seen = std::collections::HashSet::new();
        files.retain(|f| seen.insert(fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
        if files.is_empty() {
            return Err(LearnedError::Config("no data files given".into()));
        }
        let mut ds = Dataset::default();
        let mut index = HashMap::new();
        for f in &files {
            let bytes = fs::read(f).map_err(|e| LearnedError::Io {
                path: f.clone(),
                source: e,
            })?;
            let text = std::str::from_utf8(&bytes).map_err(|e| LearnedError::Parse {
                path: f.clone(),
                line: 1 + bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count(),
                message: "not UTF-8 text".into(),
            })?;
            ds.parse_into(f, text, &mut index)?;
        }
        Ok(ds)
    }

    /// Parses JSONL `text` as if read from `path` (used by [`Dataset::load`] and tests).
    ///
    /// # Errors
    /// As [`Dataset::load`].
    pub fn from_jsonl(path: impl Into<PathBuf>, text: &str) -> Result<Self, LearnedError> {
        let mut ds = Dataset::default();
        ds.parse_into(&path.into(), text, &mut HashMap::new())?;
        Ok(ds)
    }

    fn parse_into(
        &mut self,
        path: &Path,
        text: &str,
        index: &mut HashMap<String, usize>,
    ) -> Result<(), LearnedError> {
        let before = self.items.len();
        // Editors on Windows write a byte-order mark; it is not part of the first record.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let item = self.parse_line(path, i + 1, line, index)?;
            self.items.push(item);
        }
        if self.items.len() == before {
            return Err(LearnedError::Empty {
                path: path.to_path_buf(),
                reason: "file holds no JSONL record",
            });
        }
        let n = self.models.len();
        for item in &mut self.items {
            item.scores.resize(n, None);
            item.costs.resize(n, None);
        }
        Ok(())
    }

    fn parse_line(
        &mut self,
        path: &Path,
        line: usize,
        text: &str,
        index: &mut HashMap<String, usize>,
    ) -> Result<Item, LearnedError> {
        let invalid = |message: String| LearnedError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        // serde would take an array as the struct's fields in order and then complain about
        // a field type, which hides what is wrong with the line.
        if !text.trim_start().starts_with('{') {
            return Err(invalid("a record must be a JSON object".into()));
        }
        let raw: RawItem = serde_json::from_str(text).map_err(|e| {
            // serde counts lines within the one record ("line 1"): keep only the column, so
            // the message does not contradict the file line the error names.
            let full = e.to_string();
            invalid(match full.rsplit_once(" at line ") {
                Some((msg, _)) => format!("{msg} (column {})", e.column()),
                None => full,
            })
        })?;
        let missing = |field| LearnedError::MissingField {
            path: path.to_path_buf(),
            line,
            field,
        };
        let id = raw.id.ok_or_else(|| missing("id"))?;
        let task = raw.task.ok_or_else(|| missing("task"))?;
        if task.trim().is_empty() {
            // Reports group by the family before the first `/`; an empty one names nothing.
            return Err(invalid("`task` is empty".into()));
        }
        let prompt = raw.prompt.ok_or_else(|| missing("prompt"))?;
        let scores = raw.scores.ok_or_else(|| missing("scores"))?.0;
        let costs = raw.costs_usd.ok_or_else(|| missing("costs_usd"))?.0;
        if scores.is_empty() {
            return Err(missing("scores (at least one model)"));
        }
        let turns = match raw.turns {
            Some(t) if !t.is_empty() => t,
            _ => vec![prompt],
        };
        let out_of_range = |what, model: &str, value, expected| LearnedError::OutOfRange {
            path: path.to_path_buf(),
            line,
            what,
            model: model.to_owned(),
            value,
            expected,
        };
        let mut item = Item {
            id,
            task,
            turns,
            scores: Vec::new(),
            costs: Vec::new(),
        };
        for (model, &s) in &scores {
            if !(0.0..=1.0).contains(&s) {
                return Err(out_of_range("score", model, s, "0..=1"));
            }
            let m = self.intern(model, index);
            grow_set(&mut item.scores, m, s);
        }
        for (model, &c) in &costs {
            if !c.is_finite() || c < 0.0 {
                return Err(out_of_range("cost", model, c, "a finite USD amount >= 0"));
            }
            let m = self.intern(model, index);
            grow_set(&mut item.costs, m, c);
        }
        Ok(item)
    }

    fn intern(&mut self, model: &str, index: &mut HashMap<String, usize>) -> usize {
        if let Some(&m) = index.get(model) {
            return m;
        }
        let m = self.models.len();
        self.models.push(model.to_owned());
        index.insert(model.to_owned(), m);
        m
    }

    /// The index of `model`, if present.
    pub fn model_index(&self, model: &str) -> Option<usize> {
        self.models.iter().position(|m| m == model)
    }

    /// A dataset holding the items at `idx` (models unchanged).
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        Dataset {
            models: self.models.clone(),
            items: idx.iter().map(|&i| self.items[i].clone()).collect(),
        }
    }

    /// Task families, sorted.
    pub fn families(&self) -> Vec<String> {
        let mut f: Vec<String> = self.items.iter().map(|i| i.family().to_owned()).collect();
        f.sort();
        f.dedup();
        f
    }
}

fn grow_set(v: &mut Vec<Option<f64>>, i: usize, x: f64) {
    if v.len() <= i {
        v.resize(i + 1, None);
    }
    v[i] = Some(x);
}

fn collect_files(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), LearnedError> {
    let io = |e| LearnedError::Io {
        path: p.to_path_buf(),
        source: e,
    };
    let meta = fs::metadata(p).map_err(io)?;
    if !meta.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    let mut found: Vec<PathBuf> = fs::read_dir(p)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    if found.is_empty() {
        return Err(LearnedError::Empty {
            path: p.to_path_buf(),
            reason: "directory holds no .jsonl file",
        });
    }
    found.sort();
    out.extend(found);
    Ok(())
}
