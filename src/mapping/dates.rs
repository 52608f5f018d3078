//! Date and time parsing for every source: ISO 8601 with or without offset, bare dates, slash
//! dates in the order a profile says, Unix seconds or milliseconds, and OData `/Date(ms)/`.
//! Local times are read in the plant time zone; a bare due date means the end of that day.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// How day and month are ordered in a date written with `/`, `.` or `-` between numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DayOrder {
    /// `31/03/2026`, `31.03.2026`
    Dmy,
    /// `03/31/2026`
    Mdy,
    /// Only ISO-like year-first dates are accepted.
    #[default]
    Ymd,
}

/// What a bare number in a date field means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UnixUnit {
    /// Numbers are not dates.
    #[default]
    None,
    Seconds,
    Milliseconds,
}

/// Date settings of one profile or connector manifest.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DateSettings {
    #[serde(default)]
    pub order: DayOrder,
    #[serde(default)]
    pub unix: UnixUnit,
    /// `0` (or `0001-01-01`-like empties) means "no date".
    #[serde(default)]
    pub zero_is_missing: bool,
    /// Extra chrono formats (strftime syntax) tried first, e.g. `"%d-%b-%Y %H:%M"`.
    #[serde(default)]
    pub formats: Vec<String>,
    /// The zone local times in the source are written in, when it is not the plant's (Odoo
    /// writes UTC without an offset).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A parsed date field: a bare date is kept apart so a due date can mean the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parsed {
    Instant(DateTime<Utc>),
    Local(NaiveDateTime),
    Day(NaiveDate),
}

const OFFSET_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f%:z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%:z",
    "%Y-%m-%d %H:%M%:z",
];
const LOCAL_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

impl DateSettings {
    /// Parses `text` into a UTC instant. `end_of_day` is set for due dates: a bare date then
    /// means the first instant of the next day. Empty text is `Ok(None)`.
    pub fn parse(
        &self,
        text: &str,
        tz: Tz,
        end_of_day: bool,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let parsed = match self.parse_parts(t)? {
            None => return Ok(None),
            Some(p) => p,
        };
        Ok(Some(match parsed {
            Parsed::Instant(i) => i,
            Parsed::Local(l) => local_to_utc(tz, l),
            Parsed::Day(d) => {
                let d = if end_of_day {
                    d.succ_opt().unwrap_or(d)
                } else {
                    d
                };
                local_to_utc(tz, d.and_time(NaiveTime::MIN))
            }
        }))
    }

