//! How long the network took to notice a fault and to recover from it, as the harness
//! sampled it (membership every 5 s, ledgers every second): the numbers a chaos engineer
//! compares between runs and between substrates. Pure functions of the history.

use crate::history::{EventKind, History, TimeMs};
use crate::scenario::layout::region_of;
use std::collections::BTreeMap;

/// From `start_ms` until every peer outside `cut_regions` that reported its membership had
/// stopped listing any peer of `cut_regions` (sampled before `until_ms`); None when one
/// still listed them at its last sample before `until_ms`, or no peer reported.
pub fn membership_drop_ms(
    history: &History,
    cut_regions: &[String],
    start_ms: TimeMs,
    until_ms: TimeMs,
) -> Option<TimeMs> {
    let is_cut = |host: &str| cut_regions.iter().any(|r| r == region_of(host));
    // Per surviving peer: when it first listed none of the cut peers, if it still does.
    let mut dropped: BTreeMap<&str, Option<TimeMs>> = BTreeMap::new();
    for event in &history.events {
        let EventKind::Membership(record) = &event.kind else {
            continue;
        };
        if event.at_ms < start_ms || event.at_ms >= until_ms || is_cut(&record.peer) {
            continue;
        }
        let lists_cut = record
            .known
            .iter()
            .any(|k| is_cut(k.endpoint.split(':').next().unwrap_or_default()));
        let entry = dropped.entry(record.peer.as_str()).or_insert(None);
        match (lists_cut, *entry) {
            (true, _) => *entry = None,
            (false, None) => *entry = Some(event.at_ms),
            (false, Some(_)) => {}
        }
    }
    if dropped.is_empty() {
        return None;
    }
    dropped
        .values()
        .map(|at| at.map(|at| at - start_ms))
        .collect::<Option<Vec<_>>>()
        .and_then(|drops| drops.into_iter().max())
}

/// From `heal_ms` until every peer that reported its ledger after it had reached the
/// greatest height any peer reported up to `heal_ms`; None when one never did.
pub fn caught_up_ms(history: &History, heal_ms: TimeMs) -> Option<TimeMs> {
    let mut target = None::<u64>;
    let mut reached: BTreeMap<&str, Option<TimeMs>> = BTreeMap::new();
    for event in &history.events {
        let EventKind::LedgerInfo(info) = &event.kind else {
            continue;
        };
        if event.at_ms <= heal_ms {
            target = Some(target.map_or(info.height, |t| t.max(info.height)));
            continue;
        }
        let entry = reached.entry(info.peer.as_str()).or_insert(None);
        if entry.is_none() && info.height >= target.unwrap_or(0) {
            *entry = Some(event.at_ms - heal_ms);
        }
    }
    target?;
    reached
        .values()
        .copied()
        .collect::<Option<Vec<_>>>()
        .and_then(|times| times.into_iter().max())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{KnownPeer, LedgerInfo, MembershipRecord};

    fn membership(history: &mut History, at_ms: TimeMs, peer: &str, known: &[&str]) {
        history.push(
            at_ms,
            EventKind::Membership(MembershipRecord {
                peer: peer.into(),
                msp_id: "Org1MSP".into(),
                channel: "ch".into(),
                known: known
                    .iter()
                    .map(|k| KnownPeer {
                        endpoint: format!("{k}:7051"),
                        msp_id: "Org1MSP".into(),
                    })
                    .collect(),
            }),
        );
    }

    fn ledger(history: &mut History, at_ms: TimeMs, peer: &str, height: u64) {
        history.push(
            at_ms,
            EventKind::LedgerInfo(LedgerInfo {
                peer: peer.into(),
                channel: "ch".into(),
                height,
                current_block_hash: String::new(),
            }),
        );
    }

    #[test]
    fn membership_drops_when_the_last_survivor_forgets_the_region() {
        let cut = ["west".to_string()];
        let mut history = History::default();
        membership(&mut history, 1_000, "p.east", &["q.west", "r.north"]);
        membership(&mut history, 6_000, "p.east", &["r.north"]);
        membership(&mut history, 6_000, "r.north", &["q.west"]);
        membership(&mut history, 11_000, "r.north", &[]);
        // A cut peer's own view is not judged.
        membership(&mut history, 11_000, "q.west", &["p.east"]);
        assert_eq!(
            membership_drop_ms(&history, &cut, 1_000, 20_000),
            Some(10_000)
        );
        // Listing a cut peer again undoes the drop; one that never drops gives None.
        membership(&mut history, 16_000, "p.east", &["q.west"]);
        assert_eq!(membership_drop_ms(&history, &cut, 1_000, 20_000), None);
        assert_eq!(membership_drop_ms(&History::default(), &cut, 0, 1), None);
    }

    #[test]
    fn caught_up_when_the_slowest_peer_reaches_the_height_at_the_heal() {
        let mut history = History::default();
        ledger(&mut history, 9_000, "a", 10);
        ledger(&mut history, 9_000, "b", 4);
        ledger(&mut history, 11_000, "a", 11);
        ledger(&mut history, 11_000, "b", 6);
        ledger(&mut history, 14_000, "b", 10);
        assert_eq!(caught_up_ms(&history, 10_000), Some(4_000));
        let mut stuck = History::default();
        ledger(&mut stuck, 9_000, "a", 10);
        ledger(&mut stuck, 12_000, "b", 4);
        assert_eq!(caught_up_ms(&stuck, 10_000), None);
    }
}
