//! From the file format to the model: every check beyond YAML's shape, each failure a
//! diagnostic pointing at the value at fault. Checks go on after a failure where the rest can
//! still be judged, so one run of `hadr validate` lists most of a file's problems.

use super::diagnostic::{did_you_mean, one_of, Diagnostic, ScenarioError, SourceFile};
use super::duration;
use super::file::{
    ChannelFile, ExpectationFile, FabricOverrides, FabricValue, FaultFile, OrderingServiceFile,
    OrganizationFile, PartitionSide, ProcedureFile, RegionFile, ScenarioFile, SimulationFile,
    TopologyFile, WorkloadFile,
};
use super::latency::{self, LatencySpec, LoadedTable, TableKind};
use super::model::{
    AnchorPeers, Chaincode, Channel, Expectation, Fault, FaultKind, OrderingService, Organization,
    OutageMode, Procedure, Region, Runbook, Scenario, Simulation, Topology, Workload,
};
use crate::fabric::config::{self, FabricConfig, Value, ValueKind};
use crate::procedure::runbook::{self, Action, Performer};
use serde_saphyr::{Location, Spanned};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The most regions the simulator runs (turmoil's cost grows with hosts; see
/// research/rust-ecosystem.md).
pub const MAX_REGIONS: usize = 8;
/// The most nodes (consoles, CAs, orderers, peers, client) the simulator runs.
pub const MAX_NODES: usize = 100;

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
        match duration::parse(&value.value) {
            Ok(d) if d > Duration::ZERO => Some(d),
            Ok(_) => {
                self.error(
                    &value.referenced,
                    format!("{what} must be longer than zero"),
                    "a positive duration (e.g. `250ms`, `2s`, `3m`)",
                    "remove the entry to use the default, or give a positive duration",
                );
                None
            }
            Err(why) => {
                self.error(
                    &value.referenced,
                    format!("{what} is not a duration: {why}"),
                    duration::EXPECTED,
                    "write the number and the unit together, without spaces",
                );
                None
            }
        }
    }

    /// The duration `value`, or `default` when it is absent.
    fn duration_or(
        &mut self,
        value: Option<&Spanned<String>>,
        what: &str,
        default: Duration,
    ) -> Option<Duration> {
        match value {
            Some(value) => self.duration(value, what),
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
        }
        let organizations_at = topology.value.organizations.referenced;
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
            .map(|e| self.expectation(&e.value, fault_count, &region_names))
            .collect();
        let simulation = self.simulation(file.simulation.as_ref(), workload.as_ref());

        let scenario = Scenario {
            name: name.value.trim().to_string(),
            description: file.description,
            source: Default::default(),
            seed: file.seed.unwrap_or(DEFAULT_SEED),
            topology: topology?,
            procedure: procedure?,
            workload: workload?,
            faults: faults.into_iter().collect::<Option<Vec<_>>>()?,
            expect: expect.into_iter().collect::<Option<Vec<_>>>()?,
            simulation: simulation?,
        };
        self.layout_limits(&scenario, &organizations_at, &node_crashes);
        Some(scenario)
    }

    /// The topology, and the region names as written (for checking references to them even
    /// when the regions themselves have problems).
    fn topology(
        &mut self,
        file: TopologyFile,
        scenario_dir: Option<&Path>,
    ) -> (Option<Topology>, Vec<String>) {
        let regions = self.regions(&file.regions);
        let latency = self.latency(&file.latency, scenario_dir);
        if let (Some(_), Some(table)) = (&regions, &latency) {
            self.region_locations(&file.regions.value, table);
        }
        let intra_region_rtt = self.duration_or(
            file.intra_region_rtt.as_ref(),
            "`intra_region_rtt`",
            DEFAULT_INTRA_REGION_RTT,
        );
        let names: Vec<String> = file
            .regions
            .value
            .iter()
            .map(|r| r.name.value.clone())
            .collect();
        let ordering = self.ordering_service(&file.ordering_service.value, &names);
        let organizations = self.organizations(&file.organizations, &names, ordering.as_ref());
        let channel = self.channel(file.channel);
        let fabric = self.fabric(file.fabric.as_ref(), &file.ordering_service.value);
        let topology = (|| {
            Some(Topology {
                latency: latency?.matrix,
                intra_region_rtt: intra_region_rtt?,
                regions: regions?,
                ordering_service: ordering?,
                organizations: organizations?,
                channel: channel?,
                fabric: fabric?,
            })
        })();
        (topology, names)
    }

    fn regions(&mut self, regions: &Spanned<Vec<RegionFile>>) -> Option<Vec<Region>> {
        let count = regions.value.len();
        if count == 0 {
            self.error(
                &regions.referenced,
                "the scenario has no region",
                format!("between 1 and {MAX_REGIONS} regions, each `{{name, location}}`"),
                "add `- {name: us-east, location: eastus}`",
            );
            return None;
        }
        if count > MAX_REGIONS {
            self.error(
                &regions.referenced,
                format!("the scenario has {count} regions; the simulator supports at most {MAX_REGIONS}"),
                format!("at most {MAX_REGIONS} regions"),
                "drop regions; the procedure itself uses three",
            );
        }
        let mut ok = count <= MAX_REGIONS;
        let mut seen_names = BTreeSet::new();
        let mut seen_locations = BTreeSet::new();
        for region in &regions.value {
            let name = &region.name;
            if !is_dns_label(&name.value) {
                self.error(
                    &name.referenced,
                    format!("region name `{}` is not a DNS label", name.value),
                    "lowercase letters, digits and `-`, starting with a letter (node names end with it, e.g. `peer0.org1.us-east`)",
                    "e.g. `us-east`",
                );
                ok = false;
            }
            if !seen_names.insert(name.value.clone()) {
                self.error(
                    &name.referenced,
                    format!("region `{}` is defined twice", name.value),
                    "each region name once",
                    "rename or remove one of them",
                );
                ok = false;
            }
            if !seen_locations.insert(region.location.value.clone()) {
                self.error(
                    &region.location.referenced,
                    format!("location `{}` is used by two regions", region.location.value),
                    "a different location for each region (its round trips to the others come from the latency table)",
                    "pick another location of the latency table",
                );
                ok = false;
            }
        }
        ok.then(|| {
            regions
                .value
                .iter()
                .map(|r| Region {
                    name: r.name.value.clone(),
                    location: r.location.value.clone(),
                })
                .collect()
        })
    }

    fn latency(
        &mut self,
        spec: &Spanned<LatencySpec>,
        scenario_dir: Option<&Path>,
    ) -> Option<LoadedTable> {
        match &spec.value {
            LatencySpec::Inline(table) => {
                match latency::check_table(table, self.source, TableKind::Inline, "inline") {
                    Ok(loaded) => Some(loaded),
                    Err(problems) => {
                        self.problems.extend(problems);
                        None
                    }
                }
            }
            LatencySpec::Fixture(path) => {
                let Some(fixture) = latency::find_fixture(path, scenario_dir) else {
                    self.error(
                        &spec.referenced,
                        format!("latency fixture `{path}` not found"),
                        "a JSON latency table, relative to the scenario's directory or one of its parents, or an inline table with `rtt_ms`",
                        did_you_mean(
                            path,
                            latency::built_in_names(),
                            &format!(
                                "the built-in fixtures are {}",
                                one_of(latency::built_in_names())
                            ),
                        ),
                    );
                    return None;
                };
                match latency::parse_fixture(&fixture, path) {
                    Ok(loaded) => Some(loaded),
                    Err(error) => {
                        self.problems.extend(error.diagnostics);
                        None
                    }
                }
            }
        }
    }

    /// Every region's location is in the table, and every pair of them has a round trip.
    fn region_locations(&mut self, written: &[RegionFile], table: &LoadedTable) {
        let known = || table.locations.keys().map(String::as_str);
        let mut present = Vec::new();
        for region in written {
            let location = &region.location;
            if table.locations.contains_key(&location.value) {
                present.push(region);
                continue;
            }
            self.error(
                &location.referenced,
                format!(
                    "location `{}` of region `{}` is not in the latency table `{}`",
                    location.value, region.name.value, table.matrix.source
                ),
                format!("a location of the table: {}", one_of(known())),
                did_you_mean(
                    &location.value,
                    known(),
                    "use a location the table has, or add it to the table",
                ),
            );
        }
        for (i, a) in present.iter().enumerate() {
            for b in &present[i + 1..] {
                if table
                    .matrix
                    .rtt(&a.location.value, &b.location.value)
                    .is_none()
                {
                    self.error(
                        &b.location.referenced,
                        format!(
                            "the latency table has no round trip between `{}` (region `{}`) and `{}` (region `{}`)",
                            a.location.value, a.name.value, b.location.value, b.name.value
                        ),
                        "a round-trip time for every pair of the scenario's locations",
                        format!("add `[{}, {}, <ms>]` to `rtt_ms`", a.location.value, b.location.value),
                    );
                }
            }
        }
    }

    fn ordering_service(
        &mut self,
        service: &OrderingServiceFile,
        regions: &[String],
    ) -> Option<OrderingService> {
        let msp_id = match &service.msp_id {
            Some(msp) => {
                self.msp_id_is_valid(msp);
                msp.value.clone()
            }
            None => DEFAULT_ORDERER_MSP.to_string(),
        };
        if service.nodes.value.is_empty() {
            self.error(
                &service.nodes.referenced,
                "the ordering service has no node",
                "a list of regions, one ordering node in each entry (e.g. `[us-east]`)",
                "the procedure's ordering service is not multi-region: `[us-east]` mirrors it",
            );
            return None;
        }
        let mut ok = true;
        for node in &service.nodes.value {
            ok &= self.region_exists(node, regions, "`ordering_service.nodes`");
        }
        ok.then(|| OrderingService {
            msp_id,
            nodes: service
                .nodes
                .value
                .iter()
                .map(|n| n.value.clone())
                .collect(),
        })
    }

    fn msp_id_is_valid(&mut self, msp_id: &Spanned<String>) -> bool {
        let valid = !msp_id.value.is_empty()
            && msp_id
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            self.error(
                &msp_id.referenced,
                format!("MSP ID `{}` cannot name nodes", msp_id.value),
                "letters, digits and `-` (e.g. `Org1MSP`); node names are built from it",
                "e.g. `Org1MSP`",
            );
        }
        valid
    }

    fn organizations(
        &mut self,
        file: &Spanned<Vec<Spanned<OrganizationFile>>>,
        regions: &[String],
        ordering: Option<&OrderingService>,
    ) -> Option<Vec<Organization>> {
        if file.value.is_empty() {
            self.error(
                &file.referenced,
                "the scenario has no organization",
                "at least one `{msp_id, home, peers_per_region}`",
                "add `- {msp_id: Org1MSP, home: us-east, peers_per_region: 1}`",
            );
            return None;
        }
        let mut organizations = Vec::new();
        let mut short_names = BTreeSet::new();
        let mut ok = true;
        for org in &file.value {
            let org = &org.value;
            let msp = &org.msp_id;
            ok &= self.msp_id_is_valid(msp);
            let short = crate::scenario::layout::org_short_name(&msp.value);
            if !short_names.insert(short.clone()) {
                self.error(
                    &msp.referenced,
                    format!("MSP ID `{}` gives node names (`{short}`) another organization already uses", msp.value),
                    "MSP IDs that differ once lowercased and stripped of `MSP`",
                    "e.g. `Org1MSP`, `Org2MSP`",
                );
                ok = false;
            }
            if let Some(service) = ordering {
                if service.msp_id == msp.value {
                    self.error(
                        &msp.referenced,
                        format!("`{}` is the ordering service's MSP ID", msp.value),
                        "a peer organization MSP ID different from `ordering_service.msp_id`",
                        "e.g. `Org1MSP`",
                    );
                    ok = false;
                }
            }
            let home_ok = self.region_exists(&org.home, regions, "`home`");
            ok &= home_ok;
            let peers_per_region = match &org.peers_per_region {
                None => 1,
                Some(n) if n.value >= 1 => n.value as u32,
                Some(n) => {
                    self.error(
                        &n.referenced,
                        format!("`peers_per_region` is {}", n.value),
                        "a count of at least 1",
                        "every region an organization spans runs at least one of its peers",
                    );
                    ok = false;
                    1
                }
            };
            let spans = match &org.regions {
                None => {
                    let mut all = vec![org.home.value.clone()];
                    all.extend(regions.iter().filter(|r| **r != org.home.value).cloned());
                    all
                }
                Some(list) => {
                    let mut seen = BTreeSet::new();
                    for region in &list.value {
                        ok &= self.region_exists(region, regions, "`organizations.regions`");
                        if !seen.insert(region.value.clone()) {
                            self.error(
                                &region.referenced,
                                format!("region `{}` is listed twice", region.value),
                                "each region once",
                                "remove the repeated entry",
                            );
                            ok = false;
                        }
                    }
                    if home_ok && !seen.contains(&org.home.value) {
                        self.error(
                            &list.referenced,
                            format!(
                                "`regions` of `{}` leaves out its home `{}`",
                                msp.value, org.home.value
                            ),
                            "a list that includes the home region",
                            format!(
                                "add `{}`, or remove `regions` to span every region",
                                org.home.value
                            ),
                        );
                        ok = false;
                    }
                    let mut ordered = vec![org.home.value.clone()];
                    ordered.extend(
                        list.value
                            .iter()
                            .map(|r| r.value.clone())
                            .filter(|r| *r != org.home.value),
                    );
                    ordered
                }
            };
            organizations.push(Organization {
                msp_id: msp.value.clone(),
                home: org.home.value.clone(),
                peers_per_region,
                regions: spans,
            });
        }
        ok.then_some(organizations)
    }

    fn channel(&mut self, file: Option<ChannelFile>) -> Option<Channel> {
        let Some(file) = file else {
            return Some(Channel {
                name: DEFAULT_CHANNEL.to_string(),
                chaincode: Chaincode {
                    name: DEFAULT_CHAINCODE.to_string(),
                    version: DEFAULT_CHAINCODE_VERSION.to_string(),
                },
            });
        };
        // Fabric's rule for channel names (hyperledger/fabric common/configtx/validator.go,
        // channelAllowedChars and maxLength).
        let name = &file.name.value;
        let valid = name.len() <= 249
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !valid {
            self.error(
                &file.name.referenced,
                format!("`{name}` is not a valid Fabric channel name"),
                "lowercase letters, digits, `.` and `-`, starting with a letter, at most 249 characters",
                "e.g. `channel1`",
            );
            return None;
        }
        Some(Channel {
            name: name.clone(),
            chaincode: Chaincode {
                name: file.chaincode.name,
                version: file.chaincode.version,
            },
        })
    }

    fn fabric(
        &mut self,
        overrides: Option<&FabricOverrides>,
        ordering: &OrderingServiceFile,
    ) -> Option<FabricConfig> {
        let mut config = FabricConfig::default();
        let mut ok = true;
        // The shorthands first, so an explicit key can be reported as a conflict.
        let mut shorthands: Vec<(&str, &str)> = Vec::new();
        if let Some(timeout) = &ordering.batch_timeout {
            match self.duration(timeout, "`batch_timeout`") {
                Some(d) => set(&mut config, "Orderer.BatchTimeout", Value::Duration(d)),
                None => ok = false,
            }
            shorthands.push(("Orderer.BatchTimeout", "batch_timeout"));
        }
        if let Some(count) = &ordering.max_message_count {
            if count.value >= 1 {
                set(
                    &mut config,
                    "Orderer.BatchSize.MaxMessageCount",
                    Value::Count(count.value as u64),
                );
            } else {
                self.error(
                    &count.referenced,
                    format!("`max_message_count` is {}", count.value),
                    "a count of at least 1",
                    "Fabric's default is 500",
                );
                ok = false;
            }
            shorthands.push(("Orderer.BatchSize.MaxMessageCount", "max_message_count"));
        }
        for (key, value) in overrides.map(|o| o.0.as_slice()).unwrap_or_default() {
            let Some(kind) = config::kind_of(&key.value) else {
                self.error(
                    &key.referenced,
                    format!("unknown Fabric setting `{}`", key.value),
                    "a key hadr simulates, written as in core.yaml or configtx.yaml (e.g. `peer.gossip.aliveExpirationTimeout`)",
                    did_you_mean(
                        &key.value,
                        config::KEYS.iter().map(|(k, _)| *k),
                        "README.md lists the Fabric keys hadr knows",
                    ),
                );
                ok = false;
                continue;
            };
            if let Some((_, shorthand)) = shorthands.iter().find(|(k, _)| *k == key.value) {
                self.error(
                    &key.referenced,
                    format!(
                        "`{}` is also set by `ordering_service.{shorthand}`",
                        key.value
                    ),
                    "each setting once",
                    format!(
                        "keep either `{}` or `ordering_service.{shorthand}`",
                        key.value
                    ),
                );
                ok = false;
                continue;
            }
            match fabric_value(kind, &value.value) {
                Some(parsed) => set(&mut config, &key.value, parsed),
                None => {
                    self.error(
                        &value.referenced,
                        format!("`{}` cannot be {}", key.value, describe(&value.value)),
                        kind_expected(kind),
                        "use the value's form in Fabric's sample configuration",
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(config)
    }

    fn procedure(&mut self, file: Option<ProcedureFile>) -> Option<Procedure> {
        let Some(file) = file else {
            return Some(Procedure {
                runbook: Runbook::Documented,
                skip: Vec::new(),
                recreate: Vec::new(),
                import_all_peers_everywhere: true,
                anchor_peers: AnchorPeers::EveryPeer,
            });
        };
        let mut ok = true;
        for entry in &file.skip {
            match runbook::resolve(&entry.value) {
                None => {
                    self.error(
                        &entry.referenced,
                        format!("`{}` names no runbook step", entry.value),
                        "an action name (e.g. `import-ca`) or a doc anchor (section or link) of the runbook",
                        did_you_mean(
                            &entry.value,
                            runbook::reference_names(),
                            "`hadr procedure show` lists the actions and their anchors",
                        ),
                    );
                    ok = false;
                }
                Some(actions)
                    if actions
                        .iter()
                        .any(|a| a.info().performer == Performer::Substrate) =>
                {
                    self.error(
                        &entry.referenced,
                        format!("`{}` is provisioning done by the substrate and cannot be skipped", entry.value),
                        "a step performed through a console",
                        "skip a step of sections ibp-console-hadr-peerCA to ibp-console-hadr-create-new-peers",
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        let recreatable = || Action::RECREATABLE.iter().map(|a| a.name());
        for entry in &file.recreate {
            if !recreatable().any(|name| name == entry.value) {
                self.error(
                    &entry.referenced,
                    format!("`{}` cannot be recreated", entry.value),
                    format!(
                        "an import step of clusters 2 and 3: {}",
                        one_of(recreatable())
                    ),
                    did_you_mean(
                        &entry.value,
                        recreatable(),
                        "recreate names the imports the mutation replaces",
                    ),
                );
                ok = false;
            }
        }
        ok.then(|| Procedure {
            runbook: file.runbook.unwrap_or(Runbook::Documented),
            skip: file.skip.iter().map(|s| s.value.clone()).collect(),
            recreate: file.recreate.iter().map(|s| s.value.clone()).collect(),
            import_all_peers_everywhere: file.import_all_peers_everywhere.unwrap_or(true),
            anchor_peers: file.anchor_peers.unwrap_or(AnchorPeers::EveryPeer),
        })
    }

    fn workload(&mut self, file: &Spanned<WorkloadFile>, regions: &[String]) -> Option<Workload> {
        let workload = &file.value;
        let rate = &workload.rate_per_s;
        let rate_ok = rate.value.is_finite() && rate.value > 0.0;
        if !rate_ok {
            self.error(
                &rate.referenced,
                format!("`rate_per_s` is {}", rate.value),
                "a positive number of transactions per second",
                "e.g. `rate_per_s: 20`",
            );
        }
        let duration = self.duration(&workload.duration, "`workload.duration`");
        let client_region = match &workload.client_region {
            Some(region) => self
                .region_exists(region, regions, "`client_region`")
                .then(|| region.value.clone()),
            None => regions.first().cloned(),
        };
        Some(Workload {
            rate_per_s: rate_ok.then_some(rate.value)?,
            duration: duration?,
            client_region: client_region?,
        })
    }

    fn fault(
        &mut self,
        index: usize,
        file: &Spanned<FaultFile>,
        regions: &[String],
        workload: Option<&Workload>,
    ) -> Option<Fault> {
        let fault = &file.value;
        let at = duration::parse(&fault.at.value);
        let at = match at {
            Ok(at) => Some(at),
            Err(why) => {
                self.error(
                    &fault.at.referenced,
                    format!("fault {index}: `at` is not a duration: {why}"),
                    duration::EXPECTED,
                    "`at` is the offset from the start of the workload, e.g. `3m`",
                );
                None
            }
        };
        let lasts = match &fault.lasts {
            Some(lasts) => Some(self.duration(lasts, &format!("fault {index}: `for`"))?),
            None => None,
        };
        if let (Some(at), Some(workload)) = (at, workload) {
            if at >= workload.duration {
                self.error(
                    &fault.at.referenced,
                    format!(
                        "fault {index} starts at {}, when the workload ({}) is over",
                        duration::format(at),
                        duration::format(workload.duration)
                    ),
                    format!("a start before {}", duration::format(workload.duration)),
                    "faults are offsets from the start of the workload; start it earlier or lengthen `workload.duration`",
                );
            } else if let Some((lasts, lasts_at)) = lasts.zip(fault.lasts.as_ref()) {
                if at + lasts > workload.duration {
                    self.error(
                        &lasts_at.referenced,
                        format!(
                            "fault {index} lasts until {}, past the end of the workload ({})",
                            duration::format(at + lasts),
                            duration::format(workload.duration)
                        ),
                        format!(
                            "`at` + `for` within the workload: `for` at most {}",
                            duration::format(workload.duration - at)
                        ),
                        "shorten the fault or lengthen `workload.duration`",
                    );
                }
            }
        }
        let kinds = [
            fault.region_outage.is_some(),
            fault.partition.is_some(),
            fault.latency.is_some(),
            fault.node_crash.is_some(),
        ];
        let kind_count = kinds.iter().filter(|k| **k).count();
        if kind_count != 1 {
            self.error(
                &file.referenced,
                format!("fault {index} has {kind_count} kinds"),
                "exactly one of `region_outage`, `partition`, `latency`, `node_crash`",
                "write one fault per kind, each with its own `at`",
            );
            return None;
        }
        if let (Some(mode), None) = (&fault.mode, &fault.region_outage) {
            self.error(
                &mode.referenced,
                format!("fault {index}: `mode` applies to region outages only"),
                "`mode` next to `region_outage`",
                "remove `mode`",
            );
            return None;
        }
        let kind = if let Some(region) = &fault.region_outage {
            self.region_exists(region, regions, "`region_outage`")
                .then(|| FaultKind::RegionOutage {
                    region: region.value.clone(),
                    mode: fault
                        .mode
                        .as_ref()
                        .map(|m| m.value)
                        .unwrap_or(OutageMode::Crash),
                })
        } else if let Some(sides) = &fault.partition {
            self.partition(index, sides, regions)
        } else if let Some(latency) = &fault.latency {
            let between = &latency.value.between;
            let mut ok = true;
            for region in &between.value {
                ok &= self.region_exists(region, regions, "`latency.between`");
            }
            let pair = match between.value.as_slice() {
                [a, b] if a.value != b.value => Some([a.value.clone(), b.value.clone()]),
                _ => {
                    self.error(
                        &between.referenced,
                        format!("fault {index}: `between` must name two different regions"),
                        "`between: [region-a, region-b]`",
                        "one latency fault per pair of regions",
                    );
                    None
                }
            };
            let rtt = self.duration(&latency.value.rtt, &format!("fault {index}: `rtt`"));
            match (ok, pair, rtt) {
                (true, Some(regions), Some(rtt)) => Some(FaultKind::Latency { regions, rtt }),
                _ => None,
            }
        } else {
            // node_crash: the name is checked against the layout once it is known.
            fault.node_crash.as_ref().map(|node| FaultKind::NodeCrash {
                node: node.value.clone(),
            })
        };
        Some(Fault {
            at: at?,
            duration: lasts,
            kind: kind?,
        })
    }

    fn partition(
        &mut self,
        index: usize,
        sides: &Spanned<Vec<PartitionSide>>,
        regions: &[String],
    ) -> Option<FaultKind> {
        let [a, b] = sides.value.as_slice() else {
            self.error(
                &sides.referenced,
                format!("fault {index}: a partition has {} sides", sides.value.len()),
                "two sides: `partition: [[us-east], [us-west, ca-central]]`",
                "a partition separates two groups of regions",
            );
            return None;
        };
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for side in [a, b] {
            if side.value.is_empty() {
                self.error(
                    &side.referenced,
                    format!("fault {index}: a side of the partition is empty"),
                    "at least one region on each side",
                    "name the regions cut off from each other",
                );
                ok = false;
            }
            for region in &side.value {
                ok &= self.region_exists(region, regions, "`partition`");
                if !seen.insert(region.value.clone()) {
                    self.error(
                        &region.referenced,
                        format!(
                            "fault {index}: region `{}` is on both sides, or twice",
                            region.value
                        ),
                        "each region on one side at most",
                        "remove the repeated region",
                    );
                    ok = false;
                }
            }
        }
        let names = |side: &PartitionSide| side.value.iter().map(|r| r.value.clone()).collect();
        ok.then(|| FaultKind::Partition {
            sides: [names(a), names(b)],
        })
    }

    fn expectation(
        &mut self,
        file: &ExpectationFile,
        fault_count: usize,
        regions: &[String],
    ) -> Option<Expectation> {
        match file {
            ExpectationFile::LedgerInSync { within } => self
                .duration(within, "`ledger_in_sync.within`")
                .map(|within| Expectation::LedgerInSync { within }),
            ExpectationFile::NoLostTransactions {} => Some(Expectation::NoLostTransactions),
            ExpectationFile::TransactionsContinue {
                during_fault,
                min_success_ratio,
            } => {
                let index = usize::try_from(during_fault.value)
                    .ok()
                    .filter(|i| *i < fault_count);
                if index.is_none() {
                    let expected = match fault_count {
                        0 => "a fault index, but the scenario has no fault".to_string(),
                        n => format!("an index of `faults`, from 0 to {}", n - 1),
                    };
                    self.error(
                        &during_fault.referenced,
                        format!(
                            "`during_fault` is {}, which is not a fault of this scenario",
                            during_fault.value
                        ),
                        expected,
                        "faults are numbered from 0 in the order of `faults`",
                    );
                }
                let ratio = min_success_ratio.value;
                let ratio_ok = (0.0..=1.0).contains(&ratio);
                if !ratio_ok {
                    self.error(
                        &min_success_ratio.referenced,
                        format!("`min_success_ratio` is {ratio}"),
                        "a share between 0 and 1 (e.g. `0.95`)",
                        "write a percentage as a fraction: 95% is 0.95",
                    );
                }
                Some(Expectation::TransactionsContinue {
                    during_fault: index?,
                    min_success_ratio: ratio_ok.then_some(ratio)?,
                })
            }
            ExpectationFile::CrossOrgGossip {} => Some(Expectation::CrossOrgGossip),
            ExpectationFile::ConsoleFailover { failed_region } => self
                .region_exists(failed_region, regions, "`console_failover.failed_region`")
                .then(|| Expectation::ConsoleFailover {
                    failed_region: failed_region.value.clone(),
                }),
            ExpectationFile::DocumentedLimit { limit } => {
                Some(Expectation::DocumentedLimit { limit: *limit })
            }
        }
    }

    fn simulation(
        &mut self,
        file: Option<&SimulationFile>,
        workload: Option<&Workload>,
    ) -> Option<Simulation> {
        let tick = self.duration_or(
            file.and_then(|f| f.tick.as_ref()),
            "`simulation.tick`",
            DEFAULT_TICK,
        );
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
        })
    }

    /// Checks that need the whole network: its size and the names of crashed nodes.
    fn layout_limits(
        &mut self,
        scenario: &Scenario,
        organizations_at: &Location,
        node_crashes: &[Spanned<String>],
    ) {
        let layout = scenario.layout();
        if layout.len() > MAX_NODES {
            self.error(
                organizations_at,
                format!(
                    "the network has {} nodes; the simulator supports at most {MAX_NODES}",
                    layout.len()
                ),
                format!("at most {MAX_NODES} nodes (consoles, CAs, ordering nodes, peers and the client)"),
                "lower `peers_per_region`, or the number of organizations or regions",
            );
        }
        let names: Vec<&str> = layout.iter().map(|n| n.name.as_str()).collect();
        for node in node_crashes {
            if !names.contains(&node.value.as_str()) {
                self.error(
                    &node.referenced,
                    format!("`node_crash` names `{}`, which is not a node of this network", node.value),
                    "a node name such as `peer0.org1.us-east`, `orderer0.us-east` or `ca.org1.us-east`",
                    did_you_mean(
                        &node.value,
                        names.iter().copied(),
                        "`hadr procedure show --scenario FILE` lists the nodes",
                    ),
                );
            }
        }
    }
}

fn set(config: &mut FabricConfig, key: &str, value: Value) {
    // Keys come from config::KEYS and values were converted for their kind.
    config
        .set(key, value)
        .expect("a known key with a value of its kind");
}

fn fabric_value(kind: ValueKind, value: &FabricValue) -> Option<Value> {
    match (kind, value) {
        (ValueKind::Duration, FabricValue::Text(text)) => {
            duration::parse(text).ok().map(Value::Duration)
        }
        (ValueKind::Count, FabricValue::Integer(n)) => u64::try_from(*n).ok().map(Value::Count),
        (ValueKind::Bytes, FabricValue::Integer(n)) => u64::try_from(*n).ok().map(Value::Count),
        (ValueKind::Bytes, FabricValue::Text(text)) => config::parse_bytes(text).map(Value::Count),
        (ValueKind::Bool, FabricValue::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

fn kind_expected(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Duration => duration::EXPECTED,
        ValueKind::Count => "a whole number of zero or more",
        ValueKind::Bytes => "a byte size: a number of bytes, or with a unit like `10 MB`, `512 KB`",
        ValueKind::Bool => "`true` or `false`",
    }
}

fn describe(value: &FabricValue) -> String {
    match value {
        FabricValue::Bool(b) => format!("`{b}`"),
        FabricValue::Integer(n) => format!("`{n}`"),
        FabricValue::Number(x) => format!("`{x}`"),
        FabricValue::Text(t) => format!("`{t}`"),
    }
}

/// Lowercase letters, digits and `-`, starting with a letter, at most 63 characters.
fn is_dns_label(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
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
        assert_eq!(s.workload.client_region, "us-west");
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
            ("max_message_count: 10", "max_message_count: 0", "`max_message_count` is 0"),
            ("nodes: [us-east]", "nodes: []", "the ordering service has no node"),
            ("rate_per_s: 20", "rate_per_s: 0", "`rate_per_s` is 0"),
            ("client_region: us-west", "client_region: eu-west", "`client_region` names region `eu-west`, which `topology.regions` does not define"),
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
