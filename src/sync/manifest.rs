//! Connector manifests: how one CMMS's API is called, paged and mapped, as data. Each part is a
//! serde type, validated when the manifest is read, so a bad manifest fails before any request
//! with the file, the key and what is allowed. The mapping keys (`[fields]`, `[dates]`) are the
//! CSV profiles' own and go to [`crate::mapping::Mapping`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::mapping::{Located, Mapping, ProfileError, UnknownName, locate};

/// The manifests shipped inside the binary (`connectors/*.toml`).
pub const BUILTIN: &[(&str, &str)] = &[
    ("maintainx", include_str!("../../connectors/maintainx.toml")),
    ("upkeep", include_str!("../../connectors/upkeep.toml")),
    ("limble", include_str!("../../connectors/limble.toml")),
    ("fiix", include_str!("../../connectors/fiix.toml")),
    ("maximo", include_str!("../../connectors/maximo.toml")),
    ("sap-pm", include_str!("../../connectors/sap-pm.toml")),
    ("atlas", include_str!("../../connectors/atlas.toml")),
    ("odoo", include_str!("../../connectors/odoo.toml")),
];

/// Keys of a manifest that belong to the mapping rather than to the API.
const MAPPING_KEYS: &[&str] = &[
    "name",
    "description",
    "source",
    "order_url",
    "dates",
    "fields",
];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Unknown(#[from] UnknownName),
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {origin}: {key}: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
    #[error("manifest {0}")]
    Mapping(#[from] ProfileError),
}

/// HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
}

/// A query parameter: one value, or a list sent as the same name repeated.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QueryValue {
    One(String),
    Many(Vec<String>),
}

/// One request, as templates: `{page_size}`, `{offset}`, `{page}`, `{cursor}`, `{since}`,
/// `{token}`, `{now_ms}`, `{var:NAME}` and `{env:NAME}` are filled in when it is sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default)]
    pub method: Method,
    /// Path below the connector's URL.
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body (written as TOML); a string that is one placeholder keeps its value's type.
    pub body: Option<toml::Value>,
    /// `Content-Type` of the body (JSON by default).
    pub content_type: Option<String>,
    /// Path to the list of records in the reply; empty when the reply is the list.
    #[serde(default)]
    pub records: String,
}

/// How the API authenticates.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        token_env: String,
    },
    /// `base64(user:password)` in a header: `Authorization: Basic ...` by default; Maximo's
    /// `maxauth` takes it without a scheme.
    Basic {
        user_env: String,
        password_env: String,
        #[serde(default = "authorization")]
        header: String,
        #[serde(default = "basic")]
        scheme: String,
    },
    /// A key in a header of its own (`x-api-key: ...`).
    Header {
        name: String,
        value_env: String,
    },
    /// A login request returns a token (at `token`, a path in its reply) that later requests
    /// carry in `header`, or in their body as `{token}`. A reply with a status in `expired` means
    /// the token ran out: the engine logs in again, once.
    Session {
        login: Request,
        token: String,
        header: Option<String>,
        #[serde(default = "unauthorized")]
        expired: Vec<u16>,
    },
    /// Credentials in the query (`query`, templates), then the URL without its scheme signed
    /// with HMAC-SHA256 under the secret, hex, in `header` (Fiix).
    HmacUrl {
        query: BTreeMap<String, String>,
        secret_env: String,
        #[serde(default = "authorization")]
        header: String,
    },
}

fn authorization() -> String {
    "Authorization".into()
}
fn basic() -> String {
    "Basic".into()
}
fn unauthorized() -> Vec<u16> {
    vec![401]
}

/// How the pages of a listing follow each other.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paging {
    /// The reply names the next page's cursor (at `cursor`); the request sends it as `{cursor}`.
    /// The last page has none.
    Cursor {
        cursor: String,
        #[serde(default)]
        end_on_404: bool,
    },
    /// The reply gives the next page's URL, in its body (at `body`) or in a header.
    NextUrl {
        body: Option<String>,
        header: Option<String>,
        #[serde(default)]
        end_on_404: bool,
    },
    /// `{offset}` counts records from 0; a page shorter than `{page_size}` is the last.
    Offset {
        #[serde(default)]
        end_on_404: bool,
    },
    /// `{page}` counts pages from `start`; the last is a short page, or the one where the
    /// reply's `last` path is true, or `total_pages` is reached (Spring's page).
    Page {
        #[serde(default)]
        start: i64,
        last: Option<String>,
        total_pages: Option<String>,
        #[serde(default)]
        end_on_404: bool,
    },
}

impl Paging {
    pub fn end_on_404(&self) -> bool {
        match self {
            Paging::Cursor { end_on_404, .. }
            | Paging::NextUrl { end_on_404, .. }
            | Paging::Offset { end_on_404 }
            | Paging::Page { end_on_404, .. } => *end_on_404,
        }
    }
}

