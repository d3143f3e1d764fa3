//! The mock console: fabric-operations-console's `/ak/api/v3` REST API as an axum Router,
//! one per region. It answers what athena answers (packages/athena/app.js, routes/*.js,
//! libs/middleware/middleware.js, libs/component_lib.js; shapes recorded in
//! research/console/real_responses.json), so hadr's console client cannot tell it from a
//! real console. Every request goes through athena's order (app.js):
//!
//! 1. `request`: the body (25 MB, JSON parse errors as athena words them) and response
//!    headers; a bad body is answered before any limit.
//! 2. `limits`: the rate limiter (429), CORS preflights, the lockout after repeated
//!    authentication failures (402).
//! 3. the route: `deploy` (Kubernetes: 503 without a deployer, before authentication),
//!    then `auth` (401/403), then validation (400), then the handler: `auth` (keys,
//!    tokens), `components` (imports, edits, listings), `status` (probes), `proxy`
//!    (`/caproxy`, which needs credentials as athena's session does).
//! 4. `request::route_not_found`: unknown routes and wrong methods get athena's 404 JSON.
//!
//! Without a `Deployer` the console is import-only.

mod auth;
mod components;
mod deploy;
mod limits;
mod proxy;
mod request;
mod status;

pub use self::auth::{
    role_actions, API_KEY_ACTION, CREATE_ACTION, DELETE_ACTION, EXPORT_ACTION, IMPORT_ACTION,
    MANAGE_ACTION, REMOVE_ACTION, VIEW_ACTION,
};
pub use self::deploy::{
    DeployCa, DeployError, DeployOrderer, DeployPeer, Deployer, HttpDeployer, NO_DEPLOYER_MESSAGE,
};
pub use self::limits::Limits;
pub use self::status::STATUS_TIMEOUT_MS;
use super::api::*;
use super::validate::host_port;
pub use crate::clock::Clock;
use crate::net::http::HttpClient;
use crate::secret::Secret;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What a console is told at start (athena's settings file).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
    /// Rate limits, lockout and the component cap.
    pub limits: Limits,
}

/// One mock console: configuration, deployer, and its records.
pub struct MockConsole {
    config: ConsoleConfig,
    deployer: Option<Arc<dyn Deployer>>,
    http: HttpClient,
    clock: Clock,
    store: Mutex<Store>,
    rng: Mutex<ChaCha8Rng>,
    limits: limits::Throttle,
    /// When the console started (athena's `born`), for `/health`.
    born_ms: u64,
}

/// The most the mock keeps of its records in memory (athena keeps them in CouchDB, on
/// disk); past it, imports and edits get athena's component-limit answer.
const MAX_STORED_BYTES: usize = 64 << 20;

/// Everything athena keeps in CouchDB; a console's disk ([`MockConsole::save_records`]).
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Store {
    components: BTreeMap<String, Component>,
    /// Serialized size of each record, and their sum.
    sizes: BTreeMap<String, usize>,
    stored_bytes: usize,
    keys: BTreeMap<String, auth::ApiKey>,
    /// By SHA-256 of the token: the console keeps no token in clear.
    #[serde(with = "token_list")]
    tokens: BTreeMap<[u8; 32], auth::AccessToken>,
    tx_counter: u64,
}

