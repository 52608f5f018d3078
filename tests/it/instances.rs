//! Several `gemba serve` instances on one PostgreSQL database (docs/deploy.md): a login made on
//! one is accepted by the other, an import is on every instance's board within 5 s, and when the
//! database goes away the boards keep serving what they hold, `/readyz` and writes answer 503,
//! and each instance reconnects by itself when it is back.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::actions::csrf_of;
use crate::auth::{config_with_login, get, login, new_action, post};
use crate::server::Server;
use crate::support::{Sandbox, fixture, ok, on_postgres, pg_admin};

const SESSION_KEY: &str = "a-session-key-every-instance-shares-0123456789";

/// Polls `check` every 100 ms until it holds or `limit` passes; the time it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {limit:?}");
}

async fn total(s: &Server) -> u64 {
    s.json("/api/v1/orders?per_page=1").await["total"]
        .as_u64()
        .unwrap()
}

async fn status(s: &Server, path: &str) -> StatusCode {
    reqwest::get(s.url(path)).await.unwrap().status()
}

#[test]
fn two_instances_share_logins_imports_and_an_outage() {
    on_postgres(|| {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(two_instances())
    });
}

async fn two_instances() {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "30", "--orders-per-day", "5"]));
    let config = config_with_login(&s, false);
    let args = ["--config", config.to_str().unwrap()];
    let env = [("GEMBA_SESSION_KEY", SESSION_KEY)];
    let a = Server::start_with_env(&s, &args, &env);
    let b = Server::start_with_env(&s, &args, &env);

    // A login on A is a session on B: B takes a write with it.
    let cookie = login(&a, &[("name", "ana"), ("password", "correct horse")])
        .await
        .expect("ana logs in on A");
    let page = get(&b, "/board?crew=Utilities", &cookie).await;
    let csrf = csrf_of(&page);
    let r = post(&b, "/actions", &cookie, &new_action(&csrf, "written on B")).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let on_a = a.json("/api/v1/actions?board=crew:Utilities").await;
    assert!(on_a.to_string().contains("written on B"), "{on_a}");

    // An import (by the CLI, as a job on either instance would) is on both boards within 5 s.
    let before = total(&b).await;
    ok(&s.gemba(&["import", &fixture("generic_ok.csv"), "--profile", "generic"]));
    for server in [&a, &b] {
        let took = within(
            Duration::from_secs(5),
            "the import on the board",
            || async { total(server).await > before },
        )
        .await;
        eprintln!("the import reached an instance in {took:?}");
    }

    let board = get(&b, "/board?crew=Utilities", &cookie).await;
    assert!(board.contains("written on B"));

    // The database goes away: no connection is allowed and the open ones are cut.
    let db = s.pg_database().to_string();
    pg_admin(vec![
        format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false"),
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"),
    ])
    .unwrap();
    within(Duration::from_secs(10), "/readyz answering 503", || async {
        status(&b, "/readyz").await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let board = get(&b, "/board?crew=Utilities", &cookie).await;
    assert!(board.contains("store is unreachable since"), "{board}");
    assert!(
        board.contains("written on B"),
        "the board keeps what it held"
    );
    assert_eq!(status(&a, "/api/v1/kpis").await, StatusCode::OK);
    let r = post(
        &b,
        "/actions",
        &cookie,
        &new_action(&csrf, "during the outage"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let message = r.text().await.unwrap();
    assert!(message.contains("cannot be reached"), "{message}");

    // Back: both instances reconnect by themselves, and take writes again.
    pg_admin(vec![format!(
        "ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true"
    )])
    .unwrap();
    for server in [&a, &b] {
        within(
            Duration::from_secs(15),
            "/readyz answering 200 again",
            || async { status(server, "/readyz").await == StatusCode::OK },
        )
        .await;
    }
    let page = get(&a, "/board?crew=Utilities", &cookie).await;
    assert!(!page.contains("store is unreachable since"));
    let r = post(
        &a,
        "/actions",
        &cookie,
        &new_action(&csrf_of(&page), "after it"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let actions = b
        .json("/api/v1/actions?board=crew:Utilities")
        .await
        .to_string();
    assert!(
        actions.contains("after it") && !actions.contains("during the outage"),
        "{actions}"
    );

    // The login throttle is counted in the database: five failures on A, and B refuses the
    // sixth try, even with the right password.
    for _ in 0..5 {
        let r = login(&a, &[("name", "ana"), ("password", "guess")])
            .await
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login(&b, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap_err();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[test]
fn an_instance_on_postgresql_says_when_the_session_key_is_unset() {
    on_postgres(|| {
        let s = Sandbox::new();
        let config = config_with_login(&s, false);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gemba"))
            .current_dir(s.dir.path())
            .env("GEMBA_DB", s.db_url())
            .env_remove("GEMBA_SESSION_KEY")
            .args(["--config", config.to_str().unwrap()])
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::BufRead;
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let warned = stderr
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("GEMBA_SESSION_KEY is unset"));
        let _ = child.kill();
        let _ = child.wait();
        let warned = warned.expect("a warning about GEMBA_SESSION_KEY");
        assert!(warned.contains("same key"), "{warned}");
    });
}

#[test]
fn two_instances_run_each_fire_time_of_a_job_once() {
    on_postgres(|| {
        use crate::schedules::{config_with, drop_dir, job};
        let s = Sandbox::new();
        let drop = drop_dir(&s);
        let cfg = config_with(&s, &job("drop", "* * * * * *", &drop, 0));
        let a = Server::start(&s, &["--config", &cfg]);
        let b = Server::start(&s, &["--config", &cfg]);
        std::fs::copy(fixture("generic_ok.csv"), drop.join("orders.csv")).unwrap();
        std::thread::sleep(Duration::from_secs(6));
        assert!(a.terminate().success() && b.terminate().success());
        let mut db = postgres::Client::connect(&s.db_url(), postgres::NoTls).unwrap();
        let twice = db
            .query(
                "SELECT fire_at FROM job_runs WHERE fire_at IS NOT NULL GROUP BY fire_at HAVING count(*) > 1",
                &[],
            )
            .unwrap();
        assert!(twice.is_empty(), "{} fire times ran twice", twice.len());
        let fired: i64 = db
            .query_one(
                "SELECT count(*) FROM job_runs WHERE job = 'drop' AND fire_at IS NOT NULL",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(fired >= 4, "only {fired} fire times ran in 6 s");
        let imported: i64 = db
            .query_one("SELECT count(*) FROM imported_files", &[])
            .unwrap()
            .get(0);
        assert_eq!(imported, 1, "the file was imported once");
        assert_eq!(s.store().order_count().unwrap(), 6);
    });
}

#[test]
fn a_fire_time_whose_instance_was_killed_is_run_by_another_within_a_minute() {
    on_postgres(|| {
        use crate::schedules::{big_file, config_with, drop_dir, job};
        let s = Sandbox::new();
        let drop = drop_dir(&s);
        let cfg = config_with(&s, &job("drop", "* * * * * *", &drop, 0));
        let mut db = postgres::Client::connect(&s.db_url(), postgres::NoTls).unwrap();
        let mut a = Server::start(&s, &["--config", &cfg]);
        big_file(&s, &drop);
        // A starts importing the big file: kill it -9 in the middle.
        let started = Instant::now();
        let fire_at: i64 = loop {
            let row = db
                .query_opt(
                    "SELECT fire_at FROM job_runs WHERE outcome = 'running' AND fire_at IS NOT NULL",
                    &[],
                )
                .unwrap();
            if let Some(row) = row {
                break row.get(0);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "A never ran the job"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        a.child.kill().unwrap();
        a.child.wait().unwrap();
        let killed = Instant::now();
        let _b = Server::start(&s, &["--config", &cfg]);
        loop {
            let taken: i64 = db
                .query_one(
                    "SELECT count(*) FROM job_runs WHERE trigger = 'takeover' AND fire_at = $1",
                    &[&fire_at],
                )
                .unwrap()
                .get(0);
            if taken == 1 {
                break;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "no instance took the killed run's fire time over within a minute"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("taken over {:?} after the kill", killed.elapsed());
        let dead = db
            .query_one(
                "SELECT outcome, error FROM job_runs WHERE trigger = 'schedule' AND outcome <> 'running' AND error LIKE '%stopped%'",
                &[],
            )
            .unwrap();
        assert_eq!(dead.get::<_, String>(0), "failed");
        let twice = db
            .query(
                "SELECT fire_at FROM job_runs WHERE fire_at IS NOT NULL GROUP BY fire_at HAVING count(*) > 1",
                &[],
            )
            .unwrap();
        assert!(twice.is_empty());
        let deadline = Instant::now() + Duration::from_secs(120);
        while s.store().order_count().unwrap() < 150_000 {
            assert!(
                Instant::now() < deadline,
                "the big file was not imported after the takeover"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    });
}
