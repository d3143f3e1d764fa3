//! What an ordering node checks when a client broadcasts an envelope
//! (F orderer/common/msgprocessor/standardchannel.go, orderer/common/broadcast/broadcast.go).
//!
//! Every envelope must be for the channel and signed by a channel member (the Writers
//! policy, Fabric's sigfilter); a failure there is FORBIDDEN (403), anything malformed is
//! BAD_REQUEST (400), as broadcast.go ClassifyError maps them. A CONFIG_UPDATE is then
//! checked against the current config and turned into the CONFIG transaction to order, which
//! Fabric orders alone in its own block (the ordering service cuts the pending batch first).

use super::configtx::{config_transaction, decode_config_update, ChannelBundle, ConfigError};
use super::crypto::SigningIdentity;
use super::policy::{check_writers, PolicyError};
use super::types::{decode, encode, ChannelConfig, Envelope, HeaderType, Payload};
use std::time::Duration;
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BroadcastKind {
    /// An endorser transaction: batched into the next block.
    Normal,
    /// A config update: process with [`process_config_update`], order alone.
    ConfigUpdate,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BroadcastError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(PolicyError),
    #[error("bad config update: {0}")]
    Config(ConfigError),
}

impl BroadcastError {
    /// The common.Status the ordering service answers with.
    pub fn status(&self) -> u16 {
        match self {
            BroadcastError::Forbidden(_) => 403,
            BroadcastError::BadRequest(_) | BroadcastError::Config(_) => 400,
        }
    }
}

/// Checks a broadcast envelope (as received, encoded) for `bundle`'s channel and says how to
/// order it.
pub fn validate_broadcast(
    bundle: &ChannelBundle,
    envelope_bytes: &[u8],
) -> Result<BroadcastKind, BroadcastError> {
    check_envelope(bundle, envelope_bytes).map(|(kind, _)| kind)
}

fn check_envelope(
    bundle: &ChannelBundle,
    envelope_bytes: &[u8],
) -> Result<(BroadcastKind, Envelope), BroadcastError> {
    let envelope: Envelope = decode(envelope_bytes)
        .map_err(|e| BroadcastError::BadRequest(format!("undecodable envelope: {e}")))?;
    let payload: Payload = decode(&envelope.payload)
        .map_err(|e| BroadcastError::BadRequest(format!("undecodable payload: {e}")))?;
    if payload.header.channel_id != bundle.channel_id() {
        return Err(BroadcastError::BadRequest(format!(
            "envelope for channel {} sent to channel {}",
            payload.header.channel_id,
            bundle.channel_id()
        )));
    }
    check_writers(
        bundle.msps(),
        &payload.header.creator,
        &envelope.payload,
        &envelope.signature,
    )
    .map_err(BroadcastError::Forbidden)?;
    let kind =
        match payload.header.header_type {
            HeaderType::EndorserTransaction => BroadcastKind::Normal,
            HeaderType::ConfigUpdate => BroadcastKind::ConfigUpdate,
            HeaderType::Config => return Err(BroadcastError::BadRequest(
                "CONFIG transactions are made by the ordering service, broadcast a CONFIG_UPDATE"
                    .into(),
            )),
        };
    Ok((kind, envelope))
}

/// A config update accepted by the ordering service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedConfigUpdate {
    /// The encoded CONFIG transaction to order, alone in its block.
    pub config_envelope: Vec<u8>,
    /// The channel config after the update.
    pub config: ChannelConfig,
}

