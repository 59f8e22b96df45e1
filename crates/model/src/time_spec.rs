//! Times given by a person: an absolute RFC 3339 instant or a duration relative to now.
//!
//! Durations are a sequence of `<number><unit>` with units `s`, `m`, `h`, `d` and `w`
//! (`90d`, `1h30m`, `-5m`), like step's `--not-after 24h`.

use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Why a time could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time '{input}': expected RFC 3339 (2030-01-01T00:00:00Z) or a duration (24h, 90d, 1h30m)"
)]
pub struct TimeSpecError {
    input: String,
}

/// A point in time as a person wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// An absolute instant.
    At(OffsetDateTime),
    /// An offset from "now" (may be negative).
    In(Duration),
}

impl TimeSpec {
    /// Resolve against the given current time.
    pub fn resolve(self, now: OffsetDateTime) -> OffsetDateTime {
        match self {
            TimeSpec::At(t) => t,
            TimeSpec::In(d) => now + d,
        }
    }
}

impl FromStr for TimeSpec {
    type Err = TimeSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(TimeSpec::At(t));
        }
        parse_duration(s).map(TimeSpec::In)
    }
}

/// Parse a duration such as `24h`, `90d`, `1h30m` or `-5m`.
pub fn parse_duration(input: &str) -> Result<Duration, TimeSpecError> {
    let err = || TimeSpecError {
        input: input.to_owned(),
    };
    let (negative, body) = match input.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, input.strip_prefix('+').unwrap_or(input)),
    };
    if body.is_empty() {
        return Err(err());
    }
    let mut total = Duration::ZERO;
    let mut digits = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        let unit = match c {
            's' => Duration::SECOND,
            'm' => Duration::MINUTE,
            'h' => Duration::HOUR,
            'd' => Duration::DAY,
            'w' => Duration::WEEK,
            _ => return Err(err()),
        };
        let part = unit.checked_mul(i32::try_from(n).map_err(|_| err())?);
        total = part.and_then(|p| total.checked_add(p)).ok_or_else(err)?;
    }
    if !digits.is_empty() {
        return Err(err());
    }
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse_duration("90d"), Ok(Duration::days(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("-5m"), Ok(Duration::minutes(-5)));
        for bad in ["", "5", "h", "5x", "1h5", "-", "99999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn rfc3339() {
        let t: TimeSpec = "2030-01-02T03:04:05Z"
            .parse()
            .unwrap_or(TimeSpec::In(Duration::ZERO));
        assert_eq!(
            t,
            TimeSpec::At(time::macros::datetime!(2030-01-02 03:04:05 UTC))
        );
    }

    proptest::proptest! {
        #[test]
        fn duration_roundtrip(d in 0i64..100_000, h in 0i64..24, m in 0i64..60) {
            let s = format!("{d}d{h}h{m}m");
            proptest::prop_assert_eq!(
                parse_duration(&s),
                Ok(Duration::days(d) + Duration::hours(h) + Duration::minutes(m))
            );
        }
    }
}
