//! Chaos experiments: `hadr chaos` runs a base scenario under many fault schedules drawn by
//! the nemesis (faults/nemesis.rs), in parallel, shrinks every failing schedule
//! (faults/shrink.rs) and writes it as a reproducer; `hadr chaos merge` joins the outputs of
//! shards; `hadr mutate` (mutate.rs) runs a scenario once per procedure mutation.

pub mod mutate;
pub mod pool;
pub mod progress;
pub mod summary;

use crate::faults::{describe, nemesis, reproducer, shrink};
use crate::report::{self, Report};
use crate::scenario::model::{Chaos, ChaosKind, Scenario};
use crate::substrate::sim::Sim;
use std::path::{Path, PathBuf};
use summary::{Failure, RunRecord, Summary};

/// `--shard I/N`: runs k with k mod N = I - 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write I/N with 1 <= I <= N, e.g. 1/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u64>().map_err(|_| bad())?,
            n.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn takes(self, run: u64) -> bool {
        run % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A sweep to run.
pub struct Sweep<'a> {
    /// The base scenario, its file's text (the reproducers copy it) and its `chaos:`.
    pub base: &'a Scenario,
    pub base_text: &'a str,
    pub chaos: &'a Chaos,
    pub runs: u64,
    pub seed: u64,
    pub jobs: usize,
    pub shard: Option<Shard>,
    pub out: &'a Path,
}

/// What one run gave: its record, and its failure when it failed.
struct Outcome {
    record: RunRecord,
    failure: Option<Failure>,
}

/// The names of what failed in a run: its failed expectations, then `run_stopped` or
/// `procedure_step` when it stopped or a step failed.
pub fn failed_names(report: &Report) -> Vec<String> {
    let mut names: Vec<String> = report
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| e.name.clone())
        .collect();
    if report.stopped.is_some() {
        names.push("run_stopped".to_string());
    }
    if report.steps.failed > 0 {
        names.push("procedure_step".to_string());
    }
    names
}

/// Runs the sweep, writing the reproducers (and their reports) under `out/failures/` as
/// failures are found, then summary.json, summary.md, junit.xml and summary.svg.
pub fn sweep(sweep: &Sweep) -> Result<Summary, String> {
    let wall = std::time::Instant::now();
    let runs: Vec<u64> = (0..sweep.runs)
        .filter(|k| sweep.shard.is_none_or(|s| s.takes(*k)))
        .collect();
    let mut progress = progress::Progress::new(runs.len() as u64, "runs");
    let outcomes = pool::run_all(
        runs,
        sweep.jobs,
        |run| one_run(sweep, run),
        |outcome: &Result<Outcome, String>| match outcome {
            Ok(o) => progress.finished(!o.record.passed, &run_line(&o.record, o.failure.as_ref())),
            Err(e) => progress.finished(true, e),
        },
    );
    drop(progress);
    let mut records = Vec::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        let outcome = outcome?;
        records.push(outcome.record);
        failures.extend(outcome.failure);
    }
    let summary = Summary::new(
        sweep.base,
        sweep.seed,
        sweep.runs,
        sweep.shard.map(|s| s.to_string()),
        records,
        failures,
        wall.elapsed().as_millis() as u64,
    );
    summary.write(sweep.out)?;
    Ok(summary)
}

fn run_line(record: &RunRecord, failure: Option<&Failure>) -> String {
    match failure {
        None => format!("run {}: held ({} faults)", record.run, record.faults.len()),
        Some(f) => format!(
            "run {}: FAILED {} ({} faults, shrunk to {}: {}); reproducer {}",
            record.run,
            f.expectation,
            record.faults.len(),
            f.faults.len(),
            f.faults.join("; "),
            f.scenario_file
        ),
    }
}

/// Run `run`, and when it fails, its shrinking and its reproducer.
fn one_run(sweep: &Sweep, run: u64) -> Result<Outcome, String> {
    let wall = std::time::Instant::now();
    let scenario = nemesis::run_scenario(sweep.base, sweep.chaos, sweep.seed, run);
    let fixed = sweep.base.faults.len();
    let verdict = judge(&scenario);
    let failed = verdict.failed.clone();
    let drawn = &scenario.faults[fixed..];
    let mut record = RunRecord {
        run,
        seed: scenario.seed,
        faults: drawn.iter().map(describe).collect(),
        kinds: kinds(drawn),
        passed: failed.is_empty(),
        failed: failed.clone(),
        sim_time_ms: verdict.sim_time_ms,
        wall_time_ms: 0,
    };
    let failure = match failed.first() {
        Some(target) => Some(reproduce(sweep, run, scenario, &verdict, target)?),
        None => None,
    };
    record.wall_time_ms = wall.elapsed().as_millis() as u64;
    Ok(Outcome { record, failure })
}

/// How a run ended: what failed (empty: it held), and for each failed name its detail.
struct Verdict {
    failed: Vec<String>,
    details: Vec<(String, String)>,
    sim_time_ms: u64,
}

/// The name of a run in which the harness panicked (a bug of hadr, not of Fabric).
const HARNESS_PANIC: &str = "harness_panic";
/// The name of a run the substrate could not finish.
const SUBSTRATE_ERROR: &str = "substrate_error";