/// How `{since}` is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinceFormat {
    UnixSeconds,
    UnixMillis,
    /// `2026-03-01T05:30:00.000Z`
    Rfc3339,
    /// A chrono format, in the mapping's time zone.
    Custom(String),
}

/// The incremental filter: only records changed since the watermark.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// `filter`: the request asks for changes since `{since}`. `stop`: the API cannot filter,
    /// so it lists newest changes first and the sync stops at the first record older than the
    /// watermark (MaintainX).
    #[serde(default)]
    pub mode: IncrementalMode,
    /// `unix_s`, `unix_ms`, `rfc3339` or a chrono format such as `%Y-%m-%d %H:%M:%S`.
    #[serde(default = "rfc3339")]
    pub format: String,
    /// Query parameters added when there is a watermark.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A value appended, when there is a watermark, to the list at `to` in the body.
    pub append: Option<Append>,
    /// The API lists records oldest change first over a server-side cursor, so every committed
    /// page moves the watermark (a failed sync resumes where it stopped). Otherwise the
    /// watermark moves when the whole listing is in.
    #[serde(default)]
    pub ascending: bool,
    /// Start this many seconds before the watermark (for APIs whose filter is `>` rather than
    /// `>=`, or whose clock for changes is coarse).
    #[serde(default)]
    pub lookback_seconds: u32,
}

fn rfc3339() -> String {
    "rfc3339".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IncrementalMode {
    #[default]
    Filter,
    Stop,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Append {
    pub to: String,
    pub value: toml::Value,
}

/// A client-side request rate, below the API's own limit.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests: u32,
    pub per_seconds: u32,
}

/// Retries of one request: exponential backoff with jitter on 5xx, timeouts and connection
/// errors, at most `attempts` tries and `total_seconds` of waiting (429 waits included).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[serde(default = "attempts")]
    pub attempts: u32,
    #[serde(default = "initial_ms")]
    pub initial_ms: u64,
    #[serde(default = "max_ms")]
    pub max_ms: u64,
    #[serde(default = "total_seconds")]
    pub total_seconds: u64,
}

fn attempts() -> u32 {
    5
}
fn initial_ms() -> u64 {
    500
}
fn max_ms() -> u64 {
    30_000
}
fn total_seconds() -> u64 {
    300
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: attempts(),
            initial_ms: initial_ms(),
            max_ms: max_ms(),
            total_seconds: total_seconds(),
        }
    }
}

/// Errors an API reports inside a successful (200) reply: JSON-RPC, Fiix.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyErrors {
    /// Path whose presence marks the reply as an error.
    pub error: Option<String>,
    /// Path to its code.
    pub code: Option<String>,
    /// Path to its message.
    pub message: Option<String>,
    /// Codes that mean "too many requests".
    #[serde(default)]
    pub throttle_codes: Vec<i64>,
    /// Path to the API's advice on how long to wait, in milliseconds.
    pub retry_after_ms: Option<String>,
}

/// A table fetched once per sync that turns ids into names: a field's path `NAME[PATH]` reads
/// the id at PATH and maps it through lookup NAME.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub request: Request,
    pub key: String,
    pub value: String,
}

/// A test on a record: the text at `path` is one of `is` (case ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    pub path: String,
    pub is: Vec<String>,
}

/// A non-secret setting a user gives in `[connectors.NAME.vars]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Var {
    #[serde(default)]
    pub description: String,
    /// Without a default the var is required; an empty default means "leave it out".
    pub default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiText {
    auth: Auth,
    request: Request,
    paging: Paging,
    #[serde(default = "page_size")]
    page_size: u32,
    #[serde(default = "timeout")]
    timeout_seconds: f64,
    incremental: Option<Incremental>,
    rate_limit: Option<RateLimit>,
    #[serde(default)]
    retry: Retry,
    #[serde(default)]
    body_errors: BodyErrors,
    #[serde(default)]
    lookups: BTreeMap<String, Lookup>,
    #[serde(default)]
    vars: BTreeMap<String, Var>,
    #[serde(default)]
    skip: Vec<Match>,
    #[serde(default)]
    cancelled_when: Vec<Match>,
    #[serde(default)]
    false_is_missing: bool,
}

