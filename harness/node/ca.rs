//! The CA node program: fabric-ca's REST API (fabric/ca) on 7054 and an operations endpoint
//! (`/healthz`) on 9444, as IBP's CA exposes them. Its state (keys and registry) is written
//! to the node's disk after every change, so a restarted CA keeps its registrations.

use super::wire::{CA_OPERATIONS_PORT, CA_PORT};
use crate::clock::Clock;
use crate::fabric::ca::{server::CaService, CaServer, CaState};
use crate::net::{http::serve, Net};
use axum::routing::get;
use axum::Router;
use std::io;
use std::sync::{Arc, Mutex};

/// A CA node's disk: its last saved state.
pub type CaDisk = Arc<Mutex<CaState>>;

pub async fn run(disk: CaDisk, net: Arc<dyn Net>, clock: Clock) -> io::Result<()> {
    let state = disk.lock().expect("CA disk").clone();
    let server = CaServer::restore(state).map_err(|e| io::Error::other(e.to_string()))?;
    let saved = disk.clone();
    let service = CaService::new(
        server,
        Some(Box::new(move |state: &CaState| {
            *saved.lock().expect("CA disk") = state.clone();
        })),
    );
    let api = net.bind(CA_PORT).await?;
    let operations = net.bind(CA_OPERATIONS_PORT).await?;
    let health = Router::new().route(
        "/healthz",
        get(move || async move {
            let (_, body) = super::ops::healthz_body(&clock.rfc3339(), &[]);
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }),
    );
    tokio::spawn(serve(operations, health, std::future::pending()));
    serve(api, service.router(), std::future::pending()).await
}
