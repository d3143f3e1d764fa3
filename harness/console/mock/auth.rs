//! Who is asking, and may they (middleware.js `allowAkToDoAction`); API keys and tokens
//! (routes/permission_apis.js, libs/permissions_lib.js).
//!
//! - Basic `initial_admin:<default password>` is the console's first user, who has no
//!   password of their own yet: athena accepts the default password only on
//!   `POST .../permissions/keys`, `.../identity/token` and `.../settings`; anywhere else
//!   the answer is 401.
//! - Basic `api_key:api_secret`: an unknown key or a wrong secret is 401, and so is a key
//!   whose roles lack the route's action (athena answers `unauthorized` there, not 403).
//! - Bearer tokens from `POST /identity/token`: unknown is 401, a role that lacks the
//!   action or an expired token is 403 with athena's `forbidden` body.
//! - 401 bodies are the text `Unauthorized` with a `WWW-Authenticate: Basic` header.

use super::request::Input;
use super::{
    bad_request, couch_not_found, friendly_ms, json, refuse, Console, MockConsole, Refusal,
};
use crate::console::api::{CreateApiKeyResponse, CreateTokenResponse, Forbidden, Role};
use crate::console::validate;
use crate::secret::Secret;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::Value;
use std::sync::Arc;

/// Athena's actions (settings.js `STR.*_ACTION`).
pub const CREATE_ACTION: &str = "blockchain.components.create";
pub const DELETE_ACTION: &str = "blockchain.components.delete";
pub const REMOVE_ACTION: &str = "blockchain.components.remove";
pub const IMPORT_ACTION: &str = "blockchain.components.import";
pub const EXPORT_ACTION: &str = "blockchain.components.export";
pub const VIEW_ACTION: &str = "blockchain.optools.view";
pub const API_KEY_ACTION: &str = "blockchain.apikeys.manage";
pub const MANAGE_ACTION: &str = "blockchain.components.manage";
/// `GET /health` needs it: managers only.
pub(super) const LOGS_ACTION: &str = "blockchain.optools.logs";

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
            LOGS_ACTION,
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

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct ApiKey {
    secret_hash: [u8; 32],
    roles: Vec<Role>,
    description: String,
    created_ms: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct AccessToken {
    roles: Vec<Role>,
    created_ms: u64,
    expires_ms: u64,
    created_by: String,
}

/// Who passed authentication, for handlers that act on the caller's own roles.
#[derive(Clone, Debug)]
pub(super) enum Caller {
    /// The initial admin with the default password: every role.
    Admin,
    Key(Vec<Role>),
    Token(Vec<Role>),
}

fn secret_hash(secret: &str) -> [u8; 32] {
    crate::fabric::crypto::sha256(secret.as_bytes())
}

/// The action a route needs, for [`guard`].
#[derive(Clone)]
pub(super) struct Guard {
    pub console: Arc<MockConsole>,
    pub action: &'static str,
}

/// Route middleware: the caller must be allowed the route's action (athena's per-route
/// chain); handlers find the `Caller` in the request's extensions.
pub(super) async fn guard(
    State(guard): State<Guard>,
    mut request: Request,
    next: Next,
) -> Response {
    let (headers, method) = (request.headers(), request.method());
    match guard
        .console
        .authorize(headers, method, request.uri().path(), guard.action)
    {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(denied) => *denied,
    }
}

impl MockConsole {
    /// allowAkToDoAction: who is asking, and may they do `action`?
    pub(super) fn authorize(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        action: &'static str,
    ) -> Result<Caller, Refusal> {
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
            let Some(doc) = store.tokens.get(&secret_hash(token.trim())) else {
                return Err(Box::new(self.unauthorized()));
            };
            if !roles_allow(&doc.roles, action) || doc.expires_ms <= self.clock.unix_ms() {
                drop(store);
                return Err(Box::new(self.forbidden(action)));
            }
            return Ok(Caller::Token(doc.roles.clone()));
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
                return Ok(Caller::Admin);
            }
            return Err(Box::new(self.unauthorized()));
        }
        let store = self.lock();
        match store.keys.get(&name) {
            Some(key)
                if key.secret_hash == secret_hash(&pass) && roles_allow(&key.roles, action) =>
            {
                Ok(Caller::Key(key.roles.clone()))
            }
            _ => Err(Box::new(self.unauthorized())),
        }
    }

    pub(super) fn unauthorized(&self) -> Response {
        let realm = format!("Basic realm=IBP{}", self.config.host_url);
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, realm)],
            "Unauthorized",
        )
            .into_response()
    }

    pub(super) fn forbidden(&self, action: &str) -> Response {
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

    /// A browser-session route (`/caproxy`): the mock has no sessions, so it takes the API
    /// credentials, and answers their absence as athena answers a missing session.
    pub(super) fn authorize_session(
        &self,
        headers: &HeaderMap,
        method: &Method,
        path: &str,
    ) -> Result<Caller, Refusal> {
        self.authorize(headers, method, path, VIEW_ACTION)
            .map_err(|denied| {
                if denied.status() == StatusCode::UNAUTHORIZED {
                    Box::new(json(
                        StatusCode::UNAUTHORIZED,
                        &serde_json::json!({"error": "login to use this api"}),
                    ))
                } else {
                    denied
                }
            })
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

/// The body's `roles` as permissions_lib.js `validate_roles` reads them: `for (i in
/// roles)` walks an array, an object's values or a string's characters; each must name a
/// role in any case. Order and duplicates are kept.
fn key_roles(roles: Option<&Value>) -> Result<Vec<Role>, String> {
    let invalid = || {
        "invalid roles for api key. valid roles: [\"manager\",\"writer\",\"reader\"]".to_string()
    };
    let entries: Vec<Value> = match roles {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(map)) => map.values().cloned().collect(),
        Some(Value::String(s)) => s.chars().map(|c| Value::String(c.into())).collect(),
        _ => Vec::new(),
    };
    let roles = entries
        .iter()
        .map(|entry| {
            // A non-string role makes athena throw (500); the mock refuses it as invalid.
            let name = entry.as_str().ok_or_else(invalid)?.to_lowercase();
            serde_json::from_value::<Role>(Value::String(name)).map_err(|_| invalid())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if roles.is_empty() {
        return Err("must have at least 1 role for key.".into());
    }
    Ok(roles)
}

/// libs/misc.js `safe_str`: a key's description, as athena stores it.
fn safe_description(description: Option<&Value>) -> String {
    let Some(Value::String(text)) = description else {
        return "[-string redacted-]".into();
    };
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_*!@$%&()\"'.:, \t\n\r".contains(*c))
        .collect();
    let short: String = kept.trim().chars().take(32).collect();
    if short.is_empty() {
        "-".into()
    } else {
        short
    }
}

/// `POST /permissions/keys`: athena checks this body by hand, not with the OpenAPI.
pub(super) async fn create_api_key(State(console): Console, Input(body): Input) -> Response {
    let roles = match key_roles(body.get("roles")) {
        Ok(roles) => roles,
        Err(message) => {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({"statusCode": 400, "msg": [message]}),
            )
        }
    };
    let api_key = format!("k{}", console.random_string(15));
    let api_secret = console.random_string(32);
    let key = ApiKey {
        secret_hash: secret_hash(&api_secret),
        roles: roles.clone(),
        description: safe_description(body.get("description")),
        created_ms: console.clock.unix_ms(),
    };
    console.lock().keys.insert(api_key.clone(), key);
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

pub(super) async fn list_api_keys(State(console): Console) -> Response {
    let keys: Vec<Value> = console
        .lock()
        .keys
        .iter()
        .map(|(id, key)| {
            serde_json::json!({"api_key": id, "roles": key.roles,
                "ts_created": key.created_ms, "description": key.description})
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"message": "ok", "keys": keys}),
    )
}

pub(super) async fn delete_api_key(
    State(console): Console,
    Path(key_id): Path<String>,
) -> Response {
    match console.lock().keys.remove(&key_id) {
        Some(_) => json(
            StatusCode::OK,
            &serde_json::json!({"message": "ok", "deleted": key_id}),
        ),
        None => couch_not_found(),
    }
}

/// The default lifetime of a token (permissions_lib.js create_access_token).
const TOKEN_SECS: f64 = 3600.0;

/// `POST /identity/token`: validated (roles enum, `expiration_secs` 10..=1296000).
pub(super) async fn create_token(
    State(console): Console,
    caller: Option<axum::Extension<Caller>>,
    Input(body): Input,
) -> Response {
    let errors = validate::validate(&validate::create_token(), &body, &[], false);
    if !errors.is_empty() {
        return *refuse(errors);
    }
    // The roles asked for, else the caller's own. A token never holds a role its requester
    // lacks: a reader key asking for `manager` would otherwise mint itself a manager.
    let asked: Vec<Role> = body
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .filter_map(|r| serde_json::from_value(r.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let own = match caller.map(|c| c.0) {
        Some(Caller::Key(roles) | Caller::Token(roles)) => roles,
        Some(Caller::Admin) | None => vec![Role::Manager, Role::Writer, Role::Reader],
    };
    if let Some(beyond) = asked.iter().find(|r| !own.contains(r)) {
        let role = serde_json::to_value(beyond).unwrap_or_default();
        return bad_request(vec![format!(
            "a token cannot have the role {role}: the key or token asking for it does not have it"
        )]);
    }
    let roles = if asked.is_empty() { own } else { asked };
    let secs = match body.get("expiration_secs") {
        Some(value) => validate::js_number(value),
        None => TOKEN_SECS,
    };
    let secs = if secs.is_nan() { TOKEN_SECS } else { secs };
    let now = console.clock.unix_ms();
    let expires_ms = now + (secs * 1000.0) as u64;
    let token = console.random_string(32);
    {
        let mut store = console.lock();
        // Expired tokens are dead weight: drop them before adding one.
        store.tokens.retain(|_, t| t.expires_ms > now);
        store.tokens.insert(
            secret_hash(&token),
            AccessToken {
                roles: roles.clone(),
                created_ms: now,
                expires_ms,
                created_by: String::new(),
            },
        );
    }
    json(
        StatusCode::OK,
        &CreateTokenResponse {
            access_token: Secret::new(token),
            refresh_token: Some("not_supported".into()),
            token_type: "Bearer".into(),
            expires_in: secs as u64,
            expiration: Some(expires_ms),
            scope: Some("foc bearer".into()),
            roles,
            message: Some("ok".into()),
        },
    )
}

/// `GET /identity/token/{token}`: the token's details (athena keys tokens by themselves).
pub(super) async fn get_token(State(console): Console, Path(id): Path<String>) -> Response {
    let now = console.clock.unix_ms();
    let store = console.lock();
    match store.tokens.get(&secret_hash(&id)) {
        Some(token) => json(
            StatusCode::OK,
            &serde_json::json!({
                "access_token": id,
                "roles": token.roles,
                "creation": token.created_ms,
                "expiration": token.expires_ms,
                "time_left": friendly_ms(token.expires_ms as i64 - now as i64),
                "created_by": token.created_by,
            }),
        ),
        None => couch_not_found(),
    }
}

pub(super) async fn delete_token(State(console): Console, Path(id): Path<String>) -> Response {
    match console.lock().tokens.remove(&secret_hash(&id)) {
        Some(_) => json(
            StatusCode::OK,
            &serde_json::json!({"message": "ok", "deleted": id}),
        ),
        None => couch_not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_roles_are_read_as_athena_iterates_them() {
        assert_eq!(
            key_roles(Some(&json!(["Manager", "reader", "reader"]))).unwrap(),
            vec![Role::Manager, Role::Reader, Role::Reader]
        );
        let none = "must have at least 1 role for key.";
        assert_eq!(key_roles(Some(&json!([]))).unwrap_err(), none);
        assert_eq!(key_roles(None).unwrap_err(), none);
        assert_eq!(key_roles(Some(&json!(5))).unwrap_err(), none);
        let invalid = key_roles(Some(&json!("manager"))).unwrap_err();
        assert!(
            invalid.starts_with("invalid roles for api key."),
            "{invalid}"
        );
        assert!(key_roles(Some(&json!([1]))).is_err());
        assert_eq!(
            key_roles(Some(&json!({"a": "writer"}))).unwrap(),
            vec![Role::Writer]
        );
    }

    #[test]
    fn descriptions_are_made_safe() {
        assert_eq!(safe_description(None), "[-string redacted-]");
        assert_eq!(safe_description(Some(&json!(""))), "-");
        assert_eq!(safe_description(Some(&json!("  <ci> key  "))), "ci key");
        assert_eq!(
            safe_description(Some(&json!("x".repeat(40)))),
            "x".repeat(32)
        );
    }
}
