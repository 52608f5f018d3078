//! Assets on the web (docs/assets.md): the sortable list of a scope's assets (`/assets`), the
//! health grid (`/assets/health`, big tiles for a TV with `kiosk=1`), the bad-actor Pareto by
//! asset or failure code (`/assets/pareto`), an asset's page (`/assets/ID`: numbers, a year of
//! orders on a strip, failure codes, open orders), and the JSON under `/api/v1/assets`. The
//! rules are `crate::assets`; the numbers come from the loaded engine.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::charts::{self, Mark, ParetoBar};
use super::layout::{
    Nav, asset_href, fmt_time, layout, order_link, orders_href, page_response, scope_query,
};
use super::params::{checked_scope, parse_date_param, parse_window};
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::assets::{AssetStats, Bar, Measure, Sums, pareto_of_assets, pareto_of_codes};
use crate::metrics::orders::{OrderQuery, OrderRow, SortKey};
use crate::metrics::{AssetReport, Scope};
use crate::model::Class;

/// At most this many assets are listed on the page (the API has them all).
const LISTED: usize = 500;

/// The query of the asset pages and API.
#[derive(Debug, Deserialize, Default)]
pub struct AssetParams {
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    /// The window's last plant day, YYYY-MM-DD (default: today).
    pub as_of: Option<String>,
    /// The window, 1 to 3650 days (default: `[metrics] window_days`).
    pub window_days: Option<String>,
    /// The list's sort key: a column of the list (`reactive_hours` by default).
    pub sort: Option<String>,
    /// `asc` or `desc` (default).
    pub dir: Option<String>,
    /// The Pareto's bars: `asset` (default) or `code`.
    pub by: Option<String>,
    /// The Pareto's measure: `reactive_hours` (default), `downtime_hours`, `reactive_count`,
    /// `cost`.
    pub measure: Option<String>,
    /// `1`: the health grid sized for a TV.
    pub kiosk: Option<String>,
}

/// What `/api/v1/assets` reads (the page's sort and TV sizing are the page's).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AssetListDoc {
    site: Option<String>,
    area: Option<String>,
    crew: Option<String>,
    /// The window's last plant day, YYYY-MM-DD (default: today).
    #[param(format = Date)]
    as_of: Option<String>,
    /// The window, 1 to 3650 days (default: `[metrics] window_days`).
    #[param(minimum = 1, maximum = 3650)]
    window_days: Option<u32>,
}

/// What `/api/v1/assets/pareto` reads besides the list's.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ParetoDoc {
    /// The bars: `asset` (default) or `code`.
    #[param(pattern = "^(asset|code)$")]
    by: Option<String>,
    /// What the bars measure: `reactive_hours` (default), `downtime_hours`, `reactive_count`,
    /// `cost`.
    #[param(pattern = "^(reactive_hours|downtime_hours|reactive_count|cost)$")]
    measure: Option<String>,
}

/// The list's sort keys, with their column heads.
const SORTS: [(&str, &str); 12] = [
    ("asset", "Asset"),
    ("criticality", "Crit."),
    ("health", "Health"),
    ("reactive_count", "Breakdowns"),
    ("reactive_hours", "Reactive h"),
    ("downtime_hours", "Downtime h"),
    ("cost", "Cost"),
    ("mtbf_hours", "MTBF h"),
    ("mttr_hours", "MTTR h"),
    ("open_emergencies", "Open emerg."),
    ("overdue_pms", "Overdue PMs"),
    ("pm_compliance_pct", "PM compl. %"),
];

struct AssetQuery {
    scope: Scope,
    as_of: Option<NaiveDate>,
    window: Option<u32>,
}

fn query(state: &AppState, p: &AssetParams) -> Result<AssetQuery, AppError> {
    Ok(AssetQuery {
        scope: checked_scope(state, p.site.clone(), p.area.clone(), p.crew.clone())?,
        as_of: parse_date_param("as_of", &p.as_of)?,
        window: parse_window(&p.window_days)?,
    })
}

