//! What peers send each other over gossip: Fabric's gossip.GossipMessage
//! (fabric-protos gossip/message.proto), one enum variant per content type, encoded with
//! postcard like every other hadr structure.
//!
//! Signed parts carry the signature next to the signed content; `signed_bytes` says exactly
//! what is signed. Blocks and membership entries are behind `Arc` so that one block sent to
//! several peers, or one alive message held by several stores, is never copied.

use crate::fabric::crypto::{sha256, SerializedIdentity};
use crate::fabric::types::{encode, Block};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A peer's PKI-ID: SHA-256 of its serialized identity (Fabric's GetPKIidOfCert).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PkiId(pub [u8; 32]);

impl PkiId {
    pub fn of(identity: &SerializedIdentity) -> PkiId {
        PkiId(sha256(&encode(identity)))
    }
}

impl fmt::Debug for PkiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PkiId({self})")
    }
}

impl fmt::Display for PkiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0[..6]))
    }
}

/// Fabric's PeerTime: the incarnation (start time of the sender's process, in nanoseconds of
/// simulated time) and a sequence number within it. A later incarnation wins, then a higher
/// sequence number; the derived order is exactly that comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerTime {
    pub inc_num: u64,
    pub seq_num: u64,
}

/// gossip.AliveMessage: "I am alive, reach me at this endpoint".
///
/// The identity rides along only during the sender's first publishCertPeriod
/// (gossip_impl.go discoverySecurityAdapter.SignMessage); later, receivers must already hold
/// it (from a handshake or the identity pull, certstore.rs) or drop the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliveMessage {
    pub pki_id: PkiId,
    /// The external endpoint (peer.gossip.externalEndpoint); empty: never advertised to other
    /// organizations.
    pub external_endpoint: String,
    pub identity: Option<SerializedIdentity>,
    pub timestamp: PeerTime,
}

impl AliveMessage {
    pub fn signed_bytes(&self) -> Vec<u8> {
        encode(&("AliveMessage", self))
    }
}

/// The internal endpoint (peer.gossip.endpoint), Fabric's SecretEnvelope: only given to peers
/// of the sender's own organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    pub internal_endpoint: String,
    /// Signature over [`Secret::signed_bytes`].
    pub signature: Vec<u8>,
}

impl Secret {
    pub fn signed_bytes(alive: &AliveMessage, internal_endpoint: &str) -> Vec<u8> {
        encode(&("Secret", alive.pki_id, alive.timestamp, internal_endpoint))
    }
}

/// An alive message with its signature and, towards the own organization, its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAlive {
    pub alive: AliveMessage,
    pub signature: Vec<u8>,
    pub secret: Option<Secret>,
}

impl SignedAlive {
    pub fn internal_endpoint(&self) -> Option<&str> {
        self.secret.as_ref().map(|s| s.internal_endpoint.as_str())
    }

    /// The same message without its secret, for peers of other organizations.
    pub fn without_secret(self: &Arc<Self>) -> Arc<SignedAlive> {
        if self.secret.is_none() {
            return Arc::clone(self);
        }
        Arc::new(SignedAlive {
            alive: self.alive.clone(),
            signature: self.signature.clone(),
            secret: None,
        })
    }
}

/// gossip.StateInfo: a peer's ledger height on a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateInfo {
    pub pki_id: PkiId,
    /// Fabric sends a MAC of (PKI-ID, channel) instead, to hide channel names from outsiders.
    pub channel_id: String,
    pub timestamp: PeerTime,
    pub ledger_height: u64,
    pub left_channel: bool,
}

