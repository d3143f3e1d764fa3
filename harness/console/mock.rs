//! The mock console: fabric-operations-console's `/ak/api/v3` REST API as an axum Router,
//! one per region. It answers what athena answers (packages/athena/routes/*.js,
//! libs/middleware/middleware.js, libs/component_lib.js; shapes recorded in
//! research/console/real_responses.json), so hadr's console client cannot tell it from a
//! real console.
//!
//! Authentication (middleware.js `allowAkToDoAction`):
//! - Basic `initial_admin:<default password>` is the console's first user, who has no
//!   password of their own yet: athena accepts the default password only on
//!   `POST .../permissions/keys`, `.../identity/token` and `.../settings`; anywhere else
//!   the answer is 401.
//! - Basic `api_key:api_secret`: an unknown key or a wrong secret is 401, and so is a key
//!   whose roles lack the route's action (athena answers `unauthorized` there, not 403).
//! - Bearer tokens from `POST /identity/token`: unknown is 401, a role that lacks the
//!   action or an expired token is 403 with athena's `forbidden` body.
//! - 401 bodies are the text `Unauthorized` with a `WWW-Authenticate: Basic` header.
//!
//! Without a `Deployer` the console is import-only, and the Kubernetes routes answer 503
//! before any authentication, as athena's `isDeployerConfigured` middleware does.
//! `/caproxy/*` is a browser-session route on a real console; the mock accepts the API
//! credentials there (there are no sessions), with the real safe-list check.

use super::api::*;
use super::validate::{self, host_port, Spec};
pub use crate::clock::Clock;
use crate::net::http::HttpClient;
use crate::net::BoxFuture;
use crate::secret::Secret;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use axum::Router;
use base64::Engine as _;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Athena's actions (settings.js `STR.*_ACTION`).
pub const CREATE_ACTION: &str = "blockchain.components.create";
pub const DELETE_ACTION: &str = "blockchain.components.delete";
pub const REMOVE_ACTION: &str = "blockchain.components.remove";
pub const IMPORT_ACTION: &str = "blockchain.components.import";
pub const EXPORT_ACTION: &str = "blockchain.components.export";
pub const VIEW_ACTION: &str = "blockchain.optools.view";
pub const API_KEY_ACTION: &str = "blockchain.apikeys.manage";
pub const MANAGE_ACTION: &str = "blockchain.components.manage";

/// The actions a role grants (settings.js `ROLES_TO_ACTIONS`, the stand-alone console).
pub fn role_actions(role: Role) -> &'static [&'static str] {
    match role {
        Role::Manager => &[
            CREATE_ACTION,
            DELETE_ACTION,
            REMOVE_ACTION,
            IMPORT_ACTION,
            EXPORT_ACTION,
            "blockchain.optools.restart",
            "blockchain.optools.logs",
            VIEW_ACTION,
            "blockchain.optools.settings",
            "blockchain.notifications.manage",
            "blockchain.users.manage",
            API_KEY_ACTION,
            "blockchain.signaturecollection.manage",
            MANAGE_ACTION,
        ],
        Role::Writer => &[
            REMOVE_ACTION,
            IMPORT_ACTION,
            EXPORT_ACTION,
            VIEW_ACTION,
            "blockchain.notifications.manage",
            "blockchain.signaturecollection.manage",
            MANAGE_ACTION,
        ],
        Role::Reader => &[EXPORT_ACTION, VIEW_ACTION],
    }
}

fn roles_allow(roles: &[Role], action: &str) -> bool {
    roles
        .iter()
        .any(|role| role_actions(*role).contains(&action))
}

/// athena's message when a Kubernetes route has no deployer (middleware.js).
pub const NO_DEPLOYER_MESSAGE: &str =
    "this api is not available to Console's without the \"deployer\" counterpart";

/// athena's HTTP_STATUS_TIMEOUT default: status probes give up after 3 s.
pub const STATUS_TIMEOUT_MS: u64 = 3_000;

