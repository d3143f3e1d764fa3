//! Scenario files from outside: whatever `hadr validate` is given, it answers (exit 0 or 2)
//! without blocking, panicking or reading without end; and a bounded mutation fuzzer over the
//! shipped scenarios and the bad-scenario corpus (tests/fixtures/bad-scenarios/, which holds
//! the inputs that once broke the loader) checks the same of the library.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `hadr validate PATH` and returns its exit code, failing if it does not finish within
/// `limit` (a hang is the defect these tests look for).
fn validate_within(path: &Path, limit: Duration) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hadr"))
        .arg("validate")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hadr");
    // Read stderr as it comes: a full pipe would block the child.
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        stderr
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = reader.join().unwrap();
            return (status.code().expect("exited normally"), stderr);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hadr validate {} did not finish within {limit:?}",
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_fifo_a_device_and_a_directory_are_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("scenario.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let mut paths = vec![PathBuf::from("/dev/zero"), dir.path().to_path_buf()];
    match made {
        Ok(status) if status.success() => paths.push(fifo),
        _ => println!("mkfifo unavailable: the FIFO case is skipped"),
    }
    for path in paths {
        let (code, stderr) = validate_within(&path, Duration::from_secs(10));
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("cannot read the scenario: it is"),
            "{stderr}"
        );
    }
}

#[test]
fn a_file_past_the_size_limit_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(hadr::scenario::input::MAX_INPUT_BYTES + 1)
        .unwrap();
    let (code, stderr) = validate_within(&path, Duration::from_secs(10));
    assert_eq!(code, 2);
    assert!(stderr.contains("more than hadr reads"), "{stderr}");
}

#[test]
fn carriage_return_line_endings_read_like_new_lines() {
    let text = std::fs::read_to_string("scenarios/multi-region-ha.yaml").unwrap();
    for ending in ["\r", "\r\n"] {
        let converted = text.replace('\n', ending);
        let scenario = hadr::scenario::parse(&converted, Path::new("scenarios/cr.yaml"))
            .unwrap_or_else(|e| panic!("{ending:?}: {e}"));
        assert_eq!(scenario.name, "multi-region-ha");
    }
    // Positions count lines as an editor does.
    let broken = text
        .replace("name: multi-region-ha", "nmae: multi-region-ha")
        .replace('\n', "\r");
    let error = hadr::scenario::parse(&broken, Path::new("cr.yaml")).unwrap_err();
    assert_eq!(
        error.diagnostics[0].position.unwrap().line,
        1 + text.lines().position(|l| l.starts_with("name:")).unwrap() as u64
    );
}

#[test]
fn names_of_100_kb_get_an_answer_at_once() {
    let text = std::fs::read_to_string("scenarios/multi-region-ha.yaml").unwrap();
    let long = "a".repeat(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.yaml");
    std::fs::write(
        &path,
        text.replace("region_outage: us-west", &format!("region_outage: {long}"))
            .replace("client_region: us-east", &format!("client_region: {long}b")),
    )
    .unwrap();
    let (code, stderr) = validate_within(&path, Duration::from_secs(10));
    assert_eq!(code, 2, "{stderr}");
    // Each long name is shown clipped, not 100,000 characters at a time.
    assert!(stderr.len() < 20_000, "{} bytes of messages", stderr.len());
    assert!(stderr.contains("characters)..."), "{stderr}");
}

#[test]
fn the_exit_code_is_2_for_every_file_of_the_corpus() {
    for entry in std::fs::read_dir("tests/fixtures/bad-scenarios").unwrap() {
        let path = entry.unwrap().path();
        let (code, stderr) = validate_within(&path, Duration::from_secs(10));
        assert_eq!(code, 2, "{}: {stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{}: raw escape in {stderr:?}",
            path.display()
        );
    }
}

/// What holds of every scenario the loader accepts: the node limit it checked before the
/// layout was built is the layout's true size.
fn accepted_scenario_invariants(scenario: &hadr::scenario::Scenario) -> Result<(), String> {
    let (count, layout) = (scenario.node_count(), scenario.layout().len());
    if count > hadr::scenario::validate::MAX_NODES || count != layout {
        return Err(format!("node_count {count}, layout {layout} nodes"));
    }
    Ok(())
}

#[test]
fn every_shipped_scenario_is_laid_out_with_the_nodes_it_was_counted_with() {
    let mut loaded = 0;
    for (name, _) in seeds() {
        if let Ok(scenario) = hadr::scenario::load(Path::new(&name)) {
            accepted_scenario_invariants(&scenario).unwrap_or_else(|e| panic!("{name}: {e}"));
            loaded += 1;
        }
    }
    // The shipped scenarios and the good fixtures, at least.
    assert!(loaded >= 25, "only {loaded} scenarios loaded");
}

/// The texts the fuzzer starts from: the files of `dirs` ending in `.extension`, in order.
fn files(dirs: &[&str], extension: &str) -> Vec<(String, String)> {
    let mut seeds = Vec::new();
    for dir in dirs {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect();
        entries.sort();
        for path in entries {
            let bytes = std::fs::read(&path).unwrap();
            seeds.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
    seeds
}

/// The shipped scenarios and the corpus.
fn seeds() -> Vec<(String, String)> {
    files(
        &[
            "scenarios",
            "tests/fixtures/bad-scenarios",
            "tests/fixtures/scenarios",
        ],
        "yaml",
    )
}

/// Values that broke loaders before: limits of integer and float types, zero, negatives,
/// durations at and past every bound, odd YAML.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "1e20",
    "1e308",
    "-1e308",
    ".nan",
    ".inf",
    "0s",
    "0ms",
    "1ms",
    "720h",
    "721h",
    "18446744073709551615ms",
    "7.2m",
    "-3s",
    "''",
    "~",
    "[]",
    "{}",
    "[[]]",
    "null",
    "true",
    "\"\\e[31m\"",
    "\"\\u0000\"",
    "'a b'",
    "&a x",
    "*a",
    "!!binary aGk=",
    "|\n  x",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the `n`-th value token (after a `:` or a `[`/`,`) with an extreme.
    Value(usize, usize),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    InsertByte(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, e)| Mutation::Value(n, e)),
        1 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::InsertByte(at, b)),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> Vec<u8> {
    let lines: Vec<&str> = text.lines().collect();
    let pick = |n: usize| n % lines.len().max(1);
    match mutation {
        Mutation::Value(n, extreme) => {
            // Value tokens: what follows `: `, `[` or `, ` up to a delimiter.
            let starts: Vec<usize> = text
                .match_indices([':', '[', ','])
                .map(|(i, _)| i + 1)
                .collect();
            let Some(&start) = starts.get(n % starts.len().max(1)) else {
                return text.as_bytes().to_vec();
            };
            let start = start + text[start..].len() - text[start..].trim_start_matches(' ').len();
            let end = text[start..]
                .find([',', ']', '}', '\n'])
                .map_or(text.len(), |e| start + e);
            format!("{}{}{}", &text[..start], EXTREMES[*extreme], &text[end..]).into_bytes()
        }
        Mutation::DeleteLine(n) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.remove(pick(*n));
            }
            l.join("\n").into_bytes()
        }
        Mutation::DuplicateLine(n) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                let i = pick(*n);
                l.insert(i, lines[i]);
            }
            l.join("\n").into_bytes()
        }
        Mutation::SwapLines(a, b) => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.swap(pick(*a), pick(*b));
            }
            l.join("\n").into_bytes()
        }
        Mutation::Truncate(at) => text.as_bytes()[..at % (text.len() + 1)].to_vec(),
        Mutation::InsertByte(at, byte) => {
            let mut bytes = text.as_bytes().to_vec();
            bytes.insert(at % (bytes.len() + 1), *byte);
            bytes
        }
    }
}

