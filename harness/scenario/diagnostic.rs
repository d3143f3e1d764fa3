//! Errors in input files, located and explained: each names the file, line and column, what
//! is wrong, what was expected there and a hint, and renders like a compiler message:
//!
//! ```text
//! scenarios/outage.yaml:4:5: error: unknown key `lattency` in `topology`
//!   |
//! 4 |     lattency: fixtures/latency/azure-2024-04-p50.json
//!   |     ^^^^^^^^
//!   = expected: one of `latency`, `intra_region_rtt`, `regions`, ...
//!   = hint: did you mean `latency`?
//! ```

use serde::Serialize;
use serde_saphyr::{Error as YamlError, Location, MessageFormatter};
use std::fmt;
use std::path::Path;

/// Where in a file a problem is: 1-based line and column, and how many characters to mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: u64,
    pub column: u64,
    pub width: u64,
}

impl Position {
    /// A position from serde-saphyr's; None when it is unknown (line 0).
    pub fn from_location(location: &Location) -> Option<Position> {
        (location.line() > 0).then(|| Position {
            line: location.line(),
            column: location.column().max(1),
            width: location.span().len().max(1),
        })
    }
}

/// The text of an input file and the name it is reported under (the path as given).
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: &Path, text: String) -> SourceFile {
        SourceFile {
            name: path.display().to_string(),
            text,
        }
    }

    /// A diagnostic at `location` in this file (file-level when the location is unknown).
    pub fn diagnostic(
        &self,
        location: Option<&Location>,
        message: impl Into<String>,
        expected: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        let position = location.and_then(Position::from_location);
        self.diagnostic_at(position, message, expected, hint)
    }

    /// A diagnostic at a position found without the YAML parser (a byte offset, say).
    pub fn diagnostic_at(
        &self,
        position: Option<Position>,
        message: impl Into<String>,
        expected: impl Into<String>,
        hint: impl Into<String>,
    ) -> Diagnostic {
        let source_line = position.and_then(|p| {
            self.text
                .lines()
                .nth((p.line - 1) as usize)
                .map(|l| l.trim_end().to_string())
        });
        Diagnostic {
            path: self.name.clone(),
            position,
            message: message.into(),
            expected: expected.into(),
            hint: hint.into(),
            source_line,
        }
    }

    /// The diagnostic for a YAML syntax or shape error reported by serde-saphyr.
    pub fn yaml_diagnostic(&self, error: &YamlError) -> Diagnostic {
        let error = error.without_snippet();
        let location = error.location();
        let (message, mut expected, hint) = explain_yaml_error(error);
        if expected == WELL_FORMED && self.name.ends_with(".json") {
            // Fixtures are JSON, read by the YAML parser (JSON is YAML's flow style).
            expected = "well-formed JSON".to_string();
        }
        let mut diagnostic = self.diagnostic(location.as_ref(), message, expected, hint);
        // Mark the whole unknown key, not just its first character.
        if let (YamlError::SerdeUnknownField { field, .. }, Some(p)) =
            (error, diagnostic.position.as_mut())
        {
            p.width = field.chars().count().max(1) as u64;
        }
        diagnostic
    }
}

/// One problem in an input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as given on the command line.
    pub path: String,
    /// None for problems with the file as a whole (unreadable, empty).
    pub position: Option<Position>,
    /// What is wrong.
    pub message: String,
    /// What was expected there.
    pub expected: String,
    /// How to fix it.
    pub hint: String,
    /// The line of the file the position is on, for the caret display.
    pub source_line: Option<String>,
}

