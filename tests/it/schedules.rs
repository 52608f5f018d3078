//! Scheduled imports with real files in a temp drop folder: `gemba schedules run NAME` by hand,
//! and jobs on a per-second cron inside `gemba serve` (no overlap, missed run at start-up, the
//! board's warning, kill -9 mid-import).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::server::Server;
use crate::support::{Sandbox, fails, fixture, ok, repo};

/// The shipped config plus `jobs` (TOML), written into the sandbox; its path.
pub fn config_with(s: &Sandbox, jobs: &str) -> String {
    let text = std::fs::read_to_string(repo("config/gemba.toml")).unwrap() + "\n" + jobs;
    let path = s.path("gemba.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

pub fn drop_dir(s: &Sandbox) -> PathBuf {
    let d = s.path("drop");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn job(name: &str, cron: &str, drop: &Path, settle: u64) -> String {
    format!(
        "[[schedules]]\nname = \"{name}\"\ncron = \"{cron}\"\nimport = {{ path = \"{}/*.csv\", profile = \"generic\", source = \"nightly\", settle_seconds = {settle} }}\n",
        drop.display()
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub(crate) fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_run_imports_settled_files_archives_them_and_reports_the_bad_one() {
    let s = Sandbox::new();
    let drop = drop_dir(&s);
    let cfg = config_with(
        &s,
        &(job("drop", "30 5 * * 1-5", &drop, 0)
            + &job("slow", "30 5 * * 1-5", &s.path("slow"), 3600)),
    );
    std::fs::copy(fixture("generic_ok.csv"), drop.join("a-good.csv")).unwrap();
    std::fs::copy(
        fixture("generic_missing_columns.csv"),
        drop.join("b-bad.csv"),
    )
    .unwrap();
    std::fs::write(drop.join("c-upload.csv.part"), "id,title\n").unwrap();

    let out = s.gemba(&["--config", &cfg, "schedules", "run", "drop"]);
    let err = fails(&out);
    assert!(err.contains("b-bad.csv"), "{err}");
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains("1 file(s) imported, 1 failed, 0 skipped"),
        "{said}"
    );
    assert_eq!(
        s.store().order_count().unwrap(),
        6,
        "the good file's six orders"
    );
    // The partial upload stays; the good file is archived; the bad one is in failed/ with its
    // report beside it.
    assert_eq!(files_in(&drop), ["archive", "c-upload.csv.part", "failed"]);
    let archived = files_in(&drop.join("archive"));
    assert!(
        archived.len() == 1 && archived[0].ends_with("-a-good.csv"),
        "{archived:?}"
    );
    let failed = files_in(&drop.join("failed"));
    assert_eq!(failed.len(), 2, "{failed:?}");
    let report = std::fs::read_to_string(drop.join("failed").join(&failed[1])).unwrap();
    assert!(failed[1].ends_with("-b-bad.csv.error.txt"), "{failed:?}");
    assert!(
        report.contains("b-bad.csv") && report.contains("missing"),
        "{report}"
    );

    // The same content again is skipped, not imported twice.
    std::fs::copy(fixture("generic_ok.csv"), drop.join("d-again.csv")).unwrap();
    let said = ok(&s.gemba(&["--config", &cfg, "schedules", "run", "drop"]));
    assert!(
        said.contains("0 file(s) imported, 0 failed, 1 skipped"),
        "{said}"
    );
    assert!(
        files_in(&drop.join("archive"))
            .iter()
            .any(|f| f.ends_with("-d-again.csv.duplicate"))
    );

    // A file written just now is left until it has settled.
    let slow = s.path("slow");
    std::fs::create_dir_all(&slow).unwrap();
    std::fs::copy(fixture("generic_ok.csv"), slow.join("fresh.csv")).unwrap();
    let said = ok(&s.gemba(&["--config", &cfg, "schedules", "run", "slow"]));
    assert!(said.contains("0 file(s) imported"), "{said}");
    assert_eq!(files_in(&slow), ["fresh.csv"]);

    // The listing: next runs on weekdays at 05:30, and each job's last outcome.
    let list = ok(&s.gemba(&["--config", &cfg, "schedules"]));
    assert!(list.contains("drop  cron `30 5 * * 1-5`"), "{list}");
    assert!(list.contains("05:30:00"), "{list}");
    assert!(
        !list.contains("Sat ") && !list.contains("Sun "),
        "weekdays only: {list}"
    );
    assert!(
        list.contains("(hand), ok: 0 imported, 0 failed, 1 skipped"),
        "{list}"
    );
}

#[test]
fn bad_schedules_are_config_errors_that_show_the_expression() {
    let s = Sandbox::new();
    let drop = drop_dir(&s);
    let cfg = config_with(&s, &job("drop", "30 5 * * 8", &drop, 0));
    let e = fails(&s.gemba(&["--config", &cfg, "schedules"]));
    assert!(
        e.contains("schedules[0].cron") && e.contains("cron `30 5 * * 8`: weekday `8`"),
        "{e}"
    );
    let cfg = config_with(
        &s,
        "[[schedules]]\nname = \"m\"\ncron = \"0 6 * * *\"\nsync = \"maintainx\"\n",
    );
    let e = fails(&s.gemba(&["--config", &cfg, "schedules"]));
    assert!(
        e.contains("schedules[0].sync") && e.contains("connectors"),
        "{e}"
    );
    let cfg = config_with(&s, &job("drop", "30 5 * * *", &drop, 0));
    let e = fails(&s.gemba(&["--config", &cfg, "schedules", "run", "nope"]));
    assert!(
        e.contains("no scheduled job named `nope`; jobs: drop"),
        "{e}"
    );
}

fn job_outcomes(s: &Sandbox) -> Vec<String> {
    s.store()
        .job_runs(None, 1000)
        .unwrap()
        .into_iter()
        .map(|r| r.outcome)
        .collect()
}

#[tokio::test]
async fn the_server_runs_jobs_on_their_schedule_and_warns_when_one_fails() {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "30", "--orders-per-day", "5"]));
    let drop = drop_dir(&s);
    let cfg = config_with(&s, &job("drop", "* * * * * *", &drop, 0));
    let server = Server::start(&s, &["--config", &cfg]);
    std::fs::copy(fixture("generic_ok.csv"), drop.join("good.csv")).unwrap();
    wait_for("the good file to be archived", 20, || {
        files_in(&drop) == ["archive"]
    });
    let imports: serde_json::Value = server.json("/api/v1/imports").await;
    assert_eq!(imports[0]["source"], "nightly");
    let board = server.text("/").await;
    assert!(
        !board.contains("job-warning"),
        "no warning while jobs succeed"
    );

    std::fs::copy(fixture("generic_missing_columns.csv"), drop.join("bad.csv")).unwrap();
    wait_for("the bad file to be moved to failed/", 20, || {
        drop.join("failed").exists()
    });
    let board = server.text("/").await;
    assert!(
        board.contains("scheduled import `drop` failed"),
        "the board warns"
    );
}

#[test]
fn a_missed_run_runs_at_start_up() {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "30", "--orders-per-day", "5"]));
    let drop = drop_dir(&s);
    // Once a year on 1 January: the last fire time has passed and the job never ran.
    let cfg = config_with(&s, &job("yearly", "0 0 1 1 *", &drop, 0));
    std::fs::copy(fixture("generic_ok.csv"), drop.join("waiting.csv")).unwrap();
    let _server = Server::start(&s, &["--config", &cfg]);
    wait_for("the missed run", 20, || files_in(&drop) == ["archive"]);
    let runs = s.store().job_runs(Some("yearly"), 10).unwrap();
    assert_eq!(runs[0].trigger, "startup");
}

