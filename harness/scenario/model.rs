//! The validated scenario: what every other part of hadr consumes.
//!
//! The YAML file format (scenario/file.rs) is parsed and checked into these types; once a
//! `Scenario` exists, every reference in it resolves (regions, organizations, locations), or
//! names a role that the runner resolves when the fault starts ([`TargetRole`]), every
//! duration is positive and every fault lies inside the workload.

use crate::fabric::config::{FabricConfig, Value};
use crate::fabric::endorsement_policy::EndorsementPolicy;
use crate::fabric::lifecycle::ChaincodeDefinition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// The file it came from, as given on the command line.
    pub source: PathBuf,
    /// Seed of every random choice (overridden by `hadr run --seed`).
    pub seed: u64,
    pub topology: Topology,
    pub procedure: Procedure,
    pub workload: Workload,
    pub faults: Vec<Fault>,
    pub expect: Vec<Expectation>,
    pub simulation: Simulation,
    pub real_network: RealNetwork,
    /// The nemesis of `hadr chaos` (None: the scenario has no `chaos:` section).
    pub chaos: Option<Chaos>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Topology {
    /// Round-trip times between locations.
    pub latency: LatencyMatrix,
    /// Round-trip time between two nodes of the same region.
    pub intra_region_rtt: Duration,
    /// In order: the first region is "cluster 1" of the procedure.
    pub regions: Vec<Region>,
    pub ordering_service: OrderingService,
    pub organizations: Vec<Organization>,
    pub channel: Channel,
    /// Fabric defaults with the scenario's `fabric:` overrides applied.
    pub fabric: FabricConfig,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Region {
    /// The region's name in the scenario (a cluster, a console).
    pub name: String,
    /// Its location in the latency matrix (e.g. `eastus`).
    pub location: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderingService {
    pub msp_id: String,
    /// One ordering node per entry, in the named region.
    pub nodes: Vec<String>,
    /// Which node leads first.
    pub first_leader: FirstLeader,
}

/// Which ordering node campaigns first when the channel starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstLeader {
    /// Drawn from the scenario's seed: in a network that has run for a while the leader is
    /// wherever restarts and elections left it, so placement varies with the seed.
    #[default]
    Seeded,
    /// Fabric's rule for a brand-new channel: sha256(channel name) % nodes + 1
    /// (F orderer/consensus/etcdraft/node.go).
    ChannelName,
}

#[derive(Clone, Debug, Serialize)]
pub struct Organization {
    pub msp_id: String,
    /// The region whose console creates the org's CA, MSP and first peer (cluster 1 for it).
    pub home: String,
    /// Peers this organization runs in every region it spans.
    pub peers_per_region: u32,
    /// Regions the organization spans, home first. Defaults to every region.
    pub regions: Vec<String>,
    /// Its own `fabric:` settings, on top of the channel's, for every peer of it.
    pub fabric: Settings,
    /// Single peers' own `fabric:` settings, on top of the organization's.
    pub peer_fabric: BTreeMap<String, Settings>,
}

/// Fabric settings as a `fabric:` block gives them: keys of config::KEYS with their values,
/// in file order.
pub type Settings = Vec<(&'static str, Value)>;

#[derive(Clone, Debug, Serialize)]
pub struct Channel {
    pub name: String,
    pub chaincode: Chaincode,
}

#[derive(Clone, Debug, Serialize)]
pub struct Chaincode {
    pub name: String,
    pub version: String,
    /// Its endorsement policy (MAJORITY of the application organizations by default).
    pub endorsement_policy: EndorsementPolicy,
}

impl Chaincode {
    /// The definition the organizations approve and commit.
    pub fn definition(&self, sequence: u64) -> ChaincodeDefinition {
        ChaincodeDefinition {
            name: self.name.clone(),
            version: self.version.clone(),
            sequence,
            endorsement_policy: self.endorsement_policy.clone(),
        }
    }
}

/// Round-trip times between locations, in milliseconds, with where they come from.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyMatrix {
    /// A fixture path or `inline`.
    pub source: String,
    /// What the numbers are (e.g. "Azure P50, 30 days ending 2024-04-09").
    pub statistic: String,
    /// Symmetric: (a, b) with a < b.
    pub rtt_ms: BTreeMap<(String, String), f64>,
}

impl Topology {
    /// The regions' names, in order.
    pub fn region_names(&self) -> Vec<String> {
        self.regions.iter().map(|r| r.name.clone()).collect()
    }

    /// The settings peer `name` runs with (its core.yaml): the channel's, its organization's
    /// on top, then its own. The channel's for a name that is no peer of an organization.
    pub fn peer_fabric(&self, name: &str) -> FabricConfig {
        let mut config = self.fabric.clone();
        let org_short = name.split('.').nth(1).unwrap_or_default();
        let org = self
            .organizations
            .iter()
            .find(|o| crate::scenario::layout::org_short_name(&o.msp_id) == org_short);
        if let Some(org) = org {
            let own = org.peer_fabric.get(name).into_iter().flatten();
            for (key, value) in org.fabric.iter().chain(own) {
                // Validation built these from config::KEYS with values of their kinds.
                config
                    .set(key, value.clone())
                    .expect("a known key with a value of its kind");
            }
        }
        config
    }

    /// One-way delay between a host in `region_a` and one in `region_b`.
    pub fn one_way_delay(&self, region_a: &str, region_b: &str) -> Duration {
        let topology = self;
        if region_a == region_b {
            return topology.intra_region_rtt / 2;
        }
        let location = |name: &str| {
            topology
                .regions
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.location.as_str())
        };
        match (location(region_a), location(region_b)) {
            (Some(a), Some(b)) if a == b => topology.intra_region_rtt / 2,
            (Some(a), Some(b)) => topology
                .latency
                .rtt(a, b)
                .map(|rtt| rtt / 2)
                // Validation guarantees every pair of used locations has a value.
                .unwrap_or(topology.intra_region_rtt / 2),
            // The harness host (runner, observer) sits next to every region.
            _ => topology.intra_region_rtt / 2,
        }
    }
}