/// What a console is told at start (athena's settings file).
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// ATHENA_ID, answered by the healthcheck.
    pub athena_id: String,
    pub region: String,
    /// HOST_URL, e.g. `http://console.us-east:3000`.
    pub host_url: String,
    /// `initial_admin`: the first user's name.
    pub initial_admin: String,
    /// `default_user_password_initial`.
    pub default_password: Secret,
    /// Seeds API keys, secrets, tokens and cluster ids.
    pub seed: u64,
}

/// A failed deployment, answered with `status` and athena's `{statusCode, msg}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployError {
    pub status: u16,
    pub message: String,
}

/// What the console asks its deployer for a new CA.
#[derive(Clone, Debug)]
pub struct DeployCa {
    pub id: String,
    pub region: String,
    pub body: CreateCaBody,
}

/// A new peer; `enrollment_ca` is the known CA component its enrollment host names.
#[derive(Clone, Debug)]
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

struct ApiKey {
    secret_hash: [u8; 32],
    roles: Vec<Role>,
}

struct AccessToken {
    roles: Vec<Role>,
    expires_ms: u64,
}

#[derive(Default)]
struct Store {
    components: BTreeMap<String, Component>,
    keys: BTreeMap<String, ApiKey>,
    /// By SHA-256 of the token: the console keeps no token in clear.
    tokens: BTreeMap<[u8; 32], AccessToken>,
    tx_counter: u64,
}

/// One mock console: configuration, deployer, and its records.
pub struct MockConsole {
    config: ConsoleConfig,
    deployer: Option<Arc<dyn Deployer>>,
    http: HttpClient,
    clock: Clock,
    store: Mutex<Store>,
    rng: Mutex<ChaCha8Rng>,
}

impl std::fmt::Debug for MockConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConsole")
            .field("athena_id", &self.config.athena_id)
            .field("region", &self.config.region)
            .field("import_only", &self.deployer.is_none())
            .finish()
    }
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn secret_hash(secret: &str) -> [u8; 32] {
    crate::fabric::crypto::sha256(secret.as_bytes())
}

impl MockConsole {
    /// A console that reaches nodes through `http` (status probes, CA proxy); without a
    /// deployer it is import-only.
    pub fn new(
        config: ConsoleConfig,
        deployer: Option<Arc<dyn Deployer>>,
        http: HttpClient,
        clock: Clock,
    ) -> Arc<MockConsole> {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Arc::new(MockConsole {
            config,
            deployer,
            http,
            clock,
            store: Mutex::new(Store::default()),
            rng: Mutex::new(rng),
        })
    }

