//! Fabric's pull engine (gossip/gossip/algo/pull.go) as used for blocks
//! (gossip/gossip/pull/pullstore.go) and for identities (gossip/gossip/certstore.go): every pullInterval send a hello to a few peers, collect
//! their digests for digestWaitTime, request each missing item from one random owner, accept
//! responses for responseWaitTime. The responder side answers hellos with its digest and
//! requests (within requestWaitTime of the hello) with the items it holds.
//!
//! Items are block numbers or PKI-IDs; the engine only tracks items and nonces, its owner holds
//! the blocks or identities.

use super::message::PkiId;
use rand::{Rng, RngCore};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    CollectingDigests,
    CollectingResponses,
}

#[derive(Debug)]
struct Round<T> {
    phase: Phase,
    deadline: Duration,
    peer_of_nonce: BTreeMap<u64, (PkiId, String)>,
    owners: BTreeMap<T, Vec<u64>>,
}

/// A request to send: the items wanted from the peer behind a hello's nonce.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PullRequest<T> {
    pub to: PkiId,
    pub endpoint: String,
    pub nonce: u64,
    pub items: Vec<T>,
}

#[derive(Debug)]
pub(crate) struct PullEngine<T> {
    items: BTreeSet<T>,
    round: Option<Round<T>>,
    /// Nonces of hellos received, and until when a request quoting them is answered.
    incoming: BTreeMap<u64, Duration>,
    next_pull: Duration,
    pull_interval: Duration,
    digest_wait: Duration,
    request_wait: Duration,
    response_wait: Duration,
}

impl<T: Ord + Clone> PullEngine<T> {
    pub fn new(
        now: Duration,
        pull_interval: Duration,
        digest_wait: Duration,
        request_wait: Duration,
        response_wait: Duration,
    ) -> PullEngine<T> {
        PullEngine {
            items: BTreeSet::new(),
            round: None,
            incoming: BTreeMap::new(),
            // The engine sleeps first, then pulls.
            next_pull: now + pull_interval,
            pull_interval,
            digest_wait,
            request_wait,
            response_wait,
        }
    }

    pub fn add(&mut self, item: T) {
        self.items.insert(item);
    }

    pub fn remove(&mut self, item: &T) {
        self.items.remove(item);
    }

    pub fn deadline(&self) -> Duration {
        let round = self.round.as_ref().map(|r| r.deadline);
        let incoming = self.incoming.values().min().copied();
        [Some(self.next_pull), round, incoming]
            .into_iter()
            .flatten()
            .min()
            .expect("next_pull is always set")
    }

    /// Whether it is time for a new round (then call `start_round`).
    pub fn pull_due(&self, now: Duration) -> bool {
        self.next_pull <= now
    }

    /// initiatePull: hellos to `peers`; returns (peer, endpoint, nonce) to send them to.
    pub fn start_round(
        &mut self,
        now: Duration,
        peers: Vec<(PkiId, String)>,
        rng: &mut impl RngCore,
    ) -> Vec<(PkiId, String, u64)> {
        self.next_pull = now + self.pull_interval;
        let mut round = Round {
            phase: Phase::CollectingDigests,
            deadline: now + self.digest_wait,
            peer_of_nonce: BTreeMap::new(),
            owners: BTreeMap::new(),
        };
        let mut hellos = Vec::new();
        for (pki_id, endpoint) in peers {
            let mut nonce = rng.next_u64();
            while round.peer_of_nonce.contains_key(&nonce) {
                nonce = rng.next_u64();
            }
            round
                .peer_of_nonce
                .insert(nonce, (pki_id, endpoint.clone()));
            hellos.push((pki_id, endpoint, nonce));
        }
        self.round = Some(round);
        hellos
    }

