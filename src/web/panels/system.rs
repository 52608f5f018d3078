//! The health of the management system (docs/metrics.md, "The management system"): the
//! leading indicators of `crate::system` read and computed for the plant, each tier and each
//! board over a window and twelve weeks, and rendered as tiles and table rows against
//! `[targets]`. `/system` shows them all; the plant's and a site's boards show their tile row.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Serialize;

use super::leadership::Recorded;
use crate::actions::board_name;
use crate::config::{Config, Rag};
use crate::lsw::{Occurrence, day_range, tier, tier_label};
use crate::metrics::Scope;
use crate::metrics::orders::OrderQuery;
use crate::model::Kind;
use crate::store::{Action, ActionChange, Routine};
use crate::system::{Emergency, Health, Inputs, KEYS, health, label};
use crate::web::{AppError, AppState};

/// Weeks of the trend.
pub const TREND_WEEKS: i64 = 12;
/// The default window of the figures: four weeks.
pub const WINDOW_DAYS: u32 = 28;

/// A set of boards (the plant, a tier, a board) and its indicators.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthRow {
    /// `plant`, `tier:1` to `tier:3`, or a board key.
    pub key: String,
    pub label: String,
    pub health: Health,
}

/// One week of the trend: the plant's and each tier's indicators.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WeekHealth {
    /// The week's last day, YYYY-MM-DD.
    pub week_ending: String,
    pub plant: Health,
    /// Tiers 1, 2 and 3.
    pub tiers: Vec<Health>,
}

/// The lagging numbers of the plant beside the leading ones (docs/metrics.md).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Lagging {
    pub backlog_weeks: Option<f64>,
    pub reactive_pct: Option<f64>,
}

/// The management system's health.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SystemBody {
    /// YYYY-MM-DD: the window ends with this plant day.
    pub as_of: String,
    pub window_days: u32,
    pub plant: HealthRow,
    pub tiers: Vec<HealthRow>,
    pub boards: Vec<HealthRow>,
    /// The last twelve weeks, oldest first.
    pub weeks: Vec<WeekHealth>,
    pub lagging: Lagging,
}

/// The plant: every board, but its huddles are those of the crews' daily huddles (the tiers
/// above meet weekly), as docs/metrics.md says.
fn plant_health(
    i: &Inputs<'_>,
    boards: &[String],
    tier1: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Health {
    let mut h = health(i, boards, from, to);
    let crews = health(i, tier1, from, to);
    h.boards = crews.boards;
    h.huddles = crews.huddles;
    h.huddles_per_day = crews.huddles_per_day;
    h
}

/// What the indicators are computed from, read for a span of time.
struct Read {
    rec: Recorded,
    routines: Vec<(Routine, Vec<Occurrence>)>,
    actions: Vec<(Action, Vec<ActionChange>)>,
    emergencies: Arc<Vec<Emergency>>,
    today: NaiveDate,
    a3s: Vec<crate::system::A3Fact>,
}

impl Read {
    fn of(state: &AppState, span: DateTime<Utc>, end: DateTime<Utc>) -> Result<Read, AppError> {
        let tz = state.config().plant.tz;
        let now = Utc::now();
        let rec = Recorded::read(state, span, end)?;
        let routines = rec.chart(state, span, end, now)?;
        let due_from = span.with_timezone(&tz).date_naive();
        let actions = state.with_store(|s| s.actions_touched(span, due_from))?;
        let emergencies = emergencies_since(state, span)?;
        Ok(Read {
            rec,
            routines,
            actions,
            emergencies,
            today: now.with_timezone(&tz).date_naive(),
            a3s: super::improvement::facts(state)?,
        })
    }

    fn inputs(&self, tz: chrono_tz::Tz) -> Inputs<'_> {
        Inputs {
            tz,
            huddles: &self.rec.huddles,
            routines: &self.routines,
            walks: &self.rec.walks,
            actions: &self.actions,
            emergencies: &self.emergencies,
            today: self.today,
            a3s: &self.a3s,
        }
    }
}

/// The emergencies created since `span`, found once per data version: a board's page reads
/// its small parts again after every write, and finding them is a pass over every order.
fn emergencies_since(
    state: &AppState,
    span: DateTime<Utc>,
) -> Result<Arc<Vec<Emergency>>, AppError> {
    let loaded = state.loaded();
    state
        .emergencies()
        .try_get_with((loaded.version, span.timestamp_millis()), || {
            let found = loaded.engine.orders(&OrderQuery {
                kinds: vec![Kind::Emergency],
                created_since: Some(span),
                ..OrderQuery::default()
            })?;
            Ok::<_, AppError>(Arc::new(
                found
                    .orders
                    .into_iter()
                    .map(|o| Emergency {
                        created_at: o.created_at,
                        site: o.site,
                        area: o.area,
                        crew: o.crew,
                    })
                    .collect(),
            ))
        })
        .map_err(|e| (*e).clone())
}

/// The indicators of a board's tile row: the boards within it (a site's areas and crews, or the
/// whole plant) over the last four weeks.
pub fn board_health(state: &AppState, board: &Scope) -> Result<Health, AppError> {
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let (_, end) = day_range(tz, today, today);
    let start = end - Duration::days(i64::from(WINDOW_DAYS));
    let read = Read::of(state, start, end)?;
    let i = read.inputs(tz);
    let boards = crate::safety::boards_within(cfg, board);
    let tier1: Vec<String> = boards.iter().filter(|b| tier(b) == 1).cloned().collect();
    Ok(plant_health(&i, &boards, &tier1, start, end))
}

