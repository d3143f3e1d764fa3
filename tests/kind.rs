//! The `kind` and `kubernetes` substrates as far as they run without a cluster: every
//! generated file of scenarios/multi-region-ha.yaml snapshot-tested, the committed
//! kind-config/ equal to what hadr generates, the dry-run folders of both substrates, the
//! exit codes and messages when tools are missing, and the kube-rs calls (apply, wait,
//! errors, cleanup) against a mock API server built with tower-test, as kube-rs's own
//! mock_tests.rs does. Then `#[ignore = "needs kind"]` end-to-end tests for a machine with
//! kind, Docker and the images (README, "kind and Kubernetes").

mod common;

use common::{assert_exit, hadr};
use hadr::substrate::cluster::deploy::{DeployError, Target};
use hadr::substrate::cluster::{self, plan, ChaosTool, ConsoleChoice, Flavor, Options};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const SCENARIO: &str = "scenarios/multi-region-ha.yaml";

fn scenario() -> hadr::scenario::Scenario {
    hadr::scenario::load(Path::new(SCENARIO)).expect("the example loads")
}

fn plan_of(options: &Options) -> plan::Plan {
    let scenario = scenario();
    let clusters = cluster::clusters(&scenario, options).expect("the example fits on clusters");
    plan::build(&scenario, &clusters).expect("a plan")
}

fn kubernetes_options() -> Options {
    Options {
        flavor: Flavor::Kubernetes,
        console: ConsoleChoice::Real,
        chaos: None,
        contexts: vec!["east".into(), "west".into(), "central".into()],
        domains: vec![
            "east.fabric.example.com".into(),
            "west.fabric.example.com".into(),
            "central.fabric.example.com".into(),
        ],
    }
}

/// Every file of a plan as its own snapshot, named by variant and path.
fn snapshot_every_file(variant: &str, plan: &plan::Plan) {
    for file in &plan.files {
        let name = format!("{variant}__{}", file.path.replace('/', "__"));
        insta::assert_snapshot!(name, &file.contents);
    }
}

#[test]
fn every_file_of_the_kind_plan_with_mock_consoles() {
    snapshot_every_file("kind_mock", &plan_of(&Options::kind(ConsoleChoice::Mock)));
}

#[test]
fn every_file_of_the_kind_plan_with_real_consoles_and_chaos_mesh() {
    let mut options = Options::kind(ConsoleChoice::Real);
    options.chaos = Some(ChaosTool::ChaosMesh);
    snapshot_every_file("kind_real", &plan_of(&options));
}

#[test]
fn every_file_of_the_kubernetes_plan() {
    snapshot_every_file("kubernetes", &plan_of(&kubernetes_options()));
}

#[test]
fn every_manifest_parses_back_and_carries_the_run_label() {
    for plan in [
        plan_of(&Options::kind(ConsoleChoice::Mock)),
        plan_of(&kubernetes_options()),
    ] {
        for file in plan.files.iter().filter(|f| !f.docs.is_empty()) {
            let parsed: Vec<Value> = serde_saphyr::from_str_multiple(&file.contents).expect("YAML");
            assert_eq!(
                parsed, file.docs,
                "{}: the YAML is what hadr applies",
                file.path
            );
            for doc in &file.docs {
                // kube-system/coredns belongs to the cluster, not to the run.
                if doc["metadata"]["namespace"] == "kube-system" {
                    continue;
                }
                assert_eq!(
                    doc["metadata"]["labels"]["hadr/run"], "multi-region-ha-s1",
                    "{}: {}",
                    file.path, doc["kind"]
                );
            }
        }
    }
}

#[test]
fn the_committed_kind_configs_are_what_hadr_generates() {
    let scenario = scenario();
    let clusters = cluster::clusters(&scenario, &Options::kind(ConsoleChoice::Mock)).unwrap();
    let mut expected: Vec<String> = Vec::new();
    for region in &clusters.regions {
        let name = hadr::substrate::kind::config::file_name(region);
        let committed = std::fs::read_to_string(Path::new("kind-config").join(&name))
            .unwrap_or_else(|e| panic!("kind-config/{name}: {e}; regenerate with `hadr kind config --scenario {SCENARIO}`"));
        assert_eq!(
            committed,
            hadr::substrate::kind::config::render(&clusters, region),
            "kind-config/{name} is stale: regenerate with `hadr kind config --scenario {SCENARIO}`"
        );
        expected.push(name);
    }
    let mut present: Vec<String> = std::fs::read_dir("kind-config")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    present.sort();
    expected.sort();
    assert_eq!(
        present, expected,
        "kind-config/ holds exactly one config per region"
    );
}

