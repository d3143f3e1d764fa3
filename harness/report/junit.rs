//! junit.xml: one `<testsuite>` per scenario, one `<testcase>` per expectation, a `<failure>`
//! carrying the detail when it failed: what CI systems (GitLab, Jenkins, GitHub annotations)
//! read. Written with quick-xml so every detail is escaped.

use super::Report;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

fn write_suite(w: &mut Writer<Vec<u8>>, report: &Report) -> io::Result<()> {
    let stopped = usize::from(report.stopped.is_some());
    let failures = report.expectations.iter().filter(|e| !e.passed).count() + stopped;
    let tests = (report.expectations.len() + stopped).to_string();
    let failures = failures.to_string();
    // JUnit's `time` is wall-clock by definition: the one non-deterministic attribute.
    let time = format!("{:.3}", report.wall_time_ms as f64 / 1000.0);
    let classname = format!("hadr.{}", report.scenario);
    w.create_element("testsuite")
        .with_attributes([
            ("name", report.scenario.as_str()),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
            ("errors", "0"),
            ("skipped", "0"),
            ("time", time.as_str()),
        ])
        .write_inner_content(|w| {
            let seed = report.seed.to_string();
            let sim_time = report.sim_time_ms.to_string();
            w.create_element("properties").write_inner_content(|w| {
                for (name, value) in [
                    ("scenario_file", report.scenario_file.as_str()),
                    ("seed", seed.as_str()),
                    ("substrate", report.substrate.as_str()),
                    ("sim_time_ms", sim_time.as_str()),
                    ("replay", report.replay.as_str()),
                ] {
                    w.create_element("property")
                        .with_attributes([("name", name), ("value", value)])
                        .write_empty()?;
                }
                Ok(())
            })?;
            // A run that stopped early is a failed test case of its own, first.
            if let Some(stopped) = &report.stopped {
                w.create_element("testcase")
                    .with_attributes([("name", "run"), ("classname", classname.as_str())])
                    .write_inner_content(|w| {
                        w.create_element("failure")
                            .with_attributes([
                                ("message", stopped.message.as_str()),
                                ("type", "run_stopped"),
                            ])
                            .write_text_content(BytesText::new(&stopped.message))?;
                        Ok(())
                    })?;
            }
            for e in &report.expectations {
                let label = e.label();
                let case = w
                    .create_element("testcase")
                    .with_attributes([("name", label.as_str()), ("classname", classname.as_str())]);
                if e.passed {
                    case.write_empty()?;
                } else {
                    case.write_inner_content(|w| {
                        w.create_element("failure")
                            .with_attributes([
                                ("message", e.detail.as_str()),
                                ("type", e.name.as_str()),
                            ])
                            .write_text_content(BytesText::new(&e.detail))?;
                        Ok(())
                    })?;
                }
            }
            if !report.passed {
                w.create_element("system-out")
                    .write_text_content(BytesText::new(&format!("replay: {}", report.replay)))?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_suites(reports: &[&Report]) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let stopped = |r: &Report| usize::from(r.stopped.is_some());
    let tests: usize = reports
        .iter()
        .map(|r| r.expectations.len() + stopped(r))
        .sum();
    let failures: usize = reports
        .iter()
        .map(|r| r.expectations.iter().filter(|e| !e.passed).count() + stopped(r))
        .sum();
    let (tests, failures) = (tests.to_string(), failures.to_string());
    w.create_element("testsuites")
        .with_attributes([
            ("name", "hadr"),
            ("tests", tests.as_str()),
            ("failures", failures.as_str()),
        ])
        .write_inner_content(|w| {
            for report in reports {
                write_suite(w, report)?;
            }
            Ok(())
        })?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// junit.xml for one or several scenario runs.
pub fn junit_xml(reports: &[&Report]) -> String {
    // Writing into a Vec cannot fail, and quick-xml writes the UTF-8 it is given.
    super::xml_safe(
        write_suites(reports)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default(),
    )
}
