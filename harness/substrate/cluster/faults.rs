//! The scenario's faults as actions on clusters.
//!
//! On kind (`--chaos docker`, the default) a region is its node container
//! (`hadr-<region>-control-plane`) on the shared `kind` Docker network, so:
//! - `region_outage`: `cut` = iptables DROP of the region's node IP and pod subnet in every
//!   other node (silence: no RST, dials time out); `lost` = the same, and the node container
//!   stopped (`docker stop`: every process and its memory gone, the node's disk kept) and
//!   started again at the heal; `killed` = the node stopped and started, network left alone.
//! - `partition` / `one_way_partition`: DROP between the sides' node IPs and pod subnets,
//!   both ways or only what the `from` side sends.
//! - `latency`: `tc netem` on the nodes' `eth0`, filtered to the other region's node IP, half
//!   the round trip each way. Needs `sch_netem` in the host kernel (absent on the machine this
//!   was written on: research §0).
//! - `node_crash`: the node's pod deleted (it restarts at once: Kubernetes recreates it).
//!
//! With `--chaos chaos-mesh` latency becomes a `NetworkChaos` delay and node_crash a
//! `PodChaos` pod-failure (held down for the fault's duration, as the scenario means).
//! On kubernetes every fault is Chaos Mesh (there is no Docker access to the nodes).
//! Shapes: chaos-mesh `api/v1alpha1/{networkchaos,podchaos}_types.go`, `examples/*.yaml`
//! (research §4.1); the iptables/tc recipes: research §5.
//!
//! Rules go into one chain per fault and node (`HADR-F<k>`), so a heal, or a cleanup after
//! Ctrl-C, removes them without knowing the addresses they named.

use super::{
    manifests, resource_name, ChaosTool, Clusters, ConsoleChoice, Flavor, Refusal, RegionCluster,
};
use crate::scenario::layout::{self, Role};
use crate::scenario::model::{Fault, FaultKind, OutageMode, Scenario};
use serde_json::{json, Value};
use std::time::Duration;

/// One thing done to the clusters.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// A command run on the host (Docker, kubectl).
    Shell(String),
    /// A Chaos Mesh resource applied in a region's cluster; deleted at the heal.
    Chaos { region: usize, doc: Value },
    /// The Chaos Mesh resource `kind`/`name` deleted from the run's namespace in a region.
    ChaosDelete {
        region: usize,
        kind: String,
        name: String,
    },
    /// A region's node may have a new IP on the `kind` network after a restart: read it
    /// again and re-apply the other regions' CoreDNS with it.
    RefreshNodeIp { region: usize },
}

/// A fault of the scenario, translated.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// 1-based, as the fault's place in `faults:`.
    pub number: usize,
    pub kind: &'static str,
    /// A short slug for file names (`region_outage-us-west`).
    pub slug: String,
    pub at: Duration,
    pub duration: Option<Duration>,
    pub start: Vec<Step>,
    pub heal: Vec<Step>,
    /// How the translation differs from what the scenario means, said plainly.
    pub notes: Vec<String>,
}

fn chain(number: usize) -> String {
    format!("HADR-F{number}")
}

fn exec(node: &RegionCluster, command: &str) -> String {
    format!("docker exec {} {command}", node.node_container)
}

fn ip(region: &RegionCluster) -> String {
    format!("${}", region.node_ip_var)
}

/// Creates fault `number`'s chain on `node`, hooked into INPUT, FORWARD and OUTPUT (pod
/// traffic crosses FORWARD; the node's own, and hostPort answers, INPUT/OUTPUT).
fn chain_create(number: usize, node: &RegionCluster) -> Vec<String> {
    let chain = chain(number);
    let mut out = vec![exec(node, &format!("iptables -N {chain}"))];
    for hook in ["INPUT", "FORWARD", "OUTPUT"] {
        out.push(exec(node, &format!("iptables -I {hook} -j {chain}")));
    }
    out
}

fn chain_remove(number: usize, node: &RegionCluster) -> Vec<String> {
    let chain = chain(number);
    let mut out: Vec<String> = ["INPUT", "FORWARD", "OUTPUT"]
        .iter()
        .map(|hook| exec(node, &format!("iptables -D {hook} -j {chain}")))
        .collect();
    out.push(exec(node, &format!("iptables -F {chain}")));
    out.push(exec(node, &format!("iptables -X {chain}")));
    out
}

