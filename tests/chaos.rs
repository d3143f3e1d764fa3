//! `hadr chaos`, `hadr chaos merge` and `hadr mutate` through the binary, on the shipped
//! scenarios: determinism, shards, the single-anchor weakness found, shrunk and replayed,
//! and the mutation table.

mod common;

use common::hadr;
use serde_json::Value;
use std::path::Path;

/// summary.json without its wall-clock fields.
fn summary(dir: &Path) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("wall_time_ms");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut value: Value = serde_json::from_str(&text).unwrap();
    strip(&mut value);
    value
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_seed_gives_the_same_sweep_and_shards_merge_into_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name);
    let sweep = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "chaos",
            "scenarios/chaos-base.yaml",
            "--runs",
            "4",
            "--seed",
            "5",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", arg(out)]);
        let run = hadr(&args);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        run
    };
    let whole = sweep(&dir("a"), &["--jobs", "2"]);
    sweep(&dir("b"), &["--jobs", "1"]);
    assert_eq!(summary(&dir("a")), summary(&dir("b")));
    assert_eq!(summary(&dir("a"))["executed"], 4);
    sweep(&dir("s1"), &["--shard", "1/2"]);
    sweep(&dir("s2"), &["--shard", "2/2"]);
    assert_eq!(summary(&dir("s1"))["shard"], "1/2");
    let shard_runs: Vec<Value> = summary(&dir("s2"))["run_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].clone())
        .collect();
    assert_eq!(shard_runs, [Value::from(1), Value::from(3)]);
    let merged = hadr(&[
        "chaos",
        "merge",
        arg(&dir("s1")),
        arg(&dir("s2")),
        "--out",
        arg(&dir("m")),
    ]);
    assert_eq!(merged.code, whole.code, "{}", merged.stderr);
    assert_eq!(summary(&dir("m")), summary(&dir("a")));
    for file in ["summary.md", "junit.xml", "summary.svg"] {
        assert!(dir("m").join(file).is_file(), "{file}");
    }
    let junit = std::fs::read_to_string(dir("a").join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 4);
    // The same shard twice is not a sweep.
    let twice = hadr(&[
        "chaos",
        "merge",
        arg(&dir("s1")),
        arg(&dir("s1")),
        "--out",
        arg(&dir("x")),
    ]);
    assert_eq!(twice.code, 2);
    assert!(
        twice.stderr.contains("is in two of the outputs"),
        "{}",
        twice.stderr
    );
}

#[test]
fn the_single_anchor_weakness_is_found_shrunk_and_replayed_by_hadr_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    // Run 34 of `--seed 1` alone (shard 35 of 35 of a 35-run sweep): one of the runs of
    // `hadr chaos scenarios/chaos-single-anchor.yaml --runs 200 --seed 1` that fails.
    let sweep = hadr(&[
        "chaos",
        "scenarios/chaos-single-anchor.yaml",
        "--runs",
        "35",
        "--seed",
        "1",
        "--shard",
        "35/35",
        "--out",
        arg(&out),
    ]);
    assert_eq!(sweep.code, 1, "{}\n{}", sweep.stdout, sweep.stderr);
    assert!(
        sweep.stdout.contains("FAIL run 34: cross_org_gossip"),
        "{}",
        sweep.stdout
    );
    let found = summary(&out);
    let failure = &found["failures"][0];
    assert_eq!(failure["expectation"], "cross_org_gossip");
    assert!(
        failure["faults"].as_array().unwrap().len() <= 2,
        "{failure}"
    );
    assert_eq!(failure["replayed"], true, "{failure}");
    let reproducer = out.join(failure["scenario_file"].as_str().unwrap());
    let text = std::fs::read_to_string(&reproducer).unwrap();
    assert!(text.starts_with("# Reproducer written by `hadr chaos`: run 34 of scenarios/chaos-single-anchor.yaml with --seed 1."), "{text}");
    assert!(!text.contains("\nchaos:"), "{text}");
    assert!(out.join("failures/034/report.json").is_file());
    let valid = hadr(&["validate", arg(&reproducer)]);
    assert_eq!(valid.code, 0, "{}", valid.stderr);
    let replay = hadr(&[
        "run",
        arg(&reproducer),
        "--out",
        arg(&tmp.path().join("replay")),
    ]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    assert!(
        replay.stdout.contains("FAIL cross_org_gossip"),
        "{}",
        replay.stdout
    );
}

