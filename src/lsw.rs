//! Leader standard work (issue #18): when a leader's routine is due, and whether each time it
//! was due was done on time, late, or missed. Rules only, no IO; the store will keep routines
//! and completions, the pages show what these functions answer.
//!
//! A routine has a **cadence** (a crontab line in plant time, read by the same translation as
//! `[[schedules]]`, so `0 7 * * 1-5` is 07:00 Monday to Friday, and stays 07:00 across a
//! daylight-saving change) and a **window**: done within `on_time_hours` of its due time is on
//! time, within the `grace_hours` after that late, and after that the occurrence is missed.
//!
//! Which completion counts for which occurrence: see [`occurrences`]. In short, each occurrence
//! owns the time from the previous one's close to its own, so the 07:00 review done at 06:50 is
//! on time, a second tick the same day does not count for tomorrow, and a window longer than
//! the gap to the next due time ends at that due time.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::schedule::cron;

/// The longest window or grace period: a month of hours (a monthly audit done within the month).
pub const MAX_HOURS: u32 = 31 * 24;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LswError {
    #[error("cadence: {0}")]
    Cadence(#[from] cron::CronError),
    #[error("{field}: {value} is not {expect}")]
    Window {
        field: &'static str,
        value: i64,
        expect: &'static str,
    },
}

/// When a routine is due: a crontab line in plant time.
#[derive(Debug, Clone)]
pub struct Cadence {
    text: String,
    schedule: ::cron::Schedule,
}

impl Cadence {
    pub fn parse(text: &str) -> Result<Cadence, LswError> {
        Ok(Cadence {
            text: text.trim().to_string(),
            schedule: cron::parse(text)?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The due times in `[from, to)`, in UTC, with the plant's time zone `tz`.
    pub fn due_times(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        // `after` is exclusive: start one second early so a due time at `from` is kept.
        let start = (from - Duration::seconds(1)).with_timezone(&tz);
        self.schedule
            .after(&start)
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t < to)
            .collect()
    }
}

/// How long after its due time a routine counts as on time, then as late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    on_time_hours: u32,
    grace_hours: u32,
}

impl Window {
    /// Checks what a form or the API sent: on time 1 to [`MAX_HOURS`], grace 0 to it.
    pub fn new(on_time_hours: i64, grace_hours: i64) -> Result<Window, LswError> {
        let check = |field, value: i64, lo: i64, expect| {
            if (lo..=i64::from(MAX_HOURS)).contains(&value) {
                Ok(value as u32)
            } else {
                Err(LswError::Window {
                    field,
                    value,
                    expect,
                })
            }
        };
        Ok(Window {
            on_time_hours: check(
                "window_hours",
                on_time_hours,
                1,
                "a number of hours from 1 to 744",
            )?,
            grace_hours: check(
                "grace_hours",
                grace_hours,
                0,
                "a number of hours from 0 to 744",
            )?,
        })
    }

    pub fn on_time_hours(self) -> u32 {
        self.on_time_hours
    }

    pub fn grace_hours(self) -> u32 {
        self.grace_hours
    }

    fn on_time_until(self, due: DateTime<Utc>) -> DateTime<Utc> {
        due + Duration::hours(i64::from(self.on_time_hours))
    }

    fn closes(self, due: DateTime<Utc>) -> DateTime<Utc> {
        self.on_time_until(due) + Duration::hours(i64::from(self.grace_hours))
    }
}

/// Where one occurrence of a routine stands at a given moment. Every standing has a sign for
/// the pages (never colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Standing {
    /// Its due time is still to come, and it is not done.
    Upcoming,
    /// Due, not done, inside its window: doing it now is on time.
    Open,
    /// Past its window, not done, inside the grace period: doing it now is late.
    Overdue,
    Missed,
    OnTime,
    Late,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Upcoming => "upcoming",
            Standing::Open => "open",
            Standing::Overdue => "overdue",
            Standing::Missed => "missed",
            Standing::OnTime => "on_time",
            Standing::Late => "late",
        }
    }

    /// The sign beside the colour: done on time, late, missed, still open.
    pub fn sign(self) -> &'static str {
        match self {
            Standing::OnTime => "✓",
            Standing::Late => "◐",
            Standing::Missed => "✗",
            Standing::Overdue => "!",
            Standing::Open | Standing::Upcoming => "○",
        }
    }
}

