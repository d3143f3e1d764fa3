//! The consoles' deployer: fabric-operator's part, which athena asks to create CAs and peers
//! in its own region. The runner serves it over HTTP on the harness host (consoles reach it
//! as `http://harness:PORT`, [`HttpDeployer`](crate::console::mock::HttpDeployer) is their
//! side), and starts each node it is asked for as a [`NodeSpec`] on the world, so the same
//! deployer serves consoles on turmoil hosts and in containers.

use super::network::component;
use super::prebuilt::peer_spec;
use crate::console::api::{Component, ComponentMsp, ComponentType, MspCaField, MspComponentField};
use crate::console::files::{certificate_to_b64, pem_from_b64};
use crate::console::mock::{DeployCa, DeployError, DeployPeer};
use crate::fabric::ca::client::CaClient;
use crate::fabric::ca::CaServer;
use crate::fabric::crypto::{KeyPair, SigningIdentity};
use crate::fabric::peer_state::PeerDisk;
use crate::fabric::types::MspDefinition;
use crate::net::http::HttpClient;
use crate::node::spec::{CaSpec, NodeSpec, Role};
use crate::scenario::model::Scenario;
use crate::substrate::world::{Change, World, HARNESS_HOST};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Where the deployer listens on the harness host (a substrate may choose another port).
const DEPLOYER_PORT: u16 = 7100;
const CA_TIMEOUT: Duration = Duration::from_secs(10);

/// One deployment a console asks for, with where to answer.
enum DeployRequest {
    Ca(
        Box<DeployCa>,
        oneshot::Sender<Result<Component, DeployError>>,
    ),
    Peer(
        Box<DeployPeer>,
        oneshot::Sender<Result<Component, DeployError>>,
    ),
}

type Requests = mpsc::UnboundedSender<DeployRequest>;

/// Starts the deployer on the world's harness host; answers its URL as consoles reach it.
pub async fn start(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    seed: u64,
) -> Result<String, String> {
    let listener = world
        .net()
        .bind(DEPLOYER_PORT)
        .await
        .map_err(|e| format!("the deployer cannot listen: {e}"))?;
    let port = listener
        .local_port()
        .map_err(|e| format!("the deployer's port: {e}"))?;
    let (requests, deployments) = mpsc::unbounded_channel();
    tokio::task::spawn_local(deploy_nodes(
        world.clone(),
        Rc::new(scenario.clone()),
        deployments,
        seed,
    ));
    let router = Router::new()
        .route("/ca", post(ca))
        .route("/peer", post(peer))
        .with_state(requests);
    tokio::task::spawn_local(crate::net::http::serve(
        listener,
        router,
        std::future::pending(),
    ));
    Ok(format!("http://{HARNESS_HOST}:{port}"))
}

async fn ca(State(requests): State<Requests>, Json(request): Json<DeployCa>) -> Response {
    let (reply, answer) = oneshot::channel();
    let sent = requests.send(DeployRequest::Ca(Box::new(request), reply));
    answer_with(sent.is_ok(), answer).await
}

async fn peer(State(requests): State<Requests>, Json(request): Json<DeployPeer>) -> Response {
    let (reply, answer) = oneshot::channel();
    let sent = requests.send(DeployRequest::Peer(Box::new(request), reply));
    answer_with(sent.is_ok(), answer).await
}

async fn answer_with(
    sent: bool,
    answer: oneshot::Receiver<Result<Component, DeployError>>,
) -> Response {
    let gone = DeployError {
        status: 503,
        message: "the deployer stopped".into(),
    };
    let outcome = match (sent, answer.await) {
        (true, Ok(outcome)) => outcome,
        _ => Err(gone),
    };
    match outcome {
        Ok(component) => Json(component).into_response(),
        Err(error) => (
            StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(error),
        )
            .into_response(),
    }
}

/// Serves the consoles' deployments, one at a time, until every console is gone.
async fn deploy_nodes(
    world: Rc<dyn World>,
    scenario: Rc<Scenario>,
    mut requests: mpsc::UnboundedReceiver<DeployRequest>,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    while let Some(request) = requests.recv().await {
        match request {
            DeployRequest::Ca(request, reply) => {
                let _ = reply.send(deploy_ca(&world, *request, &mut rng).await);
            }
            DeployRequest::Peer(request, reply) => {
                let _ = reply.send(deploy_peer(&world, &scenario, *request, &mut rng).await);
            }
        }
    }
}

fn deploy_error(e: impl std::fmt::Display) -> DeployError {
    DeployError {
        status: 500,
        message: e.to_string(),
    }
}

