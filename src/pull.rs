//! Pull scheduling (docs/pull.md): for each crew, the ready work it should start next within the
//! day's capacity, ranked by a RIME-style score, each suggestion with its reason in words.
//!
//! The walk ([`plan_crew`]) and the ranking ([`rank_unassigned`]) are functions of plain data
//! ([`Item`]), tested against hand-computed cases; [`Engine::pull`] picks the open orders out of
//! the loaded frame (one filter), and only the orders a lane lists become owned rows.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use polars::prelude::*;
use serde::Serialize;

use crate::config::{Crew, PullSettings};
use crate::mapping::dates::local_to_utc;
use crate::metrics::frame::{DAY_MS, c, code, one_of, open_at};
use crate::metrics::orders::OrderRow;
use crate::metrics::{Engine, MetricsError, Scope};
use crate::model::{Kind, Status};

/// How many orders a lane lists of those that did not fit, or that are blocked.
pub const SHOWN: usize = 5;
/// How many orders the unassigned lane lists.
pub const SHOWN_UNASSIGNED: usize = 10;
/// The most technicians a what-if may give a crew.
pub const MAX_TECHNICIANS: f64 = 1000.0;
/// Hours are compared with this tolerance, so 0.1 + 0.2 h fits into 0.3 h.
const EPS: f64 = 1e-9;

/// An order as the walk sees it. Text borrows from the frame; only listed orders are copied.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub source: &'a str,
    pub id: &'a str,
    pub title: &'a str,
    pub asset_id: Option<&'a str>,
    pub asset_name: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub cost: Option<f64>,
    pub site: Option<&'a str>,
    pub area: Option<&'a str>,
    pub crew: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub kind: Kind,
    pub status: Status,
    pub priority: u8,
    pub criticality: Option<u8>,
    pub created_ms: i64,
    pub due_ms: Option<i64>,
    pub started_ms: Option<i64>,
    pub updated_ms: Option<i64>,
    /// Effective completion (after `T`, or none: the order is open at `T`).
    pub done_ms: Option<i64>,
    /// The order's estimate (metrics.md: `estimated_hours`, else the default for its kind).
    pub estimate: f64,
    /// The estimate less the hours already booked, never below 0.
    pub remaining: f64,
}

impl Item<'_> {
    fn is_candidate(&self) -> bool {
        matches!(
            self.status,
            Status::Approved | Status::Ready | Status::Scheduled
        )
    }

    fn is_blocked(&self) -> bool {
        matches!(self.status, Status::Requested | Status::OnHold)
    }

    /// The order as the lists of the board and the API show it, with its age at `t_ms`.
    fn order(&self, t_ms: i64) -> OrderRow {
        let ms = |v: i64| DateTime::from_timestamp_millis(v).unwrap_or_default();
        let text = |v: Option<&str>| v.map(str::to_string);
        OrderRow {
            source: self.source.to_string(),
            id: self.id.to_string(),
            title: self.title.to_string(),
            kind: self.kind,
            status: self.status,
            priority: self.priority,
            site: text(self.site),
            area: text(self.area),
            crew: text(self.crew),
            assignee: text(self.assignee),
            asset_id: text(self.asset_id),
            asset_name: text(self.asset_name),
            asset_criticality: self.criticality,
            cost: self.cost,
            failure_code: text(self.failure_code),
            created_at: ms(self.created_ms),
            due_at: self.due_ms.map(ms),
            started_at: self.started_ms.map(ms),
            updated_at: self.updated_ms.map(ms),
            completed_at: self.done_ms.map(ms),
            estimate_hours: self.estimate,
            age_days: (t_ms - self.created_ms).div_euclid(DAY_MS),
            overdue_days: self
                .due_ms
                .filter(|d| *d < t_ms)
                .map(|d| (t_ms - d).div_euclid(DAY_MS)),
        }
    }
}

/// The score of an order and its parts (metrics.md, "Pull order").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Score {
    pub total: f64,
    pub priority: u8,
    pub priority_weight: f64,
    /// The criticality the score used: the asset's, or the configured default.
    pub criticality: u8,
    pub criticality_known: bool,
    /// Whole days since creation.
    pub age_days: i64,
    /// `5 x age_days / 7`.
    pub age_points: f64,
    /// Whole days past due, when the order is past its due instant.
    pub overdue_days: Option<i64>,
    pub overdue_points: f64,
}

