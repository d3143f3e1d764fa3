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
pub mod process;
pub mod rpc;
pub mod spec;
pub mod wire;

use crate::history::{EventKind, LogLine, NodeLogRecord};
use std::future::Future;
use std::io;
use std::pin::Pin;

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
