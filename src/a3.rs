//! A3 problem solving (docs/a3.md): one sheet that takes a problem from its background and
//! current condition (frozen from the orders when the A3 starts), through the problem statement,
//! a target condition (a metric, a scope or asset, a value, a date), the root cause (five whys
//! and the fishbone's categories), countermeasures (each an action on the A3's board, so the
//! huddle tracks it) and the plan, to the follow-up: once the countermeasures are in place, the
//! target metric measured from the orders over the same length of window before and after.
//!
//! Rules on plain data; the store keeps the rows, [`A3s`] writes them (each write the A3's row
//! and a line of history in one durable transaction), and the web measures the metric.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::actions::{ActionError, Actions, Draft};
use crate::assets::{ASSET_METRICS, higher_is_better};
use crate::config::{Config, TARGETABLE};
use crate::store::{A3Row, A3Write, Store, StoreError};

pub const MAX_TITLE: usize = 120;
const MAX_NAME: usize = 80;
pub const MAX_SECTION: usize = 4000;
pub const WHYS: usize = 5;
/// The follow-up's windows are 7 to 365 days.
pub const WINDOW_RANGE: (u32, u32) = (7, 365);

/// The fishbone's cause categories (the 6 M's in a maintenance shop's words).
pub const CATEGORIES: [(&str, &str); 6] = [
    ("people", "People"),
    ("machine", "Machine"),
    ("method", "Method"),
    ("material", "Material"),
    ("measurement", "Measurement"),
    ("environment", "Environment"),
];

#[derive(Debug, thiserror::Error)]
pub enum A3Error {
    #[error("{field} is required")]
    Missing { field: String },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    #[error("{field}: {message}")]
    Bad { field: String, message: String },
    #[error("no A3 {0}")]
    NoSuchA3(i64),
    #[error("A3 {0} is closed; set its stage back to add to it")]
    Closed(i64),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Action(#[from] ActionError),
}

fn bad(field: &str, message: impl Into<String>) -> A3Error {
    A3Error::Bad {
        field: field.to_string(),
        message: message.into(),
    }
}

fn text(field: &str, v: &str, max: usize) -> Result<String, A3Error> {
    let v = v.trim();
    if v.is_empty() {
        return Err(A3Error::Missing {
            field: field.to_string(),
        });
    }
    optional(field, v, max)
}

fn optional(field: &str, v: &str, max: usize) -> Result<String, A3Error> {
    let v = v.trim();
    if v.chars().count() > max {
        return Err(A3Error::TooLong {
            field: field.to_string(),
            max,
        });
    }
    Ok(v.to_string())
}

/// Where the A3 is in its PDCA cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Plan,
    Do,
    Check,
    Act,
    Closed,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Plan,
        Stage::Do,
        Stage::Check,
        Stage::Act,
        Stage::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Plan => "plan",
            Stage::Do => "do",
            Stage::Check => "check",
            Stage::Act => "act",
            Stage::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<Stage, A3Error> {
        Stage::ALL
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| {
                bad(
                    "stage",
                    format!("`{s}` is not one of plan, do, check, act, closed"),
                )
            })
    }
}

/// What the A3 was started from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Origin {
    #[default]
    Blank,
    /// An asset's page, or its bar on the bad-actor chart.
    Asset { asset: String },
    /// A failure code's bar on the bad-actor chart.
    FailureCode { code: String },
    /// An action of a board.
    Action { action: i64 },
    /// A gemba walk's observation (stop 1 for the first).
    Walk { walk: i64, stop: usize },
}

impl Origin {
    /// Where the A3 came from, in words, with the page it links to.
    pub fn describe(&self) -> Option<(String, String)> {
        let q = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        match self {
            Origin::Blank => None,
            Origin::Asset { asset } => {
                // A path segment: a space is %20 there.
                let segment = q(asset).replace('+', "%20");
                Some((format!("asset {asset}"), format!("/assets/{segment}")))
            }
            Origin::FailureCode { code } => Some((
                format!("failure code {code}"),
                format!("/assets/pareto?by=code#code-{}", q(code)),
            )),
            Origin::Action { action } => {
                Some((format!("action #{action}"), format!("/actions/{action}")))
            }
            Origin::Walk { walk, stop } => Some((
                format!("gemba walk #{walk}, stop {stop}"),
                format!("/walks/{walk}"),
            )),
        }
    }
}

