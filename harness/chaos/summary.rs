//! What a sweep found: summary.json (the `Summary` below, also what `hadr chaos merge`
//! reads), summary.md for a person, junit.xml with one test case per run, and summary.svg,
//! which fault kinds broke which expectations. Apart from the `wall_time_ms` fields (and
//! JUnit's `time`), every file is a function of the base scenario, the seed and the runs.

use crate::report::svg::{hsl_hex, text};
use crate::report::xml_safe;
use crate::scenario::model::{ChaosKind, Scenario};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The base scenario file, as given on the command line.
    pub base: String,
    pub scenario: String,
    pub seed: u64,
    /// Runs of the whole sweep (`--runs`).
    pub runs: u64,
    /// `I/N` when this is one shard of the sweep; None when it holds every run.
    pub shard: Option<String>,
    pub executed: u64,
    pub passed: u64,
    pub failed: u64,
    /// Failing runs per failed expectation (a run may fail several).
    pub by_expectation: BTreeMap<String, u64>,
    pub by_fault_kind: BTreeMap<String, KindCount>,
    /// Every failing run, shrunk, in run order.
    pub failures: Vec<Failure>,
    /// Every run, in run order.
    pub run_results: Vec<RunRecord>,
    /// Wall-clock.
    pub wall_time_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    /// Runs whose schedule had this kind, and how many of them failed.
    pub runs: u64,
    pub failed: u64,
    /// Per expectation: shrunk schedules that still have this kind and fail it.
    pub broke: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: u64,
    /// The run's simulation seed, drawn with its schedule.
    pub seed: u64,
    /// The nemesis's faults, as drawn.
    pub faults: Vec<String>,
    pub kinds: Vec<String>,
    pub passed: bool,
    pub failed: Vec<String>,
    pub sim_time_ms: u64,
    /// Wall-clock, shrinking included.
    pub wall_time_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub run: u64,
    /// The expectation the shrinking kept failing (the run's first failed one).
    pub expectation: String,
    pub detail: String,
    pub faults_before: usize,
    /// The shrunk schedule.
    pub faults: Vec<String>,
    pub kinds: Vec<String>,
    pub workload: String,
    pub shrink_runs: u32,
    /// The reproducer, relative to the sweep's output folder.
    pub scenario_file: String,
    /// Whether `hadr run` on the reproducer failed the same expectation.
    pub replayed: bool,
    pub replay_detail: String,
}

/// The largest summary.json read back: a sweep writes about 300 bytes per run (measured on
/// chaos-base), a little more per failure, so this holds some 200,000 runs.
const MAX_SUMMARY_BYTES: u64 = 64 * 1024 * 1024;

impl Summary {
    pub fn new(
        base: &Scenario,
        seed: u64,
        runs: u64,
        shard: Option<String>,
        run_results: Vec<RunRecord>,
        failures: Vec<Failure>,
        wall_time_ms: u64,
    ) -> Summary {
        let mut summary = Summary {
            base: base.source.display().to_string(),
            scenario: base.name.clone(),
            seed,
            runs,
            shard,
            executed: 0,
            passed: 0,
            failed: 0,
            by_expectation: BTreeMap::new(),
            by_fault_kind: BTreeMap::new(),
            failures,
            run_results,
            wall_time_ms,
        };
        summary.count();
        summary
    }

    /// The aggregates, from the runs and failures.
    fn count(&mut self) {
        self.run_results.sort_by_key(|r| r.run);
        self.failures.sort_by_key(|f| f.run);
        self.executed = self.run_results.len() as u64;
        self.passed = self.run_results.iter().filter(|r| r.passed).count() as u64;
        self.failed = self.executed - self.passed;
        self.by_expectation.clear();
        self.by_fault_kind.clear();
        for run in &self.run_results {
            for name in &run.failed {
                *self.by_expectation.entry(name.clone()).or_default() += 1;
            }
            for kind in &run.kinds {
                let count = self.by_fault_kind.entry(kind.clone()).or_default();
                count.runs += 1;
                count.failed += u64::from(!run.passed);
            }
        }
        for failure in &self.failures {
            for kind in &failure.kinds {
                let count = self.by_fault_kind.entry(kind.clone()).or_default();
                *count.broke.entry(failure.expectation.clone()).or_default() += 1;
            }
        }
    }

