//! The runner against a fake world: which changes each fault makes, in order, what the
//! history says, and what happens when the world refuses a change. Real time in
//! milliseconds: faults start a few ms into the "workload".

use super::faults;
use super::roles::Holders;
use crate::checks::testkit::three_region_scenario;
use crate::clock::Clock;
use crate::history::{EventKind, FaultPhase, FaultRecord, History, RoleHolder};
use crate::net::{Net, RealNet};
use crate::scenario::model::{Fault, FaultKind, OutageMode, Runbook, Scenario, TargetRole};
use crate::substrate::capabilities::Capabilities;
use crate::substrate::world::{Change, LocalFuture, World, WorldError};
use crate::substrate::{RunOutput, Substrate, SubstrateError};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Records every change; refuses the `fail_at`-th (0-based) if set.
#[derive(Default)]
struct FakeWorld {
    nodes: Vec<String>,
    changes: RefCell<Vec<String>>,
    history: RefCell<History>,
    fail_at: Option<usize>,
}

impl World for FakeWorld {
    fn clock(&self) -> Clock {
        Clock::System
    }

    fn net(&self) -> Arc<dyn Net> {
        Arc::new(RealNet)
    }

    fn record(&self, event: EventKind) {
        self.history.borrow_mut().push(0, event);
    }

    fn apply(&self, change: Change) -> LocalFuture<'_, Result<(), WorldError>> {
        let mut changes = self.changes.borrow_mut();
        let refused = self.fail_at == Some(changes.len());
        changes.push(describe(&change));
        Box::pin(async move {
            if refused {
                Err(WorldError("the engine went away".into()))
            } else {
                Ok(())
            }
        })
    }

    fn nodes(&self) -> Vec<String> {
        self.nodes.clone()
    }

    fn read_history(&self, read: &mut dyn FnMut(&History)) {
        read(&self.history.borrow());
    }
}

fn describe(change: &Change) -> String {
    match change {
        Change::Delay(a, b, delay) => {
            format!("delay {} <-> {} {delay:?}", a.join(","), b.join(","))
        }
        other => other.describe(),
    }
}

fn world(fail_at: Option<usize>) -> Rc<FakeWorld> {
    Rc::new(FakeWorld {
        nodes: vec![
            "peer0.org1.us-east".into(),
            "peer0.org1.us-west".into(),
            "console.us-west".into(),
        ],
        fail_at,
        ..FakeWorld::default()
    })
}

fn with_fault(kind: FaultKind) -> Scenario {
    let mut scenario = three_region_scenario();
    scenario.faults = vec![Fault {
        at: Duration::from_millis(1),
        duration: Some(Duration::from_millis(2)),
        kind,
    }];
    scenario
}

/// Runs `future` on a current-thread runtime with local tasks, as substrates run the runner.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, future)
}

fn run_faults(world: &Rc<FakeWorld>, scenario: Scenario) -> Result<(), String> {
    run_faults_with(world, scenario, Rc::new(Scripted::never()))
}

fn run_faults_with(
    world: &Rc<FakeWorld>,
    scenario: Scenario,
    holders: Rc<dyn Holders>,
) -> Result<(), String> {
    let dyn_world: Rc<dyn World> = world.clone();
    block_on(async move {
        let start = dyn_world.clock().now();
        faults::run(
            dyn_world,
            Rc::new(scenario),
            start,
            Rc::new(Cell::new(0)),
            holders,
        )
        .await
    })
}

/// A role held by `holder` from look number `from` (0-based) on, whatever the role.
struct Scripted {
    holder: Option<String>,
    from: usize,
    looks: Cell<usize>,
}

impl Scripted {
    fn never() -> Scripted {
        Scripted::from_look(None, 0)
    }

    fn from_look(holder: Option<&str>, from: usize) -> Scripted {
        Scripted {
            holder: holder.map(str::to_string),
            from,
            looks: Cell::new(0),
        }
    }
}

impl Holders for Scripted {
    fn holder(&self, _: TargetRole) -> LocalFuture<'_, Option<String>> {
        let look = self.looks.get();
        self.looks.set(look + 1);
        let holder = self.holder.clone().filter(|_| look >= self.from);
        Box::pin(async move { holder })
    }
}

