//! The runner's [`World`] on Docker: a node spec becomes a container running `hadr node`,
//! with a volume (a host folder) for its disk and history and the run's hosts file; faults
//! become `docker kill`/`start` and DROP rules in the nodes' network namespaces.

use super::docker::{docker, DockerError, RUN_LABEL};
use super::network::{self, Regions};
use crate::clock::Clock;
use crate::history::{Event, EventKind, History};
use crate::net::Net;
use crate::node::process::{HostsNet, ProcessSpec, HISTORY_FILE};
use crate::node::spec::NodeSpec;
use crate::scenario::layout::region_of;
use crate::substrate::world::{Change, LocalFuture, World, WorldError, HARNESS_HOST};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where each node's volume and the run's hosts files live on the host.
pub struct RunFolders {
    pub root: PathBuf,
}

impl RunFolders {
    fn node(&self, name: &str) -> PathBuf {
        self.root.join("nodes").join(name)
    }

    /// The hosts file containers of `region` read (`harness` is the host's address on
    /// their own network).
    fn hosts_dir(&self, region: &str) -> PathBuf {
        self.root.join("hosts").join(region)
    }

    fn harness_hosts(&self) -> PathBuf {
        self.root.join("hosts").join("harness.json")
    }
}

struct Node {
    container: String,
    /// Where it accepts connections once it serves.
    ready_port: Option<u16>,
    region: String,
    ip: Ipv4Addr,
    running: bool,
    /// Offset of the history file read so far.
    history_read: u64,
}

#[derive(Default)]
struct State {
    nodes: BTreeMap<String, Node>,
    /// Nodes cut off from every other host.
    isolated: BTreeSet<String>,
    /// Silenced paths, from -> to.
    silenced: BTreeSet<(String, String)>,
    history: History,
    /// Addresses handed out per region.
    next_address: BTreeMap<String, u8>,
}

pub struct ContainerWorld {
    run_id: String,
    image: String,
    regions: Regions,
    folders: RunFolders,
    epoch_unix_ms: u64,
    node_logs: bool,
    net: Arc<HostsNet>,
    state: RefCell<State>,
}

/// How long a started node may take to accept connections.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn world_error(e: DockerError) -> WorldError {
    WorldError(e.0)
}

impl ContainerWorld {
    pub fn new(
        run_id: String,
        image: String,
        regions: Regions,
        folders: RunFolders,
        epoch_unix_ms: u64,
        node_logs: bool,
    ) -> ContainerWorld {
        let net = Arc::new(HostsNet::on_shared_host(Some(folders.harness_hosts())));
        ContainerWorld {
            run_id,
            image,
            regions,
            folders,
            epoch_unix_ms,
            node_logs,
            net,
            state: RefCell::new(State::default()),
        }
    }

    pub fn clock_now_ms(&self) -> u64 {
        self.clock().now().as_millis() as u64
    }

    /// The history so far, with the nodes' files read to their ends, in time order.
    pub fn take_history(&self) -> History {
        self.collect_node_histories();
        let mut history = std::mem::take(&mut self.state.borrow_mut().history);
        history.events.sort_by_key(|e| e.at_ms);
        history
    }

    /// A copy of the history so far, for progress.
    pub fn with_history<T>(&self, f: impl FnOnce(&History) -> T) -> T {
        f(&self.state.borrow().history)
    }

    /// Reads what the nodes wrote to their history files since the last read.
    pub fn collect_node_histories(&self) {
        let mut state = self.state.borrow_mut();
        let names: Vec<String> = state.nodes.keys().cloned().collect();
        for name in names {
            let path = self.folders.node(&name).join(HISTORY_FILE);
            let offset = state.nodes[&name].history_read;
            let (events, read) = read_new_lines(&path, offset);
            if let Some(node) = state.nodes.get_mut(&name) {
                node.history_read = read;
            }
            for event in events {
                state.history.push(event.at_ms, event.kind);
            }
        }
    }

