//! `hadr validate`, `hadr run` (until the substrates arrive) and the command line's usage
//! errors, through the binary: exit codes and messages of the contract.

mod common;
use common::hadr;

fn example_scenarios() -> Vec<String> {
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .unwrap()
            .map(|e| format!("scenarios/{}", e.unwrap().file_name().to_str().unwrap()))
            .filter(|name| name.ends_with(".yaml"))
            .collect();
    files.sort();
    files
}

#[test]
fn the_example_scenarios_validate() {
    let files = example_scenarios();
    assert!(files.len() >= 2);
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(String::as_str))
        .collect();
    let out = hadr(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for file in &files {
        assert!(
            out.stdout.contains(&format!("ok: {file}: ")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn an_unknown_key_exits_2_and_names_its_line() {
    let out = hadr(&["validate", "tests/fixtures/bad-scenarios/unknown-key.yaml"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(out.stderr);
}

#[test]
fn broken_yaml_exits_2_without_a_panic() {
    let out = hadr(&["validate", "tests/fixtures/bad-scenarios/broken-yaml.yaml"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("broken-yaml.yaml:10:5: error:"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn valid_and_invalid_files_together_exit_2_and_report_both() {
    let out = hadr(&[
        "validate",
        "scenarios/multi-region-ha.yaml",
        "tests/fixtures/bad-scenarios/zero-peers.yaml",
        "tests/no-such-file.yaml",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("ok: scenarios/multi-region-ha.yaml"));
    assert!(out
        .stderr
        .contains("zero-peers.yaml:11:58: error: `peers_per_region` is 0"));
    assert!(out
        .stderr
        .contains("tests/no-such-file.yaml: error: cannot read the scenario"));
    assert!(out.stderr.contains("2 of 3 scenario file(s) invalid"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["validate"][..],
        &["frobnicate"],
        &[
            "run",
            "scenarios/multi-region-ha.yaml",
            "--substrate",
            "cloud",
        ],
        &["procedure"],
        &["procedure", "check"],
    ] {
        let out = hadr(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("Usage:") || out.stderr.contains("error:"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn every_command_teaches_with_an_example() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["validate", "--help"],
        &["procedure", "show", "--help"],
        &["procedure", "check", "--help"],
    ] {
        let out = hadr(args);
        assert_eq!(out.code, 0, "{args:?}");
        assert!(out.stdout.contains("Example"), "{args:?}: {}", out.stdout);
        assert!(out.stdout.contains("hadr "), "{args:?}");
    }
    let top = hadr(&["--help"]).stdout;
    for code in ["0 ", "1 ", "2 ", "3 "] {
        assert!(
            top.contains(&format!("  {code} ")),
            "exit code {code}in --help"
        );
    }
}

#[test]
fn run_does_not_pretend_it_ran() {
    let out = hadr(&[
        "run",
        "scenarios/network-region-outage.yaml",
        "--substrate",
        "containers",
    ]);
    // Refused before anything starts: the scenario wants round trips emulated.
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("the containers substrate cannot run")
            && out.stderr.contains("emulate_round_trips"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());

    let bad = hadr(&[
        "run",
        "tests/fixtures/bad-scenarios/unknown-key.yaml",
        "--substrate",
        "kind",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("unknown key `lattency`"));
}

#[test]
fn a_run_out_of_simulated_time_writes_its_reports_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = hadr(&[
        "run",
        "tests/fixtures/scenarios/max-duration-too-short.yaml",
        "--out",
        out_dir,
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("RUN STOPPED: the run did not finish within simulation.max_duration (1m1s)"),
        "{}",
        out.stdout
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["stopped"]["cause"], "input");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<testcase name="run""#), "{junit}");
    assert!(junit.contains(r#"type="run_stopped""#), "{junit}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("**FAILED**: the run stopped before its end"),
        "{md}"
    );
}

/// `hadr validate scenario.yaml` run in the scenario's own folder finds the fixture beside
/// it (a bare file name's parent is the empty path, which once resolved to nothing).
#[test]
fn a_fixture_beside_a_scenario_named_without_a_folder_is_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/latency/azure-2024-04-p50.json"
        ),
        dir.path().join("my-latency.json"),
    )
    .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/multi-region-ha.yaml"
    ))
    .unwrap()
    .replace(
        "latency: fixtures/latency/azure-2024-04-p50.json",
        "latency: my-latency.json",
    );
    assert!(text.contains("latency: my-latency.json"));
    std::fs::write(dir.path().join("scenario.yaml"), text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(["validate", "scenario.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// Flags that would overflow a clock, start a console for nobody, run without end or
/// write into a file are refused with exit 2 before anything starts.
#[test]
fn out_of_range_flags_are_refused_before_anything_starts() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let file_path = file.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "console",
                "serve",
                "--header-timeout",
                "18446744073709551615",
            ],
            "is not in 1..=86400",
        ),
        (
            &["console", "serve", "--socket-timeout", "0"],
            "is not in 1..=86400",
        ),
        (&["console", "serve", "--admin", ""], "an empty user name"),
        (
            &["console", "serve", "--admin", "ad\u{1b}[31mmin"],
            "the user name has the character",
        ),
        (
            &[
                "chaos",
                "scenarios/chaos-base.yaml",
                "--runs",
                "99999999999",
            ],
            "is not in 1..=1000000",
        ),
        (
            &["chaos", "scenarios/chaos-base.yaml", "--runs", "0"],
            "is not in 1..=1000000",
        ),
        (
            &["run", "scenarios/multi-region-ha.yaml", "--out", file_path],
            "is a file, not a folder",
        ),
        (
            &["chaos", "scenarios/chaos-base.yaml", "--out", file_path],
            "is a file, not a folder",
        ),
        (
            &["mutate", "scenarios/chaos-base.yaml", "--out", file_path],
            "is a file, not a folder",
        ),
        (
            &[
                "kind",
                "config",
                "--scenario",
                "scenarios/multi-region-ha.yaml",
                "--out",
                file_path,
            ],
            "is a file, not a folder",
        ),
        (
            &[
                "bench",
                "regions",
                "--latency",
                "fixtures/latency/azure-2024-04-p50.json",
                "--candidates",
                "eastus,westus,canadacentral",
                "--out",
                file_path,
            ],
            "is a file, not a folder",
        ),
    ];
    for (args, needle) in cases {
        let out = hadr(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(
            !out.stderr.contains('\u{1b}'),
            "{args:?}: raw escape in {:?}",
            out.stderr
        );
    }
}

/// `procedure check` and `hadr node --spec` read what they are given as the scenario loader
/// does: a device or a FIFO is refused at once, and escapes in a doc are shown, not obeyed.
#[test]
fn docs_and_node_specs_are_read_without_trusting_them() {
    for args in [
        &["procedure", "check", "/dev/zero"][..],
        &["node", "--role", "peer", "--spec", "/dev/zero"][..],
    ] {
        let out = hadr(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("not a regular file"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("doc.txt");
    std::fs::write(
        &doc,
        "See [link](#bad\u{1b}[31manchor) and [l2](#ibp\u{202e}evil)\n",
    )
    .unwrap();
    let out = hadr(&["procedure", "check", doc.to_str().unwrap()]);
    assert!(
        !out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{202e}'),
        "{:?}",
        out.stdout
    );
}
