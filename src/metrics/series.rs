//! Every point of a trend in one pass over the orders.
//!
//! At a single instant the engine sums per-order contributions in polars (`contributions()` in
//! `mod.rs`). Over many instants `t_0 < t_1 < ...` each of those contributions is non-zero on one
//! run of consecutive points: an order is open from the first point after its creation to the
//! first point after its completion, it is "created in the window" from the first point after
//! its creation until the window has passed it, it is in an age bucket between two thresholds,
//! and so on. So each order adds its weight at the start of its run and takes it away at the
//! end (a difference array per sum), and one prefix sum gives every point: O(orders x log points)
//! instead of one full query per point. The same rules as `masks()` and `contributions()`; the
//! oracle test `a_trend_point_equals_the_metrics_of_its_date` holds the two together.

use polars::prelude::*;

use super::Raw;
use super::frame::{DAY_MS, c};

/// Counts, by index into the count difference arrays.
const OPEN: usize = 0;
const OVERDUE: usize = 1;
const AGE: [usize; 4] = [2, 3, 4, 5];
const CREATED: usize = 6;
const COMPLETED: usize = 7;
const COMPLETED_DUE: usize = 8;
const ON_TIME: usize = 9;
const REACTIVE_N: usize = 10;
const PLANNED_N: usize = 11;
const EMERGENCY_N: usize = 12;
const PM: usize = 13;
const PM_OK: usize = 14;
const SCHED: usize = 15;
const SCHED_OK: usize = 16;
const REPAIR_N: usize = 17;
const COUNTS: usize = 18;

/// Hour sums, by index into the hour difference arrays.
const BACKLOG: usize = 0;
const READY: usize = 1;
const REACTIVE_H: usize = 2;
const PLANNED_H: usize = 3;
const REPAIR_SUM: usize = 4;
const REACTIVE_COST: usize = 5;
const PLANNED_COST: usize = 6;
const HOURS: usize = 7;

/// The columns the series reads.
pub(super) const COLUMNS: [&str; 14] = [
    c::COUNTED,
    c::CREATED,
    c::DONE,
    c::DUE,
    c::ESTIMATE,
    c::READY,
    c::HOURS,
    c::REACTIVE,
    c::PLANNED,
    c::EMERGENCY,
    c::PM_DEADLINE,
    c::SCHED_DEADLINE,
    c::REPAIR_HOURS,
    c::COST,
];

/// Hours (and costs) are summed as integers of 2^-60: every f64 of a plausible size converts exactly, the
/// sums are exact, and a sum back to nothing is exactly 0 (with floats, adding and taking away
/// the same hours leaves residues like 1e-13, and a ratio over such a residue is nonsense).
const SCALE: f64 = (1u64 << 60) as f64;

fn fixed(h: f64) -> i128 {
    (h * SCALE) as i128
}

struct Diffs {
    points: usize,
    counts: Vec<Vec<i64>>,
    hours: Vec<Vec<i128>>,
    /// Sum of `created_at` of open orders (for the mean age), exact in 128 bits.
    created_sum: Vec<i128>,
}

impl Diffs {
    fn new(points: usize) -> Diffs {
        Diffs {
            points,
            counts: vec![vec![0; points + 1]; COUNTS],
            hours: vec![vec![0; points + 1]; HOURS],
            created_sum: vec![0; points + 1],
        }
    }

    /// One more for every point in `[a, b)`.
    fn count(&mut self, which: usize, a: usize, b: usize) {
        if a < b {
            self.counts[which][a] += 1;
            self.counts[which][b] -= 1;
        }
    }

    fn hours(&mut self, which: usize, a: usize, b: usize, h: f64) {
        if a < b && h != 0.0 {
            let h = fixed(h);
            self.hours[which][a] += h;
            self.hours[which][b] -= h;
        }
    }

    fn into_raws(self, instants: &[i64]) -> Vec<Raw> {
        let mut count = [0i64; COUNTS];
        let mut hours = [0i128; HOURS];
        let mut created_sum = 0i128;
        (0..self.points)
            .map(|k| {
                for (acc, d) in count.iter_mut().zip(&self.counts) {
                    *acc += d[k];
                }
                for (acc, d) in hours.iter_mut().zip(&self.hours) {
                    *acc += d[k];
                }
                created_sum += self.created_sum[k];
                let n = |i: usize| count[i].max(0) as u64;
                let h = |i: usize| hours[i] as f64 / SCALE;
                let age_ms = i128::from(instants[k]) * i128::from(count[OPEN]) - created_sum;
                Raw {
                    open_n: n(OPEN),
                    backlog_hours: h(BACKLOG),
                    ready_hours: h(READY),
                    overdue_n: n(OVERDUE),
                    age: AGE.map(n),
                    age_sum_days: age_ms as f64 / DAY_MS as f64,
                    created_n: n(CREATED),
                    completed_n: n(COMPLETED),
                    completed_due_n: n(COMPLETED_DUE),
                    on_time_n: n(ON_TIME),
                    reactive_hours: h(REACTIVE_H),
                    planned_hours: h(PLANNED_H),
                    reactive_n: n(REACTIVE_N),
                    planned_n: n(PLANNED_N),
                    emergency_n: n(EMERGENCY_N),
                    pm_n: n(PM),
                    pm_ok_n: n(PM_OK),
                    sched_n: n(SCHED),
                    sched_ok_n: n(SCHED_OK),
                    repair_sum: h(REPAIR_SUM),
                    repair_n: n(REPAIR_N),
                    reactive_cost: h(REACTIVE_COST),
                    planned_cost: h(PLANNED_COST),
                }
            })
            .collect()
    }
}

