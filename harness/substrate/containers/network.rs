//! Regions as Docker networks: each region its own bridge network with its own /24, and a
//! router container (hadr's image, idle) on every region's network with IP forwarding on.
//! Each node gets a route to the other regions' subnets through the router's address on its
//! own network, so traffic between regions crosses a path a fault can cut per pair of
//! nodes or regions; the host (the harness) reaches every node on the node's own network.
//!
//! Faults act in the node's network namespace, from the host (`nsenter -t PID -n iptables`):
//! DROP rules, so a silenced path answers nothing (no RST), as the fidelity model asks.

use super::docker::{docker, run, DockerError, RUN_LABEL};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// One region's network.
#[derive(Clone, Debug)]
pub struct RegionNetwork {
    pub name: String,
    /// The /24's first three octets.
    pub prefix: [u8; 3],
}

impl RegionNetwork {
    pub fn subnet(&self) -> String {
        format!("{}.0/24", self.dotted())
    }

    fn dotted(&self) -> String {
        let [a, b, c] = self.prefix;
        format!("{a}.{b}.{c}")
    }

    /// The host's address on the network (the bridge): where containers reach the harness.
    pub fn gateway(&self) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, 1)
    }

    /// The router's address on the network.
    pub fn router(&self) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, 254)
    }

    /// The `index`-th node address (from .10).
    pub fn node_address(&self, index: u8) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, 10 + index)
    }
}

/// The networks of a run, by region.
#[derive(Clone, Debug, Default)]
pub struct Regions {
    pub networks: BTreeMap<String, RegionNetwork>,
    pub router: Option<String>,
}

/// Private space the run's /24s are taken from (10.213.0.0/16 upwards); one that overlaps
/// a network the engine already has is skipped.
const FIRST_PREFIX: [u8; 2] = [10, 213];
const ATTEMPTS: u16 = 512;

/// Creates one network per region, labelled with the run, and the router on all of them.
pub async fn create(run_id: &str, regions: &[String], image: &str) -> Result<Regions, DockerError> {
    let mut made = Regions::default();
    let mut candidate: u16 = (u16::from_str_radix(&run_hash(run_id), 16).unwrap_or(0)) % 256;
    for region in regions {
        let name = format!("hadr-{run_id}-{region}");
        let mut attempts = 0;
        loop {
            attempts += 1;
            if attempts > ATTEMPTS {
                return Err(DockerError(format!(
                    "no free /24 in 10.213.0.0/16..10.214.255.0/24 for the network of {region}"
                )));
            }
            let third = candidate % 256;
            let second = FIRST_PREFIX[1] as u16 + candidate / 256 % 2;
            candidate += 1;
            let network = RegionNetwork {
                name: name.clone(),
                prefix: [FIRST_PREFIX[0], second as u8, third as u8],
            };
            let label = format!("{RUN_LABEL}={run_id}");
            let subnet = network.subnet();
            let gateway = network.gateway().to_string();
            let created = docker(&[
                "network",
                "create",
                "--driver",
                "bridge",
                "--label",
                &label,
                "--subnet",
                &subnet,
                "--gateway",
                &gateway,
                &name,
            ])
            .await;
            match created {
                Ok(_) => {
                    made.networks.insert(region.clone(), network);
                    break;
                }
                Err(DockerError(why)) if why.contains("overlap") => continue,
                Err(e) => return Err(e),
            }
        }
    }
    made.router = Some(start_router(run_id, &made, image).await?);
    Ok(made)
}

fn run_hash(run_id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, run_id.as_bytes());
    hex::encode(&digest.as_ref()[..2])
}

/// The router: hadr's image idling (`hadr containers router`), forwarding between regions.
async fn start_router(run_id: &str, regions: &Regions, image: &str) -> Result<String, DockerError> {
    let name = format!("hadr-{run_id}-router");
    let label = format!("{RUN_LABEL}={run_id}");
    let mut networks = regions.networks.values();
    let first = networks
        .next()
        .ok_or_else(|| DockerError("the scenario has no region".into()))?;
    let ip = first.router().to_string();
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        &label,
        "--network",
        &first.name,
        "--ip",
        &ip,
        "--sysctl",
        "net.ipv4.ip_forward=1",
        image,
        "containers",
        "router",
    ])
    .await?;
    for network in networks {
        let ip = network.router().to_string();
        docker(&["network", "connect", "--ip", &ip, &network.name, &name]).await?;
    }
    Ok(name)
}

/// The process ID of a running container, to enter its network namespace.
pub async fn pid_of(container: &str) -> Result<u32, DockerError> {
    let pid = docker(&["inspect", "--format", "{{.State.Pid}}", container]).await?;
    match pid.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(DockerError(format!("{container} is not running"))),
    }
}

/// `nsenter -t PID -n PROGRAM ARGS...`: a host tool in the container's network namespace.
pub async fn in_namespace(pid: u32, program: &str, args: &[&str]) -> Result<String, DockerError> {
    let mut all = vec![
        "-t".to_string(),
        pid.to_string(),
        "-n".into(),
        program.into(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    run("nsenter", &all).await
}

/// Routes from a node on `home` to every other region through the router.
pub async fn route_to_other_regions(
    pid: u32,
    regions: &Regions,
    home: &str,
) -> Result<(), DockerError> {
    let Some(own) = regions.networks.get(home) else {
        return Err(DockerError(format!("no network for region {home}")));
    };
    let via = own.router().to_string();
    for (region, network) in &regions.networks {
        if region != home {
            let subnet = network.subnet();
            in_namespace(pid, "ip", &["route", "replace", &subnet, "via", &via]).await?;
        }
    }
    Ok(())
}

/// What the host needs to drive faults and routes: `nsenter`, `ip`, `iptables`.
pub fn host_tools_missing() -> Option<String> {
    let missing: Vec<&str> = ["nsenter", "ip", "iptables"]
        .into_iter()
        .filter(|tool| {
            std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_err()
        })
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the host lacks {} (util-linux, iproute2, iptables), which the containers substrate \
             uses to route between regions and inject faults",
            missing.join(", ")
        )
    })
}
