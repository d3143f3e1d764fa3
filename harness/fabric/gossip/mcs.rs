//! The message crypto service of a peer on one channel, backed by the channel's MSPs and
//! consenters (Fabric's internal/peer/gossip/mcs.go): identities are valid when the peer's
//! local MSP or the channel MSP they name validates them (mcs.go getValidatedIdentity tries
//! the local deserializer first, which is how a peer whose organization is not yet in the
//! channel config still knows itself and its organization's peers), signatures are real
//! ECDSA checks, and a block is accepted when its data matches its header and a consenter of
//! the channel signed it.

use super::security::MessageCryptoService;
use crate::fabric::blocks::verify_block_signature;
use crate::fabric::configtx::{ChannelBundle, ConfigError};
use crate::fabric::crypto::{SerializedIdentity, SigningIdentity};
use crate::fabric::msp::Msp;
use crate::fabric::types::{Block, ChannelConfig, MspDefinition};

pub struct ChannelMcs {
    signer: SigningIdentity,
    local_msp: Msp,
    bundle: ChannelBundle,
}

impl ChannelMcs {
    /// The peer's signer, its local MSP and the channel config it currently holds.
    pub fn new(
        signer: SigningIdentity,
        local_msp: &MspDefinition,
        config: &ChannelConfig,
    ) -> Result<ChannelMcs, ConfigError> {
        Ok(ChannelMcs {
            signer,
            local_msp: Msp::new(local_msp)?,
            bundle: ChannelBundle::new(config.clone())?,
        })
    }
}

impl MessageCryptoService for ChannelMcs {
    fn validate_peer_identity(&self, identity: &SerializedIdentity) -> Result<String, String> {
        if let Ok(local) = self.local_msp.validate(identity) {
            return Ok(local.msp_id.clone());
        }
        let validated = self
            .bundle
            .msps()
            .validate(identity)
            .map_err(|e| e.to_string())?;
        Ok(validated.msp_id.clone())
    }

    fn verify(&self, identity: &SerializedIdentity, message: &[u8], signature: &[u8]) -> bool {
        self.local_msp.verify(identity, message, signature).is_ok()
            || self
                .bundle
                .msps()
                .verify(identity, message, signature)
                .is_ok()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.signer.sign(message)
    }

    fn verify_block(&self, channel_id: &str, block: &Block) -> Result<(), String> {
        if channel_id != self.bundle.channel_id() {
            return Err(format!("no config for channel {channel_id}"));
        }
        if Block::compute_data_hash(&block.data) != block.header.data_hash {
            return Err(format!(
                "block {}: data does not match its header",
                block.number()
            ));
        }
        verify_block_signature(&self.bundle, block).map_err(|e| e.to_string())
    }

    fn channel_config_updated(&mut self, config: &ChannelConfig) {
        // A config the orderer signed and the committer validated; one hadr cannot parse
        // keeps the previous MSPs, as a peer keeps its last good bundle.
        if let Ok(bundle) = ChannelBundle::new(config.clone()) {
            self.bundle = bundle;
        }
    }
}

