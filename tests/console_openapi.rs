//! The mock console's answers validate against the real console's OpenAPI description
//! (research/console/ibp_openapi_v3.yaml, read from beside the project, skipped with a
//! message when absent).
//!
//! Method: for each request, the schema is the one the description names for that path,
//! method and status (`responses.<status>.content.application/json.schema`); OpenAPI 3.0
//! schemas are JSON Schema with a few extra keywords (`example`, `x-*`) that validators
//! ignore, so the component schemas are validated as they are, with `$ref`s resolved
//! inside the description. The description's response schemas list properties and their
//! types but rarely forbid extra ones, so this checks field types and shapes, not
//! completeness; a status the description does not list for a route fails the test.
//!
//! The real console departs from its own description in places: its recorded answer to a
//! CA import (real_responses.json `importCa`) has `msp.tlsca` without the `root_certs`
//! the description requires. Where the mock answers like the recorded real console, the
//! mock may have exactly the schema errors the recorded answer has, and no others.

use axum::body::Body;
use hadr::console::files::certificate_to_b64;
use hadr::console::mock::{Clock, ConsoleConfig, Limits, MockConsole};
use hadr::fabric::crypto::CaKeys;
use hadr::net::http::HttpClient;
use hadr::net::RealNet;
use hadr::secret::Secret;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::path::PathBuf;
use tower::ServiceExt;

fn description() -> Option<Value> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = [manifest.join("../shared"), manifest.join("../../shared")]
        .into_iter()
        .map(|shared| shared.join("research/console/ibp_openapi_v3.yaml"))
        .find(|file| file.is_file());
    let Some(file) = file else {
        eprintln!("skipped: research/console/ibp_openapi_v3.yaml is not beside the project");
        return None;
    };
    let text = std::fs::read_to_string(file).unwrap();
    Some(serde_saphyr::from_str(&text).expect("the OpenAPI description parses"))
}