/// A drop folder with a 150,000-order CSV, made by the demo generator.
pub fn big_file(s: &Sandbox, dir: &Path) -> PathBuf {
    let tmp = s.path("big.csv.tmp");
    ok(&s.gemba(&["demo", "--csv", tmp.to_str().unwrap(), "--orders", "150000"]));
    let to = dir.join("big.csv");
    std::fs::rename(&tmp, &to).unwrap();
    to
}

#[test]
fn ticks_during_a_long_run_are_skipped_and_said() {
    let s = Sandbox::new();
    let drop = drop_dir(&s);
    let cfg = config_with(&s, &job("drop", "* * * * * *", &drop, 0));
    big_file(&s, &drop);
    let _server = Server::start(&s, &["--config", &cfg]);
    wait_for("the big file to be imported", 120, || {
        files_in(&drop) == ["archive"]
    });
    // The file is archived before its run and the skipped ticks are recorded.
    wait_for("the run and the skipped ticks to be recorded", 60, || {
        let outcomes = job_outcomes(&s);
        outcomes.iter().any(|o| o == "ok") && outcomes.iter().any(|o| o == "skipped")
    });
    let outcomes = job_outcomes(&s);
    assert!(outcomes.iter().any(|o| o == "skipped"), "{outcomes:?}");
    assert!(outcomes.iter().filter(|o| *o == "ok").count() >= 1);
    assert_eq!(s.store().order_count().unwrap(), 150_000);
}

