//! Leader standard work on the web (docs/lsw.md): the standard-work board (`/lsw`), one leader's
//! routines of today and this week checked off on a phone (`/lsw?person=`, `/me`), setting up
//! leaders and routines (`/lsw/setup`, `/lsw/routines/ID`), and the JSON API under
//! `/api/v1/leaders`, `/api/v1/routines` and `/api/v1/lsw`. The rules are `crate::lsw`; who
//! may write is asked first in every write handler.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::auth::{FormFields, Viewer, api_writer, form_writer};
use super::layout::{csrf_field, fmt_time, page_response};
use super::panels::leadership::{Recorded, history as history_list};
use super::params::{JsonBody, id_of, json_value, local_path, parse_date, whole_number};
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::actions::board_name;
use crate::config::Config;
use crate::lsw::{
    ItemAnswer, LeaderDraft, LswError, Occurrence, RoutineDraft, RoutineKind, Standard, Standing,
    Tally, by_day, day_range, tier, tier_label,
};
use crate::store::{Completion, Leader, Route, Routine};

impl From<LswError> for AppError {
    fn from(e: LswError) -> AppError {
        match e {
            LswError::NoSuchRoutine(_) => AppError {
                status: StatusCode::NOT_FOUND,
                message: e.to_string(),
            },
            LswError::NameTaken(_) | LswError::Paused(_) => AppError {
                status: StatusCode::CONFLICT,
                message: e.to_string(),
            },
            LswError::Store(s) => s.into(),
            LswError::Action(a) => a.into(),
            other => AppError::unprocessable(other.to_string()),
        }
    }
}

/// The routines of a range and where each of their occurrences stands now.
struct Chart {
    leaders: Vec<Leader>,
    /// Routines with their occurrences in the range, in the leaders' order then by id.
    rows: Vec<(Routine, Vec<Occurrence>)>,
    /// The last completion of each routine around the range, for its note.
    last_done: HashMap<i64, Completion>,
}

impl Chart {
    fn leader(&self, id: i64) -> Option<&Leader> {
        self.leaders.iter().find(|l| l.id == id)
    }
}