impl Score {
    /// `priority_weight x criticality + 5 x age_days / 7 + (overdue ? overdue_bonus : 0)` at `t`.
    pub fn of(item: &Item<'_>, t_ms: i64, settings: &PullSettings) -> Score {
        let priority = item.priority.clamp(1, 5);
        let priority_weight = settings.priority_weights[usize::from(priority - 1)];
        let (criticality, criticality_known) = match item.criticality {
            Some(c) => (c, true),
            None => (settings.default_criticality, false),
        };
        let age_days = (t_ms - item.created_ms).div_euclid(DAY_MS).max(0);
        let age_points = 5.0 * age_days as f64 / 7.0;
        let overdue_days = item
            .due_ms
            .filter(|d| *d < t_ms)
            .map(|d| (t_ms - d).div_euclid(DAY_MS));
        let overdue_points = if overdue_days.is_some() {
            settings.overdue_bonus
        } else {
            0.0
        };
        Score {
            total: priority_weight * f64::from(criticality) + age_points + overdue_points,
            priority,
            priority_weight,
            criticality,
            criticality_known,
            age_days,
            age_points,
            overdue_days,
            overdue_points,
        }
    }

    /// The score in words: `P2 x criticality 9 = 72; +10 aged 14 d; +10 overdue 3 d`.
    pub fn reason(&self) -> String {
        let mut r = format!(
            "P{} x criticality {}{} = {}",
            self.priority,
            self.criticality,
            if self.criticality_known {
                ""
            } else {
                " (default: asset criticality unknown)"
            },
            number(self.priority_weight * f64::from(self.criticality))
        );
        if self.age_points > 0.0 {
            r.push_str(&format!(
                "; +{} aged {} d",
                number(self.age_points),
                self.age_days
            ));
        }
        match self.overdue_days {
            Some(0) => r.push_str(&format!("; +{} overdue <1 d", number(self.overdue_points))),
            Some(d) => r.push_str(&format!("; +{} overdue {d} d", number(self.overdue_points))),
            None => {}
        }
        r
    }
}

/// Hours and scores in the output carry two decimals, percentages one: sums of tenths of hours
/// must not print as 4.800000000000001.
fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A number for people: whole when it is whole, else one decimal.
pub fn number(v: f64) -> String {
    let one = (v * 10.0).round() / 10.0;
    if one.fract() == 0.0 {
        format!("{one:.0}")
    } else {
        format!("{one:.1}")
    }
}

/// An order with its score, in a ranked list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ranked {
    pub order: OrderRow,
    pub score: f64,
    pub reason: String,
}

/// One suggestion of a crew's pull list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub order: OrderRow,
    pub score: f64,
    pub reason: String,
    pub hours: f64,
    /// The crew's hours after this suggestion: in progress plus suggested so far.
    pub cumulative_hours: f64,
    /// `cumulative_hours` as a percentage of the day's capacity (none when it is 0).
    pub load_pct: Option<f64>,
    pub emergency: bool,
    /// False only for an emergency listed although it does not fit.
    pub fits: bool,
}

/// A ready order passed over because its estimate is more than the hours left.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TooBig {
    pub order: OrderRow,
    pub score: f64,
    pub reason: String,
    pub hours: f64,
    /// The hours left when it came up.
    pub hours_left: f64,
}

/// Why the walk stopped before it reached the end of the ready orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = PullStop)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// In progress plus pulled reached the crew's `wip_limit`.
    WipLimit,
    /// No hours of the day are left.
    NoHoursLeft,
}

/// A crew's pull list for a day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CrewPull {
    pub crew: String,
    pub site: Option<String>,
    pub area: Option<String>,
    /// Technicians counted today: the configured number, or the what-if.
    pub technicians: f64,
    pub technicians_configured: f64,
    pub shift_hours: f64,
    pub indirect_hours: f64,
    /// `technicians x shift_hours - indirect_hours`, never below 0.
    pub capacity_hours: f64,
    pub in_progress_count: usize,
    /// Remaining estimates of the orders already in progress.
    pub committed_hours: f64,
    /// Capacity less committed, never below 0: what the pull list fills.
    pub available_hours: f64,
    pub suggested_hours: f64,
    /// Committed plus suggested, as a percentage of capacity (none when capacity is 0).
    pub load_pct: Option<f64>,
    pub wip_limit: u32,
    /// Emergencies first, then ready orders by score.
    pub suggestions: Vec<Suggestion>,
    /// The first ready orders passed over as too big (at most [`SHOWN`]).
    pub too_big: Vec<TooBig>,
    pub too_big_count: usize,
    pub stopped: Option<Stop>,
    /// Ready orders not looked at after the walk stopped.
    pub waiting_count: usize,
    pub candidate_count: usize,
    /// Orders not ready to pull (`requested`, `on_hold`) that outrank the lowest suggestion (at
    /// most [`SHOWN`]), best first.
    pub blocked: Vec<Ranked>,
    pub blocked_count: usize,
}

