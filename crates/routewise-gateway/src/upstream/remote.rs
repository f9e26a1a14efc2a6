//! Azure OpenAI / Foundry, OpenAI and OpenAI-compatible upstreams over `routewise-transport`.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use routewise_auth::SharedCredential;
use routewise_strategy::AttemptFailure;
use routewise_transport::sse::SseStream;
use routewise_transport::{SharedTransport, TransportError, parse_retry_after};
use serde::Deserialize;

use super::{EventStream, SseEvent, Upstream, UpstreamReply, UpstreamRequest, status_failure};

/// The header an Azure key travels in.
const API_KEY: &str = "api-key";

/// Largest error body read from an upstream.
const MAX_ERROR_BODY: usize = 1 << 20;
/// Largest non-streamed response body read from an upstream.
const MAX_RESPONSE_BODY: usize = 64 << 20;
/// The longest an upstream credential may take to produce a token (as the client's default).
const TOKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One HTTP upstream endpoint: `POST {url}` with a credential.
#[derive(Debug, Clone)]
pub(crate) struct HttpUpstream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    url: http::Uri,
    transport: SharedTransport,
    credential: Option<SharedCredential>,
}

impl HttpUpstream {
    /// `responses_url` is the full `…/responses` URL.
    pub(crate) fn new(
        responses_url: http::Uri,
        transport: SharedTransport,
        credential: Option<SharedCredential>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                url: responses_url,
                transport,
                credential,
            }),
        }
    }
}

impl Upstream for HttpUpstream {
    fn send(&self, req: UpstreamRequest) -> BoxFuture<'_, Result<UpstreamReply, AttemptFailure>> {
        self.inner.send(req).boxed()
    }
}

impl Inner {
    async fn send(&self, req: UpstreamRequest) -> Result<UpstreamReply, AttemptFailure> {
        let stream = req.body.is_stream();
        let body = serde_json::to_vec(&req.body)
            .map_err(|e| AttemptFailure::other(format!("cannot encode the request: {e}")))?;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .header(
                header::ACCEPT,
                HeaderValue::from_static(if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }),
            )
            .body(Bytes::from(body))
            .map_err(|e| AttemptFailure::other(format!("cannot build the request: {e}")))?;
        if let Some(cred) = &self.credential {
            // azure_identity bounds neither its `az` subprocess nor IMDS: a hung credential
            // must fail this attempt (and fail over), not hold the caller forever.
            routewise_auth::authorize_within(cred.as_ref(), request.headers_mut(), TOKEN_TIMEOUT)
                .await
                .map_err(|e| AttemptFailure::other(format!("upstream credential failed: {e}")))?;
        }
        // The credential headers sent: masked in an error body that echoes them, and the
        // token told to a credential that caches one when it is refused, so a refusal drops
        // that token and not one fetched since by another request.
        let sent = match &self.credential {
            Some(_) => [
                request.headers().get(header::AUTHORIZATION).cloned(),
                request.headers().get(API_KEY).cloned(),
            ],
            None => [None, None],
        };
        let response = self
            .transport
            .send(request)
            .await
            .map_err(transport_failure)?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED
            && let Some(cred) = &self.credential
        {
            // A revoked or expired token must not be served again from the cache: the next
            // attempt (failover or the caller's retry) fetches a fresh one.
            match sent[0].as_ref().filter(|_| cred.refreshes()) {
                Some(token) => {
                    let mut refused = http::HeaderMap::with_capacity(1);
                    refused.insert(header::AUTHORIZATION, token.clone());
                    cred.on_refused(&refused).await;
                }
                None => cred.on_unauthorized().await,
            }
        }
        if !status.is_success() {
            let retry_after = parse_retry_after(response.headers());
            let (parts, body) = response.into_parts();
            // The start of an oversized or broken error body still says what went wrong.
            let body = routewise_transport::body::collect_prefix(body, MAX_ERROR_BODY).await;
            // The body goes to the client, passed on or quoted: never with our credential.
            let body = super::scrub::scrub_credentials(body, &sent);
            return Err(status_failure(status, body, retry_after, &parts.headers));
        }
        let is_sse = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if stream && is_sse {
            let live = req.liveness;
            // Every chunk counts as a sign of life, keep-alive comments included (the
            // decoder drops those, so the events alone cannot tell).
            let body = response.into_body().map_frame(move |frame| {
                live.touch();
                frame
            });
            let events = SseStream::new(body).filter_map(|item| async move {
                match item {
                    Ok(ev) if ev.data.is_empty() || ev.is_done() => None,
                    Ok(ev) => Some(convert(ev)),
                    Err(e) if e.is_timeout() => {
                        Some(Err(AttemptFailure::timeout(crate::sse::WENT_IDLE)))
                    }
                    Err(e) => Some(Err(AttemptFailure::stream(format!(
                        "upstream stream broke: {e}"
                    )))),
                }
            });
            let events: EventStream = Box::pin(events);
            return Ok(UpstreamReply::Stream(events));
        }
        let body =
            routewise_transport::body::collect_limited(response.into_body(), MAX_RESPONSE_BODY)
                .await
                .map_err(|e| AttemptFailure::stream(format!("upstream body broke: {e}")))?;
        if stream {
            // Asked for a stream, got JSON (a server that ignores `stream`): the response is
            // told as the events that would have carried it.
            let events = super::synthetic::events(&body).ok_or_else(|| {
                AttemptFailure::stream(
                    "the upstream answered a stream request with a body that is neither an \
                     event stream nor a response object",
                )
            })?;
            let events: EventStream =
                Box::pin(futures_util::stream::iter(events.into_iter().map(Ok)));
            return Ok(UpstreamReply::Stream(events));
        }
        // Passed on unparsed when the gateway has nothing to add, so it is checked here: a
        // client must never get a 200 it cannot read, and another deployment may answer.
        // `from_slice` skips the strings of ignored fields without checking their UTF-8.
        if !std::str::from_utf8(&body).is_ok_and(is_json_object) {
            return Err(AttemptFailure::stream(
                "the upstream answered 200 with a body that is not a JSON object",
            ));
        }
        Ok(UpstreamReply::Json(body))
    }
}

