//! The log's way out: a queue bounded in bytes between the threads that log
//! and one thread of its own that writes to stderr. A message is added
//! whole or not at all: when the queue holds [`LogQueue::capacity`] bytes
//! (stderr is a pipe nobody reads, or a disk that stalls), a new message is
//! dropped and counted in `log_messages_dropped_total`, so a request never
//! waits on the log's reader and the memory it takes stays put.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Messages dropped because the queue was full.
pub const DROPPED: &str = "log_messages_dropped_total";

/// The queue's handle for the threads that log; clones share one queue.
#[derive(Clone)]
pub struct LogQueue {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct State {
    queued: Vec<u8>,
    closed: bool,
    dropped: u64,
}

/// Writes out what is left when dropped (for at most a couple of seconds,
/// since the reader may be the reason it is left).
pub struct WriterGuard {
    shared: Arc<Shared>,
    done: std::sync::mpsc::Receiver<()>,
}

impl LogQueue {
    /// A queue of at most `capacity` bytes, written to `out` by a thread
    /// of its own until the guard is dropped.
    pub fn start(
        capacity: usize,
        out: impl Write + Send + 'static,
    ) -> std::io::Result<(LogQueue, WriterGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            capacity,
        });
        let (finished, done) = std::sync::mpsc::channel();
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                write_out(&writer, out);
                let _ = finished.send(());
            })?;
        metrics::counter!(DROPPED).absolute(0);
        Ok((
            LogQueue {
                shared: shared.clone(),
            },
            WriterGuard { shared, done },
        ))
    }

    /// Adds `message` whole, or drops it (and counts it) when it would not
    /// fit; never waits for the writer.
    pub fn push(&self, message: &[u8]) -> bool {
        let mut state = lock(&self.shared.state);
        if state.queued.len() + message.len() > self.shared.capacity {
            state.dropped += 1;
            drop(state);
            metrics::counter!(DROPPED).increment(1);
            return false;
        }
        state.queued.extend_from_slice(message);
        drop(state);
        self.shared.wake.notify_one();
        true
    }

    /// The most bytes the queue holds.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Bytes queued now, and messages dropped so far.
    pub fn load(&self) -> (usize, u64) {
        let state = lock(&self.shared.state);
        (state.queued.len(), state.dropped)
    }
}

/// One `tracing` event is formatted whole and written with one
/// `write_all`, so each call here is one message.
impl Write for LogQueue {
    fn write(&mut self, message: &[u8]) -> std::io::Result<usize> {
        self.push(message);
        Ok(message.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.wake.notify_one();
        let _ = self.done.recv_timeout(Duration::from_secs(2));
    }
}

/// The writer thread: takes everything queued at once and writes it with
/// one call, until closed and empty.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut taken = Vec::new();
    loop {
        {
            let mut state = lock(&shared.state);
            while state.queued.is_empty() && !state.closed {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if state.queued.is_empty() {
                return;
            }
            std::mem::swap(&mut state.queued, &mut taken);
        }
        let _ = out.write_all(&taken).and_then(|()| out.flush());
        taken.clear();
        // A burst's buffer is not kept once it is written.
        taken.shrink_to(64 * 1024);
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Bytes and counters: consistent whatever a panicking holder did.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that never reads: every write blocks until the test ends.
    struct Stalled(std::sync::mpsc::Receiver<()>);

    impl Write for Stalled {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_reader_costs_dropped_messages_never_memory_or_a_wait() {
        let (release, stalled) = std::sync::mpsc::channel();
        let (queue, guard) = LogQueue::start(64 * 1024, Stalled(stalled)).unwrap();
        let message = vec![b'x'; 60 * 1024];
        // 10,000 messages of 60 KB (600 MB) into a queue of 64 KB.
        let pushed = (0..10_000).filter(|_| queue.push(&message)).count();
        let (queued, dropped) = queue.load();
        assert!(queued <= queue.capacity(), "{queued} bytes queued");
        assert!(pushed <= 2, "{pushed} messages taken");
        assert_eq!(dropped as usize, 10_000 - pushed);
        drop(release);
        drop(guard);
    }

    #[test]
    fn every_message_is_written_whole_and_in_order() {
        #[derive(Clone, Default)]
        struct Collected(Arc<Mutex<Vec<u8>>>);
        impl Write for Collected {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let collected = Collected::default();
        let (mut queue, guard) = LogQueue::start(1024 * 1024, collected.clone()).unwrap();
        for n in 0..1000 {
            writeln!(queue, "line {n}").unwrap();
        }
        drop(guard);
        let text = String::from_utf8(collected.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "line 999");
    }
}