/// DROP rules on `node` against `other`: what `other` sends (`incoming`) and what `node`
/// sends to it (`outgoing`).
fn drops(
    number: usize,
    node: &RegionCluster,
    other: &RegionCluster,
    incoming: bool,
    outgoing: bool,
) -> Vec<String> {
    let chain = chain(number);
    let mut out = Vec::new();
    for address in [ip(other), other.pod_subnet.clone()] {
        if incoming {
            out.push(exec(
                node,
                &format!("iptables -A {chain} -s {address} -j DROP"),
            ));
        }
        if outgoing {
            out.push(exec(
                node,
                &format!("iptables -A {chain} -d {address} -j DROP"),
            ));
        }
    }
    out
}

fn regions_of<'a>(clusters: &'a Clusters, names: &[String]) -> Vec<&'a RegionCluster> {
    names.iter().filter_map(|n| clusters.region(n)).collect()
}

fn slug(kind: &FaultKind) -> String {
    let what = match kind {
        FaultKind::RegionOutage { region, .. } => region.clone(),
        FaultKind::Partition { sides } => format!("{}-{}", sides[0].join("+"), sides[1].join("+")),
        FaultKind::OneWayPartition { from, to } => {
            format!("{}-to-{}", from.join("+"), to.join("+"))
        }
        FaultKind::Latency { regions, .. } => format!("{}-{}", regions[0], regions[1]),
        FaultKind::NodeCrash { node } => node.replace('.', "-"),
    };
    format!("{}-{what}", kind.name())
}

/// `90ms`, `1.5s` -> Chaos Mesh / tc duration strings (whole milliseconds).
fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// Go duration for Chaos Mesh's `duration` (`120s`).
fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The pod label selector of scenario node `node` (fabric-operator labels a component's pods
/// `app: <instance name>`, pkg/offering/base/peer/peer.go `GetLabels`).
fn pod_app(clusters: &Clusters, scenario: &Scenario, node: &str) -> Result<String, Refusal> {
    let spec = scenario
        .layout()
        .into_iter()
        .find(|n| n.name == node)
        .ok_or_else(|| Refusal::Input(format!("node_crash: no node `{node}` in the scenario")))?;
    Ok(match spec.role {
        Role::Peer => resource_name(node),
        Role::CertificateAuthority => resource_name(node),
        Role::Orderer => {
            let names = layout::orderer_names(&scenario.topology.ordering_service);
            let index = names.iter().position(|n| n == node).unwrap_or(0);
            format!("{}node{}", manifests::ORDERER_NAME, index + 1)
        }
        Role::Console => match clusters.console {
            ConsoleChoice::Real => manifests::REAL_CONSOLE_NAME.to_string(),
            ConsoleChoice::Mock => manifests::MOCK_CONSOLE_NAME.to_string(),
        },
        Role::Client => {
            return Err(Refusal::Unable(format!(
                "node_crash of `{node}`: the client is hadr itself, outside the clusters; on {} only nodes that are pods can crash",
                clusters.flavor.name()
            )))
        }
    })
}

/// The ingress hosts of `region`'s components: what another region's pods dial (Chaos Mesh
/// `externalTargets`, which takes domain names).
fn hosts(clusters: &Clusters, scenario: &Scenario, region: &RegionCluster) -> Vec<String> {
    let mut out = Vec::new();
    for node in scenario
        .layout()
        .into_iter()
        .filter(|n| n.region == region.region)
    {
        let Ok(app) = pod_app(clusters, scenario, &node.name) else {
            continue;
        };
        let suffix = match node.role {
            Role::Peer => "peer",
            Role::CertificateAuthority => "ca",
            Role::Orderer => "orderer",
            Role::Console => "console",
            Role::Client => continue,
        };
        out.push(clusters.host(region, &app, suffix));
    }
    out
}

fn chaos_doc(
    clusters: &Clusters,
    number: usize,
    kind: &str,
    suffix: &str,
    spec: Value,
    duration: Option<Duration>,
) -> Value {
    let mut spec = spec;
    if let Some(d) = duration {
        spec["duration"] = json!(go_duration(d));
    }
    let mut labels = clusters.labels();
    labels["hadr/fault"] = json!(number.to_string());
    json!({
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": format!("hadr-fault-{number}-{suffix}"),
            "namespace": clusters.namespace,
            "labels": labels,
        },
        "spec": spec,
    })
}

