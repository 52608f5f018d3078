//! Assets, bad actors and an A3's follow-up through the real server, on a hand-built fixture
//! (`tests/fixtures/assets/plant.csv`): every asset number of `/api/v1/assets` and the Pareto
//! of `/api/v1/assets/pareto` against an independent computation of docs/metrics.md "Assets"
//! written here from the CSV rows (the style of `metrics_oracle.rs`): the window's edges, a
//! cancelled order, an order after the as-of day, an asset with one breakdown and one with
//! none, an order with no asset. Then an A3's before/after check, and its verdict turning when
//! orders after the in-place day are imported.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::server::Server;
use crate::support::{Sandbox, fixture, ok};

const DAY: f64 = 86_400_000.0;

/// One row of the fixture, read naively.
#[derive(Debug, Clone)]
struct Row {
    kind: String,
    status: String,
    asset: Option<String>,
    created: i64,
    due: Option<i64>,
    started: Option<i64>,
    done: Option<i64>,
    hours: f64,
    downtime: Option<f64>,
    cost: Option<f64>,
    code: Option<String>,
}

/// A bare date is plant midnight (a due date: the next midnight); else RFC 3339.
fn instant(s: &str, due: bool) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if s.len() == 10 {
        let d: NaiveDate = s.parse().unwrap();
        let d = if due { d + Duration::days(1) } else { d };
        return Some(
            Berlin
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .unwrap()
                .timestamp_millis(),
        );
    }
    Some(DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis())
}

fn rows(name: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            let f = |k: &str| v[head.iter().position(|h| *h == k).unwrap()];
            let num = |k: &str| f(k).parse::<f64>().ok();
            let actual = num("actual_hours").filter(|h| *h > 0.0);
            Row {
                kind: f("kind").into(),
                status: f("status").into(),
                asset: Some(f("asset_id").to_string()).filter(|a| !a.is_empty()),
                created: instant(f("created_at"), false).unwrap(),
                due: instant(f("due_at"), true),
                started: instant(f("started_at"), false),
                done: instant(f("completed_at"), false),
                hours: actual.or(num("estimated_hours")).unwrap(),
                downtime: num("downtime_hours"),
                cost: num("cost"),
                code: Some(f("failure_code").to_string()).filter(|c| !c.is_empty()),
            }
        })
        .collect()
}

/// The as-of instant: the end of 31 March 2026 in plant time.
fn t() -> i64 {
    instant("2026-03-31", true).unwrap()
}

fn reactive(r: &Row) -> bool {
    r.kind == "emergency" || r.kind == "corrective"
}

