//! Where a scenario runs. Every substrate builds the scenario's network, lets the runner
//! drive it through the nodes' real interfaces, injects faults, and hands back the history.
//!
//! - `sim`: the embedded default, one deterministic turmoil simulation.

pub mod cluster;
pub mod kind;
pub mod kubernetes;
pub mod sim;

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
    /// Runs `scenario`, telling `progress` how far it got as it goes.
    fn run(
        &self,
        scenario: &Scenario,
        progress: &dyn crate::runner::progress::Progress,
    ) -> Result<RunOutput, SubstrateError>;
}
