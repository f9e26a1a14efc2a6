//! The trained estimator: the shipped artifact, training and evaluation on generated data.

use std::time::Instant;

use routewise_strategy::learned::cv::{cross_validate, grouped_folds};
use routewise_strategy::learned::eval::{EvalConfig, evaluate_split};
use routewise_strategy::learned::{
    Dataset, EmbedderHandle, EmbeddingChoice, FitConfig, Mode, SplitMix, TextEmbedder,
    TrainedEstimator, featurize_all, fit, select,
};
use routewise_strategy::{CapabilityProfile, Deployment, PromptView, QualityEstimator};

#[test]
fn default_artifact_is_small_loads_fast_and_round_trips() {
    let t = Instant::now();
    let est = TrainedEstimator::default_artifact().expect("shipped artifact loads");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    // Debug builds are slower than release; the release figure is in the bench.
    assert!(ms < 500.0, "load took {ms} ms");
    let bytes = est.to_bytes();
    assert!(bytes.len() < 5 * 1024 * 1024);
    assert_eq!(est.heads().len(), 2);
    // A router is shown in logs and panic messages; its 2^18 weights per head are not.
    let shown = format!("{est:?}");
    assert!(shown.len() < 8_000, "Debug is {} bytes", shown.len());
    assert!(shown.contains("[262144 weights]"), "{shown}");
    let again = TrainedEstimator::from_bytes(&bytes).expect("round trip");
    assert_eq!(again.bands(), est.bands());
    assert!(
        TrainedEstimator::from_bytes(b"nope")
            .expect_err("bad magic")
            .is_artifact()
    );
    assert!(
        TrainedEstimator::from_bytes(&bytes[..bytes.len() - 2])
            .expect_err("truncated")
            .is_artifact()
    );
}

fn default_pool() -> Vec<Deployment> {
    [
        "gpt-4.1-nano",
        "gpt-4.1-mini",
        "gpt-5-mini",
        "gpt-5.2",
        "grok-4-fast-reasoning",
        "Deepseek-V3.2",
    ]
    .into_iter()
    .map(Deployment::new)
    .collect()
}

#[test]
fn default_artifact_scores_the_default_pool_prompt_dependently() {
    let est = TrainedEstimator::default_artifact().expect("loads");
    let pool = default_pool();
    let cands: Vec<&Deployment> = pool.iter().collect();
    let mut easy = Vec::new();
    let mut hard = Vec::new();
    est.estimate(
        &PromptView::from_text("Say hello to my friend Anna."),
        &cands,
        &mut easy,
    );
    est.estimate(
        &PromptView::from_text(
            "Let G be a finite group of order 120 and H a normal subgroup of index 5. Prove that \
             G/H is cyclic and compute the number of Sylow 5-subgroups step by step.",
        ),
        &cands,
        &mut hard,
    );
    assert_eq!(easy.len(), 6);
    assert!(easy.iter().chain(&hard).all(|s| (0.0..=1.0).contains(s)));
    assert_ne!(easy, hard);
    // A stronger profile never scores lower, and the hard prompt scores lower for everyone.
    assert!(hard[3] >= hard[0] && easy[3] >= easy[0]);
    assert!(
        hard.iter().zip(&easy).all(|(h, e)| h < e),
        "easy {easy:?} hard {hard:?}"
    );
}

#[test]
fn heads_win_over_profiles_and_explicit_profiles_are_used() {
    let est = TrainedEstimator::default_artifact().expect("loads");
    let strong = Deployment::new("my-gpt4").with_model("gpt-4-1106-preview");
    let weak = Deployment::new("custom").with_profile(CapabilityProfile::uniform(0.3));
    let great = Deployment::new("custom2").with_profile(CapabilityProfile::uniform(0.95));
    let mut out = Vec::new();
    est.estimate(
        &PromptView::from_text("Write a Python function that merges two sorted lists."),
        &[&strong, &weak, &great],
        &mut out,
    );
    assert_eq!(out.len(), 3);
    assert!(out[2] > out[1]);
}

