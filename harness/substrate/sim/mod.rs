//! The embedded default substrate: the whole network inside one turmoil simulation.
//!
//! One turmoil host per node, named as scenario/layout.rs names nodes (region last), plus a
//! `harness` host that runs the runner. turmoil's `Sim` can only be changed between steps,
//! so code inside the simulation (the runner, a console's deployer) asks for changes through
//! [`SimControl`], and the step loop in [`drive`] carries them out: starting a deployed
//! node, crashing and restarting hosts, cutting and repairing links, changing latency.
//! Node state that Fabric keeps on disk lives outside the host (each program's factory
//! captures it), so it survives a crash and restart.

pub mod links;
pub mod world;

use crate::history::{EventKind, History};
use crate::scenario::layout::region_of;
use crate::scenario::model::Topology;
use crate::substrate::{RunStopped, StopCause};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

/// The embedded default substrate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sim;

impl crate::substrate::Substrate for Sim {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn run(
        &self,
        scenario: &crate::scenario::model::Scenario,
        progress: &dyn crate::runner::progress::Progress,
    ) -> Result<crate::substrate::RunOutput, crate::substrate::SubstrateError> {
        let tick = scenario.simulation.tick;
        let shared = Rc::new(scenario.clone());
        let mut tracker = crate::runner::progress::Tracker::new(scenario);
        let run = drive(
            &scenario.topology,
            scenario.seed,
            tick,
            scenario.simulation.max_duration,
            move |control| {
                let world = Rc::new(world::SimWorld {
                    control,
                    node_logs: scenario.simulation.node_logs,
                });
                crate::runner::execute(world, shared)
            },
            |elapsed, history| {
                progress.update(&tracker.status(elapsed.as_millis() as u64, history));
            },
        );
        let stopped = run.outcome.err().map(|stop| match stop {
            Stop::OutOfTime => RunStopped {
                cause: StopCause::Input,
                message: format!(
                    "the run did not finish within simulation.max_duration ({}); raise it in the scenario",
                    crate::scenario::duration::format(scenario.simulation.max_duration)
                ),
            },
            Stop::Failed(message) => RunStopped {
                cause: StopCause::Harness,
                message,
            },
        });
        Ok(crate::substrate::RunOutput {
            history: run.history,
            sim_time_ms: run.elapsed.as_millis() as u64,
            latency_resolution_ms: tick.as_secs_f64() * 1000.0,
            stopped,
            notes: Vec::new(),
        })
    }
}

pub use crate::substrate::world::HARNESS_HOST;

/// A node program: called again on every restart, with the node's disk captured inside.
pub type HostProgram = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = turmoil::Result>>>>;

/// A change to the simulated world, carried out between two steps.
pub enum Command {
    /// Start a node (a console deploying a CA or peer, or the initial network).
    StartHost { name: String, program: HostProgram },
    /// Kill hosts' software: their streams end with FIN or RST, in-memory state is gone,
    /// disks stay. The hosts' kernels stay up: a dial to a killed host is refused and a
    /// segment of one of its old connections is answered with RST, at once.
    Kill(Vec<String>),
    /// Start killed hosts again from their disks.
    Restart(Vec<String>),
    /// Silence traffic from every host of `from` to every host of `to` (links.rs: held, as
    /// a lost path holds it).
    Silence { from: Vec<String>, to: Vec<String> },
    /// Let it flow again; what TCP held arrives at its next retransmission.
    Restore { from: Vec<String>, to: Vec<String> },
    /// Set the one-way delay between every host of one side and every host of the other.
    SetLatency(Vec<String>, Vec<String>, Duration),
}

struct Shared {
    commands: VecDeque<Command>,
    history: History,
    /// Hosts that exist, with whether their software runs.
    hosts: BTreeMap<String, bool>,
}

/// The handle code inside the simulation uses to change the world and record history.
#[derive(Clone)]
pub struct SimControl {
    shared: Rc<RefCell<Shared>>,
}

