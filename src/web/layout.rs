//! What every page shares: the page shell (head, navigation, the TV's body class), the error
//! page, links to boards, orders, assets and a CMMS, the data's freshness, times and CSV
//! responses.
//! Page modules build on this and never on each other.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::{AppError, AppState, Loaded, ago};
use crate::config::Config;
use crate::metrics::{Engine, Scope};

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

/// The query of a scope (`site=…&area=…&crew=…`), for links.
pub fn scope_query(scope: &Scope) -> String {
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

/// An asset's page. The id is one path segment: a space is `%20` there (a `+` would stay a plus).
pub fn asset_href(id: &str) -> String {
    let segment: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/assets/{}", segment.replace('+', "%20"))
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
    page_href("/orders", scope, extra)
}

/// `path` with the scope's query and `extra` (already encoded) after it.
pub fn page_href(path: &str, scope: &Scope, extra: &str) -> String {
    let q = scope_query(scope);
    match (q.is_empty(), extra.is_empty()) {
        (true, true) => path.into(),
        (true, false) => format!("{path}?{extra}"),
        (false, true) => format!("{path}?{q}"),
        (false, false) => format!("{path}?{q}&{extra}"),
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

pub fn layout(title: &str, nav: &Nav, current: Option<&Scope>, body: Markup) -> Markup {
    let here = current.map(Scope::key);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/static/gemba.css";
            }
            body {
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
                    a href="/quality" { "Data quality" }
                    a href="/imports" { "Imports" }
                    a href="/huddles" { "Huddles" }
                    a href="/lsw" { "Standard work" }
                    a href="/walks" { "Walks" }
                    a href="/assets" { "Assets" }
                    a href="/a3" { "A3" }
                    a href="/hoshin" { "Hoshin" }
                    a href="/system" { "System" }
                    @if let Some(s) = current { a href=(board_href(s, true)) { "TV view" } }
                }
                main { (body) }
            }
        }
    }
}

/// A page of the site in its shell, with the navigation of the loaded data.
pub fn page_response(state: &AppState, title: &str, body: Markup) -> Result<Response, AppError> {
    let nav = Nav::build(&state.loaded().engine)?;
    Ok(Html(layout(title, &nav, None, body).into_string()).into_response())
}

/// The crew and area choosers of a page's filter form, the current ones selected.
pub fn scope_selects(nav: &Nav, crew: Option<&str>, area: Option<&str>) -> Markup {
    html! {
        label { "Crew " select name="crew" {
            option value="" { "all" }
            @for c in &nav.crews { option value=(c) selected[crew == Some(c.as_str())] { (c) } }
        } }
        label { "Area " select name="area" {
            option value="" { "all" }
            @for a in &nav.areas { option value=(a) selected[area == Some(a.as_str())] { (a) } }
        } }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    Html(
        layout(
            &format!("{} — Gemba", status.canonical_reason().unwrap_or("Error")),
            &Nav::default(),
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

/// A hidden field with the form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

pub fn fmt_time(cfg: &Config, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| {
        t.with_timezone(&cfg.plant.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

pub fn csv_response(name: &str, body: Vec<u8>) -> Response {
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

/// Where to go after a form: a local path given by the form, else the board's actions.
pub fn back_to(ret: &str, board: &str) -> Redirect {
    match super::params::local_path(ret) {
        Some(path) => Redirect::to(path),
        None => {
            let scope = Scope::from_key(board).unwrap_or_default();
            Redirect::to(&format!("{}#actions", board_href(&scope, false)))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_asset_id_is_one_path_segment() {
        assert_eq!(super::asset_href("PUMP 1/A+B"), "/assets/PUMP%201%2FA%2BB");
        assert_eq!(super::asset_href("PAC-FIL-02"), "/assets/PAC-FIL-02");
    }
}
