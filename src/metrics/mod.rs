//! The metrics of docs/metrics.md, computed with polars over the order frame: stock at the as-of
//! instant T, flow over the window [T - W, T), data quality, per crew, and trends. The frame is
//! loaded once; every query is lazy expressions over it, so any date, window and scope is cheap.
//! History comes from the orders' timestamps; `ready_backlog_hours` of a past date comes from the
//! daily snapshots, since it depends on status, which has no history.

mod assets;
pub use assets::AssetReport;
pub mod frame;
pub mod orders;
mod quality;
mod series;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Months, NaiveDate, NaiveTime, Utc};
use polars::prelude::*;
use serde::Serialize;

use crate::config::{Config, Crew};
use crate::mapping::dates::local_to_utc;
use crate::store::{Store, StoreError};
use frame::{DAY_MS, c};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{0}")]
    Store(StoreError),
    #[error("computing metrics: {0}")]
    Polars(#[from] PolarsError),
    #[error("no crew named `{name}` in {origin}; known crews: {known}")]
    UnknownCrew {
        name: String,
        origin: String,
        known: String,
    },
    #[error("unknown metric `{0}`; trend metrics are: {1}")]
    UnknownMetric(String, String),
    #[error("`{0}` is not a step; use a number of days, weeks or months: 1d, 7d, 2w, 1mo")]
    BadStep(String),
    #[error("--from {from} is after --to {to}")]
    BadRange { from: NaiveDate, to: NaiveDate },
    #[error(
        "{points} trend points are too many (at most {max}); choose a longer step or a shorter range"
    )]
    TooManyPoints { points: usize, max: usize },
    #[error("window_days must be at least 1")]
    BadWindow,
    #[error("asset: no orders name the asset `{0}`")]
    UnknownAsset(String),
    #[error("code: no order carries the failure code `{0}`")]
    UnknownCode(String),
    #[error("technicians of crew `{crew}` must be a number from 0 to 1000, not `{value}`")]
    BadTechnicians { crew: String, value: String },
}

/// Which orders a query looks at: every filter given must match (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Scope {
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
}

impl Scope {
    pub fn plant() -> Scope {
        Scope::default()
    }

    pub fn crew(name: &str) -> Scope {
        Scope {
            crew: Some(name.to_string()),
            ..Scope::default()
        }
    }

    /// The snapshot key of this scope: `plant`, or `site:X`, `area:Y`, `crew:Z` joined by `/`.
    pub fn key(&self) -> String {
        let parts: Vec<String> = [
            ("site", &self.site),
            ("area", &self.area),
            ("crew", &self.crew),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}:{v}")))
        .collect();
        if parts.is_empty() {
            "plant".into()
        } else {
            parts.join("/")
        }
    }

    /// The scope of a key written by [`Scope::key`]; `None` for anything else.
    pub fn from_key(key: &str) -> Option<Scope> {
        if key == "plant" {
            return Some(Scope::plant());
        }
        let mut s = Scope::default();
        for part in key.split('/') {
            match part.split_once(':')? {
                ("site", v) => s.site = Some(v.to_string()),
                ("area", v) => s.area = Some(v.to_string()),
                ("crew", v) => s.crew = Some(v.to_string()),
                _ => return None,
            }
        }
        Some(s)
    }

    /// A short human label: "Plant", "Packaging", "Packaging / Packaging E&I".
    pub fn label(&self) -> String {
        let parts: Vec<&str> = [&self.site, &self.area, &self.crew]
            .iter()
            .filter_map(|v| v.as_deref())
            .collect();
        if parts.is_empty() {
            "Plant".into()
        } else {
            parts.join(" / ")
        }
    }

    pub(crate) fn filter(&self) -> Option<Expr> {
        [
            (c::SITE, &self.site),
            (c::AREA, &self.area),
            (c::CREW, &self.crew),
        ]
        .into_iter()
        .filter_map(|(col_name, v)| v.as_ref().map(|v| col(col_name).eq(lit(v.clone()))))
        .reduce(|a, b| a.and(b))
    }

    /// The crews of the config inside this scope: every filter given must match.
    pub fn crews<'c>(&self, cfg: &'c Config) -> Vec<&'c Crew> {
        cfg.crews
            .iter()
            .filter(|cr| self.crew.as_ref().is_none_or(|n| *n == cr.name))
            .filter(|cr| {
                self.site
                    .as_ref()
                    .is_none_or(|s| cr.site.as_ref() == Some(s))
            })
            .filter(|cr| {
                self.area
                    .as_ref()
                    .is_none_or(|a| cr.area.as_ref() == Some(a))
            })
            .collect()
    }

    /// Crew capacity in scope (SMRP): crews matching every filter; `None` when none matches.
    pub fn capacity(&self, cfg: &Config) -> Option<f64> {
        let crews = self.crews(cfg);
        (!crews.is_empty()).then(|| crews.iter().map(|c| c.capacity_hours_per_week()).sum())
    }
}

