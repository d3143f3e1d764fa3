//! The client application: submits the workload's transactions the way the Fabric Gateway
//! does (Fabric docs/source/gateway.md, internal/pkg/gateway): endorse on the peer with the
//! highest ledger height of each organization the endorsement policy needs, trying the
//! others when one fails; submit to the ordering nodes in random order until one accepts;
//! wait for the commit status. Every operation is recorded Jepsen-style: invoke, then ok
//! (committed VALID), fail (certainly not committed) or info (outcome unknown).

use super::links::{LinkEvents, Links};
use super::wire::{CommitStatus, DiscoverRequest, DiscoveredPeer, Wire};
use crate::clock::Clock;
use crate::fabric::config::FabricConfig;
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::deliver_wire::Status;
use crate::fabric::invocation::Invocation;
use crate::fabric::policy::majority;
use crate::fabric::txbuild::{signed_proposal, transaction_envelope};
use crate::fabric::types::ValidationCode;
use crate::history::{EventKind, OpPhase, Operation};
use crate::net::frame::ConnectionEvent;
use crate::net::Net;
use crate::workload::gateway::{candidates, DiscoveredPeer as GatewayPeer};
use crate::workload::{submit_offset, transaction_count, AssetMix};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Records history events (the harness's instrumentation of the client).
pub type Recorder = Rc<dyn Fn(EventKind)>;

#[derive(Clone)]
pub struct ClientProgram {
    /// Host name, e.g. `client.us-east`; the `process` of its operations.
    pub name: String,
    pub identity: SigningIdentity,
    pub channel_id: String,
    pub chaincode: String,
    /// Peers of the client's organization it uses as gateways, in order of preference.
    pub gateway_peers: Vec<String>,
    /// The application organizations of the channel (the endorsement policy is a majority).
    pub organizations: Vec<String>,
    /// The ordering nodes' endpoints.
    pub orderers: Vec<String>,
    pub rate_per_s: f64,
    /// When the first transaction is submitted (clock time) and for how long.
    pub start: Duration,
    pub duration: Duration,
    pub fabric: FabricConfig,
    pub seed: u64,
    pub clock: Clock,
    pub record: Recorder,
}

/// How long the client waits for a commit status (the Gateway SDK's default of one minute).
const COMMIT_STATUS_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the client refreshes its view of the peers from discovery.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(2);
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the workload; returns once every submitted transaction has an outcome. `restarts`
/// counts earlier runs of this client: a restarted application makes new transaction IDs.
pub async fn run(program: ClientProgram, net: Arc<dyn Net>, restarts: u64) -> io::Result<()> {
    let keepalive = program.fabric.keepalive.client();
    let (links, events) = Links::new(net, move |_| keepalive);
    let io = Rc::new(RefCell::new(ClientIo {
        links,
        next_request: 0,
        pending: BTreeMap::new(),
        waiting_dial: BTreeMap::new(),
    }));
    tokio::task::spawn_local(pump(io.clone(), events));
    let gateway = Rc::new(Gateway {
        program: program.clone(),
        io,
        view: RefCell::new(Vec::new()),
        failed: RefCell::new(BTreeMap::new()),
        rng: RefCell::new(ChaCha8Rng::seed_from_u64(
            program.seed ^ restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )),
    });
    gateway.refresh_view().await;
    let refresher = gateway.clone();
    let discovery = tokio::task::spawn_local(async move {
        loop {
            tokio::time::sleep(DISCOVERY_INTERVAL).await;
            refresher.refresh_view().await;
        }
    });

    let clock = program.clock;
    let started = clock.now();
    let mut mix = AssetMix::new(ChaCha8Rng::seed_from_u64(program.seed ^ 0xA55E7));
    let mut transactions = tokio::task::JoinSet::new();
    for n in 0..transaction_count(program.rate_per_s, program.duration) {
        // Drawn for every n, so a restarted client submits the same calls at the same times.
        let call = mix.next_call();
        let at = program.start + submit_offset(n, program.rate_per_s);
        if at < started {
            continue; // the client was down then
        }
        // Transactions due within one step of the clock go out together: at rates finer
        // than the simulation's tick every one is still submitted.
        let now = clock.now();
        if at > now {
            tokio::time::sleep(at - now).await;
        }
        let gateway = gateway.clone();
        transactions.spawn_local(async move { gateway.submit(n, call).await });
    }
    while transactions.join_next().await.is_some() {}
    discovery.abort();
    Ok(())
}

/// The client's connections to peers and ordering nodes, by endpoint.
struct ClientIo {
    links: Links<String>,
    next_request: u64,
    /// Requests waiting for a reply: id -> (endpoint, where to answer).
    pending: BTreeMap<u64, (String, oneshot::Sender<Wire>)>,
    /// Requests waiting for a dial to finish, by endpoint.
    waiting_dial: BTreeMap<String, Vec<Wire>>,
}

impl ClientIo {
    fn send(&mut self, endpoint: &str, message: Wire) {
        if self.links.send_to(&endpoint.to_string(), &message) {
            return;
        }
        self.waiting_dial
            .entry(endpoint.to_string())
            .or_default()
            .push(message);
        if let Some((host, port)) = endpoint
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse().ok()?)))
        {
            self.links
                .dial(endpoint.to_string(), host, port, DIAL_TIMEOUT);
        }
    }

    /// Fails every request to `endpoint` (the connection or the dial is gone).
    fn drop_endpoint(&mut self, endpoint: &str) {
        self.waiting_dial.remove(endpoint);
        self.pending.retain(|_, (to, _)| to != endpoint);
    }
}