/// A validator for the schema the description gives this route, method and status.
fn validator(doc: &Value, route: &str, verb: &str, status: u16) -> jsonschema::Validator {
    let responses = &doc["paths"][route][verb]["responses"];
    let schema = &responses[status.to_string()]["content"]["application/json"]["schema"];
    assert!(
        !schema.is_null(),
        "the description has no {status} answer for {verb} {route}"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    jsonschema::validator_for(&root).expect("the schema compiles")
}

struct Mock {
    console: std::sync::Arc<MockConsole>,
}

impl Mock {
    fn new() -> Mock {
        let config = ConsoleConfig {
            athena_id: "athena".into(),
            region: "us-east".into(),
            host_url: "http://console.us-east:3000".into(),
            initial_admin: "admin".into(),
            default_password: Secret::new("pw"),
            seed: 1,
            limits: Limits::ATHENA,
        };
        let console = MockConsole::new(config, None, HttpClient::new(RealNet), Clock::System);
        Mock { console }
    }

    async fn call(
        &self,
        verb: &str,
        uri: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = http::Request::builder().method(verb).uri(uri);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let request = request
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = self.console.router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        // 401 answers are the text "Unauthorized", which the description types as a string.
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn schema_errors(doc: &Value, route: &str, verb: &str, status: u16, body: &Value) -> Vec<String> {
    validator(doc, route, verb, status)
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn check(doc: &Value, route: &str, verb: &str, answer: &(u16, Value)) {
    check_except(doc, route, verb, answer, &[]);
}

/// `check`, allowing the errors that start with one of `known` (each a documented
/// departure of the real console from its description).
fn check_except(doc: &Value, route: &str, verb: &str, answer: &(u16, Value), known: &[&str]) {
    let (status, body) = answer;
    let mut errors = schema_errors(doc, route, verb, *status, body);
    errors.retain(|e| !known.iter().any(|k| e.starts_with(k)));
    assert!(
        errors.is_empty(),
        "{verb} {route} {status}: {errors:?}\n{body}"
    );
}

/// The recorded answer of a real console to the same request, if any.
fn recorded(name: &str) -> Option<Value> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = [manifest.join("../shared"), manifest.join("../../shared")]
        .into_iter()
        .map(|shared| shared.join("research/console/real_responses.json"))
        .find(|file| file.is_file())?;
    let all: Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    all["apis"]
        .as_array()?
        .iter()
        .find(|api| api["name"] == name)
        .map(|api| api["response"]["result"].clone())
}

/// The mock's schema errors must all be errors the real console's recorded answer has.
fn check_like_real(
    doc: &Value,
    route: &str,
    verb: &str,
    answer: &(u16, Value),
    recorded_name: &str,
) {
    let (status, body) = answer;
    let mock = schema_errors(doc, route, verb, *status, body);
    let real = recorded(recorded_name)
        .map(|real| schema_errors(doc, route, verb, *status, &real))
        .unwrap_or_default();
    let unexplained: Vec<&String> = mock.iter().filter(|e| !real.contains(e)).collect();
    assert!(
        unexplained.is_empty(),
        "{verb} {route} {status}: {unexplained:?} (the real console's answer has {real:?})\n{body}"
    );
}

#[tokio::test]
async fn the_mock_consoles_answers_match_the_real_openapi_description() {
    let Some(doc) = description() else { return };
    let mock = Mock::new();
    let v3 = "/ak/api/v3";

    // 401 before any key exists.
    let unauthorized = mock
        .call("GET", &format!("{v3}/components"), None, None)
        .await;
    assert_eq!(unauthorized.0, 401);
    check(&doc, "/ak/api/v3/components", "get", &unauthorized);

    let created = mock
        .call(
            "POST",
            &format!("{v3}/permissions/keys"),
            Some(&basic("admin", "pw")),
            Some(json!({"roles": ["reader", "writer", "manager"], "description": "test"})),
        )
        .await;
    assert_eq!(created.0, 200);
    check(&doc, "/ak/api/v3/permissions/keys", "post", &created);
    let key = basic(
        created.1["api_key"].as_str().unwrap(),
        created.1["api_secret"].as_str().unwrap(),
    );
    let auth = Some(key.as_str());

    let empty = mock
        .call("GET", &format!("{v3}/components"), auth, None)
        .await;
    // 200 even when empty: deployer_lib.js turns get_all_components' 222 into a success.
    assert_eq!(empty, (200, json!({"components": []})));
    check(&doc, "/ak/api/v3/components", "get", &empty);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let ca = CaKeys::new_root("ca.org1", "Org1", &mut rng).unwrap();
    let cert = certificate_to_b64(&ca.certificate);
    let imports = [
        (
            "/ak/api/v3/components/fabric-ca",
            json!({"display_name": "Org1 CA", "api_url": "http://ca.org1:7054",
                "operations_url": "http://ca.org1:9443",
                "msp": {"ca": {"name": "ca"}, "tlsca": {"name": "tlsca"}, "component": {"tls_cert": cert}}}),
            "importCa",
        ),
        (
            "/ak/api/v3/components/fabric-peer",
            json!({"display_name": "Peer", "msp_id": "Org1MSP", "grpcwp_url": "http://peer0.org1:7443",
                "api_url": "grpcs://peer0.org1:7051", "operations_url": "http://peer0.org1:9443",
                "msp": {"tlsca": {"root_certs": [cert]}, "component": {"tls_cert": cert}}}),
            "importPeer",
        ),
        (
            "/ak/api/v3/components/fabric-orderer",
            json!({"display_name": "Orderer", "msp_id": "OrdererMSP", "cluster_name": "Raft",
                "grpcwp_url": "http://orderer0:7443", "api_url": "grpcs://orderer0:7050",
                "msp": {"tlsca": {"root_certs": [cert]}, "component": {"tls_cert": cert}}}),
            "importOrderer",
        ),
        (
            "/ak/api/v3/components/msp",
            json!({"display_name": "Org1", "msp_id": "Org1MSP", "root_certs": [cert], "admins": [cert]}),
            "importMsp",
        ),
    ];
    for (route, body, recorded_name) in imports {
        let imported = mock.call("POST", route, auth, Some(body)).await;
        assert_eq!(imported.0, 200, "{imported:?}");
        check_like_real(&doc, route, "post", &imported, recorded_name);
    }
    let invalid = mock
        .call(
            "POST",
            "/ak/api/v3/components/fabric-ca",
            auth,
            Some(json!({"msp": {}})),
        )
        .await;
    assert_eq!(invalid.0, 400);
    check(&doc, "/ak/api/v3/components/fabric-ca", "post", &invalid);

    let listed = mock
        .call("GET", &format!("{v3}/components"), auth, None)
        .await;
    assert_eq!(listed.0, 200);
    // GenericComponentResponse's `type` omits "msp", yet the real console lists MSPs
    // with the rest (component_lib.js get_all_components asks for MSP, CA, ORDERER, PEER).
    check_except(
        &doc,
        "/ak/api/v3/components",
        "get",
        &listed,
        &["\"msp\" is not one of"],
    );
    let one = mock
        .call("GET", &format!("{v3}/components/org1ca"), auth, None)
        .await;
    check(&doc, "/ak/api/v3/components/{id}", "get", &one);
    let missing = mock
        .call("GET", &format!("{v3}/components/nope"), auth, None)
        .await;
    assert_eq!(missing.0, 404);
    check(&doc, "/ak/api/v3/components/{id}", "get", &missing);
    let msps = mock
        .call("GET", &format!("{v3}/components/msps/Org1MSP"), None, None)
        .await;
    check(&doc, "/ak/api/v3/components/msps/{msp_id}", "get", &msps);
    let settings = mock
        .call("GET", &format!("{v3}/settings"), None, None)
        .await;
    check(&doc, "/ak/api/v3/settings", "get", &settings);
    let deleted = mock
        .call("DELETE", &format!("{v3}/components/org1ca"), auth, None)
        .await;
    check(&doc, "/ak/api/v3/components/{id}", "delete", &deleted);

    // A reader's token is refused with the Forbidden shape.
    let reader = mock
        .call(
            "POST",
            &format!("{v3}/permissions/keys"),
            auth,
            Some(json!({"roles": ["reader"]})),
        )
        .await;
    let reader_key = basic(
        reader.1["api_key"].as_str().unwrap(),
        reader.1["api_secret"].as_str().unwrap(),
    );
    let token = mock
        .call(
            "POST",
            &format!("{v3}/identity/token"),
            Some(&reader_key),
            Some(json!({})),
        )
        .await;
    let bearer = format!("Bearer {}", token.1["access_token"].as_str().unwrap());
    let forbidden = mock
        .call(
            "POST",
            "/ak/api/v3/components/msp",
            Some(&bearer),
            Some(json!({"display_name": "x", "msp_id": "x", "root_certs": [cert]})),
        )
        .await;
    assert_eq!(forbidden.0, 403);
    check(&doc, "/ak/api/v3/components/msp", "post", &forbidden);
}

#[test]
fn the_validation_is_live_a_wrong_answer_fails_it() {
    let Some(doc) = description() else { return };
    let validator = validator(&doc, "/ak/api/v3/components/msp", "post", 200);
    let good = json!({"id": "org1", "msp_id": "Org1MSP", "root_certs": ["LS0t"], "timestamp": 1});
    assert!(validator.is_valid(&good));
    let bad =
        json!({"id": "org1", "msp_id": "Org1MSP", "root_certs": "LS0t", "timestamp": "yesterday"});
    assert!(!validator.is_valid(&bad));
}
