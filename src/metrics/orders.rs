//! Lists of orders from the loaded frame: filtered, sorted, paged. The board's lists (new
//! breakdowns, overdue, stuck), the orders page and `/api/v1/orders` are all this one query.

use chrono::{DateTime, Utc};
use polars::prelude::*;
use serde::Serialize;

use super::frame::{DAY_MS, c, code, one_of, open_at};
use super::{Engine, MetricsError, Scope};
use crate::model::{Kind, Status};

/// The column of each row's place in the frame, while a list is sorted.
const ROW: &str = "_row";

/// How a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Oldest first (created earliest).
    #[default]
    Age,
    Due,
    Priority,
    Created,
    Id,
}

impl std::str::FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<SortKey, String> {
        Ok(match s {
            "age" => SortKey::Age,
            "due" => SortKey::Due,
            "priority" => SortKey::Priority,
            "created" => SortKey::Created,
            "id" => SortKey::Id,
            _ => {
                return Err(format!(
                    "`{s}` is not a sort key; use age, due, priority, created or id"
                ));
            }
        })
    }
}

/// Which orders to list.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    pub scope: Scope,
    /// Keep only these statuses (empty: all).
    pub statuses: Vec<Status>,
    /// Keep only these kinds (empty: all).
    pub kinds: Vec<Kind>,
    /// Only orders open now.
    pub open: bool,
    /// Only open orders past their due instant.
    pub overdue: bool,
    /// Only orders created at or after this instant.
    pub created_since: Option<DateTime<Utc>>,
    /// Only open orders on hold, or in progress for longer than this many days.
    pub stuck_after_days: Option<f64>,
    /// Only orders of this asset (its id).
    pub asset: Option<String>,
    /// Only orders with this data-quality problem (crate::quality), cancelled ones included.
    pub quality: Option<crate::quality::Problem>,
    pub sort: SortKey,
    pub descending: bool,
    pub offset: usize,
    /// At most this many rows (`None`: all).
    pub limit: Option<usize>,
}

/// One listed order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderRow {
    pub source: String,
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub status: Status,
    pub priority: u8,
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    pub assignee: Option<String>,
    pub asset_id: Option<String>,
    pub asset_name: Option<String>,
    pub asset_criticality: Option<u8>,
    pub created_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub estimate_hours: f64,
    /// What the order cost, in the plant's currency (`[plant] currency`).
    pub cost: Option<f64>,
    /// The CMMS's problem, cause or damage code.
    pub failure_code: Option<String>,
    /// Whole days since creation, at the time of the query.
    pub age_days: i64,
    /// Whole days past due (open orders only).
    pub overdue_days: Option<i64>,
}

/// A page of orders and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub total: usize,
    pub offset: usize,
    pub orders: Vec<OrderRow>,
}

impl Engine {
    /// Lists orders as of now.
    pub fn orders(&self, q: &OrderQuery) -> Result<OrderPage, MetricsError> {
        self.check_scope(&q.scope)?;
        let now = Utc::now().timestamp_millis();
        // Each row's place in the frame, so only the rows of the page are copied out.
        let mut lf = match q.scope.filter() {
            Some(f) => self
                .frame
                .clone()
                .lazy()
                .with_row_index(ROW, None)
                .filter(f),
            None => self.frame.clone().lazy().with_row_index(ROW, None),
        };
        let in_codes =
            |column: &str, codes: Vec<i32>| one_of(column, Series::new("codes".into(), codes));
        if !q.statuses.is_empty() {
            lf = lf.filter(in_codes(
                c::STATUS,
                q.statuses.iter().map(|s| code(Status::ALL, *s)).collect(),
            ));
        }
        if !q.kinds.is_empty() {
            lf = lf.filter(in_codes(
                c::KIND,
                q.kinds.iter().map(|k| code(Kind::ALL, *k)).collect(),
            ));
        }
        if q.open || q.overdue || q.stuck_after_days.is_some() {
            lf = lf.filter(open_at(now));
        }
        if q.overdue {
            lf = lf.filter(col(c::DUE).lt(lit(now)).fill_null(lit(false)));
        }
        if let Some(a) = &q.asset {
            lf = lf.filter(col(c::ASSET_ID).eq(lit(a.clone())).fill_null(lit(false)));
        }
        if let Some(p) = q.quality {
            lf = lf.filter(col(super::quality::flag(p)));
        }
        if let Some(since) = q.created_since {
            lf = lf.filter(col(c::CREATED).gt_eq(lit(since.timestamp_millis())));
        }
        if let Some(days) = q.stuck_after_days {
            let limit = now - (days * DAY_MS as f64) as i64;
            let on_hold = col(c::STATUS).eq(lit(code(Status::ALL, Status::OnHold)));
            let since = col(c::STARTED)
                .fill_null(col(c::UPDATED))
                .fill_null(col(c::CREATED));
            let long_in_progress = col(c::STATUS)
                .eq(lit(code(Status::ALL, Status::InProgress)))
                .and(since.lt(lit(limit)));
            lf = lf.filter(on_hold.or(long_in_progress).fill_null(lit(false)));
        }
        let (key, nulls_last) = match q.sort {
            SortKey::Age | SortKey::Created => (c::CREATED, true),
            SortKey::Due => (c::DUE, true),
            SortKey::Priority => (c::PRIORITY, true),
            SortKey::Id => (c::ID, true),
        };
        // Age ascending means oldest first: created ascending. Only the sort keys and the row
        // numbers are sorted; the page's rows are then taken from the frame.
        let descending = q.descending;
        let mut keep = vec![ROW];
        for name in [key, c::CREATED, c::ID] {
            if !keep.contains(&name) {
                keep.push(name);
            }
        }
        let sorted = lf
            .select(keep.into_iter().map(col).collect::<Vec<_>>())
            .sort_by_exprs(
                [col(key), col(c::CREATED), col(c::ID)],
                SortMultipleOptions::default()
                    .with_order_descending_multi([descending, descending, false])
                    .with_nulls_last(nulls_last)
                    .with_maintain_order(true),
            )
            .collect()?;
        let total = sorted.height();
        let start = q.offset.min(total);
        let len = q.limit.unwrap_or(total).min(total - start);
        let rows_of_page = sorted.column(ROW)?.idx()?.slice(start as i64, len);
        let page = self.frame.take(&rows_of_page)?;
        Ok(OrderPage {
            total,
            offset: start,
            orders: rows(&page, now)?,
        })
    }
}

