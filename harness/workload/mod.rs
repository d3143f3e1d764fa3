//! The transaction load: what the client application submits and when. The async client
//! that sends the transactions is a node program (node/client.rs); the gateway peer it
//! talks to plans endorsements (node/gateway.rs).

use crate::fabric::invocation::AssetCall;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

const COLORS: [&str; 5] = ["blue", "red", "green", "yellow", "black"];
const OWNERS: [&str; 6] = ["Tomoko", "Brad", "Jin Soo", "Max", "Adriana", "Michel"];

/// Generates the calls of a run: creates first, then a mix in which a third of the calls
/// transfer an asset created earlier (a read-modify-write, so MVCC conflicts are possible
/// when two transfers of one asset land in one block, as on a real network).
pub struct AssetMix {
    rng: ChaCha8Rng,
    created: Vec<String>,
    next_id: u64,
}

impl AssetMix {
    pub fn new(rng: ChaCha8Rng) -> AssetMix {
        AssetMix {
            rng,
            created: Vec::new(),
            next_id: 0,
        }
    }

    pub fn next_call(&mut self) -> AssetCall {
        let transfer = self.created.len() >= 10 && self.rng.random_ratio(1, 3);
        if transfer {
            let id = self.created[self.rng.random_range(0..self.created.len())].clone();
            let new_owner = OWNERS[self.rng.random_range(0..OWNERS.len())].to_string();
            return AssetCall::TransferAsset { id, new_owner };
        }
        let id = format!("asset{}", self.next_id);
        self.next_id += 1;
        self.created.push(id.clone());
        AssetCall::CreateAsset {
            id,
            color: COLORS[self.rng.random_range(0..COLORS.len())].to_string(),
            size: self.rng.random_range(1..20),
            owner: OWNERS[self.rng.random_range(0..OWNERS.len())].to_string(),
            appraised_value: self.rng.random_range(100..1000),
        }
    }
}

/// When the n-th transaction is submitted: evenly spaced at `rate_per_s`.
pub fn submit_offset(n: u64, rate_per_s: f64) -> Duration {
    Duration::from_secs_f64(n as f64 / rate_per_s)
}

/// How many transactions a workload submits.
pub fn transaction_count(rate_per_s: f64, duration: Duration) -> u64 {
    (rate_per_s * duration.as_secs_f64()).floor() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_mix_is_deterministic_and_transfers_only_existing_assets() {
        let calls = |seed| {
            let mut mix = AssetMix::new(ChaCha8Rng::seed_from_u64(seed));
            (0..200).map(|_| mix.next_call()).collect::<Vec<_>>()
        };
        assert_eq!(calls(3), calls(3));
        assert_ne!(calls(3), calls(4));
        let mut created = std::collections::BTreeSet::new();
        let mut transfers = 0;
        for call in calls(3) {
            match call {
                AssetCall::CreateAsset { id, .. } => assert!(created.insert(id)),
                AssetCall::ReadAsset { .. } | AssetCall::AssetExists { .. } => {}
                AssetCall::TransferAsset { id, .. } => {
                    transfers += 1;
                    assert!(created.contains(&id));
                }
            }
        }
        assert!(
            (40..90).contains(&transfers),
            "{transfers} transfers in 200 calls"
        );
    }

    #[test]
    fn rate_spreads_submissions_evenly() {
        assert_eq!(transaction_count(20.0, Duration::from_secs(600)), 12_000);
        assert_eq!(submit_offset(20, 20.0), Duration::from_secs(1));
        assert_eq!(submit_offset(1, 4.0), Duration::from_millis(250));
    }
}
