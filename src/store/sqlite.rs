//! SQLite engine of the store: one file, WAL, migrations by `PRAGMA user_version`.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, ToSql, params};

use super::copy::{Load, Rows, Table, Ty, Value};
use super::{
    A3Row, A3Write, Action, ActionChange, ActionWrite, CompletionRow, Huddle, ImportRun, JobRun,
    Leader, LeaderWrite, LswChange, MAX_STORED_REJECTIONS, ObjectiveRow, ObjectiveWrite, OrderRef,
    Page, RawOrder, Rejection, ReviewRow, ReviewWrite, RouteRow, RouteWrite, RoutineRow,
    RoutineWrite, RunCounts, RunMeta, SafetyRow, StoreError, WalkRow, from_ms, split_orders,
};
use crate::model::WorkOrder;

/// Schema versions, applied in order; the index + 1 is the version. Never edit a shipped entry:
/// add a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE orders (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    site TEXT,
    area TEXT,
    crew TEXT,
    assignee TEXT,
    asset_id TEXT,
    asset_name TEXT,
    asset_criticality INTEGER,
    created_at INTEGER NOT NULL,
    due_at INTEGER,
    scheduled_start INTEGER,
    started_at INTEGER,
    completed_at INTEGER,
    updated_at INTEGER,
    estimated_hours REAL,
    actual_hours REAL,
    downtime_hours REAL,
    pm_interval_days INTEGER,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;

CREATE TABLE import_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    file TEXT,
    profile TEXT,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_upserted INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    error TEXT
);

