//! Scenario files: the YAML format (file.rs), its validation into the model (validate.rs)
//! with located, explained errors (diagnostic.rs), latency tables (latency.rs), and the
//! validated model every other part of hadr consumes (model.rs, layout.rs).

pub mod diagnostic;
pub mod duration;
pub mod file;
pub mod input;
pub mod latency;
pub mod layout;
pub mod model;
pub mod validate;

pub use diagnostic::{Diagnostic, ScenarioError};
pub use model::Scenario;

use diagnostic::SourceFile;
use std::path::Path;

/// The example built into hadr: scenarios/multi-region-ha.yaml, the documented procedure on
/// three regions with an outage of one.
pub const EXAMPLE_PATH: &str = "scenarios/multi-region-ha.yaml";
const EXAMPLE_TEXT: &str = include_str!("../../scenarios/multi-region-ha.yaml");

/// Reads, parses and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = input::read_text(path, "the scenario", "a readable UTF-8 YAML file").map_err(
        |mut error| {
            for diagnostic in error
                .diagnostics
                .iter_mut()
                .filter(|d| d.position.is_none())
            {
                diagnostic.hint = format!("{}; scenarios/ holds the examples", diagnostic.hint);
            }
            error
        },
    )?;
    parse(&text, path)
}

/// Parses and validates scenario text. `path` names the file in messages and in
/// `Scenario::source`; latency fixtures are looked up from its directory.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    parse_in(text, path, path.parent())
}

/// The built-in example scenario (what `hadr procedure show` prints without `--scenario`).
/// Its fixture is the built-in one, wherever hadr runs.
pub fn example() -> Scenario {
    parse_in(EXAMPLE_TEXT, Path::new(EXAMPLE_PATH), None)
        .expect("the built-in example scenario is valid")
}

fn parse_in(
    text: &str,
    path: &Path,
    fixture_dir: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    let source = SourceFile::new(path, input::normalise_line_endings(text.to_string()));
    let text = source.text.as_str();
    let blank = text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
    if blank {
        return Err(source
            .diagnostic(
                None,
                "the file has no scenario in it",
                "a YAML mapping with at least `name`, `topology` and `workload`",
                "start from scenarios/multi-region-ha.yaml; the scenario format is described in README.md",
            )
            .into());
    }
    let file: file::ScenarioFile =
        serde_saphyr::from_str(text).map_err(|e| source.yaml_diagnostic(&e))?;
    let mut scenario = validate::build(file, &source, fixture_dir)?;
    scenario.source = path.to_path_buf();
    Ok(scenario)
}
