//! The crypto material and channel of a scenario's network, made from the seed.
//!
//! The ordering service exists before the procedure starts (the doc assumes it), so its
//! organization and nodes are always made here, cryptogen-style. For `prebuilt` networks the
//! peer organizations are made here too, the way their CAs would have made them: each
//! organization's CA server is created and every identity is registered and enrolled with it
//! (with a CSR), so the CA node that then runs holds exactly the registry a real one would.

use crate::console::api::{CaConfig, Registry, RegistryIdentity};
use crate::fabric::ca::{CaServer, RegistrationRequest};
use crate::fabric::config::FabricConfig;
use crate::fabric::configtx::genesis_block;
use crate::fabric::crypto::{certificate_signing_request, KeyPair, SigningIdentity};
use crate::fabric::cryptogen::OrgCrypto;
use crate::fabric::types::{ApplicationOrg, Block, ChannelConfig, Endpoint, MspDefinition};
use crate::node::wire::{ORDERER_PORT, PEER_PORT};
use crate::scenario::layout::{ca_name, orderer_name, peer_name};
use crate::scenario::model::{AnchorPeers, Organization, Scenario};
use crate::secret::Secret;
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The bootstrap registrar of every CA hadr creates (IBP's default enroll ID).
pub const CA_ADMIN_ID: &str = "admin";

/// One peer organization: its CA server, MSP and identities.
pub struct OrgMaterial {
    pub msp_id: String,
    /// Host name of the org's CA node.
    pub ca_host: String,
    pub ca: CaServer,
    /// The CA's bootstrap registrar secret (the enroll secret the doc says to note).
    pub ca_admin_secret: Secret,
    pub msp: MspDefinition,
    pub admin: SigningIdentity,
    /// The client application's identity.
    pub client: SigningIdentity,
    /// Peer host name -> identity.
    pub peers: BTreeMap<String, SigningIdentity>,
}

pub struct OrderingMaterial {
    pub org: OrgCrypto,
    /// Ordering node host names with their identities, in consenter order.
    pub nodes: Vec<(String, SigningIdentity)>,
}

pub struct Material {
    pub ordering: OrderingMaterial,
    pub orgs: BTreeMap<String, OrgMaterial>,
    pub config: ChannelConfig,
    pub genesis: Block,
}

impl Material {
    /// The network `scenario` describes, with every organization already in the channel.
    pub fn prebuilt(scenario: &Scenario, rng: &mut ChaCha8Rng) -> Result<Material, String> {
        let ordering = ordering(scenario, rng)?;
        let mut orgs = BTreeMap::new();
        for org in &scenario.topology.organizations {
            orgs.insert(org.msp_id.clone(), organization(org, rng)?);
        }
        let mut config = channel(scenario, &ordering, &scenario.topology.fabric);
        for (msp_id, material) in &orgs {
            let org = scenario
                .topology
                .organizations
                .iter()
                .find(|o| &o.msp_id == msp_id)
                .expect("material is made per organization");
            config.application.insert(
                msp_id.clone(),
                ApplicationOrg {
                    msp: material.msp.clone(),
                    anchor_peers: anchor_peers(org, scenario.procedure.anchor_peers),
                },
            );
        }
        let genesis = genesis_block(&config);
        Ok(Material {
            ordering,
            orgs,
            config,
            genesis,
        })
    }

    /// Only the ordering service and a channel without peer organizations: the starting
    /// point of the documented procedure, whose consoles add the rest.
    pub fn ordering_only(scenario: &Scenario, rng: &mut ChaCha8Rng) -> Result<Material, String> {
        let ordering = ordering(scenario, rng)?;
        let config = channel(scenario, &ordering, &scenario.topology.fabric);
        let genesis = genesis_block(&config);
        Ok(Material {
            ordering,
            orgs: BTreeMap::new(),
            config,
            genesis,
        })
    }
}

/// Every peer an anchor, or the first peer in the org's home region only.
pub fn anchor_peers(org: &Organization, policy: AnchorPeers) -> Vec<Endpoint> {
    let peers = org.regions.iter().flat_map(|region| {
        (0..org.peers_per_region).map(move |index| peer_name(&org.msp_id, index, region))
    });
    let endpoints = peers.map(|host| Endpoint {
        host,
        port: PEER_PORT,
    });
    match policy {
        AnchorPeers::EveryPeer => endpoints.collect(),
        AnchorPeers::OnePerOrg => endpoints.take(1).collect(),
    }
}

fn ordering(scenario: &Scenario, rng: &mut ChaCha8Rng) -> Result<OrderingMaterial, String> {
    let service = &scenario.topology.ordering_service;
    let mut org = OrgCrypto::generate(&service.msp_id, rng).map_err(|e| e.to_string())?;
    let nodes = service
        .nodes
        .iter()
        .enumerate()
        .map(|(index, region)| {
            let name = orderer_name(index, region);
            let identity = org
                .enroll(&name, crate::fabric::crypto::NodeOu::Orderer, rng)
                .map_err(|e| e.to_string())?;
            Ok((name, identity))
        })
        .collect::<Result<_, String>>()?;
    Ok(OrderingMaterial { org, nodes })
}

fn channel(
    scenario: &Scenario,
    ordering: &OrderingMaterial,
    fabric: &FabricConfig,
) -> ChannelConfig {
    let consenters: Vec<(Endpoint, &SigningIdentity)> = ordering
        .nodes
        .iter()
        .map(|(name, identity)| {
            (
                Endpoint {
                    host: name.clone(),
                    port: ORDERER_PORT,
                },
                identity,
            )
        })
        .collect();
    ordering.org.channel_config(
        &scenario.topology.channel.name,
        &consenters,
        &[],
        &fabric.ordering,
    )
}

/// A CA server's creation body: the bootstrap registrar with a secret from the seed.
pub fn ca_config(secret: &Secret) -> CaConfig {
    CaConfig {
        registry: Registry {
            maxenrollments: -1,
            identities: vec![RegistryIdentity {
                name: CA_ADMIN_ID.to_string(),
                pass: secret.clone(),
                identity_type: "client".to_string(),
                maxenrollments: None,
                affiliation: None,
                attrs: BTreeMap::new(),
            }],
        },
    }
}

/// A secret from the seed, the way a person would type a random one.
pub fn seeded_secret(rng: &mut ChaCha8Rng) -> Secret {
    let mut bytes = [0u8; 12];
    rng.fill_bytes(&mut bytes);
    Secret::new(hex::encode(bytes))
}

fn organization(org: &Organization, rng: &mut ChaCha8Rng) -> Result<OrgMaterial, String> {
    let ca_admin_secret = seeded_secret(rng);
    let config = ca_config(&ca_admin_secret);
    let mut ca = CaServer::new(&org.msp_id, &config, None, rng).map_err(|e| e.to_string())?;
    let mut enroll =
        |id: &str, identity_type: &str, hosts: &[String]| -> Result<SigningIdentity, String> {
            let registrar = ca
                .identities(None)
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|i| i.id == CA_ADMIN_ID)
                .ok_or("the CA has no bootstrap registrar")?;
            let secret = seeded_secret(rng);
            let request = RegistrationRequest {
                id: id.to_string(),
                identity_type: identity_type.to_string(),
                secret: Some(secret.clone()),
                max_enrollments: 0,
                affiliation: String::new(),
                attrs: Vec::new(),
                caname: None,
            };
            ca.register(&registrar, &request)
                .map_err(|e| e.to_string())?;
            let key = KeyPair::generate(rng);
            let csr = certificate_signing_request(&key, id, hosts).map_err(|e| e.to_string())?;
            let certificate = ca
                .enroll(None, id, secret.expose(), &csr)
                .map_err(|e| e.to_string())?;
            Ok(SigningIdentity {
                msp_id: org.msp_id.clone(),
                certificate,
                key,
            })
        };
    let short = crate::scenario::layout::org_short_name(&org.msp_id);
    let admin = enroll(&format!("{short}admin"), "admin", &[])?;
    let client = enroll(&format!("{short}client"), "client", &[])?;
    let mut peers = BTreeMap::new();
    for region in &org.regions {
        for index in 0..org.peers_per_region {
            let host = peer_name(&org.msp_id, index, region);
            let identity = enroll(&host, "peer", std::slice::from_ref(&host))?;
            peers.insert(host, identity);
        }
    }
    let root = ca.certificate(Some("ca")).map_err(|e| e.message)?;
    let tls_root = ca.certificate(Some("tlsca")).map_err(|e| e.message)?;
    let msp = MspDefinition {
        msp_id: org.msp_id.clone(),
        root_certs: vec![root.to_pem()],
        intermediate_certs: vec![],
        admins: vec![],
        tls_root_certs: vec![tls_root.to_pem()],
        node_ous: true,
    };
    Ok(OrgMaterial {
        msp_id: org.msp_id.clone(),
        ca_host: ca_name(&org.msp_id, &org.home),
        ca,
        ca_admin_secret,
        msp,
        admin,
        client,
        peers,
    })
}