/// Every number of one asset by the definitions of docs/metrics.md, one loop per number.
fn oracle(all: &[Row], asset: &str, w: i64) -> BTreeMap<&'static str, Value> {
    let t = t();
    let from = t - w * DAY as i64;
    let rows: Vec<&Row> = all
        .iter()
        .filter(|r| r.asset.as_deref() == Some(asset) && r.status != "cancelled" && r.created < t)
        .collect();
    let in_w = |x: i64| from <= x && x < t;
    let done_in = |r: &Row| r.done.is_some_and(in_w);
    let mut breakdowns: Vec<i64> = rows
        .iter()
        .filter(|r| reactive(r) && in_w(r.created))
        .map(|r| r.created)
        .collect();
    breakdowns.sort();
    let count = breakdowns.len() as f64;
    let hours: f64 = rows
        .iter()
        .filter(|r| reactive(r) && done_in(r))
        .map(|r| r.hours)
        .sum();
    let downtime: f64 = rows
        .iter()
        .filter(|r| done_in(r))
        .map(|r| r.downtime.unwrap_or(0.0))
        .sum();
    let cost: f64 = rows
        .iter()
        .filter(|r| done_in(r))
        .map(|r| r.cost.unwrap_or(0.0))
        .sum();
    let operating = w as f64 * 24.0 - downtime;
    let repairs: Vec<f64> = rows
        .iter()
        .filter(|r| reactive(r) && done_in(r))
        .filter_map(|r| {
            r.downtime.or(r
                .started
                .map(|s| (r.done.unwrap() - s) as f64 / 3_600_000.0))
        })
        .collect();
    let open = |r: &&&Row| r.done.is_none_or(|d| d >= t);
    let pm = |r: &Row| r.kind == "preventive" || r.kind == "predictive";
    let pm_due: Vec<&&Row> = rows
        .iter()
        .filter(|r| pm(r) && r.due.is_some_and(in_w))
        .collect();
    let pm_ok = pm_due
        .iter()
        .filter(|r| r.done.is_some_and(|d| d <= r.due.unwrap()))
        .count();
    let recent = rows
        .iter()
        .filter(|r| reactive(r) && r.created >= t - 30 * DAY as i64)
        .count() as f64;
    let first = rows.iter().map(|r| r.created).min().unwrap();
    let usual_from = first.max(t - 365 * DAY as i64);
    let usual_span = (t - 30 * DAY as i64 - usual_from) as f64 / DAY;
    let before = rows
        .iter()
        .filter(|r| reactive(r) && r.created >= usual_from && r.created < t - 30 * DAY as i64)
        .count() as f64;
    let usual = (usual_span >= 30.0).then(|| before * 30.0 / usual_span);
    let open_em = rows
        .iter()
        .filter(open)
        .filter(|r| r.kind == "emergency")
        .count();
    let overdue = rows
        .iter()
        .filter(open)
        .filter(|r| pm(r) && r.due.is_some_and(|d| d < t))
        .count();
    let red = open_em > 0 || recent >= 3.0;
    let amber = overdue > 0 || (recent >= 2.0 && usual.is_some_and(|u| recent > u));
    let opt = |v: Option<f64>| v.map_or(Value::Null, |v| json!(v));
    BTreeMap::from([
        ("reactive_count", json!(count)),
        ("reactive_hours", json!(hours)),
        ("downtime_hours", json!(downtime)),
        ("cost", json!(cost)),
        ("operating_hours", json!(operating)),
        ("mtbf_hours", opt((count > 0.0).then(|| operating / count))),
        (
            "mean_gap_days",
            opt((breakdowns.len() >= 2).then(|| {
                (breakdowns[breakdowns.len() - 1] - breakdowns[0]) as f64 / DAY / (count - 1.0)
            })),
        ),
        (
            "mttr_hours",
            opt((!repairs.is_empty()).then(|| repairs.iter().sum::<f64>() / repairs.len() as f64)),
        ),
        ("open_emergencies", json!(open_em)),
        ("overdue_pms", json!(overdue)),
        (
            "pm_compliance_pct",
            opt((!pm_due.is_empty()).then(|| pm_ok as f64 * 100.0 / pm_due.len() as f64)),
        ),
        ("breakdowns_30d", json!(recent)),
        ("usual_30d", opt(usual)),
        (
            "level",
            json!(if red {
                "red"
            } else if amber {
                "amber"
            } else {
                "green"
            }),
        ),
    ])
}

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

fn serve_fixture() -> (Sandbox, Server) {
    let sandbox = Sandbox::new();
    ok(&sandbox.gemba(&[
        "import",
        &fixture("assets/plant.csv"),
        "--profile",
        "generic",
    ]));
    let s = Server::start(&sandbox, &[]);
    (sandbox, s)
}

