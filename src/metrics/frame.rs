//! The orders as one polars frame, built once (loaded from the store, or, after an import, from
//! what the import wrote plus the stored orders it did not touch): the stored fields plus derived
//! columns (effective completion, estimate, hours, class, PM and schedule deadlines, repair
//! time, data-quality flags) that every metric reads. Derivations that need the calendar or
//! config are done here in Rust, exactly, so the metric expressions stay simple comparisons.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::config::{Config, PmGrace};
use crate::mapping::dates::local_to_utc;
use crate::model::{Class, Kind, Status, WorkOrder};
use crate::store::{OrderRef, Store, StoreError};

pub const DAY_MS: i64 = 86_400_000;

/// Column names of the frame.
pub mod c {
    pub const SOURCE: &str = "source";
    pub const ID: &str = "id";
    pub const TITLE: &str = "title";
    pub const KIND: &str = "kind";
    pub const STATUS: &str = "status";
    pub const PRIORITY: &str = "priority";
    pub const CRITICALITY: &str = "asset_criticality";
    pub const SITE: &str = "site";
    pub const AREA: &str = "area";
    pub const CREW: &str = "crew";
    pub const ASSIGNEE: &str = "assignee";
    pub const ASSET_ID: &str = "asset_id";
    pub const ASSET_NAME: &str = "asset_name";
    pub const COST: &str = "cost";
    pub const FAILURE_CODE: &str = "failure_code";
    pub const CREATED: &str = "created_at";
    pub const DUE: &str = "due_at";
    pub const SCHEDULED: &str = "scheduled_start";
    pub const STARTED: &str = "started_at";
    pub const UPDATED: &str = "updated_at";
    /// Effective completion: `completed_at`, else `updated_at` for a completed order.
    pub const DONE: &str = "done_at";
    /// Counts in metrics: not cancelled, and not completed without any date.
    pub const COUNTED: &str = "counted";
    pub const ESTIMATE: &str = "estimate";
    pub const HOURS: &str = "effective_hours";
    /// What is left of the estimate: estimate less `actual_hours` so far, never below 0.
    pub const REMAINING: &str = "remaining_hours";
    pub const REACTIVE: &str = "reactive";
    pub const PLANNED: &str = "planned";
    pub const EMERGENCY: &str = "emergency";
    pub const READY: &str = "ready";
    pub const PM_DEADLINE: &str = "pm_deadline";
    pub const SCHED_DEADLINE: &str = "schedule_deadline";
    pub const REPAIR_HOURS: &str = "repair_hours";
    /// `downtime_hours` as the source gave it (the asset's lost production time).
    pub const DOWNTIME: &str = "downtime_hours";
    pub const Q_MISSING_ESTIMATE: &str = "q_missing_estimate";
    pub const Q_MISSING_DUE: &str = "q_missing_due";
    pub const Q_UNKNOWN_KIND: &str = "q_unknown_kind";
    pub const Q_COMPLETED_WITHOUT_DATE: &str = "q_completed_without_date";
    pub const Q_MISSING_ASSET: &str = "q_missing_asset";
}

/// The code a vocabulary value (`Kind`, `Status`) has in its column: its index in `ALL`.
pub fn code<T: PartialEq + Copy>(all: &[T], v: T) -> i32 {
    all.iter().position(|x| *x == v).expect("a known value") as i32
}

/// Orders open at instant `t` (ms): counted, created before `t`, not done before `t`. The one
/// definition the metrics, the order lists and the pull lists share.
pub fn open_at(t: i64) -> Expr {
    col(c::COUNTED)
        .and(col(c::CREATED).lt(lit(t)))
        .and(col(c::DONE).is_null().or(col(c::DONE).gt_eq(lit(t))))
}

/// Whether a column's value is one of `values`.
pub fn one_of(column: &str, values: Series) -> Expr {
    col(column).is_in(lit(values).implode(false), false)
}

