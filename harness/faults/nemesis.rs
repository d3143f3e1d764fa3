//! The nemesis: run k of a sweep draws its fault schedule (and its simulation seed) from a
//! ChaCha8 generator seeded with the sweep's seed and k alone, so any run can be replayed by
//! its number, on any machine, in any shard, with any number of jobs.
//!
//! Jepsen's nemeses draw faults the same way (a kind, a target, a start and a length); the
//! targets here are the ones `chaos:` allows (scenario/validate/chaos.rs), and every fault is
//! written in whole seconds so a reproducer reads like a hand-written scenario. A target may be
//! a role (`chaos.roles`), written as such: the run resolves it when the fault starts.

use crate::scenario::layout::region_of;
use crate::scenario::model::{Chaos, ChaosKind, Fault, FaultKind, Scenario};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Draws of a fault that keeps colliding with the others before the schedule does without
/// it.
const PLACEMENT_TRIES: u32 = 32;

/// The generator of run `run` of a sweep seeded with `seed`.
pub fn run_rng(seed: u64, run: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&run.to_le_bytes());
    key[16..26].copy_from_slice(b"hadr-chaos");
    ChaCha8Rng::from_seed(key)
}

/// Run `run` of a sweep of `base` (which has a `chaos:` section) seeded with `seed`: the
/// base's own faults, then the nemesis's, and the run's simulation seed.
pub fn run_scenario(base: &Scenario, chaos: &Chaos, seed: u64, run: u64) -> Scenario {
    let mut rng = run_rng(seed, run);
    let mut scenario = base.clone();
    scenario.seed = rng.next_u64();
    scenario.faults.extend(schedule(base, chaos, &mut rng));
    scenario
}

/// A schedule drawn from `rng`: `min_faults` to `max_faults` faults, sorted by start, all
/// ended (or, for permanent outages, started) `quiet` before the workload ends, at most `max_concurrent` at once, and no two at
/// the same time on one region.
pub fn schedule(base: &Scenario, chaos: &Chaos, rng: &mut ChaCha8Rng) -> Vec<Fault> {
    let count = rng.random_range(chaos.min_faults..=chaos.max_faults);
    let kinds: Vec<ChaosKind> = chaos
        .kinds
        .iter()
        .copied()
        .filter(|k| *k != ChaosKind::NodeCrash || !chaos.nodes.is_empty())
        .collect();
    let last_end = base.workload.duration.saturating_sub(chaos.quiet).as_secs();
    let min_secs = chaos.min_duration.as_secs().max(1);
    let mut faults: Vec<Fault> = Vec::new();
    for _ in 0..count {
        for _ in 0..PLACEMENT_TRIES {
            let kind = kinds[rng.random_range(0..kinds.len())];
            let fault_kind = draw_kind(base, chaos, kind, rng);
            let at = rng.random_range(0..=last_end.saturating_sub(min_secs));
            let longest = chaos
                .max_duration
                .as_secs()
                .min(last_end - at)
                .max(min_secs);
            let lasts = rng.random_range(min_secs..=longest);
            let for_good = matches!(fault_kind, FaultKind::RegionOutage { .. })
                && rng.random_bool(chaos.permanent);
            let fault = Fault {
                at: Duration::from_secs(at),
                duration: (!for_good).then(|| Duration::from_secs(lasts)),
                kind: fault_kind,
            };
            if fits(&fault, &faults, chaos.max_concurrent) {
                faults.push(fault);
                break;
            }
        }
    }
    faults.sort_by_key(|f| f.at);
    faults
}

fn draw_kind(base: &Scenario, chaos: &Chaos, kind: ChaosKind, rng: &mut ChaCha8Rng) -> FaultKind {
    let pick =
        |rng: &mut ChaCha8Rng, from: &[String]| from[rng.random_range(0..from.len())].clone();
    let region = pick(rng, &chaos.regions);
    let others: Vec<String> = base
        .topology
        .regions
        .iter()
        .map(|r| r.name.clone())
        .filter(|r| *r != region)
        .collect();
    match kind {
        ChaosKind::RegionOutage => FaultKind::RegionOutage {
            mode: chaos.modes[rng.random_range(0..chaos.modes.len())],
            region: or_role(rng, region, chaos),
        },
        ChaosKind::Partition => FaultKind::Partition {
            sides: [vec![region], others],
        },
        ChaosKind::OneWayPartition if rng.random_bool(0.5) => FaultKind::OneWayPartition {
            from: vec![region],
            to: others,
        },
        ChaosKind::OneWayPartition => FaultKind::OneWayPartition {
            from: others,
            to: vec![region],
        },
        ChaosKind::Latency => {
            let other = pick(rng, &others);
            // Whole tens of milliseconds: the default tick is 10ms.
            let (min, max) = (
                chaos.min_rtt.as_millis() / 10,
                chaos.max_rtt.as_millis() / 10,
            );
            let rtt = rng.random_range(min.max(1)..=max.max(1)) as u64 * 10;
            FaultKind::Latency {
                regions: [region, other],
                rtt: Duration::from_millis(rtt),
            }
        }
        ChaosKind::NodeCrash => {
            let node = pick(rng, &chaos.nodes);
            FaultKind::NodeCrash {
                node: or_role(rng, node, chaos),
            }
        }
    }
}

/// `named`, or with `chaos.roles` one of them instead, each as likely as the name. Without
/// roles nothing more is drawn, so schedules of sections without `roles` stay as they were.
fn or_role(rng: &mut ChaCha8Rng, named: String, chaos: &Chaos) -> String {
    if chaos.roles.is_empty() {
        return named;
    }
    match rng.random_range(0..=chaos.roles.len()) {
        0 => named,
        k => chaos.roles[k - 1].name().to_string(),
    }
}

