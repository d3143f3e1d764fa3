//! The limits the procedure documents: "multi-region HA support for CAs and the ordering
//! service is not currently available" (seeds/, section `ibp-console-hadr-mr`). A fault that
//! takes down the region holding the ordering service, or the region of an organization's
//! only CA, is found and its effect measured, whatever the scenario expects: it is reported
//! as the documented limit, never as a silent pass.

use super::transactions::Outcomes;
use super::view::{
    fault_windows, is_ca_request, is_transaction, op_spans, peer_states, run_end_ms, secs,
    FaultWindow, Window,
};
use super::CheckResult;
use crate::history::{History, OpPhase, TimeMs};
use crate::scenario::layout::{ca_name, Role};
use crate::scenario::model::{FaultKind, Limit, Scenario};
use serde::Serialize;

/// A fault that hit a documented limit, and what it did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LimitFinding {
    pub limit: Limit,
    pub fault_index: usize,
    pub fault: String,
    pub started_at_ms: TimeMs,
    pub healed_at_ms: Option<TimeMs>,
    /// Why the fault hits the limit, e.g. "us-east holds every ordering node (...)".
    pub cause: String,
    pub effect: LimitEffect,
}

/// The measured effect of a limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitEffect {
    /// No peer outside the fault committed a new block from the fault's start until
    /// `resumed_at_ms` (None: until the end of the run).
    BlocksStopped {
        /// The peers whose heights were watched (those the fault left running).
        peers: Vec<String>,
        height_at_start: u64,
        resumed_at_ms: Option<TimeMs>,
        /// From the fault's start to the first higher height, or to the end of the run.
        stalled_ms: u64,
        /// Whether any watched peer was sampled after the fault started.
        measured: bool,
        /// Workload transactions invoked during the fault that did not commit.
        transactions_not_committed: u64,
    },
    /// Register/enroll requests to the CA during the fault that did not succeed.
    RegistrationsRefused {
        ca: String,
        attempted: u64,
        refused: u64,
    },
}

impl LimitFinding {
    /// Whether the effect could be measured at all (samples, or CA requests, in the window).
    pub fn measured(&self) -> bool {
        match &self.effect {
            LimitEffect::BlocksStopped { measured, .. } => *measured,
            LimitEffect::RegistrationsRefused { attempted, .. } => *attempted > 0,
        }
    }

    /// The span during which the limit shapes what other checks see: the fault, extended to
    /// when blocks resumed.
    pub fn active_window(&self, run_end_ms: TimeMs) -> Window {
        let end = self.healed_at_ms.unwrap_or(run_end_ms);
        let resumed = match &self.effect {
            LimitEffect::BlocksStopped { resumed_at_ms, .. } => resumed_at_ms.unwrap_or(run_end_ms),
            LimitEffect::RegistrationsRefused { .. } => end,
        };
        Window {
            start_ms: self.started_at_ms,
            end_ms: end.max(resumed),
        }
    }

    /// The effect in words: "no new block for 125.0s (180.0s to 305.0s) on 4 peers; 2400
    /// transactions not committed".
    pub fn effect_text(&self) -> String {
        match &self.effect {
            LimitEffect::BlocksStopped {
                peers,
                height_at_start,
                resumed_at_ms,
                stalled_ms,
                measured,
                transactions_not_committed,
            } => {
                if !measured {
                    return format!(
                        "not measured: no channel info from {} after the fault started",
                        peers.join(", ")
                    );
                }
                let until = match resumed_at_ms {
                    Some(at_ms) => format!("until {}", secs(*at_ms)),
                    None => "until the end of the run".to_string(),
                };
                format!(
                    "no new block for {} ({} {until}; height {height_at_start} on {} peers); \
                     {transactions_not_committed} transactions not committed",
                    secs(*stalled_ms),
                    secs(self.started_at_ms),
                    peers.len()
                )
            }
            LimitEffect::RegistrationsRefused {
                ca,
                attempted,
                refused,
            } => {
                if *attempted == 0 {
                    format!("not measured: no register/enroll request to {ca} during the fault")
                } else {
                    format!("{refused} of {attempted} register/enroll requests to {ca} refused")
                }
            }
        }
    }

    /// What an expectation failing while this limit is active adds to its detail.
    pub fn expected_note(&self) -> String {
        let what = match self.limit {
            Limit::OrderingService => "the ordering service",
            Limit::CertificateAuthority => "the CA",
        };
        format!(
            "expected: {what} is not multi-region (fault {}: {}; {})",
            self.fault_index,
            self.cause,
            self.effect_text()
        )
    }
}

