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

/// How many ports [`RedisServer::try_start`] tries when the chosen one turns out to be taken.
const START_ATTEMPTS: usize = 5;

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
    ///
    /// The port is free when chosen but released before the server binds it, so another
    /// process may take it first. The server that answers is therefore asked for its process
    /// id, and a port that turns out to be someone else's is given up for another.
    pub fn try_start() -> io::Result<Self> {
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_on(free_port()?)? {
                Ok(server) => return Ok(server),
                Err(taken) => last = Some(taken),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// One attempt on `port`: `Ok(Err(_))` when the port turned out to be taken.
    fn start_on(port: u16) -> io::Result<io::Result<Self>> {
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
        loop {
            if let Some(status) = server.child.try_wait()? {
                // Most often the port was taken between choosing and binding it.
                return Ok(Err(io::Error::other(format!(
                    "redis-server exited before listening on port {port} ({status})"
                ))));
            }
            if let Some(pid) = answering_pid(port) {
                if pid == server.child.id() {
                    return Ok(Ok(server));
                }
                return Ok(Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("port {port} is served by another redis-server (pid {pid})"),
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

/// A Redis URL that refuses connections for as long as this is alive: Redis down.
///
/// The port is held by a socket that is bound but never listens, so connecting to it is
/// refused, and no other process (a parallel test's `redis-server`) can take it meanwhile.
///
/// ```
/// let down = routewise_testkit::redis::DeadRedis::new();
/// assert!(down.url().starts_with("redis://127.0.0.1:"));
/// assert!(std::net::TcpStream::connect(("127.0.0.1", down.port())).is_err());
/// ```
#[derive(Debug)]
pub struct DeadRedis {
    _held: tokio::net::TcpSocket,
    port: u16,
}

impl DeadRedis {
    /// Binds a loopback port without listening on it.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub fn new() -> Self {
        let bind = || -> io::Result<Self> {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
            let port = socket.local_addr()?.port();
            Ok(Self {
                _held: socket,
                port,
            })
        };
        bind().expect("a loopback port to hold")
    }

    /// `redis://127.0.0.1:PORT/0`, which refuses connections.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The held port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Default for DeadRedis {
    fn default() -> Self {
        Self::new()
    }
}

/// The process id of the Redis answering on `port` (`INFO server`), or `None` when nothing
/// answers yet.
fn answering_pid(port: u16) -> Option<u32> {
    use std::io::{Read, Write};
    let mut conn = TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    conn.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // The field sits early in the section; read until it is whole (its line ended).
    while reply.len() < 64 * 1024 {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&reply);
        if let Some(rest) = text.split("process_id:").nth(1)
            && let Some(line) = rest.split("\r\n").next().filter(|_| rest.contains("\r\n"))
        {
            return line.trim().parse().ok();
        }
    }
    None
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
        assert_eq!(answering_pid(port), Some(redis.child.id()));
        let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
        conn.write_all(b"PING\r\n").unwrap();
        let mut reply = [0u8; 7];
        conn.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"+PONG\r\n");
        drop(conn);
        drop(redis);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn a_port_served_by_another_redis_is_given_up_for_a_free_one() {
        let first = RedisServer::start();
        // Forced onto the first one's port: the other server answers, so this is refused.
        let taken = RedisServer::start_on(first.port()).unwrap().unwrap_err();
        assert!(
            taken.kind() == io::ErrorKind::AddrInUse || taken.to_string().contains("exited"),
            "{taken}"
        );
        let second = RedisServer::start();
        assert_ne!(second.port(), first.port());
        assert_eq!(answering_pid(second.port()), Some(second.child.id()));
    }

    #[test]
    fn a_dead_redis_refuses_connections_while_held() {
        let down = DeadRedis::new();
        assert!(TcpStream::connect(("127.0.0.1", down.port())).is_err());
        assert!(TcpListener::bind(("127.0.0.1", down.port())).is_err());
    }
}
