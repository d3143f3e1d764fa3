//! The `containers` substrate: every node of a scenario in its own Docker container, running
//! `hadr node` (the same node programs as `sim`, on real sockets and the host's clocks), each
//! region its own Docker network, faults through the kernel and Docker. Real time: a
//! 10-minute scenario takes 10 minutes.
//!
//! - docker.rs: the Docker CLI, labels, cleanup.
//! - image.rs: the node image, built here from hadr's own binary (no registry).
//! - network.rs: one network per region, a router between them, nsenter + iptables.
//! - world.rs: the runner's [`World`](crate::substrate::world::World) on Docker.
//!
//! Nothing is left behind: every container and network carries the `hadr.run=<id>` label and
//! is removed when the run ends, fails, panics or is interrupted (SIGINT, SIGTERM);
//! `hadr containers clean` removes what a killed run left.

pub mod docker;
pub mod image;
pub mod network;
pub mod world;

use crate::runner::progress::{Progress, Tracker};
use crate::scenario::model::Scenario;
use crate::substrate::capabilities::Capabilities;
use crate::substrate::{RunOutput, RunStopped, StopCause, Substrate, SubstrateError};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;
use world::{ContainerWorld, RunFolders};

/// The containers substrate, starting nodes from `binary` (hadr's own executable).
#[derive(Clone, Debug)]
pub struct Containers {
    pub binary: PathBuf,
}

/// Why latency cannot be emulated here: this machine's kernel has no netem qdisc, and hadr
/// does not yet drive netem where it exists (it could not be tried on a kernel without it).
const NO_LATENCY: &str = "inter-region latency needs `tc qdisc ... netem` in each container's \
     network namespace, which the containers substrate does not drive yet (the kernels it was \
     built on have no netem: `tc` answers \"Specified qdisc kind is unknown\")";
const NO_ORDERING_RESTART: &str = "an ordering node keeps its Raft log in memory (raft-rs \
     MemStorage), so it cannot restart from its volume; lose or crash peers, CAs, consoles and \
     clients only, or use --substrate sim";

impl Substrate for Containers {
    fn name(&self) -> &'static str {
        "containers"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            faults: vec![
                "region_outage",
                "partition",
                "one_way_partition",
                "node_crash",
            ],
            no_latency: Some(NO_LATENCY.to_string()),
            no_ordering_restart: Some(NO_ORDERING_RESTART.to_string()),
        }
    }

    fn run(
        &self,
        scenario: &Scenario,
        progress: &dyn Progress,
    ) -> Result<RunOutput, SubstrateError> {
        docker::engine_answers().map_err(SubstrateError::Unavailable)?;
        if let Some(why) = network::host_tools_missing() {
            return Err(SubstrateError::Unavailable(why));
        }
        let run_id = run_id(scenario);
        let folder = std::env::temp_dir().join(format!("hadr-containers-{run_id}"));
        std::fs::create_dir_all(&folder)
            .map_err(|e| SubstrateError::Failed(format!("{}: {e}", folder.display())))?;
        let cleanup = Cleanup {
            run_id: run_id.clone(),
            folder: folder.clone(),
            interrupted: std::cell::Cell::new(false),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SubstrateError::Failed(format!("cannot start the runtime: {e}")))?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            // Signals are caught from the first step on: an interrupted image build or
            // network creation is cleaned up too.
            let signals = interrupted();
            tokio::pin!(signals);
            let drive = self.drive(scenario, progress, run_id, RunFolders { root: folder });
            tokio::select! {
                // Once the runner runs, it answers the signal itself with what it recorded.
                biased;
                output = drive => output,
                _ = &mut signals => {
                    cleanup.interrupted.set(true);
                    Err(SubstrateError::Failed(INTERRUPTED.into()))
                }
            }
        })
    }
}

const INTERRUPTED: &str = "interrupted (SIGINT or SIGTERM); containers and networks removed";