/// Relative paths of every file under `dir`, sorted.
fn listing(dir: &Path) -> String {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out.join("\n")
}

#[test]
fn dry_run_on_kind_writes_the_plan_folder_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // No kind, no docker, no kubectl: a dry run needs none of them.
    let empty = tempfile::tempdir().unwrap();
    let result = hadr_with_path(
        &[
            "run",
            SCENARIO,
            "--substrate",
            "kind",
            "--dry-run",
            "--out",
            out.to_str().unwrap(),
        ],
        empty.path(),
    );
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.contains("nothing was applied"),
        "{}",
        result.stdout
    );
    insta::assert_snapshot!("dry_run_kind_listing", listing(&out));
    let start = std::fs::read_to_string(out.join("plan/29-fault-1-region_outage-us-west-start.sh"))
        .unwrap();
    assert!(
        start.ends_with("docker stop --time 0 hadr-us-west-control-plane\n"),
        "{start}"
    );
}

#[test]
fn dry_run_on_kubernetes_writes_the_plan_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = hadr(&[
        "run",
        SCENARIO,
        "--substrate",
        "kubernetes",
        "--contexts",
        "east,west,central",
        "--dry-run",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    insta::assert_snapshot!("dry_run_kubernetes_listing", listing(&out));
}

#[test]
fn kubernetes_needs_as_many_contexts_as_regions_exit_2() {
    let result = hadr(&[
        "run",
        SCENARIO,
        "--substrate",
        "kubernetes",
        "--contexts",
        "east,west",
        "--dry-run",
        "--out",
        "target/unused",
    ]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    insta::assert_snapshot!("kubernetes_two_contexts", result.stderr);
    assert!(!Path::new("target/unused").exists());
}

#[test]
fn docker_faults_on_existing_clusters_are_refused_before_anything_starts_exit_3() {
    let result = hadr(&[
        "run",
        SCENARIO,
        "--substrate",
        "kubernetes",
        "--contexts",
        "a,b,c",
        "--chaos",
        "docker",
        "--dry-run",
        "--out",
        "target/unused",
    ]);
    assert_exit(&result, 3, "go through Chaos Mesh");
}

#[test]
fn an_ordering_service_spread_over_regions_is_refused_with_a_reason_exit_3() {
    let result = hadr(&[
        "run",
        "tests/fixtures/scenarios/region-loss-measured.yaml",
        "--substrate",
        "kind",
        "--dry-run",
        "--out",
        "target/unused",
    ]);
    assert_exit(&result, 3, "the ordering service spans regions");
}

#[test]
fn dry_run_is_only_for_cluster_substrates_exit_2() {
    let result = hadr(&["run", SCENARIO, "--dry-run", "--out", "target/unused"]);
    assert_exit(&result, 2, "--substrate kind or kubernetes");
}

/// Runs hadr with PATH set to `path` only.
fn hadr_with_path(args: &[&str], path: &Path) -> common::Output {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path)
        .output()
        .expect("run hadr");
    common::Output {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A directory with stand-ins for `names` that succeed at everything (docker info too).
fn fake_tools(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let path = dir.path().join(name);
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn kind_up_without_kind_or_docker_exits_3_with_install_hints() {
    let empty = tempfile::tempdir().unwrap();
    let result = hadr_with_path(&["kind", "up"], empty.path());
    assert_eq!(result.code, 3, "{}", result.stderr);
    insta::assert_snapshot!("kind_up_without_tools", result.stderr);
    // With docker and kubectl there, only kind is named.
    let tools = fake_tools(&["docker", "kubectl"]);
    let result = hadr_with_path(&["kind", "up", "--scenario", SCENARIO], tools.path());
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result
            .stderr
            .starts_with("hadr kind up: kind not found on PATH"),
        "{}",
        result.stderr
    );
    assert!(!result.stderr.contains("docker:"), "{}", result.stderr);
}

#[test]
fn kind_down_and_status_without_kind_exit_3() {
    let empty = tempfile::tempdir().unwrap();
    for command in ["down", "status"] {
        let result = hadr_with_path(&["kind", command], empty.path());
        assert_eq!(result.code, 3, "{command}: {}", result.stderr);
        assert!(
            result.stderr.contains(&format!(
                "hadr kind {command}: kind, docker not found on PATH"
            )),
            "{}",
            result.stderr
        );
    }
}

#[test]
fn running_on_kind_checks_prerequisites_first_and_never_half_runs() {
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let result = hadr_with_path(
        &[
            "run",
            SCENARIO,
            "--substrate",
            "kind",
            "--out",
            out.path().to_str().unwrap(),
        ],
        empty.path(),
    );
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("kind, docker, kubectl not found on PATH"),
        "{}",
        result.stderr
    );
    // With every tool present, hadr says plainly what is not built, and starts nothing.
    let tools = fake_tools(&["kind", "docker", "kubectl"]);
    let result = hadr_with_path(
        &[
            "run",
            SCENARIO,
            "--substrate",
            "kind",
            "--out",
            out.path().to_str().unwrap(),
        ],
        tools.path(),
    );
    assert_eq!(result.code, 3, "{}", result.stderr);
    insta::assert_snapshot!("run_on_kind_not_built", result.stderr);
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn running_on_kubernetes_without_kubectl_exits_3_before_anything() {
    let empty = tempfile::tempdir().unwrap();
    let result = hadr_with_path(
        &[
            "run",
            SCENARIO,
            "--substrate",
            "kubernetes",
            "--contexts",
            "a,b,c",
            "--out",
            "target/unused",
        ],
        empty.path(),
    );
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        result
            .stderr
            .starts_with("hadr run --substrate kubernetes: kubectl not found on PATH"),
        "{}",
        result.stderr
    );
    assert!(!Path::new("target/unused").exists());
}

#[test]
fn kind_config_writes_the_committed_files() {
    let dir = tempfile::tempdir().unwrap();
    let result = hadr(&[
        "kind",
        "config",
        "--scenario",
        SCENARIO,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    for name in [
        "hadr-us-east.yaml",
        "hadr-us-west.yaml",
        "hadr-ca-central.yaml",
    ] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(name)).unwrap(),
            std::fs::read_to_string(Path::new("kind-config").join(name)).unwrap()
        );
    }
}

// ------------------------------------------------------------------------------------------
// The kube-rs calls against a mock API server (tower-test), as kube-rs's mock_tests.rs.
// ------------------------------------------------------------------------------------------

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn mock() -> (Target, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, "default");
    (
        Target {
            client,
            context: "kind-hadr-us-east".into(),
        },
        handle,
    )
}

