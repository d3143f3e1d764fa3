//! Every file in tests/fixtures/bad-scenarios/ is refused, and its diagnostics (file, line,
//! column, source line with caret, what was expected, a hint) are snapshotted.

use std::path::{Path, PathBuf};

fn bad_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/bad-scenarios")
        .expect("tests/fixtures/bad-scenarios")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bad_scenario_is_refused_with_located_explained_errors() {
    let files = bad_scenarios();
    assert!(files.len() >= 12, "only {} bad scenarios", files.len());
    for path in &files {
        let error =
            hadr::scenario::load(path).expect_err(&format!("{} should be invalid", path.display()));
        for diagnostic in &error.diagnostics {
            assert_eq!(Path::new(&diagnostic.path), path.as_path());
            assert!(!diagnostic.message.is_empty());
            assert!(!diagnostic.expected.is_empty(), "{diagnostic}");
            assert!(!diagnostic.hint.is_empty(), "{diagnostic}");
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        insta::assert_snapshot!(name, error.to_string());
    }
}

#[test]
fn a_file_with_several_problems_reports_each() {
    let error = hadr::scenario::load(Path::new(
        "tests/fixtures/bad-scenarios/several-problems.yaml",
    ))
    .unwrap_err();
    let lines: Vec<u64> = error
        .diagnostics
        .iter()
        .map(|d| d.position.unwrap().line)
        .collect();
    assert_eq!(lines.len(), 3, "{error}");
}

#[test]
fn the_example_scenarios_are_valid() {
    for entry in std::fs::read_dir("scenarios").unwrap() {
        let path = entry.unwrap().path();
        if let Err(error) = hadr::scenario::load(&path) {
            panic!("{error}");
        }
    }
}
