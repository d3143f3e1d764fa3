//! The runbook applied to a scenario: every action in order, for each organization and region,
//! with the console that performs it and the nodes it acts on, so that a runner can execute it
//! step by step. `procedure.skip` marks steps skipped (they stay in the plan, so reports show
//! what a mutated procedure left out); `procedure.recreate` marks imports replaced by local
//! creations; `import_all_peers_everywhere` and `anchor_peers` shape the last steps.

use super::runbook::{self, Action, Performer, SECTIONS};
use crate::scenario::layout::{ca_name, console_name, orderer_names, peer_name};
use crate::scenario::model::{AnchorPeers, Organization, Runbook, Scenario};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

/// The steps of a scenario's procedure, in execution order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub scenario: String,
    /// `documented`: the runner performs each step through the consoles; `prebuilt`: the
    /// substrate builds the network this plan ends with directly.
    pub runbook: Runbook,
    pub steps: Vec<PlannedStep>,
}

/// One action, for one organization, in one region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// 1-based position in the plan.
    pub number: usize,
    pub action: Action,
    /// The region whose console performs it (where the substrate acts, for substrate steps).
    pub region: String,
    /// The console node that performs it; None for substrate steps.
    pub console: Option<String>,
    /// The organization it is done for; None for steps shared by every organization.
    pub msp_id: Option<String>,
    /// The CA the step deploys, registers with, imports or enrolls against.
    pub ca: Option<String>,
    /// The nodes the step creates, registers, joins, exports or imports (peers; ordering nodes
    /// for the ordering service steps; the console for deploy-consoles).
    pub nodes: Vec<String>,
    /// For a step that hands something to another console, that console:
    /// export-msp-to-ordering-admin, the ordering service admin's; export-peers, cluster 1's.
    pub delivers_to: Option<String>,
    pub status: StepStatus,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepStatus {
    /// Performed as the doc says.
    Run,
    /// `procedure.recreate`: instead of importing cluster 1's CA, MSP or admin identity, the
    /// console creates its own (a new CA in the region, an MSP definition from it, an admin
    /// enrolled with it).
    Recreated,
    /// Left out, with the reason.
    Skipped { reason: String },
}

/// Builds the plan of `scenario`.
pub fn plan(scenario: &Scenario) -> Plan {
    let mut builder = Builder::new(scenario);
    builder.substrate();
    for org in &scenario.topology.organizations {
        builder.organization(org);
    }
    builder.import_everywhere();
    Plan {
        scenario: scenario.name.clone(),
        runbook: scenario.procedure.runbook,
        steps: builder.steps,
    }
}

struct Builder<'a> {
    scenario: &'a Scenario,
    /// Actions named by `procedure.skip`, with the entry that named them.
    skipped: BTreeMap<Action, String>,
    recreated: BTreeSet<Action>,
    /// The nodes each region's console lists so far (created there or imported).
    known: BTreeMap<String, BTreeSet<String>>,
    steps: Vec<PlannedStep>,
}

impl<'a> Builder<'a> {
    fn new(scenario: &'a Scenario) -> Self {
        let procedure = &scenario.procedure;
        let mut skipped = BTreeMap::new();
        for entry in &procedure.skip {
            for action in runbook::resolve(entry).unwrap_or_default() {
                skipped.entry(action).or_insert_with(|| entry.clone());
            }
        }
        let recreated = procedure
            .recreate
            .iter()
            .filter_map(|name| Action::from_name(name))
            .collect();
        Builder {
            scenario,
            skipped,
            recreated,
            known: BTreeMap::new(),
            steps: Vec::new(),
        }
    }