/// The age profile of open orders, in whole days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgeBuckets {
    #[serde(rename = "0-7")]
    pub d0_7: u64,
    #[serde(rename = "8-30")]
    pub d8_30: u64,
    #[serde(rename = "31-90")]
    pub d31_90: u64,
    #[serde(rename = "91+")]
    pub d91: u64,
}

/// Every metric of one scope at one instant. Field names are the binding JSON keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Metrics {
    pub open_count: u64,
    pub backlog_hours: f64,
    pub ready_backlog_hours: Option<f64>,
    pub capacity_hours_per_week: Option<f64>,
    pub backlog_weeks: Option<f64>,
    pub ready_backlog_weeks: Option<f64>,
    pub overdue_count: u64,
    pub age_buckets: AgeBuckets,
    pub mean_age_days: Option<f64>,
    pub created_count: u64,
    pub completed_count: u64,
    pub completion_ratio: Option<f64>,
    pub on_time_pct: Option<f64>,
    pub reactive_hours: f64,
    pub planned_hours: f64,
    pub reactive_pct: Option<f64>,
    pub reactive_count_pct: Option<f64>,
    pub reactive_to_planned_ratio: Option<f64>,
    pub emergency_pct: Option<f64>,
    pub pm_compliance_pct: Option<f64>,
    pub schedule_compliance_pct: Option<f64>,
    pub mttr_hours: Option<f64>,
    pub reactive_cost: f64,
    pub planned_cost: f64,
    pub reactive_cost_pct: Option<f64>,
}

/// The scalar metrics a trend can follow, by their JSON keys.
pub const TREND_METRICS: &[&str] = &[
    "open_count",
    "backlog_hours",
    "ready_backlog_hours",
    "capacity_hours_per_week",
    "backlog_weeks",
    "ready_backlog_weeks",
    "overdue_count",
    "mean_age_days",
    "created_count",
    "completed_count",
    "completion_ratio",
    "on_time_pct",
    "reactive_hours",
    "planned_hours",
    "reactive_pct",
    "reactive_count_pct",
    "reactive_to_planned_ratio",
    "emergency_pct",
    "pm_compliance_pct",
    "schedule_compliance_pct",
    "mttr_hours",
    "reactive_cost",
    "planned_cost",
    "reactive_cost_pct",
];

impl Metrics {
    /// A scalar metric by its JSON key (`None` when it is null or unknown).
    pub fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "open_count" => self.open_count as f64,
            "backlog_hours" => self.backlog_hours,
            "ready_backlog_hours" => self.ready_backlog_hours?,
            "capacity_hours_per_week" => self.capacity_hours_per_week?,
            "backlog_weeks" => self.backlog_weeks?,
            "ready_backlog_weeks" => self.ready_backlog_weeks?,
            "overdue_count" => self.overdue_count as f64,
            "mean_age_days" => self.mean_age_days?,
            "created_count" => self.created_count as f64,
            "completed_count" => self.completed_count as f64,
            "completion_ratio" => self.completion_ratio?,
            "on_time_pct" => self.on_time_pct?,
            "reactive_hours" => self.reactive_hours,
            "planned_hours" => self.planned_hours,
            "reactive_pct" => self.reactive_pct?,
            "reactive_count_pct" => self.reactive_count_pct?,
            "reactive_to_planned_ratio" => self.reactive_to_planned_ratio?,
            "emergency_pct" => self.emergency_pct?,
            "pm_compliance_pct" => self.pm_compliance_pct?,
            "schedule_compliance_pct" => self.schedule_compliance_pct?,
            "mttr_hours" => self.mttr_hours?,
            "reactive_cost" => self.reactive_cost,
            "planned_cost" => self.planned_cost,
            "reactive_cost_pct" => self.reactive_cost_pct?,
            _ => return None,
        })
    }
}

/// Data quality of the stored orders in scope (cancelled included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quality {
    pub missing_estimate: u64,
    pub missing_due: u64,
    pub unknown_kind: u64,
    pub completed_without_date: u64,
    pub missing_asset: u64,
    pub rejected_rows_last_import: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CrewMetrics {
    pub crew: String,
    pub metrics: Metrics,
}

/// What `kpis --format json` prints (metrics.md, "Output").
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub scope: Scope,
    pub metrics: Metrics,
    pub by_crew: Vec<CrewMetrics>,
    pub quality: Quality,
}

/// One point of a trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub as_of: NaiveDate,
    pub values: Vec<Option<f64>>,
}