/// Reads the records of standard work and computes every occurrence due in `[from, to)` as it
/// stands at `now` (`crate::lsw::chart`).
fn read_chart(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Chart, AppError> {
    let rec = Recorded::read(state, from, to)?;
    let rows = rec.chart(state, from, to, now)?;
    let mut last_done = HashMap::new();
    for c in rec.completions {
        last_done.insert(c.routine_id, c);
    }
    Ok(Chart {
        leaders: rec.leaders,
        rows,
        last_done,
    })
}

#[derive(Deserialize, Default)]
pub struct LswQuery {
    /// Any day of the week to show (YYYY-MM-DD); default this week.
    week: Option<String>,
    /// A month to show (YYYY-MM) instead of a week.
    month: Option<String>,
    /// One leader's page: their routines of today and this week.
    person: Option<String>,
    /// 1, 2 or 3: only the leaders of that tier.
    tier: Option<String>,
}

/// The days a query asks for: a month, or the Monday-to-Sunday week of a day.
fn days_of(q: &LswQuery, today: NaiveDate) -> Result<(Vec<NaiveDate>, String), AppError> {
    if let Some(m) = q.month.as_deref().filter(|m| !m.trim().is_empty()) {
        let (first, last) = crate::safety::month_of(m).map_err(|_| {
            AppError::bad_request(format!("month: `{m}` is not a month; use YYYY-MM"))
        })?;
        let days = first.iter_days().take_while(|d| *d <= last).collect();
        return Ok((days, first.format("%B %Y").to_string()));
    }
    let day = match q.week.as_deref().filter(|w| !w.trim().is_empty()) {
        Some(w) => parse_date("week", w)?,
        None => today,
    };
    let monday = week_start(day);
    let days: Vec<NaiveDate> = monday.iter_days().take(7).collect();
    let label = format!(
        "week {} ({} to {})",
        monday.iso_week().week(),
        monday.format("%-d %b"),
        days[6].format("%-d %b %Y")
    );
    Ok((days, label))
}

/// A routine of the chart with its occurrences and their tally.
type RoutineRow<'c> = (&'c Routine, &'c [Occurrence], Tally);
/// A tier of the chart: its tally and its leaders, each with theirs and their routines.
type TierRows<'c> = (u8, Tally, Vec<(&'c Leader, Tally, Vec<RoutineRow<'c>>)>);

fn pct(t: Tally) -> String {
    t.on_time_pct().map_or("–".into(), |p| format!("{p:.0} %"))
}

fn cell(occ: &[&Occurrence], tz: chrono_tz::Tz) -> Markup {
    if occ.is_empty() {
        return html! { td class="lsw-cell not-due" title="not due" { span class="sign" { "·" } } };
    }
    let worst = occ.iter().map(|o| o.standing).max_by_key(|s| rank(*s));
    let title: Vec<String> = occ
        .iter()
        .map(|o| {
            let due = o.due.with_timezone(&tz).format("%H:%M");
            match o.done_at {
                Some(t) => format!(
                    "due {due}: {} (done {})",
                    o.standing.label(),
                    t.with_timezone(&tz).format("%a %H:%M")
                ),
                None => format!("due {due}: {}", o.standing.label()),
            }
        })
        .collect();
    html! {
        td class={"lsw-cell " (worst.map_or("", |s| s.as_str()))} title=(title.join("; ")) {
            @for o in occ { span class="sign" aria-label=(o.standing.label()) { (o.standing.sign()) } }
        }
    }
}

/// Which standing a cell with several occurrences shows by its colour: the one that needs a
/// look first.
fn rank(s: Standing) -> u8 {
    match s {
        Standing::Upcoming => 0,
        Standing::OnTime => 1,
        Standing::Open => 2,
        Standing::Late => 3,
        Standing::Overdue => 4,
        Standing::Missed => 5,
    }
}

fn legend() -> Markup {
    html! {
        p class="legend lsw-legend" {
            @for s in [Standing::OnTime, Standing::Late, Standing::Missed, Standing::Overdue, Standing::Open] {
                span class={"lsw-cell " (s.as_str())} { span class="sign" { (s.sign()) } " " (s.label()) }
            }
            span class="lsw-cell not-due" { span class="sign" { "·" } " not due" }
        }
    }
}

/// `/lsw`: the standard-work board, or with `person` one leader's page.
pub async fn board_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LswQuery>,
) -> Result<Response, AppError> {
    if let Some(p) = q.person.as_deref().filter(|p| !p.trim().is_empty()) {
        let id = id_of("a leader", p)?;
        return person_page(&state, &headers, id).await;
    }
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let (days, label) = days_of(&q, today)?;
    let only_tier = match q.tier.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t @ ("1" | "2" | "3")) => t.parse::<u8>().ok(),
        Some(t) => {
            return Err(AppError::bad_request(format!(
                "tier: `{t}` is not a tier; use 1 (crews), 2 (areas) or 3 (site and plant)"
            )));
        }
    };
    let (from, to) = day_range(tz, days[0], days[days.len() - 1]);
    let st = state.clone();
    let chart = blocking(move || read_chart(&st, from, to, now)).await?;
    let monthly = q.month.as_deref().is_some_and(|m| !m.trim().is_empty());
    let (prev, next, other) = if monthly {
        let first = days[0];
        let prev = (first - Duration::days(1)).format("%Y-%m").to_string();
        let next = (days[days.len() - 1] + Duration::days(1))
            .format("%Y-%m")
            .to_string();
        (
            format!("/lsw?month={prev}"),
            format!("/lsw?month={next}"),
            ("this week", format!("/lsw?week={first}")),
        )
    } else {
        (
            format!("/lsw?week={}", days[0] - Duration::days(7)),
            format!("/lsw?week={}", days[0] + Duration::days(7)),
            (
                "the month",
                format!("/lsw?month={}", days[0].format("%Y-%m")),
            ),
        )
    };
    // Per tier (3, 2, 1): its leaders, each with its routines and their tallies.
    let mut tiers: Vec<TierRows<'_>> = Vec::new();
    for t in [3u8, 2, 1] {
        if only_tier.is_some_and(|o| o != t) {
            continue;
        }
        let mut leaders = Vec::new();
        let mut tier_tally = Tally::default();
        for l in chart.leaders.iter().filter(|l| tier(&l.board) == t) {
            let rows: Vec<RoutineRow<'_>> = chart
                .rows
                .iter()
                .filter(|(r, _)| r.leader_id == l.id)
                .map(|(r, o)| (r, o.as_slice(), Tally::of(o)))
                .collect();
            let lt = rows.iter().fold(Tally::default(), |a, r| a + r.2);
            tier_tally = tier_tally + lt;
            leaders.push((l, lt, rows));
        }
        if !leaders.is_empty() {
            tiers.push((t, tier_tally, leaders));
        }
    }
    let plant = tiers.iter().fold(Tally::default(), |a, t| a + t.1);
    let body = html! {
        h1 { "Leader standard work" }
        p class="note" {
            "Each leader's routines, " (label) ": done on time, late, or missed against each routine's window. "
            a href="/me" { "My standard work" } " · " a href="/lsw/setup" { "Leaders and routines" }
        }
        nav class="lsw-range" aria-label="Weeks and months" {
            a href=(prev) { "← earlier" } " " a href=(next) { "later →" } " " a href=(other.1) { "show " (other.0) }
            " · tier: " a href="/lsw" { "all" }
            @for t in [1, 2, 3] { " " a href=(format!("/lsw?tier={t}")) { (t) } }
        }
        (legend())
        @if chart.rows.is_empty() {
            p class="empty" { "No routines yet: add leaders and their routines on " a href="/lsw/setup" { "Leaders and routines" } "." }
        } @else {
            div class="lsw-scroll" {
            table class="lsw-chart" {
                thead { tr {
                    th scope="col" { "leader and routine" }
                    @for d in &days { th scope="col" class={"day" (if *d == today { " today" } else { "" })} { (d.format("%a").to_string()) br; (d.day()) } }
                    th scope="col" class="num" { "on time" }
                } }
                @for (t, tier_tally, leaders) in &tiers {
                    tbody {
                        tr class="tier" { th colspan=(days.len() + 2) scope="rowgroup" { (tier_label(*t)) } }
                        @for (l, leader_tally, rows) in leaders {
                            tr class="leader" {
                                th scope="row" colspan=(days.len() + 1) {
                                    a href=(format!("/lsw?person={}", l.id)) { (l.name) } " — " (l.role) ", " (board_name(&l.board))
                                    @if !l.active { " (inactive)" }
                                }
                                td class="num" { (pct(*leader_tally)) }
                            }
                            @for (r, occ, tally) in rows {
                                tr class="routine" data-routine=(r.id) {
                                    th scope="row" { a href=(format!("/lsw/routines/{}", r.id)) { (r.title) } @if !r.active { " (paused)" } }
                                    @for d in &by_day(occ, tz, &days) { (cell(d, tz)) }
                                    td class="num" { (pct(*tally)) }
                                }
                            }
                        }
                        tr class="total" { th scope="row" colspan=(days.len() + 1) { (tier_label(*t)) ": done on time" } td class="num" { (pct(*tier_tally)) } }
                    }
                }
                tfoot { tr class="total" { th scope="row" colspan=(days.len() + 1) { (cfg.plant.name) ": done on time" } td class="num" { (pct(plant)) } } }
            }
            }
        }
    };
    page_response(&state, "Leader standard work — Gemba", body)
}

