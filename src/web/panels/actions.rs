//! The board's action log: the open actions with their flags and forms, what this board
//! escalated, what was done this week, and the huddle's start and end. Read fresh per request.

use chrono::{Duration, Utc};
use maud::{Markup, html};

use crate::actions::{ActionStatus, Flags, board_name, flags};
use crate::config::Config;
use crate::metrics::Scope;
use crate::store::{Action, Huddle};
use crate::web::auth::Viewer;
use crate::web::layout::{board_href, csrf_field};
use crate::web::{AppError, AppState, ago};

/// A huddle still open after this long is not offered as "running" any more.
pub const HUDDLE_OPEN_HOURS: i64 = 2;

/// What the board shows about actions and huddles, read fresh per request (a few rows).
pub struct BoardActions {
    pub here: Vec<Action>,
    pub raised_here_elsewhere: Vec<Action>,
    pub huddle: Option<Huddle>,
}

impl BoardActions {
    pub fn read(state: &AppState, board: &Scope) -> Result<BoardActions, AppError> {
        let key = board.key();
        state.with_store(|s| {
            let week_ago = Utc::now() - Duration::days(7);
            let here = s
                .actions(Some(&key), None)?
                .into_iter()
                .filter(|a| a.status != "done" || a.updated_at > week_ago)
                .collect();
            let raised_here_elsewhere = s
                .actions(None, Some(&key))?
                .into_iter()
                .filter(|a| a.board != key && (a.status != "done" || a.updated_at > week_ago))
                .collect();
            let huddle = s.huddles(Some(&key), 1)?.into_iter().next().filter(|h| {
                h.ended_at.is_none()
                    && Utc::now() - h.started_at < Duration::hours(HUDDLE_OPEN_HOURS)
            });
            Ok(BoardActions {
                here,
                raised_here_elsewhere,
                huddle,
            })
        })
    }
}

fn flag_marks(f: Flags) -> Markup {
    html! {
        @if f.overdue { " " span class="flag late" title="past its due date" { "overdue" } }
        @if f.stale { " " span class="flag stale" title="no change for 7 days, or overdue by more than 7 days" { "stale" } }
    }
}

fn action_row(token: Option<&str>, a: &Action, ret: &str, cfg: &Config) -> Markup {
    let now = Utc::now();
    let today = now.with_timezone(&cfg.plant.tz).date_naive();
    let f = flags(a, today, now);
    let csrf = csrf_field(token.unwrap_or_default());
    html! {
        li class={"action " (a.status)} data-action=(a.id) {
            div class="what" {
                span class={"status " (a.status)} { (a.status) } " "
                a href=(format!("/actions/{}", a.id)) { (a.title) }
                (flag_marks(f))
            }
            div class="who" {
                (a.owner) " · due " (a.due)
                @if !a.orders.is_empty() { " · " @for (i, o) in a.orders.iter().enumerate() { @if i > 0 { ", " } span class="id" { (o) } } }
            }
            @if let Some(from) = &a.escalated_from {
                div class="escalated" {
                    "▲ escalated from " strong { (board_name(from)) } " " (ago(a.updated_at, now))
                    @if let Some(r) = &a.escalation_reason { ": " (r) }
                }
            }
            @if let Some(n) = &a.note { div class="note" { "Note: " (n) } }
            @if token.is_some() && a.status != "done" {
                details class="act" {
                    summary { "Change, escalate, close" }
                    form method="post" action=(format!("/actions/{}", a.id)) class="inline" {
                        (csrf) input type="hidden" name="return" value=(ret);
                        input type="hidden" name="op" value="status";
                        label { "Status " select name="status" {
                            @for s in ActionStatus::ALL { option value=(s.as_str()) selected[s.as_str() == a.status] { (s.as_str()) } }
                        } }
                        " " button type="submit" { "Set" }
                    }
                    form method="post" action=(format!("/actions/{}", a.id)) class="grid" {
                        (csrf) input type="hidden" name="return" value=(ret);
                        input type="hidden" name="op" value="edit";
                        label { "What " input name="title" value=(a.title) required maxlength="200"; }
                        label { "Owner " input name="owner" value=(a.owner) required maxlength="80"; }
                        label { "Due " input type="date" name="due" value=(a.due) required; }
                        label { "Orders " input name="orders" value=(a.orders.join(", ")); }
                        button type="submit" { "Save" }
                    }
                    form method="post" action=(format!("/actions/{}", a.id)) class="inline" {
                        (csrf) input type="hidden" name="return" value=(ret);
                        input type="hidden" name="op" value="escalate";
                        label { "Why the team cannot solve it " input name="reason" required maxlength="1000"; }
                        " " button type="submit" class="escalate" { "Escalate ▲" }
                    }
                    @if a.escalated_from.is_some() {
                        form method="post" action=(format!("/actions/{}", a.id)) class="inline" {
                            (csrf) input type="hidden" name="return" value=(ret);
                            input type="hidden" name="op" value="hand_back";
                            label { "Note for the team " input name="note" required maxlength="1000"; }
                            " " button type="submit" { "Hand back ▼" }
                        }
                    }
                    form method="post" action=(format!("/actions/{}", a.id)) class="inline" {
                        (csrf) input type="hidden" name="return" value=(ret);
                        input type="hidden" name="op" value="resolve";
                        label { "What was done " input name="note" maxlength="1000"; }
                        " " button type="submit" { "Resolve ✔" }
                    }
                }
            }
        }
    }
}

