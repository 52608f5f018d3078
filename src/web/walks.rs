//! Gemba walks on the web (docs/walks.md): the routes and walks (`/walks`), a route's page
//! (`/walks/routes/ID`), walking one on a phone (`/walks/ID`: the stop at hand with its
//! questions and observations, skip with a reason, end), and the JSON API under
//! `/api/v1/walk-routes` and `/api/v1/walks`. The rules are `crate::walks`; who may write is
//! asked first in every write handler.

use axum::Json;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::auth::{FormFields, Viewer, api_writer, form_writer};
use super::layout::{csrf_field, fmt_time, page_response};
use super::panels::leadership::history as history_list;
use super::params::{JsonBody, id_of, json_body, parse_date};
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::actions::board_name;
use crate::config::Config;
use crate::store::{Leader, Route, Store, StoreError, Walk};
use crate::walks::{
    ObservationDraft, RouteDraft, StopDraft, StopState, WalkCounts, WalkError, Walker, counts,
    next_stop,
};

impl From<WalkError> for AppError {
    fn from(e: WalkError) -> AppError {
        let status = match &e {
            WalkError::NoSuchWalk(_) | WalkError::NoSuchRoute(_) => StatusCode::NOT_FOUND,
            WalkError::Ended(_) | WalkError::StopDone { .. } | WalkError::Paused(_) => {
                StatusCode::CONFLICT
            }
            WalkError::Store(_) | WalkError::Action(_) => {
                return match e {
                    WalkError::Store(s) => s.into(),
                    WalkError::Action(a) => a.into(),
                    _ => unreachable!(),
                };
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        AppError {
            status,
            message: e.to_string(),
        }
    }
}

/// Rows of stops the route form offers (blank ones are dropped).
const STOP_ROWS: usize = 8;
/// Observation rows a stop's form offers.
const OBSERVATION_ROWS: usize = 3;

fn with_walker<T>(
    state: &AppState,
    who: &str,
    f: impl FnOnce(&mut Walker<'_>) -> Result<T, WalkError>,
) -> Result<T, AppError> {
    state.with_store(|s| {
        f(&mut Walker {
            store: s,
            cfg: state.config(),
            who,
            now: Utc::now(),
        })
        .map_err(AppError::from)
    })
}

fn read<T>(
    state: &AppState,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> Result<T, AppError> {
    Ok(state.with_store(f)?)
}

fn leader_name(leaders: &[Leader], id: i64) -> String {
    leaders
        .iter()
        .find(|l| l.id == id)
        .map_or_else(|| format!("leader {id}"), |l| l.name.clone())
}

fn counts_text(c: WalkCounts) -> String {
    format!(
        "{} visited, {} skipped, {} observations, {} raised as actions",
        c.visited, c.skipped, c.observations, c.actions
    )
}

/// `/walks`: the routes, walks under way and those of the last four weeks, and the form for a
/// new route.
pub async fn walks_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    let since = Utc::now() - Duration::days(28);
    let (leaders, routes, walks) = blocking(move || {
        read(&st, |s| {
            Ok((
                s.leaders()?,
                s.routes()?,
                s.walks(since, Utc::now() + Duration::days(1))?,
            ))
        })
    })
    .await?;
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let route_title = |id: i64| {
        routes
            .iter()
            .find(|r| r.id == id)
            .map_or_else(|| format!("route {id}"), |r| r.title.clone())
    };
    let body = html! {
        h1 { "Gemba walks" }
        p class="note" { "Go to where the work is, on a standard route, and ask the same questions at each stop. What you see can become an action on that stop's board, which its huddle takes up the next morning." }
        h2 { "Routes" }
        @if routes.is_empty() { p class="empty" { "No routes yet: add one below." } }
        ul class="walk-routes" {
            @for r in &routes {
                li data-route=(r.id) {
                    a href=(format!("/walks/routes/{}", r.id)) { (r.title) } " — " (leader_name(&leaders, r.leader_id)) ", " (r.stops.len()) " stops"
                    @if !r.active { " (paused)" }
                    @if let (Some(token), true) = (&csrf, r.active) {
                        form method="post" action="/walks" class="inline start-walk" {
                            (csrf_field(token))
                            input type="hidden" name="route" value=(r.id);
                            button type="submit" { "Start a walk" }
                        }
                    }
                }
            }
        }
        h2 { "Walks of the last four weeks" }
        @if walks.is_empty() { p class="empty" { "No walk in the last four weeks." } }
        ul class="walk-list" {
            @for w in walks.iter().rev() {
                li data-walk=(w.id) {
                    a href=(format!("/walks/{}", w.id)) { (fmt_time(cfg, Some(w.started_at))) " " (route_title(w.route_id)) }
                    " — " (leader_name(&leaders, w.leader_id)) ": "
                    @if w.ended_at.is_none() { strong { "under way" } ", " }
                    (counts_text(counts(&w.stops)))
                }
            }
        }
        @if let Some(token) = &csrf {
            @if leaders.is_empty() {
                p class="note" { "Add a leader on " a href="/lsw/setup" { "Leaders and routines" } " first: a route is a leader's." }
            } @else {
                h2 { "Add a route" }
                (route_form(cfg, &leaders, None, token))
            }
        } @else {
            p class="note" { a href="/login?return=%2Fwalks" { "Log in" } " to walk or to add routes." }
        }
    };
    page_response(&state, "Gemba walks — Gemba", body)
}

fn route_form(cfg: &Config, leaders: &[Leader], r: Option<&Route>, token: &str) -> Markup {
    let action = r.map_or("/walks/routes".to_string(), |r| {
        format!("/walks/routes/{}", r.id)
    });
    let boards: Vec<(String, String)> = crate::safety::all_boards(cfg)
        .iter()
        .map(|s| (s.key(), board_name(&s.key())))
        .collect();
    let questions = r.map_or(String::new(), |r| r.questions.join("\n"));
    html! {
        form method="post" action=(action) class="lsw-form route-form" {
            (csrf_field(token))
            label { "Title " input type="text" name="title" required maxlength="200" placeholder="Packaging floor, Tuesday and Thursday" value=(r.map_or("", |r| r.title.as_str())); }
            label { "Walked by " select name="leader" {
                @for l in leaders { option value=(l.id) selected[r.is_some_and(|r| r.leader_id == l.id)] { (l.name) } }
            } }
            fieldset {
                legend { "Stops, in order (a board, optionally an asset, and what to look at)" }
                @for i in 0..STOP_ROWS.max(r.map_or(0, |r| r.stops.len())) {
                    @let stop = r.and_then(|r| r.stops.get(i));
                    div class="stop-row" {
                        select name=(format!("stop_board.{i}")) aria-label=(format!("stop {} board", i + 1)) {
                            @for (k, n) in &boards { option value=(k) selected[stop.is_some_and(|s| &s.board == k)] { (n) } }
                        }
                        input type="text" name=(format!("stop_asset.{i}")) maxlength="80" placeholder="asset id" aria-label=(format!("stop {} asset", i + 1)) value=(stop.map_or("", |s| s.asset.as_str()));
                        input type="text" name=(format!("stop_label.{i}")) maxlength="200" placeholder="what to look at" aria-label=(format!("stop {} label", i + 1)) value=(stop.map_or("", |s| s.label.as_str()));
                    }
                }
            }
            label { "Questions at every stop, one a line (empty: the standard three)" textarea name="questions" rows="4" placeholder=(crate::walks::DEFAULT_QUESTIONS.join("\n")) { (questions) } }
            label { input type="checkbox" name="active" value="1" checked[r.is_none_or(|r| r.active)]; " active" }
            button type="submit" { @if r.is_some() { "Save" } @else { "Add route" } }
        }
    }
}

fn route_draft(f: &FormFields) -> RouteDraft {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    let rows = (0..200)
        .take_while(|i| f.contains_key(&format!("stop_board.{i}")))
        .map(|i| StopDraft {
            board: g(&format!("stop_board.{i}")),
            asset: g(&format!("stop_asset.{i}")),
            label: g(&format!("stop_label.{i}")),
        })
        .collect();
    RouteDraft {
        title: g("title"),
        leader: g("leader"),
        stops: rows,
        questions: g("questions"),
        active: f.get("active").is_some_and(|v| !v.is_empty() && v != "0"),
    }
}

/// `POST /walks/routes` and `POST /walks/routes/ID`.
pub async fn route_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Option<Path<String>>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let id = id.map(|Path(p)| id_of("a route", &p)).transpose()?;
    let d = route_draft(&f);
    let st = state.clone();
    let saved = blocking(move || with_walker(&st, &who, |w| w.save_route(id, &d))).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/walks/routes/{saved}")).into_response())
}

/// `/walks/routes/ID`: a route, its walks and history, and its form.
pub async fn route_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("a route", &id)?;
    let st = state.clone();
    let since = Utc::now() - Duration::days(91);
    let (leaders, routes, walks, history) = blocking(move || {
        read(&st, |s| {
            Ok((
                s.leaders()?,
                s.routes()?,
                s.walks(since, Utc::now() + Duration::days(1))?,
                s.lsw_history(&format!("route:{id}"))?,
            ))
        })
    })
    .await?;
    let Some(r) = routes.iter().find(|r| r.id == id) else {
        return Err(WalkError::NoSuchRoute(id).into());
    };
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let body = html! {
        h1 { (r.title) }
        p class="meta" { "Walked by " (leader_name(&leaders, r.leader_id)) "." @if !r.active { " Paused." } }
        ol class="walk-stops" {
            @for s in &r.stops {
                li { (s.label) " — " (board_name(&s.board)) @if !s.asset.is_empty() { ", asset " code { (s.asset) } } }
            }
        }
        p { "At each stop:" }
        ul { @for q in &r.questions { li { (q) } } }
        h2 { "Walks of the last 13 weeks" }
        ul class="walk-list" {
            @for w in walks.iter().rev().filter(|w| w.route_id == id) {
                li { a href=(format!("/walks/{}", w.id)) { (fmt_time(cfg, Some(w.started_at))) } ": " (counts_text(counts(&w.stops))) @if w.ended_at.is_none() { " (under way)" } }
            }
        }
        h2 { "History" }
        (history_list(cfg, &history))
        @if let Some(token) = &csrf {
            h2 { "Change" }
            (route_form(cfg, &leaders, Some(r), token))
        }
    };
    page_response(&state, &format!("{} — Gemba", r.title), body)
}

/// `POST /walks`: starts a walk of a route.
pub async fn start_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let route = id_of("a route", f.get("route").map_or("", |s| s))?;
    let st = state.clone();
    let id = blocking(move || with_walker(&st, &who, |w| w.start(route))).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/walks/{id}")).into_response())
}

