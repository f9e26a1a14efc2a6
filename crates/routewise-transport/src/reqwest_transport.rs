//! The default transport, on reqwest (rustls, HTTP/1.1 and HTTP/2, pooled connections).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::BodyExt;

use crate::trace::traced;
use crate::{BoxError, ResponseBody, Transport, TransportError, TransportErrorKind};

/// The connect timeout of the OpenAI SDKs.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Transport`] on a pooled [`reqwest::Client`]. Clones share the pool.
///
/// The response body streams: chunks reach the caller as they arrive. Redirects are not
/// followed: a 3xx is handed back like any other answer. (reqwest would otherwise follow up to
/// ten, across origins and from https to http, stripping `authorization` but not an `api-key`
/// header, and re-sending the body on 307/308; the Responses API never redirects.)
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use routewise_transport::{ReqwestTransport, Transport};
///
/// let transport = ReqwestTransport::builder().connect_timeout(Duration::from_secs(3)).build()?;
/// let req = http::Request::get("https://example.com/").body(bytes::Bytes::new())?;
/// let res = transport.send(req).await?;
/// println!("{}", res.status());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl ReqwestTransport {
    /// A transport with the default settings (5 s connect timeout, TCP_NODELAY, no redirects).
    ///
    /// # Panics
    ///
    /// Like [`reqwest::Client::new`], if the TLS backend or the system configuration cannot be
    /// loaded. Use [`builder`](Self::builder) to get an error instead.
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(transport) => transport,
            Err(err) => panic!("cannot initialise the reqwest transport: {err}"),
        }
    }

    /// A builder for custom settings.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// Wraps an existing client (its own timeouts, proxies, TLS and redirect settings apply;
    /// give it `redirect(reqwest::redirect::Policy::none())` unless you mean to follow them).
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Settings for a [`ReqwestTransport`].
#[derive(Debug, Clone)]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: Option<usize>,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: None,
            pool_max_idle_per_host: None,
        }
    }
}

impl ReqwestTransportBuilder {
    /// How long to wait for a connection (TCP and TLS); default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept (reqwest's default otherwise).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// How many idle connections per host are kept (reqwest's default otherwise).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = Some(max);
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = self.pool_idle_timeout {
            builder = builder.pool_idle_timeout(timeout);
        }
        if let Some(max) = self.pool_max_idle_per_host {
            builder = builder.pool_max_idle_per_host(max);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?;
        Ok(ReqwestTransport { client })
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        traced("reqwest", req, |req| self.execute(req)).await
    }
}

impl ReqwestTransport {
    async fn execute(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let req = into_reqwest(req)?;
        let res = self
            .client
            .execute(req)
            .await
            .map_err(|e| classify(e, TransportErrorKind::Io))?;
        let res: http::Response<reqwest::Body> = res.into();
        Ok(res.map(|body| {
            body.map_err(|e| -> BoxError { Box::new(classify(e, TransportErrorKind::Body)) })
                .boxed_unsync()
        }))
    }
}

/// What `reqwest::Request::try_from` does, with the URL parsed once per endpoint
/// ([`url_cache`](crate::url_cache)). reqwest has no public setter for extensions, so a request
/// that carries any takes reqwest's own conversion.
fn into_reqwest(req: http::Request<Bytes>) -> Result<reqwest::Request, TransportError> {
    if !req.extensions().is_empty() {
        return reqwest::Request::try_from(req)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e));
    }
    let (parts, body) = req.into_parts();
    let url = crate::url_cache::url_of(&parts.uri)
        .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?;
    let mut out = reqwest::Request::new(parts.method, url);
    *out.headers_mut() = parts.headers;
    *out.version_mut() = parts.version;
    *out.body_mut() = Some(body.into());
    Ok(out)
}

fn classify(err: reqwest::Error, fallback: TransportErrorKind) -> TransportError {
    let kind = if err.is_timeout() {
        TransportErrorKind::Timeout
    } else if err.is_connect() {
        TransportErrorKind::Connect
    } else if err.is_builder() || err.is_redirect() {
        TransportErrorKind::Other
    } else {
        fallback
    };
    TransportError::new(kind, err)
}
