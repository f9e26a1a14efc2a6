//! `cargo xtask conformance [--specs DIR]`: the wire types against the official OpenAPI documents.
//!
//! For the Responses endpoints it takes every example in the OpenAI document (request bodies,
//! response bodies, stream frames, stream-event schema examples) and schema-derived samples of
//! every request, response, stream event, item list and error schema (cycling through every
//! `oneOf`/`anyOf` branch), parses each into `routewise-types`, serialises it again and requires
//! an equivalent JSON document. Requests we serialise are also validated against the request
//! schemas with a JSON Schema validator (no network: only local `$ref`s).

mod examples;
mod requests;
mod roundtrip;
mod sample;
mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use xshell::Shell;

use sample::Sampler;
use spec::Spec;

/// What a document should parse into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    /// `CreateResponse`.
    Request,
    /// `Response`.
    Response,
    /// `ResponseStreamEvent`.
    Event,
    /// A list whose `data` items are `InputItem`s.
    ItemList,
    /// `ErrorResponse`.
    Error,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Self::Request => "requests",
            Self::Response => "responses",
            Self::Event => "stream events",
            Self::ItemList => "item lists",
            Self::Error => "error bodies",
        }
    }
}

/// Most samples drawn from one root schema.
const SAMPLE_CAP: usize = 120;
/// Failures printed in full.
const SHOWN_FAILURES: usize = 40;

#[derive(Default)]
struct Report {
    /// (source, target) -> (checked, passed).
    counts: BTreeMap<(&'static str, Target), (usize, usize)>,
    validations: (usize, usize),
    failures: Vec<String>,
    typed_events: BTreeSet<String>,
    untyped_events: BTreeSet<String>,
    /// Spec examples and samples that do not validate against their own schema (not our failures).
    invalid_inputs: Vec<String>,
}

impl Report {
    fn record(
        &mut self,
        source: &'static str,
        target: Target,
        origin: &str,
        value: &Value,
    ) -> Option<Value> {
        let entry = self.counts.entry((source, target)).or_default();
        entry.0 += 1;
        match roundtrip::check(target, value) {
            Ok(outcome) => {
                entry.1 += 1;
                if target == Target::Event {
                    let ty = value
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned();
                    match outcome.typed_event {
                        Some(_) => self.typed_events.insert(ty),
                        None => self.untyped_events.insert(ty),
                    };
                }
                Some(outcome.value)
            }
            Err(e) => {
                self.failures.push(format!("{origin}: {e}"));
                None
            }
        }
    }

    /// Validates what we serialised, when the document we started from was itself valid (the
    /// spec's examples and our generated samples are not always); otherwise notes the defect.
    fn validate_from(
        &mut self,
        validator: &Validator,
        origin: &str,
        original: &Value,
        ours: &Value,
    ) {
        match validator.check(original) {
            Ok(()) => self.validate(validator, origin, ours),
            Err(e) => self.invalid_inputs.push(format!(
                "{origin}: itself not valid against {}: {e}",
                validator.name
            )),
        }
    }

    fn validate(&mut self, validator: &Validator, origin: &str, value: &Value) {
        self.validations.0 += 1;
        match validator.check(value) {
            Ok(()) => self.validations.1 += 1,
            Err(e) => self.failures.push(format!(
                "{origin}: not valid against {}: {e}",
                validator.name
            )),
        }
    }
}

struct Validator {
    name: String,
    inner: jsonschema::Validator,
}

impl Validator {
    fn new(spec: &Spec, name: &str) -> Result<Self> {
        let document = spec.validation_document(name);
        let inner = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&document)
            .map_err(|e| anyhow::anyhow!("compiling schema {name}: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            inner,
        })
    }