/// `/walks/ID`: the walk under way (the stop at hand first) or its record.
pub async fn walk_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("a walk", &id)?;
    let st = state.clone();
    let (walk, leaders, routes, history) = blocking(move || {
        read(&st, |s| {
            Ok((
                s.walk(id)?,
                s.leaders()?,
                s.routes()?,
                s.lsw_history(&format!("walk:{id}"))?,
            ))
        })
    })
    .await?;
    let walk = walk.ok_or(WalkError::NoSuchWalk(id))?;
    let route = routes.iter().find(|r| r.id == walk.route_id);
    let cfg = state.config();
    let tz = cfg.plant.tz;
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let at_hand = next_stop(&walk.stops).filter(|_| walk.ended_at.is_none());
    let questions: Vec<String> = route.map_or_else(Vec::new, |r| r.questions.clone());
    let title = route.map_or_else(|| format!("Walk {id}"), |r| r.title.clone());
    let body = html! {
        h1 { (title) }
        p class="meta" {
            (leader_name(&leaders, walk.leader_id)) ", started " (fmt_time(cfg, Some(walk.started_at)))
            @if let Some(e) = walk.ended_at { ", ended " (e.with_timezone(&tz).format("%H:%M").to_string()) }
            ". " (counts_text(counts(&walk.stops))) "."
        }
        @if let (Some(n), Some(token)) = (at_hand, &csrf) {
            @let s = &walk.stops[n];
            section class="walk-stop" data-stop=(n + 1) {
                h2 { "Stop " (n + 1) " of " (walk.stops.len()) ": " (s.stop.label) }
                form method="post" action=(format!("/walks/{id}/stops/{}", n + 1)) class="walk-visit" {
                    (csrf_field(token))
                    @for (i, q) in questions.iter().enumerate() {
                        label { (q) textarea name=(format!("answer.{i}")) rows="2" maxlength="1000" {} }
                    }
                    fieldset {
                        legend { "Observations (each can become an action on " (board_name(&s.stop.board)) ")" }
                        @for i in 0..OBSERVATION_ROWS {
                            div class="observation" {
                                input type="text" name=(format!("obs.{i}")) maxlength="1000" placeholder="what you saw" aria-label=(format!("observation {}", i + 1));
                                label { input type="checkbox" name=(format!("raise.{i}")) value="1"; " raise as an action" }
                                input type="text" name=(format!("owner.{i}")) maxlength="80" placeholder="owner (default: you)" aria-label=(format!("owner of observation {}", i + 1));
                            }
                        }
                    }
                    button type="submit" { "Done with this stop" }
                }
                form method="post" action=(format!("/walks/{id}/stops/{}/skip", n + 1)) class="walk-skip" {
                    (csrf_field(token))
                    label { "Why skip it? " input type="text" name="reason" required maxlength="1000" placeholder="line stopped, area closed, ..."; }
                    button type="submit" { "Skip this stop" }
                }
            }
        }
        ol class="walk-progress" {
            @for (i, s) in walk.stops.iter().enumerate() {
                li class={"stop " (s.state.as_str()) (if Some(i) == at_hand { " here" } else { "" })} data-stop=(i + 1) {
                    span class="sign" aria-hidden="true" { (match s.state { StopState::Visited => "✓", StopState::Skipped => "↷", StopState::Pending => "○" }) } " "
                    (s.stop.label) " — " (board_name(&s.stop.board))
                    @if !s.stop.asset.is_empty() { ", asset " code { (s.stop.asset) } }
                    " (" (s.state.as_str()) ")"
                }
            }
        }
        @if let (None, Some(token)) = (walk.ended_at, &csrf) {
            form method="post" action=(format!("/walks/{id}/end")) class="walk-end" {
                (csrf_field(token))
                button type="submit" { @if at_hand.is_some() { "End the walk here" } @else { "End the walk" } }
            }
        }
        @if csrf.is_none() && walk.ended_at.is_none() { p class="note" { a href=(format!("/login?return=%2Fwalks%2F{id}")) { "Log in" } " to walk." } }
        h2 { "The record" }
        @for (i, s) in walk.stops.iter().enumerate().filter(|(_, s)| s.state != StopState::Pending) {
            section class={"walk-record " (s.state.as_str())} {
                h3 { (i + 1) ". " (s.stop.label) " — " (s.state.as_str()) @if let Some(t) = s.at { " " (t.with_timezone(&tz).format("%H:%M").to_string()) } }
                @if s.state == StopState::Skipped { p { "Skipped: " (s.skip_reason) } }
                @if s.answers.iter().any(|a| !a.answer.is_empty()) {
                    dl { @for a in &s.answers { dt { (a.question) } dd { @if a.answer.is_empty() { "—" } @else { (a.answer) } } } }
                }
                @if !s.observations.is_empty() {
                    ul class="observations" {
                        @for o in &s.observations {
                            li {
                                (o.text) @if let Some(a) = o.action { " → " a href=(format!("/actions/{a}")) { "action " (a) } }
                                " · " a class="start-a3" href=(format!("/a3?walk={id}&stop={}", i + 1)) { "start an A3" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "History" }
        (history_list(cfg, &history))
        p { a href="/walks" { "All walks" } }
    };
    page_response(&state, &format!("{title} — walk — Gemba"), body)
}

fn stop_of(raw: &str) -> Result<usize, AppError> {
    match raw.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n - 1),
        _ => Err(AppError::bad_request(format!(
            "`{raw}` is not a stop number (1 for the first)"
        ))),
    }
}

/// The answers and observations of a stop's form: `answer.N`, `obs.N`, `raise.N`, `owner.N`,
/// `due.N`.
fn visit_of(f: &FormFields) -> (Vec<String>, Vec<ObservationDraft>) {
    let g = |k: String| f.get(&k).cloned().unwrap_or_default();
    let answers = (0..crate::walks::MAX_QUESTIONS)
        .map(|i| g(format!("answer.{i}")))
        .collect::<Vec<_>>();
    let last = answers
        .iter()
        .rposition(|a| !a.trim().is_empty())
        .map_or(0, |i| i + 1);
    let observations = (0..OBSERVATION_ROWS.max(crate::walks::MAX_OBSERVATIONS))
        .map(|i| ObservationDraft {
            text: g(format!("obs.{i}")),
            raise: f
                .get(&format!("raise.{i}"))
                .is_some_and(|v| !v.is_empty() && v != "0"),
            owner: g(format!("owner.{i}")),
            due: g(format!("due.{i}")),
        })
        .collect();
    (answers[..last].to_vec(), observations)
}

/// `POST /walks/ID/stops/N`: the stop visited.
pub async fn visit_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let (id, n) = (id_of("a walk", &id)?, stop_of(&n)?);
    let (answers, observations) = visit_of(&f);
    if let Some(d) = observations
        .iter()
        .find(|o| o.raise && !o.due.trim().is_empty())
    {
        parse_date("due", &d.due)?;
    }
    let st = state.clone();
    blocking(move || with_walker(&st, &who, |w| w.visit(id, n, &answers, &observations))).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/walks/{id}")).into_response())
}

/// `POST /walks/ID/stops/N/skip`: the stop skipped, with the reason.
pub async fn skip_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let (id, n) = (id_of("a walk", &id)?, stop_of(&n)?);
    let reason = f.get("reason").cloned().unwrap_or_default();
    let st = state.clone();
    blocking(move || with_walker(&st, &who, |w| w.skip(id, n, &reason))).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/walks/{id}")).into_response())
}

/// `POST /walks/ID/end`.
pub async fn end_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, _) = form_writer(&state, &headers, &body)?;
    let id = id_of("a walk", &id)?;
    let st = state.clone();
    blocking(move || with_walker(&st, &who, |w| w.end(id))).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/walks/{id}")).into_response())
}

