//! How far a run got, for a person watching it: the substrate reports it as simulated time
//! passes and the caller (the CLI's progress bar or lines) shows it. Derived from the history
//! as it is recorded, never written into it or into the reports.

use crate::history::{EventKind, History, StepOutcome};
use crate::scenario::model::{Runbook, Scenario};

/// Where a run is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Building the network: procedure steps done of the plan's, and the last one
    /// (`import-ca in us-west`). A prebuilt network has no steps to count.
    Procedure {
        done: usize,
        total: usize,
        last: Option<String>,
    },
    /// The workload runs: simulated time since it started, and its duration.
    Workload { elapsed_ms: u64, duration_ms: u64 },
    /// After the workload: transactions reach their outcomes, ledgers converge, the final
    /// observations are made.
    Settling,
}

/// What a run reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Simulated time since the network started.
    pub sim_ms: u64,
    /// The simulated time the run is expected to take: where the workload ends, or, before it
    /// started, now plus its duration (the settling after it is not known in advance).
    pub expected_end_ms: u64,
    pub phase: Phase,
}

/// Receives a run's status; the CLI provides one. Called on the simulation's thread, about
/// once per simulated second: it must return quickly.
pub trait Progress {
    fn update(&self, status: &Status);
    /// A one-off line about what the substrate is doing (building an image, say).
    fn note(&self, _text: &str) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _: &Status) {}
}

/// Follows a history as it grows and says where the run is.
pub struct Tracker {
    total_steps: usize,
    duration_ms: u64,
    /// Events of the history already looked at.
    seen: usize,
    done: usize,
    last: Option<String>,
    workload_started_ms: Option<u64>,
    workload_stopped: bool,
}

impl Tracker {
    pub fn new(scenario: &Scenario) -> Tracker {
        Tracker {
            total_steps: match scenario.procedure.runbook {
                Runbook::Documented => crate::procedure::plan(scenario).steps.len(),
                Runbook::Prebuilt => 0,
            },
            duration_ms: scenario.workload.duration.as_millis() as u64,
            seen: 0,
            done: 0,
            last: None,
            workload_started_ms: None,
            workload_stopped: false,
        }
    }

    /// The status at `sim_ms`, reading the events recorded since the last call.
    pub fn status(&mut self, sim_ms: u64, history: &History) -> Status {
        for event in history.events.iter().skip(self.seen) {
            match &event.kind {
                EventKind::Step(step) => {
                    self.done += 1;
                    let outcome = match step.outcome {
                        StepOutcome::Ok => "",
                        StepOutcome::Failed => " (failed)",
                        StepOutcome::Skipped => " (skipped)",
                    };
                    self.last = Some(format!("{} in {}{outcome}", step.action, step.region));
                }
                EventKind::WorkloadStarted => self.workload_started_ms = Some(event.at_ms),
                EventKind::WorkloadStopped => self.workload_stopped = true,
                _ => {}
            }
        }
        self.seen = history.events.len();
        let (phase, expected_end_ms) = match self.workload_started_ms {
            None => (
                Phase::Procedure {
                    done: self.done,
                    total: self.total_steps.max(self.done),
                    last: self.last.clone(),
                },
                sim_ms + self.duration_ms,
            ),
            Some(start) if !self.workload_stopped => (
                Phase::Workload {
                    elapsed_ms: sim_ms.saturating_sub(start),
                    duration_ms: self.duration_ms,
                },
                start + self.duration_ms,
            ),
            Some(_) => (Phase::Settling, sim_ms),
        };
        Status {
            sim_ms,
            expected_end_ms: expected_end_ms.max(sim_ms),
            phase,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{
        synthetic_run, three_region_scenario, SYNTHETIC_WORKLOAD_START_MS,
    };

    #[test]
    fn the_tracker_follows_procedure_workload_and_settling() {
        let scenario = three_region_scenario();
        let history = synthetic_run(&scenario);
        let before: History = History {
            events: history
                .events
                .iter()
                .filter(|e| e.at_ms < 10_000)
                .cloned()
                .collect(),
        };
        let mut tracker = Tracker::new(&scenario);
        let status = tracker.status(10_000, &before);
        let Phase::Procedure { done, total, last } = &status.phase else {
            panic!("{status:?}");
        };
        assert!(*done > 0 && *total >= *done, "{status:?}");
        assert!(
            last.as_deref().is_some_and(|l| l.contains(" in ")),
            "{last:?}"
        );
        assert_eq!(status.expected_end_ms, 10_000 + 360_000);
        let mut tracker = Tracker::new(&scenario);
        let at = SYNTHETIC_WORKLOAD_START_MS + 60_000;
        let during = History {
            events: history
                .events
                .iter()
                .filter(|e| e.at_ms <= at)
                .cloned()
                .collect(),
        };
        assert_eq!(
            tracker.status(at, &during),
            Status {
                sim_ms: at,
                expected_end_ms: SYNTHETIC_WORKLOAD_START_MS + 360_000,
                phase: Phase::Workload {
                    elapsed_ms: 60_000,
                    duration_ms: 360_000
                }
            }
        );
        let end = history.events.last().map(|e| e.at_ms).unwrap_or(0);
        assert_eq!(tracker.status(end, &history).phase, Phase::Settling);
    }
}