/// Tokens saved as a list of pairs: JSON maps need text keys.
mod token_list {
    use super::auth::AccessToken;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        tokens: &BTreeMap<[u8; 32], AccessToken>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        tokens.iter().collect::<Vec<_>>().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<[u8; 32], AccessToken>, D::Error> {
        Ok(Vec::<([u8; 32], AccessToken)>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

impl Store {
    /// Stores (or replaces) a record by its id, unless the store would outgrow
    /// `MAX_STORED_BYTES`.
    fn put(&mut self, record: Component) -> Result<(), Refusal> {
        let size = serde_json::to_vec(&record).map(|b| b.len()).unwrap_or(0);
        let old = self.sizes.get(&record.id).copied().unwrap_or(0);
        let total = self.stored_bytes - old + size;
        if total > MAX_STORED_BYTES {
            return Err(Box::new(limit_reached()));
        }
        self.stored_bytes = total;
        self.sizes.insert(record.id.clone(), size);
        self.components.insert(record.id.clone(), record);
        Ok(())
    }

    fn take(&mut self, id: &str) -> Option<Component> {
        let size = self.sizes.remove(id).unwrap_or(0);
        self.stored_bytes -= size;
        self.components.remove(id)
    }
}

/// component_lib.js: the component cap's answer (500: onboard_component wraps every
/// buildDoc error so).
fn limit_reached() -> Response {
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &serde_json::json!({"statusCode": 500, "msg": [
            "total component limit reached. delete a component to make space for this one."
        ]}),
    )
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

type Console = axum::extract::State<Arc<MockConsole>>;

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
        let born_ms = clock.unix_ms();
        Arc::new(MockConsole {
            limits: limits::Throttle::new(config.limits, born_ms),
            config,
            deployer,
            http,
            clock,
            store: Mutex::new(Store::default()),
            rng: Mutex::new(rng),
            born_ms,
        })
    }

    /// The saved form of the console's records, keys and tokens (what survives a restart),
    /// as JSON: the records' optional fields need a self-describing format.
    pub fn save_records(&self) -> Vec<u8> {
        let store = self.store.lock().expect("console store");
        serde_json::to_vec(&*store).unwrap_or_default()
    }

    /// Puts back records saved by [`MockConsole::save_records`].
    pub fn restore_records(&self, saved: &[u8]) -> Result<(), String> {
        let store: Store = serde_json::from_slice(saved).map_err(|e| e.to_string())?;
        *self.store.lock().expect("console store") = store;
        Ok(())
    }

    /// The console's REST API.
    pub fn router(self: &Arc<MockConsole>) -> Router {
        let guard = |action: &'static str| {
            let state = auth::Guard {
                console: self.clone(),
                action,
            };
            axum::middleware::from_fn_with_state(state, auth::guard)
        };
        let view = || guard(VIEW_ACTION);
        let import = || guard(IMPORT_ACTION);
        let remove = || guard(REMOVE_ACTION);
        let manage_keys = || guard(API_KEY_ACTION);
        let v3 = Router::new()
            .route("/healthcheck", get(healthcheck))
            .route("/health", get(health).route_layer(guard(auth::LOGS_ACTION)))
            .route("/settings", get(settings))
            .route(
                "/permissions/keys",
                post(auth::create_api_key)
                    .get(auth::list_api_keys)
                    .route_layer(manage_keys()),
            )
            .route(
                "/permissions/keys/{key_id}",
                delete(auth::delete_api_key).route_layer(manage_keys()),
            )
            .route(
                "/identity/token",
                post(auth::create_token).route_layer(view()),
            )
            .route(
                "/identity/token/{id}",
                get(auth::get_token)
                    .route_layer(view())
                    .merge(delete(auth::delete_token).route_layer(manage_keys())),
            )
            .route(
                "/components",
                get(components::list)
                    .route_layer(view())
                    .merge(post(components::import_untyped).route_layer(import())),
            )
            .route(
                "/components/bulk",
                post(components::import_bulk).route_layer(import()),
            )
            .route(
                "/components/status",
                post(status::component_status).route_layer(view()),
            )
            .route(
                "/components/msps/{msp_id}",
                get(components::msp_certificates),
            )
            .route(
                "/components/types/{component_type}",
                get(components::list_by_type).route_layer(view()),
            )
            .route(
                "/components/tags/{tag}",
                get(components::list_by_tag)
                    .route_layer(view())
                    .merge(delete(components::delete_by_tag).route_layer(remove())),
            )
            .route(
                "/components/{id}",
                get(components::get)
                    .route_layer(view())
                    .merge(put(components::edit).route_layer(import()))
                    .merge(
                        post(components::import_typed)
                            .route_layer(import())
                            .route_layer(axum::middleware::from_fn(components::only_type_routes)),
                    )
                    .merge(delete(components::delete).route_layer(remove())),
            )
            .route(
                "/components/{component_type}/{id}",
                put(components::edit_typed)
                    .route_layer(import())
                    .route_layer(axum::middleware::from_fn(components::only_type_routes)),
            )
            .merge(deploy::routes(self));
        Router::new()
            .nest(API_PREFIX, v3)
            .route("/api/v3/healthcheck", get(healthcheck))
            .route(
                "/caproxy/{*target}",
                get(proxy::ca_proxy)
                    .post(proxy::ca_proxy)
                    .put(proxy::ca_proxy)
                    .delete(proxy::ca_proxy),
            )
            // Express has no 405: a wrong method on a known path is an unknown route.
            .method_not_allowed_fallback(request::route_not_found)
            .fallback(request::route_not_found)
            // Outermost last: headers, body, rate limit, CORS, lockout, then %-escapes.
            .layer(axum::middleware::from_fn(request::check_escapes))
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                limits::lockout,
            ))
            .layer(axum::middleware::from_fn(request::cors))
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                limits::rate_limit,
            ))
            .layer(axum::middleware::from_fn(request::read_body))
            .layer(axum::middleware::from_fn(request::security_headers))
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

    fn tx_id(&self) -> String {
        let mut store = self.lock();
        store.tx_counter += 1;
        format!("{:08x}", store.tx_counter)
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
                let next = number.parse::<u64>().unwrap_or(0).saturating_add(1);
                id = format!("{stem}{next}");
            }
        }
        id
    }
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A refusal on its way back to the handler (boxed: a `Response` is large).
type Refusal = Box<Response>;

