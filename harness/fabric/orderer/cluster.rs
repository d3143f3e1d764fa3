//! Messages between the ordering nodes of a channel, over the cluster connection (Fabric's
//! cluster service `Step` stream: F orderer/common/cluster/comm.go, protos orderer/cluster.proto).
//! The shell authenticates the sender (Fabric: the consenter's TLS certificate) and passes
//! its Raft ID with the message.

use crate::fabric::types::Envelope;
use serde::{Deserialize, Serialize};

/// orderer.StepRequest: consensus traffic or a forwarded transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterMessage {
    Consensus(ConsensusRequest),
    Submit(SubmitRequest),
}

/// orderer.ConsensusRequest: one Raft message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusRequest {
    pub channel: String,
    /// A protobuf-encoded `raft::eraftpb::Message`.
    pub payload: Vec<u8>,
    /// The leader's view of active nodes, piggybacked once per change and destination
    /// (etcdraft Disseminator and ClusterMetadata).
    pub metadata: Option<ClusterMetadata>,
}

/// etcdraft.ClusterMetadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMetadata {
    pub active_nodes: Vec<u64>,
}

/// orderer.SubmitRequest: a validated envelope on its way to the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitRequest {
    pub channel: String,
    /// The config sequence the envelope was validated against; the leader validates again
    /// when its config has moved on.
    pub last_validation_seq: u64,
    pub payload: Envelope,
}
