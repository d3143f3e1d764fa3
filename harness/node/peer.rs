//! The peer program: runs a peer's state (ledgers, endorser: fabric/peer_state.rs) and its
//! gossip and delivery core (fabric/gossip) on a [`Net`].
//!
//! Listens on 7051 for gossip from other peers and for the Gateway's calls (endorse, commit
//! status, discovery), on 7443 for the console's grpc-web calls, on 9443 for the
//! operations endpoint. Its [`PeerDisk`] outlives the program: a crashed peer restarts with
//! its ledgers and installed chaincodes and an empty membership, as a Fabric peer does.

use super::endpoints::{serve_endpoints, unimplemented, NodeCall};
use super::gateway::{Gateway, Local, Registry};
use super::links::{LinkEvents, Links};
use super::ops::PeerMetrics;
use super::wire::{
    CommitStatus, DiscoverRequest, DiscoveredPeer, Wire, GRPC_WEB_PORT, PEER_OPERATIONS_PORT,
    PEER_PORT,
};
use crate::clock::Clock;
use crate::fabric::config::FabricConfig;
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::deliver_wire::BroadcastResponse;
use crate::fabric::gossip::{
    ChannelMcs, DeliverConnection, GossipMessage, GossipNode, LedgerBlocks, Output, PeerSelf, PkiId,
};
use crate::fabric::lifecycle::committed_definition;
use crate::fabric::peer_state::PeerState;
use crate::fabric::types::{Block, MspDefinition, ProposalResponse, SignedProposal};
use crate::history::LogLine;
use crate::net::frame::{ConnectionEvent, ConnectionId};
use crate::net::Net;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What a peer keeps on disk: its state (ledgers, installed chaincodes). Shared with the
/// substrate so that it outlives a crash.
pub type PeerDisk = Rc<RefCell<PeerState>>;

/// Everything a peer is started with (its core.yaml and MSP directory).
#[derive(Clone)]
pub struct PeerProgram {
    /// Host name, e.g. `peer0.org1.us-east`.
    pub name: String,
    pub identity: SigningIdentity,
    pub local_msp: MspDefinition,
    /// Its core.yaml, peer.gossip.externalEndpoint and bootstrap included.
    pub fabric: FabricConfig,
    pub seed: u64,
    pub clock: Clock,
    pub log: super::NodeLog,
}

impl PeerProgram {
    pub fn endpoint(&self) -> String {
        format!("{}:{PEER_PORT}", self.name)
    }
}

/// Who is at the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    /// A gossip peer, once its handshake told who it is.
    Gossip(PkiId),
    /// A gossip dial to this endpoint whose handshake is under way.
    Handshake(String),
    /// The delivery client's stream to an orderer.
    Orderer(DeliverConnection),
}

/// Messages kept for a gossip peer while its connection is dialled.
const QUEUED_PER_PEER: usize = 64;

struct PeerNode {
    program: PeerProgram,
    disk: PeerDisk,
    gossip: Option<GossipNode>,
    links: Links<Peer>,
    /// Gossip messages waiting for a dial to finish, by peer.
    queued: BTreeMap<PkiId, (String, Vec<GossipMessage>)>,
    /// Endpoints of dials started for a PKI-ID (the handshake tells whether it is the one).
    dialling_endpoint: BTreeMap<PkiId, String>,
    /// Gateway CommitStatus calls waiting: tx ID -> (connection, request id, deadline).
    waiting: BTreeMap<String, Vec<(ConnectionId, u64, Duration)>>,
    metrics: PeerMetrics,
    failed_checks: Vec<(String, String)>,
    restarts: u64,
    /// The Gateway service clients call on this peer.
    gateway: Rc<Gateway>,
    /// Gateway answers, for the connection that asked.
    gateway_replies: mpsc::UnboundedSender<(ConnectionId, Wire)>,
}

