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
        // When `Authorization` is the CA's, the console's credential rides in
        // X-Console-Authorization; the CA's is forwarded (cainfo ignores it).
        let both = HttpClient::new(SimNet)
            .send(
                http::Request::get(format!("http://console.us-east:3000/caproxy/{cainfo}"))
                    .header("x-console-authorization", key.clone().unwrap())
                    .header("authorization", basic("enroll-id", "enroll-secret"))
                    .body(bytes::Bytes::new())
                    .unwrap(),
                Duration::from_secs(5),
            )
            .await?;
        assert_eq!(both.status(), 200);
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

// ---------------------------------------------------------------------------------------
// The API's answers to bad input and hostile clients, through the router (no network).

mod api {
    use super::*;
    use serde_json::{json, Value};

    /// An import-only console with athena's limits, on the host's clock.
    pub fn console(limits: Limits) -> Arc<MockConsole> {
        let config = ConsoleConfig {
            limits,
            ..console_config("us-east", 9)
        };
        MockConsole::new(config, None, HttpClient::new(SimNet), Clock::System)
    }

    pub struct Answer {
        pub status: u16,
        pub headers: http::HeaderMap,
        pub text: String,
    }

    impl Answer {
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.text)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
        }
    }

    /// One request with a JSON body (when given) and headers.
    pub async fn call(
        console: &Arc<MockConsole>,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let mut request = http::Request::builder().method(method).uri(uri);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_string()))
            .unwrap();
        let response = console.router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 26)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A manager key's Basic header, made with the default password.
    pub async fn manager(console: &Arc<MockConsole>) -> String {
        key(console, &["manager", "writer", "reader"]).await
    }

    pub async fn key(console: &Arc<MockConsole>, roles: &[&str]) -> String {
        let body = json!({"roles": roles, "description": "test"}).to_string();
        let admin = basic("admin", PASSWORD);
        let made = call(
            console,
            "POST",
            "/ak/api/v3/permissions/keys",
            &[("authorization", &admin)],
            Some(&body),
        )
        .await;
        assert_eq!(made.status, 200, "{}", made.text);
        let made = made.json();
        basic(
            made["api_key"].as_str().unwrap(),
            made["api_secret"].as_str().unwrap(),
        )
    }

    pub fn cert() -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let ca = hadr::fabric::crypto::CaKeys::new_root("ca.org1", "Org1", &mut rng).unwrap();
        certificate_to_b64(&ca.certificate)
    }

    pub fn ca_body(name: &str, url: &str) -> Value {
        let cert = cert();
        json!({"display_name": name, "api_url": url,
            "msp": {"ca": {"name": "ca"}, "tlsca": {"name": "tlsca"}, "component": {"tls_cert": cert}}})
    }

    pub fn peer_body(name: &str) -> Value {
        let cert = cert();
        json!({"display_name": name, "msp_id": "Org1MSP", "grpcwp_url": "http://peer0.org1:7443",
            "api_url": "grpcs://peer0.org1:7051", "operations_url": "http://peer0.org1:9443",
            "msp": {"tlsca": {"root_certs": [cert]}, "component": {"tls_cert": cert}}})
    }

    pub async fn import(
        console: &Arc<MockConsole>,
        auth: &str,
        route: &str,
        body: &Value,
    ) -> Value {
        let imported = call(
            console,
            "POST",
            &format!("/ak/api/v3/components/{route}"),
            &[("authorization", auth)],
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(imported.status, 200, "{}", imported.text);
        imported.json()
    }
}

use api::{call, console};
use serde_json::json;

