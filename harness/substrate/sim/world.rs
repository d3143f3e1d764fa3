//! The runner's [`World`] inside the turmoil simulation: a node spec becomes a turmoil host
//! whose program is started again from the same in-memory disk at every restart.

use super::{Command, HostProgram, SimControl, HARNESS_HOST};
use crate::clock::Clock;
use crate::history::{EventKind, History};
use crate::net::{Net, SimNet};
use crate::node::spec::{self, Disk, NodeHost};
use crate::substrate::world::{Change, LocalFuture, World, WorldError};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

pub struct SimWorld {
    pub control: SimControl,
    /// Whether nodes write their log lines into the history.
    pub node_logs: bool,
}

impl World for SimWorld {
    fn clock(&self) -> Clock {
        Clock::Simulated
    }

    fn net(&self) -> Arc<dyn Net> {
        Arc::new(SimNet)
    }

    fn record(&self, event: EventKind) {
        self.control.record(event);
    }

    fn apply(&self, change: Change) -> LocalFuture<'_, Result<(), WorldError>> {
        let command = match change {
            Change::Start(spec) => {
                let control = self.control.clone();
                let host = NodeHost {
                    net: Arc::new(SimNet),
                    clock: Clock::Simulated,
                    record: Rc::new(move |event| control.record(event)),
                    node_logs: self.node_logs,
                };
                let disk = match Disk::new(&spec, &host) {
                    Ok(disk) => disk,
                    Err(e) => return Box::pin(async move { Err(WorldError(e)) }),
                };
                let starts = Rc::new(Cell::new(0u64));
                let name = spec.name.clone();
                let program: HostProgram = Rc::new(move || {
                    let restarts = starts.replace(starts.get() + 1);
                    let running = spec::start(&spec, &disk, &host, restarts);
                    Box::pin(async move { running.await.map_err(Into::into) })
                });
                Command::StartHost { name, program }
            }
            Change::Kill(nodes) => Command::Kill(nodes),
            Change::Restart(nodes) => Command::Restart(nodes),
            Change::Silence { from, to } => Command::Silence { from, to },
            Change::Restore { from, to } => Command::Restore { from, to },
            Change::Isolate(nodes) => {
                let others = self.others(&nodes);
                // Both directions in one step.
                self.control.submit(Command::Silence {
                    from: nodes.clone(),
                    to: others.clone(),
                });
                Command::Silence {
                    from: others,
                    to: nodes,
                }
            }
            Change::Rejoin(nodes) => {
                let others = self.others(&nodes);
                // Both directions in one step.
                self.control.submit(Command::Restore {
                    from: nodes.clone(),
                    to: others.clone(),
                });
                Command::Restore {
                    from: others,
                    to: nodes,
                }
            }
            Change::Delay(a, b, delay) => Command::SetLatency(a, b, delay),
        };
        Box::pin(async move {
            self.control.apply(command).await;
            Ok(())
        })
    }

    fn read_history(&self, read: &mut dyn FnMut(&History)) {
        self.control.read_history(read);
    }

    fn nodes(&self) -> Vec<String> {
        self.control
            .hosts()
            .into_iter()
            .filter(|h| h != HARNESS_HOST)
            .collect()
    }
}

impl SimWorld {
    /// Every host but `nodes`, the harness included.
    fn others(&self, nodes: &[String]) -> Vec<String> {
        self.control
            .hosts()
            .into_iter()
            .filter(|h| !nodes.contains(h))
            .collect()
    }
}
