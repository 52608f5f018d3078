//! The plant's configuration (`config/gemba.toml`): plant, crews and capacity, defaults, targets.
//! Validated when loaded, so the rest of the code can trust it; secrets never live here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::model::Kind;

/// The example config shipped in `config/gemba.toml`, which describes the demo plant. It is the
/// default when no config file exists, so a fresh install shows a full board.
pub const DEFAULT_CONFIG: &str = include_str!("../config/gemba.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config file {path}: {key}: {message}")]
    Invalid {
        path: String,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub plant: Plant,
    #[serde(default)]
    pub crews: Vec<Crew>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub metrics: MetricsSettings,
    #[serde(default)]
    pub targets: BTreeMap<String, Target>,
    #[serde(default)]
    pub pull: PullSettings,
    #[serde(default)]
    pub board: BoardSettings,
    /// Link to an order in its CMMS, per source: `{id}` is replaced by the order's id.
    #[serde(default)]
    pub order_links: BTreeMap<String, String>,
    /// Who may write (actions, huddles, the demo button): absent, anyone who can reach the board.
    pub auth: Option<AuthSettings>,
    /// Scheduled imports, run by `gemba serve` (docs/schedules.md).
    #[serde(default)]
    pub schedules: Vec<ScheduleJob>,
    /// The CMMS APIs to sync from, by name (docs/connectors.md). Credentials are never here:
    /// each manifest names the environment variables it reads.
    #[serde(default)]
    pub connectors: BTreeMap<String, ConnectorSettings>,
    /// Where the config was read from, for messages; not a key in the file.
    #[serde(skip)]
    pub origin: String,
    /// The folder beside the config file, where extra CSV profiles live (`profiles/*.toml`).
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plant {
    pub name: String,
    /// IANA time zone name; days, due dates given as bare dates and ISO weeks begin here.
    #[serde(default = "utc_name")]
    pub timezone: String,
    #[serde(skip, default = "utc")]
    pub tz: Tz,
    /// The ISO 4217 code of the currency orders' `cost` is in (default EUR).
    #[serde(default = "default_currency")]
    pub currency: String,
}

fn default_currency() -> String {
    "EUR".into()
}

fn utc_name() -> String {
    "UTC".into()
}
fn utc() -> Tz {
    Tz::UTC
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crew {
    pub name: String,
    pub site: Option<String>,
    pub area: Option<String>,
    pub technicians: f64,
    /// Straight time plus scheduled overtime, per technician.
    pub hours_per_week: f64,
    /// Training, meetings, leave: hours per week for the whole crew.
    #[serde(default)]
    pub indirect_hours_per_week: f64,
    /// Hours of one shift, per technician (pull scheduling).
    #[serde(default = "default_shift_hours")]
    pub shift_hours: f64,
    /// Hours of the crew's day that go to indirect work (pull scheduling).
    #[serde(default)]
    pub indirect_hours_per_day: f64,
    /// The most orders in progress plus pulled at once.
    #[serde(default = "default_wip_limit")]
    pub wip_limit: u32,
    /// The crew's people, offered as tick boxes when a huddle ends (who attended).
    #[serde(default)]
    pub members: Vec<String>,
}

fn default_shift_hours() -> f64 {
    8.0
}
fn default_wip_limit() -> u32 {
    10
}

impl Crew {
    /// SMRP crew capacity in hours per week.
    pub fn capacity_hours_per_week(&self) -> f64 {
        self.technicians * self.hours_per_week - self.indirect_hours_per_week
    }
}

/// Default estimate when an order has none: one number for every kind, or one per kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EstimateHours {
    All(f64),
    PerKind(BTreeMap<String, f64>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default = "default_estimate")]
    pub estimate_hours: EstimateHours,
}

fn default_estimate() -> EstimateHours {
    EstimateHours::All(2.0)
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            estimate_hours: default_estimate(),
        }
    }
}

impl Defaults {
    /// The estimate used for an order of `kind` that has none of its own.
    pub fn estimate_for(&self, kind: Kind) -> f64 {
        match &self.estimate_hours {
            EstimateHours::All(h) => *h,
            EstimateHours::PerKind(m) => m.get(kind.as_str()).copied().unwrap_or(2.0),
        }
    }
}

