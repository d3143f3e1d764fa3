//! What a run produced, for people and for CI: report.json (the `Report` below), report.md
//! (markdown.rs), junit.xml (junit.rs) and timeline.svg (svg.rs).
//!
//! Everything but `wall_time_ms` (and JUnit's `time`, which is the same number) is a function
//! of the scenario and the history: the same seed gives byte-identical files. Fields keep
//! their declaration order; nothing iterates a hash map.

mod junit;
mod markdown;
mod summary;
pub(crate) mod svg;

pub use junit::junit_xml;
pub use markdown::markdown;
pub use summary::{summary_md, summary_table, SummaryRow};
pub use svg::timeline_svg;

use crate::checks::check;
use crate::checks::limits::{find_limits, LimitFinding};
use crate::checks::transactions::Stats;
use crate::checks::view::{as_run, describe_fault, fault_windows, peer_states, run_end_ms, Fate};
use crate::history::{EventKind, History, RoleHolder, StepOutcome, StepRecord, TimeMs};
use crate::scenario::layout::{ca_name, Role};
use crate::scenario::model::{Expectation, FaultKind, Limit, Procedure, Region, Scenario};
use crate::substrate::RunStopped;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// report.json.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub substrate: String,
    /// Every expectation held.
    pub passed: bool,
    pub expectations: Vec<ExpectationReport>,
    /// Every peer of the layout at the end of the run.
    pub peers: Vec<PeerReport>,
    pub faults: Vec<FaultReport>,
    pub stats: Stats,
    /// Simulated (or, on real substrates, recorded) time of the last event.
    pub sim_time_ms: TimeMs,
    /// The only wall-clock field.
    pub wall_time_ms: u64,
    /// The procedure's documented limits this run hit, whether or not an expectation names them.
    pub limits: Vec<LimitFinding>,
    /// The smallest time step latencies are measured in (the simulation tick on `sim`).
    pub latency_resolution_ms: f64,
    /// What the substrate says about how it ran the scenario (round trips not emulated...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub substrate_notes: Vec<String>,
    pub steps: StepsReport,
    pub network: NetworkReport,
    /// The scenario file as given on the command line.
    pub scenario_file: String,
    /// The command that replays this run.
    pub replay: String,
    /// Why the run stopped before its end (then it failed, whatever the checks say).
    pub stopped: Option<RunStopped>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectationReport {
    /// The `expect:` key, e.g. `ledger_in_sync`.
    pub name: String,
    /// Its parameters as written, e.g. `within: 60s` (empty when it has none).
    pub parameters: String,
    pub passed: bool,
    pub detail: String,
}

