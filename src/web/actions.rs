//! The board's action log and huddle record: plain HTML forms (no JavaScript), each carrying the
//! server's CSRF token; the action detail page with its history; `/huddles`; and the JSON API
//! under `/api/v1/actions`. The rules are `crate::actions`; this is their web face.

use axum::Json;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use maud::html;
use serde::{Deserialize, Serialize};

use super::auth::{Viewer, api_writer};
use super::layout::{self, Nav, back_to};
use super::params::id_of;
use super::{ApiError, AppError, AppState, ErrorBody, ago, blocking};
use crate::actions::{ActionError, ActionStatus, Actions, Draft, board_name, flags};
use crate::config::Config;
use crate::metrics::Scope;
use crate::store::{Action, ActionChange, Huddle};

#[derive(Deserialize)]
pub struct NewActionForm {
    csrf: String,
    board: String,
    title: String,
    owner: String,
    due: String,
    #[serde(default)]
    orders: String,
    #[serde(default)]
    r#return: String,
}

pub async fn create_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<NewActionForm>,
) -> Result<Response, AppError> {
    let who = Viewer::of(&state, &headers).check(&f.csrf)?;
    let board = f.board.clone();
    let draft = Draft {
        title: f.title,
        owner: f.owner,
        due: f.due,
        orders: f.orders,
    };
    let st = state.clone();
    blocking(move || {
        st.with_store(|s| {
            Actions {
                store: s,
                cfg: st.config(),
                who: &who,
                now: Utc::now(),
            }
            .create(&board, &draft)
            .map_err(AppError::from)
        })
    })
    .await?;
    Ok(back_to(&f.r#return, &f.board).into_response())
}

#[derive(Deserialize, Default)]
pub struct ActionOpForm {
    #[serde(default)]
    csrf: String,
    op: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    orders: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    r#return: String,
}

/// Applies one operation; returns the board the action is on afterwards.
fn apply(state: &AppState, id: i64, f: &ActionOpForm, who: &str) -> Result<String, AppError> {
    state.with_store(|s| {
        let mut a = Actions { store: s, cfg: state.config(), who, now: Utc::now() };
        match f.op.as_str() {
            "edit" => a.edit(id, &Draft {
                title: f.title.clone(),
                owner: f.owner.clone(),
                due: f.due.clone(),
                orders: f.orders.clone(),
            })?,
            "status" if f.status.trim().is_empty() => {
                return Err(AppError::unprocessable("status is required to set the status"));
            }
            "status" => a.set_status(id, ActionStatus::parse(&f.status)?)?,
            "escalate" => return Ok(a.escalate(id, &f.reason)?),
            "hand_back" => return Ok(a.hand_back(id, &f.note)?),
            "resolve" => a.resolve(id, &f.note)?,
            other => {
                return Err(AppError::bad_request(format!(
                    "op: `{other}` is not an operation; use edit, status, escalate, hand_back or resolve"
                )));
            }
        }
        Ok(a.store.action(id)?.map(|x| x.board).unwrap_or_default())
    })
}

pub async fn op_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ActionOpForm>,
) -> Result<Response, AppError> {
    let id = id_of("an action", &id)?;
    let who = Viewer::of(&state, &headers).check(&f.csrf)?;
    let st = state.clone();
    let (f, board) = blocking(move || {
        let board = apply(&st, id, &f, &who)?;
        Ok((f, board))
    })
    .await?;
    Ok(back_to(&f.r#return, &board).into_response())
}

/// One action with its whole history.
pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("an action", &id)?;
    let st = state.clone();
    let (action, history) = blocking(move || {
        st.with_store(|s| -> Result<(Action, Vec<ActionChange>), AppError> {
            let a = s.action(id)?.ok_or(ActionError::NoSuchAction(id))?;
            Ok((a, s.action_history(id)?))
        })
    })
    .await?;
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let board = Scope::from_key(&action.board).unwrap_or_default();
    let origin = Scope::from_key(&action.origin).unwrap_or_default();
    let nav = Nav::build(&state.loaded().engine)?;
    let body = html! {
        h1 { (action.title) }
        p {
            "On the " a href=(format!("{}#actions", layout::board_href(&board, false))) { (board.label()) } " board"
            @if action.origin != action.board { ", raised on " a href=(layout::board_href(&origin, false)) { (origin.label()) } }
            ". Owner " strong { (action.owner) } ", due " (action.due) ", " (action.status) "."
        }
        @if !action.orders.is_empty() { p { "Orders: " (action.orders.join(", ")) } }
        @if let Some(n) = &action.note { p class="note" { (noted(n)) } }
        p { a class="start-a3" href=(format!("/a3?action={}", action.id)) { "It keeps coming back: start an A3 on it" } }
        h2 { "History" }
        table class="orders full" {
            thead { tr { th { "when" } th { "who" } th { "what" } } }
            tbody {
                @for h in &history {
                    tr { td class="when" { (h.at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()) } td { (h.who) } td { (h.what) } }
                }
            }
        }
    };
    Ok(
        Html(layout::layout(&format!("Action {id} — Gemba"), &nav, None, body).into_string())
            .into_response(),
    )
}

/// A note, with the page it names at its end, `(/walks/12)`, as a link (where an action raised
/// by a gemba walk or an audit came from).
fn noted(note: &str) -> maud::Markup {
    let link = note
        .strip_suffix(')')
        .and_then(|n| n.rsplit_once(" ("))
        .and_then(|(text, path)| super::params::local_path(path).map(|p| (text, p)));
    match link {
        Some((text, path)) => html! { (text) " (" a href=(path) { (path) } ")" },
        None => html! { (note) },
    }
}

#[derive(Deserialize)]
pub struct StartHuddleForm {
    csrf: String,
    board: String,
    #[serde(default)]
    r#return: String,
}

pub async fn start_huddle(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<StartHuddleForm>,
) -> Result<Response, AppError> {
    Viewer::of(&state, &headers).check(&f.csrf)?;
    let board = crate::actions::board(state.config(), &f.board)?.key();
    let st = state.clone();
    let key = board.clone();
    blocking(move || Ok(st.with_store(|s| s.start_huddle(&key, Utc::now()))?)).await?;
    Ok(back_to(&f.r#return, &board).into_response())
}

/// Names, comma separated, trimmed, without blanks or repeats.
fn names(v: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for n in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out.join(", ")
}

pub async fn end_huddle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let id = id_of("a huddle", &id)?;
    // Tick boxes repeat `present`; typed names come in `attendees`.
    // The TV sends the agenda pages it showed in `pages` (docs/huddle.md).
    let (mut csrf, mut ret, mut typed, mut pages) =
        (String::new(), String::new(), Vec::new(), String::new());
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "return" => ret = v.into_owned(),
            "present" | "attendees" => typed.push(v.into_owned()),
            "pages" => pages = v.into_owned(),
            _ => {}
        }
    }
    Viewer::of(&state, &headers).check(&csrf)?;
    let attendees = names(&typed.join(","));
    if attendees.chars().count() > 1000 {
        return Err(AppError::bad_request("attendees: at most 1000 characters"));
    }
    let pages = crate::huddle::pages_shown(&pages).join(",");
    let st = state.clone();
    let ended =
        blocking(move || Ok(st.with_store(|s| s.end_huddle(id, Utc::now(), &attendees, &pages))?))
            .await?;
    if !ended {
        return Err(AppError {
            status: StatusCode::NOT_FOUND,
            message: format!("no running huddle {id}"),
        });
    }
    Ok(back_to(&ret, "plant").into_response())
}

/// A huddle with what changed in its actions while it ran.
#[derive(Debug, Clone, Serialize)]
pub struct HuddleRow {
    #[serde(flatten)]
    pub huddle: Huddle,
    pub minutes: Option<i64>,
    pub actions_opened: usize,
    pub actions_closed: usize,
}

fn huddle_rows(state: &AppState, limit: usize) -> Result<Vec<HuddleRow>, AppError> {
    state.with_store(|s| {
        s.huddles(None, limit)?
            .into_iter()
            .map(|h| {
                let end = h.ended_at.unwrap_or_else(Utc::now);
                let changes = s.changes_between(&h.board, h.started_at, end)?;
                let count = |p: &str| changes.iter().filter(|c| c.what.starts_with(p)).count();
                Ok(HuddleRow {
                    minutes: h.ended_at.map(|e| (e - h.started_at).num_minutes()),
                    actions_opened: count("created"),
                    actions_closed: count("resolved")
                        + count("status doing -> done")
                        + count("status open -> done"),
                    huddle: h,
                })
            })
            .collect()
    })
}

/// `/huddles`: how regularly each board holds its huddle, and what came of each.
pub async fn huddles_page(State(state): State<AppState>) -> Result<Response, AppError> {
    let st = state.clone();
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let boards: Vec<String> = crate::safety::all_boards(cfg)
        .iter()
        .map(Scope::key)
        .collect();
    let (rows, marks) = blocking(move || {
        let marks = st.with_store(|s| {
            s.safety_marks(
                &boards,
                today - Duration::days(crate::safety::MAX_DAYS_BACK),
                today,
            )
        })?;
        Ok((huddle_rows(&st, 500)?, marks))
    })
    .await?;
    let safety_rows = safety_summary(cfg, &marks, today);
    let own_mark = |board: &str, at: DateTime<Utc>| {
        let day = at.with_timezone(&tz).date_naive();
        marks
            .iter()
            .find(|m| m.board == board && m.day == day)
            .map(|m| m.mark)
    };
    let since = Utc::now() - Duration::days(28);
    let mut per_board: Vec<(String, usize, Option<DateTime<Utc>>)> = Vec::new();
    for r in &rows {
        match per_board.iter_mut().find(|(b, _, _)| *b == r.huddle.board) {
            Some(e) => e.1 += usize::from(r.huddle.started_at > since),
            None => per_board.push((
                r.huddle.board.clone(),
                usize::from(r.huddle.started_at > since),
                Some(r.huddle.started_at),
            )),
        }
    }
    let nav = Nav::build(&state.loaded().engine)?;
    let body = html! {
        h1 { "Huddles" }
        p class="note" { "How regularly each board holds its huddle: a leading indicator of the daily management system itself." }
        h2 { "Safety" }
        @if safety_rows.is_empty() {
            p class="empty" { "No day marked on a safety cross yet: the huddle marks each day on its board's first page." }
        } @else {
            table class="orders full safety-summary" {
                thead { tr { th { "board" } th class="num" { "days since a case" } th class="num" { "safe" } th class="num" { "near misses" } th class="num" { "first aid" } th class="num" { "lost time" } th { "last case or near miss" } } }
                tbody {
                    @for r in &safety_rows {
                        tr data-board=(r.board) {
                            td { a href=(format!("{}#safety", layout::board_href(&Scope::from_key(&r.board).unwrap_or_default(), false))) { (board_name(&r.board)) } }
                            td class="num" data-label="days since a case" { (r.days_since.map_or("none marked".to_string(), |d| d.to_string())) }
                            td class="num" data-label="safe" { (r.counts[0]) }
                            td class="num" data-label="near misses" { (r.counts[1]) }
                            td class="num" data-label="first aid" { (r.counts[2]) }
                            td class="num" data-label="lost time" { (r.counts[3]) }
                            td { @if let Some(m) = &r.last_event { (m.day.format("%-d %b").to_string()) ", " (m.mark.label()) ": " (m.note) } }
                        }
                    }
                }
            }
            p class="note" { "Counts are this board's own marks over the last 30 days; days since a case count the boards below it too." }
        }
        @if rows.is_empty() {
            p class="empty" { "No huddle recorded yet: press “Start huddle” on a board when the team gathers." }
        } @else {
            table class="orders full" {
                thead { tr { th { "board" } th class="num" { "huddles, last 28 days" } th { "last" } } }
                tbody {
                    @for (b, n, last) in &per_board {
                        tr { td { a href=(layout::board_href(&Scope::from_key(b).unwrap_or_default(), false)) { (board_name(b)) } } td class="num" { (n) } td { (last.map(|t| ago(t, Utc::now())).unwrap_or_default()) } }
                    }
                }
            }
            h2 { "Every huddle" }
            table class="orders full" {
                thead { tr { th { "board" } th { "started" } th class="num" { "minutes" } th { "safety" } th { "attended" } th { "pages shown" } th class="num" { "actions opened" } th class="num" { "closed" } } }
                tbody {
                    @for r in &rows {
                        tr data-huddle=(r.huddle.id) {
                            td { (board_name(&r.huddle.board)) }
                            td { (r.huddle.started_at.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string()) }
                            td class="num" data-label="minutes" { (r.minutes.map_or("running".to_string(), |m| m.to_string())) }
                            td data-label="safety" { (own_mark(&r.huddle.board, r.huddle.started_at).map_or("not marked", |m| m.label())) }
                            td data-label="attended" { (r.huddle.attendees) }
                            td data-label="pages" class="pages" { (r.huddle.pages.replace(',', ", ")) }
                            td class="num" data-label="actions opened" { (r.actions_opened) }
                            td class="num" data-label="closed" { (r.actions_closed) }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(layout::layout("Huddles — Gemba", &nav, None, body).into_string()).into_response())
}

/// One board's line of the safety summary on `/huddles`.
struct SafetyRow {
    board: String,
    days_since: Option<i64>,
    /// Own marks of the last 30 days: safe, near miss, first aid, lost time.
    counts: [usize; 4],
    last_event: Option<crate::safety::DayMark>,
}

/// The boards with marks, plant first, each with its days since a case (rolled up).
fn safety_summary(
    cfg: &Config,
    marks: &[crate::safety::DayMark],
    today: chrono::NaiveDate,
) -> Vec<SafetyRow> {
    use crate::safety::{self, Mark};
    safety::all_boards(cfg)
        .iter()
        .filter_map(|b| {
            let key = b.key();
            let within = safety::boards_within(cfg, b);
            let mine: Vec<crate::safety::DayMark> = marks
                .iter()
                .filter(|m| within.contains(&m.board))
                .cloned()
                .collect();
            if mine.is_empty() {
                return None;
            }
            let days = safety::roll_up(&key, &mine);
            let mut counts = [0; 4];
            for m in mine
                .iter()
                .filter(|m| m.board == key && today - m.day < Duration::days(30))
            {
                counts[Mark::ALL.iter().position(|x| *x == m.mark).expect("a mark")] += 1;
            }
            Some(SafetyRow {
                days_since: safety::days_since_case(&days, today),
                last_event: mine.iter().rev().find(|m| m.mark != Mark::Safe).cloned(),
                board: key,
                counts,
            })
        })
        .collect()
}

// ---- JSON API ----

/// An action as the API shows it, with the board's flags.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionBody {
    #[serde(flatten)]
    pub action: Action,
    pub overdue: bool,
    pub stale: bool,
}

fn body_of(a: Action, cfg: &Config) -> ActionBody {
    let now = Utc::now();
    let f = flags(&a, now.with_timezone(&cfg.plant.tz).date_naive(), now);
    ActionBody {
        action: a,
        overdue: f.overdue,
        stale: f.stale,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionsParams {
    /// A board key: plant, site:NAME, area:NAME or crew:NAME. Default: every board.
    pub board: Option<String>,
}

/// Actions on a board (or all), the most recently changed first.
#[utoipa::path(get, path = "/api/v1/actions", params(ActionsParams), responses(
    (status = 200, description = "The actions", body = [ActionBody]),
    (status = 400, description = "An unknown board", body = ErrorBody),
))]
pub async fn api_list(
    State(state): State<AppState>,
    Query(p): Query<ActionsParams>,
) -> Result<Json<Vec<ActionBody>>, ApiError> {
    let board = match p.board.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => Some(
            crate::actions::board(state.config(), b)
                .map_err(AppError::from)?
                .key(),
        ),
        None => None,
    };
    let st = state.clone();
    let list = blocking(move || Ok(st.with_store(|s| s.actions(board.as_deref(), None))?)).await?;
    Ok(Json(
        list.into_iter()
            .map(|a| body_of(a, state.config()))
            .collect(),
    ))
}

/// A new action.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewActionBody {
    pub board: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub owner: String,
    /// YYYY-MM-DD.
    #[schema(format = Date)]
    pub due: String,
    #[serde(default)]
    pub orders: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/actions", request_body = NewActionBody, responses(
    (status = 201, description = "Created", body = ActionBody),
    (status = 400, description = "A missing or bad field", body = ErrorBody),
))]
pub async fn api_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(b): Json<NewActionBody>,
) -> Result<(StatusCode, Json<ActionBody>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let st = state.clone();
    let a = blocking(move || {
        st.with_store(|s| -> Result<Action, AppError> {
            let id = Actions {
                store: s,
                cfg: st.config(),
                who: &who,
                now: Utc::now(),
            }
            .create(
                &b.board,
                &Draft {
                    title: b.title,
                    owner: b.owner,
                    due: b.due,
                    orders: b.orders.join(","),
                },
            )?;
            Ok(s.action(id)?.ok_or(ActionError::NoSuchAction(id))?)
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(body_of(a, state.config()))))
}

/// One operation on an action: `edit` (title, owner, due, orders), `status`, `escalate`
/// (reason), `hand_back` (note) or `resolve` (note).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActionOpBody {
    #[schema(pattern = "^(edit|status|escalate|hand_back|resolve)$")]
    pub op: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub owner: Option<String>,
    #[schema(format = Date)]
    pub due: Option<String>,
    pub orders: Option<Vec<String>>,
    #[schema(pattern = "^(open|doing|done)$")]
    pub status: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/actions/{id}", request_body = ActionOpBody,
    params(("id" = i64, Path, description = "The action's number")), responses(
    (status = 200, description = "The action after the change", body = ActionBody),
    (status = 400, description = "A missing reason, a bad field or operation", body = ErrorBody),
    (status = 404, description = "No such action", body = ErrorBody),
    (status = 409, description = "Done, not escalated here, or the top tier", body = ErrorBody),
))]
pub async fn api_op(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ActionOpBody>,
) -> Result<Json<ActionBody>, ApiError> {
    let id = id_of("an action", &id)?;
    let who = api_writer(&state, &headers)?;
    let st = state.clone();
    let a = blocking(move || {
        let current = st
            .with_store(|s| s.action(id))?
            .ok_or(ActionError::NoSuchAction(id))?;
        let f = ActionOpForm {
            op: b.op,
            title: b.title.unwrap_or(current.title),
            owner: b.owner.unwrap_or(current.owner),
            due: b.due.unwrap_or(current.due),
            orders: b.orders.map_or(current.orders.join(","), |o| o.join(",")),
            status: b.status.unwrap_or_default(),
            reason: b.reason.unwrap_or_default(),
            note: b.note.unwrap_or_default(),
            ..ActionOpForm::default()
        };
        apply(&st, id, &f, &who)?;
        Ok(st
            .with_store(|s| s.action(id))?
            .ok_or(ActionError::NoSuchAction(id))?)
    })
    .await?;
    Ok(Json(body_of(a, state.config())))
}
