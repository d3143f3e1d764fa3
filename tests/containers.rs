//! The containers substrate through the CLI. Refusals and a missing Docker need no Docker;
//! the end-to-end runs need this machine's Docker Engine (CI has it: `.ci/run` sets
//! HADR_REQUIRE_DOCKER=1, so there they fail instead of skipping).

mod common;

use common::hadr;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SMOKE: &str = "scenarios/containers-smoke.yaml";

/// Whether Docker answers; without it the test says why and passes, unless CI requires it.
fn docker_or_skip(test: &str) -> bool {
    let answers = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !answers {
        assert!(
            std::env::var_os("HADR_REQUIRE_DOCKER").is_none(),
            "{test}: HADR_REQUIRE_DOCKER is set but Docker does not answer"
        );
        eprintln!("{test}: skipped: Docker is not reachable here");
    }
    answers
}

fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// Run labels of hadr containers and networks that exist now.
fn labelled_objects() -> Vec<String> {
    let mut labels = Vec::new();
    for listing in [
        vec!["ps", "-a"],
        vec!["network", "ls"],
        vec!["volume", "ls"],
    ] {
        let mut args = listing.clone();
        args.extend([
            "--filter",
            "label=hadr.run",
            "--format",
            "{{.Label \"hadr.run\"}}",
        ]);
        let output = Command::new("docker").args(&args).output().expect("docker");
        labels.extend(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .map(|l| format!("{} {l}", listing[0])),
        );
    }
    labels
}

