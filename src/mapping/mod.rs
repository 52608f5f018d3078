//! The one mapping engine: turns a source record (a CSV row, later an API object) into a
//! normalized [`WorkOrder`] through a profile's field rules, value maps and date settings.
//! It does no IO; every source calls it, so every source treats values the same way.

pub mod dates;
pub mod draft;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::model::{Criticality, Field, Kind, Priority, Status, WorkOrder};
pub use dates::{DateSettings, DayOrder, UnixUnit};

/// The CSV profiles shipped inside the binary (`connectors/csv/*.toml`).
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    ("generic", include_str!("../../connectors/csv/generic.toml")),
    ("atlas", include_str!("../../connectors/csv/atlas.toml")),
    ("maximo", include_str!("../../connectors/csv/maximo.toml")),
    ("sap-pm", include_str!("../../connectors/csv/sap-pm.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Unknown(#[from] UnknownName),
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {origin}: {key}: {message}")]
    Invalid {
        origin: String,
        key: String,
        message: String,
    },
}

/// A name that is neither a user's file nor a shipped definition.
#[derive(Debug, thiserror::Error)]
#[error("no {what} named `{name}`; shipped: {shipped}{extra}. Add your own as {hint}/{name}.toml")]
pub struct UnknownName {
    what: &'static str,
    name: String,
    shipped: String,
    extra: String,
    hint: String,
}

/// Where a named TOML definition (a CSV profile, a connector manifest) was found.
pub enum Located {
    /// A user's file: it overrides a shipped definition of the same name.
    File(PathBuf),
    /// The text shipped inside the binary.
    Shipped(&'static str),
}

/// Finds the definition `name`: `<user_dir>/NAME.toml` first, then `shipped`. Otherwise the
/// error lists both, and says where to add one (`default_dir` when there is no config folder).
pub fn locate(
    what: &'static str,
    name: &str,
    user_dir: Option<&Path>,
    shipped: &[(&str, &'static str)],
    default_dir: &str,
) -> Result<Located, UnknownName> {
    if let Some(dir) = user_dir {
        let p = dir.join(format!("{name}.toml"));
        if p.exists() {
            return Ok(Located::File(p));
        }
    }
    if let Some((_, text)) = shipped.iter().find(|(n, _)| *n == name) {
        return Ok(Located::Shipped(text));
    }
    let user = user_dir.map(toml_names).unwrap_or_default();
    Err(UnknownName {
        what,
        name: name.to_string(),
        shipped: shipped
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
        extra: if user.is_empty() {
            String::new()
        } else {
            format!("; yours: {}", user.join(", "))
        },
        hint: user_dir.map_or_else(|| default_dir.to_string(), |d| d.display().to_string()),
    })
}

/// The file has no column for fields the profile needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing required column(s) {}: profile `{profile}` maps them; the header has: {}", .missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "), .header.join(", "))]
pub struct MissingColumns {
    pub profile: String,
    /// `column (for field)` entries.
    pub missing: Vec<String>,
    pub header: Vec<String>,
}

/// Why one record was not accepted: the field, the value as found, and the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub value: String,
    pub reason: String,
}

/// Column delimiter of a CSV profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum Delimiter {
    #[serde(rename = ",")]
    Comma,
    #[serde(rename = ";")]
    Semicolon,
    #[serde(rename = "\t", alias = "tab")]
    Tab,
    #[serde(rename = "|")]
    Pipe,
    /// Chosen from the header line: the most frequent of `,` `;` tab `|`.
    #[default]
    #[serde(rename = "auto")]
    Auto,
}

impl Delimiter {
    pub fn byte(self) -> Option<u8> {
        match self {
            Delimiter::Comma => Some(b','),
            Delimiter::Semicolon => Some(b';'),
            Delimiter::Tab => Some(b'\t'),
            Delimiter::Pipe => Some(b'|'),
            Delimiter::Auto => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CsvSettings {
    #[serde(default)]
    pub delimiter: Delimiter,
    /// Numbers are written `2,5` rather than `2.5`.
    #[serde(default)]
    pub decimal_comma: bool,
    /// The line (CSV) or sheet row (workbook) that holds the column names, counted from 1,
    /// when a title block stands above it. Without it the header is the first row that names
    /// every column the profile needs.
    pub header_row: Option<u32>,
}

/// A value in a profile: written as text or a number in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl RawValue {
    fn text(&self) -> String {
        match self {
            RawValue::Int(i) => i.to_string(),
            RawValue::Float(f) => f.to_string(),
            RawValue::Text(s) => s.clone(),
        }
    }
}

/// Unit of a duration field in the source.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum Unit {
    #[default]
    Hours,
    Minutes,
    Seconds,
}

/// One field's rule as written in a profile (the long form; a bare string names the column).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldRuleText {
    /// Column (CSV) or path (API) the value comes from; for `id`, several columns whose values
    /// together make the id.
    #[serde(alias = "column", alias = "path")]
    from: Option<OneOrMany>,
    /// `id` only: a stable id hashed from the named columns, or from the whole row (`"row"`).
    hash: Option<OneOrMany>,
    /// A constant for every record, instead of a column.
    value: Option<RawValue>,
    /// Source value -> normalized value; matched ignoring case and surrounding blanks.
    #[serde(default)]
    map: BTreeMap<String, RawValue>,
    /// Used when a value matches nothing in `map` (without it, such a row is rejected).
    unmapped: Option<RawValue>,
    /// Used when the cell is empty (without it, an empty required field rejects the row).
    missing: Option<RawValue>,
    /// The cell holds several codes separated by this text (status only): the most advanced
    /// status among those that map wins, a cancellation over all.
    split: Option<String>,
    /// Unit of an hours field in the source.
    #[serde(default)]
    unit: Unit,
}

/// A column name, or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// How a row's id is made when no column holds one (docs/profiles.md, "Files without an id").
#[derive(Debug, Clone, PartialEq)]
enum IdRule {
    /// The values of these columns, joined.
    Compose(Vec<String>),
    /// A hash of the values of these columns.
    Hash(Vec<String>),
    /// A hash of every cell of the row.
    HashRow,
}

/// A value already parsed into the type of its field.
#[derive(Debug, Clone, PartialEq)]
enum Typed {
    Kind(Kind),
    Status(Status),
    Priority(Priority),
    Criticality(Criticality),
    Text(String),
}

#[derive(Debug, Clone)]
struct Rule {
    field: Field,
    from: Option<String>,
    /// `id` derived from several columns or the whole row.
    derived: Option<IdRule>,
    constant: Option<Typed>,
    map: HashMap<String, Typed>,
    unmapped: Option<Typed>,
    missing: Option<Typed>,
    split: Option<String>,
    hours_factor: f64,
}

/// A validated profile: how one kind of source maps into the normalized order.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub name: String,
    pub description: String,
    /// The `source` given to orders when the user names none.
    pub default_source: String,
    pub csv: CsvSettings,
    pub dates: DateSettings,
    /// Link to an order in the CMMS, with `{id}` where the order's id goes.
    pub order_url: Option<String>,
    rules: Vec<Rule>,
    tz: Tz,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileText {
    name: String,
    #[serde(default)]
    description: String,
    source: Option<String>,
    #[serde(default)]
    csv: CsvSettings,
    #[serde(default)]
    dates: DateSettings,
    order_url: Option<String>,
    fields: BTreeMap<String, toml::Value>,
}

impl Mapping {
    /// Finds a profile by name: `<config dir>/csv/NAME.toml` first (a user's profile may override
    /// a shipped one), then the shipped ones. A path to a `.toml` file is read as it is.
    pub fn find(name: &str, config_dir: Option<&Path>, tz: Tz) -> Result<Mapping, ProfileError> {
        let as_path = Path::new(name);
        if name.ends_with(".toml") && as_path.exists() {
            return Mapping::from_file(as_path, tz);
        }
        let user_dir = config_dir.map(|d| d.join("csv"));
        match locate(
            "CSV profile",
            name,
            user_dir.as_deref(),
            BUILTIN_PROFILES,
            "config/csv",
        )? {
            Located::File(p) => Mapping::from_file(&p, tz),
            Located::Shipped(text) => {
                Mapping::parse(text, &format!("connectors/csv/{name}.toml (built in)"), tz)
            }
        }
    }

    pub fn from_file(path: &Path, tz: Tz) -> Result<Mapping, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Mapping::parse(&text, &path.display().to_string(), tz)
    }

    /// Parses and validates a profile; `origin` names it in errors; `tz` is the plant time zone
    /// that local times in the source are read in.
    pub fn parse(text: &str, origin: &str, tz: Tz) -> Result<Mapping, ProfileError> {
        let invalid = |key: &str, message: String| ProfileError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            message,
        };
        let p: ProfileText = toml::from_str(text)
            .map_err(|e| invalid("(file)", e.to_string().trim_end().to_string()))?;
        Mapping::from_text(p, origin, tz)
    }

    /// Builds a mapping from the mapping keys of a connector manifest (`name`, `description`,
    /// `source`, `order_url`, `[dates]`, `[fields]`): an API source maps through the same rules
    /// as a CSV profile, with paths where a profile names columns.
    pub fn from_table(table: toml::Table, origin: &str, tz: Tz) -> Result<Mapping, ProfileError> {
        let p: ProfileText =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ProfileError::Invalid {
                    origin: origin.to_string(),
                    key: "(file)".into(),
                    message: e.message().trim_end().to_string(),
                })?;
        Mapping::from_text(p, origin, tz)
    }

    fn from_text(p: ProfileText, origin: &str, tz: Tz) -> Result<Mapping, ProfileError> {
        let invalid = |key: &str, message: String| ProfileError::Invalid {
            origin: origin.to_string(),
            key: key.to_string(),
            message,
        };
        let tz = match &p.dates.timezone {
            None => tz,
            Some(name) => name.parse::<Tz>().map_err(|_| {
                invalid(
                    "dates.timezone",
                    format!("`{name}` is not an IANA time zone name (e.g. UTC, Europe/Berlin)"),
                )
            })?,
        };
        if p.csv.header_row == Some(0) {
            return Err(invalid(
                "csv.header_row",
                "rows are counted from 1 (the first line is 1)".into(),
            ));
        }
        let mut rules = Vec::new();
        for (key, value) in &p.fields {
            let field = Field::from_name(key).ok_or_else(|| {
                invalid(
                    &format!("fields.{key}"),
                    format!(
                        "not a field of the normalized work order; fields are: {}",
                        Field::ALL.map(|f| f.name()).join(", ")
                    ),
                )
            })?;
            let key = format!("fields.{key}");
            let text: FieldRuleText = match value {
                toml::Value::String(col) => FieldRuleText {
                    from: Some(OneOrMany::One(col.clone())),
                    hash: None,
                    value: None,
                    map: BTreeMap::new(),
                    unmapped: None,
                    missing: None,
                    split: None,
                    unit: Unit::Hours,
                },
                other => other
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| invalid(&key, e.message().to_string()))?,
            };
            rules.push(Rule::build(field, text).map_err(|m| invalid(&key, m))?);
        }
        for f in Field::ALL {
            if f.is_required() && !rules.iter().any(|r| r.field == f) {
                return Err(invalid(
                    &format!("fields.{}", f.name()),
                    "required: name the column it comes from, or give a `value`".into(),
                ));
            }
        }
        Ok(Mapping {
            default_source: p.source.unwrap_or_else(|| p.name.clone()),
            name: p.name,
            description: p.description,
            csv: p.csv,
            dates: p.dates,
            order_url: p.order_url,
            rules,
            tz,
        })
    }

    /// Resolves the profile's source names against what a source offers (a CSV header; API
    /// paths). `position` finds a name's slot. Missing columns of required fields are an error;
    /// missing optional ones are returned so the caller can say they were left empty.
    pub fn bind<'m>(
        &'m self,
        header: &[String],
    ) -> Result<(Bound<'m>, Vec<String>), MissingColumns> {
        let lower: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut slots = Vec::with_capacity(self.rules.len());
        let mut missing = Vec::new();
        let mut absent = Vec::new();
        let mut id_slots = Vec::new();
        for r in &self.rules {
            if let Some(IdRule::Compose(cols) | IdRule::Hash(cols)) = &r.derived {
                for col in cols {
                    match lower.iter().position(|h| *h == col.trim().to_lowercase()) {
                        Some(pos) => id_slots.push(pos),
                        None => missing.push(format!("{col} (for id)")),
                    }
                }
            }
            let slot = match &r.from {
                None => None,
                Some(col) => {
                    let pos = lower.iter().position(|h| *h == col.trim().to_lowercase());
                    if pos.is_none() {
                        let what = if col == r.field.name() {
                            col.clone()
                        } else {
                            format!("{col} (for {})", r.field)
                        };
                        if r.field.is_required() && r.missing.is_none() {
                            missing.push(what);
                        } else {
                            absent.push(what);
                        }
                    }
                    pos
                }
            };
            slots.push(slot);
        }
        if !missing.is_empty() {
            return Err(MissingColumns {
                profile: self.name.clone(),
                missing,
                header: header.to_vec(),
            });
        }
        if self
            .rules
            .iter()
            .any(|r| r.derived == Some(IdRule::HashRow))
        {
            id_slots = (0..header.len()).collect();
        }
        Ok((
            Bound {
                mapping: self,
                slots,
                id_slots,
            },
            absent,
        ))
    }

    /// The zone local times in the source are read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The source names (columns or paths) the profile reads, in rule order.
    pub fn source_names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for r in &self.rules {
            match (&r.from, &r.derived) {
                (Some(c), _) => out.push(c.as_str()),
                (None, Some(IdRule::Compose(cols) | IdRule::Hash(cols))) => {
                    out.extend(cols.iter().map(String::as_str))
                }
                _ => {}
            }
        }
        out
    }
}