/// Whether the target is a ceiling or a floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    AtMost,
    AtLeast,
}

impl Op {
    pub fn parse(s: &str) -> Result<Op, A3Error> {
        match s.trim() {
            "at_most" => Ok(Op::AtMost),
            "at_least" => Ok(Op::AtLeast),
            other => Err(bad("op", format!("`{other}` is not at_most or at_least"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::AtMost => "at_most",
            Op::AtLeast => "at_least",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Op::AtMost => "at most",
            Op::AtLeast => "at least",
        }
    }

    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Op::AtMost => value <= target,
            Op::AtLeast => value >= target,
        }
    }

    /// The natural direction of a metric: at least for what is better higher.
    pub fn natural(metric: &str) -> Op {
        let higher = higher_is_better(metric)
            || matches!(
                metric,
                "pm_compliance_pct"
                    | "schedule_compliance_pct"
                    | "on_time_pct"
                    | "completion_ratio"
            );
        if higher { Op::AtLeast } else { Op::AtMost }
    }
}

/// The target condition: `metric` of the board `scope` (or of `asset`) `op` `value` by `by`,
/// measured over windows of `window_days`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    /// A metric key of docs/metrics.md, or an asset metric key with `asset`.
    pub metric: String,
    /// An asset id of the orders, for an asset metric.
    #[serde(default)]
    pub asset: Option<String>,
    /// A board key (the scope of a plant metric): plant, site:NAME, area:NAME, crew:NAME.
    pub scope: String,
    pub op: Op,
    pub value: f64,
    #[schema(value_type = String, format = Date)]
    pub by: NaiveDate,
    pub window_days: u32,
}

impl Target {
    /// In words: `reactive_count of F1 at most 2 by 2026-06-30`.
    pub fn describe(&self) -> String {
        let of = self
            .asset
            .as_ref()
            .map(|x| format!(" of {x}"))
            .unwrap_or_default();
        format!(
            "{}{of} {} {} by {}",
            self.metric,
            self.op.words(),
            self.value,
            self.by
        )
    }
}

/// Whether `metric` can be measured of an asset (`pm_compliance_pct` and `mttr_hours` can be of
/// a board too: an asset makes the difference).
pub fn is_asset_metric(metric: &str) -> bool {
    ASSET_METRICS.iter().any(|m| m.0 == metric)
}

/// A target condition as typed (every field text, as a form sends it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetDraft {
    pub metric: String,
    pub asset: String,
    pub scope: String,
    /// `at_most`, `at_least`, or empty for the metric's better side.
    pub op: String,
    pub value: String,
    pub by: String,
    pub window_days: String,
}

