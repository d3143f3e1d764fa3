//! What the ordering node needs from the channel's resources: message validation, config
//! processing and block creation and signing. Fabric's etcdraft chain gets the same from
//! `consensus.ConsenterSupport` (F orderer/consensus/consensus.go) and the broadcast handler
//! from `msgprocessor.Processor` (F orderer/common/msgprocessor/msgprocessor.go).

use crate::fabric::crypto::SerializedIdentity;
use crate::fabric::deliver_wire::Status;
use crate::fabric::types::{Block, ChannelConfig, Envelope, Hash};
use std::time::Duration;
use thiserror::Error;

/// Why a message or request was refused, classified as Fabric's broadcast handler does
/// (F orderer/common/broadcast/broadcast.go, ClassifyError).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SupportError {
    /// Malformed, wrong channel, stale config sequence, too large...: BAD_REQUEST.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The signer does not satisfy the policy (msgprocessor.ErrPermissionDenied): FORBIDDEN.
    #[error("permission denied: {0}")]
    Forbidden(String),
}

impl SupportError {
    pub fn status(&self) -> Status {
        match self {
            SupportError::BadRequest(_) => Status::BadRequest,
            SupportError::Forbidden(_) => Status::Forbidden,
        }
    }
}

/// Fabric's protoutil.SignedData: what a policy is evaluated over.
#[derive(Clone, Copy, Debug)]
pub struct SignedData<'a> {
    pub data: &'a [u8],
    pub identity: &'a SerializedIdentity,
    pub signature: &'a [u8],
}

/// The channel's resources as one ordering node sees them. Implemented by the ledger side;
/// the node holds one per channel and replaces its config only through
/// [`ChannelSupport::apply_config_block`].
pub trait ChannelSupport {
    /// The channel this support serves.
    fn channel_id(&self) -> &str;

    /// The current channel config: its `sequence`, the orderer section's BatchTimeout,
    /// MaxMessageCount and consenters.
    fn config(&self) -> &ChannelConfig;

    /// ProcessNormalMsg: checks a normal (endorser transaction) envelope, including the
    /// channel's Writers policy over its signature. Returns the config sequence it was
    /// validated against.
    fn process_normal_message(&self, envelope: &Envelope) -> Result<u64, SupportError>;

    /// ProcessConfigUpdateMsg: checks a CONFIG_UPDATE envelope against the current config
    /// and its modification policies and turns it into a CONFIG envelope (the full new
    /// config, signed by this orderer, stamped `now`). Returns it with the config sequence
    /// it was validated against.
    fn process_config_update(
        &self,
        envelope: &Envelope,
        now: Duration,
    ) -> Result<(Envelope, u64), SupportError>;

    /// The channel's Readers policy, evaluated for a deliver request: a valid signature by a
    /// member of one of the channel's organizations.
    fn evaluate_readers(&self, signed: SignedData<'_>) -> Result<(), SupportError>;

    /// The next block: header with `number`, `previous_hash` and the data hash over the
    /// encoded envelopes; metadata left empty (each node signs its own copy).
    fn create_block(&self, number: u64, previous_hash: Hash, envelopes: &[Envelope]) -> Block;

    /// Signs a block as this ordering node writes it: the SIGNATURES metadata over the
    /// header and `last_config`, with this node's identity.
    fn sign_block(&self, block: &mut Block, last_config: u64);

    /// Makes the config carried by a committed config block the current one. Idempotent:
    /// the node also calls it at start with the latest config block of its block store.
    fn apply_config_block(&mut self, block: &Block) -> Result<(), SupportError>;
}