/// Builds the frame column by column; text goes straight into polars' builders.
struct Columns {
    source: StringChunkedBuilder,
    id: StringChunkedBuilder,
    title: StringChunkedBuilder,
    site: StringChunkedBuilder,
    area: StringChunkedBuilder,
    crew: StringChunkedBuilder,
    assignee: StringChunkedBuilder,
    asset_id: StringChunkedBuilder,
    asset_name: StringChunkedBuilder,
    failure_code: StringChunkedBuilder,
    cost: Vec<Option<f64>>,
    kind: Vec<i32>,
    status: Vec<i32>,
    priority: Vec<i32>,
    criticality: Vec<Option<i32>>,
    created: Vec<i64>,
    due: Vec<Option<i64>>,
    scheduled: Vec<Option<i64>>,
    started: Vec<Option<i64>>,
    updated: Vec<Option<i64>>,
    done: Vec<Option<i64>>,
    counted: Vec<bool>,
    estimate: Vec<f64>,
    hours: Vec<f64>,
    remaining: Vec<f64>,
    reactive: Vec<bool>,
    planned: Vec<bool>,
    emergency: Vec<bool>,
    ready: Vec<bool>,
    pm_deadline: Vec<Option<i64>>,
    sched_deadline: Vec<Option<i64>>,
    repair_hours: Vec<Option<f64>>,
    downtime: Vec<Option<f64>>,
    q_missing_estimate: Vec<bool>,
    q_missing_due: Vec<bool>,
    q_unknown_kind: Vec<bool>,
    q_completed_without_date: Vec<bool>,
    q_missing_asset: Vec<bool>,
    rows: usize,
    /// The end of the ISO week of each plant day met (`end_of_iso_week` needs two time-zone
    /// conversions; a frame has a few hundred distinct days and a million orders).
    week_ends: PlHashMap<chrono::NaiveDate, i64>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The first instant after the ISO week (Monday to Sunday, plant time) that holds `t`.
pub fn end_of_iso_week(t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let day = t.with_timezone(&tz).date_naive();
    let next_monday = day + Duration::days(7 - day.weekday().num_days_from_monday() as i64);
    local_to_utc(tz, next_monday.and_time(NaiveTime::MIN))
}

/// The PM grace of an order in milliseconds.
pub fn pm_grace_ms(grace: PmGrace, interval_days: Option<u32>) -> i64 {
    match grace {
        PmGrace::None => 0,
        PmGrace::OneDay => DAY_MS,
        PmGrace::TwentyPct => interval_days
            .map(|d| ((d as f64 * 0.2 * DAY_MS as f64).round() as i64).min(28 * DAY_MS))
            .unwrap_or(0),
    }
}

impl Columns {
    fn new(capacity: usize) -> Columns {
        let text = |name: &str| StringChunkedBuilder::new(name.into(), capacity);
        Columns {
            source: text(c::SOURCE),
            id: text(c::ID),
            title: text(c::TITLE),
            site: text(c::SITE),
            area: text(c::AREA),
            crew: text(c::CREW),
            assignee: text(c::ASSIGNEE),
            asset_id: text(c::ASSET_ID),
            asset_name: text(c::ASSET_NAME),
            failure_code: text(c::FAILURE_CODE),
            cost: Vec::with_capacity(capacity),
            kind: Vec::with_capacity(capacity),
            status: Vec::with_capacity(capacity),
            priority: Vec::with_capacity(capacity),
            criticality: Vec::with_capacity(capacity),
            created: Vec::with_capacity(capacity),
            due: Vec::with_capacity(capacity),
            scheduled: Vec::with_capacity(capacity),
            started: Vec::with_capacity(capacity),
            updated: Vec::with_capacity(capacity),
            done: Vec::with_capacity(capacity),
            counted: Vec::with_capacity(capacity),
            estimate: Vec::with_capacity(capacity),
            hours: Vec::with_capacity(capacity),
            remaining: Vec::with_capacity(capacity),
            reactive: Vec::with_capacity(capacity),
            planned: Vec::with_capacity(capacity),
            emergency: Vec::with_capacity(capacity),
            ready: Vec::with_capacity(capacity),
            pm_deadline: Vec::with_capacity(capacity),
            sched_deadline: Vec::with_capacity(capacity),
            repair_hours: Vec::with_capacity(capacity),
            downtime: Vec::with_capacity(capacity),
            q_missing_estimate: Vec::with_capacity(capacity),
            q_missing_due: Vec::with_capacity(capacity),
            q_unknown_kind: Vec::with_capacity(capacity),
            q_completed_without_date: Vec::with_capacity(capacity),
            q_missing_asset: Vec::with_capacity(capacity),
            rows: 0,
            week_ends: PlHashMap::default(),
        }
    }

