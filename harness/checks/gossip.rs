//! cross_org_gossip: every live peer knows a live peer of every other organization.

use super::view::{list_some, not_judged, peer_states, secs, unobserved_problems, PeerState};
use super::CheckResult;
use crate::history::{EventKind, History, KnownPeer, MembershipRecord, TimeMs};
use crate::scenario::model::Scenario;
use std::collections::{BTreeMap, BTreeSet};

/// The node a membership entry names: its endpoint without the port
/// (`peer0.org2.us-west:7051` -> `peer0.org2.us-west`).
pub fn endpoint_node(known: &KnownPeer) -> &str {
    known
        .endpoint
        .rsplit_once(':')
        .map_or(known.endpoint.as_str(), |(host, _)| host)
}

/// How long after a change membership views are trusted: a silent peer leaves the alive
/// view after aliveExpirationTimeout (25s), checked every aliveExpirationTimeout/10 (2.5s)
/// (hyperledger/fabric gossip/discovery/discovery_impl.go), and the membership tracker reports
/// the view every membershipTrackerInterval (5s, gossip/gossip/gossip_impl.go); the larger of
/// the two intervals is added to the expiration.
pub fn membership_settle_ms(scenario: &Scenario) -> TimeMs {
    let gossip = &scenario.topology.fabric.gossip;
    let check = (gossip.alive_expiration_timeout / 10).max(gossip.membership_tracker_interval);
    (gossip.alive_expiration_timeout + check).as_millis() as TimeMs
}

/// The last change membership has to settle after: a fault starting or healing, or a node
/// stopping or starting (peers created by the procedure, crashes, restarts).
fn last_change(history: &History) -> TimeMs {
    history
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Fault(_) | EventKind::NodeState { .. }))
        .map(|e| e.at_ms)
        .max()
        .unwrap_or(0)
}

/// The spans during which a peer, having known a peer of another organization, listed none
/// of it: "peer0.org1.us-east knew no Org2MSP peer from 190.0s to 215.0s".
fn membership_losses(peer: &str, samples: &[(TimeMs, &MembershipRecord)]) -> Vec<String> {
    let mut knew: BTreeMap<&str, bool> = BTreeMap::new();
    let mut lost_since: BTreeMap<&str, TimeMs> = BTreeMap::new();
    let mut losses = Vec::new();
    for (at_ms, record) in samples {
        let orgs: BTreeSet<&str> = record
            .known
            .iter()
            .map(|k| k.msp_id.as_str())
            .filter(|msp| *msp != record.msp_id)
            .collect();
        for org in &orgs {
            knew.insert(org, true);
            if let Some(since) = lost_since.remove(org) {
                losses.push(format!(
                    "{peer} knew no {org} peer from {} to {}",
                    secs(since),
                    secs(*at_ms)
                ));
            }
        }
        for (org, _) in knew.iter().filter(|(org, _)| !orgs.contains(*org)) {
            lost_since.entry(org).or_insert(*at_ms);
        }
    }
    for (org, since) in lost_since {
        losses.push(format!(
            "{peer} knew no {org} peer from {} to the end",
            secs(since)
        ));
    }
    losses
}

