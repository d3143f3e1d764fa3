//! The runner's [`World`] inside the turmoil simulation.

use super::{Command, HostProgram, SimControl, HARNESS_HOST};
use crate::clock::Clock;
use crate::history::EventKind;
use crate::net::{Net, SimNet};
use crate::runner::world::{Change, LocalFuture, World};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub struct SimWorld {
    pub control: SimControl,
    pub tick: Duration,
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

    fn apply(&self, change: Change) -> LocalFuture<'_> {
        let command = match change {
            Change::Launch { name, node } => {
                let starts = Rc::new(Cell::new(0u64));
                let program: HostProgram = Rc::new(move || {
                    let restarts = starts.replace(starts.get() + 1);
                    let running = node.start(Arc::new(SimNet), restarts);
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
        Box::pin(self.control.apply(command))
    }

    fn nodes(&self) -> Vec<String> {
        self.control
            .hosts()
            .into_iter()
            .filter(|h| h != HARNESS_HOST)
            .collect()
    }

    fn latency_resolution(&self) -> Duration {
        self.tick
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
