//! Time as nodes, consoles and the runner see it: simulated time inside turmoil, the host's
//! clocks on real sockets. Inside the simulation, wall-clock dates count from
//! [`SIMULATED_EPOCH_UNIX_MS`], so timestamps in answers are reproducible.

use std::sync::OnceLock;
use std::time::Duration;

/// 2026-01-01T00:00:00Z: the date simulated time starts at.
pub const SIMULATED_EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// turmoil's clock: the time since the simulation started.
    Simulated,
    /// The host's clocks, monotonic time counted from this process's first question.
    System,
    /// The host's clocks, time counted from a run's start (`epoch_unix_ms`): what every
    /// process of one run on real hosts shares (the harness and each container), so their
    /// histories line up. Wall-clock based: all processes of a run read one host's clock.
    Run { epoch_unix_ms: u64 },
}

impl Clock {
    /// Monotonic time: since the simulation started, or since this process first asked.
    pub fn now(self) -> Duration {
        match self {
            Clock::Simulated => turmoil::sim_elapsed().unwrap_or_default(),
            Clock::System => {
                static START: OnceLock<std::time::Instant> = OnceLock::new();
                START.get_or_init(std::time::Instant::now).elapsed()
            }
            Clock::Run { epoch_unix_ms } => {
                Duration::from_millis(Clock::System.unix_ms().saturating_sub(epoch_unix_ms))
            }
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> u64 {
        match self {
            Clock::Simulated => SIMULATED_EPOCH_UNIX_MS + self.now().as_millis() as u64,
            Clock::System | Clock::Run { .. } => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default(),
        }
    }

    /// The current date as RFC 3339 (UTC, milliseconds), as Fabric's healthz writes `time`.
    pub fn rfc3339(self) -> String {
        rfc3339(self.unix_ms())
    }
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, UTC).
pub fn rfc3339(unix_ms: u64) -> String {
    let days = (unix_ms / 86_400_000) as i64;
    let millis_of_day = unix_ms % 86_400_000;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        millis_of_day / 3_600_000,
        millis_of_day / 60_000 % 60,
        millis_of_day / 1000 % 60,
        millis_of_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(SIMULATED_EPOCH_UNIX_MS), "2026-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(
            rfc3339(SIMULATED_EPOCH_UNIX_MS + 90_061_001),
            "2026-01-02T01:01:01.001Z"
        );
    }
}
