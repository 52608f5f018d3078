//! A profile drafted from an export (`gemba profile new FILE`): each normalized field's column
//! guessed from the header's names (English, the CMMS names of cmms-apis.md, SAP's German and
//! technical names), the codes of the kind, status and priority columns listed with their
//! counts and mapped where their meaning is plain (the rest marked for the user), the date order
//! read off the sample, and an id rule: the id column, or a composed id when none looks like
//! one. Plain functions of the header and sample rows; the caller reads the file.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::model::{Field, Kind, Priority, Status};

/// An export's header and the first rows below it, as text.
#[derive(Debug, Clone)]
pub struct Sample {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Where it came from, for the profile's comments (`orders.csv`, `orders.xlsx, sheet IW39`).
    pub origin: String,
    /// The line or row of the header, when a title block stands above it.
    pub header_row: Option<u64>,
    /// The delimiter of a CSV file (`None` for a workbook).
    pub delimiter: Option<char>,
    /// Lines whose number of fields is not the header's, left out of `rows`.
    pub ragged: Vec<u64>,
}

/// A drafted profile: its text, and what was guessed, for the command's summary.
#[derive(Debug, Clone)]
pub struct Drafted {
    pub text: String,
    /// Field and the column it was matched to.
    pub matched: Vec<(Field, String)>,
    /// Codes left for the user to map, as `field: code`.
    pub to_fill: Vec<String>,
}

