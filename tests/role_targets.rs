//! Faults aimed at roles (`node_crash: raft_leader`, `region_outage: raft_leader`,
//! `node_crash: gateway_peer`) through `hadr run`: whom each one hit, read back from
//! report.json and history.jsonl, is the node that held the role when it started.

mod common;

use common::hadr;
use common::run::leader_at;
use hadr::history::{Event, EventKind, History, TimeMs};
use serde_json::Value;
use std::path::Path;

/// Runs `scenario` with `hadr run`, its reports in `out`, and reads its report and history.
fn run(scenario: &str, out: &Path) -> (Value, History) {
    let result = hadr(&["run", scenario, "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    let history = std::fs::read_to_string(out.join("history.jsonl")).unwrap();
    let events = history
        .lines()
        .map(|line| serde_json::from_str::<Event>(line).unwrap())
        .collect();
    (serde_json::from_str(&report).unwrap(), History { events })
}

/// The node fault `index` hit, as the report says, and when it started and healed.
fn hit(report: &Value, index: usize, role: &str) -> (String, TimeMs, TimeMs) {
    let fault = &report["faults"][index];
    assert_eq!(fault["role"]["role"], role, "{fault}");
    let node = fault["role"]["node"]
        .as_str()
        .expect("a holder")
        .to_string();
    let started = fault["started_at_ms"].as_u64().unwrap();
    let healed = fault["healed_at_ms"].as_u64().unwrap();
    (node, started, healed)
}

/// When `node` went down (`NodeState` up: false) at or after `from_ms`.
fn went_down(history: &History, node: &str, from_ms: TimeMs) -> Option<TimeMs> {
    history
        .iter(|k| match k {
            EventKind::NodeState { node: n, up: false } if n == node => Some(n),
            _ => None,
        })
        .map(|(at_ms, _)| at_ms)
        .find(|at_ms| *at_ms >= from_ms)
}

#[test]
fn faults_aimed_at_the_raft_leader_hit_the_leader_of_the_moment_and_another_is_elected() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "tests/fixtures/scenarios/raft-leader-crash.yaml";
    let (report, history) = run(scenario, tmp.path());
    assert_eq!(report["passed"], true, "{}", report["expectations"]);

    let (crashed, started, healed) = hit(&report, 0, "raft_leader");
    assert!(crashed.starts_with("orderer"), "{crashed}");
    assert_eq!(
        leader_at(&history, started).as_deref(),
        Some(crashed.as_str()),
        "the leader when the crash started"
    );
    assert_eq!(went_down(&history, &crashed, started), Some(started));
    assert_eq!(
        report["faults"][0]["description"],
        format!("node crash {crashed} (raft_leader)")
    );
    let elected = history
        .iter(|k| match k {
            EventKind::OrdererStatus(s) if s.is_leader && s.node != crashed => Some(s),
            _ => None,
        })
        .any(|(at_ms, _)| (started..healed).contains(&at_ms));
    assert!(
        elected,
        "another leader is elected while the crashed one is down"
    );

    // The second fault, later, finds the leader of its own moment and takes out its region.
    let (holder, started, _) = hit(&report, 1, "raft_leader");
    assert_eq!(
        leader_at(&history, started).as_deref(),
        Some(holder.as_str())
    );
    assert_ne!(holder, crashed, "the crashed leader lost its place");
    let region = holder.rsplit('.').next().unwrap();
    assert_eq!(report["faults"][1]["regions"], serde_json::json!([region]));
    assert_eq!(
        report["faults"][1]["description"],
        format!("region outage {region} (lost; raft_leader {holder})")
    );
    assert_eq!(went_down(&history, &holder, started), Some(started));
    let timeline = std::fs::read_to_string(tmp.path().join("timeline.svg")).unwrap();
    assert!(
        timeline.contains(&format!("node crash {crashed} (raft_leader)")),
        "the timeline labels the crash with its node and role"
    );
}

#[test]
fn a_crash_aimed_at_the_gateway_peer_follows_the_client_through_its_failover() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = "tests/fixtures/scenarios/gateway-peer-crash.yaml";
    let (report, history) = run(scenario, tmp.path());
    assert_eq!(report["passed"], true, "{}", report["expectations"]);
    // The gateway of the client's latest committed transaction before each start.
    let committed_through = |before_ms: TimeMs| {
        history
            .iter(|k| match k {
                EventKind::Op(op)
                    if op.process.starts_with("client.")
                        && op.phase == hadr::history::OpPhase::Ok =>
                {
                    op.node.as_ref()
                }
                _ => None,
            })
            .filter(|(at_ms, _)| *at_ms <= before_ms)
            .last()
            .map(|(_, node)| node.clone())
    };
    let (first, started, _) = hit(&report, 0, "gateway_peer");
    assert_eq!(first, "peer0.org1.us-east", "the client's first gateway");
    assert_eq!(committed_through(started).as_deref(), Some(first.as_str()));
    let (second, started, _) = hit(&report, 1, "gateway_peer");
    assert_ne!(
        second, first,
        "the client failed over, and the role with it"
    );
    assert!(second.starts_with("peer0.org1."), "{second}");
    assert_eq!(committed_through(started).as_deref(), Some(second.as_str()));
    assert_eq!(went_down(&history, &second, started), Some(started));
}
