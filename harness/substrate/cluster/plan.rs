//! The plan of a cluster run: every kind config, manifest, custom resource, command and fault
//! action, in order, as `hadr run --dry-run` writes it to DIR/plan/ and as hadr itself
//! executes it ([`super::deploy`] runs the same [`Action`] list through kube-rs).
//!
//! Files are numbered in the order they are used. Shell scripts are runnable by hand with
//! kind, kubectl, docker and envsubst; values known only at run time are `${HADR_...}`
//! variables that `NN-env.sh` sets.

use super::faults::{self, FaultPlan, Step};
use super::{images, manifests, Clusters, ConsoleChoice, Flavor, Refusal};
use crate::scenario::model::Scenario;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// `(kind, name)` of custom resources to wait on.
type Awaited = Vec<(String, String)>;

/// One file of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFile {
    /// Relative path in DIR/plan/ (`07-us-east-namespace.yaml`, `08-us-east-ingress-nginx/kustomization.yaml`).
    pub path: String,
    pub contents: String,
    /// The Kubernetes documents of a manifest file, as hadr applies them.
    pub docs: Vec<Value>,
}

/// One deploy step, in order. Rendered as a kubectl command for the plan; executed by
/// [`super::deploy`].
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Server-side apply of a plan file's documents (placeholders substituted).
    Apply { region: usize, file: String },
    /// A kustomization (a plan directory or a remote reference), rendered with
    /// `kubectl kustomize` and applied.
    Kustomize { region: usize, target: String },
    /// Pods matching `selector` Ready.
    WaitPods {
        region: usize,
        namespace: String,
        selector: String,
    },
    /// CRDs Established.
    WaitCrds { region: usize, names: Vec<String> },
    /// A Deployment rolled out.
    WaitRollout {
        region: usize,
        namespace: String,
        deployment: String,
    },
    /// `kubectl rollout restart`: CoreDNS re-reads its ConfigMap.
    RolloutRestart {
        region: usize,
        namespace: String,
        deployment: String,
    },
    /// A fabric-operator custom resource with `.status.type == Deployed`.
    WaitDeployed {
        region: usize,
        kind: String,
        name: String,
    },
    /// The TLS certificate of CA `ca` from its `<ca>-connection-profile` ConfigMap
    /// (`binaryData["profile.json"]` `.tls.cert`, sample-network-multi-org scripts/utils.sh),
    /// into [`manifests::ca_cert_placeholder`].
    ReadCaCert { region: usize, ca: String },
}

impl Action {
    /// The index of the region the action is for.
    pub fn region(&self) -> usize {
        match self {
            Action::Apply { region, .. }
            | Action::Kustomize { region, .. }
            | Action::WaitPods { region, .. }
            | Action::WaitCrds { region, .. }
            | Action::WaitRollout { region, .. }
            | Action::RolloutRestart { region, .. }
            | Action::WaitDeployed { region, .. }
            | Action::ReadCaCert { region, .. } => *region,
        }
    }
}

/// The CRDs fabric-operator's `config/crd` installs.
pub const CRDS: [&str; 4] = [
    "ibpcas.ibp.com",
    "ibppeers.ibp.com",
    "ibporderers.ibp.com",
    "ibpconsoles.ibp.com",
];

#[derive(Clone, Debug)]
pub struct Plan {
    pub clusters: Clusters,
    pub files: Vec<PlanFile>,
    pub actions: Vec<Action>,
    pub faults: Vec<FaultPlan>,
}

fn yaml(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_saphyr::to_string(doc).expect("JSON values serialize as YAML"));
    }
    out
}

struct Builder {
    files: Vec<PlanFile>,
    next: usize,
}

impl Builder {
    fn number(&mut self) -> String {
        self.next += 1;
        format!("{:02}", self.next)
    }

    fn text(&mut self, name: &str, contents: String) -> String {
        let path = format!("{}-{name}", self.number());
        self.files.push(PlanFile {
            path: path.clone(),
            contents,
            docs: Vec::new(),
        });
        path
    }

