//! Text renderings of metrics for people (aligned tables, with red/amber/green markers) and for
//! spreadsheets (CSV). Functions of plain data, so they are tested without a terminal.

use crate::config::{Config, Rag};
use crate::metrics::orders::OrderRow;
use crate::metrics::{Kpis, Metrics, TREND_METRICS, Trend};
use crate::pull::{PullPlan, number};

/// How a metric is shown: its label, unit and decimals.
pub struct Display {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub decimals: usize,
}

/// The metrics a person reads, in the order they read them.
/// The unit of money metrics: shown as `[plant] currency`.
pub const CURRENCY: &str = "currency";

pub const DISPLAY: &[Display] = &[
    Display {
        key: "backlog_weeks",
        label: "Backlog",
        unit: "crew-weeks",
        decimals: 1,
    },
    Display {
        key: "ready_backlog_weeks",
        label: "Ready backlog",
        unit: "crew-weeks",
        decimals: 1,
    },
    Display {
        key: "backlog_hours",
        label: "Backlog hours",
        unit: "h",
        decimals: 0,
    },
    Display {
        key: "ready_backlog_hours",
        label: "Ready backlog hours",
        unit: "h",
        decimals: 0,
    },
    Display {
        key: "capacity_hours_per_week",
        label: "Crew capacity",
        unit: "h/week",
        decimals: 0,
    },
    Display {
        key: "open_count",
        label: "Open orders",
        unit: "",
        decimals: 0,
    },
    Display {
        key: "overdue_count",
        label: "Overdue orders",
        unit: "",
        decimals: 0,
    },
    Display {
        key: "mean_age_days",
        label: "Mean age of open orders",
        unit: "days",
        decimals: 1,
    },
    Display {
        key: "created_count",
        label: "Created in window",
        unit: "",
        decimals: 0,
    },
    Display {
        key: "completed_count",
        label: "Completed in window",
        unit: "",
        decimals: 0,
    },
    Display {
        key: "completion_ratio",
        label: "Completed / created",
        unit: "",
        decimals: 2,
    },
    Display {
        key: "on_time_pct",
        label: "Completed on time",
        unit: "%",
        decimals: 1,
    },
    Display {
        key: "reactive_pct",
        label: "Reactive work (hours)",
        unit: "%",
        decimals: 1,
    },
    Display {
        key: "reactive_count_pct",
        label: "Reactive work (orders)",
        unit: "%",
        decimals: 1,
    },
    Display {
        key: "reactive_to_planned_ratio",
        label: "Reactive : planned hours",
        unit: "",
        decimals: 2,
    },
    Display {
        key: "emergency_pct",
        label: "Emergency orders",
        unit: "%",
        decimals: 1,
    },
    Display {
        key: "reactive_hours",
        label: "Reactive hours",
        unit: "h",
        decimals: 0,
    },
    Display {
        key: "planned_hours",
        label: "Planned hours",
        unit: "h",
        decimals: 0,
    },
    Display {
        key: "pm_compliance_pct",
        label: "PM compliance",
        unit: "%",
        decimals: 1,
    },
    Display {
        key: "schedule_compliance_pct",
        label: "Schedule compliance",
        unit: "%",
        decimals: 1,
    },
    Display {
        key: "mttr_hours",
        label: "Mean time to repair",
        unit: "h",
        decimals: 1,
    },
    Display {
        key: "reactive_cost",
        label: "Reactive cost",
        unit: "currency",
        decimals: 0,
    },
    Display {
        key: "planned_cost",
        label: "Planned cost",
        unit: "currency",
        decimals: 0,
    },
    Display {
        key: "reactive_cost_pct",
        label: "Reactive work (cost)",
        unit: "%",
        decimals: 1,
    },
];

pub fn display_of(key: &str) -> Option<&'static Display> {
    DISPLAY.iter().find(|d| d.key == key)
}

