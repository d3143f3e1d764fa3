//! The transaction load: what each client application calls and when. The async client
//! that sends the calls is a node program (node/client.rs); the gateway peer it talks to
//! plans endorsements (node/gateway.rs).

mod rate;

pub use rate::Schedule;

use crate::fabric::invocation::AssetCall;
use crate::scenario::model::Calls;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const COLORS: [&str; 5] = ["blue", "red", "green", "yellow", "black"];
const OWNERS: [&str; 6] = ["Tomoko", "Brad", "Jin Soo", "Max", "Adriana", "Michel"];

/// One call of the application: a transaction it submits, or a query it evaluates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    Submit(AssetCall),
    Evaluate(AssetCall),
}

/// Generates a client's calls: creates first, then a mix in which a third of the submits
/// transfer an asset created earlier (a read-modify-write, so MVCC conflicts are possible
/// when two transfers of one asset land in one block, as on a real network). The new
/// shapes act as an application that waits for its writes: with an evaluate share, that
/// share of calls reads an asset the client saw commit; with a key space, every submit
/// transfers once the space is created, an asset seen to commit when there is one.
pub struct AssetMix {
    rng: ChaCha8Rng,
    calls: Calls,
    /// Put before every asset ID, so that clients do not create each other's assets.
    id_prefix: String,
    created: Vec<String>,
    /// Created assets whose creation the client saw commit, in the order it saw them.
    committed: Vec<String>,
    next_id: u64,
}

impl AssetMix {
    pub fn new(rng: ChaCha8Rng, calls: Calls, id_prefix: &str) -> AssetMix {
        AssetMix {
            rng,
            calls,
            id_prefix: id_prefix.to_string(),
            created: Vec::new(),
            committed: Vec::new(),
            next_id: 0,
        }
    }

    /// The client saw the creation of `id` commit.
    pub fn committed(&mut self, id: &str) {
        self.committed.push(id.to_string());
    }

    pub fn next_call(&mut self) -> Call {
        // Drawn only when asked for, so the default mix draws as it always has.
        let evaluate = self.calls.evaluate_share > 0.0
            && !self.committed.is_empty()
            && self.rng.random_bool(self.calls.evaluate_share);
        if evaluate {
            let id = pick(&mut self.rng, &self.committed);
            return Call::Evaluate(AssetCall::ReadAsset { id });
        }
        let space_full = self
            .calls
            .key_space
            .is_some_and(|keys| self.created.len() as u64 >= keys);
        if space_full {
            // A key of the space: transferred once seen committed, created (again, as an
            // application retries a failed create) until then.
            let id = pick(&mut self.rng, &self.created);
            if self.committed.contains(&id) {
                return self.transfer(id);
            }
            return self.create(id);
        }
        if self.created.len() >= 10 && self.rng.random_ratio(1, 3) {
            let id = pick(&mut self.rng, &self.created);
            return self.transfer(id);
        }
        let id = format!("{}asset{}", self.id_prefix, self.next_id);
        self.next_id += 1;
        self.created.push(id.clone());
        self.create(id)
    }

    fn transfer(&mut self, id: String) -> Call {
        let new_owner = OWNERS[self.rng.random_range(0..OWNERS.len())].to_string();
        Call::Submit(AssetCall::TransferAsset { id, new_owner })
    }

    fn create(&mut self, id: String) -> Call {
        Call::Submit(AssetCall::CreateAsset {
            id,
            color: COLORS[self.rng.random_range(0..COLORS.len())].to_string(),
            size: self.rng.random_range(1..20),
            owner: OWNERS[self.rng.random_range(0..OWNERS.len())].to_string(),
            appraised_value: self.rng.random_range(100..1000),
            notes: ".".repeat(usize::try_from(self.calls.payload_bytes).unwrap_or(0)),
        })
    }
}

fn pick(rng: &mut ChaCha8Rng, ids: &[String]) -> String {
    ids[rng.random_range(0..ids.len())].clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::collections::BTreeSet;

    /// 200 calls; with `commits`, every creation commits before the next call.
    fn calls_with(seed: u64, shape: &Calls, commits: bool) -> Vec<Call> {
        let mut mix = AssetMix::new(ChaCha8Rng::seed_from_u64(seed), shape.clone(), "");
        (0..200)
            .map(|_| {
                let call = mix.next_call();
                if let (true, Call::Submit(AssetCall::CreateAsset { id, .. })) = (commits, &call) {
                    mix.committed(id);
                }
                call
            })
            .collect()
    }

    fn calls(seed: u64, shape: &Calls) -> Vec<Call> {
        calls_with(seed, shape, false)
    }

    #[test]
    fn the_mix_is_deterministic_and_transfers_only_existing_assets() {
        let default = Calls::default();
        assert_eq!(calls(3, &default), calls(3, &default));
        assert_ne!(calls(3, &default), calls(4, &default));
        let mut created = BTreeSet::new();
        let mut transfers = 0;
        for call in calls(3, &default) {
            match call {
                Call::Submit(AssetCall::CreateAsset { id, notes, .. }) => {
                    assert!(created.insert(id));
                    assert!(notes.is_empty());
                }
                Call::Submit(AssetCall::TransferAsset { id, .. }) => {
                    transfers += 1;
                    assert!(created.contains(&id));
                }
                other => panic!("the default mix only submits: {other:?}"),
            }
        }
        assert!(
            (40..90).contains(&transfers),
            "{transfers} transfers in 200 calls"
        );
    }

    #[test]
    fn a_key_space_turns_every_submit_into_a_transfer_once_created() {
        let shape = Calls {
            key_space: Some(5),
            ..Calls::default()
        };
        // Every creation seen to commit: five creates, then only transfers of the five.
        let all = calls_with(3, &shape, true);
        assert!(all[..5]
            .iter()
            .all(|c| matches!(c, Call::Submit(AssetCall::CreateAsset { .. }))));
        assert!(all[5..]
            .iter()
            .all(|c| matches!(c, Call::Submit(AssetCall::TransferAsset { .. }))));
        // None seen to commit: the five keys are created again, no other key is.
        let ids: BTreeSet<String> = calls(3, &shape)
            .into_iter()
            .map(|c| match c {
                Call::Submit(AssetCall::CreateAsset { id, .. }) => id,
                other => panic!("nothing committed, nothing to transfer: {other:?}"),
            })
            .collect();
        assert_eq!(ids.len(), 5);
    }

    #[test]
    fn evaluates_take_their_share_and_read_created_assets() {
        let shape = Calls {
            evaluate_share: 0.25,
            payload_bytes: 100,
            ..Calls::default()
        };
        // Nothing seen to commit, nothing to read.
        assert!(!calls(3, &shape)
            .iter()
            .any(|c| matches!(c, Call::Evaluate(_))));
        let mut created = BTreeSet::new();
        let mut evaluates = 0;
        for call in calls_with(3, &shape, true) {
            match call {
                Call::Evaluate(AssetCall::ReadAsset { id }) => {
                    evaluates += 1;
                    assert!(created.contains(&id));
                }
                Call::Submit(AssetCall::CreateAsset { id, notes, .. }) => {
                    assert_eq!(notes.len(), 100);
                    created.insert(id);
                }
                Call::Submit(AssetCall::TransferAsset { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
        assert!((30..70).contains(&evaluates), "{evaluates} in 200");
    }
}
