//! When a client submits: a rate that starts at `rate_per_s` and changes at given offsets,
//! at once or in a straight line (a ramp). The n-th call goes out when the expected number
//! of calls reaches n, so a constant rate spaces calls evenly, as it always has.

use crate::scenario::model::RateChange;
use std::time::Duration;

/// A stretch of the workload over which the rate goes linearly from `from_per_s` to
/// `to_per_s` (equal: constant).
#[derive(Clone, Debug, PartialEq)]
struct Piece {
    start_s: f64,
    end_s: f64,
    from_per_s: f64,
    to_per_s: f64,
    /// Calls due before the piece starts.
    calls_before: f64,
}

impl Piece {
    fn calls(&self) -> f64 {
        (self.end_s - self.start_s) * (self.from_per_s + self.to_per_s) / 2.0
    }

    /// Seconds into the piece at which `k` of its calls are due.
    fn time_of(&self, k: f64) -> f64 {
        let length = self.end_s - self.start_s;
        let slope = (self.to_per_s - self.from_per_s) / length;
        if self.from_per_s == self.to_per_s {
            return k / self.from_per_s;
        }
        // from·t + slope·t²/2 = k
        let a = self.from_per_s;
        ((a * a + 2.0 * slope * k).max(0.0).sqrt() - a) / slope
    }
}

/// Every client's submission times over the workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pieces: Vec<Piece>,
    count: u64,
}

impl Schedule {
    /// `changes` in order of `at` (validation); those at or after `duration` do nothing.
    pub fn new(rate_per_s: f64, changes: &[RateChange], duration: Duration) -> Schedule {
        let end_s = duration.as_secs_f64();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut push = |start_s: f64, end_s: f64, from_per_s: f64, to_per_s: f64| {
            if end_s <= start_s {
                return;
            }
            let calls_before = pieces.last().map_or(0.0, |p| p.calls_before + p.calls());
            pieces.push(Piece {
                start_s,
                end_s,
                from_per_s,
                to_per_s,
                calls_before,
            });
        };
        let (mut at_s, mut rate) = (0.0, rate_per_s);
        for change in changes {
            let change_s = change.at.as_secs_f64().min(end_s);
            push(at_s, change_s, rate, rate);
            let ramp_end_s = (change_s + change.over.as_secs_f64()).min(end_s);
            // A ramp cut short by the workload's end reaches only its share of the change.
            let reached =
                if change.over.is_zero() || ramp_end_s >= change_s + change.over.as_secs_f64() {
                    change.rate_per_s
                } else {
                    rate + (change.rate_per_s - rate) * (ramp_end_s - change_s)
                        / change.over.as_secs_f64()
                };
            push(change_s, ramp_end_s, rate, reached);
            (at_s, rate) = (ramp_end_s, reached);
        }
        push(at_s, end_s, rate, rate);
        let total = pieces.last().map_or(0.0, |p| p.calls_before + p.calls());
        Schedule {
            pieces,
            // A hair under a whole call is one: floating error must not drop the last.
            count: (total + 1e-9).floor() as u64,
        }
    }

    /// How many calls a client makes.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// When the n-th call (from 0) goes out, as an offset from the workload's start.
    pub fn offset(&self, n: u64) -> Duration {
        let k = n as f64;
        let piece = self
            .pieces
            .iter()
            .rev()
            .find(|p| p.calls_before <= k && (p.from_per_s > 0.0 || p.to_per_s > 0.0))
            .or(self.pieces.first());
        let Some(piece) = piece else {
            return Duration::ZERO;
        };
        let into = piece.time_of(k - piece.calls_before);
        Duration::from_secs_f64((piece.start_s + into.min(piece.end_s - piece.start_s)).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(at_s: u64, rate_per_s: f64, over_s: u64) -> RateChange {
        RateChange {
            at: Duration::from_secs(at_s),
            rate_per_s,
            over: Duration::from_secs(over_s),
        }
    }

    #[test]
    fn a_constant_rate_spreads_calls_evenly() {
        let schedule = Schedule::new(20.0, &[], Duration::from_secs(600));
        assert_eq!(schedule.count(), 12_000);
        assert_eq!(schedule.offset(20), Duration::from_secs(1));
        let four = Schedule::new(4.0, &[], Duration::from_secs(10));
        assert_eq!(four.offset(1), Duration::from_millis(250));
    }

    #[test]
    fn a_burst_and_a_pause_change_the_spacing() {
        // 10/s for 10 s, 100/s for 5 s, nothing for 5 s, 10/s to the end at 30 s.
        let schedule = Schedule::new(
            10.0,
            &[
                change(10, 100.0, 0),
                change(15, 0.0, 0),
                change(20, 10.0, 0),
            ],
            Duration::from_secs(30),
        );
        assert_eq!(schedule.count(), 100 + 500 + 100);
        assert_eq!(schedule.offset(99), Duration::from_millis(9900));
        assert_eq!(schedule.offset(100), Duration::from_secs(10));
        assert_eq!(schedule.offset(101), Duration::from_millis(10_010));
        // The first call after the pause.
        assert_eq!(schedule.offset(600), Duration::from_secs(20));
    }

    #[test]
    fn a_ramp_accelerates_calls_linearly() {
        // 0 to 20/s over 10 s: 100 calls, the k-th at sqrt(k) seconds.
        let schedule = Schedule::new(1e-9, &[change(0, 20.0, 10)], Duration::from_secs(10));
        assert_eq!(schedule.count(), 100);
        let at = |n| schedule.offset(n).as_secs_f64();
        assert!((at(25) - 5.0).abs() < 1e-6, "{}", at(25));
        assert!((at(64) - 8.0).abs() < 1e-6, "{}", at(64));
        // Monotonic throughout.
        assert!((1..100).all(|n| schedule.offset(n) >= schedule.offset(n - 1)));
    }

    #[test]
    fn changes_after_the_end_do_nothing_and_a_cut_ramp_reaches_its_share() {
        let plain = Schedule::new(5.0, &[], Duration::from_secs(60));
        let late = Schedule::new(5.0, &[change(60, 50.0, 0)], Duration::from_secs(60));
        assert_eq!(plain, late);
        // From 10/s towards 30/s over 20 s, cut at 10 s: reaches 20/s, 150 calls.
        let cut = Schedule::new(10.0, &[change(0, 30.0, 20)], Duration::from_secs(10));
        assert_eq!(cut.count(), 150);
    }
}
