//! Whether blocks keep arriving in every region during the workload (blocks_continue), as the
//! region's peers saw them arrive: the same per-region stalls the ordering-service limit is
//! measured by (limits.rs `region_stalls`).

use super::limits::region_stalls;
use super::view::{peer_states, run_end_ms, secs, unseen_spans, workload_window, Window};
use super::CheckResult;
use crate::history::{History, TimeMs};
use crate::scenario::model::Scenario;
use std::time::Duration;

/// The parts of `spans_a` that are also in `spans_b` (both in time order, disjoint).
fn intersect(spans_a: &[Window], spans_b: &[Window]) -> Vec<Window> {
    let mut out = Vec::new();
    for a in spans_a {
        for b in spans_b {
            let (start_ms, end_ms) = (a.start_ms.max(b.start_ms), a.end_ms.min(b.end_ms));
            if start_ms < end_ms {
                out.push(Window { start_ms, end_ms });
            }
        }
    }
    out
}

/// `window` without `holes` (in time order, disjoint).
fn subtract(window: Window, holes: &[Window]) -> Vec<Window> {
    let mut out = Vec::new();
    let mut from_ms = window.start_ms;
    for hole in holes {
        if hole.start_ms > from_ms {
            out.push(Window {
                start_ms: from_ms,
                end_ms: hole.start_ms.min(window.end_ms),
            });
        }
        from_ms = from_ms.max(hole.end_ms);
    }
    if from_ms < window.end_ms {
        out.push(Window {
            start_ms: from_ms,
            end_ms: window.end_ms,
        });
    }
    out.retain(|w| w.start_ms < w.end_ms);
    out
}

/// One region's longest stall inside the judged time.
struct Longest {
    stalled_ms: u64,
    from_ms: TimeMs,
    to_ms: TimeMs,
}

/// blocks_continue {max_stall}.
///
/// Per region (its height: the highest any of its peers reported), the longest time during the
/// workload without a new height, which must not exceed `max_stall`. Only the time while some
/// peer of the region could be seen counts: while every peer of a region is down or
/// unreachable its stall is not measured (the stall after it is back, until it sees a new
/// block, is). Heights are sampled every second, so stalls are measured to about a second. A
/// region none of whose peers was seen during the workload fails: it cannot be judged.
pub fn blocks_continue(scenario: &Scenario, history: &History, max_stall: Duration) -> CheckResult {
    let Some(workload) = workload_window(history) else {
        return CheckResult::fail("the workload never started: cannot judge".to_string());
    };
    let run_end = run_end_ms(history);
    let channel = &scenario.topology.channel.name;
    let bound_ms = max_stall.as_millis() as u64;
    let states = peer_states(scenario, history);
    let (mut problems, mut summary, mut left_out) = (Vec::new(), Vec::new(), Vec::new());
    for region in &scenario.topology.regions {
        let peers: Vec<_> = states
            .iter()
            .filter(|p| p.spec.region == region.name)
            .collect();
        let Some(first) = peers.first() else {
            continue;
        };
        // When no peer of the region could be seen.
        let unseen = peers
            .iter()
            .skip(1)
            .fold(unseen_spans(history, first.name(), channel), |all, p| {
                intersect(&all, &unseen_spans(history, p.name(), channel))
            });
        let judged = subtract(workload, &unseen);
        left_out.extend(
            intersect(&[workload], &unseen)
                .iter()
                .map(|w| format!("{} {} to {}", region.name, secs(w.start_ms), secs(w.end_ms))),
        );
        let mut heights: Vec<(TimeMs, u64)> = peers.iter().flat_map(|p| p.heights()).collect();
        heights.sort();
        let longest = judged
            .iter()
            .flat_map(|&w| {
                region_stalls(&region.name, &heights, w, run_end).map(move |stall| {
                    let from_ms = stall.last_block_at_ms.max(w.start_ms);
                    let to_ms = stall.resumed_at_ms.unwrap_or(run_end).min(w.end_ms);
                    Longest {
                        stalled_ms: to_ms.saturating_sub(from_ms),
                        from_ms,
                        to_ms,
                    }
                })
            })
            .max_by_key(|l| (l.stalled_ms, std::cmp::Reverse(l.from_ms)));
        match longest {
            None => problems.push(format!(
                "{}: no block height seen from its peers during the workload: cannot judge",
                region.name
            )),
            Some(l) => {
                let text = format!(
                    "{} {} ({} to {})",
                    region.name,
                    secs(l.stalled_ms),
                    secs(l.from_ms),
                    secs(l.to_ms)
                );
                if l.stalled_ms > bound_ms {
                    problems.push(format!(
                        "{} saw no new block for {} ({} to {}), longer than {}",
                        region.name,
                        secs(l.stalled_ms),
                        secs(l.from_ms),
                        secs(l.to_ms),
                        secs(bound_ms)
                    ));
                }
                summary.push(text);
            }
        }
    }
    let summary = format!(
        "longest stall per region: {} (bound {})",
        summary.join(", "),
        secs(bound_ms)
    );
    let notes = vec![
        format!(
            "judged during the workload, {} to {}, on the heights each region's peers reported \
             every second",
            secs(workload.start_ms),
            secs(workload.end_ms)
        ),
        if left_out.is_empty() {
            String::new()
        } else {
            format!(
                "not judged while no peer of the region could be seen: {}",
                left_out.join(", ")
            )
        },
    ];
    CheckResult::judge(problems, summary, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start_ms: TimeMs, end_ms: TimeMs) -> Window {
        Window { start_ms, end_ms }
    }

    #[test]
    fn spans_intersect_and_subtract() {
        assert_eq!(
            intersect(&[w(0, 10), w(20, 30)], &[w(5, 25)]),
            [w(5, 10), w(20, 25)]
        );
        assert_eq!(
            subtract(w(0, 100), &[w(10, 20), w(90, 120)]),
            [w(0, 10), w(20, 90)]
        );
        assert_eq!(subtract(w(0, 100), &[w(0, 100)]), []);
    }
}