/// Runs the peer until its host stops. `restarts` counts earlier runs of this peer, so a
/// restarted peer draws fresh randomness.
pub async fn run(
    program: PeerProgram,
    disk: PeerDisk,
    net: Arc<dyn Net>,
    restarts: u64,
) -> io::Result<()> {
    let settings = program.fabric.keepalive.clone();
    let (links, events) = Links::new(net.clone(), move |key: Option<&Peer>| match key {
        Some(Peer::Orderer(_)) => settings.delivery_client(),
        _ => settings.client(),
    });
    links.listen(net.bind(PEER_PORT).await?);
    let (calls, call_inbox) = mpsc::unbounded_channel();
    let rfc3339 = match program.clock {
        Clock::Simulated => || Clock::Simulated.rfc3339(),
        Clock::System | Clock::Run { .. } => || Clock::System.rfc3339(),
    };
    serve_endpoints(&net, calls, GRPC_WEB_PORT, PEER_OPERATIONS_PORT, rfc3339).await?;
    let (local, local_requests) = mpsc::unbounded_channel();
    let (gateway_replies, replies) = mpsc::unbounded_channel();
    let msp_id = disk.borrow().msp_id().to_string();
    let gateway = Rc::new(Gateway::new(
        program.endpoint(),
        msp_id,
        program.fabric.gateway.clone(),
        net.clone(),
        local,
        program.log.clone(),
        ChaCha8Rng::seed_from_u64(
            program.seed ^ 0x6A7E ^ restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ),
    ));
    let mut peer = PeerNode {
        program,
        disk,
        gossip: None,
        links,
        queued: BTreeMap::new(),
        dialling_endpoint: BTreeMap::new(),
        waiting: BTreeMap::new(),
        metrics: PeerMetrics::default(),
        failed_checks: Vec::new(),
        restarts,
        gateway,
        gateway_replies,
    };
    peer.start_gossip();
    peer.drain();
    peer.run(events, call_inbox, local_requests, replies).await
}

impl PeerNode {
    async fn run(
        &mut self,
        mut events: LinkEvents<Peer>,
        mut calls: mpsc::UnboundedReceiver<NodeCall>,
        mut local_requests: mpsc::UnboundedReceiver<Local>,
        mut gateway_replies: mpsc::UnboundedReceiver<(ConnectionId, Wire)>,
    ) -> io::Result<()> {
        let clock = self.program.clock;
        loop {
            let deadline = self.next_deadline();
            let wait =
                deadline.map_or(Duration::from_secs(3600), |d| d.saturating_sub(clock.now()));
            tokio::select! {
                biased;
                Some(event) = events.connections.recv() => self.connection_event(event),
                Some((peer, result)) = events.dialed.recv() => self.dialed(peer, result),
                Some((stream, address)) = events.accepted.recv() => {
                    // Gossip peers introduce themselves first; Gateway clients never do.
                    self.links.adopt(stream, address, None);
                }
                Some(call) = calls.recv() => self.call(call),
                Some(request) = local_requests.recv() => self.local_request(request),
                Some((connection, reply)) = gateway_replies.recv() => {
                    self.links.send(connection, &reply);
                }
                _ = tokio::time::sleep(wait) => self.timeout(),
            }
            self.drain();
        }
    }

    fn now(&self) -> Duration {
        self.program.clock.now()
    }

    fn channel_id(&self) -> Option<String> {
        self.disk.borrow().channels().next().map(str::to_string)
    }

