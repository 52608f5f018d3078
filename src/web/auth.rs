//! Who may write. Reading needs nothing. Without `[auth]` anyone who reaches the board may write
//! (a closed plant network); with it, writing needs a session: a user of the config with an
//! argon2-hashed password, or the shared board token for the TV (`GEMBA_BOARD_TOKEN`). Sessions
//! are HMAC-signed cookies (HttpOnly, SameSite=Strict), forms carry a CSRF token tied to the
//! session, failed logins are counted in the store per client address (so the throttle holds
//! across instances and restarts; behind `[auth] trusted_proxies` the address the proxy
//! forwards), and `read_only` stops every write.
//! Scripts write through the API with `Authorization: Bearer $GEMBA_API_TOKEN`.
//!
//! Secrets come from the environment only: `GEMBA_SESSION_KEY` (else a random key per start,
//! so sessions end with the process), `GEMBA_BOARD_TOKEN`, `GEMBA_API_TOKEN`.

use std::net::{IpAddr, SocketAddr};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use maud::html;
use serde::Deserialize;
use sha2::Sha256;

use super::layout::{self, Nav};
use super::params::{CsrfForm, local_path};
use super::{AppError, AppState};
use crate::config::{Config, TrustedProxy};

pub const SESSION_COOKIE: &str = "gemba_session";
/// How long a login lasts: a shift and a half.
const SESSION_HOURS: i64 = 12;
/// Failed logins allowed per client address within [`FAILURE_MINUTES`].
const MAX_FAILURES: u32 = 5;
const FAILURE_MINUTES: i64 = 15;
/// Who a change is recorded as while no login is configured.
pub const WHO_WITHOUT_LOGIN: &str = "board (no login configured)";
pub const WHO_BOARD_TOKEN: &str = "board token";
pub const WHO_API_TOKEN: &str = "API token";

/// The secrets of one server process.
pub struct Auth {
    key: Vec<u8>,
    board_token: Option<String>,
    api_token: Option<String>,
}

