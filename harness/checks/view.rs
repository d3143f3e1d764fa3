//! Facts several checks derive from one history: fault windows, client operations paired
//! invoke -> completion, and the fate of every peer at the end of the run.

use crate::history::{
    ChainRecord, EventKind, FaultPhase, FaultRecord, History, LedgerInfo, OpPhase, Operation,
    TimeMs,
};
use crate::scenario::layout::{region_of, NodeSpec, Role};
use crate::scenario::model::{FaultKind, Scenario};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Operations against a certificate authority (fabric-ca's REST API).
pub const CA_FUNCTIONS: [&str; 4] = ["register", "enroll", "reenroll", "revoke"];

/// A register/enroll/... request to a CA, whoever made it.
pub fn is_ca_request(op: &Operation) -> bool {
    CA_FUNCTIONS.contains(&op.function.as_str())
}

/// The contract's queries, which a workload evaluates (fabric::chaincode).
const EVALUATE_FUNCTIONS: [&str; 2] = ["ReadAsset", "AssetExists"];

/// A query of the workload: a client application's evaluate, which is never ordered.
pub fn is_evaluate(op: &Operation) -> bool {
    op.process.starts_with("client.") && EVALUATE_FUNCTIONS.contains(&op.function.as_str())
}

/// A ledger transaction of the workload: submitted by a client application (`client.<region>`),
/// not a CA request and not an evaluate. Console calls (`console.<region>`) are not
/// transactions.
pub fn is_transaction(op: &Operation) -> bool {
    op.process.starts_with("client.") && !is_ca_request(op) && !is_evaluate(op)
}

/// Simulated milliseconds as seconds with one decimal, the way every detail prints times.
pub fn secs(ms: TimeMs) -> String {
    format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
}

/// The first `limit` items joined by ", ", then "and N more".
pub fn list_some(items: &[String], limit: usize) -> String {
    let mut text = items
        .iter()
        .take(limit)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > limit {
        text.push_str(&format!(" and {} more", items.len() - limit));
    }
    text
}

/// The first 12 hex digits of a hash, enough to tell two apart in a detail.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The time of the last event: the end of the run as far as the history knows.
pub fn run_end_ms(history: &History) -> TimeMs {
    history.events.iter().map(|e| e.at_ms).max().unwrap_or(0)
}

/// A fault in words, and the regions it concerns, as a runner records them in `FaultRecord`.
pub fn describe_fault(kind: &FaultKind) -> (String, Vec<String>) {
    match kind {
        FaultKind::RegionOutage { region, mode } => (
            format!("region outage {region} ({})", mode.name()),
            vec![region.clone()],
        ),
        FaultKind::Partition { sides } => (
            format!("partition {} | {}", sides[0].join(","), sides[1].join(",")),
            sides.iter().flatten().cloned().collect(),
        ),
        FaultKind::OneWayPartition { from, to } => (
            format!("one-way partition {} -> {}", from.join(","), to.join(",")),
            from.iter().chain(to).cloned().collect(),
        ),
        FaultKind::Latency { regions, rtt } => (
            format!(
                "latency {} <-> {} {}ms",
                regions[0],
                regions[1],
                rtt.as_millis()
            ),
            regions.to_vec(),
        ),
        FaultKind::NodeCrash { node } => (
            format!("node crash {node}"),
            vec![region_of(node).to_string()],
        ),
    }
}

/// A fault aimed at a role in words once the runner looked for the role's holder:
/// `node crash orderer0.us-east (raft_leader)`, `region outage us-east (lost; raft_leader
/// orderer0.us-east)`, or, when no node held it, what it would have hit and that it hit
/// nothing (and no region).
pub fn describe_held(kind: &FaultKind, holder: Option<&str>) -> (String, Vec<String>) {
    let role = kind.role().map(|r| r.name()).unwrap_or_default();
    let Some(holder) = holder else {
        let (what, _) = describe_fault(kind);
        return (format!("{what}: no node held the role"), Vec::new());
    };
    let held = kind.aimed_at(holder);
    let (what, regions) = describe_fault(&held);
    let what = match &held {
        // The region alone does not say which node the role led to.
        FaultKind::RegionOutage { region, mode } => {
            format!("region outage {region} ({}; {role} {holder})", mode.name())
        }
        _ => format!("{what} ({role})"),
    };
    (what, regions)
}

/// `scenario` with each fault aimed at a role aimed instead at the node that held it when the
/// fault started (its `Fault` record says), so checks judge what was hit. A fault whose role
/// no node held stays aimed at the role, which is no node or region's name: it hit nothing.
pub fn as_run<'a>(scenario: &'a Scenario, history: &History) -> Cow<'a, Scenario> {
    let held: Vec<(usize, &str)> = history
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Fault(f) => Some((f.index, f.role.as_ref()?.node.as_deref()?)),
            _ => None,
        })
        .collect();
    if held.is_empty() {
        return Cow::Borrowed(scenario);
    }
    let mut as_run = scenario.clone();
    for (index, holder) in held {
        if let Some(fault) = as_run.faults.get_mut(index) {
            if fault.kind.role().is_some() {
                fault.kind = fault.kind.aimed_at(holder);
            }
        }
    }
    Cow::Owned(as_run)
}

