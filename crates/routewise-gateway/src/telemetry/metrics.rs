//! The counters and histograms behind `GET /metrics`.
//!
//! Every label set is known at start-up: one *target* per deployment, per router and one
//! `unknown` bucket (bad JSON, unknown `model`, refused before routing); under each target,
//! one *served* series per model it can answer with. All of them are atomics allocated here,
//! so recording a request is a handful of relaxed `fetch_add`s: no lock, no allocation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use routewise_strategy::{AttemptResult, FailureKind};

use super::exposition::Family;
use super::histogram::{DURATION_BUCKETS, Histogram, TTFT_BUCKETS};
use super::usage::Tokens;
use crate::config::Config;

/// `status_class` label values, indexed by `status / 100 - 1`.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// `kind` label values of `routewise_tokens_total`.
const TOKEN_KINDS: [&str; 4] = ["input", "output", "cached", "reasoning"];
/// The `model` label of a router request that no deployment served (refused, failed).
const NONE: &str = "none";

/// How one upstream attempt ended: the `outcome` label of `routewise_upstream_attempts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// Answered (a JSON body or a committed stream).
    Ok,
    /// The upstream answered 429.
    RateLimited,
    /// Not sent: the deployment's own `rpm`/`tpm` quota was used up.
    QuotaExceeded,
    /// No answer in time.
    Timeout,
    /// The connection could not be made.
    Connect,
    /// Another 4xx (404 for a missing deployment, 400, 401, ...).
    ClientError,
    /// A 5xx.
    ServerError,
    /// A 200 stream that failed in-band before its first delta.
    StreamFailure,
    /// Blocked by a content filter.
    ContentFilter,
    /// Anything else.
    Other,
}

impl AttemptOutcome {
    const ALL: [Self; 10] = [
        Self::Ok,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::Timeout,
        Self::Connect,
        Self::ClientError,
        Self::ServerError,
        Self::StreamFailure,
        Self::ContentFilter,
        Self::Other,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::RateLimited => "rate_limited",
            Self::QuotaExceeded => "quota_exceeded",
            Self::Timeout => "timeout",
            Self::Connect => "connect_error",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
            Self::StreamFailure => "stream_failure",
            Self::ContentFilter => "content_filter",
            Self::Other => "other",
        }
    }

    /// The outcome of a recorded attempt; `local_quota` marks one the gateway's own rate
    /// limit skipped before sending it.
    pub(crate) fn of(result: &AttemptResult, local_quota: bool) -> Self {
        let Some(kind) = result.failure_kind() else {
            return Self::Ok;
        };
        match kind {
            _ if local_quota => Self::QuotaExceeded,
            FailureKind::Status(429) => Self::RateLimited,
            FailureKind::Status(s) if (400..500).contains(&s) => Self::ClientError,
            FailureKind::Status(s) if s >= 500 => Self::ServerError,
            FailureKind::Timeout => Self::Timeout,
            FailureKind::Connect => Self::Connect,
            FailureKind::Stream => Self::StreamFailure,
            FailureKind::ContentFilter => Self::ContentFilter,
            _ => Self::Other,
        }
    }
}

/// One model a target answers with.
#[derive(Debug)]
struct Served {
    model: String,
    requests: [AtomicU64; 5],
    tokens: [AtomicU64; 4],
}

impl Served {
    fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            requests: Default::default(),
            tokens: Default::default(),
        }
    }
}

/// A deployment, a router or the unknown bucket.
#[derive(Debug)]
struct Target {
    name: String,
    served: Vec<Served>,
    /// For each deployment index, which `served` entry counts it (routers: by the
    /// deployment's model; deployments: their own; the last entry otherwise).
    served_by_deployment: Vec<usize>,
    rate_limited: AtomicU64,
    duration: Histogram,
    ttft: Histogram,
}

/// What one finished request adds to the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSample {
    /// The target index ([`Metrics::unknown`] when the model was not resolved).
    pub target: usize,
    /// The deployment index that served, if one did.
    pub deployment: Option<usize>,
    pub status: u16,
    pub duration: Duration,
    /// Streams only: time to the first content delta.
    pub ttft: Option<Duration>,
    pub tokens: Option<Tokens>,
}

