//! Where a scenario runs. Every substrate builds the scenario's network, lets the runner
//! drive it through the nodes' real interfaces, injects faults, and hands back the history.
//!
//! - `sim`: the embedded default, one deterministic turmoil simulation.
//! - `containers`: every node in its own Docker container on real sockets, one Docker
//!   network per region (containers/).
//!
//! The seam (world.rs): the runner drives any substrate through [`world::World`]: nodes
//! to start are data ([`crate::node::spec::NodeSpec`]), disks belong to the substrate,
//! history arrives through the world's sink, consoles come from the world, and every change
//! can fail. Before a run, [`capabilities::check`] refuses a scenario the substrate cannot
//! run (exit 3), naming the fault and the reason.

pub mod capabilities;
pub mod cluster;
pub mod containers;
pub mod kind;
pub mod kubernetes;
pub mod sim;
pub mod world;

use crate::history::History;
use crate::scenario::model::Scenario;
use std::fmt;

/// What a run produced, whatever the substrate: the history recorded up to its end, even
/// when the run stopped early.
#[derive(Debug)]
pub struct RunOutput {
    pub history: History,
    /// Time that passed inside the substrate (simulated on `sim`).
    pub sim_time_ms: u64,
    /// The smallest latency difference the substrate can express (turmoil's tick on `sim`).
    pub latency_resolution_ms: f64,
    /// Why the run stopped before its end, if it did.
    pub stopped: Option<RunStopped>,
    /// What a reader of the report must know about how the substrate ran the scenario
    /// (round trips not emulated, say).
    pub notes: Vec<String>,
}

/// A run that did not reach its end.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunStopped {
    pub cause: StopCause,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// The scenario asked for what cannot be done (e.g. too short a `max_duration`): exit 2.
    Input,
    /// The harness or substrate broke down: exit 1.
    Harness,
}

#[derive(Debug)]
pub enum SubstrateError {
    /// The substrate cannot run here (no Docker, no kind): exit code 3.
    Unavailable(String),
    /// The substrate broke down while running (not an expectation failure).
    Failed(String),
}

impl fmt::Display for SubstrateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubstrateError::Unavailable(why) => write!(f, "substrate unavailable: {why}"),
            SubstrateError::Failed(why) => write!(f, "substrate failed: {why}"),
        }
    }
}

impl std::error::Error for SubstrateError {}

/// A place to run scenarios.
pub trait Substrate {
    fn name(&self) -> &'static str;
    /// What it can do; the runner refuses a scenario that asks for more before it starts.
    fn capabilities(&self) -> capabilities::Capabilities {
        capabilities::Capabilities::everything()
    }
    /// Runs `scenario`, telling `progress` how far it got as it goes.
    fn run(
        &self,
        scenario: &Scenario,
        progress: &dyn crate::runner::progress::Progress,
    ) -> Result<RunOutput, SubstrateError>;
}
