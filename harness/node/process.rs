//! One node as an operating-system process on real sockets (`hadr node --role R --spec
//! FILE`): the same program as on `sim`, with the host's clocks, a volume for its disk and a
//! file for its history. The `containers` substrate starts one per container.
//!
//! The process reads a [`ProcessSpec`], waits for its start gate (the substrate sets up the
//! container's routes first), restores its disk from the volume if one was saved, runs until
//! SIGTERM or SIGINT (then saves its disk and exits 0), and saves the disk every second while
//! it changes. A killed process (SIGKILL) loses what changed since its last save, as a Fabric
//! node loses writes it had not yet flushed.

use super::spec::{self, Disk, NodeHost, NodeSpec};
use crate::clock::Clock;
use crate::history::{Event, EventKind};
use crate::net::{Accept, BoxFuture, BoxIo, Net};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// What `hadr node --spec FILE` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub node: NodeSpec,
    /// The run's clock zero ([`Clock::Run`]): the harness's and every node's.
    pub epoch_unix_ms: u64,
    /// A JSON map of host name to address, read again whenever a name is not in it (the
    /// substrate adds nodes as they start); None: names must be addresses.
    pub hosts_file: Option<PathBuf>,
    /// The node's volume: its saved disk, its history, its start count.
    pub data_dir: PathBuf,
    /// The process starts once this file exists.
    pub start_gate: Option<PathBuf>,
    /// Whether the node writes its log lines into the history.
    pub node_logs: bool,
}