impl LatencyMatrix {
    /// Round-trip time between two distinct locations, if the matrix has it.
    pub fn rtt(&self, a: &str, b: &str) -> Option<Duration> {
        let key = if a < b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        self.rtt_ms
            .get(&key)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Procedure {
    pub runbook: Runbook,
    /// Runbook steps left out, by doc anchor or action name (a procedure mutation).
    pub skip: Vec<String>,
    /// Identities recreated in clusters 2 and 3 instead of imported from cluster 1
    /// (a procedure mutation); values are action names of the import steps.
    pub recreate: Vec<String>,
    /// The optional last step: import every peer into every console.
    pub import_all_peers_everywhere: bool,
    /// For `prebuilt` networks: which peers are anchor peers.
    pub anchor_peers: AnchorPeers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runbook {
    /// The published procedure, step by step, through each region's console.
    Documented,
    /// The network the procedure would build, built directly by the substrate.
    Prebuilt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorPeers {
    /// Every peer is an anchor peer of its organization (what the procedure asks).
    EveryPeer,
    /// Only the first peer of each organization, in its home region.
    OnePerOrg,
}

#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    /// Calls each client submits per second at the start, spread evenly.
    pub rate_per_s: f64,
    pub duration: Duration,
    /// Regions of the client applications, one client each, in order (at least one): a
    /// client fails with its region.
    pub clients: Vec<String>,
    /// How each client reaches the network.
    pub gateway: GatewaySettings,
    /// What the calls are.
    pub calls: Calls,
    /// Changes of every client's rate, in order of `at`.
    pub rate_changes: Vec<RateChange>,
}

impl Workload {
    /// The first client's region, where a single-client scenario's client runs.
    pub fn client_region(&self) -> &str {
        self.clients.first().map_or("", String::as_str)
    }

    /// When each client submits.
    pub fn schedule(&self) -> crate::workload::Schedule {
        crate::workload::Schedule::new(self.rate_per_s, &self.rate_changes, self.duration)
    }
}

/// The application's calls, beyond their rate. The defaults are the asset-transfer
/// application hadr has always run: submits only, unbounded keys, the sample's asset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calls {
    /// The share of calls that are evaluates (ReadAsset of an asset the client created,
    /// through the Gateway's Evaluate: no ordering, no commit), from 0 to below 1.
    pub evaluate_share: f64,
    /// The keys a client writes: once it has created this many assets, every submit
    /// transfers one of them, so two transfers of one key in a block conflict (MVCC).
    /// None: a third of the submits transfer, the rest create new assets.
    pub key_space: Option<u64>,
    /// Bytes of notes each created asset carries (0: the sample's asset as is), so the
    /// proposal, the write set and the block grow with it.
    pub payload_bytes: u64,
}

/// From `at` (an offset from the workload's start) each client submits `rate_per_s`,
/// reached in a straight line over `over` from the rate before (zero: at once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateChange {
    pub at: Duration,
    pub rate_per_s: f64,
    pub over: Duration,
}

/// The client's gateway peers and its calls' deadlines.
#[derive(Clone, Debug, Serialize)]
pub struct GatewaySettings {
    /// Peer names, in order; empty: the client organization's peers, its region's first.
    pub peers: Vec<String>,
    pub failover: Failover,
    pub timeouts: ClientTimeouts,
}

/// What the client does when its gateway peer fails a call without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failover {
    /// Nothing: the fabric-gateway SDK holds one connection (fabric-gateway#257).
    None,
    /// The next gateway endpoint for later calls, as behind a load balancer.
    Next,
}