/// Moves connection events into replies.
async fn pump(io: Rc<RefCell<ClientIo>>, mut events: LinkEvents<String>) {
    loop {
        tokio::select! {
            biased;
            Some(event) = events.connections.recv() => {
                let mut io = io.borrow_mut();
                match event {
                    ConnectionEvent::Message(_, reply) => {
                        if let Some(id) = reply_id(&reply) {
                            if let Some((_, answer)) = io.pending.remove(&id) {
                                let _ = answer.send(reply);
                            }
                        }
                    }
                    ConnectionEvent::Closed(id, _) => {
                        if let Some(endpoint) = io.links.closed(id) {
                            io.drop_endpoint(&endpoint);
                        }
                    }
                }
            }
            Some((endpoint, result)) = events.dialed.recv() => {
                let mut io = io.borrow_mut();
                let label = endpoint.clone();
                match io.links.dial_finished(endpoint.clone(), result, label) {
                    Some(connection) => {
                        for message in io.waiting_dial.remove(&endpoint).unwrap_or_default() {
                            io.links.send(connection, &message);
                        }
                    }
                    None => io.drop_endpoint(&endpoint),
                }
            }
            // The client listens on nothing.
            Some(_) = events.accepted.recv() => {}
            else => return,
        }
    }
}

fn reply_id(reply: &Wire) -> Option<u64> {
    match reply {
        Wire::EndorseReply { id, .. }
        | Wire::CommitStatusReply { id, .. }
        | Wire::DiscoverReply { id, .. }
        | Wire::BroadcastReply { id, .. } => Some(*id),
        _ => None,
    }
}

struct Gateway {
    program: ClientProgram,
    io: Rc<RefCell<ClientIo>>,
    /// Discovery's last answer.
    view: RefCell<Vec<GatewayPeer>>,
    /// Peers that failed the client recently, until when.
    failed: RefCell<BTreeMap<String, Duration>>,
    rng: RefCell<ChaCha8Rng>,
}

enum Outcome {
    Ok,
    Fail(String),
    Info(String),
}

