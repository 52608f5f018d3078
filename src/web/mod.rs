//! `gemba serve`: the board (server-rendered with maud), the JSON API, health checks.
//! Requests never wait on SQLite on the board path: a background task watches the store's data
//! version, reloads the metrics engine when an import lands, and writes the daily snapshot;
//! board data is computed once per scope and reused until the data or the minute changes.

// Shared by every page: the shell, parsing, charts, who may write, the scheduler, the panels.
pub mod auth;
pub mod cache;
pub mod charts;
pub mod jobs;
pub mod layout;
pub mod panels;
pub mod params;

// Page modules: each imports the shared modules above and never another page module.
pub mod a3;
pub mod actions;
pub mod api;
pub mod assets;
pub mod board;
pub mod hoshin;
pub mod imports;
pub mod lsw;
pub mod orders;
pub mod quality;
pub mod safety;
pub mod system;
pub mod trends;
pub mod walks;
pub mod welcome;

// The JSON API's routes and its OpenAPI document.
pub mod openapi;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::metrics::{Engine, MetricsError, Scope};
use crate::store::{ImportRun, Store, StoreError};

/// The state every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Mutex<Store>,
    db_url: String,
    /// The one thread that reloads, one reload at a time (see [`spawn_reloader`]).
    reloader: std::sync::mpsc::Sender<ReloadJob>,
    /// Loads so far: the next one's number.
    loads: std::sync::atomic::AtomicI64,
    loaded: RwLock<Option<Arc<Loaded>>>,
    boards: Mutex<HashMap<Scope, Arc<board::BoardData>>>,
    refreshing: Mutex<HashSet<Scope>>,
    /// One lock per scope, held while its board is computed from scratch, so a request waits for
    /// a computation already under way (the prewarm, another request) instead of repeating it.
    computing: Mutex<HashMap<Scope, Arc<tokio::sync::Mutex<()>>>>,
    /// Session key, shared tokens and the login throttle (see `auth.rs`).
    auth: auth::Auth,
    /// Answers of the cached reads and the gate on computations (see `cache.rs`).
    answers: cache::Answers,
    /// Writes this process has answered (every non-GET request): a board's small reads are
    /// shared until the count moves.
    writes: std::sync::atomic::AtomicU64,
    /// Each board's small reads (actions, huddle, safety marks, warnings), for a few seconds.
    panels: moka::sync::Cache<board::PanelKey, Arc<board::Panels>>,
    /// The last small reads of each board (and month), shown while the store is unreachable.
    last_panels: Mutex<HashMap<LastPanelsKey, Arc<board::Panels>>>,
    /// Each A3's follow-up measured (see `panels::improvement::follow_up_cached`).
    follow_ups: moka::sync::Cache<
        panels::improvement::FollowUpKey,
        Arc<Option<panels::improvement::FollowUp>>,
    >,
    /// The emergencies since a time, per data version (see `panels::system`).
    emergencies: moka::sync::Cache<(i64, i64), Arc<Vec<crate::system::Emergency>>>,
    /// Each objective's months measured (see `panels::hoshin::months_cached`).
    objective_months:
        moka::sync::Cache<panels::hoshin::MonthsKey, Arc<Vec<panels::hoshin::MonthCell>>>,
    /// Since when the store has not answered (the watcher finds out within seconds).
    unreachable: Mutex<Option<DateTime<Utc>>>,
    /// Wakes the watcher at once when another instance's commit is announced.
    new_data: tokio::sync::Notify,
}

thread_local! {
    /// The engine a reload is preparing, on the reload's thread: what `loaded()` answers there.
    static PREPARING: std::cell::RefCell<Option<Arc<Loaded>>> = const { std::cell::RefCell::new(None) };
}

/// A reload, sent to the reload thread, which lends it the thread's own store connection.
type ReloadJob = Box<dyn FnOnce(&mut Option<Store>) + Send>;

/// Starts the thread every reload runs on. A new engine's memory (hundreds of MB per million
/// orders) is then always taken by this thread, and the old engine's, freed by whichever
/// request lets go of it last, is reused for the next: mimalloc hands memory freed on another
/// thread back to the thread that took it when that thread next allocates. With reloads
/// spread over the runtime's blocking threads, the server's memory grew reload after reload
/// under load (docs/performance.md, the soak).
///
/// The thread has a store connection of its own (opened on first use, dropped after an
/// error): loading a million orders takes seconds, and the requests' small reads and writes go
/// on meanwhile on theirs. Reloads come one at a time, in the order asked (the watcher and a
/// job both find new data). The thread ends with the state (its sender dropped).
fn spawn_reloader() -> std::sync::mpsc::Sender<ReloadJob> {
    let (send, jobs) = std::sync::mpsc::channel::<ReloadJob>();
    std::thread::Builder::new()
        .name("gemba-reload".into())
        .spawn(move || {
            let mut own: Option<Store> = None;
            for job in jobs {
                let run = std::panic::AssertUnwindSafe(|| job(&mut own));
                if std::panic::catch_unwind(run).is_err() {
                    own = None;
                    tracing::error!("a reload panicked; the data loaded before it is shown");
                }
            }
        })
        .expect("a thread for reloads");
    send
}

