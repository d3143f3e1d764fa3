//! One channel's gossip (gossip/gossip/channel/channel.go, with gossip/state/state.go and the
//! delivery and election wiring of gossip/service/gossip_service.go):
//!
//! - state info: the own ledger height, published every publishStateInfoInterval when it
//!   changed, pulled from pullPeerNum peers every requestStateInfoInterval; entries of peers
//!   discovery no longer knows are swept every pullInterval x 5;
//! - blocks: a store of the last maxBlockCountToStore + 1 block numbers (entries expire after
//!   pullInterval x 100), fed by push and pull, answering pulls; blocks are verified before
//!   they are stored, forwarded or buffered, and never leave the organization;
//! - the payload buffer towards the committer, and state transfer when enabled;
//! - the membership tracker (gossip_membership_total_peers_known every
//!   membershipTrackerInterval, "Membership view has changed");
//! - the leader election (or the static leader) and the delivery client it drives.

use super::deliver::{DeliverAction, DeliverClient};
use super::discovery::{Discovery, Member};
use super::election::{Election, ElectionAction};
use super::message::{
    GossipMessage, LeadershipMessage, PeerTime, PkiId, SignedLeadership, SignedStateInfo, StateInfo,
};
use super::node::{random_selection, Env};
use super::pull::PullEngine;
use super::security::LedgerBlocks;
use super::state::{peers_with_height, PayloadBuffer, StateTransfer, Transfer};
use super::{ChannelMember, Output};
use crate::fabric::deliver_wire::DeliverRequest;
use crate::fabric::types::{Block, ChannelConfig};
use rand::{Rng, RngCore};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
struct StoredBlock {
    block: Arc<Block>,
    created: Duration,
    expired: bool,
}

/// How a block reached the channel, which decides whether the payload buffer may drop it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arrival {
    /// Push or pull from a peer: dropped when blockBufferSize or more ahead of the ledger.
    Gossip,
    /// From the ordering service or state transfer: always buffered.
    Blocking,
}

#[derive(Debug)]
pub(crate) struct Channel {
    pub id: String,
    sequence: u64,
    orgs: BTreeSet<String>,
    incarnation: u64,
    state_sequence: u64,
    ledger_height: u64,
    publish_pending: bool,
    state_infos: BTreeMap<PkiId, Arc<SignedStateInfo>>,
    blocks: BTreeMap<u64, StoredBlock>,
    pull: PullEngine<u64>,
    payloads: PayloadBuffer,
    transfer: Option<StateTransfer>,
    static_leader: bool,
    election: Option<Election>,
    deliver: DeliverClient,
    leadership_seen: BTreeMap<PkiId, PeerTime>,
    leadership_sequence: u64,
    tracked: Vec<ChannelMember>,
    next_publish: Duration,
    next_state_info_request: Duration,
    next_sweep: Duration,
    next_tracker: Duration,
    next_block_check: Duration,
}

/// host:port of every anchor peer per organization.
fn anchors_of(config: &ChannelConfig) -> BTreeMap<String, Vec<String>> {
    config
        .application
        .iter()
        .map(|(msp_id, org)| {
            let endpoints = org
                .anchor_peers
                .iter()
                .filter(|e| !e.host.is_empty() && e.port != 0)
                .map(|e| e.to_string())
                .collect();
            (msp_id.clone(), endpoints)
        })
        .collect()
}

fn orderer_endpoints(config: &ChannelConfig) -> Vec<String> {
    config
        .orderer
        .endpoints
        .iter()
        .map(|e| e.to_string())
        .collect()
}

