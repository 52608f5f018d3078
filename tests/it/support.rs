//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gemba::model::WorkOrder;
use gemba::store::Store;

/// A temporary working folder with its own store: a SQLite file in the folder, or, inside
/// [`on_postgres`], a PostgreSQL database of its own.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            pg: ON_POSTGRES.with(|on| on.get()).then(PgDatabase::new),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db_url(&self) -> String {
        match &self.pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite:{}", self.path("gemba.db").display()),
        }
    }

    /// Runs `gemba ARGS` in the sandbox with its store and the shipped demo config.
    pub fn gemba(&self, args: &[&str]) -> Output {
        self.gemba_env(args, &[])
    }

    pub fn gemba_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gemba"));
        cmd.current_dir(self.dir.path())
            .env("GEMBA_DB", self.db_url())
            .env("GEMBA_CONFIG", repo("config/gemba.toml"))
            .env_remove("GEMBA_LOG")
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("gemba runs")
    }

    /// The name of the sandbox's PostgreSQL database (inside [`on_postgres`]).
    pub fn pg_database(&self) -> &str {
        &self.pg.as_ref().expect("a sandbox on PostgreSQL").name
    }

    pub fn store(&self) -> Store {
        Store::open(&self.db_url()).expect("store opens")
    }

    pub fn orders(&self) -> Vec<WorkOrder> {
        self.store().orders().expect("orders load")
    }
}

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn fixture(name: &str) -> String {
    repo("tests/fixtures").join(name).display().to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the command succeeded, showing its output if not.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Asserts the command failed, and returns its stderr.
pub fn fails(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "should have failed\nstdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stderr(o)
}

thread_local! {
    static ON_POSTGRES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a test with every [`Sandbox`] it makes on PostgreSQL.
pub fn on_postgres(test: fn()) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ON_POSTGRES.with(|on| on.set(false));
        }
    }
    ON_POSTGRES.with(|on| on.set(true));
    let _reset = Reset;
    test();
}

/// The PostgreSQL server the tests may create databases on, or a failure that says how to get
/// one (the tests never skip).
pub fn pg_server() -> String {
    std::env::var("GEMBA_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "GEMBA_TEST_PG is not set: these tests run on PostgreSQL too. Run them with .ci/test \
             (it installs PostgreSQL if missing and starts a throwaway cluster), or set \
             GEMBA_TEST_PG=postgres://USER@127.0.0.1:PORT/postgres for a server where they may create databases"
        )
    })
}

/// A database of its own on the test server, dropped with it.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

/// Runs SQL statements one by one as the test server's admin, on a thread of their own (the
/// synchronous client cannot run inside a `#[tokio::test]`).
pub fn pg_admin(statements: Vec<String>) -> Result<(), String> {
    let server = pg_server();
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&server, postgres::NoTls)
            .map_err(|e| format!("the PostgreSQL at GEMBA_TEST_PG does not answer: {e}"))?;
        for sql in statements {
            admin
                .batch_execute(&sql)
                .map_err(|e| format!("{sql}: {e}"))?;
        }
        Ok(())
    })
    .join()
    .expect("the admin thread does not panic")
}

impl PgDatabase {
    pub fn new() -> PgDatabase {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "gemba_it_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        // A database left by an earlier run of the same process id goes first.
        pg_admin(vec![
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let server = pg_server();
        let (base, query) = server.split_once('?').unwrap_or((&server, ""));
        let root = base.rsplit_once('/').map_or(base, |(root, _)| root);
        let url = if query.is_empty() {
            format!("{root}/{name}")
        } else {
            format!("{root}/{name}?{query}")
        };
        PgDatabase { url, name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = pg_admin(vec![format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )]);
    }
}

/// A daily cadence (crontab line) due earlier today in plant time (the shipped config's
/// Europe/Berlin): an hour ago, or at midnight in the first hour of the day, so today's
/// occurrence is open now whatever the time.
pub fn due_earlier_today() -> String {
    use chrono::Timelike;
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin);
    let t = now - chrono::Duration::hours(1);
    let t = if t.date_naive() == now.date_naive() {
        t
    } else {
        now.with_hour(0).and_then(|t| t.with_minute(0)).unwrap()
    };
    format!("{} {} * * *", t.minute(), t.hour())
}
