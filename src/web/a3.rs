//! A3s on the web (docs/a3.md): the list and the start form (`/a3`, prefilled from a bad actor,
//! an asset, a failure code, an action or a walk's stop), the sheet (`/a3/ID`, printable on one
//! A3 landscape page) with its form, countermeasures and history, and the JSON under
//! `/api/v1/a3`. The rules are `crate::a3`; the follow-up and the current condition are measured
//! by `panels::improvement`. Who may write is asked first in every write handler.

use axum::Json;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::auth::{FormFields, Viewer, api_writer, form_writer};
use super::charts;
use super::layout::{board_href, csrf_field, fmt_time, page_response};
use super::panels::improvement::{FollowUp, countermeasure_actions, figure_text, follow_up_cached};
use super::panels::leadership::history as history_list;
use super::params::{JsonBody, id_of, json_body};
use super::{ApiError, AppError, AppState, ErrorBody, blocking};
use crate::a3::{
    A3, A3Error, A3s, CATEGORIES, Edit, Origin, Sections, Stage, Start, Subject, TargetDraft, WHYS,
};
use crate::actions::{Draft, board_name};
use crate::assets::ASSET_METRICS;
use crate::config::TARGETABLE;
use crate::metrics::Scope;
use crate::store::Action;

impl From<A3Error> for AppError {
    fn from(e: A3Error) -> AppError {
        let status = match &e {
            A3Error::NoSuchA3(_) => StatusCode::NOT_FOUND,
            A3Error::Closed(_) => StatusCode::CONFLICT,
            A3Error::Store(_) | A3Error::Action(_) => {
                return match e {
                    A3Error::Store(s) => s.into(),
                    A3Error::Action(a) => a.into(),
                    _ => unreachable!(),
                };
            }
            // What the A3's rules refuse (docs/reliability.md: 400 is for what the document
            // already says is wrong).
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        AppError {
            status,
            message: e.to_string(),
        }
    }
}

fn with_a3s<T>(
    state: &AppState,
    who: &str,
    f: impl FnOnce(&mut A3s<'_>) -> Result<T, A3Error>,
) -> Result<T, AppError> {
    state.with_store(|s| {
        f(&mut A3s {
            store: s,
            cfg: state.config(),
            who,
            now: Utc::now(),
        })
        .map_err(AppError::from)
    })
}

fn get_a3(state: &AppState, id: i64) -> Result<A3, AppError> {
    state
        .with_store(|s| s.a3(id))?
        .ok_or_else(|| A3Error::NoSuchA3(id).into())
}

fn asset_known(state: &AppState) -> impl Fn(&str) -> bool + use<> {
    let loaded = state.loaded();
    move |a: &str| {
        loaded
            .engine
            .assets(&Scope::plant(), None, Some(1), Some(a))
            .is_ok_and(|r| !r.assets.assets.is_empty())
    }
}

/// The query that prefills the start form.
#[derive(Debug, Deserialize, Default)]
pub struct StartParams {
    pub asset: Option<String>,
    pub code: Option<String>,
    pub action: Option<String>,
    pub walk: Option<String>,
    pub stop: Option<String>,
    pub board: Option<String>,
}

fn some(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The origin, board, title and background a start form is prefilled with.
fn prefill(
    state: &AppState,
    p: &StartParams,
) -> Result<(Origin, String, String, String), AppError> {
    let board = some(&p.board).unwrap_or("plant").to_string();
    if let Some(a) = some(&p.asset) {
        return Ok((
            Origin::Asset { asset: a.into() },
            board,
            format!("Breakdowns of {a}"),
            String::new(),
        ));
    }
    if let Some(c) = some(&p.code) {
        return Ok((
            Origin::FailureCode { code: c.into() },
            board,
            format!("Failures coded {c}"),
            String::new(),
        ));
    }
    if let Some(a) = some(&p.action) {
        let id = id_of("an action", a)?;
        let action = state
            .with_store(|s| s.action(id))?
            .ok_or_else(|| AppError::bad_request(format!("action: no action {id}")))?;
        return Ok((
            Origin::Action { action: id },
            action.board.clone(),
            action.title.clone(),
            format!("Raised as action #{id} on {}.", board_name(&action.board)),
        ));
    }
    if let Some(w) = some(&p.walk) {
        let id = id_of("a walk", w)?;
        let n: usize = some(&p.stop)
            .unwrap_or("1")
            .parse()
            .map_err(|_| AppError::bad_request("stop: not a number"))?;
        let walk = state
            .with_store(|s| s.walk(id))?
            .ok_or_else(|| AppError::bad_request(format!("walk: no walk {id}")))?;
        let stop = n
            .checked_sub(1)
            .and_then(|i| walk.stops.get(i))
            .ok_or_else(|| AppError::bad_request(format!("stop: walk {id} has no stop {n}")))?;
        let seen: Vec<&str> = stop.observations.iter().map(|o| o.text.as_str()).collect();
        return Ok((
            Origin::Walk { walk: id, stop: n },
            stop.stop.board.clone(),
            seen.first()
                .map_or("Seen on a gemba walk".into(), |t| t.to_string()),
            format!("Seen on gemba walk #{id}, stop {n}: {}", seen.join("; ")),
        ));
    }
    Ok((Origin::Blank, board, String::new(), String::new()))
}

fn start_form(
    token: &str,
    origin: &Origin,
    board: &str,
    title: &str,
    background: &str,
    cfg: &crate::config::Config,
) -> Markup {
    let boards = crate::safety::boards_within(cfg, &Scope::plant());
    let hidden = |k: &str, v: String| html! { input type="hidden" name=(k) value=(v); };
    html! {
        form class="a3-start" method="post" action="/a3" {
            (csrf_field(token))
            @match origin {
                Origin::Asset { asset } => { (hidden("asset", asset.clone())) }
                Origin::FailureCode { code } => { (hidden("code", code.clone())) }
                Origin::Action { action } => { (hidden("action", action.to_string())) }
                Origin::Walk { walk, stop } => { (hidden("walk", walk.to_string())) (hidden("stop", stop.to_string())) }
                Origin::Blank => {}
            }
            @if let Some((what, href)) = origin.describe() { p { "From " a href=(href) { (what) } "; its current condition is measured from the orders when you start." } }
            label { "Title " input name="title" required maxlength="120" value=(title); }
            label { "Board " select name="board" {
                @for b in &boards { option value=(b) selected[b == board] { (board_name(b)) } }
            } }
            label { "Owner " input name="owner" required maxlength="80"; }
            label { "Coach " input name="coach" maxlength="80"; }
            label { "Background " textarea name="background" rows="3" maxlength="4000" { (background) } }
            button type="submit" { "Start the A3" }
        }
    }
}

/// One line of the list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct A3Body {
    #[serde(flatten)]
    pub a3: A3,
    pub follow_up: Option<FollowUp>,
    /// The countermeasures' actions as they are now (`null` for one that is gone).
    pub actions: Vec<Option<Action>>,
}

fn body_of(state: &AppState, a: A3, chart: bool) -> Result<A3Body, AppError> {
    let actions = countermeasure_actions(state, &a)?;
    let f = follow_up_cached(state, &a, &actions, chart)?;
    Ok(A3Body {
        a3: a,
        follow_up: f,
        actions,
    })
}

fn all(state: &AppState) -> Result<Vec<A3Body>, AppError> {
    let list = state.with_store(|s| s.a3s())?;
    list.into_iter().map(|a| body_of(state, a, false)).collect()
}

fn verdict_tag(f: Option<&FollowUp>) -> Markup {
    match f {
        None => html! { span class="verdict none" { "no target" } },
        Some(f) => {
            let v = f.verdict;
            let (class, sign) = match v {
                crate::a3::Verdict::Met => ("green", "✔"),
                crate::a3::Verdict::NotMet => ("red", "✖"),
                crate::a3::Verdict::NotYet => ("none", "…"),
            };
            html! { span class={"verdict " (class)} { (sign) " " (v.words()) } }
        }
    }
}

fn target_text(a: &A3) -> String {
    a.body
        .target
        .as_ref()
        .map_or_else(|| "—".into(), |t| t.describe())
}

/// `/a3`: every A3, and the start form (prefilled by the query).
pub async fn list_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<StartParams>,
) -> Result<Response, AppError> {
    let st = state.clone();
    let (list, fill) = blocking(move || Ok((all(&st)?, prefill(&st, &p)?))).await?;
    let cfg = state.config();
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let (origin, board, title, background) = fill;
    let prefilled = origin != Origin::Blank;
    let open = list.iter().filter(|b| b.a3.stage != Stage::Closed).count();
    let body = html! {
        h1 { "A3 problem solving" }
        p class="note" {
            (open) " open of " (list.len()) ". An A3 starts from a bad actor (" a href="/assets/pareto" { "the Pareto" } "), an asset, an action or a walk's observation, or blank; "
            "its countermeasures are actions on its board, and its follow-up is measured from the orders before and after they were in place (docs/a3.md)."
        }
        @if let Some(token) = &csrf {
            details class="panel" open[prefilled] {
                summary { "Start an A3" }
                (start_form(token, &origin, &board, &title, &background, cfg))
            }
        }
        table class="a3-list" {
            thead { tr {
                th scope="col" { "#" } th scope="col" { "A3" } th scope="col" { "Board" } th scope="col" { "Stage" }
                th scope="col" { "Owner" } th scope="col" { "Target" } th scope="col" { "Follow-up" } th scope="col" { "Started" }
            } }
            tbody {
                @for b in list.iter().rev() {
                    tr class=(if b.a3.stage == Stage::Closed { "closed" } else { "" }) {
                        td { (b.a3.id) }
                        th scope="row" { a href={"/a3/" (b.a3.id)} { (b.a3.title) } }
                        td { (board_name(&b.a3.board)) }
                        td { span class={"stage " (b.a3.stage.as_str())} { (b.a3.stage.as_str().to_uppercase()) } }
                        td { (b.a3.owner) }
                        td { (target_text(&b.a3)) }
                        td { (verdict_tag(b.follow_up.as_ref())) }
                        td { (fmt_time(cfg, Some(b.a3.created_at))) }
                    }
                }
            }
        }
    };
    page_response(&state, "A3s — Gemba", body)
}

fn start_of(f: &FormFields) -> Result<Start, AppError> {
    let g = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let nonblank = |k: &str| Some(g(k)).filter(|s| !s.is_empty());
    let origin = if let Some(a) = nonblank("asset") {
        Origin::Asset { asset: a }
    } else if let Some(c) = nonblank("code") {
        Origin::FailureCode { code: c }
    } else if let Some(a) = nonblank("action") {
        Origin::Action {
            action: id_of("an action", &a)?,
        }
    } else if let Some(w) = nonblank("walk") {
        Origin::Walk {
            walk: id_of("a walk", &w)?,
            stop: g("stop")
                .parse()
                .map_err(|_| AppError::bad_request("stop: not a number"))?,
        }
    } else {
        Origin::Blank
    };
    Ok(Start {
        board: g("board"),
        title: g("title"),
        owner: g("owner"),
        coach: g("coach"),
        background: g("background"),
        asset: nonblank("asset"),
        origin,
    })
}

/// Starts an A3 with its current condition: of its asset, of the failure code it came from,
/// else of its board.
fn start(state: &AppState, who: &str, s: Start) -> Result<i64, AppError> {
    let loaded = state.loaded();
    let e = &loaded.engine;
    let board = crate::actions::board(state.config(), s.board.trim())
        .map_err(|x| AppError::bad_request(format!("board: {x}")))?;
    let subject = match (&s.asset, &s.origin) {
        (Some(a), _) => Subject::Asset(a),
        (None, Origin::FailureCode { code }) => Subject::FailureCode(code),
        (None, _) => Subject::Board(&board),
    };
    let current = e.current_condition(subject, None)?;
    with_a3s(state, who, |w| w.start(&s, Some(current)))
}

/// `POST /a3`: starts an A3 and opens it.
pub async fn start_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let s = start_of(&f)?;
    let st = state.clone();
    let id = blocking(move || start(&st, &who, s)).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/a3/{id}")).into_response())
}

