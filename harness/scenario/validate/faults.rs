//! What goes wrong (faults) and what must hold (expectations).

use super::*;

impl Checker<'_> {
    pub(super) fn fault(
        &mut self,
        index: usize,
        file: &Spanned<FaultFile>,
        regions: &[String],
        workload: Option<&Workload>,
    ) -> Option<Fault> {
        let fault = &file.value;
        let at = duration::parse(&fault.at.value);
        let at = match at {
            Ok(at) => Some(at),
            Err(why) => {
                self.error(
                    &fault.at.referenced,
                    format!("fault {index}: `at` is not a duration: {why}"),
                    duration::EXPECTED,
                    "`at` is the offset from the start of the workload, e.g. `3m`",
                );
                None
            }
        };
        let lasts = match &fault.lasts {
            Some(lasts) => Some(self.duration(lasts, &format!("fault {index}: `for`"))?),
            None => None,
        };
        if let (Some(at), Some(workload)) = (at, workload) {
            if at >= workload.duration {
                self.error(
                    &fault.at.referenced,
                    format!(
                        "fault {index} starts at {}, when the workload ({}) is over",
                        duration::format(at),
                        duration::format(workload.duration)
                    ),
                    format!("a start before {}", duration::format(workload.duration)),
                    "faults are offsets from the start of the workload; start it earlier or lengthen `workload.duration`",
                );
            } else if let Some((lasts, lasts_at)) = lasts.zip(fault.lasts.as_ref()) {
                if at + lasts > workload.duration {
                    self.error(
                        &lasts_at.referenced,
                        format!(
                            "fault {index} lasts until {}, past the end of the workload ({})",
                            duration::format(at + lasts),
                            duration::format(workload.duration)
                        ),
                        format!(
                            "`at` + `for` within the workload: `for` at most {}",
                            duration::format(workload.duration - at)
                        ),
                        "shorten the fault or lengthen `workload.duration`",
                    );
                }
            }
        }
        let kinds = [
            fault.region_outage.is_some(),
            fault.partition.is_some(),
            fault.one_way_partition.is_some(),
            fault.latency.is_some(),
            fault.node_crash.is_some(),
        ];
        let kind_count = kinds.iter().filter(|k| **k).count();
        if kind_count != 1 {
            self.error(
                &file.referenced,
                format!("fault {index} has {kind_count} kinds"),
                "exactly one of `region_outage`, `partition`, `one_way_partition`, `latency`, `node_crash`",
                "write one fault per kind, each with its own `at`",
            );
            return None;
        }
        if let (Some(mode), None) = (&fault.mode, &fault.region_outage) {
            self.error(
                &mode.referenced,
                format!("fault {index}: `mode` applies to region outages only"),
                "`mode` next to `region_outage`",
                "remove `mode`",
            );
            return None;
        }
        let kind = if let Some(region) = &fault.region_outage {
            self.region_or_role(region, regions)
                .then(|| FaultKind::RegionOutage {
                    region: region.value.clone(),
                    mode: fault
                        .mode
                        .as_ref()
                        .map(|m| m.value)
                        .unwrap_or(OutageMode::Lost),
                })
        } else if let Some(sides) = &fault.partition {
            self.partition(index, sides, regions)
        } else if let Some(one_way) = &fault.one_way_partition {
            let (from, to) = (&one_way.value.from, &one_way.value.to);
            let names = |side: &PartitionSide| side.value.iter().map(|r| r.value.clone()).collect();
            self.sides(index, [from, to], regions)
                .then(|| FaultKind::OneWayPartition {
                    from: names(from),
                    to: names(to),
                })
        } else if let Some(latency) = &fault.latency {
            let between = &latency.value.between;
            let mut ok = true;
            for region in &between.value {
                ok &= self.region_exists(region, regions, "`latency.between`");
            }
            let pair = match between.value.as_slice() {
                [a, b] if a.value != b.value => Some([a.value.clone(), b.value.clone()]),
                _ => {
                    self.error(
                        &between.referenced,
                        format!("fault {index}: `between` must name two different regions"),
                        "`between: [region-a, region-b]`",
                        "one latency fault per pair of regions",
                    );
                    None
                }
            };
            let rtt = self.round_trip(&latency.value.rtt, &format!("fault {index}: `rtt`"));
            match (ok, pair, rtt) {
                (true, Some(regions), Some(rtt)) => Some(FaultKind::Latency { regions, rtt }),
                _ => None,
            }
        } else {
            // node_crash: the name is checked against the layout once it is known.
            fault.node_crash.as_ref().map(|node| FaultKind::NodeCrash {
                node: node.value.clone(),
            })
        };
        Some(Fault {
            at: at?,
            duration: lasts,
            kind: kind?,
        })
    }

    /// Whether a region outage's target is a region or a role; reports it when neither.
    fn region_or_role(&mut self, target: &Spanned<String>, regions: &[String]) -> bool {
        if TargetRole::parse(&target.value).is_some() || regions.contains(&target.value) {
            return true;
        }
        if regions.is_empty() {
            return false;
        }
        let roles = TargetRole::ALL.map(TargetRole::name);
        self.error(
            &target.referenced,
            format!(
                "`region_outage` names `{}`, which is neither a region of `topology.regions` nor a role",
                target.value
            ),
            format!(
                "a region ({}), or a role, for the region of its holder ({})",
                one_of(regions.iter().map(String::as_str)),
                one_of(roles)
            ),
            did_you_mean(
                &target.value,
                regions.iter().map(String::as_str).chain(roles),
                "add the region to `topology.regions`, or use one of its names",
            ),
        );
        false
    }

    pub(super) fn partition(
        &mut self,
        index: usize,
        sides: &Spanned<Vec<PartitionSide>>,
        regions: &[String],
    ) -> Option<FaultKind> {
        let [a, b] = sides.value.as_slice() else {
            self.error(
                &sides.referenced,
                format!("fault {index}: a partition has {} sides", sides.value.len()),
                "two sides: `partition: [[us-east], [us-west, ca-central]]`",
                "a partition separates two groups of regions",
            );
            return None;
        };
        let ok = self.sides(index, [a, b], regions);
        let names = |side: &PartitionSide| side.value.iter().map(|r| r.value.clone()).collect();
        ok.then(|| FaultKind::Partition {
            sides: [names(a), names(b)],
        })
    }

    /// Both sides of a partition name regions, at least one each, none twice.
    fn sides(&mut self, index: usize, sides: [&PartitionSide; 2], regions: &[String]) -> bool {
        let mut ok = true;
        let mut seen = BTreeSet::new();
        for side in sides {
            if side.value.is_empty() {
                self.error(
                    &side.referenced,
                    format!("fault {index}: a side of the partition is empty"),
                    "at least one region on each side",
                    "name the regions cut off from each other",
                );
                ok = false;
            }
            for region in &side.value {
                ok &= self.region_exists(region, regions, "`partition`");
                if !seen.insert(region.value.clone()) {
                    self.error(
                        &region.referenced,
                        format!(
                            "fault {index}: region `{}` is on both sides, or twice",
                            region.value
                        ),
                        "each region on one side at most",
                        "remove the repeated region",
                    );
                    ok = false;
                }
            }
        }
        ok
    }

    /// `during_fault` as an index of `faults`; reports it when it is none.
    fn fault_index(&mut self, during_fault: &Spanned<i64>, fault_count: usize) -> Option<usize> {
        let index = usize::try_from(during_fault.value)
            .ok()
            .filter(|i| *i < fault_count);
        if index.is_none() {
            let expected = match fault_count {
                0 => "a fault index, but the scenario has no fault".to_string(),
                n => format!("an index of `faults`, from 0 to {}", n - 1),
            };
            self.error(
                &during_fault.referenced,
                format!(
                    "`during_fault` is {}, which is not a fault of this scenario",
                    during_fault.value
                ),
                expected,
                "faults are numbered from 0 in the order of `faults`",
            );
        }
        index
    }

    pub(super) fn expectation(
        &mut self,
        file: &ExpectationFile,
        fault_count: usize,
        regions: &[String],
        runbook: Option<Runbook>,
    ) -> Option<Expectation> {
        match file {
            ExpectationFile::LedgerInSync { within } => self
                .duration(within, "`ledger_in_sync.within`")
                .map(|within| Expectation::LedgerInSync { within }),
            ExpectationFile::NoLostTransactions {} => Some(Expectation::NoLostTransactions),
            ExpectationFile::TransactionsContinue {
                during_fault,
                min_success_ratio,
            } => {
                let index = self.fault_index(during_fault, fault_count);
                let ratio = min_success_ratio.value;
                let ratio_ok = (0.0..=1.0).contains(&ratio);
                if !ratio_ok {
                    self.error(
                        &min_success_ratio.referenced,
                        format!("`min_success_ratio` is {ratio}"),
                        "a share between 0 and 1 (e.g. `0.95`)",
                        "write a percentage as a fraction: 95% is 0.95",
                    );
                }
                Some(Expectation::TransactionsContinue {
                    during_fault: index?,
                    min_success_ratio: ratio_ok.then_some(ratio)?,
                })
            }
            ExpectationFile::CommitLatency {
                during_fault,
                p99_below,
            } => {
                // Without `during_fault`, the whole workload is judged.
                let index = during_fault
                    .as_ref()
                    .map(|during_fault| self.fault_index(during_fault, fault_count));
                let bound = self.duration(p99_below, "`commit_latency.p99_below`");
                if index == Some(None) {
                    return None;
                }
                Some(Expectation::CommitLatency {
                    during_fault: index.flatten(),
                    p99_below: bound?,
                })
            }
            ExpectationFile::BlocksContinue { max_stall } => self
                .duration(max_stall, "`blocks_continue.max_stall`")
                .map(|max_stall| Expectation::BlocksContinue { max_stall }),
            ExpectationFile::CrossOrgGossip {} => Some(Expectation::CrossOrgGossip),
            ExpectationFile::ConsoleFailover { failed_region } => {
                if runbook == Some(Runbook::Prebuilt) {
                    self.error(
                        &failed_region.referenced,
                        "`console_failover` needs consoles, and a prebuilt network has none",
                        "`procedure: {runbook: documented}` (the default)",
                        "remove the expectation, or build the network through the consoles",
                    );
                    return None;
                }
                self.region_exists(failed_region, regions, "`console_failover.failed_region`")
                    .then(|| Expectation::ConsoleFailover {
                        failed_region: failed_region.value.clone(),
                    })
            }
            ExpectationFile::DocumentedLimit { limit } => {
                Some(Expectation::DocumentedLimit { limit: *limit })
            }
        }
    }
}
