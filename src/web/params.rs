//! Query and form parsing that pages and the API share: scopes checked against the data, dates,
//! windows, order filters, trend queries, ids in paths, and where a form may send the browser
//! back to. A bad value is a 400 that names the parameter and says what would do.

use chrono::{Duration, NaiveDate};
use serde::Deserialize;

use super::layout::Nav;
use super::{AppError, AppState};
use crate::metrics::orders::{OrderQuery, SortKey};
use crate::metrics::{Scope, TREND_METRICS};
use crate::model::{Kind, Status};

/// Validates a scope from query parameters: an unknown crew, site or area is a 400 listing the
/// known ones.
pub fn checked_scope(
    state: &AppState,
    site: Option<String>,
    area: Option<String>,
    crew: Option<String>,
) -> Result<Scope, AppError> {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let scope = Scope {
        site: clean(site),
        area: clean(area),
        crew: clean(crew),
    };
    let loaded = state.loaded();
    loaded.engine.check_scope(&scope)?;
    let nav = Nav::build(&loaded.engine)?;
    for (what, value, known) in [
        ("site", &scope.site, &nav.sites),
        ("area", &scope.area, &nav.areas),
    ] {
        if let Some(v) = value
            && !known.contains(v)
        {
            return Err(AppError::bad_request(format!(
                "no {what} named `{v}`; known: {}",
                known.join(", ")
            )));
        }
    }
    Ok(scope)
}

/// A date written YYYY-MM-DD, every digit there (chrono alone also reads `2026-1-5`).
pub fn parse_date(name: &str, v: &str) -> Result<NaiveDate, AppError> {
    let t = v.trim();
    let shaped = t.len() == 10
        && t.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            AppError::bad_request(format!("{name}: `{v}` is not a date; use YYYY-MM-DD"))
        })
}

/// An optional date parameter, YYYY-MM-DD; a bad one is a 400 naming the parameter.
pub fn parse_date_param(name: &str, v: &Option<String>) -> Result<Option<NaiveDate>, AppError> {
    v.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_date(name, s))
        .transpose()
}

/// The flow window, 1 to 3650 days.
pub fn parse_window(v: &Option<String>) -> Result<Option<u32>, AppError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=3650).contains(&n) => Ok(Some(n)),
            _ => Err(AppError::bad_request(format!(
                "window_days: `{s}` must be a whole number of days from 1 to 3650"
            ))),
        },
    }
}

/// An id from the path: a number, else a 400 that says so (not axum's plain-text rejection).
pub fn id_of(what: &str, raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::bad_request(format!("`{raw}` is not {what} number")))
}

/// A form that carries only its CSRF token (the demo button, log out).
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// A path a form may send the browser back to: one on this site, never `//host` or `\`.
pub fn local_path(path: &str) -> Option<&str> {
    (path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')).then_some(path)
}

/// Query of the trends page and its CSV: repeated or comma-separated `metric` and `scope`.
pub struct TrendParams {
    pub metrics: Vec<String>,
    pub scopes: Vec<Scope>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub every: String,
    pub window_days: Option<u32>,
    /// `areas`, `crews` or `sites` when those are compared side by side.
    pub compare: Option<String>,
}

pub fn parse_trend_query(state: &AppState, raw: Option<&str>) -> Result<TrendParams, AppError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let many = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let one = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let mut metrics = many("metric");
    if metrics.is_empty() {
        metrics = vec![
            "backlog_weeks".into(),
            "reactive_pct".into(),
            "pm_compliance_pct".into(),
        ];
    }
    for m in &metrics {
        if !TREND_METRICS.contains(&m.as_str()) {
            return Err(AppError::bad_request(format!(
                "unknown metric `{m}`; metrics are: {}",
                TREND_METRICS.join(", ")
            )));
        }
    }
    let loaded = state.loaded();
    let nav = Nav::build(&loaded.engine)?;
    let mut scopes = Vec::new();
    for key in many("scope") {
        let s = Scope::from_key(&key).ok_or_else(|| {
            AppError::bad_request(format!(
                "scope `{key}`: use plant, site:NAME, area:NAME or crew:NAME"
            ))
        })?;
        scopes.push(checked_scope(state, s.site, s.area, s.crew)?);
    }
    let compare = one("compare");
    match compare.as_deref() {
        None => {}
        Some("areas") => scopes.extend(nav.areas.iter().map(|a| Scope {
            area: Some(a.clone()),
            ..Scope::default()
        })),
        Some("crews") => scopes.extend(nav.crews.iter().map(|c| Scope::crew(c))),
        Some("sites") => scopes.extend(nav.sites.iter().map(|s| Scope {
            site: Some(s.clone()),
            ..Scope::default()
        })),
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "compare: `{other}`; use areas, crews or sites"
            )));
        }
    }
    if one("site").is_some() || one("area").is_some() || one("crew").is_some() {
        scopes.push(checked_scope(state, one("site"), one("area"), one("crew"))?);
    }
    if scopes.is_empty() {
        scopes.push(Scope::plant());
    }
    if scopes.len() > 12 {
        return Err(AppError::bad_request("at most 12 scopes side by side"));
    }
    let today = loaded.engine.today();
    let to = one("to")
        .map(|v| parse_date("to", &v))
        .transpose()?
        .unwrap_or(today);
    let from = one("from")
        .map(|v| parse_date("from", &v))
        .transpose()?
        .unwrap_or(to - Duration::weeks(52));
    let every = one("every").unwrap_or_else(|| "7d".into());
    let window_days = parse_window(&one("window_days"))?;
    Ok(TrendParams {
        metrics,
        scopes,
        from,
        to,
        every,
        window_days,
        compare,
    })
}

