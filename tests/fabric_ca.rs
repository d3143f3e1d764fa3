//! hadr's fabric-ca server over HTTP on a real socket, through its client: CA info for
//! both CAs, enrollment with Basic credentials, registration with fabric-ca's token
//! authentication, and the refusals fabric-ca gives (envelope `errors` codes).

use bytes::Bytes;
use hadr::console::api::{CaConfig, Registry, RegistryIdentity};
use hadr::fabric::ca::client::{CaClient, CaClientError};
use hadr::fabric::ca::server::CaService;
use hadr::fabric::ca::token::create_token;
use hadr::fabric::ca::{CaServer, CaState, RegistrationRequest};
use hadr::fabric::crypto::{CaKeys, KeyPair, NodeOu, SigningIdentity};
use hadr::net::http::{serve, HttpClient};
use hadr::net::RealNet;
use hadr::secret::Secret;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn config() -> CaConfig {
    CaConfig {
        registry: Registry {
            maxenrollments: -1,
            identities: vec![RegistryIdentity {
                name: "admin".into(),
                pass: Secret::new("adminpw"),
                identity_type: "client".into(),
                maxenrollments: None,
                affiliation: None,
                attrs: BTreeMap::new(),
            }],
        },
    }
}

async fn start(
    server: CaServer,
    saved: Arc<Mutex<Option<CaState>>>,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let service = CaService::new(
        server,
        Some(Box::new(move |state: &CaState| {
            *saved.lock().unwrap() = Some(state.clone());
        })),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, service.router(), async {
        let _ = stopped.await;
    }));
    (url, stop)
}

fn refused(error: CaClientError) -> (u16, String) {
    match error {
        CaClientError::Refused { status, messages } => (status, messages),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test]
async fn enroll_and_register_as_fabric_ca_does() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let saved = Arc::new(Mutex::new(None));
    let (url, stop) = start(
        CaServer::new("Org1", &config(), None, &mut rng).unwrap(),
        saved.clone(),
    )
    .await;
    let ca = CaClient::new(HttpClient::new(RealNet), &url, Duration::from_secs(5));

    let info = ca.cainfo("ca").await.unwrap();
    assert_eq!(
        (info.ca_name.as_str(), info.version.as_str()),
        ("ca", "1.5.7")
    );
    assert_eq!(ca.cainfo("tlsca").await.unwrap().ca_name, "tlsca");
    let (status, messages) = refused(ca.cainfo("nope").await.unwrap_err());
    assert_eq!(status, 404);
    insta::assert_snapshot!(messages, @"[19] CA 'nope' does not exist");

    // Enrollment: Basic id:secret, a CSR, a certificate for the CSR's key.
    let key = KeyPair::generate(&mut rng);
    let (status, messages) = refused(
        ca.enroll("ca", "admin", &Secret::new("wrong"), &key, &[])
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 401);
    insta::assert_snapshot!(messages, @"[20] Authentication failure");
    let admin_cert = ca
        .enroll("ca", "admin", &Secret::new("adminpw"), &key, &[])
        .await
        .unwrap();
    assert_eq!(admin_cert.public_key, key.public_key());
    let registrar = SigningIdentity {
        msp_id: "Org1MSP".into(),
        certificate: admin_cert,
        key,
    };

    // Registration with the registrar's token; a generated secret when none is given.
    let peer = RegistrationRequest {
        id: "peer1".into(),
        identity_type: "peer".into(),
        max_enrollments: 1,
        ..Default::default()
    };
    let secret = ca.register(&registrar, &peer).await.unwrap();
    let (status, messages) = refused(ca.register(&registrar, &peer).await.unwrap_err());
    assert_eq!(status, 409);
    insta::assert_snapshot!(messages, @"[74] Identity 'peer1' is already registered");

    // The peer enrolls once (max_enrollments 1), with its role from its type.
    let peer_key = KeyPair::generate(&mut rng);
    let peer_cert = ca
        .enroll("ca", "peer1", &secret, &peer_key, &["peer1.org1".into()])
        .await
        .unwrap();
    assert_eq!(peer_cert.role(), Some(NodeOu::Peer));
    assert!(ca
        .enroll("ca", "peer1", &secret, &peer_key, &[])
        .await
        .is_err());

    // A peer is no registrar: 403.
    let peer_signer = SigningIdentity {
        msp_id: "Org1MSP".into(),
        certificate: peer_cert,
        key: peer_key,
    };
    let user = RegistrationRequest {
        id: "user1".into(),
        ..Default::default()
    };
    let (status, messages) = refused(ca.register(&peer_signer, &user).await.unwrap_err());
    assert_eq!(status, 403);
    insta::assert_snapshot!(messages, @"[71] Authorization failure");

    // A certificate from another CA, or a token for another body: 401.
    let mut stranger_ca = CaKeys::new_root("ca.evil", "Evil", &mut rng).unwrap();
    let stranger_key = KeyPair::generate(&mut rng);
    let stranger = SigningIdentity {
        msp_id: "EvilMSP".into(),
        certificate: stranger_ca
            .issue("admin", "Evil", NodeOu::Admin, &stranger_key, &[])
            .unwrap(),
        key: stranger_key,
    };
    assert_eq!(
        refused(ca.register(&stranger, &user).await.unwrap_err()).0,
        401
    );
    let signed_body = serde_json::to_vec(&user).unwrap();
    let token = create_token(&registrar, "POST", "/api/v1/register", &signed_body);
    let tampered = serde_json::to_vec(&RegistrationRequest {
        id: "user1".into(),
        identity_type: "admin".into(),
        ..Default::default()
    })
    .unwrap();
    let response = HttpClient::new(RealNet)
        .send(
            http::Request::post(format!("{url}/api/v1/register"))
                .header("authorization", token)
                .body(Bytes::from(tampered))
                .unwrap(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let envelope: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(envelope["success"], false);
    assert_eq!(envelope["result"], "");
    stop.send(()).unwrap();

    // The saved state brings the CA back with its registrations and counts.
    let state = saved.lock().unwrap().clone().unwrap();
    let restored = CaServer::restore(state).unwrap();
    let (url, stop) = start(restored, Arc::new(Mutex::new(None))).await;
    let ca = CaClient::new(HttpClient::new(RealNet), &url, Duration::from_secs(5));
    let again = KeyPair::generate(&mut rng);
    assert!(
        ca.enroll("ca", "peer1", &secret, &again, &[])
            .await
            .is_err(),
        "still used up"
    );
    assert!(ca
        .enroll("ca", "admin", &Secret::new("adminpw"), &again, &[])
        .await
        .is_ok());
    stop.send(()).unwrap();
}