    fn parse_parts(&self, t: &str) -> Result<Option<Parsed>, String> {
        for f in &self.formats {
            if let Ok(dt) = DateTime::parse_from_str(t, f) {
                return Ok(Some(Parsed::Instant(dt.with_timezone(&Utc))));
            }
            if let Ok(l) = NaiveDateTime::parse_from_str(t, f) {
                return Ok(Some(Parsed::Local(l)));
            }
            if let Ok(d) = NaiveDate::parse_from_str(t, f) {
                return Ok(Some(Parsed::Day(d)));
            }
        }
        if let Some(ms) = odata_millis(t) {
            return self.unix_instant(ms, 1000).map(|o| o.map(Parsed::Instant));
        }
        let numeric = t.bytes().all(|b| b.is_ascii_digit())
            || (t.starts_with('-') && t.len() > 1 && t[1..].bytes().all(|b| b.is_ascii_digit()));
        if numeric {
            let n: i64 = t
                .parse()
                .map_err(|_| format!("`{t}` is too large to be a date"))?;
            return match self.unix {
                UnixUnit::Seconds => self.unix_instant(n, 1).map(|o| o.map(Parsed::Instant)),
                UnixUnit::Milliseconds => {
                    self.unix_instant(n, 1000).map(|o| o.map(Parsed::Instant))
                }
                UnixUnit::None if n == 0 && self.zero_is_missing => Ok(None),
                UnixUnit::None => Err(format!(
                    "`{t}` is a number, and this profile does not read numbers as dates (set dates.unix)"
                )),
            };
        }
        let b = t.as_bytes();
        if t.len() >= 10 && b[4] == b'-' && b[7] == b'-' {
            // The shapes exports write most, tried first: a bare date, and RFC 3339.
            if t.len() == 10 {
                if let Ok(d) = t.parse::<NaiveDate>() {
                    return Ok(Some(Parsed::Day(d)));
                }
            } else if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
                return Ok(Some(Parsed::Instant(dt.with_timezone(&Utc))));
            } else if b.len() >= 16
                && b[10] == b'T'
                && !t.ends_with('Z')
                && !t[10..].contains(['+', '-'])
                && let Ok(l) = t.parse::<NaiveDateTime>()
            {
                return Ok(Some(Parsed::Local(l)));
            }
            if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
                return Ok(Some(Parsed::Instant(dt.with_timezone(&Utc))));
            }
            for f in OFFSET_FORMATS {
                if let Ok(dt) = DateTime::parse_from_str(t, f) {
                    return Ok(Some(Parsed::Instant(dt.with_timezone(&Utc))));
                }
            }
            if let Some(u) = t.strip_suffix('Z') {
                for f in LOCAL_FORMATS {
                    if let Ok(l) = NaiveDateTime::parse_from_str(u, f) {
                        return Ok(Some(Parsed::Instant(l.and_utc())));
                    }
                }
            }
            for f in LOCAL_FORMATS {
                if let Ok(l) = NaiveDateTime::parse_from_str(t, f) {
                    return Ok(Some(Parsed::Local(l)));
                }
            }
            if t.len() == 10
                && let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
            {
                return Ok(Some(Parsed::Day(d)));
            }
        }
        if let Some(p) = self.parse_day_first_or_month_first(t) {
            return Ok(Some(p));
        }
        let hint = match self.order {
            DayOrder::Ymd => "ISO 8601 (2026-03-31, 2026-03-31T14:05:00Z, 2026-03-31 14:05)",
            DayOrder::Dmy => "31/03/2026 or 31.03.2026 (optionally with 14:05[:00]), or ISO 8601",
            DayOrder::Mdy => "03/31/2026 (optionally with 14:05[:00]), or ISO 8601",
        };
        Err(format!(
            "`{t}` is not a date this profile reads; expected {hint}"
        ))
    }

    fn unix_instant(&self, n: i64, per_second: i64) -> Result<Option<DateTime<Utc>>, String> {
        if n == 0 && self.zero_is_missing {
            return Ok(None);
        }
        let dt = if per_second == 1 {
            DateTime::from_timestamp(n, 0)
        } else {
            DateTime::from_timestamp_millis(n)
        };
        dt.map(Some)
            .ok_or_else(|| format!("`{n}` is out of the range of dates"))
    }

    fn parse_day_first_or_month_first(&self, t: &str) -> Option<Parsed> {
        if self.order == DayOrder::Ymd {
            return None;
        }
        let (date_part, time_part) = match t.split_once([' ', 'T']) {
            Some((d, rest)) => (d, Some(rest.trim())),
            None => (t, None),
        };
        let sep = if date_part.contains('/') {
            '/'
        } else if date_part.contains('.') {
            '.'
        } else if date_part.contains('-') {
            '-'
        } else {
            return None;
        };
        let parts: Vec<&str> = date_part.split(sep).collect();
        if parts.len() != 3 {
            return None;
        }
        let nums: Vec<u32> = parts
            .iter()
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let (d, m) = match self.order {
            DayOrder::Dmy => (nums[0], nums[1]),
            DayOrder::Mdy => (nums[1], nums[0]),
            DayOrder::Ymd => return None,
        };
        let y = match (nums[2], parts[2].len()) {
            (y, 4) => y as i32,
            (y, 2) => 2000 + y as i32,
            _ => return None,
        };
        let date = NaiveDate::from_ymd_opt(y, m, d)?;
        match time_part {
            None => Some(Parsed::Day(date)),
            Some(tp) => ["%H:%M:%S", "%H:%M", "%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveTime::parse_from_str(tp, f).ok())
                .map(|time| Parsed::Local(date.and_time(time))),
        }
    }
}