/// The raw sums at each of `instants` (ms, ascending) with a flow window of `w` days, from a
/// frame holding at least [`COLUMNS`].
pub(super) fn raw_series(df: &DataFrame, instants: &[i64], w: u32) -> PolarsResult<Vec<Raw>> {
    debug_assert!(instants.is_sorted());
    let p = instants.len();
    // The first point after `x` (t > x), and the first point at or after `x` (t >= x).
    let after = |x: i64| instants.partition_point(|t| *t <= x);
    let from = |x: i64| instants.partition_point(|t| *t < x);
    let window = i64::from(w) * DAY_MS;

    let b = |n: &str| -> PolarsResult<&BooleanChunked> { df.column(n)?.bool() };
    let i = |n: &str| -> PolarsResult<&Int64Chunked> { df.column(n)?.i64() };
    let f = |n: &str| -> PolarsResult<&Float64Chunked> { df.column(n)?.f64() };
    let (counted, ready) = (b(c::COUNTED)?, b(c::READY)?);
    let (reactive, planned, emergency) = (b(c::REACTIVE)?, b(c::PLANNED)?, b(c::EMERGENCY)?);
    let (created, done, due) = (i(c::CREATED)?, i(c::DONE)?, i(c::DUE)?);
    let (pm_deadline, sched_deadline) = (i(c::PM_DEADLINE)?, i(c::SCHED_DEADLINE)?);
    let (estimate, hours, repair) = (f(c::ESTIMATE)?, f(c::HOURS)?, f(c::REPAIR_HOURS)?);
    let cost = f(c::COST)?;

    let mut d = Diffs::new(p);
    for r in 0..df.height() {
        if counted.get(r) != Some(true) {
            continue;
        }
        let Some(created_at) = created.get(r) else {
            continue;
        };
        let done_at = done.get(r);
        let due_at = due.get(r);

        // Open: created before t, not done before t.
        let (a, z) = (after(created_at), done_at.map_or(p, after));
        d.count(OPEN, a, z);
        let est = estimate.get(r).unwrap_or(0.0);
        d.hours(BACKLOG, a, z, est);
        if ready.get(r) == Some(true) {
            d.hours(READY, a, z, est);
        }
        if a < z {
            d.created_sum[a] += i128::from(created_at);
            d.created_sum[z] -= i128::from(created_at);
        }
        if let Some(due_at) = due_at {
            d.count(OVERDUE, a.max(after(due_at)), z);
        }
        // Whole days of age: 0-7, 8-30, 31-90, 91 and more.
        let edges = [8, 31, 91].map(|days| from(created_at + days * DAY_MS));
        let bounds = [a, edges[0], edges[1], edges[2], p];
        for (bucket, which) in AGE.into_iter().enumerate() {
            d.count(which, bounds[bucket].max(a), bounds[bucket + 1].min(z));
        }

        // Flow: the event lies in the window [t - w, t).
        let in_window = |event: i64| (after(event), after(event + window));
        let (ca, cz) = in_window(created_at);
        d.count(CREATED, ca, cz);
        if let Some(done_at) = done_at {
            let (da, dz) = in_window(done_at);
            d.count(COMPLETED, da, dz);
            if let Some(due_at) = due_at {
                d.count(COMPLETED_DUE, da, dz);
                if done_at <= due_at {
                    d.count(ON_TIME, da, dz);
                }
            }
            let h = hours.get(r).unwrap_or(0.0);
            let money = cost.get(r).unwrap_or(0.0);
            if reactive.get(r) == Some(true) {
                d.hours(REACTIVE_H, da, dz, h);
                d.hours(REACTIVE_COST, da, dz, money);
                d.count(REACTIVE_N, da, dz);
                if let Some(rh) = repair.get(r) {
                    d.hours(REPAIR_SUM, da, dz, rh);
                    d.count(REPAIR_N, da, dz);
                }
            }
            if planned.get(r) == Some(true) {
                d.hours(PLANNED_H, da, dz, h);
                d.hours(PLANNED_COST, da, dz, money);
                d.count(PLANNED_N, da, dz);
            }
            if emergency.get(r) == Some(true) {
                d.count(EMERGENCY_N, da, dz);
            }
        }
        if let Some(pd) = pm_deadline.get(r) {
            let (pa, pz) = in_window(pd);
            d.count(PM, pa, pz);
            if done_at.is_some_and(|x| x <= pd) {
                d.count(PM_OK, pa, pz);
            }
        }
        if let Some(sd) = sched_deadline.get(r) {
            let (sa, sz) = in_window(sd);
            d.count(SCHED, sa, sz);
            if done_at.is_some_and(|x| x < sd) {
                d.count(SCHED_OK, sa, sz);
            }
        }
    }
    Ok(d.into_raws(instants))
}
