//! Node programs: the async shells that run Fabric's protocol cores (fabric/) on a
//! [`Net`], one per role, the same code on turmoil and on real sockets.

pub mod ca;
pub mod client;
pub mod endpoints;
pub mod gateway;
pub mod links;
pub mod ops;
pub mod orderer;
pub mod peer;
pub mod rpc;
pub mod wire;

use crate::history::{EventKind, LogLine, NodeLogRecord};
use crate::net::Net;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

/// Where a node writes the log lines the history keeps (history::LogLine): off unless the
/// run records them, so ordinary runs keep small histories.
#[derive(Clone, Default)]
pub struct NodeLog {
    /// Shared: every program and restart of a node holds the same one.
    sink: Option<std::rc::Rc<(String, client::Recorder)>>,
}

impl NodeLog {
    /// The log of node `node`, written to `record`.
    pub fn to(node: &str, record: client::Recorder) -> NodeLog {
        NodeLog {
            sink: Some(std::rc::Rc::new((node.to_string(), record))),
        }
    }

    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    pub fn write(&self, line: LogLine) {
        if let Some(sink) = &self.sink {
            let (node, record) = &**sink;
            record(EventKind::NodeLog(NodeLogRecord {
                node: node.clone(),
                line,
            }));
        }
    }
}

/// A node's program, running until it stops or its host crashes.
pub type NodeFuture = Pin<Box<dyn Future<Output = io::Result<()>>>>;

/// A node to start, with its configuration and disk (large programs boxed).
#[derive(Clone)]
pub enum Launch {
    /// Boxed, as the client: their settings dwarf the other variants.
    Peer(Box<peer::PeerProgram>, peer::PeerDisk),
    Orderer(orderer::OrdererProgram),
    Ca(ca::CaDisk, crate::clock::Clock),
    Client(Box<client::ClientProgram>),
    /// Any other program (a console, a test fixture), built anew on each start.
    Program(Arc<dyn Fn(Arc<dyn Net>) -> NodeFuture>),
}

impl Launch {
    /// The node's program for its `restarts`-th start on `net`.
    pub fn start(&self, net: Arc<dyn Net>, restarts: u64) -> NodeFuture {
        match self.clone() {
            Launch::Peer(program, disk) => Box::pin(peer::run(*program, disk, net, restarts)),
            Launch::Orderer(program) => Box::pin(orderer::run(program, net, restarts)),
            Launch::Ca(disk, clock) => Box::pin(ca::run(disk, net, clock)),
            Launch::Client(program) => Box::pin(client::run(*program, net, restarts)),
            Launch::Program(program) => program(net),
        }
    }
}
