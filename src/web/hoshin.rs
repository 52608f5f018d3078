//! Strategy deployment on the web (docs/hoshin.md): the objectives and their deployment
//! (`/hoshin`), an objective with its plan, catchball and history (`/hoshin/ID`), the bowling
//! chart (`/hoshin/bowling`, printable on one page), the monthly reviews (`/hoshin/reviews`),
//! and the JSON under `/api/v1/objectives` and `/api/v1/hoshin`. The rules are
//! `crate::hoshin`; the actuals are measured by `panels::hoshin`. Who may write is asked first
//! in every write handler; who may agree a proposal, by the rules.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::auth::{FormFields, Viewer, api_writer, form_writer};
use super::layout::{csrf_field, page_response};
use super::panels::hoshin::{MonthCell, fmt, months_cached};
use super::panels::leadership::history as history_list;
use super::params::{JsonBody, id_of, json_body, parse_date};
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::actions::board_name;
use crate::hoshin::{
    Catchball, Coverage, Draft, Hoshin, HoshinError, KPIS, Objective, ReviewItem, children,
    coverage, month_key,
};
use crate::metrics::Scope;
use crate::store::{Review, ReviewWrite};

impl From<HoshinError> for AppError {
    fn from(e: HoshinError) -> AppError {
        let status = match &e {
            HoshinError::NoSuchObjective(_) => StatusCode::NOT_FOUND,
            HoshinError::Conflict(_) => StatusCode::CONFLICT,
            HoshinError::Forbidden(_) => StatusCode::FORBIDDEN,
            HoshinError::Store(_) => {
                return match e {
                    HoshinError::Store(s) => s.into(),
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

fn with_hoshin<T>(
    state: &AppState,
    who: &str,
    f: impl FnOnce(&mut Hoshin<'_>) -> Result<T, HoshinError>,
) -> Result<T, AppError> {
    state.with_store(|s| {
        f(&mut Hoshin {
            store: s,
            cfg: state.config(),
            who,
            now: Utc::now(),
        })
        .map_err(AppError::from)
    })
}

/// An objective with its months and, for a parent, its children's catchball.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ObjectiveView {
    #[serde(flatten)]
    pub objective: Objective,
    pub months: Vec<MonthCell>,
    /// The objectives deployed from it.
    pub children: Vec<ChildView>,
    /// Whether the agreed children's targets make this one's.
    pub coverage: Coverage,
}

/// A deployed objective as its parent sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ChildView {
    pub id: i64,
    pub board: String,
    pub owner: String,
    pub catchball: Catchball,
    pub target: f64,
    pub baseline: Option<f64>,
    pub comment: String,
}

fn view(state: &AppState, o: Objective, all: &[Objective]) -> Result<ObjectiveView, AppError> {
    let months = months_cached(state, &o)?.as_ref().clone();
    let kids: Vec<&Objective> = all.iter().filter(|c| c.parent == Some(o.id)).collect();
    let band = crate::hoshin::band(state.config(), &o.body.kpi);
    let agreed: Vec<f64> = kids
        .iter()
        .filter(|c| c.body.catchball == Catchball::Agreed)
        .map(|c| c.body.target)
        .collect();
    Ok(ObjectiveView {
        coverage: coverage(&o.body.kpi, band, o.body.target, &agreed),
        children: kids
            .iter()
            .map(|c| ChildView {
                id: c.id,
                board: c.board.clone(),
                owner: c.owner.clone(),
                catchball: c.body.catchball,
                target: c.body.target,
                baseline: c.body.baseline,
                comment: c.body.comment.clone(),
            })
            .collect(),
        objective: o,
        months,
    })
}

fn all(state: &AppState) -> Result<Vec<Objective>, AppError> {
    Ok(state.with_store(|s| s.objectives())?)
}

fn one(state: &AppState, id: i64) -> Result<ObjectiveView, AppError> {
    let list = all(state)?;
    let o = list
        .iter()
        .find(|o| o.id == id)
        .cloned()
        .ok_or(HoshinError::NoSuchObjective(id))?;
    view(state, o, &list)
}

/// Sets an objective: checked, its baseline measured at the end of the month before its start.
fn create(state: &AppState, who: &str, d: &Draft) -> Result<i64, AppError> {
    let cfg = state.config();
    let c = crate::hoshin::check(cfg, d)?;
    let baseline_date = c.start - Duration::days(1);
    let loaded = state.loaded();
    let scope = Scope::from_key(&c.board).unwrap_or_default();
    let baseline = loaded
        .engine
        .month_end_values(&c.kpi, &scope, &[baseline_date])?
        .into_iter()
        .next()
        .flatten();
    with_hoshin(state, who, |h| h.create(&c, baseline, baseline_date))
}

/// Deploys an objective to boards below it, each with its own baseline.
fn deploy(state: &AppState, who: &str, id: i64, boards: &[String]) -> Result<Vec<i64>, AppError> {
    let parent = state
        .with_store(|s| s.objective(id))?
        .ok_or(HoshinError::NoSuchObjective(id))?;
    let loaded = state.loaded();
    let mut baselines = BTreeMap::new();
    for b in boards {
        let scope = Scope::from_key(b)
            .ok_or_else(|| AppError::bad_request(format!("boards: `{b}` is not a board")))?;
        if loaded.engine.check_scope(&scope).is_err() {
            continue;
        }
        let v = loaded.engine.month_end_values(
            &parent.body.kpi,
            &scope,
            &[parent.body.baseline_date],
        )?;
        baselines.insert(b.clone(), v.into_iter().next().flatten());
    }
    with_hoshin(state, who, |h| h.deploy(id, boards, &baselines))
}

fn decide(
    state: &AppState,
    who: &str,
    id: i64,
    agree: bool,
    comment: &str,
) -> Result<(), AppError> {
    let leaders = state.with_store(|s| s.leaders())?;
    let open = state.config().auth.is_none() || who == super::auth::WHO_API_TOKEN;
    with_hoshin(state, who, |h| h.decide(id, agree, comment, &leaders, open))
}

fn draft_of(f: &FormFields) -> Draft {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    Draft {
        title: g("title"),
        owner: g("owner"),
        board: g("board"),
        kpi: g("kpi"),
        start: g("start"),
        horizon: g("horizon"),
        target: g("target"),
    }
}

fn catchball_tag(c: Catchball) -> Markup {
    let class = match c {
        Catchball::Agreed => "green",
        Catchball::Returned => "red",
        Catchball::Proposed => "amber",
        _ => "none",
    };
    html! { span class={"catchball " (class)} { (c.as_str()) } }
}

fn coverage_words(c: Coverage) -> &'static str {
    match c {
        Coverage::Covers => "✔ the agreed targets make the objective's",
        Coverage::Brackets => {
            "▲ the objective's target lies between the agreed ones: it depends on the boards' weights"
        }
        Coverage::Short => "✖ the agreed targets cannot make the objective's",
        Coverage::Open => "· nothing agreed yet",
    }
}

/// `/hoshin`: every objective with its deployment, and the form to set one.
pub async fn list_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    let views = blocking(move || {
        let list = all(&st)?;
        list.iter()
            .filter(|o| o.parent.is_none())
            .map(|o| view(&st, o.clone(), &list))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let boards = crate::safety::boards_within(cfg, &Scope::plant());
    let today = Utc::now().with_timezone(&cfg.plant.tz).date_naive();
    let body = html! {
        h1 { "Strategy deployment" }
        p class="note" {
            "A few breakthrough objectives on the numbers Gemba computes, deployed down the tiers in a catchball, reviewed monthly on the "
            a href="/hoshin/bowling" { "bowling chart" } " · " a href="/hoshin/reviews" { "monthly reviews" } " · docs/hoshin.md"
        }
        @for v in &views {
            @let o = &v.objective;
            section class="panel objective" {
                h2 { a href={"/hoshin/" (o.id)} { (o.title) } span class="sub" { " · " (board_name(&o.board)) " · " (o.owner) } }
                p { code { (o.body.kpi) } " from " (fmt(o.body.baseline)) " (" (o.body.baseline_date) ") to " strong { (fmt(Some(o.body.target))) } " by " (month_key(o.body.horizon)) }
                p class="sub" { (coverage_words(v.coverage)) }
                ul class="children" {
                    @for c in &v.children {
                        li { a href={"/hoshin/" (c.id)} { (board_name(&c.board)) } " " (catchball_tag(c.catchball)) " target " (fmt(Some(c.target))) }
                    }
                }
            }
        }
        @if views.is_empty() { p class="empty" { "No objective yet." } }
        @if let Some(token) = &csrf {
            details class="panel" open[views.is_empty()] {
                summary { "Set a breakthrough objective" }
                form class="objective-form" method="post" action="/hoshin" {
                    (csrf_field(token))
                    label { "Objective " input name="title" required maxlength="160"; }
                    label { "Owner " input name="owner" required maxlength="80"; }
                    label { "Board " select name="board" { @for b in &boards { option value=(b) { (board_name(b)) } } } }
                    label { "KPI " select name="kpi" { @for (k, _) in KPIS { option value=(k) { (k) } } } }
                    label { "Start (month) " input type="month" name="start" required value=(month_key(today)); }
                    label { "Horizon (month) " input type="month" name="horizon" required value=(month_key(today + chrono::Months::new(11))); }
                    label { "Target by the horizon " input name="target" required inputmode="decimal"; }
                    button type="submit" { "Set it" }
                }
            }
        }
    };
    page_response(&state, "Strategy deployment — Gemba", body)
}

/// `POST /hoshin`.
pub async fn create_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let d = draft_of(&f);
    let st = state.clone();
    let id = blocking(move || create(&st, &who, &d)).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/hoshin/{id}")).into_response())
}

fn months_table(v: &ObjectiveView, token: Option<&str>) -> Markup {
    let o = &v.objective;
    html! {
        table class="plan" {
            thead { tr { th { "month" } th class="num" { "plan" } th class="num" { "actual" } th { "" } th { "gap note" } } }
            tbody {
                @for m in &v.months {
                    tr id={"m-" (m.month)} class={"cell-" (m.cell.class())} {
                        th scope="row" { (m.month) }
                        td class="num" {
                            @if let (Some(t), true) = (token, o.body.catchball != Catchball::Agreed || o.parent.is_none()) {
                                form class="inline plan-month" method="post" action={"/hoshin/" (o.id) "/plan"} {
                                    (csrf_field(t)) input type="hidden" name="month" value=(m.month);
                                    input name="value" size="6" inputmode="decimal" value=(fmt(m.plan)) aria-label={"plan for " (m.month)};
                                }
                            } @else { (fmt(m.plan)) }
                        }
                        td class="num" { (fmt(m.actual)) }
                        td class={"cell " (m.cell.class())} { (m.cell.sign()) }
                        td {
                            @if let Some(g) = &m.gap {
                                span class="gap" { strong { "Cause: " } (g.cause) " " strong { "Countermeasure: " } (g.countermeasure) }
                                @if let Some(a) = g.action { " " a href={"/actions/" (a)} { "action #" (a) } }
                                @if let Some(a) = g.a3 { " " a href={"/a3/" (a)} { "A3 #" (a) } }
                            } @else if m.cell == crate::hoshin::Cell::Red {
                                @if let Some(t) = token {
                                    form class="gap-form" method="post" action={"/hoshin/" (o.id) "/gaps"} {
                                        (csrf_field(t)) input type="hidden" name="month" value=(m.month);
                                        input name="cause" required placeholder="cause" maxlength="2000";
                                        input name="countermeasure" required placeholder="countermeasure" maxlength="2000";
                                        input name="action" placeholder="action #" size="6";
                                        input name="a3" placeholder="A3 #" size="5";
                                        button type="submit" { "Note the gap" }
                                    }
                                } @else { span class="warn" { "needs a gap note" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/hoshin/ID`: the objective, its months, its catchball and history.
pub async fn objective_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("an objective", &id)?;
    let st = state.clone();
    let (v, parent, history) = blocking(move || {
        let v = one(&st, id)?;
        let parent = match v.objective.parent {
            Some(p) => st.with_store(|s| s.objective(p))?,
            None => None,
        };
        let history = st.with_store(|s| s.lsw_history(&format!("objective:{id}")))?;
        Ok((v, parent, history))
    })
    .await?;
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let o = &v.objective;
    let below = children(cfg, &o.board);
    let deployed: Vec<&str> = v.children.iter().map(|c| c.board.as_str()).collect();
    let body = html! {
        h1 { (o.title) }
        p class="sub" {
            (board_name(&o.board)) " · owner " (if o.owner.is_empty() { "(to name)" } else { o.owner.as_str() })
            @if let Some(p) = &parent { " · deployed from " a href={"/hoshin/" (p.id)} { (p.title) " (" (board_name(&p.board)) ")" } " · " (catchball_tag(o.body.catchball)) }
        }
        p { code { (o.body.kpi) } ": baseline " strong { (fmt(o.body.baseline)) } " at " (o.body.baseline_date) ", target " strong { (fmt(Some(o.body.target))) } " by " (month_key(o.body.horizon)) ". Plan: a straight glide path, months set by hand marked in the history." }
        @if !o.body.comment.is_empty() { p class="comment" { strong { "Comment of the parent: " } (o.body.comment) } }
        (months_table(&v, csrf.as_deref()))
        @if parent.is_some() {
            @if let Some(token) = &csrf {
                @if matches!(o.body.catchball, Catchball::Draft | Catchball::Returned) {
                    form class="propose" method="post" action={"/hoshin/" (o.id) "/propose"} {
                        (csrf_field(token))
                        label { "Owner " input name="owner" required maxlength="80" value=(o.owner); }
                        label { "Our target by " (month_key(o.body.horizon)) " " input name="target" required inputmode="decimal" value=(fmt(Some(o.body.target))); }
                        button type="submit" { "Propose to " (parent.as_ref().map(|p| board_name(&p.board)).unwrap_or_default()) }
                    }
                }
                @if o.body.catchball == Catchball::Proposed {
                    form class="decide" method="post" action={"/hoshin/" (o.id) "/decide"} {
                        (csrf_field(token))
                        label { "Comment " input name="comment" maxlength="2000"; }
                        button type="submit" name="decision" value="agree" { "Agree" }
                        button type="submit" name="decision" value="return" { "Return" }
                    }
                }
            }
        }
        // An objective of its own or one agreed is deployed further down, tier by tier.
        @if !below.is_empty() && (parent.is_none() || o.body.catchball == Catchball::Agreed || !v.children.is_empty()) {
            h2 { "Deployment" }
            p class="sub" { (coverage_words(v.coverage)) }
            table class="deployment" {
                thead { tr { th { "board" } th { "catchball" } th class="num" { "baseline" } th class="num" { "target" } th { "owner" } } }
                tbody {
                    @for c in &v.children {
                        tr { th scope="row" { a href={"/hoshin/" (c.id)} { (board_name(&c.board)) } } td { (catchball_tag(c.catchball)) } td class="num" { (fmt(c.baseline)) } td class="num" { (fmt(Some(c.target))) } td { (c.owner) } }
                    }
                }
            }
            @if let Some(token) = &csrf {
                @let left: Vec<&String> = below.iter().filter(|b| !deployed.contains(&b.as_str())).collect();
                @if !left.is_empty() && (parent.is_none() || o.body.catchball == Catchball::Agreed) {
                    form class="deploy" method="post" action={"/hoshin/" (o.id) "/deploy"} {
                        (csrf_field(token))
                        @for b in &left { label { input type="checkbox" name="board" value=(b); " " (board_name(b)) } }
                        button type="submit" { "Deploy to the boards below" }
                    }
                }
            }
        }
        h2 { "History" }
        (history_list(cfg, &history))
    };
    page_response(&state, &format!("{} — Gemba", o.title), body)
}

fn redirect_to(id: i64) -> Response {
    Redirect::to(&format!("/hoshin/{id}")).into_response()
}

fn opt_id(f: &FormFields, k: &str) -> Result<Option<i64>, AppError> {
    match f.get(k).map(|s| s.trim().trim_start_matches('#')) {
        None | Some("") => Ok(None),
        Some(v) => id_of(k, v).map(Some),
    }
}

/// `POST /hoshin/ID/plan`, `/deploy`, `/propose`, `/decide`, `/gaps`: one of the objective's
/// forms.
pub async fn form_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, what)): Path<(String, String)>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let id = id_of("an objective", &id)?;
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    let st = state.clone();
    match what.as_str() {
        "plan" => {
            let (m, v) = (g("month"), g("value"));
            blocking(move || with_hoshin(&st, &who, |h| h.set_month(id, &m, &v))).await?
        }
        "deploy" => {
            let boards: Vec<String> = form_urlencoded::parse(&body)
                .filter(|(k, _)| k == "board")
                .map(|(_, v)| v.into_owned())
                .collect();
            if boards.is_empty() {
                return Err(AppError::bad_request("board: choose at least one board"));
            }
            blocking(move || deploy(&st, &who, id, &boards).map(|_| ())).await?
        }
        "propose" => {
            let (owner, target) = (g("owner"), g("target"));
            blocking(move || with_hoshin(&st, &who, |h| h.propose(id, &owner, &target, &[])))
                .await?
        }
        "decide" => {
            let agree = match g("decision").as_str() {
                "agree" => true,
                "return" => false,
                other => {
                    return Err(AppError::bad_request(format!(
                        "decision: `{other}` is not agree or return"
                    )));
                }
            };
            let comment = g("comment");
            blocking(move || decide(&st, &who, id, agree, &comment)).await?
        }
        "gaps" => {
            let (action, a3) = (opt_id(&f, "action")?, opt_id(&f, "a3")?);
            let (m, cause, cm) = (g("month"), g("cause"), g("countermeasure"));
            blocking(move || with_hoshin(&st, &who, |h| h.gap(id, &m, &cause, &cm, action, a3)))
                .await?
        }
        other => {
            return Err(AppError {
                status: StatusCode::NOT_FOUND,
                message: format!("no form `{other}` on an objective"),
            });
        }
    }
    state.wrote();
    Ok(redirect_to(id))
}

/// A row of the bowling chart: an objective and its months.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BowlingRow {
    pub id: i64,
    pub parent: Option<i64>,
    /// 0 for an objective of its own, 1 for one deployed from it, and so on.
    pub depth: u32,
    pub board: String,
    pub title: String,
    pub kpi: String,
    pub catchball: Catchball,
    pub months: Vec<MonthCell>,
}

fn bowling(state: &AppState) -> Result<Vec<BowlingRow>, AppError> {
    let list = all(state)?;
    let mut rows = Vec::new();
    // Each objective, then the ones deployed from it, depth first.
    fn push(
        state: &AppState,
        list: &[Objective],
        o: &Objective,
        depth: u32,
        rows: &mut Vec<BowlingRow>,
    ) -> Result<(), AppError> {
        rows.push(BowlingRow {
            id: o.id,
            parent: o.parent,
            depth,
            board: o.board.clone(),
            title: o.title.clone(),
            kpi: o.body.kpi.clone(),
            catchball: o.body.catchball,
            months: months_cached(state, o)?.as_ref().clone(),
        });
        for c in list.iter().filter(|c| c.parent == Some(o.id)) {
            push(state, list, c, depth + 1, rows)?;
        }
        Ok(())
    }
    for top in list.iter().filter(|o| o.parent.is_none()) {
        push(state, &list, top, 0, &mut rows)?;
    }
    Ok(rows)
}

/// `/hoshin/bowling`: plan and actual of every objective and its deployed children, by month.
pub async fn bowling_page(State(state): State<AppState>) -> Result<Response, AppError> {
    let st = state.clone();
    let rows = blocking(move || bowling(&st)).await?;
    let body = html! {
        h1 { "Bowling chart" }
        p class="note" {
            "Each cell: the plan and, under it, the actual at the month's end from the orders. "
            span class="cell green" { "✔" } " on plan, " span class="cell red" { "✖" } " off plan (a gap note says why and what is done), · months to come. "
            "Judged by each KPI's better side (docs/hoshin.md)."
        }
        @for (at, top) in rows.iter().enumerate().filter(|(_, r)| r.depth == 0) {
            @let end = rows[at + 1..].iter().position(|r| r.depth == 0).map_or(rows.len(), |n| at + 1 + n);
            table class="bowling" {
                thead { tr {
                    th scope="col" { "objective" }
                    @for m in &top.months { th scope="col" { (m.month) } }
                } }
                tbody {
                    @for r in &rows[at..end] {
                        tr class={"d" (r.depth.min(3)) @if r.depth > 0 { " child" } @else { " top" }} {
                            th scope="row" {
                                a href={"/hoshin/" (r.id)} { @if r.depth > 0 { (board_name(&r.board)) } @else { (r.title) } }
                                span class="sub" { " " (r.kpi) @if r.depth > 0 { " · " (r.catchball.as_str()) } }
                            }
                            @for m in &r.months {
                                td class={"cell " (m.cell.class())} title=(m.gap.as_ref().map(|g| format!("{} — {}", g.cause, g.countermeasure)).unwrap_or_default()) {
                                    span class="plan" { (fmt(m.plan)) }
                                    span class="actual" { (m.cell.sign()) " " (fmt(m.actual)) }
                                    @if m.gap.is_some() { a class="gap-mark" href={"/hoshin/" (r.id) "#m-" (m.month)} { "gap note" } }
                                    @else if m.cell == crate::hoshin::Cell::Red { a class="gap-mark missing" href={"/hoshin/" (r.id) "#m-" (m.month)} { "note the gap" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if rows.is_empty() { p class="empty" { "No objective yet: " a href="/hoshin" { "set one" } "." } }
    };
    page_response(&state, "Bowling chart — Gemba", body)
}

/// `/hoshin/reviews`: the monthly reviews, and the form to record one.
pub async fn reviews_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    let (reviews, objectives) =
        blocking(move || Ok((st.with_store(|s| s.reviews())?, all(&st)?))).await?;
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let today = Utc::now().with_timezone(&cfg.plant.tz).date_naive();
    let boards: Vec<String> = {
        let mut b: Vec<String> = objectives.iter().map(|o| o.board.clone()).collect();
        b.sort();
        b.dedup();
        b
    };
    let title_of = |id: &i64| {
        objectives
            .iter()
            .find(|o| o.id == *id)
            .map_or(format!("objective {id}"), |o| {
                format!("{} ({})", o.title, board_name(&o.board))
            })
    };
    let body = html! {
        h1 { "Monthly reviews" }
        p class="note" { "Each tier reviews its objectives once a month on the " a href="/hoshin/bowling" { "bowling chart" } ": who was there, and per objective a status and a note." }
        @if let Some(token) = &csrf {
            details class="panel" open {
                summary { "Record a review" }
                form class="review" method="post" action="/hoshin/reviews" {
                    (csrf_field(token))
                    label { "Board " select name="board" { @for b in &boards { option value=(b) { (board_name(b)) } } } }
                    label { "Month " input type="month" name="month" required value=(month_key(today)); }
                    label { "Held on " input type="date" name="held_on" required value=(today); }
                    label { "Attendees " input name="attendees" required maxlength="2000"; }
                    @for o in &objectives {
                        fieldset {
                            legend { (o.title) " · " (board_name(&o.board)) }
                            label { "Status " select name={"status." (o.id)} {
                                option value="" { "(not reviewed)" }
                                option value="on track" { "on track" }
                                option value="at risk" { "at risk" }
                                option value="off track" { "off track" }
                            } }
                            label { "Note " input name={"note." (o.id)} maxlength="2000"; }
                        }
                    }
                    button type="submit" { "Record the review" }
                }
            }
        }
        table class="reviews" {
            thead { tr { th { "month" } th { "board" } th { "held on" } th { "attendees" } th { "objectives" } } }
            tbody {
                @for r in reviews.iter().rev() {
                    tr {
                        td { (r.month) } td { (board_name(&r.board)) } td { (r.held_on) } td { (r.attendees) }
                        td { ul { @for (id, item) in &r.items { li { (title_of(id)) ": " strong { (item.status) } @if !item.note.is_empty() { " — " (item.note) } } } } }
                    }
                }
            }
        }
    };
    page_response(&state, "Monthly reviews — Gemba", body)
}

fn review_of(f: &FormFields) -> Result<ReviewWrite, AppError> {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    let mut items = BTreeMap::new();
    for (k, status) in f
        .iter()
        .filter(|(k, v)| k.starts_with("status.") && !v.trim().is_empty())
    {
        let id = id_of("an objective", k.trim_start_matches("status."))?;
        items.insert(
            id,
            ReviewItem {
                status: status.clone(),
                note: g(&format!("note.{id}")),
            },
        );
    }
    Ok(ReviewWrite {
        board: g("board"),
        month: g("month"),
        held_on: parse_date("held_on", &g("held_on"))?,
        attendees: g("attendees"),
        items,
    })
}

/// `POST /hoshin/reviews`.
pub async fn review_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let w = review_of(&f)?;
    let st = state.clone();
    blocking(move || with_hoshin(&st, &who, |h| h.review(&w))).await?;
    state.wrote();
    Ok(Redirect::to("/hoshin/reviews").into_response())
}

// ---- The JSON API ----

/// Every objective with its months and deployment.
#[utoipa::path(get, path = "/api/v1/objectives", responses(
    (status = 200, description = "The objectives, by id", body = Vec<ObjectiveView>),
))]
pub async fn api_list(State(state): State<AppState>) -> Result<Json<Vec<ObjectiveView>>, ApiError> {
    let st = state.clone();
    Ok(Json(
        blocking(move || {
            let list = all(&st)?;
            list.iter().map(|o| view(&st, o.clone(), &list)).collect()
        })
        .await?,
    ))
}

/// One objective with its months and deployment.
#[utoipa::path(get, path = "/api/v1/objectives/{id}",
    params(("id" = i64, Path, description = "The objective's number")),
    responses(
    (status = 200, description = "The objective", body = ObjectiveView),
    (status = 400, description = "Not a number", body = ErrorBody),
    (status = 404, description = "No such objective", body = ErrorBody),
))]
pub async fn api_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ObjectiveView>, ApiError> {
    let id = id_of("an objective", &id)?;
    let st = state.clone();
    Ok(Json(blocking(move || one(&st, id)).await?))
}

/// A breakthrough objective to set.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewObjectiveBody {
    #[schema(min_length = 1, max_length = 160, pattern = "\\S")]
    pub title: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub owner: String,
    /// A board key.
    pub board: String,
    /// A KPI key of docs/metrics.md (docs/hoshin.md lists those an objective can steer).
    pub kpi: String,
    /// The first month, YYYY-MM.
    #[schema(pattern = "^(2[01][0-9]{2}-(0[1-9]|1[0-2])|2200-(0[1-9]|1[0-2]))$")]
    pub start: String,
    /// The last month, YYYY-MM.
    #[schema(pattern = "^(2[01][0-9]{2}-(0[1-9]|1[0-2])|2200-(0[1-9]|1[0-2]))$")]
    pub horizon: String,
    pub target: f64,
}

/// Sets an objective; its baseline is measured at the end of the month before the start.
#[utoipa::path(post, path = "/api/v1/objectives", request_body = NewObjectiveBody, responses(
    (status = 201, description = "Set", body = ObjectiveView),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
))]
pub async fn api_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<ObjectiveView>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let b: NewObjectiveBody = json_body(body)?;
    let d = Draft {
        title: b.title,
        owner: b.owner,
        board: b.board,
        kpi: b.kpi,
        start: b.start,
        horizon: b.horizon,
        target: b.target.to_string(),
    };
    let st = state.clone();
    let v = blocking(move || {
        let id = create(&st, &who, &d)?;
        one(&st, id)
    })
    .await?;
    state.wrote();
    Ok((StatusCode::CREATED, Json(v)))
}

/// A step of an objective's catchball or plan: `op` is `plan` (month, value), `deploy`
/// (boards), `propose` (owner, target, optional plan months), `agree` or `return` (comment),
/// or `gap` (month, cause, countermeasure, optional action and a3).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StepBody {
    #[schema(pattern = "^(plan|deploy|propose|agree|return|gap)$")]
    pub op: String,
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub boards: Vec<String>,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub target: Option<f64>,
    /// Months of the proposal set by hand: YYYY-MM to value.
    #[serde(default)]
    pub plan: BTreeMap<String, f64>,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub cause: String,
    #[serde(default)]
    pub countermeasure: String,
    #[serde(default, deserialize_with = "super::params::whole_opt")]
    pub action: Option<i64>,
    #[serde(default, deserialize_with = "super::params::whole_opt")]
    pub a3: Option<i64>,
}

/// Changes an objective: a month of its plan, its deployment, a proposal, the parent's answer,
/// or a gap note.
#[utoipa::path(post, path = "/api/v1/objectives/{id}", request_body = StepBody,
    params(("id" = i64, Path, description = "The objective's number")),
    responses(
    (status = 200, description = "Changed", body = ObjectiveView),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "Read-only, or not a leader of the parent's board", body = ErrorBody),
    (status = 404, description = "No such objective", body = ErrorBody),
    (status = 409, description = "Not in a state for this step", body = ErrorBody),
))]
pub async fn api_step(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<ObjectiveView>, ApiError> {
    let who = api_writer(&state, &headers)?;
    let id = id_of("an objective", &id)?;
    let b: StepBody = json_body(body)?;
    let num = |v: Option<f64>, field: &str| {
        v.map(|x| x.to_string())
            // Which fields an operation needs the document leaves to the text.
            .ok_or_else(|| AppError::unprocessable(format!("{field} is required")))
    };
    let st = state.clone();
    let v = blocking(move || {
        match b.op.as_str() {
            "plan" => {
                let v = num(b.value, "value")?;
                with_hoshin(&st, &who, |h| h.set_month(id, &b.month, &v))?
            }
            "deploy" => {
                if b.boards.is_empty() {
                    return Err(AppError::unprocessable(
                        "boards: name at least one board to deploy to",
                    ));
                }
                deploy(&st, &who, id, &b.boards)?;
            }
            "propose" => {
                let t = num(b.target, "target")?;
                let plan: Vec<(String, String)> = b
                    .plan
                    .iter()
                    .map(|(m, v)| (m.clone(), v.to_string()))
                    .collect();
                with_hoshin(&st, &who, |h| h.propose(id, &b.owner, &t, &plan))?
            }
            "agree" => decide(&st, &who, id, true, &b.comment)?,
            "return" => decide(&st, &who, id, false, &b.comment)?,
            "gap" => with_hoshin(&st, &who, |h| {
                h.gap(id, &b.month, &b.cause, &b.countermeasure, b.action, b.a3)
            })?,
            other => {
                return Err(AppError::bad_request(format!(
                    "op: `{other}` is not plan, deploy, propose, agree, return or gap"
                )));
            }
        }
        one(&st, id)
    })
    .await?;
    state.wrote();
    Ok(Json(v))
}

/// The bowling chart: every objective and its deployed children, month by month.
#[utoipa::path(get, path = "/api/v1/hoshin/bowling", responses(
    (status = 200, description = "The rows", body = Vec<BowlingRow>),
))]
pub async fn api_bowling(State(state): State<AppState>) -> Result<Json<Vec<BowlingRow>>, ApiError> {
    let st = state.clone();
    Ok(Json(blocking(move || bowling(&st)).await?))
}

/// Every monthly review.
#[utoipa::path(get, path = "/api/v1/hoshin/reviews", responses(
    (status = 200, description = "The reviews, by month", body = Vec<Review>),
))]
pub async fn api_reviews(State(state): State<AppState>) -> Result<Json<Vec<Review>>, ApiError> {
    let st = state.clone();
    Ok(Json(
        blocking(move || Ok(st.with_store(|s| s.reviews())?)).await?,
    ))
}

/// A monthly review to record.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReviewBody {
    pub board: String,
    /// YYYY-MM.
    #[schema(pattern = "^(2[01][0-9]{2}-(0[1-9]|1[0-2])|2200-(0[1-9]|1[0-2]))$")]
    pub month: String,
    #[schema(format = Date)]
    pub held_on: String,
    #[schema(min_length = 1, pattern = "\\S")]
    pub attendees: String,
    /// Per objective (its number): its status and a note.
    #[serde(default)]
    pub items: BTreeMap<i64, ReviewItem>,
}

/// Records a monthly review.
#[utoipa::path(post, path = "/api/v1/hoshin/reviews", request_body = ReviewBody, responses(
    (status = 201, description = "Recorded"),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
))]
pub async fn api_review(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let who = api_writer(&state, &headers)?;
    let b: ReviewBody = json_body(body)?;
    let w = ReviewWrite {
        board: b.board,
        month: b.month,
        held_on: parse_date("held_on", &b.held_on)?,
        attendees: b.attendees,
        items: b.items,
    };
    let st = state.clone();
    blocking(move || with_hoshin(&st, &who, |h| h.review(&w))).await?;
    state.wrote();
    Ok(StatusCode::CREATED)
}
