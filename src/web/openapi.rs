//! The JSON API's routes under `/api/v1/` and its OpenAPI document, generated (utoipa) from the
//! handlers and types of the page modules that answer them.

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::layout::Nav;
use super::{
    ApiError, AppError, AppState, ErrorBody, a3, actions, api, assets, hoshin, lsw, quality,
    safety, system, walks,
};
use crate::metrics::orders::OrderRow;
use crate::metrics::{AgeBuckets, CrewMetrics, Kpis, Metrics, Quality, Scope, TREND_METRICS};
use crate::model::{Kind, Status};
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

/// The document as this server enforces it: the generated one, with this plant's boards, sites,
/// areas and crews as the only values of the parameters and request fields that name them (they
/// come from the config and the data, so no static document can list them), and on every
/// operation the answers any route may give: 415 where a JSON body is read, 401 and 403 where
/// something is written.
async fn openapi(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let nav = Nav::build(&state.loaded().engine)?;
    let mut boards = vec!["plant".to_string()];
    for (kind, names) in [
        ("site", &nav.sites),
        ("area", &nav.areas),
        ("crew", &nav.crews),
    ] {
        boards.extend(names.iter().map(|n| format!("{kind}:{n}")));
    }
    let names = Names {
        site: &nav.sites,
        area: &nav.areas,
        crew: &nav.crews,
        board: &boards,
    };
    let mut doc = serde_json::to_value(ApiDoc::openapi())
        .map_err(|e| AppError::internal(format!("the API document: {e}")))?;
    exact(&mut doc, &names);
    Ok(Json(doc))
}

/// The names a parameter or request field may take, by its name.
struct Names<'a> {
    site: &'a [String],
    area: &'a [String],
    crew: &'a [String],
    board: &'a [String],
}

impl Names<'_> {
    fn of(&self, name: &str) -> Option<&[String]> {
        match name {
            "site" => Some(self.site),
            "area" => Some(self.area),
            "crew" => Some(self.crew),
            "board" => Some(self.board),
            _ => None,
        }
    }
}

/// The values of a parameter that takes a comma-separated list, as one regex alternation.
fn lists(name: &str) -> Option<String> {
    let words: Vec<&str> = match name {
        "kind" => Kind::ALL.iter().map(|k| k.as_str()).collect(),
        "status" => Status::ALL.iter().map(|s| s.as_str()).collect(),
        "metric" => TREND_METRICS.to_vec(),
        _ => return None,
    };
    Some(words.join("|"))
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// Writes the plant's names and the common answers into the generated document.
fn exact(doc: &mut Value, names: &Names<'_>) {
    let mut bodies = Vec::new();
    let mut answered = Vec::new();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for op in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, op) in op.iter_mut() {
                if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                    for p in params.iter_mut().filter(|p| p["in"] == "query") {
                        let values = p["name"].as_str().and_then(|n| names.of(n));
                        let listed = p["name"].as_str().and_then(lists);
                        let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut)
                        else {
                            continue;
                        };
                        if let Some(values) = values {
                            schema.insert("enum".into(), json!(values));
                        } else if let Some(one) = listed {
                            // Comma-separated (`kind=emergency,corrective`).
                            schema.insert("pattern".into(), json!(format!("^({one})(,({one}))*$")));
                        } else if schema.get("type").is_some_and(|t| {
                            t == "string"
                                || t.as_array().is_some_and(|a| a.contains(&json!("string")))
                        }) && !["format", "enum", "pattern"]
                            .iter()
                            .any(|k| schema.contains_key(*k))
                        {
                            // An empty or blank parameter is refused (`strict`).
                            schema.insert("pattern".into(), json!("\\S"));
                        }
                    }
                }
                let body = op["requestBody"]["content"]["application/json"]["schema"]
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.rsplit('/').next())
                    .map(String::from);
                let responses = &mut op["responses"];
                collect_refs(responses, &mut answered);
                if let Some(body) = body {
                    bodies.push(body);
                    responses["415"] =
                        error_response("The body is not JSON (`Content-Type: application/json`)");
                }
                if method == "post" {
                    for (code, what) in [
                        (
                            "401",
                            "Not logged in and no API token (`Authorization: Bearer <GEMBA_API_TOKEN>`)",
                        ),
                        ("403", "The login may not write this"),
                        (
                            "422",
                            "A rule refuses what the document admits (named in the error)",
                        ),
                    ] {
                        if responses.get(code).is_none() {
                            responses[code] = error_response(what);
                        }
                    }
                }
            }
        }
    }
    // A body's own fields: only where the schema is not also an answer's, which may hold names
    // from before the config changed.
    let kpis: Vec<&str> = crate::hoshin::KPIS.iter().map(|k| k.0).collect();
    for name in bodies.iter().filter(|b| !answered.contains(b)) {
        for (field, values) in [("board", json!(names.board)), ("kpi", json!(kpis))] {
            if let Some(property) = doc
                .pointer_mut(&format!("/components/schemas/{name}/properties/{field}"))
                .filter(|p| p["type"] == "string")
            {
                property["enum"] = values;
            }
        }
        if let Some(items) = doc
            .pointer_mut(&format!(
                "/components/schemas/{name}/properties/boards/items"
            ))
            .filter(|p| p["type"] == "string")
        {
            items["enum"] = json!(names.board);
        }
    }
}

