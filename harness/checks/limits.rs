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

/// How long one region's peers saw no new block around a fault.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegionStall {
    pub region: String,
    /// The region's height (highest of its peers) when the stall began.
    pub height_at_start: u64,
    /// When the region last saw a new height before the stall (the first sample when it saw
    /// none before).
    pub last_block_at_ms: TimeMs,
    /// When it saw a new height again (None: not before the end of the run).
    pub resumed_at_ms: Option<TimeMs>,
    pub stalled_ms: u64,
}

/// The measured effect of a limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitEffect {
    /// The peers the fault left running saw no new block for a while: per region, the
    /// longest gap between new heights that overlaps the fault, as that region's peers saw
    /// it (a block cut just before the fault and arriving just after it does not end the
    /// stall).
    BlocksStopped {
        /// The peers whose heights were watched (those the fault left running).
        peers: Vec<String>,
        /// The highest height the watched regions had when their stall began.
        height_at_start: u64,
        /// When the last watched region saw a new block again (None: some region never did).
        resumed_at_ms: Option<TimeMs>,
        /// The longest stall of any watched region.
        stalled_ms: u64,
        /// Per watched region, in topology order.
        regions: Vec<RegionStall>,
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
                regions,
                measured,
                transactions_not_committed,
                ..
            } => {
                if !measured {
                    return format!(
                        "not measured: no channel info from {} after the fault started",
                        peers.join(", ")
                    );
                }
                // Regions that saw the same stall share one clause.
                let mut stalls: Vec<(String, &RegionStall)> = Vec::new();
                for stall in regions {
                    let same = |(_, s): &&mut (String, &RegionStall)| {
                        (s.last_block_at_ms, s.resumed_at_ms)
                            == (stall.last_block_at_ms, stall.resumed_at_ms)
                    };
                    match stalls.iter_mut().find(same) {
                        Some((names, _)) => *names = format!("{names} and {}", stall.region),
                        None => stalls.push((stall.region.clone(), stall)),
                    }
                }
                let stalls: Vec<String> = stalls
                    .iter()
                    .map(|(names, r)| {
                        let until = match r.resumed_at_ms {
                            Some(at_ms) => secs(at_ms),
                            None => "the end of the run".to_string(),
                        };
                        format!(
                            "{} in {names} ({} to {until})",
                            secs(r.stalled_ms),
                            secs(r.last_block_at_ms)
                        )
                    })
                    .collect();
                format!(
                    "no new block for {} (height {height_at_start} on {} peers); \
                     {transactions_not_committed} transactions not committed",
                    stalls.join(", "),
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
        // A one-way partition cuts a request/answer exchange either way round.
        FaultKind::Partition { sides: [a, b] } | FaultKind::OneWayPartition { from: a, to: b } => {
            [(a, b), (b, a)].into_iter().find_map(|(side, other)| {
                regions
                    .iter()
                    .all(|r| side.iter().any(|s| s == r))
                    .then(|| other.iter().map(String::as_str).collect())
            })
        }
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
    let orderers: Vec<(&str, &str)> = layout
        .iter()
        .filter(|n| n.role == Role::Orderer)
        .map(|n| (n.name.as_str(), n.region.as_str()))
        .collect();
    let mut findings = Vec::new();
    for fault in fault_windows(history) {
        let Some(kind) = scenario.faults.get(fault.record.index).map(|f| &f.kind) else {
            continue;
        };
        let window = fault.window(run_end);
        if let Some((cause, others)) = ordering_cut(scenario, kind, &orderers) {
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
/// words and the regions left without it. `orderers` are (name, region).
fn ordering_cut<'a>(
    scenario: &'a Scenario,
    kind: &'a FaultKind,
    orderers: &[(&str, &str)],
) -> Option<(String, Vec<&'a str>)> {
    if orderers.is_empty() {
        return None;
    }
    let regions: Vec<&str> = orderers.iter().map(|(_, region)| *region).collect();
    let majority = orderers.len() / 2 + 1;
    // "us-east holds every ordering node", "the crash of orderer1 takes down 1 of 3 ...".
    let short_of_majority = |down: usize, what: String, verb: &str| {
        let left = orderers.len() - down;
        (left < majority).then(|| {
            if left == 0 {
                format!("{what} {verb} every ordering node")
            } else {
                format!(
                    "{what} {verb} {down} of {} ordering nodes; the {left} left are short of a \
                     Raft majority of {majority}",
                    orderers.len()
                )
            }
        })
    };
    match kind {
        FaultKind::RegionOutage { region, .. } => {
            let down = regions.iter().filter(|r| *r == region).count();
            let cause = short_of_majority(down, region.clone(), "holds")?;
            Some((cause, cut_off_from(scenario, kind, &[region.as_str()])?))
        }
        // Every region loses the ordering service, the crashed node's own included.
        FaultKind::NodeCrash { node } => {
            orderers.iter().find(|(name, _)| name == node)?;
            let cause = short_of_majority(1, format!("the crash of {node}"), "takes down")?;
            let all = scenario.topology.regions.iter().map(|r| r.name.as_str());
            Some((cause, all.collect()))
        }
        FaultKind::Partition { .. } | FaultKind::OneWayPartition { .. } => {
            let others = cut_off_from(scenario, kind, &regions)?;
            Some((
                format!(
                    "every ordering node ({}) is on the other side from {}",
                    distinct(&regions).join(", "),
                    others.join(", ")
                ),
                others,
            ))
        }
        FaultKind::Latency { .. } => None,
    }
}

fn blocks_stopped(
    scenario: &Scenario,
    history: &History,
    window: Window,
    regions: &[&str],
) -> LimitEffect {
    let run_end = run_end_ms(history);
    let states = peer_states(scenario, history);
    let mut peers = Vec::new();
    let mut stalls = Vec::new();
    let mut measured = false;
    for region in &scenario.topology.regions {
        if !regions.contains(&region.name.as_str()) {
            continue;
        }
        let watched: Vec<_> = states
            .iter()
            .filter(|p| p.spec.region == region.name)
            .collect();
        if watched.is_empty() {
            continue;
        }
        peers.extend(watched.iter().map(|p| p.name().to_string()));
        let mut heights: Vec<(TimeMs, u64)> = watched.iter().flat_map(|p| p.heights()).collect();
        heights.sort();
        measured |= heights.iter().any(|(at_ms, _)| *at_ms > window.start_ms);
        if let Some(stall) = region_stall(&region.name, &heights, window, run_end) {
            stalls.push(stall);
        }
    }
    let spans = op_spans(history);
    let outcomes = Outcomes::count(
        spans
            .iter()
            .filter(|s| is_transaction(s.invoke) && window.contains(s.invoked_ms)),
    );
    LimitEffect::BlocksStopped {
        peers,
        height_at_start: stalls.iter().map(|s| s.height_at_start).max().unwrap_or(0),
        resumed_at_ms: stalls
            .iter()
            .map(|s| s.resumed_at_ms)
            .collect::<Option<Vec<_>>>()
            .and_then(|at| at.into_iter().max()),
        stalled_ms: stalls.iter().map(|s| s.stalled_ms).max().unwrap_or(0),
        regions: stalls,
        measured,
        transactions_not_committed: outcomes.submitted - outcomes.ok,
    }
}

/// The longest gap between new heights of one region (its height: the highest of its
/// peers) that overlaps the fault's window. `heights` are the region's samples in time
/// order.
fn region_stall(
    region: &str,
    heights: &[(TimeMs, u64)],
    window: Window,
    run_end: TimeMs,
) -> Option<RegionStall> {
    region_stalls(region, heights, window, run_end)
        .max_by_key(|stall| (stall.stalled_ms, std::cmp::Reverse(stall.last_block_at_ms)))
}

/// Every gap between new heights of one region (the highest height of its peers) that
/// overlaps `window`, in time order. `heights` are the region's samples in time order.
pub fn region_stalls<'a>(
    region: &'a str,
    heights: &[(TimeMs, u64)],
    window: Window,
    run_end: TimeMs,
) -> impl Iterator<Item = RegionStall> + 'a {
    // The times the region's height rose, with the height reached.
    let mut rises: Vec<(TimeMs, u64)> = Vec::new();
    for &(at_ms, height) in heights {
        if rises.last().is_none_or(|&(_, top)| height > top) {
            rises.push((at_ms, height));
        }
    }
    let nexts: Vec<Option<TimeMs>> = (0..rises.len())
        .map(|i| rises.get(i + 1).map(|&(at_ms, _)| at_ms))
        .collect();
    rises
        .into_iter()
        .zip(nexts)
        .filter(move |&((from_ms, _), next)| {
            from_ms < window.end_ms && next.unwrap_or(run_end) > window.start_ms
        })
        .map(move |((from_ms, height), next)| RegionStall {
            region: region.to_string(),
            height_at_start: height,
            last_block_at_ms: from_ms,
            resumed_at_ms: next,
            stalled_ms: next.unwrap_or(run_end).saturating_sub(from_ms),
        })
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
