//! What a substrate can do to a scenario's network and nodes, and the refusal of a scenario
//! that asks for more: before anything starts (exit 3), naming the fault and the reason,
//! never a run that stops half-way because a fault cannot be made.

use crate::scenario::layout::{orderer_names, region_of};
use crate::scenario::model::{FaultKind, OutageMode, Scenario, TargetRole};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The fault kinds (`faults:` keys) it can inject.
    pub faults: Vec<&'static str>,
    /// Why it cannot delay traffic between regions, if it cannot.
    pub no_latency: Option<String>,
    /// Why it cannot restart an ordering node from its disk, if it cannot.
    pub no_ordering_restart: Option<String>,
}

/// Every fault kind a scenario can name.
pub const ALL_FAULTS: [&str; 5] = [
    "region_outage",
    "partition",
    "one_way_partition",
    "latency",
    "node_crash",
];

impl Capabilities {
    /// Every fault, latency, restarts: what `sim` does.
    pub fn everything() -> Capabilities {
        Capabilities {
            faults: ALL_FAULTS.to_vec(),
            no_latency: None,
            no_ordering_restart: None,
        }
    }

    /// Every fault but latency, for want of `why`.
    pub fn without_latency(why: &str) -> Capabilities {
        Capabilities {
            faults: ALL_FAULTS.into_iter().filter(|f| *f != "latency").collect(),
            no_latency: Some(why.to_string()),
            no_ordering_restart: None,
        }
    }
}