    fn push(&mut self, o: &OrderRef<'_>, cfg: &Config) {
        let tz = cfg.plant.tz;
        let done = o.completed_at.or(if o.status == Status::Completed {
            o.updated_at
        } else {
            None
        });
        let excluded = o.status == Status::Completed && done.is_none();
        let cancelled = o.status == Status::Cancelled;
        let estimate = o
            .estimated_hours
            .filter(|h| *h > 0.0)
            .unwrap_or_else(|| cfg.defaults.estimate_for(o.kind));
        let hours = o.actual_hours.filter(|h| *h > 0.0).unwrap_or(estimate);
        let class = o.kind.class();
        let repair = if class == Class::Reactive {
            o.downtime_hours.or(match (o.started_at, done) {
                (Some(s), Some(d)) => Some((d - s) as f64 / 3_600_000.0),
                _ => None,
            })
        } else {
            None
        };
        self.kind.push(code(Kind::ALL, o.kind));
        self.status.push(code(Status::ALL, o.status));
        self.priority.push(o.priority.get() as i32);
        self.criticality
            .push(o.asset_criticality.map(|c| c.get() as i32));
        self.created.push(o.created_at);
        self.due.push(o.due_at);
        self.scheduled.push(o.scheduled_start);
        self.started.push(o.started_at);
        self.updated.push(o.updated_at);
        self.done.push(done);
        self.counted.push(!cancelled && !excluded);
        self.estimate.push(estimate);
        self.hours.push(hours);
        self.remaining
            .push((estimate - o.actual_hours.filter(|h| *h > 0.0).unwrap_or(0.0)).max(0.0));
        self.reactive.push(class == Class::Reactive);
        self.planned.push(class == Class::Planned);
        self.emergency.push(o.kind == Kind::Emergency);
        self.ready
            .push(matches!(o.status, Status::Ready | Status::Scheduled));
        self.pm_deadline.push(
            o.due_at
                .filter(|_| o.kind.is_pm())
                .map(|d| d + pm_grace_ms(cfg.metrics.pm_grace, o.pm_interval_days)),
        );
        let week_ends = &mut self.week_ends;
        self.sched_deadline.push(o.scheduled_start.map(|s| {
            let t = DateTime::from_timestamp_millis(s).unwrap_or_default();
            let day = t.with_timezone(&tz).date_naive();
            *week_ends
                .entry(day)
                .or_insert_with(|| ms(end_of_iso_week(t, tz)))
        }));
        self.repair_hours.push(repair);
        self.downtime.push(o.downtime_hours);
        self.q_missing_estimate
            .push(!o.estimated_hours.is_some_and(|h| h > 0.0));
        self.q_missing_due.push(o.due_at.is_none());
        self.q_unknown_kind.push(o.kind == Kind::Other);
        self.q_completed_without_date
            .push(o.status == Status::Completed && o.completed_at.is_none());
        self.q_missing_asset.push(o.asset_id.is_none());
        self.source.append_value(o.source);
        self.id.append_value(o.id);
        self.title.append_value(o.title);
        self.site.append_option(o.site);
        self.area.append_option(o.area);
        self.crew.append_option(o.crew);
        self.assignee.append_option(o.assignee);
        self.asset_id.append_option(o.asset_id);
        self.asset_name.append_option(o.asset_name);
        self.failure_code.append_option(o.failure_code);
        self.cost.push(o.cost);
        self.rows += 1;
    }

