//! `hadr run`'s progress on stderr: a bar when stderr is a terminal, plain lines otherwise
//! (CI logs), never on stdout or in the reports. Simulated time comes from the run; speed
//! and ETA are measured here against the wall clock.

use crate::runner::progress::{Phase, Progress, Status};
use crate::scenario::duration::format as duration;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is written (besides one at each change of phase).
const LINE_EVERY: Duration = Duration::from_secs(10);

/// Simulated time to the second, as scenario files write durations: `3m12s`.
fn clock(ms: u64) -> String {
    duration(Duration::from_secs(ms / 1000))
}

/// The phase as a person reads it, and a key that changes with it.
fn phase_text(phase: &Phase) -> (&'static str, String) {
    match phase {
        Phase::Procedure {
            done,
            total,
            last: Some(last),
        } if *total > 0 => (
            "procedure",
            format!("procedure step {done} of {total} ({last})"),
        ),
        Phase::Procedure { .. } => ("procedure", "building the network".to_string()),
        Phase::Workload {
            elapsed_ms,
            duration_ms,
        } => (
            "workload",
            format!("workload {} of {}", clock(*elapsed_ms), clock(*duration_ms)),
        ),
        Phase::Settling => (
            "settling",
            "settling (outcomes, ledgers converging, final observations)".to_string(),
        ),
    }
}

/// `procedure step 12 of 78 (import-ca in us-west); simulated 1m5s of ~11m5s; 48x; ETA 13s`.
pub fn describe(status: &Status, wall: Duration) -> String {
    let (_, phase) = phase_text(&status.phase);
    let speed = status.sim_ms as f64 / wall.as_millis().max(1) as f64;
    let remaining_ms = status.expected_end_ms.saturating_sub(status.sim_ms);
    // Too early to tell the speed (a real substrate spends its first seconds building an
    // image and networks): no ETA rather than a wild one.
    let eta = if status.phase == Phase::Settling || status.sim_ms < ETA_AFTER_MS {
        String::new()
    } else {
        format!(
            "; ETA {}",
            clock((remaining_ms as f64 / speed.max(0.001)) as u64)
        )
    };
    // Real substrates run at about 1x: one decimal tells 0.9x from 1.1x.
    let speed = if speed < 10.0 {
        format!("{speed:.1}x")
    } else {
        format!("{speed:.0}x")
    };
    format!(
        "{phase}; simulated {} of ~{}; {speed} real time{eta}",
        clock(status.sim_ms),
        clock(status.expected_end_ms)
    )
}

/// How much of the run must have passed before an ETA is shown.
const ETA_AFTER_MS: u64 = 5_000;

/// What `hadr run` shows while a scenario runs.
pub struct Watch {
    name: String,
    started: Instant,
    bar: Option<ProgressBar>,
    last_line: Cell<Option<Instant>>,
    last_phase: RefCell<&'static str>,
}

impl Watch {
    /// A bar on a terminal, lines elsewhere.
    pub fn new(name: &str) -> Watch {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix} [{bar:30}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.to_string());
            bar
        });
        Watch {
            name: name.to_string(),
            started: Instant::now(),
            bar,
            last_line: Cell::new(None),
            last_phase: RefCell::new(""),
        }
    }
}

impl Progress for Watch {
    fn update(&self, status: &Status) {
        let text = describe(status, self.started.elapsed());
        if let Some(bar) = &self.bar {
            bar.set_length(status.expected_end_ms.max(1));
            bar.set_position(status.sim_ms);
            bar.set_message(text);
            return;
        }
        let (phase, _) = phase_text(&status.phase);
        let now = Instant::now();
        let due = self
            .last_line
            .get()
            .is_none_or(|at| now.duration_since(at) >= LINE_EVERY);
        if due || *self.last_phase.borrow() != phase {
            self.last_line.set(Some(now));
            *self.last_phase.borrow_mut() = phase;
            err!("progress: {}: {text}", self.name);
        }
    }

    fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("{}: {text}", self.name)),
            None => err!("progress: {}: {text}", self.name),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_phase_simulated_time_speed_and_eta() {
        let status = Status {
            sim_ms: 65_000,
            expected_end_ms: 665_000,
            phase: Phase::Procedure {
                done: 12,
                total: 78,
                last: Some("import-ca in us-west".to_string()),
            },
        };
        assert_eq!(
            describe(&status, Duration::from_millis(2500)),
            "procedure step 12 of 78 (import-ca in us-west); simulated 1m5s of ~11m5s; 26x real time; ETA 23s"
        );
        let settling = Status {
            sim_ms: 620_000,
            expected_end_ms: 620_000,
            phase: Phase::Settling,
        };
        assert!(!describe(&settling, Duration::from_secs(10)).contains("ETA"));
    }

    #[test]
    fn a_run_at_real_time_shows_its_speed_to_a_decimal_and_no_early_eta() {
        let early = Status {
            sim_ms: 1_000,
            expected_end_ms: 80_000,
            phase: Phase::Procedure {
                done: 1,
                total: 78,
                last: None,
            },
        };
        let text = describe(&early, Duration::from_secs(4));
        assert!(text.ends_with("; 0.2x real time"), "{text}");
        let later = Status {
            sim_ms: 40_000,
            ..early
        };
        let text = describe(&later, Duration::from_secs(44));
        assert!(text.ends_with("; 0.9x real time; ETA 44s"), "{text}");
    }
}
