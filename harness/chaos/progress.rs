//! Progress of a sweep on stderr: a bar (runs done, failures, ETA) on a terminal, one plain
//! line per finished run elsewhere (CI logs), so a long sweep is never silent.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    failed: u64,
}

impl Progress {
    /// `what` names the runs (`runs`, `mutations`).
    pub fn new(total: u64, what: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = format!(
                "{{bar:30}} {{pos}}/{{len}} {what}, {{msg}} [{{elapsed_precise}}, ETA {{eta}}]"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar.set_message("0 failed");
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            failed: 0,
        }
    }

    /// One run finished; `line` says how.
    pub fn finished(&mut self, failed: bool, line: &str) {
        self.done += 1;
        self.failed += u64::from(failed);
        match &self.bar {
            Some(bar) => {
                if failed {
                    bar.println(line);
                }
                bar.set_message(format!("{} failed", self.failed));
                bar.inc(1);
            }
            None => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "[{}/{}] {line} ({} failed so far)",
                    self.done,
                    self.total,
                    self.failed
                );
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
