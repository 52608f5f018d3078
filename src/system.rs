//! The health of the management system (docs/metrics.md, "The management system"; issue #18):
//! the leading indicators of lean leadership, computed for a set of boards over a window from
//! what people record (huddles, routines, walks, actions) and the emergencies in the orders.
//! Plain functions of plain data; the web layer reads the rows and calls [`health`].

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

use crate::lsw::{Occurrence, RoutineKind, Tally};
use crate::metrics::Scope;
use crate::store::{Action, ActionChange, Huddle, Routine, Walk};

/// An emergency order: when it was created and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Emergency {
    pub created_at: DateTime<Utc>,
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
}

/// What the indicators are computed from; each list may hold more than the window and the
/// boards (it is filtered here).
pub struct Inputs<'a> {
    pub tz: Tz,
    pub huddles: &'a [Huddle],
    /// Every routine with its occurrences over at least the window.
    pub routines: &'a [(Routine, Vec<Occurrence>)],
    pub walks: &'a [Walk],
    pub actions: &'a [(Action, Vec<ActionChange>)],
    pub emergencies: &'a [Emergency],
    /// Today in plant time: an action due later is not judged yet.
    pub today: NaiveDate,
    pub a3s: &'a [A3Fact],
}

/// An A3 as the indicators read it (its follow-up measured by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct A3Fact {
    pub board: String,
    pub started: DateTime<Utc>,
    /// When it was closed (its last change, when its stage is closed).
    pub closed_at: Option<DateTime<Utc>>,
    /// The first day its follow-up could say met, when it is met.
    pub met_on: Option<NaiveDate>,
    /// Days from its start to `met_on`.
    pub cycle_days: Option<i64>,
}

/// The indicators of a set of boards over a window, each with what it is made of.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    pub boards: u32,
    pub working_days: u32,
    pub huddles: u32,
    /// Huddles held per board and working day (Monday to Friday).
    pub huddles_per_day: Option<f64>,
    /// Routines of the boards (gemba walks included), by standing.
    pub routines: Tally,
    pub routines_on_time_pct: Option<f64>,
    /// Gemba-walk routines due and closed in the window, and of those done (on time or late).
    pub walks_planned: u32,
    pub walks_done: u32,
    pub walks_done_pct: Option<f64>,
    /// Observations made at stops on the boards, and those raised as actions.
    pub observations: u32,
    pub observations_to_actions: u32,
    pub observations_to_actions_pct: Option<f64>,
    /// Actions on the boards due in the window (up to today), and those done by their due date.
    pub actions_due: u32,
    pub actions_closed_on_time: u32,
    pub actions_closed_on_time_pct: Option<f64>,
    /// Escalations to the boards in the window, those answered, and the median days to answer.
    pub escalations: u32,
    pub escalations_answered: u32,
    pub escalation_response_days: Option<f64>,
    /// Actions opened on the boards in the window, emergency orders created in their scope.
    pub improvements: u32,
    pub emergencies: u32,
    pub improvement_ratio: Option<f64>,
    /// A3s of the boards open at the window's end (started, not closed).
    pub a3_open: u32,
    /// A3s of the boards whose follow-up came out met in the window, and their median cycle.
    pub a3_met: u32,
    pub a3_cycle_days: Option<f64>,
}

fn pct(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| f64::from(n) * 100.0 / f64::from(d))
}

fn ratio(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| f64::from(n) / f64::from(d))
}

/// The Monday-to-Friday plant days that `[from, to)` touches.
pub fn working_days(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    if to <= from {
        return 0;
    }
    let first = from.with_timezone(&tz).date_naive();
    let last = (to - chrono::Duration::nanoseconds(1))
        .with_timezone(&tz)
        .date_naive();
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .count() as u32
}