/// Every counter and histogram, preallocated for the configured deployments and routers.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Deployments (config order), then routers (config order), then `unknown`.
    targets: Vec<Target>,
    /// Per deployment, per [`AttemptOutcome`].
    attempts: Vec<[AtomicU64; 10]>,
    deployment_names: HashMap<String, usize>,
    router_names: HashMap<String, usize>,
}

impl Metrics {
    pub(crate) fn new(config: &Config) -> Self {
        let deps = &config.deployments;
        let deployment_names: HashMap<String, usize> = deps
            .iter()
            .enumerate()
            .map(|(i, d)| (d.deployment.name.clone(), i))
            .collect();
        let mut targets = Vec::with_capacity(deps.len() + config.routers.len() + 1);
        for d in deps {
            // One served series: every attempt of a pinned request counts under its model.
            targets.push(Target::new(
                &d.deployment.name,
                vec![Served::new(&d.deployment.model)],
                vec![0; deps.len()],
            ));
        }
        let mut router_names = HashMap::new();
        for r in &config.routers {
            let mut served: Vec<Served> = Vec::new();
            let mut by_dep = Vec::with_capacity(deps.len());
            for d in deps {
                let model = &d.deployment.model;
                let slot = if r.models.contains(&d.deployment.name) {
                    match served.iter().position(|s| &s.model == model) {
                        Some(p) => p,
                        None => {
                            served.push(Served::new(model));
                            served.len() - 1
                        }
                    }
                } else {
                    usize::MAX
                };
                by_dep.push(slot);
            }
            served.push(Served::new(NONE));
            let none = served.len() - 1;
            for s in &mut by_dep {
                if *s == usize::MAX {
                    *s = none;
                }
            }
            router_names.insert(r.name.clone(), targets.len());
            targets.push(Target::new(&r.name, served, by_dep));
        }
        // A deployment or router really named "unknown" keeps its name; the bucket moves.
        let mut unknown = String::from("unknown");
        while targets.iter().any(|t| t.name == unknown) {
            unknown.push('_');
        }
        let by_dep = vec![0; deps.len()];
        targets.push(Target::new(&unknown, vec![Served::new("unknown")], by_dep));
        Self {
            targets,
            attempts: deps.iter().map(|_| Default::default()).collect(),
            deployment_names,
            router_names,
        }
    }

    /// The index of the unknown bucket.
    pub(crate) fn unknown(&self) -> usize {
        self.targets.len() - 1
    }

    /// A deployment's index (also its target index).
    pub(crate) fn deployment(&self, name: &str) -> Option<usize> {
        self.deployment_names.get(name).copied()
    }

    /// A router's target index.
    pub(crate) fn router(&self, name: &str) -> Option<usize> {
        self.router_names.get(name).copied()
    }

    /// A deployment's or router's target index, by name.
    pub(crate) fn target(&self, name: &str) -> Option<usize> {
        self.deployment(name).or_else(|| self.router(name))
    }

    /// The name of a target (deployment, router or the unknown bucket).
    pub(crate) fn target_name(&self, target: usize) -> &str {
        self.targets.get(target).map_or("unknown", |t| &t.name)
    }

    /// The configured model of deployment `index`.
    pub(crate) fn deployment_model(&self, index: usize) -> &str {
        self.targets
            .get(index)
            .map_or("unknown", |t| &t.served[0].model)
    }

