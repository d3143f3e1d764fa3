//! Scenarios and histories for tests of the checks and the reports: DESIGN.md's three-region
//! scenario built in code, a builder for hand-written histories, and `synthetic_run`, an
//! idealized recording of a scenario (blocks every batch timeout, peers that receive them
//! unless down or cut off and catch up after the heal, gossip views that follow Fabric's
//! timers) that checks should pass on, and that tests then break one event at a time.

use super::view::{describe_fault, Window};
use crate::fabric::config::FabricConfig;
use crate::fabric::crypto::sha256;
use crate::history::{
    BlockRecord, ChainRecord, ConsoleAction, ConsoleListing, EventKind, FaultPhase, FaultRecord,
    History, KnownPeer, LedgerInfo, MembershipRecord, OpPhase, Operation, StepOutcome, StepRecord,
    TimeMs,
};
use crate::scenario::layout::{ca_name, client_name, console_name, peer_name, NodeSpec, Role};
use crate::scenario::model::{
    AnchorPeers, Chaincode, Channel, Expectation, Failover, Fault, FaultKind, GatewaySettings,
    LatencyMatrix, OrderingService, Organization, OutageMode, Procedure, Region, Runbook, Scenario,
    Simulation, Topology, Workload,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The channel of `three_region_scenario`.
pub const CHANNEL: &str = "channel1";

/// A region outage of `region` (crash) starting `at_s` seconds into the workload.
pub fn outage(region: &str, at_s: u64, for_s: Option<u64>) -> Fault {
    Fault {
        at: Duration::from_secs(at_s),
        duration: for_s.map(Duration::from_secs),
        kind: FaultKind::RegionOutage {
            region: region.to_string(),
            mode: OutageMode::Lost,
        },
    }
}

/// DESIGN.md's scenario: us-east (cluster 1), us-west, ca-central; three ordering nodes in
/// us-east; Org1MSP (home us-east) and Org2MSP (home us-west) with one peer per region; a
/// 6-minute workload at 5 tx/s from us-east; an outage of us-west from 2m for 1m; the five
/// expectations of DESIGN.md.
pub fn three_region_scenario() -> Scenario {
    let regions = [
        ("us-east", "eastus"),
        ("us-west", "westus"),
        ("ca-central", "canadacentral"),
    ];
    let all: Vec<String> = regions.iter().map(|(r, _)| r.to_string()).collect();
    let org = |msp_id: &str, home: &str| Organization {
        msp_id: msp_id.to_string(),
        home: home.to_string(),
        peers_per_region: 1,
        regions: std::iter::once(home.to_string())
            .chain(all.iter().filter(|r| *r != home).cloned())
            .collect(),
        fabric: Vec::new(),
        peer_fabric: Default::default(),
    };
    Scenario {
        name: "multi-region-ha".to_string(),
        description: Some("DESIGN.md's three-region scenario".to_string()),
        source: PathBuf::from("scenarios/multi-region-ha.yaml"),
        seed: 1,
        topology: Topology {
            latency: LatencyMatrix {
                source: "inline".to_string(),
                statistic: "round-trip ms, illustrative".to_string(),
                rtt_ms: [
                    (("canadacentral", "eastus"), 25.0),
                    (("eastus", "westus"), 70.0),
                    (("canadacentral", "westus"), 80.0),
                ]
                .into_iter()
                .map(|((a, b), ms)| ((a.to_string(), b.to_string()), ms))
                .collect(),
            },
            intra_region_rtt: Duration::from_millis(1),
            regions: regions
                .iter()
                .map(|(name, location)| Region {
                    name: name.to_string(),
                    location: location.to_string(),
                })
                .collect(),
            ordering_service: OrderingService {
                first_leader: Default::default(),
                msp_id: "OrdererMSP".to_string(),
                nodes: vec!["us-east".to_string(); 3],
            },
            organizations: vec![org("Org1MSP", "us-east"), org("Org2MSP", "us-west")],
            channel: Channel {
                name: CHANNEL.to_string(),
                chaincode: Chaincode {
                    name: "assets".to_string(),
                    version: "1.0".to_string(),
                    endorsement_policy: Default::default(),
                },
            },
            fabric: FabricConfig::default(),
        },
        procedure: Procedure {
            runbook: Runbook::Documented,
            skip: Vec::new(),
            recreate: Vec::new(),
            import_all_peers_everywhere: true,
            anchor_peers: AnchorPeers::EveryPeer,
        },
        workload: Workload {
            rate_per_s: 5.0,
            duration: Duration::from_secs(360),
            clients: vec!["us-east".to_string()],
            gateway: GatewaySettings {
                peers: Vec::new(),
                failover: Failover::None,
                timeouts: Default::default(),
            },
            calls: Default::default(),
            rate_changes: Vec::new(),
        },
        faults: vec![outage("us-west", 120, Some(60))],
        expect: vec![
            Expectation::LedgerInSync {
                within: Duration::from_secs(60),
            },
            Expectation::NoLostTransactions,
            Expectation::TransactionsContinue {
                during_fault: 0,
                min_success_ratio: 0.95,
            },
            Expectation::CrossOrgGossip,
            Expectation::ConsoleFailover {
                failed_region: "us-west".to_string(),
            },
        ],
        simulation: Simulation {
            tick: Duration::from_millis(1),
            max_duration: Duration::from_secs(1200),
            node_logs: false,
        },
        real_network: Default::default(),
        chaos: None,
    }
}

/// The hash of a block: SHA-256 over the previous hash, the number and the transaction IDs.
pub fn block_hash(previous: &str, number: u64, tx_ids: &[String]) -> String {
    let text = format!("{previous}/{number}/{}", tx_ids.join(","));
    hex::encode(sha256(text.as_bytes()))
}

/// A fork-free chain: `heights` blocks (0 is genesis, empty), block n holding `tx_ids[n]`.
pub fn chain_of(tx_ids: &[Vec<String>]) -> Vec<BlockRecord> {
    let mut blocks: Vec<BlockRecord> = Vec::new();
    for (number, ids) in tx_ids.iter().enumerate() {
        let previous = blocks.last().map_or("", |b| b.hash.as_str());
        blocks.push(BlockRecord {
            number: number as u64,
            hash: block_hash(previous, number as u64, ids),
            valid_tx_ids: ids.clone(),
        });
    }
    blocks
}

/// Builds a history event by event, for tests; `build` orders the events by time (stable).
#[derive(Clone, Debug, Default)]
pub struct HistoryBuilder {
    history: History,
}

impl HistoryBuilder {
    pub fn new() -> HistoryBuilder {
        HistoryBuilder::default()
    }

    pub fn push(mut self, at_ms: TimeMs, kind: EventKind) -> Self {
        self.history.push(at_ms, kind);
        self
    }

    pub fn node(self, at_ms: TimeMs, node: &str, up: bool) -> Self {
        self.push(
            at_ms,
            EventKind::NodeState {
                node: node.to_string(),
                up,
            },
        )
    }

    pub fn fault(
        self,
        at_ms: TimeMs,
        index: usize,
        phase: FaultPhase,
        description: &str,
        regions: &[&str],
    ) -> Self {
        self.push(
            at_ms,
            EventKind::Fault(FaultRecord {
                index,
                phase,
                description: description.to_string(),
                regions: regions.iter().map(|r| r.to_string()).collect(),
                role: None,
            }),
        )
    }

    /// A channel-info sample of `peer` on `CHANNEL`.
    pub fn ledger(self, at_ms: TimeMs, peer: &str, height: u64, hash: &str) -> Self {
        self.push(
            at_ms,
            EventKind::LedgerInfo(LedgerInfo {
                peer: peer.to_string(),
                channel: CHANNEL.to_string(),
                height,
                current_block_hash: hash.to_string(),
            }),
        )
    }

    /// `peer`'s chain on `CHANNEL`, fetched at `at_ms`.
    pub fn chain(self, at_ms: TimeMs, peer: &str, blocks: Vec<BlockRecord>) -> Self {
        self.push(
            at_ms,
            EventKind::Chain(ChainRecord {
                peer: peer.to_string(),
                channel: CHANNEL.to_string(),
                blocks,
            }),
        )
    }

    /// `peer` (of `msp_id`) knows the given (node, msp) pairs, at port 7051.
    pub fn membership(
        self,
        at_ms: TimeMs,
        peer: &str,
        msp_id: &str,
        known: &[(&str, &str)],
    ) -> Self {
        self.push(
            at_ms,
            EventKind::Membership(MembershipRecord {
                peer: peer.to_string(),
                msp_id: msp_id.to_string(),
                channel: CHANNEL.to_string(),
                known: known
                    .iter()
                    .map(|(node, msp)| KnownPeer {
                        endpoint: format!("{node}:7051"),
                        msp_id: msp.to_string(),
                    })
                    .collect(),
            }),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn op(
        self,
        at_ms: TimeMs,
        op_id: u64,
        process: &str,
        phase: OpPhase,
        function: &str,
        tx_id: Option<&str>,
        node: Option<&str>,
        detail: &str,
    ) -> Self {
        self.push(
            at_ms,
            EventKind::Op(Operation {
                op_id,
                process: process.to_string(),
                phase,
                function: function.to_string(),
                tx_id: tx_id.map(str::to_string),
                node: node.map(str::to_string),
                detail: detail.to_string(),
            }),
        )
    }

    /// A `create_asset` transaction from `client.us-east`: invoke, then `outcome` (if any)
    /// at `done_ms`, with tx_id `tx_id`.
    pub fn transaction(
        self,
        op_id: u64,
        invoked_ms: TimeMs,
        outcome: Option<(TimeMs, OpPhase)>,
        tx_id: &str,
    ) -> Self {
        let client = client_name("us-east");
        let peer = peer_name("Org1MSP", 0, "us-east");
        let built = self.op(
            invoked_ms,
            op_id,
            &client,
            OpPhase::Invoke,
            "create_asset",
            Some(tx_id),
            Some(&peer),
            "",
        );
        match outcome {
            Some((done_ms, phase)) => built.op(
                done_ms,
                op_id,
                &client,
                phase,
                "create_asset",
                Some(tx_id),
                Some(&peer),
                "",
            ),
            None => built,
        }
    }

    pub fn listing(
        self,
        at_ms: TimeMs,
        region: &str,
        answered: bool,
        components: &[String],
    ) -> Self {
        self.push(
            at_ms,
            EventKind::ConsoleListing(ConsoleListing {
                region: region.to_string(),
                answered,
                components: components.to_vec(),
            }),
        )
    }

    pub fn action(self, at_ms: TimeMs, region: &str, target: &str, ok: bool, detail: &str) -> Self {
        self.push(
            at_ms,
            EventKind::ConsoleAction(ConsoleAction {
                region: region.to_string(),
                action: "status".to_string(),
                target: target.to_string(),
                ok,
                detail: detail.to_string(),
            }),
        )
    }

    pub fn step(self, at_ms: TimeMs, step: StepRecord) -> Self {
        self.push(at_ms, EventKind::Step(step))
    }

    pub fn build(mut self) -> History {
        self.history.events.sort_by_key(|e| e.at_ms);
        self.history
    }
}

/// When `synthetic_run`'s workload starts: after a minute of procedure.
pub const SYNTHETIC_WORKLOAD_START_MS: TimeMs = 60_000;
const SAMPLE_INTERVAL_MS: TimeMs = 1_000;
const MEMBERSHIP_INTERVAL_MS: TimeMs = 5_000;
const CONSOLE_INTERVAL_MS: TimeMs = 10_000;
const CA_REQUEST_INTERVAL_MS: TimeMs = 15_000;
const DELIVERY_MS: TimeMs = 300;
const CATCH_UP_MS: TimeMs = 5_000;
const SUBMIT_TIMEOUT_MS: TimeMs = 30_000;
const SETTLE_MS: TimeMs = 40_000;

/// The network of a scenario over time, as `synthetic_run` idealizes it.
struct Network<'a> {
    layout: Vec<NodeSpec>,
    faults: Vec<(Window, &'a FaultKind)>,
}

impl Network<'_> {
    fn active(&self, at_ms: TimeMs) -> impl Iterator<Item = &FaultKind> {
        self.faults
            .iter()
            .filter(move |(w, _)| w.contains(at_ms))
            .map(|(_, k)| *k)
    }

    fn region_out(&self, region: &str, at_ms: TimeMs) -> bool {
        self.active(at_ms)
            .any(|k| matches!(k, FaultKind::RegionOutage { region: r, .. } if r == region))
    }

    fn node_up(&self, node: &NodeSpec, at_ms: TimeMs) -> bool {
        !self.active(at_ms).any(|k| match k {
            FaultKind::RegionOutage { region, mode } => {
                mode.stops_nodes() && *region == node.region
            }
            FaultKind::NodeCrash { node: n } => *n == node.name,
            _ => false,
        })
    }

    /// Whether traffic flows between two regions.
    fn connected(&self, a: &str, b: &str, at_ms: TimeMs) -> bool {
        !self.region_out(a, at_ms)
            && !self.region_out(b, at_ms)
            && !self.active(at_ms).any(|k| match k {
                FaultKind::Partition { sides } => {
                    let on = |side: &[String], r: &str| side.iter().any(|s| s == r);
                    (on(&sides[0], a) && on(&sides[1], b)) || (on(&sides[1], a) && on(&sides[0], b))
                }
                // A connection needs both ways.
                FaultKind::OneWayPartition { from, to } => {
                    let on = |side: &[String], r: &str| side.iter().any(|s| s == r);
                    (on(from, a) && on(to, b)) || (on(from, b) && on(to, a))
                }
                _ => false,
            })
    }

    /// Whether a node reaches up nodes of `other`.
    fn reaches(&self, from: &NodeSpec, to: &NodeSpec, at_ms: TimeMs) -> bool {
        self.node_up(from, at_ms)
            && self.node_up(to, at_ms)
            && self.connected(&from.region, &to.region, at_ms)
    }

    fn nodes(&self, role: Role) -> impl Iterator<Item = &NodeSpec> {
        self.layout.iter().filter(move |n| n.role == role)
    }

    /// Whether a node in `region` reaches a Raft majority of ordering nodes.
    fn ordering_reachable(&self, from: &NodeSpec, at_ms: TimeMs) -> bool {
        let orderers: Vec<&NodeSpec> = self.nodes(Role::Orderer).collect();
        let reached = orderers
            .iter()
            .filter(|o| self.reaches(from, o, at_ms))
            .count();
        reached > orderers.len() / 2
    }

    /// The first time from `at_ms` on (in sample steps, up to `end_ms`) at which `check` holds.
    fn first_from(
        &self,
        at_ms: TimeMs,
        end_ms: TimeMs,
        check: impl Fn(TimeMs) -> bool,
    ) -> Option<TimeMs> {
        (at_ms..=end_ms)
            .step_by(SAMPLE_INTERVAL_MS as usize)
            .find(|t| check(*t))
    }
}

/// An idealized recording of `scenario` that the checks should accept: one block per batch
/// timeout while a Raft majority of ordering nodes is reachable from the client, peers that
/// receive each block unless down or cut off (then 5s after they are back), channel info every
/// second, membership every 5s following aliveExpirationTimeout, console listings and status
/// actions every 10s, a CA registration per organization every 15s, chains fetched 40s after
/// the workload. Deterministic; no randomness.
pub fn synthetic_run(scenario: &Scenario) -> History {
    let start = SYNTHETIC_WORKLOAD_START_MS;
    let workload_ms = scenario.workload.duration.as_millis() as TimeMs;
    let end = start + workload_ms + SETTLE_MS;
    let network = Network {
        layout: scenario.layout(),
        faults: scenario
            .faults
            .iter()
            .map(|f| {
                let at = start + f.at.as_millis() as TimeMs;
                let until = f.duration.map_or(end + 1, |d| at + d.as_millis() as TimeMs);
                (
                    Window {
                        start_ms: at,
                        end_ms: until,
                    },
                    &f.kind,
                )
            })
            .collect(),
    };
    let mut b = HistoryBuilder::new();
    for node in &network.layout {
        b = b.node(0, &node.name, true);
    }
    b = procedure_steps(b, scenario);
    b = b.push(start, EventKind::WorkloadStarted);
    b = b.push(start + workload_ms, EventKind::WorkloadStopped);
    for (index, ((window, kind), fault)) in network.faults.iter().zip(&scenario.faults).enumerate()
    {
        let (description, regions) = describe_fault(kind);
        let regions: Vec<&str> = regions.iter().map(String::as_str).collect();
        b = b.fault(
            window.start_ms,
            index,
            FaultPhase::Start,
            &description,
            &regions,
        );
        let crashed: Vec<&NodeSpec> = network
            .layout
            .iter()
            .filter(|n| !network.node_up(n, window.start_ms))
            .collect();
        for node in &crashed {
            b = b.node(window.start_ms, &node.name, false);
        }
        if fault.duration.is_some() {
            b = b.fault(
                window.end_ms,
                index,
                FaultPhase::Heal,
                &description,
                &regions,
            );
            for node in crashed.iter().filter(|n| network.node_up(n, window.end_ms)) {
                b = b.node(window.end_ms, &node.name, true);
            }
        }
    }

    // Transactions and the blocks they land in.
    let client = network
        .nodes(Role::Client)
        .next()
        .cloned()
        .expect("layout has a client");
    let endorser = peer_name(
        &scenario.topology.organizations[0].msp_id,
        0,
        scenario.workload.client_region(),
    );
    let batch_ms = scenario.topology.fabric.ordering.batch_timeout.as_millis() as TimeMs;
    let interval_ms = (1000.0 / scenario.workload.rate_per_s) as TimeMs;
    let mut blocks: BTreeMap<TimeMs, Vec<String>> = BTreeMap::new();
    let mut invoked = start;
    let mut op_id = 0;
    while invoked < start + workload_ms {
        let tx_id = format!("tx{op_id:05}");
        let cut = (invoked - start) / batch_ms * batch_ms + batch_ms + start;
        let outcome = if !network.node_up(&client, invoked) {
            None
        } else if !network.ordering_reachable(&client, invoked) {
            Some(if op_id % 5 == 0 {
                (invoked + SUBMIT_TIMEOUT_MS, OpPhase::Info)
            } else {
                (invoked + 3_000, OpPhase::Fail)
            })
        } else if network.ordering_reachable(&client, cut) {
            blocks.entry(cut).or_default().push(tx_id.clone());
            Some((cut + DELIVERY_MS + op_id % 7 * 40, OpPhase::Ok))
        } else {
            Some((invoked + SUBMIT_TIMEOUT_MS, OpPhase::Info))
        };
        if network.node_up(&client, invoked) {
            b = b.op(
                invoked,
                op_id,
                &client.name,
                OpPhase::Invoke,
                "create_asset",
                Some(&tx_id),
                Some(&endorser),
                "",
            );
            if let Some((done, phase)) = outcome {
                let detail = match phase {
                    OpPhase::Fail => "SERVICE_UNAVAILABLE: no Raft leader",
                    OpPhase::Info => "timeout waiting for commit",
                    _ => "",
                };
                b = b.op(
                    done,
                    op_id,
                    &client.name,
                    phase,
                    "create_asset",
                    Some(&tx_id),
                    Some(&endorser),
                    detail,
                );
            }
        }
        invoked += interval_ms;
        op_id += 1;
    }
    let mut chain: Vec<Vec<String>> = vec![Vec::new()];
    let mut cut_at: Vec<TimeMs> = vec![0];
    for (cut, tx_ids) in blocks {
        chain.push(tx_ids);
        cut_at.push(cut);
    }
    let chain = chain_of(&chain);

    // Each peer's deliveries: when it holds each block.
    let peers: Vec<NodeSpec> = network.nodes(Role::Peer).cloned().collect();
    let mut delivered: BTreeMap<&str, Vec<TimeMs>> = BTreeMap::new();
    for peer in &peers {
        let mut times: Vec<TimeMs> = vec![0];
        for cut in cut_at.iter().skip(1) {
            let due = cut + DELIVERY_MS;
            let previous = *times.last().unwrap_or(&0);
            let at = if network.ordering_reachable(peer, due) {
                Some(due)
            } else {
                network
                    .first_from(due, end, |t| network.ordering_reachable(peer, t))
                    .map(|t| t + CATCH_UP_MS)
            };
            match at {
                Some(at) => times.push(at.max(previous)),
                None => break,
            }
        }
        delivered.insert(&peer.name, times);
    }
    let height_at = |peer: &str, at_ms: TimeMs| -> usize {
        delivered[peer].iter().filter(|t| **t <= at_ms).count()
    };

    // Observations.
    for t in (start - 10_000..=end).step_by(SAMPLE_INTERVAL_MS as usize) {
        for peer in &peers {
            if network.node_up(peer, t) && !network.region_out(&peer.region, t) {
                let height = height_at(&peer.name, t);
                b = b.ledger(t, &peer.name, height as u64, &chain[height - 1].hash);
            } else {
                b = b.push(
                    t,
                    EventKind::Unreachable {
                        node: peer.name.clone(),
                        what: "channel info".to_string(),
                    },
                );
            }
        }
    }
    let expiration = scenario
        .topology
        .fabric
        .gossip
        .alive_expiration_timeout
        .as_millis() as TimeMs;
    for t in (start..=end).step_by(MEMBERSHIP_INTERVAL_MS as usize) {
        for peer in peers
            .iter()
            .filter(|p| network.node_up(p, t) && !network.region_out(&p.region, t))
        {
            // Alive when heard from within the expiration, and heard from at least one
            // membership interval ago.
            let known: Vec<(&str, &str)> = peers
                .iter()
                .filter(|q| q.name != peer.name)
                .filter(|q| {
                    (t.saturating_sub(expiration)..=t.saturating_sub(MEMBERSHIP_INTERVAL_MS))
                        .step_by(MEMBERSHIP_INTERVAL_MS as usize)
                        .any(|heard| network.reaches(peer, q, heard))
                })
                .map(|q| (q.name.as_str(), q.msp_id.as_deref().unwrap_or_default()))
                .collect();
            b = b.membership(
                t,
                &peer.name,
                peer.msp_id.as_deref().unwrap_or_default(),
                &known,
            );
        }
    }
    let managed: Vec<&NodeSpec> = network
        .layout
        .iter()
        .filter(|n| {
            matches!(
                n.role,
                Role::Peer | Role::CertificateAuthority | Role::Orderer
            )
        })
        .collect();
    let mut components: Vec<String> = managed.iter().map(|n| n.name.clone()).collect();
    components.extend(
        scenario
            .topology
            .organizations
            .iter()
            .map(|o| o.msp_id.clone()),
    );
    for t in (start..=end).step_by(CONSOLE_INTERVAL_MS as usize) {
        for console in network.nodes(Role::Console) {
            if !network.node_up(console, t) || network.region_out(&console.region, t) {
                continue;
            }
            b = b.listing(t, &console.region, true, &components);
            for target in &managed {
                let ok = network.reaches(console, target, t);
                b = b.action(
                    t + 100,
                    &console.region,
                    &target.name,
                    ok,
                    if ok { "running" } else { "unreachable" },
                );
            }
        }
    }
    let mut ca_op = 1_000_000;
    for t in (start..end - SETTLE_MS).step_by(CA_REQUEST_INTERVAL_MS as usize) {
        for org in &scenario.topology.organizations {
            let ca = network
                .layout
                .iter()
                .find(|n| n.name == ca_name(&org.msp_id, &org.home))
                .expect("layout has the org's CA");
            let Some(console) = network.nodes(Role::Console).find(|c| {
                c.region != org.home && network.node_up(c, t) && !network.region_out(&c.region, t)
            }) else {
                continue;
            };
            let process = console_name(&console.region);
            b = b.op(
                t,
                ca_op,
                &process,
                OpPhase::Invoke,
                "register",
                None,
                Some(&ca.name),
                "",
            );
            b = if network.reaches(console, ca, t) {
                b.op(
                    t + 200,
                    ca_op,
                    &process,
                    OpPhase::Ok,
                    "register",
                    None,
                    Some(&ca.name),
                    "",
                )
            } else {
                b.op(
                    t + 3_000,
                    ca_op,
                    &process,
                    OpPhase::Fail,
                    "register",
                    None,
                    Some(&ca.name),
                    "connection refused",
                )
            };
            ca_op += 1;
        }
    }
    for peer in &peers {
        if network.node_up(peer, end) && !network.region_out(&peer.region, end) {
            let height = height_at(&peer.name, end);
            b = b.chain(end, &peer.name, chain[..height].to_vec());
        }
    }
    b.build()
}

/// The runbook's steps as a documented run would record them (a few, with their anchors).
fn procedure_steps(mut b: HistoryBuilder, scenario: &Scenario) -> HistoryBuilder {
    let first = &scenario.topology.regions[0].name;
    let mut at_ms = 1_000;
    let mut add =
        |b: HistoryBuilder, section: &str, anchor: Option<&str>, action: &str, region: &str| {
            at_ms += 1_000;
            b.step(
                at_ms,
                StepRecord {
                    section: section.to_string(),
                    anchor: anchor.map(str::to_string),
                    action: action.to_string(),
                    region: region.to_string(),
                    outcome: StepOutcome::Ok,
                    detail: "ok".to_string(),
                },
            )
        };
    b = add(
        b,
        "ibp-console-hadr-peerCA",
        Some("ibp-console-build-network-create-CA-org1CA"),
        "deploy-ca",
        first,
    );
    b = add(
        b,
        "ibp-console-hadr-peerCA",
        Some("ibp-console-build-network-peer-create"),
        "create-peer",
        first,
    );
    b = add(
        b,
        "ibp-console-hadr-peerCA",
        Some("ibp-console-join-network-join-peer-org2"),
        "join-channel",
        first,
    );
    b = add(b, "ibp-console-hadr-export-meta1", None, "export-ca", first);
    for region in scenario.topology.regions.iter().skip(1) {
        b = add(
            b,
            "ibp-console-hadr-import-meta23",
            Some("ibp-console-import-ca"),
            "import-ca",
            &region.name,
        );
        b = add(
            b,
            "ibp-console-hadr-create-new-peers",
            Some("ibp-console-build-network-peer-create"),
            "create-peer",
            &region.name,
        );
        b = add(
            b,
            "ibp-console-hadr-create-new-peers",
            Some("ibp-console-govern-channels-anchor-peers"),
            "set-anchor-peer",
            &region.name,
        );
    }
    b
}
