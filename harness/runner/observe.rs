//! What the harness observes, through the interfaces a real network offers: each peer's
//! channel info (`peer channel getinfo`: qscc GetChainInfo over the grpc-web proxy, asked
//! with an identity of the peer's own organization, as Fabric requires), discovery's peer
//! membership, the peers' and ordering nodes' Prometheus metrics, and at the end every peer's
//! blocks (qscc GetBlockByNumber). Each observation becomes a history event.

use super::network::{Network, PeerRecord};
use crate::console::peer_admin::{GrpcWebPeerAdmin, PeerAdmin};
use crate::fabric::crypto::SigningIdentity;
use crate::fabric::invocation::Invocation;
use crate::fabric::ledger::ChainInfo;
use crate::fabric::types::{decode, Block, Envelope, Payload, ValidationCode};
use crate::history::{
    BlockRecord, ChainRecord, EventKind, KnownPeer, LedgerInfo, MembershipRecord, OrdererStatus,
    PeerStatus,
};
use crate::net::frame::Keepalive;
use crate::net::http::HttpClient;
use crate::node::links::call_once;
use crate::node::ops::scrape_gauge;
use crate::node::wire::{DiscoverRequest, Wire, PEER_PORT};
use crate::substrate::world::World;
use bytes::Bytes;
use std::rc::Rc;
use std::time::Duration;

/// How long one observation may take before the node counts as unreachable.
const OBSERVATION_TIMEOUT: Duration = Duration::from_secs(2);
/// Keepalive of the harness's one-off connections (they never live long enough to ping).
const KEEPALIVE: Keepalive = Keepalive {
    interval: Duration::from_secs(60),
    timeout: Duration::from_secs(20),
};

pub struct Observer {
    world: Rc<dyn World>,
    network: Rc<Network>,
    admin: GrpcWebPeerAdmin,
    http: HttpClient,
}

impl Observer {
    pub fn new(world: Rc<dyn World>, network: Rc<Network>, seed: u64) -> Observer {
        let http = HttpClient::new(world.net());
        let epoch = tokio::time::Instant::now() - world.clock().now();
        Observer {
            admin: GrpcWebPeerAdmin::new(http.clone(), OBSERVATION_TIMEOUT, epoch, seed),
            http,
            world,
            network,
        }
    }

    fn observer_for(&self, peer: &PeerRecord) -> &SigningIdentity {
        &self.network.observers[&peer.msp_id]
    }

    /// One peer's channel info, or None when it did not answer.
    pub async fn chain_info(&self, peer: &PeerRecord) -> Option<ChainInfo> {
        self.admin
            .channel_info(
                &peer.component,
                &self.network.channel_id,
                self.observer_for(peer),
            )
            .await
            .ok()
    }

    /// Every running peer's height and tip, in parallel.
    pub async fn ledger_round(self: &Rc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, peer) in self.network.peers.iter().enumerate() {
            if !self.world.nodes().contains(&peer.name) {
                continue;
            }
            let observer = self.clone();
            tasks.spawn_local(async move {
                let peer = &observer.network.peers[index];
                let event = match observer.chain_info(peer).await {
                    Some(info) => EventKind::LedgerInfo(LedgerInfo {
                        peer: peer.name.clone(),
                        channel: observer.network.channel_id.clone(),
                        height: info.height,
                        current_block_hash: hex::encode(info.current_block_hash),
                    }),
                    None => EventKind::Unreachable {
                        node: peer.name.clone(),
                        what: "channel info".into(),
                    },
                };
                observer.world.record(event);
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Whom each running peer knows on the channel (discovery's peer membership).
    pub async fn membership_round(self: &Rc<Self>) -> Vec<MembershipRecord> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, peer) in self.network.peers.iter().enumerate() {
            if !self.world.nodes().contains(&peer.name) {
                continue;
            }
            let observer = self.clone();
            tasks.spawn_local(async move { observer.membership(index).await });
        }
        let mut records = Vec::new();
        while let Some(Ok(record)) = tasks.join_next().await {
            records.extend(record);
        }
        records.sort_by(|a, b| a.peer.cmp(&b.peer));
        records
    }

    async fn membership(&self, index: usize) -> Option<MembershipRecord> {
        let peer = &self.network.peers[index];
        let identity = self.observer_for(peer);
        let requester = identity.serialized();
        let channel_id = self.network.channel_id.clone();
        let signature = identity.sign(&DiscoverRequest::signed_bytes(&channel_id, &requester));
        let request = Wire::Discover(DiscoverRequest {
            id: 0,
            channel_id: channel_id.clone(),
            requester,
            signature,
        });
        let reply = call_once(
            &self.world.net(),
            &peer.name,
            PEER_PORT,
            &request,
            KEEPALIVE,
            OBSERVATION_TIMEOUT,
        )
        .await;
        let event = match reply {
            Ok(Wire::DiscoverReply {
                reply: Ok(peers), ..
            }) => {
                let own = format!("{}:{PEER_PORT}", peer.name);
                let mut known: Vec<KnownPeer> = peers
                    .into_iter()
                    .filter(|p| p.endpoint != own)
                    .map(|p| KnownPeer {
                        endpoint: p.endpoint,
                        msp_id: p.msp_id,
                    })
                    .collect();
                known.sort();
                let record = MembershipRecord {
                    peer: peer.name.clone(),
                    msp_id: peer.msp_id.clone(),
                    channel: channel_id,
                    known,
                };
                self.world.record(EventKind::Membership(record.clone()));
                return Some(record);
            }
            Ok(other) => EventKind::Unreachable {
                node: peer.name.clone(),
                what: format!("discovery answered {other:?}"),
            },
            Err(why) => EventKind::Unreachable {
                node: peer.name.clone(),
                what: format!("discovery: {why}"),
            },
        };
        self.world.record(event);
        None
    }

    /// Each running ordering node's Raft view, from its Prometheus metrics, in parallel (an
    /// unreachable node must not delay the others' samples by the observation timeout).
    /// Returns the views of the nodes that answered.
    pub async fn orderer_round(self: &Rc<Self>) -> Vec<OrdererStatus> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, orderer) in self.network.orderers.iter().enumerate() {
            if !self.world.nodes().contains(&orderer.display_name) {
                continue;
            }
            let Some(operations) = orderer.operations_url.clone() else {
                continue;
            };
            let observer = self.clone();
            tasks.spawn_local(async move {
                let node = observer.network.orderers[index].display_name.clone();
                match observer.metrics(&operations).await {
                    Ok(text) => {
                        let channel = &observer.network.channel_id;
                        let gauge =
                            |name| scrape_gauge(&text, name, channel).unwrap_or_default() as u64;
                        let status = OrdererStatus {
                            node,
                            is_leader: gauge("consensus_etcdraft_is_leader") == 1,
                            committed_block_number: gauge(
                                "consensus_etcdraft_committed_block_number",
                            ),
                            active_nodes: gauge("consensus_etcdraft_active_nodes"),
                        };
                        observer
                            .world
                            .record(EventKind::OrdererStatus(status.clone()));
                        Some(status)
                    }
                    Err(what) => {
                        observer.world.record(EventKind::Unreachable { node, what });
                        None
                    }
                }
            });
        }
        let mut statuses = Vec::new();
        while let Some(status) = tasks.join_next().await {
            statuses.extend(status.ok().flatten());
        }
        statuses
    }

