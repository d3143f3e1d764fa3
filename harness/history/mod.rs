//! What happened during a run, Jepsen-style: client operations (invoke, then ok / fail /
//! info), faults, procedure steps and observations made through the nodes' real interfaces
//! (operations endpoints, channel info, discovery, console listings), each stamped with
//! simulated time. Checks (checks/) are pure functions of a `History`, so they judge every
//! substrate the same way.

use serde::{Deserialize, Serialize};

/// Milliseconds since the substrate started the network (simulated on `sim`).
pub type TimeMs = u64;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: TimeMs,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A runbook step ran (or was skipped) in a region, with the doc anchor it implements.
    Step(StepRecord),
    /// The workload began: scenario fault times are offsets from here.
    WorkloadStarted,
    /// The last transaction was submitted.
    WorkloadStopped,
    /// A client operation: a transaction, a CA registration, a console call.
    Op(Operation),
    /// A fault began or healed.
    Fault(FaultRecord),
    /// A node stopped or started (crash, restart, region outage, heal).
    NodeState { node: String, up: bool },
    /// A peer's channel info (`peer channel getinfo`): height and current block hash.
    LedgerInfo(LedgerInfo),
    /// A node could not be observed (unreachable, refused, timed out).
    Unreachable { node: String, what: String },
    /// The block hashes and committed transactions of a peer, fetched at the end of a run.
    Chain(ChainRecord),
    /// Whom a peer knows on the channel (discovery's peer membership).
    Membership(MembershipRecord),
    /// An ordering node's Raft view (operations metrics).
    OrdererStatus(OrdererStatus),
    /// A peer's gossip view of the channel (operations metrics).
    PeerStatus(PeerStatus),
    /// What a console lists, and whether it answered.
    ConsoleListing(ConsoleListing),
    /// A console acting on a node (status probe, channel join).
    ConsoleAction(ConsoleAction),
    /// A free-form note for the timeline (e.g. "leader elected").
    Note { text: String },
    /// A line of a node's log that times the path of transactions and blocks (recorded when
    /// `simulation.node_logs` is on, as `hadr bench` asks).
    NodeLog(NodeLogRecord),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLogRecord {
    pub node: String,
    #[serde(flatten)]
    pub line: LogLine,
}

/// What a node logs about a transaction's or a block's way through the network. Each is a
/// line Fabric v2.5 logs (at DEBUG for the per-transaction ones), so a substrate running
/// real Fabric can read them from its logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "log", rename_all = "snake_case")]
pub enum LogLine {
    /// A Gateway sent the transaction to ordering node `orderer` (gateway.go Submit:
    /// "Sending transaction to orderer").
    Broadcast { tx_id: String, orderer: String },
    /// The Raft leader put the envelope into its pending batch (blockcutter Ordered:
    /// "Enqueuing message into batch").
    Enqueued { tx_id: String },
    /// The Raft leader cut block `number` from its pending batch and proposed it
    /// (chain.go propose: "Created block [n]").
    BlockCut { number: u64, tx_ids: Vec<String> },
    /// An ordering node wrote block `number`, committed by Raft, to its ledger (chain.go
    /// writeBlock: "Writing block [n] (Raft index: i) to ledger").
    BlockWritten { number: u64 },
    /// A peer committed block `number` (kv_ledger.go: "Committed block [n] with k
    /// transaction(s)").
    BlockCommitted { number: u64 },
    /// This ordering node became the Raft leader (chain.go: "Raft leader changed: a -> b",
    /// b being itself).
    BecameLeader,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The section anchor, e.g. `ibp-console-hadr-peerCA`.
    pub section: String,
    /// The doc link anchor the step implements, if the step has one.
    pub anchor: Option<String>,
    /// The runbook action name, e.g. `import-ca`.
    pub action: String,
    /// Region (cluster) whose console performs the step.
    pub region: String,
    pub outcome: StepOutcome,
    /// What the console answered, or why the step was skipped.
    pub detail: String,
}

