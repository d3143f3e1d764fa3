//! The Kubernetes resources of a run, per region, as JSON values (keys sorted: the output is
//! byte-stable). Custom resources follow fabric-operator's CRDs `ibp.com/v1beta1` and its
//! samples (`sample-network/config/{cas,orderers,peers,console}/*.yaml` at 10283a69,
//! research §1.4-§1.6); everything hadr creates carries the run's labels.
//!
//! Values known only once a cluster runs are `${HADR_...}` placeholders, replaced when hadr
//! applies the file ([`super::deploy::substitute`]): node IPs on the `kind` network, the CA's
//! TLS certificate (from its `<ca>-connection-profile` ConfigMap once it is Deployed), and the
//! run's secrets (drawn at apply time, never written into the plan).

use super::{images, resource_name, Clusters, ConsoleChoice, Flavor, RegionCluster, NODE_LABEL};
use crate::scenario::layout::{self, Role};
use crate::scenario::model::Scenario;
use serde_json::{json, Value};

/// fabric-operator commit whose CRDs and RBAC the plan references.
pub const OPERATOR_COMMIT: &str = "10283a697ac1f408e436e9fedcc8dc80541c1e02";
/// The name of the `IBPOrderer`; its nodes are `<name>node1`.. (fabric-operator naming).
pub const ORDERER_NAME: &str = "orderer";
/// The ordering organization's CA (enrolls the ordering nodes).
pub const ORDERER_CA_NAME: &str = "orderer-ca";
/// The real console's `IBPConsole` (sample-network's name).
pub const REAL_CONSOLE_NAME: &str = "hlf-console";
/// hadr's mock console Deployment, Service and Ingress.
pub const MOCK_CONSOLE_NAME: &str = "console";
/// The mock console's port in its pod.
pub const MOCK_CONSOLE_PORT: u16 = 3000;
/// Filled at apply time with a secret drawn for the run: enroll secrets of the bootstrap
/// identities the CAs register.
pub const ENROLL_SECRET: &str = "${HADR_ENROLL_SECRET}";
/// Filled at apply time: the real console's initial password.
pub const CONSOLE_PASSWORD: &str = "${HADR_CONSOLE_PASSWORD}";

/// The kustomize remote reference of fabric-operator's CRDs.
pub fn crd_reference() -> String {
    format!(
        "https://github.com/hyperledger-labs/fabric-operator.git/config/crd?ref={OPERATOR_COMMIT}"
    )
}

/// The ClusterRole the operator runs with (sample-network/config/rbac).
pub fn cluster_role_reference() -> String {
    format!("https://raw.githubusercontent.com/hyperledger-labs/fabric-operator/{OPERATOR_COMMIT}/sample-network/config/rbac/hlf-operator-clusterrole.yaml")
}

/// ingress-nginx's kind provider at the version fabric-operator's kind kustomization pins.
pub const INGRESS_NGINX_REFERENCE: &str =
    "https://github.com/kubernetes/ingress-nginx.git/deploy/static/provider/kind?ref=controller-v1.1.2";

/// The placeholder of the TLS certificate of CA `ca` (a resource name).
pub fn ca_cert_placeholder(ca: &str) -> String {
    format!(
        "${{HADR_CA_TLS_CERT_{}}}",
        ca.to_ascii_uppercase().replace('-', "_")
    )
}

fn metadata(clusters: &Clusters, name: &str, namespace: Option<&str>, node: Option<&str>) -> Value {
    let mut labels = clusters.labels();
    if let Some(node) = node {
        labels[NODE_LABEL] = json!(node);
    }
    let mut meta = json!({"name": name, "labels": labels});
    if let Some(ns) = namespace {
        meta["namespace"] = json!(ns);
    }
    meta
}