CREATE TABLE rejected_rows (
    run_id INTEGER NOT NULL REFERENCES import_runs(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX rejected_rows_run ON rejected_rows (run_id, line);

CREATE TABLE snapshots (
    date TEXT NOT NULL,
    scope TEXT NOT NULL,
    metrics TEXT NOT NULL,
    written_at INTEGER NOT NULL,
    PRIMARY KEY (date, scope)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE actions (
    id INTEGER PRIMARY KEY,
    board TEXT NOT NULL,
    origin TEXT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    due TEXT NOT NULL,
    status TEXT NOT NULL,
    orders TEXT NOT NULL DEFAULT '',
    escalated_from TEXT,
    escalation_reason TEXT,
    note TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX actions_board ON actions (board, status);
CREATE INDEX actions_origin ON actions (origin);

CREATE TABLE action_history (
    action_id INTEGER NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX action_history_action ON action_history (action_id, at);
CREATE INDEX action_history_at ON action_history (at);

CREATE TABLE huddles (
    id INTEGER PRIMARY KEY,
    board TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    attendees TEXT NOT NULL DEFAULT ''
);
CREATE INDEX huddles_board ON huddles (board, started_at);
"#,
    r#"
CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    trigger TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    files_imported INTEGER NOT NULL DEFAULT 0,
    files_failed INTEGER NOT NULL DEFAULT 0,
    files_skipped INTEGER NOT NULL DEFAULT 0,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_upserted INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX job_runs_job ON job_runs (job, started_at);

CREATE TABLE imported_files (
    sha256 TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    job_run INTEGER NOT NULL,
    imported_at INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE sync_state (
    connector TEXT PRIMARY KEY,
    watermark INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE huddles ADD COLUMN pages TEXT NOT NULL DEFAULT '';

CREATE TABLE safety_marks (
    board TEXT NOT NULL,
    day TEXT NOT NULL,
    mark TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (board, day)
) WITHOUT ROWID;
CREATE INDEX safety_marks_day ON safety_marks (day);

CREATE TABLE safety_history (
    id INTEGER PRIMARY KEY,
    board TEXT NOT NULL,
    day TEXT NOT NULL,
    mark TEXT NOT NULL,
    note TEXT NOT NULL,
    who TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX safety_history_board ON safety_history (board, day);
"#,
    r#"
ALTER TABLE orders ADD COLUMN cost REAL;
ALTER TABLE orders ADD COLUMN failure_code TEXT;
"#,
    r#"
ALTER TABLE job_runs ADD COLUMN fire_at INTEGER;
CREATE UNIQUE INDEX job_runs_fire ON job_runs (job, fire_at);
"#,
    r#"
ALTER TABLE job_runs ADD COLUMN heartbeat_at INTEGER;
"#,
    r#"
CREATE TABLE login_failures (
    address TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_address ON login_failures (address, at);
"#,
    r#"
CREATE TABLE leaders (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    board TEXT NOT NULL,
    login TEXT,
    active INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE routines (
    id INTEGER PRIMARY KEY,
    leader_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    board TEXT NOT NULL,
    cadence TEXT NOT NULL,
    window_hours INTEGER NOT NULL,
    grace_hours INTEGER NOT NULL,
    items TEXT NOT NULL,
    active INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE routine_completions (
    id INTEGER PRIMARY KEY,
    routine_id INTEGER NOT NULL,
    done_at INTEGER NOT NULL,
    who TEXT NOT NULL,
    note TEXT NOT NULL,
    results TEXT NOT NULL
);
CREATE INDEX routine_completions_done ON routine_completions (done_at);

CREATE TABLE lsw_history (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX lsw_history_subject ON lsw_history (subject, at);
"#,
    r#"
ALTER TABLE routines ADD COLUMN route_id INTEGER;

CREATE TABLE walk_routes (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    leader_id INTEGER NOT NULL,
    stops TEXT NOT NULL,
    questions TEXT NOT NULL,
    active INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE walks (
    id INTEGER PRIMARY KEY,
    route_id INTEGER NOT NULL,
    leader_id INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    stops TEXT NOT NULL
);
CREATE INDEX walks_started ON walks (started_at);
"#,
    r#"
CREATE TABLE a3s (
    id INTEGER PRIMARY KEY,
    board TEXT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    stage TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX a3s_board ON a3s (board);
"#,
    r#"
CREATE TABLE objectives (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER,
    board TEXT NOT NULL,
    title TEXT NOT NULL,
    owner TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX objectives_parent ON objectives (parent_id);

CREATE TABLE hoshin_reviews (
    id INTEGER PRIMARY KEY,
    board TEXT NOT NULL,
    month TEXT NOT NULL,
    held_on TEXT NOT NULL,
    attendees TEXT NOT NULL,
    items TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX hoshin_reviews_month ON hoshin_reviews (month, board);
"#,
    // Nothing here: PostgreSQL's 14 adds `orders.row_hash`, its own cache for re-imports (an
    // upsert on SQLite compares in place, with nothing to send). Kept so the numbers agree.
    "",
];

const INSERT_REJECTION: &str =
    "INSERT INTO rejected_rows (run_id, line, field, value, reason) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Stores rejected rows of a run (the caller keeps to [`MAX_STORED_REJECTIONS`]).
fn insert_rejections(conn: &Connection, run_id: i64, rs: &[Rejection]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(INSERT_REJECTION)?;
    for r in rs {
        stmt.execute(params![run_id, r.line as i64, r.field, r.value, r.reason])?;
    }
    Ok(())
}

const ORDER_COLUMNS: &str = "source, id, title, kind, status, priority, site, area, crew, assignee, asset_id, asset_name, asset_criticality, created_at, due_at, scheduled_start, started_at, completed_at, updated_at, estimated_hours, actual_hours, downtime_hours, pm_interval_days, cost, failure_code";

pub struct Sqlite {
    conn: Connection,
    url: String,
}

/// An open import transaction. Its statements are prepared once and held for the whole import;
/// it is rolled back when dropped without `commit`.
pub struct ImportTx<'s> {
    conn: &'s Connection,
    upsert_one: rusqlite::Statement<'s>,
    upsert_many: rusqlite::Statement<'s>,
    /// Orders waiting for a full multi-row upsert (fewer than `UPSERT_ROWS`).
    pending: Vec<WorkOrder>,
    reject: rusqlite::Statement<'s>,
    url: &'s str,
    run_id: i64,
    stored_rejections: usize,
    done: bool,
}

impl Drop for ImportTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let _ = self
            .conn
            .pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT);
    }
}

/// SQLite's default: after a commit that leaves the WAL above this many pages, the committing
/// connection copies the WAL into the database. An import's commit skips that copy (the
/// transaction can be hundreds of megabytes); the next commit on the connection, or
/// [`Sqlite::checkpoint`], makes it.
const WAL_AUTOCHECKPOINT: i64 = 1000;

const ORDER_FIELDS: usize = 25;

/// Rows per multi-row upsert: fewer statement executions for the same rows.
const UPSERT_ROWS: usize = 32;

/// The upsert of `rows` orders in one statement. SQLite applies the rows in order, so a key that
/// repeats within one statement is inserted, then updated. An order whose every field is as
/// stored is left alone: re-importing a full export rewrites only what changed (no page is
/// dirtied for the rest, so the transaction and the WAL stay small).
fn upsert_sql(rows: usize) -> String {
    let one = format!("({})", vec!["?"; ORDER_FIELDS].join(", "));
    let fields: Vec<&str> = ORDER_COLUMNS.split(", ").skip(2).collect();
    let set: Vec<String> = fields
        .iter()
        .map(|f| format!("{f} = excluded.{f}"))
        .collect();
    let stored: Vec<String> = fields.iter().map(|f| format!("orders.{f}")).collect();
    let new: Vec<String> = fields.iter().map(|f| format!("excluded.{f}")).collect();
    format!(
        "INSERT INTO orders ({ORDER_COLUMNS}) VALUES {} ON CONFLICT (source, id) DO UPDATE SET {} \
         WHERE ({}) IS NOT ({})",
        vec![one; rows].join(", "),
        set.join(", "),
        stored.join(", "),
        new.join(", "),
    )
}

/// Binds one order's fields at parameter `offset` (0-based) of `stmt`.
fn bind_order(
    stmt: &mut rusqlite::Statement<'_>,
    offset: usize,
    o: &WorkOrder,
) -> rusqlite::Result<()> {
    let mut i = offset;
    let mut bind = |v: &dyn rusqlite::ToSql| {
        i += 1;
        stmt.raw_bind_parameter(i, v)
    };
    bind(&o.source)?;
    bind(&o.id)?;
    bind(&o.title)?;
    bind(&o.kind.as_str())?;
    bind(&o.status.as_str())?;
    bind(&o.priority.get())?;
    bind(&o.site)?;
    bind(&o.area)?;
    bind(&o.crew)?;
    bind(&o.assignee)?;
    bind(&o.asset_id)?;
    bind(&o.asset_name)?;
    bind(&o.asset_criticality.map(|c| c.get()))?;
    bind(&ms(o.created_at))?;
    bind(&ms_opt(o.due_at))?;
    bind(&ms_opt(o.scheduled_start))?;
    bind(&ms_opt(o.started_at))?;
    bind(&ms_opt(o.completed_at))?;
    bind(&ms_opt(o.updated_at))?;
    bind(&o.estimated_hours)?;
    bind(&o.actual_hours)?;
    bind(&o.downtime_hours)?;
    bind(&o.pm_interval_days)?;
    bind(&o.cost)?;
    bind(&o.failure_code)?;
    Ok(())
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The error of a SQLite call, naming the store's URL. A function of the URL alone (not of the
/// engine), so it can be held while the connection is borrowed for a transaction.
fn sqlite_err(url: &str) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |source| StoreError::Sqlite {
        url: url.to_string(),
        source,
    }
}

fn ms_opt(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

impl Sqlite {
    pub fn open(url: &str, path: &str) -> Result<Sqlite, StoreError> {
        let err = sqlite_err(url);
        let mut conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        conn.pragma_update(None, "cache_size", -65536)
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(err)?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::Newer {
                url: url.to_string(),
                found: version,
                known: MIGRATIONS.len() as i64,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = conn.transaction().map_err(err)?;
            tx.execute_batch(sql).map_err(err)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(err)?;
            tx.commit().map_err(err)?;
        }
        Ok(Sqlite {
            conn,
            url: url.to_string(),
        })
    }

    /// The store's URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
        sqlite_err(&self.url)
    }

    pub fn begin_import(
        &mut self,
        meta: &RunMeta,
        replace_source: bool,
    ) -> Result<ImportTx<'_>, StoreError> {
        let url = self.url.as_str();
        let err = sqlite_err(url);
        let conn = &self.conn;
        let upsert_one = conn.prepare(&upsert_sql(1)).map_err(err)?;
        let upsert_many = conn.prepare(&upsert_sql(UPSERT_ROWS)).map_err(err)?;
        let reject = conn.prepare(INSERT_REJECTION).map_err(err)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err)?;
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let _ = conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT);
            return Err(err(e));
        }
        // From here on, a failure drops `tx`, which rolls back (and restores the checkpoint
        // setting).
        let mut tx = ImportTx {
            conn,
            upsert_one,
            upsert_many,
            pending: Vec::with_capacity(UPSERT_ROWS),
            reject,
            url,
            run_id: 0,
            stored_rejections: 0,
            done: false,
        };
        conn.execute(
            "INSERT INTO import_runs (kind, source, file, profile, started_at, outcome) VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
            params![meta.kind.as_str(), meta.source, meta.file, meta.profile, ms(meta.started_at)],
        )
        .map_err(err)?;
        tx.run_id = conn.last_insert_rowid();
        if replace_source {
            conn.execute("DELETE FROM orders WHERE source = ?1", [&meta.source])
                .map_err(err)?;
        }
        Ok(tx)
    }

    pub fn record_failed_run(
        &mut self,
        meta: &RunMeta,
        counts: RunCounts,
        error: &str,
        rejections: &[Rejection],
    ) -> Result<i64, StoreError> {
        let err = sqlite_err(&self.url);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO import_runs (kind, source, file, profile, started_at, finished_at, rows_read, rows_upserted, rows_rejected, outcome, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, 'failed', ?9)",
            params![
                meta.kind.as_str(),
                meta.source,
                meta.file,
                meta.profile,
                ms(meta.started_at),
                ms(Utc::now()),
                counts.read as i64,
                counts.rejected as i64,
                error
            ],
        )
        .map_err(err)?;
        let run_id = tx.last_insert_rowid();
        let keep = rejections.len().min(MAX_STORED_REJECTIONS);
        insert_rejections(&tx, run_id, &rejections[..keep]).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(run_id)
    }

    pub fn start_run(&mut self, meta: &RunMeta) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO import_runs (kind, source, file, profile, started_at, outcome) VALUES (?1, ?2, ?3, ?4, ?5, 'running')",
                params![meta.kind.as_str(), meta.source, meta.file, meta.profile, ms(meta.started_at)],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn commit_page(&mut self, page: &Page<'_>) -> Result<(), StoreError> {
        let err = sqlite_err(&self.url);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut upsert = tx.prepare_cached(&upsert_sql(1)).map_err(err)?;
            for o in page.orders {
                bind_order(&mut upsert, 0, o).map_err(err)?;
                upsert.raw_execute().map_err(err)?;
            }
            // Every earlier rejection of the run was stored, up to the cap.
            let earlier = page.counts.rejected as usize - page.rejections.len();
            let room = MAX_STORED_REJECTIONS.saturating_sub(earlier);
            let keep = page.rejections.len().min(room);
            insert_rejections(&tx, page.run_id, &page.rejections[..keep]).map_err(err)?;
            let c = page.counts;
            tx.execute(
                "UPDATE import_runs SET rows_read = ?1, rows_upserted = ?2, rows_rejected = ?3 WHERE id = ?4",
                params![c.read as i64, c.upserted as i64, c.rejected as i64, page.run_id],
            )
            .map_err(err)?;
            if let Some((connector, at)) = page.watermark {
                tx.execute(
                    "INSERT INTO sync_state (connector, watermark, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (connector) DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at",
                    params![connector, ms(at), ms(Utc::now())],
                )
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    pub fn finish_run(
        &mut self,
        run_id: i64,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE import_runs SET finished_at = ?1, rows_read = ?2, rows_upserted = ?3, rows_rejected = ?4, outcome = ?5, error = ?6 WHERE id = ?7",
                params![
                    ms(Utc::now()),
                    counts.read as i64,
                    counts.upserted as i64,
                    counts.rejected as i64,
                    if error.is_some() { "failed" } else { "succeeded" },
                    error,
                    run_id
                ],
            )
            .map_err(self.err())?;
        Ok(())
    }

    pub fn watermark(&self, connector: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.conn
            .query_row(
                "SELECT watermark FROM sync_state WHERE connector = ?1",
                [connector],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|o| o.map(from_ms))
            .map_err(self.err())
    }

    const RUN_COLUMNS: &str = "id, kind, source, file, profile, started_at, finished_at, rows_read, rows_upserted, rows_rejected, outcome, error";

    fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRun> {
        Ok(ImportRun {
            id: r.get(0)?,
            kind: r.get(1)?,
            source: r.get(2)?,
            file: r.get(3)?,
            profile: r.get(4)?,
            started_at: from_ms(r.get(5)?),
            finished_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
            counts: RunCounts {
                read: r.get::<_, i64>(7)? as u64,
                upserted: r.get::<_, i64>(8)? as u64,
                rejected: r.get::<_, i64>(9)? as u64,
            },
            outcome: r.get(10)?,
            error: r.get(11)?,
        })
    }

    pub fn runs(&self, limit: usize) -> Result<Vec<ImportRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM import_runs ORDER BY id DESC LIMIT ?1",
                Self::RUN_COLUMNS
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map([limit as i64], Self::run_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn run(&self, id: i64) -> Result<Option<ImportRun>, StoreError> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {} FROM import_runs WHERE id = ?1",
                    Self::RUN_COLUMNS
                ),
                [id],
                Self::run_from_row,
            )
            .optional()
            .map_err(self.err())
    }

    pub fn rejections(&self, run_id: i64) -> Result<Vec<Rejection>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT line, field, value, reason FROM rejected_rows WHERE run_id = ?1 ORDER BY line, rowid")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok(Rejection {
                    line: r.get::<_, i64>(0)? as u64,
                    field: r.get(1)?,
                    value: r.get(2)?,
                    reason: r.get(3)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM import_runs WHERE id = 0", [], |_| {
                Ok(())
            })
            .map_err(self.err())
    }

    pub fn order_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM orders", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(self.err())
    }

    pub fn scan_order_refs(
        &self,
        skip: &dyn Fn(&str, &str) -> bool,
        f: &mut dyn FnMut(&OrderRef<'_>),
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders ORDER BY source, id"
            ))
            .map_err(self.err())?;
        let mut rows = stmt.query([]).map_err(self.err())?;
        while let Some(r) = rows.next().map_err(self.err())? {
            let sql = self.err();
            let text = |i: usize| -> Result<&str, StoreError> {
                r.get_ref(i)
                    .map_err(sql)?
                    .as_str()
                    .map_err(|e| sql(e.into()))
            };
            let opt_text = |i: usize| -> Result<Option<&str>, StoreError> {
                r.get_ref(i)
                    .map_err(sql)?
                    .as_str_or_null()
                    .map_err(|e| sql(e.into()))
            };
            let int = |i: usize| -> Result<Option<i64>, StoreError> {
                r.get::<_, Option<i64>>(i).map_err(sql)
            };
            let real = |i: usize| -> Result<Option<f64>, StoreError> {
                r.get::<_, Option<f64>>(i).map_err(sql)
            };
            let (source, id) = (text(0)?, text(1)?);
            if skip(source, id) {
                continue;
            }
            let order = RawOrder {
                source,
                id,
                title: text(2)?,
                kind: text(3)?,
                status: text(4)?,
                priority: int(5)?.unwrap_or(0),
                site: opt_text(6)?,
                area: opt_text(7)?,
                crew: opt_text(8)?,
                assignee: opt_text(9)?,
                asset_id: opt_text(10)?,
                asset_name: opt_text(11)?,
                asset_criticality: int(12)?,
                created_at: int(13)?.unwrap_or(0),
                due_at: int(14)?,
                scheduled_start: int(15)?,
                started_at: int(16)?,
                completed_at: int(17)?,
                updated_at: int(18)?,
                estimated_hours: real(19)?,
                actual_hours: real(20)?,
                downtime_hours: real(21)?,
                pm_interval_days: int(22)?,
                cost: real(23)?,
                failure_code: opt_text(24)?,
            }
            .decode(&self.url)?;
            f(&order);
        }
        Ok(())
    }

    /// Rows rejected by the most recent CSV import or API sync; 0 when there was none.
    pub fn rejected_rows_last_import(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT rows_rejected FROM import_runs WHERE kind IN ('csv', 'sync') AND outcome != 'running' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|n| n.unwrap_or(0) as u64)
            .map_err(self.err())
    }

    /// Copies what the WAL holds into the database file, as far as readers allow.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(self.err())
    }

    pub fn put_snapshots(
        &mut self,
        date: NaiveDate,
        rows: &[(String, String)],
    ) -> Result<(), StoreError> {
        let (date, now) = (date.to_string(), ms(Utc::now()));
        let write = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare(
                    "INSERT INTO snapshots (date, scope, metrics, written_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(date, scope) DO UPDATE SET metrics = excluded.metrics, written_at = excluded.written_at",
                )?;
                for (scope, json) in rows {
                    stmt.execute(params![date, scope, json, now])?;
                }
            }
            tx.commit()
        };
        write(&mut self.conn).map_err(sqlite_err(&self.url))
    }

    pub fn snapshots(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT date, scope, metrics FROM snapshots ORDER BY date, scope")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn snapshot(&self, date: NaiveDate, scope: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT metrics FROM snapshots WHERE date = ?1 AND scope = ?2",
                params![date.to_string(), scope],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }
}

