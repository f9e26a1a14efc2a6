//! A fast mock OpenAI-compatible upstream for the gateway benchmark: `/v1/responses` answers JSON
//! or SSE after a fixed delay. Loopback only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const JSON_BODY: &str = r#"{"id":"resp_mock","object":"response","created_at":1741369938,"status":"completed","model":"mock-model","output":[{"id":"msg_mock","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Retrieval-augmented generation grounds answers in retrieved documents.","annotations":[]}]}],"usage":{"input_tokens":24,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":36}}"#;

/// The SSE body: created, in_progress, item/part added, 16 deltas, done events, completed.
fn sse_body() -> String {
    let mut out = String::new();
    let mut seq = 0;
    let mut push = |ty: &str, rest: &str| {
        out.push_str(&format!(
            "event: {ty}\ndata: {{\"type\":\"{ty}\",\"sequence_number\":{seq}{rest}}}\n\n"
        ));
        seq += 1;
    };
    let resp = r#","response":{"id":"resp_mock","object":"response","created_at":1741369938,"status":"in_progress","model":"mock-model","output":[]}"#;
    push("response.created", resp);
    push("response.in_progress", resp);
    push(
        "response.output_item.added",
        r#","output_index":0,"item":{"id":"msg_mock","type":"message","status":"in_progress","role":"assistant","content":[]}"#,
    );
    push(
        "response.content_part.added",
        r#","item_id":"msg_mock","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}"#,
    );
    for _ in 0..16 {
        push(
            "response.output_text.delta",
            r#","item_id":"msg_mock","output_index":0,"content_index":0,"delta":"word "}"#,
        );
    }
    push("response.completed", &format!(",\"response\":{JSON_BODY}"));
    out
}

/// Starts the mock on a free loopback port and returns its address.
pub(crate) async fn start(delay: Duration) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let sse = Bytes::from(sse_body());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let sse = sse.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let sse = sse.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        let resp = if path.ends_with("/models") {
                            Response::new(Full::new(Bytes::from_static(
                                br#"{"object":"list","data":[{"id":"mock-model","object":"model"}]}"#,
                            )))
                        } else if is_stream(&body) {
                            let mut r = Response::new(Full::new(sse));
                            r.headers_mut()
                                .insert("content-type", "text/event-stream".parse().unwrap());
                            r
                        } else {
                            let mut r =
                                Response::new(Full::new(Bytes::from_static(JSON_BODY.as_bytes())));
                            r.headers_mut()
                                .insert("content-type", "application/json".parse().unwrap());
                            r
                        };
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

fn is_stream(body: &[u8]) -> bool {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    has(b"\"stream\":true") || has(b"\"stream\": true")
}