impl Containers {
    async fn drive(
        &self,
        scenario: &Scenario,
        progress: &dyn Progress,
        run_id: String,
        folders: RunFolders,
    ) -> Result<RunOutput, SubstrateError> {
        progress.note(&format!(
            "containers: building the node image from {}",
            self.binary.display()
        ));
        let image = image::ensure(&self.binary)
            .await
            .map_err(|e| SubstrateError::Failed(e.0))?;
        let regions = scenario.topology.region_names();
        progress.note(&format!(
            "containers: run {run_id}, image {image}, networks for {}",
            regions.join(", ")
        ));
        let networks = network::create(&run_id, &regions, &image)
            .await
            .map_err(|e| SubstrateError::Failed(e.0))?;
        let epoch_unix_ms = crate::clock::Clock::System.unix_ms();
        let world = Rc::new(ContainerWorld::new(
            run_id,
            image,
            networks,
            folders,
            epoch_unix_ms,
            scenario.simulation.node_logs,
        ));
        let runner = crate::runner::execute(world.clone(), Rc::new(scenario.clone()));
        let mut tracker = Tracker::new(scenario);
        let watching = world.clone();
        let mut each_second = tokio::time::interval(Duration::from_secs(1));
        tokio::pin!(runner);
        let outcome = loop {
            tokio::select! {
                done = &mut runner => break done.map_err(|message| RunStopped {
                    cause: StopCause::Harness,
                    message,
                }),
                _ = interrupted() => break Err(RunStopped {
                    cause: StopCause::Harness,
                    message: INTERRUPTED.into(),
                }),
                _ = each_second.tick() => {
                    watching.collect_node_histories();
                    let now = watching.clock_now_ms();
                    watching.with_history(|h| progress.update(&tracker.status(now, h)));
                }
            }
        };
        let sim_time_ms = world.clock_now_ms();
        let history = world.take_history();
        let mut notes = vec![format!(
            "real time and real sockets: every node in its own container; regions are Docker \
             networks routed through a router container"
        )];
        if !scenario.real_network.emulate_round_trips {
            notes.push(
                "round trips between regions were not emulated (`real_network: \
                 {emulate_round_trips: false}`): regions talked at the host's own latency"
                    .into(),
            );
        }
        Ok(RunOutput {
            history,
            sim_time_ms,
            latency_resolution_ms: 1.0,
            stopped: outcome.err(),
            notes,
        })
    }
}

/// Completes at SIGINT or SIGTERM.
async fn interrupted() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// A run's name: the scenario's, short and safe for Docker, with the process ID and time.
fn run_id(scenario: &Scenario) -> String {
    let name: String = scenario
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    format!(
        "{name}-{}-{}",
        std::process::id(),
        crate::clock::Clock::System.unix_ms() % 1_000_000
    )
}

/// Where to keep every container's log before the cleanup removes it (for a person finding
/// out why a run failed): `HADR_CONTAINERS_LOGS=DIR`.
pub const LOGS_VARIABLE: &str = "HADR_CONTAINERS_LOGS";

/// Removes the run's containers, networks and folder when dropped: at the end, on an error,
/// and while a panic unwinds.
struct Cleanup {
    run_id: String,
    folder: PathBuf,
    /// Whether a signal cut a docker command short: the engine may finish creating what it
    /// was asked for after the command was killed, so cleanup looks again.
    interrupted: std::cell::Cell<bool>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(folder) = std::env::var_os(LOGS_VARIABLE) {
            docker::save_logs(&self.run_id, Path::new(&folder));
        }
        if let Err(e) = docker::remove_labelled(docker::RUN_LABEL, Some(&self.run_id)) {
            eprintln!("hadr: cleaning up run {}: {e}", self.run_id);
        }
        if self.interrupted.get() {
            std::thread::sleep(Duration::from_secs(1));
            let _ = docker::remove_labelled(docker::RUN_LABEL, Some(&self.run_id));
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// `hadr containers clean`: every container, network and volume of any hadr run, and the
/// runs' folders; answers what was removed.
pub fn clean() -> Result<Vec<String>, String> {
    docker::engine_answers()?;
    let mut removed = docker::remove_labelled(docker::RUN_LABEL, None).map_err(|e| e.0)?;
    // Node images are a cache keyed by the binary's digest: one per build, 150 MB each.
    removed.extend(docker::remove_images(image::NODE_IMAGE_LABEL).map_err(|e| e.0)?);
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("hadr-containers-") && remove_folder(&entry.path()) {
                removed.push(format!("folder {}", entry.path().display()));
            }
        }
    }
    Ok(removed)
}

fn remove_folder(path: &Path) -> bool {
    std::fs::remove_dir_all(path).is_ok()
}