// ---- The JSON API ----

/// Every walk route, by id.
#[utoipa::path(get, path = "/api/v1/walk-routes", responses(
    (status = 200, description = "The routes", body = Vec<Route>),
))]
pub async fn api_routes(State(state): State<AppState>) -> Result<Json<Vec<Route>>, ApiError> {
    let st = state.clone();
    Ok(Json(blocking(move || read(&st, |s| s.routes())).await?))
}

/// A route to add or change.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RouteBody {
    /// Up to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// The leader who walks it (a number).
    #[serde(deserialize_with = "super::params::whole")]
    pub leader: i64,
    /// 1 to 20 stops, in order.
    pub stops: Vec<crate::walks::Stop>,
    /// 1 to 10; none for the standard three.
    #[serde(default)]
    pub questions: Vec<String>,
    /// Default true.
    #[serde(default)]
    pub active: Option<bool>,
}

async fn api_save_route(
    state: AppState,
    headers: HeaderMap,
    id: Option<i64>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Route>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let b: RouteBody = json_body(body)?;
    if b.questions.iter().any(|q| q.contains('\n')) {
        return Err(AppError::unprocessable("questions: each is one line").into());
    }
    let d = RouteDraft {
        title: b.title,
        leader: b.leader.to_string(),
        stops: b
            .stops
            .into_iter()
            .map(|s| StopDraft {
                board: s.board,
                asset: s.asset,
                label: s.label,
            })
            .collect(),
        questions: b.questions.join("\n"),
        active: b.active.unwrap_or(true),
    };
    let st = state.clone();
    let route = blocking(move || {
        let saved = with_walker(&st, &who, |w| w.save_route(id, &d))?;
        read(&st, |s| s.routes())?
            .into_iter()
            .find(|r| r.id == saved)
            .ok_or_else(|| AppError::internal(format!("route {saved} was saved but is not there")))
    })
    .await?;
    state.wrote();
    let status = if id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(route)))
}