fn measure_of(p: &AssetParams) -> Result<Measure, AppError> {
    match p
        .measure
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Ok(Measure::ReactiveHours),
        Some(m) => Measure::parse(m).map_err(|e| AppError::bad_request(format!("measure: {e}"))),
    }
}

fn by_code(p: &AssetParams) -> Result<bool, AppError> {
    match p.by.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("asset") => Ok(false),
        Some("code") => Ok(true),
        Some(o) => Err(AppError::bad_request(format!(
            "by: `{o}` is not asset or code"
        ))),
    }
}

async fn report(state: &AppState, q: AssetQuery) -> Result<AssetReport, AppError> {
    let st = state.clone();
    blocking(move || {
        Ok(st
            .loaded()
            .engine
            .assets(&q.scope, q.as_of, q.window, None)?)
    })
    .await
}

fn sort_value(s: &AssetStats, key: &str) -> Option<f64> {
    match key {
        "criticality" => s.criticality.map(f64::from),
        "health" => Some(match s.health.level {
            "red" => 2.0,
            "amber" => 1.0,
            _ => 0.0,
        }),
        k => s.get(k),
    }
}

/// Sorts the assets by a key of [`SORTS`]; missing values last, ties by id.
fn sort_assets(list: &mut [AssetStats], key: &str, descending: bool) {
    if key == "asset" {
        list.sort_by(|a, b| a.asset_id.cmp(&b.asset_id));
        if descending {
            list.reverse();
        }
        return;
    }
    list.sort_by(|a, b| {
        let (x, y) = (sort_value(a, key), sort_value(b, key));
        match (x, y) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if descending { o.reverse() } else { o }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.asset_id.cmp(&b.asset_id))
    });
}

fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.decimals$}"))
}

fn sign(s: &AssetStats) -> Markup {
    let rag = s.health.rag();
    html! { span class={"sign " (crate::config::Rag::class(Some(rag)))} title=(s.health.reasons.join("; ")) { (rag.sign()) } }
}

fn scope_form(nav: &Nav, path: &str, scope: &Scope, window: u32, extra: Markup) -> Markup {
    html! {
        form class="filters" method="get" action=(path) {
            (super::layout::scope_selects(nav, scope.crew.as_deref(), scope.area.as_deref()))
            label { "Window, days " input type="number" name="window_days" min="1" max="3650" value=(window); }
            (extra)
            button type="submit" { "Show" }
        }
    }
}

fn tabs(scope: &Scope, here: &str) -> Markup {
    let q = scope_query(scope);
    let link = |path: &str, name: &str| {
        let href = if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        };
        html! { a href=(href) class=(if path == here { "here" } else { "" }) { (name) } }
    };
    html! {
        nav class="tabs" aria-label="Asset views" {
            (link("/assets", "List")) " · " (link("/assets/health", "Health")) " · " (link("/assets/pareto", "Bad actors")) " · " a href="/a3" { "A3s" }
        }
    }
}

