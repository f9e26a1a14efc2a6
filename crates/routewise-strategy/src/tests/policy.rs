use crate::{AttemptFailure, FailoverPolicy, FailureKind};

#[test]
fn retryable_failures_fail_over() {
    let policy = FailoverPolicy::default();
    let retryable = [
        AttemptFailure::connect("refused"),
        AttemptFailure::timeout("read timeout"),
        AttemptFailure::status(408, "request timeout"),
        AttemptFailure::status(429, "slow down"),
        AttemptFailure::status(500, "oops"),
        AttemptFailure::status(502, "bad gateway"),
        AttemptFailure::status(503, "busy"),
        AttemptFailure::status(504, "gateway timeout"),
        AttemptFailure::status(404, "no deployment").with_code("DeploymentNotFound"),
        AttemptFailure::stream("response.failed before first delta"),
    ];
    for f in &retryable {
        assert!(policy.should_failover(f), "{f} should fail over");
        assert!(f.is_deployment_fault(), "{f} is a deployment fault");
    }
}

#[test]
fn request_failures_never_fail_over() {
    let policy = FailoverPolicy::default();
    let final_failures = [
        AttemptFailure::status(400, "bad request"),
        AttemptFailure::status(401, "unauthorised"),
        AttemptFailure::status(403, "forbidden"),
        AttemptFailure::status(422, "unprocessable"),
        AttemptFailure::content_filter("blocked"),
        AttemptFailure::status(400, "blocked").with_code("content_filter"),
        AttemptFailure::other("decode error"),
    ];
    for f in &final_failures {
        assert!(!policy.should_failover(f), "{f} must not fail over");
        assert!(!f.is_deployment_fault(), "{f} is not a deployment fault");
    }
}

#[test]
fn nothing_fails_over_after_content_was_delivered() {
    let policy = FailoverPolicy::default();
    for f in [
        AttemptFailure::stream("connection reset mid-stream"),
        AttemptFailure::timeout("idle timeout mid-stream"),
        AttemptFailure::status(503, "late error"),
    ] {
        let delivered = f.after_content();
        assert!(delivered.is_content_delivered());
        assert!(
            !policy.should_failover(&delivered),
            "{delivered} after content must not fail over"
        );
    }
}

#[test]
fn helpers_classify() {
    let f = AttemptFailure::status(429, "slow down")
        .with_retry_after(std::time::Duration::from_secs(2));
    assert!(f.is_rate_limited() && !f.is_server_error() && !f.is_not_found());
    assert_eq!(f.http_status(), Some(429));
    assert_eq!(f.retry_after(), Some(std::time::Duration::from_secs(2)));
    assert!(AttemptFailure::status(503, "").is_server_error());
    assert!(AttemptFailure::status(404, "").is_not_found());
    assert!(FailureKind::Status(418).is_client_error());
    assert_eq!(FailureKind::Status(503).to_string(), "HTTP 503");
    assert_eq!(FailureKind::Timeout.label(), "timeout");
}

#[test]
fn source_is_kept_and_not_in_debug() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    let f = AttemptFailure::connect("connect failed").with_source(io);
    let src = f.source_error().expect("source kept");
    assert!(src.downcast_ref::<std::io::Error>().is_some());
    assert!(format!("{f:?}").contains("has_source: true"));
    assert!(std::error::Error::source(&f).is_some());
}

#[test]
fn max_attempts_is_at_least_one() {
    assert_eq!(FailoverPolicy::new().with_max_attempts(0).max_attempts(), 1);
    assert_eq!(FailoverPolicy::new().with_max_attempts(3).max_attempts(), 3);
}
