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
    let asked =
        hadr::workload::transaction_count(scenario.workload.rate_per_s, scenario.workload.duration);
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