/// The fault records of the history: phase, description, regions, role holder.
fn fault_records(world: &FakeWorld) -> Vec<FaultRecord> {
    world
        .history
        .borrow()
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Fault(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn outage(mode: OutageMode) -> FaultKind {
    FaultKind::RegionOutage {
        region: "us-west".into(),
        mode,
    }
}

#[test]
fn each_fault_makes_its_changes_in_order_and_is_recorded() {
    let west = "peer0.org1.us-west, console.us-west";
    let cases: Vec<(FaultKind, Vec<String>)> = vec![
        (
            outage(OutageMode::Lost),
            vec![
                format!("isolate {west}"),
                format!("kill {west}"),
                format!("rejoin {west}"),
                format!("restart {west}"),
            ],
        ),
        (
            outage(OutageMode::Killed),
            vec![format!("kill {west}"), format!("restart {west}")],
        ),
        (
            outage(OutageMode::Cut),
            vec![format!("isolate {west}"), format!("rejoin {west}")],
        ),
        (
            FaultKind::Partition {
                sides: [vec!["us-east".into()], vec!["us-west".into()]],
            },
            vec![
                format!("silence peer0.org1.us-east -> {west}"),
                format!("silence {west} -> peer0.org1.us-east"),
                format!("restore peer0.org1.us-east -> {west}"),
                format!("restore {west} -> peer0.org1.us-east"),
            ],
        ),
        (
            FaultKind::OneWayPartition {
                from: vec!["us-west".into()],
                to: vec!["us-east".into()],
            },
            vec![
                format!("silence {west} -> peer0.org1.us-east"),
                format!("restore {west} -> peer0.org1.us-east"),
            ],
        ),
        (
            FaultKind::Latency {
                regions: ["us-east".into(), "us-west".into()],
                rtt: Duration::from_millis(400),
            },
            vec![
                format!(
                    "delay peer0.org1.us-east <-> {} 200ms",
                    west.replace(", ", ",")
                ),
                // Back to the matrix's eastus-westus round trip, halved.
                format!(
                    "delay peer0.org1.us-east <-> {} {:?}",
                    west.replace(", ", ","),
                    three_region_scenario()
                        .topology
                        .one_way_delay("us-east", "us-west")
                ),
            ],
        ),
        (
            FaultKind::NodeCrash {
                node: "peer0.org1.us-east".into(),
            },
            vec![
                "kill peer0.org1.us-east".into(),
                "restart peer0.org1.us-east".into(),
            ],
        ),
    ];
    for (kind, expected) in cases {
        let world = world(None);
        let name = kind.name();
        run_faults(&world, with_fault(kind)).unwrap();
        assert_eq!(*world.changes.borrow(), expected, "{name}");
        let phases: Vec<FaultPhase> = world
            .history
            .borrow()
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Fault(f) => Some(f.phase),
                _ => None,
            })
            .collect();
        assert_eq!(phases, vec![FaultPhase::Start, FaultPhase::Heal], "{name}");
    }
}

#[test]
fn a_fault_aimed_at_a_role_hits_its_holder_and_records_whom() {
    let crash = FaultKind::NodeCrash {
        node: "raft_leader".into(),
    };
    let crashed = world(None);
    let holders = Rc::new(Scripted::from_look(Some("orderer1.us-west"), 0));
    run_faults_with(&crashed, with_fault(crash), holders).unwrap();
    assert_eq!(
        *crashed.changes.borrow(),
        ["kill orderer1.us-west", "restart orderer1.us-west"]
    );
    let records = fault_records(&crashed);
    assert_eq!(
        records[0].description,
        "node crash orderer1.us-west (raft_leader)"
    );
    assert_eq!(records[0].regions, ["us-west"]);
    let held = RoleHolder {
        role: "raft_leader".into(),
        node: Some("orderer1.us-west".into()),
    };
    assert_eq!(records[0].role, Some(held));
    assert_eq!(records[1].role, None, "the heal repeats no resolution");

    let outage = FaultKind::RegionOutage {
        region: "gateway_peer".into(),
        mode: OutageMode::Cut,
    };
    let cut = world(None);
    let holders = Rc::new(Scripted::from_look(Some("peer0.org1.us-west"), 0));
    run_faults_with(&cut, with_fault(outage), holders).unwrap();
    let west = "peer0.org1.us-west, console.us-west";
    assert_eq!(
        *cut.changes.borrow(),
        [format!("isolate {west}"), format!("rejoin {west}")]
    );
    assert_eq!(
        fault_records(&cut)[0].description,
        "region outage us-west (cut; gateway_peer peer0.org1.us-west)"
    );
}