/// Two synthetic models: "big" is right on everything, "small" fails on prompts mentioning
/// integrals. Prompts are otherwise similar and lengths uninformative.
fn synthetic(n: usize, seed: u64) -> Dataset {
    let mut rng = SplitMix(seed);
    let mut text = String::new();
    for i in 0..n {
        let hard = rng.next_f64() < 0.4;
        let topic = if hard {
            "evaluate the integral of x squared"
        } else {
            "name the capital city of a country"
        };
        let noise = rng.next_u64() % 1000;
        let small = if hard {
            0.0
        } else {
            f64::from(u8::from(rng.next_f64() < 0.9))
        };
        let task = if i % 2 == 0 { "syn/a" } else { "syn/b" };
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"task\":\"{task}\",\"prompt\":\"Please {topic} number {noise}.\",\
             \"scores\":{{\"big\":1.0,\"small\":{small}}},\"costs_usd\":{{\"big\":0.01,\"small\":0.0001}}}}\n"
        ));
    }
    Dataset::from_jsonl("synthetic.jsonl", &text).expect("synthetic data parses")
}

fn quick_fit() -> FitConfig {
    let mut f = FitConfig {
        epochs: 3,
        calibration_folds: 2,
        embeddings: EmbeddingChoice::Off,
        ..FitConfig::default()
    };
    f.features.bits = 14;
    f
}

/// Fits on the `train` rows of a generated JSONL text and evaluates on the `test` rows.
fn quick_eval(
    name: &str,
    text: &str,
    train: std::ops::Range<usize>,
    test: std::ops::Range<usize>,
) -> routewise_strategy::learned::eval::EvalReport {
    let ds = Dataset::from_jsonl(name, text).expect("parses");
    let cfg = EvalConfig {
        fit: quick_fit(),
        random_seeds: 10,
        ..EvalConfig::default()
    };
    let feats = featurize_all(&ds, &cfg.fit.features);
    let train: Vec<usize> = train.collect();
    let test: Vec<usize> = test.collect();
    evaluate_split(&ds, &feats, &train, &test, &cfg).expect("evaluates")
}

#[test]
fn training_learns_a_prompt_signal_and_beats_random() {
    let ds = synthetic(400, 1);
    let cfg = EvalConfig {
        fit: quick_fit(),
        random_seeds: 20,
        ..EvalConfig::default()
    };
    let cv = cross_validate(&ds, 3, 0, &cfg).expect("cv runs");
    let fam = &cv.mean.two_model["syn"];
    assert_eq!(fam.strong, "big");
    let random = fam.baselines["random"].apgr;
    assert!(
        fam.router.apgr > random + 0.2,
        "router {} random {random}",
        fam.router.apgr
    );
    assert!(fam.router.cpt50 < 0.5);
    let json = cv.mean.to_json();
    assert!(json["two_model"]["syn"]["router"]["apgr"].is_number());
    for b in [
        "random",
        "always_strong",
        "always_weak",
        "prompt_length",
        "task_level",
        "oracle",
    ] {
        assert!(
            json["two_model"]["syn"]["baselines"][b].is_object(),
            "missing baseline {b}"
        );
    }
    assert!(cv.mean.to_table().contains("ours"));
}

#[test]
fn folds_never_split_a_prompt() {
    let mut ds = synthetic(60, 2);
    let copy = ds.items[0].clone();
    ds.items.push(copy);
    let folds = grouped_folds(&ds, 5, 3);
    assert_eq!(folds[0], folds[60]);
    assert!(folds.iter().all(|&f| f < 5));
}