    /// The console's REST API.
    pub fn router(self: &Arc<MockConsole>) -> Router {
        // Each route's action, checked before its handler (athena's per-route middleware).
        let console = self.clone();
        let guard = move |action: &'static str| {
            let console = console.clone();
            axum::middleware::from_fn(move |request: Request, next: Next| {
                let console = console.clone();
                async move {
                    let (headers, method) = (request.headers(), request.method());
                    match console.authorize(headers, method, request.uri().path(), action) {
                        Ok(()) => next.run(request).await,
                        Err(denied) => *denied,
                    }
                }
            })
        };
        let view = || guard(VIEW_ACTION);
        let import = || guard(IMPORT_ACTION);
        let v3 = Router::new()
            .route("/healthcheck", get(healthcheck))
            .route("/settings", get(settings))
            .route(
                "/permissions/keys",
                post(create_api_key).route_layer(guard(API_KEY_ACTION)),
            )
            .route("/identity/token", post(create_token).route_layer(view()))
            .route(
                "/components",
                get(list_components)
                    .route_layer(view())
                    .merge(post(import_untyped).route_layer(import())),
            )
            .route("/components/bulk", post(import_bulk).route_layer(import()))
            .route(
                "/components/status",
                post(component_status).route_layer(view()),
            )
            .route("/components/msps/{msp_id}", get(msp_certificates))
            .route(
                "/components/types/{component_type}",
                get(list_by_type).route_layer(view()),
            )
            .route(
                "/components/{id}",
                get(get_component)
                    .route_layer(view())
                    .merge(post(import_typed).put(edit_component).route_layer(import()))
                    .merge(delete(delete_component).route_layer(guard(REMOVE_ACTION))),
            )
            .route(
                "/components/{component_type}/{id}",
                put(edit_component).route_layer(import()),
            )
            // Authorized in the handler: without a deployer, 503 comes first.
            .route("/kubernetes/components/{component_type}", post(deploy));
        Router::new()
            .nest(API_PREFIX, v3)
            .route("/api/v3/healthcheck", get(healthcheck))
            .route("/caproxy/{*target}", any(ca_proxy))
            .with_state(self.clone())
    }

    /// The records this console holds, by id.
    pub fn components(&self) -> Vec<Component> {
        self.lock().components.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("console store")
    }

    fn random_string(&self, length: usize) -> String {
        let mut rng = self.rng.lock().expect("console rng");
        (0..length)
            .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
            .collect()
    }

    /// `host:port` of every URL of every known component (athena's URL safe list).
    fn known_hosts(&self) -> Vec<String> {
        self.lock()
            .components
            .values()
            .flat_map(|c| {
                [
                    &c.api_url,
                    &c.operations_url,
                    &c.grpcwp_url,
                    &c.osnadmin_url,
                ]
            })
            .flatten()
            .filter_map(|url| host_port(url))
            .collect()
    }

    /// component_lib.js `build_id`: letters, digits, `-` and `_` of the name, lowercase,
    /// a letter first, at most 32 characters, made unique by counting up a number suffix.
    fn build_id(&self, wanted: &str, taken: &BTreeMap<String, Component>) -> String {
        let mut id: String = wanted
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if id.is_empty() {
            id = format!("id2{}", self.random_string(3).to_lowercase());
        }
        if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
            id.insert(0, 'c');
        }
        id.truncate(32);
        while taken.contains_key(&id) {
            let digits = id.len() - id.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                id.push_str("_0");
            } else {
                let (stem, number) = id.split_at(id.len() - digits);
                let next = number.parse::<u64>().unwrap_or(0) + 1;
                id = format!("{stem}{next}");
            }
        }
        id
    }

    fn tx_id(&self) -> String {
        let mut store = self.lock();
        store.tx_counter += 1;
        format!("{:08x}", store.tx_counter)
    }

    /// allowAkToDoAction: who is asking, and may they do `action`?
    fn authorize(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        action: &'static str,
    ) -> Result<(), Refusal> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim();
        if let Some(token) = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
        {
            let store = self.lock();
            let Some(doc) = store.tokens.get(&secret_hash(token)) else {
                return Err(Box::new(self.unauthorized()));
            };
            if !roles_allow(&doc.roles, action) || doc.expires_ms <= self.clock.unix_ms() {
                drop(store);
                return Err(Box::new(self.forbidden(action)));
            }
            return Ok(());
        }
        let Some((name, pass)) = parse_basic(authorization) else {
            return Err(Box::new(self.unauthorized()));
        };
        if name.eq_ignore_ascii_case(&self.config.initial_admin) {
            // The first user has no password of their own: only the default password,
            // and only where athena accepts it.
            let default_allowed = *method == Method::POST
                && ["/permissions/keys", "/identity/token", "/settings"]
                    .iter()
                    .any(|p| path.contains(p));
            if default_allowed && pass == self.config.default_password.expose() {
                return Ok(()); // the initial admin has every role
            }
            return Err(Box::new(self.unauthorized()));
        }
        let store = self.lock();
        match store.keys.get(&name) {
            Some(key) if key.secret_hash == secret_hash(&pass) => {
                if roles_allow(&key.roles, action) {
                    Ok(())
                } else {
                    Err(Box::new(self.unauthorized()))
                }
            }
            _ => Err(Box::new(self.unauthorized())),
        }
    }

    fn unauthorized(&self) -> Response {
        let realm = format!("Basic realm=IBP{}", self.config.host_url);
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, realm)],
            "Unauthorized",
        )
            .into_response()
    }

    fn forbidden(&self, action: &str) -> Response {
        json(
            StatusCode::FORBIDDEN,
            &Forbidden {
                authorized: false,
                error: "username/api key is not authorized for these action(s)".into(),
                attempted_actions: vec![action.to_string()],
                iid: Some(self.config.athena_id.clone()),
                tx_id: Some(self.tx_id()),
            },
        )
    }

    fn stamp(&self, mut component: Component, location: Option<String>) -> Component {
        component.timestamp = Some(self.clock.unix_ms());
        component.scheme_version = Some("v1".into());
        component.location = location.or(Some("-".into()));
        let mut tags = std::mem::take(&mut component.tags);
        tags.push(component.component_type.as_str().to_string());
        tags.sort();
        tags.dedup();
        component.tags = tags;
        component
    }

    /// Validates, builds the record and stores it (component_lib.js `onboard_component`).
    fn import(&self, component_type: ComponentType, body: &Value) -> Result<Component, Refusal> {
        let spec = match component_type {
            ComponentType::Ca => validate::import_ca(),
            ComponentType::Peer => validate::import_peer(),
            ComponentType::Orderer => validate::import_orderer(),
            ComponentType::Msp => validate::import_msp(),
        };
        check(&spec, body, &self.known_hosts())?;
        let mut typed = body.clone();
        if let Some(map) = typed.as_object_mut() {
            map.insert("type".into(), Value::String(component_type.as_str().into()));
        }
        let parsed: ImportBody =
            serde_json::from_value(typed).map_err(|e| refuse(vec![e.to_string()]))?;
        let record = component_from_import(parsed);
        let mut store = self.lock();
        let id = self.build_id(record.id.as_str(), &store.components);
        let location = record.location.clone();
        let mut record = self.stamp(
            Component {
                id: id.clone(),
                ..record
            },
            location,
        );
        record.tags.retain(|t| !t.is_empty());
        store.components.insert(id, record.clone());
        Ok(record)
    }

    async fn probe(&self, component: &Component, timeout_ms: u64) -> ComponentStatus {
        // component_lib.js build_status_url: CAs answer /cainfo, peers and orderers /healthz.
        let url = match component.component_type {
            ComponentType::Ca => component.api_url.as_ref().map(|u| format!("{u}/cainfo")),
            ComponentType::Peer | ComponentType::Orderer => component
                .operations_url
                .as_ref()
                .map(|u| format!("{u}/healthz")),
            ComponentType::Msp => None,
        };
        let Some(url) = url else {
            return ComponentStatus {
                status_url: None,
                status: Some(STATUS_NOT_OK.into()),
                error: None,
            };
        };
        // Two attempts, the second only after a 429 or 500 (get_status `_retry_codes`).
        let mut ok = false;
        for _ in 0..2 {
            let Ok(request) = http::Request::get(&url)
                .header(header::ACCEPT, "application/json")
                .body(Bytes::new())
            else {
                break;
            };
            match self
                .http
                .send(request, Duration::from_millis(timeout_ms))
                .await
            {
                Ok(response) if response.status().as_u16() < 400 => {
                    ok = true;
                    break;
                }
                Ok(response) if matches!(response.status().as_u16(), 429 | 500) => continue,
                _ => break,
            }
        }
        ComponentStatus {
            status_url: Some(url),
            status: Some(if ok { STATUS_OK } else { STATUS_NOT_OK }.into()),
            error: None,
        }
    }
}