    fn manifest(&mut self, name: &str, header: &str, docs: Vec<Value>) -> String {
        let path = format!("{}-{name}.yaml", self.number());
        let contents = format!("# {header}\n{}", yaml(&docs));
        self.files.push(PlanFile {
            path: path.clone(),
            contents,
            docs,
        });
        path
    }
}

/// The plan of `scenario` on `clusters`; refused when a fault cannot be done.
pub fn build(scenario: &Scenario, clusters: &Clusters) -> Result<Plan, Refusal> {
    let faults = faults::translate(clusters, scenario)?;
    let mut b = Builder {
        files: Vec::new(),
        next: 0,
    };
    let mut actions = Vec::new();
    let kind = clusters.flavor == Flavor::Kind;
    b.files.push(PlanFile {
        path: "00-README.md".into(),
        contents: String::new(),
        docs: Vec::new(),
    });
    if kind {
        for region in &clusters.regions {
            let name = format!("kind-{}", crate::substrate::kind::config::file_name(region));
            b.text(
                &name,
                crate::substrate::kind::config::render(clusters, region),
            );
        }
        if clusters.console == ConsoleChoice::Mock {
            b.text("mock-console.Dockerfile", mock_dockerfile());
        }
        let clusters_sh = clusters_script(clusters, &b.files);
        b.text("clusters.sh", clusters_sh);
    }
    let env_path = format!("{:02}-env.sh", b.next + 1);
    b.text("env.sh", env_script(clusters, scenario));

    // fabric-operator's CRDs and ClusterRole, cluster-scoped and the same in every region.
    let operator_dir = format!("{}-fabric-operator-crds", b.number());
    b.files.push(PlanFile {
        path: format!("{operator_dir}/kustomization.yaml"),
        contents: format!(
            "# fabric-operator's CRDs (config/crd) and the operator's ClusterRole (sample-network/config/rbac), pinned.\n\
             apiVersion: kustomize.config.k8s.io/v1beta1\n\
             kind: Kustomization\n\
             resources:\n\
             \x20 - {}\n\
             \x20 - {}\n",
            manifests::crd_reference(),
            manifests::cluster_role_reference()
        ),
        docs: Vec::new(),
    });

    // Phase 1, every region: namespace, ingress and DNS (kind), the operator, the console,
    // the CAs.
    // (region, nodes file, the resources to wait on): applied once every CA is known.
    let mut later: Vec<(usize, String, Awaited)> = Vec::new();
    for region in &clusters.regions {
        let r = region.index;
        let prefix = &region.region;
        let file = b.manifest(
            &format!("{prefix}-namespace"),
            &format!("The run's namespace in {prefix}."),
            vec![manifests::namespace(clusters)],
        );
        actions.push(Action::Apply { region: r, file });
        if kind {
            let dir = format!("{}-{prefix}-ingress-nginx", b.number());
            for (name, contents) in manifests::ingress_nginx(region) {
                b.files.push(PlanFile {
                    path: format!("{dir}/{name}"),
                    contents,
                    docs: Vec::new(),
                });
            }
            actions.push(Action::Kustomize {
                region: r,
                target: dir,
            });
            actions.push(Action::WaitPods {
                region: r,
                namespace: "ingress-nginx".into(),
                selector: "app.kubernetes.io/component=controller".into(),
            });
            let file = b.manifest(
                &format!("{prefix}-coredns"),
                &format!("CoreDNS of {prefix}: every region's domain to its ingress (sample-network scripts/cluster.sh, extended per region)."),
                vec![manifests::coredns(clusters, region)],
            );
            actions.push(Action::Apply { region: r, file });
            actions.push(Action::RolloutRestart {
                region: r,
                namespace: "kube-system".into(),
                deployment: "coredns".into(),
            });
        }
        actions.push(Action::Kustomize {
            region: r,
            target: operator_dir.clone(),
        });
        actions.push(Action::WaitCrds {
            region: r,
            names: CRDS.iter().map(|s| s.to_string()).collect(),
        });
        let file = b.manifest(
            &format!("{prefix}-fabric-operator"),
            "fabric-operator (sample-network/config/manager and config/rbac).",
            manifests::operator(clusters),
        );
        actions.push(Action::Apply { region: r, file });
        actions.push(Action::WaitRollout {
            region: r,
            namespace: clusters.namespace.clone(),
            deployment: "fabric-operator".into(),
        });
        let console = manifests::console(clusters, region);
        let header = match clusters.console {
            ConsoleChoice::Real => "The region's console: an IBPConsole (sample-network/config/console).",
            ConsoleChoice::Mock => "The region's console: hadr's mock console (image loaded with kind load docker-image).",
        };
        let file = b.manifest(&format!("{prefix}-console"), header, console.clone());
        actions.push(Action::Apply { region: r, file });
        match clusters.console {
            ConsoleChoice::Real => actions.push(Action::WaitDeployed {
                region: r,
                kind: "IBPConsole".into(),
                name: manifests::REAL_CONSOLE_NAME.into(),
            }),
            ConsoleChoice::Mock => actions.push(Action::WaitRollout {
                region: r,
                namespace: clusters.namespace.clone(),
                deployment: manifests::MOCK_CONSOLE_NAME.into(),
            }),
        }
        let mut cas = Vec::new();
        let mut rest = Vec::new();
        if r == clusters.orderer_region {
            let mut ordering = manifests::ordering_service(clusters, scenario);
            rest.push(ordering.pop().expect("the IBPOrderer"));
            cas.extend(ordering);
        }
        if clusters.console == ConsoleChoice::Mock {
            for doc in manifests::organizations(clusters, scenario, region) {
                if doc["kind"] == "IBPCA" {
                    cas.push(doc);
                } else {
                    rest.push(doc);
                }
            }
        }
        if !cas.is_empty() {
            let awaited = manifests::awaited(&cas);
            let file = b.manifest(
                &format!("{prefix}-cas"),
                "CAs of this region (sample-network/config/cas).",
                cas,
            );
            actions.push(Action::Apply { region: r, file });
            for (kind, name) in &awaited {
                actions.push(Action::WaitDeployed {
                    region: r,
                    kind: kind.clone(),
                    name: name.clone(),
                });
            }
            for (_, name) in &awaited {
                actions.push(Action::ReadCaCert {
                    region: r,
                    ca: name.clone(),
                });
            }
        }
        if !rest.is_empty() {
            let awaited = manifests::awaited(&rest);
            let file = b.manifest(
                &format!("{prefix}-nodes"),
                "Ordering nodes and peers of this region (sample-network/config/{orderers,peers}); they enroll with CAs that must be Deployed first.",
                rest,
            );
            later.push((r, file, awaited));
        }
    }
    // Phase 2: ordering nodes and peers, once every CA's certificate is known.
    for (region, file, awaited) in later {
        actions.push(Action::Apply { region, file });
        for (kind, name) in awaited {
            actions.push(Action::WaitDeployed { region, kind, name });
        }
    }
    let deploy = deploy_script(clusters, &actions, &env_path);
    b.text("deploy.sh", deploy);
    for fault in &faults {
        let mut chaos_files = Vec::new();
        for step in &fault.start {
            if let Step::Chaos { region, doc } = step {
                let name = doc["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let file = b.manifest(
                    &name,
                    &format!(
                        "Fault {} in {}: Chaos Mesh (chaos-mesh api/v1alpha1).",
                        fault.number, clusters.regions[*region].region
                    ),
                    vec![doc.clone()],
                );
                chaos_files.push((*region, file));
            }
        }
        let start = fault_script(clusters, fault, &fault.start, &chaos_files, &env_path, true);
        b.text(
            &format!("fault-{}-{}-start.sh", fault.number, fault.slug),
            start,
        );
        let heal = fault_script(clusters, fault, &fault.heal, &chaos_files, &env_path, false);
        b.text(
            &format!("fault-{}-{}-heal.sh", fault.number, fault.slug),
            heal,
        );
    }
    b.text("cleanup.sh", cleanup_script(clusters, &env_path));
    let readme = readme(clusters, scenario, &b.files, &faults);
    b.files[0].contents = readme;
    Ok(Plan {
        clusters: clusters.clone(),
        files: b.files,
        actions,
        faults,
    })
}