impl CrewPull {
    /// Whether the technicians counted are a what-if rather than the configured number.
    pub fn is_what_if(&self) -> bool {
        self.technicians != self.technicians_configured
    }

    /// The day's capacity in words: `6 technicians x 8 h - 4 h indirect = 44 h`, and the what-if.
    pub fn capacity_words(&self) -> String {
        let what_if = if !self.is_what_if() {
            String::new()
        } else {
            format!(
                " (what-if; {} configured)",
                number(self.technicians_configured)
            )
        };
        format!(
            "{} technician{}{what_if} x {} h - {} h indirect = {} h",
            number(self.technicians),
            if self.technicians == 1.0 { "" } else { "s" },
            number(self.shift_hours),
            number(self.indirect_hours),
            number(self.capacity_hours)
        )
    }

    /// In progress and what is left: `3 in progress (9.5 h); 34.5 h to pull`.
    pub fn commitment_words(&self) -> String {
        format!(
            "{} in progress ({} h); {} h to pull; WIP limit {}",
            self.in_progress_count,
            number(self.committed_hours),
            number(self.available_hours),
            self.wip_limit
        )
    }

    /// Why the list ends where it does, when ready orders are left over.
    pub fn stop_words(&self) -> Option<String> {
        let wait = |n: usize| {
            format!(
                "{n} more ready order{} wait{}",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" }
            )
        };
        match self.stopped? {
            Stop::WipLimit => Some(format!(
                "WIP limit {} reached (in progress plus pulled): {}.",
                self.wip_limit,
                wait(self.waiting_count)
            )),
            Stop::NoHoursLeft => Some(format!(
                "No hours left today: {}.",
                wait(self.waiting_count)
            )),
        }
    }
}

/// Orders without a configured crew: ranked, not filled against any capacity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Unassigned {
    /// The best [`SHOWN_UNASSIGNED`], emergencies first.
    pub orders: Vec<Ranked>,
    pub total: usize,
}

/// The pull lists of a scope for a day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PullPlan {
    pub date: NaiveDate,
    /// The instant scores and open orders are taken at: now for today, else the start of the day.
    pub at: DateTime<Utc>,
    pub scope: Scope,
    pub crews: Vec<CrewPull>,
    /// Absent for a crew's scope.
    pub unassigned: Option<Unassigned>,
}

/// Best first: score, then emergencies are not special here (callers split them); ties go to
/// the earlier due instant (none last), then the earlier creation, then the smaller id.
fn rank(a: &(Item<'_>, Score), b: &(Item<'_>, Score)) -> Ordering {
    b.1.total
        .total_cmp(&a.1.total)
        .then_with(|| match (a.0.due_ms, b.0.due_ms) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.0.created_ms.cmp(&b.0.created_ms))
        .then_with(|| a.0.id.cmp(b.0.id))
}

