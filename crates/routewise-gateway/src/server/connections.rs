//! The connection cap (`server.max_connections`): the accept loop takes a slot before it
//! accepts, and the connection's task gives it back when the connection ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ServerSettings;

/// The slots for connections served at once.
#[derive(Debug)]
pub(crate) struct ConnectionSlots {
    slots: Arc<Semaphore>,
    limit: usize,
    /// Connections accepted and not yet ended: the accept loop's slot, held while it waits
    /// for the next client, is not one of them.
    served: Arc<AtomicUsize>,
}

/// One accepted connection's slot: given back, and uncounted, when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    served: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.served.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionSlots {
    /// Room for `limit` connections; a value set in code outside
    /// `1..=ServerSettings::MAX_CONNECTIONS` is clamped (0 would never accept).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.clamp(1, ServerSettings::MAX_CONNECTIONS);
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
            served: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Waits for a free slot, then for a connection. Not accepting while full leaves new
    /// clients in the kernel's backlog (and, once that is full, their SYNs unanswered), so a
    /// flood of connections costs the gateway nothing until a slot frees up.
    pub(crate) async fn accept(
        &self,
        listener: &TcpListener,
    ) -> std::io::Result<(TcpStream, Slot)> {
        let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
            // The semaphore is never closed; this arm only keeps the function total.
            return Err(std::io::Error::other("connection slots closed"));
        };
        let (stream, _) = listener.accept().await?;
        self.served.fetch_add(1, Ordering::Relaxed);
        let slot = Slot {
            _permit: permit,
            served: Arc::clone(&self.served),
        };
        Ok((stream, slot))
    }

    /// True when every slot is taken.
    pub(crate) fn full(&self) -> bool {
        self.slots.available_permits() == 0
    }

    /// Connections being served now.
    pub(crate) fn open(&self) -> usize {
        self.served.load(Ordering::Relaxed)
    }

    /// The cap.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

/// File descriptors a process needs besides its client connections and their upstream
/// calls: the listener, Redis connections, stream followers', files.
const FD_HEADROOM: u64 = 128;

/// Warns at start-up when the open-file limit cannot hold `max_connections` client sockets,
/// an upstream connection for each, and headroom: the cap would never engage, and accepts
/// (or upstream calls) would fail instead.
pub(crate) fn warn_if_fds_short(max_connections: usize) {
    let Some(limit) = open_file_limit() else {
        return;
    };
    let wanted = (max_connections as u64)
        .saturating_mul(2)
        .saturating_add(FD_HEADROOM);
    if limit < wanted {
        tracing::warn!(
            open_file_limit = limit,
            max_connections,
            "the open-file limit is below twice max_connections (a client socket and an \
             upstream one each) plus {FD_HEADROOM}: raise it (ulimit -n {wanted}) or lower \
             server.max_connections, or accepts and upstream calls will fail first"
        );
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None` elsewhere or when
/// unlimited. Read, not asked of the kernel, because the crate has no `unsafe` for getrlimit.
fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&text)
}

fn parse_open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::parse_open_file_limit;

    #[test]
    fn the_soft_open_file_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max cpu time              unlimited            unlimited            seconds\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_file_limit(limits), Some(1024));
        let unlimited = limits.replace("1024 ", "unlimited ");
        assert_eq!(parse_open_file_limit(&unlimited), None);
        assert_eq!(parse_open_file_limit("nothing here"), None);
    }
}