impl Channel {
    pub fn new(
        env: &mut Env,
        discovery: &mut Discovery,
        config: &ChannelConfig,
        ledger_height: u64,
    ) -> Channel {
        let now = env.now;
        let gossip = &env.config.gossip;
        let static_leader = gossip.org_leader && !gossip.use_leader_election;
        let mut channel = Channel {
            id: config.channel_id.clone(),
            sequence: config.sequence,
            orgs: config.application.keys().cloned().collect(),
            incarnation: u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            state_sequence: 0,
            ledger_height,
            // The state provider reports the height when it starts (state.go).
            publish_pending: true,
            state_infos: BTreeMap::new(),
            blocks: BTreeMap::new(),
            pull: PullEngine::new(
                now,
                gossip.pull_interval,
                gossip.digest_wait_time,
                gossip.request_wait_time,
                gossip.response_wait_time,
            ),
            payloads: PayloadBuffer::new(ledger_height),
            transfer: env
                .config
                .state_transfer
                .enabled
                .then(|| StateTransfer::new(now, env.config.state_transfer.check_interval)),
            static_leader,
            election: None,
            deliver: DeliverClient::new(env.config.delivery.clone(), orderer_endpoints(config)),
            leadership_seen: BTreeMap::new(),
            leadership_sequence: 0,
            tracked: Vec::new(),
            next_publish: now + gossip.publish_state_info_interval,
            next_state_info_request: now + gossip.request_state_info_interval,
            next_sweep: now + gossip.pull_interval * 5,
            next_tracker: now + gossip.membership_tracker_interval,
            next_block_check: now + block_check_interval(env),
        };
        if gossip.use_leader_election {
            let view = channel.own_org_peer_count(env, discovery);
            channel.election = Some(Election::new(
                now,
                env.me.pki_id,
                env.config.election.clone(),
                view,
            ));
        } else if static_leader {
            let actions = channel.deliver.start(now, true, ledger_height, env.rng);
            channel.apply_deliver(env, discovery, actions);
        }
        channel.learn_anchor_peers(env, discovery, config);
        channel
    }

    /// The config sequence the channel runs with.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// A newer channel config (config block; the caller checked the sequence): organizations,
    /// anchor peers, orderer endpoints.
    pub fn update_config(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        config: &ChannelConfig,
    ) {
        self.sequence = config.sequence;
        self.orgs = config.application.keys().cloned().collect();
        // Drop state of peers whose organization left the channel (stateInfoCache.validate).
        let orgs = &self.orgs;
        let identities = &*env.identities;
        let me = env.me.pki_id;
        self.state_infos.retain(|pki_id, _| {
            *pki_id == me
                || identities
                    .org_of(pki_id)
                    .is_some_and(|org| orgs.contains(org))
        });
        let height = self.ledger_height;
        let actions =
            self.deliver
                .update_endpoints(env.now, orderer_endpoints(config), height, env.rng);
        self.apply_deliver(env, discovery, actions);
        self.learn_anchor_peers(env, discovery, config);
    }

    /// gossip_impl.go learnAnchorPeers, for every organization of the channel.
    fn learn_anchor_peers(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        config: &ChannelConfig,
    ) {
        let anchors = anchors_of(config);
        discovery.set_anchor_endpoints(anchors.values().flatten().cloned().collect());
        for (org, endpoints) in anchors {
            let own_org = org == env.me.org;
            // "isn't in our org and we have no external endpoint, skipping".
            if !own_org && env.me.external_endpoint.is_empty() {
                continue;
            }
            for endpoint in endpoints {
                discovery.connect(env, &endpoint, own_org);
            }
        }
    }

    pub fn ledger_height(&self) -> u64 {
        self.ledger_height
    }

    pub fn ledger_height_changed(&mut self, height: u64) {
        if height > self.ledger_height {
            self.ledger_height = height;
            self.payloads.skip_to(height);
            self.publish_pending = true;
        }
    }

    pub fn payload_buffer_size(&self) -> usize {
        self.payloads.len()
    }

    /// The next block for the committer, in order.
    pub fn pop_payload(&mut self) -> Option<Arc<Block>> {
        self.payloads.pop()
    }

    pub fn is_leader(&self) -> bool {
        self.static_leader || self.election_leader() == Some(true)
    }

    /// The election's verdict; None when leader election is off.
    pub fn election_leader(&self) -> Option<bool> {
        self.election.as_ref().map(Election::is_leader)
    }

    pub fn membership_total_peers_known(&self) -> usize {
        self.tracked.len()
    }