/// While alive, `loaded()` on this thread answers the engine being prepared.
struct Preparing;

impl Preparing {
    fn enter(loaded: &Arc<Loaded>) -> Preparing {
        PREPARING.with(|p| *p.borrow_mut() = Some(loaded.clone()));
        Preparing
    }
}

impl Drop for Preparing {
    fn drop(&mut self) {
        PREPARING.with(|p| *p.borrow_mut() = None);
    }
}

/// The newest import run's id (0 for none), its orders written, and its end (ms).
type DataStamp = (i64, u64, Option<i64>);

/// A board, the safety cross's month, and the page (not the TV).
type LastPanelsKey = (Scope, Option<chrono::NaiveDate>, bool);

/// How long a board's small reads are shared at most (writes by another process, the clock).
const PANELS_SECONDS: u64 = 5;

/// The engine over one version of the store's data.
pub struct Loaded {
    pub engine: Engine,
    /// This load's number in the process (1 for the first, one more per reload): what the
    /// cached boards and answers are keyed by.
    pub version: i64,
    /// The newest import run as it stood when loaded: new data is a change of it.
    stamp: DataStamp,
    pub last_run: Option<ImportRun>,
    pub orders: u64,
}

/// What a handler can fail with: a status and a message a person can act on.
#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    /// A request that does not parse, or breaks what the API's document says (400).
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// A request the document admits that a rule refuses: a leader that does not exist, a
    /// range that ends before it starts, a day the safety cross does not reach (422).
    pub fn unprocessable(message: impl Into<String>) -> AppError {
        AppError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> AppError {
        let message = message.into();
        tracing::error!("{message}");
        AppError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        }
    }
}

impl From<MetricsError> for AppError {
    fn from(e: MetricsError) -> AppError {
        match e {
            // What the document cannot state: from after to, more points than a trend has, an
            // asset or failure code no order names.
            MetricsError::BadRange { .. }
            | MetricsError::TooManyPoints { .. }
            | MetricsError::UnknownCode(_)
            | MetricsError::UnknownAsset(_) => AppError::unprocessable(e.to_string()),
            MetricsError::UnknownCrew { .. }
            | MetricsError::UnknownMetric(..)
            | MetricsError::BadStep(_)
            | MetricsError::BadWindow
            | MetricsError::BadTechnicians { .. } => AppError::bad_request(e.to_string()),
            MetricsError::Store(s) => s.into(),
            other => AppError::internal(other.to_string()),
        }
    }
}

impl From<crate::actions::ActionError> for AppError {
    fn from(e: crate::actions::ActionError) -> AppError {
        use crate::actions::ActionError;
        match e {
            ActionError::NoSuchAction(_) => AppError {
                status: StatusCode::NOT_FOUND,
                message: e.to_string(),
            },
            ActionError::Store(s) => s.into(),
            // Named in the document (the boards are listed there): a bad request.
            ActionError::UnknownBoard(_) | ActionError::BadStatus(_) | ActionError::BadDate(_) => {
                AppError::bad_request(e.to_string())
            }
            ActionError::TopTier(_) | ActionError::NotEscalated(_) | ActionError::Done(_) => {
                AppError {
                    status: StatusCode::CONFLICT,
                    message: e.to_string(),
                }
            }
            other => AppError::unprocessable(other.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        if e.is_unavailable() {
            tracing::warn!("{e}");
            return AppError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!(
                    "the store cannot be reached ({e}); nothing was saved: try again when it is back"
                ),
            };
        }
        AppError::internal(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, layout::error_page(self.status, &self.message)).into_response()
    }
}

/// API errors are JSON: `{"error": "..."}` with the status.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        ApiError(e)
    }
}

impl From<MetricsError> for ApiError {
    fn from(e: MetricsError) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0.status,
            axum::Json(ErrorBody {
                error: self.0.message,
            }),
        )
            .into_response()
    }
}

/// The body of every API error.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in words a person can act on.
    pub error: String,
}

/// Runs blocking work (the store, a computation) off the async runtime.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
}

