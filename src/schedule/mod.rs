//! Scheduled imports (docs/schedules.md): `[[schedules]]` jobs that take CSV exports from a drop
//! folder on a cron schedule, inside `gemba serve` or by hand with `gemba schedules run NAME`.

pub mod cron;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::{Config, ImportJob, ScheduleJob};
use crate::import::{ImportOptions, import_file};
use crate::mapping::Mapping;
use crate::store::{JobRun, RunCounts, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("no scheduled job named `{name}`; jobs: {known}")]
    NoSuchJob { name: String, known: String },
    #[error("job `{job}`: the path pattern `{pattern}` is not valid: {reason}")]
    Pattern {
        job: String,
        pattern: String,
        reason: String,
    },
    #[error("job `{job}`: {message}")]
    Profile { job: String, message: String },
    #[error("job `{job}`: {message}")]
    Sync { job: String, message: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Hand,
    /// At start-up, for a run missed while the server was down.
    Startup,
    /// For a fire time whose run's instance stopped (killed) while it ran.
    Takeover,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Hand => "hand",
            Trigger::Startup => "startup",
            Trigger::Takeover => "takeover",
        }
    }
}

pub fn job<'c>(cfg: &'c Config, name: &str) -> Result<&'c ScheduleJob, ScheduleError> {
    cfg.schedules
        .iter()
        .find(|j| j.name == name)
        .ok_or_else(|| ScheduleError::NoSuchJob {
            name: name.to_string(),
            known: cfg
                .schedules
                .iter()
                .map(|j| j.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The next `n` fire times of a job, in UTC.
pub fn next_runs(
    cfg: &Config,
    job: &ScheduleJob,
    after: DateTime<Utc>,
    n: usize,
) -> Vec<DateTime<Utc>> {
    cron::parse(&job.cron)
        .map(|s| {
            s.after(&after.with_timezone(&cfg.plant.tz))
                .take(n)
                .map(|t| t.with_timezone(&Utc))
                .collect()
        })
        .unwrap_or_default()
}

/// The last fire time at or before `now`, within the last 400 days.
/// # use gemba::config::{Config, DEFAULT_CONFIG};
/// # use chrono::{TimeZone, Utc};
/// let text = format!("{DEFAULT_CONFIG}\n[[schedules]]\nname = \"n\"\ncron = \"30 5 * * 1-5\"\nimport = {{ path = \"/x/*.csv\", profile = \"generic\" }}\n");
/// let cfg = Config::parse(&text, "doc").unwrap();
/// // Sunday 22 November 2026, noon UTC: the last weekday 05:30 in Berlin was Friday 04:30 UTC.
/// let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
/// let last = gemba::schedule::previous_fire(&cfg, &cfg.schedules[0], now).unwrap();
/// assert_eq!(last, Utc.with_ymd_and_hms(2026, 11, 20, 4, 30, 0).unwrap());
/// ```
pub fn previous_fire(cfg: &Config, job: &ScheduleJob, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = cron::parse(&job.cron).ok()?;
    let tz = cfg.plant.tz;
    // Walk forward from ever further back until a fire time at or before now appears (short
    // windows first, so a per-second job does not walk a day of seconds).
    let minutes = [2i64, 60, 1440, 8 * 1440, 32 * 1440, 400 * 1440];
    for m in minutes {
        let from = (now - chrono::Duration::minutes(m)).with_timezone(&tz);
        let last = schedule
            .after(&from)
            .take_while(|t| t.with_timezone(&Utc) <= now)
            .last();
        if let Some(t) = last {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

/// Files a drop folder offers now: matching, not partial, settled; oldest first.
fn candidates(job: &str, imp: &ImportJob, now: SystemTime) -> Result<Vec<PathBuf>, ScheduleError> {
    let pattern = |reason: String| ScheduleError::Pattern {
        job: job.to_string(),
        pattern: imp.path.clone(),
        reason,
    };
    let settle = Duration::from_secs(imp.settle_seconds);
    let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in glob::glob(&imp.path).map_err(|e| pattern(e.to_string()))? {
        let Ok(path) = entry else { continue };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".part") || name.ends_with(".tmp") || name.starts_with('.') {
            continue;
        }
        let Ok(meta) = path.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(now);
        // Still being written: it changed within the settle time.
        if now.duration_since(modified).unwrap_or_default() < settle {
            tracing::info!(
                "{}: changed within the last {} s; left for the next run",
                path.display(),
                imp.settle_seconds
            );
            continue;
        }
        files.push((modified, path));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Moves a file into `<its folder>/<sub>/<timestamp>-<name>`; returns the new path.
fn move_into(path: &Path, sub: &str, at: DateTime<Utc>, suffix: &str) -> std::io::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new(".")).join(sub);
    std::fs::create_dir_all(&dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let to = dir.join(format!("{}-{name}{suffix}", at.format("%Y%m%dT%H%M%SZ")));
    std::fs::rename(path, &to)?;
    Ok(to)
}

/// Runs one job now: imports every settled file of its drop folder, oldest first, each in its own
/// transaction; archives what was imported, moves what failed to `failed/` with an error report,
/// skips content imported before. The run is recorded in the store either way.
pub fn run_job(
    store: &mut Store,
    cfg: &Config,
    job: &ScheduleJob,
    trigger: Trigger,
) -> Result<JobRun, ScheduleError> {
    let started = Utc::now();
    let id = store.start_job_run(&job.name, trigger.as_str(), started)?;
    run_recorded(store, cfg, job, trigger, id, started)
}

/// How often a running job shows its instance is alive (`Store::beat_job_run`).
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(10);

/// A running job with no sign of life for this long has lost its instance: another instance
/// takes its fire time over.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs the job for one fire time, unless another instance on the store claimed that fire time
/// first or still runs the job: then `None`, and nothing is done or recorded.
pub fn run_fire_time(
    store: &mut Store,
    cfg: &Config,
    job: &ScheduleJob,
    trigger: Trigger,
    fire_at: DateTime<Utc>,
) -> Result<Option<JobRun>, ScheduleError> {
    let started = Utc::now();
    let alive_after = started - chrono::Duration::from_std(STALE_AFTER).unwrap_or_default();
    match store.claim_job_run(&job.name, trigger.as_str(), fire_at, started, alive_after)? {
        Some(id) => run_recorded(store, cfg, job, trigger, id, started).map(Some),
        None => Ok(None),
    }
}

fn run_recorded(
    store: &mut Store,
    cfg: &Config,
    job: &ScheduleJob,
    trigger: Trigger,
    id: i64,
    started: DateTime<Utc>,
) -> Result<JobRun, ScheduleError> {
    let mut run = JobRun {
        id,
        job: job.name.clone(),
        trigger: trigger.as_str().into(),
        started_at: started,
        finished_at: None,
        files_imported: 0,
        files_failed: 0,
        files_skipped: 0,
        counts: RunCounts::default(),
        outcome: "running".into(),
        error: None,
    };
    // The files that failed, then whatever stopped the run itself.
    let mut errors = Vec::new();
    let outcome = match &job.sync {
        Some(connector) => sync_connector(store, cfg, job, connector, &mut run, &mut errors),
        None => import_folder(store, cfg, job, &mut run, &mut errors),
    };
    if let Err(e) = outcome {
        errors.push(e.to_string());
    }
    run.finished_at = Some(Utc::now());
    run.outcome = if errors.is_empty() { "ok" } else { "failed" }.into();
    run.error = (!errors.is_empty()).then(|| errors.join("; "));
    store.finish_job_run(&run)?;
    tracing::info!(
        "job {}: {} imported, {} failed, {} skipped; {} rows upserted",
        run.job,
        run.files_imported,
        run.files_failed,
        run.files_skipped,
        run.counts.upserted
    );
    Ok(run)
}

/// Runs an incremental sync of `connector` into `run`'s counts. Called off the async threads
/// (by `serve`, through `spawn_blocking`) or from the CLI, it drives the sync on the runtime
/// it finds, or on one of its own.
fn sync_connector(
    store: &mut Store,
    cfg: &Config,
    job: &ScheduleJob,
    connector: &str,
    run: &mut JobRun,
    failures: &mut Vec<String>,
) -> Result<(), ScheduleError> {
    let failed = |message: String| ScheduleError::Sync {
        job: job.name.clone(),
        message,
    };
    let c =
        crate::sync::Connector::from_config(cfg, connector).map_err(|e| failed(e.to_string()))?;
    let mut quiet = |_: &crate::sync::Progress| {};
    let fut = crate::sync::sync(store, &c, crate::sync::SyncOptions::default(), &mut quiet);
    let result = match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(fut),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the sync's runtime: {e}")))?
            .block_on(fut),
    };
    match result {
        Ok(report) => {
            run.counts.read += report.progress.counts.read;
            run.counts.upserted += report.progress.counts.upserted;
            run.counts.rejected += report.progress.counts.rejected;
        }
        Err(e) => failures.push(e.to_string()),
    }
    Ok(())
}

/// Imports the job's files into `run`'s counts; a file that fails adds its error to `failures`
/// and the run goes on; an error returned stopped the run itself.
fn import_folder(
    store: &mut Store,
    cfg: &Config,
    job: &ScheduleJob,
    run: &mut JobRun,
    failures: &mut Vec<String>,
) -> Result<(), ScheduleError> {
    let Some(imp) = &job.import else {
        return Ok(());
    };
    let mapping = Mapping::find(&imp.profile, cfg.dir.as_deref(), cfg.plant.tz).map_err(|e| {
        ScheduleError::Profile {
            job: job.name.clone(),
            message: e.to_string(),
        }
    })?;
    let opts = ImportOptions {
        source: imp.source.clone(),
        strict: false,
        progress: false,
        fail_after_rows: std::env::var("GEMBA_FAIL_AFTER_ROWS")
            .ok()
            .and_then(|v| v.parse().ok()),
        // The server reloads its engine after the job, and writes the snapshots from it.
        gather: None,
        chunk_rows: None,
        sheet: imp.sheet.clone(),
        dry_run: false,
    };
    for path in candidates(&job.name, imp, SystemTime::now())? {
        let now = Utc::now();
        let hash = match sha256_of(&path) {
            Ok(h) => h,
            Err(e) => {
                failures.push(format!("{}: cannot read: {e}", path.display()));
                run.files_failed += 1;
                continue;
            }
        };
        if let Some(first) = store.imported_file(&hash)? {
            tracing::info!(
                "{}: same content as {first}, imported before; skipped",
                path.display()
            );
            run.files_skipped += 1;
            if let Err(e) = move_into(&path, "archive", now, ".duplicate") {
                failures.push(format!("{}: cannot move to archive/: {e}", path.display()));
            }
            continue;
        }
        match import_file(store, &path, &mapping, &opts) {
            Ok(report) => {
                run.files_imported += 1;
                run.counts.read += report.counts.read;
                run.counts.upserted += report.counts.upserted;
                run.counts.rejected += report.counts.rejected;
                store.record_imported_file(&hash, &path.display().to_string(), run.id, now)?;
                if let Err(e) = move_into(&path, "archive", now, "") {
                    failures.push(format!(
                        "{}: imported, but cannot move to archive/: {e}",
                        path.display()
                    ));
                }
            }
            Err(e) => {
                run.files_failed += 1;
                failures.push(e.to_string());
                // The failed run's rejections, for the report beside the file.
                let rejections = store
                    .runs(1)?
                    .into_iter()
                    .next()
                    .filter(|r| r.file.as_deref() == Some(&path.display().to_string()))
                    .map(|r| store.rejections(r.id))
                    .transpose()?
                    .unwrap_or_default();
                let mut report = format!("{e}\n");
                for r in &rejections {
                    report.push_str(&format!(
                        "line {}: {} = `{}`: {}\n",
                        r.line, r.field, r.value, r.reason
                    ));
                }
                match move_into(&path, "failed", now, "") {
                    Ok(to) => {
                        let mut txt = to.clone().into_os_string();
                        txt.push(".error.txt");
                        if let Err(e) = std::fs::write(&txt, report) {
                            failures.push(format!(
                                "{}: cannot write the error report: {e}",
                                to.display()
                            ));
                        }
                    }
                    Err(e) => {
                        failures.push(format!("{}: cannot move to failed/: {e}", path.display()))
                    }
                }
            }
        }
    }
    Ok(())
}

/// Records a tick that did not run because the job's previous run was still going.
pub fn record_skip(store: &mut Store, job: &str, why: &str) -> Result<(), StoreError> {
    let now = Utc::now();
    let id = store.start_job_run(job, Trigger::Schedule.as_str(), now)?;
    store.finish_job_run(&JobRun {
        id,
        job: job.to_string(),
        trigger: Trigger::Schedule.as_str().into(),
        started_at: now,
        finished_at: Some(now),
        files_imported: 0,
        files_failed: 0,
        files_skipped: 0,
        counts: RunCounts::default(),
        outcome: "skipped".into(),
        error: Some(why.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CONFIG;
    use chrono::TimeZone;

    fn cfg(cron: &str) -> Config {
        let text = format!(
            "{DEFAULT_CONFIG}\n[[schedules]]\nname = \"n\"\ncron = \"{cron}\"\nimport = {{ path = \"/x/*.csv\", profile = \"generic\" }}\n"
        );
        Config::parse(&text, "test").unwrap()
    }

    #[test]
    fn the_previous_fire_time_is_in_plant_time() {
        // Sunday 22 November 2026, noon UTC: the last weekday 05:30 in Berlin was Friday 04:30 UTC.
        let c = cfg("30 5 * * 1-5");
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        assert_eq!(
            previous_fire(&c, &c.schedules[0], now),
            Some(Utc.with_ymd_and_hms(2026, 11, 20, 4, 30, 0).unwrap())
        );
        let next = next_runs(&c, &c.schedules[0], now, 2);
        assert_eq!(
            next[0],
            Utc.with_ymd_and_hms(2026, 11, 23, 4, 30, 0).unwrap()
        );
        // Every second: the previous fire is now itself, found in the shortest window.
        let c = cfg("* * * * * *");
        assert_eq!(previous_fire(&c, &c.schedules[0], now), Some(now));
        // Once a year: found in the longest window.
        let c = cfg("0 0 1 1 *");
        assert_eq!(
            previous_fire(&c, &c.schedules[0], now),
            Some(Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap())
        );
    }
}
