//! The `hadr` command line: parse, call the library, print, exit with the contract's code.
//!
//! Exit codes (scripts and CI depend on them): 0 everything held, 1 an expectation (or a doc
//! check) failed, 2 invalid input or usage, 3 the substrate is unavailable.

use crate::history::StepOutcome;
use crate::procedure::{self, check};
use crate::scenario::{self, Scenario, ScenarioError};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// Output that never panics: a closed pipe (`hadr procedure show | head`) or a closed terminal
// ends the output quietly instead of aborting the command.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod chaos;
mod containers;
mod kind;
mod progress;

/// The contract's exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Ok = 0,
    ExpectationFailed = 1,
    InvalidInput = 2,
    SubstrateUnavailable = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

const ABOUT: &str =
    "Test harness and deterministic simulation for Hyperledger Fabric multi-region HA";

const LONG_ABOUT: &str = "\
hadr runs the IBM Blockchain Platform console's multi-region high-availability procedure as a \
scenario (three regions, one console each), injects region outages, partitions and latency, and \
checks that ledgers stay in sync, gossip keeps organizations connected and the surviving consoles \
still manage every node.";

#[derive(Debug, Parser)]
#[command(name = "hadr", version, about = ABOUT, long_about = LONG_ABOUT)]
#[command(after_help = concat!(
    "Examples:\n",
    "  hadr validate scenarios/*.yaml\n",
    "  hadr procedure show --scenario scenarios/multi-region-ha.yaml\n",
    "  hadr procedure check ../shared/seeds/*.txt\n",
    "  hadr run scenarios/multi-region-ha.yaml --out target/hadr\n\n",
    "Exit codes:\n",
    "  0  every expectation held (or every file is valid / covered)\n",
    "  1  an expectation failed (or the runbook does not cover a doc)\n",
    "  2  invalid input or usage\n",
    "  3  the substrate is unavailable"
))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios on a substrate and write their reports
    #[command(after_help = concat!(
        "Example:\n",
        "  hadr run scenarios/multi-region-ha.yaml --substrate sim --seed 7 --out target/hadr\n",
        "  hadr run scenarios/multi-region-ha.yaml --substrate kind --dry-run --out target/hadr/kind\n\n",
        "Writes DIR/report.json, DIR/report.md, DIR/junit.xml and DIR/timeline.svg; with several\n",
        "scenarios, each in DIR/<scenario>/, with DIR/summary.md and a combined DIR/junit.xml.\n",
        "Progress goes to stderr (a bar on a terminal, lines otherwise; --quiet: none).\n",
        "With --dry-run (kind, kubernetes): DIR/plan/, every kind config, manifest, command and\n",
        "fault action in order; nothing is applied.\n",
        "Exit 0 when every expectation holds, 1 when one fails, 2 for an invalid scenario,\n",
        "3 when the substrate is unavailable or cannot do what the scenario asks."
    ))]
    Run(RunArgs),

    /// Check scenario files without running them
    #[command(after_help = concat!(
        "Example:\n",
        "  hadr validate scenarios/*.yaml\n\n",
        "Prints one line per valid file; for an invalid one, every problem with its\n",
        "file:line:column, what was expected and a hint. Exit 0 when all are valid, 2 otherwise."
    ))]
    Validate {
        /// Scenario files (YAML)
        #[arg(required = true, value_name = "SCENARIO")]
        scenarios: Vec<PathBuf>,
    },

    /// The documented runbook: print it, or check it against published translations
    #[command(subcommand)]
    Procedure(ProcedureCommand),

    /// A mock fabric-operations-console, for testing your own automation against it
    #[command(subcommand)]
    Console(ConsoleCommand),

    /// Random fault schedules over many runs; failures shrunk to replayable scenarios
    Chaos(chaos::ChaosArgs),

    /// Run a scenario once per procedure mutation: which documented step matters
    Mutate(chaos::MutateArgs),
    /// Measure region choices on the sim
    #[command(subcommand)]
    Bench(BenchCommand),

    /// One node on real sockets, as the containers substrate starts it
    #[command(after_help = concat!(
        "Example:\n",
        "  hadr node --role peer --spec /data/spec.json\n\n",
        "Logs to stderr; stops cleanly (saving its disk) on SIGTERM or SIGINT.\n",
        "Exit 0 when stopped by a signal, 2 for a spec that cannot be read or does not match --role."
    ))]
    Node(containers::NodeArgs),

    /// The containers substrate's housekeeping
    #[command(subcommand)]
    Containers(containers::ContainersCommand),

    /// The kind clusters of a scenario's regions: up, down, status
    #[command(subcommand)]
    Kind(kind::KindCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Commit latency, dissemination and recovery per region triple, beside the arithmetic
    #[command(after_help = concat!(
        "Examples:\n",
        "  hadr bench regions --latency fixtures/latency/azure-2024-04-p50.json \\\n",
        "      --candidates eastus,westus,canadacentral westus,uksouth,japaneast --ordering spread\n",
        "  hadr bench regions --latency fixtures/latency/ibm-cloud-2026-01.json \\\n",
        "      --from dallas,toronto,washington,montreal --seeds 1\n\n",
        "Each seed of each candidate runs twice: steady for --duration at a 1 ms tick (time dilated\n",
        "where 1 ms is over 5 % of the triple's smallest round trip), then losing the leader's\n",
        "region (with --ordering first, the second region) for 2 minutes at a 10 ms tick.\n",
        "Prints the ranked table and writes DIR/bench.md, DIR/bench.json and DIR/bench.svg.\n",
        "Exit 0 when every run finished, 1 when one stopped, 2 for invalid input."
    ))]
    Regions(BenchArgs),
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["candidates", "from"]))]
pub struct BenchArgs {
    /// Latency fixture whose locations the candidates name
    #[arg(long, value_name = "FIXTURE")]
    pub latency: PathBuf,
    /// Candidate triples, each three locations separated by commas
    #[arg(long, value_name = "A,B,C", num_args = 1..)]
    pub candidates: Vec<String>,
    /// Every triple of these locations (9 locations: 84 triples)
    #[arg(long, value_name = "L1,...,Ln", conflicts_with = "candidates")]
    pub from: Option<String>,
    /// Ordering nodes one per region, or all three in the first (the doc's)
    #[arg(long, value_enum, default_value_t = crate::bench::Placement::Spread)]
    pub ordering: crate::bench::Placement,
    /// A scenario with three regions whose network, organizations and settings are measured
    #[arg(long, value_name = "SCENARIO")]
    pub template: Option<PathBuf>,
    /// Transactions per second
    #[arg(long, value_name = "R", default_value_t = crate::bench::DEFAULT_RATE)]
    pub rate: f64,
    /// Orderer.BatchTimeout (default: the template's, Fabric's 2s)
    #[arg(long, value_name = "D")]
    pub batch_timeout: Option<String>,
    /// Workload of the steady run
    #[arg(long, value_name = "D", default_value = "20s")]
    pub duration: String,
    /// Seeds per candidate (each places the first Raft leader anew)
    #[arg(long, value_name = "K", default_value_t = crate::bench::DEFAULT_SEEDS)]
    pub seeds: u64,
    /// Runs at once (default: one per core)
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Directory for bench.md, bench.json and bench.svg
    #[arg(long, value_name = "DIR", default_value = "target/hadr/bench")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Serve a mock console (import-only: no deployer) on a real socket until Ctrl-C
    #[command(after_help = crate::console::serve_help())]
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (a host name is resolved)
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:3000", value_parser = host_port)]
    pub listen: String,
    /// The console's initial admin user
    #[arg(long, value_name = "USER", default_value = "admin", value_parser = user_name)]
    pub admin: String,
    /// Non-GET requests per client and minute outside /ak/ (GET: 16x); athena's max_req_per_min
    #[arg(long, value_name = "N", default_value_t = crate::console::mock::Limits::ATHENA.max_req_per_min)]
    pub max_req_per_min: u32,
    /// Non-GET /ak/ requests per client and minute (GET: 4x); athena's max_req_per_min_ak
    #[arg(long, value_name = "N", default_value_t = crate::console::mock::Limits::ATHENA.max_req_per_min_ak)]
    pub max_req_per_min_ak: u32,
    /// Authentication failures within 2 minutes that lock a client out (402)
    #[arg(long, value_name = "N", default_value_t = crate::console::mock::Limits::ATHENA.lockout_limit)]
    pub lockout_limit: u32,
    /// CAs, peers and orderers stored before imports are refused
    #[arg(long, value_name = "N", default_value_t = crate::console::mock::Limits::ATHENA.max_components)]
    pub max_components: usize,
    /// Seconds a connection may take to send a request head (idle keep-alive included)
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub header_timeout: u64,
    /// Seconds a read or write may make no progress before the connection is dropped
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub socket_timeout: u64,
}

