//! One ordering node of one channel: Raft (tikv's `raft`, a port of the etcd/raft library
//! Fabric uses) driven the way Fabric's etcdraft chain drives it
//! (F orderer/consensus/etcdraft/chain.go, node.go), the block cutter on the leader, and
//! the broadcast service (F orderer/common/broadcast/broadcast.go).
//!
//! Sans-IO: every input takes `now` (simulated time); everything to do is queued as an
//! [`Output`] the shell drains with [`OrdererNode::poll_output`]. The only timer is
//! [`OrdererNode::next_deadline`]: Raft ticks every TickInterval and the batch timer.

use super::blockcutter::{message_size_bytes, BatchSize, BlockCutter};
use super::cluster::{ClusterMessage, ClusterMetadata, ConsensusRequest, SubmitRequest};
use super::disk::{is_config_block, OrdererDisk};
use super::support::{ChannelSupport, SupportError};
use crate::fabric::config::OrderingConfig;
use crate::fabric::crypto::sha256;
pub use crate::fabric::deliver_wire::BroadcastResponse;
use crate::fabric::deliver_wire::Status;
use crate::fabric::types::{
    decode, encode, Block, ChannelConfig, Envelope, Hash, Header, HeaderType, Payload, PayloadData,
};
use protobuf::Message as _;
use raft::eraftpb::{EntryType, Message as RaftMessage};
use raft::storage::MemStorage;
use raft::{RawNode, StateRole, Storage as _};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a node cannot be built.
#[derive(Debug, Error)]
pub enum OrdererError {
    #[error("node {node_id} is not one of the channel's {cluster_size} consenters")]
    NotAConsenter { node_id: u64, cluster_size: u64 },
    #[error("invalid etcdraft options: {0}")]
    RaftOptions(String),
    #[error("the latest config block (number {number}) cannot be applied: {source}")]
    Config { number: u64, source: SupportError },
}

impl BroadcastResponse {
    fn success() -> BroadcastResponse {
        BroadcastResponse {
            status: Status::Success,
            info: String::new(),
        }
    }

    fn refused(status: Status, info: impl Into<String>) -> BroadcastResponse {
        BroadcastResponse {
            status,
            info: info.into(),
        }
    }
}

/// Identifies a broadcast whose answer comes later, as an [`Output::BroadcastResponse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BroadcastTicket(pub u64);

/// The answer to [`OrdererNode::broadcast`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastOutcome {
    Done(BroadcastResponse),
    /// The node is the leader but does not accept envelopes right now (just elected with
    /// entries still to apply, a config block in flight, or MaxInflightBlocks reached).
    /// Fabric's broadcast handler blocks meanwhile; the answer follows as an output.
    Queued(BroadcastTicket),
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send to consenter `to` over the cluster connection.
    Send { to: u64, message: ClusterMessage },
    /// Forward a client's broadcast to the leader `to` (chain.go forwardToLeader): the shell
    /// answers `ticket` with SUCCESS once the send is reported (written to the stream), or
    /// SERVICE_UNAVAILABLE when it is not within General.Cluster.RPCTimeout.
    Forward {
        to: u64,
        message: ClusterMessage,
        ticket: BroadcastTicket,
    },
    /// Block `number` was appended to this node's block store: deliver streams waiting for
    /// it must poll again.
    BlockWritten { number: u64 },
    /// The answer to a queued broadcast.
    BroadcastResponse {
        ticket: BroadcastTicket,
        response: BroadcastResponse,
    },
    /// The known leader or the node's health changed. Deliver streams must poll again: an
    /// errored node ends them with SERVICE_UNAVAILABLE.
    RaftStateChanged { leader: Option<u64>, errored: bool },
    /// The leader put a normal envelope into its pending batch (blockcutter Ordered).
    Enqueued { tx_id: String },
    /// The leader cut block `number` with these transactions and proposed it.
    BlockCut { number: u64, tx_ids: Vec<String> },
}

/// The etcdraft metrics Fabric exposes, per channel (F orderer/consensus/etcdraft/metrics.go).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrdererMetrics {
    /// consensus_etcdraft_is_leader
    pub is_leader: bool,
    /// consensus_etcdraft_active_nodes
    pub active_nodes: u64,
    /// consensus_etcdraft_cluster_size
    pub cluster_size: u64,
    /// consensus_etcdraft_leader_changes
    pub leader_changes: u64,
    /// consensus_etcdraft_committed_block_number
    pub committed_block_number: u64,
    /// consensus_etcdraft_proposal_failures
    pub proposal_failures: u64,
}

