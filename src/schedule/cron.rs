//! Cron expressions as people write them, translated for the `cron` crate.
//!
//! People write crontab lines: five fields (minute hour day-of-month month day-of-week), weekday
//! 0 or 7 = Sunday, 1 = Monday, names like `Mon-Fri`. The `cron` crate wants seconds first (6 or
//! 7 fields) and counts numeric weekdays from 1 = Sunday, so `30 5 * * 1-5` passed through would
//! fire Sunday to Thursday. We accept 5 fields (seconds 0) or 6 (seconds first), and rewrite the
//! weekday field as an explicit list of day names, which the crate reads unambiguously.

use std::str::FromStr;

use cron::Schedule;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CronError {
    #[error(
        "cron `{expr}`: {n} fields; write 5 (minute hour day month weekday, e.g. `30 5 * * 1-5`) or 6 with seconds first"
    )]
    Fields { expr: String, n: usize },
    #[error(
        "cron `{expr}`: weekday `{token}` is not 0-7 (0 and 7 are Sunday) or a name (Sun..Sat)"
    )]
    Weekday { expr: String, token: String },
    #[error("cron `{expr}`: {reason}")]
    Invalid { expr: String, reason: String },
}

const NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A weekday of crontab: 0-7 (0 and 7 Sunday) or a name; 0 = Sunday .. 6 = Saturday, and 7
/// kept as 7 so a range `5-7` can end on Sunday.
fn day(token: &str) -> Option<u8> {
    if let Ok(n) = token.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    const FULL: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    let t = token.to_ascii_lowercase();
    FULL.iter()
        .position(|full| *full == t || full[..3] == t)
        .map(|i| i as u8)
}

/// The crontab weekday field as a list of names for the `cron` crate (`*` stays `*`).
fn weekdays(expr: &str, field: &str) -> Result<String, CronError> {
    if field == "*" || field == "?" {
        return Ok("*".into());
    }
    let bad = |token: &str| CronError::Weekday {
        expr: expr.to_string(),
        token: token.to_string(),
    };
    let mut days = [false; 7];
    for part in field.split(',') {
        let (base, step) = match part.split_once('/') {
            Some((b, s)) => (
                b,
                s.parse::<u8>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| bad(part))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = match base.split_once('-') {
            _ if base == "*" => (0, 6),
            Some((a, b)) => (day(a).ok_or_else(|| bad(a))?, day(b).ok_or_else(|| bad(b))?),
            // `a/step` runs from a to the end of the week.
            None if step > 1 => (day(base).ok_or_else(|| bad(base))?, 6),
            None => {
                let d = day(base).ok_or_else(|| bad(base))?;
                (d, d)
            }
        };
        if lo > hi {
            return Err(bad(part));
        }
        for d in (lo..=hi).step_by(step as usize) {
            days[(d % 7) as usize] = true;
        }
    }
    Ok(NAMES
        .iter()
        .zip(days)
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(","))
}

/// Parses a 5-field crontab line or a 6-field line with seconds first.
pub fn parse(expr: &str) -> Result<Schedule, CronError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let (sec, rest) = match fields.len() {
        5 => ("0", &fields[..]),
        6 => (fields[0], &fields[1..]),
        n => {
            return Err(CronError::Fields {
                expr: expr.to_string(),
                n,
            });
        }
    };
    let dow = weekdays(expr, rest[4])?;
    let text = format!(
        "{sec} {} {} {} {} {dow}",
        rest[0], rest[1], rest[2], rest[3]
    );
    Schedule::from_str(&text).map_err(|e| CronError::Invalid {
        expr: expr.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike, Weekday};
    use chrono_tz::Tz;

    fn fires(expr: &str, n: usize) -> Vec<(Weekday, u32, u32, u32)> {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // Sunday 22 November 2026, 00:00 in Berlin.
        let from = tz.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
        parse(expr)
            .unwrap()
            .after(&from)
            .take(n)
            .map(|t| (t.weekday(), t.hour(), t.minute(), t.second()))
            .collect()
    }

    #[test]
    fn weekdays_as_crontab_counts_them() {
        use Weekday::*;
        let weekdays: Vec<_> = fires("30 5 * * 1-5", 6).iter().map(|f| f.0).collect();
        assert_eq!(weekdays, [Mon, Tue, Wed, Thu, Fri, Mon]);
        assert_eq!(fires("30 5 * * 1-5", 1)[0], (Mon, 5, 30, 0));
        assert_eq!(fires("30 5 * * Mon-Fri", 6), fires("30 5 * * 1-5", 6));
        assert_eq!(fires("0 7 * * 0", 1)[0].0, Sun);
        assert_eq!(fires("0 7 * * 7", 1)[0].0, Sun);
        let weekend: Vec<_> = fires("0 6 * * 5-7", 3).iter().map(|f| f.0).collect();
        assert_eq!(weekend, [Sun, Fri, Sat]);
        let every_other: Vec<_> = fires("0 6 * * */2", 4).iter().map(|f| f.0).collect();
        assert_eq!(every_other, [Sun, Tue, Thu, Sat]);
        let listed: Vec<_> = fires("0 6 * * mon,wed,FRI", 3)
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(listed, [Mon, Wed, Fri]);
    }

    #[test]
    fn six_fields_have_seconds_first() {
        let f = fires("*/15 * * * * *", 3);
        assert_eq!(f.iter().map(|x| x.3).collect::<Vec<_>>(), [15, 30, 45]);
    }

    #[test]
    fn mistakes_name_the_expression_and_what_is_wrong() {
        assert_eq!(
            parse("* * *").unwrap_err().to_string(),
            "cron `* * *`: 3 fields; write 5 (minute hour day month weekday, e.g. `30 5 * * 1-5`) or 6 with seconds first"
        );
        assert_eq!(
            parse("0 7 * * 8").unwrap_err(),
            CronError::Weekday {
                expr: "0 7 * * 8".into(),
                token: "8".into()
            }
        );
        assert!(matches!(
            parse("0 7 * * Funday"),
            Err(CronError::Weekday { .. })
        ));
        let e = parse("61 5 * * *").unwrap_err().to_string();
        assert!(e.starts_with("cron `61 5 * * *`: "), "{e}");
    }
}
