//! The client application's load, from scenario files run on `sim`: every transaction the
//! scenario asks for is submitted, at rates finer than the simulation's step too, and a
//! restarted application makes new transaction IDs.

mod common;
use common::run::*;
use hadr::history::{EventKind, OpPhase};
use std::collections::BTreeSet;

#[test]
fn a_rate_finer_than_the_tick_submits_every_transaction() {
    // 400 a second is 4 per 10 ms step.
    let scenario = load("tests/fixtures/scenarios/fine-rate.yaml");
    let (report, _) = run(&scenario);
    let asked = scenario.workload.schedule().count();
    assert_eq!(asked, 1600);
    assert_eq!(
        report.stats.transactions_submitted, asked,
        "{:?}",
        report.stats
    );
}

#[test]
fn a_restarted_client_makes_new_transaction_ids() {
    let scenario = load("tests/fixtures/scenarios/client-restart.yaml");
    let (report, history) = run(&scenario);
    let mut ids = BTreeSet::new();
    for (_, op) in history.iter(|k| match k {
        EventKind::Op(op) if op.phase == OpPhase::Invoke => Some(op),
        _ => None,
    }) {
        let id = op.tx_id.clone().expect("a transaction has an ID");
        assert!(
            ids.insert(id.clone()),
            "transaction ID {id} submitted twice"
        );
    }
    let duplicates = history
        .iter(|k| match k {
            EventKind::Op(op) if op.phase == OpPhase::Fail && op.detail.contains("DUPLICATE") => {
                Some(op)
            }
            _ => None,
        })
        .count();
    assert_eq!(duplicates, 0);
    assert!(report.stats.transactions_committed > 0);
}

/// The client operations of `history`: (time, operation), invokes and completions.
fn client_ops(history: &hadr::history::History) -> Vec<(u64, &hadr::history::Operation)> {
    history
        .iter(|k| match k {
            EventKind::Op(op) if op.process.starts_with("client.") => Some(op),
            _ => None,
        })
        .collect()
}

#[test]
fn an_application_mix_runs_a_client_per_region_with_evaluates_conflicts_and_a_burst() {
    let scenario = load("tests/fixtures/scenarios/application-mix.yaml");
    let (report, history) = run(&scenario);
    let ops = client_ops(&history);
    let start = history.workload_started_at().expect("the workload started");
    for region in ["us-east", "us-west", "ca-central"] {
        let process = format!("client.{region}");
        let mine: Vec<_> = ops.iter().filter(|(_, op)| op.process == process).collect();
        // Each client talks to its own region's gateway peer.
        let gateways: BTreeSet<&str> = mine
            .iter()
            .filter(|(_, op)| op.phase == OpPhase::Ok)
            .filter_map(|(_, op)| op.node.as_deref())
            .collect();
        assert_eq!(
            gateways,
            BTreeSet::from([format!("peer0.org1.{region}").as_str()]),
            "{process}"
        );
        // 4/s for 20 s, 20/s for 10 s, a ramp back to 4/s over 5 s, 4/s for 5 s.
        let invoked_in = |from_s: u64, to_s: u64| {
            mine.iter()
                .filter(|(at, op)| {
                    op.phase == OpPhase::Invoke
                        && (start + from_s * 1000..start + to_s * 1000).contains(at)
                })
                .count()
        };
        assert_eq!(invoked_in(0, 20), 80, "{process}");
        assert_eq!(invoked_in(20, 30), 200, "{process}");
        assert_eq!(invoked_in(35, 40), 20, "{process}");
    }
    let per_client = scenario.workload.schedule().count();
    assert_eq!(per_client, 80 + 200 + 60 + 20);
    let stats = &report.stats;
    let calls = 3 * per_client;
    assert_eq!(stats.transactions_submitted + stats.evaluates, calls);
    // A quarter evaluates (once a client has an asset to read), within sampling.
    let share = stats.evaluates as f64 / calls as f64;
    assert!((0.18..0.32).contains(&share), "evaluate share {share}");
    assert_eq!(stats.evaluates_failed, 0, "{stats:?}");
    assert!(ops
        .iter()
        .filter(|(_, op)| op.function == "ReadAsset")
        .all(|(_, op)| op.tx_id.is_none()));
    // Five keys per client, twenty calls a second: transfers of one key meet in a block.
    assert!(stats.transactions_mvcc_conflicts > 10, "{stats:?}");
    // Contention is all that fails: a conflict at validation, or endorsers that read one
    // key at different heights (Fabric's "ProposalResponsePayloads do not match").
    let other_failures: Vec<&str> = ops
        .iter()
        .filter(|(_, op)| op.phase == OpPhase::Fail)
        .map(|(_, op)| op.detail.as_str())
        .filter(|d| !d.ends_with("as MvccReadConflict"))
        .filter(|d| !d.contains("ProposalResponsePayloads do not match"))
        .collect();
    assert!(other_failures.is_empty(), "{other_failures:#?}");
    assert!(report.passed, "{:#?}", report.expectations);
}

#[test]
fn large_transactions_fill_blocks_by_size_not_by_the_batch_timeout() {
    let large = load("tests/fixtures/scenarios/large-transactions.yaml");
    let mut small = large.clone();
    small.workload.calls.payload_bytes = 0;
    let blocks_of = |scenario| {
        let (report, history) = run(scenario);
        assert!(report.passed, "{:#?}", report.expectations);
        let chain = history
            .iter(|k| match k {
                EventKind::Chain(chain) if chain.peer == "peer0.org1.us-east" => Some(chain),
                _ => None,
            })
            .last()
            .map(|(_, chain)| chain.clone())
            .expect("the peer's chain is recorded");
        let workload: BTreeSet<String> = client_ops(&history)
            .into_iter()
            .filter_map(|(_, op)| op.tx_id.clone())
            .collect();
        let with_transactions: Vec<usize> = chain
            .blocks
            .iter()
            .map(|b| {
                b.valid_tx_ids
                    .iter()
                    .filter(|id| workload.contains(*id))
                    .count()
            })
            .filter(|n| *n > 0)
            .collect();
        (report.stats.transactions_committed, with_transactions)
    };
    let (committed, large_blocks) = blocks_of(&large);
    // Two 300 KB transactions overflow the 512 KB PreferredMaxBytes: one per block.
    assert!(large_blocks.iter().all(|n| *n == 1), "{large_blocks:?}");
    assert_eq!(large_blocks.len() as u64, committed);
    let (small_committed, small_blocks) = blocks_of(&small);
    assert_eq!(small_committed, committed);
    assert!(small_blocks.iter().any(|n| *n > 1), "{small_blocks:?}");
}
