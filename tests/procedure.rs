//! `hadr procedure show` and `hadr procedure check`, through the binary and the library.

mod common;
use common::hadr;
use hadr::procedure::{check, doc};
use std::path::PathBuf;

#[test]
fn show_prints_the_example_runbook_per_region() {
    let out = hadr(&["procedure", "show"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn show_marks_skipped_and_recreated_steps() {
    let out = hadr(&[
        "procedure",
        "show",
        "--scenario",
        "tests/fixtures/mutated-procedure.yaml",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn show_refuses_an_invalid_scenario() {
    let out = hadr(&[
        "procedure",
        "show",
        "--scenario",
        "tests/fixtures/bad-scenarios/skip-unknown-step.yaml",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean `import-ca`?"),
        "{}",
        out.stderr
    );
}

/// The published translations, when shared/seeds is next to the repository.
fn seeds() -> Option<Vec<PathBuf>> {
    let Some(dir) = hadr::test_support::find_shared("seeds") else {
        println!(
            "skipped: shared/seeds/ (the published translations) not found next to the repository"
        );
        return None;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    Some(files)
}

const SECTIONS: [&str; 4] = [
    "ibp-console-hadr-peerCA",
    "ibp-console-hadr-export-meta1",
    "ibp-console-hadr-import-meta23",
    "ibp-console-hadr-create-new-peers",
];

#[test]
fn every_translation_is_covered_with_the_two_published_defects_as_warnings() {
    let Some(files) = seeds() else { return };
    let mut args = vec!["procedure".to_string(), "check".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hadr(&args);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let reports: Vec<&str> = out.stdout.split("\n\n").collect();
    assert_eq!(reports.len(), 5);
    for report in reports {
        for section in SECTIONS {
            assert!(report.contains(&format!("section #{section} ")), "{report}");
        }
        let warnings: Vec<&str> = report.lines().filter(|l| l.contains("warning:")).collect();
        assert_eq!(warnings.len(), 2, "{report}");
        assert!(warnings[0].contains(
            "links #ibp-console-join-network-join-peer-org2, already the target of step 9"
        ));
        assert!(warnings[1].contains("step number `2.` repeats `2.`"));
        assert!(
            report.ends_with("ok: every section, step and link anchor has a runbook action")
                || report
                    .trim_end()
                    .ends_with("ok: every section, step and link anchor has a runbook action")
        );
    }
}

#[test]
fn the_five_translations_have_one_structure() {
    let Some(files) = seeds() else { return };
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let documents: Vec<doc::Document> = texts.iter().map(|t| doc::parse(t)).collect();
    let first = documents[0].shape();
    assert_eq!(first.len(), 7);
    for (file, document) in files.iter().zip(&documents) {
        assert_eq!(document.shape(), first, "{}", file.display());
    }
}

#[test]
fn the_check_report_of_one_translation() {
    let Some(files) = seeds() else { return };
    let name = files[0].file_name().unwrap().to_str().unwrap();
    let report = check::check(name, &std::fs::read_to_string(&files[0]).unwrap());
    assert!(report.passed());
    insta::assert_snapshot!(report.to_string());
}

#[test]
fn an_incomplete_doc_fails_and_an_unreadable_one_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("partial.md");
    std::fs::write(
        &partial,
        "# Multi-region\n{: #ibp-console-hadr-mr}\n\n## Steps\n{: #ibp-console-hadr-peerCA}\n\n1. [CA](/docs#ibp-console-build-network-create-CA-org1CA)\n2. [Other](/docs#ibp-console-unknown-anchor)\n",
    )
    .unwrap();
    let out = hadr(&["procedure", "check", partial.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out
        .stdout
        .contains("link anchor #ibp-console-unknown-anchor has no runbook action"));
    assert!(out.stdout.contains("runbook action `export-ca` implements section #ibp-console-hadr-export-meta1, which this file does not have"));
    assert!(out.stdout.contains("FAILED"));

    let missing = dir.path().join("missing.md");
    let out = hadr(&[
        "procedure",
        "check",
        partial.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot read the doc"));
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .args(["procedure", "show"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, like `hadr procedure show | head -0`
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
