//! Router benchmarks: decision latency of the trained estimator (per prompt, one core) and
//! training time. Run with `cargo bench -p routewise-strategy --bench router`.
//!
//! With `--features embeddings` and the MiniLM weights present (`scripts/fetch-minilm.sh`),
//! it also measures the decision with the embedding: MiniLM on the prompt's question segment
//! (at most `DEFAULT_MAX_TOKENS` = 48 word pieces) plus
//! a kNN over an index the size of the shipped training set. For one-core figures run it as
//! `RAYON_NUM_THREADS=1 taskset -c 0 cargo bench -p routewise-strategy --features embeddings --bench router`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use routewise_strategy::learned::{
    Bands, Dataset, EmbeddingChoice, FitConfig, Mode, SplitMix, TrainedEstimator, fit, select,
};
use routewise_strategy::{Deployment, PromptView, QualityEstimator};

const POOL: [&str; 6] = [
    "gpt-4.1-nano",
    "gpt-4.1-mini",
    "gpt-5-mini",
    "gpt-5.2",
    "grok-4-fast-reasoning",
    "Deepseek-V3.2",
];
const COSTS: [f64; 6] = [0.1, 0.4, 0.25, 1.75, 0.2, 0.28];

fn prompts() -> Vec<String> {
    let short = "What is the capital of Australia?".to_owned();
    let code = "Write a Python function that parses an ISO-8601 timestamp, handles time zones and \
                returns a datetime; include unit tests.\n```python\ndef parse(ts):\n    pass\n```"
        .to_owned();
    let long = "Summarise the following passage and extract every date as JSON. ".repeat(60);
    let five_shot = "Question: Which gas do plants absorb? A. O2 B. CO2 C. N2 D. He Answer: B\n"
        .repeat(5)
        + "Question: What force keeps planets in orbit? A. friction B. gravity C. magnetism D. tension Answer:";
    // RouterBench-style: worked examples separated by blank lines, a repeated answer-format
    // line, the question last (the embedder sees only the question segment).
    let example = "Which statement best explains why the Moon shows phases to observers on \
                   Earth over the course of a month?\nA) its shadow\nB) its orbit\nC) clouds\n\
                   D) tides\nPrint only a single choice from \"A\" or \"B\" or \"C\" or \"D\" \
                   without explanation.\nAnswer:\nB\n\n";
    let few_shot_qa = example.repeat(5)
        + "A student pours vinegar on baking soda and sees bubbles form quickly. Which \
           observation shows that a new substance was produced in this reaction?\nA) the \
           mixture gets warm\nB) a gas is given off\nC) the bubbles are round\nD) the cup is \
           wet\nPrint only a single choice from \"A\" or \"B\" or \"C\" or \"D\" without \
           explanation.\nAnswer:";
    // A request far over any cap: the decision must cost what a capped prompt does.
    let huge = "Compare these two logs line by line and list every difference. ".repeat(16_500);
    vec![short, code, long, five_shot, few_shot_qa, huge]
}