#[test]
fn multi_model_modes_order_cost_and_quality() {
    // Three models: cheap is right on easy prompts only; mid on most; top on all.
    let mut rng = SplitMix(9);
    let mut text = String::new();
    for i in 0..300 {
        let hard = rng.next_f64() < 0.5;
        let p = if hard {
            "prove the theorem about primes"
        } else {
            "translate hello into french"
        };
        let cheap = if hard { 0.0 } else { 1.0 };
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"task\":\"rb/x\",\"prompt\":\"{p} {}\",\"scores\":{{\"top\":1.0,\"mid\":{},\"cheap\":{cheap}}},\
             \"costs_usd\":{{\"top\":1.0,\"mid\":0.3,\"cheap\":0.01}}}}\n",
            rng.next_u64() % 97,
            f64::from(u8::from(rng.next_f64() < 0.9))
        ));
    }
    let r = quick_eval("multi.jsonl", &text, 0..200, 200..300);
    let fam = &r.multi_model["rb"];
    let q = fam.modes["quality"];
    let c = fam.modes["cost"];
    assert_eq!(fam.best_single, "top");
    assert!(q.accuracy_vs_best_single > 0.95, "{q:?}");
    assert!(c.cost_per_query <= q.cost_per_query + 1e-12);
    assert!(c.cost_vs_best_single < 0.7, "{c:?}");
    assert!(r.to_json()["multi_model"]["rb"]["modes"]["balanced"]["accuracy"].is_number());
}

/// Two models equally accurate on the test items: the cheaper is the best single model,
/// whichever the data names last.
#[test]
fn the_best_single_model_of_a_tie_is_the_cheaper() {
    let mut text = String::new();
    for i in 0..120 {
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"task\":\"rb/x\",\"prompt\":\"question {i}\",             \"scores\":{{\"alpha\":1.0,\"top\":1.0,\"weak\":{}}},             \"costs_usd\":{{\"alpha\":0.5,\"top\":1.0,\"weak\":0.01}}}}\n",
            i % 2
        ));
    }
    let r = quick_eval("tie.jsonl", &text, 0..80, 80..120);
    assert_eq!(r.multi_model["rb"].best_single, "alpha");
}

/// Train on one family, test on another the training files lack, with two test items
/// missing a cost and one prompt copied from train: the baselines still take their
/// statistics from train (so always-strong is the model most accurate there, not whichever
/// comes last), and the report says what it left out.
#[test]
fn an_unseen_family_gets_train_based_baselines_and_warnings() {
    let mut rng = SplitMix(21);
    let mut text = String::new();
    for i in 0..260 {
        let hard = rng.next_f64() < 0.5;
        let task = if i < 200 { "rb/x" } else { "other/x" };
        let p = if i == 10 || i == 255 {
            "copied prompt".to_owned()
        } else {
            format!(
                "{} {i}",
                if hard {
                    "prove the theorem"
                } else {
                    "say hello"
                }
            )
        };
        let top_cost = if i >= 258 { "" } else { "\"top\":1.0," };
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"task\":\"{task}\",\"prompt\":\"{p}\",\"scores\":{{\"top\":1.0,\"mid\":0.7,\"cheap\":{}}},\
             \"costs_usd\":{{{top_cost}\"mid\":0.3,\"cheap\":0.01}}}}\n",
            if hard { 0.0 } else { 1.0 }
        ));
    }
    let r = quick_eval("unseen.jsonl", &text, 0..200, 200..260);
    let fam = &r.multi_model["other"];
    assert_eq!(fam.items, 58, "the two items without a cost are left out");
    let strong = fam.baselines["always_strong"];
    assert!((strong.accuracy - 1.0).abs() < 1e-12, "{strong:?}");
    let joined = r.warnings.join("\n");
    assert!(joined.contains("2 of 60 items left out"), "{joined}");
    assert!(joined.contains("`other` has no training items"), "{joined}");
    assert!(
        joined.contains("1 of 60 test prompts also occur"),
        "{joined}"
    );
    assert_eq!(r.to_json()["warnings"].as_array().map(Vec::len), Some(3));
}

