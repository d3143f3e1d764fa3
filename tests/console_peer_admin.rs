//! The peer admin channel (join, install, approve, commit, anchor peers, channel info)
//! over grpc-web, against hadr's Fabric library (fabric::testnet) served by a test-only
//! grpc-web endpoint on the simulated network. The node programs serve the real one.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use hadr::console::api::{Component, ComponentType};
use hadr::console::peer_admin::{GrpcWebPeerAdmin, PeerAdmin, PeerAdminError};
use hadr::fabric::broadcast::{validate_broadcast, BroadcastKind};
use hadr::fabric::crypto::{KeyPair, NodeOu, SigningIdentity};
use hadr::fabric::deliver_wire::Status;
use hadr::fabric::grpcweb::{BroadcastResponse, DeliverRequest, SeekPosition};
use hadr::fabric::lifecycle::{committed_definition, ChaincodeDefinition};
use hadr::fabric::peer_state::PeerState;
use hadr::fabric::testnet::{TestNetwork, CHAINCODE, CHANNEL_ID};
use hadr::fabric::types::{decode, encode, Endpoint, Envelope, SignedProposal};
use hadr::net::http::{serve, HttpClient};
use hadr::net::SimNet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Nodes {
    network: TestNetwork,
    /// A new peer of Org1, not joined yet.
    extra: PeerState,
}

type Shared = Arc<Mutex<Nodes>>;

async fn process_proposal(
    State(nodes): State<Shared>,
    Path(node): Path<String>,
    body: Bytes,
) -> Vec<u8> {
    let signed: SignedProposal = decode(&body).unwrap();
    let mut nodes = nodes.lock().unwrap();
    let peer = match node.as_str() {
        "extra" => &mut nodes.extra,
        "peer0" => &mut nodes.network.peers[0],
        _ => &mut nodes.network.peers[1],
    };
    encode(&peer.process_proposal(&signed))
}

async fn broadcast(State(nodes): State<Shared>, body: Bytes) -> Vec<u8> {
    let mut nodes = nodes.lock().unwrap();
    let network = &mut nodes.network;
    let block = match validate_broadcast(&network.orderer.bundle, &body) {
        Ok(BroadcastKind::ConfigUpdate) => {
            let envelope: Envelope = decode(&body).unwrap();
            network
                .orderer
                .order_config_update(&envelope, Duration::ZERO)
        }
        Ok(_) => Ok(network.orderer.cut(vec![body.to_vec()])),
        Err(e) => Err(e),
    };
    let answer = match block {
        Ok(block) => {
            network.commit_everywhere(&block).unwrap();
            BroadcastResponse {
                status: Status::Success,
                info: String::new(),
            }
        }
        Err(e) => BroadcastResponse {
            status: if e.status() == 403 {
                Status::Forbidden
            } else {
                Status::BadRequest
            },
            info: e.to_string(),
        },
    };
    encode(&answer)
}

async fn deliver(State(nodes): State<Shared>, body: Bytes) -> (http::StatusCode, Vec<u8>) {
    let request: DeliverRequest = decode(&body).unwrap();
    let nodes = nodes.lock().unwrap();
    let ledger = nodes.network.peers[0].ledger(&request.channel_id).unwrap();
    let block = match request.start {
        _ if !request.signature_is_valid() => None,
        SeekPosition::Newest => ledger.blocks().last(),
        SeekPosition::Specified(n) => ledger.block(n),
    };
    match block {
        Some(block) => (http::StatusCode::OK, encode(block)),
        None => (
            http::StatusCode::NOT_FOUND,
            encode(&BroadcastResponse {
                status: Status::NotFound,
                info: "NOT_FOUND".into(),
            }),
        ),
    }
}

fn node(id: &str) -> Component {
    Component {
        grpcwp_url: Some(format!("http://fabric:7443/{id}")),
        ..Component::new(id, ComponentType::Peer, id)
    }
}

fn copy(identity: &SigningIdentity) -> SigningIdentity {
    SigningIdentity {
        msp_id: identity.msp_id.clone(),
        certificate: identity.certificate.clone(),
        key: KeyPair::from_pkcs8_pem(&identity.key.to_pkcs8_pem()).unwrap(),
    }
}