fn edit_of(f: &FormFields) -> Edit {
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    Edit {
        title: g("title"),
        owner: g("owner"),
        coach: g("coach"),
        stage: g("stage"),
        sections: Sections {
            background: g("background"),
            problem: g("problem"),
            whys: (1..=WHYS).map(|i| g(&format!("why.{i}"))).collect(),
            causes: CATEGORIES
                .iter()
                .map(|(k, _)| (k.to_string(), g(&format!("cause.{k}"))))
                .collect(),
            root_cause: g("root_cause"),
            plan: g("plan"),
            act: g("act"),
        },
        target: Some(TargetDraft {
            metric: g("metric"),
            asset: g("target_asset"),
            scope: g("scope"),
            op: g("op"),
            value: g("value"),
            by: g("by"),
            window_days: g("window_days"),
        }),
        in_place_on: g("in_place_on"),
    }
}

/// `POST /a3/ID`: the sheet's form saved.
pub async fn edit_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let id = id_of("an A3", &id)?;
    let e = edit_of(&f);
    let st = state.clone();
    blocking(move || {
        let known = asset_known(&st);
        with_a3s(&st, &who, |w| w.edit(id, &e, &known))
    })
    .await?;
    state.wrote();
    Ok(Redirect::to(&format!("/a3/{id}")).into_response())
}