/// How long the process waits for its start gate.
const GATE_TIMEOUT: Duration = Duration::from_secs(60);
const SAVE_INTERVAL: Duration = Duration::from_secs(1);
pub const DISK_FILE: &str = "disk.bin";
pub const HISTORY_FILE: &str = "history.jsonl";
const STARTS_FILE: &str = "starts";
/// The largest node spec read: a 100-node network's spec, certificates and all, is well
/// under a megabyte.
const SPEC_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Runs the node of `spec_file` as `role` until a signal stops it.
pub fn run(role: &str, spec_file: &Path) -> Result<(), String> {
    let text = crate::scenario::input::read_text_at_most(
        spec_file,
        "the node spec",
        "the JSON spec the containers substrate writes",
        SPEC_MAX_BYTES,
    )
    .map_err(|e| e.to_string().trim_end().to_string())?;
    let process: ProcessSpec = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not a node spec: {e}",
            spec_file.display(),
            e.line(),
            e.column()
        )
    })?;
    if process.node.role.name() != role {
        return Err(format!(
            "{}: the spec is for a {} (`{}`), not a {role}; pass --role {}",
            spec_file.display(),
            process.node.role.name(),
            process.node.name,
            process.node.role.name()
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(process))
}

async fn serve(process: ProcessSpec) -> Result<(), String> {
    let name = process.node.name.clone();
    let data = process.data_dir.clone();
    if let Some(gate) = &process.start_gate {
        let deadline = tokio::time::Instant::now() + GATE_TIMEOUT;
        while !gate.exists() {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("{name}: {} did not appear", gate.display()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let starts = read_starts(&data);
    std::fs::write(data.join(STARTS_FILE), (starts + 1).to_string())
        .map_err(|e| format!("{name}: cannot write to its volume: {e}"))?;
    let clock = Clock::Run {
        epoch_unix_ms: process.epoch_unix_ms,
    };
    let history = HistoryFile::open(&data.join(HISTORY_FILE), clock)
        .map_err(|e| format!("{name}: cannot open its history file: {e}"))?;
    let host = NodeHost {
        net: Arc::new(HostsNet::new(process.hosts_file.clone())),
        clock,
        record: Rc::new(move |event| history.write(event)),
        node_logs: process.node_logs,
    };
    let saved = std::fs::read(data.join(DISK_FILE)).ok();
    let disk = Disk::restore(&process.node, &host, saved.as_deref())?;
    eprintln!(
        "hadr node: {name} ({}) starting, start {}{}",
        process.node.role.name(),
        starts + 1,
        if saved.is_some() {
            ", from its saved disk"
        } else {
            ""
        }
    );
    let program = spec::start(&process.node, &disk, &host, starts);
    let mut saving = tokio::time::interval(SAVE_INTERVAL);
    let mut last_saved = saved;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("{name}: cannot handle SIGTERM: {e}"))?;
    tokio::pin!(program);
    let outcome = loop {
        tokio::select! {
            ended = &mut program => break ended.map_err(|e| format!("{name}: {e}")),
            _ = terminate.recv() => break Ok(()),
            _ = tokio::signal::ctrl_c() => break Ok(()),
            _ = saving.tick() => save(&disk, &data, &mut last_saved),
        }
    };
    save(&disk, &data, &mut last_saved);
    eprintln!("hadr node: {name} stopped");
    outcome
}

fn read_starts(data: &Path) -> u64 {
    std::fs::read_to_string(data.join(STARTS_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Writes the disk's saved form when it changed: to a new file, then renamed over the old,
/// so a kill mid-write leaves the previous save whole.
fn save(disk: &Disk, data: &Path, last_saved: &mut Option<Vec<u8>>) {
    let Some(bytes) = disk.save() else {
        return;
    };
    if last_saved.as_ref() == Some(&bytes) {
        return;
    }
    let partial = data.join(format!("{DISK_FILE}.partial"));
    let written = std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, data.join(DISK_FILE)));
    match written {
        Ok(()) => *last_saved = Some(bytes),
        Err(e) => eprintln!("hadr node: cannot save the disk: {e}"),
    }
}

/// The node's history events as JSON lines, each with its time on the run's clock.
struct HistoryFile {
    file: std::cell::RefCell<std::fs::File>,
    clock: Clock,
}

impl HistoryFile {
    fn open(path: &Path, clock: Clock) -> io::Result<HistoryFile> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(HistoryFile {
            file: std::cell::RefCell::new(file),
            clock,
        })
    }

    fn write(&self, kind: EventKind) {
        let event = Event {
            at_ms: self.clock.now().as_millis() as u64,
            kind,
        };
        if let Ok(mut line) = serde_json::to_vec(&event) {
            line.push(b'\n');
            // One write per line, so a reader never sees half a line followed by another.
            let _ = self.file.borrow_mut().write_all(&line);
        }
    }
}

/// Real TCP where host names resolve through the substrate's hosts file (a static binary in
/// a `FROM scratch` image has no NSS to ask), or are addresses.
pub struct HostsNet {
    file: Option<PathBuf>,
    known: std::sync::Mutex<BTreeMap<String, IpAddr>>,
    /// Listen on a port the kernel picks, whatever port is asked for: the harness's side,
    /// which shares the host with other runs (nodes each have their own address).
    any_port: bool,
}

impl HostsNet {
    pub fn new(file: Option<PathBuf>) -> HostsNet {
        HostsNet {
            file,
            known: Default::default(),
            any_port: false,
        }
    }

    /// The harness's network on a shared host: listeners on ports the kernel picks.
    pub fn on_shared_host(file: Option<PathBuf>) -> HostsNet {
        HostsNet {
            any_port: true,
            ..HostsNet::new(file)
        }
    }

    fn resolve(&self, host: &str) -> io::Result<IpAddr> {
        if let Ok(ip) = host.parse() {
            return Ok(ip);
        }
        if let Some(ip) = self.known.lock().expect("hosts").get(host) {
            return Ok(*ip);
        }
        let table = match &self.file {
            Some(file) => read_hosts(file)?,
            None => BTreeMap::new(),
        };
        let found = table.get(host).copied();
        *self.known.lock().expect("hosts") = table;
        found.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host}: no such host in this run"),
            )
        })
    }
}

/// A hosts file: `{"peer0.org1.us-east": "10.213.1.10", ...}`.
pub fn read_hosts(file: &Path) -> io::Result<BTreeMap<String, IpAddr>> {
    let text = std::fs::read_to_string(file)?;
    serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl Net for HostsNet {
    fn dial<'a>(
        &'a self,
        scheme: &'a str,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<BoxIo>> {
        Box::pin(async move {
            let ip = self.resolve(host)?;
            crate::net::RealNet
                .dial(scheme, &ip.to_string(), port)
                .await
        })
    }

    fn bind(&self, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Accept>>> {
        crate::net::RealNet.bind(if self.any_port { 0 } else { port })
    }
}