/// A half-open span of simulated time, `[start_ms, end_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start_ms: TimeMs,
    pub end_ms: TimeMs,
}

impl Window {
    pub fn contains(&self, at_ms: TimeMs) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    pub fn overlaps(&self, other: &Window) -> bool {
        self.start_ms <= other.end_ms && other.start_ms <= self.end_ms
    }
}

/// One fault as it happened: its Start record and, if it healed, when.
#[derive(Clone, Debug)]
pub struct FaultWindow<'a> {
    pub record: &'a FaultRecord,
    pub start_ms: TimeMs,
    pub heal_ms: Option<TimeMs>,
}

impl FaultWindow<'_> {
    /// The fault's span; a fault that never healed lasts until the end of the run.
    pub fn window(&self, run_end_ms: TimeMs) -> Window {
        Window {
            start_ms: self.start_ms,
            end_ms: self.heal_ms.unwrap_or(run_end_ms).max(self.start_ms),
        }
    }

    /// "fault 0 (region outage us-west (crash))".
    pub fn label(&self) -> String {
        format!("fault {} ({})", self.record.index, self.record.description)
    }
}

/// Every fault that started, in order of start; each Start pairs with the first later Heal of
/// the same index.
pub fn fault_windows(history: &History) -> Vec<FaultWindow<'_>> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    for (at_ms, record) in history.iter(|k| match k {
        EventKind::Fault(f) => Some(f),
        _ => None,
    }) {
        match record.phase {
            FaultPhase::Start => windows.push(FaultWindow {
                record,
                start_ms: at_ms,
                heal_ms: None,
            }),
            FaultPhase::Heal => {
                if let Some(open) = windows
                    .iter_mut()
                    .find(|w| w.record.index == record.index && w.heal_ms.is_none())
                {
                    open.heal_ms = Some(at_ms);
                }
            }
        }
    }
    windows.sort_by_key(|w| (w.start_ms, w.record.index));
    windows
}

/// The workload's span: from `WorkloadStarted` to `WorkloadStopped` (to the end of the run if
/// it never stopped); None when it never started.
pub fn workload_window(history: &History) -> Option<Window> {
    let start_ms = history.workload_started_at()?;
    let stopped = history
        .iter(|k| match k {
            EventKind::WorkloadStopped => Some(k),
            _ => None,
        })
        .map(|(at_ms, _)| at_ms)
        .next();
    Some(Window {
        start_ms,
        end_ms: stopped.unwrap_or_else(|| run_end_ms(history)).max(start_ms),
    })
}

/// When `peer` could not be seen on `channel`: from it stopping (`NodeState` down) or a failed
/// observation (`Unreachable`) to its next channel-info sample (to the end of the run when
/// none came). In time order, disjoint.
pub fn unseen_spans(history: &History, peer: &str, channel: &str) -> Vec<Window> {
    let mut spans = Vec::new();
    let mut unseen_since: Option<TimeMs> = None;
    for event in &history.events {
        match &event.kind {
            EventKind::LedgerInfo(info) if info.peer == peer && info.channel == channel => {
                if let Some(start_ms) = unseen_since.take() {
                    spans.push(Window {
                        start_ms,
                        end_ms: event.at_ms,
                    });
                }
            }
            EventKind::Unreachable { node, .. } | EventKind::NodeState { node, up: false }
                if node == peer =>
            {
                unseen_since.get_or_insert(event.at_ms);
            }
            _ => {}
        }
    }
    if let Some(start_ms) = unseen_since {
        spans.push(Window {
            start_ms,
            end_ms: run_end_ms(history).max(start_ms),
        });
    }
    spans
}

/// A client operation: its invoke and, if it completed, its completion (ok, fail or info).
#[derive(Clone, Debug)]
pub struct OpSpan<'a> {
    pub invoked_ms: TimeMs,
    pub invoke: &'a Operation,
    pub completion: Option<(TimeMs, &'a Operation)>,
}

