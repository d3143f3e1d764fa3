//! A node to start, as data: its role, identity material, configuration and the content of
//! a new disk. The runner writes a [`NodeSpec`]; a substrate starts it: `sim` on a turmoil
//! host, `containers` as `hadr node --spec FILE` in a container. The spec holds no closure,
//! clock or socket: those come from the [`NodeHost`] the substrate gives the node, and its
//! disk from the substrate too ([`Disk`]: memory on `sim`, a volume on `containers`).

use super::client::{ClientProgram, Recorder};
use super::orderer::OrdererProgram;
use super::peer::PeerProgram;
use super::{NodeFuture, NodeLog};
use crate::clock::Clock;
use crate::console::mock::{ConsoleConfig, HttpDeployer, MockConsole};
use crate::fabric::ca::CaState;
use crate::fabric::config::{FabricConfig, KeepaliveConfig, OrderingConfig};
use crate::fabric::crypto::{Certificate, KeyPair, SigningIdentity};
use crate::fabric::orderer::OrdererDisk;
use crate::fabric::peer_state::{PeerDisk as PeerLedgers, PeerState};
use crate::fabric::types::{Block, MspDefinition};
use crate::net::http::HttpClient;
use crate::net::Net;
use crate::scenario::model::{Calls, ClientTimeouts, Failover, RateChange};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One node: its host name (`peer0.org1.us-east`) and what runs there.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    pub role: Role,
}

/// What a node is, with everything it needs to start.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    Peer(Box<PeerSpec>),
    Orderer(Box<OrdererSpec>),
    Ca(Box<CaSpec>),
    Console(Box<ConsoleSpec>),
    Client(Box<ClientSpec>),
}

impl Role {
    /// The port that accepts connections once the node serves everything (its last bound
    /// listener), if it listens at all: what a substrate that starts nodes in the background
    /// waits for.
    pub fn ready_port(&self) -> Option<u16> {
        use super::wire::{CA_OPERATIONS_PORT, CONSOLE_PORT, GRPC_WEB_PORT};
        match self {
            Role::Peer(_) | Role::Orderer(_) => Some(GRPC_WEB_PORT),
            Role::Ca(_) => Some(CA_OPERATIONS_PORT),
            Role::Console(_) => Some(CONSOLE_PORT),
            Role::Client(_) => None,
        }
    }

