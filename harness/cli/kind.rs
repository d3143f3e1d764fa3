//! `hadr kind up|down|status` and `hadr run --substrate kind|kubernetes`: parse, call
//! substrate/kind and substrate/cluster, print, exit.

use super::{load_all, Exit, RunArgs, Substrate};
use crate::scenario::{self, Scenario};
use crate::substrate::cluster::{self, plan, ConsoleChoice, Flavor, Options, Refusal};
use crate::substrate::kind::{self as kind_substrate, KindError};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum KindCommand {
    /// Create the scenario's kind clusters and deploy fabric-operator, consoles and the ordering service
    #[command(after_help = concat!(
        "Example:\n",
        "  hadr kind up --scenario scenarios/multi-region-ha.yaml --console mock\n\n",
        "Needs kind, Docker and kubectl, and every image in the local Docker (nothing is pulled):\n",
        "checked before anything is created; exit 3 names what is missing. One cluster per region\n",
        "(hadr-<region>, configs as in kind-config/); existing clusters are kept. Progress on stderr."
    ))]
    Up(UpArgs),
    /// Delete the scenario's kind clusters (or, with --run-only, only the run's resources)
    Down(DownArgs),
    /// Write the kind Cluster config of each region (kind-config/ holds those of the example)
    #[command(after_help = concat!(
        "Example:\n",
        "  hadr kind config --scenario scenarios/multi-region-ha.yaml --out kind-config\n\n",
        "Writes DIR/hadr-<region>.yaml per region: distinct API server and ingress host ports,\n",
        "non-overlapping pod and service subnets, the ingress-ready node label."
    ))]
    Config {
        #[command(flatten)]
        scenario: ScenarioArg,
        /// Directory for the configs
        #[arg(long, value_name = "DIR", default_value = "kind-config")]
        out: PathBuf,
    },
    /// Whether each region's cluster exists and its node runs
    Status(ScenarioArg),
}

#[derive(Debug, clap::Args)]
pub struct ScenarioArg {
    /// Scenario whose regions are the clusters (default: the built-in example)
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// Keep the clusters; delete the run's namespace and bindings (label hadr/run) in each
    #[arg(long)]
    pub run_only: bool,
}

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// The console in each region
    #[arg(long, value_enum, default_value_t = ConsoleChoice::Mock)]
    pub console: ConsoleChoice,
    /// Only create the clusters
    #[arg(long)]
    pub clusters_only: bool,
    /// Static hadr binary for the mock console image
    #[arg(
        long,
        value_name = "PATH",
        default_value = "target/x86_64-unknown-linux-gnu/release/hadr"
    )]
    pub hadr_binary: PathBuf,
    /// Where the applied plan is written
    #[arg(long, value_name = "DIR", default_value = "target/hadr/kind/plan")]
    pub plan_dir: PathBuf,
}

fn scenario_of(arg: &ScenarioArg) -> Option<Scenario> {
    match &arg.scenario {
        Some(path) => load_all(std::slice::from_ref(path)).map(|mut s| s.remove(0)),
        None => Some(scenario::example()),
    }
}

fn exit_of(error: KindError) -> Exit {
    match error {
        KindError::Input(why) => {
            err!("{why}");
            Exit::InvalidInput
        }
        KindError::Unavailable(why) => {
            err!("{why}");
            Exit::SubstrateUnavailable
        }
        KindError::Failed(why) => {
            err!("{why}");
            Exit::ExpectationFailed
        }
    }
}

pub fn command(command: &KindCommand) -> Exit {
    match command {
        KindCommand::Up(args) => {
            let Some(scenario) = scenario_of(&args.scenario) else {
                return Exit::InvalidInput;
            };
            let request = kind_substrate::Up {
                scenario: &scenario,
                console: args.console,
                clusters_only: args.clusters_only,
                hadr_binary: args.hadr_binary.clone(),
                plan_dir: args.plan_dir.clone(),
            };
            kind_substrate::up(&request).map_or_else(exit_of, |()| Exit::Ok)
        }
        KindCommand::Down(args) => {
            let Some(scenario) = scenario_of(&args.scenario) else {
                return Exit::InvalidInput;
            };
            let done = if args.run_only {
                kind_substrate::remove_run(&scenario)
            } else {
                kind_substrate::down(&scenario)
            };
            done.map_or_else(exit_of, |()| Exit::Ok)
        }
        KindCommand::Config { scenario, out } => {
            let Some(scenario) = scenario_of(scenario) else {
                return Exit::InvalidInput;
            };
            let clusters = match cluster::clusters(&scenario, &Options::kind(ConsoleChoice::Mock)) {
                Ok(clusters) => clusters,
                Err(refusal) => return exit_of(refusal.into()),
            };
            if let Err(exit) = super::writable_out(out) {
                return exit;
            }
            if let Err(error) = std::fs::create_dir_all(out) {
                err!("hadr kind config: cannot create {}: {error}", out.display());
                return Exit::InvalidInput;
            }
            for region in &clusters.regions {
                let path = out.join(kind_substrate::config::file_name(region));
                if let Err(error) =
                    std::fs::write(&path, kind_substrate::config::render(&clusters, region))
                {
                    err!("hadr kind config: cannot write {}: {error}", path.display());
                    return Exit::InvalidInput;
                }
                out!("{}", path.display());
            }
            Exit::Ok
        }
        KindCommand::Status(arg) => {
            let Some(scenario) = scenario_of(arg) else {
                return Exit::InvalidInput;
            };
            match kind_substrate::status(&scenario) {
                Ok(lines) => {
                    out!("region\tcluster\tcontext\tstate");
                    for line in lines {
                        out!("{line}");
                    }
                    Exit::Ok
                }
                Err(error) => exit_of(error),
            }
        }
    }
}