/// Whether an order's place lies in a board's scope.
fn in_scope(board: &str, e: &Emergency) -> bool {
    let Some(s) = Scope::from_key(board) else {
        return false;
    };
    let is = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    is(&s.site, &e.site) && is(&s.area, &e.area) && is(&s.crew, &e.crew)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// When an action was done: its last change, when it is done now.
pub fn done_at(a: &Action) -> Option<DateTime<Utc>> {
    (a.status == "done").then_some(a.updated_at)
}

/// A history line that answers an escalation: resolved, handed back, done, or passed up.
fn answers(what: &str) -> bool {
    what.starts_with("resolved")
        || what.starts_with("handed back")
        || what.starts_with("escalated")
        || (what.starts_with("status") && what.ends_with("-> done"))
}

/// The indicators of `boards` (board keys) over `[from, to)` (docs/metrics.md).
pub fn health(i: &Inputs<'_>, boards: &[String], from: DateTime<Utc>, to: DateTime<Utc>) -> Health {
    let set: BTreeSet<&str> = boards.iter().map(String::as_str).collect();
    let within = |t: DateTime<Utc>| from <= t && t < to;
    let mut h = Health {
        boards: set.len() as u32,
        working_days: working_days(i.tz, from, to),
        ..Health::default()
    };
    h.huddles = i
        .huddles
        .iter()
        .filter(|x| set.contains(x.board.as_str()) && within(x.started_at))
        .count() as u32;
    h.huddles_per_day = ratio(h.huddles, h.working_days * h.boards);

    for (r, occ) in i
        .routines
        .iter()
        .filter(|(r, _)| set.contains(r.board.as_str()))
    {
        let due: Vec<&Occurrence> = occ.iter().filter(|o| within(o.due)).collect();
        let t = Tally::of(due.iter().copied());
        h.routines = h.routines + t;
        if r.kind == RoutineKind::GembaWalk.as_str() {
            h.walks_planned += t.on_time + t.late + t.missed;
            h.walks_done += t.on_time + t.late;
        }
    }
    h.routines_on_time_pct = h.routines.on_time_pct();
    h.walks_done_pct = pct(h.walks_done, h.walks_planned);

    for w in i.walks.iter().filter(|w| within(w.started_at)) {
        for s in w
            .stops
            .iter()
            .filter(|s| set.contains(s.stop.board.as_str()))
        {
            h.observations += s.observations.len() as u32;
            h.observations_to_actions +=
                s.observations.iter().filter(|o| o.action.is_some()).count() as u32;
        }
    }
    h.observations_to_actions_pct = pct(h.observations_to_actions, h.observations);

    let (first_day, last_day) = (
        from.with_timezone(&i.tz).date_naive(),
        to.with_timezone(&i.tz).date_naive(),
    );
    let names: Vec<String> = set
        .iter()
        .map(|b| format!(" to {}: ", crate::actions::board_name(b)))
        .collect();
    let mut waits = Vec::new();
    for (a, history) in i.actions {
        // Due in the window, and the day has passed: done by the end of its due day?
        if set.contains(a.board.as_str())
            && let Ok(due) = NaiveDate::parse_from_str(&a.due, "%Y-%m-%d")
            && due >= first_day
            && due < last_day
            && due < i.today
        {
            h.actions_due += 1;
            let on_time = done_at(a).is_some_and(|t| t.with_timezone(&i.tz).date_naive() <= due);
            h.actions_closed_on_time += u32::from(on_time);
        }
        if set.contains(a.origin.as_str()) && within(a.created_at) {
            h.improvements += 1;
        }
        for (k, line) in history.iter().enumerate() {
            let to_here = line.what.starts_with("escalated from")
                && names.iter().any(|n| line.what.contains(n.as_str()));
            if !to_here || !within(line.at) {
                continue;
            }
            h.escalations += 1;
            if let Some(answer) = history[k + 1..].iter().find(|l| answers(&l.what)) {
                h.escalations_answered += 1;
                waits.push((answer.at - line.at).num_minutes() as f64 / (24.0 * 60.0));
            }
        }
    }
    h.actions_closed_on_time_pct = pct(h.actions_closed_on_time, h.actions_due);
    h.escalation_response_days = median(waits);
    h.emergencies = i
        .emergencies
        .iter()
        .filter(|e| within(e.created_at) && set.iter().any(|b| in_scope(b, e)))
        .count() as u32;
    let mut cycles = Vec::new();
    for a in i.a3s.iter().filter(|a| set.contains(a.board.as_str())) {
        if within(a.started) {
            h.improvements += 1;
        }
        if a.started < to && a.closed_at.is_none_or(|c| c >= to) {
            h.a3_open += 1;
        }
        if let (Some(met), Some(days)) = (a.met_on, a.cycle_days)
            && met >= first_day
            && met < last_day
        {
            h.a3_met += 1;
            cycles.push(days as f64);
        }
    }
    h.a3_cycle_days = median(cycles);
    h.improvement_ratio = ratio(h.improvements, h.emergencies);
    h
}

/// The indicator keys of [`Health`] with a value, in the order of docs/metrics.md, for targets
/// and the pages.
pub const KEYS: [&str; 9] = [
    "huddles_per_day",
    "routines_on_time_pct",
    "walks_done_pct",
    "observations_to_actions_pct",
    "actions_closed_on_time_pct",
    "escalation_response_days",
    "improvement_ratio",
    "a3_open",
    "a3_cycle_days",
];

impl Health {
    pub fn value(&self, key: &str) -> Option<f64> {
        match key {
            "huddles_per_day" => self.huddles_per_day,
            "routines_on_time_pct" => self.routines_on_time_pct,
            "walks_done_pct" => self.walks_done_pct,
            "observations_to_actions_pct" => self.observations_to_actions_pct,
            "actions_closed_on_time_pct" => self.actions_closed_on_time_pct,
            "escalation_response_days" => self.escalation_response_days,
            "improvement_ratio" => self.improvement_ratio,
            "a3_open" => Some(f64::from(self.a3_open)),
            "a3_cycle_days" => self.a3_cycle_days,
            _ => None,
        }
    }
}

/// A key's label and unit for people.
pub fn label(key: &str) -> (&'static str, &'static str) {
    match key {
        "huddles_per_day" => ("Huddles held per working day", "per board"),
        "routines_on_time_pct" => ("Routines done on time", "%"),
        "walks_done_pct" => ("Gemba walks done of planned", "%"),
        "observations_to_actions_pct" => ("Walk observations turned into actions", "%"),
        "actions_closed_on_time_pct" => ("Actions closed by their due date", "%"),
        "escalation_response_days" => ("Escalation response (median)", "days"),
        "improvement_ratio" => (
            "Improvement to firefighting",
            "actions and A3s per emergency",
        ),
        "a3_open" => ("Open A3s", "A3s"),
        "a3_cycle_days" => ("A3 cycle time (median)", "days"),
        _ => ("", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsw::Standing;
    use chrono::TimeZone;

    fn tz() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        tz().with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn huddle(board: &str, d: u32) -> Huddle {
        Huddle {
            id: 0,
            board: board.into(),
            started_at: at(d, 7),
            ended_at: Some(at(d, 7) + chrono::Duration::minutes(10)),
            attendees: String::new(),
            pages: String::new(),
        }
    }

    #[test]
    fn working_days_count_monday_to_friday_in_plant_time() {
        // 2 to 16 November 2026: two whole weeks, Monday to Sunday.
        assert_eq!(working_days(tz(), at(2, 0), at(16, 0)), 10);
        assert_eq!(working_days(tz(), at(7, 0), at(9, 0)), 0, "a weekend");
        assert_eq!(
            working_days(tz(), at(2, 0), at(2, 12)),
            1,
            "a part of a Monday counts"
        );
    }

    #[test]
    fn huddles_and_emergencies_are_counted_for_the_boards_and_their_scope() {
        let huddles = [
            huddle("crew:A", 2),
            huddle("crew:A", 3),
            huddle("crew:B", 3),
            huddle("crew:A", 20),
        ];
        let em = |d, crew: &str, area: &str| Emergency {
            created_at: at(d, 9),
            site: None,
            area: Some(area.into()),
            crew: Some(crew.into()),
        };
        let emergencies = [
            em(2, "A", "X"),
            em(3, "B", "X"),
            em(4, "C", "Y"),
            em(30, "A", "X"),
        ];
        let i = Inputs {
            tz: tz(),
            huddles: &huddles,
            routines: &[],
            walks: &[],
            actions: &[],
            emergencies: &emergencies,
            today: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            a3s: &[],
        };
        let h = health(&i, &["crew:A".into(), "crew:B".into()], at(2, 0), at(9, 0));
        assert_eq!((h.huddles, h.working_days, h.boards), (3, 5, 2));
        assert_eq!(h.huddles_per_day, Some(0.3));
        assert_eq!(h.emergencies, 2);
        assert_eq!(h.improvement_ratio, Some(0.0));
        let area = health(&i, &["area:X".into()], at(2, 0), at(9, 0));
        assert_eq!(
            area.emergencies, 2,
            "an area board's scope is its crews' orders"
        );
        assert_eq!(area.huddles_per_day, Some(0.0));
        let nothing = health(&i, &["crew:A".into()], at(7, 0), at(9, 0));
        assert_eq!(
            nothing.huddles_per_day, None,
            "no working day: no figure, not 0"
        );
    }

    #[test]
    fn routines_walks_and_observations_are_judged_in_the_window() {
        let routine = |id, kind: &str, board: &str| Routine {
            id,
            leader_id: 1,
            title: "r".into(),
            kind: kind.into(),
            board: board.into(),
            cadence: "0 10 * * *".into(),
            window_hours: 2,
            grace_hours: 2,
            items: vec![],
            active: true,
            route_id: None,
            created_at: at(1, 0),
            updated_at: at(1, 0),
        };
        let o = |d, standing| Occurrence {
            due: at(d, 10),
            done_at: None,
            standing,
        };
        let routines = vec![
            (
                routine(1, "checklist", "crew:A"),
                vec![
                    o(2, Standing::OnTime),
                    o(3, Standing::Late),
                    o(4, Standing::Missed),
                    o(20, Standing::Missed),
                ],
            ),
            (
                routine(2, "gemba_walk", "crew:A"),
                vec![
                    o(3, Standing::OnTime),
                    o(5, Standing::Missed),
                    o(6, Standing::Open),
                ],
            ),
            (
                routine(3, "checklist", "crew:Z"),
                vec![o(3, Standing::Missed)],
            ),
        ];
        let i = Inputs {
            tz: tz(),
            huddles: &[],
            routines: &routines,
            walks: &[],
            actions: &[],
            emergencies: &[],
            today: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            a3s: &[],
        };
        let h = health(&i, &["crew:A".into()], at(2, 0), at(9, 0));
        assert_eq!(
            (
                h.routines.on_time,
                h.routines.late,
                h.routines.missed,
                h.routines.open
            ),
            (2, 1, 2, 1)
        );
        assert_eq!(h.routines_on_time_pct, Some(40.0));
        assert_eq!((h.walks_planned, h.walks_done), (2, 1));
        assert_eq!(h.walks_done_pct, Some(50.0));
    }

    #[test]
    fn actions_are_judged_by_their_due_day_and_escalations_by_their_answer() {
        let action = |id, board: &str, due: &str, status: &str, updated: DateTime<Utc>| Action {
            id,
            board: board.into(),
            origin: "crew:A".into(),
            title: "t".into(),
            owner: "o".into(),
            due: due.into(),
            status: status.into(),
            orders: vec![],
            escalated_from: None,
            escalation_reason: None,
            note: None,
            created_at: at(2, 8),
            updated_at: updated,
        };
        let line = |t: DateTime<Utc>, what: &str| ActionChange {
            action_id: 0,
            at: t,
            who: "x".into(),
            what: what.into(),
        };
        let actions = vec![
            (action(1, "crew:A", "2026-11-04", "done", at(4, 18)), vec![]),
            (action(2, "crew:A", "2026-11-04", "done", at(5, 8)), vec![]),
            (action(3, "crew:A", "2026-11-05", "open", at(3, 8)), vec![]),
            (action(4, "crew:A", "2026-11-30", "open", at(3, 8)), vec![]),
            (
                action(5, "area:X", "2026-11-20", "done", at(6, 8)),
                vec![
                    line(at(2, 8), "created: t"),
                    line(at(3, 8), "escalated from crew A to area X: needs budget"),
                    line(at(5, 20), "resolved: bought"),
                ],
            ),
            (
                action(6, "area:X", "2026-11-20", "open", at(4, 8)),
                vec![line(at(4, 8), "escalated from crew A to area X: waiting")],
            ),
        ];
        let walks = vec![Walk {
            id: 1,
            route_id: 1,
            leader_id: 1,
            started_at: at(3, 10),
            ended_at: Some(at(3, 11)),
            stops: vec![crate::walks::StopRecord {
                stop: crate::walks::Stop {
                    board: "crew:A".into(),
                    asset: String::new(),
                    label: "s".into(),
                },
                state: crate::walks::StopState::Visited,
                at: Some(at(3, 10)),
                answers: vec![],
                observations: vec![
                    crate::walks::Observation {
                        text: "a".into(),
                        action: Some(3),
                    },
                    crate::walks::Observation {
                        text: "b".into(),
                        action: None,
                    },
                    crate::walks::Observation {
                        text: "c".into(),
                        action: None,
                    },
                    crate::walks::Observation {
                        text: "d".into(),
                        action: None,
                    },
                ],
                skip_reason: String::new(),
            }],
        }];
        let a3 = |board: &str, started, closed_at, met: Option<(u32, i64)>| A3Fact {
            board: board.into(),
            started,
            closed_at,
            met_on: met.map(|(d, _)| NaiveDate::from_ymd_opt(2026, 11, d).unwrap()),
            cycle_days: met.map(|(_, c)| c),
        };
        let a3s = [
            // Started this week, met on the 5th after 30 days: open, met, an improvement.
            a3("crew:A", at(3, 9), None, Some((5, 30))),
            // Started before, met on the 6th after 10 days, closed on the 7th: not open at the end.
            a3("crew:A", at(1, 9), Some(at(7, 9)), Some((6, 10))),
            // Met after the window: not counted as met in it.
            a3("crew:A", at(1, 9), None, Some((9, 50))),
            a3("crew:B", at(3, 9), None, None),
        ];
        let i = Inputs {
            tz: tz(),
            huddles: &[],
            routines: &[],
            walks: &walks,
            actions: &actions,
            emergencies: &[Emergency {
                created_at: at(3, 1),
                site: None,
                area: Some("X".into()),
                crew: Some("A".into()),
            }],
            today: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
            a3s: &a3s,
        };
        let crew = health(&i, &["crew:A".into()], at(2, 0), at(9, 0));
        // Due 4th done that evening: on time; done the 5th: late; due 5th still open: not.
        assert_eq!((crew.actions_due, crew.actions_closed_on_time), (3, 1));
        assert_eq!(
            crew.improvements, 7,
            "every action raised on crew A this week, and its A3 started"
        );
        assert_eq!(crew.improvement_ratio, Some(7.0));
        assert_eq!((crew.a3_open, crew.a3_met), (2, 2));
        assert_eq!(crew.a3_cycle_days, Some(20.0));
        assert_eq!((crew.observations, crew.observations_to_actions), (4, 1));
        assert_eq!(crew.observations_to_actions_pct, Some(25.0));
        let area = health(&i, &["area:X".into()], at(2, 0), at(9, 0));
        assert_eq!((area.escalations, area.escalations_answered), (2, 1));
        assert_eq!(area.escalation_response_days, Some(2.5));
        assert_eq!(median(vec![1.0, 4.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