/// `/me`: the logged-in leader's page; without a login (or a leader with that login), the list
/// of leaders to pick from.
pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let who = match Viewer::of(&state, &headers) {
        Viewer::Writer { who, .. } => Some(who),
        _ => None,
    };
    let st = state.clone();
    let leaders = blocking(move || Ok(st.with_store(|s| s.leaders())?)).await?;
    if let Some(l) = who
        .as_deref()
        .and_then(|w| leaders.iter().find(|l| l.login.as_deref() == Some(w)))
    {
        return Ok(Redirect::to(&format!("/lsw?person={}", l.id)).into_response());
    }
    let body = html! {
        h1 { "My standard work" }
        p class="note" {
            @if state.config().auth.is_some() {
                "Your login is not linked to a leader: ask whoever sets up "
                a href="/lsw/setup" { "leaders and routines" } " to enter it as the leader's login. Meanwhile, pick your name:"
            } @else {
                "Pick your name (with logins configured, /me opens your own page):"
            }
        }
        ul class="lsw-people" {
            @for l in leaders.iter().filter(|l| l.active) {
                li { a href=(format!("/lsw?person={}", l.id)) { (l.name) } " — " (l.role) ", " (board_name(&l.board)) }
            }
        }
    };
    page_response(&state, "My standard work — Gemba", body)
}

/// One leader's routines of today and this week, with a form to record each done.
async fn person_page(state: &AppState, headers: &HeaderMap, id: i64) -> Result<Response, AppError> {
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let monday = week_start(today);
    let (from, to) = day_range(tz, monday, monday + Duration::days(6));
    let st = state.clone();
    let chart = blocking(move || read_chart(&st, from, to, now)).await?;
    let Some(leader) = chart.leader(id).cloned() else {
        return Err(AppError {
            status: StatusCode::NOT_FOUND,
            message: format!("no leader {id}"),
        });
    };
    let viewer = Viewer::of(state, headers);
    let csrf = viewer.csrf().map(str::to_string);
    let rows: Vec<&(Routine, Vec<Occurrence>)> = chart
        .rows
        .iter()
        .filter(|(r, _)| r.leader_id == id)
        .collect();
    let ret = format!("/lsw?person={id}");
    // Today's: due today, or still open from earlier this week.
    let mut todays: Vec<(&Routine, &Occurrence)> = Vec::new();
    let mut week: Vec<(&Routine, &Occurrence)> = Vec::new();
    for (r, occ) in &rows {
        for o in occ {
            let day = o.due.with_timezone(&tz).date_naive();
            if day == today
                || (day < today && matches!(o.standing, Standing::Open | Standing::Overdue))
            {
                todays.push((r, o));
            } else {
                week.push((r, o));
            }
        }
    }
    todays.sort_by_key(|(_, o)| o.due);
    week.sort_by_key(|(_, o)| o.due);
    let tally = rows
        .iter()
        .fold(Tally::default(), |a, (_, o)| a + Tally::of(o));
    let body = html! {
        h1 { (leader.name) }
        p class="note" { (leader.role) ", " (board_name(&leader.board)) ". This week so far: " (tally.on_time) " on time, " (tally.late) " late, " (tally.missed) " missed (" (pct(tally)) " on time). " a href="/lsw" { "The standard-work board" } }
        h2 { "Today, " (today.format("%A %-d %B").to_string()) }
        @if todays.is_empty() { p class="empty" { "Nothing due today." } }
        @for (r, o) in &todays {
            (occurrence_card(cfg, r, o, csrf.as_deref(), &ret, chart.last_done.get(&r.id)))
        }
        h2 { "This week" }
        @if week.is_empty() { p class="empty" { "Nothing else due this week." } }
        ul class="lsw-week" {
            @for (r, o) in &week {
                li class={"lsw-cell " (o.standing.as_str())} {
                    span class="sign" aria-hidden="true" { (o.standing.sign()) } " "
                    (o.due.with_timezone(&tz).format("%a %H:%M").to_string()) " "
                    a href=(format!("/lsw/routines/{}", r.id)) { (r.title) } ": " (o.standing.label())
                    @if let Some(t) = o.done_at { " (done " (t.with_timezone(&tz).format("%a %H:%M").to_string()) ")" }
                }
            }
        }
        @if csrf.is_none() { p class="note" { a href=(format!("/login?return={}", urlencode(&ret))) { "Log in" } " to record routines done." } }
    };
    page_response(
        state,
        &format!("{} — standard work — Gemba", leader.name),
        body,
    )
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Today's occurrence of a routine: where it stands, and the form that records it done.
fn occurrence_card(
    cfg: &Config,
    r: &Routine,
    o: &Occurrence,
    csrf: Option<&str>,
    ret: &str,
    last: Option<&Completion>,
) -> Markup {
    let tz = cfg.plant.tz;
    let kind = RoutineKind::parse(&r.kind).unwrap_or(RoutineKind::Checklist);
    let until = o.due + Duration::hours(r.window_hours.into());
    html! {
        section class={"lsw-card lsw-cell " (o.standing.as_str())} data-routine=(r.id) {
            h3 {
                span class="sign" aria-hidden="true" { (o.standing.sign()) } " "
                a href=(format!("/lsw/routines/{}", r.id)) { (r.title) }
            }
            p class="meta" {
                (kind.label()) ", " (board_name(&r.board)) ". Due " (o.due.with_timezone(&tz).format("%a %H:%M").to_string())
                ", on time until " (until.with_timezone(&tz).format("%a %H:%M").to_string()) ": "
                strong { (o.standing.label()) }
                @if let Some(t) = o.done_at { " (done " (t.with_timezone(&tz).format("%H:%M").to_string()) ")" }
            }
            @if kind == RoutineKind::BoardReview && o.done_at.is_none() {
                p class="note" { "Done when you end a huddle on " (board_name(&r.board)) " with your name among those present, or record it here." }
            }
            @if let (Some(c), Some(_)) = (last, o.done_at) { @if !c.note.is_empty() { p class="note" { "Note: " (c.note) } } }
            @if let (Some(token), true) = (csrf, o.done_at.is_none() && o.standing.can_be_done()) {
                form method="post" action=(format!("/lsw/routines/{}/done", r.id)) class="lsw-done" {
                    (csrf_field(token))
                    input type="hidden" name="return" value=(ret);
                    @if !r.items.is_empty() {
                        ol class="lsw-items" {
                            @for (i, item) in r.items.iter().enumerate() {
                                li {
                                    @if kind == RoutineKind::Audit {
                                        fieldset {
                                            legend { (item) }
                                            label { input type="radio" name=(format!("ok.{i}")) value="pass" checked; " pass" }
                                            label { input type="radio" name=(format!("ok.{i}")) value="fail"; " fail" }
                                            label { input type="checkbox" name=(format!("raise.{i}")) value="1"; " raise an action if failed" }
                                            input type="text" name=(format!("note.{i}")) maxlength="1000" placeholder="note" aria-label=(format!("note on {item}"));
                                        }
                                    } @else {
                                        label { input type="checkbox" name=(format!("ok.{i}")) value="pass"; " " (item) }
                                        input type="text" name=(format!("note.{i}")) maxlength="1000" placeholder="note" aria-label=(format!("note on {item}"));
                                    }
                                }
                            }
                        }
                    }
                    label { "Note " input type="text" name="note" maxlength="1000"; }
                    button type="submit" { "Done" }
                }
            }
        }
    }
}

/// The answers of a completion form: `ok.N` (`pass`/`fail`, a tick), `note.N`, `raise.N`.
fn answers_of(fields: &FormFields, items: usize) -> Result<Vec<ItemAnswer>, AppError> {
    let mut out = vec![ItemAnswer::default(); items];
    for (k, v) in fields {
        let Some((name, i)) = k.split_once('.') else {
            continue;
        };
        let Ok(i) = i.parse::<usize>() else {
            return Err(AppError::bad_request(format!(
                "items: `{k}` is not a field of this form"
            )));
        };
        let Some(a) = out.get_mut(i) else {
            return Err(AppError::bad_request(format!(
                "items: `{k}`: the routine has {items} items"
            )));
        };
        match name {
            "ok" => {
                a.ok = match v.as_str() {
                    "pass" | "on" | "1" | "true" => true,
                    "fail" | "" | "0" | "false" => false,
                    other => {
                        return Err(AppError::bad_request(format!(
                            "{k}: `{other}` is not pass or fail"
                        )));
                    }
                }
            }
            "note" => a.note = v.clone(),
            "raise" => a.raise = !v.is_empty() && v != "0",
            _ => {}
        }
    }
    Ok(out)
}

/// `POST /lsw/routines/ID/done`: records a routine done from the leader's page.
pub async fn done_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, fields) = form_writer(&state, &headers, &body)?;
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let id = id_of("a routine", &id)?;
    let (note, ret) = (get("note"), get("return"));
    let st = state.clone();
    let routine = blocking(move || {
        st.with_store(|s| {
            let r = s.routine(id)?.ok_or(LswError::NoSuchRoutine(id))?;
            // A failed audit item raising an action only counts when it failed: a ticked box
            // of a passed item is ignored rather than refused on the phone.
            let mut answers = answers_of(&fields, r.items.len())?;
            for a in &mut answers {
                a.raise &= !a.ok;
            }
            Standard {
                store: s,
                cfg: st.config(),
                who: &who,
                now: Utc::now(),
            }
            .complete(id, &answers, &note)
            .map_err(AppError::from)?;
            Ok::<_, AppError>(r)
        })
    })
    .await?;
    state.wrote();
    Ok(
        Redirect::to(local_path(&ret).unwrap_or(&format!("/lsw/routines/{}", routine.id)))
            .into_response(),
    )
}

