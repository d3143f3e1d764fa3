//! The documented procedure as typed actions, each tied to the place in the published doc it
//! implements: the section anchor (`{: #ibp-console-hadr-...}`), the step's position in that
//! section (its n-th list item or linked paragraph, counted the same in every translation),
//! and the anchor of the tutorial the step links to, when it links one.

use serde::Serialize;
use std::fmt;

pub const SECTION_MULTI_REGION: &str = "ibp-console-hadr-mr";
pub const SECTION_OVERVIEW: &str = "ibp-console-hadr-overview";
pub const SECTION_CONFIG: &str = "ibp-console-hadr-config";
pub const SECTION_PEER_CA: &str = "ibp-console-hadr-peerCA";
pub const SECTION_EXPORT: &str = "ibp-console-hadr-export-meta1";
pub const SECTION_IMPORT: &str = "ibp-console-hadr-import-meta23";
pub const SECTION_NEW_PEERS: &str = "ibp-console-hadr-create-new-peers";

/// The doc's sections in order, with an English title for runbook output.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        SECTION_MULTI_REGION,
        "Setting up multi-region HA deployments",
    ),
    (SECTION_OVERVIEW, "Overview"),
    (SECTION_CONFIG, "Configuration steps: clusters and consoles"),
    (
        SECTION_PEER_CA,
        "Step 1: create the peer organization's CA and metadata in cluster 1",
    ),
    (
        SECTION_EXPORT,
        "Step 2: export the metadata and identities from cluster 1",
    ),
    (
        SECTION_IMPORT,
        "Step 3: import the metadata and identities into clusters 2 and 3",
    ),
    (
        SECTION_NEW_PEERS,
        "Step 4: create new peers in clusters 2 and 3 and join the channel",
    ),
];

/// The title of a section anchor, if it is one of the doc's.
pub fn section_title(anchor: &str) -> Option<&'static str> {
    SECTIONS
        .iter()
        .find(|(a, _)| *a == anchor)
        .map(|(_, title)| *title)
}

/// Who performs an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Performer {
    /// hadr's substrate (sim, containers or kind): what the doc asks of the cloud account.
    Substrate,
    /// The organization's console in its home region (the doc's cluster 1).
    HomeConsole,
    /// The ordering service admin, through the console of the first ordering node's region.
    OrderingServiceAdmin,
    /// The console of each other region the organization spans (the doc's clusters 2 and 3).
    RegionConsole,
    /// Every region's console.
    EveryConsole,
}

impl fmt::Display for Performer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Performer::Substrate => "hadr's substrate",
            Performer::HomeConsole => "the organization's console in cluster 1",
            Performer::OrderingServiceAdmin => "the ordering service admin",
            Performer::RegionConsole => "the organization's consoles in clusters 2 and 3",
            Performer::EveryConsole => "every console",
        })
    }
}

/// A place in the doc: a section, and optionally the n-th step in it (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DocRef {
    pub section: &'static str,
    pub step: Option<usize>,
}

/// What the runbook knows about an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ActionInfo {
    /// Stable kebab-case name, used in `procedure.skip`, reports and history.
    pub name: &'static str,
    /// The section and step it implements.
    pub doc: DocRef,
    /// The anchor of the tutorial section the step links to, if it links one.
    pub link: Option<&'static str>,
    pub performer: Performer,
    /// What the step asks, in a sentence.
    pub summary: &'static str,
    /// Other places in the doc that describe the same action (the overview's summary, the
    /// introduction).
    pub also_covers: &'static [DocRef],
}

/// One action of the runbook, in doc order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    ProvisionClusters,
    DeployConsoles,
    CreateOrderingService,
    DeployCa,
    RegisterIdentities,
    CreateMsp,
    CreatePeer,
    InstallChaincode,
    ExportMspToOrderingAdmin,
    AddOrgToConsortium,
    ImportOrderingService,
    JoinChannel,
    SetAnchorPeers,
    InstantiateChaincode,
    ExportCa,
    ExportMsp,
    ExportAdminIdentity,
    ImportCa,
    AssociateCaAdmin,
    ImportMsp,
    ImportAdminIdentity,
    RegisterRedundantPeer,
    CreateRedundantPeer,
    JoinRedundantPeer,
    InstallChaincodeRedundant,
    MakeRedundantPeersAnchors,
    ExportPeers,
    ImportAllPeersEverywhere,
}