impl ImportTx<'_> {
    pub fn upsert(&mut self, o: WorkOrder) -> Result<(), StoreError> {
        self.pending.push(o);
        if self.pending.len() == UPSERT_ROWS {
            let url = self.url;
            let many = &mut self.upsert_many;
            let mut run = || -> rusqlite::Result<()> {
                for (k, o) in self.pending.iter().enumerate() {
                    bind_order(many, k * ORDER_FIELDS, o)?;
                }
                many.raw_execute().map(|_| ())
            };
            run().map_err(sqlite_err(url))?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes the orders still pending, one statement each.
    fn flush(&mut self) -> rusqlite::Result<()> {
        for o in self.pending.drain(..) {
            bind_order(&mut self.upsert_one, 0, &o)?;
            self.upsert_one.raw_execute()?;
        }
        Ok(())
    }

    pub fn reject(&mut self, r: &Rejection) -> Result<(), StoreError> {
        if self.stored_rejections >= MAX_STORED_REJECTIONS {
            return Ok(());
        }
        self.stored_rejections += 1;
        let url = self.url;
        self.reject
            .execute(params![
                self.run_id,
                r.line as i64,
                r.field,
                r.value,
                r.reason
            ])
            .map_err(sqlite_err(url))?;
        Ok(())
    }

    pub fn commit(mut self, counts: RunCounts) -> Result<i64, StoreError> {
        let err = sqlite_err(self.url);
        self.flush().map_err(err)?;
        self.conn
            .execute(
                "UPDATE import_runs SET finished_at = ?1, rows_read = ?2, rows_upserted = ?3, rows_rejected = ?4, outcome = 'succeeded' WHERE id = ?5",
                params![ms(Utc::now()), counts.read as i64, counts.upserted as i64, counts.rejected as i64, self.run_id],
            )
            .map_err(err)?;
        self.conn.execute_batch("COMMIT").map_err(err)?;
        self.done = true;
        Ok(self.run_id)
    }
}

const ACTION_COLUMNS: &str = "id, board, origin, title, owner, due, status, orders, escalated_from, escalation_reason, note, created_at, updated_at";

fn action_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Action> {
    let orders: String = r.get(7)?;
    Ok(Action {
        id: r.get(0)?,
        board: r.get(1)?,
        origin: r.get(2)?,
        title: r.get(3)?,
        owner: r.get(4)?,
        due: r.get(5)?,
        status: r.get(6)?,
        orders: split_orders(&orders),
        escalated_from: r.get(8)?,
        escalation_reason: r.get(9)?,
        note: r.get(10)?,
        created_at: from_ms(r.get(11)?),
        updated_at: from_ms(r.get(12)?),
    })
}

fn change_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionChange> {
    Ok(ActionChange {
        action_id: r.get(0)?,
        at: from_ms(r.get(1)?),
        who: r.get(2)?,
        what: r.get(3)?,
    })
}

fn huddle_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Huddle> {
    Ok(Huddle {
        id: r.get(0)?,
        board: r.get(1)?,
        started_at: from_ms(r.get(2)?),
        ended_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
        attendees: r.get(4)?,
        pages: r.get(5)?,
    })
}

fn safety_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, String, i64)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

