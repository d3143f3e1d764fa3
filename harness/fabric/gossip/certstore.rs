//! Fabric's identity pull (gossip/gossip/certstore.go): alive messages carry their sender's
//! certificate only during its first publishCertPeriod, so identities spread by pulling. Every
//! pullInterval a peer sends a hello to pullPeerNum random alive members, learns from their
//! digests which PKI-IDs it lacks and asks for them; the answers are validated by the MSP
//! before they join the identity map and the pull store. What a peer discloses to another
//! organization is sameOrgOrOurOrgPullFilter: everything to its own org; to another org only
//! identities of its own org or of the requester's org, of peers with an external endpoint.
//!
//! Simplification: Fabric signs each identity message by its subject; here the identity itself
//! is the item (its PKI-ID is its hash, and the MSP validates it), which admits the same
//! identities.

use super::discovery::Discovery;
use super::message::{GossipMessage, PkiId};
use super::node::{random_selection, Env};
use super::pull::PullEngine;
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct CertStore {
    pull: PullEngine<PkiId>,
}

impl CertStore {
    /// The store starts with the peer's own identity.
    pub fn new(env: &Env) -> CertStore {
        let gossip = &env.config.gossip;
        let mut pull = PullEngine::new(
            env.now,
            gossip.pull_interval,
            gossip.digest_wait_time,
            gossip.request_wait_time,
            gossip.response_wait_time,
        );
        pull.add(env.me.pki_id);
        CertStore { pull }
    }

    pub fn deadline(&self) -> Duration {
        self.pull.deadline()
    }

    pub fn handle_timeout(&mut self, env: &mut Env, discovery: &Discovery) {
        let now = env.now;
        for request in self.pull.handle_timeout(now, env.rng) {
            let message = GossipMessage::IdentityRequest {
                nonce: request.nonce,
                pki_ids: request.items,
            };
            env.send(request.to, &request.endpoint, message);
        }
        if self.pull.pull_due(now) {
            let candidates: Vec<(PkiId, String)> = discovery
                .alive_members()
                .map(|m| (m.pki_id, m.preferred_endpoint().to_string()))
                .collect();
            let peers = random_selection(candidates, env.config.gossip.pull_peer_num, env.rng);
            for (to, endpoint, nonce) in self.pull.start_round(now, peers, env.rng) {
                env.send(to, &endpoint, GossipMessage::IdentityHello { nonce });
            }
        }
    }

    /// An identity pull message from `from` (of `from_org`); other messages are ignored.
    pub fn handle_message(
        &mut self,
        env: &mut Env,
        discovery: &Discovery,
        from: PkiId,
        from_org: &str,
        message: GossipMessage,
    ) {
        match message {
            GossipMessage::IdentityHello { nonce } => {
                let pki_ids =
                    disclosed(env, discovery, from_org, self.pull.on_hello(env.now, nonce));
                if !pki_ids.is_empty() {
                    env.reply(from, GossipMessage::IdentityDigest { nonce, pki_ids });
                }
            }
            GossipMessage::IdentityDigest { nonce, pki_ids } => {
                self.pull.on_digest(nonce, &pki_ids)
            }
            GossipMessage::IdentityRequest { nonce, pki_ids } => {
                let held = disclosed(
                    env,
                    discovery,
                    from_org,
                    self.pull.on_request(nonce, &pki_ids),
                );
                let identities: Vec<_> = held
                    .iter()
                    .filter_map(|pki_id| env.identities.identity_of(pki_id).cloned())
                    .collect();
                if !identities.is_empty() {
                    env.reply(from, GossipMessage::IdentityUpdate { nonce, identities });
                }
            }
            GossipMessage::IdentityUpdate { nonce, identities } => {
                if !self.pull.accepts_response(nonce) {
                    return;
                }
                for identity in identities {
                    if let Ok((pki_id, _)) = env.identities.put(env.crypto, &identity) {
                        self.pull.add(pki_id);
                    }
                }
            }
            _ => {}
        }
    }
}

/// sameOrgOrOurOrgPullFilter: the items a peer of `requester_org` may learn.
fn disclosed(
    env: &Env,
    discovery: &Discovery,
    requester_org: &str,
    items: Vec<PkiId>,
) -> Vec<PkiId> {
    if requester_org == env.me.org {
        return items;
    }
    items
        .into_iter()
        .filter(|pki_id| {
            let org = env.identities.org_of(pki_id);
            discovery.has_external_endpoint(env, pki_id)
                && (org == Some(env.me.org.as_str()) || org == Some(requester_org))
        })
        .collect()
}