impl<'a> OpSpan<'a> {
    /// Ok, Fail or Info; None while the operation never completed.
    pub fn outcome(&self) -> Option<OpPhase> {
        self.completion.map(|(_, op)| op.phase)
    }

    /// Invoke to Ok, for operations that committed.
    pub fn commit_latency_ms(&self) -> Option<u64> {
        match self.completion {
            Some((at_ms, op)) if op.phase == OpPhase::Ok => Some(at_ms - self.invoked_ms),
            _ => None,
        }
    }

    /// The transaction ID, from the completion if it has one, else from the invoke.
    pub fn tx_id(&self) -> Option<&'a str> {
        self.completion
            .and_then(|(_, op)| op.tx_id.as_deref())
            .or(self.invoke.tx_id.as_deref())
    }
}

/// Operations paired by `op_id`, in order of invoke. Completions without an invoke are dropped;
/// a second completion of the same op is ignored (the first one is what the client saw).
pub fn op_spans(history: &History) -> Vec<OpSpan<'_>> {
    let mut spans: Vec<OpSpan> = Vec::new();
    // Operation IDs are a process's own (each client counts from 0).
    let mut by_id: BTreeMap<(&str, u64), usize> = BTreeMap::new();
    for (at_ms, op) in history.iter(|k| match k {
        EventKind::Op(op) => Some(op),
        _ => None,
    }) {
        if op.phase == OpPhase::Invoke {
            by_id.insert((op.process.as_str(), op.op_id), spans.len());
            spans.push(OpSpan {
                invoked_ms: at_ms,
                invoke: op,
                completion: None,
            });
        } else if let Some(&i) = by_id.get(&(op.process.as_str(), op.op_id)) {
            if spans[i].completion.is_none() && at_ms >= spans[i].invoked_ms {
                spans[i].completion = Some((at_ms, op));
            }
        }
    }
    spans
}

/// What became of a peer by the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Up at the end and observed: judged by every check.
    Live,
    /// Stopped, or in a region whose outage never healed: not judged, but named.
    Down { reason: String },
    /// Up at the end but not observed (never, or unreachable since some time): a check that
    /// needs it fails rather than skipping it.
    Unobserved { reason: String },
}

/// A peer of the scenario's channel with what the history shows of it.
#[derive(Clone, Debug)]
pub struct PeerState<'a> {
    pub spec: NodeSpec,
    pub fate: Fate,
    /// Its channel-info samples, in time order.
    pub samples: Vec<(TimeMs, &'a LedgerInfo)>,
    /// Its block list fetched at the end, if it was.
    pub chain: Option<(TimeMs, &'a ChainRecord)>,
}

impl PeerState<'_> {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn is_live(&self) -> bool {
        self.fate == Fate::Live
    }

    /// Height and current block hash at the end: from the chain fetched at the end, else from
    /// the last channel-info sample.
    pub fn final_tip(&self) -> Option<(u64, &str)> {
        if let Some((_, chain)) = self.chain {
            return Some(match chain.blocks.iter().max_by_key(|b| b.number) {
                Some(last) => (last.number + 1, last.hash.as_str()),
                None => (0, ""),
            });
        }
        self.samples
            .last()
            .map(|(_, info)| (info.height, info.current_block_hash.as_str()))
    }

    /// Every (time, height) the history observed, channel-info samples and the final chain.
    pub fn heights(&self) -> Vec<(TimeMs, u64)> {
        let mut heights: Vec<(TimeMs, u64)> = self
            .samples
            .iter()
            .map(|(at_ms, info)| (*at_ms, info.height))
            .collect();
        if let (Some((at_ms, _)), Some((height, _))) = (self.chain, self.final_tip()) {
            heights.push((at_ms, height));
        }
        heights.sort_by_key(|(at_ms, _)| *at_ms);
        heights
    }
}

