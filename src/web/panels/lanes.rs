//! The pull lanes of the board: per crew, what to start next within today's capacity and why,
//! with a what-if for the technicians available today; and the unassigned lane. The what-if is
//! the query parameter `technicians.<crew>=N`, read here for the board and `/api/v1/pull`.

use std::collections::HashMap;

use maud::{Markup, html};

use crate::config::Config;
use crate::metrics::Scope;
use crate::metrics::orders::OrderRow;
use crate::pull::{CrewPull, PullPlan, Unassigned, number};
use crate::web::AppError;
use crate::web::layout;

/// The prefix of a what-if parameter: `technicians.Process Mechanical=5`.
pub const TECHNICIANS: &str = "technicians.";

/// The what-if technicians of a raw query string, by crew. Blank values are ignored; anything
/// else that is not a number is a 400 naming the parameter.
pub fn technicians(raw: Option<&str>) -> Result<HashMap<String, f64>, AppError> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let Some(crew) = k.strip_prefix(TECHNICIANS) else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let n: f64 = v.parse().map_err(|_| {
            AppError::bad_request(format!(
                "{k}: `{v}` is not a number of technicians; use e.g. {TECHNICIANS}{crew}=4"
            ))
        })?;
        out.insert(crew.to_string(), n);
    }
    Ok(out)
}

/// Whether any what-if differs from the configured crews.
pub fn is_what_if(cfg: &Config, technicians: &HashMap<String, f64>) -> bool {
    technicians
        .iter()
        .any(|(crew, n)| cfg.crew(crew).is_none_or(|c| c.technicians != *n))
}

fn order_cell(cfg: &Config, o: &OrderRow) -> Markup {
    html! {
        (layout::order_link(cfg, &o.source, &o.id))
        " " span class="title" { (o.title) }
        @if let Some(a) = o.asset_name.as_ref().or(o.asset_id.as_ref()) { span class="asset" { " · " (a) } }
    }
}

/// The load bar: hours in progress, then suggested, against the day's capacity.
fn load_bar(lane: &CrewPull) -> Markup {
    let cap = lane.capacity_hours;
    let pct = |h: f64| {
        if cap > 0.0 {
            (100.0 * h / cap).min(100.0)
        } else {
            0.0
        }
    };
    let committed = pct(lane.committed_hours);
    let suggested = pct(lane.committed_hours + lane.suggested_hours) - committed;
    let over = lane.load_pct.is_some_and(|p| p > 100.0 + 1e-9);
    // An SVG, as the page's CSP allows no inline styles.
    html! {
        svg class={"loadbar" @if over { " over" }} viewBox="0 0 100 4" preserveAspectRatio="none" role="img"
            aria-label=(format!("in progress {} h, suggested {} h, of {} h", number(lane.committed_hours), number(lane.suggested_hours), number(cap))) {
            rect class="free" x="0" y="0" width="100" height="4" {}
            rect class="committed" x="0" y="0" width=(format!("{committed:.2}")) height="4" {}
            rect class="suggested" x=(format!("{committed:.2}")) y="0" width=(format!("{suggested:.2}")) height="4" {}
        }
    }
}

