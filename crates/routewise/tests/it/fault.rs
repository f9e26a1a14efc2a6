//! The issue 4 fault test: 1,000 streamed requests through `Fallback` over three scripted
//! deployments. The first fails 30% of its requests with 503 and 10% in-band (a 200 stream
//! with `response.failed` + `error` before any content); the second times out 20% of the time;
//! the third always answers. Every request must get exactly one complete answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::scripted::{Reply, ScriptedServer};
use futures_util::StreamExt;
use routewise_strategy::{AttemptResult, FailureKind, Fallback};
use routewise_testkit::fixtures::{ResponseFixture, sse_body};
use routewise_types::CreateResponse;

const REQUESTS: usize = 1_000;
const CONCURRENCY: usize = 50;

/// Server-side bookkeeping: arrivals per deployment, and completed answers per request id.
#[derive(Default)]
struct Ledger {
    arrivals: HashMap<String, AtomicUsize>,
    completed: Mutex<HashMap<String, usize>>,
}

fn script(ledger: &Ledger, seen: &crate::support::scripted::Seen) -> Reply {
    let model = seen.model().to_owned();
    let prompt = seen.body["input"].as_str().unwrap_or_default().to_owned();
    let k = ledger
        .arrivals
        .get(&model)
        .map_or(0, |n| n.fetch_add(1, Ordering::SeqCst));
    let fixture = ResponseFixture::new(format!("resp_{prompt}_{model}"), format!("{model}-served"));
    match (model.as_str(), k % 10) {
        ("first", 0..=2) => Reply::json(
            503,
            r#"{"error":{"code":"ServiceUnavailable","message":"busy"}}"#,
        ),
        ("first", 3) => Reply::sse(sse_body(
            fixture.failed_stream_events("server_error", "model crashed"),
        )),
        ("second", 0 | 5) => Reply::Hang(Duration::from_secs(5)),
        _ => {
            *ledger
                .completed
                .lock()
                .unwrap()
                .entry(prompt.clone())
                .or_default() += 1;
            Reply::sse(
                fixture
                    .text(format!("answer to {prompt} from {model}"))
                    .usage(5, 6)
                    .sse(),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_requests_through_fallback_each_get_exactly_one_answer() {
    let ledger = Arc::new(Ledger {
        arrivals: ["first", "second", "third"]
            .iter()
            .map(|d| ((*d).to_owned(), AtomicUsize::new(0)))
            .collect(),
        completed: Mutex::default(),
    });
    let server_ledger = ledger.clone();
    let server = ScriptedServer::start(move |seen| script(&server_ledger, seen)).await;
    let client = crate::support::builder(&server.uri())
        .max_retries(0)
        // Far above a healthy answer's latency even on a loaded 2-core CI box, far below the hang.
        .response_header_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .with_strategy(
            Fallback::new(["first", "second", "third"]).with_cooldown(Duration::from_millis(20)),
        );

    let started = std::time::Instant::now();
    let results: Vec<_> = futures_util::stream::iter(0..REQUESTS)
        .map(|i| {
            let client = client.clone();
            async move {
                let id = format!("req-{i}");
                let stream = client
                    .responses()
                    .stream(CreateResponse::new("fallback", id.clone()))
                    .await?;
                let response = stream.final_response().await?;
                Ok::<_, routewise::Error>((id, response))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut served_by: HashMap<String, usize> = HashMap::new();
    let mut failures: HashMap<(String, String), usize> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for result in &results {
        let (id, response) = match result {
            Ok(ok) => ok,
            Err(err) => panic!(
                "a request got no answer: {err} ({:?})",
                err.route_decision()
            ),
        };
        assert!(ids.insert(id.clone()), "{id} answered twice");
        let deployment = response.decision().deployment.clone().expect("served");
        assert_eq!(
            response.output_text(),
            format!("answer to {id} from {deployment}"),
            "one complete answer, for this request"
        );
        assert_eq!(response.served_model(), format!("{deployment}-served"));
        for attempt in &response.decision().attempts {
            if let AttemptResult::Failed {
                kind, failed_over, ..
            } = &attempt.result
            {
                assert!(failed_over, "every failure before the answer failed over");
                let kind = match kind {
                    FailureKind::Status(s) => format!("HTTP {s}"),
                    other => other.label().to_owned(),
                };
                *failures
                    .entry((attempt.deployment.clone(), kind))
                    .or_default() += 1;
            }
        }
        *served_by.entry(deployment).or_default() += 1;
    }
    assert_eq!(ids.len(), REQUESTS, "none lost");

    let completed = ledger.completed.lock().unwrap();
    assert_eq!(
        completed.len(),
        REQUESTS,
        "the server completed an answer for every request"
    );
    assert!(
        completed.values().all(|n| *n == 1),
        "no request was answered twice by the servers"
    );
    let arrivals: HashMap<&str, usize> = ledger
        .arrivals
        .iter()
        .map(|(d, n)| (d.as_str(), n.load(Ordering::SeqCst)))
        .collect();

    println!("fault test: {REQUESTS} requests in {elapsed:?} ({CONCURRENCY} concurrent)");
    println!("  server arrivals: {arrivals:?}");
    println!("  served by: {served_by:?}");
    let mut failures: Vec<_> = failures.into_iter().collect();
    failures.sort();
    for ((deployment, kind), n) in &failures {
        println!("  failed over from {deployment}: {kind} x{n}");
    }
    let count = |d: &str, k: &str| {
        failures
            .iter()
            .find(|((dd, kk), _)| dd == d && kk == k)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(
        count("first", "HTTP 503")
            + count("first", "stream")
            + served_by.get("first").copied().unwrap_or(0),
        arrivals["first"]
    );
    assert!(
        count("first", "HTTP 503") > 0
            && count("first", "stream") > 0
            && count("second", "timeout") > 0
    );
    assert_eq!(
        count("second", "timeout") + served_by.get("second").copied().unwrap_or(0),
        arrivals["second"]
    );
    assert_eq!(served_by.values().sum::<usize>(), REQUESTS);
}
