//! The safety cross of a board: this month as the classic cross (one cell per day, the worst
//! mark of the board and the boards below it, with a sign as well as a colour), the days since
//! the last first-aid or lost-time case, and the form that marks a day. Read fresh per request.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use maud::{Markup, html};

use crate::metrics::Scope;
use crate::safety::{self, Mark, ShownDay};
use crate::web::layout::{board_href, csrf_field};
use crate::web::{AppError, AppState};

/// A board's cross for one month, with what "days since" needs.
pub struct SafetyCross {
    pub board: String,
    /// The boards whose marks it shows: itself and those below it.
    pub boards: Vec<String>,
    /// The first day of the month shown.
    pub month: NaiveDate,
    pub today: NaiveDate,
    /// Every marked day of the last year up to the month's end, rolled up for this board.
    pub days: BTreeMap<NaiveDate, ShownDay>,
    pub days_since_case: Option<i64>,
    /// The first day anything was marked in that year, for "no case since ...".
    pub first_marked: Option<NaiveDate>,
    /// Whether boards below this one are rolled up into it.
    pub rolls_up: bool,
}

impl SafetyCross {
    /// Reads the marks of `board` and the boards below it (blocking).
    pub fn read(
        state: &AppState,
        board: &Scope,
        month: Option<NaiveDate>,
    ) -> Result<SafetyCross, AppError> {
        let cfg = state.config();
        let today = Utc::now().with_timezone(&cfg.plant.tz).date_naive();
        let month = month.unwrap_or(today).with_day(1).expect("day 1");
        let end = safety::last_of_month(month).max(today);
        let boards = safety::boards_within(cfg, board);
        let from = end - Duration::days(safety::MAX_DAYS_BACK + 31);
        let marks = state.with_store(|s| s.safety_marks(&boards, from, end))?;
        let key = board.key();
        let days = safety::roll_up(&key, &marks);
        Ok(SafetyCross {
            days_since_case: safety::days_since_case(&days, today),
            first_marked: days.keys().next().copied(),
            rolls_up: boards.len() > 1,
            boards,
            board: key,
            month,
            today,
            days,
        })
    }
}

fn mark_class(m: Mark) -> &'static str {
    match m {
        Mark::Safe => "safe",
        Mark::NearMiss => "near-miss",
        Mark::FirstAid => "first-aid",
        Mark::LostTime => "lost-time",
    }
}

/// The cross of the month: 7 × 7 cells placed by class (the CSP allows no inline style).
fn cross(c: &SafetyCross) -> Markup {
    let last = safety::last_of_month(c.month).day();
    html! {
        div class="cross" role="table" aria-label=(format!("Safety cross, {}", c.month.format("%B %Y"))) {
            @for d in 1..=last {
                @let day = c.month.with_day(d).expect("a day of the month");
                @let (row, col) = safety::cross_cell(d);
                @let shown = c.days.get(&day);
                @let class = match shown {
                    Some(s) => mark_class(s.worst),
                    None if day > c.today => "future",
                    None => "blank",
                };
                @let title = match shown {
                    Some(s) => {
                        let mut t = format!("{}: {}", day.format("%a %-d %b"), s.worst.label());
                        if !s.notes.is_empty() { t.push_str(" — "); t.push_str(&s.notes.join("; ")); }
                        t
                    }
                    None if day > c.today => format!("{}: to come", day.format("%a %-d %b")),
                    None => format!("{}: not marked", day.format("%a %-d %b")),
                };
                div class={"day " (class) " r" (row) " c" (col) @if day == c.today { " today" }}
                    data-day=(day.to_string()) data-mark=(shown.map_or("", |s| s.worst.as_str())) title=(title) role="cell" {
                    span class="n" { (d) }
                    @if let Some(s) = shown { span class="sign" aria-label=(s.worst.label()) { (s.worst.sign()) } }
                }
            }
        }
    }
}

fn legend() -> Markup {
    html! {
        ul class="cross-legend" {
            @for m in Mark::ALL {
                li class=(mark_class(m)) { span class="sign" { (m.sign()) } " " (m.label()) }
            }
        }
    }
}

