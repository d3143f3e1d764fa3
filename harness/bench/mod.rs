//! Region-choice comparisons (`hadr bench regions`): for each candidate triple of locations,
//! the documented network (or a template's) runs on the sim at its finest tick (dilated
//! where a round trip needs it: dilation.rs), once steady and once losing a region for two
//! minutes, over several seeds (the seed places the
//! first Raft leader, as elections leave it in a real network). The figures come from the
//! runs' histories (figures.rs); beside each, what the latency table alone says
//! (arithmetic.rs); ranked and written as a table, JSON and SVG (output.rs).

pub mod arithmetic;
pub mod dilation;
pub mod figures;
pub mod output;

use crate::checks::transactions::percentile;
use crate::fabric::config::Value;
use crate::scenario::diagnostic::{did_you_mean, one_of, Diagnostic, Position};
use crate::scenario::latency::{built_in_names, find_fixture, parse_fixture};
use crate::scenario::model::{
    Fault, FaultKind, FirstLeader, LatencyMatrix, OutageMode, Scenario, Simulation,
};
use crate::scenario::{duration, ScenarioError};
use crate::substrate::Substrate;
use figures::{FloorViolation, Outage, Steady};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The network measured without `--template`: the documented one, built directly.
pub const DEFAULT_TEMPLATE_PATH: &str = "scenarios/bench-regions.yaml";
const DEFAULT_TEMPLATE: &str = include_str!("../../scenarios/bench-regions.yaml");

/// Defaults chosen so that `--from` over nine locations (84 triples) finishes on a 2-core
/// machine in minutes: a short steady window, two seeds.
pub const DEFAULT_SEEDS: u64 = 2;
/// Every seed is two runs of every candidate: beyond this a request is a mistake.
pub const MAX_SEEDS: u64 = 100;
pub const DEFAULT_DURATION: Duration = Duration::from_secs(20);
pub const DEFAULT_RATE: f64 = 10.0;
/// The sim's finest step: every latency is resolved to it, or to a fraction of it where the
/// steady run is dilated.
pub const TICK: Duration = Duration::from_millis(1);
/// The outage run's tick: its figures (elections, catch-up) are seconds long, so 10 ms
/// resolves them to well under 1 % at a tenth of the cost of 1 ms.
pub const OUTAGE_TICK: Duration = Duration::from_millis(10);
/// The resolution the figures should have, as a share of the smallest round trip.
pub const RESOLUTION_TARGET: f64 = 0.05;
/// The outage run: the region is lost this long after the workload starts, for this long,
/// and the load goes on this long after the heal.
pub const OUTAGE_AT: Duration = Duration::from_secs(10);
pub const OUTAGE_FOR: Duration = Duration::from_secs(120);
const AFTER_HEAL: Duration = Duration::from_secs(10);
/// Room for setup and settling beyond the workload.
const SETTLING: Duration = Duration::from_secs(600);

/// Where the ordering nodes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// One ordering node in each region of the triple.
    Spread,
    /// Three ordering nodes, all in the first region (the doc's ordering service).
    First,
}

/// What the command line asks, as typed.
#[derive(Clone, Debug)]
pub struct Request {
    pub latency: PathBuf,
    /// `--candidates` values, each `A,B,C`.
    pub candidates: Vec<String>,
    /// `--from L1,...,Ln`.
    pub from: Option<String>,
    pub ordering: Placement,
    pub template: Option<PathBuf>,
    pub rate: f64,
    pub batch_timeout: Option<String>,
    pub duration: String,
    pub seeds: u64,
    pub jobs: usize,
}

/// A checked request: what runs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The fixture as given, and what its numbers are.
    pub fixture: String,
    pub statistic: String,
    pub table: LatencyMatrix,
    pub candidates: Vec<[String; 3]>,
    pub placement: Placement,
    /// The template scenario (locations, ordering nodes, load and faults replaced per run).
    pub base: Scenario,
    pub template: String,
    pub rate: f64,
    pub duration: Duration,
    pub seeds: u64,
    pub jobs: usize,
}

/// A problem with one flag's value, shown like a scenario error with the flag's text as
/// the source line and a caret under the part that is wrong.
fn flag_error(
    flag: &str,
    value: &str,
    part: Option<(usize, usize)>,
    message: impl Into<String>,
    expected: impl Into<String>,
    hint: impl Into<String>,
) -> Diagnostic {
    let (start, width) = part.unwrap_or((0, value.chars().count().max(1)));
    Diagnostic {
        path: flag.to_string(),
        position: Some(Position {
            line: 1,
            column: (flag.chars().count() + 2 + start) as u64,
            width: width as u64,
        }),
        message: message.into(),
        expected: expected.into(),
        hint: hint.into(),
        source_line: Some(format!("{flag} {value}")),
    }
}

