//! The whole of scenarios/network-region-outage.yaml on the sim substrate, seed 7: setup,
//! ten minutes at 20 tx/s with us-west down from minute 3 to 5, settling, and the checks.
//!
//! Throughput is counted in simulated milliseconds, so criterion's "elem/s" divided by
//! 1000 is the speed-up over real time that report.json gives as sim_time_ms /
//! wall_time_ms. Three cases, measured in one run:
//! - `tick_10ms`: the scenario as shipped, as `hadr run` pays for it in a fresh process;
//! - `tick_20ms`: a coarser tick. turmoil pays per host per tick and the tick is also the
//!   latency resolution, so this shows what the default resolution costs;
//! - `tick_10ms_signatures_known`: crypto::verify's cache keeps the previous run's answers,
//!   so no signature is verified again (signing still happens): the share of the run that
//!   is ECDSA verification;
//! - `tick_10ms_1_tx_per_s`: the same network and faults at 1 tx/s instead of 20: what the
//!   network costs without load (hosts ticking, gossip, Raft, observation), so that the
//!   difference to `tick_10ms` is the cost of the transactions.
//!
//!     cargo bench --bench network_region_outage

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hadr::fabric::crypto::forget_verified;
use hadr::scenario::model::Scenario;
use hadr::substrate::{sim::Sim, Substrate};
use std::path::Path;
use std::time::Duration;

const SCENARIO: &str = "scenarios/network-region-outage.yaml";
const SEED: u64 = 7;

fn region_outage(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO);
    let mut scenario = hadr::scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
    scenario.seed = SEED;
    let mut group = c.benchmark_group("network_region_outage");
    // One iteration simulates about ten minutes and takes seconds: the fewest samples
    // criterion accepts.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    let rate_per_s = scenario.workload.rate_per_s;
    for (case, tick_ms, fresh, rate_per_s) in [
        ("tick_10ms", 10, true, rate_per_s),
        ("tick_20ms", 20, true, rate_per_s),
        ("tick_10ms_signatures_known", 10, false, rate_per_s),
        ("tick_10ms_1_tx_per_s", 10, true, 1.0),
    ] {
        scenario.simulation.tick = Duration::from_millis(tick_ms);
        scenario.workload.rate_per_s = rate_per_s;
        let sim_time_ms = run(&scenario);
        group.throughput(Throughput::Elements(sim_time_ms));
        group.bench_function(case, |b| {
            b.iter(|| {
                if fresh {
                    forget_verified();
                }
                run(&scenario)
            })
        });
    }
    group.finish();
}

/// Runs the scenario and returns its simulated duration; a failed run is not a measurement.
fn run(scenario: &Scenario) -> u64 {
    let output = Sim
        .run(scenario, &hadr::runner::progress::Silent)
        .unwrap_or_else(|error| panic!("{error}"));
    let report = hadr::report::Report::build(scenario, &output.history, Sim.name(), 0);
    assert!(
        report.passed,
        "{} did not pass at seed {SEED}",
        scenario.name
    );
    output.sim_time_ms
}

criterion_group!(benches, region_outage);
criterion_main!(benches);