fn respond(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

async fn body_of(request: Request<Body>) -> Value {
    let bytes = request.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// Runs `scenario` as the API server, under a 2 s limit so a missing call fails the test.
async fn serve<F>(
    handle: Handle,
    scenario: impl FnOnce(Handle) -> F + Send + 'static,
) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move { scenario(handle).await })
}

async fn finished(server: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the mock API server's scenario ran to its end")
        .expect("the scenario's assertions held");
}

fn namespace_doc() -> Value {
    let plan = plan_of(&Options::kind(ConsoleChoice::Mock));
    plan.files
        .iter()
        .find(|f| f.path.ends_with("us-east-namespace.yaml"))
        .unwrap()
        .docs[0]
        .clone()
}

fn orderer_doc() -> Value {
    let plan = plan_of(&Options::kind(ConsoleChoice::Mock));
    plan.files
        .iter()
        .flat_map(|f| f.docs.iter())
        .find(|d| d["kind"] == "IBPOrderer")
        .unwrap()
        .clone()
}

#[tokio::test]
async fn apply_is_a_forced_server_side_apply_by_hadr() {
    let (target, handle) = mock();
    let doc = namespace_doc();
    let sent = doc.clone();
    let server = serve(handle, |mut handle| async move {
        let (request, send) = handle.next_request().await.expect("a request");
        assert_eq!(request.method(), Method::PATCH);
        let uri = request.uri().to_string();
        assert!(
            uri.starts_with("/api/v1/namespaces/hadr-multi-region-ha?"),
            "{uri}"
        );
        assert!(
            uri.contains("fieldManager=hadr") && uri.contains("force=true"),
            "{uri}"
        );
        assert_eq!(
            request.headers()["content-type"],
            "application/apply-patch+yaml"
        );
        assert_eq!(body_of(request).await, sent);
        send.send_response(respond(StatusCode::OK, &sent));
    })
    .await;
    target.apply(&doc).await.expect("applied");
    finished(server).await;
}

