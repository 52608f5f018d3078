//! Strategy deployment, hoshin kanri (docs/hoshin.md): breakthrough **objectives** on a KPI of
//! docs/metrics.md for a board, with a baseline measured from the orders, a target by a horizon
//! and a monthly plan (a straight glide path, each month editable); their **catchball** down
//! the tiers (each board below proposes its own target and plan, the parent agrees or returns
//! it with a comment); the **bowling chart** of plan against the actual of each month end,
//! judged by the KPI's better side; gap notes on red months; and monthly **reviews**.
//!
//! Rules on plain data; the store keeps the rows and [`Hoshin`] writes them (each write the row
//! and a line of history, durable). The actuals come from the engine (`Engine::trend`).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::metrics::Scope;
use crate::store::{Leader, ObjectiveWrite, ReviewWrite, Store, StoreError};

pub const MAX_TITLE: usize = 160;
const MAX_NAME: usize = 80;
const MAX_TEXT: usize = 2000;
/// A plan runs 1 to 36 months.
pub const MAX_MONTHS: usize = 36;

/// The KPIs an objective may steer (keys of docs/metrics.md the trends compute), with whether
/// they add up across boards (sums and counts) or not (ratios).
pub const KPIS: &[(&str, Aggregate)] = &[
    ("reactive_pct", Aggregate::Ratio),
    ("reactive_count_pct", Aggregate::Ratio),
    ("emergency_pct", Aggregate::Ratio),
    ("pm_compliance_pct", Aggregate::Ratio),
    ("schedule_compliance_pct", Aggregate::Ratio),
    ("on_time_pct", Aggregate::Ratio),
    ("completion_ratio", Aggregate::Ratio),
    ("backlog_weeks", Aggregate::Ratio),
    ("ready_backlog_weeks", Aggregate::Ratio),
    ("mean_age_days", Aggregate::Ratio),
    ("mttr_hours", Aggregate::Ratio),
    ("reactive_cost_pct", Aggregate::Ratio),
    ("overdue_count", Aggregate::Sum),
    ("open_count", Aggregate::Sum),
    ("backlog_hours", Aggregate::Sum),
    ("reactive_hours", Aggregate::Sum),
    ("reactive_cost", Aggregate::Sum),
];

/// How the boards' values of a KPI make the parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Counts and sums: the parent's is the children's total.
    Sum,
    /// Ratios and averages: the parent's is a weighted mean of the children's.
    Ratio,
}

/// Which side of a KPI is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
    /// Inside the `[targets]` band (backlog weeks: enough work to plan, not too much).
    Band,
}

/// The better side of a KPI.
pub fn better(kpi: &str) -> Better {
    match kpi {
        "pm_compliance_pct" | "schedule_compliance_pct" | "on_time_pct" | "completion_ratio" => {
            Better::Higher
        }
        "backlog_weeks" | "ready_backlog_weeks" => Better::Band,
        _ => Better::Lower,
    }
}

/// The `[targets]` band of a KPI (its min and max), which a band KPI's months are judged by.
pub fn band(cfg: &Config, kpi: &str) -> (Option<f64>, Option<f64>) {
    cfg.targets
        .get(kpi)
        .map_or((None, None), |t| (t.min, t.max))
}

pub fn aggregate(kpi: &str) -> Option<Aggregate> {
    KPIS.iter().find(|k| k.0 == kpi).map(|k| k.1)
}

