//! Auth as a transport layer: any [`Credential`] in front of any [`Transport`].
//!
//! It lives here, not in either crate, because `routewise-auth` and `routewise-transport` are
//! independent of each other by design.

use std::error::Error as StdError;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use routewise_auth::{AuthError, SharedCredential, authorize_within};
use routewise_transport::{ResponseBody, Transport, TransportError, TransportErrorKind};
use tower_layer::Layer;

/// A layer that authorises every attempt with a credential before handing it to the inner
/// transport.
///
/// Put it *inside* the retry layer so each retry asks the credential again: a token that expires
/// between attempts is refreshed, and a cached one costs nothing. A `401 Unauthorized` answer
/// is reported to the credential ([`Credential::on_refused`](routewise_auth::Credential::on_refused)),
/// so a cached token the server refused is not sent again; when the credential's token can be
/// refreshed (Entra) and re-authorising yields a different one, the request is re-sent once
/// with it. Keys and static tokens are never re-sent.
///
/// Obtaining the credential is bounded by the token timeout (default
/// [`DEFAULT_TOKEN_TIMEOUT`](crate::DEFAULT_TOKEN_TIMEOUT)): a credential that has not answered
/// by then fails the attempt with [`AuthError::Timeout`], and nothing is sent. That failure is
/// not retried by the retry layer, so one hung credential costs one timeout, not one per retry.
///
/// ```
/// use std::sync::Arc;
/// use routewise::AuthLayer;
/// use routewise_auth::ApiKey;
/// use routewise_transport::{body, ResponseBody, SharedTransport, Transport, TransportError};
/// use tower_layer::Layer;
///
/// #[derive(Debug)]
/// struct Echo;
/// #[async_trait::async_trait]
/// impl Transport for Echo {
///     async fn send(&self, req: http::Request<bytes::Bytes>) -> Result<http::Response<ResponseBody>, TransportError> {
///         let key = req.headers()["api-key"].to_str().unwrap().to_owned();
///         Ok(http::Response::new(body::full(key)))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let authed = AuthLayer::new(Arc::new(ApiKey::new("k"))).layer(Echo);
/// let res = authed.send(http::Request::new(bytes::Bytes::new())).await.unwrap();
/// assert_eq!(&body::collect(res.into_body()).await.unwrap()[..], b"k");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    credential: SharedCredential,
    token_timeout: Duration,
}

impl AuthLayer {
    /// A layer that authorises requests with `credential`, waiting for it at most
    /// [`DEFAULT_TOKEN_TIMEOUT`](crate::DEFAULT_TOKEN_TIMEOUT).
    pub fn new(credential: SharedCredential) -> Self {
        Self {
            credential,
            token_timeout: crate::client::DEFAULT_TOKEN_TIMEOUT,
        }
    }

    /// How long one attempt waits for the credential's token or key.
    pub fn token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }
}

impl<T> Layer<T> for AuthLayer {
    type Service = Authorized<T>;

    fn layer(&self, inner: T) -> Self::Service {
        Authorized {
            inner,
            credential: self.credential.clone(),
            token_timeout: self.token_timeout,
        }
    }
}

/// A transport that authorises each request before sending it; built by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Authorized<T> {
    inner: T,
    credential: SharedCredential,
    token_timeout: Duration,
}

impl<T> Authorized<T> {
    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

#[async_trait]
impl<T: Transport> Transport for Authorized<T> {
    async fn send(
        &self,
        mut req: http::Request<Bytes>,
    ) -> Result<http::Response<ResponseBody>, TransportError> {
        self.authorize(&mut req).await?;
        // Kept for the one re-send a refused token earns (the body is shared, not copied),
        // and only by a credential that can offer a fresh one: keys cost nothing extra.
        let copy = self.credential.refreshes().then(|| req.clone());
        let response = self.inner.send(req).await?;
        if response.status() != http::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(copy) = copy else {
            self.credential.on_unauthorized().await;
            return Ok(response);
        };
        if !self.credential.on_refused(copy.headers()).await {
            return Ok(response);
        }
        // The retry policy never retries a 401, so the fresh token gets its one chance here.
        let mut again = copy.clone();
        if let Err(err) = self.authorize(&mut again).await {
            tracing::debug!(error = %err, "no fresh credential after a 401; keeping the 401");
            return Ok(response);
        }
        if again.headers() == copy.headers() {
            // The credential offers the refused token again (its own source cached it):
            // the server would only refuse it a second time.
            return Ok(response);
        }
        drop(response);
        tracing::debug!("401 Unauthorized: re-sending once with a fresh token");
        let sent = again.headers().clone();
        let response = self.inner.send(again).await?;
        if response.status() == http::StatusCode::UNAUTHORIZED {
            self.credential.on_refused(&sent).await;
        }
        Ok(response)
    }
}

impl<T> Authorized<T> {
    /// Sets the credential's header on `req`, bounded by the token timeout.
    async fn authorize(&self, req: &mut http::Request<Bytes>) -> Result<(), TransportError> {
        // `Other`, not `Timeout`, even when the credential timed out: the retry layer would ask
        // the same hung credential again and multiply the wait.
        authorize_within(&*self.credential, req.headers_mut(), self.token_timeout)
            .await
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))
    }
}

/// Finds an [`AuthError`] in a transport error's source chain (how [`Authorized`] reports one).
pub(crate) fn auth_error_in(err: &TransportError) -> Option<&AuthError> {
    let mut cur: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = cur {
        if let Some(auth) = e.downcast_ref::<AuthError>() {
            return Some(auth);
        }
        cur = e.source();
    }
    None
}
