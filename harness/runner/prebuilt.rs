//! The network a scenario describes, built directly by the substrate (`procedure: {runbook:
//! prebuilt}`): ordering nodes, each organization's CA, and peers that have joined the
//! channel and installed the chaincode. The chaincode definition is then approved and
//! committed over the network through the peers' admin channel, as the procedure's last
//! step in cluster 1 would.

use super::material::Material;
use super::network::{component, Network, PeerRecord};
use crate::console::api::{Component, ComponentType};
use crate::console::peer_admin::{GrpcWebPeerAdmin, PeerAdmin};
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::invocation::Invocation;
use crate::fabric::orderer::node::campaigner_by_channel_name;
use crate::fabric::peer_state::{PeerDisk, PeerState};
use crate::fabric::txbuild::signed_proposal;
use crate::fabric::types::MspDefinition;
use crate::net::http::HttpClient;
use crate::node::spec::{CaSpec, NodeSpec, OrdererSpec, PeerSpec, Role};
use crate::scenario::model::FirstLeader;
use crate::scenario::model::Scenario;
use crate::substrate::world::{Change, World};
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// How long the ordering service may take to elect its first leader and accept the
/// chaincode definition.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn build(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    rng: &mut ChaCha8Rng,
) -> Result<Network, String> {
    let material = Material::prebuilt(scenario, rng)?;
    let clock = world.clock();
    let channel_id = scenario.topology.channel.name.clone();

    let orderers = launch_ordering_service(world, scenario, &material, rng).await?;

    let mut cas = Vec::new();
    let mut peers = Vec::new();
    let (mut observers, mut clients, mut admins) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (msp_id, org) in &material.orgs {
        world
            .apply(Change::Start(Box::new(NodeSpec {
                name: org.ca_host.clone(),
                role: Role::Ca(Box::new(CaSpec {
                    state: org.ca.state(),
                })),
            })))
            .await?;
        cas.push(component(&org.ca_host, ComponentType::Ca, Some(msp_id)));
        for (name, identity) in &org.peers {
            let mut state =
                PeerState::new(identity.clone(), &org.msp).map_err(|e| e.to_string())?;
            for invocation in [
                Invocation::JoinChain {
                    genesis_block: Box::new(material.genesis.clone()),
                },
                Invocation::InstallChaincode {
                    name: scenario.topology.channel.chaincode.name.clone(),
                    version: scenario.topology.channel.chaincode.version.clone(),
                },
            ] {
                let proposal = signed_proposal(&org.admin, "", &invocation, clock.now(), rng);
                let response = state.process_proposal(&proposal.signed);
                if response.response.status != 200 {
                    return Err(format!("{name}: {}", response.response.message));
                }
            }
            let spec = peer_spec(
                scenario,
                name,
                identity,
                &org.msp,
                rng.next_u64(),
                state.into_disk(),
            );
            world.apply(Change::Start(Box::new(spec))).await?;
            peers.push(PeerRecord {
                name: name.clone(),
                msp_id: msp_id.clone(),
                component: component(name, ComponentType::Peer, Some(msp_id)),
            });
        }
        observers.insert(msp_id.clone(), org.client.clone());
        clients.insert(msp_id.clone(), org.client.clone());
        admins.insert(msp_id.clone(), org.admin.clone());
    }
    let network = Network {
        channel_id,
        chaincode: scenario.topology.channel.chaincode.name.clone(),
        peers,
        orderers,
        cas,
        observers,
        clients,
        admins,
    };
    define_chaincode(world, scenario, &network, rng.next_u64()).await?;
    Ok(network)
}