/// Why `substrate` cannot run `scenario`, or Ok when it can.
pub fn check(scenario: &Scenario, substrate: &str, can: &Capabilities) -> Result<(), String> {
    let refuse = |what: String, why: &str| {
        Err(format!(
            "the {substrate} substrate cannot run {}: {what}: {why}",
            scenario.source.display()
        ))
    };
    let cross_region = scenario.topology.regions.len() > 1;
    if let (true, true, Some(why)) = (
        scenario.real_network.emulate_round_trips,
        cross_region,
        &can.no_latency,
    ) {
        return refuse(
            "its round trips between regions are to be emulated (`real_network: \
             {emulate_round_trips: true}`, the default)"
                .into(),
            &format!(
                "{why}; set `real_network: {{emulate_round_trips: false}}` to run with the \
                 host's own latency between regions (the report then says so)"
            ),
        );
    }
    let ordering = &scenario.topology.ordering_service;
    let orderer_nodes = orderer_names(ordering);
    // A role's holder is known only when the fault starts: any node that may hold it counts.
    let may_be_orderer = |target: &str| {
        scenario
            .may_hold(target)
            .iter()
            .any(|n| orderer_nodes.contains(n))
    };
    let may_hold_orderer = |region: &str| match TargetRole::parse(region) {
        Some(_) => scenario
            .may_hold(region)
            .iter()
            .any(|n| ordering.nodes.iter().any(|r| r == region_of(n))),
        None => ordering.nodes.iter().any(|r| r == region),
    };
    for (index, fault) in scenario.faults.iter().enumerate() {
        let kind = fault.kind.name();
        let what = format!("fault {index} (`{kind}`)");
        if let (FaultKind::Latency { .. }, Some(why)) = (&fault.kind, &can.no_latency) {
            return refuse(what, why);
        }
        if !can.faults.contains(&kind) {
            return refuse(what, "it cannot inject this kind of fault");
        }
        let restarts_an_orderer = fault.duration.is_some()
            && match &fault.kind {
                FaultKind::RegionOutage { region, mode } => {
                    *mode != OutageMode::Cut && may_hold_orderer(region)
                }
                FaultKind::NodeCrash { node } => may_be_orderer(node),
                _ => false,
            };
        if let (true, Some(why)) = (restarts_an_orderer, &can.no_ordering_restart) {
            return refuse(what, why);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{outage, three_region_scenario};
    use crate::scenario::model::{Fault, RealNetwork};
    use std::time::Duration;

    fn containers_like() -> Capabilities {
        Capabilities {
            faults: vec![
                "region_outage",
                "partition",
                "one_way_partition",
                "node_crash",
            ],
            no_latency: Some("no netem".into()),
            no_ordering_restart: Some("Raft log in memory".into()),
        }
    }

    fn without_emulation() -> Scenario {
        let mut scenario = three_region_scenario();
        scenario.real_network = RealNetwork {
            emulate_round_trips: false,
        };
        scenario
    }

    #[test]
    fn sim_runs_everything() {
        let mut scenario = three_region_scenario();
        scenario.faults.push(outage("us-east", 10, Some(5)));
        assert_eq!(check(&scenario, "sim", &Capabilities::everything()), Ok(()));
    }

    #[test]
    fn emulated_round_trips_need_latency() {
        let refused = check(&three_region_scenario(), "containers", &containers_like());
        assert!(refused.unwrap_err().contains("no netem"));
        assert_eq!(
            check(&without_emulation(), "containers", &containers_like()),
            Ok(())
        );
    }

    #[test]
    fn restarting_an_ordering_node_needs_a_saved_raft_log() {
        let can = containers_like();
        // three_region_scenario's ordering nodes are all in us-east.
        let mut lost = without_emulation();
        lost.faults = vec![outage("us-east", 10, Some(5))];
        assert!(check(&lost, "containers", &can)
            .unwrap_err()
            .contains("fault 0"));
        // Lost for good: nothing restarts.
        lost.faults = vec![outage("us-east", 10, None)];
        assert_eq!(check(&lost, "containers", &can), Ok(()));
        // Cut: the processes keep running.
        let mut cut = without_emulation();
        cut.faults = vec![Fault {
            at: Duration::from_secs(10),
            duration: Some(Duration::from_secs(5)),
            kind: FaultKind::RegionOutage {
                region: "us-east".into(),
                mode: OutageMode::Cut,
            },
        }];
        assert_eq!(check(&cut, "containers", &can), Ok(()));
        let mut crash = without_emulation();
        crash.faults = vec![Fault {
            at: Duration::from_secs(10),
            duration: Some(Duration::from_secs(5)),
            kind: FaultKind::NodeCrash {
                node: "orderer0.us-east".into(),
            },
        }];
        assert!(check(&crash, "containers", &can).is_err());
        // The Raft leader is an ordering node, whichever it is; a gateway peer never is, but
        // the region of one may hold an ordering node.
        let aimed_at = |kind: FaultKind| {
            let mut scenario = without_emulation();
            scenario.faults = vec![Fault {
                at: Duration::from_secs(10),
                duration: Some(Duration::from_secs(5)),
                kind,
            }];
            check(&scenario, "containers", &can)
        };
        let crash = |node: &str| FaultKind::NodeCrash { node: node.into() };
        assert!(aimed_at(crash("raft_leader")).is_err());
        assert_eq!(aimed_at(crash("gateway_peer")), Ok(()));
        let lost = FaultKind::RegionOutage {
            region: "gateway_peer".into(),
            mode: OutageMode::Lost,
        };
        assert!(
            aimed_at(lost).is_err(),
            "org1's peer in us-east may be the gateway"
        );
    }

    #[test]
    fn a_kind_the_substrate_lacks_is_named() {
        let mut scenario = without_emulation();
        scenario.faults = vec![Fault {
            at: Duration::from_secs(10),
            duration: Some(Duration::from_secs(5)),
            kind: FaultKind::Partition {
                sides: [vec!["us-east".into()], vec!["us-west".into()]],
            },
        }];
        let can = Capabilities {
            faults: vec!["region_outage"],
            ..containers_like()
        };
        let refused = check(&scenario, "kubernetes", &can).unwrap_err();
        assert!(
            refused.contains("the kubernetes substrate cannot run"),
            "{refused}"
        );
        assert!(refused.contains("fault 0 (`partition`)"), "{refused}");
    }
}