fn lane_markup(cfg: &Config, lane: &CrewPull, kiosk: bool) -> Markup {
    let what_if = lane.is_what_if();
    html! {
        div class={"lane" @if what_if { " what-if" }} data-crew=(lane.crew) {
            h3 { (lane.crew) }
            p class="cap" { (lane.capacity_words()) }
            p class="cap" {
                (lane.commitment_words())
                @if let Some(p) = lane.load_pct { " · load " strong { (format!("{p:.0}%")) } }
            }
            (load_bar(lane))
            @if !kiosk {
                div class="whatif" {
                    label {
                        "Technicians today "
                        input type="number" name=(format!("{TECHNICIANS}{}", lane.crew)) value=(number(lane.technicians))
                            min="0" max="1000" step="0.5" inputmode="decimal";
                    }
                    " "
                    button type="submit" { "Recompute" }
                }
            }
            @if lane.suggestions.is_empty() {
                p class="empty" { "Nothing to pull." }
            } @else {
                ol class="pulls fit" data-total=(lane.suggestions.len()) {
                    @for s in &lane.suggestions {
                        li class={"pull p" (s.order.priority) @if s.emergency { " emergency" } @if !s.fits { " nofit" }} data-order=(s.order.id) {
                            div class="what" {
                                span class="prio" { "P" (s.order.priority) } " "
                                @if s.emergency { strong class="em" { "EMERGENCY" } " " }
                                (order_cell(cfg, &s.order))
                            }
                            div class="nums" {
                                span class="hours" { (number(s.hours)) " h" }
                                " → " (number(s.cumulative_hours)) " h"
                                @if let Some(p) = s.load_pct { " · " (format!("{p:.0}%")) }
                                @if !s.fits { " · " span class="late" { "does not fit" } }
                            }
                            div class="reason" { "score " (number(s.score)) ": " (s.reason) }
                        }
                    }
                }
            }
            @if let Some(stop) = lane.stop_words() { p class="stop" { (stop) } }
            @if lane.too_big_count > 0 {
                p class="toobig" {
                    "Too big for what was left: "
                    @for (i, t) in lane.too_big.iter().enumerate() {
                        @if i > 0 { ", " }
                        span class="id" { (t.order.id) } " (" (number(t.hours)) " h, score " (number(t.score)) ")"
                    }
                    @if lane.too_big_count > lane.too_big.len() { " and " (lane.too_big_count - lane.too_big.len()) " more" }
                }
            }
            @if !lane.blocked.is_empty() {
                div class="blocked" {
                    h4 { "Not ready, but would rank higher (" (lane.blocked_count) ")" }
                    ul {
                        @for b in &lane.blocked {
                            li data-order=(b.order.id) {
                                span class="prio" { "P" (b.order.priority) } " "
                                (order_cell(cfg, &b.order))
                                " — " span class="status" { (b.order.status.as_str().replace('_', " ")) }
                                ", score " (number(b.score))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn unassigned_markup(cfg: &Config, u: &Unassigned, scope: &Scope) -> Markup {
    html! {
        div class="lane unassigned" data-crew="" {
            h3 { "Unassigned" }
            p class="cap" { (u.total) " ready order" @if u.total != 1 { "s" } " without a crew of the config: ranked, not planned against any capacity. Give them a crew in the CMMS." }
            @if u.orders.is_empty() {
                p class="empty" { "None." }
            } @else {
                ol class="pulls fit" data-total=(u.total) {
                    @for r in &u.orders {
                        li class={"pull p" (r.order.priority)} data-order=(r.order.id) {
                            div class="what" {
                                span class="prio" { "P" (r.order.priority) } " "
                                (order_cell(cfg, &r.order))
                                @if let Some(c) = &r.order.crew { span class="asset" { " · crew " (c) } }
                            }
                            div class="nums" { span class="hours" { (number(r.order.estimate_hours)) " h" } }
                            div class="reason" { "score " (number(r.score)) ": " (r.reason) }
                        }
                    }
                }
                @if u.total > u.orders.len() {
                    a class="more" href=(layout::orders_href(scope, "status=approved,ready,scheduled&sort=priority")) { "all open orders →" }
                }
            }
        }
    }
}

/// Each lane of a plan: one per crew in scope, then the unassigned lane when it has orders (or
/// is all there is). The TV shows them a few to a page (`crate::huddle::pages`).
pub fn lanes(cfg: &Config, plan: &PullPlan, kiosk: bool) -> Vec<Markup> {
    let mut out: Vec<Markup> = plan
        .crews
        .iter()
        .map(|lane| lane_markup(cfg, lane, kiosk))
        .collect();
    if let Some(u) = &plan.unassigned
        && (u.total > 0 || plan.crews.is_empty())
    {
        out.push(unassigned_markup(cfg, u, &plan.scope));
    }
    out
}

/// The pull section of the board's page: one lane per crew in scope, then the unassigned lane,
/// as a form: each lane's technicians input recomputes the lanes (the TV shows `lanes`).
pub fn section(cfg: &Config, plan: &PullPlan) -> Markup {
    let lanes = html! {
        div class="lanes" {
            @for lane in lanes(cfg, plan, false) { (lane) }
        }
    };
    let what_if = plan.crews.iter().any(CrewPull::is_what_if);
    html! {
        section class="pull-section" id="pull" aria-label="Pull next" {
            h2 {
                "Pull next — " (plan.date.format("%A").to_string())
                span class="count" { " what each crew starts next within today's capacity, highest score first" }
            }
            form method="get" action="/board#pull" class="pull-form" {
                @if let Some(v) = &plan.scope.site { input type="hidden" name="site" value=(v); }
                @if let Some(v) = &plan.scope.area { input type="hidden" name="area" value=(v); }
                @if let Some(v) = &plan.scope.crew { input type="hidden" name="crew" value=(v); }
                @if what_if {
                    p class="whatif-note" {
                        "What-if: technicians changed for today. "
                        a href=(format!("{}#pull", layout::board_href(&plan.scope, false))) { "Back to the configured crews" }
                    }
                }
                (lanes)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technicians_are_read_from_the_query() {
        let t = technicians(Some(
            "crew=&technicians.Process+Mechanical=5&technicians.Packaging%20E%26I=2.5&technicians.Utilities=",
        ))
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t["Process Mechanical"], 5.0);
        assert_eq!(t["Packaging E&I"], 2.5);
        let e = technicians(Some("technicians.Utilities=two")).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(
            e.message.contains("technicians.Utilities: `two`"),
            "{}",
            e.message
        );
    }
}