/// The run's namespace. fabric-operator's samples label theirs
/// `pod-security.kubernetes.io/enforce=baseline` (test_network.sh:init_namespace).
pub fn namespace(clusters: &Clusters) -> Value {
    let mut ns = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(clusters, &clusters.namespace, None, None),
    });
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = json!("baseline");
    ns
}

/// ingress-nginx for kind: fabric-operator's `config/ingress/kind` kustomization (the
/// upstream kind provider plus a patch of the controller's arguments; SSL passthrough is
/// what lets Fabric's TLS end at the peers, routed by SNI), and one more patch fixing the
/// controller Service's ClusterIP so CoreDNS can point at it. Files: kustomization.yaml and
/// the patch.
pub fn ingress_nginx(region: &RegionCluster) -> [(String, String); 2] {
    let kustomization = format!(
        "# fabric-operator config/ingress/kind/kustomization.yaml, plus the ClusterIP patch.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         resources:\n\
         \x20 - {INGRESS_NGINX_REFERENCE}\n\
         patchesStrategicMerge:\n\
         \x20 - ingress-nginx-controller.yaml\n\
         # hadr: the tag's manifest names k8s.gcr.io images pinned by digest; kind loads images by\n\
         # tag (`kind load docker-image`), so name the tags that are loaded. Not yet run against\n\
         # a cluster: check `kubectl kustomize` of this folder names them.\n\
         images:\n\
         \x20 - name: k8s.gcr.io/ingress-nginx/controller\n\
         \x20   newName: {controller}\n\
         \x20   newTag: {controller_tag}\n\
         \x20 - name: k8s.gcr.io/ingress-nginx/kube-webhook-certgen\n\
         \x20   newName: {certgen}\n\
         \x20   newTag: {certgen_tag}\n",
        controller = images::INGRESS_CONTROLLER.repository,
        controller_tag = images::INGRESS_CONTROLLER.tag,
        certgen = images::INGRESS_CERTGEN.repository,
        certgen_tag = images::INGRESS_CERTGEN.tag,
    );
    let patch = format!(
        "# Arguments: fabric-operator config/ingress/kind/ingress-nginx-controller.yaml (--enable-ssl-passthrough).\n\
         apiVersion: apps/v1\n\
         kind: Deployment\n\
         metadata:\n\
         \x20 namespace: ingress-nginx\n\
         \x20 name: ingress-nginx-controller\n\
         spec:\n\
         \x20 template:\n\
         \x20   spec:\n\
         \x20     containers:\n\
         \x20       - name: controller\n\
         \x20         args:\n\
         \x20           - /nginx-ingress-controller\n\
         \x20           - --election-id=ingress-controller-leader\n\
         \x20           - --controller-class=k8s.io/ingress-nginx\n\
         \x20           - --ingress-class=nginx\n\
         \x20           - --configmap=$(POD_NAMESPACE)/ingress-nginx-controller\n\
         \x20           - --validating-webhook=:8443\n\
         \x20           - --validating-webhook-certificate=/usr/local/certificates/cert\n\
         \x20           - --validating-webhook-key=/usr/local/certificates/key\n\
         \x20           - --watch-ingress-without-class=true\n\
         \x20           - --publish-status-address=localhost\n\
         \x20           - --enable-ssl-passthrough\n\
         ---\n\
         # hadr: a fixed ClusterIP in {subnet}, so the CoreDNS rewrite of {domain} can name it.\n\
         apiVersion: v1\n\
         kind: Service\n\
         metadata:\n\
         \x20 namespace: ingress-nginx\n\
         \x20 name: ingress-nginx-controller\n\
         spec:\n\
         \x20 clusterIP: {ip}\n",
        subnet = region.service_subnet,
        domain = region.domain,
        ip = region.ingress_cluster_ip,
    );
    [
        ("kustomization.yaml".to_string(), kustomization),
        ("ingress-nginx-controller.yaml".to_string(), patch),
    ]
}

/// `.`-escaped for a CoreDNS regex.
fn regex_escape(domain: &str) -> String {
    domain.replace('.', "\\.")
}

