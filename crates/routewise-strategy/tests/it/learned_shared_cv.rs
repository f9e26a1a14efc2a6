//! Figures for the router note, from the shared training data (`../shared/data/routing/train`).
//!
//! Ignored by default (minutes of CPU); run with
//! `cargo test -p routewise-strategy --release --test it -- --ignored --nocapture learned_shared_cv`.
//! Each test skips, saying so, when the shared data is absent.

use std::path::PathBuf;

use routewise_strategy::learned::cv::{cross_validate, leave_one_family_out};
use routewise_strategy::learned::eval::EvalConfig;
use routewise_strategy::learned::{Dataset, EmbeddingChoice, TrainConfig, train};

/// The default configuration, with optional overrides for ablations
/// (`RW_L2`, `RW_LR`, `RW_EPOCHS`, `RW_CHAR`, `RW_WORDS`, `RW_CUES`, `RW_QUESTION`,
/// `RW_COUNTS`, `RW_BALANCE`, and `RW_SEED` for the folds; `RW_EMB=off` for the
/// no-embedding figures of a build with the `embeddings` feature). `RW_ALIAS=1` makes the
/// five-fold run treat RouterBench's `mistralai/mixtral-8x7b-chat` as RouteLLM's Mixtral.
fn config() -> EvalConfig {
    let mut cfg = EvalConfig::default();
    if std::env::var("RW_EMB").is_ok_and(|v| v == "off") {
        cfg.fit.embeddings = EmbeddingChoice::Off;
    }
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    if let Some(v) = var("RW_L2") {
        cfg.fit.l2 = v;
    }
    if let Some(v) = var("RW_LR") {
        cfg.fit.learning_rate = v;
    }
    if let Some(v) = var("RW_EPOCHS") {
        cfg.fit.epochs = v as usize;
    }
    if let Some(v) = var("RW_CHAR") {
        cfg.fit.features.char_ngram = v as u8;
    }
    if let Some(v) = var("RW_WORDS") {
        cfg.fit.features.word_ngrams = v as u8;
    }
    if let Some(v) = var("RW_CUES") {
        cfg.fit.features.cues = v > 0.0;
    }
    if let Some(v) = var("RW_QUESTION") {
        cfg.fit.features.question = v > 0.0;
    }
    if let Some(v) = var("RW_BALANCE") {
        cfg.fit.family_balance = v;
    }
    if let Some(v) = var("RW_COUNTS") {
        cfg.fit.features.count_cues = v > 0.0;
    }
    cfg
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ROUTEWISE_ROUTING_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/routing/train")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: shared routing data not found at {} (set ROUTEWISE_ROUTING_DATA)",
            dir.display()
        );
        None
    }
}

#[test]
#[ignore = "reads ../shared and takes minutes; run explicitly for the note"]
fn five_fold_grouped_cv_on_shared_train() {
    let Some(dir) = data_dir() else { return };
    let mut ds = Dataset::load(&[dir]).expect("shared data loads");
    if std::env::var("RW_ALIAS").is_ok_and(|v| v == "1") {
        alias(
            &mut ds,
            "mistralai/mixtral-8x7b-chat",
            "mistralai/Mixtral-8x7B-Instruct-v0.1",
        );
    }
    let t = std::time::Instant::now();
    // `RW_SEED` re-draws the folds, to see that a figure is not an accident of one split.
    let seed = std::env::var("RW_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cv = cross_validate(&ds, 5, seed, &config()).expect("cv runs");
    println!(
        "5-fold grouped CV ({:.1} s)\n{}",
        t.elapsed().as_secs_f64(),
        cv.mean.to_table()
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&cv.mean.to_json()).unwrap_or_default()
    );
}

#[test]
#[ignore = "reads ../shared; run explicitly for the note"]
fn leave_gsm8k_out() {
    let Some(dir) = data_dir() else { return };
    let ds = Dataset::load(&[dir]).expect("shared data loads");
    let t = std::time::Instant::now();
    let r = leave_one_family_out(&ds, "gsm8k", &config()).expect("loto runs");
    println!("({:.1} s)", t.elapsed().as_secs_f64());
    println!("train without GSM8K, test GSM8K\n{}", r.to_table());
}

#[test]
#[ignore = "rewrites assets/default-router.rwqe from ../shared RouteLLM files; run explicitly"]
fn train_default_artifact() {
    let Some(dir) = data_dir() else { return };
    let data: Vec<PathBuf> = [
        "routellm-mmlu.jsonl",
        "routellm-gsm8k.jsonl",
        "routellm-mt_bench.jsonl",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/default-router.rwqe");
    let mut cfg = TrainConfig {
        data,
        out: Some(out),
        ..TrainConfig::default()
    };
    cfg.fit.calibration_folds = 3;
    // The shipped default has no kNN index: the embedding gains about 0.01 APGR in the CV,
    // too little to carry 3.6 MB of vectors in every build, most of which cannot embed
    // (no `embeddings` feature); see the model card.
    cfg.fit.embeddings = EmbeddingChoice::Off;
    // Nor family balancing: it lifts GSM8K and MT-Bench in the CV, but weighs each of the 43
    // MT-Bench prompts 14 times an MMLU prompt, and the heads then rate very short prompts
    // ("What is 2+2?") as needing a premium model more often; a general chat pool sees many
    // of those (see the model card).
    cfg.fit.family_balance = 0.0;
    let s = train(&cfg).expect("trains");
    println!(
        "trained {} items, heads {:?}, {:.1} s, {} bytes, bands {:?}",
        s.items,
        s.models,
        s.seconds,
        s.artifact_bytes,
        s.estimator.bands()
    );
}

/// Folds model `from`'s scores and costs into model `to` and drops `from`.
fn alias(ds: &mut Dataset, from: &str, to: &str) {
    let (Some(f), Some(t)) = (ds.model_index(from), ds.model_index(to)) else {
        return;
    };
    for it in &mut ds.items {
        for v in [&mut it.scores, &mut it.costs] {
            if v.len() > f {
                let x = v.remove(f);
                let t = if t > f { t - 1 } else { t };
                if v.len() <= t {
                    v.resize(t + 1, None);
                }
                if v[t].is_none() {
                    v[t] = x;
                }
            }
        }
    }
    ds.models.remove(f);
}
