//! Fault schedules for chaos experiments: the random nemesis that draws them from a
//! scenario's `chaos:` section (nemesis.rs), the shrinking of a failing schedule to a smaller
//! one that still fails (shrink.rs), and the reproducer, an ordinary scenario file with the
//! schedule written out (reproducer.rs). The fault model itself is scenario/model.rs; the
//! runner injects faults (runner/faults.rs).

pub mod nemesis;
pub mod reproducer;
pub mod shrink;

use crate::checks::view::describe_fault;
use crate::scenario::duration;
use crate::scenario::model::Fault;

/// `at 30s for 40s: region outage us-west (lost)`: a fault as summaries list it.
pub fn describe(fault: &Fault) -> String {
    let (what, _) = describe_fault(&fault.kind);
    match fault.duration {
        Some(lasts) => format!(
            "at {} for {}: {what}",
            duration::format(fault.at),
            duration::format(lasts)
        ),
        None => format!("at {} to the end: {what}", duration::format(fault.at)),
    }
}
