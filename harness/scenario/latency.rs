//! Latency tables: the fixtures in fixtures/latency/ and inline tables in scenarios share one
//! format. A fixture must say where its numbers come from (source, date, statistic, unit), so
//! that a comparison made with it can be traced; an inline table may leave that out.
//!
//! ```json
//! {
//!   "source": "https://...", "dated": "2024-04-10",
//!   "statistic": "monthly P50 round trip, ...", "unit": "ms", "round_trip": true,
//!   "locations": {"eastus": "East US (Virginia)", "westus": "West US (California)"},
//!   "rtt_ms": [["eastus", "westus", 69]]
//! }
//! ```

use super::diagnostic::{did_you_mean, one_of, Diagnostic, ScenarioError, SourceFile};
use super::model::LatencyMatrix;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The fixtures shipped in fixtures/latency/, built into hadr so that scenarios naming them
/// work from any directory.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "fixtures/latency/azure-2024-04-p50.json",
        include_str!("../../fixtures/latency/azure-2024-04-p50.json"),
    ),
    (
        "fixtures/latency/ibm-cloud-2026-01.json",
        include_str!("../../fixtures/latency/ibm-cloud-2026-01.json"),
    ),
];

/// A latency table as written (fixture file or inline).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyTable {
    /// Where the numbers come from (a URL).
    pub source: Option<Spanned<String>>,
    /// The document the numbers were taken from, and its licence.
    pub source_document: Option<String>,
    /// When the numbers were published or measured.
    pub dated: Option<Spanned<String>>,
    /// What the numbers are (percentile or average, window, direction).
    pub statistic: Option<Spanned<String>>,
    /// Must be `ms`.
    pub unit: Option<Spanned<String>>,
    /// Must be true: hadr's tables hold round-trip times.
    pub round_trip: Option<Spanned<bool>>,
    /// How the numbers were derived where the source gives a range or similar.
    pub notes: Option<String>,
    /// Location code -> description. Optional inline; required in fixtures.
    pub locations: Option<Spanned<BTreeMap<String, String>>>,
    /// `[a, b, rtt]` triples; each unordered pair at most once.
    pub rtt_ms: Spanned<Vec<Spanned<RttEntry>>>,
}

/// What a fixture must declare besides its numbers, and what each entry says.
const PROVENANCE: [(&str, &str); 4] = [
    ("source", "the URL the numbers come from"),
    ("dated", "the date of the numbers (YYYY-MM-DD)"),
    (
        "statistic",
        "what the numbers are (percentile or mean, window, direction)",
    ),
    ("locations", "a map from location code to its description"),
];

impl LatencyTable {
    fn declares(&self, key: &str) -> bool {
        match key {
            "source" => self.source.is_some(),
            "dated" => self.dated.is_some(),
            "statistic" => self.statistic.is_some(),
            "locations" => self.locations.is_some(),
            _ => false,
        }
    }
}

/// One `[a, b, rtt]` triple.
pub type RttEntry = (Spanned<String>, Spanned<String>, Spanned<f64>);

/// `topology.latency`: a fixture path or an inline table.
#[derive(Debug)]
pub enum LatencySpec {
    Fixture(String),
    Inline(Box<LatencyTable>),
}