#[derive(Debug, thiserror::Error)]
pub enum HoshinError {
    #[error("{field} is required")]
    Missing { field: String },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    #[error("{field}: {message}")]
    Bad { field: String, message: String },
    #[error("no objective {0}")]
    NoSuchObjective(i64),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

fn bad(field: &str, message: impl Into<String>) -> HoshinError {
    HoshinError::Bad {
        field: field.to_string(),
        message: message.into(),
    }
}

fn text(field: &str, v: &str, max: usize, required: bool) -> Result<String, HoshinError> {
    let v = v.trim();
    if required && v.is_empty() {
        return Err(HoshinError::Missing {
            field: field.to_string(),
        });
    }
    if v.chars().count() > max {
        return Err(HoshinError::TooLong {
            field: field.to_string(),
            max,
        });
    }
    Ok(v.to_string())
}

/// A month as `YYYY-MM`.
pub fn month_key(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// The last day of the month of `d`.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("a month's first day");
    first + Months::new(1) - Duration::days(1)
}

/// A month as typed, YYYY-MM, in the years a plan can mean (2000 to 2200).
fn parse_month(field: &str, v: &str) -> Result<NaiveDate, HoshinError> {
    NaiveDate::parse_from_str(&format!("{}-01", v.trim()), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2200).contains(&d.year()))
        .ok_or_else(|| {
            bad(
                field,
                format!("`{}` is not a month from 2000 to 2200 (YYYY-MM)", v.trim()),
            )
        })
}

/// The month ends of a plan from the month of `start` to the month of `horizon`.
pub fn months(start: NaiveDate, horizon: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = month_end(start);
    while m <= month_end(horizon) && out.len() < MAX_MONTHS {
        out.push(m);
        m = month_end(m + Duration::days(1));
    }
    out
}

/// A straight glide path from `baseline` (the start) to `target` (the last month): the value
/// planned for the end of each of `n` months.
pub fn glide(baseline: f64, target: f64, n: usize) -> Vec<f64> {
    (1..=n)
        .map(|i| baseline + (target - baseline) * i as f64 / n as f64)
        .collect()
}

/// One month of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanMonth {
    /// YYYY-MM.
    pub month: String,
    pub value: f64,
    /// Set by hand (not the glide path).
    #[serde(default)]
    pub edited: bool,
}

/// Where a deployed objective is in its catchball.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Catchball {
    /// The plant's (or a top) objective: set, not caught.
    #[default]
    Set,
    /// Deployed to this board, its proposal not yet sent.
    Draft,
    /// Proposed to the parent.
    Proposed,
    /// Returned by the parent with a comment.
    Returned,
    /// Agreed: committed.
    Agreed,
}

impl Catchball {
    pub fn as_str(self) -> &'static str {
        match self {
            Catchball::Set => "set",
            Catchball::Draft => "draft",
            Catchball::Proposed => "proposed",
            Catchball::Returned => "returned",
            Catchball::Agreed => "agreed",
        }
    }
}

/// Why a month was red and what is done about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GapNote {
    pub cause: String,
    pub countermeasure: String,
    /// An action that carries the countermeasure.
    #[serde(default)]
    pub action: Option<i64>,
    /// An A3 that works on the gap.
    #[serde(default)]
    pub a3: Option<i64>,
    pub who: String,
    pub at: DateTime<Utc>,
}

/// What an objective keeps beside its row's columns (stored as JSON).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ObjectiveBody {
    /// A KPI key (`KPIS`).
    pub kpi: String,
    #[schema(value_type = String, format = Date)]
    pub start: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub horizon: NaiveDate,
    /// The KPI at the end of the month before the start, measured from the orders.
    pub baseline: Option<f64>,
    #[schema(value_type = String, format = Date)]
    pub baseline_date: NaiveDate,
    pub target: f64,
    pub plan: Vec<PlanMonth>,
    #[serde(default)]
    pub catchball: Catchball,
    /// The parent's comment when it returned the proposal.
    #[serde(default)]
    pub comment: String,
    /// Gap notes by month (YYYY-MM).
    #[serde(default)]
    pub gaps: BTreeMap<String, GapNote>,
}

/// An objective as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Objective {
    pub id: i64,
    /// The objective it was deployed from.
    pub parent: Option<i64>,
    /// The board it belongs to (a board key).
    pub board: String,
    pub title: String,
    pub owner: String,
    #[serde(flatten)]
    pub body: ObjectiveBody,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Objective {
    /// The value planned for a month end, if it is in the plan.
    pub fn planned(&self, month: NaiveDate) -> Option<f64> {
        let key = month_key(month);
        self.body
            .plan
            .iter()
            .find(|p| p.month == key)
            .map(|p| p.value)
    }
}