/// The deadlines of the client's calls. The SDK has none of its own; these defaults are the
/// fabric-samples application's (asset-transfer-basic/application-gateway-go), which most
/// applications copy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTimeouts {
    pub evaluate: Duration,
    pub endorse: Duration,
    pub submit: Duration,
    pub commit_status: Duration,
}

impl Default for ClientTimeouts {
    fn default() -> Self {
        ClientTimeouts {
            evaluate: Duration::from_secs(5),
            endorse: Duration::from_secs(15),
            submit: Duration::from_secs(5),
            commit_status: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Fault {
    /// Offset from the start of the workload.
    pub at: Duration,
    /// How long the fault lasts; None: until the end of the run.
    pub duration: Option<Duration>,
    pub kind: FaultKind,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The region is lost (default), its processes are killed, or its network is cut.
    RegionOutage { region: String, mode: OutageMode },
    /// No traffic between the two sides.
    Partition { sides: [Vec<String>; 2] },
    /// No traffic from the regions of `from` to those of `to`; the other way flows.
    OneWayPartition { from: Vec<String>, to: Vec<String> },
    /// The round-trip time between two regions becomes `rtt`.
    Latency { regions: [String; 2], rtt: Duration },
    /// One node crashes; it restarts when the fault ends.
    NodeCrash { node: String },
}

/// Whom a `node_crash` or `region_outage` may hit instead of a named node or region: the
/// holder of a role at the moment the fault starts (runner/roles.rs), or its region. A role
/// is written where the name would be; its keyword has a `_`, which no region name (a DNS
/// label) and no node name (`<...>.<region>`) can have, so a value is never both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetRole {
    /// The ordering node whose operations endpoint reports `consensus_etcdraft_is_leader`
    /// 1 for the channel, when exactly one that answers does.
    RaftLeader,
    /// The peer through which the client's latest committed transaction went.
    GatewayPeer,
}

impl TargetRole {
    pub const ALL: [TargetRole; 2] = [TargetRole::RaftLeader, TargetRole::GatewayPeer];

    /// The keyword of the role in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            TargetRole::RaftLeader => "raft_leader",
            TargetRole::GatewayPeer => "gateway_peer",
        }
    }

