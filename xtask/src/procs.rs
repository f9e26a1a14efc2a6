//! Child processes the xtask starts for a run (`routewise serve`): free ports, and handles that
//! kill the process on every way out of the run. Redis comes from the test kit's
//! `RedisServer`, which makes sure the server answering is the one it started.

use std::net::TcpListener;
use std::process::Child;

use anyhow::Result;

/// A free loopback port (bound, learned and released).
pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Kills and reaps its child when dropped.
pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