/// `/Date(1501027200000)/` or `/Date(1501027200000+0000)/` as OData V2 writes instants.
fn odata_millis(t: &str) -> Option<i64> {
    let inner = t.strip_prefix("/Date(")?.strip_suffix(")/")?;
    // The offset's sign, after the first character (which may be the number's own sign).
    let end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, '+' | '-'))
        .map_or(inner.len(), |(i, _)| i);
    inner[..end].parse().ok()
}

/// A local wall-clock time in `tz` as a UTC instant. In the autumn overlap the earlier instant is
/// taken; a time in the spring gap (which no clock showed) is moved forward by the gap.
pub fn local_to_utc(tz: Tz, l: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&l).earliest() {
        Some(dt) => dt.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(l + Duration::hours(1)))
            .earliest()
            .map(|dt| dt.with_timezone(&Utc))
            .unwrap_or_else(|| l.and_utc()),
    }
}

#[cfg(test)]
mod tests {

    /// Found by fuzzing: `/Date(…)/` with nothing, or a character of several bytes, inside
    /// panicked on a byte index.
    #[test]
    fn odata_dates_with_odd_insides_are_not_dates() {
        assert_eq!(odata_millis("/Date()/"), None);
        assert_eq!(odata_millis("/Date(É3)/"), None);
        assert_eq!(odata_millis("/Date(-5+0000)/"), Some(-5));
        assert_eq!(
            odata_millis("/Date(1501027200000+0000)/"),
            Some(1_501_027_200_000)
        );
    }

    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn iso() -> DateSettings {
        DateSettings::default()
    }