/// Adds a walk route.
#[utoipa::path(post, path = "/api/v1/walk-routes", request_body = RouteBody, responses(
    (status = 201, description = "Added", body = Route),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
))]
pub async fn api_route_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<Route>), ApiError> {
    api_save_route(state, headers, None, body).await
}

/// Changes a walk route (every field, as when adding).
#[utoipa::path(post, path = "/api/v1/walk-routes/{id}", request_body = RouteBody,
    params(("id" = i64, Path, description = "The route's number")),
    responses(
    (status = 200, description = "Changed", body = Route),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such route", body = ErrorBody),
))]
pub async fn api_route_edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<Route>), ApiError> {
    let id = id_of("a route", &id)?;
    api_save_route(state, headers, Some(id), body).await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WalksParams {
    /// First day, YYYY-MM-DD plant time (default: 28 days ago).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[param(format = Date)]
    pub to: Option<String>,
}

/// A walk with its counts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WalkBody {
    #[serde(flatten)]
    pub walk: Walk,
    pub counts: WalkCounts,
}

fn walk_body(w: Walk) -> WalkBody {
    WalkBody {
        counts: counts(&w.stops),
        walk: w,
    }
}

/// The walks started in a range of days, oldest first, each stop as recorded.
#[utoipa::path(get, path = "/api/v1/walks", params(WalksParams), responses(
    (status = 200, description = "The walks", body = Vec<WalkBody>),
    (status = 400, description = "A bad date", body = ErrorBody),
    (status = 422, description = "`to` before `from`", body = ErrorBody),
))]
pub async fn api_walks(
    State(state): State<AppState>,
    Query(p): Query<WalksParams>,
) -> Result<Json<Vec<WalkBody>>, ApiError> {
    let tz = state.config().plant.tz;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = match p.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(f) => parse_date("from", f)?,
        None => today - Duration::days(28),
    };
    let to = match p.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(t) => parse_date("to", t)?,
        None => today,
    };
    if to < from {
        return Err(AppError::unprocessable(format!("to: {to} is before from ({from})")).into());
    }
    let (start, end) = crate::lsw::day_range(tz, from, to);
    let st = state.clone();
    let walks = blocking(move || read(&st, |s| s.walks(start, end))).await?;
    Ok(Json(walks.into_iter().map(walk_body).collect()))
}

