//! Improvement work that several pages show: an A3's follow-up measured from the orders (the
//! A3 pages, its API, the management system's A3 figures), the current condition an A3 freezes
//! when it starts, and a board's five bad actors (the area, site and plant boards). The rules
//! are `crate::a3` and `crate::assets`; this reads the store and the loaded engine.

use chrono::{Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Serialize;

use crate::a3::{self, A3, Verdict};
use crate::assets::{Bar, Measure, pareto_of_assets};
use crate::metrics::{Engine, Scope};
use crate::store::Action;
use crate::system::A3Fact;
use std::sync::Arc;

use crate::web::layout::{asset_href, scope_query};
use crate::web::{AppError, AppState};

/// The bad actors a board shows.
pub const TOP: usize = 5;

/// An A3's follow-up: the target metric before and after the countermeasures were in place.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FollowUp {
    /// Countermeasures, and those done.
    pub countermeasures: u32,
    pub countermeasures_done: u32,
    /// The day they were in place (by hand, or the day the last was done).
    #[schema(value_type = Option<String>, format = Date)]
    pub in_place_on: Option<NaiveDate>,
    /// The as-of days of the windows before and after.
    #[schema(value_type = Option<String>, format = Date)]
    pub before_as_of: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub after_as_of: Option<NaiveDate>,
    pub before: Option<f64>,
    /// The value over the after window (so far, while it is not over).
    pub after: Option<f64>,
    /// The value over the last window to today.
    pub now: Option<f64>,
    pub verdict: Verdict,
    /// Days from the start to the first day the follow-up could say met, when it is met.
    pub cycle_days: Option<i64>,
    /// The metric every 7 days around the windows (as-of day, value), with the same window.
    #[schema(value_type = Vec<(String, Option<f64>)>)]
    pub chart: Vec<(NaiveDate, Option<f64>)>,
}

/// The plant day an action was done (`system::done_at`: its last change, when it is done).
fn done_day(a: &Action, tz: chrono_tz::Tz) -> Option<NaiveDate> {
    crate::system::done_at(a).map(|t| t.with_timezone(&tz).date_naive())
}

/// The countermeasures' actions of an A3 (`None` for one that is gone).
pub fn countermeasure_actions(state: &AppState, a: &A3) -> Result<Vec<Option<Action>>, AppError> {
    Ok(state.with_store(|s| {
        a.body
            .countermeasures
            .iter()
            .map(|c| s.action(c.action))
            .collect::<Result<Vec<_>, _>>()
    })?)
}

/// The follow-up of an A3 with a target (`None` without one), measured by `e` today.
pub fn follow_up(
    e: &Engine,
    a: &A3,
    actions: &[Option<Action>],
    with_chart: bool,
) -> Result<Option<FollowUp>, AppError> {
    let Some(t) = &a.body.target else {
        return Ok(None);
    };
    let tz = e.config().plant.tz;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let done: Vec<Option<NaiveDate>> = actions
        .iter()
        .map(|x| x.as_ref().and_then(|x| done_day(x, tz)))
        .collect();
    let in_place_on = a3::in_place(a.body.in_place_on, &done);
    let scope = Scope::from_key(&t.scope).unwrap_or_default();
    let value = |d: NaiveDate| -> Result<Option<f64>, AppError> {
        Ok(e.value(&t.metric, t.asset.as_deref(), &scope, d, t.window_days)?)
    };
    let now = value(today)?;
    let started = a.created_at.with_timezone(&tz).date_naive();
    let (mut f, from, to) = match in_place_on {
        None => (
            FollowUp {
                countermeasures: actions.len() as u32,
                countermeasures_done: done.iter().flatten().count() as u32,
                in_place_on: None,
                before_as_of: None,
                after_as_of: None,
                before: None,
                after: None,
                now,
                verdict: Verdict::NotYet,
                cycle_days: None,
                chart: Vec::new(),
            },
            started - Duration::days(i64::from(t.window_days)),
            today,
        ),
        Some(d) => {
            let (b, af) = a3::windows(d, t.window_days);
            let after = value(af.min(today))?;
            let verdict = a3::verdict(t, af, after, today);
            (
                FollowUp {
                    countermeasures: actions.len() as u32,
                    countermeasures_done: done.iter().flatten().count() as u32,
                    in_place_on: Some(d),
                    before_as_of: Some(b),
                    after_as_of: Some(af),
                    before: value(b)?,
                    after,
                    now,
                    verdict,
                    cycle_days: a3::cycle_days(started, af, verdict),
                    chart: Vec::new(),
                },
                b - Duration::days(i64::from(t.window_days)),
                af.min(today),
            )
        }
    };
    if with_chart {
        let mut dates = Vec::new();
        let mut d = to;
        while d >= from && dates.len() < 60 {
            dates.push(d);
            d -= Duration::days(7);
        }
        dates.reverse();
        let values = e.values(&t.metric, t.asset.as_deref(), &scope, &dates, t.window_days)?;
        f.chart = dates.into_iter().zip(values).collect();
    }
    Ok(Some(f))
}

