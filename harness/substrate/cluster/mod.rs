//! What the `kind` and `kubernetes` substrates share: one Kubernetes cluster per scenario
//! region, fabric-operator in each, a console per region (the real one as an `IBPConsole` CR,
//! or hadr's mock console), the ordering service as an `IBPOrderer`, the run's resources
//! labelled with the run, and fault actions on the clusters.
//!
//! Everything here is computed from the scenario alone, so `hadr run --dry-run` can write it
//! as DIR/plan/ and the tests can snapshot it; only [`deploy`] talks to an API server.
//! Facts (images, CRD fields, kind settings, Chaos Mesh shapes) come from
//! ../shared/research/kubernetes-and-containers.md, which names its sources; the comments
//! here name the same sources.

pub mod deploy;
pub mod faults;
pub mod images;
pub mod manifests;
pub mod plan;
pub mod prerequisites;

use crate::scenario::model::Scenario;
use serde::Serialize;

/// Which kind of clusters a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// Clusters hadr creates with kind on this Docker host (`hadr-<region>`).
    Kind,
    /// The user's existing clusters, one kubeconfig context per region.
    Kubernetes,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Kind => "kind",
            Flavor::Kubernetes => "kubernetes",
        }
    }
}

/// Which console runs in each region (`--console`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleChoice {
    /// fabric-operations-console through an `IBPConsole` CR; its deployer creates CAs and
    /// peers through the operator when the procedure asks it to.
    Real,
    /// hadr's mock console (`hadr console serve`), an image built from this binary. It only
    /// imports components, so hadr applies the CAs' and peers' CRs itself.
    Mock,
}

/// How faults are injected (`--chaos`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ChaosTool {
    /// Docker and the kernel of the kind node containers: `docker stop`, iptables, `tc netem`.
    Docker,
    /// Chaos Mesh's `NetworkChaos` and `PodChaos` in the clusters (it must be installed).
    ChaosMesh,
}

impl ChaosTool {
    pub fn name(self) -> &'static str {
        match self {
            ChaosTool::Docker => "docker",
            ChaosTool::ChaosMesh => "chaos-mesh",
        }
    }
}

/// What the command line chose for a cluster run.
#[derive(Clone, Debug)]
pub struct Options {
    pub flavor: Flavor,
    pub console: ConsoleChoice,
    /// None: Docker on kind, Chaos Mesh on kubernetes.
    pub chaos: Option<ChaosTool>,
    /// `--contexts`: one kubeconfig context per region, in the scenario's region order.
    pub contexts: Vec<String>,
    /// `--domains`: one ingress domain per region (kubernetes; kind uses `<region>.localho.st`).
    pub domains: Vec<String>,
}

impl Options {
    pub fn kind(console: ConsoleChoice) -> Options {
        Options {
            flavor: Flavor::Kind,
            console,
            chaos: None,
            contexts: Vec::new(),
            domains: Vec::new(),
        }
    }
}

/// Why a plan cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The command line or scenario is wrong (exit 2).
    Input(String),
    /// The substrate cannot do what the scenario asks (exit 3), said before anything starts.
    Unable(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Input(why) | Refusal::Unable(why) => f.write_str(why),
        }
    }
}

/// One scenario region as a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegionCluster {
    /// 0 for cluster 1 (the procedure's first cluster).
    pub index: usize,
    /// The scenario's region name.
    pub region: String,
    /// The kind cluster name (`hadr-<region>`); on kubernetes, the region name.
    pub cluster: String,
    /// The kubeconfig context (`kind-hadr-<region>` on kind: kind's own naming).
    pub context: String,
    /// The region's ingress domain: every host of the region is `<ns>-<name>-<role>.<domain>`
    /// (fabric-operator's naming, pkg/offering/base/peer/peer.go).
    pub domain: String,
    /// kind only: the node container (`<cluster>-control-plane`, kind's naming).
    pub node_container: String,
    /// kind only: the shell variable a plan script sets to the node's IP on the `kind` network.
    pub node_ip_var: String,
    pub pod_subnet: String,
    pub service_subnet: String,
    /// The ClusterIP given to ingress-nginx's controller Service, so that CoreDNS can point
    /// the region's own domain at it before the Service exists (fabric-operator's
    /// sample-network points `*.localho.st` at that ClusterIP, scripts/cluster.sh).
    pub ingress_cluster_ip: String,
    pub api_server_port: u16,
    pub http_port: u16,
    pub https_port: u16,
}

