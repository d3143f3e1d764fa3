//! `hadr bench regions`: bad input refused with located errors, the doc's advice measured
//! against the arithmetic, and no commit faster than light.

mod common;
use common::hadr;
use hadr::bench::figures::{below_floor, outage, steady};
use hadr::checks::testkit::{three_region_scenario, HistoryBuilder};
use hadr::history::{
    EventKind, FaultPhase, FaultRecord, LogLine, NodeLogRecord, OpPhase, Operation,
};
use serde_json::Value;

const AZURE: &str = "fixtures/latency/azure-2024-04-p50.json";

fn refused(args: &[&str]) -> String {
    let out = hadr(args);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    out.stderr
}

#[test]
fn bad_candidates_name_the_flag_the_place_and_the_fix() {
    let bench = ["bench", "regions", "--latency", AZURE];
    let with = |rest: &[&str]| {
        let args: Vec<&str> = bench.iter().chain(rest).copied().collect();
        refused(&args)
    };
    insta::assert_snapshot!(
        "unknown_location",
        with(&["--candidates", "eastus,westus,canadacentrl"])
    );
    insta::assert_snapshot!(
        "duplicate_in_triple",
        with(&["--candidates", "eastus,westus,eastus"])
    );
    insta::assert_snapshot!("two_locations", with(&["--candidates", "eastus,westus"]));
    insta::assert_snapshot!("empty_location", with(&["--candidates", "eastus,,westus"]));
    insta::assert_snapshot!(
        "same_triple_twice",
        with(&[
            "--candidates",
            "eastus,westus,uksouth",
            "uksouth,eastus,westus"
        ])
    );
    insta::assert_snapshot!(
        "zero_seeds",
        with(&["--candidates", "eastus,westus,uksouth", "--seeds", "0"])
    );
    insta::assert_snapshot!("from_too_few", with(&["--from", "eastus,westus"]));
    let too_many = with(&["--candidates", "eastus,westus,uksouth", "--seeds", "99999"]);
    assert!(
        too_many.contains("at most 100 seeds per candidate"),
        "{too_many}"
    );
    // A fixture without one of a candidate's pairs is refused, not measured with a made-up
    // round trip.
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("missing-pair.json");
    let mut table: Value = serde_json::from_str(&std::fs::read_to_string(AZURE).unwrap()).unwrap();
    let pairs = table["rtt_ms"].as_array_mut().unwrap();
    pairs.retain(|p| !(p[0] == "eastus" && p[1] == "westus"));
    std::fs::write(&fixture, table.to_string()).unwrap();
    let missing = refused(&[
        "bench",
        "regions",
        "--latency",
        fixture.to_str().unwrap(),
        "--candidates",
        "eastus,westus,canadacentral",
    ]);
    assert!(
        missing.contains("has no round trip between `eastus` and `westus`"),
        "{missing}"
    );
    insta::assert_snapshot!(
        "bad_batch_timeout",
        with(&[
            "--from",
            "eastus,westus,uksouth",
            "--batch-timeout",
            "2 seconds"
        ])
    );
    insta::assert_snapshot!(
        "unknown_fixture",
        refused(&[
            "bench",
            "regions",
            "--latency",
            "fixtures/latency/aws.json",
            "--from",
            "a,b,c"
        ])
    );
    // Neither --candidates nor --from: clap's usage error, exit 2 as well.
    assert!(refused(&["bench", "regions", "--latency", AZURE]).contains("--candidates"));
}

#[test]
fn a_template_must_have_three_regions() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("two.yaml");
    let text = std::fs::read_to_string("scenarios/bench-regions.yaml")
        .unwrap()
        .replace("    - {name: region-3, location: canadacentral}\n", "")
        .replace("nodes: [region-1, region-2, region-3]", "nodes: [region-1]");
    std::fs::write(&template, text).unwrap();
    let stderr = refused(&[
        "bench",
        "regions",
        "--latency",
        AZURE,
        "--from",
        "eastus,westus,uksouth",
        "--template",
        template.to_str().unwrap(),
    ]);
    assert!(stderr.contains("the template has 2 region(s)"), "{stderr}");
}

