//! Figures for the router note, from the shared training data (`../shared/data/routing/train`).
//!
//! Ignored by default (minutes of CPU); run with
//! `cargo test -p routewise-strategy --release --test learned_shared_cv -- --ignored --nocapture`.
//! Each test skips, saying so, when the shared data is absent.

use std::path::PathBuf;

use routewise_strategy::learned::cv::{cross_validate, leave_one_family_out};
use routewise_strategy::learned::eval::EvalConfig;
use routewise_strategy::learned::{Dataset, TrainConfig, train};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ROUTEWISE_ROUTING_DATA").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/routing/train")
    });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: shared routing data not found at {} (set ROUTEWISE_ROUTING_DATA)", dir.display());
        None
    }
}

#[test]
#[ignore = "reads ../shared and takes minutes; run explicitly for the note"]
fn five_fold_grouped_cv_on_shared_train() {
    let Some(dir) = data_dir() else { return };
    let ds = Dataset::load(&[dir]).expect("shared data loads");
    let t = std::time::Instant::now();
    let cv = cross_validate(&ds, 5, 0, &EvalConfig::default()).expect("cv runs");
    println!("5-fold grouped CV ({:.1} s)\n{}", t.elapsed().as_secs_f64(), cv.mean.to_table());
    println!("{}", serde_json::to_string_pretty(&cv.mean.to_json()).unwrap_or_default());
}

#[test]
#[ignore = "reads ../shared; run explicitly for the note"]
fn leave_gsm8k_out() {
    let Some(dir) = data_dir() else { return };
    let ds = Dataset::load(&[dir]).expect("shared data loads");
    let r = leave_one_family_out(&ds, "gsm8k", &EvalConfig::default()).expect("loto runs");
    println!("train without GSM8K, test GSM8K\n{}", r.to_table());
}

#[test]
#[ignore = "rewrites assets/default-router.rwqe from ../shared RouteLLM files; run explicitly"]
fn train_default_artifact() {
    let Some(dir) = data_dir() else { return };
    let data: Vec<PathBuf> =
        ["routellm-mmlu.jsonl", "routellm-gsm8k.jsonl", "routellm-mt_bench.jsonl"].iter().map(|f| dir.join(f)).collect();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/default-router.rwqe");
    let mut cfg = TrainConfig { data, out: Some(out), ..TrainConfig::default() };
    cfg.fit.calibration_folds = 3;
    let s = train(&cfg).expect("trains");
    println!(
        "trained {} items, heads {:?}, {:.1} s, {} bytes, bands {:?}",
        s.items, s.models, s.seconds, s.artifact_bytes, s.estimator.bands()
    );
}