/// Number and header hash of the last block written; the leader's block creator
/// continues from it (F orderer/consensus/etcdraft/blockcreator.go).
#[derive(Clone, Copy, Debug)]
struct ChainTip {
    number: u64,
    hash: Hash,
}

/// A submit request waiting while the leader does not accept envelopes (Fabric: the
/// request blocks on the chain's submit channel).
struct PendingSubmit {
    request: SubmitRequest,
    /// Set for broadcasts received by this node, whose client awaits the answer.
    ticket: Option<BroadcastTicket>,
}

enum SubmitResult {
    Accepted,
    NoLeader,
    Queued,
}

/// The values last written over raft-rs's randomized election timeout (see
/// [`OrdererNode::pin_election_timeout`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct RaftIdentity {
    term: u64,
    state: StateRole,
    leader: u64,
}

/// Active-node tracking on the leader (F orderer/consensus/etcdraft/tracker.go).
#[derive(Default)]
struct ActiveNodesTracker {
    active: Vec<u64>,
    stable_checks: u32,
    /// Metadata to piggyback on consensus messages, and who got it already.
    disseminate: Option<ClusterMetadata>,
    sent_to: BTreeSet<u64>,
}

/// One ordering node of the channel (see the module comment).
pub struct OrdererNode<S: ChannelSupport> {
    id: u64,
    options: OrderingConfig,
    pub(super) support: S,
    pub(super) disk: OrdererDisk,
    raft: RawNode<MemStorage>,
    rng: ChaCha8Rng,
    pinned: Option<(RaftIdentity, usize)>,
    cluster_size: u64,

    // The chain's view of Raft's soft state (chain.go run(): `soft`).
    leader: u64,
    role: StateRole,
    last_known_leader: u64,
    pub(super) errored: bool,

    tip: ChainTip,
    last_config: u64,
    applied_index: u64,
    cutter: BlockCutter,
    batch_deadline: Option<Duration>,
    /// The leader's block creator, set once it accepts envelopes.
    creator: Option<ChainTip>,
    just_elected: bool,
    config_in_flight: bool,
    blocks_in_flight: u32,
    /// Fabric's `submitC != nil`.
    accepting: bool,
    pending: VecDeque<PendingSubmit>,

    /// Ticks left until the next proactive campaign of a new channel's first node.
    campaign_in_ticks: Option<u32>,
    next_tick: Duration,
    tracker: ActiveNodesTracker,
    metrics: OrdererMetrics,
    outputs: VecDeque<Output>,
    next_ticket: u64,
}

impl<S: ChannelSupport> OrdererNode<S> {
    /// Starts (or, when `disk` holds Raft state, restarts) consenter `node_id` of the
    /// channel. Consenter IDs are 1..=n in the order of the channel config's consenters, as
    /// etcdraft assigns ConsenterIds. `options` gives the etcdraft options and the byte
    /// limits; BatchTimeout and MaxMessageCount come from the channel config. On a new
    /// channel consenter `first_campaigner` campaigns first (Fabric picks it from the
    /// channel name, [`campaigner_by_channel_name`]; a network that has run for a while has
    /// its leader wherever restarts left it, which a runner models by choosing it).
    pub fn new(
        node_id: u64,
        options: OrderingConfig,
        mut support: S,
        disk: OrdererDisk,
        mut rng: ChaCha8Rng,
        now: Duration,
        first_campaigner: u64,
    ) -> Result<OrdererNode<S>, OrdererError> {
        let last_config = disk.last_config();
        let config_block = disk
            .block(last_config)
            .expect("the disk records only written config blocks");
        support
            .apply_config_block(&config_block)
            .map_err(|source| OrdererError::Config {
                number: last_config,
                source,
            })?;
        let cluster_size = support.config().orderer.consenters.len() as u64;
        if node_id == 0 || node_id > cluster_size {
            return Err(OrdererError::NotAConsenter {
                node_id,
                cluster_size,
            });
        }

        // chain.go NewChain: PreVote and CheckQuorum on; DisableProposalForwarding has no
        // raft-rs counterpart and is not needed: only the leader proposes, synchronously.
        // MaxSizePerMsg is the channel's PreferredMaxBytes (etcdraft/consenter.go).
        let raft_config = raft::Config {
            id: node_id,
            election_tick: options.election_tick as usize,
            heartbeat_tick: options.heartbeat_tick as usize,
            max_size_per_msg: options.preferred_max_bytes,
            max_inflight_msgs: options.max_inflight_blocks as usize,
            check_quorum: true,
            pre_vote: true,
            ..Default::default()
        };
        raft_config
            .validate()
            .map_err(|e| OrdererError::RaftOptions(e.to_string()))?;
        let fresh = disk.is_fresh();
        let join = disk.height() > 1;
        if fresh {
            disk.bootstrap((1..=cluster_size).collect());
        }
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raft = RawNode::new(&raft_config, disk.raft_storage().clone(), &logger)
            .map_err(|e| OrdererError::RaftOptions(e.to_string()))?;

        let last_block = disk.last_block();
        // A Go ticker starts with its process, so real nodes never tick in step. Nodes
        // started at the same simulated instant get a random phase instead; ticking in
        // lockstep would turn every equal randomized timeout into a split vote.
        let first_tick = Duration::from_micros(
            rng.random_range(1..=options.tick_interval.as_micros().max(1) as u64),
        );
        // node.go start(): on a new channel one node campaigns every 2 x HeartbeatTick
        // until a leader exists.
        let campaign_in_ticks = (fresh && !join && node_id == first_campaigner)
            .then(|| campaign_period_ticks(&options));
        let mut node = OrdererNode {
            id: node_id,
            support,
            raft,
            rng,
            pinned: None,
            cluster_size,
            leader: 0,
            role: StateRole::Follower,
            last_known_leader: 0,
            // chain.go Start() closes errorC: deliver refuses until a leader is known.
            errored: true,
            tip: ChainTip {
                number: last_block.number(),
                hash: last_block.hash(),
            },
            last_config,
            applied_index: disk.last_raft_index(),
            disk,
            cutter: BlockCutter::default(),
            batch_deadline: None,
            creator: None,
            just_elected: false,
            config_in_flight: false,
            blocks_in_flight: 0,
            accepting: true,
            pending: VecDeque::new(),
            campaign_in_ticks,
            next_tick: now + first_tick,
            tracker: ActiveNodesTracker::default(),
            metrics: OrdererMetrics {
                cluster_size,
                committed_block_number: last_block.number(),
                ..Default::default()
            },
            options,
            outputs: VecDeque::new(),
            next_ticket: 0,
        };
        node.pin_election_timeout();
        node.process_ready(now);
        Ok(node)
    }

