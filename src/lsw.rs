//! Leader standard work (docs/lsw.md): when a leader's routine is due, and whether each time it
//! was due was done on time, late, or missed; the checks of leaders, routines and completions.
//! The rules are plain functions of plain data; [`Standard`] is one person's writes through the
//! store (as `actions::Actions` is for actions), and the pages show what the functions answer.
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

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::schedule::cron;
use crate::store::{
    CompletionWrite, Leader, LeaderWrite, Routine, RoutineWrite, Store, StoreError,
};

/// The longest window or grace period: a month of hours (a monthly audit done within the month).
pub const MAX_HOURS: u32 = 31 * 24;

/// The longest title, item or note a leader types.
const MAX_TITLE: usize = 200;
const MAX_NAME: usize = 80;
const MAX_NOTE: usize = 1000;
/// At most this many items on a checklist or audit.
pub const MAX_ITEMS: usize = 30;
/// A routine is due at most this many times a day (a cadence of every minute is a mistake).
const MAX_PER_DAY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LswError {
    #[error("cadence: {0}")]
    Cadence(#[from] cron::CronError),
    #[error("{field}: {value} is not {expect}")]
    Window {
        field: &'static str,
        value: i64,
        expect: &'static str,
    },
    #[error("{field}: `{value}` is not {expect}")]
    Bad {
        field: &'static str,
        value: String,
        expect: &'static str,
    },
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error(
        "board: no board `{0}`; boards are plant, site:NAME, area:NAME or crew:NAME of the config"
    )]
    UnknownBoard(String),
    #[error(
        "kind: `{0}` is not a kind of routine; use checklist, board_review, audit or gemba_walk"
    )]
    BadKind(String),
    #[error("items: {0}")]
    Items(String),
    #[error("login: `{0}` is not a user of [auth] in the config")]
    UnknownLogin(String),
    #[error("name: a leader named `{0}` exists already")]
    NameTaken(String),
    #[error("leader: no leader {0}")]
    NoSuchLeader(i64),
    #[error("no routine {0}")]
    NoSuchRoutine(i64),
    #[error("routine {0} is paused; resume it before recording it done")]
    Paused(i64),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Action(#[from] crate::actions::ActionError),
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
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

    pub fn label(self) -> &'static str {
        match self {
            Standing::Upcoming => "upcoming",
            Standing::Open => "open",
            Standing::Overdue => "overdue",
            Standing::Missed => "missed",
            Standing::OnTime => "on time",
            Standing::Late => "late",
        }
    }

    /// Still to be done: doing it now counts (on time or late).
    pub fn can_be_done(self) -> bool {
        matches!(
            self,
            Standing::Open | Standing::Overdue | Standing::Upcoming
        )
    }
}

/// One time a routine was due, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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

/// What a routine asks of its owner, and so how it is done.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RoutineKind {
    /// Items ticked, each with a note.
    Checklist,
    /// Done when its owner ends a huddle on the routine's board (or ticks it).
    BoardReview,
    /// Items passed or failed; a failed item can raise an action on the board.
    Audit,
    /// Done when its owner ends a walk of its route (docs/walks.md).
    GembaWalk,
}

impl RoutineKind {
    pub const ALL: [RoutineKind; 4] = [
        RoutineKind::Checklist,
        RoutineKind::BoardReview,
        RoutineKind::Audit,
        RoutineKind::GembaWalk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoutineKind::Checklist => "checklist",
            RoutineKind::BoardReview => "board_review",
            RoutineKind::Audit => "audit",
            RoutineKind::GembaWalk => "gemba_walk",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RoutineKind::Checklist => "checklist",
            RoutineKind::BoardReview => "board review",
            RoutineKind::Audit => "audit",
            RoutineKind::GembaWalk => "gemba walk",
        }
    }

    pub fn parse(s: &str) -> Result<RoutineKind, LswError> {
        let t = s.trim().replace([' ', '-'], "_").to_ascii_lowercase();
        RoutineKind::ALL
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| LswError::BadKind(s.to_string()))
    }
}

fn text(field: &'static str, v: &str, max: usize) -> Result<String, LswError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(LswError::Missing { field });
    }
    if v.chars().count() > max {
        return Err(LswError::TooLong { field, max });
    }
    Ok(v.to_string())
}

