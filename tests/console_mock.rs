//! The mock console through the console client on the simulated network (turmoil): two
//! regions' consoles, a CA deployed by the first console's deployer, the documented
//! export from console 1 and import into console 2, status probes and the CA proxy.
//!
//! The deployer here is test-only: it starts hadr's real fabric-ca server on a simulated
//! CA host and answers peers with a stub operations endpoint; the simulation substrate
//! provides the real one.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hadr::console::api::*;
use hadr::console::client::{ClientOptions, ConsoleClient, ConsoleError, Credential};
use hadr::console::files::{certificate_to_b64, IdentityFile};
use hadr::console::mock::{
    Clock, ConsoleConfig, DeployCa, DeployError, DeployOrderer, DeployPeer, Deployer, Limits,
    MockConsole,
};
use hadr::console::wallet::Identity;
use hadr::fabric::ca::client::CaClient;
use hadr::fabric::ca::server::CaService;
use hadr::fabric::ca::{CaServer, CaState, RegistrationRequest};
use hadr::fabric::crypto::{KeyPair, NodeOu, SigningIdentity};
use hadr::net::http::{serve, HttpClient};
use hadr::net::BoxFuture;
use hadr::net::SimNet;
use hadr::secret::Secret;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

const CA_URL: &str = "http://ca.org1.us-east:7054";
const PASSWORD: &str = "console-default-pw";

/// The CA host's service once deployed, and what the CA node saved.
#[derive(Clone, Default)]
struct CaSlot {
    router: Arc<Mutex<Option<Router>>>,
    saved: Arc<Mutex<Option<CaState>>>,
}

/// Test-only deployer: a real CA server on `ca.org1.us-east`, stub peers.
struct TestDeployer {
    ca: CaSlot,
    http: HttpClient,
}

impl Deployer for TestDeployer {
    fn deploy_ca(&self, request: DeployCa) -> BoxFuture<'_, Result<Component, DeployError>> {
        Box::pin(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(42);
            let overrides = &request.body.config_override;
            let mut server =
                CaServer::new("Org1", &overrides.ca, overrides.tlsca.as_ref(), &mut rng).map_err(
                    |e| DeployError {
                        status: 500,
                        message: e.to_string(),
                    },
                )?;
            let tls_cert = server.certificate(Some("tlsca")).unwrap();
            *self.ca.saved.lock().unwrap() = Some(server.state());
            let saved = self.ca.saved.clone();
            let service = CaService::new(
                server,
                Some(Box::new(move |state: &CaState| {
                    *saved.lock().unwrap() = Some(state.clone());
                })),
            );
            *self.ca.router.lock().unwrap() = Some(service.router());
            Ok(Component {
                api_url: Some(CA_URL.into()),
                operations_url: Some("http://ca.org1.us-east:9443".into()),
                msp: Some(ComponentMsp {
                    ca: Some(MspCaField {
                        name: Some("ca".into()),
                        root_certs: None,
                    }),
                    tlsca: Some(MspCaField {
                        name: Some("tlsca".into()),
                        root_certs: None,
                    }),
                    component: Some(MspComponentField {
                        tls_cert: Some(certificate_to_b64(&tls_cert)),
                        ..Default::default()
                    }),
                }),
                ..Component::new(&request.id, ComponentType::Ca, "")
            })
        })
    }

    fn deploy_peer(&self, request: DeployPeer) -> BoxFuture<'_, Result<Component, DeployError>> {
        Box::pin(async move {
            // What fabric-operator's init container does: enroll the peer with the CA.
            let enrollment = request.body.crypto.enrollment.as_ref().unwrap();
            let api_url = request.enrollment_ca.api_url.clone().unwrap();
            let ca = CaClient::new(self.http.clone(), &api_url, Duration::from_secs(5));
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let key = KeyPair::generate(&mut rng);
            let ecert = ca
                .enroll(
                    &enrollment.ca.name,
                    &enrollment.ca.enroll_id,
                    &enrollment.ca.enroll_secret,
                    &key,
                    &[],
                )
                .await
                .map_err(|e| DeployError {
                    status: 500,
                    message: e.to_string(),
                })?;
            Ok(Component {
                api_url: Some("grpcs://peer0.org1.us-east:7051".into()),
                operations_url: Some("http://peer0.org1.us-east:9443".into()),
                grpcwp_url: Some("http://peer0.org1.us-east:7443".into()),
                msp_id: Some(request.body.msp_id.clone()),
                msp: Some(ComponentMsp {
                    component: Some(MspComponentField {
                        ecert: Some(certificate_to_b64(&ecert)),
                        tls_cert: Some(certificate_to_b64(&ecert)),
                        admin_certs: Some(enrollment.component.admincerts.clone()),
                    }),
                    ..Default::default()
                }),
                ..Component::new(&request.id, ComponentType::Peer, "")
            })
        })
    }

    fn deploy_orderer(
        &self,
        _request: DeployOrderer,
    ) -> BoxFuture<'_, Result<Vec<Component>, DeployError>> {
        Box::pin(async {
            Err(DeployError {
                status: 501,
                message: "this test deploys no ordering service".into(),
            })
        })
    }
}

