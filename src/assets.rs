//! Asset health and bad actors (docs/assets.md, and docs/metrics.md "Assets"): the numbers of each
//! asset seen in the orders over a window (breakdowns, reactive hours, downtime, cost, MTBF,
//! MTTR, open emergencies, overdue PMs, PM compliance, the last PM), the health rule that colours
//! its tile with the reason in words, and the Pareto of bad actors by asset or failure code.
//!
//! Plain functions of plain rows: `crate::metrics` lends each order of a scope as an
//! [`OrderFacts`] and [`Tally`] folds them, so the rules here are tested on hand-built orders.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Rag;
use crate::model::{Class, Kind};

const DAY_MS: i64 = 86_400_000;

/// Breakdowns in the last this many days are what the health rule judges.
pub const RECENT_DAYS: i64 = 30;
/// At least this many breakdowns in [`RECENT_DAYS`] are repeat failures.
pub const REPEAT_FAILURES: u32 = 3;
/// The usual rate of breakdowns is taken over this many days before the recent ones.
pub const USUAL_DAYS: i64 = 335;

/// One counted order (not cancelled, not completed without a date) as the asset rules read it.
/// Instants are UTC milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub asset_id: Option<&'a str>,
    pub asset_name: Option<&'a str>,
    pub criticality: Option<u8>,
    pub site: Option<&'a str>,
    pub area: Option<&'a str>,
    pub crew: Option<&'a str>,
    pub failure_code: Option<&'a str>,
    pub kind: Kind,
    pub created: i64,
    /// Effective completion (docs/metrics.md "Which orders count").
    pub done: Option<i64>,
    pub due: Option<i64>,
    /// Effective hours.
    pub hours: f64,
    pub downtime: Option<f64>,
    /// Repair time of a reactive order (as MTTR reads it).
    pub repair: Option<f64>,
    pub cost: Option<f64>,
    /// `due_at` plus the PM grace, for PM orders.
    pub pm_deadline: Option<i64>,
}

/// What a bad-actor chart ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    ReactiveHours,
    DowntimeHours,
    ReactiveCount,
    Cost,
}

impl Measure {
    pub const ALL: [Measure; 4] = [
        Measure::ReactiveHours,
        Measure::DowntimeHours,
        Measure::ReactiveCount,
        Measure::Cost,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Measure::ReactiveHours => "reactive_hours",
            Measure::DowntimeHours => "downtime_hours",
            Measure::ReactiveCount => "reactive_count",
            Measure::Cost => "cost",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Measure::ReactiveHours => "reactive hours",
            Measure::DowntimeHours => "downtime hours",
            Measure::ReactiveCount => "breakdowns",
            Measure::Cost => "cost",
        }
    }

    /// The unit a value of it is shown in (cost in the plant's currency, left unsaid).
    pub fn unit(self) -> &'static str {
        match self {
            Measure::ReactiveHours | Measure::DowntimeHours => "h",
            Measure::ReactiveCount | Measure::Cost => "",
        }
    }

    pub fn parse(s: &str) -> Result<Measure, String> {
        Measure::ALL
            .into_iter()
            .find(|m| m.key() == s.trim())
            .ok_or_else(|| {
                let keys: Vec<&str> = Measure::ALL.iter().map(|m| m.key()).collect();
                format!("`{s}` is not a measure (one of: {})", keys.join(", "))
            })
    }

    pub fn of(self, s: &Sums) -> f64 {
        match self {
            Measure::ReactiveHours => s.reactive_hours,
            Measure::DowntimeHours => s.downtime_hours,
            Measure::ReactiveCount => f64::from(s.reactive_count),
            Measure::Cost => s.cost,
        }
    }
}

/// The four sums a Pareto ranks by, over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sums {
    /// Reactive orders (emergency, corrective) created in the window: the breakdowns.
    pub reactive_count: u32,
    /// Effective hours of reactive orders completed in the window.
    pub reactive_hours: f64,
    /// `downtime_hours` of orders completed in the window.
    pub downtime_hours: f64,
    /// `cost` of orders completed in the window.
    pub cost: f64,
}

