//! What one bench run measured, as pure functions of its history (like checks/): the
//! nodes' timing log lines (history::LogLine) and the client's operations. In the run's own
//! milliseconds: a dilated run's (dilation.rs) are that many times the real network's.

use super::arithmetic;
use crate::checks::view::{is_transaction, op_spans};
use crate::history::{EventKind, FaultPhase, History, LogLine, TimeMs};
use crate::scenario::layout::region_of;
use crate::scenario::model::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;

/// One transaction's way through the ordering service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TxPath {
    pub tx_id: String,
    /// The Gateway peer that broadcast it, the ordering node it went to, the leader that
    /// ordered it.
    pub gateway: String,
    pub orderer: String,
    pub leader: String,
    /// Broadcast to the leader's pending batch, plus block cut to block written at the
    /// leader: the ordering latency without the batch wait.
    pub ordering_ms: u64,
    /// In the pending batch: enqueued to block cut.
    pub batch_wait_ms: u64,
    /// Submit to commit acknowledgement, when the client saw it commit.
    pub commit_ms: Option<u64>,
}

/// A block's way from the leader that wrote it to each region's peers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockPath {
    pub number: u64,
    pub leader: String,
    /// By region: block written at the leader to the last peer of the region committing it.
    pub to_region_ms: BTreeMap<String, u64>,
}

/// The figures of a run without faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Steady {
    /// Commit latencies of every transaction the client saw commit, in ms.
    pub commit_ms: Vec<u64>,
    pub txs: Vec<TxPath>,
    pub blocks: Vec<BlockPath>,
    /// The ordering node that cut most blocks during the workload.
    pub leader: Option<String>,
}

/// The figures of a run that loses a region for a while.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outage {
    pub lost_region: String,
    /// Which ordering node led when the region was lost.
    pub leader_at_loss: Option<String>,
    /// Region loss to a new leader outside it, and to its first block written.
    pub election_ms: Option<u64>,
    pub resume_ms: Option<u64>,
    /// The new leader, when one was elected.
    pub new_leader: Option<String>,
    /// Heal to every peer of the lost region holding the block the ordering service had
    /// written by the heal.
    pub catch_up_ms: Option<u64>,
}