/// The regions, each once, in first-seen order.
fn distinct<'a>(regions: &[&'a str]) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for region in regions {
        if !seen.contains(region) {
            seen.push(*region);
        }
    }
    seen
}

/// The regions on the other side(s) of a fault from `regions`: for an outage of a region
/// among `regions`, every other region; for a partition with all of `regions` on one side,
/// the other side. None when the fault does not cut `regions` off.
fn cut_off_from<'a>(
    scenario: &'a Scenario,
    kind: &'a FaultKind,
    regions: &[&str],
) -> Option<Vec<&'a str>> {
    match kind {
        FaultKind::RegionOutage { region, .. } if regions.iter().all(|r| r == region) => Some(
            scenario
                .topology
                .regions
                .iter()
                .map(|r| r.name.as_str())
                .filter(|r| r != region)
                .collect(),
        ),
        FaultKind::Partition { sides } => sides.iter().enumerate().find_map(|(i, side)| {
            regions
                .iter()
                .all(|r| side.iter().any(|s| s == r))
                .then(|| sides[1 - i].iter().map(String::as_str).collect())
        }),
        _ => None,
    }
}

/// Every fault that hits a documented limit, with its effect measured.
///
/// - Ordering service: an outage of a region holding enough ordering nodes that the others
///   are short of a Raft majority (all of them when they share one region, the procedure's
///   setup), or a partition with every ordering node on one side. The effect is measured on
///   the peers the fault left running (outside the region / on the other side): how long
///   none of them reported a new block.
/// - CA: an outage of an organization's home region (its only CA, layout.rs), or a
///   partition separating it. The effect: register/enroll requests to that CA invoked during
///   the fault, and how many did not succeed.
pub fn find_limits(scenario: &Scenario, history: &History) -> Vec<LimitFinding> {
    let run_end = run_end_ms(history);
    let layout = scenario.layout();
    let orderers: Vec<&str> = layout
        .iter()
        .filter(|n| n.role == Role::Orderer)
        .map(|n| n.region.as_str())
        .collect();
    let majority = orderers.len() / 2 + 1;
    let mut findings = Vec::new();
    for fault in fault_windows(history) {
        let Some(kind) = scenario.faults.get(fault.record.index).map(|f| &f.kind) else {
            continue;
        };
        let window = fault.window(run_end);
        if let Some((cause, others)) = ordering_cut(scenario, kind, &orderers, majority) {
            findings.push(finding(
                &fault,
                Limit::OrderingService,
                cause,
                blocks_stopped(scenario, history, window, &others),
            ));
        }
        for org in &scenario.topology.organizations {
            let ca = ca_name(&org.msp_id, &org.home);
            if let Some(others) = cut_off_from(scenario, kind, &[org.home.as_str()]) {
                let cause = format!(
                    "{} holds {ca}, the only CA of {}, cut off from {}",
                    org.home,
                    org.msp_id,
                    others.join(", ")
                );
                findings.push(finding(
                    &fault,
                    Limit::CertificateAuthority,
                    cause,
                    registrations_refused(history, window, ca),
                ));
            }
        }
    }
    findings
}

fn finding(fault: &FaultWindow, limit: Limit, cause: String, effect: LimitEffect) -> LimitFinding {
    LimitFinding {
        limit,
        fault_index: fault.record.index,
        fault: fault.record.description.clone(),
        started_at_ms: fault.start_ms,
        healed_at_ms: fault.heal_ms,
        cause,
        effect,
    }
}

/// Whether the fault takes the ordering service away from part of the network: the cause in
/// words and the regions left without it.
fn ordering_cut<'a>(
    scenario: &'a Scenario,
    kind: &'a FaultKind,
    orderer_regions: &[&str],
    majority: usize,
) -> Option<(String, Vec<&'a str>)> {
    if orderer_regions.is_empty() {
        return None;
    }
    let listed = distinct(orderer_regions).join(", ");
    match kind {
        FaultKind::RegionOutage { region, .. } => {
            let down = orderer_regions.iter().filter(|r| *r == region).count();
            let left = orderer_regions.len() - down;
            if left >= majority {
                return None;
            }
            let others = cut_off_from(scenario, kind, &[region.as_str()])?;
            let cause = if left == 0 {
                format!("{region} holds every ordering node")
            } else {
                format!(
                    "{region} holds {down} of {} ordering nodes; the {left} left are short of a \
                     Raft majority of {majority}",
                    orderer_regions.len()
                )
            };
            Some((cause, others))
        }
        FaultKind::Partition { .. } => {
            let others = cut_off_from(scenario, kind, orderer_regions)?;
            Some((
                format!(
                    "every ordering node ({listed}) is on the other side from {}",
                    others.join(", ")
                ),
                others,
            ))
        }
        _ => None,
    }
}