/// Every peer of the layout with its fate, in layout order.
///
/// A peer is *down* at the end when its last `NodeState` says it stopped, or when it lies in a
/// region whose outage (crash or cut) never healed. Otherwise it is expected *live*, and it is
/// *observed* when the history has its chain (fetched at the end), or a channel-info sample
/// later than its last `Unreachable`. Expected-live peers that are not observed are
/// `Unobserved`: checks name them instead of silently judging the others only.
pub fn peer_states<'a>(scenario: &Scenario, history: &'a History) -> Vec<PeerState<'a>> {
    let channel = &scenario.topology.channel.name;
    let run_end = run_end_ms(history);
    let unhealed_outages: Vec<(&str, String)> = fault_windows(history)
        .iter()
        .filter(|w| w.heal_ms.is_none())
        .filter_map(
            |w| match scenario.faults.get(w.record.index).map(|f| &f.kind) {
                Some(FaultKind::RegionOutage { region, .. }) => Some((region.as_str(), w.label())),
                _ => None,
            },
        )
        .collect();
    scenario
        .layout()
        .into_iter()
        .filter(|n| n.role == Role::Peer)
        .map(|spec| {
            let name = spec.name.as_str();
            let (peer, on) = (spec.name.clone(), channel.clone());
            let samples: Vec<_> = history
                .iter(move |k| match k {
                    EventKind::LedgerInfo(i) if i.peer == peer && i.channel == on => Some(i),
                    _ => None,
                })
                .collect();
            let (peer, on) = (spec.name.clone(), channel.clone());
            let chain = history
                .iter(move |k| match k {
                    EventKind::Chain(c) if c.peer == peer && c.channel == on => Some(c),
                    _ => None,
                })
                .last();
            let last_state = history
                .iter(|k| match k {
                    EventKind::NodeState { node, up } if node == name => Some(up),
                    _ => None,
                })
                .last();
            let last_unreachable = history
                .iter(|k| match k {
                    EventKind::Unreachable { node, .. } if node == name => Some(node),
                    _ => None,
                })
                .map(|(at_ms, _)| at_ms)
                .last();
            let outage = unhealed_outages.iter().find(|(r, _)| *r == spec.region);
            let fate = if let Some((at_ms, false)) = last_state {
                Fate::Down {
                    reason: format!("stopped at {}", secs(at_ms)),
                }
            } else if let Some((_, label)) = outage {
                Fate::Down {
                    reason: format!("its region is out until the end ({label})"),
                }
            } else if chain.is_some()
                || samples
                    .last()
                    .is_some_and(|(at_ms, _)| last_unreachable.is_none_or(|u| *at_ms > u))
            {
                Fate::Live
            } else if let Some(at_ms) = last_unreachable {
                Fate::Unobserved {
                    reason: format!(
                        "up at the end but unreachable since {} (run ended at {})",
                        secs(at_ms),
                        secs(run_end)
                    ),
                }
            } else {
                Fate::Unobserved {
                    reason: "up at the end but never observed (no channel info, no chain)"
                        .to_string(),
                }
            };
            PeerState {
                spec,
                fate,
                samples,
                chain,
            }
        })
        .collect()
}

/// "not judged: peer0.org2.us-west: stopped at 180.0s" naming every peer down at the end, so a
/// check that judges live peers says whom it left out and why (empty when all are up).
pub fn not_judged(peers: &[PeerState]) -> Option<String> {
    let down: Vec<String> = peers
        .iter()
        .filter_map(|p| match &p.fate {
            Fate::Down { reason } => Some(format!("{}: {reason}", p.name())),
            _ => None,
        })
        .collect();
    (!down.is_empty()).then(|| format!("not judged: {}", down.join(", ")))
}

