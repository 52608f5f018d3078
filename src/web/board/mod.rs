//! The tier-1 huddle board: the safety cross, tiles against targets, 12-month trends, what broke,
//! what is late or stuck, the age profile, the pull lanes and the action log. Built once per
//! scope from the engine, rendered per request; `tv.rs` renders the same board as the huddle's
//! agenda, one screen-filling page at a time.

mod tv;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use maud::{Markup, html};
use serde::Deserialize;

use crate::config::{Config, Rag};
use crate::metrics::orders::{OrderPage, OrderQuery, SortKey};
use crate::metrics::{AgeBuckets, Metrics, Scope, end_of_day};
use crate::model::{Kind, Status};
use crate::pull::{PullPlan, PullRequest};
use crate::report::format_value;
use crate::web::auth::Viewer;
use crate::web::charts;
use crate::web::layout::{self, Nav};
use crate::web::panels::actions::{self, BoardActions};
use crate::web::panels::lanes;
use crate::web::panels::leadership::Leadership;
use crate::web::panels::safety::{self, SafetyCross};
use crate::web::params::checked_scope;
use crate::web::{AppError, AppState, Loaded};

/// Which way is better for a tile's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
    /// Inside a band (backlog weeks): neither up nor down is good in itself.
    Band,
}

/// One KPI tile.
#[derive(Debug, Clone)]
pub struct Tile {
    /// The metric key (`data-metric` in the page, the key in `/api/v1/kpis`).
    pub key: &'static str,
    pub label: &'static str,
    pub value: Option<f64>,
    /// The value as shown, when it is not a plain number (completed vs created).
    pub shown: Option<String>,
    pub unit: &'static str,
    pub target: Option<String>,
    pub rag: Option<Rag>,
    pub week_ago: Option<f64>,
    pub better: Better,
}

/// Everything the board of one scope shows, computed at once.
pub struct BoardData {
    pub version: i64,
    pub computed: Instant,
    pub computed_at: DateTime<Utc>,
    pub scope: Scope,
    pub as_of: NaiveDate,
    pub metrics: Metrics,
    pub tiles: Vec<Tile>,
    pub weeks: Vec<NaiveDate>,
    pub backlog_weeks: Vec<Option<f64>>,
    pub reactive_pct: Vec<Option<f64>>,
    pub pm_compliance_pct: Vec<Option<f64>>,
    pub created_weekly: Vec<Option<f64>>,
    pub completed_weekly: Vec<Option<f64>>,
    pub age: AgeBuckets,
    pub since: NaiveDate,
    pub new_reactive: OrderPage,
    pub overdue: OrderPage,
    pub stuck: OrderPage,
    /// Today's pull lists with the configured crews (a what-if is computed per request).
    pub pull: PullPlan,
    pub nav: Nav,
    /// The scope's stored orders and their data quality, for the link to `/quality`.
    pub quality: (u64, crate::metrics::Quality),
    /// The five bad actors of an area, a site or the plant (tiers 2 and 3; none for a crew).
    pub bad_actors: Vec<crate::assets::Bar>,
}

/// The start of the previous working day (Monday to Friday) before `today`.
pub fn previous_working_day(today: NaiveDate) -> NaiveDate {
    let mut d = today - Duration::days(1);
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d -= Duration::days(1);
    }
    d
}

/// Rows of each order list on the board's page.
const LIST_ROWS: usize = 10;
/// Rows kept for the TV, which shows as many as fit on its problems page.
const TV_ROWS: usize = 30;