impl AppState {
    /// Opens the store and loads the engine.
    pub fn open(db_url: &str, config: Config) -> Result<AppState, AppError> {
        let store = Store::open(db_url)?;
        if crate::store::notifies(db_url)
            && config.auth.is_some()
            && std::env::var_os("GEMBA_SESSION_KEY").is_none()
        {
            // Sessions are signed with the key: each instance would draw its own, and a login
            // on one would be refused by the others behind the same proxy.
            eprintln!(
                "warning: GEMBA_SESSION_KEY is unset: with the store on PostgreSQL, give every instance the same key (32 or more random characters), or a login made on one instance is refused by the others, and every login ends when this one restarts"
            );
        }
        let state = AppState {
            inner: Arc::new(Inner {
                config: config.clone(),
                store: Mutex::new(store),
                db_url: db_url.to_string(),
                reloader: spawn_reloader(),
                loads: std::sync::atomic::AtomicI64::new(0),
                loaded: RwLock::new(None),
                boards: Mutex::new(HashMap::new()),
                refreshing: Mutex::new(HashSet::new()),
                computing: Mutex::new(HashMap::new()),
                auth: auth::Auth::from_env()?,
                answers: cache::Answers::new(Duration::from_secs(u64::from(
                    config.board.cache_seconds.max(1),
                ))),
                writes: std::sync::atomic::AtomicU64::new(0),
                panels: moka::sync::Cache::builder()
                    .max_capacity(512)
                    .time_to_live(Duration::from_secs(PANELS_SECONDS))
                    .build(),
                last_panels: Mutex::new(HashMap::new()),
                objective_months: moka::sync::Cache::builder().max_capacity(1024).build(),
                follow_ups: moka::sync::Cache::builder().max_capacity(1024).build(),
                // A board's window and the system page's, over the last loads.
                emergencies: moka::sync::Cache::builder().max_capacity(8).build(),
                unreachable: Mutex::new(None),
                new_data: tokio::sync::Notify::new(),
            }),
        };
        state.reload()?;
        Ok(state)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn auth(&self) -> &auth::Auth {
        &self.inner.auth
    }

    pub fn answers(&self) -> &cache::Answers {
        &self.inner.answers
    }

    pub fn panels(&self) -> &moka::sync::Cache<board::PanelKey, Arc<board::Panels>> {
        &self.inner.panels
    }

    /// Each A3's follow-up, per data version, change of the A3 or its actions, and day.
    pub fn follow_ups(
        &self,
    ) -> &moka::sync::Cache<
        panels::improvement::FollowUpKey,
        Arc<Option<panels::improvement::FollowUp>>,
    > {
        &self.inner.follow_ups
    }

    /// The emergencies created since a time (ms), per data version.
    pub fn emergencies(
        &self,
    ) -> &moka::sync::Cache<(i64, i64), Arc<Vec<crate::system::Emergency>>> {
        &self.inner.emergencies
    }

    /// Each objective's months, per data version, objective change and day.
    pub fn objective_months(
        &self,
    ) -> &moka::sync::Cache<panels::hoshin::MonthsKey, Arc<Vec<panels::hoshin::MonthCell>>> {
        &self.inner.objective_months
    }

    /// Keeps a board's small reads for a store outage.
    pub fn remember_panels(&self, key: &board::PanelKey, panels: &Arc<board::Panels>) {
        self.inner
            .last_panels
            .lock()
            .expect("lock")
            .insert((key.0.clone(), key.1, key.2), panels.clone());
    }

    /// A board's last small reads, if it was shown before.
    pub fn last_panels(&self, key: &board::PanelKey) -> Option<Arc<board::Panels>> {
        self.inner
            .last_panels
            .lock()
            .expect("lock")
            .get(&(key.0.clone(), key.1, key.2))
            .cloned()
    }

    /// Since when the store has not answered; `None` while it does.
    pub fn unreachable_since(&self) -> Option<DateTime<Utc>> {
        *self.inner.unreachable.lock().expect("lock")
    }

    /// Records what the last look at the store found.
    fn store_answered(&self, answered: bool) {
        let mut since = self.inner.unreachable.lock().expect("lock");
        match (answered, *since) {
            (true, Some(t)) => {
                tracing::warn!("the store answers again (unreachable since {t})");
                *since = None;
            }
            (false, None) => *since = Some(Utc::now()),
            _ => {}
        }
    }

    /// The count of writes answered so far.
    pub fn writes(&self) -> u64 {
        self.inner.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Counts a write (the cache middleware calls it after every non-GET request, a job after
    /// each run).
    pub fn wrote(&self) {
        self.inner
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn db_url(&self) -> &str {
        &self.inner.db_url
    }

    /// The engine over the newest data (on a reload's thread while it prepares the new data,
    /// that data's).
    pub fn loaded(&self) -> Arc<Loaded> {
        if let Some(preparing) = PREPARING.with(|p| p.borrow().clone()) {
            return preparing;
        }
        self.inner
            .loaded
            .read()
            .expect("lock")
            .clone()
            .expect("loaded at start")
    }

    /// Runs `f` with the store (blocking: call from `spawn_blocking`).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let mut store = self.inner.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut store)
    }

    fn data_version(&self) -> Result<(DataStamp, Option<ImportRun>), StoreError> {
        self.with_store(data_version)
    }

    /// The data the engine was loaded from (none before the first load).
    fn loaded_stamp(&self) -> Option<DataStamp> {
        self.inner
            .loaded
            .read()
            .expect("lock")
            .as_ref()
            .map(|l| l.stamp)
    }

    /// Reloads the engine from the store (blocking).
    pub fn reload(&self) -> Result<(), AppError> {
        self.reload_engine(false).map(|_| ())
    }

    /// Loads the engine over the newest data; with `only_if_new`, not when the engine is at it
    /// already (checked once this reload's turn comes: another may have loaded it meanwhile).
    /// The boards people are looking at (those computed since the last load) and their small
    /// parts measured from the orders are computed over the new data before it is shown, so no
    /// request waits for them; the cached answers are computed again as they are asked for
    /// (`cache.rs`).
    /// Returns whether it loaded. Blocking; never called from a reload (it would wait for
    /// itself).
    fn reload_engine(&self, only_if_new: bool) -> Result<bool, AppError> {
        let (reply, answer) = std::sync::mpsc::channel();
        let me = self.clone();
        let job: ReloadJob = Box::new(move |own| {
            let _ = reply.send(me.reload_here(own, only_if_new));
        });
        self.inner
            .reloader
            .send(job)
            .map_err(|_| AppError::internal("the reload thread has stopped"))?;
        answer.recv().map_err(|_| {
            AppError::internal("a reload failed (see the log); the data loaded before it is shown")
        })?
    }

    /// [`AppState::reload_engine`], on the reload thread with its connection `own`.
    fn reload_here(&self, own: &mut Option<Store>, only_if_new: bool) -> Result<bool, AppError> {
        let started = Instant::now();
        let loaded = match self.load_on(own, only_if_new) {
            Ok(Some(l)) => Arc::new(l),
            Ok(None) => return Ok(false),
            Err(e) => {
                // A connection that failed (PostgreSQL restarted) is opened again next time.
                *own = None;
                return Err(e);
            }
        };
        let loaded_in = started.elapsed();
        let scopes: Vec<Scope> = self
            .inner
            .boards
            .lock()
            .expect("lock")
            .keys()
            .cloned()
            .collect();
        let mut boards = HashMap::new();
        for scope in scopes {
            match board::BoardData::build(&loaded, &scope) {
                Ok(b) => {
                    boards.insert(scope, Arc::new(b));
                }
                Err(e) => tracing::warn!("board {}: {}", scope.key(), e.message),
            }
        }
        // The boards' parts measured from the orders (the management system's figures, the
        // objectives' months, the A3s' follow-ups), for each board shown in the last seconds:
        // read here with `loaded()` answering the new engine, they are in their caches when
        // the first request after the swap reads its board's small parts.
        let shown: HashSet<(Scope, Option<chrono::NaiveDate>, bool)> = self
            .inner
            .panels
            .iter()
            .map(|(k, _)| (k.0.clone(), k.1, k.2))
            .collect();
        {
            let _preparing = Preparing::enter(&loaded);
            let writes = self.writes();
            for (scope, month, is_page) in shown {
                match board::Panels::read(self, &scope, month, is_page) {
                    Ok(p) => self
                        .inner
                        .panels
                        .insert((scope, month, is_page, writes, loaded.version), Arc::new(p)),
                    Err(e) => tracing::warn!("board {}: {}", scope.key(), e.message),
                }
            }
        }
        let (v, n, warmed) = (loaded.version, loaded.orders, boards.len());
        {
            // Both under the boards' lock: a request that finds the new engine finds its boards.
            let mut kept = self.inner.boards.lock().expect("lock");
            *self.inner.loaded.write().expect("lock") = Some(loaded);
            *kept = boards;
        }
        tracing::info!(
            "engine reloaded in {:?} (loaded in {loaded_in:?}, then {warmed} boards; load {v}, {n} orders)",
            started.elapsed()
        );
        Ok(true)
    }

    /// The engine over the store's newest data, read on the reload's own connection (the
    /// requests' one for an in-memory store, which a second connection would not see); `None`
    /// with `only_if_new` when the engine is at that data already.
    fn load_on(
        &self,
        own: &mut Option<Store>,
        only_if_new: bool,
    ) -> Result<Option<Loaded>, AppError> {
        let load = |s: &mut Store| -> Result<Option<Loaded>, AppError> {
            let (stamp, last_run) = data_version(s)?;
            if only_if_new && Some(stamp) == self.loaded_stamp() {
                return Ok(None);
            }
            Ok(Some(Loaded {
                engine: Engine::load(s, &self.inner.config)?,
                version: self
                    .inner
                    .loads
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                    + 1,
                stamp,
                last_run,
                orders: s.order_count()?,
            }))
        };
        if self.inner.db_url.contains(":memory:") {
            return self.with_store(load);
        }
        let store = match own {
            Some(s) => s,
            None => own.insert(Store::open(&self.inner.db_url)?),
        };
        load(store)
    }

    /// Reloads when an import has landed since the last load; writes today's snapshots when
    /// the day has none yet. Returns whether it reloaded. Blocking.
    pub fn refresh_if_changed(&self) -> Result<bool, AppError> {
        let (stamp, _) = self.data_version()?;
        let changed = stamp != self.loaded().stamp && self.reload_engine(true)?;
        let loaded = self.loaded();
        let today = loaded.engine.today();
        let has_today = self.with_store(|s| s.snapshot(today, "plant"))?.is_some();
        if !has_today && loaded.orders > 0 {
            self.with_store(|s| loaded.engine.write_snapshots(s))?;
        }
        Ok(changed)
    }

    /// Computes the boards people open first (the plant and the kiosk rotation) into the cache,
    /// so nobody at the huddle waits for them. Blocking.
    pub fn prewarm(&self) {
        let loaded = self.loaded();
        let mut scopes = vec![Scope::plant()];
        scopes.extend(
            self.inner
                .config
                .board
                .kiosk_scopes
                .iter()
                .filter_map(|k| Scope::from_key(k)),
        );
        scopes.dedup();
        for scope in scopes {
            let started = Instant::now();
            let lock = self.compute_lock(&scope);
            let _computing = lock.blocking_lock();
            match board::BoardData::build(&loaded, &scope) {
                Ok(b) => {
                    self.keep_board(&scope, Arc::new(b));
                    tracing::info!("board {} ready in {:?}", scope.key(), started.elapsed());
                }
                Err(e) => tracing::warn!("board {}: {}", scope.key(), e.message),
            }
        }
    }

    /// The board data of a scope: cached; recomputed in the background once older than
    /// `board.cache_seconds`, and at once when the data changed.
    pub async fn board(&self, scope: Scope) -> Result<Arc<board::BoardData>, AppError> {
        let loaded = self.loaded();
        let key = scope.clone();
        let cached = self.inner.boards.lock().expect("lock").get(&key).cloned();
        let max_age = Duration::from_secs(self.inner.config.board.cache_seconds as u64);
        match cached {
            // A board of newer data than this request's engine came with a reload meanwhile.
            Some(b) if b.version >= loaded.version => {
                if b.computed.elapsed() > max_age
                    && self
                        .inner
                        .refreshing
                        .lock()
                        .expect("lock")
                        .insert(key.clone())
                {
                    let me = self.clone();
                    tokio::task::spawn_blocking(move || {
                        if let Ok(fresh) = board::BoardData::build(&me.loaded(), &key) {
                            me.keep_board(&key, Arc::new(fresh));
                        }
                        me.inner.refreshing.lock().expect("lock").remove(&key);
                    });
                }
                Ok(b)
            }
            _ => {
                let lock = self.compute_lock(&key);
                let _computing = lock.lock().await;
                // Whoever held the lock may have just computed it.
                let done = self.inner.boards.lock().expect("lock").get(&key).cloned();
                if let Some(b) = done.filter(|b| b.version >= loaded.version) {
                    return Ok(b);
                }
                let fresh =
                    tokio::task::spawn_blocking(move || board::BoardData::build(&loaded, &scope))
                        .await
                        .map_err(|e| AppError::internal(e.to_string()))??;
                let fresh = Arc::new(fresh);
                self.keep_board(&key, fresh.clone());
                Ok(fresh)
            }
        }
    }

    /// Keeps a board computed, unless a reload has meanwhile put one of newer data in its place.
    fn keep_board(&self, scope: &Scope, fresh: Arc<board::BoardData>) {
        let mut boards = self.inner.boards.lock().expect("lock");
        match boards.get(scope) {
            Some(kept) if kept.version > fresh.version => {}
            _ => {
                boards.insert(scope.clone(), fresh);
            }
        }
    }

    /// A page of orders from the current engine (blocking work, off the runtime).
    pub async fn orders(
        &self,
        q: crate::metrics::orders::OrderQuery,
    ) -> Result<crate::metrics::orders::OrderPage, AppError> {
        let me = self.clone();
        blocking(move || Ok(me.loaded().engine.orders(&q)?)).await
    }

    fn compute_lock(&self, scope: &Scope) -> Arc<tokio::sync::Mutex<()>> {
        self.inner
            .computing
            .lock()
            .expect("lock")
            .entry(scope.clone())
            .or_default()
            .clone()
    }
}

/// What says the store has new data: the newest import run's id, the orders it has written
/// and when it finished. A sync's run is recorded when it starts and counts each page it
/// commits, so a load between its pages is followed by another when the next page lands.
fn data_version(s: &mut Store) -> Result<(DataStamp, Option<ImportRun>), StoreError> {
    let last = s.runs(1)?.into_iter().next();
    let stamp = last.as_ref().map_or((0, 0, None), |r| {
        (
            r.id,
            r.counts.upserted,
            r.finished_at.map(|t| t.timestamp_millis()),
        )
    });
    Ok((stamp, last))
}

/// Time since an instant, in words: "4 min ago", "2 h ago", "3 days ago".
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", s / 60),
        3600..172_800 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

const CSS: &str = include_str!("static/gemba.css");
const JS: &str = include_str!("static/board.js");

/// The whole application: pages, API, health, static files, security headers.
pub fn app(state: AppState) -> Router {
    let security = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    let mut router = Router::new()
        .route("/", get(board::plant_board))
        .route("/board", get(board::scoped_board))
        .route("/welcome", get(welcome::page))
        .route("/trends", get(trends::trends_page))
        .route("/trends.csv", get(trends::trends_csv))
        .route("/orders", get(orders::orders_page))
        .route("/orders.csv", get(orders::orders_csv))
        .route("/quality", get(quality::page))
        .route("/imports", get(imports::imports_page))
        .route("/imports/{id}", get(imports::import_page))
        .route("/demo", post(welcome::load_demo))
        .route("/actions", post(actions::create_form))
        .route("/actions/{id}", get(actions::detail).post(actions::op_form))
        .route(
            "/huddles",
            get(actions::huddles_page).post(actions::start_huddle),
        )
        .route("/huddles/{id}/end", post(actions::end_huddle))
        .route("/safety", post(safety::mark_form))
        .route("/lsw", get(lsw::board_page))
        .route("/me", get(lsw::me))
        .route("/lsw/setup", get(lsw::setup_page))
        .route("/lsw/leaders", post(lsw::leader_form_post))
        .route("/lsw/leaders/{id}", post(lsw::leader_form_post))
        .route("/lsw/routines", post(lsw::routine_form_post))
        .route(
            "/lsw/routines/{id}",
            get(lsw::routine_page).post(lsw::routine_form_post),
        )
        .route("/lsw/routines/{id}/done", post(lsw::done_form))
        .route("/system", get(system::page))
        .route("/walks", get(walks::walks_page).post(walks::start_post))
        .route("/walks/routes", post(walks::route_post))
        .route(
            "/walks/routes/{id}",
            get(walks::route_page).post(walks::route_post),
        )
        .route("/walks/{id}", get(walks::walk_page))
        .route("/walks/{id}/stops/{n}", post(walks::visit_post))
        .route("/walks/{id}/stops/{n}/skip", post(walks::skip_post))
        .route("/walks/{id}/end", post(walks::end_post))
        .route("/a3", get(a3::list_page).post(a3::start_post))
        .route("/a3/{id}", get(a3::a3_page).post(a3::edit_post))
        .route("/a3/{id}/countermeasures", post(a3::countermeasure_post))
        .route("/hoshin", get(hoshin::list_page).post(hoshin::create_post))
        .route("/hoshin/bowling", get(hoshin::bowling_page))
        .route(
            "/hoshin/reviews",
            get(hoshin::reviews_page).post(hoshin::review_post),
        )
        .route("/hoshin/{id}", get(hoshin::objective_page))
        .route("/hoshin/{id}/{what}", post(hoshin::form_post))
        .route("/assets", get(assets::list_page))
        .route("/assets/health", get(assets::health_page))
        .route("/assets/pareto", get(assets::pareto_page))
        .route("/assets/{id}", get(assets::asset_page))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/static/gemba.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
            }),
        )
        .route(
            "/static/board.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    JS,
                )
            }),
        )
        .nest("/api/v1", openapi::routes())
        .fallback(|| async {
            AppError {
                status: StatusCode::NOT_FOUND,
                message: "no such page".into(),
            }
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cache::answer,
        ))
        .with_state(state);
    for (name, value) in security {
        router = router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let st = state.clone();
    let ok = tokio::task::spawn_blocking(move || st.with_store(|s| s.ping()).is_ok())
        .await
        .unwrap_or(false);
    state.store_answered(ok);
    if ok {
        (StatusCode::OK, "ready").into_response()
    } else {
        let since = state.unreachable_since().unwrap_or_else(Utc::now);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the store cannot be reached (since {since}); the board shows the data it holds"
            ),
        )
            .into_response()
    }
}

