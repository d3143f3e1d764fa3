//! A node's HTTP endpoints: the grpc-web proxy (the console's `grpcwp_url`, paths in
//! fabric/grpcweb.rs) and the operations endpoint (`/healthz`, `/metrics`). Handlers hand
//! each request to the node's main loop as a [`NodeCall`] and wait for its answer, so the
//! node's state is only ever touched by that loop.

use crate::fabric::deliver_wire::{BroadcastResponse, DeliverRequest, Status};
use crate::fabric::grpcweb::{BROADCAST_PATH, CONTENT_TYPE, DELIVER_PATH, PROCESS_PROPOSAL_PATH};
use crate::fabric::types::{decode, encode, Block, Envelope, ProposalResponse, SignedProposal};
use crate::net::{http::serve, Net};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A request for the node's main loop, with where to send the answer.
pub enum NodeCall {
    ProcessProposal(SignedProposal, oneshot::Sender<ProposalResponse>),
    Broadcast(Envelope, oneshot::Sender<BroadcastResponse>),
    /// One block (grpc-web Deliver): the block, or the status why not.
    DeliverBlock(
        DeliverRequest,
        oneshot::Sender<Result<Block, BroadcastResponse>>,
    ),
    /// `/healthz`: the names and reasons of failed checks (empty when healthy).
    Health(oneshot::Sender<Vec<(String, String)>>),
    Metrics(oneshot::Sender<String>),
}

pub type Calls = mpsc::UnboundedSender<NodeCall>;

/// Answer for a call this kind of node does not serve.
pub fn unimplemented(what: &str) -> BroadcastResponse {
    BroadcastResponse {
        status: Status::NotFound,
        info: format!("{what} is not served by this node"),
    }
}

/// Serves the grpc-web and operations routers on `grpc_web_port` and `operations_port`.
pub async fn serve_endpoints(
    net: &Arc<dyn Net>,
    calls: Calls,
    grpc_web_port: u16,
    operations_port: u16,
    clock_rfc3339: fn() -> String,
) -> std::io::Result<()> {
    let grpc_web = net.bind(grpc_web_port).await?;
    let operations = net.bind(operations_port).await?;
    let grpc_router = Router::new()
        .route(PROCESS_PROPOSAL_PATH, post(process_proposal))
        .route(BROADCAST_PATH, post(broadcast))
        .route(DELIVER_PATH, post(deliver))
        .with_state(calls.clone());
    let ops_router = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state((calls, clock_rfc3339));
    tokio::spawn(serve(grpc_web, grpc_router, std::future::pending()));
    tokio::spawn(serve(operations, ops_router, std::future::pending()));
    Ok(())
}

fn postcard(status: StatusCode, bytes: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response()
}

fn node_gone() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "the node is shutting down").into_response()
}

async fn ask<T>(calls: &Calls, make: impl FnOnce(oneshot::Sender<T>) -> NodeCall) -> Option<T> {
    let (reply, answer) = oneshot::channel();
    calls.send(make(reply)).ok()?;
    answer.await.ok()
}

async fn process_proposal(State(calls): State<Calls>, body: Bytes) -> Response {
    let Ok(proposal) = decode::<SignedProposal>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not a SignedProposal").into_response();
    };
    match ask(&calls, |reply| NodeCall::ProcessProposal(proposal, reply)).await {
        Some(response) => postcard(StatusCode::OK, encode(&response)),
        None => node_gone(),
    }
}

async fn broadcast(State(calls): State<Calls>, body: Bytes) -> Response {
    let Ok(envelope) = decode::<Envelope>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not an Envelope").into_response();
    };
    match ask(&calls, |reply| NodeCall::Broadcast(envelope, reply)).await {
        Some(response) => postcard(StatusCode::OK, encode(&response)),
        None => node_gone(),
    }
}

async fn deliver(State(calls): State<Calls>, body: Bytes) -> Response {
    let Ok(request) = decode::<DeliverRequest>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not a DeliverRequest").into_response();
    };
    match ask(&calls, |reply| NodeCall::DeliverBlock(request, reply)).await {
        Some(Ok(block)) => postcard(StatusCode::OK, encode(&block)),
        Some(Err(refusal)) => {
            let status = StatusCode::from_u16(refusal.status.code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            postcard(status, encode(&refusal))
        }
        None => node_gone(),
    }
}

async fn healthz(State((calls, clock)): State<(Calls, fn() -> String)>) -> Response {
    let Some(failed) = ask(&calls, NodeCall::Health).await else {
        return node_gone();
    };
    let (status, body) = super::ops::healthz_body(&clock(), &failed);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn metrics(State((calls, _)): State<(Calls, fn() -> String)>) -> Response {
    match ask(&calls, NodeCall::Metrics).await {
        Some(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            text,
        )
            .into_response(),
        None => node_gone(),
    }
}