    #[test]
    fn iso_8601_with_and_without_offset() {
        let s = iso();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            s.parse("2022-01-01T00:00:00.000Z", berlin, false).unwrap(),
            Some(utc("2022-01-01T00:00:00Z"))
        );
        assert_eq!(
            s.parse("2026-03-31T10:00:00+02:00", Tz::UTC, false)
                .unwrap(),
            Some(utc("2026-03-31T08:00:00Z"))
        );
        assert_eq!(
            s.parse("2026-03-31 10:00:00+0200", Tz::UTC, false).unwrap(),
            Some(utc("2026-03-31T08:00:00Z"))
        );
        // A local time is read in the plant zone (Berlin is UTC+2 in summer time).
        assert_eq!(
            s.parse("2026-03-31 10:00", berlin, false).unwrap(),
            Some(utc("2026-03-31T08:00:00Z"))
        );
    }

    #[test]
    fn bare_dates_start_the_day_and_due_dates_end_it() {
        let s = iso();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            s.parse("2026-03-31", berlin, false).unwrap(),
            Some(utc("2026-03-30T22:00:00Z"))
        );
        assert_eq!(
            s.parse("2026-03-31", berlin, true).unwrap(),
            Some(utc("2026-03-31T22:00:00Z"))
        );
        // A datetime due keeps its time.
        assert_eq!(
            s.parse("2026-03-31T12:00:00Z", berlin, true).unwrap(),
            Some(utc("2026-03-31T12:00:00Z"))
        );
    }

    #[test]
    fn slash_dates_follow_the_profile_order() {
        let dmy = DateSettings {
            order: DayOrder::Dmy,
            ..iso()
        };
        let mdy = DateSettings {
            order: DayOrder::Mdy,
            ..iso()
        };
        assert_eq!(
            dmy.parse("04/03/2026", Tz::UTC, false).unwrap(),
            Some(utc("2026-03-04T00:00:00Z"))
        );
        assert_eq!(
            mdy.parse("04/03/2026", Tz::UTC, false).unwrap(),
            Some(utc("2026-04-03T00:00:00Z"))
        );
        assert_eq!(
            dmy.parse("31.03.2026 14:05", Tz::UTC, false).unwrap(),
            Some(utc("2026-03-31T14:05:00Z"))
        );
        assert_eq!(
            mdy.parse("3/31/2026 2:05:09", Tz::UTC, false).unwrap(),
            Some(utc("2026-03-31T02:05:09Z"))
        );
        assert!(mdy.parse("31/03/2026", Tz::UTC, false).is_err());
        assert!(iso().parse("31/03/2026", Tz::UTC, false).is_err());
    }

    #[test]
    fn unix_numbers_and_zero_as_missing() {
        let secs = DateSettings {
            unix: UnixUnit::Seconds,
            zero_is_missing: true,
            ..iso()
        };
        let ms = DateSettings {
            unix: UnixUnit::Milliseconds,
            ..iso()
        };
        assert_eq!(
            secs.parse("1501027200", Tz::UTC, false).unwrap(),
            Some(utc("2017-07-26T00:00:00Z"))
        );
        assert_eq!(secs.parse("0", Tz::UTC, false).unwrap(), None);
        assert_eq!(
            ms.parse("1501027200000", Tz::UTC, false).unwrap(),
            Some(utc("2017-07-26T00:00:00Z"))
        );
        assert_eq!(
            ms.parse("0", Tz::UTC, false).unwrap(),
            Some(utc("1970-01-01T00:00:00Z"))
        );
        let err = iso().parse("1501027200", Tz::UTC, false).unwrap_err();
        assert!(err.contains("dates.unix"), "{err}");
    }

    #[test]
    fn odata_dates() {
        assert_eq!(
            iso()
                .parse("/Date(1501027200000+0000)/", Tz::UTC, false)
                .unwrap(),
            Some(utc("2017-07-26T00:00:00Z"))
        );
        assert_eq!(
            iso()
                .parse("/Date(1501027200000)/", Tz::UTC, false)
                .unwrap(),
            Some(utc("2017-07-26T00:00:00Z"))
        );
    }

    #[test]
    fn nonsense_is_an_error_that_quotes_the_value() {
        let err = iso().parse("next tuesday", Tz::UTC, false).unwrap_err();
        assert!(err.contains("`next tuesday`"), "{err}");
        assert!(iso().parse("2026-02-30", Tz::UTC, false).is_err());
        assert_eq!(iso().parse("   ", Tz::UTC, false).unwrap(), None);
    }

    #[test]
    fn spring_gap_moves_forward() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 02:30 on 29 March 2026 does not exist in Berlin; it becomes 03:30 CEST = 01:30 UTC.
        assert_eq!(
            iso().parse("2026-03-29 02:30", berlin, false).unwrap(),
            Some(utc("2026-03-29T01:30:00Z"))
        );
    }

    proptest! {
        #[test]
        fn any_instant_round_trips_through_its_iso_text(secs in 0i64..4_102_444_800, ms in 0u32..1000) {
            let t = DateTime::from_timestamp(secs, ms * 1_000_000).unwrap();
            let text = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            prop_assert_eq!(iso().parse(&text, Tz::UTC, false).unwrap(), Some(t));
            let dmy = DateSettings { order: DayOrder::Dmy, ..iso() };
            let d = t.date_naive();
            let text = d.format("%d/%m/%Y").to_string();
            prop_assert_eq!(dmy.parse(&text, Tz::UTC, false).unwrap(), Some(d.and_time(NaiveTime::MIN).and_utc()));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = iso().parse(&s, Tz::UTC, true);
            let _ = DateSettings { order: DayOrder::Mdy, unix: UnixUnit::Seconds, ..iso() }.parse(&s, Tz::UTC, false);
        }
    }
}
