//! The workload's transactions: whether they continue during a fault
//! (transactions_continue), how long they take to commit (commit_latency), and the run's
//! statistics.

use super::view::{
    fault_windows, is_evaluate, is_transaction, op_spans, run_end_ms, secs, workload_window,
    FaultWindow, OpSpan, Window,
};
use super::CheckResult;
use crate::history::{History, OpPhase};
use serde::Serialize;
use std::time::Duration;

/// How a set of operations ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    pub submitted: u64,
    pub ok: u64,
    pub failed: u64,
    /// Completed with Info: the outcome is unknown (timeout).
    pub unknown: u64,
    /// No completion recorded at all.
    pub unfinished: u64,
}

impl Outcomes {
    pub fn count<'a, 'h: 'a>(spans: impl IntoIterator<Item = &'a OpSpan<'h>>) -> Outcomes {
        let mut outcomes = Outcomes::default();
        for span in spans {
            outcomes.submitted += 1;
            match span.outcome() {
                Some(OpPhase::Ok) => outcomes.ok += 1,
                Some(OpPhase::Fail) => outcomes.failed += 1,
                Some(OpPhase::Info) => outcomes.unknown += 1,
                Some(OpPhase::Invoke) | None => outcomes.unfinished += 1,
            }
        }
        outcomes
    }

    /// "120 failed, 60 unknown (info), 0 without an answer".
    fn breakdown(&self) -> String {
        format!(
            "{} failed, {} unknown (info), {} without an answer",
            self.failed, self.unknown, self.unfinished
        )
    }
}

/// transactions_continue {during_fault, min_success_ratio}.
///
/// The window is fault number `during_fault` from its Start to its Heal (to the end of the run
/// if it never healed). Of the workload transactions *invoked* in that window, the share whose
/// completion is Ok, whenever the Ok came. Info (outcome unknown) and a missing completion count
/// as not committed. A fault that never started, or a window without a single transaction,
/// fails: there is nothing to judge.
pub fn transactions_continue(
    history: &History,
    during_fault: usize,
    min_success_ratio: f64,
) -> CheckResult {
    let run_end = run_end_ms(history);
    let windows = fault_windows(history);
    let Some(fault) = windows.iter().find(|w| w.record.index == during_fault) else {
        return CheckResult::fail(format!(
            "fault {during_fault} never started in this run: cannot judge"
        ));
    };
    let window = fault.window(run_end);
    let spans = op_spans(history);
    let during: Vec<&OpSpan> = spans
        .iter()
        .filter(|s| is_transaction(s.invoke) && window.contains(s.invoked_ms))
        .collect();
    let span_text = fault_span_text(fault, window);
    let outcomes = Outcomes::count(during.iter().copied());
    if outcomes.submitted == 0 {
        return CheckResult::fail(format!(
            "no transaction was submitted during {span_text}: cannot judge"
        ));
    }
    let ratio = outcomes.ok as f64 / outcomes.submitted as f64;
    let detail = format!(
        "{} of {} transactions submitted during {span_text} committed ({:.1}%, minimum {:.1}%); \
         {}; info counts as not committed",
        outcomes.ok,
        outcomes.submitted,
        ratio * 100.0,
        min_success_ratio * 100.0,
        outcomes.breakdown()
    );
    CheckResult {
        passed: ratio >= min_success_ratio,
        detail,
    }
}

/// "fault 0 (region outage us-west (lost)) from 180.0s to 300.0s", "(never healed)" added
/// when it did not heal.
fn fault_span_text(fault: &FaultWindow, window: Window) -> String {
    format!(
        "{} from {} to {}{}",
        fault.label(),
        secs(window.start_ms),
        secs(window.end_ms),
        if fault.heal_ms.is_none() {
            " (never healed)"
        } else {
            ""
        }
    )
}

