//! Membership (Fabric's gossip/discovery/discovery_impl.go, with the disclosure policy and
//! anchor/bootstrap connection of gossip/gossip/gossip_impl.go).
//!
//! - Every aliveTimeInterval a peer with a non-empty membership gossips a new signed alive
//!   message; peers forward alive messages they had not seen.
//! - Every aliveExpirationTimeout/10 members silent for more than aliveExpirationTimeout move
//!   to the dead list and their connection is closed. A failed send (the shell's dial failure)
//!   does the same at once (comm's "presumed dead").
//! - Every reconnectInterval each dead member gets a membership request; every pullInterval a
//!   few alive members get one (InitiateSync).
//! - The last alive message received from each peer is kept for aliveExpirationTimeout x
//!   msgExpirationFactor; when it expires the member is purged, unless its endpoint is an
//!   anchor or bootstrap peer (FAB-17539). Members learned only through membership responses
//!   have no stored alive message and are never purged that way, as in Fabric.
//! - Anchor and bootstrap peers are contacted by handshake up to maxConnectionAttempts times,
//!   reconnectInterval apart, then sent a membership request until one is acknowledged.

use super::message::{AliveMessage, GossipMessage, PeerTime, PkiId, Secret, SignedAlive};
use super::node::{random_selection, Env};
use super::Output;
use rand::RngCore;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// How long a membership request sent to an anchor or bootstrap peer waits for its
/// acknowledgement (discovery_impl.go sendUntilAcked: a 5 s subscription).
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// Fabric comm's handshake timeout, on top of dial and connection timeouts; a handshake the
/// shell never reports on counts as failed after that.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A known remote peer, alive or dead.
#[derive(Clone, Debug)]
pub struct Member {
    pub pki_id: PkiId,
    /// MSP ID of the peer's organization.
    pub org: String,
    /// Empty when the peer has none (then it is invisible to other organizations).
    pub external_endpoint: String,
    /// Known only for peers of the own organization (the alive message's secret).
    pub internal_endpoint: String,
    pub alive: bool,
    /// When a newer alive message about the peer last arrived (alive expiry counts from it).
    pub last_seen: Duration,
    pub(crate) last_alive: Arc<SignedAlive>,
    pub(crate) timestamp: PeerTime,
}

impl Member {
    /// Where to reach the peer: the internal endpoint when known (Fabric's PreferredEndpoint).
    pub fn preferred_endpoint(&self) -> &str {
        if self.internal_endpoint.is_empty() {
            &self.external_endpoint
        } else {
            &self.internal_endpoint
        }
    }
}

/// The last alive message received directly from a peer (Fabric's aliveMsgStore).
#[derive(Debug)]
struct StoredAlive {
    message: Arc<SignedAlive>,
    created: Duration,
    expired: bool,
}

/// A connection attempt to an anchor or bootstrap peer (discovery_impl.go Connect).
#[derive(Debug)]
struct Connect {
    /// Bootstrap peers and anchors of the own org must turn out to be of the own org.
    own_org_required: bool,
    handshakes: u32,
    phase: ConnectPhase,
}

#[derive(Debug)]
enum ConnectPhase {
    Handshaking {
        deadline: Duration,
    },
    WaitingToRetry {
        until: Duration,
    },
    AwaitingAck {
        pki_id: PkiId,
        own_org: bool,
        nonce: u64,
        sends: u32,
        deadline: Duration,
    },
    WaitingToResend {
        pki_id: PkiId,
        own_org: bool,
        nonce: u64,
        sends: u32,
        until: Duration,
    },
}