fn note(field: &'static str, v: &str) -> Result<String, LswError> {
    let v = v.trim();
    if v.chars().count() > MAX_NOTE {
        return Err(LswError::TooLong {
            field,
            max: MAX_NOTE,
        });
    }
    Ok(v.to_string())
}

fn board_key(cfg: &Config, key: &str) -> Result<String, LswError> {
    crate::actions::board(cfg, key)
        .map(|s| s.key())
        .map_err(|_| LswError::UnknownBoard(key.trim().to_string()))
}

/// A whole number a form or the API sent as text.
fn number(field: &'static str, v: &str, expect: &'static str) -> Result<i64, LswError> {
    v.trim().parse().map_err(|_| LswError::Bad {
        field,
        value: v.to_string(),
        expect,
    })
}

/// What a person types for a leader.
#[derive(Debug, Clone, Default)]
pub struct LeaderDraft {
    pub name: String,
    pub role: String,
    pub board: String,
    /// A user of `[auth]`, or empty.
    pub login: String,
    pub active: bool,
}

/// Checks a leader: a name, a role, a board of the config, and a login that `[auth]` knows.
/// `others` are the stored leaders but the one being edited: names are unique.
pub fn check_leader(
    cfg: &Config,
    d: &LeaderDraft,
    others: &[Leader],
) -> Result<LeaderWrite, LswError> {
    let name = text("name", &d.name, MAX_NAME)?;
    if others.iter().any(|l| l.name.eq_ignore_ascii_case(&name)) {
        return Err(LswError::NameTaken(name));
    }
    let login = match d.login.trim() {
        "" => None,
        l => {
            let known = cfg
                .auth
                .as_ref()
                .is_some_and(|a| a.users.iter().any(|u| u.name == l));
            if !known {
                return Err(LswError::UnknownLogin(l.to_string()));
            }
            Some(l.to_string())
        }
    };
    Ok(LeaderWrite {
        name,
        role: text("role", &d.role, MAX_NAME)?,
        board: board_key(cfg, &d.board)?,
        login,
        active: d.active,
    })
}

/// What a person types for a routine: numbers as text, items one a line.
#[derive(Debug, Clone, Default)]
pub struct RoutineDraft {
    pub leader: String,
    pub title: String,
    pub kind: String,
    pub board: String,
    pub cadence: String,
    pub window_hours: String,
    pub grace_hours: String,
    pub items: String,
    pub active: bool,
    /// A gemba walk's route (a number); empty for the other kinds.
    pub route: String,
}

/// The items of a checklist or audit: one a line, blank lines dropped.
pub fn items_of(text: &str) -> Result<Vec<String>, LswError> {
    let items: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if items.len() > MAX_ITEMS {
        return Err(LswError::Items(format!(
            "{} items; a routine has at most {MAX_ITEMS}",
            items.len()
        )));
    }
    if let Some(long) = items.iter().find(|i| i.chars().count() > MAX_TITLE) {
        return Err(LswError::Items(format!(
            "`{}…` is longer than {MAX_TITLE} characters",
            long.chars().take(40).collect::<String>()
        )));
    }
    Ok(items)
}