/// `/assets`: the scope's assets, sortable.
pub async fn list_page(
    State(state): State<AppState>,
    Query(p): Query<AssetParams>,
) -> Result<Response, AppError> {
    let q = query(&state, &p)?;
    let sort = p
        .sort
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("reactive_hours")
        .to_string();
    if !SORTS.iter().any(|s| s.0 == sort) {
        let keys: Vec<&str> = SORTS.iter().map(|s| s.0).collect();
        return Err(AppError::bad_request(format!(
            "sort: `{sort}` is not one of {}",
            keys.join(", ")
        )));
    }
    let descending = p.dir.as_deref() != Some("asc");
    let mut r = report(&state, q).await?;
    sort_assets(&mut r.assets.assets, &sort, descending);
    let cfg = state.config();
    let nav = Nav::build(&state.loaded().engine)?;
    let base = scope_query(&r.scope);
    let head_href = |key: &str| {
        let dir = if key == sort && descending {
            "asc"
        } else {
            "desc"
        };
        let mut h = format!("/assets?sort={key}&dir={dir}&window_days={}", r.window_days);
        if !base.is_empty() {
            h.push('&');
            h.push_str(&base);
        }
        h
    };
    let total = r.assets.assets.len();
    let body = html! {
        h1 { "Assets — " (r.scope.label()) }
        (tabs(&r.scope, "/assets"))
        p class="note" {
            (total) " assets with orders, over the " (r.window_days) " days to " (r.as_of) ". "
            "Breakdowns are reactive orders created in the window; hours, downtime and cost are of orders completed in it (docs/metrics.md, \"Assets\"). "
            "Orders with no asset: " (r.assets.no_asset.reactive_count) " breakdowns, " (format!("{:.0}", r.assets.no_asset.reactive_hours)) " reactive hours."
        }
        (scope_form(&nav, "/assets", &r.scope, r.window_days, html! {
            input type="hidden" name="sort" value=(sort);
        }))
        div class="lsw-scroll" {
            table class="assets" {
                thead { tr {
                    @for (key, head) in SORTS {
                        th scope="col" class=(if key == "asset" { "" } else { "num" }) {
                            a href=(head_href(key)) { (head) @if key == sort { (if descending { " ▼" } else { " ▲" }) } }
                        }
                    }
                    th scope="col" { "Where" }
                    th scope="col" { "Why" }
                } }
                tbody {
                    @for s in r.assets.assets.iter().take(LISTED) {
                        tr {
                            th scope="row" { a href=(asset_href(&s.asset_id)) { (s.label()) } span class="sub" { " " (s.asset_id) } }
                            td class="num" { (s.criticality.map_or("—".into(), |c| c.to_string())) }
                            td class="num" { (sign(s)) }
                            td class="num" { (s.sums.reactive_count) }
                            td class="num" { (format!("{:.1}", s.sums.reactive_hours)) }
                            td class="num" { (format!("{:.1}", s.sums.downtime_hours)) }
                            td class="num" { (format!("{:.0}", s.sums.cost)) }
                            td class="num" { (num(s.mtbf_hours, 0)) }
                            td class="num" { (num(s.mttr_hours, 1)) }
                            td class="num" { (s.open_emergencies) }
                            td class="num" { (s.overdue_pms) }
                            td class="num" { (num(s.pm_compliance_pct, 0)) }
                            td class="why" { (s.area.as_deref().unwrap_or("—")) @if !s.crews.is_empty() { " · " (s.crews.join(", ")) } }
                            td class="why" { (s.health.reasons.join("; ")) }
                        }
                    }
                }
            }
        }
        @if total > LISTED { p class="note" { "The first " (LISTED) " of " (total) "; " a href={"/api/v1/assets?" (base)} { "all of them as JSON" } "." } }
        p class="note" { "Cost in " (cfg.plant.currency) "." }
    };
    Ok(Html(layout("Assets — Gemba", &nav, None, body).into_string()).into_response())
}

fn tile(s: &AssetStats) -> Markup {
    let rag = s.health.rag();
    html! {
        a class={"asset-tile " (crate::config::Rag::class(Some(rag)))} href=(asset_href(&s.asset_id)) {
            span class="name" { (rag.sign()) " " (s.label()) }
            span class="id" { (s.asset_id) @if let Some(c) = s.criticality { " · crit. " (c) } }
            span class="why" { (s.health.reasons.join("; ")) }
        }
    }
}