impl Plan {
    /// The file at `path`.
    pub fn file(&self, path: &str) -> Option<&PlanFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Writes every file under `dir` (DIR/plan).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        for file in &self.files {
            let path = dir.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &file.contents)?;
            #[cfg(unix)]
            if file.path.ends_with(".sh") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
        }
        Ok(())
    }
}

fn mock_dockerfile() -> String {
    "# hadr's mock console: hadr's binary, linked statically, alone in the image (research §0:\n\
     # a `FROM scratch` image of a static-pie build runs; nothing to pull).\n\
     # Build: RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu\n\
     FROM scratch\n\
     COPY hadr /hadr\n\
     ENTRYPOINT [\"/hadr\"]\n"
        .to_string()
}

const SCRIPT_HEAD: &str = "#!/bin/sh\n# Generated by hadr (hadr run --dry-run). Runs from its own folder.\nset -eu\ncd \"$(dirname \"$0\")\"\n";

fn clusters_script(clusters: &Clusters, files: &[PlanFile]) -> String {
    let mut s = String::from(SCRIPT_HEAD);
    s.push_str("# The kind clusters, one per region (what `hadr kind up` does).\n");
    for region in &clusters.regions {
        let config = files
            .iter()
            .find(|f| f.path.ends_with(&format!("kind-{}.yaml", region.cluster)))
            .map(|f| f.path.clone())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "kind create cluster --name {} --image {} --config {config} --wait 120s",
            region.cluster,
            images::KIND_NODE.reference()
        );
        // sample-network's kind.sh does this on every node.
        let _ = writeln!(
            s,
            "docker exec {} sysctl net.ipv4.conf.all.route_localnet=1",
            region.node_container
        );
    }
    if clusters.console == ConsoleChoice::Mock {
        let image = images::mock_console().reference();
        let dockerfile = files
            .iter()
            .find(|f| f.path.ends_with("mock-console.Dockerfile"))
            .map(|f| f.path.clone())
            .unwrap_or_default();
        s.push_str("# hadr's mock console image, from a static build of hadr (run from the repository root):\n");
        s.push_str("#   RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu\n");
        let _ = writeln!(s, "HADR_BINARY=${{HADR_BINARY:-../../x86_64-unknown-linux-gnu/release/hadr}}\nBUILD=$(mktemp -d)\ncp \"$HADR_BINARY\" \"$BUILD/hadr\"\ndocker build -t {image} -f {dockerfile} \"$BUILD\"\nrm -r \"$BUILD\"");
    }
    s.push_str("# Images into every cluster: nothing is pulled inside the clusters' nodes.\n");
    for region in &clusters.regions {
        for image in images::for_run(clusters.console, clusters.flavor) {
            let _ = writeln!(
                s,
                "kind load docker-image {} --name {}",
                image.reference(),
                region.cluster
            );
        }
    }
    s
}

