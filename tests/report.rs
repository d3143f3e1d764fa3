//! The reports through the library API: report.json's fields, report.md (snapshot), junit.xml
//! and timeline.svg parsed back as XML, and write_all.

use hadr::checks::testkit::{outage, synthetic_run, three_region_scenario, HistoryBuilder};
use hadr::history::{History, StepOutcome, StepRecord};
use hadr::report::{junit_xml, markdown, timeline_svg, write_all, Report};
use hadr::scenario::model::{
    Expectation, Fault, FaultKind, Limit, Organization, OutageMode, Scenario,
};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::BTreeMap;
use std::time::Duration;

/// The ordering service's region out from 180s to 240s, the client in ca-central, a failed
/// and a skipped procedure step: a run that fails for the documented reason.
fn failing_run() -> (Scenario, History) {
    let mut scenario = three_region_scenario();
    scenario.faults = vec![outage("us-east", 120, Some(60))];
    scenario.workload.clients = vec!["ca-central".to_string()];
    scenario.expect[4] = Expectation::ConsoleFailover {
        failed_region: "us-east".to_string(),
    };
    scenario.expect.push(Expectation::DocumentedLimit {
        limit: Limit::OrderingService,
    });
    scenario.procedure.skip = vec!["export-ca".to_string()];
    let mut history = synthetic_run(&scenario);
    let step = |action: &str, anchor: Option<&str>, outcome, detail: &str| StepRecord {
        section: "ibp-console-hadr-create-new-peers".to_string(),
        anchor: anchor.map(str::to_string),
        action: action.to_string(),
        region: "ca-central".to_string(),
        outcome,
        detail: detail.to_string(),
    };
    let steps = HistoryBuilder::new()
        .step(
            20_000,
            step(
                "set-anchor-peer",
                Some("ibp-console-govern-channels-anchor-peers"),
                StepOutcome::Failed,
                "409 Conflict: config update | stale version",
            ),
        )
        .step(
            21_000,
            step(
                "export-peers",
                None,
                StepOutcome::Skipped,
                "skip: export-ca",
            ),
        )
        .build();
    history.events.extend(steps.events);
    history.events.sort_by_key(|e| e.at_ms);
    (scenario, history)
}

fn passing_run() -> (Scenario, History) {
    let scenario = three_region_scenario();
    let history = synthetic_run(&scenario);
    (scenario, history)
}

/// An element's attributes, unescaped.
fn attributes_of(e: &quick_xml::events::BytesStart) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.expect("a well-formed attribute");
            (
                String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                a.unescape_value().expect("escaped value").into_owned(),
            )
        })
        .collect()
}

