//! The checks through the library API: each passes on a synthetic run of the scenario and
//! fails, with a detail naming the culprit, on a history that violates it.

use hadr::checks::limits::{documented_limit, find_limits, LimitEffect};
use hadr::checks::testkit::{
    chain_of, outage, synthetic_run, three_region_scenario, HistoryBuilder,
};
use hadr::checks::transactions::Stats;
use hadr::checks::{check, console, gossip, ledger, transactions, CheckResult};
use hadr::history::{BlockRecord, EventKind, FaultPhase, History, OpPhase, TimeMs};
use hadr::scenario::model::{Expectation, FaultKind, Limit, Scenario};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// DESIGN.md's scenario: us-west (Org2's home and CA) out from 180s to 240s.
fn west() -> Scenario {
    three_region_scenario()
}

/// The region of the ordering service (and of Org1's CA) out from 180s to 240s, the client
/// in ca-central.
fn east() -> Scenario {
    let mut scenario = three_region_scenario();
    scenario.faults = vec![outage("us-east", 120, Some(60))];
    scenario.workload.clients = vec!["ca-central".to_string()];
    scenario
}

/// A copy of `history` where `edit` may change each event, or drop it by returning false.
fn edited(history: &History, mut edit: impl FnMut(TimeMs, &mut EventKind) -> bool) -> History {
    let mut out = history.clone();
    out.events.retain_mut(|e| edit(e.at_ms, &mut e.kind));
    out
}

/// A synthetic run of `scenario` where `edit` changes the chain fetched from `peer`.
fn with_chain(
    scenario: &Scenario,
    peer: &str,
    mut edit: impl FnMut(&mut Vec<BlockRecord>),
) -> History {
    edited(&synthetic_run(scenario), |_, kind| {
        if let EventKind::Chain(chain) = kind {
            if chain.peer == peer {
                edit(&mut chain.blocks);
            }
        }
        true
    })
}

fn expectation(scenario: &Scenario, name: &str) -> Expectation {
    scenario
        .expect
        .iter()
        .find(|e| e.name() == name)
        .cloned()
        .expect("the scenario has this expectation")
}

fn run(scenario: &Scenario, history: &History, name: &str) -> CheckResult {
    check(
        scenario,
        history,
        &expectation(scenario, name),
        &find_limits(scenario, history),
    )
}

fn assert_fails(result: &CheckResult, needle: &str) {
    assert!(!result.passed, "expected a failure, got: {}", result.detail);
    assert!(
        result.detail.contains(needle),
        "detail lacks {needle:?}: {}",
        result.detail
    );
}

#[test]
fn every_expectation_holds_on_a_synthetic_run() {
    let scenario = west();
    let history = synthetic_run(&scenario);
    let limits = find_limits(&scenario, &history);
    for e in &scenario.expect {
        let result = check(&scenario, &history, e, &limits);
        assert!(result.passed, "{}: {}", e.name(), result.detail);
    }
}

#[test]
fn synthetic_runs_and_their_verdicts_are_deterministic() {
    let scenario = east();
    assert_eq!(synthetic_run(&scenario), synthetic_run(&scenario));
}

// ledger_in_sync

#[test]
fn ledger_in_sync_measures_catch_up_from_the_last_heal() {
    let scenario = west();
    let result = run(&scenario, &synthetic_run(&scenario), "ledger_in_sync");
    assert!(result.passed, "{}", result.detail);
    insta::assert_snapshot!(result.detail, @"6 live peers at height 181, one hash per height; caught up 6.0s after the last heal at 240.0s (bound 60.0s; slowest peer0.org1.us-west, reaching height 90 at 246.0s)");
}

#[test]
fn ledger_in_sync_names_the_first_forked_block() {
    let scenario = west();
    let history = with_chain(&scenario, "peer0.org2.ca-central", |blocks| {
        blocks[50].hash = "f0f0f0f0f0f0f0f0".to_string();
    });
    let result = ledger::ledger_in_sync(&scenario, &history, Duration::from_secs(60));
    assert_fails(&result, "fork at block 50");
    assert_fails(&result, "peer0.org2.ca-central's chain has f0f0f0f0f0f0");
}

#[test]
fn ledger_in_sync_names_a_lagging_peer() {
    let scenario = west();
    let history = with_chain(&scenario, "peer0.org2.us-west", |blocks| {
        blocks.truncate(170);
    });
    let result = ledger::ledger_in_sync(&scenario, &history, Duration::from_secs(60));
    assert_fails(
        &result,
        "peer0.org2.us-west ends at height 170, 11 blocks behind peer0.org1.ca-central at 181",
    );
}