    /// Appends a step; when it runs, the console it names comes to list `lists`.
    fn push(&mut self, step: Step, lists: &[String]) {
        let status = if let Some(entry) = self.skipped.get(&step.action) {
            StepStatus::Skipped {
                reason: format!("procedure.skip names `{entry}`"),
            }
        } else if let Some(reason) = step.skip_reason {
            StepStatus::Skipped { reason }
        } else if self.recreated.contains(&step.action) {
            StepStatus::Recreated
        } else {
            StepStatus::Run
        };
        if !is_skipped(&status) {
            self.known
                .entry(
                    step.delivers_to
                        .clone()
                        .unwrap_or_else(|| step.region.clone()),
                )
                .or_default()
                .extend(lists.iter().cloned());
        }
        let console = match step.action.info().performer {
            Performer::Substrate => None,
            _ => Some(console_name(&step.region)),
        };
        self.steps.push(PlannedStep {
            number: self.steps.len() + 1,
            action: step.action,
            region: step.region,
            console,
            msp_id: step.msp_id,
            ca: step.ca,
            nodes: step.nodes,
            delivers_to: step.delivers_to.as_deref().map(console_name),
            status,
        });
    }

    fn orderers(&self) -> Vec<String> {
        orderer_names(&self.scenario.topology.ordering_service)
    }

    fn substrate(&mut self) {
        let regions = self.scenario.topology.region_names();
        for region in &regions {
            self.push(Step::new(Action::ProvisionClusters, region), &[]);
            self.push(
                Step::new(Action::DeployConsoles, region).nodes(vec![console_name(region)]),
                &[],
            );
        }
        let orderers = self.orderers();
        let first = self.scenario.topology.ordering_service.nodes[0].clone();
        // The ordering admin's console lists the ordering service it operates.
        self.push(
            Step::new(Action::CreateOrderingService, &first).nodes(orderers.clone()),
            &orderers,
        );
    }

    fn organization(&mut self, org: &Organization) {
        let msp = org.msp_id.as_str();
        let in_region = |region: &str, ca: String| OrgInRegion {
            msp_id: msp.to_string(),
            region: region.to_string(),
            ca,
            peers: (0..org.peers_per_region)
                .map(|i| peer_name(msp, i, region))
                .collect(),
        };
        let home = in_region(&org.home, ca_name(msp, &org.home));
        let orderers = self.orderers();
        let ordering_region = self.scenario.topology.ordering_service.nodes[0].clone();

        // Step 1 (cluster 1).
        let home_ca = vec![home.ca.clone()];
        self.push(
            home.with_ca(Action::DeployCa).nodes(home_ca.clone()),
            &home_ca,
        );
        self.push(home.on_peers_with_ca(Action::RegisterIdentities), &[]);
        self.push(home.with_ca(Action::CreateMsp), &[]);
        self.push(home.on_peers_with_ca(Action::CreatePeer), &home.peers);
        self.push(home.on_peers(Action::InstallChaincode), &[]);
        let mut export_msp = home.step(Action::ExportMspToOrderingAdmin);
        export_msp.delivers_to = Some(ordering_region.clone());
        self.push(export_msp, &[]);
        let mut consortium = home.step(Action::AddOrgToConsortium);
        consortium.region = ordering_region;
        self.push(consortium, &[]);
        self.push(
            home.step(Action::ImportOrderingService)
                .nodes(orderers.clone()),
            &orderers,
        );
        self.push(home.on_peers(Action::JoinChannel), &[]);
        let anchors = match self.scenario.procedure.anchor_peers {
            AnchorPeers::EveryPeer => home.peers.clone(),
            AnchorPeers::OnePerOrg => home.peers[..1].to_vec(),
        };
        self.push(home.step(Action::SetAnchorPeers).nodes(anchors), &[]);
        self.push(home.on_peers(Action::InstantiateChaincode), &[]);

        // Step 2 (cluster 1).
        self.push(home.with_ca(Action::ExportCa).nodes(home_ca), &[]);
        self.push(home.step(Action::ExportMsp), &[]);
        self.push(home.with_ca(Action::ExportAdminIdentity), &[]);

        // Step 3 (clusters 2 and 3), each with the CA it ends up using.
        let others: Vec<OrgInRegion> = org.regions[1..]
            .iter()
            .map(|region| {
                let ca = if self.recreated.contains(&Action::ImportCa) {
                    ca_name(msp, region)
                } else {
                    home.ca.clone()
                };
                in_region(region, ca)
            })
            .collect();
        for other in &others {
            let ca = vec![other.ca.clone()];
            self.push(other.with_ca(Action::ImportCa).nodes(ca.clone()), &ca);
            self.push(other.with_ca(Action::AssociateCaAdmin), &[]);
            self.push(other.with_ca(Action::ImportMsp), &[]);
            self.push(other.with_ca(Action::ImportAdminIdentity), &[]);
        }

        // Step 4 (clusters 2 and 3).
        for other in &others {
            self.push(other.on_peers_with_ca(Action::RegisterRedundantPeer), &[]);
            self.push(
                other.on_peers_with_ca(Action::CreateRedundantPeer),
                &other.peers,
            );
            self.push(other.on_peers(Action::JoinRedundantPeer), &orderers);
            self.push(other.on_peers(Action::InstallChaincodeRedundant), &[]);
            let mut anchors = other.on_peers(Action::MakeRedundantPeersAnchors);
            if self.scenario.procedure.anchor_peers == AnchorPeers::OnePerOrg {
                anchors.skip_reason = Some("procedure.anchor_peers is one_per_org".to_string());
            }
            self.push(anchors, &[]);
        }
        // The doc's first option: the redundant peers exported into cluster 1's console.
        for other in &others {
            let mut export = other.on_peers(Action::ExportPeers);
            export.delivers_to = Some(home.region.clone());
            self.push(export, &other.peers);
        }
    }

