//! A test-only, in-process network of ordering nodes: messages take a latency (FIFO per
//! link, like a TCP stream), links can be cut, nodes crash (losing everything but their
//! disk) and restart. Time is simulated; the whole run is a function of the seed.

use super::support::fixture;
use crate::fabric::config::{FabricConfig, OrderingConfig};
use crate::fabric::configtx::ChannelBundle;
use crate::fabric::deliver_wire::Status;
use crate::fabric::orderer::node::campaigner_by_channel_name;
use crate::fabric::orderer::{
    BroadcastOutcome, BroadcastResponse, BroadcastTicket, ClusterMessage, ConsenterSupport,
    OrdererDisk, OrdererNode, Output,
};
use crate::fabric::types::{ChannelConfig, Envelope, Hash};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub type Node = OrdererNode<ConsenterSupport>;

pub struct Cluster {
    pub now: Duration,
    pub options: OrderingConfig,
    genesis_config: ChannelConfig,
    seed: u64,
    starts: u64,
    nodes: BTreeMap<u64, Node>,
    disks: BTreeMap<u64, OrdererDisk>,
    /// In flight: (delivery time, sequence) -> (from, to, message).
    wire: BTreeMap<(Duration, u64), (u64, u64, ClusterMessage)>,
    sequence: u64,
    last_delivery: BTreeMap<(u64, u64), Duration>,
    /// One-way latency: uniform in [latency, 2 x latency).
    pub latency: Duration,
    cut: BTreeSet<(u64, u64)>,
    rng: ChaCha8Rng,
    /// (time, node, leader it knows) at every change.
    pub leader_history: Vec<(Duration, u64, Option<u64>)>,
    /// (time, node, block number) for every block written.
    pub written: Vec<(Duration, u64, u64)>,
    pub responses: BTreeMap<(u64, BroadcastTicket), BroadcastResponse>,
    /// Every message sent: (time, from, to, message).
    pub sent: Vec<(Duration, u64, u64, ClusterMessage)>,
}

impl Cluster {
    /// `size` nodes with Fabric's default etcdraft options.
    pub fn new(size: usize, seed: u64, max_message_count: u32) -> Cluster {
        Cluster::with_options(
            size,
            seed,
            max_message_count,
            FabricConfig::default().ordering,
        )
    }

    pub fn with_options(
        size: usize,
        seed: u64,
        max_message_count: u32,
        options: OrderingConfig,
    ) -> Cluster {
        let fixture = fixture();
        let genesis_config = fixture.genesis_config(size, max_message_count, &options);
        let genesis = fixture.genesis_block(&genesis_config);
        let mut cluster = Cluster {
            now: Duration::ZERO,
            options,
            genesis_config,
            seed,
            starts: 0,
            nodes: BTreeMap::new(),
            disks: (1..=size as u64)
                .map(|id| (id, OrdererDisk::new(genesis.clone())))
                .collect(),
            wire: BTreeMap::new(),
            sequence: 0,
            last_delivery: BTreeMap::new(),
            latency: Duration::from_millis(10),
            cut: BTreeSet::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            leader_history: Vec::new(),
            written: Vec::new(),
            responses: BTreeMap::new(),
            sent: Vec::new(),
        };
        for id in 1..=size as u64 {
            cluster.start(id);
        }
        cluster
    }