/// A cell of the bowling chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    /// On plan: ✔.
    Green,
    /// Off plan: ✖ (asks for a gap note).
    Red,
    /// The month has not ended.
    Future,
    /// No actual (nothing to compute from).
    NoData,
}

impl Cell {
    pub fn sign(self) -> &'static str {
        match self {
            Cell::Green => "✔",
            Cell::Red => "✖",
            Cell::Future => "·",
            Cell::NoData => "–",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Cell::Green => "green",
            Cell::Red => "red",
            Cell::Future => "future",
            Cell::NoData => "none",
        }
    }
}

/// How far `v` is outside the band `[lo, hi]` (0 inside).
fn outside(v: f64, band: (Option<f64>, Option<f64>)) -> f64 {
    match band {
        (Some(lo), _) if v < lo => lo - v,
        (_, Some(hi)) if v > hi => v - hi,
        _ => 0.0,
    }
}

/// A month's cell: future until the month has ended (`today` after its last day); then green
/// when the actual is on the better side of the plan (or equal), red when not. A band KPI is
/// green inside its `[targets]` band or no farther from it than the plan is.
pub fn judge(
    kpi: &str,
    band: (Option<f64>, Option<f64>),
    month: NaiveDate,
    plan: f64,
    actual: Option<f64>,
    today: NaiveDate,
) -> Cell {
    if today <= month {
        return Cell::Future;
    }
    let Some(a) = actual else {
        return Cell::NoData;
    };
    let on = match better(kpi) {
        Better::Lower => a <= plan,
        Better::Higher => a >= plan,
        Better::Band => outside(a, band) <= outside(plan, band),
    };
    if on { Cell::Green } else { Cell::Red }
}

/// Whether the children's agreed targets make the parent's (docs/metrics.md, "Strategy
/// deployment").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Sums: the children's total is at least as good as the parent's target. Ratios: every
    /// child's target is at least as good as the parent's, so any weighting meets it.
    Covers,
    /// Ratios only: the parent's target lies between the children's; whether the plant meets
    /// it depends on the boards' weights (their hours or orders).
    Brackets,
    /// The children's targets cannot make the parent's.
    Short,
    /// No child agreed yet.
    Open,
}

/// The coverage of a parent's target by its children's agreed targets.
pub fn coverage(
    kpi: &str,
    band: (Option<f64>, Option<f64>),
    parent: f64,
    agreed: &[f64],
) -> Coverage {
    if agreed.is_empty() {
        return Coverage::Open;
    }
    let as_good = |child: f64, parent: f64| match better(kpi) {
        Better::Lower => child <= parent,
        Better::Higher => child >= parent,
        Better::Band => outside(child, band) <= outside(parent, band),
    };
    match aggregate(kpi).unwrap_or(Aggregate::Ratio) {
        Aggregate::Sum => {
            if as_good(agreed.iter().sum(), parent) {
                Coverage::Covers
            } else {
                Coverage::Short
            }
        }
        Aggregate::Ratio => {
            if agreed.iter().all(|c| as_good(*c, parent)) {
                Coverage::Covers
            } else if agreed.iter().any(|c| as_good(*c, parent)) {
                Coverage::Brackets
            } else {
                Coverage::Short
            }
        }
    }
}

/// The boards one tier below `board` (its areas or crews; the plant's sites, else its areas,
/// else its crews), as the config places the crews.
pub fn children(cfg: &Config, board: &str) -> Vec<String> {
    let scope = Scope::from_key(board).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    let mut push = |k: String| {
        if !out.contains(&k) {
            out.push(k);
        }
    };
    let sites: Vec<&str> = cfg.crews.iter().filter_map(|c| c.site.as_deref()).collect();
    let distinct_sites = {
        let mut s = sites.clone();
        s.sort();
        s.dedup();
        s.len()
    };
    match (&scope.site, &scope.area, &scope.crew) {
        (None, None, None) if distinct_sites > 1 => {
            for s in sites {
                push(format!("site:{s}"));
            }
        }
        (None, None, None) | (Some(_), None, None) => {
            for c in &cfg.crews {
                if scope.site.is_some() && c.site != scope.site {
                    continue;
                }
                match &c.area {
                    Some(a) => push(format!("area:{a}")),
                    None => push(format!("crew:{}", c.name)),
                }
            }
        }
        (_, Some(area), None) => {
            for c in cfg.crews.iter().filter(|c| c.area.as_ref() == Some(area)) {
                push(format!("crew:{}", c.name));
            }
        }
        _ => {}
    }
    out
}