#[test]
fn kill_9_during_a_scheduled_import_leaves_the_store_and_the_file_as_they_were() {
    let s = Sandbox::new();
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    let drop = drop_dir(&s);
    let cfg = config_with(&s, &job("drop", "* * * * * *", &drop, 0));
    big_file(&s, &drop);
    let mut server = Server::start(&s, &["--config", &cfg]);
    wait_for("the import to start", 30, || {
        job_outcomes(&s).iter().any(|o| o == "running")
    });
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    assert_eq!(
        s.store().order_count().unwrap(),
        6,
        "only the earlier import's orders"
    );
    assert_eq!(files_in(&drop), ["big.csv"], "the file is still waiting");
    // The next server picks it up.
    let _again = Server::start(&s, &["--config", &cfg]);
    wait_for("the import after restart", 120, || {
        files_in(&drop) == ["archive"]
    });
    assert_eq!(s.store().order_count().unwrap(), 150_006);
}

#[test]
fn an_instance_started_with_no_jobs_leaves_the_schedules_to_another() {
    let s = Sandbox::new();
    let drop = drop_dir(&s);
    let cfg = config_with(&s, &job("drop", "* * * * * *", &drop, 0));
    std::fs::copy(fixture("generic_ok.csv"), drop.join("waiting.csv")).unwrap();
    let server = Server::start(&s, &["--config", &cfg, "--no-jobs"]);
    std::thread::sleep(Duration::from_secs(3));
    assert!(job_outcomes(&s).is_empty(), "{:?}", job_outcomes(&s));
    assert!(drop.join("waiting.csv").exists());
    drop_server(server);
    // The same config without the flag runs the job.
    let _server = Server::start(&s, &["--config", &cfg]);
    wait_for("the job to run", 20, || files_in(&drop) == ["archive"]);
}

fn drop_server(server: Server) {
    assert!(server.terminate().success());
}

/// The same tests with the store on PostgreSQL (a database of their own on `GEMBA_TEST_PG`).
mod on_postgres {
    use crate::support::on_postgres;

    #[test]
    fn a_run_imports_settled_files_archives_them_and_reports_the_bad_one() {
        on_postgres(super::a_run_imports_settled_files_archives_them_and_reports_the_bad_one);
    }

    #[test]
    fn bad_schedules_are_config_errors_that_show_the_expression() {
        on_postgres(super::bad_schedules_are_config_errors_that_show_the_expression);
    }

    #[test]
    fn the_server_runs_jobs_on_their_schedule_and_warns_when_one_fails() {
        on_postgres(super::the_server_runs_jobs_on_their_schedule_and_warns_when_one_fails);
    }

    #[test]
    fn an_instance_started_with_no_jobs_leaves_the_schedules_to_another() {
        on_postgres(super::an_instance_started_with_no_jobs_leaves_the_schedules_to_another);
    }

    #[test]
    fn a_missed_run_runs_at_start_up() {
        on_postgres(super::a_missed_run_runs_at_start_up);
    }

    #[test]
    fn ticks_during_a_long_run_are_skipped_and_said() {
        on_postgres(super::ticks_during_a_long_run_are_skipped_and_said);
    }

    #[test]
    fn kill_9_during_a_scheduled_import_leaves_the_store_and_the_file_as_they_were() {
        on_postgres(
            super::kill_9_during_a_scheduled_import_leaves_the_store_and_the_file_as_they_were,
        );
    }
}