    /// GetPeers: alive members that published state info on the channel and did not leave.
    pub fn peers<'a>(
        &'a self,
        discovery: &'a Discovery,
    ) -> impl Iterator<Item = (&'a Member, &'a StateInfo)> + 'a {
        discovery.alive_members().filter_map(|member| {
            let state = self.state_infos.get(&member.pki_id)?;
            (!state.info.left_channel).then_some((member, &state.info))
        })
    }

    pub fn members(&self, discovery: &Discovery) -> Vec<ChannelMember> {
        self.peers(discovery)
            .map(|(member, state)| ChannelMember {
                pki_id: member.pki_id,
                msp_id: member.org.clone(),
                endpoint: member.preferred_endpoint().to_string(),
                external_endpoint: member.external_endpoint.clone(),
                ledger_height: state.ledger_height,
            })
            .collect()
    }

    fn own_org_peers<'a>(
        &'a self,
        env: &'a Env,
        discovery: &'a Discovery,
    ) -> impl Iterator<Item = &'a Member> + 'a {
        self.peers(discovery)
            .map(|(member, _)| member)
            .filter(|member| member.org == env.me.org)
    }

    fn own_org_peer_count(&self, env: &Env, discovery: &Discovery) -> usize {
        self.own_org_peers(env, discovery).count()
    }

    pub fn is_org_in_channel(&self, org: &str) -> bool {
        self.orgs.contains(org)
    }

    /// EligibleForChannel: the peer published state info on the channel.
    pub fn has_state_info(&self, pki_id: &PkiId) -> bool {
        self.state_infos.contains_key(pki_id)
    }

    pub fn deadline(&self) -> Duration {
        let optional = [
            self.transfer.as_ref().map(StateTransfer::deadline),
            self.election.as_ref().map(Election::deadline),
            self.deliver.deadline(),
        ];
        [
            self.next_publish,
            self.next_state_info_request,
            self.next_sweep,
            self.next_tracker,
            self.next_block_check,
            self.pull.deadline(),
        ]
        .into_iter()
        .chain(optional.into_iter().flatten())
        .min()
        .expect("fixed timers")
    }

    pub fn handle_timeout(&mut self, env: &mut Env, discovery: &mut Discovery) {
        let now = env.now;
        let gossip = env.config.gossip.clone();
        if self.next_publish <= now {
            self.next_publish = now + gossip.publish_state_info_interval;
            if self.publish_pending && discovery.alive_members().next().is_some() {
                self.publish_state_info(env);
            }
        }
        if self.next_state_info_request <= now {
            self.next_state_info_request = now + gossip.request_state_info_interval;
            let candidates: Vec<(PkiId, String)> = discovery
                .alive_members()
                .filter(|m| self.orgs.contains(&m.org))
                .map(|m| (m.pki_id, m.preferred_endpoint().to_string()))
                .collect();
            for (to, endpoint) in random_selection(candidates, gossip.pull_peer_num, env.rng) {
                let message = GossipMessage::StateInfoPullRequest {
                    channel_id: self.id.clone(),
                };
                env.send(to, &endpoint, message);
            }
        }
        if self.next_sweep <= now {
            self.next_sweep = now + gossip.pull_interval * 5;
            let me = env.me.pki_id;
            self.state_infos
                .retain(|pki_id, _| *pki_id == me || discovery.member(pki_id).is_some());
        }
        if self.next_tracker <= now {
            self.next_tracker = now + gossip.membership_tracker_interval;
            self.track_membership(env, discovery);
        }
        if self.next_block_check <= now {
            self.next_block_check = now + block_check_interval(env);
            self.expire_blocks(env);
        }
        self.pull_timers(env, discovery);
        if self.transfer.as_ref().is_some_and(|t| t.deadline() <= now) {
            self.state_transfer_timer(env, discovery);
        }
        if self.election.as_ref().is_some_and(|e| e.deadline() <= now) {
            let view = self.own_org_peer_count(env, discovery);
            let actions = self
                .election
                .as_mut()
                .map(|e| e.handle_timeout(now, view))
                .unwrap_or_default();
            self.apply_election(env, discovery, actions);
        }
        if self.deliver.deadline().is_some_and(|d| d <= now) {
            let actions = self
                .deliver
                .handle_timeout(now, self.ledger_height, env.rng);
            self.apply_deliver(env, discovery, actions);
        }
    }

    fn publish_state_info(&mut self, env: &mut Env) {
        self.state_sequence += 1;
        let info = StateInfo {
            pki_id: env.me.pki_id,
            channel_id: self.id.clone(),
            timestamp: PeerTime {
                inc_num: self.incarnation,
                seq_num: self.state_sequence,
            },
            ledger_height: self.ledger_height,
            left_channel: false,
        };
        let signature = env.crypto.sign(&info.signed_bytes());
        let message = Arc::new(SignedStateInfo { info, signature });
        self.state_infos.insert(env.me.pki_id, Arc::clone(&message));
        self.publish_pending = false;
        env.emitter
            .add(env.now, GossipMessage::StateInfo(message), None);
    }

    fn track_membership(&mut self, env: &mut Env, discovery: &Discovery) {
        let current = self.members(discovery);
        let previous: BTreeSet<PkiId> = self.tracked.iter().map(|m| m.pki_id).collect();
        let now_known: BTreeSet<PkiId> = current.iter().map(|m| m.pki_id).collect();
        if previous != now_known {
            let went_offline = self
                .tracked
                .iter()
                .filter(|m| !now_known.contains(&m.pki_id))
                .cloned()
                .collect();
            let went_online = current
                .iter()
                .filter(|m| !previous.contains(&m.pki_id))
                .cloned()
                .collect();
            env.out.push_back(Output::MembershipChanged {
                went_online,
                went_offline,
                current: current.clone(),
            });
        }
        self.tracked = current;
    }

    // ----------------------------------------------------------------------------------
    // Blocks

    /// Whether a block would enter the store (msgstore with the data comparator): not held
    /// yet, and not more than maxBlockCountToStore behind the newest held.
    fn store_accepts(&self, env: &Env, number: u64) -> bool {
        let window = u64::from(env.config.gossip.max_block_count_to_store);
        !self.blocks.contains_key(&number)
            && self
                .blocks
                .keys()
                .next_back()
                .is_none_or(|newest| newest.saturating_sub(number) <= window)
    }

    /// Adds a verified block to the store; older blocks that fall out of the window leave it.
    fn store_block(&mut self, env: &Env, block: &Arc<Block>, pullable: bool) -> bool {
        let number = block.number();
        if !self.store_accepts(env, number) {
            return false;
        }
        let window = u64::from(env.config.gossip.max_block_count_to_store);
        let kept = self.blocks.split_off(&number.saturating_sub(window));
        for old in self.blocks.keys() {
            self.pull.remove(old);
        }
        self.blocks = kept;
        self.blocks.insert(
            number,
            StoredBlock {
                block: Arc::clone(block),
                created: env.now,
                expired: false,
            },
        );
        if pullable {
            self.pull.add(number);
        }
        true
    }

    fn expire_blocks(&mut self, env: &Env) {
        let ttl = env.config.gossip.pull_interval * 100;
        let now = env.now;
        let pull = &mut self.pull;
        self.blocks.retain(|number, stored| {
            let age = now.saturating_sub(stored.created);
            if !stored.expired && age > ttl {
                stored.expired = true;
                pull.remove(number);
            }
            age <= ttl * 2
        });
    }

    fn buffer_block(&mut self, env: &Env, block: Arc<Block>, arrival: Arrival) {
        let number = block.number();
        if arrival == Arrival::Gossip {
            let buffer = u64::from(env.config.state_transfer.block_buffer_size);
            // state.go addPayload: Go's unsigned subtraction also rejects old blocks.
            if number < self.ledger_height || number - self.ledger_height >= buffer {
                return;
            }
        }
        self.payloads.push(block);
    }

    /// A block from the ordering service (the delivery client's AddPayload and Gossip).
    fn accept_delivered_block(&mut self, env: &mut Env, block: Arc<Block>) {
        self.buffer_block(env, Arc::clone(&block), Arrival::Blocking);
        if env.config.delivery.block_gossip_enabled {
            self.store_block(env, &block, true);
            let message = GossipMessage::DataMessage {
                channel_id: self.id.clone(),
                block,
            };
            env.emitter.add(env.now, message, None);
        }
    }

    // ----------------------------------------------------------------------------------
    // Messages from peers

    /// A channel message from `from` (of organization `from_org`), already checked to be for
    /// this channel and, for signed messages, authentic.
    pub fn handle_message(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        from: PkiId,
        from_org: &str,
        message: GossipMessage,
        ledger: &dyn LedgerBlocks,
    ) {
        if !self.orgs.contains(from_org) {
            return;
        }
        let same_org_pull_peer = from_org == env.me.org && self.has_state_info(&from);
        match message {
            GossipMessage::StateInfo(state) if self.add_state_info(env, &state) => {
                env.emitter
                    .add(env.now, GossipMessage::StateInfo(state), Some(from));
            }
            GossipMessage::StateInfoPullRequest { .. } => {
                let elements = self.state_info_snapshot(env, discovery, from_org);
                let message = GossipMessage::StateInfoSnapshot {
                    channel_id: self.id.clone(),
                    elements,
                };
                env.reply(from, message);
            }
            GossipMessage::StateInfoSnapshot { elements, .. } => {
                self.handle_snapshot(env, discovery, elements)
            }
            GossipMessage::DataMessage { block, .. } => self.handle_pushed_block(env, from, block),
            GossipMessage::PullHello { nonce, .. } if same_org_pull_peer => {
                let block_numbers = self.pull.on_hello(env.now, nonce);
                if !block_numbers.is_empty() {
                    let message = GossipMessage::DataDigest {
                        channel_id: self.id.clone(),
                        nonce,
                        block_numbers,
                    };
                    env.reply(from, message);
                }
            }
            GossipMessage::DataDigest {
                nonce,
                block_numbers,
                ..
            } if same_org_pull_peer => {
                // The channel's ingress filter: nothing below the own ledger height.
                let wanted: Vec<u64> = block_numbers
                    .into_iter()
                    .filter(|n| *n >= self.ledger_height)
                    .collect();
                self.pull.on_digest(nonce, &wanted);
            }
            GossipMessage::DataRequest {
                nonce,
                block_numbers,
                ..
            } if same_org_pull_peer => {
                let blocks: Vec<Arc<Block>> = self
                    .pull
                    .on_request(nonce, &block_numbers)
                    .into_iter()
                    .filter_map(|n| self.blocks.get(&n).map(|s| Arc::clone(&s.block)))
                    .collect();
                if !blocks.is_empty() {
                    let message = GossipMessage::DataUpdate {
                        channel_id: self.id.clone(),
                        nonce,
                        blocks,
                    };
                    env.reply(from, message);
                }
            }
            GossipMessage::DataUpdate { nonce, blocks, .. } if same_org_pull_peer => {
                self.handle_pulled_blocks(env, nonce, blocks)
            }
            GossipMessage::Leadership(leadership) => {
                self.handle_leadership(env, discovery, from_org, &leadership.message)
            }
            GossipMessage::StateRequest {
                nonce, start, end, ..
            } => self.handle_state_request(env, from, nonce, start, end, ledger),
            GossipMessage::StateResponse { nonce, blocks, .. } => {
                self.handle_state_response(env, discovery, nonce, blocks)
            }
            // Pull messages from peers not eligible to pull, and discovery messages (routed
            // elsewhere), are ignored.
            _ => {}
        }
    }

    /// stateInfoCache.Add: newer than what is held, and signed by a member of a channel org.
    fn add_state_info(&mut self, env: &Env, state: &Arc<SignedStateInfo>) -> bool {
        let info = &state.info;
        let newer = self
            .state_infos
            .get(&info.pki_id)
            .is_none_or(|held| held.info.timestamp < info.timestamp);
        if !newer || info.channel_id != self.id {
            return false;
        }
        if info.pki_id != env.me.pki_id {
            let in_channel = env
                .identities
                .org_of(&info.pki_id)
                .is_some_and(|org| self.orgs.contains(org));
            if !in_channel
                || !env.identities.verify(
                    env.crypto,
                    &info.pki_id,
                    &info.signed_bytes(),
                    &state.signature,
                )
            {
                return false;
            }
        }
        self.state_infos.insert(info.pki_id, Arc::clone(state));
        true
    }

    /// createStateInfoSnapshot: everything to the own org; to another org, foreign entries and
    /// own-org entries of peers with an external endpoint.
    fn state_info_snapshot(
        &self,
        env: &Env,
        discovery: &Discovery,
        requester_org: &str,
    ) -> Vec<Arc<SignedStateInfo>> {
        let same_org = requester_org == env.me.org;
        self.state_infos
            .values()
            .filter(|state| {
                let pki_id = &state.info.pki_id;
                let own_org_entry = *pki_id == env.me.pki_id
                    || env.identities.org_of(pki_id) == Some(env.me.org.as_str());
                same_org || !own_org_entry || discovery.has_external_endpoint(env, pki_id)
            })
            .cloned()
            .collect()
    }

    fn handle_snapshot(
        &mut self,
        env: &mut Env,
        discovery: &Discovery,
        elements: Vec<Arc<SignedStateInfo>>,
    ) {
        for state in elements {
            let pki_id = state.info.pki_id;
            let Some(org) = env.identities.org_of(&pki_id) else {
                return;
            };
            if !self.orgs.contains(org) || state.info.channel_id != self.id {
                return;
            }
            if pki_id != env.me.pki_id
                && !env.identities.verify(
                    env.crypto,
                    &pki_id,
                    &state.info.signed_bytes(),
                    &state.signature,
                )
            {
                return;
            }
            // Skip peers that expired from membership.
            if discovery.knows(env, &pki_id) {
                self.add_state_info(env, &state);
            }
        }
    }

    fn handle_pushed_block(&mut self, env: &mut Env, from: PkiId, block: Arc<Block>) {
        if !self.store_accepts(env, block.number())
            || env.crypto.verify_block(&self.id, &block).is_err()
        {
            return;
        }
        if self.store_block(env, &block, true) {
            self.buffer_block(env, Arc::clone(&block), Arrival::Gossip);
            let message = GossipMessage::DataMessage {
                channel_id: self.id.clone(),
                block,
            };
            env.emitter.add(env.now, message, Some(from));
        }
    }

    fn handle_pulled_blocks(&mut self, env: &mut Env, nonce: u64, blocks: Vec<Arc<Block>>) {
        let mut verified = Vec::new();
        for block in blocks {
            if !self.store_accepts(env, block.number()) {
                continue;
            }
            // A fabricated block discards the whole update.
            if env.crypto.verify_block(&self.id, &block).is_err() {
                return;
            }
            verified.push(block);
        }
        let in_round = self.pull.accepts_response(nonce);
        for block in verified {
            if self.store_block(env, &block, in_round) {
                self.buffer_block(env, block, Arrival::Gossip);
            }
        }
    }

    fn pull_timers(&mut self, env: &mut Env, discovery: &Discovery) {
        let now = env.now;
        if self.pull.deadline() > now {
            return;
        }
        for request in self.pull.handle_timeout(now, env.rng) {
            let message = GossipMessage::DataRequest {
                channel_id: self.id.clone(),
                nonce: request.nonce,
                block_numbers: request.items,
            };
            env.send(request.to, &request.endpoint, message);
        }
        if self.pull.pull_due(now) {
            // The pull mediator's membership: alive same-org peers with state info.
            let candidates: Vec<(PkiId, String)> = self
                .own_org_peers(env, discovery)
                .map(|m| (m.pki_id, m.preferred_endpoint().to_string()))
                .collect();
            let count = env.config.gossip.pull_peer_num;
            let peers = random_selection(candidates, count, env.rng);
            for (to, endpoint, nonce) in self.pull.start_round(now, peers, env.rng) {
                let message = GossipMessage::PullHello {
                    channel_id: self.id.clone(),
                    nonce,
                };
                env.send(to, &endpoint, message);
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // State transfer

    fn state_transfer_timer(&mut self, env: &mut Env, discovery: &Discovery) {
        let highest = self
            .peers(discovery)
            .map(|(_, state)| state.ledger_height)
            .max()
            .unwrap_or(0);
        let height = self.ledger_height;
        let Some(transfer) = self.transfer.as_mut() else {
            return;
        };
        if transfer.active.is_some() {
            // No response within responseTimeout: ask again.
            self.request_batch(env, discovery);
            return;
        }
        if height >= highest {
            transfer.next_check = env.now + env.config.state_transfer.check_interval;
            return;
        }
        transfer.active = Some(Transfer {
            next: height,
            end: highest - 1,
            nonce: 0,
            tries: 0,
            deadline: env.now,
        });
        self.request_batch(env, discovery);
    }

    /// Sends (or re-sends) the request for the current batch, or ends the transfer when the
    /// retries are spent or no peer is high enough.
    fn request_batch(&mut self, env: &mut Env, discovery: &Discovery) {
        let batch_size = u64::from(env.config.state_transfer.batch_size);
        let max_retries = env.config.state_transfer.max_retries;
        let Some(transfer) = self.transfer.as_ref().and_then(|t| t.active.as_ref()) else {
            return;
        };
        let (start, end, tries) = (
            transfer.next,
            transfer.batch_end(batch_size),
            transfer.tries,
        );
        let candidates = peers_with_height(
            self.peers(discovery).map(|(member, state)| {
                (
                    member.pki_id,
                    member.preferred_endpoint().to_string(),
                    state.ledger_height,
                )
            }),
            end,
        );
        if tries > max_retries || candidates.is_empty() {
            self.finish_transfer(env);
            return;
        }
        let (to, endpoint) = candidates[env.rng.random_range(0..candidates.len())].clone();
        let nonce = env.rng.next_u64();
        let deadline = env.now + env.config.state_transfer.response_timeout;
        if let Some(transfer) = self.transfer.as_mut().and_then(|t| t.active.as_mut()) {
            transfer.nonce = nonce;
            transfer.tries += 1;
            transfer.deadline = deadline;
        }
        let message = GossipMessage::StateRequest {
            channel_id: self.id.clone(),
            nonce,
            start,
            end,
        };
        env.send(to, &endpoint, message);
    }

    fn finish_transfer(&mut self, env: &Env) {
        if let Some(transfer) = self.transfer.as_mut() {
            transfer.active = None;
            transfer.next_check = env.now + env.config.state_transfer.check_interval;
        }
    }

    fn handle_state_request(
        &mut self,
        env: &mut Env,
        from: PkiId,
        nonce: u64,
        start: u64,
        end: u64,
        ledger: &dyn LedgerBlocks,
    ) {
        let batch_size = u64::from(env.config.state_transfer.batch_size);
        if start > end || end - start > batch_size {
            return;
        }
        let last = end.min(ledger.height());
        let blocks = (start..=last).filter_map(|n| ledger.block(n)).collect();
        let message = GossipMessage::StateResponse {
            channel_id: self.id.clone(),
            nonce,
            blocks,
        };
        env.reply(from, message);
    }

    fn handle_state_response(
        &mut self,
        env: &mut Env,
        discovery: &Discovery,
        nonce: u64,
        blocks: Vec<Arc<Block>>,
    ) {
        let expected = self
            .transfer
            .as_ref()
            .and_then(|t| t.active.as_ref())
            .is_some_and(|t| t.nonce == nonce);
        if !expected {
            return;
        }
        let valid = !blocks.is_empty()
            && blocks
                .iter()
                .all(|b| env.crypto.verify_block(&self.id, b).is_ok());
        if !valid {
            self.request_batch(env, discovery);
            return;
        }
        let highest = blocks.iter().map(|b| b.number()).max().unwrap_or(0);
        for block in blocks {
            self.buffer_block(env, block, Arrival::Blocking);
        }
        let done = match self.transfer.as_mut().and_then(|t| t.active.as_mut()) {
            Some(transfer) => {
                transfer.next = highest + 1;
                transfer.tries = 0;
                transfer.next > transfer.end
            }
            None => true,
        };
        if done {
            self.finish_transfer(env);
        } else {
            self.request_batch(env, discovery);
        }
    }

    // ----------------------------------------------------------------------------------
    // Leadership and delivery

    fn handle_leadership(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        from_org: &str,
        message: &LeadershipMessage,
    ) {
        let creator_org = env.identities.org_of(&message.pki_id);
        if from_org != env.me.org || creator_org != Some(env.me.org.as_str()) {
            return;
        }
        let newer = self
            .leadership_seen
            .get(&message.pki_id)
            .is_none_or(|seen| *seen < message.timestamp);
        if !newer {
            return;
        }
        self.leadership_seen
            .insert(message.pki_id, message.timestamp);
        let alive = self
            .own_org_peers(env, discovery)
            .any(|m| m.pki_id == message.pki_id);
        let actions = match self.election.as_mut() {
            Some(election) => {
                election.handle_message(env.now, message.pki_id, message.is_declaration, alive)
            }
            None => return,
        };
        self.apply_election(env, discovery, actions);
    }

    fn apply_election(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        actions: Vec<ElectionAction>,
    ) {
        for action in actions {
            match action {
                ElectionAction::Send { is_declaration } => {
                    self.leadership_sequence += 1;
                    let message = LeadershipMessage {
                        pki_id: env.me.pki_id,
                        channel_id: self.id.clone(),
                        timestamp: PeerTime {
                            inc_num: self.incarnation,
                            seq_num: self.leadership_sequence,
                        },
                        is_declaration,
                    };
                    let signature = env.crypto.sign(&message.signed_bytes());
                    let signed = Arc::new(SignedLeadership { message, signature });
                    env.emitter
                        .add(env.now, GossipMessage::Leadership(signed), None);
                }
                ElectionAction::BecameLeader => {
                    // "Elected as a leader, starting delivery service for channel".
                    env.out
                        .push_back(Output::LeadershipChanged { is_leader: true });
                    let height = self.ledger_height;
                    let actions = self.deliver.start(env.now, false, height, env.rng);
                    self.apply_deliver(env, discovery, actions);
                }
                ElectionAction::StoppedBeingLeader => {
                    env.out
                        .push_back(Output::LeadershipChanged { is_leader: false });
                    let actions = self.deliver.stop();
                    self.apply_deliver(env, discovery, actions);
                }
            }
        }
    }

    fn apply_deliver(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        actions: Vec<DeliverAction>,
    ) {
        for action in actions {
            match action {
                DeliverAction::Connect {
                    connection,
                    endpoint,
                } => env.out.push_back(Output::OrdererConnect {
                    connection,
                    endpoint,
                }),
                DeliverAction::Seek { connection, start } => {
                    let requester = env.me.identity.clone();
                    let request =
                        DeliverRequest::signed_with(&self.id, start, requester, |bytes| {
                            env.crypto.sign(bytes)
                        });
                    env.out.push_back(Output::OrdererSend {
                        connection,
                        request,
                    });
                }
                DeliverAction::Disconnect { connection } => {
                    env.out.push_back(Output::OrdererDisconnect { connection })
                }
                DeliverAction::GaveUp => {
                    let actions = self
                        .election
                        .as_mut()
                        .map(|e| e.yield_leadership(env.now))
                        .unwrap_or_default();
                    self.apply_election(env, discovery, actions);
                }
            }
        }
    }

    pub fn orderer_connected(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        connection: super::DeliverConnection,
    ) {
        let actions = self.deliver.handle_connected(connection);
        self.apply_deliver(env, discovery, actions);
    }

    pub fn orderer_failed(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        connection: super::DeliverConnection,
    ) {
        let actions = self
            .deliver
            .handle_failure(env.now, connection, self.ledger_height, env.rng);
        self.apply_deliver(env, discovery, actions);
    }

    pub fn orderer_block(
        &mut self,
        env: &mut Env,
        discovery: &mut Discovery,
        connection: super::DeliverConnection,
        block: Arc<Block>,
    ) {
        if env.crypto.verify_block(&self.id, &block).is_err() {
            // "block from orderer could not be verified".
            self.orderer_failed(env, discovery, connection);
            return;
        }
        if self.deliver.handle_block(connection) {
            self.accept_delivered_block(env, block);
        }
    }
}

/// msgstore.go: expired messages are looked for every TTL/100 (the block TTL is
/// pullInterval x 100).
fn block_check_interval(env: &Env) -> Duration {
    env.config.gossip.pull_interval
}
