//! Properties of membership under random delays, losses, crashes and partitions.

use crate::converged;
use crate::net::{ms, s, two_org_topology, Net, REGIONS};
use hadr::fabric::config::FabricConfig;
use proptest::prelude::*;
use std::time::Duration;

#[derive(Clone, Debug)]
enum Fault {
    /// Crash a peer (index into the topology) and restart it `for_s` later.
    Crash { peer: usize, for_s: u64 },
    /// Cut two regions apart for `for_s`.
    Partition { a: usize, b: usize, for_s: u64 },
    /// Take a whole region off the network for `for_s`.
    RegionDown { region: usize, for_s: u64 },
}

fn fault() -> impl Strategy<Value = (u64, Fault)> {
    let kind = prop_oneof![
        (0..6usize, 5..120u64).prop_map(|(peer, for_s)| Fault::Crash { peer, for_s }),
        (0..3usize, 1..3usize, 5..120u64).prop_map(|(a, d, for_s)| Fault::Partition {
            a,
            b: (a + d) % 3,
            for_s
        }),
        (0..3usize, 5..120u64).prop_map(|(region, for_s)| Fault::RegionDown { region, for_s }),
    ];
    (60..240u64, kind)
}

const PERMANENT: &str = "peer0.org2.ca-central";

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// No peer ever lists itself; a permanently crashed non-anchor peer stops being listed
    /// within a bounded time and never comes back (stale messages cannot revive it); after
    /// every fault heals the live peers converge to the full membership again.
    #[test]
    fn membership_stays_sane_and_converges_after_healing(
        seed in 0..1_000_000u64,
        jitter_ms in 0..40u64,
        loss_percent in 0..4u32,
        faults in proptest::collection::vec(fault(), 0..4),
    ) {
        let config = FabricConfig::default();
        let mut peers = two_org_topology(&config);
        // The permanently crashed peer is no anchor, so it must be purged.
        for peer in &mut peers {
            peer.anchor = peer.name != PERMANENT;
        }
        let names: Vec<String> = peers.iter().map(|p| p.name.clone()).collect();
        let mut net = Net::new(peers, &["us-east"], seed);
        net.jitter_max = ms(jitter_ms);
        net.loss_probability = f64::from(loss_percent) / 100.0;
        let mut schedule: Vec<(Duration, usize)> = Vec::new();
        for (index, (at, _)) in faults.iter().enumerate() {
            schedule.push((s(*at), index));
        }
        schedule.sort();
        let crash_at = s(30);
        // Expiry smears: a peer that expired it on an older heartbeat resurrects it when a
        // membership sync brings the newest one, for one more aliveExpirationTimeout.
        let expired_by = crash_at + config.gossip.alive_expiration_timeout * 4;
        let heal_at = s(400);
        let end = s(600);
        let mut restarts: Vec<(Duration, String)> = Vec::new();
        let mut repairs: Vec<(Duration, Fault)> = Vec::new();
        let mut next_fault = 0;
        while net.now < end {
            let now = net.now;
            if now == crash_at {
                net.crash(PERMANENT);
            }
            while next_fault < schedule.len() && schedule[next_fault].0 <= now {
                let (_, fault) = &faults[schedule[next_fault].1];
                match fault {
                    Fault::Crash { peer, for_s } => {
                        let name = &names[*peer];
                        if name != PERMANENT && net.is_up(name) {
                            net.crash(name);
                            restarts.push((now + s(*for_s), name.clone()));
                        }
                    }
                    Fault::Partition { a, b, for_s } => {
                        net.partition(REGIONS[*a], REGIONS[*b]);
                        repairs.push((now + s(*for_s), fault.clone()));
                    }
                    Fault::RegionDown { region, for_s } => {
                        net.region_down(REGIONS[*region]);
                        repairs.push((now + s(*for_s), fault.clone()));
                    }
                }
                next_fault += 1;
            }
            // Faults end on time, and all of them by heal_at.
            repairs.retain(|(at, fault)| {
                if *at > now && now < heal_at {
                    return true;
                }
                match fault {
                    Fault::Partition { a, b, .. } => net.repair(REGIONS[*a], REGIONS[*b]),
                    Fault::RegionDown { region, .. } => net.region_up(REGIONS[*region]),
                    Fault::Crash { .. } => {}
                }
                false
            });
            restarts.retain(|(at, name)| {
                if *at <= now || now >= heal_at {
                    net.restart(name);
                    false
                } else {
                    true
                }
            });
            net.run_for(s(1));
            for name in net.up_peers() {
                let membership = net.membership(&name);
                prop_assert!(!membership.contains(&name), "{} lists itself", name);
                prop_assert!(!net.known(&name).contains(&name), "{} knows itself", name);
                if net.now >= expired_by {
                    prop_assert!(!membership.contains(PERMANENT), "{} lists the crashed peer", name);
                }
            }
        }
        prop_assert!(converged(&net), "no convergence after healing");
    }
}