/// A steady history of one transaction: broadcast by the gateway in us-east, ordered and
/// written by the leader in us-east, acknowledged `commit_ms` after its submission.
fn one_transaction(commit_ms: u64) -> hadr::history::History {
    let log = |node: &str, line: LogLine| {
        EventKind::NodeLog(NodeLogRecord {
            node: node.to_string(),
            line,
        })
    };
    let op = |phase| {
        EventKind::Op(Operation {
            op_id: 1,
            process: "client.us-east".into(),
            phase,
            function: "create_asset".into(),
            tx_id: Some("t1".into()),
            node: None,
            detail: String::new(),
        })
    };
    let leader = "orderer0.us-east";
    HistoryBuilder::new()
        .push(0, EventKind::WorkloadStarted)
        .push(1000, op(OpPhase::Invoke))
        .push(
            1001,
            log(
                "peer0.org1.us-east",
                LogLine::Broadcast {
                    tx_id: "t1".into(),
                    orderer: leader.into(),
                },
            ),
        )
        .push(1002, log(leader, LogLine::Enqueued { tx_id: "t1".into() }))
        .push(
            1003,
            log(
                leader,
                LogLine::BlockCut {
                    number: 5,
                    tx_ids: vec!["t1".into()],
                },
            ),
        )
        .push(1004, log(leader, LogLine::BlockWritten { number: 5 }))
        .push(1000 + commit_ms, op(OpPhase::Ok))
        .build()
}

#[test]
fn a_commit_below_the_physical_floor_is_reported() {
    let mut scenario = three_region_scenario();
    scenario.topology.ordering_service.nodes =
        vec!["us-east".into(), "us-west".into(), "ca-central".into()];
    // Floor: 0.5 ms to the leader next door, 25 ms quorum round trip (to Canada), 0.5 ms back.
    let fine = steady(&scenario, &one_transaction(30));
    assert_eq!(fine.txs.len(), 1);
    assert_eq!(fine.txs[0].ordering_ms, 1 + 1);
    assert!(below_floor(&scenario, &fine).is_empty());
    let impossible = steady(&scenario, &one_transaction(20));
    let violations = below_floor(&scenario, &impossible);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].commit_ms, 20.0);
    assert_eq!(violations[0].floor_ms, 26.0);
}

#[test]
fn no_election_is_credited_when_the_lost_region_did_not_hold_the_leader() {
    let fault = |phase| {
        EventKind::Fault(FaultRecord {
            index: 0,
            phase,
            description: "region outage us-west (lost)".into(),
            regions: vec!["us-west".into()],
            role: None,
        })
    };
    let elected = |node: &str| {
        EventKind::NodeLog(NodeLogRecord {
            node: node.into(),
            line: LogLine::BecameLeader,
        })
    };
    let history = HistoryBuilder::new()
        .push(100, elected("orderer0.us-east"))
        .push(1000, fault(FaultPhase::Start))
        .push(7000, elected("orderer2.ca-central"))
        .build();
    let figures = outage(&history, "us-west");
    assert_eq!(figures.leader_at_loss.as_deref(), Some("orderer0.us-east"));
    assert_eq!(figures.election_ms, None);
    let figures = outage(&history, "us-east");
    assert_eq!(figures.election_ms, Some(6000));
    assert_eq!(figures.new_leader.as_deref(), Some("orderer2.ca-central"));
}

fn bench(args: &[&str]) -> (Value, String, String) {
    bench_of(AZURE, args)
}

fn bench_of(fixture: &str, args: &[&str]) -> (Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap().to_string();
    let mut all = vec!["bench", "regions", "--latency", fixture];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", &out_dir]);
    let out = hadr(&all);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = std::fs::read_to_string(dir.path().join("bench.json")).unwrap();
    let md = std::fs::read_to_string(dir.path().join("bench.md")).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("floor"), "{svg}");
    assert_eq!(out.stdout.trim_end(), md.trim_end());
    assert!(out.stderr.contains("[1/"), "progress: {}", out.stderr);
    (serde_json::from_str(&json).unwrap(), md, out.stderr)
}