#[test]
fn a_sweep_with_roles_draws_them_and_its_reproducer_replays_the_failure_through_the_role() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let base = "tests/fixtures/scenarios/chaos-raft-leader.yaml";
    let sweep = hadr(&[
        "chaos",
        base,
        "--runs",
        "4",
        "--seed",
        "1",
        "--out",
        arg(&out),
    ]);
    assert_eq!(sweep.code, 1, "{}\n{}", sweep.stdout, sweep.stderr);
    let found = summary(&out);
    // Runs 2 and 3 of `--seed 1` draw the Raft leader, runs 0 and 1 the named peer.
    let drawn: Vec<String> = found["run_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["faults"][0].as_str().unwrap().to_string())
        .collect();
    assert!(
        drawn[..2]
            .iter()
            .all(|f| f.ends_with("node crash peer0.org2.ca-central")),
        "{drawn:?}"
    );
    assert!(
        drawn[2..]
            .iter()
            .all(|f| f.ends_with("node crash raft_leader")),
        "{drawn:?}"
    );
    let failure = &found["failures"][0];
    assert_eq!(failure["expectation"], "blocks_continue");
    assert_eq!(failure["replayed"], true, "{failure}");
    let reproducer = out.join(failure["scenario_file"].as_str().unwrap());
    let text = std::fs::read_to_string(&reproducer).unwrap();
    assert!(
        text.contains("node_crash: raft_leader}"),
        "the role, not its holder: {text}"
    );
    let replay_dir = tmp.path().join("replay");
    let replay = hadr(&["run", arg(&reproducer), "--out", arg(&replay_dir)]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    assert!(
        replay.stdout.contains("FAIL blocks_continue"),
        "{}",
        replay.stdout
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(replay_dir.join("report.json")).unwrap())
            .unwrap();
    let role = &report["faults"][0]["role"];
    assert_eq!(role["role"], "raft_leader", "{report}");
    assert!(
        role["node"].as_str().unwrap().starts_with("orderer"),
        "{role}"
    );
}

#[test]
fn bad_chaos_input_exits_2_with_what_to_fix() {
    let no_section = hadr(&[
        "chaos",
        "scenarios/network-region-outage.yaml",
        "--runs",
        "1",
    ]);
    assert_eq!(no_section.code, 2);
    insta::assert_snapshot!(no_section.stderr);
    let shard = hadr(&["chaos", "scenarios/chaos-base.yaml", "--shard", "3/2"]);
    assert_eq!(shard.code, 2);
    assert!(
        shard.stderr.contains("`3/2` is not a shard"),
        "{}",
        shard.stderr
    );
    let invalid = hadr(&[
        "chaos",
        "tests/fixtures/bad-scenarios/chaos-unknown-kind.yaml",
    ]);
    assert_eq!(invalid.code, 2);
    assert!(
        invalid.stderr.contains("chaos-unknown-kind.yaml:29:26"),
        "{}",
        invalid.stderr
    );
    let tmp = tempfile::tempdir().unwrap();
    let merge = hadr(&["chaos", "merge", arg(tmp.path())]);
    assert_eq!(merge.code, 2);
    assert!(
        merge.stderr.contains("is it the --out of `hadr chaos`?"),
        "{}",
        merge.stderr
    );
}

#[test]
fn mutate_tabulates_each_mutation_of_a_prebuilt_network() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mutate");
    let run = hadr(&["mutate", "scenarios/chaos-base.yaml", "--out", arg(&out)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!(run.stdout.replace(arg(&out), "OUT"));
    let rows: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mutations.json")).unwrap())
            .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert!(out
        .join("01-anchor_peers-one_per_org/report.json")
        .is_file());
}

/// `hadr chaos merge` copies each failure's reproducer folder: a summary.json whose
/// reproducer path leaves its folder is refused before anything is copied or written.
#[test]
fn merge_refuses_a_summary_whose_reproducer_leaves_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let shard = tmp.path().join("shard");
    let sweep = hadr(&[
        "chaos",
        "scenarios/chaos-base.yaml",
        "--runs",
        "1",
        "--jobs",
        "1",
        "--out",
        arg(&shard),
    ]);
    assert_eq!(sweep.code, 0, "{}", sweep.stderr);
    let path = shard.join("summary.json");
    let mut summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    summary["failures"] = serde_json::json!([{
        "run": 1, "expectation": "ledger_in_sync", "detail": "", "faults_before": 1,
        "faults": [], "kinds": [], "workload": "", "shrink_runs": 0,
        "scenario_file": "../../outside/scenario.yaml", "replayed": true, "replay_detail": ""
    }]);
    std::fs::write(&path, summary.to_string()).unwrap();
    let out = tmp.path().join("merged");
    let merge = hadr(&["chaos", "merge", arg(&shard), "--out", arg(&out)]);
    assert_eq!(merge.code, 2, "{}", merge.stderr);
    assert!(
        merge
            .stderr
            .contains("reproducer `../../outside/scenario.yaml` is not a path inside"),
        "{}",
        merge.stderr
    );
    assert!(!out.join("summary.json").exists() && !tmp.path().join("outside").exists());
}
