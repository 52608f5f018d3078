//! `/quality`: what is wrong with the CMMS's orders, per scope, for the planner who fixes it at
//! the source: each problem's count and share, its share among the orders created in each of
//! the last 12 weeks, the orders that have it (linked to the CMMS; all of them in the orders
//! list and its CSV), and the rows the last imports rejected. `GET /api/v1/quality` is the same
//! report as JSON. The rules are `crate::quality`.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};

use super::layout::{Nav, fmt_time, layout, order_link, orders_href, page_href, scope_selects};
use super::params::QualityParams;
use super::{ApiError, AppError, AppState, ErrorBody, blocking, charts};
use crate::metrics::Scope;
use crate::metrics::orders::{OrderPage, OrderQuery};
use crate::quality::{self, Problem, QualityReport};
use crate::store::{ImportRun, Rejection};

/// Weeks of creation the trend covers.
pub const WEEKS: u32 = 12;
/// Orders the page lists under a problem (the orders page has them all).
const LISTED: usize = 25;
/// Import runs with rejections the page shows, and rejections per run.
const RUNS_SHOWN: usize = 3;
const REJECTIONS_SHOWN: usize = 10;

fn report_of(state: &AppState, scope: Scope) -> Result<QualityReport, AppError> {
    let loaded = state.loaded();
    let (total, q, weeks) = loaded.engine.quality(&scope, WEEKS, Utc::now())?;
    Ok(quality::report(scope, total, &q, &weeks))
}

/// The data-quality report of a scope: per problem its count over the stored orders (as
/// `quality` of `/api/v1/kpis`), its share, and its share among each week's new orders.
#[utoipa::path(get, path = "/api/v1/quality", params(
    ("site" = Option<String>, Query), ("area" = Option<String>, Query), ("crew" = Option<String>, Query),
), responses(
    (status = 200, description = "The report; the orders of a problem are `/api/v1/orders?quality=KEY`", body = QualityReport),
    (status = 400, description = "An unknown scope", body = ErrorBody),
))]
pub async fn api_get(
    State(state): State<AppState>,
    Query(p): Query<QualityParams>,
) -> Result<Json<QualityReport>, ApiError> {
    let scope = p.scope(&state)?;
    let me = state.clone();
    Ok(Json(blocking(move || report_of(&me, scope)).await?))
}

/// Runs with rejected rows, newest first, with their first rejections.
type RejectedRuns = Vec<(ImportRun, Vec<Rejection>)>;