fn parse_basic(authorization: &str) -> Option<(String, String)> {
    let encoded = authorization
        .strip_prefix("Basic ")
        .or_else(|| authorization.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, pass) = text.split_once(':')?;
    (!name.is_empty() && !pass.is_empty()).then(|| (name.to_string(), pass.to_string()))
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A refusal on its way back to the handler (boxed: a `Response` is large).
type Refusal = Box<Response>;

fn refuse(msgs: Vec<String>) -> Refusal {
    Box::new(bad_request(msgs))
}

fn bad_request(msgs: Vec<String>) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &BadRequest {
            status_code: 400,
            msgs,
        },
    )
}

fn error_message(status: StatusCode, msg: &str, reason: Option<&str>) -> Response {
    json(
        status,
        &ErrorMessage {
            status_code: status.as_u16(),
            error: None,
            msg: msg.to_string(),
            reason: reason.map(str::to_string),
        },
    )
}

fn not_found() -> Response {
    error_message(
        StatusCode::NOT_FOUND,
        "no components by this id exist",
        Some("missing"),
    )
}

fn check(spec: &Spec, body: &Value, known_hosts: &[String]) -> Result<(), Refusal> {
    let errors = validate::validate(spec, body, known_hosts);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(refuse(errors))
    }
}

fn parse_json(body: &Bytes) -> Result<Value, Refusal> {
    serde_json::from_slice(body).map_err(|e| refuse(vec![format!("invalid JSON body: {e}")]))
}