/// Reads what the indicators need and computes them as of the end of `as_of`.
pub fn compute(
    state: &AppState,
    as_of: NaiveDate,
    window_days: u32,
) -> Result<SystemBody, AppError> {
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let (_, end) = day_range(tz, as_of, as_of);
    let start = end - Duration::days(i64::from(window_days));
    let span = start.min(end - Duration::weeks(TREND_WEEKS));
    let read = Read::of(state, span, end)?;
    let i = read.inputs(tz);
    let lagging = state
        .loaded()
        .engine
        .metrics(Some(as_of), Some(window_days), &Scope::plant())?;
    let boards: Vec<String> = crate::safety::all_boards(cfg)
        .iter()
        .map(Scope::key)
        .collect();
    let of_tier =
        |t: u8| -> Vec<String> { boards.iter().filter(|b| tier(b) == t).cloned().collect() };
    let tier1 = of_tier(1);
    let weeks = (0..TREND_WEEKS)
        .map(|k| {
            let to = end - Duration::weeks(TREND_WEEKS - 1 - k);
            let from = to - Duration::weeks(1);
            WeekHealth {
                week_ending: (to - Duration::days(1))
                    .with_timezone(&tz)
                    .date_naive()
                    .to_string(),
                plant: plant_health(&i, &boards, &tier1, from, to),
                tiers: (1..=3).map(|t| health(&i, &of_tier(t), from, to)).collect(),
            }
        })
        .collect();
    Ok(SystemBody {
        as_of: as_of.to_string(),
        window_days,
        plant: HealthRow {
            key: "plant".into(),
            label: cfg.plant.name.clone(),
            health: plant_health(&i, &boards, &tier1, start, end),
        },
        tiers: (1..=3)
            .map(|t| HealthRow {
                key: format!("tier:{t}"),
                label: tier_label(t).into(),
                health: health(&i, &of_tier(t), start, end),
            })
            .collect(),
        boards: boards
            .iter()
            .map(|b| HealthRow {
                key: b.clone(),
                label: board_name(b),
                health: health(&i, std::slice::from_ref(b), start, end),
            })
            .collect(),
        weeks,
        lagging: Lagging {
            backlog_weeks: lagging.backlog_weeks,
            reactive_pct: lagging.reactive_pct,
        },
    })
}

/// A figure in words, with its unit where it is a percentage.
fn figure(key: &str, v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if key.ends_with("_pct") => format!("{v:.0} %"),
        Some(v) if key == "a3_open" || key == "a3_cycle_days" => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
    }
}

/// The judgement of a figure against `[targets]` (none where there is no target or no figure,
/// and for the huddles of the tiers that meet weekly).
fn judge(cfg: &Config, key: &str, v: Option<f64>, judged: bool) -> Option<Rag> {
    (judged || key != "huddles_per_day")
        .then(|| cfg.targets.get(key).zip(v).map(|(t, v)| t.judge(v)))
        .flatten()
}

/// The tile row of the plant's (or a site's) indicators: the board shows it, and so does
/// `/system` at its top.
pub fn tiles(cfg: &Config, h: &Health, lagging: Option<&Lagging>) -> Markup {
    html! {
        div class="tiles system-tiles" {
            @for key in KEYS {
                @let v = h.value(key);
                @let r = judge(cfg, key, v, true);
                @let (name, unit) = label(key);
                div class={"tile " (Rag::class(r))} data-key=(key) {
                    div class="label" { (name) }
                    div class="value" { (figure(key, v)) }
                    div class="unit" { (unit) }
                    @if let Some(t) = cfg.targets.get(key) { div class="target" { "target " (t.describe()) } }
                    @if let Some(r) = r { div class="status" { (r.sign()) " " (r.word()) } }
                }
            }
            @if let Some(l) = lagging {
                div class="tile none lagging" data-key="lagging_backlog_weeks" {
                    div class="label" { "Backlog (lagging)" }
                    div class="value" { (l.backlog_weeks.map_or("–".into(), |v| format!("{v:.1}"))) }
                    div class="unit" { "crew-weeks" }
                }
                div class="tile none lagging" data-key="lagging_reactive_pct" {
                    div class="label" { "Reactive work (lagging)" }
                    div class="value" { (l.reactive_pct.map_or("–".into(), |v| format!("{v:.0} %"))) }
                    div class="unit" { "% of hours" }
                }
            }
        }
    }
}

pub fn health_row(cfg: &Config, label: &Markup, h: &Health, huddles_judged: bool) -> Markup {
    html! {
        tr {
            th scope="row" { (label) }
            @for key in KEYS {
                @let v = h.value(key);
                @let r = judge(cfg, key, v, huddles_judged);
                td class={"num " (Rag::class(r))} data-key=(key) { (figure(key, v)) @if let Some(r) = r { " " span class="sign" { (r.sign()) } } }
            }
        }
    }
}

pub fn header() -> Markup {
    html! {
        thead { tr {
            th scope="col" { "" }
            @for key in KEYS { th scope="col" class="num" { (label(key).0) } }
        } }
    }
}
