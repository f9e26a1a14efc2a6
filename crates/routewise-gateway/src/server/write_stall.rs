//! Cutting off a client that stops reading.
//!
//! hyper writes an answer only as fast as the client reads it, and polls a streamed body only
//! when it can write. A client that stops reading therefore parks its request, with the parsed
//! request, its large-body share and the upstream call, for as long as it keeps the socket
//! open. [`WriteStall`] fails a write that has made no progress for `limit`, which makes hyper
//! close the connection and drop the request.
//!
//! "Progress" is the socket becoming writable again. By default Linux reports that only once a
//! third of a send buffer of up to 4 MB has drained, so a client reading steadily but slowly
//! would look stalled. [`prepare`] sets `TCP_NOTSENT_LOWAT`, which makes the socket writable
//! whenever less than [`NOTSENT_LOWAT`] of it is still unsent: each window the client opens by
//! reading moves it forward. It also keeps less unsent data in the kernel per connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Unsent bytes above which a socket stops being writable (see the module docs).
const NOTSENT_LOWAT: u32 = 16 * 1024;

/// Sets `TCP_NOTSENT_LOWAT` on an accepted socket where the platform has it.
pub(super) fn prepare(stream: &tokio::net::TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT) {
        tracing::debug!(error = %e, "setting TCP_NOTSENT_LOWAT failed");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (stream, NOTSENT_LOWAT);
}

/// An I/O stream whose writes fail after `limit` without progress.
pub(super) struct WriteStall<T> {
    inner: T,
    limit: Duration,
    /// Made on the first stall of the connection and reused: most connections never stall.
    timer: Option<Pin<Box<Sleep>>>,
    stalled: bool,
}

impl<T> WriteStall<T> {
    pub(super) fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            timer: None,
            stalled: false,
        }
    }

    /// A write could not proceed: starts the stall clock if it is not running, and fails once
    /// it has run out.
    fn pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.stalled {
            // A limit beyond the clock's range never runs out; the inner stream has
            // registered the wake-up for when it can write.
            let Some(at) = Instant::now().checked_add(self.limit) else {
                return Poll::Pending;
            };
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(at),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
            }
            self.stalled = true;
        }
        let Some(timer) = &mut self.timer else {
            return Poll::Pending;
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing of its answer within the write timeout",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progress<R>(
        &mut self,
        result: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        match result {
            Poll::Pending => self.pending(cx).map(Err),
            ready => {
                self.stalled = false;
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteStall<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteStall<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.progress(result, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progress(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_flush(cx);
        this.progress(result, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.progress(result, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::WriteStall;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_write_that_never_proceeds_fails_after_the_limit() {
        // A 1 KiB pipe nobody reads: the second write cannot proceed.
        let (writer, _reader) = tokio::io::duplex(1024);
        let mut io = WriteStall::new(writer, Duration::from_secs(5));
        io.write_all(&[0; 1024]).await.unwrap();
        let started = tokio::time::Instant::now();
        let err = io.write_all(&[0; 1]).await.expect_err("stalled");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    // The same over TCP, where progress also depends on when the kernel reports a full socket
    // writable again, is `bad_input::a_client_that_reads_slowly_but_steadily_is_not_cut_off`.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_reading_is_never_cut() {
        let (writer, mut reader) = tokio::io::duplex(1024);
        let mut io = WriteStall::new(writer, Duration::from_secs(5));
        let read = tokio::spawn(async move {
            let mut got = 0;
            let mut buf = [0; 512];
            while got < 16 * 1024 {
                // Slower than the limit in all, faster than it between reads.
                tokio::time::sleep(Duration::from_secs(3)).await;
                got += reader.read(&mut buf).await.unwrap();
            }
            got
        });
        io.write_all(&vec![0; 16 * 1024])
            .await
            .expect("never stalled for 5 s");
        assert_eq!(read.await.unwrap(), 16 * 1024);
    }
}