fn env_secret(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Auth {
    /// Reads the secrets from the environment; a missing session key is drawn at random.
    pub fn from_env() -> Result<Auth, AppError> {
        let key = match env_secret("GEMBA_SESSION_KEY") {
            Some(k) if k.len() >= 32 => k.into_bytes(),
            Some(_) => {
                return Err(AppError::internal(
                    "GEMBA_SESSION_KEY must be at least 32 characters",
                ));
            }
            None => {
                let mut bytes = vec![0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| {
                    AppError::internal(format!("no randomness from the system: {e}"))
                })?;
                bytes
            }
        };
        Ok(Auth {
            key,
            board_token: env_secret("GEMBA_BOARD_TOKEN"),
            api_token: env_secret("GEMBA_API_TOKEN"),
        })
    }

    fn sign(&self, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The CSRF token of forms shown to `who` (the same for everyone without `[auth]`).
    pub fn csrf(&self, who: &str) -> String {
        self.sign(&format!("csrf\n{who}"))
    }

    fn session_value(&self, who: &str, expires: i64) -> String {
        let name: String = form_urlencoded::byte_serialize(who.as_bytes()).collect();
        let payload = format!("{name}|{expires}");
        format!("{payload}|{}", self.sign(&format!("session\n{payload}")))
    }

    /// The user of a valid, unexpired session cookie.
    fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
            .next()?;
        let (payload, sig) = value.rsplit_once('|')?;
        if !same(&self.sign(&format!("session\n{payload}")), sig) {
            return None;
        }
        let (name, expires) = payload.rsplit_once('|')?;
        if expires.parse::<i64>().ok()? < chrono::Utc::now().timestamp() {
            return None;
        }
        form_urlencoded::parse(format!("n={name}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    }
}

/// The address a request comes from, as the login throttle counts it: the peer's, unless the
/// peer is a trusted proxy; then `X-Forwarded-For` is read from the right (each proxy appends
/// the address it saw) past every trusted proxy, and the first address that is not one is the
/// client. What lies left of it was written by the client itself and is not believed; an entry
/// that is not an address ends the walk at the last address read.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(ip) = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()))
            .ok()
        else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// Compares secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// What the person looking at a page may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// May write, recorded as `who`; forms carry `csrf`.
    Writer { who: String, csrf: String },
    /// `[auth]` is configured and there is no session.
    NeedsLogin,
    /// `[auth] read_only`.
    ReadOnly,
}

impl Viewer {
    pub fn of(state: &AppState, headers: &HeaderMap) -> Viewer {
        let auth = state.auth();
        match &state.config().auth {
            Some(a) if a.read_only => Viewer::ReadOnly,
            Some(_) => match auth.session_user(headers) {
                Some(who) => Viewer::Writer {
                    csrf: auth.csrf(&who),
                    who,
                },
                None => Viewer::NeedsLogin,
            },
            None => Viewer::Writer {
                who: WHO_WITHOUT_LOGIN.into(),
                csrf: auth.csrf(WHO_WITHOUT_LOGIN),
            },
        }
    }

    /// Who writes, when a form with `token` may write; else the error to answer with.
    pub fn check(self, token: &str) -> Result<String, AppError> {
        match self {
            Viewer::Writer { who, csrf } if same(&csrf, token) => Ok(who),
            Viewer::Writer { .. } => Err(stale_form()),
            Viewer::NeedsLogin => Err(AppError {
                status: StatusCode::UNAUTHORIZED,
                message: "log in to change the board: /login".into(),
            }),
            Viewer::ReadOnly => Err(read_only()),
        }
    }

    pub fn csrf(&self) -> Option<&str> {
        match self {
            Viewer::Writer { csrf, .. } => Some(csrf),
            _ => None,
        }
    }
}

/// Fields of a form, by name (a repeated name keeps its last value).
pub type FormFields = std::collections::BTreeMap<String, String>;

/// Who writes with a posted form, asked first: its fields, and the writer when its `csrf` token
/// may write (`Viewer::check`).
pub fn form_writer(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, FormFields), AppError> {
    let fields: FormFields = form_urlencoded::parse(body).into_owned().collect();
    let who = Viewer::of(state, headers).check(fields.get("csrf").map_or("", |s| s))?;
    Ok((who, fields))
}

fn stale_form() -> AppError {
    AppError {
        status: StatusCode::FORBIDDEN,
        message: "this form is out of date or did not come from this board (the server may have restarted, or you logged in again): reload the page and try again".into(),
    }
}

fn read_only() -> AppError {
    AppError {
        status: StatusCode::FORBIDDEN,
        message: "this board is read-only ([auth] read_only = true in the config)".into(),
    }
}

/// Who writes through the API: no `[auth]`, the API token as a bearer, or a session (the API
/// takes JSON only, which a browser does not send cross-site, so no CSRF token is needed).
pub fn api_writer(state: &AppState, headers: &HeaderMap) -> Result<String, AppError> {
    let auth = state.auth();
    match &state.config().auth {
        None => Ok(WHO_WITHOUT_LOGIN.into()),
        Some(a) if a.read_only => Err(read_only()),
        Some(_) => {
            let bearer = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if let (Some(given), Some(token)) = (bearer, &auth.api_token)
                && same(given.trim(), token)
            {
                return Ok(WHO_API_TOKEN.into());
            }
            auth.session_user(headers).ok_or(AppError {
                status: StatusCode::UNAUTHORIZED,
                message: "writing needs `Authorization: Bearer <GEMBA_API_TOKEN>` or a login"
                    .into(),
            })
        }
    }
}

fn verify(cfg: &Config, name: &str, password: &str) -> bool {
    let Some(auth) = &cfg.auth else {
        return false;
    };
    auth.users.iter().any(|u| {
        u.name == name
            && PasswordHash::new(&u.password_hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
    })
}

/// A PHC string for `[auth] users` (`gemba hash-password`).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

fn local(next: &str) -> &str {
    local_path(next).unwrap_or("/")
}

fn login_page(
    state: &AppState,
    next: &str,
    message: Option<&str>,
) -> Result<Html<String>, AppError> {
    let nav = Nav::build(&state.loaded().engine)?;
    let csrf = state.auth().csrf("");
    let body = html! {
        h1 { "Log in" }
        @if state.config().auth.is_none() {
            p { "No login is configured: anyone who can reach this board may change it. Add an " code { "[auth]" } " table to the config to require one." }
        } @else {
            @if let Some(m) = message { p class="error" { (m) } }
            form method="post" action="/login" class="grid" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(local(next));
                label { "Name " input name="name" autocomplete="username"; }
                label { "Password " input type="password" name="password" autocomplete="current-password"; }
                label { "or board token " input type="password" name="token" autocomplete="off"; }
                button type="submit" { "Log in" }
            }
        }
    };
    Ok(Html(
        layout::layout("Log in — Gemba", &nav, None, body).into_string(),
    ))
}

pub async fn login_form(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    Ok(login_page(&state, &q.next, None)?.into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Result<Response, AppError> {
    let auth = state.auth();
    let Some(settings) = &state.config().auth else {
        return Ok(Redirect::to(local(&f.next)).into_response());
    };
    if !same(&auth.csrf(""), &f.csrf) {
        return Err(stale_form());
    }
    let client = client_address(peer.ip(), &headers, &settings.trusted_proxies).to_string();
    let now = chrono::Utc::now();
    let window_start = now - chrono::Duration::minutes(FAILURE_MINUTES);
    if state.with_store(|s| s.login_failures(&client, window_start))? >= MAX_FAILURES {
        let mut r = login_page(
            &state,
            &f.next,
            Some("Too many failed logins from this address: wait 15 minutes."),
        )?
        .into_response();
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("900"));
        return Ok(r);
    }
    let cfg = state.config().clone();
    let (name, password, token) = (
        f.name.trim().to_string(),
        f.password.clone(),
        f.token.clone(),
    );
    let board_token = auth.board_token.clone();
    // Argon2 is deliberately slow: off the async threads.
    let who = tokio::task::spawn_blocking(move || {
        if !token.is_empty() {
            board_token
                .filter(|t| same(t, token.trim()))
                .map(|_| WHO_BOARD_TOKEN.to_string())
        } else {
            verify(&cfg, &name, &password).then_some(name)
        }
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?;
    let Some(who) = who else {
        let n = state.with_store(|s| s.record_login_failure(&client, now, window_start))?;
        tracing::warn!(
            "failed login from {client} ({n} of {MAX_FAILURES} in {FAILURE_MINUTES} minutes)"
        );
        let mut r =
            login_page(&state, &f.next, Some("Wrong name, password or token."))?.into_response();
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(r);
    };
    state.with_store(|s| s.clear_login_failures(&client))?;
    let expires = chrono::Utc::now().timestamp() + SESSION_HOURS * 3600;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        auth.session_value(&who, expires),
        SESSION_HOURS * 3600
    );
    let mut r = Redirect::to(local(&f.next)).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| AppError::internal(e.to_string()))?,
    );
    Ok(r)
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<CsrfForm>,
) -> Result<Response, AppError> {
    Viewer::of(&state, &headers).check(&f.csrf)?;
    let mut r = Redirect::to("/").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .expect("a valid header"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth {
            key: b"0123456789abcdef0123456789abcdef".to_vec(),
            board_token: None,
            api_token: None,
        }
    }

    fn cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={value}")).unwrap(),
        );
        h
    }

    #[test]
    fn a_session_is_valid_only_as_signed_and_until_it_expires() {
        let a = auth();
        let later = chrono::Utc::now().timestamp() + 60;
        let v = a.session_value("Ana Müller|x", later);
        assert_eq!(a.session_user(&cookie(&v)).as_deref(), Some("Ana Müller|x"));
        let forged = v.replacen("Ana", "Bob", 1);
        assert_eq!(a.session_user(&cookie(&forged)), None);
        let expired = a.session_value("Ana", chrono::Utc::now().timestamp() - 1);
        assert_eq!(a.session_user(&cookie(&expired)), None);
        assert_ne!(a.csrf("Ana"), a.csrf("Bob"), "CSRF tokens are per user");
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter()
            .map(|p| TrustedProxy::try_from(p.to_string()).unwrap())
            .collect()
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_address() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let proxy = ip("10.0.0.5");
        let trusted = proxies(&["10.0.0.5", "10.9.0.0/16"]);
        // No trusted proxy: the header is anybody's word.
        assert_eq!(
            client_address(proxy, &forwarded(&["203.0.113.7"]), &[]),
            proxy
        );
        assert_eq!(
            client_address(ip("198.51.100.1"), &forwarded(&["203.0.113.7"]), &trusted),
            ip("198.51.100.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_address(proxy, &forwarded(&["203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // A client's own X-Forwarded-For is left of the address the proxy appended.
        assert_eq!(
            client_address(proxy, &forwarded(&["1.1.1.1, 203.0.113.7"]), &trusted),
            ip("203.0.113.7")
        );
        // Two proxies: the inner one is trusted too, across two header lines.
        assert_eq!(
            client_address(proxy, &forwarded(&["203.0.113.7", "10.9.3.4"]), &trusted),
            ip("203.0.113.7")
        );
        // Ports and IPv6 forms, and an IPv4-mapped peer.
        assert_eq!(
            client_address(proxy, &forwarded(&["[2001:db8::1]:4711"]), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(
                ip("::ffff:10.0.0.5"),
                &forwarded(&["203.0.113.9:80"]),
                &trusted
            ),
            ip("203.0.113.9")
        );
        // Garbage or nothing past the proxies: the last address read.
        assert_eq!(
            client_address(proxy, &forwarded(&["junk, 10.9.0.1"]), &trusted),
            ip("10.9.0.1")
        );
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn hashes_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        let cfg = Config::parse(
            &format!("[plant]\nname = \"P\"\n[auth]\nusers = [{{ name = \"ana\", password_hash = \"{h}\" }}]\n"),
            "t",
        )
        .unwrap();
        assert!(verify(&cfg, "ana", "s3cret"));
        assert!(!verify(&cfg, "ana", "wrong"));
        assert!(!verify(&cfg, "bob", "s3cret"));
    }
}