/// A console user name: 1 to 256 characters, none of them a control, format or space
/// character (it is shown in logs and compared byte for byte at login).
fn user_name(text: &str) -> Result<String, String> {
    let bad = text.chars().find(|c| {
        c.is_control() || c.is_whitespace() || crate::scenario::diagnostic::is_format_char(*c)
    });
    match bad {
        _ if text.is_empty() => Err("an empty user name; for example --admin admin".into()),
        _ if text.chars().count() > 256 => Err("a user name of more than 256 characters".into()),
        Some(c) => Err(format!(
            "the user name has the character {:?}; use letters, digits and signs such as @ . _ -",
            c
        )),
        None => Ok(text.to_string()),
    }
}

/// `HOST:PORT` with a port number; the host is resolved when binding.
fn host_port(text: &str) -> Result<String, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("`{text}` is not HOST:PORT (for example 127.0.0.1:3000)"))?;
    port.parse::<u16>()
        .map_err(|_| format!("`{port}` is not a port number (0 to 65535)"))?;
    if host.is_empty() {
        return Err(format!(
            "`{text}` has no host (for example 127.0.0.1:{port})"
        ));
    }
    Ok(text.to_string())
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files (YAML)
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    /// Where the nodes run
    #[arg(long, value_enum, default_value_t = Substrate::Sim)]
    pub substrate: Substrate,
    /// Overrides the scenario's seed
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Directory for the reports
    #[arg(long, value_name = "DIR", default_value = "target/hadr")]
    pub out: PathBuf,
    /// No progress on stderr while scenarios run
    #[arg(long, short)]
    pub quiet: bool,
    /// kind/kubernetes: write DIR/plan/ (every config, manifest, command, fault action) and touch nothing
    #[arg(long)]
    pub dry_run: bool,
    /// kubernetes: one kubeconfig context per region, in the scenario's order
    #[arg(long, value_name = "CTX1,CTX2,CTX3", value_delimiter = ',')]
    pub contexts: Vec<String>,
    /// kubernetes: one ingress domain per region, in the scenario's order
    #[arg(long, value_name = "D1,D2,D3", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// kind/kubernetes: the console in each region
    #[arg(long, value_enum, default_value_t = crate::substrate::cluster::ConsoleChoice::Mock)]
    pub console: crate::substrate::cluster::ConsoleChoice,
    /// kind/kubernetes: how faults are injected (default: docker on kind, chaos-mesh on kubernetes)
    #[arg(long, value_enum)]
    pub chaos: Option<crate::substrate::cluster::ChaosTool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Substrate {
    /// Deterministic simulation inside this process (nothing to install)
    Sim,
    /// hadr's node programs in Docker containers, one network per region
    Containers,
    /// Three kind clusters with real Fabric images and consoles
    Kind,
    /// Existing clusters, one kubeconfig context per region (--contexts)
    Kubernetes,
}

