//! The server: [`Gateway`] (what to serve) and [`RunningGateway`] (a bound listener).

mod body;
pub(crate) use body::BodyMemory;
mod connections;
pub(crate) use connections::ConnectionSlots;
pub mod layers;
mod routes;
mod stored;
mod unread_body;
mod write_stall;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::state::{AppState, BuildError};

/// A configured gateway, ready to bind or to embed as an [`axum::Router`].
///
/// ```no_run
/// use routewise_gateway::Gateway;
///
/// # async fn demo() -> std::io::Result<()> {
/// // The embedded emulator pool on a free loopback port:
/// let running = Gateway::default_pool().bind("127.0.0.1:0".parse().unwrap()).await?;
/// println!("POST {}/responses", running.base_url());
/// running.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gateway {
    state: Arc<AppState>,
}

impl Gateway {
    /// Builds the upstreams (HTTP clients, credentials, emulators) for a validated config.
    /// A config's fields are public, so the rules the loader applies to upstream URLs,
    /// background settings, data residency and access control are applied again here: a config
    /// built or changed in code that breaks one is a [`BuildError`] naming the key as the file
    /// would.
    pub fn from_config(config: Config) -> Result<Self, BuildError> {
        Ok(Self {
            state: Arc::new(AppState::build(config)?),
        })
    }

    /// The embedded default pool ([`Config::default_pool`]): emulators only, so it cannot fail.
    pub fn default_pool() -> Self {
        Self {
            state: Arc::new(AppState::build_emulated(Config::default_pool())),
        }
    }

    /// The configuration being served.
    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The routes with all layers, for in-process use (`tower::ServiceExt::oneshot`) or to mount
    /// inside a larger axum app. TCP options and hyper's own (hard, twice the configured) head
    /// limits are applied by [`Gateway::bind`].
    pub fn router(&self) -> axum::Router {
        routes::router(Arc::clone(&self.state))
    }

    /// Binds `addr` (use port 0 for a free port) and starts serving in the background.
    ///
    /// # Errors
    /// [`std::io::ErrorKind::InvalidInput`] for a non-loopback `addr` while access control is
    /// off and `server.open_access` is not set ([`Config::exposure_error`]); otherwise the
    /// listener's own errors.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<RunningGateway> {
        if let Some(why) = self.state.config.exposure_error(addr) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
        }
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(
            listener,
            Arc::clone(&self.state),
            self.router(),
            stop_rx,
        ));
        Ok(RunningGateway {
            local_addr,
            state: self.state,
            stop: stop_tx,
            task,
        })
    }

    /// Binds the configured `server.listen` address.
    pub async fn bind_configured(self) -> std::io::Result<RunningGateway> {
        let addr = self.state.config.server.listen;
        self.bind(addr).await
    }
}

/// A gateway serving on a socket. Dropping it also stops the listener (without waiting).
#[derive(Debug)]
pub struct RunningGateway {
    local_addr: SocketAddr,
    state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningGateway {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR/openai/v1`: the base URL an OpenAI client takes.
    pub fn base_url(&self) -> String {
        format!("http://{}/openai/v1", self.local_addr)
    }

    /// `http://ADDR`: the endpoint a Foundry-style client takes (it appends `/openai/v1`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting, reports not-ready, lets in-flight requests and streams finish (up to
    /// `server.shutdown_grace`), then returns.
    pub async fn shutdown(self) {
        self.state.draining.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    let settings = state.settings().clone();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        // Twice our limits: HeaderLimitLayer answers heads between ours and these with a JSON
        // 431; hyper stops buffering beyond them and sends its own empty 431.
        .max_buf_size(settings.max_header_bytes.saturating_mul(2).max(8192))
        .max_headers(settings.max_headers.saturating_mul(2))
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let slots = &state.connections;
    connections::warn_if_fds_short(slots.limit());
    let mut warned_full: Option<tokio::time::Instant> = None;
    let mut warned_accept: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            accepted = slots.accept(&listener) => {
                let (stream, slot) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and similar: back off instead of spinning,
                        // and say so once per 10 s, not on every retry.
                        if warned_accept.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                            warned_accept = Some(tokio::time::Instant::now());
                            tracing::warn!(error = %e, "accept failed; retrying every 20 ms");
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                if slots.full()
                    && warned_full.is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
                {
                    warned_full = Some(tokio::time::Instant::now());
                    tracing::warn!(
                        max_connections = settings.max_connections,
                        "connection cap reached: new connections wait in the listen backlog"
                    );
                }
                // Without this every response pays a delayed-ACK stall (~40 ms) on keep-alive
                // connections; see the benchmark notes.
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "set_nodelay failed");
                }
                write_stall::prepare(&stream);
                let io = TokioIo::new(write_stall::WriteStall::new(stream, settings.write_timeout));
                let conn = builder.serve_connection(io, TowerToHyperService::new(app.clone()));
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let deadline = tokio::time::Instant::now() + settings.shutdown_grace;
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period elapsed with requests still in flight");
    }
    // Background responses get what is left of the grace, then are marked failed.
    state.background.drain(deadline).await;
}
