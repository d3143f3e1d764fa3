//! The console client against wiremock: answers recorded from a real console
//! (research/console/real_responses.json, fabric-operations-console v2.5.2-7) and fixtures
//! written from the real OpenAPI description (ibp_openapi_v3.yaml: Unauthorized,
//! Forbidden, the 503 of a console without deployer), plus retries and timeouts. The very
//! client code that drives hadr's mock console in tests/console_mock.rs.

use hadr::console::api::*;
use hadr::console::client::{ClientOptions, ConsoleClient, ConsoleError, Credential};
use hadr::net::http::{HttpClient, HttpError};
use hadr::net::RealNet;
use hadr::secret::Secret;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// research/console/ beside the project (../shared from the main checkout, ../../shared
/// from a worktree under /work/wt).
fn research_dir() -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [manifest.join("../shared"), manifest.join("../../shared")]
        .into_iter()
        .map(|shared| shared.join("research/console"))
        .find(|dir| dir.join("real_responses.json").is_file())
}

fn recorded() -> Option<Vec<Value>> {
    let Some(dir) = research_dir() else {
        eprintln!("skipped: research/console/real_responses.json is not beside the project");
        return None;
    };
    let text = std::fs::read_to_string(dir.join("real_responses.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    Some(all["apis"].as_array().unwrap().clone())
}

fn answer(apis: &[Value], name: &str) -> (u16, Value) {
    let api = apis
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} is recorded"));
    let response = &api["response"];
    (
        response["status"].as_u64().unwrap() as u16,
        response["result"].clone(),
    )
}

fn client(server: &MockServer, options: ClientOptions) -> ConsoleClient {
    ConsoleClient::new(
        HttpClient::new(RealNet),
        &server.uri(),
        Credential::ApiKey {
            key: "key".into(),
            secret: Secret::new("secret"),
        },
        options,
    )
}

fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        seed: 1,
    }
}

