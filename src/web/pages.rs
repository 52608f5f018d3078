//! The pages around the board: layout and navigation, trends, orders, imports, the welcome page
//! that offers the demo plant, and error pages. Every value from a CMMS is escaped by maud.

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{AppError, AppState, Loaded, ago, charts};
use crate::config::Config;
use crate::metrics::orders::{OrderPage, OrderQuery, OrderRow, SortKey};
use crate::metrics::{Engine, Scope, Step, TREND_METRICS, Trend};
use crate::model::{Kind, Status};
use crate::report::display_of;

/// The scopes to navigate between: areas and crews, from the config and the data.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub sites: Vec<String>,
    pub areas: Vec<String>,
    pub crews: Vec<String>,
}

impl Nav {
    pub fn build(e: &Engine) -> Result<Nav, AppError> {
        let mut nav = Nav::default();
        for s in e.snapshot_scopes()? {
            match (s.site, s.area, s.crew) {
                (Some(x), None, None) => nav.sites.push(x),
                (None, Some(x), None) => nav.areas.push(x),
                (None, None, Some(x)) => nav.crews.push(x),
                _ => {}
            }
        }
        Ok(nav)
    }
}

fn scope_query(scope: &Scope) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if let Some(v) = &scope.site {
        q.append_pair("site", v);
    }
    if let Some(v) = &scope.area {
        q.append_pair("area", v);
    }
    if let Some(v) = &scope.crew {
        q.append_pair("crew", v);
    }
    q.finish()
}

pub fn board_href(scope: &Scope, kiosk: bool) -> String {
    let q = scope_query(scope);
    match (q.is_empty(), kiosk) {
        (true, false) => "/".into(),
        (true, true) => "/?kiosk=1".into(),
        (false, false) => format!("/board?{q}"),
        (false, true) => format!("/board?{q}&kiosk=1"),
    }
}

pub fn orders_href(scope: &Scope, extra: &str) -> String {
    let q = scope_query(scope);
    match (q.is_empty(), extra.is_empty()) {
        (true, true) => "/orders".into(),
        (true, false) => format!("/orders?{extra}"),
        (false, true) => format!("/orders?{q}"),
        (false, false) => format!("/orders?{q}&{extra}"),
    }
}

/// An order's id, linked to its CMMS page when the config knows the pattern for its source.
pub fn order_link(cfg: &Config, source: &str, id: &str) -> Markup {
    match cfg.order_links.get(source) {
        Some(pattern) => {
            let url = pattern.replace(
                "{id}",
                &form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>(),
            );
            html! { a class="id" href=(url) rel="noopener noreferrer" target="_blank" { (id) } }
        }
        None => html! { span class="id" { (id) } },
    }
}

/// Validates a scope from query parameters: an unknown crew, site or area is a 400 listing the
/// known ones.
pub fn checked_scope(
    state: &AppState,
    site: Option<String>,
    area: Option<String>,
    crew: Option<String>,
) -> Result<Scope, AppError> {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let scope = Scope {
        site: clean(site),
        area: clean(area),
        crew: clean(crew),
    };
    let loaded = state.loaded();
    loaded.engine.check_scope(&scope)?;
    let nav = Nav::build(&loaded.engine)?;
    for (what, value, known) in [
        ("site", &scope.site, &nav.sites),
        ("area", &scope.area, &nav.areas),
    ] {
        if let Some(v) = value
            && !known.contains(v)
        {
            return Err(AppError::bad_request(format!(
                "no {what} named `{v}`; known: {}",
                known.join(", ")
            )));
        }
    }
    Ok(scope)
}

pub(crate) fn parse_date(name: &str, v: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::bad_request(format!("{name}: `{v}` is not a date; use YYYY-MM-DD")))
}