/// "12 days since the last first-aid or lost-time case" (or since marking began).
pub fn days_since_words(c: &SafetyCross) -> Markup {
    html! {
        div class="since" data-days-since=(c.days_since_case.map_or(String::new(), |d| d.to_string())) {
            @match (c.days_since_case, c.first_marked) {
                (Some(n), _) => { span class="big" { (n) } " day" @if n != 1 { "s" } " since the last first-aid or lost-time case" }
                (None, Some(first)) => { "No first-aid or lost-time case marked since " (first.format("%-d %B %Y").to_string()) }
                (None, None) => { "No day marked yet" }
            }
        }
    }
}

/// The form that marks a day: on the board any day of the last year; on the TV, today, one
/// button per mark.
fn mark_form(c: &SafetyCross, token: &str, ret: &str, tv: bool) -> Markup {
    let own = c.days.get(&c.today).and_then(|d| d.own.as_ref());
    html! {
        form method="post" action="/safety" class={"mark-day" @if tv { " tv-form" }} {
            (csrf_field(token))
            input type="hidden" name="board" value=(c.board);
            input type="hidden" name="return" value=(ret);
            @if tv {
                input type="hidden" name="date" value=(c.today.to_string());
                label { "Today: what happened " input name="note" maxlength=(safety::MAX_NOTE) placeholder="note (needed for first aid, lost time)" value=(own.map_or("", |o| o.note.as_str())); }
                span class="buttons" {
                    @for m in Mark::ALL {
                        button type="submit" name="mark" value=(m.as_str()) class={"mark " (mark_class(m))} { (m.sign()) " " (m.label()) }
                    }
                }
            } @else {
                label { "Day " input type="date" name="date" required value=(c.today.to_string())
                    max=(c.today.to_string()) min=((c.today - Duration::days(safety::MAX_DAYS_BACK)).to_string()); }
                label { "Mark " select name="mark" {
                    @for m in Mark::ALL { option value=(m.as_str()) selected[own.map(|o| o.mark) == Some(m)] { (m.label()) } }
                } }
                label { "Note " input name="note" maxlength=(safety::MAX_NOTE) placeholder="what happened (needed for first aid, lost time)"; }
                button type="submit" { "Mark the day" }
            }
            @if let Some(o) = own {
                span class="note" { "Today is marked " strong { (o.mark.label()) } " by " (o.who) "." }
            }
        }
    }
}

/// Links to the cross of the month before and (up to this month) after.
fn month_links(c: &SafetyCross) -> Markup {
    let board = Scope::from_key(&c.board).unwrap_or_default();
    let href = board_href(&board, false);
    let link = |m: NaiveDate| {
        let sep = if href.contains('?') { '&' } else { '?' };
        format!("{href}{sep}month={}#safety", m.format("%Y-%m"))
    };
    let before = (c.month - Duration::days(1)).with_day(1).expect("day 1");
    let after = safety::last_of_month(c.month) + Duration::days(1);
    html! {
        nav class="months" aria-label="Other months" {
            a href=(link(before)) rel="prev" { "‹ " (before.format("%B").to_string()) }
            @if after <= c.today { " · " a href=(link(after)) rel="next" { (after.format("%B").to_string()) " ›" } }
        }
    }
}

/// The safety panel: the month's cross, days since the last case, the legend, and the form for
/// a viewer who may write (`token`).
pub fn panel(c: &SafetyCross, token: Option<&str>, ret: &str, tv: bool) -> Markup {
    html! {
        section class="safety" id="safety" aria-label="Safety" {
            h2 { "Safety — " (c.month.format("%B %Y").to_string())
                @if c.rolls_up { span class="count" { " worst mark of this board and those below it" } } }
            @if !tv { (month_links(c)) }
            (days_since_words(c))
            (cross(c))
            (legend())
            @if let Some(t) = token { (mark_form(c, t, ret, tv)) }
        }
    }
}
