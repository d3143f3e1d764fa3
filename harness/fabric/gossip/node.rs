//! The gossip node: one peer's gossip service (gossip/gossip/gossip_impl.go Node with
//! gossip/service/gossip_service.go), owning discovery, the emitter and the channel, routing
//! inputs to them and turning their decisions into [`Output`]s.

use super::certstore::CertStore;
use super::channel::Channel;
use super::deliver::DeliverConnection;
use super::discovery::{Discovery, Member};
use super::emitter::{Emitted, Emitter};
use super::message::{ConnEstablish, GossipMessage, PkiId};
use super::security::{IdentityMap, LedgerBlocks, MessageCryptoService};
use super::{ChannelMember, GossipError, Output, PeerSelf};
use crate::fabric::config::FabricConfig;
use crate::fabric::crypto::SerializedIdentity;
use crate::fabric::deliver_wire::DeliverResponse;
use crate::fabric::types::ChannelConfig;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// The local peer as gossip sees it.
#[derive(Clone, Debug)]
pub(crate) struct SelfInfo {
    pub pki_id: PkiId,
    pub org: String,
    pub identity: SerializedIdentity,
    pub endpoint: String,
    pub external_endpoint: String,
}

/// What every component needs while handling one input.
pub(crate) struct Env<'a> {
    pub now: Duration,
    pub config: &'a FabricConfig,
    pub me: &'a SelfInfo,
    pub crypto: &'a dyn MessageCryptoService,
    pub identities: &'a mut IdentityMap,
    pub rng: &'a mut ChaCha8Rng,
    pub out: &'a mut VecDeque<Output>,
    pub emitter: &'a mut Emitter,
}

impl Env<'_> {
    /// Sends to a peer, dialling `endpoint` if there is no connection.
    pub fn send(&mut self, to: PkiId, endpoint: &str, message: GossipMessage) {
        self.out.push_back(Output::Send {
            to,
            endpoint: Some(endpoint.to_string()),
            message,
        });
    }

    /// Answers on the connection the request came on (lost if it is gone).
    pub fn reply(&mut self, to: PkiId, message: GossipMessage) {
        self.out.push_back(Output::Send {
            to,
            endpoint: None,
            message,
        });
    }
}

/// `count` distinct random entries (filter.SelectPeers over a random permutation).
pub(crate) fn random_selection<T>(
    mut candidates: Vec<T>,
    count: u32,
    rng: &mut ChaCha8Rng,
) -> Vec<T> {
    let count = (count as usize).min(candidates.len());
    // partial_shuffle draws its `count` elements into the *tail* of the slice; the head keeps
    // the rest, nearly in input order (keeping the head made gossip pick the same peers
    // every time).
    candidates.partial_shuffle(rng, count);
    candidates.split_off(candidates.len() - count)
}

/// One peer's gossip: membership, channel state, block dissemination, leader election and the
/// delivery client. Deterministic and free of IO: the caller feeds it inputs with the current
/// (simulated) time and carries out its [`Output`]s.
pub struct GossipNode {
    config: FabricConfig,
    me: SelfInfo,
    crypto: Box<dyn MessageCryptoService>,
    rng: ChaCha8Rng,
    identities: IdentityMap,
    out: VecDeque<Output>,
    emitter: Emitter,
    discovery: Discovery,
    certs: CertStore,
    channel: Option<Channel>,
}

impl std::fmt::Debug for GossipNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GossipNode")
            .field("pki_id", &self.me.pki_id)
            .field("msp_id", &self.me.org)
            .field("endpoint", &self.me.endpoint)
            .field("channel", &self.channel.as_ref().map(|c| c.id.as_str()))
            .finish_non_exhaustive()
    }
}

/// Borrows the node's parts as an [`Env`] plus discovery and the channel.
macro_rules! split {
    ($node:ident, $now:expr) => {{
        let env = Env {
            now: $now,
            config: &$node.config,
            me: &$node.me,
            crypto: &*$node.crypto,
            identities: &mut $node.identities,
            rng: &mut $node.rng,
            out: &mut $node.out,
            emitter: &mut $node.emitter,
        };
        (env, &mut $node.discovery, &mut $node.channel)
    }};
}