/// `/lsw/setup`: the leaders and their routines, with forms to add and change them.
pub async fn setup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    let (leaders, routines, routes) = blocking(move || {
        Ok(st.with_store(|s| {
            Ok::<_, crate::store::StoreError>((s.leaders()?, s.routines()?, s.routes()?))
        })?)
    })
    .await?;
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let boards = board_options(cfg);
    let body = html! {
        h1 { "Leaders and routines" }
        p class="note" { "Who leads which board, and the routines of their standard work. See " a href="/lsw" { "the standard-work board" } "." }
        @if leaders.is_empty() { p class="empty" { "No leaders yet: add the first below." } }
        @for l in &leaders {
            section class="lsw-leader" data-leader=(l.id) {
                h2 { a href=(format!("/lsw?person={}", l.id)) { (l.name) } " — " (l.role) ", " (board_name(&l.board)) @if !l.active { " (inactive)" } }
                ul {
                    @for r in routines.iter().filter(|r| r.leader_id == l.id) {
                        li { a href=(format!("/lsw/routines/{}", r.id)) { (r.title) } " — " (RoutineKind::parse(&r.kind).map_or("", |k| k.label())) ", " (board_name(&r.board)) ", " code { (r.cadence) } @if !r.active { " (paused)" } }
                    }
                }
                @if let Some(token) = &csrf {
                    details { summary { "Change " (l.name) }
                        (leader_form(&boards, Some(l), token))
                    }
                }
            }
        }
        @if let Some(token) = &csrf {
            h2 { "Add a leader" }
            (leader_form(&boards, None, token))
            @if !leaders.is_empty() {
                h2 { "Add a routine" }
                (routine_form(&boards, &leaders, &routes, None, token))
            }
        } @else {
            p class="note" { a href="/login?return=%2Flsw%2Fsetup" { "Log in" } " to add or change leaders and routines." }
        }
    };
    page_response(&state, "Leaders and routines — Gemba", body)
}

/// Every board of the config, as (key, name).
fn board_options(cfg: &Config) -> Vec<(String, String)> {
    crate::safety::all_boards(cfg)
        .iter()
        .map(|s| (s.key(), board_name(&s.key())))
        .collect()
}

