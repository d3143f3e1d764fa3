//! What a substrate can do to a scenario's network and nodes, and the refusal of a scenario
//! that asks for more: before anything starts (exit 3), naming the fault and the reason,
//! never a run that stops half-way because a fault cannot be made.

use crate::scenario::layout::orderer_names;
use crate::scenario::model::{FaultKind, OutageMode, Scenario};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The fault kinds (`faults:` keys) it can inject.
    pub faults: Vec<&'static str>,
    /// Why it cannot delay traffic between regions, if it cannot.
    pub no_latency: Option<String>,
    /// Why it cannot restart an ordering node from its disk, if it cannot.
    pub no_ordering_restart: Option<String>,
}

impl Capabilities {
    /// Every fault, latency, restarts: what `sim` does.
    pub fn everything() -> Capabilities {
        Capabilities {
            faults: vec![
                "region_outage",
                "partition",
                "one_way_partition",
                "latency",
                "node_crash",
            ],
            no_latency: None,
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
                    *mode != OutageMode::Cut && ordering.nodes.contains(region)
                }
                FaultKind::NodeCrash { node } => orderer_nodes.contains(node),
                _ => false,
            };
        if let (true, Some(why)) = (restarts_an_orderer, &can.no_ordering_restart) {
            return refuse(what, why);
        }
    }
    Ok(())
}
