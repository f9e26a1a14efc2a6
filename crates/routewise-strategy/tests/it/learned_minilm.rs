//! The MiniLM embedder (feature `embeddings`). Each test skips, saying so, when the weights
//! are absent (`crates/routewise-strategy/scripts/fetch-minilm.sh` fetches them). Only a
//! handful of inferences run, so the tests stay fast in debug builds.
#![cfg(feature = "embeddings")]

use routewise_strategy::learned::{
    EmbedderHandle, KnnIndex, MiniLm, TextEmbedder, TrainedEstimator, minilm_dir,
};

fn model() -> Option<MiniLm> {
    let Some(dir) = minilm_dir() else {
        eprintln!(
            "SKIPPED: MiniLM weights not found (set ROUTEWISE_MINILM_DIR or run \
             crates/routewise-strategy/scripts/fetch-minilm.sh)"
        );
        return None;
    };
    Some(MiniLm::load(&dir).expect("weights in the MiniLM directory load"))
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn matches_sentence_transformers_reference() {
    let Some(m) = model() else { return };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    assert!(m.embed_into("This is an example sentence", &mut a));
    assert!(m.embed_into("Each sentence is converted", &mut b));
    assert_eq!(a.len(), 384);
    // Reference figures from sentence-transformers (routing-metrics.md §3.2).
    for (got, want) in a.iter().zip([0.0677f32, 0.0635, 0.0487, 0.0793, 0.0374]) {
        assert!((got - want).abs() < 2e-3, "{got} vs {want}");
    }
    assert!((cos(&a, &b) - 0.4046).abs() < 2e-3, "cos {}", cos(&a, &b));
    assert!(
        (cos(&a, &a) - 1.0).abs() < 1e-4,
        "vectors are L2-normalised"
    );
}

#[test]
fn estimator_routes_through_the_knn_when_embedded() {
    let Some(m) = model() else { return };
    let m = m.with_max_tokens(32);
    let e = EmbedderHandle::new(m);
    let texts = ["What is 17 times 23?", "Write a haiku about the sea."];
    let vecs = e.0.embed_all(&texts);
    assert!(vecs.iter().all(|v| v.len() == 384));
    let refs: Vec<&[f32]> = vecs.iter().map(Vec::as_slice).collect();
    let base = TrainedEstimator::default_artifact().expect("default artifact");
    let strong = base.heads()[0].model.clone();
    let knn = KnnIndex::build(
        vec![strong.clone()],
        &refs,
        &[vec![Some(1.0)], vec![Some(0.0)]],
        1,
        1.0,
    );
    let est = base.with_knn(knn).with_embedder(e.clone());
    assert!(est.uses_knn(), "{}", est.describe());
    let pool = [routewise_strategy::Deployment::new(strong.as_str())];
    let cands: Vec<_> = pool.iter().collect();
    let mut out = Vec::new();
    use routewise_strategy::{PromptView, QualityEstimator};
    est.estimate(
        &PromptView::from_text("What is 17 times 23?"),
        &cands,
        &mut out,
    );
    // One neighbour scoring 1.0 plus two prior pseudo-neighbours at 0.5.
    assert!((out[0] - 2.0 / 3.0).abs() < 1e-3, "{out:?}");
    // The kNN survives the artifact round trip.
    let back = TrainedEstimator::from_bytes(&est.to_bytes()).expect("round trip");
    assert_eq!(back.knn().map(KnnIndex::len), Some(2));
}

#[test]
#[ignore = "timing; run in release: cargo test --release --features embeddings --test it -- --ignored --nocapture learned_minilm"]
fn single_prompt_latency_by_token_cap() {
    let Some(m) = model() else { return };
    let text = "Summarise the following passage and extract every date as JSON. ".repeat(40);
    let mut m = Some(m);
    for cap in [32usize, 64, 96, 128] {
        let mm = m.take().map(|x| x.with_max_tokens(cap));
        let Some(e) = mm else { return };
        let mut v = Vec::new();
        let mut t: Vec<f64> = (0..30)
            .map(|_| {
                let s = std::time::Instant::now();
                assert!(e.embed_into(&text, &mut v));
                s.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        println!("cap {cap}: p50 {:.1} ms, max {:.1} ms", t[15], t[29]);
        m = Some(e);
    }
}