impl Rule {
    fn build(field: Field, t: FieldRuleText) -> Result<Rule, String> {
        let (from, derived) = match (t.from.clone(), t.hash.clone()) {
            (_, Some(_)) | (Some(OneOrMany::Many(_)), _) if field != Field::Id => {
                return Err("several columns and `hash` are for `id` only".into());
            }
            (Some(_), Some(_)) => return Err("give either `from` or `hash`, not both".into()),
            (Some(OneOrMany::One(c)), None) => (Some(c), None),
            (Some(OneOrMany::Many(cols)), None) => (None, Some(IdRule::Compose(cols))),
            (None, Some(OneOrMany::One(r))) if r == "row" => (None, Some(IdRule::HashRow)),
            (None, Some(OneOrMany::One(c))) => {
                return Err(format!(
                    "hash: `{c}`: give a list of columns (hash = [\"{c}\"]) or \"row\" for the whole row"
                ));
            }
            (None, Some(OneOrMany::Many(cols))) => (None, Some(IdRule::Hash(cols))),
            (None, None) => (None, None),
        };
        if let Some(IdRule::Compose(cols) | IdRule::Hash(cols)) = &derived
            && cols.iter().all(|c| c.trim().is_empty())
        {
            return Err("name at least one column".into());
        }
        let sourced = from.is_some() || derived.is_some();
        if !sourced && t.value.is_none() {
            return Err("give `from` (the column or path) or a constant `value`".into());
        }
        if sourced && t.value.is_some() {
            return Err("give either `from` or `value`, not both".into());
        }
        if derived.is_some() && (!t.map.is_empty() || t.unmapped.is_some() || t.missing.is_some()) {
            return Err("a composed or hashed id takes no `map`, `unmapped` or `missing`".into());
        }
        if t.split.is_some() && field != Field::Status {
            return Err("`split` is only for status codes".into());
        }
        let typed = |v: &RawValue, what: &str| -> Result<Typed, String> {
            typed_value(field, &v.text()).map_err(|e| format!("{what}: {e}"))
        };
        let mut map = HashMap::new();
        for (k, v) in &t.map {
            map.insert(k.trim().to_lowercase(), typed(v, &format!("map.{k}"))?);
        }
        if (field.is_timestamp() || field.is_hours() || field == Field::PmIntervalDays)
            && (!map.is_empty() || t.unmapped.is_some())
        {
            return Err(
                "value maps are for text, kind, status, priority and criticality fields".into(),
            );
        }
        Ok(Rule {
            field,
            constant: t.value.as_ref().map(|v| typed(v, "value")).transpose()?,
            unmapped: t
                .unmapped
                .as_ref()
                .map(|v| typed(v, "unmapped"))
                .transpose()?,
            missing: t
                .missing
                .as_ref()
                .map(|v| typed(v, "missing"))
                .transpose()?,
            from,
            derived,
            map,
            split: t.split,
            hours_factor: match t.unit {
                Unit::Hours => 1.0,
                Unit::Minutes => 1.0 / 60.0,
                Unit::Seconds => 1.0 / 3600.0,
            },
        })
    }
}