#[derive(Debug, Subcommand)]
pub enum ProcedureCommand {
    /// Print the runbook for a scenario, step by step, per region
    #[command(after_help = concat!(
        "Examples:\n",
        "  hadr procedure show\n",
        "  hadr procedure show --scenario scenarios/multi-region-ha.yaml\n\n",
        "Without --scenario, prints the runbook of the built-in example (scenarios/multi-region-ha.yaml)."
    ))]
    Show {
        /// Scenario file whose regions and organizations the runbook is laid out for
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
    },

    /// Check that the runbook covers published translations of the procedure
    #[command(after_help = concat!(
        "Example:\n",
        "  hadr procedure check ../shared/seeds/*.txt\n\n",
        "Reports per file the sections, steps and link anchors found and the runbook action\n",
        "covering each; defects of the published text are warnings. Exit 0 when everything is\n",
        "covered, 1 when something is not, 2 when a file cannot be read."
    ))]
    Check {
        /// Translations of the procedure (markdown with `{: #anchor}` attributes)
        #[arg(required = true, value_name = "DOC")]
        docs: Vec<PathBuf>,
    },
}

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::InvalidInput
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    run(cli).into()
}

/// Executes a parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Run(args) => run_scenarios(&args),
        Command::Validate { scenarios } => validate(&scenarios),
        Command::Procedure(ProcedureCommand::Show { scenario }) => show(scenario.as_deref()),
        Command::Procedure(ProcedureCommand::Check { docs }) => check_docs(&docs),
        Command::Console(ConsoleCommand::Serve(args)) => serve_console(&args),
        Command::Chaos(args) => chaos::run(&args),
        Command::Mutate(args) => chaos::mutate(&args),
        Command::Bench(BenchCommand::Regions(args)) => bench_regions(&args),
        Command::Node(args) => containers::node(&args),
        Command::Containers(command) => containers::containers(&command),
        Command::Kind(command) => kind::command(&command),
    }
}

