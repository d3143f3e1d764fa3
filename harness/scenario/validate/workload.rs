//! The load the network carries: its clients, their calls and their rate.

use super::*;

/// The largest `payload_bytes`: the history keeps every created asset's notes.
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

impl Checker<'_> {
    pub(super) fn workload(
        &mut self,
        file: &Spanned<WorkloadFile>,
        regions: &[String],
    ) -> Option<Workload> {
        let workload = &file.value;
        let rate = &workload.rate_per_s;
        let rate_ok = self.rate(rate, "`rate_per_s`", false);
        let duration = self.duration(&workload.duration, "`workload.duration`");
        let clients = self.clients(workload, regions);
        let rate_changes = self.rate_changes(&workload.rate_changes, duration);
        if let (true, Some(duration), Some(clients), Some(changes)) =
            (rate_ok, duration, &clients, &rate_changes)
        {
            let per_client = crate::workload::Schedule::new(rate.value, changes, duration).count();
            let count = per_client.saturating_mul(clients.len() as u64);
            if count == 0 {
                // A tiny rate printed in full is hundreds of digits.
                let shown = if rate.value < 0.01 {
                    format!("{:e}", rate.value)
                } else {
                    rate.value.to_string()
                };
                self.error(
                    &rate.referenced,
                    format!(
                        "the workload makes no call in {} at {shown} a second{}",
                        duration::format(duration),
                        if changes.is_empty() { "" } else { ", with its rate changes" }
                    ),
                    "a rate and a duration that give at least one call, or the checks have nothing to judge",
                    "raise `rate_per_s` (e.g. 5) or lengthen `duration`",
                );
            } else if count > MAX_TRANSACTIONS {
                self.error(
                    &workload.duration.referenced,
                    format!(
                        "the workload makes {count} calls ({} client(s) at {} a second for {}{})",
                        clients.len(),
                        rate.value,
                        duration::format(duration),
                        if changes.is_empty() {
                            ""
                        } else {
                            ", with its rate changes"
                        }
                    ),
                    format!(
                        "at most {MAX_TRANSACTIONS} calls (transactions and evaluates) in a run"
                    ),
                    "shorten the workload or lower its rate; the history keeps every call",
                );
            }
        }
        let gateway = self.gateway(workload.gateway.as_ref());
        let calls = self.calls(workload);
        Some(Workload {
            rate_per_s: rate_ok.then_some(rate.value)?,
            duration: duration?,
            clients: clients?,
            gateway: gateway?,
            calls: calls?,
            rate_changes: rate_changes?,
        })
    }

    /// A rate of calls per second: positive (or zero, where `zero_ok`), at most
    /// MAX_RATE_PER_S.
    fn rate(&mut self, rate: &Spanned<f64>, what: &str, zero_ok: bool) -> bool {
        let value = rate.value;
        let ok = value.is_finite()
            && (value > 0.0 || (zero_ok && value == 0.0))
            && value <= MAX_RATE_PER_S;
        if !ok {
            self.error(
                &rate.referenced,
                format!("{what} is {value}"),
                format!(
                    "a {} number of calls per second, at most {MAX_RATE_PER_S}",
                    if zero_ok { "non-negative" } else { "positive" }
                ),
                "e.g. `rate_per_s: 20`; every transaction is signed and verified for real, so the simulator runs a few thousand a second at most",
            );
        }
        ok
    }

    /// `client_region` (one client) or `clients` (one per region listed).
    fn clients(&mut self, workload: &WorkloadFile, regions: &[String]) -> Option<Vec<String>> {
        match (&workload.client_region, &workload.clients) {
            (Some(_), Some(clients)) => {
                self.error(
                    &clients.referenced,
                    "`workload` has both `client_region` and `clients`",
                    "one of them: `client_region: R` for one client, `clients: [R1, R2, ...]` for one client per region listed",
                    "put the client's region into `clients` and remove `client_region`",
                );
                None
            }
            (Some(region), None) => self
                .region_exists(region, regions, "`client_region`")
                .then(|| vec![region.value.clone()]),
            (None, Some(clients)) => {
                if clients.value.is_empty() {
                    self.error(
                        &clients.referenced,
                        "`workload.clients` is empty",
                        "region names, one client in each, e.g. `[us-east, us-west]`",
                        "remove `clients` for one client in the first region",
                    );
                    return None;
                }
                let mut ok = true;
                let mut seen = BTreeSet::new();
                for region in &clients.value {
                    ok &= self.region_exists(region, regions, "`workload.clients`");
                    if !seen.insert(region.value.as_str()) {
                        self.error(
                            &region.referenced,
                            format!("`workload.clients` names `{}` twice", region.value),
                            "each region at most once: a region runs one client",
                            "remove the repeated region, or raise `rate_per_s` for more load from it",
                        );
                        ok = false;
                    }
                }
                ok.then(|| clients.value.iter().map(|r| r.value.clone()).collect())
            }
            (None, None) => regions.first().map(|r| vec![r.clone()]),
        }
    }

    /// `evaluate_share`, `key_space` and `payload_bytes`.
    fn calls(&mut self, workload: &WorkloadFile) -> Option<Calls> {
        let mut ok = true;
        if let Some(share) = &workload.evaluate_share {
            if !(share.value.is_finite() && (0.0..1.0).contains(&share.value)) {
                self.error(
                    &share.referenced,
                    format!("`evaluate_share` is {}", share.value),
                    "a share from 0 to below 1, e.g. `0.2` for one evaluate in five calls",
                    "at 1 no transaction would be submitted, and evaluates read what submits created",
                );
                ok = false;
            }
        }
        if let Some(keys) = &workload.key_space {
            if keys.value == 0 {
                self.error(
                    &keys.referenced,
                    "`key_space` is 0",
                    "at least 1 key",
                    "a small space (e.g. `key_space: 10`) makes transfers of one key meet in a block and conflict; remove the key for an unbounded space",
                );
                ok = false;
            }
        }
        if let Some(bytes) = &workload.payload_bytes {
            if bytes.value > MAX_PAYLOAD_BYTES {
                self.error(
                    &bytes.referenced,
                    format!("`payload_bytes` is {}", bytes.value),
                    format!("at most {MAX_PAYLOAD_BYTES} bytes"),
                    "the history and every block keep each payload; Fabric's own limit is the channel's AbsoluteMaxBytes",
                );
                ok = false;
            }
        }
        ok.then(|| Calls {
            evaluate_share: workload.evaluate_share.as_ref().map_or(0.0, |s| s.value),
            key_space: workload.key_space.as_ref().map(|k| k.value),
            payload_bytes: workload.payload_bytes.as_ref().map_or(0, |b| b.value),
        })
    }

    /// `rate_changes`: in order of `at`, within the workload, a ramp ending before the next
    /// change starts.
    fn rate_changes(
        &mut self,
        changes: &[Spanned<RateChangeFile>],
        duration: Option<Duration>,
    ) -> Option<Vec<RateChange>> {
        let mut ok = true;
        let mut parsed = Vec::new();
        let mut ramp_ends: Option<Duration> = None;
        for (index, change) in changes.iter().enumerate() {
            let what = format!("`rate_changes[{index}]`");
            let at = match duration::parse(&change.value.at.value) {
                Ok(at) => at,
                Err(why) => {
                    self.error(
                        &change.value.at.referenced,
                        format!("{what}: `at` is not a duration: {why}"),
                        duration::EXPECTED,
                        "`at` is the offset from the start of the workload, e.g. `2m`",
                    );
                    ok = false;
                    continue;
                }
            };
            let over = match &change.value.over {
                Some(over) => match self.duration(over, &format!("{what}: `over`")) {
                    Some(over) => over,
                    None => {
                        ok = false;
                        continue;
                    }
                },
                None => Duration::ZERO,
            };
            ok &= self.rate(
                &change.value.rate_per_s,
                &format!("{what}: `rate_per_s`"),
                true,
            );
            if let Some(duration) = duration {
                if at >= duration {
                    self.error(
                        &change.value.at.referenced,
                        format!(
                            "{what} is at {}, when the workload ({}) is over",
                            duration::format(at),
                            duration::format(duration)
                        ),
                        format!("an offset before {}", duration::format(duration)),
                        "rate changes are offsets from the start of the workload",
                    );
                    ok = false;
                }
            }
            if let Some(previous_end) = ramp_ends {
                if at < previous_end {
                    self.error(
                        &change.value.at.referenced,
                        format!(
                            "{what} is at {}, before the change before it is complete ({})",
                            duration::format(at),
                            duration::format(previous_end)
                        ),
                        format!("an offset of at least {}", duration::format(previous_end)),
                        "list the changes in order of `at`, each after the ramp (`over`) of the one before",
                    );
                    ok = false;
                }
            }
            ramp_ends = Some(at + over);
            parsed.push(RateChange {
                at,
                rate_per_s: change.value.rate_per_s.value,
                over,
            });
        }
        ok.then_some(parsed)
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
