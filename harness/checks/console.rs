//! console_failover: the consoles of the surviving regions still manage every node.

use super::view::{fault_windows, list_some, run_end_ms, secs, FaultWindow, Window};
use super::CheckResult;
use crate::history::{ConsoleAction, ConsoleListing, EventKind, History, TimeMs};
use crate::scenario::layout::{console_name, region_of, Role};
use crate::scenario::model::{FaultKind, Scenario};

/// The first fault that takes `region` down: an outage of it, or a partition with it on one
/// side.
pub fn failure_of<'a>(
    scenario: &Scenario,
    history: &'a History,
    region: &str,
) -> Option<FaultWindow<'a>> {
    fault_windows(history).into_iter().find(|w| {
        match scenario.faults.get(w.record.index).map(|f| &f.kind) {
            Some(FaultKind::RegionOutage { region: r, .. }) => r == region,
            Some(FaultKind::Partition { sides }) => sides.iter().flatten().any(|r| r == region),
            _ => false,
        }
    })
}

/// console_failover {failed_region}.
///
/// The window is the first fault that takes `failed_region` down (`failure_of`), from its
/// start to its heal (or the end of the run). Every console of another region must, inside
/// that window:
/// - answer every listing the history asked of it, at least one; each listing must show
///   every peer, CA and orderer of the layout, matched by display name equal to the node
///   name (`peer0.org1.us-east`);
/// - have acted successfully (ConsoleAction ok: status or join) on every such node outside
///   `failed_region`; nodes in the failed region cannot answer and are not required.
///
/// A scenario in which no fault takes `failed_region` down fails: failover was not exercised.
pub fn console_failover(
    scenario: &Scenario,
    history: &History,
    failed_region: &str,
) -> CheckResult {
    let Some(failure) = failure_of(scenario, history, failed_region) else {
        return CheckResult::fail(format!(
            "no fault took {failed_region} down in this run: console failover was not exercised"
        ));
    };
    let window: Window = failure.window(run_end_ms(history));
    let nodes: Vec<String> = scenario
        .layout()
        .into_iter()
        .filter(|n| {
            matches!(
                n.role,
                Role::Peer | Role::CertificateAuthority | Role::Orderer
            )
        })
        .map(|n| n.name)
        .collect();
    let consoles: Vec<&str> = scenario
        .topology
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != failed_region)
        .collect();
    let mut problems = Vec::new();
    let mut judged = Vec::new();
    for region in &consoles {
        let console = console_name(region);
        let listings: Vec<(TimeMs, &ConsoleListing)> = history
            .iter(|k| match k {
                EventKind::ConsoleListing(l) if l.region == *region => Some(l),
                _ => None,
            })
            .filter(|(at_ms, _)| window.contains(*at_ms))
            .collect();
        let actions: Vec<&ConsoleAction> = history
            .iter(|k| match k {
                EventKind::ConsoleAction(a) if a.region == *region => Some(a),
                _ => None,
            })
            .filter(|(at_ms, _)| window.contains(*at_ms))
            .map(|(_, a)| a)
            .collect();
        let before = problems.len();
        if listings.is_empty() {
            problems.push(format!("{console} was never asked for its listing"));
        }
        for (at_ms, listing) in &listings {
            if !listing.answered {
                problems.push(format!(
                    "{console} did not answer its listing at {}",
                    secs(*at_ms)
                ));
                continue;
            }
            let missing: Vec<String> = nodes
                .iter()
                .filter(|n| !listing.components.contains(n))
                .cloned()
                .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "{console} does not list {} at {}",
                    list_some(&missing, 4),
                    secs(*at_ms)
                ));
            }
        }
        let unmanaged: Vec<String> = nodes
            .iter()
            .filter(|n| region_of(n) != failed_region)
            .filter(|n| !actions.iter().any(|a| a.ok && &a.target == *n))
            .map(|n| match actions.iter().rev().find(|a| &a.target == n) {
                Some(a) => format!("{n} ({} failed: {})", a.action, a.detail),
                None => format!("{n} (never tried)"),
            })
            .collect();
        if !unmanaged.is_empty() {
            problems.push(format!(
                "{console} did not act successfully on {}",
                list_some(&unmanaged, 4)
            ));
        }
        if problems.len() == before {
            judged.push(format!(
                "{console} ({} listings, {} actions)",
                listings.len(),
                actions.len()
            ));
        }
    }
    let summary = format!(
        "{} listed all {} nodes and acted on every node outside {failed_region}",
        judged.join(", "),
        nodes.len()
    );
    let window_note = format!(
        "window: {} from {} to {}",
        failure.label(),
        secs(window.start_ms),
        secs(window.end_ms)
    );
    CheckResult::judge(problems, summary, vec![window_note])
}