#[tokio::test]
async fn a_custom_resource_goes_to_its_group_and_plural_in_the_run_namespace() {
    let (target, handle) = mock();
    let doc = orderer_doc();
    let reply = doc.clone();
    let server = serve(handle, |mut handle| async move {
        let (request, send) = handle.next_request().await.expect("a request");
        let uri = request.uri().to_string();
        assert!(
            uri.starts_with(
                "/apis/ibp.com/v1beta1/namespaces/hadr-multi-region-ha/ibporderers/orderer?"
            ),
            "{uri}"
        );
        send.send_response(respond(StatusCode::OK, &reply));
    })
    .await;
    target.apply(&doc).await.expect("applied");
    finished(server).await;
}

async fn apply_refused(code: u16, reason: &str, message: &str) -> String {
    let (target, handle) = mock();
    let doc = orderer_doc();
    let refusal = status(code, reason, message);
    let server = serve(handle, move |mut handle| async move {
        let (_, send) = handle.next_request().await.expect("a request");
        send.send_response(respond(StatusCode::from_u16(code).unwrap(), &refusal));
    })
    .await;
    let error = target.apply(&doc).await.expect_err("refused");
    finished(server).await;
    assert!(matches!(error, DeployError::Api(_)), "{error:?}");
    error.to_string()
}

#[tokio::test]
async fn a_forbidden_apply_names_the_context_and_rbac() {
    let message = apply_refused(403, "Forbidden", "ibporderers.ibp.com \"orderer\" is forbidden: User \"dev\" cannot patch resource \"ibporderers\"").await;
    insta::assert_snapshot!("apply_forbidden", message);
}

