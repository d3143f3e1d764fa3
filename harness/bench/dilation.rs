//! Time dilation of the steady run, for round trips the 1 ms tick resolves too coarsely.
//!
//! The sim cannot step finer than 1 ms: turmoil advances each host's paused tokio clock by
//! sleeping one tick, and tokio's timer rounds every deadline up to a whole millisecond, so a
//! 500 µs tick moves the hosts' clocks 1 ms per step (a trial measured half the physical
//! floor). Instead the run is dilated, as time-warped network emulation does (Gupta et al.,
//! "To Infinity and Beyond: Time-Warped Network Emulation", NSDI 2006): every round trip and
//! every timer the scenario sets is made `factor` times longer and the rates `factor` times
//! lower, so one 1 ms tick stands for 1/`factor` ms of the real network. Figures of the run
//! are in its own (dilated) milliseconds; the bench divides them by the factor.
//!
//! What is not scaled: the code's own retry back-offs and dial timeouts (they act only when
//! a call fails, which a steady run without faults does not see), and CPU time (the sim's
//! clock does not advance while a process computes).

use crate::fabric::config::{Value, ValueKind, KEYS};
use crate::scenario::model::{Scenario, Settings};

/// The largest factor the bench uses: a steady run costs `factor` times the ticks.
pub const MAX_FACTOR: u32 = 8;

/// The smallest factor at which `tick_ms` dilated is at most `target` of `smallest_rtt_ms`
/// (1: no dilation), at most [`MAX_FACTOR`].
pub fn factor_for(tick_ms: f64, smallest_rtt_ms: f64, target: f64) -> u32 {
    let needed = (tick_ms / (target * smallest_rtt_ms)).ceil();
    if needed >= 1.0 {
        // Saturates: an infinite need (a zero round trip) is the largest factor.
        (needed.min(f64::from(MAX_FACTOR))) as u32
    } else {
        1
    }
}

/// Makes every round trip, timer and duration of `scenario` `factor` times longer and its
/// rates `factor` times lower; the tick stays. For the bench's steady run, which has no
/// faults, expectations or nemesis (their times would need scaling too).
pub fn dilate(scenario: &mut Scenario, factor: u32) {
    assert!(
        scenario.faults.is_empty() && scenario.expect.is_empty() && scenario.chaos.is_none(),
        "only a scenario without faults, expectations or chaos is dilated"
    );
    if factor == 1 {
        return;
    }
    let k = f64::from(factor);
    let topology = &mut scenario.topology;
    for rtt in topology.latency.rtt_ms.values_mut() {
        *rtt *= k;
    }
    topology.intra_region_rtt *= factor;
    for (key, kind) in KEYS {
        if *kind != ValueKind::Duration {
            continue;
        }
        if let Some(Value::Duration(d)) = topology.fabric.get(key) {
            topology
                .fabric
                .set(key, Value::Duration(d * factor))
                .expect("a duration key takes a duration");
        }
    }
    let settings = |s: &mut Settings| {
        for (_, value) in s.iter_mut() {
            if let Value::Duration(d) = value {
                *d *= factor;
            }
        }
    };
    for org in &mut topology.organizations {
        settings(&mut org.fabric);
        org.peer_fabric.values_mut().for_each(settings);
    }
    let workload = &mut scenario.workload;
    workload.duration *= factor;
    workload.rate_per_s /= k;
    for change in &mut workload.rate_changes {
        change.at *= factor;
        change.over *= factor;
        change.rate_per_s /= k;
    }
    let timeouts = &mut workload.gateway.timeouts;
    for timeout in [
        &mut timeouts.evaluate,
        &mut timeouts.endorse,
        &mut timeouts.submit,
        &mut timeouts.commit_status,
    ] {
        *timeout *= factor;
    }
    scenario.simulation.max_duration *= factor;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_factor_is_the_smallest_that_meets_the_target() {
        // IBM Cloud's Toronto-Washington (19 ms): 1 ms is 5.3 %, 0.5 ms is 2.6 %.
        assert_eq!(factor_for(1.0, 19.0, 0.05), 2);
        assert_eq!(factor_for(1.0, 22.0, 0.05), 1);
        assert_eq!(factor_for(1.0, 20.0, 0.05), 1);
        assert_eq!(factor_for(1.0, 17.0, 0.05), 2);
        assert_eq!(factor_for(1.0, 6.0, 0.05), 4);
        assert_eq!(factor_for(1.0, 0.5, 0.05), MAX_FACTOR);
        assert_eq!(factor_for(1.0, 0.0, 0.05), MAX_FACTOR);
    }

    #[test]
    fn every_time_is_scaled_and_every_rate_divided() {
        let mut scenario = crate::scenario::example();
        scenario.faults.clear();
        scenario.expect.clear();
        let org = &mut scenario.topology.organizations[0];
        org.fabric = vec![(
            "peer.gossip.pullInterval",
            Value::Duration(Duration::from_secs(1)),
        )];
        let before = scenario.clone();
        dilate(&mut scenario, 2);
        let (t, b) = (&scenario.topology, &before.topology);
        for (pair, rtt) in &t.latency.rtt_ms {
            assert_eq!(*rtt, 2.0 * b.latency.rtt_ms[pair]);
        }
        assert_eq!(t.intra_region_rtt, 2 * b.intra_region_rtt);
        assert_eq!(
            t.fabric.ordering.batch_timeout,
            2 * b.fabric.ordering.batch_timeout
        );
        assert_eq!(
            t.fabric.ordering.tick_interval,
            2 * b.fabric.ordering.tick_interval
        );
        assert_eq!(
            t.fabric.gossip.max_propagation_burst_latency,
            2 * b.fabric.gossip.max_propagation_burst_latency
        );
        // Counts are not times.
        assert_eq!(
            t.fabric.ordering.election_tick,
            b.fabric.ordering.election_tick
        );
        assert_eq!(
            t.organizations[0].fabric[0].1,
            Value::Duration(Duration::from_secs(2))
        );
        assert_eq!(
            t.peer_fabric(&crate::scenario::layout::peer_name(
                &t.organizations[0].msp_id,
                0,
                &t.organizations[0].home
            ))
            .gossip
            .pull_interval,
            Duration::from_secs(2)
        );
        let (w, wb) = (&scenario.workload, &before.workload);
        assert_eq!(w.duration, 2 * wb.duration);
        assert_eq!(w.rate_per_s, wb.rate_per_s / 2.0);
        assert_eq!(w.gateway.timeouts.submit, 2 * wb.gateway.timeouts.submit);
        assert_eq!(scenario.simulation.tick, before.simulation.tick);
        assert_eq!(
            scenario.simulation.max_duration,
            2 * before.simulation.max_duration
        );
        // The same number of transactions, over twice the time.
        assert_eq!(w.schedule().offset(10), 2 * wb.schedule().offset(10));
    }
}