#[test]
fn a_fault_waits_for_a_holder_while_an_election_runs_and_hits_nothing_without_one() {
    // Held from the second look on, a second after the planned start: the fault starts then.
    let mut scenario = with_fault(FaultKind::NodeCrash {
        node: "raft_leader".into(),
    });
    scenario.faults[0].duration = Some(Duration::from_millis(1500));
    let waited = world(None);
    let holders = Rc::new(Scripted::from_look(Some("orderer2.ca-central"), 1));
    run_faults_with(&waited, scenario.clone(), holders.clone()).unwrap();
    assert_eq!(holders.looks.get(), 2);
    assert_eq!(waited.changes.borrow()[0], "kill orderer2.ca-central");

    // Never held before the planned end: nothing is changed, and the history says so.
    scenario.faults[0].duration = Some(Duration::from_millis(5));
    let untouched = world(None);
    run_faults_with(&untouched, scenario, Rc::new(Scripted::never())).unwrap();
    assert!(untouched.changes.borrow().is_empty());
    let records = fault_records(&untouched);
    let phases: Vec<FaultPhase> = records.iter().map(|r| r.phase).collect();
    assert_eq!(phases, [FaultPhase::Start, FaultPhase::Heal]);
    assert_eq!(
        records[0].description,
        "node crash raft_leader: no node held the role"
    );
    assert!(records[0].regions.is_empty());
    assert_eq!(records[0].role.as_ref().unwrap().node, None);
}

#[test]
fn a_refused_change_stops_the_fault_and_names_it() {
    // The kill of a lost region is refused: no restart is attempted, no heal recorded.
    let world = world(Some(1));
    let error = run_faults(&world, with_fault(outage(OutageMode::Lost))).unwrap_err();
    assert_eq!(
        error,
        "fault 0: could not kill peer0.org1.us-west, console.us-west: the engine went away"
    );
    assert_eq!(world.changes.borrow().len(), 2);
    let recorded = world.history.borrow().events.len();
    assert_eq!(recorded, 0, "neither start nor heal recorded");
}

#[test]
fn a_world_that_cannot_start_the_first_node_stops_the_run_with_its_error() {
    let world = world(Some(0));
    let mut scenario = three_region_scenario();
    scenario.procedure.runbook = Runbook::Prebuilt;
    let dyn_world: Rc<dyn World> = world.clone();
    let outcome = block_on(super::execute(dyn_world, Rc::new(scenario)));
    let error = outcome.unwrap_err();
    assert!(error.contains("the engine went away"), "{error}");
    assert_eq!(
        *world.changes.borrow(),
        vec!["start orderer0.us-east (orderer)".to_string()],
        "nothing after the refused start"
    );
}

/// A substrate that must never be asked to run.
struct Refusing {
    asked: Cell<bool>,
}

impl Substrate for Refusing {
    fn name(&self) -> &'static str {
        "refusing"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            faults: Vec::new(),
            no_latency: Some("no delays here".into()),
            no_ordering_restart: None,
        }
    }

    fn run(
        &self,
        _: &Scenario,
        _: &dyn super::progress::Progress,
    ) -> Result<RunOutput, SubstrateError> {
        self.asked.set(true);
        Err(SubstrateError::Failed("must not run".into()))
    }
}

#[test]
fn a_scenario_beyond_the_substrate_is_refused_before_it_runs() {
    let substrate = Refusing {
        asked: Cell::new(false),
    };
    let error = super::run(&three_region_scenario(), &substrate).unwrap_err();
    match error {
        SubstrateError::Unavailable(why) => assert!(why.contains("no delays here"), "{why}"),
        other => panic!("{other}"),
    }
    assert!(!substrate.asked.get());
}