fn run_pods(clusters: &Clusters) -> Value {
    json!({"namespaces": [clusters.namespace]})
}

/// A NetworkChaos in `from` dropping (`partition`) or delaying what the run's pods send to
/// `targets`' hosts.
fn network_chaos(
    clusters: &Clusters,
    scenario: &Scenario,
    fault: &Fault,
    number: usize,
    from: &RegionCluster,
    targets: &[&RegionCluster],
    delay: Option<Duration>,
) -> Step {
    let mut external: Vec<String> = Vec::new();
    for target in targets {
        match clusters.flavor {
            // On kind the other region is one address: its node.
            Flavor::Kind => external.push(ip(target)),
            Flavor::Kubernetes => external.extend(hosts(clusters, scenario, target)),
        }
    }
    let mut spec = json!({
        "action": if delay.is_some() { "delay" } else { "partition" },
        "mode": "all",
        "selector": run_pods(clusters),
        "direction": "to",
        "externalTargets": external,
    });
    if let Some(latency) = delay {
        spec["delay"] = json!({"latency": millis(latency)});
    }
    let kind = if delay.is_some() {
        "delay"
    } else {
        "partition"
    };
    Step::Chaos {
        region: from.index,
        doc: chaos_doc(
            clusters,
            number,
            "NetworkChaos",
            &format!("{kind}-{}", from.region),
            spec,
            fault.duration,
        ),
    }
}

fn pod_failure(
    clusters: &Clusters,
    fault: &Fault,
    number: usize,
    region: &RegionCluster,
    app: Option<&str>,
) -> Step {
    let mut selector = run_pods(clusters);
    if let Some(app) = app {
        selector["labelSelectors"] = json!({"app": app});
    }
    Step::Chaos {
        region: region.index,
        doc: chaos_doc(
            clusters,
            number,
            "PodChaos",
            &format!("pod-failure-{}", app.unwrap_or(&region.region)),
            json!({"action": "pod-failure", "mode": "all", "selector": selector}),
            fault.duration,
        ),
    }
}

/// Every fault of `scenario`, translated for `clusters`; a fault that cannot be done is
/// refused before anything starts.
pub fn translate(clusters: &Clusters, scenario: &Scenario) -> Result<Vec<FaultPlan>, Refusal> {
    scenario
        .faults
        .iter()
        .enumerate()
        .map(|(index, fault)| translate_one(clusters, scenario, fault, index + 1))
        .collect()
}