/// Checks a routine: its owner among `leaders`, a title, a kind, a board, a cadence due at most
/// four times a day, a window, items for a checklist or an audit, and for a gemba walk one of
/// `routes`.
pub fn check_routine(
    cfg: &Config,
    d: &RoutineDraft,
    leaders: &[Leader],
    routes: &[crate::store::Route],
) -> Result<RoutineWrite, LswError> {
    let leader_id = number("leader", &d.leader, "a leader's number")?;
    if !leaders.iter().any(|l| l.id == leader_id) {
        return Err(LswError::NoSuchLeader(leader_id));
    }
    let kind = RoutineKind::parse(&d.kind)?;
    let cadence = Cadence::parse(&d.cadence)?;
    let probe = Utc::now();
    let week = cadence.due_times(cfg.plant.tz, probe, probe + Duration::days(7));
    if week.len() > 7 * MAX_PER_DAY {
        return Err(LswError::Bad {
            field: "cadence",
            value: cadence.as_str().to_string(),
            expect: "a routine's cadence: it is due more than 4 times a day",
        });
    }
    let window = Window::new(
        number("window_hours", &d.window_hours, "a whole number of hours")?,
        number("grace_hours", &d.grace_hours, "a whole number of hours")?,
    )?;
    let items = items_of(&d.items)?;
    let route_id = match (kind, d.route.trim()) {
        (RoutineKind::GembaWalk, "") => {
            return Err(LswError::Missing {
                field: "route (a gemba walk's)",
            });
        }
        (RoutineKind::GembaWalk, r) => {
            let id = number("route", r, "a walk route's number")?;
            if !routes.iter().any(|x| x.id == id) {
                return Err(LswError::Bad {
                    field: "route",
                    value: r.to_string(),
                    expect: "a walk route of /walks",
                });
            }
            Some(id)
        }
        _ => None,
    };
    let needs_items = matches!(kind, RoutineKind::Checklist | RoutineKind::Audit);
    if items.is_empty() && needs_items {
        return Err(LswError::Items(format!(
            "a routine of kind {} needs at least one item, one a line",
            kind.label()
        )));
    }
    Ok(RoutineWrite {
        leader_id,
        title: text("title", &d.title, MAX_TITLE)?,
        kind: kind.as_str().to_string(),
        board: board_key(cfg, &d.board)?,
        cadence: cadence.as_str().to_string(),
        window_hours: window.on_time_hours(),
        grace_hours: window.grace_hours(),
        items,
        active: d.active,
        route_id,
    })
}

/// One item of a checklist or audit as its owner recorded it: ticked or passed (`ok`), with a
/// note; a failed audit item may raise an action on the routine's board.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ItemResult {
    pub item: String,
    pub ok: bool,
    #[serde(default)]
    pub note: String,
    /// The action a failed audit item raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<i64>,
}

/// What a person sends to record a routine done: per item of the routine, ticked or passed, a
/// note, and for an audit whether a failed item raises an action.
#[derive(Debug, Clone, Default)]
pub struct ItemAnswer {
    pub ok: bool,
    pub note: String,
    pub raise: bool,
}

/// Checks a completion against its routine: one answer per item (missing ones count as not
/// ticked), notes of at most 1000 characters; a failed audit item that raises an action needs a
/// note (the action's title says what failed). Answers the results and the items whose action
/// to raise.
pub fn check_completion(
    r: &Routine,
    answers: &[ItemAnswer],
    note_text: &str,
) -> Result<(Vec<ItemResult>, String), LswError> {
    if answers.len() > r.items.len() {
        return Err(LswError::Items(format!(
            "{} answers for {} items",
            answers.len(),
            r.items.len()
        )));
    }
    let audit = r.kind == RoutineKind::Audit.as_str();
    let mut out = Vec::with_capacity(r.items.len());
    for (i, item) in r.items.iter().enumerate() {
        let a = answers.get(i).cloned().unwrap_or_default();
        let n = note("items", &a.note)?;
        if a.raise && (!audit || a.ok) {
            return Err(LswError::Items(format!(
                "`{item}`: only a failed audit item raises an action"
            )));
        }
        out.push(ItemResult {
            item: item.clone(),
            ok: a.ok,
            note: n,
            action: None,
        });
    }
    Ok((out, note("note", note_text)?))
}

/// The times a leader ended a huddle on a board, read from the huddles' attendance (names
/// separated by commas, compared without case): a board review is done by attending.
pub fn huddle_completions(leader: &str, huddles: &[crate::store::Huddle]) -> Vec<DateTime<Utc>> {
    let name = leader.trim().to_lowercase();
    huddles
        .iter()
        .filter_map(|h| {
            let present = h
                .attendees
                .split(',')
                .any(|a| a.trim().to_lowercase() == name);
            h.ended_at.filter(|_| present)
        })
        .collect()
}

/// Counts of a set of occurrences by standing. `on_time_pct` is over the closed ones (on
/// time, late, missed): an open or upcoming occurrence has not been judged yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub due: u32,
    pub on_time: u32,
    pub late: u32,
    pub missed: u32,
    /// Open or overdue now: can still be done.
    pub open: u32,
}