/// The names (file stems) of the `.toml` files in `dir`, sorted: a user's profiles or manifests.
pub fn toml_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension()? == "toml").then(|| p.file_stem()?.to_str().map(String::from))?
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Parses a normalized value for `field`: the enum spellings, the scales, or text.
fn typed_value(field: Field, v: &str) -> Result<Typed, String> {
    Ok(match field {
        Field::Kind => Typed::Kind(v.parse()?),
        Field::Status => Typed::Status(v.parse()?),
        Field::Priority => Typed::Priority(v.parse()?),
        Field::AssetCriticality => Typed::Criticality(v.parse()?),
        _ => Typed::Text(v.trim().to_string()),
    })
}

/// `s` without leading and trailing whitespace; most values have none, and a look at their
/// first and last byte says so without `trim`'s walk over Unicode whitespace.
fn trimmed(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// A mapping bound to one source's layout: ready to map records.
pub struct Bound<'m> {
    mapping: &'m Mapping,
    slots: Vec<Option<usize>>,
    /// The slots a derived id is made of, in order (every slot for a hash of the row).
    id_slots: Vec<usize>,
}

/// Tells apart rows whose derived ids are the same within one file: the first keeps the id,
/// the second gets `~2`, the third `~3`, ... (the `~` of a value is escaped, so no value can
/// look like an occurrence). Counted over every row, rejected ones too, so fixing a rejected
/// row does not renumber the rows after it.
#[derive(Debug, Default)]
pub struct Occurrences {
    seen: HashMap<String, u32>,
}

