//! `hadr console serve` through the library: a standalone import-only mock console on a
//! real 127.0.0.1 socket, driven by the same console client the runbook uses.

use bytes::Bytes;
use hadr::console::api::{CreateCaBody, CreateTokenBody, ImportBody, ImportMspBody, Role};
use hadr::console::client::{ClientOptions, ConsoleClient, ConsoleError, Credential};
use hadr::console::files::certificate_to_b64;
use hadr::console::{serve, ServeOptions};
use hadr::fabric::crypto::CaKeys;
use hadr::net::http::HttpClient;
use hadr::net::RealNet;
use hadr::secret::Secret;
use rand::SeedableRng;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn client(url: &str, credential: Credential) -> ConsoleClient {
    let options = ClientOptions {
        timeout: Duration::from_secs(5),
        max_attempts: 2,
        backoff_base: Duration::from_millis(10),
        ..ClientOptions::default()
    };
    ConsoleClient::new(HttpClient::new(RealNet), url, credential, options)
}

fn msp_body() -> ImportBody {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let ca = CaKeys::new_root("ca.org1", "Org1", &mut rng).unwrap();
    ImportBody::Msp(ImportMspBody {
        display_name: "Org1 MSP".into(),
        msp_id: "Org1MSP".into(),
        root_certs: vec![certificate_to_b64(&ca.certificate)],
        admins: Some(vec![]),
        ..Default::default()
    })
}

#[tokio::test]
async fn serve_answers_as_the_issue_demands_and_never_logs_secrets() {
    let log = Captured::default();
    let mut options = ServeOptions::new("127.0.0.1:0");
    options.default_password = Secret::new("default-pw-Zq81");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        options,
        async {
            let _ = stopped.await;
        },
        log.clone(),
    ));
    // The startup line names the address.
    let mut url = None;
    for _ in 0..200 {
        if let Some(line) = log.text().lines().next() {
            let start = line.find("http://").expect("startup line has the URL");
            let end = line[start..].find(';').unwrap() + start;
            url = Some(line[start..end].to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let url = url.expect("the console started");

    // Healthcheck: 200 "ok", no credentials needed.
    let anonymous = client(&url, Credential::None);
    assert_eq!(anonymous.healthcheck().await.unwrap().message, "ok");

    // An import without credentials: 401, athena's text body and Basic challenge.
    assert!(matches!(
        anonymous.import(&msp_body()).await,
        Err(ConsoleError::Unauthorized)
    ));
    let raw = HttpClient::new(RealNet)
        .send(
            http::Request::post(format!("{url}/ak/api/v3/components/msp"))
                .body(Bytes::from_static(b"{}"))
                .unwrap(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    assert_eq!(&raw.body()[..], b"Unauthorized");
    assert!(raw.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic realm=IBP"));

    // The default password works on permissions/keys only.
    let admin = client(&url, Credential::None);
    let password = Secret::new("default-pw-Zq81");
    let wrong = admin
        .bootstrap_api_key("admin", &Secret::new("nope"), &[Role::Manager], "x")
        .await;
    assert!(matches!(wrong, Err(ConsoleError::Unauthorized)));
    admin.set_credential(Credential::Password {
        user: "admin".into(),
        password: password.clone(),
    });
    assert!(matches!(
        admin.list_components().await,
        Err(ConsoleError::Unauthorized)
    ));
    let manager = admin
        .bootstrap_api_key(
            "admin",
            &password,
            &[Role::Reader, Role::Writer, Role::Manager],
            "runbook",
        )
        .await
        .unwrap();
    assert_eq!(
        manager.roles,
        vec![Role::Reader, Role::Writer, Role::Manager]
    );

    // An MSP import with that key, then listed.
    let imported = admin.import(&msp_body()).await.unwrap();
    assert_eq!(imported.id, "org1msp");
    let listed = admin.list_components().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].msp_id.as_deref(), Some("Org1MSP"));

    // A reader key cannot import: athena answers 401 to an API key lacking the role, and
    // 403 (its `forbidden` body) to a reader's Bearer token.
    let reader_key = admin
        .create_api_key(&[Role::Reader], "read only")
        .await
        .unwrap();
    let reader = client(
        &url,
        Credential::ApiKey {
            key: reader_key.api_key.clone(),
            secret: reader_key.api_secret.clone(),
        },
    );
    assert_eq!(reader.list_components().await.unwrap().len(), 1);
    assert!(matches!(
        reader.import(&msp_body()).await,
        Err(ConsoleError::Unauthorized)
    ));
    let token = reader
        .create_token(&CreateTokenBody::default())
        .await
        .unwrap();
    assert_eq!(token.roles, vec![Role::Reader]);
    reader.set_credential(Credential::Bearer(token.access_token.clone()));
    let forbidden = reader.import(&msp_body()).await.unwrap_err();
    let ConsoleError::Forbidden(body) = &forbidden else {
        panic!("expected 403, got {forbidden}");
    };
    assert_eq!(body.attempted_actions, vec!["blockchain.components.import"]);
    insta::assert_snapshot!(forbidden.to_string(), @"403 Forbidden: username/api key is not authorized for these action(s)");

    // The Kubernetes routes: 503 in import-only mode, not retried.
    let create: CreateCaBody = serde_json::from_value(serde_json::json!({
        "display_name": "Org1 CA",
        "config_override": {"ca": {"registry": {"maxenrollments": -1,
            "identities": [{"name": "admin", "pass": "adminpw", "type": "client"}]}}}
    }))
    .unwrap();
    let unavailable = admin.create_ca(&create).await.unwrap_err();
    assert!(unavailable.is_no_deployer(), "{unavailable}");
    insta::assert_snapshot!(unavailable.to_string(), @r#"503 Service Unavailable: this api is not available to Console's without the "deployer" counterpart"#);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    // Nothing secret in the output: API secrets, the token, the default password.
    let output = log.text();
    assert!(
        output.contains("POST /ak/api/v3/permissions/keys 200"),
        "{output}"
    );
    assert!(output.contains("POST /ak/api/v3/kubernetes/components/fabric-ca 503"));
    for secret in [
        manager.api_secret.expose(),
        reader_key.api_secret.expose(),
        token.access_token.expose(),
        "default-pw-Zq81",
    ] {
        assert!(!output.contains(secret), "a secret leaked into:\n{output}");
    }
    // The 503 came after one request: every line is one request.
    assert_eq!(output.matches("kubernetes/components/fabric-ca").count(), 1);
}