impl Tally {
    pub fn of<'o>(occ: impl IntoIterator<Item = &'o Occurrence>) -> Tally {
        let mut t = Tally::default();
        for o in occ {
            match o.standing {
                Standing::Upcoming => continue,
                Standing::OnTime => t.on_time += 1,
                Standing::Late => t.late += 1,
                Standing::Missed => t.missed += 1,
                Standing::Open | Standing::Overdue => t.open += 1,
            }
            t.due += 1;
        }
        t
    }

    /// Done on time over closed occurrences, in %; `None` when none is closed.
    pub fn on_time_pct(self) -> Option<f64> {
        let closed = self.on_time + self.late + self.missed;
        (closed > 0).then(|| f64::from(self.on_time) * 100.0 / f64::from(closed))
    }
}

impl std::ops::Add for Tally {
    type Output = Tally;

    fn add(self, o: Tally) -> Tally {
        Tally {
            due: self.due + o.due,
            on_time: self.on_time + o.on_time,
            late: self.late + o.late,
            missed: self.missed + o.missed,
            open: self.open + o.open,
        }
    }
}

/// The plant days `days` as UTC instants: the start of the first and the end of the last.
pub fn day_range(tz: Tz, first: NaiveDate, last: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        crate::mapping::dates::local_to_utc(tz, d.and_hms_opt(0, 0, 0).expect("midnight"))
    };
    (start(first), start(last + Duration::days(1)))
}

/// The occurrences due on each of `days` (plant time), in the order of the days.
pub fn by_day<'o>(occ: &'o [Occurrence], tz: Tz, days: &[NaiveDate]) -> Vec<Vec<&'o Occurrence>> {
    days.iter()
        .map(|d| {
            occ.iter()
                .filter(|o| o.due.with_timezone(&tz).date_naive() == *d)
                .collect()
        })
        .collect()
}

/// A tier's name for people.
pub fn tier_label(t: u8) -> &'static str {
    match t {
        1 => "Tier 1: crews",
        2 => "Tier 2: areas",
        _ => "Tier 3: site and plant",
    }
}

/// The tier of a board for the standard-work chart: 1 a crew, 2 an area, 3 a site or the plant.
pub fn tier(board: &str) -> u8 {
    match crate::metrics::Scope::from_key(board) {
        Some(s) if s.crew.is_some() => 1,
        Some(s) if s.area.is_some() => 2,
        _ => 3,
    }
}

/// How far before and after a range its completions, huddles and walks can count for an
/// occurrence in it: a window and a grace are at most a month each.
pub const REACH_DAYS: i64 = 63;

/// What a range of standard work is computed from: the completions, huddles and walks of the
/// range widened by [`REACH_DAYS`] on both sides.
pub struct Records<'a> {
    pub leaders: &'a [Leader],
    pub routines: &'a [Routine],
    pub completions: &'a [crate::store::Completion],
    pub huddles: &'a [crate::store::Huddle],
    pub walks: &'a [crate::store::Walk],
}

/// Every routine of an active leader (in the leaders' order, then by id) with its occurrences
/// due in `[from, to)` as they stand at `now`: done by a tick, a board review also by its owner
/// among those present at a huddle ended on its board, a gemba walk also by an ended walk of its
/// route. A routine is due from when it was added (a due time still in its window or grace then
/// counts); a paused routine, or one of an inactive leader, has none.
pub fn chart(
    rec: &Records<'_>,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<(Routine, Vec<Occurrence>)>, LswError> {
    let mut rows = Vec::new();
    for l in rec.leaders {
        for r in rec.routines.iter().filter(|r| r.leader_id == l.id) {
            if !(r.active && l.active) {
                rows.push((r.clone(), Vec::new()));
                continue;
            }
            let cadence = Cadence::parse(&r.cadence)?;
            let window = Window::new(r.window_hours.into(), r.grace_hours.into())?;
            let mut times: Vec<DateTime<Utc>> = rec
                .completions
                .iter()
                .filter(|c| c.routine_id == r.id)
                .map(|c| c.done_at)
                .collect();
            if r.kind == RoutineKind::BoardReview.as_str() {
                let on_board: Vec<_> = rec
                    .huddles
                    .iter()
                    .filter(|h| h.board == r.board)
                    .cloned()
                    .collect();
                times.extend(huddle_completions(&l.name, &on_board));
            }
            if r.kind == RoutineKind::GembaWalk.as_str() {
                times.extend(crate::walks::routine_completions(r, rec.walks));
            }
            let added = r.created_at
                - Duration::hours(i64::from(r.window_hours) + i64::from(r.grace_hours));
            rows.push((
                r.clone(),
                occurrences(&cadence, window, tz, from.max(added), to, &times, now),
            ));
        }
    }
    Ok(rows)
}