fn board_select(boards: &[(String, String)], current: Option<&str>) -> Markup {
    html! {
        select name="board" {
            @for (k, n) in boards { option value=(k) selected[current == Some(k.as_str())] { (n) } }
        }
    }
}

fn leader_form(boards: &[(String, String)], l: Option<&Leader>, token: &str) -> Markup {
    let action = l.map_or("/lsw/leaders".to_string(), |l| {
        format!("/lsw/leaders/{}", l.id)
    });
    html! {
        form method="post" action=(action) class="lsw-form" {
            (csrf_field(token))
            label { "Name " input type="text" name="name" required maxlength="80" value=(l.map_or("", |l| l.name.as_str())); }
            label { "Role " input type="text" name="role" required maxlength="80" placeholder="Maintenance supervisor" value=(l.map_or("", |l| l.role.as_str())); }
            label { "Board they lead " (board_select(boards, l.map(|l| l.board.as_str()))) }
            label { "Login (a user of [auth], optional) " input type="text" name="login" maxlength="80" value=(l.and_then(|l| l.login.as_deref()).unwrap_or("")); }
            label { input type="checkbox" name="active" value="1" checked[l.is_none_or(|l| l.active)]; " active" }
            button type="submit" { @if l.is_some() { "Save" } @else { "Add leader" } }
        }
    }
}

fn routine_form(
    boards: &[(String, String)],
    leaders: &[Leader],
    routes: &[Route],
    r: Option<&Routine>,
    token: &str,
) -> Markup {
    let action = r.map_or("/lsw/routines".to_string(), |r| {
        format!("/lsw/routines/{}", r.id)
    });
    let kind = r.map_or("checklist", |r| r.kind.as_str());
    html! {
        form method="post" action=(action) class="lsw-form" {
            (csrf_field(token))
            label { "Title " input type="text" name="title" required maxlength="200" placeholder="Daily tier-1 board review" value=(r.map_or("", |r| r.title.as_str())); }
            label { "Owner " select name="leader" {
                @for l in leaders { option value=(l.id) selected[r.is_some_and(|r| r.leader_id == l.id)] { (l.name) } }
            } }
            label { "Kind " select name="kind" {
                @for k in RoutineKind::ALL { option value=(k.as_str()) selected[k.as_str() == kind] { (k.label()) } }
            } }
            label { "Board " (board_select(boards, r.map(|r| r.board.as_str()))) }
            label { "Cadence (crontab, plant time) " input type="text" name="cadence" required placeholder="0 7 * * Mon-Fri" value=(r.map_or("", |r| r.cadence.as_str())); }
            label { "On time within (hours) " input type="number" name="window_hours" min="1" max="744" required value=(r.map_or(2, |r| r.window_hours)); }
            label { "Grace (hours) " input type="number" name="grace_hours" min="0" max="744" required value=(r.map_or(4, |r| r.grace_hours)); }
            label { "Items, one a line (a checklist's or audit's) " textarea name="items" rows="5" { (r.map_or(String::new(), |r| r.items.join("\n"))) } }
            label { "Route (a gemba walk's) " select name="route" {
                option value="" { "—" }
                @for w in routes { option value=(w.id) selected[r.is_some_and(|r| r.route_id == Some(w.id))] { (w.title) } }
            } }
            label { input type="checkbox" name="active" value="1" checked[r.is_none_or(|r| r.active)]; " active (a paused routine is not due)" }
            button type="submit" { @if r.is_some() { "Save" } @else { "Add routine" } }
        }
    }
}

fn leader_draft(f: &FormFields) -> LeaderDraft {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    LeaderDraft {
        name: g("name"),
        role: g("role"),
        board: g("board"),
        login: g("login"),
        active: f.get("active").is_some_and(|v| !v.is_empty() && v != "0"),
    }
}

fn routine_draft(f: &FormFields) -> RoutineDraft {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    RoutineDraft {
        leader: g("leader"),
        title: g("title"),
        kind: g("kind"),
        board: g("board"),
        cadence: g("cadence"),
        window_hours: g("window_hours"),
        grace_hours: g("grace_hours"),
        items: g("items"),
        active: f.get("active").is_some_and(|v| !v.is_empty() && v != "0"),
        route: g("route"),
    }
}

/// Saves a leader (`Some(id)` changes one) as `who`.
fn save_leader(
    state: &AppState,
    who: &str,
    id: Option<i64>,
    d: &LeaderDraft,
) -> Result<i64, AppError> {
    state.with_store(|s| {
        Standard {
            store: s,
            cfg: state.config(),
            who,
            now: Utc::now(),
        }
        .save_leader(id, d)
        .map_err(|e| match e {
            LswError::NoSuchLeader(_) if id.is_some() => AppError {
                status: StatusCode::NOT_FOUND,
                message: e.to_string(),
            },
            e => e.into(),
        })
    })
}

fn save_routine(
    state: &AppState,
    who: &str,
    id: Option<i64>,
    d: &RoutineDraft,
) -> Result<i64, AppError> {
    state.with_store(|s| {
        Standard {
            store: s,
            cfg: state.config(),
            who,
            now: Utc::now(),
        }
        .save_routine(id, d)
        .map_err(AppError::from)
    })
}

/// `POST /lsw/leaders` and `POST /lsw/leaders/ID`.
pub async fn leader_form_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Option<Path<String>>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let id = id.map(|Path(p)| id_of("a leader", &p)).transpose()?;
    let st = state.clone();
    let d = leader_draft(&f);
    blocking(move || save_leader(&st, &who, id, &d)).await?;
    state.wrote();
    Ok(Redirect::to("/lsw/setup").into_response())
}

/// `POST /lsw/routines` and `POST /lsw/routines/ID`.
pub async fn routine_form_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Option<Path<String>>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let id = id.map(|Path(p)| id_of("a routine", &p)).transpose()?;
    let st = state.clone();
    let d = routine_draft(&f);
    let saved = blocking(move || save_routine(&st, &who, id, &d)).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/lsw/routines/{saved}")).into_response())
}

