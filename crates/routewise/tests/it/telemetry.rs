//! Spans follow the OpenTelemetry gen_ai conventions, and secrets appear neither in captured
//! logs nor in `Debug` output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use routewise::{Client, ProjectClient};
use routewise_auth::{ApiKey, StaticBearer};
use routewise_testkit::MockFoundry;
use routewise_types::CreateResponse;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

const SECRET: &str = "sk-very-secret-0123456789";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn subscriber(capture: &Capture) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish()
}

#[tokio::test]
async fn create_span_carries_gen_ai_fields_and_no_secret() {
    let foundry = MockFoundry::start().await;
    foundry.with_seed_deployments().require_api_key(SECRET);
    let capture = Capture::default();
    crate::support::share_callsite_interest();
    let _guard = tracing::subscriber::set_default(subscriber(&capture));

    let client = crate::support::builder(&foundry.openai_base_url())
        .credential(ApiKey::new(SECRET))
        .build()
        .unwrap();
    crate::support::create(&client, "model-router", "Explain RAG.")
        .await
        .unwrap();
    let stream = client
        .responses()
        .stream(CreateResponse::new("gpt-4o", "Explain RAG."))
        .await
        .unwrap();
    stream.final_response().await.unwrap();
    let failing = crate::support::builder(&foundry.openai_base_url())
        .credential(ApiKey::new("wrong-key-123"))
        .build()
        .unwrap();
    crate::support::create(&failing, "gpt-4o", "x")
        .await
        .unwrap_err();

    let logs = capture.text();
    for field in [
        "gen_ai.operation.name=\"chat\"",
        "gen_ai.request.model=\"model-router\"",
        "gen_ai.response.model=\"gpt-",
        "gen_ai.usage.input_tokens=",
        "gen_ai.usage.output_tokens=",
        "routewise.latency_ms=",
        "routewise.request_id=",
        "routewise.strategy=\"pinned\"",
        "otel.name=\"responses.stream\"",
        "http.response.status_code=401",
    ] {
        assert!(logs.contains(field), "missing {field} in:\n{logs}");
    }
    assert!(!logs.contains(SECRET), "secret leaked into logs:\n{logs}");
    assert!(
        !logs.contains("wrong-key-123"),
        "secret leaked into logs:\n{logs}"
    );
    assert!(!logs.contains("Explain RAG"), "prompts are not logged");
}

#[test]
fn debug_output_has_no_secret() {
    let client = Client::builder()
        .openai()
        .credential(ApiKey::bearer(SECRET))
        .default_header("x-custom-secret", SECRET)
        .build()
        .unwrap();
    let builder = Client::builder().openai().credential(ApiKey::new(SECRET));
    let project = ProjectClient::new(
        "https://r.services.ai.azure.com/api/projects/p",
        StaticBearer::new(SECRET),
    )
    .unwrap();
    for text in [
        format!("{client:?}"),
        format!("{builder:?}"),
        format!("{project:?}"),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
    assert!(
        format!("{client:?}").contains("x-custom-secret"),
        "header names are shown"
    );
}

/// A key or token passed as a default header is as secret as the credential's own header:
/// its value goes out marked sensitive, so `http`'s `Debug` (and any log of it) hides it.
#[tokio::test]
async fn credential_like_default_headers_are_sent_as_sensitive() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut transport = crate::support::MockTransport::new();
    transport.expect_send().returning(move |req| {
        log.lock().unwrap().extend(
            req.headers()
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.is_sensitive())),
        );
        Ok(crate::support::json_response(
            200,
            r#"{"id":"resp_1","object":"response","status":"completed","output":[]}"#,
        ))
    });
    let client = Client::builder()
        .base_url("https://res.openai.azure.com/openai/v1")
        .transport(transport)
        .default_header("Ocp-Apim-Subscription-Key", SECRET)
        .default_header("x-upstream-token", SECRET)
        .default_header("x-ms-client-request-id", "trace-1")
        .build()
        .unwrap();
    crate::support::create(&client, "gpt-4o", "hi")
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let sensitive = |name: &str| seen.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
    assert_eq!(sensitive("ocp-apim-subscription-key"), Some(true));
    assert_eq!(sensitive("x-upstream-token"), Some(true));
    assert_eq!(sensitive("x-ms-client-request-id"), Some(false));
}