/// Validates a broadcast CONFIG_UPDATE against the current config and signs the resulting
/// CONFIG transaction as `orderer`, at simulated time `now`.
pub fn process_config_update(
    bundle: &ChannelBundle,
    envelope_bytes: &[u8],
    orderer: &SigningIdentity,
    now: Duration,
) -> Result<AcceptedConfigUpdate, BroadcastError> {
    let (kind, envelope) = check_envelope(bundle, envelope_bytes)?;
    if kind != BroadcastKind::ConfigUpdate {
        return Err(BroadcastError::BadRequest(
            "not a CONFIG_UPDATE envelope".into(),
        ));
    }
    let (_, update) = decode_config_update(&envelope).map_err(BroadcastError::Config)?;
    let config = bundle
        .apply_update(&update)
        .map_err(BroadcastError::Config)?;
    let transaction = config_transaction(config.clone(), envelope, orderer, now.as_millis() as u64);
    Ok(AcceptedConfigUpdate {
        config_envelope: encode(&transaction),
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::invocation::AssetCall;
    use crate::fabric::testnet::{Signer, TestNetwork, CHANNEL_ID};
    use crate::fabric::types::Endpoint;

    fn anchor_update(network: &mut TestNetwork, signer: Signer, channel_id: &str) -> Vec<u8> {
        let anchors = vec![Endpoint {
            host: "peer0.org1.example.com".into(),
            port: 7051,
        }];
        encode(&network.anchor_peers_update(signer, channel_id, "Org1MSP", anchors, 0))
    }

    #[test]
    fn broadcasts_are_classified_and_checked_for_channel_and_writers() {
        let mut network = TestNetwork::new(61, 2, 1);
        let (transaction, _) =
            network.asset_transaction(0, AssetCall::AssetExists { id: "a".into() });
        let update = anchor_update(&mut network, Signer::Admin(0), CHANNEL_ID);
        let other_channel = anchor_update(&mut network, Signer::Admin(0), "other");
        let bundle = &network.orderer.bundle;
        assert_eq!(
            validate_broadcast(bundle, &transaction),
            Ok(BroadcastKind::Normal)
        );
        assert_eq!(
            validate_broadcast(bundle, &update),
            Ok(BroadcastKind::ConfigUpdate)
        );

        let error = validate_broadcast(bundle, &[1, 2, 3]).unwrap_err();
        assert_eq!(error.status(), 400);
        assert_eq!(
            validate_broadcast(bundle, &other_channel)
                .unwrap_err()
                .status(),
            400
        );
        let mut forged: Envelope = decode(&transaction).unwrap();
        forged.signature = network.clients[1].sign(b"not the payload");
        let error = validate_broadcast(bundle, &encode(&forged)).unwrap_err();
        assert_eq!(error.status(), 403, "{error}");
        let config_tx = crate::fabric::configtx::genesis_block(bundle.config())
            .data
            .remove(0);
        assert!(validate_broadcast(bundle, &config_tx).is_err());
    }

    #[test]
    fn config_updates_become_signed_config_transactions() {
        let mut network = TestNetwork::new(62, 2, 1);
        let right_admin = anchor_update(&mut network, Signer::Admin(0), CHANNEL_ID);
        let wrong_admin = anchor_update(&mut network, Signer::Admin(1), CHANNEL_ID);
        let bundle = &network.orderer.bundle;
        let orderer = &network.orderer.identity;
        let now = Duration::from_secs(5);
        let accepted = process_config_update(bundle, &right_admin, orderer, now).unwrap();
        assert_eq!(accepted.config.sequence, 1);
        let envelope: Envelope = decode(&accepted.config_envelope).unwrap();
        let payload: Payload = decode(&envelope.payload).unwrap();
        assert_eq!(payload.header.header_type, HeaderType::Config);
        assert_eq!(payload.header.timestamp_ms, 5000);
        assert_eq!(payload.header.creator, orderer.serialized());
        let error = process_config_update(bundle, &wrong_admin, orderer, now).unwrap_err();
        assert!(
            matches!(error, BroadcastError::Config(ConfigError::Policy(_))),
            "{error}"
        );
        assert_eq!(error.status(), 400);
        let garbage = process_config_update(bundle, &[0], orderer, now).unwrap_err();
        assert_eq!(garbage.status(), 400);
    }
}
