//! From the file format to the model: every check beyond YAML's shape, each failure a
//! diagnostic pointing at the value at fault. Checks go on after a failure where the rest can
//! still be judged, so one run of `hadr validate` lists most of a file's problems.

use super::diagnostic::{
    did_you_mean, is_format_char, one_of, Diagnostic, ScenarioError, SourceFile,
};
use super::duration;
use super::file::{
    ChaincodeFile, ChannelFile, ExpectationFile, FabricOverrides, FabricValue, FaultFile,
    GatewayFile, OrderingServiceFile, OrganizationFile, PartitionSide, ProcedureFile,
    RateChangeFile, RegionFile, ScenarioFile, SimulationFile, TopologyFile, WorkloadFile,
};
use super::latency::{self, LatencySpec, LoadedTable, TableKind};
use super::layout;
use super::model::{
    AnchorPeers, Calls, Chaincode, Channel, ClientTimeouts, Expectation, Failover, Fault,
    FaultKind, GatewaySettings, OrderingService, Organization, OutageMode, Procedure, RateChange,
    Region, Runbook, Scenario, Simulation, TargetRole, Topology, Workload,
};
use crate::fabric::config::{self, FabricConfig, Value, ValueKind};
use crate::fabric::endorsement_policy::EndorsementPolicy;
use crate::procedure::runbook::{self, Action, Performer};
use serde_saphyr::{Location, Spanned};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

mod chaos;
mod fabric;
mod faults;
mod procedure;
mod topology;
mod workload;

/// The most regions the simulator runs (turmoil's cost grows with hosts; see
/// research/rust-ecosystem.md).
pub const MAX_REGIONS: usize = 8;
/// The most nodes (consoles, CAs, orderers, peers, client) the simulator runs.
pub const MAX_NODES: usize = 100;
/// The highest workload rate: each transaction is signed and verified for real (about
/// 240 us of CPU), so a 2-core machine simulates a few thousand a second at most.
pub const MAX_RATE_PER_S: f64 = 1000.0;
/// The most calls (transactions and evaluates) a run makes (the history keeps each).
pub const MAX_TRANSACTIONS: u64 = 500_000;
/// The finest and the coarsest simulator step: the tick is also the resolution of every
/// latency, and a step coarser than 100 ms blurs Fabric's own timers (10 ms burst latency,
/// 500 ms Raft tick).
pub const TICK_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_millis(100);
/// The longest a scenario name may be (it names report folders and test suites).
const NAME_MAX_CHARS: usize = 100;

const DEFAULT_SEED: u64 = 1;
const DEFAULT_ORDERER_MSP: &str = "OrdererMSP";
const DEFAULT_CHANNEL: &str = "channel1";
const DEFAULT_CHAINCODE: &str = "assets";
const DEFAULT_CHAINCODE_VERSION: &str = "1.0";
const DEFAULT_INTRA_REGION_RTT: Duration = Duration::from_millis(1);
const DEFAULT_TICK: Duration = Duration::from_millis(10);
/// Added to the workload's duration for the default `simulation.max_duration`: room for the
/// procedure before the workload and for settling after it.
const DEFAULT_SETUP_AND_SETTLE: Duration = Duration::from_secs(20 * 60);

/// Checks `file` (parsed from `source`) and builds the scenario. `scenario_dir` is where a
/// latency fixture path is looked up from.
pub fn build(
    file: ScenarioFile,
    source: &SourceFile,
    scenario_dir: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    let mut checker = Checker {
        source,
        problems: Vec::new(),
    };
    let scenario = checker.scenario(file, scenario_dir);
    match scenario {
        Some(scenario) if checker.problems.is_empty() => Ok(scenario),
        _ => Err(ScenarioError {
            diagnostics: checker.problems,
        }),
    }
}

