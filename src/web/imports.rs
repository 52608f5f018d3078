//! `/imports`: every import run, sync and demo load, the scheduled jobs, and one run's rejected
//! rows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use maud::html;

use super::layout::{Nav, fmt_time, layout};
use super::params::id_of;
use super::{AppError, AppState, ago};

pub async fn imports_page(State(state): State<AppState>) -> Result<Response, AppError> {
    let me = state.clone();
    let (runs, jobs) = tokio::task::spawn_blocking(move || {
        me.with_store(|s| -> Result<_, AppError> { Ok((s.runs(100)?, s.job_runs(None, 30)?)) })
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let cfg = state.config();
    let now = Utc::now();
    let body = html! {
        h1 { "Imports" }
        @if !cfg.schedules.is_empty() {
            h2 { "Scheduled jobs" }
            p class="note" { "Each job run takes the settled files of its drop folder (docs/schedules.md); each file is one import below." }
            table class="orders full" {
                thead { tr { th { "Job" } th { "Started" } th { "Trigger" } th class="num" { "Files imported" } th class="num" { "Failed" } th class="num" { "Skipped" } th class="num" { "Rows upserted" } th class="num" { "Rejected" } th { "Outcome" } } }
                tbody {
                    @for j in &jobs {
                        tr class=(if j.outcome == "failed" { "late" } else { "" }) data-job-run=(j.id) {
                            td { (j.job) }
                            td { (fmt_time(cfg, Some(j.started_at))) " (" (ago(j.started_at, now)) ")" }
                            td { (j.trigger) }
                            td class="num" { (j.files_imported) }
                            td class="num" { (j.files_failed) }
                            td class="num" { (j.files_skipped) }
                            td class="num" { (j.counts.upserted) }
                            td class="num" { (j.counts.rejected) }
                            td { (j.outcome) @if let Some(e) = &j.error { br; span class="error" { (e) } } }
                        }
                    }
                }
            }
            h2 { "Import runs" }
        }
        p class="note" { "Every CSV import, API sync and demo load, newest first. A failed run changed nothing in the store." }
        table class="orders full" {
            thead { tr { th { "Run" } th { "Started" } th { "Kind" } th { "Source" } th { "File" } th class="num" { "Read" } th class="num" { "Upserted" } th class="num" { "Rejected" } th { "Outcome" } } }
            tbody {
                @for r in &runs {
                    tr class=(if r.outcome == "failed" { "late" } else { "" }) {
                        td { a href={"/imports/" (r.id)} { (r.id) } }
                        td { (fmt_time(cfg, Some(r.started_at))) " (" (ago(r.started_at, now)) ")" }
                        td { (r.kind) }
                        td { (r.source) }
                        td { (r.file.as_deref().unwrap_or("")) }
                        td class="num" { (r.counts.read) }
                        td class="num" { (r.counts.upserted) }
                        td class="num" { (r.counts.rejected) }
                        td { (r.outcome) @if let Some(e) = &r.error { br; span class="error" { (e) } } }
                    }
                }
            }
        }
    };
    Ok(Html(layout("Imports — Gemba", &nav, None, body).into_string()).into_response())
}

pub async fn import_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("a run", &id)?;
    let me = state.clone();
    let (run, rejections) = tokio::task::spawn_blocking(move || {
        me.with_store(|s| -> Result<_, crate::store::StoreError> {
            let run = s.run(id)?;
            let rej = s.rejections(id)?;
            Ok((run, rej))
        })
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    let Some(run) = run else {
        return Err(AppError {
            status: StatusCode::NOT_FOUND,
            message: format!("no import run {id}"),
        });
    };
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let body = html! {
        h1 { "Import run " (run.id) }
        p { (run.kind) " of " (run.file.as_deref().unwrap_or(&run.source)) " — " strong { (run.outcome) } ": read " (run.counts.read) ", upserted " (run.counts.upserted) ", rejected " (run.counts.rejected) "." }
        @if let Some(e) = &run.error { p class="error" { (e) } }
        @if rejections.is_empty() { p { "No rejected rows." } } @else {
            table class="orders full" {
                thead { tr { th class="num" { "Line" } th { "Field" } th { "Value" } th { "Reason" } } }
                tbody { @for r in &rejections { tr { td class="num" { (r.line) } td { (r.field) } td { code { (r.value) } } td { (r.reason) } } } }
            }
        }
        p { a href="/imports" { "← all imports" } }
    };
    Ok(
        Html(layout(&format!("Import {} — Gemba", run.id), &nav, None, body).into_string())
            .into_response(),
    )
}
