//! A deterministic in-process network for gossip cores: a discrete-event driver that plays the
//! shell's part for several `GossipNode`s and a simulated ordering service.
//!
//! - Links: a fixed one-way latency per region pair (plus optional random jitter and loss);
//!   regions can be cut off from each other (partition) or go down entirely.
//! - Connections: one per peer pair, set up by a dial (ConnEstablish both ways); a host that
//!   is down or cut off swallows messages on existing connections (no error, like TCP to a
//!   silent host) and makes dials time out after dialTimeout; a restarted peer resets the old
//!   connections (the first send on one fails).
//! - Crash drops a core; restart creates an empty one (membership is not persisted) that joins
//!   the channel again with its persisted ledger.
//! - The ordering service is one chain served by every orderer endpoint; a block is cut every
//!   `block_interval` while the workload runs. A deliver stream that stops reaching its peer
//!   ends after the deliver client's keepalive (interval + timeout), as gRPC would.

use hadr::fabric::config::FabricConfig;
use hadr::fabric::crypto::{sha256, SerializedIdentity};
use hadr::fabric::deliver_wire::{DeliverResponse, SeekPosition, Status};
use hadr::fabric::gossip::{
    ChannelMember, ConnEstablish, DeliverConnection, GossipMessage, GossipNode, LedgerBlocks,
    MessageCryptoService, Output, PeerSelf, PkiId,
};
use hadr::fabric::types::{
    ApplicationOrg, Block, BlockHeader, BlockMetadata, ChannelConfig, Endpoint, MetadataSignature,
    MspDefinition, OrdererSection,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;
use std::time::Duration;

pub const CHANNEL: &str = "channel1";
pub const REGIONS: [&str; 3] = ["us-east", "us-west", "ca-central"];

pub fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A test signature: a keyed hash, so only the holder of `key` (the certificate bytes
/// here) makes it. Stands in for ECDSA; the cores only see the trait.
pub fn fake_signature(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut bytes = key.to_vec();
    bytes.extend_from_slice(message);
    sha256(&bytes)[..16].to_vec()
}

const ORDERER_KEY: &[u8] = b"orderer0";

/// Test MSP and signer: identities of known orgs are valid, signatures are keyed hashes,
/// blocks must carry the orderer's signature over their header.
pub struct FakeCrypto {
    me: SerializedIdentity,
    orgs: BTreeSet<String>,
}

impl FakeCrypto {
    pub fn new(me: SerializedIdentity, orgs: &[&str]) -> FakeCrypto {
        FakeCrypto {
            me,
            orgs: orgs.iter().map(|o| o.to_string()).collect(),
        }
    }
}

impl MessageCryptoService for FakeCrypto {
    fn validate_peer_identity(&self, identity: &SerializedIdentity) -> Result<String, String> {
        if self.orgs.contains(&identity.msp_id) {
            Ok(identity.msp_id.clone())
        } else {
            Err(format!("unknown MSP {}", identity.msp_id))
        }
    }

    fn verify(&self, identity: &SerializedIdentity, message: &[u8], signature: &[u8]) -> bool {
        fake_signature(&identity.certificate_der, message) == signature
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        fake_signature(&self.me.certificate_der, message)
    }

    fn verify_block(&self, _channel_id: &str, block: &Block) -> Result<(), String> {
        let expected = fake_signature(ORDERER_KEY, &block.header.hash());
        let signed = block
            .metadata
            .signatures
            .iter()
            .any(|s| s.signature == expected);
        let data_ok = Block::compute_data_hash(&block.data) == block.header.data_hash;
        (signed && data_ok)
            .then_some(())
            .ok_or_else(|| format!("block {} is not the orderer's", block.number()))
    }
}

/// Block `number` after `previous`, with `transactions` envelopes, signed by the orderer.
pub fn make_block(number: u64, previous: Option<&Block>, transactions: usize) -> Arc<Block> {
    let data: Vec<Vec<u8>> = (0..transactions)
        .map(|i| format!("tx-{number}-{i}-{}", "x".repeat(200)).into_bytes())
        .collect();
    let header = BlockHeader {
        number,
        previous_hash: previous.map(|b| b.hash()).unwrap_or([0; 32]),
        data_hash: Block::compute_data_hash(&data),
    };
    let signature = fake_signature(ORDERER_KEY, &header.hash());
    Arc::new(Block {
        header,
        data,
        metadata: BlockMetadata {
            signatures: vec![MetadataSignature {
                signer: SerializedIdentity {
                    msp_id: "OrdererMSP".into(),
                    certificate_der: ORDERER_KEY.to_vec(),
                },
                signature,
            }],
            last_config: 0,
            transactions_filter: Vec::new(),
        },
    })
}

/// A peer's committed blocks; they survive restarts.
#[derive(Default)]
pub struct TestLedger {
    pub blocks: Vec<Arc<Block>>,
}

impl LedgerBlocks for TestLedger {
    fn height(&self) -> u64 {
        self.blocks.len() as u64
    }
    fn block(&self, number: u64) -> Option<Arc<Block>> {
        self.blocks.get(number as usize).cloned()
    }
}

impl TestLedger {
    fn commit(&mut self, block: Arc<Block>) {
        assert_eq!(
            block.number(),
            self.height(),
            "blocks reach the committer in order"
        );
        if let Some(last) = self.blocks.last() {
            assert_eq!(block.header.previous_hash, last.hash(), "hash chain");
        }
        self.blocks.push(block);
    }
}

/// One peer of the topology.
#[derive(Clone, Debug)]
pub struct PeerSpec {
    pub name: String,
    pub msp_id: String,
    pub region: String,
    pub anchor: bool,
    /// Whether peer.gossip.externalEndpoint is set (to the peer's address).
    pub external: bool,
    /// Per-peer core.yaml overrides.
    pub config: FabricConfig,
    /// peer.gossip.bootstrap
    pub bootstrap: Vec<String>,
}

impl PeerSpec {
    pub fn new(index: u32, org: u32, region: &str, config: &FabricConfig) -> PeerSpec {
        PeerSpec {
            name: format!("peer{index}.org{org}.{region}"),
            msp_id: format!("Org{org}MSP"),
            region: region.to_string(),
            anchor: true,
            external: true,
            config: config.clone(),
            bootstrap: Vec::new(),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("{}:7051", self.name)
    }

    pub fn identity(&self) -> SerializedIdentity {
        SerializedIdentity {
            msp_id: self.msp_id.clone(),
            certificate_der: format!("cert:{}", self.name).into_bytes(),
        }
    }
}

/// `orgs` organizations with one peer per region each (`peer0.orgN.region`), all anchors.
pub fn two_org_topology(config: &FabricConfig) -> Vec<PeerSpec> {
    let mut peers = Vec::new();
    for org in 1..=2 {
        for region in REGIONS {
            peers.push(PeerSpec::new(0, org, region, config));
        }
    }
    peers
}

struct Peer {
    spec: PeerSpec,
    identity: SerializedIdentity,
    pki_id: PkiId,
    node: Option<GossipNode>,
    incarnation: u64,
    ledger: TestLedger,
}

struct Orderer {
    endpoint: String,
    region: String,
    up: bool,
    /// Refuse connections at once instead of timing out (a stopped process on a live host).
    refusing: bool,
}

struct Stream {
    peer: usize,
    incarnation: u64,
    connection: DeliverConnection,
    orderer: usize,
    next: Option<u64>,
    stalled_since: Option<Duration>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ConnKey(usize, usize);

impl ConnKey {
    fn new(a: usize, b: usize) -> ConnKey {
        ConnKey(a.min(b), a.max(b))
    }
}

/// Both ends' incarnations when the connection was made.
struct Conn {
    incarnations: BTreeMap<usize, u64>,
}

/// An input for one incarnation of a peer.
enum Input {
    Gossip {
        from: PkiId,
        message: GossipMessage,
    },
    Established {
        dialled: Option<String>,
        handshake: ConnEstablish,
    },
    DialFailed {
        endpoint: String,
        pki_id: Option<PkiId>,
    },
    OrdererConnected {
        connection: DeliverConnection,
    },
    OrdererFailed {
        connection: DeliverConnection,
        ended: bool,
    },
    OrdererResponse {
        connection: DeliverConnection,
        response: DeliverResponse,
    },
}

enum Event {
    ToPeer {
        to: usize,
        incarnation: u64,
        input: Input,
    },
    CutBlock,
    KeepaliveCheck,
}

/// What the driver saw, for assertions.
#[derive(Default)]
pub struct Trace {
    /// (time, peer, output kind) of every output, for determinism checks.
    pub digest: Vec<u8>,
    pub messages_delivered: u64,
    pub messages_by_kind: BTreeMap<&'static str, u64>,
    /// (receiver, origin) of every alive message delivered, directly or in a membership
    /// response.
    pub alive_seen: BTreeSet<(usize, PkiId)>,
    /// (sender org, receiver org) of every block-carrying or pull message delivered.
    pub block_flows: BTreeSet<(String, String, &'static str)>,
    /// (time, peer, endpoint) of every orderer connect.
    pub orderer_connects: Vec<(Duration, usize, String)>,
    /// (time, peer, is_leader) of every leadership change.
    pub leadership: Vec<(Duration, usize, bool)>,
    /// (time, peer) of every MembershipChanged.
    pub membership_changes: Vec<(Duration, usize, usize)>,
}

pub struct Net {
    pub now: Duration,
    peers: Vec<Peer>,
    orderers: Vec<Orderer>,
    chain: Vec<Arc<Block>>,
    streams: Vec<Stream>,
    queue: BinaryHeap<Reverse<(Duration, u64)>>,
    events: BTreeMap<u64, Event>,
    next_event: u64,
    connections: BTreeMap<ConnKey, Conn>,
    down_regions: BTreeSet<String>,
    cut_links: BTreeSet<(String, String)>,
    config: ChannelConfig,
    rng: ChaCha8Rng,
    seed: u64,
    pub jitter_max: Duration,
    pub loss_probability: f64,
    pub block_interval: Option<Duration>,
    pub transactions_per_block: usize,
    pub trace: Trace,
}

/// One-way latency between regions, in the spirit of fixtures/latency (same region 1 ms).
pub fn latency(a: &str, b: &str) -> Duration {
    if a == b {
        return ms(1);
    }
    let pair = if a < b { (a, b) } else { (b, a) };
    match pair {
        ("ca-central", "us-east") => ms(12),
        ("ca-central", "us-west") => ms(35),
        ("us-east", "us-west") => ms(32),
        _ => ms(40),
    }
}

impl Net {
    /// A network of `peers` and one orderer per region in `orderer_regions`, every peer
    /// started and joined to the channel at time 0 with the genesis block.
    pub fn new(peers: Vec<PeerSpec>, orderer_regions: &[&str], seed: u64) -> Net {
        let mut net = Net::build(peers, orderer_regions, seed);
        net.start_all();
        net
    }

    /// Every peer starts and joins the channel (after `build`).
    pub fn start_all(&mut self) {
        for index in 0..self.peers.len() {
            self.start(index);
        }
    }

    /// The network with no peer started yet.
    pub fn build(peers: Vec<PeerSpec>, orderer_regions: &[&str], seed: u64) -> Net {
        let orderers: Vec<Orderer> = orderer_regions
            .iter()
            .enumerate()
            .map(|(i, region)| Orderer {
                endpoint: format!("orderer{i}.{region}:7050"),
                region: region.to_string(),
                up: true,
                refusing: false,
            })
            .collect();
        let endpoints: Vec<&str> = orderers.iter().map(|o| o.endpoint.as_str()).collect();
        let config = channel_config(&peers, &endpoints);
        let genesis = make_block(0, None, 1);
        let mut net = Net {
            now: Duration::ZERO,
            peers: peers
                .into_iter()
                .map(|spec| {
                    let identity = spec.identity();
                    Peer {
                        pki_id: PkiId::of(&identity),
                        identity,
                        spec,
                        node: None,
                        incarnation: 0,
                        ledger: TestLedger {
                            blocks: vec![Arc::clone(&genesis)],
                        },
                    }
                })
                .collect(),
            orderers,
            chain: vec![genesis],
            streams: Vec::new(),
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_event: 0,
            connections: BTreeMap::new(),
            down_regions: BTreeSet::new(),
            cut_links: BTreeSet::new(),
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            seed,
            jitter_max: Duration::ZERO,
            loss_probability: 0.0,
            block_interval: None,
            transactions_per_block: 40,
            trace: Trace::default(),
        };
        net.schedule(s(5), Event::KeepaliveCheck);
        net
    }

    pub fn index(&self, name: &str) -> usize {
        self.peers
            .iter()
            .position(|p| p.spec.name == name)
            .unwrap_or_else(|| panic!("no peer {name}"))
    }

    pub fn names(&self) -> Vec<String> {
        self.peers.iter().map(|p| p.spec.name.clone()).collect()
    }

    pub fn pki_id(&self, name: &str) -> PkiId {
        self.peers[self.index(name)].pki_id
    }

    pub fn spec(&self, name: &str) -> &PeerSpec {
        &self.peers[self.index(name)].spec
    }

    pub fn node(&self, name: &str) -> &GossipNode {
        self.peers[self.index(name)]
            .node
            .as_ref()
            .unwrap_or_else(|| panic!("{name} is down"))
    }

    pub fn is_up(&self, name: &str) -> bool {
        self.peers[self.index(name)].node.is_some()
    }

    /// Names of the channel peers `name` lists (discovery's view).
    pub fn membership(&self, name: &str) -> BTreeSet<String> {
        self.node(name)
            .membership()
            .iter()
            .map(|m| self.name_of(&m.pki_id))
            .collect()
    }

    pub fn members(&self, name: &str) -> Vec<ChannelMember> {
        self.node(name).membership()
    }

    /// Names of every member `name`'s discovery knows, alive or dead.
    pub fn known(&self, name: &str) -> BTreeSet<String> {
        self.node(name)
            .known_members()
            .iter()
            .map(|m| self.name_of(&m.pki_id))
            .collect()
    }

    pub fn name_of(&self, pki_id: &PkiId) -> String {
        self.peers
            .iter()
            .find(|p| p.pki_id == *pki_id)
            .map(|p| p.spec.name.clone())
            .unwrap_or_else(|| format!("unknown {pki_id}"))
    }

    pub fn height(&self, name: &str) -> u64 {
        self.peers[self.index(name)].ledger.height()
    }

    pub fn chain_height(&self) -> u64 {
        self.chain.len() as u64
    }

    pub fn leaders(&self) -> Vec<String> {
        self.peers
            .iter()
            .filter(|p| p.node.as_ref().is_some_and(GossipNode::is_leader))
            .map(|p| p.spec.name.clone())
            .collect()
    }

    pub fn up_peers(&self) -> Vec<String> {
        self.peers
            .iter()
            .filter(|p| p.node.is_some())
            .map(|p| p.spec.name.clone())
            .collect()
    }

    fn start(&mut self, index: usize) {
        let now = self.now;
        let peer = &mut self.peers[index];
        peer.incarnation += 1;
        let spec = &peer.spec;
        let crypto = FakeCrypto {
            me: peer.identity.clone(),
            orgs: self.config.application.keys().cloned().collect(),
        };
        let rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ (index as u64) << 32 ^ peer.incarnation << 48);
        let mut node = GossipNode::new(
            &spec.config,
            PeerSelf {
                identity: peer.identity.clone(),
                endpoint: spec.endpoint(),
                external_endpoint: if spec.external {
                    spec.endpoint()
                } else {
                    String::new()
                },
                bootstrap_peers: spec.bootstrap.clone(),
            },
            Box::new(crypto),
            rng,
            now,
        )
        .expect("valid peer");
        node.join_channel(now, &self.config, peer.ledger.height())
            .expect("org in channel");
        peer.node = Some(node);
        self.drain(index);
    }

    /// Stops a peer's process; its ledger stays.
    pub fn crash(&mut self, name: &str) {
        let index = self.index(name);
        self.peers[index].node = None;
        self.streams.retain(|s| s.peer != index);
    }

    /// Starts a crashed peer again: empty membership, same ledger.
    pub fn restart(&mut self, name: &str) {
        let index = self.index(name);
        assert!(self.peers[index].node.is_none(), "{name} is running");
        self.start(index);
    }

    /// Every host of the region becomes unreachable (processes keep running).
    pub fn region_down(&mut self, region: &str) {
        self.down_regions.insert(region.to_string());
    }

    pub fn region_up(&mut self, region: &str) {
        self.down_regions.remove(region);
    }

    pub fn partition(&mut self, a: &str, b: &str) {
        self.cut_links.insert((a.to_string(), b.to_string()));
        self.cut_links.insert((b.to_string(), a.to_string()));
    }

    pub fn repair(&mut self, a: &str, b: &str) {
        self.cut_links.remove(&(a.to_string(), b.to_string()));
        self.cut_links.remove(&(b.to_string(), a.to_string()));
    }

    pub fn heal(&mut self) {
        self.cut_links.clear();
        self.down_regions.clear();
    }

    pub fn orderer_down(&mut self, index: usize, refusing: bool) {
        self.orderers[index].up = false;
        self.orderers[index].refusing = refusing;
    }

    /// The orderer ends every deliver stream it serves with `status`.
    pub fn orderer_status(&mut self, orderer: usize, status: Status) {
        let delay_of = |net: &Net, stream: &Stream| {
            latency(
                &net.orderers[orderer].region,
                &net.peers[stream.peer].spec.region,
            )
        };
        let (ending, kept): (Vec<Stream>, Vec<Stream>) = std::mem::take(&mut self.streams)
            .into_iter()
            .partition(|s| s.orderer == orderer);
        self.streams = kept;
        for stream in ending {
            let delay = delay_of(self, &stream);
            let input = Input::OrdererResponse {
                connection: stream.connection,
                response: DeliverResponse::Status(status),
            };
            self.schedule_input(delay, stream.peer, stream.incarnation, input);
        }
    }

    pub fn start_workload(&mut self, interval: Duration) {
        self.block_interval = Some(interval);
        self.schedule(interval, Event::CutBlock);
    }

    pub fn stop_workload(&mut self) {
        self.block_interval = None;
    }

    /// A new channel config (e.g. other anchor peers), delivered to every running peer.
    pub fn update_anchors(&mut self, anchors: &[&str]) {
        self.config.sequence += 1;
        for org in self.config.application.values_mut() {
            org.anchor_peers.clear();
        }
        for name in anchors {
            let spec = self.spec(name).clone();
            let org = self.config.application.get_mut(&spec.msp_id).unwrap();
            org.anchor_peers.push(Endpoint {
                host: spec.name.clone(),
                port: 7051,
            });
        }
        let now = self.now;
        for index in 0..self.peers.len() {
            if let Some(node) = self.peers[index].node.as_mut() {
                node.update_channel_config(now, &self.config);
                self.drain(index);
            }
        }
    }

    /// Delivers `message` to `to` as if `from` had sent it (to play a misbehaving peer).
    pub fn inject(&mut self, from: &str, to: &str, message: GossipMessage) {
        let (from, to) = (self.index(from), self.index(to));
        let from_pki = self.peers[from].pki_id;
        let delay = self.link_delay(from, to);
        self.transmit(to, from_pki, message, delay);
    }

    fn reachable(&self, a: &str, b: &str) -> bool {
        !self.down_regions.contains(a)
            && !self.down_regions.contains(b)
            && !self.cut_links.contains(&(a.to_string(), b.to_string()))
    }

    fn peers_reachable(&self, a: usize, b: usize) -> bool {
        self.reachable(&self.peers[a].spec.region, &self.peers[b].spec.region)
    }

    fn schedule(&mut self, after: Duration, event: Event) {
        let id = self.next_event;
        self.next_event += 1;
        self.queue.push(Reverse((self.now + after, id)));
        self.events.insert(id, event);
    }

    fn schedule_input(&mut self, after: Duration, to: usize, incarnation: u64, input: Input) {
        self.schedule(
            after,
            Event::ToPeer {
                to,
                incarnation,
                input,
            },
        );
    }

    fn link_delay(&mut self, a: usize, b: usize) -> Duration {
        let base = latency(&self.peers[a].spec.region, &self.peers[b].spec.region);
        if self.jitter_max.is_zero() {
            return base;
        }
        let jitter = self
            .rng
            .random_range(0..=self.jitter_max.as_micros() as u64);
        base + Duration::from_micros(jitter)
    }

    /// Runs until `until`, handling events and timers in time order.
    pub fn run_until(&mut self, until: Duration) {
        loop {
            let next_event = self.queue.peek().map(|Reverse((t, _))| *t);
            let next_timer = self
                .peers
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.node.as_ref()?.next_deadline().map(|d| (d, i)))
                .min();
            let event_first = match (next_event, next_timer) {
                (Some(e), Some((t, _))) => e <= t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let at = if event_first {
                next_event.unwrap()
            } else {
                next_timer.unwrap().0
            };
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            if event_first {
                let Reverse((_, id)) = self.queue.pop().unwrap();
                let event = self.events.remove(&id).unwrap();
                self.handle_event(event);
            } else {
                let index = next_timer.unwrap().1;
                let now = self.now;
                self.peers[index].node.as_mut().unwrap().handle_timeout(now);
                self.drain(index);
            }
        }
        self.now = until;
    }

    /// Runs for `duration` more.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(self.now + duration);
    }

    /// Runs in `step`s until `done` holds or `limit` passes; returns the time it held.
    pub fn run_until_true(
        &mut self,
        step: Duration,
        limit: Duration,
        mut done: impl FnMut(&Net) -> bool,
    ) -> Option<Duration> {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return Some(self.now);
            }
            self.run_for(step);
        }
        done(self).then_some(self.now)
    }

    fn live(&self, index: usize, incarnation: u64) -> bool {
        self.peers[index].node.is_some() && self.peers[index].incarnation == incarnation
    }

    fn handle_event(&mut self, event: Event) {
        let now = self.now;
        match event {
            Event::ToPeer {
                to,
                incarnation,
                input,
            } => {
                if !self.live(to, incarnation) {
                    return;
                }
                if let Input::Gossip { from, message } = &input {
                    self.record_delivery(to, from, message);
                }
                let peer = &mut self.peers[to];
                let node = peer.node.as_mut().unwrap();
                match input {
                    Input::Gossip { from, message } => {
                        node.handle_message(now, from, message, &peer.ledger)
                    }
                    Input::Established { dialled, handshake } => {
                        let result =
                            node.handle_conn_establish(now, dialled.as_deref(), &handshake);
                        assert!(result.is_ok(), "handshake refused: {result:?}");
                    }
                    Input::DialFailed { endpoint, pki_id } => {
                        node.handle_dial_failed(now, &endpoint, pki_id)
                    }
                    Input::OrdererConnected { connection } => {
                        node.handle_orderer_connected(now, connection)
                    }
                    Input::OrdererFailed {
                        connection,
                        ended: true,
                    } => node.handle_orderer_stream_ended(now, connection),
                    Input::OrdererFailed { connection, .. } => {
                        node.handle_orderer_connect_failed(now, connection)
                    }
                    Input::OrdererResponse {
                        connection,
                        response,
                    } => node.handle_orderer_response(now, connection, response),
                }
                self.drain(to);
            }
            Event::CutBlock => {
                let Some(interval) = self.block_interval else {
                    return;
                };
                let number = self.chain.len() as u64;
                let block = make_block(
                    number,
                    self.chain.last().map(|b| &**b),
                    self.transactions_per_block,
                );
                self.chain.push(block);
                self.serve_streams();
                self.schedule(interval, Event::CutBlock);
            }
            Event::KeepaliveCheck => {
                self.serve_streams();
                self.schedule(s(5), Event::KeepaliveCheck);
            }
        }
    }

    fn record_delivery(&mut self, to: usize, from: &PkiId, message: &GossipMessage) {
        self.trace.messages_delivered += 1;
        *self
            .trace
            .messages_by_kind
            .entry(message.kind())
            .or_default() += 1;
        match message {
            GossipMessage::Alive(alive) => {
                self.trace.alive_seen.insert((to, alive.alive.pki_id));
            }
            GossipMessage::MembershipResponse { alive, dead, .. } => {
                for entry in alive.iter().chain(dead) {
                    self.trace.alive_seen.insert((to, entry.alive.pki_id));
                }
            }
            GossipMessage::DataMessage { .. }
            | GossipMessage::DataDigest { .. }
            | GossipMessage::DataUpdate { .. }
            | GossipMessage::DataRequest { .. }
            | GossipMessage::PullHello { .. } => {
                let sender = self
                    .peers
                    .iter()
                    .find(|p| p.pki_id == *from)
                    .map(|p| p.spec.msp_id.clone())
                    .unwrap_or_default();
                let receiver = self.peers[to].spec.msp_id.clone();
                self.trace
                    .block_flows
                    .insert((sender, receiver, message.kind()));
            }
            _ => {}
        }
    }

    /// Sends every block a stream is due, or ends streams that cannot reach their peer for
    /// longer than the deliver client's keepalive.
    fn serve_streams(&mut self) {
        let keepalive = {
            let k = &self.peers[0].spec.config.keepalive;
            k.delivery_client_interval + k.delivery_client_timeout
        };
        let now = self.now;
        let mut ended = Vec::new();
        let mut sends = Vec::new();
        for (i, stream) in self.streams.iter_mut().enumerate() {
            let orderer = &self.orderers[stream.orderer];
            let peer = &self.peers[stream.peer];
            let ok = orderer.up
                && !self.down_regions.contains(&orderer.region)
                && !self.down_regions.contains(&peer.spec.region)
                && !self
                    .cut_links
                    .contains(&(orderer.region.clone(), peer.spec.region.clone()));
            if !ok {
                let since = *stream.stalled_since.get_or_insert(now);
                if now - since >= keepalive {
                    ended.push(i);
                }
                continue;
            }
            stream.stalled_since = None;
            let Some(next) = stream.next.as_mut() else {
                continue;
            };
            while (*next as usize) < self.chain.len() {
                sends.push((
                    stream.peer,
                    stream.incarnation,
                    stream.connection,
                    latency(&orderer.region, &peer.spec.region),
                    Arc::clone(&self.chain[*next as usize]),
                ));
                *next += 1;
            }
        }
        for (peer, incarnation, connection, delay, block) in sends {
            self.schedule_input(
                delay,
                peer,
                incarnation,
                Input::OrdererResponse {
                    connection,
                    response: DeliverResponse::Block((*block).clone()),
                },
            );
        }
        for i in ended.into_iter().rev() {
            let stream = self.streams.remove(i);
            self.schedule_input(
                Duration::ZERO,
                stream.peer,
                stream.incarnation,
                Input::OrdererFailed {
                    connection: stream.connection,
                    ended: true,
                },
            );
        }
    }

    /// Carries out a peer's outputs.
    fn drain(&mut self, index: usize) {
        while let Some(output) = self.peers[index]
            .node
            .as_mut()
            .and_then(GossipNode::poll_output)
        {
            self.trace_output(index, &output);
            self.carry_out(index, output);
        }
    }

    fn trace_output(&mut self, index: usize, output: &Output) {
        let kind: &[u8] = match output {
            Output::Send { message, .. } => message.kind().as_bytes(),
            Output::Handshake { .. } => b"handshake",
            Output::CloseConnection { .. } => b"close",
            Output::OrdererConnect { .. } => b"orderer_connect",
            Output::OrdererSend { .. } => b"orderer_send",
            Output::OrdererDisconnect { .. } => b"orderer_disconnect",
            Output::DeliverToCommitter(_) => b"commit",
            Output::MembershipChanged { .. } => b"membership",
            Output::LeadershipChanged { .. } => b"leadership",
        };
        let digest = &mut self.trace.digest;
        let mut bytes = digest.clone();
        bytes.extend_from_slice(&(self.now.as_micros() as u64).to_be_bytes());
        bytes.extend_from_slice(&(index as u64).to_be_bytes());
        bytes.extend_from_slice(kind);
        *digest = sha256(&bytes).to_vec();
    }

    fn carry_out(&mut self, index: usize, output: Output) {
        let now = self.now;
        let incarnation = self.peers[index].incarnation;
        match output {
            Output::Send {
                to,
                endpoint,
                message,
            } => self.send(index, to, endpoint, message),
            Output::Handshake { endpoint } => match self.resolve(&endpoint) {
                Some(target) if self.live_target(target) && self.peers_reachable(index, target) => {
                    let delay = self.link_delay(index, target) * 2;
                    let handshake = self.peers[target].node.as_ref().unwrap().conn_establish();
                    self.schedule_input(
                        delay,
                        index,
                        incarnation,
                        Input::Established {
                            dialled: Some(endpoint),
                            handshake,
                        },
                    );
                }
                _ => {
                    let dial_timeout = self.peers[index].spec.config.gossip.dial_timeout;
                    self.schedule_input(
                        dial_timeout,
                        index,
                        incarnation,
                        Input::DialFailed {
                            endpoint,
                            pki_id: None,
                        },
                    );
                }
            },
            Output::CloseConnection { pki_id } => {
                if let Some(target) = self.peers.iter().position(|p| p.pki_id == pki_id) {
                    self.connections.remove(&ConnKey::new(index, target));
                }
            }
            Output::OrdererConnect {
                connection,
                endpoint,
            } => {
                self.trace
                    .orderer_connects
                    .push((now, index, endpoint.clone()));
                let orderer = self
                    .orderers
                    .iter()
                    .position(|o| o.endpoint == endpoint)
                    .expect("known orderer");
                let o = &self.orderers[orderer];
                let delay = latency(&o.region, &self.peers[index].spec.region);
                let reachable = self.reachable(&o.region, &self.peers[index].spec.region);
                if o.up && reachable {
                    self.streams.push(Stream {
                        peer: index,
                        incarnation,
                        connection,
                        orderer,
                        next: None,
                        stalled_since: None,
                    });
                    self.schedule_input(
                        delay * 2,
                        index,
                        incarnation,
                        Input::OrdererConnected { connection },
                    );
                } else if o.refusing && reachable {
                    self.schedule_input(
                        delay * 2,
                        index,
                        incarnation,
                        Input::OrdererFailed {
                            connection,
                            ended: false,
                        },
                    );
                }
                // Otherwise the dial hangs; the client's connTimeout ends it.
            }
            Output::OrdererSend {
                connection,
                request,
            } => {
                assert_eq!(request.channel_id, CHANNEL);
                assert_eq!(request.requester, self.peers[index].identity);
                if let Some(stream) = self
                    .streams
                    .iter_mut()
                    .find(|s| s.peer == index && s.connection == connection)
                {
                    let SeekPosition::Specified(start) = request.start else {
                        panic!("the delivery client asks for a specified block");
                    };
                    stream.next = Some(start);
                }
                self.serve_streams();
            }
            Output::OrdererDisconnect { connection } => {
                self.streams
                    .retain(|s| !(s.peer == index && s.connection == connection));
            }
            Output::DeliverToCommitter(block) => {
                let peer = &mut self.peers[index];
                peer.ledger.commit(block);
                let height = peer.ledger.height();
                peer.node
                    .as_mut()
                    .unwrap()
                    .ledger_height_changed(now, height);
            }
            Output::MembershipChanged { current, .. } => {
                self.trace
                    .membership_changes
                    .push((now, index, current.len()));
            }
            Output::LeadershipChanged { is_leader } => {
                self.trace.leadership.push((now, index, is_leader));
            }
        }
    }

    fn resolve(&self, endpoint: &str) -> Option<usize> {
        self.peers
            .iter()
            .position(|p| p.spec.endpoint() == endpoint)
    }

    fn live_target(&self, target: usize) -> bool {
        self.peers[target].node.is_some()
    }

    fn send(&mut self, from: usize, to: PkiId, endpoint: Option<String>, message: GossipMessage) {
        let Some(target) = self.peers.iter().position(|p| p.pki_id == to) else {
            return;
        };
        let key = ConnKey::new(from, target);
        let from_incarnation = self.peers[from].incarnation;
        let from_pki = self.peers[from].pki_id;
        let dial_timeout = self.peers[from].spec.config.gossip.dial_timeout;
        let existing = self.connections.get(&key).map(|c| {
            (
                c.incarnations.get(&from) == Some(&from_incarnation),
                c.incarnations.get(&target) == Some(&self.peers[target].incarnation),
            )
        });
        match existing {
            Some((true, target_current)) => {
                let reachable = self.peers_reachable(from, target);
                if !reachable || !self.live_target(target) {
                    // A silent host: the message is lost without an error.
                    return;
                }
                if !target_current {
                    // The peer restarted: the old connection is reset.
                    self.connections.remove(&key);
                    let delay = self.link_delay(from, target) * 2;
                    self.schedule_input(
                        delay,
                        from,
                        from_incarnation,
                        Input::DialFailed {
                            endpoint: endpoint.unwrap_or_default(),
                            pki_id: Some(to),
                        },
                    );
                    return;
                }
                let delay = self.link_delay(from, target);
                self.transmit(target, from_pki, message, delay);
            }
            _ => {
                // No connection (or one from an earlier life of ours): dial.
                let Some(endpoint) = endpoint else {
                    return;
                };
                let dialled = self.resolve(&endpoint);
                let ok = dialled == Some(target)
                    && self.live_target(target)
                    && self.peers_reachable(from, target);
                if !ok {
                    self.schedule_input(
                        dial_timeout,
                        from,
                        from_incarnation,
                        Input::DialFailed {
                            endpoint,
                            pki_id: Some(to),
                        },
                    );
                    return;
                }
                let target_incarnation = self.peers[target].incarnation;
                self.connections.insert(
                    key,
                    Conn {
                        incarnations: BTreeMap::from([
                            (from, from_incarnation),
                            (target, target_incarnation),
                        ]),
                    },
                );
                let delay = self.link_delay(from, target);
                let their_handshake = self.peers[target].node.as_ref().unwrap().conn_establish();
                let our_handshake = self.peers[from].node.as_ref().unwrap().conn_establish();
                self.schedule_input(
                    delay,
                    target,
                    target_incarnation,
                    Input::Established {
                        dialled: None,
                        handshake: our_handshake,
                    },
                );
                self.schedule_input(
                    delay,
                    from,
                    from_incarnation,
                    Input::Established {
                        dialled: Some(endpoint),
                        handshake: their_handshake,
                    },
                );
                // The message follows the handshakes on the new connection.
                let message_delay = self.link_delay(from, target).max(delay);
                self.transmit(target, from_pki, message, message_delay);
            }
        }
    }

    fn transmit(
        &mut self,
        target: usize,
        from_pki: PkiId,
        message: GossipMessage,
        delay: Duration,
    ) {
        if self.loss_probability > 0.0 && self.rng.random_bool(self.loss_probability) {
            return;
        }
        let incarnation = self.peers[target].incarnation;
        self.schedule_input(
            delay,
            target,
            incarnation,
            Input::Gossip {
                from: from_pki,
                message,
            },
        );
    }
}

/// The channel's config: every org of `peers` with its anchor peers, and the orderer
/// endpoints.
pub fn channel_config(peers: &[PeerSpec], orderer_endpoints: &[&str]) -> ChannelConfig {
    let orgs: BTreeSet<String> = peers.iter().map(|p| p.msp_id.clone()).collect();
    let endpoint = |host_port: &str| {
        let (host, port) = host_port.rsplit_once(':').expect("host:port");
        Endpoint {
            host: host.into(),
            port: port.parse().expect("port"),
        }
    };
    let application = orgs
        .iter()
        .map(|org| {
            let anchor_peers = peers
                .iter()
                .filter(|p| &p.msp_id == org && p.anchor)
                .map(|p| endpoint(&p.endpoint()))
                .collect();
            let org_config = ApplicationOrg {
                msp: msp(org),
                anchor_peers,
            };
            (org.clone(), org_config)
        })
        .collect();
    ChannelConfig {
        channel_id: CHANNEL.into(),
        sequence: 1,
        orderer: OrdererSection {
            msp: msp("OrdererMSP"),
            endpoints: orderer_endpoints.iter().map(|e| endpoint(e)).collect(),
            consenters: Vec::new(),
            batch_timeout_ms: 2000,
            max_message_count: 500,
        },
        application,
    }
}

fn msp(msp_id: &str) -> MspDefinition {
    MspDefinition {
        msp_id: msp_id.to_string(),
        root_certs: Vec::new(),
        intermediate_certs: Vec::new(),
        admins: Vec::new(),
        tls_root_certs: Vec::new(),
        node_ous: true,
    }
}
