//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gemba::model::WorkOrder;
use gemba::store::Store;

/// A temporary working folder with its own store.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db_url(&self) -> String {
        format!("sqlite:{}", self.path("gemba.db").display())
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
