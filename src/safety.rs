//! The safety cross (docs/safety.md): the huddle's first item. Each day of a board is marked
//! `safe`, `near miss`, `first aid` or `lost time`, with a short note; a day not marked stays
//! blank. A board above crews shows, per day, the worst mark of itself and the boards below it
//! (crew -> area -> site -> plant, the tier chain of `crate::actions::parent`), and the days since
//! the last first-aid or lost-time case.
//!
//! Rules live here as plain functions; the store keeps the marks and their history.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::config::Config;
use crate::metrics::Scope;

/// How far back a day may still be marked (a huddle catching up after a holiday).
pub const MAX_DAYS_BACK: i64 = 366;
/// The longest note, in characters.
pub const MAX_NOTE: usize = 500;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SafetyError {
    #[error("mark: `{0}` is not a mark; use safe, near_miss, first_aid or lost_time")]
    UnknownMark(String),
    #[error("date: `{0}` is not a date; use YYYY-MM-DD")]
    BadDate(String),
    #[error(
        "date: {day} is in the future (today is {today} in plant time); mark a day once it has begun"
    )]
    Future { day: NaiveDate, today: NaiveDate },
    #[error("date: {day} is more than {MAX_DAYS_BACK} days ago; the cross goes back one year")]
    TooOld { day: NaiveDate },
    #[error("note is longer than {MAX_NOTE} characters")]
    NoteTooLong,
    #[error("note: a {0} needs a note saying what happened")]
    NoteNeeded(&'static str),
    #[error("month: `{0}` is not a month; use YYYY-MM")]
    BadMonth(String),
}

/// What happened on a day, least severe first (the order is the roll-up's "worst").
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Safe,
    NearMiss,
    FirstAid,
    LostTime,
}

impl Mark {
    pub const ALL: [Mark; 4] = [Mark::Safe, Mark::NearMiss, Mark::FirstAid, Mark::LostTime];

    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Safe => "safe",
            Mark::NearMiss => "near_miss",
            Mark::FirstAid => "first_aid",
            Mark::LostTime => "lost_time",
        }
    }

    /// The mark in words.
    pub fn label(self) -> &'static str {
        match self {
            Mark::Safe => "safe",
            Mark::NearMiss => "near miss",
            Mark::FirstAid => "first aid",
            Mark::LostTime => "lost time",
        }
    }

    /// The sign in a cell, so a mark never depends on colour alone.
    pub fn sign(self) -> &'static str {
        match self {
            Mark::Safe => "✓",
            Mark::NearMiss => "N",
            Mark::FirstAid => "F",
            Mark::LostTime => "L",
        }
    }

    /// A recordable case: first aid or lost time (what "days since" counts from).
    pub fn is_case(self) -> bool {
        matches!(self, Mark::FirstAid | Mark::LostTime)
    }

    /// `safe`, `near_miss` (also `near miss`, `near-miss`), `first_aid`, `lost_time`.
    pub fn parse(s: &str) -> Result<Mark, SafetyError> {
        let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Mark::ALL
            .into_iter()
            .find(|m| m.as_str() == norm)
            .ok_or_else(|| SafetyError::UnknownMark(s.to_string()))
    }
}

/// A day's mark on one board, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct DayMark {
    /// The board key (`plant`, `site:NAME`, `area:NAME`, `crew:NAME`).
    pub board: String,
    /// YYYY-MM-DD, plant time.
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    pub mark: Mark,
    pub note: String,
    /// Who marked it last.
    pub who: String,
    pub at: DateTime<Utc>,
}

/// A mark to write, checked: the day has begun and is at most a year back; the note is short,
/// and a first-aid or lost-time case says what happened.
pub fn check(
    day: &str,
    mark: &str,
    note: &str,
    today: NaiveDate,
) -> Result<(NaiveDate, Mark, String), SafetyError> {
    let day = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|_| SafetyError::BadDate(day.to_string()))?;
    let mark = Mark::parse(mark)?;
    if day > today {
        return Err(SafetyError::Future { day, today });
    }
    if today - day > Duration::days(MAX_DAYS_BACK) {
        return Err(SafetyError::TooOld { day });
    }
    let note = note.trim();
    if note.chars().count() > MAX_NOTE {
        return Err(SafetyError::NoteTooLong);
    }
    if mark.is_case() && note.is_empty() {
        return Err(SafetyError::NoteNeeded(mark.label()));
    }
    Ok((day, mark, note.to_string()))
}

