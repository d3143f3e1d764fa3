//! Fabric's batching emitter (gossip/gossip/batcher.go): messages to gossip are collected and
//! sent in bursts, at most maxPropagationBurstLatency after they were added or as soon as
//! maxPropagationBurstSize are waiting; each message goes out propagateIterations times.
//!
//! Fabric flushes on a free-running ticker, so a message waits between 0 and the latency;
//! hadr starts the wait when the first message enters an empty buffer (so an idle node has no
//! ticking timer), which makes every wait the full latency.

use super::message::{GossipMessage, PkiId};
use std::time::Duration;

/// A message waiting to be gossiped; `exclude` is the peer it came from (never sent back).
#[derive(Clone, Debug)]
pub(crate) struct Emitted {
    pub message: GossipMessage,
    pub exclude: Option<PkiId>,
    iterations_left: u32,
}

#[derive(Debug)]
pub(crate) struct Emitter {
    buffer: Vec<Emitted>,
    iterations: u32,
    burst_size: usize,
    latency: Duration,
    next_flush: Option<Duration>,
}

impl Emitter {
    pub fn new(iterations: u32, burst_size: u32, latency: Duration) -> Emitter {
        Emitter {
            buffer: Vec::new(),
            iterations,
            burst_size: burst_size.max(1) as usize,
            latency,
            next_flush: None,
        }
    }

    /// Queues a message; with propagateIterations = 0 gossip is off and it is dropped.
    pub fn add(&mut self, now: Duration, message: GossipMessage, exclude: Option<PkiId>) {
        if self.iterations == 0 {
            return;
        }
        self.buffer.push(Emitted {
            message,
            exclude,
            iterations_left: self.iterations,
        });
        if self.next_flush.is_none() {
            self.next_flush = Some(now + self.latency);
        }
    }

    /// True when a burst is full and must go out now.
    pub fn burst_full(&self) -> bool {
        self.buffer.len() >= self.burst_size
    }

    pub fn deadline(&self) -> Option<Duration> {
        self.next_flush
    }

    /// The messages to send now; those with iterations left stay for the next flush.
    pub fn take_batch(&mut self, now: Duration) -> Vec<Emitted> {
        let batch = self.buffer.clone();
        self.buffer.retain_mut(|m| {
            m.iterations_left -= 1;
            m.iterations_left > 0
        });
        self.next_flush = (!self.buffer.is_empty()).then_some(now + self.latency);
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: u64) -> GossipMessage {
        GossipMessage::PullHello {
            channel_id: "c".into(),
            nonce: n,
        }
    }

    #[test]
    fn flushes_after_the_latency_and_repeats_per_iteration() {
        let ms = Duration::from_millis;
        let mut emitter = Emitter::new(2, 10, ms(10));
        assert_eq!(emitter.deadline(), None);
        emitter.add(ms(100), message(1), None);
        emitter.add(ms(105), message(2), None);
        assert_eq!(emitter.deadline(), Some(ms(110)));
        assert_eq!(emitter.take_batch(ms(110)).len(), 2);
        assert_eq!(emitter.deadline(), Some(ms(120)));
        assert_eq!(emitter.take_batch(ms(120)).len(), 2);
        assert_eq!(emitter.deadline(), None);
        assert!(emitter.take_batch(ms(130)).is_empty());
    }

    #[test]
    fn full_burst_and_disabled_gossip() {
        let mut emitter = Emitter::new(1, 2, Duration::from_millis(10));
        emitter.add(Duration::ZERO, message(1), None);
        assert!(!emitter.burst_full());
        emitter.add(Duration::ZERO, message(2), None);
        assert!(emitter.burst_full());
        let mut off = Emitter::new(0, 2, Duration::from_millis(10));
        off.add(Duration::ZERO, message(1), None);
        assert_eq!(off.deadline(), None);
        assert!(off.take_batch(Duration::ZERO).is_empty());
    }
}