fn console_config(region: &str, seed: u64) -> ConsoleConfig {
    ConsoleConfig {
        athena_id: format!("console-{region}"),
        region: region.into(),
        host_url: format!("http://console.{region}:3000"),
        initial_admin: "admin".into(),
        default_password: Secret::new(PASSWORD),
        seed,
        limits: Limits::UNTHROTTLED,
    }
}

fn client(url: &str) -> ConsoleClient {
    ConsoleClient::new(
        HttpClient::new(SimNet),
        url,
        Credential::None,
        ClientOptions {
            timeout: Duration::from_secs(5),
            ..ClientOptions::default()
        },
    )
}

async fn bootstrap(client: &ConsoleClient) -> CreateApiKeyResponse {
    client
        .bootstrap_api_key(
            "admin",
            &Secret::new(PASSWORD),
            &[Role::Manager, Role::Writer, Role::Reader],
            "runbook",
        )
        .await
        .unwrap()
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    let pair = format!("{user}:{pass}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn create_ca_body() -> CreateCaBody {
    serde_json::from_value(serde_json::json!({
        "display_name": "Org1 CA",
        "config_override": {"ca": {"registry": {"maxenrollments": -1,
            "identities": [{"name": "admin", "pass": "adminpw", "type": "client"}]}}}
    }))
    .unwrap()
}

fn create_peer_body(host: &str, admin_cert: &str) -> CreatePeerBody {
    let enrollment = |name: &str| {
        serde_json::json!({"host": host, "port": 7054, "name": name, "tls_cert": admin_cert,
            "enroll_id": "peer1", "enroll_secret": "peer1pw"})
    };
    serde_json::from_value(serde_json::json!({
        "display_name": "Peer Org1 us-east",
        "msp_id": "Org1MSP",
        "crypto": {"enrollment": {"ca": enrollment("ca"), "tlsca": enrollment("tlsca"),
            "component": {"admincerts": [admin_cert]}}}
    }))
    .unwrap()
}

/// Runs the procedure's console steps; answers what the consoles listed, for determinism.
fn run() -> String {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(120))
        .rng_seed(1)
        .build();
    let ca = CaSlot::default();
    let ca_host = ca.clone();
    sim.host("ca.org1.us-east", move || {
        let slot = ca_host.router.clone();
        async move {
            let dispatch = move |request: Request| {
                let router = slot.lock().unwrap().clone();
                async move {
                    match router {
                        Some(router) => router.oneshot(request).await.into_response(),
                        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    }
                }
            };
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 7054)).await?;
            serve(
                listener,
                Router::new().fallback(dispatch),
                std::future::pending(),
            )
            .await?;
            Ok(())
        }
    });
    sim.host("peer0.org1.us-east", || async {
        let operations = Router::new().route(
            "/healthz",
            get(|| async { Body::from(r#"{"status":"OK"}"#) }),
        );
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 9443)).await?;
        serve(listener, operations, std::future::pending()).await?;
        Ok(())
    });
    let deployer_slot = ca.clone();
    sim.host("console.us-east", move || {
        let deployer = Arc::new(TestDeployer {
            ca: deployer_slot.clone(),
            http: HttpClient::new(SimNet),
        });
        async move {
            let console = MockConsole::new(
                console_config("us-east", 1),
                Some(deployer),
                HttpClient::new(SimNet),
                Clock::Simulated,
            );
            let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 3000)).await?;
            serve(listener, console.router(), std::future::pending()).await?;
            Ok(())
        }
    });
    sim.host("console.us-west", || async {
        let console = MockConsole::new(
            console_config("us-west", 2),
            None,
            HttpClient::new(SimNet),
            Clock::Simulated,
        );
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 3000)).await?;
        serve(listener, console.router(), std::future::pending()).await?;
        Ok(())
    });
    let listing = Arc::new(Mutex::new(String::new()));
    let out = listing.clone();
    let saved = ca.saved.clone();
    sim.client("runbook.us-east", async move {
        let east = client("http://console.us-east:3000");
        let east_key = bootstrap(&east).await;
        assert_eq!(east.settings().await?.region.as_deref(), Some("us-east"));

        // Deploy the org's CA, enroll its admin, register the org admin and a peer.
        let ca_component = east.create_ca(&create_ca_body()).await?;
        assert_eq!(ca_component.id, "org1ca");
        assert_eq!(ca_component.location.as_deref(), Some("ibm_saas"));
        let ca_client = CaClient::new(HttpClient::new(SimNet), CA_URL, Duration::from_secs(5));
        let info = ca_client.cainfo("ca").await?;
        assert_eq!(info.ca_name, "ca");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let ca_admin_key = KeyPair::generate(&mut rng);
        let ca_admin_cert = ca_client
            .enroll("ca", "admin", &Secret::new("adminpw"), &ca_admin_key, &[])
            .await?;
        let registrar = SigningIdentity {
            msp_id: "Org1MSP".into(),
            certificate: ca_admin_cert,
            key: ca_admin_key,
        };
        for (id, kind, secret) in [("org1admin", "admin", "org1adminpw"), ("peer1", "peer", "peer1pw")] {
            let request = RegistrationRequest {
                id: id.into(),
                identity_type: kind.into(),
                secret: Some(Secret::new(secret)),
                ..Default::default()
            };
            ca_client.register(&registrar, &request).await?;
        }
        let org_admin_key = KeyPair::generate(&mut rng);
        let org_admin_cert = ca_client
            .enroll("ca", "org1admin", &Secret::new("org1adminpw"), &org_admin_key, &[])
            .await?;
        assert_eq!(org_admin_cert.role(), Some(NodeOu::Admin));
        east.wallet()
            .add(Identity::new("org1admin", org_admin_cert.clone(), org_admin_key)?)?;

        // The org's MSP, then a peer enrolled with the known CA.
        let root = hadr::console::files::certificate_from_b64(&info.ca_chain)?;
        let admin_b64 = certificate_to_b64(&org_admin_cert);
        let msp = east
            .import(&ImportBody::Msp(ImportMspBody {
                display_name: "Org1".into(),
                msp_id: "Org1MSP".into(),
                root_certs: vec![certificate_to_b64(&root)],
                admins: Some(vec![admin_b64.clone()]),
                ..Default::default()
            }))
            .await?;
        let peer = east.create_peer(&create_peer_body("ca.org1.us-east", &admin_b64)).await?;
        assert_eq!(peer.grpcwp_url.as_deref(), Some("http://peer0.org1.us-east:7443"));
        let unknown = east
            .create_peer(&create_peer_body("ca.elsewhere", &admin_b64))
            .await
            .unwrap_err();
        // run() runs twice (determinism): the same snapshot both times.
        insta::allow_duplicates! { insta::assert_snapshot!(unknown.to_string(), @"400 Bad Request: The parameter 'crypto.enrollment.ca.host' was not found in the list of known URLs. Import a CA using this host & port or change the host and port in this request to a known one The parameter 'crypto.enrollment.tlsca.host' was not found in the list of known URLs. Import a CA using this host & port or change the host and port in this request to a known one"); }

        // Status probes: the CA's /cainfo and the peer's /healthz, an unknown id.
        let status = east.component_status(&[&ca_component.id, &peer.id, "ghost"]).await?;
        assert!(status[&ca_component.id].is_ok(), "{status:?}");
        assert_eq!(status[&ca_component.id].status_url.as_deref(), Some("http://ca.org1.us-east:7054/cainfo"));
        assert!(status[&peer.id].is_ok(), "{status:?}");
        assert_eq!(status["ghost"].error.as_deref(), Some("unknown component id"));

        // The CA proxy needs the console's credentials (a session on a real console) and
        // reaches the CA the console knows, and only that.
        let proxy = |path: &str, auth: Option<String>| {
            let mut request = http::Request::get(format!("http://console.us-east:3000/caproxy/{path}"));
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let request = request.body(bytes::Bytes::new()).unwrap();
            async move { HttpClient::new(SimNet).send(request, Duration::from_secs(5)).await }
        };
        let cainfo = "http://ca.org1.us-east:7054/cainfo?ca=tlsca";
        let anonymous = proxy(cainfo, None).await?;
        assert_eq!(anonymous.status(), 401);
        assert_eq!(&anonymous.body()[..], br#"{"error":"login to use this api"}"#);
        let wrong = proxy(cainfo, Some(basic(&east_key.api_key, "wrong"))).await?;
        assert_eq!(wrong.status(), 401);
        let key = Some(basic(&east_key.api_key, east_key.api_secret.expose()));
        let proxied = proxy(cainfo, key.clone()).await?;
        assert_eq!(proxied.status(), 200);
        let body: serde_json::Value = serde_json::from_slice(proxied.body())?;
        assert_eq!(body["result"]["CAName"], "tlsca");
        let refused = proxy("http://evil.example:80/cainfo", key.clone()).await?;
        assert_eq!(refused.status(), 400);
        assert_eq!(&refused.body()[..], b"unsafe url. will not send ca request");
        // A malformed %-escape is a 400 (it used to panic the handler), with or without
        // credentials, as Express refuses to decode it before any route runs.
        for auth in [None, key.clone()] {
            let malformed = proxy("http%3A%2F%2Fca.org1.us-east%3A7054/%E0%A4%A", auth).await?;
            assert_eq!(malformed.status(), 400);
            assert!(String::from_utf8_lossy(malformed.body()).contains("<pre>Bad Request</pre>"));
        }

        // Export from console 1 (ibp-console-hadr-export-meta1) ...
        let ca_file = east.export_node(&ca_component.id).await?;
        let msp_file = east.export_msp(&msp.id).await?;
        let identity_file: IdentityFile = east.export_identity("org1admin")?;
        let identity_json = serde_json::to_string(&identity_file)?;

        // ... and import into console 2 (ibp-console-hadr-import-meta23).
        let west = client("http://console.us-west:3000");
        bootstrap(&west).await;
        let imported_ca = west.import_node_file(&ca_file).await?;
        assert_eq!(imported_ca.api_url.as_deref(), Some(CA_URL));
        let imported_msp = west.import_msp_file(&msp_file).await?;
        west.import_identity(&serde_json::from_str(&identity_json)?)?;
        let roots = imported_msp.root_certs.clone().unwrap_or_default();
        assert_eq!(west.wallet().identities_for_msp(&roots).len(), 1);
        // Console 2 has no deployer: creating the redundant peer there is refused.
        let refused = west.create_peer(&create_peer_body("ca.org1.us-east", &admin_b64)).await.unwrap_err();
        assert!(refused.is_no_deployer(), "{refused}");
        // Duplicate identities fail, as in the console.
        assert!(matches!(
            west.import_identity(&identity_file),
            Err(ConsoleError::Wallet(_))
        ));

        // Edit and remove records; the node itself stays.
        let edited = west
            .edit_component(&imported_ca.id, &serde_json::json!({"display_name": "Org1 CA (us-east)", "tags": ["fabric-ca", "dev"]}))
            .await?;
        assert_eq!(edited.display_name, "Org1 CA (us-east)");
        assert_eq!(edited.tags, vec!["dev".to_string(), "fabric-ca".to_string()]);
        let not_editable = west
            .edit_component(&imported_ca.id, &serde_json::json!({"id": "x"}))
            .await
            .unwrap_err();
        assert!(matches!(not_editable, ConsoleError::BadRequest(_)));

        let mut text = String::new();
        for console in [&east, &west] {
            let components = console.list_components().await?;
            text.push_str(&serde_json::to_string(&components)?);
        }
        let deleted = west.delete_component(&imported_ca.id).await?;
        assert_eq!(deleted.message, "deleted");
        assert!(matches!(
            west.get_component(&imported_ca.id).await,
            Err(ConsoleError::NotFound(_))
        ));
        *out.lock().unwrap() = text;
        Ok(())
    });
    sim.run().unwrap();
    // The CA node saved its registrations (a restarted node keeps them).
    let state = saved
        .lock()
        .unwrap()
        .clone()
        .expect("the CA saved its state");
    assert!(state.cas["ca"].registry.contains_key("peer1"));
    assert_eq!(state.cas["ca"].registry["peer1"].enrollments, 1);
    let text = listing.lock().unwrap().clone();
    text
}

#[test]
fn the_console_procedure_runs_on_the_simulated_network_deterministically() {
    let first = run();
    assert!(first.contains("org1ca"), "{first}");
    // Compared by digest: the listings are long.
    let digest = |text: &str| hex::encode(hadr::fabric::crypto::sha256(text.as_bytes()));
    assert_eq!(digest(&first), digest(&run()), "same seeds, same consoles");
}
