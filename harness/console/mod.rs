//! The console: a mock fabric-operations-console on the real REST API, and one client for
//! mock and real consoles (research/console-api.md). "Mock or real" is a base URL and a
//! credential.
//!
//! - `api`: the v3 request and response bodies; `validate`: the console's 400 messages.
//! - `mock`: the mock console (axum), import-only without a `Deployer`.
//! - `client`: the console client over any transport (`net::Net`), with retries.
//! - `wallet`, `files`: identities kept client-side, and the export/import files.
//! - `peer_admin`: what the console does from the browser (join, anchor peers, chaincode).

pub mod api;
pub mod client;
pub mod files;
pub mod mock;
pub mod peer_admin;
pub mod validate;
pub mod wallet;

use crate::net::http::HttpClient;
use crate::net::RealNet;
use crate::secret::Secret;
use axum::extract::Request;
use axum::middleware::Next;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Options of `hadr console serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// athena's `initial_admin`.
    pub initial_admin: String,
    /// athena's `default_user_password_initial`: accepted only to create API keys.
    pub default_password: Secret,
    pub region: String,
}

impl ServeOptions {
    /// The defaults of fabric-operator's sample console: user `admin`, password `password`.
    pub fn new(listen: SocketAddr) -> ServeOptions {
        ServeOptions {
            listen,
            initial_admin: "admin".into(),
            default_password: Secret::new("password"),
            region: "local".into(),
        }
    }
}

/// Where `serve` writes its startup line and one line per request (method, path, status:
/// never a header or a body, so never a secret).
pub type LogSink = Arc<Mutex<dyn Write + Send>>;

/// A standalone mock console in import-only mode on a real socket, until `shutdown`.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
    log: LogSink,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    let address = listener.local_addr()?;
    let host_url = format!("http://{address}");
    let config = mock::ConsoleConfig {
        athena_id: "hadr-mock".into(),
        region: options.region.clone(),
        host_url: host_url.clone(),
        initial_admin: options.initial_admin.clone(),
        default_password: options.default_password.clone(),
        seed: os_seed()?,
    };
    let console =
        mock::MockConsole::new(config, None, HttpClient::new(RealNet), mock::Clock::System);
    let request_log = log.clone();
    let router = console.router().layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let log = request_log.clone();
            async move {
                let line = format!("{} {}", request.method(), request.uri().path());
                let response = next.run(request).await;
                if let Ok(mut out) = log.lock() {
                    let _ = writeln!(out, "{line} {}", response.status().as_u16());
                }
                response
            }
        },
    ));
    {
        let mut out = log
            .lock()
            .map_err(|_| std::io::Error::other("log sink poisoned"))?;
        writeln!(
            out,
            "hadr mock console (import-only) listening on {host_url}; create an API key with \
             POST {host_url}{}/permissions/keys as user '{}' with the default password",
            api::API_PREFIX,
            options.initial_admin
        )?;
    }
    crate::net::http::serve(listener, router, shutdown).await
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