impl GossipNode {
    /// Starts gossip for a peer (gossip_impl.go New): membership starts empty, with only the
    /// bootstrap peers to contact. Fails on orgLeader with useLeaderElection (Fabric panics),
    /// a malformed internal endpoint, or an own identity the MSP refuses.
    pub fn new(
        config: &FabricConfig,
        peer: PeerSelf,
        crypto: Box<dyn MessageCryptoService>,
        rng: ChaCha8Rng,
        now: Duration,
    ) -> Result<GossipNode, GossipError> {
        if config.gossip.org_leader && config.gossip.use_leader_election {
            return Err(GossipError::LeaderConfigConflict);
        }
        let port_ok = peer
            .endpoint
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(GossipError::BadEndpoint(peer.endpoint));
        }
        let mut identities = IdentityMap::default();
        let (pki_id, org) = identities
            .put(&*crypto, &peer.identity)
            .map_err(GossipError::InvalidSelfIdentity)?;
        let me = SelfInfo {
            pki_id,
            org,
            identity: peer.identity,
            endpoint: peer.endpoint,
            external_endpoint: peer.external_endpoint,
        };
        let gossip = &config.gossip;
        let mut emitter = Emitter::new(
            gossip.propagate_iterations,
            gossip.max_propagation_burst_size,
            gossip.max_propagation_burst_latency,
        );
        let mut rng = rng;
        let mut out = VecDeque::new();
        let mut env = Env {
            now,
            config,
            me: &me,
            crypto: &*crypto,
            identities: &mut identities,
            rng: &mut rng,
            out: &mut out,
            emitter: &mut emitter,
        };
        let discovery = Discovery::new(&mut env, peer.bootstrap_peers);
        let certs = CertStore::new(&env);
        Ok(GossipNode {
            config: config.clone(),
            me,
            crypto,
            rng,
            identities,
            out,
            emitter,
            discovery,
            certs,
            channel: None,
        })
    }

    pub fn pki_id(&self) -> PkiId {
        self.me.pki_id
    }

    /// The first frame to send on every new gossip connection, in both directions.
    pub fn conn_establish(&self) -> ConnEstablish {
        ConnEstablish {
            identity: self.me.identity.clone(),
            signature: self
                .crypto
                .sign(&ConnEstablish::signed_bytes(&self.me.identity)),
        }
    }

    /// The other side's [`ConnEstablish`] arrived on a connection (`dialled`: the endpoint if
    /// we dialled it). Returns the remote PKI-ID to file the connection under; on Err close the
    /// connection.
    pub fn handle_conn_establish(
        &mut self,
        now: Duration,
        dialled: Option<&str>,
        handshake: &ConnEstablish,
    ) -> Result<PkiId, GossipError> {
        let signed = ConnEstablish::signed_bytes(&handshake.identity);
        if !self
            .crypto
            .verify(&handshake.identity, &signed, &handshake.signature)
        {
            return Err(GossipError::IdentityRefused(
                "bad handshake signature".into(),
            ));
        }
        let (pki_id, org) = self
            .identities
            .put(&*self.crypto, &handshake.identity)
            .map_err(GossipError::IdentityRefused)?;
        if pki_id == self.me.pki_id {
            return Err(GossipError::IdentityRefused("connected to itself".into()));
        }
        if let Some(endpoint) = dialled {
            let (mut env, discovery, _) = split!(self, now);
            discovery.handshake_succeeded(&mut env, endpoint, pki_id, &org);
        }
        self.finish(now);
        Ok(pki_id)
    }

    /// Dialling `endpoint` failed or the connection broke while sending (`pki_id`: the peer
    /// the message was for, if known): comm presumes the peer dead; a pending anchor or
    /// bootstrap handshake with `endpoint` counts a failed attempt.
    pub fn handle_dial_failed(&mut self, now: Duration, endpoint: &str, pki_id: Option<PkiId>) {
        let (mut env, discovery, _) = split!(self, now);
        if let Some(pki_id) = pki_id {
            discovery.presumed_dead(&mut env, pki_id);
        }
        discovery.handshake_failed(&mut env, endpoint);
        self.finish(now);
    }

    /// Joins a channel (JoinChan plus the state provider and the delivery service): learns the
    /// anchor peers and, as a static leader, starts pulling blocks from the ordering service.
    /// A node serves one channel.
    pub fn join_channel(
        &mut self,
        now: Duration,
        config: &ChannelConfig,
        ledger_height: u64,
    ) -> Result<(), GossipError> {
        if let Some(channel) = &self.channel {
            return Err(GossipError::AlreadyJoined(channel.id.clone()));
        }
        // The peer's organization need not be in `config` yet: an organization added to a
        // channel joins with block 0 and learns its membership from the config blocks it
        // then pulls (fabric-samples test-network addOrg3: `peer channel fetch 0`, `join`).
        self.crypto.channel_config_updated(config);
        let (mut env, discovery, slot) = split!(self, now);
        *slot = Some(Channel::new(&mut env, discovery, config, ledger_height));
        self.finish(now);
        Ok(())
    }

    /// A newer config block of the joined channel: anchor peers are contacted again and the
    /// delivery client reconnects if the orderer endpoints changed.
    pub fn update_channel_config(&mut self, now: Duration, config: &ChannelConfig) {
        let newer = self
            .channel
            .as_ref()
            .is_some_and(|c| c.id == config.channel_id && config.sequence > c.sequence());
        if !newer {
            return;
        }
        self.crypto.channel_config_updated(config);
        let (mut env, discovery, channel) = split!(self, now);
        if let Some(channel) = channel.as_mut() {
            channel.update_config(&mut env, discovery, config);
        }
        self.finish(now);
    }

    /// The committer stored blocks up to `height - 1` (after `DeliverToCommitter`).
    pub fn ledger_height_changed(&mut self, now: Duration, height: u64) {
        if let Some(channel) = self.channel.as_mut() {
            channel.ledger_height_changed(height);
        }
        self.finish(now);
    }

    /// A gossip message from the peer behind a connection whose handshake gave `from`.
    pub fn handle_message(
        &mut self,
        now: Duration,
        from: PkiId,
        message: GossipMessage,
        ledger: &dyn LedgerBlocks,
    ) {
        let Some(from_org) = self.identities.org_of(&from).map(str::to_string) else {
            return;
        };
        let (mut env, discovery, channel) = split!(self, now);
        match message {
            GossipMessage::Alive(alive) => discovery.handle_alive(&mut env, from, alive),
            message @ (GossipMessage::IdentityHello { .. }
            | GossipMessage::IdentityDigest { .. }
            | GossipMessage::IdentityRequest { .. }
            | GossipMessage::IdentityUpdate { .. }) => self
                .certs
                .handle_message(&mut env, discovery, from, &from_org, message),
            GossipMessage::MembershipRequest {
                self_information,
                nonce,
            } => {
                // "membership request with selfInfo that doesn't match the handshake".
                if self_information.alive.pki_id == from {
                    discovery.handle_membership_request(&mut env, from, self_information, nonce);
                }
            }
            GossipMessage::MembershipResponse { alive, dead, nonce } => {
                discovery.handle_membership_response(&mut env, alive, dead, nonce)
            }
            message => {
                let Some(channel) = channel
                    .as_mut()
                    .filter(|c| message.channel_id() == Some(c.id.as_str()))
                else {
                    return;
                };
                if authentic(&env, &message) {
                    channel.handle_message(&mut env, discovery, from, &from_org, message, ledger);
                }
            }
        }
        self.finish(now);
    }

    /// The delivery client's connection to the orderer is up.
    pub fn handle_orderer_connected(&mut self, now: Duration, connection: DeliverConnection) {
        let (mut env, discovery, channel) = split!(self, now);
        if let Some(channel) = channel.as_mut() {
            channel.orderer_connected(&mut env, discovery, connection);
        }
        self.finish(now);
    }

    /// Connecting to the orderer failed.
    pub fn handle_orderer_connect_failed(&mut self, now: Duration, connection: DeliverConnection) {
        self.orderer_failed(now, connection);
    }

    /// The orderer closed the deliver stream, or the connection broke (including a keepalive
    /// timeout the shell detected).
    pub fn handle_orderer_stream_ended(&mut self, now: Duration, connection: DeliverConnection) {
        self.orderer_failed(now, connection);
    }

    fn orderer_failed(&mut self, now: Duration, connection: DeliverConnection) {
        let (mut env, discovery, channel) = split!(self, now);
        if let Some(channel) = channel.as_mut() {
            channel.orderer_failed(&mut env, discovery, connection);
        }
        self.finish(now);
    }

    /// A reply on the deliver stream.
    pub fn handle_orderer_response(
        &mut self,
        now: Duration,
        connection: DeliverConnection,
        response: DeliverResponse,
    ) {
        let (mut env, discovery, channel) = split!(self, now);
        if let Some(channel) = channel.as_mut() {
            match response {
                DeliverResponse::Block(block) => {
                    channel.orderer_block(&mut env, discovery, connection, Arc::new(block))
                }
                // Any status ends the stream: "received bad status" (even SUCCESS).
                DeliverResponse::Status(_) => {
                    channel.orderer_failed(&mut env, discovery, connection)
                }
            }
        }
        self.finish(now);
    }

    /// When `handle_timeout` must be called next.
    pub fn next_deadline(&self) -> Option<Duration> {
        let channel = self.channel.as_ref().map(Channel::deadline);
        [
            Some(self.discovery.deadline()),
            Some(self.certs.deadline()),
            channel,
            self.emitter.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        // Each timer moves past `now` when it fires; the bound only guards against a bug.
        for _ in 0..64 {
            if self.next_deadline().is_none_or(|d| d > now) {
                break;
            }
            let (mut env, discovery, channel) = split!(self, now);
            if discovery.deadline() <= now {
                discovery.handle_timeout(&mut env);
            }
            if self.certs.deadline() <= now {
                self.certs.handle_timeout(&mut env, discovery);
            }
            if let Some(channel) = channel.as_mut().filter(|c| c.deadline() <= now) {
                channel.handle_timeout(&mut env, discovery);
            }
            if self.emitter.deadline().is_some_and(|d| d <= now) {
                self.flush_emitter(now);
            }
            self.finish(now);
        }
    }

    /// The next thing for the shell to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Alive peers of the channel other than this one, as discovery reports them (GetPeers:
    /// alive members that published state info on the channel).
    pub fn membership(&self) -> Vec<ChannelMember> {
        self.channel
            .as_ref()
            .map(|c| c.members(&self.discovery))
            .unwrap_or_default()
    }

    /// gossip_membership_total_peers_known: the channel view's size at the last
    /// membershipTrackerInterval tick.
    pub fn membership_total_peers_known(&self) -> usize {
        self.channel
            .as_ref()
            .map_or(0, Channel::membership_total_peers_known)
    }

    /// Every member discovery knows, alive or dead, in any channel.
    pub fn known_members(&self) -> Vec<Member> {
        self.discovery
            .alive_members()
            .chain(self.discovery.dead_members())
            .cloned()
            .collect()
    }

    /// Whether this peer pulls blocks from the ordering service: a static leader
    /// (orgLeader) or the elected leader.
    pub fn is_leader(&self) -> bool {
        self.channel.as_ref().is_some_and(Channel::is_leader)
    }

    /// gossip_leader_election_leader: whether the election made this peer leader; None when
    /// leader election is off (Fabric then reports no such metric).
    pub fn election_leader(&self) -> Option<bool> {
        self.channel.as_ref().and_then(Channel::election_leader)
    }

    /// The ledger height the node last heard of (gossip_state_height).
    pub fn ledger_height(&self) -> u64 {
        self.channel.as_ref().map_or(0, Channel::ledger_height)
    }

    /// gossip_payload_buffer_size.
    pub fn payload_buffer_size(&self) -> usize {
        self.channel
            .as_ref()
            .map_or(0, Channel::payload_buffer_size)
    }

    /// After every input: a full burst goes out now, and blocks ready for the committer are
    /// handed over.
    fn finish(&mut self, now: Duration) {
        if self.emitter.burst_full() {
            self.flush_emitter(now);
        }
        if let Some(channel) = self.channel.as_mut() {
            while let Some(block) = channel.pop_payload() {
                self.out.push_back(Output::DeliverToCommitter(block));
            }
        }
    }

    fn flush_emitter(&mut self, now: Duration) {
        let batch = self.emitter.take_batch(now);
        let (mut env, discovery, channel) = split!(self, now);
        gossip_batch(&mut env, discovery, channel.as_ref(), batch);
    }
}