/// A follow-up is measured once per data version, change of the A3, change of its actions
/// (their newest change and how many are done), day, and with or without its chart.
pub type FollowUpKey = (i64, i64, i64, (i64, usize), NaiveDate, bool);

/// [`follow_up`], shared: the sheet, the list, the API and the management system's figures
/// (on the plant's and sites' boards) measure an A3 once per data version.
pub fn follow_up_cached(
    state: &AppState,
    a: &A3,
    actions: &[Option<Action>],
    with_chart: bool,
) -> Result<Option<FollowUp>, AppError> {
    let loaded = state.loaded();
    let today = Utc::now()
        .with_timezone(&state.config().plant.tz)
        .date_naive();
    let stamp = (
        actions
            .iter()
            .flatten()
            .map(|x| x.updated_at.timestamp_millis())
            .max()
            .unwrap_or(0),
        actions
            .iter()
            .flatten()
            .filter(|x| x.status == "done")
            .count(),
    );
    let key = (
        loaded.version,
        a.id,
        a.updated_at.timestamp_millis(),
        stamp,
        today,
        with_chart,
    );
    state
        .follow_ups()
        .try_get_with(key, || {
            follow_up(&loaded.engine, a, actions, with_chart).map(Arc::new)
        })
        .map(|f| f.as_ref().clone())
        .map_err(|e| (*e).clone())
}

/// Every A3 as the management system counts it.
pub fn facts(state: &AppState) -> Result<Vec<A3Fact>, AppError> {
    let all = state.with_store(|s| s.a3s())?;
    let mut out = Vec::with_capacity(all.len());
    for a in all {
        let actions = countermeasure_actions(state, &a)?;
        let f = follow_up_cached(state, &a, &actions, false)?;
        let met_on = f
            .as_ref()
            .filter(|f| f.verdict == Verdict::Met)
            .and_then(|f| f.after_as_of)
            .map(|d| d + Duration::days(1));
        out.push(A3Fact {
            board: a.board.clone(),
            started: a.created_at,
            closed_at: (a.stage == a3::Stage::Closed).then_some(a.updated_at),
            met_on,
            cycle_days: f.and_then(|f| f.cycle_days),
        });
    }
    Ok(out)
}

/// The five bad actors of a scope by reactive hours over the default window.
pub fn top_bad_actors(e: &Engine, scope: &Scope) -> Result<Vec<Bar>, AppError> {
    let r = e.assets(scope, None, None, None)?;
    let mut bars = pareto_of_assets(&r.assets, Measure::ReactiveHours);
    bars.truncate(TOP);
    Ok(bars)
}

/// A board's bad-actor panel: the five assets with the most reactive hours, each linked to its
/// page, and a link to start an A3 on it.
pub fn bad_actors_panel(scope: &Scope, window_days: u32, bars: &[Bar]) -> Markup {
    let q = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    html! {
        section class="panel bad-actors" aria-label="Bad actors" {
            h2 { "Bad actors" span class="sub" { " · reactive hours, " (window_days) " days" } }
            @if bars.is_empty() {
                p class="note" { "No reactive hours on an asset in the window." }
            } @else {
                ol {
                    @for b in bars {
                        li {
                            a href=(asset_href(&b.key)) { (b.label) }
                            " " span class="num" { (format!("{:.0} h", b.value)) }
                            " " span class="sub" { (format!("{:.0} % cum.", b.cumulative_pct)) }
                            " " a class="start-a3" href={"/a3?asset=" (q(&b.key)) "&board=" (q(&scope.key()))} { "A3" }
                        }
                    }
                }
            }
            p class="more" { a href={"/assets/pareto?" (scope_query(scope))} { "Pareto" } " · " a href={"/assets/health?" (scope_query(scope))} { "Asset health" } }
        }
    }
}

/// The label of a figure's value with its unit.
pub fn figure_text(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "—".into(),
        Some(v) if unit == "%" => format!("{v:.1} %"),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e9 => format!("{v:.0}{}", spaced(unit)),
        Some(v) => format!("{v:.1}{}", spaced(unit)),
    }
}

fn spaced(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}