#[test]
fn the_console_joins_installs_defines_and_sets_anchor_peers_over_grpc_web() {
    let mut network = TestNetwork::new(5, 2, 1);
    let extra = {
        let TestNetwork { orgs, rng, .. } = &mut network;
        let identity = orgs[0]
            .enroll("peer1.org1.example.com", NodeOu::Peer, rng)
            .unwrap();
        PeerState::new(identity, &orgs[0].msp_definition()).unwrap()
    };
    let admins = [copy(&network.orgs[0].admin), copy(&network.orgs[1].admin)];
    let client = copy(&network.clients[0]);
    let nodes: Shared = Arc::new(Mutex::new(Nodes { network, extra }));

    let mut sim = turmoil::Builder::new().rng_seed(1).build();
    let served = nodes.clone();
    sim.host("fabric", move || {
        let router = Router::new()
            .route(
                "/{node}/protos.Endorser/ProcessProposal",
                post(process_proposal),
            )
            .route(
                "/orderer/orderer.AtomicBroadcast/Broadcast",
                post(broadcast),
            )
            .route("/orderer/orderer.AtomicBroadcast/Deliver", post(deliver))
            .with_state(served.clone());
        async move {
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 7443)).await?;
            serve(listener, router, std::future::pending()).await?;
            Ok(())
        }
    });
    sim.client("console", async move {
        let admin = GrpcWebPeerAdmin::new(
            HttpClient::new(SimNet),
            Duration::from_secs(5),
            tokio::time::Instant::now(),
            9,
        );
        let (orderer, peer0, peer1, extra) =
            (node("orderer"), node("peer0"), node("peer1"), node("extra"));
        let before = admin.channel_info(&peer0, CHANNEL_ID, &admins[0]).await?;

        // Join a new peer with the genesis block from the ordering node, then install.
        admin
            .join_channel(&extra, &orderer, CHANNEL_ID, &admins[0])
            .await?;
        let joined = admin.channel_info(&extra, CHANNEL_ID, &admins[0]).await?;
        assert_eq!(joined.height, 1);
        admin
            .install_chaincode(&extra, CHAINCODE, "2.0", &admins[0])
            .await?;
        // Only an admin may join a peer (cscc JoinChain, local MSP Admins).
        let refused = admin
            .join_channel(&extra, &orderer, CHANNEL_ID, &client)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, PeerAdminError::ProposalFailed { .. }),
            "{refused}"
        );

        // A new definition: each organization approves, then one commits (2.x instantiate).
        let definition = ChaincodeDefinition {
            name: CHAINCODE.into(),
            version: "2.0".into(),
            sequence: 2,
            endorsement_policy: Default::default(),
        };
        admin
            .approve_chaincode(&peer0, &orderer, CHANNEL_ID, &definition, &admins[0])
            .await?;
        admin
            .approve_chaincode(&peer1, &orderer, CHANNEL_ID, &definition, &admins[1])
            .await?;
        admin
            .commit_chaincode(
                &[peer0.clone(), peer1.clone()],
                &orderer,
                CHANNEL_ID,
                &definition,
                &admins[0],
            )
            .await?;

        // Anchor peers through a signed config update on the latest config.
        let anchors = [Endpoint {
            host: "peer0.org1.us-east".into(),
            port: 7051,
        }];
        admin
            .set_anchor_peers(&orderer, CHANNEL_ID, &anchors, &admins[0])
            .await?;
        let after = admin.channel_info(&peer0, CHANNEL_ID, &admins[0]).await?;
        assert_eq!(after.height, before.height + 4);

        // A block that does not exist yet: the ordering node's NOT_FOUND.
        let missing = GrpcWebPeerAdmin::new(
            HttpClient::new(SimNet),
            Duration::from_secs(5),
            tokio::time::Instant::now(),
            1,
        );
        let no_orderer = Component {
            grpcwp_url: None,
            ..orderer.clone()
        };
        let error = missing
            .join_channel(&extra, &no_orderer, CHANNEL_ID, &admins[0])
            .await
            .unwrap_err();
        assert!(matches!(error, PeerAdminError::NoGrpcWebUrl { .. }));
        Ok(())
    });
    sim.run().unwrap();

    let nodes = nodes.lock().unwrap();
    let ledger = nodes.network.peers[0].ledger(CHANNEL_ID).unwrap();
    let committed = committed_definition(ledger.state(), CHAINCODE).unwrap();
    assert_eq!(committed.version, "2.0");
    let org = &ledger.config().application["Org1MSP"];
    assert_eq!(org.anchor_peers[0].host, "peer0.org1.us-east");
    assert_eq!(
        nodes.extra.installed().get(CHAINCODE).map(String::as_str),
        Some("2.0")
    );
}