impl ExpectationReport {
    /// `transactions_continue (during_fault: 0, min_success_ratio: 0.95)`: unique per scenario
    /// in practice, used as the JUnit test case name.
    pub fn label(&self) -> String {
        if self.parameters.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, self.parameters)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerReport {
    pub name: String,
    pub region: String,
    pub msp_id: String,
    /// From the chain fetched at the end, else the last channel info; None if never observed.
    pub height: Option<u64>,
    pub tip_hash: Option<String>,
    /// `live`, `down` or `unobserved` (checks/view.rs).
    pub state: String,
    /// Why it is down or unobserved.
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultReport {
    pub index: usize,
    /// The `faults:` key: `region_outage`, `partition`, `one_way_partition`, `latency`,
    /// `node_crash`.
    pub kind: String,
    /// A region outage's mode: `lost`, `killed` or `cut`.
    pub mode: Option<String>,
    pub description: String,
    pub regions: Vec<String>,
    /// A fault aimed at a role: the role and the node that held it at `started_at_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleHolder>,
    /// As scheduled: offset from the start of the workload, and duration (None: to the end).
    pub planned_at_ms: u64,
    pub planned_duration_ms: Option<u64>,
    /// As it happened (None: it never started / never healed).
    pub started_at_ms: Option<TimeMs>,
    pub healed_at_ms: Option<TimeMs>,
    /// A region outage: from its start until every surviving peer stopped listing the
    /// region's peers (membership sampled every 5 s); None: not measured or never.
    pub membership_drop_ms: Option<TimeMs>,
    /// From its heal until every peer had the height the highest peer had at the heal
    /// (ledgers sampled every second); None: not measured or never.
    pub caught_up_ms: Option<TimeMs>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StepsReport {
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    /// The failed and skipped steps, in order, with their doc anchors.
    pub not_ok: Vec<StepRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkReport {
    /// In order: the first is cluster 1 of the procedure.
    pub regions: Vec<Region>,
    pub latency_source: String,
    pub latency_statistic: String,
    pub ordering_msp_id: String,
    pub ordering_nodes: Vec<String>,
    pub organizations: Vec<OrganizationReport>,
    pub channel: String,
    pub chaincode: String,
    pub procedure: Procedure,
    pub workload_rate_per_s: f64,
    pub workload_duration_ms: u64,
    /// One client application in each, in order.
    pub client_regions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrganizationReport {
    pub msp_id: String,
    pub home: String,
    pub regions: Vec<String>,
    pub peers_per_region: u32,
    /// Its only CA (the procedure's CAs are not multi-region).
    pub ca: String,
}

/// A duration the way scenario files write it: `3m`, `60s`, `250ms`.
pub fn human_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms > 0 && ms % 60_000 == 0 {
        format!("{}m", ms / 60_000)
    } else if ms > 0 && ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// An expectation's parameters as a scenario file writes them.
fn parameters(expectation: &Expectation) -> String {
    match expectation {
        Expectation::LedgerInSync { within } => format!("within: {}", human_duration(*within)),
        Expectation::NoLostTransactions | Expectation::CrossOrgGossip => String::new(),
        Expectation::TransactionsContinue {
            during_fault,
            min_success_ratio,
        } => format!("during_fault: {during_fault}, min_success_ratio: {min_success_ratio}"),
        Expectation::ConsoleFailover { failed_region } => format!("failed_region: {failed_region}"),
        Expectation::CommitLatency {
            during_fault,
            p99_below,
        } => {
            let bound = format!("p99_below: {}", human_duration(*p99_below));
            match during_fault {
                Some(index) => format!("during_fault: {index}, {bound}"),
                None => bound,
            }
        }
        Expectation::BlocksContinue { max_stall } => {
            format!("max_stall: {}", human_duration(*max_stall))
        }
        Expectation::DocumentedLimit { limit } => format!(
            "limit: {}",
            match limit {
                Limit::OrderingService => "ordering_service",
                Limit::CertificateAuthority => "certificate_authority",
            }
        ),
    }
}

fn peers_report(scenario: &Scenario, history: &History) -> Vec<PeerReport> {
    peer_states(scenario, history)
        .iter()
        .map(|p| {
            let tip = p.final_tip();
            let (state, note) = match &p.fate {
                Fate::Live => ("live", String::new()),
                Fate::Down { reason } => ("down", reason.clone()),
                Fate::Unobserved { reason } => ("unobserved", reason.clone()),
            };
            PeerReport {
                name: p.name().to_string(),
                region: p.spec.region.clone(),
                msp_id: p.spec.msp_id.clone().unwrap_or_default(),
                height: tip.map(|(h, _)| h),
                tip_hash: tip.map(|(_, hash)| hash.to_string()),
                state: state.to_string(),
                note,
            }
        })
        .collect()
}

fn faults_report(scenario: &Scenario, history: &History) -> Vec<FaultReport> {
    let windows = fault_windows(history);
    scenario
        .faults
        .iter()
        .enumerate()
        .map(|(index, fault)| {
            let happened = windows.iter().find(|w| w.record.index == index);
            let (description, regions) = match happened {
                Some(w) => (w.record.description.clone(), w.record.regions.clone()),
                None => describe_fault(&fault.kind),
            };
            FaultReport {
                index,
                kind: fault.kind.name().to_string(),
                mode: match &fault.kind {
                    FaultKind::RegionOutage { mode, .. } => Some(mode.name().to_string()),
                    _ => None,
                },
                description,
                regions,
                role: happened.and_then(|w| w.record.role.clone()),
                planned_at_ms: fault.at.as_millis() as u64,
                planned_duration_ms: fault.duration.map(|d| d.as_millis() as u64),
                started_at_ms: happened.map(|w| w.start_ms),
                healed_at_ms: happened.and_then(|w| w.heal_ms),
                membership_drop_ms: match (&fault.kind, happened) {
                    (FaultKind::RegionOutage { region, .. }, Some(w)) => {
                        crate::checks::recovery::membership_drop_ms(
                            history,
                            std::slice::from_ref(region),
                            w.start_ms,
                            w.heal_ms.unwrap_or(TimeMs::MAX),
                        )
                    }
                    _ => None,
                },
                caught_up_ms: happened
                    .and_then(|w| w.heal_ms)
                    .and_then(|heal| crate::checks::recovery::caught_up_ms(history, heal)),
            }
        })
        .collect()
}

fn steps_report(history: &History) -> StepsReport {
    let mut steps = StepsReport::default();
    for (_, step) in history.iter(|k| match k {
        EventKind::Step(s) => Some(s),
        _ => None,
    }) {
        match step.outcome {
            StepOutcome::Ok => steps.ok += 1,
            StepOutcome::Failed => steps.failed += 1,
            StepOutcome::Skipped => steps.skipped += 1,
        }
        if step.outcome != StepOutcome::Ok {
            steps.not_ok.push(step.clone());
        }
    }
    steps
}

fn network_report(scenario: &Scenario) -> NetworkReport {
    let topology = &scenario.topology;
    NetworkReport {
        regions: topology.regions.clone(),
        latency_source: topology.latency.source.clone(),
        latency_statistic: topology.latency.statistic.clone(),
        ordering_msp_id: topology.ordering_service.msp_id.clone(),
        ordering_nodes: scenario
            .layout()
            .into_iter()
            .filter(|n| n.role == Role::Orderer)
            .map(|n| n.name)
            .collect(),
        organizations: topology
            .organizations
            .iter()
            .map(|o| OrganizationReport {
                msp_id: o.msp_id.clone(),
                home: o.home.clone(),
                regions: o.regions.clone(),
                peers_per_region: o.peers_per_region,
                ca: ca_name(&o.msp_id, &o.home),
            })
            .collect(),
        channel: topology.channel.name.clone(),
        chaincode: format!(
            "{} {}",
            topology.channel.chaincode.name, topology.channel.chaincode.version
        ),
        procedure: scenario.procedure.clone(),
        workload_rate_per_s: scenario.workload.rate_per_s,
        workload_duration_ms: scenario.workload.duration.as_millis() as u64,
        client_regions: scenario.workload.clients.clone(),
    }
}

/// `hadr run <file> --seed N` (with `--substrate` unless it is the default `sim`).
pub fn replay_command(scenario: &Scenario, substrate: &str) -> String {
    let mut command = format!(
        "hadr run {} --seed {}",
        scenario.source.display(),
        scenario.seed
    );
    if substrate != "sim" {
        command.push_str(&format!(" --substrate {substrate}"));
    }
    command
}

impl Report {
    /// Runs every expectation of `scenario` on `history` and gathers what the reports show.
    /// `substrate` is the substrate's CLI name (`sim`, `containers`, `kind`). The latency
    /// resolution is the history's millisecond until the substrate's own fact replaces it
    /// (the runner does, from [`RunOutput`](crate::substrate::RunOutput)).
    pub fn build(
        scenario: &Scenario,
        history: &History,
        substrate: &str,
        wall_time_ms: u64,
    ) -> Report {
        // Checks judge what the faults hit, role targets included.
        let as_run = as_run(scenario, history);
        let scenario: &Scenario = &as_run;
        let limits = find_limits(scenario, history);
        let expectations: Vec<ExpectationReport> = scenario
            .expect
            .iter()
            .map(|e| {
                let result = check(scenario, history, e, &limits);
                ExpectationReport {
                    name: e.name().to_string(),
                    parameters: parameters(e),
                    passed: result.passed,
                    detail: result.detail,
                }
            })
            .collect();
        let steps = steps_report(history);
        let latency_resolution_ms = 1.0;
        Report {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            substrate: substrate.to_string(),
            // A procedure that stopped at a failed step fails the run whatever the checks say.
            passed: expectations.iter().all(|e| e.passed) && steps.failed == 0,
            expectations,
            peers: peers_report(scenario, history),
            faults: faults_report(scenario, history),
            stats: Stats::from_history(history),
            sim_time_ms: run_end_ms(history),
            wall_time_ms,
            limits,
            latency_resolution_ms,
            substrate_notes: Vec::new(),
            steps,
            network: network_report(scenario),
            scenario_file: scenario.source.display().to_string(),
            replay: replay_command(scenario, substrate),
            stopped: None,
        }
    }

    /// Marks the run as stopped early: it fails, and the reports lead with why.
    pub fn stop(&mut self, stopped: RunStopped) {
        self.passed = false;
        self.stopped = Some(stopped);
    }

    /// report.json: pretty-printed, fields in declaration order, a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes report.json, report.md, junit.xml and timeline.svg into `out_dir` (created if
/// needed), with the run's history as history.jsonl (one event per line, for replaying
/// the checks or digging into a failure), and returns their paths.
pub fn write_all(
    out_dir: &Path,
    report: &Report,
    history: &History,
) -> Result<Vec<PathBuf>, ReportError> {
    let fail = |path: &Path, source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out_dir).map_err(|e| fail(out_dir, e))?;
    let files = [
        ("report.json", report.to_json()),
        ("report.md", markdown(report)),
        ("junit.xml", junit_xml(&[report])),
        ("timeline.svg", timeline_svg(report, history)),
        ("history.jsonl", history_jsonl(history)),
    ];
    let mut written = Vec::new();
    for (name, contents) in files {
        let path = out_dir.join(name);
        std::fs::write(&path, contents).map_err(|e| fail(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// One report folder name per scenario name, in order: safe on every file system (letters,
/// digits, `.`, `_` and `-`; no leading dot, so never `.` or `..`; at most 64 characters) and
/// unique (a repeated name gets `-2`, `-3`, ...), so no run writes outside `--out` or over
/// another.
pub fn folder_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::BTreeSet::new();
    names
        .into_iter()
        .map(|name| {
            let mut slug = String::new();
            for c in name.chars() {
                let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                };
                if !(c == '-' && slug.ends_with('-')) {
                    slug.push(c);
                }
            }
            let slug: String = slug
                .trim_start_matches(['.', '-'])
                .trim_end_matches('-')
                .chars()
                .take(64)
                .collect();
            let base = if slug.is_empty() {
                "scenario".to_string()
            } else {
                slug
            };
            let mut candidate = base.clone();
            let mut n = 1;
            while !taken.insert(candidate.to_ascii_lowercase()) {
                n += 1;
                candidate = format!("{base}-{n}");
            }
            candidate
        })
        .collect()
}

/// `document` with the characters XML 1.0 cannot hold (controls other than tab and line ends)
/// written as `\u{..}` text. Scenario names and descriptions are refused with them, but
/// details quote what nodes and consoles answered.
pub(crate) fn xml_safe(document: String) -> String {
    let allowed = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if document.chars().all(allowed) {
        return document;
    }
    document
        .chars()
        .map(|c| {
            if allowed(c) {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

/// The history, one JSON event per line.
pub fn history_jsonl(history: &History) -> String {
    let mut text = String::new();
    for event in &history.events {
        text.push_str(&serde_json::to_string(event).expect("events serialize"));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::three_region_scenario;

    #[test]
    fn durations_read_like_scenario_files() {
        assert_eq!(human_duration(Duration::from_secs(180)), "3m");
        assert_eq!(human_duration(Duration::from_secs(90)), "90s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(human_duration(Duration::ZERO), "0ms");
    }

    #[test]
    fn the_replay_command_names_a_substrate_other_than_sim() {
        let scenario = three_region_scenario();
        assert_eq!(
            replay_command(&scenario, "sim"),
            "hadr run scenarios/multi-region-ha.yaml --seed 1"
        );
        assert_eq!(
            replay_command(&scenario, "containers"),
            "hadr run scenarios/multi-region-ha.yaml --seed 1 --substrate containers"
        );
    }

    #[test]
    fn expectation_parameters_are_written_as_in_the_scenario() {
        let scenario = three_region_scenario();
        let written: Vec<String> = scenario.expect.iter().map(parameters).collect();
        assert_eq!(
            written,
            [
                "within: 1m",
                "",
                "during_fault: 0, min_success_ratio: 0.95",
                "",
                "failed_region: us-west"
            ]
        );
    }

    #[test]
    fn report_folders_stay_inside_the_output_and_apart() {
        assert_eq!(
            folder_names([
                "multi-region-ha",
                "/etc/cron.d",
                "..",
                "a/b",
                "Multi-Region-HA",
                "",
                "x y"
            ]),
            [
                "multi-region-ha",
                "etc-cron.d",
                "scenario",
                "a-b",
                "Multi-Region-HA-2",
                "scenario-2",
                "x-y"
            ]
        );
        let long = "n".repeat(300);
        assert_eq!(folder_names([long.as_str()])[0].len(), 64);
    }

    #[test]
    fn xml_reports_stay_well_formed_whatever_a_detail_quotes() {
        let scenario = three_region_scenario();
        let history = crate::checks::testkit::synthetic_run(&scenario);
        let mut report = Report::build(&scenario, &history, "sim", 1);
        report.expectations[0].passed = false;
        report.expectations[0].detail = "a console said \u{1b}[31mno\u{0} <&>".to_string();
        for document in [junit_xml(&[&report]), timeline_svg(&report, &history)] {
            assert!(!document
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')));
            let mut reader = quick_xml::Reader::from_str(&document);
            loop {
                match reader.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("not well-formed: {e}"),
                }
            }
        }
        assert!(junit_xml(&[&report]).contains("\\u{1b}[31mno"));
    }

    #[test]
    fn a_fault_that_never_started_is_still_reported() {
        let scenario = three_region_scenario();
        let faults = faults_report(&scenario, &History::default());
        assert_eq!(faults[0].description, "region outage us-west (lost)");
        assert_eq!(faults[0].started_at_ms, None);
        assert_eq!(faults[0].planned_at_ms, 120_000);
    }
}
