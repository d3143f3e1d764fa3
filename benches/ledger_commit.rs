//! Commit of a 40-transaction block (CreateAsset, endorsed by both organizations) on a
//! peer, the committer's work per block at hadr's reference load (20 tx/s, 2 s batches).
//! - cold: the first commit of the block's signatures in this process. crypto.rs starts
//!   verifying every signature on its worker thread as soon as it is made, so this is the
//!   commit plus whatever verification the worker has not finished by then: the first
//!   peer to commit a fresh block in the simulation;
//! - warm: another peer already committed the same block, so crypto::verify's cache answers
//!   (every other peer of the network).
//!
//! The MSP identity caches are warm in both: identities repeat across blocks.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hadr::fabric::testnet::{create_asset, TestNetwork, CHANNEL_ID};
use hadr::fabric::types::Block;
use std::cell::RefCell;

const TRANSACTIONS_PER_BLOCK: usize = 40;

/// A signed block of fresh CreateAsset transactions, for the orderer's next number.
fn next_block(network: &mut TestNetwork, counter: &mut usize) -> Block {
    let envelopes = (0..TRANSACTIONS_PER_BLOCK)
        .map(|i| {
            *counter += 1;
            network
                .asset_transaction(i % 2, create_asset(&format!("asset{counter}"), "Tomoko"))
                .0
        })
        .collect();
    network.orderer.cut(envelopes)
}

fn commit_block(c: &mut Criterion) {
    // Peers 0 and 1 belong to Org1, 2 and 3 to Org2; endorsements come from peers 0 and 2.
    // Fresh CreateAsset transactions read absent keys, so endorsers need not be at the tip.
    let mut group = c.benchmark_group("ledger_commit_40_tx");
    group.sample_size(30);
    for (name, warm_up_peer) in [("cold_verify_cache", None), ("warm_verify_cache", Some(1))] {
        let network = RefCell::new(TestNetwork::new(1, 2, 2));
        let mut counter = 0;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let mut network = network.borrow_mut();
                    let block = next_block(&mut network, &mut counter);
                    if let Some(peer) = warm_up_peer {
                        network.peers[peer]
                            .commit(CHANNEL_ID, block.clone())
                            .unwrap();
                    }
                    block
                },
                |block| {
                    network.borrow_mut().peers[3]
                        .commit(CHANNEL_ID, block)
                        .unwrap()
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, commit_block);
criterion_main!(benches);
