//! The Raft ordering service node (Fabric's etcdraft orderer), sans-IO.
//!
//! - [`node`]: Raft consensus, block cutting on the leader, broadcast and forwarding;
//! - [`deliver`]: the Deliver service over the node's own block store;
//! - [`support`]: what the node needs from the channel's resources ([`ChannelSupport`]);
//! - [`channel`]: that support made of the ledger side's parts ([`ConsenterSupport`]);
//! - [`disk`]: the node's persistent Raft state and block store;
//! - [`cluster`]: messages between ordering nodes;
//! - [`blockcutter`]: batching envelopes into blocks.
//!
//! # Driving a node (the shell's part)
//! - Create an [`OrdererDisk`] per node from the genesis block and keep it outside the node:
//!   after a crash, build a new [`OrdererNode`] from the same disk (Raft resumes from its log
//!   and hard state, the block store keeps its blocks).
//! - Timer: call [`OrdererNode::handle_timeout`] at [`OrdererNode::next_deadline`]
//!   (re-read it after every call). It runs the Raft tick every TickInterval and the batch
//!   timer; there is no separate tick call.
//! - Inputs: [`OrdererNode::handle_cluster_message`] for what another consenter sent (the
//!   shell authenticates the sender and gives its Raft ID, 1-based in the order of the
//!   channel config's consenters); [`OrdererNode::broadcast`] for a client's envelope;
//!   [`OrdererNode::deliver`] / [`OrdererNode::deliver_poll`] for deliver streams;
//!   [`OrdererNode::report_unreachable`] when a send to a consenter failed.
//! - After every input, drain [`OrdererNode::poll_output`]:
//!   [`Output::Send`] goes to that consenter over the cluster connection (encode the
//!   [`ClusterMessage`] with `types::encode`); [`Output::BroadcastResponse`] answers a
//!   broadcast that got [`BroadcastOutcome::Queued`]; [`Output::BlockWritten`] and
//!   [`Output::RaftStateChanged`] mean waiting deliver streams must poll again.

pub mod blockcutter;
pub mod channel;
pub mod cluster;
pub mod deliver;
pub mod disk;
pub mod node;
pub mod support;

pub use channel::ConsenterSupport;
pub use cluster::{ClusterMessage, ClusterMetadata, ConsensusRequest, SubmitRequest};
pub use deliver::{DeliverCursor, DeliverPoll};
pub use disk::OrdererDisk;
pub use node::{
    BroadcastOutcome, BroadcastResponse, BroadcastTicket, OrdererError, OrdererMetrics,
    OrdererNode, Output,
};
pub use support::{ChannelSupport, SignedData, SupportError};

#[cfg(test)]
mod tests;
