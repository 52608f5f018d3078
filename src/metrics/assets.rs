//! The orders of a scope lent to the asset rules (`crate::assets`): one pass over the frame's
//! counted orders, each row folded into its asset's numbers and its failure code's sums.

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use super::frame::c;
use super::{Engine, MetricsError, Scope};
use chrono::Duration;

use crate::a3::{Current, Figure, Subject};
use crate::assets::{ASSET_METRICS, Assets, Measure, OrderFacts, Tally};
use crate::model::Kind;

/// The assets of a scope over a window, as of its last day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssetReport {
    #[schema(value_type = String, format = Date)]
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub scope: Scope,
    #[serde(flatten)]
    pub assets: Assets,
}

const COLUMNS: [&str; 17] = [
    c::COUNTED,
    c::ASSET_ID,
    c::ASSET_NAME,
    c::CRITICALITY,
    c::SITE,
    c::AREA,
    c::CREW,
    c::FAILURE_CODE,
    c::KIND,
    c::CREATED,
    c::DONE,
    c::DUE,
    c::HOURS,
    c::DOWNTIME,
    c::REPAIR_HOURS,
    c::COST,
    c::PM_DEADLINE,
];

impl Engine {
    /// Every asset of `scope` over the window ending on `as_of` (end of that plant day; now
    /// when `None`), or only the asset `only`: its numbers and health, and the sums by failure
    /// code (docs/metrics.md "Assets").
    pub fn assets(
        &self,
        scope: &Scope,
        as_of: Option<NaiveDate>,
        window_days: Option<u32>,
        only: Option<&str>,
    ) -> Result<AssetReport, MetricsError> {
        self.check_scope(scope)?;
        let w = self.window(window_days)?;
        let (date, t) = self.resolve(as_of);
        // No filter for the plant: the columns are lent, not copied; uncounted rows are skipped
        // in the loop.
        let mut lf = self.scoped(scope);
        if let Some(id) = only {
            lf = lf.filter(col(c::ASSET_ID).eq(lit(id.to_string())));
        }
        let df = lf.select(COLUMNS.map(col)).collect()?;
        let mut tally = Tally::new(t, w);
        let text = |name: &str| -> PolarsResult<&StringChunked> { df.column(name)?.str() };
        let i64s = |name: &str| -> PolarsResult<&Int64Chunked> { df.column(name)?.i64() };
        let f64s = |name: &str| -> PolarsResult<&Float64Chunked> { df.column(name)?.f64() };
        let (mut ids, mut names, mut sites, mut areas, mut crews, mut codes) = (
            text(c::ASSET_ID)?.iter(),
            text(c::ASSET_NAME)?.iter(),
            text(c::SITE)?.iter(),
            text(c::AREA)?.iter(),
            text(c::CREW)?.iter(),
            text(c::FAILURE_CODE)?.iter(),
        );
        let mut crit = df.column(c::CRITICALITY)?.i32()?.iter();
        let mut kinds = df.column(c::KIND)?.i32()?.iter();
        let (mut created, mut done, mut due, mut deadline) = (
            i64s(c::CREATED)?.iter(),
            i64s(c::DONE)?.iter(),
            i64s(c::DUE)?.iter(),
            i64s(c::PM_DEADLINE)?.iter(),
        );
        let (mut hours, mut downtime, mut repair, mut cost) = (
            f64s(c::HOURS)?.iter(),
            f64s(c::DOWNTIME)?.iter(),
            f64s(c::REPAIR_HOURS)?.iter(),
            f64s(c::COST)?.iter(),
        );
        let mut counted = df.column(c::COUNTED)?.bool()?.iter();
        for _ in 0..df.height() {
            let kind = kinds.next().flatten().unwrap_or_default();
            let row = OrderFacts {
                asset_id: ids.next().flatten(),
                asset_name: names.next().flatten(),
                criticality: crit.next().flatten().map(|v| v as u8),
                site: sites.next().flatten(),
                area: areas.next().flatten(),
                crew: crews.next().flatten(),
                failure_code: codes.next().flatten(),
                kind: Kind::ALL.get(kind as usize).copied().unwrap_or(Kind::Other),
                created: created.next().flatten().unwrap_or_default(),
                done: done.next().flatten(),
                due: due.next().flatten(),
                hours: hours.next().flatten().unwrap_or_default(),
                downtime: downtime.next().flatten(),
                repair: repair.next().flatten(),
                cost: cost.next().flatten(),
                pm_deadline: deadline.next().flatten(),
            };
            if counted.next().flatten().unwrap_or(false) {
                tally.add(&row);
            }
        }
        Ok(AssetReport {
            as_of: date,
            window_days: w,
            scope: scope.clone(),
            assets: tally.finish(),
        })
    }
}

impl Engine {
    /// The value of a metric over the window ending on `as_of`: an asset metric of `asset`
    /// (`crate::assets::ASSET_METRICS`; over the orders of `scope`), else a metric of `scope`
    /// (docs/metrics.md). What an A3's target and follow-up measure. With no breakdown in the
    /// window, an asset's MTBF is at least its operating time, and that bound is the value.
    pub fn value(
        &self,
        metric: &str,
        asset: Option<&str>,
        scope: &Scope,
        as_of: NaiveDate,
        window_days: u32,
    ) -> Result<Option<f64>, MetricsError> {
        Ok(self
            .values(metric, asset, scope, &[as_of], window_days)?
            .into_iter()
            .next()
            .flatten())
    }

