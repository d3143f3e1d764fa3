//! Schedules per minute of `hadr chaos scenarios/chaos-base.yaml`: one iteration is a sweep
//! of 4 runs (seed 1, runs 0 to 3, which hold, so no shrinking), summary files included, at
//! `--jobs 1` and `--jobs 2`. criterion's elem/s times 60 is schedules per minute; the ratio
//! of the two cases is how the sweep scales with cores. Every iteration verifies its
//! signatures afresh, as a sweep's distinct runs do.
//!
//!     cargo bench --bench chaos_schedules

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hadr::fabric::crypto::forget_verified;
use std::path::Path;
use std::time::Duration;

const BASE: &str = "scenarios/chaos-base.yaml";
const RUNS: u64 = 4;

fn schedules(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(BASE);
    let text = std::fs::read_to_string(&path).expect("the base scenario");
    let base = hadr::scenario::load(&path).unwrap_or_else(|error| panic!("{error}"));
    let chaos = base.chaos.clone().expect("a chaos: section");
    let out = tempfile::tempdir().expect("a temporary folder");
    let mut group = c.benchmark_group("chaos_base_schedules");
    // One iteration runs several simulations of minutes each: the fewest samples criterion
    // accepts.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(RUNS));
    for jobs in [1, 2] {
        group.bench_function(format!("jobs_{jobs}"), |b| {
            b.iter(|| {
                // Seeded runs sign the same bytes each time: without this, every iteration
                // after the first would find its signatures verified (crypto::verify's cache).
                forget_verified();
                let sweep = hadr::chaos::Sweep {
                    base: &base,
                    base_text: &text,
                    chaos: &chaos,
                    runs: RUNS,
                    seed: 1,
                    jobs,
                    shard: None,
                    out: out.path(),
                };
                let summary = hadr::chaos::sweep(&sweep).expect("the sweep runs");
                assert_eq!(summary.failed, 0, "runs 0 to 3 of seed 1 hold");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, schedules);
criterion_main!(benches);
