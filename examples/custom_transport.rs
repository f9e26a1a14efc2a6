//! A user's own `Transport`: records every exchange (method, URL, status, timing, bytes) while
//! delegating the HTTP work to the pooled `ReqwestTransport`.
//!
//! ```text
//! cargo run --example custom_transport              # against an in-process MockFoundry
//! BASE_URL=http://127.0.0.1:8080/openai/v1 cargo run --example custom_transport   # a v1 endpoint without auth
//! ```
//!
//! The recorder logs no header values and no bodies, so credentials never reach its log.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::BodyExt;
use routewise::Client;
use routewise::transport::{ReqwestTransport, ResponseBody, Transport, TransportError, body};
use routewise::types::CreateResponse;
use routewise_testkit::MockFoundry;

/// One recorded exchange.
#[derive(Debug, Clone)]
struct Exchange {
    method: http::Method,
    uri: http::Uri,
    request_bytes: usize,
    status: Option<http::StatusCode>,
    headers_after: Duration,
    response_bytes: Arc<AtomicUsize>,
}

/// Wraps any transport and records what goes through it.
#[derive(Debug, Clone)]
struct Recording<T> {
    inner: T,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl<T> Recording<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            log: Arc::default(),
        }
    }

    fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl<T: Transport> Transport for Recording<T> {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let (method, uri, request_bytes) =
            (req.method().clone(), req.uri().clone(), req.body().len());
        let started = Instant::now();
        let result = self.inner.send(req).await;
        let response_bytes = Arc::new(AtomicUsize::new(0));
        let exchange = Exchange {
            method,
            uri,
            request_bytes,
            status: result.as_ref().ok().map(http::Response::status),
            headers_after: started.elapsed(),
            response_bytes: response_bytes.clone(),
        };
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
        // Count body bytes as they stream past, without buffering: SSE stays incremental.
        result.map(|res| {
            res.map(|b| {
                body::boxed(b.map_frame(move |frame| {
                    if let Some(data) = frame.data_ref() {
                        response_bytes.fetch_add(data.len(), Ordering::Relaxed);
                    }
                    frame
                }))
            })
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Offline by default: a MockFoundry with the seed's deployments.
    let (base_url, _mock) = match std::env::var("BASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let foundry = MockFoundry::start().await;
            foundry.with_seed_deployments();
            (foundry.openai_base_url(), Some(foundry))
        }
    };

    let recorder = Recording::new(ReqwestTransport::new());
    let client = Client::builder()
        .base_url(&base_url)
        .transport(recorder.clone())
        .build()?;

    let created = client
        .responses()
        .create(CreateResponse::new(
            "model-router",
            "Explain RAG in one sentence.",
        ))
        .await?;
    println!(
        "create  -> [{}] {}",
        created.served_model(),
        created.output_text()
    );
    let streamed = client
        .responses()
        .stream(CreateResponse::new("gpt-4.1-mini", "And in two?"))
        .await?;
    let streamed = streamed.final_response().await?;
    println!(
        "stream  -> [{}] {}",
        streamed.served_model(),
        streamed.output_text()
    );

    println!("\nrecorded traffic:");
    for x in recorder.exchanges() {
        println!(
            "  {} {} ({} B) -> {} after {:?}, {} B received",
            x.method,
            x.uri,
            x.request_bytes,
            x.status
                .map_or_else(|| "transport error".to_owned(), |s| s.to_string()),
            x.headers_after,
            x.response_bytes.load(Ordering::Relaxed),
        );
    }
    Ok(())
}
