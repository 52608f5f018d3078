//! The board on the huddle's TV: the agenda of `crate::huddle` as pages that each fill the
//! screen (sizes from the viewport, not pixels), a page indicator, the clock, and the huddle's
//! timer. All pages are in the document; `board.js` turns them on a timer and with a presenter
//! clicker's keys, trims lists to what fits ("+ N more"), runs the timer and moves the TV on to
//! the next board of the rotation after the last page. Without the script, a refresh in
//! `<noscript>` turns the pages, one request each.

use std::sync::Arc;

use chrono::Utc;
use maud::{DOCTYPE, Markup, html};

use super::{BoardData, Live, charts_section, lists, next_in_rotation, tile_markup};
use crate::huddle::{self, Item};
use crate::metrics::Scope;
use crate::report::format_value;
use crate::web::layout::{self, board_href};
use crate::web::panels::{actions, lanes, safety};
use crate::web::{AppState, Loaded, charts};

/// The address of page `name` of a board's TV view.
fn page_href(scope: &Scope, name: &str) -> String {
    format!("{}&page={name}", board_href(scope, true))
}

pub fn page(
    state: &AppState,
    loaded: &Arc<Loaded>,
    d: &BoardData,
    live: &Live<'_>,
    requested: Option<&str>,
) -> Markup {
    let cfg = state.config();
    let now = Utc::now();
    let lane_markup = lanes::lanes(cfg, live.pull, true);
    let pages = huddle::pages(lane_markup.len());
    let current = huddle::page_index(&pages, requested);
    let huddle = live.actions.huddle.as_ref();
    let token = live.viewer.csrf();
    // After the last page: the next board of the rotation, or this one again with fresh data.
    let after_last = next_in_rotation(cfg, &d.scope).unwrap_or_else(|| board_href(&d.scope, true));
    // Without the script (and outside a huddle) a refresh turns the page.
    let next_href = match pages.get(current + 1) {
        Some(p) => page_href(&d.scope, &p.name),
        None => after_last.clone(),
    };
    let here = |name: &str| page_href(&d.scope, name);
    let title = format!("{} — TV — {}", d.scope.label(), cfg.plant.name);
    let elapsed = huddle.map(|h| (now - h.started_at).num_seconds());
    let timer = elapsed.map(|e| huddle::timer(e, cfg.board.huddle_minutes));
    html! {
        (DOCTYPE)
        html lang="en" class="tv" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if huddle.is_none() {
                    noscript { meta http-equiv="refresh" content=(format!("{}; url={}", cfg.board.kiosk_page_seconds, next_href)); }
                }
                title { (title) }
                link rel="stylesheet" href="/static/gemba.css";
                script src="/static/board.js" defer {}
            }
            body class="kiosk tv"
                data-page-seconds=(cfg.board.kiosk_page_seconds)
                data-refresh-seconds=(cfg.board.refresh_seconds)
                data-after-last=(after_last)
                data-huddle-id=[huddle.map(|h| h.id)]
                data-huddle-started=[huddle.map(|h| h.started_at.timestamp_millis())]
                data-huddle-minutes=(cfg.board.huddle_minutes) {
                main class="tv" {
                    header class="tv-head" {
                        div class="where" {
                            h1 { (d.scope.label()) }
                            div class="sub" { (cfg.plant.name) " · " (d.as_of.format("%A %-d %B").to_string()) " · " (layout::freshness(loaded, now, cfg)) }
                            (crate::web::jobs::warnings_markup(live.warnings))
                        }
                        nav class="agenda" aria-label="Huddle agenda" {
                            ol {
                                @for (i, p) in pages.iter().enumerate() {
                                    li class=(if i == current { "here" } else { "" }) data-page=(p.name) {
                                        a href=(here(&p.name)) aria-current=[(i == current).then_some("step")] {
                                            span class="n" { (i + 1) } " " (p.item.title())
                                            @if p.item == Item::Pull && pages.iter().filter(|q| q.item == Item::Pull).count() > 1 {
                                                " " (p.lanes.start + 1) "–" (p.lanes.end)
                                            }
                                        }
                                    }
                                }
                            }
                            div class="pageno" { "page " span id="pageno" { (current + 1) } " of " (pages.len()) }
                        }
                        div class="huddle-box" {
                            @if let (Some(h), Some(t), Some(e)) = (huddle, timer, elapsed) {
                                div id="timer" class={"timer " (t.class())} data-started=(h.started_at.timestamp_millis()) role="timer" {
                                    span class="label" { "Huddle " }
                                    span class="t" { (huddle::clock(e)) } " / " (cfg.board.huddle_minutes) ":00"
                                }
                            } @else if let Some(t) = token {
                                (actions::start_huddle_form(&d.scope, t, &here("safety")))
                            } @else if matches!(live.viewer, crate::web::auth::Viewer::NeedsLogin) {
                                a class="login" href=(format!("/login?next={}", form_urlencoded::byte_serialize(here("safety").as_bytes()).collect::<String>())) { "Log in to start the huddle" }
                            }
                            div class="clock" id="clock" { (now.with_timezone(&cfg.plant.tz).format("%H:%M").to_string()) }
                        }
                    }
                    @for (i, p) in pages.iter().enumerate() {
                        section class={"tv-page " (match p.item { Item::Safety => "p-safety", Item::Problems => "p-problems", Item::Pull => "p-pull", Item::Actions => "p-actions" }) @if i == current { " current" }}
                            id={"page-" (p.name)} data-page=(p.name) aria-label=(p.item.title()) {
                            @match p.item {
                                Item::Safety => {
                                    (safety::panel(live.safety, token.filter(|_| huddle.is_some()), &here("safety"), true))
                                    div class="numbers" {
                                        section class="tiles" aria-label="Key figures" {
                                            @for t in &d.tiles { (tile_markup(t)) }
                                        }
                                        (charts_section(cfg, d))
                                    }
                                }
                                Item::Problems => {
                                    (lists(d, cfg, super::TV_ROWS))
                                    div class="panel age" {
                                        h2 { "Age of open orders" }
                                        (charts::age_histogram(&d.age))
                                        p class="note" { (d.metrics.open_count) " open, mean age " (format_value("mean_age_days", d.metrics.mean_age_days)) " days" }
                                    }
                                }
                                Item::Pull => {
                                    h2 class="page-title" { "Pull next — " (live.pull.date.format("%A").to_string()) span class="count" { " what each crew starts next within today's capacity" } }
                                    div class="lanes" {
                                        @for lane in &lane_markup[p.lanes.clone()] { (lane) }
                                        @if lane_markup.is_empty() { p class="empty" { "No crew of this board has work to pull." } }
                                    }
                                }
                                Item::Actions => {
                                    (actions::tv_page(cfg, &d.scope, live.actions, token, &here("actions")))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
