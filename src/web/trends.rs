//! `/trends`: managers' trends, one scope or several side by side, and their CSV.

use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use maud::html;

use super::layout::{Nav, csv_response, layout};
use super::params::{TrendParams, parse_trend_query};
use super::{AppError, AppState, charts};
use crate::metrics::{Scope, Step, TREND_METRICS, Trend};
use crate::report::display_of;

fn compute_trends(state: &AppState, p: &TrendParams) -> Result<Vec<Trend>, AppError> {
    let loaded = state.loaded();
    let step: Step = p.every.parse()?;
    p.scopes
        .iter()
        .map(|s| {
            Ok(loaded
                .engine
                .trend(&p.metrics, p.from, p.to, step, p.window_days, s)?)
        })
        .collect()
}

/// The parameters of a trends request and its series, one per scope (computed off the runtime).
async fn trends_for(
    state: &AppState,
    raw: Option<&str>,
) -> Result<(TrendParams, Vec<Trend>), AppError> {
    let p = parse_trend_query(state, raw)?;
    let me = state.clone();
    tokio::task::spawn_blocking(move || compute_trends(&me, &p).map(|t| (p, t)))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
}

pub async fn trends_page(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (p, trends) = trends_for(&state, raw.as_deref()).await?;
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let dates: Vec<NaiveDate> = trends[0].points.iter().map(|t| t.as_of).collect();
    let csv_href = format!("/trends.csv?{}", raw.unwrap_or_default());
    let cfg = state.config();
    let body = html! {
        h1 { "Trends" }
        form class="filters" method="get" action="/trends" {
            label { "Metrics " select name="metric" multiple size="4" {
                @for m in TREND_METRICS {
                    option value=(m) selected[p.metrics.iter().any(|x| x == m)] { (display_of(m).map_or(*m, |d| d.label)) }
                }
            } }
            label { "Side by side " select name="compare" {
                option value="" { "—" }
                @for (v, l) in [("areas", "all areas"), ("crews", "all crews"), ("sites", "all sites")] {
                    option value=(v) selected[p.compare.as_deref() == Some(v)] { (l) }
                }
            } }
            label { "From " input type="date" name="from" value=(p.from.to_string()); }
            label { "To " input type="date" name="to" value=(p.to.to_string()); }
            label { "Every " select name="every" {
                @for (v, l) in [("1d", "day"), ("7d", "week"), ("1mo", "month")] {
                    option value=(v) selected[p.every == v] { (l) }
                }
            } }
            button type="submit" { "Show" }
            a class="download" href=(csv_href) { "Download CSV" }
        }
        p class="note" { "Scopes: " (p.scopes.iter().map(Scope::label).collect::<Vec<_>>().join(", ")) ". Each point is the metric as it stood at the end of that day." }
        @for (i, m) in p.metrics.iter().enumerate() {
            @let series: Vec<(String, Vec<Option<f64>>)> = trends.iter().map(|t| (t.scope.label(), t.points.iter().map(|pt| pt.values[i]).collect())).collect();
            @let refs: Vec<(&str, &[Option<f64>])> = series.iter().map(|(l, v)| (l.as_str(), v.as_slice())).collect();
            div class="panel wide" {
                (charts::line_chart_wide(&display_of(m).map_or(m.clone(), |d| format!("{} ({})", d.label, if d.unit.is_empty() { "count" } else if d.unit == crate::report::CURRENCY { cfg.plant.currency.as_str() } else { d.unit })), &dates, &refs, cfg.targets.get(m.as_str())))
            }
        }
    };
    Ok(Html(layout("Trends — Gemba", &nav, None, body).into_string()).into_response())
}

pub async fn trends_csv(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (p, trends) = trends_for(&state, raw.as_deref()).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["as_of".to_string()];
    for t in &trends {
        for m in &p.metrics {
            header.push(format!("{} {}", t.scope.key(), m));
        }
    }
    w.write_record(&header)
        .map_err(|e| AppError::internal(e.to_string()))?;
    for (i, pt) in trends[0].points.iter().enumerate() {
        let mut row = vec![pt.as_of.to_string()];
        for t in &trends {
            row.extend(
                t.points[i]
                    .values
                    .iter()
                    .map(|v| v.map(|v| v.to_string()).unwrap_or_default()),
            );
        }
        w.write_record(&row)
            .map_err(|e| AppError::internal(e.to_string()))?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::internal(e.to_string()))?;
    Ok(csv_response("gemba-trends.csv", body))
}
