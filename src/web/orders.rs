//! `/orders`: the work orders, filtered, sorted and paged, and their CSV.

use axum::extract::{Query, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use super::layout::{Nav, csv_response, fmt_time, layout, order_link, scope_selects};
use super::params::{OrdersParams, PER_PAGE, flag, list, query_without};
use super::{AppError, AppState};
use crate::config::Config;
use crate::metrics::orders::OrderRow;
use crate::model::{Kind, Status};
use crate::quality::Problem;

pub async fn orders_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Query(p): Query<OrdersParams>,
) -> Result<Response, AppError> {
    let q = p.query(&state, true)?;
    let per_page = q.limit.unwrap_or(PER_PAGE);
    let page_no = p.page.unwrap_or(1);
    let result = state.orders(q.clone()).await?;
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
            (scope_selects(&nav, p.crew.as_deref(), p.area.as_deref()))
            label { "Status " select name="status" {
                option value="" { "all" }
                @for s in Status::ALL { option value=(s.as_str()) selected[statuses.len() == 1 && statuses[0] == *s] { (s.as_str().replace('_', " ")) } }
            } }
            label { "Kind " select name="kind" {
                option value="" { "all" }
                @for k in Kind::ALL { option value=(k.as_str()) selected[kinds.len() == 1 && kinds[0] == *k] { (k.as_str().replace('_', " ")) } }
            } }
            label { "Data problem " select name="quality" {
                option value="" { "any" }
                @for pr in Problem::ALL { option value=(pr.key()) selected[q.quality == Some(pr)] { (pr.label()) } }
            } }
            label { input type="checkbox" name="open" value="1" checked[flag("open", &p.open).unwrap_or_default()]; " open only" }
            label { input type="checkbox" name="overdue" value="1" checked[flag("overdue", &p.overdue).unwrap_or_default()]; " overdue only" }
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
                        td data-label="kind" { (o.kind.as_str().replace('_', " ")) }
                        td data-label="status" { (o.status.as_str().replace('_', " ")) }
                        td data-label="priority" { "P" (o.priority) }
                        td data-label="crew" { (o.crew.as_deref().unwrap_or("—")) }
                        td data-label="asset" { (o.asset_name.as_deref().or(o.asset_id.as_deref()).unwrap_or("—")) }
                        td data-label="created" { (fmt_time(cfg, Some(o.created_at))) }
                        td class="num" data-label="age, days" { (o.age_days) }
                        td data-label="due" { (fmt_time(cfg, o.due_at)) @if let Some(d) = o.overdue_days { " " span class="late" { "(" (d) " d late)" } } }
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
    Ok(Html(layout("Orders — Gemba", &nav, None, body).into_string()).into_response())
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
        "cost",
        "failure_code",
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
            o.cost.map(|c| c.to_string()).unwrap_or_default(),
            o.failure_code.clone().unwrap_or_default(),
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
    let result = state.orders(q).await?;
    Ok(csv_response(
        "gemba-orders.csv",
        orders_csv_bytes(state.config(), &result.orders)?,
    ))
}