    /// [`Engine::value`] at each of `dates` (a scope's metric from one pass: `Engine::trend`
    /// with one date per point when they are evenly spaced, else one query per date).
    pub fn values(
        &self,
        metric: &str,
        asset: Option<&str>,
        scope: &Scope,
        dates: &[NaiveDate],
        window_days: u32,
    ) -> Result<Vec<Option<f64>>, MetricsError> {
        if let Some(asset) = asset.filter(|_| crate::a3::is_asset_metric(metric)) {
            return dates
                .iter()
                .map(|d| {
                    let r = self.assets(scope, Some(*d), Some(window_days), Some(asset))?;
                    Ok(r.assets.assets.first().and_then(|s| {
                        if metric == "mtbf_hours" {
                            s.mtbf_hours.or(Some(s.operating_hours))
                        } else {
                            s.get(metric)
                        }
                    }))
                })
                .collect();
        }
        if crate::a3::is_asset_metric(metric) && !super::TREND_METRICS.contains(&metric) {
            // An asset's metric without an asset: nothing to measure.
            return Ok(vec![None; dates.len()]);
        }
        let step = match dates {
            [a, b, ..] => (*b - *a).num_days(),
            _ => 0,
        };
        let even = step > 0 && dates.windows(2).all(|w| (w[1] - w[0]).num_days() == step);
        if even && let (Some(first), Some(last)) = (dates.first(), dates.last()) {
            let t = self.trend(
                &[metric.to_string()],
                *first,
                *last,
                super::Step::Days(step as u32),
                Some(window_days),
                scope,
            )?;
            return Ok(t.points.into_iter().map(|p| p.values[0]).collect());
        }
        dates
            .iter()
            .map(|d| {
                Ok(self
                    .metrics(Some(*d), Some(window_days), scope)?
                    .get(metric))
            })
            .collect()
    }
}

/// Points of the current condition's chart, 30 days apart.
const CHART_POINTS: i64 = 12;
const CHART_STEP_DAYS: i64 = 30;

fn chart_dates(today: NaiveDate) -> Vec<NaiveDate> {
    (0..CHART_POINTS)
        .rev()
        .map(|i| today - Duration::days(i * CHART_STEP_DAYS))
        .collect()
}

impl Engine {
    /// The current condition of an A3's subject as of `as_of` (today when `None`), from the
    /// orders: the asset's numbers and its breakdowns per 30 days over a year, a failure code's
    /// sums, or the board's key figures and reactive share.
    pub fn current_condition(
        &self,
        subject: Subject<'_>,
        as_of: Option<NaiveDate>,
    ) -> Result<Current, MetricsError> {
        let e = self;
        let today = as_of.unwrap_or_else(|| e.today());
        let window = e.config().metrics.window_days;
        let dates = chart_dates(today);
        let plant = Scope::plant();
        match subject {
            Subject::Asset(id) => {
                let r = e.assets(&plant, Some(today), None, Some(id))?;
                let s = r
                    .assets
                    .assets
                    .first()
                    .ok_or_else(|| MetricsError::UnknownAsset(id.to_string()))?;
                let figures = ASSET_METRICS
                    .iter()
                    .map(|(k, label, unit)| Figure {
                        key: k.to_string(),
                        label: label.to_string(),
                        value: s.get(k),
                        unit: unit.to_string(),
                    })
                    .collect();
                let values = e.values(
                    "reactive_count",
                    Some(id),
                    &plant,
                    &dates,
                    CHART_STEP_DAYS as u32,
                )?;
                Ok(Current {
                    as_of: r.as_of,
                    window_days: r.window_days,
                    subject: format!("{} ({id})", s.label()),
                    figures,
                    chart_label: "Breakdowns per 30 days".into(),
                    chart: dates.into_iter().zip(values).collect(),
                    failure_codes: r.assets.breakdown_codes(),
                })
            }
            Subject::FailureCode(code) => {
                let r = e.assets(&plant, Some(today), None, None)?;
                let sums = r
                    .assets
                    .codes
                    .iter()
                    .find(|(c, _)| c == code)
                    .map(|(_, s)| *s)
                    .ok_or_else(|| MetricsError::UnknownCode(code.to_string()))?;
                let figures = Measure::ALL
                    .iter()
                    .map(|m| Figure {
                        key: m.key().into(),
                        label: m.label().into(),
                        value: Some(m.of(&sums)),
                        unit: m.unit().into(),
                    })
                    .collect();
                let values = e.values("reactive_pct", None, &plant, &dates, window)?;
                Ok(Current {
                    as_of: r.as_of,
                    window_days: r.window_days,
                    subject: format!("failure code {code}, the plant"),
                    figures,
                    chart_label: "Reactive share of hours, the plant (%)".into(),
                    chart: dates.into_iter().zip(values).collect(),
                    failure_codes: vec![(code.to_string(), sums.reactive_count)],
                })
            }
            Subject::Board(scope) => {
                let m = e.metrics(Some(today), None, scope)?;
                let figures = [
                    ("reactive_pct", "Reactive share of hours", "%"),
                    ("emergency_pct", "Emergency share", "%"),
                    ("pm_compliance_pct", "PM compliance", "%"),
                    ("backlog_weeks", "Backlog", "weeks"),
                    ("mttr_hours", "MTTR", "h"),
                    ("overdue_count", "Overdue orders", ""),
                ]
                .iter()
                .map(|(k, label, unit)| Figure {
                    key: k.to_string(),
                    label: label.to_string(),
                    value: m.get(k),
                    unit: unit.to_string(),
                })
                .collect();
                let values = e.values("reactive_pct", None, scope, &dates, window)?;
                let r = e.assets(scope, Some(today), None, None)?;
                let mut codes = r.assets.breakdown_codes();
                codes.truncate(8);
                Ok(Current {
                    as_of: today,
                    window_days: window,
                    subject: scope.label(),
                    figures,
                    chart_label: "Reactive share of hours (%)".into(),
                    chart: dates.into_iter().zip(values).collect(),
                    failure_codes: codes,
                })
            }
        }
    }
}