impl Sums {
    fn add(&mut self, o: &OrderFacts<'_>, w: &Window) {
        let reactive = o.kind.class() == Class::Reactive;
        if reactive && w.holds(o.created) {
            self.reactive_count += 1;
        }
        if o.done.is_some_and(|d| w.holds(d)) {
            if reactive {
                self.reactive_hours += o.hours;
            }
            self.downtime_hours += o.downtime.unwrap_or(0.0);
            self.cost += o.cost.unwrap_or(0.0);
        }
    }
}

/// `[from, to)` in UTC milliseconds: the window ending at the as-of instant `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

impl Window {
    pub fn ending(t: i64, days: u32) -> Window {
        Window {
            from: t - i64::from(days) * DAY_MS,
            to: t,
        }
    }

    pub fn holds(&self, t: i64) -> bool {
        self.from <= t && t < self.to
    }

    fn days(&self) -> f64 {
        (self.to - self.from) as f64 / DAY_MS as f64
    }
}

/// How an asset is doing, with the reasons in words (the health rule of docs/assets.md).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = AssetHealth)]
pub struct Health {
    /// `green`, `amber` or `red`.
    pub level: &'static str,
    pub reasons: Vec<String>,
}

impl Health {
    pub fn rag(&self) -> Rag {
        match self.level {
            "red" => Rag::Red,
            "amber" => Rag::Amber,
            _ => Rag::Green,
        }
    }
}

/// An asset's numbers over a window, as of its end (docs/metrics.md "Assets").
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetStats {
    pub asset_id: String,
    /// The name on its newest order.
    pub name: Option<String>,
    /// The criticality on its newest order that has one (1 to 10).
    pub criticality: Option<u8>,
    /// Site, area and crew of its newest order.
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    /// Every crew its orders name.
    pub crews: Vec<String>,
    /// Orders in scope created before the as-of instant.
    pub orders: u32,
    #[serde(flatten)]
    pub sums: Sums,
    /// Window hours less downtime in the window: the time it could run.
    pub operating_hours: f64,
    /// `operating_hours / reactive_count`; `null` with no breakdown in the window.
    pub mtbf_hours: Option<f64>,
    /// Mean days between consecutive breakdowns in the window; `null` with fewer than two.
    pub mean_gap_days: Option<f64>,
    /// Mean repair time of reactive orders completed in the window; `null` when none has one.
    pub mttr_hours: Option<f64>,
    pub open_orders: u32,
    pub open_emergencies: u32,
    /// Open PM orders past their due date.
    pub overdue_pms: u32,
    pub pm_compliance_pct: Option<f64>,
    /// The newest completion of a PM order before the as-of instant.
    pub last_pm_done: Option<DateTime<Utc>>,
    /// Breakdowns created in the last 30 days before the as-of instant.
    pub breakdowns_30d: u32,
    /// Breakdowns a 30-day span usually has: those of the 335 days before the last 30, per 30
    /// days (over the part of that span since the asset's first order); `null` with less than
    /// 30 days of it.
    pub usual_30d: Option<f64>,
    pub health: Health,
}

impl AssetStats {
    /// The value of an asset metric key (`ASSET_METRICS`).
    pub fn get(&self, key: &str) -> Option<f64> {
        match key {
            "reactive_count" => Some(f64::from(self.sums.reactive_count)),
            "reactive_hours" => Some(self.sums.reactive_hours),
            "downtime_hours" => Some(self.sums.downtime_hours),
            "cost" => Some(self.sums.cost),
            "mtbf_hours" => self.mtbf_hours,
            "mttr_hours" => self.mttr_hours,
            "pm_compliance_pct" => self.pm_compliance_pct,
            "open_emergencies" => Some(f64::from(self.open_emergencies)),
            "overdue_pms" => Some(f64::from(self.overdue_pms)),
            _ => None,
        }
    }

    /// The display name: its name, else its id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.asset_id)
    }
}

