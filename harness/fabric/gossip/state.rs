//! The state provider (gossip/state/state.go): the payload buffer that hands blocks to the
//! committer in order, and anti-entropy state transfer.
//!
//! Blocks from gossip (push and pull) enter the buffer only when they are less than
//! blockBufferSize ahead of the ledger; blocks from the ordering service and from state
//! transfer always do. State transfer (peer.gossip.state.enabled, off by default since v2.2)
//! compares the ledger height with the highest height other channel peers advertise every
//! checkInterval and fetches the gap in batches of batchSize from a random peer high enough,
//! retrying maxRetries times per batch with responseTimeout each.

use super::message::PkiId;
use crate::fabric::types::Block;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Blocks waiting for their predecessors (payloads_buffer.go).
#[derive(Debug)]
pub(crate) struct PayloadBuffer {
    next: u64,
    blocks: BTreeMap<u64, Arc<Block>>,
}

impl PayloadBuffer {
    pub fn new(next: u64) -> PayloadBuffer {
        PayloadBuffer {
            next,
            blocks: BTreeMap::new(),
        }
    }

    /// Adds a block unless it was already delivered or is already waiting.
    pub fn push(&mut self, block: Arc<Block>) {
        let number = block.number();
        if number >= self.next {
            self.blocks.entry(number).or_insert(block);
        }
    }

    /// The next block in order, if it has arrived.
    pub fn pop(&mut self) -> Option<Arc<Block>> {
        let block = self.blocks.remove(&self.next)?;
        self.next += 1;
        Some(block)
    }

    /// The ledger reached `height` by other means: skip what it already has.
    pub fn skip_to(&mut self, height: u64) {
        if height > self.next {
            self.next = height;
            self.blocks = self.blocks.split_off(&height);
        }
    }

    /// gossip_payload_buffer_size.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }
}

/// An anti-entropy transfer in progress (requestBlocksInRange).
#[derive(Debug)]
pub(crate) struct Transfer {
    /// Next block wanted and last block of the range.
    pub next: u64,
    pub end: u64,
    pub nonce: u64,
    pub tries: u32,
    pub deadline: Duration,
}

impl Transfer {
    /// The last block number of the current batch.
    pub fn batch_end(&self, batch_size: u64) -> u64 {
        self.end.min(self.next + batch_size)
    }
}

#[derive(Debug)]
pub(crate) struct StateTransfer {
    pub next_check: Duration,
    pub active: Option<Transfer>,
}

impl StateTransfer {
    pub fn new(now: Duration, check_interval: Duration) -> StateTransfer {
        StateTransfer {
            next_check: now + check_interval,
            active: None,
        }
    }

    pub fn deadline(&self) -> Duration {
        match &self.active {
            Some(transfer) => transfer.deadline,
            None => self.next_check,
        }
    }
}

/// The peer to ask for blocks up to `batch_end`: any channel peer advertising at least that
/// height (selectPeerToRequestFrom; Fabric compares with `>=` the batch's last number).
pub(crate) fn peers_with_height(
    peers: impl Iterator<Item = (PkiId, String, u64)>,
    batch_end: u64,
) -> Vec<(PkiId, String)> {
    peers
        .filter(|(_, _, height)| *height >= batch_end)
        .map(|(pki_id, endpoint, _)| (pki_id, endpoint))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::types::{BlockHeader, BlockMetadata};

    fn block(number: u64) -> Arc<Block> {
        Arc::new(Block {
            header: BlockHeader {
                number,
                previous_hash: [0; 32],
                data_hash: [0; 32],
            },
            data: Vec::new(),
            metadata: BlockMetadata::default(),
        })
    }

    #[test]
    fn buffer_releases_blocks_in_order_once() {
        let mut buffer = PayloadBuffer::new(5);
        buffer.push(block(7));
        buffer.push(block(4));
        assert!(buffer.pop().is_none());
        buffer.push(block(5));
        buffer.push(block(5));
        assert_eq!(buffer.pop().unwrap().number(), 5);
        assert!(buffer.pop().is_none());
        buffer.push(block(6));
        assert_eq!(buffer.pop().unwrap().number(), 6);
        assert_eq!(buffer.pop().unwrap().number(), 7);
        assert_eq!(buffer.len(), 0);
        buffer.push(block(9));
        buffer.push(block(12));
        buffer.skip_to(10);
        assert_eq!(buffer.len(), 1);
        buffer.push(block(10));
        assert_eq!(buffer.pop().unwrap().number(), 10);
    }

    #[test]
    fn batches_end_at_the_range_end() {
        let transfer = Transfer {
            next: 3,
            end: 30,
            nonce: 1,
            tries: 0,
            deadline: Duration::ZERO,
        };
        assert_eq!(transfer.batch_end(10), 13);
        let last = Transfer {
            next: 25,
            ..transfer
        };
        assert_eq!(last.batch_end(10), 30);
        let peers = vec![
            (PkiId([1; 32]), "a".to_string(), 12),
            (PkiId([2; 32]), "b".to_string(), 13),
        ];
        assert_eq!(peers_with_height(peers.into_iter(), 13).len(), 1);
    }
}