/// Signatures of channel messages that carry one (gossip_impl.go validateMsg and
/// validateLeadershipMessage): the signer's identity must be known.
fn authentic(env: &Env, message: &GossipMessage) -> bool {
    match message {
        GossipMessage::StateInfo(state) => {
            state.info.pki_id == env.me.pki_id
                || env.identities.verify(
                    env.crypto,
                    &state.info.pki_id,
                    &state.info.signed_bytes(),
                    &state.signature,
                )
        }
        GossipMessage::Leadership(leadership) => env.identities.verify(
            env.crypto,
            &leadership.message.pki_id,
            &leadership.message.signed_bytes(),
            &leadership.signature,
        ),
        _ => true,
    }
}

/// gossip_impl.go gossipBatch: who each queued message goes to.
fn gossip_batch(
    env: &mut Env,
    discovery: &Discovery,
    channel: Option<&Channel>,
    batch: Vec<Emitted>,
) {
    let fanout = env.config.gossip.propagate_peer_num;
    let alive: Vec<&Member> = discovery.alive_members().collect();
    let in_my_org = |m: &Member| m.org == env.me.org;
    let channel_peer = |m: &Member| {
        channel.is_some_and(|c| c.is_org_in_channel(&m.org) && c.has_state_info(&m.pki_id))
    };
    let (blocks, rest): (Vec<Emitted>, Vec<Emitted>) = batch
        .into_iter()
        .partition(|e| matches!(e.message, GossipMessage::DataMessage { .. }));
    // Blocks: one random set of same-org channel peers for the whole batch; never to other orgs.
    if !blocks.is_empty() {
        let eligible: Vec<&Member> = alive
            .iter()
            .copied()
            .filter(|m| in_my_org(m) && channel_peer(m))
            .collect();
        let peers = random_selection(eligible, fanout, env.rng);
        for emitted in blocks {
            send_to(env, &peers, &emitted);
        }
    }
    let mut org_restricted_peers: Option<Vec<&Member>> = None;
    for emitted in rest {
        match &emitted.message {
            // Leadership messages go to every same-org channel peer.
            GossipMessage::Leadership(_) => {
                let peers: Vec<&Member> = alive
                    .iter()
                    .copied()
                    .filter(|m| in_my_org(m) && channel_peer(m))
                    .collect();
                send_to(env, &peers, &emitted);
            }
            // State info: channel members when the origin has an external endpoint, else the
            // own org.
            GossipMessage::StateInfo(state) => {
                let wide =
                    channel.is_some() && discovery.has_external_endpoint(env, &state.info.pki_id);
                let eligible: Vec<&Member> = alive
                    .iter()
                    .copied()
                    .filter(|m| {
                        let allowed = if wide {
                            channel.is_some_and(|c| c.is_org_in_channel(&m.org))
                        } else {
                            in_my_org(m)
                        };
                        allowed && Some(m.pki_id) != emitted.exclude
                    })
                    .collect();
                let peers = random_selection(eligible, fanout, env.rng);
                send_to(env, &peers, &emitted);
            }
            GossipMessage::Alive(alive_message) => {
                let origin = &alive_message.alive;
                let Some(origin_org) = env.identities.org_of(&origin.pki_id).map(str::to_string)
                else {
                    // "Don't disseminate messages who's origin org is undetermined".
                    continue;
                };
                if origin.external_endpoint.is_empty() && origin_org == env.me.org {
                    // Org-restricted: one random set of own-org peers for all such messages.
                    let peers = org_restricted_peers.get_or_insert_with(|| {
                        let eligible = alive.iter().copied().filter(|m| in_my_org(m)).collect();
                        random_selection(eligible, fanout, env.rng)
                    });
                    let peers = peers.clone();
                    send_to(env, &peers, &emitted);
                    continue;
                }
                // peersByOriginOrgPolicy: own-org messages to anyone; another org's to its
                // peers and ours.
                let eligible: Vec<&Member> = alive
                    .iter()
                    .copied()
                    .filter(|m| {
                        (origin_org == env.me.org || m.org == env.me.org || m.org == origin_org)
                            && Some(m.pki_id) != emitted.exclude
                    })
                    .collect();
                let peers = random_selection(eligible, fanout, env.rng);
                // sendAndFilterSecrets: no foreign alive message to a peer without an
                // external endpoint; no secret to another org.
                for peer in peers {
                    if origin_org != env.me.org && peer.external_endpoint.is_empty() {
                        continue;
                    }
                    let message = if peer.org == env.me.org {
                        GossipMessage::Alive(alive_message.clone())
                    } else {
                        GossipMessage::Alive(alive_message.without_secret())
                    };
                    env.send(peer.pki_id, peer.preferred_endpoint(), message);
                }
            }
            _ => {}
        }
    }
}

/// Sends a queued message to each of `peers` except the one it came from.
fn send_to(env: &mut Env, peers: &[&Member], emitted: &Emitted) {
    for peer in peers {
        if Some(peer.pki_id) != emitted.exclude {
            env.send(
                peer.pki_id,
                peer.preferred_endpoint(),
                emitted.message.clone(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::random_selection;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn random_selection_picks_every_candidate_equally_often() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut picked = [0u32; 17];
        for _ in 0..17_000 {
            let chosen = random_selection((0..17).collect(), 3, &mut rng);
            assert_eq!(chosen.len(), 3);
            let mut distinct = chosen.clone();
            distinct.dedup();
            assert_eq!(distinct.len(), 3, "{chosen:?}");
            for c in chosen {
                picked[c] += 1;
            }
        }
        // 3000 expected each; a biased pick (the head of the list) lands far outside.
        assert!(
            picked.iter().all(|n| (2700..3300).contains(n)),
            "{picked:?}"
        );
        assert_eq!(random_selection(vec![1, 2], 5, &mut rng).len(), 2);
    }
}