/// Grace before a PM order counts as late (metrics.md, `pm_compliance_pct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum PmGrace {
    #[default]
    #[serde(rename = "none")]
    None,
    #[serde(rename = "1d")]
    OneDay,
    #[serde(rename = "20pct")]
    TwentyPct,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    #[serde(default)]
    pub pm_grace: PmGrace,
    #[serde(default = "default_window")]
    pub window_days: u32,
}

fn default_window() -> u32 {
    28
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            pm_grace: PmGrace::None,
            window_days: default_window(),
        }
    }
}

/// A target for one metric: green inside `[min, max]`, amber within `amber` (a fraction of the
/// bound) outside it, red beyond.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(default = "default_amber")]
    pub amber: f64,
}

fn default_amber() -> f64 {
    0.1
}

/// Red, amber or green against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rag {
    Green,
    Amber,
    Red,
}

impl Rag {
    /// The word shown beside the colour, so colour is never the only signal.
    pub fn word(self) -> &'static str {
        match self {
            Rag::Green => "on target",
            Rag::Amber => "near target",
            Rag::Red => "off target",
        }
    }

    /// The sign beside the colour: ✔ on target, ▲ near, ✖ off.
    pub fn sign(self) -> &'static str {
        match self {
            Rag::Green => "✔",
            Rag::Amber => "▲",
            Rag::Red => "✖",
        }
    }

    /// The CSS class of a judged figure (`none` for one without a judgement).
    pub fn class(rag: Option<Rag>) -> &'static str {
        match rag {
            Some(Rag::Green) => "green",
            Some(Rag::Amber) => "amber",
            Some(Rag::Red) => "red",
            None => "none",
        }
    }
}

impl Target {
    /// Green inside `[min, max]`; amber within `amber` (a fraction of the bound) outside; red beyond.
    pub fn judge(&self, v: f64) -> Rag {
        let inside = self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m);
        if inside {
            return Rag::Green;
        }
        let near = self.min.is_none_or(|m| v >= m - m.abs() * self.amber)
            && self.max.is_none_or(|m| v <= m + m.abs() * self.amber);
        if near { Rag::Amber } else { Rag::Red }
    }

    /// The target in words: "2 to 4", "at most 20", "at least 90".
    pub fn describe(&self) -> String {
        let n = |v: f64| {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        };
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!("{} to {}", n(a), n(b)),
            (Some(a), None) => format!("at least {}", n(a)),
            (None, Some(b)) => format!("at most {}", n(b)),
            (None, None) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullSettings {
    /// Weight of priority 1 to 5.
    #[serde(default = "default_weights")]
    pub priority_weights: [f64; 5],
    #[serde(default = "default_criticality")]
    pub default_criticality: u8,
    #[serde(default = "default_overdue_bonus")]
    pub overdue_bonus: f64,
}

fn default_weights() -> [f64; 5] {
    [10.0, 8.0, 6.0, 4.0, 2.0]
}
fn default_criticality() -> u8 {
    5
}
fn default_overdue_bonus() -> f64 {
    10.0
}

impl Default for PullSettings {
    fn default() -> Self {
        PullSettings {
            priority_weights: default_weights(),
            default_criticality: default_criticality(),
            overdue_bonus: default_overdue_bonus(),
        }
    }
}

/// One `[[schedules]]` job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleJob {
    pub name: String,
    /// Crontab line in plant time: 5 fields, or 6 with seconds first.
    pub cron: String,
    /// Take CSV exports from a drop folder.
    pub import: Option<ImportJob>,
    /// Sync the API connector of this name (a `[connectors.NAME]` table).
    pub sync: Option<String>,
}

