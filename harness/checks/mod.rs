//! Invariants over a recorded history. Every check is a pure function of the validated
//! scenario and the history, so it judges every substrate the same way, and says in its
//! detail what it judged, what it left out and why.
//!
//! - ledger_in_sync, no_lost_transactions: ledger.rs
//! - transactions_continue, commit_latency and the run's statistics: transactions.rs
//! - blocks_continue: blocks.rs
//! - cross_org_gossip: gossip.rs
//! - console_failover: console.rs
//! - the procedure's documented limits (ordering service and CAs not multi-region): limits.rs
//!
//! The shared definitions (live peers, fault windows, which operations are transactions)
//! are in view.rs.

pub mod blocks;
pub mod console;
pub mod gossip;
pub mod ledger;
pub mod limits;
pub mod recovery;
pub mod testkit;
pub mod transactions;
pub mod view;

use crate::history::History;
use crate::scenario::model::{Expectation, Limit, Scenario};
use limits::LimitFinding;
use serde::Serialize;
use view::{fault_windows, run_end_ms, Window};

/// A check's verdict and a detail a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub passed: bool,
    pub detail: String,
}

impl CheckResult {
    pub fn fail(detail: String) -> CheckResult {
        CheckResult {
            passed: false,
            detail,
        }
    }

    /// Passes without problems, with `summary` as the detail; otherwise the detail is the
    /// problems. `notes` (what was judged when, what was left out) follow in both cases.
    pub fn judge(problems: Vec<String>, summary: String, notes: Vec<String>) -> CheckResult {
        let passed = problems.is_empty();
        let mut parts = if passed { vec![summary] } else { problems };
        parts.extend(notes.into_iter().filter(|n| !n.is_empty()));
        CheckResult {
            passed,
            detail: parts.join("; "),
        }
    }
}

/// The span of the run an expectation judges, to tell which documented limits were active;
/// None when the fault it is about never happened.
fn judged_window(
    scenario: &Scenario,
    history: &History,
    expectation: &Expectation,
) -> Option<Window> {
    let run_end = run_end_ms(history);
    match expectation {
        Expectation::TransactionsContinue { during_fault, .. }
        | Expectation::CommitLatency {
            during_fault: Some(during_fault),
            ..
        } => fault_windows(history)
            .iter()
            .find(|w| w.record.index == *during_fault)
            .map(|w| w.window(run_end)),
        Expectation::ConsoleFailover { failed_region } => {
            console::failure_of(scenario, history, failed_region).map(|w| w.window(run_end))
        }
        _ => Some(Window {
            start_ms: 0,
            end_ms: run_end,
        }),
    }
}

/// Whether a documented limit can explain an expectation failing: a stopped ordering service
/// stalls ledgers and transactions; an unreachable CA shows in the consoles. Gossip depends on
/// neither.
fn limit_explains(limit: Limit, expectation: &Expectation) -> bool {
    match expectation {
        Expectation::LedgerInSync { .. }
        | Expectation::NoLostTransactions
        | Expectation::TransactionsContinue { .. }
        | Expectation::CommitLatency { .. }
        | Expectation::BlocksContinue { .. } => limit == Limit::OrderingService,
        Expectation::ConsoleFailover { .. } => limit == Limit::CertificateAuthority,
        Expectation::CrossOrgGossip | Expectation::DocumentedLimit { .. } => false,
    }
}

/// Judges one expectation. `findings` are the run's documented limits (`limits::find_limits`):
/// a failing expectation whose span overlaps a limit that can explain it says so ("expected:
/// the ordering service is not multi-region ...").
pub fn check(
    scenario: &Scenario,
    history: &History,
    expectation: &Expectation,
    findings: &[LimitFinding],
) -> CheckResult {
    let mut result = match expectation {
        Expectation::LedgerInSync { within } => ledger::ledger_in_sync(scenario, history, *within),
        Expectation::NoLostTransactions => ledger::no_lost_transactions(scenario, history),
        Expectation::TransactionsContinue {
            during_fault,
            min_success_ratio,
        } => transactions::transactions_continue(history, *during_fault, *min_success_ratio),
        Expectation::CommitLatency {
            during_fault,
            p99_below,
        } => transactions::commit_latency(history, *during_fault, *p99_below),
        Expectation::BlocksContinue { max_stall } => {
            blocks::blocks_continue(scenario, history, *max_stall)
        }
        Expectation::CrossOrgGossip => gossip::cross_org_gossip(scenario, history),
        Expectation::ConsoleFailover { failed_region } => {
            console::console_failover(scenario, history, failed_region)
        }
        Expectation::DocumentedLimit { limit } => {
            return limits::documented_limit(scenario, *limit, findings)
        }
    };
    if let (false, Some(window)) = (result.passed, judged_window(scenario, history, expectation)) {
        let run_end = run_end_ms(history);
        for finding in findings {
            if limit_explains(finding.limit, expectation)
                && finding.active_window(run_end).overlaps(&window)
            {
                result.detail.push_str("; ");
                result.detail.push_str(&finding.expected_note());
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judge_reports_problems_or_the_summary_and_always_the_notes() {
        let pass = CheckResult::judge(
            Vec::new(),
            "all good".into(),
            vec!["window".into(), String::new()],
        );
        assert_eq!(
            pass,
            CheckResult {
                passed: true,
                detail: "all good; window".into()
            }
        );
        let fail = CheckResult::judge(
            vec!["a".into(), "b".into()],
            "all good".into(),
            vec!["window".into()],
        );
        assert_eq!(fail.detail, "a; b; window");
        assert!(!fail.passed);
    }

    #[test]
    fn only_relevant_limits_explain_a_failure() {
        assert!(limit_explains(
            Limit::OrderingService,
            &Expectation::NoLostTransactions
        ));
        assert!(!limit_explains(
            Limit::CertificateAuthority,
            &Expectation::NoLostTransactions
        ));
        assert!(!limit_explains(
            Limit::OrderingService,
            &Expectation::CrossOrgGossip
        ));
    }
}
