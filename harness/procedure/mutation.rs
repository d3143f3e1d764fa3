//! Procedure mutations for `hadr mutate`: the scenario with one documented step changed at a
//! time, to learn which steps a region failure actually depends on. Every step that can be
//! skipped is skipped alone, every import of clusters 2 and 3 replaced by a local creation,
//! the redundant peers left out of the anchor peers, and the peers not imported into every
//! console.

use super::runbook::{Action, Performer};
use crate::scenario::model::{AnchorPeers, Runbook, Scenario};

/// One mutated scenario.
pub struct Mutation {
    /// `skip import-ca`, `recreate import-msp`, `anchor_peers: one_per_org`, ...
    pub name: String,
    /// The doc anchor of the step it changes: `#section step N`, with the link anchor.
    pub anchor: String,
    pub scenario: Scenario,
}

/// The mutations of `scenario` that change it (a step it already skips is not skipped again).
pub fn mutations(scenario: &Scenario) -> Vec<Mutation> {
    let procedure = &scenario.procedure;
    let mut out = Vec::new();
    let mutated = |name: String, action: Action, change: &dyn Fn(&mut Scenario)| {
        let mut mutated = scenario.clone();
        change(&mut mutated);
        Mutation {
            name,
            anchor: anchor(action),
            scenario: mutated,
        }
    };
    if procedure.runbook == Runbook::Documented {
        let skippable = Action::ALL
            .iter()
            .filter(|a| a.info().performer != Performer::Substrate)
            .filter(|a| !procedure.skip.iter().any(|s| s == a.name()));
        for action in skippable {
            out.push(mutated(format!("skip {action}"), *action, &|s| {
                s.procedure.skip.push(action.name().to_string())
            }));
        }
        let recreatable = Action::RECREATABLE
            .iter()
            .filter(|a| !procedure.recreate.iter().any(|r| r == a.name()));
        for action in recreatable {
            out.push(mutated(format!("recreate {action}"), *action, &|s| {
                s.procedure.recreate.push(action.name().to_string())
            }));
        }
        if procedure.import_all_peers_everywhere {
            out.push(mutated(
                "import_all_peers_everywhere: false".to_string(),
                Action::ImportAllPeersEverywhere,
                &|s| s.procedure.import_all_peers_everywhere = false,
            ));
        }
    }
    if procedure.anchor_peers == AnchorPeers::EveryPeer {
        out.push(mutated(
            "anchor_peers: one_per_org".to_string(),
            Action::MakeRedundantPeersAnchors,
            &|s| s.procedure.anchor_peers = AnchorPeers::OnePerOrg,
        ));
    }
    out
}

fn anchor(action: Action) -> String {
    let info = action.info();
    let step = info
        .doc
        .step
        .map(|n| format!(" step {n}"))
        .unwrap_or_default();
    let link = info.link.map(|l| format!(", #{l}")).unwrap_or_default();
    format!("#{}{step}{link}", info.doc.section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_step_import_and_option_is_mutated_once() {
        let scenario = crate::scenario::example();
        let mutations = mutations(&scenario);
        let console_steps = Action::ALL
            .iter()
            .filter(|a| a.info().performer != Performer::Substrate)
            .count();
        assert_eq!(
            mutations.len(),
            console_steps + Action::RECREATABLE.len() + 2
        );
        let names: std::collections::BTreeSet<&str> =
            mutations.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), mutations.len());
        let skip_ca = mutations
            .iter()
            .find(|m| m.name == "skip import-ca")
            .unwrap();
        assert_eq!(skip_ca.scenario.procedure.skip, ["import-ca"]);
        assert!(skip_ca
            .anchor
            .starts_with("#ibp-console-hadr-import-meta23"));
        let mut prebuilt = scenario.clone();
        prebuilt.procedure.runbook = Runbook::Prebuilt;
        let names: Vec<String> = super::mutations(&prebuilt)
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["anchor_peers: one_per_org"]);
    }
}
