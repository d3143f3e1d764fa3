//! What travels on node-to-node connections (Fabric's gRPC services, as framed postcard
//! messages over net/frame.rs): gossip between peers, a client's calls to its gateway peer,
//! the Gateway's endorse calls to other peers, discovery, and broadcast, deliver and cluster
//! traffic to ordering nodes.
//! Requests carry an `id` the reply repeats, as a gRPC stream would pair them.

use crate::fabric::crypto::SerializedIdentity;
use crate::fabric::deliver_wire::{BroadcastResponse, DeliverRequest, DeliverResponse};
use crate::fabric::gossip::{ConnEstablish, GossipMessage};
use crate::fabric::orderer::ClusterMessage;
use crate::fabric::types::{
    Envelope, Payload, ProposalResponse, Response, SignedProposal, ValidationCode,
};
use serde::{Deserialize, Serialize};

/// Ports, as Fabric's and the operator's defaults have them.
pub const PEER_PORT: u16 = 7051;
pub const ORDERER_PORT: u16 = 7050;
/// The grpc-web proxy the console reaches nodes through (the components' `grpcwp_url`).
pub const GRPC_WEB_PORT: u16 = 7443;
pub const PEER_OPERATIONS_PORT: u16 = 9443;
pub const ORDERER_OPERATIONS_PORT: u16 = 8443;
pub const CA_PORT: u16 = 7054;
pub const CA_OPERATIONS_PORT: u16 = 9444;
pub const CONSOLE_PORT: u16 = 443;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Wire {
    // Gossip (peer <-> peer): each side first sends its ConnEstablish.
    GossipHello(ConnEstablish),
    Gossip(GossipMessage),

    // The Gateway service of a peer.
    Endorse {
        id: u64,
        proposal: SignedProposal,
    },
    EndorseReply {
        id: u64,
        response: ProposalResponse,
    },
    /// Wait until `tx_id` is committed (or `timeout_ms` passes), as Gateway's CommitStatus.
    CommitStatus {
        id: u64,
        channel_id: String,
        tx_id: String,
        timeout_ms: u64,
    },
    CommitStatusReply {
        id: u64,
        status: CommitStatus,
    },
    /// The Gateway service (F internal/pkg/gateway) a client application calls on its one
    /// gateway peer: evaluate a query, collect the endorsements a transaction needs, submit
    /// the signed transaction to the ordering service. Commit status is `CommitStatus`.
    GatewayEvaluate {
        id: u64,
        proposal: SignedProposal,
    },
    GatewayEvaluateReply {
        id: u64,
        result: Result<Response, GatewayError>,
    },
    GatewayEndorse {
        id: u64,
        proposal: SignedProposal,
    },
    /// The prepared transaction, for the client to sign.
    GatewayEndorseReply {
        id: u64,
        result: Result<Payload, GatewayError>,
    },
    GatewaySubmit {
        id: u64,
        envelope: Envelope,
    },
    GatewaySubmitReply {
        id: u64,
        result: Result<(), GatewayError>,
    },
    /// Discovery's peer membership query, signed by the requester.
    Discover(DiscoverRequest),
    DiscoverReply {
        id: u64,
        reply: Result<Vec<DiscoveredPeer>, String>,
    },

    // The ordering service.
    /// The first message of a cluster connection: which consenter is calling, proven by a
    /// signature with its consenter certificate (Fabric authenticates with mutual TLS).
    ClusterHello {
        node_id: u64,
        identity: SerializedIdentity,
        signature: Vec<u8>,
    },
    Cluster(ClusterMessage),
    Broadcast {
        id: u64,
        envelope: Envelope,
    },
    BroadcastReply {
        id: u64,
        response: BroadcastResponse,
    },
    Deliver(DeliverRequest),
    Delivered(DeliverResponse),
}

/// A Gateway call's failure, as its gRPC status and details carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayError {
    pub code: GatewayCode,
    pub message: String,
    /// What each endorser or ordering node tried said.
    pub details: Vec<String>,
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)?;
        if !self.details.is_empty() {
            write!(f, " ({})", self.details.join("; "))?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GatewayCode {
    Unavailable,
    Aborted,
    DeadlineExceeded,
    FailedPrecondition,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitStatus {
    Committed {
        code: ValidationCode,
        block_number: u64,
    },
    /// Not committed within the wait.
    Timeout,
    /// The peer has not joined the channel.
    UnknownChannel,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoverRequest {
    pub id: u64,
    pub channel_id: String,
    pub requester: SerializedIdentity,
    /// Signature over `signed_bytes(channel_id, requester)`.
    pub signature: Vec<u8>,
}

impl DiscoverRequest {
    pub fn signed_bytes(channel_id: &str, requester: &SerializedIdentity) -> Vec<u8> {
        crate::fabric::types::encode(&("discover", channel_id, requester))
    }
}

/// One peer in a discovery answer (discovery's Peer: MSPID, LedgerHeight, Endpoint).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveredPeer {
    pub msp_id: String,
    pub endpoint: String,
    pub ledger_height: u64,
}

/// What a consenter signs to open a cluster connection to `to`.
pub fn cluster_hello_bytes(from: u64, to: u64, channel_id: &str) -> Vec<u8> {
    crate::fabric::types::encode(&("cluster", from, to, channel_id))
}