    pub fn node_id(&self) -> u64 {
        self.id
    }

    /// The leader this node knows of.
    pub fn leader(&self) -> Option<u64> {
        (self.leader != 0).then_some(self.leader)
    }

    pub fn is_leader(&self) -> bool {
        self.leader == self.id
    }

    /// Fabric's `Errored()`: no leader in a cluster of three or more, or a campaign under
    /// way. Deliver refuses and ends streams with SERVICE_UNAVAILABLE meanwhile.
    pub fn is_errored(&self) -> bool {
        self.errored
    }

    /// Height of this node's block store.
    pub fn height(&self) -> u64 {
        self.disk.height()
    }

    /// The channel config as of the latest config block this node wrote.
    pub fn channel_config(&self) -> &ChannelConfig {
        self.support.config()
    }

    pub fn metrics(&self) -> OrdererMetrics {
        self.metrics.clone()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next time [`OrdererNode::handle_timeout`] must be called: the next Raft tick
    /// or the batch timer, whichever is first.
    pub fn next_deadline(&self) -> Duration {
        match self.batch_deadline {
            Some(batch) => batch.min(self.next_tick),
            None => self.next_tick,
        }
    }

    /// Runs what is due at `now`: a Raft tick every TickInterval (ticks missed by a late
    /// call are dropped, like Go's ticker), and the batch timer.
    pub fn handle_timeout(&mut self, now: Duration) {
        if now >= self.next_tick {
            while self.next_tick <= now {
                self.next_tick += self.options.tick_interval;
            }
            self.tick(now);
        }
        if self.batch_deadline.is_some_and(|deadline| deadline <= now) {
            self.batch_deadline = None;
            // chain.go run(), timer case: cut whatever is pending.
            let batch = self.cutter.cut();
            if !batch.is_empty() {
                self.propose(vec![batch]);
            }
            self.process_ready(now);
        }
    }

    /// A message from consenter `from` (authenticated by the shell).
    pub fn handle_cluster_message(&mut self, now: Duration, from: u64, message: ClusterMessage) {
        match message {
            ClusterMessage::Consensus(request) => {
                if request.channel != self.support.channel_id() {
                    return;
                }
                let Ok(raft_message) = RaftMessage::parse_from_bytes(&request.payload) else {
                    tracing::warn!(from, "unparsable Raft message");
                    return;
                };
                if raft_message.to != self.id || raft_message.from != from {
                    // chain.go Consensus halts on a message for another ID; hadr ignores it.
                    tracing::warn!(from, to = raft_message.to, "Raft message not for this node");
                    return;
                }
                // Errors are messages from unknown peers or local types: dropped, as Fabric.
                let _ = self.raft.step(raft_message);
                self.pin_election_timeout();
                if let Some(metadata) = request.metadata {
                    if self.last_known_leader == from {
                        self.metrics.active_nodes = metadata.active_nodes.len() as u64;
                    }
                }
            }
            ClusterMessage::Submit(request) => {
                if request.channel != self.support.channel_id() {
                    return;
                }
                self.submit(now, request, None);
            }
        }
        self.process_ready(now);
    }

    /// The broadcast service: validates `envelope` and hands it to consensus. SUCCESS means
    /// accepted for ordering (ordered here or forwarded to the leader), not committed.
    pub fn broadcast(&mut self, now: Duration, envelope: Envelope) -> BroadcastOutcome {
        let outcome = match self.validate(now, envelope) {
            Err(response) => BroadcastOutcome::Done(response),
            Ok(request) => {
                let ticket = BroadcastTicket(self.next_ticket);
                self.next_ticket += 1;
                match self.submit(now, request, Some(ticket)) {
                    SubmitResult::Accepted => BroadcastOutcome::Done(BroadcastResponse::success()),
                    SubmitResult::NoLeader => BroadcastOutcome::Done(no_leader()),
                    SubmitResult::Queued => BroadcastOutcome::Queued(ticket),
                }
            }
        };
        self.process_ready(now);
        outcome
    }

    /// Tells Raft that sending to `to` failed (etcdraft node.go send: ReportUnreachable), so
    /// the leader probes it instead of streaming appends.
    pub fn report_unreachable(&mut self, now: Duration, to: u64) {
        self.raft.report_unreachable(to);
        self.process_ready(now);
    }

    /// broadcast.go ProcessMessage, up to the hand-over to consensus.
    fn validate(
        &self,
        now: Duration,
        envelope: Envelope,
    ) -> Result<SubmitRequest, BroadcastResponse> {
        let bad_request = |info: String| BroadcastResponse::refused(Status::BadRequest, info);
        let refused = |e: SupportError| BroadcastResponse::refused(e.status(), e.to_string());
        let Some(header) = envelope_header(&envelope) else {
            return Err(bad_request("could not determine channel ID".into()));
        };
        if header.channel_id != self.support.channel_id() {
            // v2.5 without a system channel (multichannel/registrar.go BroadcastChannelSupport).
            return Err(bad_request(
                "channel creation request not allowed because the orderer system channel is not defined"
                    .into(),
            ));
        }
        self.check_size(&envelope).map_err(bad_request)?;
        let (payload, sequence) = match header.header_type {
            HeaderType::Config => {
                return Err(bad_request(
                    "message is of type that cannot be processed directly".into(),
                ))
            }
            HeaderType::ConfigUpdate => {
                let (config, sequence) = self
                    .support
                    .process_config_update(&envelope, now)
                    .map_err(refused)?;
                // standardchannel.go re-applies the size filter to the resulting config.
                self.check_size(&config).map_err(bad_request)?;
                (config, sequence)
            }
            HeaderType::EndorserTransaction => {
                let sequence = self
                    .support
                    .process_normal_message(&envelope)
                    .map_err(refused)?;
                (envelope, sequence)
            }
        };
        Ok(SubmitRequest {
            channel: header.channel_id,
            last_validation_seq: sequence,
            payload,
        })
    }

    /// msgprocessor MaxBytesRule: AbsoluteMaxBytes.
    fn check_size(&self, envelope: &Envelope) -> Result<(), String> {
        let size = message_size_bytes(envelope);
        let max = self.options.absolute_max_bytes;
        if size > max {
            return Err(format!(
                "message payload is {size} bytes and exceeds maximum allowed {max} bytes"
            ));
        }
        Ok(())
    }

    /// chain.go Submit and the run loop's submit case: order here when leader, forward to
    /// the leader otherwise, refuse without a leader.
    fn submit(
        &mut self,
        now: Duration,
        request: SubmitRequest,
        ticket: Option<BroadcastTicket>,
    ) -> SubmitResult {
        if !self.accepting {
            self.pending.push_back(PendingSubmit { request, ticket });
            return SubmitResult::Queued;
        }
        let leader = if is_candidate(self.role) {
            0
        } else {
            self.leader
        };
        if leader == 0 {
            self.metrics.proposal_failures += 1;
            return SubmitResult::NoLeader;
        }
        if leader == self.id {
            self.order(now, request);
            return SubmitResult::Accepted;
        }
        let message = ClusterMessage::Submit(request);
        match ticket {
            Some(ticket) => {
                self.outputs.push_back(Output::Forward {
                    to: leader,
                    message,
                    ticket,
                });
                SubmitResult::Queued
            }
            // A resubmitted request's client was answered already.
            None => {
                self.outputs.push_back(Output::Send {
                    to: leader,
                    message,
                });
                SubmitResult::Accepted
            }
        }
    }

    /// chain.go ordered() and what the run loop does with its result. Failures are logged
    /// and counted only: the client was already answered.
    fn order(&mut self, now: Duration, request: SubmitRequest) {
        let sequence = self.support.config().sequence;
        let stale = request.last_validation_seq < sequence;
        let envelope = request.payload;
        let is_config =
            envelope_header(&envelope).map(|h| h.header_type) == Some(HeaderType::Config);
        let (batches, pending) = if is_config {
            let envelope = if stale {
                match self.revalidate_config(now, &envelope) {
                    Ok(envelope) => envelope,
                    Err(e) => {
                        tracing::warn!(
                            "dropping config message revalidated against a newer config: {e}"
                        );
                        self.metrics.proposal_failures += 1;
                        return;
                    }
                }
            } else {
                envelope
            };
            let mut batches = Vec::new();
            let pending_batch = self.cutter.cut();
            if !pending_batch.is_empty() {
                batches.push(pending_batch);
            }
            batches.push(vec![envelope]);
            (batches, false)
        } else {
            if stale {
                if let Err(e) = self.support.process_normal_message(&envelope) {
                    tracing::warn!("dropping message revalidated against a newer config: {e}");
                    self.metrics.proposal_failures += 1;
                    return;
                }
            }
            if let Some(header) = envelope_header(&envelope) {
                self.outputs.push_back(Output::Enqueued {
                    tx_id: header.tx_id,
                });
            }
            self.cutter.ordered(envelope, self.batch_size())
        };
        if batches.is_empty() && !pending {
            return;
        }
        if pending {
            if self.batch_deadline.is_none() {
                self.batch_deadline = Some(now + self.batch_timeout());
            }
        } else {
            self.batch_deadline = None;
        }
        self.propose(batches);
        if self.config_in_flight || self.blocks_in_flight >= self.options.max_inflight_blocks {
            self.accepting = false;
        }
    }

    /// msgprocessor ProcessConfigMsg: a CONFIG envelope validated against an older config
    /// is rebuilt from the update it carries.
    fn revalidate_config(
        &self,
        now: Duration,
        envelope: &Envelope,
    ) -> Result<Envelope, SupportError> {
        let update = decode::<Payload>(&envelope.payload)
            .ok()
            .and_then(|payload| match payload.data {
                PayloadData::Config(config) => config.last_update,
                _ => None,
            })
            .ok_or_else(|| SupportError::BadRequest("config envelope without its update".into()))?;
        let (config, _) = self.support.process_config_update(&update, now)?;
        Ok(config)
    }

    /// chain.go propose() with blockCreator.createNextBlock: each batch becomes the next
    /// block, chained on the previous one even while it is still in flight.
    fn propose(&mut self, batches: Vec<Vec<Envelope>>) {
        for batch in batches {
            let Some(tip) = self.creator.as_mut() else {
                tracing::error!("a batch was cut on a node that is not an accepting leader");
                return;
            };
            let block = self.support.create_block(tip.number + 1, tip.hash, &batch);
            let tx_ids = batch
                .iter()
                .filter_map(|envelope| envelope_header(envelope).map(|header| header.tx_id))
                .collect();
            self.outputs.push_back(Output::BlockCut {
                number: block.number(),
                tx_ids,
            });
            *tip = ChainTip {
                number: block.number(),
                hash: block.hash(),
            };
            if let Err(e) = self.raft.propose(Vec::new(), encode(&block)) {
                // Only a leader proposes, so this is a leadership transfer in progress.
                tracing::error!(number = block.number(), "failed to propose block: {e}");
            }
            if is_config_batch(&batch) {
                self.config_in_flight = true;
            }
            self.blocks_in_flight += 1;
        }
        self.pin_election_timeout();
    }

    /// node.go run(), ticker case: one Raft tick, the active-node tracker on the status
    /// from before the tick, and the proactive campaign of a new channel.
    fn tick(&mut self, now: Duration) {
        let activity = self.activity();
        self.raft.tick();
        self.pin_election_timeout();
        self.track_active_nodes(activity);
        if let Some(ticks) = self.campaign_in_ticks.as_mut() {
            *ticks -= 1;
            if *ticks == 0 {
                *ticks = campaign_period_ticks(&self.options);
                let _ = self.raft.campaign();
                self.pin_election_timeout();
            }
        }
        self.process_ready(now);
    }

    /// Handles every Ready Raft has, then lets the chain react to it (node.go run(), Ready
    /// case, and chain.go run(), apply case).
    fn process_ready(&mut self, now: Duration) {
        while self.raft.has_ready() {
            let (soft, committed) = self.handle_ready();
            self.pin_election_timeout();
            if soft.is_none() && committed.is_empty() {
                continue;
            }
            if let Some((leader, role)) = soft {
                if leader != 0 {
                    self.campaign_in_ticks = None;
                }
                self.on_soft_state(leader, role);
            }
            self.apply(&committed);
            self.after_apply(now);
        }
    }

    /// Persists, sends and collects what one Ready holds, and advances Raft. The chain acts
    /// on the result only after `advance`, because raft-rs forbids proposing in between.
    #[allow(clippy::type_complexity)]
    fn handle_ready(&mut self) -> (Option<(u64, StateRole)>, Vec<raft::eraftpb::Entry>) {
        let storage = self.disk.raft_storage().clone();
        let mut ready = self.raft.ready();
        // The leader may send before persisting (Raft thesis 10.2.1); followers may not.
        self.send_raft_messages(ready.take_messages());
        if !ready.snapshot().is_empty() {
            // hadr never compacts the log, so no leader ever sends a snapshot.
            if let Err(e) = storage.wl().apply_snapshot(ready.snapshot().clone()) {
                tracing::error!("cannot apply a Raft snapshot: {e}");
            }
        }
        let mut committed = ready.take_committed_entries();
        if !ready.entries().is_empty() {
            if let Err(e) = storage.wl().append(ready.entries()) {
                tracing::error!("cannot persist Raft entries: {e}");
            }
        }
        if let Some(hard_state) = ready.hs() {
            storage.wl().set_hardstate(hard_state.clone());
        }
        let soft = ready.ss().map(|ss| (ss.leader_id, ss.raft_state));
        self.send_raft_messages(ready.take_persisted_messages());
        let mut light = self.raft.advance(ready);
        if let Some(commit) = light.commit_index() {
            storage.wl().mut_hard_state().set_commit(commit);
        }
        self.send_raft_messages(light.take_messages());
        committed.extend(light.take_committed_entries());
        self.raft.advance_apply();
        (soft, committed)
    }

    /// node.go send() with the Disseminator: each Raft message as a consensus request,
    /// carrying the leader's latest active-node metadata once per destination.
    fn send_raft_messages(&mut self, messages: Vec<RaftMessage>) {
        for message in messages {
            let to = message.to;
            if to == 0 {
                continue;
            }
            let payload = match message.write_to_bytes() {
                Ok(payload) => payload,
                Err(e) => {
                    tracing::error!(to, "cannot encode a Raft message: {e}");
                    continue;
                }
            };
            let metadata = match &self.tracker.disseminate {
                Some(metadata) if self.tracker.sent_to.insert(to) => Some(metadata.clone()),
                _ => None,
            };
            self.outputs.push_back(Output::Send {
                to,
                message: ClusterMessage::Consensus(ConsensusRequest {
                    channel: self.support.channel_id().to_string(),
                    payload,
                    metadata,
                }),
            });
        }
    }

    /// chain.go run(), apply case, soft-state part.
    fn on_soft_state(&mut self, leader: u64, role: StateRole) {
        let (old_leader, old_role, was_errored) = (self.leader, self.role, self.errored);
        if leader != old_leader {
            tracing::info!(
                node = self.id,
                "Raft leader changed: {old_leader} -> {leader}"
            );
            self.metrics.leader_changes += 1;
            self.last_known_leader = leader;
            if leader == self.id {
                self.become_leader();
            }
            if old_leader == self.id {
                self.become_follower();
            }
        }
        let found_leader = old_leader == 0 && leader != 0;
        let quit_candidate = is_candidate(old_role) && !is_candidate(role);
        if found_leader || quit_candidate {
            self.errored = false;
        }
        if is_candidate(role) || leader == 0 {
            self.last_known_leader = 0;
            // Only clusters of three or more report the error (a cluster of one or two
            // could not be expanded otherwise).
            if self.cluster_size > 2 {
                self.errored = true;
            }
        }
        self.leader = leader;
        self.role = role;
        if leader != old_leader || self.errored != was_errored {
            self.outputs.push_back(Output::RaftStateChanged {
                leader: self.leader(),
                errored: self.errored,
            });
        }
    }

    fn become_leader(&mut self) {
        self.metrics.is_leader = true;
        self.blocks_in_flight = 0;
        self.just_elected = true;
        self.accepting = false;
    }

    /// A deposed leader discards its pending batch and the blocks it had not proposed yet;
    /// the clients of those envelopes already got SUCCESS and must notice the loss.
    fn become_follower(&mut self) {
        let discarded = self.cutter.cut();
        if !discarded.is_empty() {
            tracing::info!(
                node = self.id,
                "discarding {} pending envelopes",
                discarded.len()
            );
        }
        self.batch_deadline = None;
        self.blocks_in_flight = 0;
        self.accepting = true;
        self.creator = None;
        self.metrics.is_leader = false;
        self.tracker = ActiveNodesTracker::default();
    }

    /// chain.go apply(): every committed normal entry with data is a block. Entries up to
    /// the applied index (replayed after a restart) are skipped.
    fn apply(&mut self, entries: &[raft::eraftpb::Entry]) {
        for entry in entries {
            if entry.get_entry_type() == EntryType::EntryNormal
                && !entry.data.is_empty()
                && entry.index > self.applied_index
            {
                match decode::<Block>(&entry.data) {
                    Ok(block) => self.write_block(block, entry.index),
                    Err(e) => tracing::error!(index = entry.index, "undecodable block entry: {e}"),
                }
            }
            self.applied_index = self.applied_index.max(entry.index);
        }
    }

    /// chain.go writeBlock() and writeConfigBlock(): append the block to this node's store,
    /// signed by this node, after making a config block's config current.
    fn write_block(&mut self, mut block: Block, raft_index: u64) {
        let expected = self.tip.number + 1;
        if block.number() < expected {
            // chain.go: "this node was forced to catch up".
            return;
        }
        if block.number() > expected || block.header.previous_hash != self.tip.hash {
            // Fabric panics here (and the ledger refuses a wrong previous hash).
            tracing::error!(
                node = self.id,
                number = block.number(),
                expected,
                "block does not extend the chain; not written"
            );
            return;
        }
        self.blocks_in_flight = self.blocks_in_flight.saturating_sub(1);
        if is_config_block(&block) {
            self.config_in_flight = false;
            if let Err(e) = self.support.apply_config_block(&block) {
                tracing::error!(number = block.number(), "config block not applied: {e}");
            }
            self.last_config = block.number();
        }
        self.support.sign_block(&mut block, self.last_config);
        self.tip = ChainTip {
            number: block.number(),
            hash: block.hash(),
        };
        self.metrics.committed_block_number = block.number();
        let number = block.number();
        self.disk.append_block(Arc::new(block), raft_index);
        self.outputs.push_back(Output::BlockWritten { number });
    }

    /// chain.go run(), end of the apply case: a new leader serves requests only once every
    /// entry of its log is applied and no config block is in flight; a leader pauses while
    /// a config block or MaxInflightBlocks blocks are in flight.
    fn after_apply(&mut self, now: Duration) {
        if self.just_elected {
            let last_index = self.disk.raft_storage().last_index().unwrap_or_default();
            if last_index > self.applied_index || self.config_in_flight {
                return;
            }
            tracing::info!(
                node = self.id,
                "start accepting requests as Raft leader at block [{}]",
                self.tip.number
            );
            self.creator = Some(self.tip);
            self.accepting = true;
            self.just_elected = false;
        } else if self.config_in_flight {
            // Fabric never clears this flag on a deposed leader until a config block is
            // written, so such a node holds submissions back until then; so does hadr.
            self.accepting = false;
        } else if self.blocks_in_flight < self.options.max_inflight_blocks {
            self.accepting = true;
        }
        while self.accepting {
            let Some(PendingSubmit { request, ticket }) = self.pending.pop_front() else {
                break;
            };
            let response = match self.submit(now, request, ticket) {
                SubmitResult::Accepted => BroadcastResponse::success(),
                SubmitResult::NoLeader => no_leader(),
                SubmitResult::Queued => continue,
            };
            if let Some(ticket) = ticket {
                self.outputs
                    .push_back(Output::BroadcastResponse { ticket, response });
            }
        }
    }

    /// Overrides raft-rs's election timeout randomization with the node's seeded RNG.
    ///
    /// raft-rs draws the randomized election timeout from `rand::thread_rng()` whenever
    /// it resets its state (raft.rs `reset_randomized_election_timeout`, called by every
    /// become_follower/candidate/leader), so two runs with the same seed would elect
    /// differently. Every such reset changes term, role or leader, or the timeout itself;
    /// this runs after every call into the RawNode and, on any such change, draws a
    /// new timeout in [ElectionTick, 2 x ElectionTick) from the seeded RNG, the range
    /// raft-rs uses. No tick happens between a reset and this override.
    fn pin_election_timeout(&mut self) {
        let raft = &self.raft.raft;
        let identity = RaftIdentity {
            term: raft.term,
            state: raft.state,
            leader: raft.leader_id,
        };
        if self.pinned == Some((identity, raft.randomized_election_timeout())) {
            return;
        }
        let election_tick = self.options.election_tick as usize;
        let timeout = self.rng.random_range(election_tick..2 * election_tick);
        self.raft.raft.set_randomized_election_timeout(timeout);
        self.pinned = Some((identity, timeout));
    }

    /// What the tracker sees of Raft before a tick (node.go grabs Status before Tick).
    fn activity(&self) -> Activity {
        let raft = &self.raft.raft;
        if raft.leader_id == 0 {
            return Activity::Leaderless;
        }
        if raft.state != StateRole::Leader {
            return Activity::Follower;
        }
        let mut active: Vec<u64> = raft
            .prs()
            .iter()
            .filter(|(id, progress)| **id != self.id && progress.recent_active)
            .map(|(id, _)| *id)
            .collect();
        active.push(self.id);
        active.sort_unstable();
        Activity::Leader(active)
    }

    /// tracker.go Check: the leader publishes the active nodes once the count held for
    /// three checks in a row.
    fn track_active_nodes(&mut self, activity: Activity) {
        match activity {
            Activity::Leaderless => {
                self.metrics.active_nodes = 0;
                self.tracker.active.clear();
            }
            Activity::Follower => {}
            Activity::Leader(current) => {
                let last = std::mem::replace(&mut self.tracker.active, current.clone());
                if current.len() != last.len() {
                    self.tracker.stable_checks = 0;
                    return;
                }
                if self.tracker.stable_checks < 3 {
                    self.tracker.stable_checks += 1;
                    return;
                }
                self.tracker.stable_checks = 0;
                self.metrics.active_nodes = current.len() as u64;
                self.tracker.disseminate = Some(ClusterMetadata {
                    active_nodes: current,
                });
                self.tracker.sent_to.clear();
            }
        }
    }

    fn batch_size(&self) -> BatchSize {
        BatchSize {
            max_message_count: self.support.config().orderer.max_message_count,
            preferred_max_bytes: self.options.preferred_max_bytes,
        }
    }

    fn batch_timeout(&self) -> Duration {
        Duration::from_millis(self.support.config().orderer.batch_timeout_ms)
    }
}

enum Activity {
    Leaderless,
    Follower,
    Leader(Vec<u64>),
}

fn no_leader() -> BroadcastResponse {
    // chain.go Submit; clients must retry (fabric#3593).
    BroadcastResponse::refused(Status::ServiceUnavailable, "no Raft leader")
}

fn is_candidate(role: StateRole) -> bool {
    matches!(role, StateRole::PreCandidate | StateRole::Candidate)
}

/// The channel header of an envelope, decoded from the front of its payload (a payload
/// encodes its header first), without decoding the transaction behind it.
pub fn envelope_header(envelope: &Envelope) -> Option<Header> {
    postcard::take_from_bytes::<Header>(&envelope.payload)
        .ok()
        .map(|(header, _)| header)
}

pub(super) fn header_type(envelope: &Envelope) -> Option<HeaderType> {
    envelope_header(envelope).map(|header| header.header_type)
}

fn is_config_batch(batch: &[Envelope]) -> bool {
    batch.len() == 1 && header_type(&batch[0]) == Some(HeaderType::Config)
}

/// The node Fabric lets campaign first on a new channel: hash(channel) % cluster size + 1
/// (node.go start(): sha256 of the channel name, varint-decoded from byte 24).
pub fn campaigner_by_channel_name(channel_id: &str, cluster_size: u64) -> u64 {
    let digest = sha256(channel_id.as_bytes());
    decode_varint(&digest[24..]) % cluster_size + 1
}

/// proto.DecodeVarint: 0 when the bytes end before the varint does.
fn decode_varint(bytes: &[u8]) -> u64 {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return value;
        }
    }
    0
}

/// node.go: the campaign ticker fires every 2 x HeartbeatTick ticks.
fn campaign_period_ticks(options: &OrderingConfig) -> u32 {
    (2 * options.heartbeat_tick).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_as_protobuf_does() {
        assert_eq!(decode_varint(&[0x96, 0x01, 0xff]), 150);
        assert_eq!(decode_varint(&[0x05]), 5);
        // proto.DecodeVarint gives 0 when the varint runs past the bytes.
        assert_eq!(decode_varint(&[0x80; 8]), 0);
    }

    #[test]
    fn the_first_campaigner_is_one_of_the_consenters_and_depends_on_the_channel() {
        let picks: BTreeSet<u64> = (0..20)
            .map(|i| campaigner_by_channel_name(&format!("channel{i}"), 3))
            .collect();
        assert!(picks.iter().all(|id| (1..=3).contains(id)));
        assert!(picks.len() > 1);
        assert_eq!(campaigner_by_channel_name("anything", 1), 1);
    }
}
