//! The running network as the runner knows it: every node's records (as a console would
//! list them: URLs, MSP) and the identities the harness acts with.

use crate::console::api::{Component, ComponentType};
use crate::fabric::crypto::SigningIdentity;
use crate::node::wire::{
    CA_OPERATIONS_PORT, CA_PORT, GRPC_WEB_PORT, ORDERER_OPERATIONS_PORT, ORDERER_PORT,
    PEER_OPERATIONS_PORT, PEER_PORT,
};
use crate::scenario::layout::region_of;
use std::collections::BTreeMap;

/// One peer of the network.
#[derive(Clone)]
pub struct PeerRecord {
    pub name: String,
    pub msp_id: String,
    pub component: Component,
}

/// What the runner acts and observes with.
pub struct Network {
    pub channel_id: String,
    pub chaincode: String,
    pub peers: Vec<PeerRecord>,
    pub orderers: Vec<Component>,
    pub cas: Vec<Component>,
    /// Per organization: the identity the harness observes that org's peers with (a peer
    /// answers `peer channel getinfo` only to identities of its own MSP).
    pub observers: BTreeMap<String, SigningIdentity>,
    /// Per organization: the client application's identity.
    pub clients: BTreeMap<String, SigningIdentity>,
    /// Per organization: its admin.
    pub admins: BTreeMap<String, SigningIdentity>,
}

impl Network {
    pub fn peer_endpoints(&self, msp_id: &str) -> Vec<String> {
        self.peers
            .iter()
            .filter(|p| p.msp_id == msp_id)
            .map(|p| format!("{}:{PEER_PORT}", p.name))
            .collect()
    }

    pub fn orderer_endpoints(&self) -> Vec<String> {
        self.orderers
            .iter()
            .map(|o| format!("{}:{ORDERER_PORT}", o.display_name))
            .collect()
    }
}

/// The record a console lists for a node hadr runs, with its URLs.
pub fn component(name: &str, component_type: ComponentType, msp_id: Option<&str>) -> Component {
    let mut component = Component::new(name, component_type, name);
    component.region = Some(region_of(name).to_string());
    component.msp_id = msp_id.map(str::to_string);
    match component_type {
        ComponentType::Peer => {
            component.grpcwp_url = Some(format!("http://{name}:{GRPC_WEB_PORT}"));
            component.operations_url = Some(format!("http://{name}:{PEER_OPERATIONS_PORT}"));
            component.api_url = Some(format!("grpcs://{name}:{PEER_PORT}"));
        }
        ComponentType::Orderer => {
            component.grpcwp_url = Some(format!("http://{name}:{GRPC_WEB_PORT}"));
            component.operations_url = Some(format!("http://{name}:{ORDERER_OPERATIONS_PORT}"));
            component.api_url = Some(format!("grpcs://{name}:{ORDERER_PORT}"));
        }
        ComponentType::Ca => {
            component.api_url = Some(format!("http://{name}:{CA_PORT}"));
            component.operations_url = Some(format!("http://{name}:{CA_OPERATIONS_PORT}"));
        }
        ComponentType::Msp => {}
    }
    component
}