fn translate_one(
    clusters: &Clusters,
    scenario: &Scenario,
    fault: &Fault,
    number: usize,
) -> Result<FaultPlan, Refusal> {
    if let Some(role) = fault.kind.role() {
        return Err(Refusal::Unable(format!(
            "fault {number} is aimed at `{}`, a role whose holder is known only when the fault starts, and this plan is written before the run: name the node or region",
            role.name()
        )));
    }
    let mut start = Vec::new();
    let mut heal = Vec::new();
    let mut notes = Vec::new();
    // On kind, regions are node containers: outages and partitions always go through Docker
    // and iptables (Chaos Mesh cannot stop a cluster); `--chaos` picks how latency and node
    // crashes are done. On kubernetes everything is Chaos Mesh.
    let docker = clusters.chaos == ChaosTool::Docker;
    let network_by_docker = clusters.flavor == Flavor::Kind;
    let all = &clusters.regions;
    match &fault.kind {
        FaultKind::RegionOutage { region, mode } => {
            let lost = clusters
                .region(region)
                .ok_or_else(|| Refusal::Input(format!("region_outage: no region `{region}`")))?;
            let others: Vec<&RegionCluster> =
                all.iter().filter(|r| r.index != lost.index).collect();
            if network_by_docker {
                if *mode != OutageMode::Killed {
                    for other in &others {
                        start.extend(chain_create(number, other));
                        start.extend(drops(number, other, lost, true, true));
                    }
                }
                if mode.stops_nodes() {
                    start.push(format!("docker stop --time 0 {}", lost.node_container));
                    heal.push(format!("docker start {}", lost.node_container));
                    heal.push(format!(
                        "kubectl --context {} wait --for=condition=Ready node/{} --timeout=180s",
                        lost.context, lost.node_container
                    ));
                }
                let heal_steps: Vec<Step> = heal.drain(..).map(Step::Shell).collect();
                let mut steps = heal_steps;
                if mode.stops_nodes() {
                    steps.push(Step::RefreshNodeIp { region: lost.index });
                }
                if *mode != OutageMode::Killed {
                    for other in &others {
                        steps.extend(chain_remove(number, other).into_iter().map(Step::Shell));
                    }
                }
                if *mode == OutageMode::Killed {
                    notes.push("killed: the node container stops, so other regions see its address vanish (no route after ARP times out) rather than refused connections".to_string());
                }
                return Ok(FaultPlan {
                    number,
                    kind: fault.kind.name(),
                    slug: slug(&fault.kind),
                    at: fault.at,
                    duration: fault.duration,
                    start: start.into_iter().map(Step::Shell).collect(),
                    heal: steps,
                    notes,
                });
            }
            // Chaos Mesh: what the region's pods send to the others, and what the others send
            // to it, dropped; for lost and killed the region's pods held failed as well.
            let mut steps = Vec::new();
            if *mode != OutageMode::Killed {
                steps.push(network_chaos(
                    clusters, scenario, fault, number, lost, &others, None,
                ));
                for other in &others {
                    steps.push(network_chaos(
                        clusters,
                        scenario,
                        fault,
                        number,
                        other,
                        &[lost],
                        None,
                    ));
                }
            }
            if mode.stops_nodes() {
                steps.push(pod_failure(clusters, fault, number, lost, None));
            }
            notes.push(format!(
                "Chaos Mesh acts on the run's pods in namespace {}: the cluster's control plane and ingress controller stay up",
                clusters.namespace
            ));
            return Ok(chaos_plan(number, fault, steps, notes));
        }
        FaultKind::Partition { sides } => {
            let a = regions_of(clusters, &sides[0]);
            let b = regions_of(clusters, &sides[1]);
            if network_by_docker {
                for (side, other_side) in [(&a, &b), (&b, &a)] {
                    for node in side {
                        start.extend(chain_create(number, node));
                        for other in other_side {
                            start.extend(drops(number, node, other, true, true));
                        }
                        heal.extend(chain_remove(number, node));
                    }
                }
            } else {
                let mut steps: Vec<Step> = a
                    .iter()
                    .map(|r| network_chaos(clusters, scenario, fault, number, r, &b, None))
                    .collect();
                steps.extend(
                    b.iter()
                        .map(|r| network_chaos(clusters, scenario, fault, number, r, &a, None)),
                );
                return Ok(chaos_plan(number, fault, steps, notes));
            }
        }
        FaultKind::OneWayPartition { from, to } => {
            let from = regions_of(clusters, from);
            let to = regions_of(clusters, to);
            if network_by_docker {
                // Dropped where it leaves: answers of connections `to` opens are dropped too,
                // as no traffic at all flows from `from` to `to`.
                for node in &from {
                    start.extend(chain_create(number, node));
                    for other in &to {
                        start.extend(drops(number, node, other, false, true));
                    }
                    heal.extend(chain_remove(number, node));
                }
            } else {
                let steps = from
                    .iter()
                    .map(|r| network_chaos(clusters, scenario, fault, number, r, &to, None))
                    .collect();
                notes.push("Chaos Mesh drops what the `from` side's pods send to the `to` side's hosts; answers to connections the `to` side opens leave through the `from` side's ingress controller, outside the run's pods, and still flow".to_string());
                return Ok(chaos_plan(number, fault, steps, notes));
            }
        }
        FaultKind::Latency { regions, rtt } => {
            let pair = regions_of(clusters, regions);
            let (a, b) = (pair[0], pair[1]);
            if docker {
                let half = millis(*rtt / 2);
                for (node, other) in [(a, b), (b, a)] {
                    start.push(exec(node, "tc qdisc add dev eth0 root handle 1: prio bands 4 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"));
                    start.push(exec(
                        node,
                        &format!("tc qdisc add dev eth0 parent 1:4 handle 40: netem delay {half}"),
                    ));
                    start.push(exec(node, &format!("tc filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst {}/32 flowid 1:4", ip(other))));
                    heal.push(exec(node, "tc qdisc del dev eth0 root"));
                }
                notes.push("tc netem needs the sch_netem module in the host's kernel; the base round trip between kind nodes (well under 1 ms) adds to it".to_string());
            } else {
                let steps: Vec<Step> = match clusters.flavor {
                    // Node to node on kind: both directions pass the selected pods.
                    Flavor::Kind => [(a, b), (b, a)]
                        .iter()
                        .map(|(x, y)| {
                            network_chaos(
                                clusters,
                                scenario,
                                fault,
                                number,
                                x,
                                &[y],
                                Some(*rtt / 2),
                            )
                        })
                        .collect(),
                    Flavor::Kubernetes => {
                        notes.push("on existing clusters answers leave through the ingress controller, outside the run's pods, so each side delays what it sends by the whole round trip".to_string());
                        [(a, b), (b, a)]
                            .iter()
                            .map(|(x, y)| {
                                network_chaos(
                                    clusters,
                                    scenario,
                                    fault,
                                    number,
                                    x,
                                    &[y],
                                    Some(*rtt),
                                )
                            })
                            .collect()
                    }
                };
                return Ok(chaos_plan(number, fault, steps, notes));
            }
        }
        FaultKind::NodeCrash { node } => {
            let app = pod_app(clusters, scenario, node)?;
            let region = clusters.region(layout::region_of(node)).ok_or_else(|| {
                Refusal::Input(format!(
                    "node_crash: `{node}` names no region of the scenario"
                ))
            })?;
            if docker {
                start.push(format!(
                    "kubectl --context {} -n {} delete pod -l app={app} --grace-period=0 --force",
                    region.context, clusters.namespace
                ));
                notes.push("the Deployment recreates the pod at once; the scenario's restart at the heal needs --chaos chaos-mesh (PodChaos pod-failure)".to_string());
            } else {
                return Ok(chaos_plan(
                    number,
                    fault,
                    vec![pod_failure(clusters, fault, number, region, Some(&app))],
                    notes,
                ));
            }
        }
    }
    Ok(FaultPlan {
        number,
        kind: fault.kind.name(),
        slug: slug(&fault.kind),
        at: fault.at,
        duration: fault.duration,
        start: start.into_iter().map(Step::Shell).collect(),
        heal: heal.into_iter().map(Step::Shell).collect(),
        notes,
    })
}