/// `/lsw/routines/ID`: a routine, its last eight weeks, its history and its form.
pub async fn routine_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("a routine", &id)?;
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let (from, to) = day_range(tz, today - Duration::days(55), today + Duration::days(7));
    let st = state.clone();
    let (chart, history, routes) = blocking(move || {
        let chart = read_chart(&st, from, to, now)?;
        let (history, routes) = st.with_store(|s| {
            Ok::<_, crate::store::StoreError>((
                s.lsw_history(&format!("routine:{id}"))?,
                s.routes()?,
            ))
        })?;
        Ok((chart, history, routes))
    })
    .await?;
    let Some((r, occ)) = chart.rows.iter().find(|(r, _)| r.id == id) else {
        return Err(LswError::NoSuchRoutine(id).into());
    };
    let owner = chart.leader(r.leader_id);
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let boards = board_options(cfg);
    let kind = RoutineKind::parse(&r.kind).map_or("", |k| k.label());
    let done: Vec<&Occurrence> = occ
        .iter()
        .filter(|o| o.standing != Standing::Upcoming)
        .collect();
    let body = html! {
        h1 { (r.title) }
        p class="meta" {
            (kind) " of " @if let Some(l) = owner { a href=(format!("/lsw?person={}", l.id)) { (l.name) } } ", on " (board_name(&r.board))
            ". Due " code { (r.cadence) } " (plant time), on time within " (r.window_hours) " h, late within " (r.grace_hours) " h more."
            @if !r.active { " Paused." }
        }
        @if !r.items.is_empty() { ol { @for i in &r.items { li { (i) } } } }
        h2 { "The last eight weeks" }
        p { "Done on time: " (pct(Tally::of(occ))) }
        (legend())
        ul class="lsw-week" {
            @for o in done.iter().rev() {
                li class={"lsw-cell " (o.standing.as_str())} {
                    span class="sign" aria-hidden="true" { (o.standing.sign()) } " "
                    (o.due.with_timezone(&tz).format("%a %-d %b %H:%M").to_string()) ": " (o.standing.label())
                    @if let Some(t) = o.done_at { " (done " (fmt_time(cfg, Some(t))) ")" }
                }
            }
        }
        h2 { "History" }
        (history_list(cfg, &history))
        @if let Some(token) = &csrf {
            h2 { "Change" }
            (routine_form(&boards, &chart.leaders, &routes, Some(r), token))
        }
    };
    page_response(&state, &format!("{} — Gemba", r.title), body)
}

// ---- The JSON API ----

/// A routine's occurrences in the range and where each stands now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RoutineStanding {
    pub routine: Routine,
    pub leader: String,
    pub tier: u8,
    pub tally: Tally,
    /// Done on time over closed occurrences (on time, late, missed), in %; null when none.
    pub on_time_pct: Option<f64>,
    pub occurrences: Vec<Occurrence>,
}

/// The standard-work chart of a range.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LswBody {
    /// YYYY-MM-DD, plant time, inclusive.
    pub from: String,
    pub to: String,
    pub routines: Vec<RoutineStanding>,
    /// Per tier (1 crews, 2 areas, 3 site and plant), and for the plant.
    pub tiers: Vec<TierTally>,
    pub plant: Tally,
    pub plant_on_time_pct: Option<f64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TierTally {
    pub tier: u8,
    pub tally: Tally,
    pub on_time_pct: Option<f64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LswParams {
    /// First day, YYYY-MM-DD plant time (default: this week's Monday).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: six days after `from`); at most 366 days after it.
    #[param(format = Date)]
    pub to: Option<String>,
    /// Only this leader's routines (a leader's number).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub person: Option<String>,
}

/// Every routine's occurrences in a range of days, where each stands now, and the share done on
/// time per routine, tier and plant (docs/lsw.md).
#[utoipa::path(get, path = "/api/v1/lsw", params(LswParams), responses(
    (status = 200, description = "The standard-work chart", body = LswBody),
    (status = 400, description = "A bad date or range", body = ErrorBody),
    (status = 422, description = "`to` before `from`, or more than 366 days after it", body = ErrorBody),
))]
pub async fn api_chart(
    State(state): State<AppState>,
    Query(p): Query<LswParams>,
) -> Result<Json<LswBody>, ApiError> {
    let tz = state.config().plant.tz;
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let from = match p.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(f) => parse_date("from", f)?,
        None => week_start(today),
    };
    let to = match p.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(t) => parse_date("to", t)?,
        None => from + Duration::days(6),
    };
    if to < from || (to - from).num_days() > 366 {
        return Err(AppError::unprocessable(format!(
            "to: {to} must be on or after from ({from}) and at most 366 days after it"
        ))
        .into());
    }
    let person = match p.person.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(v) => Some(
            id_of("a leader", v)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    AppError::bad_request(format!("person: `{v}` is not a leader number"))
                })?,
        ),
        None => None,
    };
    let (start, end) = day_range(tz, from, to);
    let st = state.clone();
    let chart = blocking(move || read_chart(&st, start, end, now)).await?;
    let mut tiers: Vec<TierTally> = [1u8, 2, 3]
        .into_iter()
        .map(|t| TierTally {
            tier: t,
            tally: Tally::default(),
            on_time_pct: None,
        })
        .collect();
    let mut routines = Vec::new();
    for (r, occ) in &chart.rows {
        let Some(l) = chart.leader(r.leader_id) else {
            continue;
        };
        if person.is_some_and(|id| id != l.id) {
            continue;
        }
        let t = tier(&l.board);
        let tally = Tally::of(occ);
        let slot = &mut tiers[usize::from(t - 1)];
        slot.tally = slot.tally + tally;
        routines.push(RoutineStanding {
            routine: r.clone(),
            leader: l.name.clone(),
            tier: t,
            on_time_pct: tally.on_time_pct(),
            tally,
            occurrences: occ.clone(),
        });
    }
    let plant = tiers.iter().fold(Tally::default(), |a, t| a + t.tally);
    for t in &mut tiers {
        t.on_time_pct = t.tally.on_time_pct();
    }
    Ok(Json(LswBody {
        from: from.to_string(),
        to: to.to_string(),
        routines,
        tiers,
        plant_on_time_pct: plant.on_time_pct(),
        plant,
    }))
}

