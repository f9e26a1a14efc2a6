//! Bad data files get clear errors naming the file and line.

use std::path::PathBuf;

use routewise_strategy::learned::{Dataset, view_of};

const GOOD: &str = r#"{"id":"a","task":"mmlu/x","prompt":"What is 2+2?","scores":{"s":1.0,"w":0.0},"costs_usd":{"s":0.01,"w":0.001}}"#;

fn err_of(text: &str) -> String {
    Dataset::from_jsonl("data/bad.jsonl", text)
        .expect_err("must fail")
        .to_string()
}

#[test]
fn good_records_load_with_interned_models() {
    let ds = Dataset::from_jsonl("x.jsonl", &format!("{GOOD}\n\n{GOOD}\n")).expect("loads");
    assert_eq!(ds.items.len(), 2);
    assert_eq!(ds.models, vec!["s".to_owned(), "w".to_owned()]);
    assert_eq!(ds.items[0].scores, vec![Some(1.0), Some(0.0)]);
    assert_eq!(ds.items[0].family(), "mmlu");
}

#[test]
fn missing_field_names_file_line_and_field() {
    let bad = r#"{"id":"b","task":"t","scores":{"s":1.0},"costs_usd":{"s":0.1}}"#;
    let msg = err_of(&format!("{GOOD}\n{bad}\n"));
    assert_eq!(msg, "data/bad.jsonl:2: missing field `prompt`");
}

#[test]
fn score_out_of_range_names_model_and_value() {
    let bad = GOOD.replace(r#""s":1.0"#, r#""s":1.5"#);
    let e = Dataset::from_jsonl("data/bad.jsonl", &bad).expect_err("must fail");
    assert!(e.is_out_of_range());
    assert_eq!(e.line(), Some(1));
    assert!(
        e.to_string()
            .starts_with("data/bad.jsonl:1: score for `s` is 1.5"),
        "{e}"
    );
}

#[test]
fn negative_cost_is_rejected() {
    let bad = GOOD.replace(r#""w":0.001"#, r#""w":-1"#);
    assert!(err_of(&bad).contains("cost for `w` is -1"));
}

#[test]
fn empty_file_is_an_error() {
    let e = Dataset::from_jsonl("data/empty.jsonl", "\n \n").expect_err("must fail");
    assert!(e.is_empty());
    assert_eq!(
        e.to_string(),
        "data/empty.jsonl: file holds no JSONL record"
    );
}

#[test]
fn invalid_json_and_wrong_types_name_the_line() {
    let e = err_of(&format!("{GOOD}\n{GOOD}\n{{not json\n"));
    assert!(e.starts_with("data/bad.jsonl:3: invalid record:"), "{e}");
    let e = err_of(r#"{"id":"a","task":"t","prompt":"p","scores":{"s":"high"},"costs_usd":{}}"#);
    assert!(e.starts_with("data/bad.jsonl:1: invalid record:"), "{e}");
    // serde's own "line 1" would contradict the file line: only the column is kept.
    let e = err_of(&format!(
        "{GOOD}\n{}",
        GOOD.replace(r#""s":1.0"#, r#""s":"high""#)
    ));
    assert!(e.starts_with("data/bad.jsonl:2: invalid record:"), "{e}");
    assert!(!e.contains("line 1") && e.contains("(column "), "{e}");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_record() {
    let ds = Dataset::from_jsonl("bom.jsonl", &format!("\u{feff}{GOOD}\r\n{GOOD}\r\n"))
        .expect("a BOM and CRLF line ends load");
    assert_eq!(ds.items.len(), 2);
}

/// RouteLLM routes MT-Bench on the first turn: the second does not exist when the
/// conversation is routed, so neither the features nor the length baseline may see it.
#[test]
fn routing_sees_the_prompt_and_never_a_later_turn() {
    let rec = r#"{"id":"m","task":"mt_bench/x","prompt":"Write a poem.","turns":["Write a poem.","Now make it rhyme, in ten stanzas, about the sea."],"scores":{"s":0.9,"w":0.8},"costs_usd":{"s":0.01,"w":0.001}}"#;
    let ds = Dataset::from_jsonl("mt.jsonl", rec).expect("loads");
    let item = &ds.items[0];
    assert_eq!(item.turns.len(), 2);
    assert_eq!(view_of(item).user_turns, vec!["Write a poem."]);
    assert_eq!(item.prompt_chars(), "Write a poem.".len());
}

#[test]
fn load_reports_real_paths_and_missing_files() {
    let dir = std::env::temp_dir().join(format!("rw-learned-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let file = dir.join("one.jsonl");
    std::fs::write(&file, format!("{GOOD}\n{{\"id\":1}}\n")).expect("write");
    let e = Dataset::load(std::slice::from_ref(&dir)).expect_err("must fail");
    assert!(
        e.to_string().starts_with(&format!("{}:2:", file.display())),
        "{e}"
    );
    let e = Dataset::load(&[PathBuf::from("/nonexistent/routewise.jsonl")]).expect_err("must fail");
    assert!(e.is_io());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn records_that_are_not_objects_empty_tasks_and_repeated_models_are_refused() {
    let e = err_of(&format!("{GOOD}\n[1,2]\n"));
    assert!(
        e.starts_with("data/bad.jsonl:2:") && e.contains("must be a JSON object"),
        "{e}"
    );
    let e = err_of(&GOOD.replace(r#""task":"mmlu/x""#, r#""task":"""#));
    assert!(
        e.starts_with("data/bad.jsonl:1:") && e.contains("`task` is empty"),
        "{e}"
    );
    // JSON allows a key twice; one of the two scores would vanish unseen.
    let e = err_of(&GOOD.replace(r#""w":0.0}"#, r#""w":0.0,"s":0.0}"#));
    assert!(
        e.starts_with("data/bad.jsonl:1:") && e.contains("model `s` is named twice"),
        "{e}"
    );
}

#[test]
fn a_file_that_is_not_utf8_names_the_line_and_a_file_named_twice_is_read_once() {
    let dir = std::env::temp_dir().join(format!("rw-learned-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let latin = dir.join("latin.jsonl");
    let mut bytes = format!("{GOOD}\n{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"id\":\"caf\xe9\"}\n");
    std::fs::write(&latin, bytes).expect("write");
    let e = Dataset::load(std::slice::from_ref(&latin)).expect_err("must fail");
    assert!(
        e.to_string()
            .starts_with(&format!("{}:3: invalid record: not UTF-8", latin.display())),
        "{e}"
    );
    std::fs::remove_file(&latin).expect("rm");
    let good = dir.join("good.jsonl");
    std::fs::write(&good, format!("{GOOD}\n")).expect("write");
    let ds = Dataset::load(&[good.clone(), good, dir.clone()]).expect("loads");
    assert_eq!(ds.items.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