    /// The doc's last option: every console imports every peer it does not list yet.
    fn import_everywhere(&mut self) {
        let all_peers: Vec<String> = self
            .scenario
            .topology
            .organizations
            .iter()
            .flat_map(|org| {
                org.regions.iter().flat_map(move |region| {
                    (0..org.peers_per_region).map(move |i| peer_name(&org.msp_id, i, region))
                })
            })
            .collect();
        let regions = self.scenario.topology.region_names();
        for region in regions {
            let known = self.known.get(&region).cloned().unwrap_or_default();
            let missing: Vec<String> = all_peers
                .iter()
                .filter(|p| !known.contains(*p))
                .cloned()
                .collect();
            let mut step =
                Step::new(Action::ImportAllPeersEverywhere, &region).nodes(missing.clone());
            if !self.scenario.procedure.import_all_peers_everywhere {
                step.skip_reason =
                    Some("procedure.import_all_peers_everywhere is false".to_string());
            }
            self.push(step, &missing);
        }
    }
}

fn is_skipped(status: &StepStatus) -> bool {
    matches!(status, StepStatus::Skipped { .. })
}

/// One organization in one region: its peers there and the CA it uses there.
struct OrgInRegion {
    msp_id: String,
    region: String,
    ca: String,
    peers: Vec<String>,
}

impl OrgInRegion {
    fn step(&self, action: Action) -> Step {
        Step::new(action, &self.region).msp(&self.msp_id)
    }
    fn with_ca(&self, action: Action) -> Step {
        self.step(action).ca(&self.ca)
    }
    fn on_peers(&self, action: Action) -> Step {
        self.step(action).nodes(self.peers.clone())
    }
    fn on_peers_with_ca(&self, action: Action) -> Step {
        self.with_ca(action).nodes(self.peers.clone())
    }
}

/// A step being built.
struct Step {
    action: Action,
    region: String,
    msp_id: Option<String>,
    ca: Option<String>,
    nodes: Vec<String>,
    skip_reason: Option<String>,
    /// The region whose console receives what the step hands over (and comes to list its
    /// nodes), when not the step's own.
    delivers_to: Option<String>,
}