/// The record of an imported component; its `id` holds the wanted id (or the name).
fn component_from_import(body: ImportBody) -> Component {
    let component_type = body.component_type();
    match body {
        ImportBody::Ca(ca) => Component {
            api_url: Some(ca.api_url),
            operations_url: ca.operations_url,
            location: ca.location,
            tags: ca.tags.unwrap_or_default(),
            msp: Some(ComponentMsp {
                ca: Some(MspCaField {
                    name: Some(ca.msp.ca.name),
                    root_certs: ca.msp.ca.root_certs,
                }),
                tlsca: Some(MspCaField {
                    name: Some(ca.msp.tlsca.name),
                    root_certs: ca.msp.tlsca.root_certs,
                }),
                component: Some(MspComponentField {
                    tls_cert: Some(ca.msp.component.tls_cert),
                    ..Default::default()
                }),
            }),
            ..Component::new(
                ca.id.as_deref().unwrap_or(&ca.display_name),
                component_type,
                &ca.display_name,
            )
        },
        ImportBody::Peer(peer) => Component {
            node_ou: peer.node_ou,
            ..node_component(peer.node, component_type)
        },
        ImportBody::Orderer(orderer) => Component {
            osnadmin_url: orderer.osnadmin_url,
            cluster_id: orderer.cluster_id,
            cluster_name: Some(orderer.cluster_name),
            system_channel_id: orderer.system_channel_id,
            systemless: orderer.systemless,
            ..node_component(orderer.node, component_type)
        },
        ImportBody::Msp(msp) => Component {
            msp_id: Some(msp.msp_id),
            root_certs: Some(msp.root_certs),
            intermediate_certs: msp.intermediate_certs,
            admins: msp.admins,
            tls_root_certs: msp.tls_root_certs,
            tls_intermediate_certs: msp.tls_intermediate_certs,
            ..Component::new(
                msp.id.as_deref().unwrap_or(&msp.display_name),
                component_type,
                &msp.display_name,
            )
        },
    }
}

fn node_component(node: ImportNodeBody, component_type: ComponentType) -> Component {
    Component {
        api_url: node.api_url,
        operations_url: node.operations_url,
        grpcwp_url: Some(node.grpcwp_url),
        msp_id: Some(node.msp_id),
        location: node.location,
        tags: node.tags.unwrap_or_default(),
        msp: Some(node_msp(node.msp)),
        ..Component::new(
            node.id.as_deref().unwrap_or(&node.display_name),
            component_type,
            &node.display_name,
        )
    }
}

fn node_msp(msp: ImportNodeMsp) -> ComponentMsp {
    ComponentMsp {
        ca: msp.ca.map(|ca| MspCaField {
            name: None,
            root_certs: Some(ca.root_certs),
        }),
        tlsca: Some(MspCaField {
            name: None,
            root_certs: Some(msp.tlsca.root_certs),
        }),
        component: Some(msp.component),
    }
}

type Console = State<Arc<MockConsole>>;

async fn healthcheck(State(console): Console) -> Response {
    json(
        StatusCode::OK,
        &Healthcheck {
            message: "ok".into(),
            id: Some(console.config.athena_id.clone()),
        },
    )
}

async fn settings(State(console): Console) -> Response {
    let import_only = console.deployer.is_none();
    json(
        StatusCode::OK,
        &PublicSettings {
            athena_id: console.config.athena_id.clone(),
            auth_scheme: "couchdb".into(),
            host_url: console.config.host_url.clone(),
            region: Some(console.config.region.clone()),
            cluster_data: serde_json::json!({"type": "paid"}),
            feature_flags: serde_json::json!({
                "import_only_enabled": import_only,
                "read_only_enabled": false,
                "lifecycle2_0_enabled": true,
                "high_availability": true,
            }),
        },
    )
}

