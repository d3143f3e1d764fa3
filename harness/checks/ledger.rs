//! Ledger checks: the live peers agree on one chain (ledger_in_sync) and hold every
//! acknowledged transaction exactly once (no_lost_transactions).

use super::view::{
    fault_windows, is_transaction, list_some, not_judged, op_spans, peer_states, secs, short_hash,
    unobserved_problems, PeerState,
};
use super::CheckResult;
use crate::history::{EventKind, History, OpPhase, TimeMs};
use crate::scenario::model::Scenario;
use std::collections::BTreeMap;
use std::time::Duration;

/// When catching up is measured from: the last heal; if a fault never healed, the last fault
/// change (its start); without faults, the end of the workload.
fn sync_reference(history: &History) -> Option<(TimeMs, String)> {
    if let Some(at_ms) = history.last_heal_at() {
        return Some((at_ms, format!("the last heal at {}", secs(at_ms))));
    }
    if let Some(last) = fault_windows(history).last() {
        return Some((
            last.start_ms,
            format!("the start of {} (no fault healed)", last.label()),
        ));
    }
    history
        .iter(|k| matches!(k, EventKind::WorkloadStopped).then_some(k))
        .last()
        .map(|(at_ms, _)| (at_ms, format!("the end of the workload at {}", secs(at_ms))))
}

/// The first block number at which two observations of the live peers disagree, described.
///
/// Compares the chains block by block, then every channel-info sample (height h names block
/// h-1 by its hash) against them: a peer that once held another block at some height forked
/// even if it later converged.
fn first_fork(live: &[&PeerState]) -> Option<String> {
    let mut seen: BTreeMap<u64, (String, String)> = BTreeMap::new();
    let mut fork: Option<(u64, String)> = None;
    let mut observe = |number: u64, hash: &str, source: String| match seen.get(&number) {
        Some((other, other_source)) if *other != hash => {
            if fork.as_ref().is_none_or(|(n, _)| number < *n) {
                fork = Some((
                    number,
                    format!(
                        "fork at block {number}: {other_source} has {}, {source} has {}",
                        short_hash(other),
                        short_hash(hash)
                    ),
                ));
            }
        }
        Some(_) => {}
        None => {
            seen.insert(number, (hash.to_string(), source));
        }
    };
    for peer in live {
        if let Some((_, chain)) = peer.chain {
            for block in &chain.blocks {
                observe(
                    block.number,
                    &block.hash,
                    format!("{}'s chain", peer.name()),
                );
            }
        }
    }
    for peer in live {
        for (at_ms, info) in &peer.samples {
            if info.height > 0 {
                observe(
                    info.height - 1,
                    &info.current_block_hash,
                    format!("{} at {}", peer.name(), secs(*at_ms)),
                );
            }
        }
    }
    fork.map(|(_, text)| text)
}

/// Step 3 of ledger_in_sync: when every live peer caught up after the reference time; the
/// problems (late or never) and a note saying what was measured.
fn catch_up(live: &[&PeerState], history: &History, within: Duration) -> (Vec<String>, String) {
    let Some((t0, t0_text)) = sync_reference(history) else {
        let note = "no fault and no workload end: only the final state is judged";
        return (Vec::new(), note.to_string());
    };
    let frontier = live
        .iter()
        .flat_map(|p| p.heights())
        .filter(|(at_ms, _)| *at_ms <= t0)
        .map(|(_, height)| height)
        .max()
        .unwrap_or(0);
    let mut problems = Vec::new();
    let mut slowest: Option<(TimeMs, &str)> = None;
    for peer in live {
        let heights = peer.heights();
        let reached = heights
            .iter()
            .find(|(at_ms, height)| *at_ms >= t0 && *height >= frontier);
        match (reached, heights.last()) {
            (Some((at_ms, _)), _) => {
                if slowest.is_none_or(|(s, _)| *at_ms > s) {
                    slowest = Some((*at_ms, peer.name()));
                }
            }
            (None, last) => problems.push(format!(
                "{} never reached height {frontier} (the highest height at {t0_text}) after it \
                 ({})",
                peer.name(),
                last.map_or("never sampled".to_string(), |(at_ms, h)| {
                    format!("last seen at height {h} at {}", secs(*at_ms))
                })
            )),
        }
    }
    let Some((at_ms, name)) = slowest else {
        return (problems, String::new());
    };
    let (took, bound_ms) = (at_ms - t0, within.as_millis() as TimeMs);
    let who = if problems.is_empty() {
        ""
    } else {
        "the other live peers "
    };
    if took > bound_ms {
        problems.push(format!(
            "{name} reached height {frontier} only {} after {t0_text}, later than the bound of {}",
            secs(took),
            secs(bound_ms)
        ));
    }
    let note = format!(
        "{who}caught up {} after {t0_text} (bound {}; slowest {name}, reaching height {frontier} \
         at {})",
        secs(took),
        secs(bound_ms),
        secs(at_ms)
    );
    (problems, note)
}