/// The timing lines of a history, by kind.
#[derive(Default)]
struct Lines<'h> {
    broadcasts: BTreeMap<&'h str, Vec<(TimeMs, &'h str, &'h str)>>,
    enqueued: BTreeMap<&'h str, (TimeMs, &'h str)>,
    cut: BTreeMap<(&'h str, u64), TimeMs>,
    cut_of_tx: BTreeMap<&'h str, (&'h str, u64)>,
    written: BTreeMap<(&'h str, u64), TimeMs>,
    committed: BTreeMap<(&'h str, u64), TimeMs>,
    elected: Vec<(TimeMs, &'h str)>,
}

fn lines(history: &History) -> Lines<'_> {
    let mut lines = Lines::default();
    for (at, record) in history.iter(|k| match k {
        EventKind::NodeLog(record) => Some(record),
        _ => None,
    }) {
        let node = record.node.as_str();
        match &record.line {
            LogLine::Broadcast { tx_id, orderer } => lines
                .broadcasts
                .entry(tx_id)
                .or_default()
                .push((at, node, orderer)),
            LogLine::Enqueued { tx_id } => {
                lines.enqueued.entry(tx_id).or_insert((at, node));
            }
            LogLine::BlockCut { number, tx_ids } => {
                lines.cut.entry((node, *number)).or_insert(at);
                for tx_id in tx_ids {
                    lines.cut_of_tx.entry(tx_id).or_insert((node, *number));
                }
            }
            LogLine::BlockWritten { number } => {
                lines.written.entry((node, *number)).or_insert(at);
            }
            LogLine::BlockCommitted { number } => {
                lines.committed.entry((node, *number)).or_insert(at);
            }
            LogLine::BecameLeader => lines.elected.push((at, node)),
        }
    }
    lines
}

fn is_peer(node: &str) -> bool {
    node.starts_with("peer")
}

/// The figures of a run without faults: every transaction broadcast, ordered and written
/// by the same leader, and every block the leader cut during the workload.
pub fn steady(scenario: &Scenario, history: &History) -> Steady {
    let lines = lines(history);
    let started = history.workload_started_at().unwrap_or_default();
    let mut commit_by_tx = BTreeMap::new();
    let mut commit_ms = Vec::new();
    for span in op_spans(history)
        .iter()
        .filter(|span| is_transaction(span.invoke))
    {
        if let Some(latency) = span.commit_latency_ms() {
            commit_ms.push(latency);
            if let Some(tx_id) = &span.invoke.tx_id {
                commit_by_tx.insert(tx_id.as_str(), latency);
            }
        }
    }
    commit_ms.sort_unstable();
    let mut txs = Vec::new();
    for (tx_id, &(enqueued, leader)) in &lines.enqueued {
        let Some(&(cutter, number)) = lines.cut_of_tx.get(tx_id) else {
            continue;
        };
        let (Some(&cut), Some(&written)) = (
            lines.cut.get(&(cutter, number)),
            lines.written.get(&(cutter, number)),
        ) else {
            continue;
        };
        // The last broadcast before the leader had it: earlier ones failed over.
        let Some(&(sent, gateway, orderer)) = lines
            .broadcasts
            .get(tx_id)
            .and_then(|sends| sends.iter().rev().find(|(at, ..)| *at <= enqueued))
        else {
            continue;
        };
        if cutter != leader {
            continue;
        }
        txs.push(TxPath {
            tx_id: tx_id.to_string(),
            gateway: gateway.to_string(),
            orderer: orderer.to_string(),
            leader: leader.to_string(),
            ordering_ms: (enqueued - sent) + (written.saturating_sub(cut)),
            batch_wait_ms: cut.saturating_sub(enqueued),
            commit_ms: commit_by_tx.get(tx_id).copied(),
        });
    }
    let peers: Vec<&str> = {
        let mut peers: Vec<&str> = lines.committed.keys().map(|(node, _)| *node).collect();
        peers.dedup();
        peers.into_iter().filter(|p| is_peer(p)).collect()
    };
    let mut blocks = Vec::new();
    let mut cuts_by_leader: BTreeMap<&str, usize> = BTreeMap::new();
    for (&(leader, number), &cut) in &lines.cut {
        if cut < started {
            continue;
        }
        let Some(&written) = lines.written.get(&(leader, number)) else {
            continue;
        };
        *cuts_by_leader.entry(leader).or_default() += 1;
        let mut to_region_ms: BTreeMap<String, u64> = BTreeMap::new();
        let mut complete = true;
        for region in &scenario.topology.regions {
            let in_region = peers.iter().filter(|p| region_of(p) == region.name);
            let mut last = None;
            for peer in in_region {
                match lines.committed.get(&(*peer, number)) {
                    Some(&at) => last = last.max(Some(at.saturating_sub(written))),
                    None => complete = false,
                }
            }
            if let Some(last) = last {
                to_region_ms.insert(region.name.clone(), last);
            }
        }
        if complete {
            blocks.push(BlockPath {
                number,
                leader: leader.to_string(),
                to_region_ms,
            });
        }
    }
    let leader = cuts_by_leader
        .iter()
        .max_by_key(|(node, count)| (**count, std::cmp::Reverse(**node)))
        .map(|(node, _)| node.to_string());
    Steady {
        commit_ms,
        txs,
        blocks,
        leader,
    }
}

/// The figures of a run whose first fault loses `lost_region`: the re-election and resume
/// of ordering when the region held the leader, and the region's catch-up after the heal.
pub fn outage(history: &History, lost_region: &str) -> Outage {
    let lines = lines(history);
    let fault = |phase: FaultPhase| {
        history
            .iter(|k| match k {
                EventKind::Fault(f) if f.index == 0 && f.phase == phase => Some(f),
                _ => None,
            })
            .map(|(at, _)| at)
            .next()
    };
    let mut figures = Outage {
        lost_region: lost_region.to_string(),
        ..Outage::default()
    };
    let Some(lost_at) = fault(FaultPhase::Start) else {
        return figures;
    };
    figures.leader_at_loss = lines
        .elected
        .iter()
        .rev()
        .find(|(at, _)| *at <= lost_at)
        .map(|(_, node)| node.to_string());
    if figures
        .leader_at_loss
        .as_deref()
        .is_some_and(|leader| region_of(leader) == lost_region)
    {
        let elected = lines
            .elected
            .iter()
            .find(|(at, node)| *at > lost_at && region_of(node) != lost_region);
        if let Some(&(at, leader)) = elected {
            figures.election_ms = Some(at - lost_at);
            figures.new_leader = Some(leader.to_string());
            figures.resume_ms = lines
                .written
                .iter()
                .filter(|((node, number), written)| {
                    *node == leader
                        && **written > at
                        && lines.cut.get(&(leader, *number)).is_some_and(|c| *c > at)
                })
                .map(|(_, written)| written - lost_at)
                .min();
        }
    }
    let Some(healed_at) = fault(FaultPhase::Heal) else {
        return figures;
    };
    let target = lines
        .written
        .iter()
        .filter(|(_, at)| **at <= healed_at)
        .map(|((_, number), _)| *number)
        .max();
    let lost_peers: Vec<&str> = {
        let mut peers: Vec<&str> = lines
            .committed
            .keys()
            .map(|(node, _)| *node)
            .filter(|node| is_peer(node) && region_of(node) == lost_region)
            .collect();
        peers.dedup();
        peers
    };
    if let (Some(target), false) = (target, lost_peers.is_empty()) {
        let caught_up = lost_peers.iter().map(|peer| {
            lines
                .committed
                .iter()
                .filter(|((node, number), _)| node == peer && *number >= target)
                .map(|(_, at)| at.saturating_sub(healed_at))
                .min()
        });
        figures.catch_up_ms = caught_up
            .collect::<Option<Vec<_>>>()
            .and_then(|all| all.into_iter().max());
    }
    figures
}

/// A committed transaction faster than light allows: submit to commit acknowledgement
/// below the one-way delay to its leader, the leader's quorum round trip and the fastest
/// delivery back to the committing peer (arithmetic::commit_floor_ms).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FloorViolation {
    pub tx_id: String,
    pub commit_ms: f64,
    pub floor_ms: f64,
}

/// The transactions of `steady` that committed below their physical floor.
pub fn below_floor(scenario: &Scenario, steady: &Steady) -> Vec<FloorViolation> {
    steady
        .txs
        .iter()
        .filter_map(|tx| {
            let commit_ms = tx.commit_ms?;
            let floor_ms = arithmetic::commit_floor_ms(&scenario.topology, &tx.gateway, &tx.leader);
            ((commit_ms as f64) < floor_ms - 1e-9).then(|| FloorViolation {
                tx_id: tx.tx_id.clone(),
                commit_ms: commit_ms as f64,
                floor_ms,
            })
        })
        .collect()
}
