//! The listening sockets: the main and the metrics listener, each alone on
//! its port or, with several workers, one of their sockets sharing it
//! (`SO_REUSEPORT`).

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Why a listener could not be had.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    pub addr: String,
    #[source]
    pub source: std::io::Error,
}

/// Binds `addr` without `SO_REUSEPORT` and lets go at once: fails with
/// "address in use" while any process listens there, and resolves port 0
/// to a free port. Run before the workers bind it together.
pub async fn claim_port(addr: &str) -> Result<SocketAddr, BindError> {
    let socket = socket_for(addr, false).await?;
    socket.local_addr().map_err(|source| BindError {
        addr: addr.to_owned(),
        source,
    })
}

/// A bound socket for `addr`, sharing the port with the other workers'
/// when `reuse_port`.
async fn socket_for(addr: &str, reuse_port: bool) -> Result<tokio::net::TcpSocket, BindError> {
    let failed = |source| BindError {
        addr: addr.to_owned(),
        source,
    };
    let resolved = tokio::net::lookup_host(addr)
        .await
        .map_err(failed)?
        .next()
        .ok_or_else(|| {
            failed(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })?;
    let socket = if resolved.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(failed)?;
    socket.set_reuseaddr(true).map_err(failed)?;
    if reuse_port {
        socket.set_reuseport(true).map_err(failed)?;
    }
    socket.bind(resolved).map_err(failed)?;
    Ok(socket)
}

/// A listener on `addr`; with `reuse_port`, one of several workers' sockets
/// on the same port, among which the kernel spreads connections.
pub async fn bind(addr: &str, reuse_port: bool) -> Result<TcpListener, BindError> {
    let socket = socket_for(addr, reuse_port).await?;
    socket.listen(4096).map_err(|source| BindError {
        addr: addr.to_owned(),
        source,
    })
}

pub fn local_addr(listener: &TcpListener, name: &str) -> Result<SocketAddr, BindError> {
    listener.local_addr().map_err(|source| BindError {
        addr: name.to_owned(),
        source,
    })
}