/// Checks `request` against its fixture and template.
pub fn plan(request: &Request) -> Result<Plan, ScenarioError> {
    let fixture = request.latency.display().to_string();
    let file = find_fixture(&fixture, Some(Path::new("."))).unwrap_or_else(|| {
        Err(flag_error(
            "--latency",
            &fixture,
            None,
            format!("no latency fixture `{fixture}`"),
            "a JSON latency table (see fixtures/latency/)",
            format!(
                "built in: {}",
                built_in_names().collect::<Vec<_>>().join(", ")
            ),
        )
        .into())
    })?;
    let loaded = parse_fixture(&file, &fixture)?;
    let locations: Vec<&str> = loaded.locations.keys().map(String::as_str).collect();
    let mut problems = Vec::new();
    let mut candidates = Vec::new();
    if let Some(from) = &request.from {
        match parse_locations("--from", from, &locations, &fixture) {
            Ok(list) if list.len() < 3 => problems.push(flag_error(
                "--from",
                from,
                None,
                format!(
                    "`{from}` has {} location(s); a triple needs three",
                    list.len()
                ),
                "three or more different locations, separated by commas",
                format!("for example --from {}", locations.join(",")),
            )),
            Ok(list) => candidates = triples(&list),
            Err(problem) => problems.push(*problem),
        }
    }
    for value in &request.candidates {
        match parse_locations("--candidates", value, &locations, &fixture) {
            Ok(list) if list.len() != 3 => problems.push(flag_error(
                "--candidates",
                value,
                None,
                format!(
                    "`{value}` has {} location(s); a candidate is three",
                    list.len()
                ),
                "three different locations separated by commas, e.g. eastus,westus,canadacentral",
                "separate candidates with spaces: --candidates A,B,C D,E,F",
            )),
            Ok(list) => {
                let triple = [list[0].clone(), list[1].clone(), list[2].clone()];
                let same = |other: &[String; 3]| {
                    BTreeSet::from_iter(other.iter()) == BTreeSet::from_iter(triple.iter())
                };
                if let Some(earlier) = candidates.iter().find(|c| same(c)) {
                    problems.push(flag_error(
                        "--candidates",
                        value,
                        None,
                        format!("`{value}` is the same triple as `{}`", earlier.join(",")),
                        "each candidate once",
                        "leave out the repeated candidate",
                    ));
                } else {
                    candidates.push(triple);
                }
            }
            Err(problem) => problems.push(*problem),
        }
    }
    for candidate in &candidates {
        let missing = [(0, 1), (0, 2), (1, 2)]
            .into_iter()
            .find(|&(a, b)| loaded.matrix.rtt(&candidate[a], &candidate[b]).is_none());
        if let Some((a, b)) = missing {
            problems.push(flag_error(
                "--latency",
                &fixture,
                None,
                format!(
                    "{fixture} has no round trip between `{}` and `{}` (candidate {})",
                    candidate[a],
                    candidate[b],
                    candidate.join(",")
                ),
                "a round trip for every pair of a candidate's locations",
                "add the pair to the fixture's `rtt_ms`, or leave the candidate out",
            ));
        }
    }
    if request.seeds == 0 {
        problems.push(flag_error(
            "--seeds",
            "0",
            None,
            "no seed to run",
            "a whole number of seeds, at least 1",
            format!("--seeds {DEFAULT_SEEDS} (the default) places the Raft leader twice"),
        ));
    }
    if request.seeds > MAX_SEEDS {
        problems.push(flag_error(
            "--seeds",
            &request.seeds.to_string(),
            None,
            format!("{} seeds is more than the bench runs", request.seeds),
            format!("at most {MAX_SEEDS} seeds per candidate"),
            format!("--seeds {DEFAULT_SEEDS} (the default); more seeds narrow the leader-placement spread slowly"),
        ));
    }
    if request.jobs == 0 {
        problems.push(flag_error(
            "--jobs",
            "0",
            None,
            "no job to run the candidates",
            "at least 1",
            "leave --jobs out to use every core",
        ));
    }
    if !(request.rate.is_finite() && request.rate > 0.0 && request.rate <= 1000.0) {
        problems.push(flag_error(
            "--rate",
            &request.rate.to_string(),
            None,
            "the rate is not a number of transactions per second the sim takes",
            "more than 0 and at most 1000",
            format!("--rate {DEFAULT_RATE} (the default)"),
        ));
    }
    let window = parse_duration("--duration", &request.duration, Duration::from_secs(3600))
        .map_err(|p| problems.push(*p))
        .ok();
    let batch_timeout = request.batch_timeout.as_ref().and_then(|text| {
        parse_duration("--batch-timeout", text, Duration::from_secs(3600))
            .map_err(|p| problems.push(*p))
            .ok()
    });
    let (mut base, template) = match &request.template {
        Some(path) => (crate::scenario::load(path)?, path.display().to_string()),
        None => (
            crate::scenario::parse(DEFAULT_TEMPLATE, Path::new(DEFAULT_TEMPLATE_PATH))
                .expect("the built-in bench template is valid"),
            DEFAULT_TEMPLATE_PATH.to_string(),
        ),
    };
    if base.topology.regions.len() != 3 {
        problems.push(Diagnostic {
            path: template.clone(),
            position: None,
            message: format!(
                "the template has {} region(s); a candidate places three",
                base.topology.regions.len()
            ),
            expected: "a scenario with three regions under `topology.regions`".into(),
            hint: format!("start from {DEFAULT_TEMPLATE_PATH}"),
            source_line: None,
        });
    }
    if !problems.is_empty() {
        return Err(ScenarioError {
            diagnostics: problems,
        });
    }
    if let Some(timeout) = batch_timeout {
        base.topology
            .fabric
            .set("Orderer.BatchTimeout", Value::Duration(timeout))
            .expect("Orderer.BatchTimeout takes a duration");
    }
    Ok(Plan {
        fixture,
        statistic: loaded.matrix.statistic.clone(),
        table: loaded.matrix,
        candidates,
        placement: request.ordering,
        base,
        template,
        rate: request.rate,
        duration: window.expect("checked above"),
        seeds: request.seeds,
        jobs: request.jobs,
    })
}