/// Whether `text` is one JSON object. `IgnoredAny` is the cheapest full check serde_json has
/// (about 20 % under a struct that matches keys); any other value starts with something else.
fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// An event's `type`, when its `event:` line does not say it; parsing it also checks that the
/// whole text is one JSON object (serde skips the other fields but still reads them).
#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(borrow, rename = "type", default)]
    ty: Option<std::borrow::Cow<'a, str>>,
}

/// Keeps the data bytes as they came; the `type` comes from `event:` or, failing that, `data`.
/// An event whose data is not a JSON object fails the stream: passed on, it would break the
/// client's parser instead.
fn convert(ev: routewise_transport::sse::SseEvent) -> Result<SseEvent, AttemptFailure> {
    let broken =
        || AttemptFailure::stream("upstream stream broke: an event's data is not a JSON object");
    let ty = match ev.event {
        Some(name) if !name.is_empty() && name != "message" => {
            if !is_json_object(&ev.data) {
                return Err(broken());
            }
            name
        }
        // The type is read from the data, which `TypeOnly` also checks; a derived struct reads
        // an array too, hence the brace.
        _ => serde_json::from_str::<TypeOnly<'_>>(&ev.data)
            .ok()
            .filter(|_| ev.data.trim_start().starts_with('{'))
            .ok_or_else(broken)?
            .ty
            .map_or_else(|| "message".to_owned(), std::borrow::Cow::into_owned),
    };
    Ok(SseEvent {
        ty,
        data: Bytes::from(ev.data),
    })
}

fn transport_failure(e: TransportError) -> AttemptFailure {
    if e.is_timeout() {
        AttemptFailure::timeout(format!("upstream timed out: {e}"))
    } else if e.is_connect() {
        AttemptFailure::connect(format!("cannot reach the upstream: {e}"))
    } else {
        AttemptFailure::stream(format!("upstream transport failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use routewise_auth::MockCredential;
    use routewise_testkit::MockFoundry;
    use routewise_transport::ReqwestTransport;
    use routewise_types::CreateResponse;

    use super::*;

    fn upstream(foundry: &MockFoundry, cred: MockCredential) -> HttpUpstream {
        HttpUpstream::new(
            foundry.responses_url().parse().unwrap(),
            Arc::new(ReqwestTransport::new()),
            Some(Arc::new(cred)),
        )
    }

    fn request() -> UpstreamRequest {
        UpstreamRequest {
            body: Box::new(CreateResponse::new("gpt-4o", "Hello")),
            liveness: crate::upstream::Liveness::default(),
        }
    }

    fn sending(key: &'static str) -> MockCredential {
        let mut cred = MockCredential::new();
        cred.expect_authorize().returning(move |h| {
            h.insert("api-key", HeaderValue::from_static(key));
            Ok(())
        });
        cred
    }

    #[tokio::test]
    async fn a_401_tells_the_credential_to_drop_its_token() {
        let foundry = MockFoundry::start().await;
        foundry.with_seed_deployments().require_api_key("right");
        let mut cred = sending("stale");
        cred.expect_refreshes().return_const(false);
        cred.expect_on_unauthorized().times(1).return_const(());
        let err = upstream(&foundry, cred).send(request()).await.unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
    }

    /// A caching credential is told which token was refused, so it keeps one fetched since.
    #[tokio::test]
    async fn a_401_names_the_refused_token_to_a_caching_credential() {
        let foundry = MockFoundry::start().await;
        foundry.with_seed_deployments().require_api_key("right");
        let mut cred = MockCredential::new();
        cred.expect_authorize().returning(|h| {
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_static("Bearer stale"),
            );
            Ok(())
        });
        cred.expect_refreshes().return_const(true);
        cred.expect_on_refused()
            .times(1)
            .withf(|sent| {
                sent.get(header::AUTHORIZATION)
                    .is_some_and(|v| v == "Bearer stale")
            })
            .return_const(true);
        let err = upstream(&foundry, cred).send(request()).await.unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
    }

    #[tokio::test]
    async fn success_leaves_the_token_alone() {
        let foundry = MockFoundry::start().await;
        foundry.with_seed_deployments().require_api_key("right");
        let mut cred = sending("right");
        cred.expect_refreshes().return_const(false);
        cred.expect_on_unauthorized().never();
        let reply = upstream(&foundry, cred).send(request()).await.unwrap();
        assert!(matches!(reply, UpstreamReply::Json(_)));
    }
}