impl Sqlite {
    /// Runs what a person wrote with `synchronous = FULL`: committed means on the disk, even
    /// through a power cut. Imports keep `NORMAL` (WAL): they can be run again.
    fn durable<T>(
        &mut self,
        write: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let err = sqlite_err(&self.url);
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        let out = write(&mut self.conn);
        let reset = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let out = out.map_err(err)?;
        reset.map_err(err)?;
        Ok(out)
    }

    /// Writes an action (a new one when `id` is `None`) and its history line, in one durable
    /// transaction.
    pub fn write_action(
        &mut self,
        id: Option<i64>,
        a: &ActionWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let orders = a.orders.join(",");
        self.durable(|conn| {
            let tx = conn.transaction()?;
            let id = match id {
                None => {
                    tx.execute(
                        "INSERT INTO actions (board, origin, title, owner, due, status, orders, escalated_from, escalation_reason, note, created_at, updated_at) VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                        params![a.board, a.title, a.owner, a.due, a.status, orders, a.escalated_from, a.escalation_reason, a.note, ms(at)],
                    )?;
                    tx.last_insert_rowid()
                }
                Some(id) => {
                    tx.execute(
                        "UPDATE actions SET board = ?2, title = ?3, owner = ?4, due = ?5, status = ?6, orders = ?7, escalated_from = ?8, escalation_reason = ?9, note = ?10, updated_at = ?11 WHERE id = ?1",
                        params![id, a.board, a.title, a.owner, a.due, a.status, orders, a.escalated_from, a.escalation_reason, a.note, ms(at)],
                    )?;
                    id
                }
            };
            tx.execute(
                "INSERT INTO action_history (action_id, at, who, what) VALUES (?1, ?2, ?3, ?4)",
                params![id, ms(at), who, what],
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn action(&self, id: i64) -> Result<Option<Action>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {ACTION_COLUMNS} FROM actions WHERE id = ?1"),
                params![id],
                action_from_row,
            )
            .optional()
            .map_err(self.err())
    }

    /// Actions on a board, or that came from it (`origin`), or both; newest changes first.
    pub fn actions(
        &self,
        board: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Vec<Action>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ACTION_COLUMNS} FROM actions WHERE (?1 IS NULL OR board = ?1) AND (?2 IS NULL OR origin = ?2) ORDER BY updated_at DESC, id DESC"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![board, origin], action_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The history of one action, in order.
    pub fn action_history(&self, id: i64) -> Result<Vec<ActionChange>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT action_id, at, who, what FROM action_history WHERE action_id = ?1 ORDER BY at, rowid")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id], change_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The actions changed since `since` or due on or after `due_from`, and their histories
    /// (by action, each in order).
    pub fn actions_touched(
        &self,
        since: DateTime<Utc>,
        due_from: &str,
    ) -> Result<(Vec<Action>, Vec<ActionChange>), StoreError> {
        // One snapshot for both reads: a write between them cannot split an action from its
        // lines.
        let tx = self.conn.unchecked_transaction().map_err(self.err())?;
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {ACTION_COLUMNS} FROM actions WHERE updated_at >= ?1 OR due >= ?2 ORDER BY updated_at DESC, id DESC"
            ))
            .map_err(self.err())?;
        let actions = stmt
            .query_map(params![ms(since), due_from], action_from_row)
            .map_err(self.err())?
            .collect::<Result<_, _>>()
            .map_err(self.err())?;
        drop(stmt);
        let mut stmt = tx
            .prepare("SELECT h.action_id, h.at, h.who, h.what FROM action_history h JOIN actions a ON a.id = h.action_id WHERE a.updated_at >= ?1 OR a.due >= ?2 ORDER BY h.action_id, h.at, h.rowid")
            .map_err(self.err())?;
        let lines = stmt
            .query_map(params![ms(since), due_from], change_from_row)
            .map_err(self.err())?
            .collect::<Result<_, _>>()
            .map_err(self.err())?;
        drop(stmt);
        tx.commit().map_err(self.err())?;
        Ok((actions, lines))
    }