/// A value rounded as it is shown, so a red/amber/green judgement agrees with the number a person
/// reads (1.96 shown as 2.0 is inside a 2-to-4 band).
pub fn shown_value(key: &str, v: f64) -> f64 {
    let decimals = display_of(key).map_or(2, |d| d.decimals) as i32;
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// A value as a person reads it: rounded for display; "–" when there is none.
pub fn format_value(key: &str, v: Option<f64>) -> String {
    let decimals = display_of(key).map_or(2, |d| d.decimals);
    match v {
        None => "–".into(),
        Some(v) => format!("{v:.decimals$}"),
    }
}

fn paint(rag: Rag, text: &str, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match rag {
        Rag::Green => "32",
        Rag::Amber => "33",
        Rag::Red => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The marker of a value against its target: a symbol and a word, coloured when `colour`.
fn marker(cfg: &Config, key: &str, v: Option<f64>, colour: bool) -> (String, String) {
    match (cfg.targets.get(key), v) {
        (Some(t), Some(v)) => {
            let rag = t.judge(shown_value(key, v));
            (
                t.describe(),
                paint(rag, &format!("{} {}", rag.sign(), rag.word()), colour),
            )
        }
        (Some(t), None) => (t.describe(), String::new()),
        _ => (String::new(), String::new()),
    }
}

/// The `kpis` table for people.
pub fn kpis_table(k: &Kpis, cfg: &Config, colour: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} — {}, as of {} (flow over the last {} days)\n\n",
        cfg.plant.name,
        k.scope.label(),
        k.as_of,
        k.window_days
    ));
    out.push_str(&format!(
        "  {:<26} {:>10}  {:<10}  {:<12} {}\n",
        "metric", "value", "unit", "target", ""
    ));
    for d in DISPLAY {
        let v = k.metrics.get(d.key);
        let (target, mark) = marker(cfg, d.key, v, colour);
        out.push_str(&format!(
            "  {:<26} {:>10}  {:<10}  {:<12} {}\n",
            d.label,
            format_value(d.key, v),
            if d.unit == CURRENCY {
                cfg.plant.currency.as_str()
            } else {
                d.unit
            },
            target,
            mark
        ));
    }
    let a = &k.metrics.age_buckets;
    out.push_str(&format!(
        "  {:<26} 0-7 d: {}, 8-30 d: {}, 31-90 d: {}, 91+ d: {}\n",
        "Age of open orders", a.d0_7, a.d8_30, a.d31_90, a.d91
    ));
    if !k.by_crew.is_empty() {
        out.push_str(&format!(
            "\n  {:<24} {:>6} {:>9} {:>8} {:>10} {:>7} {:>7}\n",
            "crew", "open", "backlog", "overdue", "reactive", "PM", "sched."
        ));
        out.push_str(&format!(
            "  {:<24} {:>6} {:>9} {:>8} {:>10} {:>7} {:>7}\n",
            "", "", "wk", "", "% h", "%", "%"
        ));
        for c in &k.by_crew {
            let m = &c.metrics;
            out.push_str(&format!(
                "  {:<24} {:>6} {:>9} {:>8} {:>10} {:>7} {:>7}\n",
                c.crew,
                m.open_count,
                format_value("backlog_weeks", m.backlog_weeks),
                m.overdue_count,
                format_value("reactive_pct", m.reactive_pct),
                format_value("pm_compliance_pct", m.pm_compliance_pct),
                format_value("schedule_compliance_pct", m.schedule_compliance_pct),
            ));
        }
    }
    let q = &k.quality;
    out.push_str(&format!(
        "\n  Data quality: {} without estimate, {} without due date, {} of unknown kind, {} completed without a date, {} without asset; {} rows rejected by the last import\n",
        q.missing_estimate, q.missing_due, q.unknown_kind, q.completed_without_date, q.missing_asset, q.rejected_rows_last_import
    ));
    out
}

fn csv_header() -> Vec<String> {
    let mut h: Vec<String> = ["scope", "as_of", "window_days"].map(String::from).to_vec();
    h.extend(TREND_METRICS.iter().map(|s| s.to_string()));
    h.extend(["age_0_7", "age_8_30", "age_31_90", "age_91_plus"].map(String::from));
    h
}