    fn check(&self, value: &Value) -> Result<(), String> {
        let errors: Vec<String> = self
            .inner
            .iter_errors(value)
            .take(3)
            .map(|e| format!("{} at `{}`", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

pub(crate) fn run(_sh: &Shell, args: &[String]) -> Result<()> {
    let dir = match crate::flag_value(args, "--specs") {
        Some(dir) if !PathBuf::from(dir).join("openai-openapi.yaml").is_file() => {
            bail!("conformance: --specs {dir} has no openai-openapi.yaml")
        }
        Some(dir) => PathBuf::from(dir),
        None => match crate::shared_dir() {
            Some(shared) => shared.join("specs"),
            None => {
                println!(
                    "conformance: SKIPPED: the shared folder (../shared, or $ROUTEWISE_SHARED) is not there, \
                     so there are no OpenAPI documents to check against; pass --specs DIR to point at them"
                );
                return Ok(());
            }
        },
    };
    if !dir.join("openai-openapi.yaml").is_file() {
        println!(
            "conformance: SKIPPED: {} has no openai-openapi.yaml; pass --specs DIR to point at the OpenAPI documents",
            dir.display()
        );
        return Ok(());
    }
    let started = Instant::now();
    let spec =
        Spec::load(&dir).with_context(|| format!("loading the specs in {}", dir.display()))?;
    println!(
        "conformance: OpenAI OpenAPI {} from {}{}",
        spec.openai_version,
        dir.display(),
        if spec.has_azure {
            " + Azure v1 Responses extract"
        } else {
            " (Azure extract not found: OpenAI only)"
        }
    );

    let mut report = Report::default();
    let (ops, not_modelled) = examples::operations(&spec);

    let request_schemas: BTreeSet<String> = ops
        .iter()
        .filter_map(|o| o.request.clone())
        .chain(spec.has_azure.then(|| "AzureCreateResponse".to_owned()))
        .collect();
    let validators: Vec<Validator> = request_schemas
        .iter()
        .map(|name| Validator::new(&spec, name))
        .collect::<Result<_>>()?;

    // 1. The examples of the document.
    let (found, mut broken) = examples::collect(&ops);
    let stream_unions: BTreeSet<String> = ops.iter().filter_map(|o| o.stream.clone()).collect();
    let mut all_examples = found;
    for union in &stream_unions {
        let (found, bad) = examples::event_schema_examples(&spec, union);
        all_examples.extend(found);
        broken.extend(bad);
    }
    for example in &all_examples {
        let back = report.record("example", example.target, &example.origin, &example.value);
        if example.target == Target::Request
            && let Some(back) = back
        {
            for validator in &validators {
                report.validate_from(validator, &example.origin, &example.value, &back);
            }
        }
    }

    // 2. Schema-derived samples.
    let mut sampler = Sampler::new(&spec);
    let mut roots: Vec<(String, Target)> = Vec::new();
    for name in &request_schemas {
        roots.push((name.clone(), Target::Request));
    }
    let mut response_roots: BTreeSet<(String, Target)> =
        ops.iter().filter_map(|o| o.response.clone()).collect();
    if spec.has_azure {
        response_roots.insert(("AzureResponse".to_owned(), Target::Response));
        response_roots.insert(("AzureErrorResponse".to_owned(), Target::Error));
    }
    if spec.schema("ErrorResponse").is_some() {
        response_roots.insert(("ErrorResponse".to_owned(), Target::Error));
    }
    roots.extend(response_roots);
    for union in &stream_unions {
        for member in examples::union_members(&spec, union) {
            roots.push((member, Target::Event));
        }
    }
    for (name, target) in &roots {
        let Some(schema) = spec.schema(name) else {
            report
                .failures
                .push(format!("schema {name} is missing from the document"));
            continue;
        };
        let samples = sampler.samples(schema, SAMPLE_CAP);
        let own_validator = validators.iter().find(|v| &v.name == name);
        for (i, sample) in samples.iter().enumerate() {
            let origin = format!("sample {i} of {name}");
            let back = report.record("sample", *target, &origin, sample);
            // A generated request that is itself valid must stay valid once we re-serialise it.
            if let (Some(back), Some(validator)) = (back, own_validator) {
                report.validate_from(validator, &origin, sample, &back);
            }
        }
    }

    // 3. Requests built with our own constructors.
    for (name, request) in requests::built() {
        let origin = format!("built request `{name}`");
        report.record("built", Target::Request, &origin, &request);
        for validator in &validators {
            report.validate(validator, &origin, &request);
        }
    }

    print_report(&report, &sampler, &not_modelled, &broken, started);
    let failed = report.failures.len();
    if failed > 0 {
        bail!("conformance: {failed} check(s) failed");
    }
    Ok(())
}

fn print_report(
    report: &Report,
    sampler: &Sampler<'_>,
    not_modelled: &[String],
    broken: &[String],
    started: Instant,
) {
    let mut per_target: BTreeMap<Target, (usize, usize)> = BTreeMap::new();
    for ((source, target), (checked, passed)) in &report.counts {
        println!(
            "  {source:<8} {:<14} {passed}/{checked} round-trip",
            target.label()
        );
        let entry = per_target.entry(*target).or_default();
        entry.0 += checked;
        entry.1 += passed;
    }
    let (examples_checked, examples_passed) = report
        .counts
        .iter()
        .filter(|((source, _), _)| *source == "example")
        .fold((0, 0), |(c, p), (_, (checked, passed))| {
            (c + checked, p + passed)
        });
    let (covered, branches) = sampler.coverage();
    println!(
        "  request schema validation: {}/{} valid",
        report.validations.1, report.validations.0
    );
    println!("  union branches covered by samples: {covered}/{branches}");
    println!(
        "  stream event types: {} typed ({}), {} kept verbatim as Unknown ({})",
        report.typed_events.len(),
        join(&report.typed_events),
        report.untyped_events.len(),
        join(&report.untyped_events)
    );
    for skipped in not_modelled {
        println!("  not checked: {skipped}");
    }
    for problem in broken {
        println!("  spec defect, not JSON so not checked: {problem}");
    }
    let mut invalid_samples = report
        .invalid_inputs
        .iter()
        .filter(|n| n.starts_with("sample"));
    if let Some(first) = invalid_samples.next() {
        println!(
            "  {} schema samples are not valid against their own schema, so only their round trip is checked (first: {first})",
            1 + invalid_samples.count()
        );
    }
    for note in report
        .invalid_inputs
        .iter()
        .filter(|n| !n.starts_with("sample"))
    {
        println!("  spec defect, example not valid against its own schema: {note}");
    }
    for failure in report.failures.iter().take(SHOWN_FAILURES) {
        println!("  FAIL {failure}");
    }
    if report.failures.len() > SHOWN_FAILURES {
        println!(
            "  ... and {} more failures",
            report.failures.len() - SHOWN_FAILURES
        );
    }
    let pct = if examples_checked == 0 {
        100.0
    } else {
        100.0 * examples_passed as f64 / examples_checked as f64
    };
    println!(
        "conformance: spec examples {examples_passed}/{examples_checked} passed ({pct:.1}%); {} more are not JSON (listed above)",
        broken.len()
    );
    let count = |t: Target| per_target.get(&t).map_or(0, |c| c.0);
    let checked: usize = per_target.values().map(|c| c.0).sum::<usize>() + report.validations.0;
    let passed: usize = per_target.values().map(|c| c.1).sum::<usize>() + report.validations.1;
    println!(
        "conformance: {checked} checked, {passed} passed (requests {}, responses {}, stream events {}, item lists {}, error bodies {}, schema validations {}) in {:.1}s",
        count(Target::Request),
        count(Target::Response),
        count(Target::Event),
        count(Target::ItemList),
        count(Target::Error),
        report.validations.0,
        started.elapsed().as_secs_f64()
    );
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}
