//! One lazily opened, shared Redis connection: what the response store and the rate limiter
//! talk through (the same multiplexed connection when they use the same server).

use std::time::Duration;

use routewise_auth::Secret;
use tokio::sync::OnceCell;

/// The longest a connection attempt, or a reply, may take before the call fails.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// A Redis server, connected on first use.
pub(crate) struct RedisConn {
    client: redis::Client,
    conn: OnceCell<redis::aio::ConnectionManager>,
    url: Secret,
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the URL, which may carry a password.
        f.debug_struct("RedisConn").finish_non_exhaustive()
    }
}

impl RedisConn {
    /// A handle on `url`; nothing is connected until the first call. The error never repeats
    /// the URL.
    pub(crate) fn new(url: &Secret) -> Result<Self, String> {
        let client = redis::Client::open(url.expose())
            .map_err(|_| "the Redis URL is not a valid redis:// URL".to_owned())?;
        Ok(Self {
            client,
            conn: OnceCell::new(),
            url: url.clone(),
        })
    }

    /// True when this handle talks to the server at `url` (so it can be shared).
    pub(crate) fn is_at(&self, url: &Secret) -> bool {
        self.url == *url
    }

    /// The shared connection, opened on first use. Bounded: a dead Redis fails the call, never
    /// hangs it.
    pub(crate) async fn get(&self) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
        self.conn
            .get_or_try_init(|| {
                let cfg = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(IO_TIMEOUT))
                    .set_response_timeout(Some(IO_TIMEOUT))
                    .set_number_of_retries(2);
                self.client.get_connection_manager_with_config(cfg)
            })
            .await
            .cloned()
    }

    /// A connection of its own, for a command that blocks the connection it runs on (`XREAD
    /// BLOCK`): on the shared one it would stall every other caller. Replies may take up to
    /// `block` longer than usual.
    pub(crate) async fn dedicated(
        &self,
        block: Duration,
    ) -> Result<redis::aio::MultiplexedConnection, redis::RedisError> {
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT + block));
        self.client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
    }
}