    /// History lines of a board's actions between two instants (for a huddle's counts).
    pub fn changes_between(
        &self,
        board: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ActionChange>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT h.action_id, h.at, h.who, h.what FROM action_history h JOIN actions a ON a.id = h.action_id WHERE (a.board = ?1 OR a.origin = ?1) AND h.at >= ?2 AND h.at <= ?3 ORDER BY h.at")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![board, ms(from), ms(to)], change_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn start_huddle(&mut self, board: &str, at: DateTime<Utc>) -> Result<i64, StoreError> {
        self.durable(|conn| {
            conn.execute(
                "INSERT INTO huddles (board, started_at) VALUES (?1, ?2)",
                params![board, ms(at)],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    pub fn end_huddle(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        attendees: &str,
        pages: &str,
    ) -> Result<bool, StoreError> {
        self.durable(|conn| {
            conn.execute(
                "UPDATE huddles SET ended_at = ?2, attendees = ?3, pages = ?4 WHERE id = ?1 AND ended_at IS NULL",
                params![id, ms(at), attendees, pages],
            )
            .map(|n| n == 1)
        })
    }

    /// Huddles, newest first; of one board when given.
    pub fn huddles(&self, board: Option<&str>, limit: usize) -> Result<Vec<Huddle>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, board, started_at, ended_at, attendees, pages FROM huddles WHERE ?1 IS NULL OR board = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![board, limit as i64], huddle_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

impl Sqlite {
    /// Writes a day's mark (replacing the board's earlier mark of that day) and its history line,
    /// in one transaction.
    pub fn put_safety_mark(
        &mut self,
        board: &str,
        day: &str,
        mark: &str,
        note: &str,
        who: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.durable(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO safety_marks (board, day, mark, note, who, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (board, day) DO UPDATE SET mark = excluded.mark, note = excluded.note, who = excluded.who, at = excluded.at",
                params![board, day, mark, note, who, ms(at)],
            )?;
            tx.execute(
                "INSERT INTO safety_history (board, day, mark, note, who, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![board, day, mark, note, who, ms(at)],
            )?;
            tx.commit()
        })
    }

    /// The marks from `from` to `to` (YYYY-MM-DD, inclusive), by day then board.
    pub fn safety_marks(&self, from: &str, to: &str) -> Result<Vec<SafetyRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT board, day, mark, note, who, at FROM safety_marks WHERE day >= ?1 AND day <= ?2 ORDER BY day, board")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![from, to], safety_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

impl Sqlite {
    pub fn record_login_failure(
        &mut self,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let err = sqlite_err(&self.url);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "DELETE FROM login_failures WHERE at < ?1",
            params![ms(forget_before)],
        )
        .map_err(err)?;
        tx.execute(
            "INSERT INTO login_failures (address, at) VALUES (?1, ?2)",
            params![address, ms(at)],
        )
        .map_err(err)?;
        let n: i64 = tx
            .query_row(
                "SELECT count(*) FROM login_failures WHERE address = ?1",
                params![address],
                |r| r.get(0),
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n as u32)
    }

    pub fn login_failures(&self, address: &str, since: DateTime<Utc>) -> Result<u32, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM login_failures WHERE address = ?1 AND at >= ?2",
                params![address, ms(since)],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(n as u32)
    }

    pub fn clear_login_failures(&self, address: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "DELETE FROM login_failures WHERE address = ?1",
                params![address],
            )
            .map_err(self.err())?;
        Ok(())
    }
}

const LEADER_COLUMNS: &str = "id, name, role, board, login, active, updated_at";
const ROUTINE_COLUMNS: &str = "id, leader_id, title, kind, board, cadence, window_hours, grace_hours, items, active, created_at, updated_at, route_id";

fn leader_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Leader> {
    Ok(Leader {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        board: r.get(3)?,
        login: r.get(4)?,
        active: r.get(5)?,
        updated_at: from_ms(r.get(6)?),
    })
}

fn routine_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoutineRow> {
    Ok(RoutineRow {
        id: r.get(0)?,
        leader_id: r.get(1)?,
        title: r.get(2)?,
        kind: r.get(3)?,
        board: r.get(4)?,
        cadence: r.get(5)?,
        window_hours: r.get(6)?,
        grace_hours: r.get(7)?,
        items: r.get(8)?,
        active: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        route_id: r.get(12)?,
    })
}

/// Writes one line of leader standard work's history inside a transaction.
fn lsw_line(
    tx: &rusqlite::Transaction<'_>,
    subject: &str,
    at: DateTime<Utc>,
    who: &str,
    what: &str,
) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT INTO lsw_history (subject, at, who, what) VALUES (?1, ?2, ?3, ?4)",
        params![subject, ms(at), who, what],
    )
}

impl Sqlite {
    pub fn write_leader(
        &mut self,
        id: Option<i64>,
        w: &LeaderWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let at_ms = ms(at);
        let row: &[(&str, &dyn ToSql)] = &[
            ("name", &w.name),
            ("role", &w.role),
            ("board", &w.board),
            ("login", &w.login),
            ("active", &w.active),
            ("updated_at", &at_ms),
        ];
        self.write_lsw_row("leaders", "leader", id, row, &[], (who, what, at))
    }