/// Names (lower case, letters and digits only) each field's column goes by, best first.
const NAMES: &[(Field, &[&str])] = &[
    (
        Field::Id,
        &[
            "id",
            "wonum",
            "workorderid",
            "workordernumber",
            "workorderno",
            "wonumber",
            "wono",
            "orderid",
            "ordernumber",
            "orderno",
            "order",
            "aufnr",
            "auftrag",
            "auftragsnummer",
            "workorder",
            "wo",
            "number",
            "ticket",
            "ticketid",
        ],
    ),
    (
        Field::Title,
        &[
            "title",
            "description",
            "shorttext",
            "ktext",
            "kurztext",
            "text",
            "summary",
            "subject",
            "name",
            "problem",
            "workdescription",
            "desc",
        ],
    ),
    (
        Field::Kind,
        &[
            "kind",
            "ordertype",
            "worktype",
            "auart",
            "auftragsart",
            "type",
            "wotype",
            "workordertype",
            "maintenancetype",
            "category",
            "maintenanceactivitytype",
            "ilart",
        ],
    ),
    (
        Field::Status,
        &[
            "status",
            "state",
            "systemstatus",
            "sysstatus",
            "userstatus",
            "wostatus",
            "stat",
            "orderstatus",
        ],
    ),
    (
        Field::Priority,
        &[
            "priority",
            "prio",
            "priok",
            "wopriority",
            "prioritaet",
            "priorität",
            "urgency",
        ],
    ),
    (
        Field::Site,
        &[
            "site",
            "siteid",
            "plant",
            "werk",
            "iwerk",
            "planningplant",
            "facility",
        ],
    ),
    (
        Field::Area,
        &[
            "area",
            "location",
            "locationname",
            "department",
            "functionallocation",
            "tplnr",
            "funcloc",
            "funktionsplatz",
            "bereich",
        ],
    ),
    (
        Field::Crew,
        &[
            "crew",
            "team",
            "teamname",
            "workcenter",
            "workcentre",
            "mainworkctr",
            "vaplz",
            "arbpl",
            "arbeitsplatz",
            "workgroup",
            "persongroup",
            "plannergroup",
            "ingrp",
            "craft",
            "trade",
        ],
    ),
    (
        Field::Assignee,
        &[
            "assignee",
            "assignedto",
            "assigned",
            "technician",
            "lead",
            "owner",
            "assignedtoemails",
            "person",
            "responsible",
            "leadcraft",
        ],
    ),
    (
        Field::AssetId,
        &[
            "assetid",
            "asset",
            "assetnum",
            "equipment",
            "equnr",
            "equipmentnumber",
            "equipmentid",
            "equipmentno",
            "assettag",
            "machine",
            "anlage",
            "assetnumber",
        ],
    ),
    (
        Field::AssetName,
        &[
            "assetname",
            "assetdescription",
            "equipmentdescription",
            "eqktx",
            "machinename",
            "equipmentname",
        ],
    ),
    (
        Field::AssetCriticality,
        &[
            "assetcriticality",
            "criticality",
            "abcindicator",
            "abckz",
            "abc",
        ],
    ),
    (
        Field::CreatedAt,
        &[
            "createdat",
            "created",
            "createdon",
            "createddate",
            "datecreated",
            "reportdate",
            "reported",
            "reportedon",
            "erdat",
            "angelegtam",
            "opened",
            "openedon",
            "requestdate",
            "notificationdate",
        ],
    ),
    (
        Field::DueAt,
        &[
            "dueat",
            "due",
            "duedate",
            "targetfinish",
            "targcompdate",
            "gltrp",
            "basicfinish",
            "bscfinishdate",
            "basicfinishdate",
            "requiredby",
            "eckendtermin",
        ],
    ),
    (
        Field::ScheduledStart,
        &[
            "scheduledstart",
            "schedstart",
            "targetstart",
            "targstartdate",
            "gstrp",
            "basicstart",
            "bscstartdate",
            "basicstartdate",
            "plannedstart",
            "ecksterm",
        ],
    ),
    (
        Field::StartedAt,
        &[
            "startedat",
            "started",
            "actstart",
            "actualstart",
            "startdate",
            "gstri",
        ],
    ),
    (
        Field::CompletedAt,
        &[
            "completedat",
            "completed",
            "completedon",
            "completiondate",
            "actfinish",
            "actualfinish",
            "finished",
            "closedon",
            "closeddate",
            "closed",
            "getri",
            "idat2",
            "donedate",
        ],
    ),
    (
        Field::UpdatedAt,
        &[
            "updatedat",
            "updated",
            "changedon",
            "changedate",
            "lastmodified",
            "modified",
            "aedat",
        ],
    ),
    (
        Field::EstimatedHours,
        &[
            "estimatedhours",
            "estimate",
            "esthrs",
            "estdur",
            "estimatedduration",
            "plannedhours",
            "plannedwork",
            "arbei",
            "workplanned",
        ],
    ),
    (
        Field::ActualHours,
        &[
            "actualhours",
            "actlabhrs",
            "actualwork",
            "ismnw",
            "hoursworked",
            "laborhours",
            "labourhours",
            "timespent",
            "actualduration",
        ],
    ),
    (
        Field::DowntimeHours,
        &[
            "downtimehours",
            "downtime",
            "breakdownduration",
            "ausfalldauer",
            "auszt",
        ],
    ),
    (
        Field::PmIntervalDays,
        &[
            "pmintervaldays",
            "interval",
            "frequency",
            "intervaldays",
            "cycle",
        ],
    ),
    (
        Field::Cost,
        &[
            "cost",
            "totalcost",
            "acttotalcost",
            "actualcost",
            "costs",
            "kosten",
            "istkosten",
            "actualcosts",
            "totalactualcosts",
            "amount",
        ],
    ),
    (
        Field::FailureCode,
        &[
            "failurecode",
            "failure",
            "problemcode",
            "causecode",
            "damagecode",
            "schadensbild",
            "fecod",
            "urcod",
            "cause",
            "reasoncode",
            "problem",
        ],
    ),
];

/// A header name reduced to what matching compares: lower-case letters and digits.
fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Each field's column: the best-ranked name of each field that the header has; a column goes
/// to one field only (the first field in [`NAMES`] order that names it best).
pub fn guess_columns(header: &[String]) -> BTreeMap<Field, usize> {
    let squashed: Vec<String> = header.iter().map(|h| squash(h)).collect();
    let mut taken = vec![false; header.len()];
    let mut out = BTreeMap::new();
    for (field, names) in NAMES {
        for name in *names {
            if let Some(i) = squashed.iter().position(|h| h == name)
                && !taken[i]
            {
                taken[i] = true;
                out.insert(*field, i);
                break;
            }
        }
    }
    out
}