/// Whether `who` may agree or return a proposal to the board `parent_board`: without logins
/// (and with the API token) anyone who may write; with logins, an active leader whose board is
/// that board.
pub fn may_decide(
    who: &str,
    leaders: &[Leader],
    parent_board: &str,
    open: bool,
) -> Result<(), HoshinError> {
    if open {
        return Ok(());
    }
    if leaders
        .iter()
        .any(|l| l.active && l.login.as_deref() == Some(who) && l.board == parent_board)
    {
        return Ok(());
    }
    Err(HoshinError::Forbidden(format!(
        "only a leader of {} agrees or returns its boards' proposals; `{who}` is not one",
        crate::actions::board_name(parent_board)
    )))
}

/// What a person types for a new objective.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub title: String,
    pub owner: String,
    pub board: String,
    pub kpi: String,
    pub start: String,
    pub horizon: String,
    pub target: String,
}

/// A checked new objective, before its baseline is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub title: String,
    pub owner: String,
    pub board: String,
    pub kpi: String,
    /// The first day of the start month.
    pub start: NaiveDate,
    /// The last day of the horizon month.
    pub horizon: NaiveDate,
    pub target: f64,
}

fn number(field: &str, v: &str) -> Result<f64, HoshinError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| bad(field, format!("`{}` is not a number", v.trim())))
}

/// Checks a new objective: every field named when it is wrong.
pub fn check(cfg: &Config, d: &Draft) -> Result<Checked, HoshinError> {
    let kpi = d.kpi.trim();
    if aggregate(kpi).is_none() {
        let keys: Vec<&str> = KPIS.iter().map(|k| k.0).collect();
        return Err(bad(
            "kpi",
            format!(
                "`{kpi}` is not a KPI an objective can steer (one of: {})",
                keys.join(", ")
            ),
        ));
    }
    let board = crate::actions::board(cfg, d.board.trim())
        .map_err(|e| bad("board", e.to_string()))?
        .key();
    let start = parse_month("start", &d.start)?;
    let horizon = month_end(parse_month("horizon", &d.horizon)?);
    if horizon < start {
        return Err(bad(
            "horizon",
            format!(
                "{} is before the start ({})",
                month_key(horizon),
                month_key(start)
            ),
        ));
    }
    if month_end(start) + Months::new(MAX_MONTHS as u32) <= horizon {
        return Err(bad(
            "horizon",
            format!("a plan runs at most {MAX_MONTHS} months"),
        ));
    }
    Ok(Checked {
        title: text("title", &d.title, MAX_TITLE, true)?,
        owner: text("owner", &d.owner, MAX_NAME, true)?,
        board,
        kpi: kpi.to_string(),
        start,
        horizon,
        target: number("target", &d.target)?,
    })
}

/// The plan of a new objective: the glide path from the baseline (or straight at the target
/// when there is none).
pub fn plan_of(c: &Checked, baseline: Option<f64>) -> Vec<PlanMonth> {
    let ms = months(c.start, c.horizon);
    glide(baseline.unwrap_or(c.target), c.target, ms.len())
        .into_iter()
        .zip(ms)
        .map(|(value, m)| PlanMonth {
            month: month_key(m),
            value,
            edited: false,
        })
        .collect()
}

/// One person's writes to objectives and reviews.
pub struct Hoshin<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub who: &'a str,
    pub now: DateTime<Utc>,
}