fn chaos_plan(number: usize, fault: &Fault, steps: Vec<Step>, notes: Vec<String>) -> FaultPlan {
    FaultPlan {
        number,
        kind: fault.kind.name(),
        slug: slug(&fault.kind),
        at: fault.at,
        duration: fault.duration,
        // Chaos Mesh heals by itself at `duration`; the heal deletes the resources, which
        // also ends a fault without a duration.
        heal: steps
            .iter()
            .filter_map(|s| match s {
                Step::Chaos { region, doc } => Some(Step::ChaosDelete {
                    region: *region,
                    kind: doc["kind"].as_str().unwrap_or_default().to_string(),
                    name: doc["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                }),
                _ => None,
            })
            .collect(),
        start: steps,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::substrate::cluster::{clusters, Options};

    fn scenario_with(kind: FaultKind) -> Scenario {
        let mut scenario = crate::scenario::example();
        scenario.faults = vec![Fault {
            at: Duration::from_secs(60),
            duration: Some(Duration::from_secs(30)),
            kind,
        }];
        scenario
    }

    fn shell(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Shell(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn kind_plan(kind: FaultKind, chaos: Option<ChaosTool>) -> FaultPlan {
        let scenario = scenario_with(kind);
        let mut options = Options::kind(ConsoleChoice::Mock);
        options.chaos = chaos;
        let clusters = clusters(&scenario, &options).unwrap();
        translate(&clusters, &scenario).unwrap().remove(0)
    }

    #[test]
    fn a_lost_region_is_dropped_everywhere_else_then_stopped_and_healed_in_reverse() {
        let plan = kind_plan(
            FaultKind::RegionOutage {
                region: "us-west".into(),
                mode: OutageMode::Lost,
            },
            None,
        );
        let start = shell(&plan.start);
        assert!(start.contains(&"docker exec hadr-us-east-control-plane iptables -A HADR-F1 -s $HADR_NODE_IP_US_WEST -j DROP".to_string()), "{start:#?}");
        assert!(start.contains(&"docker exec hadr-ca-central-control-plane iptables -A HADR-F1 -d 10.242.0.0/16 -j DROP".to_string()));
        assert!(
            !start
                .iter()
                .any(|c| c.starts_with("docker exec hadr-us-west-control-plane")),
            "nothing runs inside the lost node"
        );
        assert_eq!(
            start.last().unwrap(),
            "docker stop --time 0 hadr-us-west-control-plane"
        );
        assert_eq!(
            plan.heal[0],
            Step::Shell("docker start hadr-us-west-control-plane".into())
        );
        assert!(plan.heal.contains(&Step::RefreshNodeIp { region: 1 }));
        let heal = shell(&plan.heal);
        assert_eq!(
            heal.last().unwrap(),
            "docker exec hadr-ca-central-control-plane iptables -X HADR-F1"
        );
    }

    #[test]
    fn a_cut_region_is_not_stopped_and_a_killed_one_is_not_dropped() {
        let cut = shell(
            &kind_plan(
                FaultKind::RegionOutage {
                    region: "us-west".into(),
                    mode: OutageMode::Cut,
                },
                None,
            )
            .start,
        );
        assert!(!cut.iter().any(|c| c.starts_with("docker stop")));
        let killed = kind_plan(
            FaultKind::RegionOutage {
                region: "us-west".into(),
                mode: OutageMode::Killed,
            },
            None,
        );
        assert_eq!(
            shell(&killed.start),
            ["docker stop --time 0 hadr-us-west-control-plane"]
        );
        assert!(!killed.notes.is_empty());
    }

    #[test]
    fn a_one_way_partition_drops_only_what_the_from_side_sends() {
        let plan = kind_plan(
            FaultKind::OneWayPartition {
                from: vec!["us-east".into()],
                to: vec!["us-west".into(), "ca-central".into()],
            },
            None,
        );
        let start = shell(&plan.start);
        assert!(
            start
                .iter()
                .all(|c| c.starts_with("docker exec hadr-us-east-control-plane")),
            "{start:#?}"
        );
        assert!(start
            .iter()
            .filter(|c| c.contains("DROP"))
            .all(|c| c.contains(" -d ")));
        assert_eq!(
            start.iter().filter(|c| c.contains("DROP")).count(),
            4,
            "two regions, IP and pod subnet each"
        );
    }

    #[test]
    fn a_partition_drops_both_ways_on_both_sides() {
        let plan = kind_plan(
            FaultKind::Partition {
                sides: [vec!["us-east".into()], vec!["us-west".into()]],
            },
            None,
        );
        let start = shell(&plan.start);
        for node in ["hadr-us-east", "hadr-us-west"] {
            assert_eq!(
                start
                    .iter()
                    .filter(|c| c.contains(node) && c.contains("DROP"))
                    .count(),
                4,
                "{start:#?}"
            );
        }
        assert!(!start.iter().any(|c| c.contains("ca-central")));
    }

    #[test]
    fn latency_is_netem_half_the_round_trip_each_way_or_a_network_chaos() {
        let kind = FaultKind::Latency {
            regions: ["us-east".into(), "ca-central".into()],
            rtt: Duration::from_millis(90),
        };
        let plan = kind_plan(kind.clone(), None);
        let start = shell(&plan.start);
        assert!(start.contains(&"docker exec hadr-us-east-control-plane tc qdisc add dev eth0 parent 1:4 handle 40: netem delay 45ms".to_string()), "{start:#?}");
        assert!(start
            .iter()
            .any(|c| c.contains("match ip dst $HADR_NODE_IP_CA_CENTRAL/32")));
        let mesh = kind_plan(kind, Some(ChaosTool::ChaosMesh));
        let Step::Chaos { region, doc } = &mesh.start[0] else {
            panic!("a Chaos Mesh resource")
        };
        assert_eq!(*region, 0);
        assert_eq!(doc["kind"], "NetworkChaos");
        assert_eq!(doc["spec"]["action"], "delay");
        assert_eq!(doc["spec"]["delay"]["latency"], "45ms");
        assert_eq!(doc["spec"]["duration"], "30s");
        assert_eq!(
            doc["spec"]["externalTargets"][0],
            "$HADR_NODE_IP_CA_CENTRAL"
        );
        assert_eq!(doc["metadata"]["labels"]["hadr/run"], "multi-region-ha-s1");
    }

    #[test]
    fn a_node_crash_deletes_the_pod_or_holds_it_failed() {
        let kind = FaultKind::NodeCrash {
            node: "peer0.org2.us-west".into(),
        };
        let plan = kind_plan(kind.clone(), None);
        assert_eq!(shell(&plan.start), ["kubectl --context kind-hadr-us-west -n hadr-multi-region-ha delete pod -l app=org2-peer0 --grace-period=0 --force"]);
        let mesh = kind_plan(kind, Some(ChaosTool::ChaosMesh));
        let Step::Chaos { doc, .. } = &mesh.start[0] else {
            panic!()
        };
        assert_eq!(doc["kind"], "PodChaos");
        assert_eq!(doc["spec"]["action"], "pod-failure");
        assert_eq!(
            doc["spec"]["selector"]["labelSelectors"]["app"],
            "org2-peer0"
        );
        let orderer = kind_plan(
            FaultKind::NodeCrash {
                node: "orderer0.us-east".into(),
            },
            None,
        );
        assert!(shell(&orderer.start)[0].contains("-l app=orderernode1 "));
    }

    #[test]
    fn on_kubernetes_a_lost_region_is_partitioned_by_host_name_and_its_pods_failed() {
        let scenario = scenario_with(FaultKind::RegionOutage {
            region: "us-west".into(),
            mode: OutageMode::Lost,
        });
        let mut options = Options::kind(ConsoleChoice::Mock);
        options.flavor = Flavor::Kubernetes;
        options.contexts = vec!["east".into(), "west".into(), "central".into()];
        let clusters = clusters(&scenario, &options).unwrap();
        let plan = translate(&clusters, &scenario).unwrap().remove(0);
        let docs: Vec<&Value> = plan
            .start
            .iter()
            .filter_map(|s| match s {
                Step::Chaos { doc, .. } => Some(doc),
                _ => None,
            })
            .collect();
        assert_eq!(
            docs.len(),
            4,
            "west to the others, each other to west, west's pods failed"
        );
        let targets = docs[1]["spec"]["externalTargets"].as_array().unwrap();
        assert!(
            targets.contains(&json!(
                "hadr-multi-region-ha-org2-peer0-peer.us-west.ingress.example"
            )),
            "{targets:?}"
        );
        assert_eq!(docs[3]["kind"], "PodChaos");
        assert_eq!(plan.heal.len(), 4);
    }

    #[test]
    fn a_fault_aimed_at_a_role_is_refused_as_the_plan_comes_before_its_holder() {
        let scenario = scenario_with(FaultKind::NodeCrash {
            node: "raft_leader".into(),
        });
        let clusters = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
        assert!(
            matches!(translate(&clusters, &scenario), Err(Refusal::Unable(why)) if why.contains("`raft_leader`, a role"))
        );
    }

    #[test]
    fn crashing_the_client_is_refused() {
        let scenario = scenario_with(FaultKind::NodeCrash {
            node: "client.us-east".into(),
        });
        let clusters = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
        assert!(
            matches!(translate(&clusters, &scenario), Err(Refusal::Unable(why)) if why.contains("the client is hadr itself"))
        );
    }
}