/// Unicode's invisible format characters that reorder or hide text: the bidirectional
/// controls (U+202A-U+202E, U+2066-U+2069, U+061C), zero-width ones (U+200B-U+200F,
/// U+2060-U+2064, U+FEFF) and the soft hyphen. A name holding one reads as another name.
pub fn is_format_char(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Whether `c` is shown escaped: a control or an invisible format character.
fn escaped(c: char) -> bool {
    c.is_control() || is_format_char(c)
}

/// `text` with control and invisible format characters written as escapes (`\u{1b}`), so
/// that a file's content quoted in a message cannot recolour, reorder or rewrite the
/// terminal it is printed on.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(escaped) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if escaped(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The most characters of one message, source line or hint printed: a file may hold a name of
/// 100,000 characters, and a terminal (or a CI log) does not need it twice.
const SHOWN_MAX_CHARS: usize = 400;

/// `text`, its middle elided when it is longer than [`SHOWN_MAX_CHARS`].
fn clipped(text: &str) -> std::borrow::Cow<'_, str> {
    let count = text.chars().count();
    if count <= SHOWN_MAX_CHARS {
        return std::borrow::Cow::Borrowed(text);
    }
    let keep = SHOWN_MAX_CHARS / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(count - keep).collect();
    std::borrow::Cow::Owned(format!(
        "{head}...({} characters)...{tail}",
        count - 2 * keep
    ))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = printable(&self.path);
        let message = printable(&clipped(&self.message)).into_owned();
        match self.position {
            Some(p) => writeln!(f, "{path}:{}:{}: error: {message}", p.line, p.column)?,
            None => writeln!(f, "{path}: error: {message}")?,
        }
        let gutter = self.position.map(|p| p.line.to_string().len()).unwrap_or(1);
        let pad = " ".repeat(gutter);
        // A very long source line is not shown (its caret could not be placed usefully).
        let source_line = self
            .source_line
            .as_ref()
            .filter(|l| l.chars().count() <= SHOWN_MAX_CHARS);
        if let (Some(p), Some(line)) = (self.position, source_line) {
            let line = printable(line);
            let shown_width = line
                .chars()
                .count()
                .saturating_sub(p.column as usize - 1)
                .max(1);
            let width = (p.width as usize).min(shown_width);
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {line}", p.line)?;
            writeln!(
                f,
                "{pad} | {}{}",
                " ".repeat(p.column as usize - 1),
                "^".repeat(width)
            )?;
        }
        writeln!(
            f,
            "{pad} = expected: {}",
            printable(&clipped(&self.expected))
        )?;
        write!(f, "{pad} = hint: {}", printable(&clipped(&self.hint)))
    }
}

/// Every problem found in one input file (at least one).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for ScenarioError {
    fn from(diagnostic: Diagnostic) -> Self {
        ScenarioError {
            diagnostics: vec![diagnostic],
        }
    }
}

/// Where the scenario format is documented, the fallback of every hint.
pub const FORMAT_REFERENCE: &str = "the scenario format is described in README.md";

/// `did you mean `x`?` when a candidate is close to `name`, else `otherwise`.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: &str,
) -> String {
    match closest(name, candidates) {
        Some(best) => format!("did you mean `{best}`?"),
        None => otherwise.to_string(),
    }
}

/// Names longer than this get no suggestion: nobody mistypes a 100-character name, and the
/// edit distance costs the product of the two lengths.
const SUGGESTION_MAX_CHARS: usize = 80;