impl SimControl {
    fn new() -> SimControl {
        SimControl {
            shared: Rc::new(RefCell::new(Shared {
                commands: VecDeque::new(),
                history: History::default(),
                hosts: BTreeMap::new(),
            })),
        }
    }

    /// Simulated milliseconds since the simulation started.
    pub fn now_ms(&self) -> u64 {
        turmoil::sim_elapsed()
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }

    /// Queues `command`; it takes effect before the next tick.
    pub fn submit(&self, command: Command) {
        self.shared.borrow_mut().commands.push_back(command);
    }

    /// Queues `command` and returns once it took effect.
    pub async fn apply(&self, command: Command) {
        self.submit(command);
        // The step loop drains commands after this host's tick; one tick of sleep is enough.
        while !self.shared.borrow().commands.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Records an event at the current simulated time.
    pub fn record(&self, kind: EventKind) {
        let at_ms = self.now_ms();
        self.shared.borrow_mut().history.push(at_ms, kind);
    }

    /// Hosts that exist now.
    pub fn hosts(&self) -> Vec<String> {
        self.shared.borrow().hosts.keys().cloned().collect()
    }

    /// Hosts of `region` that exist now.
    pub fn hosts_in_region(&self, region: &str) -> Vec<String> {
        self.shared
            .borrow()
            .hosts
            .keys()
            .filter(|h| region_of(h) == region && h.as_str() != HARNESS_HOST)
            .cloned()
            .collect()
    }

    pub fn is_running(&self, host: &str) -> bool {
        self.shared
            .borrow()
            .hosts
            .get(host)
            .copied()
            .unwrap_or(false)
    }

    pub fn read_history(&self, read: &mut dyn FnMut(&History)) {
        read(&self.shared.borrow().history);
    }

    fn take_history(&self) -> History {
        std::mem::take(&mut self.shared.borrow_mut().history)
    }
}

/// How a simulated run ended early.
#[derive(Debug)]
pub enum Stop {
    /// Simulated time reached `max_duration` before the runner finished.
    OutOfTime,
    /// The runner or a node failed.
    Failed(String),
}

/// What [`drive`] hands back: the history recorded until the end, however the run ended.
#[derive(Debug)]
pub struct Driven {
    pub history: History,
    pub elapsed: Duration,
    pub outcome: Result<(), Stop>,
}

/// turmoil's per-socket buffer and accept backlog, in segments and connection attempts.
const SOCKET_CAPACITY: usize = 4096;

/// Builds the turmoil simulation for `topology` with `tick`, runs `runner` on the harness
/// host until it finishes, carrying out the commands it submits; returns the recorded
/// history and the simulated time. `each_second` sees the history as it grows, once per
/// simulated second.
pub fn drive<F>(
    topology: &Topology,
    seed: u64,
    tick: Duration,
    max_duration: Duration,
    runner: impl FnOnce(SimControl) -> F,
    mut each_second: impl FnMut(Duration, &History),
) -> Driven
where
    F: std::future::Future<Output = Result<(), String>> + 'static,
{
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .tick_duration(tick)
        .simulation_duration(max_duration)
        .min_message_latency(links::effective_delay(topology.intra_region_rtt / 2, tick))
        .max_message_latency(links::effective_delay(topology.intra_region_rtt / 2, tick))
        // turmoil panics when more than this many connection attempts wait on one listener
        // (a kernel drops them instead); at the heal of a lost region every dial held during
        // the outage arrives at once, which `hadr chaos` found exceeds turmoil's default 64.
        .tcp_capacity(SOCKET_CAPACITY)
        .build();
    let control = SimControl::new();
    let outcome: Rc<RefCell<Option<Result<(), String>>>> = Rc::new(RefCell::new(None));
    let future = runner(control.clone());
    let result_slot = outcome.clone();
    control
        .shared
        .borrow_mut()
        .hosts
        .insert(HARNESS_HOST.to_string(), true);
    sim.client(HARNESS_HOST, async move {
        let result = future.await;
        *result_slot.borrow_mut() = Some(result);
        Ok(())
    });
    let mut network = Network::default();
    let mut next_second = Duration::ZERO;
    let stepped = loop {
        match sim.step() {
            Ok(true) => break Ok(()),
            Ok(false) => {
                apply_commands(&mut sim, &control, &mut network, topology, tick);
                let now = sim.elapsed();
                network.step(&mut sim, now);
                if now >= next_second {
                    each_second(now, &control.shared.borrow().history);
                    next_second = now + Duration::from_secs(1);
                }
            }
            Err(_) if sim.elapsed() > max_duration => break Err(Stop::OutOfTime),
            Err(e) => break Err(Stop::Failed(e.to_string())),
        }
    };
    let outcome = stepped.and_then(|()| {
        outcome
            .borrow_mut()
            .take()
            .unwrap_or_else(|| Err("the runner did not finish".into()))
            .map_err(Stop::Failed)
    });
    Driven {
        history: control.take_history(),
        elapsed: sim.elapsed(),
        outcome,
    }
}

/// The network's state the step loop keeps between steps: silenced links and the held
/// links turmoil carries them on (links.rs), and which hosts' software is killed.
#[derive(Default)]
struct Network {
    silences: links::Silences,
    held: BTreeMap<(IpAddr, IpAddr), links::HeldLink>,
    killed: BTreeMap<String, Rc<Cell<bool>>>,
}

impl Network {
    /// The held link between two hosts, held in turmoil when it was not yet.
    fn hold(
        &mut self,
        sim: &mut turmoil::Sim<'_>,
        x: &str,
        y: &str,
        delay: Duration,
    ) -> &mut links::HeldLink {
        let (ip_x, ip_y) = (sim.lookup(x), sim.lookup(y));
        let key = (ip_x.min(ip_y), ip_x.max(ip_y));
        self.held.entry(key).or_insert_with(|| {
            sim.hold(x, y);
            links::HeldLink::new(key.0, key.1, delay)
        })
    }

