//! World state and transaction simulation (F core/ledger/kvledger/txmgmt).
//!
//! The world state maps (namespace, key) to the value last written by a valid transaction
//! and the version (block, transaction) that wrote it. Chaincodes run against it through a
//! [`TxSimulator`], which records what they read (with the version seen) and what they
//! write, producing the read-write set that endorsers sign and committers validate. As in
//! Fabric's simulator, a read returns the committed value, never the transaction's own
//! earlier write, and each key appears once in the reads and once in the writes, sorted.

use super::types::{ReadWriteSet, Version};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionedValue {
    pub value: Vec<u8>,
    pub version: Version,
}

/// Committed key-value state per chaincode namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldState {
    namespaces: BTreeMap<String, BTreeMap<String, VersionedValue>>,
}

impl WorldState {
    pub fn get(&self, namespace: &str, key: &str) -> Option<&VersionedValue> {
        self.namespaces.get(namespace)?.get(key)
    }

    pub fn version(&self, namespace: &str, key: &str) -> Option<Version> {
        self.get(namespace, key).map(|value| value.version)
    }

    /// Number of keys in `namespace`.
    pub fn key_count(&self, namespace: &str) -> usize {
        self.namespaces.get(namespace).map_or(0, BTreeMap::len)
    }

    /// Applies a valid transaction's writes, stamping them with `version`.
    pub(crate) fn apply(
        &mut self,
        namespace: &str,
        writes: Vec<(String, Option<Vec<u8>>)>,
        version: Version,
    ) {
        let keys = self.namespaces.entry(namespace.to_string()).or_default();
        for (key, value) in writes {
            match value {
                Some(value) => {
                    keys.insert(key, VersionedValue { value, version });
                }
                None => {
                    keys.remove(&key);
                }
            }
        }
    }
}

/// Runs one chaincode invocation against a state snapshot, recording its read-write set.
pub struct TxSimulator<'a> {
    state: &'a WorldState,
    namespace: &'a str,
    reads: BTreeMap<String, Option<Version>>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
}

impl<'a> TxSimulator<'a> {
    pub fn new(state: &'a WorldState, namespace: &'a str) -> TxSimulator<'a> {
        TxSimulator {
            state,
            namespace,
            reads: BTreeMap::new(),
            writes: BTreeMap::new(),
        }
    }

    /// The committed value of `key`, recording the read and the version seen.
    pub fn get_state(&mut self, key: &str) -> Option<&'a [u8]> {
        let value = self.state.get(self.namespace, key);
        self.reads
            .entry(key.to_string())
            .or_insert_with(|| value.map(|value| value.version));
        value.map(|value| value.value.as_slice())
    }

    pub fn put_state(&mut self, key: &str, value: Vec<u8>) {
        self.writes.insert(key.to_string(), Some(value));
    }

    pub fn into_results(self) -> ReadWriteSet {
        ReadWriteSet {
            reads: self.reads.into_iter().collect(),
            writes: self.writes.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(block_number: u64, tx_number: u64) -> Version {
        Version {
            block_number,
            tx_number,
        }
    }

    #[test]
    fn simulation_records_reads_with_versions_and_sorted_writes() {
        let mut state = WorldState::default();
        state.apply("cc", vec![("b".into(), Some(b"1".to_vec()))], version(3, 1));
        let mut simulator = TxSimulator::new(&state, "cc");
        assert_eq!(simulator.get_state("b"), Some(&b"1"[..]));
        assert_eq!(simulator.get_state("a"), None);
        simulator.put_state("z", b"new".to_vec());
        simulator.put_state("b", b"2".to_vec());
        // Reads see committed state, not the transaction's own writes.
        assert_eq!(simulator.get_state("b"), Some(&b"1"[..]));
        let results = simulator.into_results();
        assert_eq!(
            results.reads,
            vec![("a".into(), None), ("b".into(), Some(version(3, 1)))]
        );
        assert_eq!(
            results.writes,
            vec![
                ("b".into(), Some(b"2".to_vec())),
                ("z".into(), Some(b"new".to_vec()))
            ]
        );
        // Namespaces are separate.
        assert_eq!(TxSimulator::new(&state, "other").get_state("b"), None);
    }

    #[test]
    fn applied_writes_carry_their_version_and_deletes_remove() {
        let mut state = WorldState::default();
        state.apply("cc", vec![("k".into(), Some(b"v".to_vec()))], version(1, 0));
        assert_eq!(state.version("cc", "k"), Some(version(1, 0)));
        assert_eq!(state.key_count("cc"), 1);
        state.apply("cc", vec![("k".into(), None)], version(2, 0));
        assert_eq!(state.get("cc", "k"), None);
        assert_eq!(state.key_count("cc"), 0);
    }
}
