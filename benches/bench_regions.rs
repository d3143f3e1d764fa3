//! One candidate of `hadr bench regions` (eastus,westus,canadacentral, ordering spread,
//! seed 1, the defaults): its two runs, each as `run_seed` makes it.
//! - `steady_tick_1ms`: setup, 20 s at 10 tx/s and settling, at the bench's 1 ms resolution;
//! - `outage_tick_10ms`: the loss of the leader's region for two minutes, at 10 ms;
//!
//! and IBM Cloud's dallas,toronto,washington, whose 19 ms round trip dilates its steady run:
//! - `steady_dilated_2x`: the same steady run at 0.5 ms resolution (twice the ticks).
//!
//! Throughput is counted in milliseconds of the real network simulated (a dilated run's
//! simulated time over its dilation), so criterion's "elem/s" divided by 1000 is the
//! speed-up over real time.
//!
//!     cargo bench --bench bench_regions

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hadr::bench::{dilation_for, plan, scenario_for, Placement, Plan, Request, RunKind};
use hadr::fabric::crypto::forget_verified;
use hadr::scenario::model::Scenario;
use hadr::substrate::{sim::Sim, Substrate};
use std::time::Duration;

/// The bench's plan of one candidate at the defaults.
fn plan_of(latency: &str, candidate: &str) -> Plan {
    let request = Request {
        latency: latency.into(),
        candidates: vec![candidate.into()],
        from: None,
        ordering: Placement::Spread,
        template: None,
        rate: hadr::bench::DEFAULT_RATE,
        batch_timeout: None,
        duration: "20s".into(),
        seeds: 1,
        jobs: 1,
    };
    plan(&request).unwrap_or_else(|error| panic!("{error}"))
}

fn one_candidate(c: &mut Criterion) {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate's directory");
    let azure = plan_of(
        "fixtures/latency/azure-2024-04-p50.json",
        "eastus,westus,canadacentral",
    );
    let candidate = &azure.candidates[0];
    let steady = scenario_for(&azure, candidate, 1, &RunKind::Steady);
    // Seed 1 elects its first leader in westus (the bench's steady run says so).
    let outage = scenario_for(
        &azure,
        candidate,
        1,
        &RunKind::Outage {
            region: "region-2".into(),
        },
    );
    let ibm = plan_of(
        "fixtures/latency/ibm-cloud-2026-01.json",
        "dallas,toronto,washington",
    );
    let ibm_candidate = &ibm.candidates[0];
    let dilated = scenario_for(&ibm, ibm_candidate, 1, &RunKind::Steady);
    let dilation = dilation_for(&ibm, ibm_candidate);
    assert_eq!(dilation, 2);
    let mut group = c.benchmark_group("bench_regions");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for (case, scenario, dilation) in [
        ("steady_tick_1ms", &steady, 1),
        ("outage_tick_10ms", &outage, 1),
        ("steady_dilated_2x", &dilated, dilation),
    ] {
        group.throughput(Throughput::Elements(run(scenario) / u64::from(dilation)));
        // As in a fresh `hadr bench` process: no signature verified by an earlier iteration.
        group.bench_function(case, |b| {
            b.iter(|| {
                forget_verified();
                run(scenario)
            })
        });
    }
    group.finish();
}

/// Runs the scenario and returns its simulated duration; a stopped run is not a measurement.
fn run(scenario: &Scenario) -> u64 {
    let output = Sim
        .run(scenario, &hadr::runner::progress::Silent)
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(output.stopped.is_none(), "{:?}", output.stopped);
    output.sim_time_ms
}

criterion_group!(benches, one_candidate);
criterion_main!(benches);