    /// Counts a finished request.
    pub(crate) fn record(&self, s: &RequestSample) {
        let Some(t) = self.targets.get(s.target) else {
            return;
        };
        let served = s
            .deployment
            .and_then(|d| t.served_by_deployment.get(d).copied())
            .unwrap_or(t.served.len() - 1);
        let served = &t.served[served.min(t.served.len() - 1)];
        let class = usize::from((s.status / 100).clamp(1, 5)) - 1;
        served.requests[class].fetch_add(1, Ordering::Relaxed);
        if let Some(tk) = s.tokens {
            let counts = [Some(tk.input), Some(tk.output), tk.cached, tk.reasoning];
            for (slot, n) in served.tokens.iter().zip(counts) {
                if let Some(n) = n.filter(|n| *n > 0) {
                    slot.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        t.duration.observe(s.duration);
        if let Some(ttft) = s.ttft {
            t.ttft.observe(ttft);
        }
    }

    /// Counts one upstream attempt to deployment `index`.
    pub(crate) fn attempt(&self, index: usize, outcome: AttemptOutcome) {
        if let Some(a) = self.attempts.get(index) {
            let i = AttemptOutcome::ALL
                .iter()
                .position(|o| *o == outcome)
                .unwrap_or(AttemptOutcome::ALL.len() - 1);
            a[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a rate-limit refusal charged to `target` (a 429 answered, or a planned
    /// deployment skipped for quota).
    pub(crate) fn rate_limited(&self, target: usize) {
        if let Some(t) = self.targets.get(target) {
            t.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The whole exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(4096 + self.targets.len() * 4096);
        let mut f = Family::new(
            &mut out,
            "routewise_requests_total",
            "counter",
            "Responses requests answered, by requested deployment or router, served model and HTTP status class.",
        );
        for t in &self.targets {
            for s in &t.served {
                for (class, n) in STATUS_CLASSES.iter().zip(&s.requests) {
                    let labels = [
                        ("deployment", t.name.as_str()),
                        ("model", s.model.as_str()),
                        ("status_class", class),
                    ];
                    f.sample(&labels, n.load(Ordering::Relaxed));
                }
            }
        }
        let mut f = Family::new(
            &mut out,
            "routewise_tokens_total",
            "counter",
            "Tokens reported in the answers' usage, by requested deployment or router, served model and kind (cached is part of input, reasoning part of output).",
        );
        for t in &self.targets {
            for s in &t.served {
                for (kind, n) in TOKEN_KINDS.iter().zip(&s.tokens) {
                    let labels = [
                        ("deployment", t.name.as_str()),
                        ("model", s.model.as_str()),
                        ("kind", kind),
                    ];
                    f.sample(&labels, n.load(Ordering::Relaxed));
                }
            }
        }
        let mut f = Family::new(
            &mut out,
            "routewise_upstream_attempts_total",
            "counter",
            "Attempts made to each deployment, by outcome (quota_exceeded: skipped by the gateway's own rate limit).",
        );
        for (t, counts) in self.targets.iter().zip(&self.attempts) {
            for (o, n) in AttemptOutcome::ALL.iter().zip(counts) {
                let labels = [("deployment", t.name.as_str()), ("outcome", o.label())];
                f.sample(&labels, n.load(Ordering::Relaxed));
            }
        }
        let mut f = Family::new(
            &mut out,
            "routewise_rate_limited_total",
            "counter",
            "Rate-limit refusals by the deployment or router whose quota was used up (429s answered and planned deployments skipped).",
        );
        for t in &self.targets[..self.targets.len() - 1] {
            f.sample(
                &[("deployment", t.name.as_str())],
                t.rate_limited.load(Ordering::Relaxed),
            );
        }
        let mut f = Family::new(
            &mut out,
            "routewise_request_duration_seconds",
            "histogram",
            "Time from the request's arrival to the end of its answer (a stream's last event), by requested deployment or router.",
        );
        for t in &self.targets {
            f.histogram(&[("deployment", t.name.as_str())], &t.duration.snapshot());
        }
        let mut f = Family::new(
            &mut out,
            "routewise_time_to_first_token_seconds",
            "histogram",
            "Streams: time from the request's arrival to the first content delta sent, by requested deployment or router.",
        );
        for t in &self.targets {
            f.histogram(&[("deployment", t.name.as_str())], &t.ttft.snapshot());
        }
        out
    }
}

impl Target {
    fn new(name: &str, served: Vec<Served>, served_by_deployment: Vec<usize>) -> Self {
        Self {
            name: name.to_owned(),
            served,
            served_by_deployment,
            rate_limited: AtomicU64::new(0),
            duration: Histogram::new(DURATION_BUCKETS),
            ttft: Histogram::new(TTFT_BUCKETS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        let cfg = Config::from_toml_str(
            r#"
[[deployments]]
name = "east"
model = "gpt-5-mini"
upstream = { kind = "emulator" }
[[deployments]]
name = "west"
model = "gpt-5-mini"
upstream = { kind = "emulator" }
[[deployments]]
name = "unknown"
upstream = { kind = "emulator" }
[[routers]]
name = "router"
models = ["east", "west"]
estimator = "heuristic"
"#,
            "t.toml",
        )
        .unwrap();
        Metrics::new(&cfg)
    }

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        let mut hits = text.lines().filter(|l| l.starts_with(prefix));
        let hit = hits.next().unwrap_or_else(|| panic!("{prefix} in\n{text}"));
        assert!(hits.next().is_none(), "{prefix} twice");
        hit
    }

    #[test]
    fn label_sets_are_unique_and_a_router_counts_by_served_model() {
        let m = metrics();
        let router = m.router("router").unwrap();
        let west = m.deployment("west").unwrap();
        m.record(&RequestSample {
            target: router,
            deployment: Some(west),
            status: 200,
            duration: Duration::from_millis(30),
            ttft: Some(Duration::from_millis(3)),
            tokens: Some(Tokens {
                input: 10,
                output: 4,
                cached: Some(2),
                reasoning: None,
            }),
        });
        m.record(&RequestSample {
            target: router,
            deployment: None,
            status: 429,
            duration: Duration::from_millis(1),
            ttft: None,
            tokens: None,
        });
        m.record(&RequestSample {
            target: m.unknown(),
            deployment: None,
            status: 404,
            duration: Duration::from_millis(1),
            ttft: None,
            tokens: None,
        });
        m.attempt(west, AttemptOutcome::Ok);
        m.rate_limited(router);
        let text = m.render();
        // East and west serve the same model: one series for the router, not two.
        assert!(line(&text, "routewise_requests_total{deployment=\"router\",model=\"gpt-5-mini\",status_class=\"2xx\"}").ends_with(" 1"));
        assert!(line(&text, "routewise_requests_total{deployment=\"router\",model=\"none\",status_class=\"4xx\"}").ends_with(" 1"));
        // A deployment named "unknown" keeps its name; the bucket for unresolved models moves.
        assert!(line(&text, "routewise_requests_total{deployment=\"unknown_\",model=\"unknown\",status_class=\"4xx\"}").ends_with(" 1"));
        assert!(
            line(
                &text,
                "routewise_tokens_total{deployment=\"router\",model=\"gpt-5-mini\",kind=\"cached\"}"
            )
            .ends_with(" 2")
        );
        assert!(line(&text, "routewise_tokens_total{deployment=\"router\",model=\"gpt-5-mini\",kind=\"reasoning\"}").ends_with(" 0"));
        assert!(
            line(
                &text,
                "routewise_upstream_attempts_total{deployment=\"west\",outcome=\"ok\"}"
            )
            .ends_with(" 1")
        );
        assert!(line(&text, "routewise_rate_limited_total{deployment=\"router\"}").ends_with(" 1"));
        assert!(
            line(
                &text,
                "routewise_request_duration_seconds_count{deployment=\"router\"}"
            )
            .ends_with(" 2")
        );
        assert!(
            line(
                &text,
                "routewise_time_to_first_token_seconds_bucket{deployment=\"router\",le=\"0.005\"}"
            )
            .ends_with(" 1")
        );
        let mut series: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().0)
            .collect();
        let n = series.len();
        series.sort_unstable();
        series.dedup();
        assert_eq!(series.len(), n, "no series twice");
    }

    #[test]
    fn attempt_outcomes_follow_the_failure_kind() {
        let failed = |kind| AttemptResult::Failed {
            kind,
            code: None,
            message: String::new(),
            failed_over: true,
        };
        let cases = [
            (AttemptResult::Ok, false, AttemptOutcome::Ok),
            (
                failed(FailureKind::Status(429)),
                false,
                AttemptOutcome::RateLimited,
            ),
            (
                failed(FailureKind::Status(429)),
                true,
                AttemptOutcome::QuotaExceeded,
            ),
            (
                failed(FailureKind::Status(404)),
                false,
                AttemptOutcome::ClientError,
            ),
            (
                failed(FailureKind::Status(503)),
                false,
                AttemptOutcome::ServerError,
            ),
            (failed(FailureKind::Timeout), false, AttemptOutcome::Timeout),
            (failed(FailureKind::Connect), false, AttemptOutcome::Connect),
            (
                failed(FailureKind::Stream),
                false,
                AttemptOutcome::StreamFailure,
            ),
            (
                failed(FailureKind::ContentFilter),
                false,
                AttemptOutcome::ContentFilter,
            ),
        ];
        for (result, local, want) in cases {
            assert_eq!(AttemptOutcome::of(&result, local), want, "{result:?}");
        }
    }
}
