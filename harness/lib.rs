//! hadr: a test harness and deterministic simulation for Hyperledger Fabric multi-region HA.

pub mod bench;
pub mod chaos;
pub mod checks;
pub mod cli;
pub mod clock;
pub mod console;
pub mod fabric;
pub mod faults;
pub mod history;
pub mod net;
pub mod node;
pub mod procedure;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod secret;
pub mod substrate;
#[doc(hidden)]
pub mod test_support;
pub mod workload;