    /// Timers of the current round and of received hellos; returns the requests to send when
    /// the digest wait ends.
    pub fn handle_timeout(&mut self, now: Duration, rng: &mut impl RngCore) -> Vec<PullRequest<T>> {
        self.incoming.retain(|_, until| *until > now);
        let Some(round) = self.round.as_mut() else {
            return Vec::new();
        };
        if round.deadline > now {
            return Vec::new();
        }
        match round.phase {
            Phase::CollectingResponses => {
                self.round = None;
                Vec::new()
            }
            Phase::CollectingDigests => {
                // processIncomingDigests: each missing item from one random owner.
                let mut by_nonce: BTreeMap<u64, Vec<T>> = BTreeMap::new();
                for (item, owners) in &round.owners {
                    let nonce = owners[rng.random_range(0..owners.len())];
                    by_nonce.entry(nonce).or_default().push(item.clone());
                }
                round.phase = Phase::CollectingResponses;
                round.deadline = now + self.response_wait;
                by_nonce
                    .into_iter()
                    .map(|(nonce, items)| {
                        let (to, endpoint) = round.peer_of_nonce[&nonce].clone();
                        PullRequest {
                            to,
                            endpoint,
                            nonce,
                            items,
                        }
                    })
                    .collect()
            }
        }
    }

    /// OnHello: remember the nonce for requestWaitTime; returns the digest to answer with
    /// (nothing is sent when it is empty).
    pub fn on_hello(&mut self, now: Duration, nonce: u64) -> Vec<T> {
        self.incoming.insert(nonce, now + self.request_wait);
        self.items.iter().cloned().collect()
    }

    /// OnDigest: note who owns the items we lack, while digests are accepted.
    pub fn on_digest(&mut self, nonce: u64, items: &[T]) {
        let Some(round) = self.round.as_mut() else {
            return;
        };
        if round.phase != Phase::CollectingDigests || !round.peer_of_nonce.contains_key(&nonce) {
            return;
        }
        for item in items {
            if !self.items.contains(item) {
                round.owners.entry(item.clone()).or_default().push(nonce);
            }
        }
    }

    /// OnReq: the requested items we hold, if the request quotes a live hello nonce.
    pub fn on_request(&self, nonce: u64, items: &[T]) -> Vec<T> {
        if !self.incoming.contains_key(&nonce) {
            return Vec::new();
        }
        items
            .iter()
            .filter(|item| self.items.contains(item))
            .cloned()
            .collect()
    }

    /// OnRes: whether a response with this nonce belongs to the round (then its items join
    /// the engine's state).
    pub fn accepts_response(&self, nonce: u64) -> bool {
        self.round.as_ref().is_some_and(|r| {
            r.phase == Phase::CollectingResponses && r.peer_of_nonce.contains_key(&nonce)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn engine() -> PullEngine<u64> {
        PullEngine::new(S(0), S(4), S(1), Duration::from_millis(1500), S(2))
    }

    #[test]
    fn round_asks_each_missing_item_once_and_accepts_only_its_responses() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut puller = engine();
        puller.add(5);
        assert!(!puller.pull_due(S(3)));
        assert!(puller.pull_due(S(4)));
        let a = PkiId([1; 32]);
        let b = PkiId([2; 32]);
        let hellos = puller.start_round(S(4), vec![(a, "a".into()), (b, "b".into())], &mut rng);
        assert_eq!(hellos.len(), 2);
        let (na, nb) = (hellos[0].2, hellos[1].2);
        puller.on_digest(na, &[5, 6, 7]);
        puller.on_digest(nb, &[7, 8]);
        puller.on_digest(999, &[9]);
        assert!(!puller.accepts_response(na));
        assert!(puller
            .handle_timeout(Duration::from_millis(4500), &mut rng)
            .is_empty());
        let requests = puller.handle_timeout(S(5), &mut rng);
        let mut asked: Vec<u64> = requests.iter().flat_map(|r| r.items.clone()).collect();
        asked.sort();
        assert_eq!(asked, vec![6, 7, 8]);
        assert!(requests.iter().all(|r| r.nonce == na || r.nonce == nb));
        // Digests after the wait are ignored.
        puller.on_digest(na, &[10]);
        assert!(puller.accepts_response(na));
        assert!(!puller.accepts_response(999));
        puller.handle_timeout(S(7), &mut rng);
        assert!(!puller.accepts_response(na));
        assert_eq!(puller.deadline(), S(8));
    }

    #[test]
    fn requests_are_answered_only_within_the_hello_window() {
        let mut puller = engine();
        puller.add(1);
        puller.add(2);
        assert_eq!(puller.on_hello(S(10), 42), vec![1, 2]);
        assert_eq!(puller.on_request(42, &[2, 3]), vec![2]);
        assert!(puller.on_request(43, &[2]).is_empty());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        puller.handle_timeout(Duration::from_millis(11_500), &mut rng);
        assert!(puller.on_request(42, &[2]).is_empty());
    }
}