/// commit_latency {during_fault, p99_below}.
///
/// Of the workload transactions *invoked* during fault number `during_fault` (from its Start to
/// its Heal), or during the whole workload without it, the 99th percentile (nearest rank) of
/// the time from invoke to the client's Ok must be below `p99_below`. A transaction that did
/// not commit (failed, outcome unknown, no answer) counts as slower than any bound: a stall
/// that makes transactions time out fails the check instead of leaving only the fast ones to
/// judge. Nothing submitted in the window, or a fault that never started, fails: there is
/// nothing to judge.
pub fn commit_latency(
    history: &History,
    during_fault: Option<usize>,
    p99_below: Duration,
) -> CheckResult {
    let run_end = run_end_ms(history);
    let windows = fault_windows(history);
    let (window, span_text) = match during_fault {
        Some(index) => {
            let Some(fault) = windows.iter().find(|w| w.record.index == index) else {
                return CheckResult::fail(format!(
                    "fault {index} never started in this run: cannot judge"
                ));
            };
            let window = fault.window(run_end);
            (window, fault_span_text(fault, window))
        }
        None => {
            let Some(window) = workload_window(history) else {
                return CheckResult::fail("the workload never started: cannot judge".to_string());
            };
            let text = format!(
                "the workload from {} to {}",
                secs(window.start_ms),
                secs(window.end_ms)
            );
            (window, text)
        }
    };
    let spans = op_spans(history);
    // Not committed: slower than any bound.
    let mut latencies: Vec<u64> = spans
        .iter()
        .filter(|s| is_transaction(s.invoke) && window.contains(s.invoked_ms))
        .map(|s| s.commit_latency_ms().unwrap_or(u64::MAX))
        .collect();
    if latencies.is_empty() {
        return CheckResult::fail(format!(
            "no transaction was submitted during {span_text}: cannot judge"
        ));
    }
    latencies.sort_unstable();
    let bound_ms = p99_below.as_millis() as u64;
    let submitted = latencies.len();
    let not_committed = latencies.iter().filter(|l| **l == u64::MAX).count();
    let text = |latency: Option<u64>| match latency {
        Some(u64::MAX) | None => "not reached (too few committed)".to_string(),
        Some(ms) => secs_ms(ms),
    };
    let p99 = percentile(&latencies, 99.0);
    let detail = format!(
        "p99 commit latency {}, bound: below {} (p50 {}, slowest commit {}) of the {submitted} \
         transactions submitted during {span_text}; {not_committed} did not commit and count as \
         slower than any bound",
        text(p99),
        secs_ms(bound_ms),
        text(percentile(&latencies, 50.0)),
        text(latencies.iter().rev().find(|l| **l != u64::MAX).copied()),
    );
    CheckResult {
        passed: p99.is_some_and(|p99| p99 < bound_ms),
        detail,
    }
}

/// A latency to the millisecond: "850ms", "2.120s".
fn secs_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    }
}

/// Commit latency percentiles (nearest rank), invoke to Ok per operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencyPercentiles {
    pub p50: Option<u64>,
    pub p99: Option<u64>,
}

/// The workload's numbers, from the client operations (view::is_transaction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub transactions_submitted: u64,
    pub transactions_committed: u64,
    pub transactions_failed: u64,
    /// Completed with Info: the client does not know whether they committed.
    pub transactions_unknown: u64,
    /// Invoked but never completed by the end of the run.
    pub transactions_unfinished: u64,
    /// Failed because another transaction of their block changed what they read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub transactions_mvcc_conflicts: u64,
    pub commit_latency_ms: LatencyPercentiles,
    /// The workload's evaluates, and those that got no answer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evaluates: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evaluates_failed: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// The value at percentile `p` (0 < p <= 100) of sorted values, nearest-rank.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Stats {
    pub fn from_history(history: &History) -> Stats {
        let spans = op_spans(history);
        let transactions: Vec<&OpSpan> =
            spans.iter().filter(|s| is_transaction(s.invoke)).collect();
        let outcomes = Outcomes::count(transactions.iter().copied());
        let mut latencies: Vec<u64> = transactions
            .iter()
            .filter_map(|s| s.commit_latency_ms())
            .collect();
        latencies.sort_unstable();
        let conflicted = |s: &&&OpSpan| {
            s.completion.is_some_and(|(_, op)| {
                op.phase == OpPhase::Fail && op.detail.ends_with("as MvccReadConflict")
            })
        };
        let evaluates: Vec<&OpSpan> = spans.iter().filter(|s| is_evaluate(s.invoke)).collect();
        Stats {
            transactions_mvcc_conflicts: transactions.iter().filter(conflicted).count() as u64,
            evaluates: evaluates.len() as u64,
            evaluates_failed: evaluates
                .iter()
                .filter(|s| s.outcome() != Some(OpPhase::Ok))
                .count() as u64,
            transactions_submitted: outcomes.submitted,
            transactions_committed: outcomes.ok,
            transactions_failed: outcomes.failed,
            transactions_unknown: outcomes.unknown,
            transactions_unfinished: outcomes.unfinished,
            commit_latency_ms: LatencyPercentiles {
                p50: percentile(&latencies, 50.0),
                p99: percentile(&latencies, 99.0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