/// `text` with `mutations` applied in turn.
fn mutant(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        bytes = apply(&String::from_utf8_lossy(&bytes), m);
    }
    bytes
}

/// Loads the scenario at `path` as the contract says it must: without a panic, and either
/// a scenario that keeps the loader's invariants or located, explained errors.
fn loads_as_promised(path: &Path) -> Result<(), String> {
    let result = std::panic::catch_unwind(|| hadr::scenario::load(path))
        .map_err(|_| "the loader panicked".to_string())?;
    match result {
        Ok(scenario) => accepted_scenario_invariants(&scenario),
        Err(error) if error.diagnostics.is_empty() => Err("an error without diagnostics".into()),
        Err(error) => {
            for d in &error.diagnostics {
                if d.message.is_empty() || d.expected.is_empty() || d.hint.is_empty() {
                    return Err(format!(
                        "a diagnostic without message, expected or hint: {d}"
                    ));
                }
                if d.to_string().contains('\x1b') {
                    return Err(format!("raw escape in {:?}", d.to_string()));
                }
            }
            Ok(())
        }
    }
}

proptest! {
    // Bounded for CI: a few seconds. PROPTEST_CASES raises it for a longer hunt.
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_scenarios_load_or_are_refused_with_explained_errors(
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seeds();
        let (name, text) = &seeds[seed % seeds.len()];
        // The shipped fixtures are built in, so relative fixture paths resolve from anywhere.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mutant.yaml");
        std::fs::write(&path, mutant(text, &mutations)).unwrap();
        let verdict = loads_as_promised(&path);
        prop_assert!(verdict.is_ok(), "a mutant of {}: {:?}: {:?}", name, mutations, verdict);
    }

    // A latency fixture is input too: a scenario names it, and so does `hadr bench --latency`.
    #[test]
    fn mutated_latency_fixtures_load_or_are_refused_with_explained_errors(
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let seeds = files(&["fixtures/latency"], "json");
        let (name, text) = &seeds[seed % seeds.len()];
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mutant.json"), mutant(text, &mutations)).unwrap();
        let scenario = std::fs::read_to_string("scenarios/multi-region-ha.yaml")
            .unwrap()
            .replace("latency: fixtures/latency/azure-2024-04-p50.json", "latency: mutant.json");
        prop_assert!(scenario.contains("latency: mutant.json"));
        let path = dir.path().join("scenario.yaml");
        std::fs::write(&path, scenario).unwrap();
        let verdict = loads_as_promised(&path);
        prop_assert!(verdict.is_ok(), "a mutant of {}: {:?}: {:?}", name, mutations, verdict);
    }
}
