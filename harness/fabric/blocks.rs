//! Making, signing and checking blocks (F protoutil/blockutils.go,
//! orderer/common/multichannel/blockwriter.go, core/common/validation's block checks).
//!
//! An ordering node makes a block from a batch of envelopes ([`new_block`]) and signs it
//! ([`sign_block`]): the signature covers the header and the number of the latest config
//! block, as Fabric's SIGNATURES metadata does. Each ordering node writing the block signs
//! it itself, so metadata differs between ordering nodes while the header, and so the block
//! hash, is the same everywhere. Peers accept a block only with a valid signature of one of
//! the channel's consenters ([`verify_block_signature`], what Fabric's BlockValidation
//! policy checks for etcdraft channels) and gossip checks the same before relaying.

use super::configtx::ChannelBundle;
use super::crypto::{verify, SigningIdentity};
use super::types::{Block, BlockHeader, BlockMetadata, Hash, MetadataSignature};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BlockSignatureError {
    #[error("block {number} carries no signature of a consenter of channel {channel_id} ({signatures} signatures, none valid)")]
    NoConsenterSignature {
        number: u64,
        channel_id: String,
        signatures: usize,
    },
}

/// A block of `envelopes` (each an encoded `Envelope`) following `previous_hash`.
pub fn new_block(number: u64, previous_hash: Hash, envelopes: Vec<Vec<u8>>) -> Block {
    Block {
        header: BlockHeader {
            number,
            previous_hash,
            data_hash: Block::compute_data_hash(&envelopes),
        },
        data: envelopes,
        metadata: BlockMetadata::default(),
    }
}

/// Adds `signer`'s signature to `block`. `last_config` is the number of the latest config
/// block, the block's own number when it is a config block.
pub fn sign_block(block: &mut Block, signer: &SigningIdentity, last_config: u64) {
    block.metadata.last_config = last_config;
    let signed = BlockMetadata::signed_bytes(&block.header, last_config);
    block.metadata.signatures.push(MetadataSignature {
        signer: signer.serialized(),
        signature: signer.sign(&signed),
    });
}

/// Checks that a consenter of the channel signed `block`.
pub fn verify_block_signature(
    bundle: &ChannelBundle,
    block: &Block,
) -> Result<(), BlockSignatureError> {
    let signed = BlockMetadata::signed_bytes(&block.header, block.metadata.last_config);
    let valid = block.metadata.signatures.iter().any(|signature| {
        bundle
            .consenter(&signature.signer)
            .is_some_and(|certificate| {
                verify(&certificate.public_key, &signed, &signature.signature)
            })
    });
    if valid {
        Ok(())
    } else {
        Err(BlockSignatureError::NoConsenterSignature {
            number: block.header.number,
            channel_id: bundle.channel_id().to_string(),
            signatures: block.metadata.signatures.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;
    use crate::fabric::crypto::NodeOu;
    use crate::fabric::cryptogen::OrgCrypto;
    use crate::fabric::types::Endpoint;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn only_consenter_signatures_over_the_header_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let mut orderer_org = OrgCrypto::generate("OrdererMSP", &mut rng).unwrap();
        let consenter = orderer_org
            .enroll("orderer0", NodeOu::Orderer, &mut rng)
            .unwrap();
        let other_orderer = orderer_org
            .enroll("orderer1", NodeOu::Orderer, &mut rng)
            .unwrap();
        let endpoint = Endpoint {
            host: "orderer0".into(),
            port: 7050,
        };
        let ordering = FabricConfig::default().ordering;
        let config =
            orderer_org.channel_config("channel1", &[(endpoint, &consenter)], &[], &ordering);
        let bundle = ChannelBundle::new(config).unwrap();
        let block = new_block(1, [7; 32], vec![vec![1], vec![2]]);
        assert_eq!(
            block.header.data_hash,
            Block::compute_data_hash(&block.data)
        );

        let mut signed = block.clone();
        sign_block(&mut signed, &consenter, 0);
        assert!(verify_block_signature(&bundle, &signed).is_ok());
        assert_eq!(signed.hash(), block.hash());

        // A member of the ordering org that is not a consenter.
        let mut by_other = block.clone();
        sign_block(&mut by_other, &other_orderer, 0);
        assert!(verify_block_signature(&bundle, &by_other).is_err());

        // The signature covers the header and last_config.
        let mut tampered = signed.clone();
        tampered.header.number = 2;
        assert!(verify_block_signature(&bundle, &tampered).is_err());
        let mut tampered = signed;
        tampered.metadata.last_config = 1;
        assert!(verify_block_signature(&bundle, &tampered).is_err());
        assert!(verify_block_signature(&bundle, &block).is_err());
    }
}