fn ranked<'a>(
    items: impl Iterator<Item = &'a Item<'a>>,
    t_ms: i64,
    settings: &PullSettings,
) -> Vec<(Item<'a>, Score)> {
    let mut v: Vec<(Item<'a>, Score)> = items.map(|i| (*i, Score::of(i, t_ms, settings))).collect();
    v.sort_by(rank);
    v
}

fn ranked_row((item, score): &(Item<'_>, Score), t_ms: i64) -> Ranked {
    Ranked {
        order: item.order(t_ms),
        score: r2(score.total),
        reason: score.reason(),
    }
}

/// The pull list of one crew at `t_ms`, from the crew's open orders (`items`, any status).
pub fn plan_crew(
    crew: &Crew,
    technicians: f64,
    items: &[Item<'_>],
    t_ms: i64,
    settings: &PullSettings,
) -> CrewPull {
    let capacity = (technicians * crew.shift_hours - crew.indirect_hours_per_day).max(0.0);
    let in_progress: Vec<&Item<'_>> = items
        .iter()
        .filter(|i| i.status == Status::InProgress)
        .collect();
    let committed: f64 = in_progress.iter().map(|i| i.remaining).sum();
    let load = |hours: f64| (capacity > 0.0).then(|| r1(100.0 * hours / capacity));

    let candidates = ranked(items.iter().filter(|i| i.is_candidate()), t_ms, settings);
    let (emergencies, others): (Vec<&(Item<'_>, Score)>, Vec<_>) = candidates
        .iter()
        .partition(|(i, _)| i.kind == Kind::Emergency);

    let mut left = (capacity - committed).max(0.0);
    let mut wip = in_progress.len();
    let mut cumulative = committed;
    let mut suggestions = Vec::new();
    let mut take = |(item, score): &(Item<'_>, Score), fits: bool, cumulative: &mut f64| {
        *cumulative += item.estimate;
        suggestions.push(Suggestion {
            order: item.order(t_ms),
            score: r2(score.total),
            reason: score.reason(),
            hours: item.estimate,
            cumulative_hours: r2(*cumulative),
            load_pct: load(*cumulative),
            emergency: item.kind == Kind::Emergency,
            fits,
        });
    };
    // Emergencies are always listed, fit or not; they still use hours and a WIP place.
    for e in &emergencies {
        let fits = e.0.estimate <= left + EPS;
        take(e, fits, &mut cumulative);
        left = (left - e.0.estimate).max(0.0);
        wip += 1;
    }
    let (mut too_big, mut too_big_count) = (Vec::new(), 0);
    let (mut stopped, mut waiting_count) = (None, 0);
    let mut lowest_pulled: Option<f64> = None;
    for (n, o) in others.iter().enumerate() {
        let stop = if wip >= crew.wip_limit as usize {
            Some(Stop::WipLimit)
        } else if left <= EPS {
            Some(Stop::NoHoursLeft)
        } else {
            None
        };
        if let Some(stop) = stop {
            stopped = Some(stop);
            waiting_count = others.len() - n;
            break;
        }
        if o.0.estimate <= left + EPS {
            take(o, true, &mut cumulative);
            left = (left - o.0.estimate).max(0.0);
            wip += 1;
            lowest_pulled = Some(o.1.total);
        } else {
            too_big_count += 1;
            if too_big.len() < SHOWN {
                too_big.push(TooBig {
                    order: o.0.order(t_ms),
                    score: r2(o.1.total),
                    reason: o.1.reason(),
                    hours: o.0.estimate,
                    hours_left: r2(left),
                });
            }
        }
    }

    // Blocked work that would have been pulled before the lowest suggestion, were it ready
    // (with no suggestion: before the best ready order; with none either: all of it).
    let threshold = lowest_pulled
        .or(others.first().map(|(_, s)| s.total))
        .unwrap_or(f64::NEG_INFINITY);
    let blocked_all: Vec<_> = ranked(items.iter().filter(|i| i.is_blocked()), t_ms, settings)
        .into_iter()
        .filter(|(_, s)| s.total > threshold)
        .collect();
    let suggested_hours = cumulative - committed;
    CrewPull {
        crew: crew.name.clone(),
        site: crew.site.clone(),
        area: crew.area.clone(),
        technicians,
        technicians_configured: crew.technicians,
        shift_hours: crew.shift_hours,
        indirect_hours: crew.indirect_hours_per_day,
        capacity_hours: r2(capacity),
        in_progress_count: in_progress.len(),
        committed_hours: r2(committed),
        available_hours: r2((capacity - committed).max(0.0)),
        suggested_hours: r2(suggested_hours),
        load_pct: load(cumulative),
        wip_limit: crew.wip_limit,
        suggestions,
        too_big,
        too_big_count,
        stopped,
        waiting_count,
        candidate_count: candidates.len(),
        blocked: blocked_all
            .iter()
            .take(SHOWN)
            .map(|r| ranked_row(r, t_ms))
            .collect(),
        blocked_count: blocked_all.len(),
    }
}

/// The ready orders without a crew, ranked (emergencies first), against no capacity.
pub fn rank_unassigned(items: &[Item<'_>], t_ms: i64, settings: &PullSettings) -> Unassigned {
    let mut all = ranked(items.iter().filter(|i| i.is_candidate()), t_ms, settings);
    // A stable sort keeps the ranking inside each group.
    all.sort_by_key(|(i, _)| i.kind != Kind::Emergency);
    Unassigned {
        orders: all
            .iter()
            .take(SHOWN_UNASSIGNED)
            .map(|r| ranked_row(r, t_ms))
            .collect(),
        total: all.len(),
    }
}

/// What a pull list is asked for.
#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    /// The day; today when `None`.
    pub date: Option<NaiveDate>,
    pub scope: Scope,
    /// What-if: technicians available today, by crew name.
    pub technicians: HashMap<String, f64>,
}

/// The statuses the pull looks at: candidates, in progress, and blocked.
const PULL_STATUSES: [Status; 6] = [
    Status::Requested,
    Status::Approved,
    Status::Ready,
    Status::Scheduled,
    Status::InProgress,
    Status::OnHold,
];

impl Engine {
    /// The pull lists of every crew in `req.scope` (and the unassigned lane for a scope wider
    /// than one crew), for a day.
    pub fn pull(&self, req: &PullRequest) -> Result<PullPlan, MetricsError> {
        self.check_scope(&req.scope)?;
        let cfg = self.config();
        for (name, n) in &req.technicians {
            self.check_scope(&Scope::crew(name))?;
            if !n.is_finite() || *n < 0.0 || *n > MAX_TECHNICIANS {
                return Err(MetricsError::BadTechnicians {
                    crew: name.clone(),
                    value: n.to_string(),
                });
            }
        }
        let today = self.today();
        let date = req.date.unwrap_or(today);
        let at = if date == today {
            Utc::now()
        } else {
            local_to_utc(cfg.plant.tz, date.and_time(NaiveTime::MIN))
        };
        let t = at.timestamp_millis();

        let crews = req.scope.crews(cfg);
        let index: HashMap<&str, usize> = cfg
            .crews
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let status_codes: Vec<i32> = PULL_STATUSES
            .iter()
            .map(|s| code(Status::ALL, *s))
            .collect();
        let open = open_at(t).and(one_of(c::STATUS, Series::new("codes".into(), status_codes)));
        // Crew lanes take a crew's orders wherever they are; the unassigned lane takes orders
        // in scope without a configured crew.
        let crew_names: Vec<String> = crews.iter().map(|c| c.name.clone()).collect();
        let mine = one_of(c::CREW, Series::new("crews".into(), crew_names));
        let lanes = if req.scope.crew.is_some() {
            mine
        } else {
            let all: Vec<String> = cfg.crews.iter().map(|c| c.name.clone()).collect();
            let configured = one_of(c::CREW, Series::new("all".into(), all));
            let unassigned = configured.not().fill_null(lit(true));
            let unassigned = match req.scope.filter() {
                Some(f) => unassigned.and(f.fill_null(lit(false))),
                None => unassigned,
            };
            mine.fill_null(lit(false)).or(unassigned)
        };
        let df = self
            .frame()
            .clone()
            .lazy()
            .filter(open.fill_null(lit(false)).and(lanes))
            .select(
                [
                    c::SOURCE,
                    c::ID,
                    c::TITLE,
                    c::ASSET_ID,
                    c::ASSET_NAME,
                    c::FAILURE_CODE,
                    c::COST,
                    c::SITE,
                    c::AREA,
                    c::CREW,
                    c::ASSIGNEE,
                    c::KIND,
                    c::STATUS,
                    c::PRIORITY,
                    c::CRITICALITY,
                    c::CREATED,
                    c::DUE,
                    c::STARTED,
                    c::UPDATED,
                    c::DONE,
                    c::ESTIMATE,
                    c::REMAINING,
                ]
                .map(col),
            )
            .collect()?;

        let s = |name: &str| -> PolarsResult<&StringChunked> { df.column(name)?.str() };
        let i32s = |name: &str| -> PolarsResult<&Int32Chunked> { df.column(name)?.i32() };
        let i64s = |name: &str| -> PolarsResult<&Int64Chunked> { df.column(name)?.i64() };
        let f64s = |name: &str| -> PolarsResult<&Float64Chunked> { df.column(name)?.f64() };
        let (source, id, title) = (s(c::SOURCE)?, s(c::ID)?, s(c::TITLE)?);
        let (asset_id, asset_name) = (s(c::ASSET_ID)?, s(c::ASSET_NAME)?);
        let (failure_code, cost) = (s(c::FAILURE_CODE)?, f64s(c::COST)?);
        let (site, area, crew, assignee) = (s(c::SITE)?, s(c::AREA)?, s(c::CREW)?, s(c::ASSIGNEE)?);
        let (kind, status, priority, crit) = (
            i32s(c::KIND)?,
            i32s(c::STATUS)?,
            i32s(c::PRIORITY)?,
            i32s(c::CRITICALITY)?,
        );
        let (created, due) = (i64s(c::CREATED)?, i64s(c::DUE)?);
        let (started, updated, done) = (i64s(c::STARTED)?, i64s(c::UPDATED)?, i64s(c::DONE)?);
        let (estimate, remaining) = (f64s(c::ESTIMATE)?, f64s(c::REMAINING)?);

        let mut by_crew: Vec<Vec<Item<'_>>> = vec![Vec::new(); cfg.crews.len()];
        let mut unassigned = Vec::new();
        for i in 0..df.height() {
            let item = Item {
                source: source.get(i).unwrap_or_default(),
                id: id.get(i).unwrap_or_default(),
                title: title.get(i).unwrap_or_default(),
                asset_id: asset_id.get(i),
                asset_name: asset_name.get(i),
                failure_code: failure_code.get(i),
                cost: cost.get(i),
                site: site.get(i),
                area: area.get(i),
                crew: crew.get(i),
                assignee: assignee.get(i),
                kind: Kind::ALL[kind.get(i).unwrap_or(0) as usize],
                status: Status::ALL[status.get(i).unwrap_or(0) as usize],
                priority: priority.get(i).unwrap_or(3) as u8,
                criticality: crit.get(i).map(|v| v as u8),
                created_ms: created.get(i).unwrap_or(0),
                due_ms: due.get(i),
                started_ms: started.get(i),
                updated_ms: updated.get(i),
                done_ms: done.get(i),
                estimate: estimate.get(i).unwrap_or(0.0),
                remaining: remaining.get(i).unwrap_or(0.0),
            };
            match item.crew.and_then(|n| index.get(n)) {
                Some(&k) => by_crew[k].push(item),
                None => unassigned.push(item),
            }
        }
        let lanes = crews
            .iter()
            .map(|crew| {
                let k = index[crew.name.as_str()];
                let technicians = req
                    .technicians
                    .get(&crew.name)
                    .copied()
                    .unwrap_or(crew.technicians);
                plan_crew(crew, technicians, &by_crew[k], t, &cfg.pull)
            })
            .collect();
        Ok(PullPlan {
            date,
            at,
            scope: req.scope.clone(),
            crews: lanes,
            unassigned: req
                .scope
                .crew
                .is_none()
                .then(|| rank_unassigned(&unassigned, t, &cfg.pull)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_000 * DAY_MS;

    fn settings() -> PullSettings {
        PullSettings::default()
    }

    fn crew(technicians: f64, shift: f64, indirect: f64, wip: u32) -> Crew {
        Crew {
            name: "Mech".into(),
            site: None,
            area: None,
            technicians,
            hours_per_week: 40.0,
            indirect_hours_per_week: 0.0,
            shift_hours: shift,
            indirect_hours_per_day: indirect,
            wip_limit: wip,
            members: Vec::new(),
        }
    }

    /// A ready P3 order with unknown criticality, created at T, due later: score 6 x 5 = 30.
    fn item(id: &'static str, estimate: f64) -> Item<'static> {
        Item {
            source: "test",
            id,
            title: id,
            asset_id: None,
            asset_name: None,
            failure_code: None,
            cost: None,
            site: None,
            area: None,
            crew: Some("Mech"),
            assignee: None,
            kind: Kind::Corrective,
            status: Status::Ready,
            priority: 3,
            criticality: None,
            created_ms: T,
            due_ms: None,
            started_ms: None,
            updated_ms: None,
            done_ms: None,
            estimate,
            remaining: estimate,
        }
    }

    fn ids(p: &CrewPull) -> Vec<&str> {
        p.suggestions.iter().map(|s| s.order.id.as_str()).collect()
    }

    #[test]
    fn score_arithmetic_matches_hand_computed_values() {
        // P2 (weight 8) x criticality 9 = 72; created 14 days ago: 5 x 14 / 7 = 10; due 3 days
        // and 5 hours ago: overdue 3 d, +10. Total 92.
        let o = Item {
            priority: 2,
            criticality: Some(9),
            created_ms: T - 14 * DAY_MS - 1,
            due_ms: Some(T - 3 * DAY_MS - 5 * 3_600_000),
            ..item("A", 2.0)
        };
        let s = Score::of(&o, T, &settings());
        assert_eq!(s.total, 92.0);
        assert_eq!(
            s.reason(),
            "P2 x criticality 9 = 72; +10 aged 14 d; +10 overdue 3 d"
        );

        // P5 (weight 2) x default criticality 5 = 10; 10 days: 50 / 7 = 7.142857...; not due.
        let o = Item {
            priority: 5,
            created_ms: T - 10 * DAY_MS,
            due_ms: Some(T + DAY_MS),
            ..item("B", 2.0)
        };
        let s = Score::of(&o, T, &settings());
        assert!((s.total - (10.0 + 50.0 / 7.0)).abs() < 1e-12);
        assert_eq!(
            s.reason(),
            "P5 x criticality 5 (default: asset criticality unknown) = 10; +7.1 aged 10 d"
        );

        // Configured weights and bonus; due an hour ago is overdue by less than a day.
        let custom = PullSettings {
            priority_weights: [100.0, 50.0, 25.0, 10.0, 1.0],
            default_criticality: 3,
            overdue_bonus: 40.0,
        };
        let o = Item {
            priority: 1,
            due_ms: Some(T - 3_600_000),
            ..item("C", 2.0)
        };
        let s = Score::of(&o, T, &custom);
        assert_eq!(s.total, 340.0);
        assert_eq!(
            s.reason(),
            "P1 x criticality 3 (default: asset criticality unknown) = 300; +40 overdue <1 d"
        );
    }

    #[test]
    fn first_fit_skips_an_order_too_big_for_what_is_left_and_takes_a_smaller_one() {
        // 2 x 8 - 4 = 12 h. A (score 80) 6 h, B (70) 8 h, C (60) 5 h, D (50) 1 h.
        let with = |id, estimate, crit| Item {
            criticality: Some(crit),
            priority: 2,
            ..item(id, estimate)
        };
        let items = [
            with("A", 6.0, 10),
            with("B", 8.0, 9),
            with("C", 5.0, 8),
            with("D", 1.0, 7),
        ];
        let p = plan_crew(&crew(2.0, 8.0, 4.0, 10), 2.0, &items, T, &settings());
        assert_eq!(p.capacity_hours, 12.0);
        assert_eq!(ids(&p), ["A", "C", "D"]);
        assert_eq!(p.too_big_count, 1);
        assert_eq!(p.too_big[0].order.id, "B");
        assert_eq!(p.too_big[0].hours_left, 6.0);
        let cum: Vec<f64> = p.suggestions.iter().map(|s| s.cumulative_hours).collect();
        assert_eq!(cum, [6.0, 11.0, 12.0]);
        assert_eq!(p.suggestions[1].load_pct, Some(91.7), "11 of 12 h");
        assert_eq!(p.suggested_hours, 12.0);
        assert_eq!(p.load_pct, Some(100.0));
        assert_eq!(p.stopped, None);
    }

    #[test]
    fn the_wip_limit_stops_the_walk() {
        // WIP 3 with one order in progress: two pulls, then the rest wait.
        let in_progress = Item {
            status: Status::InProgress,
            remaining: 1.0,
            ..item("IP", 4.0)
        };
        let items = [
            in_progress,
            item("A", 1.0),
            item("B", 1.0),
            item("C", 1.0),
            item("D", 1.0),
        ];
        let p = plan_crew(&crew(4.0, 8.0, 0.0, 3), 4.0, &items, T, &settings());
        assert_eq!(ids(&p), ["A", "B"]);
        assert_eq!(p.stopped, Some(Stop::WipLimit));
        assert_eq!(p.waiting_count, 2);
        assert_eq!(p.candidate_count, 4);
    }

    #[test]
    fn emergencies_are_listed_first_even_when_they_do_not_fit() {
        let big_emergency = Item {
            kind: Kind::Emergency,
            priority: 5,
            ..item("E", 20.0)
        };
        let urgent = Item {
            priority: 1,
            criticality: Some(10),
            ..item("P1", 1.0)
        };
        let items = [urgent, big_emergency];
        let p = plan_crew(&crew(1.0, 8.0, 0.0, 5), 1.0, &items, T, &settings());
        assert_eq!(ids(&p), ["E"]);
        assert!(p.suggestions[0].emergency);
        assert!(!p.suggestions[0].fits);
        assert_eq!(p.suggestions[0].load_pct, Some(250.0));
        // The emergency took the day: the P1 order waits for hours.
        assert_eq!(p.stopped, Some(Stop::NoHoursLeft));
        assert_eq!(p.waiting_count, 1);
        // Emergencies are listed even past the WIP limit.
        let p = plan_crew(&crew(1.0, 8.0, 0.0, 0), 1.0, &items, T, &settings());
        assert_eq!(ids(&p), ["E"]);
        assert_eq!(p.stopped, Some(Stop::WipLimit));
    }

    #[test]
    fn on_hold_and_requested_are_never_suggested_but_shown_when_they_outrank() {
        let held = Item {
            status: Status::OnHold,
            priority: 1,
            criticality: Some(10),
            ..item("HELD", 1.0)
        };
        let requested = Item {
            status: Status::Requested,
            priority: 1,
            ..item("REQ", 1.0)
        };
        let low_request = Item {
            status: Status::Requested,
            priority: 5,
            criticality: Some(1),
            ..item("LOW", 1.0)
        };
        let items = [held, requested, low_request, item("A", 1.0)];
        let p = plan_crew(&crew(2.0, 8.0, 0.0, 5), 2.0, &items, T, &settings());
        assert_eq!(ids(&p), ["A"]);
        assert_eq!(p.candidate_count, 1);
        // HELD (100) and REQ (50) outrank A (30); LOW (2) does not.
        let blocked: Vec<&str> = p.blocked.iter().map(|b| b.order.id.as_str()).collect();
        assert_eq!(blocked, ["HELD", "REQ"]);
        assert_eq!(p.blocked_count, 2);
    }

    #[test]
    fn orders_in_progress_reduce_capacity_by_their_remaining_estimate() {
        // 2 x 8 - 2 = 14 h; in progress: 10 h estimated, 4 h booked: 6 h committed; 8 h left.
        let ip = Item {
            status: Status::InProgress,
            remaining: 6.0,
            ..item("IP", 10.0)
        };
        let items = [ip, item("A", 9.0), item("B", 8.0)];
        let p = plan_crew(&crew(2.0, 8.0, 2.0, 10), 2.0, &items, T, &settings());
        assert_eq!(p.committed_hours, 6.0);
        assert_eq!(p.available_hours, 8.0);
        assert_eq!(p.in_progress_count, 1);
        assert_eq!(ids(&p), ["B"]);
        assert_eq!(p.suggestions[0].cumulative_hours, 14.0);
        assert_eq!(p.too_big[0].order.id, "A");
    }

    #[test]
    fn ties_go_to_the_earlier_due_then_the_earlier_created_then_the_id() {
        let due = |id, d: Option<i64>, created: i64| Item {
            due_ms: d,
            created_ms: created,
            ..item(id, 1.0)
        };
        // Equal scores: created on the same day (age 0), none overdue.
        let items = [
            due("Z-no-due", None, T - 1000),
            due("B", Some(T + 2 * DAY_MS), T - 1000),
            due("C", Some(T + DAY_MS), T - 500),
            due("A", Some(T + DAY_MS), T - 500),
            due("D", Some(T + DAY_MS), T - 900),
        ];
        let p = plan_crew(&crew(4.0, 8.0, 0.0, 10), 4.0, &items, T, &settings());
        assert_eq!(ids(&p), ["D", "A", "C", "B", "Z-no-due"]);
    }

    #[test]
    fn a_crew_with_zero_capacity_pulls_nothing_but_its_emergencies() {
        let e = Item {
            kind: Kind::Emergency,
            ..item("E", 2.0)
        };
        let items = [item("A", 1.0), e];
        let p = plan_crew(&crew(0.0, 8.0, 2.0, 5), 0.0, &items, T, &settings());
        assert_eq!(p.capacity_hours, 0.0);
        assert_eq!(ids(&p), ["E"]);
        assert_eq!(p.load_pct, None);
        assert_eq!(p.suggestions[0].load_pct, None);
        assert_eq!(p.stopped, Some(Stop::NoHoursLeft));
        assert_eq!(p.waiting_count, 1);
    }

    #[test]
    fn the_unassigned_lane_is_ranked_with_emergencies_first_and_no_capacity() {
        let mut items: Vec<Item<'static>> = (0..15)
            .map(|n| Item {
                crew: None,
                created_ms: T - n * DAY_MS,
                ..item(
                    [
                        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
                    ][n as usize],
                    100.0,
                )
            })
            .collect();
        items.push(Item {
            kind: Kind::Emergency,
            priority: 5,
            crew: None,
            ..item("E", 1.0)
        });
        let u = rank_unassigned(&items, T, &settings());
        assert_eq!(u.total, 16);
        assert_eq!(u.orders.len(), SHOWN_UNASSIGNED);
        let ids: Vec<&str> = u.orders.iter().map(|r| r.order.id.as_str()).collect();
        assert_eq!(ids[..3], ["E", "o", "n"]);
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(number(72.0), "72");
        assert_eq!(number(7.142857), "7.1");
        assert_eq!(number(9.97), "10");
    }
}