fn parse_duration(flag: &str, text: &str, max: Duration) -> Result<Duration, Box<Diagnostic>> {
    match duration::parse(text) {
        Ok(d) if !d.is_zero() && d <= max => Ok(d),
        Ok(_) => Err(Box::new(flag_error(
            flag,
            text,
            None,
            format!("`{text}` is out of range"),
            format!("more than zero and at most {}", duration::format(max)),
            "for example 2s or 500ms",
        ))),
        Err(why) => Err(Box::new(flag_error(
            flag,
            text,
            None,
            format!("`{text}` is not a duration: {why}"),
            "a whole number with a unit: ms, s, m or h (e.g. 2s, 250ms, 1m30s)",
            "for example 2s or 500ms",
        ))),
    }
}

/// Comma-separated locations of the fixture, each once.
fn parse_locations(
    flag: &str,
    value: &str,
    known: &[&str],
    fixture: &str,
) -> Result<Vec<String>, Box<Diagnostic>> {
    let mut list: Vec<String> = Vec::new();
    let mut start = 0;
    for part in value.split(',') {
        let width = part.chars().count();
        let at = Some((start, width.max(1)));
        start += width + 1;
        let name = part.trim();
        if name.is_empty() {
            return Err(Box::new(flag_error(
                flag,
                value,
                at,
                "an empty location",
                "locations separated by single commas, without spaces",
                "for example eastus,westus,canadacentral",
            )));
        }
        if !known.contains(&name) {
            return Err(Box::new(flag_error(
                flag,
                value,
                at,
                format!("`{name}` is not a location of {fixture}"),
                one_of(known.iter().copied()),
                did_you_mean(
                    name,
                    known.iter().copied(),
                    "use the fixture's location codes",
                ),
            )));
        }
        if list.iter().any(|l| l == name) {
            return Err(Box::new(flag_error(
                flag,
                value,
                at,
                format!("`{name}` is named twice"),
                "different locations: a region is lost on its own",
                format!("name `{name}` once"),
            )));
        }
        list.push(name.to_string());
    }
    Ok(list)
}

/// Every triple of `locations`, in their order.
fn triples(locations: &[String]) -> Vec<[String; 3]> {
    let mut all = Vec::new();
    for i in 0..locations.len() {
        for j in i + 1..locations.len() {
            for k in j + 1..locations.len() {
                all.push([
                    locations[i].clone(),
                    locations[j].clone(),
                    locations[k].clone(),
                ]);
            }
        }
    }
    all
}