impl Hoshin<'_> {
    pub fn get(&mut self, id: i64) -> Result<Objective, HoshinError> {
        self.store
            .objective(id)?
            .ok_or(HoshinError::NoSuchObjective(id))
    }

    fn save(&mut self, id: Option<i64>, o: &Objective, what: &str) -> Result<i64, HoshinError> {
        let w = ObjectiveWrite {
            parent: o.parent,
            board: o.board.clone(),
            title: o.title.clone(),
            owner: o.owner.clone(),
            body: o.body.clone(),
        };
        Ok(self
            .store
            .write_objective(id, &w, self.who, what, self.now)?)
    }

    /// Sets a new objective with its baseline (measured by the caller at `baseline_date`).
    pub fn create(
        &mut self,
        c: &Checked,
        baseline: Option<f64>,
        baseline_date: NaiveDate,
    ) -> Result<i64, HoshinError> {
        let o = Objective {
            id: 0,
            parent: None,
            board: c.board.clone(),
            title: c.title.clone(),
            owner: c.owner.clone(),
            body: ObjectiveBody {
                kpi: c.kpi.clone(),
                start: c.start,
                horizon: c.horizon,
                baseline,
                baseline_date,
                target: c.target,
                plan: plan_of(c, baseline),
                ..ObjectiveBody::default()
            },
            created_at: self.now,
            updated_at: self.now,
        };
        let what = format!(
            "set: {} ({} {} by {})",
            o.title,
            o.body.kpi,
            o.body.target,
            month_key(o.body.horizon)
        );
        self.save(None, &o, &what)
    }

    /// Sets one month of the plan by hand.
    pub fn set_month(&mut self, id: i64, month: &str, value: &str) -> Result<(), HoshinError> {
        let mut o = self.get(id)?;
        if o.parent.is_some() && o.body.catchball == Catchball::Agreed {
            return Err(HoshinError::Conflict(format!(
                "objective {id} is agreed: its plan is committed"
            )));
        }
        let m = month_key(parse_month("month", month)?);
        let v = number("value", value)?;
        let Some(p) = o.body.plan.iter_mut().find(|p| p.month == m) else {
            return Err(bad(
                "month",
                format!(
                    "{m} is outside the plan ({} to {})",
                    month_key(o.body.start),
                    month_key(o.body.horizon)
                ),
            ));
        };
        p.value = v;
        p.edited = true;
        o.updated_at = self.now;
        self.save(Some(id), &o, &format!("plan {m}: {v}"))?;
        Ok(())
    }

    /// Deploys an objective to the boards below its board: a draft for each that has none,
    /// pre-filled with the parent's target and glide path from the child's own baseline.
    /// `baselines` gives each child board's baseline.
    pub fn deploy(
        &mut self,
        id: i64,
        boards: &[String],
        baselines: &BTreeMap<String, Option<f64>>,
    ) -> Result<Vec<i64>, HoshinError> {
        let parent = self.get(id)?;
        if parent.parent.is_some() && parent.body.catchball != Catchball::Agreed {
            return Err(HoshinError::Conflict(format!(
                "objective {id} is {}: agree it before deploying it further",
                parent.body.catchball.as_str()
            )));
        }
        let below = children(self.cfg, &parent.board);
        let existing: Vec<String> = self
            .store
            .objectives()?
            .into_iter()
            .filter(|o| o.parent == Some(id))
            .map(|o| o.board)
            .collect();
        let mut made = Vec::new();
        for b in boards {
            if !below.contains(b) {
                return Err(bad(
                    "boards",
                    format!(
                        "{b} is not a board below {} (those are: {})",
                        crate::actions::board_name(&parent.board),
                        below.join(", ")
                    ),
                ));
            }
            if existing.contains(b) {
                continue;
            }
            let baseline = baselines.get(b).copied().flatten();
            let c = Checked {
                title: parent.title.clone(),
                owner: parent.owner.clone(),
                board: b.clone(),
                kpi: parent.body.kpi.clone(),
                start: parent.body.start,
                horizon: parent.body.horizon,
                target: parent.body.target,
            };
            let child = Objective {
                id: 0,
                parent: Some(id),
                board: b.clone(),
                title: parent.title.clone(),
                owner: String::new(),
                body: ObjectiveBody {
                    baseline,
                    plan: plan_of(&c, baseline),
                    catchball: Catchball::Draft,
                    comment: String::new(),
                    gaps: BTreeMap::new(),
                    ..parent.body.clone()
                },
                created_at: self.now,
                updated_at: self.now,
            };
            let cid = self.save(None, &child, &format!("deployed from objective {id}"))?;
            made.push(cid);
        }
        Ok(made)
    }

    /// The child board's proposal: its owner, target and plan (a glide path from its baseline
    /// unless months are given), sent to the parent.
    pub fn propose(
        &mut self,
        id: i64,
        owner: &str,
        target: &str,
        plan: &[(String, String)],
    ) -> Result<(), HoshinError> {
        let mut o = self.get(id)?;
        if o.parent.is_none() {
            return Err(HoshinError::Conflict(format!(
                "objective {id} is not deployed from another: there is nobody to propose to"
            )));
        }
        if o.body.catchball == Catchball::Agreed {
            return Err(HoshinError::Conflict(format!(
                "objective {id} is agreed already"
            )));
        }
        o.owner = text("owner", owner, MAX_NAME, true)?;
        let t = number("target", target)?;
        if t != o.body.target {
            let c = Checked {
                title: o.title.clone(),
                owner: o.owner.clone(),
                board: o.board.clone(),
                kpi: o.body.kpi.clone(),
                start: o.body.start,
                horizon: o.body.horizon,
                target: t,
            };
            o.body.plan = plan_of(&c, o.body.baseline);
            o.body.target = t;
        }
        for (m, v) in plan {
            let key = month_key(parse_month("month", m)?);
            let value = number("value", v)?;
            let Some(p) = o.body.plan.iter_mut().find(|p| p.month == key) else {
                return Err(bad("month", format!("{key} is outside the plan")));
            };
            p.value = value;
            p.edited = true;
        }
        o.body.catchball = Catchball::Proposed;
        o.updated_at = self.now;
        let what = format!(
            "proposed: {} {} by {}",
            o.body.kpi,
            t,
            month_key(o.body.horizon)
        );
        self.save(Some(id), &o, &what)?;
        Ok(())
    }

    /// The parent's answer to a proposal: agreed, or returned with a comment. `leaders` and
    /// `open` (no logins) decide who may.
    pub fn decide(
        &mut self,
        id: i64,
        agree: bool,
        comment: &str,
        leaders: &[Leader],
        open: bool,
    ) -> Result<(), HoshinError> {
        let mut o = self.get(id)?;
        let Some(parent_id) = o.parent else {
            return Err(HoshinError::Conflict(format!(
                "objective {id} is not deployed from another"
            )));
        };
        let parent = self.get(parent_id)?;
        may_decide(self.who, leaders, &parent.board, open)?;
        if o.body.catchball != Catchball::Proposed {
            return Err(HoshinError::Conflict(format!(
                "objective {id} is {}, not proposed",
                o.body.catchball.as_str()
            )));
        }
        let comment = text("comment", comment, MAX_TEXT, !agree)?;
        o.body.catchball = if agree {
            Catchball::Agreed
        } else {
            Catchball::Returned
        };
        o.body.comment = comment.clone();
        o.updated_at = self.now;
        let what = if agree {
            if comment.is_empty() {
                "agreed".to_string()
            } else {
                format!("agreed: {comment}")
            }
        } else {
            format!("returned: {comment}")
        };
        self.save(Some(id), &o, &what)?;
        Ok(())
    }

    /// A gap note on a month (a red one, as the caller checks), linked to an action or an A3.
    pub fn gap(
        &mut self,
        id: i64,
        month: &str,
        cause: &str,
        countermeasure: &str,
        action: Option<i64>,
        a3: Option<i64>,
    ) -> Result<(), HoshinError> {
        let mut o = self.get(id)?;
        let key = month_key(parse_month("month", month)?);
        if !o.body.plan.iter().any(|p| p.month == key) {
            return Err(bad("month", format!("{key} is outside the plan")));
        }
        if let Some(a) = action
            && self.store.action(a)?.is_none()
        {
            return Err(bad("action", format!("no action {a}")));
        }
        if let Some(a) = a3
            && self.store.a3(a)?.is_none()
        {
            return Err(bad("a3", format!("no A3 {a}")));
        }
        let note = GapNote {
            cause: text("cause", cause, MAX_TEXT, true)?,
            countermeasure: text("countermeasure", countermeasure, MAX_TEXT, true)?,
            action,
            a3,
            who: self.who.to_string(),
            at: self.now,
        };
        o.body.gaps.insert(key.clone(), note);
        o.updated_at = self.now;
        self.save(Some(id), &o, &format!("gap note {key}"))?;
        Ok(())
    }

    /// Records a monthly review of a board.
    pub fn review(&mut self, w: &ReviewWrite) -> Result<i64, HoshinError> {
        crate::actions::board(self.cfg, &w.board).map_err(|e| bad("board", e.to_string()))?;
        parse_month("month", &w.month)?;
        text("attendees", &w.attendees, MAX_TEXT, true)?;
        for (oid, item) in &w.items {
            if self.store.objective(*oid)?.is_none() {
                return Err(bad("items", format!("no objective {oid}")));
            }
            text(
                &format!("status of objective {oid}"),
                &item.status,
                MAX_NAME,
                true,
            )?;
            text(
                &format!("note of objective {oid}"),
                &item.note,
                MAX_TEXT,
                false,
            )?;
        }
        Ok(self.store.write_review(w, self.who, self.now)?)
    }
}