impl Occurrences {
    pub fn tell_apart(&mut self, id: String) -> String {
        let n = self.seen.entry(id.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { id } else { format!("{id}~{n}") }
    }
}

/// A value as part of a composed id: `\`, `|` and `~` escaped with a backslash.
fn escape_part(v: &str, out: &mut String) {
    for ch in v.chars() {
        if matches!(ch, '\\' | '|' | '~') {
            out.push('\\');
        }
        out.push(ch);
    }
}

impl Bound<'_> {
    /// Maps one record. `get(slot)` returns the raw text of a column; blank text is missing.
    pub fn map_record<'r>(
        &self,
        source: &str,
        get: impl Fn(usize) -> Option<&'r str>,
    ) -> Result<WorkOrder, FieldError> {
        let id = self.derived_id(&get);
        self.map_record_as(source, get, id)
    }

    /// Maps one record whose derived id is `id` (from [`Bound::derived_id`], told apart by
    /// [`Occurrences`]); with `None` the id comes from its column as usual.
    pub fn map_record_as<'r>(
        &self,
        source: &str,
        get: impl Fn(usize) -> Option<&'r str>,
        id: Option<String>,
    ) -> Result<WorkOrder, FieldError> {
        let mut o = Draft::default();
        for (rule, slot) in self.mapping.rules.iter().zip(&self.slots) {
            if rule.derived.is_some() {
                let text = id.as_deref().filter(|s| !s.is_empty());
                self.apply(rule, text, &mut o)?;
                continue;
            }
            let raw = slot.and_then(&get).map(trimmed).filter(|s| !s.is_empty());
            self.apply(rule, raw, &mut o)?;
        }
        o.finish(source)
    }

    /// The slot each field is read from, in rule order (fields with a constant or a derived id
    /// have none).
    pub fn sourced(&self) -> impl Iterator<Item = (Field, usize)> + '_ {
        self.mapping
            .rules
            .iter()
            .zip(&self.slots)
            .filter_map(|(r, s)| s.map(|s| (r.field, s)))
    }

    /// The slots whose values are dates, where a number is a date serial: every timestamp
    /// field's, unless the profile reads numbers as Unix times.
    pub fn date_slots(&self) -> Vec<usize> {
        if self.mapping.dates.unix != UnixUnit::None {
            return Vec::new();
        }
        self.sourced()
            .filter(|(f, _)| f.is_timestamp())
            .map(|(_, s)| s)
            .collect()
    }

    /// Whether ids are made from other columns (see [`Occurrences`]).
    pub fn derives_id(&self) -> bool {
        self.mapping.rules.iter().any(|r| r.derived.is_some())
    }

    /// The id a profile without an id column makes of a record: the named values joined by `|`
    /// (escaped), or a hash of them (or of the whole row) as 16 hex digits. `None` when the
    /// profile reads ids from a column, or when every part is blank.
    pub fn derived_id<'r>(&self, get: impl Fn(usize) -> Option<&'r str>) -> Option<String> {
        let rule = self.mapping.rules.iter().find(|r| r.derived.is_some())?;
        let mut joined = String::new();
        let mut any = false;
        for (i, slot) in self.id_slots.iter().enumerate() {
            if i > 0 {
                joined.push('|');
            }
            let v = get(*slot).map(trimmed).unwrap_or("");
            any |= !v.is_empty();
            escape_part(v, &mut joined);
        }
        if !any {
            return None;
        }
        Some(match rule.derived {
            Some(IdRule::Compose(_)) => joined,
            _ => {
                use sha2::Digest;
                let digest = sha2::Sha256::digest(joined.as_bytes());
                hex::encode(&digest[..8])
            }
        })
    }

    fn apply(&self, rule: &Rule, raw: Option<&str>, o: &mut Draft) -> Result<(), FieldError> {
        let m = self.mapping;
        let err = |value: &str, reason: String| FieldError {
            field: rule.field,
            value: value.to_string(),
            reason,
        };
        if let Some(c) = &rule.constant {
            return o.set_typed(rule.field, c.clone());
        }
        let Some(raw) = raw else {
            if let Some(c) = &rule.missing {
                return o.set_typed(rule.field, c.clone());
            }
            return Ok(());
        };
        let f = rule.field;
        if f.is_timestamp() {
            let at = m
                .dates
                .parse(raw, m.tz, f == Field::DueAt)
                .map_err(|reason| err(raw, reason))?;
            o.set_time(f, at);
            return Ok(());
        }
        if f.is_hours() {
            let h = parse_number(raw, m.csv.decimal_comma).map_err(|r| err(raw, r))?;
            if h < 0.0 {
                return Err(err(raw, "hours cannot be negative".into()));
            }
            o.set_hours(f, h * rule.hours_factor);
            return Ok(());
        }
        if f == Field::Cost {
            let c =
                parse_number(strip_currency(raw), m.csv.decimal_comma).map_err(|r| err(raw, r))?;
            if c < 0.0 {
                return Err(err(raw, "a cost cannot be negative".into()));
            }
            o.cost = Some(c);
            return Ok(());
        }
        if f == Field::PmIntervalDays {
            let d = parse_number(raw, m.csv.decimal_comma).map_err(|r| err(raw, r))?;
            if d.fract() != 0.0 || !(1.0..=36_500.0).contains(&d) {
                return Err(err(
                    raw,
                    "a PM interval is a whole number of days from 1 to 36500".into(),
                ));
            }
            o.pm_interval_days = Some(d as u32);
            return Ok(());
        }
        let typed = if let Some(sep) = &rule.split {
            let mut best: Option<Status> = None;
            for token in raw
                .split(sep.as_str())
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                if let Some(Typed::Status(s)) = rule.map.get(&token.to_lowercase()) {
                    best = Some(best.map_or(*s, |b| {
                        if s.precedence() > b.precedence() {
                            *s
                        } else {
                            b
                        }
                    }));
                }
            }
            match (best, &rule.unmapped) {
                (Some(s), _) => Typed::Status(s),
                (None, Some(u)) => u.clone(),
                (None, None) => {
                    return Err(err(
                        raw,
                        format!(
                            "none of these codes maps to a status in profile `{}` (add one to fields.status.map, or set fields.status.unmapped)",
                            m.name
                        ),
                    ));
                }
            }
        } else if let Some(t) = (!rule.map.is_empty())
            .then(|| rule.map.get(&raw.to_lowercase()))
            .flatten()
        {
            t.clone()
        } else {
            match (typed_value(f, raw), &rule.unmapped) {
                (Ok(t), _) => t,
                (Err(_), Some(u)) => u.clone(),
                (Err(reason), None) => {
                    let hint = if rule.map.is_empty() {
                        String::new()
                    } else {
                        format!("; profile `{}` maps: {}", m.name, {
                            let mut keys: Vec<&str> = rule.map.keys().map(String::as_str).collect();
                            keys.sort_unstable();
                            keys.join(", ")
                        })
                    };
                    return Err(err(raw, format!("{reason}{hint}")));
                }
            }
        };
        o.set_typed(f, typed)
    }
}

