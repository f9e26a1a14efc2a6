//! A throwaway `redis-server` for tests of code that keeps shared state in Redis (a gateway's
//! response store, rate limits, prompt cache).
//!
//! Each [`RedisServer`] runs Debian's (or any) `redis-server` binary from `PATH` on a free
//! loopback port, with persistence off, and kills it on drop, so tests run in parallel and
//! leave nothing behind.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long [`RedisServer::try_start`] waits for the server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server` on `127.0.0.1`, killed when dropped.
///
/// ```no_run
/// use routewise_testkit::RedisServer;
///
/// let redis = RedisServer::start();
/// assert!(redis.url().starts_with("redis://127.0.0.1:"));
/// // ... point the code under test at redis.url() ...
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one on a free port and waits until it accepts connections.
    ///
    /// # Panics
    /// When `redis-server` is not on `PATH` or does not start within 10 s; the message says
    /// how to install it. Use [`try_start`](Self::try_start) to handle that instead.
    pub fn start() -> Self {
        Self::try_start().unwrap_or_else(|e| {
            panic!(
                "could not start redis-server ({e}); install it (Debian: apt-get install \
                 redis-server, or run this project's .ci/setup)"
            )
        })
    }

    /// Starts one on a free port and waits until it accepts connections, or says why not.
    pub fn try_start() -> io::Result<Self> {
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // From here on, an early return drops `server`, which kills the child.
        let mut server = Self { child, port };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server exited before listening on port {port} ({status})"
                )));
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("redis-server did not listen on port {port} within {START_TIMEOUT:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server: connections stay open and get no
    /// answer, which is how a hung Redis looks to the code under test.
    ///
    /// # Panics
    /// When the `kill` command fails (it needs a Unix `kill` on `PATH`).
    pub fn freeze(&self, frozen: bool) {
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("the kill command runs");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // A frozen server ignores SIGTERM but not SIGKILL, which `kill()` sends.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis URL nothing listens on (a port bound, learned and closed again): Redis down.
///
/// ```
/// let url = routewise_testkit::redis::dead_url();
/// assert!(url.starts_with("redis://127.0.0.1:"));
/// ```
pub fn dead_url() -> String {
    let port = free_port().expect("a free loopback port");
    format!("redis://127.0.0.1:{port}/0")
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_server_answers_ping_and_is_gone_after_drop() {
        use std::io::{Read, Write};
        let redis = RedisServer::start();
        let port = redis.port();
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.write_all(b"PING\r\n").unwrap();
        let mut reply = [0u8; 7];
        conn.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"+PONG\r\n");
        drop(conn);
        drop(redis);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
