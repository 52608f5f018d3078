//! The JSON API under `/api/v1/`: the same numbers as the board, with the same parameters.
//! Its OpenAPI document (`openapi.rs`) is generated from these handlers and types (utoipa).

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::panels::lanes;
use super::params::{
    OrdersParams, PER_PAGE, checked_scope, id_of, parse_date_param, parse_trend_query, parse_window,
};
use super::{ApiError, AppError, AppState, ErrorBody};
use crate::metrics::orders::{OrderPage, OrderRow};
use crate::metrics::{Kpis, Scope};
use crate::pull::{PullPlan, PullRequest};
use crate::report;

/// Scope and time of a metrics query.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct KpisParams {
    /// As-of date, YYYY-MM-DD (plant time): metrics at the end of that day. Default: now.
    #[param(format = Date)]
    pub as_of: Option<String>,
    /// Length of the flow window in days (default from the config, 28).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    pub window_days: Option<String>,
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
}

/// Every metric of docs/metrics.md for one scope and date, with `by_crew` and data quality.
#[utoipa::path(get, path = "/api/v1/kpis", params(KpisParams), responses(
    (status = 200, description = "The metrics, as `gemba kpis --format json` prints them", body = Kpis),
    (status = 400, description = "A bad date, window or scope", body = ErrorBody),
))]
pub async fn kpis(
    State(state): State<AppState>,
    Query(p): Query<KpisParams>,
) -> Result<Json<Kpis>, ApiError> {
    let scope = checked_scope(&state, p.site, p.area, p.crew)?;
    let as_of = parse_date_param("as_of", &p.as_of)?;
    let window = parse_window(&p.window_days)?;
    let k = tokio::task::spawn_blocking(move || state.loaded().engine.kpis(as_of, window, &scope))
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Json(k))
}

/// Parameters of the pull lists (documentation only: the handler also reads the what-if).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullParams {
    /// The day, YYYY-MM-DD (plant time). Default: today, with scores taken now.
    #[param(format = Date)]
    pub date: Option<String>,
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
}

/// What each crew in scope should start next within the day's capacity, with the reasons; and
/// the unassigned orders, ranked. What-if: `technicians.<crew>=N` (repeatable) replaces a
/// crew's configured technicians, e.g. `technicians.Utilities=2`.
#[utoipa::path(get, path = "/api/v1/pull", params(PullParams), responses(
    (status = 200, description = "The pull lists, as `gemba pull --format json` prints them", body = PullPlan),
    (status = 400, description = "A bad date, scope or number of technicians", body = ErrorBody),
))]
pub async fn pull(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Query(p): Query<PullParams>,
) -> Result<Json<PullPlan>, ApiError> {
    let req = PullRequest {
        date: parse_date_param("date", &p.date)?,
        scope: checked_scope(&state, p.site, p.area, p.crew)?,
        technicians: lanes::technicians(raw.as_deref())?,
    };
    let plan = tokio::task::spawn_blocking(move || state.loaded().engine.pull(&req))
        .await
        .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Json(plan))
}

/// Parameters of a trend (documentation only: the handler reads repeated values too).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TrendParamsDoc {
    /// Metric keys, comma separated or repeated (default: backlog_weeks, reactive_pct, pm_compliance_pct).
    metric: Option<String>,
    /// First as-of date, YYYY-MM-DD (default: 52 weeks before `to`).
    #[param(format = Date)]
    from: Option<String>,
    /// Last as-of date, YYYY-MM-DD (default: today).
    #[param(format = Date)]
    to: Option<String>,
    /// Step: a number of days, weeks or months: 1d, 7d, 2w, 1mo (default 7d).
    #[param(pattern = r"^[1-9][0-9]{0,3}(d|w|mo|m)$")]
    every: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    window_days: Option<String>,
    site: Option<String>,
    area: Option<String>,
    crew: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TrendBody {
    pub metrics: Vec<String>,
    pub scope: Scope,
    pub window_days: u32,
    pub every: String,
    /// `{"as_of": "YYYY-MM-DD", "<metric>": number | null, ...}` per point.
    pub points: Vec<serde_json::Value>,
}

