//! The ordering node program: runs an [`OrdererNode`] (fabric/orderer) on a [`Net`].
//!
//! Listens on 7050 for cluster traffic from the other consenters, broadcast from clients
//! and deliver streams from peers; on 7443 for the console's grpc-web calls; on 8443 for
//! the operations endpoint. Its disk ([`OrdererDisk`]) outlives the program, so a crashed
//! node restarts from its Raft log and block store.

use super::endpoints::{serve_endpoints, unimplemented, NodeCall};
use super::links::{LinkEvents, Links};
use super::ops::{OrdererMetrics as OpsMetrics, RaftStatus};
use super::wire::{
    cluster_hello_bytes, Wire, GRPC_WEB_PORT, ORDERER_OPERATIONS_PORT, ORDERER_PORT,
};
use crate::clock::Clock;
use crate::fabric::config::OrderingConfig;
use crate::fabric::configtx::{read_genesis_block, ChannelBundle};
use crate::fabric::crypto::{verify, Certificate, SigningIdentity};
use crate::fabric::deliver_wire::{BroadcastResponse, DeliverRequest, DeliverResponse, Status};
use crate::fabric::orderer::{
    BroadcastOutcome, BroadcastTicket, ConsenterSupport, DeliverCursor, DeliverPoll, OrdererDisk,
    OrdererNode, Output,
};
use crate::fabric::types::Block;
use crate::history::LogLine;
use crate::net::frame::{encode_message, ConnectionEvent, ConnectionId, Keepalive};
use crate::net::Net;
use bytes::Bytes;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Everything an ordering node is started with.
#[derive(Clone)]
pub struct OrdererProgram {
    /// Host name, e.g. `orderer0.us-east`.
    pub name: String,
    /// Raft ID: 1-based position among the channel's consenters.
    pub node_id: u64,
    pub identity: Arc<SigningIdentity>,
    pub ordering: OrderingConfig,
    pub keepalive: Keepalive,
    /// Seeds the node's randomness; a restart draws a new stream from it.
    pub seed: u64,
    /// The consenter that campaigns first on a new channel.
    pub first_campaigner: u64,
    pub disk: OrdererDisk,
    pub clock: Clock,
    pub log: super::NodeLog,
}

/// Who is at the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    /// Our connection to consenter n (we send on it).
    ConsenterOut(u64),
    /// Consenter n's connection to us (it sends on it), once its hello checked out.
    ConsenterIn(u64),
}

/// How long a consenter waits to dial another (Fabric: cluster DialTimeout).
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Encoded blocks kept for deliver streams (they ask for the same recent blocks).
const ENCODED_BLOCKS_KEPT: usize = 16;

struct Orderer {
    program: OrdererProgram,
    node: OrdererNode<ConsenterSupport>,
    links: Links<Peer>,
    /// Deliver streams waiting for the next block, by connection.
    streams: BTreeMap<ConnectionId, DeliverCursor>,
    /// Broadcasts answered later: by a framed reply or a grpc-web answer.
    queued: BTreeMap<BroadcastTicket, Pending>,
    encoded_blocks: BTreeMap<u64, Bytes>,
    metrics: OpsMetrics,
    /// Where forwards to the leader report how they went.
    forwarded: mpsc::UnboundedSender<(BroadcastTicket, Result<(), String>)>,
}

enum Pending {
    Framed(ConnectionId, u64),
    GrpcWeb(oneshot::Sender<BroadcastResponse>),
}