/// Peers expected live but not observed, as failure reasons.
pub fn unobserved_problems(peers: &[PeerState]) -> Vec<String> {
    peers
        .iter()
        .filter_map(|p| match &p.fate {
            Fate::Unobserved { reason } => Some(format!("{} {reason}: cannot judge it", p.name())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{three_region_scenario, HistoryBuilder};

    #[test]
    fn fault_windows_pair_each_start_with_its_heal() {
        let history = HistoryBuilder::new()
            .fault(5_000, 1, FaultPhase::Start, "b", &["us-west"])
            .fault(1_000, 0, FaultPhase::Start, "a", &["us-east"])
            .fault(9_000, 0, FaultPhase::Heal, "a", &["us-east"])
            .build();
        let windows = fault_windows(&history);
        let spans: Vec<_> = windows
            .iter()
            .map(|w| (w.record.index, w.start_ms, w.heal_ms))
            .collect();
        assert_eq!(spans, [(0, 1_000, Some(9_000)), (1, 5_000, None)]);
        assert_eq!(
            windows[1].window(12_000),
            Window {
                start_ms: 5_000,
                end_ms: 12_000
            }
        );
        assert_eq!(windows[0].label(), "fault 0 (a)");
    }

    #[test]
    fn op_spans_keep_the_first_completion_and_drop_orphans() {
        let history = HistoryBuilder::new()
            .transaction(1, 100, Some((300, OpPhase::Ok)), "t1")
            .op(
                400,
                1,
                "client.us-east",
                OpPhase::Fail,
                "create_asset",
                None,
                None,
                "late",
            )
            .op(
                50,
                9,
                "client.us-east",
                OpPhase::Ok,
                "create_asset",
                None,
                None,
                "orphan",
            )
            .build();
        let spans = op_spans(&history);
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].outcome(), Some(OpPhase::Ok));
        assert_eq!(spans[0].commit_latency_ms(), Some(200));
        assert_eq!(spans[0].tx_id(), Some("t1"));
    }

    #[test]
    fn transactions_are_client_operations_other_than_ca_requests() {
        let history = HistoryBuilder::new()
            .op(
                1,
                1,
                "client.us-east",
                OpPhase::Invoke,
                "create_asset",
                None,
                None,
                "",
            )
            .op(
                1,
                2,
                "client.us-east",
                OpPhase::Invoke,
                "enroll",
                None,
                None,
                "",
            )
            .op(
                1,
                3,
                "console.us-east",
                OpPhase::Invoke,
                "register",
                None,
                None,
                "",
            )
            .op(
                1,
                4,
                "client.us-east",
                OpPhase::Invoke,
                "ReadAsset",
                None,
                None,
                "",
            )
            .build();
        let kinds: Vec<_> = op_spans(&history)
            .iter()
            .map(|s| {
                (
                    is_transaction(s.invoke),
                    is_ca_request(s.invoke),
                    is_evaluate(s.invoke),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (true, false, false),
                (false, true, false),
                (false, true, false),
                (false, false, true)
            ]
        );
    }

    #[test]
    fn peer_fates_follow_node_state_outages_and_observations() {
        let scenario = three_region_scenario();
        let history = HistoryBuilder::new()
            .ledger(1_000, "peer0.org1.us-east", 3, "aa")
            .ledger(1_000, "peer0.org1.us-west", 3, "aa")
            .push(
                2_000,
                EventKind::Unreachable {
                    node: "peer0.org1.us-west".to_string(),
                    what: "channel info".to_string(),
                },
            )
            .node(1_500, "peer0.org2.us-east", false)
            .fault(
                1_000,
                0,
                FaultPhase::Start,
                "region outage ca-central",
                &["ca-central"],
            )
            .build();
        let mut scenario = scenario;
        scenario.faults[0].kind = FaultKind::RegionOutage {
            region: "ca-central".to_string(),
            mode: crate::scenario::model::OutageMode::Cut,
        };
        let fates: Vec<(String, Fate)> = peer_states(&scenario, &history)
            .into_iter()
            .map(|p| (p.spec.name.clone(), p.fate))
            .collect();
        let fate = |name: &str| {
            fates
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone())
        };
        assert_eq!(fate("peer0.org1.us-east"), Some(Fate::Live));
        assert!(
            matches!(fate("peer0.org1.us-west"), Some(Fate::Unobserved { reason }) if reason.contains("unreachable since 2.0s"))
        );
        assert!(
            matches!(fate("peer0.org2.us-west"), Some(Fate::Unobserved { reason }) if reason.contains("never observed"))
        );
        assert!(
            matches!(fate("peer0.org2.us-east"), Some(Fate::Down { reason }) if reason == "stopped at 1.5s")
        );
        assert!(
            matches!(fate("peer0.org1.ca-central"), Some(Fate::Down { reason }) if reason.contains("out until the end"))
        );
    }

    #[test]
    fn final_tip_prefers_the_chain_fetched_at_the_end() {
        let scenario = three_region_scenario();
        let blocks = crate::checks::testkit::chain_of(&[vec![], vec!["t".to_string()]]);
        let tip = blocks[1].hash.clone();
        let history = HistoryBuilder::new()
            .ledger(1_000, "peer0.org1.us-east", 1, "old")
            .chain(2_000, "peer0.org1.us-east", blocks)
            .build();
        let peers = peer_states(&scenario, &history);
        assert_eq!(peers[0].final_tip(), Some((2, tip.as_str())));
        assert_eq!(peers[0].heights(), [(1_000, 1), (2_000, 2)]);
    }

    #[test]
    fn small_formatters() {
        assert_eq!(secs(185_049), "185.0s");
        assert_eq!(short_hash("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_hash("ab"), "ab");
        let items: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
        assert_eq!(list_some(&items, 3), "1, 2, 3 and 2 more");
        assert_eq!(
            describe_fault(&FaultKind::NodeCrash {
                node: "orderer0.us-east".to_string()
            }),
            (
                "node crash orderer0.us-east".to_string(),
                vec!["us-east".to_string()]
            )
        );
    }
}
