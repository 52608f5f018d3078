//! The store facade: work orders, import runs with their rejected rows, daily snapshots, and
//! what people write (actions, huddles, safety marks). Callers see only this module; an engine
//! per database sits behind it (SQLite in `sqlite.rs`, PostgreSQL in `postgres.rs`, each with its
//! own SQL), chosen by the URL, so nothing outside knows SQL. What both engines share (decoding a
//! stored order, the list of tables a copy moves) lives here. Every import is one transaction:
//! all of it or none of it.

mod copy;
mod postgres;
mod sqlite;

pub use copy::{CopyReport, copy};

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{Criticality, Kind, Priority, Status, WorkOrder};

/// At most this many rejected rows are kept per run; the run's count stays exact.
pub const MAX_STORED_REJECTIONS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported store URL `{0}`: use sqlite:FILE (e.g. sqlite:gemba.db) or postgres://USER@HOST:PORT/DATABASE{1}"
    )]
    Url(String, &'static str),
    #[error("store {url}: {source}")]
    Sqlite {
        url: String,
        #[source]
        source: rusqlite::Error,
    },
    /// `place` is host, port and database: never the password.
    #[error("store postgres {place}: {}", postgres::describe(source))]
    Postgres {
        place: String,
        #[source]
        source: ::postgres::Error,
    },
    #[error("store postgres {place}: {message}")]
    PostgresSetup { place: String, message: String },
    #[error(
        "store {url}: its schema is version {found}, newer than this Gemba knows ({known}): run the newer Gemba, or restore a backup made for this one"
    )]
    Newer { url: String, found: i64, known: i64 },
    #[error("copying the store: {0}")]
    Copy(String),
    #[error("store {url}: the stored row {what} is not valid: {reason}")]
    Corrupt {
        url: String,
        what: String,
        reason: String,
    },
}

impl StoreError {
    /// The database could not be reached (down, restarting, refusing connections): something
    /// to wait out, unlike a bad row or a bug. Only PostgreSQL goes away; a SQLite file does not.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Postgres { source, .. } => match source.as_db_error() {
                // SQLSTATE 08 connection exception, 57 operator intervention (shut down,
                // starting up), 55000 a database not accepting connections.
                Some(db) => {
                    let code = db.code().code();
                    code.starts_with("08") || code.starts_with("57") || code == "55000"
                }
                // No answer from a server at all: refused, reset, closed, timed out.
                None => true,
            },
            _ => false,
        }
    }
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

/// A leader whose standard work Gemba keeps (docs/lsw.md): a name, a role, the board they lead,
/// and optionally their `[auth]` login (their `/me`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Leader {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// A board key: plant, site:NAME, area:NAME or crew:NAME.
    pub board: String,
    pub login: Option<String>,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a leader that a write sets (checked by `crate::lsw::check_leader`).
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderWrite {
    pub name: String,
    pub role: String,
    pub board: String,
    pub login: Option<String>,
    pub active: bool,
}

/// A leader's routine: what, where, when it is due (a crontab line in plant time) and how long
/// it may take (docs/lsw.md).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Routine {
    pub id: i64,
    pub leader_id: i64,
    pub title: String,
    /// checklist, board_review or audit.
    pub kind: String,
    pub board: String,
    pub cadence: String,
    pub window_hours: u32,
    pub grace_hours: u32,
    /// The checklist's or audit's items, in order.
    pub items: Vec<String>,
    /// A paused routine is not due.
    pub active: bool,
    /// The walk route of a gemba-walk routine: done by walking it.
    pub route_id: Option<i64>,
    /// A routine is due from when it was added (docs/lsw.md).
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a routine that a write sets (checked by `crate::lsw::check_routine`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoutineWrite {
    pub leader_id: i64,
    pub title: String,
    pub kind: String,
    pub board: String,
    pub cadence: String,
    pub window_hours: u32,
    pub grace_hours: u32,
    pub items: Vec<String>,
    pub active: bool,
    pub route_id: Option<i64>,
}

/// A routine recorded done: when, by whom, the items' results and a note.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Completion {
    pub id: i64,
    pub routine_id: i64,
    pub done_at: DateTime<Utc>,
    pub who: String,
    pub note: String,
    pub results: Vec<crate::lsw::ItemResult>,
}

/// A completion to record (checked by `crate::lsw::check_completion`).
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionWrite {
    pub routine_id: i64,
    pub done_at: DateTime<Utc>,
    pub note: String,
    pub results: Vec<crate::lsw::ItemResult>,
}

/// One line of the history of leader standard work: `subject` is `leader:ID` or `routine:ID`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LswChange {
    pub subject: String,
    pub at: DateTime<Utc>,
    pub who: String,
    pub what: String,
}