/// A review's word on one objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewItem {
    /// on track, at risk, off track (words of the board's choosing).
    pub status: String,
    #[serde(default)]
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CONFIG;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_kpi_and_every_a3_target_is_a_trend_metric() {
        // Their actuals (and an A3's chart) come from the trend.
        for (k, _) in KPIS {
            assert!(crate::metrics::TREND_METRICS.contains(k), "{k}");
        }
        for k in crate::config::TARGETABLE {
            assert!(crate::metrics::TREND_METRICS.contains(k), "{k}");
        }
    }

    #[test]
    fn the_months_and_the_glide_path() {
        let ms = months(d("2026-11-01"), d("2027-02-28"));
        assert_eq!(
            ms,
            [
                d("2026-11-30"),
                d("2026-12-31"),
                d("2027-01-31"),
                d("2027-02-28")
            ]
        );
        assert_eq!(glide(30.0, 10.0, 4), [25.0, 20.0, 15.0, 10.0]);
        assert_eq!(glide(5.0, 5.0, 1), [5.0]);
        assert_eq!(month_end(d("2028-02-10")), d("2028-02-29"));
    }

    #[test]
    fn cells_follow_each_kpi_s_better_side() {
        let m = d("2026-11-30");
        let after = d("2026-12-05");
        let none = (None, None);
        assert_eq!(
            judge("reactive_pct", none, m, 20.0, Some(19.0), after),
            Cell::Green
        );
        assert_eq!(
            judge("reactive_pct", none, m, 20.0, Some(21.0), after),
            Cell::Red
        );
        assert_eq!(
            judge("pm_compliance_pct", none, m, 90.0, Some(85.0), after),
            Cell::Red
        );
        assert_eq!(
            judge("pm_compliance_pct", none, m, 90.0, Some(90.0), after),
            Cell::Green
        );
        assert_eq!(
            judge("reactive_pct", none, m, 20.0, Some(30.0), m),
            Cell::Future,
            "the month has not ended"
        );
        assert_eq!(
            judge("reactive_pct", none, m, 20.0, None, after),
            Cell::NoData
        );
        // Backlog weeks: a band of 2 to 4. A plan of 5 (on the way down from 6): 4.5 is on plan,
        // 3 (inside the band) too, 1.5 (below it, farther than the plan is) not.
        let band = (Some(2.0), Some(4.0));
        assert_eq!(
            judge("backlog_weeks", band, m, 5.0, Some(4.5), after),
            Cell::Green
        );
        assert_eq!(
            judge("backlog_weeks", band, m, 5.0, Some(3.0), after),
            Cell::Green
        );
        assert_eq!(
            judge("backlog_weeks", band, m, 5.0, Some(6.5), after),
            Cell::Red
        );
        assert_eq!(
            judge("backlog_weeks", band, m, 3.0, Some(1.5), after),
            Cell::Red
        );
    }

    #[test]
    fn children_targets_cover_bracket_or_fall_short() {
        let none = (None, None);
        // Sums add up: 10 + 12 overdue orders at most 25 covers; 20 + 12 does not.
        assert_eq!(
            coverage("overdue_count", none, 25.0, &[10.0, 12.0]),
            Coverage::Covers
        );
        assert_eq!(
            coverage("overdue_count", none, 25.0, &[20.0, 12.0]),
            Coverage::Short
        );
        // Ratios: all at least as good covers; the parent's between them brackets.
        assert_eq!(
            coverage("reactive_pct", none, 15.0, &[12.0, 15.0]),
            Coverage::Covers
        );
        assert_eq!(
            coverage("reactive_pct", none, 15.0, &[12.0, 18.0]),
            Coverage::Brackets
        );
        assert_eq!(
            coverage("reactive_pct", none, 15.0, &[16.0, 18.0]),
            Coverage::Short
        );
        assert_eq!(
            coverage("pm_compliance_pct", none, 95.0, &[96.0, 97.0]),
            Coverage::Covers
        );
        assert_eq!(coverage("reactive_pct", none, 15.0, &[]), Coverage::Open);
    }

    #[test]
    fn an_objective_is_checked_field_by_field() {
        let cfg = Config::parse(DEFAULT_CONFIG, "gemba.toml").unwrap();
        let ok = Draft {
            title: "Reactive work below 15 %".into(),
            owner: "Plant manager".into(),
            board: "plant".into(),
            kpi: "reactive_pct".into(),
            start: "2026-09".into(),
            horizon: "2027-08".into(),
            target: "15".into(),
        };
        let c = check(&cfg, &ok).unwrap();
        assert_eq!((c.start, c.horizon), (d("2026-09-01"), d("2027-08-31")));
        assert_eq!(plan_of(&c, Some(27.0)).len(), 12);
        assert_eq!(plan_of(&c, Some(27.0))[11].value, 15.0);
        let err = |f: &dyn Fn(&mut Draft)| {
            let mut x = ok.clone();
            f(&mut x);
            check(&cfg, &x).unwrap_err().to_string()
        };
        assert!(err(&|x| x.kpi = "uptime".into()).starts_with("kpi: `uptime`"));
        assert!(err(&|x| x.horizon = "2026-08".into()).starts_with("horizon: 2026-08 is before"));
        assert!(err(&|x| x.horizon = "2030-01".into()).starts_with("horizon: a plan runs at most"));
        assert!(err(&|x| x.start = "Sept".into()).starts_with("start: `Sept`"));
        assert!(err(&|x| x.horizon = "262143-12".into()).starts_with("horizon: `262143-12`"));
        assert!(err(&|x| x.target = "low".into()).starts_with("target:"));
        assert!(err(&|x| x.board = "crew:Nobody".into()).starts_with("board:"));
    }

    #[test]
    fn the_tiers_below_a_board_and_who_may_agree() {
        let cfg = Config::parse(DEFAULT_CONFIG, "gemba.toml").unwrap();
        assert_eq!(
            children(&cfg, "plant"),
            ["area:Processing", "area:Packaging", "area:Utilities"]
        );
        assert_eq!(
            children(&cfg, "area:Packaging"),
            ["crew:Packaging Mechanical", "crew:Packaging E&I"]
        );
        assert!(children(&cfg, "crew:Utilities").is_empty());
        let leader = |login: &str, board: &str| Leader {
            id: 1,
            name: login.into(),
            role: "Manager".into(),
            board: board.into(),
            login: Some(login.into()),
            active: true,
            updated_at: Utc::now(),
        };
        let leaders = [leader("ana", "plant"), leader("bo", "area:Packaging")];
        assert!(may_decide("ana", &leaders, "plant", false).is_ok());
        assert!(may_decide("bo", &leaders, "plant", false).is_err());
        assert!(
            may_decide("bo", &leaders, "plant", true).is_ok(),
            "no logins: anyone who may write"
        );
    }
}