/// One walk.
#[utoipa::path(get, path = "/api/v1/walks/{id}",
    params(("id" = i64, Path, description = "The walk's number")),
    responses(
    (status = 200, description = "The walk", body = WalkBody),
    (status = 400, description = "Not a number", body = ErrorBody),
    (status = 404, description = "No such walk", body = ErrorBody),
))]
pub async fn api_walk(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<WalkBody>, ApiError> {
    let id = id_of("a walk", &id)?;
    let st = state.clone();
    let w = blocking(move || read(&st, |s| s.walk(id))).await?;
    Ok(Json(walk_body(
        w.ok_or(WalkError::NoSuchWalk(id)).map_err(AppError::from)?,
    )))
}

/// A walk to start.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StartBody {
    /// The route's number.
    #[serde(deserialize_with = "super::params::whole")]
    pub route: i64,
}

async fn api_walk_write(
    state: AppState,
    headers: HeaderMap,
    write: impl FnOnce(&mut Walker<'_>) -> Result<i64, WalkError> + Send + 'static,
) -> Result<Json<WalkBody>, ApiError> {
    let who = api_writer(&state, &headers)?;
    let st = state.clone();
    let w = blocking(move || {
        let id = with_walker(&st, &who, write)?;
        read(&st, |s| s.walk(id))?
            .ok_or_else(|| AppError::internal(format!("walk {id} was saved but is not there")))
    })
    .await?;
    state.wrote();
    Ok(Json(walk_body(w)))
}

/// Starts a walk of a route, by the route's leader.
#[utoipa::path(post, path = "/api/v1/walks", request_body = StartBody, responses(
    (status = 201, description = "Started", body = WalkBody),
    (status = 400, description = "A bad body", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such route", body = ErrorBody),
    (status = 409, description = "The route is paused", body = ErrorBody),
))]
pub async fn api_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<WalkBody>), ApiError> {
    api_writer(&state, &headers)?;
    let b: StartBody = json_body(body)?;
    let w = api_walk_write(state, headers, move |w| w.start(b.route)).await?;
    Ok((StatusCode::CREATED, w))
}