impl StepRecord {
    /// Where the step is, for a person: `make-redundant-peers-anchors in us-west
    /// (#ibp-console-hadr-create-new-peers)`, with the link anchor when the step has one.
    pub fn place(&self) -> String {
        let anchor = self
            .anchor
            .as_deref()
            .map(|a| format!(", #{a}"))
            .unwrap_or_default();
        format!(
            "{} in {} (#{}{anchor})",
            self.action, self.region, self.section
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Ok,
    Failed,
    Skipped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpPhase {
    Invoke,
    Ok,
    Fail,
    /// Outcome unknown (timeout): the operation may or may not have taken effect.
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Pairs an invoke with its completion.
    pub op_id: u64,
    /// Who performed it: `client.us-east`, `console.us-west`, ...
    pub process: String,
    pub phase: OpPhase,
    /// What was attempted: `create_asset`, `transfer_asset`, `register`, `enroll`.
    pub function: String,
    /// The Fabric transaction ID, when there is one.
    pub tx_id: Option<String>,
    /// The node the operation targeted last (endorsing peer, orderer, CA).
    pub node: Option<String>,
    /// Error text or notes; never a secret.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Index in the scenario's `faults` list.
    pub index: usize,
    pub phase: FaultPhase,
    /// A person's description, e.g. "region outage us-west (crash)".
    pub description: String,
    /// The regions the fault takes out or separates.
    pub regions: Vec<String>,
    /// For a fault aimed at a role, on its start: the role and the node that held it then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleHolder>,
}

/// Whom a role-targeted fault hit: the node holding the role when the fault started, as the
/// harness observed it, or none when no node held it before the fault's end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleHolder {
    /// `raft_leader` or `gateway_peer`.
    pub role: String,
    pub node: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPhase {
    Start,
    Heal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerInfo {
    pub peer: String,
    pub channel: String,
    pub height: u64,
    /// Hex SHA-256 of the last block's header.
    pub current_block_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    pub peer: String,
    pub channel: String,
    pub blocks: Vec<BlockRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    pub number: u64,
    /// Hex SHA-256 of the block header.
    pub hash: String,
    /// IDs of the transactions the peer validated as VALID in this block.
    pub valid_tx_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRecord {
    pub peer: String,
    pub msp_id: String,
    pub channel: String,
    /// Alive peers it knows, other than itself.
    pub known: Vec<KnownPeer>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KnownPeer {
    pub endpoint: String,
    pub msp_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdererStatus {
    pub node: String,
    pub is_leader: bool,
    /// consensus_etcdraft_committed_block_number
    pub committed_block_number: u64,
    pub active_nodes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub peer: String,
    pub channel: String,
    /// gossip_membership_total_peers_known: alive channel peers other than itself, as the
    /// membership tracker last counted them (every peer.gossip.membershipTrackerInterval).
    pub membership_total_peers_known: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleListing {
    /// Region whose console was asked.
    pub region: String,
    pub answered: bool,
    /// Display names of the components it lists (CAs, peers, orderers, MSPs).
    pub components: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleAction {
    pub region: String,
    /// `status` or `join`.
    pub action: String,
    pub target: String,
    pub ok: bool,
    pub detail: String,
}

impl History {
    pub fn push(&mut self, at_ms: TimeMs, kind: EventKind) {
        self.events.push(Event { at_ms, kind });
    }

    /// Operations invoked that have no outcome yet.
    pub fn operations_pending(&self) -> usize {
        let (mut invoked, mut ended) = (0usize, 0usize);
        for event in &self.events {
            if let EventKind::Op(op) = &event.kind {
                match op.phase {
                    OpPhase::Invoke => invoked += 1,
                    _ => ended += 1,
                }
            }
        }
        invoked.saturating_sub(ended)
    }

    /// When the workload started, if it did.
    pub fn workload_started_at(&self) -> Option<TimeMs> {
        self.events
            .iter()
            .find(|e| matches!(e.kind, EventKind::WorkloadStarted))
            .map(|e| e.at_ms)
    }

    /// The time of the last fault heal, if any fault healed.
    pub fn last_heal_at(&self) -> Option<TimeMs> {
        self.events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Fault(f) if f.phase == FaultPhase::Heal))
            .map(|e| e.at_ms)
            .max()
    }

    /// Iterates over the events of one kind, with their times.
    pub fn iter<'a, T: 'a>(
        &'a self,
        pick: impl Fn(&'a EventKind) -> Option<&'a T> + 'a,
    ) -> impl Iterator<Item = (TimeMs, &'a T)> + 'a {
        self.events
            .iter()
            .filter_map(move |e| pick(&e.kind).map(|t| (e.at_ms, t)))
    }
}
