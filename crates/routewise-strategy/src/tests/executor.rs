use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{
    AttemptFailure, AttemptResult, AttemptSuccess, CandidateScore, Clock, ExecError,
    FailoverPolicy, FailureKind, ManualClock, MockStrategy, PlannedAttempt, RoutePlan, ScoreKind,
    execute, execute_with,
};

type Seen = Arc<Mutex<Vec<(String, Result<(), FailureKind>, Duration)>>>;

/// A mock strategy that records every observed outcome.
fn recording_strategy() -> (MockStrategy, Seen) {
    let seen: Seen = Arc::default();
    let mut mock = MockStrategy::new();
    mock.expect_name().return_const("mock".to_owned());
    let sink = Arc::clone(&seen);
    mock.expect_observe().returning(move |o| {
        sink.lock().unwrap().push((
            o.deployment.to_owned(),
            o.result.map_err(|f| f.kind()),
            o.latency,
        ));
    });
    (mock, seen)
}

fn plan_of(names: &[&str]) -> RoutePlan {
    RoutePlan::new(names.iter().map(|n| PlannedAttempt::named(*n)).collect()).with_candidates(
        ScoreKind::Rank,
        names.iter().map(|n| CandidateScore::new(*n, 1.0)).collect(),
    )
}

/// Each deployment answers with a scripted result; returns the call order too.
async fn run(
    strategy: &MockStrategy,
    names: &[&str],
    script: impl Fn(&str) -> Result<AttemptSuccess<String>, AttemptFailure>,
) -> (Result<crate::Routed<String>, ExecError>, Vec<String>) {
    let calls = Mutex::new(Vec::new());
    let result = execute(strategy, plan_of(names), |a| {
        calls.lock().unwrap().push(a.deployment.clone());
        let r = script(&a.deployment);
        async move { r }
    })
    .await;
    (result, calls.into_inner().unwrap())
}

#[tokio::test]
async fn fails_over_on_retryable_failures_and_records_the_decision() {
    let (mock, seen) = recording_strategy();
    let (result, calls) = run(&mock, &["a", "b", "c", "d"], |d| match d {
        "a" => Err(AttemptFailure::status(503, "busy")),
        "b" => Err(AttemptFailure::stream("failed before first delta")),
        "c" => Ok(AttemptSuccess::new("answer".to_owned())
            .with_served_model("gpt-4.1-mini-2025-04-14")
            .with_usage(10, 5)),
        _ => unreachable!("d must not be tried"),
    })
    .await;
    assert_eq!(calls, ["a", "b", "c"]);
    let routed = result.unwrap();
    assert_eq!(routed.value, "answer");
    let d = &routed.decision;
    assert_eq!(d.strategy, "mock");
    assert_eq!(d.deployment.as_deref(), Some("c"));
    assert_eq!(d.served_model.as_deref(), Some("gpt-4.1-mini-2025-04-14"));
    assert_eq!(d.candidates.len(), 4);
    assert_eq!(d.attempts.len(), 3);
    assert_eq!(
        d.attempts[0].result.failure_kind(),
        Some(FailureKind::Status(503))
    );
    assert!(matches!(
        d.attempts[0].result,
        AttemptResult::Failed {
            failed_over: true,
            ..
        }
    ));
    assert_eq!(
        d.attempts[1].result.failure_kind(),
        Some(FailureKind::Stream)
    );
    assert!(d.attempts[2].result.is_ok());
    assert_eq!(d.failures().count(), 2);

    let seen = seen.lock().unwrap();
    let kinds: Vec<_> = seen.iter().map(|(n, r, _)| (n.as_str(), *r)).collect();
    assert_eq!(
        kinds,
        [
            ("a", Err(FailureKind::Status(503))),
            ("b", Err(FailureKind::Stream)),
            ("c", Ok(()))
        ]
    );
}

#[tokio::test]
async fn never_fails_over_on_request_faults() {
    for failure in [
        AttemptFailure::status(400, "bad"),
        AttemptFailure::status(401, "who"),
        AttemptFailure::status(403, "no"),
        AttemptFailure::content_filter("blocked"),
    ] {
        let (mock, seen) = recording_strategy();
        let f = failure.clone();
        let (result, calls) = run(&mock, &["a", "b"], move |_| Err(f.clone())).await;
        assert_eq!(calls, ["a"], "{failure}");
        let err = result.unwrap_err();
        assert!(err.is_final(), "{failure}");
        assert_eq!(err.failure().unwrap().kind(), failure.kind());
        assert!(matches!(
            err.decision().attempts[0].result,
            AttemptResult::Failed {
                failed_over: false,
                ..
            }
        ));
        assert_eq!(err.decision().deployment, None);
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "the failure is still observed"
        );
    }
}