/// Every leader, by name.
#[utoipa::path(get, path = "/api/v1/leaders", responses(
    (status = 200, description = "The leaders", body = Vec<Leader>),
))]
pub async fn api_leaders(State(state): State<AppState>) -> Result<Json<Vec<Leader>>, ApiError> {
    let st = state.clone();
    Ok(Json(
        blocking(move || Ok(st.with_store(|s| s.leaders())?)).await?,
    ))
}

/// Every routine, by id.
#[utoipa::path(get, path = "/api/v1/routines", responses(
    (status = 200, description = "The routines", body = Vec<Routine>),
))]
pub async fn api_routines(State(state): State<AppState>) -> Result<Json<Vec<Routine>>, ApiError> {
    let st = state.clone();
    Ok(Json(
        blocking(move || Ok(st.with_store(|s| s.routines())?)).await?,
    ))
}

/// A text field of a JSON body, as the form's text; absent or null is empty.
fn json_text(v: &serde_json::Value, k: &str) -> Result<String, AppError> {
    match v.get(k) {
        None | Some(serde_json::Value::Null) => Ok(String::new()),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(AppError::bad_request(format!(
            "{k}: `{other}` must be a string"
        ))),
    }
}

/// A number field of a JSON body (a leader's number, hours), as the form's text.
fn json_number(v: &serde_json::Value, k: &str) -> Result<String, AppError> {
    match v.get(k) {
        None | Some(serde_json::Value::Null) => Ok(String::new()),
        Some(serde_json::Value::Number(n)) => {
            Ok(whole_number(n).map_or(n.to_string(), |w| w.to_string()))
        }
        Some(other) => Err(AppError::bad_request(format!(
            "{k}: `{other}` must be a number"
        ))),
    }
}

fn json_bool(v: &serde_json::Value, k: &str) -> Result<bool, AppError> {
    match v.get(k) {
        None | Some(serde_json::Value::Null) => Ok(true),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(other) => Err(AppError::bad_request(format!(
            "{k}: `{other}` must be true or false"
        ))),
    }
}

/// A request body that must be a JSON object.
fn json_body(body: JsonBody) -> Result<serde_json::Value, AppError> {
    let v = json_value(body)?;
    if !v.is_object() {
        return Err(AppError::bad_request("the body must be a JSON object"));
    }
    Ok(v)
}

/// Adds (`id` `None`, 201) or changes (200) a leader or a routine through the API: who may write
/// first, then the body read as the form's draft, saved by the same rules, and read back.
async fn api_save<D: Send + 'static, T: Send + 'static>(
    state: AppState,
    headers: HeaderMap,
    id: Option<i64>,
    body: JsonBody,
    draft: fn(&serde_json::Value) -> Result<D, AppError>,
    save: fn(&AppState, &str, Option<i64>, &D) -> Result<i64, AppError>,
    read: fn(&mut crate::store::Store, i64) -> Result<Option<T>, crate::store::StoreError>,
) -> Result<(StatusCode, Json<T>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let d = draft(&json_body(body)?)?;
    let st = state.clone();
    let saved = blocking(move || {
        let id = save(&st, &who, id, &d)?;
        st.with_store(|s| read(s, id))?
            .ok_or_else(|| AppError::internal(format!("{id} was saved but is not there")))
    })
    .await?;
    state.wrote();
    let status = if id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(saved)))
}

fn leader_by_id(
    s: &mut crate::store::Store,
    id: i64,
) -> Result<Option<Leader>, crate::store::StoreError> {
    Ok(s.leaders()?.into_iter().find(|l| l.id == id))
}

/// A leader to add or change.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LeaderBody {
    /// Up to 80 characters, unique.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub name: String,
    /// Up to 80 characters, e.g. Maintenance supervisor.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub role: String,
    /// A board key: plant, site:NAME, area:NAME or crew:NAME.
    pub board: String,
    /// A user of `[auth]`.
    #[serde(default)]
    pub login: Option<String>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

fn leader_of_json(v: &serde_json::Value) -> Result<LeaderDraft, AppError> {
    Ok(LeaderDraft {
        name: json_text(v, "name")?,
        role: json_text(v, "role")?,
        board: json_text(v, "board")?,
        login: json_text(v, "login")?,
        active: json_bool(v, "active")?,
    })
}

/// Adds a leader.
#[utoipa::path(post, path = "/api/v1/leaders", request_body = LeaderBody, responses(
    (status = 201, description = "Added", body = Leader),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 409, description = "A leader of that name exists", body = ErrorBody),
))]
pub async fn api_leader_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<Leader>), ApiError> {
    api_save(
        state,
        headers,
        None,
        body,
        leader_of_json,
        save_leader,
        leader_by_id,
    )
    .await
}

/// Changes a leader (every field, as when adding).
#[utoipa::path(post, path = "/api/v1/leaders/{id}", request_body = LeaderBody,
    params(("id" = i64, Path, description = "The leader's number")),
    responses(
    (status = 200, description = "Changed", body = Leader),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such leader", body = ErrorBody),
    (status = 409, description = "A leader of that name exists", body = ErrorBody),
))]
pub async fn api_leader_edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Leader>), ApiError> {
    let id = id_of("a leader", &id)?;
    api_save(
        state,
        headers,
        Some(id),
        body,
        leader_of_json,
        save_leader,
        leader_by_id,
    )
    .await
}

