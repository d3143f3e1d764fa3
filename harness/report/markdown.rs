//! report.md: what a person reads first. What ran, the verdict, every expectation with its
//! detail, what failed and why (with the doc anchor behind a failed procedure step), the
//! documented limits, faults, peers, transaction numbers and the replay command.

use super::{human_duration, Report};
use crate::checks::view::{secs, short_hash};
use crate::history::StepOutcome;
use crate::scenario::model::{AnchorPeers, Limit, Runbook};
use std::fmt::Write;
use std::time::Duration;

/// A table cell: pipes would end the cell, newlines the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A detail's parts: split at "; " outside parentheses, as checks join them.
fn detail_parts(detail: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in detail.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth == 0 && detail[i..].starts_with("; ") => {
                parts.push(&detail[start..i]);
                start = i + 2;
            }
            _ => {}
        }
    }
    parts.push(&detail[start..]);
    parts
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn what_ran(out: &mut String, report: &Report) {
    let network = &report.network;
    let procedure = &network.procedure;
    let _ = writeln!(out, "## What ran\n");
    let _ = writeln!(
        out,
        "- Scenario `{}` from `{}`, seed {}, substrate `{}`",
        report.scenario, report.scenario_file, report.seed, report.substrate
    );
    let _ = writeln!(
        out,
        "- Simulated time {}, wall time {}; latencies measured to {} ms",
        secs(report.sim_time_ms),
        secs(report.wall_time_ms),
        report.latency_resolution_ms
    );
    for note in &report.substrate_notes {
        let _ = writeln!(out, "- Substrate: {note}");
    }
    let regions: Vec<String> = network
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{} ({}, cluster {})", r.name, r.location, i + 1))
        .collect();
    let _ = writeln!(
        out,
        "- Regions: {}; round-trip times from {} ({})",
        regions.join(", "),
        network.latency_source,
        network.latency_statistic
    );
    let _ = writeln!(
        out,
        "- Ordering service {}: {}",
        network.ordering_msp_id,
        network.ordering_nodes.join(", ")
    );
    for org in &network.organizations {
        let _ = writeln!(
            out,
            "- Organization {}: home {}, only CA {}, {} peer(s) in each of {}",
            org.msp_id,
            org.home,
            org.ca,
            org.peers_per_region,
            org.regions.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "- Channel `{}`, chaincode {}",
        network.channel, network.chaincode
    );
    let _ = writeln!(
        out,
        "- Procedure: {}; skipped: {}; recreated instead of imported: {}; every peer imported \
         into every console: {}; anchor peers: {}",
        match procedure.runbook {
            Runbook::Documented => "the documented runbook, step by step through the consoles",
            Runbook::Prebuilt => "prebuilt (the network the runbook builds, built directly)",
        },
        none_if_empty(&procedure.skip),
        none_if_empty(&procedure.recreate),
        if procedure.import_all_peers_everywhere {
            "yes"
        } else {
            "no"
        },
        match procedure.anchor_peers {
            AnchorPeers::EveryPeer => "every peer",
            AnchorPeers::OnePerOrg => "one per organization",
        }
    );
    let steps = &report.steps;
    let _ = writeln!(
        out,
        "- Procedure steps: {} ok, {} failed, {} skipped",
        steps.ok, steps.failed, steps.skipped
    );
    let _ = writeln!(
        out,
        "- Workload: {} tx/s for {} from {}\n",
        network.workload_rate_per_s,
        human_duration(Duration::from_millis(network.workload_duration_ms)),
        network
            .client_regions
            .iter()
            .map(|region| crate::scenario::layout::client_name(region))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn verdict(out: &mut String, report: &Report) {
    let failed: Vec<String> = report
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| e.name.clone())
        .collect();
    let _ = writeln!(out, "## Verdict\n");
    // A run that stopped early, and a procedure that stopped, explain every expectation
    // below them, so they lead.
    if let Some(stopped) = &report.stopped {
        let _ = writeln!(
            out,
            "**FAILED**: the run stopped before its end: {}\n",
            stopped.message
        );
    }
    for step in report
        .steps
        .not_ok
        .iter()
        .filter(|s| s.outcome == StepOutcome::Failed)
    {
        let _ = writeln!(
            out,
            "**FAILED**: the procedure stopped at {}: {}\n",
            step.place(),
            step.detail
        );
    }
    let expectations = report.expectations.len();
    let _ = match (failed.is_empty(), report.steps.failed == 0) {
        (true, true) if report.passed => {
            writeln!(out, "**PASSED**: all {expectations} expectations held.\n")
        }
        (true, true) => writeln!(
            out,
            "The {expectations} expectations held on what was recorded, but the run did not end.\n"
        ),
        (true, false) => writeln!(
            out,
            "All {expectations} expectations held, but a failed procedure step fails the run.\n"
        ),
        (false, _) => writeln!(
            out,
            "**FAILED**: {} of {expectations} expectations failed ({}).\n",
            failed.len(),
            failed.join(", ")
        ),
    };
    let _ = writeln!(out, "## Expectations\n");
    for e in &report.expectations {
        let _ = writeln!(
            out,
            "- **{}** `{}`: {}",
            if e.passed { "PASS" } else { "FAIL" },
            e.label(),
            e.detail
        );
    }
    out.push('\n');
}

fn failures(out: &mut String, report: &Report) {
    let failed: Vec<_> = report.expectations.iter().filter(|e| !e.passed).collect();
    let _ = writeln!(out, "## What failed and why\n");
    if failed.is_empty() && report.steps.not_ok.is_empty() {
        let _ = writeln!(out, "Nothing failed.\n");
        return;
    }
    for e in failed {
        let _ = writeln!(out, "### {}\n", e.label());
        for part in detail_parts(&e.detail) {
            let _ = writeln!(out, "- {part}");
        }
        out.push('\n');
    }
    if !report.steps.not_ok.is_empty() {
        let _ = writeln!(out, "### Procedure steps that did not succeed\n");
        let _ = writeln!(
            out,
            "| Outcome | Region | Section | Action | Doc anchor | Detail |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
        for step in &report.steps.not_ok {
            let outcome = match step.outcome {
                StepOutcome::Ok => "ok",
                StepOutcome::Failed => "failed",
                StepOutcome::Skipped => "skipped",
            };
            let _ = writeln!(
                out,
                "| {outcome} | {} | `#{}` | {} | {} | {} |",
                cell(&step.region),
                cell(&step.section),
                cell(&step.action),
                step.anchor
                    .as_deref()
                    .map_or("none".to_string(), |a| format!("`#{}`", cell(a))),
                cell(&step.detail)
            );
        }
        out.push('\n');
    }
}

fn limits(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Documented limits\n");
    let _ = writeln!(
        out,
        "The procedure states that multi-region high availability is not available for the \
         CAs and the ordering service (`#ibp-console-hadr-mr`). hadr looks for every fault that \
         takes down the region holding the ordering service or an organization's only CA, and \
         measures what it did.\n"
    );
    if report.limits.is_empty() {
        let _ = writeln!(
            out,
            "No fault of this run took down the ordering service's region or the region of an \
             organization's only CA.\n"
        );
        return;
    }
    for finding in &report.limits {
        let _ = writeln!(
            out,
            "- **{}**, fault {} ({}), from {} to {}: {}; {}",
            match finding.limit {
                Limit::OrderingService => "Ordering service",
                Limit::CertificateAuthority => "Certificate authority",
            },
            finding.fault_index,
            finding.fault,
            secs(finding.started_at_ms),
            finding.healed_at_ms.map_or("the end".to_string(), secs),
            finding.cause,
            finding.effect_text()
        );
    }
    out.push('\n');
}

fn faults(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Faults\n");
    if report.faults.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| # | Fault | Regions | Planned | Started | Healed | Membership drop | Caught up |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for fault in &report.faults {
        let planned = format!(
            "{} into the workload, {}",
            human_duration(Duration::from_millis(fault.planned_at_ms)),
            fault
                .planned_duration_ms
                .map_or("to the end".to_string(), |d| {
                    format!("for {}", human_duration(Duration::from_millis(d)))
                })
        );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {planned} | {} | {} | {} | {} |",
            fault.index,
            cell(&fault.description),
            cell(&fault.regions.join(", ")),
            fault.started_at_ms.map_or("never".to_string(), secs),
            fault.healed_at_ms.map_or("never".to_string(), secs),
            fault
                .membership_drop_ms
                .map_or("-".to_string(), |ms| format!("after {}", secs(ms))),
            fault
                .caught_up_ms
                .map_or("-".to_string(), |ms| format!("{} after the heal", secs(ms)))
        );
    }
    out.push('\n');
}

fn peers(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Peers at the end\n");
    let _ = writeln!(out, "| Peer | Region | MSP | State | Height | Tip hash |");
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
    for peer in &report.peers {
        let state = if peer.note.is_empty() {
            peer.state.clone()
        } else {
            format!("{} ({})", peer.state, cell(&peer.note))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {state} | {} | {} |",
            peer.name,
            peer.region,
            peer.msp_id,
            peer.height.map_or("-".to_string(), |h| h.to_string()),
            peer.tip_hash
                .as_deref()
                .map_or("-".to_string(), |h| format!("`{}`", short_hash(h)))
        );
    }
    out.push('\n');
}

fn transactions(out: &mut String, report: &Report) {
    let stats = &report.stats;
    let ms = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
    let _ = writeln!(out, "## Transactions\n");
    let _ = writeln!(
        out,
        "| Submitted | Committed | Failed | Unknown (info) | Unfinished | Commit latency p50 | p99 |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        stats.transactions_submitted,
        stats.transactions_committed,
        stats.transactions_failed,
        stats.transactions_unknown,
        stats.transactions_unfinished,
        ms(stats.commit_latency_ms.p50),
        ms(stats.commit_latency_ms.p99)
    );
    if stats.transactions_mvcc_conflicts > 0 {
        let _ = writeln!(
            out,
            "{} of the failed transactions conflicted with another of their block on a key they read (MVCC_READ_CONFLICT).\n",
            stats.transactions_mvcc_conflicts
        );
    }
    if stats.evaluates > 0 {
        let _ = writeln!(
            out,
            "Evaluates (queries, never ordered): {}, {} without an answer.\n",
            stats.evaluates, stats.evaluates_failed
        );
    }
    let _ = writeln!(
        out,
        "Commit latency is invoke to commit acknowledgement per operation, nearest-rank \
         percentiles, to {} ms.\n",
        report.latency_resolution_ms
    );
}

/// report.md for one run.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# hadr: {} {}\n",
        report.scenario,
        if report.passed { "passed" } else { "FAILED" }
    );
    what_ran(&mut out, report);
    verdict(&mut out, report);
    failures(&mut out, report);
    limits(&mut out, report);
    faults(&mut out, report);
    peers(&mut out, report);
    transactions(&mut out, report);
    let _ = writeln!(out, "## Replay\n\n```sh\n{}\n```", report.replay);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_split_outside_parentheses() {
        assert_eq!(detail_parts("a; b (c; d); e"), ["a", "b (c; d)", "e"]);
        assert_eq!(detail_parts("single"), ["single"]);
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}
