//! Everything a peer keeps: its signing identity and local MSP, the ledgers of the channels
//! it joined, and the chaincodes installed on it. The node shell owns one [`PeerState`],
//! feeds it proposals (endorser.rs) and blocks ([`PeerState::commit`]).
//!
//! Persistence: [`PeerState`] holds only what a Fabric peer keeps on disk plus caches derived
//! from it, and each operation is all or nothing, so a shell may keep it as is across a
//! simulated crash. [`PeerState::into_disk`] and [`PeerState::restore`] give the durable
//! form (blocks per channel and installed chaincodes, serializable) for a node on a real
//! disk; restoring replays the blocks (see ledger.rs). The identity and local MSP come from
//! the node's configuration on restart, as a Fabric peer reads its msp directory.

use super::crypto::SigningIdentity;
use super::ledger::{CommitError, CommitSummary, Ledger, RecoverError};
use super::msp::{Msp, MspError};
use super::types::{Block, MspDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PeerError {
    #[error("the local MSP is invalid: {0}")]
    LocalMsp(#[from] MspError),
    #[error("channel {channel_id}: {source}")]
    Recover {
        channel_id: String,
        source: RecoverError,
    },
    #[error("this peer has not joined channel {channel_id}")]
    NotJoined { channel_id: String },
    #[error(transparent)]
    Commit(#[from] CommitError),
}

/// The durable form of a peer's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerDisk {
    /// The block store of every joined channel.
    pub channels: BTreeMap<String, Vec<Block>>,
    /// Installed chaincode packages: name -> version.
    pub installed: BTreeMap<String, String>,
}

/// A peer's state.
#[derive(Debug)]
pub struct PeerState {
    pub(crate) identity: SigningIdentity,
    pub(crate) local_msp: Msp,
    pub(crate) ledgers: BTreeMap<String, Ledger>,
    pub(crate) installed: BTreeMap<String, String>,
}

impl PeerState {
    /// A peer with nothing joined or installed.
    pub fn new(
        identity: SigningIdentity,
        local_msp: &MspDefinition,
    ) -> Result<PeerState, PeerError> {
        PeerState::restore(identity, local_msp, PeerDisk::default())
    }

    /// A peer restarted from its durable form.
    pub fn restore(
        identity: SigningIdentity,
        local_msp: &MspDefinition,
        disk: PeerDisk,
    ) -> Result<PeerState, PeerError> {
        let ledgers = disk
            .channels
            .into_iter()
            .map(|(channel_id, blocks)| match Ledger::recover(blocks) {
                Ok(ledger) => Ok((channel_id, ledger)),
                Err(source) => Err(PeerError::Recover { channel_id, source }),
            })
            .collect::<Result<_, _>>()?;
        Ok(PeerState {
            identity,
            local_msp: Msp::new(local_msp)?,
            ledgers,
            installed: disk.installed,
        })
    }

    /// The durable form, copied (a process saving its disk while it runs).
    pub fn to_disk(&self) -> PeerDisk {
        PeerDisk {
            channels: self
                .ledgers
                .iter()
                .map(|(channel_id, ledger)| (channel_id.clone(), ledger.blocks().to_vec()))
                .collect(),
            installed: self.installed.clone(),
        }
    }

    /// The durable form, moving the blocks out without copying them.
    pub fn into_disk(self) -> PeerDisk {
        PeerDisk {
            channels: self
                .ledgers
                .into_iter()
                .map(|(channel_id, ledger)| (channel_id, ledger.into_blocks()))
                .collect(),
            installed: self.installed,
        }
    }

    pub fn identity(&self) -> &SigningIdentity {
        &self.identity
    }

    pub fn msp_id(&self) -> &str {
        self.local_msp.msp_id()
    }

    pub fn ledger(&self, channel_id: &str) -> Option<&Ledger> {
        self.ledgers.get(channel_id)
    }

    /// The joined channels, in name order.
    pub fn channels(&self) -> impl Iterator<Item = &str> {
        self.ledgers.keys().map(String::as_str)
    }

    /// Installed chaincodes: name -> version.
    pub fn installed(&self) -> &BTreeMap<String, String> {
        &self.installed
    }

    /// Validates and commits a block of a joined channel (from the orderer or gossip).
    pub fn commit(&mut self, channel_id: &str, block: Block) -> Result<CommitSummary, PeerError> {
        let ledger = self
            .ledgers
            .get_mut(channel_id)
            .ok_or_else(|| PeerError::NotJoined {
                channel_id: channel_id.to_string(),
            })?;
        Ok(ledger.commit(block)?)
    }
}