/// A series of as-of values of several metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    pub metrics: Vec<String>,
    pub scope: Scope,
    pub window_days: u32,
    pub every: String,
    pub points: Vec<TrendPoint>,
}

/// A trend step: days or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Days(u32),
    Months(u32),
}

impl std::str::FromStr for Step {
    type Err = MetricsError;
    fn from_str(s: &str) -> Result<Step, MetricsError> {
        let t = s.trim();
        let bad = || MetricsError::BadStep(t.to_string());
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u32 = t[..split].parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        match &t[split..] {
            "d" => Ok(Step::Days(n)),
            "w" => n.checked_mul(7).map(Step::Days).ok_or_else(bad),
            "mo" | "m" => Ok(Step::Months(n)),
            _ => Err(bad()),
        }
    }
}

/// The most points one trend may have (ten years of days).
pub const MAX_TREND_POINTS: usize = 3700;

/// The metrics engine: the order frame and what it needs besides, loaded once.
pub struct Engine {
    frame: DataFrame,
    config: Config,
    rejected_rows_last_import: u64,
    /// `ready_backlog_hours` from daily snapshots, by (date, scope key).
    ready_history: HashMap<(NaiveDate, String), f64>,
    loaded_at: DateTime<Utc>,
    /// The scopes of the data, found once: every page's navigation and scope check asks.
    scopes: std::sync::OnceLock<Vec<Scope>>,
}

impl Engine {
    /// Loads the store's orders and snapshots.
    pub fn load(store: &mut Store, config: &Config) -> Result<Engine, MetricsError> {
        let frame = frame::load_frame(store, config)?;
        let mut ready_history = HashMap::new();
        for (date, scope, json) in store.snapshots()? {
            if let Some(v) = serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .and_then(|v| v.get("ready_backlog_hours")?.as_f64())
            {
                ready_history.insert((date, scope), v);
            }
        }
        Ok(Engine {
            frame,
            config: config.clone(),
            rejected_rows_last_import: store.rejected_rows_last_import()?,
            ready_history,
            loaded_at: Utc::now(),
            scopes: std::sync::OnceLock::new(),
        })
    }

    /// An engine over a frame built elsewhere (tests, benchmarks).
    pub fn from_frame(frame: DataFrame, config: &Config) -> Engine {
        Engine {
            frame,
            config: config.clone(),
            rejected_rows_last_import: 0,
            ready_history: HashMap::new(),
            loaded_at: Utc::now(),
            scopes: std::sync::OnceLock::new(),
        }
    }

    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn loaded_at(&self) -> DateTime<Utc> {
        self.loaded_at
    }

    /// Today in plant time.
    pub fn today(&self) -> NaiveDate {
        Utc::now().with_timezone(&self.config.plant.tz).date_naive()
    }

    /// The as-of instant of a date: the first instant of the next plant day.
    pub fn instant_of(&self, date: NaiveDate) -> DateTime<Utc> {
        local_to_utc(
            self.config.plant.tz,
            (date + Duration::days(1)).and_time(NaiveTime::MIN),
        )
    }