    /// Applies the silences of `x -> y` and `y -> x` to their held link.
    fn sync(&mut self, sim: &mut turmoil::Sim<'_>, x: &str, y: &str, delay: Duration) {
        let (x_silent, y_silent) = (self.silences.is_silent(x, y), self.silences.is_silent(y, x));
        let ip_x = sim.lookup(x);
        let link = self.hold(sim, x, y, delay);
        let (from_a, from_b) = if ip_x == link.a {
            (x_silent, y_silent)
        } else {
            (y_silent, x_silent)
        };
        link.silent_from_a = from_a;
        link.silent_from_b = from_b;
        link.changed();
    }

    /// Marks `host`'s software killed (its restarts run [`kernel_only`]) or alive again.
    fn set_killed(&self, host: &str, killed: bool) {
        if let Some(flag) = self.killed.get(host) {
            flag.set(killed);
        }
    }

    /// Forwards what flows on held links, and releases those nothing holds any more.
    fn step(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration) {
        links::forward(sim, &mut self.held, now);
        let free: Vec<_> = self
            .held
            .iter()
            .filter(|(_, link)| link.is_free(now))
            .map(|(key, _)| *key)
            .collect();
        for key in free {
            self.held.remove(&key);
            sim.release(key.0, key.1);
        }
    }
}

/// What runs on a host whose processes were killed: nothing but its kernel, which turmoil
/// runs for every host with software.
fn kernel_only() -> Pin<Box<dyn Future<Output = turmoil::Result>>> {
    Box::pin(std::future::pending())
}

fn apply_commands(
    sim: &mut turmoil::Sim<'_>,
    control: &SimControl,
    network: &mut Network,
    topology: &Topology,
    tick: Duration,
) {
    let link_delay = |a: &str, b: &str| {
        links::effective_delay(topology.one_way_delay(region_of(a), region_of(b)), tick)
    };
    loop {
        let Some(command) = control.shared.borrow_mut().commands.pop_front() else {
            return;
        };
        let now = sim.elapsed();
        let at_ms = now.as_millis() as u64;
        let record = |node: &str, up: bool| {
            control.shared.borrow_mut().history.push(
                at_ms,
                EventKind::NodeState {
                    node: node.to_string(),
                    up,
                },
            );
        };
        match command {
            Command::StartHost { name, program } => {
                let existing = control.hosts();
                let killed = Rc::new(Cell::new(false));
                network.killed.insert(name.clone(), killed.clone());
                sim.host(name.as_str(), move || {
                    if killed.get() {
                        kernel_only()
                    } else {
                        program()
                    }
                });
                for other in existing {
                    sim.set_link_latency(name.as_str(), other.as_str(), link_delay(&name, &other));
                }
                control.shared.borrow_mut().hosts.insert(name.clone(), true);
                record(&name, true);
            }
            Command::Kill(hosts) => {
                for host in hosts {
                    if control.is_running(&host) {
                        // Not `sim.crash`: turmoil delivers nothing to a crashed host, so a
                        // dial to it would neither be refused nor time out before the
                        // restart, when the new process would accept it. Restarting the
                        // host into a program that does nothing drops every task (FIN or
                        // RST on each stream, as `crash` does) and leaves its network stack
                        // answering: SYNs to ports nothing listens on are refused, segments
                        // of connections it no longer has get RST.
                        network.set_killed(&host, true);
                        sim.bounce(host.as_str());
                        control
                            .shared
                            .borrow_mut()
                            .hosts
                            .insert(host.clone(), false);
                        record(&host, false);
                    }
                }
            }
            Command::Restart(hosts) => {
                for host in hosts {
                    if !control.is_running(&host) {
                        network.set_killed(&host, false);
                        sim.bounce(host.as_str());
                        control.shared.borrow_mut().hosts.insert(host.clone(), true);
                        record(&host, true);
                    }
                }
            }
            Command::Silence { from, to } => {
                for x in &from {
                    for y in to.iter().filter(|y| *y != x) {
                        network.silences.silence(x, y, now);
                        network.sync(sim, x, y, link_delay(x, y));
                    }
                }
            }
            Command::Restore { from, to } => {
                for x in &from {
                    for y in to.iter().filter(|y| *y != x) {
                        let Some(silenced_for) = network.silences.restore(x, y, now) else {
                            continue;
                        };
                        let delay = link_delay(x, y);
                        let retransmission = links::retransmission_after(silenced_for, 2 * delay);
                        let (ip_x, ip_y) = (sim.lookup(x.as_str()), sim.lookup(y.as_str()));
                        let held_connections =
                            links::held_connections(sim, ip_x.min(ip_y), ip_x.max(ip_y));
                        network.sync(sim, x, y, delay);
                        let link = network.hold(sim, x, y, delay);
                        // Nothing held: nothing to retransmit.
                        let release_at = if held_connections.is_empty() {
                            now
                        } else {
                            now + retransmission.saturating_sub(silenced_for)
                        };
                        match &mut link.healing {
                            Some(healing) => {
                                healing.held_connections.extend(held_connections);
                                healing.release_at = healing.release_at.max(release_at);
                            }
                            None => {
                                link.healing = Some(links::Healing {
                                    held_connections,
                                    release_at,
                                })
                            }
                        }
                    }
                }
            }
            Command::SetLatency(a, b, delay) => {
                let delay = links::effective_delay(delay, tick);
                for x in &a {
                    for y in &b {
                        sim.set_link_latency(x.as_str(), y.as_str(), delay);
                        let (ip_x, ip_y) = (sim.lookup(x.as_str()), sim.lookup(y.as_str()));
                        if let Some(link) = network.held.get_mut(&(ip_x.min(ip_y), ip_x.max(ip_y)))
                        {
                            link.delay = delay;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::config::FabricConfig;
    use crate::scenario::model::{Chaincode, Channel, LatencyMatrix, OrderingService, Region};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn topology() -> Topology {
        let mut rtt_ms = BTreeMap::new();
        rtt_ms.insert(("eastus".to_string(), "westus".to_string()), 69.0);
        Topology {
            latency: LatencyMatrix {
                source: "inline".into(),
                statistic: "test".into(),
                rtt_ms,
            },
            intra_region_rtt: Duration::from_millis(2),
            regions: vec![
                Region {
                    name: "east".into(),
                    location: "eastus".into(),
                },
                Region {
                    name: "west".into(),
                    location: "westus".into(),
                },
            ],
            ordering_service: OrderingService {
                first_leader: Default::default(),
                msp_id: "OrdererMSP".into(),
                nodes: vec![],
            },
            organizations: vec![],
            channel: Channel {
                name: "ch".into(),
                chaincode: Chaincode {
                    name: "assets".into(),
                    version: "1".into(),
                    endorsement_policy: Default::default(),
                },
            },
            fabric: FabricConfig::default(),
        }
    }

    /// A node that answers "pong" to anything, counting its (re)starts on its "disk".
    fn echo_node(starts: Rc<RefCell<u32>>) -> HostProgram {
        Rc::new(move || {
            *starts.borrow_mut() += 1;
            Box::pin(async {
                let listener = turmoil::net::TcpListener::bind("0.0.0.0:7000").await?;
                loop {
                    let (mut stream, _) = listener.accept().await?;
                    tokio::task::spawn_local(async move {
                        let mut buf = [0u8; 4];
                        while stream.read_exact(&mut buf).await.is_ok() {
                            let _ = stream.write_all(b"pong").await;
                        }
                    });
                }
            })
        })
    }

    async fn round_trip(host: &str) -> Option<Duration> {
        let attempt = async {
            let mut stream = turmoil::net::TcpStream::connect(format!("{host}:7000"))
                .await
                .ok()?;
            let start = tokio::time::Instant::now();
            stream.write_all(b"ping").await.ok()?;
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.ok()?;
            Some(start.elapsed())
        };
        tokio::time::timeout(Duration::from_secs(2), attempt)
            .await
            .ok()
            .flatten()
    }

    #[test]
    fn kill_silence_latency_and_restart_from_disk() {
        let starts = Rc::new(RefCell::new(0));
        let program = echo_node(starts.clone());
        let Driven {
            history,
            elapsed,
            outcome,
        } = drive(
            &topology(),
            1,
            Duration::from_millis(1),
            Duration::from_secs(60),
            move |control| async move {
                control
                    .apply(Command::StartHost {
                        name: "node.west".into(),
                        program,
                    })
                    .await;
                control
                    .apply(Command::StartHost {
                        name: "peer.east".into(),
                        program: echo_node(Rc::new(RefCell::new(0))),
                    })
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                // Harness to a node: intra-region delay (1 ms each way) plus processing ticks.
                let rtt = round_trip("node.west").await.ok_or("node unreachable")?;
                if rtt > Duration::from_millis(5) {
                    return Err(format!("harness round trip {rtt:?}"));
                }
                control.apply(Command::Kill(vec!["node.west".into()])).await;
                if round_trip("node.west").await.is_some() {
                    return Err("a crashed node answered".into());
                }
                control
                    .apply(Command::Restart(vec!["node.west".into()]))
                    .await;
                tokio::time::sleep(Duration::from_millis(10)).await;
                round_trip("node.west")
                    .await
                    .ok_or("restarted node unreachable")?;
                control
                    .apply(Command::Silence {
                        from: vec![HARNESS_HOST.into()],
                        to: vec!["node.west".into()],
                    })
                    .await;
                if round_trip("node.west").await.is_some() {
                    return Err("a silenced node answered".into());
                }
                control
                    .apply(Command::Restore {
                        from: vec![HARNESS_HOST.into()],
                        to: vec!["node.west".into()],
                    })
                    .await;
                control
                    .apply(Command::SetLatency(
                        vec![HARNESS_HOST.into()],
                        vec!["node.west".into()],
                        Duration::from_millis(100),
                    ))
                    .await;
                let rtt = round_trip("node.west")
                    .await
                    .ok_or("unreachable after repair")?;
                if rtt < Duration::from_millis(200) || rtt > Duration::from_millis(210) {
                    return Err(format!("round trip with 100 ms each way: {rtt:?}"));
                }
                Ok(())
            },
            |_, _| {},
        );
        outcome.unwrap();
        assert_eq!(
            *starts.borrow(),
            2,
            "started, then restarted once from the same factory"
        );
        assert!(elapsed > Duration::from_secs(2));
        let states: Vec<_> = history
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::NodeState { node, up } if node == "node.west" => Some(*up),
                _ => None,
            })
            .collect();
        assert_eq!(states, vec![true, false, true]);
    }

    /// A killed process's host stays up: its kernel closes the process's sockets (FIN, or
    /// RST with unread data), answers segments of those connections with RST and refuses
    /// dials to its ports at once. Nothing waits for a timeout.
    #[test]
    fn a_killed_host_ends_its_connections_and_refuses_dials_at_once() {
        let Driven { outcome, .. } = drive(
            &topology(),
            1,
            Duration::from_millis(1),
            Duration::from_secs(60),
            move |control| async move {
                control
                    .apply(Command::StartHost {
                        name: "node.west".into(),
                        program: echo_node(Rc::new(RefCell::new(0))),
                    })
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                // One stream the client only reads from, one it writes to after the kill.
                let mut reader = turmoil::net::TcpStream::connect("node.west:7000")
                    .await
                    .map_err(|e| e.to_string())?;
                let mut writer = turmoil::net::TcpStream::connect("node.west:7000")
                    .await
                    .map_err(|e| e.to_string())?;
                let mut buf = [0u8; 4];
                writer.write_all(b"ping").await.map_err(|e| e.to_string())?;
                writer
                    .read_exact(&mut buf)
                    .await
                    .map_err(|e| e.to_string())?;
                control.apply(Command::Kill(vec!["node.west".into()])).await;
                let killed_at = tokio::time::Instant::now();
                let soon = Duration::from_millis(100);
                let read = tokio::time::timeout(soon, reader.read(&mut buf)).await;
                if !matches!(read, Ok(Ok(0)) | Ok(Err(_))) {
                    return Err(format!("reader after the kill: {read:?}"));
                }
                let exchange = async {
                    writer.write_all(b"ping").await?;
                    writer.read_exact(&mut buf).await
                };
                let write = tokio::time::timeout(soon, exchange).await;
                if !matches!(write, Ok(Err(_))) {
                    return Err(format!("writer after the kill: {write:?}"));
                }
                let dial =
                    tokio::time::timeout(soon, turmoil::net::TcpStream::connect("node.west:7000"))
                        .await;
                if !matches!(dial, Ok(Err(_))) {
                    return Err(format!(
                        "a dial to the killed host: {:?}",
                        dial.map(|r| r.is_ok())
                    ));
                }
                if killed_at.elapsed() > Duration::from_millis(50) {
                    return Err(format!("took {:?}", killed_at.elapsed()));
                }
                Ok(())
            },
            |_, _| {},
        );
        outcome.unwrap();
    }

    #[test]
    fn cross_region_delay_comes_from_the_matrix_and_rounds_up_to_the_tick() {
        let topology = topology();
        assert_eq!(
            topology.one_way_delay("east", "west"),
            Duration::from_micros(34_500)
        );
        assert_eq!(
            topology.one_way_delay("east", "east"),
            Duration::from_millis(1)
        );
        let tick = Duration::from_millis(10);
        assert_eq!(
            links::effective_delay(Duration::from_micros(34_500), tick),
            Duration::from_millis(40)
        );
        assert_eq!(links::effective_delay(Duration::from_millis(1), tick), tick);
        assert_eq!(
            links::effective_delay(Duration::from_millis(20), tick),
            Duration::from_millis(20)
        );
    }
}