pub async fn page(
    State(state): State<AppState>,
    Query(p): Query<QualityParams>,
) -> Result<Response, AppError> {
    let scope = p.scope(&state)?;
    let chosen = p.problem()?;
    let me = state.clone();
    let (report, listed, runs) = blocking(move || {
        let report = report_of(&me, scope.clone())?;
        // The orders of the chosen problem, or of the largest one.
        let problem = chosen.or_else(|| {
            report
                .problems
                .iter()
                .filter(|p| p.count > 0)
                .max_by_key(|p| p.count)
                .map(|p| p.problem)
        });
        let listed = match problem {
            Some(pr) => Some((
                pr,
                me.loaded().engine.orders(&OrderQuery {
                    scope: scope.clone(),
                    quality: Some(pr),
                    limit: Some(LISTED),
                    ..OrderQuery::default()
                })?,
            )),
            None => None,
        };
        let runs = me.with_store(|s| -> Result<RejectedRuns, AppError> {
            let mut out = Vec::new();
            for run in s.runs(50)? {
                if out.len() == RUNS_SHOWN {
                    break;
                }
                if run.counts.rejected > 0 {
                    let mut rows = s.rejections(run.id)?;
                    rows.truncate(REJECTIONS_SHOWN);
                    out.push((run, rows));
                }
            }
            Ok(out)
        })?;
        Ok((report, listed, runs))
    })
    .await?;
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let cfg = state.config();
    let scope = &report.scope;
    let dates: Vec<NaiveDate> = report
        .problems
        .first()
        .map(|p| p.weeks.iter().map(|w| w.week_start).collect())
        .unwrap_or_default();
    let shares: Vec<Vec<Option<f64>>> = report
        .problems
        .iter()
        .map(|p| p.weeks.iter().map(|w| w.share_pct).collect())
        .collect();
    let series: Vec<(&str, &[Option<f64>])> = report
        .problems
        .iter()
        .zip(&shares)
        .map(|(p, s)| (p.label, s.as_slice()))
        .collect();
    let body = html! {
        h1 { "Data quality" @if scope.key() != "plant" { " — " (scope.label()) } }
        form class="filters" method="get" action="/quality" {
            (scope_selects(&nav, scope.crew.as_deref(), scope.area.as_deref()))
            button type="submit" { "Show" }
        }
        p class="note" {
            (report.total_orders) " stored orders in this scope, cancelled ones included. Each problem is fixed where the order is entered, in the CMMS; the next import brings the fix here."
        }
        table class="orders full quality" {
            thead { tr {
                th { "Problem" }
                th class="num" { "Orders" }
                th class="num" { "Share" }
                th { "New orders, last " (WEEKS) " weeks" }
                th { "What it does to the numbers" }
                th { "Fix" }
            } }
            tbody {
                @for pr in &report.problems {
                    tr data-problem=(pr.problem.key()) class=(if pr.count > 0 { "has" } else { "" }) {
                        td { a href=(page_href("/quality", scope, &format!("problem={}", pr.problem.key()))) { (pr.label) } }
                        td class="num" data-label="orders" data-count=(pr.count) { (pr.count) }
                        td class="num" data-label="share" { (pct(pr.share_pct)) }
                        td data-label="trend" { (trend_words(&pr.weeks)) }
                        td data-label="breaks" { (pr.breaks) }
                        td data-label="fix" { (pr.fix) }
                    }
                }
                tr data-problem="rejected_rows_last_import" {
                    td { a href="#rejected" { "Rows rejected by the last import" } }
                    td class="num" data-count=(report.rejected_rows_last_import) { (report.rejected_rows_last_import) }
                    td class="num" { "—" }
                    td { "—" }
                    td { "in no order: whatever they held is missing from every number" }
                    td { "correct the rows in the export, or the profile's map (docs/profiles.md)" }
                }
            }
        }
        div class="panel wide" {
            (charts::line_chart_wide(
                &format!("Share of each week's new orders with the problem, % (weeks from Monday, {})", cfg.plant.tz),
                &dates,
                &series,
                None,
            ))
        }
        @if let Some((pr, page)) = &listed {
            (listed_orders(state.config(), scope, *pr, page))
        }
        h2 id="rejected" { "Rows rejected by the last imports" }
        @if runs.is_empty() {
            p class="note" { "The last imports rejected no rows." }
        }
        @for (run, rows) in &runs {
            h3 { a href={"/imports/" (run.id)} { "Run " (run.id) } " — " (run.file.as_deref().unwrap_or(run.source.as_str())) ", " (fmt_time(cfg, Some(run.started_at))) ": " (run.counts.rejected) " rejected" }
            table class="orders full" {
                thead { tr { th class="num" { "Line" } th { "Field" } th { "Value" } th { "Reason" } } }
                tbody {
                    @for r in rows {
                        tr { td class="num" { (r.line) } td { (r.field) } td { code { (r.value) } } td { (r.reason) } }
                    }
                }
            }
            @if run.counts.rejected as usize > rows.len() {
                p class="note" { a href={"/imports/" (run.id)} { "All " (run.counts.rejected) " rejected rows of run " (run.id) } }
            }
        }
    };
    Ok(Html(layout("Data quality — Gemba", &nav, None, body).into_string()).into_response())
}

fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) if v > 0.0 && v < 1.0 => "<1 %".into(),
        Some(v) => format!("{v:.0} %"),
        None => "—".into(),
    }
}

/// The trend in words: the share among new orders in the last six weeks against the six
/// before.
fn trend_words(weeks: &[quality::WeekShare]) -> String {
    match quality::trend_points(weeks) {
        None => "no new orders".into(),
        Some(d) if d.abs() < 1.0 => "steady".into(),
        Some(d) if d < 0.0 => format!("better: {:.0} points fewer", -d),
        Some(d) => format!("worse: {d:.0} points more"),
    }
}

fn listed_orders(
    cfg: &crate::config::Config,
    scope: &Scope,
    pr: Problem,
    page: &OrderPage,
) -> Markup {
    let all = orders_href(scope, &format!("quality={}", pr.key()));
    let csv = all.replacen("/orders", "/orders.csv", 1);
    html! {
        h2 id="orders" { (pr.label()) ": " (page.total) " orders" }
        p class="note" {
            "Fix: " (pr.fix()) ". "
            a href=(all) { "All of them in the orders list" } " · "
            a class="download" href=(csv) { "Download CSV" }
        }
        table class="orders full" data-listed=(pr.key()) {
            thead { tr { th { "Order" } th { "Title" } th { "Kind" } th { "Status" } th { "Crew" } th { "Asset" } th { "Created" } } }
            tbody {
                @for o in &page.orders {
                    tr {
                        td { (order_link(cfg, &o.source, &o.id)) br; span class="source" { (o.source) } }
                        td { (o.title) }
                        td data-label="kind" { (o.kind.as_str().replace('_', " ")) }
                        td data-label="status" { (o.status.as_str().replace('_', " ")) }
                        td data-label="crew" { (o.crew.as_deref().unwrap_or("—")) }
                        td data-label="asset" { (o.asset_name.as_deref().or(o.asset_id.as_deref()).unwrap_or("—")) }
                        td data-label="created" { (fmt_time(cfg, Some(o.created_at))) }
                    }
                }
            }
        }
        @if page.total > page.orders.len() {
            p class="note" { "The oldest " (page.orders.len()) " of " (page.total) "; " a href=(all) { "all of them" } "." }
        }
    }
}
