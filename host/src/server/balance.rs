//! Connections dealt evenly among the workers.
//!
//! Each worker accepts on a socket of its own on the shared port
//! (`SO_REUSEPORT`), and the kernel picks the socket for a connection by a
//! hash of its addresses. So 64 connections split 40 to 24 as often as
//! not, and since a worker is one thread, the busier one sets the pace and
//! the tail latency while the other idles (`/health` under wrk: 60,000 to
//! 100,000 requests a second from one run to the next, p99 up to 19 ms).
//! Here a worker that accepts a connection while it already serves more
//! than another worker hands the connection to that worker, which serves
//! it as if it had accepted it. Nothing moves while the counts are even,
//! and a moved connection costs one message and its socket's move from one
//! event loop to the other, once, at its start.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::telemetry::metrics::CONNECTIONS_HANDED_OVER;

/// A connection on its way from one worker to another.
type Handed = (std::net::TcpStream, SocketAddr);

/// The workers of one process, each with its count of open connections;
/// every worker's `Settings` holds the same one.
#[derive(Clone, Default)]
pub struct Balancer {
    places: Arc<Mutex<Vec<Arc<Place>>>>,
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Balancer")
    }
}

/// One worker as the others see it.
struct Place {
    open: AtomicUsize,
    inbox: mpsc::UnboundedSender<Handed>,
}

impl Balancer {
    /// A place for a worker's listener, given back when the seat drops.
    pub fn join(&self) -> Seat {
        let (inbox, handed) = mpsc::unbounded_channel();
        let place = Arc::new(Place {
            open: AtomicUsize::new(0),
            inbox,
        });
        self.places().push(place.clone());
        Seat {
            balancer: self.clone(),
            place,
            handed,
        }
    }

    fn places(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Place>>> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A worker's place: where connections handed to it arrive, and what the
/// others read of it.
pub struct Seat {
    balancer: Balancer,
    place: Arc<Place>,
    handed: mpsc::UnboundedReceiver<Handed>,
}

impl Seat {
    /// Where a connection this worker just accepted is served: here, unless
    /// another worker serves fewer, which is then handed it.
    pub fn place(&self, stream: TcpStream, peer: SocketAddr) -> Option<(TcpStream, SocketAddr)> {
        let mine = self.place.open.load(Ordering::Relaxed);
        let fewest = self
            .balancer
            .places()
            .iter()
            .filter(|other| !Arc::ptr_eq(other, &self.place))
            .map(|other| (other.open.load(Ordering::Relaxed), other))
            .min_by_key(|(open, _)| *open)
            .filter(|(open, _)| *open < mine)
            .map(|(_, other)| other.clone());
        let Some(other) = fewest else {
            return Some((stream, peer));
        };
        // Counted for the other at once, so that the connections accepted
        // before it takes this one see it there.
        other.open.fetch_add(1, Ordering::Relaxed);
        let std = match stream.into_std() {
            Ok(std) => std,
            Err(error) => {
                other.open.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!(%error, "a connection could not be handed over");
                return None;
            }
        };
        match other.inbox.send((std, peer)) {
            Ok(()) => {
                metrics::counter!(CONNECTIONS_HANDED_OVER).increment(1);
                None
            }
            // The other worker is stopping: serve it here after all.
            Err(mpsc::error::SendError((std, peer))) => {
                other.open.fetch_sub(1, Ordering::Relaxed);
                TcpStream::from_std(std).ok().map(|stream| (stream, peer))
            }
        }
    }

    /// The next connection another worker handed to this one, already
    /// counted as open here.
    pub async fn handed(&mut self) -> Option<(TcpStream, SocketAddr, Open)> {
        loop {
            let (std, peer) = self.handed.recv().await?;
            let open = Open(self.place.clone());
            match TcpStream::from_std(std) {
                Ok(stream) => return Some((stream, peer, open)),
                Err(error) => tracing::debug!(%error, "a handed-over connection was lost"),
            }
        }
    }

    /// Counts a connection this worker accepted and serves.
    pub fn opened(&self) -> Open {
        self.place.open.fetch_add(1, Ordering::Relaxed);
        Open(self.place.clone())
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.balancer
            .places()
            .retain(|place| !Arc::ptr_eq(place, &self.place));
    }
}

/// A connection counted as open at its worker until this drops.
pub struct Open(Arc<Place>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real loopback connection, as a worker accepts it.
    async fn accepted() -> (TcpStream, SocketAddr, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        (stream, peer, client)
    }

    fn open(seat: &Seat) -> usize {
        seat.place.open.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn a_connection_goes_to_the_worker_serving_fewer() {
        let balancer = Balancer::default();
        let busy = balancer.join();
        let mut idle = balancer.join();
        let _held = [busy.opened(), busy.opened()];

        let (stream, peer, _client) = accepted().await;
        assert!(
            busy.place(stream, peer).is_none(),
            "kept by the busier worker"
        );
        assert_eq!(open(&idle), 1, "counted at once for the worker it went to");
        let (_stream, handed_peer, counted) = idle.handed().await.unwrap();
        assert_eq!(handed_peer, peer);
        drop(counted);
        assert_eq!(open(&idle), 0, "uncounted when the connection ends");
        assert_eq!(open(&busy), 2);
    }

    #[tokio::test]
    async fn even_workers_keep_what_they_accept() {
        let balancer = Balancer::default();
        let one = balancer.join();
        let other = balancer.join();
        let _held = [one.opened(), other.opened()];
        let (stream, peer, _client) = accepted().await;
        assert!(one.place(stream, peer).is_some());
    }

    #[tokio::test]
    async fn a_worker_that_left_is_handed_nothing() {
        let balancer = Balancer::default();
        let busy = balancer.join();
        let _held = busy.opened();
        drop(balancer.join());
        let (stream, peer, _client) = accepted().await;
        assert!(busy.place(stream, peer).is_some());
    }
}