/// `POST /a3/ID/countermeasures`: a countermeasure added as an action on the A3's board.
pub async fn countermeasure_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Result<Response, AppError> {
    let (who, f) = form_writer(&state, &headers, &body)?;
    let id = id_of("an A3", &id)?;
    let g = |k: &str| f.get(k).cloned().unwrap_or_default();
    let d = Draft {
        title: g("title"),
        owner: g("owner"),
        due: g("due"),
        orders: String::new(),
    };
    let st = state.clone();
    blocking(move || with_a3s(&st, &who, |w| w.add_countermeasure(id, &d))).await?;
    state.wrote();
    Ok(Redirect::to(&format!("/a3/{id}#countermeasures")).into_response())
}

fn section(n: u32, title: &str, body: Markup) -> Markup {
    html! {
        section class="a3-box" {
            h2 { span class="n" { (n) } " " (title) }
            (body)
        }
    }
}

fn text_block(t: &str) -> Markup {
    html! {
        @if t.trim().is_empty() { p class="empty" { "—" } }
        @else { @for para in t.split("\n\n") { p class="prose" { (para) } } }
    }
}

fn series_chart(
    label: &str,
    points: &[(chrono::NaiveDate, Option<f64>)],
    target: Option<crate::config::Target>,
) -> Markup {
    let dates: Vec<_> = points.iter().map(|p| p.0).collect();
    let values: Vec<_> = points.iter().map(|p| p.1).collect();
    charts::line_chart(label, &dates, &[(label, &values)], target.as_ref(), 1)
}