fn csv_row(scope: &str, k: &Kpis, m: &Metrics) -> Vec<String> {
    let mut row = vec![
        scope.to_string(),
        k.as_of.to_string(),
        k.window_days.to_string(),
    ];
    row.extend(
        TREND_METRICS
            .iter()
            .map(|key| m.get(key).map(|v| v.to_string()).unwrap_or_default()),
    );
    let a = &m.age_buckets;
    row.extend([a.d0_7, a.d8_30, a.d31_90, a.d91].map(|n| n.to_string()));
    row
}

/// The `kpis` CSV: one row for the scope, then one per crew; values unrounded.
pub fn kpis_csv(k: &Kpis) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(csv_header()).expect("in memory");
    w.write_record(csv_row(&k.scope.key(), k, &k.metrics))
        .expect("in memory");
    for c in &k.by_crew {
        w.write_record(csv_row(&format!("crew:{}", c.crew), k, &c.metrics))
            .expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8")
}

/// The trend as JSON: `{"metrics": [...], "scope": ..., "points": [{"as_of": ..., key: value}]}`.
pub fn trend_json(t: &Trend) -> serde_json::Value {
    let points: Vec<serde_json::Value> = t
        .points
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("as_of".into(), p.as_of.to_string().into());
            for (k, v) in t.metrics.iter().zip(&p.values) {
                o.insert(k.clone(), v.map_or(serde_json::Value::Null, |v| v.into()));
            }
            o.into()
        })
        .collect();
    serde_json::json!({
        "metrics": t.metrics,
        "scope": t.scope,
        "window_days": t.window_days,
        "every": t.every,
        "points": points,
    })
}

/// The trend as CSV: `as_of` then one column per metric; values unrounded, empty when null.
pub fn trend_csv(t: &Trend) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["as_of".to_string()];
    header.extend(t.metrics.iter().cloned());
    w.write_record(&header).expect("in memory");
    for p in &t.points {
        let mut row = vec![p.as_of.to_string()];
        row.extend(
            p.values
                .iter()
                .map(|v| v.map(|v| v.to_string()).unwrap_or_default()),
        );
        w.write_record(&row).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8")
}

/// The trend as an aligned table, rounded for reading.
pub fn trend_table(t: &Trend) -> String {
    let widths: Vec<usize> = t.metrics.iter().map(|m| m.len().max(8)).collect();
    let mut out = format!("{:<10}", "as_of");
    for (m, w) in t.metrics.iter().zip(&widths) {
        out.push_str(&format!("  {m:>w$}"));
    }
    out.push('\n');
    for p in &t.points {
        out.push_str(&format!("{:<10}", p.as_of.to_string()));
        for ((m, v), w) in t.metrics.iter().zip(&p.values).zip(&widths) {
            out.push_str(&format!("  {:>w$}", format_value(m, *v)));
        }
        out.push('\n');
    }
    out
}

/// Cuts text to `n` characters for a table column, marking the cut with `…`.
fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn asset(o: &OrderRow) -> String {
    o.asset_name
        .clone()
        .or_else(|| o.asset_id.clone())
        .unwrap_or_else(|| "-".into())
}

