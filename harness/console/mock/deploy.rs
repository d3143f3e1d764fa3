//! `/ak/api/v3/kubernetes/...` (routes/deployer_apis.js): the console's deployer
//! counterpart creates nodes. Without one (import-only), every Kubernetes route answers
//! athena's 503 before any authentication (middleware.js `isDeployerConfigured`). With
//! one, the mock creates CAs, peers and ordering services; its other Kubernetes routes
//! (updates, deletes, actions, versions) are answered as unknown routes.

use super::auth::CREATE_ACTION;
use super::request::{unknown_route, Input};
use super::{bad_request, error_message, json, refuse, Console, MockConsole, Refusal};
use crate::console::api::*;
use crate::console::validate::{self, host_port};
use crate::net::BoxFuture;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;

/// athena's message when a Kubernetes route has no deployer (middleware.js).
pub const NO_DEPLOYER_MESSAGE: &str =
    "this api is not available to Console's without the \"deployer\" counterpart";

/// A failed deployment, answered with `status` and athena's `{statusCode, msg}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeployError {
    pub status: u16,
    pub message: String,
}

/// What the console asks its deployer for a new CA.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeployCa {
    pub id: String,
    pub region: String,
    pub body: CreateCaBody,
}

/// A new peer; `enrollment_ca` is the known CA component its enrollment host names.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeployPeer {
    pub id: String,
    pub region: String,
    pub body: CreatePeerBody,
    pub enrollment_ca: Component,
}

/// A new ordering service: one id per crypto entry, in order.
#[derive(Clone, Debug)]
pub struct DeployOrderer {
    pub ids: Vec<String>,
    pub cluster_id: String,
    pub region: String,
    pub body: CreateOrdererBody,
    pub enrollment_ca: Component,
}

/// Deploys nodes into the console's own region: athena's fabric-deployer counterpart
/// (fabric-operator on Kubernetes). The simulation substrate implements it. Answers the
/// component record with at least the URLs (`api_url`, `operations_url`, and for peers
/// and orderers `grpcwp_url`) and `msp` certificates; the console sets id, type, name,
/// location, timestamps and tags.
pub trait Deployer: Send + Sync + 'static {
    fn deploy_ca(&self, request: DeployCa) -> BoxFuture<'_, Result<Component, DeployError>>;
    fn deploy_peer(&self, request: DeployPeer) -> BoxFuture<'_, Result<Component, DeployError>>;
    fn deploy_orderer(
        &self,
        request: DeployOrderer,
    ) -> BoxFuture<'_, Result<Vec<Component>, DeployError>>;
}

/// A deployer that answers over HTTP (athena's deployer is a service of its own): POST
/// `{url}/ca` and `{url}/peer` with the request as JSON; 200 with the component record, or
/// the error's status with the [`DeployError`] as JSON. The runner serves it
/// (runner/deployer.rs), on every substrate that runs hadr's mock console.
pub struct HttpDeployer {
    http: crate::net::http::HttpClient,
    url: String,
}

/// How long a deployment may take (a peer's enrollment included).
const DEPLOY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

impl HttpDeployer {
    pub fn new(http: crate::net::http::HttpClient, url: &str) -> HttpDeployer {
        HttpDeployer {
            http,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    async fn post<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: &T,
    ) -> Result<R, DeployError> {
        let failed = |message: String| DeployError {
            status: 503,
            message: format!("the deployer did not answer: {message}"),
        };
        let body = serde_json::to_vec(request).map_err(|e| failed(e.to_string()))?;
        let request = axum::http::Request::post(format!("{}/{what}", self.url))
            .header("content-type", "application/json")
            .body(bytes::Bytes::from(body))
            .map_err(|e| failed(e.to_string()))?;
        let answer = self
            .http
            .send(request, DEPLOY_TIMEOUT)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if answer.status().is_success() {
            serde_json::from_slice(answer.body()).map_err(|e| failed(e.to_string()))
        } else {
            Err(
                serde_json::from_slice(answer.body()).unwrap_or(DeployError {
                    status: answer.status().as_u16(),
                    message: String::from_utf8_lossy(answer.body()).into_owned(),
                }),
            )
        }
    }
}

impl Deployer for HttpDeployer {
    fn deploy_ca(&self, request: DeployCa) -> BoxFuture<'_, Result<Component, DeployError>> {
        Box::pin(async move { self.post("ca", &request).await })
    }