#[test]
fn select_reports_the_band_and_fit_needs_scores() {
    let est = fit(&synthetic(50, 4), &quick_fit()).expect("fits");
    let sel = select(&[0.9, 0.88], &[1.0, 0.1], Mode::Cost, &est.bands()).expect("selects");
    assert_eq!(sel.band, est.bands().cost);
    assert!((sel.best - 0.9).abs() < 1e-12);
}

/// A deterministic stand-in for MiniLM: words hashed into 32 dimensions, L2-normalised.
#[derive(Debug)]
struct BagOfWords;

impl TextEmbedder for BagOfWords {
    fn name(&self) -> &str {
        "bag-of-words"
    }
    fn dim(&self) -> usize {
        32
    }
    fn embed_into(&self, text: &str, out: &mut Vec<f32>) -> bool {
        out.clear();
        out.resize(32, 0.0);
        for w in text
            .split_whitespace()
            .filter(|w| w.chars().all(char::is_alphabetic))
        {
            let h = w
                .bytes()
                .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            out[(h % 32) as usize] += 1.0;
        }
        let n = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        out.iter_mut().for_each(|x| *x /= n.max(1e-6));
        true
    }
}

#[test]
fn knn_component_is_tuned_on_train_and_survives_the_artifact() {
    let ds = synthetic(300, 7);
    let mut cfg = quick_fit();
    cfg.embeddings = EmbeddingChoice::With(EmbedderHandle::new(BagOfWords));
    cfg.knn.k_grid = vec![5, 20];
    let est = fit(&ds, &cfg).expect("fits");
    let knn = est
        .knn()
        .expect("the embedding separates the synthetic classes, so kNN is kept");
    assert!(knn.blend() > 0.0 && knn.len() == 300, "{}", est.describe());
    let shown = format!("{est:?}");
    assert!(
        shown.contains("vectors: 300") && shown.len() < 8_000,
        "Debug summarises the index: {} bytes",
        shown.len()
    );
    assert!(est.uses_knn() && est.describe().contains("bag-of-words"));
    let pool = [Deployment::new("big"), Deployment::new("small")];
    let cands: Vec<&Deployment> = pool.iter().collect();
    let (mut hard, mut easy) = (Vec::new(), Vec::new());
    est.estimate(
        &PromptView::from_text("Please evaluate the integral of x squared number 5."),
        &cands,
        &mut hard,
    );
    est.estimate(
        &PromptView::from_text("Please name the capital city of a country number 5."),
        &cands,
        &mut easy,
    );
    assert!(
        hard[0] - hard[1] > easy[0] - easy[1] + 0.3,
        "{hard:?} {easy:?}"
    );
    // The index round-trips (int8 vectors, u16 scores); without an embedder it is unused.
    let back = TrainedEstimator::from_bytes(&est.to_bytes()).expect("round trip");
    assert_eq!(back.knn().map(|k| (k.len(), k.k())), Some((300, knn.k())));
    assert!(!back.uses_knn() || back.embedder().is_some());
    let mut plain = Vec::new();
    back.without_embedder().estimate(
        &PromptView::from_text("Please evaluate the integral."),
        &cands,
        &mut plain,
    );
    assert_eq!(plain.len(), 2);
}