impl ConnectPhase {
    fn deadline(&self) -> Duration {
        match self {
            ConnectPhase::Handshaking { deadline } | ConnectPhase::AwaitingAck { deadline, .. } => {
                *deadline
            }
            ConnectPhase::WaitingToRetry { until }
            | ConnectPhase::WaitingToResend { until, .. } => *until,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Discovery {
    incarnation: u64,
    sequence: u64,
    /// The alive message last gossiped (used in membership responses).
    self_alive: Option<Arc<SignedAlive>>,
    members: BTreeMap<PkiId, Member>,
    store: BTreeMap<PkiId, StoredAlive>,
    connects: BTreeMap<String, Connect>,
    anchors: BTreeSet<String>,
    bootstrap: Vec<String>,
    next_alive: Duration,
    next_expiration_check: Duration,
    next_reconnect: Duration,
    next_sync: Duration,
    next_store_check: Duration,
    /// Until when alive messages carry the identity (publishCertPeriod after start).
    identity_until: Duration,
}

impl Discovery {
    pub fn new(env: &mut Env, bootstrap: Vec<String>) -> Discovery {
        let gossip = &env.config.gossip;
        let now = env.now;
        let mut discovery = Discovery {
            // Fabric uses the start time in nanoseconds: a restarted peer's incarnation is newer.
            incarnation: u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            sequence: 0,
            self_alive: None,
            members: BTreeMap::new(),
            store: BTreeMap::new(),
            connects: BTreeMap::new(),
            anchors: BTreeSet::new(),
            bootstrap: Vec::new(),
            next_alive: now + gossip.alive_time_interval,
            next_expiration_check: now + expiration_check_interval(env),
            // Both loops act first, then sleep.
            next_reconnect: now,
            next_sync: now,
            next_store_check: now + store_check_interval(env),
            identity_until: now + gossip.publish_cert_period,
        };
        for endpoint in &bootstrap {
            discovery.connect(env, endpoint, true);
        }
        discovery.bootstrap = bootstrap;
        discovery
    }

    pub fn member(&self, pki_id: &PkiId) -> Option<&Member> {
        self.members.get(pki_id)
    }

    pub fn alive_members(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.alive)
    }

    pub fn dead_members(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| !m.alive)
    }

    /// Whether the peer (or we ourselves) advertises an external endpoint.
    pub fn has_external_endpoint(&self, env: &Env, pki_id: &PkiId) -> bool {
        if *pki_id == env.me.pki_id {
            return !env.me.external_endpoint.is_empty();
        }
        self.members
            .get(pki_id)
            .is_some_and(|m| !m.external_endpoint.is_empty())
    }

    /// Whether discovery knows the peer at all, alive or dead (Fabric's Lookup).
    pub fn knows(&self, env: &Env, pki_id: &PkiId) -> bool {
        *pki_id == env.me.pki_id || self.members.contains_key(pki_id)
    }

    pub fn deadline(&self) -> Duration {
        let connects = self.connects.values().map(|c| c.phase.deadline());
        [
            self.next_alive,
            self.next_expiration_check,
            self.next_reconnect,
            self.next_sync,
            self.next_store_check,
        ]
        .into_iter()
        .chain(connects)
        .min()
        .expect("fixed timers")
    }

    pub fn handle_timeout(&mut self, env: &mut Env) {
        let now = env.now;
        let gossip = env.config.gossip.clone();
        if self.next_alive <= now {
            self.next_alive = now + gossip.alive_time_interval;
            // "Empty membership, no one to send a heartbeat to".
            if self.alive_members().next().is_some() {
                let alive = self.create_alive(env);
                self.self_alive = Some(Arc::clone(&alive));
                env.emitter.add(now, GossipMessage::Alive(alive), None);
            }
        }
        if self.next_expiration_check <= now {
            self.next_expiration_check = now + expiration_check_interval(env);
            let silent: Vec<PkiId> = self
                .alive_members()
                .filter(|m| now.saturating_sub(m.last_seen) > gossip.alive_expiration_timeout)
                .map(|m| m.pki_id)
                .collect();
            for pki_id in silent {
                self.expire(env, pki_id);
            }
        }
        if self.next_reconnect <= now {
            self.next_reconnect = now + gossip.reconnect_interval;
            let dead: Vec<(PkiId, String, String)> = self
                .dead_members()
                .map(|m| (m.pki_id, m.preferred_endpoint().to_string(), m.org.clone()))
                .collect();
            for (pki_id, endpoint, org) in dead {
                self.send_membership_request(env, pki_id, &endpoint, &org, 0);
            }
        }
        if self.next_sync <= now {
            self.next_sync = now + gossip.pull_interval;
            self.initiate_sync(env, gossip.pull_peer_num);
        }
        if self.next_store_check <= now {
            self.next_store_check = now + store_check_interval(env);
            self.expire_stored_alive_messages(env);
        }
        let due: Vec<String> = self
            .connects
            .iter()
            .filter(|(_, c)| c.phase.deadline() <= now)
            .map(|(endpoint, _)| endpoint.clone())
            .collect();
        for endpoint in due {
            self.connect_timer(env, &endpoint);
        }
    }

    /// The anchor peers of every organization of the channel (the AnchorPeerTracker): never
    /// purged.
    pub fn set_anchor_endpoints(&mut self, anchors: BTreeSet<String>) {
        self.anchors = anchors;
    }

    /// Starts (or restarts) the attempts to reach `endpoint` (discovery_impl.go Connect).
    pub fn connect(&mut self, env: &mut Env, endpoint: &str, own_org_required: bool) {
        if endpoint == env.me.endpoint || endpoint == env.me.external_endpoint {
            return;
        }
        self.connects.insert(
            endpoint.to_string(),
            Connect {
                own_org_required,
                handshakes: 1,
                phase: ConnectPhase::Handshaking {
                    deadline: env.now + handshake_deadline(env),
                },
            },
        );
        env.out.push_back(Output::Handshake {
            endpoint: endpoint.to_string(),
        });
    }

    /// A handshake with a dialled endpoint succeeded: if an anchor or bootstrap connection was
    /// waiting for it, send that peer a membership request.
    pub fn handshake_succeeded(&mut self, env: &mut Env, endpoint: &str, pki_id: PkiId, org: &str) {
        let Some(connect) = self.connects.get_mut(endpoint) else {
            return;
        };
        if !matches!(connect.phase, ConnectPhase::Handshaking { .. }) {
            return;
        }
        let own_org = org == env.me.org;
        if connect.own_org_required && !own_org {
            // "Anchor peer ... isn't in our org, but is claimed to be": a failed attempt.
            self.handshake_failed(env, endpoint);
            return;
        }
        let nonce = nonzero_nonce(env);
        connect.phase = ConnectPhase::AwaitingAck {
            pki_id,
            own_org,
            nonce,
            sends: 1,
            deadline: env.now + ACK_TIMEOUT,
        };
        self.send_membership_request(env, pki_id, endpoint, org, nonce);
    }

    /// The handshake with `endpoint` failed (or timed out): retry after reconnectInterval.
    pub fn handshake_failed(&mut self, env: &mut Env, endpoint: &str) {
        let max = env.config.gossip.max_connection_attempts;
        let Some(connect) = self.connects.get_mut(endpoint) else {
            return;
        };
        if !matches!(connect.phase, ConnectPhase::Handshaking { .. }) {
            return;
        }
        if connect.handshakes >= max {
            self.connects.remove(endpoint);
            return;
        }
        connect.phase = ConnectPhase::WaitingToRetry {
            until: env.now + env.config.gossip.reconnect_interval,
        };
    }

    fn connect_timer(&mut self, env: &mut Env, endpoint: &str) {
        let now = env.now;
        let max = env.config.gossip.max_connection_attempts;
        let reconnect_interval = env.config.gossip.reconnect_interval;
        let handshake_deadline = now + handshake_deadline(env);
        let Some(connect) = self.connects.get_mut(endpoint) else {
            return;
        };
        match connect.phase {
            ConnectPhase::Handshaking { .. } => self.handshake_failed(env, endpoint),
            ConnectPhase::WaitingToRetry { .. } => {
                connect.handshakes += 1;
                connect.phase = ConnectPhase::Handshaking {
                    deadline: handshake_deadline,
                };
                env.out.push_back(Output::Handshake {
                    endpoint: endpoint.to_string(),
                });
            }
            ConnectPhase::AwaitingAck { sends, .. } if sends >= max => {
                self.connects.remove(endpoint);
            }
            ConnectPhase::AwaitingAck {
                pki_id,
                own_org,
                nonce,
                sends,
                ..
            } => {
                connect.phase = ConnectPhase::WaitingToResend {
                    pki_id,
                    own_org,
                    nonce,
                    sends,
                    until: now + reconnect_interval,
                };
            }
            ConnectPhase::WaitingToResend {
                pki_id,
                own_org,
                nonce,
                sends,
                ..
            } => {
                connect.phase = ConnectPhase::AwaitingAck {
                    pki_id,
                    own_org,
                    nonce,
                    sends: sends + 1,
                    deadline: now + ACK_TIMEOUT,
                };
                // An empty org conceals the internal endpoint.
                let org = if own_org {
                    env.me.org.clone()
                } else {
                    String::new()
                };
                self.send_membership_request(env, pki_id, endpoint, &org, nonce);
            }
        }
    }

    /// A send to `pki_id` failed: comm presumes the peer dead.
    pub fn presumed_dead(&mut self, env: &mut Env, pki_id: PkiId) {
        if self.members.get(&pki_id).is_some_and(|m| m.alive) {
            self.expire(env, pki_id);
        }
    }

    fn expire(&mut self, env: &mut Env, pki_id: PkiId) {
        if let Some(member) = self.members.get_mut(&pki_id) {
            member.alive = false;
            env.out.push_back(Output::CloseConnection { pki_id });
        }
    }

    fn create_alive(&mut self, env: &mut Env) -> Arc<SignedAlive> {
        self.sequence += 1;
        let alive = AliveMessage {
            pki_id: env.me.pki_id,
            external_endpoint: env.me.external_endpoint.clone(),
            identity: (env.now < self.identity_until).then(|| env.me.identity.clone()),
            timestamp: PeerTime {
                inc_num: self.incarnation,
                seq_num: self.sequence,
            },
        };
        let signature = env.crypto.sign(&alive.signed_bytes());
        let secret = Secret {
            signature: env
                .crypto
                .sign(&Secret::signed_bytes(&alive, &env.me.endpoint)),
            internal_endpoint: env.me.endpoint.clone(),
        };
        Arc::new(SignedAlive {
            alive,
            signature,
            secret: Some(secret),
        })
    }

    /// Checks an alive message's identity and signatures; returns the sender's organization.
    /// Without an identity in it, the sender's must be known already ("Don't have
    /// certificate for"): the message is dropped until a handshake or the identity pull
    /// brings it.
    fn validate(env: &mut Env, message: &SignedAlive) -> Option<String> {
        let alive = &message.alive;
        let org = match &alive.identity {
            Some(identity) => {
                let (pki_id, org) = env.identities.put(env.crypto, identity).ok()?;
                (pki_id == alive.pki_id).then_some(org)?
            }
            None => env.identities.org_of(&alive.pki_id)?.to_string(),
        };
        let verify = |bytes: &[u8], signature: &[u8]| {
            env.identities
                .verify(env.crypto, &alive.pki_id, bytes, signature)
        };
        if !verify(&alive.signed_bytes(), &message.signature) {
            return None;
        }
        if let Some(secret) = &message.secret {
            let bytes = Secret::signed_bytes(alive, &secret.internal_endpoint);
            if !verify(&bytes, &secret.signature) {
                return None;
            }
        }
        Some(org)
    }

    /// Whether the alive message would enter the store: newer than the one held for the peer.
    fn is_newer(&self, message: &SignedAlive) -> bool {
        self.store
            .get(&message.alive.pki_id)
            .is_none_or(|stored| stored.message.alive.timestamp < message.alive.timestamp)
    }

    /// A gossiped alive message (handleMsgFromComm, alive branch).
    pub fn handle_alive(&mut self, env: &mut Env, from: PkiId, message: Arc<SignedAlive>) {
        if !self.is_newer(&message) {
            return;
        }
        let Some(org) = Self::validate(env, &message) else {
            return;
        };
        if message.alive.pki_id == env.me.pki_id {
            return;
        }
        self.store.insert(
            message.alive.pki_id,
            StoredAlive {
                message: Arc::clone(&message),
                created: env.now,
                expired: false,
            },
        );
        self.learn_alive(env, &message, &org);
        env.emitter
            .add(env.now, GossipMessage::Alive(message), Some(from));
    }

    /// A membership request: learn the requester and answer with what may be disclosed to it.
    pub fn handle_membership_request(
        &mut self,
        env: &mut Env,
        from: PkiId,
        self_information: Arc<SignedAlive>,
        nonce: u64,
    ) {
        let Some(org) = Self::validate(env, &self_information) else {
            return;
        };
        if self.is_newer(&self_information) {
            self.learn_alive(env, &self_information, &org);
        }
        let target = &self_information.alive;
        let endpoint = self_information
            .internal_endpoint()
            .filter(|e| !e.is_empty())
            .unwrap_or(&target.external_endpoint)
            .to_string();
        match self.membership_response(env, &org, &target.external_endpoint) {
            Some((alive, dead)) => env.send(
                from,
                &endpoint,
                GossipMessage::MembershipResponse { alive, dead, nonce },
            ),
            // "Got a membership request from a peer that shouldn't have sent one".
            None => env.out.push_back(Output::CloseConnection { pki_id: from }),
        }
    }

    pub fn handle_membership_response(
        &mut self,
        env: &mut Env,
        alive: Vec<Arc<SignedAlive>>,
        dead: Vec<Arc<SignedAlive>>,
        nonce: u64,
    ) {
        if nonce != 0 {
            self.connects.retain(
                |_, c| !matches!(c.phase, ConnectPhase::AwaitingAck { nonce: n, .. } if n == nonce),
            );
        }
        for message in alive {
            if self.is_newer(&message) {
                if let Some(org) = Self::validate(env, &message) {
                    self.learn_alive(env, &message, &org);
                }
            }
        }
        for message in dead {
            if self.is_newer(&message) && !self.members.contains_key(&message.alive.pki_id) {
                if let Some(org) = Self::validate(env, &message) {
                    self.learn_dead(env, &message, &org);
                }
            }
        }
    }

    /// handleAliveMessage: learn a new member, resurrect a dead one, refresh an alive one.
    fn learn_alive(&mut self, env: &Env, message: &Arc<SignedAlive>, org: &str) {
        let alive = &message.alive;
        if alive.pki_id == env.me.pki_id {
            return;
        }
        match self.members.get_mut(&alive.pki_id) {
            None => {
                self.members
                    .insert(alive.pki_id, new_member(env, message, org, true));
            }
            Some(member) if member.timestamp < alive.timestamp => {
                member.alive = true;
                member.timestamp = alive.timestamp;
                member.last_seen = env.now;
                member.external_endpoint = alive.external_endpoint.clone();
                if let Some(internal) = message.internal_endpoint() {
                    member.internal_endpoint = internal.to_string();
                }
                member.last_alive = Arc::clone(message);
            }
            // An old or repeated message refreshes nothing.
            Some(_) => {}
        }
    }

    fn learn_dead(&mut self, env: &Env, message: &Arc<SignedAlive>, org: &str) {
        if message.alive.pki_id != env.me.pki_id {
            self.members
                .insert(message.alive.pki_id, new_member(env, message, org, false));
        }
    }

    /// The disclosure policy (gossip_impl.go disclosurePolicy): what a peer of `target_org`
    /// may learn about a peer of `about_org`. Only own-org members and members of the
    /// target's own org are disclosed, and across organizations only when both sides have an
    /// external endpoint.
    fn disclosed(
        env: &Env,
        about_org: &str,
        about_external: &str,
        target_org: &str,
        target_external: &str,
    ) -> bool {
        if about_org != target_org && about_org != env.me.org {
            return false;
        }
        about_org == target_org || (!about_external.is_empty() && !target_external.is_empty())
    }

    /// createMembershipResponse; None when not even our own alive message may be disclosed.
    #[allow(clippy::type_complexity)]
    fn membership_response(
        &mut self,
        env: &mut Env,
        target_org: &str,
        target_external: &str,
    ) -> Option<(Vec<Arc<SignedAlive>>, Vec<Arc<SignedAlive>>)> {
        let own = match &self.self_alive {
            Some(own) => Arc::clone(own),
            None => self.create_alive(env),
        };
        let conceal = |message: &Arc<SignedAlive>| {
            if target_org == env.me.org {
                Arc::clone(message)
            } else {
                message.without_secret()
            }
        };
        if !Self::disclosed(
            env,
            &env.me.org,
            &env.me.external_endpoint,
            target_org,
            target_external,
        ) {
            return None;
        }
        let mut alive = Vec::new();
        let mut dead = Vec::new();
        for member in self.members.values() {
            if Self::disclosed(
                env,
                &member.org,
                &member.external_endpoint,
                target_org,
                target_external,
            ) {
                let list = if member.alive { &mut alive } else { &mut dead };
                list.push(conceal(&member.last_alive));
            }
        }
        alive.push(conceal(&own));
        Some((alive, dead))
    }

    /// Sends a membership request with a fresh alive message, concealing the internal endpoint
    /// from peers of other organizations (`target_org` empty: unknown, concealed).
    fn send_membership_request(
        &mut self,
        env: &mut Env,
        to: PkiId,
        endpoint: &str,
        target_org: &str,
        nonce: u64,
    ) {
        let mut self_information = self.create_alive(env);
        if target_org != env.me.org {
            self_information = self_information.without_secret();
        }
        env.send(
            to,
            endpoint,
            GossipMessage::MembershipRequest {
                self_information,
                nonce,
            },
        );
    }

    /// InitiateSync: a membership request to `count` random alive members.
    fn initiate_sync(&mut self, env: &mut Env, count: u32) {
        let alive: Vec<(PkiId, String, String)> = self
            .alive_members()
            .map(|m| (m.pki_id, m.preferred_endpoint().to_string(), m.org.clone()))
            .collect();
        for (pki_id, endpoint, org) in random_selection(alive, count, env.rng) {
            self.send_membership_request(env, pki_id, &endpoint, &org, 0);
        }
    }

    /// The alive message store's expiry: purge members whose last alive message is older than
    /// aliveExpirationTimeout x msgExpirationFactor, except anchor and bootstrap peers.
    fn expire_stored_alive_messages(&mut self, env: &mut Env) {
        let ttl = alive_message_ttl(env);
        let now = env.now;
        let mut purge = Vec::new();
        self.store.retain(|pki_id, stored| {
            let age = now.saturating_sub(stored.created);
            if !stored.expired && age > ttl {
                stored.expired = true;
                purge.push((*pki_id, Arc::clone(&stored.message)));
            }
            age <= ttl * 2
        });
        for (pki_id, message) in purge {
            let endpoints = [
                message.alive.external_endpoint.as_str(),
                message.internal_endpoint().unwrap_or(""),
            ];
            let protected = endpoints.iter().any(|e| {
                !e.is_empty()
                    && (self.anchors.contains(*e) || self.bootstrap.iter().any(|b| b == e))
            });
            if !protected {
                self.members.remove(&pki_id);
            }
        }
    }
}

fn new_member(env: &Env, message: &Arc<SignedAlive>, org: &str, alive: bool) -> Member {
    Member {
        pki_id: message.alive.pki_id,
        org: org.to_string(),
        external_endpoint: message.alive.external_endpoint.clone(),
        internal_endpoint: message.internal_endpoint().unwrap_or("").to_string(),
        alive,
        last_alive: Arc::clone(message),
        timestamp: message.alive.timestamp,
        last_seen: env.now,
    }
}

fn nonzero_nonce(env: &mut Env) -> u64 {
    env.rng.next_u64().max(1)
}

fn expiration_check_interval(env: &Env) -> Duration {
    env.config.gossip.alive_expiration_timeout / 10
}

fn alive_message_ttl(env: &Env) -> Duration {
    env.config.gossip.alive_expiration_timeout * env.config.gossip.msg_expiration_factor
}

/// msgstore.go: expired messages are looked for every TTL/100.
fn store_check_interval(env: &Env) -> Duration {
    alive_message_ttl(env) / 100
}

fn handshake_deadline(env: &Env) -> Duration {
    env.config.gossip.dial_timeout + env.config.gossip.conn_timeout + HANDSHAKE_TIMEOUT
}