    /// Joins the summaries of shards of one sweep (same base, seed and runs; no run twice).
    /// Complete shards give the summary of the unsharded sweep.
    pub fn merge(parts: Vec<Summary>) -> Result<Summary, String> {
        let mut parts = parts.into_iter();
        let mut merged = parts.next().ok_or("nothing to merge")?;
        let mut shards: Vec<String> = merged.shard.iter().cloned().collect();
        for part in parts {
            let same = (&part.base, &part.scenario, part.seed, part.runs)
                == (&merged.base, &merged.scenario, merged.seed, merged.runs);
            if !same {
                return Err(format!(
                    "these are not shards of one sweep: {} --seed {} --runs {} and {} --seed {} --runs {}",
                    merged.base, merged.seed, merged.runs, part.base, part.seed, part.runs
                ));
            }
            shards.extend(part.shard.iter().cloned());
            merged.run_results.extend(part.run_results);
            merged.failures.extend(part.failures);
            merged.wall_time_ms += part.wall_time_ms;
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = merged.run_results.iter().find(|r| !seen.insert(r.run)) {
            return Err(format!(
                "run {} is in two of the outputs (the same shard given twice?)",
                twice.run
            ));
        }
        merged.shard = if seen.len() as u64 == merged.runs {
            None
        } else {
            Some(shards.join("+"))
        };
        merged.count();
        Ok(merged)
    }

    /// Reads DIR/summary.json without trusting it: a regular file of bounded size, whose
    /// reproducer paths stay inside DIR (merge copies them).
    pub fn read(dir: &Path) -> Result<Summary, String> {
        let path = dir.join("summary.json");
        // The scenario reader's checks: a regular file (a FIFO would block), bounded.
        let text = crate::scenario::input::read_text_at_most(
            &path,
            "the chaos summary",
            "the summary.json that `hadr chaos --out DIR` writes: is it the --out of `hadr chaos`?",
            MAX_SUMMARY_BYTES,
        )
        .map_err(|e| e.to_string().trim_end().to_string())?;
        let summary: Summary = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a chaos summary: {e}", path.display()))?;
        for failure in &summary.failures {
            let inside = Path::new(&failure.scenario_file)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside || failure.scenario_file.is_empty() {
                return Err(format!(
                    "{} is not a chaos summary: run {}'s reproducer `{}` is not a path inside {} (hadr chaos writes failures/NNN/scenario.yaml)",
                    path.display(),
                    failure.run,
                    failure.scenario_file.escape_debug(),
                    dir.display()
                ));
            }
        }
        Ok(summary)
    }

    /// summary.json, summary.md, junit.xml and summary.svg into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        json.push('\n');
        let files = [
            ("summary.json", json),
            ("summary.md", self.markdown(dir)),
            ("junit.xml", self.junit()),
            ("summary.svg", self.svg()),
        ];
        for (name, contents) in files {
            let path = dir.join(name);
            std::fs::write(&path, contents)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// summary.md; the replay commands name the reproducers under `dir`.
    pub fn markdown(&self, dir: &Path) -> String {
        let mut md = format!("# Chaos: {}\n\n", self.scenario);
        md.push_str(&format!(
            "`hadr chaos {} --runs {} --seed {}`{}: {} run(s), {} held, {} failed.\n\n",
            self.base,
            self.runs,
            self.seed,
            self.shard
                .as_ref()
                .map(|s| format!(" (shard {s})"))
                .unwrap_or_default(),
            self.executed,
            self.passed,
            self.failed
        ));
        if !self.by_expectation.is_empty() {
            md.push_str(
                "## Failures by expectation\n\n| expectation | failing runs |\n|---|---|\n",
            );
            for (name, count) in &self.by_expectation {
                md.push_str(&format!("| {name} | {count} |\n"));
            }
            md.push('\n');
        }
        md.push_str("## Runs by fault kind\n\n| fault kind | runs | failed | in shrunk failures of |\n|---|---|---|---|\n");
        for (kind, count) in &self.by_fault_kind {
            let broke: Vec<String> = count
                .broke
                .iter()
                .map(|(e, n)| format!("{e} ({n})"))
                .collect();
            md.push_str(&format!(
                "| {kind} | {} | {} | {} |\n",
                count.runs,
                count.failed,
                broke.join(", ")
            ));
        }
        md.push('\n');
        if !self.failures.is_empty() {
            md.push_str("## Shrunk failures\n\n");
            for f in &self.failures {
                md.push_str(&format!(
                    "### run {}: {}\n\n{} fault(s) shrunk to {} in {} run(s), workload {}:\n\n",
                    f.run,
                    f.expectation,
                    f.faults_before,
                    f.faults.len(),
                    f.shrink_runs,
                    f.workload
                ));
                for fault in &f.faults {
                    md.push_str(&format!("- {fault}\n"));
                }
                let replayed = if f.replayed {
                    "fails the same way"
                } else {
                    "did NOT fail the same way"
                };
                md.push_str(&format!(
                    "\n{}\n\nReplay ({replayed}): `hadr run {}`\n\n",
                    f.replay_detail,
                    dir.join(&f.scenario_file).display()
                ));
            }
        }
        md
    }

    pub fn junit(&self) -> String {
        xml_safe(
            self.write_junit()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default(),
        )
    }

    fn write_junit(&self) -> io::Result<Vec<u8>> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let suite = format!("chaos {}", self.scenario);
        let classname = format!("hadr.chaos.{}", self.scenario);
        let (tests, failures) = (self.executed.to_string(), self.failed.to_string());
        let time = format!("{:.3}", self.wall_time_ms as f64 / 1000.0);
        let failures_by_run: BTreeMap<u64, &Failure> =
            self.failures.iter().map(|f| (f.run, f)).collect();
        w.create_element("testsuite")
            .with_attributes([
                ("name", suite.as_str()),
                ("tests", tests.as_str()),
                ("failures", failures.as_str()),
                ("errors", "0"),
                ("skipped", "0"),
                ("time", time.as_str()),
            ])
            .write_inner_content(|w| {
                for run in &self.run_results {
                    let name = format!("run {:03}", run.run);
                    let time = format!("{:.3}", run.wall_time_ms as f64 / 1000.0);
                    let case = w.create_element("testcase").with_attributes([
                        ("name", name.as_str()),
                        ("classname", classname.as_str()),
                        ("time", time.as_str()),
                    ]);
                    if run.passed {
                        case.write_empty()?;
                        continue;
                    }
                    case.write_inner_content(|w| {
                        let message = format!("failed: {}", run.failed.join(", "));
                        let mut body = format!("schedule: {}\n", run.faults.join("; "));
                        if let Some(f) = failures_by_run.get(&run.run) {
                            body.push_str(&format!(
                                "shrunk: {}\n{}\nreproducer: {}\n",
                                f.faults.join("; "),
                                f.detail,
                                f.scenario_file
                            ));
                        }
                        w.create_element("failure")
                            .with_attributes([("message", message.as_str()), ("type", "chaos")])
                            .write_text_content(BytesText::new(&body))?;
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        let mut bytes = w.into_inner();
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// A grid: one row per fault kind, one column per expectation; a cell is shaded by the
    /// shrunk failures whose schedule has the kind and fails the expectation.
    pub fn svg(&self) -> String {
        xml_safe(
            self.write_svg()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default(),
        )
    }

    fn write_svg(&self) -> io::Result<Vec<u8>> {
        let kinds: Vec<&str> = ChaosKind::ALL.iter().map(|k| k.name()).collect();
        let mut expectations: Vec<&str> = self.by_expectation.keys().map(String::as_str).collect();
        if expectations.is_empty() {
            expectations.push("(no failure)");
        }
        let (left, top, cell_w, cell_h) = (260.0, 90.0, 150.0, 36.0);
        let width = left + cell_w * expectations.len() as f64 + 20.0;
        let height = top + cell_h * kinds.len() as f64 + 40.0;
        let most = self
            .by_fault_kind
            .values()
            .flat_map(|k| k.broke.values())
            .copied()
            .max()
            .unwrap_or(0)
            .max(1);
        let (w_attr, h_attr) = (format!("{width:.0}"), format!("{height:.0}"));
        let view_box = format!("0 0 {width:.0} {height:.0}");
        let mut w = Writer::new(Vec::new());
        w.create_element("svg")
            .with_attributes([
                ("xmlns", "http://www.w3.org/2000/svg"),
                ("width", w_attr.as_str()),
                ("height", h_attr.as_str()),
                ("viewBox", view_box.as_str()),
                ("font-family", "sans-serif"),
                ("font-size", "12"),
            ])
            .write_inner_content(|w| {
                let title = format!(
                    "chaos {}: {} of {} runs failed (seed {}); cells: shrunk failures",
                    self.scenario, self.failed, self.executed, self.seed
                );
                text(w, 10.0, 24.0, "start", &title)?;
                for (column, expectation) in expectations.iter().enumerate() {
                    let x = left + cell_w * (column as f64 + 0.5);
                    text(w, x, top - 12.0, "middle", expectation)?;
                }
                for (row, kind) in kinds.iter().enumerate() {
                    let y = top + cell_h * row as f64;
                    let count = self.by_fault_kind.get(*kind).cloned().unwrap_or_default();
                    let label = format!("{kind} ({} runs, {} failed)", count.runs, count.failed);
                    text(w, 10.0, y + cell_h * 0.6, "start", &label)?;
                    for (column, expectation) in expectations.iter().enumerate() {
                        let n = count.broke.get(*expectation).copied().unwrap_or(0);
                        let x = left + cell_w * column as f64;
                        let lightness = 0.95 - 0.5 * n as f64 / most as f64;
                        let fill = if n == 0 {
                            "#f4f4f4".to_string()
                        } else {
                            hsl_hex(0.0, 0.7, lightness)
                        };
                        let (xs, ys) = (format!("{:.1}", x + 2.0), format!("{:.1}", y + 2.0));
                        let (ws, hs) = (
                            format!("{:.1}", cell_w - 4.0),
                            format!("{:.1}", cell_h - 4.0),
                        );
                        w.create_element("rect")
                            .with_attributes([
                                ("x", xs.as_str()),
                                ("y", ys.as_str()),
                                ("width", ws.as_str()),
                                ("height", hs.as_str()),
                                ("fill", fill.as_str()),
                            ])
                            .write_empty()?;
                        text(
                            w,
                            x + cell_w / 2.0,
                            y + cell_h * 0.6,
                            "middle",
                            &n.to_string(),
                        )?;
                    }
                }
                Ok(())
            })?;
        let mut bytes = w.into_inner();
        bytes.push(b'\n');
        Ok(bytes)
    }
}