    fn deploy_peer(&self, request: DeployPeer) -> BoxFuture<'_, Result<Component, DeployError>> {
        Box::pin(async move { self.post("peer", &request).await })
    }

    fn deploy_orderer(
        &self,
        _request: DeployOrderer,
    ) -> BoxFuture<'_, Result<Vec<Component>, DeployError>> {
        // The doc starts from an existing ordering service; hadr's runner creates it.
        Box::pin(async {
            Err(DeployError {
                status: 501,
                message: "hadr's documented runbook creates the ordering service itself".into(),
            })
        })
    }
}

type Routes = Router<Arc<MockConsole>>;

/// Every Kubernetes route of athena's v3 API (deployer_apis.js), by method.
pub(super) fn routes(_console: &Arc<MockConsole>) -> Routes {
    let unavailable = || -> MethodRouter<Arc<MockConsole>> { get(unsupported) };
    let k8s = |path: &str| format!("/kubernetes{path}");
    Router::new()
        .route(&k8s("/components"), post(deploy_untyped).get(unsupported))
        .route(
            &k8s("/components/{id}"),
            post(deploy_typed).put(unsupported).delete(unsupported),
        )
        .route(&k8s("/components/purge"), delete(unsupported))
        .route(&k8s("/components/{id}/{sub}"), put(unsupported))
        .route(&k8s("/components/{id}/{sub}/actions"), post(unsupported))
        .route(
            &k8s("/components/type/{component_type}/{dep_id}"),
            delete(unsupported),
        )
        .route(
            &k8s("/components/tags/{tag}"),
            delete(unsupported).put(unsupported),
        )
        .route(
            &k8s("/components/raft_clusters/{cluster_id}/fabric-orderer"),
            post(unsupported),
        )
        .route(&k8s("/fabric/versions"), unavailable())
        .route(&k8s("/version"), unavailable())
        .route(&k8s("/type"), unavailable())
}

/// athena's import-only answer.
fn no_deployer() -> Response {
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &ErrorMessage {
            status_code: 503,
            error: Some("api is not available".into()),
            msg: NO_DEPLOYER_MESSAGE.into(),
            reason: None,
        },
    )
}

/// A Kubernetes route the mock does not implement: 503 without a deployer (as athena),
/// else an unknown route.
pub(super) async fn unsupported(State(console): Console) -> Response {
    match console.deployer {
        None => no_deployer(),
        Some(_) => unknown_route(),
    }
}

/// The known CA component a create body's enrollment host names.
fn enrollment_ca(console: &MockConsole, crypto: &NodeCrypto) -> Result<Component, Refusal> {
    let Some(enrollment) = &crypto.enrollment else {
        return Err(refuse(vec![
            "Expected parameter 'crypto.enrollment' to exist.".into(),
        ]));
    };
    let wanted = format!("{}:{}", enrollment.ca.host, enrollment.ca.port).to_ascii_lowercase();
    console
        .components()
        .into_iter()
        .find(|c| {
            c.component_type == ComponentType::Ca
                && c.api_url.as_deref().and_then(host_port).as_deref() == Some(wanted.as_str())
        })
        .ok_or_else(|| {
            refuse(vec![
                "The parameter 'crypto.enrollment.ca.host' was not found in the list of known URLs. Import a CA using this host & port or change the host and port in this request to a known one".to_string(),
            ])
        })
}

fn deploy_failed(error: DeployError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_message(status, &error.message, None)
}

/// `POST /kubernetes/components/{type}`.
pub(super) async fn deploy_typed(
    State(console): Console,
    Path(segment): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Input(value): Input,
) -> Response {
    deploy(&console, Some(&segment), &method, &uri, &headers, value).await
}

/// `POST /kubernetes/components` with the type in the body.
pub(super) async fn deploy_untyped(
    State(console): Console,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Input(value): Input,
) -> Response {
    let segment = value
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string);
    deploy(&console, segment.as_deref(), &method, &uri, &headers, value).await
}

fn check(spec: &validate::Spec, body: &Value, known_hosts: &[String]) -> Result<(), Refusal> {
    let errors = validate::validate(spec, body, known_hosts, false);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(refuse(errors))
    }
}