/// The keys of the asset metrics (docs/metrics.md "Assets"), with their label and unit.
pub const ASSET_METRICS: &[(&str, &str, &str)] = &[
    ("reactive_count", "Breakdowns", ""),
    ("reactive_hours", "Reactive hours", "h"),
    ("downtime_hours", "Downtime", "h"),
    ("cost", "Cost", ""),
    ("mtbf_hours", "MTBF", "h"),
    ("mttr_hours", "MTTR", "h"),
    ("pm_compliance_pct", "PM compliance", "%"),
    ("open_emergencies", "Open emergencies", ""),
    ("overdue_pms", "Overdue PMs", ""),
];

/// Whether more of an asset metric is better (MTBF, PM compliance) or worse.
pub fn higher_is_better(key: &str) -> bool {
    matches!(key, "mtbf_hours" | "pm_compliance_pct")
}

/// Site, area and crew of an order.
type Place = (Option<String>, Option<String>, Option<String>);

#[derive(Debug, Default)]
struct Acc {
    name: Option<(i64, String)>,
    criticality: Option<(i64, u8)>,
    newest: Option<(i64, Place)>,
    first_created: i64,
    crews: BTreeSet<String>,
    orders: u32,
    sums: Sums,
    breakdowns: Vec<i64>,
    repairs: (f64, u32),
    open: u32,
    open_emergencies: u32,
    overdue_pms: u32,
    pm_due: u32,
    pm_on_time: u32,
    last_pm: Option<i64>,
    recent: u32,
    before_recent: u32,
}

/// Folds the orders of a scope into each asset's numbers, the sums by failure code, and what
/// the orders without an asset or a code carry (which no bar shows).
#[derive(Debug)]
pub struct Tally {
    window: Window,
    assets: HashMap<String, Acc>,
    codes: BTreeMap<String, Sums>,
    no_asset: Sums,
    no_code: Sums,
}

/// Everything the asset pages show of one scope and window.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Assets {
    /// Each asset with an order in scope before the as-of instant, by id.
    pub assets: Vec<AssetStats>,
    /// Sums of the orders with each failure code, by code.
    pub codes: Vec<(String, Sums)>,
    /// Sums of the orders that name no asset: in no asset's bar.
    pub no_asset: Sums,
    /// Sums of the orders that carry no failure code: in no code's bar.
    pub no_code: Sums,
}

impl Assets {
    /// The failure codes of the breakdowns in the window with their count, most first (ties
    /// by code).
    pub fn breakdown_codes(&self) -> Vec<(String, u32)> {
        let mut codes: Vec<(String, u32)> = self
            .codes
            .iter()
            .filter(|(_, s)| s.reactive_count > 0)
            .map(|(c, s)| (c.clone(), s.reactive_count))
            .collect();
        codes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        codes
    }
}

impl Tally {
    /// A tally of the window of `window_days` days ending at the as-of instant `t`.
    pub fn new(t: i64, window_days: u32) -> Tally {
        Tally {
            window: Window::ending(t, window_days),
            assets: HashMap::new(),
            codes: BTreeMap::new(),
            no_asset: Sums::default(),
            no_code: Sums::default(),
        }
    }