/// Names of [`prompts`], in order.
const KINDS: [&str; 6] = ["short", "code", "long", "five_shot", "few_shot_qa", "huge"];

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// p50 / p99 of one full decision (features, six scores, band selection) per prompt kind.
fn report_percentiles(est: &TrainedEstimator, cands: &[&Deployment]) {
    let mut out = Vec::with_capacity(cands.len());
    for (name, p) in KINDS.iter().zip(prompts()) {
        let view = PromptView::from_text(&p);
        let mut t: Vec<f64> = (0..3000)
            .map(|_| {
                let start = Instant::now();
                out.clear();
                est.estimate(&view, cands, &mut out);
                black_box(select(&out, &COSTS, Mode::Balanced, &est.bands()));
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!(
            "decision latency {name:>9} ({} bytes): p50 {:.1} us, p99 {:.1} us",
            p.len(),
            percentile(&t, 0.5),
            percentile(&t, 0.99)
        );
    }
}

#[cfg(not(feature = "embeddings"))]
fn embedding_latency(_: &TrainedEstimator, _: &[&Deployment]) {
    println!("decision latency with embeddings: not measured (built without feature `embeddings`)");
}

#[cfg(feature = "embeddings")]
fn embedding_latency(est: &TrainedEstimator, cands: &[&Deployment]) {
    use routewise_strategy::learned::{EmbedderHandle, KnnIndex, MiniLm, minilm_dir};
    let Some(dir) = minilm_dir() else {
        println!(
            "decision latency with embeddings: SKIPPED (MiniLM weights not found; run scripts/fetch-minilm.sh)"
        );
        return;
    };
    let t = Instant::now();
    let Ok(m) = MiniLm::load(&dir) else {
        println!(
            "decision latency with embeddings: SKIPPED (MiniLM at {} does not load)",
            dir.display()
        );
        return;
    };
    println!(
        "MiniLM load: {:.0} ms; candle threads: {}",
        t.elapsed().as_secs_f64() * 1e3,
        candle_core::utils::get_num_threads()
    );
    // An index as large as the shipped training set (9,298 prompts); search cost depends
    // only on its size, so random unit vectors measure it honestly.
    let mut rng = SplitMix(17);
    let vecs: Vec<Vec<f32>> = (0..9298)
        .map(|_| {
            let v: Vec<f32> = (0..384).map(|_| rng.next_f64() as f32 - 0.5).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect()
        })
        .collect();
    let refs: Vec<&[f32]> = vecs.iter().map(Vec::as_slice).collect();
    let scores: Vec<Vec<Option<f64>>> = (0..vecs.len())
        .map(|i| vec![Some((i % 2) as f64), Some(((i / 2) % 2) as f64)])
        .collect();
    let models = est.heads().iter().map(|h| h.model.clone()).collect();
    // The largest k of the tuning grid, with similarity weights: the slowest kNN path.
    let knn = KnnIndex::build(models, &refs, &scores, 250, 0.5).with_temperature(0.05);
    let emb = est
        .clone()
        .with_knn(knn)
        .with_embedder(EmbedderHandle::new(m));
    let mut out = Vec::with_capacity(cands.len());
    for (name, p) in KINDS.iter().zip(prompts()) {
        let view = PromptView::from_text(&p);
        let mut t: Vec<f64> = (0..200)
            .map(|_| {
                let start = Instant::now();
                out.clear();
                emb.estimate(&view, cands, &mut out);
                black_box(select(&out, &COSTS, Mode::Balanced, &emb.bands()));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!(
            "decision latency with embeddings {name:>9} ({} bytes): p50 {:.2} ms, p99 {:.2} ms",
            p.len(),
            percentile(&t, 0.5),
            percentile(&t, 0.99)
        );
    }
}

fn synthetic(n: usize) -> Dataset {
    let mut rng = SplitMix(5);
    let mut text = String::new();
    for i in 0..n {
        let hard = rng.next_f64() < 0.4;
        let topic = if hard {
            "evaluate the integral of x squared"
        } else {
            "name the capital of a country"
        };
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"task\":\"syn\",\"prompt\":\"{topic} {}\",\"scores\":{{\"a\":1.0,\"b\":{}}},\"costs_usd\":{{\"a\":1.0,\"b\":0.1}}}}\n",
            rng.next_u64() % 10_000,
            if hard { 0.0 } else { 1.0 }
        ));
    }
    Dataset::from_jsonl("synthetic.jsonl", &text).unwrap_or_default()
}

fn shared_routellm() -> Option<Dataset> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/routing/train");
    let files: Vec<_> = [
        "routellm-mmlu.jsonl",
        "routellm-gsm8k.jsonl",
        "routellm-mt_bench.jsonl",
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    match Dataset::load(&files) {
        Ok(ds) => Some(ds),
        Err(e) => {
            println!("training time on the shared RouteLLM files: SKIPPED ({e})");
            None
        }
    }
}

fn bench(c: &mut Criterion) {
    let t = Instant::now();
    let est = TrainedEstimator::default_artifact().expect("shipped artifact loads");
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs this once in a debug build: one decision as a smoke
        // test, none of the timing loops (with embeddings they would take many minutes).
        let pool: Vec<Deployment> = POOL.into_iter().map(Deployment::new).collect();
        let cands: Vec<&Deployment> = pool.iter().collect();
        let mut out = Vec::new();
        est.estimate(&PromptView::from_text("Say hello."), &cands, &mut out);
        assert_eq!(out.len(), cands.len());
        return;
    }
    println!(
        "default artifact load: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let pool: Vec<Deployment> = POOL.into_iter().map(Deployment::new).collect();
    let cands: Vec<&Deployment> = pool.iter().collect();
    report_percentiles(&est, &cands);
    embedding_latency(&est, &cands);

    let mut group = c.benchmark_group("router");
    let mut out = Vec::with_capacity(cands.len());
    for (name, p) in KINDS.iter().zip(prompts()) {
        let view = PromptView::from_text(&p);
        group.bench_function(format!("decide/{name}"), |b| {
            b.iter(|| {
                out.clear();
                est.estimate(black_box(&view), &cands, &mut out);
                black_box(select(&out, &COSTS, Mode::Balanced, &Bands::default()))
            })
        });
    }
    group.sample_size(10);
    let small = synthetic(2000);
    let cfg = FitConfig {
        calibration_folds: 0,
        embeddings: EmbeddingChoice::Off,
        ..FitConfig::default()
    };
    group.bench_function("train/synthetic-2000", |b| {
        b.iter(|| black_box(fit(&small, &cfg)))
    });
    group.finish();

    if let Some(ds) = shared_routellm() {
        let t = Instant::now();
        let plain = FitConfig {
            embeddings: EmbeddingChoice::Off,
            ..FitConfig::default()
        };
        let est = fit(&ds, &plain);
        println!(
            "training time, default artifact recipe without embeddings ({} items, with calibration): {:.2} s ({})",
            ds.items.len(),
            t.elapsed().as_secs_f64(),
            if est.is_ok() { "ok" } else { "failed" }
        );
        #[cfg(feature = "embeddings")]
        train_with_embeddings(&ds);
    }
}

/// Training with embeddings: embedding the prompts (uncached) and the fit with kNN tuning.
#[cfg(feature = "embeddings")]
fn train_with_embeddings(ds: &Dataset) {
    use routewise_strategy::learned::{EmbedderHandle, MiniLm, minilm_dir};
    let Some(m) = minilm_dir().and_then(|d| MiniLm::load(d).ok()) else {
        println!("training time with embeddings: SKIPPED (MiniLM weights not found)");
        return;
    };
    let e = EmbedderHandle::new(m);
    let texts: Vec<&str> = ds.items.iter().take(256).map(|i| i.prompt()).collect();
    let t = Instant::now();
    black_box(e.0.embed_all(&texts));
    let per = t.elapsed().as_secs_f64() / texts.len() as f64;
    println!(
        "embedding throughput in training (batches of 16): {:.1} ms/prompt -> {:.0} s for {} prompts uncached",
        per * 1e3,
        per * ds.items.len() as f64,
        ds.items.len()
    );
    let t = Instant::now();
    let cfg = FitConfig {
        embeddings: EmbeddingChoice::With(e),
        ..FitConfig::default()
    };
    match fit(ds, &cfg) {
        Ok(est) => println!(
            "training time with embeddings (embeddings from the disk cache when present): {:.2} s; {}",
            t.elapsed().as_secs_f64(),
            est.describe()
        ),
        Err(err) => println!("training with embeddings failed: {err}"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