/// One time a routine was due, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub due: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub standing: Standing,
}

/// The occurrences due in `[from, to)` and where each stands at `now`, given the routine's
/// completions (in any order; those after `now` are not known yet).
///
/// Each occurrence owns a span of time, and a completion in it counts for it (the first one;
/// more are ignored): from the end of the previous occurrence's span to its own close (due +
/// on time + grace), or to the next due time when that comes first. So a routine done before
/// its due time but after the previous one closed is done early, on time; a window or grace
/// longer than the gap to the next due time ends there (the next one is then what is done).
pub fn occurrences(
    cadence: &Cadence,
    window: Window,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    completions: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<Occurrence> {
    let lookback = Duration::hours(i64::from(MAX_HOURS) * 2 + 24);
    let due = cadence.due_times(tz, from, to);
    let previous = cadence.due_times(tz, from - lookback, from).last().copied();
    let after = cadence.due_times(tz, to, to + lookback).first().copied();
    // The span of an occurrence ends (exclusive) just after its close, or at the next due time.
    let end = |d: DateTime<Utc>, next: Option<DateTime<Utc>>| {
        let close = window.closes(d) + Duration::nanoseconds(1);
        next.map_or(close, |n| close.min(n))
    };
    let mut start = previous.map_or(from - lookback, |p| end(p, due.first().copied()));
    let mut done: Vec<DateTime<Utc>> = completions.iter().copied().filter(|t| *t <= now).collect();
    done.sort();
    let mut out = Vec::with_capacity(due.len());
    for (i, &d) in due.iter().enumerate() {
        let stop = end(d, due.get(i + 1).copied().or(after));
        let done_at = done.iter().copied().find(|t| start <= *t && *t < stop);
        let on_time_until = window.on_time_until(d);
        let standing = match done_at {
            Some(t) if t <= on_time_until => Standing::OnTime,
            Some(_) => Standing::Late,
            None if now < d => Standing::Upcoming,
            None if now >= stop => Standing::Missed,
            None if now <= on_time_until => Standing::Open,
            None => Standing::Overdue,
        };
        out.push(Occurrence {
            due: d,
            done_at,
            standing,
        });
        start = stop;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    /// An instant given in Berlin's wall-clock time.
    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        berlin()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn standings(
        cron: &str,
        window: (i64, i64),
        range: (DateTime<Utc>, DateTime<Utc>),
        done: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, Standing)> {
        let c = Cadence::parse(cron).unwrap();
        let w = Window::new(window.0, window.1).unwrap();
        occurrences(&c, w, berlin(), range.0, range.1, done, now)
            .into_iter()
            .map(|o| (o.due, o.standing))
            .collect()
    }

    #[test]
    fn the_window_and_grace_edges_belong_to_on_time_and_late() {
        let due = local(2026, 11, 23, 7, 0);
        let range = (local(2026, 11, 23, 0, 0), local(2026, 11, 24, 0, 0));
        let at = |done: DateTime<Utc>| {
            standings(
                "0 7 * * *",
                (2, 4),
                range,
                &[done],
                local(2026, 11, 30, 0, 0),
            )[0]
            .1
        };
        let s = Duration::seconds(1);
        assert_eq!(at(due - Duration::minutes(10)), Standing::OnTime, "early");
        assert_eq!(
            at(due + Duration::hours(2)),
            Standing::OnTime,
            "the window's last second"
        );
        assert_eq!(at(due + Duration::hours(2) + s), Standing::Late);
        assert_eq!(
            at(due + Duration::hours(6)),
            Standing::Late,
            "the grace's last second"
        );
        assert_eq!(
            at(due + Duration::hours(6) + s),
            Standing::Missed,
            "too late to count"
        );
    }

    #[test]
    fn an_undone_occurrence_is_upcoming_open_overdue_then_missed() {
        let due = local(2026, 11, 23, 7, 0);
        let range = (local(2026, 11, 23, 0, 0), local(2026, 11, 24, 0, 0));
        let at = |now| standings("0 7 * * *", (2, 4), range, &[], now)[0].1;
        assert_eq!(at(due - Duration::seconds(1)), Standing::Upcoming);
        assert_eq!(at(due), Standing::Open);
        assert_eq!(at(due + Duration::hours(2)), Standing::Open);
        assert_eq!(at(due + Duration::hours(3)), Standing::Overdue);
        assert_eq!(at(due + Duration::hours(6)), Standing::Overdue);
        assert_eq!(
            at(due + Duration::hours(6) + Duration::seconds(1)),
            Standing::Missed
        );
        // A completion after `now` is not known yet.
        let later = standings("0 7 * * *", (2, 4), range, &[due + Duration::hours(1)], due);
        assert_eq!(later[0].1, Standing::Open);
    }

    #[test]
    fn weekday_cadences_skip_the_weekend_and_keep_plant_time_across_daylight_saving() {
        // Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
        let range = (local(2026, 3, 26, 0, 0), local(2026, 4, 1, 0, 0));
        let due: Vec<_> = standings("0 7 * * Mon-Fri", (2, 2), range, &[], range.1)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(
            due,
            [
                Utc.with_ymd_and_hms(2026, 3, 26, 6, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 27, 6, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 30, 5, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 31, 5, 0, 0).unwrap(),
            ]
        );
        // Done at 07:30 plant time on Monday: on time, although 06:30 UTC is later than the
        // week before's due time.
        let s = standings(
            "0 7 * * Mon-Fri",
            (1, 2),
            range,
            &[local(2026, 3, 30, 7, 30)],
            range.1,
        );
        assert_eq!(s[2].1, Standing::OnTime);
        assert_eq!(s[3].1, Standing::Missed);
    }

    #[test]
    fn weekly_and_monthly_routines_take_their_completions_in_order() {
        // The Tuesday and Thursday walk, 10:00, one day to do it, one day's grace.
        let range = (local(2026, 11, 2, 0, 0), local(2026, 11, 16, 0, 0));
        let done = [
            local(2026, 11, 3, 11, 0),  // Tue 3rd: on time
            local(2026, 11, 6, 11, 0),  // Thu 5th: late (within the grace)
            local(2026, 11, 13, 10, 0), // Thu 12th: on time; Tue 10th missed
        ];
        let s: Vec<Standing> = standings(
            "0 10 * * Tue,Thu",
            (24, 24),
            range,
            &done,
            local(2026, 11, 20, 0, 0),
        )
        .into_iter()
        .map(|(_, s)| s)
        .collect();
        assert_eq!(
            s,
            [
                Standing::OnTime,
                Standing::Late,
                Standing::Missed,
                Standing::OnTime
            ]
        );
        // The monthly audit, on the 1st at 08:00, a week to do it, no grace; across the
        // change back to winter time on 25 October.
        let range = (local(2026, 9, 1, 0, 0), local(2026, 12, 1, 0, 0));
        let done = [local(2026, 9, 3, 8, 0), local(2026, 11, 12, 8, 0)];
        let s = standings(
            "0 8 1 * *",
            (7 * 24, 0),
            range,
            &done,
            local(2026, 12, 1, 0, 0),
        );
        assert_eq!(
            s,
            [
                (local(2026, 9, 1, 8, 0), Standing::OnTime),
                (local(2026, 10, 1, 8, 0), Standing::Missed),
                (local(2026, 11, 1, 8, 0), Standing::Missed),
            ]
        );
    }

    #[test]
    fn a_completion_counts_once_and_never_for_an_occurrence_before_the_range() {
        // Daily at 07:00 with 30 hours to do it: the window ends at the next due time, so a
        // completion on Tuesday 08:00 is Tuesday's (on time) and Monday's is missed.
        let range = (local(2026, 11, 23, 0, 0), local(2026, 11, 25, 0, 0));
        let s = standings(
            "0 7 * * *",
            (24, 6),
            range,
            &[local(2026, 11, 24, 8, 0)],
            local(2026, 11, 26, 0, 0),
        );
        assert_eq!(
            s,
            [
                (local(2026, 11, 23, 7, 0), Standing::Missed),
                (local(2026, 11, 24, 7, 0), Standing::OnTime),
            ]
        );
        // Seen on Monday 20:00, Monday's is still open: its window runs to Tuesday 07:00.
        let s = standings("0 7 * * *", (24, 6), range, &[], local(2026, 11, 23, 20, 0));
        assert_eq!(s[0].1, Standing::Open);
        // Only the range's occurrences are answered, and one just before it keeps its own
        // completion: Sunday's done Sunday 08:00 is not taken by Monday.
        let range = (local(2026, 11, 23, 0, 0), local(2026, 11, 24, 0, 0));
        let s = standings(
            "0 7 * * *",
            (2, 0),
            range,
            &[local(2026, 11, 22, 8, 0)],
            local(2026, 11, 26, 0, 0),
        );
        assert_eq!(s, [(local(2026, 11, 23, 7, 0), Standing::Missed)]);
        // Two completions in one day fill that day only.
        let range = (local(2026, 11, 23, 0, 0), local(2026, 11, 25, 0, 0));
        let s = standings(
            "0 7 * * *",
            (2, 0),
            range,
            &[local(2026, 11, 23, 7, 10), local(2026, 11, 23, 7, 20)],
            local(2026, 11, 26, 0, 0),
        );
        assert_eq!(s[0].1, Standing::OnTime);
        assert_eq!(s[1].1, Standing::Missed);
    }

    #[test]
    fn bad_cadences_and_windows_name_the_field() {
        let e = Cadence::parse("every day").unwrap_err().to_string();
        assert!(e.starts_with("cadence: "), "{e}");
        assert!(e.contains("every day"), "{e}");
        assert_eq!(
            Window::new(0, 2).unwrap_err().to_string(),
            "window_hours: 0 is not a number of hours from 1 to 744"
        );
        assert_eq!(
            Window::new(2, -1).unwrap_err().to_string(),
            "grace_hours: -1 is not a number of hours from 0 to 744"
        );
        assert!(Window::new(744, 744).is_ok());
        assert!(Window::new(745, 0).is_err());
    }

    proptest! {
        /// Whatever the completions: each counts for one occurrence at most, a done occurrence's
        /// completion lies between the previous due time's close and its own, and no
        /// occurrence is both done and open.
        #[test]
        fn completions_count_once_and_inside_their_occurrence(
            cron in prop::sample::select(vec!["0 7 * * *", "0 7 * * Mon-Fri", "0 10 * * Tue,Thu", "0 8 1 * *", "30 6,14,22 * * *"]),
            on_time in 1i64..72,
            grace in 0i64..48,
            offsets in prop::collection::vec(0i64..60 * 24 * 60, 0..40),
            now_offset in 0i64..70 * 24 * 60,
        ) {
            let from = local(2026, 3, 1, 0, 0);
            let to = local(2026, 5, 1, 0, 0);
            let done: Vec<_> = offsets.iter().map(|m| from + Duration::minutes(*m)).collect();
            let now = from + Duration::minutes(now_offset);
            let c = Cadence::parse(cron).unwrap();
            let w = Window::new(on_time, grace).unwrap();
            let occ = occurrences(&c, w, berlin(), from, to, &done, now);
            let mut used: Vec<DateTime<Utc>> = occ.iter().filter_map(|o| o.done_at).collect();
            let n = used.len();
            used.sort();
            used.dedup();
            prop_assert_eq!(used.len(), n, "a completion counted twice");
            for o in &occ {
                prop_assert!(o.due >= from && o.due < to);
                match (o.done_at, o.standing) {
                    (Some(t), Standing::OnTime) => prop_assert!(t <= w.on_time_until(o.due) && t <= now),
                    (Some(t), Standing::Late) => prop_assert!(t > w.on_time_until(o.due) && t <= w.closes(o.due) && t <= now),
                    (None, Standing::Upcoming) => prop_assert!(now < o.due),
                    (None, Standing::Open | Standing::Overdue) => prop_assert!(now >= o.due && now <= w.closes(o.due)),
                    (None, Standing::Missed) => prop_assert!(now >= o.due),
                    (d, s) => prop_assert!(false, "{:?} with {:?}", s, d),
                }
            }
        }
    }
}
