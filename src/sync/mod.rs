//! The API sync engine: one generic loop for every CMMS, driven by its manifest. It logs in,
//! fetches lookups, pages through the work orders changed since the connector's watermark, maps
//! each record with the CSV profiles' mapping engine and commits page by page, moving the
//! watermark only with committed rows. A failed sync keeps what it committed and records why.
//! Secrets come from the environment and are scrubbed from every message it produces.

pub mod client;
pub mod manifest;
pub mod template;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;

use crate::config::Config;
use crate::model::{Status, WorkOrder};
use crate::store::{Page, Rejection, RunCounts, RunKind, RunMeta, Store, StoreError};
use client::{Client, Prepared, Reply, Stats};
use manifest::{
    Auth, IncrementalMode, Manifest, ManifestError, Match, Method, Paging, QueryValue, RateLimit,
    Request, Retry, SinceFormat,
};
use template::{Values, at, lookup_path, value_text};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Reply(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A sync that started and stopped: what it kept, and why it stopped.
    #[error(
        "{connector}: sync failed after {pages} page(s), {upserted} order(s) committed and kept: {message}"
    )]
    Run {
        connector: String,
        pages: u64,
        upserted: u64,
        message: String,
    },
}

/// Values never to show: every credential read from the environment and what is made of them.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

