//! Shrinking a failing schedule: try smaller variants of the scenario, simplest first, and
//! keep the first that still fails the same way, until none does or the budget of runs is
//! spent. Smaller means, in this order: fewer faults, shorter faults, earlier faults, a
//! shorter workload (proptest's shrinking, on the schedule instead of a value tree).
//!
//! Only the nemesis's faults shrink; the base file's own faults (the first `fixed`) stay as
//! written, so `during_fault` indices of its expectations keep meaning what they meant.

use crate::scenario::model::Scenario;
use std::time::Duration;

/// The shortest a fault shrinks to.
const SHORTEST_FAULT: Duration = Duration::from_secs(1);

/// What shrinking ended with.
pub struct Shrunk {
    pub scenario: Scenario,
    /// Runs it took (at most the budget).
    pub runs: u32,
}

/// Shrinks `failing` while `still_fails` says a candidate fails the same way, spending at
/// most `budget` runs. `quiet` is kept between the last fault's end and the workload's end.
pub fn shrink(
    failing: Scenario,
    fixed: usize,
    quiet: Duration,
    budget: u32,
    mut still_fails: impl FnMut(&Scenario) -> bool,
) -> Shrunk {
    let mut current = failing;
    let mut runs = 0;
    'smaller: while runs < budget {
        for candidate in candidates(&current, fixed, quiet) {
            if runs == budget {
                break 'smaller;
            }
            runs += 1;
            if still_fails(&candidate) {
                current = candidate;
                continue 'smaller;
            }
        }
        break;
    }
    Shrunk {
        scenario: current,
        runs,
    }
}

/// The variants of `scenario` one step smaller, simplest first.
pub fn candidates(scenario: &Scenario, fixed: usize, quiet: Duration) -> Vec<Scenario> {
    let mut out = Vec::new();
    let with = |change: &dyn Fn(&mut Scenario)| {
        let mut candidate = scenario.clone();
        change(&mut candidate);
        candidate
    };
    let shrinkable = fixed..scenario.faults.len();
    for index in shrinkable.clone() {
        out.push(with(&|s| {
            s.faults.remove(index);
        }));
    }
    for index in shrinkable.clone() {
        if let Some(lasts) = scenario.faults[index].duration {
            let shorter = whole_seconds(lasts / 2).max(SHORTEST_FAULT);
            if shorter < lasts {
                out.push(with(&|s| s.faults[index].duration = Some(shorter)));
            }
        }
    }
    for index in shrinkable {
        let at = scenario.faults[index].at;
        let earlier = whole_seconds(at / 2);
        if earlier < at {
            out.push(with(&|s| s.faults[index].at = earlier));
        }
    }
    let last_end = scenario
        .faults
        .iter()
        // A fault without an end must still start `quiet` before the workload's end.
        .map(|f| f.at + f.duration.unwrap_or_default())
        .max()
        .unwrap_or_default();
    let workload = scenario.workload.duration;
    let shortest = whole_seconds(last_end + quiet).max(SHORTEST_FAULT);
    let half_way = whole_seconds(shortest + (workload.saturating_sub(shortest)) / 2);
    for shorter in [shortest, half_way] {
        let keeps_every_start = scenario.faults.iter().all(|f| f.at < shorter);
        if shorter < workload && keeps_every_start {
            out.push(with(&|s| {
                // The hard stop keeps its margin over the workload.
                s.simulation.max_duration = s.simulation.max_duration - workload + shorter;
                s.workload.duration = shorter;
            }));
        }
    }
    out
}

fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{Fault, FaultKind, OutageMode};

    fn outage(region: &str, at: u64, lasts: u64) -> Fault {
        Fault {
            at: Duration::from_secs(at),
            duration: Some(Duration::from_secs(lasts)),
            kind: FaultKind::RegionOutage {
                region: region.to_string(),
                mode: OutageMode::Lost,
            },
        }
    }

    fn scenario(faults: Vec<Fault>) -> Scenario {
        let mut s = crate::checks::testkit::three_region_scenario();
        s.workload.duration = Duration::from_secs(300);
        s.faults = faults;
        s
    }

    #[test]
    fn shrinking_keeps_the_fault_that_matters_and_makes_it_small() {
        // "Fails" whenever an outage of us-west of at least 8s is in the schedule.
        let fails = |s: &Scenario| {
            s.faults.iter().any(|f| {
                matches!(&f.kind, FaultKind::RegionOutage { region, .. } if region == "us-west")
                    && f.duration.unwrap() >= Duration::from_secs(8)
            })
        };
        let failing = scenario(vec![
            outage("ca-central", 20, 40),
            outage("us-west", 100, 60),
            outage("us-east", 200, 30),
        ]);
        assert!(fails(&failing));
        let shrunk = shrink(failing, 0, Duration::from_secs(30), 100, fails);
        let faults = &shrunk.scenario.faults;
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(fails(&shrunk.scenario));
        let lasts = faults[0].duration.unwrap();
        assert!(lasts >= Duration::from_secs(8) && lasts < Duration::from_secs(16));
        assert_eq!(faults[0].at, Duration::ZERO);
        assert_eq!(
            shrunk.scenario.workload.duration,
            lasts + Duration::from_secs(30)
        );
        assert!(shrunk.runs < 100);
    }

    #[test]
    fn shrinking_stops_at_its_budget_and_leaves_fixed_faults_alone() {
        let failing = scenario(vec![outage("us-east", 20, 40), outage("us-west", 100, 60)]);
        let mut tried = 0;
        let shrunk = shrink(failing, 1, Duration::from_secs(30), 1, |_| {
            tried += 1;
            true
        });
        assert_eq!((shrunk.runs, tried), (1, 1));
        assert_eq!(shrunk.scenario.faults.len(), 1);
        assert_eq!(shrunk.scenario.faults[0].at, Duration::from_secs(20));
        let first = format!("{:?}", shrunk.scenario.faults[0]);
        let candidates = candidates(&shrunk.scenario, 1, Duration::ZERO);
        assert!(!candidates.is_empty());
        assert!(candidates
            .iter()
            .all(|c| format!("{:?}", c.faults[0]) == first));
    }
}