fn rows(df: &DataFrame, now: i64) -> PolarsResult<Vec<OrderRow>> {
    let s = |name: &str| -> PolarsResult<StringChunked> { Ok(df.column(name)?.str()?.clone()) };
    let i64s = |name: &str| -> PolarsResult<Int64Chunked> { Ok(df.column(name)?.i64()?.clone()) };
    let i32s = |name: &str| -> PolarsResult<Int32Chunked> { Ok(df.column(name)?.i32()?.clone()) };
    let (source, id, title) = (s(c::SOURCE)?, s(c::ID)?, s(c::TITLE)?);
    let (site, area, crew, assignee, asset_id, asset_name) = (
        s(c::SITE)?,
        s(c::AREA)?,
        s(c::CREW)?,
        s(c::ASSIGNEE)?,
        s(c::ASSET_ID)?,
        s(c::ASSET_NAME)?,
    );
    let (kind, status, priority, crit) = (
        i32s(c::KIND)?,
        i32s(c::STATUS)?,
        i32s(c::PRIORITY)?,
        i32s(c::CRITICALITY)?,
    );
    let (created, due, started, updated, done) = (
        i64s(c::CREATED)?,
        i64s(c::DUE)?,
        i64s(c::STARTED)?,
        i64s(c::UPDATED)?,
        i64s(c::DONE)?,
    );
    let estimate = df.column(c::ESTIMATE)?.f64()?.clone();
    let cost = df.column(c::COST)?.f64()?.clone();
    let failure_code = s(c::FAILURE_CODE)?;
    let t = |v: Option<i64>| v.and_then(DateTime::from_timestamp_millis);
    let text = |ca: &StringChunked, i: usize| ca.get(i).map(str::to_string);
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let created_ms = created.get(i).unwrap_or(0);
        let done_ms = done.get(i);
        let is_open = done_ms.is_none_or(|d| d >= now);
        out.push(OrderRow {
            source: text(&source, i).unwrap_or_default(),
            id: text(&id, i).unwrap_or_default(),
            title: text(&title, i).unwrap_or_default(),
            kind: Kind::ALL[kind.get(i).unwrap_or(0) as usize],
            status: Status::ALL[status.get(i).unwrap_or(0) as usize],
            priority: priority.get(i).unwrap_or(3) as u8,
            site: text(&site, i),
            area: text(&area, i),
            crew: text(&crew, i),
            assignee: text(&assignee, i),
            asset_id: text(&asset_id, i),
            asset_name: text(&asset_name, i),
            asset_criticality: crit.get(i).map(|c| c as u8),
            created_at: t(Some(created_ms)).unwrap_or_default(),
            due_at: t(due.get(i)),
            started_at: t(started.get(i)),
            updated_at: t(updated.get(i)),
            completed_at: t(done_ms),
            estimate_hours: estimate.get(i).unwrap_or(0.0),
            cost: cost.get(i),
            failure_code: text(&failure_code, i),
            age_days: (now - created_ms).div_euclid(DAY_MS),
            overdue_days: due
                .get(i)
                .filter(|d| is_open && *d < now)
                .map(|d| (now - d).div_euclid(DAY_MS)),
        });
    }
    Ok(out)
}