    fn write_hosts(&self) -> Result<(), WorldError> {
        let state = self.state.borrow();
        let mut table: BTreeMap<String, IpAddr> = state
            .nodes
            .iter()
            .map(|(name, node)| (name.clone(), IpAddr::V4(node.ip)))
            .collect();
        write_atomically(&self.folders.harness_hosts(), &table)?;
        for (region, network) in &self.regions.networks {
            table.insert(HARNESS_HOST.to_string(), IpAddr::V4(network.gateway()));
            let dir = self.folders.hosts_dir(region);
            write_atomically(&dir.join("hosts.json"), &table)?;
        }
        Ok(())
    }

    async fn start(&self, spec: NodeSpec) -> Result<(), WorldError> {
        let name = spec.name.clone();
        let region = region_of(&name).to_string();
        let network = self.regions.networks.get(&region).cloned().ok_or_else(|| {
            WorldError(format!(
                "{name}: region {region} has no network in this run"
            ))
        })?;
        let ip = {
            let mut state = self.state.borrow_mut();
            let index = state.next_address.entry(region.clone()).or_insert(0);
            let ip = network.node_address(*index);
            *index += 1;
            ip
        };
        let data = self.folders.node(&name);
        std::fs::create_dir_all(&data)
            .map_err(|e| WorldError(format!("{name}: its volume {}: {e}", data.display())))?;
        let role = spec.role.name();
        let ready_port = spec.role.ready_port();
        let process = ProcessSpec {
            node: spec,
            epoch_unix_ms: self.epoch_unix_ms,
            hosts_file: Some(PathBuf::from("/hosts/hosts.json")),
            data_dir: PathBuf::from("/data"),
            start_gate: Some(PathBuf::from("/data/start")),
            node_logs: self.node_logs,
        };
        write_atomically(&data.join("spec.json"), &process)?;
        let container = format!("hadr-{}-{name}", self.run_id);
        let volume = format!("{}:/data", data.display());
        let hosts = format!("{}:/hosts:ro", self.folders.hosts_dir(&region).display());
        let label = format!("{RUN_LABEL}={}", self.run_id);
        let ip_text = ip.to_string();
        docker(&[
            "run",
            "-d",
            "--name",
            &container,
            "--hostname",
            &name,
            "--label",
            &label,
            "--network",
            &network.name,
            "--ip",
            &ip_text,
            "-v",
            &volume,
            "-v",
            &hosts,
            "--stop-timeout",
            "3",
            &self.image,
            "node",
            "--role",
            role,
            "--spec",
            "/data/spec.json",
        ])
        .await
        .map_err(world_error)?;
        self.state.borrow_mut().nodes.insert(
            name.clone(),
            Node {
                container,
                ready_port,
                region,
                ip,
                running: true,
                history_read: 0,
            },
        );
        self.write_hosts()?;
        self.record(EventKind::NodeState {
            node: name.clone(),
            up: true,
        });
        self.open_gate(&name).await
    }

    /// Sets up the node's routes and faults in its (new) network namespace, then lets its
    /// process start.
    async fn open_gate(&self, name: &str) -> Result<(), WorldError> {
        let (container, region) = {
            let state = self.state.borrow();
            let node = &state.nodes[name];
            (node.container.clone(), node.region.clone())
        };
        let pid = network::pid_of(&container).await.map_err(world_error)?;
        network::route_to_other_regions(pid, &self.regions, &region)
            .await
            .map_err(world_error)?;
        let isolated = self.state.borrow().isolated.contains(name);
        // The router's rules outlive the restart (the address stays); the node's own rule
        // against the harness went with its old network namespace.
        if isolated {
            self.cut_from_harness(pid, &region, "-I").await?;
        }
        let gate = self.folders.node(name).join("start");
        std::fs::write(&gate, b"").map_err(|e| WorldError(format!("{name}: {e}")))?;
        self.wait_until_serving(name).await
    }

