//! Human durations as scenario files and Fabric's configuration files write them: an integer
//! with a unit (`250ms`, `2s`, `3m`, `1h`), or several such parts (`1m30s`).

use std::time::Duration;

/// The units a duration may use, largest first (also the order `format` prints them in).
const UNITS: &[(&str, u64)] = &[("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// What a valid duration looks like, for error messages.
pub const EXPECTED: &str =
    "a duration: a whole number with a unit ms, s, m or h (e.g. `250ms`, `2s`, `3m`, `1m30s`)";

/// The longest duration a scenario may write: 30 days. Far beyond any Fabric timer or run,
/// and small enough that sums of scenario durations (a fault's `at + for`, a workload plus
/// its settling) can never overflow, whatever the file says.
pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses `text` into a duration; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the duration is empty".to_string());
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("`{text}` does not start each part with a number"));
        }
        let (number, after) = rest.split_at(digits);
        if after.starts_with(['.', ',']) {
            return Err(format!(
                "`{text}` has a fraction; write whole numbers of a smaller unit (e.g. `1m30s` or `1500ms`)"
            ));
        }
        let unit_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("`{text}` has no unit after `{number}`"));
        }
        let Some((_, unit_ms)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!("`{unit}` in `{text}` is not a unit"));
        };
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{number}` in `{text}` is too large"))?;
        total_ms = value
            .checked_mul(*unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("`{text}` is too long"))?;
        rest = after;
    }
    let total = Duration::from_millis(total_ms);
    if total > MAX {
        return Err(format!(
            "`{text}` is longer than 30 days, the longest duration hadr takes"
        ));
    }
    Ok(total)
}

/// Formats a duration the way `parse` reads it (`1m30s`, `250ms`, `0s`).
pub fn format(duration: Duration) -> String {
    // u128: a sum of durations may exceed u64 milliseconds in an error message about it.
    let mut ms = duration.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (name, unit_ms) in UNITS {
        let unit_ms = u128::from(*unit_ms);
        if ms >= unit_ms {
            out.push_str(&format!("{}{name}", ms / unit_ms));
            ms %= unit_ms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_single_and_compound_durations() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse(" 1500ms "), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        assert!(parse("").is_err());
        assert!(parse("10").unwrap_err().contains("no unit"));
        assert!(parse("2 s").is_err());
        assert!(parse("1.5s").is_err());
        assert!(parse("3d").unwrap_err().contains("not a unit"));
        assert!(parse("s").is_err());
        assert!(parse("-2s").is_err());
        assert!(parse("99999999999999999999h").is_err());
        assert!(parse("7.2m").unwrap_err().contains("fraction"));
        assert!(parse("1,5s").unwrap_err().contains("fraction"));
        assert!(parse("721h").unwrap_err().contains("30 days"));
        assert_eq!(parse("720h"), Ok(MAX));
    }

    #[test]
    fn format_never_wraps() {
        let text = format(Duration::MAX);
        assert!(text.starts_with(&format!("{}h", u64::MAX / 3600)), "{text}");
        assert!(text.ends_with("999ms"), "{text}");
    }

    #[test]
    fn format_round_trips() {
        for text in ["250ms", "2s", "3m", "1m30s", "1h2m3s4ms", "0s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