/// A target as typed, checked: a known metric (with an asset for an asset metric, which must
/// be among `assets`' known ones), a number, a date on or after the A3's start, a window.
pub fn check_target(
    d: &TargetDraft,
    started: NaiveDate,
    cfg: &Config,
    asset_known: &dyn Fn(&str) -> bool,
) -> Result<Target, A3Error> {
    let TargetDraft {
        metric,
        asset,
        scope,
        op,
        value,
        by,
        window_days,
    } = d;
    let metric = metric.trim();
    // An asset metric with an asset; else a board's metric (an asset typed beside a metric no
    // asset has is dropped: the form keeps the A3's asset in that field). PM compliance and
    // MTTR are both.
    let of_board = TARGETABLE.contains(&metric);
    let asset = match asset.trim() {
        a if !a.is_empty() && is_asset_metric(metric) => a,
        _ if of_board => "",
        "" if is_asset_metric(metric) => {
            return Err(bad(
                "asset",
                format!("{metric} is an asset metric: name the asset"),
            ));
        }
        _ => {
            let asset_keys: Vec<&str> = ASSET_METRICS.iter().map(|m| m.0).collect();
            return Err(bad(
                "metric",
                format!(
                    "`{metric}` is not a metric (one of: {}; of an asset: {})",
                    TARGETABLE.join(", "),
                    asset_keys.join(", ")
                ),
            ));
        }
    };
    if !asset.is_empty() && !asset_known(asset) {
        return Err(bad("asset", format!("no orders name the asset `{asset}`")));
    }
    let scope = crate::actions::board(cfg, scope.trim())
        .map_err(|e| bad("scope", e.to_string()))?
        .key();
    let value: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad("value", format!("`{}` is not a number", value.trim())))?;
    let by = NaiveDate::parse_from_str(by.trim(), "%Y-%m-%d")
        .map_err(|_| bad("by", format!("`{}` is not a date (YYYY-MM-DD)", by.trim())))?;
    if by < started {
        return Err(bad(
            "by",
            format!("{by} is before the A3 started ({started})"),
        ));
    }
    let window_days = window_days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|w| (WINDOW_RANGE.0..=WINDOW_RANGE.1).contains(w))
        .ok_or_else(|| {
            bad(
                "window_days",
                format!(
                    "`{}` is not a whole number of days from {} to {}",
                    window_days.trim(),
                    WINDOW_RANGE.0,
                    WINDOW_RANGE.1
                ),
            )
        })?;
    let op = if op.trim().is_empty() {
        Op::natural(metric)
    } else {
        Op::parse(op)?
    };
    Ok(Target {
        metric: metric.to_string(),
        asset: (!asset.is_empty()).then(|| asset.to_string()),
        scope,
        op,
        value,
        by,
        window_days,
    })
}

/// One figure of the current condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub value: Option<f64>,
    pub unit: String,
}

/// The current condition as the orders showed it when the A3 started: frozen with the A3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Current {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub window_days: u32,
    /// What was measured: an asset or a board, in words.
    pub subject: String,
    pub figures: Vec<Figure>,
    /// What the chart shows.
    pub chart_label: String,
    /// The chart's points: a month's end and its value.
    #[schema(value_type = Vec<(String, Option<f64>)>)]
    pub chart: Vec<(NaiveDate, Option<f64>)>,
    /// The failure codes of the subject's breakdowns in the window, most first.
    #[serde(default)]
    pub failure_codes: Vec<(String, u32)>,
}

/// The sections a person writes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Sections {
    #[serde(default)]
    pub background: String,
    #[serde(default)]
    pub problem: String,
    /// The five whys, in order (blank ones dropped).
    #[serde(default)]
    pub whys: Vec<String>,
    /// The fishbone: causes by category key (`CATEGORIES`).
    #[serde(default)]
    pub causes: BTreeMap<String, String>,
    #[serde(default)]
    pub root_cause: String,
    #[serde(default)]
    pub plan: String,
    /// Act: what is standardised, and what is next.
    #[serde(default)]
    pub act: String,
}

/// What an A3 starts from, for its current condition.
pub enum Subject<'a> {
    Asset(&'a str),
    FailureCode(&'a str),
    Board(&'a crate::metrics::Scope),
}

/// A countermeasure: the action on the A3's board that carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Countermeasure {
    pub action: i64,
    pub title: String,
}

/// What an A3 keeps beside its row's columns (stored as JSON).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Body {
    #[serde(default)]
    pub origin: Origin,
    /// The asset the A3 is about, if any.
    #[serde(default)]
    pub asset: Option<String>,
    #[serde(default)]
    pub coach: String,
    #[serde(default)]
    pub sections: Sections,
    #[serde(default)]
    pub current: Option<Current>,
    #[serde(default)]
    pub target: Option<Target>,
    #[serde(default)]
    pub countermeasures: Vec<Countermeasure>,
    /// When the countermeasures were in place, set by hand (else the day the last was done).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub in_place_on: Option<NaiveDate>,
}

