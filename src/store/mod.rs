//! The store facade: work orders, import runs with their rejected rows, and daily snapshots.
//! Callers see only this module; the SQLite engine sits behind it (and a PostgreSQL one can join
//! it) so nothing outside knows SQL. Every import is one transaction: all of it or none of it.

mod sqlite;

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{Criticality, Kind, Priority, Status, WorkOrder};

/// At most this many rejected rows are kept per run; the run's count stays exact.
pub const MAX_STORED_REJECTIONS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store URL `{0}`: use sqlite:FILE (e.g. sqlite:gemba.db){1}")]
    Url(String, &'static str),
    #[error("store {url}: {source}")]
    Sqlite {
        url: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store {url}: the stored row {what} is not valid: {reason}")]
    Corrupt {
        url: String,
        what: String,
        reason: String,
    },
}

/// What kind of run brought orders in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Csv,
    Sync,
    Demo,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Csv => "csv",
            RunKind::Sync => "sync",
            RunKind::Demo => "demo",
        }
    }
}

/// The identity of a run, known before it starts.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub kind: RunKind,
    pub source: String,
    pub file: Option<String>,
    pub profile: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// Row counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunCounts {
    pub read: u64,
    pub upserted: u64,
    pub rejected: u64,
}

/// A row that was not imported: where, which field, the value as found, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub field: String,
    pub value: String,
    pub reason: String,
}

/// A stored run, as `/imports` and `gemba imports` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRun {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub file: Option<String>,
    pub profile: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counts: RunCounts,
    pub outcome: String,
    pub error: Option<String>,
}

/// A huddle action as stored. `board` and `origin` are scope keys (`crew:NAME`, `area:NAME`,
/// `site:NAME`, `plant`); `origin` is the board it was raised on, `board` where it is now.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Action {
    pub id: i64,
    pub board: String,
    pub origin: String,
    pub title: String,
    pub owner: String,
    /// YYYY-MM-DD, plant time.
    pub due: String,
    pub status: String,
    pub orders: Vec<String>,
    pub escalated_from: Option<String>,
    pub escalation_reason: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of an action that a write sets.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionWrite {
    pub board: String,
    pub title: String,
    pub owner: String,
    pub due: String,
    pub status: String,
    pub orders: Vec<String>,
    pub escalated_from: Option<String>,
    pub escalation_reason: Option<String>,
    pub note: Option<String>,
}

/// One line of an action's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActionChange {
    pub action_id: i64,
    pub at: DateTime<Utc>,
    pub who: String,
    pub what: String,
}

/// A huddle held at a board.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Huddle {
    pub id: i64,
    pub board: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Names, comma separated.
    pub attendees: String,
    /// The TV pages it showed, comma separated, in the order first shown (docs/huddle.md).
    pub pages: String,
}

/// One run of a scheduled job (by its schedule, by hand, or at start-up for a missed run).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobRun {
    pub id: i64,
    pub job: String,
    /// `schedule`, `hand` or `startup`.
    pub trigger: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub files_imported: u64,
    pub files_failed: u64,
    /// Duplicates (content imported before).
    pub files_skipped: u64,
    pub counts: RunCounts,
    /// `running`, `ok`, `failed`.
    pub outcome: String,
    pub error: Option<String>,
}

/// A stored order borrowed from the store's row: what bulk readers (the metrics frame) read
/// without allocating. Instants are UTC milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct OrderRef<'r> {
    pub source: &'r str,
    pub id: &'r str,
    pub title: &'r str,
    pub kind: Kind,
    pub status: Status,
    pub priority: Priority,
    pub site: Option<&'r str>,
    pub area: Option<&'r str>,
    pub crew: Option<&'r str>,
    pub assignee: Option<&'r str>,
    pub asset_id: Option<&'r str>,
    pub asset_name: Option<&'r str>,
    pub asset_criticality: Option<Criticality>,
    pub created_at: i64,
    pub due_at: Option<i64>,
    pub scheduled_start: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub estimated_hours: Option<f64>,
    pub actual_hours: Option<f64>,
    pub downtime_hours: Option<f64>,
    pub pm_interval_days: Option<u32>,
    pub cost: Option<f64>,
    pub failure_code: Option<&'r str>,
}