/// Every board of the config: the plant, its sites, areas and crews.
pub fn all_boards(cfg: &Config) -> Vec<Scope> {
    let mut out = vec![Scope::plant()];
    let mut push = |s: Scope| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for c in &cfg.crews {
        if let Some(site) = &c.site {
            push(Scope {
                site: Some(site.clone()),
                ..Scope::default()
            });
        }
        if let Some(area) = &c.area {
            push(Scope {
                area: Some(area.clone()),
                ..Scope::default()
            });
        }
        push(Scope::crew(&c.name));
    }
    out
}

/// The boards whose marks a board shows: itself and every board below it in the tier chain.
pub fn boards_within(cfg: &Config, board: &Scope) -> Vec<String> {
    all_boards(cfg)
        .into_iter()
        .filter(|b| {
            let mut at = Some(b.clone());
            while let Some(s) = at {
                if s == *board {
                    return true;
                }
                at = crate::actions::parent(cfg, &s);
            }
            false
        })
        .map(|b| b.key())
        .collect()
}

/// One day as a board shows it: the worst mark of the board and those below it, and the board's
/// own mark (with its note) when it has one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ShownDay {
    #[schema(value_type = String, format = Date)]
    pub day: NaiveDate,
    /// The worst mark of the day over this board and the boards below it.
    pub worst: Mark,
    /// The boards that marked this worst mark.
    pub worst_on: Vec<String>,
    /// This board's own mark, if it marked the day.
    pub own: Option<DayMark>,
    /// Notes of the cases below this board (first aid, lost time, near miss), board first.
    pub notes: Vec<String>,
}

/// The days of `marks` (of `board` and the boards below it) as `board` shows them.
pub fn roll_up(board: &str, marks: &[DayMark]) -> BTreeMap<NaiveDate, ShownDay> {
    let mut out: BTreeMap<NaiveDate, ShownDay> = BTreeMap::new();
    for m in marks {
        let e = out.entry(m.day).or_insert_with(|| ShownDay {
            day: m.day,
            worst: m.mark,
            worst_on: Vec::new(),
            own: None,
            notes: Vec::new(),
        });
        if m.mark > e.worst {
            e.worst = m.mark;
            e.worst_on.clear();
        }
        if m.mark == e.worst {
            e.worst_on.push(m.board.clone());
        }
        if m.board == board {
            e.own = Some(m.clone());
        }
        if m.mark != Mark::Safe && !m.note.is_empty() {
            e.notes.push(format!(
                "{}: {}",
                crate::actions::board_name(&m.board),
                m.note
            ));
        }
    }
    for d in out.values_mut() {
        d.worst_on.sort();
        d.notes.sort();
    }
    out
}

/// Days since the last first-aid or lost-time case up to `today` (0 when today had one); `None`
/// when no case is marked.
pub fn days_since_case(days: &BTreeMap<NaiveDate, ShownDay>, today: NaiveDate) -> Option<i64> {
    days.range(..=today)
        .rev()
        .find(|(_, d)| d.worst.is_case())
        .map(|(day, _)| (today - *day).num_days())
}

/// The first and last day of the month `YYYY-MM`.
pub fn month_of(s: &str) -> Result<(NaiveDate, NaiveDate), SafetyError> {
    let bad = || SafetyError::BadMonth(s.to_string());
    let first =
        NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").map_err(|_| bad())?;
    Ok((first, last_of_month(first)))
}

/// The last day of `day`'s month.
pub fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = day.with_day(1).expect("day 1 exists");
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.expect("a month follows") - Duration::days(1)
}