    pub fn ids(&self) -> Vec<u64> {
        self.disks.keys().copied().collect()
    }

    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[&id]
    }

    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        self.nodes.get_mut(&id).expect("a live node")
    }

    pub fn is_up(&self, id: u64) -> bool {
        self.nodes.contains_key(&id)
    }

    pub fn disk(&self, id: u64) -> &OrdererDisk {
        &self.disks[&id]
    }

    /// (Re)starts node `id` from its disk.
    pub fn start(&mut self, id: u64) {
        self.starts += 1;
        let signer = fixture().orderers[id as usize - 1].clone();
        let bundle = ChannelBundle::new(self.genesis_config.clone()).expect("a valid config");
        let support = ConsenterSupport::new(bundle, signer);
        let rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_mul(1000).wrapping_add(self.starts));
        let node = OrdererNode::new(
            id,
            self.options.clone(),
            support,
            self.disks[&id].clone(),
            rng,
            self.now,
            campaigner_by_channel_name(
                &self.genesis_config.channel_id,
                self.genesis_config.orderer.consenters.len() as u64,
            ),
        )
        .expect("node starts");
        self.nodes.insert(id, node);
        self.drain(id);
    }

    /// Kills node `id`: its memory is gone, its disk stays.
    pub fn crash(&mut self, id: u64) {
        self.nodes.remove(&id);
    }

    /// Cuts every link between the groups.
    pub fn partition(&mut self, groups: &[&[u64]]) {
        for (i, a) in groups.iter().enumerate() {
            for b in &groups[i + 1..] {
                for &x in *a {
                    for &y in *b {
                        self.cut.insert((x, y));
                        self.cut.insert((y, x));
                    }
                }
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// A broadcast to node `id`; a forward to the leader is answered at once (see drain).
    pub fn broadcast(&mut self, id: u64, envelope: Envelope) -> BroadcastOutcome {
        let now = self.now;
        let outcome = self.node_mut(id).broadcast(now, envelope);
        self.drain(id);
        match outcome {
            BroadcastOutcome::Queued(ticket) => match self.responses.remove(&(id, ticket)) {
                Some(response) => BroadcastOutcome::Done(response),
                None => BroadcastOutcome::Queued(ticket),
            },
            done => done,
        }
    }

    /// The nodes that believe they lead.
    pub fn leaders(&self) -> Vec<u64> {
        self.nodes
            .values()
            .filter(|n| n.is_leader())
            .map(|n| n.node_id())
            .collect()
    }

    /// Runs until `predicate` holds (checked after every event) or `limit` passes; returns
    /// the time it held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut predicate: impl FnMut(&Cluster) -> bool,
    ) -> Option<Duration> {
        let end = self.now + limit;
        loop {
            if predicate(self) {
                return Some(self.now);
            }
            if !self.step(end) {
                return None;
            }
        }
    }

    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.step(end) {}
    }

    /// Processes the next event at or before `end`; false (with the clock at `end`) when
    /// there is none.
    fn step(&mut self, end: Duration) -> bool {
        let next_message = self.wire.keys().next().map(|(at, _)| *at);
        let next_timer = self
            .nodes
            .values()
            .map(|node| (node.next_deadline(), node.node_id()))
            .min();
        let message_first = match (next_message, next_timer) {
            (Some(at), Some((deadline, _))) => at <= deadline,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => {
                self.now = end;
                return false;
            }
        };
        if message_first {
            let (&key, _) = self.wire.iter().next().expect("a message");
            if key.0 > end {
                self.now = end;
                return false;
            }
            let (from, to, message) = self.wire.remove(&key).expect("a message");
            self.now = key.0;
            let now = self.now;
            if self.cut.contains(&(from, to)) {
                return true;
            }
            if let Some(node) = self.nodes.get_mut(&to) {
                node.handle_cluster_message(now, from, message);
                self.drain(to);
            }
        } else {
            let (deadline, id) = next_timer.expect("a timer");
            if deadline > end {
                self.now = end;
                return false;
            }
            self.now = deadline;
            self.node_mut(id).handle_timeout(deadline);
            self.drain(id);
        }
        true
    }

    fn drain(&mut self, id: u64) {
        while let Some(output) = self.nodes.get_mut(&id).and_then(|node| node.poll_output()) {
            match output {
                Output::Send { to, message } => self.send(id, to, message),
                // The shell's part (node/orderer.rs): SUCCESS once the forward is sent, not
                // when the leader cannot be reached. Time is not modelled here.
                Output::Forward {
                    to,
                    message,
                    ticket,
                } => {
                    let reachable = !self.cut.contains(&(id, to)) && self.nodes.contains_key(&to);
                    self.send(id, to, message);
                    let response = if reachable {
                        BroadcastResponse {
                            status: Status::Success,
                            info: String::new(),
                        }
                    } else {
                        BroadcastResponse {
                            status: Status::ServiceUnavailable,
                            info: format!("timed out waiting on forwarding to {to}"),
                        }
                    };
                    self.responses.insert((id, ticket), response);
                }
                Output::BlockWritten { number } => self.written.push((self.now, id, number)),
                Output::BroadcastResponse { ticket, response } => {
                    self.responses.insert((id, ticket), response);
                }
                Output::RaftStateChanged { leader, .. } => {
                    self.leader_history.push((self.now, id, leader));
                }
                // Timing lines for the node's log; the driver measures nothing with them.
                Output::Enqueued { .. } | Output::BlockCut { .. } => {}
            }
        }
    }

    fn send(&mut self, from: u64, to: u64, message: ClusterMessage) {
        self.sent.push((self.now, from, to, message.clone()));
        if self.cut.contains(&(from, to)) {
            return;
        }
        if !self.nodes.contains_key(&to) {
            // A crashed node refuses connections: the sender learns at once (a partition,
            // by contrast, drops silently).
            let now = self.now;
            self.node_mut(from).report_unreachable(now, to);
            return;
        }
        let jitter = self.rng.random_range(0..=self.latency.as_micros() as u64);
        let mut at = self.now + self.latency + Duration::from_micros(jitter);
        // FIFO per link, as over one TCP stream.
        let last = self.last_delivery.entry((from, to)).or_default();
        at = at.max(*last);
        *last = at;
        self.sequence += 1;
        self.wire.insert((at, self.sequence), (from, to, message));
    }

    /// Header hashes of node `id`'s block store.
    pub fn hashes(&self, id: u64) -> Vec<Hash> {
        let disk = self.disk(id);
        (0..disk.height())
            .map(|n| disk.block(n).expect("written").hash())
            .collect()
    }

    /// Blocks written after `since` on node `id`.
    pub fn written_since(&self, id: u64, since: Duration) -> usize {
        self.written
            .iter()
            .filter(|(at, node, _)| *node == id && *at > since)
            .count()
    }

    /// Fails when two nodes hold different blocks at the same number, or a store is not a
    /// hash chain.
    pub fn assert_consistent(&self) {
        let chains: Vec<Vec<Hash>> = self.ids().iter().map(|&id| self.hashes(id)).collect();
        for (id, chain) in self.ids().iter().zip(&chains) {
            let disk = self.disk(*id);
            for n in 1..disk.height() {
                assert_eq!(
                    disk.block(n).unwrap().header.previous_hash,
                    chain[n as usize - 1],
                    "node {id}: block {n} does not chain"
                );
            }
        }
        for a in &chains {
            for b in &chains {
                let common = a.len().min(b.len());
                assert_eq!(a[..common], b[..common], "two nodes disagree on a block");
            }
        }
    }
}