#[test]
fn a_gated_knn_leaves_prompts_unlike_the_index_to_the_heads() {
    let ds = synthetic(300, 7);
    let mut cfg = quick_fit();
    cfg.embeddings = EmbeddingChoice::With(EmbedderHandle::new(BagOfWords));
    cfg.knn.k_grid = vec![5, 20];
    // The global choice is the one under test; candidate sets keep none of their own.
    let est = fit(&ds, &cfg).expect("fits").with_pool_bands(Vec::new());
    let knn = est.knn().expect("kNN kept").clone().with_gate(false);
    assert!(knn.blend() > 0.0);
    let pool = [Deployment::new("big"), Deployment::new("small")];
    let cands: Vec<&Deployment> = pool.iter().collect();
    let prompt = PromptView::from_text("Please evaluate the integral of x squared number 5.");
    let scores = |e: &TrainedEstimator| {
        let mut out = Vec::new();
        e.estimate(&prompt, &cands, &mut out);
        out
    };
    let heads = scores(&est.clone().without_embedder());
    let ungated = scores(&est.clone().with_knn(knn.clone()));
    assert_ne!(heads, ungated, "the kNN moves this prompt's scores");
    // No neighbour can be that similar: the gate gives the kNN no weight.
    let distrusted = knn.clone().with_gate(true).with_trust(2.0, 3.0);
    assert_eq!(distrusted.trust(1.0), 0.0);
    assert_eq!(scores(&est.clone().with_knn(distrusted.clone())), heads);
    // Every neighbour is similar enough: the gate changes nothing.
    let trusted = knn.with_gate(true).with_trust(-2.0, -1.0);
    assert_eq!(scores(&est.clone().with_knn(trusted)), ungated);
    // The ramp and the gate survive the artifact.
    let back = TrainedEstimator::from_bytes(&est.clone().with_knn(distrusted).to_bytes())
        .expect("round trip");
    let k = back.knn().expect("index kept");
    assert!(k.choice().gated);
    assert_eq!((k.trust(2.5), k.trust(3.5)), (0.5, 1.0));
}

#[test]
fn multi_model_sets_get_their_own_bands() {
    let mut rng = SplitMix(11);
    let mut text = String::new();
    for i in 0..240 {
        let hard = rng.next_f64() < 0.5;
        let p = if hard {
            "prove the theorem about primes"
        } else {
            "translate hello into french"
        };
        text.push_str(&format!(
            "{{\"id\":\"{i}\",\"task\":\"rb/x\",\"prompt\":\"{p} {}\",\"scores\":{{\"top\":1.0,\"mid\":{},\"cheap\":{}}},\
             \"costs_usd\":{{\"top\":1.0,\"mid\":0.3,\"cheap\":0.01}}}}\n",
            rng.next_u64() % 97,
            f64::from(u8::from(rng.next_f64() < 0.9)),
            if hard { 0.0 } else { 1.0 },
        ));
    }
    let ds = Dataset::from_jsonl("multi.jsonl", &text).expect("parses");
    let est = fit(&ds, &quick_fit()).expect("fits");
    assert_eq!(est.pool_bands().len(), 1, "{:?}", est.pool_bands());
    let pool = &est.pool_bands()[0];
    assert_eq!(pool.models.len(), 3);
    assert_eq!(est.bands_for(&["CHEAP", "top", "mid"]), pool.bands);
    assert_eq!(est.bands_for(&["top", "mid"]), est.bands());
    // "top" is right on every item: Quality mode's incumbent for this set.
    assert_eq!(pool.incumbent.as_deref(), Some("top"));
    assert_eq!(est.incumbent_for(&["cheap", "top", "mid"]), Some(1));
    assert_eq!(est.incumbent_for(&["top", "mid"]), None);
    let deps: Vec<Deployment> = ["top", "mid", "cheap"]
        .into_iter()
        .map(Deployment::new)
        .collect();
    let cands: Vec<&Deployment> = deps.iter().collect();
    let costs = [1.0, 0.3, 0.01];
    let mut scores = Vec::new();
    let hard = PromptView::from_text("prove the theorem about primes 5");
    let q = est
        .route(&hard, &cands, &costs, Mode::Quality, &mut scores)
        .expect("a pick");
    assert_eq!(
        q.index, 0,
        "quality keeps the incumbent on a hard prompt: {scores:?}"
    );
    let easy = PromptView::from_text("translate hello into french 5");
    let c = est
        .route(&easy, &cands, &costs, Mode::Cost, &mut scores)
        .expect("a pick");
    assert_ne!(
        c.index, 0,
        "cost mode leaves the dear model on an easy prompt: {scores:?}"
    );
    let back = TrainedEstimator::from_bytes(&est.to_bytes()).expect("round trip");
    assert_eq!(back.pool_bands(), est.pool_bands());
}
