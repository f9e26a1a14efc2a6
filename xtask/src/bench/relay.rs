//! A byte relay between the load generator and the mock: the floor any proxy pays for one
//! more process hop (two more socket hand-offs and thread wake-ups per request), measured in
//! the same run so the gateway's own cost can be told apart from the machine's.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

/// Starts the relay on its own thread and runtime (as a separate proxy process would have)
/// and returns its loopback address.
pub(crate) fn start(upstream: SocketAddr) -> std::io::Result<SocketAddr> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        rt.block_on(async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
    });
    Ok(addr)
}
