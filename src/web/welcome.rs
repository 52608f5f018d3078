//! The first page on an empty store: what Gemba is, and the demo plant one click away.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::auth::Viewer;
use super::layout::{Nav, csrf_field, layout};
use super::params::CsrfForm;
use super::{AppError, AppState};

/// `/welcome`: where the board sends a visitor while the store holds no orders.
pub async fn page(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if state.loaded().orders > 0 {
        return Redirect::to("/").into_response();
    }
    let viewer = Viewer::of(&state, &headers);
    Html(welcome(&state, &viewer).into_string()).into_response()
}

/// The first page on an empty store: what Gemba is, and the demo plant one click away.
pub fn welcome(state: &AppState, viewer: &Viewer) -> Markup {
    let cfg = state.config();
    layout(
        "Welcome — Gemba",
        &Nav::default(),
        None,
        html! {
            h1 { "Gemba has no work orders yet" }
            p { "The store " code { (crate::store::redact(state.db_url())) } " is empty. Gemba shows the numbers a maintenance team steers by — backlog in crew-weeks, reactive work, PM compliance, what is overdue or stuck — once it has work orders from your CMMS." }
            @if let Some(token) = viewer.csrf() {
                form method="post" action="/demo" {
                    (csrf_field(token))
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

pub async fn load_demo(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, AppError> {
    Viewer::of(&state, &headers).check(&f.csrf)?;
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
            // What was kept about the empty plant is not an answer about this one.
            me.answers().clear();
        }
        Ok(())
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Redirect::to("/").into_response())
}