    /// The role `target` names, if it is a role keyword rather than a name.
    pub fn parse(target: &str) -> Option<TargetRole> {
        TargetRole::ALL.into_iter().find(|r| r.name() == target)
    }
}

impl FaultKind {
    /// The `faults:` key of the kind: `region_outage`, `partition`, `one_way_partition`,
    /// `latency`, `node_crash`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::RegionOutage { .. } => "region_outage",
            FaultKind::Partition { .. } => "partition",
            FaultKind::OneWayPartition { .. } => "one_way_partition",
            FaultKind::Latency { .. } => "latency",
            FaultKind::NodeCrash { .. } => "node_crash",
        }
    }

    /// The role the fault is aimed at instead of a name, if it is.
    pub fn role(&self) -> Option<TargetRole> {
        match self {
            FaultKind::NodeCrash { node } => TargetRole::parse(node),
            FaultKind::RegionOutage { region, .. } => TargetRole::parse(region),
            _ => None,
        }
    }

    /// The kind aimed at `holder`, the node that holds its role: the node itself for a crash,
    /// its region for an outage. Other kinds name no role and stay as they are.
    pub fn aimed_at(&self, holder: &str) -> FaultKind {
        match self {
            FaultKind::NodeCrash { .. } => FaultKind::NodeCrash {
                node: holder.to_string(),
            },
            FaultKind::RegionOutage { mode, .. } => FaultKind::RegionOutage {
                region: crate::scenario::layout::region_of(holder).to_string(),
                mode: *mode,
            },
            other => other.clone(),
        }
    }
}

/// How a region fails (README, `faults`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// The region is gone, as a cloud region or cluster loss looks from outside: its traffic
    /// vanishes (no FIN, no RST; dials time out; streams go silent) and its nodes lose their
    /// memory; at the heal they start again from their disks.
    Lost,
    /// Its processes are killed while its network stays up: connections end at once with FIN
    /// or RST and dials are refused; they restart at the heal. `crash` is the old name.
    #[serde(alias = "crash")]
    Killed,
    /// Its network is cut while its processes keep running; TCP retransmits across the cut.
    Cut,
}

impl OutageMode {
    /// Whether the region's nodes stop (and restart from disk at the heal).
    pub fn stops_nodes(self) -> bool {
        matches!(self, OutageMode::Lost | OutageMode::Killed)
    }

    pub fn name(self) -> &'static str {
        match self {
            OutageMode::Lost => "lost",
            OutageMode::Killed => "killed",
            OutageMode::Cut => "cut",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// Every live peer reaches one height with one hash per height, within `within` of the
    /// last heal.
    LedgerInSync { within: Duration },
    /// Every transaction acknowledged as committed is in every surviving peer's ledger once.
    NoLostTransactions,
    /// During fault number `during_fault`, at least this share of submitted transactions
    /// commit.
    TransactionsContinue {
        during_fault: usize,
        min_success_ratio: f64,
    },
    /// Every organization's peers know peers of every other organization.
    CrossOrgGossip,
    /// Every console in a region other than `failed_region` lists every node and acts on it.
    ConsoleFailover { failed_region: String },
    /// The scenario hits a limit the procedure states (ordering service or CA not
    /// multi-region); the check passes when the limit is measured and reported.
    DocumentedLimit { limit: Limit },
    /// The 99th percentile of commit latency (invoke to commit, a transaction that did not
    /// commit counting as slower than any bound) of the transactions submitted during fault
    /// number `during_fault`, or during the whole workload, is below `p99_below`.
    CommitLatency {
        during_fault: Option<usize>,
        p99_below: Duration,
    },
    /// No region's peers go longer than `max_stall` without a new block during the workload,
    /// while the region has a peer to watch.
    BlocksContinue { max_stall: Duration },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    OrderingService,
    CertificateAuthority,
}

/// How a real substrate shapes its network (`real_network:`); `sim` always applies the
/// latency matrix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealNetwork {
    /// Whether the matrix's round trips between regions must be emulated (delays added by the
    /// kernel): a substrate that cannot refuses the scenario. false: regions talk at the
    /// host's own speed, and the report says so.
    pub emulate_round_trips: bool,
}