/// The CoreDNS Corefile of `region`'s cluster: kubeadm's stock Corefile with, for every
/// region, a rewrite of `*.<domain>` to `host.<region>.internal` and a hosts entry for it.
/// The region's own domain resolves to its ingress controller's ClusterIP, as
/// sample-network's `apply_coredns_domain_override` does (scripts/cluster.sh); the other
/// regions' to their kind node's IP on the shared `kind` Docker network, where their
/// ingress controller holds hostPort 443 (research §1.8; kind#2018: the clusters' nodes
/// reach each other on that network).
pub fn coredns(clusters: &Clusters, region: &RegionCluster) -> Value {
    let mut rewrites = String::new();
    let mut hosts = String::new();
    for other in &clusters.regions {
        let target = format!("host.{}.internal", other.region);
        rewrites.push_str(&format!(
            "    rewrite name regex (.*)\\.{} {target}\n",
            regex_escape(&other.domain)
        ));
        let ip = if other.index == region.index {
            region.ingress_cluster_ip.clone()
        } else {
            format!("${{{}}}", other.node_ip_var)
        };
        hosts.push_str(&format!("      {ip} {target}\n"));
    }
    let corefile = format!(
        ".:53 {{\n    errors\n    health {{\n       lameduck 5s\n    }}\n    ready\n{rewrites}    hosts {{\n{hosts}      fallthrough\n    }}\n    kubernetes cluster.local in-addr.arpa ip6.arpa {{\n       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }}\n    prometheus :9153\n    forward . /etc/resolv.conf {{\n       max_concurrent 1000\n    }}\n    cache 30\n    loop\n    reload\n    loadbalance\n}}\n"
    );
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "coredns", "namespace": "kube-system"},
        "data": {"Corefile": corefile},
    })
}

/// fabric-operator in the run's namespace: its ServiceAccount, the binding to the
/// ClusterRole of [`cluster_role_reference`], and the Deployment of
/// sample-network/config/manager/hlf-operator-manager.yaml (WATCH_NAMESPACE from the pod's
/// namespace, CLUSTERTYPE=K8S, tcp probes on 8383).
pub fn operator(clusters: &Clusters) -> Vec<Value> {
    let ns = clusters.namespace.as_str();
    let mut pod_labels = clusters.labels();
    pod_labels["name"] = json!("fabric-operator");
    vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(clusters, "hlf-operator", Some(ns), None),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            // Cluster-scoped: one per run namespace.
            "metadata": metadata(clusters, &format!("{ns}-hlf-operator"), None, None),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "hlf-operator-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "hlf-operator", "namespace": ns}],
        }),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(clusters, "fabric-operator", Some(ns), None),
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": {"name": "fabric-operator"}},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "serviceAccountName": "hlf-operator",
                        "containers": [{
                            "name": "fabric-operator",
                            "image": images::OPERATOR.reference(),
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["ibp-operator"],
                            "livenessProbe": {"tcpSocket": {"port": 8383}, "initialDelaySeconds": 10, "timeoutSeconds": 5, "failureThreshold": 5},
                            "readinessProbe": {"tcpSocket": {"port": 8383}, "initialDelaySeconds": 10, "timeoutSeconds": 5, "periodSeconds": 5},
                            "env": [
                                {"name": "WATCH_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "OPERATOR_NAME", "value": "fabric-operator"},
                                {"name": "CLUSTERTYPE", "value": "K8S"},
                            ],
                            "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}, "limits": {"cpu": "100m", "memory": "200Mi"}},
                        }],
                    },
                },
            },
        }),
    ]
}

fn storage(clusters: &Clusters, size: &str) -> Value {
    match clusters.flavor {
        // kind's default StorageClass (local-path provisioner).
        Flavor::Kind => json!({"class": "standard", "size": size}),
        // The cluster's default class.
        Flavor::Kubernetes => json!({"size": size}),
    }
}