/// `/assets/health`: a tile per asset, worst first, coloured by the health rule with the reason.
pub async fn health_page(
    State(state): State<AppState>,
    Query(p): Query<AssetParams>,
) -> Result<Response, AppError> {
    let kiosk = p.kiosk.as_deref() == Some("1");
    let q = query(&state, &p)?;
    let mut r = report(&state, q).await?;
    sort_assets(&mut r.assets.assets, "health", true);
    // Worst first; among equals, the most critical first.
    r.assets.assets.sort_by(|a, b| {
        sort_value(b, "health")
            .partial_cmp(&sort_value(a, "health"))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| b.criticality.cmp(&a.criticality))
            .then_with(|| a.asset_id.cmp(&b.asset_id))
    });
    let count = |level: &str| {
        r.assets
            .assets
            .iter()
            .filter(|s| s.health.level == level)
            .count()
    };
    let nav = Nav::build(&state.loaded().engine)?;
    let body = html! {
        h1 { "Asset health — " (r.scope.label()) }
        @if !kiosk { (tabs(&r.scope, "/assets/health")) }
        p class="note" {
            span class="sign red" { "✖" } " " (count("red")) " need action · "
            span class="sign amber" { "▲" } " " (count("amber")) " to watch · "
            span class="sign green" { "✔" } " " (count("green")) " running. "
            "Red: an open emergency, or repeat failures (3 or more breakdowns in 30 days). Amber: an overdue PM, or breakdowns in 30 days above the asset's usual rate. As of " (r.as_of) "."
        }
        div class=(if kiosk { "asset-grid big" } else { "asset-grid" }) {
            @for s in &r.assets.assets { (tile(s)) }
        }
    };
    Ok(Html(layout("Asset health — Gemba", &nav, None, body).into_string()).into_response())
}

/// The Pareto as JSON.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParetoBody {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub scope: Scope,
    pub measure: Measure,
    /// `asset` or `code`.
    pub by: String,
    pub total: f64,
    /// What the orders with no asset (or no code) carry: in no bar.
    pub left_out: f64,
    pub bars: Vec<Bar>,
}

fn pareto_of(r: &AssetReport, m: Measure, code: bool) -> ParetoBody {
    let bars = if code {
        pareto_of_codes(&r.assets, m)
    } else {
        pareto_of_assets(&r.assets, m)
    };
    let left: &Sums = if code {
        &r.assets.no_code
    } else {
        &r.assets.no_asset
    };
    ParetoBody {
        as_of: r.as_of,
        window_days: r.window_days,
        scope: r.scope.clone(),
        measure: m,
        by: if code { "code" } else { "asset" }.into(),
        total: bars.iter().map(|b| b.value).sum(),
        left_out: m.of(left),
        bars,
    }
}

/// `/assets/pareto`: the bad actors by asset or failure code.
pub async fn pareto_page(
    State(state): State<AppState>,
    Query(p): Query<AssetParams>,
) -> Result<Response, AppError> {
    let (m, code) = (measure_of(&p)?, by_code(&p)?);
    let q = query(&state, &p)?;
    let r = report(&state, q).await?;
    let body_ = pareto_of(&r, m, code);
    let nav = Nav::build(&state.loaded().engine)?;
    let board = r.scope.key();
    let q = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let start_href = |b: &Bar| {
        if code {
            format!("/a3?code={}&board={}", q(&b.key), q(&board))
        } else {
            format!("/a3?asset={}&board={}", q(&b.key), q(&board))
        }
    };
    let drawn: Vec<ParetoBar<'_>> = body_
        .bars
        .iter()
        .map(|b| ParetoBar {
            label: &b.key,
            value: b.value,
            cumulative_pct: b.cumulative_pct,
            vital_few: b.vital_few,
            href: if code {
                format!("#code-{}", q(&b.key))
            } else {
                asset_href(&b.key)
            },
        })
        .collect();
    let unit = m.unit();
    let few = body_.bars.iter().filter(|b| b.vital_few).count();
    let what = if code { "failure codes" } else { "assets" };
    let body = html! {
        h1 { "Bad actors — " (r.scope.label()) }
        (tabs(&r.scope, "/assets/pareto"))
        (scope_form(&nav, "/assets/pareto", &r.scope, r.window_days, html! {
            label { "By " select name="by" {
                option value="asset" selected[!code] { "asset" }
                option value="code" selected[code] { "failure code" }
            } }
            label { "Measure " select name="measure" {
                @for x in Measure::ALL { option value=(x.key()) selected[x == m] { (x.label()) } }
            } }
        }))
        p class="note" {
            strong { (few) " " (what) } " of " (body_.bars.len()) " make up 80 % of the " (m.label()) " (" (format!("{:.0}", body_.total)) " " (unit) ") over the " (r.window_days) " days to " (r.as_of) ". "
            @if body_.left_out > 0.0 {
                (format!("{:.0}", body_.left_out)) " " (unit) " more are on orders with no " (if code { "failure code" } else { "asset" }) ", in no bar."
            }
        }
        (charts::pareto_chart(&format!("{} by {}", m.label(), if code { "failure code" } else { "asset" }), unit, &drawn))
        table class="pareto-table" {
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { (if code { "Failure code" } else { "Asset" }) }
                th scope="col" class="num" { (m.label()) }
                th scope="col" class="num" { "share" }
                th scope="col" class="num" { "cumulative" }
                th scope="col" { }
            } }
            tbody {
                @for (i, b) in body_.bars.iter().enumerate() {
                    tr id=(if code { format!("code-{}", b.key) } else { format!("asset-{}", b.key) }) class=(if b.vital_few { "vital" } else { "" }) {
                        td { (i + 1) }
                        th scope="row" {
                            @if code { (b.label) } @else { a href=(asset_href(&b.key)) { (b.label) } }
                            @if b.vital_few { " " span class="tag" title="within the 80 % cut" { "80 %" } }
                        }
                        td class="num" { (format!("{:.1}", b.value)) }
                        td class="num" { (format!("{:.1} %", b.pct)) }
                        td class="num" { (format!("{:.1} %", b.cumulative_pct)) }
                        td { a class="start-a3" href=(start_href(b)) { "Start an A3" } }
                    }
                }
            }
        }
    };
    Ok(Html(layout("Bad actors — Gemba", &nav, None, body).into_string()).into_response())
}

