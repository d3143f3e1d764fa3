//! The simulation against Fabric's own behaviour where HA is decided (issue: trustworthy
//! verdicts): gossip membership at scale, leader election, purged peers coming back, Fabric's
//! shrunk test timers, state transfer, Raft elections seen by clients, and a lost region
//! measured from outside. Each test runs a scenario file end to end on `sim`.

mod common;
use common::run::*;

use hadr::history::{EventKind, History, TimeMs};
use std::collections::BTreeSet;

/// For each membership sample from `from_ms` on: (time, peer, the organizations it knows).
fn orgs_known(
    history: &History,
    from_ms: TimeMs,
) -> Vec<(TimeMs, String, String, BTreeSet<String>)> {
    history
        .iter(|k| match k {
            EventKind::Membership(m) => Some(m),
            _ => None,
        })
        .filter(|(at_ms, _)| *at_ms >= from_ms)
        .map(|(at_ms, m)| {
            let orgs = m.known.iter().map(|k| k.msp_id.clone()).collect();
            (at_ms, m.peer.clone(), m.msp_id.clone(), orgs)
        })
        .collect()
}

/// 3 organizations x 2 peers x 3 regions with nothing going wrong, 20 seeds: once membership
/// has formed, no peer ever loses sight of another organization (Fabric's every-peer-an-anchor
/// network keeps it; a biased peer selection lost whole organizations for tens of seconds).
#[test]
fn eighteen_peers_keep_every_organization_in_view_on_twenty_seeds() {
    let base = load("tests/fixtures/scenarios/three-orgs-two-peers-per-region.yaml");
    let all_orgs: BTreeSet<String> = base
        .topology
        .organizations
        .iter()
        .map(|o| o.msp_id.clone())
        .collect();
    let seeds: Vec<u64> = (1..=20).collect();
    let lapses: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = seeds
            .chunks(10)
            .map(|chunk| {
                let base = &base;
                let all_orgs = &all_orgs;
                scope.spawn(move || {
                    let mut lapses = Vec::new();
                    for &seed in chunk {
                        let mut scenario = base.clone();
                        scenario.seed = seed;
                        let (report, history) = run(&scenario);
                        let gossip = expectation(&report, "cross_org_gossip");
                        if !gossip.passed {
                            lapses.push(format!("seed {seed}: {}", gossip.detail));
                        }
                        // Membership forms within the first 20 s of the network.
                        let formed_ms = history.workload_started_at().expect("workload ran");
                        for (at_ms, peer, _, orgs) in orgs_known(&history, formed_ms + 20_000) {
                            if &orgs != all_orgs {
                                lapses.push(format!(
                                    "seed {seed}: {peer} at {at_ms} ms knew {orgs:?}"
                                ));
                            }
                        }
                    }
                    lapses
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("runs"))
            .collect()
    });
    assert!(
        lapses.is_empty(),
        "{} lapses: {:#?}",
        lapses.len(),
        &lapses[..lapses.len().min(10)]
    );
}