/// The region's console: an `IBPConsole` (sample-network/config/console/
/// hlf-operations-console.yaml) or hadr's mock console as a Deployment, a Service and an
/// Ingress (plain HTTP: the mock serves no TLS).
pub fn console(clusters: &Clusters, region: &RegionCluster) -> Vec<Value> {
    let ns = clusters.namespace.as_str();
    let node = layout::console_name(&region.region);
    match clusters.console {
        ConsoleChoice::Real => vec![json!({
            "apiVersion": "ibp.com/v1beta1",
            "kind": "IBPConsole",
            "metadata": metadata(clusters, REAL_CONSOLE_NAME, Some(ns), Some(&node)),
            "spec": {
                "arch": ["amd64"],
                "license": {"accept": true},
                "serviceAccountName": "default",
                "email": "admin",
                "password": CONSOLE_PASSWORD,
                "allowDefaultPassword": true,
                "images": {
                    "consoleInitImage": images::INIT.repository, "consoleInitTag": images::INIT.tag,
                    "consoleImage": images::CONSOLE.repository, "consoleTag": images::CONSOLE.tag,
                    "deployerImage": images::DEPLOYER.repository, "deployerTag": images::DEPLOYER.tag,
                    "configtxlatorImage": images::TOOLS.repository, "configtxlatorTag": images::TOOLS.tag,
                    "couchdbImage": images::COUCHDB.repository, "couchdbTag": images::COUCHDB.tag,
                },
                "networkinfo": {"domain": region.domain},
                "storage": {"console": storage(clusters, "5Gi")},
                "usetags": true,
                "version": "1.0.0",
            },
        })],
        ConsoleChoice::Mock => {
            let mut pod_labels = clusters.labels();
            pod_labels["app"] = json!(MOCK_CONSOLE_NAME);
            pod_labels[NODE_LABEL] = json!(node);
            let image = images::mock_console();
            vec![
                json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": metadata(clusters, MOCK_CONSOLE_NAME, Some(ns), Some(&node)),
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": MOCK_CONSOLE_NAME}},
                        "template": {
                            "metadata": {"labels": pod_labels},
                            "spec": {
                                "containers": [{
                                    "name": "console",
                                    "image": image.reference(),
                                    // On kind it is loaded with `kind load docker-image`, never
                                    // pulled; existing clusters pull it from where the user pushed it.
                                    "imagePullPolicy": if clusters.flavor == Flavor::Kind { "Never" } else { "IfNotPresent" },
                                    "args": ["console", "serve", "--listen", format!("0.0.0.0:{MOCK_CONSOLE_PORT}")],
                                    "ports": [{"containerPort": MOCK_CONSOLE_PORT, "name": "http"}],
                                    "readinessProbe": {"httpGet": {"path": "/ak/api/v3/healthcheck", "port": MOCK_CONSOLE_PORT}, "periodSeconds": 2},
                                }],
                            },
                        },
                    },
                }),
                json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": metadata(clusters, MOCK_CONSOLE_NAME, Some(ns), Some(&node)),
                    "spec": {
                        "selector": {"app": MOCK_CONSOLE_NAME},
                        "ports": [{"name": "http", "port": MOCK_CONSOLE_PORT, "targetPort": MOCK_CONSOLE_PORT}],
                    },
                }),
                json!({
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": metadata(clusters, MOCK_CONSOLE_NAME, Some(ns), Some(&node)),
                    "spec": {
                        "ingressClassName": "nginx",
                        "rules": [{
                            "host": clusters.host(region, MOCK_CONSOLE_NAME, "console"),
                            "http": {"paths": [{
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": MOCK_CONSOLE_NAME, "port": {"number": MOCK_CONSOLE_PORT}}},
                            }]},
                        }],
                    },
                }),
            ]
        }
    }
}