fn f(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn the_docs_preferred_triple_ranks_first_and_agrees_with_the_arithmetic() {
    let (json, md, _) = bench(&[
        "--candidates",
        "eastus,westus,canadacentral",
        "westus,uksouth,japaneast",
        "--ordering",
        "spread",
    ]);
    let candidates = json["candidates"].as_array().unwrap();
    let names: Vec<String> = candidates
        .iter()
        .map(|c| {
            serde_json::from_value::<Vec<String>>(c["locations"].clone())
                .unwrap()
                .join(",")
        })
        .collect();
    assert_eq!(
        names,
        ["eastus,westus,canadacentral", "westus,uksouth,japaneast"],
        "{md}"
    );
    let ordering = |c: &Value| f(&c["ordering_latency_ms"]["mean"]);
    let arithmetic = |c: &Value| f(&c["arithmetic"]["ordering_ms"]);
    let measured = ordering(&candidates[1]) - ordering(&candidates[0]);
    let expected = arithmetic(&candidates[1]) - arithmetic(&candidates[0]);
    assert!(
        (measured - expected).abs() <= 0.2 * expected,
        "measured difference {measured} ms, arithmetic {expected} ms\n{md}"
    );
    assert!(f(&json["latency_resolution_ms"]) <= 0.05 * 22.0);
    for c in candidates {
        // The bench's own output: no commit below its physical floor.
        assert_eq!(c["floor_violations"], Value::Array(vec![]), "{md}");
        assert!(
            f(&c["commit_latency_ms"]["min"]) >= f(&c["arithmetic"]["commit_floor_ms"]),
            "{md}"
        );
        let [low, high] = [0, 1].map(|i| f(&c["arithmetic"]["election_ms"][i]));
        for run in c["runs"].as_array().unwrap() {
            assert_eq!(
                run["leader"], run["lost"],
                "the outage run lost the leader's region"
            );
            let election = f(&run["election_ms"]);
            // The window plus a few ticks of the sim's own steps.
            assert!(
                low <= election && election <= high + 100.0,
                "{election} not in {low}..{high}"
            );
            assert!(f(&run["resume_ms"]) >= f(&c["arithmetic"]["resume_min_ms"]));
            assert!(f(&run["catch_up_ms"]) >= f(&c["arithmetic"]["catch_up_min_ms"]));
        }
    }
}

#[test]
fn a_small_run_with_the_docs_ordering_service_is_reproducible() {
    let args = [
        "--candidates",
        "eastus,westus,canadacentral",
        "--ordering",
        "first",
        "--seeds",
        "1",
        "--duration",
        "5s",
        "--jobs",
        "1",
    ];
    let (json, md, _) = bench(&args);
    insta::assert_snapshot!("first_ordering_table", md);
    let candidate = &json["candidates"][0];
    // Every ordering node in eastus: no survivor can elect, and the note says why.
    assert_eq!(candidate["leader_loss"]["election_ms"]["samples"], 0);
    assert!(md.contains("every ordering node is in eastus"), "{md}");
    assert_eq!(candidate["runs"][0]["lost"], "westus");
    let (again, _, _) = bench(&args);
    let strip = |mut v: Value| {
        v["wall_time_ms"] = Value::Null;
        v
    };
    assert_eq!(strip(json), strip(again), "same request, same bench.json");
}

/// IBM Cloud's Toronto-Washington is 19 ms: the 1 ms tick is 5.3 % of it, so the steady run
/// is dilated 2x. A finer tick measured half the floor (tokio rounds deadlines up to 1 ms);
/// dilated, the figures stay above the floor and agree with the arithmetic.
#[test]
fn a_round_trip_under_20_ms_is_resolved_by_dilating_the_steady_run() {
    let (json, md, _) = bench_of(
        "fixtures/latency/ibm-cloud-2026-01.json",
        &[
            "--candidates",
            "dallas,toronto,washington",
            "--seeds",
            "1",
            "--duration",
            "10s",
        ],
    );
    let c = &json["candidates"][0];
    assert_eq!(c["dilation"], 2, "{md}");
    assert_eq!(f(&c["latency_resolution_ms"]), 0.5);
    assert!(f(&json["latency_resolution_ms"]) <= 0.05 * 19.0, "{md}");
    assert!(md.contains("within the 5 % target"), "{md}");
    assert!(md.contains("time dilated up to 2x"), "{md}");
    assert_eq!(c["floor_violations"], Value::Array(vec![]), "{md}");
    assert!(
        f(&c["commit_latency_ms"]["min"]) >= f(&c["arithmetic"]["commit_floor_ms"]),
        "{md}"
    );
    let (measured, arithmetic) = (
        f(&c["ordering_latency_ms"]["mean"]),
        f(&c["arithmetic"]["ordering_ms"]),
    );
    assert!(
        measured >= arithmetic && measured <= 1.1 * arithmetic,
        "ordering {measured} ms against {arithmetic} ms\n{md}"
    );
    // The outage run is not dilated: its figures are seconds, as undilated.
    let election = f(&c["runs"][0]["election_ms"]);
    let [low, high] = [0, 1].map(|i| f(&c["arithmetic"]["election_ms"][i]));
    assert!(low <= election && election <= high + 100.0, "{md}");
}

/// Dilation is a change of units, not of behaviour: the same steady run, dilated 2x by hand,
/// measures the same ordering latency and commit latency (in real ms) as undilated, and
/// nothing below its physical floor. (Dissemination is not compared run by run: which
/// ordering node a peer delivers from is drawn at random, and the draw differs once the
/// events' order within a tick does.)
#[test]
fn a_dilated_steady_run_measures_what_the_undilated_one_does() {
    use hadr::bench::{arithmetic, dilation, figures, plan, scenario_for};
    use hadr::bench::{Placement, Request, RunKind};
    use hadr::substrate::Substrate;
    let request = Request {
        latency: AZURE.into(),
        candidates: vec!["eastus,westus,canadacentral".into()],
        from: None,
        ordering: Placement::Spread,
        template: None,
        rate: 10.0,
        batch_timeout: None,
        duration: "8s".into(),
        seeds: 1,
        jobs: 1,
    };
    let plan = plan(&request).unwrap();
    let candidate = plan.candidates[0].clone();
    let real = scenario_for(&plan, &candidate, 1, &RunKind::Steady);
    assert_eq!(hadr::bench::dilation_for(&plan, &candidate), 1);
    let mut dilated = real.clone();
    dilation::dilate(&mut dilated, 2);
    let run = |scenario: &hadr::scenario::model::Scenario| {
        let output = hadr::substrate::sim::Sim
            .run(scenario, &hadr::runner::progress::Silent)
            .unwrap();
        assert!(output.stopped.is_none());
        figures::steady(scenario, &output.history)
    };
    let (a, b) = (run(&real), run(&dilated));
    assert_eq!(a.leader, b.leader, "the seed places the leader alike");
    assert_eq!(
        a.commit_ms.len(),
        b.commit_ms.len(),
        "the same transactions"
    );
    let mean = |values: Vec<f64>| values.iter().sum::<f64>() / values.len() as f64;
    let ordering = |s: &figures::Steady, k: f64| {
        mean(s.txs.iter().map(|t| t.ordering_ms as f64 / k).collect())
    };
    let (undilated, halved) = (ordering(&a, 1.0), ordering(&b, 2.0));
    // Measured on this seed: 107.9 ms undilated, 107.4 ms dilated.
    assert!(
        (undilated - halved).abs() <= 1.0,
        "ordering: {undilated} ms undilated, {halved} ms dilated"
    );
    // Commit latency is mostly the batch wait (BatchTimeout, dilated with the rest).
    let commit =
        |s: &figures::Steady, k: f64| mean(s.commit_ms.iter().map(|ms| *ms as f64 / k).collect());
    let (x, y) = (commit(&a, 1.0), commit(&b, 2.0));
    assert!(
        (x - y).abs() <= 0.1 * x,
        "commit: {x} ms undilated, {y} ms dilated"
    );
    assert!(below_floor(&dilated, &b).is_empty());
    for block in &b.blocks {
        for (region, ms) in &block.to_region_ms {
            let floor = arithmetic::delivery_ms(&dilated.topology, &block.leader, region);
            assert!(
                *ms as f64 >= floor - 1e-9,
                "block {block:?}: {region} below {floor}"
            );
        }
    }
}