fn refuse(msgs: Vec<String>) -> Refusal {
    Box::new(bad_request(msgs))
}

/// Validation failures: `{statusCode: 400, msgs: [...]}`.
pub(super) fn bad_request(msgs: Vec<String>) -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &BadRequest {
            status_code: 400,
            msgs,
        },
    )
}

/// Most other errors: `{statusCode, msg}`.
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

/// CouchDB's 404, which athena passes through for unknown keys and tokens.
fn couch_not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"error": "not_found", "reason": "missing", "statusCode": 404}),
    )
}

/// libs/misc.js `friendly_ms`: `6.4 mins`, `2.0 secs`.
fn friendly_ms(ms: i64) -> String {
    let ms = ms as f64;
    let (value, unit) = match ms {
        ms if ms <= 0.0 => return "0 secs".into(),
        ms if ms > 86_400_000.0 => (ms / 86_400_000.0, "days"),
        ms if ms > 3_600_000.0 => (ms / 3_600_000.0, "hrs"),
        ms if ms > 60_000.0 => (ms / 60_000.0, "mins"),
        ms if ms > 1_000.0 => (ms / 1_000.0, "secs"),
        ms => (ms, "ms"),
    };
    format!("{value:.1} {unit}")
}

async fn healthcheck(axum::extract::State(console): Console) -> Response {
    json(
        StatusCode::OK,
        &Healthcheck {
            message: "ok".into(),
            id: Some(console.config.athena_id.clone()),
        },
    )
}

/// `GET /health` (manager only): athena's process and OS report; the mock reports its own
/// uptime and record counts where athena reports memory and caches.
async fn health(axum::extract::State(console): Console) -> Response {
    let now = console.clock.unix_ms();
    let store = console.lock();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "OPTOOLS": {
                "instance_id": console.config.athena_id,
                "now": now,
                "born": console.born_ms,
                "up_time": friendly_ms(now.saturating_sub(console.born_ms) as i64),
                "components": store.components.len(),
                "api_keys": store.keys.len(),
                "access_tokens": store.tokens.len(),
            },
            "OS": {"arch": std::env::consts::ARCH, "type": std::env::consts::OS},
        }),
    )
}

async fn settings(axum::extract::State(console): Console) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_ms_reads_like_athena() {
        assert_eq!(friendly_ms(120_000), "2.0 mins");
        assert_eq!(friendly_ms(3_594_000), "59.9 mins");
        assert_eq!(friendly_ms(-5), "0 secs");
        assert_eq!(friendly_ms(1_500), "1.5 secs");
        assert_eq!(friendly_ms(2 * 86_400_000), "2.0 days");
    }
}
