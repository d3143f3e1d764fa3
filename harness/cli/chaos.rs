//! `hadr chaos`, `hadr chaos merge` and `hadr mutate`: parse, call chaos/, print, exit.

use super::{load_all, Exit};
use crate::chaos::{self, pool, summary::Summary, Shard};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
#[command(after_help = concat!(
    "Examples:\n",
    "  hadr chaos scenarios/chaos-base.yaml --runs 200 --seed 1\n",
    "  hadr chaos scenarios/chaos-base.yaml --runs 1000 --shard 2/4 --out target/chaos/2\n",
    "  hadr chaos merge target/chaos/1 target/chaos/2 target/chaos/3 target/chaos/4 --out target/chaos\n\n",
    "Run k's schedule and simulation seed depend on --seed and k alone. A failing run is shrunk\n",
    "and written as DIR/failures/NNN/scenario.yaml (replay it with `hadr run`), with its reports.\n",
    "Writes DIR/summary.json, summary.md, junit.xml and summary.svg.\n",
    "Exit 0 when every run held, 1 when one failed, 2 for invalid input."
))]
pub struct ChaosArgs {
    #[command(subcommand)]
    pub command: Option<ChaosCommand>,
    /// The base scenario, with a `chaos:` section
    #[arg(required = true, value_name = "BASE")]
    pub base: Option<PathBuf>,
    /// Runs in the whole sweep, 1 to 1,000,000
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub runs: u64,
    /// Seed of the sweep (default: the scenario's)
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Runs at once (default: the number of cores)
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,
    /// Only runs k with k mod N = I - 1 (merge the shards with `hadr chaos merge`)
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Directory for the summary and the reproducers
    #[arg(long, value_name = "DIR", default_value = "target/hadr/chaos")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub enum ChaosCommand {
    /// Merge the outputs of `hadr chaos --shard` into one summary
    Merge {
        /// Output folders of the shards
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// Directory for the merged summary and reproducers
        #[arg(long, value_name = "DIR", default_value = "target/hadr/chaos")]
        out: PathBuf,
    },
}

pub fn run(args: &ChaosArgs) -> Exit {
    match (&args.command, &args.base) {
        (Some(ChaosCommand::Merge { out, .. }), _) if super::writable_out(out).is_err() => {
            Exit::InvalidInput
        }
        (Some(ChaosCommand::Merge { dirs, out }), _) => match chaos::merge(dirs, out) {
            Ok(summary) => conclude(&summary, out),
            Err(error) => {
                err!("hadr chaos merge: {error}");
                Exit::InvalidInput
            }
        },
        (None, Some(base)) => sweep(args, base),
        (None, None) => Exit::InvalidInput,
    }
}

fn sweep(args: &ChaosArgs, path: &PathBuf) -> Exit {
    let Some(mut scenarios) = load_all(std::slice::from_ref(path)) else {
        return Exit::InvalidInput;
    };
    if let Err(exit) = super::writable_out(&args.out) {
        return exit;
    }
    let base = scenarios.remove(0);
    let Some(chaos) = base.chaos.clone() else {
        err!(
            "{}: error: the scenario has no `chaos:` section\n  = expected: a `chaos:` section saying what the nemesis may do\n  = hint: start from scenarios/chaos-base.yaml; README.md, \"Chaos experiments\", lists the keys",
            path.display()
        );
        return Exit::InvalidInput;
    };
    let Ok(text) = crate::scenario::input::read_text(path, "the scenario", "the base scenario")
    else {
        err!("{}: error: cannot read the scenario again", path.display());
        return Exit::InvalidInput;
    };
    let seed = args.seed.unwrap_or(base.seed);
    let jobs = args.jobs.map_or_else(pool::default_jobs, |j| j as usize);
    let shard = args
        .shard
        .map(|s| format!(", shard {s}"))
        .unwrap_or_default();
    err!(
        "chaos {}: {} runs (seed {seed}{shard}) on {jobs} job(s), {} of workload each...",
        base.name,
        args.runs,
        crate::report::human_duration(base.workload.duration)
    );
    let sweep = chaos::Sweep {
        base: &base,
        base_text: &text,
        chaos: &chaos,
        runs: args.runs,
        seed,
        jobs,
        shard: args.shard,
        out: &args.out,
    };
    match chaos::sweep(&sweep) {
        Ok(summary) => conclude(&summary, &args.out),
        Err(error) => {
            err!("hadr chaos: {error}");
            Exit::InvalidInput
        }
    }
}

fn conclude(summary: &Summary, out: &std::path::Path) -> Exit {
    for failure in &summary.failures {
        out!(
            "FAIL run {}: {} ({} fault(s) shrunk to {}: {})",
            failure.run,
            failure.expectation,
            failure.faults_before,
            failure.faults.len(),
            failure.faults.join("; ")
        );
        out!(
            "  replay: hadr run {}",
            out.join(&failure.scenario_file).display()
        );
    }
    out!(
        "chaos {}: {} run(s), {} held, {} failed; summary in {}",
        summary.scenario,
        summary.executed,
        summary.passed,
        summary.failed,
        out.join("summary.md").display()
    );
    if summary.failed > 0 {
        Exit::ExpectationFailed
    } else {
        Exit::Ok
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Example:\n",
    "  hadr mutate scenarios/multi-region-ha.yaml --out target/hadr/mutate\n\n",
    "Runs the scenario as written and once per procedure mutation (each console step skipped\n",
    "alone, each import recreated locally, one anchor peer per organization, peers not imported\n",
    "into every console), under its own faults. Prints the table and writes DIR/mutations.md,\n",
    "DIR/mutations.json and one report folder per run.\n",
    "Exit 0 when the scenario as written holds, 1 when it fails, 2 for invalid input."
))]
pub struct MutateArgs {
    /// The scenario to mutate
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Runs at once (default: the number of cores)
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,
    /// Directory for the table and the reports
    #[arg(long, value_name = "DIR", default_value = "target/hadr/mutate")]
    pub out: PathBuf,
}

pub fn mutate(args: &MutateArgs) -> Exit {
    let Some(mut scenarios) = load_all(std::slice::from_ref(&args.scenario)) else {
        return Exit::InvalidInput;
    };
    if let Err(exit) = super::writable_out(&args.out) {
        return exit;
    }
    let scenario = scenarios.remove(0);
    let jobs = args.jobs.map_or_else(pool::default_jobs, |j| j as usize);
    match chaos::mutate::mutate(&scenario, jobs, &args.out) {
        Ok(rows) => {
            out!("{}", chaos::mutate::table(&scenario, &rows).trim_end());
            out!("reports in {}", args.out.display());
            if rows
                .first()
                .is_some_and(|r| r.failed.is_empty() && r.stopped_at.is_none())
            {
                Exit::Ok
            } else {
                Exit::ExpectationFailed
            }
        }
        Err(error) => {
            err!("hadr mutate: {error}");
            Exit::InvalidInput
        }
    }
}