    pub fn leaders(&self) -> Result<Vec<Leader>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {LEADER_COLUMNS} FROM leaders ORDER BY name, id"
            ))
            .map_err(self.err())?;
        let rows = stmt.query_map([], leader_from_row).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn write_routine(
        &mut self,
        id: Option<i64>,
        w: &RoutineWrite,
        items: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let at_ms = ms(at);
        let row: &[(&str, &dyn ToSql)] = &[
            ("leader_id", &w.leader_id),
            ("title", &w.title),
            ("kind", &w.kind),
            ("board", &w.board),
            ("cadence", &w.cadence),
            ("window_hours", &w.window_hours),
            ("grace_hours", &w.grace_hours),
            ("items", &items),
            ("active", &w.active),
            ("updated_at", &at_ms),
            ("route_id", &w.route_id),
        ];
        let created: &[(&str, &dyn ToSql)] = &[("created_at", &at_ms)];
        self.write_lsw_row("routines", "routine", id, row, created, (who, what, at))
    }

    /// Inserts (`id` `None`) or updates a row of a table of leader standard work, with one line
    /// of history for `SUBJECT:ID`, in one durable transaction. `created` is written on insert
    /// only.
    fn write_lsw_row(
        &mut self,
        table: &str,
        subject: &str,
        id: Option<i64>,
        row: &[(&str, &dyn ToSql)],
        created: &[(&str, &dyn ToSql)],
        (who, what, at): (&str, &str, DateTime<Utc>),
    ) -> Result<i64, StoreError> {
        self.durable(|conn| {
            let tx = conn.transaction()?;
            let id = match id {
                None => {
                    let all: Vec<&(&str, &dyn ToSql)> = row.iter().chain(created).collect();
                    let names: Vec<&str> = all.iter().map(|c| c.0).collect();
                    let marks: Vec<String> = (1..=all.len()).map(|i| format!("?{i}")).collect();
                    tx.execute(
                        &format!(
                            "INSERT INTO {table} ({}) VALUES ({})",
                            names.join(", "),
                            marks.join(", ")
                        ),
                        rusqlite::params_from_iter(all.iter().map(|c| c.1)),
                    )?;
                    tx.last_insert_rowid()
                }
                Some(id) => {
                    let sets: Vec<String> = row
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{} = ?{}", c.0, i + 2))
                        .collect();
                    let values = std::iter::once(&id as &dyn ToSql).chain(row.iter().map(|c| c.1));
                    tx.execute(
                        &format!("UPDATE {table} SET {} WHERE id = ?1", sets.join(", ")),
                        rusqlite::params_from_iter(values),
                    )?;
                    id
                }
            };
            lsw_line(&tx, &format!("{subject}:{id}"), at, who, what)?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// Every routine (or the one with `id`), by id.
    pub fn routines(&self, id: Option<i64>) -> Result<Vec<RoutineRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {ROUTINE_COLUMNS} FROM routines WHERE ?1 IS NULL OR id = ?1 ORDER BY id"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id], routine_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn record_completion(
        &mut self,
        routine_id: i64,
        done_at: DateTime<Utc>,
        who: &str,
        note: &str,
        results: &str,
        what: &str,
    ) -> Result<i64, StoreError> {
        self.durable(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO routine_completions (routine_id, done_at, who, note, results) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![routine_id, ms(done_at), who, note, results],
            )?;
            let id = tx.last_insert_rowid();
            lsw_line(&tx, &format!("routine:{routine_id}"), done_at, who, what)?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn completions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CompletionRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, routine_id, done_at, who, note, results FROM routine_completions WHERE done_at >= ?1 AND done_at < ?2 ORDER BY done_at, id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![ms(from), ms(to)], |r| {
                Ok(CompletionRow {
                    id: r.get(0)?,
                    routine_id: r.get(1)?,
                    done_at: r.get(2)?,
                    who: r.get(3)?,
                    note: r.get(4)?,
                    results: r.get(5)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn lsw_history(&self, subject: &str) -> Result<Vec<LswChange>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT subject, at, who, what FROM lsw_history WHERE subject = ?1 ORDER BY at, id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![subject], |r| {
                Ok(LswChange {
                    subject: r.get(0)?,
                    at: from_ms(r.get(1)?),
                    who: r.get(2)?,
                    what: r.get(3)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn huddles_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Huddle>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, board, started_at, ended_at, attendees, pages FROM huddles WHERE started_at >= ?1 AND started_at < ?2 ORDER BY started_at, id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![ms(from), ms(to)], huddle_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

impl Sqlite {
    #[allow(clippy::too_many_arguments)]
    pub fn write_route(
        &mut self,
        id: Option<i64>,
        w: &RouteWrite,
        stops: &str,
        questions: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let at_ms = ms(at);
        let row: &[(&str, &dyn ToSql)] = &[
            ("title", &w.title),
            ("leader_id", &w.leader_id),
            ("stops", &stops),
            ("questions", &questions),
            ("active", &w.active),
            ("updated_at", &at_ms),
        ];
        self.write_lsw_row("walk_routes", "route", id, row, &[], (who, what, at))
    }

    pub fn routes(&self) -> Result<Vec<RouteRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, title, leader_id, stops, questions, active, updated_at FROM walk_routes ORDER BY id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RouteRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    leader_id: r.get(2)?,
                    stops: r.get(3)?,
                    questions: r.get(4)?,
                    active: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn start_walk(
        &mut self,
        route_id: i64,
        leader_id: i64,
        stops: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.durable(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO walks (route_id, leader_id, started_at, stops) VALUES (?1, ?2, ?3, ?4)",
                params![route_id, leader_id, ms(at), stops],
            )?;
            let id = tx.last_insert_rowid();
            lsw_line(&tx, &format!("walk:{id}"), at, who, what)?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn save_walk(
        &mut self,
        id: i64,
        ended_at: Option<DateTime<Utc>>,
        stops: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.durable(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "UPDATE walks SET ended_at = ?2, stops = ?3 WHERE id = ?1",
                params![id, ended_at.map(ms), stops],
            )?;
            lsw_line(&tx, &format!("walk:{id}"), at, who, what)?;
            tx.commit()
        })
    }

    /// The walk with `id`, or the walks started in a range; oldest first.
    pub fn walks(
        &self,
        id: Option<i64>,
        range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> Result<Vec<WalkRow>, StoreError> {
        let (from, to) = range.map_or((None, None), |(f, t)| (Some(ms(f)), Some(ms(t))));
        let mut stmt = self
            .conn
            .prepare("SELECT id, route_id, leader_id, started_at, ended_at, stops FROM walks WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR started_at >= ?2) AND (?3 IS NULL OR started_at < ?3) ORDER BY started_at, id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id, from, to], |r| {
                Ok(WalkRow {
                    id: r.get(0)?,
                    route_id: r.get(1)?,
                    leader_id: r.get(2)?,
                    started_at: r.get(3)?,
                    ended_at: r.get(4)?,
                    stops: r.get(5)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

impl Sqlite {
    pub fn write_a3(
        &mut self,
        id: Option<i64>,
        w: &A3Write,
        body: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let at_ms = ms(at);
        let stage = w.stage.as_str();
        let row: &[(&str, &dyn ToSql)] = &[
            ("board", &w.board),
            ("title", &w.title),
            ("owner", &w.owner),
            ("stage", &stage),
            ("body", &body),
            ("updated_at", &at_ms),
        ];
        let created: &[(&str, &dyn ToSql)] = &[("created_at", &at_ms)];
        self.write_lsw_row("a3s", "a3", id, row, created, (who, what, at))
    }

    /// Every A3 (or the one with `id`), by id.
    pub fn a3s(&self, id: Option<i64>) -> Result<Vec<A3Row>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, board, title, owner, stage, body, created_at, updated_at FROM a3s WHERE ?1 IS NULL OR id = ?1 ORDER BY id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok(A3Row {
                    id: r.get(0)?,
                    board: r.get(1)?,
                    title: r.get(2)?,
                    owner: r.get(3)?,
                    stage: r.get(4)?,
                    body: r.get(5)?,
                    created_at: r.get(6)?,
                    updated_at: r.get(7)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

impl Sqlite {
    #[allow(clippy::too_many_arguments)]
    pub fn write_objective(
        &mut self,
        id: Option<i64>,
        w: &ObjectiveWrite,
        body: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let at_ms = ms(at);
        let row: &[(&str, &dyn ToSql)] = &[
            ("parent_id", &w.parent),
            ("board", &w.board),
            ("title", &w.title),
            ("owner", &w.owner),
            ("body", &body),
            ("updated_at", &at_ms),
        ];
        let created: &[(&str, &dyn ToSql)] = &[("created_at", &at_ms)];
        self.write_lsw_row("objectives", "objective", id, row, created, (who, what, at))
    }

    /// Every objective (or the one with `id`), by id.
    pub fn objectives(&self, id: Option<i64>) -> Result<Vec<ObjectiveRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, parent_id, board, title, owner, body, created_at, updated_at FROM objectives WHERE ?1 IS NULL OR id = ?1 ORDER BY id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok(ObjectiveRow {
                    id: r.get(0)?,
                    parent: r.get(1)?,
                    board: r.get(2)?,
                    title: r.get(3)?,
                    owner: r.get(4)?,
                    body: r.get(5)?,
                    created_at: r.get(6)?,
                    updated_at: r.get(7)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    pub fn write_review(
        &mut self,
        w: &ReviewWrite,
        items: &str,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let at_ms = ms(at);
        let held = w.held_on.to_string();
        let row: &[(&str, &dyn ToSql)] = &[
            ("board", &w.board),
            ("month", &w.month),
            ("held_on", &held),
            ("attendees", &w.attendees),
            ("items", &items),
            ("created_at", &at_ms),
        ];
        self.write_lsw_row("hoshin_reviews", "review", None, row, &[], (who, what, at))
    }

    /// Every monthly review, by month then id.
    pub fn reviews(&self) -> Result<Vec<ReviewRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, board, month, held_on, attendees, items, created_at FROM hoshin_reviews ORDER BY month, id")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReviewRow {
                    id: r.get(0)?,
                    board: r.get(1)?,
                    month: r.get(2)?,
                    held_on: r.get(3)?,
                    attendees: r.get(4)?,
                    items: r.get(5)?,
                    created_at: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }
}

fn job_run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRun> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
    Ok(JobRun {
        id: r.get(0)?,
        job: r.get(1)?,
        trigger: r.get(2)?,
        started_at: from_ms(r.get(3)?),
        finished_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
        files_imported: n(5)?,
        files_failed: n(6)?,
        files_skipped: n(7)?,
        counts: RunCounts {
            read: n(8)?,
            upserted: n(9)?,
            rejected: n(10)?,
        },
        outcome: r.get(11)?,
        error: r.get(12)?,
    })
}

impl Sqlite {
    pub fn start_job_run(
        &mut self,
        job: &str,
        trigger: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO job_runs (job, trigger, started_at, outcome) VALUES (?1, ?2, ?3, 'running')",
                params![job, trigger, ms(at)],
            )
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the start of the run of one fire time, unless a run of it was recorded already
    /// or another run of the job is alive (a sign of life at or after `alive_after`): then
    /// `None`. One immediate transaction, so two processes cannot both pass the check.
    pub fn claim_job_run(
        &mut self,
        job: &str,
        trigger: &str,
        fire_at: DateTime<Utc>,
        at: DateTime<Utc>,
        alive_after: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let err = sqlite_err(&self.url);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let alive: i64 = tx
            .query_row(
                "SELECT count(*) FROM job_runs WHERE job = ?1 AND outcome = 'running' AND fire_at IS NOT NULL AND COALESCE(heartbeat_at, started_at) >= ?2",
                params![job, ms(alive_after)],
                |r| r.get(0),
            )
            .map_err(err)?;
        if alive > 0 {
            return Ok(None);
        }
        let id = tx
            .query_row(
                "INSERT INTO job_runs (job, trigger, started_at, outcome, fire_at, heartbeat_at) VALUES (?1, ?2, ?3, 'running', ?4, ?3) ON CONFLICT (job, fire_at) DO NOTHING RETURNING id",
                params![job, trigger, ms(at), ms(fire_at)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// A sign of life of the running run of a fire time.
    pub fn beat_job_run(
        &mut self,
        job: &str,
        fire_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE job_runs SET heartbeat_at = ?3 WHERE job = ?1 AND fire_at = ?2 AND outcome = 'running'",
                params![job, ms(fire_at), ms(at)],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// Closes as failed a run of the job with no sign of life since `stale_before` (its process
    /// was killed) and frees its fire time; the fire time, when this call was the one to close it.
    pub fn take_over_job_run(
        &mut self,
        job: &str,
        stale_before: DateTime<Utc>,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let err = sqlite_err(&self.url);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let stale: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, fire_at FROM job_runs WHERE job = ?1 AND outcome = 'running' AND fire_at IS NOT NULL AND COALESCE(heartbeat_at, started_at) < ?2 ORDER BY id LIMIT 1",
                params![job, ms(stale_before)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        let Some((id, fire_at)) = stale else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE job_runs SET outcome = 'failed', finished_at = ?2, error = ?3, fire_at = NULL WHERE id = ?1 AND outcome = 'running'",
            params![id, ms(at), why],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Some(from_ms(fire_at)))
    }

    pub fn finish_job_run(&mut self, run: &JobRun) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE job_runs SET finished_at = ?2, files_imported = ?3, files_failed = ?4, files_skipped = ?5, rows_read = ?6, rows_upserted = ?7, rows_rejected = ?8, outcome = ?9, error = ?10 WHERE id = ?1",
                params![
                    run.id,
                    run.finished_at.map(ms),
                    run.files_imported as i64,
                    run.files_failed as i64,
                    run.files_skipped as i64,
                    run.counts.read as i64,
                    run.counts.upserted as i64,
                    run.counts.rejected as i64,
                    run.outcome,
                    run.error
                ],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    pub fn job_runs(&self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, job, trigger, started_at, finished_at, files_imported, files_failed, files_skipped, rows_read, rows_upserted, rows_rejected, outcome, error FROM job_runs WHERE ?1 IS NULL OR job = ?1 ORDER BY started_at DESC, id DESC LIMIT ?2")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![job, limit as i64], job_run_from_row)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The file a content hash was imported from, if it was.
    pub fn imported_file(&self, sha256: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT file FROM imported_files WHERE sha256 = ?1",
                params![sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    pub fn record_imported_file(
        &mut self,
        sha256: &str,
        file: &str,
        job_run: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO imported_files (sha256, file, job_run, imported_at) VALUES (?1, ?2, ?3, ?4)",
                params![sha256, file, job_run, ms(at)],
            )
            .map(|_| ())
            .map_err(self.err())
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
        }))
    }
}

/// Rows a copy reads or writes at a time.
const COPY_BATCH: usize = 10_000;

/// Everything a store copy needs of the engine (see `copy.rs`).
impl Sqlite {
    /// Gemba's tables in this store.
    #[cfg(test)]
    pub fn tables(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .map_err(self.err())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The schema version (the number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err())
    }

    /// Starts one read transaction: what a copy reads is one moment of the store.
    pub fn begin_read(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN").map_err(self.err())
    }

    pub fn end_read(&mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(self.err())
    }

    /// Streams a table's rows in key order (insertion order within a key), in batches.
    pub fn read_table(&mut self, t: &Table, f: Rows<'_>) -> Result<u64, StoreError> {
        let names: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let order = if t.appended {
            format!("{}, rowid", t.key)
        } else {
            t.key.to_string()
        };
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {order}",
            names.join(", "),
            t.name
        );
        let err = sqlite_err(&self.url);
        let mut stmt = self.conn.prepare(&sql).map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        let (mut batch, mut n) = (Vec::with_capacity(COPY_BATCH), 0u64);
        while let Some(r) = rows.next().map_err(err)? {
            let mut row = Vec::with_capacity(t.columns.len());
            for (i, (name, ty)) in t.columns.iter().enumerate() {
                use rusqlite::types::ValueRef;
                let v = match (r.get_ref(i).map_err(err)?, ty) {
                    (ValueRef::Null, _) => Value::Null,
                    (ValueRef::Integer(v), Ty::Int) => Value::Int(v),
                    (ValueRef::Integer(v), Ty::Real) => Value::Real(v as f64),
                    (ValueRef::Real(v), Ty::Real) => Value::Real(v),
                    (ValueRef::Text(v), Ty::Text) => {
                        Value::Text(String::from_utf8_lossy(v).into_owned())
                    }
                    (other, _) => {
                        return Err(StoreError::Corrupt {
                            url: self.url.clone(),
                            what: format!("{}.{name}", t.name),
                            reason: format!("a {:?} value where {ty:?} belongs", other.data_type()),
                        });
                    }
                };
                row.push(v);
            }
            batch.push(row);
            n += 1;
            if batch.len() == COPY_BATCH {
                f(&batch)?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            f(&batch)?;
        }
        Ok(n)
    }

    /// Starts loading a copy: one transaction, refused when the store holds anything unless
    /// `force`, which empties it first.
    pub fn begin_load(&mut self, force: bool) -> Result<LoadTx<'_>, StoreError> {
        let url = self.url.as_str();
        let err = sqlite_err(url);
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(err)?;
        let mut tx = LoadTx {
            conn: &self.conn,
            url,
            done: false,
        };
        let mut held = Vec::new();
        for t in super::copy::TABLES.iter().rev() {
            let n = tx.count(t.name)?;
            if n > 0 {
                held.push(format!("{} {}", n, t.name));
            }
        }
        if !held.is_empty() {
            if !force {
                return Err(StoreError::Copy(format!(
                    "the target {url} is not empty ({}): copy into a new store, or add --force to replace what it holds",
                    held.join(", ")
                )));
            }
            for t in super::copy::TABLES.iter().rev() {
                tx.conn
                    .execute(&format!("DELETE FROM {}", t.name), [])
                    .map_err(err)?;
            }
        }
        Ok(tx)
    }

    /// A consistent copy of the store into `file` (which must not exist), with SQLite's online
    /// backup: a few pages at a time, so the store stays usable meanwhile.
    pub fn backup(&mut self, file: &std::path::Path) -> Result<(), StoreError> {
        let url = format!("sqlite:{}", file.display());
        let err = sqlite_err(&url);
        let mut target = Connection::open(file).map_err(err)?;
        let backup = rusqlite::backup::Backup::new(&self.conn, &mut target).map_err(err)?;
        backup
            .run_to_completion(1024, std::time::Duration::from_millis(2), None)
            .map_err(err)
    }
}

/// A copy being loaded: one transaction, rolled back when dropped without `commit`.
pub struct LoadTx<'s> {
    conn: &'s Connection,
    url: &'s str,
    done: bool,
}

impl Drop for LoadTx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl LoadTx<'_> {
    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
        sqlite_err(self.url)
    }

    pub fn commit(mut self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(self.err())?;
        self.done = true;
        Ok(())
    }
}

impl Load for LoadTx<'_> {
    fn count(&mut self, table: &str) -> Result<u64, StoreError> {
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(self.err())
    }

    fn write(&mut self, t: &Table, rows: &[Vec<Value>]) -> Result<(), StoreError> {
        let names: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let marks = vec!["?"; names.len()].join(", ");
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                t.name,
                names.join(", ")
            ))
            .map_err(self.err())?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))
                .map_err(self.err())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(db: &Sqlite) -> i64 {
        db.conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn what_people_write_commits_with_synchronous_full_and_imports_keep_normal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut db = Sqlite::open("sqlite:s.db", path.to_str().unwrap()).unwrap();
        // 1 = NORMAL, 2 = FULL.
        assert_eq!(synchronous(&db), 1);
        let during = db
            .durable(|c| c.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0)))
            .unwrap();
        assert_eq!(during, 2);
        assert_eq!(synchronous(&db), 1);
        db.start_huddle("crew:Mech", Utc::now()).unwrap();
        assert_eq!(synchronous(&db), 1);
        // A failed write still puts NORMAL back.
        let failed = db.durable(|c| c.execute_batch("INSERT INTO nowhere VALUES (1)"));
        assert!(failed.is_err());
        assert_eq!(synchronous(&db), 1);
    }
}
