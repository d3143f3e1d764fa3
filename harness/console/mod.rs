//! The console: a mock fabric-operations-console on the real REST API, and one client for
//! mock and real consoles (research/console-api.md). "Mock or real" is a base URL and a
//! credential.
//!
//! - `api`: the v3 request and response bodies; `validate`: the console's 400 messages.
//! - `mock`: the mock console (axum), import-only without a `Deployer`.
//! - `client`: the console client over any transport (`net::Net`), with retries.
//! - `wallet`, `files`: identities kept client-side, and the export/import files.
//! - `peer_admin`: what the console does from the browser (join, anchor peers, chaincode).
//! - `serve` (below) and `log`: `hadr console serve`, a mock console on a real socket.

pub mod api;
pub mod client;
pub mod files;
pub mod log;
pub mod mock;
pub mod peer_admin;
pub mod validate;
pub mod wallet;

use crate::net::http::HttpClient;
use crate::net::server::{serve_public, ServerEvent, ServerOptions};
use crate::net::RealNet;
use crate::secret::Secret;
use axum::extract::Request;
use axum::middleware::Next;
use log::RequestLog;
use std::future::Future;
use std::io::Write;
use std::time::Duration;

/// fabric-operator's sample console password, which `hadr console serve` uses.
pub const DEFAULT_PASSWORD: &str = "password";

/// Options of `hadr console serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// `host:port`; a name is resolved and the first address that binds is used.
    pub listen: String,
    /// athena's `initial_admin`.
    pub initial_admin: String,
    /// athena's `default_user_password_initial`: accepted only to create API keys and
    /// tokens and to change settings (middleware.js).
    pub default_password: Secret,
    pub region: String,
    pub limits: mock::Limits,
    pub server: ServerOptions,
}

impl ServeOptions {
    /// The defaults of fabric-operator's sample console (user `admin`, password
    /// `password`) with athena's limits and timeouts.
    pub fn new(listen: &str) -> ServeOptions {
        ServeOptions {
            listen: listen.to_string(),
            initial_admin: "admin".into(),
            default_password: Secret::new(DEFAULT_PASSWORD),
            region: "local".into(),
            limits: mock::Limits::ATHENA,
            server: ServerOptions::default(),
        }
    }
}

/// What the mock implements, for the banner and `--help`.
pub const IMPLEMENTED: &str = "components (import one or in bulk, edit, list by type or \
    tag, get, delete, status probes), API keys and tokens, settings, healthcheck and health, \
    /caproxy to known CAs; Kubernetes routes answer 503 (no deployer); other routes answer \
    the real console's 404";