/// A stored routine's columns as both engines read them; `items` is JSON.
pub(crate) struct RoutineRow {
    pub id: i64,
    pub leader_id: i64,
    pub title: String,
    pub kind: String,
    pub board: String,
    pub cadence: String,
    pub window_hours: i64,
    pub grace_hours: i64,
    pub items: String,
    pub active: bool,
    pub route_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored completion's columns as both engines read them; `results` is JSON.
pub(crate) struct CompletionRow {
    pub id: i64,
    pub routine_id: i64,
    pub done_at: i64,
    pub who: String,
    pub note: String,
    pub results: String,
}

/// A gemba walk's standard route (docs/walks.md): ordered stops and the questions asked at each.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Route {
    pub id: i64,
    pub title: String,
    /// The leader who walks it.
    pub leader_id: i64,
    pub stops: Vec<crate::walks::Stop>,
    pub questions: Vec<String>,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

/// The fields of a route that a write sets (checked by `crate::walks::check_route`).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteWrite {
    pub title: String,
    pub leader_id: i64,
    pub stops: Vec<crate::walks::Stop>,
    pub questions: Vec<String>,
    pub active: bool,
}

/// One walk of a route: when, by whom, and each stop as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Walk {
    pub id: i64,
    pub route_id: i64,
    pub leader_id: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub stops: Vec<crate::walks::StopRecord>,
}

/// A stored route's columns as both engines read them; `stops` and `questions` are JSON.
pub(crate) struct RouteRow {
    pub id: i64,
    pub title: String,
    pub leader_id: i64,
    pub stops: String,
    pub questions: String,
    pub active: bool,
    pub updated_at: i64,
}

/// A stored A3's columns as both engines read them; `body` is JSON (`crate::a3::Body`).
pub(crate) struct A3Row {
    pub id: i64,
    pub board: String,
    pub title: String,
    pub owner: String,
    pub stage: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored objective's columns as both engines read them; `body` is JSON.
pub(crate) struct ObjectiveRow {
    pub id: i64,
    pub parent: Option<i64>,
    pub board: String,
    pub title: String,
    pub owner: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The fields of an objective that a write sets.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveWrite {
    pub parent: Option<i64>,
    pub board: String,
    pub title: String,
    pub owner: String,
    pub body: crate::hoshin::ObjectiveBody,
}

/// A stored review's columns; `items` is JSON.
pub(crate) struct ReviewRow {
    pub id: i64,
    pub board: String,
    pub month: String,
    pub held_on: String,
    pub attendees: String,
    pub items: String,
    pub created_at: i64,
}

/// A monthly review of a board's objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewWrite {
    pub board: String,
    /// YYYY-MM.
    pub month: String,
    pub held_on: chrono::NaiveDate,
    pub attendees: String,
    /// Per objective: its status and a note.
    pub items: std::collections::BTreeMap<i64, crate::hoshin::ReviewItem>,
}

/// A monthly review as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Review {
    pub id: i64,
    pub board: String,
    pub month: String,
    #[schema(value_type = String, format = Date)]
    pub held_on: chrono::NaiveDate,
    pub attendees: String,
    /// By objective id (JSON object keys are text).
    #[schema(value_type = std::collections::BTreeMap<String, crate::hoshin::ReviewItem>)]
    pub items: std::collections::BTreeMap<i64, crate::hoshin::ReviewItem>,
    pub created_at: DateTime<Utc>,
}

/// The fields of an A3 that a write sets.
#[derive(Debug, Clone, PartialEq)]
pub struct A3Write {
    pub board: String,
    pub title: String,
    pub owner: String,
    pub stage: crate::a3::Stage,
    pub body: crate::a3::Body,
}

/// A stored walk's columns as both engines read them; `stops` is JSON.
pub(crate) struct WalkRow {
    pub id: i64,
    pub route_id: i64,
    pub leader_id: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub stops: String,
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

/// An order's columns as both engines store them: codes as text, integers, UTC milliseconds.
/// Each engine reads its row into this; [`RawOrder::decode`] checks it, once for both.
pub(crate) struct RawOrder<'r> {
    pub source: &'r str,
    pub id: &'r str,
    pub title: &'r str,
    pub kind: &'r str,
    pub status: &'r str,
    pub priority: i64,
    pub site: Option<&'r str>,
    pub area: Option<&'r str>,
    pub crew: Option<&'r str>,
    pub assignee: Option<&'r str>,
    pub asset_id: Option<&'r str>,
    pub asset_name: Option<&'r str>,
    pub asset_criticality: Option<i64>,
    pub created_at: i64,
    pub due_at: Option<i64>,
    pub scheduled_start: Option<i64>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub estimated_hours: Option<f64>,
    pub actual_hours: Option<f64>,
    pub downtime_hours: Option<f64>,
    pub pm_interval_days: Option<i64>,
    pub cost: Option<f64>,
    pub failure_code: Option<&'r str>,
}