async fn create_api_key(State(console): Console, body: Bytes) -> Response {
    let value = match parse_json(&body) {
        Ok(value) => value,
        Err(e) => return *e,
    };
    if let Err(e) = check(&validate::create_api_key(), &value, &[]) {
        return *e;
    }
    // permissions_lib.js: roles must be reader, writer or manager.
    let Ok(request) = serde_json::from_value::<CreateApiKeyBody>(value) else {
        return bad_request(vec![
            "invalid roles for api key. valid roles: [\"manager\",\"writer\",\"reader\"]".into(),
        ]);
    };
    let api_key = console.random_string(16);
    let api_secret = console.random_string(32);
    let mut roles = request.roles;
    roles.sort();
    roles.dedup();
    console.lock().keys.insert(
        api_key.clone(),
        ApiKey {
            secret_hash: secret_hash(&api_secret),
            roles: roles.clone(),
        },
    );
    json(
        StatusCode::OK,
        &CreateApiKeyResponse {
            api_key,
            api_secret: Secret::new(api_secret),
            roles,
            message: Some("ok".into()),
        },
    )
}

async fn create_token(State(console): Console, headers: HeaderMap, body: Bytes) -> Response {
    let request: CreateTokenBody = if body.is_empty() {
        CreateTokenBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(e) => return bad_request(vec![e.to_string()]),
        }
    };
    // permissions_lib.js create_access_token: the roles asked for, else the key's own.
    let key_roles = parse_basic(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
    .and_then(|(name, _)| console.lock().keys.get(&name).map(|k| k.roles.clone()))
    .unwrap_or_else(|| vec![Role::Manager, Role::Writer, Role::Reader]);
    let roles = request.roles.filter(|r| !r.is_empty()).unwrap_or(key_roles);
    let expires_in = request.expiration_secs.unwrap_or(3600);
    let token = console.random_string(32);
    console.lock().tokens.insert(
        secret_hash(&token),
        AccessToken {
            roles: roles.clone(),
            expires_ms: console.clock.unix_ms() + expires_in * 1000,
        },
    );
    json(
        StatusCode::OK,
        &CreateTokenResponse {
            access_token: Secret::new(token),
            token_type: "Bearer".into(),
            expires_in,
            roles,
            message: Some("ok".into()),
        },
    )
}

fn component_list(components: Vec<Component>, empty_msg: &str) -> Response {
    if components.is_empty() {
        // 222: "zero components were found" (component_lib.js get_all_components).
        let status = StatusCode::from_u16(222).expect("valid status code");
        return json(
            status,
            &ComponentList {
                components,
                msg: Some(empty_msg.into()),
                reason: Some("missing".into()),
            },
        );
    }
    json(
        StatusCode::OK,
        &ComponentList {
            components,
            msg: None,
            reason: None,
        },
    )
}

async fn list_components(State(console): Console) -> Response {
    component_list(console.components(), "no components exist")
}

async fn list_by_type(State(console): Console, Path(component_type): Path<String>) -> Response {
    let Some(wanted) = ComponentType::from_route(&component_type) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let components = console
        .components()
        .into_iter()
        .filter(|c| c.component_type == wanted)
        .collect();
    component_list(components, "no components by type exist")
}

async fn get_component(State(console): Console, Path(id): Path<String>) -> Response {
    match console.lock().components.get(&id) {
        Some(component) => json(StatusCode::OK, component),
        None => not_found(),
    }
}

async fn import_untyped(State(console): Console, body: Bytes) -> Response {
    let value = match parse_json(&body) {
        Ok(value) => value,
        Err(e) => return *e,
    };
    let Some(component_type) = value
        .get("type")
        .and_then(Value::as_str)
        .and_then(ComponentType::from_route)
    else {
        return bad_request(vec![
            "Expected the component 'type' to be in the body or route.".into(),
        ]);
    };
    let mut body = value;
    if let Some(map) = body.as_object_mut() {
        map.remove("type");
        map.remove("imported");
    }
    match console.import(component_type, &body) {
        Ok(record) => json(StatusCode::OK, &record),
        Err(e) => *e,
    }
}

