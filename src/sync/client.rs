//! The only code that speaks HTTP to a CMMS: one request at a time, with a timeout, a
//! client-side rate, retries with exponential backoff and jitter (backon's schedule), and the
//! API's own rate-limit advice (`Retry-After`, `X-Rate-Limit-Reset`, `X-RateLimit-*`, or a wait
//! named in the reply's body). What it returns or reports carries no secret.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::manifest::{BodyErrors, Method, RateLimit, Retry};
use super::template::{at, value_text};
use super::{Secrets, SyncError};

/// A request ready to send (built again for every attempt, so signatures and timestamps are fresh).
pub struct Prepared {
    pub method: Method,
    pub url: reqwest::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<(Vec<u8>, String)>,
}

/// What a request came to.
pub enum Reply {
    Ok {
        body: Value,
        headers: HeaderMap,
        /// The server's clock (`Date` header), when it sent one.
        date: Option<DateTime<Utc>>,
    },
    /// 404: the end of some listings (UpKeep).
    NotFound,
    /// The session token is no longer accepted.
    Expired,
}

/// Counters for the progress line and the summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub requests: u64,
    pub retries: u64,
    pub rate_waits: u64,
    pub waited: Duration,
}

pub struct Client {
    http: reqwest::Client,
    limiter: Option<governor::DefaultDirectRateLimiter>,
    retry: Retry,
    body_errors: BodyErrors,
    expired: Vec<u16>,
    pub stats: Stats,
}

/// How one attempt ended, before deciding whether to try again.
enum Attempt {
    Done(Reply),
    /// Worth another try after a backoff delay.
    Transient(String),
    /// The API asked to wait (this long, when it said).
    Throttled(Option<Duration>, String),
    Fatal(String),
}

impl Client {
    pub fn new(
        timeout: Duration,
        rate: Option<RateLimit>,
        retry: Retry,
        body_errors: BodyErrors,
        expired: Vec<u16>,
    ) -> Result<Client, SyncError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("gemba/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Http(e.without_url().to_string()))?;
        let limiter = rate.and_then(|r| {
            let period = Duration::from_secs_f64(r.per_seconds as f64 / r.requests as f64);
            let quota = governor::Quota::with_period(period)?
                .allow_burst(NonZeroU32::new(r.requests).unwrap_or(NonZeroU32::MIN));
            Some(governor::RateLimiter::direct(quota))
        });
        Ok(Client {
            http,
            limiter,
            retry,
            body_errors,
            expired,
            stats: Stats::default(),
        })
    }

    /// Sends the request `prepare` builds, retrying as the manifest says. `what` names the
    /// request in errors (method and path, never the query).
    pub async fn send(
        &mut self,
        what: &str,
        secrets: &Secrets,
        prepare: &dyn Fn() -> Result<Prepared, SyncError>,
    ) -> Result<Reply, SyncError> {
        let started = Instant::now();
        let budget = Duration::from_secs(self.retry.total_seconds);
        let mut backoff = backon::ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(Duration::from_millis(self.retry.initial_ms))
            .with_max_delay(Duration::from_millis(self.retry.max_ms))
            .with_max_times(self.retry.attempts.saturating_sub(1) as usize)
            .build();
        let mut tries = 0u32;
        loop {
            tries += 1;
            if let Some(l) = &self.limiter {
                let t = Instant::now();
                l.until_ready().await;
                self.stats.waited += t.elapsed();
            }
            let req = prepare()?;
            self.stats.requests += 1;
            let attempt = self.attempt(req).await;
            let (delay, why) = match attempt {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Fatal(m) => {
                    return Err(SyncError::Http(secrets.redact(&format!("{what}: {m}"))));
                }
                Attempt::Transient(m) => match backoff.next() {
                    Some(d) => (d, m),
                    None => {
                        return Err(SyncError::Http(secrets.redact(&format!(
                            "{what}: gave up after {tries} attempts in {:.0} s; last: {m}",
                            started.elapsed().as_secs_f64()
                        ))));
                    }
                },
                Attempt::Throttled(wait, m) => {
                    self.stats.rate_waits += 1;
                    let d = wait
                        .or_else(|| backoff.next())
                        .unwrap_or(Duration::from_millis(self.retry.max_ms));
                    (d, m)
                }
            };
            if started.elapsed() + delay > budget {
                return Err(SyncError::Http(secrets.redact(&format!(
                    "{what}: {why}; waiting {:.1} s more would pass the retry budget of {} s (retry.total_seconds)",
                    delay.as_secs_f64(),
                    self.retry.total_seconds
                ))));
            }
            self.stats.retries += 1;
            tracing::info!(
                "{what}: {}; trying again in {:.1} s",
                secrets.redact(&why),
                delay.as_secs_f64()
            );
            self.stats.waited += delay;
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&mut self, req: Prepared) -> Attempt {
        let mut b = match req.method {
            Method::Get => self.http.get(req.url),
            Method::Post => self.http.post(req.url),
        };
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some((bytes, ct)) = req.body {
            b = b.header(reqwest::header::CONTENT_TYPE, ct).body(bytes);
        }
        let resp = match b.send().await {
            Ok(r) => r,
            Err(e) => return transport(e),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
            .map(|d| d.with_timezone(&Utc));
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return transport(e),
        };
        if status.as_u16() == 429 {
            return Attempt::Throttled(header_wait(&headers), "429 Too Many Requests".into());
        }
        if status.is_server_error() || status.as_u16() == 408 {
            return Attempt::Transient(format!("HTTP {status}{}", snippet(&bytes)));
        }
        if status.as_u16() == 404 {
            return Attempt::Done(Reply::NotFound);
        }
        if self.expired.contains(&status.as_u16()) {
            return Attempt::Done(Reply::Expired);
        }
        if matches!(status.as_u16(), 401 | 403) {
            return Attempt::Fatal(format!(
                "HTTP {status}: the API refused the credentials; check the environment variables `gemba connectors` lists{}",
                snippet(&bytes)
            ));
        }
        if !status.is_success() {
            return Attempt::Fatal(format!("HTTP {status}{}", snippet(&bytes)));
        }
        let body: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return Attempt::Fatal(format!("the reply is not JSON ({e}){}", snippet(&bytes)));
            }
        };
        if let Some(err_path) = &self.body_errors.error
            && let Some(err) = at(&body, err_path).filter(|v| !v.is_null())
        {
            let be = &self.body_errors;
            let code = be
                .code
                .as_deref()
                .and_then(|p| at(&body, p))
                .and_then(Value::as_i64);
            let message = be
                .message
                .as_deref()
                .and_then(|p| at(&body, p))
                .and_then(value_text)
                .unwrap_or_else(|| err.to_string());
            if code.is_some_and(|c| be.throttle_codes.contains(&c)) {
                let wait = be
                    .retry_after_ms
                    .as_deref()
                    .and_then(|p| at(&body, p))
                    .and_then(Value::as_f64)
                    .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1000.0));
                return Attempt::Throttled(wait, format!("throttled: {message}"));
            }
            let code = code.map(|c| format!(" {c}")).unwrap_or_default();
            return Attempt::Fatal(format!("the API reports error{code}: {message}"));
        }
        // Out of requests for this window: wait for it to reset before the next one.
        if remaining(&headers) == Some(0)
            && let Some(wait) = header_wait(&headers)
        {
            self.stats.rate_waits += 1;
            let wait = wait.min(Duration::from_secs(self.retry.total_seconds));
            self.stats.waited += wait;
            tokio::time::sleep(wait).await;
        }
        Attempt::Done(Reply::Ok {
            body,
            headers,
            date,
        })
    }
}