#[test]
fn ledger_in_sync_fails_when_catching_up_takes_longer_than_the_bound() {
    let scenario = west();
    let result =
        ledger::ledger_in_sync(&scenario, &synthetic_run(&scenario), Duration::from_secs(3));
    assert_fails(
        &result,
        "peer0.org1.us-west reached height 90 only 6.0s after the last heal at 240.0s, later \
         than the bound of 3.0s",
    );
}

#[test]
fn ledger_in_sync_names_a_peer_that_never_caught_up() {
    let scenario = west();
    // peer0.org2.us-west comes back at 240s but stays at height 60.
    let history = edited(
        &with_chain(&scenario, "peer0.org2.us-west", |blocks| {
            blocks.truncate(60)
        }),
        |_, kind| !matches!(kind, EventKind::LedgerInfo(i) if i.peer == "peer0.org2.us-west" && i.height > 60),
    );
    let result = ledger::ledger_in_sync(&scenario, &history, Duration::from_secs(60));
    assert_fails(
        &result,
        "; the other live peers caught up 6.0s after the last heal",
    );
    assert_fails(
        &result,
        "peer0.org2.us-west never reached height 90 (the highest height at the last heal at \
         240.0s) after it (last seen at height 60 at 460.0s)",
    );
}

#[test]
fn ledger_in_sync_fails_on_a_peer_never_observed() {
    let scenario = west();
    let history = edited(&synthetic_run(&scenario), |_, kind| match kind {
        EventKind::LedgerInfo(i) => i.peer != "peer0.org1.ca-central",
        EventKind::Chain(c) => c.peer != "peer0.org1.ca-central",
        _ => true,
    });
    let result = ledger::ledger_in_sync(&scenario, &history, Duration::from_secs(60));
    assert_fails(
        &result,
        "peer0.org1.ca-central up at the end but never observed (no channel info, no chain): \
         cannot judge it",
    );
}

#[test]
fn ledger_in_sync_names_but_does_not_judge_peers_of_a_region_still_down() {
    let mut scenario = west();
    scenario.faults = vec![outage("us-west", 120, None)];
    let result = ledger::ledger_in_sync(
        &scenario,
        &synthetic_run(&scenario),
        Duration::from_secs(60),
    );
    assert!(result.passed, "{}", result.detail);
    assert!(
        result.detail.contains(
            "not judged: peer0.org1.us-west: stopped at 180.0s, peer0.org2.us-west: stopped at 180.0s"
        ),
        "{}",
        result.detail
    );
}

#[test]
fn ledger_in_sync_without_faults_measures_from_the_end_of_the_workload() {
    let mut scenario = west();
    scenario.faults.clear();
    let result =
        ledger::ledger_in_sync(&scenario, &synthetic_run(&scenario), Duration::from_secs(5));
    assert!(result.passed, "{}", result.detail);
    assert!(
        result
            .detail
            .contains("after the end of the workload at 420.0s"),
        "{}",
        result.detail
    );
}

