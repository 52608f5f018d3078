//! Who may write, through the real server: `[auth]` users with argon2 hashes made by `gemba
//! hash-password`, signed session cookies, CSRF tokens per session, the board token, the API's
//! bearer token, the login throttle and read-only mode. Secrets come from the environment.

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::actions::csrf_of;
use crate::server::Server;
use crate::support::{Sandbox, ok, repo};

const API_TOKEN: &str = "api-token-4f9c2e7d1b";
const BOARD_TOKEN: &str = "board-token-8a1e5c3f";

/// A sandbox with the demo plant and a config requiring logins; the server started with the
/// tokens in its environment.
fn setup(read_only: bool) -> (Sandbox, Server) {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "30", "--orders-per-day", "5"]));
    let path = config_with_login(&s, read_only);
    let server = Server::start_with_env(
        &s,
        &["--config", path.to_str().unwrap()],
        &[
            ("GEMBA_API_TOKEN", API_TOKEN),
            ("GEMBA_BOARD_TOKEN", BOARD_TOKEN),
        ],
    );
    (s, server)
}

/// The shipped config with `[auth]`: user `ana`, password `correct horse` (hashed by
/// `gemba hash-password`), written into the sandbox.
pub fn config_with_login(s: &Sandbox, read_only: bool) -> std::path::PathBuf {
    let mut hash = std::process::Command::new(env!("CARGO_BIN_EXE_gemba"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    hash.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let out = hash.wait_with_output().unwrap();
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let config = std::fs::read_to_string(repo("config/gemba.toml")).unwrap()
        + &format!(
            "\n[auth]\nread_only = {read_only}\nusers = [{{ name = \"ana\", password_hash = \"{hash}\" }}]\n"
        );
    let path = s.path("gemba.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub async fn get(s: &Server, path: &str, cookie: &str) -> String {
    client()
        .get(s.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn post(
    s: &Server,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(s.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Logs in through the login form; the session cookie (`name=value`) or the failed response.
pub async fn login(s: &Server, fields: &[(&str, &str)]) -> Result<String, reqwest::Response> {
    login_via(s, None, fields).await
}

/// As [`login`], through a proxy that forwards `X-Forwarded-For: forwarded`.
pub async fn login_via(
    s: &Server,
    forwarded: Option<&str>,
    fields: &[(&str, &str)],
) -> Result<String, reqwest::Response> {
    let page = get(s, "/login", "").await;
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let mut request = client().post(s.url("/login")).form(&form);
    if let Some(f) = forwarded {
        request = request.header("x-forwarded-for", f);
    }
    let r = request.send().await.unwrap();
    if r.status() != StatusCode::SEE_OTHER {
        return Err(r);
    }
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    Ok(set.split(';').next().unwrap().to_string())
}

pub fn new_action<'a>(csrf: &'a str, title: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("board", "crew:Utilities"),
        ("title", title),
        ("owner", "Ana"),
        ("due", "2026-11-30"),
    ]
}

#[tokio::test]
async fn writing_needs_a_login_and_the_session_token() {
    let (_sandbox, s) = setup(false);
    // Reading needs nothing; the board offers a login instead of forms.
    let board = get(&s, "/board?crew=Utilities", "").await;
    assert!(board.contains("Log in to add or change actions"));
    assert!(!board.contains(r#"action="/actions""#));
    let r = post(&s, "/actions", "", &new_action("anything", "x")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The safety cross too: no form without a login, and a posted mark is refused.
    assert!(!board.contains(r#"action="/safety""#));
    let mark = [
        ("csrf", "anything"),
        ("board", "crew:Utilities"),
        ("date", "2026-11-30"),
        ("mark", "safe"),
    ];
    let r = post(&s, "/safety", "", &mark).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The TV view offers a login to start the huddle, not the button.
    let tv = get(&s, "/board?crew=Utilities&kiosk=1", "").await;
    assert!(tv.contains("Log in to start the huddle") && !tv.contains(r#"action="/huddles""#));

    let wrong = login(&s, &[("name", "ana"), ("password", "wrong")])
        .await
        .unwrap_err();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let cookie = login(&s, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap();
    let board = get(&s, "/board?crew=Utilities", &cookie).await;
    assert!(board.contains("Logged in as ana"));
    let csrf = csrf_of(&board);
    // The token of the page without a session (or of another session) does not write.
    let anon = csrf_of(&get(&s, "/login", "").await);
    let r = post(&s, "/actions", &cookie, &new_action(&anon, "x")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A forged cookie is no session.
    let forged = cookie.replace("ana", "bob");
    let r = post(&s, "/actions", &forged, &new_action(&csrf, "x")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let r = post(&s, "/actions", &cookie, &new_action(&csrf, "Spare belts")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let list: Value = client()
        .get(s.url("/api/v1/actions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list[0]["id"].as_i64().unwrap();
    let detail = get(&s, &format!("/actions/{id}"), "").await;
    assert!(detail.contains("<td>ana</td>"), "history names the user");

    // The board token logs the TV in as "board token".
    let tv = login(&s, &[("token", BOARD_TOKEN)]).await.unwrap();
    let board = get(&s, "/board?crew=Utilities", &tv).await;
    assert!(board.contains("Logged in as board token"));
    assert!(
        !board.contains(BOARD_TOKEN) && !board.contains(API_TOKEN),
        "no secret on a page"
    );

    // Logging out ends the session in the browser.
    let r = post(&s, "/logout", &cookie, &[("csrf", &csrf)]).await;
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn the_api_writes_with_the_bearer_token_only() {
    let (_sandbox, s) = setup(false);
    let body =
        json!({"board": "plant", "title": "Review PM routes", "owner": "Lee", "due": "2026-12-01"});
    let r = client()
        .post(s.url("/api/v1/actions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .post(s.url("/api/v1/actions"))
        .bearer_auth("not-the-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .post(s.url("/api/v1/actions"))
        .bearer_auth(API_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    let detail = get(&s, &format!("/actions/{}", a["id"]), "").await;
    assert!(detail.contains("<td>API token</td>"));
    assert!(!detail.contains(API_TOKEN));

    // Marking the safety cross: the same rule.
    let yesterday = (chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin)
        - chrono::Duration::days(1))
    .date_naive()
    .to_string();
    let mark = json!({"board": "crew:Utilities", "date": yesterday, "mark": "near_miss", "note": "loose grating"});
    let r = client()
        .post(s.url("/api/v1/safety"))
        .json(&mark)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .post(s.url("/api/v1/safety"))
        .bearer_auth(API_TOKEN)
        .json(&mark)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["who"].as_str(), m["mark"].as_str()),
        (Some("API token"), Some("near_miss"))
    );
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let (_sandbox, s) = setup(false);
    for _ in 0..5 {
        let r = login(&s, &[("name", "ana"), ("password", "guess")])
            .await
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login(&s, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap_err();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert_eq!(r.headers()["retry-after"], "900");
}

/// Behind a trusted proxy the throttle counts the client the proxy names; the count is in the
/// store, so a restart does not reset it; a proxy that is not trusted is one client, whatever
/// its header says.
#[tokio::test]
async fn the_throttle_counts_the_forwarded_client_and_outlives_a_restart() {
    let s = Sandbox::new();
    ok(&s.gemba(&["demo", "--days", "30", "--orders-per-day", "5"]));
    let path = config_with_login(&s, false);
    let trusting = std::fs::read_to_string(&path).unwrap() + "trusted_proxies = [\"127.0.0.1\"]\n";
    std::fs::write(&path, trusting).unwrap();
    let args = ["--config", path.to_str().unwrap()];
    let server = Server::start(&s, &args);
    let wrong = [("name", "ana"), ("password", "guess")];
    let right = [("name", "ana"), ("password", "correct horse")];
    // The client's own header word is left of what the proxy appended: not believed.
    for i in 0..5 {
        let spoofed = format!("192.0.2.{i}, 203.0.113.7");
        let r = login_via(&server, Some(&spoofed), &wrong)
            .await
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login_via(&server, Some("203.0.113.7"), &right)
        .await
        .unwrap_err();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    login_via(&server, Some("203.0.113.8"), &right)
        .await
        .expect("another client behind the same proxy logs in");
    drop(server);
    let server = Server::start(&s, &args);
    let r = login_via(&server, Some("203.0.113.7"), &right)
        .await
        .unwrap_err();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the failures are in the store, not in the process"
    );
    drop(server);

    // Without trusted_proxies the header is ignored: every failure is the peer's.
    let path = config_with_login(&s, false);
    let server = Server::start(&s, &["--config", path.to_str().unwrap()]);
    for i in 0..5 {
        let r = login_via(&server, Some(&format!("198.51.100.{i}")), &wrong)
            .await
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = login_via(&server, Some("198.51.100.99"), &right)
        .await
        .unwrap_err();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn read_only_mode_refuses_every_write() {
    let (_sandbox, s) = setup(true);
    let board = get(&s, "/board?crew=Utilities", "").await;
    assert!(board.contains("Read-only board"));
    let cookie = login(&s, &[("name", "ana"), ("password", "correct horse")])
        .await
        .unwrap();
    let board = get(&s, "/board?crew=Utilities", &cookie).await;
    assert!(
        !board.contains(r#"action="/actions""#),
        "no forms even when logged in"
    );
    let r = post(
        &s,
        "/huddles",
        &cookie,
        &[("csrf", "x"), ("board", "plant")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("read-only"));
    let r = post(
        &s,
        "/safety",
        &cookie,
        &[
            ("csrf", "x"),
            ("board", "plant"),
            ("date", "2026-11-30"),
            ("mark", "safe"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client()
        .post(s.url("/api/v1/actions"))
        .bearer_auth(API_TOKEN)
        .json(&json!({"board": "plant", "title": "t", "owner": "o", "due": "2026-12-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