/// The query string `raw` without the parameters named.
pub fn query_without(raw: &str, names: &[&str]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if !names.contains(&k.as_ref()) {
            out.append_pair(&k, &v);
        }
    }
    out.finish()
}

#[derive(Debug, Deserialize, Default)]
pub struct OrdersParams {
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// Comma-separated kinds.
    pub kind: Option<String>,
    pub open: Option<String>,
    pub overdue: Option<String>,
    /// A data-quality problem key (`missing_estimate`, ...): only the orders that have it.
    pub quality: Option<String>,
    /// An asset id: only its orders.
    pub asset: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<usize>,
    pub per_page: Option<usize>,
}

/// A whole number in a JSON body, written `491` or `491.0` (JSON Schema's integers include
/// both; serde's `i64` takes only the first).
pub fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole_number(&n).ok_or_else(|| serde::de::Error::custom(format!("`{n}` is not a whole number")))
}

/// A JSON number as a whole number, `491.0` as `491`; `None` for a fraction, or a float too
/// large to be exact.
pub fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// As [`whole`], for a count that cannot be negative or beyond u32.
pub fn whole_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = whole(d)?;
    u32::try_from(n).map_err(|_| serde::de::Error::custom(format!("`{n}` is out of range")))
}

/// As [`whole`], for a number that may be left out.
pub fn whole_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole")] i64);
    Ok(Option::<Whole>::deserialize(d)?.map(|w| w.0))
}

/// A yes/no parameter: `1`, `true`, `on` or `yes`; `0`, `false`, `off` or `no`; absent is no.
/// Anything else is a 400 (it used to read as no).
pub fn flag(name: &str, v: &Option<String>) -> Result<bool, AppError> {
    match v.as_deref().map(str::trim) {
        None | Some("" | "0" | "false" | "off" | "no") => Ok(false),
        Some("1" | "true" | "on" | "yes") => Ok(true),
        Some(o) => Err(AppError::bad_request(format!(
            "{name}: `{o}` is not yes or no; use true or false"
        ))),
    }
}

pub fn list<T: std::str::FromStr<Err = String>>(
    name: &str,
    v: &Option<String>,
) -> Result<Vec<T>, AppError> {
    v.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| AppError::bad_request(format!("{name}: {e}")))
        })
        .collect()
}

pub const PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 1000;
/// A million pages of a thousand: more than any store holds.
pub const MAX_PAGE: usize = 1_000_000;

impl OrdersParams {
    pub fn query(&self, state: &AppState, paged: bool) -> Result<OrderQuery, AppError> {
        let scope = checked_scope(
            state,
            self.site.clone(),
            self.area.clone(),
            self.crew.clone(),
        )?;
        let per_page = self.per_page.unwrap_or(PER_PAGE);
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(AppError::bad_request(format!(
                "per_page must be from 1 to {MAX_PER_PAGE}"
            )));
        }
        let page = self.page.unwrap_or(1);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(AppError::bad_request(format!("page: from 1 to {MAX_PAGE}")));
        }
        let descending = match self.dir.as_deref() {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(d) => {
                return Err(AppError::bad_request(format!(
                    "dir: `{d}`; use asc or desc"
                )));
            }
        };
        Ok(OrderQuery {
            scope,
            statuses: list::<Status>("status", &self.status)?,
            kinds: list::<Kind>("kind", &self.kind)?,
            open: flag("open", &self.open)?,
            overdue: flag("overdue", &self.overdue)?,
            quality: match self.quality.as_deref() {
                None | Some("") => None,
                Some(q) => Some(
                    q.parse()
                        .map_err(|e| AppError::bad_request(format!("quality: {e}")))?,
                ),
            },
            sort: match self.sort.as_deref() {
                None | Some("") => SortKey::Age,
                Some(s) => s.parse().map_err(AppError::bad_request)?,
            },
            asset: self
                .asset
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            descending,
            offset: if paged { (page - 1) * per_page } else { 0 },
            limit: paged.then_some(per_page),
            ..OrderQuery::default()
        })
    }
}

/// The data-quality page's and API's query: a scope, and on the page the problem whose orders
/// it lists.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualityParams {
    pub site: Option<String>,
    pub area: Option<String>,
    pub crew: Option<String>,
    /// A problem key (`missing_estimate`, `missing_due`, `unknown_kind`,
    /// `completed_without_date`, `missing_asset`): the page lists its orders.
    pub problem: Option<String>,
}

impl QualityParams {
    pub fn scope(&self, state: &AppState) -> Result<Scope, AppError> {
        checked_scope(
            state,
            self.site.clone(),
            self.area.clone(),
            self.crew.clone(),
        )
    }

    pub fn problem(&self) -> Result<Option<crate::quality::Problem>, AppError> {
        match self.problem.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(p) => p
                .parse()
                .map(Some)
                .map_err(|e| AppError::bad_request(format!("problem: {e}"))),
        }
    }
}

/// A JSON request body as a handler takes it, so a bad body is answered by [`json_value`].
pub type JsonBody = Result<axum::Json<serde_json::Value>, axum::extract::rejection::JsonRejection>;

/// The JSON of a request body; one that is not JSON (or not sent as JSON) is a 400 saying why.
pub fn json_value(body: JsonBody) -> Result<serde_json::Value, AppError> {
    body.map(|axum::Json(v)| v)
        .map_err(|e| AppError::bad_request(e.body_text()))
}

/// A JSON request body as `T`; one that is not JSON, or not of that shape, is a 400 saying why.
pub fn json_body<T: serde::de::DeserializeOwned>(body: JsonBody) -> Result<T, AppError> {
    serde_json::from_value(json_value(body)?)
        .map_err(|e| AppError::bad_request(format!("the body: {e}")))
}