/// The actions section of a board's page; forms only for a viewer who may write (the TV's page
/// is `tv_page`).
pub fn section(cfg: &Config, board: &Scope, data: &BoardActions, viewer: &Viewer) -> Markup {
    let token = viewer.csrf();
    let key = board.key();
    let ret = format!("{}#actions", board_href(board, false));
    let today = Utc::now().with_timezone(&cfg.plant.tz).date_naive();
    let open: Vec<&Action> = data.here.iter().filter(|a| a.status != "done").collect();
    let done: Vec<&Action> = data.here.iter().filter(|a| a.status == "done").collect();
    html! {
        section class={"actions-section" @if open.is_empty() { " none-open" }} id="actions" aria-label="Actions" {
            div class="actions-head" {
                h2 { "Actions " span class="count" { "(" (open.len()) " open)" } }
                @if let Some(token) = token {
                    @if let Viewer::Writer { who, .. } = viewer {
                        @if cfg.auth.is_some() {
                            form method="post" action="/logout" class="inline" {
                                (csrf_field(token))
                                span class="note" { "Logged in as " (who) } " " button type="submit" class="quiet" { "Log out" }
                            }
                        }
                    }
                    @if let Some(h) = &data.huddle {
                        (end_huddle_form(cfg, board, h, token, &ret))
                    } @else {
                        (start_huddle_form(board, token, &ret))
                    }
                } @else {
                    @match viewer {
                        Viewer::NeedsLogin => a href=(format!("/login?next={}", form_urlencoded::byte_serialize(ret.as_bytes()).collect::<String>())) { "Log in to add or change actions" },
                        Viewer::ReadOnly => span class="note" { "Read-only board" },
                        Viewer::Writer { .. } => {},
                    }
                }
            }
            @if open.is_empty() {
                p class="empty" { "No open actions." }
            } @else {
                ol class="actions" { @for a in &open { (action_row(token, a, &ret, cfg)) } }
            }
            @if !data.raised_here_elsewhere.is_empty() {
                h3 { "Escalated from this board" }
                ul class="escalations" {
                    @for a in &data.raised_here_elsewhere {
                        li data-action=(a.id) {
                            a href=(format!("/actions/{}", a.id)) { (a.title) }
                            " — now on " strong { (board_name(&a.board)) } ", " (a.status)
                            (flag_marks(flags(a, today, Utc::now())))
                        }
                    }
                }
            }
            @if !done.is_empty() {
                p class="note" { "Done in the last 7 days: " @for (i, a) in done.iter().enumerate() { @if i > 0 { "; " } a href=(format!("/actions/{}", a.id)) { (a.title) } } }
            }
            @if let Some(token) = token {
                details class="add" open[open.is_empty()] {
                    summary { "Add an action" }
                    form method="post" action="/actions" class="grid" {
                        (csrf_field(token)) input type="hidden" name="return" value=(ret);
                        input type="hidden" name="board" value=(key);
                        label { "What " input name="title" required maxlength="200" placeholder="e.g. order spare seals for pump 7"; }
                        label { "Owner " input name="owner" required maxlength="80"; }
                        label { "Due " input type="date" name="due" required value=((today + Duration::days(7)).to_string()); }
                        label { "Orders " input name="orders" placeholder="WO-1, WO-2"; }
                        button type="submit" { "Add" }
                    }
                }
            }
        }
    }
}

