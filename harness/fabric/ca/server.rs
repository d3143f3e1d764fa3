//! `CaServer` over HTTP, with fabric-ca's response envelope
//! (lib/serverendpoint.go): `{"result": ..., "errors": [{code, message}], "messages": [],
//! "success": bool}`; `result` is `""` when there is none.

use super::token::verify_token;
use super::{codes, CaError, CaServer, CaState, RegisteredIdentity, RegistrationRequest};
use crate::console::files::certificate_to_b64;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Called with the new state after every change (the node shell writes it to disk).
pub type Persist = Box<dyn Fn(&CaState) + Send + Sync>;

/// A CA node's HTTP service.
pub struct CaService {
    server: Mutex<CaServer>,
    persist: Option<Persist>,
}

impl std::fmt::Debug for CaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaService")
    }
}

impl CaService {
    pub fn new(server: CaServer, persist: Option<Persist>) -> Arc<CaService> {
        Arc::new(CaService {
            server: Mutex::new(server),
            persist,
        })
    }

    /// `GET|POST /cainfo`, `POST /api/v1/enroll`, `POST /api/v1/register`,
    /// `POST|GET /api/v1/identities`.
    pub fn router(self: &Arc<CaService>) -> Router {
        Router::new()
            .route("/cainfo", get(cainfo).post(cainfo))
            .route("/api/v1/cainfo", get(cainfo).post(cainfo))
            .route("/api/v1/enroll", post(enroll))
            .route("/api/v1/register", post(register))
            .route(
                "/api/v1/identities",
                post(add_identity).get(list_identities),
            )
            .with_state(self.clone())
    }

    /// Runs `f` on the server without changing what is saved.
    fn read<T>(&self, f: impl FnOnce(&mut CaServer) -> Result<T, CaError>) -> Result<T, CaError> {
        f(&mut self.server.lock().expect("CA state"))
    }

    /// Runs `f` on the server and saves the state when it succeeded.
    fn with_server<T>(
        &self,
        f: impl FnOnce(&mut CaServer) -> Result<T, CaError>,
    ) -> Result<T, CaError> {
        let mut server = self.server.lock().expect("CA state");
        let result = f(&mut server)?;
        if let Some(persist) = &self.persist {
            persist(&server.state());
        }
        Ok(result)
    }
}

fn envelope(result: Result<Value, CaError>) -> Response {
    match result {
        Ok(result) => (
            StatusCode::OK,
            axum::Json(json!({"result": result, "errors": [], "messages": [], "success": true})),
        )
            .into_response(),
        Err(error) => (
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({
                "result": "",
                "errors": [{"code": error.code, "message": error.message}],
                "messages": [],
                "success": false
            })),
        )
            .into_response(),
    }
}

fn bad_body(e: impl std::fmt::Display) -> CaError {
    CaError::new(
        400,
        codes::BAD_REQUEST_BODY,
        format!("Invalid request body: {e}"),
    )
}

/// The CA name of a request: the `ca` query parameter or the body's `caname` (fabric-ca
/// decodes JSON keys case-insensitively, so `CAName` works too).
fn caname(query: &CaQuery, body: &Value) -> Option<String> {
    query.ca.clone().or_else(|| {
        body.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("caname"))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    })
}

#[derive(Debug, Default, Deserialize)]
struct CaQuery {
    ca: Option<String>,
}

fn json_body(body: &Bytes) -> Result<Value, CaError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(bad_body)
}

type Service = State<Arc<CaService>>;

async fn cainfo(State(service): Service, Query(query): Query<CaQuery>, body: Bytes) -> Response {
    envelope((|| {
        let body = json_body(&body)?;
        let info = service.read(|ca| ca.info(caname(&query, &body).as_deref()))?;
        serde_json::to_value(info).map_err(bad_body)
    })())
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// PEM CSR.
    pub certificate_request: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caname: Option<String>,
}

fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), CaError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CaError::new(401, codes::NO_AUTH_HEADER, "No authorization header"))?;
    let encoded = value
        .strip_prefix("Basic ")
        .ok_or_else(CaError::authentication)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| CaError::authentication())?;
    let text = String::from_utf8(decoded).map_err(|_| CaError::authentication())?;
    let (id, secret) = text.split_once(':').ok_or_else(CaError::authentication)?;
    Ok((id.to_string(), secret.to_string()))
}

async fn enroll(
    State(service): Service,
    Query(query): Query<CaQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    envelope((|| {
        let (id, secret) = basic_credentials(&headers)?;
        let value = json_body(&body)?;
        let caname = caname(&query, &value);
        let request: EnrollRequest = serde_json::from_value(value).map_err(bad_body)?;
        let (certificate, info) = service.with_server(|ca| {
            let certificate = ca.enroll(
                caname.as_deref(),
                &id,
                &secret,
                &request.certificate_request,
            )?;
            Ok((certificate, ca.info(caname.as_deref())?))
        })?;
        Ok(json!({"Cert": certificate_to_b64(&certificate), "ServerInfo": info}))
    })())
}

/// Token authentication: the registered identity that signed this request.
fn authenticate(
    service: &CaService,
    caname: Option<&str>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<RegisteredIdentity, CaError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CaError::new(401, codes::NO_AUTH_HEADER, "No authorization header"))?;
    let request_uri = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let certificate = verify_token(token, method.as_str(), request_uri, body)
        .map_err(|_| CaError::authentication())?;
    service.read(|ca| ca.caller(caname, &certificate))
}

fn registration(
    service: &CaService,
    query: &CaQuery,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(RegistrationRequest, crate::secret::Secret), CaError> {
    let value = json_body(body)?;
    let caname = caname(query, &value);
    let registrar = authenticate(service, caname.as_deref(), method, uri, headers, body)?;
    let mut request: RegistrationRequest = serde_json::from_value(value).map_err(bad_body)?;
    request.caname = caname;
    let secret = service.with_server(|ca| ca.register(&registrar, &request))?;
    Ok((request, secret))
}

async fn register(
    State(service): Service,
    Query(query): Query<CaQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    envelope(
        registration(&service, &query, &method, &uri, &headers, &body)
            .map(|(_, secret)| json!({"secret": secret.expose()})),
    )
}

/// `POST /api/v1/identities` (what the console's CA client calls to register).
async fn add_identity(
    State(service): Service,
    Query(query): Query<CaQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    envelope(
        registration(&service, &query, &method, &uri, &headers, &body).map(|(request, secret)| {
            json!({
                "id": request.id,
                "type": request.identity_type,
                "affiliation": request.affiliation,
                "attrs": request.attrs,
                "max_enrollments": request.max_enrollments,
                "secret": secret.expose(),
                "caname": request.caname.unwrap_or_default(),
            })
        }),
    )
}

async fn list_identities(
    State(service): Service,
    Query(query): Query<CaQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    envelope((|| {
        let caname = query.ca.clone();
        authenticate(&service, caname.as_deref(), &method, &uri, &headers, &body)?;
        let identities = service.read(|ca| ca.identities(caname.as_deref()))?;
        let listed: Vec<Value> = identities
            .iter()
            .map(|i| {
                json!({
                    "id": i.id,
                    "type": i.identity_type,
                    "affiliation": i.affiliation,
                    "attrs": i.attrs.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>(),
                    "max_enrollments": i.max_enrollments,
                })
            })
            .collect();
        Ok(json!({"identities": listed, "caname": caname.unwrap_or_default()}))
    })())
}