/// The names of the component schemas `v` refers to directly.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(name) = x.as_str().and_then(|r| r.rsplit('/').next()) {
                        out.push(name.to_string());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The first parameter of `query` sent empty or blank, which the API refuses (the answer cache
/// lets such a request through to be refused).
pub fn blank_parameter(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name.into_owned())
}

/// Every answer of the API is JSON. An extractor's own refusal (a query that does not parse, a
/// repeated parameter, a body that is not JSON) comes from axum as plain text and is put in the
/// error body here. A parameter sent empty is refused before any handler: in the API a
/// parameter left out takes its default, and an empty one is a mistake worth saying.
async fn strict(req: Request, next: Next) -> Response {
    let read = matches!(*req.method(), Method::GET | Method::POST);
    if let Some(name) = req.uri().query().filter(|_| read).and_then(blank_parameter) {
        return ApiError(AppError::bad_request(format!(
            "{name}: empty; leave the parameter out for its default"
        )))
        .into_response();
    }
    let answer = next.run(req).await;
    let json = answer
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json || !(answer.status().is_client_error() || answer.status().is_server_error()) {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    // axum answers a JSON body of the wrong shape with 422; to the API it is a bad request, as
    // a body that does not parse is.
    let status = match parts.status {
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        s => s,
    };
    let mut wrapped = ApiError(AppError {
        status,
        // axum's 405 has no text: the status's own words then.
        message: match String::from_utf8_lossy(&text).trim() {
            "" => status.canonical_reason().unwrap_or("refused").to_string(),
            t => t.to_string(),
        },
    })
    .into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            wrapped.headers_mut().insert(name, value.clone());
        }
    }
    wrapped
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
        .layer(axum::middleware::from_fn(strict))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parameter that names a board, site, area or crew takes this plant's; a list takes its
    /// words comma separated; other text may not be blank; a body's board and KPI are listed
    /// unless the schema is also an answer's; a write documents 401, 403 and 415.
    #[test]
    fn the_document_is_made_exact_for_the_plant() {
        let mut doc = json!({
            "paths": {
                "/a": {
                    "get": {
                        "parameters": [
                            {"name": "crew", "in": "query", "schema": {"type": "string"}},
                            {"name": "kind", "in": "query", "schema": {"type": "string"}},
                            {"name": "note", "in": "query", "schema": {"type": ["string", "null"]}},
                            {"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"}},
                            {"name": "id", "in": "path", "schema": {"type": "string"}}
                        ],
                        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}}}}
                    },
                    "post": {
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}},
                        "responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Out"}}}}}
                    }
                }
            },
            "components": {"schemas": {
                "In": {"properties": {"board": {"type": "string"}, "kpi": {"type": "string"}}},
                "Out": {"properties": {"board": {"type": "string"}}}
            }}
        });
        let crews = ["Mech".to_string()];
        let boards = ["plant".to_string(), "crew:Mech".to_string()];
        exact(
            &mut doc,
            &Names {
                site: &[],
                area: &[],
                crew: &crews,
                board: &boards,
            },
        );
        let params = &doc["paths"]["/a"]["get"]["parameters"];
        assert_eq!(params[0]["schema"]["enum"], json!(["Mech"]));
        let kinds = params[1]["schema"]["pattern"].as_str().unwrap();
        assert!(
            kinds.starts_with("^(emergency|") && kinds.ends_with(")*$"),
            "{kinds}"
        );
        assert_eq!(params[2]["schema"]["pattern"], "\\S");
        assert!(params[3]["schema"].get("pattern").is_none());
        assert!(params[4]["schema"].get("pattern").is_none());
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["In"]["properties"]["board"]["enum"], json!(boards));
        assert!(
            schemas["In"]["properties"]["kpi"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("reactive_pct"))
        );
        assert!(schemas["Out"]["properties"]["board"].get("enum").is_none());
        let post = &doc["paths"]["/a"]["post"]["responses"];
        for code in ["401", "403", "415"] {
            assert!(post.get(code).is_some(), "{code}");
        }
        assert!(doc["paths"]["/a"]["get"]["responses"].get("401").is_none());
        assert!(doc["paths"]["/a"]["get"].get("requestBody").is_none());
    }

    #[test]
    fn a_blank_parameter_is_found() {
        assert_eq!(blank_parameter("a=1&b=&c=2").as_deref(), Some("b"));
        assert_eq!(blank_parameter("a=1&b=%20").as_deref(), Some("b"));
        assert_eq!(blank_parameter("a=1&b=2"), None);
    }
}