impl<'de> Deserialize<'de> for LatencySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = LatencySpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a latency fixture path or an inline table with `rtt_ms`")
            }
            fn visit_str<E: de::Error>(self, path: &str) -> Result<LatencySpec, E> {
                Ok(LatencySpec::Fixture(path.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LatencySpec, A::Error> {
                LatencyTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|table| LatencySpec::Inline(Box::new(table)))
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// A table checked and turned into the model's matrix, with its location codes.
#[derive(Clone, Debug)]
pub struct LoadedTable {
    pub matrix: LatencyMatrix,
    /// Every location code the table knows, with its description ("" when inline without).
    pub locations: BTreeMap<String, String>,
}

/// Where a table was written, which decides what it must declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// A fixture file: source, date, statistic, unit, round_trip and locations required.
    Fixture,
    /// Inline in a scenario: only `rtt_ms` required.
    Inline,
}

/// The longest round trip a table may give: a minute. Real ones are under half a second; the
/// bound keeps every delay (and every sum of delays) far from overflowing.
pub const MAX_RTT_MS: f64 = 60_000.0;

/// What a latency fixture file looks like, for messages.
const FIXTURE_EXPECTED: &str = "a JSON latency table (see fixtures/latency/)";

/// Reads and checks the fixture at `path` (e.g. for `hadr bench --latency`).
pub fn load_fixture(path: &Path) -> Result<LoadedTable, ScenarioError> {
    let file = read_fixture_file(path)?;
    parse_fixture(&file, &path.display().to_string())
}

/// Parses and checks the fixture text in `file`; `label` becomes the matrix's `source`.
pub fn parse_fixture(file: &SourceFile, label: &str) -> Result<LoadedTable, ScenarioError> {
    let table: LatencyTable = serde_saphyr::from_str(&file.text).map_err(|e| {
        // A file that is no table at all may be anything (a path typed wrong can name a
        // secret): say where it failed, without quoting its lines.
        let mut diagnostic = file.yaml_diagnostic(&e);
        diagnostic.source_line = None;
        diagnostic
    })?;
    check_table(&table, file, TableKind::Fixture, label)
        .map_err(|diagnostics| ScenarioError { diagnostics })
}

/// A fixture file from disk: a `.json` file that input::read_text accepts.
fn read_fixture_file(path: &Path) -> Result<SourceFile, ScenarioError> {
    if path.extension().and_then(|e| e.to_str()) != Some("json") {
        return Err(SourceFile::new(path, String::new())
            .diagnostic_at(
                None,
                "a latency fixture must be a `.json` file",
                FIXTURE_EXPECTED,
                "name a fixture of fixtures/latency/, or write the table inline under `latency:`",
            )
            .into());
    }
    let text = super::input::read_text(path, "the latency fixture", FIXTURE_EXPECTED)?;
    Ok(SourceFile::new(path, text))
}

/// Finds the fixture a scenario names: `written` relative to the scenario's directory or one
/// of its parents (nearest first), else one of the built-in fixtures. Absolute paths are
/// taken as they are. None when there is no such file; an error when there is one that
/// cannot be used.
pub fn find_fixture(
    written: &str,
    scenario_dir: Option<&Path>,
) -> Option<Result<SourceFile, ScenarioError>> {
    let wanted = Path::new(written);
    let on_disk: Option<PathBuf> = if wanted.is_absolute() {
        wanted.exists().then(|| wanted.to_path_buf())
    } else {
        scenario_dir
            // `scenario.yaml`'s parent is the empty path: the current directory.
            .map(|dir| {
                if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                }
            })
            .and_then(|dir| std::fs::canonicalize(dir).ok())
            .and_then(|dir| {
                dir.ancestors()
                    .map(|ancestor| ancestor.join(wanted))
                    .find(|candidate| candidate.exists())
            })
    };
    if let Some(path) = on_disk {
        return Some(read_fixture_file(&path));
    }
    let normalised = written.trim_start_matches("./").replace('\\', "/");
    BUILT_IN
        .iter()
        .find(|(name, _)| *name == normalised)
        .map(|(name, text)| {
            Ok(SourceFile {
                name: format!("<built-in {name}>"),
                text: text.to_string(),
            })
        })
}

/// The built-in fixture names, for hints.
pub fn built_in_names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(name, _)| *name)
}