async fn import_typed(
    State(console): Console,
    Path(segment): Path<String>,
    body: Bytes,
) -> Response {
    let Some(component_type) = ComponentType::from_route(&segment) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut value = match parse_json(&body) {
        Ok(value) => value,
        Err(e) => return *e,
    };
    // The route sets the type and athena decides `imported` (component_apis.js).
    if let Some(map) = value.as_object_mut() {
        map.remove("type");
        map.remove("imported");
    }
    match console.import(component_type, &value) {
        Ok(record) => json(StatusCode::OK, &record),
        Err(e) => *e,
    }
}

async fn import_bulk(State(console): Console, body: Bytes) -> Response {
    let entries = match parse_json(&body) {
        Ok(Value::Array(entries)) => entries,
        Ok(_) => {
            return bad_request(vec![
                "Expected parameter 'body' to be of type: 'array'.".into()
            ])
        }
        Err(e) => return *e,
    };
    let mut answer = BulkImportResponse::default();
    for mut entry in entries {
        let component_type = entry
            .get("type")
            .and_then(Value::as_str)
            .and_then(ComponentType::from_route);
        if let Some(map) = entry.as_object_mut() {
            map.remove("type");
            map.remove("imported");
        }
        let result = match component_type {
            Some(t) => console.import(t, &entry),
            None => Err(refuse(vec![
                "Expected the component 'type' to be in the body or route.".into(),
            ])),
        };
        match result {
            Ok(record) => answer.successes.push(record),
            Err(response) => answer.errors.push(response_json(*response).await),
        }
    }
    let status = if answer.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    json(status, &answer)
}

async fn response_json(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// component_lib.js edit_component: these keys never change.
const NOT_EDITABLE: &[&str] = &[
    "type",
    "cluster_id",
    "_id",
    "_rev",
    "id",
    "timestamp",
    "edited_timestamp",
];

async fn edit(console: &MockConsole, id: &str, body: &Bytes) -> Response {
    let value = match parse_json(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return bad_request(vec![
                "Expected parameter 'body' to be of type: 'object'.".into()
            ])
        }
        Err(e) => return *e,
    };
    let refused: Vec<String> = value
        .keys()
        .filter(|k| NOT_EDITABLE.contains(&k.as_str()))
        .map(|k| format!("Parameter '{k}' is either never editable or not editable via this api."))
        .collect();
    if !refused.is_empty() {
        return bad_request(refused);
    }
    let mut store = console.lock();
    let Some(current) = store.components.get(id) else {
        return not_found();
    };
    let mut merged = serde_json::to_value(current).unwrap_or(Value::Null);
    if let Some(map) = merged.as_object_mut() {
        for (key, field) in value {
            map.insert(key, field);
        }
    }
    let mut record: Component = match serde_json::from_value(merged) {
        Ok(record) => record,
        Err(e) => return bad_request(vec![e.to_string()]),
    };
    record.tags.sort();
    record.tags.dedup();
    record.edited_timestamp = Some(console.clock.unix_ms());
    store.components.insert(id.to_string(), record.clone());
    record.message = Some("ok".into());
    json(StatusCode::OK, &record)
}

/// `PUT /components/{id}` and `/components/{type}/{id}`.
async fn edit_component(
    State(console): Console,
    Path(params): Path<BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    edit(
        &console,
        params.get("id").map(String::as_str).unwrap_or(""),
        &body,
    )
    .await
}

async fn delete_component(State(console): Console, Path(id): Path<String>) -> Response {
    match console.lock().components.remove(&id) {
        Some(removed) => json(
            StatusCode::OK,
            &DeleteComponentResponse {
                message: "deleted".into(),
                id: removed.id,
                display_name: Some(removed.display_name),
                component_type: Some(removed.component_type),
            },
        ),
        None => not_found(),
    }
}