/// An enrollment block of a peer or ordering node against CA `ca` in `ca_region`
/// (`secret.enrollment.{component,tls}` of IBPPeer, `clustersecret[].enrollment` of
/// IBPOrderer). Across regions `cahost` is the CA's ingress host in its region: the peers of
/// clusters 2 and 3 enroll with the CA of cluster 1, as the procedure imports it.
fn enrollment(
    clusters: &Clusters,
    ca: &str,
    ca_region: &RegionCluster,
    enroll_id: &str,
    hosts: &[String],
) -> Value {
    let block = |caname: &str| {
        json!({
            "caname": caname,
            "cahost": clusters.host(ca_region, ca, "ca"),
            "caport": "443",
            "catls": {"cacert": ca_cert_placeholder(ca)},
            "enrollid": enroll_id,
            "enrollsecret": ENROLL_SECRET,
        })
    };
    let mut tls = block("tlsca");
    tls["csr"] = json!({"hosts": hosts});
    json!({"component": block("ca"), "tls": tls})
}

/// An IBPCA (sample-network/config/cas/org0-ca.yaml) registering `identities`
/// (`(enroll id, type)`), all with the run's enroll secret, on both its CA and TLS CA.
fn ibpca(
    clusters: &Clusters,
    region: &RegionCluster,
    name: &str,
    node: &str,
    identities: &[(String, &str)],
) -> Value {
    let registrar = json!({
        "hf.Registrar.Roles": "*", "hf.Registrar.DelegateRoles": "*", "hf.Revoker": true,
        "hf.IntermediateCA": true, "hf.GenCRL": true, "hf.Registrar.Attributes": "*", "hf.AffiliationMgr": true,
    });
    let mut registry = vec![
        json!({"name": "rcaadmin", "pass": ENROLL_SECRET, "type": "client", "attrs": registrar}),
    ];
    registry.extend(
        identities
            .iter()
            .map(|(id, kind)| json!({"name": id, "pass": ENROLL_SECRET, "type": kind})),
    );
    let registry = json!({"identities": registry});
    json!({
        "apiVersion": "ibp.com/v1beta1",
        "kind": "IBPCA",
        "metadata": metadata(clusters, name, Some(&clusters.namespace), Some(node)),
        "spec": {
            "action": {"renew": {}},
            "configoverride": {"ca": {"registry": registry.clone()}, "tlsca": {"registry": registry}},
            "customNames": {"pvc": {}},
            "domain": region.domain,
            "images": {
                "caImage": images::CA.repository, "caTag": images::CA.tag,
                "caInitImage": images::INIT.repository, "caInitTag": images::INIT.tag,
            },
            "ingress": {"class": "", "tlsSecretName": ""},
            "license": {"accept": true},
            "replicas": 1,
            "service": {"type": "ClusterIP"},
            "storage": {"ca": storage(clusters, "100M")},
            "version": images::CA.tag,
        },
    })
}