/// kind's API servers listen on 127.0.0.1 from this port on, one port per region.
pub const FIRST_API_SERVER_PORT: u16 = 7443;
/// Host ports of the regions' ingress controllers (80 and 443 in the node), one per region:
/// kind maps them on 127.0.0.1, so three clusters cannot all take 80/443
/// (research §1.8: "Host ports collide").
pub const FIRST_HTTP_PORT: u16 = 18080;
pub const FIRST_HTTPS_PORT: u16 = 18443;

/// The label every resource of a run carries, with the run's id as its value: cleanup
/// deletes by it.
pub const RUN_LABEL: &str = "hadr/run";
/// The label naming the scenario node (`peer0.org1.us-east`) a resource stands for.
pub const NODE_LABEL: &str = "hadr/node";

/// Everything a plan is made from: the regions as clusters and the run's names.
#[derive(Clone, Debug, Serialize)]
pub struct Clusters {
    pub flavor: Flavor,
    pub console: ConsoleChoice,
    pub chaos: ChaosTool,
    /// `<scenario>-s<seed>`: the value of [`RUN_LABEL`].
    pub run_id: String,
    /// The namespace of the run in every cluster (`hadr-<scenario>`).
    pub namespace: String,
    /// The scenario file the plan was made from, as given.
    pub source: String,
    pub regions: Vec<RegionCluster>,
    /// Index of the region running the ordering service.
    pub orderer_region: usize,
}

/// A lowercase DNS-label form of `text`: letters, digits and `-`, at most `max` characters,
/// no leading or trailing `-`.
pub fn dns_label(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "x".to_string()
    } else {
        out
    }
}

fn is_context_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:@/".contains(c))
        && !name.starts_with('-')
}

fn is_domain_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Refuses a value of `flag` that `valid` does not accept, or one given twice.
fn check_names(
    flag: &str,
    values: &[String],
    valid: fn(&str) -> bool,
    expected: &str,
) -> Result<(), Refusal> {
    for (index, value) in values.iter().enumerate() {
        let shown = value.escape_debug().to_string();
        let shown: String = shown.chars().take(80).collect();
        if !valid(value) {
            return Err(Refusal::Input(format!(
                "{flag}: `{shown}` (value {}) is not a name hadr can use\n  = expected: {expected}",
                index + 1
            )));
        }
        if values[..index].contains(value) {
            return Err(Refusal::Input(format!(
                "{flag}: `{shown}` is given twice\n  = hint: one per region, each region its own"
            )));
        }
    }
    Ok(())
}