/// An asset: its numbers, a year of its orders, its failure codes, its open orders.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssetDetail {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub window_days: u32,
    #[serde(flatten)]
    pub asset: AssetStats,
    /// The sums of its orders by failure code, over the window.
    pub failure_codes: Vec<(String, Sums)>,
    /// Its open orders (`open_orders` is their number, with the asset's other numbers).
    pub open_order_list: Vec<OrderRow>,
    /// Its orders created in the last 365 days, oldest first.
    pub year: Vec<OrderRow>,
}

fn detail(state: &AppState, id: &str, p: &AssetParams) -> Result<AssetDetail, AppError> {
    let q = query(state, p)?;
    let loaded = state.loaded();
    let e = &loaded.engine;
    let r = e.assets(&Scope::plant(), q.as_of, q.window, Some(id))?;
    let asset = r.assets.assets.into_iter().next().ok_or_else(|| AppError {
        status: StatusCode::NOT_FOUND,
        message: format!("no orders name the asset `{id}`"),
    })?;
    let base = OrderQuery {
        asset: Some(id.to_string()),
        sort: SortKey::Created,
        ..OrderQuery::default()
    };
    let open_orders = e
        .orders(&OrderQuery {
            open: true,
            ..base.clone()
        })?
        .orders;
    let year = e
        .orders(&OrderQuery {
            created_since: Some(Utc::now() - Duration::days(365)),
            ..base
        })?
        .orders;
    Ok(AssetDetail {
        as_of: r.as_of,
        window_days: r.window_days,
        asset,
        failure_codes: r.assets.codes,
        open_order_list: open_orders,
        year,
    })
}

fn marks(year: &[OrderRow]) -> Vec<Mark> {
    year.iter()
        .map(|o| {
            let class = if o.kind.class() == Class::Reactive {
                "breakdown"
            } else if o.kind.is_pm() {
                "pm"
            } else {
                "repair"
            };
            // A PM is drawn when it was done (else when it was due); the rest when created.
            let at = if o.kind.is_pm() {
                o.completed_at.or(o.due_at).unwrap_or(o.created_at)
            } else {
                o.created_at
            };
            Mark {
                at: at.timestamp_millis(),
                class,
                label: format!("{} {} — {} ({})", o.kind, o.id, o.title, o.status),
                href: format!(
                    "/orders?asset={}&sort=created&dir=desc",
                    form_urlencoded::byte_serialize(
                        o.asset_id.as_deref().unwrap_or_default().as_bytes()
                    )
                    .collect::<String>()
                ),
            }
        })
        .collect()
}