fn env_script(clusters: &Clusters, scenario: &Scenario) -> String {
    let mut s = String::from("# Sourced by the other scripts: values known only at run time.\n");
    let mut vars = Vec::new();
    if clusters.flavor == Flavor::Kind {
        s.push_str("# Each region's kind node on the shared `kind` Docker network.\n");
        for region in &clusters.regions {
            let _ = writeln!(
                s,
                "{}=$(docker inspect -f '{{{{(index .NetworkSettings.Networks \"kind\").IPAddress}}}}' {})",
                region.node_ip_var, region.node_container
            );
            vars.push(region.node_ip_var.clone());
        }
    }
    s.push_str("# The run's secrets, drawn once and kept beside the plan (never in a manifest).\n");
    s.push_str("[ -f .secrets ] || { umask 077; printf 'HADR_ENROLL_SECRET=%s\\nHADR_CONSOLE_PASSWORD=%s\\n' \"$(od -An -N12 -tx1 /dev/urandom | tr -d ' \\n')\" \"$(od -An -N12 -tx1 /dev/urandom | tr -d ' \\n')\" > .secrets; }\n. ./.secrets\n");
    vars.extend([
        "HADR_ENROLL_SECRET".to_string(),
        "HADR_CONSOLE_PASSWORD".to_string(),
    ]);
    s.push_str("# CA TLS certificates, read by deploy.sh once each CA is Deployed.\n");
    s.push_str("[ ! -f .ca-certs ] || . ./.ca-certs\n");
    for ca in ca_names(clusters, scenario) {
        let var = manifests::ca_cert_placeholder(&ca);
        vars.push(
            var.trim_start_matches("${")
                .trim_end_matches('}')
                .to_string(),
        );
    }
    let list: Vec<String> = vars.iter().map(|v| format!("${{{v}}}")).collect();
    let _ = writeln!(s, "export {}", vars.join(" "));
    let _ = writeln!(s, "# Only these variables are replaced: $(POD_NAMESPACE) and the like stay.\nsubst() {{ envsubst '{}' < \"$1\"; }}", list.join(" "));
    s
}

