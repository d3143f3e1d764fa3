//! What the latency table alone says, for the same placement as a measured figure: one-way
//! delays (half the table's round trip), the leader's quorum round trip and Fabric's timers.
//! The sim adds what the table leaves out: each hop rounds up to the tick, and the
//! processes' own steps (a dial, a Raft ready, a gossip hop) take ticks of their own.

use crate::fabric::config::OrderingConfig;
use crate::scenario::layout::{orderer_names, region_of};
use crate::scenario::model::Topology;
use std::time::Duration;

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One-way delay between two nodes (or regions), from the table.
pub fn one_way_ms(topology: &Topology, a: &str, b: &str) -> f64 {
    if a == b {
        return 0.0;
    }
    ms(topology.one_way_delay(region_of(a), region_of(b)))
}

/// The ordering nodes' host names, in consenter order.
pub fn ordering_nodes(topology: &Topology) -> Vec<String> {
    orderer_names(&topology.ordering_service)
}

/// The time a leader waits for a quorum to have a block: the round trip to the follower
/// whose acknowledgement completes the majority (etcd raft commits on a majority's match).
pub fn quorum_rtt_ms(topology: &Topology, leader: &str) -> f64 {
    let nodes = ordering_nodes(topology);
    let mut round_trips: Vec<f64> = nodes
        .iter()
        .filter(|node| node.as_str() != leader)
        .map(|node| 2.0 * one_way_ms(topology, leader, node))
        .collect();
    round_trips.sort_by(f64::total_cmp);
    let acks_needed = nodes.len() / 2;
    acks_needed
        .checked_sub(1)
        .and_then(|i| round_trips.get(i).copied())
        .unwrap_or(0.0)
}

/// The fastest way a block written at `leader` reaches `region`: straight from the leader,
/// or from a follower once it learnt the commit (one more one-way from the leader).
pub fn delivery_ms(topology: &Topology, leader: &str, region: &str) -> f64 {
    ordering_nodes(topology)
        .iter()
        .map(|node| one_way_ms(topology, leader, node) + one_way_ms(topology, node, region))
        .fold(f64::INFINITY, f64::min)
}

/// Broadcast from `gateway` to `orderer`, its forward to `leader`, and the quorum round trip:
/// the ordering latency without the batch wait.
pub fn ordering_ms(topology: &Topology, gateway: &str, orderer: &str, leader: &str) -> f64 {
    one_way_ms(topology, gateway, orderer)
        + one_way_ms(topology, orderer, leader)
        + quorum_rtt_ms(topology, leader)
}

/// The physical floor of a commit acknowledged by `gateway`: one-way to the leader, the
/// quorum round trip, the fastest delivery back to the gateway's region.
pub fn commit_floor_ms(topology: &Topology, gateway: &str, leader: &str) -> f64 {
    one_way_ms(topology, gateway, leader)
        + quorum_rtt_ms(topology, leader)
        + delivery_ms(topology, leader, region_of(gateway))
}

/// How long a batch stays open: BatchTimeout, or less when MaxMessageCount envelopes
/// arrive sooner at `rate_per_s`.
pub fn batch_window_ms(ordering: &OrderingConfig, rate_per_s: f64) -> f64 {
    let fill_ms = ordering.max_message_count as f64 / rate_per_s * 1000.0;
    ms(ordering.batch_timeout).min(fill_ms)
}

/// The median batch wait of evenly arriving envelopes: half the window.
pub fn batch_wait_ms(ordering: &OrderingConfig, rate_per_s: f64) -> f64 {
    batch_window_ms(ordering, rate_per_s) / 2.0
}

/// When the survivors elect a new leader after losing the old one: a follower campaigns
/// once its randomized election timeout, [ElectionTick, 2 x ElectionTick) Raft ticks
/// (raft-rs, as etcd raft), passed since the last heartbeat (at most HeartbeatTick before the
/// loss), then a pre-vote and a vote round trip between the survivors (PreVote on, chain.go).
pub fn election_ms(ordering: &OrderingConfig, survivors_rtt_ms: f64) -> (f64, f64) {
    let tick = ms(ordering.tick_interval);
    let election = ordering.election_tick as f64 * tick;
    let heartbeat = ordering.heartbeat_tick as f64 * tick;
    (
        election - heartbeat + 2.0 * survivors_rtt_ms,
        2.0 * election + 2.0 * survivors_rtt_ms,
    )
}

/// The earliest first block after a leader loss: the election, a batch window, the new
/// leader's quorum round trip to the other survivor.
pub fn resume_min_ms(ordering: &OrderingConfig, rate_per_s: f64, survivors_rtt_ms: f64) -> f64 {
    election_ms(ordering, survivors_rtt_ms).0
        + batch_window_ms(ordering, rate_per_s)
        + survivors_rtt_ms
}

/// The earliest catch-up of `region` after its loss: a deliver request to the nearest
/// ordering node outside it and the missed blocks back.
pub fn catch_up_min_ms(topology: &Topology, region: &str) -> f64 {
    ordering_nodes(topology)
        .iter()
        .filter(|node| region_of(node) != region)
        .map(|node| 2.0 * one_way_ms(topology, node, region))
        .fold(f64::INFINITY, f64::min)
}