/// An A3 as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct A3 {
    pub id: i64,
    /// The board that owns it (its countermeasures are actions there).
    pub board: String,
    pub title: String,
    pub owner: String,
    pub stage: Stage,
    #[serde(flatten)]
    pub body: Body,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The follow-up's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The countermeasures are not all in place, or the after window is not over.
    NotYet,
    Met,
    NotMet,
}

impl Verdict {
    pub fn words(self) -> &'static str {
        match self {
            Verdict::NotYet => "not yet",
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
        }
    }
}

/// The windows of the follow-up: the as-of dates of the window before the countermeasures
/// were in place (ending the day before) and of the window after (starting that day).
pub fn windows(in_place_on: NaiveDate, window_days: u32) -> (NaiveDate, NaiveDate) {
    (
        in_place_on - Duration::days(1),
        in_place_on + Duration::days(i64::from(window_days) - 1),
    )
}

/// The day the countermeasures were in place: set by hand, else the day the last of them was
/// done, when all are (`done`: each countermeasure's day done, `None` while open).
pub fn in_place(set: Option<NaiveDate>, done: &[Option<NaiveDate>]) -> Option<NaiveDate> {
    set.or_else(|| {
        if done.is_empty() || done.iter().any(Option::is_none) {
            None
        } else {
            done.iter().flatten().max().copied()
        }
    })
}

/// The verdict of the value measured over the after window: not yet until that window has
/// ended (`today` after its as-of date); then met when the value satisfies the target, and not
/// met when it does not or there is no value.
pub fn verdict(
    t: &Target,
    after_as_of: NaiveDate,
    after: Option<f64>,
    today: NaiveDate,
) -> Verdict {
    if today <= after_as_of {
        return Verdict::NotYet;
    }
    match after {
        Some(v) if t.op.holds(v, t.value) => Verdict::Met,
        _ => Verdict::NotMet,
    }
}

/// Days from the A3's start to the first day its follow-up could say met (the day after the
/// after window), when it is met: the A3's cycle time (docs/metrics.md). An A3 written up after
/// its countermeasures had already proven themselves has a cycle time of 0.
pub fn cycle_days(started: NaiveDate, after_as_of: NaiveDate, v: Verdict) -> Option<i64> {
    (v == Verdict::Met).then(|| {
        (after_as_of + Duration::days(1) - started)
            .num_days()
            .max(0)
    })
}

/// What a person types to start an A3.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub board: String,
    pub title: String,
    pub owner: String,
    pub coach: String,
    pub background: String,
    pub origin: Origin,
    pub asset: Option<String>,
}

/// What a person types on the A3's form (every field; a target with a blank metric is none).
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub title: String,
    pub owner: String,
    pub coach: String,
    pub stage: String,
    pub sections: Sections,
    pub target: Option<TargetDraft>,
    pub in_place_on: String,
}

fn check_sections(s: &Sections) -> Result<Sections, A3Error> {
    let whys: Vec<String> = s
        .whys
        .iter()
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if whys.len() > WHYS {
        return Err(bad("whys", format!("at most {WHYS}")));
    }
    for (i, w) in whys.iter().enumerate() {
        optional(&format!("why {}", i + 1), w, MAX_SECTION)?;
    }
    let mut causes = BTreeMap::new();
    for (k, v) in &s.causes {
        if !CATEGORIES.iter().any(|c| c.0 == k) {
            let keys: Vec<&str> = CATEGORIES.iter().map(|c| c.0).collect();
            return Err(bad(
                "causes",
                format!("`{k}` is not a category (one of: {})", keys.join(", ")),
            ));
        }
        let v = optional(&format!("cause_{k}"), v, MAX_SECTION)?;
        if !v.is_empty() {
            causes.insert(k.clone(), v);
        }
    }
    Ok(Sections {
        background: optional("background", &s.background, MAX_SECTION)?,
        problem: optional("problem", &s.problem, MAX_SECTION)?,
        whys,
        causes,
        root_cause: optional("root_cause", &s.root_cause, MAX_SECTION)?,
        plan: optional("plan", &s.plan, MAX_SECTION)?,
        act: optional("act", &s.act, MAX_SECTION)?,
    })
}