/// Runs the node until its host stops.
pub async fn run(program: OrdererProgram, net: Arc<dyn Net>, restarts: u64) -> io::Result<()> {
    let clock = program.clock;
    let genesis = program
        .disk
        .block(0)
        .ok_or_else(|| io::Error::other("the orderer's disk holds no genesis block"))?;
    let (config, _) = read_genesis_block(&genesis).map_err(|e| io::Error::other(e.to_string()))?;
    let bundle = ChannelBundle::new(config).map_err(|e| io::Error::other(e.to_string()))?;
    let support = ConsenterSupport::new(bundle, program.identity.clone());
    let rng =
        ChaCha8Rng::seed_from_u64(program.seed ^ restarts.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let node = OrdererNode::new(
        program.node_id,
        program.ordering.clone(),
        support,
        program.disk.clone(),
        rng,
        clock.now(),
        program.first_campaigner,
    )
    .map_err(|e| io::Error::other(e.to_string()))?;
    let (links, events) = Links::new(net.clone(), move |_| program.keepalive);
    links.listen(net.bind(ORDERER_PORT).await?);
    let (calls, call_inbox) = mpsc::unbounded_channel();
    serve_endpoints(
        &net,
        calls,
        GRPC_WEB_PORT,
        ORDERER_OPERATIONS_PORT,
        match clock {
            Clock::Simulated => || Clock::Simulated.rfc3339(),
            Clock::System | Clock::Run { .. } => || Clock::System.rfc3339(),
        },
    )
    .await?;
    let (forwarded, forward_reports) = mpsc::unbounded_channel();
    let mut orderer = Orderer {
        program,
        node,
        links,
        streams: BTreeMap::new(),
        queued: BTreeMap::new(),
        encoded_blocks: BTreeMap::new(),
        metrics: OpsMetrics::default(),
        forwarded,
    };
    orderer.connect_consenters();
    orderer.drain();
    orderer.run(events, call_inbox, forward_reports).await
}

impl Orderer {
    async fn run(
        &mut self,
        mut events: LinkEvents<Peer>,
        mut calls: mpsc::UnboundedReceiver<NodeCall>,
        mut forward_reports: mpsc::UnboundedReceiver<(BroadcastTicket, Result<(), String>)>,
    ) -> io::Result<()> {
        let clock = self.program.clock;
        loop {
            let wait = self.node.next_deadline().saturating_sub(clock.now());
            tokio::select! {
                biased;
                Some(event) = events.connections.recv() => self.connection_event(event),
                Some((peer, result)) = events.dialed.recv() => {
                    let label = format!("{peer:?}");
                    if let Some(id) = self.links.dial_finished(peer.clone(), result, label) {
                        if let Peer::ConsenterOut(to) = peer {
                            self.send_hello(id, to);
                        }
                    }
                }
                Some((stream, address)) = events.accepted.recv() => {
                    self.links.adopt(stream, address, None);
                }
                Some(call) = calls.recv() => self.call(call),
                Some((ticket, result)) = forward_reports.recv() => {
                    let response = match result {
                        Ok(()) => BroadcastResponse { status: Status::Success, info: String::new() },
                        Err(info) => BroadcastResponse { status: Status::ServiceUnavailable, info },
                    };
                    self.answer(ticket, response);
                }
                _ = tokio::time::sleep(wait) => self.node.handle_timeout(clock.now()),
            }
            self.drain();
        }
    }

    fn channel_id(&self) -> String {
        self.node.channel_config().channel_id.clone()
    }

    /// Dials every other consenter we have no connection to.
    fn connect_consenters(&mut self) {
        let consenters = self.node.channel_config().orderer.consenters.clone();
        for (index, consenter) in consenters.iter().enumerate() {
            let id = index as u64 + 1;
            if id != self.program.node_id {
                self.links.dial(
                    Peer::ConsenterOut(id),
                    &consenter.endpoint.host,
                    consenter.endpoint.port,
                    DIAL_TIMEOUT,
                );
            }
        }
    }

    fn send_hello(&self, connection: ConnectionId, to: u64) {
        let identity = &self.program.identity;
        let signature = identity.sign(&cluster_hello_bytes(
            self.program.node_id,
            to,
            &self.channel_id(),
        ));
        self.links.send(
            connection,
            &Wire::ClusterHello {
                node_id: self.program.node_id,
                identity: identity.serialized(),
                signature,
            },
        );
    }

    /// A hello is genuine when it carries consenter `from`'s certificate and its signature.
    fn hello_is_genuine(
        &self,
        from: u64,
        identity: &crate::fabric::crypto::SerializedIdentity,
        signature: &[u8],
    ) -> bool {
        let config = self.node.channel_config();
        let Some(consenter) = (from as usize)
            .checked_sub(1)
            .and_then(|i| config.orderer.consenters.get(i))
        else {
            return false;
        };
        let Ok(certificate) = Certificate::from_pem(&consenter.identity_cert) else {
            return false;
        };
        certificate.der == identity.certificate_der
            && verify(
                &certificate.public_key,
                &cluster_hello_bytes(from, self.program.node_id, &config.channel_id),
                signature,
            )
    }

    fn connection_event(&mut self, event: ConnectionEvent<Wire>) {
        let now = self.program.clock.now();
        match event {
            ConnectionEvent::Closed(id, _) => {
                self.streams.remove(&id);
                if let Some(Peer::ConsenterOut(to)) = self.links.closed(id) {
                    self.node.report_unreachable(now, to);
                }
            }
            ConnectionEvent::Message(id, message) => match message {
                Wire::ClusterHello {
                    node_id,
                    identity,
                    signature,
                } => {
                    if self.hello_is_genuine(node_id, &identity, &signature) {
                        self.links.bind(id, Peer::ConsenterIn(node_id));
                    } else {
                        self.links.close_id(id);
                    }
                }
                Wire::Cluster(message) => match self.links.key_of(id) {
                    Some(Peer::ConsenterIn(from)) => {
                        let from = *from;
                        self.node.handle_cluster_message(now, from, message);
                    }
                    // Cluster traffic from an unauthenticated connection is refused.
                    _ => self.links.close_id(id),
                },
                Wire::Broadcast {
                    id: request,
                    envelope,
                } => match self.node.broadcast(now, envelope) {
                    BroadcastOutcome::Done(response) => {
                        self.links.send(
                            id,
                            &Wire::BroadcastReply {
                                id: request,
                                response,
                            },
                        );
                    }
                    BroadcastOutcome::Queued(ticket) => {
                        self.queued.insert(ticket, Pending::Framed(id, request));
                    }
                },
                Wire::Deliver(request) => self.open_stream(id, request),
                // Nothing else is served on an ordering node's port.
                _ => self.links.close_id(id),
            },
        }
    }

    fn open_stream(&mut self, connection: ConnectionId, request: DeliverRequest) {
        match self.node.deliver(request) {
            Ok(cursor) => {
                self.streams.insert(connection, cursor);
                self.serve_stream(connection);
            }
            Err(status) => {
                self.links.send(
                    connection,
                    &Wire::Delivered(DeliverResponse::Status(status)),
                );
            }
        }
    }

    /// Sends what stream `connection` can have now; it stays open waiting for more.
    fn serve_stream(&mut self, connection: ConnectionId) {
        let Some(mut cursor) = self.streams.remove(&connection) else {
            return;
        };
        loop {
            match self.node.deliver_poll(&mut cursor) {
                DeliverPoll::Block(block) => {
                    let bytes = self.encoded_block(&block);
                    if !self.links.send_encoded(connection, bytes) {
                        return;
                    }
                }
                DeliverPoll::Wait => {
                    self.streams.insert(connection, cursor);
                    return;
                }
                DeliverPoll::End(status) => {
                    self.links.send(
                        connection,
                        &Wire::Delivered(DeliverResponse::Status(status)),
                    );
                    return;
                }
            }
        }
    }

    /// A block framed as a deliver message, encoded once for every stream that sends it.
    fn encoded_block(&mut self, block: &Block) -> Bytes {
        if let Some(bytes) = self.encoded_blocks.get(&block.number()) {
            return bytes.clone();
        }
        let bytes = encode_message(&Wire::Delivered(DeliverResponse::Block(block.clone())));
        self.encoded_blocks.insert(block.number(), bytes.clone());
        while self.encoded_blocks.len() > ENCODED_BLOCKS_KEPT {
            self.encoded_blocks.pop_first();
        }
        bytes
    }

    fn call(&mut self, call: NodeCall) {
        let now = self.program.clock.now();
        match call {
            NodeCall::Broadcast(envelope, reply) => match self.node.broadcast(now, envelope) {
                BroadcastOutcome::Done(response) => {
                    let _ = reply.send(response);
                }
                BroadcastOutcome::Queued(ticket) => {
                    self.queued.insert(ticket, Pending::GrpcWeb(reply));
                }
            },
            NodeCall::DeliverBlock(request, reply) => {
                let answer = match self.node.deliver(request) {
                    Err(status) => Err(refusal(status)),
                    Ok(mut cursor) => match self.node.deliver_poll(&mut cursor) {
                        DeliverPoll::Block(block) => Ok(Block::clone(&block)),
                        DeliverPoll::Wait => Err(refusal(Status::NotFound)),
                        DeliverPoll::End(status) => Err(refusal(status)),
                    },
                };
                let _ = reply.send(answer);
            }
            NodeCall::ProcessProposal(_, reply) => {
                let _ = reply.send(crate::fabric::endorser::failure(
                    crate::fabric::endorser::STATUS_NOT_FOUND,
                    unimplemented("ProcessProposal").info,
                ));
            }
            NodeCall::Health(reply) => {
                let _ = reply.send(Vec::new());
            }
            NodeCall::Metrics(reply) => {
                let metrics = self.node.metrics();
                self.metrics.set(
                    &self.channel_id(),
                    RaftStatus {
                        is_leader: metrics.is_leader,
                        active_nodes: metrics.active_nodes,
                        cluster_size: metrics.cluster_size,
                        leader_changes: metrics.leader_changes,
                        committed_block_number: metrics.committed_block_number,
                    },
                );
                let _ = reply.send(self.metrics.render());
            }
        }
    }

    /// Carries out what the node asked for.
    fn drain(&mut self) {
        let mut poll_streams = false;
        while let Some(output) = self.node.poll_output() {
            match output {
                Output::Send { to, message } => {
                    if !self
                        .links
                        .send_to(&Peer::ConsenterOut(to), &Wire::Cluster(message))
                    {
                        let now = self.program.clock.now();
                        self.node.report_unreachable(now, to);
                        self.redial(to);
                    }
                }
                Output::Forward {
                    to,
                    message,
                    ticket,
                } => self.forward(to, message, ticket),
                Output::BroadcastResponse { ticket, response } => self.answer(ticket, response),
                Output::BlockWritten { number } => {
                    self.program.log.write(LogLine::BlockWritten { number });
                    poll_streams = true
                }
                Output::RaftStateChanged { leader, .. } => {
                    if leader == Some(self.program.node_id) {
                        self.program.log.write(LogLine::BecameLeader);
                    }
                    poll_streams = true
                }
                Output::Enqueued { tx_id } => self.program.log.write(LogLine::Enqueued { tx_id }),
                Output::BlockCut { number, tx_ids } => {
                    self.program.log.write(LogLine::BlockCut { number, tx_ids })
                }
            }
        }
        if poll_streams {
            let waiting: Vec<_> = self.streams.keys().copied().collect();
            for connection in waiting {
                self.serve_stream(connection);
            }
        }
    }
}

impl Orderer {
    /// Answers a queued broadcast. broadcast.go's Handle returns after the first non-SUCCESS
    /// response, which ends that Broadcast stream only: a framed `Broadcast` request is one
    /// stream (the Gateway opens one per submit, F internal/pkg/gateway/submit.go broadcast),
    /// and the connection carrying it is the Gateway's gRPC connection to this node, which
    /// other submits share. Closing it would fail theirs as "connection lost".
    fn answer(&mut self, ticket: BroadcastTicket, response: BroadcastResponse) {
        match self.queued.remove(&ticket) {
            Some(Pending::Framed(connection, id)) => {
                self.links
                    .send(connection, &Wire::BroadcastReply { id, response });
            }
            Some(Pending::GrpcWeb(reply)) => {
                let _ = reply.send(response);
            }
            None => {}
        }
    }

    /// chain.go forwardToLeader: SUCCESS once the envelope is written to the stream to the
    /// leader (the leader never acknowledges it), SERVICE_UNAVAILABLE when that does not
    /// happen within General.Cluster.RPCTimeout (no stream, a stream stuck on a full send
    /// buffer) or the stream breaks first.
    fn forward(
        &mut self,
        to: u64,
        message: crate::fabric::orderer::ClusterMessage,
        ticket: BroadcastTicket,
    ) {
        let timeout = self.program.ordering.rpc_timeout;
        let reported = self
            .links
            .send_reported_to(&Peer::ConsenterOut(to), &Wire::Cluster(message));
        if reported.is_none() {
            self.redial(to);
        }
        let forwarded = self.forwarded.clone();
        tokio::task::spawn_local(async move {
            let result = match reported {
                Some(reported) => match tokio::time::timeout(timeout, reported).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err("EOF".to_string()),
                    Err(_) => Err(format!(
                        "timed out ({timeout:?}) waiting on forwarding to {to}"
                    )),
                },
                // cluster/rpc.go: no stream, no report; the follower waits out its timer.
                None => {
                    tokio::time::sleep(timeout).await;
                    Err(format!(
                        "timed out ({timeout:?}) waiting on forwarding to {to}"
                    ))
                }
            };
            let _ = forwarded.send((ticket, result));
        });
    }

    /// Dials consenter `to` again (after a failed send).
    fn redial(&mut self, to: u64) {
        let consenter = self
            .node
            .channel_config()
            .orderer
            .consenters
            .get(to as usize - 1)
            .cloned();
        if let Some(consenter) = consenter {
            self.links.dial(
                Peer::ConsenterOut(to),
                &consenter.endpoint.host,
                consenter.endpoint.port,
                DIAL_TIMEOUT,
            );
        }
    }
}

fn refusal(status: Status) -> BroadcastResponse {
    BroadcastResponse {
        status,
        info: status.to_string(),
    }
}
