//! The documented procedure (`procedure: {runbook: documented}`): every step of
//! [`procedure::plan`](crate::procedure::plan) performed through the console of its region
//! (the mock console, on its REST API) and the peer admin channel, with the doc's data flow:
//! cluster 1's CA, MSP and admin identity are exported from console 1 and what consoles 2 and
//! 3 import; the CA admin's enroll ID and secret from cluster 1 are what they enroll with.
//! Consoles deploy CAs and peers into their own region through a [`Deployer`] that starts
//! hadr's nodes on the substrate.
//!
//! Every step is recorded with its doc anchors. A failing step stops the procedure: the
//! history says which step, what the console or the network answered, and a hint.

use super::material::{ca_config, seeded_secret, Material, CA_ADMIN_ID};
use super::network::{component, Network, PeerRecord};
use super::prebuilt::{launch_ordering_service, retry};
use crate::console::api::{
    Component, ComponentMsp, ComponentType, CreateCaBody, CreatePeerBody, Enrollment, EnrollmentCa,
    EnrollmentComponent, ImportBody, ImportMspBody, MspCaField, MspComponentField, NodeCrypto,
    Role,
};
use crate::console::client::{ClientOptions, ConsoleClient, Credential};
use crate::console::files::{
    b64_pem, certificate_to_b64, pem_from_b64, IdentityFile, MspFile, NodeFile,
};
use crate::console::mock::{ConsoleConfig, Limits};
use crate::console::peer_admin::{GrpcWebPeerAdmin, PeerAdmin};
use crate::console::wallet::Identity;
use crate::fabric::ca::client::CaClient;
use crate::fabric::ca::RegistrationRequest;
use crate::fabric::crypto::{Certificate, KeyPair, SigningIdentity};
use crate::fabric::types::{ApplicationOrg, Endpoint, MspDefinition};
use crate::history::{ConsoleAction, ConsoleListing, EventKind, StepOutcome, StepRecord};
use crate::net::http::HttpClient;
use crate::node::spec::{ConsoleSpec, NodeSpec, Role as NodeRole};
use crate::node::wire::{CA_PORT, CONSOLE_PORT, PEER_PORT};
use crate::procedure::plan::{plan, PlannedStep, StepStatus};
use crate::procedure::runbook::Action;
use crate::scenario::layout::{self, ca_name, console_name, org_short_name, region_of};
use crate::scenario::model::Scenario;
use crate::secret::Secret;
use crate::substrate::world::World;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

/// Per console request (the client retries 429, 5xx and connection errors on its own).
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(10);
const PEER_ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
const CA_TIMEOUT: Duration = Duration::from_secs(10);
/// The console's first user (athena's `initial_admin`).
const CONSOLE_USER: &str = "admin";

/// The consoles of a documented run, by region, as the runbook's client reaches them.
pub type Consoles = Rc<BTreeMap<String, ConsoleClient>>;

/// What the procedure left: the network it built, or a stop at a failed step (recorded).
pub enum Built {
    Network(Network, Consoles),
    Stopped,
}

/// Runs the documented procedure of `scenario`.
pub async fn build(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    rng: &mut ChaCha8Rng,
) -> Result<Built, String> {
    let material = Material::ordering_only(scenario, rng)?;
    let deployer = super::deployer::start(world, scenario, rng.next_u64()).await?;
    let epoch = tokio::time::Instant::now() - world.clock().now();
    let mut procedure = Procedure {
        world: world.clone(),
        scenario,
        deployer,
        peer_admin: GrpcWebPeerAdmin::new(
            HttpClient::new(world.net()),
            PEER_ADMIN_TIMEOUT,
            epoch,
            rng.next_u64(),
        ),
        seed: rng.next_u64(),
        rng: ChaCha8Rng::seed_from_u64(rng.next_u64()),
        material,
        consoles: BTreeMap::new(),
        orgs: BTreeMap::new(),
        on_channel: Vec::new(),
        orderers: Vec::new(),
        ordering_file: Vec::new(),
        chaincode_committed: false,
    };
    for step in plan(scenario).steps {
        let outcome = match &step.status {
            StepStatus::Skipped { reason } => Ok((StepOutcome::Skipped, reason.clone())),
            StepStatus::Run | StepStatus::Recreated => procedure
                .perform(&step)
                .await
                .map(|detail| (StepOutcome::Ok, detail)),
        };
        let info = step.action.info();
        let (outcome, detail) = match outcome {
            Ok(done) => done,
            Err(answer) => (
                StepOutcome::Failed,
                format!("{answer}; hint: {}", hint(step.action)),
            ),
        };
        world.record(EventKind::Step(StepRecord {
            section: info.doc.section.to_string(),
            anchor: info.link.map(str::to_string),
            action: info.name.to_string(),
            region: step.region.clone(),
            outcome,
            detail,
        }));
        if outcome == StepOutcome::Failed {
            return Ok(Built::Stopped);
        }
    }
    procedure
        .network()
        .await
        .map(|(network, consoles)| Built::Network(network, consoles))
}