/// Where day `d` (1 to 31) of a month sits in the classic cross, as (row, column) of a 7 × 7
/// grid counted from 1: days 1–6 the top arm (rows 1–2, columns 3–5), 7–27 the bar (rows 3–5,
/// all seven columns), 28–31 the foot (rows 6–7, columns 3–5).
pub fn cross_cell(d: u32) -> (u32, u32) {
    assert!((1..=31).contains(&d), "day of month {d}");
    match d {
        1..=6 => (1 + (d - 1) / 3, 3 + (d - 1) % 3),
        7..=27 => (3 + (d - 7) / 7, 1 + (d - 7) % 7),
        _ => (6 + (d - 28) / 3, 3 + (d - 28) % 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn mark(board: &str, day: &str, m: Mark, note: &str) -> DayMark {
        DayMark {
            board: board.into(),
            day: d(day),
            mark: m,
            note: note.into(),
            who: "t".into(),
            at: Utc::now(),
        }
    }

    #[test]
    fn marks_parse_in_the_forms_people_type() {
        assert_eq!(Mark::parse("near miss"), Ok(Mark::NearMiss));
        assert_eq!(Mark::parse(" First-Aid "), Ok(Mark::FirstAid));
        assert_eq!(Mark::parse("lost_time"), Ok(Mark::LostTime));
        assert_eq!(
            Mark::parse("ok"),
            Err(SafetyError::UnknownMark("ok".into()))
        );
        assert!(Mark::Safe < Mark::NearMiss && Mark::FirstAid < Mark::LostTime);
    }

    #[test]
    fn a_mark_is_for_a_day_that_has_begun_within_a_year() {
        let today = d("2026-12-01");
        assert!(check("2026-12-01", "safe", "", today).is_ok());
        assert!(
            check("2025-12-01", "safe", "", today).is_ok(),
            "365 days back"
        );
        assert_eq!(
            check("2026-12-02", "safe", "", today),
            Err(SafetyError::Future {
                day: d("2026-12-02"),
                today
            })
        );
        assert_eq!(
            check("2025-11-29", "safe", "", today),
            Err(SafetyError::TooOld {
                day: d("2025-11-29")
            })
        );
        assert_eq!(
            check("1 Dec", "safe", "", today),
            Err(SafetyError::BadDate("1 Dec".into()))
        );
        assert_eq!(
            check("2026-12-01", "first aid", "  ", today),
            Err(SafetyError::NoteNeeded("first aid"))
        );
        assert_eq!(
            check("2026-12-01", "safe", &"x".repeat(501), today),
            Err(SafetyError::NoteTooLong)
        );
        let (_, m, note) = check("2026-12-01", "near_miss", " slipped on oil ", today).unwrap();
        assert_eq!((m, note.as_str()), (Mark::NearMiss, "slipped on oil"));
    }

    #[test]
    fn the_roll_up_shows_the_worst_mark_of_the_day_and_who_had_it() {
        let marks = [
            mark("area:Packaging", "2026-11-03", Mark::Safe, ""),
            mark("crew:A", "2026-11-03", Mark::FirstAid, "cut finger"),
            mark("crew:B", "2026-11-03", Mark::FirstAid, "burn"),
            mark("crew:B", "2026-11-04", Mark::NearMiss, "loose guard"),
            mark("crew:A", "2026-11-04", Mark::Safe, ""),
        ];
        let days = roll_up("area:Packaging", &marks);
        let third = &days[&d("2026-11-03")];
        assert_eq!(third.worst, Mark::FirstAid);
        assert_eq!(third.worst_on, ["crew:A", "crew:B"]);
        assert_eq!(third.own.as_ref().unwrap().mark, Mark::Safe);
        assert_eq!(third.notes.len(), 2);
        let fourth = &days[&d("2026-11-04")];
        assert_eq!((fourth.worst, fourth.own.is_none()), (Mark::NearMiss, true));
        assert_eq!(days_since_case(&days, d("2026-11-10")), Some(7));
        assert_eq!(days_since_case(&days, d("2026-11-03")), Some(0));
        assert_eq!(days_since_case(&days, d("2026-11-02")), None);
    }

    #[test]
    fn the_cross_has_a_cell_for_every_day_and_no_two_share_one() {
        let cells: Vec<(u32, u32)> = (1..=31).map(cross_cell).collect();
        for (i, c) in cells.iter().enumerate() {
            assert!(c.0 <= 7 && c.1 <= 7, "day {} at {c:?}", i + 1);
            assert!(!cells[..i].contains(c), "day {} shares {c:?}", i + 1);
        }
        assert_eq!(cross_cell(1), (1, 3));
        assert_eq!(cross_cell(6), (2, 5));
        assert_eq!(cross_cell(7), (3, 1));
        assert_eq!(cross_cell(27), (5, 7));
        assert_eq!(cross_cell(31), (7, 3));
    }

    #[test]
    fn months_end_where_the_calendar_says() {
        assert_eq!(month_of("2026-02").unwrap().1, d("2026-02-28"));
        assert_eq!(month_of("2028-02").unwrap().1, d("2028-02-29"));
        assert_eq!(
            month_of("2026-12").unwrap(),
            (d("2026-12-01"), d("2026-12-31"))
        );
        assert!(month_of("2026-13").is_err());
    }
}