impl StateInfo {
    pub fn signed_bytes(&self) -> Vec<u8> {
        encode(&("StateInfo", self))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStateInfo {
    pub info: StateInfo,
    pub signature: Vec<u8>,
}

/// gossip.LeadershipMessage: a leader election proposal or declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadershipMessage {
    pub pki_id: PkiId,
    pub channel_id: String,
    pub timestamp: PeerTime,
    pub is_declaration: bool,
}

impl LeadershipMessage {
    pub fn signed_bytes(&self) -> Vec<u8> {
        encode(&("LeadershipMessage", self))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedLeadership {
    pub message: LeadershipMessage,
    pub signature: Vec<u8>,
}

/// gossip.ConnEstablish: the first frame on every gossip connection, in both directions. The
/// receiver learns who is at the other end (the connection's PKI-ID) from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnEstablish {
    pub identity: SerializedIdentity,
    /// Signature over [`ConnEstablish::signed_bytes`]. Fabric also binds the TLS certificate
    /// hash; hadr's connections have no TLS.
    pub signature: Vec<u8>,
}

impl ConnEstablish {
    pub fn signed_bytes(identity: &SerializedIdentity) -> Vec<u8> {
        encode(&("ConnEstablish", identity))
    }
}

/// Every message on a gossip connection after the [`ConnEstablish`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GossipMessage {
    /// Discovery: a peer's heartbeat, forwarded epidemically.
    Alive(Arc<SignedAlive>),
    /// Discovery: "here I am, who do you know?" (sent on connect, to dead peers, and every
    /// pullInterval to a few alive ones). A non-zero nonce asks for an acknowledgement.
    MembershipRequest {
        self_information: Arc<SignedAlive>,
        nonce: u64,
    },
    /// Discovery: the responder's view, filtered by its disclosure policy.
    MembershipResponse {
        alive: Vec<Arc<SignedAlive>>,
        dead: Vec<Arc<SignedAlive>>,
        nonce: u64,
    },
    /// Channel: a peer's ledger height.
    StateInfo(Arc<SignedStateInfo>),
    /// Channel: "send me the state info you have".
    StateInfoPullRequest { channel_id: String },
    StateInfoSnapshot {
        channel_id: String,
        elements: Vec<Arc<SignedStateInfo>>,
    },
    /// Channel: a block, pushed (gossip_impl.go Gossip of a DataMessage).
    DataMessage {
        channel_id: String,
        block: Arc<Block>,
    },
    /// Block pull, step 1 (GossipHello).
    PullHello { channel_id: String, nonce: u64 },
    /// Block pull, step 2: the block numbers the responder holds in memory.
    DataDigest {
        channel_id: String,
        nonce: u64,
        block_numbers: Vec<u64>,
    },
    /// Block pull, step 3: the block numbers wanted.
    DataRequest {
        channel_id: String,
        nonce: u64,
        block_numbers: Vec<u64>,
    },
    /// Block pull, step 4.
    DataUpdate {
        channel_id: String,
        nonce: u64,
        blocks: Vec<Arc<Block>>,
    },
    /// State transfer (anti-entropy): blocks `start..=end` from the responder's ledger.
    StateRequest {
        channel_id: String,
        nonce: u64,
        start: u64,
        end: u64,
    },
    StateResponse {
        channel_id: String,
        nonce: u64,
        blocks: Vec<Arc<Block>>,
    },
    /// Leader election proposal or declaration.
    Leadership(Arc<SignedLeadership>),
    /// Identity pull (certstore.go), step 1.
    IdentityHello { nonce: u64 },
    /// Step 2: the PKI-IDs whose identities the responder may share with the requester.
    IdentityDigest { nonce: u64, pki_ids: Vec<PkiId> },
    /// Step 3: those wanted.
    IdentityRequest { nonce: u64, pki_ids: Vec<PkiId> },
    /// Step 4: the identities (each names its own PKI-ID: the hash of the identity).
    IdentityUpdate {
        nonce: u64,
        identities: Vec<SerializedIdentity>,
    },
}

impl GossipMessage {
    /// The channel a channel-restricted message belongs to; None for discovery messages.
    pub fn channel_id(&self) -> Option<&str> {
        match self {
            GossipMessage::Alive(_)
            | GossipMessage::MembershipRequest { .. }
            | GossipMessage::MembershipResponse { .. }
            | GossipMessage::IdentityHello { .. }
            | GossipMessage::IdentityDigest { .. }
            | GossipMessage::IdentityRequest { .. }
            | GossipMessage::IdentityUpdate { .. } => None,
            GossipMessage::StateInfo(m) => Some(&m.info.channel_id),
            GossipMessage::Leadership(m) => Some(&m.message.channel_id),
            GossipMessage::StateInfoPullRequest { channel_id }
            | GossipMessage::StateInfoSnapshot { channel_id, .. }
            | GossipMessage::DataMessage { channel_id, .. }
            | GossipMessage::PullHello { channel_id, .. }
            | GossipMessage::DataDigest { channel_id, .. }
            | GossipMessage::DataRequest { channel_id, .. }
            | GossipMessage::DataUpdate { channel_id, .. }
            | GossipMessage::StateRequest { channel_id, .. }
            | GossipMessage::StateResponse { channel_id, .. } => Some(channel_id),
        }
    }

