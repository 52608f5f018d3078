//! The counts behind the data-quality report (crate::quality): per scope, the stored orders,
//! each problem's count, and by week of creation the orders created and those with each
//! problem, in one pass over the frame.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use polars::prelude::*;

use super::frame::c;
use super::{Engine, MetricsError, QUALITY, QUALITY_FLAGS, Quality, Scope, int, quality_counts};
use crate::mapping::dates::local_to_utc;
use crate::quality::{CreatedWeek, Problem};

/// The frame's flag column of a problem.
pub(crate) fn flag(p: Problem) -> &'static str {
    let i = Problem::ALL
        .iter()
        .position(|x| *x == p)
        .expect("every problem is in ALL");
    QUALITY_FLAGS[i]
}

impl Engine {
    /// The stored orders of `scope` (cancelled included), their data quality, and the last
    /// `weeks` weeks of creation up to `now` (the current week last, Monday to Sunday, plant
    /// time).
    pub fn quality(
        &self,
        scope: &Scope,
        weeks: u32,
        now: DateTime<Utc>,
    ) -> Result<(u64, Quality, Vec<CreatedWeek>), MetricsError> {
        self.check_scope(scope)?;
        let tz = self.config.plant.tz;
        let today = now.with_timezone(&tz).date_naive();
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let starts: Vec<_> = (0..=weeks)
            .map(|i| monday - Duration::weeks(i64::from(weeks) - 1 - i64::from(i)))
            .collect();
        let bounds: Vec<i64> = starts
            .iter()
            .map(|d| local_to_utc(tz, d.and_time(NaiveTime::MIN)).timestamp_millis())
            .collect();
        let mut exprs: Vec<Expr> = vec![len().cast(DataType::Int64).alias("_total")];
        exprs.extend(QUALITY.map(|s| col(s).sum()));
        for (i, w) in bounds.windows(2).enumerate() {
            let created_in = || {
                col(c::CREATED)
                    .gt_eq(lit(w[0]))
                    .and(col(c::CREATED).lt(lit(w[1])))
                    .fill_null(lit(false))
            };
            exprs.push(
                created_in()
                    .cast(DataType::Int64)
                    .sum()
                    .alias(format!("_w{i}")),
            );
            for (j, flag) in QUALITY_FLAGS.iter().enumerate() {
                exprs.push(
                    created_in()
                        .and(col(*flag))
                        .cast(DataType::Int64)
                        .sum()
                        .alias(format!("_w{i}_{j}")),
                );
            }
        }
        let mut with_flags = quality_counts();
        with_flags.extend(QUALITY_FLAGS.map(col));
        with_flags.push(col(c::CREATED));
        let row = self
            .scoped(scope)
            .select(with_flags)
            .select(exprs)
            .collect()?;
        let total = int(&row, "_total", 0)?;
        let quality = self.quality_of(&row)?;
        let mut out = Vec::with_capacity(weeks as usize);
        for (i, start) in starts.iter().take(weeks as usize).enumerate() {
            let mut with = [0u64; 5];
            for (j, w) in with.iter_mut().enumerate() {
                *w = int(&row, &format!("_w{i}_{j}"), 0)?;
            }
            out.push(CreatedWeek {
                week_start: *start,
                created: int(&row, &format!("_w{i}"), 0)?,
                with,
            });
        }
        Ok((total, quality, out))
    }
}