/// The region a drawn fault is aimed at (every drawn fault has one; a role's keyword stands for
/// its region).
pub fn target_region(kind: &FaultKind) -> &str {
    match kind {
        FaultKind::RegionOutage { region, .. } => region,
        FaultKind::Partition { sides } => &sides[0][0],
        FaultKind::OneWayPartition { from, to } => {
            if from.len() == 1 {
                &from[0]
            } else {
                &to[0]
            }
        }
        FaultKind::Latency { regions, .. } => &regions[0],
        FaultKind::NodeCrash { node } => region_of(node),
    }
}

/// Whether `fault` may join `faults`: at no moment more than `max_concurrent` faults, and
/// never two on one region at once (a region cannot be lost while it is being partitioned).
/// A fault aimed at a role overlaps no other: its region is known only when it starts.
fn fits(fault: &Fault, faults: &[Fault], max_concurrent: u32) -> bool {
    let span = |f: &Fault| (f.at, f.at + f.duration.unwrap_or(Duration::MAX / 4));
    let (start, end) = span(fault);
    let overlapping: Vec<&Fault> = faults
        .iter()
        .filter(|other| {
            let (s, e) = span(other);
            s < end && start < e
        })
        .collect();
    let collide = |other: &Fault| {
        other.kind.role().is_some()
            || fault.kind.role().is_some()
            || target_region(&other.kind) == target_region(&fault.kind)
    };
    if overlapping.iter().any(|other| collide(other)) {
        return false;
    }
    // The most faults active at once, checked at each start inside the new fault's span.
    let mut starts: Vec<Duration> = overlapping.iter().map(|f| f.at.max(start)).collect();
    starts.push(start);
    starts.into_iter().all(|t| {
        let active = overlapping
            .iter()
            .filter(|f| {
                let (s, e) = span(f);
                s <= t && t < e
            })
            .count();
        active < max_concurrent as usize
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::TargetRole;

    fn base() -> (Scenario, Chaos) {
        let text = std::fs::read_to_string("scenarios/chaos-base.yaml").unwrap();
        let scenario =
            crate::scenario::parse(&text, std::path::Path::new("scenarios/chaos-base.yaml"))
                .unwrap();
        let chaos = scenario.chaos.clone().unwrap();
        (scenario, chaos)
    }

    #[test]
    fn a_run_is_a_function_of_the_seed_and_its_number() {
        let (scenario, chaos) = base();
        let a = run_scenario(&scenario, &chaos, 7, 3);
        let b = run_scenario(&scenario, &chaos, 7, 3);
        assert_eq!(a.seed, b.seed);
        assert_eq!(format!("{:?}", a.faults), format!("{:?}", b.faults));
        let others: Vec<String> = (0..20)
            .map(|k| format!("{:?}", run_scenario(&scenario, &chaos, 7, k).faults))
            .collect();
        let distinct: std::collections::BTreeSet<&String> = others.iter().collect();
        assert!(distinct.len() > 15, "{distinct:?}");
        assert_ne!(run_scenario(&scenario, &chaos, 8, 3).seed, a.seed);
    }

    #[test]
    fn roles_are_drawn_only_when_listed_and_overlap_no_other_fault() {
        let (scenario, mut chaos) = base();
        let named = (0..50).all(|k| {
            run_scenario(&scenario, &chaos, 1, k)
                .faults
                .iter()
                .all(|f| f.kind.role().is_none())
        });
        assert!(named);
        chaos.roles = TargetRole::ALL.to_vec();
        chaos.max_concurrent = 2;
        chaos.max_faults = 4;
        let mut drawn = std::collections::BTreeSet::new();
        for run in 0..200 {
            let faults = run_scenario(&scenario, &chaos, 1, run).faults;
            for (i, a) in faults.iter().enumerate() {
                drawn.extend(a.kind.role().map(|role| (role, ChaosKind::of(&a.kind))));
                for b in &faults[i + 1..] {
                    let overlap = b.at < a.at + a.duration.unwrap_or(Duration::MAX / 4);
                    let roles = a.kind.role().is_some() || b.kind.role().is_some();
                    assert!(!(overlap && roles), "{a:?} {b:?}");
                }
            }
        }
        let kinds = [ChaosKind::RegionOutage, ChaosKind::NodeCrash];
        let every: std::collections::BTreeSet<_> = TargetRole::ALL
            .into_iter()
            .flat_map(|role| kinds.map(|kind| (role, kind)))
            .collect();
        assert_eq!(drawn, every, "each role as each kind's target");
    }

    #[test]
    fn schedules_keep_to_the_chaos_section() {
        let (scenario, chaos) = base();
        for run in 0..200 {
            let drawn = run_scenario(&scenario, &chaos, 1, run);
            let faults = &drawn.faults[scenario.faults.len()..];
            assert!(faults.len() as u32 <= chaos.max_faults);
            assert!(!faults.is_empty());
            for fault in faults {
                let lasts = fault.duration.unwrap();
                let end = fault.at + lasts;
                assert!(end + chaos.quiet <= scenario.workload.duration, "{fault:?}");
                assert!(lasts >= chaos.min_duration && lasts <= chaos.max_duration);
                assert!(chaos
                    .regions
                    .iter()
                    .any(|r| r == target_region(&fault.kind)));
                assert!(chaos.kinds.contains(&ChaosKind::of(&fault.kind)));
            }
            for (i, a) in faults.iter().enumerate() {
                for b in &faults[i + 1..] {
                    let overlap = b.at < a.at + a.duration.unwrap();
                    assert!(!overlap || chaos.max_concurrent > 1, "{a:?} {b:?}");
                }
            }
        }
    }
}
