//! The nodes a scenario's network consists of, and their names.
//!
//! Names read like Fabric host names with the region last (`peer0.org1.us-east`), so a
//! region's nodes are the names ending in `.<region>`, on every substrate.

use super::model::{OrderingService, Runbook, Scenario, TargetRole};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Console,
    CertificateAuthority,
    Orderer,
    Peer,
    Client,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeSpec {
    pub name: String,
    pub region: String,
    pub role: Role,
    /// The organization the node belongs to (the ordering service's MSP for orderers).
    pub msp_id: Option<String>,
}

/// `Org1MSP` -> `org1`: the short organization name used in node names.
pub fn org_short_name(msp_id: &str) -> String {
    let lower = msp_id.to_ascii_lowercase();
    lower
        .strip_suffix("msp")
        .filter(|s| !s.is_empty())
        .unwrap_or(&lower)
        .to_string()
}

pub fn peer_name(msp_id: &str, index: u32, region: &str) -> String {
    format!("peer{index}.{}.{region}", org_short_name(msp_id))
}

pub fn ca_name(msp_id: &str, region: &str) -> String {
    format!("ca.{}.{region}", org_short_name(msp_id))
}

pub fn orderer_name(index: usize, region: &str) -> String {
    format!("orderer{index}.{region}")
}

/// The ordering service's host names, in consenter order.
pub fn orderer_names(ordering: &OrderingService) -> Vec<String> {
    ordering
        .nodes
        .iter()
        .enumerate()
        .map(|(index, region)| orderer_name(index, region))
        .collect()
}

pub fn console_name(region: &str) -> String {
    format!("console.{region}")
}

pub fn client_name(region: &str) -> String {
    format!("client.{region}")
}

/// The region a node name belongs to (the part after the last dot).
pub fn region_of(node: &str) -> &str {
    node.rsplit('.').next().unwrap_or(node)
}

impl Scenario {
    /// How many nodes [`Scenario::layout`] has, computed without building it (validation
    /// checks the simulator's limit before anything is allocated). Saturates.
    pub fn node_count(&self) -> usize {
        let topology = &self.topology;
        let consoles = if self.procedure.runbook == Runbook::Documented {
            topology.regions.len()
        } else {
            0
        };
        let recreates_ca = self.procedure.recreate.iter().any(|a| a == "import-ca");
        let cas: usize = topology
            .organizations
            .iter()
            .map(|o| if recreates_ca { o.regions.len() } else { 1 })
            .fold(0, usize::saturating_add);
        let peers: usize = topology
            .organizations
            .iter()
            .map(|o| o.regions.len().saturating_mul(o.peers_per_region as usize))
            .fold(0, usize::saturating_add);
        [
            consoles,
            cas,
            topology.ordering_service.nodes.len(),
            peers,
            self.workload.clients.len(),
        ]
        .into_iter()
        .fold(0, usize::saturating_add)
    }

    /// Every node of the network, consoles first (a prebuilt network has none), in a stable
    /// order.
    pub fn layout(&self) -> Vec<NodeSpec> {
        let topology = &self.topology;
        let mut nodes = Vec::new();
        let consoles = if self.procedure.runbook == Runbook::Documented {
            &topology.regions[..]
        } else {
            &[]
        };
        for region in consoles {
            nodes.push(NodeSpec {
                name: console_name(&region.name),
                region: region.name.clone(),
                role: Role::Console,
                msp_id: None,
            });
        }
        // The procedure's CAs are not multi-region: one per organization, in its home. A
        // procedure mutated to recreate the CA (`recreate: [import-ca]`) deploys one more in
        // each other region the organization spans.
        let recreates_ca = self.procedure.recreate.iter().any(|a| a == "import-ca");
        for org in &topology.organizations {
            let ca_regions = if recreates_ca {
                &org.regions[..]
            } else {
                std::slice::from_ref(&org.home)
            };
            for region in ca_regions {
                nodes.push(NodeSpec {
                    name: ca_name(&org.msp_id, region),
                    region: region.clone(),
                    role: Role::CertificateAuthority,
                    msp_id: Some(org.msp_id.clone()),
                });
            }
        }
        for (index, region) in topology.ordering_service.nodes.iter().enumerate() {
            nodes.push(NodeSpec {
                name: orderer_name(index, region),
                region: region.clone(),
                role: Role::Orderer,
                msp_id: Some(topology.ordering_service.msp_id.clone()),
            });
        }
        for org in &topology.organizations {
            for region in &org.regions {
                for index in 0..org.peers_per_region {
                    nodes.push(NodeSpec {
                        name: peer_name(&org.msp_id, index, region),
                        region: region.clone(),
                        role: Role::Peer,
                        msp_id: Some(org.msp_id.clone()),
                    });
                }
            }
        }
        for region in &self.workload.clients {
            nodes.push(NodeSpec {
                name: client_name(region),
                region: region.clone(),
                role: Role::Client,
                msp_id: self
                    .topology
                    .organizations
                    .first()
                    .map(|o| o.msp_id.clone()),
            });
        }
        nodes
    }

