//! How the network is built: the runbook and its mutations.

use super::*;

impl Checker<'_> {
    pub(super) fn procedure(&mut self, file: Option<ProcedureFile>) -> Option<Procedure> {
        let Some(file) = file else {
            return Some(Procedure {
                runbook: Runbook::Documented,
                skip: Vec::new(),
                recreate: Vec::new(),
                import_all_peers_everywhere: true,
                anchor_peers: AnchorPeers::EveryPeer,
            });
        };
        let mut ok = true;
        for entry in &file.skip {
            match runbook::resolve(&entry.value) {
                None => {
                    self.error(
                        &entry.referenced,
                        format!("`{}` names no runbook step", entry.value),
                        "an action name (e.g. `import-ca`) or a doc anchor (section or link) of the runbook",
                        did_you_mean(
                            &entry.value,
                            runbook::reference_names(),
                            "`hadr procedure show` lists the actions and their anchors",
                        ),
                    );
                    ok = false;
                }
                Some(actions)
                    if actions
                        .iter()
                        .any(|a| a.info().performer == Performer::Substrate) =>
                {
                    self.error(
                        &entry.referenced,
                        format!("`{}` is provisioning done by the substrate and cannot be skipped", entry.value),
                        "a step performed through a console",
                        "skip a step of sections ibp-console-hadr-peerCA to ibp-console-hadr-create-new-peers",
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
        let recreatable = || Action::RECREATABLE.iter().map(|a| a.name());
        for entry in &file.recreate {
            if !recreatable().any(|name| name == entry.value) {
                self.error(
                    &entry.referenced,
                    format!("`{}` cannot be recreated", entry.value),
                    format!(
                        "an import step of clusters 2 and 3: {}",
                        one_of(recreatable())
                    ),
                    did_you_mean(
                        &entry.value,
                        recreatable(),
                        "recreate names the imports the mutation replaces",
                    ),
                );
                ok = false;
            }
        }
        ok.then(|| Procedure {
            runbook: file.runbook.unwrap_or(Runbook::Documented),
            skip: file.skip.iter().map(|s| s.value.clone()).collect(),
            recreate: file.recreate.iter().map(|s| s.value.clone()).collect(),
            import_all_peers_everywhere: file.import_all_peers_everywhere.unwrap_or(true),
            anchor_peers: file.anchor_peers.unwrap_or(AnchorPeers::EveryPeer),
        })
    }
}
