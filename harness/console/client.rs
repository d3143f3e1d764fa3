//! The console client: the runbook's way to any console, hadr's mock or a real
//! fabric-operations-console, through the `/ak/api/v3` REST API. The transport is a
//! `net::Net`, so the same code runs on turmoil's simulated TCP and on real TCP.
//!
//! Every call has a timeout (`tokio::time`, the simulated clock in the simulation).
//! Transport errors, 429 and 5xx answers are retried with exponential backoff and jitter
//! from a seeded RNG; 4xx answers never are, and neither is the 503 of a console without
//! a deployer (a configuration, not an outage). An import retried after a lost answer may
//! import twice; the console tolerates duplicate nodes (research/console-api.md).
//!
//! The wallet is client-side, one per console client, as the real console keeps
//! identities in the browser.

use super::api::*;
use super::files::{FileError, IdentityFile, MspFile, NodeFile, OrderingServiceFile};
use super::mock::NO_DEPLOYER_MESSAGE;
use super::wallet::{Wallet, WalletError};
use crate::net::http::{HttpClient, HttpError};
use crate::secret::Secret;
use base64::Engine as _;
use bytes::Bytes;
use http::{header, Method, StatusCode};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use thiserror::Error;

/// How the client proves who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    None,
    /// Basic `api_key:api_secret`.
    ApiKey {
        key: String,
        secret: Secret,
    },
    /// Basic user name and password (the initial admin with the default password).
    Password {
        user: String,
        password: Secret,
    },
    /// A token from `POST /identity/token`.
    Bearer(Secret),
}

impl Credential {
    fn header(&self) -> Option<String> {
        let basic = |user: &str, pass: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )
        };
        match self {
            Credential::None => None,
            Credential::ApiKey { key, secret } => Some(basic(key, secret.expose())),
            Credential::Password { user, password } => Some(basic(user, password.expose())),
            Credential::Bearer(token) => Some(format!("Bearer {}", token.expose())),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Per attempt.
    pub timeout: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Seeds the retry jitter.
    pub seed: u64,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(5),
            seed: 0,
        }
    }
}