/// The CAs whose certificates the plan reads, in a stable order.
fn ca_names(clusters: &Clusters, scenario: &Scenario) -> Vec<String> {
    let mut out = vec![manifests::ORDERER_CA_NAME.to_string()];
    if clusters.console == ConsoleChoice::Mock {
        for org in &scenario.topology.organizations {
            out.push(format!(
                "{}-ca",
                crate::scenario::layout::org_short_name(&org.msp_id)
            ));
        }
    }
    out
}

fn ctx(clusters: &Clusters, region: usize) -> String {
    format!("kubectl --context {}", clusters.regions[region].context)
}

/// The kubectl command of `action`.
pub fn command(clusters: &Clusters, action: &Action) -> String {
    let ns = &clusters.namespace;
    match action {
        Action::Apply { region, file } => format!(
            "subst {file} | {} apply --server-side --field-manager hadr -f -",
            ctx(clusters, *region)
        ),
        Action::Kustomize { region, target } => format!(
            "{c} kustomize {target} | {c} apply --server-side --field-manager hadr -f -",
            c = ctx(clusters, *region)
        ),
        Action::WaitPods {
            region,
            namespace,
            selector,
        } => format!(
            "{} -n {namespace} wait --for=condition=ready pod --selector={selector} --timeout=120s",
            ctx(clusters, *region)
        ),
        Action::WaitCrds { region, names } => format!(
            "{} wait --for=condition=established --timeout=60s crd/{}",
            ctx(clusters, *region),
            names.join(" crd/")
        ),
        Action::WaitRollout {
            region,
            namespace,
            deployment,
        } => format!(
            "{} -n {namespace} rollout status deployment/{deployment} --timeout=180s",
            ctx(clusters, *region)
        ),
        Action::RolloutRestart {
            region,
            namespace,
            deployment,
        } => format!(
            "{} -n {namespace} rollout restart deployment/{deployment}",
            ctx(clusters, *region)
        ),
        Action::WaitDeployed { region, kind, name } => format!(
            "{} -n {ns} wait {} {name} --for=jsonpath='{{.status.type}}'=Deployed --timeout=300s",
            ctx(clusters, *region),
            kind.to_ascii_lowercase()
        ),
        Action::ReadCaCert { region, ca } => {
            let var = manifests::ca_cert_placeholder(ca);
            let var = var.trim_start_matches("${").trim_end_matches('}');
            format!(
                "{var}=$({} -n {ns} get configmap {ca}-connection-profile -o json | jq -r '.binaryData.\"profile.json\"' | base64 -d | jq -r .tls.cert); echo \"{var}=$(printf %s \"${var}\")\" >> .ca-certs; export {var}",
                ctx(clusters, *region)
            )
        }
    }
}