/// One person's changes to leaders, routines and completions, with who and when.
pub struct Standard<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub who: &'a str,
    pub now: DateTime<Utc>,
}

impl Standard<'_> {
    /// Adds a leader (`id` `None`) or changes one; answers its id.
    pub fn save_leader(&mut self, id: Option<i64>, d: &LeaderDraft) -> Result<i64, LswError> {
        let leaders = self.store.leaders()?;
        if let Some(id) = id
            && !leaders.iter().any(|l| l.id == id)
        {
            return Err(LswError::NoSuchLeader(id));
        }
        let others: Vec<Leader> = leaders.into_iter().filter(|l| Some(l.id) != id).collect();
        let w = check_leader(self.cfg, d, &others)?;
        let what = format!(
            "{}: {} ({}, {}){}",
            if id.is_some() { "changed" } else { "added" },
            w.name,
            w.role,
            crate::actions::board_name(&w.board),
            if w.active { "" } else { ", inactive" }
        );
        Ok(self.store.write_leader(id, &w, self.who, &what, self.now)?)
    }

    /// Adds a routine (`id` `None`) or changes one; answers its id.
    pub fn save_routine(&mut self, id: Option<i64>, d: &RoutineDraft) -> Result<i64, LswError> {
        if let Some(id) = id
            && self.store.routine(id)?.is_none()
        {
            return Err(LswError::NoSuchRoutine(id));
        }
        let leaders = self.store.leaders()?;
        let routes = self.store.routes()?;
        let w = check_routine(self.cfg, d, &leaders, &routes)?;
        let owner = leaders
            .iter()
            .find(|l| l.id == w.leader_id)
            .map_or("", |l| l.name.as_str());
        let what = format!(
            "{}: {} ({}, {}, `{}`, on time within {} h, {} h grace, owner {owner}){}",
            if id.is_some() { "changed" } else { "added" },
            w.title,
            RoutineKind::parse(&w.kind).map_or("", |k| k.label()),
            crate::actions::board_name(&w.board),
            w.cadence,
            w.window_hours,
            w.grace_hours,
            if w.active { "" } else { ", paused" }
        );
        Ok(self
            .store
            .write_routine(id, &w, self.who, &what, self.now)?)
    }

    /// Records a routine done now: its items' answers and a note. A failed audit item marked to
    /// raise one becomes an action on the routine's board, owned by the routine's owner, due in
    /// a week, and the result keeps its number. Answers the completion's id.
    pub fn complete(
        &mut self,
        routine_id: i64,
        answers: &[ItemAnswer],
        note_text: &str,
    ) -> Result<i64, LswError> {
        let r = self
            .store
            .routine(routine_id)?
            .ok_or(LswError::NoSuchRoutine(routine_id))?;
        if !r.active {
            return Err(LswError::Paused(routine_id));
        }
        let (mut results, note_text) = check_completion(&r, answers, note_text)?;
        let owner = self
            .store
            .leaders()?
            .into_iter()
            .find(|l| l.id == r.leader_id)
            .map_or_else(|| self.who.to_string(), |l| l.name);
        let today = self.now.with_timezone(&self.cfg.plant.tz).date_naive();
        for (res, a) in results.iter_mut().zip(answers) {
            if !a.raise {
                continue;
            }
            let mut actions = crate::actions::Actions {
                store: &mut *self.store,
                cfg: self.cfg,
                who: self.who,
                now: self.now,
            };
            let detail = if res.note.is_empty() {
                String::new()
            } else {
                format!(": {}", res.note)
            };
            let title: String = format!("{} failed: {}{detail}", r.title, res.item)
                .chars()
                .take(MAX_TITLE)
                .collect();
            res.action = Some(actions.create_with_note(
                &r.board,
                &crate::actions::Draft {
                    title,
                    owner: owner.clone(),
                    due: (today + Duration::days(7)).to_string(),
                    orders: String::new(),
                },
                &format!(
                    "From the audit {} of {} (/lsw/routines/{})",
                    r.title,
                    today.format("%-d %b"),
                    r.id
                ),
            )?);
        }
        let passed = results.iter().filter(|x| x.ok).count();
        let mut what = format!("done: {}", r.title);
        if !results.is_empty() {
            what.push_str(&format!(" ({passed} of {} items ok)", results.len()));
        }
        if !note_text.is_empty() {
            what.push_str(&format!(" — {note_text}"));
        }
        Ok(self.store.record_completion(
            &CompletionWrite {
                routine_id,
                done_at: self.now,
                note: note_text,
                results,
            },
            self.who,
            &what,
        )?)
    }
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

    fn cfg() -> Config {
        Config::parse(crate::config::DEFAULT_CONFIG, "demo").unwrap()
    }

    fn leader(id: i64, name: &str) -> Leader {
        Leader {
            id,
            name: name.into(),
            role: "Supervisor".into(),
            board: "area:Packaging".into(),
            login: None,
            active: true,
            updated_at: local(2026, 11, 1, 0, 0),
        }
    }

    fn draft() -> RoutineDraft {
        RoutineDraft {
            leader: "1".into(),
            title: "Board review".into(),
            kind: "board review".into(),
            board: "crew:Utilities".into(),
            cadence: "0 7 * * Mon-Fri".into(),
            window_hours: "2".into(),
            grace_hours: "4".into(),
            items: String::new(),
            active: true,
            route: String::new(),
        }
    }

    #[test]
    fn leaders_and_routines_are_checked_field_by_field() {
        let cfg = cfg();
        let d = LeaderDraft {
            name: " Vera ".into(),
            role: "Supervisor".into(),
            board: "area:Packaging".into(),
            login: String::new(),
            active: true,
        };
        let w = check_leader(&cfg, &d, &[]).unwrap();
        assert_eq!(
            (w.name.as_str(), w.board.as_str(), w.login),
            ("Vera", "area:Packaging", None)
        );
        let taken = check_leader(&cfg, &d, &[leader(1, "VERA")]).unwrap_err();
        assert!(taken.to_string().starts_with("name:"), "{taken}");
        let login = LeaderDraft {
            login: "vera".into(),
            ..d.clone()
        };
        assert_eq!(
            check_leader(&cfg, &login, &[]).unwrap_err().to_string(),
            "login: `vera` is not a user of [auth] in the config"
        );
        let board = LeaderDraft {
            board: "area:Moon".into(),
            ..d
        };
        assert!(
            check_leader(&cfg, &board, &[])
                .unwrap_err()
                .to_string()
                .starts_with("board:")
        );

        let leaders = [leader(1, "Vera")];
        let w = check_routine(&cfg, &draft(), &leaders, &[]).unwrap();
        assert_eq!(
            (w.kind.as_str(), w.window_hours, w.grace_hours),
            ("board_review", 2, 4)
        );
        let bad = |f: &dyn Fn(&mut RoutineDraft)| {
            let mut d = draft();
            f(&mut d);
            check_routine(&cfg, &d, &leaders, &[])
                .unwrap_err()
                .to_string()
        };
        assert!(bad(&|d| d.leader = "2".into()).starts_with("leader: no leader 2"));
        assert!(bad(&|d| d.leader = "x".into()).starts_with("leader: `x`"));
        assert!(bad(&|d| d.kind = "walk".into()).starts_with("kind: `walk`"));
        assert!(
            bad(&|d| d.kind = "gemba walk".into())
                .starts_with("route (a gemba walk's) is required")
        );
        assert!(
            bad(&|d| {
                d.kind = "gemba_walk".into();
                d.route = "3".into();
            })
            .starts_with("route: `3` is not a walk route")
        );
        assert!(bad(&|d| d.cadence = "0 7 * *".into()).starts_with("cadence: cron"));
        assert!(bad(&|d| d.cadence = "*/5 * * * *".into()).contains("more than 4 times a day"));
        assert!(bad(&|d| d.window_hours = "two".into()).starts_with("window_hours: `two`"));
        assert!(bad(&|d| d.grace_hours = "800".into()).starts_with("grace_hours: 800"));
        assert!(
            bad(&|d| d.kind = "audit".into()).starts_with("items: a routine of kind audit needs")
        );
        assert!(bad(&|d| d.items = "x\n".repeat(31)).starts_with("items: 31 items"));
        assert!(bad(&|d| d.title = "t".repeat(201)).starts_with("title is longer"));
        assert!(bad(&|d| d.board = "crew:Moon".into()).starts_with("board:"));
        // Six due times a day is too many; four is a shift pattern and fine.
        let mut d = draft();
        d.cadence = "0 0,6,12,18 * * *".into();
        assert!(check_routine(&cfg, &d, &leaders, &[]).is_ok());
        d.cadence = "0 */4 * * *".into();
        assert!(check_routine(&cfg, &d, &leaders, &[]).is_err());
    }

    #[test]
    fn a_completion_answers_every_item_and_only_failed_audit_items_raise_actions() {
        let mut r = Routine {
            id: 1,
            leader_id: 1,
            title: "Audit".into(),
            kind: "audit".into(),
            board: "plant".into(),
            cadence: "0 8 1 * *".into(),
            window_hours: 72,
            grace_hours: 0,
            items: vec!["A".into(), "B".into(), "C".into()],
            active: true,
            route_id: None,
            created_at: local(2026, 11, 1, 0, 0),
            updated_at: local(2026, 11, 1, 0, 0),
        };
        let answers = [
            ItemAnswer {
                ok: true,
                note: String::new(),
                raise: false,
            },
            ItemAnswer {
                ok: false,
                note: "loose".into(),
                raise: true,
            },
        ];
        let (res, note) = check_completion(&r, &answers, " fine ").unwrap();
        assert_eq!(note, "fine");
        assert_eq!(
            res.iter().map(|x| x.ok).collect::<Vec<_>>(),
            [true, false, false],
            "a missing answer is not ok"
        );
        assert_eq!(res[1].note, "loose");
        let passed_raise = [ItemAnswer {
            ok: true,
            note: String::new(),
            raise: true,
        }];
        assert!(
            check_completion(&r, &passed_raise, "")
                .unwrap_err()
                .to_string()
                .starts_with("items: `A`")
        );
        let four = vec![ItemAnswer::default(); 4];
        assert!(check_completion(&r, &four, "").is_err());
        assert!(
            check_completion(&r, &[], &"n".repeat(1001))
                .unwrap_err()
                .to_string()
                .starts_with("note is longer")
        );
        r.kind = "checklist".into();
        assert!(
            check_completion(&r, &answers, "").is_err(),
            "a checklist raises no action"
        );
    }

    #[test]
    fn a_board_review_is_done_by_attending_a_huddle_that_ended() {
        let h = |attendees: &str, ended: Option<DateTime<Utc>>| crate::store::Huddle {
            id: 1,
            board: "crew:Utilities".into(),
            started_at: local(2026, 11, 23, 7, 0),
            ended_at: ended,
            attendees: attendees.into(),
            pages: String::new(),
        };
        let end = local(2026, 11, 23, 7, 12);
        let huddles = [
            h("S. Ahmed, v. marsh ,T. Fischer", Some(end)),
            h("V. Marshall", Some(end + Duration::days(1))),
            h("V. Marsh", None),
        ];
        assert_eq!(huddle_completions("V. Marsh", &huddles), [end]);
    }

    #[test]
    fn tallies_judge_closed_occurrences_only() {
        let o = |standing| Occurrence {
            due: local(2026, 11, 23, 7, 0),
            done_at: None,
            standing,
        };
        let occ = [
            o(Standing::OnTime),
            o(Standing::OnTime),
            o(Standing::Late),
            o(Standing::Missed),
            o(Standing::Open),
            o(Standing::Upcoming),
        ];
        let t = Tally::of(&occ);
        assert_eq!(
            (t.due, t.on_time, t.late, t.missed, t.open),
            (5, 2, 1, 1, 1)
        );
        assert_eq!(t.on_time_pct(), Some(50.0));
        assert_eq!(Tally::of(&occ[4..]).on_time_pct(), None);
        assert_eq!(tier("crew:Utilities"), 1);
        assert_eq!(tier("area:Packaging"), 2);
        assert_eq!(tier("site:Riverside"), 3);
        assert_eq!(tier("plant"), 3);
        let days = [
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
        ];
        let cells = by_day(&occ, berlin(), &days);
        assert_eq!((cells[0].len(), cells[1].len()), (6, 0));
        let (from, to) = day_range(berlin(), days[0], days[1]);
        assert_eq!((to - from).num_hours(), 48);
        assert_eq!(from, local(2026, 11, 23, 0, 0));
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