#[tokio::test]
async fn an_unknown_resource_points_at_the_crds() {
    let message = apply_refused(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
    .await;
    assert!(message.contains("applying IBPOrderer hadr-multi-region-ha/orderer in context `kind-hadr-us-east`: NotFound (404)"), "{message}");
    assert!(
        message.contains("fabric-operator's CRDs installed"),
        "{message}"
    );
}

#[tokio::test]
async fn a_conflict_says_what_to_do() {
    let message = apply_refused(
        409,
        "Conflict",
        "Apply failed with 1 conflict: conflict with \"kubectl\"",
    )
    .await;
    assert!(message.contains("Conflict (409)"), "{message}");
    assert!(
        message.contains("rerun, or delete the run's resources first"),
        "{message}"
    );
}

fn ibporderer_with(status_type: &str, resource_version: &str) -> Value {
    json!({
        "apiVersion": "ibp.com/v1beta1",
        "kind": "IBPOrderer",
        "metadata": {"name": "orderer", "namespace": "hadr-multi-region-ha", "resourceVersion": resource_version},
        "spec": {},
        "status": {"type": status_type, "message": if status_type == "Error" { "enrollment failed: x509" } else { "" }},
    })
}

fn list_of(items: Vec<Value>) -> Value {
    json!({"apiVersion": "ibp.com/v1beta1", "kind": "IBPOrdererList", "metadata": {"resourceVersion": "10"}, "items": items})
}

/// Answers the watcher's initial list (checking it selects the object by name).
async fn answer_list(handle: &mut Handle, list: Value) {
    let (request, send) = handle.next_request().await.expect("the initial list");
    assert_eq!(request.method(), Method::GET);
    let uri = request.uri().to_string();
    assert!(
        uri.starts_with("/apis/ibp.com/v1beta1/namespaces/hadr-multi-region-ha/ibporderers?"),
        "{uri}"
    );
    assert!(
        uri.contains("fieldSelector=metadata.name%3Dorderer"),
        "{uri}"
    );
    assert!(!uri.contains("watch=true"), "{uri}");
    send.send_response(respond(StatusCode::OK, &list));
}

#[tokio::test]
async fn waiting_ends_when_the_operator_reports_deployed() {
    let (target, handle) = mock();
    let server = serve(handle, |mut handle| async move {
        answer_list(
            &mut handle,
            list_of(vec![ibporderer_with("Deploying", "10")]),
        )
        .await;
        let (request, send) = handle.next_request().await.expect("the watch");
        let uri = request.uri().to_string();
        assert!(
            uri.contains("watch=true") && uri.contains("resourceVersion=10"),
            "{uri}"
        );
        let event = json!({"type": "MODIFIED", "object": ibporderer_with("Deployed", "11")});
        send.send_response(Response::new(Body::from(format!("{event}\n").into_bytes())));
    })
    .await;
    target
        .wait_deployed(
            "hadr-multi-region-ha",
            "IBPOrderer",
            "orderer",
            Duration::from_secs(5),
        )
        .await
        .expect("Deployed");
    finished(server).await;
}

#[tokio::test]
async fn waiting_times_out_with_the_last_status_seen() {
    let (target, handle) = mock();
    let (hold, held) = tokio::sync::oneshot::channel::<()>();
    let server = serve(handle, |mut handle| async move {
        answer_list(
            &mut handle,
            list_of(vec![ibporderer_with("Precreated", "10")]),
        )
        .await;
        // The watch is never answered: the operator never gets there.
        let (_request, send) = handle.next_request().await.expect("the watch");
        let _ = held.await;
        drop(send);
    })
    .await;
    let error = target
        .wait_deployed(
            "hadr-multi-region-ha",
            "IBPOrderer",
            "orderer",
            Duration::from_millis(300),
        )
        .await
        .expect_err("times out");
    let _ = hold.send(());
    finished(server).await;
    assert!(matches!(error, DeployError::Timeout(_)), "{error:?}");
    insta::assert_snapshot!("wait_timeout", error.to_string());
}

#[tokio::test]
async fn waiting_fails_at_once_on_an_error_status() {
    let (target, handle) = mock();
    let server = serve(handle, |mut handle| async move {
        answer_list(&mut handle, list_of(vec![ibporderer_with("Error", "10")])).await;
    })
    .await;
    let error = target
        .wait_deployed(
            "hadr-multi-region-ha",
            "IBPOrderer",
            "orderer",
            Duration::from_secs(5),
        )
        .await
        .expect_err("Error status");
    finished(server).await;
    assert_eq!(
        error,
        DeployError::Failed("IBPOrderer hadr-multi-region-ha/orderer (context `kind-hadr-us-east`) is in status Error: enrollment failed: x509".into())
    );
}

#[tokio::test]
async fn waiting_on_a_forbidden_resource_says_so() {
    let (target, handle) = mock();
    let server = serve(handle, |mut handle| async move {
        let (_, send) = handle.next_request().await.expect("the initial list");
        send.send_response(respond(
            StatusCode::FORBIDDEN,
            &status(403, "Forbidden", "ibporderers.ibp.com is forbidden"),
        ));
    })
    .await;
    let error = target
        .wait_deployed(
            "hadr-multi-region-ha",
            "IBPOrderer",
            "orderer",
            Duration::from_secs(5),
        )
        .await
        .expect_err("forbidden");
    finished(server).await;
    let text = error.to_string();
    assert!(text.starts_with("watching IBPOrderer hadr-multi-region-ha/orderer in context `kind-hadr-us-east`: Forbidden (403)"), "{text}");
}

#[tokio::test]
async fn the_ca_certificate_comes_from_the_connection_profile() {
    let (target, handle) = mock();
    let server = serve(handle, |mut handle| async move {
        let (request, send) = handle.next_request().await.expect("a request");
        assert_eq!(request.uri().path(), "/api/v1/namespaces/hadr-multi-region-ha/configmaps/org1-ca-connection-profile");
        let profile = json!({"tls": {"cert": "LS0tLS1CRUdJTi1DRVJU"}, "endpoints": {"api": "https://x"}});
        let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, profile.to_string());
        let map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "org1-ca-connection-profile"}, "binaryData": {"profile.json": encoded}});
        send.send_response(respond(StatusCode::OK, &map));
    })
    .await;
    let cert = target
        .read_ca_cert("hadr-multi-region-ha", "org1-ca")
        .await
        .expect("the cert");
    finished(server).await;
    assert_eq!(cert, "LS0tLS1CRUdJTi1DRVJU");
}

#[tokio::test]
async fn cleanup_deletes_the_run_by_its_label() {
    let (target, handle) = mock();
    let server = serve(handle, |mut handle| async move {
        for path in [
            "/api/v1/namespaces",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        ] {
            let (request, send) = handle.next_request().await.expect("a delete");
            assert_eq!(request.method(), Method::DELETE);
            assert_eq!(request.uri().path(), path);
            let query = request.uri().query().unwrap_or_default().to_string();
            assert!(
                query.contains("labelSelector=hadr%2Frun%3Dmulti-region-ha-s1"),
                "{query}"
            );
            send.send_response(respond(
                StatusCode::OK,
                &json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": []}),
            ));
        }
    })
    .await;
    target.cleanup("multi-region-ha-s1").await.expect("cleaned");
    finished(server).await;
}

