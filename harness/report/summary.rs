//! The summary of several scenarios run together: a table on stdout at the end of
//! `hadr run A.yaml B.yaml ...` and DIR/summary.md. Wall times are wall-clock; everything else
//! comes from the reports.

use super::Report;
use crate::checks::view::secs;
use crate::history::StepOutcome;
use std::fmt::Write;
use std::time::Duration;

/// One scenario's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    pub scenario: String,
    /// Where its reports are, relative to the output directory.
    pub folder: String,
    /// `passed`, `FAILED`, or `ERROR` when the substrate broke down before a report.
    pub verdict: String,
    /// The failed expectations by label, a failed procedure step, a run that stopped, or the
    /// substrate's error.
    pub failed: Vec<String>,
    pub sim_time_ms: u64,
    pub wall_time_ms: u64,
}

impl SummaryRow {
    pub fn of_report(report: &Report, folder: &str) -> SummaryRow {
        let mut failed: Vec<String> = Vec::new();
        if let Some(stopped) = &report.stopped {
            failed.push(format!("run stopped: {}", stopped.message));
        }
        failed.extend(
            report
                .steps
                .not_ok
                .iter()
                .filter(|s| s.outcome == StepOutcome::Failed)
                .map(|s| format!("procedure step {}", s.place())),
        );
        failed.extend(
            report
                .expectations
                .iter()
                .filter(|e| !e.passed)
                .map(|e| e.label()),
        );
        SummaryRow {
            scenario: report.scenario.clone(),
            folder: folder.to_string(),
            verdict: if report.passed { "passed" } else { "FAILED" }.to_string(),
            failed,
            sim_time_ms: report.sim_time_ms,
            wall_time_ms: report.wall_time_ms,
        }
    }

    /// A scenario the substrate could not run to a report.
    pub fn of_error(scenario: &str, folder: &str, error: &str) -> SummaryRow {
        SummaryRow {
            scenario: scenario.to_string(),
            folder: folder.to_string(),
            verdict: "ERROR".to_string(),
            failed: vec![error.to_string()],
            sim_time_ms: 0,
            wall_time_ms: 0,
        }
    }

    fn cells(&self) -> [String; 5] {
        [
            self.scenario.clone(),
            self.verdict.clone(),
            if self.failed.is_empty() {
                "-".to_string()
            } else {
                self.failed.join(", ")
            },
            crate::scenario::duration::format(Duration::from_secs(self.sim_time_ms / 1000)),
            secs(self.wall_time_ms),
        ]
    }
}

const HEADER: [&str; 5] = ["scenario", "verdict", "failed", "simulated", "wall"];

/// "3 scenarios: 2 passed, 1 failed".
fn tally(rows: &[SummaryRow]) -> String {
    let passed = rows.iter().filter(|r| r.verdict == "passed").count();
    format!(
        "{} scenarios: {passed} passed, {} failed",
        rows.len(),
        rows.len() - passed
    )
}

/// The table for a terminal: aligned columns, then the tally.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let cells: Vec<[String; 5]> = rows.iter().map(SummaryRow::cells).collect();
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([HEADER[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, values: &[&str]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&mut out, &HEADER);
    for c in &cells {
        line(&mut out, &c.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let _ = writeln!(out, "{}", tally(rows));
    out
}

/// DIR/summary.md: the same table, each scenario linked to its report.
pub fn summary_md(rows: &[SummaryRow]) -> String {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    let mut out = String::new();
    let _ = writeln!(out, "# hadr: {}\n", tally(rows));
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(HEADER.len()));
    for row in rows {
        let c = row.cells();
        let _ = writeln!(
            out,
            "| [{}]({}/report.md) | {} | {} | {} | {} |",
            cell(&c[0]),
            row.folder,
            c[1],
            cell(&c[2]),
            c[3],
            c[4]
        );
    }
    let _ = writeln!(
        out,
        "\nEach scenario's reports are in its folder; junit.xml beside this file has one test \
         suite per scenario. Wall times are the only numbers that change between runs."
    );
    out
}