impl Secrets {
    fn add(&mut self, s: &str) {
        if s.len() >= 3 && !self.0.iter().any(|x| x == s) {
            self.0.push(s.to_string());
            // Longest first, so a secret inside another is not half-replaced.
            self.0.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }

    /// `text` with every secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

/// A configured connector: a `[connectors.NAME]` table with its manifest, ready to run.
#[derive(Debug, Clone)]
pub struct Connector {
    pub name: String,
    pub source: String,
    pub url: reqwest::Url,
    pub manifest: Manifest,
    pub vars: BTreeMap<String, String>,
    pub page_size: u32,
    pub timeout: Duration,
    pub rate: Option<RateLimit>,
    pub retry: Retry,
}

impl Connector {
    /// The connector `name` of the config, with its manifest loaded and its vars checked.
    pub fn from_config(cfg: &Config, name: &str) -> Result<Connector, SyncError> {
        let Some(s) = cfg.connectors.get(name) else {
            let known: Vec<&str> = cfg.connectors.keys().map(String::as_str).collect();
            return Err(SyncError::Config(format!(
                "no connector `{name}` in {}; configured: {}. Add a [connectors.{name}] table with its url (docs/connectors.md)",
                cfg.origin,
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        };
        let manifest_name = s.manifest.as_deref().unwrap_or(name);
        let manifest = Manifest::find(manifest_name, cfg.dir.as_deref(), cfg.plant.tz)?;
        let key = format!("{}: connectors.{name}", cfg.origin);
        let mut vars = BTreeMap::new();
        for (v, decl) in &manifest.vars {
            match s.vars.get(v).or(decl.default.as_ref()) {
                Some(val) => {
                    vars.insert(v.clone(), val.clone());
                }
                None => {
                    return Err(SyncError::Config(format!(
                        "{key}.vars.{v}: required by the `{}` manifest: {}",
                        manifest.name, decl.description
                    )));
                }
            }
        }
        if let Some(unknown) = s.vars.keys().find(|k| !manifest.vars.contains_key(*k)) {
            return Err(SyncError::Config(format!(
                "{key}.vars.{unknown}: the `{}` manifest has no such var; it has: {}",
                manifest.name,
                manifest.vars.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let url = reqwest::Url::parse(&s.url)
            .map_err(|e| SyncError::Config(format!("{key}.url: `{}`: {e}", s.url)))?;
        let mut retry = manifest.retry;
        if let Some(a) = s.max_attempts {
            retry.attempts = a;
        }
        let rate = match s.requests_per_minute {
            Some(n) => Some(RateLimit {
                requests: n,
                per_seconds: 60,
            }),
            None => manifest.rate_limit,
        };
        Ok(Connector {
            name: name.to_string(),
            source: s.source.clone().unwrap_or_else(|| name.to_string()),
            url,
            page_size: s.page_size.unwrap_or(manifest.page_size),
            timeout: Duration::from_secs_f64(s.timeout_seconds.unwrap_or(manifest.timeout_seconds)),
            rate,
            retry,
            vars,
            manifest,
        })
    }

    /// Every configured connector, in name order.
    pub fn all(cfg: &Config) -> Result<Vec<Connector>, SyncError> {
        cfg.connectors
            .keys()
            .map(|n| Connector::from_config(cfg, n))
            .collect()
    }

    /// The credentials from the environment; an unset one is an error that names it.
    fn read_env(&self) -> Result<BTreeMap<String, String>, SyncError> {
        let mut env = BTreeMap::new();
        let mut missing = Vec::new();
        for v in self.manifest.env_vars() {
            match std::env::var(&v) {
                Ok(val) if !val.is_empty() => {
                    env.insert(v, val);
                }
                _ => missing.push(v),
            }
        }
        if !missing.is_empty() {
            return Err(SyncError::Config(format!(
                "{}: set {} in the environment (the `{}` manifest reads its credentials there; `gemba connectors` lists them)",
                self.name,
                missing.join(", "),
                self.manifest.name
            )));
        }
        Ok(env)
    }
}

/// How to run a sync.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncOptions {
    /// Ignore the watermark: fetch every record.
    pub full: bool,
    /// Fetch and map, write nothing.
    pub dry_run: bool,
}

/// Where a sync is, after each page.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub pages: u64,
    pub counts: RunCounts,
    pub skipped: u64,
    pub stats: Stats,
}

/// What a sync did.
#[derive(Debug, Clone)]
pub struct SyncReport {
    pub connector: String,
    pub source: String,
    /// The stored run (none for a dry run).
    pub run_id: Option<i64>,
    pub progress: Progress,
    /// The changes asked for started here (`None`: everything).
    pub since: Option<DateTime<Utc>>,
    /// The watermark after the sync.
    pub watermark: Option<DateTime<Utc>>,
    pub seconds: f64,
    pub first_rejections: Vec<Rejection>,
    /// A dry run's orders, mapped (empty otherwise).
    pub dry_orders: Vec<WorkOrder>,
}

/// Runs one sync of `c` into `store`. `on_page` is told after every page.
pub async fn sync(
    store: &mut Store,
    c: &Connector,
    opts: SyncOptions,
    on_page: &mut (dyn FnMut(&Progress) + Send),
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let env = c.read_env()?;
    let mut secrets = Secrets::default();
    env.values().for_each(|v| secrets.add(v));
    if let Auth::Basic {
        user_env,
        password_env,
        ..
    } = &c.manifest.auth
    {
        secrets.add(&basic_value(&env[user_env], &env[password_env]));
    }
    let before = store.watermark(&c.name)?;
    let since = if opts.full {
        None
    } else {
        let back = c
            .manifest
            .incremental
            .as_ref()
            .map_or(0, |i| i.lookback_seconds);
        before.map(|w| w - chrono::Duration::seconds(back.into()))
    };
    let mut job = Job {
        ctx: Ctx {
            c,
            env,
            secrets,
            token: None,
            since_value: since.map(|t| since_value(&c.manifest, t)),
        },
        client: Client::new(
            c.timeout,
            c.rate,
            c.retry,
            c.manifest.body_errors.clone(),
            match &c.manifest.auth {
                Auth::Session { expired, .. } => expired.clone(),
                _ => Vec::new(),
            },
        )?,
        lookups: HashMap::new(),
        progress: Progress::default(),
        rejections: Vec::new(),
        dry_orders: Vec::new(),
    };
    let run_id = if opts.dry_run {
        None
    } else {
        Some(store.start_run(&RunMeta {
            kind: RunKind::Sync,
            source: c.source.clone(),
            file: Some(format!(
                "{} {}",
                c.manifest.name,
                c.url.host_str().unwrap_or("")
            )),
            profile: Some(c.manifest.name.clone()),
            started_at: Utc::now(),
        })?)
    };
    let outcome = job.run(store, run_id, before, since, opts, on_page).await;
    let progress = job.progress;
    match outcome {
        Ok(watermark) => {
            if let Some(id) = run_id {
                store.finish_run(id, progress.counts, None)?;
            }
            Ok(SyncReport {
                connector: c.name.clone(),
                source: c.source.clone(),
                run_id,
                progress,
                since,
                watermark,
                seconds: started.elapsed().as_secs_f64(),
                first_rejections: job.rejections,
                dry_orders: job.dry_orders,
            })
        }
        Err(e) => {
            let message = job.ctx.secrets.redact(&e.to_string());
            if let Some(id) = run_id {
                store.finish_run(id, progress.counts, Some(&message))?;
            }
            tracing::warn!("{}: sync failed: {message}", c.name);
            Err(SyncError::Run {
                connector: c.name.clone(),
                pages: progress.pages,
                upserted: progress.counts.upserted,
                message,
            })
        }
    }
}

/// The rejections a report keeps to show (all go to the store).
const FIRST_REJECTIONS: usize = 20;

/// One sync in progress.
struct Job<'c> {
    ctx: Ctx<'c>,
    client: Client,
    lookups: HashMap<String, HashMap<String, String>>,
    progress: Progress,
    rejections: Vec<Rejection>,
    dry_orders: Vec<WorkOrder>,
}

/// What building a request needs: apart from the client, so one can send what the other builds.
struct Ctx<'c> {
    c: &'c Connector,
    env: BTreeMap<String, String>,
    secrets: Secrets,
    /// The session token (or JSON-RPC uid) after login.
    token: Option<Value>,
    since_value: Option<Value>,
}

/// Which page to ask for next.
#[derive(Debug, Clone, PartialEq)]
enum Cursor {
    Template {
        offset: u64,
        page: i64,
        cursor: Option<String>,
    },
    Url(reqwest::Url),
}

impl Job<'_> {
    async fn run(
        &mut self,
        store: &mut Store,
        run_id: Option<i64>,
        before: Option<DateTime<Utc>>,
        since: Option<DateTime<Utc>>,
        opts: SyncOptions,
        on_page: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Option<DateTime<Utc>>, SyncError> {
        let c = self.ctx.c;
        let m = &c.manifest;
        if matches!(m.auth, Auth::Session { .. }) {
            self.login().await?;
        }
        for (name, lookup) in &m.lookups {
            let table = self.fetch_lookup(name, lookup).await?;
            self.lookups.insert(name.clone(), table);
        }
        let mapper = PageMapper::new(m, &c.source)?;
        let stop_at =
            since.filter(|_| m.incremental.as_ref().map(|i| i.mode) == Some(IncrementalMode::Stop));
        let ascending = m.incremental.as_ref().is_some_and(|i| i.ascending);
        let start_page = match m.paging {
            Paging::Page { start, .. } => start,
            _ => 0,
        };
        let mut cursor = Cursor::Template {
            offset: 0,
            page: start_page,
            cursor: None,
        };
        let mut max_seen: Option<DateTime<Utc>> = None;
        let mut server_start: Option<DateTime<Utc>> = None;
        let mut ordinal = 0u64;
        loop {
            let (reply, what) = self.fetch_page(&m.request, &cursor).await?;
            let Reply::Ok {
                body,
                headers,
                date,
            } = reply
            else {
                // 404 where the manifest says the listing ends that way.
                break;
            };
            server_start = server_start.or(date);
            let records = records(&body, &m.request.records, &what)?;
            let page = mapper.map(records, &self.lookups, &mut ordinal, stop_at);
            self.progress.skipped += page.skipped;
            max_seen = max_seen.max(page.orders.iter().filter_map(|o| o.updated_at).max());
            let reached_watermark = page.stale > 0;
            let (orders, rejected) = (page.orders, page.rejected);
            let n_records = records.len();
            let p = &mut self.progress;
            p.pages += 1;
            p.counts.read += (orders.len() + rejected.len()) as u64;
            p.counts.upserted += orders.len() as u64;
            p.counts.rejected += rejected.len() as u64;
            p.stats = self.client.stats;
            let room = FIRST_REJECTIONS.saturating_sub(self.rejections.len());
            self.rejections.extend(rejected.iter().take(room).cloned());
            match run_id {
                Some(run_id) => store.commit_page(&Page {
                    run_id,
                    orders: &orders,
                    rejections: &rejected,
                    counts: p.counts,
                    watermark: if ascending {
                        max_seen.map(|w| (c.name.as_str(), keep_ahead(w, before, opts.full)))
                    } else {
                        None
                    },
                })?,
                None => self.dry_orders.extend(orders),
            }
            on_page(&self.progress);
            if n_records == 0 || reached_watermark {
                break;
            }
            let next = self.next_cursor(&cursor, &body, &headers, n_records, &what)?;
            match next {
                None => break,
                Some(n) if n == cursor => {
                    return Err(SyncError::Reply(format!(
                        "{what}: the API named the same page as the next one; stopping rather than looping"
                    )));
                }
                Some(n) => cursor = n,
            }
        }
        // The whole listing is in: the watermark moves to the newest change seen, but never past
        // the server's clock when the sync began (a record changed while we paged is fetched again).
        let watermark = match (max_seen, server_start) {
            (Some(seen), Some(server)) if !ascending => Some(seen.min(server)),
            (seen, _) => seen,
        }
        .map(|w| keep_ahead(w, before, opts.full));
        if let (Some(run_id), Some(w)) = (run_id, watermark) {
            store.commit_page(&Page {
                run_id,
                orders: &[],
                rejections: &[],
                counts: self.progress.counts,
                watermark: Some((c.name.as_str(), w)),
            })?;
        }
        Ok(watermark.or(before))
    }

    /// Fetches one page, logging in again once if the session ran out.
    async fn fetch_page(
        &mut self,
        req: &Request,
        cursor: &Cursor,
    ) -> Result<(Reply, String), SyncError> {
        let what = match cursor {
            Cursor::Url(u) => format!("GET {}", u.path()),
            Cursor::Template { .. } => format!(
                "{} {}",
                if req.method == Method::Post {
                    "POST"
                } else {
                    "GET"
                },
                req.path
            ),
        };
        let what = format!("{}: {what}", self.ctx.c.name);
        let mut renewed = false;
        loop {
            let reply = {
                let ctx = &self.ctx;
                let r = self
                    .client
                    .send(&what, &ctx.secrets, &|| ctx.prepare(req, cursor, true))
                    .await;
                r?
            };
            match reply {
                Reply::Expired
                    if !renewed && matches!(self.ctx.c.manifest.auth, Auth::Session { .. }) =>
                {
                    tracing::info!("{what}: the session expired; logging in again");
                    renewed = true;
                    self.login().await?;
                }
                Reply::Expired => {
                    return Err(SyncError::Http(format!(
                        "{what}: the API refused the credentials{}",
                        if renewed {
                            " again right after a new login"
                        } else {
                            ""
                        }
                    )));
                }
                Reply::NotFound if !self.ctx.c.manifest.paging.end_on_404() => {
                    return Err(SyncError::Http(format!(
                        "{what}: HTTP 404 Not Found: is the connector's url right?"
                    )));
                }
                r => return Ok((r, what)),
            }
        }
    }

    /// Logs in and keeps the token the reply carries.
    async fn login(&mut self) -> Result<(), SyncError> {
        let Auth::Session { login, token, .. } = &self.ctx.c.manifest.auth else {
            return Ok(());
        };
        let what = format!("{}: login {}", self.ctx.c.name, login.path);
        let start = Cursor::Template {
            offset: 0,
            page: 0,
            cursor: None,
        };
        let ctx = &self.ctx;
        let r = self
            .client
            .send(&what, &ctx.secrets, &|| ctx.prepare(login, &start, false))
            .await;
        let Reply::Ok { body, .. } = r? else {
            return Err(SyncError::Http(format!(
                "{what}: the login was refused; check the credentials"
            )));
        };
        match at(&body, token).filter(|t| !t.is_null() && *t != &Value::Bool(false)) {
            Some(t) => {
                if let Some(text) = value_text(t) {
                    self.ctx.secrets.add(&text);
                }
                self.ctx.token = Some(t.clone());
                Ok(())
            }
            None => Err(SyncError::Reply(format!(
                "{what}: the reply has no token at `{token}`; check the credentials"
            ))),
        }
    }

    async fn fetch_lookup(
        &mut self,
        name: &str,
        lookup: &manifest::Lookup,
    ) -> Result<HashMap<String, String>, SyncError> {
        let start = Cursor::Template {
            offset: 0,
            page: 0,
            cursor: None,
        };
        let what = format!("{}: lookup {name}", self.ctx.c.name);
        let ctx = &self.ctx;
        let r = self
            .client
            .send(&what, &ctx.secrets, &|| {
                ctx.prepare(&lookup.request, &start, false)
            })
            .await;
        let Reply::Ok { body, .. } = r? else {
            return Err(SyncError::Http(format!("{what}: not found or refused")));
        };
        let mut table = HashMap::new();
        for rec in records(&body, &lookup.request.records, &what)? {
            if let (Some(k), Some(v)) = (
                at(rec, &lookup.key).and_then(value_text),
                at(rec, &lookup.value).and_then(value_text),
            ) {
                table.insert(k, v);
            }
        }
        Ok(table)
    }

    /// The page after `cur`, or `None` at the end of the listing.
    fn next_cursor(
        &self,
        cur: &Cursor,
        body: &Value,
        headers: &reqwest::header::HeaderMap,
        n: usize,
        what: &str,
    ) -> Result<Option<Cursor>, SyncError> {
        let short = n < self.ctx.c.page_size as usize;
        let (offset, page) = match cur {
            Cursor::Template { offset, page, .. } => (*offset, *page),
            Cursor::Url(_) => (0, 0),
        };
        Ok(match &self.ctx.c.manifest.paging {
            Paging::Cursor { cursor, .. } => {
                at(body, cursor)
                    .and_then(value_text)
                    .map(|c| Cursor::Template {
                        offset: 0,
                        page: 0,
                        cursor: Some(c),
                    })
            }
            Paging::NextUrl {
                body: bpath,
                header,
                ..
            } => {
                let next = bpath
                    .as_deref()
                    .and_then(|p| at(body, p))
                    .and_then(value_text)
                    .or_else(|| {
                        header
                            .as_deref()
                            .and_then(|h| headers.get(h))
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    })
                    .filter(|s| !s.trim().is_empty());
                match next {
                    None => None,
                    Some(u) => Some(Cursor::Url(self.ctx.c.url.join(u.trim()).map_err(|e| {
                        SyncError::Reply(format!(
                            "{what}: the next page's URL `{u}` is not valid: {e}"
                        ))
                    })?)),
                }
            }
            Paging::Offset { .. } => (!short).then(|| Cursor::Template {
                offset: offset + n as u64,
                page: 0,
                cursor: None,
            }),
            Paging::Page {
                start,
                last,
                total_pages,
                ..
            } => {
                let is_last = last
                    .as_deref()
                    .and_then(|p| at(body, p))
                    .and_then(Value::as_bool)
                    == Some(true);
                let total = total_pages
                    .as_deref()
                    .and_then(|p| at(body, p))
                    .and_then(Value::as_i64);
                let past_total = total.is_some_and(|t| page + 1 - start >= t);
                (!(is_last || past_total || short)).then(|| Cursor::Template {
                    offset: 0,
                    page: page + 1,
                    cursor: None,
                })
            }
        })
    }
}

impl Ctx<'_> {
    fn values<'v>(&'v self, cursor: &'v Cursor) -> Values<'v> {
        let (offset, page, cur) = match cursor {
            Cursor::Template {
                offset,
                page,
                cursor,
            } => (*offset, *page, cursor.as_deref()),
            Cursor::Url(_) => (0, 0, None),
        };
        Values {
            page_size: self.c.page_size,
            offset,
            page,
            cursor: cur,
            since: self.since_value.as_ref(),
            token: self.token.as_ref(),
            vars: &self.c.vars,
            env: &self.env,
        }
    }

    /// Builds the request for `cursor` (the listing's own, or a next-page URL), auth included.
    fn prepare(
        &self,
        req: &Request,
        cursor: &Cursor,
        listing: bool,
    ) -> Result<Prepared, SyncError> {
        let v = self.values(cursor);
        let m = &self.c.manifest;
        let (method, mut url) = match cursor {
            Cursor::Url(u) => (Method::Get, u.clone()),
            Cursor::Template { .. } => {
                let path = v.render(&req.path).unwrap_or_default();
                let base = self.c.url.as_str().trim_end_matches('/');
                let sep = if path.starts_with('/') { "" } else { "/" };
                let url = reqwest::Url::parse(&format!("{base}{sep}{path}")).map_err(|e| {
                    SyncError::Config(format!("{}: request path `{path}`: {e}", m.origin))
                })?;
                (req.method, url)
            }
        };
        let inc = m
            .incremental
            .as_ref()
            .filter(|_| listing && self.since_value.is_some());
        if let Cursor::Template { .. } = cursor {
            let mut q = url.query_pairs_mut();
            for (k, val) in &req.query {
                let vals: Vec<&String> = match val {
                    QueryValue::One(s) => vec![s],
                    QueryValue::Many(list) => list.iter().collect(),
                };
                for s in vals {
                    if let Some(r) = v.render(s) {
                        q.append_pair(k, &r);
                    }
                }
            }
            for (k, s) in inc.map(|i| &i.query).into_iter().flatten() {
                if let Some(r) = v.render(s) {
                    q.append_pair(k, &r);
                }
            }
        }
        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .filter_map(|(k, s)| Some((k.clone(), v.render(s)?)))
            .collect();
        match &m.auth {
            Auth::None => {}
            Auth::Bearer { token_env } => {
                headers.push((
                    "Authorization".into(),
                    format!("Bearer {}", self.env[token_env]),
                ));
            }
            Auth::Basic {
                user_env,
                password_env,
                header,
                scheme,
            } => {
                let b = basic_value(&self.env[user_env], &self.env[password_env]);
                let val = if scheme.is_empty() {
                    b
                } else {
                    format!("{scheme} {b}")
                };
                headers.push((header.clone(), val));
            }
            Auth::Header { name, value_env } => {
                headers.push((name.clone(), self.env[value_env].clone()));
            }
            Auth::Session { header, .. } => {
                if let (Some(h), Some(t)) = (header, self.token.as_ref().and_then(value_text)) {
                    headers.push((h.clone(), t));
                }
            }
            Auth::HmacUrl {
                query,
                secret_env,
                header,
            } => {
                {
                    let mut q = url.query_pairs_mut();
                    for (k, s) in query {
                        if let Some(r) = v.render(s) {
                            q.append_pair(k, &r);
                        }
                    }
                }
                let unsigned = url
                    .as_str()
                    .split_once("://")
                    .map_or(url.as_str(), |(_, r)| r);
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.env[secret_env].as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(unsigned.as_bytes());
                headers.push((header.clone(), hex::encode(mac.finalize().into_bytes())));
            }
        }
        let body = match (&req.body, cursor) {
            (Some(tpl), Cursor::Template { .. }) => {
                let mut body = v.render_json(tpl);
                if let Some(a) = inc.and_then(|i| i.append.as_ref())
                    && !template::append(&mut body, &a.to, v.render_json(&a.value))
                {
                    return Err(SyncError::Config(format!(
                        "{}: incremental.append.to: `{}` is not a list in the request body",
                        m.origin, a.to
                    )));
                }
                let ct = req
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into());
                Some((
                    serde_json::to_vec(&body).expect("JSON values serialize"),
                    ct,
                ))
            }
            _ => None,
        };
        Ok(Prepared {
            method,
            url,
            headers,
            body,
        })
    }
}

/// What one page's records became.
#[derive(Debug, Default)]
pub struct MappedPage {
    pub orders: Vec<WorkOrder>,
    /// Records the mapping refused, each with its ordinal in the sync as its line.
    pub rejected: Vec<Rejection>,
    /// Records the manifest's `skip` leaves out.
    pub skipped: u64,
    /// Records changed before the watermark where the listing stops there: the sync ends with
    /// this page.
    pub stale: u64,
}

/// A manifest's mapping bound to the names it reads from a record: every page of a sync goes
/// through one, record by record, with no IO.
pub struct PageMapper<'m> {
    manifest: &'m Manifest,
    source: &'m str,
    names: Vec<String>,
    bound: crate::mapping::Bound<'m>,
}

impl<'m> PageMapper<'m> {
    pub fn new(manifest: &'m Manifest, source: &'m str) -> Result<PageMapper<'m>, SyncError> {
        let names: Vec<String> = manifest
            .mapping
            .source_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (bound, _) = manifest
            .mapping
            .bind(&names)
            .map_err(|e| SyncError::Config(format!("{}: {e}", manifest.origin)))?;
        Ok(PageMapper {
            manifest,
            source,
            names,
            bound,
        })
    }

    /// Maps `records`; `ordinal` counts records across the sync's pages. With `stop_at` (an
    /// incremental sync that stops at the watermark), an order changed before it is stale.
    pub fn map(
        &self,
        records: &[Value],
        lookups: &HashMap<String, HashMap<String, String>>,
        ordinal: &mut u64,
        stop_at: Option<DateTime<Utc>>,
    ) -> MappedPage {
        let m = self.manifest;
        let mut page = MappedPage {
            orders: Vec::with_capacity(records.len()),
            ..MappedPage::default()
        };
        for rec in records {
            *ordinal += 1;
            if m.skip.iter().any(|s| matches(rec, s)) {
                page.skipped += 1;
                continue;
            }
            let texts: Vec<Option<String>> = self
                .names
                .iter()
                .map(|n| self.text(rec, n, lookups))
                .collect();
            match self
                .bound
                .map_record(self.source, |slot| texts[slot].as_deref())
            {
                Ok(mut o) => {
                    if m.cancelled_when.iter().any(|s| matches(rec, s)) {
                        o.status = Status::Cancelled;
                    }
                    if let (Some(w), Some(u)) = (stop_at, o.updated_at)
                        && u < w
                    {
                        page.stale += 1;
                        continue;
                    }
                    page.orders.push(o);
                }
                Err(fe) => page.rejected.push(Rejection {
                    line: *ordinal,
                    field: fe.field.name().to_string(),
                    value: fe.value,
                    reason: format!("record {ordinal}: {}", fe.reason),
                }),
            }
        }
        page
    }

    /// The text the mapping reads for source name `name` of a record.
    fn text(
        &self,
        rec: &Value,
        name: &str,
        lookups: &HashMap<String, HashMap<String, String>>,
    ) -> Option<String> {
        if let Some((lookup, path)) = lookup_path(name) {
            let id = at(rec, path).and_then(value_text)?;
            return Some(
                lookups
                    .get(lookup)
                    .and_then(|t| t.get(&id))
                    .cloned()
                    .unwrap_or(id),
            );
        }
        at(rec, name)
            .filter(|v| !(self.manifest.false_is_missing && *v == &Value::Bool(false)))
            .and_then(value_text)
    }
}

/// The records of a reply: the list at `path`.
pub fn records<'b>(body: &'b Value, path: &str, what: &str) -> Result<&'b [Value], SyncError> {
    match at(body, path) {
        Some(Value::Array(a)) => Ok(a),
        Some(Value::Null) | None if !path.is_empty() && body.is_object() => Err(SyncError::Reply(
            format!("{what}: the reply has no list of records at `{path}`"),
        )),
        _ => Err(SyncError::Reply(format!(
            "{what}: the records at `{}` are not a list",
            if path.is_empty() { "(the reply)" } else { path }
        ))),
    }
}

