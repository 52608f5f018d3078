//! A `gemba serve` process for tests: started on 127.0.0.1 with a free port (the OS picks it),
//! stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{Sandbox, repo};

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `gemba serve` in the sandbox (its store, the shipped config) with extra args.
    pub fn start(s: &Sandbox, extra: &[&str]) -> Server {
        Server::start_with_env(s, extra, &[])
    }

    /// As `start`, with extra environment variables (secrets such as GEMBA_API_TOKEN).
    pub fn start_with_env(s: &Sandbox, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gemba"))
            .current_dir(s.dir.path())
            .env("GEMBA_DB", s.db_url())
            .env("GEMBA_CONFIG", repo("config/gemba.toml"))
            .envs(env.iter().copied())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gemba serve starts");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("gemba serve printed its address")
                .expect("readable stdout");
            if let Some(rest) = line.strip_prefix("Gemba board on ") {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The body of `GET path`, whatever its status.
    pub async fn text(&self, path: &str) -> String {
        let url = self.url(path);
        reqwest::get(&url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// The JSON body of `GET path`.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        serde_json::from_str(&self.text(path).await)
            .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }

    /// Sends SIGTERM and waits: the server shuts down gracefully.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        let status = self.child.wait().expect("server exits");
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that does not follow redirects (a form's answer is a redirect to check).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a JSON body; the status and the JSON answer (null when there is none).
pub async fn post_json(
    s: &Server,
    path: &str,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let r = client().post(s.url(path)).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// POSTs a form (without following the redirect that answers it).
pub async fn post_form(s: &Server, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(s.url(path)).form(form).send().await.unwrap()
}