/// The ordering organization's CA and the `IBPOrderer` (sample-network/config/orderers/
/// org0-orderers.yaml) with one node per `ordering_service.nodes` entry, in the ordering
/// region.
pub fn ordering_service(clusters: &Clusters, scenario: &Scenario) -> Vec<Value> {
    let region = &clusters.regions[clusters.orderer_region];
    let ordering = &scenario.topology.ordering_service;
    let count = ordering.nodes.len();
    let node_ids: Vec<String> = (1..=count)
        .map(|i| format!("{ORDERER_NAME}node{i}"))
        .collect();
    let mut identities: Vec<(String, &str)> =
        node_ids.iter().map(|id| (id.clone(), "orderer")).collect();
    identities.push(("ordereradmin".to_string(), "admin"));
    let ca_node = format!(
        "ca.{}.{}",
        layout::org_short_name(&ordering.msp_id),
        region.region
    );
    let ca = ibpca(clusters, region, ORDERER_CA_NAME, &ca_node, &identities);
    let names = layout::orderer_names(ordering);
    let secrets: Vec<Value> = node_ids
        .iter()
        .map(|id| {
            json!({"enrollment": enrollment(clusters, ORDERER_CA_NAME, region, id, &[
                id.clone(),
                format!("{id}.{}.svc.cluster.local", clusters.namespace),
            ])})
        })
        .collect();
    let overrides: Vec<Value> = (0..count)
        .map(|_| json!({"general": {"keepalive": {"serverMinInterval": "61s"}}}))
        .collect();
    let mut metadata = metadata(clusters, ORDERER_NAME, Some(&clusters.namespace), None);
    // The scenario's node names, in consenter order, for the reader: node N is names[N-1].
    metadata["annotations"] = json!({"hadr/nodes": names.join(",")});
    let orderer = json!({
        "apiVersion": "ibp.com/v1beta1",
        "kind": "IBPOrderer",
        "metadata": metadata,
        "spec": {
            "version": images::ORDERER.tag,
            "domain": region.domain,
            "license": {"accept": true},
            "action": {"enroll": {}, "reenroll": {}},
            "clusterSize": count,
            "clusterconfigoverride": overrides,
            "clustersecret": secrets,
            "customNames": {"pvc": {}},
            "images": {
                "ordererInitImage": images::INIT.repository, "ordererInitTag": images::INIT.tag,
                "ordererImage": images::ORDERER.repository, "ordererTag": images::ORDERER.tag,
                "grpcwebImage": images::GRPCWEB.repository, "grpcwebTag": images::GRPCWEB.tag,
            },
            "ingress": {"class": "", "tlsSecretName": ""},
            "mspID": ordering.msp_id,
            "ordererType": "etcdraft",
            "orgName": ordering.msp_id.trim_end_matches("MSP"),
            // Channel participation (no system channel): channels are joined with osnadmin.
            "useChannelLess": true,
            "service": {"type": "ClusterIP"},
            "storage": {"orderer": storage(clusters, "5G")},
        },
    });
    vec![ca, orderer]
}

/// With the mock console (import-only, no deployer) hadr creates what the real console's
/// deployer would: each organization's IBPCA in its home region and its IBPPeers in every
/// region it spans, the peers enrolling with the home CA across clusters. Per region.
pub fn organizations(
    clusters: &Clusters,
    scenario: &Scenario,
    region: &RegionCluster,
) -> Vec<Value> {
    let mut out = Vec::new();
    for org in &scenario.topology.organizations {
        let short = layout::org_short_name(&org.msp_id);
        let ca_name = format!("{short}-ca");
        let home = clusters.region(&org.home).unwrap_or(&clusters.regions[0]);
        let peers: Vec<String> = scenario
            .layout()
            .into_iter()
            .filter(|n| n.role == Role::Peer && n.msp_id.as_deref() == Some(&org.msp_id))
            .map(|n| n.name)
            .collect();
        if home.index == region.index {
            let mut identities: Vec<(String, &str)> = peers
                .iter()
                .map(|p| {
                    (
                        format!("{}-{}", resource_name(p), layout::region_of(p)),
                        "peer",
                    )
                })
                .collect();
            identities.push((format!("{short}admin"), "admin"));
            out.push(ibpca(
                clusters,
                region,
                &ca_name,
                &layout::ca_name(&org.msp_id, &org.home),
                &identities,
            ));
        }
        for peer in peers
            .iter()
            .filter(|p| layout::region_of(p) == region.region)
        {
            let name = resource_name(peer);
            let enroll_id = format!("{name}-{}", region.region);
            let host = clusters.host(region, &name, "peer");
            out.push(json!({
                "apiVersion": "ibp.com/v1beta1",
                "kind": "IBPPeer",
                "metadata": metadata(clusters, &name, Some(&clusters.namespace), Some(peer)),
                "spec": {
                    "version": images::PEER.tag,
                    "domain": region.domain,
                    // Gossip's external endpoint: other regions reach the peer through this
                    // region's ingress (CORE_PEER_GOSSIP_EXTERNALENDPOINT, research §1.6).
                    "peerExternalEndpoint": format!("{host}:443"),
                    "license": {"accept": true},
                    "action": {"enroll": {}, "reenroll": {}},
                    "configoverride": {"peer": {"keepalive": {"minInterval": "61s"}}},
                    "customNames": {"pvc": {}},
                    "images": {
                        "peerInitImage": images::INIT.repository, "peerInitTag": images::INIT.tag,
                        "peerImage": images::PEER.repository, "peerTag": images::PEER.tag,
                        "grpcwebImage": images::GRPCWEB.repository, "grpcwebTag": images::GRPCWEB.tag,
                    },
                    "mspID": org.msp_id,
                    "mspSecret": format!("{name}-secret"),
                    "region": region.region,
                    "secret": {"enrollment": enrollment(clusters, &ca_name, home, &enroll_id, &[
                        name.clone(),
                        format!("{name}.{}.svc.cluster.local", clusters.namespace),
                        host,
                    ])},
                    "chaincodeBuilderConfig": {"peername": name},
                    "service": {"type": "ClusterIP"},
                    "stateDb": "leveldb",
                    "storage": {"peer": storage(clusters, "5G"), "statedb": storage(clusters, "10Gi")},
                },
            }));
        }
    }
    out
}

