//! Runs a scenario: builds its network (prebuilt, or through the documented procedure),
//! starts the workload, injects the faults, observes, and hands the history to the checks.
//! The same code drives every substrate through [`world::World`].

pub mod deployer;
pub mod documented;
pub mod faults;
pub mod material;
pub mod network;
pub mod observe;
pub mod prebuilt;
pub mod progress;
pub mod roles;
#[cfg(test)]
mod tests;

use crate::history::{EventKind, History};
use crate::node::spec::{ClientSpec, NodeSpec, Role};
use crate::node::wire::PEER_PORT;
use crate::report::Report;
use crate::scenario::layout::client_name;
use crate::scenario::model::{Runbook, Scenario};
use crate::substrate::world::{Change, World};
use crate::substrate::{RunOutput, Substrate, SubstrateError};
use network::Network;
use observe::Observer;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// How often the harness samples ledgers, ordering nodes and peer metrics, and membership.
const LEDGER_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
const MEMBERSHIP_SAMPLE_EVERY: u64 = 5;
const CONSOLE_SAMPLE_EVERY: u64 = 10;
/// How long the network may take to form its gossip membership before the workload.
const GOSSIP_FORMATION_TIMEOUT: Duration = Duration::from_secs(120);
/// After the workload: how long transactions may take to reach an outcome, and ledgers to
/// converge.
const SETTLE_OPERATIONS_TIMEOUT: Duration = Duration::from_secs(120);
const SETTLE_LEDGERS_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs `scenario` on `substrate` and judges it.
pub fn run(
    scenario: &Scenario,
    substrate: &dyn Substrate,
) -> Result<(Report, History), SubstrateError> {
    run_with(scenario, substrate, &progress::Silent)
}

/// Runs `scenario` on `substrate`, telling `progress` how far it got, and judges it.
pub fn run_with(
    scenario: &Scenario,
    substrate: &dyn Substrate,
    progress: &dyn progress::Progress,
) -> Result<(Report, History), SubstrateError> {
    crate::substrate::capabilities::check(scenario, substrate.name(), &substrate.capabilities())
        .map_err(SubstrateError::Unavailable)?;
    let wall = std::time::Instant::now();
    let RunOutput {
        history,
        sim_time_ms,
        latency_resolution_ms,
        stopped,
        notes,
    } = substrate.run(scenario, progress)?;
    let mut report = Report::build(
        scenario,
        &history,
        substrate.name(),
        wall.elapsed().as_millis() as u64,
    );
    report.sim_time_ms = sim_time_ms;
    report.latency_resolution_ms = latency_resolution_ms;
    report.substrate_notes = notes;
    if let Some(stopped) = stopped {
        report.stop(stopped);
    }
    Ok((report, history))
}

/// Drives `scenario` inside `world`: the network, the workload, the faults, the observations.
pub async fn execute(world: Rc<dyn World>, scenario: Rc<Scenario>) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed);
    let (network, consoles) = match scenario.procedure.runbook {
        Runbook::Prebuilt => (prebuilt::build(&world, &scenario, &mut rng).await?, None),
        Runbook::Documented => match documented::build(&world, &scenario, &mut rng).await? {
            documented::Built::Network(network, consoles) => (network, Some(consoles)),
            // The failed step is in the history; there is no network to load.
            documented::Built::Stopped => return Ok(()),
        },
    };
    let network = Rc::new(network);
    let observer = Rc::new(Observer::new(
        world.clone(),
        network.clone(),
        rng.next_u64(),
    ));
    wait_for_gossip(&world, &observer, &network).await;

    let start = world.clock().now() + Duration::from_secs(1);
    launch_clients(&world, &scenario, &network, start, rng.next_u64()).await?;
    sleep_until(&world, start).await;
    world.record(EventKind::WorkloadStarted);
    let faults_started = Rc::new(Cell::new(0usize));
    let holders = Rc::new(roles::Observed {
        world: world.clone(),
        observer: observer.clone(),
        client: client_name(scenario.workload.client_region()),
    });
    let faults = tokio::task::spawn_local(faults::run(
        world.clone(),
        scenario.clone(),
        start,
        faults_started.clone(),
        holders,
    ));
    let observing = Rc::new(Cell::new(true));
    let sampler = tokio::task::spawn_local(sample(
        world.clone(),
        observer.clone(),
        consoles.clone(),
        observing.clone(),
        faults_started,
    ));

    sleep_until(&world, start + scenario.workload.duration).await;
    world.record(EventKind::WorkloadStopped);
    let settle_start = world.clock().now();
    while world.operations_pending() > 0
        && world.clock().now() < settle_start + SETTLE_OPERATIONS_TIMEOUT
    {
        tokio::time::sleep(LEDGER_SAMPLE_INTERVAL).await;
    }
    let faulted = faults
        .await
        .map_err(|e| format!("the fault task failed: {e}"))
        .and_then(|r| r);
    let settle_start = world.clock().now();
    while !ledgers_agree(&observer, &network).await
        && world.clock().now() < settle_start + SETTLE_LEDGERS_TIMEOUT
    {
        tokio::time::sleep(LEDGER_SAMPLE_INTERVAL).await;
    }
    observing.set(false);
    let _ = sampler.await;
    observer.ledger_round().await;
    observer.membership_round().await;
    observer.chains().await;
    if let Some(consoles) = consoles {
        documented::console_round(world.clone(), consoles).await;
    }
    faulted
}

