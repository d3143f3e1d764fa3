//! What gossip needs from the rest of the peer, as small traits the shell implements: the
//! MSP and signing (Fabric's api.MessageCryptoService and api.SecurityAdvisor) and read access
//! to committed blocks (for state transfer).

use super::message::PkiId;
use crate::fabric::crypto::SerializedIdentity;
use crate::fabric::types::{Block, ChannelConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Identity and signature services of the local peer (Fabric's MessageCryptoService).
pub trait MessageCryptoService {
    /// Validates a peer identity against the MSPs the peer knows (its channels' MSPs) and
    /// returns the identity's organization (MSP ID); Err says why it is not valid.
    fn validate_peer_identity(&self, identity: &SerializedIdentity) -> Result<String, String>;

    /// True when `signature` is `identity`'s signature over `message`.
    fn verify(&self, identity: &SerializedIdentity, message: &[u8], signature: &[u8]) -> bool;

    /// Signs `message` with the local peer's identity.
    fn sign(&self, message: &[u8]) -> Vec<u8>;

    /// Checks a block before it is accepted, forwarded or committed (Fabric's VerifyBlock: the
    /// header's data hash and the ordering service's signatures per the channel's
    /// BlockValidation policy).
    fn verify_block(&self, channel_id: &str, block: &Block) -> Result<(), String>;

    /// The node joined a channel or took a newer config of it: MSPs and consenters may
    /// have changed.
    fn channel_config_updated(&mut self, _config: &ChannelConfig) {}
}

/// Read access to the peer's committed blocks (the ledger), for answering state transfer
/// requests.
pub trait LedgerBlocks {
    fn height(&self) -> u64;
    fn block(&self, number: u64) -> Option<Arc<Block>>;
}

/// A remote identity the node has validated, and its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KnownIdentity {
    pub identity: SerializedIdentity,
    pub org: String,
}

/// PKI-ID to identity (Fabric's identity.Mapper): filled from connection handshakes and alive
/// messages, each identity validated once.
#[derive(Debug, Default)]
pub(crate) struct IdentityMap {
    known: BTreeMap<PkiId, KnownIdentity>,
}

impl IdentityMap {
    /// Validates `identity` (unless already known) and returns its PKI-ID and organization.
    pub fn put(
        &mut self,
        crypto: &dyn MessageCryptoService,
        identity: &SerializedIdentity,
    ) -> Result<(PkiId, String), String> {
        let pki_id = PkiId::of(identity);
        if let Some(known) = self.known.get(&pki_id) {
            return Ok((pki_id, known.org.clone()));
        }
        let org = crypto.validate_peer_identity(identity)?;
        self.known.insert(
            pki_id,
            KnownIdentity {
                identity: identity.clone(),
                org: org.clone(),
            },
        );
        Ok((pki_id, org))
    }

    pub fn identity_of(&self, pki_id: &PkiId) -> Option<&SerializedIdentity> {
        self.known.get(pki_id).map(|k| &k.identity)
    }

    pub fn org_of(&self, pki_id: &PkiId) -> Option<&str> {
        self.known.get(pki_id).map(|k| k.org.as_str())
    }

    /// Verifies `signature` over `message` by the identity behind `pki_id`.
    pub fn verify(
        &self,
        crypto: &dyn MessageCryptoService,
        pki_id: &PkiId,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        self.known
            .get(pki_id)
            .is_some_and(|k| crypto.verify(&k.identity, message, signature))
    }
}