/// The as-of values of one or more metrics over time, for one scope.
#[utoipa::path(get, path = "/api/v1/trend", params(TrendParamsDoc), responses(
    (status = 200, description = "The series", body = TrendBody),
    (status = 400, description = "An unknown metric, a bad date or step", body = ErrorBody),
    (status = 422, description = "`from` after `to`, or more points than a trend has", body = ErrorBody),
))]
pub async fn trend(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let p = parse_trend_query(&state, raw.as_deref())?;
    if p.scopes.len() != 1 {
        return Err(AppError::bad_request(
            "the trend API takes one scope (site, area, crew); the trends page compares several",
        )
        .into());
    }
    let step: crate::metrics::Step = p.every.parse()?;
    let scope = p.scopes[0].clone();
    let t = tokio::task::spawn_blocking(move || {
        state
            .loaded()
            .engine
            .trend(&p.metrics, p.from, p.to, step, p.window_days, &scope)
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    Ok(Json(report::trend_json(&t)))
}

#[derive(Serialize, ToSchema)]
pub struct OrdersBody {
    /// Orders matching the filters, in all pages.
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub orders: Vec<OrderRow>,
}

/// Orders, filtered and sorted, a page at a time.
#[utoipa::path(get, path = "/api/v1/orders", params(
    ("site" = Option<String>, Query), ("area" = Option<String>, Query), ("crew" = Option<String>, Query),
    ("status" = Option<String>, Query, description = "Comma-separated statuses"),
    ("kind" = Option<String>, Query, description = "Comma-separated kinds"),
    ("open" = Option<String>, Query, description = "Only open orders: true or false", pattern = "^(1|true|on|yes|0|false|off|no)$"),
    ("overdue" = Option<String>, Query, description = "Only overdue orders: true or false", pattern = "^(1|true|on|yes|0|false|off|no)$"),
    ("sort" = Option<String>, Query, description = "age, due, priority, created or id", pattern = "^(age|due|priority|created|id)$"),
    ("dir" = Option<String>, Query, description = "asc or desc", pattern = "^(asc|desc)$"),
    ("page" = Option<u32>, Query, description = "From 1", minimum = 1, maximum = 1_000_000),
    ("per_page" = Option<u32>, Query, description = "1 to 1000, default 50", minimum = 1, maximum = 1000),
), responses(
    (status = 200, description = "A page of orders", body = OrdersBody),
    (status = 400, description = "A bad filter", body = ErrorBody),
))]
pub async fn orders(
    State(state): State<AppState>,
    Query(p): Query<OrdersParams>,
) -> Result<Json<OrdersBody>, ApiError> {
    let q = p.query(&state, true)?;
    let per_page = q.limit.unwrap_or(PER_PAGE);
    let OrderPage { total, orders, .. } = state.orders(q).await?;
    Ok(Json(OrdersBody {
        total,
        page: p.page.unwrap_or(1),
        per_page,
        orders,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RunBody {
    pub id: i64,
    /// csv, sync or demo.
    pub kind: String,
    pub source: String,
    pub file: Option<String>,
    pub profile: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub rows_read: u64,
    pub rows_upserted: u64,
    pub rows_rejected: u64,
    /// succeeded or failed.
    pub outcome: String,
    pub error: Option<String>,
}

impl From<crate::store::ImportRun> for RunBody {
    fn from(r: crate::store::ImportRun) -> RunBody {
        RunBody {
            id: r.id,
            kind: r.kind,
            source: r.source,
            file: r.file,
            profile: r.profile,
            started_at: r.started_at,
            finished_at: r.finished_at,
            rows_read: r.counts.read,
            rows_upserted: r.counts.upserted,
            rows_rejected: r.counts.rejected,
            outcome: r.outcome,
            error: r.error,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RejectionBody {
    pub line: u64,
    pub field: String,
    pub value: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    pub run: RunBody,
    pub rejections: Vec<RejectionBody>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportsParams {
    /// How many runs, newest first (default 50, at most 1000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// Import runs (CSV imports, API syncs, demo loads), newest first.
#[utoipa::path(get, path = "/api/v1/imports", params(ImportsParams), responses(
    (status = 200, description = "The runs", body = Vec<RunBody>),
    (status = 400, description = "A bad limit", body = ErrorBody),
))]
pub async fn imports(
    State(state): State<AppState>,
    Query(p): Query<ImportsParams>,
) -> Result<Json<Vec<RunBody>>, ApiError> {
    let limit = match p.limit.as_deref() {
        None | Some("") => 50,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::bad_request(format!("limit: `{s}` must be from 1 to 1000")))?,
    };
    let runs = tokio::task::spawn_blocking(move || state.with_store(|s| s.runs(limit)))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        .map_err(AppError::from)?;
    Ok(Json(runs.into_iter().map(RunBody::from).collect()))
}

/// One import run with its rejected rows.
#[utoipa::path(get, path = "/api/v1/imports/{id}", params(("id" = i64, Path, description = "The run number")), responses(
    (status = 200, description = "The run and its rejections", body = RunDetail),
    (status = 400, description = "Not a run number", body = ErrorBody),
    (status = 404, description = "No such run", body = ErrorBody),
))]
pub async fn import(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunDetail>, ApiError> {
    let id = id_of("a run", &id)?;
    let (run, rej) = tokio::task::spawn_blocking(move || {
        state.with_store(|s| Ok::<_, crate::store::StoreError>((s.run(id)?, s.rejections(id)?)))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
    .map_err(AppError::from)?;
    let run = run.ok_or(AppError {
        status: StatusCode::NOT_FOUND,
        message: format!("no import run {id}"),
    })?;
    Ok(Json(RunDetail {
        run: run.into(),
        rejections: rej
            .into_iter()
            .map(|r| RejectionBody {
                line: r.line,
                field: r.field,
                value: r.value,
                reason: r.reason,
            })
            .collect(),
    }))
}
