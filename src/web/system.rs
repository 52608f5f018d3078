//! The health of the management system: `/system` and `/api/v1/system` (docs/metrics.md, "The
//! management system"). What is shown is read and computed by the shared panel
//! `panels::system`, which the plant's and sites' boards use for their tile row too.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use super::layout::{board_href, page_response};
use super::panels::system::{SystemBody, WINDOW_DAYS, compute, header, health_row, tiles};
use super::params::{parse_date_param, parse_window};
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::lsw::tier;
use crate::metrics::Scope;
use crate::system::{KEYS, label};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SystemParams {
    /// The window's last plant day, YYYY-MM-DD (default: today).
    #[param(format = Date)]
    pub as_of: Option<String>,
    /// The window, 1 to 3650 days (default 28).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    pub window_days: Option<String>,
}

fn params(state: &AppState, p: &SystemParams) -> Result<(NaiveDate, u32), AppError> {
    let today = Utc::now()
        .with_timezone(&state.config().plant.tz)
        .date_naive();
    Ok((
        parse_date_param("as_of", &p.as_of)?.unwrap_or(today),
        parse_window(&p.window_days)?.unwrap_or(WINDOW_DAYS),
    ))
}

/// `/system`: the management system's health.
pub async fn page(
    State(state): State<AppState>,
    Query(p): Query<SystemParams>,
) -> Result<Response, AppError> {
    let (as_of, window) = params(&state, &p)?;
    let st = state.clone();
    let body = blocking(move || compute(&st, as_of, window)).await?;
    let cfg = state.config();
    let markup = html! {
        h1 { "The management system" }
        p class="note" {
            "Is the lean system itself alive? The leaders' behaviour that keeps boards and huddles going, over the "
            (body.window_days) " days to " (body.as_of) ", against " code { "[targets]" } "; the lagging numbers beside them. "
            "Definitions: docs/metrics.md. " a href="/lsw" { "Standard work" } " · " a href="/walks" { "Walks" } " · " a href="/huddles" { "Huddles" }
        }
        (tiles(cfg, &body.plant.health, Some(&body.lagging)))
        h2 { "Per tier" }
        div class="lsw-scroll" {
            table class="system" {
                (header())
                tbody {
                    (health_row(cfg, &html! { (body.plant.label) }, &body.plant.health, true))
                    @for (t, r) in body.tiers.iter().enumerate() {
                        (health_row(cfg, &html! { (r.label) }, &r.health, t == 0))
                    }
                }
            }
        }
        h2 { "The last twelve weeks (plant)" }
        div class="lsw-scroll" {
            table class="system trend" {
                thead { tr {
                    th scope="col" { "week ending" }
                    @for key in KEYS { th scope="col" class="num" { (label(key).0) } }
                } }
                tbody {
                    @for w in &body.weeks {
                        (health_row(cfg, &html! { (w.week_ending) }, &w.plant, true))
                    }
                }
            }
        }
        h2 { "Per board" }
        div class="lsw-scroll" {
            table class="system boards" {
                (header())
                tbody {
                    @for r in &body.boards {
                        @let scope = Scope::from_key(&r.key).unwrap_or_default();
                        (health_row(cfg, &html! { a href=(board_href(&scope, false)) { (r.label) } }, &r.health, tier(&r.key) == 1))
                    }
                }
            }
        }
        p class="note" {
            "Huddles per working day are judged for the crews' daily huddles (and so the plant's); the areas and the site meet weekly. "
            "The improvement-to-firefighting ratio counts the actions opened and the A3s started; an A3's cycle time runs from its start to the first day its follow-up could say met. "
            a href="/a3" { "A3s" }
        }
    };
    page_response(&state, "The management system — Gemba", markup)
}

/// The management system's health for the plant, each tier and each board over a window, and
/// the plant's and tiers' last twelve weeks (docs/metrics.md, "The management system").
#[utoipa::path(get, path = "/api/v1/system", params(SystemParams), responses(
    (status = 200, description = "The indicators", body = SystemBody),
    (status = 400, description = "A bad date or window", body = ErrorBody),
))]
pub async fn api(
    State(state): State<AppState>,
    Query(p): Query<SystemParams>,
) -> Result<Json<SystemBody>, ApiError> {
    let (as_of, window) = params(&state, &p)?;
    let st = state.clone();
    Ok(Json(blocking(move || compute(&st, as_of, window)).await?))
}