impl BoardData {
    pub fn build(loaded: &Loaded, scope: &Scope) -> Result<BoardData, AppError> {
        let e = &loaded.engine;
        let cfg = e.config();
        let today = e.today();
        let now = e.metrics(None, None, scope)?;
        let week_ago = e.metrics(Some(today - Duration::days(7)), None, scope)?;
        let yesterday = today - Duration::days(1);
        let y = e.metrics(Some(yesterday), Some(1), scope)?;
        let y_prev = e.metrics(Some(yesterday - Duration::days(7)), Some(1), scope)?;
        let keys: Vec<String> = ["backlog_weeks", "reactive_pct", "pm_compliance_pct"]
            .map(String::from)
            .to_vec();
        let from = today - Duration::weeks(51);
        let trend = e.trend(
            &keys,
            from,
            today,
            crate::metrics::Step::Days(7),
            None,
            scope,
        )?;
        let flow = e.trend(
            &["created_count".to_string(), "completed_count".to_string()],
            from,
            today,
            crate::metrics::Step::Days(7),
            Some(7),
            scope,
        )?;
        let col = |t: &crate::metrics::Trend, i: usize| {
            t.points.iter().map(|p| p.values[i]).collect::<Vec<_>>()
        };
        let since = previous_working_day(today);
        let since_instant = end_of_day(cfg.plant.tz, since - Duration::days(1));
        let new_reactive = e.orders(&OrderQuery {
            scope: scope.clone(),
            kinds: vec![Kind::Emergency, Kind::Corrective],
            created_since: Some(since_instant),
            sort: SortKey::Created,
            descending: true,
            limit: Some(TV_ROWS),
            ..OrderQuery::default()
        })?;
        let overdue = e.orders(&OrderQuery {
            scope: scope.clone(),
            overdue: true,
            sort: SortKey::Due,
            limit: Some(TV_ROWS),
            ..OrderQuery::default()
        })?;
        let stuck = e.orders(&OrderQuery {
            scope: scope.clone(),
            stuck_after_days: Some(cfg.board.stuck_after_days),
            sort: SortKey::Age,
            limit: Some(TV_ROWS),
            ..OrderQuery::default()
        })?;
        let pull = e.pull(&PullRequest {
            scope: scope.clone(),
            ..PullRequest::default()
        })?;
        let (total, quality, _) = e.quality(scope, 0, Utc::now())?;
        let tiles = tiles(cfg, &now, &week_ago, &y, &y_prev);
        Ok(BoardData {
            version: loaded.version,
            computed: Instant::now(),
            computed_at: Utc::now(),
            scope: scope.clone(),
            as_of: today,
            age: now.age_buckets,
            metrics: now,
            tiles,
            weeks: trend.points.iter().map(|p| p.as_of).collect(),
            backlog_weeks: col(&trend, 0),
            reactive_pct: col(&trend, 1),
            pm_compliance_pct: col(&trend, 2),
            created_weekly: col(&flow, 0),
            completed_weekly: col(&flow, 1),
            since,
            new_reactive,
            overdue,
            stuck,
            pull,
            nav: Nav::build(e)?,
            quality: (total, quality),
            bad_actors: if scope.crew.is_none() {
                crate::web::panels::improvement::top_bad_actors(e, scope)?
            } else {
                Vec::new()
            },
        })
    }
}

fn tiles(
    cfg: &Config,
    now: &Metrics,
    week_ago: &Metrics,
    y: &Metrics,
    y_prev: &Metrics,
) -> Vec<Tile> {
    let tile = |key: &'static str, label: &'static str, unit: &'static str, better: Better| {
        let value = now.get(key);
        let target = cfg.targets.get(key);
        Tile {
            key,
            label,
            value,
            shown: None,
            unit,
            target: target.map(|t| t.describe()),
            rag: target
                .zip(value)
                .map(|(t, v)| t.judge(crate::report::shown_value(key, v))),
            week_ago: week_ago.get(key),
            better,
        }
    };
    let ratio_target = cfg.targets.get("completion_ratio");
    let y_ratio = y.completion_ratio;
    vec![
        tile("backlog_weeks", "Backlog", "crew-weeks", Better::Band),
        tile(
            "ready_backlog_weeks",
            "Ready backlog",
            "crew-weeks",
            Better::Band,
        ),
        tile("reactive_pct", "Reactive work", "% of hours", Better::Lower),
        tile("pm_compliance_pct", "PM compliance", "%", Better::Higher),
        tile("overdue_count", "Overdue", "orders", Better::Lower),
        Tile {
            key: "completed_yesterday",
            label: "Yesterday",
            value: Some(y.completed_count as f64),
            shown: Some(format!("{} / {}", y.completed_count, y.created_count)),
            unit: "done / new",
            target: ratio_target
                .map(|t| format!("done {} new", if t.min.is_some() { "≥" } else { "≤" })),
            rag: ratio_target.and_then(|t| y_ratio.map(|r| t.judge(r))),
            week_ago: Some(y_prev.completed_count as f64),
            better: Better::Higher,
        },
        tile(
            "schedule_compliance_pct",
            "Schedule compliance",
            "%",
            Better::Higher,
        ),
    ]
}