    /// Checks a scope against the config: an unknown crew is an error listing the known ones.
    pub fn check_scope(&self, scope: &Scope) -> Result<(), MetricsError> {
        if let Some(name) = &scope.crew
            && self.config.crew(name).is_none()
        {
            return Err(MetricsError::UnknownCrew {
                name: name.clone(),
                origin: self.config.origin.clone(),
                known: self
                    .config
                    .crews
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(())
    }

    /// All metrics for `scope` as of `as_of` (end of that plant day; now when `None`), with
    /// `by_crew` for every crew of the config and data quality.
    pub fn kpis(
        &self,
        as_of: Option<NaiveDate>,
        window_days: Option<u32>,
        scope: &Scope,
    ) -> Result<Kpis, MetricsError> {
        self.check_scope(scope)?;
        let w = self.window(window_days)?;
        let (date, t) = self.resolve(as_of);
        let present = self.is_present(as_of, date);
        // One pass over every order, grouped by crew (no crew is a group too): it gives
        // `by_crew`, and for the plant its sums are the plant's.
        let grouped = self.grouped_by_crew(t, w)?;
        let by_crew = self.crews_of(&grouped, date, present)?;
        let (raw, quality) = if *scope == Scope::plant() {
            let total = grouped
                .clone()
                .lazy()
                .select(
                    SUMS.into_iter()
                        .chain(QUALITY)
                        .map(|s| col(s).sum())
                        .collect::<Vec<_>>(),
                )
                .collect()?;
            (Raw::from_row(&total, 0)?, self.quality_of(&total)?)
        } else {
            let lf = self.scoped(scope);
            let aggs = sums_over(lf.clone(), t, w).collect()?;
            let q = lf
                .select(quality_counts())
                .select(QUALITY.map(|s| col(s).sum()))
                .collect()?;
            (Raw::from_row(&aggs, 0)?, self.quality_of(&q)?)
        };
        Ok(Kpis {
            as_of: date,
            window_days: w,
            scope: scope.clone(),
            metrics: self.finish(&raw, scope, date, present),
            by_crew,
            quality,
        })
    }

    /// Metrics of one scope only (no `by_crew`, no quality): what a board tile or trend needs.
    pub fn metrics(
        &self,
        as_of: Option<NaiveDate>,
        window_days: Option<u32>,
        scope: &Scope,
    ) -> Result<Metrics, MetricsError> {
        self.check_scope(scope)?;
        let w = self.window(window_days)?;
        let (date, t) = self.resolve(as_of);
        let aggs = sums_over(self.scoped(scope), t, w).collect()?;
        Ok(self.finish(
            &Raw::from_row(&aggs, 0)?,
            scope,
            date,
            self.is_present(as_of, date),
        ))
    }

    /// The series of as-of values of `metrics` from `from` to `to` (inclusive) every `step`.
    /// All points come from one pass over the orders (`series.rs`).
    pub fn trend(
        &self,
        metrics: &[String],
        from: NaiveDate,
        to: NaiveDate,
        step: Step,
        window_days: Option<u32>,
        scope: &Scope,
    ) -> Result<Trend, MetricsError> {
        self.check_scope(scope)?;
        for m in metrics {
            if !TREND_METRICS.contains(&m.as_str()) {
                return Err(MetricsError::UnknownMetric(
                    m.clone(),
                    TREND_METRICS.join(", "),
                ));
            }
        }
        if from > to {
            return Err(MetricsError::BadRange { from, to });
        }
        let w = self.window(window_days)?;
        let dates = trend_dates(from, to, step)?;
        let today = self.today();
        let instants: Vec<i64> = dates.iter().map(|d| self.resolve(Some(*d)).1).collect();
        let raws = match scope.filter() {
            None => series::raw_series(&self.frame, &instants, w)?,
            Some(f) => {
                let scoped = self
                    .frame
                    .clone()
                    .lazy()
                    .filter(f)
                    .select(series::COLUMNS.map(col))
                    .collect()?;
                series::raw_series(&scoped, &instants, w)?
            }
        };
        let mut points = Vec::with_capacity(dates.len());
        for (d, raw) in dates.iter().zip(&raws) {
            let m = self.finish(raw, scope, *d, *d >= today);
            points.push(TrendPoint {
                as_of: *d,
                values: metrics.iter().map(|k| m.get(k)).collect(),
            });
        }
        Ok(Trend {
            metrics: metrics.to_vec(),
            scope: scope.clone(),
            window_days: w,
            every: match step {
                Step::Days(n) => format!("{n}d"),
                Step::Months(n) => format!("{n}mo"),
            },
            points,
        })
    }

    /// The value of `metric` for `scope` at each of `dates` (month ends), from one trend whose
    /// monthly steps start on a 31st before the first date, so every step is a month's last
    /// day: the numbers `gemba trend --every 1mo` gives for those dates.
    pub fn month_end_values(
        &self,
        metric: &str,
        scope: &Scope,
        dates: &[NaiveDate],
    ) -> Result<Vec<Option<f64>>, MetricsError> {
        let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
            return Ok(Vec::new());
        };
        let mut start = crate::hoshin::month_end(*first);
        while chrono::Datelike::day(&start) != 31 {
            start = crate::hoshin::month_end(start - chrono::Months::new(1));
        }
        let t = self.trend(
            &[metric.to_string()],
            start,
            *last,
            Step::Months(1),
            None,
            scope,
        )?;
        Ok(dates
            .iter()
            .map(|d| {
                t.points
                    .iter()
                    .find(|p| p.as_of == *d)
                    .and_then(|p| p.values[0])
            })
            .collect())
    }

    /// The scopes that get a daily snapshot: the plant, every site, area and crew.
    pub fn snapshot_scopes(&self) -> Result<Vec<Scope>, MetricsError> {
        if let Some(s) = self.scopes.get() {
            return Ok(s.clone());
        }
        let found = self.find_scopes()?;
        Ok(self.scopes.get_or_init(|| found).clone())
    }

    /// The plant, each site and area of the config and the data, and each crew of the config.
    fn find_scopes(&self) -> Result<Vec<Scope>, MetricsError> {
        let mut scopes = vec![Scope::plant()];
        let mut add = |kind: &str, name: String| {
            let s = match kind {
                "site" => Scope {
                    site: Some(name),
                    ..Scope::default()
                },
                "area" => Scope {
                    area: Some(name),
                    ..Scope::default()
                },
                _ => Scope {
                    crew: Some(name),
                    ..Scope::default()
                },
            };
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        };
        for cr in &self.config.crews {
            if let Some(s) = &cr.site {
                add("site", s.clone());
            }
            if let Some(a) = &cr.area {
                add("area", a.clone());
            }
        }
        for (kind, column) in [("site", c::SITE), ("area", c::AREA)] {
            let distinct = self
                .frame
                .column(column)?
                .as_materialized_series()
                .unique()?;
            for v in distinct.str()?.iter().flatten() {
                add(kind, v.to_string());
            }
        }
        for cr in &self.config.crews {
            add("crew", cr.name.clone());
        }
        Ok(scopes)
    }

    /// Writes today's snapshot of every scope, in one transaction; returns how many were written.
    pub fn write_snapshots(&self, store: &mut Store) -> Result<usize, MetricsError> {
        let scopes = self.snapshot_scopes()?;
        let rows: Vec<(String, String)> = scopes
            .iter()
            .zip(self.metrics_of_scopes(None, None, &scopes)?)
            .map(|(s, m)| {
                let json = serde_json::to_string(&m).expect("metrics serialize");
                (s.key(), json)
            })
            .collect();
        store.put_snapshots(self.today(), &rows)?;
        Ok(rows.len())
    }

    /// The metrics of many scopes at once (what [`Engine::metrics`] gives for each), from one
    /// pass over the orders: their sums grouped by (site, area, crew), then each scope sums its
    /// groups. Scopes are site, area and crew filters, so every scope is a union of groups.
    pub fn metrics_of_scopes(
        &self,
        as_of: Option<NaiveDate>,
        window_days: Option<u32>,
        scopes: &[Scope],
    ) -> Result<Vec<Metrics>, MetricsError> {
        for s in scopes {
            self.check_scope(s)?;
        }
        let w = self.window(window_days)?;
        let (date, t) = self.resolve(as_of);
        let present = self.is_present(as_of, date);
        let keys = [col(c::SITE), col(c::AREA), col(c::CREW)];
        let mut per_order = contributions();
        per_order.extend(keys.clone());
        let groups = self
            .frame
            .clone()
            .lazy()
            .with_columns(masks(t, w))
            .select(per_order)
            .group_by(keys)
            .agg(SUMS.map(|s| col(s).sum()))
            .collect()?;
        scopes
            .iter()
            .map(|scope| {
                let lf = match scope.filter() {
                    Some(f) => groups.clone().lazy().filter(f),
                    None => groups.clone().lazy(),
                };
                let sums = lf.select(SUMS.map(|s| col(s).sum())).collect()?;
                Ok(self.finish(&Raw::from_row(&sums, 0)?, scope, date, present))
            })
            .collect()
    }

    /// The flow window in days: the one asked for, else the config's; never 0.
    fn window(&self, window_days: Option<u32>) -> Result<u32, MetricsError> {
        match window_days.unwrap_or(self.config.metrics.window_days) {
            0 => Err(MetricsError::BadWindow),
            w => Ok(w),
        }
    }

    /// Whether an as-of date is the present, when status (the ready backlog) is known from the
    /// orders rather than from a snapshot.
    fn is_present(&self, as_of: Option<NaiveDate>, date: NaiveDate) -> bool {
        as_of.is_none() || date >= self.today()
    }

    fn resolve(&self, as_of: Option<NaiveDate>) -> (NaiveDate, i64) {
        match as_of {
            Some(d) => (d, self.instant_of(d).timestamp_millis()),
            None => (self.today(), Utc::now().timestamp_millis()),
        }
    }

    pub(crate) fn scoped(&self, scope: &Scope) -> LazyFrame {
        let lf = self.frame.clone().lazy();
        match scope.filter() {
            Some(f) => lf.filter(f),
            None => lf,
        }
    }

    fn quality_of(&self, sums: &DataFrame) -> Result<Quality, MetricsError> {
        let get = |name: &str| -> Result<u64, MetricsError> { Ok(int(sums, name, 0)?) };
        Ok(Quality {
            missing_estimate: get(QUALITY[0])?,
            missing_due: get(QUALITY[1])?,
            unknown_kind: get(QUALITY[2])?,
            completed_without_date: get(QUALITY[3])?,
            missing_asset: get(QUALITY[4])?,
            rejected_rows_last_import: self.rejected_rows_last_import,
        })
    }

    /// Every raw sum and quality count per crew value, over all orders, as of `t`.
    fn grouped_by_crew(&self, t: i64, w: u32) -> Result<DataFrame, MetricsError> {
        let mut per_order = contributions();
        per_order.extend(quality_counts());
        per_order.push(col(c::CREW));
        Ok(self
            .frame
            .clone()
            .lazy()
            .with_columns(masks(t, w))
            .select(per_order)
            .group_by([col(c::CREW)])
            .agg(
                SUMS.into_iter()
                    .chain(QUALITY)
                    .map(|s| col(s).sum())
                    .collect::<Vec<_>>(),
            )
            .collect()?)
    }

    /// `by_crew`: the metrics of each crew of the config, from the grouped sums.
    fn crews_of(
        &self,
        grouped: &DataFrame,
        date: NaiveDate,
        present: bool,
    ) -> Result<Vec<CrewMetrics>, MetricsError> {
        let crews = grouped.column(c::CREW)?.str()?.clone();
        let mut out = Vec::with_capacity(self.config.crews.len());
        for crew in &self.config.crews {
            let scope = Scope::crew(&crew.name);
            let raw = match crews.iter().position(|c| c == Some(crew.name.as_str())) {
                Some(i) => Raw::from_row(grouped, i)?,
                None => Raw::default(),
            };
            out.push(CrewMetrics {
                metrics: self.finish(&raw, &scope, date, present),
                crew: crew.name.clone(),
            });
        }
        Ok(out)
    }

    /// Turns raw sums into the metrics, with nulls where a denominator is 0.
    fn finish(&self, r: &Raw, scope: &Scope, date: NaiveDate, present: bool) -> Metrics {
        let capacity = scope.capacity(&self.config);
        let weeks = |h: f64| capacity.and_then(|c| ratio(h, c));
        let ready = if present {
            Some(r.ready_hours)
        } else {
            self.ready_history.get(&(date, scope.key())).copied()
        };
        let reactive_planned_n = r.reactive_n + r.planned_n;
        Metrics {
            open_count: r.open_n,
            backlog_hours: r.backlog_hours,
            ready_backlog_hours: ready,
            capacity_hours_per_week: capacity,
            backlog_weeks: weeks(r.backlog_hours),
            ready_backlog_weeks: ready.and_then(weeks),
            overdue_count: r.overdue_n,
            age_buckets: AgeBuckets {
                d0_7: r.age[0],
                d8_30: r.age[1],
                d31_90: r.age[2],
                d91: r.age[3],
            },
            mean_age_days: ratio(r.age_sum_days, r.open_n as f64),
            created_count: r.created_n,
            completed_count: r.completed_n,
            completion_ratio: ratio(r.completed_n as f64, r.created_n as f64),
            on_time_pct: pct(r.on_time_n as f64, r.completed_due_n as f64),
            reactive_hours: r.reactive_hours,
            planned_hours: r.planned_hours,
            reactive_pct: pct(r.reactive_hours, r.reactive_hours + r.planned_hours),
            reactive_count_pct: pct(r.reactive_n as f64, reactive_planned_n as f64),
            reactive_to_planned_ratio: ratio(r.reactive_hours, r.planned_hours),
            emergency_pct: pct(r.emergency_n as f64, reactive_planned_n as f64),
            pm_compliance_pct: pct(r.pm_ok_n as f64, r.pm_n as f64),
            schedule_compliance_pct: pct(r.sched_ok_n as f64, r.sched_n as f64),
            mttr_hours: ratio(r.repair_sum, r.repair_n as f64),
            reactive_cost: r.reactive_cost,
            planned_cost: r.planned_cost,
            reactive_cost_pct: pct(r.reactive_cost, r.reactive_cost + r.planned_cost),
        }
    }
}

/// The end of a plant day: the first instant of the next day in `tz` (the as-of instant T).
pub fn end_of_day(tz: chrono_tz::Tz, date: NaiveDate) -> DateTime<Utc> {
    local_to_utc(tz, (date + Duration::days(1)).and_time(NaiveTime::MIN))
}

fn trend_dates(from: NaiveDate, to: NaiveDate, step: Step) -> Result<Vec<NaiveDate>, MetricsError> {
    let mut dates = Vec::new();
    let mut i = 0u32;
    loop {
        let d = match step {
            Step::Days(n) => from.checked_add_signed(Duration::days(i as i64 * n as i64)),
            Step::Months(n) => from.checked_add_months(Months::new(i * n)),
        };
        match d {
            Some(d) if d <= to => dates.push(d),
            _ => break,
        }
        if dates.len() > MAX_TREND_POINTS {
            return Err(MetricsError::TooManyPoints {
                points: dates.len(),
                max: MAX_TREND_POINTS,
            });
        }
        i += 1;
    }
    Ok(dates)
}

/// `a / b`, or `None` when `b` is 0 (never NaN or infinity).
fn ratio(a: f64, b: f64) -> Option<f64> {
    let r = a / b;
    (b != 0.0 && r.is_finite()).then_some(r)
}

fn pct(a: f64, b: f64) -> Option<f64> {
    ratio(a, b).map(|r| r * 100.0)
}

/// Raw sums of one scope at one instant, before ratios.
#[derive(Debug, Default)]
struct Raw {
    open_n: u64,
    backlog_hours: f64,
    ready_hours: f64,
    overdue_n: u64,
    age: [u64; 4],
    age_sum_days: f64,
    created_n: u64,
    completed_n: u64,
    completed_due_n: u64,
    on_time_n: u64,
    reactive_hours: f64,
    planned_hours: f64,
    reactive_n: u64,
    planned_n: u64,
    emergency_n: u64,
    pm_n: u64,
    pm_ok_n: u64,
    sched_n: u64,
    sched_ok_n: u64,
    repair_sum: f64,
    repair_n: u64,
    reactive_cost: f64,
    planned_cost: f64,
}

fn int(df: &DataFrame, name: &str, row: usize) -> PolarsResult<u64> {
    Ok(df
        .column(name)?
        .get(row)?
        .extract::<i64>()
        .unwrap_or(0)
        .max(0) as u64)
}

fn float(df: &DataFrame, name: &str, row: usize) -> PolarsResult<f64> {
    Ok(df.column(name)?.get(row)?.extract::<f64>().unwrap_or(0.0))
}

impl Raw {
    fn from_row(df: &DataFrame, row: usize) -> PolarsResult<Raw> {
        let i = |n: &str| int(df, n, row);
        let f = |n: &str| float(df, n, row);
        Ok(Raw {
            open_n: i("open_n")?,
            backlog_hours: f("backlog_hours")?,
            ready_hours: f("ready_hours")?,
            overdue_n: i("overdue_n")?,
            age: [i("age_0_7")?, i("age_8_30")?, i("age_31_90")?, i("age_91")?],
            age_sum_days: f("age_sum_days")?,
            created_n: i("created_n")?,
            completed_n: i("completed_n")?,
            completed_due_n: i("completed_due_n")?,
            on_time_n: i("on_time_n")?,
            reactive_hours: f("reactive_hours")?,
            planned_hours: f("planned_hours")?,
            reactive_n: i("reactive_n")?,
            planned_n: i("planned_n")?,
            emergency_n: i("emergency_n")?,
            pm_n: i("pm_n")?,
            pm_ok_n: i("pm_ok_n")?,
            sched_n: i("sched_n")?,
            sched_ok_n: i("sched_ok_n")?,
            repair_sum: f("repair_sum")?,
            repair_n: i("repair_n")?,
            reactive_cost: f("reactive_cost")?,
            planned_cost: f("planned_cost")?,
        })
    }
}

/// Names of the per-order contributions, one per raw sum of `Raw`.
const SUMS: [&str; 26] = [
    "open_n",
    "backlog_hours",
    "ready_hours",
    "overdue_n",
    "age_0_7",
    "age_8_30",
    "age_31_90",
    "age_91",
    "age_sum_days",
    "created_n",
    "completed_n",
    "completed_due_n",
    "on_time_n",
    "reactive_hours",
    "planned_hours",
    "reactive_n",
    "planned_n",
    "emergency_n",
    "pm_n",
    "pm_ok_n",
    "sched_n",
    "sched_ok_n",
    "repair_sum",
    "repair_n",
    "reactive_cost",
    "planned_cost",
];

/// Names of the data-quality counts (metrics.md, `quality`), in the order of `Quality`.
const QUALITY: [&str; 5] = [
    "missing_estimate",
    "missing_due",
    "unknown_kind",
    "completed_without_date",
    "missing_asset",
];

/// The frame's flag column of each data-quality count, in the order of `QUALITY` (and of
/// `crate::quality::Problem::ALL`).
const QUALITY_FLAGS: [&str; 5] = [
    c::Q_MISSING_ESTIMATE,
    c::Q_MISSING_DUE,
    c::Q_UNKNOWN_KIND,
    c::Q_COMPLETED_WITHOUT_DATE,
    c::Q_MISSING_ASSET,
];

/// What each order contributes to each data-quality count: 1 or 0.
fn quality_counts() -> Vec<Expr> {
    QUALITY_FLAGS
        .iter()
        .zip(QUALITY)
        .map(|(flag, name)| col(*flag).cast(DataType::Int64).alias(name))
        .collect()
}

/// The base masks of instant `t` (ms) and a window of `w` days, each computed once per query.
fn masks(t: i64, w: u32) -> Vec<Expr> {
    let ws = t - w as i64 * DAY_MS;
    let flag = |e: Expr| e.fill_null(lit(false));
    let in_window = |name: &str| {
        flag(
            col(c::COUNTED)
                .and(col(name).gt_eq(lit(ws)))
                .and(col(name).lt(lit(t))),
        )
    };
    vec![
        flag(frame::open_at(t)).alias("_open"),
        in_window(c::DONE).alias("_done_in"),
        ((lit(t) - col(c::CREATED)).cast(DataType::Float64) / lit(DAY_MS as f64)).alias("_age"),
        flag(col(c::DUE).lt(lit(t))).alias("_due_before_t"),
        in_window(c::CREATED).alias("_created_in"),
        in_window(c::PM_DEADLINE).alias("_pm_in"),
        in_window(c::SCHED_DEADLINE).alias("_sched_in"),
    ]
}

/// What each order contributes to each raw sum, from the masks: 1 or 0 for counts, its hours
/// or 0 for sums. Summing these columns, for the plant or by crew, gives every metric in one
/// pass on polars' fast path.
fn contributions() -> Vec<Expr> {
    let flag = |e: Expr| e.fill_null(lit(false));
    let open = || col("_open");
    let done_in = || col("_done_in");
    let days = || col("_age").floor();
    let n = |mask: Expr| flag(mask).cast(DataType::Int64);
    let h = |value: Expr, mask: Expr| when(flag(mask)).then(value).otherwise(lit(0.0));
    let between = |lo: f64, hi: f64| open().and(days().gt_eq(lit(lo))).and(days().lt_eq(lit(hi)));
    let cost = || col(c::COST).fill_null(lit(0.0));
    let repaired = || {
        done_in()
            .and(col(c::REACTIVE))
            .and(col(c::REPAIR_HOURS).is_not_null())
    };
    let exprs = [
        n(open()),
        h(col(c::ESTIMATE), open()),
        h(col(c::ESTIMATE), open().and(col(c::READY))),
        n(open().and(col("_due_before_t"))),
        n(between(0.0, 7.0)),
        n(between(8.0, 30.0)),
        n(between(31.0, 90.0)),
        n(open().and(days().gt_eq(lit(91.0)))),
        h(col("_age"), open()),
        n(col("_created_in")),
        n(done_in()),
        n(done_in().and(col(c::DUE).is_not_null())),
        n(done_in().and(col(c::DONE).lt_eq(col(c::DUE)))),
        h(col(c::HOURS), done_in().and(col(c::REACTIVE))),
        h(col(c::HOURS), done_in().and(col(c::PLANNED))),
        n(done_in().and(col(c::REACTIVE))),
        n(done_in().and(col(c::PLANNED))),
        n(done_in().and(col(c::EMERGENCY))),
        n(col("_pm_in")),
        n(col("_pm_in").and(col(c::DONE).lt_eq(col(c::PM_DEADLINE)))),
        n(col("_sched_in")),
        n(col("_sched_in").and(col(c::DONE).lt(col(c::SCHED_DEADLINE)))),
        h(col(c::REPAIR_HOURS), repaired()),
        n(repaired()),
        h(cost(), done_in().and(col(c::REACTIVE))),
        h(cost(), done_in().and(col(c::PLANNED))),
    ];
    exprs
        .into_iter()
        .zip(SUMS)
        .map(|(e, name)| e.alias(name))
        .collect()
}

/// The raw sums of every metric over `lf` as of `t`.
fn sums_over(lf: LazyFrame, t: i64, w: u32) -> LazyFrame {
    lf.with_columns(masks(t, w))
        .select(contributions())
        .select(SUMS.map(|s| col(s).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse() {
        assert_eq!("7d".parse::<Step>().unwrap(), Step::Days(7));
        assert_eq!("2w".parse::<Step>().unwrap(), Step::Days(14));
        assert_eq!("1mo".parse::<Step>().unwrap(), Step::Months(1));
        assert!("0d".parse::<Step>().is_err());
        assert!("weekly".parse::<Step>().is_err());
        // Weeks beyond u32's days are refused, not wrapped (or a panic in a debug build).
        assert!("613566757w".parse::<Step>().is_err());
        assert_eq!(
            "613566756w".parse::<Step>().unwrap(),
            Step::Days(4_294_967_292)
        );
    }

    #[test]
    fn monthly_points_keep_the_day_where_they_can() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let pts = trend_dates(d("2026-01-31"), d("2026-04-30"), Step::Months(1)).unwrap();
        assert_eq!(
            pts,
            [
                d("2026-01-31"),
                d("2026-02-28"),
                d("2026-03-31"),
                d("2026-04-30")
            ]
        );
    }

    #[test]
    fn ratios_are_null_never_nan() {
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(0.0, 0.0), None);
        assert_eq!(pct(1.0, 4.0), Some(25.0));
    }

    #[test]
    fn scope_keys() {
        assert_eq!(Scope::plant().key(), "plant");
        let s = Scope {
            site: Some("R".into()),
            crew: Some("M".into()),
            area: None,
        };
        assert_eq!(s.key(), "site:R/crew:M");
    }
}