/// Which of a seed's two runs.
#[derive(Clone, Debug)]
pub enum RunKind {
    Steady,
    /// The region (the template's name) is lost for [`OUTAGE_FOR`].
    Outage {
        region: String,
    },
}

/// The smallest round trip between the locations of `candidate`, in ms.
pub fn smallest_rtt_ms(table: &LatencyMatrix, candidate: &[String; 3]) -> f64 {
    [(0, 1), (0, 2), (1, 2)]
        .into_iter()
        .filter_map(|(a, b)| table.rtt(&candidate[a], &candidate[b]))
        .map(|rtt| rtt.as_secs_f64() * 1000.0)
        .fold(f64::INFINITY, f64::min)
}

/// How much `candidate`'s steady run is dilated: enough for [`TICK`] to resolve its
/// smallest round trip to [`RESOLUTION_TARGET`].
pub fn dilation_for(plan: &Plan, candidate: &[String; 3]) -> u32 {
    dilation::factor_for(
        TICK.as_secs_f64() * 1000.0,
        smallest_rtt_ms(&plan.table, candidate),
        RESOLUTION_TARGET,
    )
}

/// The scenario of one run of `candidate` (the steady one dilated by
/// [`dilation_for`]).
pub fn scenario_for(plan: &Plan, candidate: &[String; 3], seed: u64, kind: &RunKind) -> Scenario {
    let mut scenario = plan.base.clone();
    scenario.seed = seed;
    scenario.topology.latency = plan.table.clone();
    for (region, location) in scenario.topology.regions.iter_mut().zip(candidate) {
        region.location = location.clone();
    }
    let names = scenario.topology.region_names();
    let ordering = &mut scenario.topology.ordering_service;
    ordering.nodes = match plan.placement {
        Placement::Spread => names.clone(),
        Placement::First => vec![names[0].clone(); 3],
    };
    ordering.first_leader = FirstLeader::Seeded;
    scenario.workload.rate_per_s = plan.rate;
    scenario.expect.clear();
    let workload = &mut scenario.workload;
    match kind {
        RunKind::Steady => {
            workload.duration = plan.duration;
            workload.clients = vec![names[0].clone()];
            scenario.faults.clear();
        }
        RunKind::Outage { region } => {
            workload.duration = OUTAGE_AT + OUTAGE_FOR + AFTER_HEAL;
            // The client stays up, so the survivors have transactions to order.
            workload.clients = names
                .iter()
                .find(|name| *name != region)
                .cloned()
                .into_iter()
                .collect();
            scenario.faults = vec![Fault {
                at: OUTAGE_AT,
                duration: Some(OUTAGE_FOR),
                kind: FaultKind::RegionOutage {
                    region: region.clone(),
                    mode: OutageMode::Lost,
                },
            }];
        }
    }
    scenario.simulation = Simulation {
        tick: match kind {
            RunKind::Steady => TICK,
            RunKind::Outage { .. } => OUTAGE_TICK,
        },
        max_duration: scenario.workload.duration + SETTLING,
        node_logs: true,
    };
    if let RunKind::Steady = kind {
        dilation::dilate(&mut scenario, dilation_for(plan, candidate));
    }
    scenario
}

/// One seed of one candidate: both runs' figures with the scenarios they came from.
#[derive(Clone, Debug)]
pub struct SeedRun {
    pub seed: u64,
    /// The steady run's scenario and figures, in its dilated time (figures in ms of the
    /// run, `dilation` times the real network's).
    pub steady_scenario: Scenario,
    pub steady: Steady,
    pub dilation: u32,
    pub outage_scenario: Scenario,
    pub outage: Outage,
    pub latency_resolution_ms: f64,
}