#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error("console unreachable after {attempts} attempts: {source}")]
    Transport { attempts: u32, source: HttpError },
    #[error("401 Unauthorized: the console refused the credential")]
    Unauthorized,
    #[error("403 Forbidden: {}", .0.error)]
    Forbidden(Forbidden),
    #[error("400 Bad Request: {}", .0.join(" "))]
    BadRequest(Vec<String>),
    #[error("404 Not Found: {0}")]
    NotFound(String),
    #[error("503 Service Unavailable: {0}")]
    Unavailable(String),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("cannot read the console's answer: {0}")]
    Decode(String),
    #[error(transparent)]
    Wallet(#[from] WalletError),
    #[error(transparent)]
    File(#[from] FileError),
}

impl ConsoleError {
    /// The console answered that it has no deployer (import-only).
    pub fn is_no_deployer(&self) -> bool {
        matches!(self, ConsoleError::Unavailable(msg) if msg == NO_DEPLOYER_MESSAGE)
    }
}

/// A 2xx answer: status (200, 207, 222, ...) and body.
type Answer = (StatusCode, Bytes);

/// A client of one console.
pub struct ConsoleClient {
    http: HttpClient,
    base_url: String,
    credential: Mutex<Credential>,
    options: ClientOptions,
    rng: Mutex<ChaCha8Rng>,
    wallet: Mutex<Wallet>,
}

impl std::fmt::Debug for ConsoleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleClient")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl ConsoleClient {
    /// A client of the console at `base_url` (e.g. `http://console.us-east:3000`).
    pub fn new(
        http: HttpClient,
        base_url: &str,
        credential: Credential,
        options: ClientOptions,
    ) -> ConsoleClient {
        let rng = ChaCha8Rng::seed_from_u64(options.seed);
        ConsoleClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            credential: Mutex::new(credential),
            options,
            rng: Mutex::new(rng),
            wallet: Mutex::new(Wallet::new()),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn set_credential(&self, credential: Credential) {
        *self.credential.lock().expect("credential") = credential;
    }

    /// This console's wallet.
    pub fn wallet(&self) -> MutexGuard<'_, Wallet> {
        self.wallet.lock().expect("wallet")
    }

    /// Exponential backoff with equal jitter: half the step fixed, half random.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .options
            .backoff_base
            .saturating_mul(1 << attempt.min(16))
            .min(self.options.backoff_max);
        let half = step / 2;
        let jitter_ms = self
            .rng
            .lock()
            .expect("rng")
            .random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter_ms)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ConsoleError> {
        let url = format!("{}{path}", self.base_url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = http::Request::builder().method(method.clone()).uri(&url);
            if let Some(value) = self.credential.lock().expect("credential").header() {
                request = request.header(header::AUTHORIZATION, value);
            }
            if body.is_some() {
                request = request.header(header::CONTENT_TYPE, "application/json");
            }
            let request = request
                .body(Bytes::from(body.clone().unwrap_or_default()))
                .map_err(|e| ConsoleError::Decode(e.to_string()))?;
            let outcome = self.http.send(request, self.options.timeout).await;
            let retry = match &outcome {
                Err(error) => error.is_transient(),
                Ok(response) => {
                    let status = response.status().as_u16();
                    (status == 429 || status >= 500) && !is_no_deployer(response)
                }
            };
            if retry && attempt < self.options.max_attempts {
                tokio::time::sleep(self.backoff(attempt - 1)).await;
                continue;
            }
            let response = outcome.map_err(|source| ConsoleError::Transport {
                attempts: attempt,
                source,
            })?;
            return answer(response);
        }
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ConsoleError> {
        let body = match body {
            Some(body) => {
                Some(serde_json::to_vec(body).map_err(|e| ConsoleError::Decode(e.to_string()))?)
            }
            None => None,
        };
        let (_, bytes) = self.call(method, path, body).await?;
        decode(&bytes)
    }

    // --- public routes -----------------------------------------------------------------

    pub async fn healthcheck(&self) -> Result<Healthcheck, ConsoleError> {
        self.call_json(
            Method::GET,
            &format!("{API_PREFIX}/healthcheck"),
            None::<&()>,
        )
        .await
    }

    pub async fn settings(&self) -> Result<PublicSettings, ConsoleError> {
        self.call_json(Method::GET, &format!("{API_PREFIX}/settings"), None::<&()>)
            .await
    }

    /// An MSP's public certificates as this console knows them (public route).
    pub async fn msp_certificates(&self, msp_id: &str) -> Result<MspCertificates, ConsoleError> {
        self.call_json(
            Method::GET,
            &format!("{API_PREFIX}/components/msps/{msp_id}"),
            None::<&()>,
        )
        .await
    }

    // --- keys and tokens ------------------------------------------------------------------

    /// Creates an API key as `user` with the default password (the one call that accepts
    /// it) and uses the new key from then on. The answer holds the only copy of the secret.
    pub async fn bootstrap_api_key(
        &self,
        user: &str,
        default_password: &Secret,
        roles: &[Role],
        description: &str,
    ) -> Result<CreateApiKeyResponse, ConsoleError> {
        self.set_credential(Credential::Password {
            user: user.to_string(),
            password: default_password.clone(),
        });
        let created = self.create_api_key(roles, description).await?;
        self.set_credential(Credential::ApiKey {
            key: created.api_key.clone(),
            secret: created.api_secret.clone(),
        });
        Ok(created)
    }

    pub async fn create_api_key(
        &self,
        roles: &[Role],
        description: &str,
    ) -> Result<CreateApiKeyResponse, ConsoleError> {
        let body = CreateApiKeyBody {
            roles: roles.to_vec(),
            description: Some(description.to_string()),
        };
        self.call_json(
            Method::POST,
            &format!("{API_PREFIX}/permissions/keys"),
            Some(&body),
        )
        .await
    }

    /// A Bearer token from the current key (`POST /identity/token`).
    pub async fn create_token(
        &self,
        body: &CreateTokenBody,
    ) -> Result<CreateTokenResponse, ConsoleError> {
        self.call_json(
            Method::POST,
            &format!("{API_PREFIX}/identity/token"),
            Some(body),
        )
        .await
    }

    // --- components -------------------------------------------------------------------

    /// Every component; an empty console answers 222 with an empty list.
    pub async fn list_components(&self) -> Result<Vec<Component>, ConsoleError> {
        let list: ComponentList = self
            .call_json(
                Method::GET,
                &format!("{API_PREFIX}/components"),
                None::<&()>,
            )
            .await?;
        Ok(list.components)
    }

    pub async fn components_by_type(
        &self,
        component_type: ComponentType,
    ) -> Result<Vec<Component>, ConsoleError> {
        let path = format!("{API_PREFIX}/components/types/{}", component_type.as_str());
        let list: ComponentList = self.call_json(Method::GET, &path, None::<&()>).await?;
        Ok(list.components)
    }

    pub async fn get_component(&self, id: &str) -> Result<Component, ConsoleError> {
        self.call_json(
            Method::GET,
            &format!("{API_PREFIX}/components/{id}"),
            None::<&()>,
        )
        .await
    }

    /// Imports on the typed route (`/components/{fabric-ca|fabric-peer|fabric-orderer|msp}`).
    pub async fn import(&self, body: &ImportBody) -> Result<Component, ConsoleError> {
        let path = format!("{API_PREFIX}/components/{}", body.component_type().as_str());
        let mut value =
            serde_json::to_value(body).map_err(|e| ConsoleError::Decode(e.to_string()))?;
        if let Some(map) = value.as_object_mut() {
            map.remove("type"); // the route says it
        }
        self.call_json(Method::POST, &path, Some(&value)).await
    }

    /// `POST /components/bulk`: 200 when all imported, 207 when some failed.
    pub async fn import_bulk(
        &self,
        bodies: &[ImportBody],
    ) -> Result<BulkImportResponse, ConsoleError> {
        self.call_json(
            Method::POST,
            &format!("{API_PREFIX}/components/bulk"),
            Some(bodies),
        )
        .await
    }

    /// `PUT /components/{id}` with the fields to change.
    pub async fn edit_component(
        &self,
        id: &str,
        changes: &serde_json::Value,
    ) -> Result<Component, ConsoleError> {
        self.call_json(
            Method::PUT,
            &format!("{API_PREFIX}/components/{id}"),
            Some(changes),
        )
        .await
    }

    /// Removes the record only; the node keeps running.
    pub async fn delete_component(
        &self,
        id: &str,
    ) -> Result<DeleteComponentResponse, ConsoleError> {
        self.call_json(
            Method::DELETE,
            &format!("{API_PREFIX}/components/{id}"),
            None::<&()>,
        )
        .await
    }

    /// Probes CAs (`/cainfo`) and peers and orderers (`/healthz`) through the console.
    pub async fn component_status(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::BTreeMap<String, ComponentStatus>, ConsoleError> {
        let body = StatusRequest {
            components: ids
                .iter()
                .map(|id| (id.to_string(), StatusOptions::default()))
                .collect(),
        };
        self.call_json(
            Method::POST,
            &format!("{API_PREFIX}/components/status"),
            Some(&body),
        )
        .await
    }

    // --- Kubernetes deployment ------------------------------------------------------------

    pub async fn create_ca(&self, body: &CreateCaBody) -> Result<Component, ConsoleError> {
        self.call_json(
            Method::POST,
            &format!("{API_PREFIX}/kubernetes/components/fabric-ca"),
            Some(body),
        )
        .await
    }

    pub async fn create_peer(&self, body: &CreatePeerBody) -> Result<Component, ConsoleError> {
        self.call_json(
            Method::POST,
            &format!("{API_PREFIX}/kubernetes/components/fabric-peer"),
            Some(body),
        )
        .await
    }

    pub async fn create_orderer(
        &self,
        body: &CreateOrdererBody,
    ) -> Result<Vec<Component>, ConsoleError> {
        let created: CreateOrdererResponse = self
            .call_json(
                Method::POST,
                &format!("{API_PREFIX}/kubernetes/components/fabric-orderer"),
                Some(body),
            )
            .await?;
        Ok(created.created)
    }

    // --- export and import files -----------------------------------------------------------

    pub fn export_identity(&self, name: &str) -> Result<IdentityFile, ConsoleError> {
        Ok(self.wallet().export(name)?)
    }

    /// Refuses a private key that does not match its certificate.
    pub fn import_identity(&self, file: &IdentityFile) -> Result<(), ConsoleError> {
        Ok(self.wallet().import(file)?)
    }

    pub async fn export_msp(&self, id: &str) -> Result<MspFile, ConsoleError> {
        Ok(MspFile::from_component(&self.get_component(id).await?))
    }

    pub async fn export_node(&self, id: &str) -> Result<NodeFile, ConsoleError> {
        Ok(NodeFile::from_component(&self.get_component(id).await?))
    }

    /// Every ordering node of the cluster, as the console exports an ordering service.
    pub async fn export_ordering_service(
        &self,
        cluster_id: &str,
    ) -> Result<OrderingServiceFile, ConsoleError> {
        let nodes = self.components_by_type(ComponentType::Orderer).await?;
        Ok(nodes
            .iter()
            .filter(|node| node.cluster_id.as_deref() == Some(cluster_id))
            .map(NodeFile::from_component)
            .collect())
    }

    pub async fn import_msp_file(&self, file: &MspFile) -> Result<Component, ConsoleError> {
        self.import(&file.to_import()?).await
    }

    pub async fn import_node_file(&self, file: &NodeFile) -> Result<Component, ConsoleError> {
        self.import(&file.to_import()?).await
    }

    pub async fn import_ordering_service_file(
        &self,
        file: &OrderingServiceFile,
    ) -> Result<Vec<Component>, ConsoleError> {
        let mut imported = Vec::new();
        for node in file {
            imported.push(self.import_node_file(node).await?);
        }
        Ok(imported)
    }
}

fn is_no_deployer(response: &http::Response<Bytes>) -> bool {
    response.status() == StatusCode::SERVICE_UNAVAILABLE
        && serde_json::from_slice::<ErrorMessage>(response.body())
            .is_ok_and(|e| e.msg == NO_DEPLOYER_MESSAGE)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ConsoleError> {
    serde_json::from_slice(bytes).map_err(|e| ConsoleError::Decode(e.to_string()))
}

/// Maps a final answer: 2xx is the body, the rest a `ConsoleError` in the console's words.
fn answer(response: http::Response<Bytes>) -> Result<Answer, ConsoleError> {
    let status = response.status();
    let body = response.into_body();
    if status.is_success() {
        return Ok((status, body));
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let message = || {
        serde_json::from_slice::<ErrorMessage>(&body)
            .map(|e| e.msg)
            .unwrap_or_else(|_| text.clone())
    };
    Err(match status.as_u16() {
        400 => match serde_json::from_slice::<BadRequest>(&body) {
            Ok(bad) => ConsoleError::BadRequest(bad.msgs),
            Err(_) => ConsoleError::BadRequest(vec![message()]),
        },
        401 => ConsoleError::Unauthorized,
        403 => match serde_json::from_slice::<Forbidden>(&body) {
            Ok(forbidden) => ConsoleError::Forbidden(forbidden),
            Err(_) => ConsoleError::Status {
                status: 403,
                body: text,
            },
        },
        404 => ConsoleError::NotFound(message()),
        503 => ConsoleError::Unavailable(message()),
        other => ConsoleError::Status {
            status: other,
            body: text,
        },
    })
}