/// The end of `hadr console serve --help`.
pub fn serve_help() -> String {
    format!(
        "Example:
  hadr console serve --listen 127.0.0.1:3000
  curl http://127.0.0.1:3000/ak/api/v3/healthcheck
  curl -u admin:{DEFAULT_PASSWORD} -X POST -H 'content-type: application/json' \\
       -d '{{\"roles\":[\"reader\",\"writer\",\"manager\"],\"description\":\"ci\"}}' \\
       http://127.0.0.1:3000/ak/api/v3/permissions/keys

The initial admin's default password is '{DEFAULT_PASSWORD}'. As on the real console, it is
accepted only to create API keys and tokens and to change settings; every other /ak/ route takes Basic auth with api_key:api_secret (or a Bearer token from
/ak/api/v3/identity/token), and so does /caproxy (in X-Console-Authorization when
Authorization is the CA's). Plain HTTP; all state is in memory and lost on exit.

Implemented: {IMPLEMENTED}.

Limits and timeouts default to the real console's (0 turns a limit off). Secrets never appear
in the output."
    )
}

/// The log line of a request: method, path and status, never a header, a query or a body.
/// Token routes carry the token in the path, so it is replaced by `{id}`; a `/caproxy/` URL
/// may carry `user:password@`, so that part is replaced by `***@`. Control characters are
/// escaped.
fn log_line(method: &http::Method, path: &str, status: u16) -> String {
    const TOKEN_ROUTE: &str = "/identity/token/";
    let path = match path.find(TOKEN_ROUTE) {
        Some(at) => format!("{}{{id}}", &path[..at + TOKEN_ROUTE.len()]),
        None => without_credentials(path),
    };
    format!(
        "{method} {} {status}",
        crate::scenario::diagnostic::printable(&path)
    )
}

/// `path` with the user information of a URL inside it (`scheme://user:pass@host`) masked.
fn without_credentials(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after.find('/').unwrap_or(after.len());
        match after[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &after[userinfo_end..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// A standalone mock console in import-only mode on a real socket, until `shutdown`. Lines
/// (the banner, one per request, accept failures) go to `out` without ever blocking the
/// server.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
    out: impl Write + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen.as_str()).await?;
    let address = listener.local_addr()?;
    let host_url = format!("http://{address}");
    let config = mock::ConsoleConfig {
        athena_id: "hadr-mock".into(),
        region: options.region.clone(),
        host_url: host_url.clone(),
        initial_admin: options.initial_admin.clone(),
        default_password: options.default_password.clone(),
        seed: os_seed()?,
        limits: options.limits,
    };
    let console =
        mock::MockConsole::new(config, None, HttpClient::new(RealNet), mock::Clock::System);
    let log = RequestLog::new(out);
    let request_log = log.clone();
    let router = console.router().layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let log = request_log.clone();
            async move {
                let method = request.method().clone();
                let path = request.uri().path().to_string();
                let response = next.run(request).await;
                log.line(log_line(&method, &path, response.status().as_u16()));
                response
            }
        },
    ));
    for line in banner(&options, &host_url) {
        log.line(line);
    }
    let events = log.clone();
    let served = serve_public(listener, router, options.server, shutdown, move |event| {
        events.line(match event {
            ServerEvent::AcceptFailed(error) => format!(
                "hadr console serve: accepting connections failed ({error}); retrying, \
                 closing idle connections to make room"
            ),
            ServerEvent::AcceptResumed { failures, evicted } => format!(
                "hadr console serve: accepting again after {failures} failed attempt(s); \
                 {evicted} idle connection(s) closed"
            ),
        })
    })
    .await;
    // The last lines reach the output unless it is blocked (then they are dropped).
    log.flush(Duration::from_secs(1));
    served
}

/// The startup lines: where, how to start, what is there.
fn banner(options: &ServeOptions, host_url: &str) -> Vec<String> {
    let password = if options.default_password.expose() == DEFAULT_PASSWORD {
        format!("the default password '{DEFAULT_PASSWORD}'")
    } else {
        "the configured default password".to_string()
    };
    let limits = options.limits;
    let per_min = |n: u32, times: u32| match n {
        0 => "unlimited".to_string(),
        n => format!("{n}/min ({}/min for GET)", n.saturating_mul(times)),
    };
    vec![
        format!(
            "hadr mock console (import-only) listening on {host_url}; plain HTTP, state in \
             memory only (lost on exit)"
        ),
        format!(
            "  first API key: POST {host_url}{}/permissions/keys as user '{}' with {password}",
            api::API_PREFIX,
            options.initial_admin
        ),
        format!("  implemented: {IMPLEMENTED}"),
        format!(
            "  limits: /ak/ requests {}, other requests {}, lockout after {} auth failures, \
                 {} components; idle connections closed after {} s",
            per_min(limits.max_req_per_min_ak, 4),
            per_min(limits.max_req_per_min, 16),
            limits.lockout_limit,
            limits.max_components,
            options.server.header_timeout.as_secs()
        ),
    ]
}

/// A seed for API keys and secrets of a console on real sockets: from the operating
/// system, since these secrets guard a real listener (the simulation seeds its consoles).
fn os_seed() -> std::io::Result<u64> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 8];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| std::io::Error::other("the system random generator failed"))?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_log_lines_hide_tokens_and_url_credentials() {
        let get = http::Method::GET;
        assert_eq!(
            log_line(&get, "/ak/api/v3/identity/token/s3cr3t", 200),
            "GET /ak/api/v3/identity/token/{id} 200"
        );
        let proxied = "/caproxy/https://enroll:URLSECRET77@ca.example:7054/api/v1/enroll";
        let line = log_line(&get, proxied, 400);
        assert_eq!(
            line,
            "GET /caproxy/https://***@ca.example:7054/api/v1/enroll 400"
        );
        assert_eq!(
            log_line(&get, "/caproxy/http://ca.example:7054/a@b", 200),
            "GET /caproxy/http://ca.example:7054/a@b 200"
        );
        assert!(!log_line(&get, "/x\u{1b}[31m", 404).contains('\u{1b}'));
    }
}