    /// Returns once the node accepts connections on its last listener (on `sim` a started
    /// node listens at once; here its process needs a moment), or fails after
    /// [`READY_TIMEOUT`] with its log. An isolated node is not waited for: nothing reaches it.
    async fn wait_until_serving(&self, name: &str) -> Result<(), WorldError> {
        let (ip, port, container, isolated) = {
            let state = self.state.borrow();
            let node = &state.nodes[name];
            (
                node.ip,
                node.ready_port,
                node.container.clone(),
                state.isolated.contains(name),
            )
        };
        let Some(port) = port.filter(|_| !isolated) else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let attempt = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                tokio::net::TcpStream::connect((ip, port)),
            );
            if let Ok(Ok(_)) = attempt.await {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let log = docker(&["logs", "--tail", "20", &container])
                    .await
                    .unwrap_or_default();
                return Err(WorldError(format!(
                    "{name} did not accept connections on {ip}:{port} within {READY_TIMEOUT:?}; \
                     its log ends: {log}"
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn ip_of(&self, name: &str) -> Option<Ipv4Addr> {
        self.state.borrow().nodes.get(name).map(|n| n.ip)
    }

    fn running_pid_target(&self, name: &str) -> Option<String> {
        let state = self.state.borrow();
        state
            .nodes
            .get(name)
            .filter(|n| n.running)
            .map(|n| n.container.clone())
    }

    async fn kill(&self, names: &[String]) -> Result<(), WorldError> {
        for name in names {
            let Some(container) = self.running_pid_target(name) else {
                continue;
            };
            // The gate closes first: at the restart the process waits for its routes again.
            let _ = std::fs::remove_file(self.folders.node(name).join("start"));
            docker(&["kill", "--signal", "KILL", &container])
                .await
                .map_err(world_error)?;
            // `docker kill` returns once the signal is sent; wait until the container is down.
            docker(&["wait", &container]).await.map_err(world_error)?;
            self.set_running(name, false);
        }
        Ok(())
    }

    /// Notes whether `name`'s process runs, in the state and the history.
    fn set_running(&self, name: &str, up: bool) {
        if let Some(node) = self.state.borrow_mut().nodes.get_mut(name) {
            node.running = up;
        }
        self.record(EventKind::NodeState {
            node: name.to_string(),
            up,
        });
    }

    async fn restart(&self, names: &[String]) -> Result<(), WorldError> {
        for name in names {
            let container = {
                let state = self.state.borrow();
                match state.nodes.get(name) {
                    Some(node) if !node.running => node.container.clone(),
                    _ => continue,
                }
            };
            docker(&["start", &container]).await.map_err(world_error)?;
            self.set_running(name, true);
            self.open_gate(name).await?;
        }
        Ok(())
    }

    async fn isolate(&self, names: &[String], join: bool) -> Result<(), WorldError> {
        let action = if join { "-D" } else { "-I" };
        for name in names {
            let changed = {
                let mut state = self.state.borrow_mut();
                if join {
                    state.isolated.remove(name)
                } else {
                    state.isolated.insert(name.clone())
                }
            };
            let Some(ip) = self.ip_of(name).filter(|_| changed) else {
                continue;
            };
            let ip = ip.to_string();
            self.router_rule(action, &["-s", &ip]).await?;
            self.router_rule(action, &["-d", &ip]).await?;
            if let Some(container) = self.running_pid_target(name) {
                let region = self.state.borrow().nodes[name].region.clone();
                let pid = network::pid_of(&container).await.map_err(world_error)?;
                self.cut_from_harness(pid, &region, action).await?;
            }
        }
        Ok(())
    }

    /// What the harness (the host, on the node's own network) sends the node dropped as it
    /// arrives: the harness's packets vanish, and so do the node's answers to them.
    async fn cut_from_harness(
        &self,
        pid: u32,
        region: &str,
        action: &str,
    ) -> Result<(), WorldError> {
        let Some(network) = self.regions.networks.get(region) else {
            return Ok(());
        };
        let host = network.gateway().to_string();
        network::in_namespace(
            pid,
            "iptables",
            &[action, "INPUT", "-s", &host, "-j", "DROP"],
        )
        .await
        .map(|_| ())
        .map_err(world_error)
    }

    /// A DROP rule in the router's FORWARD chain: traffic between regions vanishes on the
    /// path, neither end is told (no RST, no ICMP), and TCP retransmits until it flows again.
    async fn router_rule(&self, action: &str, matching: &[&str]) -> Result<(), WorldError> {
        let mut args = vec![action, "FORWARD"];
        args.extend_from_slice(matching);
        args.extend_from_slice(&["-j", "DROP"]);
        network::in_namespace(self.router_pid().await?, "iptables", &args)
            .await
            .map(|_| ())
            .map_err(world_error)
    }

    async fn router_pid(&self) -> Result<u32, WorldError> {
        let router = self
            .regions
            .router
            .as_deref()
            .ok_or_else(|| WorldError("the run has no router".into()))?;
        network::pid_of(router).await.map_err(world_error)
    }

    async fn silence(
        &self,
        from: &[String],
        to: &[String],
        restore: bool,
    ) -> Result<(), WorldError> {
        let action = if restore { "-D" } else { "-I" };
        for x in from {
            for y in to.iter().filter(|y| *y != x) {
                let changed = {
                    let mut state = self.state.borrow_mut();
                    let path = (x.clone(), y.clone());
                    if restore {
                        state.silenced.remove(&path)
                    } else {
                        state.silenced.insert(path)
                    }
                };
                let (Some(ip_x), Some(ip_y)) = (self.ip_of(x), self.ip_of(y)) else {
                    continue;
                };
                if !changed {
                    continue;
                }
                if self.state.borrow().nodes[x].region == self.state.borrow().nodes[y].region {
                    return Err(WorldError(format!(
                        "{x} and {y} share a region: the containers substrate silences paths \
                         between regions only"
                    )));
                }
                let (ip_x, ip_y) = (ip_x.to_string(), ip_y.to_string());
                self.router_rule(action, &["-s", &ip_x, "-d", &ip_y])
                    .await?;
            }
        }
        Ok(())
    }
}

/// Writes `value` as JSON to a new file renamed over `path`, so a reader never sees half.
fn write_atomically(path: &Path, value: &impl serde::Serialize) -> Result<(), WorldError> {
    let fail = |e: String| WorldError(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| fail(e.to_string()))?;
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).map_err(|e| fail(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|e| fail(e.to_string()))
}

/// The whole lines of `path` after `offset`, as events, and the offset after them.
fn read_new_lines(path: &Path, offset: u64) -> (Vec<Event>, u64) {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return (Vec::new(), offset);
    };
    let mut text = Vec::new();
    if file.seek(SeekFrom::Start(offset)).is_err() || file.read_to_end(&mut text).is_err() {
        return (Vec::new(), offset);
    }
    let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let events = text[..complete]
        .split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(|line| serde_json::from_slice::<Event>(line).ok())
        .collect();
    (events, offset + complete as u64)
}

impl World for ContainerWorld {
    fn clock(&self) -> Clock {
        Clock::Run {
            epoch_unix_ms: self.epoch_unix_ms,
        }
    }

    fn net(&self) -> Arc<dyn Net> {
        self.net.clone()
    }

    fn record(&self, event: EventKind) {
        let at_ms = self.clock_now_ms();
        self.state.borrow_mut().history.push(at_ms, event);
    }

    fn apply(&self, change: Change) -> LocalFuture<'_, Result<(), WorldError>> {
        Box::pin(async move {
            match change {
                Change::Start(spec) => self.start(*spec).await,
                Change::Kill(nodes) => self.kill(&nodes).await,
                Change::Restart(nodes) => self.restart(&nodes).await,
                Change::Silence { from, to } => self.silence(&from, &to, false).await,
                Change::Restore { from, to } => self.silence(&from, &to, true).await,
                Change::Isolate(nodes) => self.isolate(&nodes, false).await,
                Change::Rejoin(nodes) => self.isolate(&nodes, true).await,
                Change::Delay(..) => Err(WorldError(
                    "the containers substrate cannot change latency (see its capabilities)".into(),
                )),
            }
        })
    }

    fn nodes(&self) -> Vec<String> {
        self.state.borrow().nodes.keys().cloned().collect()
    }

    fn read_history(&self, read: &mut dyn FnMut(&History)) {
        self.collect_node_histories();
        read(&self.state.borrow().history);
    }
}
