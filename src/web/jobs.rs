//! The scheduled jobs inside `gemba serve`: one task per job sleeps until its next fire time in
//! plant time and runs it off the async threads. A job never overlaps itself (a tick that finds
//! it still running is recorded as skipped); a run missed while the server was down runs once
//! at start-up; a failing job logs, records its run and never stops the others or the server.
//! Each run has its own store connection; the data is then reloaded, as after any import.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};

use super::{AppError, AppState, ago};
use crate::config::{Config, ScheduleJob};
use crate::schedule::{self, Trigger};
use crate::store::{JobRun, Store};

/// A run is overdue when no run started within this long after its fire time.
const OVERDUE_AFTER_MINUTES: i64 = 15;

pub fn start(state: &AppState) {
    for job in state.config().schedules.clone() {
        let st = state.clone();
        tokio::spawn(async move { run_forever(st, job).await });
    }
}

/// Opens a connection of its own for a job, so a long import never holds the server's store
/// (SQLite in WAL mode lets the board keep reading meanwhile).
fn own_store(state: &AppState) -> Result<Store, String> {
    Store::open(state.db_url()).map_err(|e| e.to_string())
}

/// Runs the job for the fire time `fire_at`, once across every instance on the store (the first
/// to claim it runs it; see docs/deploy.md).
fn launch(
    state: &AppState,
    job: &ScheduleJob,
    trigger: Trigger,
    fire_at: DateTime<Utc>,
    running: &Arc<AtomicBool>,
    skipped: &Arc<AtomicU32>,
) {
    if running.swap(true, Ordering::SeqCst) {
        // Said now in the log, and recorded as a run once the long one has finished (the store
        // is busy with its transaction until then).
        tracing::warn!(
            "job {}: the previous run is still going; this tick is skipped",
            job.name
        );
        skipped.fetch_add(1, Ordering::SeqCst);
        return;
    }
    let (st, job, running, skipped) =
        (state.clone(), job.clone(), running.clone(), skipped.clone());
    tokio::task::spawn_blocking(move || run_held(&st, &job, trigger, fire_at, &running, &skipped));
}

/// Shows the run of `fire_at` alive every [`schedule::HEARTBEAT`] on a connection of its own,
/// until the returned sender is dropped.
fn heartbeat(state: &AppState, job: &str, fire_at: DateTime<Utc>) -> std::sync::mpsc::Sender<()> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let (url, job) = (state.db_url().to_string(), job.to_string());
    std::thread::spawn(move || {
        let mut store = None;
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            stopped.recv_timeout(schedule::HEARTBEAT)
        {
            if store.is_none() {
                store = Store::open(&url).ok();
            }
            if let Some(s) = &mut store
                && let Err(e) = s.beat_job_run(&job, fire_at, Utc::now())
            {
                tracing::warn!("job {job}: its sign of life was not stored: {e}");
                store = None;
            }
        }
    });
    stop
}

/// Runs the job now; the caller holds `running`, which is released at the end.
fn run_held(
    st: &AppState,
    job: &ScheduleJob,
    trigger: Trigger,
    fire_at: DateTime<Utc>,
    running: &AtomicBool,
    skipped: &AtomicU32,
) {
    let alive = heartbeat(st, &job.name, fire_at);
    let cfg = st.config().clone();
    let outcome = own_store(st).and_then(|mut store| {
        let Some(run) = schedule::run_fire_time(&mut store, &cfg, job, trigger, fire_at)
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let n = skipped.swap(0, Ordering::SeqCst);
        if n > 0 {
            let why = format!(
                "{n} tick(s) skipped while the run started at {} was still going",
                run.started_at
                    .with_timezone(&cfg.plant.tz)
                    .format("%H:%M:%S")
            );
            schedule::record_skip(&mut store, &job.name, &why).map_err(|e| e.to_string())?;
        }
        Ok(Some(run))
    });
    drop(alive);
    let imported = matches!(&outcome, Ok(Some(run)) if run.files_imported > 0);
    match outcome {
        Ok(Some(run)) if run.error.is_some() => {
            tracing::warn!("job {}: {}", job.name, run.error.unwrap_or_default())
        }
        Ok(None) => tracing::info!(
            "job {}: the run due at {fire_at} is another instance's",
            job.name
        ),
        Ok(Some(_)) => {}
        Err(e) => tracing::warn!("job {}: {e}", job.name),
    }
    running.store(false, Ordering::SeqCst);
    // The run's outcome is what the boards' warnings read: a write, as a request's would be.
    st.wrote();
    // New data: reload the engine (the board's cache goes with it) and store today's
    // snapshots from it, as `gemba import` does.
    if let Err(e) = st.refresh_if_changed() {
        tracing::warn!("after job {}: {}", job.name, e.message);
    } else if imported
        && let Err(e) = own_store(st).and_then(|mut s| {
            st.loaded()
                .engine
                .write_snapshots(&mut s)
                .map_err(|e| e.to_string())
        })
    {
        tracing::warn!("after job {}: writing snapshots: {e}", job.name);
    }
}