/// The pull lists as a table for people: one block per crew, then the unassigned orders.
pub fn pull_table(plan: &PullPlan, cfg: &Config) -> String {
    let tz = cfg.plant.tz;
    let mut out = format!(
        "{} — {}: pull list for {}, scores at {} plant time\n",
        cfg.plant.name,
        plan.scope.label(),
        plan.date.format("%a %Y-%m-%d"),
        plan.at.with_timezone(&tz).format("%Y-%m-%d %H:%M")
    );
    let row = |n: &str,
               o: &OrderRow,
               score: f64,
               hours: String,
               cum: String,
               load: String,
               reason: &str| {
        format!(
            "  {:>3}  {:<12} {:<32} {:<18} P{} {:>6} {:>6} {:>7} {:>5}  {}\n",
            n,
            cut(&o.id, 12),
            cut(&o.title, 32),
            cut(&asset(o), 18),
            o.priority,
            number(score),
            hours,
            cum,
            load,
            reason
        )
    };
    let header = format!(
        "  {:>3}  {:<12} {:<32} {:<18} {:<2} {:>6} {:>6} {:>7} {:>5}  {}\n",
        "#", "order", "title", "asset", "P", "score", "hours", "cum. h", "load", "reason"
    );
    for lane in &plan.crews {
        out.push_str(&format!(
            "\n{}: {}; {}\n",
            lane.crew,
            lane.capacity_words(),
            lane.commitment_words()
        ));
        if lane.suggestions.is_empty() {
            out.push_str("  Nothing to pull.\n");
        } else {
            out.push_str(&header);
        }
        for (i, s) in lane.suggestions.iter().enumerate() {
            let reason = match (s.emergency, s.fits) {
                (true, true) => format!("EMERGENCY; {}", s.reason),
                (true, false) => format!("EMERGENCY, does not fit; {}", s.reason),
                _ => s.reason.clone(),
            };
            out.push_str(&row(
                &(i + 1).to_string(),
                &s.order,
                s.score,
                number(s.hours),
                number(s.cumulative_hours),
                s.load_pct.map_or("-".into(), |p| format!("{p:.0}%")),
                &reason,
            ));
        }
        if lane.too_big_count > 0 {
            let shown: Vec<String> = lane
                .too_big
                .iter()
                .map(|t| {
                    format!(
                        "{} ({} h, {} h left, score {})",
                        t.order.id,
                        number(t.hours),
                        number(t.hours_left),
                        number(t.score)
                    )
                })
                .collect();
            let more = lane.too_big_count - lane.too_big.len();
            out.push_str(&format!(
                "  Too big for what was left: {}{}\n",
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        if let Some(stop) = lane.stop_words() {
            out.push_str(&format!("  {stop}\n"));
        }
        for b in &lane.blocked {
            out.push_str(&format!(
                "  Blocked, outranks the list: {} {} ({}), score {}: {}\n",
                b.order.id,
                cut(&b.order.title, 32),
                b.order.status,
                number(b.score),
                b.reason
            ));
        }
        if lane.blocked_count > lane.blocked.len() {
            out.push_str(&format!(
                "  ... and {} more blocked orders outrank the list\n",
                lane.blocked_count - lane.blocked.len()
            ));
        }
    }
    if let Some(u) = &plan.unassigned {
        out.push_str(&format!(
            "\nUnassigned (no configured crew): {} ready order{}, ranked, not planned against any capacity\n",
            u.total,
            if u.total == 1 { "" } else { "s" }
        ));
        if !u.orders.is_empty() {
            out.push_str(&header);
        }
        for (i, r) in u.orders.iter().enumerate() {
            out.push_str(&row(
                &(i + 1).to_string(),
                &r.order,
                r.score,
                number(r.order.estimate_hours),
                "-".into(),
                "-".into(),
                &r.reason,
            ));
        }
    }
    out
}

/// The suggestions as CSV, one row per suggestion (crew lanes) or ranked order (unassigned).
pub fn pull_csv(plan: &PullPlan) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "date",
        "crew",
        "rank",
        "source",
        "order_id",
        "title",
        "asset",
        "kind",
        "status",
        "priority",
        "criticality",
        "score",
        "hours",
        "cumulative_hours",
        "load_pct",
        "emergency",
        "fits",
        "reason",
    ];
    w.write_record(header).expect("writing to memory");
    let date = plan.date.to_string();
    let mut record = |crew: &str,
                      rank: usize,
                      o: &OrderRow,
                      score: f64,
                      hours: f64,
                      cum: Option<f64>,
                      load: Option<f64>,
                      emergency: bool,
                      fits: Option<bool>,
                      reason: &str| {
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
        w.write_record([
            date.clone(),
            crew.to_string(),
            rank.to_string(),
            o.source.clone(),
            o.id.clone(),
            o.title.clone(),
            o.asset_id.clone().unwrap_or_default(),
            o.kind.to_string(),
            o.status.to_string(),
            o.priority.to_string(),
            o.asset_criticality
                .map(|c| c.to_string())
                .unwrap_or_default(),
            format!("{score:.2}"),
            format!("{hours:.2}"),
            opt(cum),
            opt(load),
            emergency.to_string(),
            fits.map(|f| f.to_string()).unwrap_or_default(),
            reason.to_string(),
        ])
        .expect("writing to memory");
    };
    for lane in &plan.crews {
        for (i, s) in lane.suggestions.iter().enumerate() {
            record(
                &lane.crew,
                i + 1,
                &s.order,
                s.score,
                s.hours,
                Some(s.cumulative_hours),
                s.load_pct,
                s.emergency,
                Some(s.fits),
                &s.reason,
            );
        }
    }
    if let Some(u) = &plan.unassigned {
        for (i, r) in u.orders.iter().enumerate() {
            record(
                "",
                i + 1,
                &r.order,
                r.score,
                r.order.estimate_hours,
                None,
                None,
                r.order.kind == crate::model::Kind::Emergency,
                None,
                &r.reason,
            );
        }
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 text")
}

/// What `gemba import` prints for one file: the counts, the columns left empty, the first
/// rejections, and for a dry run the values found per mapped field.
pub fn import_summary(r: &crate::import::ImportReport, profile: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let c = r.counts;
    let sheet = r
        .sheet
        .as_ref()
        .map(|s| format!(", sheet {s}"))
        .unwrap_or_default();
    let _ = match r.run_id {
        Some(run) => writeln!(
            out,
            "{}{sheet}: read {}, upserted {}, rejected {} in {:.2} s (run {run}, source {}, profile {profile})",
            r.file.display(),
            c.read,
            c.upserted,
            c.rejected,
            r.seconds,
            r.source,
        ),
        None => writeln!(
            out,
            "dry run, nothing written: {}{sheet}: read {}, would import {}, rejected {} (source {}, profile {profile})",
            r.file.display(),
            c.read,
            c.upserted,
            c.rejected,
            r.source,
        ),
    };
    if !r.absent_columns.is_empty() {
        let _ = writeln!(
            out,
            "  columns not in the file, left empty: {}",
            r.absent_columns.join(", ")
        );
    }
    let unit = if r.sheet.is_some() { "row" } else { "line" };
    for rej in &r.first_rejections {
        let _ = writeln!(
            out,
            "  {unit} {}: {} = `{}`: {}",
            rej.line, rej.field, rej.value, rej.reason
        );
    }
    if c.rejected > r.first_rejections.len() as u64 {
        let more = c.rejected - r.first_rejections.len() as u64;
        let _ = match r.run_id {
            Some(run) => writeln!(
                out,
                "  ... {more} more; all of them: gemba imports --rejections {run}"
            ),
            None => writeln!(out, "  ... {more} more"),
        };
    }
    if !r.distinct.is_empty() {
        let _ = writeln!(
            out,
            "  values per mapped field (rows, most frequent first):"
        );
    }
    for d in &r.distinct {
        let cap = if d.count >= crate::import::DISTINCT_CAP {
            "+"
        } else {
            ""
        };
        let values: Vec<String> = d
            .top
            .iter()
            .map(|(v, n)| format!("`{}` {n}", v.chars().take(40).collect::<String>()))
            .collect();
        let more = d.count.saturating_sub(d.top.len());
        let _ = writeln!(
            out,
            "    {} <- {}: {}{cap} distinct{}: {}{}",
            d.field,
            d.column,
            d.count,
            if d.blank > 0 {
                format!(", {} blank", d.blank)
            } else {
                String::new()
            },
            values.join(", "),
            if more > 0 {
                format!(", ... {more} more")
            } else {
                String::new()
            }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_displayed_key_is_a_metric() {
        for d in DISPLAY {
            assert!(TREND_METRICS.contains(&d.key), "{}", d.key);
        }
        assert_eq!(format_value("backlog_weeks", Some(3.04999)), "3.0");
        assert_eq!(format_value("reactive_pct", None), "–");
        assert_eq!(shown_value("backlog_weeks", 1.96), 2.0);
        assert_eq!(shown_value("overdue_count", 25.4), 25.0);
    }
}
