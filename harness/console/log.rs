//! The request log of `hadr console serve`, which must never slow the server down: lines
//! go through a bounded queue to one writer thread. When the output blocks (a pipe nobody
//! reads) and the queue is full, lines are dropped and counted; the writer reports the
//! count once the output moves again.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Lines held while the output is slow; about a megabyte.
const QUEUE_LINES: usize = 8192;

enum Entry {
    Line(String),
    /// Answered once every earlier line is written.
    Flush(mpsc::Sender<()>),
}

/// A handle to the log; clones share the queue.
#[derive(Clone)]
pub struct RequestLog {
    queue: SyncSender<Entry>,
    dropped: Arc<AtomicU64>,
}

impl RequestLog {
    /// A log written to `out` by its own thread, which ends when every handle is gone.
    pub fn new(mut out: impl Write + Send + 'static) -> RequestLog {
        let (queue, lines) = mpsc::sync_channel::<Entry>(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        // Without the thread the queue is disconnected, and every line counts as dropped.
        let _ = std::thread::Builder::new()
            .name("console-log".into())
            .spawn(move || {
                for entry in lines {
                    match entry {
                        Entry::Line(line) => {
                            let lost = counted.swap(0, Ordering::Relaxed);
                            if lost > 0 {
                                let _ = writeln!(
                                    out,
                                    "hadr: {lost} log line(s) dropped: the output was not being read"
                                );
                            }
                            let _ = writeln!(out, "{line}");
                            let _ = out.flush();
                        }
                        Entry::Flush(done) => {
                            let _ = out.flush();
                            let _ = done.send(());
                        }
                    }
                }
            });
        RequestLog { queue, dropped }
    }

    /// Queues a line; drops it (and counts it) when the queue is full.
    pub fn line(&self, line: String) {
        match self.queue.try_send(Entry::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped and not yet reported.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every line queued so far is written, at most `within`; false when the
    /// output did not drain in time (this blocks the calling thread).
    pub fn flush(&self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        let (done, written) = mpsc::channel();
        let mut entry = Entry::Flush(done);
        loop {
            match self.queue.try_send(entry) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                    entry = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return false,
            }
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        written.recv_timeout(left).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    /// An output that blocks until released, like a full pipe.
    #[derive(Clone, Default)]
    struct Stuck {
        released: Arc<(Mutex<bool>, Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Stuck {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, wake) = &*self.released;
            let mut released = lock.lock().unwrap();
            while !*released {
                released = wake.wait(released).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_blocked_output_drops_lines_instead_of_blocking_and_says_so_later() {
        let out = Stuck::default();
        let log = RequestLog::new(out.clone());
        let started = std::time::Instant::now();
        for i in 0..QUEUE_LINES * 2 {
            log.line(format!("line {i}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "logging blocked"
        );
        assert!(log.dropped() >= QUEUE_LINES as u64 - 1, "{}", log.dropped());
        *out.released.0.lock().unwrap() = true;
        out.released.1.notify_all();
        assert!(log.flush(Duration::from_secs(10)));
        log.line("after".into());
        assert!(log.flush(Duration::from_secs(10)));
        let text = String::from_utf8(out.written.lock().unwrap().clone()).unwrap();
        assert!(text.contains("log line(s) dropped: the output was not being read"));
        assert!(text.ends_with("after\n"), "{}", &text[text.len() - 40..]);
    }
}
