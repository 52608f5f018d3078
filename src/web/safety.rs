//! Marking the safety cross: the board's form (`POST /safety`) and the JSON API
//! (`GET`/`POST /api/v1/safety`). The rules are `crate::safety`; who may write is asked first.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::auth::{Viewer, api_writer};
use super::layout::board_href;
use super::params::local_path;
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::metrics::Scope;
use crate::safety::{self, DayMark, Mark, SafetyError, ShownDay};

impl From<SafetyError> for AppError {
    fn from(e: SafetyError) -> AppError {
        match e {
            // The day's window and the note a case needs: rules the document cannot state.
            SafetyError::Future { .. }
            | SafetyError::TooOld { .. }
            | SafetyError::NoteNeeded(_) => AppError::unprocessable(e.to_string()),
            _ => AppError::bad_request(e.to_string()),
        }
    }
}

/// Checks and writes one mark; returns it as stored.
fn write(
    state: &AppState,
    who: String,
    board: &str,
    date: &str,
    mark: &str,
    note: &str,
) -> Result<DayMark, AppError> {
    let cfg = state.config();
    let board = crate::actions::board(cfg, board)?.key();
    let today = Utc::now().with_timezone(&cfg.plant.tz).date_naive();
    let (day, mark, note) = safety::check(date, mark, note, today)?;
    let m = DayMark {
        board,
        day,
        mark,
        note,
        who,
        at: Utc::now(),
    };
    state.with_store(|s| s.put_safety_mark(&m))?;
    Ok(m)
}

#[derive(Deserialize)]
pub struct MarkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    board: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    mark: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    r#return: String,
}

/// `POST /safety`: the board's (or the TV's) form.
pub async fn mark_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<MarkForm>,
) -> Result<Response, AppError> {
    let who = Viewer::of(&state, &headers).check(&f.csrf)?;
    let st = state.clone();
    let (board, date, mark, note) = (f.board.clone(), f.date, f.mark, f.note);
    let written = blocking(move || write(&st, who, &board, &date, &mark, &note)).await?;
    Ok(match local_path(&f.r#return) {
        Some(path) => Redirect::to(path),
        None => {
            let scope = Scope::from_key(&written.board).unwrap_or_default();
            Redirect::to(&format!("{}#safety", board_href(&scope, false)))
        }
    }
    .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SafetyParams {
    /// A board key: plant, site:NAME, area:NAME or crew:NAME (default: plant).
    pub board: Option<String>,
    /// YYYY-MM (plant time; default: this month).
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// A board's safety cross for one month.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SafetyBody {
    pub board: String,
    /// YYYY-MM.
    pub month: String,
    /// The marked days of the month, rolled up from the boards below this one.
    pub days: Vec<ShownDay>,
    /// Days since the last first-aid or lost-time case up to today; null when none is marked.
    pub days_since_case: Option<i64>,
    /// The boards whose marks this board shows (itself first).
    pub boards: Vec<String>,
}

/// The safety cross of a board for a month: each marked day with its worst mark over the board
/// and the boards below it, the board's own mark, and the days since the last case.
#[utoipa::path(get, path = "/api/v1/safety", params(SafetyParams), responses(
    (status = 200, description = "The month's cross", body = SafetyBody),
    (status = 400, description = "An unknown board or a bad month", body = ErrorBody),
))]
pub async fn api_get(
    State(state): State<AppState>,
    Query(p): Query<SafetyParams>,
) -> Result<Json<SafetyBody>, ApiError> {
    let cfg = state.config();
    let board = crate::actions::board(cfg, p.board.as_deref().unwrap_or("plant"))
        .map_err(AppError::from)?;
    let month: Option<NaiveDate> = match p.month.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(m) => Some(safety::month_of(m).map_err(AppError::from)?.0),
    };
    let st = state.clone();
    let b = board.clone();
    let cross = blocking(move || super::panels::safety::SafetyCross::read(&st, &b, month)).await?;
    let last = safety::last_of_month(cross.month);
    let mut boards = cross.boards.clone();
    boards.sort_by_key(|k| *k != cross.board);
    Ok(Json(SafetyBody {
        month: cross.month.format("%Y-%m").to_string(),
        days: cross
            .days
            .range(cross.month..=last)
            .map(|(_, d)| d.clone())
            .collect(),
        days_since_case: cross.days_since_case,
        board: cross.board,
        boards,
    }))
}

/// A day to mark.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMarkBody {
    /// A board key: plant, site:NAME, area:NAME or crew:NAME.
    pub board: String,
    /// YYYY-MM-DD, plant time; today or up to a year back.
    #[schema(format = Date)]
    pub date: String,
    pub mark: Mark,
    /// Up to 500 characters; needed for first aid and lost time.
    #[serde(default)]
    pub note: String,
}

/// Marks a board's day (replacing its earlier mark of that day; the history keeps both).
#[utoipa::path(post, path = "/api/v1/safety", request_body = NewMarkBody, responses(
    (status = 201, description = "Marked", body = DayMark),
    (status = 400, description = "A bad board, date, mark or note", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
))]
pub async fn api_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<DayMark>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let Json(v) = body.map_err(|e| AppError::bad_request(e.body_text()))?;
    let text = |k: &str| -> Result<String, AppError> {
        match v.get(k) {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(AppError::bad_request(format!(
                "{k}: `{other}` must be a string"
            ))),
        }
    };
    let (board, date, mark, note) = (text("board")?, text("date")?, text("mark")?, text("note")?);
    if board.trim().is_empty() {
        return Err(AppError::bad_request("board is required").into());
    }
    let st = state.clone();
    let m = blocking(move || write(&st, who, &board, &date, &mark, &note)).await?;
    Ok((StatusCode::CREATED, Json(m)))
}