fn page_size() -> u32 {
    100
}
fn timeout() -> f64 {
    30.0
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    /// Where it was read from, for messages.
    pub origin: String,
    pub mapping: Mapping,
    pub auth: Auth,
    pub request: Request,
    pub paging: Paging,
    pub page_size: u32,
    pub timeout_seconds: f64,
    pub incremental: Option<Incremental>,
    pub since_format: SinceFormat,
    pub rate_limit: Option<RateLimit>,
    pub retry: Retry,
    pub body_errors: BodyErrors,
    pub lookups: BTreeMap<String, Lookup>,
    pub vars: BTreeMap<String, Var>,
    pub skip: Vec<Match>,
    pub cancelled_when: Vec<Match>,
    /// `false` in a field means "no value" (Odoo writes it for every empty field).
    pub false_is_missing: bool,
}

impl Manifest {
    /// Finds a manifest by name: `<config dir>/connectors/NAME.toml` first (a user's manifest
    /// may override a shipped one), then the shipped ones.
    pub fn find(name: &str, config_dir: Option<&Path>, tz: Tz) -> Result<Manifest, ManifestError> {
        let user_dir = config_dir.map(|d| d.join("connectors"));
        match locate(
            "connector manifest",
            name,
            user_dir.as_deref(),
            BUILTIN,
            "config/connectors",
        )? {
            Located::File(p) => {
                let text = std::fs::read_to_string(&p).map_err(|source| ManifestError::Read {
                    path: p.clone(),
                    source,
                })?;
                Manifest::parse(&text, &p.display().to_string(), tz)
            }
            Located::Shipped(text) => {
                Manifest::parse(text, &format!("connectors/{name}.toml (built in)"), tz)
            }
        }
    }

    /// Parses and validates a manifest; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, tz: Tz) -> Result<Manifest, ManifestError> {
        let invalid = |key: &str, message: String| ManifestError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            message,
        };
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| invalid("(file)", e.to_string().trim_end().to_string()))?;
        let (mapping_part, api_part): (toml::Table, toml::Table) = table
            .into_iter()
            .partition(|(k, _)| MAPPING_KEYS.contains(&k.as_str()));
        let mut api_part = api_part;
        api_part.remove("csv").map_or(Ok(()), |_| {
            Err(invalid(
                "csv",
                "CSV settings belong in a CSV profile, not a connector".into(),
            ))
        })?;
        let mapping = Mapping::from_table(mapping_part, origin, tz)?;
        let api: ApiText = toml::Value::Table(api_part)
            .try_into()
            .map_err(|e: toml::de::Error| invalid("(file)", e.message().trim_end().to_string()))?;
        let since_format = match api.incremental.as_ref().map(|i| i.format.as_str()) {
            None | Some("rfc3339") => SinceFormat::Rfc3339,
            Some("unix_s") => SinceFormat::UnixSeconds,
            Some("unix_ms") => SinceFormat::UnixMillis,
            Some(f) if f.contains('%') => SinceFormat::Custom(f.to_string()),
            Some(f) => {
                return Err(invalid(
                    "incremental.format",
                    format!("`{f}`: use unix_s, unix_ms, rfc3339 or a chrono format with % fields"),
                ));
            }
        };
        if api.page_size == 0 {
            return Err(invalid("page_size", "must be at least 1".into()));
        }
        if api.timeout_seconds.is_nan() || api.timeout_seconds <= 0.0 {
            return Err(invalid("timeout_seconds", "must be above 0".into()));
        }
        if api.retry.attempts == 0 {
            return Err(invalid("retry.attempts", "must be at least 1".into()));
        }
        if let Some(r) = api.rate_limit
            && (r.requests == 0 || r.per_seconds == 0)
        {
            return Err(invalid(
                "rate_limit",
                "requests and per_seconds must be at least 1".into(),
            ));
        }
        if matches!(api.paging, Paging::NextUrl { .. }) && api.request.method == Method::Post {
            return Err(invalid(
                "paging",
                "next_url pages are fetched with GET; a POST listing pages by cursor, offset or page"
                    .into(),
            ));
        }
        if let Paging::NextUrl {
            body: None,
            header: None,
            ..
        } = api.paging
        {
            return Err(invalid(
                "paging",
                "next_url needs `body` (a path) or `header`".into(),
            ));
        }
        let m = Manifest {
            name: mapping.name.clone(),
            description: mapping.description.clone(),
            origin: origin.to_string(),
            mapping,
            auth: api.auth,
            request: api.request,
            paging: api.paging,
            page_size: api.page_size,
            timeout_seconds: api.timeout_seconds,
            incremental: api.incremental,
            since_format,
            rate_limit: api.rate_limit,
            retry: api.retry,
            body_errors: api.body_errors,
            lookups: api.lookups,
            vars: api.vars,
            skip: api.skip,
            cancelled_when: api.cancelled_when,
            false_is_missing: api.false_is_missing,
        };
        m.check_references().map_err(|(k, msg)| invalid(&k, msg))?;
        Ok(m)
    }

    /// Every `{var:..}` is declared, every `NAME[..]` path names a lookup.
    fn check_references(&self) -> Result<(), (String, String)> {
        for (key, text) in self.templates() {
            for p in super::template::placeholders(&text) {
                if let Some(v) = p.strip_prefix("var:")
                    && !self.vars.contains_key(v)
                {
                    return Err((key, format!("`{{var:{v}}}` is not declared in [vars]")));
                }
                if !super::template::is_known(&p) {
                    return Err((key, format!("unknown placeholder `{{{p}}}`")));
                }
            }
        }
        for path in self.mapping.source_names() {
            if let Some((lookup, _)) = super::template::lookup_path(path)
                && !self.lookups.contains_key(lookup)
            {
                return Err((
                    "fields".into(),
                    format!("`{path}` names lookup `{lookup}`, which [lookups] does not define"),
                ));
            }
        }
        Ok(())
    }

    /// Every template text in the manifest with the key it is under.
    fn templates(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut request = |prefix: &str, r: &Request| {
            out.push((format!("{prefix}.path"), r.path.clone()));
            for (k, v) in &r.query {
                let vals = match v {
                    QueryValue::One(s) => vec![s.clone()],
                    QueryValue::Many(m) => m.clone(),
                };
                for s in vals {
                    out.push((format!("{prefix}.query.{k}"), s));
                }
            }
            for (k, v) in &r.headers {
                out.push((format!("{prefix}.headers.{k}"), v.clone()));
            }
            if let Some(b) = &r.body {
                collect_strings(b, &mut |s| {
                    out.push((format!("{prefix}.body"), s.to_string()))
                });
            }
        };
        request("request", &self.request);
        for (n, l) in &self.lookups {
            request(&format!("lookups.{n}.request"), &l.request);
        }
        match &self.auth {
            Auth::Session { login, .. } => request("auth.login", login),
            Auth::HmacUrl { query, .. } => {
                for (k, v) in query {
                    out.push((format!("auth.query.{k}"), v.clone()));
                }
            }
            _ => {}
        }
        if let Some(inc) = &self.incremental {
            for (k, v) in &inc.query {
                out.push((format!("incremental.query.{k}"), v.clone()));
            }
            if let Some(a) = &inc.append {
                collect_strings(&a.value, &mut |s| {
                    out.push(("incremental.append.value".into(), s.to_string()))
                });
            }
        }
        out
    }

    /// The environment variables the connector reads: its credentials.
    pub fn env_vars(&self) -> Vec<String> {
        let mut set = BTreeSet::new();
        match &self.auth {
            Auth::None | Auth::Session { .. } => {}
            Auth::Bearer { token_env } => {
                set.insert(token_env.clone());
            }
            Auth::Basic {
                user_env,
                password_env,
                ..
            } => {
                set.insert(user_env.clone());
                set.insert(password_env.clone());
            }
            Auth::Header { value_env, .. } => {
                set.insert(value_env.clone());
            }
            Auth::HmacUrl { secret_env, .. } => {
                set.insert(secret_env.clone());
            }
        }
        for (_, text) in self.templates() {
            for p in super::template::placeholders(&text) {
                if let Some(v) = p.strip_prefix("env:") {
                    set.insert(v.to_string());
                }
            }
        }
        set.into_iter().collect()
    }
}