impl<'r> OrderRef<'r> {
    /// The owned order.
    pub fn to_order(&self) -> WorkOrder {
        let t = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        WorkOrder {
            source: self.source.to_string(),
            id: self.id.to_string(),
            title: self.title.to_string(),
            kind: self.kind,
            status: self.status,
            priority: self.priority,
            site: self.site.map(str::to_string),
            area: self.area.map(str::to_string),
            crew: self.crew.map(str::to_string),
            assignee: self.assignee.map(str::to_string),
            asset_id: self.asset_id.map(str::to_string),
            asset_name: self.asset_name.map(str::to_string),
            asset_criticality: self.asset_criticality,
            created_at: t(self.created_at),
            due_at: self.due_at.map(t),
            scheduled_start: self.scheduled_start.map(t),
            started_at: self.started_at.map(t),
            completed_at: self.completed_at.map(t),
            updated_at: self.updated_at.map(t),
            estimated_hours: self.estimated_hours,
            actual_hours: self.actual_hours,
            downtime_hours: self.downtime_hours,
            pm_interval_days: self.pm_interval_days,
            cost: self.cost,
            failure_code: self.failure_code.map(str::to_string),
        }
    }

    /// A borrowed view of an owned order.
    pub fn of(o: &'r WorkOrder) -> OrderRef<'r> {
        let ms = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_millis());
        OrderRef {
            source: &o.source,
            id: &o.id,
            title: &o.title,
            kind: o.kind,
            status: o.status,
            priority: o.priority,
            site: o.site.as_deref(),
            area: o.area.as_deref(),
            crew: o.crew.as_deref(),
            assignee: o.assignee.as_deref(),
            asset_id: o.asset_id.as_deref(),
            asset_name: o.asset_name.as_deref(),
            asset_criticality: o.asset_criticality,
            created_at: o.created_at.timestamp_millis(),
            due_at: ms(o.due_at),
            scheduled_start: ms(o.scheduled_start),
            started_at: ms(o.started_at),
            completed_at: ms(o.completed_at),
            updated_at: ms(o.updated_at),
            estimated_hours: o.estimated_hours,
            actual_hours: o.actual_hours,
            downtime_hours: o.downtime_hours,
            pm_interval_days: o.pm_interval_days,
            cost: o.cost,
            failure_code: o.failure_code.as_deref(),
        }
    }
}

/// One page of a sync, written in one transaction: its orders, its rejections, the run's counts
/// so far, and (when the page completes a stretch the source has sent in order) the connector's
/// new watermark. A crash between pages loses nothing committed and repeats nothing uncommitted.
pub struct Page<'p> {
    pub run_id: i64,
    pub orders: &'p [WorkOrder],
    pub rejections: &'p [Rejection],
    pub counts: RunCounts,
    /// (connector, latest `updated_at` now fully in the store).
    pub watermark: Option<(&'p str, DateTime<Utc>)>,
}

/// The store, opened from a URL.
pub struct Store {
    engine: sqlite::Sqlite,
}