/// An observation at a stop.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ObservationBody {
    pub text: String,
    /// Raise it as an action on the stop's board.
    #[serde(default)]
    pub raise: bool,
    /// The action's owner (default: the walking leader).
    #[serde(default)]
    pub owner: String,
    /// The action's due date, YYYY-MM-DD (default: in a week).
    #[serde(default)]
    #[schema(format = Date)]
    pub due: String,
}

/// A stop visited (answers and observations) or skipped (`skip` with the reason).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StopBody {
    /// The reason, to skip the stop; the rest is then ignored.
    #[serde(default)]
    pub skip: Option<String>,
    /// One answer per question of the route, in order.
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default)]
    pub observations: Vec<ObservationBody>,
}

/// Records a stop of a walk visited or skipped (1 for the first).
#[utoipa::path(post, path = "/api/v1/walks/{id}/stops/{n}", request_body = StopBody,
    params(("id" = i64, Path, description = "The walk's number"), ("n" = i64, Path, description = "The stop, 1 for the first", minimum = 1)),
    responses(
    (status = 200, description = "Recorded", body = WalkBody),
    (status = 400, description = "A bad answer, observation or stop, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such walk", body = ErrorBody),
    (status = 409, description = "The stop was recorded already, or the walk has ended", body = ErrorBody),
))]
pub async fn api_stop(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, n)): Path<(String, String)>,
    body: JsonBody,
) -> Result<Json<WalkBody>, ApiError> {
    api_writer(&state, &headers)?;
    let (id, n) = (id_of("a walk", &id)?, stop_of(&n)?);
    let b: StopBody = json_body(body)?;
    for o in b.observations.iter().filter(|o| !o.due.trim().is_empty()) {
        parse_date("due", &o.due)?;
    }
    api_walk_write(state, headers, move |w| {
        match b.skip {
            Some(reason) => w.skip(id, n, &reason)?,
            None => {
                let obs: Vec<ObservationDraft> = b
                    .observations
                    .into_iter()
                    .map(|o| ObservationDraft {
                        text: o.text,
                        raise: o.raise,
                        owner: o.owner,
                        due: o.due,
                    })
                    .collect();
                w.visit(id, n, &b.answers, &obs)?
            }
        }
        Ok(id)
    })
    .await
}

/// Ends a walk: a stop not reached is skipped.
#[utoipa::path(post, path = "/api/v1/walks/{id}/end",
    params(("id" = i64, Path, description = "The walk's number")),
    responses(
    (status = 200, description = "Ended", body = WalkBody),
    (status = 400, description = "Not a number", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such walk", body = ErrorBody),
    (status = 409, description = "The walk has ended already", body = ErrorBody),
))]
pub async fn api_end(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<WalkBody>, ApiError> {
    api_writer(&state, &headers)?;
    let id = id_of("a walk", &id)?;
    api_walk_write(state, headers, move |w| w.end(id).map(|_| id)).await
}