    /// Each running peer's gossip metrics, in parallel. A peer that does not answer is left
    /// out: the ledger round already records it as unreachable.
    pub async fn peer_round(self: &Rc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, peer) in self.network.peers.iter().enumerate() {
            if !self.world.nodes().contains(&peer.name) {
                continue;
            }
            let Some(operations) = peer.component.operations_url.clone() else {
                continue;
            };
            let observer = self.clone();
            tasks.spawn_local(async move {
                let Ok(text) = observer.metrics(&operations).await else {
                    return;
                };
                let channel = &observer.network.channel_id;
                let Some(known) =
                    scrape_gauge(&text, "gossip_membership_total_peers_known", channel)
                else {
                    return;
                };
                observer.world.record(EventKind::PeerStatus(PeerStatus {
                    peer: observer.network.peers[index].name.clone(),
                    channel: channel.clone(),
                    membership_total_peers_known: known as u64,
                }));
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    /// The Prometheus text of a node's operations endpoint, or why there is none.
    async fn metrics(&self, operations_url: &str) -> Result<String, String> {
        let request = http::Request::get(format!("{operations_url}/metrics"))
            .body(Bytes::new())
            .expect("a valid request");
        match self.http.send(request, OBSERVATION_TIMEOUT).await {
            Ok(response) if response.status() == 200 => {
                Ok(String::from_utf8_lossy(response.body()).into_owned())
            }
            Ok(response) => Err(format!("metrics answered HTTP {}", response.status())),
            Err(e) => Err(format!("metrics: {e}")),
        }
    }

    /// Every running peer's whole chain: block hashes and the transactions it validated.
    pub async fn chains(self: &Rc<Self>) {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, peer) in self.network.peers.iter().enumerate() {
            if !self.world.nodes().contains(&peer.name) {
                continue;
            }
            let observer = self.clone();
            tasks.spawn_local(async move { observer.chain(index).await });
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn chain(&self, index: usize) {
        let peer = &self.network.peers[index];
        let Some(info) = self.chain_info(peer).await else {
            self.world.record(EventKind::Unreachable {
                node: peer.name.clone(),
                what: "chain at the end of the run".into(),
            });
            return;
        };
        let identity = self.observer_for(peer);
        let mut blocks = Vec::with_capacity(info.height as usize);
        for number in 0..info.height {
            let invocation = Invocation::GetBlockByNumber {
                channel_id: self.network.channel_id.clone(),
                number,
            };
            match self
                .admin
                .query::<Block>(&peer.component, &invocation, identity)
                .await
            {
                Ok(block) => blocks.push(block_record(&block)),
                Err(e) => {
                    self.world.record(EventKind::Unreachable {
                        node: peer.name.clone(),
                        what: format!("block {number}: {e}"),
                    });
                    return;
                }
            }
        }
        self.world.record(EventKind::Chain(ChainRecord {
            peer: peer.name.clone(),
            channel: self.network.channel_id.clone(),
            blocks,
        }));
    }
}

/// A block as the history keeps it: number, hash and the IDs of its valid transactions.
pub fn block_record(block: &Block) -> BlockRecord {
    let valid_tx_ids = block
        .data
        .iter()
        .enumerate()
        .filter(|(index, _)| {
            block.metadata.transactions_filter.get(*index) == Some(&ValidationCode::Valid)
        })
        .filter_map(|(_, bytes)| {
            let envelope: Envelope = decode(bytes).ok()?;
            let payload: Payload = decode(&envelope.payload).ok()?;
            Some(payload.header.tx_id)
        })
        .collect();
    BlockRecord {
        number: block.number(),
        hash: hex::encode(block.hash()),
        valid_tx_ids,
    }
}