    pub fn add(&mut self, o: &OrderFacts<'_>) {
        let w = self.window;
        let t = w.to;
        if o.created >= t {
            return;
        }
        // Text is copied only when an asset, code, name or place is met for the first time: a
        // million orders name a few hundred assets.
        match o.failure_code {
            Some(code) => match self.codes.get_mut(code) {
                Some(sums) => sums.add(o, &w),
                None => self.codes.entry(code.to_string()).or_default().add(o, &w),
            },
            None => self.no_code.add(o, &w),
        }
        let Some(id) = o.asset_id else {
            self.no_asset.add(o, &w);
            return;
        };
        if !self.assets.contains_key(id) {
            self.assets.insert(
                id.to_string(),
                Acc {
                    first_created: o.created,
                    ..Acc::default()
                },
            );
        }
        let a = self.assets.get_mut(id).expect("inserted above");
        a.orders += 1;
        a.first_created = a.first_created.min(o.created);
        a.sums.add(o, &w);
        if let Some(n) = o.asset_name {
            match &mut a.name {
                Some((at, name)) if o.created >= *at => {
                    *at = o.created;
                    if name != n {
                        *name = n.to_string();
                    }
                }
                Some(_) => {}
                None => a.name = Some((o.created, n.to_string())),
            }
        }
        if let Some(c) = o.criticality
            && a.criticality.is_none_or(|(at, _)| o.created >= at)
        {
            a.criticality = Some((o.created, c));
        }
        if a.newest.as_ref().is_none_or(|(at, ..)| o.created >= *at) {
            let same = |have: &Option<String>, v: Option<&str>| have.as_deref() == v;
            match &mut a.newest {
                Some((at, (s, ar, c)))
                    if same(s, o.site) && same(ar, o.area) && same(c, o.crew) =>
                {
                    *at = o.created;
                }
                _ => {
                    let own = |v: Option<&str>| v.map(str::to_string);
                    a.newest = Some((o.created, (own(o.site), own(o.area), own(o.crew))));
                }
            }
        }
        if let Some(c) = o.crew
            && !a.crews.contains(c)
        {
            a.crews.insert(c.to_string());
        }
        let reactive = o.kind.class() == Class::Reactive;
        if reactive {
            if w.holds(o.created) {
                a.breakdowns.push(o.created);
            }
            if o.created >= t - RECENT_DAYS * DAY_MS {
                a.recent += 1;
            } else if o.created >= t - (RECENT_DAYS + USUAL_DAYS) * DAY_MS {
                a.before_recent += 1;
            }
            if let (Some(d), Some(r)) = (o.done, o.repair)
                && w.holds(d)
            {
                a.repairs.0 += r;
                a.repairs.1 += 1;
            }
        }
        let open = o.done.is_none_or(|d| d >= t);
        if open {
            a.open += 1;
            a.open_emergencies += u32::from(o.kind == Kind::Emergency);
            a.overdue_pms += u32::from(o.kind.is_pm() && o.due.is_some_and(|d| d < t));
        }
        if let Some(deadline) = o.pm_deadline
            && w.holds(deadline)
        {
            a.pm_due += 1;
            a.pm_on_time += u32::from(o.done.is_some_and(|d| d <= deadline));
        }
        if o.kind.is_pm()
            && let Some(d) = o.done
            && d < t
        {
            a.last_pm = Some(a.last_pm.map_or(d, |l| l.max(d)));
        }
    }

    /// The assets by id, and the sums by code.
    pub fn finish(self) -> Assets {
        let w = self.window;
        let mut assets: Vec<AssetStats> = self
            .assets
            .into_iter()
            .map(|(id, a)| stats_of(id, a, &w))
            .collect();
        assets.sort_by(|a, b| a.asset_id.cmp(&b.asset_id));
        Assets {
            assets,
            codes: self.codes.into_iter().collect(),
            no_asset: self.no_asset,
            no_code: self.no_code,
        }
    }
}