/// A money amount without its currency sign or code and the spaces around it: `€ 1234.50`,
/// `1234,50 EUR`, `$80` (thousands separators are not guessed: they read as decimals or fail).
fn strip_currency(raw: &str) -> &str {
    raw.trim_matches(|c: char| c.is_alphabetic() || c.is_whitespace() || "€$£¥₹".contains(c))
}

fn parse_number(raw: &str, decimal_comma: bool) -> Result<f64, String> {
    let t = raw.trim();
    // With a decimal comma, dots group thousands: a dot after the comma is a decimal point
    // (1,234.50), which would otherwise read as 1.2345.
    let point_after_comma = t.rfind('.') > t.rfind(',') && t.contains(',');
    let v = if decimal_comma && point_after_comma {
        "not a number".parse::<f64>()
    } else if decimal_comma {
        t.replace('.', "").replace(',', ".").parse::<f64>()
    } else {
        t.parse::<f64>()
    };
    match v {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(format!(
            "`{t}` is not a number{}",
            if decimal_comma {
                " (this profile writes decimals with a comma: 2,5)"
            } else {
                ""
            }
        )),
    }
}

/// An order being assembled from a record's fields.
#[derive(Default)]
struct Draft {
    id: Option<String>,
    title: Option<String>,
    kind: Option<Kind>,
    status: Option<Status>,
    priority: Option<Priority>,
    site: Option<String>,
    area: Option<String>,
    crew: Option<String>,
    assignee: Option<String>,
    asset_id: Option<String>,
    asset_name: Option<String>,
    asset_criticality: Option<Criticality>,
    times: [Option<DateTime<Utc>>; 6],
    hours: [Option<f64>; 3],
    pm_interval_days: Option<u32>,
    cost: Option<f64>,
    failure_code: Option<String>,
}