fn deploy_script(clusters: &Clusters, actions: &[Action], env: &str) -> String {
    let mut s = String::from(SCRIPT_HEAD);
    let _ = writeln!(s, ". ./{env}");
    s.push_str("# What hadr applies, in order (it does the same through the Kubernetes API).\n");
    let mut last = None;
    for action in actions {
        let region = action.region();
        if last != Some(region) {
            let r = &clusters.regions[region];
            let _ = writeln!(
                s,
                "\n# {} (cluster {}), context {}",
                r.region,
                r.index + 1,
                r.context
            );
            last = Some(region);
        }
        let _ = writeln!(s, "{}", command(clusters, action));
    }
    s
}

fn human(d: std::time::Duration) -> String {
    crate::report::human_duration(d)
}

fn fault_script(
    clusters: &Clusters,
    fault: &FaultPlan,
    steps: &[Step],
    chaos_files: &[(usize, String)],
    env: &str,
    start: bool,
) -> String {
    let mut s = String::from(SCRIPT_HEAD);
    let _ = writeln!(s, ". ./{env}");
    let when = match (start, fault.duration) {
        (true, _) => format!("at {} into the workload", human(fault.at)),
        (false, Some(d)) => format!(
            "at {} into the workload ({} after the start)",
            human(fault.at + d),
            human(d)
        ),
        (false, None) => "at the end of the run (the fault has no `for`)".to_string(),
    };
    let _ = writeln!(
        s,
        "# Fault {} ({}), {}: {when}.",
        fault.number,
        fault.kind,
        if start { "start" } else { "heal" }
    );
    for note in &fault.notes {
        let _ = writeln!(s, "# Note: {note}.");
    }
    let mut chaos = chaos_files.iter();
    for step in steps {
        match step {
            Step::Shell(command) => {
                let _ = writeln!(s, "{command}");
            }
            Step::Chaos { region, .. } => {
                let file = chaos.next().map(|(_, f)| f.clone()).unwrap_or_default();
                let _ = writeln!(s, "subst {file} | {} apply -f -", ctx(clusters, *region));
            }
            Step::ChaosDelete { region, kind, name } => {
                let _ = writeln!(
                    s,
                    "{} -n {} delete {} {name} --ignore-not-found",
                    ctx(clusters, *region),
                    clusters.namespace,
                    kind.to_ascii_lowercase()
                );
            }
            Step::RefreshNodeIp { region } => {
                let r = &clusters.regions[*region];
                let _ = writeln!(s, "# {}'s node may have a new address on the kind network: read it, then tell the other regions' CoreDNS.", r.region);
                let _ = writeln!(s, "{}=$(docker inspect -f '{{{{(index .NetworkSettings.Networks \"kind\").IPAddress}}}}' {}); export {}", r.node_ip_var, r.node_container, r.node_ip_var);
                for other in clusters.regions.iter().filter(|o| o.index != r.index) {
                    let _ = writeln!(s, "subst $(ls ./*-{}-coredns.yaml) | {c} apply --server-side --field-manager hadr -f - && {c} -n kube-system rollout restart deployment/coredns", other.region, c = ctx(clusters, other.index));
                }
            }
        }
    }
    s
}

fn cleanup_script(clusters: &Clusters, env: &str) -> String {
    let mut s = String::from(SCRIPT_HEAD);
    let _ = writeln!(s, ". ./{env}");
    let _ = writeln!(s, "# Everything labelled {}, in every region (what `hadr kind down --run-only` does through the API).", clusters.selector());
    for region in &clusters.regions {
        let c = ctx(clusters, region.index);
        let _ = writeln!(s, "{c} delete clusterrolebinding -l {sel} --ignore-not-found\n{c} delete namespace -l {sel} --ignore-not-found --wait=false", sel = clusters.selector());
    }
    if clusters.flavor == Flavor::Kind {
        let _ = writeln!(s, "# Fault chains left by an interrupted run (the rules name no address, so this needs none).");
        for region in &clusters.regions {
            let _ = writeln!(s, "docker exec {n} sh -c 'for c in $(iptables -S | sed -n \"s/^-N \\(HADR-F[0-9]*\\)$/\\1/p\"); do for h in INPUT FORWARD OUTPUT; do iptables -D $h -j $c 2>/dev/null || true; done; iptables -F $c; iptables -X $c; done; tc qdisc del dev eth0 root 2>/dev/null || true'", n = region.node_container);
        }
        let _ = writeln!(s, "# The clusters themselves: hadr kind down, or");
        for region in &clusters.regions {
            let _ = writeln!(s, "# kind delete cluster --name {}", region.cluster);
        }
    }
    s
}

