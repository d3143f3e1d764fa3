//! The [`ChannelSupport`] of a simulated ordering node, made of the ledger side's parts:
//! the channel bundle (configtx), the broadcast checks (broadcast), block making and
//! signing (blocks) and the MSPs (msp).

use super::support::{ChannelSupport, SignedData, SupportError};
use crate::fabric::blocks::{new_block, sign_block};
use crate::fabric::broadcast::{
    process_config_update, validate_broadcast, BroadcastError, BroadcastKind,
};
use crate::fabric::configtx::ChannelBundle;
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::types::{
    decode, encode, Block, ChannelConfig, Envelope, Hash, Payload, PayloadData,
};
use std::sync::Arc;
use std::time::Duration;

/// One ordering node's view of its channel: the current bundle and the node's identity,
/// which signs CONFIG transactions and blocks.
pub struct ConsenterSupport {
    bundle: ChannelBundle,
    signer: Arc<SigningIdentity>,
}

impl ConsenterSupport {
    /// Support starting from `bundle`; the node replaces it with its latest config block's
    /// config when it starts.
    pub fn new(bundle: ChannelBundle, signer: Arc<SigningIdentity>) -> ConsenterSupport {
        ConsenterSupport { bundle, signer }
    }
}

/// broadcast.go ClassifyError, as the ledger side's `BroadcastError::status` gives it.
fn classify(error: BroadcastError) -> SupportError {
    if error.status() == 403 {
        SupportError::Forbidden(error.to_string())
    } else {
        SupportError::BadRequest(error.to_string())
    }
}

impl ChannelSupport for ConsenterSupport {
    fn channel_id(&self) -> &str {
        self.bundle.channel_id()
    }

    fn config(&self) -> &ChannelConfig {
        self.bundle.config()
    }

    fn process_normal_message(&self, envelope: &Envelope) -> Result<u64, SupportError> {
        match validate_broadcast(&self.bundle, &encode(envelope)).map_err(classify)? {
            BroadcastKind::Normal => Ok(self.bundle.config().sequence),
            BroadcastKind::ConfigUpdate => Err(SupportError::BadRequest(
                "a config update is not a normal message".into(),
            )),
        }
    }

    fn process_config_update(
        &self,
        envelope: &Envelope,
        now: Duration,
    ) -> Result<(Envelope, u64), SupportError> {
        let accepted = process_config_update(&self.bundle, &encode(envelope), &self.signer, now)
            .map_err(classify)?;
        let config = decode(&accepted.config_envelope)
            .map_err(|e| SupportError::BadRequest(format!("undecodable config envelope: {e}")))?;
        Ok((config, self.bundle.config().sequence))
    }

    fn evaluate_readers(&self, signed: SignedData<'_>) -> Result<(), SupportError> {
        // policy.rs: Readers is the Writers set in hadr, any member of a channel org.
        self.bundle
            .msps()
            .verify(signed.identity, signed.data, signed.signature)
            .map(|_| ())
            .map_err(|e| SupportError::Forbidden(e.to_string()))
    }

    fn create_block(&self, number: u64, previous_hash: Hash, envelopes: &[Envelope]) -> Block {
        new_block(
            number,
            previous_hash,
            envelopes.iter().map(encode).collect(),
        )
    }

    fn sign_block(&self, block: &mut Block, last_config: u64) {
        sign_block(block, &self.signer, last_config);
    }

    fn apply_config_block(&mut self, block: &Block) -> Result<(), SupportError> {
        let config = block
            .data
            .first()
            .and_then(|bytes| decode::<Envelope>(bytes).ok())
            .and_then(|envelope| decode::<Payload>(&envelope.payload).ok())
            .and_then(|payload| match payload.data {
                PayloadData::Config(config) => Some(config.config),
                _ => None,
            })
            .ok_or_else(|| SupportError::BadRequest("not a config block".into()))?;
        self.bundle =
            ChannelBundle::new(config).map_err(|e| SupportError::BadRequest(e.to_string()))?;
        Ok(())
    }
}