/// Loads every file, printing the problems of the invalid ones; None when any is invalid.
fn load_all(paths: &[PathBuf]) -> Option<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    let mut invalid = 0;
    for path in paths {
        match scenario::load(path) {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => {
                invalid += 1;
                report_invalid(&error);
            }
        }
    }
    if invalid > 0 {
        err!("{invalid} of {} scenario file(s) invalid", paths.len());
        return None;
    }
    Some(scenarios)
}

fn report_invalid(error: &ScenarioError) {
    err!("{error}\n");
}

/// Checks, before any work is done and without creating anything, that `--out DIR` can
/// become the output folder: a folder, or a path whose nearest existing part is a folder;
/// exit 2 when it is a file or a device (or under one).
pub(crate) fn writable_out(out: &Path) -> Result<(), Exit> {
    let existing = out
        .ancestors()
        .find(|p| p.as_os_str().is_empty() || p.exists());
    let usable = match existing {
        Some(p) if p.as_os_str().is_empty() || p.is_dir() => Ok(()),
        Some(p) if p == out => Err("it is a file, not a folder".to_string()),
        Some(p) => Err(format!("{} is a file, not a folder", p.display())),
        None => Ok(()),
    };
    usable.map_err(|why| {
        err!(
            "--out {}: error: cannot write the output there: {why}\n  = expected: a folder hadr may create and write in\n  = hint: give another --out, or remove the file of that name",
            scenario::diagnostic::printable(&out.display().to_string())
        );
        Exit::InvalidInput
    })
}

fn run_scenarios(args: &RunArgs) -> Exit {
    let Some(scenarios) = load_all(&args.scenarios) else {
        return Exit::InvalidInput;
    };
    if let Err(exit) = writable_out(&args.out) {
        return exit;
    }
    let containers;
    let substrate: &dyn crate::substrate::Substrate = match args.substrate {
        Substrate::Kind | Substrate::Kubernetes => return kind::run(args, scenarios),
        _ if args.dry_run
            || !args.contexts.is_empty()
            || !args.domains.is_empty()
            || args.chaos.is_some() =>
        {
            err!("hadr run: --dry-run, --contexts, --domains and --chaos are for --substrate kind or kubernetes");
            return Exit::InvalidInput;
        }
        Substrate::Sim => &crate::substrate::sim::Sim,
        Substrate::Containers => {
            let binary = match std::env::current_exe() {
                Ok(binary) => binary,
                Err(e) => {
                    err!("hadr run: cannot find hadr's own binary for the node image: {e}");
                    return Exit::SubstrateUnavailable;
                }
            };
            containers = crate::substrate::containers::Containers { binary };
            &containers
        }
    };
    let mut exit = Exit::Ok;
    let several = args.scenarios.len() > 1;
    let folders = crate::report::folder_names(scenarios.iter().map(|s| s.name.as_str()));
    let mut reports = Vec::new();
    let mut rows = Vec::new();
    for (mut scenario, folder) in scenarios.into_iter().zip(folders) {
        if let Some(seed) = args.seed {
            scenario.seed = seed;
        }
        let out = if several {
            args.out.join(&folder)
        } else {
            args.out.clone()
        };
        if !args.quiet {
            err!(
                "running {} on {} (seed {}): {} of workload, {} fault(s)...",
                scenario.name,
                substrate.name(),
                scenario.seed,
                crate::report::human_duration(scenario.workload.duration),
                scenario.faults.len()
            );
        }
        // A panic inside the substrate ends this scenario as an error, not the whole run.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if args.quiet {
                crate::runner::run(&scenario, substrate)
            } else {
                let watch = progress::Watch::new(&scenario.name);
                crate::runner::run_with(&scenario, substrate, &watch)
            }
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(crate::substrate::SubstrateError::Failed(format!(
                "the simulation panicked: {why}"
            )))
        });
        let (report, history) = match outcome {
            Ok(result) => result,
            Err(error @ crate::substrate::SubstrateError::Unavailable(_)) => {
                err!("hadr run: {error}");
                return Exit::SubstrateUnavailable;
            }
            Err(error) => {
                err!("hadr run: {}: {error}", scenario.name);
                rows.push(crate::report::SummaryRow::of_error(
                    &scenario.name,
                    &folder,
                    &error.to_string(),
                ));
                exit = Exit::ExpectationFailed;
                continue;
            }
        };
        if let Err(error) = crate::report::write_all(&out, &report, &history) {
            err!("hadr run: {error}");
            return Exit::InvalidInput;
        }
        exit = exit.max(print_verdict(&report, &out));
        rows.push(crate::report::SummaryRow::of_report(&report, &folder));
        reports.push(report);
    }
    if several {
        out!("\n{}", crate::report::summary_table(&rows).trim_end());
        let _ = std::fs::create_dir_all(&args.out);
        let written = [
            ("summary.md", crate::report::summary_md(&rows)),
            (
                "junit.xml",
                crate::report::junit_xml(&reports.iter().collect::<Vec<_>>()),
            ),
        ];
        for (name, contents) in written {
            let path = args.out.join(name);
            if let Err(error) = std::fs::write(&path, contents) {
                err!("hadr run: cannot write {}: {error}", path.display());
                return Exit::InvalidInput;
            }
        }
        out!(
            "summary in {}, junit.xml with one test suite per scenario in {}",
            args.out.join("summary.md").display(),
            args.out.join("junit.xml").display()
        );
    }
    exit
}