/// One person's writes to A3s.
pub struct A3s<'a> {
    pub store: &'a mut Store,
    pub cfg: &'a Config,
    pub who: &'a str,
    pub now: DateTime<Utc>,
}

impl A3s<'_> {
    fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.cfg.plant.tz).date_naive()
    }

    pub fn get(&mut self, id: i64) -> Result<A3, A3Error> {
        self.store.a3(id)?.ok_or(A3Error::NoSuchA3(id))
    }

    fn save(&mut self, id: Option<i64>, a: &A3, what: &str) -> Result<i64, A3Error> {
        let w = A3Write {
            board: a.board.clone(),
            title: a.title.clone(),
            owner: a.owner.clone(),
            stage: a.stage,
            body: a.body.clone(),
        };
        Ok(self.store.write_a3(id, &w, self.who, what, self.now)?)
    }

    /// Starts an A3 with its current condition (measured by the caller from the orders).
    pub fn start(&mut self, s: &Start, current: Option<Current>) -> Result<i64, A3Error> {
        let board = crate::actions::board(self.cfg, s.board.trim())
            .map_err(|e| bad("board", e.to_string()))?;
        let a = A3 {
            id: 0,
            board: board.key(),
            title: text("title", &s.title, MAX_TITLE)?,
            owner: text("owner", &s.owner, MAX_NAME)?,
            stage: Stage::Plan,
            body: Body {
                origin: s.origin.clone(),
                asset: s.asset.clone(),
                coach: optional("coach", &s.coach, MAX_NAME)?,
                sections: Sections {
                    background: optional("background", &s.background, MAX_SECTION)?,
                    ..Sections::default()
                },
                current,
                ..Body::default()
            },
            created_at: self.now,
            updated_at: self.now,
        };
        let what = format!("started: {} (owner {})", a.title, a.owner);
        self.save(None, &a, &what)
    }

    /// Saves the form: title, owner, coach, stage, sections, target, in-place day.
    pub fn edit(
        &mut self,
        id: i64,
        e: &Edit,
        asset_known: &dyn Fn(&str) -> bool,
    ) -> Result<(), A3Error> {
        let old = self.get(id)?;
        let mut a = old.clone();
        a.title = text("title", &e.title, MAX_TITLE)?;
        a.owner = text("owner", &e.owner, MAX_NAME)?;
        a.body.coach = optional("coach", &e.coach, MAX_NAME)?;
        if !e.stage.trim().is_empty() {
            a.stage = Stage::parse(&e.stage)?;
        }
        a.body.sections = check_sections(&e.sections)?;
        let started = old
            .created_at
            .with_timezone(&self.cfg.plant.tz)
            .date_naive();
        a.body.target = match &e.target {
            Some(t) if t.metric.trim().is_empty() => None,
            Some(t) => Some(check_target(t, started, self.cfg, asset_known)?),
            None => old.body.target.clone(),
        };
        a.body.in_place_on = match e.in_place_on.trim() {
            "" => None,
            v => {
                let d = NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| bad("in_place_on", format!("`{v}` is not a date (YYYY-MM-DD)")))?;
                if d > self.today() {
                    return Err(bad("in_place_on", format!("{d} is in the future")));
                }
                if d.year() < 2000 {
                    return Err(bad("in_place_on", format!("{d} is before 2000")));
                }
                Some(d)
            }
        };
        let mut changed = Vec::new();
        if a.title != old.title {
            changed.push(format!("title `{}`", a.title));
        }
        if a.owner != old.owner {
            changed.push(format!("owner {} -> {}", old.owner, a.owner));
        }
        if a.body.coach != old.body.coach {
            changed.push(format!("coach {}", a.body.coach));
        }
        if a.stage != old.stage {
            changed.push(format!(
                "stage {} -> {}",
                old.stage.as_str(),
                a.stage.as_str()
            ));
        }
        if a.body.sections != old.body.sections {
            changed.push("sections".into());
        }
        if a.body.target != old.body.target {
            changed.push(match &a.body.target {
                Some(t) => format!("target {}", t.describe()),
                None => "target removed".into(),
            });
        }
        if a.body.in_place_on != old.body.in_place_on {
            changed.push(match a.body.in_place_on {
                Some(d) => format!("countermeasures in place on {d}"),
                None => "in-place day cleared".into(),
            });
        }
        if changed.is_empty() {
            return Ok(());
        }
        a.updated_at = self.now;
        self.save(Some(id), &a, &format!("edited: {}", changed.join("; ")))?;
        Ok(())
    }

    /// Adds a countermeasure: an action on the A3's board with a note linking back, listed on
    /// the A3. The first one moves a planning A3 to Do. Returns the action's id.
    pub fn add_countermeasure(&mut self, id: i64, d: &Draft) -> Result<i64, A3Error> {
        let mut a = self.get(id)?;
        if a.stage == Stage::Closed {
            return Err(A3Error::Closed(id));
        }
        let note = format!("Countermeasure of A3 #{id} ({}): /a3/{id}", a.title);
        let action = Actions {
            store: &mut *self.store,
            cfg: self.cfg,
            who: self.who,
            now: self.now,
        }
        .create_with_note(&a.board, d, &note)?;
        a.body.countermeasures.push(Countermeasure {
            action,
            title: d.title.trim().to_string(),
        });
        let mut what = format!("countermeasure: action #{action} {}", d.title.trim());
        if a.stage == Stage::Plan {
            a.stage = Stage::Do;
            what.push_str("; stage plan -> do");
        }
        a.updated_at = self.now;
        self.save(Some(id), &a, &what)?;
        Ok(action)
    }
}