    /// A short name for the message type, for metrics and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            GossipMessage::Alive(_) => "alive",
            GossipMessage::MembershipRequest { .. } => "membership_request",
            GossipMessage::MembershipResponse { .. } => "membership_response",
            GossipMessage::StateInfo(_) => "state_info",
            GossipMessage::StateInfoPullRequest { .. } => "state_info_pull_request",
            GossipMessage::StateInfoSnapshot { .. } => "state_info_snapshot",
            GossipMessage::DataMessage { .. } => "data",
            GossipMessage::PullHello { .. } => "pull_hello",
            GossipMessage::DataDigest { .. } => "data_digest",
            GossipMessage::DataRequest { .. } => "data_request",
            GossipMessage::DataUpdate { .. } => "data_update",
            GossipMessage::StateRequest { .. } => "state_request",
            GossipMessage::StateResponse { .. } => "state_response",
            GossipMessage::Leadership(_) => "leadership",
            GossipMessage::IdentityHello { .. } => "identity_hello",
            GossipMessage::IdentityDigest { .. } => "identity_digest",
            GossipMessage::IdentityRequest { .. } => "identity_request",
            GossipMessage::IdentityUpdate { .. } => "identity_update",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::types::decode;

    fn identity(name: &str) -> SerializedIdentity {
        SerializedIdentity {
            msp_id: "Org1MSP".into(),
            certificate_der: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn peer_time_orders_by_incarnation_then_sequence() {
        let t = |inc_num, seq_num| PeerTime { inc_num, seq_num };
        assert!(t(1, 9) < t(2, 0));
        assert!(t(2, 1) < t(2, 2));
        assert_eq!(t(3, 3), t(3, 3));
    }

    #[test]
    fn pki_id_is_a_function_of_the_identity() {
        assert_eq!(PkiId::of(&identity("a")), PkiId::of(&identity("a")));
        assert_ne!(PkiId::of(&identity("a")), PkiId::of(&identity("b")));
        assert_eq!(format!("{}", PkiId([0xab; 32])), "abababababab");
    }

    #[test]
    fn stripping_the_secret_keeps_the_signed_part() {
        let alive = AliveMessage {
            pki_id: PkiId::of(&identity("a")),
            external_endpoint: "a:7051".into(),
            identity: Some(identity("a")),
            timestamp: PeerTime {
                inc_num: 1,
                seq_num: 2,
            },
        };
        let signed = Arc::new(SignedAlive {
            secret: Some(Secret {
                internal_endpoint: "a.internal:7051".into(),
                signature: vec![1],
            }),
            alive,
            signature: vec![2],
        });
        let stripped = signed.without_secret();
        assert_eq!(stripped.internal_endpoint(), None);
        assert_eq!(stripped.alive, signed.alive);
        assert_eq!(stripped.signature, signed.signature);
        let message = GossipMessage::Alive(stripped);
        let decoded: GossipMessage = decode(&encode(&message)).unwrap();
        assert_eq!(decoded, message);
        assert_eq!(decoded.channel_id(), None);
    }
}