    /// The nodes a fault target may stand for: the named node, or every node that may hold
    /// the role (the ordering nodes; the client's gateway peers, as listed or its
    /// organization's). A region is no node, so a region name stands for none.
    pub fn may_hold(&self, target: &str) -> Vec<String> {
        let layout = self.layout();
        let client_msp = self.topology.organizations.first().map(|o| &o.msp_id);
        let holds = |n: &NodeSpec| match TargetRole::parse(target) {
            None => n.name == target,
            Some(TargetRole::RaftLeader) => n.role == Role::Orderer,
            Some(TargetRole::GatewayPeer) if self.workload.gateway.peers.is_empty() => {
                n.role == Role::Peer && n.msp_id.as_ref() == client_msp
            }
            Some(TargetRole::GatewayPeer) => self.workload.gateway.peers.contains(&n.name),
        };
        layout.into_iter().filter(holds).map(|n| n.name).collect()
    }

    /// Names of the nodes in `region`.
    pub fn nodes_in_region(&self, region: &str) -> Vec<String> {
        self.layout()
            .into_iter()
            .filter(|n| n.region == region)
            .map(|n| n.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_put_the_region_last() {
        assert_eq!(peer_name("Org1MSP", 0, "us-east"), "peer0.org1.us-east");
        assert_eq!(ca_name("Org2MSP", "us-west"), "ca.org2.us-west");
        assert_eq!(region_of("peer0.org1.us-east"), "us-east");
        assert_eq!(org_short_name("MSP"), "msp");
    }

    #[test]
    fn a_recreated_ca_adds_one_ca_per_other_region() {
        let mut scenario = crate::scenario::example();
        let cas = |s: &Scenario| -> Vec<String> {
            s.layout()
                .into_iter()
                .filter(|n| n.role == Role::CertificateAuthority)
                .map(|n| n.name)
                .collect()
        };
        assert_eq!(cas(&scenario), ["ca.org1.us-east", "ca.org2.us-west"]);
        scenario.procedure.recreate = vec!["import-ca".to_string()];
        assert_eq!(
            cas(&scenario),
            [
                "ca.org1.us-east",
                "ca.org1.us-west",
                "ca.org1.ca-central",
                "ca.org2.us-west",
                "ca.org2.us-east",
                "ca.org2.ca-central"
            ]
        );
        assert_eq!(scenario.node_count(), scenario.layout().len());
    }

    #[test]
    fn the_node_count_matches_the_layout_and_a_prebuilt_network_has_no_console() {
        let mut scenario = crate::scenario::example();
        assert_eq!(scenario.node_count(), scenario.layout().len());
        scenario.procedure.runbook = Runbook::Prebuilt;
        assert_eq!(scenario.node_count(), scenario.layout().len());
        // One client per region listed (the count once assumed a single client).
        scenario.workload.clients = vec!["us-east".into(), "us-west".into(), "ca-central".into()];
        assert_eq!(scenario.node_count(), scenario.layout().len());
        assert!(scenario.layout().iter().all(|n| n.role != Role::Console));
        scenario.topology.organizations[0].peers_per_region = u32::MAX;
        assert!(scenario.node_count() > 1_000_000);
    }
}