#[derive(Debug, Deserialize, Default)]
pub struct BoardParams {
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    pub kiosk: Option<String>,
    /// The TV page to show first (`safety`, `problems`, `pull`, `pull-2`, ..., `actions`).
    pub page: Option<String>,
    /// The month of the safety cross on the board's page, YYYY-MM (default: this month).
    pub month: Option<String>,
}

impl BoardParams {
    fn kiosk(&self) -> bool {
        matches!(self.kiosk.as_deref(), Some("1" | "true" | "yes" | "on"))
    }
}

pub async fn plant_board(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(p): Query<BoardParams>,
) -> Result<Response, AppError> {
    let viewer = Viewer::of(&state, &headers);
    let view = View::of(&p)?;
    render(state, Scope::plant(), view, raw, viewer).await
}

pub async fn scoped_board(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(p): Query<BoardParams>,
) -> Result<Response, AppError> {
    let view = View::of(&p)?;
    let scope = checked_scope(&state, p.site, p.area, p.crew)?;
    let viewer = Viewer::of(&state, &headers);
    render(state, scope, view, raw, viewer).await
}

/// The board's page (with the safety cross of a month), or its TV view at a page of the agenda.
enum View {
    Page { month: Option<NaiveDate> },
    Tv { page: Option<String> },
}

impl View {
    fn of(p: &BoardParams) -> Result<View, AppError> {
        Ok(if p.kiosk() {
            View::Tv {
                page: p.page.clone(),
            }
        } else {
            let month = match p.month.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(m) => Some(crate::safety::month_of(m)?.0),
            };
            View::Page { month }
        })
    }
}