/// The rows of the store as A3s (the body decoded by the facade).
pub(crate) fn from_row(r: A3Row, body: Body) -> A3 {
    A3 {
        id: r.id,
        board: r.board,
        title: r.title,
        owner: r.owner,
        stage: Stage::parse(&r.stage).unwrap_or_default(),
        body,
        created_at: DateTime::from_timestamp_millis(r.created_at).unwrap_or_default(),
        updated_at: DateTime::from_timestamp_millis(r.updated_at).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CONFIG;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn target(op: Op, value: f64) -> Target {
        Target {
            metric: "reactive_count".into(),
            asset: Some("P1".into()),
            scope: "plant".into(),
            op,
            value,
            by: d("2026-06-30"),
            window_days: 28,
        }
    }

    #[test]
    fn the_windows_meet_at_the_in_place_day() {
        let (before, after) = windows(d("2026-03-01"), 28);
        assert_eq!(before, d("2026-02-28"));
        assert_eq!(after, d("2026-03-28"));
        // The after window [1 March, 29 March) holds 28 days, like the one before it.
        assert_eq!((after - before).num_days(), 28);
    }

    #[test]
    fn the_verdict_waits_for_the_after_window_then_judges() {
        let t = target(Op::AtMost, 1.0);
        let after = d("2026-03-28");
        assert_eq!(
            verdict(&t, after, Some(0.0), d("2026-03-28")),
            Verdict::NotYet
        );
        assert_eq!(verdict(&t, after, Some(1.0), d("2026-03-29")), Verdict::Met);
        assert_eq!(
            verdict(&t, after, Some(2.0), d("2026-03-29")),
            Verdict::NotMet
        );
        assert_eq!(verdict(&t, after, None, d("2026-04-29")), Verdict::NotMet);
        let floor = target(Op::AtLeast, 100.0);
        assert_eq!(
            verdict(&floor, after, Some(120.0), d("2026-04-01")),
            Verdict::Met
        );
        assert_eq!(cycle_days(d("2026-02-01"), after, Verdict::Met), Some(56));
        assert_eq!(cycle_days(d("2026-02-01"), after, Verdict::NotMet), None);
        assert_eq!(cycle_days(d("2026-05-01"), after, Verdict::Met), Some(0));
    }

    #[test]
    fn in_place_is_the_last_done_day_when_all_are_done() {
        assert_eq!(in_place(None, &[]), None);
        assert_eq!(in_place(None, &[Some(d("2026-03-01")), None]), None);
        assert_eq!(
            in_place(None, &[Some(d("2026-03-05")), Some(d("2026-03-01"))]),
            Some(d("2026-03-05"))
        );
        assert_eq!(
            in_place(Some(d("2026-02-01")), &[None]),
            Some(d("2026-02-01"))
        );
    }

    #[test]
    fn a_target_is_checked_field_by_field() {
        let cfg = Config::parse(DEFAULT_CONFIG, "gemba.toml").unwrap();
        let known = |a: &str| a == "PRO-REA-01";
        let start = d("2026-03-01");
        let draft = |m: &str, a: &str, scope: &str, v: &str, by: &str, w: &str| TargetDraft {
            metric: m.into(),
            asset: a.into(),
            scope: scope.into(),
            op: String::new(),
            value: v.into(),
            by: by.into(),
            window_days: w.into(),
        };
        // Accepted targets by the end of June over 28 days.
        let ok = |m: &str, a: &str, scope: &str, v: &str| {
            check_target(
                &draft(m, a, scope, v, "2026-06-30", "28"),
                start,
                &cfg,
                &known,
            )
            .unwrap()
        };
        let mtbf = ok("mtbf_hours", "PRO-REA-01", "area:Processing", "200");
        assert_eq!(
            (mtbf.op, mtbf.scope.as_str()),
            (Op::AtLeast, "area:Processing")
        );
        let err = |m: &str, a: &str, v: &str, by: &str, w: &str| {
            check_target(&draft(m, a, "plant", v, by, w), start, &cfg, &known)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("uptime", "", "1", "2026-06-30", "28")
                .starts_with("metric: `uptime` is not a metric")
        );
        assert!(err("mtbf_hours", "", "1", "2026-06-30", "28").starts_with("asset:"));
        assert!(
            err("mtbf_hours", "NOPE", "1", "2026-06-30", "28")
                .contains("no orders name the asset `NOPE`")
        );
        assert!(err("reactive_pct", "", "x", "2026-06-30", "28").starts_with("value: `x`"));
        assert!(
            err("reactive_pct", "", "10", "2026-02-01", "28")
                .starts_with("by: 2026-02-01 is before")
        );
        assert!(err("reactive_pct", "", "10", "2026-06-30", "3").starts_with("window_days:"));
        assert_eq!(Op::natural("reactive_pct"), Op::AtMost);
        // PM compliance is a board's without an asset and the asset's with one; an asset typed
        // beside a board-only metric is dropped.
        let board = ok("pm_compliance_pct", "", "plant", "95");
        assert_eq!((board.asset, board.op), (None, Op::AtLeast));
        let asset = ok("pm_compliance_pct", "PRO-REA-01", "plant", "95");
        assert_eq!(asset.asset.as_deref(), Some("PRO-REA-01"));
        let dropped = ok("reactive_pct", "PRO-REA-01", "plant", "15");
        assert_eq!(dropped.asset, None);
    }

    #[test]
    fn sections_drop_blank_whys_and_refuse_unknown_categories() {
        let s = Sections {
            whys: vec!["a".into(), " ".into(), "b".into()],
            causes: [("machine".to_string(), " worn ".to_string())].into(),
            ..Sections::default()
        };
        let c = check_sections(&s).unwrap();
        assert_eq!(c.whys, ["a", "b"]);
        assert_eq!(c.causes["machine"], "worn");
        let bad = Sections {
            causes: [("money".to_string(), "x".to_string())].into(),
            ..Sections::default()
        };
        assert!(
            check_sections(&bad)
                .unwrap_err()
                .to_string()
                .starts_with("causes: `money`")
        );
    }
}