impl std::fmt::Debug for ChannelMcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelMcs")
            .field("signer", &self.signer)
            .field("channel_id", &self.bundle.channel_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::blocks::{new_block, sign_block};
    use crate::fabric::config::FabricConfig;
    use crate::fabric::crypto::NodeOu;
    use crate::fabric::cryptogen::OrgCrypto;
    use crate::fabric::gossip::{GossipMessage, GossipNode, LedgerBlocks, Output, PeerSelf};
    use crate::fabric::types::Endpoint;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::sync::Arc;
    use std::time::Duration;

    struct Genesis;

    impl LedgerBlocks for Genesis {
        fn height(&self) -> u64 {
            1
        }
        fn block(&self, _number: u64) -> Option<Arc<Block>> {
            None
        }
    }

    #[test]
    fn two_peers_with_real_identities_meet_through_an_anchor_and_accept_only_signed_blocks() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).unwrap();
        let mut org1 = OrgCrypto::generate("Org1MSP", &mut rng).unwrap();
        let mut outsider_org = OrgCrypto::generate("Org9MSP", &mut rng).unwrap();
        let consenter = orderer_org
            .enroll("orderer0", NodeOu::Orderer, &mut rng)
            .unwrap();
        let endpoint = Endpoint {
            host: "orderer0".into(),
            port: 7050,
        };
        let mut config = orderer_org.channel_config(
            "channel1",
            &[(endpoint, &consenter)],
            &[&org1],
            &FabricConfig::default().ordering,
        );
        config
            .application
            .get_mut("Org1MSP")
            .unwrap()
            .anchor_peers
            .push(Endpoint {
                host: "peer0.org1".into(),
                port: 7051,
            });
        let node = |name: &str, org: &mut OrgCrypto, rng: &mut ChaCha8Rng| {
            let signer = org.enroll(name, NodeOu::Peer, rng).unwrap();
            let peer = PeerSelf {
                identity: signer.serialized(),
                endpoint: format!("{name}:7051"),
                external_endpoint: format!("{name}:7051"),
                bootstrap_peers: Vec::new(),
            };
            let mcs = ChannelMcs::new(signer, &org.msp_definition(), &config).unwrap();
            let seed = ChaCha8Rng::seed_from_u64(rand::RngCore::next_u64(rng));
            let mut node = GossipNode::new(
                &FabricConfig::default(),
                peer,
                Box::new(mcs),
                seed,
                Duration::ZERO,
            )
            .unwrap();
            node.join_channel(Duration::ZERO, &config, 1).unwrap();
            node
        };
        let mut anchor = node("peer0.org1", &mut org1, &mut rng);
        let mut other = node("peer1.org1", &mut org1, &mut rng);
        // A member's message crypto service refuses an identity of an org outside the
        // channel, and accepts its own org's peers through its local MSP.
        let member = org1.enroll("peer2.org1", NodeOu::Peer, &mut rng).unwrap();
        let member_mcs = ChannelMcs::new(member, &org1.msp_definition(), &config).unwrap();
        let outsider = outsider_org
            .enroll("peer0.org9", NodeOu::Peer, &mut rng)
            .unwrap();
        assert!(member_mcs
            .validate_peer_identity(&outsider.serialized())
            .is_err());
        let peer = org1.enroll("peer3.org1", NodeOu::Peer, &mut rng).unwrap();
        assert_eq!(
            member_mcs.validate_peer_identity(&peer.serialized()),
            Ok("Org1MSP".to_string())
        );

        // peer1 dials its anchor: real handshakes both ways, then a membership request.
        let now = Duration::from_secs(1);
        assert!(anchor
            .handle_conn_establish(now, None, &other.conn_establish())
            .is_ok());
        while other.poll_output().is_some() {}
        other
            .handle_conn_establish(now, Some("peer0.org1:7051"), &anchor.conn_establish())
            .unwrap();
        let request = std::iter::from_fn(|| other.poll_output())
            .find_map(|o| match o {
                Output::Send { message, .. } => Some(message),
                _ => None,
            })
            .unwrap();
        anchor.handle_message(now, other.pki_id(), request, &Genesis);
        assert_eq!(anchor.known_members()[0].pki_id, other.pki_id());

        // Blocks: only a consenter's signature over the header counts.
        let signer = org1.enroll("x", NodeOu::Peer, &mut rng).unwrap();
        let mcs = ChannelMcs::new(signer, &org1.msp_definition(), &config).unwrap();
        let mut block = new_block(1, [0; 32], vec![b"tx".to_vec()]);
        assert!(mcs.verify_block("channel1", &block).is_err());
        sign_block(&mut block, &org1.admin, 0);
        assert!(mcs.verify_block("channel1", &block).is_err());
        sign_block(&mut block, &consenter, 0);
        assert!(mcs.verify_block("channel1", &block).is_ok());
        assert!(mcs.verify_block("channel2", &block).is_err());
        let mut tampered = block.clone();
        tampered.data.push(b"extra".to_vec());
        assert!(mcs.verify_block("channel1", &tampered).is_err());
        let pushed = GossipMessage::DataMessage {
            channel_id: "channel1".into(),
            block: Arc::new(block),
        };
        anchor.handle_message(now, other.pki_id(), pushed, &Genesis);
        let committed = std::iter::from_fn(|| anchor.poll_output())
            .any(|o| matches!(o, Output::DeliverToCommitter(_)));
        assert!(
            committed,
            "a consenter-signed block from an own-org peer is committed"
        );
    }
}