async fn deploy_ca(
    world: &Rc<dyn World>,
    request: DeployCa,
    rng: &mut ChaCha8Rng,
) -> Result<Component, DeployError> {
    let host = request.body.display_name.clone();
    let overrides = &request.body.config_override;
    let mut server =
        CaServer::new(&host, &overrides.ca, overrides.tlsca.as_ref(), rng).map_err(deploy_error)?;
    let tls_cert = server
        .certificate(Some("tlsca"))
        .map_err(|e| deploy_error(e.message))?;
    let root = server
        .certificate(Some("ca"))
        .map_err(|e| deploy_error(e.message))?;
    world
        .apply(Change::Start(Box::new(NodeSpec {
            name: host.clone(),
            role: Role::Ca(Box::new(CaSpec {
                state: server.state(),
            })),
        })))
        .await
        .map_err(deploy_error)?;
    let mut record = component(&host, ComponentType::Ca, None);
    record.msp = Some(ComponentMsp {
        ca: Some(MspCaField {
            name: Some("ca".into()),
            root_certs: Some(vec![certificate_to_b64(&root)]),
        }),
        tlsca: Some(MspCaField {
            name: Some("tlsca".into()),
            root_certs: Some(vec![certificate_to_b64(&tls_cert)]),
        }),
        component: Some(MspComponentField {
            tls_cert: Some(certificate_to_b64(&tls_cert)),
            ..MspComponentField::default()
        }),
    });
    Ok(record)
}

/// What fabric-operator does for a new peer: enroll its identity with the CA the body
/// names, write its local MSP (the CA's roots, the admin certificates), start it.
async fn deploy_peer(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    request: DeployPeer,
    rng: &mut ChaCha8Rng,
) -> Result<Component, DeployError> {
    let host = request.body.display_name.clone();
    let msp_id = request.body.msp_id.clone();
    let enrollment = request
        .body
        .crypto
        .enrollment
        .as_ref()
        .ok_or_else(|| deploy_error("hadr deploys peers from an enrollment only"))?;
    let api_url = request
        .enrollment_ca
        .api_url
        .clone()
        .ok_or_else(|| deploy_error("the enrollment CA has no API URL"))?;
    let ca = CaClient::new(HttpClient::new(world.net()), &api_url, CA_TIMEOUT);
    let key = KeyPair::generate(rng);
    let certificate = ca
        .enroll(
            &enrollment.ca.name,
            &enrollment.ca.enroll_id,
            &enrollment.ca.enroll_secret,
            &key,
            std::slice::from_ref(&host),
        )
        .await
        .map_err(deploy_error)?;
    let root = ca
        .cainfo(&enrollment.ca.name)
        .await
        .map_err(deploy_error)?
        .ca_chain;
    let tls_root = ca
        .cainfo(&enrollment.tlsca.name)
        .await
        .map_err(deploy_error)?
        .ca_chain;
    let pem = |b64: &str| pem_from_b64(b64).map_err(deploy_error);
    let local_msp = MspDefinition {
        msp_id: msp_id.clone(),
        root_certs: vec![pem(&root)?],
        intermediate_certs: Vec::new(),
        admins: enrollment
            .component
            .admincerts
            .iter()
            .map(|c| pem(c))
            .collect::<Result<_, _>>()?,
        tls_root_certs: vec![pem(&tls_root)?],
        node_ous: true,
    };
    let identity = SigningIdentity {
        msp_id: msp_id.clone(),
        certificate: certificate.clone(),
        key,
    };
    let spec = peer_spec(
        scenario,
        &host,
        &identity,
        &local_msp,
        rng.next_u64(),
        PeerDisk::default(),
    );
    world
        .apply(Change::Start(Box::new(spec)))
        .await
        .map_err(deploy_error)?;
    let mut record = component(&host, ComponentType::Peer, Some(&msp_id));
    record.msp = Some(ComponentMsp {
        ca: Some(MspCaField {
            name: Some(enrollment.ca.name.clone()),
            root_certs: Some(vec![root]),
        }),
        tlsca: Some(MspCaField {
            name: Some(enrollment.tlsca.name.clone()),
            root_certs: Some(vec![tls_root]),
        }),
        component: Some(MspComponentField {
            ecert: Some(certificate_to_b64(&certificate)),
            // hadr's simulated network has no TLS; the enrollment certificate stands in.
            tls_cert: Some(certificate_to_b64(&certificate)),
            admin_certs: Some(enrollment.component.admincerts.clone()),
        }),
    });
    Ok(record)
}