async fn deploy(
    console: &Arc<MockConsole>,
    segment: Option<&str>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    mut value: Value,
) -> Response {
    // isDeployerConfigured runs before authentication.
    let Some(deployer) = console.deployer.clone() else {
        return no_deployer();
    };
    let Some(component_type) = segment
        .and_then(ComponentType::from_route)
        .filter(|t| *t != ComponentType::Msp)
    else {
        return unknown_route();
    };
    if let Err(denied) = console.authorize(headers, method, uri.path(), CREATE_ACTION) {
        return *denied;
    }
    if let Some(map) = value.as_object_mut() {
        // deployer_apis.js: the deployer decides these.
        for key in ["type", "console_type", "cluster_type"] {
            map.remove(key);
        }
    }
    let known_hosts = console.known_hosts();
    let region = console.config.region.clone();
    let created = match component_type {
        ComponentType::Ca => {
            if let Err(e) = check(&validate::create_ca(), &value, &known_hosts) {
                return *e;
            }
            let body: CreateCaBody = match serde_json::from_value(value) {
                Ok(body) => body,
                Err(e) => return bad_request(vec![e.to_string()]),
            };
            let id = console.build_id(
                body.id.as_deref().unwrap_or(&body.display_name),
                &console.lock().components,
            );
            let display_name = body.display_name.clone();
            match deployer
                .deploy_ca(DeployCa {
                    id: id.clone(),
                    region: region.clone(),
                    body,
                })
                .await
            {
                Ok(record) => vec![(id, display_name, record)],
                Err(e) => return deploy_failed(e),
            }
        }
        ComponentType::Peer => {
            if let Err(e) = check(&validate::create_peer(), &value, &known_hosts) {
                return *e;
            }
            let body: CreatePeerBody = match serde_json::from_value(value) {
                Ok(body) => body,
                Err(e) => return bad_request(vec![e.to_string()]),
            };
            let ca = match enrollment_ca(console, &body.crypto) {
                Ok(ca) => ca,
                Err(e) => return *e,
            };
            let id = console.build_id(
                body.id.as_deref().unwrap_or(&body.display_name),
                &console.lock().components,
            );
            let display_name = body.display_name.clone();
            let request = DeployPeer {
                id: id.clone(),
                region: region.clone(),
                body,
                enrollment_ca: ca,
            };
            match deployer.deploy_peer(request).await {
                Ok(record) => vec![(id, display_name, record)],
                Err(e) => return deploy_failed(e),
            }
        }
        ComponentType::Orderer | ComponentType::Msp => {
            if let Err(e) = check(&validate::create_orderer(), &value, &known_hosts) {
                return *e;
            }
            let body: CreateOrdererBody = match serde_json::from_value(value) {
                Ok(body) => body,
                Err(e) => return bad_request(vec![e.to_string()]),
            };
            let Some(first) = body.crypto.first() else {
                return bad_request(vec![
                    "Expected parameter 'crypto' is too small. Array must have >= 1 element(s)."
                        .into(),
                ]);
            };
            let ca = match enrollment_ca(console, first) {
                Ok(ca) => ca,
                Err(e) => return *e,
            };
            // "ordering service node" -> ids orderingservicenode_1, _2, ... (createOrderer).
            let mut taken = console.lock().components.clone();
            let mut names = Vec::new();
            for i in 1..=body.crypto.len() {
                let display_name = format!("{}_{i}", body.display_name);
                let id = console.build_id(&display_name, &taken);
                taken.insert(
                    id.clone(),
                    Component::new(&id, ComponentType::Orderer, &display_name),
                );
                names.push((id, display_name));
            }
            let cluster_id = console.random_string(10).to_lowercase();
            let request = DeployOrderer {
                ids: names.iter().map(|(id, _)| id.clone()).collect(),
                cluster_id: cluster_id.clone(),
                region: region.clone(),
                body: body.clone(),
                enrollment_ca: ca,
            };
            match deployer.deploy_orderer(request).await {
                Ok(records) if records.len() == names.len() => names
                    .into_iter()
                    .zip(records)
                    .map(|((id, name), mut record)| {
                        record.cluster_id = Some(cluster_id.clone());
                        record.cluster_name = Some(body.cluster_name.clone());
                        record.msp_id = Some(body.msp_id.clone());
                        (id, name, record)
                    })
                    .collect(),
                Ok(_) => {
                    return deploy_failed(DeployError {
                        status: 500,
                        message: "the deployer answered the wrong number of nodes".into(),
                    })
                }
                Err(e) => return deploy_failed(e),
            }
        }
    };
    let mut records = Vec::new();
    for (id, display_name, record) in created {
        let mut record = console.stamp(
            Component {
                id: id.clone(),
                component_type,
                display_name,
                dep_component_id: Some(id.clone()),
                region: Some(region.clone()),
                ..record
            },
            Some("ibm_saas".into()),
        );
        record.tags.push("ibm_saas".into());
        record.tags = super::components::fmt_tags(&record.tags);
        if let Err(refusal) = console.lock().put(record.clone()) {
            return *refusal;
        }
        records.push(record);
    }
    if component_type == ComponentType::Orderer {
        json(StatusCode::OK, &CreateOrdererResponse { created: records })
    } else {
        json(StatusCode::OK, &records[0])
    }
}