/// Prints one scenario's outcome on stdout; answers its exit code.
fn print_verdict(report: &crate::report::Report, out: &Path) -> Exit {
    let mut exit = Exit::Ok;
    if let Some(stopped) = &report.stopped {
        out!("RUN STOPPED: {}", stopped.message);
        exit = exit.max(match stopped.cause {
            crate::substrate::StopCause::Input => Exit::InvalidInput,
            crate::substrate::StopCause::Harness => Exit::ExpectationFailed,
        });
    }
    for step in report
        .steps
        .not_ok
        .iter()
        .filter(|s| s.outcome == StepOutcome::Failed)
    {
        out!("STEP FAILED {}: {}", step.place(), step.detail);
    }
    for expectation in &report.expectations {
        out!(
            "{} {}: {}",
            if expectation.passed { "pass" } else { "FAIL" },
            expectation.name,
            expectation.detail
        );
    }
    let ratio = report.sim_time_ms as f64 / report.wall_time_ms.max(1) as f64;
    out!(
        "{}: {} (simulated {} in {} wall, {ratio:.0}x); reports in {}",
        report.scenario,
        if report.passed { "passed" } else { "FAILED" },
        crate::report::human_duration(std::time::Duration::from_millis(report.sim_time_ms)),
        crate::report::human_duration(std::time::Duration::from_millis(report.wall_time_ms)),
        out.display()
    );
    if !report.passed {
        out!("replay: {}", report.replay);
        exit = exit.max(Exit::ExpectationFailed);
    }
    exit
}