fn sheet(a: &A3, b: &A3Body, cfg: &crate::config::Config) -> Markup {
    let s = &a.body.sections;
    let metric_label = |k: &str| -> String {
        ASSET_METRICS
            .iter()
            .find(|m| m.0 == k)
            .map(|m| m.1.to_string())
            .unwrap_or_else(|| k.to_string())
    };
    html! {
        div class="a3-sheet" {
            div class="a3-col" {
                (section(1, "Background", text_block(&s.background)))
                (section(2, "Current condition", html! {
                    @match &a.body.current {
                        None => p class="empty" { "—" },
                        Some(c) => {
                            p class="sub" { (c.subject) ", " (c.window_days) " days to " (c.as_of) " (frozen when the A3 started)" }
                            div class="figures small" {
                                @for f in &c.figures { div class="fig" { span class="label" { (f.label) } span class="value" { (figure_text(f.value, &f.unit)) } } }
                            }
                            (series_chart(&c.chart_label, &c.chart, None))
                            @if !c.failure_codes.is_empty() {
                                p class="codes" { "Failure codes: " @for (i, (code, n)) in c.failure_codes.iter().enumerate() { @if i > 0 { ", " } (code) " (" (n) ")" } }
                            }
                        }
                    }
                }))
                (section(3, "Problem statement", text_block(&s.problem)))
                (section(4, "Target condition", html! {
                    @match &a.body.target {
                        None => p class="empty" { "—" },
                        Some(t) => p class="target" {
                            strong { (metric_label(&t.metric)) }
                            @if let Some(x) = &t.asset { " of " (x) } @else { " of " (board_name(&t.scope)) }
                            " " (t.op.words()) " " strong { (t.value) } " by " (t.by)
                            span class="sub" { " (over " (t.window_days) "-day windows)" }
                        },
                    }
                }))
                (section(5, "Root cause", html! {
                    @if !s.whys.is_empty() {
                        ol class="whys" { @for w in &s.whys { li { "Why? " (w) } } }
                    }
                    @if !s.causes.is_empty() {
                        table class="fishbone" { tbody {
                            @for (k, label) in CATEGORIES { @if let Some(v) = s.causes.get(k) { tr { th scope="row" { (label) } td { (v) } } } }
                        } }
                    }
                    @if !s.root_cause.is_empty() { p class="root" { strong { "Root cause: " } (s.root_cause) } }
                    @if s.whys.is_empty() && s.causes.is_empty() && s.root_cause.is_empty() { p class="empty" { "—" } }
                }))
            }
            div class="a3-col" {
                (section(6, "Countermeasures", html! {
                    @if a.body.countermeasures.is_empty() { p class="empty" { "None yet." } }
                    @else {
                        table class="countermeasures" id="countermeasures" {
                            thead { tr { th { "Action" } th { "Owner" } th { "Due" } th { "Status" } } }
                            tbody {
                                @for (c, act) in a.body.countermeasures.iter().zip(&b.actions) {
                                    tr {
                                        td { a href={"/actions/" (c.action)} { "#" (c.action) " " (c.title) } }
                                        @match act {
                                            Some(x) => { td { (x.owner) } td { (x.due) } td class={"status " (x.status)} { (x.status) } }
                                            None => { td colspan="3" { "action gone" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }))
                (section(7, "Implementation plan", text_block(&s.plan)))
                (section(8, "Follow-up", html! {
                    @match &b.follow_up {
                        None => p class="empty" { "Set a target condition to measure it." },
                        Some(f) => {
                            p class="verdict-line" { (verdict_tag(Some(f))) " "
                                @match f.in_place_on {
                                    None => { "The countermeasures are not all done (" (f.countermeasures_done) " of " (f.countermeasures) ")." }
                                    Some(d) => { "In place on " (d) ": the " (a.body.target.as_ref().map_or(0, |t| t.window_days)) " days before and after." }
                                }
                            }
                            table class="before-after" { tbody {
                                tr { th scope="row" { "Before" @if let Some(d) = f.before_as_of { span class="sub" { " to " (d) } } } td class="num" { (figure_text(f.before, "")) } }
                                tr { th scope="row" { "After" @if let Some(d) = f.after_as_of { span class="sub" { " to " (d) } } } td class="num" { (figure_text(f.after, "")) } }
                                tr { th scope="row" { "Target" } td class="num" { (a.body.target.as_ref().map_or(String::new(), |t| format!("{} {}", t.op.words(), t.value))) } }
                                tr { th scope="row" { "Last window to today" } td class="num" { (figure_text(f.now, "")) } }
                            } }
                            @if !f.chart.is_empty() {
                                @let t = a.body.target.as_ref().map(|t| match t.op {
                                    crate::a3::Op::AtMost => crate::config::Target { min: None, max: Some(t.value), amber: 0.0 },
                                    crate::a3::Op::AtLeast => crate::config::Target { min: Some(t.value), max: None, amber: 0.0 },
                                });
                                (series_chart(&a.body.target.as_ref().map_or(String::new(), |t| metric_label(&t.metric)), &f.chart, t))
                            }
                            @if let Some(c) = f.cycle_days { p { "Cycle time: " strong { (c) " days" } } }
                        }
                    }
                }))
                (section(9, "Act: standardise and share", text_block(&s.act)))
            }
        }
        p class="a3-foot" { "Gemba · " (cfg.plant.name) " · A3 #" (a.id) " · printed from /a3/" (a.id) }
    }
}

fn edit_form(a: &A3, token: &str, cfg: &crate::config::Config) -> Markup {
    let s = &a.body.sections;
    let t = a.body.target.as_ref();
    let boards = crate::safety::boards_within(cfg, &Scope::plant());
    let metric = t.map(|t| t.metric.clone()).unwrap_or_default();
    html! {
        form class="a3-edit no-print" method="post" action={"/a3/" (a.id)} {
            (csrf_field(token))
            fieldset {
                legend { "The A3" }
                label { "Title " input name="title" required maxlength="120" value=(a.title); }
                label { "Owner " input name="owner" required maxlength="80" value=(a.owner); }
                label { "Coach " input name="coach" maxlength="80" value=(a.body.coach); }
                label { "Stage " select name="stage" { @for st in Stage::ALL { option value=(st.as_str()) selected[st == a.stage] { (st.as_str()) } } } }
            }
            fieldset {
                legend { "Plan" }
                label { "1 Background " textarea name="background" rows="3" { (s.background) } }
                label { "3 Problem statement " textarea name="problem" rows="3" { (s.problem) } }
            }
            fieldset {
                legend { "4 Target condition" }
                label { "Metric " select name="metric" {
                    option value="" selected[metric.is_empty()] { "(none)" }
                    optgroup label="Of an asset" { @for (k, l, _) in ASSET_METRICS { option value=(k) selected[metric == *k] { (l) " (" (k) ")" } } }
                    optgroup label="Of a board (docs/metrics.md)" { @for k in TARGETABLE { option value=(k) selected[metric == *k] { (k) } } }
                } }
                label { "Asset (for an asset's metric) " input name="target_asset" value=(t.and_then(|t| t.asset.clone()).or_else(|| a.body.asset.clone()).unwrap_or_default()); }
                label { "Board " select name="scope" {
                    @for b in &boards { option value=(b) selected[t.map_or(b == &a.board, |t| &t.scope == b)] { (board_name(b)) } }
                } }
                label { "Is " select name="op" {
                    option value="" { "(the metric's better side)" }
                    option value="at_most" selected[t.is_some_and(|t| t.op == crate::a3::Op::AtMost)] { "at most" }
                    option value="at_least" selected[t.is_some_and(|t| t.op == crate::a3::Op::AtLeast)] { "at least" }
                } }
                label { "Value " input name="value" inputmode="decimal" value=(t.map(|t| t.value.to_string()).unwrap_or_default()); }
                label { "By " input type="date" name="by" value=(t.map(|t| t.by.to_string()).unwrap_or_default()); }
                label { "Window, days " input type="number" name="window_days" min="7" max="365" value=(t.map_or(cfg.metrics.window_days, |t| t.window_days)); }
            }
            fieldset {
                legend { "5 Root cause" }
                @for i in 1..=WHYS { label { "Why " (i) " " input name={"why." (i)} value=(s.whys.get(i - 1).cloned().unwrap_or_default()); } }
                @for (k, label) in CATEGORIES { label { (label) " " input name={"cause." (k)} value=(s.causes.get(k).cloned().unwrap_or_default()); } }
                label { "Root cause " textarea name="root_cause" rows="2" { (s.root_cause) } }
            }
            fieldset {
                legend { "Do, check, act" }
                label { "7 Implementation plan " textarea name="plan" rows="3" { (s.plan) } }
                label { "Countermeasures in place on (blank: the day the last is done) " input type="date" name="in_place_on" value=(a.body.in_place_on.map(|d| d.to_string()).unwrap_or_default()); }
                label { "9 Act " textarea name="act" rows="2" { (s.act) } }
            }
            button type="submit" { "Save the A3" }
        }
    }
}

/// `/a3/ID`: the sheet, then its forms and history.
pub async fn a3_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of("an A3", &id)?;
    let st = state.clone();
    let (b, history) = blocking(move || {
        let a = get_a3(&st, id)?;
        let history = st.with_store(|s| s.lsw_history(&format!("a3:{id}")))?;
        Ok((body_of(&st, a, true)?, history))
    })
    .await?;
    let cfg = state.config();
    let a = &b.a3;
    let csrf = Viewer::of(&state, &headers).csrf().map(str::to_string);
    let tz = cfg.plant.tz;
    let week = (Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(7)).to_string();
    let board = Scope::from_key(&a.board).unwrap_or_default();
    let body = html! {
        header class="a3-head" {
            h1 { "A3 #" (a.id) ": " (a.title) }
            p class="sub" {
                "Board " a href=(board_href(&board, false)) { (board_name(&a.board)) }
                " · owner " strong { (a.owner) }
                @if !a.body.coach.is_empty() { " · coach " (a.body.coach) }
                " · stage " span class={"stage " (a.stage.as_str())} { (a.stage.as_str().to_uppercase()) }
                " · started " (fmt_time(cfg, Some(a.created_at)))
                @if let Some((what, href)) = a.body.origin.describe() { " · from " a href=(href) { (what) } }
            }
        }
        (sheet(a, &b, cfg))
        div class="no-print" {
            @if let Some(token) = &csrf {
                @if a.stage != Stage::Closed {
                    details class="panel" open {
                        summary { "Add a countermeasure (an action on " (board_name(&a.board)) ")" }
                        form class="countermeasure" method="post" action={"/a3/" (a.id) "/countermeasures"} {
                            (csrf_field(token))
                            label { "What " input name="title" required maxlength="120"; }
                            label { "Owner " input name="owner" required maxlength="80" value=(a.owner); }
                            label { "Due " input type="date" name="due" required value=(week); }
                            button type="submit" { "Add" }
                        }
                    }
                }
                details class="panel edit-a3" {
                    summary { "Edit the A3" }
                    (edit_form(a, token, cfg))
                }
            }
            h2 { "History" }
            (history_list(cfg, &history))
        }
    };
    page_response(&state, &format!("A3 #{} — Gemba", a.id), body)
}

// ---- The JSON API ----

/// Every A3 with its follow-up.
#[utoipa::path(get, path = "/api/v1/a3", responses(
    (status = 200, description = "The A3s, by id", body = Vec<A3Body>),
))]
pub async fn api_list(State(state): State<AppState>) -> Result<Json<Vec<A3Body>>, ApiError> {
    let st = state.clone();
    Ok(Json(blocking(move || all(&st)).await?))
}

/// One A3 with its follow-up and its chart.
#[utoipa::path(get, path = "/api/v1/a3/{id}",
    params(("id" = i64, Path, description = "The A3's number")),
    responses(
    (status = 200, description = "The A3", body = A3Body),
    (status = 400, description = "Not a number", body = ErrorBody),
    (status = 404, description = "No such A3", body = ErrorBody),
))]
pub async fn api_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<A3Body>, ApiError> {
    let id = id_of("an A3", &id)?;
    let st = state.clone();
    Ok(Json(
        blocking(move || body_of(&st, get_a3(&st, id)?, true)).await?,
    ))
}

/// An A3 to start.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = A3StartBody)]
pub struct StartBody {
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub title: String,
    /// A board key: plant, site:NAME, area:NAME or crew:NAME.
    pub board: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub owner: String,
    #[serde(default)]
    pub coach: String,
    #[serde(default)]
    pub background: String,
    /// Started from an asset (its id).
    #[serde(default)]
    pub asset: Option<String>,
    /// Started from a failure code.
    #[serde(default)]
    pub code: Option<String>,
    /// Started from an action (its number).
    #[serde(default, deserialize_with = "super::params::whole_opt")]
    pub action: Option<i64>,
}

/// Starts an A3; its current condition is measured from the orders now.
#[utoipa::path(post, path = "/api/v1/a3", request_body = StartBody, responses(
    (status = 201, description = "Started", body = A3Body),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
))]
pub async fn api_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<A3Body>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let b: StartBody = json_body(body)?;
    let asset = b.asset.filter(|a| !a.trim().is_empty());
    let code = b.code.filter(|c| !c.trim().is_empty());
    let origin = match (&asset, &code, b.action) {
        (Some(a), _, _) => Origin::Asset { asset: a.clone() },
        (None, Some(c), _) => Origin::FailureCode { code: c.clone() },
        (None, None, Some(x)) => Origin::Action { action: x },
        _ => Origin::Blank,
    };
    let s = Start {
        board: b.board,
        title: b.title,
        owner: b.owner,
        coach: b.coach,
        background: b.background,
        asset,
        origin,
    };
    let st = state.clone();
    let out = blocking(move || {
        let id = start(&st, &who, s)?;
        body_of(&st, get_a3(&st, id)?, false)
    })
    .await?;
    state.wrote();
    Ok((StatusCode::CREATED, Json(out)))
}

