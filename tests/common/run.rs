//! Running scenario files on `sim` from integration tests, and reading their histories.
// Each test crate uses some of these.
#![allow(dead_code)]

use hadr::history::{EventKind, FaultPhase, History, TimeMs};
use hadr::report::{ExpectationReport, Report};
use hadr::scenario::layout::Role;
use hadr::scenario::model::Scenario;
use std::path::Path;
use std::time::Duration;

/// How often the runner samples ledgers, ordering nodes and peer metrics
/// (runner/mod.rs LEDGER_SAMPLE_INTERVAL).
pub const SAMPLE_INTERVAL_MS: TimeMs = 1_000;

/// Loads and validates a scenario file as the CLI does (paths from the crate's root).
pub fn load(file: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    hadr::scenario::load(&path).unwrap_or_else(|error| panic!("{file}: {error}"))
}

pub fn run(scenario: &Scenario) -> (Report, History) {
    hadr::runner::run(scenario, &hadr::substrate::sim::Sim)
        .unwrap_or_else(|error| panic!("{}: {error}", scenario.name))
}

pub fn expectation<'a>(report: &'a Report, name: &str) -> &'a ExpectationReport {
    report
        .expectations
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("the report has no {name} expectation"))
}

pub fn ms(duration: Duration) -> TimeMs {
    duration.as_millis() as TimeMs
}

/// When fault `index` started and healed (None: it never healed).
pub fn fault_window(history: &History, index: usize) -> (TimeMs, Option<TimeMs>) {
    let at = |phase| {
        history
            .iter(|k| match k {
                EventKind::Fault(f) if f.index == index && f.phase == phase => Some(f),
                _ => None,
            })
            .map(|(at_ms, _)| at_ms)
            .next()
    };
    let start = at(FaultPhase::Start).unwrap_or_else(|| panic!("fault {index} never started"));
    (start, at(FaultPhase::Heal))
}

/// Every channel-info sample of `peer`: (time, height).
pub fn heights(history: &History, peer: &str) -> Vec<(TimeMs, u64)> {
    history
        .iter(|k| match k {
            EventKind::LedgerInfo(info) if info.peer == peer => Some(info),
            _ => None,
        })
        .map(|(at_ms, info)| (at_ms, info.height))
        .collect()
}

/// The highest height `peer` reported within [from_ms, to_ms].
pub fn max_height(history: &History, peer: &str, from_ms: TimeMs, to_ms: TimeMs) -> Option<u64> {
    heights(history, peer)
        .into_iter()
        .filter(|(at_ms, _)| (from_ms..=to_ms).contains(at_ms))
        .map(|(_, height)| height)
        .max()
}

/// The highest height any of `peers` reported within [from_ms, to_ms].
pub fn max_height_of<'a>(
    history: &History,
    peers: impl IntoIterator<Item = &'a String>,
    from_ms: TimeMs,
    to_ms: TimeMs,
) -> Option<u64> {
    peers
        .into_iter()
        .filter_map(|peer| max_height(history, peer, from_ms, to_ms))
        .max()
}

/// Every peer of the scenario's network.
pub fn peer_names(scenario: &Scenario) -> Vec<String> {
    scenario
        .layout()
        .into_iter()
        .filter(|n| n.role == Role::Peer)
        .map(|n| n.name)
        .collect()
}

/// The ordering node the latest leadership sample at or before `at_ms` names.
pub fn leader_at(history: &History, at_ms: TimeMs) -> Option<String> {
    history
        .iter(|k| match k {
            EventKind::OrdererStatus(s) if s.is_leader => Some(s),
            _ => None,
        })
        .filter(|(sampled_ms, _)| *sampled_ms <= at_ms)
        .last()
        .map(|(_, status)| status.node.clone())
}
