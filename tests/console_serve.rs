//! `hadr console serve` through the library: a standalone import-only mock console on a
//! real 127.0.0.1 socket, driven by the same console client the runbook uses.

use bytes::Bytes;
use hadr::console::api::{CreateCaBody, CreateTokenBody, ImportBody, ImportMspBody, Role};
use hadr::console::client::{ClientOptions, ConsoleClient, ConsoleError, Credential};
use hadr::console::files::certificate_to_b64;
use hadr::console::{serve, ServeOptions};
use hadr::fabric::crypto::CaKeys;
use hadr::net::http::HttpClient;
use hadr::net::server::ServerOptions;
use hadr::net::RealNet;
use hadr::secret::Secret;
use rand::SeedableRng;
use std::io::Write;
use std::io::{BufRead, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    let pair = format!("{user}:{pass}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
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
    // The startup lines name the address, say what the mock is, and never print a
    // default password that is not the built-in one.
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
    let banner = log.text();
    assert!(
        banner.contains("plain HTTP, state in memory only"),
        "{banner}"
    );
    assert!(
        banner.contains("with the configured default password"),
        "{banner}"
    );
    assert!(banner.contains("implemented: components"), "{banner}");

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
    // The token's own route carries it in the path: the log shows the route, not the token.
    let about = HttpClient::new(RealNet)
        .send(
            http::Request::get(format!(
                "{url}/ak/api/v3/identity/token/{}",
                token.access_token.expose()
            ))
            .header(
                "authorization",
                basic(&reader_key.api_key, reader_key.api_secret.expose()),
            )
            .body(Bytes::new())
            .unwrap(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(about.status(), 200);
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
    assert!(
        output.contains("GET /ak/api/v3/identity/token/{id} 200"),
        "{output}"
    );
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

/// A console served by the library until the returned sender is dropped or used.
async fn start(options: ServeOptions) -> (String, Captured, tokio::sync::oneshot::Sender<()>) {
    let log = Captured::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(
        options,
        async {
            let _ = stopped.await;
        },
        log.clone(),
    ));
    for _ in 0..500 {
        if let Some(line) = log.text().lines().next() {
            let start = line.find("http://").unwrap();
            let end = line[start..].find(';').unwrap() + start;
            return (line[start..end].to_string(), log, stop);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the console did not start: {}", log.text());
}

/// Reads until the server closes the connection; how long that took.
async fn closed_within(stream: &mut tokio::net::TcpStream, bound: Duration) -> Duration {
    use tokio::io::AsyncReadExt;
    let started = Instant::now();
    let mut buf = vec![0u8; 4096];
    loop {
        match tokio::time::timeout(bound, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the connection was still open after {bound:?}"),
        }
    }
}

#[tokio::test]
async fn idle_slow_and_stalled_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let mut options = ServeOptions::new("127.0.0.1:0");
    options.server = ServerOptions {
        header_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(500),
    };
    let (url, _log, stop) = start(options).await;
    let address = url.trim_start_matches("http://").to_string();
    let bound = Duration::from_secs(5);

    // Connected, silent.
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    closed_within(&mut silent, bound).await;

    // A request head that never ends (slowloris).
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /ak/api/v3/healthcheck HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    closed_within(&mut slow, bound).await;

    // Idle after an answer on a keep-alive connection.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /ak/api/v3/healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    closed_within(&mut idle, bound).await;

    // A body that stops halfway.
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    stalled
        .write_all(b"POST /ak/api/v3/components/msp HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"display")
        .await
        .unwrap();
    closed_within(&mut stalled, bound).await;

    // The server still serves.
    let healthy = client(&url, Credential::None).healthcheck().await.unwrap();
    assert_eq!(healthy.message, "ok");
    stop.send(()).unwrap();
}

#[tokio::test]
async fn bodies_over_25_mb_get_athenas_400() {
    let (url, _log, stop) = start(ServeOptions::new("127.0.0.1:0")).await;
    let http = HttpClient::new(RealNet);
    let too_large = serde_json::json!({"statusCode": 400, "msg": "input error",
        "details": "PayloadTooLargeError: request entity too large"});
    // 25 × 1024 × 1024 bytes pass the parser (then authentication refuses them, as in
    // athena); one more does not.
    for (size, expected) in [
        (25 * 1024 * 1024, None),
        (25 * 1024 * 1024 + 1, Some(&too_large)),
    ] {
        let mut body = vec![b' '; size];
        body[0] = b'[';
        body[size - 1] = b']';
        let request = http::Request::post(format!("{url}/ak/api/v3/components/msp"))
            .header("content-type", "application/json")
            .body(Bytes::from(body))
            .unwrap();
        let answer = http.send(request, Duration::from_secs(30)).await.unwrap();
        match expected {
            Some(expected) => {
                assert_eq!(answer.status(), 400);
                let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
                assert_eq!(&json, expected);
            }
            None => assert_eq!(
                (answer.status().as_u16(), &answer.body()[..]),
                (401, &b"Unauthorized"[..])
            ),
        }
    }
    stop.send(()).unwrap();
}

/// A `hadr console serve` process, ended (by its id) when dropped, even by a failing test.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Served {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// `hadr console serve` as a process, after `shell_prefix` (e.g. a `ulimit`).
fn spawn_cli(args: &[&str], shell_prefix: &str) -> Served {
    let hadr = env!("CARGO_BIN_EXE_hadr");
    let command = format!(
        "{shell_prefix} exec \"$0\" console serve {}",
        args.join(" ")
    );
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .arg(hadr)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map(Served)
        .unwrap()
}

/// The banner's first line, read byte by byte so nothing after it is consumed.
fn first_line(child: &mut Served) -> String {
    let out = child.stdout.as_mut().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while out.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

fn url_of(banner: &str) -> String {
    let start = banner.find("http://").expect(banner);
    let end = banner[start..].find(';').unwrap() + start;
    banner[start..end].to_string()
}

#[tokio::test]
async fn out_of_file_descriptors_the_server_keeps_serving() {
    let mut child = spawn_cli(
        &["--listen", "127.0.0.1:0", "--lockout-limit", "0"],
        "ulimit -n 48 &&",
    );
    let banner = first_line(&mut child);
    let url = url_of(&banner);
    let address = url.trim_start_matches("http://").to_string();
    // Read the rest of the log in the background.
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push(line);
        }
    });
    // More idle connections than the server has descriptors.
    let mut idle = Vec::new();
    for _ in 0..80 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A real client is still served: idle connections make room for it.
    let started = Instant::now();
    let answer = client(&url, Credential::None).healthcheck().await.unwrap();
    assert_eq!(answer.message, "ok");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(child.try_wait().unwrap().is_none(), "the server exited");
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = lines.lock().unwrap().join("\n");
        if log.contains("accepting connections failed") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        log.contains("accepting connections failed (Too many open files"),
        "{log}"
    );
    // Reported once per burst, not once per failure.
    assert_eq!(
        log.matches("accepting connections failed").count(),
        1,
        "{log}"
    );
    drop(idle);
    drop(child);
}

#[tokio::test]
async fn a_stdout_nobody_reads_never_stalls_the_server() {
    let mut child = spawn_cli(
        &[
            "--listen",
            "127.0.0.1:0",
            "--max-req-per-min-ak",
            "0",
            "--lockout-limit",
            "0",
        ],
        "",
    );
    let url = url_of(&first_line(&mut child));
    let address = url.trim_start_matches("http://").to_string();
    // 20,000 requests on one keep-alive connection, far past the pipe and the log queue.
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let started = Instant::now();
    for i in 0..20_000 {
        let request = http::Request::get("/ak/api/v3/healthcheck")
            .header("host", &address)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), sender.send_request(request))
            .await
            .unwrap_or_else(|_| panic!("request {i} stalled"))
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    // Once someone reads, the log says what it lost.
    let stdout = child.stdout.take().unwrap();
    let (found, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("log line(s) dropped") {
                let _ = found.send(line);
                return;
            }
        }
    });
    let request = http::Request::get("/ak/api/v3/healthcheck")
        .header("host", &address)
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    sender.send_request(request).await.unwrap();
    let notice = seen
        .recv_timeout(Duration::from_secs(10))
        .expect("a drop notice");
    assert!(notice.starts_with("hadr: "), "{notice}");
    drop(child);
}

#[test]
fn listen_takes_a_host_name_and_refuses_what_is_not_host_port() {
    let mut child = spawn_cli(&["--listen", "localhost:0"], "");
    let banner = first_line(&mut child);
    assert!(banner.contains("listening on http://"), "{banner}");
    drop(child);

    let refused = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(["console", "serve", "--listen", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("is not HOST:PORT"), "{err}");

    let help = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(["console", "serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for part in [
        "default password is 'password'",
        "Plain HTTP; all state is in memory",
        "Implemented: components",
        "--max-req-per-min-ak",
        "--lockout-limit",
    ] {
        assert!(help.contains(part), "{part} is not in:\n{help}");
    }
}
