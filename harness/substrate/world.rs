//! The seam between the runner and a substrate: what the runner needs while it drives a
//! scenario, and nothing else. It starts nodes from specs ([`NodeSpec`]: data, which a
//! substrate may write to a file and start in another process), changes the network
//! (faults), records history (the sink every node's events reach too), and reaches nodes
//! over the substrate's network. The runner's code is the same on every substrate; each
//! one implements [`World`], and every change may fail (a container that does not start,
//! Docker gone): the runner stops with the error instead of going on half-built.

use crate::clock::Clock;
use crate::history::{EventKind, History};
use crate::net::Net;
use crate::node::spec::NodeSpec;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A change to the world, taking effect before the returned future completes.
#[derive(Clone, Debug)]
pub enum Change {
    /// Start node `spec.name` on a new disk (a new host on `sim`, a container on
    /// `containers`).
    Start(Box<NodeSpec>),
    /// Kill nodes' processes: their connections end with FIN or RST at once, memory is lost,
    /// disks are kept.
    Kill(Vec<String>),
    /// Start killed nodes again from their disks.
    Restart(Vec<String>),
    /// Traffic from `from` to `to` vanishes, as on a lost path: no FIN, no RST, dials wait
    /// for their timeout, and TCP keeps what it sent to retransmit it.
    Silence {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// Traffic from `from` to `to` flows again; what TCP kept arrives at its next
    /// retransmission, new connections at once.
    Restore {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// Silence between these nodes and every other host, the harness included (their
    /// region is gone from the network).
    Isolate(Vec<String>),
    Rejoin(Vec<String>),
    /// The one-way delay between every node of one side and every node of the other.
    Delay(Vec<String>, Vec<String>, Duration),
}

impl Change {
    /// What the change is called in errors.
    pub fn describe(&self) -> String {
        let list = |nodes: &[String]| nodes.join(", ");
        match self {
            Change::Start(spec) => format!("start {} ({})", spec.name, spec.role.name()),
            Change::Kill(nodes) => format!("kill {}", list(nodes)),
            Change::Restart(nodes) => format!("restart {}", list(nodes)),
            Change::Silence { from, to } => {
                format!("silence {} -> {}", list(from), list(to))
            }
            Change::Restore { from, to } => {
                format!("restore {} -> {}", list(from), list(to))
            }
            Change::Isolate(nodes) => format!("isolate {}", list(nodes)),
            Change::Rejoin(nodes) => format!("rejoin {}", list(nodes)),
            Change::Delay(..) => "change latency".to_string(),
        }
    }
}

/// A change the substrate could not make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorldError(pub String);

impl std::fmt::Display for WorldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<WorldError> for String {
    fn from(error: WorldError) -> String {
        error.0
    }
}

/// The name the harness has on every substrate's network (consoles reach the deployer the
/// runner serves under it).
pub const HARNESS_HOST: &str = "harness";

pub trait World {
    fn clock(&self) -> Clock;
    /// The network the runner's own requests travel on (it sits next to every region).
    fn net(&self) -> Arc<dyn Net>;
    /// The history sink.
    fn record(&self, event: EventKind);
    fn apply(&self, change: Change) -> LocalFuture<'_, Result<(), WorldError>>;
    /// Nodes started so far, running or not.
    fn nodes(&self) -> Vec<String>;
    /// Lets `read` see the history recorded so far (what the harness has observed: the
    /// client's answers, say).
    fn read_history(&self, read: &mut dyn FnMut(&History));
    /// Operations the history holds without an outcome yet.
    fn operations_pending(&self) -> usize {
        let mut pending = 0;
        self.read_history(&mut |history| pending = history.operations_pending());
        pending
    }
    /// The console of `spec`'s region, started on the world, and its base URL. On `sim` and
    /// `containers` it is hadr's mock console started from `spec`; a substrate with real
    /// consoles answers the URL of the region's own.
    fn console(&self, spec: NodeSpec) -> LocalFuture<'_, Result<String, WorldError>> {
        Box::pin(async move {
            let url = format!("http://{}:{}", spec.name, crate::node::wire::CONSOLE_PORT);
            self.apply(Change::Start(Box::new(spec))).await?;
            Ok(url)
        })
    }
}