impl Gateway {
    /// Sends a request and waits for its reply within `timeout`.
    async fn request(
        &self,
        endpoint: &str,
        timeout: Duration,
        make: impl FnOnce(u64) -> Wire,
    ) -> Result<Wire, String> {
        let answer = {
            let mut io = self.io.borrow_mut();
            let id = io.next_request;
            io.next_request += 1;
            let (reply, answer) = oneshot::channel();
            io.pending.insert(id, (endpoint.to_string(), reply));
            io.send(endpoint, make(id));
            answer
        };
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(format!("{endpoint}: connection lost")),
            Err(_) => Err(format!("{endpoint}: no answer within {timeout:?}")),
        }
    }

    fn mark_failed(&self, endpoint: &str) {
        let until = self.program.clock.now() + self.program.fabric.gossip.alive_expiration_timeout;
        self.failed.borrow_mut().insert(endpoint.to_string(), until);
    }

    fn failed_now(&self) -> BTreeSet<String> {
        let now = self.program.clock.now();
        let mut failed = self.failed.borrow_mut();
        failed.retain(|_, until| *until > now);
        failed.keys().cloned().collect()
    }

    /// Asks the gateway peers, in order, for discovery's view of the channel.
    async fn refresh_view(&self) {
        for endpoint in self.program.gateway_peers.clone() {
            let requester = self.program.identity.serialized();
            let signature = self.program.identity.sign(&DiscoverRequest::signed_bytes(
                &self.program.channel_id,
                &requester,
            ));
            let channel_id = self.program.channel_id.clone();
            let reply = self
                .request(&endpoint, DIAL_TIMEOUT, |id| {
                    Wire::Discover(DiscoverRequest {
                        id,
                        channel_id,
                        requester,
                        signature,
                    })
                })
                .await;
            if let Ok(Wire::DiscoverReply {
                reply: Ok(peers), ..
            }) = reply
            {
                *self.view.borrow_mut() = peers.into_iter().map(gateway_peer).collect();
                return;
            }
        }
    }

    async fn submit(&self, op_id: u64, call: crate::fabric::invocation::AssetCall) {
        let program = &self.program;
        let invocation = Invocation::Chaincode {
            name: program.chaincode.clone(),
            call,
        };
        let (function, _) = invocation_function(&invocation);
        let proposal = {
            let mut rng = self.rng.borrow_mut();
            signed_proposal(
                &program.identity,
                &program.channel_id,
                &invocation,
                program.clock.now(),
                &mut *rng,
            )
        };
        let tx_id = proposal.tx_id().to_string();
        let record = |phase, node: Option<String>, detail: String| {
            (program.record)(EventKind::Op(Operation {
                op_id,
                process: program.name.clone(),
                phase,
                function: function.clone(),
                tx_id: Some(tx_id.clone()),
                node,
                detail,
            }))
        };
        record(OpPhase::Invoke, None, String::new());
        let (outcome, node) = self.run_transaction(&proposal).await;
        match outcome {
            Outcome::Ok => record(OpPhase::Ok, node, String::new()),
            Outcome::Fail(why) => record(OpPhase::Fail, node, why),
            Outcome::Info(why) => record(OpPhase::Info, node, why),
        }
    }

    async fn run_transaction(
        &self,
        proposal: &crate::fabric::txbuild::ClientProposal,
    ) -> (Outcome, Option<String>) {
        let program = &self.program;
        // Endorse: a majority of the organizations, best peer first.
        let needed = majority(program.organizations.len());
        let mut responses = Vec::new();
        let mut refusals = Vec::new();
        for org in &program.organizations {
            if responses.len() == needed {
                break;
            }
            let view = self.view.borrow().clone();
            let failed = self.failed_now();
            for peer in candidates(&view, org, &failed) {
                let signed = proposal.signed.clone();
                let reply = self
                    .request(
                        &peer.endpoint,
                        program.fabric.gateway.endorsement_timeout,
                        |id| Wire::Endorse {
                            id,
                            proposal: signed,
                        },
                    )
                    .await;
                match reply {
                    Ok(Wire::EndorseReply { response, .. }) if response.endorsement.is_some() => {
                        responses.push(response);
                        break;
                    }
                    // The chaincode refused (e.g. the asset does not exist): no other peer
                    // will endorse it.
                    Ok(Wire::EndorseReply { response, .. }) => {
                        return (
                            Outcome::Fail(format!(
                                "endorsement refused by {}: {}",
                                peer.endpoint, response.response.message
                            )),
                            Some(host_of(&peer.endpoint)),
                        );
                    }
                    Ok(_) | Err(_) => {
                        self.mark_failed(&peer.endpoint);
                        refusals.push(
                            reply
                                .err()
                                .unwrap_or_else(|| format!("{}: unexpected reply", peer.endpoint)),
                        );
                    }
                }
            }
        }
        if responses.len() < needed {
            return (
                Outcome::Fail(format!(
                    "endorsement policy not met: {} of {needed} organizations endorsed ({})",
                    responses.len(),
                    refusals.join("; ")
                )),
                None,
            );
        }
        let envelope = match transaction_envelope(&program.identity, &proposal.proposal, &responses)
        {
            Ok(envelope) => envelope,
            Err(e) => return (Outcome::Fail(format!("cannot assemble: {e}")), None),
        };
        // Submit: ordering nodes in random order until one accepts.
        let mut orderers = program.orderers.clone();
        orderers.shuffle(&mut *self.rng.borrow_mut());
        let mut accepted_by = None;
        let mut broadcast_errors = Vec::new();
        for orderer in &orderers {
            let envelope = envelope.clone();
            let reply = self
                .request(orderer, program.fabric.gateway.broadcast_timeout, |id| {
                    Wire::Broadcast { id, envelope }
                })
                .await;
            match reply {
                Ok(Wire::BroadcastReply { response, .. }) if response.status == Status::Success => {
                    accepted_by = Some(orderer.clone());
                    break;
                }
                Ok(Wire::BroadcastReply { response, .. }) => broadcast_errors
                    .push(format!("{orderer}: {} {}", response.status, response.info)),
                Ok(_) => broadcast_errors.push(format!("{orderer}: unexpected reply")),
                Err(e) => broadcast_errors.push(e),
            }
        }
        let Some(orderer) = accepted_by else {
            return (
                Outcome::Fail(format!(
                    "no ordering node accepted the transaction ({})",
                    broadcast_errors.join("; ")
                )),
                None,
            );
        };
        // Commit status: from a gateway peer, another one if it fails.
        let tx_id = proposal.tx_id().to_string();
        let deadline = program.clock.now() + COMMIT_STATUS_TIMEOUT;
        let mut last_error = String::new();
        for peer in &program.gateway_peers {
            let remaining = deadline.saturating_sub(program.clock.now());
            if remaining.is_zero() {
                break;
            }
            let channel_id = program.channel_id.clone();
            let tx = tx_id.clone();
            let reply = self
                .request(peer, remaining + Duration::from_secs(1), |id| {
                    Wire::CommitStatus {
                        id,
                        channel_id,
                        tx_id: tx,
                        timeout_ms: remaining.as_millis() as u64,
                    }
                })
                .await;
            match reply {
                Ok(Wire::CommitStatusReply {
                    status: CommitStatus::Committed { code, block_number },
                    ..
                }) => {
                    return if code == ValidationCode::Valid {
                        (Outcome::Ok, Some(host_of(peer)))
                    } else {
                        (
                            Outcome::Fail(format!("committed in block {block_number} as {code:?}")),
                            Some(host_of(peer)),
                        )
                    };
                }
                Ok(Wire::CommitStatusReply { status, .. }) => {
                    last_error = format!("{peer}: {status:?}")
                }
                Ok(_) => last_error = format!("{peer}: unexpected reply"),
                Err(e) => last_error = e,
            }
        }
        (
            Outcome::Info(format!(
                "accepted by {orderer}; commit status unknown: {last_error}"
            )),
            Some(host_of(&orderer)),
        )
    }
}

fn gateway_peer(peer: DiscoveredPeer) -> GatewayPeer {
    GatewayPeer {
        endpoint: peer.endpoint,
        msp_id: peer.msp_id,
        ledger_height: peer.ledger_height,
    }
}

fn host_of(endpoint: &str) -> String {
    endpoint
        .rsplit_once(':')
        .map_or(endpoint, |(host, _)| host)
        .to_string()
}

/// The chaincode function name, as the history names operations.
fn invocation_function(invocation: &Invocation) -> (String, Vec<String>) {
    let (_, function, args) = invocation.to_parts();
    (function, args)
}