/// Runs `scenario` on the simulator; a panic inside it is a failed run, not a failed sweep.
fn judge(scenario: &Scenario) -> Verdict {
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::runner::run(scenario, &Sim)
    }));
    let failure = |name: &str, detail: String| Verdict {
        failed: vec![name.to_string()],
        details: vec![(name.to_string(), detail)],
        sim_time_ms: 0,
    };
    match ran {
        Ok(Ok((report, _))) => verdict_of(&report),
        Ok(Err(error)) => failure(SUBSTRATE_ERROR, error.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failure(HARNESS_PANIC, format!("the simulation panicked: {message}"))
        }
    }
}

fn verdict_of(report: &Report) -> Verdict {
    let failed = failed_names(report);
    let details = failed
        .iter()
        .map(|name| {
            let detail = report
                .expectations
                .iter()
                .find(|e| e.name == *name)
                .map(|e| e.detail.clone())
                .or_else(|| report.stopped.as_ref().map(|s| s.message.clone()))
                .unwrap_or_default();
            (name.clone(), detail)
        })
        .collect();
    Verdict {
        failed,
        details,
        sim_time_ms: report.sim_time_ms,
    }
}

impl Verdict {
    fn detail(&self, name: &str) -> String {
        self.details
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }
}

fn kinds(faults: &[crate::scenario::model::Fault]) -> Vec<String> {
    let kinds: std::collections::BTreeSet<ChaosKind> =
        faults.iter().map(|f| ChaosKind::of(&f.kind)).collect();
    kinds.into_iter().map(|k| k.name().to_string()).collect()
}

/// Shrinks a failing run, writes its reproducer to `out/failures/NNN/scenario.yaml` and
/// replays that file as `hadr run` would, writing its reports beside it.
fn reproduce(
    sweep: &Sweep,
    run: u64,
    failing: Scenario,
    verdict: &Verdict,
    target: &str,
) -> Result<Failure, String> {
    let fixed = sweep.base.faults.len();
    let faults_before = failing.faults.len() - fixed;
    let shrunk = shrink::shrink(
        failing,
        fixed,
        sweep.chaos.quiet,
        sweep.chaos.shrink_runs,
        |candidate| judge(candidate).failed.iter().any(|n| n == target),
    );
    let folder = PathBuf::from("failures").join(format!("{run:03}"));
    let relative = folder.join("scenario.yaml");
    let dir = sweep.out.join(&folder);
    let path = sweep.out.join(&relative);
    let header = [
        format!(
            "Reproducer written by `hadr chaos`: run {run} of {} with --seed {}.",
            sweep.base.source.display(),
            sweep.seed
        ),
        format!(
            "`{target}` failed; the schedule was shrunk from {faults_before} to {} fault(s) in {} run(s).",
            shrunk.scenario.faults.len() - fixed,
            shrunk.runs
        ),
        format!(
            "Replay: hadr run {} (from the sweep's output folder).",
            relative.display()
        ),
    ];
    let text = reproducer::write(sweep.base_text, &shrunk.scenario, &header, &path)
        .map_err(|e| format!("run {run}: cannot write its reproducer: {e}"))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // Replayed from the file, as `hadr run` reads it, with the reports `hadr run` writes.
    let replay = crate::scenario::load(&path).map_err(|e| e.to_string())?;
    let replayed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::runner::run(&replay, &Sim)
    }));
    let replay_verdict = match replayed {
        Ok(Ok((replay_report, history))) => {
            report::write_all(&dir, &replay_report, &history).map_err(|e| e.to_string())?;
            verdict_of(&replay_report)
        }
        _ => judge(&replay),
    };
    let drawn = &shrunk.scenario.faults[fixed..];
    Ok(Failure {
        run,
        expectation: target.to_string(),
        detail: verdict.detail(target),
        faults_before,
        faults: drawn.iter().map(describe).collect(),
        kinds: kinds(drawn),
        workload: crate::scenario::duration::format(shrunk.scenario.workload.duration),
        shrink_runs: shrunk.runs,
        scenario_file: relative.display().to_string(),
        replayed: replay_verdict.failed.iter().any(|n| n == target),
        replay_detail: replay_verdict.detail(target),
    })
}

/// `hadr chaos merge`: joins the outputs of shards into `out` (summary files and every
/// shard's reproducers), as one unsharded sweep would have written them.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary, String> {
    let parts = dirs
        .iter()
        .map(|d| Summary::read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let merged = Summary::merge(parts)?;
    for dir in dirs {
        for failure in Summary::read(dir)?.failures {
            let from = dir.join(&failure.scenario_file);
            let (Some(from_dir), Some(to_dir)) = (
                from.parent(),
                out.join(&failure.scenario_file)
                    .parent()
                    .map(Path::to_path_buf),
            ) else {
                continue;
            };
            copy_dir(from_dir, &to_dir)?;
        }
    }
    merged.write(out)?;
    Ok(merged)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    if from == to {
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().is_file() {
            let target = to.join(entry.file_name());
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("cannot copy to {}: {e}", target.display()))?;
        }
    }
    Ok(())
}
