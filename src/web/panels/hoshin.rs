//! Strategy deployment that several pages show: an objective's months with plan, actual and
//! cell (the hoshin pages, the bowling chart, its API), and the plant's and sites' board row of
//! this month. The actuals are the trend's month ends (`Engine::month_end_values`), so they
//! equal `gemba trend` for the same metric, scope and dates.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Serialize;

use crate::hoshin::{Cell, GapNote, Objective, month_key, months};
use crate::metrics::{Engine, Scope};
use crate::store::Review;
use std::sync::Arc;

use crate::web::{AppError, AppState};

/// One month of an objective on the bowling chart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthCell {
    /// YYYY-MM.
    pub month: String,
    #[schema(value_type = String, format = Date)]
    pub month_end: NaiveDate,
    pub plan: Option<f64>,
    /// The KPI at the month's end (so far, for the current month).
    pub actual: Option<f64>,
    pub cell: Cell,
    pub gap: Option<GapNote>,
}

/// An objective's months: plan, actual (month ends up to today), cell and gap note.
pub fn months_of(e: &Engine, o: &Objective) -> Result<Vec<MonthCell>, AppError> {
    let cfg = e.config();
    let today = Utc::now().with_timezone(&cfg.plant.tz).date_naive();
    let ms = months(o.body.start, o.body.horizon);
    let scope = Scope::from_key(&o.board).unwrap_or_default();
    // The months that have ended, from one trend; the current month so far, on its own.
    let mut values = vec![None; ms.len()];
    let ended: Vec<(usize, NaiveDate)> = ms
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, m)| *m < today)
        .collect();
    let dates: Vec<NaiveDate> = ended.iter().map(|x| x.1).collect();
    for ((i, _), v) in ended
        .iter()
        .zip(e.month_end_values(&o.body.kpi, &scope, &dates)?)
    {
        values[*i] = v;
    }
    if let Some(i) = ms
        .iter()
        .position(|m| *m >= today && month_key(*m) == month_key(today))
    {
        values[i] = e.value(&o.body.kpi, None, &scope, today, cfg.metrics.window_days)?;
    }
    let band = crate::hoshin::band(cfg, &o.body.kpi);
    Ok(ms
        .iter()
        .zip(values)
        .map(|(m, actual)| {
            let plan = o.planned(*m);
            let key = month_key(*m);
            MonthCell {
                cell: plan.map_or(Cell::NoData, |p| {
                    crate::hoshin::judge(&o.body.kpi, band, *m, p, actual, today)
                }),
                gap: o.body.gaps.get(&key).cloned(),
                month: key,
                month_end: *m,
                plan,
                actual,
            }
        })
        .collect())
}

/// An objective's months are measured once per data version, change of the objective and day.
pub type MonthsKey = (i64, i64, i64, NaiveDate);

/// [`months_of`], shared: a board that shows an objective's row and the bowling chart measure
/// it once per data version (a month's actual is a pass over every order).
pub fn months_cached(state: &AppState, o: &Objective) -> Result<Arc<Vec<MonthCell>>, AppError> {
    let loaded = state.loaded();
    let today = Utc::now()
        .with_timezone(&state.config().plant.tz)
        .date_naive();
    let key = (loaded.version, o.id, o.updated_at.timestamp_millis(), today);
    state
        .objective_months()
        .try_get_with(key, || months_of(&loaded.engine, o).map(Arc::new))
        .map_err(|e| (*e).clone())
}

/// A figure of a KPI for people.
pub fn fmt(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// The plant's or a site's board: each of its objectives with this month's plan, the KPI so
/// far, last month's cell, and whether this month's review was held.
pub fn board_row(
    state: &AppState,
    board: &Scope,
    objectives: &[Objective],
    reviews: &[Review],
) -> Result<Option<Markup>, AppError> {
    let key = board.key();
    let mine: Vec<&Objective> = objectives.iter().filter(|o| o.board == key).collect();
    if mine.is_empty() {
        return Ok(None);
    }
    let today = Utc::now()
        .with_timezone(&state.config().plant.tz)
        .date_naive();
    let this_month = month_key(today);
    let last_month = month_key(today - Duration::days(i64::from(today.day())));
    let held = reviews
        .iter()
        .find(|r| r.board == key && r.month == this_month);
    let mut rows = Vec::new();
    for o in mine {
        let cells = months_cached(state, o)?;
        let now = cells.iter().find(|c| c.month == this_month);
        let last = cells.iter().find(|c| c.month == last_month);
        rows.push((o, now.cloned(), last.cloned()));
    }
    Ok(Some(html! {
        section class="panel hoshin-row" aria-label="Breakthrough objectives" {
            h2 { "Breakthrough objectives, " (this_month) " " a class="more" href="/hoshin/bowling" { "bowling chart" } }
            table class="hoshin-now" {
                thead { tr { th { "Objective" } th class="num" { "plan" } th class="num" { "so far" } th { (last_month) } } }
                tbody {
                    @for (o, now, last) in &rows {
                        tr {
                            th scope="row" { a href={"/hoshin/" (o.id)} { (o.title) } span class="sub" { " " (o.body.kpi) } }
                            td class="num" { (fmt(now.as_ref().and_then(|c| c.plan))) }
                            td class="num" { (fmt(now.as_ref().and_then(|c| c.actual))) }
                            td class={"cell " (last.as_ref().map_or("none", |c| c.cell.class()))} {
                                (last.as_ref().map_or("–", |c| c.cell.sign()))
                                @if let Some(c) = last { " " (fmt(c.actual)) " / " (fmt(c.plan)) }
                            }
                        }
                    }
                }
            }
            p class="note" {
                @match held {
                    Some(r) => { "Monthly review of " (this_month) " held on " (r.held_on) "." }
                    None => { "The monthly review of " (this_month) " has not been held yet: " a href="/hoshin/reviews" { "record it" } "." }
                }
            }
        }
    }))
}