/// cross_org_gossip.
///
/// Judges each live peer (view::peer_states) on its last membership sample of the channel
/// taken at least `membership_settle_ms` after the last change (`last_change`). Every
/// organization with a live peer must appear in it through a *live* peer (a known endpoint
/// whose node is live): a peer that stayed up keeps dead members in its dead list (purged
/// only after 500s), and others keep knowing each other, so judging "some peer of org A
/// knows some peer of org B" would pass while a restarted peer is isolated. An organization
/// with no live peer fails the check; so do a live peer with no settled sample and a scenario
/// with a single organization. Peers that
/// lost every member of another organization at some time during the run are listed.
pub fn cross_org_gossip(scenario: &Scenario, history: &History) -> CheckResult {
    if scenario.topology.organizations.len() < 2 {
        return CheckResult::fail(
            "the scenario has a single organization: there is no cross-organization gossip to \
             judge"
                .to_string(),
        );
    }
    let channel = &scenario.topology.channel.name;
    let peers = peer_states(scenario, history);
    let live: Vec<&PeerState> = peers.iter().filter(|p| p.is_live()).collect();
    let live_names: BTreeSet<&str> = live.iter().map(|p| p.name()).collect();
    let mut problems = unobserved_problems(&peers);
    let change = last_change(history);
    let settle = membership_settle_ms(scenario);
    let judge_from = change + settle;
    let gossip = &scenario.topology.fabric.gossip;
    let rule = format!(
        "judged on samples taken from {} on ({} after the last change at {}: \
         aliveExpirationTimeout {} + check interval {})",
        secs(judge_from),
        secs(settle),
        secs(change),
        secs(gossip.alive_expiration_timeout.as_millis() as TimeMs),
        secs(settle - gossip.alive_expiration_timeout.as_millis() as TimeMs)
    );

    let mut orgs: BTreeMap<&str, usize> = BTreeMap::new();
    for org in &scenario.topology.organizations {
        orgs.insert(&org.msp_id, 0);
    }
    for peer in &live {
        if let Some(msp) = &peer.spec.msp_id {
            *orgs.entry(msp).or_default() += 1;
        }
    }
    for (org, _) in orgs.iter().filter(|(_, n)| **n == 0) {
        problems.push(format!("{org} has no live peer: no one can know it"));
    }

    let mut losses = Vec::new();
    for peer in &peers {
        let samples: Vec<(TimeMs, &MembershipRecord)> = history
            .iter(|k| match k {
                EventKind::Membership(m) if m.peer == peer.name() && &m.channel == channel => {
                    Some(m)
                }
                _ => None,
            })
            .collect();
        losses.extend(membership_losses(peer.name(), &samples));
        if !peer.is_live() {
            continue;
        }
        let Some((at_ms, record)) = samples.iter().rev().find(|(at, _)| *at >= judge_from) else {
            problems.push(format!(
                "{} has no membership sample from {} on: cannot judge it",
                peer.name(),
                secs(judge_from)
            ));
            continue;
        };
        let own = peer.spec.msp_id.as_deref().unwrap_or_default();
        for (org, _) in orgs.iter().filter(|(org, n)| **org != own && **n > 0) {
            let of_org: Vec<&KnownPeer> =
                record.known.iter().filter(|k| k.msp_id == *org).collect();
            if !of_org.iter().any(|k| live_names.contains(endpoint_node(k))) {
                let listed: Vec<String> = of_org.iter().map(|k| k.endpoint.clone()).collect();
                problems.push(format!(
                    "{} ({own}) knows no live {org} peer at {}{}",
                    peer.name(),
                    secs(*at_ms),
                    if listed.is_empty() {
                        String::new()
                    } else {
                        format!(" (lists only {})", listed.join(", "))
                    }
                ));
            }
        }
    }

    let summary = format!(
        "each of {} live peers knows a live peer of every other organization",
        live.len()
    );
    let mut notes = vec![rule];
    if !losses.is_empty() {
        notes.push(format!("during the run: {}", list_some(&losses, 6)));
    }
    notes.extend(not_judged(&peers));
    CheckResult::judge(problems, summary, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(msp_id: &str, known: &[&str]) -> MembershipRecord {
        MembershipRecord {
            peer: "p".to_string(),
            msp_id: msp_id.to_string(),
            channel: "c".to_string(),
            known: known
                .iter()
                .map(|m| KnownPeer {
                    endpoint: "x:7051".to_string(),
                    msp_id: m.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn endpoints_name_nodes_without_their_port() {
        let known = KnownPeer {
            endpoint: "peer0.org2.us-west:7051".to_string(),
            msp_id: "Org2MSP".to_string(),
        };
        assert_eq!(endpoint_node(&known), "peer0.org2.us-west");
    }

    #[test]
    fn losses_start_when_an_organization_disappears_from_a_view() {
        let samples = [
            record("Org1MSP", &[]),
            record("Org1MSP", &["Org2MSP"]),
            record("Org1MSP", &["Org1MSP"]),
            record("Org1MSP", &["Org2MSP"]),
            record("Org1MSP", &[]),
        ];
        let timed: Vec<(TimeMs, &MembershipRecord)> = samples
            .iter()
            .enumerate()
            .map(|(i, r)| (i as TimeMs * 5_000, r))
            .collect();
        assert_eq!(
            membership_losses("p", &timed),
            [
                "p knew no Org2MSP peer from 10.0s to 15.0s",
                "p knew no Org2MSP peer from 20.0s to the end"
            ]
        );
    }
}