impl<'r> RawOrder<'r> {
    /// The order, or what is wrong with the stored row.
    pub(crate) fn decode(&self, url: &str) -> Result<OrderRef<'r>, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            url: url.to_string(),
            what: format!("order {} {}", self.source, self.id),
            reason,
        };
        Ok(OrderRef {
            source: self.source,
            id: self.id,
            title: self.title,
            kind: self.kind.parse().map_err(corrupt)?,
            status: self.status.parse().map_err(corrupt)?,
            priority: Priority::new(self.priority).map_err(corrupt)?,
            site: self.site,
            area: self.area,
            crew: self.crew,
            assignee: self.assignee,
            asset_id: self.asset_id,
            asset_name: self.asset_name,
            asset_criticality: self
                .asset_criticality
                .map(Criticality::new)
                .transpose()
                .map_err(corrupt)?,
            created_at: self.created_at,
            due_at: self.due_at,
            scheduled_start: self.scheduled_start,
            started_at: self.started_at,
            completed_at: self.completed_at,
            updated_at: self.updated_at,
            estimated_hours: self.estimated_hours,
            actual_hours: self.actual_hours,
            downtime_hours: self.downtime_hours,
            pm_interval_days: self
                .pm_interval_days
                .map(|d| u32::try_from(d).map_err(|_| corrupt(format!("pm_interval_days {d}"))))
                .transpose()?,
            cost: self.cost,
            failure_code: self.failure_code,
        })
    }
}

/// An action's stored `orders` column: order ids, comma separated.
pub(crate) fn split_orders(orders: &str) -> Vec<String> {
    orders
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Stored instants are UTC milliseconds in both engines.
pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

/// A store URL fit for a message or a log: a URL with a host loses its password (and its query,
/// which may carry one); a SQLite URL stays as it is.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.split('?').next().unwrap_or(rest);
            let rest = match rest.rsplit_once('@') {
                Some((user, host)) => {
                    format!("{}@{host}", user.split(':').next().unwrap_or(user))
                }
                None => rest.to_string(),
            };
            format!("{scheme}://{rest}")
        }
        None => url.to_string(),
    }
}

/// Whether the store at `url` announces its commits (PostgreSQL's `NOTIFY`), so a server can
/// [`Listener`] for them instead of only polling.
pub fn notifies(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Waits for the commits with new data of every instance on a PostgreSQL store.
pub struct Listener(postgres::Listener);

impl Listener {
    pub fn open(url: &str) -> Result<Listener, StoreError> {
        Ok(Listener(postgres::Listener::open(url)?))
    }

    /// Waits up to `timeout`; true when a commit was announced.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        self.0.wait(timeout)
    }
}

enum Engine {
    Sqlite(sqlite::Sqlite),
    Postgres(Box<postgres::Postgres>),
}

/// Runs the same call on whichever engine the store has.
macro_rules! on {
    ($store:expr, $e:ident => $call:expr) => {
        match &$store.engine {
            Engine::Sqlite($e) => $call,
            Engine::Postgres($e) => $call,
        }
    };
}

macro_rules! on_mut {
    ($store:expr, $e:ident => $call:expr) => {
        match &mut $store.engine {
            Engine::Sqlite($e) => $call,
            Engine::Postgres($e) => $call,
        }
    };
}

/// The store, opened from a URL.
pub struct Store {
    engine: Engine,
}

/// An import in progress: one transaction. Dropping it without `commit` rolls everything back.
pub struct ImportTx<'s> {
    inner: ImportInner<'s>,
}