#[test]
fn a_scenario_needing_emulated_round_trips_is_refused_before_anything_starts() {
    let out = out_dir("containers-refused-rtt");
    let run = hadr(&[
        "run",
        "scenarios/multi-region-ha.yaml",
        "--substrate",
        "containers",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    insta::assert_snapshot!(run.stderr);
    assert!(!out.join("report.json").exists(), "nothing ran");
}

#[test]
fn a_latency_fault_and_a_lost_ordering_region_are_refused_naming_the_fault() {
    let dir = out_dir("containers-refused-faults");
    std::fs::create_dir_all(&dir).unwrap();
    let smoke = std::fs::read_to_string(SMOKE).unwrap();
    let with = |fault: &str, name: &str| {
        let text = smoke.replace(
            "  - {at: 40s, for: 10s, partition: [[ca-central], [us-east, us-west]]}",
            fault,
        );
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.canonicalize().unwrap();
        hadr(&[
            "run",
            path.to_str().unwrap(),
            "--substrate",
            "containers",
            "--out",
            dir.join("out").to_str().unwrap(),
        ])
    };
    let latency = with(
        "  - {at: 40s, for: 10s, latency: {between: [us-east, us-west], rtt: 200ms}}",
        "latency.yaml",
    );
    assert_eq!(latency.code, 3, "{}", latency.stderr);
    assert!(
        latency.stderr.contains("fault 1 (`latency`)") && latency.stderr.contains("netem"),
        "{}",
        latency.stderr
    );
    let orderer = with(
        "  - {at: 40s, for: 10s, region_outage: us-east}",
        "orderer.yaml",
    );
    assert_eq!(orderer.code, 3, "{}", orderer.stderr);
    assert!(
        orderer.stderr.contains("fault 1 (`region_outage`)") && orderer.stderr.contains("Raft log"),
        "{}",
        orderer.stderr
    );
}

#[test]
fn without_docker_the_substrate_and_clean_exit_3_naming_docker() {
    let run = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args([
            "run",
            SMOKE,
            "--substrate",
            "containers",
            "--quiet",
            "--out",
        ])
        .arg(out_dir("containers-no-docker"))
        .env("DOCKER_HOST", "unix:///nonexistent/hadr-test/docker.sock")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("Docker is not reachable"), "{stderr}");
    let clean = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(["containers", "clean"])
        .env("DOCKER_HOST", "unix:///nonexistent/hadr-test/docker.sock")
        .output()
        .unwrap();
    assert_eq!(clean.status.code(), Some(3));
}

#[test]
fn hadr_node_refuses_a_spec_it_cannot_read_or_of_another_role() {
    let dir = out_dir("node-specs");
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        "{\"node\": {\"name\": \"peer0.org1.us-east\",\n  \"role\": 7}}",
    )
    .unwrap();
    let run = hadr(&["node", "--role", "peer", "--spec", broken.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let shown = run.stderr.replace(dir.to_str().unwrap(), "[dir]");
    insta::assert_snapshot!("node_spec_unreadable", shown);
    let missing = hadr(&["node", "--role", "peer", "--spec", "/nonexistent/spec.json"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("/nonexistent/spec.json"),
        "{}",
        missing.stderr
    );
}

/// The smoke scenario on containers and on sim: the run passes, every peer ends at one
/// height and tip, the two substrates agree on every expectation, and their recovery times
/// agree within 20 % or the sampling bound.
#[test]
fn the_smoke_scenario_passes_on_containers_and_agrees_with_sim() {
    if !docker_or_skip("the_smoke_scenario_passes_on_containers_and_agrees_with_sim") {
        return;
    }
    let containers_out = out_dir("smoke-containers");
    let wall = Instant::now();
    let run = hadr(&[
        "run",
        SMOKE,
        "--substrate",
        "containers",
        "--quiet",
        "--out",
        containers_out.to_str().unwrap(),
    ]);
    let wall = wall.elapsed();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let real = report(&containers_out);
    assert_eq!(real["substrate"], "containers");
    let tips: std::collections::BTreeSet<(u64, String)> = real["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["height"].as_u64().unwrap(),
                p["tip_hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(tips.len(), 1, "every peer at one height and tip: {tips:?}");
    assert!(
        real["substrate_notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("not emulated")),
        "the report says round trips were not emulated"
    );

    let sim_out = out_dir("smoke-sim");
    let sim_run = hadr(&["run", SMOKE, "--quiet", "--out", sim_out.to_str().unwrap()]);
    assert_eq!(sim_run.code, 0, "{}", sim_run.stderr);
    let sim = report(&sim_out);
    let verdicts = |r: &Value| -> Vec<(String, bool)> {
        r["expectations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_string(),
                    e["passed"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(verdicts(&sim), verdicts(&real));

    // Bounds: membership is sampled every 5 s; ledgers every second, and a lost region's
    // containers take about a second to start again before they can catch up.
    let mut table = String::from("| fault | measure | sim | containers | bound |\n");
    for (fault_sim, fault_real) in sim["faults"]
        .as_array()
        .unwrap()
        .iter()
        .zip(real["faults"].as_array().unwrap())
    {
        for (measure, bound_ms) in [("membership_drop_ms", 5_000.0), ("caught_up_ms", 3_000.0)] {
            let (a, b) = (fault_sim[measure].as_f64(), fault_real[measure].as_f64());
            table.push_str(&format!(
                "| {} | {measure} | {a:?} | {b:?} | 20 % or {bound_ms} ms |\n",
                fault_sim["description"].as_str().unwrap()
            ));
            match (a, b) {
                (Some(a), Some(b)) => {
                    let allowed = (0.2 * a.max(b)).max(bound_ms);
                    assert!(
                        (a - b).abs() <= allowed,
                        "{measure} of {}: sim {a} ms, containers {b} ms",
                        fault_sim["description"]
                    );
                }
                (None, None) => {}
                _ => panic!("{measure}: measured on one substrate only: {a:?} / {b:?}"),
            }
        }
    }
    eprintln!("containers smoke: {wall:?} wall\n{table}");
    assert!(
        wall < Duration::from_secs(240),
        "the smoke scenario must stay within 4 minutes (took {wall:?})"
    );
}

/// Ctrl-C in the middle of a run: hadr removes every container, network and folder of it.
#[test]
fn an_interrupted_run_leaves_nothing_behind() {
    if !docker_or_skip("an_interrupted_run_leaves_nothing_behind") {
        return;
    }
    let out = out_dir("containers-interrupted");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args([
            "run",
            SMOKE,
            "--substrate",
            "containers",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The run's label holds the process ID: wait until its consoles are being deployed.
    let mark = format!("-{}-", child.id());
    let ours = |labels: &[String]| labels.iter().filter(|l| l.contains(&mark)).count();
    let deadline = Instant::now() + Duration::from_secs(90);
    while ours(&labelled_objects()) < 6 {
        assert!(
            Instant::now() < deadline,
            "no container of the run appeared"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(200));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "hadr did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_ne!(status.code(), Some(0), "{stderr}");
    let stopped = &report(&out)["stopped"];
    assert!(
        stopped["message"]
            .as_str()
            .unwrap_or_default()
            .contains("interrupted"),
        "{stopped}"
    );
    let left = labelled_objects();
    assert_eq!(ours(&left), 0, "left behind: {left:?}");
    let folders: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(&mark))
        .collect();
    assert!(folders.is_empty(), "folders left: {folders:?}");
}

/// `hadr containers clean` removes node images by their label, tagged or dangling: here on
/// images of a label of this test's own, so that no other test's node image goes.
#[test]
fn images_of_a_label_are_removed_tagged_or_dangling() {
    if !docker_or_skip("images_of_a_label_are_removed_tagged_or_dangling") {
        return;
    }
    let label = format!("hadr.image=clean-test-{}", std::process::id());
    // Whatever the assertions say, this test's images go.
    struct Images(String);
    impl Drop for Images {
        fn drop(&mut self) {
            let _ = hadr::substrate::containers::docker::remove_images(&self.0);
        }
    }
    let _images = Images(label.clone());
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("file"), "one").unwrap();
    let build = |tag: &str, contents: &str| {
        std::fs::write(context.path().join("file"), contents).unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM scratch\nLABEL {label}\nCOPY file /file\n"),
        )
        .unwrap();
        let built = Command::new("docker")
            .args(["build", "--quiet", "-t", tag])
            .arg(context.path())
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
    };
    let tag = format!("hadr-clean-test:{}", std::process::id());
    // Built twice under one tag: the first becomes dangling, as an old node image does.
    build(&tag, "one");
    build(&tag, "two");
    let listed = || {
        let out = Command::new("docker")
            .args(["images", "-q", "--filter", &format!("label={label}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert_eq!(listed(), 2);
    let removed = hadr::substrate::containers::docker::remove_images(&label).unwrap();
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(removed.contains(&format!("image {tag}")), "{removed:?}");
    assert_eq!(listed(), 0);
}