struct Checker<'a> {
    source: &'a SourceFile,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(
        &mut self,
        at: &Location,
        message: impl Into<String>,
        expected: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let diagnostic = self.source.diagnostic(Some(at), message, expected, hint);
        self.problems.push(diagnostic);
    }

    fn duration(&mut self, value: &Spanned<String>, what: &str) -> Option<Duration> {
        self.positive_duration(value, what, None)
    }

    /// A positive duration; `default` names the default a zero can be replaced by removing
    /// the key (None: the key is required, so the hint cannot say to remove it).
    fn positive_duration(
        &mut self,
        value: &Spanned<String>,
        what: &str,
        default: Option<Duration>,
    ) -> Option<Duration> {
        match duration::parse(&value.value) {
            Ok(d) if d > Duration::ZERO => Some(d),
            Ok(_) => {
                let hint = match default {
                    Some(default) => format!(
                        "give a positive duration, or remove the key for the default ({})",
                        duration::format(default)
                    ),
                    None => "give a positive duration".to_string(),
                };
                self.error(
                    &value.referenced,
                    format!("{what} must be longer than zero"),
                    "a positive duration (e.g. `250ms`, `2s`, `3m`)",
                    hint,
                );
                None
            }
            Err(why) => {
                let hint = if why.contains("30 days") || why.contains("too l") {
                    "hadr takes durations up to 30 days (`720h`)"
                } else {
                    "write the number and the unit together, without spaces"
                };
                self.error(
                    &value.referenced,
                    format!("{what} is not a duration: {why}"),
                    duration::EXPECTED,
                    hint,
                );
                None
            }
        }
    }

    /// A round-trip time: a positive duration of at most a minute (latency::MAX_RTT_MS).
    fn round_trip(&mut self, value: &Spanned<String>, what: &str) -> Option<Duration> {
        let rtt = self.duration(value, what)?;
        if rtt.as_secs_f64() * 1000.0 > latency::MAX_RTT_MS {
            self.error(
                &value.referenced,
                format!("{what} is {}, longer than a minute", duration::format(rtt)),
                "a round trip of at most 1m",
                "round trips between cloud regions are under 500ms",
            );
            return None;
        }
        Some(rtt)
    }

    /// The duration `value`, or `default` when it is absent.
    fn duration_or(
        &mut self,
        value: Option<&Spanned<String>>,
        what: &str,
        default: Duration,
    ) -> Option<Duration> {
        match value {
            Some(value) => self.positive_duration(value, what, Some(default)),
            None => Some(default),
        }
    }

    /// Whether `name` is one of `regions`; reports it when not (unless there are no regions,
    /// which is reported once already).
    fn region_exists(&mut self, name: &Spanned<String>, regions: &[String], what: &str) -> bool {
        if regions.contains(&name.value) {
            return true;
        }
        if regions.is_empty() {
            return false;
        }
        self.error(
            &name.referenced,
            format!(
                "{what} names region `{}`, which `topology.regions` does not define",
                name.value
            ),
            format!(
                "a region of topology.regions: {}",
                one_of(regions.iter().map(String::as_str))
            ),
            did_you_mean(
                &name.value,
                regions.iter().map(String::as_str),
                "add the region to `topology.regions`, or use one of its names",
            ),
        );
        false
    }

    /// A required top-level key is absent.
    fn missing(&mut self, key: &str, example: &str) {
        let diagnostic = self.source.diagnostic(
            None,
            format!("the scenario has no `{key}`"),
            format!("a top-level `{key}:` entry (e.g. `{example}`)"),
            "scenarios/multi-region-ha.yaml is a complete example; the scenario format is described in README.md",
        );
        self.problems.push(diagnostic);
    }

    fn scenario(&mut self, file: ScenarioFile, scenario_dir: Option<&Path>) -> Option<Scenario> {
        if file.name.is_none() {
            self.missing("name", "name: multi-region-ha");
        }
        if file.topology.is_none() {
            self.missing("topology", "topology: {latency: ..., regions: [...], ...}");
        }
        if file.workload.is_none() {
            self.missing("workload", "workload: {rate_per_s: 20, duration: 10m}");
        }
        let (Some(name), Some(topology), Some(workload)) =
            (file.name, file.topology, file.workload)
        else {
            return None;
        };
        if name.value.trim().is_empty() {
            self.error(
                &name.referenced,
                "the scenario name is empty",
                "a short name, used in reports (e.g. `multi-region-ha`)",
                "name the scenario after what it tests",
            );
        } else if name
            .value
            .chars()
            .any(|c| c.is_control() || is_format_char(c))
            || name.value.chars().count() > NAME_MAX_CHARS
        {
            self.error(
                &name.referenced,
                "the scenario name has control or invisible format characters, or is too long",
                format!("a one-line name of at most {NAME_MAX_CHARS} characters (e.g. `multi-region-ha`)"),
                "reports, JUnit XML and terminals show the name: keep it to printable characters",
            );
        }
        if let Some(description) = &file.description {
            if description
                .value
                .chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || is_format_char(c))
            {
                self.error(
                    &description.referenced,
                    "the description has control or invisible format characters",
                    "printable text (new lines and tabs are fine)",
                    "remove them: XML reports cannot hold control characters, and a bidirectional or zero-width one makes the text read otherwise than it is",
                );
            }
        }
        let organizations_at = topology.value.organizations.referenced;
        let gateway_peers_at: Vec<Location> = workload
            .value
            .gateway
            .as_ref()
            .and_then(|g| g.peers.as_ref())
            .map(|p| p.value.iter().map(|n| n.referenced).collect())
            .unwrap_or_default();
        let (topology, region_names) = self.topology(topology.value, scenario_dir);
        let workload = self.workload(&workload, &region_names);
        let procedure = self.procedure(file.procedure);
        let fault_count = file.faults.len();
        let mut node_crashes = Vec::new();
        let faults: Vec<Option<Fault>> = file
            .faults
            .iter()
            .enumerate()
            .map(|(index, fault)| {
                if let Some(node) = &fault.value.node_crash {
                    node_crashes.push(node.clone());
                }
                self.fault(index, fault, &region_names, workload.as_ref())
            })
            .collect();
        let expect: Vec<Option<Expectation>> = file
            .expect
            .iter()
            .map(|e| {
                let runbook = procedure.as_ref().map(|p| p.runbook);
                self.expectation(&e.value, fault_count, &region_names, runbook)
            })
            .collect();
        let simulation = self.simulation(file.simulation.as_ref(), workload.as_ref());

        let scenario = Scenario {
            name: name.value.trim().to_string(),
            description: file.description.map(|d| d.value),
            source: Default::default(),
            seed: file.seed.unwrap_or(DEFAULT_SEED),
            topology: topology?,
            procedure: procedure?,
            workload: workload?,
            faults: faults.into_iter().collect::<Option<Vec<_>>>()?,
            expect: expect.into_iter().collect::<Option<Vec<_>>>()?,
            simulation: simulation?,
            real_network: super::model::RealNetwork {
                emulate_round_trips: file
                    .real_network
                    .as_ref()
                    .and_then(|r| r.emulate_round_trips)
                    .unwrap_or(true),
            },
            chaos: None,
        };
        self.layout_limits(
            &scenario,
            &organizations_at,
            &node_crashes,
            &gateway_peers_at,
        );
        let mut scenario = scenario;
        if let Some(chaos) = &file.chaos {
            scenario.chaos = self.chaos(chaos, &scenario);
        }
        Some(scenario)
    }

    fn simulation(
        &mut self,
        file: Option<&SimulationFile>,
        workload: Option<&Workload>,
    ) -> Option<Simulation> {
        let tick_at = file.and_then(|f| f.tick.as_ref());
        let tick = self
            .duration_or(tick_at, "`simulation.tick`", DEFAULT_TICK)
            .and_then(|tick| {
                if TICK_RANGE.contains(&tick) {
                    return Some(tick);
                }
                let at = tick_at.expect("the default tick is in range");
                self.error(
                    &at.referenced,
                    format!("`simulation.tick` is {}", duration::format(tick)),
                    format!(
                        "a step from {} to {}",
                        duration::format(*TICK_RANGE.start()),
                        duration::format(*TICK_RANGE.end())
                    ),
                    "the tick is the resolution of every latency; 10ms (the default) suits most runs, 1ms the latency benchmark",
                );
                None
            });
        let workload_duration = workload.map(|w| w.duration).unwrap_or_default();
        let max_at = file.and_then(|f| f.max_duration.as_ref());
        let max_duration = self.duration_or(
            max_at,
            "`simulation.max_duration`",
            workload_duration + DEFAULT_SETUP_AND_SETTLE,
        );
        if let (Some(max), Some(at)) = (max_duration, max_at) {
            if max <= workload_duration {
                self.error(
                    &at.referenced,
                    format!(
                        "`max_duration` ({}) leaves no time for the workload ({})",
                        duration::format(max),
                        duration::format(workload_duration)
                    ),
                    format!(
                        "more than {}, plus time for the procedure and settling",
                        duration::format(workload_duration)
                    ),
                    "remove `max_duration` to use the workload's duration plus 20m",
                );
                return None;
            }
        }
        Some(Simulation {
            tick: tick?,
            max_duration: max_duration?,
            node_logs: false,
        })
    }

    /// Checks that need the whole network: its size and the names of crashed nodes.
    fn layout_limits(
        &mut self,
        scenario: &Scenario,
        organizations_at: &Location,
        node_crashes: &[Spanned<String>],
        gateway_peers_at: &[Location],
    ) {
        let count = scenario.node_count();
        if count > MAX_NODES {
            self.error(
                organizations_at,
                format!("the network has {count} nodes; the simulator supports at most {MAX_NODES}"),
                format!("at most {MAX_NODES} nodes (consoles, CAs, ordering nodes, peers and one client per `workload.clients` region)"),
                "lower `peers_per_region`, or the number of organizations, regions or clients",
            );
            // The layout of so large a network is not built.
            return;
        }
        let layout = scenario.layout();
        for (peer, at) in scenario.workload.gateway.peers.iter().zip(gateway_peers_at) {
            let is_peer = layout
                .iter()
                .any(|n| n.name == *peer && n.role == layout::Role::Peer);
            if !is_peer {
                let peers = layout
                    .iter()
                    .filter(|n| n.role == layout::Role::Peer)
                    .map(|n| n.name.as_str());
                self.error(
                    at,
                    format!("`workload.gateway.peers` names `{peer}`, which is not a peer of this network"),
                    "a peer name such as `peer0.org1.us-east`",
                    did_you_mean(peer, peers, "`hadr procedure show --scenario FILE` lists the nodes"),
                );
            }
        }
        let names: Vec<&str> = layout.iter().map(|n| n.name.as_str()).collect();
        for node in node_crashes {
            if TargetRole::parse(&node.value).is_some() {
                continue;
            }
            let is_console = layout::region_of(&node.value) != node.value
                && node.value == layout::console_name(layout::region_of(&node.value));
            if is_console && scenario.procedure.runbook == Runbook::Prebuilt {
                self.error(
                    &node.referenced,
                    format!("`node_crash` names `{}`, but a prebuilt network has no consoles", node.value),
                    "a node of the network: a CA, ordering node, peer or the client",
                    "crash a console with `procedure: {runbook: documented}` (the default), which deploys one per region",
                );
                continue;
            }
            if !names.contains(&node.value.as_str()) {
                self.error(
                    &node.referenced,
                    format!("`node_crash` names `{}`, which is not a node of this network", node.value),
                    "a node name such as `peer0.org1.us-east`, `orderer0.us-east` or `ca.org1.us-east`",
                    did_you_mean(
                        &node.value,
                        names
                            .iter()
                            .copied()
                            .chain(TargetRole::ALL.map(TargetRole::name)),
                        "`hadr procedure show --scenario FILE` lists the nodes; `raft_leader` and `gateway_peer` name roles",
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{self, model::FaultKind};
    use std::path::Path;
    use std::time::Duration;

    const BASE: &str = "name: t
topology:
  latency: fixtures/latency/azure-2024-04-p50.json
  regions:
    - {name: us-east, location: eastus}
    - {name: us-west, location: westus}
    - {name: ca-central, location: canadacentral}
  ordering_service: {nodes: [us-east], max_message_count: 10}
  organizations:
    - {msp_id: Org1MSP, home: us-east}
    - {msp_id: Org2MSP, home: us-west, regions: [us-west, ca-central]}
  channel: {name: channel1, chaincode: {name: assets, version: '1.0'}}
procedure: {skip: [join-channel], recreate: [import-msp]}
workload: {rate_per_s: 20, duration: 10m, client_region: us-west}
faults:
  - {at: 1m, for: 1m, region_outage: us-west, mode: cut}
  - {at: 2m, partition: [[us-east], [us-west, ca-central]]}
  - {at: 3m, for: 30s, latency: {between: [us-east, ca-central], rtt: 200ms}}
  - {at: 4m, for: 10s, node_crash: peer0.org2.ca-central}
expect:
  - console_failover: {failed_region: us-west}
  - documented_limit: {limit: ordering_service}
  - commit_latency: {during_fault: 0, p99_below: 5s}
  - blocks_continue: {max_stall: 10s}
simulation: {tick: 5ms}
";

    fn errors(text: &str) -> Vec<String> {
        match scenario::parse(text, Path::new("t.yaml")) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.into_iter().map(|d| d.message).collect(),
        }
    }

    #[test]
    fn the_base_scenario_builds_with_its_defaults_filled_in() {
        let s = scenario::parse(BASE, Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.seed, 1);
        assert_eq!(
            s.topology.organizations[0].regions,
            ["us-east", "us-west", "ca-central"]
        );
        assert_eq!(
            s.topology.organizations[1].regions,
            ["us-west", "ca-central"]
        );
        assert_eq!(s.topology.organizations[0].peers_per_region, 1);
        assert_eq!(s.topology.ordering_service.msp_id, "OrdererMSP");
        assert_eq!(s.topology.fabric.ordering.max_message_count, 10);
        assert_eq!(s.topology.intra_region_rtt, Duration::from_millis(1));
        assert_eq!(s.simulation.tick, Duration::from_millis(5));
        assert_eq!(s.simulation.max_duration, Duration::from_secs(30 * 60));
        assert_eq!(s.faults.len(), 4);
        assert_eq!(s.faults[1].duration, None);
        assert!(
            matches!(&s.faults[2].kind, FaultKind::Latency { rtt, .. } if *rtt == Duration::from_millis(200))
        );
        assert_eq!(s.workload.clients, ["us-west"]);
        assert_eq!(s.source, Path::new("t.yaml"));
    }

    /// Each check, made to fail by one change to the base scenario.
    #[test]
    fn every_check_refuses_what_it_guards() {
        let cases: &[(&str, &str, &str)] = &[
            ("name: t", "name: ' '", "the scenario name is empty"),
            ("{name: ca-central,", "{name: us-east,", "region `us-east` is defined twice"),
            ("location: canadacentral}", "location: westus}", "location `westus` is used by two regions"),
            ("{name: ca-central,", "{name: CA.central,", "region name `CA.central` is not a DNS label"),
            ("{msp_id: Org1MSP,", "{msp_id: Org1.MSP,", "MSP ID `Org1.MSP` cannot name nodes"),
            ("{msp_id: Org2MSP,", "{msp_id: org1msp,", "MSP ID `org1msp` gives node names (`org1`) another organization already uses"),
            ("{msp_id: Org2MSP,", "{msp_id: OrdererMSP,", "`OrdererMSP` is the ordering service's MSP ID"),
            ("regions: [us-west, ca-central]", "regions: [ca-central]", "`regions` of `Org2MSP` leaves out its home `us-west`"),
            ("regions: [us-west, ca-central]", "regions: [us-west, us-west]", "region `us-west` is listed twice"),
            ("{name: channel1,", "{name: Channel_1,", "`Channel_1` is not a valid Fabric channel name"),
            ("max_message_count: 10", "max_message_count: 0", "`max_message_count` is 0, outside the values hadr takes"),
            ("nodes: [us-east]", "nodes: []", "the ordering service has no node"),
            ("rate_per_s: 20", "rate_per_s: 0", "`rate_per_s` is 0"),
            ("client_region: us-west", "client_region: eu-west", "`client_region` names region `eu-west`, which `topology.regions` does not define"),
            ("client_region: us-west}", "client_region: us-west, clients: [us-east]}", "`workload` has both `client_region` and `clients`"),
            ("client_region: us-west}", "clients: []}", "`workload.clients` is empty"),
            ("client_region: us-west}", "clients: [us-east, us-east]}", "`workload.clients` names `us-east` twice"),
            ("client_region: us-west}", "clients: [us-east, eu-west]}", "`workload.clients` names region `eu-west`, which `topology.regions` does not define"),
            ("client_region: us-west}", "client_region: us-west, evaluate_share: 1}", "`evaluate_share` is 1"),
            ("client_region: us-west}", "client_region: us-west, key_space: 0}", "`key_space` is 0"),
            ("client_region: us-west}", "client_region: us-west, payload_bytes: 2000000}", "`payload_bytes` is 2000000"),
            ("client_region: us-west}", "client_region: us-west, rate_changes: [{at: 10m, rate_per_s: 5}]}", "`rate_changes[0]` is at 10m, when the workload (10m) is over"),
            ("client_region: us-west}", "client_region: us-west, rate_changes: [{at: 2m, rate_per_s: 5, over: 1m}, {at: 2m30s, rate_per_s: 9}]}", "`rate_changes[1]` is at 2m30s, before the change before it is complete (3m)"),
            ("client_region: us-west}", "client_region: us-west, rate_changes: [{at: 2m, rate_per_s: -1}]}", "`rate_changes[0]`: `rate_per_s` is -1"),
            ("client_region: us-west}", "client_region: us-west, rate_changes: [{at: 1m, rate_per_s: 1000}]}", "the workload makes 541200 calls"),
            ("region_outage: us-west, mode: cut", "partition: [[us-east], [us-west]], mode: cut", "fault 0: `mode` applies to region outages only"),
            ("partition: [[us-east], [us-west, ca-central]]", "partition: [[us-east]]", "fault 1: a partition has 1 sides"),
            ("partition: [[us-east], [us-west, ca-central]]", "partition: [[], [us-west]]", "fault 1: a side of the partition is empty"),
            ("partition: [[us-east], [us-west, ca-central]]", "partition: [[us-east], [us-east]]", "fault 1: region `us-east` is on both sides, or twice"),
            ("between: [us-east, ca-central]", "between: [us-east, us-east]", "fault 2: `between` must name two different regions"),
            ("rtt: 200ms", "rtt: 0ms", "fault 2: `rtt` must be longer than zero"),
            ("{at: 1m, for: 1m,", "{at: 1m, for: 0s,", "fault 0: `for` must be longer than zero"),
            ("{at: 2m, partition", "{at: 10m, partition", "fault 1 starts at 10m, when the workload (10m) is over"),
            ("{at: 1m, for: 1m,", "{at: soon, for: 1m,", "fault 0: `at` is not a duration: `soon` does not start each part with a number"),
            ("failed_region: us-west", "failed_region: us-weast", "`console_failover.failed_region` names region `us-weast`, which `topology.regions` does not define"),
            ("tick: 5ms", "tick: 0ms", "`simulation.tick` must be longer than zero"),
            ("during_fault: 0, p99_below", "during_fault: 4, p99_below", "`during_fault` is 4, which is not a fault of this scenario"),
            ("p99_below: 5s", "p99_below: 0s", "`commit_latency.p99_below` must be longer than zero"),
            ("max_stall: 10s", "max_stall: ten", "`blocks_continue.max_stall` is not a duration"),
            ("tick: 5ms", "tick: 5ms, max_duration: 10m", "`max_duration` (10m) leaves no time for the workload (10m)"),
            ("skip: [join-channel]", "skip: [provision-clusters]", "`provision-clusters` is provisioning done by the substrate and cannot be skipped"),
            ("recreate: [import-msp]", "recreate: [join-channel]", "`join-channel` cannot be recreated"),
            ("  channel:", "  intra_region_rtt: 1 ms\n  channel:", "`intra_region_rtt` is not a duration: `1 ms` has no unit after `1`"),
            ("  channel:", "  fabric: {peer.gossip.pullPeerNum: -3}\n  channel:", "`peer.gossip.pullPeerNum` cannot be `-3`"),
            ("  latency: fixtures/latency/azure-2024-04-p50.json", "  latency: {unit: s, rtt_ms: [[eastus, westus, 1], [eastus, canadacentral, 1], [westus, canadacentral, 1]]}", "unit `s` is not supported"),
            ("  latency: fixtures/latency/azure-2024-04-p50.json", "  latency: {locations: {eastus: x, westus: y}, rtt_ms: [[eastus, westus, 1], [eastus, canadacentral, 1], [westus, canadacentral, 1]]}", "location `canadacentral` is not declared in `locations`"),
            ("  latency: fixtures/latency/azure-2024-04-p50.json", "  latency: 42", "found"),
        ];
        for (from, to, expected) in cases {
            assert!(BASE.contains(from), "{from}");
            let text = BASE.replacen(from, to, 1);
            let found = errors(&text);
            assert!(
                found.iter().any(|m| m.contains(expected)),
                "{from} -> {to}: expected {expected:?}, got {found:?}"
            );
        }
    }
}