async fn mount(server: &MockServer, verb: &str, route: &str, status: u16, body: &Value) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_client_reads_a_real_consoles_recorded_answers() {
    let Some(apis) = recorded() else { return };
    let server = MockServer::start().await;
    let console = client(&server, fast());

    let (status, body) = answer(&apis, "importCa");
    mount(
        &server,
        "POST",
        "/ak/api/v3/components/fabric-ca",
        status,
        &body,
    )
    .await;
    let ca = console
        .import(&ImportBody::Ca(ImportCaBody {
            display_name: "My Imported CA".into(),
            api_url: "https://n3a3ec3-myca.ibp.us-south.containers.appdomain.cloud:7054".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert_eq!(ca.id, "myimportedca");
    assert_eq!(ca.component_type, ComponentType::Ca);
    assert_eq!(
        ca.msp.unwrap().tlsca.unwrap().name.as_deref(),
        Some("tlsca")
    );

    let (status, body) = answer(&apis, "importPeer");
    mount(
        &server,
        "POST",
        "/ak/api/v3/components/fabric-peer",
        status,
        &body,
    )
    .await;
    let peer = console
        .import(&ImportBody::Peer(ImportPeerBody::default()))
        .await
        .unwrap();
    assert_eq!(peer.msp_id.as_deref(), Some("PeerOrg1"));
    assert!(peer.grpcwp_url.unwrap().ends_with(":8084"));

    let (status, body) = answer(&apis, "importOrderer");
    mount(
        &server,
        "POST",
        "/ak/api/v3/components/fabric-orderer",
        status,
        &body,
    )
    .await;
    let orderer = console
        .import(&ImportBody::Orderer(ImportOrdererBody::default()))
        .await
        .unwrap();
    assert_eq!(orderer.cluster_id.as_deref(), Some("abcde"));
    assert_eq!(orderer.system_channel_id.as_deref(), Some("testchainid"));

    let (status, body) = answer(&apis, "importMsp");
    mount(&server, "POST", "/ak/api/v3/components/msp", status, &body).await;
    let msp = console
        .import(&ImportBody::Msp(ImportMspBody::default()))
        .await
        .unwrap();
    assert_eq!(msp.msp_id.as_deref(), Some("org1"));
    // The recorded certificates are base64 PEM, as the client's files expect.
    let root = hadr::console::files::certificate_from_b64(&msp.root_certs.unwrap()[0]).unwrap();
    assert!(!root.common_name.is_empty());

    let (status, body) = answer(&apis, "createPeer");
    mount(
        &server,
        "POST",
        "/ak/api/v3/kubernetes/components/fabric-peer",
        status,
        &body,
    )
    .await;
    let created = serde_json::from_value::<CreatePeerBody>(json!({
        "display_name": "My Peer", "msp_id": "msp1", "crypto": {}
    }))
    .unwrap();
    let created = console.create_peer(&created).await.unwrap();
    assert_eq!(created.location.as_deref(), Some("ibm_saas"));
    assert_eq!(created.node_ou, Some(NodeOuSetting { enabled: true }));

    let (status, body) = answer(&apis, "createOrderer");
    mount(
        &server,
        "POST",
        "/ak/api/v3/kubernetes/components/fabric-orderer",
        status,
        &body,
    )
    .await;
    let raft = serde_json::from_value::<CreateOrdererBody>(json!({
        "cluster_name": "My one Node Raft", "display_name": "ordering service node",
        "msp_id": "msp1", "crypto": []
    }))
    .unwrap();
    let nodes = console.create_orderer(&raft).await.unwrap();
    assert_eq!(nodes[0].id, "orderingservicenode_1");

    let (status, body) = answer(&apis, "getMspCertificate");
    mount(
        &server,
        "GET",
        "/ak/api/v3/components/msps/org1",
        status,
        &body,
    )
    .await;
    let certificates = console.msp_certificates("org1").await.unwrap();
    assert_eq!(certificates.msps[0].tls_root_certs.len(), 1);

    let (status, body) = answer(&apis, "editCa");
    mount(
        &server,
        "PUT",
        "/ak/api/v3/components/myimportedca",
        status,
        &body,
    )
    .await;
    let edited = console
        .edit_component("myimportedca", &json!({"display_name": "My Other CA"}))
        .await
        .unwrap();
    assert_eq!(edited.message.as_deref(), Some("ok"));
    assert_eq!(
        edited.tags,
        vec!["blue_team", "dev", "fabric-ca", "ibm_saas"]
    );

    let (status, body) = answer(&apis, "deleteComponent-ca");
    mount(
        &server,
        "DELETE",
        "/ak/api/v3/components/myca",
        status,
        &body,
    )
    .await;
    let deleted = console.delete_component("myca").await.unwrap();
    assert_eq!(deleted.component_type, Some(ComponentType::Ca));

    let (status, body) = answer(&apis, "getComponent-fail");
    mount(&server, "GET", "/ak/api/v3/components/fake", status, &body).await;
    let missing = console.get_component("fake").await.unwrap_err();
    insta::assert_snapshot!(missing.to_string(), @"404 Not Found: no components by this id exist");

    let (status, body) = answer(&apis, "importCa-fail");
    let failing = MockServer::start().await;
    mount(
        &failing,
        "POST",
        "/ak/api/v3/components/fabric-ca",
        status,
        &body,
    )
    .await;
    let refused = client(&failing, fast())
        .import(&ImportBody::Ca(ImportCaBody::default()))
        .await
        .unwrap_err();
    insta::assert_snapshot!(refused.to_string(), @"400 Bad Request: Expected parameter 'msp.component' to exist. Expected parameter 'msp.tlsca' to exist. Expected parameter 'msp.ca' to exist.");
    // A 400 is never retried.
    assert_eq!(failing.received_requests().await.unwrap().len(), 1);

    let (status, body) = answer(&apis, "getSettings");
    mount(&server, "GET", "/ak/api/v3/settings", status, &body).await;
    let settings = console.settings().await.unwrap();
    assert_eq!(settings.auth_scheme, "iam");
}

#[tokio::test]
async fn unauthorized_forbidden_and_no_deployer_answers_are_not_retried() {
    let server = MockServer::start().await;
    // Unauthorized (OpenAPI: a string) with athena's Basic challenge.
    Mock::given(method("GET"))
        .and(path("/ak/api/v3/components"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", "Basic realm=IBPhttps://console")
                .set_body_string("Unauthorized"),
        )
        .mount(&server)
        .await;
    // Forbidden (OpenAPI schema Forbidden, athena middleware.js `forbidden`).
    mount(
        &server,
        "POST",
        "/ak/api/v3/components/msp",
        403,
        &json!({"authorized": false,
            "error": "username/api key is not authorized for these action(s)",
            "attempted_actions": ["blockchain.components.import"],
            "iid": "abc123", "tx_id": "abcde"}),
    )
    .await;
    // 503 without a deployer (middleware.js isDeployerConfigured).
    mount(
        &server,
        "POST",
        "/ak/api/v3/kubernetes/components/fabric-ca",
        503,
        &json!({"statusCode": 503, "error": "api is not available",
            "msg": "this api is not available to Console's without the \"deployer\" counterpart"}),
    )
    .await;
    let console = client(&server, fast());
    assert!(matches!(
        console.list_components().await,
        Err(ConsoleError::Unauthorized)
    ));
    let forbidden = console
        .import(&ImportBody::Msp(ImportMspBody::default()))
        .await
        .unwrap_err();
    assert!(
        matches!(&forbidden, ConsoleError::Forbidden(f) if f.attempted_actions == ["blockchain.components.import"])
    );
    let create: CreateCaBody = serde_json::from_value(json!({
        "display_name": "CA", "config_override": {"ca": {"registry": {"identities": []}}}
    }))
    .unwrap();
    let unavailable = console.create_ca(&create).await.unwrap_err();
    assert!(unavailable.is_no_deployer(), "{unavailable}");
    // One request each: none of these is retried.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ak/api/v3/healthcheck"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ak/api/v3/healthcheck"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    mount(
        &server,
        "GET",
        "/ak/api/v3/healthcheck",
        200,
        &json!({"message": "ok", "id": "athena"}),
    )
    .await;
    let console = client(&server, fast());
    assert_eq!(console.healthcheck().await.unwrap().message, "ok");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // Out of attempts: the last answer is the error.
    let failing = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ak/api/v3/healthcheck"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&failing)
        .await;
    let error = client(&failing, fast()).healthcheck().await.unwrap_err();
    insta::assert_snapshot!(error.to_string(), @"HTTP 502: bad gateway");
    assert_eq!(failing.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_slow_console_times_out_and_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ak/api/v3/healthcheck"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message": "ok"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let options = ClientOptions {
        timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..fast()
    };
    let error = client(&server, options).healthcheck().await.unwrap_err();
    assert!(
        matches!(
            error,
            ConsoleError::Transport {
                attempts: 2,
                source: HttpError::Timeout { .. }
            }
        ),
        "{error}"
    );
}