/// `[connectors.NAME]`: one CMMS to sync from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSettings {
    /// The manifest to use: a shipped one or `connectors/NAME.toml` beside the config; by
    /// default the table's own name.
    pub manifest: Option<String>,
    /// Base URL of the API (without credentials).
    pub url: String,
    /// The `source` of the synced orders; by default the connector's name.
    pub source: Option<String>,
    /// Values for the manifest's `[vars]`: non-secret settings such as a database name.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Records per page, instead of the manifest's.
    pub page_size: Option<u32>,
    /// Seconds before a request is given up and retried, instead of the manifest's.
    pub timeout_seconds: Option<f64>,
    /// Client-side request rate, instead of the manifest's.
    pub requests_per_minute: Option<u32>,
    /// Attempts per request before the sync fails, instead of the manifest's.
    pub max_attempts: Option<u32>,
}

/// A drop folder: files matching `path` (a glob), imported with `profile`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportJob {
    pub path: String,
    pub profile: String,
    pub source: Option<String>,
    /// The sheet of the workbooks the folder receives (default: each one's first).
    pub sheet: Option<String>,
    /// A file is taken only when it has not changed for this long (still being written).
    #[serde(default = "default_settle")]
    pub settle_seconds: u64,
}

fn default_settle() -> u64 {
    60
}

/// `[auth]`: writing needs a login. Passwords are stored as argon2 hashes (PHC strings, made
/// with `gemba hash-password`); the session key and the shared tokens come from the environment.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    #[serde(default)]
    pub users: Vec<User>,
    /// Nobody may write, logged in or not.
    #[serde(default)]
    pub read_only: bool,
    /// The reverse proxies in front of Gemba (addresses or networks, `10.0.0.5`,
    /// `10.1.0.0/16`) whose `X-Forwarded-For` is believed: the login throttle counts the client
    /// a trusted proxy names, not the proxy. Without it the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<TrustedProxy>,
}

/// An address or network of `[auth] trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct TrustedProxy(pub ipnet::IpNet);

impl TryFrom<String> for TrustedProxy {
    type Error = String;

    fn try_from(text: String) -> Result<TrustedProxy, String> {
        let t = text.trim();
        t.parse::<ipnet::IpNet>()
            .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(TrustedProxy)
            .map_err(|_| {
                format!(
                    "`{text}` is not an IP address or network (e.g. `10.0.0.5` or `10.1.0.0/16`)"
                )
            })
    }
}