/// A normalized value a code plainly means, for the fields whose codes a profile maps.
fn plain_meaning(field: Field, code: &str) -> Option<String> {
    let s = squash(code);
    let kind = |k: Kind| Some(k.to_string());
    let status = |v: Status| Some(v.to_string());
    match field {
        Field::Kind => {
            if let Ok(k) = code.parse::<Kind>() {
                return kind(k);
            }
            match s.as_str() {
                "breakdown" | "emergency" | "urgent" | "em" | "bd" | "reactive" => {
                    kind(Kind::Emergency)
                }
                "corrective" | "repair" | "cm" | "correctivemaintenance" | "fault" => {
                    kind(Kind::Corrective)
                }
                "plannedcorrective" | "followup" | "planned" => kind(Kind::PlannedCorrective),
                "preventive"
                | "preventative"
                | "pm"
                | "preventivemaintenance"
                | "routine"
                | "inspection"
                | "lubrication"
                | "service" => kind(Kind::Preventive),
                "predictive" | "pdm" | "conditionbased" | "cbm" => kind(Kind::Predictive),
                "project" | "improvement" | "modification" | "capital" => kind(Kind::Project),
                _ => None,
            }
        }
        Field::Status => {
            if let Ok(v) = code.parse::<Status>() {
                return status(v);
            }
            match s.as_str() {
                "open" | "new" | "waitingapproval" | "wappr" | "crtd" | "created" | "request" => {
                    status(Status::Requested)
                }
                "appr" | "approved" | "rel" | "released" => status(Status::Approved),
                "sched" | "scheduled" | "planned" => status(Status::Scheduled),
                "inprogress" | "inprg" | "started" | "active" | "working" => {
                    status(Status::InProgress)
                }
                "onhold" | "hold" | "waiting" | "waitingforparts" | "wmatl" | "paused" => {
                    status(Status::OnHold)
                }
                "complete" | "completed" | "comp" | "done" | "closed" | "close" | "teco"
                | "clsd" | "finished" | "resolved" => status(Status::Completed),
                "cancelled" | "canceled" | "can" | "void" | "deleted" | "dlfl" => {
                    status(Status::Cancelled)
                }
                _ => None,
            }
        }
        Field::Priority => {
            if let Ok(p) = code.parse::<Priority>() {
                return Some(p.to_string());
            }
            match s.as_str() {
                "critical" | "emergency" | "urgent" | "veryhigh" | "immediate" => Some("1".into()),
                "high" => Some("2".into()),
                "medium" | "normal" | "med" => Some("3".into()),
                "low" => Some("4".into()),
                "verylow" | "none" | "lowest" => Some("5".into()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The day order the sample's slash and dot dates show: a first part above 12 is a day (dmy),
/// a second part above 12 is a day (mdy); dots are read day-first when nothing tells.
fn day_order(values: &[&str]) -> Option<&'static str> {
    let mut dot = false;
    let mut slash = false;
    for v in values {
        let date = v.split([' ', 'T']).next().unwrap_or("");
        let sep = if date.contains('/') {
            slash = true;
            '/'
        } else if date.contains('.') {
            dot = true;
            '.'
        } else {
            continue;
        };
        let parts: Vec<u32> = date.split(sep).filter_map(|p| p.parse().ok()).collect();
        if parts.len() != 3 || parts[0] > 31 {
            continue;
        }
        if parts[0] > 12 {
            return Some("dmy");
        }
        if parts[1] > 12 {
            return Some("mdy");
        }
    }
    match (dot, slash) {
        (true, _) => Some("dmy"),
        (false, true) => None,
        _ => None,
    }
}

/// Whether a value reads as a date or time (ISO, slash or dot dates).
fn looks_like_date(v: &str) -> bool {
    let d = v.split([' ', 'T']).next().unwrap_or("");
    let parts: Vec<&str> = d.split(['-', '/', '.']).collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// TOML text of a string.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Drafts the profile `name` from `sample`.
pub fn draft(sample: &Sample, name: &str) -> Drafted {
    let header = &sample.header;
    let mut cols = guess_columns(header);
    let column = |i: usize| {
        sample
            .rows
            .iter()
            .map(move |r| r.get(i).map(String::as_str).unwrap_or(""))
    };
    // A date column the names did not place: the first column of dates becomes created_at.
    if !cols.contains_key(&Field::CreatedAt) {
        let placed: Vec<usize> = cols.values().copied().collect();
        if let Some(i) = (0..header.len()).find(|i| {
            !placed.contains(i)
                && column(*i).filter(|v| !v.is_empty()).all(looks_like_date)
                && column(*i).any(|v| !v.is_empty())
        }) {
            cols.insert(Field::CreatedAt, i);
        }
        // Or the start date the names placed as scheduled start.
        else if let Some(i) = cols.get(&Field::ScheduledStart).copied() {
            cols.insert(Field::CreatedAt, i);
        }
    }
    // An id column only when its sample values are there and unique.
    let id_ok = cols.get(&Field::Id).is_some_and(|&i| {
        let mut seen = std::collections::HashSet::new();
        column(i).all(|v| !v.is_empty() && seen.insert(v))
    });
    let mut out = String::new();
    let mut to_fill = Vec::new();
    let _ = writeln!(
        out,
        "# Drafted by `gemba profile new` from {}. Check every line, fill in the codes marked\n\
         # FILL IN, then try it: gemba import FILE --profile {name} --dry-run\n\
         # docs/profiles.md says what each key means.",
        sample.origin
    );
    if !sample.ragged.is_empty() {
        let lines: Vec<String> = sample.ragged.iter().take(10).map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "# Left out of the sample: {} row(s) with another number of fields than the header\n\
             # (a delimiter inside an unquoted value?), on line(s) {}. The import rejects them.",
            sample.ragged.len(),
            lines.join(", ")
        );
    }
    let _ = writeln!(out, "name = {}", quote(name));
    let _ = writeln!(
        out,
        "description = {}",
        quote(&format!("Drafted from {}", sample.origin))
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "[csv]");
    match sample.delimiter {
        Some(d) => {
            let _ = writeln!(out, "delimiter = {}", quote(&d.to_string()));
        }
        None => {
            let _ = writeln!(out, "# A workbook: the delimiter does not apply.");
        }
    }
    if let Some(row) = sample.header_row {
        let _ = writeln!(
            out,
            "# The column names are on row {row}, below a title block: the import finds them as the\n\
             # first row naming this profile's columns. To pin the row instead:\n# header_row = {row}"
        );
    }
    let date_values: Vec<&str> = cols
        .iter()
        .filter(|(f, _)| f.is_timestamp())
        .flat_map(|(_, &i)| column(i))
        .filter(|v| !v.is_empty())
        .collect();
    let _ = writeln!(out);
    let _ = writeln!(out, "[dates]");
    match day_order(&date_values) {
        Some(order) => {
            let _ = writeln!(
                out,
                "# The sample's dates put the {} first.\norder = \"{order}\"",
                if order == "dmy" { "day" } else { "month" }
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# The sample's dates are year-first (ISO) or do not tell day from month; set\n\
                 # order = \"dmy\" or \"mdy\" if they are 03/04/2026-like.\norder = \"ymd\""
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "[fields]");
    if id_ok {
        let _ = writeln!(out, "id = {}", quote(&header[cols[&Field::Id]]));
    } else {
        let parts: Vec<String> = [Field::AssetId, Field::CreatedAt, Field::Title]
            .iter()
            .filter_map(|f| cols.get(f).map(|&i| quote(&header[i])))
            .collect();
        let parts = if parts.is_empty() {
            header.iter().take(3).map(|h| quote(h)).collect()
        } else {
            parts
        };
        let why = match cols.get(&Field::Id) {
            Some(&i) => format!(
                "Column `{}` looked like the id, but its sample values are blank or repeat",
                header[i]
            ),
            None => "No column looks like an order id".to_string(),
        };
        let _ = writeln!(
            out,
            "# {why}: the order is what these columns say together. A later export that changes\n\
             # one of them makes a new order; use hash = \"row\" to follow whole rows instead.\n\
             id = {{ from = [{}] }}",
            parts.join(", ")
        );
    }
    let mapped = [Field::Kind, Field::Status, Field::Priority];
    let mut matched = Vec::new();
    for f in Field::ALL {
        if f == Field::Id || mapped.contains(&f) {
            continue;
        }
        match cols.get(&f) {
            Some(&i) => {
                matched.push((f, header[i].clone()));
                let _ = writeln!(out, "{} = {}", f.name(), quote(&header[i]));
            }
            None if f.is_required() => {
                let _ = writeln!(
                    out,
                    "# {} is required and no column looked like it: name the column.\n{} = \"FILL IN\"",
                    f.name(),
                    f.name()
                );
                to_fill.push(format!("{}: its column", f.name()));
            }
            None => {}
        }
    }
    if let Some(&i) = cols.get(&Field::Id).filter(|_| id_ok) {
        matched.insert(0, (Field::Id, header[i].clone()));
    }
    let unused: Vec<&str> = (0..header.len())
        .filter(|i| !cols.values().any(|c| c == i))
        .map(|i| header[i].as_str())
        .filter(|h| !h.is_empty())
        .collect();
    if !unused.is_empty() {
        let _ = writeln!(
            out,
            "# Columns no field reads: {}",
            unused
                .iter()
                .map(|h| format!("`{h}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Constants first: they belong to [fields], before the tables of the mapped codes.
    for f in mapped.iter().filter(|f| !cols.contains_key(f)) {
        let constant = match f {
            Field::Status => "\"completed\"",
            Field::Priority => "3",
            _ => "\"corrective\"",
        };
        let _ = writeln!(
            out,
            "# No column looked like the {}: every order gets this value. Name a column\n\
             # (from = \"...\") with a map instead if the export has one.\n{} = {{ value = {constant} }}",
            f.name(),
            f.name()
        );
    }
    for f in mapped {
        let Some(&i) = cols.get(&f) else {
            continue;
        };
        let _ = writeln!(out);
        matched.push((f, header[i].clone()));
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut blank = 0;
        for v in column(i) {
            if v.trim().is_empty() {
                blank += 1;
            } else {
                *counts.entry(v.trim().to_string()).or_insert(0) += 1;
            }
        }
        let mut by_count: Vec<(String, u64)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let _ = writeln!(out, "[fields.{}]", f.name());
        let _ = writeln!(out, "from = {}", quote(&header[i]));
        if blank > 0 {
            let _ = writeln!(
                out,
                "# {blank} sample row(s) have no {}; without `missing = ...` they are rejected.",
                f.name()
            );
        }
        let choices = match f {
            Field::Kind => Kind::spellings(),
            Field::Status => Status::spellings(),
            _ => "1 (highest) to 5".to_string(),
        };
        let _ = writeln!(
            out,
            "[fields.{}.map]\n# Code in the export = {}: {choices}. Counts are of the {} sample rows.",
            f.name(),
            f.name(),
            sample.rows.len()
        );
        let numeric_priority =
            f == Field::Priority && by_count.iter().all(|(c, _)| c.parse::<Priority>().is_ok());
        if numeric_priority {
            let _ = writeln!(out, "# The codes are already 1 to 5: no map needed.");
            continue;
        }
        for (code, n) in &by_count {
            match plain_meaning(f, code) {
                Some(v) => {
                    let v = if f == Field::Priority { v } else { quote(&v) };
                    let _ = writeln!(out, "{} = {v}  # {n} row(s)", quote(code));
                }
                None => {
                    to_fill.push(format!("{}: `{code}`", f.name()));
                    let _ = writeln!(
                        out,
                        "{} = \"FILL IN\"  # {n} row(s): what does this code mean?",
                        quote(code)
                    );
                }
            }
        }
    }
    Drafted {
        text: out,
        matched,
        to_fill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(header: &[&str], rows: &[&[&str]]) -> Sample {
        Sample {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .collect(),
            origin: "test.csv".into(),
            header_row: None,
            delimiter: Some(','),
            ragged: Vec::new(),
        }
    }

    #[test]
    fn columns_are_found_by_their_cmms_names() {
        let h: Vec<String> = [
            "WONUM",
            "Description",
            "WORKTYPE",
            "Status",
            "WOPRIORITY",
            "ASSETNUM",
            "REPORTDATE",
            "ACTTOTALCOST",
            "Failure Code",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let cols = guess_columns(&h);
        assert_eq!(cols[&Field::Id], 0);
        assert_eq!(cols[&Field::Title], 1);
        assert_eq!(cols[&Field::Kind], 2);
        assert_eq!(cols[&Field::Status], 3);
        assert_eq!(cols[&Field::Priority], 4);
        assert_eq!(cols[&Field::AssetId], 5);
        assert_eq!(cols[&Field::CreatedAt], 6);
        assert_eq!(cols[&Field::Cost], 7);
        assert_eq!(cols[&Field::FailureCode], 8);
        // SAP's German report columns.
        let h: Vec<String> = [
            "Auftrag",
            "Kurztext",
            "Auftragsart",
            "Equipment",
            "Angelegt am",
            "Istkosten",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let cols = guess_columns(&h);
        assert_eq!(
            cols.into_iter().collect::<Vec<_>>(),
            vec![
                (Field::Id, 0),
                (Field::Title, 1),
                (Field::Kind, 2),
                (Field::AssetId, 3),
                (Field::CreatedAt, 4),
                (Field::Cost, 5)
            ]
        );
    }

    #[test]
    fn day_order_is_read_off_the_dates() {
        assert_eq!(day_order(&["03/04/2026", "31/03/2026"]), Some("dmy"));
        assert_eq!(day_order(&["03/31/2026 08:00"]), Some("mdy"));
        assert_eq!(day_order(&["01.02.2026"]), Some("dmy"));
        assert_eq!(day_order(&["2026-03-31"]), None);
        assert_eq!(day_order(&["03/04/2026"]), None);
    }

    #[test]
    fn a_file_without_an_id_gets_a_composed_id_and_marked_codes() {
        let s = sample(
            &["Asset", "BscStartDate", "Text", "OrderType", "Cost"],
            &[
                &["P-1", "2026-03-02", "Seal leaking", "PM02", "412.5"],
                &["C-3", "2026-03-03", "Lubrication", "PM03", "45"],
                &["C-3", "2026-03-03", "Lubrication", "Preventive", "45"],
            ],
        );
        let d = draft(&s, "report");
        assert!(
            d.text
                .contains("id = { from = [\"Asset\", \"BscStartDate\", \"Text\"] }"),
            "{}",
            d.text
        );
        assert!(d.text.contains("created_at = \"BscStartDate\""));
        assert!(d.text.contains("\"PM02\" = \"FILL IN\"  # 1 row(s)"));
        assert!(d.text.contains("\"Preventive\" = \"preventive\""));
        assert!(d.text.contains("status = { value = \"completed\" }"));
        assert_eq!(d.to_fill, vec!["kind: `PM02`", "kind: `PM03`"]);
        // The draft is a profile once its codes are filled in.
        let filled = d.text.replace("\"FILL IN\"", "\"corrective\"");
        crate::mapping::Mapping::parse(&filled, "draft", chrono_tz::UTC).unwrap();
    }

    #[test]
    fn plain_codes_are_mapped_and_a_unique_id_column_is_used() {
        let s = sample(
            &[
                "Work Order #",
                "Title",
                "Type",
                "State",
                "Priority",
                "Created",
            ],
            &[
                &["1", "a", "Breakdown", "Open", "High", "31/03/2026"],
                &["2", "b", "PM", "Closed", "Low", "01/04/2026"],
            ],
        );
        let d = draft(&s, "x");
        assert!(d.to_fill.is_empty(), "{:?}\n{}", d.to_fill, d.text);
        assert!(d.text.contains("id = \"Work Order #\""));
        assert!(d.text.contains("order = \"dmy\""));
        assert!(d.text.contains("\"Breakdown\" = \"emergency\""));
        assert!(d.text.contains("\"High\" = 2"));
        let m = crate::mapping::Mapping::parse(&d.text, "draft", chrono_tz::UTC).unwrap();
        let (bound, _) = m.bind(&s.header).unwrap();
        let row = &s.rows[0];
        let o = bound
            .map_record("x", |i| row.get(i).map(String::as_str))
            .unwrap();
        assert_eq!(o.kind, Kind::Emergency);
        assert_eq!(o.status, Status::Requested);
    }
}