impl Draft {
    fn set_typed(&mut self, f: Field, t: Typed) -> Result<(), FieldError> {
        match (f, t) {
            (Field::Kind, Typed::Kind(k)) => self.kind = Some(k),
            (Field::Status, Typed::Status(s)) => self.status = Some(s),
            (Field::Priority, Typed::Priority(p)) => self.priority = Some(p),
            (Field::AssetCriticality, Typed::Criticality(c)) => self.asset_criticality = Some(c),
            (f, Typed::Text(s)) => {
                let slot = match f {
                    Field::Id => &mut self.id,
                    Field::Title => &mut self.title,
                    Field::Site => &mut self.site,
                    Field::Area => &mut self.area,
                    Field::Crew => &mut self.crew,
                    Field::Assignee => &mut self.assignee,
                    Field::AssetId => &mut self.asset_id,
                    Field::AssetName => &mut self.asset_name,
                    Field::FailureCode => &mut self.failure_code,
                    _ => unreachable!("typed_value gives text only for text fields"),
                };
                *slot = Some(s);
            }
            (f, t) => unreachable!("typed value {t:?} built for field {f}"),
        }
        Ok(())
    }

    fn set_time(&mut self, f: Field, at: Option<DateTime<Utc>>) {
        let i = match f {
            Field::CreatedAt => 0,
            Field::DueAt => 1,
            Field::ScheduledStart => 2,
            Field::StartedAt => 3,
            Field::CompletedAt => 4,
            _ => 5,
        };
        self.times[i] = at;
    }

    fn set_hours(&mut self, f: Field, h: f64) {
        let i = match f {
            Field::EstimatedHours => 0,
            Field::ActualHours => 1,
            _ => 2,
        };
        self.hours[i] = Some(h);
    }