fn readme(
    clusters: &Clusters,
    scenario: &Scenario,
    files: &[PlanFile],
    faults: &[FaultPlan],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Plan of `{}` on {}\n",
        scenario.name,
        clusters.flavor.name()
    );
    let _ = writeln!(s, "Generated by `hadr run {} --substrate {} --dry-run` (console: {}, faults: {}). Nothing was applied.\n", clusters.source, clusters.flavor.name(), match clusters.console { ConsoleChoice::Real => "real", ConsoleChoice::Mock => "mock" }, clusters.chaos.name());
    let _ = writeln!(s, "Run `{}`: namespace `{}` in every cluster; every resource hadr creates is labelled `{}`.\n", clusters.run_id, clusters.namespace, clusters.selector());
    s.push_str("| region | cluster | context | domain |\n|---|---|---|---|\n");
    for r in &clusters.regions {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            r.region, r.cluster, r.context, r.domain
        );
    }
    s.push_str("\nFiles, in the order they are used:\n\n");
    let mut seen_dirs = std::collections::BTreeSet::new();
    for file in files.iter().skip(1) {
        let shown = match file.path.split_once('/') {
            Some((dir, _)) if !seen_dirs.insert(dir.to_string()) => continue,
            Some((dir, _)) => format!("{dir}/"),
            None => file.path.clone(),
        };
        let _ = writeln!(s, "- `{shown}`");
    }
    if clusters.flavor == Flavor::Kubernetes {
        s.push_str("\nThe clusters must already have: an ingress controller of class `nginx` with SSL passthrough (`--enable-ssl-passthrough`), DNS for each region's domain pointing at it, a default StorageClass, the images below reachable, and Chaos Mesh for faults.\n");
    }
    if !faults.is_empty() {
        s.push_str(
            "\nFaults (the `*-start.sh` script at the fault's start, `*-heal.sh` at its end):\n\n",
        );
        for f in faults {
            let _ = writeln!(
                s,
                "- fault {}: {} at {}{}",
                f.number,
                f.slug,
                human(f.at),
                f.duration
                    .map(|d| format!(" for {}", human(d)))
                    .unwrap_or_default()
            );
        }
    }
    s.push_str("\nImages:\n\n");
    for image in images::for_run(clusters.console, clusters.flavor) {
        let _ = writeln!(
            s,
            "- `{}`: {}{}",
            image.reference(),
            image.role,
            if image.floats() {
                " (the sample's floating tag)"
            } else {
                ""
            }
        );
    }
    s.push_str("\nNot in this plan: the documented procedure through the consoles (join channel, anchor peers, chaincode), the workload and the checks. hadr does not run them on real clusters yet.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::substrate::cluster::{clusters, Options};

    #[test]
    fn cas_are_deployed_and_read_before_the_nodes_that_enroll_with_them() {
        let scenario = crate::scenario::example();
        let clusters = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
        let plan = build(&scenario, &clusters).unwrap();
        let position = |wanted: &Action| plan.actions.iter().position(|a| a == wanted).unwrap();
        let read_org2 = position(&Action::ReadCaCert {
            region: 1,
            ca: "org2-ca".into(),
        });
        let east_peers = plan.actions.iter().position(|a| matches!(a, Action::Apply { region: 0, file } if file.ends_with("us-east-nodes.yaml"))).unwrap();
        assert!(
            read_org2 < east_peers,
            "org2's peer in us-east enrolls with the CA in us-west"
        );
        let numbers: Vec<&str> = plan.files.iter().map(|f| &f.path[..2]).collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(numbers, sorted, "files are numbered in order");
    }
}