/// "imported 06:12, 2 h ago" (or why there is nothing).
pub fn freshness(loaded: &Loaded, now: DateTime<Utc>, cfg: &Config) -> Markup {
    match &loaded.last_run {
        Some(r) => {
            let at = r.finished_at.unwrap_or(r.started_at);
            let verb = match r.kind.as_str() {
                "demo" => "demo loaded",
                "sync" => "synced",
                _ => "imported",
            };
            html! {
                div class={"freshness " (if r.outcome == "failed" { "warn" } else { "" })} {
                    (verb) " " (at.with_timezone(&cfg.plant.tz).format("%H:%M").to_string()) ", " (ago(at, now))
                    @if r.outcome == "failed" { " — the last import failed: " a href={"/imports/" (r.id)} { "see why" } }
                }
            }
        }
        None => html! { div class="freshness warn" { "no data imported yet" } },
    }
}

pub fn layout(
    title: &str,
    nav: &Nav,
    current: Option<&Scope>,
    kiosk: bool,
    refresh: Option<&str>,
    body: Markup,
) -> Markup {
    let here = current.map(Scope::key);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(r) = refresh { meta http-equiv="refresh" content=(r); }
                title { (title) }
                link rel="stylesheet" href="/static/gemba.css";
                @if kiosk { script src="/static/board.js" defer {} }
            }
            body class=(if kiosk { "kiosk" } else { "" }) {
                @if !kiosk {
                    nav class="top" aria-label="Boards and pages" {
                        a class="brand" href="/" { "Gemba" }
                        a href="/" class=(if here.as_deref() == Some("plant") { "here" } else { "" }) { "Plant" }
                        @for a in &nav.areas {
                            @let s = Scope { area: Some(a.clone()), ..Scope::default() };
                            a href=(board_href(&s, false)) class=(if here.as_deref() == Some(s.key().as_str()) { "here" } else { "" }) { (a) }
                        }
                        span class="sep" { "|" }
                        @for c in &nav.crews {
                            @let s = Scope::crew(c);
                            a href=(board_href(&s, false)) class=(if here.as_deref() == Some(s.key().as_str()) { "here" } else { "" }) { (c) }
                        }
                        span class="sep" { "|" }
                        a href="/trends" { "Trends" }
                        a href="/orders" { "Orders" }
                        a href="/imports" { "Imports" }
                        a href="/huddles" { "Huddles" }
                        @if let Some(s) = current { a href=(board_href(s, true)) { "TV view" } }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    Html(
        layout(
            &format!("{} — Gemba", status.canonical_reason().unwrap_or("Error")),
            &Nav::default(),
            None,
            false,
            None,
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p class="error" { (message) }
                p { a href="/" { "Back to the plant board" } }
            },
        )
        .into_string(),
    )
}

/// The first page on an empty store: what Gemba is, and the demo plant one click away.
pub fn welcome(state: &AppState, viewer: &super::auth::Viewer) -> Markup {
    let cfg = state.config();
    layout(
        "Welcome — Gemba",
        &Nav::default(),
        None,
        false,
        None,
        html! {
            h1 { "Gemba has no work orders yet" }
            p { "The store " code { (state.db_url()) } " is empty. Gemba shows the numbers a maintenance team steers by — backlog in crew-weeks, reactive work, PM compliance, what is overdue or stuck — once it has work orders from your CMMS." }
            @if let Some(token) = viewer.csrf() {
                form method="post" action="/demo" {
                    (super::actions::csrf_field(token))
                    button type="submit" class="big" { "Load the demo plant" }
                }
            } @else {
                p { a href="/login" { "Log in" } " to load the demo plant." }
            }
            p class="note" { "The demo plant: a year of history for " (cfg.plant.name) ", " (cfg.crews.len()) " crews." }
            h2 { "Or bring your own data" }
            pre { "gemba import export.csv --profile generic      # or atlas, maximo, sap-pm" }
            p { "The board updates by itself a few seconds after an import." }
        },
    )
}

/// A form that carries only its CSRF token (the demo button, log out).
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A path a form may send the browser back to: one on this site, never `//host` or `\`.
pub fn local_path(path: &str) -> Option<&str> {
    (path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')).then_some(path)
}

pub async fn load_demo(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, AppError> {
    super::auth::Viewer::of(&state, &headers).check(&f.csrf)?;
    let me = state.clone();
    tokio::task::spawn_blocking(move || -> Result<(), AppError> {
        let empty = me.with_store(|s| s.order_count())? == 0;
        if empty {
            let cfg = me.config().clone();
            me.with_store(|s| {
                crate::demo::load_into(
                    s,
                    &cfg,
                    crate::demo::DemoParams::year_to_today(42, 30.0, 365, cfg.plant.tz),
                )
            })
            .map_err(|e| AppError::internal(e.to_string()))?;
            me.reload()?;
            me.refresh_if_changed()?;
        }
        Ok(())
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Redirect::to("/").into_response())
}

// ---- trends ----

/// Query of the trends page and its CSV: repeated or comma-separated `metric` and `scope`.
pub struct TrendParams {
    pub metrics: Vec<String>,
    pub scopes: Vec<Scope>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub every: String,
    pub window_days: Option<u32>,
    /// `areas`, `crews` or `sites` when those are compared side by side.
    pub compare: Option<String>,
}

pub fn parse_trend_query(state: &AppState, raw: Option<&str>) -> Result<TrendParams, AppError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let many = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let one = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let mut metrics = many("metric");
    if metrics.is_empty() {
        metrics = vec![
            "backlog_weeks".into(),
            "reactive_pct".into(),
            "pm_compliance_pct".into(),
        ];
    }
    for m in &metrics {
        if !TREND_METRICS.contains(&m.as_str()) {
            return Err(AppError::bad_request(format!(
                "unknown metric `{m}`; metrics are: {}",
                TREND_METRICS.join(", ")
            )));
        }
    }
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let mut scopes = Vec::new();
    for key in many("scope") {
        let s = Scope::from_key(&key).ok_or_else(|| {
            AppError::bad_request(format!(
                "scope `{key}`: use plant, site:NAME, area:NAME or crew:NAME"
            ))
        })?;
        scopes.push(checked_scope(state, s.site, s.area, s.crew)?);
    }
    let compare = one("compare");
    match compare.as_deref() {
        None => {}
        Some("areas") => scopes.extend(nav.areas.iter().map(|a| Scope {
            area: Some(a.clone()),
            ..Scope::default()
        })),
        Some("crews") => scopes.extend(nav.crews.iter().map(|c| Scope::crew(c))),
        Some("sites") => scopes.extend(nav.sites.iter().map(|s| Scope {
            site: Some(s.clone()),
            ..Scope::default()
        })),
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "compare: `{other}`; use areas, crews or sites"
            )));
        }
    }
    if one("site").is_some() || one("area").is_some() || one("crew").is_some() {
        scopes.push(checked_scope(state, one("site"), one("area"), one("crew"))?);
    }
    if scopes.is_empty() {
        scopes.push(Scope::plant());
    }
    if scopes.len() > 12 {
        return Err(AppError::bad_request("at most 12 scopes side by side"));
    }
    let today = loaded.engine.today();
    let to = one("to")
        .map(|v| parse_date("to", &v))
        .transpose()?
        .unwrap_or(today);
    let from = one("from")
        .map(|v| parse_date("from", &v))
        .transpose()?
        .unwrap_or(to - Duration::weeks(52));
    let every = one("every").unwrap_or_else(|| "7d".into());
    let window_days = one("window_days")
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                AppError::bad_request(format!("window_days: `{v}` is not a whole number of days"))
            })
        })
        .transpose()?;
    Ok(TrendParams {
        metrics,
        scopes,
        from,
        to,
        every,
        window_days,
        compare,
    })
}

fn compute_trends(state: &AppState, p: &TrendParams) -> Result<Vec<Trend>, AppError> {
    let loaded = state.loaded();
    let step: Step = p.every.parse()?;
    p.scopes
        .iter()
        .map(|s| {
            Ok(loaded
                .engine
                .trend(&p.metrics, p.from, p.to, step, p.window_days, s)?)
        })
        .collect()
}

/// The parameters of a trends request and its series, one per scope (computed off the runtime).
async fn trends_for(
    state: &AppState,
    raw: Option<&str>,
) -> Result<(TrendParams, Vec<Trend>), AppError> {
    let p = parse_trend_query(state, raw)?;
    let me = state.clone();
    tokio::task::spawn_blocking(move || compute_trends(&me, &p).map(|t| (p, t)))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
}

pub async fn trends_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (p, trends) = trends_for(&state, raw.as_deref()).await?;
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let dates: Vec<NaiveDate> = trends[0].points.iter().map(|t| t.as_of).collect();
    let csv_href = format!("/trends.csv?{}", raw.unwrap_or_default());
    let cfg = state.config();
    let body = html! {
        h1 { "Trends" }
        form class="filters" method="get" action="/trends" {
            label { "Metrics " select name="metric" multiple size="4" {
                @for m in TREND_METRICS {
                    option value=(m) selected[p.metrics.iter().any(|x| x == m)] { (display_of(m).map_or(*m, |d| d.label)) }
                }
            } }
            label { "Side by side " select name="compare" {
                option value="" { "—" }
                @for (v, l) in [("areas", "all areas"), ("crews", "all crews"), ("sites", "all sites")] {
                    option value=(v) selected[p.compare.as_deref() == Some(v)] { (l) }
                }
            } }
            label { "From " input type="date" name="from" value=(p.from.to_string()); }
            label { "To " input type="date" name="to" value=(p.to.to_string()); }
            label { "Every " select name="every" {
                @for (v, l) in [("1d", "day"), ("7d", "week"), ("1mo", "month")] {
                    option value=(v) selected[p.every == v] { (l) }
                }
            } }
            button type="submit" { "Show" }
            a class="download" href=(csv_href) { "Download CSV" }
        }
        p class="note" { "Scopes: " (p.scopes.iter().map(Scope::label).collect::<Vec<_>>().join(", ")) ". Each point is the metric as it stood at the end of that day." }
        @for (i, m) in p.metrics.iter().enumerate() {
            @let series: Vec<(String, Vec<Option<f64>>)> = trends.iter().map(|t| (t.scope.label(), t.points.iter().map(|pt| pt.values[i]).collect())).collect();
            @let refs: Vec<(&str, &[Option<f64>])> = series.iter().map(|(l, v)| (l.as_str(), v.as_slice())).collect();
            div class="panel wide" {
                (charts::line_chart_wide(&display_of(m).map_or(m.clone(), |d| format!("{} ({})", d.label, if d.unit.is_empty() { "count" } else { d.unit })), &dates, &refs, cfg.targets.get(m.as_str())))
            }
        }
    };
    Ok(Html(layout("Trends — Gemba", &nav, None, false, None, body).into_string()).into_response())
}

pub async fn trends_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (p, trends) = trends_for(&state, raw.as_deref()).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["as_of".to_string()];
    for t in &trends {
        for m in &p.metrics {
            header.push(format!("{} {}", t.scope.key(), m));
        }
    }
    w.write_record(&header)
        .map_err(|e| AppError::internal(e.to_string()))?;
    for (i, pt) in trends[0].points.iter().enumerate() {
        let mut row = vec![pt.as_of.to_string()];
        for t in &trends {
            row.extend(
                t.points[i]
                    .values
                    .iter()
                    .map(|v| v.map(|v| v.to_string()).unwrap_or_default()),
            );
        }
        w.write_record(&row)
            .map_err(|e| AppError::internal(e.to_string()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::internal(e.to_string()))?;
    Ok(csv_response("gemba-trends.csv", body))
}

fn csv_response(name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

// ---- orders ----

/// The query string `raw` without the parameters named.
fn query_without(raw: &str, names: &[&str]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if !names.contains(&k.as_ref()) {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

#[derive(Debug, Deserialize, Default)]
pub struct OrdersParams {
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Comma-separated kinds.
    pub kind: Option<String>,
    pub open: Option<String>,
    pub overdue: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "on" | "yes"))
}

fn list<T: std::str::FromStr<Err = String>>(
    name: &str,
    v: &Option<String>,
) -> Result<Vec<T>, AppError> {
    v.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| AppError::bad_request(format!("{name}: {e}")))
        })
        .collect()
}

pub const PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 1000;

impl OrdersParams {
    pub fn query(&self, state: &AppState, paged: bool) -> Result<OrderQuery, AppError> {
        let scope = checked_scope(
            state,
            self.site.clone(),
            self.area.clone(),
            self.crew.clone(),
        )?;
        let per_page = self.per_page.unwrap_or(PER_PAGE);
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(AppError::bad_request(format!(
                "per_page must be from 1 to {MAX_PER_PAGE}"
            )));
        }
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(AppError::bad_request("page starts at 1"));
        }
        let descending = match self.dir.as_deref() {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(d) => {
                return Err(AppError::bad_request(format!(
                    "dir: `{d}`; use asc or desc"
                )));
            }
        };
        Ok(OrderQuery {
            scope,
            statuses: list::<Status>("status", &self.status)?,
            kinds: list::<Kind>("kind", &self.kind)?,
            open: flag(&self.open),
            overdue: flag(&self.overdue),
            sort: match self.sort.as_deref() {
                None | Some("") => SortKey::Age,
                Some(s) => s.parse().map_err(AppError::bad_request)?,
            },
            descending,
            offset: if paged { (page - 1) * per_page } else { 0 },
            limit: paged.then_some(per_page),
            ..OrderQuery::default()
        })
    }
}

pub fn run_orders(
    state: &AppState,
    q: OrderQuery,
) -> impl std::future::Future<Output = Result<OrderPage, AppError>> {
    let me = state.clone();
    async move {
        tokio::task::spawn_blocking(move || Ok(me.loaded().engine.orders(&q)?))
            .await
            .map_err(|e| AppError::internal(e.to_string()))?
    }
}

fn fmt_time(cfg: &Config, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| {
        t.with_timezone(&cfg.plant.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

pub async fn orders_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Query(p): Query<OrdersParams>,
) -> Result<Response, AppError> {
    let q = p.query(&state, true)?;
    let per_page = q.limit.unwrap_or(PER_PAGE);
    let page_no = p.page.unwrap_or(1);
    let result = run_orders(&state, q.clone()).await?;
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let cfg = state.config();
    let raw = raw.unwrap_or_default();
    // Links keep the current filters and change one thing; a new filter starts at page 1.
    let without = |names: &[&str]| query_without(&raw, names);
    let link = |base: String, extra: String| {
        format!(
            "/orders?{base}{}{extra}",
            if base.is_empty() { "" } else { "&" }
        )
    };
    let sort_link = |key: &str| {
        let dir = if q.sort == key.parse().unwrap_or_default() && !q.descending {
            "desc"
        } else {
            "asc"
        };
        link(
            without(&["sort", "dir", "page"]),
            format!("sort={key}&dir={dir}"),
        )
    };
    let pages = result.total.div_ceil(per_page).max(1);
    let page_link = |n: usize| link(without(&["page"]), format!("page={n}"));
    let statuses = list::<Status>("status", &p.status)?;
    let kinds = list::<Kind>("kind", &p.kind)?;
    let body = html! {
        h1 { "Work orders" }
        form class="filters" method="get" action="/orders" {
            label { "Crew " select name="crew" {
                option value="" { "all" }
                @for c in &nav.crews { option value=(c) selected[p.crew.as_deref() == Some(c.as_str())] { (c) } }
            } }
            label { "Area " select name="area" {
                option value="" { "all" }
                @for a in &nav.areas { option value=(a) selected[p.area.as_deref() == Some(a.as_str())] { (a) } }
            } }
            label { "Status " select name="status" {
                option value="" { "all" }
                @for s in Status::ALL { option value=(s.as_str()) selected[statuses.len() == 1 && statuses[0] == *s] { (s.as_str().replace('_', " ")) } }
            } }
            label { "Kind " select name="kind" {
                option value="" { "all" }
                @for k in Kind::ALL { option value=(k.as_str()) selected[kinds.len() == 1 && kinds[0] == *k] { (k.as_str().replace('_', " ")) } }
            } }
            label { input type="checkbox" name="open" value="1" checked[flag(&p.open)]; " open only" }
            label { input type="checkbox" name="overdue" value="1" checked[flag(&p.overdue)]; " overdue only" }
            button type="submit" { "Filter" }
            a class="download" href={"/orders.csv?" (without(&["page"]))} { "Download CSV" }
        }
        p class="note" { (result.total) " orders" @if result.total > 0 { ", showing " (result.offset + 1) "–" (result.offset + result.orders.len()) } }
        table class="orders full" {
            thead { tr {
                th { a href=(sort_link("id")) { "Order" } }
                th { "Title" }
                th { "Kind" }
                th { "Status" }
                th { a href=(sort_link("priority")) { "Prio" } }
                th { "Crew" }
                th { "Asset" }
                th { a href=(sort_link("created")) { "Created" } }
                th { a href=(sort_link("age")) { "Age, d" } }
                th { a href=(sort_link("due")) { "Due" } }
            } }
            tbody {
                @for o in &result.orders {
                    tr class=(if o.overdue_days.is_some() { "late" } else { "" }) {
                        td { (order_link(cfg, &o.source, &o.id)) br; span class="source" { (o.source) } }
                        td { (o.title) }
                        td { (o.kind.as_str().replace('_', " ")) }
                        td { (o.status.as_str().replace('_', " ")) }
                        td { "P" (o.priority) }
                        td { (o.crew.as_deref().unwrap_or("—")) }
                        td { (o.asset_name.as_deref().or(o.asset_id.as_deref()).unwrap_or("—")) }
                        td { (fmt_time(cfg, Some(o.created_at))) }
                        td class="num" { (o.age_days) }
                        td { (fmt_time(cfg, o.due_at)) @if let Some(d) = o.overdue_days { " " span class="late" { "(" (d) " d late)" } } }
                    }
                }
            }
        }
        @if pages > 1 {
            nav class="pages" aria-label="Pages" {
                @if page_no > 1 { a href=(page_link(page_no - 1)) { "← previous" } }
                " page " (page_no) " of " (pages) " "
                @if page_no < pages { a href=(page_link(page_no + 1)) { "next →" } }
            }
        }
    };
    Ok(Html(layout("Orders — Gemba", &nav, None, false, None, body).into_string()).into_response())
}

/// Orders as CSV rows (all matching, unpaged).
pub fn orders_csv_bytes(cfg: &Config, orders: &[OrderRow]) -> Result<Vec<u8>, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| AppError::internal(e.to_string());
    w.write_record([
        "source",
        "id",
        "title",
        "kind",
        "status",
        "priority",
        "site",
        "area",
        "crew",
        "assignee",
        "asset_id",
        "asset_name",
        "created_at",
        "due_at",
        "age_days",
        "overdue_days",
        "estimate_hours",
        "link",
    ])
    .map_err(e)?;
    for o in orders {
        let link = cfg
            .order_links
            .get(&o.source)
            .map(|p| p.replace("{id}", &o.id))
            .unwrap_or_default();
        w.write_record([
            o.source.clone(),
            o.id.clone(),
            o.title.clone(),
            o.kind.as_str().into(),
            o.status.as_str().into(),
            o.priority.to_string(),
            o.site.clone().unwrap_or_default(),
            o.area.clone().unwrap_or_default(),
            o.crew.clone().unwrap_or_default(),
            o.assignee.clone().unwrap_or_default(),
            o.asset_id.clone().unwrap_or_default(),
            o.asset_name.clone().unwrap_or_default(),
            o.created_at.to_rfc3339(),
            o.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
            o.age_days.to_string(),
            o.overdue_days.map(|d| d.to_string()).unwrap_or_default(),
            o.estimate_hours.to_string(),
            link,
        ])
        .map_err(e)?;
    }
    w.into_inner()
        .map_err(|e| AppError::internal(e.to_string()))
}

pub async fn orders_csv(
    State(state): State<AppState>,
    Query(p): Query<OrdersParams>,
) -> Result<Response, AppError> {
    let q = p.query(&state, false)?;
    let result = run_orders(&state, q).await?;
    Ok(csv_response(
        "gemba-orders.csv",
        orders_csv_bytes(state.config(), &result.orders)?,
    ))
}

// ---- imports ----

pub async fn imports_page(State(state): State<AppState>) -> Result<Response, AppError> {
    let me = state.clone();
    let (runs, jobs) = tokio::task::spawn_blocking(move || {
        me.with_store(|s| -> Result<_, AppError> { Ok((s.runs(100)?, s.job_runs(None, 30)?)) })
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let cfg = state.config();
    let now = Utc::now();
    let body = html! {
        h1 { "Imports" }
        @if !cfg.schedules.is_empty() {
            h2 { "Scheduled jobs" }
            p class="note" { "Each job run takes the settled files of its drop folder (docs/schedules.md); each file is one import below." }
            table class="orders full" {
                thead { tr { th { "Job" } th { "Started" } th { "Trigger" } th class="num" { "Files imported" } th class="num" { "Failed" } th class="num" { "Skipped" } th class="num" { "Rows upserted" } th class="num" { "Rejected" } th { "Outcome" } } }
                tbody {
                    @for j in &jobs {
                        tr class=(if j.outcome == "failed" { "late" } else { "" }) data-job-run=(j.id) {
                            td { (j.job) }
                            td { (fmt_time(cfg, Some(j.started_at))) " (" (ago(j.started_at, now)) ")" }
                            td { (j.trigger) }
                            td class="num" { (j.files_imported) }
                            td class="num" { (j.files_failed) }
                            td class="num" { (j.files_skipped) }
                            td class="num" { (j.counts.upserted) }
                            td class="num" { (j.counts.rejected) }
                            td { (j.outcome) @if let Some(e) = &j.error { br; span class="error" { (e) } } }
                        }
                    }
                }
            }
            h2 { "Import runs" }
        }
        p class="note" { "Every CSV import, API sync and demo load, newest first. A failed run changed nothing in the store." }
        table class="orders full" {
            thead { tr { th { "Run" } th { "Started" } th { "Kind" } th { "Source" } th { "File" } th class="num" { "Read" } th class="num" { "Upserted" } th class="num" { "Rejected" } th { "Outcome" } } }
            tbody {
                @for r in &runs {
                    tr class=(if r.outcome == "failed" { "late" } else { "" }) {
                        td { a href={"/imports/" (r.id)} { (r.id) } }
                        td { (fmt_time(cfg, Some(r.started_at))) " (" (ago(r.started_at, now)) ")" }
                        td { (r.kind) }
                        td { (r.source) }
                        td { (r.file.as_deref().unwrap_or("")) }
                        td class="num" { (r.counts.read) }
                        td class="num" { (r.counts.upserted) }
                        td class="num" { (r.counts.rejected) }
                        td { (r.outcome) @if let Some(e) = &r.error { br; span class="error" { (e) } } }
                    }
                }
            }
        }
    };
    Ok(
        Html(layout("Imports — Gemba", &nav, None, false, None, body).into_string())
            .into_response(),
    )
}

pub async fn import_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::bad_request(format!("`{id}` is not a run number")))?;
    let me = state.clone();
    let (run, rejections) = tokio::task::spawn_blocking(move || {
        me.with_store(|s| -> Result<_, crate::store::StoreError> {
            let run = s.run(id)?;
            let rej = s.rejections(id)?;
            Ok((run, rej))
        })
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    let Some(run) = run else {
        return Err(AppError {
            status: StatusCode::NOT_FOUND,
            message: format!("no import run {id}"),
        });
    };
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let body = html! {
        h1 { "Import run " (run.id) }
        p { (run.kind) " of " (run.file.as_deref().unwrap_or(&run.source)) " — " strong { (run.outcome) } ": read " (run.counts.read) ", upserted " (run.counts.upserted) ", rejected " (run.counts.rejected) "." }
        @if let Some(e) = &run.error { p class="error" { (e) } }
        @if rejections.is_empty() { p { "No rejected rows." } } @else {
            table class="orders full" {
                thead { tr { th class="num" { "Line" } th { "Field" } th { "Value" } th { "Reason" } } }
                tbody { @for r in &rejections { tr { td class="num" { (r.line) } td { (r.field) } td { code { (r.value) } } td { (r.reason) } } } }
            }
        }
        p { a href="/imports" { "← all imports" } }
    };
    Ok(Html(
        layout(
            &format!("Import {} — Gemba", run.id),
            &nav,
            None,
            false,
            None,
            body,
        )
        .into_string(),
    )
    .into_response())
}