impl Default for RealNetwork {
    fn default() -> Self {
        RealNetwork {
            emulate_round_trips: true,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Simulation {
    /// turmoil's step: also the resolution of every simulated latency.
    pub tick: Duration,
    /// Hard stop for the simulated run (setup + workload + settling).
    pub max_duration: Duration,
    /// Whether nodes' timing log lines (history::LogLine) go into the history; not in the
    /// file format: `hadr bench` turns it on for its runs.
    pub node_logs: bool,
}

impl Expectation {
    /// The name used in reports, JUnit test cases and `expect:` keys.
    pub fn name(&self) -> &'static str {
        match self {
            Expectation::LedgerInSync { .. } => "ledger_in_sync",
            Expectation::NoLostTransactions => "no_lost_transactions",
            Expectation::TransactionsContinue { .. } => "transactions_continue",
            Expectation::CrossOrgGossip => "cross_org_gossip",
            Expectation::ConsoleFailover { .. } => "console_failover",
            Expectation::DocumentedLimit { .. } => "documented_limit",
            Expectation::CommitLatency { .. } => "commit_latency",
            Expectation::BlocksContinue { .. } => "blocks_continue",
        }
    }
}

/// What the nemesis of `hadr chaos` may do: which faults, how many, how long, where. Every
/// schedule it draws is an ordinary `faults:` list (faults/nemesis.rs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chaos {
    pub kinds: Vec<ChaosKind>,
    /// Modes of region outages.
    pub modes: Vec<OutageMode>,
    /// Faults per schedule, at least `min_faults`, at most `max_faults`.
    pub min_faults: u32,
    pub max_faults: u32,
    /// Faults active at the same time, at most.
    pub max_concurrent: u32,
    pub min_duration: Duration,
    pub max_duration: Duration,
    /// Round trips of latency faults.
    pub min_rtt: Duration,
    pub max_rtt: Duration,
    /// Regions outages, partitions and latency may hit.
    pub regions: Vec<String>,
    /// Nodes `node_crash` may hit.
    pub nodes: Vec<String>,
    /// Roles a region outage or node crash may hit instead of a drawn region or node.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<TargetRole>,
    /// The share of region outages drawn without an end, as a region that is lost for good.
    pub permanent: f64,
    /// The end of the workload left without faults, so that the checks judge a healed network.
    pub quiet: Duration,
    /// Runs a failure's shrinking may spend, at most.
    pub shrink_runs: u32,
}

/// A fault kind the nemesis may draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChaosKind {
    RegionOutage,
    Partition,
    OneWayPartition,
    Latency,
    NodeCrash,
}

impl ChaosKind {
    pub const ALL: [ChaosKind; 5] = [
        ChaosKind::RegionOutage,
        ChaosKind::Partition,
        ChaosKind::OneWayPartition,
        ChaosKind::Latency,
        ChaosKind::NodeCrash,
    ];

    /// The `faults:` key of the kind.
    pub fn name(self) -> &'static str {
        match self {
            ChaosKind::RegionOutage => "region_outage",
            ChaosKind::Partition => "partition",
            ChaosKind::OneWayPartition => "one_way_partition",
            ChaosKind::Latency => "latency",
            ChaosKind::NodeCrash => "node_crash",
        }
    }

    pub fn of(kind: &FaultKind) -> ChaosKind {
        match kind {
            FaultKind::RegionOutage { .. } => ChaosKind::RegionOutage,
            FaultKind::Partition { .. } => ChaosKind::Partition,
            FaultKind::OneWayPartition { .. } => ChaosKind::OneWayPartition,
            FaultKind::Latency { .. } => ChaosKind::Latency,
            FaultKind::NodeCrash { .. } => ChaosKind::NodeCrash,
        }
    }
}