async fn sleep_until(world: &Rc<dyn World>, at: Duration) {
    let now = world.clock().now();
    if at > now {
        tokio::time::sleep(at - now).await;
    }
}

/// Waits until every peer knows every other peer through gossip (or the timeout passes).
async fn wait_for_gossip(world: &Rc<dyn World>, observer: &Rc<Observer>, network: &Network) {
    let deadline = world.clock().now() + GOSSIP_FORMATION_TIMEOUT;
    while world.clock().now() < deadline {
        let records = observer.membership_round().await;
        let complete = records.len() == network.peers.len()
            && records
                .iter()
                .all(|r| r.known.len() + 1 == network.peers.len());
        if complete {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Whether every peer that answers has the same height and tip, and that height is the
/// ordering service's (a stalled network agrees too, at a height it has not caught up to).
async fn ledgers_agree(observer: &Rc<Observer>, network: &Network) -> bool {
    // The highest ledger height an ordering node reports (committed block + 1).
    let ordered = observer
        .orderer_round()
        .await
        .iter()
        .map(|status| status.committed_block_number + 1)
        .max();
    let mut tips = std::collections::BTreeSet::new();
    for peer in &network.peers {
        if let Some(info) = observer.chain_info(peer).await {
            tips.insert((info.height, info.current_block_hash));
        }
    }
    match (tips.len(), tips.first(), ordered) {
        (0, _, _) => true,
        (1, Some((height, _)), Some(ordered)) => *height >= ordered,
        (n, _, _) => n == 1,
    }
}

/// Samples ledgers, ordering nodes and peer metrics every second, membership every five and
/// the consoles (when the procedure made them) every ten and within a second of each fault's
/// start (so even a short fault window holds console evidence), while `observing`.
async fn sample(
    world: Rc<dyn World>,
    observer: Rc<Observer>,
    consoles: Option<documented::Consoles>,
    observing: Rc<Cell<bool>>,
    faults_started: Rc<Cell<usize>>,
) {
    let mut round = 0u64;
    let mut faults_seen = 0;
    let mut rounds = tokio::task::JoinSet::new();
    while observing.get() {
        let o = observer.clone();
        rounds.spawn_local(async move { o.ledger_round().await });
        let o = observer.clone();
        rounds.spawn_local(async move {
            o.orderer_round().await;
        });
        let o = observer.clone();
        rounds.spawn_local(async move { o.peer_round().await });
        if round % MEMBERSHIP_SAMPLE_EVERY == 0 {
            let o = observer.clone();
            rounds.spawn_local(async move {
                o.membership_round().await;
            });
        }
        let fault_began = faults_started.get() != faults_seen;
        faults_seen = faults_started.get();
        if let Some(consoles) = consoles
            .as_ref()
            .filter(|_| round % CONSOLE_SAMPLE_EVERY == 0 || fault_began)
        {
            rounds.spawn_local(documented::console_round(world.clone(), consoles.clone()));
        }
        round += 1;
        tokio::time::sleep(LEDGER_SAMPLE_INTERVAL).await;
        while rounds.try_join_next().is_some() {}
    }
    while rounds.join_next().await.is_some() {}
}

/// Starts the client applications, one in each of the workload's regions, as members of
/// the first organization. The first client's seed is `seed`, so a one-client scenario
/// runs as it always has; the others' are derived from it.
async fn launch_clients(
    world: &Rc<dyn World>,
    scenario: &Scenario,
    network: &Network,
    start: Duration,
    seed: u64,
) -> Result<(), String> {
    let msp_id = scenario
        .topology
        .organizations
        .first()
        .map(|o| o.msp_id.clone())
        .ok_or("the scenario has no organization")?;
    let identity = network
        .clients
        .get(&msp_id)
        .cloned()
        .ok_or("no client identity")?;
    let workload = &scenario.workload;
    for (index, region) in workload.clients.iter().enumerate() {
        let gateway_peers = if workload.gateway.peers.is_empty() {
            // The client organization's peers, its own region's first.
            let mut peers = network.peer_endpoints(&msp_id);
            peers.sort_by_key(|endpoint| !endpoint.contains(&format!(".{region}:")));
            peers
        } else {
            workload
                .gateway
                .peers
                .iter()
                .map(|peer| format!("{peer}:{PEER_PORT}"))
                .collect()
        };
        let client = ClientSpec {
            identity: (&identity).into(),
            channel_id: network.channel_id.clone(),
            chaincode: network.chaincode.clone(),
            gateway_peers,
            failover: workload.gateway.failover,
            timeouts: workload.gateway.timeouts.clone(),
            rate_per_s: workload.rate_per_s,
            rate_changes: workload.rate_changes.clone(),
            duration: workload.duration,
            calls: workload.calls.clone(),
            // The first client's assets keep their plain IDs.
            id_prefix: if index == 0 {
                String::new()
            } else {
                format!("{region}.")
            },
            start,
            seed: seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
        };
        world
            .apply(Change::Start(Box::new(NodeSpec {
                name: client_name(region),
                role: Role::Client(Box::new(client)),
            })))
            .await?;
    }
    Ok(())
}