/// Every start or empty element: its name and attributes (unescaped); fails on malformed XML.
fn elements(xml: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let attributes = attributes_of(&e);
                out.push((
                    String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    attributes,
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn named<'a>(
    all: &'a [(String, BTreeMap<String, String>)],
    name: &str,
) -> Vec<&'a BTreeMap<String, String>> {
    all.iter()
        .filter(|(n, _)| n == name)
        .map(|(_, a)| a)
        .collect()
}

#[test]
fn report_json_keeps_design_fields_in_a_stable_order() {
    let (scenario, history) = failing_run();
    let json = Report::build(&scenario, &history, "sim", 1234).to_json();
    let keys = [
        "scenario",
        "seed",
        "substrate",
        "passed",
        "expectations",
        "peers",
        "faults",
        "stats",
        "sim_time_ms",
        "wall_time_ms",
        "limits",
        "latency_resolution_ms",
        "steps",
        "network",
        "scenario_file",
        "replay",
    ];
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            json.find(&format!("\n  \"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(value["passed"], false);
    assert_eq!(value["seed"], 1);
    assert_eq!(
        value["replay"],
        "hadr run scenarios/multi-region-ha.yaml --seed 1"
    );
    assert_eq!(value["stats"]["transactions_submitted"], 1800);
    assert_eq!(value["stats"]["commit_latency_ms"]["p50"], 1500);
    let expectation = &value["expectations"][2];
    assert_eq!(expectation["name"], "transactions_continue");
    assert_eq!(expectation["passed"], false);
    assert!(expectation["detail"]
        .as_str()
        .is_some_and(|d| d.contains("expected: the ordering service is not multi-region")));
    let peer = &value["peers"][0];
    assert_eq!(peer["name"], "peer0.org1.us-east");
    assert_eq!(peer["region"], "us-east");
    assert_eq!(peer["msp_id"], "Org1MSP");
    assert_eq!(peer["height"], 150);
    assert_eq!(value["limits"][0]["effect"]["stalled_ms"], 64_000);
    assert_eq!(value["steps"]["failed"], 1);
    assert_eq!(
        value["steps"]["not_ok"][0]["anchor"],
        "ibp-console-govern-channels-anchor-peers"
    );
}

#[test]
fn only_wall_time_differs_between_two_builds_of_one_run() {
    let (scenario, history) = failing_run();
    let one = Report::build(&scenario, &history, "sim", 1);
    let two = Report::build(&scenario, &history, "sim", 99_999);
    assert_eq!(
        one.to_json().replace("\"wall_time_ms\": 1,", ""),
        two.to_json().replace("\"wall_time_ms\": 99999,", "")
    );
    assert_eq!(timeline_svg(&one, &history), timeline_svg(&two, &history));
}

#[test]
fn report_md_tells_what_ran_what_failed_and_why() {
    let (scenario, history) = failing_run();
    let report = Report::build(&scenario, &history, "sim", 1234);
    insta::assert_snapshot!(markdown(&report));
}

#[test]
fn report_md_of_a_passing_run_says_nothing_failed() {
    let (scenario, history) = passing_run();
    let report = Report::build(&scenario, &history, "kind", 1234);
    let md = markdown(&report);
    assert!(md.starts_with("# hadr: multi-region-ha passed\n"), "{md}");
    assert!(md.contains("**PASSED**: all 5 expectations held."), "{md}");
    assert!(
        md.contains("## What failed and why\n\nNothing failed."),
        "{md}"
    );
    assert!(md.contains("hadr run scenarios/multi-region-ha.yaml --seed 1 --substrate kind"));
}

#[test]
fn junit_xml_parses_back_with_one_failure_per_failed_expectation() {
    let (scenario, history) = failing_run();
    let mut report = Report::build(&scenario, &history, "sim", 1234);
    report.expectations[0].passed = false;
    report.expectations[0].detail = "height <12> & \"fork\" at 'block 3'".to_string();
    let xml = junit_xml(&[&report]);
    let all = elements(&xml);
    assert_eq!(named(&all, "testsuites").len(), 1);
    let suites = named(&all, "testsuite");
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0]["name"], "multi-region-ha");
    assert_eq!(suites[0]["tests"], "6");
    assert_eq!(suites[0]["failures"], "2");
    assert_eq!(suites[0]["time"], "1.234");
    let cases = named(&all, "testcase");
    assert_eq!(cases.len(), report.expectations.len());
    assert_eq!(
        cases[2]["name"],
        "transactions_continue (during_fault: 0, min_success_ratio: 0.95)"
    );
    let failures = named(&all, "failure");
    assert_eq!(failures.len(), 2);
    assert_eq!(
        failures[0]["message"],
        "height <12> & \"fork\" at 'block 3'"
    );
    assert_eq!(failures[0]["type"], "ledger_in_sync");
    let properties = named(&all, "property");
    assert!(properties
        .iter()
        .any(|p| p["name"] == "replay" && p["value"] == report.replay));
}

#[test]
fn junit_xml_has_one_testsuite_per_scenario() {
    let (scenario, history) = failing_run();
    let failing = Report::build(&scenario, &history, "sim", 10);
    let (scenario, history) = passing_run();
    let mut passing = Report::build(&scenario, &history, "sim", 10);
    passing.scenario = "us-west-outage".to_string();
    let all = elements(&junit_xml(&[&failing, &passing]));
    let suites = named(&all, "testsuite");
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[1]["name"], "us-west-outage");
    assert_eq!(suites[1]["failures"], "0");
    assert_eq!(named(&all, "testsuites")[0]["tests"], "11");
}