/// Every custom resource of `region` that hadr waits on until `.status.type == Deployed`:
/// `(kind, name)`, in apply order.
pub fn awaited(docs: &[Value]) -> Vec<(String, String)> {
    docs.iter()
        .filter(|d| {
            d["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("ibp.com/"))
        })
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_string(),
                d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::substrate::cluster::{clusters, Options};

    #[test]
    fn the_corefile_points_the_own_domain_at_the_ingress_and_the_others_at_their_nodes() {
        let scenario = crate::scenario::example();
        let clusters = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
        let cm = coredns(&clusters, &clusters.regions[1]);
        let corefile = cm["data"]["Corefile"].as_str().unwrap();
        assert!(corefile
            .contains("rewrite name regex (.*)\\.us-west\\.localho\\.st host.us-west.internal"));
        assert!(
            corefile.contains("10.97.0.100 host.us-west.internal"),
            "{corefile}"
        );
        assert!(
            corefile.contains("${HADR_NODE_IP_US_EAST} host.us-east.internal"),
            "{corefile}"
        );
        assert_eq!(
            corefile.matches("hosts {").count(),
            1,
            "one hosts block per server block"
        );
    }

    #[test]
    fn mock_console_peers_enroll_with_their_home_ca_across_clusters() {
        let scenario = crate::scenario::example();
        let clusters = clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
        let west = organizations(&clusters, &scenario, &clusters.regions[1]);
        let kinds: Vec<(String, String)> = awaited(&west);
        assert_eq!(
            kinds,
            [
                ("IBPPeer".to_string(), "org1-peer0".to_string()),
                ("IBPCA".to_string(), "org2-ca".to_string()),
                ("IBPPeer".to_string(), "org2-peer0".to_string()),
            ]
        );
        let org1_peer = &west[0];
        assert_eq!(
            org1_peer["spec"]["secret"]["enrollment"]["component"]["cahost"],
            "hadr-multi-region-ha-org1-ca-ca.us-east.localho.st"
        );
        assert_eq!(
            org1_peer["spec"]["peerExternalEndpoint"],
            "hadr-multi-region-ha-org1-peer0-peer.us-west.localho.st:443"
        );
        assert_eq!(
            org1_peer["metadata"]["labels"]["hadr/run"],
            "multi-region-ha-s1"
        );
        assert_eq!(
            org1_peer["metadata"]["labels"]["hadr/node"],
            "peer0.org1.us-west"
        );
    }
}