/// A target condition as the API takes it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TargetBody {
    /// A metric key of docs/metrics.md, or an asset metric key.
    #[schema(min_length = 1, pattern = "\\S")]
    pub metric: String,
    #[serde(default)]
    pub asset: String,
    /// A board key.
    pub scope: String,
    /// `at_most` or `at_least` (default: the metric's better side).
    #[serde(default)]
    pub op: String,
    pub value: f64,
    #[schema(format = Date)]
    pub by: String,
    #[schema(minimum = 7, maximum = 365)]
    #[serde(deserialize_with = "super::params::whole_u32")]
    pub window_days: u32,
}

/// Every field of an A3's form (omitted ones keep their value).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct EditBody {
    #[schema(min_length = 1, max_length = 120, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub owner: Option<String>,
    pub coach: Option<String>,
    /// plan, do, check, act or closed.
    pub stage: Option<String>,
    pub sections: Option<Sections>,
    /// The target condition; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    pub target: Option<Option<TargetBody>>,
    /// YYYY-MM-DD; empty clears it.
    #[schema(format = Date)]
    pub in_place_on: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<TargetBody>>, D::Error> {
    Option::<TargetBody>::deserialize(d).map(Some)
}

/// Changes an A3.
#[utoipa::path(post, path = "/api/v1/a3/{id}", request_body = EditBody,
    params(("id" = i64, Path, description = "The A3's number")),
    responses(
    (status = 200, description = "Changed", body = A3Body),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such A3", body = ErrorBody),
))]
pub async fn api_edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<A3Body>, ApiError> {
    let who = api_writer(&state, &headers)?;
    let id = id_of("an A3", &id)?;
    let b: EditBody = json_body(body)?;
    let st = state.clone();
    let out = blocking(move || {
        let a = get_a3(&st, id)?;
        let e = Edit {
            title: b.title.unwrap_or(a.title.clone()),
            owner: b.owner.unwrap_or(a.owner.clone()),
            coach: b.coach.unwrap_or(a.body.coach.clone()),
            stage: b.stage.unwrap_or(a.stage.as_str().into()),
            sections: b.sections.unwrap_or(a.body.sections.clone()),
            target: match b.target {
                None => None,
                Some(None) => Some(Default::default()),
                Some(Some(t)) if t.metric.trim().is_empty() => {
                    return Err(AppError::bad_request(
                        "target.metric is required (send `\"target\": null` to clear the target)",
                    ));
                }
                Some(Some(t)) => Some(TargetDraft {
                    metric: t.metric,
                    asset: t.asset,
                    scope: t.scope,
                    op: t.op,
                    value: t.value.to_string(),
                    by: t.by,
                    window_days: t.window_days.to_string(),
                }),
            },
            in_place_on: b.in_place_on.unwrap_or(
                a.body
                    .in_place_on
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        };
        let known = asset_known(&st);
        with_a3s(&st, &who, |w| w.edit(id, &e, &known))?;
        body_of(&st, get_a3(&st, id)?, false)
    })
    .await?;
    state.wrote();
    Ok(Json(out))
}

/// A countermeasure: an action on the A3's board.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CountermeasureBody {
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    pub owner: String,
    #[schema(format = Date)]
    pub due: String,
}

