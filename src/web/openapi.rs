//! The JSON API's routes under `/api/v1/` and its OpenAPI document, generated (utoipa) from the
//! handlers and types of the page modules that answer them.

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use utoipa::OpenApi;

use super::{
    ApiError, AppError, AppState, ErrorBody, a3, actions, api, assets, hoshin, lsw, quality,
    safety, system, walks,
};
use crate::metrics::orders::OrderRow;
use crate::metrics::{AgeBuckets, CrewMetrics, Kpis, Metrics, Quality, Scope};
use crate::pull::{CrewPull, PullPlan, Ranked, Stop, Suggestion, TooBig, Unassigned};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gemba API",
        description = "The lean maintenance board's numbers: docs/metrics.md defines every key."
    ),
    paths(
        api::kpis,
        api::trend,
        api::orders,
        api::pull,
        api::imports,
        api::import,
        actions::api_list,
        actions::api_create,
        actions::api_op,
        safety::api_get,
        safety::api_post,
        quality::api_get,
        lsw::api_chart,
        lsw::api_leaders,
        lsw::api_leader_create,
        lsw::api_leader_edit,
        lsw::api_routines,
        lsw::api_routine_create,
        lsw::api_routine_edit,
        lsw::api_complete,
        walks::api_routes,
        walks::api_route_create,
        walks::api_route_edit,
        walks::api_walks,
        walks::api_walk,
        walks::api_start,
        walks::api_stop,
        walks::api_end,
        system::api,
        assets::api_list,
        assets::api_pareto,
        assets::api_asset,
        a3::api_list,
        a3::api_get,
        a3::api_start,
        a3::api_edit,
        a3::api_countermeasure,
        hoshin::api_list,
        hoshin::api_get,
        hoshin::api_create,
        hoshin::api_step,
        hoshin::api_bowling,
        hoshin::api_reviews,
        hoshin::api_review
    ),
    components(schemas(
        actions::ActionBody,
        actions::NewActionBody,
        actions::ActionOpBody,
        safety::SafetyBody,
        safety::NewMarkBody,
        crate::safety::DayMark,
        crate::safety::ShownDay,
        crate::safety::Mark,
        lsw::LswBody,
        lsw::RoutineStanding,
        lsw::TierTally,
        lsw::LeaderBody,
        lsw::RoutineBody,
        lsw::CompletionBody,
        lsw::ItemAnswerBody,
        crate::lsw::Tally,
        crate::lsw::Occurrence,
        crate::lsw::Standing,
        crate::lsw::RoutineKind,
        crate::lsw::ItemResult,
        crate::store::Leader,
        crate::store::Routine,
        crate::store::Completion,
        crate::store::Route,
        crate::store::Walk,
        crate::walks::Stop,
        crate::walks::StopRecord,
        crate::walks::StopState,
        crate::walks::Answer,
        crate::walks::Observation,
        crate::walks::WalkCounts,
        walks::RouteBody,
        super::panels::system::SystemBody,
        super::panels::system::HealthRow,
        super::panels::system::WeekHealth,
        super::panels::system::Lagging,
        crate::system::Health,
        walks::WalkBody,
        crate::metrics::AssetReport,
        crate::assets::Assets,
        crate::assets::AssetStats,
        crate::assets::Sums,
        crate::assets::Health,
        crate::assets::Bar,
        crate::assets::Measure,
        assets::ParetoBody,
        assets::AssetDetail,
        crate::a3::A3,
        crate::a3::Body,
        crate::a3::Stage,
        crate::a3::Origin,
        crate::a3::Op,
        crate::a3::Target,
        crate::a3::Figure,
        crate::a3::Current,
        crate::a3::Sections,
        crate::a3::Countermeasure,
        crate::a3::Verdict,
        super::panels::improvement::FollowUp,
        a3::A3Body,
        a3::StartBody,
        a3::EditBody,
        a3::TargetBody,
        a3::CountermeasureBody,
        crate::hoshin::Objective,
        crate::hoshin::ObjectiveBody,
        crate::hoshin::PlanMonth,
        crate::hoshin::Catchball,
        crate::hoshin::GapNote,
        crate::hoshin::Cell,
        crate::hoshin::Coverage,
        crate::hoshin::ReviewItem,
        crate::store::Review,
        super::panels::hoshin::MonthCell,
        hoshin::ObjectiveView,
        hoshin::ChildView,
        hoshin::NewObjectiveBody,
        hoshin::StepBody,
        hoshin::BowlingRow,
        hoshin::ReviewBody,
        walks::StartBody,
        walks::StopBody,
        walks::ObservationBody,
        PullPlan,
        CrewPull,
        Suggestion,
        TooBig,
        Stop,
        Ranked,
        Unassigned,
        Kpis,
        Metrics,
        AgeBuckets,
        Quality,
        CrewMetrics,
        Scope,
        OrderRow,
        api::OrdersBody,
        api::RunBody,
        api::RunDetail,
        api::RejectionBody,
        api::TrendBody,
        ErrorBody,
        crate::quality::QualityReport,
        crate::quality::ProblemReport,
        crate::quality::WeekShare,
        crate::quality::Problem,
        crate::model::Kind,
        crate::model::Status
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/kpis", get(api::kpis))
        .route("/trend", get(api::trend))
        .route("/orders", get(api::orders))
        .route("/pull", get(api::pull))
        .route("/actions", get(actions::api_list).post(actions::api_create))
        .route("/actions/{id}", axum::routing::post(actions::api_op))
        .route("/safety", get(safety::api_get).post(safety::api_post))
        .route("/quality", get(quality::api_get))
        .route("/lsw", get(lsw::api_chart))
        .route(
            "/leaders",
            get(lsw::api_leaders).post(lsw::api_leader_create),
        )
        .route("/leaders/{id}", axum::routing::post(lsw::api_leader_edit))
        .route(
            "/routines",
            get(lsw::api_routines).post(lsw::api_routine_create),
        )
        .route("/routines/{id}", axum::routing::post(lsw::api_routine_edit))
        .route(
            "/routines/{id}/completions",
            axum::routing::post(lsw::api_complete),
        )
        .route(
            "/walk-routes",
            get(walks::api_routes).post(walks::api_route_create),
        )
        .route(
            "/walk-routes/{id}",
            axum::routing::post(walks::api_route_edit),
        )
        .route("/system", get(system::api))
        .route(
            "/objectives",
            get(hoshin::api_list).post(hoshin::api_create),
        )
        .route(
            "/objectives/{id}",
            get(hoshin::api_get).post(hoshin::api_step),
        )
        .route("/hoshin/bowling", get(hoshin::api_bowling))
        .route(
            "/hoshin/reviews",
            get(hoshin::api_reviews).post(hoshin::api_review),
        )
        .route("/assets", get(assets::api_list))
        .route("/assets/pareto", get(assets::api_pareto))
        .route("/assets/{id}", get(assets::api_asset))
        .route("/a3", get(a3::api_list).post(a3::api_start))
        .route("/a3/{id}", get(a3::api_get).post(a3::api_edit))
        .route(
            "/a3/{id}/countermeasures",
            axum::routing::post(a3::api_countermeasure),
        )
        .route("/walks", get(walks::api_walks).post(walks::api_start))
        .route("/walks/{id}", get(walks::api_walk))
        .route(
            "/walks/{id}/stops/{n}",
            axum::routing::post(walks::api_stop),
        )
        .route("/walks/{id}/end", axum::routing::post(walks::api_end))
        .route("/imports", get(api::imports))
        .route("/imports/{id}", get(api::import))
        .route("/openapi.json", get(openapi))
        .fallback(|| async {
            ApiError(AppError {
                status: StatusCode::NOT_FOUND,
                message: "no such API route; see /api/v1/openapi.json".into(),
            })
        })
}