enum ImportInner<'s> {
    Sqlite(sqlite::ImportTx<'s>),
    Postgres(postgres::ImportTx<'s>),
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    /// `sqlite:FILE`, `sqlite://FILE` and `sqlite::memory:` open SQLite;
    /// `postgres://USER@HOST:PORT/DB` (or `postgresql://`, with libpq's `sslmode` and
    /// `sslrootcert`) opens PostgreSQL, its password from the URL or `PGPASSWORD`.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store {
                engine: Engine::Postgres(Box::new(postgres::Postgres::open(url)?)),
            });
        }
        let path = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else {
            return Err(StoreError::Url(redact(url), ""));
        };
        if path.is_empty() {
            return Err(StoreError::Url(url.to_string(), ""));
        }
        Ok(Store {
            engine: Engine::Sqlite(sqlite::Sqlite::open(url, path)?),
        })
    }

    /// Which database this store is on.
    pub fn database(&self) -> Database {
        match self.engine {
            Engine::Sqlite(_) => Database::Sqlite,
            Engine::Postgres(_) => Database::Postgres,
        }
    }

    /// The store's URL without its password, for messages.
    pub fn describe(&self) -> String {
        on!(self, e => redact(e.url()))
    }

    /// Starts an import. With `replace_source`, the source's stored orders are removed first
    /// (inside the same transaction), so the import's rows become the whole of that source.
    pub fn begin_import(
        &mut self,
        meta: &RunMeta,
        replace_source: bool,
    ) -> Result<ImportTx<'_>, StoreError> {
        Ok(ImportTx {
            inner: match &mut self.engine {
                Engine::Sqlite(e) => ImportInner::Sqlite(e.begin_import(meta, replace_source)?),
                Engine::Postgres(e) => ImportInner::Postgres(e.begin_import(meta, replace_source)?),
            },
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
        on_mut!(self, e => e.record_failed_run(meta, counts, error, rejections))
    }

    /// Opens a run that commits in several steps (a sync): recorded as `running` at once, so a
    /// run cut short still shows; [`Store::commit_page`] adds to it, [`Store::finish_run`] closes it.
    pub fn start_run(&mut self, meta: &RunMeta) -> Result<i64, StoreError> {
        on_mut!(self, e => e.start_run(meta))
    }

    /// Writes one page of a sync in one transaction (see [`Page`]).
    pub fn commit_page(&mut self, page: &Page<'_>) -> Result<(), StoreError> {
        on_mut!(self, e => e.commit_page(page))
    }

    /// Closes a run opened by [`Store::start_run`]: succeeded, or failed with `error`.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        counts: RunCounts,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        on_mut!(self, e => e.finish_run(run_id, counts, error))
    }

    /// The latest `updated_at` a connector has fully synced; `None` before its first sync.
    pub fn watermark(&mut self, connector: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_mut!(self, e => e.watermark(connector))
    }

    /// The most recent runs, newest first.
    pub fn runs(&mut self, limit: usize) -> Result<Vec<ImportRun>, StoreError> {
        on_mut!(self, e => e.runs(limit))
    }

    /// One run by its id.
    pub fn run(&mut self, id: i64) -> Result<Option<ImportRun>, StoreError> {
        on_mut!(self, e => e.run(id))
    }

    /// The stored rejected rows of a run, in line order.
    pub fn rejections(&mut self, run_id: i64) -> Result<Vec<Rejection>, StoreError> {
        on_mut!(self, e => e.rejections(run_id))
    }

    /// Whether the store answers (a cheap read, for health checks).
    pub fn ping(&mut self) -> Result<(), StoreError> {
        on_mut!(self, e => e.ping())
    }

    pub fn order_count(&mut self) -> Result<u64, StoreError> {
        on_mut!(self, e => e.order_count())
    }

    /// Every stored order, in key order.
    pub fn orders(&mut self) -> Result<Vec<WorkOrder>, StoreError> {
        let mut out = Vec::new();
        self.scan_order_refs(|o| out.push(o.to_order()))?;
        Ok(out)
    }

    /// Streams every stored order as a borrowed row, in key order (bytewise, in both engines),
    /// allocating nothing per row.
    pub fn scan_order_refs(&mut self, mut f: impl FnMut(&OrderRef<'_>)) -> Result<(), StoreError> {
        on_mut!(self, e => e.scan_order_refs(&|_, _| false, &mut f))
    }

    /// As [`Store::scan_order_refs`], without the orders whose (source, id) `skip` names; a
    /// skipped row is not decoded past its key.
    pub fn scan_order_refs_except(
        &mut self,
        skip: impl Fn(&str, &str) -> bool + Sync,
        mut f: impl FnMut(&OrderRef<'_>),
    ) -> Result<(), StoreError> {
        on_mut!(self, e => e.scan_order_refs(&skip, &mut f))
    }

    /// Rows rejected by the most recent CSV import or API sync (metrics' data quality).
    pub fn rejected_rows_last_import(&mut self) -> Result<u64, StoreError> {
        on_mut!(self, e => e.rejected_rows_last_import())
    }

    /// SQLite: moves committed writes from the write-ahead log into the database file now (an
    /// import's commit leaves that to the next commit, so it can overlap other work).
    /// PostgreSQL checkpoints by itself: nothing to do.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        match &mut self.engine {
            Engine::Sqlite(e) => e.checkpoint(),
            Engine::Postgres(_) => Ok(()),
        }
    }

    /// Stores (or replaces) the metrics JSON of each (scope, JSON) for one day, in one
    /// transaction.
    pub fn put_snapshots(
        &mut self,
        date: NaiveDate,
        rows: &[(String, String)],
    ) -> Result<(), StoreError> {
        on_mut!(self, e => e.put_snapshots(date, rows))
    }

    pub fn snapshot(&mut self, date: NaiveDate, scope: &str) -> Result<Option<String>, StoreError> {
        on_mut!(self, e => e.snapshot(date, scope))
    }

    /// Writes an action (new when `id` is `None`) with one line of history, atomically and
    /// durably (see docs/deploy.md: what people write survives a power cut).
    pub fn write_action(
        &mut self,
        id: Option<i64>,
        action: &ActionWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        on_mut!(self, e => e.write_action(id, action, who, what, at))
    }

    pub fn action(&mut self, id: i64) -> Result<Option<Action>, StoreError> {
        on_mut!(self, e => e.action(id))
    }

    /// Actions now on `board`, and/or raised on `origin`; the most recently changed first.
    pub fn actions(
        &mut self,
        board: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Vec<Action>, StoreError> {
        on_mut!(self, e => e.actions(board, origin))
    }

    pub fn action_history(&mut self, id: i64) -> Result<Vec<ActionChange>, StoreError> {
        on_mut!(self, e => e.action_history(id))
    }

    /// The actions that can count in the management system's indicators from `since` on:
    /// those changed since then (every change writes `updated_at` and a history line at the
    /// same instant) or due on or after `due_from`. Each with its history in order; the most
    /// recently changed first. An action closed before the window is not read, so the read
    /// stays the window's size however many years of actions the store holds.
    pub fn actions_touched(
        &mut self,
        since: DateTime<Utc>,
        due_from: NaiveDate,
    ) -> Result<Vec<(Action, Vec<ActionChange>)>, StoreError> {
        let due_from = due_from.format("%Y-%m-%d").to_string();
        let (actions, lines) = on_mut!(self, e => e.actions_touched(since, &due_from))?;
        let mut by_action: std::collections::HashMap<i64, Vec<ActionChange>> =
            std::collections::HashMap::new();
        for l in lines {
            by_action.entry(l.action_id).or_default().push(l);
        }
        Ok(actions
            .into_iter()
            .map(|a| {
                let h = by_action.remove(&a.id).unwrap_or_default();
                (a, h)
            })
            .collect())
    }

    /// History lines of the actions on or from `board` between two instants.
    pub fn changes_between(
        &mut self,
        board: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ActionChange>, StoreError> {
        on_mut!(self, e => e.changes_between(board, from, to))
    }

    /// Records the start of a huddle (durably).
    pub fn start_huddle(&mut self, board: &str, at: DateTime<Utc>) -> Result<i64, StoreError> {
        on_mut!(self, e => e.start_huddle(board, at))
    }

    /// Ends a huddle that is still open (durably); false when there is none with that id.
    pub fn end_huddle(
        &mut self,
        id: i64,
        at: DateTime<Utc>,
        attendees: &str,
        pages: &str,
    ) -> Result<bool, StoreError> {
        on_mut!(self, e => e.end_huddle(id, at, attendees, pages))
    }

    /// Marks a board's day on the safety cross (replacing its earlier mark of the day) with a
    /// history line, in one durable transaction. The caller has checked the mark
    /// (`crate::safety::check`).
    pub fn put_safety_mark(&mut self, m: &crate::safety::DayMark) -> Result<(), StoreError> {
        let (day, mark) = (m.day.to_string(), m.mark.as_str());
        on_mut!(self, e => e.put_safety_mark(&m.board, &day, mark, &m.note, &m.who, m.at))
    }

    /// The safety marks of `boards` from `from` to `to` inclusive, by day then board.
    pub fn safety_marks(
        &mut self,
        boards: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<crate::safety::DayMark>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        let rows = on_mut!(self, e => e.safety_marks(&from, &to))?;
        let url = self.describe();
        rows.into_iter()
            .filter(|r| boards.contains(&r.0))
            .map(|r| day_mark(&url, r))
            .collect()
    }

    pub fn huddles(
        &mut self,
        board: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Huddle>, StoreError> {
        on_mut!(self, e => e.huddles(board, limit))
    }

    /// Adds (`id` `None`) or changes a leader with a line of history, durably.
    pub fn write_leader(
        &mut self,
        id: Option<i64>,
        w: &LeaderWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        on_mut!(self, e => e.write_leader(id, w, who, what, at))
    }

    /// Every leader, by name.
    pub fn leaders(&mut self) -> Result<Vec<Leader>, StoreError> {
        on_mut!(self, e => e.leaders())
    }

    /// Adds (`id` `None`) or changes a routine with a line of history, durably.
    pub fn write_routine(
        &mut self,
        id: Option<i64>,
        w: &RoutineWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let items = serde_json::to_string(&w.items).expect("strings serialize");
        on_mut!(self, e => e.write_routine(id, w, &items, who, what, at))
    }

    /// Every routine, by id.
    pub fn routines(&mut self) -> Result<Vec<Routine>, StoreError> {
        let rows = on_mut!(self, e => e.routines(None))?;
        let url = self.describe();
        rows.into_iter().map(|r| routine_of(&url, r)).collect()
    }

    pub fn routine(&mut self, id: i64) -> Result<Option<Routine>, StoreError> {
        let rows = on_mut!(self, e => e.routines(Some(id)))?;
        let url = self.describe();
        rows.into_iter()
            .next()
            .map(|r| routine_of(&url, r))
            .transpose()
    }

    /// Records a routine done, with a line of history, durably.
    pub fn record_completion(
        &mut self,
        c: &CompletionWrite,
        who: &str,
        what: &str,
    ) -> Result<i64, StoreError> {
        let results = serde_json::to_string(&c.results).expect("results serialize");
        on_mut!(self, e => e.record_completion(c.routine_id, c.done_at, who, &c.note, &results, what))
    }

    /// The completions done in `[from, to)`, of every routine, oldest first.
    pub fn completions(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Completion>, StoreError> {
        let rows = on_mut!(self, e => e.completions(from, to))?;
        let url = self.describe();
        rows.into_iter()
            .map(|r| {
                let results = json_of(&url, "completion", r.id, "results", &r.results)?;
                Ok(Completion {
                    id: r.id,
                    routine_id: r.routine_id,
                    done_at: from_ms(r.done_at),
                    who: r.who,
                    note: r.note,
                    results,
                })
            })
            .collect()
    }

    /// The history of a leader or routine (`leader:ID`, `routine:ID`), oldest first.
    pub fn lsw_history(&mut self, subject: &str) -> Result<Vec<LswChange>, StoreError> {
        on_mut!(self, e => e.lsw_history(subject))
    }

    /// Adds (`id` `None`) or changes a walk route with a line of history, durably.
    pub fn write_route(
        &mut self,
        id: Option<i64>,
        w: &RouteWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let stops = serde_json::to_string(&w.stops).expect("stops serialize");
        let questions = serde_json::to_string(&w.questions).expect("strings serialize");
        on_mut!(self, e => e.write_route(id, w, &stops, &questions, who, what, at))
    }

    /// Every walk route, by id.
    pub fn routes(&mut self) -> Result<Vec<Route>, StoreError> {
        let rows = on_mut!(self, e => e.routes())?;
        let url = self.describe();
        rows.into_iter()
            .map(|r| {
                Ok(Route {
                    stops: json_of(&url, "route", r.id, "stops", &r.stops)?,
                    questions: json_of(&url, "route", r.id, "questions", &r.questions)?,
                    id: r.id,
                    title: r.title,
                    leader_id: r.leader_id,
                    active: r.active,
                    updated_at: from_ms(r.updated_at),
                })
            })
            .collect()
    }

    /// Starts a walk with its stops as recorded so far and a line of history, durably.
    pub fn start_walk(
        &mut self,
        route_id: i64,
        leader_id: i64,
        stops: &[crate::walks::StopRecord],
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let stops = serde_json::to_string(stops).expect("stops serialize");
        on_mut!(self, e => e.start_walk(route_id, leader_id, &stops, who, what, at))
    }

    /// Saves a walk's stops and end with a line of history, durably.
    pub fn save_walk(
        &mut self,
        w: &Walk,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let stops = serde_json::to_string(&w.stops).expect("stops serialize");
        on_mut!(self, e => e.save_walk(w.id, w.ended_at, &stops, who, what, at))
    }

    pub fn walk(&mut self, id: i64) -> Result<Option<Walk>, StoreError> {
        let rows = on_mut!(self, e => e.walks(Some(id), None))?;
        let url = self.describe();
        rows.into_iter()
            .next()
            .map(|r| walk_of(&url, r))
            .transpose()
    }

    /// The walks started in `[from, to)`, oldest first.
    pub fn walks(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Walk>, StoreError> {
        let rows = on_mut!(self, e => e.walks(None, Some((from, to))))?;
        let url = self.describe();
        rows.into_iter().map(|r| walk_of(&url, r)).collect()
    }

    /// Starts (`id` `None`) or changes an A3 with a line of history (`a3:ID`), durably.
    pub fn write_a3(
        &mut self,
        id: Option<i64>,
        w: &A3Write,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let body = serde_json::to_string(&w.body).expect("an A3 body serializes");
        on_mut!(self, e => e.write_a3(id, w, &body, who, what, at))
    }

    /// Every A3, by id.
    pub fn a3s(&mut self) -> Result<Vec<crate::a3::A3>, StoreError> {
        let rows = on_mut!(self, e => e.a3s(None))?;
        let url = self.describe();
        rows.into_iter().map(|r| a3_of(&url, r)).collect()
    }

    pub fn a3(&mut self, id: i64) -> Result<Option<crate::a3::A3>, StoreError> {
        let rows = on_mut!(self, e => e.a3s(Some(id)))?;
        let url = self.describe();
        rows.into_iter().next().map(|r| a3_of(&url, r)).transpose()
    }

    /// Sets (`id` `None`) or changes an objective with a line of history, durably.
    pub fn write_objective(
        &mut self,
        id: Option<i64>,
        w: &ObjectiveWrite,
        who: &str,
        what: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let body = serde_json::to_string(&w.body).expect("an objective serializes");
        on_mut!(self, e => e.write_objective(id, w, &body, who, what, at))
    }

    /// Every objective, by id.
    pub fn objectives(&mut self) -> Result<Vec<crate::hoshin::Objective>, StoreError> {
        let rows = on_mut!(self, e => e.objectives(None))?;
        let url = self.describe();
        rows.into_iter().map(|r| objective_of(&url, r)).collect()
    }

    pub fn objective(&mut self, id: i64) -> Result<Option<crate::hoshin::Objective>, StoreError> {
        let rows = on_mut!(self, e => e.objectives(Some(id)))?;
        let url = self.describe();
        rows.into_iter()
            .next()
            .map(|r| objective_of(&url, r))
            .transpose()
    }

    /// Records a monthly review with a line of history, durably.
    pub fn write_review(
        &mut self,
        w: &ReviewWrite,
        who: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let items = serde_json::to_string(&w.items).expect("review items serialize");
        let what = format!("review of {} for {}", w.board, w.month);
        on_mut!(self, e => e.write_review(w, &items, who, &what, at))
    }

    /// Every monthly review, by month.
    pub fn reviews(&mut self) -> Result<Vec<Review>, StoreError> {
        let rows = on_mut!(self, e => e.reviews())?;
        let url = self.describe();
        rows.into_iter()
            .map(|r| {
                let corrupt = |reason: String| StoreError::Corrupt {
                    url: url.clone(),
                    what: format!("review {}", r.id),
                    reason,
                };
                Ok(Review {
                    items: json_of(&url, "review", r.id, "items", &r.items)?,
                    held_on: r
                        .held_on
                        .parse()
                        .map_err(|_| corrupt(format!("`{}` is not a date", r.held_on)))?,
                    id: r.id,
                    board: r.board,
                    month: r.month,
                    attendees: r.attendees,
                    created_at: from_ms(r.created_at),
                })
            })
            .collect()
    }

    /// Huddles started in `[from, to)`, oldest first (a board review is done by attending one).
    pub fn huddles_between(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Huddle>, StoreError> {
        on_mut!(self, e => e.huddles_between(from, to))
    }

    /// Counts a failed login from `address` (the client's address) at `at`, forgets every
    /// failure before `forget_before`, and answers the address's failures kept, this one
    /// included. Every instance on the store counts into the same table, so a throttle holds
    /// across instances and restarts.
    pub fn record_login_failure(
        &mut self,
        address: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        on_mut!(self, e => e.record_login_failure(address, at, forget_before))
    }

    /// The failed logins from `address` at or after `since`.
    pub fn login_failures(
        &mut self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        on_mut!(self, e => e.login_failures(address, since))
    }

    /// Forgets the failed logins from `address` (it has just logged in).
    pub fn clear_login_failures(&mut self, address: &str) -> Result<(), StoreError> {
        on_mut!(self, e => e.clear_login_failures(address))
    }

    /// Records the start of a job run; `finish_job_run` completes it.
    pub fn start_job_run(
        &mut self,
        job: &str,
        trigger: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        on_mut!(self, e => e.start_job_run(job, trigger, at))
    }

    /// Records the start of the run of one fire time of a job, once across every instance on
    /// the store: `None` when a run of that fire time was recorded already, or when another run
    /// of the job is still alive (a sign of life at or after `alive_after`), so one job never
    /// runs twice at once across instances.
    pub fn claim_job_run(
        &mut self,
        job: &str,
        trigger: &str,
        fire_at: DateTime<Utc>,
        at: DateTime<Utc>,
        alive_after: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        on_mut!(self, e => e.claim_job_run(job, trigger, fire_at, at, alive_after))
    }

    /// A sign of life of the running run of a fire time (its instance beats while it runs).
    pub fn beat_job_run(
        &mut self,
        job: &str,
        fire_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_mut!(self, e => e.beat_job_run(job, fire_at, at))
    }

    /// Closes as failed (with `why`) a run of the job whose instance has shown no sign of life
    /// since `stale_before`, and frees its fire time to be claimed again: that fire time, when
    /// this call was the one that closed it (of every instance trying at once, one is).
    pub fn take_over_job_run(
        &mut self,
        job: &str,
        stale_before: DateTime<Utc>,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        on_mut!(self, e => e.take_over_job_run(job, stale_before, at, why))
    }

    pub fn finish_job_run(&mut self, run: &JobRun) -> Result<(), StoreError> {
        on_mut!(self, e => e.finish_job_run(run))
    }

    /// Job runs, newest first; of one job when given.
    pub fn job_runs(&mut self, job: Option<&str>, limit: usize) -> Result<Vec<JobRun>, StoreError> {
        on_mut!(self, e => e.job_runs(job, limit))
    }

    /// Where content with this SHA-256 was imported from by a job, if it was.
    pub fn imported_file(&mut self, sha256: &str) -> Result<Option<String>, StoreError> {
        on_mut!(self, e => e.imported_file(sha256))
    }

    pub fn record_imported_file(
        &mut self,
        sha256: &str,
        file: &str,
        job_run: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_mut!(self, e => e.record_imported_file(sha256, file, job_run, at))
    }

    /// Every stored snapshot: (date, scope key, metrics JSON).
    pub fn snapshots(&mut self) -> Result<Vec<(NaiveDate, String, String)>, StoreError> {
        let rows = on_mut!(self, e => e.snapshots())?;
        let url = self.describe();
        rows.into_iter()
            .map(|(date, scope, json)| {
                let date = date.parse().map_err(|_| StoreError::Corrupt {
                    url: url.clone(),
                    what: format!("snapshot ({date}, {scope})"),
                    reason: "its date is not YYYY-MM-DD".into(),
                })?;
                Ok((date, scope, json))
            })
            .collect()
    }

    /// A consistent copy of a SQLite store into `file`, made with SQLite's online backup while
    /// the store stays in use. PostgreSQL is backed up with its own tools (`pg_dump`).
    pub fn backup(&mut self, file: &std::path::Path) -> Result<(), StoreError> {
        match &mut self.engine {
            Engine::Sqlite(e) => e.backup(file),
            Engine::Postgres(e) => Err(StoreError::PostgresSetup {
                place: e.place().to_string(),
                message: "back up a PostgreSQL store with pg_dump (docs/deploy.md)".into(),
            }),
        }
    }
}

/// A JSON column of a stored row, decoded.
fn json_of<T: serde::de::DeserializeOwned>(
    url: &str,
    what: &str,
    id: i64,
    column: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        url: url.to_string(),
        what: format!("{what} {id}"),
        reason: format!("its {column} are not valid JSON: {e}"),
    })
}

fn objective_of(url: &str, r: ObjectiveRow) -> Result<crate::hoshin::Objective, StoreError> {
    let body = json_of(url, "objective", r.id, "body", &r.body)?;
    Ok(crate::hoshin::Objective {
        id: r.id,
        parent: r.parent,
        board: r.board,
        title: r.title,
        owner: r.owner,
        body,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    })
}

fn a3_of(url: &str, r: A3Row) -> Result<crate::a3::A3, StoreError> {
    let body = json_of(url, "A3", r.id, "body", &r.body)?;
    Ok(crate::a3::from_row(r, body))
}

fn walk_of(url: &str, r: WalkRow) -> Result<Walk, StoreError> {
    Ok(Walk {
        stops: json_of(url, "walk", r.id, "stops", &r.stops)?,
        id: r.id,
        route_id: r.route_id,
        leader_id: r.leader_id,
        started_at: from_ms(r.started_at),
        ended_at: r.ended_at.map(from_ms),
    })
}

fn routine_of(url: &str, r: RoutineRow) -> Result<Routine, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        url: url.to_string(),
        what: format!("routine {}", r.id),
        reason,
    };
    let items = json_of(url, "routine", r.id, "items", &r.items)?;
    let hours = |v: i64| u32::try_from(v).map_err(|_| corrupt(format!("{v} is not hours")));
    Ok(Routine {
        id: r.id,
        leader_id: r.leader_id,
        window_hours: hours(r.window_hours)?,
        grace_hours: hours(r.grace_hours)?,
        title: r.title,
        kind: r.kind,
        board: r.board,
        cadence: r.cadence,
        items,
        active: r.active,
        route_id: r.route_id,
        created_at: from_ms(r.created_at),
        updated_at: from_ms(r.updated_at),
    })
}

/// A stored safety mark's columns: board, day, mark, note, who, at.
pub(crate) type SafetyRow = (String, String, String, String, String, i64);

fn day_mark(url: &str, r: SafetyRow) -> Result<crate::safety::DayMark, StoreError> {
    let (board, day, mark, note, who, at) = r;
    let corrupt = |reason: String| StoreError::Corrupt {
        url: url.to_string(),
        what: format!("safety mark {board} {day}"),
        reason,
    };
    Ok(crate::safety::DayMark {
        day: NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| corrupt(e.to_string()))?,
        mark: crate::safety::Mark::parse(&mark).map_err(|e| corrupt(e.to_string()))?,
        at: from_ms(at),
        board,
        note,
        who,
    })
}

impl ImportTx<'_> {
    /// Inserts the order, or replaces the stored one with the same (source, id). Writes may be
    /// batched: they are all in the store at `commit`, and none of them without it.
    pub fn upsert(&mut self, order: WorkOrder) -> Result<(), StoreError> {
        match &mut self.inner {
            ImportInner::Sqlite(t) => t.upsert(order),
            ImportInner::Postgres(t) => t.upsert(order),
        }
    }

    /// Keeps a rejected row with the run (up to [`MAX_STORED_REJECTIONS`]).
    pub fn reject(&mut self, r: &Rejection) -> Result<(), StoreError> {
        match &mut self.inner {
            ImportInner::Sqlite(t) => t.reject(r),
            ImportInner::Postgres(t) => t.reject(r),
        }
    }

    /// Makes the import permanent and closes its run as succeeded; returns the run id.
    pub fn commit(self, counts: RunCounts) -> Result<i64, StoreError> {
        match self.inner {
            ImportInner::Sqlite(t) => t.commit(counts),
            ImportInner::Postgres(t) => t.commit(counts),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

impl Store {
    /// Gemba's tables as the engine has them (for the copy's own check).
    #[cfg(test)]
    pub(crate) fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        on_mut!(self, e => e.tables())
    }
}