/// Every [`schedule::STALE_AFTER`] / 2, takes over a run of the job whose instance stopped while it
/// ran (killed): its fire time is run here, once across the instances.
async fn take_over_forever(
    state: AppState,
    job: ScheduleJob,
    running: Arc<AtomicBool>,
    skipped: Arc<AtomicU32>,
) {
    loop {
        tokio::time::sleep(schedule::STALE_AFTER / 2).await;
        if running.swap(true, Ordering::SeqCst) {
            continue;
        }
        let (st, job, running, skipped) =
            (state.clone(), job.clone(), running.clone(), skipped.clone());
        tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            let stale = now - Duration::from_std(schedule::STALE_AFTER).unwrap_or_default();
            let why = format!(
                "the instance running it stopped (no sign of life for {} s); another instance ran its fire time again",
                schedule::STALE_AFTER.as_secs()
            );
            match own_store(&st).and_then(|mut s| {
                s.take_over_job_run(&job.name, stale, now, &why)
                    .map_err(|e| e.to_string())
            }) {
                Ok(Some(fire_at)) => {
                    tracing::warn!("job {}: taking over the run due at {fire_at}", job.name);
                    run_held(&st, &job, Trigger::Takeover, fire_at, &running, &skipped);
                }
                Ok(None) => running.store(false, Ordering::SeqCst),
                Err(e) => {
                    tracing::warn!("job {}: looking for a stopped run: {e}", job.name);
                    running.store(false, Ordering::SeqCst);
                }
            }
        });
    }
}

async fn run_forever(state: AppState, job: ScheduleJob) {
    let running = Arc::new(AtomicBool::new(false));
    let skipped = Arc::new(AtomicU32::new(0));
    tokio::spawn(take_over_forever(
        state.clone(),
        job.clone(),
        running.clone(),
        skipped.clone(),
    ));
    let cfg = state.config().clone();
    let st = state.clone();
    let name = job.name.clone();
    let last = tokio::task::spawn_blocking(move || st.with_store(|s| s.job_runs(Some(&name), 1)))
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|r| r.into_iter().next());
    if let Some(missed) = schedule::previous_fire(&cfg, &job, Utc::now())
        && last.as_ref().is_none_or(|r| r.started_at < missed)
    {
        tracing::info!(
            "job {}: the run due at {missed} was missed; running it now",
            job.name
        );
        launch(&state, &job, Trigger::Startup, missed, &running, &skipped);
    }
    loop {
        let Some(next) = schedule::next_runs(&cfg, &job, Utc::now(), 1)
            .into_iter()
            .next()
        else {
            tracing::warn!(
                "job {}: its cron `{}` never fires again",
                job.name,
                job.cron
            );
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        launch(&state, &job, Trigger::Schedule, next, &running, &skipped);
    }
}

/// What the board warns about: the last scheduled run of a job failed, or a run is overdue.
pub fn warnings(state: &AppState, now: DateTime<Utc>) -> Result<Vec<String>, AppError> {
    let cfg: &Config = state.config();
    let mut out = Vec::new();
    for job in &cfg.schedules {
        let last: Option<JobRun> = state
            .with_store(|s| s.job_runs(Some(&job.name), 1))?
            .into_iter()
            .next();
        if let Some(r) = &last
            && r.outcome == "failed"
        {
            out.push(format!(
                "scheduled import `{}` failed {}: {}",
                job.name,
                ago(r.started_at, now),
                r.error.clone().unwrap_or_default()
            ));
            continue;
        }
        if let Some(due) = schedule::previous_fire(cfg, job, now)
            && now - due > Duration::minutes(OVERDUE_AFTER_MINUTES)
            && last.as_ref().is_none_or(|r| r.started_at < due)
        {
            out.push(format!(
                "scheduled import `{}` is overdue: it should have run at {}",
                job.name,
                due.with_timezone(&cfg.plant.tz).format("%a %H:%M")
            ));
        }
    }
    Ok(out)
}

pub fn warnings_markup(warnings: &[String]) -> Markup {
    html! {
        @for w in warnings { div class="freshness warn job-warning" { "⚠ " (w) " — " a href="/imports" { "imports" } } }
    }
}