/// The scenario's six peers with one chain (block n holding `tx_counts[n]` transactions),
/// sampled once per block, fetched at the end; no fault.
fn agreeing_peers(tx_counts: &[usize]) -> (Scenario, History, Vec<String>) {
    let scenario = west();
    let tx_ids: Vec<Vec<String>> = tx_counts
        .iter()
        .enumerate()
        .map(|(b, n)| (0..*n).map(|t| format!("tx-{b}-{t}")).collect())
        .collect();
    let chain = chain_of(&tx_ids);
    let mut builder = HistoryBuilder::new();
    let peers: Vec<String> = scenario
        .layout()
        .into_iter()
        .filter(|n| n.role == hadr::scenario::layout::Role::Peer)
        .map(|n| n.name)
        .collect();
    for peer in &peers {
        for (i, block) in chain.iter().enumerate() {
            builder = builder.ledger(1_000 * (i as u64 + 1), peer, i as u64 + 1, &block.hash);
        }
        builder = builder.chain(1_000 * (chain.len() as u64 + 1), peer, chain.clone());
    }
    (scenario, builder.build(), peers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn ledger_in_sync_holds_on_any_fork_free_chain(tx_counts in prop::collection::vec(0usize..4, 1..40)) {
        let (scenario, history, _) = agreeing_peers(&tx_counts);
        let result = ledger::ledger_in_sync(&scenario, &history, Duration::from_secs(1));
        prop_assert!(result.passed, "{}", result.detail);
    }

    #[test]
    fn ledger_in_sync_catches_any_single_changed_hash(
        tx_counts in prop::collection::vec(0usize..4, 1..40),
        peer in 0usize..6,
        block in any::<prop::sample::Index>(),
        in_chain in any::<bool>(),
    ) {
        let (scenario, history, peers) = agreeing_peers(&tx_counts);
        let number = block.index(tx_counts.len()) as u64;
        let victim = &peers[peer];
        let mut seen = 0;
        let history = edited(&history, |_, kind| {
            match kind {
                EventKind::Chain(c) if in_chain && &c.peer == victim => {
                    c.blocks[number as usize].hash = "0".repeat(64);
                }
                EventKind::LedgerInfo(i) if !in_chain && &i.peer == victim && i.height == number + 1 => {
                    i.current_block_hash = "0".repeat(64);
                    seen += 1;
                }
                _ => {}
            }
            true
        });
        prop_assert!(in_chain || seen == 1);
        let result = ledger::ledger_in_sync(&scenario, &history, Duration::from_secs(1));
        prop_assert!(!result.passed);
        let expected = format!("fork at block {number}");
        prop_assert!(result.detail.contains(&expected), "{}", result.detail);
    }
}

// no_lost_transactions

#[test]
fn no_lost_transactions_holds_on_a_synthetic_run() {
    let scenario = west();
    let result = ledger::no_lost_transactions(&scenario, &synthetic_run(&scenario));
    assert!(result.passed, "{}", result.detail);
    insta::assert_snapshot!(result.detail, @"1800 acknowledged transactions each found exactly once on all 6 live peers");
}

#[test]
fn no_lost_transactions_names_the_peer_and_the_missing_transaction() {
    let scenario = west();
    let history = with_chain(&scenario, "peer0.org2.us-east", |blocks| {
        for block in blocks.iter_mut() {
            block.valid_tx_ids.retain(|id| id != "tx00042");
        }
    });
    let result = ledger::no_lost_transactions(&scenario, &history);
    assert_fails(
        &result,
        "peer0.org2.us-east is missing 1 acknowledged transactions: tx00042 (op 42, \
         acknowledged at 70.3s)",
    );
}

#[test]
fn no_lost_transactions_fails_on_a_transaction_committed_twice() {
    let scenario = west();
    let history = with_chain(&scenario, "peer0.org1.us-west", |blocks| {
        blocks[100].valid_tx_ids.push("tx00042".to_string());
    });
    let result = ledger::no_lost_transactions(&scenario, &history);
    assert_fails(
        &result,
        "peer0.org1.us-west holds 1 transactions more than once among valid ones: tx00042 (2 times)",
    );
}

#[test]
fn no_lost_transactions_fails_on_a_live_peer_without_chain() {
    let scenario = west();
    let history = edited(
        &synthetic_run(&scenario),
        |_, kind| !matches!(kind, EventKind::Chain(c) if c.peer == "peer0.org1.us-east"),
    );
    let result = ledger::no_lost_transactions(&scenario, &history);
    assert_fails(
        &result,
        "peer0.org1.us-east has no chain record: its transactions cannot be verified",
    );
}

#[test]
fn no_lost_transactions_cannot_judge_a_run_without_acknowledgements() {
    let (scenario, history, _) = agreeing_peers(&[0, 2, 1]);
    let result = ledger::no_lost_transactions(&scenario, &history);
    assert_fails(&result, "no transaction was acknowledged as committed");
}

#[test]
fn no_lost_transactions_does_not_count_unknown_outcomes_as_acknowledged() {
    let (scenario, mut history, _) = agreeing_peers(&[0, 1]);
    // tx-1-0 is in every chain; tx-lost was only ever "info".
    let extra = HistoryBuilder::new()
        .transaction(1, 100, Some((400, OpPhase::Ok)), "tx-1-0")
        .transaction(2, 100, Some((30_100, OpPhase::Info)), "tx-lost")
        .build();
    history.events.extend(extra.events);
    let result = ledger::no_lost_transactions(&scenario, &history);
    assert!(result.passed, "{}", result.detail);
}

// transactions_continue

#[test]
fn transactions_continue_holds_when_the_ordering_region_survives() {
    let scenario = west();
    let result = run(
        &scenario,
        &synthetic_run(&scenario),
        "transactions_continue",
    );
    assert!(result.passed, "{}", result.detail);
}

#[test]
fn transactions_continue_fails_when_the_ordering_region_is_out_and_says_it_is_the_documented_limit()
{
    let scenario = east();
    let result = run(
        &scenario,
        &synthetic_run(&scenario),
        "transactions_continue",
    );
    insta::assert_snapshot!(result.detail, @"0 of 300 transactions submitted during fault 0 (region outage us-east (lost)) from 180.0s to 240.0s committed (0.0%, minimum 95.0%); 240 failed, 60 unknown (info), 0 without an answer; info counts as not committed; expected: the ordering service is not multi-region (fault 0: us-east holds every ordering node; no new block for 64.0s in us-west and ca-central (179.0s to 243.0s) (height 60 on 4 peers); 300 transactions not committed)");
    assert!(!result.passed);
}

/// Fault 0 from 10s to 20s; three transactions commit, one ends unknown, one never
/// completes; one before the fault fails.
fn small_workload() -> History {
    HistoryBuilder::new()
        .fault(
            10_000,
            0,
            FaultPhase::Start,
            "region outage us-west (crash)",
            &["us-west"],
        )
        .fault(
            20_000,
            0,
            FaultPhase::Heal,
            "region outage us-west (crash)",
            &["us-west"],
        )
        .transaction(1, 5_000, Some((8_000, OpPhase::Fail)), "a")
        .transaction(2, 11_000, Some((11_100, OpPhase::Ok)), "b")
        .transaction(3, 12_000, Some((12_200, OpPhase::Ok)), "c")
        .transaction(4, 13_000, Some((13_300, OpPhase::Ok)), "d")
        .transaction(5, 14_000, Some((44_000, OpPhase::Info)), "e")
        .transaction(6, 19_000, None, "f")
        .op(
            15_000,
            7,
            "console.us-east",
            OpPhase::Invoke,
            "register",
            None,
            Some("ca.org1.us-east"),
            "",
        )
        .build()
}

#[test]
fn transactions_continue_counts_unknown_outcomes_as_not_committed() {
    let history = small_workload();
    let at_60 = transactions::transactions_continue(&history, 0, 0.6);
    assert!(at_60.passed, "{}", at_60.detail);
    let at_80 = transactions::transactions_continue(&history, 0, 0.8);
    insta::assert_snapshot!(at_80.detail, @"3 of 5 transactions submitted during fault 0 (region outage us-west (crash)) from 10.0s to 20.0s committed (60.0%, minimum 80.0%); 0 failed, 1 unknown (info), 1 without an answer; info counts as not committed");
    assert!(!at_80.passed);
}

#[test]
fn transactions_continue_cannot_judge_an_empty_window_or_a_fault_that_never_started() {
    let history = HistoryBuilder::new()
        .fault(
            10_000,
            0,
            FaultPhase::Start,
            "region outage us-west (crash)",
            &["us-west"],
        )
        .transaction(1, 5_000, Some((5_500, OpPhase::Ok)), "a")
        .build();
    assert_fails(
        &transactions::transactions_continue(&history, 0, 0.5),
        "no transaction was submitted during fault 0 (region outage us-west (crash)) from 10.0s \
         to 10.0s (never healed): cannot judge",
    );
    assert_fails(
        &transactions::transactions_continue(&history, 3, 0.5),
        "fault 3 never started in this run: cannot judge",
    );
}

// commit_latency

fn commit_latency(during_fault: Option<usize>, p99_below_s: u64) -> Expectation {
    Expectation::CommitLatency {
        during_fault,
        p99_below: Duration::from_secs(p99_below_s),
    }
}

fn judge(scenario: &Scenario, history: &History, expectation: &Expectation) -> CheckResult {
    check(
        scenario,
        history,
        expectation,
        &find_limits(scenario, history),
    )
}

#[test]
fn commit_latency_holds_on_a_synthetic_run_and_fails_when_commits_slow_down_in_the_fault() {
    let scenario = west();
    let history = synthetic_run(&scenario);
    for expectation in [commit_latency(Some(0), 5), commit_latency(None, 5)] {
        let result = judge(&scenario, &history, &expectation);
        assert!(result.passed, "{}", result.detail);
    }
    // Every 20th transaction submitted in the fault (180s to 240s) commits 8s later.
    let slowed = edited(&history, |at_ms, kind| {
        if let EventKind::Op(op) = kind {
            if op.phase == OpPhase::Ok && op.op_id % 20 == 0 && (181_000..242_000).contains(&at_ms)
            {
                op.detail = "slow".to_string();
            }
        }
        true
    });
    let mut slowed = slowed;
    for event in &mut slowed.events {
        if matches!(&event.kind, EventKind::Op(op) if op.detail == "slow") {
            event.at_ms += 8_000;
        }
    }
    slowed.events.sort_by_key(|e| e.at_ms);
    let result = judge(&scenario, &slowed, &commit_latency(Some(0), 5));
    insta::assert_snapshot!(result.detail, @"p99 commit latency 10.500s, bound: below 5.000s (p50 1.540s, slowest commit 10.540s) of the 300 transactions submitted during fault 0 (region outage us-west (lost)) from 180.0s to 240.0s; 0 did not commit and count as slower than any bound");
    assert!(!result.passed);
    // Over the whole workload the slow ones are under 1%.
    let whole = judge(&scenario, &slowed, &commit_latency(None, 5));
    assert!(whole.passed, "{}", whole.detail);
}

#[test]
fn commit_latency_counts_transactions_that_did_not_commit_as_slower_than_the_bound() {
    let history = small_workload();
    let result = transactions::commit_latency(&history, Some(0), Duration::from_secs(1));
    insta::assert_snapshot!(result.detail, @"p99 commit latency not reached (too few committed), bound: below 1.000s (p50 300ms, slowest commit 300ms) of the 5 transactions submitted during fault 0 (region outage us-west (crash)) from 10.0s to 20.0s; 2 did not commit and count as slower than any bound");
    assert!(!result.passed);
    assert_fails(
        &transactions::commit_latency(&history, None, Duration::from_secs(1)),
        "the workload never started: cannot judge",
    );
    assert_fails(
        &transactions::commit_latency(&history, Some(3), Duration::from_secs(1)),
        "fault 3 never started in this run: cannot judge",
    );
}

#[test]
fn commit_latency_fails_when_the_ordering_region_is_out_and_says_it_is_the_documented_limit() {
    let scenario = east();
    let result = judge(
        &scenario,
        &synthetic_run(&scenario),
        &commit_latency(None, 5),
    );
    assert_fails(&result, "did not commit and count as slower than any bound");
    assert_fails(&result, "; expected: the ordering service is not multi-region (fault 0: us-east holds every ordering node;");
}

// blocks_continue

fn blocks_continue(max_stall_s: u64) -> Expectation {
    Expectation::BlocksContinue {
        max_stall: Duration::from_secs(max_stall_s),
    }
}

#[test]
fn blocks_continue_holds_on_a_synthetic_run_leaving_out_a_region_while_it_is_down() {
    let scenario = west();
    let result = judge(&scenario, &synthetic_run(&scenario), &blocks_continue(10));
    insta::assert_snapshot!(result.detail, @"longest stall per region: us-east 3.0s (60.0s to 63.0s), us-west 6.0s (240.0s to 246.0s), ca-central 3.0s (60.0s to 63.0s) (bound 10.0s); judged during the workload, 60.0s to 420.0s, on the heights each region's peers reported every second; not judged while no peer of the region could be seen: us-west 180.0s to 240.0s");
    assert!(result.passed);
}

#[test]
fn blocks_continue_names_the_region_whose_peers_saw_no_block() {
    let scenario = west();
    // ca-central's peers report no new height from 300s to 330s, then catch up.
    let mut frozen = BTreeMap::new();
    let history = edited(&synthetic_run(&scenario), |at_ms, kind| {
        if let EventKind::LedgerInfo(info) = kind {
            if info.peer.ends_with(".ca-central") {
                if at_ms == 300_000 {
                    frozen.insert(
                        info.peer.clone(),
                        (info.height, info.current_block_hash.clone()),
                    );
                }
                if let Some((height, hash)) = frozen.get(&info.peer).filter(|_| at_ms <= 330_000) {
                    info.height = *height;
                    info.current_block_hash = hash.clone();
                }
            }
        }
        true
    });
    let result = judge(&scenario, &history, &blocks_continue(10));
    assert_fails(&result, "ca-central saw no new block for 3");
    assert!(!result.detail.contains("us-east saw"), "{}", result.detail);
    assert!(judge(&scenario, &history, &blocks_continue(40)).passed);
}

#[test]
fn blocks_continue_fails_when_the_ordering_region_is_out_and_says_it_is_the_documented_limit() {
    let scenario = east();
    let result = judge(&scenario, &synthetic_run(&scenario), &blocks_continue(10));
    insta::assert_snapshot!(result.detail, @"us-west saw no new block for 64.0s (179.0s to 243.0s), longer than 10.0s; ca-central saw no new block for 64.0s (179.0s to 243.0s), longer than 10.0s; judged during the workload, 60.0s to 420.0s, on the heights each region's peers reported every second; not judged while no peer of the region could be seen: us-east 180.0s to 240.0s; expected: the ordering service is not multi-region (fault 0: us-east holds every ordering node; no new block for 64.0s in us-west and ca-central (179.0s to 243.0s) (height 60 on 4 peers); 300 transactions not committed)");
    assert!(!result.passed);
}

#[test]
fn blocks_continue_cannot_judge_a_run_without_workload_or_heights() {
    let scenario = west();
    assert_fails(
        &judge(&scenario, &History::default(), &blocks_continue(10)),
        "the workload never started: cannot judge",
    );
    let no_heights = edited(&synthetic_run(&scenario), |_, kind| {
        !matches!(kind, EventKind::LedgerInfo(info) if info.peer.ends_with(".us-east"))
            && !matches!(kind, EventKind::Chain(chain) if chain.peer.ends_with(".us-east"))
    });
    assert_fails(
        &judge(&scenario, &no_heights, &blocks_continue(10)),
        "us-east: no block height seen from its peers during the workload: cannot judge",
    );
}

// stats

#[test]
fn stats_count_outcomes_and_latency_percentiles_of_transactions_only() {
    let stats = Stats::from_history(&small_workload());
    assert_eq!(
        (
            stats.transactions_submitted,
            stats.transactions_committed,
            stats.transactions_failed,
            stats.transactions_unknown,
            stats.transactions_unfinished
        ),
        (6, 3, 1, 1, 1)
    );
    assert_eq!(stats.commit_latency_ms.p50, Some(200));
    assert_eq!(stats.commit_latency_ms.p99, Some(300));
}

// cross_org_gossip

#[test]
fn cross_org_gossip_holds_on_a_synthetic_run_and_reports_losses() {
    let scenario = west();
    let result = gossip::cross_org_gossip(&scenario, &synthetic_run(&scenario));
    assert!(result.passed, "{}", result.detail);
    insta::assert_snapshot!(result.detail, @"each of 6 live peers knows a live peer of every other organization; judged on samples taken from 270.0s on (30.0s after the last change at 240.0s: aliveExpirationTimeout 25.0s + check interval 5.0s); during the run: peer0.org1.us-west knew no Org2MSP peer from 240.0s to 245.0s, peer0.org2.us-west knew no Org1MSP peer from 240.0s to 245.0s");
}

#[test]
fn cross_org_gossip_judges_each_peer() {
    let scenario = west();
    // peer0.org1.us-west forgets Org2 after the heal; everyone else is fine.
    let history = edited(&synthetic_run(&scenario), |at_ms, kind| {
        if let EventKind::Membership(m) = kind {
            if m.peer == "peer0.org1.us-west" && at_ms >= 250_000 {
                m.known.retain(|k| k.msp_id == "Org1MSP");
            }
        }
        true
    });
    let result = gossip::cross_org_gossip(&scenario, &history);
    assert_fails(
        &result,
        "peer0.org1.us-west (Org1MSP) knows no live Org2MSP peer at 460.0s",
    );
    assert_fails(
        &result,
        "peer0.org1.us-west knew no Org2MSP peer from 250.0s to the end",
    );
}

#[test]
fn cross_org_gossip_does_not_count_a_dead_member() {
    let scenario = west();
    let peers = [
        ("peer0.org1.us-east", "Org1MSP"),
        ("peer0.org1.us-west", "Org1MSP"),
        ("peer0.org1.ca-central", "Org1MSP"),
        ("peer0.org2.us-east", "Org2MSP"),
        ("peer0.org2.ca-central", "Org2MSP"),
    ];
    let mut builder = HistoryBuilder::new().node(10_000, "peer0.org2.us-west", false);
    for (peer, msp) in peers {
        builder = builder.ledger(100_000, peer, 1, "aa");
        let known: Vec<(&str, &str)> = if peer == "peer0.org1.us-east" {
            // Still lists the stopped Org2 peer, and no live one.
            vec![
                ("peer0.org1.us-west", "Org1MSP"),
                ("peer0.org2.us-west", "Org2MSP"),
            ]
        } else {
            peers.iter().copied().filter(|(p, _)| *p != peer).collect()
        };
        builder = builder.membership(100_000, peer, msp, &known);
    }
    let result = gossip::cross_org_gossip(&scenario, &builder.build());
    assert_fails(
        &result,
        "peer0.org1.us-east (Org1MSP) knows no live Org2MSP peer at 100.0s (lists only \
         peer0.org2.us-west:7051)",
    );
}

#[test]
fn cross_org_gossip_cannot_judge_a_single_organization() {
    let mut scenario = west();
    scenario.topology.organizations.truncate(1);
    let result = gossip::cross_org_gossip(&scenario, &synthetic_run(&scenario));
    assert_fails(&result, "the scenario has a single organization");
}

#[test]
fn cross_org_gossip_only_trusts_samples_taken_after_the_views_settle() {
    let scenario = west();
    let history = edited(
        &synthetic_run(&scenario),
        |at_ms, kind| !matches!(kind, EventKind::Membership(m) if m.peer == "peer0.org2.ca-central" && at_ms >= 260_000),
    );
    let result = gossip::cross_org_gossip(&scenario, &history);
    assert_fails(
        &result,
        "peer0.org2.ca-central has no membership sample from 270.0s on: cannot judge it",
    );
    assert_eq!(gossip::membership_settle_ms(&scenario), 30_000);
}

// console_failover

#[test]
fn console_failover_holds_on_a_synthetic_run() {
    let scenario = west();
    let result = console::console_failover(&scenario, &synthetic_run(&scenario), "us-west");
    insta::assert_snapshot!(result.detail, @"console.us-east (6 listings, 66 actions), console.ca-central (6 listings, 66 actions) listed all 11 nodes and acted on every node outside us-west; window: fault 0 (region outage us-west (lost)) from 180.0s to 240.0s");
    assert!(result.passed);
}

#[test]
fn console_failover_names_the_console_and_the_node_it_does_not_list() {
    let scenario = west();
    let history = edited(&synthetic_run(&scenario), |_, kind| {
        if let EventKind::ConsoleListing(l) = kind {
            if l.region == "ca-central" {
                l.components.retain(|c| c != "ca.org2.us-west");
            }
        }
        true
    });
    let result = console::console_failover(&scenario, &history, "us-west");
    assert_fails(
        &result,
        "console.ca-central does not list ca.org2.us-west at 180.0s",
    );
}

#[test]
fn console_failover_fails_on_an_unanswered_listing_and_a_node_it_cannot_act_on() {
    let scenario = west();
    let history = edited(&synthetic_run(&scenario), |at_ms, kind| {
        match kind {
            EventKind::ConsoleListing(l) if l.region == "us-east" && at_ms == 200_000 => {
                l.answered = false;
            }
            EventKind::ConsoleAction(a)
                if a.region == "us-east" && a.target == "orderer1.us-east" =>
            {
                a.ok = false;
                a.detail = "503 Service Unavailable".to_string();
            }
            _ => {}
        }
        true
    });
    let result = console::console_failover(&scenario, &history, "us-west");
    assert_fails(
        &result,
        "console.us-east did not answer its listing at 200.0s",
    );
    assert_fails(
        &result,
        "console.us-east did not act successfully on orderer1.us-east (status failed: 503 \
         Service Unavailable)",
    );
}

#[test]
fn console_failover_fails_when_the_region_never_failed() {
    let scenario = east();
    let result = console::console_failover(&scenario, &synthetic_run(&scenario), "us-west");
    assert_fails(
        &result,
        "no fault took us-west down in this run: console failover was not exercised",
    );
}

// documented limits

#[test]
fn an_outage_of_the_ordering_region_is_found_and_measured() {
    let scenario = east();
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    insta::assert_json_snapshot!(findings);
    let result = documented_limit(&scenario, Limit::OrderingService, &findings);
    assert!(result.passed, "{}", result.detail);
    assert!(
        result.detail.contains("no new block for 64.0s"),
        "{}",
        result.detail
    );
}

#[test]
fn documented_limit_fails_when_the_scenario_never_hits_it() {
    let scenario = west();
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    let result = documented_limit(&scenario, Limit::OrderingService, &findings);
    assert_fails(
        &result,
        "the scenario never took down the region holding the ordering service (its nodes are in \
         us-east), nor cut it off by a partition",
    );
    // us-west holds Org2's only CA: that limit is hit, and registrations through it refused.
    let ca = documented_limit(&scenario, Limit::CertificateAuthority, &findings);
    assert!(ca.passed, "{}", ca.detail);
    assert!(
        ca.detail
            .contains("4 of 4 register/enroll requests to ca.org2.us-west refused"),
        "{}",
        ca.detail
    );
}

#[test]
fn a_limit_hit_without_anything_to_measure_it_by_fails() {
    let scenario = east();
    let history = edited(
        &synthetic_run(&scenario),
        |_, kind| !matches!(kind, EventKind::Op(op) if op.function == "register"),
    );
    let findings = find_limits(&scenario, &history);
    let result = documented_limit(&scenario, Limit::CertificateAuthority, &findings);
    assert_fails(
        &result,
        "not measured: no register/enroll request to ca.org1.us-east during the fault",
    );
}

#[test]
fn an_ordering_service_that_never_comes_back_stalls_until_the_end() {
    let mut scenario = east();
    scenario.faults = vec![outage("us-east", 120, None)];
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    let ordering = findings
        .iter()
        .find(|f| f.limit == Limit::OrderingService)
        .expect("the ordering limit is hit");
    assert!(
        ordering.effect_text().contains("to the end of the run"),
        "{}",
        ordering.effect_text()
    );
    match &ordering.effect {
        LimitEffect::BlocksStopped {
            resumed_at_ms,
            stalled_ms,
            ..
        } => {
            assert_eq!(*resumed_at_ms, None);
            // From the last block the peers saw, a sample before the outage.
            assert_eq!(*stalled_ms, 460_100 - 179_000);
        }
        other => panic!("unexpected effect {other:?}"),
    }
}

#[test]
fn ordering_nodes_spread_over_regions_are_not_the_documented_limit_unless_quorum_is_lost() {
    let mut scenario = west();
    scenario.topology.ordering_service.nodes = vec![
        "us-east".to_string(),
        "us-west".to_string(),
        "ca-central".to_string(),
    ];
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    assert!(
        findings.iter().all(|f| f.limit != Limit::OrderingService),
        "{findings:?}"
    );

    scenario.topology.ordering_service.nodes = vec![
        "us-west".to_string(),
        "us-west".to_string(),
        "ca-central".to_string(),
    ];
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    let ordering = findings
        .iter()
        .find(|f| f.limit == Limit::OrderingService)
        .expect("two of three ordering nodes in us-west");
    assert_eq!(
        ordering.cause,
        "us-west holds 2 of 3 ordering nodes; the 1 left are short of a Raft majority of 2"
    );
}

#[test]
fn a_partition_cutting_peers_from_every_ordering_node_is_the_documented_limit() {
    let mut scenario = west();
    scenario.faults[0].kind = FaultKind::Partition {
        sides: [
            vec!["us-east".to_string()],
            vec!["us-west".to_string(), "ca-central".to_string()],
        ],
    };
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    let ordering = findings
        .iter()
        .find(|f| f.limit == Limit::OrderingService)
        .expect("the partition cuts us-west and ca-central from the ordering service");
    assert_eq!(
        ordering.cause,
        "every ordering node (us-east) is on the other side from us-west, ca-central"
    );
    assert!(ordering.measured());
    insta::assert_snapshot!(ordering.effect_text(), @"no new block for 67.0s in us-west and ca-central (179.0s to 246.0s) (height 60 on 4 peers); 0 transactions not committed");
}

/// (start, heal) of fault 0 in `history`.
fn fault_0(history: &History) -> (TimeMs, TimeMs) {
    let at = |phase| {
        history
            .events
            .iter()
            .find(|e| matches!(&e.kind, EventKind::Fault(f) if f.index == 0 && f.phase == phase))
            .map(|e| e.at_ms)
            .expect("fault 0 is recorded")
    };
    (at(FaultPhase::Start), at(FaultPhase::Heal))
}

#[test]
fn a_block_arriving_just_after_the_ordering_region_fails_does_not_end_the_stall() {
    let scenario = east();
    let synthetic = synthetic_run(&scenario);
    let (start_ms, heal_ms) = fault_0(&synthetic);
    // A block cut just before the outage reaches ca-central's peers 300 ms into it.
    let history = edited(&synthetic, |at_ms, kind| {
        if let EventKind::LedgerInfo(info) = kind {
            if info.peer.ends_with(".ca-central") && (start_ms + 300..=heal_ms).contains(&at_ms) {
                info.height += 1;
            }
        }
        true
    });
    let findings = find_limits(&scenario, &history);
    let ordering = findings
        .iter()
        .find(|f| f.limit == Limit::OrderingService)
        .expect("the ordering limit is hit");
    let LimitEffect::BlocksStopped {
        regions,
        stalled_ms,
        ..
    } = &ordering.effect
    else {
        panic!("unexpected effect {:?}", ordering.effect);
    };
    let ca_central = regions
        .iter()
        .find(|r| r.region == "ca-central")
        .expect("ca-central is watched");
    assert_eq!(
        ca_central.last_block_at_ms,
        start_ms + 1000,
        "{ca_central:?}"
    );
    assert!(
        ca_central.stalled_ms >= heal_ms - start_ms - 1000,
        "{ca_central:?}"
    );
    assert!(*stalled_ms >= heal_ms - start_ms, "{regions:?}");
    let text = ordering.effect_text();
    assert!(
        text.contains("in us-west (") && text.contains("in ca-central ("),
        "{text}"
    );
}

#[test]
fn a_crash_of_the_only_ordering_node_is_the_documented_limit() {
    let mut scenario = east();
    scenario.topology.ordering_service.nodes = vec!["us-east".to_string()];
    let orderer = scenario
        .layout()
        .into_iter()
        .find(|n| n.role == hadr::scenario::layout::Role::Orderer)
        .expect("one ordering node")
        .name;
    scenario.faults[0].kind = FaultKind::NodeCrash {
        node: orderer.clone(),
    };
    let history = synthetic_run(&scenario);
    let findings = find_limits(&scenario, &history);
    let result = documented_limit(&scenario, Limit::OrderingService, &findings);
    assert!(result.passed, "{}", result.detail);
    assert!(
        result.detail.contains(&format!(
            "the crash of {orderer} takes down every ordering node"
        )),
        "{}",
        result.detail
    );
    // A peer crash is not the limit.
    scenario.faults[0].kind = FaultKind::NodeCrash {
        node: "peer0.org1.us-east".to_string(),
    };
    let findings = find_limits(&scenario, &synthetic_run(&scenario));
    assert_fails(
        &documented_limit(&scenario, Limit::OrderingService, &findings),
        "the scenario never took down",
    );
}