    /// Starts gossip for the channel the peer has joined, if any (a peer serves one).
    fn start_gossip(&mut self) {
        if self.gossip.is_some() {
            return;
        }
        let Some(channel_id) = self.channel_id() else {
            return;
        };
        let (config, height) = {
            let state = self.disk.borrow();
            let ledger = state
                .ledger(&channel_id)
                .expect("a joined channel has a ledger");
            (ledger.config().clone(), ledger.height())
        };
        let program = &self.program;
        let mcs = match ChannelMcs::new(program.identity.clone(), &program.local_msp, &config) {
            Ok(mcs) => mcs,
            Err(e) => return self.fail("gossip", format!("channel config unusable: {e}")),
        };
        let me = PeerSelf {
            identity: program.identity.serialized(),
            endpoint: program.endpoint(),
            external_endpoint: if program.fabric.gossip.external_endpoint {
                program.endpoint()
            } else {
                String::new()
            },
            bootstrap_peers: program.fabric.gossip.bootstrap.clone(),
        };
        let rng = ChaCha8Rng::seed_from_u64(
            program.seed ^ self.restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let now = self.now();
        let mut gossip = match GossipNode::new(&program.fabric, me, Box::new(mcs), rng, now) {
            Ok(gossip) => gossip,
            Err(e) => return self.fail("gossip", e.to_string()),
        };
        if let Err(e) = gossip.join_channel(now, &config, height) {
            return self.fail("gossip", e.to_string());
        }
        self.metrics.set_height(&channel_id, height);
        self.gossip = Some(gossip);
    }

    fn fail(&mut self, component: &str, reason: String) {
        tracing::error!(peer = %self.program.name, component, %reason);
        self.failed_checks.push((component.to_string(), reason));
    }

    fn next_deadline(&self) -> Option<Duration> {
        let gossip = self.gossip.as_ref().and_then(GossipNode::next_deadline);
        let waits = self
            .waiting
            .values()
            .flatten()
            .map(|(_, _, deadline)| *deadline)
            .min();
        [gossip, waits].into_iter().flatten().min()
    }

    fn timeout(&mut self) {
        let now = self.now();
        if let Some(gossip) = self.gossip.as_mut() {
            if gossip.next_deadline().is_some_and(|d| d <= now) {
                gossip.handle_timeout(now);
            }
        }
        let mut expired = Vec::new();
        for waiters in self.waiting.values_mut() {
            waiters.retain(|(connection, id, deadline)| {
                let keep = *deadline > now;
                if !keep {
                    expired.push((*connection, *id));
                }
                keep
            });
        }
        self.waiting.retain(|_, waiters| !waiters.is_empty());
        for (connection, id) in expired {
            self.links.send(
                connection,
                &Wire::CommitStatusReply {
                    id,
                    status: CommitStatus::Timeout,
                },
            );
        }
    }

    fn send_hello(&self, connection: ConnectionId) {
        if let Some(gossip) = &self.gossip {
            self.links
                .send(connection, &Wire::GossipHello(gossip.conn_establish()));
        }
    }

    fn dialed(&mut self, peer: Peer, result: io::Result<crate::net::BoxIo>) {
        let now = self.now();
        let failed = result.is_err();
        let id = self
            .links
            .dial_finished(peer.clone(), result, format!("{peer:?}"));
        let Some(gossip) = self.gossip.as_mut() else {
            return;
        };
        match (peer, id) {
            (Peer::Orderer(connection), Some(_)) => {
                gossip.handle_orderer_connected(now, connection)
            }
            (Peer::Orderer(connection), None) => {
                gossip.handle_orderer_connect_failed(now, connection)
            }
            (Peer::Gossip(_) | Peer::Handshake(_), Some(id)) => self.send_hello(id),
            (Peer::Gossip(pki_id), None) => {
                let endpoint = self.dialling_endpoint.remove(&pki_id).unwrap_or_default();
                self.queued.remove(&pki_id);
                gossip.handle_dial_failed(now, &endpoint, Some(pki_id));
            }
            (Peer::Handshake(endpoint), None) => gossip.handle_dial_failed(now, &endpoint, None),
        }
        debug_assert!(failed == id.is_none());
    }

    fn connection_event(&mut self, event: ConnectionEvent<Wire>) {
        let now = self.now();
        match event {
            ConnectionEvent::Closed(id, _) => match self.links.closed(id) {
                Some(Peer::Orderer(connection)) => {
                    if let Some(gossip) = self.gossip.as_mut() {
                        gossip.handle_orderer_stream_ended(now, connection);
                    }
                }
                Some(Peer::Handshake(endpoint)) => {
                    if let Some(gossip) = self.gossip.as_mut() {
                        gossip.handle_dial_failed(now, &endpoint, None);
                    }
                }
                // A closed gossip connection is noticed by alive expiry, as in Fabric.
                _ => {}
            },
            ConnectionEvent::Message(id, message) => self.message(id, message),
        }
    }

    fn message(&mut self, id: ConnectionId, message: Wire) {
        let now = self.now();
        match message {
            Wire::GossipHello(hello) => {
                if self.gossip.is_none() {
                    return self.links.close_id(id);
                }
                let dialled = match self.links.key_of(id) {
                    Some(Peer::Handshake(endpoint)) => Some(endpoint.clone()),
                    Some(Peer::Gossip(pki_id)) => self.dialling_endpoint.remove(pki_id),
                    // An accepted connection: answer the handshake with ours.
                    _ => {
                        self.send_hello(id);
                        None
                    }
                };
                let gossip = self.gossip.as_mut().expect("checked above");
                match gossip.handle_conn_establish(now, dialled.as_deref(), &hello) {
                    Ok(pki_id) => {
                        self.links.bind(id, Peer::Gossip(pki_id));
                        if let Some((_, messages)) = self.queued.remove(&pki_id) {
                            for message in messages {
                                self.links.send(id, &Wire::Gossip(message));
                            }
                        }
                    }
                    Err(_) => self.links.close_id(id),
                }
            }
            Wire::Gossip(message) => {
                let Some(Peer::Gossip(from)) = self.links.key_of(id).cloned() else {
                    return self.links.close_id(id);
                };
                if let Some(gossip) = self.gossip.as_mut() {
                    let ledger = LedgerView(&self.disk);
                    gossip.handle_message(now, from, message, &ledger);
                }
            }
            Wire::Delivered(response) => {
                if let (Some(Peer::Orderer(connection)), Some(gossip)) =
                    (self.links.key_of(id).cloned(), self.gossip.as_mut())
                {
                    gossip.handle_orderer_response(now, connection, response);
                }
            }
            Wire::Endorse {
                id: request,
                proposal,
            } => {
                let response = self.process_proposal(&proposal);
                self.links.send(
                    id,
                    &Wire::EndorseReply {
                        id: request,
                        response,
                    },
                );
            }
            Wire::CommitStatus {
                id: request,
                channel_id,
                tx_id,
                timeout_ms,
            } => {
                let status = {
                    let state = self.disk.borrow();
                    match state.ledger(&channel_id) {
                        None => Some(CommitStatus::UnknownChannel),
                        Some(ledger) => {
                            ledger
                                .transaction(&tx_id)
                                .map(|location| CommitStatus::Committed {
                                    code: location.code,
                                    block_number: location.block_number,
                                })
                        }
                    }
                };
                match status {
                    Some(status) => {
                        self.links.send(
                            id,
                            &Wire::CommitStatusReply {
                                id: request,
                                status,
                            },
                        );
                    }
                    None => self.waiting.entry(tx_id).or_default().push((
                        id,
                        request,
                        now + Duration::from_millis(timeout_ms),
                    )),
                }
            }
            Wire::GatewayEndorse {
                id: request,
                proposal,
            } => {
                let (gateway, replies) = (self.gateway.clone(), self.gateway_replies.clone());
                tokio::task::spawn_local(async move {
                    let result = gateway.endorse(proposal).await;
                    let _ = replies.send((
                        id,
                        Wire::GatewayEndorseReply {
                            id: request,
                            result,
                        },
                    ));
                });
            }
            Wire::GatewaySubmit {
                id: request,
                envelope,
            } => {
                let (gateway, replies) = (self.gateway.clone(), self.gateway_replies.clone());
                let channel_id = self.channel_id().unwrap_or_default();
                tokio::task::spawn_local(async move {
                    let result = gateway.submit(&channel_id, envelope).await;
                    let _ = replies.send((
                        id,
                        Wire::GatewaySubmitReply {
                            id: request,
                            result,
                        },
                    ));
                });
            }
            Wire::GatewayEvaluate {
                id: request,
                proposal,
            } => {
                let (gateway, replies) = (self.gateway.clone(), self.gateway_replies.clone());
                tokio::task::spawn_local(async move {
                    let result = gateway.evaluate(proposal).await;
                    let _ = replies.send((
                        id,
                        Wire::GatewayEvaluateReply {
                            id: request,
                            result,
                        },
                    ));
                });
            }
            Wire::Discover(request) => {
                let reply = self.discover(&request);
                self.links.send(
                    id,
                    &Wire::DiscoverReply {
                        id: request.id,
                        reply,
                    },
                );
            }
            // Nothing else is served on a peer's port.
            _ => self.links.close_id(id),
        }
    }

    /// Endorses (or answers a system call); a JoinChain starts gossip on the new channel.
    fn process_proposal(&mut self, proposal: &SignedProposal) -> ProposalResponse {
        let response = self.disk.borrow_mut().process_proposal(proposal);
        if self.gossip.is_none() {
            self.start_gossip();
        }
        response
    }

    /// What this peer's Gateway asked of it.
    fn local_request(&mut self, request: Local) {
        match request {
            Local::Endorse(proposal, reply) => {
                let _ = reply.send(self.process_proposal(&proposal));
            }
            Local::Registry {
                channel_id,
                chaincode,
                reply,
            } => {
                let _ = reply.send(self.registry(&channel_id, &chaincode));
            }
        }
    }

    /// The Gateway registry's view of `channel_id` for `chaincode`.
    fn registry(&self, channel_id: &str, chaincode: &str) -> Option<Registry> {
        let state = self.disk.borrow();
        let ledger = state.ledger(channel_id)?;
        let config = ledger.config();
        let policy = (!chaincode.is_empty())
            .then(|| committed_definition(ledger.state(), chaincode))
            .flatten()
            .map(|d| d.endorsement_policy);
        Some(Registry {
            own_height: ledger.height(),
            own_external: self.program.fabric.gossip.external_endpoint,
            members: self
                .gossip
                .as_ref()
                .map(GossipNode::membership)
                .unwrap_or_default(),
            orderers: config
                .orderer
                .consenters
                .iter()
                .map(|c| format!("{}:{}", c.endpoint.host, c.endpoint.port))
                .collect(),
            policy,
            application_orgs: config.application.keys().cloned().collect(),
        })
    }

    /// Discovery's peer membership: the peers gossip knows alive on the channel, and this
    /// peer, for a requester who is a member of the channel. Only peers with an external
    /// endpoint are listed, this one included (F discovery/support/gossip/support.go).
    fn discover(&self, request: &DiscoverRequest) -> Result<Vec<DiscoveredPeer>, String> {
        let state = self.disk.borrow();
        let ledger = state
            .ledger(&request.channel_id)
            .ok_or_else(|| format!("access denied: channel {} not joined", request.channel_id))?;
        let signed = DiscoverRequest::signed_bytes(&request.channel_id, &request.requester);
        ledger
            .bundle()
            .msps()
            .verify(&request.requester, &signed, &request.signature)
            .map_err(|e| format!("access denied: {e}"))?;
        let mut peers = Vec::new();
        if self.program.fabric.gossip.external_endpoint {
            peers.push(DiscoveredPeer {
                msp_id: state.msp_id().to_string(),
                endpoint: self.program.endpoint(),
                ledger_height: ledger.height(),
            });
        }
        if let Some(gossip) = &self.gossip {
            peers.extend(
                gossip
                    .membership()
                    .into_iter()
                    .filter(|member| !member.external_endpoint.is_empty())
                    .map(|member| DiscoveredPeer {
                        msp_id: member.msp_id,
                        endpoint: member.external_endpoint,
                        ledger_height: member.ledger_height,
                    }),
            );
        }
        Ok(peers)
    }

    fn call(&mut self, call: NodeCall) {
        match call {
            NodeCall::ProcessProposal(proposal, reply) => {
                let _ = reply.send(self.process_proposal(&proposal));
            }
            NodeCall::Broadcast(_, reply) => {
                let _ = reply.send(unimplemented("Broadcast"));
            }
            NodeCall::DeliverBlock(_, reply) => {
                let _ = reply.send(Err::<Block, BroadcastResponse>(unimplemented("Deliver")));
            }
            NodeCall::Health(reply) => {
                let _ = reply.send(self.failed_checks.clone());
            }
            NodeCall::Metrics(reply) => {
                if let (Some(channel_id), Some(gossip)) = (self.channel_id(), &self.gossip) {
                    self.metrics
                        .set_peers_known(&channel_id, gossip.membership_total_peers_known());
                    if let Some(leader) = gossip.election_leader() {
                        self.metrics.set_leader(&channel_id, leader);
                    }
                }
                let _ = reply.send(self.metrics.render());
            }
        }
    }

    /// Carries out what gossip asked for.
    fn drain(&mut self) {
        let now = self.now();
        loop {
            let Some(output) = self.gossip.as_mut().and_then(GossipNode::poll_output) else {
                return;
            };
            match output {
                Output::Send {
                    to,
                    endpoint,
                    message,
                } => self.send_gossip(to, endpoint, message),
                Output::Handshake { endpoint } => {
                    if let Some((host, port)) = split_endpoint(&endpoint) {
                        let timeout = self.program.fabric.gossip.dial_timeout;
                        self.links
                            .dial(Peer::Handshake(endpoint.clone()), host, port, timeout);
                    }
                }
                Output::CloseConnection { pki_id } => self.links.close(&Peer::Gossip(pki_id)),
                Output::OrdererConnect {
                    connection,
                    endpoint,
                } => {
                    let timeout = self.program.fabric.delivery.conn_timeout;
                    match split_endpoint(&endpoint) {
                        Some((host, port)) => {
                            self.links
                                .dial(Peer::Orderer(connection), host, port, timeout);
                        }
                        None => {
                            if let Some(gossip) = self.gossip.as_mut() {
                                gossip.handle_orderer_connect_failed(now, connection);
                            }
                        }
                    }
                }
                Output::OrdererSend {
                    connection,
                    request,
                } => {
                    if !self
                        .links
                        .send_to(&Peer::Orderer(connection), &Wire::Deliver(request))
                    {
                        if let Some(gossip) = self.gossip.as_mut() {
                            gossip.handle_orderer_stream_ended(now, connection);
                        }
                    }
                }
                Output::OrdererDisconnect { connection } => {
                    self.links.close(&Peer::Orderer(connection))
                }
                Output::DeliverToCommitter(block) => self.commit(block),
                Output::MembershipChanged { current, .. } => {
                    if let Some(channel_id) = self.channel_id() {
                        self.metrics.set_peers_known(&channel_id, current.len());
                    }
                }
                Output::LeadershipChanged { is_leader } => {
                    if let Some(channel_id) = self.channel_id() {
                        self.metrics.set_leader(&channel_id, is_leader);
                    }
                }
            }
        }
    }

    fn send_gossip(&mut self, to: PkiId, endpoint: Option<String>, message: GossipMessage) {
        let key = Peer::Gossip(to);
        if self.links.send_to(&key, &Wire::Gossip(message.clone())) {
            return;
        }
        let Some(endpoint) = endpoint else {
            return;
        };
        let Some((host, port)) = split_endpoint(&endpoint) else {
            return;
        };
        let timeout = self.program.fabric.gossip.dial_timeout;
        if self.links.dial(key, host, port, timeout) {
            self.dialling_endpoint.insert(to, endpoint.clone());
        }
        let (_, messages) = self
            .queued
            .entry(to)
            .or_insert_with(|| (endpoint, Vec::new()));
        if messages.len() < QUEUED_PER_PEER {
            messages.push(message);
        }
    }

    /// Validates and commits a block gossip or the orderer delivered, in order.
    fn commit(&mut self, block: Arc<Block>) {
        let now = self.now();
        let Some(channel_id) = self.channel_id() else {
            return;
        };
        let block = Arc::try_unwrap(block).unwrap_or_else(|shared| Block::clone(&shared));
        let result = self.disk.borrow_mut().commit(&channel_id, block);
        match result {
            Ok(summary) => {
                self.program.log.write(LogLine::BlockCommitted {
                    number: summary.block_number,
                });
                let (height, config) = {
                    let state = self.disk.borrow();
                    let ledger = state.ledger(&channel_id).expect("committed to it");
                    (
                        ledger.height(),
                        summary.config_updated.then(|| ledger.config().clone()),
                    )
                };
                self.metrics.set_height(&channel_id, height);
                for tx in &summary.transactions {
                    let Some(tx_id) = &tx.tx_id else { continue };
                    for (connection, id, _) in self.waiting.remove(tx_id).unwrap_or_default() {
                        let status = CommitStatus::Committed {
                            code: tx.code,
                            block_number: summary.block_number,
                        };
                        self.links
                            .send(connection, &Wire::CommitStatusReply { id, status });
                    }
                }
                if let Some(gossip) = self.gossip.as_mut() {
                    gossip.ledger_height_changed(now, height);
                    if let Some(config) = config {
                        gossip.update_channel_config(now, &config);
                    }
                }
            }
            // A block that passed gossip's checks and still fails to commit stops the peer's
            // ledger, as Fabric's committer panics.
            Err(e) => self.fail("ledger", format!("commit failed: {e}")),
        }
    }
}

/// `host:port` into its parts.
fn split_endpoint(endpoint: &str) -> Option<(&str, u16)> {
    let (host, port) = endpoint.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

/// The committed blocks gossip may serve to others (state transfer).
struct LedgerView<'a>(&'a PeerDisk);

impl LedgerBlocks for LedgerView<'_> {
    fn height(&self) -> u64 {
        let state = self.0.borrow();
        let height = state
            .channels()
            .next()
            .and_then(|c| state.ledger(c))
            .map_or(0, |l| l.height());
        height
    }

    fn block(&self, number: u64) -> Option<Arc<Block>> {
        let state = self.0.borrow();
        let channel = state.channels().next()?;
        state.ledger(channel)?.block(number).cloned().map(Arc::new)
    }
}