async fn component_status(State(console): Console, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<StatusRequest>(&body) {
        Ok(request) if !request.components.is_empty() => request,
        _ => {
            return error_message(
                StatusCode::BAD_REQUEST,
                "missing or empty \"components\" field",
                None,
            )
        }
    };
    let mut answer = BTreeMap::new();
    for (id, options) in request.components {
        let component = console.lock().components.get(&id).cloned();
        let status = match component {
            Some(component) => {
                let timeout_ms = options.timeout_ms.unwrap_or(STATUS_TIMEOUT_MS);
                console.probe(&component, timeout_ms).await
            }
            None => ComponentStatus {
                status_url: Some("?".into()),
                status: None,
                error: Some("unknown component id".into()),
            },
        };
        answer.insert(id, status);
    }
    json(StatusCode::MULTI_STATUS, &answer)
}

async fn msp_certificates(State(console): Console, Path(msp_id): Path<String>) -> Response {
    // Public on purpose (signature_collection_apis.js): other orgs' consoles ask for it.
    let msps: Vec<MspPublicData> = console
        .components()
        .into_iter()
        .filter(|c| c.component_type == ComponentType::Msp && c.msp_id.as_deref() == Some(&msp_id))
        .map(|c| MspPublicData {
            msp_id: msp_id.clone(),
            root_certs: c.root_certs.unwrap_or_default(),
            admins: c.admins.unwrap_or_default(),
            tls_root_certs: c.tls_root_certs.unwrap_or_default(),
        })
        .collect();
    if msps.is_empty() {
        return error_message(
            StatusCode::BAD_REQUEST,
            &format!("MSP {msp_id} not found"),
            None,
        );
    }
    json(StatusCode::OK, &MspCertificates { msps })
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

async fn deploy(
    State(console): Console,
    Path(segment): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(deployer) = console.deployer.clone() else {
        // isDeployerConfigured runs before authentication.
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            &ErrorMessage {
                status_code: 503,
                error: Some("api is not available".into()),
                msg: NO_DEPLOYER_MESSAGE.into(),
                reason: None,
            },
        );
    };
    let Some(component_type) =
        ComponentType::from_route(&segment).filter(|t| *t != ComponentType::Msp)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(denied) = console.authorize(&headers, &method, uri.path(), CREATE_ACTION) {
        return *denied;
    }
    let value = match parse_json(&body) {
        Ok(value) => value,
        Err(e) => return *e,
    };
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
            let ca = match enrollment_ca(&console, &body.crypto) {
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
            let ca = match enrollment_ca(&console, first) {
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
        record.tags.sort();
        record.tags.dedup();
        console.lock().components.insert(id, record.clone());
        records.push(record);
    }
    if component_type == ComponentType::Orderer {
        json(StatusCode::OK, &CreateOrdererResponse { created: records })
    } else {
        json(StatusCode::OK, &records[0])
    }
}

/// `/caproxy/<CA URL>/<path>` (proxy_lib.js ca_proxy_call): forwards to a CA this console
/// knows (the URL safe list), with the caller's `Authorization` (a fabric-ca token or
/// Basic enroll credentials). A real console guards this route with a browser session,
/// which API clients cannot have; the mock relies on the safe list alone.
async fn ca_proxy(
    State(console): Console,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("")
        .trim_start_matches("/caproxy/");
    let decoded = percent_decode(raw);
    let (scheme, rest) = decoded
        .split_once("://")
        .unwrap_or(("http", decoded.as_str()));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let base = format!("{scheme}://{authority}");
    if !host_port(&base).is_some_and(|hp| console.known_hosts().contains(&hp)) {
        return (
            StatusCode::BAD_REQUEST,
            "unsafe url. will not send ca request",
        )
            .into_response();
    }
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(body) else {
        return (StatusCode::BAD_REQUEST, "bad proxy request").into_response();
    };
    match console
        .http
        .send(request, Duration::from_millis(STATUS_TIMEOUT_MS * 10))
        .await
    {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let mut answer = (parts.status, body).into_response();
            if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
                answer
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, content_type.clone());
            }
            answer
        }
        Err(e) => error_message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), None),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
