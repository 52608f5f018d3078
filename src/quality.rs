//! Data quality of the CMMS's orders (docs/quality.md): the problems a planner fixes at the
//! source, what each one breaks in the numbers, and the report the `/quality` page and
//! `/api/v1/quality` show: per problem its count over the stored orders of a scope, the share
//! of those orders, and its share among the orders created in each of the last weeks (is the
//! problem being fixed where orders are entered?). Plain functions; the metrics engine counts.

use chrono::NaiveDate;
use serde::Serialize;

use crate::metrics::{Quality, Scope};

/// One data-quality problem of an order (metrics.md, `quality`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    MissingEstimate,
    MissingDue,
    UnknownKind,
    CompletedWithoutDate,
    MissingAsset,
}

impl Problem {
    pub const ALL: [Problem; 5] = [
        Problem::MissingEstimate,
        Problem::MissingDue,
        Problem::UnknownKind,
        Problem::CompletedWithoutDate,
        Problem::MissingAsset,
    ];

    /// The key of `quality` in metrics.md.
    pub fn key(self) -> &'static str {
        match self {
            Problem::MissingEstimate => "missing_estimate",
            Problem::MissingDue => "missing_due",
            Problem::UnknownKind => "unknown_kind",
            Problem::CompletedWithoutDate => "completed_without_date",
            Problem::MissingAsset => "missing_asset",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Problem::MissingEstimate => "No estimate",
            Problem::MissingDue => "No due date",
            Problem::UnknownKind => "Unknown kind of work",
            Problem::CompletedWithoutDate => "Completed without a date",
            Problem::MissingAsset => "No asset",
        }
    }

    /// What the problem does to the numbers.
    pub fn breaks(self) -> &'static str {
        match self {
            Problem::MissingEstimate => {
                "counts with the default estimate of [defaults] (0 h without one): the backlog in crew-weeks and the pull lanes' fit are guesses"
            }
            Problem::MissingDue => {
                "never overdue: it is missing from the overdue count and schedule compliance"
            }
            Problem::UnknownKind => "left out of reactive vs planned work and PM compliance",
            Problem::CompletedWithoutDate => {
                "taken as completed at its last update (or left out): completion and MTTR shift"
            }
            Problem::MissingAsset => "belongs to no asset: bad actors and asset health miss it",
        }
    }

    /// What to do about it in the CMMS.
    pub fn fix(self) -> &'static str {
        match self {
            Problem::MissingEstimate => "enter the planned hours when the order is planned",
            Problem::MissingDue => "give every order a required-by date when it is approved",
            Problem::UnknownKind => {
                "set the order type, or map its code in the import profile (docs/profiles.md)"
            }
            Problem::CompletedWithoutDate => "record the actual finish when the order is closed",
            Problem::MissingAsset => "name the equipment or functional location on the order",
        }
    }

    pub fn count(self, q: &Quality) -> u64 {
        match self {
            Problem::MissingEstimate => q.missing_estimate,
            Problem::MissingDue => q.missing_due,
            Problem::UnknownKind => q.unknown_kind,
            Problem::CompletedWithoutDate => q.completed_without_date,
            Problem::MissingAsset => q.missing_asset,
        }
    }
}

impl std::str::FromStr for Problem {
    type Err = String;
    fn from_str(s: &str) -> Result<Problem, String> {
        Problem::ALL
            .into_iter()
            .find(|p| p.key() == s.trim())
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a data-quality problem; use one of: {}",
                    Problem::ALL.map(Problem::key).join(", ")
                )
            })
    }
}

/// The orders created in one week (Monday to Sunday, plant time) and how many of them have
/// each problem today, in the order of [`Problem::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWeek {
    pub week_start: NaiveDate,
    pub created: u64,
    pub with: [u64; 5],
}

/// One week of one problem's trend.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WeekShare {
    /// Monday of the week (plant time).
    pub week_start: NaiveDate,
    /// Orders created that week.
    pub created: u64,
    /// Of them, those with the problem.
    pub with_problem: u64,
    /// `100 * with_problem / created`; `null` for a week without orders.
    pub share_pct: Option<f64>,
}