    fn finish(self, source: &str) -> Result<WorkOrder, FieldError> {
        let missing = |f: Field| FieldError {
            field: f,
            value: String::new(),
            reason: format!("{f} is missing"),
        };
        let id = self.id.ok_or_else(|| missing(Field::Id))?;
        let created_at = self.times[0].ok_or_else(|| missing(Field::CreatedAt))?;
        Ok(WorkOrder {
            source: source.to_string(),
            id,
            title: self.title.unwrap_or_default(),
            kind: self.kind.ok_or_else(|| missing(Field::Kind))?,
            status: self.status.ok_or_else(|| missing(Field::Status))?,
            priority: self.priority.ok_or_else(|| missing(Field::Priority))?,
            site: self.site,
            area: self.area,
            crew: self.crew,
            assignee: self.assignee,
            asset_id: self.asset_id,
            asset_name: self.asset_name,
            asset_criticality: self.asset_criticality,
            created_at,
            due_at: self.times[1],
            scheduled_start: self.times[2],
            started_at: self.times[3],
            completed_at: self.times[4],
            updated_at: self.times[5],
            estimated_hours: self.hours[0],
            actual_hours: self.hours[1],
            downtime_hours: self.hours[2],
            pm_interval_days: self.pm_interval_days,
            cost: self.cost,
            failure_code: self.failure_code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(fields: &str) -> Result<Mapping, ProfileError> {
        Mapping::parse(
            &format!("name = \"t\"\n[fields]\n{fields}"),
            "t.toml",
            Tz::UTC,
        )
    }

    const BASE: &str = "id = \"ID\"\ntitle = \"T\"\nkind = { from = \"K\", map = { PM = \"preventive\", CM = \"corrective\" } }\nstatus = { from = \"S\", split = \" \", map = { CRTD = \"requested\", REL = \"ready\", TECO = \"completed\", DLFL = \"cancelled\" } }\npriority = { from = \"P\", missing = 3 }\ncreated_at = \"C\"\nestimated_hours = { from = \"E\", unit = \"minutes\" }\n";

    fn row(m: &Mapping, cells: &[&str]) -> Result<WorkOrder, FieldError> {
        let header: Vec<String> = ["ID", "T", "K", "S", "P", "C", "E"]
            .map(String::from)
            .to_vec();
        let (b, absent) = m.bind(&header).unwrap();
        assert!(absent.is_empty());
        b.map_record("src", |i| cells.get(i).copied())
    }

    #[test]
    fn maps_values_through_the_profile() {
        let m = profile(BASE).unwrap();
        let o = row(&m, &["7", "Pump", "pm", "CRTD REL", "", "2026-01-02", "90"]).unwrap();
        assert_eq!(
            (o.kind, o.status, o.priority.get()),
            (Kind::Preventive, Status::Ready, 3)
        );
        assert_eq!(o.estimated_hours, Some(1.5));
        // Several status codes: the most advanced wins, cancellation over all.
        let o = row(&m, &["7", "x", "CM", "REL TECO", "1", "2026-01-02", ""]).unwrap();
        assert_eq!(o.status, Status::Completed);
        let o = row(&m, &["7", "x", "CM", "TECO DLFL", "1", "2026-01-02", ""]).unwrap();
        assert_eq!(o.status, Status::Cancelled);
        // The normalized spelling is always understood.
        let o = row(&m, &["7", "x", "project", "REL", "1", "2026-01-02", ""]).unwrap();
        assert_eq!(o.kind, Kind::Project);
    }

    #[test]
    fn unmapped_and_missing_values_are_rejected_with_reason() {
        let m = profile(BASE).unwrap();
        let e = row(&m, &["7", "x", "XX", "REL", "1", "2026-01-02", ""]).unwrap_err();
        assert_eq!((e.field, e.value.as_str()), (Field::Kind, "XX"));
        assert!(e.reason.contains("cm, pm"), "{}", e.reason);
        let e = row(&m, &["7", "x", "PM", "OPEN", "1", "2026-01-02", ""]).unwrap_err();
        assert_eq!(e.field, Field::Status);
        let e = row(&m, &["", "x", "PM", "REL", "1", "2026-01-02", ""]).unwrap_err();
        assert_eq!((e.field, e.reason.as_str()), (Field::Id, "id is missing"));
        let e = row(&m, &["7", "x", "PM", "REL", "1", " ", ""]).unwrap_err();
        assert_eq!(e.field, Field::CreatedAt);
        let e = row(&m, &["7", "x", "PM", "REL", "9", "2026-01-02", ""]).unwrap_err();
        assert_eq!(e.field, Field::Priority);
        let e = row(&m, &["7", "x", "PM", "REL", "1", "2026-01-02", "-5"]).unwrap_err();
        assert_eq!(e.field, Field::EstimatedHours);
    }

    #[test]
    fn costs_and_failure_codes_are_read_with_their_currency_left_off() {
        let with = |extra: &str, decimal_comma: bool| {
            let csv = if decimal_comma {
                "[csv]\ndecimal_comma = true\n"
            } else {
                ""
            };
            Mapping::parse(
                &format!(
                    "name = \"t\"\n{csv}[fields]\n{BASE}cost = \"X\"\nfailure_code = \"F\"\n{extra}"
                ),
                "t.toml",
                Tz::UTC,
            )
            .unwrap()
        };
        let cells = |cost: &'static str, code: &'static str| {
            ["7", "x", "CM", "REL", "1", "2026-01-02", "", cost, code]
        };
        let map = |m: &Mapping, cells: [&str; 9]| {
            let header: Vec<String> = ["ID", "T", "K", "S", "P", "C", "E", "X", "F"]
                .map(String::from)
                .to_vec();
            m.bind(&header)
                .unwrap()
                .0
                .map_record("src", |i| cells.get(i).copied())
        };
        let m = with("", false);
        for (raw, want) in [
            ("1234.5", 1234.5),
            ("€ 80", 80.0),
            ("95.20 EUR", 95.2),
            ("$0", 0.0),
        ] {
            assert_eq!(map(&m, cells(raw, "")).unwrap().cost, Some(want), "{raw}");
        }
        let o = map(&m, cells("", " BRG-WEAR ")).unwrap();
        assert_eq!(
            (o.cost, o.failure_code.as_deref()),
            (None, Some("BRG-WEAR"))
        );
        let e = map(&m, cells("-12", "")).unwrap_err();
        assert_eq!(
            (e.field, e.reason.as_str()),
            (Field::Cost, "a cost cannot be negative")
        );
        let e = map(&m, cells("twelve", "")).unwrap_err();
        assert_eq!((e.field, e.value.as_str()), (Field::Cost, "twelve"));
        let m = with("", true);
        assert_eq!(map(&m, cells("1.234,50 €", "")).unwrap().cost, Some(1234.5));
        // A decimal point where a comma is expected is refused, not read as 1.2345.
        let e = map(&m, cells("1,234.50", "")).unwrap_err();
        assert_eq!((e.field, e.value.as_str()), (Field::Cost, "1,234.50"));
    }

    #[test]
    fn ids_are_composed_or_hashed_when_no_column_holds_one() {
        let rest = "title = \"T\"\nkind = { value = \"corrective\" }\nstatus = { value = \"ready\" }\npriority = { value = 3 }\ncreated_at = \"C\"\n";
        let header: Vec<String> = ["A", "T", "C"].map(String::from).to_vec();
        let id_of = |id: &str, cells: [&'static str; 3]| {
            let m = profile(&format!("id = {id}\n{rest}")).unwrap();
            let (b, _) = m.bind(&header).unwrap();
            let id = b.derived_id(|i| cells.get(i).copied());
            (
                id.clone(),
                b.map_record("src", |i| cells.get(i).copied()).map(|o| o.id),
            )
        };
        let composed = r#"{ from = ["A", "T"] }"#;
        let (id, mapped) = id_of(composed, ["PUMP 7", "Seal | leak ~ again", "2026-01-02"]);
        assert_eq!(id.as_deref(), Some(r"PUMP 7|Seal \| leak \~ again"));
        assert_eq!(mapped.unwrap(), id.unwrap());
        // A value with a bar cannot pass for two values.
        assert_ne!(
            id_of(composed, ["a|b", "c", "2026-01-02"]).0,
            id_of(composed, ["a", "b|c", "2026-01-02"]).0
        );
        let (none, mapped) = id_of(composed, ["", " ", "2026-01-02"]);
        assert_eq!(none, None);
        assert_eq!(mapped.unwrap_err().field, Field::Id);
        let hashed = r#"{ hash = ["A", "T"] }"#;
        let h = id_of(hashed, ["PUMP 7", "Seal", "2026-01-02"]).0.unwrap();
        assert_eq!(h.len(), 16);
        assert_eq!(
            id_of(hashed, ["PUMP 7", "Seal", "2026-01-03"]).0.unwrap(),
            h,
            "only A and T"
        );
        let row = r#"{ hash = "row" }"#;
        assert_ne!(
            id_of(row, ["PUMP 7", "Seal", "2026-01-02"]).0,
            id_of(row, ["PUMP 7", "Seal", "2026-01-03"]).0,
            "the whole row"
        );
        let mut occ = Occurrences::default();
        let seq: Vec<String> = ["x", "y", "x", "x"]
            .iter()
            .map(|s| occ.tell_apart(s.to_string()))
            .collect();
        assert_eq!(seq, ["x", "y", "x~2", "x~3"]);
        for (bad, says) in [
            (r#"{ hash = "A" }"#, "hash = [\"A\"]"),
            (
                r#"{ from = ["A"], hash = ["T"] }"#,
                "either `from` or `hash`",
            ),
            (r#"{ from = [] }"#, "at least one column"),
            (r#"{ from = ["A", "T"], missing = "x" }"#, "takes no `map`"),
        ] {
            let e = profile(&format!("id = {bad}\n{rest}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("fields.id") && e.contains(says), "{bad}: {e}");
        }
        let e = profile(&format!(
            "id = \"A\"\n{rest}asset_id = {{ hash = [\"A\"] }}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("for `id` only"), "{e}");
    }

    #[test]
    fn unmapped_default_applies_when_the_profile_says_so() {
        let m = profile(&BASE.replace(
            "CM = \"corrective\" }",
            "CM = \"corrective\" }, unmapped = \"other\"",
        ))
        .unwrap();
        let o = row(&m, &["7", "x", "XX", "REL", "1", "2026-01-02", ""]).unwrap();
        assert_eq!(o.kind, Kind::Other);
    }

    #[test]
    fn missing_required_columns_are_named() {
        let m = profile(BASE).unwrap();
        let err = m.bind(&["ID".into(), "T".into()]).err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("`K (for kind)`") && text.contains("`C (for created_at)`"),
            "{text}"
        );
        assert!(
            !text.contains("for priority"),
            "priority has a `missing` default: {text}"
        );
    }

    #[test]
    fn bad_profiles_name_the_key() {
        let e = profile(&BASE.replace("\"preventive\"", "\"preventative\"")).unwrap_err();
        assert!(
            e.to_string().contains("fields.kind") && e.to_string().contains("preventative"),
            "{e}"
        );
        let e = profile(&format!("{BASE}colour = \"X\"\n")).unwrap_err();
        assert!(e.to_string().contains("fields.colour"), "{e}");
        let e = profile("id = \"ID\"\n").unwrap_err();
        assert!(e.to_string().contains("fields."), "{e}");
    }

    #[test]
    fn every_shipped_profile_is_valid() {
        for (name, text) in BUILTIN_PROFILES {
            let m = Mapping::parse(text, name, Tz::UTC).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(m.name, *name);
        }
    }
}