/// What a person should look at when a step fails.
fn hint(action: Action) -> &'static str {
    match action {
        Action::DeployConsoles | Action::ProvisionClusters => {
            "the substrate could not start the region; check the scenario's regions"
        }
        Action::AddOrgToConsortium | Action::InstantiateChaincode => {
            "the ordering service must be reachable and have a leader, and the signer must be an admin of the organization the policy names"
        }
        Action::JoinChannel | Action::JoinRedundantPeer => {
            "a peer joins a channel only for an admin of its own MSP: import cluster 1's admin identity (do not create a new one)"
        }
        Action::SetAnchorPeers | Action::MakeRedundantPeersAnchors => {
            "anchor peers are set by a channel config update signed by an admin of the organization in the channel's MSP definition"
        }
        Action::ImportCa | Action::AssociateCaAdmin | Action::RegisterRedundantPeer => {
            "use the CA JSON exported from console 1 and the CA admin's enroll ID and secret noted in cluster 1"
        }
        Action::ImportMsp | Action::ImportAdminIdentity => {
            "import the MSP JSON and admin identity exported from console 1"
        }
        Action::CreatePeer | Action::CreateRedundantPeer => {
            "the enrollment CA must be known to this console and the peer's enroll ID registered with it"
        }
        _ => "see the console's answer above and the doc section this step implements",
    }
}

/// What the procedure knows of an organization as it goes.
#[derive(Default)]
struct OrgState {
    /// The home CA's admin enroll secret: the doc says to keep it for clusters 2 and 3.
    ca_admin_secret: Option<Secret>,
    /// CAs created with `recreate: [import-ca]`, by region, with their own admin secret.
    recreated_ca_secrets: BTreeMap<String, Secret>,
    /// Peer host -> its enroll secret, from registration.
    peer_secrets: BTreeMap<String, Secret>,
    ca_file: Option<NodeFile>,
    msp_file: Option<MspFile>,
    admin_file: Option<IdentityFile>,
    /// Peers created so far, in order.
    peers: Vec<String>,
    anchors: Vec<Endpoint>,
}

struct Procedure<'a> {
    world: Rc<dyn World>,
    scenario: &'a Scenario,
    /// Where the consoles' deployer answers.
    deployer: String,
    peer_admin: GrpcWebPeerAdmin,
    seed: u64,
    rng: ChaCha8Rng,
    material: Material,
    consoles: BTreeMap<String, ConsoleClient>,
    orgs: BTreeMap<String, OrgState>,
    /// Application organizations added to the channel so far, in order.
    on_channel: Vec<String>,
    orderers: Vec<Component>,
    /// The ordering service as its admin exports it (the doc's "export the ordering service").
    ordering_file: Vec<NodeFile>,
    chaincode_committed: bool,
}

fn ca_admin_wallet_name(msp_id: &str) -> String {
    format!("{msp_id} CA admin")
}

fn admin_wallet_name(msp_id: &str) -> String {
    format!("{msp_id} admin")
}