    fn into_frame(self) -> PolarsResult<DataFrame> {
        let n = self.rows;
        let text = |b: StringChunkedBuilder| b.finish().into_column();
        let cols = vec![
            text(self.source),
            text(self.id),
            text(self.title),
            Column::new(c::KIND.into(), self.kind),
            Column::new(c::STATUS.into(), self.status),
            Column::new(c::PRIORITY.into(), self.priority),
            Column::new(c::CRITICALITY.into(), self.criticality),
            text(self.site),
            text(self.area),
            text(self.crew),
            text(self.assignee),
            text(self.asset_id),
            text(self.asset_name),
            text(self.failure_code),
            Column::new(c::COST.into(), self.cost),
            Column::new(c::CREATED.into(), self.created),
            Column::new(c::DUE.into(), self.due),
            Column::new(c::SCHEDULED.into(), self.scheduled),
            Column::new(c::STARTED.into(), self.started),
            Column::new(c::UPDATED.into(), self.updated),
            Column::new(c::DONE.into(), self.done),
            Column::new(c::COUNTED.into(), self.counted),
            Column::new(c::ESTIMATE.into(), self.estimate),
            Column::new(c::HOURS.into(), self.hours),
            Column::new(c::REMAINING.into(), self.remaining),
            Column::new(c::REACTIVE.into(), self.reactive),
            Column::new(c::PLANNED.into(), self.planned),
            Column::new(c::EMERGENCY.into(), self.emergency),
            Column::new(c::READY.into(), self.ready),
            Column::new(c::PM_DEADLINE.into(), self.pm_deadline),
            Column::new(c::SCHED_DEADLINE.into(), self.sched_deadline),
            Column::new(c::REPAIR_HOURS.into(), self.repair_hours),
            Column::new(c::DOWNTIME.into(), self.downtime),
            Column::new(c::Q_MISSING_ESTIMATE.into(), self.q_missing_estimate),
            Column::new(c::Q_MISSING_DUE.into(), self.q_missing_due),
            Column::new(c::Q_UNKNOWN_KIND.into(), self.q_unknown_kind),
            Column::new(
                c::Q_COMPLETED_WITHOUT_DATE.into(),
                self.q_completed_without_date,
            ),
            Column::new(c::Q_MISSING_ASSET.into(), self.q_missing_asset),
        ];
        DataFrame::new(n, cols)
    }
}

/// Builds the frame from orders (the store's, or a test's).
pub fn frame_from_orders(
    orders: impl IntoIterator<Item = WorkOrder>,
    cfg: &Config,
) -> PolarsResult<DataFrame> {
    let mut cols = Columns::new(1024);
    for o in orders {
        cols.push(&OrderRef::of(&o), cfg);
    }
    cols.into_frame()
}

/// Loads every stored order into a frame, streaming from the store.
pub fn load_frame(store: &mut Store, cfg: &Config) -> Result<DataFrame, super::MetricsError> {
    let count = store.order_count().map_err(super::MetricsError::Store)? as usize;
    let mut cols = Columns::new(count);
    store
        .scan_order_refs(|o| cols.push(o, cfg))
        .map_err(super::MetricsError::Store)?;
    cols.into_frame().map_err(super::MetricsError::from)
}

/// The orders an import writes, gathered into the frame's columns as they are written, so the
/// frame after the import can be had without reloading what was just written (see
/// [`frame_after_imports`]).
pub struct GatheredOrders {
    cols: Columns,
    cfg: Config,
    source: String,
}

impl GatheredOrders {
    /// For orders of `source` (every order of one import has the same).
    pub fn new(source: &str, cfg: &Config) -> GatheredOrders {
        GatheredOrders {
            cols: Columns::new(64 * 1024),
            cfg: cfg.clone(),
            source: source.to_string(),
        }
    }

    /// Adds an order as written; a later order with the same id replaces it.
    pub fn push(&mut self, o: &WorkOrder) {
        debug_assert_eq!(o.source, self.source);
        self.cols.push(&OrderRef::of(o), &self.cfg);
    }

    /// The frame of the orders as the store has them: the last row of each id.
    pub fn finish(self) -> PolarsResult<ImportedOrders> {
        let frame = self.cols.into_frame()?;
        let keep = {
            let ids = frame.column(c::ID)?.str()?;
            let mut at: PlHashMap<&str, usize> = PlHashMap::with_capacity(ids.len());
            let mut keep = vec![true; ids.len()];
            for (r, id) in ids.iter().map(Option::unwrap_or_default).enumerate() {
                if let Some(before) = at.insert(id, r) {
                    keep[before] = false;
                }
            }
            keep
        };
        let frame = if keep.contains(&false) {
            frame.filter(&BooleanChunked::from_slice("keep".into(), &keep))?
        } else {
            frame
        };
        Ok(ImportedOrders {
            source: self.source,
            frame,
        })
    }
}

/// The orders one import wrote, one row per id, as frame rows.
pub struct ImportedOrders {
    source: String,
    frame: DataFrame,
}

impl std::fmt::Debug for ImportedOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedOrders")
            .field("source", &self.source)
            .field("orders", &self.frame.height())
            .finish()
    }
}

