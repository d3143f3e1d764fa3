//! `hadr mutate`: the scenario once as written and once per procedure mutation
//! (procedure/mutation.rs), under the scenario's own faults, in parallel; the table says for
//! each mutation which expectations failed, or at which step the procedure stopped and why.

use super::{failed_names, pool, progress::Progress};
use crate::history::StepOutcome;
use crate::procedure::mutation::{mutations, Mutation};
use crate::report::{self, Report};
use crate::scenario::model::Scenario;
use crate::substrate::sim::Sim;
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub mutation: String,
    pub anchor: String,
    /// The failed expectations (empty: every one held).
    pub failed: Vec<String>,
    /// The first step that failed, with the answer, when the procedure stopped.
    pub stopped_at: Option<String>,
    /// The report folder, relative to the output folder.
    pub reports: String,
}

impl Row {
    fn result(&self) -> String {
        match (&self.stopped_at, self.failed.is_empty()) {
            (Some(step), _) => format!("stopped at {step}"),
            (None, true) => "held".to_string(),
            (None, false) => format!("FAILED {}", self.failed.join(", ")),
        }
    }
}

/// Runs `scenario` and its mutations on `jobs` threads, writing each run's reports to
/// `out/NN-name/`, then `out/mutations.json` and `out/mutations.md`. The first row is the
/// scenario as written.
pub fn mutate(scenario: &Scenario, jobs: usize, out: &Path) -> Result<Vec<Row>, String> {
    let as_written = Mutation {
        name: "none (as written)".to_string(),
        anchor: String::new(),
        scenario: scenario.clone(),
    };
    let all: Vec<(usize, Mutation)> = std::iter::once(as_written)
        .chain(mutations(scenario))
        .enumerate()
        .collect();
    let mut progress = Progress::new(all.len() as u64, "mutations");
    let rows = pool::run_all(
        all,
        jobs,
        |(index, mutation)| run_one(index, mutation, out),
        |row: &Result<Row, String>| match row {
            Ok(row) => progress.finished(
                row.result() != "held",
                &format!("{}: {}", row.mutation, row.result()),
            ),
            Err(error) => progress.finished(true, error),
        },
    );
    drop(progress);
    let rows = rows.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
    json.push('\n');
    for (name, contents) in [
        ("mutations.json", json),
        ("mutations.md", table(scenario, &rows)),
    ] {
        let path = out.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(rows)
}

fn run_one(index: usize, mutation: Mutation, out: &Path) -> Result<Row, String> {
    let slug = report::folder_names([mutation.name.as_str()]).remove(0);
    let folder = format!("{index:02}-{slug}");
    let (report, history) = crate::runner::run(&mutation.scenario, &Sim)
        .map_err(|e| format!("{}: {e}", mutation.name))?;
    report::write_all(&out.join(&folder), &report, &history).map_err(|e| e.to_string())?;
    Ok(Row {
        mutation: mutation.name,
        anchor: mutation.anchor,
        failed: failed_names(&report)
            .into_iter()
            .filter(|n| n != "procedure_step")
            .collect(),
        stopped_at: stopped_at(&report),
        reports: folder,
    })
}

fn stopped_at(report: &Report) -> Option<String> {
    report
        .steps
        .not_ok
        .iter()
        .find(|s| s.outcome == StepOutcome::Failed)
        .map(|s| format!("{}: {}", s.place(), s.detail))
        .or_else(|| report.stopped.as_ref().map(|s| s.message.clone()))
}

/// mutations.md: the table.
pub fn table(scenario: &Scenario, rows: &[Row]) -> String {
    let mut md = format!(
        "# Mutations of {} ({})\n\nEach row is one run of the scenario, faults included, with one step of the procedure changed.\n\n| mutation | doc anchor | result |\n|---|---|---|\n",
        scenario.name,
        scenario.source.display()
    );
    for row in rows {
        let result = row.result().replace('|', "\\|").replace('\n', " ");
        md.push_str(&format!(
            "| {} | {} | {result} |\n",
            row.mutation, row.anchor
        ));
    }
    md
}
