//! A peer's gossip and block delivery, as Fabric v2.5 does them, free of IO (quinn-proto
//! style): [`GossipNode`] takes inputs with the current simulated time and produces
//! [`Output`]s; the async shell around it owns connections and timers.
//!
//! What the shell does:
//! - Connections: every gossip connection (dialled or accepted) starts with each side sending
//!   [`GossipNode::conn_establish`]; the frame received goes to
//!   [`GossipNode::handle_conn_establish`] (with the dialled endpoint, if we dialled), whose
//!   PKI-ID names the connection (a newer connection for the same PKI-ID replaces the older).
//!   Later frames are [`GossipMessage`]s for [`GossipNode::handle_message`].
//! - [`Output::Send`]: send on the connection to `to`; without one, dial `endpoint` (within
//!   peer.gossip.dialTimeout) or drop the message if there is no endpoint (a reply whose
//!   connection is gone). A failed dial or send is [`GossipNode::handle_dial_failed`] with the
//!   PKI-ID (comm presumes the peer dead). A connection to a host that stops answering does not
//!   fail sends by itself; alive expiry covers that, as in Fabric.
//! - [`Output::Handshake`]: dial `endpoint` and exchange `ConnEstablish` (anchor and bootstrap
//!   peers, whose PKI-ID is not known yet), then report `handle_conn_establish` with the
//!   endpoint, or `handle_dial_failed` with no PKI-ID.
//! - [`Output::CloseConnection`]: close the connection to that peer (it was declared dead).
//! - Delivery: [`Output::OrdererConnect`] opens a deliver stream to an orderer (report
//!   `handle_orderer_connected` or `handle_orderer_connect_failed`; the core gives up after
//!   peer.deliveryclient.connTimeout by itself), [`Output::OrdererSend`] sends the seek
//!   request, [`Output::OrdererDisconnect`] closes it. Replies go to
//!   `handle_orderer_response`; a closed or broken stream (including a keepalive timeout the
//!   shell detects: peer.keepalive.deliveryClient interval + timeout) to
//!   `handle_orderer_stream_ended`. Wire types: `crate::fabric::deliver_wire`.
//! - [`Output::DeliverToCommitter`]: validate and commit that block (they come in order), then
//!   call [`GossipNode::ledger_height_changed`].
//! - Timers: call [`GossipNode::handle_timeout`] at [`GossipNode::next_deadline`].
//! - A restarted peer is a new `GossipNode` (membership is not persisted), joined again to its
//!   channel with its ledger height and the latest channel config its ledger holds.
//! - Metrics: gossip_membership_total_peers_known is
//!   [`GossipNode::membership_total_peers_known`], gossip_leader_election_leader
//!   [`GossipNode::election_leader`], gossip_state_height [`GossipNode::ledger_height`],
//!   gossip_payload_buffer_size [`GossipNode::payload_buffer_size`];
//!   gossip_comm_messages_sent/received are the shell's counts of `Send`s and frames.
//!
//! Simplifications, each noted where it is made: one channel per node; channel names instead of channel MACs; no private data; the identity
//! mapper's purge of identities unused for an hour is not modelled.

mod certstore;
mod channel;
mod deliver;
mod discovery;
mod election;
mod emitter;
mod mcs;
mod message;
mod node;
mod pull;
mod security;
mod state;

pub use deliver::{backoff_delay, DeliverConnection};
pub use discovery::Member;
pub use mcs::ChannelMcs;
pub use message::{
    AliveMessage, ConnEstablish, GossipMessage, LeadershipMessage, PeerTime, PkiId, Secret,
    SignedAlive, SignedLeadership, SignedStateInfo, StateInfo,
};
pub use node::GossipNode;
pub use security::{LedgerBlocks, MessageCryptoService};

use crate::fabric::crypto::SerializedIdentity;
use crate::fabric::deliver_wire::DeliverRequest;
use crate::fabric::types::Block;
use std::sync::Arc;
use thiserror::Error;

/// The local peer: who it is and where it listens (core.yaml peer.gossip.*).
#[derive(Clone, Debug)]
pub struct PeerSelf {
    pub identity: SerializedIdentity,
    /// peer.gossip.endpoint (host:port), given only to peers of the own organization.
    pub endpoint: String,
    /// peer.gossip.externalEndpoint; empty: the peer is never advertised to other orgs.
    pub external_endpoint: String,
    /// peer.gossip.bootstrap: peers of the own organization to contact at start.
    pub bootstrap_peers: Vec<String>,
}

/// A peer of the channel as gossip knows it (what discovery's peer query returns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMember {
    pub pki_id: PkiId,
    pub msp_id: String,
    /// Where this peer reaches it: the internal endpoint for the own org, else the external.
    pub endpoint: String,
    pub external_endpoint: String,
    /// As last advertised in the peer's state info.
    pub ledger_height: u64,
}

/// What the node asks the shell to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Send `message` to `to`; without a connection dial `endpoint`, or drop it when None.
    Send {
        to: PkiId,
        endpoint: Option<String>,
        message: GossipMessage,
    },
    /// Dial `endpoint` and exchange identities (an anchor or bootstrap peer).
    Handshake { endpoint: String },
    /// Close the connection to this peer.
    CloseConnection { pki_id: PkiId },
    /// Open a deliver stream to an orderer.
    OrdererConnect {
        connection: DeliverConnection,
        endpoint: String,
    },
    /// Send the seek request on the deliver stream.
    OrdererSend {
        connection: DeliverConnection,
        request: DeliverRequest,
    },
    /// Close the deliver stream.
    OrdererDisconnect { connection: DeliverConnection },
    /// The next block in order, for the committer.
    DeliverToCommitter(Arc<Block>),
    /// The membership tracker saw the channel view change ("Membership view has changed").
    MembershipChanged {
        went_online: Vec<ChannelMember>,
        went_offline: Vec<ChannelMember>,
        current: Vec<ChannelMember>,
    },
    /// Leader election made this peer leader ("Elected as a leader, starting delivery service")
    /// or it stopped being one.
    LeadershipChanged { is_leader: bool },
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum GossipError {
    #[error(
        "peer.gossip.orgLeader and peer.gossip.useLeaderElection are both true; Fabric refuses \
         to start (gossip/service/gossip_service.go)"
    )]
    LeaderConfigConflict,
    #[error("peer.gossip.endpoint `{0}` is not host:port")]
    BadEndpoint(String),
    #[error("the peer's own identity is not valid: {0}")]
    InvalidSelfIdentity(String),
    #[error("remote identity refused: {0}")]
    IdentityRefused(String),
    #[error("the node already joined channel `{0}`")]
    AlreadyJoined(String),
}
