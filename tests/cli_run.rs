//! `hadr run` through the binary: several scenarios in one run (summary table, summary.md,
//! one combined junit.xml, a folder each), the exit-code contract, and progress on stderr.

mod common;

use common::hadr;

const PASSING: &str = "tests/fixtures/scenarios/region-outage-catch-up.yaml";
const FAILING: &str = "tests/fixtures/scenarios/commit-latency-slow-link.yaml";

fn out_dir() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("out").to_str().expect("utf-8").to_string();
    (dir, path)
}

#[test]
fn several_scenarios_end_with_a_summary_table_summary_md_and_one_junit_xml() {
    let (_dir, out) = out_dir();
    let result = hadr(&["run", PASSING, FAILING, "--out", &out, "--quiet"]);
    assert_eq!(result.code, 1, "{}{}", result.stdout, result.stderr);
    let table: Vec<&str> = result
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("scenario "))
        .collect();
    assert!(
        table[0].starts_with("scenario") && table[0].contains("verdict  failed"),
        "{}",
        result.stdout
    );
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words(table[1]).starts_with("region-outage-catch-up passed - 2m13s "),
        "{table:?}"
    );
    assert!(
        words(table[2]).starts_with(
            "commit-latency-slow-link FAILED commit_latency (during_fault: 0, p99_below: 5s) 3m"
        ),
        "{table:?}"
    );
    assert_eq!(table[3], "2 scenarios: 1 passed, 1 failed");
    let out = std::path::Path::new(&out);
    for folder in ["region-outage-catch-up", "commit-latency-slow-link"] {
        for file in ["report.json", "report.md", "junit.xml", "timeline.svg"] {
            assert!(out.join(folder).join(file).is_file(), "{folder}/{file}");
        }
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md");
    insta::with_settings!({filters => vec![(r"\| [0-9.]+s \|\n", "| [wall] |\n")]}, {
        insta::assert_snapshot!(summary);
    });
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<testsuite ").count(), 2, "{junit}");
    assert!(junit.contains("<testsuite name=\"region-outage-catch-up\""));
    assert!(junit.contains("<testsuite name=\"commit-latency-slow-link\""));
}

#[test]
fn an_invalid_file_among_several_stops_the_run_before_any_scenario_runs() {
    let (_dir, out) = out_dir();
    let result = hadr(&[
        "run",
        PASSING,
        "tests/fixtures/bad-scenarios/unknown-key.yaml",
        "--out",
        &out,
    ]);
    assert_eq!(result.code, 2, "{}", result.stderr);
    assert!(
        result.stderr.contains("unknown-key.yaml:"),
        "{}",
        result.stderr
    );
    assert!(!std::path::Path::new(&out).exists(), "nothing ran");
}

#[test]
fn progress_goes_to_stderr_in_plain_lines_and_quiet_silences_it() {
    let (_dir, out) = out_dir();
    let result = hadr(&[
        "run",
        "scenarios/mutation-admin-recreated.yaml",
        PASSING,
        "--out",
        &out,
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    // Not a terminal: plain lines, at least one per phase.
    assert!(
        result
            .stderr
            .contains("progress: mutation-admin-recreated: procedure step "),
        "{}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("progress: region-outage-catch-up: workload "),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("x real time; ETA "),
        "{}",
        result.stderr
    );
    assert!(!result.stdout.contains("progress:"), "{}", result.stdout);
    let report = std::fs::read_to_string(
        std::path::Path::new(&out).join("region-outage-catch-up/report.md"),
    )
    .expect("report.md");
    assert!(!report.contains("progress:"));
    let (_dir, out) = out_dir();
    let quiet = hadr(&["run", PASSING, "--out", &out, "--quiet"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(quiet.stderr, "");
}
