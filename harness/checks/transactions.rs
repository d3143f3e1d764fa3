//! The workload's transactions: whether they continue during a fault
//! (transactions_continue), and the run's statistics.

use super::view::{fault_windows, is_transaction, op_spans, run_end_ms, secs, OpSpan};
use super::CheckResult;
use crate::history::{History, OpPhase};
use serde::Serialize;

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
    let span_text = format!(
        "{} from {} to {}{}",
        fault.label(),
        secs(window.start_ms),
        secs(window.end_ms),
        if fault.heal_ms.is_none() {
            " (never healed)"
        } else {
            ""
        }
    );
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
    pub commit_latency_ms: LatencyPercentiles,
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
        Stats {
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