/// `/assets/ID`.
pub async fn asset_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<AssetParams>,
) -> Result<Response, AppError> {
    let st = state.clone();
    let key = id.clone();
    let d = blocking(move || detail(&st, &key, &p)).await?;
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let s = &d.asset;
    let now = Utc::now();
    let from = now - Duration::days(365);
    let mut months = Vec::new();
    let first = from.with_timezone(&tz).date_naive();
    let mut m = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).unwrap_or(first);
    while m <= now.with_timezone(&tz).date_naive() {
        if m >= first {
            months.push((
                crate::metrics::end_of_day(tz, m - Duration::days(1)).timestamp_millis(),
                m.format("%b").to_string(),
            ));
        }
        m = m + chrono::Months::new(1);
    }
    let q = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let board = s
        .area
        .as_ref()
        .map(|a| format!("area:{a}"))
        .unwrap_or_else(|| "plant".into());
    let rag = s.health.rag();
    let figure = |label: &str, value: String| html! { div class="fig" { span class="label" { (label) } span class="value" { (value) } } };
    let mut codes: Vec<&(String, Sums)> = d
        .failure_codes
        .iter()
        .filter(|(_, x)| x.reactive_count > 0 || x.reactive_hours > 0.0)
        .collect();
    codes.sort_by(|a, b| {
        b.1.reactive_count
            .cmp(&a.1.reactive_count)
            .then_with(|| a.0.cmp(&b.0))
    });
    let body = html! {
        h1 { (s.label()) " " span class="sub" { (s.asset_id) } }
        p class={"health " (crate::config::Rag::class(Some(rag)))} { span class="sign" { (rag.sign()) } " " (s.health.reasons.join("; ")) }
        p class="note" {
            @if let Some(c) = s.criticality { "Criticality " (c) " · " }
            @if let Some(a) = &s.area { "area " (a) " · " }
            "crews: " (if s.crews.is_empty() { "—".to_string() } else { s.crews.join(", ") })
            " · over the " (d.window_days) " days to " (d.as_of)
            " · " a href=(orders_href(&Scope::plant(), &format!("asset={}", q(&s.asset_id)))) { "all its orders" }
            " · " a class="start-a3" href={"/a3?asset=" (q(&s.asset_id)) "&board=" (q(&board))} { "Start an A3 on this asset" }
        }
        div class="figures" {
            (figure("Breakdowns", s.sums.reactive_count.to_string()))
            (figure("Reactive hours", format!("{:.1}", s.sums.reactive_hours)))
            (figure("Downtime", format!("{:.1} h", s.sums.downtime_hours)))
            (figure("Cost", format!("{:.0}", s.sums.cost)))
            (figure("MTBF", s.mtbf_hours.map_or(format!("> {:.0} h", s.operating_hours), |v| format!("{v:.0} h"))))
            (figure("Mean gap", s.mean_gap_days.map_or("—".into(), |v| format!("{v:.1} d"))))
            (figure("MTTR", s.mttr_hours.map_or("—".into(), |v| format!("{v:.1} h"))))
            (figure("Open emergencies", s.open_emergencies.to_string()))
            (figure("Overdue PMs", s.overdue_pms.to_string()))
            (figure("PM compliance", s.pm_compliance_pct.map_or("—".into(), |v| format!("{v:.0} %"))))
            (figure("Last PM done", fmt_time(cfg, s.last_pm_done)))
        }
        h2 { "The last twelve months" }
        (charts::timeline(from.timestamp_millis(), now.timestamp_millis(), &months, &marks(&d.year)))
        p class="note tl-legend" { span class="breakdown" { "● breakdowns" } " " span class="repair" { "● other work" } " " span class="pm" { "● PMs (when done)" } " — " (d.year.len()) " orders." }
        div class="lists" {
            div class="panel" {
                h2 { "Failure codes of its breakdowns" }
                @if codes.is_empty() { p class="empty" { "None in the window." } } @else {
                    table { tbody {
                        @for (c, x) in &codes { tr { th scope="row" { (c) } td class="num" { (x.reactive_count) " breakdowns" } td class="num" { (format!("{:.1} h", x.reactive_hours)) } } }
                    } }
                }
            }
            div class="panel" {
                h2 { "Open orders " span class="count" { "(" (d.open_order_list.len()) ")" } }
                @if d.open_order_list.is_empty() { p class="empty" { "None." } } @else {
                    table class="orders compact" { tbody {
                        @for o in &d.open_order_list {
                            tr class={"p" (o.priority)} {
                                td class="prio" { "P" (o.priority) }
                                td class="what" { (order_link(cfg, &o.source, &o.id)) " " span class="title" { (o.title) } " · " (o.kind) }
                                td class="when" { (o.status) @if let Some(od) = o.overdue_days { " · " span class="overdue" { (od) " d overdue" } } }
                            }
                        }
                    } }
                }
            }
        }
    };
    page_response(&state, &format!("{} — Gemba", s.label()), body)
}