async fn render(
    state: AppState,
    scope: Scope,
    view: View,
    raw: Option<String>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let loaded = state.loaded();
    if loaded.orders == 0 {
        return Ok(Redirect::to("/welcome").into_response());
    }
    let technicians = lanes::technicians(raw.as_deref())?;
    let data = state.board(scope.clone()).await?;
    // A what-if recomputes the pull lanes only; the rest of the board is the cached one.
    let what_if = if lanes::is_what_if(state.config(), &technicians) {
        let engine = state.loaded();
        let req = PullRequest {
            scope,
            technicians,
            ..PullRequest::default()
        };
        Some(
            tokio::task::spawn_blocking(move || engine.engine.pull(&req))
                .await
                .map_err(|e| AppError::internal(e.to_string()))??,
        )
    } else {
        None
    };
    let pull = what_if.as_ref().unwrap_or(&data.pull);
    let st = state.clone();
    let board_scope = data.scope.clone();
    let month = match view {
        View::Page { month } => month,
        View::Tv { .. } => None,
    };
    // The small reads (actions, huddle, safety marks, job warnings) are shared by the requests
    // of one board until a write lands or a few seconds pass: every phone of a huddle opening
    // the board at once costs one read.
    let is_page = matches!(view, View::Page { .. });
    let key = (
        board_scope.clone(),
        month,
        is_page,
        state.writes(),
        loaded.version,
    );
    // During an outage the board does not wait on the store (a connection attempt to a host
    // that is gone takes its timeout): the last reads are shown until the watcher finds the
    // store back.
    let during_outage = state
        .unreachable_since()
        .and_then(|_| state.last_panels(&key));
    let read = tokio::task::spawn_blocking({
        let key = key.clone();
        move || {
            if let Some(last) = during_outage {
                return Ok(last);
            }
            st.panels()
                .try_get_with(key, || {
                    Panels::read(&st, &board_scope, month, is_page).map(Arc::new)
                })
                .map_err(|e| (*e).clone())
        }
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?;
    // While the store is unreachable the board shows what it last read, and says so.
    let panels = match read {
        Ok(p) => {
            state.remember_panels(&key, &p);
            p
        }
        Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => {
            state.last_panels(&key).ok_or(e)?
        }
        Err(e) => return Err(e),
    };
    let mut warnings = panels.warnings.clone();
    if let Some(since) = state.unreachable_since() {
        warnings.insert(
            0,
            format!(
                "the store is unreachable since {} ({}): the board shows what it last read, and nothing can be written until it is back",
                since.with_timezone(&state.config().plant.tz).format("%H:%M"),
                crate::web::ago(since, Utc::now())
            ),
        );
    }
    let live = Live {
        pull,
        actions: &panels.actions,
        warnings: &warnings,
        viewer: &viewer,
        safety: &panels.cross,
        leadership: panels.leadership.as_ref(),
        system: panels.system.as_ref(),
        hoshin: panels.hoshin.as_ref(),
    };
    let markup = match view {
        View::Page { .. } => page(&state, &loaded, &data, &live),
        View::Tv { page } => tv::page(&state, &loaded, &data, &live, page.as_deref()),
    };
    Ok(Html(markup.into_string()).into_response())
}

/// The next scope of the kiosk rotation after `scope`.
fn next_in_rotation(cfg: &Config, scope: &Scope) -> Option<String> {
    let list = &cfg.board.kiosk_scopes;
    if list.is_empty() {
        return None;
    }
    let key = scope.key();
    let i = list
        .iter()
        .position(|s| *s == key)
        .map_or(0, |i| (i + 1) % list.len());
    Some(layout::board_href(&Scope::from_key(&list[i])?, true))
}

fn arrow(t: &Tile) -> Markup {
    let (Some(now), Some(before)) = (t.value, t.week_ago) else {
        return html! {};
    };
    let delta = now - before;
    let decimals = if t.unit == "orders" || t.key == "completed_yesterday" {
        0
    } else {
        1
    };
    let small = delta.abs() < 0.05;
    let (sym, class) = if small {
        ("▶", "flat")
    } else {
        let up = delta > 0.0;
        let good = match t.better {
            Better::Higher => Some(up),
            Better::Lower => Some(!up),
            Better::Band => None,
        };
        (
            if up { "▲" } else { "▼" },
            match good {
                Some(true) => "good",
                Some(false) => "bad",
                None => "flat",
            },
        )
    };
    html! {
        span class={"delta " (class)} title="change since a week ago" {
            (sym) " " (format!("{:+.decimals$}", delta)) " vs last week"
        }
    }
}

fn tile_markup(t: &Tile) -> Markup {
    let class = Rag::class(t.rag);
    let (icon, word) = t.rag.map_or(("", ""), |r| (r.sign(), r.word()));
    let shown = t
        .shown
        .clone()
        .unwrap_or_else(|| format_value(t.key, t.value));
    html! {
        div class={"tile " (class)} data-metric=(t.key) {
            div class="label" { (t.label) }
            div class="value" { (shown) }
            div class="unit" { (t.unit) }
            @if let Some(target) = &t.target {
                div class="target" { "target " (target) }
            }
            @if !word.is_empty() {
                div class="status" { span class="icon" aria-hidden="true" { (icon) } " " (word) }
            }
            (arrow(t))
        }
    }
}

/// What each request adds to the cached board data: the pull lanes (a what-if is computed per
/// request), the action log, job warnings, and who is looking.
/// A board's per-request reads, shared while nothing is written (see `AppState::panels`).
pub struct Panels {
    pub actions: BoardActions,
    pub warnings: Vec<String>,
    pub cross: SafetyCross,
    /// A crew's or an area's leaders (the page, not the TV).
    pub leadership: Option<Leadership>,
    /// The management system's health of the plant or a site (the page, not the TV).
    pub system: Option<crate::system::Health>,
    /// The plant's or a site's objectives this month (the page, not the TV).
    pub hoshin: Option<maud::Markup>,
}

impl Panels {
    /// Reads a board's small parts: for the page (`is_page`) or the TV, and the safety cross's
    /// `month` (this month when `None`). Blocking.
    pub fn read(
        st: &AppState,
        board_scope: &Scope,
        month: Option<NaiveDate>,
        is_page: bool,
    ) -> Result<Panels, AppError> {
        // A crew's or an area's board shows its leaders; the plant's and a site's the
        // management system's health. Not on the TV: the huddle's agenda has its own pages.
        let team = board_scope.crew.is_some() || board_scope.area.is_some();
        Ok(Panels {
            actions: BoardActions::read(st, board_scope)?,
            warnings: crate::web::jobs::warnings(st, Utc::now())?,
            cross: SafetyCross::read(st, board_scope, month)?,
            leadership: if is_page && team {
                Some(Leadership::read(st, board_scope)?)
            } else {
                None
            },
            system: if is_page && !team {
                Some(crate::web::panels::system::board_health(st, board_scope)?)
            } else {
                None
            },
            hoshin: if is_page && !team {
                let (objectives, reviews) = st.with_store(|s| {
                    Ok::<_, crate::store::StoreError>((s.objectives()?, s.reviews()?))
                })?;
                crate::web::panels::hoshin::board_row(st, board_scope, &objectives, &reviews)?
            } else {
                None
            },
        })
    }
}

/// The board, the safety cross's month, the page (not the TV), the count of writes, the data
/// version.
pub type PanelKey = (Scope, Option<NaiveDate>, bool, u64, i64);

pub struct Live<'a> {
    pub pull: &'a PullPlan,
    pub actions: &'a BoardActions,
    pub warnings: &'a [String],
    pub viewer: &'a Viewer,
    pub safety: &'a SafetyCross,
    pub leadership: Option<&'a Leadership>,
    pub system: Option<&'a crate::system::Health>,
    pub hoshin: Option<&'a maud::Markup>,
}

/// The board's page (the TV view is `tv::page`).
pub fn page(state: &AppState, loaded: &Arc<Loaded>, d: &BoardData, live: &Live<'_>) -> Markup {
    let cfg = state.config();
    let now = Utc::now();
    let title = format!("{} — {}", d.scope.label(), cfg.plant.name);
    let token = live.viewer.csrf();
    let ret = format!("{}#safety", layout::board_href(&d.scope, false));
    let body = html! {
        header class="board-head" {
            div {
                h1 { (d.scope.label()) }
                div class="sub" { (cfg.plant.name) " · huddle board · " (d.as_of.format("%A %-d %B %Y").to_string()) }
            }
            div class="fresh" {
                (layout::freshness(loaded, now, cfg))
                (quality_link(d))
                (crate::web::jobs::warnings_markup(live.warnings))
            }
        }
        div class="board-top" {
            (safety::panel(live.safety, token, &ret, false))
            div class="numbers" {
                section class="tiles" aria-label="Key figures" {
                    @for t in &d.tiles { (tile_markup(t)) }
                }
                (charts_section(cfg, d))
            }
        }
        section class="lists" {
            (lists(d, cfg, LIST_ROWS))
            div class="panel" {
                h2 { "Age of open orders" }
                (charts::age_histogram(&d.age))
                p class="note" { (d.metrics.open_count) " open, mean age " (format_value("mean_age_days", d.metrics.mean_age_days)) " days" }
            }
            @if d.scope.crew.is_none() {
                (crate::web::panels::improvement::bad_actors_panel(&d.scope, cfg.metrics.window_days, &d.bad_actors))
            }
        }
        @if let Some(h) = live.hoshin { (h) }
        @if let Some(h) = live.system {
            section class="system-row" aria-label="The management system" {
                h2 { "The management system, last four weeks " a class="more" href="/system" { "all of it" } }
                (crate::web::panels::system::tiles(cfg, h, None))
            }
        }
        (actions::section(cfg, &d.scope, live.actions, live.viewer))
        @if let Some(l) = live.leadership { (l.panel(cfg.plant.tz)) }
        (lanes::section(cfg, live.pull))
    };
    layout::layout(&title, &d.nav, Some(&d.scope), body)
}

/// The four trend charts of the last 12 months.
fn charts_section(cfg: &Config, d: &BoardData) -> Markup {
    let weeks = &d.weeks;
    html! {
        section class="charts" aria-label="Trends, last 12 months" {
            (charts::line_chart("Backlog, crew-weeks", weeks, &[("backlog", &d.backlog_weeks)], cfg.targets.get("backlog_weeks"), 1))
            (charts::line_chart("Reactive work, % of hours", weeks, &[("reactive %", &d.reactive_pct)], cfg.targets.get("reactive_pct"), 0))
            (charts::line_chart("PM compliance, %", weeks, &[("PM compliance", &d.pm_compliance_pct)], cfg.targets.get("pm_compliance_pct"), 0))
            (charts::line_chart("Orders per week: created vs completed", weeks, &[("created", &d.created_weekly), ("completed", &d.completed_weekly)], None, 0))
        }
    }
}

/// The three order lists: what broke since the last working day, overdue, stuck; `rows` of each.
fn lists(d: &BoardData, cfg: &Config, rows: usize) -> Markup {
    html! {
        (order_list(&format!("New breakdowns and repairs since {}", d.since.format("%A")), "Emergency and corrective orders created since the start of the previous working day", &d.new_reactive, &layout::orders_href(&d.scope, "kind=emergency,corrective&sort=created&dir=desc"), ListKind::New, cfg, rows))
        (order_list("Overdue, oldest first", "Open orders past their due date", &d.overdue, &layout::orders_href(&d.scope, "overdue=1&sort=due"), ListKind::Overdue, cfg, rows))
        (order_list(&format!("Stuck: on hold, or in progress over {} days", cfg.board.stuck_after_days), "Work that is blocked", &d.stuck, &layout::orders_href(&d.scope, "status=on_hold,in_progress&sort=age"), ListKind::Stuck, cfg, rows))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum ListKind {
    New,
    Overdue,
    Stuck,
}

fn order_list(
    title: &str,
    help: &str,
    page: &OrderPage,
    more: &str,
    kind: ListKind,
    cfg: &Config,
    rows: usize,
) -> Markup {
    let shown = &page.orders[..page.orders.len().min(rows)];
    html! {
        div class="panel" {
            h2 title=(help) { (title) " " span class="count" { "(" (page.total) ")" } }
            @if shown.is_empty() {
                p class="empty" { "None." }
            } @else {
                table class="orders compact" {
                    tbody class="fit" data-total=(page.total) {
                        @for o in shown {
                            tr class={"p" (o.priority)} {
                                td class="prio" title="priority" { "P" (o.priority) }
                                td class="what" {
                                    (layout::order_link(cfg, &o.source, &o.id))
                                    " " span class="title" { (o.title) }
                                    @if let Some(a) = &o.asset_name { span class="asset" { " · " (a) } }
                                }
                                td class="when" {
                                    @match kind {
                                        ListKind::New => { (o.kind.as_str().replace('_', " ")) }
                                        ListKind::Overdue => { (o.overdue_days.unwrap_or(0)) " d late" }
                                        ListKind::Stuck => { @if o.status == Status::OnHold { "on hold" } @else { "in progress" } ", " (o.age_days) " d old" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if page.total > shown.len() {
                    a class="more" href=(more) data-total=(page.total) { "+ " (page.total - shown.len()) " more →" }
                }
            }
        }
    }
}

/// The board's line about data quality: the largest problem's share, linked to `/quality`.
fn quality_link(d: &BoardData) -> Markup {
    use crate::quality::Problem;
    let (total, q) = &d.quality;
    let worst = Problem::ALL
        .into_iter()
        .map(|p| (p, p.count(q)))
        .filter(|(_, n)| *n > 0)
        .max_by_key(|(_, n)| *n);
    let href = layout::page_href("/quality", &d.scope, "");
    html! {
        div class="quality-link" {
            a href=(href) {
                "Data quality: "
                @match worst {
                    Some((p, n)) => {
                        (p.label().to_lowercase()) " on " (n) " of " (total) " orders"
                        @let others = Problem::ALL.iter().filter(|x| x.count(q) > 0).count() - 1;
                        @if others > 0 { ", " (others) " more problem" @if others > 1 { "s" } }
                    }
                    None => { "no problems found" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_working_day_skips_the_weekend() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            previous_working_day(d("2026-11-23")),
            d("2026-11-20"),
            "Monday -> Friday"
        );
        assert_eq!(
            previous_working_day(d("2026-11-25")),
            d("2026-11-24"),
            "Wednesday -> Tuesday"
        );
        assert_eq!(
            previous_working_day(d("2026-11-22")),
            d("2026-11-20"),
            "Sunday -> Friday"
        );
    }
}