/// A routine to add or change.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoutineBody {
    /// The owner: a leader's number.
    pub leader: i64,
    /// Up to 200 characters.
    pub title: String,
    pub kind: RoutineKind,
    /// A board key: plant, site:NAME, area:NAME or crew:NAME.
    pub board: String,
    /// A crontab line in plant time (5 fields), due at most 4 times a day.
    pub cadence: String,
    #[schema(minimum = 1, maximum = 744)]
    pub window_hours: u32,
    #[schema(minimum = 0, maximum = 744)]
    pub grace_hours: u32,
    /// A checklist's or audit's items (1 to 30; none for a board review).
    #[serde(default)]
    pub items: Vec<String>,
    /// Default true; a paused routine is not due.
    #[serde(default)]
    pub active: Option<bool>,
    /// A gemba walk's route (`/api/v1/walk-routes`); required for that kind.
    #[serde(default)]
    pub route: Option<i64>,
}

fn routine_of_json(v: &serde_json::Value) -> Result<RoutineDraft, AppError> {
    let items = match v.get("items") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::Array(a)) => {
            let mut lines = Vec::with_capacity(a.len());
            for i in a {
                match i {
                    serde_json::Value::String(s) if !s.contains('\n') => lines.push(s.clone()),
                    other => {
                        return Err(AppError::unprocessable(format!(
                            "items: `{other}` must be one line of text"
                        )));
                    }
                }
            }
            lines.join("\n")
        }
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "items: `{other}` must be a list of text"
            )));
        }
    };
    Ok(RoutineDraft {
        leader: json_number(v, "leader")?,
        title: json_text(v, "title")?,
        kind: json_text(v, "kind")?,
        board: json_text(v, "board")?,
        cadence: json_text(v, "cadence")?,
        window_hours: json_number(v, "window_hours")?,
        grace_hours: json_number(v, "grace_hours")?,
        items,
        active: json_bool(v, "active")?,
        route: json_number(v, "route")?,
    })
}

/// Adds a routine.
#[utoipa::path(post, path = "/api/v1/routines", request_body = RoutineBody, responses(
    (status = 201, description = "Added", body = Routine),
    (status = 400, description = "A missing or bad field, named (cadence, window_hours, ...)", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
))]
pub async fn api_routine_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<Routine>), ApiError> {
    api_save(
        state,
        headers,
        None,
        body,
        routine_of_json,
        save_routine,
        |s, id| s.routine(id),
    )
    .await
}

/// Changes a routine (every field, as when adding).
#[utoipa::path(post, path = "/api/v1/routines/{id}", request_body = RoutineBody,
    params(("id" = i64, Path, description = "The routine's number")),
    responses(
    (status = 200, description = "Changed", body = Routine),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such routine", body = ErrorBody),
))]
pub async fn api_routine_edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Routine>), ApiError> {
    let id = id_of("a routine", &id)?;
    api_save(
        state,
        headers,
        Some(id),
        body,
        routine_of_json,
        save_routine,
        |s, id| s.routine(id),
    )
    .await
}

/// One item's answer when recording a routine done.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ItemAnswerBody {
    /// Ticked (checklist) or passed (audit).
    pub ok: bool,
    #[serde(default)]
    pub note: String,
    /// Raise an action on the routine's board for this failed audit item.
    #[serde(default)]
    pub raise: bool,
}

/// A routine recorded done now.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CompletionBody {
    /// Up to 1000 characters.
    #[serde(default)]
    pub note: String,
    /// One answer per item of the routine, in order; missing ones are not ticked.
    #[serde(default)]
    pub items: Vec<ItemAnswerBody>,
}

/// Records a routine done now (a failed audit item with `raise` becomes an action).
#[utoipa::path(post, path = "/api/v1/routines/{id}/completions", request_body = CompletionBody,
    params(("id" = i64, Path, description = "The routine's number")),
    responses(
    (status = 201, description = "Recorded", body = Completion),
    (status = 400, description = "A bad answer or note, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such routine", body = ErrorBody),
))]
pub async fn api_complete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Completion>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let id = id_of("a routine", &id)?;
    let v = json_body(body)?;
    let b: CompletionBody =
        serde_json::from_value(v).map_err(|e| AppError::bad_request(format!("the body: {e}")))?;
    let answers: Vec<ItemAnswer> = b
        .items
        .into_iter()
        .map(|a| ItemAnswer {
            ok: a.ok,
            note: a.note,
            raise: a.raise,
        })
        .collect();
    let st = state.clone();
    let c = blocking(move || {
        let now = Utc::now();
        let done = st.with_store(|s| {
            Standard {
                store: s,
                cfg: st.config(),
                who: &who,
                now,
            }
            .complete(id, &answers, &b.note)
        })?;
        st.with_store(|s| s.completions(now, now + Duration::milliseconds(1)))?
            .into_iter()
            .find(|c| c.id == done)
            .ok_or_else(|| {
                AppError::internal(format!("completion {done} was saved but is not there"))
            })
    })
    .await?;
    state.wrote();
    Ok((StatusCode::CREATED, Json(c)))
}

/// Monday of the week of `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    #[test]
    fn form_answers_are_read_by_item_and_bad_ones_are_named() {
        let f = |pairs: &[(&str, &str)]| -> FormFields {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let a = answers_of(
            &f(&[
                ("ok.0", "pass"),
                ("ok.1", "fail"),
                ("note.1", "loose"),
                ("raise.1", "1"),
            ]),
            3,
        )
        .unwrap();
        assert!(a[0].ok && !a[1].ok && !a[2].ok);
        assert_eq!(a[1].note, "loose");
        assert!(a[1].raise && !a[0].raise);
        let e = answers_of(&f(&[("ok.5", "pass")]), 2).unwrap_err().message;
        assert!(e.contains("ok.5") && e.contains("2 items"), "{e}");
        let e = answers_of(&f(&[("ok.0", "maybe")]), 2).unwrap_err().message;
        assert!(e.contains("maybe"), "{e}");
        assert_eq!(
            week_start(NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()).weekday(),
            Weekday::Mon
        );
    }
}