const fn at(section: &'static str, step: usize) -> DocRef {
    DocRef {
        section,
        step: Some(step),
    }
}

const fn whole(section: &'static str) -> DocRef {
    DocRef {
        section,
        step: None,
    }
}

// The introduction and the overview summarise what later steps do.
const COVERS_INTRODUCTION: &[DocRef] = &[whole(SECTION_MULTI_REGION)];
const COVERS_OVERVIEW_1: &[DocRef] = &[at(SECTION_OVERVIEW, 1)];
const COVERS_OVERVIEW_2: &[DocRef] = &[at(SECTION_OVERVIEW, 2)];
const COVERS_OVERVIEW_3: &[DocRef] = &[at(SECTION_OVERVIEW, 3)];

impl Action {
    /// Every action, in the order of the doc.
    pub const ALL: &'static [Action] = &[
        Action::ProvisionClusters,
        Action::DeployConsoles,
        Action::CreateOrderingService,
        Action::DeployCa,
        Action::RegisterIdentities,
        Action::CreateMsp,
        Action::CreatePeer,
        Action::InstallChaincode,
        Action::ExportMspToOrderingAdmin,
        Action::AddOrgToConsortium,
        Action::ImportOrderingService,
        Action::JoinChannel,
        Action::SetAnchorPeers,
        Action::InstantiateChaincode,
        Action::ExportCa,
        Action::ExportMsp,
        Action::ExportAdminIdentity,
        Action::ImportCa,
        Action::AssociateCaAdmin,
        Action::ImportMsp,
        Action::ImportAdminIdentity,
        Action::RegisterRedundantPeer,
        Action::CreateRedundantPeer,
        Action::JoinRedundantPeer,
        Action::InstallChaincodeRedundant,
        Action::MakeRedundantPeersAnchors,
        Action::ExportPeers,
        Action::ImportAllPeersEverywhere,
    ];

    /// The actions `procedure.recreate` may name: the imports of cluster 1's CA, MSP and admin
    /// identity, which a mutated procedure recreates in clusters 2 and 3 instead.
    pub const RECREATABLE: &'static [Action] = &[
        Action::ImportCa,
        Action::ImportMsp,
        Action::ImportAdminIdentity,
    ];

    pub fn info(self) -> ActionInfo {
        use Performer::*;
        let (name, doc, link, performer, summary, also_covers): (_, _, _, _, _, &'static [DocRef]) =
            match self {
                Action::ProvisionClusters => (
                    "provision-clusters",
                    at(SECTION_CONFIG, 1),
                    None,
                    Substrate,
                    "Create one Kubernetes cluster per region.",
                    COVERS_INTRODUCTION,
                ),
                Action::DeployConsoles => (
                    "deploy-consoles",
                    at(SECTION_CONFIG, 2),
                    None,
                    Substrate,
                    "Deploy a console in each cluster, linked to it.",
                    COVERS_OVERVIEW_1,
                ),
                Action::CreateOrderingService => (
                    "create-ordering-service",
                    whole(SECTION_CONFIG),
                    None,
                    Substrate,
                    "Provide what the tutorial assumes: an ordering service with a channel peers can join.",
                    &[],
                ),
                Action::DeployCa => (
                    "deploy-ca",
                    at(SECTION_PEER_CA, 1),
                    Some("ibp-console-build-network-create-CA-org1CA"),
                    HomeConsole,
                    "Deploy the organization's CA in cluster 1 and keep its enroll ID and secret.",
                    &[],
                ),
                Action::RegisterIdentities => (
                    "register-identities",
                    at(SECTION_PEER_CA, 2),
                    Some("ibp-console-build-network-use-CA-org1"),
                    HomeConsole,
                    "Register the peer identity and the organization admin with the CA.",
                    &[],
                ),
                Action::CreateMsp => (
                    "create-msp",
                    at(SECTION_PEER_CA, 3),
                    Some("ibp-console-build-network-create-peers-org1"),
                    HomeConsole,
                    "Create the organization's MSP definition.",
                    &[],
                ),
                Action::CreatePeer => (
                    "create-peer",
                    at(SECTION_PEER_CA, 4),
                    Some("ibp-console-build-network-peer-create"),
                    HomeConsole,
                    "Create the peer in cluster 1.",
                    &[],
                ),
                Action::InstallChaincode => (
                    "install-chaincode",
                    at(SECTION_PEER_CA, 5),
                    Some("ibp-console-smart-contracts-install"),
                    HomeConsole,
                    "Install the smart contract on the peer.",
                    &[],
                ),
                Action::ExportMspToOrderingAdmin => (
                    "export-msp-to-ordering-admin",
                    at(SECTION_PEER_CA, 6),
                    Some("ibp-console-join-network-add-org2-remote"),
                    HomeConsole,
                    "Export the organization's MSP definition and share it with the ordering service admin.",
                    &[],
                ),
                Action::AddOrgToConsortium => (
                    "add-org-to-consortium",
                    at(SECTION_PEER_CA, 7),
                    Some("ibp-console-join-network-import-remote-msp"),
                    OrderingServiceAdmin,
                    "Import the organization's MSP, add it to the consortium and the channel, and export the ordering service JSON.",
                    &[],
                ),
                Action::ImportOrderingService => (
                    "import-ordering-service",
                    at(SECTION_PEER_CA, 8),
                    Some("ibp-console-join-network-import-remote-orderer"),
                    HomeConsole,
                    "Import the ordering service JSON into the console.",
                    &[],
                ),
                Action::JoinChannel => (
                    "join-channel",
                    at(SECTION_PEER_CA, 9),
                    Some("ibp-console-join-network-join-peer-org2"),
                    HomeConsole,
                    "Join the peer to the channel.",
                    &[],
                ),
                // The doc says the ordering service admin does this; Fabric's default policy
                // for an organization's AnchorPeers value is that organization's Admins
                // (hyperledger/fabric internal/configtxgen/encoder/encoder.go,
                // NewApplicationOrgGroup), so hadr performs it with the org admin identity.
                Action::SetAnchorPeers => (
                    "set-anchor-peers",
                    at(SECTION_PEER_CA, 10),
                    Some("ibp-console-govern-channels-anchor-peers"),
                    HomeConsole,
                    "Make the peer an anchor peer on the channel.",
                    &[],
                ),
                // The published link of this step points at the join-peer anchor (a defect
                // `hadr procedure check` reports), so the action carries no link of its own.
                Action::InstantiateChaincode => (
                    "instantiate-chaincode",
                    at(SECTION_PEER_CA, 11),
                    None,
                    HomeConsole,
                    "Instantiate (approve and commit) the smart contract on the channel.",
                    &[],
                ),
                Action::ExportCa => (
                    "export-ca",
                    at(SECTION_EXPORT, 1),
                    None,
                    HomeConsole,
                    "Export the CA definition to a JSON file.",
                    &[],
                ),
                Action::ExportMsp => (
                    "export-msp",
                    at(SECTION_EXPORT, 2),
                    None,
                    HomeConsole,
                    "Export the organization's MSP definition to a JSON file.",
                    &[],
                ),
                Action::ExportAdminIdentity => (
                    "export-admin-identity",
                    at(SECTION_EXPORT, 3),
                    None,
                    HomeConsole,
                    "Export the organization admin identity from the wallet.",
                    &[],
                ),
                Action::ImportCa => (
                    "import-ca",
                    at(SECTION_IMPORT, 1),
                    Some("ibp-console-import-ca"),
                    RegionConsole,
                    "Import the CA JSON exported from cluster 1.",
                    &[],
                ),
                Action::AssociateCaAdmin => (
                    "associate-ca-admin",
                    at(SECTION_IMPORT, 2),
                    None,
                    RegionConsole,
                    "Give the enroll ID and secret of the CA admin and the TLS CA admin used in cluster 1.",
                    &[],
                ),
                Action::ImportMsp => (
                    "import-msp",
                    at(SECTION_IMPORT, 3),
                    None,
                    RegionConsole,
                    "Import the MSP definition JSON, declaring an admin identity for it.",
                    &[],
                ),
                Action::ImportAdminIdentity => (
                    "import-admin-identity",
                    at(SECTION_IMPORT, 4),
                    None,
                    RegionConsole,
                    "Import the organization admin identity JSON into the console's wallet.",
                    &[],
                ),
                Action::RegisterRedundantPeer => (
                    "register-redundant-peer",
                    at(SECTION_NEW_PEERS, 1),
                    None,
                    RegionConsole,
                    "Register a new peer identity with the imported CA (not a new admin).",
                    &[],
                ),
                Action::CreateRedundantPeer => (
                    "create-redundant-peer",
                    at(SECTION_NEW_PEERS, 2),
                    None,
                    RegionConsole,
                    "Create the redundant peers with the imported CA and MSP.",
                    COVERS_OVERVIEW_2,
                ),
                Action::JoinRedundantPeer => (
                    "join-redundant-peer",
                    at(SECTION_NEW_PEERS, 3),
                    None,
                    RegionConsole,
                    "Repeat the join steps: import the ordering service JSON and join the redundant peers to the channel.",
                    &[],
                ),
                Action::InstallChaincodeRedundant => (
                    "install-chaincode-redundant",
                    at(SECTION_NEW_PEERS, 4),
                    None,
                    RegionConsole,
                    "Install the smart contract on the redundant peers; the ledger then syncs.",
                    &[],
                ),
                Action::MakeRedundantPeersAnchors => (
                    "make-redundant-peers-anchors",
                    at(SECTION_NEW_PEERS, 5),
                    None,
                    RegionConsole,
                    "Make every redundant peer an anchor peer.",
                    &[],
                ),
                Action::ExportPeers => (
                    "export-peers",
                    at(SECTION_NEW_PEERS, 6),
                    None,
                    RegionConsole,
                    "Export the peers created in clusters 2 and 3 and import them into cluster 1's console.",
                    &[],
                ),
                Action::ImportAllPeersEverywhere => (
                    "import-all-peers-everywhere",
                    at(SECTION_NEW_PEERS, 7),
                    None,
                    EveryConsole,
                    "Import every peer into every console, so any surviving console manages them all.",
                    COVERS_OVERVIEW_3,
                ),
            };
        ActionInfo {
            name,
            doc,
            link,
            performer,
            summary,
            also_covers,
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The action with this kebab-case name.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Every place in the doc the action stands for: its own step first.
    pub fn doc_refs(self) -> impl Iterator<Item = DocRef> {
        let info = self.info();
        std::iter::once(info.doc).chain(info.also_covers.iter().copied())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The actions a `procedure.skip` entry stands for: an action name, a section anchor (all of
/// its actions) or a link anchor (the action that links it). None when it names nothing.
pub fn resolve(reference: &str) -> Option<Vec<Action>> {
    if let Some(action) = Action::from_name(reference) {
        return Some(vec![action]);
    }
    let matching: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|a| {
            let info = a.info();
            info.doc.section == reference || info.link == Some(reference)
        })
        .collect();
    (!matching.is_empty()).then_some(matching)
}

/// Every name `resolve` accepts: action names, then section and link anchors.
pub fn reference_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Action::ALL.iter().map(|a| a.name()).collect();
    names.extend(SECTIONS.iter().map(|(anchor, _)| *anchor));
    names.extend(Action::ALL.iter().filter_map(|a| a.info().link));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        let mut seen = BTreeSet::new();
        for action in Action::ALL {
            let name = action.name();
            assert!(seen.insert(name), "duplicate {name}");
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            assert_eq!(Action::from_name(name), Some(*action));
            let json = serde_json::to_string(action).unwrap();
            assert_eq!(json, format!("\"{name}\""));
        }
    }

    #[test]
    fn every_doc_step_has_exactly_one_action() {
        let mut steps = BTreeSet::new();
        for action in Action::ALL {
            let doc = action.info().doc;
            if doc.step.is_some() {
                assert!(
                    steps.insert((doc.section, doc.step)),
                    "{action} shares a step"
                );
            }
        }
        // The published doc's shape: steps per section.
        for (section, count) in [
            (SECTION_CONFIG, 2),
            (SECTION_PEER_CA, 11),
            (SECTION_EXPORT, 3),
            (SECTION_IMPORT, 4),
            (SECTION_NEW_PEERS, 7),
        ] {
            for step in 1..=count {
                assert!(steps.contains(&(section, Some(step))), "{section} {step}");
            }
        }
    }

    #[test]
    fn skip_references_resolve_by_name_section_and_link() {
        assert_eq!(resolve("import-ca"), Some(vec![Action::ImportCa]));
        assert_eq!(
            resolve("ibp-console-govern-channels-anchor-peers"),
            Some(vec![Action::SetAnchorPeers])
        );
        assert_eq!(
            resolve(SECTION_EXPORT),
            Some(vec![
                Action::ExportCa,
                Action::ExportMsp,
                Action::ExportAdminIdentity
            ])
        );
        assert_eq!(resolve("import-everything"), None);
        assert!(reference_names().contains(&"ibp-console-import-ca"));
    }
}