#[tokio::test]
async fn asset_numbers_and_the_pareto_equal_an_independent_computation() {
    let (_sandbox, s) = serve_fixture();
    let all = rows("assets/plant.csv");
    for w in [28i64, 7, 90] {
        let r = s
            .json(&format!("/api/v1/assets?as_of=2026-03-31&window_days={w}"))
            .await;
        let assets = r["assets"].as_array().unwrap();
        let ids: Vec<&str> = assets
            .iter()
            .map(|a| a["asset_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["C3", "F1", "M2", "P7"], "no asset is no asset: {r}");
        for a in assets {
            let id = a["asset_id"].as_str().unwrap();
            for (k, want) in oracle(&all, id, w) {
                let got = if k == "level" {
                    &a["health"]["level"]
                } else {
                    &a[k]
                };
                assert!(close(got, &want), "{id} {k} over {w} days: {got} != {want}");
            }
        }
        // What no bar shows: the order without an asset.
        assert_eq!(
            r["no_asset"]["reactive_count"],
            if w >= 28 { json!(1) } else { json!(0) }
        );
    }

    // Read by hand too, over 28 days: four breakdowns on F1 (the cancelled one and the one after
    // the as-of day left out), an open emergency and repeat failures; P7's first breakdown a
    // minute before the window opens counts for hours but not as a breakdown.
    let r = s.json("/api/v1/assets?as_of=2026-03-31").await;
    let f1 = &r["assets"][1];
    assert_eq!(
        (f1["reactive_count"].as_u64(), f1["reactive_hours"].as_f64()),
        (Some(4), Some(10.0))
    );
    assert_eq!(f1["mttr_hours"].as_f64(), Some(14.0 / 3.0));
    assert_eq!(
        f1["health"]["reasons"],
        json!([
            "1 emergency open",
            "repeat failures: 4 breakdowns in 30 days"
        ])
    );
    let p7 = &r["assets"][3];
    assert_eq!(
        (p7["reactive_count"].as_u64(), p7["reactive_hours"].as_f64()),
        (Some(1), Some(3.5))
    );
    assert_eq!(
        (p7["mean_gap_days"].clone(), p7["mttr_hours"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(
        p7["health"]["reasons"],
        json!(["2 breakdowns in 30 days, usually 0.1", "1 PM overdue"])
    );
    let c3 = &r["assets"][0];
    assert_eq!(
        (c3["mtbf_hours"].clone(), c3["health"]["level"].clone()),
        (Value::Null, json!("green"))
    );

    // The Pareto by reactive hours: largest first, cumulative shares, the 80 % cut.
    let p = s.json("/api/v1/assets/pareto?as_of=2026-03-31").await;
    let keys: Vec<&str> = p["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["F1", "P7", "M2"], "C3 has no reactive hours: no bar");
    let cum: Vec<f64> = p["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["cumulative_pct"].as_f64().unwrap())
        .collect();
    let total = 10.0 + 3.5 + 1.0;
    for (got, want) in cum
        .iter()
        .zip([10.0 / total, 13.5 / total, 1.0].map(|x| x * 100.0))
    {
        assert!((got - want).abs() < 1e-9, "{cum:?}");
    }
    let few: Vec<bool> = p["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["vital_few"].as_bool().unwrap())
        .collect();
    assert_eq!(few, [true, true, false], "P7 starts at 69 %, M2 at 93 %");
    assert_eq!(
        (p["total"].as_f64(), p["left_out"].as_f64()),
        (Some(total), Some(4.0))
    );
    // By failure code and count: BRG has F1's three and X-1's, SEAL F1's and M2's.
    let c = s
        .json("/api/v1/assets/pareto?as_of=2026-03-31&by=code&measure=reactive_count")
        .await;
    let bars: Vec<(String, f64)> = c["bars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["value"].as_f64().unwrap(),
            )
        })
        .collect();
    let mut by_code: BTreeMap<String, f64> = BTreeMap::new();
    let from = t() - 28 * DAY as i64;
    for r in all
        .iter()
        .filter(|r| r.status != "cancelled" && reactive(r) && from <= r.created && r.created < t())
    {
        if let Some(c) = &r.code {
            *by_code.entry(c.clone()).or_default() += 1.0;
        }
    }
    let mut want: Vec<(String, f64)> = by_code.into_iter().collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(bars, want);
    assert_eq!(bars, [("BRG".to_string(), 4.0), ("SEAL".to_string(), 2.0)]);
    assert_eq!(c["left_out"].as_f64(), Some(1.0), "P7's uncoded breakdown");

    // The pages: the list sorted, the grid with its reasons, the Pareto, an asset's page.
    let list = s.text("/assets?as_of=2026-03-31&sort=reactive_count").await;
    assert!(list.find("Filler 1").unwrap() < list.find("Pump 7").unwrap());
    let grid = s.text("/assets/health").await;
    assert!(grid.contains("asset-tile red") && grid.contains("1 emergency open"));
    let pareto = s.text("/assets/pareto?as_of=2026-03-31").await;
    assert!(pareto.contains("2 assets") && pareto.contains("/a3?asset=F1"));
    let page = s.text("/assets/F1").await;
    assert!(
        page.contains("svg class=\"timeline\"") && page.contains("F1-4"),
        "its open emergency"
    );
    // Bad input is a 400 naming the parameter; an unknown asset a 404.
    for (path, field) in [
        ("/api/v1/assets/pareto?measure=uptime", "measure:"),
        ("/api/v1/assets/pareto?by=crew", "by:"),
        ("/api/v1/assets?window_days=0", "window_days:"),
        ("/api/v1/assets?as_of=31.03.2026", "as_of:"),
        ("/assets?sort=colour", "sort:"),
    ] {
        let r = reqwest::get(s.url(path)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(r.text().await.unwrap().contains(field), "{path}");
    }
    let r = reqwest::get(s.url("/api/v1/assets/NOPE")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_a3_follow_up_is_measured_before_and_after_and_turns_with_new_orders() {
    let (sandbox, s) = serve_fixture();
    let all = rows("assets/plant.csv");
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let http = http.clone();
        let url = s.url(&path);
        async move {
            let r = http.post(url).json(&body).send().await.unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, a) = post("/api/v1/a3".into(), json!({"title": "Filler 1 stops", "board": "area:Packaging", "owner": "Vera", "asset": "F1"})).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let id = a["id"].as_i64().unwrap();
    // The current condition is frozen from the orders at the start.
    assert_eq!(a["current"]["subject"], "Filler 1 (F1)");
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    let by = (today + Duration::days(30)).to_string();
    let target = json!({"metric": "reactive_count", "asset": "F1", "scope": "plant", "op": "at_most", "value": 1, "by": by, "window_days": 14});
    let (st, e) = post(
        format!("/api/v1/a3/{id}"),
        json!({"target": target, "in_place_on": "2026-04-01"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{e}");
    // Before: the 14 days to 31 March; after: 1 to 14 April. Counted here from the rows.
    // The window of `w` days ending with `as_of` (whole days of 24 hours, as docs/metrics.md).
    let count = |rows: &[Row], as_of: &str, w: i64| {
        let b = instant(as_of, true).unwrap();
        let a = b - w * DAY as i64;
        rows.iter()
            .filter(|r| {
                r.asset.as_deref() == Some("F1")
                    && r.status != "cancelled"
                    && reactive(r)
                    && a <= r.created
                    && r.created < b
            })
            .count() as f64
    };
    let f = &e["follow_up"];
    assert_eq!(
        (f["before_as_of"].as_str(), f["after_as_of"].as_str()),
        (Some("2026-03-31"), Some("2026-04-14"))
    );
    assert_eq!(f["before"].as_f64(), Some(count(&all, "2026-03-31", 14)));
    assert_eq!(f["after"].as_f64(), Some(count(&all, "2026-04-14", 14)));
    assert_eq!(f["after"].as_f64(), Some(1.0));
    assert_eq!(f["verdict"], "met", "{f}");
    assert_eq!(
        f["cycle_days"].as_i64(),
        Some(0),
        "written up after the fact"
    );

    // Orders after the in-place day come in: one more breakdown in the after window (and one
    // after it, which does not count). The verdict turns once the server has the new data.
    ok(&sandbox.gemba(&[
        "import",
        &fixture("assets/after.csv"),
        "--profile",
        "generic",
    ]));
    let mut all = all;
    all.extend(rows("assets/after.csv"));
    let want = count(&all, "2026-04-14", 14);
    assert_eq!(want, 2.0);
    let mut last = Value::Null;
    for _ in 0..60 {
        last = s.json(&format!("/api/v1/a3/{id}")).await;
        if last["follow_up"]["verdict"] == "not_met" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(last["follow_up"]["verdict"], "not_met", "{last}");
    assert_eq!(last["follow_up"]["after"].as_f64(), Some(want));
    let sheet = s.text(&format!("/a3/{id}")).await;
    assert!(sheet.contains("not met"));
}