fn collect_strings(v: &toml::Value, f: &mut dyn FnMut(&str)) {
    match v {
        toml::Value::String(s) => f(s),
        toml::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, f)),
        toml::Value::Table(t) => t.values().for_each(|x| collect_strings(x, f)),
        _ => {}
    }
}

/// Names of the manifests in `<config dir>/connectors/`.
pub fn user_manifests(config_dir: Option<&Path>) -> Vec<String> {
    config_dir
        .map(|d| crate::mapping::toml_names(&d.join("connectors")))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_manifest_is_valid() {
        for (name, text) in BUILTIN {
            let m = Manifest::parse(text, name, chrono_tz::UTC)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(m.name, *name);
            assert!(!m.env_vars().is_empty(), "{name} reads no credentials");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let base = BUILTIN[0].1;
        let bad = base.replace("type = \"cursor\"", "type = \"sideways\"");
        let e = Manifest::parse(&bad, "x.toml", chrono_tz::UTC)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.toml") && e.contains("sideways"), "{e}");
        let bad = format!("{base}\n[vars.unused]\n");
        assert!(Manifest::parse(&bad, "x.toml", chrono_tz::UTC).is_ok());
        let bad = base.replace(
            "path = \"/workorders\"",
            "path = \"/workorders/{var:nope}\"",
        );
        let e = Manifest::parse(&bad, "x.toml", chrono_tz::UTC)
            .unwrap_err()
            .to_string();
        assert!(e.contains("request.path") && e.contains("var:nope"), "{e}");
    }
}