/// Serves until SIGINT or SIGTERM; prints the address once bound (tests read it). With
/// `run_jobs`, the config's scheduled jobs run here too.
pub async fn serve(addr: SocketAddr, state: AppState, run_jobs: bool) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // Signal handlers go in before the address is announced, so a stop right after is graceful.
    let stop = shutdown_signal()?;
    println!("Gemba board on http://{bound}/ (Ctrl-C to stop)");
    let warm = state.clone();
    tokio::task::spawn_blocking(move || {
        if warm.loaded().orders > 0 {
            warm.prewarm();
        }
    });
    if run_jobs {
        jobs::start(&state);
    } else if !state.config().schedules.is_empty() {
        println!(
            "scheduled jobs are left to another instance (--no-jobs): {} configured",
            state.config().schedules.len()
        );
    }
    listen_for_new_data(&state);
    let watcher = state.clone();
    tokio::spawn(async move {
        loop {
            // Every 2 s, or at once when another instance announces a commit.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = watcher.inner.new_data.notified() => {}
            }
            let s = watcher.clone();
            let refreshed = tokio::task::spawn_blocking(move || s.refresh_if_changed()).await;
            match &refreshed {
                Ok(Err(e)) if e.status != StatusCode::SERVICE_UNAVAILABLE => {
                    tracing::warn!("refreshing the data failed: {}", e.message)
                }
                _ => {}
            }
            watcher.store_answered(
                !matches!(&refreshed, Ok(Err(e)) if e.status == StatusCode::SERVICE_UNAVAILABLE),
            );
        }
    });
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await?;
    println!("Gemba board stopped");
    Ok(())
}