/// The timeline's structure as text: one line per element with a `class` (indented by the
/// nesting of such elements) with its `data-` attributes, and a text's content. What a person
/// sees in the picture (panels, region groups, peers, gaps, fault labels), not its bytes.
fn svg_outline(svg: &str) -> String {
    let mut reader = Reader::from_str(svg);
    let mut out = String::new();
    // Per open element: whether it printed a line (and so indents what it holds).
    let mut open: Vec<bool> = Vec::new();
    let mut pending_text: Option<String> = None;
    loop {
        let event = reader.read_event().expect("well-formed SVG");
        let (element, is_start) = match &event {
            Event::Start(e) => (Some(e.clone()), true),
            Event::Empty(e) => (Some(e.clone()), false),
            Event::Text(t) => {
                if let Some(line) = pending_text.take() {
                    let content = t.unescape().expect("escaped text");
                    out.push_str(&format!("{line} {content:?}\n"));
                }
                continue;
            }
            Event::End(_) => {
                if let Some(line) = pending_text.take() {
                    out.push_str(&format!("{line}\n"));
                }
                open.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let e = element.expect("an element");
        let attributes = attributes_of(&e);
        let printed = attributes.get("class").map(|class| {
            let depth = open.iter().filter(|p| **p).count();
            let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            let data: Vec<String> = attributes
                .iter()
                .filter(|(k, _)| k.starts_with("data-"))
                .map(|(k, v)| format!("{}={v}", &k[5..]))
                .collect();
            format!("{}{name}.{class} {}", "  ".repeat(depth), data.join(" "))
                .trim_end()
                .to_string()
        });
        match (printed, is_start) {
            (Some(line), true) if e.name().as_ref() == b"text" => pending_text = Some(line),
            (Some(line), _) => out.push_str(&format!("{line}\n")),
            (None, _) => {}
        }
        if is_start {
            open.push(attributes.contains_key("class"));
        }
    }
    out
}

/// A killed-mode outage of us-west (120s for 60s), a partition cutting ca-central off
/// (200s for 30s) and extra latency between us-east and us-west (260s for 40s), on the
/// synthetic recording of three_region_scenario.
fn three_faults_run() -> (Scenario, History) {
    let mut scenario = three_region_scenario();
    let mut killed = outage("us-west", 120, Some(60));
    killed.kind = FaultKind::RegionOutage {
        region: "us-west".to_string(),
        mode: OutageMode::Killed,
    };
    scenario.faults = vec![
        killed,
        Fault {
            at: Duration::from_secs(200),
            duration: Some(Duration::from_secs(30)),
            kind: FaultKind::Partition {
                sides: [
                    vec!["ca-central".to_string()],
                    vec!["us-east".to_string(), "us-west".to_string()],
                ],
            },
        },
        Fault {
            at: Duration::from_secs(260),
            duration: Some(Duration::from_secs(40)),
            kind: FaultKind::Latency {
                regions: ["us-east".to_string(), "us-west".to_string()],
                rtt: Duration::from_millis(300),
            },
        },
    ];
    let history = synthetic_run(&scenario);
    (scenario, history)
}

#[test]
fn timeline_svg_outline_of_an_outage_a_partition_and_a_latency_fault() {
    let (scenario, history) = three_faults_run();
    let report = Report::build(&scenario, &history, "sim", 0);
    insta::assert_snapshot!(svg_outline(&timeline_svg(&report, &history)));
}

#[test]
fn timeline_svg_breaks_a_killed_peer_where_it_was_down_and_counts_time_from_the_workload() {
    let (scenario, history) = three_faults_run();
    let report = Report::build(&scenario, &history, "sim", 0);
    let svg = timeline_svg(&report, &history);
    let all = elements(&svg);
    // Both us-west peers: one gap, from the outage (synthetic workload start 60s + 120s)
    // to their first sample after the heal.
    let gaps: Vec<_> = named(&all, "rect")
        .into_iter()
        .filter(|r| r.get("class").is_some_and(|c| c == "gap"))
        .collect();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for gap in &gaps {
        assert_eq!(gap["data-cause"], "down");
        assert_eq!(gap["data-from-ms"], "180000");
        assert_eq!(gap["data-to-ms"], "240000");
    }
    let lag_lines: Vec<_> = named(&all, "path")
        .into_iter()
        .filter(|p| p.get("class").is_some_and(|c| c == "lag"))
        .collect();
    assert_eq!(lag_lines.len(), report.peers.len());
    for line in &lag_lines {
        let broken = line["data-peer"].ends_with(".us-west");
        assert_eq!(
            line["data-segments"],
            if broken { "2" } else { "1" },
            "{line:?}"
        );
        assert_eq!(line["d"].matches('M').count(), if broken { 2 } else { 1 });
    }
    // The axis counts from the workload's start: the outage at 2m is at the label "2m".
    assert!(svg.contains(">2m</text>"), "no 2m tick");
    assert!(svg.contains(">0</text>"), "no 0 tick");
    assert!(svg.contains(">fault 0: region outage us-west (killed)</text>"));
}

#[test]
fn timeline_svg_shows_the_partitioned_region_lagging_and_catching_up() {
    let (scenario, history) = three_faults_run();
    let report = Report::build(&scenario, &history, "sim", 0);
    let all = elements(&timeline_svg(&report, &history));
    let lag = named(&all, "path")
        .into_iter()
        .find(|p| {
            p.get("data-peer")
                .is_some_and(|n| n == "peer0.org1.ca-central")
        })
        .expect("a lag line for the ca-central peer")["d"]
        .clone();
    let ys: Vec<f64> = lag
        .split(['M', 'L'])
        .filter_map(|p| p.trim().split(',').nth(1))
        .map(|y| y.parse().expect("a number"))
        .collect();
    let (lowest, highest) = ys
        .iter()
        .fold((f64::MIN, f64::MAX), |(lo, hi), y| (lo.max(*y), hi.min(*y)));
    // The partition drives its lag up (the lane is 48 px high), and it comes back to 0.
    assert!(lowest - highest > 15.0, "{lowest} {highest}");
    assert_eq!(ys.last(), Some(&lowest));
}

#[test]
fn timeline_svg_stays_readable_with_eighteen_peers_and_hundreds_of_samples() {
    let mut scenario = three_region_scenario();
    scenario.topology.organizations.push(Organization {
        msp_id: "Org3MSP".to_string(),
        home: "ca-central".to_string(),
        regions: ["ca-central", "us-east", "us-west"]
            .map(str::to_string)
            .to_vec(),
        ..scenario.topology.organizations[0].clone()
    });
    for org in &mut scenario.topology.organizations {
        org.peers_per_region = 2;
    }
    scenario.workload.duration = std::time::Duration::from_secs(600);
    let history = synthetic_run(&scenario);
    let report = Report::build(&scenario, &history, "sim", 0);
    assert_eq!(report.peers.len(), 18);
    let samples = history
        .events
        .iter()
        .filter(|e| matches!(&e.kind, hadr::history::EventKind::LedgerInfo(i) if i.peer == "peer1.org2.ca-central"))
        .count();
    assert!(samples >= 600, "{samples} samples");
    let svg = timeline_svg(&report, &history);
    let all = elements(&svg);
    // At most two points per pixel column of the 806 px plot.
    for path in named(&all, "path") {
        let points = path["d"].matches(['M', 'L']).count();
        assert!(points <= 1612, "{points} points in one path");
    }
    // Peers grouped by region: three groups of six in the peers panel.
    let groups: Vec<_> = named(&all, "g")
        .into_iter()
        .filter(|g| g.get("class").is_some_and(|c| c == "group"))
        .collect();
    assert_eq!(
        groups.len(),
        6,
        "three regions in the lag panel and in the peers panel"
    );
    assert_eq!(
        named(&all, "g")
            .iter()
            .filter(|g| g.get("class").is_some_and(|c| c == "peer-row"))
            .count(),
        18
    );
    assert!(svg.len() < 600_000, "{} bytes", svg.len());
    // The dash legend names the two peers per region there are, not a third.
    assert!(svg.contains(">peer0 solid, peer1 dashed<"), "dash legend");
    assert!(!svg.contains("peer2 dotted"), "dash legend names a peer2");
}

#[test]
fn write_all_writes_the_four_reports_and_the_history() {
    let (scenario, history) = failing_run();
    let report = Report::build(&scenario, &history, "sim", 1234);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("out");
    let written = write_all(&out, &report, &history).expect("written");
    let names: Vec<String> = written
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "report.json",
            "report.md",
            "junit.xml",
            "timeline.svg",
            "history.jsonl"
        ]
    );
    let lines = std::fs::read_to_string(out.join("history.jsonl")).expect("history.jsonl");
    assert_eq!(lines.lines().count(), history.events.len());
    let json = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    assert_eq!(json, report.to_json());
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert_eq!(md, markdown(&report));
}

#[test]
fn write_all_says_which_file_it_could_not_write() {
    let (scenario, history) = passing_run();
    let report = Report::build(&scenario, &history, "sim", 0);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a directory").expect("written");
    let error = write_all(&blocker.join("out"), &report, &history).expect_err("cannot write");
    assert!(error.to_string().starts_with("cannot write "), "{error}");
}