#[tokio::test]
async fn never_fails_over_after_the_first_delta() {
    let (mock, _) = recording_strategy();
    let (result, calls) = run(&mock, &["a", "b"], |_| {
        Err(AttemptFailure::stream("reset mid-stream").after_content())
    })
    .await;
    assert_eq!(calls, ["a"]);
    let err = result.unwrap_err();
    assert!(err.is_final());
    assert!(err.failure().unwrap().is_content_delivered());
}

#[tokio::test]
async fn returns_the_last_failure_when_exhausted() {
    let (mock, seen) = recording_strategy();
    let (result, calls) = run(&mock, &["a", "b"], |d| {
        Err(if d == "a" {
            AttemptFailure::timeout("slow")
        } else {
            AttemptFailure::status(429, "quota")
        })
    })
    .await;
    assert_eq!(calls, ["a", "b"]);
    let err = result.unwrap_err();
    assert!(err.is_exhausted());
    assert!(err.failure().unwrap().is_rate_limited());
    let (last, decision) = err.into_parts();
    assert!(last.is_some());
    assert_eq!(decision.attempts.len(), 2);
    assert!(matches!(
        decision.attempts[1].result,
        AttemptResult::Failed {
            failed_over: false,
            ..
        }
    ));
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn empty_plan_is_an_error_with_a_decision() {
    let (mock, _) = recording_strategy();
    let err = execute::<(), _, _>(&mock, RoutePlan::default(), |_| async {
        Ok(AttemptSuccess::new(()))
    })
    .await
    .unwrap_err();
    assert!(err.is_empty_plan());
    assert!(err.failure().is_none());
    assert_eq!(err.decision().strategy, "mock");
}

#[tokio::test]
async fn max_attempts_caps_failover() {
    let (mock, _) = recording_strategy();
    let calls = Mutex::new(0);
    let err = execute_with(
        &mock,
        plan_of(&["a", "b", "c"]),
        &FailoverPolicy::new().with_max_attempts(2),
        &crate::SystemClock,
        |_| {
            *calls.lock().unwrap() += 1;
            async { Err::<AttemptSuccess<()>, _>(AttemptFailure::status(503, "busy")) }
        },
    )
    .await
    .unwrap_err();
    assert_eq!(*calls.lock().unwrap(), 2);
    assert!(err.is_exhausted());
}

#[tokio::test]
async fn latency_comes_from_the_injected_clock() {
    let (mock, seen) = recording_strategy();
    let clock = ManualClock::new();
    let c = clock.clone();
    let routed = execute_with(
        &mock,
        plan_of(&["a"]),
        &FailoverPolicy::default(),
        &clock,
        move |_| {
            c.advance(Duration::from_millis(250));
            async { Ok(AttemptSuccess::new(1)) }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        routed.decision.attempts[0].latency,
        Duration::from_millis(250)
    );
    assert_eq!(seen.lock().unwrap()[0].2, Duration::from_millis(250));
    let json = serde_json::to_value(&routed.decision).unwrap();
    assert_eq!(json["attempts"][0]["latency_ms"], 250.0);
    assert_eq!(json["attempts"][0]["result"]["status"], "ok");
    let _ = clock.now();
}

#[test]
fn decision_round_trips_through_json() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (mock, _) = recording_strategy();
    let (result, _) = rt.block_on(run(&mock, &["a", "b"], |d| {
        if d == "a" {
            Err(AttemptFailure::status(503, "busy").with_code("ServiceUnavailable"))
        } else {
            Ok(AttemptSuccess::new(String::new()))
        }
    }));
    let decision = result.unwrap().decision;
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(
        json["attempts"][0]["result"]["kind"],
        serde_json::json!({"status": 503})
    );
    assert_eq!(json["attempts"][0]["result"]["code"], "ServiceUnavailable");
    let back: crate::RouteDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, decision);
}
