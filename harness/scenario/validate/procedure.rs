//! How the network is built (the runbook and its mutations) and the load it carries.

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

    pub(super) fn workload(
        &mut self,
        file: &Spanned<WorkloadFile>,
        regions: &[String],
    ) -> Option<Workload> {
        let workload = &file.value;
        let rate = &workload.rate_per_s;
        let rate_ok = rate.value.is_finite() && rate.value > 0.0 && rate.value <= MAX_RATE_PER_S;
        if !rate_ok {
            self.error(
                &rate.referenced,
                format!("`rate_per_s` is {}", rate.value),
                format!("a positive number of transactions per second, at most {MAX_RATE_PER_S}"),
                "e.g. `rate_per_s: 20`; every transaction is signed and verified for real, so the simulator runs a few thousand a second at most",
            );
        }
        let duration = self.duration(&workload.duration, "`workload.duration`");
        if let (true, Some(duration)) = (rate_ok, duration) {
            let count = crate::workload::transaction_count(rate.value, duration);
            if count > MAX_TRANSACTIONS {
                self.error(
                    &workload.duration.referenced,
                    format!(
                        "the workload submits {count} transactions ({} a second for {})",
                        rate.value,
                        duration::format(duration)
                    ),
                    format!("at most {MAX_TRANSACTIONS} transactions in a run"),
                    "shorten the workload or lower its rate; the history keeps every transaction",
                );
            }
        }
        let client_region = match &workload.client_region {
            Some(region) => self
                .region_exists(region, regions, "`client_region`")
                .then(|| region.value.clone()),
            None => regions.first().cloned(),
        };
        let gateway = self.gateway(workload.gateway.as_ref());
        Some(Workload {
            rate_per_s: rate_ok.then_some(rate.value)?,
            duration: duration?,
            client_region: client_region?,
            gateway: gateway?,
        })
    }

    /// `workload.gateway`: the peers are checked against the layout once it is known.
    fn gateway(&mut self, file: Option<&GatewayFile>) -> Option<GatewaySettings> {
        let defaults = ClientTimeouts::default();
        let Some(file) = file else {
            return Some(GatewaySettings {
                peers: Vec::new(),
                failover: Failover::None,
                timeouts: defaults,
            });
        };
        let timeouts = file.timeouts.as_ref();
        let mut timeout = |value: Option<&Spanned<String>>, what: &str, default| {
            self.duration_or(
                value,
                &format!("`workload.gateway.timeouts.{what}`"),
                default,
            )
        };
        let evaluate = timeout(
            timeouts.and_then(|t| t.evaluate.as_ref()),
            "evaluate",
            defaults.evaluate,
        );
        let endorse = timeout(
            timeouts.and_then(|t| t.endorse.as_ref()),
            "endorse",
            defaults.endorse,
        );
        let submit = timeout(
            timeouts.and_then(|t| t.submit.as_ref()),
            "submit",
            defaults.submit,
        );
        let commit_status = timeout(
            timeouts.and_then(|t| t.commit_status.as_ref()),
            "commit_status",
            defaults.commit_status,
        );
        if let Some(peers) = &file.peers {
            if peers.value.is_empty() {
                self.error(
                    &peers.referenced,
                    "`workload.gateway.peers` is empty",
                    "peer names, e.g. `[peer0.org1.us-east, peer0.org1.ca-central]`",
                    "remove `peers` to use the client organization's peers, its region's first",
                );
                return None;
            }
        }
        Some(GatewaySettings {
            peers: file
                .peers
                .as_ref()
                .map(|p| p.value.iter().map(|n| n.value.clone()).collect())
                .unwrap_or_default(),
            failover: file.failover.unwrap_or(Failover::None),
            timeouts: ClientTimeouts {
                evaluate: evaluate?,
                endorse: endorse?,
                submit: submit?,
                commit_status: commit_status?,
            },
        })
    }
}