#[tokio::test]
async fn edits_are_validated_against_the_stored_records_type_after_the_id_is_found() {
    let console = console(Limits::ATHENA);
    let auth = api::manager(&console).await;
    let h = [("authorization", auth.as_str())];
    let ca = api::import(
        &console,
        &auth,
        "fabric-ca",
        &api::ca_body("Org1 CA", "http://ca.org1:7054"),
    )
    .await;
    let peer = api::import(&console, &auth, "fabric-peer", &api::peer_body("Peer 0")).await;
    let ca_id = ca["id"].as_str().unwrap();
    let peer_id = peer["id"].as_str().unwrap();

    // An unknown id is 404 first, whatever the body.
    let missing = call(
        &console,
        "PUT",
        "/ak/api/v3/components/nope",
        &h,
        Some(r#"{"display_name": 5}"#),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json(),
        json!({"msg": "no components by this id exist", "reason": "missing", "statusCode": 404})
    );

    // A CA edited through the peer route is validated as a CA: `msp` is unknown to it,
    // `type` and `id` can never be edited, a null name and a bad URL are wrong types.
    let refused = call(
        &console,
        "PUT",
        &format!("/ak/api/v3/components/fabric-peer/{ca_id}"),
        &h,
        Some(r#"{"display_name": null, "api_url": "ftp://ca", "id": "x", "type": "fabric-peer", "msp": {}, "cluster_type": "k8s"}"#),
    )
    .await;
    assert_eq!(refused.status, 400);
    insta::assert_json_snapshot!(refused.json(), @r#"
    {
      "msgs": [
        "Expected parameter 'display_name' to be of type: 'string', but instead was: 'object'.",
        "The field 'api_url' must be a url including the protocol, hostname/ip and port.",
        "Parameter 'id' is either never editable or not editable via this api.",
        "Parameter 'type' is either never editable or not editable via this api.",
        "Parameter 'cluster_type' is an unknown key for object.",
        "Parameter 'msp' is an unknown key for object."
      ],
      "statusCode": 400
    }
    "#);
    // The record is untouched.
    let unchanged = call(
        &console,
        "GET",
        &format!("/ak/api/v3/components/{ca_id}"),
        &h,
        None,
    )
    .await
    .json();
    assert_eq!(unchanged["display_name"], "Org1 CA");
    assert_eq!(unchanged["api_url"], "http://ca.org1:7054");

    // A peer has no illegal keys: `id` is unknown there, `type` passes and is ignored;
    // `migrated_from` is an import field, refused on edit.
    let peer_refused = call(
        &console,
        "PUT",
        &format!("/ak/api/v3/components/{peer_id}"),
        &h,
        Some(r#"{"id": "x", "type": "fabric-ca", "migrated_from": "ibm_saas", "msp": {"component": {}}}"#),
    )
    .await;
    assert_eq!(
        peer_refused.json()["msgs"],
        json!([
            "Expected parameter 'msp.tlsca' to exist.",
            "Expected parameter 'msp.component.tls_cert' to exist.",
            "Parameter 'id' is an unknown key for object.",
            "Parameter 'migrated_from' is an unknown key for object."
        ])
    );

    // A valid edit changes what it names and keeps the rest; an empty name is ignored.
    let edited = call(
        &console,
        "PUT",
        &format!("/ak/api/v3/components/{peer_id}"),
        &h,
        Some(r#"{"display_name": "", "preferred_url": "os", "tags": ["Blue", "blue", "x y"], "operations_url": "http://peer0.org1:9444"}"#),
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let edited = edited.json();
    assert_eq!(edited["message"], "ok");
    assert_eq!(edited["display_name"], "Peer 0");
    assert_eq!(edited["preferred_url"], "os");
    assert_eq!(edited["operations_url"], "http://peer0.org1:9444");
    assert_eq!(edited["api_url"], "grpcs://peer0.org1:7051");
    assert_eq!(edited["msp"], peer["msp"]);
    assert_eq!(edited["tags"], json!(["blue", "fabric-peer", "xy"]));
    assert!(edited["edited_timestamp"].as_u64().is_some());

    // A route naming no component type is an unknown route.
    let bogus = call(
        &console,
        "PUT",
        &format!("/ak/api/v3/components/fabric-tea/{peer_id}"),
        &h,
        Some("{}"),
    )
    .await;
    assert_eq!(bogus.status, 404);
    assert_eq!(
        bogus.json(),
        json!({"statusCode": 404, "msg": "route not found"})
    );
}

#[tokio::test]
async fn imports_take_the_declared_migration_fields_and_refuse_conflicts() {
    let console = console(Limits::ATHENA);
    let auth = api::manager(&console).await;
    let mut body = api::ca_body("Org1 CA", "http://ca.org1:7054");
    body["migrated_from"] = json!("ibm_saas");
    body["cluster_type"] = json!("iks");
    body["console_type"] = json!("software");
    body["id"] = json!("org1-ca");
    let ca = api::import(&console, &auth, "fabric-ca", &body).await;
    assert_eq!(ca["id"], "org1-ca");
    assert_eq!(ca["migrated_from"], "ibm_saas");
    assert_eq!(ca["cluster_type"], "iks");
    assert_eq!(ca["console_type"], "software");
    // The same id again: 409 (athena gives up after four attempts).
    let h = [("authorization", auth.as_str())];
    let again = call(
        &console,
        "POST",
        "/ak/api/v3/components/fabric-ca",
        &h,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json()["msg"],
        "unable to onboard component b/c of id conflict. use a different component id."
    );
    // Lengths as the description bounds them.
    let mut long = api::peer_body("Peer");
    long["cluster_type"] = json!("x".repeat(33));
    long["location"] = json!("ibm_saas");
    let refused = call(
        &console,
        "POST",
        "/ak/api/v3/components/fabric-peer",
        &h,
        Some(&long.to_string()),
    )
    .await;
    assert_eq!(
        refused.json()["msgs"],
        json!([
            "Parameter 'location' cannot be any of these values: 'ibm_saas'.",
            "Expected parameter 'cluster_type' is too long. Must be <= 32 characters."
        ])
    );
    // An MSP keeps keys its schema does not know, and answers them back.
    let cert = api::cert();
    let msp = api::import(
        &console,
        &auth,
        "msp",
        &json!({"display_name": "Org1", "msp_id": "Org1MSP",
        "root_certs": [cert], "host_url": "http://console.elsewhere:3000"}),
    )
    .await;
    assert_eq!(msp["host_url"], "http://console.elsewhere:3000");
}

#[tokio::test]
async fn bulk_imports_check_only_the_type_as_athena_does() {
    let console = console(Limits::ATHENA);
    let auth = api::manager(&console).await;
    let h = [("authorization", auth.as_str())];
    let empty = call(
        &console,
        "POST",
        "/ak/api/v3/components/bulk",
        &h,
        Some("[]"),
    )
    .await;
    assert_eq!(
        (empty.status, empty.json()),
        (200, json!({"errors": [], "successes": []}))
    );
    // No type, an unknown type, a non-object: reported; a peer with missing fields is
    // stored anyway (bulk import skips the schema).
    let body = json!([{"display_name": "x"}, {"type": "fabric-tea"}, 5, {"type": "peer", "display_name": "Half a peer"}]);
    let answer = call(
        &console,
        "POST",
        "/ak/api/v3/components/bulk",
        &h,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(answer.status, 207);
    let answer = answer.json();
    let error = |t: &str| json!({"statusCode": 500, "msg": [format!("invalid component type or missing component data in body. type: {t}")]});
    assert_eq!(
        answer["errors"],
        json!([error("null"), error("null"), error("undefined")])
    );
    assert_eq!(answer["successes"][0]["id"], "halfapeer");
    assert_eq!(answer["successes"][0]["type"], "fabric-peer");
}

#[tokio::test]
async fn the_component_cap_refuses_imports_as_athena_does() {
    let console = console(Limits {
        max_components: 1,
        ..Limits::ATHENA
    });
    let auth = api::manager(&console).await;
    let h = [("authorization", auth.as_str())];
    for name in ["a", "b"] {
        api::import(
            &console,
            &auth,
            "fabric-ca",
            &api::ca_body(name, "http://ca.org1:7054"),
        )
        .await;
    }
    // More than `max_components` stored: the next is refused.
    let body = api::ca_body("c", "http://ca.org1:7054").to_string();
    let refused = call(
        &console,
        "POST",
        "/ak/api/v3/components/fabric-ca",
        &h,
        Some(&body),
    )
    .await;
    assert_eq!(refused.status, 500);
    assert_eq!(
        refused.json(),
        json!({"statusCode": 500, "msg": ["total component limit reached. delete a component to make space for this one."]})
    );
}

#[tokio::test]
async fn every_kubernetes_route_answers_503_without_a_deployer_before_authentication() {
    let console = console(Limits::UNTHROTTLED);
    let no_deployer = json!({"statusCode": 503, "error": "api is not available",
        "msg": "this api is not available to Console's without the \"deployer\" counterpart"});
    let routes = [
        ("POST", "/kubernetes/components"),
        ("POST", "/kubernetes/components/fabric-peer"),
        ("PUT", "/kubernetes/components/org1ca"),
        ("PUT", "/kubernetes/components/fabric-ca/org1ca"),
        ("DELETE", "/kubernetes/components/purge"),
        ("DELETE", "/kubernetes/components/org1ca"),
        ("DELETE", "/kubernetes/components/type/fabric-ca/org1ca"),
        ("DELETE", "/kubernetes/components/tags/x"),
        ("PUT", "/kubernetes/components/tags/x"),
        ("GET", "/kubernetes/components"),
        ("PUT", "/kubernetes/components/org1ca/config"),
        (
            "POST",
            "/kubernetes/components/raft_clusters/c1/fabric-orderer",
        ),
        ("PUT", "/kubernetes/components/org1ca/certs"),
        ("GET", "/kubernetes/fabric/versions"),
        ("POST", "/kubernetes/components/fabric-peer/peer0/actions"),
        ("GET", "/kubernetes/version"),
        ("GET", "/kubernetes/type"),
    ];
    for (method, route) in routes {
        let answer = call(
            &console,
            method,
            &format!("/ak/api/v3{route}"),
            &[],
            Some("{}"),
        )
        .await;
        assert_eq!(
            (answer.status, answer.json()),
            (503, no_deployer.clone()),
            "{method} {route}"
        );
    }
    // v3 has no GET of one Kubernetes component: an unknown route.
    let answer = call(
        &console,
        "GET",
        "/ak/api/v3/kubernetes/components/org1ca",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (answer.status, answer.json()),
        (404, json!({"statusCode": 404, "msg": "route not found"}))
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_athenas_404_without_credentials() {
    let console = console(Limits::UNTHROTTLED);
    let route_not_found = json!({"statusCode": 404, "msg": "route not found"});
    for (method, uri) in [
        ("GET", "/ak/api/v3/nothing-here"),
        ("PATCH", "/ak/api/v3/components/x"),
        ("POST", "/ak/api/v3/healthcheck"),
        ("DELETE", "/ak/api/v3/permissions/keys"),
        ("GET", "/api/v3/other"),
        ("POST", "/ak/api/v3/components/fabric-tea"),
    ] {
        let answer = call(&console, method, uri, &[], None).await;
        assert_eq!(
            (answer.status, answer.json()),
            (404, route_not_found.clone()),
            "{method} {uri}"
        );
    }
    // Listing by an unknown type is refused after authentication (the handler's `next()`).
    let by_type = "/ak/api/v3/components/types/msp-external";
    let anonymous = call(&console, "GET", by_type, &[], None).await;
    assert_eq!(anonymous.status, 401);
    let auth = api::manager(&console).await;
    let known = call(&console, "GET", by_type, &[("authorization", &auth)], None).await;
    assert_eq!((known.status, known.json()), (404, route_not_found.clone()));
    let outside = call(&console, "POST", "/somewhere", &[], None).await;
    assert_eq!(
        (outside.status, outside.text.as_str()),
        (404, "404 Route Not Found :(")
    );
    // CORS preflights under /ak/ are answered 204, as `cors()` does.
    let preflight = call(
        &console,
        "OPTIONS",
        "/ak/api/v3/components",
        &[("access-control-request-headers", "authorization")],
        None,
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.headers["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers["access-control-allow-headers"],
        "authorization"
    );
    // A malformed %-escape in a route parameter: Express's 400 page.
    let malformed = call(&console, "GET", "/ak/api/v3/components/%E0%A4%A", &[], None).await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.text.contains("<pre>Bad Request</pre>"),
        "{}",
        malformed.text
    );
}

#[tokio::test]
async fn components_by_tag_are_listed_and_removed() {
    let console = console(Limits::UNTHROTTLED);
    let auth = api::manager(&console).await;
    let h = [("authorization", auth.as_str())];
    let none = call(&console, "GET", "/ak/api/v3/components/tags/blue", &h, None).await;
    assert_eq!(
        (none.status, none.json()),
        (
            222,
            json!({"components": [], "msg": "no components exist", "reason": "missing"})
        )
    );
    let mut body = api::ca_body("Blue CA", "http://ca.org1:7054");
    body["tags"] = json!(["Blue"]);
    api::import(&console, &auth, "fabric-ca", &body).await;
    api::import(&console, &auth, "fabric-peer", &api::peer_body("Peer")).await;
    let other = call(
        &console,
        "GET",
        "/ak/api/v3/components/tags/green",
        &h,
        None,
    )
    .await;
    assert_eq!(
        (other.status, other.json()["msg"].clone()),
        (222, json!("no components by tag exist"))
    );
    let blue = call(&console, "GET", "/ak/api/v3/components/tags/BLUE", &h, None).await;
    assert_eq!(blue.status, 200);
    assert_eq!(blue.json()["components"][0]["display_name"], "Blue CA");
    let unsupported = call(
        &console,
        "GET",
        "/ak/api/v3/components/tags/blue?ca_attrs=included",
        &h,
        None,
    )
    .await;
    assert_eq!(
        unsupported.json(),
        json!({"statusCode": 400, "msgs": ["The query parameter 'ca_attrs' is not supported by this route."]})
    );
    let bad_query = call(
        &console,
        "GET",
        "/ak/api/v3/components?cache=later",
        &h,
        None,
    )
    .await;
    assert_eq!(
        bad_query.json()["msgs"],
        json!(["Expected parameter 'cache' to be one of these values: 'skip', 'use'."])
    );
    let removed = call(
        &console,
        "DELETE",
        "/ak/api/v3/components/tags/blue",
        &h,
        None,
    )
    .await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.json()["removed"][0]["display_name"], "Blue CA");
    let again = call(
        &console,
        "DELETE",
        "/ak/api/v3/components/tags/blue",
        &h,
        None,
    )
    .await;
    assert_eq!(
        (again.status, again.json()),
        (
            404,
            json!({"statusCode": 404, "msg": "no components by tag exist", "reason": "missing", "components": []})
        )
    );
    assert_eq!(console.components().len(), 1);
}

#[tokio::test]
async fn keys_and_tokens_refuse_empty_roles_and_out_of_range_lifetimes() {
    let console = console(Limits::UNTHROTTLED);
    let admin = basic("admin", PASSWORD);
    let h = [("authorization", admin.as_str())];
    let empty = call(
        &console,
        "POST",
        "/ak/api/v3/permissions/keys",
        &h,
        Some(r#"{"roles": []}"#),
    )
    .await;
    assert_eq!(
        (empty.status, empty.json()),
        (
            400,
            json!({"statusCode": 400, "msg": ["must have at least 1 role for key."]})
        )
    );
    let invalid = call(
        &console,
        "POST",
        "/ak/api/v3/permissions/keys",
        &h,
        Some(r#"{"roles": ["admin"]}"#),
    )
    .await;
    assert_eq!(
        invalid.json()["msg"],
        json!(["invalid roles for api key. valid roles: [\"manager\",\"writer\",\"reader\"]"])
    );

    // A reader's token is a reader's: asking for more is refused.
    let reader = api::key(&console, &["reader"]).await;
    let r = [("authorization", reader.as_str())];
    let escalated = call(
        &console,
        "POST",
        "/ak/api/v3/identity/token",
        &r,
        Some(r#"{"roles": ["manager", "writer"]}"#),
    )
    .await;
    assert_eq!(escalated.status, 400, "{}", escalated.text);
    assert!(
        escalated.text.contains("cannot have the role"),
        "{}",
        escalated.text
    );
    let own = call(
        &console,
        "POST",
        "/ak/api/v3/identity/token",
        &r,
        Some(r#"{"roles": ["reader"]}"#),
    )
    .await;
    assert_eq!(
        (own.status, own.json()["roles"].clone()),
        (200, json!(["reader"]))
    );

    let manager = api::manager(&console).await;
    let m = [("authorization", manager.as_str())];
    for (body, message) in [
        (r#"{"expiration_secs": 99999999999999999999}"#, "Parameter 'expiration_secs' is out of range. Must be <= 1296000."),
        (r#"{"expiration_secs": 5}"#, "Parameter 'expiration_secs' is out of range. Must be >= 10."),
        (r#"{"expiration_secs": "soon"}"#, "Expected parameter 'expiration_secs' to be of type: 'number', but instead was: 'string'."),
        (r#"{"roles": ["Manager"]}"#, "Expected parameter 'roles[0]' to be one of these values: 'reader', 'writer', 'manager'."),
    ] {
        let refused = call(&console, "POST", "/ak/api/v3/identity/token", &m, Some(body)).await;
        assert_eq!((refused.status, refused.json()["msgs"][0].clone()), (400, json!(message)), "{body}");
    }
    let token = call(
        &console,
        "POST",
        "/ak/api/v3/identity/token",
        &m,
        Some(r#"{"expiration_secs": "1296000"}"#),
    )
    .await
    .json();
    assert_eq!(token["expires_in"], 1_296_000);
    let access = token["access_token"].as_str().unwrap();
    let about = call(
        &console,
        "GET",
        &format!("/ak/api/v3/identity/token/{access}"),
        &m,
        None,
    )
    .await
    .json();
    assert_eq!(about["time_left"], "15.0 days");
    let bearer = format!("Bearer {access}");
    let listed = call(
        &console,
        "GET",
        "/ak/api/v3/components",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(listed.status, 200);
    let deleted = call(
        &console,
        "DELETE",
        &format!("/ak/api/v3/identity/token/{access}"),
        &m,
        None,
    )
    .await;
    assert_eq!(deleted.json()["message"], "ok");
    let gone = call(
        &console,
        "GET",
        "/ak/api/v3/components",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(gone.status, 401);

    // Keys are listed (never their secrets) and deleted.
    let keys = call(&console, "GET", "/ak/api/v3/permissions/keys", &m, None).await;
    assert_eq!(keys.status, 200);
    let keys = keys.json();
    assert_eq!(keys["keys"][0]["description"], "test");
    assert!(!keys.to_string().contains("secret"), "{keys}");
    let id = keys["keys"][0]["api_key"].as_str().unwrap().to_string();
    let deleted = call(
        &console,
        "DELETE",
        &format!("/ak/api/v3/permissions/keys/{id}"),
        &m,
        None,
    )
    .await;
    assert_eq!(deleted.json(), json!({"message": "ok", "deleted": id}));
    let unknown = call(
        &console,
        "DELETE",
        "/ak/api/v3/permissions/keys/knope",
        &m,
        None,
    )
    .await;
    assert_eq!(unknown.status, 401, "the deleted key was the caller's own");
}

#[tokio::test]
async fn health_is_for_managers_only() {
    let console = console(Limits::UNTHROTTLED);
    let manager = api::manager(&console).await;
    let reader = api::key(&console, &["reader"]).await;
    let health = call(
        &console,
        "GET",
        "/ak/api/v3/health",
        &[("authorization", &manager)],
        None,
    )
    .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["OPTOOLS"]["instance_id"], "console-us-east");
    let refused = call(
        &console,
        "GET",
        "/ak/api/v3/health",
        &[("authorization", &reader)],
        None,
    )
    .await;
    assert_eq!(
        (refused.status, refused.text.as_str()),
        (401, "Unauthorized")
    );
}

#[tokio::test]
async fn bad_bodies_get_athenas_parser_answers_before_any_route() {
    let console = console(Limits::UNTHROTTLED);
    let auth = api::manager(&console).await;
    let h = [("authorization", auth.as_str())];
    let invalid = call(
        &console,
        "POST",
        "/ak/api/v3/components/msp",
        &h,
        Some(r#"{"a":}"#),
    )
    .await;
    assert_eq!(
        (invalid.status, invalid.json()["msg"].clone()),
        (400, json!("invalid json"))
    );
    let cut = call(
        &console,
        "POST",
        "/ak/api/v3/components/msp",
        &h,
        Some(r#"{"a":"#),
    )
    .await;
    assert_eq!(
        cut.json(),
        json!({"statusCode": 400, "msg": "input error", "details": "SyntaxError: Unexpected end of JSON input"})
    );
    let scalar = call(
        &console,
        "POST",
        "/ak/api/v3/components/msp",
        &h,
        Some("123"),
    )
    .await;
    assert_eq!(scalar.json()["msg"], "invalid json");
    // Even unauthenticated: the parser runs first.
    let anonymous = call(
        &console,
        "POST",
        "/ak/api/v3/components/msp",
        &[],
        Some("{"),
    )
    .await;
    assert_eq!(anonymous.status, 400);
    // Without a JSON content type the body is not read, as body-parser leaves it `{}`.
    let request = http::Request::post("/ak/api/v3/components/msp")
        .header("authorization", &auth)
        .body(Body::from(r#"{"display_name": "x"}"#))
        .unwrap();
    let response = console.router().oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        answer["msgs"][1],
        "Expected parameter 'display_name' to exist."
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_athenas_body_and_headers() {
    // Without the lockout, which these 401s would trigger first.
    let console = console(Limits {
        lockout_limit: 0,
        ..Limits::ATHENA
    });
    // 25 non-GET /ak/ requests a minute per client: the 26th is refused.
    let mut last = None;
    for _ in 0..26 {
        last = Some(
            call(
                &console,
                "POST",
                "/ak/api/v3/components",
                &[("user-agent", "flood")],
                Some("{}"),
            )
            .await,
        );
    }
    let refused = last.unwrap();
    assert_eq!(refused.status, 429);
    assert_eq!(refused.headers["retry-after"], "60");
    assert_eq!(refused.headers["x-ratelimit-limit"], "25");
    assert_eq!(refused.headers["x-ratelimit-remaining"], "0");
    insta::assert_json_snapshot!(refused.json(), @r#"
    {
      "error": "[AK Requests] exceeded the low volume rate limit - too many requests, try again later",
      "rate_limit": "25/min",
      "tips": [
        "monitor the header \"X-RateLimit-Remaining\" for your current rate",
        "check the header \"X-RateLimit-Reset\" for when to resume"
      ]
    }
    "#);
    // GETs have their own, higher limit; another User-Agent is another client.
    let get = call(
        &console,
        "GET",
        "/ak/api/v3/healthcheck",
        &[("user-agent", "flood")],
        None,
    )
    .await;
    assert_eq!(
        (
            get.status,
            get.headers["x-ratelimit-limit"].to_str().unwrap()
        ),
        (200, "100")
    );
    let other = call(
        &console,
        "POST",
        "/ak/api/v3/components",
        &[("user-agent", "other")],
        Some("{}"),
    )
    .await;
    assert_eq!(other.status, 401);
    // Unthrottled consoles (the simulation's) set no rate limit at all.
    let free = api::console(Limits {
        lockout_limit: 0,
        ..Limits::UNTHROTTLED
    });
    for _ in 0..30 {
        let answer = call(&free, "POST", "/ak/api/v3/components", &[], Some("{}")).await;
        assert_eq!(answer.status, 401);
        assert!(!answer.headers.contains_key("x-ratelimit-limit"));
    }
}

#[tokio::test]
async fn repeated_authentication_failures_lock_a_client_out_with_402() {
    let console = console(Limits::UNTHROTTLED);
    let auth = api::manager(&console).await;
    let wrong = basic("kwrong", "nope");
    for _ in 0..5 {
        let failed = call(
            &console,
            "GET",
            "/ak/api/v3/components",
            &[("authorization", &wrong), ("user-agent", "guesser")],
            None,
        )
        .await;
        assert_eq!(failed.status, 401);
    }
    // Locked out: even the right key and the healthcheck get 402.
    for (uri, credential) in [
        ("/ak/api/v3/components", auth.as_str()),
        ("/ak/api/v3/healthcheck", ""),
    ] {
        let locked = call(
            &console,
            "GET",
            uri,
            &[("authorization", credential), ("user-agent", "guesser")],
            None,
        )
        .await;
        assert_eq!(locked.status, 402, "{uri}");
    }
    let locked = call(
        &console,
        "GET",
        "/ak/api/v3/components",
        &[("user-agent", "guesser")],
        None,
    )
    .await;
    insta::assert_json_snapshot!(locked.json(), @r#"
    {
      "error": "too many auth failures. client is locked out. try again in 2.0 mins",
      "failures": 7
    }
    "#);
    // Another client (User-Agent) is not locked out; a success clears its own count.
    let fine = call(
        &console,
        "GET",
        "/ak/api/v3/components",
        &[("authorization", &auth), ("user-agent", "other")],
        None,
    )
    .await;
    assert_eq!(fine.status, 200);
    for _ in 0..4 {
        call(
            &console,
            "GET",
            "/ak/api/v3/components",
            &[("authorization", &wrong), ("user-agent", "careful")],
            None,
        )
        .await;
    }
    call(
        &console,
        "GET",
        "/ak/api/v3/components",
        &[("authorization", &auth), ("user-agent", "careful")],
        None,
    )
    .await;
    let after_reset = call(
        &console,
        "GET",
        "/ak/api/v3/components",
        &[("authorization", &wrong), ("user-agent", "careful")],
        None,
    )
    .await;
    assert_eq!(after_reset.status, 401);
    // Disabled with 0.
    let open = api::console(Limits {
        lockout_limit: 0,
        ..Limits::UNTHROTTLED
    });
    for _ in 0..10 {
        let failed = call(
            &open,
            "GET",
            "/ak/api/v3/components",
            &[("authorization", &wrong)],
            None,
        )
        .await;
        assert_eq!(failed.status, 401);
    }
}

#[test]
fn status_probes_of_many_unreachable_nodes_answer_within_the_client_timeout() {
    // 40 peers whose operations endpoint accepts connections and never answers: each
    // probe gives up after athena's 3 s, 32 at a time, so the answer takes about 6 s,
    // not 120 s, and the client's 10 s timeout judges the console, not the harness.
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(300))
        .build();
    sim.host("silent.org1", || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 9443)).await?;
        let mut held = Vec::new();
        loop {
            let (stream, _) = listener.accept().await?;
            held.push(stream);
        }
    });
    sim.host("console.us-east", || async {
        let console = MockConsole::new(
            console_config("us-east", 1),
            None,
            HttpClient::new(SimNet),
            Clock::Simulated,
        );
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", 3000)).await?;
        serve(listener, console.router(), std::future::pending()).await?;
        Ok(())
    });
    sim.client("runbook", async {
        let east = ConsoleClient::new(
            HttpClient::new(SimNet),
            "http://console.us-east:3000",
            Credential::None,
            ClientOptions {
                max_attempts: 1,
                ..ClientOptions::default()
            },
        );
        bootstrap(&east).await;
        let mut ids = Vec::new();
        for i in 0..40 {
            let mut body = api::peer_body(&format!("Peer {i}"));
            body["type"] = serde_json::json!("fabric-peer");
            body["operations_url"] = serde_json::json!("http://silent.org1:9443");
            let body: ImportBody = serde_json::from_value(body)?;
            ids.push(east.import(&body).await?.id);
        }
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let started = tokio::time::Instant::now();
        let statuses = east.component_status(&ids).await?;
        let took = started.elapsed();
        assert_eq!(statuses.len(), 40);
        assert!(statuses.values().all(|s| !s.is_ok()), "{statuses:?}");
        assert!(
            took >= Duration::from_secs(6),
            "two rounds of 3 s probes: {took:?}"
        );
        assert!(
            took < Duration::from_secs(8),
            "probed in parallel: {took:?}"
        );
        Ok(())
    });
    sim.run().unwrap();
}

#[tokio::test]
async fn stored_records_are_bounded_in_memory() {
    // MSPs keep unknown keys, so each import may carry up to 25 MB; the mock keeps at most
    // 64 MiB of records and then answers as athena's component cap does.
    let console = console(Limits::UNTHROTTLED);
    let auth = api::manager(&console).await;
    let h = [("authorization", auth.as_str())];
    let cert = api::cert();
    let notes = "n".repeat(20 << 20);
    let mut answers = Vec::new();
    for i in 0..4 {
        let body = json!({"display_name": format!("Org{i}"), "msp_id": format!("Org{i}MSP"),
            "root_certs": [cert], "notes": notes});
        answers.push(
            call(
                &console,
                "POST",
                "/ak/api/v3/components/msp",
                &h,
                Some(&body.to_string()),
            )
            .await,
        );
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![200, 200, 200, 500]);
    assert_eq!(
        answers[3].json()["msg"][0],
        "total component limit reached. delete a component to make space for this one."
    );
    // Deleting a record makes room again.
    let deleted = call(&console, "DELETE", "/ak/api/v3/components/org0", &h, None).await;
    assert_eq!(deleted.status, 200);
    let body =
        json!({"display_name": "Org3", "msp_id": "Org3MSP", "root_certs": [cert], "notes": notes});
    let again = call(
        &console,
        "POST",
        "/ak/api/v3/components/msp",
        &h,
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(again.status, 200);
}