/// Runs seed `seed` of `candidate`: the steady run, then the loss of the region holding
/// its leader (with `first`, of the second region: the first holds every ordering node).
pub fn run_seed(plan: &Plan, candidate: &[String; 3], seed: u64) -> Result<SeedRun, String> {
    let sim = crate::substrate::sim::Sim;
    let steady_scenario = scenario_for(plan, candidate, seed, &RunKind::Steady);
    let run = |scenario: &Scenario| {
        let output = sim
            .run(scenario, &crate::runner::progress::Silent)
            .map_err(|e| e.to_string())?;
        match output.stopped {
            Some(stopped) => Err(stopped.message),
            None => Ok(output),
        }
    };
    let output = run(&steady_scenario)?;
    let dilation = dilation_for(plan, candidate);
    let latency_resolution_ms = output.latency_resolution_ms / f64::from(dilation);
    let steady = figures::steady(&steady_scenario, &output.history);
    let names: Vec<&str> = steady_scenario
        .topology
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    let lost = match (plan.placement, &steady.leader) {
        (Placement::Spread, Some(leader)) => crate::scenario::layout::region_of(leader).to_string(),
        _ => names[1].to_string(),
    };
    let outage_scenario = scenario_for(
        plan,
        candidate,
        seed,
        &RunKind::Outage {
            region: lost.clone(),
        },
    );
    let output = run(&outage_scenario)?;
    let outage = figures::outage(&output.history, &lost);
    Ok(SeedRun {
        seed,
        steady_scenario,
        steady,
        dilation,
        outage_scenario,
        outage,
        latency_resolution_ms,
    })
}

/// What a job reports while the bench runs.
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub candidate: &'a [String; 3],
    pub seed: u64,
    pub wall: Duration,
}

/// Runs every seed of every candidate on `plan.jobs` threads and ranks the candidates.
pub fn run(plan: &Plan, progress: &(dyn Fn(Progress) + Sync)) -> Result<output::Bench, String> {
    let wall = Instant::now();
    let jobs: Vec<(usize, u64)> = (0..plan.candidates.len())
        .flat_map(|c| (1..=plan.seeds).map(move |seed| (c, seed)))
        .collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<(usize, u64), Result<SeedRun, String>>> =
        Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..plan.jobs.min(jobs.len()).max(1) {
            scope.spawn(|| loop {
                let Some(&(candidate, seed)) = jobs.get(next.fetch_add(1, AtomicOrdering::SeqCst))
                else {
                    return;
                };
                let started = Instant::now();
                let result = run_seed(plan, &plan.candidates[candidate], seed);
                let finished = done.fetch_add(1, AtomicOrdering::SeqCst) + 1;
                progress(Progress {
                    done: finished,
                    total: jobs.len(),
                    candidate: &plan.candidates[candidate],
                    seed,
                    wall: started.elapsed(),
                });
                results
                    .lock()
                    .expect("a job panicked")
                    .insert((candidate, seed), result);
            });
        }
    });
    let mut by_candidate: BTreeMap<usize, Vec<SeedRun>> = BTreeMap::new();
    for ((candidate, seed), result) in results.into_inner().expect("a job panicked") {
        let run = result.map_err(|why| {
            format!(
                "{} seed {seed}: the run stopped: {why}",
                plan.candidates[candidate].join(",")
            )
        })?;
        by_candidate.entry(candidate).or_default().push(run);
    }
    let candidates = by_candidate
        .into_iter()
        .map(|(index, runs)| output::summarise(plan, &plan.candidates[index], &runs))
        .collect();
    Ok(output::Bench::ranked(plan, candidates, wall.elapsed()))
}

/// Nearest-rank percentiles of `samples` (any order), in real milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub min: Option<f64>,
    pub samples: usize,
}

impl Percentiles {
    /// Of samples in ms of a run dilated by `dilation` (1: real time).
    pub fn of(mut samples: Vec<u64>, dilation: u32) -> Percentiles {
        samples.sort_unstable();
        let real = |ms: Option<u64>| ms.map(|ms| ms as f64 / f64::from(dilation));
        Percentiles {
            p50: real(percentile(&samples, 50.0)),
            p95: real(percentile(&samples, 95.0)),
            p99: real(percentile(&samples, 99.0)),
            min: real(samples.first().copied()),
            samples: samples.len(),
        }
    }
}

/// The mean of `values`, None when there are none.
pub fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values
        .into_iter()
        .fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    (count > 0).then(|| sum / count as f64)
}

/// Transactions below their physical floor, over every seed, in real milliseconds.
pub fn floor_violations(runs: &[SeedRun]) -> Vec<FloorViolation> {
    runs.iter()
        .flat_map(|run| {
            let k = f64::from(run.dilation);
            figures::below_floor(&run.steady_scenario, &run.steady)
                .into_iter()
                .map(move |v| FloorViolation {
                    commit_ms: v.commit_ms / k,
                    floor_ms: v.floor_ms / k,
                    ..v
                })
        })
        .collect()
}