/// An import in progress: one transaction. Dropping it without `commit` rolls everything back.
pub struct ImportTx<'s> {
    inner: sqlite::ImportTx<'s>,
}

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    /// `sqlite:FILE`, `sqlite://FILE` and `sqlite::memory:` are understood.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(StoreError::Url(
                url.split('@').next_back().unwrap_or(url).to_string(),
                "; PostgreSQL is not part of this build yet",
            ));
        } else {
            return Err(StoreError::Url(url.to_string(), ""));
        };
        if path.is_empty() {
            return Err(StoreError::Url(url.to_string(), ""));
        }
        Ok(Store {
            engine: sqlite::Sqlite::open(url, path)?,
        })
    }

    /// Starts an import. With `replace_source`, the source's stored orders are removed first
    /// (inside the same transaction), so the import's rows become the whole of that source.
    pub fn begin_import(
        &mut self,
        meta: &RunMeta,
        replace_source: bool,
    ) -> Result<ImportTx<'_>, StoreError> {
        Ok(ImportTx {
            inner: self.engine.begin_import(meta, replace_source)?,
        })
    }

    /// Records a run that failed: no orders were written. Its rejections are kept for the report.
    pub fn record_failed_run(
        &mut self,
        meta: &RunMeta,
        counts: RunCounts,
        error: &str,
        rejections: &[Rejection],
    ) -> Result<i64, StoreError> {
        self.engine
            .record_failed_run(meta, counts, error, rejections)
    }

    /// Opens a run that commits in several steps (a sync): recorded as `running` at once, so a
    /// run cut short still shows; [`Store::commit_page`] adds to it, [`Store::finish_run`] closes it.
    pub fn start_run(&mut self, meta: &RunMeta) -> Result<i64, StoreError> {
        self.engine.start_run(meta)
    }

    /// Writes one page of a sync in one transaction (see [`Page`]).
    pub fn commit_page(&mut self, page: &Page<'_>) -> Result<(), StoreError> {
        self.engine.commit_page(page)
    }

    /// Closes a run opened by [`Store::start_run`]: succeeded, or failed with `error`.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.engine.finish_run(run_id, counts, error)
    }

    /// The latest `updated_at` a connector has fully synced; `None` before its first sync.
    pub fn watermark(&self, connector: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.engine.watermark(connector)
    }

    /// The most recent runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<ImportRun>, StoreError> {
        self.engine.runs(limit)
    }

    /// One run by its id.
    pub fn run(&self, id: i64) -> Result<Option<ImportRun>, StoreError> {
        self.engine.run(id)
    }

    /// The stored rejected rows of a run, in line order.
    pub fn rejections(&self, run_id: i64) -> Result<Vec<Rejection>, StoreError> {
        self.engine.rejections(run_id)
    }

    pub fn order_count(&self) -> Result<u64, StoreError> {
        self.engine.order_count()
    }

    /// Every stored order, in key order.
    pub fn orders(&self) -> Result<Vec<WorkOrder>, StoreError> {
        let mut out = Vec::new();
        self.scan_order_refs(|o| out.push(o.to_order()))?;
        Ok(out)
    }

    /// Streams every stored order as a borrowed row, in key order, allocating nothing per row.
    pub fn scan_order_refs(&self, mut f: impl FnMut(&OrderRef<'_>)) -> Result<(), StoreError> {
        self.engine.scan_order_refs(&|_, _| false, &mut f)
    }

    /// As [`Store::scan_order_refs`], without the orders whose (source, id) `skip` names; a
    /// skipped row is not decoded past its key.
    pub fn scan_order_refs_except(
        &self,
        skip: impl Fn(&str, &str) -> bool,
        mut f: impl FnMut(&OrderRef<'_>),
    ) -> Result<(), StoreError> {
        self.engine.scan_order_refs(&skip, &mut f)
    }

    /// Rows rejected by the most recent CSV import or API sync (metrics' data quality).
    pub fn rejected_rows_last_import(&self) -> Result<u64, StoreError> {
        self.engine.rejected_rows_last_import()
    }

    /// Moves committed writes from the write-ahead log into the database file now (an import's
    /// commit leaves that to the next commit, so it can overlap other work).
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.engine.checkpoint()
    }

    /// Stores (or replaces) the metrics JSON of each (scope, JSON) for one day, in one
    /// transaction.
    pub fn put_snapshots(
        &mut self,
        date: NaiveDate,
        rows: &[(String, String)],
    ) -> Result<(), StoreError> {
        self.engine.put_snapshots(date, rows)
    }

    pub fn snapshot(&self, date: NaiveDate, scope: &str) -> Result<Option<String>, StoreError> {
        self.engine.snapshot(date, scope)
    }

    /// Writes an action (new when `id` is `None`) with one line of history, atomically.
    pub fn write_action(
        &mut self,
        id: Option<i64>,
        action: &ActionWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.engine.write_action(id, action, who, what, at)
    }

    pub fn action(&self, id: i64) -> Result<Option<Action>, StoreError> {
        self.engine.action(id)
    }

    /// Actions now on `board`, and/or raised on `origin`; the most recently changed first.
    pub fn actions(
        &self,
        board: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Vec<Action>, StoreError> {
        self.engine.actions(board, origin)
    }

    pub fn action_history(&self, id: i64) -> Result<Vec<ActionChange>, StoreError> {
        self.engine.action_history(id)
    }

    /// History lines of the actions on or from `board` between two instants.
    pub fn changes_between(
        &self,
        board: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ActionChange>, StoreError> {
        self.engine.changes_between(board, from, to)
    }

    pub fn start_huddle(&mut self, board: &str, at: DateTime<Utc>) -> Result<i64, StoreError> {
        self.engine.start_huddle(board, at)
    }

    /// Ends a huddle that is still open; false when there is none with that id.
    pub fn end_huddle(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        attendees: &str,
        pages: &str,
    ) -> Result<bool, StoreError> {
        self.engine.end_huddle(id, at, attendees, pages)
    }

    /// Marks a board's day on the safety cross (replacing its earlier mark of the day) with a
    /// history line, in one transaction. The caller has checked the mark (`crate::safety::check`).
    pub fn put_safety_mark(&mut self, m: &crate::safety::DayMark) -> Result<(), StoreError> {
        self.engine.put_safety_mark(
            &m.board,
            &m.day.to_string(),
            m.mark.as_str(),
            &m.note,
            &m.who,
            m.at,
        )
    }

    /// The safety marks of `boards` from `from` to `to` inclusive, by day then board.
    pub fn safety_marks(
        &self,
        boards: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<crate::safety::DayMark>, StoreError> {
        self.engine
            .safety_marks(boards, &from.to_string(), &to.to_string())?
            .into_iter()
            .map(|r| self.day_mark(r))
            .collect()
    }

    fn day_mark(&self, r: sqlite::SafetyRow) -> Result<crate::safety::DayMark, StoreError> {
        let (board, day, mark, note, who, at) = r;
        let corrupt = |reason: String| StoreError::Corrupt {
            url: self.engine.url().to_string(),
            what: format!("safety mark {board} {day}"),
            reason,
        };
        Ok(crate::safety::DayMark {
            day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| corrupt(e.to_string()))?,
            mark: crate::safety::Mark::parse(&mark).map_err(|e| corrupt(e.to_string()))?,
            at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
            board,
            note,
            who,
        })
    }

    pub fn huddles(&self, board: Option<&str>, limit: usize) -> Result<Vec<Huddle>, StoreError> {
        self.engine.huddles(board, limit)
    }

    /// Records the start of a job run; `finish_job_run` completes it.
    pub fn start_job_run(
        &mut self,
        job: &str,
        trigger: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.engine.start_job_run(job, trigger, at)
    }

    pub fn finish_job_run(&mut self, run: &JobRun) -> Result<(), StoreError> {
        self.engine.finish_job_run(run)
    }

    /// Job runs, newest first; of one job when given.
    pub fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StoreError> {
        self.engine.job_runs(job, limit)
    }

    /// Where content with this SHA-256 was imported from by a job, if it was.
    pub fn imported_file(&self, sha256: &str) -> Result<Option<String>, StoreError> {
        self.engine.imported_file(sha256)
    }

    pub fn record_imported_file(
        &mut self,
        sha256: &str,
        file: &str,
        job_run: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.engine.record_imported_file(sha256, file, job_run, at)
    }

    /// Every stored snapshot: (date, scope key, metrics JSON).
    pub fn snapshots(&self) -> Result<Vec<(NaiveDate, String, String)>, StoreError> {
        self.engine.snapshots()
    }
}

impl ImportTx<'_> {
    /// Inserts the order, or replaces the stored one with the same (source, id). Writes may be
    /// batched: they are all in the store at `commit`, and none of them without it.
    pub fn upsert(&mut self, order: WorkOrder) -> Result<(), StoreError> {
        self.inner.upsert(order)
    }

    /// Keeps a rejected row with the run (up to [`MAX_STORED_REJECTIONS`]).
    pub fn reject(&mut self, r: &Rejection) -> Result<(), StoreError> {
        self.inner.reject(r)
    }

    /// Makes the import permanent and closes its run as succeeded; returns the run id.
    pub fn commit(self, counts: RunCounts) -> Result<i64, StoreError> {
        self.inner.commit(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, title: &str) -> WorkOrder {
        WorkOrder {
            source: "s".into(),
            id: id.into(),
            title: title.into(),
            kind: Kind::Corrective,
            status: Status::Ready,
            priority: Priority::new(2).unwrap(),
            site: None,
            area: None,
            crew: Some("C".into()),
            assignee: None,
            asset_id: None,
            asset_name: None,
            asset_criticality: None,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            due_at: None,
            scheduled_start: None,
            started_at: None,
            completed_at: None,
            updated_at: None,
            estimated_hours: Some(1.5),
            actual_hours: None,
            downtime_hours: None,
            pm_interval_days: None,
            cost: None,
            failure_code: None,
        }
    }

    fn csv_run() -> RunMeta {
        RunMeta {
            kind: RunKind::Csv,
            source: "s".into(),
            file: None,
            profile: None,
            started_at: Utc::now(),
        }
    }

    #[test]
    fn a_store_from_before_costs_keeps_its_orders_and_gains_the_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let url = format!("sqlite:{}", path.display());
        let meta = csv_run();
        {
            let mut store = Store::open(&url).unwrap();
            let mut tx = store.begin_import(&meta, false).unwrap();
            tx.upsert(order("old", "from before")).unwrap();
            tx.commit(RunCounts::default()).unwrap();
        }
        // The schema as migration 5 left it: no cost, no failure code.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "ALTER TABLE orders DROP COLUMN cost; ALTER TABLE orders DROP COLUMN failure_code; PRAGMA user_version = 5;",
        )
        .unwrap();
        drop(conn);
        let mut store = Store::open(&url).unwrap();
        assert_eq!(store.orders().unwrap(), vec![order("old", "from before")]);
        let mut costed = order("new", "with a cost");
        costed.cost = Some(99.5);
        costed.failure_code = Some("SEAL-LEAK".into());
        let mut tx = store.begin_import(&meta, false).unwrap();
        tx.upsert(costed.clone()).unwrap();
        tx.commit(RunCounts::default()).unwrap();
        let orders = store.orders().unwrap();
        assert!(orders.contains(&costed) && orders.len() == 2, "{orders:?}");
    }

    #[test]
    fn batched_upserts_keep_the_last_of_a_repeated_key_and_roll_back_whole() {
        let mut store = Store::open("sqlite::memory:").unwrap();
        let meta = csv_run();
        let mut tx = store.begin_import(&meta, false).unwrap();
        for i in 0..70 {
            // "dup" sits in the first full batch twice, and once more among the last rows.
            let (id, title) = match i {
                3 => ("dup".to_string(), "first"),
                20 => ("dup".to_string(), "second"),
                69 => ("dup".to_string(), "third"),
                _ => (format!("o{i}"), "x"),
            };
            tx.upsert(order(&id, title)).unwrap();
        }
        tx.commit(RunCounts {
            read: 70,
            upserted: 70,
            rejected: 0,
        })
        .unwrap();
        let orders = store.orders().unwrap();
        assert_eq!(orders.len(), 68);
        assert_eq!(
            orders.iter().find(|o| o.id == "dup").unwrap().title,
            "third"
        );
        assert_eq!(
            orders.iter().find(|o| o.id == "o5").unwrap(),
            &order("o5", "x")
        );
        // Dropped without commit: nothing of it stays, batched or pending.
        let mut tx = store.begin_import(&meta, false).unwrap();
        for i in 0..40 {
            tx.upsert(order(&format!("new{i}"), "y")).unwrap();
        }
        drop(tx);
        assert_eq!(store.order_count().unwrap(), 68);
    }

    #[test]
    fn urls_are_checked() {
        assert!(matches!(Store::open("mysql://x"), Err(StoreError::Url(..))));
        let e = Store::open("postgres://user:secret@db/gemba")
            .err()
            .unwrap()
            .to_string();
        assert!(
            !e.contains("secret"),
            "a password in a URL must not be echoed: {e}"
        );
        assert!(Store::open("sqlite::memory:").is_ok());
    }
}