/// On PostgreSQL, a thread of its own listens for the commits of every instance (`NOTIFY`) and
/// wakes the watcher; polling stays the fallback when the listener's connection is down.
fn listen_for_new_data(state: &AppState) {
    let url = state.db_url().to_string();
    if !crate::store::notifies(&url) {
        return;
    }
    let st = state.clone();
    std::thread::spawn(move || {
        let mut listener = None;
        loop {
            let l = match &mut listener {
                Some(l) => l,
                None => match crate::store::Listener::open(&url) {
                    Ok(l) => listener.insert(l),
                    Err(e) => {
                        tracing::warn!("listening for new data: {e} (polling meanwhile)");
                        std::thread::sleep(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            match l.wait(Duration::from_secs(30)) {
                Ok(true) => st.inner.new_data.notify_one(),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!("listening for new data: {e} (polling meanwhile)");
                    listener = None;
                    std::thread::sleep(Duration::from_secs(5));
                }
            }
        }
    });
}

/// Registers SIGINT and SIGTERM now; the returned future completes on either.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::store::{Page, RunCounts, RunKind, RunMeta};

    /// A server's state over a small demo plant in a SQLite file.
    fn plant() -> (tempfile::TempDir, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("t.db").display());
        let cfg =
            Config::parse(include_str!("../../config/gemba.toml"), "config/gemba.toml").unwrap();
        let mut store = Store::open(&url).unwrap();
        let demo = crate::demo::DemoParams::year_to_today(7, 20.0, 60, cfg.plant.tz);
        crate::demo::load_into(&mut store, &cfg, demo).unwrap();
        drop(store);
        let state = AppState::open(&url, cfg).unwrap();
        (dir, state)
    }

    /// A sync's run, started as another process starts it.
    fn start_sync(s: &mut Store) -> i64 {
        s.start_run(&RunMeta {
            kind: RunKind::Sync,
            source: "s".into(),
            file: None,
            profile: None,
            started_at: Utc::now(),
        })
        .unwrap()
    }

    /// One page of one order committed to a sync's `run`; the page's counts.
    fn commit_one(s: &mut Store, run: i64, id: &str) -> RunCounts {
        let counts = RunCounts {
            read: 1,
            upserted: 1,
            rejected: 0,
        };
        s.commit_page(&Page {
            run_id: run,
            orders: &[crate::store::tests::order(id, "synced")],
            rejections: &[],
            counts,
            watermark: None,
        })
        .unwrap();
        counts
    }

    /// A sync as another process writes it: its run, one page of one order, its end.
    fn sync_one(state: &AppState, id: &str) -> i64 {
        let mut s = Store::open(state.db_url()).unwrap();
        let run = start_sync(&mut s);
        let counts = commit_one(&mut s, run, id);
        s.finish_run(run, counts, None).unwrap();
        run
    }

    #[test]
    fn a_reload_leaves_the_requests_store_free() {
        let (_dir, state) = plant();
        let (held, is_held) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let holder = state.clone();
        let request = std::thread::spawn(move || {
            holder.with_store(|_| {
                held.send(()).unwrap();
                released.recv().ok();
            })
        });
        is_held.recv().unwrap();
        let (done, finished) = mpsc::channel();
        let reloader = state.clone();
        std::thread::spawn(move || done.send(reloader.reload().is_ok()).unwrap());
        // Loading reads on the reload's own connection: it does not wait for the request.
        let outcome = finished.recv_timeout(Duration::from_secs(120));
        release.send(()).unwrap();
        request.join().unwrap();
        assert_eq!(outcome, Ok(true));
    }

    #[test]
    fn each_page_of_a_running_sync_is_new_data() {
        let (_dir, state) = plant();
        let orders = state.loaded().orders;
        let mut s = Store::open(state.db_url()).unwrap();
        let run = start_sync(&mut s);
        assert!(state.refresh_if_changed().unwrap(), "a run started");
        assert!(!state.refresh_if_changed().unwrap(), "nothing since");
        // The page lands in the run the engine was loaded with: still new data.
        commit_one(&mut s, run, "P-1");
        let version = state.loaded().version;
        assert!(state.refresh_if_changed().unwrap(), "a page landed");
        assert_eq!(state.loaded().orders, orders + 1);
        assert!(state.loaded().version > version);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_boards_shown_are_ready_over_new_data_when_it_is_swapped_in() {
        let (_dir, state) = plant();
        let before = state.board(Scope::plant()).await.unwrap();
        // The plant's page was shown: its small parts were read, as a request reads them.
        let st = state.clone();
        let shown = tokio::task::spawn_blocking(move || {
            board::Panels::read(&st, &Scope::plant(), None, true).unwrap()
        })
        .await
        .unwrap();
        let key = (Scope::plant(), None, true, state.writes(), before.version);
        state.panels().insert(key, Arc::new(shown));

        sync_one(&state, "N-1");
        let st = state.clone();
        let reloaded = tokio::task::spawn_blocking(move || st.refresh_if_changed())
            .await
            .unwrap()
            .unwrap();
        let swapped = Instant::now();
        assert!(reloaded);
        let loaded = state.loaded();
        assert!(loaded.version > before.version);
        let board = state.board(Scope::plant()).await.unwrap();
        assert_eq!(board.version, loaded.version);
        assert!(
            board.computed < swapped,
            "the board was computed by the reload, not by the first request after it"
        );
        let key = (Scope::plant(), None, true, state.writes(), loaded.version);
        assert!(
            state.panels().contains_key(&key),
            "the page's small parts over the new data were read by the reload"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_answer_over_older_data_is_renewed_by_one_request_while_the_others_get_it() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let (_dir, state) = plant();
        let calls = Arc::new(AtomicU64::new(0));
        let hold = Arc::new(tokio::sync::Notify::new());
        let handler = {
            let (calls, hold) = (calls.clone(), hold.clone());
            move || async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n == 2 {
                    hold.notified().await;
                }
                n.to_string()
            }
        };
        let app = Router::new().route("/api/v1/kpis", get(handler)).layer(
            axum::middleware::from_fn_with_state(state.clone(), cache::answer),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v1/kpis", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let ask = move || {
            let url = url.clone();
            async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
        };
        assert_eq!(ask().await, "1");
        assert_eq!(ask().await, "1", "kept");

        sync_one(&state, "C-1");
        let st = state.clone();
        assert!(
            tokio::task::spawn_blocking(move || st.refresh_if_changed())
                .await
                .unwrap()
                .unwrap()
        );
        let renewing = tokio::spawn(ask());
        while calls.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            ask().await,
            "1",
            "a request while it is computed again gets the kept answer"
        );
        hold.notify_one();
        assert_eq!(
            renewing.await.unwrap(),
            "2",
            "the request that computes it waits for the new answer"
        );
        assert_eq!(ask().await, "2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_board_of_newer_data_is_not_replaced_by_an_older_one() {
        let (_dir, state) = plant();
        let old = Arc::new(board::BoardData::build(&state.loaded(), &Scope::plant()).unwrap());
        sync_one(&state, "N-2");
        assert!(state.refresh_if_changed().unwrap());
        let new = Arc::new(board::BoardData::build(&state.loaded(), &Scope::plant()).unwrap());
        state.keep_board(&Scope::plant(), new.clone());
        // A refresh that began before the reload ends after it.
        state.keep_board(&Scope::plant(), old);
        let kept = state
            .inner
            .boards
            .lock()
            .unwrap()
            .get(&Scope::plant())
            .cloned();
        assert_eq!(kept.map(|b| b.version), Some(new.version));
    }
}