/// Checks a table and builds the matrix, or says everything that is wrong with it.
pub fn check_table(
    table: &LatencyTable,
    file: &SourceFile,
    kind: TableKind,
    label: &str,
) -> Result<LoadedTable, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let mut problem = |at: &Location, message: String, expected: &str, hint: String| {
        problems.push(file.diagnostic(Some(at), message, expected, hint));
    };
    let whole = &table.rtt_ms.referenced;
    if kind == TableKind::Fixture {
        for (key, expected) in PROVENANCE {
            if !table.declares(key) {
                problem(
                    whole,
                    format!("the fixture does not declare `{key}`"),
                    expected,
                    "a fixture carries its source, date, statistic and unit so its numbers can be traced".to_string(),
                );
            }
        }
    }
    match &table.unit {
        Some(unit) if unit.value != "ms" => problem(
            &unit.referenced,
            format!("unit `{}` is not supported", unit.value),
            "`ms`",
            "convert the numbers to milliseconds".to_string(),
        ),
        None if kind == TableKind::Fixture => problem(
            whole,
            "the fixture does not declare `unit`".to_string(),
            "`\"unit\": \"ms\"`",
            "hadr's tables are in milliseconds".to_string(),
        ),
        _ => {}
    }
    match &table.round_trip {
        Some(rt) if !rt.value => problem(
            &rt.referenced,
            "one-way latencies are not supported".to_string(),
            "`round_trip: true` and round-trip times",
            "double one-way delays, or use a round-trip source".to_string(),
        ),
        None if kind == TableKind::Fixture => problem(
            whole,
            "the fixture does not declare `round_trip`".to_string(),
            "`\"round_trip\": true`",
            "hadr's tables hold round-trip times".to_string(),
        ),
        _ => {}
    }

    let declared: Option<&BTreeMap<String, String>> = table.locations.as_ref().map(|l| &l.value);
    let mut rtt_ms = BTreeMap::new();
    let mut seen_in_entries = BTreeSet::new();
    for entry in &table.rtt_ms.value {
        let (a, b, rtt) = &entry.value;
        for end in [a, b] {
            seen_in_entries.insert(end.value.clone());
            if let Some(declared) = declared {
                if !declared.contains_key(&end.value) {
                    problem(
                        &end.referenced,
                        format!("location `{}` is not declared in `locations`", end.value),
                        &one_of(declared.keys().map(String::as_str)),
                        did_you_mean(
                            &end.value,
                            declared.keys().map(String::as_str),
                            "add it to `locations` with a description",
                        ),
                    );
                }
            }
        }
        if a.value == b.value {
            problem(
                &b.referenced,
                format!("`{}` is paired with itself", a.value),
                "two different locations",
                "the round trip inside one location is `topology.intra_region_rtt`".to_string(),
            );
            continue;
        }
        if !(rtt.value.is_finite() && rtt.value > 0.0 && rtt.value <= MAX_RTT_MS) {
            let what = if rtt.value > MAX_RTT_MS {
                "is longer than a minute"
            } else {
                "is not positive"
            };
            problem(
                &rtt.referenced,
                format!("round-trip time {} {what}", rtt.value),
                "a number of milliseconds greater than 0 and at most 60000",
                "check the source table: round trips between cloud regions are under 500 ms"
                    .to_string(),
            );
            continue;
        }
        let key = ordered_pair(&a.value, &b.value);
        if rtt_ms.insert(key, rtt.value).is_some() {
            problem(
                &entry.referenced,
                format!("the pair `{}`-`{}` appears twice", a.value, b.value),
                "each pair of locations once (times are symmetric)",
                "keep one entry".to_string(),
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let locations = match declared {
        Some(declared) => declared.clone(),
        None => seen_in_entries
            .into_iter()
            .map(|code| (code, String::new()))
            .collect(),
    };
    let statistic = table
        .statistic
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_else(|| "inline round-trip times".to_string());
    Ok(LoadedTable {
        matrix: LatencyMatrix {
            source: label.to_string(),
            statistic,
            rtt_ms,
        },
        locations,
    })
}

/// The matrix's key for an unordered pair.
pub fn ordered_pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_fixtures_load_and_cover_every_pair() {
        for (name, text) in BUILT_IN {
            let file = SourceFile {
                name: name.to_string(),
                text: text.to_string(),
            };
            let loaded = parse_fixture(&file, name).unwrap_or_else(|e| panic!("{e}"));
            let codes: Vec<&String> = loaded.locations.keys().collect();
            assert_eq!(codes.len(), 9, "{name}");
            for (i, a) in codes.iter().enumerate() {
                for b in &codes[i + 1..] {
                    assert!(loaded.matrix.rtt(a, b).is_some(), "{name}: {a}-{b}");
                }
            }
        }
    }

    #[test]
    fn azure_fixture_has_the_published_p50() {
        let file = find_fixture("fixtures/latency/azure-2024-04-p50.json", None)
            .unwrap()
            .unwrap();
        let loaded = parse_fixture(&file, "azure").unwrap();
        let ms = |a, b| loaded.matrix.rtt(a, b).unwrap().as_millis();
        assert_eq!(ms("eastus", "westus"), 69);
        assert_eq!(ms("canadacentral", "eastus"), 22);
        assert_eq!(ms("westus", "canadacentral"), 68);
    }

    #[test]
    fn a_fixture_without_provenance_or_with_bad_pairs_is_refused() {
        let file = SourceFile {
            name: "t.json".into(),
            text: r#"{"unit": "s", "rtt_ms": [["a", "a", 3], ["a", "b", 0], ["a", "c", 5], ["c", "a", 6]]}"#
                .into(),
        };
        let error = parse_fixture(&file, "t").unwrap_err();
        let messages: Vec<&str> = error
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "the fixture does not declare `source`",
                "the fixture does not declare `dated`",
                "the fixture does not declare `statistic`",
                "the fixture does not declare `locations`",
                "unit `s` is not supported",
                "the fixture does not declare `round_trip`",
                "`a` is paired with itself",
                "round-trip time 0 is not positive",
                "the pair `c`-`a` appears twice",
            ]
        );
    }
}