/// `hadr run --substrate kind|kubernetes`: with --dry-run, the plan of every scenario;
/// without, the prerequisites, and then a plain statement of what is not built.
pub fn run(args: &RunArgs, scenarios: Vec<Scenario>) -> Exit {
    let flavor = match args.substrate {
        Substrate::Kind => Flavor::Kind,
        _ => Flavor::Kubernetes,
    };
    let options = Options {
        flavor,
        console: args.console,
        chaos: args.chaos,
        contexts: args.contexts.clone(),
        domains: args.domains.clone(),
    };
    let several = scenarios.len() > 1;
    let folders = crate::report::folder_names(scenarios.iter().map(|s| s.name.as_str()));
    // Every plan first: a refusal of any scenario stops the run before anything is written.
    let mut plans = Vec::new();
    for (scenario, folder) in scenarios.iter().zip(folders) {
        let made = cluster::clusters(scenario, &options).and_then(|c| plan::build(scenario, &c));
        match made {
            Ok(plan) => plans.push((plan, folder)),
            Err(Refusal::Input(why)) => {
                err!("hadr run: {why}");
                return Exit::InvalidInput;
            }
            Err(Refusal::Unable(why)) => {
                err!("hadr run: {why}");
                return Exit::SubstrateUnavailable;
            }
        }
    }
    if args.dry_run {
        for (plan, folder) in &plans {
            let dir = if several {
                args.out.join(folder)
            } else {
                args.out.clone()
            }
            .join("plan");
            if let Err(error) = plan.write(&dir) {
                err!("hadr run: cannot write {}: {error}", dir.display());
                return Exit::InvalidInput;
            }
            out!(
                "{}: plan for {} in {} ({} files, {} deploy steps, {} fault(s)); nothing was applied",
                plan.clusters.run_id,
                flavor.name(),
                dir.display(),
                plan.files.len(),
                plan.actions.len(),
                plan.faults.len()
            );
        }
        return Exit::Ok;
    }
    let name = format!("hadr run --substrate {}", flavor.name());
    let missing = match flavor {
        Flavor::Kind => kind_substrate::check_tools(
            &name,
            &[
                crate::substrate::cluster::prerequisites::KIND,
                crate::substrate::cluster::prerequisites::DOCKER,
                crate::substrate::cluster::prerequisites::KUBECTL,
            ],
        )
        .err()
        .map(|e| match e {
            KindError::Input(w) | KindError::Unavailable(w) | KindError::Failed(w) => w,
        }),
        Flavor::Kubernetes => plans
            .iter()
            .find_map(|(plan, _)| crate::substrate::kubernetes::check(&plan.clusters).err()),
    };
    if let Some(why) = missing {
        err!("{why}");
        return Exit::SubstrateUnavailable;
    }
    // Everything this run needs is here, but hadr cannot yet run the documented procedure,
    // the workload and the checks against real Fabric: say so before touching anything.
    err!(
        "{name}: running the documented procedure, the workload and the checks on real Fabric is not built yet; nothing was started\n  = what works: `hadr run SCENARIO --substrate {} --dry-run --out DIR` (the whole plan){}\n  = README.md, \"kind and Kubernetes\", says what has and has not been run against a real cluster",
        flavor.name(),
        if flavor == Flavor::Kind {
            ", `hadr kind up --scenario SCENARIO` (clusters, fabric-operator, consoles, ordering service)"
        } else {
            ""
        }
    );
    Exit::SubstrateUnavailable
}