    /// The name `hadr node --role` takes.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Peer(_) => "peer",
            Role::Orderer(_) => "orderer",
            Role::Ca(_) => "ca",
            Role::Console(_) => "console",
            Role::Client(_) => "client",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerSpec {
    pub identity: Identity,
    pub local_msp: MspDefinition,
    /// Its core.yaml, peer.gossip.externalEndpoint and bootstrap included.
    pub fabric: FabricConfig,
    pub seed: u64,
    /// What a new disk holds (channels already joined, chaincodes installed).
    pub ledgers: PeerLedgers,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrdererSpec {
    /// Raft ID: 1-based position among the channel's consenters.
    pub node_id: u64,
    pub identity: Identity,
    pub ordering: OrderingConfig,
    pub keepalive: KeepaliveConfig,
    pub seed: u64,
    /// The consenter that campaigns first on a new channel.
    pub first_campaigner: u64,
    /// The system of a new disk: the channel's genesis block.
    pub genesis: Block,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaSpec {
    /// A new disk's content: keys and registry.
    pub state: CaState,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConsoleSpec {
    pub config: ConsoleConfig,
    /// Where the console's deployer (fabric-operator's part) answers, if it has one.
    pub deployer_url: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSpec {
    pub identity: Identity,
    pub channel_id: String,
    pub chaincode: String,
    /// Gateway peers' endpoints (host:port), in order of preference.
    pub gateway_peers: Vec<String>,
    pub failover: Failover,
    pub timeouts: ClientTimeouts,
    /// Calls per second from `start` (the run's clock) for `duration`, and their changes
    /// (workload::Schedule).
    pub rate_per_s: f64,
    pub rate_changes: Vec<RateChange>,
    pub duration: Duration,
    pub calls: Calls,
    /// Put before the IDs of the assets the client creates.
    pub id_prefix: String,
    pub start: Duration,
    pub seed: u64,
}

/// A signing identity as Fabric keeps one on disk: certificate and PKCS#8 key, in PEM.
#[derive(Clone, Serialize, Deserialize)]
pub struct Identity {
    pub msp_id: String,
    pub certificate: String,
    pub key: String,
}

impl std::fmt::Debug for Identity {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("msp_id", &self.msp_id)
            .finish_non_exhaustive()
    }
}

impl From<&SigningIdentity> for Identity {
    fn from(identity: &SigningIdentity) -> Identity {
        Identity {
            msp_id: identity.msp_id.clone(),
            certificate: identity.certificate.to_pem(),
            key: identity.key.to_pkcs8_pem(),
        }
    }
}

impl Identity {
    pub fn signing(&self) -> Result<SigningIdentity, String> {
        Ok(SigningIdentity {
            msp_id: self.msp_id.clone(),
            certificate: Certificate::from_pem(&self.certificate)
                .map_err(|e| format!("identity certificate: {e}"))?,
            key: KeyPair::from_pkcs8_pem(&self.key).map_err(|e| format!("identity key: {e}"))?,
        })
    }
}

/// What the substrate gives a node to run with.
#[derive(Clone)]
pub struct NodeHost {
    pub net: Arc<dyn Net>,
    pub clock: Clock,
    /// Where the node's history events (a client's operations, log lines) go.
    pub record: Recorder,
    /// Whether the node writes its log lines into the history.
    pub node_logs: bool,
}

impl NodeHost {
    fn log(&self, name: &str) -> NodeLog {
        if self.node_logs {
            NodeLog::to(name, self.record.clone())
        } else {
            NodeLog::default()
        }
    }
}

/// A node's disk: what survives a restart of its process.
#[derive(Clone)]
pub enum Disk {
    Peer(super::peer::PeerDisk),
    Orderer(OrdererDisk),
    Ca(super::ca::CaDisk),
    /// The console's records (athena keeps them in CouchDB).
    Console(Arc<MockConsole>),
    /// A client keeps nothing.
    None,
}

impl Disk {
    /// A new disk for `spec`, holding what the spec says a new one holds.
    pub fn new(spec: &NodeSpec, host: &NodeHost) -> Result<Disk, String> {
        Disk::restore(spec, host, None)
    }

    /// The disk of `spec` from its saved form (`saved`, as [`Disk::save`] wrote it), or a new
    /// one when there is none.
    pub fn restore(spec: &NodeSpec, host: &NodeHost, saved: Option<&[u8]>) -> Result<Disk, String> {
        Ok(match &spec.role {
            Role::Peer(peer) => {
                let ledgers = match saved {
                    Some(bytes) => postcard::from_bytes(bytes)
                        .map_err(|e| format!("{}: peer disk: {e}", spec.name))?,
                    None => peer.ledgers.clone(),
                };
                let state = PeerState::restore(peer.identity.signing()?, &peer.local_msp, ledgers)
                    .map_err(|e| format!("{}: {e}", spec.name))?;
                Disk::Peer(Rc::new(RefCell::new(state)))
            }
            Role::Orderer(orderer) => {
                if saved.is_some() {
                    // Raft's log lives in memory (MemStorage): there is no saved form.
                    return Err(format!(
                        "{}: an ordering node cannot restart from a saved disk on this substrate",
                        spec.name
                    ));
                }
                Disk::Orderer(OrdererDisk::new(orderer.genesis.clone()))
            }
            Role::Ca(ca) => {
                let state = match saved {
                    Some(bytes) => serde_json::from_slice(bytes)
                        .map_err(|e| format!("{}: CA disk: {e}", spec.name))?,
                    None => ca.state.clone(),
                };
                Disk::Ca(Arc::new(Mutex::new(state)))
            }
            Role::Console(console) => {
                let deployer = console.deployer_url.as_ref().map(|url| {
                    Arc::new(HttpDeployer::new(HttpClient::new(host.net.clone()), url))
                        as Arc<dyn crate::console::mock::Deployer>
                });
                let mock = MockConsole::new(
                    console.config.clone(),
                    deployer,
                    HttpClient::new(host.net.clone()),
                    host.clock,
                );
                if let Some(bytes) = saved {
                    mock.restore_records(bytes)
                        .map_err(|e| format!("{}: console disk: {e}", spec.name))?;
                }
                Disk::Console(mock)
            }
            Role::Client(_) => Disk::None,
        })
    }

    /// The disk's saved form, or None when it keeps nothing that can be saved.
    pub fn save(&self) -> Option<Vec<u8>> {
        match self {
            Disk::Peer(state) => postcard::to_allocvec(&state.borrow().to_disk()).ok(),
            // JSON: the CA's registry has optional fields a non-self-describing format loses.
            Disk::Ca(state) => serde_json::to_vec(&*state.lock().ok()?).ok(),
            Disk::Console(console) => Some(console.save_records()),
            Disk::Orderer(_) | Disk::None => None,
        }
    }
}

/// Starts `spec`'s program for the `restarts`-th time on `host`, with `disk`.
pub fn start(spec: &NodeSpec, disk: &Disk, host: &NodeHost, restarts: u64) -> NodeFuture {
    match program(spec, disk, host, restarts) {
        Ok(program) => program,
        Err(message) => Box::pin(async move { Err(std::io::Error::other(message)) }),
    }
}

fn program(
    spec: &NodeSpec,
    disk: &Disk,
    host: &NodeHost,
    restarts: u64,
) -> Result<NodeFuture, String> {
    let (name, net) = (spec.name.clone(), host.net.clone());
    Ok(match (&spec.role, disk) {
        (Role::Peer(peer), Disk::Peer(state)) => {
            let program = PeerProgram {
                name: name.clone(),
                identity: peer.identity.signing()?,
                local_msp: peer.local_msp.clone(),
                fabric: peer.fabric.clone(),
                seed: peer.seed,
                clock: host.clock,
                log: host.log(&name),
            };
            Box::pin(super::peer::run(program, state.clone(), net, restarts))
        }
        (Role::Orderer(orderer), Disk::Orderer(disk)) => {
            let program = OrdererProgram {
                name: name.clone(),
                node_id: orderer.node_id,
                identity: Arc::new(orderer.identity.signing()?),
                ordering: orderer.ordering.clone(),
                keepalive: orderer.keepalive.client(),
                seed: orderer.seed,
                first_campaigner: orderer.first_campaigner,
                disk: disk.clone(),
                clock: host.clock,
                log: host.log(&name),
            };
            Box::pin(super::orderer::run(program, net, restarts))
        }
        (Role::Ca(_), Disk::Ca(disk)) => Box::pin(super::ca::run(disk.clone(), net, host.clock)),
        (Role::Console(_), Disk::Console(console)) => {
            let router = console.router();
            Box::pin(async move {
                let listener = net.bind(super::wire::CONSOLE_PORT).await?;
                crate::net::http::serve(listener, router, std::future::pending()).await
            })
        }
        (Role::Client(client), Disk::None) => {
            let program = ClientProgram {
                name,
                identity: client.identity.signing()?,
                spec: (**client).clone(),
                clock: host.clock,
                record: host.record.clone(),
            };
            Box::pin(super::client::run(program, net, restarts))
        }
        (role, _) => {
            return Err(format!(
                "{}: the disk does not belong to its role ({})",
                spec.name,
                role.name()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::three_region_scenario;
    use crate::net::RealNet;
    use crate::runner::material::Material;
    use rand::SeedableRng;

    fn host() -> NodeHost {
        NodeHost {
            net: Arc::new(RealNet),
            clock: Clock::System,
            record: Rc::new(|_| {}),
            node_logs: false,
        }
    }

    /// Every spec survives JSON (what `hadr node` reads), and every disk its saved form.
    #[test]
    fn specs_and_disks_survive_their_files() {
        let scenario = three_region_scenario();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let material = Material::prebuilt(&scenario, &mut rng).unwrap();
        let org = material.orgs.values().next().unwrap();
        let (peer_name, identity) = org.peers.iter().next().unwrap();
        let mut ledgers = PeerLedgers::default();
        ledgers
            .channels
            .insert("channel1".into(), vec![material.genesis.clone()]);
        let specs = [
            NodeSpec {
                name: peer_name.clone(),
                role: Role::Peer(Box::new(PeerSpec {
                    identity: identity.into(),
                    local_msp: org.msp.clone(),
                    fabric: scenario.topology.peer_fabric(peer_name),
                    seed: 3,
                    ledgers,
                })),
            },
            NodeSpec {
                name: org.ca_host.clone(),
                role: Role::Ca(Box::new(CaSpec {
                    state: org.ca.state(),
                })),
            },
        ];
        for spec in specs {
            let text = serde_json::to_string(&spec).unwrap();
            let read: NodeSpec = serde_json::from_str(&text).unwrap();
            assert_eq!(read.name, spec.name);
            assert!(
                !format!("{read:?}").contains("PRIVATE KEY"),
                "no key in Debug"
            );
            let disk = Disk::new(&read, &host()).unwrap();
            let saved = disk.save().expect("a saved form");
            let restored = Disk::restore(&read, &host(), Some(&saved)).unwrap();
            assert_eq!(restored.save(), Some(saved), "{}", spec.name);
            if let Disk::Peer(state) = &restored {
                assert_eq!(state.borrow().to_disk().channels["channel1"].len(), 1);
            }
        }
    }

    #[test]
    fn an_ordering_node_refuses_a_saved_disk_and_a_disk_must_match_its_role() {
        let scenario = three_region_scenario();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let material = Material::prebuilt(&scenario, &mut rng).unwrap();
        let (name, identity) = &material.ordering.nodes[0];
        let spec = NodeSpec {
            name: name.clone(),
            role: Role::Orderer(Box::new(OrdererSpec {
                node_id: 1,
                identity: identity.into(),
                ordering: scenario.topology.fabric.ordering.clone(),
                keepalive: scenario.topology.fabric.keepalive.clone(),
                seed: 1,
                first_campaigner: 1,
                genesis: material.genesis.clone(),
            })),
        };
        let error = Disk::restore(&spec, &host(), Some(b"x")).err().unwrap();
        assert!(
            error.contains("cannot restart from a saved disk"),
            "{error}"
        );
        let error = program(&spec, &Disk::None, &host(), 0).err().unwrap();
        assert_eq!(
            error,
            format!("{name}: the disk does not belong to its role (orderer)")
        );
    }
}
