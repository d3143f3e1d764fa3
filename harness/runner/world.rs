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
    /// Stop nodes as a crash would: memory lost, disks kept.
    Crash(Vec<String>),
    /// Start crashed nodes again from their disks.
    Restart(Vec<String>),
    /// No traffic between the two sides.
    Cut(Vec<String>, Vec<String>),
    Heal(Vec<String>, Vec<String>),
    /// No traffic between these nodes and any other, the harness included (a region cut
    /// off the network).
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