impl TrustedProxy {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardSettings {
    /// The TV view fetches fresh data at least this often (at its next page turn), in seconds.
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u32,
    /// An order in progress longer than this, or on hold at all, is listed as stuck.
    #[serde(default = "default_stuck")]
    pub stuck_after_days: f64,
    /// Scopes the kiosk view rotates through, as `plant`, `site:NAME`, `area:NAME` or `crew:NAME`.
    #[serde(default)]
    pub kiosk_scopes: Vec<String>,
    /// How long computed board data, and a cached answer of the API and the list pages, is
    /// reused before it is refreshed, in seconds (new data drops them at once).
    #[serde(default = "default_cache")]
    pub cache_seconds: u32,
    /// How long each page of the TV view shows before the next, in seconds.
    #[serde(default = "default_kiosk_page")]
    pub kiosk_page_seconds: u32,
    /// The huddle's time box in minutes: its timer turns amber in the last two, red past it.
    #[serde(default = "default_huddle_minutes")]
    pub huddle_minutes: u32,
}

fn default_refresh() -> u32 {
    300
}
fn default_stuck() -> f64 {
    3.0
}
fn default_cache() -> u32 {
    60
}
fn default_kiosk_page() -> u32 {
    20
}
fn default_huddle_minutes() -> u32 {
    10
}

impl Default for BoardSettings {
    fn default() -> Self {
        BoardSettings {
            refresh_seconds: default_refresh(),
            stuck_after_days: default_stuck(),
            kiosk_scopes: Vec::new(),
            cache_seconds: default_cache(),
            kiosk_page_seconds: default_kiosk_page(),
            huddle_minutes: default_huddle_minutes(),
        }
    }
}

/// The metric names a target may be set for (the JSON keys of metrics.md).
pub const TARGETABLE: &[&str] = &[
    "backlog_weeks",
    "ready_backlog_weeks",
    "reactive_pct",
    "reactive_count_pct",
    "emergency_pct",
    "pm_compliance_pct",
    "schedule_compliance_pct",
    "overdue_count",
    "completion_ratio",
    "on_time_pct",
    "mean_age_days",
    "mttr_hours",
];

impl Config {
    /// Loads the config: the file given, else `config/gemba.toml` if it exists, else the built-in
    /// demo-plant config.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (text, origin, dir) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?,
                p.display().to_string(),
                p.parent().map(Path::to_path_buf),
            ),
            None => {
                let p = Path::new("config/gemba.toml");
                if p.exists() {
                    return Config::load(Some(p));
                }
                (
                    DEFAULT_CONFIG.to_string(),
                    "(built-in demo config)".to_string(),
                    None,
                )
            }
        };
        let mut cfg = Config::parse(&text, &origin)?;
        cfg.dir = dir;
        Ok(cfg)
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        cfg.origin = origin.to_string();
        cfg.validate()?;
        Ok(cfg)
    }

    fn invalid(&self, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.origin.clone(),
            key: key.into(),
            message: message.into(),
        }
    }

    fn validate(&mut self) -> Result<(), ConfigError> {
        self.plant.tz = self.plant.timezone.parse::<Tz>().map_err(|_| {
            self.invalid(
                "plant.timezone",
                format!(
                    "`{}` is not an IANA time zone name (e.g. UTC, Europe/Berlin, America/Chicago)",
                    self.plant.timezone
                ),
            )
        })?;
        let cur = &self.plant.currency;
        if !(cur.len() == 3 && cur.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(self.invalid(
                "plant.currency",
                format!(
                    "`{cur}` is not an ISO 4217 code; use three capital letters, e.g. EUR, USD, GBP"
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.crews.iter().enumerate() {
            let key = |k: &str| format!("crews[{i}].{k} (crew `{}`)", c.name);
            if c.name.trim().is_empty() {
                return Err(self.invalid(format!("crews[{i}].name"), "must not be empty"));
            }
            if !seen.insert(c.name.clone()) {
                return Err(self.invalid(key("name"), "the same crew name appears twice"));
            }
            for (k, v) in [
                ("technicians", c.technicians),
                ("hours_per_week", c.hours_per_week),
                ("indirect_hours_per_week", c.indirect_hours_per_week),
                ("shift_hours", c.shift_hours),
                ("indirect_hours_per_day", c.indirect_hours_per_day),
            ] {
                if !v.is_finite() || v < 0.0 {
                    return Err(self.invalid(key(k), format!("must be a number >= 0, got {v}")));
                }
            }
            if c.indirect_hours_per_week > c.technicians * c.hours_per_week {
                return Err(self.invalid(
                    key("indirect_hours_per_week"),
                    format!(
                        "{} is more than the crew's {} x {} = {} hours",
                        c.indirect_hours_per_week,
                        c.technicians,
                        c.hours_per_week,
                        c.technicians * c.hours_per_week
                    ),
                ));
            }
        }
        if let EstimateHours::PerKind(m) = &self.defaults.estimate_hours {
            for (k, v) in m {
                if k.parse::<Kind>().is_err() {
                    return Err(self.invalid(
                        format!("defaults.estimate_hours.{k}"),
                        format!("unknown kind; expected one of: {}", Kind::spellings()),
                    ));
                }
                if !(v.is_finite() && *v > 0.0) {
                    return Err(self.invalid(
                        format!("defaults.estimate_hours.{k}"),
                        format!("must be > 0, got {v}"),
                    ));
                }
            }
        } else if let EstimateHours::All(v) = self.defaults.estimate_hours
            && !(v.is_finite() && v > 0.0)
        {
            return Err(self.invalid("defaults.estimate_hours", format!("must be > 0, got {v}")));
        }
        if self.metrics.window_days == 0 {
            return Err(self.invalid("metrics.window_days", "must be at least 1"));
        }
        for (name, t) in &self.targets {
            // The order metrics, and the management system's indicators.
            let known = TARGETABLE.iter().chain(&crate::system::KEYS);
            if !known.clone().any(|k| k == name) {
                return Err(self.invalid(
                    format!("targets.{name}"),
                    format!(
                        "unknown metric; targets can be set for: {}",
                        known.copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if t.min.is_none() && t.max.is_none() {
                return Err(self.invalid(format!("targets.{name}"), "give `min`, `max` or both"));
            }
        }
        if self.board.refresh_seconds < 10 {
            return Err(self.invalid("board.refresh_seconds", "must be at least 10"));
        }
        if !(5..=3600).contains(&self.board.kiosk_page_seconds) {
            return Err(self.invalid("board.kiosk_page_seconds", "must be from 5 to 3600 seconds"));
        }
        if !(1..=120).contains(&self.board.huddle_minutes) {
            return Err(self.invalid("board.huddle_minutes", "must be from 1 to 120 minutes"));
        }
        if !(self.board.stuck_after_days.is_finite() && self.board.stuck_after_days >= 0.0) {
            return Err(self.invalid("board.stuck_after_days", "must be a number of days >= 0"));
        }
        for (i, s) in self.board.kiosk_scopes.iter().enumerate() {
            let ok = s == "plant"
                || match s.split_once(':') {
                    Some(("crew", name)) => self.crew(name).is_some(),
                    Some(("site" | "area", name)) => !name.is_empty(),
                    _ => false,
                };
            if !ok {
                return Err(self.invalid(
                    format!("board.kiosk_scopes[{i}]"),
                    format!("`{s}`: use plant, site:NAME, area:NAME or crew:NAME with a crew of this config"),
                ));
            }
        }
        for (source, url) in &self.order_links {
            if !url.contains("{id}") || !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(self.invalid(
                    format!("order_links.{source}"),
                    format!("`{url}` must be an http(s) URL with {{id}} where the order id goes"),
                ));
            }
        }
        if !(1..=10).contains(&self.pull.default_criticality) {
            return Err(self.invalid("pull.default_criticality", "must be from 1 to 10"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, job) in self.schedules.iter().enumerate() {
            let key = format!("schedules[{i}]");
            if job.name.trim().is_empty() || !names.insert(job.name.as_str()) {
                return Err(self.invalid(
                    format!("{key}.name"),
                    format!("`{}` must be a name no other job has", job.name),
                ));
            }
            if let Err(e) = crate::schedule::cron::parse(&job.cron) {
                return Err(self.invalid(format!("{key}.cron"), e.to_string()));
            }
            match (&job.import, &job.sync) {
                (Some(imp), None) => {
                    if imp.path.trim().is_empty() {
                        return Err(self.invalid(format!("{key}.import.path"), "must not be empty"));
                    }
                }
                (None, Some(name)) => {
                    if !self.connectors.contains_key(name) {
                        let known: Vec<&str> = self.connectors.keys().map(String::as_str).collect();
                        return Err(self.invalid(
                            format!("{key}.sync"),
                            format!(
                                "`{name}` is not a configured connector; add a [connectors.{name}] table (configured: {})",
                                if known.is_empty() { "none".to_string() } else { known.join(", ") }
                            ),
                        ));
                    }
                }
                _ => {
                    return Err(self.invalid(
                        key,
                        "give either `import = { path = \"...\", profile = \"...\" }` or `sync = \"CONNECTOR\"`",
                    ));
                }
            }
        }
        for (name, c) in &self.connectors {
            let key = format!("connectors.{name}");
            match reqwest::Url::parse(&c.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    if !u.username().is_empty() || u.password().is_some() {
                        return Err(self.invalid(
                            format!("{key}.url"),
                            "holds credentials; put them in the environment variables the manifest names (`gemba connectors`)",
                        ));
                    }
                }
                _ => {
                    return Err(self.invalid(
                        format!("{key}.url"),
                        format!("`{}` is not an http(s) URL", c.url),
                    ));
                }
            }
            if c.page_size == Some(0)
                || c.requests_per_minute == Some(0)
                || c.max_attempts == Some(0)
            {
                return Err(self.invalid(
                    key,
                    "page_size, requests_per_minute and max_attempts must be at least 1",
                ));
            }
            if c.timeout_seconds.is_some_and(|t| !(t > 0.0 && t <= 3600.0)) {
                return Err(self.invalid(
                    format!("{key}.timeout_seconds"),
                    "must be above 0 and at most 3600",
                ));
            }
        }
        if let Some(auth) = &self.auth {
            let mut seen = std::collections::HashSet::new();
            for (i, u) in auth.users.iter().enumerate() {
                let key = format!("auth.users[{i}]");
                if u.name.trim().is_empty() {
                    return Err(self.invalid(format!("{key}.name"), "must not be empty"));
                }
                if !seen.insert(u.name.as_str()) {
                    return Err(self.invalid(
                        format!("{key}.name"),
                        format!("`{}` is there twice", u.name),
                    ));
                }
                if argon2::PasswordHash::new(&u.password_hash).is_err() {
                    return Err(self.invalid(
                        format!("{key}.password_hash"),
                        "is not an argon2 hash (PHC string `$argon2id$...`); make one with `gemba hash-password`",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The crew of this name, if the config has one.
    pub fn crew(&self, name: &str) -> Option<&Crew> {
        self.crews.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_is_valid() {
        let cfg = Config::parse(DEFAULT_CONFIG, "config/gemba.toml").unwrap();
        assert!(cfg.crews.len() >= 3);
        assert_ne!(cfg.plant.tz, Tz::UTC);
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let err = Config::parse("[plant]\nname = \"x\"\ncolour = 1\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = Config::parse(
            "[plant]\nname = \"x\"\n[[crews]]\nname = \"M\"\ntechnicians = \"ten\"\nhours_per_week = 40\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("technicians"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let err = Config::parse(
            "[plant]\nname = \"x\"\ntimezone = \"Mars/Olympus\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("plant.timezone"), "{err}");
        let err = Config::parse(
            "[plant]\nname = \"x\"\n[targets.backlog_wks]\nmax = 4\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("targets.backlog_wks"), "{err}");
        let err = Config::parse(
            "[plant]\nname = \"x\"\n[metrics]\npm_grace = \"2d\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(err.to_string().contains("pm_grace"), "{err}");
    }

    #[test]
    fn targets_judge_red_amber_green() {
        let range = Target {
            min: Some(2.0),
            max: Some(4.0),
            amber: 0.1,
        };
        assert_eq!(range.judge(3.0), Rag::Green);
        assert_eq!(range.judge(4.3), Rag::Amber);
        assert_eq!(range.judge(1.85), Rag::Amber);
        assert_eq!(range.judge(5.0), Rag::Red);
        let most = Target {
            min: None,
            max: Some(20.0),
            amber: 0.1,
        };
        assert_eq!(most.judge(21.0), Rag::Amber);
        assert_eq!(most.judge(25.0), Rag::Red);
        assert_eq!(most.describe(), "at most 20");
        assert_eq!(range.describe(), "2 to 4");
    }

    #[test]
    fn capacity_is_smrp_crew_capacity() {
        let cfg = Config::parse(
            "[plant]\nname = \"x\"\n[[crews]]\nname = \"M\"\ntechnicians = 10\nhours_per_week = 30\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(cfg.crews[0].capacity_hours_per_week(), 300.0);
        assert_eq!(cfg.defaults.estimate_for(Kind::Emergency), 2.0);
    }
    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let cfg = Config::parse(
            "[plant]\nname = \"x\"\n[auth]\ntrusted_proxies = [\"10.0.0.5\", \"10.1.0.0/16\", \"::1\"]\n",
            "t.toml",
        )
        .unwrap();
        let p = &cfg.auth.unwrap().trusted_proxies;
        assert!(p[0].contains("10.0.0.5".parse().unwrap()));
        assert!(!p[0].contains("10.0.0.6".parse().unwrap()));
        assert!(p[1].contains("10.1.200.3".parse().unwrap()));
        assert!(p[2].contains("::1".parse().unwrap()));
        let err = Config::parse(
            "[plant]\nname = \"x\"\n[auth]\ntrusted_proxies = [\"10.0.0.300\"]\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("t.toml")
                && err.contains("trusted_proxies")
                && err.contains("`10.0.0.300`"),
            "{err}"
        );
    }
}
