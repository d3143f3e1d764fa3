//! `chaos:`: what the nemesis of `hadr chaos` may do. Checked once the rest of the scenario
//! is built, since its defaults (which regions and nodes may be hit) depend on the layout.

use super::*;
use crate::scenario::file::{ChaosFile, CountRangeFile, DurationRangeFile};
use crate::scenario::model::{Chaos, ChaosKind, TargetRole};

/// Faults per schedule, at most: more than this is no longer a schedule one can read.
pub const MAX_SCHEDULE_FAULTS: i64 = 8;
/// Shrinking runs per failure, at most.
const MAX_SHRINK_RUNS: i64 = 1000;
const DEFAULT_DURATION: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(60));
const DEFAULT_RTT: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(1));
const DEFAULT_QUIET: Duration = Duration::from_secs(60);
const DEFAULT_SHRINK_RUNS: u32 = 24;

impl Checker<'_> {
    pub(super) fn chaos(
        &mut self,
        file: &Spanned<ChaosFile>,
        scenario: &Scenario,
    ) -> Option<Chaos> {
        let chaos = &file.value;
        let at = &file.referenced;
        let kinds = match &chaos.kinds {
            Some(kinds) if kinds.value.is_empty() => {
                self.error(
                    &kinds.referenced,
                    "`chaos.kinds` is empty",
                    format!(
                        "some of {}",
                        one_of(ChaosKind::ALL.iter().map(|k| k.name()))
                    ),
                    "remove `kinds` to let the nemesis draw every kind",
                );
                None
            }
            Some(kinds) => {
                let mut kinds = kinds.value.clone();
                kinds.sort();
                kinds.dedup();
                Some(kinds)
            }
            None => Some(ChaosKind::ALL.to_vec()),
        };
        let modes = match &chaos.modes {
            Some(modes) if modes.value.is_empty() => {
                self.error(
                    &modes.referenced,
                    "`chaos.modes` is empty",
                    "some of `lost`, `killed`, `cut`",
                    "remove `modes` to let region outages take every mode",
                );
                None
            }
            Some(modes) => Some(modes.value.clone()),
            None => Some(vec![OutageMode::Lost, OutageMode::Killed, OutageMode::Cut]),
        };
        let counts = self.fault_counts(chaos.faults.as_ref());
        let max_concurrent = match &chaos.max_concurrent {
            Some(n) if !(1..=MAX_SCHEDULE_FAULTS).contains(&n.value) => {
                self.error(
                    &n.referenced,
                    format!("`chaos.max_concurrent` is {}", n.value),
                    format!("from 1 to {MAX_SCHEDULE_FAULTS}"),
                    "1 (the default) lets one fault at a time happen",
                );
                None
            }
            Some(n) => Some(n.value as u32),
            None => Some(1),
        };
        let durations = self.duration_range(
            chaos.duration.as_ref(),
            "`chaos.duration`",
            DEFAULT_DURATION,
        );
        let rtts = self.duration_range(chaos.rtt.as_ref(), "`chaos.rtt`", DEFAULT_RTT);
        if let (Some((_, max)), Some(rtt)) = (rtts, &chaos.rtt) {
            if max.as_secs_f64() * 1000.0 > latency::MAX_RTT_MS {
                self.error(
                    &rtt.referenced,
                    format!(
                        "`chaos.rtt` reaches {}, longer than a minute",
                        duration::format(max)
                    ),
                    "round trips of at most 1m",
                    "round trips between cloud regions are under 500ms",
                );
            }
        }
        let quiet = self.duration_or(chaos.quiet.as_ref(), "`chaos.quiet`", DEFAULT_QUIET);
        if let (Some(quiet), Some((min, _))) = (quiet, durations) {
            let workload = scenario.workload.duration;
            if quiet + min >= workload {
                let place = chaos.quiet.as_ref().map(|q| q.referenced).unwrap_or(*at);
                self.error(
                    &place,
                    format!(
                        "the workload ({}) has no room for a fault of {} before the quiet time ({})",
                        duration::format(workload),
                        duration::format(min),
                        duration::format(quiet)
                    ),
                    format!(
                        "`quiet` + `duration.min` shorter than the workload: `quiet` below {}",
                        duration::format(workload.saturating_sub(min))
                    ),
                    "lengthen `workload.duration`, or shorten `chaos.quiet` or `chaos.duration.min`",
                );
            }
        }
        let shrink_runs = match &chaos.shrink_runs {
            Some(n) if !(0..=MAX_SHRINK_RUNS).contains(&n.value) => {
                self.error(
                    &n.referenced,
                    format!("`chaos.shrink_runs` is {}", n.value),
                    format!("from 0 (no shrinking) to {MAX_SHRINK_RUNS}"),
                    "each shrinking step is one more run of the scenario",
                );
                None
            }
            Some(n) => Some(n.value as u32),
            None => Some(DEFAULT_SHRINK_RUNS),
        };
        let permanent = match &chaos.permanent {
            Some(share) if !(0.0..=1.0).contains(&share.value) => {
                self.error(
                    &share.referenced,
                    format!("`chaos.permanent` is {}", share.value),
                    "a share of region outages between 0 and 1 (e.g. `0.3`)",
                    "0 (the default) heals every outage; 1 makes every outage last to the end",
                );
                None
            }
            Some(share) => Some(share.value),
            None => Some(0.0),
        };
        let regions = self.chaos_regions(chaos, scenario, at);
        let nodes = regions
            .as_ref()
            .and_then(|regions| self.chaos_nodes(chaos, scenario, regions, kinds.as_deref(), at));
        let roles = self.chaos_roles(chaos, kinds.as_deref());
        if let (Some(kinds), Some(_)) = (&kinds, &regions) {
            let splits = kinds.iter().any(|k| {
                matches!(
                    k,
                    ChaosKind::Partition | ChaosKind::OneWayPartition | ChaosKind::Latency
                )
            });
            if splits && scenario.topology.regions.len() < 2 {
                let place = chaos.kinds.as_ref().map(|k| k.referenced).unwrap_or(*at);
                self.error(
                    &place,
                    "partitions and latency faults need two regions, and the topology has one",
                    "`kinds` without `partition`, `one_way_partition` and `latency`",
                    "list the kinds the nemesis may draw: `kinds: [region_outage, node_crash]`",
                );
            }
        }
        let (min_faults, max_faults) = counts?;
        let (min_duration, max_duration) = durations?;
        let (min_rtt, max_rtt) = rtts?;
        Some(Chaos {
            kinds: kinds?,
            modes: modes?,
            min_faults,
            max_faults,
            max_concurrent: max_concurrent?,
            min_duration,
            max_duration,
            min_rtt,
            max_rtt,
            regions: regions?,
            nodes: nodes?,
            roles: roles?,
            permanent: permanent?,
            quiet: quiet?,
            shrink_runs: shrink_runs?,
        })
    }

    fn fault_counts(&mut self, file: Option<&Spanned<CountRangeFile>>) -> Option<(u32, u32)> {
        let Some(file) = file else {
            return Some((1, 2));
        };
        let mut count = |value: Option<&Spanned<i64>>, what: &str, default: i64| match value {
            Some(n) if !(1..=MAX_SCHEDULE_FAULTS).contains(&n.value) => {
                self.error(
                    &n.referenced,
                    format!("`chaos.faults.{what}` is {}", n.value),
                    format!("a number of faults from 1 to {MAX_SCHEDULE_FAULTS}"),
                    "a schedule has at least one fault; long schedules are hard to read and slow to shrink",
                );
                None
            }
            Some(n) => Some(n.value),
            None => Some(default),
        };
        let min = count(file.value.min.as_ref(), "min", 1);
        let max = count(file.value.max.as_ref(), "max", min.unwrap_or(1).max(2));
        let (min, max) = (min?, max?);
        if min > max {
            self.error(
                &file.referenced,
                format!("`chaos.faults` has `min` {min} above `max` {max}"),
                "`min` at most `max`",
                "swap them, or give one number for both",
            );
            return None;
        }
        Some((min as u32, max as u32))
    }

    fn duration_range(
        &mut self,
        file: Option<&Spanned<DurationRangeFile>>,
        what: &str,
        default: (Duration, Duration),
    ) -> Option<(Duration, Duration)> {
        let Some(file) = file else {
            return Some(default);
        };
        let min = self.duration_or(file.value.min.as_ref(), &format!("{what}.min"), default.0);
        let max = self.duration_or(
            file.value.max.as_ref(),
            &format!("{what}.max"),
            default.1.max(min.unwrap_or_default()),
        );
        let (min, max) = (min?, max?);
        if min > max {
            self.error(
                &file.referenced,
                format!(
                    "{what} has `min` {} above `max` {}",
                    duration::format(min),
                    duration::format(max)
                ),
                "`min` at most `max`",
                "swap them",
            );
            return None;
        }
        Some((min, max))
    }

    /// The regions the nemesis may hit: as listed, or every region but those holding a limit
    /// the doc states (every ordering node, or an organization's only CA).
    fn chaos_regions(
        &mut self,
        chaos: &ChaosFile,
        scenario: &Scenario,
        at: &Location,
    ) -> Option<Vec<String>> {
        let names = scenario.topology.region_names();
        if let Some(listed) = &chaos.regions {
            let mut ok = true;
            let mut regions = Vec::new();
            for region in &listed.value {
                ok &= self.region_exists(region, &names, "`chaos.regions`");
                if !regions.contains(&region.value) {
                    regions.push(region.value.clone());
                }
            }
            if ok && regions.is_empty() {
                self.error(
                    &listed.referenced,
                    "`chaos.regions` is empty",
                    format!("some of {}", one_of(names.iter().map(String::as_str))),
                    "remove `regions` to let the nemesis hit every region without a documented limit",
                );
                return None;
            }
            return ok.then_some(regions);
        }
        let limits = limit_regions(scenario);
        let regions: Vec<String> = names
            .iter()
            .filter(|r| !limits.contains(*r))
            .cloned()
            .collect();
        if regions.is_empty() {
            self.error(
                at,
                "every region holds a limit the procedure states (the only ordering nodes or an organization's only CA), so the nemesis may hit none by default",
                "`chaos.regions: [...]`, the regions the nemesis may hit",
                format!(
                    "list them explicitly to test the limits too: `regions: [{}]`",
                    names.join(", ")
                ),
            );
            return None;
        }
        Some(regions)
    }

    /// The nodes `node_crash` may hit: as listed, or every peer and ordering node in the
    /// regions the nemesis may hit.
    fn chaos_nodes(
        &mut self,
        chaos: &ChaosFile,
        scenario: &Scenario,
        regions: &[String],
        kinds: Option<&[ChaosKind]>,
        at: &Location,
    ) -> Option<Vec<String>> {
        let layout = scenario.layout();
        if let Some(listed) = &chaos.nodes {
            let names: Vec<&str> = layout
                .iter()
                .filter(|n| n.role != layout::Role::Console)
                .map(|n| n.name.as_str())
                .collect();
            let mut ok = true;
            let mut nodes = Vec::new();
            for node in &listed.value {
                if !names.contains(&node.value.as_str()) {
                    self.error(
                        &node.referenced,
                        format!("`chaos.nodes` names `{}`, which is not a node of this network", node.value),
                        "a node name such as `peer0.org1.us-east`, `orderer0.us-east` or `ca.org1.us-east`",
                        did_you_mean(&node.value, names.iter().copied(), "`hadr procedure show --scenario FILE` lists the nodes"),
                    );
                    ok = false;
                } else if !nodes.contains(&node.value) {
                    nodes.push(node.value.clone());
                }
            }
            return ok.then_some(nodes);
        }
        let nodes: Vec<String> = layout
            .iter()
            .filter(|n| matches!(n.role, layout::Role::Peer | layout::Role::Orderer))
            .filter(|n| regions.contains(&n.region))
            .map(|n| n.name.clone())
            .collect();
        if nodes.is_empty() && kinds.is_some_and(|k| k.contains(&ChaosKind::NodeCrash)) {
            self.error(
                at,
                "`node_crash` may hit no node: the regions the nemesis may hit have no peer or ordering node",
                "`chaos.nodes: [...]`, or `kinds` without `node_crash`",
                "list the nodes `node_crash` may hit",
            );
            return None;
        }
        Some(nodes)
    }

    /// The roles region outages and node crashes may hit (none by default).
    fn chaos_roles(
        &mut self,
        chaos: &ChaosFile,
        kinds: Option<&[ChaosKind]>,
    ) -> Option<Vec<TargetRole>> {
        let Some(listed) = &chaos.roles else {
            return Some(Vec::new());
        };
        let names = TargetRole::ALL.map(TargetRole::name);
        if listed.value.is_empty() {
            self.error(
                &listed.referenced,
                "`chaos.roles` is empty",
                format!("some of {}", one_of(names)),
                "remove `roles` to let the nemesis hit regions and nodes by name only",
            );
            return None;
        }
        let aimed = |k: &ChaosKind| matches!(k, ChaosKind::RegionOutage | ChaosKind::NodeCrash);
        if kinds.is_some_and(|kinds| !kinds.iter().any(aimed)) {
            self.error(
                &listed.referenced,
                "`chaos.roles` is given, but `chaos.kinds` has neither `region_outage` nor `node_crash`, the kinds a role is a target of",
                "`kinds` with `region_outage` or `node_crash`",
                "add `node_crash` to `kinds` to crash the role's holder, or remove `roles`",
            );
            return None;
        }
        let mut roles = listed.value.clone();
        roles.sort();
        roles.dedup();
        Some(roles)
    }
}

/// Regions holding a limit the procedure states: every ordering node, or an organization's
/// only CA (its home).
fn limit_regions(scenario: &Scenario) -> BTreeSet<String> {
    let topology = &scenario.topology;
    let mut regions: BTreeSet<String> = topology
        .organizations
        .iter()
        .map(|o| o.home.clone())
        .collect();
    let ordering: BTreeSet<&String> = topology.ordering_service.nodes.iter().collect();
    if let [only] = ordering.into_iter().collect::<Vec<_>>()[..] {
        regions.insert(only.clone());
    }
    regions
}