impl Step {
    fn new(action: Action, region: &str) -> Step {
        Step {
            action,
            region: region.to_string(),
            msp_id: None,
            ca: None,
            nodes: Vec::new(),
            skip_reason: None,
            delivers_to: None,
        }
    }
    fn msp(mut self, msp_id: &str) -> Step {
        self.msp_id = Some(msp_id.to_string());
        self
    }
    fn ca(mut self, ca: &str) -> Step {
        self.ca = Some(ca.to_string());
        self
    }
    fn nodes(mut self, nodes: Vec<String>) -> Step {
        self.nodes = nodes;
        self
    }
}

impl PlannedStep {
    /// What the step does, in a sentence naming its nodes.
    pub fn describe(&self) -> String {
        let nodes = self.nodes.join(", ");
        let ca = self.ca.as_deref().unwrap_or("the CA");
        let recreated = self.status == StepStatus::Recreated;
        match self.action {
            Action::ProvisionClusters => {
                format!("Create the Kubernetes cluster of region {}.", self.region)
            }
            Action::DeployConsoles => format!("Deploy {nodes} and link it to the cluster."),
            Action::CreateOrderingService => format!(
                "Create the ordering service ({nodes}) and the channel the tutorial assumes."
            ),
            Action::DeployCa => format!("Deploy the CA {ca}; keep its admin enroll ID and secret."),
            Action::RegisterIdentities => format!(
                "Register with {ca} the peer identity of {nodes} and the organization admin."
            ),
            Action::CreateMsp => format!("Create the MSP definition from {ca}."),
            Action::CreatePeer => format!("Create {nodes}."),
            Action::InstallChaincode | Action::InstallChaincodeRedundant => {
                format!("Install the smart contract on {nodes}.")
            }
            Action::ExportMspToOrderingAdmin => {
                "Export the MSP definition and send it to the ordering service admin.".to_string()
            }
            Action::AddOrgToConsortium => format!(
                "As the ordering service admin: import the MSP of {}, add it to the consortium and the channel, export the ordering service.",
                self.msp_id.as_deref().unwrap_or("the organization")
            ),
            Action::ImportOrderingService => {
                format!("Import the ordering service ({nodes}).")
            }
            Action::JoinChannel => format!("Join {nodes} to the channel."),
            Action::SetAnchorPeers => format!("Make {nodes} {} of the channel.", anchor_peers(&self.nodes)),
            Action::InstantiateChaincode => {
                "Instantiate (approve and commit) the smart contract on the channel.".to_string()
            }
            Action::ExportCa => format!("Export the CA {ca} to JSON."),
            Action::ExportMsp => "Export the MSP definition to JSON.".to_string(),
            Action::ExportAdminIdentity => {
                "Export the organization admin identity from the wallet.".to_string()
            }
            Action::ImportCa if recreated => {
                format!("Deploy a new CA {ca} here instead of importing cluster 1's.")
            }
            Action::ImportCa => format!("Import the CA {ca} from its JSON."),
            Action::AssociateCaAdmin => {
                format!("Enter the enroll ID and secret of {ca}'s admin and TLS CA admin.")
            }
            Action::ImportMsp if recreated => {
                format!("Create a new MSP definition from {ca} instead of importing cluster 1's.")
            }
            Action::ImportMsp => {
                "Import the MSP definition JSON, with \"I have an admin identity\".".to_string()
            }
            Action::ImportAdminIdentity if recreated => {
                format!("Enroll a new organization admin with {ca} instead of importing cluster 1's.")
            }
            Action::ImportAdminIdentity => {
                "Import the organization admin identity into the wallet.".to_string()
            }
            Action::RegisterRedundantPeer => {
                format!("Register with {ca} the peer identity of {nodes}.")
            }
            Action::CreateRedundantPeer => format!("Create {nodes} with {ca} and the imported MSP."),
            Action::JoinRedundantPeer => format!(
                "Import the ordering service and join {nodes} to the channel."
            ),
            Action::MakeRedundantPeersAnchors => {
                format!("Make {nodes} {} of the channel.", anchor_peers(&self.nodes))
            }
            Action::ExportPeers => format!("Export {nodes} and import them into cluster 1's console."),
            Action::ImportAllPeersEverywhere if self.nodes.is_empty() => {
                "Import every peer: this console already lists them all.".to_string()
            }
            Action::ImportAllPeersEverywhere => format!("Import {nodes}."),
        }
    }
}

