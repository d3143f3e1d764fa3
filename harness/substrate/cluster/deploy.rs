//! Applying a plan through the Kubernetes API with kube-rs: server-side apply of every
//! document (field manager `hadr`, forced, as kube-rs's examples/crd_apply.rs does), waits
//! on fabric-operator's custom resources until `.status.type == Deployed` (the operator's
//! readiness, api/v1beta1/common_struct.go; the samples wait the same way with
//! `kubectl wait --for jsonpath='{.status.type}'=Deployed`), and cleanup by the run's label.
//!
//! Tested against a mock API server (tests/kind.rs, tower-test as kube-rs's mock_tests.rs);
//! never run against a real cluster on the machine it was written on.

use super::plan::{Action, Plan};
use super::{Clusters, RUN_LABEL};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::Client;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The field manager of hadr's server-side applies.
pub const FIELD_MANAGER: &str = "hadr";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeployError {
    /// The API server refused a request; the message says what, where and how to fix it.
    #[error("{0}")]
    Api(String),
    /// A wait ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// A component reported `.status.type == Error`.
    #[error("{0}")]
    Failed(String),
    /// A plan file or placeholder is wrong (a defect of hadr or of a hand-edited plan).
    #[error("{0}")]
    Plan(String),
    /// A local tool (kubectl kustomize) failed.
    #[error("{0}")]
    Tool(String),
}