/// The clusters `scenario` runs on with `options`, or why it cannot.
pub fn clusters(scenario: &Scenario, options: &Options) -> Result<Clusters, Refusal> {
    let regions = &scenario.topology.regions;
    let flavor = options.flavor;
    if flavor == Flavor::Kubernetes && options.contexts.len() != regions.len() {
        return Err(Refusal::Input(format!(
            "--contexts: {} context(s) given, but {} has {} regions ({})\n  = hint: one kubeconfig context per region, in the scenario's order, e.g. --contexts {}",
            options.contexts.len(),
            scenario.source.display(),
            regions.len(),
            scenario.topology.region_names().join(", "),
            regions
                .iter()
                .map(|r| format!("ctx-{}", r.name))
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    if flavor == Flavor::Kind && !options.contexts.is_empty() {
        return Err(Refusal::Input(
            "--contexts is for --substrate kubernetes; kind names its contexts kind-hadr-<region>"
                .to_string(),
        ));
    }
    if !options.domains.is_empty() && options.domains.len() != regions.len() {
        return Err(Refusal::Input(format!(
            "--domains: {} domain(s) given, but {} has {} regions\n  = hint: one ingress domain per region, in the scenario's order",
            options.domains.len(),
            scenario.source.display(),
            regions.len()
        )));
    }
    if flavor == Flavor::Kind && !options.domains.is_empty() {
        return Err(Refusal::Input(
            "--domains is for --substrate kubernetes; kind uses <region>.localho.st".to_string(),
        ));
    }
    // Node names become values of the `hadr/node` label, which Kubernetes caps at 63
    // characters (a 63-character region name alone fits a DNS label, not a node name).
    if let Some(node) = scenario.layout().iter().find(|n| n.name.len() > 63) {
        return Err(Refusal::Input(format!(
            "{}: node `{}` has a name of {} characters; on Kubernetes it is a label value, of at most 63\n  = hint: shorten the region names or MSP IDs it is built from",
            scenario.source.display(),
            node.name,
            node.name.len()
        )));
    }
    // Both go into kubectl commands of the plan's scripts and into manifests: only names
    // that need no quoting, each once.
    check_names("--contexts", &options.contexts, is_context_name,
        "kubeconfig context names of letters, digits and . _ - : @ / (as `kubectl config get-contexts` lists them), each once")?;
    check_names("--domains", &options.domains, is_domain_name,
        "DNS names: dot-separated labels of lowercase letters, digits and -, each at most 63 characters, each domain once")?;
    let chaos = match (flavor, options.chaos) {
        (Flavor::Kind, chaos) => chaos.unwrap_or(ChaosTool::Docker),
        (Flavor::Kubernetes, None | Some(ChaosTool::ChaosMesh)) => ChaosTool::ChaosMesh,
        (Flavor::Kubernetes, Some(ChaosTool::Docker)) => {
            return Err(Refusal::Unable(
                "--chaos docker: existing clusters give no Docker access to their nodes; faults on --substrate kubernetes go through Chaos Mesh (--chaos chaos-mesh, the default)".to_string(),
            ))
        }
    };
    // The procedure assumes one ordering service in one cluster ("an IBPOrderer in cluster
    // 1"); fabric-operator's IBPOrderer places all of its nodes in its own cluster. Nodes
    // spread over clusters would need consenters joined across clusters by channel config
    // updates, which is not built.
    let ordering = &scenario.topology.ordering_service.nodes;
    let mut orderer_regions: Vec<&String> = ordering.iter().collect();
    orderer_regions.dedup();
    orderer_regions.sort();
    orderer_regions.dedup();
    if orderer_regions.len() > 1 {
        return Err(Refusal::Unable(format!(
            "{}: the ordering service spans regions ({}); on {} it is one IBPOrderer in one cluster (fabric-operator places all of an IBPOrderer's nodes in its cluster), and joining consenters across clusters is not built\n  = hint: put every `ordering_service.nodes` entry in one region, as the procedure does, or run this scenario on --substrate sim",
            scenario.source.display(),
            orderer_regions
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            flavor.name()
        )));
    }
    let orderer_region = orderer_regions
        .first()
        .and_then(|name| regions.iter().position(|r| &r.name == *name))
        .unwrap_or(0);
    let scenario_label = dns_label(&scenario.name, 40);
    let run_id = dns_label(&format!("{}-s{}", scenario.name, scenario.seed), 63);
    // Host names are `<ns>-<name>-<role>.<domain>`, one DNS label of at most 63 characters
    // before the domain: a short namespace leaves room for the component names.
    let namespace = dns_label(&format!("hadr-{scenario_label}"), 24);
    let regions = regions
        .iter()
        .enumerate()
        .map(|(index, region)| {
            let i = index as u16;
            let cluster = match flavor {
                Flavor::Kind => format!("hadr-{}", region.name),
                Flavor::Kubernetes => region.name.clone(),
            };
            let context = match flavor {
                Flavor::Kind => format!("kind-{cluster}"),
                Flavor::Kubernetes => options.contexts[index].clone(),
            };
            let domain = match options.domains.get(index) {
                Some(domain) => domain.clone(),
                // localho.st and its subdomains resolve to 127.0.0.1 in public DNS, which is
                // why fabric-operator's samples use it; per-region subdomains as
                // sample-network-multi-org does per organization.
                None if flavor == Flavor::Kind => format!("{}.localho.st", region.name),
                // RFC 2606 reserves `.example`: a plan made without --domains says so.
                None => format!("{}.ingress.example", region.name),
            };
            RegionCluster {
                index,
                region: region.name.clone(),
                node_container: format!("{cluster}-control-plane"),
                node_ip_var: format!(
                    "HADR_NODE_IP_{}",
                    region.name.to_ascii_uppercase().replace('-', "_")
                ),
                cluster,
                context,
                domain,
                // kind's defaults are 10.244.0.0/16 and 10.96.0.0/16 for every cluster
                // (kind configuration.md); distinct ranges keep direct pod routes between
                // clusters possible (kubernetes-sigs/kind#926) and logs unambiguous.
                pod_subnet: format!("10.{}.0.0/16", 241 + i),
                service_subnet: format!("10.{}.0.0/16", 96 + i),
                // Inside the static band of the Service range (KEP-3070), where automatic
                // allocation does not go first.
                ingress_cluster_ip: format!("10.{}.0.100", 96 + i),
                api_server_port: FIRST_API_SERVER_PORT + i,
                http_port: FIRST_HTTP_PORT + i,
                https_port: FIRST_HTTPS_PORT + i,
            }
        })
        .collect();
    Ok(Clusters {
        flavor,
        console: options.console,
        chaos,
        run_id,
        namespace,
        source: scenario.source.display().to_string(),
        regions,
        orderer_region,
    })
}

impl Clusters {
    /// The region named `name`.
    pub fn region(&self, name: &str) -> Option<&RegionCluster> {
        self.regions.iter().find(|r| r.region == name)
    }

    /// The labels every resource of the run carries.
    pub fn labels(&self) -> serde_json::Value {
        serde_json::json!({
            "app.kubernetes.io/managed-by": "hadr",
            RUN_LABEL: self.run_id,
        })
    }

    /// The label selector matching the run's resources.
    pub fn selector(&self) -> String {
        format!("{RUN_LABEL}={}", self.run_id)
    }

    /// The ingress host of component `name` with role suffix `role` (`peer`, `ca`, `console`,
    /// `orderer`, `operations`) in `region`: fabric-operator's `<ns>-<name>-<role>.<domain>`.
    pub fn host(&self, region: &RegionCluster, name: &str, role: &str) -> String {
        format!("{}-{name}-{role}.{}", self.namespace, region.domain)
    }
}

/// The Kubernetes name of a scenario node: `peer0.org1.us-east` -> `org1-peer0` (the
/// region is the cluster), `ca.org1.us-east` -> `org1-ca`, `orderer0.us-east` -> the
/// ordering service's node 1 (see [`manifests::ORDERER_NAME`]).
pub fn resource_name(node: &str) -> String {
    let parts: Vec<&str> = node.split('.').collect();
    match parts.as_slice() {
        [role, org, _region] => dns_label(&format!("{org}-{role}"), 40),
        [role, _region] => dns_label(role, 40),
        _ => dns_label(node, 40),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Scenario {
        crate::scenario::example()
    }

    #[test]
    fn kind_regions_get_distinct_names_subnets_and_ports() {
        let clusters = clusters(&example(), &Options::kind(ConsoleChoice::Mock)).unwrap();
        let names: Vec<&str> = clusters
            .regions
            .iter()
            .map(|r| r.cluster.as_str())
            .collect();
        assert_eq!(names, ["hadr-us-east", "hadr-us-west", "hadr-ca-central"]);
        assert_eq!(clusters.regions[1].context, "kind-hadr-us-west");
        assert_eq!(
            clusters.regions[2].node_container,
            "hadr-ca-central-control-plane"
        );
        let distinct = |f: &dyn Fn(&RegionCluster) -> String| {
            let all: std::collections::BTreeSet<String> = clusters.regions.iter().map(f).collect();
            all.len() == clusters.regions.len()
        };
        assert!(distinct(&|r| r.pod_subnet.clone()));
        assert!(distinct(&|r| r.service_subnet.clone()));
        assert!(distinct(&|r| r.api_server_port.to_string()));
        assert!(distinct(&|r| r.https_port.to_string()));
        // No pod subnet overlaps a service subnet: 10.241+ against 10.96+.
        for a in &clusters.regions {
            for b in &clusters.regions {
                assert_ne!(a.pod_subnet, b.service_subnet);
            }
        }
        assert_eq!(clusters.namespace, "hadr-multi-region-ha");
        assert_eq!(clusters.run_id, "multi-region-ha-s1");
        assert_eq!(clusters.chaos, ChaosTool::Docker);
    }

    #[test]
    fn kubernetes_needs_one_context_per_region_and_refuses_docker_faults() {
        let scenario = example();
        let mut options = Options::kind(ConsoleChoice::Real);
        options.flavor = Flavor::Kubernetes;
        options.contexts = vec!["a".into(), "b".into()];
        let Err(Refusal::Input(why)) = clusters(&scenario, &options) else {
            panic!("two contexts for three regions is bad input")
        };
        assert!(why.contains("2 context(s) given"), "{why}");
        assert!(why.contains("us-east, us-west, ca-central"), "{why}");
        options.contexts.push("c".into());
        let ok = clusters(&scenario, &options).unwrap();
        assert_eq!(ok.regions[2].context, "c");
        assert_eq!(ok.regions[0].domain, "us-east.ingress.example");
        assert_eq!(ok.chaos, ChaosTool::ChaosMesh);
        options.chaos = Some(ChaosTool::Docker);
        assert!(matches!(
            clusters(&scenario, &options),
            Err(Refusal::Unable(why)) if why.contains("Chaos Mesh")
        ));
    }

    #[test]
    fn a_node_name_longer_than_a_label_value_is_refused() {
        let mut scenario = example();
        let long = "r".repeat(55);
        scenario.topology.regions[1].name = long.clone();
        for org in &mut scenario.topology.organizations {
            for region in org.regions.iter_mut().chain(std::iter::once(&mut org.home)) {
                if region == "us-west" {
                    *region = long.clone();
                }
            }
        }
        let options = Options::kind(ConsoleChoice::Mock);
        let Err(Refusal::Input(why)) = clusters(&scenario, &options) else {
            panic!("a 66-character node name was accepted")
        };
        assert!(
            why.contains("on Kubernetes it is a label value, of at most 63"),
            "{why}"
        );
    }

    #[test]
    fn contexts_and_domains_that_a_script_would_run_are_refused() {
        let scenario = example();
        let mut options = Options::kind(ConsoleChoice::Mock);
        options.flavor = Flavor::Kubernetes;
        let refused = |options: &Options| match clusters(&scenario, options) {
            Err(Refusal::Input(why)) => why,
            other => panic!("accepted: {other:?}"),
        };
        options.contexts = vec!["a;rm -rf /".into(), "b".into(), "c".into()];
        let why = refused(&options);
        assert!(
            why.starts_with("--contexts: `a;rm -rf /` (value 1)"),
            "{why}"
        );
        options.contexts = vec!["a".into(), "a".into(), "c".into()];
        assert!(refused(&options).contains("`a` is given twice"));
        options.contexts = vec![
            "kind-east".into(),
            "arn:aws:eks:us-east-1:1:cluster/w".into(),
            "admin@c".into(),
        ];
        for domains in [
            ["x y", "b.example", "c.example"],
            ["$(id)", "b.example", "c.example"],
            ["../z", "b.example", "c.example"],
        ] {
            options.domains = domains.iter().map(|d| d.to_string()).collect();
            assert!(refused(&options).starts_with("--domains: `"), "{domains:?}");
        }
        options.domains = vec![
            "east.example.com".into(),
            "west.example.com".into(),
            "c.example".into(),
        ];
        assert!(clusters(&scenario, &options).is_ok());
    }

    #[test]
    fn an_ordering_service_across_regions_is_refused_before_anything_starts() {
        let mut scenario = example();
        scenario.topology.ordering_service.nodes =
            vec!["us-east".into(), "us-west".into(), "us-east".into()];
        let refusal = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap_err();
        assert!(
            matches!(&refusal, Refusal::Unable(why) if why.contains("spans regions (us-east, us-west)")),
            "{refusal:?}"
        );
        scenario.topology.ordering_service.nodes = vec!["ca-central".into(); 3];
        let ok = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
        assert_eq!(ok.orderer_region, 2);
    }

    #[test]
    fn node_names_become_kubernetes_names() {
        assert_eq!(resource_name("peer0.org1.us-east"), "org1-peer0");
        assert_eq!(resource_name("ca.org2.us-west"), "org2-ca");
        assert_eq!(resource_name("orderer0.us-east"), "orderer0");
        assert_eq!(dns_label("--Multi Region__HA--", 10), "multi-regi");
        assert_eq!(dns_label("a-b-", 2), "a");
    }
}