fn anchor_peers(nodes: &[String]) -> &'static str {
    if nodes.len() == 1 {
        "an anchor peer"
    } else {
        "anchor peers"
    }
}

impl fmt::Display for Plan {
    /// The plan as a person reads a runbook: by section, then by region and performer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.runbook {
            Runbook::Documented => "documented: every step through the region's console",
            Runbook::Prebuilt => {
                "prebuilt: the substrate builds the network these steps end with directly"
            }
        };
        writeln!(f, "Runbook of scenario {} ({how})", self.scenario)?;
        let mut section: Option<(&str, Option<&str>)> = None;
        let mut group: Option<(String, String)> = None;
        for step in &self.steps {
            let info = step.action.info();
            let this_section = (info.doc.section, step.msp_id.as_deref());
            if section != Some(this_section) {
                section = Some(this_section);
                group = None;
                let title = runbook::section_title(info.doc.section).unwrap_or(info.doc.section);
                let title = if info.doc.section == SECTIONS[2].0 {
                    "Provisioning (the doc's configuration steps), by hadr's substrate"
                } else {
                    title
                };
                writeln!(f)?;
                match (&step.msp_id, info.performer) {
                    (Some(msp), _) => writeln!(f, "{msp}: {title}")?,
                    (None, Performer::EveryConsole) => {
                        writeln!(f, "Every organization's peers into every console: {title}")?
                    }
                    (None, _) => writeln!(f, "{title}")?,
                }
                writeln!(f, "  doc: #{}", info.doc.section)?;
            }
            let who = match (&step.console, info.performer) {
                (None, _) => step.region.clone(),
                (Some(console), Performer::OrderingServiceAdmin) => {
                    format!("{}, the ordering service admin on {console}", step.region)
                }
                (Some(console), _) => format!("{}, on {console}", step.region),
            };
            let this_group = (step.region.clone(), who.clone());
            if group.as_ref() != Some(&this_group) {
                group = Some(this_group);
                writeln!(f, "  {who}")?;
            }
            let mut line = format!("{:>5}. {}: {}", step.number, info.name, step.describe());
            match &step.status {
                StepStatus::Run => {}
                StepStatus::Recreated => line.push_str(" [recreated: procedure.recreate]"),
                StepStatus::Skipped { reason } => {
                    let _ = write!(line, " [skipped: {reason}]");
                }
            }
            writeln!(f, "    {line}")?;
            let mut reference = match info.doc.step {
                Some(n) => format!("step {n} of #{}", info.doc.section),
                None => format!("#{}", info.doc.section),
            };
            if let Some(link) = info.link {
                let _ = write!(reference, ", #{link}");
            }
            writeln!(f, "           doc: {reference}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn statuses(plan: &Plan, action: Action) -> Vec<&StepStatus> {
        plan.steps
            .iter()
            .filter(|s| s.action == action)
            .map(|s| &s.status)
            .collect()
    }

    #[test]
    fn the_example_plan_runs_every_step_in_doc_order_per_organization() {
        let plan = plan(&scenario::example());
        assert!(plan.steps.iter().all(|s| s.status == StepStatus::Run));
        // 3 clusters + 3 consoles + ordering, then per org: 11 + 3 + 2 x (4 + 5) + 2 exports,
        // then 3 imports everywhere.
        assert_eq!(plan.steps.len(), 7 + 2 * (11 + 3 + 18 + 2) + 3);
        let numbers: Vec<usize> = plan.steps.iter().map(|s| s.number).collect();
        assert_eq!(numbers, (1..=plan.steps.len()).collect::<Vec<_>>());
        let org2_ca = plan
            .steps
            .iter()
            .find(|s| s.action == Action::DeployCa && s.msp_id.as_deref() == Some("Org2MSP"))
            .unwrap();
        assert_eq!(org2_ca.region, "us-west");
        assert_eq!(org2_ca.console.as_deref(), Some("console.us-west"));
        let consortium = plan
            .steps
            .iter()
            .find(|s| {
                s.action == Action::AddOrgToConsortium && s.msp_id.as_deref() == Some("Org2MSP")
            })
            .unwrap();
        assert_eq!(consortium.region, "us-east", "the ordering admin's region");
        let deliveries: Vec<(&str, &str, Option<&str>)> = plan
            .steps
            .iter()
            .filter(|s| s.delivers_to.is_some() && s.msp_id.as_deref() == Some("Org2MSP"))
            .map(|s| (s.action.name(), s.region.as_str(), s.delivers_to.as_deref()))
            .collect();
        assert_eq!(
            deliveries,
            [
                (
                    "export-msp-to-ordering-admin",
                    "us-west",
                    Some("console.us-east")
                ),
                ("export-peers", "us-east", Some("console.us-west")),
                ("export-peers", "ca-central", Some("console.us-west")),
            ]
        );
    }

    #[test]
    fn every_console_ends_up_listing_every_peer() {
        let plan = plan(&scenario::example());
        let imports: Vec<(&str, Vec<&str>)> = plan
            .steps
            .iter()
            .filter(|s| s.action == Action::ImportAllPeersEverywhere)
            .map(|s| {
                (
                    s.region.as_str(),
                    s.nodes.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        // Each console lists the peers created in its region, and a home console also the
        // redundant peers of its organization (export-peers); it imports the rest.
        assert_eq!(
            imports,
            [
                (
                    "us-east",
                    vec!["peer0.org2.us-west", "peer0.org2.ca-central"]
                ),
                (
                    "us-west",
                    vec!["peer0.org1.us-east", "peer0.org1.ca-central"]
                ),
                (
                    "ca-central",
                    vec![
                        "peer0.org1.us-east",
                        "peer0.org1.us-west",
                        "peer0.org2.us-west",
                        "peer0.org2.us-east"
                    ]
                ),
            ]
        );
    }

    #[test]
    fn skip_recreate_and_options_mark_steps_without_removing_them() {
        let mut scenario = scenario::example();
        scenario.procedure.skip = vec![
            "ibp-console-hadr-export-meta1".into(),
            "join-channel".into(),
        ];
        scenario.procedure.recreate = vec!["import-ca".into()];
        scenario.procedure.import_all_peers_everywhere = false;
        scenario.procedure.anchor_peers = AnchorPeers::OnePerOrg;
        let full = plan(&scenario::example());
        let plan = plan(&scenario);
        assert_eq!(plan.steps.len(), full.steps.len());
        let skipped_by = |entry: &str| StepStatus::Skipped {
            reason: format!("procedure.skip names `{entry}`"),
        };
        for status in statuses(&plan, Action::ExportMsp) {
            assert_eq!(*status, skipped_by("ibp-console-hadr-export-meta1"));
        }
        for status in statuses(&plan, Action::JoinChannel) {
            assert_eq!(*status, skipped_by("join-channel"));
        }
        assert!(statuses(&plan, Action::ImportCa)
            .iter()
            .all(|s| **s == StepStatus::Recreated));
        let recreated_ca = plan
            .steps
            .iter()
            .find(|s| s.action == Action::CreateRedundantPeer)
            .unwrap();
        assert_eq!(recreated_ca.ca.as_deref(), Some("ca.org1.us-west"));
        assert!(statuses(&plan, Action::MakeRedundantPeersAnchors)
            .iter()
            .all(|s| is_skipped(s)));
        assert!(statuses(&plan, Action::ImportAllPeersEverywhere)
            .iter()
            .all(|s| is_skipped(s)));
        let anchors = plan
            .steps
            .iter()
            .find(|s| s.action == Action::SetAnchorPeers)
            .unwrap();
        assert_eq!(anchors.nodes, ["peer0.org1.us-east"]);
    }
}
