//! Per-link latency of the simulated network. turmoil delivers a message at the first tick
//! after its delay, so the tick is the latency resolution.

use std::time::Duration;

/// The one-way delay turmoil will actually apply: rounded up to whole ticks, at least one.
pub fn effective_delay(delay: Duration, tick: Duration) -> Duration {
    let ticks = delay.as_nanos().div_ceil(tick.as_nanos()).max(1);
    tick * ticks as u32
}