/// The candidate nearest to `name` by edit distance (case-insensitive), if it is near enough
/// to be a plausible typo: at most a third of the longer name's length.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let short = |s: &str| s.chars().count() <= SUGGESTION_MAX_CHARS;
    if !short(name) {
        return None;
    }
    let wanted = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter(|c| short(c))
        .map(|c| (edit_distance(&wanted, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= wanted.chars().count().max(c.chars().count()) / 3 + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// `one of `a`, `b`, `c``: a list of names for "expected" lines.
pub fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    match names.len() {
        0 => "nothing here".to_string(),
        1 => names[0].clone(),
        _ => format!("one of {}", names.join(", ")),
    }
}

/// Message, expectation and hint for a serde-saphyr error.
const WELL_FORMED: &str = "well-formed YAML";

fn explain_yaml_error(error: &YamlError) -> (String, String, String) {
    match error {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => (
            format!("unknown key `{field}`"),
            if expected.is_empty() {
                "no keys here: write `{}`".to_string()
            } else {
                one_of(expected.iter().copied())
            },
            did_you_mean(
                field,
                expected.iter().copied(),
                &format!("remove the key; {FORMAT_REFERENCE}"),
            ),
        ),
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => (
            format!("unknown value `{variant}`"),
            one_of(expected.iter().copied()),
            did_you_mean(variant, expected.iter().copied(), FORMAT_REFERENCE),
        ),
        YamlError::SerdeMissingField { field, .. } => (
            format!("missing key `{field}`"),
            format!("a `{field}:` entry in this mapping"),
            format!("add `{field}:`; {FORMAT_REFERENCE}"),
        ),
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (
            format!("found {unexpected}"),
            expected.clone(),
            FORMAT_REFERENCE.to_string(),
        ),
        YamlError::DuplicateMappingKey { key, .. } => (
            match key {
                Some(key) => format!("the key `{key}` appears twice in this mapping"),
                None => "a key appears twice in this mapping".to_string(),
            },
            "each key once per mapping".to_string(),
            "remove one of the two entries".to_string(),
        ),
        // A value of the wrong kind (a number where a mapping goes, an empty `faults:`) is a
        // shape error, not a syntax error.
        YamlError::Unexpected { expected, .. } if expected.ends_with("sequence start") => (
            "a list is expected here".to_string(),
            "a list: `[a, b]`, or one `- item` per line".to_string(),
            "an empty list is written `[]`; or remove the key".to_string(),
        ),
        YamlError::Unexpected { expected, .. } if expected.ends_with("mapping start") => (
            "a mapping is expected here".to_string(),
            "`key: value` entries, e.g. `{name: x}` or one `key: value` per line".to_string(),
            format!("an empty mapping is written `{{}}`; {FORMAT_REFERENCE}"),
        ),
        YamlError::Unexpected { expected, .. } if expected.ends_with("scalar") => (
            "a single value is expected here".to_string(),
            "a value such as a name, a number or a duration, not a list or a mapping".to_string(),
            format!("write the value itself, `key: value`; {FORMAT_REFERENCE}"),
        ),
        YamlError::MultipleDocuments { .. } => (
            "the file holds more than one YAML document (a `---` line starts another)".to_string(),
            "one document: a scenario or fixture is one mapping".to_string(),
            "remove the `---` line and what follows it, or put each scenario in a file of its own"
                .to_string(),
        ),
        YamlError::InvalidScalar { ty, .. } => (
            format!("this value is not a valid {}", scalar_name(ty)),
            format!("a {}", scalar_name(ty)),
            FORMAT_REFERENCE.to_string(),
        ),
        other => (
            serde_saphyr::DefaultMessageFormatter
                .format_message(other)
                .into_owned(),
            WELL_FORMED.to_string(),
            "check the indentation, quotes and brackets here and on the lines above: an unclosed `[` or `{` is reported where the parser gives up"
                .to_string(),
        ),
    }
}

/// Names of Rust scalar types as a scenario author reads them.
fn scalar_name(ty: &str) -> &str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" => "whole number of zero or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "whole number",
        "f32" | "f64" => "number",
        "bool" => "boolean (true or false)",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_and_ignores_strangers() {
        let names = ["us-east", "us-west", "ca-central"];
        assert_eq!(closest("us-wset", names), Some("us-west"));
        assert_eq!(closest("US-EAST", names), Some("us-east"));
        assert_eq!(closest("tokyo", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let long = "x".repeat(100_000);
        assert_eq!(closest(&long, [long.as_str()]), None);
    }

    #[test]
    fn control_characters_are_escaped_when_printed() {
        let source = SourceFile {
            name: "s.yaml".into(),
            text: "name: \u{1b}[31mred\n".into(),
        };
        let diagnostic = source.diagnostic(None, "bad `\u{1b}[31m`", "x", "y");
        let text = diagnostic.to_string();
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(text.contains("\\u{1b}[31m"), "{text}");
    }

    #[test]
    fn renders_location_caret_expected_and_hint() {
        let source = SourceFile {
            name: "s.yaml".into(),
            text: "name: x\nbad: 1\n".into(),
        };
        let error = serde_saphyr::from_str::<Strict>(&source.text).unwrap_err();
        let text = source.yaml_diagnostic(&error).to_string();
        assert_eq!(
            text,
            "s.yaml:2:1: error: unknown key `bad`\n  |\n2 | bad: 1\n  | ^^^\n  = expected: `name`\n  = hint: remove the key; the scenario format is described in README.md"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        name: String,
    }
}
