//! Batching of envelopes into blocks, as Fabric's block cutter does it
//! (F orderer/common/blockcutter/blockcutter.go). The batch timer is the chain's, not the
//! cutter's (see node.rs).

use crate::fabric::types::Envelope;

/// The channel's BatchSize limits that drive cutting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSize {
    /// Orderer.BatchSize.MaxMessageCount (channel config).
    pub max_message_count: u32,
    /// Orderer.BatchSize.PreferredMaxBytes.
    pub preferred_max_bytes: u64,
}

/// The pending batch of the leader.
#[derive(Debug, Default)]
pub struct BlockCutter {
    pending: Vec<Envelope>,
    pending_bytes: u64,
}

/// What Fabric counts as a message's size: payload plus signature (messageSizeBytes).
pub fn message_size_bytes(envelope: &Envelope) -> u64 {
    (envelope.payload.len() + envelope.signature.len()) as u64
}

impl BlockCutter {
    /// Adds a normal envelope. Returns the batches cut by it (0, 1 or 2) and whether
    /// envelopes remain pending:
    /// - a message larger than PreferredMaxBytes cuts the pending batch and is cut alone;
    /// - a message that would overflow PreferredMaxBytes cuts the pending batch first;
    /// - reaching MaxMessageCount cuts the batch.
    pub fn ordered(&mut self, envelope: Envelope, size: BatchSize) -> (Vec<Vec<Envelope>>, bool) {
        let mut batches = Vec::new();
        let message_bytes = message_size_bytes(&envelope);
        if message_bytes > size.preferred_max_bytes {
            if !self.pending.is_empty() {
                batches.push(self.cut());
            }
            batches.push(vec![envelope]);
            return (batches, false);
        }
        if self.pending_bytes + message_bytes > size.preferred_max_bytes {
            batches.push(self.cut());
        }
        self.pending.push(envelope);
        self.pending_bytes += message_bytes;
        if self.pending.len() as u64 >= u64::from(size.max_message_count) {
            batches.push(self.cut());
            return (batches, false);
        }
        (batches, true)
    }

    /// Returns the pending batch (possibly empty) and starts a new one.
    pub fn cut(&mut self) -> Vec<Envelope> {
        self.pending_bytes = 0;
        std::mem::take(&mut self.pending)
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(bytes: usize) -> Envelope {
        Envelope {
            payload: vec![7; bytes],
            signature: Vec::new(),
        }
    }

    const SIZE: BatchSize = BatchSize {
        max_message_count: 3,
        preferred_max_bytes: 100,
    };

    #[test]
    fn cuts_at_max_message_count() {
        let mut cutter = BlockCutter::default();
        assert_eq!(cutter.ordered(envelope(10), SIZE), (vec![], true));
        assert_eq!(cutter.ordered(envelope(10), SIZE), (vec![], true));
        let (batches, pending) = cutter.ordered(envelope(10), SIZE);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), 3);
        assert!(!pending);
        assert_eq!(cutter.pending_count(), 0);
    }

    #[test]
    fn a_message_over_preferred_max_bytes_is_isolated() {
        let mut cutter = BlockCutter::default();
        cutter.ordered(envelope(10), SIZE);
        let (batches, pending) = cutter.ordered(envelope(101), SIZE);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].len(), 1);
        assert_eq!(message_size_bytes(&batches[1][0]), 101);
        assert!(!pending);
        // Alone, too: no empty batch before it.
        let (batches, _) = cutter.ordered(envelope(101), SIZE);
        assert_eq!(batches.len(), 1);
    }

    #[test]
    fn overflowing_preferred_max_bytes_cuts_the_pending_batch_first() {
        let mut cutter = BlockCutter::default();
        cutter.ordered(envelope(60), SIZE);
        let (batches, pending) = cutter.ordered(envelope(60), SIZE);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].len(), 1);
        assert!(pending);
        assert_eq!(cutter.pending_count(), 1);
        assert_eq!(cutter.cut().len(), 1);
        assert!(cutter.cut().is_empty());
    }
}
