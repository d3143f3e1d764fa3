//! What the runner needs from a substrate while it drives a scenario: start nodes, change
//! the network (faults), record history, and reach nodes over its network. The runner's
//! code is the same on every substrate; each substrate implements [`World`].

use crate::clock::Clock;
use crate::history::EventKind;
use crate::net::Net;
use crate::node::Launch;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub type LocalFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// A change to the world, taking effect before the returned future completes.
pub enum Change {
    /// Start node `name` (a new host on `sim`).
    Launch {
        name: String,
        node: Box<Launch>,
    },
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

pub trait World {
    fn clock(&self) -> Clock;
    /// The network the runner's own requests travel on (it sits next to every region).
    fn net(&self) -> Arc<dyn Net>;
    fn record(&self, event: EventKind);
    fn apply(&self, change: Change) -> LocalFuture<'_>;
    /// Nodes started so far, running or not.
    fn nodes(&self) -> Vec<String>;
    /// The smallest latency difference the substrate can express.
    fn latency_resolution(&self) -> Duration;
}