/// One problem over a scope.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProblemReport {
    pub problem: Problem,
    pub label: &'static str,
    pub breaks: &'static str,
    pub fix: &'static str,
    /// Stored orders in scope with the problem (cancelled included), as `quality` in
    /// `gemba kpis --format json`.
    pub count: u64,
    /// `100 * count / total_orders`; `null` when the scope has no orders.
    pub share_pct: Option<f64>,
    /// By week of creation, oldest first.
    pub weeks: Vec<WeekShare>,
}

/// The data-quality report of one scope.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QualityReport {
    pub scope: Scope,
    /// Stored orders in scope, cancelled included.
    pub total_orders: u64,
    pub problems: Vec<ProblemReport>,
    /// Rows the last import run rejected (they are in no order).
    pub rejected_rows_last_import: u64,
}

fn pct(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| 100.0 * n as f64 / of as f64)
}

/// Assembles the report from the engine's counts.
pub fn report(scope: Scope, total: u64, q: &Quality, weeks: &[CreatedWeek]) -> QualityReport {
    let problems = Problem::ALL
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let count = p.count(q);
            ProblemReport {
                problem: p,
                label: p.label(),
                breaks: p.breaks(),
                fix: p.fix(),
                count,
                share_pct: pct(count, total),
                weeks: weeks
                    .iter()
                    .map(|w| WeekShare {
                        week_start: w.week_start,
                        created: w.created,
                        with_problem: w.with[i],
                        share_pct: pct(w.with[i], w.created),
                    })
                    .collect(),
            }
        })
        .collect();
    QualityReport {
        scope,
        total_orders: total,
        problems,
        rejected_rows_last_import: q.rejected_rows_last_import,
    }
}

/// The change of a problem's weekly share from the first half of the weeks to the second, in
/// percentage points: negative when fewer new orders have it. `None` without orders in either.
pub fn trend_points(weeks: &[WeekShare]) -> Option<f64> {
    let half = weeks.len() / 2;
    let share = |ws: &[WeekShare]| {
        let (n, of) = ws
            .iter()
            .fold((0, 0), |(n, of), w| (n + w.with_problem, of + w.created));
        pct(n, of)
    };
    Some(share(&weeks[half..])? - share(&weeks[..half])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(d: u32, created: u64, missing_estimate: u64) -> CreatedWeek {
        CreatedWeek {
            week_start: NaiveDate::from_ymd_opt(2026, 3, d).unwrap(),
            created,
            with: [missing_estimate, 0, 0, 0, 0],
        }
    }

    #[test]
    fn shares_are_of_the_scope_and_of_each_week() {
        let q = Quality {
            missing_estimate: 25,
            missing_asset: 5,
            rejected_rows_last_import: 2,
            ..Quality::default()
        };
        let weeks = [
            week(2, 10, 4),
            week(9, 0, 0),
            week(16, 20, 2),
            week(23, 10, 1),
        ];
        let r = report(Scope::plant(), 200, &q, &weeks);
        let est = &r.problems[0];
        assert_eq!(est.problem, Problem::MissingEstimate);
        assert_eq!(est.count, 25);
        assert_eq!(est.share_pct, Some(12.5));
        assert_eq!(est.weeks[0].share_pct, Some(40.0));
        assert_eq!(est.weeks[1].share_pct, None);
        assert_eq!(r.problems[4].share_pct, Some(2.5));
        assert_eq!(r.rejected_rows_last_import, 2);
        // 4 of 10 in the first half, 3 of 30 in the second: 30 points fewer.
        let t = trend_points(&est.weeks).unwrap();
        assert!((t - (10.0 - 40.0)).abs() < 1e-9, "{t}");
        let empty = report(Scope::plant(), 0, &Quality::default(), &[]);
        assert_eq!(empty.problems[0].share_pct, None);
        assert_eq!(trend_points(&empty.problems[0].weeks), None);
    }

    #[test]
    fn problems_are_named_by_their_metrics_keys() {
        for p in Problem::ALL {
            assert_eq!(p.key().parse::<Problem>(), Ok(p));
            let json = serde_json::to_value(p).unwrap();
            assert_eq!(json, p.key());
        }
        assert!(
            "missing"
                .parse::<Problem>()
                .unwrap_err()
                .contains("missing_due")
        );
    }
}