fn bench_regions(args: &BenchArgs) -> Exit {
    let request = crate::bench::Request {
        latency: args.latency.clone(),
        candidates: args.candidates.clone(),
        from: args.from.clone(),
        ordering: args.ordering,
        template: args.template.clone(),
        rate: args.rate,
        batch_timeout: args.batch_timeout.clone(),
        duration: args.duration.clone(),
        seeds: args.seeds,
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let plan = match crate::bench::plan(&request) {
        Ok(plan) => plan,
        Err(error) => {
            report_invalid(&error);
            return Exit::InvalidInput;
        }
    };
    if let Err(exit) = writable_out(&args.out) {
        return exit;
    }
    err!(
        "bench: {} candidate(s) x {} seed(s), 2 runs each, on {} job(s)...",
        plan.candidates.len(),
        plan.seeds,
        plan.jobs
    );
    let progress = |p: crate::bench::Progress| {
        err!(
            "[{}/{}] {} seed {}: {:.1}s",
            p.done,
            p.total,
            p.candidate.join(","),
            p.seed,
            p.wall.as_secs_f64()
        );
    };
    let bench = match crate::bench::run(&plan, &progress) {
        Ok(bench) => bench,
        Err(why) => {
            err!("hadr bench regions: {why}");
            return Exit::ExpectationFailed;
        }
    };
    out!("{}", bench.markdown().trim_end());
    if let Err(error) = crate::bench::output::write_all(&args.out, &bench) {
        err!(
            "hadr bench regions: cannot write {}: {error}",
            args.out.display()
        );
        return Exit::InvalidInput;
    }
    err!(
        "bench: done in {:.1}s; bench.md, bench.json, bench.svg in {}",
        bench.wall_time_ms as f64 / 1000.0,
        args.out.display()
    );
    Exit::Ok
}

fn serve_console(args: &ServeArgs) -> Exit {
    let mut options = crate::console::ServeOptions::new(&args.listen);
    options.initial_admin = args.admin.clone();
    options.limits = crate::console::mock::Limits {
        max_req_per_min: args.max_req_per_min,
        max_req_per_min_ak: args.max_req_per_min_ak,
        lockout_limit: args.lockout_limit,
        max_components: args.max_components,
    };
    options.server = crate::net::server::ServerOptions {
        header_timeout: std::time::Duration::from_secs(args.header_timeout),
        io_timeout: std::time::Duration::from_secs(args.socket_timeout),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            err!("hadr console serve: {error}");
            return Exit::SubstrateUnavailable;
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match runtime.block_on(crate::console::serve(options, shutdown, std::io::stdout())) {
        Ok(()) => Exit::Ok,
        Err(error) => {
            err!(
                "hadr console serve: cannot serve on {}: {error}",
                args.listen
            );
            Exit::InvalidInput
        }
    }
}

fn validate(paths: &[PathBuf]) -> Exit {
    let mut invalid = 0;
    for path in paths {
        match scenario::load(path) {
            Ok(scenario) => out!("ok: {}: {}", path.display(), summary(&scenario)),
            Err(error) => {
                invalid += 1;
                report_invalid(&error);
            }
        }
    }
    if invalid > 0 {
        err!("{invalid} of {} scenario file(s) invalid", paths.len());
        Exit::InvalidInput
    } else {
        Exit::Ok
    }
}

/// `multi-region-ha: 3 regions, 14 nodes, 1 fault, 5 expectations`.
fn summary(scenario: &Scenario) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}: {}, {}, {}, {}",
        scenario.name,
        plural(scenario.topology.regions.len(), "region"),
        plural(scenario.layout().len(), "node"),
        plural(scenario.faults.len(), "fault"),
        plural(scenario.expect.len(), "expectation"),
    )
}

fn show(path: Option<&Path>) -> Exit {
    let scenario = match path {
        Some(path) => match scenario::load(path) {
            Ok(scenario) => scenario,
            Err(error) => {
                report_invalid(&error);
                return Exit::InvalidInput;
            }
        },
        None => scenario::example(),
    };
    out!("{}", procedure::plan(&scenario).to_string().trim_end());
    Exit::Ok
}

fn check_docs(paths: &[PathBuf]) -> Exit {
    let mut exit = Exit::Ok;
    for (index, path) in paths.iter().enumerate() {
        if index > 0 {
            out!("");
        }
        let read = scenario::input::read_text(
            path,
            "the doc",
            "a translation of the procedure page as text (a few tens of kilobytes)",
        );
        match read {
            Ok(text) => {
                let report = check::check(&path.display().to_string(), &text);
                // The report quotes the doc: its escapes are shown, not obeyed.
                let shown: Vec<String> = report
                    .to_string()
                    .lines()
                    .map(|line| scenario::diagnostic::printable(line).into_owned())
                    .collect();
                out!("{}", shown.join("\n"));
                if !report.passed() {
                    exit = exit.max(Exit::ExpectationFailed);
                }
            }
            Err(error) => {
                err!("{error}");
                exit = Exit::InvalidInput;
            }
        }
    }
    exit
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Exit::Ok as u8, 0);
        assert_eq!(Exit::ExpectationFailed as u8, 1);
        assert_eq!(Exit::InvalidInput as u8, 2);
        assert_eq!(Exit::SubstrateUnavailable as u8, 3);
        assert!(Exit::InvalidInput > Exit::ExpectationFailed);
    }
}