fn blocks_stopped(
    scenario: &Scenario,
    history: &History,
    window: Window,
    regions: &[&str],
) -> LimitEffect {
    let peers: Vec<_> = peer_states(scenario, history)
        .into_iter()
        .filter(|p| regions.contains(&p.spec.region.as_str()))
        .collect();
    let mut heights: Vec<(TimeMs, u64)> = peers.iter().flat_map(|p| p.heights()).collect();
    heights.sort();
    let height_at_start = heights
        .iter()
        .filter(|(at_ms, _)| *at_ms <= window.start_ms)
        .map(|(_, h)| *h)
        .max()
        .unwrap_or(0);
    let after: Vec<&(TimeMs, u64)> = heights
        .iter()
        .filter(|(at_ms, _)| *at_ms > window.start_ms)
        .collect();
    let resumed_at_ms = after
        .iter()
        .find(|(_, h)| *h > height_at_start)
        .map(|(at_ms, _)| *at_ms);
    let run_end = run_end_ms(history);
    let spans = op_spans(history);
    let outcomes = Outcomes::count(
        spans
            .iter()
            .filter(|s| is_transaction(s.invoke) && window.contains(s.invoked_ms)),
    );
    LimitEffect::BlocksStopped {
        peers: peers.iter().map(|p| p.name().to_string()).collect(),
        height_at_start,
        resumed_at_ms,
        stalled_ms: resumed_at_ms.unwrap_or(run_end) - window.start_ms,
        measured: !after.is_empty(),
        transactions_not_committed: outcomes.submitted - outcomes.ok,
    }
}

fn registrations_refused(history: &History, window: Window, ca: String) -> LimitEffect {
    let spans = op_spans(history);
    let requests: Vec<_> = spans
        .iter()
        .filter(|s| is_ca_request(s.invoke) && window.contains(s.invoked_ms))
        .filter(|s| s.invoke.node.as_deref() == Some(ca.as_str()))
        .collect();
    let refused = requests
        .iter()
        .filter(|s| s.outcome() != Some(OpPhase::Ok))
        .count();
    LimitEffect::RegistrationsRefused {
        ca,
        attempted: requests.len() as u64,
        refused: refused as u64,
    }
}

/// documented_limit {limit}.
///
/// Passes when at least one fault hit `limit` (`find_limits`) and its effect was measured;
/// the detail gives every such finding. Fails when the scenario never hit the limit ("the
/// scenario never took down ...") or hit it without anything to measure it by.
pub fn documented_limit(
    scenario: &Scenario,
    limit: Limit,
    findings: &[LimitFinding],
) -> CheckResult {
    let hits: Vec<&LimitFinding> = findings.iter().filter(|f| f.limit == limit).collect();
    if hits.is_empty() {
        let layout = scenario.layout();
        let what = match limit {
            Limit::OrderingService => {
                let regions: Vec<&str> = distinct(
                    &layout
                        .iter()
                        .filter(|n| n.role == Role::Orderer)
                        .map(|n| n.region.as_str())
                        .collect::<Vec<_>>(),
                );
                format!(
                    "the region holding the ordering service (its nodes are in {}), nor cut it \
                     off by a partition",
                    regions.join(", ")
                )
            }
            Limit::CertificateAuthority => {
                let cas: Vec<String> = layout
                    .iter()
                    .filter(|n| n.role == Role::CertificateAuthority)
                    .map(|n| format!("{} in {}", n.name, n.region))
                    .collect();
                format!(
                    "the region of an organization's only CA ({}), nor cut it off by a partition",
                    cas.join(", ")
                )
            }
        };
        return CheckResult::fail(format!("the scenario never took down {what}"));
    }
    let texts: Vec<String> = hits
        .iter()
        .map(|f| {
            format!(
                "fault {} ({}): {}; {}",
                f.fault_index,
                f.fault,
                f.cause,
                f.effect_text()
            )
        })
        .collect();
    CheckResult {
        passed: hits.iter().any(|f| f.measured()),
        detail: texts.join("; "),
    }
}
