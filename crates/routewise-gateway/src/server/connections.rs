//! The connection cap (`server.max_connections`): the accept loop takes a slot before it
//! accepts, and the connection's task gives it back when the connection ends.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ServerSettings;

/// The slots for connections served at once.
#[derive(Debug)]
pub(crate) struct ConnectionSlots {
    slots: Arc<Semaphore>,
    limit: usize,
}

impl ConnectionSlots {
    /// Room for `limit` connections; a value set in code outside
    /// `1..=ServerSettings::MAX_CONNECTIONS` is clamped (0 would never accept).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.clamp(1, ServerSettings::MAX_CONNECTIONS);
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// Waits for a free slot, then for a connection. Not accepting while full leaves new
    /// clients in the kernel's backlog (and, once that is full, their SYNs unanswered), so a
    /// flood of connections costs the gateway nothing until a slot frees up.
    pub(crate) async fn accept(
        &self,
        listener: &TcpListener,
    ) -> std::io::Result<(TcpStream, OwnedSemaphorePermit)> {
        let Ok(slot) = Arc::clone(&self.slots).acquire_owned().await else {
            // The semaphore is never closed; this arm only keeps the function total.
            return Err(std::io::Error::other("connection slots closed"));
        };
        let (stream, _) = listener.accept().await?;
        Ok((stream, slot))
    }

    /// True when every slot is taken.
    pub(crate) fn full(&self) -> bool {
        self.slots.available_permits() == 0
    }

    /// Connections being served now.
    pub(crate) fn open(&self) -> usize {
        self.limit.saturating_sub(self.slots.available_permits())
    }

    /// The cap.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}
