//! An ordering node's persistent state: the Raft log, hard state and conf state (Fabric's
//! WAL and snapshot directories, F orderer/consensus/etcdraft/storage.go) and the node's
//! block store (its ledger). The shell keeps an [`OrdererDisk`] outside the node: a crashed
//! node loses its memory, and the restarted node is rebuilt from the same disk.
//!
//! Everything the node writes here is durable at once, as if every write were fsynced
//! (Fabric syncs the WAL before it sends messages or applies entries, node.go run()).

use crate::fabric::types::{decode, Block, HeaderType};
use raft::eraftpb::ConfState;
use raft::storage::MemStorage;
use raft::Storage as _;
use std::sync::{Arc, Mutex, MutexGuard};

/// A handle to one ordering node's disk; clones share the same disk.
#[derive(Clone)]
pub struct OrdererDisk {
    raft: MemStorage,
    ledger: Arc<Mutex<BlockStore>>,
}

struct BlockStore {
    blocks: Vec<Arc<Block>>,
    /// Raft index of the entry that carried the last block written (Fabric keeps it in the
    /// block's etcdraft BlockMetadata.RaftIndex): entries up to it are never applied again.
    last_raft_index: u64,
    /// Number of the latest config block.
    last_config: u64,
}

impl OrdererDisk {
    /// A new disk holding the channel's genesis block (what `osnadmin channel join` gives a
    /// node) and no Raft state yet.
    pub fn new(genesis: Block) -> OrdererDisk {
        OrdererDisk {
            raft: MemStorage::new(),
            ledger: Arc::new(Mutex::new(BlockStore {
                last_config: genesis.number(),
                blocks: vec![Arc::new(genesis)],
                last_raft_index: 0,
            })),
        }
    }

    /// Number of blocks in the block store (the next block number).
    pub fn height(&self) -> u64 {
        self.ledger().blocks.len() as u64
    }

    /// The block with this number, if written.
    pub fn block(&self, number: u64) -> Option<Arc<Block>> {
        let index = usize::try_from(number).ok()?;
        self.ledger().blocks.get(index).cloned()
    }

    pub fn last_block(&self) -> Arc<Block> {
        let ledger = self.ledger();
        Arc::clone(
            ledger
                .blocks
                .last()
                .expect("a disk always holds its genesis block"),
        )
    }

    /// Number of the latest config block.
    pub fn last_config(&self) -> u64 {
        self.ledger().last_config
    }

    pub(super) fn last_raft_index(&self) -> u64 {
        self.ledger().last_raft_index
    }

    pub(super) fn raft_storage(&self) -> &MemStorage {
        &self.raft
    }

    /// True when no Raft state was ever persisted (Fabric: the WAL does not exist).
    pub(super) fn is_fresh(&self) -> bool {
        // MemStorage's initial_state never fails.
        self.raft
            .initial_state()
            .map(|state| !state.initialized())
            .unwrap_or(false)
    }

    /// Bootstraps a fresh Raft group with its voters (etcd/raft StartNode with peers).
    pub(super) fn bootstrap(&self, voters: Vec<u64>) {
        self.raft
            .initialize_with_conf_state(ConfState::from((voters, Vec::new())));
    }

    pub(super) fn append_block(&self, block: Arc<Block>, raft_index: u64) {
        let mut ledger = self.ledger();
        if is_config_block(&block) {
            ledger.last_config = block.number();
        }
        ledger.last_raft_index = raft_index;
        ledger.blocks.push(block);
    }

    fn ledger(&self) -> MutexGuard<'_, BlockStore> {
        // The store is only ever mutated by complete pushes, so a poisoned lock still holds
        // consistent data.
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A config block carries exactly one envelope, of header type CONFIG
/// (protoutil.IsConfigBlock).
pub fn is_config_block(block: &Block) -> bool {
    block.data.len() == 1
        && decode::<crate::fabric::types::Envelope>(&block.data[0])
            .ok()
            .and_then(|envelope| super::node::header_type(&envelope))
            == Some(HeaderType::Config)
}

impl std::fmt::Debug for OrdererDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OrdererDisk(height {})", self.height())
    }
}
