//! A TCP relay in front of a server that can be turned into a black hole:
//! connections stay open and bytes stop flowing both ways, as when a host
//! is cut off and its packets are dropped (no reset, no answer). Healed,
//! the held connections are closed and new ones flow again.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The relay; it stops when dropped.
pub struct Blackhole {
    pub addr: SocketAddr,
    dropping: Arc<watch::Sender<bool>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    /// Relays 127.0.0.1:<free port> to `target`, flowing.
    pub async fn start(target: SocketAddr) -> Blackhole {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the relay");
        let addr = listener.local_addr().expect("the relay's address");
        let (dropping, _) = watch::channel(false);
        let dropping = Arc::new(dropping);
        let state = dropping.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = state.subscribe();
                tokio::spawn(relay(client, target, state));
            }
        });
        Blackhole {
            addr,
            dropping,
            accept,
        }
    }

    /// From now on nothing flows, on open connections and new ones.
    pub fn drop_packets(&self) {
        self.dropping.send_replace(true);
    }

    /// Flowing again: held connections close, new ones flow.
    pub fn heal(&self) {
        self.dropping.send_replace(false);
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One connection: copies both ways until either side closes, or holds
/// it silent while packets are dropped and closes it on healing.
async fn relay(client: TcpStream, target: SocketAddr, mut dropping: watch::Receiver<bool>) {
    if *dropping.borrow() {
        // Accepted, never answered; closed once healed.
        let _ = dropping.wait_for(|dropping| !*dropping).await;
        return;
    }
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = server.into_split();
    let (mut up, mut down) = ([0u8; 8192], [0u8; 8192]);
    loop {
        tokio::select! {
            read = client_in.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if *dropping.borrow() || server_out.write_all(&up[..n]).await.is_err() {
                    break;
                },
            },
            read = server_in.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if *dropping.borrow() || client_out.write_all(&down[..n]).await.is_err() {
                    break;
                },
            },
            changed = dropping.changed() => if changed.is_err() || *dropping.borrow() {
                break;
            },
        }
    }
    // Dropping: hold both sockets open and silent until healed.
    let _ = dropping.wait_for(|dropping| !*dropping).await;
    drop((client_in, client_out, server_in, server_out));
}
