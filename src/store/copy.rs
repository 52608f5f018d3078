//! `gemba store copy`: every table of one store into another, whichever engines they are on
//! (SQLite to PostgreSQL to move a plant onto the company's server, or back to take one home).
//! The list of tables and their columns is here, once, for both engines; a later table joins
//! [`TABLES`] in the same change that adds its migrations (a test fails until it does).

use super::{Engine, Store, StoreError};

/// A stored value as both engines hold it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// Where a copy's reader sends each batch of rows.
pub(crate) type Rows<'a> = &'a mut dyn FnMut(&[Vec<Value>]) -> Result<(), StoreError>;

/// A column's type: INTEGER/BIGINT, REAL/DOUBLE PRECISION or TEXT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Int,
    Real,
    Text,
}

/// A table a copy moves.
pub(crate) struct Table {
    pub name: &'static str,
    /// Every column but the engine's own row order (`rowid`, `seq`).
    pub columns: &'static [(&'static str, Ty)],
    /// The order rows are read and written in.
    pub key: &'static str,
    /// Rows with the same key keep the order they were written in (history, rejections).
    pub appended: bool,
    /// The table's `id` is generated: the target's next id must follow the copied ones.
    pub identity: bool,
}

use Ty::{Int, Real, Text};

/// Gemba's tables in the order a copy writes them (a row's references come first).
pub(crate) const TABLES: &[Table] = &[
    Table {
        name: "orders",
        columns: &[
            ("source", Text),
            ("id", Text),
            ("title", Text),
            ("kind", Text),
            ("status", Text),
            ("priority", Int),
            ("site", Text),
            ("area", Text),
            ("crew", Text),
            ("assignee", Text),
            ("asset_id", Text),
            ("asset_name", Text),
            ("asset_criticality", Int),
            ("created_at", Int),
            ("due_at", Int),
            ("scheduled_start", Int),
            ("started_at", Int),
            ("completed_at", Int),
            ("updated_at", Int),
            ("estimated_hours", Real),
            ("actual_hours", Real),
            ("downtime_hours", Real),
            ("pm_interval_days", Int),
            ("cost", Real),
            ("failure_code", Text),
        ],
        key: "source, id",
        appended: false,
        identity: false,
    },
    Table {
        name: "import_runs",
        columns: &[
            ("id", Int),
            ("kind", Text),
            ("source", Text),
            ("file", Text),
            ("profile", Text),
            ("started_at", Int),
            ("finished_at", Int),
            ("rows_read", Int),
            ("rows_upserted", Int),
            ("rows_rejected", Int),
            ("outcome", Text),
            ("error", Text),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "rejected_rows",
        columns: &[
            ("run_id", Int),
            ("line", Int),
            ("field", Text),
            ("value", Text),
            ("reason", Text),
        ],
        key: "run_id, line",
        appended: true,
        identity: false,
    },
    Table {
        name: "snapshots",
        columns: &[
            ("date", Text),
            ("scope", Text),
            ("metrics", Text),
            ("written_at", Int),
        ],
        key: "date, scope",
        appended: false,
        identity: false,
    },
    Table {
        name: "actions",
        columns: &[
            ("id", Int),
            ("board", Text),
            ("origin", Text),
            ("title", Text),
            ("owner", Text),
            ("due", Text),
            ("status", Text),
            ("orders", Text),
            ("escalated_from", Text),
            ("escalation_reason", Text),
            ("note", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "action_history",
        columns: &[
            ("action_id", Int),
            ("at", Int),
            ("who", Text),
            ("what", Text),
        ],
        key: "action_id, at",
        appended: true,
        identity: false,
    },
    Table {
        name: "huddles",
        columns: &[
            ("id", Int),
            ("board", Text),
            ("started_at", Int),
            ("ended_at", Int),
            ("attendees", Text),
            ("pages", Text),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "job_runs",
        columns: &[
            ("id", Int),
            ("job", Text),
            ("trigger", Text),
            ("started_at", Int),
            ("finished_at", Int),
            ("files_imported", Int),
            ("files_failed", Int),
            ("files_skipped", Int),
            ("rows_read", Int),
            ("rows_upserted", Int),
            ("rows_rejected", Int),
            ("outcome", Text),
            ("error", Text),
            ("fire_at", Int),
            ("heartbeat_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "imported_files",
        columns: &[
            ("sha256", Text),
            ("file", Text),
            ("job_run", Int),
            ("imported_at", Int),
        ],
        key: "sha256",
        appended: false,
        identity: false,
    },
    Table {
        name: "sync_state",
        columns: &[("connector", Text), ("watermark", Int), ("updated_at", Int)],
        key: "connector",
        appended: false,
        identity: false,
    },
    Table {
        name: "safety_marks",
        columns: &[
            ("board", Text),
            ("day", Text),
            ("mark", Text),
            ("note", Text),
            ("who", Text),
            ("at", Int),
        ],
        key: "board, day",
        appended: false,
        identity: false,
    },
    Table {
        name: "safety_history",
        columns: &[
            ("id", Int),
            ("board", Text),
            ("day", Text),
            ("mark", Text),
            ("note", Text),
            ("who", Text),
            ("at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "login_failures",
        columns: &[("address", Text), ("at", Int)],
        key: "address, at",
        appended: false,
        identity: false,
    },
    Table {
        name: "leaders",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("role", Text),
            ("board", Text),
            ("login", Text),
            ("active", Int),
            ("updated_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "routines",
        columns: &[
            ("id", Int),
            ("leader_id", Int),
            ("title", Text),
            ("kind", Text),
            ("board", Text),
            ("cadence", Text),
            ("window_hours", Int),
            ("grace_hours", Int),
            ("items", Text),
            ("active", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("route_id", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "routine_completions",
        columns: &[
            ("id", Int),
            ("routine_id", Int),
            ("done_at", Int),
            ("who", Text),
            ("note", Text),
            ("results", Text),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "walk_routes",
        columns: &[
            ("id", Int),
            ("title", Text),
            ("leader_id", Int),
            ("stops", Text),
            ("questions", Text),
            ("active", Int),
            ("updated_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "walks",
        columns: &[
            ("id", Int),
            ("route_id", Int),
            ("leader_id", Int),
            ("started_at", Int),
            ("ended_at", Int),
            ("stops", Text),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "lsw_history",
        columns: &[
            ("id", Int),
            ("subject", Text),
            ("at", Int),
            ("who", Text),
            ("what", Text),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "a3s",
        columns: &[
            ("id", Int),
            ("board", Text),
            ("title", Text),
            ("owner", Text),
            ("stage", Text),
            ("body", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "objectives",
        columns: &[
            ("id", Int),
            ("parent_id", Int),
            ("board", Text),
            ("title", Text),
            ("owner", Text),
            ("body", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
    Table {
        name: "hoshin_reviews",
        columns: &[
            ("id", Int),
            ("board", Text),
            ("month", Text),
            ("held_on", Text),
            ("attendees", Text),
            ("items", Text),
            ("created_at", Int),
        ],
        key: "id",
        appended: false,
        identity: true,
    },
];

/// What a copy needs of the target's open load, in either engine.
pub(crate) trait Load {
    /// Writes a batch of rows into `t`, inside the load's transaction.
    fn write(&mut self, t: &Table, rows: &[Vec<Value>]) -> Result<(), StoreError>;
    /// The rows `table` holds now, inside the load's transaction.
    fn count(&mut self, table: &str) -> Result<u64, StoreError>;
}

/// What a copy moved: rows per table, as read from the source and counted in the target
/// before its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

/// Copies every table of `from` into `to` in one transaction on `to`, reading `from` as one
/// moment. `to` must be empty unless `force` (then what it held is replaced). Row counts are
/// checked in the target before it commits: a difference rolls the whole copy back.
pub fn copy(
    from: &mut Store,
    to: &mut Store,
    force: bool,
    progress: &mut dyn FnMut(&str, u64),
) -> Result<CopyReport, StoreError> {
    let (known_from, known_to) = (schema_version(from)?, schema_version(to)?);
    if known_from != known_to {
        return Err(StoreError::Copy(format!(
            "the source's schema is version {known_from} and the target's {known_to}: open both with this Gemba first"
        )));
    }
    let mut tables = Vec::new();
    match &mut from.engine {
        Engine::Sqlite(e) => e.begin_read()?,
        Engine::Postgres(e) => e.begin_read()?,
    }
    let result = match &mut to.engine {
        Engine::Sqlite(target) => target.begin_load(force).and_then(|mut load| {
            load_every_table(from, &mut load, progress, &mut tables)?;
            load.commit()
        }),
        Engine::Postgres(target) => target.begin_load(force).and_then(|mut load| {
            load_every_table(from, &mut load, progress, &mut tables)?;
            load.commit()
        }),
    };
    let ended = match &mut from.engine {
        Engine::Sqlite(e) => e.end_read(),
        Engine::Postgres(e) => e.end_read(),
    };
    result?;
    ended?;
    Ok(CopyReport { tables })
}

/// Every table of [`TABLES`] from `from` into `load`, each count checked before the next.
fn load_every_table(
    from: &mut Store,
    load: &mut dyn Load,
    progress: &mut dyn FnMut(&str, u64),
    tables: &mut Vec<(&'static str, u64)>,
) -> Result<(), StoreError> {
    for t in TABLES {
        let write: Rows<'_> = &mut |rows| load.write(t, rows);
        let n = match &mut from.engine {
            Engine::Sqlite(e) => e.read_table(t, write),
            Engine::Postgres(e) => e.read_table(t, write),
        }?;
        check(t, n, load.count(t.name)?)?;
        progress(t.name, n);
        tables.push((t.name, n));
    }
    Ok(())
}

fn check(t: &Table, read: u64, written: u64) -> Result<(), StoreError> {
    if read == written {
        Ok(())
    } else {
        Err(StoreError::Copy(format!(
            "{}: {read} rows read but {written} in the target; nothing was copied",
            t.name
        )))
    }
}

fn schema_version(store: &mut Store) -> Result<i64, StoreError> {
    match &mut store.engine {
        Engine::Sqlite(e) => e.schema_version(),
        Engine::Postgres(e) => e.schema_version(),
    }
}