/// Replaces every `${HADR_...}` in `text` with its value; a placeholder without a value is
/// an error (an empty value in a manifest would fail later and far from its cause).
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> Result<String, DeployError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${HADR_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let end = tail.find('}').ok_or_else(|| {
            DeployError::Plan(format!(
                "unterminated placeholder at `{}`",
                &rest[at..rest.len().min(at + 40)]
            ))
        })?;
        let name = &tail[..end];
        let value = values.get(name).ok_or_else(|| {
            DeployError::Plan(format!(
                "no value for ${{{name}}} (known: {})",
                values.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        out.push_str(value);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Plural and scope of the kinds hadr applies (no discovery round trip: the set is fixed).
fn resource_of(doc: &Value) -> Result<(ApiResource, bool), DeployError> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let (plural, namespaced) = match kind {
        "Namespace" => ("namespaces", false),
        "ConfigMap" => ("configmaps", true),
        "Service" => ("services", true),
        "ServiceAccount" => ("serviceaccounts", true),
        "Secret" => ("secrets", true),
        "Deployment" => ("deployments", true),
        "DaemonSet" => ("daemonsets", true),
        "Job" => ("jobs", true),
        "Ingress" => ("ingresses", true),
        "IngressClass" => ("ingressclasses", false),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "CustomResourceDefinition" => ("customresourcedefinitions", false),
        "ValidatingWebhookConfiguration" => ("validatingwebhookconfigurations", false),
        "IBPCA" => ("ibpcas", true),
        "IBPPeer" => ("ibppeers", true),
        "IBPOrderer" => ("ibporderers", true),
        "IBPConsole" => ("ibpconsoles", true),
        "NetworkChaos" => ("networkchaos", true),
        "PodChaos" => ("podchaos", true),
        other => {
            return Err(DeployError::Plan(format!(
                "hadr does not know how to apply kind `{other}` ({api_version})"
            )))
        }
    };
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Ok((ApiResource::from_gvk_with_plural(&gvk, plural), namespaced))
}

fn describe(doc: &Value) -> String {
    let kind = doc["kind"].as_str().unwrap_or("?");
    let name = doc["metadata"]["name"].as_str().unwrap_or("?");
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// A clear message for an API error: what was refused, the server's words, and the fix.
pub fn explain(error: &kube::Error, doing: &str, context: &str) -> DeployError {
    match error {
        kube::Error::Api(status) => {
            let hint = match status.code {
                403 => format!("the user of kubeconfig context `{context}` lacks the RBAC permission; use a context with cluster-admin (kind's own context has it)"),
                404 => "the API server does not serve this resource: are fabric-operator's CRDs installed in this cluster (the plan's fabric-operator-crds step), or the namespace created?".to_string(),
                409 => "another field manager or a concurrent change holds it; rerun, or delete the run's resources first (hadr kind down, or the plan's cleanup.sh)".to_string(),
                422 => "the server rejected the document as invalid; the plan file holds what was sent".to_string(),
                _ => "see the server's message".to_string(),
            };
            DeployError::Api(format!(
                "{doing} in context `{context}`: {} ({}): {}\n  = hint: {hint}",
                if status.reason.is_empty() { "refused" } else { status.reason.as_str() },
                status.code,
                status.message
            ))
        }
        other => DeployError::Api(format!("{doing} in context `{context}`: {other}\n  = hint: is the cluster up (hadr kind status) and the context right?")),
    }
}

/// One region's API: a client and the context it came from (for messages).
#[derive(Clone)]
pub struct Target {
    pub client: Client,
    pub context: String,
}

impl Target {
    /// A client for kubeconfig context `context`.
    pub async fn from_context(context: &str) -> Result<Target, DeployError> {
        let options = kube::config::KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let config = kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| DeployError::Api(format!("kubeconfig context `{context}`: {e}\n  = hint: `kubectl config get-contexts` lists them; kind adds kind-<cluster> when it creates a cluster")))?;
        let client = Client::try_from(config)
            .map_err(|e| DeployError::Api(format!("kubeconfig context `{context}`: {e}")))?;
        Ok(Target {
            client,
            context: context.to_string(),
        })
    }

    fn api(
        &self,
        resource: &ApiResource,
        namespaced: bool,
        namespace: Option<&str>,
    ) -> Api<DynamicObject> {
        match (namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, resource),
            (true, None) => Api::default_namespaced_with(self.client.clone(), resource),
            (false, _) => Api::all_with(self.client.clone(), resource),
        }
    }

    /// Server-side apply of one document.
    pub async fn apply(&self, doc: &Value) -> Result<(), DeployError> {
        let (resource, namespaced) = resource_of(doc)?;
        let name = doc["metadata"]["name"]
            .as_str()
            .ok_or_else(|| DeployError::Plan(format!("{} has no metadata.name", describe(doc))))?;
        let api = self.api(&resource, namespaced, doc["metadata"]["namespace"].as_str());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(name, &params, &Patch::Apply(doc))
            .await
            .map(|_| ())
            .map_err(|e| explain(&e, &format!("applying {}", describe(doc)), &self.context))
    }

    /// Waits until fabric-operator's `kind`/`name` in `namespace` reports
    /// `.status.type == Deployed`; fails at once on `Error`, and after `timeout` with the
    /// last status seen.
    pub async fn wait_deployed(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), DeployError> {
        let doc = serde_json::json!({"apiVersion": "ibp.com/v1beta1", "kind": kind, "metadata": {"name": name}});
        let (resource, _) = resource_of(&doc)?;
        let api = self.api(&resource, true, Some(namespace));
        let last: Arc<Mutex<Option<Value>>> = Arc::default();
        let seen = last.clone();
        let condition = move |object: Option<&DynamicObject>| {
            let status = object.and_then(|o| o.data.get("status")).cloned();
            let done = matches!(
                status
                    .as_ref()
                    .and_then(|s| s.get("type"))
                    .and_then(Value::as_str),
                Some("Deployed" | "Error")
            );
            *seen.lock().expect("not poisoned") = status;
            done
        };
        let what = format!("{kind} {namespace}/{name} (context `{}`)", self.context);
        match tokio::time::timeout(
            timeout,
            kube::runtime::wait::await_condition(api, name, condition),
        )
        .await
        {
            Err(_) => {
                let status = last.lock().expect("not poisoned").clone();
                Err(DeployError::Timeout(format!(
                    "{what} not Deployed after {}; last status: {}\n  = hint: `kubectl --context {} -n {namespace} describe {} {name}` and the fabric-operator pod's log say why",
                    crate::report::human_duration(timeout),
                    status.map(|s| s.to_string()).unwrap_or_else(|| "none (the operator has not reconciled it)".into()),
                    self.context,
                    kind.to_ascii_lowercase()
                )))
            }
            Ok(Err(kube::runtime::wait::Error::ProbeFailed(
                kube::runtime::watcher::Error::InitialListFailed(e)
                | kube::runtime::watcher::Error::WatchStartFailed(e)
                | kube::runtime::watcher::Error::WatchFailed(e),
            ))) => Err(explain(
                &e,
                &format!("watching {kind} {namespace}/{name}"),
                &self.context,
            )),
            Ok(Err(e)) => Err(DeployError::Api(format!("watching {what}: {e}"))),
            Ok(Ok(object)) => {
                let status = object
                    .and_then(|o| o.data.get("status").cloned())
                    .unwrap_or_default();
                if status["type"] == "Error" {
                    Err(DeployError::Failed(format!(
                        "{what} is in status Error: {}",
                        status["message"]
                            .as_str()
                            .or(status["reason"].as_str())
                            .unwrap_or("no message")
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The TLS certificate (base64 PEM, as CRs' `catls.cacert` take it) of CA `ca` from its
    /// connection profile ConfigMap.
    pub async fn read_ca_cert(&self, namespace: &str, ca: &str) -> Result<String, DeployError> {
        let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(self.client.clone(), namespace);
        let name = format!("{ca}-connection-profile");
        let map = api.get(&name).await.map_err(|e| {
            explain(
                &e,
                &format!("reading ConfigMap {namespace}/{name}"),
                &self.context,
            )
        })?;
        let profile = map
            .binary_data
            .as_ref()
            .and_then(|d| d.get("profile.json"))
            .ok_or_else(|| {
                DeployError::Failed(format!(
                    "ConfigMap {namespace}/{name} has no binaryData profile.json"
                ))
            })?;
        let profile: Value = serde_json::from_slice(&profile.0)
            .map_err(|e| DeployError::Failed(format!("{namespace}/{name} profile.json: {e}")))?;
        profile["tls"]["cert"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                DeployError::Failed(format!("{namespace}/{name} profile.json has no .tls.cert"))
            })
    }

    /// Deletes the run's namespaces and cluster-scoped bindings (by label); the namespace
    /// takes everything in it.
    pub async fn cleanup(&self, run_id: &str) -> Result<(), DeployError> {
        let selector = format!("{RUN_LABEL}={run_id}");
        let params = ListParams::default().labels(&selector);
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        namespaces
            .delete_collection(&DeleteParams::background(), &params)
            .await
            .map_err(|e| {
                explain(
                    &e,
                    &format!("deleting namespaces labelled {selector}"),
                    &self.context,
                )
            })?;
        let bindings: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> =
            Api::all(self.client.clone());
        bindings
            .delete_collection(&DeleteParams::background(), &params)
            .await
            .map_err(|e| {
                explain(
                    &e,
                    &format!("deleting ClusterRoleBindings labelled {selector}"),
                    &self.context,
                )
            })?;
        Ok(())
    }
}

/// Renders a kustomization with `kubectl kustomize` (remote references need the network).
pub fn kustomize(target: &str) -> Result<Vec<Value>, DeployError> {
    let output = std::process::Command::new("kubectl")
        .args(["kustomize", target])
        .output()
        .map_err(|e| {
            DeployError::Tool(format!(
                "kubectl kustomize {target}: {e}\n  = hint: install kubectl"
            ))
        })?;
    if !output.status.success() {
        return Err(DeployError::Tool(format!(
            "kubectl kustomize {target}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&text).map_err(|e| {
        DeployError::Tool(format!(
            "kubectl kustomize {target}: unreadable output: {e}"
        ))
    })
}

/// What tells the user how far a deploy got (stderr lines in the CLI).
pub trait Progress: Send + Sync {
    fn step(&self, region: &str, what: &str);
}

/// Runs `plan`'s actions on `targets` (one per region, in order). `plan_dir` is where the
/// plan was written (kustomizations are rendered from there); `values` the run-time
/// placeholders known so far (node IPs, secrets); CA certificates are added as read.
pub async fn run(
    plan: &Plan,
    plan_dir: &Path,
    targets: &[Target],
    values: &mut BTreeMap<String, String>,
    wait: Duration,
    progress: &dyn Progress,
) -> Result<(), DeployError> {
    let clusters: &Clusters = &plan.clusters;
    for action in &plan.actions {
        let region = action.region();
        let target = &targets[region];
        let name = &clusters.regions[region].region;
        progress.step(name, &super::plan::command(clusters, action));
        match action {
            Action::Apply { file, .. } => {
                let file = plan
                    .file(file)
                    .ok_or_else(|| DeployError::Plan(format!("no plan file {file}")))?;
                // Values go into JSON text: escaped as JSON string contents.
                let escaped: BTreeMap<String, String> = values
                    .iter()
                    .map(|(k, v)| {
                        let quoted = Value::String(v.clone()).to_string();
                        (k.clone(), quoted[1..quoted.len() - 1].to_string())
                    })
                    .collect();
                for doc in &file.docs {
                    let text = substitute(&doc.to_string(), &escaped)?;
                    let doc: Value = serde_json::from_str(&text)
                        .map_err(|e| DeployError::Plan(format!("{}: {e}", file.path)))?;
                    target.apply(&doc).await?;
                }
            }
            Action::Kustomize { target: what, .. } => {
                let local = plan_dir.join(what);
                let what = if local.is_dir() {
                    local.display().to_string()
                } else {
                    what.clone()
                };
                for doc in kustomize(&what)? {
                    target.apply(&doc).await?;
                }
            }
            Action::WaitDeployed { kind, name, .. } => {
                target
                    .wait_deployed(&clusters.namespace, kind, name, wait)
                    .await?
            }
            Action::ReadCaCert { ca, .. } => {
                let cert = target.read_ca_cert(&clusters.namespace, ca).await?;
                let key = super::manifests::ca_cert_placeholder(ca)
                    .trim_start_matches("${")
                    .trim_end_matches('}')
                    .to_string();
                values.insert(key, cert);
            }
            // Pods, CRDs and rollouts: kubectl does these waits well and reports why.
            Action::WaitPods { .. }
            | Action::WaitCrds { .. }
            | Action::WaitRollout { .. }
            | Action::RolloutRestart { .. } => {
                let command = super::plan::command(clusters, action);
                let status = std::process::Command::new("sh")
                    .args(["-c", &command])
                    .status()
                    .map_err(|e| DeployError::Tool(format!("{command}: {e}")))?;
                if !status.success() {
                    return Err(DeployError::Tool(format!("{command}: exit {status}")));
                }
            }
        }
    }
    Ok(())
}