impl Procedure<'_> {
    fn console(&self, region: &str) -> Result<&ConsoleClient, String> {
        self.consoles
            .get(region)
            .ok_or_else(|| format!("console.{region} was not deployed (deploy-consoles skipped?)"))
    }

    fn org(&mut self, step: &PlannedStep) -> Result<(String, &mut OrgState), String> {
        let msp_id = step
            .msp_id
            .clone()
            .ok_or("the step names no organization")?;
        Ok((msp_id.clone(), self.orgs.entry(msp_id).or_default()))
    }

    fn signer(&self, region: &str, msp_id: &str) -> Result<SigningIdentity, String> {
        let console = self.console(region)?;
        let wallet = console.wallet();
        let identity = wallet
            .get(&admin_wallet_name(msp_id))
            .map_err(|e| format!("console.{region}'s wallet: {e}"))?;
        Ok(identity.signer(msp_id))
    }

    /// The record a console lists under `display_name`.
    async fn listed(&self, region: &str, display_name: &str) -> Result<Component, String> {
        self.console(region)?
            .list_components()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|c| c.display_name == display_name)
            .ok_or_else(|| format!("console.{region} does not list {display_name}"))
    }

    /// The display names of every component `region`'s console lists.
    async fn listed_names(&self, region: &str) -> Result<BTreeSet<String>, String> {
        Ok(self
            .console(region)?
            .list_components()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|c| c.display_name)
            .collect())
    }

    fn orderer(&self) -> Result<&Component, String> {
        self.orderers
            .first()
            .ok_or_else(|| "the ordering service was not created".to_string())
    }

    /// A CA client for the CA that `region`'s console knows for `msp_id`.
    async fn ca_client(&self, region: &str, ca: &str) -> Result<CaClient, String> {
        let record = self.listed(region, ca).await?;
        let url = record
            .api_url
            .ok_or_else(|| format!("{ca} has no API URL"))?;
        Ok(CaClient::new(
            HttpClient::new(self.world.net()),
            &url,
            CA_TIMEOUT,
        ))
    }

    async fn perform(&mut self, step: &PlannedStep) -> Result<String, String> {
        let region = step.region.clone();
        let recreated = step.status == StepStatus::Recreated;
        match step.action {
            Action::ProvisionClusters => Ok(format!(
                "region {region}: its hosts are addressable as *.{region} on the substrate"
            )),
            Action::DeployConsoles => self.deploy_console(&region).await,
            Action::CreateOrderingService => self.create_ordering_service(&region).await,
            Action::DeployCa => {
                let ca = step.ca.clone().ok_or("the step names no CA")?;
                let secret = seeded_secret(&mut self.rng);
                self.create_ca(&region, &ca, &secret).await?;
                self.enroll_ca_admin(&region, &ca, &secret, step).await?;
                let (_, org) = self.org(step)?;
                org.ca_admin_secret = Some(secret);
                Ok(format!(
                    "{ca} deployed; its admin enrolled into console.{region}'s wallet"
                ))
            }
            Action::RegisterIdentities => {
                let (msp_id, _) = self.org(step)?;
                let ca = step.ca.clone().ok_or("the step names no CA")?;
                let short = org_short_name(&msp_id);
                let admin_secret = self
                    .register(&region, &ca, &msp_id, &format!("{short}admin"), "admin")
                    .await?;
                let key = KeyPair::generate(&mut self.rng);
                let certificate = self
                    .ca_client(&region, &ca)
                    .await?
                    .enroll("ca", &format!("{short}admin"), &admin_secret, &key, &[])
                    .await
                    .map_err(|e| e.to_string())?;
                self.add_to_wallet(&region, &admin_wallet_name(&msp_id), certificate, key)?;
                self.register_peers(step, &ca).await?;
                Ok(format!(
                    "registered {short}admin (enrolled into the wallet) and {}",
                    step.nodes.join(", ")
                ))
            }
            Action::CreateMsp => {
                let (msp_id, _) = self.org(step)?;
                let ca = step.ca.clone().ok_or("the step names no CA")?;
                let admin = self.signer(&region, &msp_id)?;
                self.import_msp_from_ca(&region, &ca, &msp_id, Some(&admin.certificate))
                    .await
            }
            Action::CreatePeer | Action::CreateRedundantPeer => {
                let (msp_id, _) = self.org(step)?;
                let ca = step.ca.clone().ok_or("the step names no CA")?;
                let ca = self.ca_in(&region, &msp_id, &ca);
                for peer in &step.nodes {
                    self.create_peer(&region, &ca, &msp_id, peer).await?;
                    self.org(step)?.1.peers.push(peer.clone());
                }
                Ok(format!("created {} with {ca}", step.nodes.join(", ")))
            }
            Action::InstallChaincode | Action::InstallChaincodeRedundant => {
                let (msp_id, _) = self.org(step)?;
                let admin = self.signer(&region, &msp_id)?;
                let chaincode = &self.scenario.topology.channel.chaincode;
                for peer in &step.nodes {
                    let record = self.listed(&region, peer).await?;
                    self.peer_admin
                        .install_chaincode(&record, &chaincode.name, &chaincode.version, &admin)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(format!(
                    "{} {} installed on {}",
                    chaincode.name,
                    chaincode.version,
                    step.nodes.join(", ")
                ))
            }
            Action::ExportMspToOrderingAdmin | Action::ExportMsp => {
                let (msp_id, _) = self.org(step)?;
                let record = self.listed(&region, &msp_display_name(&msp_id)).await?;
                let file = self
                    .console(&region)?
                    .export_msp(&record.id)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(to) = &step.delivers_to {
                    let to = region_of(to).to_string();
                    self.console(&to)?
                        .import_msp_file(&file)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                self.org(step)?.1.msp_file = Some(file);
                Ok(format!("{} exported", msp_display_name(&msp_id)))
            }
            Action::AddOrgToConsortium => {
                let (msp_id, _) = self.org(step)?;
                let record = self.listed(&region, &msp_display_name(&msp_id)).await?;
                let org = ApplicationOrg {
                    msp: msp_definition(&record)?,
                    anchor_peers: Vec::new(),
                };
                let admin = self.material.ordering.org.admin.clone();
                let orderer = self.orderer()?.clone();
                let channel = self.scenario.topology.channel.name.clone();
                // MAJORITY of the application orgs' Admins: every org already on the
                // channel signs (its admin in its home console's wallet).
                let on_channel = self.on_channel.clone();
                let mut co_signers = Vec::new();
                for other in &on_channel {
                    let home = self
                        .scenario
                        .topology
                        .organizations
                        .iter()
                        .find(|o| o.msp_id == *other)
                        .map(|o| o.home.clone())
                        .ok_or_else(|| format!("{other} is not in the topology"))?;
                    co_signers.push(self.signer(&home, other)?);
                }
                retry(&self.world, "add the organization to the channel", || {
                    self.peer_admin
                        .add_organization(&orderer, &channel, &org, &admin, &co_signers)
                })
                .await?;
                self.on_channel.push(msp_id.clone());
                let signed = if on_channel.is_empty() {
                    String::new()
                } else {
                    format!(", signed by the admins of {}", on_channel.join(", "))
                };
                Ok(format!(
                    "{msp_id} added to {channel} by the ordering service admin{signed}"
                ))
            }
            Action::ImportOrderingService => self.import_ordering_service(&region).await,
            Action::JoinChannel | Action::JoinRedundantPeer => {
                if step.action == Action::JoinRedundantPeer {
                    self.import_ordering_service(&region).await?;
                }
                let (msp_id, _) = self.org(step)?;
                let admin = self.signer(&region, &msp_id)?;
                let orderer = self.orderer()?.clone();
                let channel = self.scenario.topology.channel.name.clone();
                for peer in &step.nodes {
                    let record = self.listed(&region, peer).await?;
                    self.peer_admin
                        .join_channel(&record, &orderer, &channel, &admin)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(format!("{} joined {channel}", step.nodes.join(", ")))
            }
            Action::SetAnchorPeers | Action::MakeRedundantPeersAnchors => {
                let (msp_id, org) = self.org(step)?;
                org.anchors.extend(step.nodes.iter().map(|host| Endpoint {
                    host: host.clone(),
                    port: PEER_PORT,
                }));
                let anchors = org.anchors.clone();
                let admin = self.signer(&region, &msp_id)?;
                let orderer = self.orderer()?.clone();
                let channel = self.scenario.topology.channel.name.clone();
                retry(&self.world, "update the anchor peers", || {
                    self.peer_admin
                        .set_anchor_peers(&orderer, &channel, &anchors, &admin)
                })
                .await?;
                let names: Vec<&str> = anchors.iter().map(|a| a.host.as_str()).collect();
                Ok(format!("anchor peers of {msp_id}: {}", names.join(", ")))
            }
            Action::InstantiateChaincode => self.instantiate(step).await,
            Action::ExportCa => {
                let ca = step.ca.clone().ok_or("the step names no CA")?;
                let record = self.listed(&region, &ca).await?;
                let file = self
                    .console(&region)?
                    .export_node(&record.id)
                    .await
                    .map_err(|e| e.to_string())?;
                self.org(step)?.1.ca_file = Some(file);
                Ok(format!("{ca} exported"))
            }
            Action::ExportAdminIdentity => {
                let (msp_id, _) = self.org(step)?;
                let file = self
                    .console(&region)?
                    .export_identity(&admin_wallet_name(&msp_id))
                    .map_err(|e| e.to_string())?;
                self.org(step)?.1.admin_file = Some(file);
                Ok(format!(
                    "{} exported from console.{region}'s wallet",
                    admin_wallet_name(&msp_id)
                ))
            }
            Action::ImportCa => {
                let (msp_id, org) = self.org(step)?;
                if recreated {
                    let secret = seeded_secret(&mut self.rng);
                    let ca = ca_name(&msp_id, &region);
                    self.create_ca(&region, &ca, &secret).await?;
                    self.org(step)?
                        .1
                        .recreated_ca_secrets
                        .insert(region.clone(), secret);
                    return Ok(format!(
                        "recreated: a new CA {ca} deployed instead of importing cluster 1's"
                    ));
                }
                let file = org
                    .ca_file
                    .clone()
                    .ok_or("the CA was not exported (export-ca skipped)")?;
                self.console(&region)?
                    .import_node_file(&file)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "{} imported from console 1's JSON",
                    file.display_name
                ))
            }
            Action::AssociateCaAdmin => {
                let (msp_id, org) = self.org(step)?;
                let home_ca = step.ca.clone().ok_or("the step names no CA")?;
                let (ca, secret) = match org.recreated_ca_secrets.get(&region) {
                    Some(secret) => (ca_name(&msp_id, &region), secret.clone()),
                    None => (
                        home_ca,
                        org.ca_admin_secret
                            .clone()
                            .ok_or("cluster 1's CA admin secret is unknown (deploy-ca skipped)")?,
                    ),
                };
                self.enroll_ca_admin(&region, &ca, &secret, step).await?;
                Ok(format!(
                    "{ca}'s admin enrolled into console.{region}'s wallet"
                ))
            }
            Action::ImportMsp => {
                let (msp_id, org) = self.org(step)?;
                if recreated {
                    let ca = self.ca_in(&region, &msp_id, step.ca.as_deref().unwrap_or_default());
                    let detail = self.import_msp_from_ca(&region, &ca, &msp_id, None).await?;
                    return Ok(format!("recreated: {detail}"));
                }
                let file = org
                    .msp_file
                    .clone()
                    .ok_or("the MSP was not exported (export-msp skipped)")?;
                self.console(&region)?
                    .import_msp_file(&file)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "{} imported from console 1's JSON",
                    file.display_name
                ))
            }
            Action::ImportAdminIdentity => {
                let (msp_id, org) = self.org(step)?;
                if recreated {
                    return self.recreate_admin(step, &region, &msp_id).await;
                }
                let file = org
                    .admin_file
                    .clone()
                    .ok_or("the admin identity was not exported (export-admin-identity skipped)")?;
                self.console(&region)?
                    .import_identity(&file)
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "{} imported into console.{region}'s wallet",
                    file.name
                ))
            }
            Action::RegisterRedundantPeer => {
                let (msp_id, _) = self.org(step)?;
                let ca = self.ca_in(&region, &msp_id, step.ca.as_deref().unwrap_or_default());
                self.register_peers(step, &ca).await?;
                Ok(format!("registered {} with {ca}", step.nodes.join(", ")))
            }
            Action::ExportPeers => {
                let to = step
                    .delivers_to
                    .as_deref()
                    .map(region_of)
                    .ok_or("the step names no receiving console")?;
                for peer in &step.nodes {
                    let record = self.listed(&region, peer).await?;
                    let file = self
                        .console(&region)?
                        .export_node(&record.id)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.console(to)?
                        .import_node_file(&file)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Ok(format!(
                    "{} exported and imported into console.{to}",
                    step.nodes.join(", ")
                ))
            }
            Action::ImportAllPeersEverywhere => self.import_everywhere(&region).await,
        }
    }

    /// The CA that `region`'s console uses for `msp_id`: its own when recreated there.
    fn ca_in(&self, region: &str, msp_id: &str, home_ca: &str) -> String {
        match self.orgs.get(msp_id) {
            Some(org) if org.recreated_ca_secrets.contains_key(region) => ca_name(msp_id, region),
            _ => home_ca.to_string(),
        }
    }

    async fn deploy_console(&mut self, region: &str) -> Result<String, String> {
        let mut seed = ChaCha8Rng::seed_from_u64(self.seed ^ region.len() as u64);
        let password = seeded_secret(&mut self.rng);
        let name = console_name(region);
        let spec = ConsoleSpec {
            config: ConsoleConfig {
                athena_id: format!("hadr-{name}"),
                region: region.to_string(),
                host_url: format!("http://{name}:{CONSOLE_PORT}"),
                initial_admin: CONSOLE_USER.to_string(),
                default_password: password.clone(),
                seed: seed.next_u64() ^ self.rng.next_u64(),
                // The runbook is a program at machine speed: no rate limits, which would
                // judge the harness's pace instead of the nodes (athena's lockout stays).
                limits: Limits::UNTHROTTLED,
            },
            deployer_url: Some(self.deployer.clone()),
        };
        let url = self
            .world
            .console(NodeSpec {
                name: name.clone(),
                role: NodeRole::Console(Box::new(spec)),
            })
            .await?;
        let client = ConsoleClient::new(
            HttpClient::new(self.world.net()),
            &url,
            Credential::None,
            ClientOptions {
                timeout: CONSOLE_TIMEOUT,
                seed: self.rng.next_u64(),
                ..ClientOptions::default()
            },
        );
        client
            .bootstrap_api_key(
                CONSOLE_USER,
                &password,
                &[Role::Manager, Role::Writer, Role::Reader],
                "hadr runbook",
            )
            .await
            .map_err(|e| format!("API key: {e}"))?;
        self.consoles.insert(region.to_string(), client);
        Ok(format!(
            "{name} deployed with a deployer for {region}; API key created"
        ))
    }

    async fn create_ordering_service(&mut self, region: &str) -> Result<String, String> {
        self.orderers =
            launch_ordering_service(&self.world, self.scenario, &self.material, &mut self.rng)
                .await?;
        let tls_root = b64_pem(&self.material.ordering.org.ca.certificate.to_pem());
        let console = self.console(region)?;
        let mut imported = Vec::new();
        for ((_, identity), record) in self.material.ordering.nodes.iter().zip(&self.orderers) {
            let mut record = record.clone();
            record.msp = Some(ComponentMsp {
                ca: Some(MspCaField {
                    name: Some("ca".into()),
                    root_certs: Some(vec![tls_root.clone()]),
                }),
                tlsca: Some(MspCaField {
                    name: Some("tlsca".into()),
                    root_certs: Some(vec![tls_root.clone()]),
                }),
                component: Some(MspComponentField {
                    ecert: Some(certificate_to_b64(&identity.certificate)),
                    tls_cert: Some(certificate_to_b64(&identity.certificate)),
                    admin_certs: None,
                }),
            });
            record.cluster_id = Some("ordering-service".into());
            record.cluster_name = Some("Ordering Service".into());
            let file = NodeFile::from_component(&record);
            imported.push(
                console
                    .import_node_file(&file)
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        let admin = &self.material.ordering.org.admin;
        self.add_to_wallet(
            region,
            &admin_wallet_name(&admin.msp_id),
            admin.certificate.clone(),
            admin.key.clone(),
        )?;
        self.ordering_file = imported.iter().map(NodeFile::from_component).collect();
        let names: Vec<&str> = imported.iter().map(|c| c.display_name.as_str()).collect();
        Ok(format!(
            "{} started with channel {}; imported into console.{region} with the ordering service admin",
            names.join(", "),
            self.scenario.topology.channel.name
        ))
    }

    async fn import_ordering_service(&self, region: &str) -> Result<String, String> {
        let console = self.console(region)?;
        let listed = self.listed_names(region).await?;
        let missing: Vec<NodeFile> = self
            .ordering_file
            .iter()
            .filter(|node| !listed.contains(&node.display_name))
            .cloned()
            .collect();
        console
            .import_ordering_service_file(&missing)
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("ordering service imported into console.{region}"))
    }

    async fn create_ca(&self, region: &str, ca: &str, secret: &Secret) -> Result<(), String> {
        let config = ca_config(secret);
        let body = CreateCaBody {
            id: None,
            display_name: ca.to_string(),
            config_override: crate::console::api::CaConfigOverride {
                ca: config.clone(),
                tlsca: Some(config),
            },
            zone: None,
            region: None,
            version: None,
            replicas: None,
            tags: None,
        };
        self.console(region)?
            .create_ca(&body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Enrolls `ca`'s bootstrap admin into `region`'s wallet, retrying while the new CA
    /// starts.
    async fn enroll_ca_admin(
        &mut self,
        region: &str,
        ca: &str,
        secret: &Secret,
        step: &PlannedStep,
    ) -> Result<(), String> {
        let client = self.ca_client(region, ca).await?;
        let key = KeyPair::generate(&mut self.rng);
        let certificate = Rc::new(RefCell::new(None));
        retry(&self.world, &format!("enroll {ca}'s admin"), || {
            let (client, key, certificate) = (&client, &key, certificate.clone());
            async move {
                let cert = client.enroll("ca", CA_ADMIN_ID, secret, key, &[]).await?;
                *certificate.borrow_mut() = Some(cert);
                Ok::<(), crate::fabric::ca::client::CaClientError>(())
            }
        })
        .await?;
        let certificate = certificate.borrow_mut().take().ok_or("no certificate")?;
        let msp_id = step.msp_id.clone().unwrap_or_default();
        self.add_to_wallet(region, &ca_admin_wallet_name(&msp_id), certificate, key)
    }

    fn add_to_wallet(
        &self,
        region: &str,
        name: &str,
        certificate: Certificate,
        key: KeyPair,
    ) -> Result<(), String> {
        let identity = Identity::new(name, certificate, key).map_err(|e| e.to_string())?;
        self.console(region)?
            .wallet()
            .add(identity)
            .map_err(|e| e.to_string())
    }

    /// Registers `id` with `ca` as `region`'s CA admin; answers its enroll secret.
    async fn register(
        &mut self,
        region: &str,
        ca: &str,
        msp_id: &str,
        id: &str,
        identity_type: &str,
    ) -> Result<Secret, String> {
        let registrar = {
            let console = self.console(region)?;
            let wallet = console.wallet();
            wallet
                .get(&ca_admin_wallet_name(msp_id))
                .map_err(|e| format!("console.{region}'s wallet: {e}"))?
                .signer(msp_id)
        };
        let request = RegistrationRequest {
            id: id.to_string(),
            identity_type: identity_type.to_string(),
            secret: Some(seeded_secret(&mut self.rng)),
            max_enrollments: 0,
            affiliation: String::new(),
            attrs: Vec::new(),
            caname: None,
        };
        self.ca_client(region, ca)
            .await?
            .register(&registrar, &request)
            .await
            .map_err(|e| format!("register {id} with {ca}: {e}"))
    }

    async fn register_peers(&mut self, step: &PlannedStep, ca: &str) -> Result<(), String> {
        let msp_id = step.msp_id.clone().unwrap_or_default();
        for peer in &step.nodes {
            let secret = self
                .register(&step.region, ca, &msp_id, peer, "peer")
                .await?;
            self.org(step)?.1.peer_secrets.insert(peer.clone(), secret);
        }
        Ok(())
    }

    /// `recreate: [import-admin-identity]`: instead of importing cluster 1's admin, the
    /// console registers a new identity with the console's default type (client) and puts it
    /// in the wallet under the admin's name.
    async fn recreate_admin(
        &mut self,
        step: &PlannedStep,
        region: &str,
        msp_id: &str,
    ) -> Result<String, String> {
        let ca = self.ca_in(region, msp_id, step.ca.as_deref().unwrap_or_default());
        let id = format!("{}admin-{region}", org_short_name(msp_id));
        let secret = self.register(region, &ca, msp_id, &id, "client").await?;
        let key = KeyPair::generate(&mut self.rng);
        let certificate = self
            .ca_client(region, &ca)
            .await?
            .enroll("ca", &id, &secret, &key, &[])
            .await
            .map_err(|e| e.to_string())?;
        self.add_to_wallet(region, &admin_wallet_name(msp_id), certificate, key)?;
        Ok(format!("recreated: {id} registered with {ca} (type client) and enrolled as this console's {msp_id} admin"))
    }

    /// Creates the MSP definition from `ca`'s root certificates (the console's "Create MSP
    /// definition" with the CA selected), with `admin` as its admin.
    async fn import_msp_from_ca(
        &self,
        region: &str,
        ca: &str,
        msp_id: &str,
        admin: Option<&Certificate>,
    ) -> Result<String, String> {
        let client = self.ca_client(region, ca).await?;
        let root = client
            .cainfo("ca")
            .await
            .map_err(|e| e.to_string())?
            .ca_chain;
        let tls_root = client
            .cainfo("tlsca")
            .await
            .map_err(|e| e.to_string())?
            .ca_chain;
        let body = ImportMspBody {
            id: None,
            display_name: msp_display_name(msp_id),
            msp_id: msp_id.to_string(),
            root_certs: vec![root],
            intermediate_certs: None,
            admins: admin.map(|a| vec![certificate_to_b64(a)]),
            tls_root_certs: Some(vec![tls_root]),
            tls_intermediate_certs: None,
        };
        self.console(region)?
            .import(&ImportBody::Msp(body))
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("{} created from {ca}", msp_display_name(msp_id)))
    }

    async fn create_peer(
        &self,
        region: &str,
        ca: &str,
        msp_id: &str,
        peer: &str,
    ) -> Result<(), String> {
        let org = self.orgs.get(msp_id).ok_or("unknown organization")?;
        let secret = org
            .peer_secrets
            .get(peer)
            .cloned()
            .ok_or_else(|| format!("{peer} was not registered with {ca}"))?;
        let admin = self.signer(region, msp_id)?;
        let client = self.ca_client(region, ca).await?;
        let tls_root = client
            .cainfo("tlsca")
            .await
            .map_err(|e| e.to_string())?
            .ca_chain;
        let enrollment = |name: &str| EnrollmentCa {
            host: ca.to_string(),
            port: CA_PORT,
            name: name.to_string(),
            tls_cert: tls_root.clone(),
            enroll_id: peer.to_string(),
            enroll_secret: secret.clone(),
            csr_hosts: Some(vec![peer.to_string()]),
        };
        let body = CreatePeerBody {
            id: None,
            display_name: peer.to_string(),
            msp_id: msp_id.to_string(),
            crypto: NodeCrypto {
                enrollment: Some(Enrollment {
                    ca: enrollment("ca"),
                    tlsca: enrollment("tlsca"),
                    component: EnrollmentComponent {
                        admincerts: vec![certificate_to_b64(&admin.certificate)],
                    },
                }),
                msp: None,
            },
            state_db: None,
            zone: None,
            region: None,
            version: None,
            tags: None,
        };
        self.console(region)?
            .create_peer(&body)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Fabric 2.x's "instantiate": the organization approves the definition; the first
    /// organization in the channel also commits it.
    async fn instantiate(&mut self, step: &PlannedStep) -> Result<String, String> {
        let (msp_id, org) = self.org(step)?;
        let first_peer = org
            .peers
            .first()
            .cloned()
            .ok_or("the organization has no peer")?;
        let region = step.region.clone();
        let admin = self.signer(&region, &msp_id)?;
        let peer = self.listed(&region, &first_peer).await?;
        let orderer = self.orderer()?.clone();
        let channel = self.scenario.topology.channel.name.clone();
        let chaincode = &self.scenario.topology.channel.chaincode;
        let definition = chaincode.definition(1);
        retry(&self.world, "approve the chaincode definition", || {
            self.peer_admin
                .approve_chaincode(&peer, &orderer, &channel, &definition, &admin)
        })
        .await?;
        if self.chaincode_committed {
            return Ok(format!(
                "{msp_id} approved {} sequence 1, already committed",
                definition.name
            ));
        }
        let endorsers = [peer.clone()];
        retry(&self.world, "commit the chaincode definition", || {
            self.peer_admin
                .commit_chaincode(&endorsers, &orderer, &channel, &definition, &admin)
        })
        .await?;
        self.chaincode_committed = true;
        Ok(format!(
            "{msp_id} approved and committed {} sequence 1",
            definition.name
        ))
    }

    /// The optional last step: every console imports every peer it does not list yet, from
    /// the files of a console that does.
    async fn import_everywhere(&self, region: &str) -> Result<String, String> {
        let console = self.console(region)?;
        let listed = self.listed_names(region).await?;
        let mut imported = Vec::new();
        for (other_region, other) in &self.consoles {
            if other_region == region {
                continue;
            }
            for record in other
                .components_by_type(ComponentType::Peer)
                .await
                .map_err(|e| e.to_string())?
            {
                if listed.contains(&record.display_name) || imported.contains(&record.display_name)
                {
                    continue;
                }
                console
                    .import_node_file(&NodeFile::from_component(&record))
                    .await
                    .map_err(|e| e.to_string())?;
                imported.push(record.display_name);
            }
        }
        Ok(format!(
            "console.{region} imported {} peer(s)",
            imported.len()
        ))
    }

    /// The network the procedure built, and the application's identities: registered and
    /// enrolled with each home CA by the harness (the doc leaves the application out).
    async fn network(mut self) -> Result<(Network, Consoles), String> {
        let mut peers = Vec::new();
        let mut cas = Vec::new();
        let (mut clients, mut admins) = (BTreeMap::new(), BTreeMap::new());
        let organizations = self.scenario.topology.organizations.clone();
        for org in &organizations {
            let msp_id = &org.msp_id;
            let home_ca = ca_name(msp_id, &org.home);
            let id = format!("{}client", org_short_name(msp_id));
            let secret = self
                .register(&org.home, &home_ca, msp_id, &id, "client")
                .await?;
            let key = KeyPair::generate(&mut self.rng);
            let certificate = self
                .ca_client(&org.home, &home_ca)
                .await?
                .enroll("ca", &id, &secret, &key, &[])
                .await
                .map_err(|e| e.to_string())?;
            clients.insert(
                msp_id.clone(),
                SigningIdentity {
                    msp_id: msp_id.clone(),
                    certificate,
                    key,
                },
            );
            admins.insert(msp_id.clone(), self.signer(&org.home, msp_id)?);
            for spec in self.scenario.layout() {
                if spec.msp_id.as_deref() != Some(msp_id) {
                    continue;
                }
                let created = self
                    .orgs
                    .get(msp_id)
                    .is_some_and(|o| o.peers.contains(&spec.name));
                match spec.role {
                    layout::Role::Peer if created => peers.push(PeerRecord {
                        name: spec.name.clone(),
                        msp_id: msp_id.clone(),
                        component: component(&spec.name, ComponentType::Peer, Some(msp_id)),
                    }),
                    layout::Role::CertificateAuthority => {
                        cas.push(component(&spec.name, ComponentType::Ca, Some(msp_id)))
                    }
                    _ => {}
                }
            }
        }
        let network = Network {
            channel_id: self.scenario.topology.channel.name.clone(),
            chaincode: self.scenario.topology.channel.chaincode.name.clone(),
            peers,
            orderers: self.orderers,
            cas,
            observers: clients.clone(),
            clients,
            admins,
        };
        Ok((network, Rc::new(self.consoles)))
    }
}

fn msp_display_name(msp_id: &str) -> String {
    format!("{msp_id} MSP")
}

/// The channel's MSP definition from a console's MSP record.
fn msp_definition(record: &Component) -> Result<MspDefinition, String> {
    let pems = |certs: &Option<Vec<String>>| -> Result<Vec<String>, String> {
        certs
            .iter()
            .flatten()
            .map(|c| pem_from_b64(c).map_err(|e| e.to_string()))
            .collect()
    };
    Ok(MspDefinition {
        msp_id: record.msp_id.clone().unwrap_or_default(),
        root_certs: pems(&record.root_certs)?,
        intermediate_certs: pems(&record.intermediate_certs)?,
        admins: pems(&record.admins)?,
        tls_root_certs: pems(&record.tls_root_certs)?,
        node_ous: true,
    })
}

/// Asks every console what it lists and the status of every node it lists: the evidence
/// console_failover judges. Consoles are asked concurrently, so a dead one (which the client
/// retries) does not delay the others.
pub async fn console_round(world: Rc<dyn World>, consoles: Consoles) {
    let mut asks = tokio::task::JoinSet::new();
    for region in consoles.keys() {
        let (world, consoles, region) = (world.clone(), consoles.clone(), region.clone());
        asks.spawn_local(async move {
            let console = &consoles[&region];
            let listed = match console.list_components().await {
                Ok(listed) => listed,
                Err(_) => {
                    world.record(EventKind::ConsoleListing(ConsoleListing {
                        region,
                        answered: false,
                        components: Vec::new(),
                    }));
                    return;
                }
            };
            let mut components: Vec<String> =
                listed.iter().map(|c| c.display_name.clone()).collect();
            components.sort();
            world.record(EventKind::ConsoleListing(ConsoleListing {
                region: region.clone(),
                answered: true,
                components,
            }));
            let nodes: Vec<&Component> = listed
                .iter()
                .filter(|c| c.component_type != ComponentType::Msp)
                .collect();
            let ids: Vec<&str> = nodes.iter().map(|c| c.id.as_str()).collect();
            let statuses = console.component_status(&ids).await;
            for node in nodes {
                let (ok, detail) = match &statuses {
                    Ok(statuses) => match statuses.get(&node.id) {
                        Some(status) => (
                            status.is_ok(),
                            status
                                .error
                                .clone()
                                .or_else(|| status.status.clone())
                                .unwrap_or_default(),
                        ),
                        None => (false, "not in the console's answer".to_string()),
                    },
                    Err(e) => (false, e.to_string()),
                };
                world.record(EventKind::ConsoleAction(ConsoleAction {
                    region: region.clone(),
                    action: "status".to_string(),
                    target: node.display_name.clone(),
                    ok,
                    detail,
                }));
            }
        });
    }
    while asks.join_next().await.is_some() {}
}