/// Starts the ordering service's nodes from `material` and answers their records.
pub async fn launch_ordering_service(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    material: &Material,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Component>, String> {
    let fabric = &scenario.topology.fabric;
    let cluster_size = material.ordering.nodes.len() as u64;
    let first_campaigner = match scenario.topology.ordering_service.first_leader {
        FirstLeader::Seeded => 1 + rng.next_u64() % cluster_size.max(1),
        FirstLeader::ChannelName => {
            campaigner_by_channel_name(&scenario.topology.channel.name, cluster_size)
        }
    };
    let mut orderers = Vec::new();
    for (index, (name, identity)) in material.ordering.nodes.iter().enumerate() {
        let orderer = OrdererSpec {
            node_id: index as u64 + 1,
            identity: identity.into(),
            ordering: fabric.ordering.clone(),
            keepalive: fabric.keepalive.clone(),
            seed: rng.next_u64(),
            first_campaigner,
            genesis: material.genesis.clone(),
        };
        world
            .apply(Change::Start(Box::new(NodeSpec {
                name: name.clone(),
                role: Role::Orderer(Box::new(orderer)),
            })))
            .await?;
        orderers.push(component(
            name,
            ComponentType::Orderer,
            Some(&scenario.topology.ordering_service.msp_id),
        ));
    }
    Ok(orderers)
}

/// A peer with the settings the scenario gives it (by default as IBP deploys it: gossip's
/// external endpoint set, no bootstrap peers, so the peers of an organization find each other
/// through its anchor peers), whose new disk holds `ledgers`.
pub fn peer_spec(
    scenario: &Scenario,
    name: &str,
    identity: &SigningIdentity,
    local_msp: &MspDefinition,
    seed: u64,
    ledgers: PeerDisk,
) -> NodeSpec {
    NodeSpec {
        name: name.to_string(),
        role: Role::Peer(Box::new(PeerSpec {
            identity: identity.into(),
            local_msp: local_msp.clone(),
            fabric: scenario.topology.peer_fabric(name),
            seed,
            ledgers,
        })),
    }
}

/// Approves the chaincode definition for every organization and commits it (Fabric 2.x's
/// "instantiate"), retrying while the ordering service has no leader yet.
pub async fn define_chaincode(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    network: &Network,
    seed: u64,
) -> Result<(), String> {
    let epoch = tokio::time::Instant::now() - world.clock().now();
    let admin = GrpcWebPeerAdmin::new(
        HttpClient::new(world.net()),
        Duration::from_secs(10),
        epoch,
        seed,
    );
    let chaincode = &scenario.topology.channel.chaincode;
    let definition = chaincode.definition(1);
    let orderer = network
        .orderers
        .first()
        .ok_or("the network has no ordering node")?;
    let first_peer_of = |msp_id: &str| {
        network
            .peers
            .iter()
            .find(|p| p.msp_id == msp_id)
            .map(|p| p.component.clone())
    };
    for (msp_id, identity) in &network.admins {
        let peer = first_peer_of(msp_id).ok_or_else(|| format!("{msp_id} has no peer"))?;
        retry(world, "approve the chaincode definition", || {
            admin.approve_chaincode(&peer, orderer, &network.channel_id, &definition, identity)
        })
        .await?;
    }
    let endorsers: Vec<_> = network
        .admins
        .keys()
        .filter_map(|msp_id| first_peer_of(msp_id))
        .collect();
    let (_, committer) = network
        .admins
        .iter()
        .next()
        .ok_or("the network has no organization")?;
    retry(world, "commit the chaincode definition", || {
        admin.commit_chaincode(
            &endorsers,
            orderer,
            &network.channel_id,
            &definition,
            committer,
        )
    })
    .await?;
    // `peer lifecycle chaincode commit` waits for the commit event (--waitForEvent); an
    // application starting before a peer has the definition gets "make sure the chaincode
    // has been successfully defined", a failure of the harness, not of the network.
    for peer in &network.peers {
        let identity = network
            .admins
            .get(&peer.msp_id)
            .ok_or_else(|| format!("{} has no admin", peer.msp_id))?;
        retry(world, "see the chaincode definition on every peer", || {
            admin.chaincode_committed(
                &peer.component,
                &network.channel_id,
                &chaincode.name,
                identity,
            )
        })
        .await?;
    }
    Ok(())
}

/// Retries `attempt` every 2 s until it succeeds or [`SETUP_TIMEOUT`] passes.
pub async fn retry<'a, F, E>(
    world: &Rc<dyn World>,
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<(), String>
where
    F: std::future::Future<Output = Result<(), E>> + 'a,
    E: std::fmt::Display,
{
    let deadline = world.clock().now() + SETUP_TIMEOUT;
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(e) if world.clock().now() >= deadline => {
                return Err(format!("could not {what} within {SETUP_TIMEOUT:?}: {e}"))
            }
            Err(_) => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}
