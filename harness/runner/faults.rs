//! The scenario's faults, at their times: each one starts at `at` after the workload began
//! and heals `for` later, as changes to the world and `Fault` events in the history. A fault
//! aimed at a role hits the role's holder at its start (runner/roles.rs); while no node holds
//! it, the fault waits for one, until its planned end at most, and hits nothing if none came.

use super::roles::{self, Holders};
use crate::checks::view::{describe_fault, describe_held};
use crate::history::{EventKind, FaultPhase, FaultRecord, RoleHolder};
use crate::scenario::layout::region_of;
use crate::scenario::model::{FaultKind, OutageMode, Scenario, TargetRole};
use crate::substrate::world::{Change, World};
use std::rc::Rc;
use std::time::Duration;

/// Runs every fault of `scenario` at its time; returns when all have healed (or, for
/// faults without an end, started), or with the first change the world could not make.
/// `started` counts the faults that have started (the sampler looks at the consoles then);
/// `holders` says who holds a role a fault is aimed at.
pub async fn run(
    world: Rc<dyn World>,
    scenario: Rc<Scenario>,
    workload_start: Duration,
    started: Rc<std::cell::Cell<usize>>,
    holders: Rc<dyn Holders>,
) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..scenario.faults.len() {
        let (world, scenario, started) = (world.clone(), scenario.clone(), started.clone());
        let holders = holders.clone();
        tasks.spawn_local(async move {
            let fault = &scenario.faults[index];
            let starts = workload_start + fault.at;
            let ends = fault.duration.map(|d| starts + d);
            sleep_until(&world, starts).await;
            let (kind, role) = match fault.kind.role() {
                None => (Some(fault.kind.clone()), None),
                Some(role) => {
                    let until = ends
                        .unwrap_or(Duration::MAX)
                        .min(starts + roles::LONGEST_WAIT);
                    let (kind, held) = aim(&*holders, &*world, &fault.kind, role, until).await;
                    (kind, Some(held))
                }
            };
            let (start, heal) = match &kind {
                Some(kind) => changes(&*world, &scenario, kind),
                None => (Vec::new(), Vec::new()),
            };
            for change in start {
                apply(&*world, index, change).await?;
            }
            let (description, regions) = match &role {
                None => describe_fault(&fault.kind),
                Some(role) => describe_held(&fault.kind, role.node.as_deref()),
            };
            let record = |phase, role| {
                world.record(EventKind::Fault(FaultRecord {
                    index,
                    phase,
                    description: description.clone(),
                    regions: regions.clone(),
                    role,
                }))
            };
            record(FaultPhase::Start, role);
            started.set(started.get() + 1);
            let Some(ends) = ends else {
                return Ok(());
            };
            sleep_until(&world, ends).await;
            for change in heal {
                apply(&*world, index, change).await?;
            }
            record(FaultPhase::Heal, None);
            Ok(())
        });
    }
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let outcome = done
            .map_err(|e| format!("a fault task failed: {e}"))
            .and_then(|r| r);
        if let (Err(e), None) = (outcome, &first_error) {
            first_error = Some(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// `kind`, aimed at `role`, aimed at the role's holder once there is one (None: there was
/// none by `until`), and the holder as the history records it.
async fn aim(
    holders: &dyn Holders,
    world: &dyn World,
    kind: &FaultKind,
    role: TargetRole,
    until: Duration,
) -> (Option<FaultKind>, RoleHolder) {
    let holder = roles::wait_for_holder(holders, world, role, until).await;
    let aimed = holder.as_deref().map(|h| kind.aimed_at(h));
    let held = RoleHolder {
        role: role.name().to_string(),
        node: holder,
    };
    (aimed, held)
}

async fn apply(world: &dyn World, index: usize, change: Change) -> Result<(), String> {
    let what = change.describe();
    world
        .apply(change)
        .await
        .map_err(|e| format!("fault {index}: could not {what}: {e}"))
}

async fn sleep_until(world: &Rc<dyn World>, at: Duration) {
    let now = world.clock().now();
    if at > now {
        tokio::time::sleep(at - now).await;
    }
}

/// The changes that start a fault of `kind` and those that heal it, in order.
fn changes(world: &dyn World, scenario: &Scenario, kind: &FaultKind) -> (Vec<Change>, Vec<Change>) {
    let in_regions = |regions: &[String]| -> Vec<String> {
        world
            .nodes()
            .into_iter()
            .filter(|node| regions.iter().any(|r| r == region_of(node)))
            .collect()
    };
    match kind {
        FaultKind::RegionOutage { region, mode } => {
            let nodes = in_regions(std::slice::from_ref(region));
            match mode {
                // Silence first, so the killed processes' FIN and RST never leave the region;
                // the network back before the processes, as when a region returns (and as
                // on containers), or their first dials wait out a connect timeout
                // (peer.deliveryclient.connTimeout, 3 s) that no real restart sees.
                OutageMode::Lost => (
                    vec![Change::Isolate(nodes.clone()), Change::Kill(nodes.clone())],
                    vec![Change::Rejoin(nodes.clone()), Change::Restart(nodes)],
                ),
                OutageMode::Killed => (
                    vec![Change::Kill(nodes.clone())],
                    vec![Change::Restart(nodes)],
                ),
                OutageMode::Cut => (
                    vec![Change::Isolate(nodes.clone())],
                    vec![Change::Rejoin(nodes)],
                ),
            }
        }
        FaultKind::Partition { sides } => {
            let (a, b) = (in_regions(&sides[0]), in_regions(&sides[1]));
            let both = |a: &[String], b: &[String], silence: bool| {
                [(a, b), (b, a)]
                    .into_iter()
                    .map(|(from, to)| {
                        let (from, to) = (from.to_vec(), to.to_vec());
                        if silence {
                            Change::Silence { from, to }
                        } else {
                            Change::Restore { from, to }
                        }
                    })
                    .collect()
            };
            (both(&a, &b, true), both(&a, &b, false))
        }
        FaultKind::OneWayPartition { from, to } => {
            let (from, to) = (in_regions(from), in_regions(to));
            (
                vec![Change::Silence {
                    from: from.clone(),
                    to: to.clone(),
                }],
                vec![Change::Restore { from, to }],
            )
        }
        FaultKind::Latency { regions, rtt } => {
            let a = in_regions(std::slice::from_ref(&regions[0]));
            let b = in_regions(std::slice::from_ref(&regions[1]));
            let usual = scenario.topology.one_way_delay(&regions[0], &regions[1]);
            (
                vec![Change::Delay(a.clone(), b.clone(), *rtt / 2)],
                vec![Change::Delay(a, b, usual)],
            )
        }
        FaultKind::NodeCrash { node } => (
            vec![Change::Kill(vec![node.clone()])],
            vec![Change::Restart(vec![node.clone()])],
        ),
    }
}