/// "Start huddle": records the huddle's start on `board`, then goes to `ret`.
pub fn start_huddle_form(board: &Scope, token: &str, ret: &str) -> Markup {
    html! {
        form method="post" action="/huddles" class="inline huddle start" {
            (csrf_field(token)) input type="hidden" name="return" value=(ret);
            input type="hidden" name="board" value=(board.key());
            button type="submit" { "Start huddle" }
        }
    }
}

/// "End huddle": who attended (the crews' members as tick boxes, other names typed) and, from
/// the TV's script, the agenda pages shown.
pub fn end_huddle_form(cfg: &Config, board: &Scope, h: &Huddle, token: &str, ret: &str) -> Markup {
    html! {
        form method="post" action=(format!("/huddles/{}/end", h.id)) class="inline huddle end" {
            (csrf_field(token)) input type="hidden" name="return" value=(ret);
            input type="hidden" name="pages" value=(h.pages) id="huddle-pages";
            span class="running" { "Huddle running since " (h.started_at.with_timezone(&cfg.plant.tz).format("%H:%M").to_string()) }
            @for m in board.crews(cfg).iter().flat_map(|c| c.members.iter()) {
                " " label class="member" { input type="checkbox" name="present" value=(m); " " (m) }
            }
            " " label { "Who attended " input name="attendees" placeholder="other names, comma separated" maxlength="1000"; }
            " " button type="submit" { "End huddle" }
        }
    }
}

/// The TV's actions page: the open actions as many as fit, what was escalated to and from this
/// board, and (while a huddle runs, for a viewer who may write) the end of the huddle.
pub fn tv_page(
    cfg: &Config,
    board: &Scope,
    data: &BoardActions,
    token: Option<&str>,
    ret: &str,
) -> Markup {
    let now = Utc::now();
    let today = now.with_timezone(&cfg.plant.tz).date_naive();
    let open: Vec<&Action> = data.here.iter().filter(|a| a.status != "done").collect();
    let overdue = open.iter().filter(|a| flags(a, today, now).overdue).count();
    let escalated_here: Vec<&&Action> =
        open.iter().filter(|a| a.escalated_from.is_some()).collect();
    let done = data.here.iter().filter(|a| a.status == "done").count();
    html! {
        div class="tv-actions" {
            section class="panel" aria-label="Open actions" {
                h2 { "Open actions " span class="count" { "(" (open.len()) @if overdue > 0 { ", " (overdue) " overdue" } ")" } }
                @if open.is_empty() {
                    p class="empty" { "No open actions." }
                } @else {
                    ol class="actions fit" data-total=(open.len()) { @for a in &open { (action_row(None, a, ret, cfg)) } }
                }
            }
            section class="panel" aria-label="Escalations" {
                h2 { "Escalated to this board " span class="count" { "(" (escalated_here.len()) ")" } }
                @if escalated_here.is_empty() {
                    p class="empty" { "None." }
                } @else {
                    ul class="escalations fit" data-total=(escalated_here.len()) {
                        @for a in &escalated_here {
                            li data-action=(a.id) {
                                strong { (a.title) } " — from " (board_name(a.escalated_from.as_deref().unwrap_or(""))) ", owner " (a.owner) ", due " (a.due)
                                (flag_marks(flags(a, today, now)))
                            }
                        }
                    }
                }
                h2 { "Escalated from this board " span class="count" { "(" (data.raised_here_elsewhere.len()) ")" } }
                @if data.raised_here_elsewhere.is_empty() {
                    p class="empty" { "None." }
                } @else {
                    ul class="escalations fit" data-total=(data.raised_here_elsewhere.len()) {
                        @for a in &data.raised_here_elsewhere {
                            li data-action=(a.id) {
                                strong { (a.title) } " — now on " (board_name(&a.board)) ", " (a.status)
                                (flag_marks(flags(a, today, now)))
                            }
                        }
                    }
                }
                p class="note" { (done) " done in the last 7 days." }
                @if let (Some(h), Some(t)) = (&data.huddle, token) {
                    (end_huddle_form(cfg, board, h, t, ret))
                }
            }
        }
    }
}