fn stats_of(asset_id: String, mut a: Acc, w: &Window) -> AssetStats {
    let t = w.to;
    let operating_hours = (w.days() * 24.0 - a.sums.downtime_hours).max(0.0);
    let n = a.sums.reactive_count;
    a.breakdowns.sort_unstable();
    let mean_gap_days = (a.breakdowns.len() >= 2).then(|| {
        let span = a.breakdowns[a.breakdowns.len() - 1] - a.breakdowns[0];
        span as f64 / DAY_MS as f64 / (a.breakdowns.len() - 1) as f64
    });
    // The usual rate: over the span before the recent days that the asset's history covers.
    let usual_from = (t - (RECENT_DAYS + USUAL_DAYS) * DAY_MS).max(a.first_created);
    let usual_span = (t - RECENT_DAYS * DAY_MS - usual_from) as f64 / DAY_MS as f64;
    let usual_30d = (usual_span >= RECENT_DAYS as f64)
        .then(|| f64::from(a.before_recent) * RECENT_DAYS as f64 / usual_span);
    let (site, area, crew) = a.newest.map(|(_, p)| p).unwrap_or_default();
    let mut s = AssetStats {
        asset_id,
        name: a.name.map(|(_, n)| n),
        criticality: a.criticality.map(|(_, c)| c),
        site,
        area,
        crew,
        crews: a.crews.into_iter().collect(),
        orders: a.orders,
        sums: a.sums,
        operating_hours,
        mtbf_hours: (n > 0).then(|| operating_hours / f64::from(n)),
        mean_gap_days,
        mttr_hours: (a.repairs.1 > 0).then(|| a.repairs.0 / f64::from(a.repairs.1)),
        open_orders: a.open,
        open_emergencies: a.open_emergencies,
        overdue_pms: a.overdue_pms,
        pm_compliance_pct: (a.pm_due > 0)
            .then(|| f64::from(a.pm_on_time) / f64::from(a.pm_due) * 100.0),
        last_pm_done: a.last_pm.and_then(DateTime::from_timestamp_millis),
        breakdowns_30d: a.recent,
        usual_30d,
        health: Health {
            level: "green",
            reasons: Vec::new(),
        },
    };
    s.health = health(&s);
    s
}

/// The health rule (docs/assets.md): red for an open emergency or repeat failures (three or
/// more breakdowns in 30 days); amber for an overdue PM, or for at least two breakdowns in 30
/// days above the asset's usual rate; else green. Every reason that applies is named.
pub fn health(s: &AssetStats) -> Health {
    let mut red = Vec::new();
    let mut amber = Vec::new();
    let plural = |n: u32, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    if s.open_emergencies > 0 {
        red.push(format!(
            "{} open",
            plural(s.open_emergencies, "emergency", "emergencies")
        ));
    }
    let recent = s.breakdowns_30d;
    if recent >= REPEAT_FAILURES {
        red.push(format!(
            "repeat failures: {} in 30 days",
            plural(recent, "breakdown", "breakdowns")
        ));
    } else if recent >= 2
        && let Some(u) = s.usual_30d
        && f64::from(recent) > u
    {
        amber.push(format!(
            "{} in 30 days, usually {u:.1}",
            plural(recent, "breakdown", "breakdowns")
        ));
    }
    if s.overdue_pms > 0 {
        amber.push(format!("{} overdue", plural(s.overdue_pms, "PM", "PMs")));
    }
    let level = if !red.is_empty() {
        "red"
    } else if !amber.is_empty() {
        "amber"
    } else {
        "green"
    };
    let mut reasons = red;
    reasons.extend(amber);
    if reasons.is_empty() {
        reasons.push("no open emergency, PMs on time, breakdowns at the usual rate".into());
    }
    Health { level, reasons }
}

/// One bar of a Pareto chart.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bar {
    /// The asset id or failure code.
    pub key: String,
    pub label: String,
    pub value: f64,
    /// The bar's share of the total, in percent.
    pub pct: f64,
    /// The share of this bar and every bar before it, in percent.
    pub cumulative_pct: f64,
    /// Among the few bars that make up 80 % of the total: the cumulative share before it was
    /// below 80 %.
    pub vital_few: bool,
}

/// The share of the total the vital few make up.
pub const CUT_PCT: f64 = 80.0;

/// The Pareto of `items` (key, label, value): largest value first (ties by key), bars of no
/// value left out, each with its cumulative share and whether it is within the 80 % cut.
pub fn pareto(items: Vec<(String, String, f64)>) -> Vec<Bar> {
    let mut items: Vec<_> = items.into_iter().filter(|i| i.2 > 0.0).collect();
    items.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let total: f64 = items.iter().map(|i| i.2).sum();
    let mut running = 0.0;
    items
        .into_iter()
        .map(|(key, label, value)| {
            let before = running / total * 100.0;
            running += value;
            Bar {
                key,
                label,
                value,
                pct: value / total * 100.0,
                cumulative_pct: running / total * 100.0,
                vital_few: before < CUT_PCT,
            }
        })
        .collect()
}