/// Adds a countermeasure as an action on the A3's board (a planning A3 moves to Do).
#[utoipa::path(post, path = "/api/v1/a3/{id}/countermeasures", request_body = CountermeasureBody,
    params(("id" = i64, Path, description = "The A3's number")),
    responses(
    (status = 201, description = "Added", body = A3Body),
    (status = 400, description = "A missing or bad field, named", body = ErrorBody),
    (status = 401, description = "No login or API token", body = ErrorBody),
    (status = 403, description = "The board is read-only", body = ErrorBody),
    (status = 404, description = "No such A3", body = ErrorBody),
    (status = 409, description = "The A3 is closed", body = ErrorBody),
))]
pub async fn api_countermeasure(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<(StatusCode, Json<A3Body>), ApiError> {
    let who = api_writer(&state, &headers)?;
    let id = id_of("an A3", &id)?;
    let b: CountermeasureBody = json_body(body)?;
    let d = Draft {
        title: b.title,
        owner: b.owner,
        due: b.due,
        orders: String::new(),
    };
    let st = state.clone();
    let out = blocking(move || {
        with_a3s(&st, &who, |w| w.add_countermeasure(id, &d))?;
        body_of(&st, get_a3(&st, id)?, false)
    })
    .await?;
    state.wrote();
    Ok((StatusCode::CREATED, Json(out)))
}