fn transport(e: reqwest::Error) -> Attempt {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let e = e.without_url();
    let mut msg = format!("the request {kind}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    if e.is_builder() {
        Attempt::Fatal(msg)
    } else {
        Attempt::Transient(msg)
    }
}

/// The start of an error reply, for the message.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let t = text.trim();
    if t.is_empty() {
        return String::new();
    }
    let cut: String = t.chars().take(300).collect();
    format!(": {cut}")
}

fn header<'h>(h: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names
        .iter()
        .find_map(|n| h.get(*n))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn remaining(h: &HeaderMap) -> Option<u64> {
    header(h, &["x-rate-limit-remaining", "x-ratelimit-remaining"])?
        .parse()
        .ok()
}

/// How long the API asks us to wait: `Retry-After` (seconds or an HTTP date), or the reset of
/// `X-Rate-Limit-Reset` / `X-RateLimit-Reset` (seconds to wait, or a Unix time when it is one).
fn header_wait(h: &HeaderMap) -> Option<Duration> {
    let now = Utc::now();
    if let Some(v) = header(h, &["retry-after"]) {
        if let Ok(s) = v.parse::<f64>() {
            return Some(Duration::from_secs_f64(s.max(0.0)));
        }
        if let Ok(d) = DateTime::parse_from_rfc2822(v) {
            return Some((d.with_timezone(&Utc) - now).to_std().unwrap_or_default());
        }
    }
    let v: f64 = header(h, &["x-rate-limit-reset", "x-ratelimit-reset"])?
        .parse()
        .ok()?;
    if v > 1.0e9 {
        let at = DateTime::from_timestamp(v as i64, 0)?;
        return Some((at - now).to_std().unwrap_or_default());
    }
    Some(Duration::from_secs_f64(v.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_every_kind_of_wait_advice() {
        assert_eq!(
            header_wait(&headers(&[("retry-after", "3".into())])),
            Some(Duration::from_secs(3))
        );
        let soon = (Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = header_wait(&headers(&[("retry-after", soon)])).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(
            header_wait(&headers(&[("x-rate-limit-reset", "2".into())])),
            Some(Duration::from_secs(2))
        );
        let epoch = (Utc::now().timestamp() + 10).to_string();
        let d = header_wait(&headers(&[("x-ratelimit-reset", epoch)])).unwrap();
        assert!(
            d > Duration::from_secs(8) && d <= Duration::from_secs(10),
            "{d:?}"
        );
        assert_eq!(header_wait(&HeaderMap::new()), None);
        assert_eq!(
            remaining(&headers(&[("x-rate-limit-remaining", "0".into())])),
            Some(0)
        );
    }
}
