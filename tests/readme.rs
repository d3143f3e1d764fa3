//! The README documents what the code accepts: every Fabric key and every runbook action name
//! a scenario may use.

const README: &str = include_str!("../README.md");

#[test]
fn the_readme_lists_every_fabric_key() {
    for (key, _) in hadr::fabric::config::KEYS {
        assert!(
            README.contains(&format!("| `{key}` |")),
            "README.md does not list {key}"
        );
    }
}

#[test]
fn the_readme_names_every_recreatable_action_and_the_two_commands() {
    for action in hadr::procedure::Action::RECREATABLE {
        assert!(
            README.contains(&format!("`{}`", action.name())),
            "{}",
            action.name()
        );
    }
    assert!(README.contains("cargo run --release -- run scenarios/multi-region-ha.yaml"));
    assert!(README.contains("cargo test --release"));
    let ci = include_str!("../.ci/run");
    assert!(
        ci.contains("\ncargo test --release\n"),
        "CI runs the README's test command"
    );
}