fn matches(rec: &Value, m: &Match) -> bool {
    at(rec, &m.path)
        .and_then(value_text)
        .is_some_and(|t| m.is.iter().any(|x| x.eq_ignore_ascii_case(t.trim())))
}

fn basic_value(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A watermark never moves back in an incremental sync.
fn keep_ahead(w: DateTime<Utc>, before: Option<DateTime<Utc>>, full: bool) -> DateTime<Utc> {
    match before {
        Some(b) if !full => w.max(b),
        _ => w,
    }
}

/// `{since}` as the API wants it.
fn since_value(m: &Manifest, t: DateTime<Utc>) -> Value {
    match &m.since_format {
        SinceFormat::UnixSeconds => t.timestamp().into(),
        SinceFormat::UnixMillis => t.timestamp_millis().into(),
        SinceFormat::Rfc3339 => t
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
        SinceFormat::Custom(f) => t
            .with_timezone(&m.mapping.tz())
            .format(f)
            .to_string()
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_secret_longest_first() {
        let mut s = Secrets::default();
        s.add("abc");
        s.add("abcdef");
        s.add("x");
        assert_eq!(s.redact("key=abcdef&k2=abc&x"), "key=***&k2=***&x");
    }

    #[test]
    fn the_watermark_never_goes_back_unless_full() {
        let a = DateTime::from_timestamp(100, 0).unwrap();
        let b = DateTime::from_timestamp(200, 0).unwrap();
        assert_eq!(keep_ahead(a, Some(b), false), b);
        assert_eq!(keep_ahead(a, Some(b), true), a);
        assert_eq!(keep_ahead(b, None, false), b);
    }
}