/// ledger_in_sync {within}.
///
/// Judges the *live* peers (view::peer_states; down peers are named, unobserved ones fail):
/// 1. no fork: every block number has one hash across their chains and channel-info samples;
/// 2. one final height: each peer's final height (its chain fetched at the end, else its last
///    sample) equals the highest;
/// 3. in time: with T0 = the last heal (see `sync_reference`) and F = the highest height any
///    live peer reported at or before T0, each peer *catches up* at its first observation at
///    or after T0 with height >= F; the slowest catch-up must come within `within` of T0.
///    Heights keep growing while the workload runs, so "caught up" means reaching the
///    network's height at the heal, not the final height; (2) judges the final state.
pub fn ledger_in_sync(scenario: &Scenario, history: &History, within: Duration) -> CheckResult {
    let peers = peer_states(scenario, history);
    let live: Vec<&PeerState> = peers.iter().filter(|p| p.is_live()).collect();
    let mut problems = unobserved_problems(&peers);
    if live.is_empty() {
        problems.push("no peer of the channel is live at the end".to_string());
    }
    if let Some(fork) = first_fork(&live) {
        problems.push(fork);
    }

    let tips: Vec<(&str, u64)> = live
        .iter()
        .filter_map(|p| p.final_tip().map(|(height, _)| (p.name(), height)))
        .collect();
    let (top_peer, top_height) = tips
        .iter()
        .copied()
        .max_by_key(|(name, height)| (*height, std::cmp::Reverse(*name)))
        .unwrap_or(("", 0));
    for (name, height) in &tips {
        if *height < top_height {
            problems.push(format!(
                "{name} ends at height {height}, {} blocks behind {top_peer} at {top_height}",
                top_height - height
            ));
        }
    }

    let (late, timing) = catch_up(&live, history, within);
    problems.extend(late);

    let summary = format!(
        "{} live peers at height {top_height}, one hash per height",
        live.len()
    );
    let mut notes = vec![timing];
    notes.extend(not_judged(&peers));
    CheckResult::judge(problems, summary, notes)
}

/// no_lost_transactions.
///
/// Acknowledged transactions are workload operations (view::is_transaction) whose completion
/// is Ok and carries a tx_id. Every live peer's chain (fetched at the end) must hold each of
/// them exactly once among its VALID transaction IDs; a valid tx_id twice in one chain fails
/// even when the client never saw it acknowledged. A live peer without a chain record, or an
/// unobserved one, fails: it cannot be verified. With no acknowledged transaction the check
/// fails too: there is nothing to judge.
pub fn no_lost_transactions(scenario: &Scenario, history: &History) -> CheckResult {
    let peers = peer_states(scenario, history);
    let mut problems = unobserved_problems(&peers);
    let mut acknowledged: BTreeMap<&str, (u64, TimeMs)> = BTreeMap::new();
    let mut without_tx_id = 0;
    for span in op_spans(history)
        .into_iter()
        .filter(|s| is_transaction(s.invoke) && s.outcome() == Some(OpPhase::Ok))
    {
        match span.tx_id() {
            Some(tx_id) => {
                let at_ms = span.completion.map_or(span.invoked_ms, |(at, _)| at);
                acknowledged
                    .entry(tx_id)
                    .or_insert((span.invoke.op_id, at_ms));
            }
            None => without_tx_id += 1,
        }
    }
    if acknowledged.is_empty() {
        problems.push(
            "no transaction was acknowledged as committed (with a tx_id): cannot judge".to_string(),
        );
    }
    let live: Vec<&PeerState> = peers.iter().filter(|p| p.is_live()).collect();
    for peer in &live {
        let Some((_, chain)) = peer.chain else {
            problems.push(format!(
                "{} has no chain record: its transactions cannot be verified",
                peer.name()
            ));
            continue;
        };
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for tx_id in chain.blocks.iter().flat_map(|b| &b.valid_tx_ids) {
            *counts.entry(tx_id).or_default() += 1;
        }
        let missing: Vec<String> = acknowledged
            .iter()
            .filter(|(tx_id, _)| !counts.contains_key(*tx_id))
            .map(|(tx_id, (op_id, at_ms))| {
                format!("{tx_id} (op {op_id}, acknowledged at {})", secs(*at_ms))
            })
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "{} is missing {} acknowledged transactions: {}",
                peer.name(),
                missing.len(),
                list_some(&missing, 3)
            ));
        }
        let twice: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(tx_id, n)| format!("{tx_id} ({n} times)"))
            .collect();
        if !twice.is_empty() {
            problems.push(format!(
                "{} holds {} transactions more than once among valid ones: {}",
                peer.name(),
                twice.len(),
                list_some(&twice, 3)
            ));
        }
    }
    let mut summary = format!(
        "{} acknowledged transactions each found exactly once on all {} live peers",
        acknowledged.len(),
        live.len()
    );
    if without_tx_id > 0 {
        summary.push_str(&format!(
            "; {without_tx_id} acknowledgements carried no tx_id and could not be looked up"
        ));
    }
    CheckResult::judge(problems, summary, not_judged(&peers).into_iter().collect())
}