#[test]
fn a_placeholder_without_a_value_is_an_error_not_an_empty_string() {
    use hadr::substrate::cluster::deploy::substitute;
    let mut values = std::collections::BTreeMap::new();
    values.insert("HADR_NODE_IP_US_WEST".to_string(), "172.18.0.3".to_string());
    assert_eq!(
        substitute("a ${HADR_NODE_IP_US_WEST} b $(POD_NAMESPACE)", &values).unwrap(),
        "a 172.18.0.3 b $(POD_NAMESPACE)"
    );
    let error = substitute("${HADR_ENROLL_SECRET}", &values).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no value for ${HADR_ENROLL_SECRET}"),
        "{error}"
    );
}

// ------------------------------------------------------------------------------------------
// End to end, on a machine with kind, Docker, kubectl and the images of README.md:
//   cargo test --release --test kind -- --ignored --test-threads 1
// Never run on the machine this was written on (no kind, no images, no registry).
// ------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs kind"]
fn e2e_kind_up_with_mock_consoles_status_and_down() {
    let up = hadr(&["kind", "up", "--scenario", SCENARIO, "--console", "mock"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let status = hadr(&["kind", "status", "--scenario", SCENARIO]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    for cluster in ["hadr-us-east", "hadr-us-west", "hadr-ca-central"] {
        assert!(
            status
                .stdout
                .lines()
                .any(|l| l.contains(cluster) && l.ends_with("node running")),
            "{}",
            status.stdout
        );
    }
    // Each region's mock console answers through its own ingress on the host.
    for (domain, port) in [
        ("us-east", 18080),
        ("us-west", 18081),
        ("ca-central", 18082),
    ] {
        let host = format!("hadr-multi-region-ha-console-console.{domain}.localho.st");
        let output = std::process::Command::new("curl")
            .args([
                "-sf",
                "-H",
                &format!("Host: {host}"),
                &format!("http://127.0.0.1:{port}/ak/api/v3/healthcheck"),
            ])
            .output()
            .expect("curl");
        assert!(
            output.status.success(),
            "{host}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let down = hadr(&["kind", "down", "--scenario", SCENARIO]);
    assert_eq!(down.code, 0, "{}", down.stderr);
}

#[test]
#[ignore = "needs kind"]
fn e2e_kind_up_with_real_consoles_reaches_deployed() {
    let up = hadr(&["kind", "up", "--scenario", SCENARIO, "--console", "real"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let down = hadr(&["kind", "down", "--scenario", SCENARIO]);
    assert_eq!(down.code, 0, "{}", down.stderr);
}

#[test]
#[ignore = "needs kind"]
fn e2e_a_lost_region_is_cut_off_and_comes_back() {
    let up = hadr(&["kind", "up", "--scenario", SCENARIO, "--console", "mock"]);
    assert_eq!(up.code, 0, "{}", up.stderr);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let dry = hadr(&[
        "run",
        SCENARIO,
        "--substrate",
        "kind",
        "--dry-run",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let plan = out.join("plan");
    let sh = |name: &str| {
        std::process::Command::new("sh")
            .arg(plan.join(name))
            .status()
            .expect("sh")
            .success()
    };
    assert!(sh("29-fault-1-region_outage-us-west-start.sh"));
    let west = std::process::Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}",
            "hadr-us-west-control-plane",
        ])
        .output()
        .expect("docker");
    let west = String::from_utf8_lossy(&west.stdout).trim().to_string();
    let probe = std::process::Command::new("docker")
        .args([
            "exec",
            "hadr-us-east-control-plane",
            "timeout",
            "3",
            "bash",
            "-c",
            &format!("echo > /dev/tcp/{west}/443"),
        ])
        .status()
        .expect("docker");
    assert!(
        !probe.success(),
        "us-west is silent from us-east during the outage"
    );
    assert!(sh("30-fault-1-region_outage-us-west-heal.sh"));
    let down = hadr(&["kind", "down", "--scenario", SCENARIO]);
    assert_eq!(down.code, 0, "{}", down.stderr);
}