/// The Pareto of the assets by `m`.
pub fn pareto_of_assets(a: &Assets, m: Measure) -> Vec<Bar> {
    pareto(
        a.assets
            .iter()
            .map(|s| {
                let label = match &s.name {
                    Some(n) => format!("{n} ({})", s.asset_id),
                    None => s.asset_id.clone(),
                };
                (s.asset_id.clone(), label, m.of(&s.sums))
            })
            .collect(),
    )
}

/// The Pareto of the failure codes by `m`.
pub fn pareto_of_codes(a: &Assets, m: Measure) -> Vec<Bar> {
    pareto(
        a.codes
            .iter()
            .map(|(c, s)| (c.clone(), c.clone(), m.of(s)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_000 * DAY_MS;

    fn order(asset: Option<&'static str>, kind: Kind, created_day: f64) -> OrderFacts<'static> {
        OrderFacts {
            asset_id: asset,
            asset_name: asset.map(|_| "Pump"),
            criticality: Some(7),
            site: None,
            area: Some("Processing"),
            crew: Some("Mechanical"),
            failure_code: None,
            kind,
            created: T + (created_day * DAY_MS as f64) as i64,
            done: None,
            due: None,
            hours: 2.0,
            downtime: None,
            repair: None,
            cost: None,
            pm_deadline: None,
        }
    }

    fn done(mut o: OrderFacts<'static>, day: f64) -> OrderFacts<'static> {
        o.done = Some(T + (day * DAY_MS as f64) as i64);
        o
    }

    fn tally(orders: &[OrderFacts<'_>]) -> Assets {
        let mut t = Tally::new(T, 28);
        for o in orders {
            t.add(o);
        }
        t.finish()
    }

    #[test]
    fn mtbf_is_operating_time_over_breakdowns_and_the_gap_is_between_them() {
        let mut a = done(order(Some("P1"), Kind::Emergency, -20.0), -19.0);
        a.downtime = Some(12.0);
        a.repair = Some(12.0);
        let mut b = done(order(Some("P1"), Kind::Corrective, -10.0), -9.0);
        b.repair = Some(4.0);
        let c = order(Some("P1"), Kind::Corrective, -4.0);
        let s = &tally(&[a, b, c]).assets[0];
        assert_eq!(s.sums.reactive_count, 3);
        assert_eq!(s.operating_hours, 28.0 * 24.0 - 12.0);
        assert_eq!(s.mtbf_hours, Some((28.0 * 24.0 - 12.0) / 3.0));
        assert_eq!(s.mean_gap_days, Some(8.0));
        assert_eq!(s.mttr_hours, Some(8.0));
        assert_eq!(s.health.level, "red");
        assert!(s.health.reasons[0].starts_with("repeat failures: 3 breakdowns"));
    }

    #[test]
    fn one_or_no_breakdown_has_no_gap_and_none_has_no_mtbf() {
        let one = tally(&[order(Some("P1"), Kind::Corrective, -3.0)]);
        assert_eq!(one.assets[0].mean_gap_days, None);
        assert_eq!(one.assets[0].mtbf_hours, Some(28.0 * 24.0));
        let none = tally(&[order(Some("P1"), Kind::Preventive, -3.0)]);
        assert_eq!(none.assets[0].mtbf_hours, None);
        assert_eq!(none.assets[0].health.level, "green");
    }

    #[test]
    fn the_window_edges_and_later_orders() {
        // Created exactly at the window's start counts; at T it is after the as-of instant.
        let at_start = order(Some("P1"), Kind::Corrective, -28.0);
        let before = order(Some("P1"), Kind::Corrective, -28.001);
        let at_t = order(Some("P1"), Kind::Corrective, 0.0);
        let a = tally(&[at_start, before, at_t]);
        assert_eq!(a.assets[0].sums.reactive_count, 1);
        assert_eq!(a.assets[0].orders, 2);
    }

    #[test]
    fn orders_with_no_asset_or_code_are_carried_apart() {
        let mut x = done(order(None, Kind::Corrective, -5.0), -4.0);
        x.cost = Some(100.0);
        let mut y = done(order(Some("P1"), Kind::Corrective, -5.0), -4.0);
        y.failure_code = Some("BRG");
        let a = tally(&[x, y]);
        assert_eq!(a.assets.len(), 1);
        assert_eq!(a.no_asset.cost, 100.0);
        assert_eq!(a.no_asset.reactive_count, 1);
        assert_eq!(a.codes, vec![("BRG".to_string(), a.assets[0].sums)]);
        assert_eq!(a.breakdown_codes(), [("BRG".to_string(), 1)]);
        assert_eq!(a.no_code.reactive_hours, 2.0);
    }

    #[test]
    fn open_emergencies_overdue_pms_and_pm_compliance() {
        let e = order(Some("P1"), Kind::Emergency, -1.0);
        let mut pm = order(Some("P1"), Kind::Preventive, -20.0);
        pm.due = Some(T - 10 * DAY_MS);
        pm.pm_deadline = pm.due;
        let mut pm_done = done(order(Some("P1"), Kind::Preventive, -20.0), -12.0);
        pm_done.due = Some(T - 11 * DAY_MS);
        pm_done.pm_deadline = pm_done.due;
        let s = &tally(&[e, pm, pm_done]).assets[0];
        assert_eq!(
            (s.open_emergencies, s.overdue_pms, s.open_orders),
            (1, 1, 2)
        );
        assert_eq!(s.pm_compliance_pct, Some(50.0));
        assert_eq!(
            s.last_pm_done.map(|d| d.timestamp_millis()),
            Some(T - 12 * DAY_MS)
        );
        assert_eq!(s.health.level, "red");
        assert_eq!(s.health.reasons, vec!["1 emergency open", "1 PM overdue"]);
    }

    #[test]
    fn breakdowns_above_the_usual_rate_are_amber() {
        // One breakdown in the 335 days before: usually 30/335 a month. Two now are above it.
        let mut orders = vec![
            order(Some("P1"), Kind::Corrective, -300.0),
            order(Some("P1"), Kind::Preventive, -400.0),
        ];
        orders.push(done(order(Some("P1"), Kind::Corrective, -20.0), -19.0));
        orders.push(done(order(Some("P1"), Kind::Corrective, -2.0), -1.0));
        let s = &tally(&orders).assets[0];
        assert_eq!(s.usual_30d, Some(30.0 / 335.0));
        assert_eq!(s.health.level, "amber");
        assert_eq!(
            s.health.reasons,
            vec!["2 breakdowns in 30 days, usually 0.1"]
        );
        // A new asset has no usual rate yet: two breakdowns are not judged against it.
        let new = tally(&[
            order(Some("P2"), Kind::Corrective, -20.0),
            order(Some("P2"), Kind::Corrective, -2.0),
        ]);
        assert_eq!(new.assets[0].usual_30d, None);
        assert_eq!(new.assets[0].health.level, "green");
    }

    #[test]
    fn the_pareto_orders_accumulates_and_cuts_at_80() {
        let bars = pareto(vec![
            ("c".into(), "C".into(), 10.0),
            ("a".into(), "A".into(), 50.0),
            ("z".into(), "Z".into(), 0.0),
            ("b".into(), "B".into(), 30.0),
            ("d".into(), "D".into(), 10.0),
        ]);
        let keys: Vec<&str> = bars.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
        let cum: Vec<f64> = bars.iter().map(|b| b.cumulative_pct).collect();
        assert_eq!(cum, [50.0, 80.0, 90.0, 100.0]);
        // A and B make 80 %: C starts at 80 %, so it is outside the cut.
        let few: Vec<bool> = bars.iter().map(|b| b.vital_few).collect();
        assert_eq!(few, [true, true, false, false]);
        assert!(pareto(vec![]).is_empty());
    }
}
