//! A transport on hyper-util's pooled legacy client with hyper-rustls (http and https).

use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::trace::traced;
use crate::{BoxError, ResponseBody, Transport, TransportError, TransportErrorKind};

/// The connect timeout of the OpenAI SDKs.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Transport`] on hyper-util's pooled client, for users who want hyper without reqwest.
/// HTTP/1.1 and HTTP/2 (negotiated by ALPN), rustls with the platform's certificate verifier.
/// Clones share the pool. The response body streams. Like every transport of this crate it
/// does not follow redirects (hyper-util's client has no redirect support): a 3xx is handed
/// back as it is.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use routewise_transport::{HyperTransport, Transport};
///
/// let transport = HyperTransport::builder().build()?;
/// let req = http::Request::get("https://example.com/").body(bytes::Bytes::new())?;
/// println!("{}", transport.send(req).await?.status());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HyperTransport {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HyperTransport {
    /// A transport with the default settings (5 s connect timeout, TCP_NODELAY).
    ///
    /// # Panics
    ///
    /// If the platform certificate verifier cannot be initialised. Use
    /// [`builder`](Self::builder) to get an error instead.
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(transport) => transport,
            Err(err) => panic!("cannot initialise the hyper transport: {err}"),
        }
    }

    /// A builder for custom settings.
    pub fn builder() -> HyperTransportBuilder {
        HyperTransportBuilder::default()
    }
}

impl Default for HyperTransport {
    fn default() -> Self {
        Self::new()
    }
}

/// Settings for a [`HyperTransport`].
#[derive(Debug, Clone)]
pub struct HyperTransportBuilder {
    connect_timeout: Duration,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: Option<usize>,
}

impl Default for HyperTransportBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            pool_idle_timeout: None,
            pool_max_idle_per_host: None,
        }
    }
}

impl HyperTransportBuilder {
    /// How long to wait for the TCP connection; default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept (hyper-util's default otherwise).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// How many idle connections per host are kept (unbounded otherwise).
    pub fn pool_max_idle_per_host(mut self, max: usize) -> Self {
        self.pool_max_idle_per_host = Some(max);
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<HyperTransport, TransportError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.connect_timeout));
        let https = HttpsConnectorBuilder::new()
            .try_with_platform_verifier()
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new());
        if let Some(timeout) = self.pool_idle_timeout {
            builder.pool_idle_timeout(timeout);
        }
        if let Some(max) = self.pool_max_idle_per_host {
            builder.pool_max_idle_per_host(max);
        }
        Ok(HyperTransport {
            client: builder.build(https),
        })
    }
}

#[async_trait]
impl Transport for HyperTransport {
    async fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        traced("hyper", req, |req| self.execute(req)).await
    }
}

impl HyperTransport {
    async fn execute(
        &self,
        req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        let res = self
            .client
            .request(req.map(Full::new))
            .await
            .map_err(|err| {
                let kind = if has_timeout_cause(&err) {
                    TransportErrorKind::Timeout
                } else if err.is_connect() {
                    TransportErrorKind::Connect
                } else {
                    TransportErrorKind::Io
                };
                TransportError::new(kind, err)
            })?;
        Ok(res.map(|body| {
            body.map_err(|e| -> BoxError {
                let kind = if e.is_timeout() {
                    TransportErrorKind::Timeout
                } else {
                    TransportErrorKind::Body
                };
                Box::new(TransportError::new(kind, e))
            })
            .boxed_unsync()
        }))
    }
}

/// Whether the chain holds a timeout: hyper-util reports a connect timeout as a connect error
/// caused by an `io::ErrorKind::TimedOut`.
fn has_timeout_cause(err: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        let timed_out = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || e.downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_timeout);
        if timed_out {
            return true;
        }
        cause = e.source();
    }
    false
}