/// The ids of a frame's rows.
fn ids_of(frame: &DataFrame) -> PolarsResult<PlHashSet<&str>> {
    Ok(frame
        .column(c::ID)?
        .str()?
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

/// The frame of every stored order once `imports` (in the order they were committed) are in the
/// store: their orders, an order written by two imports taken from the later, and the stored
/// orders none of them wrote. It holds the rows [`load_frame`] would load, not necessarily in
/// their order. `cfg` is the config the imports gathered with (it derives the same columns).
pub fn frame_after_imports(
    store: &mut Store,
    cfg: &Config,
    imports: Vec<ImportedOrders>,
) -> Result<DataFrame, super::MetricsError> {
    // Ids are compared only when one can be in two places: in two imports of one source, or
    // among stored orders the imports did not touch. Each import's id set is built once.
    let repeated = imports
        .iter()
        .enumerate()
        .any(|(k, i)| imports[k + 1..].iter().any(|j| j.source == i.source));
    let id_sets = || -> PolarsResult<Vec<PlHashSet<&str>>> {
        imports.iter().map(|i| ids_of(&i.frame)).collect()
    };
    let mut sets = if repeated { id_sets()? } else { Vec::new() };
    // An order an earlier import of the same source wrote is in the store as the later wrote it.
    let mut keeps: Vec<Option<BooleanChunked>> = vec![None; imports.len()];
    if repeated {
        for (k, i) in imports.iter().enumerate() {
            let later: Vec<&PlHashSet<&str>> = (k + 1..imports.len())
                .filter(|&j| imports[j].source == i.source)
                .map(|j| &sets[j])
                .collect();
            if !later.is_empty() {
                let keep: BooleanChunked = i
                    .frame
                    .column(c::ID)?
                    .str()?
                    .iter()
                    .map(|id| Some(!later.iter().any(|l| l.contains(id.unwrap_or_default()))))
                    .collect();
                keeps[k] = Some(keep);
            }
        }
    }
    // The store holds the orders the imports wrote and those they did not touch: when the
    // count says there are none of the latter, the store is not read.
    let written: usize = imports
        .iter()
        .zip(&keeps)
        .map(|(i, keep)| {
            keep.as_ref()
                .map_or(i.frame.height(), |k| k.sum().unwrap_or(0) as usize)
        })
        .sum();
    let untouched = (store.order_count()? as usize).saturating_sub(written);
    let mut frames = Vec::with_capacity(imports.len() + 1);
    if untouched > 0 {
        if !repeated {
            sets = id_sets()?;
        }
        let mut cols = Columns::new(untouched);
        store.scan_order_refs_except(
            |source, id| {
                imports
                    .iter()
                    .zip(&sets)
                    .any(|(i, set)| i.source == source && set.contains(id))
            },
            |o| cols.push(o, cfg),
        )?;
        frames.push(cols.into_frame()?);
    }
    drop(sets);
    for (i, keep) in imports.into_iter().zip(keeps) {
        frames.push(match keep {
            Some(keep) => i.frame.filter(&keep)?,
            None => i.frame,
        });
    }
    let mut frames = frames.into_iter();
    let Some(mut frame) = frames.next() else {
        return Ok(Columns::new(0).into_frame()?);
    };
    let mut stacked = false;
    for part in frames {
        frame.vstack_mut_owned(part)?;
        stacked = true;
    }
    if stacked {
        frame.rechunk_mut();
    }
    Ok(frame)
}

impl From<StoreError> for super::MetricsError {
    fn from(e: StoreError) -> Self {
        super::MetricsError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn iso_week_ends_on_the_next_monday_in_plant_time() {
        let utc_tz = Tz::UTC;
        // Wednesday 30 April 2025: the week runs into May; it ends at Monday 5 May 00:00.
        assert_eq!(
            end_of_iso_week(utc("2025-04-30T10:00:00Z"), utc_tz),
            utc("2025-05-05T00:00:00Z")
        );
        // A Sunday is still the same week.
        assert_eq!(
            end_of_iso_week(utc("2025-05-04T23:59:00Z"), utc_tz),
            utc("2025-05-05T00:00:00Z")
        );
        // Sunday 23:30 UTC is already Monday in Berlin: the next week.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            end_of_iso_week(utc("2025-05-04T23:30:00Z"), berlin),
            utc("2025-05-11T22:00:00Z")
        );
    }

    #[test]
    fn pm_grace_rules() {
        assert_eq!(pm_grace_ms(PmGrace::None, Some(30)), 0);
        assert_eq!(pm_grace_ms(PmGrace::OneDay, None), DAY_MS);
        assert_eq!(pm_grace_ms(PmGrace::TwentyPct, Some(30)), 6 * DAY_MS);
        assert_eq!(pm_grace_ms(PmGrace::TwentyPct, Some(365)), 28 * DAY_MS);
        assert_eq!(pm_grace_ms(PmGrace::TwentyPct, None), 0);
    }
}