/// The assets of a scope over a window: each with its numbers and health, and the sums by
/// failure code (docs/metrics.md "Assets").
#[utoipa::path(get, path = "/api/v1/assets", params(AssetListDoc), responses(
    (status = 200, description = "The assets", body = AssetReport),
    (status = 400, description = "A bad scope, date or window", body = ErrorBody),
))]
pub async fn api_list(
    State(state): State<AppState>,
    Query(p): Query<AssetParams>,
) -> Result<Json<AssetReport>, ApiError> {
    let q = query(&state, &p)?;
    Ok(Json(report(&state, q).await?))
}

/// The bad-actor Pareto of a scope by asset or failure code.
#[utoipa::path(get, path = "/api/v1/assets/pareto", params(AssetListDoc, ParetoDoc), responses(
    (status = 200, description = "The bars, largest first", body = ParetoBody),
    (status = 400, description = "A bad scope, date, window, measure or `by`", body = ErrorBody),
))]
pub async fn api_pareto(
    State(state): State<AppState>,
    Query(p): Query<AssetParams>,
) -> Result<Json<ParetoBody>, ApiError> {
    let (m, code) = (measure_of(&p)?, by_code(&p)?);
    let q = query(&state, &p)?;
    let r = report(&state, q).await?;
    Ok(Json(pareto_of(&r, m, code)))
}

/// One asset (over every order, whatever the scope): its numbers, failure codes, open orders
/// and its orders of the last year.
#[utoipa::path(get, path = "/api/v1/assets/{id}", params(
    ("id" = String, Path, description = "The asset's id as the orders give it"),
    ("as_of" = Option<String>, Query, format = Date),
    ("window_days" = Option<u32>, Query, minimum = 1, maximum = 3650),
), responses(
    (status = 200, description = "The asset", body = AssetDetail),
    (status = 400, description = "A bad date or window", body = ErrorBody),
    (status = 404, description = "No order names the asset", body = ErrorBody),
))]
pub async fn api_asset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<AssetParams>,
) -> Result<Json<AssetDetail>, ApiError> {
    let st = state.clone();
    Ok(Json(blocking(move || detail(&st, &id, &p)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn sorting_puts_missing_values_last_and_breaks_ties_by_id() {
        let mk = |id: &str, mtbf: Option<f64>| {
            let mut t = crate::assets::Tally::new(0, 28);
            t.add(&crate::assets::OrderFacts {
                asset_id: Some(id),
                asset_name: None,
                criticality: None,
                site: None,
                area: None,
                crew: None,
                failure_code: None,
                kind: Kind::Preventive,
                created: -1,
                done: None,
                due: None,
                hours: 1.0,
                downtime: None,
                repair: None,
                cost: None,
                pm_deadline: None,
            });
            let mut s = t.finish().assets.remove(0);
            s.mtbf_hours = mtbf;
            s
        };
        let mut v = vec![
            mk("c", None),
            mk("b", Some(5.0)),
            mk("a", Some(5.0)),
            mk("d", Some(9.0)),
        ];
        sort_assets(&mut v, "mtbf_hours", true);
        let ids: Vec<&str> = v.iter().map(|s| s.asset_id.as_str()).collect();
        assert_eq!(ids, ["d", "a", "b", "c"]);
    }
}
